#pragma once
// Matrix products. On the CPU, float products go to OpenBLAS (faster than Eigen at every
// square size measured here) with ember's own split over threads, and vector-shaped or int64
// products to Eigen (see kernels/cpu/matmul.cpp for the measurements).
#include "tensor/tensor.h"

namespace ember {

/// torch.matmul: 1-D x 1-D dot, 2-D x 2-D mm, and batched with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// [n, k] x [k, m] -> [n, m].
Tensor mm(const Tensor& a, const Tensor& b);
/// [B, n, k] x [B, k, m] -> [B, n, m].
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta * self + alpha * (a @ b).
Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& beta = 1, const Scalar& alpha = 1);
/// Dot product of two 1-D tensors.
Tensor dot(const Tensor& a, const Tensor& b);

}  // namespace ember
