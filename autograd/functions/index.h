#pragma once
// Backward nodes of the indexing and joining ops (tensor/index_ops.cpp). Formulas use ember's
// own differentiable ops (index_select and index_add, gather and scatter_add are each other's
// adjoints), so create_graph gives higher derivatives. Index tensors never get gradients.
#include <vector>

#include "autograd/node.h"

namespace ember::autograd {

/// index_select: the gradient is index_add-ed into zeros of the input's shape.
struct IndexSelectBackward final : Node {
  const char* name() const override { return "IndexSelectBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t index = 0;  // saved slot
  Shape input_shape;
};

/// gather: the gradient is scatter_add-ed into zeros of the input's shape.
struct GatherBackward final : Node {
  const char* name() const override { return "GatherBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t index = 0;
  Shape input_shape;
};

/// scatter_add(x, dim, index, src): x gets the gradient, src gets it gathered at index.
struct ScatterAddBackward final : Node {
  const char* name() const override { return "ScatterAddBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t index = 0;
  Shape src_shape;  // may exceed the index's shape; the rest of src gets zero
};

/// index_add(x, dim, index, source): x gets the gradient, source its index_select.
struct IndexAddBackward final : Node {
  const char* name() const override { return "IndexAddBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  size_t index = 0;
  Shape source_shape;
};

/// cat: each input gets its slice (narrow) of the gradient.
struct CatBackward final : Node {
  const char* name() const override { return "CatBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
  std::vector<int64_t> sizes;  // each input's size along dim; -1 for skipped [0]-shaped inputs
};

/// stack: input i gets select(gradient, dim, i).
struct StackBackward final : Node {
  const char* name() const override { return "StackBackward"; }
  GradList apply(GradList&& grads) override;
  int64_t dim = 0;
};

}  // namespace ember::autograd
