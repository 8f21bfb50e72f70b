#pragma once
// Conv1d over [B, C_in, L] (or unbatched [C_in, L]).
#include "nn/module.h"

namespace ember::nn {

/// 1-D convolution (groups = 1). weight [C_out, C_in, K] and bias [C_out] initialized like
/// Linear with fan_in = C_in * K.
class Conv1d : public Cloneable<Conv1d> {
 public:
  Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1, int64_t padding = 0,
         int64_t dilation = 1, bool bias = true);
  void reset() override;
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_channels, out_channels, kernel_size, stride, padding, dilation;
  bool has_bias;
  Tensor weight, bias;
};

}  // namespace ember::nn
