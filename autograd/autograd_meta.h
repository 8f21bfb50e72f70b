#pragma once
// The autograd part of a TensorImpl; only tensors that take part in autograd have one.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "autograd/node.h"

namespace ember::autograd {

struct AutogradMeta {
  bool requires_grad = false;
  bool retains_grad = false;
  /// Output of a recorded view op: in-place writes to it are refused (see docs/autograd.md).
  bool is_view = false;
  Tensor grad;
  /// The node that produced this tensor; null for leaves.
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;
  /// The leaf's AccumulateGrad, shared by every graph that uses the leaf.
  std::weak_ptr<Node> grad_accumulator;
  /// Hooks on a leaf's gradient, run by AccumulateGrad before it accumulates.
  std::vector<TensorHook> leaf_hooks;
  /// A row-sparse gradient (rows `sparse_grad_indices` of the leaf, values
  /// `sparse_grad_values`), written by ops such as EmbeddingBag(sparse=true) instead of a
  /// dense .grad() so that an optimizer step touches only the rows a batch used.
  Tensor sparse_grad_indices;
  Tensor sparse_grad_values;
  /// Which indices tensor (and its version then) is known to be sorted, distinct and within
  /// the leaf's rows, so that the optimizers can skip copying it to the host to check (a wait
  /// for the GPU). A replaced or modified indices tensor no longer matches.
  struct CheckedRows {
    std::weak_ptr<TensorImpl> indices;
    uint32_t version = 0;
  } sparse_rows_checked;
};

/// Records that m's sparse_grad_indices, as they are now, are sorted, distinct and in range.
inline void mark_sparse_rows_checked(AutogradMeta& m) {
  m.sparse_rows_checked = {m.sparse_grad_indices.impl_ptr(), m.sparse_grad_indices.impl()->storage->version()};
}
/// True when mark_sparse_rows_checked was called for m's current, unmodified indices.
inline bool sparse_rows_checked(const AutogradMeta& m) {
  if (!m.sparse_grad_indices.defined()) return false;
  std::shared_ptr<TensorImpl> checked = m.sparse_rows_checked.indices.lock();
  return checked == m.sparse_grad_indices.impl_ptr() && checked->storage->version() == m.sparse_rows_checked.version;
}

/// The metadata of t, created on first use.
AutogradMeta& meta_of(const Tensor& t);
/// The metadata of t, or null.
inline AutogradMeta* maybe_meta(const Tensor& t) { return t.impl()->autograd.get(); }

}  // namespace ember::autograd
