#pragma once
// Backward nodes of the reductions (tensor/reduce_ops.cpp).
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

}  // namespace ember::autograd
