// Reductions: dims are checked and wrapped here, the kernel reduces, autograd records.
#include "tensor/reduce_ops.h"

#include "autograd/function.h"
#include "autograd/functions/reduce.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/internal.h"
#include "tensor/pointwise_ops.h"
#include "tensor/view_ops.h"

namespace ember {
namespace {

// The output shape of a reduction over sorted dims.
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0, j = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    bool reduced = j < static_cast<int64_t>(dims.size()) && dims[j] == d;
    if (reduced) ++j;
    if (!reduced) out.push_back(sizes[d]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

// Runs the kernel; the result has the keepdim=false shape, viewed as keepdim when asked.
Tensor run_reduce(kernels::ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim, ScalarType out_type,
                  const Tensor& indices = {}) {
  Tensor in = internal::cast(x, out_type);
  Tensor out = internal::new_tensor(reduced_shape(x.sizes(), dims, false), out_type, x.device());
  kernels::cpu::reduce(op, in, dims, out, indices);
  if (!keepdim) return out;
  Shape kept = reduced_shape(x.sizes(), dims, true);
  return internal::alias(out, kept, contiguous_strides(kept), 0);
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  internal::check_defined(x, "sum");
  Shape dims = reduction_dims(dims_in, x.dim(), "sum");
  ScalarType type = is_floating_point(x.dtype()) ? x.dtype() : kInt64;  // sum of bool gives int64
  Tensor out = run_reduce(kernels::ReduceOp::Sum, x, dims, keepdim, type);
  if (autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::SumBackward>(x);
    node->input_shape = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    autograd::set_history(out, node);
  }
  return out;
}

Tensor mean(const Tensor& x, const Shape& dims_in, bool keepdim) {
  internal::check_defined(x, "mean");
  EMBER_CHECK(is_floating_point(x.dtype()), "mean",
              "mean(): could not infer output dtype. Input dtype must be either a floating point or complex dtype. "
              "Got: ", dtype_name(x.dtype()));
  Shape dims = reduction_dims(dims_in, x.dim(), "mean");
  int64_t n = 1;
  for (int64_t d : dims) n *= x.sizes()[d];
  Tensor out = run_reduce(kernels::ReduceOp::Sum, x, dims, keepdim, x.dtype());
  {
    // Scale in place: out is fresh and not yet part of any graph.
    Tensor scale = internal::broadcast_to(scalar_tensor(1.0 / static_cast<double>(n), TensorOptions(x.dtype())),
                                          out.sizes());
    kernels::cpu::binary(kernels::BinaryOp::Mul, out, scale, out);
  }
  if (autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::SumBackward>(x);
    node->op_name = "MeanBackward";
    node->input_shape = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    node->scale = 1.0 / static_cast<double>(n);
    autograd::set_history(out, node);
  }
  return out;
}

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.sizes() == shape) return grad;
  size_t lead = grad.sizes().size() - shape.size();
  Shape dims;
  for (size_t i = 0; i < grad.sizes().size(); ++i)
    if (i < lead || (shape[i - lead] == 1 && grad.sizes()[i] != 1)) dims.push_back(static_cast<int64_t>(i));
  Tensor s = dims.empty() ? grad : sum(grad, dims, /*keepdim=*/true);
  if (lead == 0) return s.sizes() == shape ? s : reshape(s, shape);
  return reshape(s, shape);
}

namespace autograd {
GradList SumBackward::apply(GradList&& grads) {
  Tensor g = grads[0];
  if (!keepdim && !dims.empty()) {
    Shape kept;
    for (int64_t d = 0, j = 0; d < static_cast<int64_t>(input_shape.size()); ++d) {
      bool reduced = j < static_cast<int64_t>(dims.size()) && dims[j] == d;
      if (reduced) ++j;
      kept.push_back(reduced ? 1 : input_shape[d]);
    }
    g = reshape(g, kept);
  }
  if (scale != 1) g = g * scale;
  return {expand(g, input_shape)};
}
}  // namespace autograd

}  // namespace ember
