#pragma once
// Backward nodes of the reductions (tensor/reduce_ops.cpp). Formulas use ember's own
// differentiable ops, so create_graph gives higher derivatives.
#include "autograd/node.h"

namespace ember::autograd {

/// sum and mean: the gradient is broadcast back over the reduced dims (and scaled by 1/n for mean).
struct SumBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "SumBackward";
  Shape input_shape;
  Shape dims;  // sorted, wrapped
  bool keepdim = false;
  double scale = 1;
};

/// prod: each element receives the product of the others (zeros handled without dividing).
struct ProdBackward final : Node {
  const char* name() const override { return "ProdBackward"; }
  GradList apply(GradList&& grads) override;
  Shape input_shape;
  Shape dims;
  bool keepdim = false;
  size_t input = 0;
};

/// max and min. Over all elements (all_elements): ties share the gradient evenly. Along one
/// dim: the gradient goes to the element the saved indices point at.
struct MaxBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "MaxBackward";
  bool all_elements = true;
  Shape input_shape;
  int64_t dim = 0;
  bool keepdim = false;
  size_t input = 0, result = 0;  // all_elements
  size_t indices = 0;            // along dim
};

/// var and std: 2 (x - mean) / divisor, times 1 / (2 std) for std (0 where std is 0).
struct VarBackward final : Node {
  const char* name() const override { return is_std ? "StdBackward" : "VarBackward"; }
  GradList apply(GradList&& grads) override;
  bool is_std = false;
  Shape input_shape;
  Shape dims;
  bool keepdim = false;
  double divisor = 1;  // N - correction, floored at 0
  size_t input = 0, result = 0;
};

/// p-norm: the gradient is 0 where the norm is 0 (not NaN), as in PyTorch.
struct NormBackward final : Node {
  const char* name() const override { return "NormBackward"; }
  GradList apply(GradList&& grads) override;
  double p = 2;
  Shape input_shape;
  Shape dims;
  bool keepdim = false;
  size_t input = 0, result = 0;
};

/// softmax: y * (g - sum(g * y, dim)).
struct SoftmaxBackward final : Node {
  const char* name() const override { return "SoftmaxBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t result = 0;
};

/// log_softmax: g - exp(y) * sum(g, dim).
struct LogSoftmaxBackward final : Node {
  const char* name() const override { return "LogSoftmaxBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t result = 0;
};

}  // namespace ember::autograd
