#pragma once
// Backward nodes of the elementwise ops (tensor/pointwise_ops.cpp). Formulas use ember's
// own differentiable ops, so create_graph gives higher derivatives.
#include "autograd/node.h"
#include "kernels/kernels.h"

namespace ember::autograd {

/// One node type for every unary op; `op` selects the formula (see pointwise_ops.cpp).
struct UnaryBackward final : Node {
  const char* name() const override;
  GradList apply(GradList&& grads) override;
  kernels::UnaryOp op = kernels::UnaryOp::Neg;
  kernels::UnaryArgs args;
  size_t input = 0;   // slot of the saved input, when the formula needs it
  size_t result = 0;  // slot of the saved output, when the formula needs it
};

/// One node type for add, sub, mul, div, pow, maximum and minimum.
struct BinaryBackward final : Node {
  const char* name() const override;
  GradList apply(GradList&& grads) override;
  kernels::BinaryOp op = kernels::BinaryOp::Add;
  double alpha = 1;
  size_t a = 0, b = 0, result = 0;  // saved slots, when the formula needs them
};

/// where(cond, a, b): the gradient goes to a where cond holds, to b elsewhere.
struct WhereBackward final : Node {
  const char* name() const override { return "WhereBackward"; }
  GradList apply(GradList&& grads) override;
  size_t condition = 0;
};

}  // namespace ember::autograd
