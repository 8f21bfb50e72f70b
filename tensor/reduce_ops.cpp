// Reductions: dims are checked and wrapped here, the kernel reduces, autograd records.
// Forward passes run kernels (or ember ops under NoGradGuard) and record one node per op;
// backward formulas are written with ember's differentiable ops so create_graph works.
#include "tensor/reduce_ops.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/function.h"
#include "autograd/functions/reduce.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/internal.h"
#include "tensor/pointwise_ops.h"
#include "tensor/view_ops.h"

namespace ember {
using kernels::ReduceOp;

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

// Elements each output of a reduction over dims combines.
int64_t reduced_count(const Shape& sizes, const Shape& dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= sizes[d];
  return n;
}

// A reduction result (or gradient) of the keepdim=false shape viewed as keepdim, so that it
// broadcasts against the input; differentiable.
Tensor as_keepdim(const Tensor& t, const Shape& input_shape, const Shape& dims, bool keepdim) {
  if (keepdim || dims.empty()) return t;
  return reshape(t, reduced_shape(input_shape, dims, true));
}

// Runs the kernel; the result has the keepdim=false shape, viewed as keepdim when asked.
Tensor run_reduce(ReduceOp op, const Tensor& x, const Shape& dims, bool keepdim, ScalarType out_type,
                  const Tensor& indices = {}) {
  Tensor in = internal::cast(x, out_type);
  Tensor out = internal::new_tensor(reduced_shape(x.sizes(), dims, false), out_type, x.device());
  kernels::reduce(op, in, dims, out, indices);
  if (!keepdim) return out;
  Shape kept = reduced_shape(x.sizes(), dims, true);
  return internal::alias(out, kept, contiguous_strides(kept), 0);
}

// x itself when contiguous, else a contiguous copy; no autograd.
Tensor contiguous_data(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  kernels::copy(x, out);
  return out;
}

// a / b, and 0 where b == 0. The division never sees a zero, so double backward stays finite.
Tensor div_or_zero(const Tensor& a, const Tensor& b) {
  Tensor nonzero = b != 0;
  return where(nonzero, a / where(nonzero, b, 1), 0);
}

Tensor prod_impl(const Tensor& x, const Shape& dims, bool keepdim) {
  ScalarType type = is_floating_point(x.dtype()) ? x.dtype() : kInt64;  // as sum
  Tensor out = run_reduce(ReduceOp::Prod, x, dims, keepdim, type);
  if (is_floating_point(type) && autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::ProdBackward>(x);
    node->input_shape = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    node->input = node->save(x);
    autograd::set_history(out, node);
  }
  return out;
}

const char* extreme_name(ReduceOp op) { return op == ReduceOp::Max ? "max" : "min"; }

Tensor extreme_all(ReduceOp op, const Tensor& x) {
  const char* name = extreme_name(op);
  internal::check_defined(x, name);
  EMBER_CHECK(x.numel() > 0, name, name,
              "(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with "
              "the 'dim' argument.");
  Tensor out = run_reduce(op, x, reduction_dims({}, x.dim(), name), false, x.dtype());
  if (is_floating_point(x.dtype()) && autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::MaxBackward>(x);
    node->op_name = op == ReduceOp::Max ? "MaxBackward" : "MinBackward";
    node->all_elements = true;
    node->input_shape = x.sizes();
    node->input = node->save(x);
    autograd::set_history(out, node);
    node->result = node->save(out, /*is_output=*/true);
  }
  return out;
}

// max/min along dim (values and indices); argmax/argmin pass record = false and their name.
std::tuple<Tensor, Tensor> extreme_dim(ReduceOp op, const Tensor& x, int64_t dim, bool keepdim, const char* name,
                                       bool record) {
  internal::check_defined(x, name);
  int64_t d = wrap_dim(dim, x.dim(), name);
  EMBER_CHECK(x.dim() == 0 || x.sizes()[d] != 0, name, name, "(): Expected reduction dim ", d,
              " to have non-zero size.");
  Shape dims = reduction_dims({d}, x.dim(), name);
  Tensor indices = internal::new_tensor(reduced_shape(x.sizes(), dims, false), kInt64, x.device());
  Tensor values = run_reduce(op, x, dims, keepdim, x.dtype(), indices);
  if (keepdim) {
    Shape kept = reduced_shape(x.sizes(), dims, true);
    indices = internal::alias(indices, kept, contiguous_strides(kept), 0);
  }
  if (record && is_floating_point(x.dtype()) && autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::MaxBackward>(x);
    node->op_name = op == ReduceOp::Max ? "MaxBackward" : "MinBackward";
    node->all_elements = false;
    node->input_shape = x.sizes();
    node->dim = d;
    node->keepdim = keepdim;
    node->indices = node->save(indices);
    autograd::set_history(values, node);
  }
  return {values, indices};
}

Tensor arg_extreme(ReduceOp op, const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  const char* name = op == ReduceOp::Max ? "argmax" : "argmin";
  internal::check_defined(x, name);
  if (dim) return std::get<1>(extreme_dim(op, x, *dim, keepdim, name, /*record=*/false));
  EMBER_CHECK(x.numel() != 0, name, name, "(): Expected reduction dim to be specified for input.numel() == 0.");
  // Over the row-major flattening, whatever x's strides.
  Tensor data = contiguous_data(x);
  Tensor flat = internal::alias(data, {x.numel()}, {1}, data.storage_offset());
  Tensor values = internal::new_tensor({}, x.dtype(), x.device());
  Tensor index = internal::new_tensor({}, kInt64, x.device());
  kernels::reduce(op, flat, {0}, values, index);
  if (!keepdim) return index;
  Shape ones(static_cast<size_t>(x.dim()), 1);
  return internal::alias(index, ones, contiguous_strides(ones), 0);
}

Tensor var_std(const Tensor& x, const Shape& dims_in, bool unbiased, bool keepdim, bool is_std) {
  const char* name = is_std ? "std" : "var";
  internal::check_defined(x, name);
  EMBER_CHECK(is_floating_point(x.dtype()), name, "std and var only support floating point and complex dtypes");
  Shape dims = reduction_dims(dims_in, x.dim(), name);
  // PyTorch floors N - correction at 0: one element, unbiased, gives 0 / 0 = NaN.
  double divisor = std::max<double>(0, static_cast<double>(reduced_count(x.sizes(), dims)) - (unbiased ? 1 : 0));
  Tensor out;
  {
    NoGradGuard no_grad;
    Tensor centered = x - mean(x, dims, /*keepdim=*/true);  // two passes: stable for large means
    out = sum(centered * centered, dims, keepdim) / divisor;
    if (is_std) out = sqrt(out);
  }
  if (autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::VarBackward>(x);
    node->is_std = is_std;
    node->input_shape = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    node->divisor = divisor;
    node->input = node->save(x);
    autograd::set_history(out, node);
    if (is_std) node->result = node->save(out, /*is_output=*/true);
  }
  return out;
}

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  const char* name = log ? "log_softmax" : "softmax";
  internal::check_defined(x, name);
  int64_t d = wrap_dim(dim, x.dim(), name);
  EMBER_CHECK(is_floating_point(x.dtype()), name, "\"", name, "\" not implemented for '", dtype_name(x.dtype()), "'");
  Tensor out = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  // The CUDA kernel moves the dim last itself (one copy at most); the CPU's wants x contiguous.
  kernels::softmax(kernels::on_cpu(x) ? contiguous_data(x) : x, d, log, out);
  if (autograd::needs_grad(x)) {
    if (log) {
      auto n = autograd::make_node<autograd::LogSoftmaxBackward>(x);
      n->dim = d;
      autograd::set_history(out, n);
      n->result = n->save(out, /*is_output=*/true);
    } else {
      auto n = autograd::make_node<autograd::SoftmaxBackward>(x);
      n->dim = d;
      autograd::set_history(out, n);
      n->result = n->save(out, /*is_output=*/true);
    }
  }
  return out;
}

}  // namespace

Tensor sum(const Tensor& x, const Shape& dims_in, bool keepdim) {
  internal::check_defined(x, "sum");
  Shape dims = reduction_dims(dims_in, x.dim(), "sum");
  ScalarType type = is_floating_point(x.dtype()) ? x.dtype() : kInt64;  // sum of bool gives int64
  Tensor out = run_reduce(ReduceOp::Sum, x, dims, keepdim, type);
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
  int64_t n = reduced_count(x.sizes(), dims);
  Tensor out = run_reduce(ReduceOp::Sum, x, dims, keepdim, x.dtype());
  {
    // Scale in place: out is fresh and not yet part of any graph.
    Tensor scale = internal::broadcast_to(scalar_tensor(1.0 / static_cast<double>(n), x.options()),
                                          out.sizes());
    kernels::binary(kernels::BinaryOp::Mul, out, scale, out);
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

Tensor prod(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  internal::check_defined(x, "prod");
  return prod_impl(x, reduction_dims(dim ? Shape{*dim} : Shape{}, x.dim(), "prod"), keepdim);
}

Tensor max(const Tensor& x) { return extreme_all(ReduceOp::Max, x); }
Tensor min(const Tensor& x) { return extreme_all(ReduceOp::Min, x); }
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(ReduceOp::Max, x, dim, keepdim, "max", /*record=*/true);
}
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_dim(ReduceOp::Min, x, dim, keepdim, "min", /*record=*/true);
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(ReduceOp::Max, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(ReduceOp::Min, x, dim, keepdim);
}

Tensor var(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return var_std(x, dims, unbiased, keepdim, /*is_std=*/false);
}
Tensor std(const Tensor& x, const Shape& dims, bool unbiased, bool keepdim) {
  return var_std(x, dims, unbiased, keepdim, /*is_std=*/true);
}

Tensor logsumexp(const Tensor& x, const Shape& dims_in, bool keepdim) {
  internal::check_defined(x, "logsumexp");
  Tensor xf = is_floating_point(x.dtype()) ? x : to_dtype(x, kFloat32);  // integers give float, as in PyTorch
  Shape dims = reduction_dims(dims_in, x.dim(), "logsumexp");
  // The shift is a constant (no gradient flows through it); infinite maxima are replaced by 0
  // so that inf - inf does not turn a row of -inf (or one +inf) into NaN.
  Tensor shift = run_reduce(ReduceOp::Max, xf, dims, /*keepdim=*/true, xf.dtype());
  shift = where(abs(shift) != std::numeric_limits<double>::infinity(), shift, 0);
  Tensor out = log(sum(exp(xf - shift), dims, /*keepdim=*/true)) + shift;
  return keepdim ? out : reshape(out, reduced_shape(x.sizes(), dims, false));
}

Tensor norm(const Tensor& x, const Scalar& p_in, const Shape& dims_in, bool keepdim) {
  internal::check_defined(x, "norm");
  EMBER_CHECK(is_floating_point(x.dtype()), "norm",
              "norm(): Expected a floating point or complex tensor as input. Got ", dtype_name(x.dtype()));
  const double p = p_in.to_double();
  Shape dims = reduction_dims(dims_in, x.dim(), "norm");
  if (reduced_count(x.sizes(), dims) == 0) {
    EMBER_CHECK(p >= 0, "norm", "norm(): norm of negative order cannot be performed on an empty tensor");
    EMBER_CHECK(!std::isinf(p), "norm", "norm(): cannot compute the ", p,
                " norm on an empty tensor because the operation does not have an identity");
  }
  Tensor out;
  {
    NoGradGuard no_grad;
    if (p == 0) {
      out = internal::cast(sum(x != 0, dims, keepdim), x.dtype());
    } else if (p == 1) {
      out = sum(abs(x), dims, keepdim);
    } else if (p == 2) {
      out = sqrt(sum(x * x, dims, keepdim));
    } else if (std::isinf(p)) {
      out = run_reduce(p > 0 ? ReduceOp::Max : ReduceOp::Min, abs(x), dims, keepdim, x.dtype());
    } else {
      out = pow(sum(pow(abs(x), p), dims, keepdim), 1.0 / p);
    }
  }
  if (autograd::needs_grad(x)) {
    auto node = autograd::make_node<autograd::NormBackward>(x);
    node->p = p;
    node->input_shape = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    node->input = node->save(x);
    autograd::set_history(out, node);
    node->result = node->save(out, /*is_output=*/true);
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, /*log=*/false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(x, dim, /*log=*/true); }

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

// ---- backward formulas ---------------------------------------------------------------------

namespace autograd {

GradList SumBackward::apply(GradList&& grads) {
  Tensor g = as_keepdim(grads[0], input_shape, dims, keepdim);
  if (scale != 1) g = g * scale;
  return {expand(g, input_shape)};
}

GradList ProdBackward::apply(GradList&& grads) {
  Tensor g = as_keepdim(grads[0], input_shape, dims, keepdim);
  Tensor x = unpack(input);
  // d prod / d x_i is the product of the other elements. Dividing the product by x_i fails at
  // zeros, so: with no zero in the slice it is prod / x_i; with one zero, only that element
  // gets a gradient (the product of the non-zeros); with two or more, all are 0.
  Tensor is_zero = x == 0;
  Tensor nonzero_x = where(logical_not(is_zero), x, 1);
  Tensor prod_nonzero = prod_impl(nonzero_x, dims, /*keepdim=*/true);
  Tensor zeros = sum(is_zero, dims, /*keepdim=*/true);
  Tensor others = where(is_zero, where(zeros == 1, prod_nonzero, 0), where(zeros == 0, prod_nonzero / nonzero_x, 0));
  return {g * others};
}

GradList MaxBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  if (all_elements) {
    Tensor x = unpack(input);
    Tensor hit = x == unpack(result);
    return {where(hit, g / sum(hit), 0)};  // ties share evenly, as in PyTorch
  }
  if (input_shape.empty()) return {g};
  Shape dims{dim};
  Tensor gk = as_keepdim(g, input_shape, dims, keepdim);
  Tensor idx = as_keepdim(unpack(indices), input_shape, dims, keepdim);
  Shape along(input_shape.size(), 1);
  along[static_cast<size_t>(dim)] = input_shape[static_cast<size_t>(dim)];
  Tensor positions =
      reshape(arange(input_shape[static_cast<size_t>(dim)], TensorOptions(kInt64).device(g.device())), along);
  return {where(positions == idx, gk, 0)};
}

GradList VarBackward::apply(GradList&& grads) {
  Tensor g = as_keepdim(grads[0], input_shape, dims, keepdim);
  Tensor x = unpack(input);
  // d std = d var / (2 std), taken as 0 where std is 0 (as PyTorch does).
  if (is_std) g = div_or_zero(g, as_keepdim(unpack(result), input_shape, dims, keepdim) * 2);
  return {g * (x - mean(x, dims, /*keepdim=*/true)) * (2.0 / divisor)};
}

GradList NormBackward::apply(GradList&& grads) {
  Tensor g = as_keepdim(grads[0], input_shape, dims, keepdim);
  Tensor x = unpack(input);
  Tensor n = as_keepdim(unpack(result), input_shape, dims, keepdim);
  if (p == 0) return {zeros_like(x)};
  if (p == 1) return {g * sign(x)};
  if (p == 2) return {x * div_or_zero(g, n)};
  if (std::isinf(p)) {
    Tensor hit = abs(x) == n;  // ties share evenly, as for max
    return {sign(x) * where(hit, g / sum(hit, dims, /*keepdim=*/true), 0)};
  }
  Tensor ax = abs(x);
  if (p < 1) {
    // |x|^(p-1) is infinite at 0; PyTorch takes those elements' gradient as 0.
    Tensor nonzero = x != 0;
    Tensor scaled = where(nonzero, sign(x) * pow(where(nonzero, ax, 1), p - 1), 0);
    return {scaled * g * pow(n, 1 - p)};
  }
  Tensor scaled = p < 2 ? sign(x) * pow(ax, p - 1) : x * pow(ax, p - 2);
  return {scaled * div_or_zero(g, pow(n, p - 1))};
}

namespace {
// The fused CUDA backward of softmax / log_softmax, or an undefined tensor where the
// composed formula is needed: on the CPU, or under create_graph (the formula is then
// recorded for double backward).
Tensor fused_softmax_backward(const Tensor& g, const Tensor& y, int64_t dim, bool log) {
  if (!kernels::kWithCuda || kernels::on_cpu(y) || GradMode::is_enabled() || g.dtype() != y.dtype() ||
      g.sizes() != y.sizes())
    return {};
  Tensor out = internal::new_tensor(y.sizes(), y.dtype(), y.device());
  kernels::cuda::softmax_backward(g, y, dim, log, out);
  return out;
}
}  // namespace

GradList SoftmaxBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  Tensor y = unpack(result);
  if (Tensor fused = fused_softmax_backward(g, y, dim, /*log=*/false); fused.defined()) return {fused};
  return {y * (g - sum(g * y, {dim}, /*keepdim=*/true))};
}

GradList LogSoftmaxBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  Tensor y = unpack(result);
  if (Tensor fused = fused_softmax_backward(g, y, dim, /*log=*/true); fused.defined()) return {fused};
  return {g - exp(y) * sum(g, {dim}, /*keepdim=*/true)};
}

}  // namespace autograd

}  // namespace ember
