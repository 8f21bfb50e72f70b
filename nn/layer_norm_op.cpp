// The fused layer norm op and its backward node (see nn/layer_norm_op.h).
#include "nn/layer_norm_op.h"

#include <sstream>

#include "autograd/function.h"
#include "autograd/functions/normalization.h"
#include "kernels/kernels.h"
#include "tensor/error.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace ember::nn {
namespace {

constexpr const char* kOp = "layer_norm";

// t itself when contiguous, else a contiguous copy that records no autograd.
Tensor packed(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  NoGradGuard no_grad;
  return t.contiguous();
}

}  // namespace

bool native_layer_norm_supports(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (!x.defined() || (x.dtype() != kFloat32 && x.dtype() != kFloat64)) return false;
  for (const Tensor* t : {&weight, &bias})
    if (t->defined() && (t->dtype() != x.dtype() || t->device() != x.device())) return false;
  return true;
}

void check_layer_norm_shapes(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias) {
  internal::check_defined(x, kOp);
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  bool ok = k >= 1 && x.dim() >= k;
  for (int64_t i = 0; ok && i < k; ++i) ok = x.size(x.dim() - k + i) == normalized_shape[static_cast<size_t>(i)];
  if (!ok) {
    std::ostringstream expected;  // PyTorch lists the sizes after the star: [*, 2, 3]
    expected << "[*";
    for (int64_t s : normalized_shape) expected << ", " << s;
    expected << "]";
    detail::throw_error(kOp, "Given normalized_shape=", shape_text(normalized_shape), ", expected input with shape ",
                        expected.str(), ", but got input of size ", shape_text(x.sizes()));
  }
  EMBER_CHECK(!weight.defined() || weight.sizes() == normalized_shape, kOp,
              "Expected weight to be of same shape as normalized_shape, but got weight of shape ",
              shape_text(weight.sizes()), " and normalized_shape = ", shape_text(normalized_shape));
  EMBER_CHECK(!bias.defined() || bias.sizes() == normalized_shape, kOp,
              "Expected bias to be of same shape as normalized_shape, but got bias of shape ",
              shape_text(bias.sizes()), " and normalized_shape = ", shape_text(normalized_shape));
}

std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& x, const Shape& normalized_shape,
                                                     const Tensor& weight, const Tensor& bias, double eps) {
  check_layer_norm_shapes(x, normalized_shape, weight, bias);
  EMBER_CHECK(native_layer_norm_supports(x, weight, bias), kOp,
              "expected a float32 or float64 input with weight and bias of its dtype and device, got input ",
              dtype_name(x.dtype()), " on ", x.device(), weight.defined() ? ", weight " : "",
              weight.defined() ? dtype_name(weight.dtype()) : "", bias.defined() ? ", bias " : "",
              bias.defined() ? dtype_name(bias.dtype()) : "");
  const int64_t axis = x.dim() - static_cast<int64_t>(normalized_shape.size());
  Shape stat_shape;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d < axis) rows *= x.size(d);
    else cols *= x.size(d);
    stat_shape.push_back(d < axis ? x.size(d) : 1);
  }
  Tensor xc = packed(x), w = packed(weight), b = packed(bias);
  Tensor y = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  Tensor mean = internal::new_tensor(stat_shape, x.dtype(), x.device());
  Tensor rstd = internal::new_tensor(stat_shape, x.dtype(), x.device());
  kernels::layer_norm(xc, w, b, eps, y, mean, rstd);
  if (autograd::needs_grad(x, weight, bias)) {
    auto node = autograd::make_node<autograd::LayerNormBackward>(x, weight, bias);
    node->normalized_shape = normalized_shape;
    node->eps = eps;
    node->rows = rows;
    node->cols = cols;
    node->has_weight = weight.defined();
    // The input as given (not the packed copy): double backward must reach it.
    node->input = node->save(x);
    if (weight.defined()) node->weight = node->save(weight);
    node->mean = node->save(mean);
    node->rstd = node->save(rstd);
    autograd::set_history(y, node);
  }
  return {y, mean, rstd};
}

}  // namespace ember::nn

namespace ember::autograd {

// NOTE [ LayerNorm double backward ]
// The kernels give the first derivatives as plain numbers: nothing records how dx depends on
// x, weight and grad. Under create_graph (GradMode on while backward runs) the gradients are
// instead built from differentiable ops, mean and rstd included (recomputed from x: the saved
// ones carry no history), so that their own backward (double backward, gradgradcheck) is
// exact. That path costs what the composed layer norm cost; first-order training never takes it.
GradList LayerNormBackward::apply(GradList&& grads) {
  const Tensor& grad = grads[0];
  Tensor x = unpack(input);
  Tensor w = has_weight ? unpack(weight) : Tensor();
  GradList out(3);
  const bool want_x = needs_input_grad(0), want_w = needs_input_grad(1), want_b = needs_input_grad(2);
  if (GradMode::is_enabled()) {
    Tensor x2 = x.reshape({rows, cols}), g2 = grad.reshape({rows, cols});
    Tensor xc = x2 - x2.mean({1}, true);
    Tensor r = ((xc * xc).mean({1}, true) + eps).rsqrt();
    Tensor xhat = xc * r;
    if (want_x) {
      Tensor g = has_weight ? g2 * w.reshape({cols}) : g2;
      out[0] = (r * (g - g.mean({1}, true) - xhat * (g * xhat).mean({1}, true))).view(x.sizes());
    }
    if (want_w) out[1] = (g2 * xhat).sum({0}).view(normalized_shape);
    if (want_b) out[2] = g2.sum({0}).view(normalized_shape);
    return out;
  }
  Tensor xc = nn::packed(x), g = nn::packed(grad);
  Tensor wc = has_weight ? nn::packed(w) : Tensor();
  if (want_x) out[0] = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  if (want_w) out[1] = internal::new_tensor(normalized_shape, x.dtype(), x.device());
  if (want_b) out[2] = internal::new_tensor(normalized_shape, x.dtype(), x.device());
  kernels::layer_norm_backward(g, xc, unpack(mean), unpack(rstd), wc, out[0], out[1], out[2]);
  return out;
}

}  // namespace ember::autograd
