#include "tensor/view_ops.h"

#include <numeric>
#include <vector>

#include "autograd/function.h"
#include "autograd/functions/view.h"
#include "kernels/kernels.h"
#include "tensor/cuda.h"
#include "tensor/factory.h"
#include "tensor/geometry.h"
#include "tensor/internal.h"
#include "tensor/pointwise_ops.h"
#include "tensor/reduce_ops.h"

namespace ember {
namespace {

Geometry geometry_of(const Tensor& t) { return {t.sizes(), t.strides(), t.storage_offset()}; }
Tensor make_view(const Tensor& t, const Geometry& g) { return internal::alias(t, g.sizes, g.strides, g.offset); }

Tensor record_reshape(const Tensor& in, Tensor out, const char* name) {
  if (autograd::needs_grad(in)) {
    auto node = autograd::make_node<autograd::ReshapeBackward>(in);
    node->op_name = name;
    node->input_shape = in.sizes();
    autograd::set_view_history(out, node);
  }
  return out;
}

// A view that picks part of the input (select, slice, narrow): `rel` is the same op applied
// to a contiguous geometry of the input's shape.
template <class MakeRel>
Tensor record_part(const Tensor& in, Tensor out, const char* name, MakeRel&& rel) {
  if (autograd::needs_grad(in)) {
    auto node = autograd::make_node<autograd::StridedViewBackward>(in);
    node->op_name = name;
    node->input_shape = in.sizes();
    node->geometry = rel(contiguous_geometry(in.sizes()));
    autograd::set_view_history(out, node);
  }
  return out;
}

// True when two different index tuples of the geometry can reach the same element.
bool may_overlap(const Geometry& g) {
  SmallVector<std::pair<int64_t, int64_t>, 6> dims;  // (stride, size)
  for (size_t i = 0; i < g.sizes.size(); ++i)
    if (g.sizes[i] > 1) dims.push_back({g.strides[i], g.sizes[i]});
  std::sort(dims.begin(), dims.end());
  int64_t extent = 0;  // largest offset reachable by the smaller-stride dims
  for (auto [stride, size] : dims) {
    if (stride <= extent) return true;
    extent += stride * (size - 1);
  }
  return false;
}

}  // namespace

// ---- reshape-like views -----------------------------------------------------------------

Tensor view(const Tensor& t, const Shape& sizes) {
  Shape shape = infer_size(sizes, t.numel(), "view");
  std::optional<Shape> strides = view_strides(t.sizes(), t.strides(), shape);
  EMBER_CHECK(strides.has_value(), "view",
              "view size is not compatible with input tensor's size and stride (at least one dimension spans "
              "across two contiguous subspaces). Use .reshape(...) instead. (input ",
              shape_text(t.sizes()), " with strides ", shape_text(t.strides()), ", requested ", shape_text(shape), ")");
  return record_reshape(t, internal::alias(t, shape, *strides, t.storage_offset()), "ViewBackward");
}

Tensor reshape(const Tensor& t, const Shape& sizes) {
  Shape shape = infer_size(sizes, t.numel(), "reshape");
  if (std::optional<Shape> strides = view_strides(t.sizes(), t.strides(), shape))
    return record_reshape(t, internal::alias(t, shape, *strides, t.storage_offset()), "ViewBackward");
  return view(clone(t), shape);
}

Tensor flatten(const Tensor& t, int64_t start_dim, int64_t end_dim) {
  if (t.dim() == 0) return reshape(t, Shape{1});
  int64_t s = wrap_dim(start_dim, t.dim(), "flatten"), e = wrap_dim(end_dim, t.dim(), "flatten");
  EMBER_CHECK(s <= e, "flatten", "start_dim cannot come after end_dim");
  Shape shape;
  for (int64_t d = 0; d < s; ++d) shape.push_back(t.size(d));
  int64_t mid = 1;
  for (int64_t d = s; d <= e; ++d) mid *= t.size(d);
  shape.push_back(mid);
  for (int64_t d = e + 1; d < t.dim(); ++d) shape.push_back(t.size(d));
  return reshape(t, shape);
}

Tensor unflatten(const Tensor& t, int64_t dim, const Shape& sizes) {
  int64_t d = wrap_dim(dim, t.dim(), "unflatten");
  Shape inner = infer_size(sizes, t.size(d), "unflatten");
  Shape shape;
  for (int64_t i = 0; i < d; ++i) shape.push_back(t.size(i));
  for (int64_t s : inner) shape.push_back(s);
  for (int64_t i = d + 1; i < t.dim(); ++i) shape.push_back(t.size(i));
  return view(t, shape);
}

Tensor unsqueeze(const Tensor& t, int64_t dim) {
  return record_reshape(t, make_view(t, geometry_unsqueeze(geometry_of(t), dim, "unsqueeze")), "UnsqueezeBackward");
}

Tensor squeeze(const Tensor& t) {
  Geometry g{{}, {}, t.storage_offset()};
  for (int64_t d = 0; d < t.dim(); ++d)
    if (t.size(d) != 1) {
      g.sizes.push_back(t.size(d));
      g.strides.push_back(t.stride(d));
    }
  return record_reshape(t, make_view(t, g), "SqueezeBackward");
}

Tensor squeeze(const Tensor& t, int64_t dim) {
  int64_t d = wrap_dim(dim, t.dim(), "squeeze");
  if (t.dim() == 0 || t.size(d) != 1) return record_reshape(t, make_view(t, geometry_of(t)), "SqueezeBackward");
  Geometry g = geometry_of(t);
  g.sizes.erase(g.sizes.begin() + d);
  g.strides.erase(g.strides.begin() + d);
  return record_reshape(t, make_view(t, g), "SqueezeBackward");
}

// ---- reordering and broadcasting ------------------------------------------------------------

Tensor permute(const Tensor& t, const Shape& dims) {
  Tensor out = make_view(t, geometry_permute(geometry_of(t), dims, "permute"));
  if (autograd::needs_grad(t)) {
    auto node = autograd::make_node<autograd::PermuteBackward>(t);
    node->inverse = Shape(dims.size(), 0);
    for (size_t i = 0; i < dims.size(); ++i) node->inverse[wrap_dim(dims[i], t.dim(), "permute")] = static_cast<int64_t>(i);
    autograd::set_view_history(out, node);
  }
  return out;
}

Tensor transpose(const Tensor& t, int64_t d0, int64_t d1) {
  if (t.dim() == 0) return t;
  int64_t a = wrap_dim(d0, t.dim(), "transpose"), b = wrap_dim(d1, t.dim(), "transpose");
  Shape dims(static_cast<size_t>(t.dim()), 0);
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[a], dims[b]);
  return permute(t, dims);
}

Tensor t(const Tensor& x) {
  EMBER_CHECK(x.dim() <= 2, "t", "t() expects a tensor with <= 2 dimensions, but self is ", x.dim(), "D");
  return x.dim() < 2 ? x : transpose(x, 0, 1);
}

Tensor expand(const Tensor& t, const Shape& sizes) {
  Tensor out = make_view(t, geometry_expand(geometry_of(t), sizes, "expand"));
  if (autograd::needs_grad(t)) {
    auto node = autograd::make_node<autograd::ExpandBackward>(t);
    node->input_shape = t.sizes();
    autograd::set_view_history(out, node);
  }
  return out;
}

Tensor expand_as(const Tensor& t, const Tensor& other) { return expand(t, other.sizes()); }

// ---- parts ------------------------------------------------------------------------------------

Tensor select(const Tensor& t, int64_t dim, int64_t index) {
  Tensor out = make_view(t, geometry_select(geometry_of(t), dim, index, "select"));
  return record_part(t, out, "SelectBackward",
                     [&](const Geometry& g) { return geometry_select(g, dim, index, "select"); });
}

Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step) {
  Tensor out = make_view(t, geometry_slice(geometry_of(t), dim, start, end, step, "slice"));
  return record_part(t, out, "SliceBackward",
                     [&](const Geometry& g) { return geometry_slice(g, dim, start, end, step, "slice"); });
}

Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length) {
  EMBER_CHECK(t.dim() > 0, "narrow", "narrow() cannot be applied to a 0-dim tensor.");
  int64_t d = wrap_dim(dim, t.dim(), "narrow");
  int64_t size = t.size(d);
  if (start < 0) start += size;
  EMBER_CHECK(start >= 0 && length >= 0 && start + length <= size, "narrow", "start (", start, ") + length (", length,
              ") exceeds dimension size (", size, ").");
  return slice(t, d, start, start + length, 1);
}

Tensor as_strided(const Tensor& t, const Shape& sizes, const Shape& strides, std::optional<int64_t> offset) {
  EMBER_CHECK(sizes.size() == strides.size(), "as_strided", "mismatch in length of strides and shape (",
              shape_text(sizes), " and ", shape_text(strides), ")");
  int64_t off = offset.value_or(t.storage_offset());
  int64_t last = off;
  for (size_t i = 0; i < sizes.size(); ++i) {
    EMBER_CHECK(sizes[i] >= 0 && strides[i] >= 0, "as_strided", "negative size or stride: ", shape_text(sizes), " ",
                shape_text(strides));
    if (sizes[i] > 0) last += (sizes[i] - 1) * strides[i];
  }
  int64_t capacity = static_cast<int64_t>(t.impl()->storage->nbytes() / element_size(t.dtype()));
  EMBER_CHECK(shape_numel(sizes) == 0 || (off >= 0 && last < capacity), "as_strided", "setStorage: sizes ",
              shape_text(sizes), ", strides ", shape_text(strides), ", storage offset ", off,
              " require more storage than the ", capacity, " elements available");
  Geometry g{sizes, strides, off};
  Tensor out = make_view(t, g);
  if (autograd::needs_grad(t)) {
    EMBER_CHECK(t.is_contiguous(), "as_strided", "the gradient of as_strided needs a contiguous input");
    auto node = autograd::make_node<autograd::StridedViewBackward>(t);
    node->input_shape = t.sizes();
    node->geometry = Geometry{sizes, strides, off - t.storage_offset()};
    autograd::set_view_history(out, node);
  }
  return out;
}

std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim) {
  EMBER_CHECK(t.dim() > 0, "split", "split expects at least a 1-dimensional tensor");
  EMBER_CHECK(split_size > 0 || (split_size == 0 && t.size(dim) == 0), "split",
              "split_size can only be 0 if dimension size is 0, but got split_size=", split_size);
  int64_t d = wrap_dim(dim, t.dim(), "split");
  std::vector<Tensor> parts;
  for (int64_t start = 0; start < t.size(d); start += split_size)
    parts.push_back(narrow(t, d, start, std::min(split_size, t.size(d) - start)));
  if (parts.empty()) parts.push_back(narrow(t, d, 0, 0));
  return parts;
}

std::vector<Tensor> split_with_sizes(const Tensor& t, const Shape& sizes, int64_t dim) {
  int64_t d = wrap_dim(dim, t.dim(), "split_with_sizes");
  EMBER_CHECK(shape_numel(Shape{}) == 1 && std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) == t.size(d),
              "split_with_sizes", "split_with_sizes expects split_sizes to sum exactly to ", t.size(d),
              " (input tensor's size at dimension ", d, "), but got split_sizes=", shape_text(sizes));
  std::vector<Tensor> parts;
  int64_t start = 0;
  for (int64_t s : sizes) {
    parts.push_back(narrow(t, d, start, s));
    start += s;
  }
  return parts;
}

std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim) {
  EMBER_CHECK(chunks > 0, "chunk", "chunk expects `chunks` to be greater than 0, got: ", chunks);
  int64_t d = wrap_dim(dim, t.dim(), "chunk");
  int64_t size = (t.size(d) + chunks - 1) / chunks;
  return split(t, std::max<int64_t>(size, 1), d);
}

// ---- copies -------------------------------------------------------------------------------------

Tensor clone(const Tensor& t) {
  Tensor out = internal::new_tensor(t.sizes(), t.dtype(), t.device());
  kernels::copy(t, out);
  if (autograd::needs_grad(t)) autograd::set_history(out, autograd::make_node<autograd::CloneBackward>(t));
  return out;
}

Tensor contiguous(const Tensor& t) { return t.is_contiguous() ? t : clone(t); }

Tensor to_dtype(const Tensor& t, ScalarType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = internal::cast(t, dtype);
  if (is_floating_point(dtype) && autograd::needs_grad(t)) {
    auto node = autograd::make_node<autograd::ToCopyBackward>(t);
    node->dtype = t.dtype();
    node->device = t.device();
    autograd::set_history(out, node);
  }
  return out;
}

Tensor to_device(const Tensor& t, Device device) {
  internal::check_defined(t, "to");
  if (t.device() == device) return t;
  EMBER_CHECK(kernels::kWithCuda, "to", "cannot move a tensor from ", t.device().str(), " to ", device.str(),
              ": ember was built without CUDA support");
  EMBER_CHECK(cuda::is_available(), "to", "cannot move a tensor from ", t.device().str(), " to ", device.str(),
              ": no CUDA device is available");
  EMBER_CHECK(device.index == 0, "to", "cannot move a tensor to ", device.str(), ": ember runs on cuda:0 only");
  // cudaMemcpy moves one flat buffer: a strided source is first made contiguous on its own
  // device (the staging copy), then its bytes cross.
  Tensor src = t;
  if (!t.is_contiguous()) {
    src = internal::new_tensor(t.sizes(), t.dtype(), t.device());
    kernels::copy(t, src);
  }
  Tensor out = internal::new_tensor(t.sizes(), t.dtype(), device);
  kernels::cuda::copy_across_devices(src, out);
  if (autograd::needs_grad(t)) {  // backward moves the gradient back to t's device
    auto node = autograd::make_node<autograd::ToCopyBackward>(t);
    node->dtype = t.dtype();
    node->device = t.device();
    autograd::set_history(out, node);
  }
  return out;
}

// ---- the adjoint pair used by autograd ---------------------------------------------------

Tensor strided_view(const Tensor& x, const Geometry& g) {
  Tensor base = contiguous(x);
  Tensor out = internal::alias(base, g.sizes, g.strides, base.storage_offset() + g.offset);
  if (autograd::needs_grad(base)) {
    auto node = autograd::make_node<autograd::StridedViewBackward>(base);
    node->input_shape = base.sizes();
    node->geometry = g;
    autograd::set_view_history(out, node);
  }
  return out;
}

Tensor view_scatter(const Tensor& g, const Shape& base_shape, const Geometry& geo) {
  Tensor out = zeros(base_shape, g.options());
  Tensor target = internal::alias(out, geo.sizes, geo.strides, geo.offset);
  if (!may_overlap(geo)) {
    kernels::copy(g, target);
  } else if (g.numel() > 0) {
    // Positions repeat (as_strided with overlap): index_add sums the repeats, on either device.
    // The flat positions depend on the geometry alone, so the host lists them without reading
    // the gradient (no wait for a GPU).
    std::vector<int64_t> positions(static_cast<size_t>(g.numel()));
    Shape idx(geo.sizes.size(), 0);
    for (int64_t& p : positions) {
      p = geo.offset + index_to_offset(idx, geo.strides);
      for (size_t d = idx.size(); d-- > 0;) {
        if (++idx[d] < geo.sizes[d]) break;
        idx[d] = 0;
      }
    }
    Tensor flat_out = internal::alias(out, Shape{out.numel()}, Shape{1}, 0);
    Tensor flat_g = reshape(g.detach(), Shape{g.numel()});
    kernels::index_add(flat_out, 0, tensor(positions).to(out.device()), flat_g);
  }
  if (autograd::needs_grad(g)) {
    auto node = autograd::make_node<autograd::ViewScatterBackward>(g);
    node->geometry = geo;
    autograd::set_history(out, node);
  }
  return out;
}

namespace autograd {
GradList ReshapeBackward::apply(GradList&& grads) { return {reshape(grads[0], input_shape)}; }
GradList PermuteBackward::apply(GradList&& grads) { return {permute(grads[0], inverse)}; }
GradList ExpandBackward::apply(GradList&& grads) { return {sum_to(grads[0], input_shape)}; }
GradList StridedViewBackward::apply(GradList&& grads) { return {view_scatter(grads[0], input_shape, geometry)}; }
GradList ViewScatterBackward::apply(GradList&& grads) { return {strided_view(grads[0], geometry)}; }
GradList ToCopyBackward::apply(GradList&& grads) { return {to_device(to_dtype(grads[0], dtype), device)}; }
}  // namespace autograd

}  // namespace ember
