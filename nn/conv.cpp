#include "nn/conv.h"

#include <cmath>
#include <sstream>

#include "nn/functional/conv.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

Conv1d::Conv1d(int64_t in, int64_t out, int64_t k, int64_t s, int64_t p, int64_t d, bool b)
    : in_channels(in), out_channels(out), kernel_size(k), stride(s), padding(p), dilation(d), has_bias(b) {
  EMBER_CHECK(in > 0 && out > 0 && k > 0 && s > 0 && p >= 0 && d > 0, "Conv1d", "invalid arguments: in_channels=", in,
              ", out_channels=", out, ", kernel_size=", k, ", stride=", s, ", padding=", p, ", dilation=", d);
  reset();
}

void Conv1d::reset() {
  weight = register_parameter("weight", empty({out_channels, in_channels, kernel_size}));
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (has_bias) {
    bias = register_parameter("bias", empty({out_channels}));
    double bound = 1.0 / std::sqrt(static_cast<double>(in_channels * kernel_size));
    init::uniform_(bias, -bound, bound);
  } else {
    bias = Tensor();
  }
}

Tensor Conv1d::forward(const Tensor& x) {
  return functional::conv1d(x, weight, bias, stride, padding, dilation);
}

std::string Conv1d::extra_repr() const {
  std::ostringstream os;
  os << in_channels << ", " << out_channels << ", kernel_size=(" << kernel_size << ",), stride=(" << stride << ",)";
  if (padding != 0) os << ", padding=(" << padding << ",)";
  if (dilation != 1) os << ", dilation=(" << dilation << ",)";
  if (!has_bias) os << ", bias=false";
  return os.str();
}

}  // namespace ember::nn
