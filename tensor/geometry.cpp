#include "tensor/geometry.h"

#include <algorithm>

namespace ember {

Geometry contiguous_geometry(const Shape& sizes) { return {sizes, contiguous_strides(sizes), 0}; }

Geometry geometry_select(const Geometry& g, int64_t dim, int64_t index, const char* op) {
  EMBER_CHECK(!g.sizes.empty(), op, "select() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, static_cast<int64_t>(g.sizes.size()), op);
  int64_t size = g.sizes[d];
  EMBER_CHECK(index >= -size && index < size, op, "index ", index, " out of range for tensor of size ",
              shape_text(g.sizes), " at dimension ", d);
  if (index < 0) index += size;
  Geometry out = g;
  out.offset += index * g.strides[d];
  out.sizes.erase(out.sizes.begin() + d);
  out.strides.erase(out.strides.begin() + d);
  return out;
}

Geometry geometry_slice(const Geometry& g, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
                        int64_t step, const char* op) {
  EMBER_CHECK(!g.sizes.empty(), op, "slice() cannot be applied to a 0-dim tensor.");
  EMBER_CHECK(step > 0, op, "slice step must be positive, got ", step);
  int64_t d = wrap_dim(dim, static_cast<int64_t>(g.sizes.size()), op);
  int64_t size = g.sizes[d];
  int64_t s = start.value_or(0), e = end.value_or(size);
  if (s < 0) s += size;
  if (e < 0) e += size;
  s = std::clamp<int64_t>(s, 0, size);
  e = std::clamp<int64_t>(e, s, size);
  Geometry out = g;
  out.offset += s * g.strides[d];
  out.sizes[d] = (e - s + step - 1) / step;
  out.strides[d] = g.strides[d] * step;
  return out;
}

Geometry geometry_permute(const Geometry& g, const Shape& dims, const char* op) {
  int64_t n = static_cast<int64_t>(g.sizes.size());
  EMBER_CHECK(static_cast<int64_t>(dims.size()) == n, op, "number of dims don't match in permute: got ",
              shape_text(dims), " for a tensor of shape ", shape_text(g.sizes));
  Geometry out{Shape(dims.size(), 0), Shape(dims.size(), 0), g.offset};
  SmallVector<bool, 8> seen(static_cast<size_t>(n), false);
  for (int64_t i = 0; i < n; ++i) {
    int64_t d = wrap_dim(dims[i], n, op);
    EMBER_CHECK(!seen[d], op, "repeated dim in permute: ", shape_text(dims));
    seen[d] = true;
    out.sizes[i] = g.sizes[d];
    out.strides[i] = g.strides[d];
  }
  return out;
}

Geometry geometry_unsqueeze(const Geometry& g, int64_t dim, const char* op) {
  int64_t n = static_cast<int64_t>(g.sizes.size());
  int64_t d = wrap_dim(dim, n + 1, op);
  Geometry out = g;
  int64_t stride = d < n ? g.sizes[d] * g.strides[d] : 1;
  out.sizes.insert(out.sizes.begin() + d, 1);
  out.strides.insert(out.strides.begin() + d, stride);
  return out;
}

Geometry geometry_expand(const Geometry& g, const Shape& sizes, const char* op) {
  size_t n = sizes.size(), m = g.sizes.size();
  EMBER_CHECK(n >= m, op, "the number of sizes provided (", n,
              ") must be greater or equal to the number of dimensions in the tensor (", m, ")");
  Geometry out{Shape(n, 0), Shape(n, 0), g.offset};
  for (size_t i = 0; i < n; ++i) {
    bool leading = i < n - m;
    int64_t have = leading ? 1 : g.sizes[i - (n - m)];
    int64_t want = sizes[i];
    if (want == -1) {
      EMBER_CHECK(!leading, op, "-1 is not allowed in a leading, non-existing dimension ", i);
      want = have;
    }
    EMBER_CHECK(have == want || have == 1, op, "The expanded size of the tensor (", want,
                ") must match the existing size (", have, ") at non-singleton dimension ", i,
                ".  Target sizes: ", shape_text(sizes), ".  Tensor sizes: ", shape_text(g.sizes));
    out.sizes[i] = want;
    out.strides[i] = (leading || (have == 1 && want != 1)) ? 0 : g.strides[i - (n - m)];
  }
  return out;
}

}  // namespace ember
