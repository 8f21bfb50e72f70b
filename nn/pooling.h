#pragma once
// Pooling over time (the last dim).
#include "nn/module.h"

namespace ember::nn {

/// Max over sliding windows; stride defaults to kernel_size.
class MaxPool1d : public Cloneable<MaxPool1d> {
 public:
  explicit MaxPool1d(int64_t kernel_size, int64_t stride = 0, int64_t padding = 0, int64_t dilation = 1)
      : kernel_size(kernel_size), stride(stride == 0 ? kernel_size : stride), padding(padding), dilation(dilation) {}
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  int64_t kernel_size, stride, padding, dilation;
};

/// Max over output_size adaptive windows.
class AdaptiveMaxPool1d : public Cloneable<AdaptiveMaxPool1d> {
 public:
  explicit AdaptiveMaxPool1d(int64_t output_size) : output_size(output_size) {}
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "output_size=" + std::to_string(output_size); }
  int64_t output_size;
};

/// Mean over output_size adaptive windows.
class AdaptiveAvgPool1d : public Cloneable<AdaptiveAvgPool1d> {
 public:
  explicit AdaptiveAvgPool1d(int64_t output_size) : output_size(output_size) {}
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "output_size=" + std::to_string(output_size); }
  int64_t output_size;
};

}  // namespace ember::nn
