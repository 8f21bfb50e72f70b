#pragma once
// Dropout.
#include "nn/module.h"

namespace ember::nn {

/// In training mode zeroes elements with probability p (seeded, ember::manual_seed) and scales
/// the rest by 1 / (1 - p); the identity in eval mode.
class Dropout : public Cloneable<Dropout> {
 public:
  explicit Dropout(double p = 0.5);
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  double p;
};

}  // namespace ember::nn
