#include "nn/normalization.h"

#include <sstream>

#include "nn/functional/basic.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

LayerNorm::LayerNorm(Shape shape, double eps_, bool affine)
    : normalized_shape(std::move(shape)), eps(eps_), elementwise_affine(affine) {
  EMBER_CHECK(!normalized_shape.empty(), "LayerNorm", "normalized_shape must have at least one dim");
  reset();
}

void LayerNorm::reset() {
  if (elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return functional::layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  std::ostringstream os;
  os << "(";
  for (size_t i = 0; i < normalized_shape.size(); ++i) os << normalized_shape[i] << ",";
  os << "), eps=" << eps << ", elementwise_affine=" << (elementwise_affine ? "true" : "false");
  return os.str();
}

}  // namespace ember::nn
