#include "nn/linear.h"

#include <cmath>
#include <sstream>

#include "nn/functional/basic.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

Linear::Linear(int64_t in, int64_t out, bool bias_) : in_features(in), out_features(out), has_bias(bias_) {
  EMBER_CHECK(in >= 0 && out >= 0, "Linear", "in_features and out_features must be >= 0, got ", in, ", ", out);
  reset();
}

void Linear::reset() {
  weight = register_parameter("weight", empty({out_features, in_features}));
  bias = has_bias ? register_parameter("bias", empty({out_features})) : Tensor();
  reset_parameters();
}

void Linear::reset_parameters() {
  // kaiming_uniform(a = sqrt(5)) reduces to U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
  if (in_features > 0) init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (has_bias) {
    double bound = in_features > 0 ? 1.0 / std::sqrt(static_cast<double>(in_features)) : 0.0;
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Linear::forward(const Tensor& x) { return functional::linear(x, weight, bias); }

std::string Linear::extra_repr() const {
  std::ostringstream os;
  os << "in_features=" << in_features << ", out_features=" << out_features << ", bias=" << (has_bias ? "true" : "false");
  return os.str();
}

}  // namespace ember::nn
