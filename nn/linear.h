#pragma once
// Linear and Identity.
#include "nn/module.h"

namespace ember::nn {

/// y = x W^T + b. weight [out, in], bias [out]; both U(-1/sqrt(in), 1/sqrt(in)) as PyTorch.
class Linear : public Cloneable<Linear> {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  void reset() override;
  /// Re-draws weight and bias with PyTorch's default init.
  void reset_parameters();
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  int64_t in_features, out_features;
  bool has_bias;
  Tensor weight, bias;
};

/// Returns its input.
class Identity : public Cloneable<Identity> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& x) override { return x; }
};

}  // namespace ember::nn
