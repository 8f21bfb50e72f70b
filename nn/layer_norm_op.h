#pragma once
// LayerNorm as one op with its own kernels (kernels/cpu/layer_norm.cpp, kernels/cuda/
// layer_norm.cu) and its own backward node, instead of the chain mean, sub, mul, mean, rsqrt,
// mul, add: one read and one write of the input forward, one pass over it backward, no
// temporaries of the input's size. nn::functional::layer_norm calls it.
#include <tuple>

#include "tensor/tensor.h"

namespace ember::nn {

/// True when native_layer_norm takes these operands: x float32 or float64, and weight and
/// bias (each optional) of x's dtype and device.
bool native_layer_norm_supports(const Tensor& x, const Tensor& weight, const Tensor& bias);

/// Throws PyTorch's errors unless x ends in normalized_shape (non-empty) and weight and bias
/// are undefined or of shape normalized_shape.
void check_layer_norm_shapes(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias);

/// torch.native_layer_norm: normalizes x over its last normalized_shape.size() dims (which
/// must equal normalized_shape) with the biased variance, eps inside the square root, then
/// scales by weight and shifts by bias (each undefined or of shape normalized_shape).
/// Returns {y, mean, rstd}; mean and rstd have x's leading sizes followed by ones. Any
/// layout (non-contiguous x is copied once); gradients flow to x, weight and bias, and
/// double backward works. CPU or CUDA.
std::tuple<Tensor, Tensor, Tensor> native_layer_norm(const Tensor& x, const Shape& normalized_shape,
                                                     const Tensor& weight, const Tensor& bias, double eps);

}  // namespace ember::nn
