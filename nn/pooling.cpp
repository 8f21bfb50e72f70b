#include "nn/pooling.h"

#include <sstream>

#include "nn/functional/conv.h"

namespace ember::nn {

Tensor MaxPool1d::forward(const Tensor& x) {
  return functional::max_pool1d(x, kernel_size, stride, padding, dilation);
}

std::string MaxPool1d::extra_repr() const {
  std::ostringstream os;
  os << "kernel_size=" << kernel_size << ", stride=" << stride << ", padding=" << padding << ", dilation=" << dilation
     << ", ceil_mode=false";
  return os.str();
}

Tensor AdaptiveMaxPool1d::forward(const Tensor& x) { return functional::adaptive_max_pool1d(x, output_size); }
Tensor AdaptiveAvgPool1d::forward(const Tensor& x) { return functional::adaptive_avg_pool1d(x, output_size); }

}  // namespace ember::nn
