// Indexing and joining: PyTorch's checks and messages, then the kernel, then autograd.
// Index values are checked here, before any kernel runs (kernels trust them), with one
// min/max pass over the index.
#include "tensor/index_ops.h"

#include <algorithm>
#include <optional>
#include <string_view>

#include "autograd/function.h"
#include "autograd/functions/index.h"
#include "autograd/functions/view.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/geometry.h"
#include "tensor/internal.h"
#include "tensor/view_ops.h"

namespace ember {
namespace {

// PyTorch's scatter/gather treat a 0-d tensor as shape [1] (ensure_nonempty_dim/size).
int64_t nonempty_dim(const Tensor& t) { return std::max<int64_t>(t.dim(), 1); }
int64_t nonempty_size(const Tensor& t, int64_t d) { return t.dim() == 0 ? 1 : t.size(d); }

// A value of index outside [0, size), if there is one (the smallest or the largest value).
std::optional<int64_t> bad_index(const Tensor& index, int64_t size) {
  if (index.numel() == 0) return std::nullopt;
  auto [lo, hi] = kernels::index_min_max(index);
  if (lo < 0) return lo;
  if (hi >= size) return hi;
  return std::nullopt;
}

// A fresh contiguous copy of x (the base of the out-of-place scatter ops).
Tensor copy_of(const Tensor& x) {
  Tensor out = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  kernels::copy(x, out);
  return out;
}

// True for PyTorch's legacy cat rule: 1-D empty tensors are skipped whatever the other shapes.
bool cat_skips(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

// The common dtype of a list of tensors (all with dims, so plain promotion).
ScalarType promoted(const std::vector<Tensor>& ts) {
  ScalarType type = ts[0].dtype();
  for (const Tensor& t : ts) type = promote_types(type, t.dtype());
  return type;
}

// t placed in a zero tensor of `shape` at its leading corner, differentiably; t itself when
// the shapes match. scatter_add's src may be larger than the index, and its gradient there is 0.
Tensor pad_to(const Tensor& t, const Shape& shape) {
  if (t.sizes() == shape) return t;
  if (t.numel() == shape_numel(shape)) return reshape(t, shape);
  Shape strides = t.dim() == static_cast<int64_t>(shape.size()) ? contiguous_strides(shape) : Shape(t.dim(), 0);
  return view_scatter(t, shape, Geometry{t.sizes(), strides, 0});
}

// The checks shared by index_add, index_add_ and index_copy_; returns the wrapped dim.
int64_t check_index_source(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source, const char* op) {
  for (const Tensor* t : {&x, &index, &source}) internal::check_defined(*t, op);
  internal::check_same_device(x, index, op);
  internal::check_same_device(x, source, op);
  const int64_t d = wrap_dim(dim, x.dim(), op);
  const int64_t n = index.numel();
  // PyTorch's messages name the in-place op that does the work (index_add runs index_add_).
  const char* who = std::string_view(op) == "index_copy_" ? "index_copy_(): " : "index_add_(): ";
  EMBER_CHECK(index.dim() <= 1, op, who, "Index is supposed to be a vector, but got dim: ",
              index.dim(), " with type: ", dtype_name(index.dtype()), " and size: ", shape_text(index.sizes()));
  EMBER_CHECK(index.dtype() == kInt64, op, who, "Expected dtype int64 for index but got: ",
              dtype_name(index.dtype()));
  EMBER_CHECK(x.dtype() == source.dtype(), op, who, "self (", dtype_name(x.dtype()),
              ") and source (", dtype_name(source.dtype()), ") must have the same scalar type");
  EMBER_CHECK(d == 0 || d < source.dim(), op, who, "Indexing dim ", d,
              " is out of bounds of the source tensor with dim ", source.dim());
  EMBER_CHECK(n == nonempty_size(source, d), op, who, "Number of indices (", n,
              ") should be equal to source.size(dim): (", nonempty_size(source, d), "), for dim: ", d);
  bool same = nonempty_dim(x) == nonempty_dim(source);
  for (int64_t i = 0; same && i < nonempty_dim(x); ++i) same = i == d || nonempty_size(x, i) == nonempty_size(source, i);
  EMBER_CHECK(same, op, who, "source tensor shape must match self tensor shape, excluding the specified dimension. "
              "Got self.shape = ", shape_text(x.sizes()), " source.shape = ", shape_text(source.sizes()));
  EMBER_CHECK(!bad_index(index, nonempty_size(x, d)), op, "index out of range in self");
  return d;
}

}  // namespace

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  internal::check_defined(x, "index_select");
  internal::check_defined(index, "index_select");
  internal::check_same_device(x, index, "index_select");
  EMBER_CHECK(index.dim() <= 1, "index_select", "index_select(): Index is supposed to be a vector");
  EMBER_CHECK(index.dtype() == kInt64, "index_select", "index_select(): Expected dtype int64 for index but got: ",
              dtype_name(index.dtype()));
  const int64_t d = wrap_dim(dim, x.dim(), "index_select");
  const int64_t n = index.numel();
  EMBER_CHECK(!(x.dim() == 0 && n != 1), "index_select", "index_select(): Index to scalar can have only 1 value, got ",
              n, " value(s)");
  EMBER_CHECK(!bad_index(index, nonempty_size(x, d)), "index_select", "index out of range in self");
  Shape shape = x.sizes();
  if (x.dim() > 0) shape[d] = n;
  Tensor out = internal::new_tensor(shape, x.dtype(), x.device());
  if (out.numel() > 0) kernels::index_select(x, d, index, out);
  if (x.is_floating_point() && autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::IndexSelectBackward>(x);
    node->dim = d;
    node->index = node->save(index);
    node->input_shape = x.sizes();
    autograd::set_history(out, node);
  }
  return out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  internal::check_defined(x, "gather");
  internal::check_defined(index, "gather");
  internal::check_same_device(x, index, "gather");
  const int64_t d = wrap_dim(dim, x.dim(), "gather");
  if (index.numel() > 0) {  // as in PyTorch, an empty index is not checked (torch.tensor([]) is float)
    EMBER_CHECK(index.dtype() == kInt64, "gather", "gather(): Expected dtype int64 for index, but got ",
                dtype_name(index.dtype()));
    EMBER_CHECK(nonempty_dim(x) == nonempty_dim(index), "gather",
                "Index tensor must have the same number of dimensions as input tensor");
    for (int64_t i = 0; i < nonempty_dim(x); ++i)
      EMBER_CHECK(i == d || nonempty_size(index, i) <= nonempty_size(x, i), "gather", "Size does not match at dimension ",
                  i, " expected index ", shape_text(index.sizes()), " to be smaller than self ", shape_text(x.sizes()),
                  " apart from dimension ", d);
    std::optional<int64_t> bad = bad_index(index, nonempty_size(x, d));
    EMBER_CHECK(!bad, "gather", "index ", bad.value_or(0), " is out of bounds for dimension ", d, " with size ",
                nonempty_size(x, d));
  }
  Tensor out = internal::new_tensor(index.sizes(), x.dtype(), x.device());
  if (out.numel() > 0) kernels::gather(x, d, index, out);
  if (x.is_floating_point() && autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::GatherBackward>(x);
    node->dim = d;
    node->index = node->save(index);
    node->input_shape = x.sizes();
    autograd::set_history(out, node);
  }
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  for (const Tensor* t : {&x, &index, &src}) internal::check_defined(*t, "scatter_add");
  internal::check_same_device(x, index, "scatter_add");
  internal::check_same_device(x, src, "scatter_add");
  const int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
  // PyTorch names the op "scatter" in these messages (the checks are shared with scatter).
  EMBER_CHECK(index.numel() == 0 || index.dtype() == kInt64, "scatter_add",
              "scatter(): Expected dtype int64 for index");
  EMBER_CHECK(x.dtype() == src.dtype(), "scatter_add", "scatter(): Expected self.dtype to be equal to src.dtype");
  if (index.numel() > 0) {
    EMBER_CHECK(nonempty_dim(x) == nonempty_dim(index), "scatter_add",
                "Index tensor must have the same number of dimensions as self tensor");
    EMBER_CHECK(nonempty_dim(src) == nonempty_dim(index), "scatter_add",
                "Index tensor must have the same number of dimensions as src tensor");
    bool fits = true;
    for (int64_t i = 0; i < nonempty_dim(x); ++i)
      fits = fits && (i == d || nonempty_size(index, i) <= nonempty_size(x, i)) &&
             nonempty_size(index, i) <= nonempty_size(src, i);
    EMBER_CHECK(fits, "scatter_add", "Expected index ", shape_text(index.sizes()), " to be smaller than self ",
                shape_text(x.sizes()), " apart from dimension ", d, " and to be smaller size than src ",
                shape_text(src.sizes()));
    std::optional<int64_t> bad = bad_index(index, nonempty_size(x, d));
    EMBER_CHECK(!bad, "scatter_add", "index ", bad.value_or(0), " is out of bounds for dimension ", d, " with size ",
                nonempty_size(x, d));
  }
  Tensor out = copy_of(x);
  if (index.numel() > 0) kernels::scatter_add(out, d, index, src);
  if (x.is_floating_point() && autograd::needs_grad(x, src)) {
    auto node = autograd::make_node<autograd::ScatterAddBackward>(x, src);
    node->dim = d;
    node->index = node->save(index);
    node->src_shape = src.sizes();
    autograd::set_history(out, node);
  }
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  const int64_t d = check_index_source(x, dim, index, source, "index_add");
  Tensor out = copy_of(x);
  if (source.numel() > 0) kernels::index_add(out, d, index, source);
  if (x.is_floating_point() && autograd::needs_grad(x, source)) {
    auto node = autograd::make_node<autograd::IndexAddBackward>(x, source);
    node->dim = d;
    node->index = node->save(index);
    node->source_shape = source.sizes();
    autograd::set_history(out, node);
  }
  return out;
}

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "cat", "torch.cat(): expected a non-empty list of Tensors");
  for (size_t i = 0; i < tensors.size(); ++i) {
    internal::check_defined(tensors[i], "cat");
    internal::check_same_device(tensors[0], tensors[i], "cat");
    EMBER_CHECK(tensors[i].dim() > 0, "cat", "zero-dimensional tensor (at position ", i, ") cannot be concatenated");
  }
  const ScalarType type = promoted(tensors);
  auto first = std::find_if(tensors.begin(), tensors.end(), [](const Tensor& t) { return !cat_skips(t); });
  Shape shape{0};
  int64_t d = 0;
  if (first != tensors.end()) {
    const Tensor& ref = *first;
    d = wrap_dim(dim, ref.dim(), "cat");
    shape = ref.sizes();
    shape[d] = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      const Tensor& t = tensors[i];
      if (cat_skips(t)) continue;
      EMBER_CHECK(t.dim() == ref.dim(), "cat", "Tensors must have same number of dimensions: got ", ref.dim(), " and ",
                  t.dim());
      for (int64_t k = 0; k < ref.dim(); ++k)
        EMBER_CHECK(k == d || t.size(k) == ref.size(k), "cat", "Sizes of tensors must match except in dimension ", d,
                    ". Expected size ", ref.size(k), " but got size ", t.size(k), " for tensor number ", i,
                    " in the list.");
      shape[d] += t.size(d);
    }
  }
  Tensor out = internal::new_tensor(shape, type, tensors[0].device());
  int64_t offset = 0;
  for (const Tensor& t : tensors) {
    if (cat_skips(t)) continue;
    if (t.numel() > 0) {  // copy into the slice of out along d (copy converts the dtype)
      Tensor part = internal::alias(out, t.sizes(), out.strides(), out.storage_offset() + offset * out.stride(d));
      kernels::copy(t, part);
    }
    offset += t.size(d);
  }
  if (is_floating_point(type) && autograd::any_needs_grad(tensors)) {
    auto node = autograd::make_node_list<autograd::CatBackward>(tensors);
    node->dim = d;
    for (const Tensor& t : tensors) node->sizes.push_back(cat_skips(t) ? -1 : t.size(d));
    autograd::set_history(out, node);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  EMBER_CHECK(!tensors.empty(), "stack", "stack expects a non-empty TensorList");
  const Tensor& ref = tensors[0];
  for (size_t i = 0; i < tensors.size(); ++i) {
    internal::check_defined(tensors[i], "stack");
    internal::check_same_device(ref, tensors[i], "stack");
    EMBER_CHECK(tensors[i].sizes() == ref.sizes(), "stack", "stack expects each tensor to be equal size, but got ",
                shape_text(ref.sizes()), " at entry 0 and ", shape_text(tensors[i].sizes()), " at entry ", i);
  }
  const int64_t d = wrap_dim(dim, ref.dim() + 1, "stack");
  Shape shape = ref.sizes();
  shape.insert(shape.begin() + d, static_cast<int64_t>(tensors.size()));
  Tensor out = internal::new_tensor(shape, promoted(tensors), ref.device());
  if (out.numel() > 0) {
    Shape part_strides = out.strides();
    part_strides.erase(part_strides.begin() + d);
    for (size_t i = 0; i < tensors.size(); ++i) {
      int64_t offset = static_cast<int64_t>(i) * out.stride(d);
      kernels::copy(tensors[i], internal::alias(out, ref.sizes(), part_strides, offset));
    }
  }
  if (out.is_floating_point() && autograd::any_needs_grad(tensors)) {
    auto node = autograd::make_node_list<autograd::StackBackward>(tensors);
    node->dim = d;
    autograd::set_history(out, node);
  }
  return out;
}

Tensor one_hot(const Tensor& indices, int64_t num_classes) {
  internal::check_defined(indices, "one_hot");
  EMBER_CHECK(indices.dtype() == kInt64, "one_hot", "one_hot is only applicable to index tensor of type LongTensor.");
  Shape shape = indices.sizes();
  if (indices.numel() == 0) {  // nothing to infer the class count from
    EMBER_CHECK(num_classes > 0, "one_hot", "Can not infer total number of classes from empty tensor.");
    shape.push_back(num_classes);
    return zeros(shape, TensorOptions(kInt64).device(indices.device()));
  }
  auto [lo, hi] = kernels::index_min_max(indices);
  EMBER_CHECK(lo >= 0, "one_hot", "Class values must be non-negative.");
  if (num_classes == -1) num_classes = hi + 1;
  EMBER_CHECK(num_classes > hi, "one_hot", "Class values must be smaller than num_classes.");
  shape.push_back(num_classes);
  Tensor out = internal::new_tensor(shape, kInt64, indices.device());
  kernels::fill(out, 0);
  // out.scatter_add_(-1, indices.unsqueeze(-1), 1): a 1 at each class position.
  Shape index_shape = indices.sizes(), index_strides = indices.strides();
  index_shape.push_back(1);
  index_strides.push_back(1);
  Tensor index = internal::alias(indices, index_shape, index_strides, indices.storage_offset());
  Tensor one = internal::broadcast_to(scalar_tensor(int64_t{1}, TensorOptions(kInt64).device(indices.device())),
                                      index_shape);
  kernels::scatter_add(out, out.dim() - 1, index, one);
  return out;
}

// ---- backward formulas ------------------------------------------------------------------

namespace autograd {

GradList IndexSelectBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  return {index_add(zeros(input_shape, g.options()), dim, unpack(index), g)};
}

GradList GatherBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  return {scatter_add(zeros(input_shape, g.options()), dim, unpack(index), g)};
}

GradList ScatterAddBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out{needs_input_grad(0) ? g : Tensor(), Tensor()};
  if (needs_input_grad(1)) {
    Tensor idx = unpack(index);
    out[1] = idx.numel() == 0 ? zeros(src_shape, g.options()) : pad_to(gather(g, dim, idx), src_shape);
  }
  return out;
}

GradList IndexAddBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out{needs_input_grad(0) ? g : Tensor(), Tensor()};
  if (needs_input_grad(1)) out[1] = pad_to(index_select(g, dim, unpack(index)), source_shape);
  return out;
}

GradList CatBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out;
  int64_t offset = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (sizes[i] < 0) {  // a skipped [0]-shaped input
      out.push_back(needs_input_grad(i) ? zeros(Shape{0}, g.options()) : Tensor());
      continue;
    }
    out.push_back(needs_input_grad(i) ? narrow(g, dim, offset, sizes[i]) : Tensor());
    offset += sizes[i];
  }
  return out;
}

GradList StackBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out;
  for (size_t i = 0; i < next_edges.size(); ++i)
    out.push_back(needs_input_grad(i) ? select(g, dim, static_cast<int64_t>(i)) : Tensor());
  return out;
}

}  // namespace autograd

Tensor& index_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  const int64_t d = check_index_source(x, dim, index, source, "index_add_");
  autograd::check_inplace(x, "index_add_");
  EMBER_CHECK(!autograd::needs_grad(x, source), "index_add_",
              "index_add_ is not recorded by autograd; use index_add, or call it under NoGradGuard");
  if (source.numel() > 0) kernels::index_add(x, d, index, source);
  x.impl()->storage->bump_version();
  return x;
}

Tensor& index_copy_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
  const int64_t d = check_index_source(x, dim, index, source, "index_copy_");
  autograd::check_inplace(x, "index_copy_");
  EMBER_CHECK(!autograd::needs_grad(x, source), "index_copy_",
              "index_copy_ is not recorded by autograd; call it under NoGradGuard");
  if (source.numel() > 0) kernels::index_copy(x, d, index, source);
  x.impl()->storage->bump_version();
  return x;
}

std::pair<Tensor, Tensor> coalesce_rows(const Tensor& indices, const Tensor& values) {
  EMBER_CHECK(indices.dim() == 1 && indices.dtype() == kInt64 && values.dim() >= 1 && values.size(0) == indices.size(0),
              "coalesce_rows", "expected int64 indices [n] and values [n, ...], got ", shape_text(indices.sizes()), " ",
              dtype_name(indices.dtype()), " and ", shape_text(values.sizes()));
  // The ids (few next to the values) are sorted on the host; the values are summed where they
  // live by index_add into their rows among the distinct ids.
  Tensor host = indices.cpu().contiguous();
  const int64_t* raw = host.data_ptr<int64_t>();
  const int64_t n = host.numel();
  std::vector<int64_t> unique(raw, raw + n);
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  std::vector<int64_t> position(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k)
    position[static_cast<size_t>(k)] = std::lower_bound(unique.begin(), unique.end(), raw[k]) - unique.begin();
  Shape rows_shape = values.sizes();
  rows_shape[0] = static_cast<int64_t>(unique.size());
  Tensor v = values.detach();
  Tensor summed = index_add(zeros(rows_shape, v.options()), 0, tensor(position).to(v.device()), v);
  return {tensor(unique).to(v.device()), summed};
}

}  // namespace ember
