#include "nn/activation.h"

#include "nn/functional/basic.h"

namespace ember::nn {

Tensor ReLU::forward(const Tensor& x) { return functional::relu(x); }
Tensor GELU::forward(const Tensor& x) { return functional::gelu(x, approximate); }
Tensor Tanh::forward(const Tensor& x) { return functional::tanh(x); }
Tensor Sigmoid::forward(const Tensor& x) { return functional::sigmoid(x); }
Tensor SiLU::forward(const Tensor& x) { return functional::silu(x); }
Tensor Softmax::forward(const Tensor& x) { return functional::softmax(x, dim); }

}  // namespace ember::nn
