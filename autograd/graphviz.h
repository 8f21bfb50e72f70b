#pragma once
// Pictures of the graph behind a tensor, for teaching and debugging.
#include <string>

#include "tensor/tensor.h"

namespace ember::autograd {

/// The Graphviz DOT text of the graph that produced t: one box per op node (name, sequence
/// number, output shapes), one ellipse per leaf (shape, requires_grad, whether .grad() is
/// set), edges in the direction gradients flow. Render with `dot -Tsvg`.
std::string to_dot(const Tensor& t);

}  // namespace ember::autograd
