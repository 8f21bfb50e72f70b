#pragma once
// The graph that forward records. Each differentiable op that sees an input requiring grad
// creates one Node (the output's grad_fn). A Node knows:
//   - next_edges: for each differentiable input, the Edge{node, input_nr} that produced it
//     (the input's grad_fn and its output index, or the leaf's AccumulateGrad), or an
//     invalid edge when that input needs no gradient;
//   - outputs: shape, dtype and device of each output, so the engine can check, reduce
//     (broadcast) and cast the gradients that flow into it;
//   - saved: the tensors its backward formula needs, with their versions (SavedTensor).
// apply() maps gradients w.r.t. the outputs to gradients w.r.t. the inputs, one per edge.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "autograd/saved_tensor.h"
#include "tensor/small_vector.h"
#include "tensor/tensor.h"

namespace ember::autograd {

struct Node;

/// Where a gradient goes: input number `input_nr` of `node`.
struct Edge {
  std::shared_ptr<Node> node;
  uint32_t input_nr = 0;
  bool valid() const { return node != nullptr; }
};

/// Shape, dtype and device of one output of a node.
struct OutputMeta {
  Shape shape;
  ScalarType dtype = kFloat32;
  Device device;
};

/// Gradients passed between nodes; most nodes have one or two.
using GradList = SmallVector<Tensor, 2>;
/// A tensor hook: sees a gradient, may return a replacement (an undefined Tensor keeps it).
using TensorHook = std::function<Tensor(const Tensor&)>;

struct Node : std::enable_shared_from_this<Node> {
  Node();
  virtual ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  /// The name shown by grad_fn(), errors, traces and graph pictures (e.g. "MulBackward").
  virtual const char* name() const = 0;
  /// Gradients w.r.t. the inputs (one per next edge) from gradients w.r.t. the outputs.
  virtual GradList apply(GradList&& grads) = 0;

  /// Whether input i needs a gradient (its edge is valid).
  bool needs_input_grad(size_t i) const { return i < next_edges.size() && next_edges[i].valid(); }
  /// Saves t for backward; returns its slot for unpack().
  size_t save(const Tensor& t, bool is_output = false);
  /// The tensor saved in slot i, checked against in-place changes since it was saved.
  Tensor unpack(size_t i);
  /// Frees the saved tensors (after a backward without retain_graph).
  void release_saved();
  size_t num_outputs() const { return outputs.size(); }

  SmallVector<Edge, 2> next_edges;
  SmallVector<OutputMeta, 1> outputs;
  SmallVector<SavedTensor, 2> saved;
  bool saved_released = false;
  uint64_t sequence_nr;
  /// Hooks on the gradient of output k (from Tensor::register_hook and retain_grad).
  std::vector<std::pair<uint32_t, TensorHook>> pre_hooks;

  // Bookkeeping of the backward pass that is running (see autograd/engine.cpp).
  uint64_t task_id = 0;
  uint32_t task_slot = 0;
};

/// The node at the leaves: adds the incoming gradient into the leaf's .grad().
struct AccumulateGrad final : Node {
  explicit AccumulateGrad(Tensor leaf);
  const char* name() const override { return "AccumulateGrad"; }
  GradList apply(GradList&& grads) override;
  Tensor variable;
};

/// Throws unless a hook's replacement keeps the replaced gradient's device, dtype and shape,
/// as PyTorch's check_variable_result: the node's fused kernels, the leaf's .grad() and the
/// optimizers read it as those (a narrower one was read past its end, a host one on the GPU).
void check_hook_result(const Tensor& original, const Tensor& replaced, const char* node);

/// Number of Node objects alive now (tests use it to check that graphs are freed).
int64_t live_node_count();

}  // namespace ember::autograd
