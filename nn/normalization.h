#pragma once
// LayerNorm.
#include "nn/module.h"

namespace ember::nn {

/// Normalizes over the trailing normalized_shape dims; weight ones, bias zeros when affine.
class LayerNorm : public Cloneable<LayerNorm> {
 public:
  explicit LayerNorm(Shape normalized_shape, double eps = 1e-5, bool elementwise_affine = true);
  void reset() override;
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;

  Shape normalized_shape;
  double eps;
  bool elementwise_affine;
  Tensor weight, bias;
};

}  // namespace ember::nn
