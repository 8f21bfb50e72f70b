#pragma once
// SavedTensor: a tensor kept for backward together with the version it had when saved.
// NOTE [ Saved outputs do not own their node ]
// A node that saves its own output (exp saves exp(x)) must not keep that output's
// autograd metadata alive: the metadata points back to the node, and the cycle would leak
// the graph. So an output is saved as a bare alias of its data (no autograd metadata);
// when backward runs with create_graph, unpack() re-attaches the node as its grad_fn.
// Inputs are saved as they are: they point to earlier nodes only, never to this one.
#include <cstdint>
#include <memory>

#include "tensor/tensor.h"

namespace ember::autograd {

struct Node;

class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  /// The saved tensor; throws PyTorch's message when it was modified in place since.
  Tensor unpack(Node* owner) const;
  void reset() { data_ = Tensor(); }
  bool defined() const { return data_.defined(); }
  /// The tensor without version checks (for graph teardown).
  Tensor& raw() { return data_; }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool is_output_ = false;
  bool output_requires_grad_ = false;
  uint32_t output_nr_ = 0;
};

}  // namespace ember::autograd
