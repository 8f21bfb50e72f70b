#pragma once
// Backward nodes of the matrix products (tensor/linalg_ops.cpp). The formulas call ember's
// own matmul and transpose, so create_graph gives higher derivatives.
#include "autograd/node.h"
#include "tensor/scalar.h"

namespace ember::autograd {

/// mm, bmm and batched matmul: out = a @ b over the last two dims, batch dims broadcast.
///   grad_a = g @ b^T,  grad_b = a^T @ g
/// For broadcast batch dims these come out at the broadcast shape; the engine sums them
/// down to each input's shape (autograd/engine.cpp, validated()).
struct MatmulBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "MmBackward";
  size_t a = 0, b = 0;  // saved slots (b is saved only when grad_a is needed, and a for grad_b)
  // Whether a / b were column-major matrices: their gradients are produced in that layout.
  bool a_column_major = false, b_column_major = false;
};

/// addmm: out = beta * self + alpha * (a @ b), self broadcast to the output.
struct AddmmBackward final : Node {
  const char* name() const override { return "AddmmBackward"; }
  GradList apply(GradList&& grads) override;
  Scalar beta = 1, alpha = 1;
  size_t a = 0, b = 0;
};

/// dot of two vectors: grad_a = g * b, grad_b = g * a (g is 0-d).
struct DotBackward final : Node {
  const char* name() const override { return "DotBackward"; }
  GradList apply(GradList&& grads) override;
  size_t a = 0, b = 0;
};

}  // namespace ember::autograd
