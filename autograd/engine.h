#pragma once
// The backward engine: from the output tensors, count how many gradients each node will
// receive, then run nodes whose inputs are complete, newest first, summing gradients that
// meet at the same input. Iterative throughout (see docs/autograd.md).
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace ember::autograd {

/// Accumulates d(outputs)/d(leaf) into every leaf's .grad(). grad_outputs default to ones
/// for one-element outputs. Saved tensors are freed unless retain_graph (which defaults to
/// create_graph); create_graph records the backward pass itself for higher-order gradients.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

/// The gradients of outputs w.r.t. inputs, returned instead of accumulated into .grad().
/// An input the outputs do not depend on is an error unless allow_unused (then undefined).
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace ember::autograd
