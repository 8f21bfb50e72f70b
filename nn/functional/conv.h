#pragma once
// 1-D convolution and pooling over time, input [B, C, L] (or unbatched [C, L]).
#include "tensor/tensor.h"

namespace ember::nn::functional {

/// torch.nn.functional.conv1d (groups = 1): weight [C_out, C_in, K], bias [C_out] or undefined.
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, int64_t stride = 1, int64_t padding = 0,
              int64_t dilation = 1);
/// Max over sliding windows; stride defaults to kernel_size (pass 0); padding pads with -inf.
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0,
                  int64_t dilation = 1);
/// Max over output_size adaptive windows along the last dim (PyTorch's start/end rule).
Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size);
/// Mean over output_size adaptive windows along the last dim.
Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size);

}  // namespace ember::nn::functional
