#include "nn/dropout.h"

#include <sstream>

#include "nn/functional/basic.h"
#include "tensor/error.h"

namespace ember::nn {

Dropout::Dropout(double p_) : p(p_) {
  EMBER_CHECK(p >= 0 && p <= 1, "Dropout", "dropout probability has to be between 0 and 1, but got ", p);
}

Tensor Dropout::forward(const Tensor& x) { return functional::dropout(x, p, is_training()); }

std::string Dropout::extra_repr() const {
  std::ostringstream os;
  os << "p=" << p << ", inplace=false";
  return os.str();
}

}  // namespace ember::nn
