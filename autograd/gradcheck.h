#pragma once
// gradcheck: compares the analytical Jacobian (from backward) with float64 central finite
// differences, column by column. On failure it throws ember::Error naming the input, the
// element and both values.
#include <functional>
#include <vector>

#include "tensor/tensor.h"

namespace ember::autograd {

/// The function under test: takes the inputs, returns one tensor (any shape).
using GradcheckFn = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks d fn / d inputs for every input that requires grad (inputs should be float64).
/// Returns true, or throws ember::Error describing the first mismatch.
bool gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
               double rtol = 1e-3);
/// Checks second derivatives: gradcheck of the map (inputs, v) -> grad(fn(inputs), inputs, v)
/// with a random grad_output v, built with create_graph.
bool gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps = 1e-6, double atol = 1e-5,
                   double rtol = 1e-3);

}  // namespace ember::autograd
