#pragma once
// Backward node of the fused layer norm (nn/layer_norm_op.cpp).
#include "autograd/node.h"

namespace ember::autograd {

/// layer_norm: with xhat = (x - mean) * rstd and g = grad * weight, per row
///   dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),
/// dweight = sum over rows of grad * xhat, dbias = sum over rows of grad. Edges: x, weight,
/// bias. First-order backward runs the layer_norm_backward kernels; under create_graph the
/// same formula is built from differentiable ops (NOTE in nn/layer_norm_op.cpp).
struct LayerNormBackward final : Node {
  const char* name() const override { return "NativeLayerNormBackward"; }
  GradList apply(GradList&& grads) override;
  Shape normalized_shape;
  double eps = 1e-5;
  int64_t rows = 0, cols = 0;
  bool has_weight = false;
  size_t input = 0, weight = 0, mean = 0, rstd = 0;  // saved slots (weight when has_weight)
};

}  // namespace ember::autograd
