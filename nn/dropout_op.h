#pragma once
// Dropout as one fused op (nn/dropout_op.cpp): one kernel that draws the mask and scales,
// instead of rand, compare, cast, multiply and multiply (four kernels, three temporaries).
#include <cstdint>

#include "tensor/tensor.h"

namespace ember::nn {

/// x * keep / (1 - p), where keep_i = (number offset + i of seed's stream, as rand() stores
/// it in x's dtype) >= p, i counting x's elements in logical (row-major) order: the mask that
/// rand(x.sizes()) >= p gives when drawn at that offset. x is float32 or float64 of any
/// strides, 0 < p < 1. Differentiable any number of times (the gradient is the same op on
/// the incoming gradient); the output is contiguous.
Tensor dropout_with_stream(const Tensor& x, double p, uint64_t seed, uint64_t offset);

/// dropout_with_stream at the global generator's next x.numel() positions, reserved as
/// rand(x.sizes()) reserves them (after the checks: a refused call draws nothing), so a seed
/// gives the masks the composed (rand(...) >= p) formula gave. 0 < p < 1.
Tensor fused_dropout(const Tensor& x, double p);

}  // namespace ember::nn
