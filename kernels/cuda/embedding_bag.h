#pragma once
// embedding_bag's GPU kernels (kernels/cuda/embedding_bag.cu), called by nn/embedding_bag_op.cpp
// for CUDA tensors, which has checked the shapes, the index range and the offsets. Every
// tensor is contiguous and on the GPU; mode, padding_idx and the optional operands mean what
// they mean in nn/embedding_bag_op.h. Without the CUDA backend these are never called (no
// CUDA tensors exist) and compile to empty stubs.
#include <cstdint>

#include "nn/embedding_bag_op.h"
#include "tensor/tensor.h"

namespace ember::kernels::cuda {

/// Saved state of the forward that the backward kernels read.
struct EmbeddingBagSaved {
  nn::EmbeddingBagMode mode;
  int64_t padding_idx;
  Tensor indices, bag_of, psw, counts, max_arg;  // psw, counts, max_arg may be undefined
};

#ifdef EMBER_WITH_CUDA
/// The bags' reductions into out [B, D], the argmax entry per (bag, dim) into max_arg (max
/// mode; -1 for empty bags), the non-padding count per bag into counts (mean mode), and the
/// bag of each entry into bag_of [N] (-1 for an entry past the last bag).
void embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& offsets, bool include_last_offset,
                           nn::EmbeddingBagMode mode, const Tensor& psw, int64_t padding_idx, const Tensor& out,
                           const Tensor& max_arg, const Tensor& counts, const Tensor& bag_of);

/// dest [V, D] (zeros) += every entry's gradient row, with atomics.
void embedding_bag_backward_dense(const Tensor& grad, const EmbeddingBagSaved& s, const Tensor& dest);
/// Groups the entries by row for the row-sparse gradient, leaving out padding and entries in
/// no bag: rows [U] (sorted, distinct), seg [U + 1] and order [N] (entry positions, stably
/// sorted by row: row u's entries are order[seg[u] .. seg[u+1])). Returns U, the one value
/// it waits for the GPU to read.
int64_t embedding_bag_group_rows(const EmbeddingBagSaved& s, int64_t num_rows, Tensor& order, Tensor& seg,
                                 Tensor& rows);
/// dest [U, D] = the summed gradient of each group of entries order[seg[u] .. seg[u+1]) (one
/// row each, no atomics): the values of the row-sparse gradient.
void embedding_bag_backward_rows(const Tensor& grad, const EmbeddingBagSaved& s, const Tensor& order,
                                 const Tensor& seg, const Tensor& dest);
/// out [N] = dot(grad[bag(i)], weight[indices[i]]), 0 for padding: per_sample_weights' gradient.
void embedding_bag_backward_psw(const Tensor& grad, const Tensor& weight, const EmbeddingBagSaved& s, const Tensor& out);
#else
inline void embedding_bag_forward(const Tensor&, const Tensor&, const Tensor&, bool, nn::EmbeddingBagMode,
                                  const Tensor&, int64_t, const Tensor&, const Tensor&, const Tensor&, const Tensor&) {}
inline void embedding_bag_backward_dense(const Tensor&, const EmbeddingBagSaved&, const Tensor&) {}
inline int64_t embedding_bag_group_rows(const EmbeddingBagSaved&, int64_t, Tensor&, Tensor&, Tensor&) { return 0; }
inline void embedding_bag_backward_rows(const Tensor&, const EmbeddingBagSaved&, const Tensor&, const Tensor&,
                                        const Tensor&) {}
inline void embedding_bag_backward_psw(const Tensor&, const Tensor&, const EmbeddingBagSaved&, const Tensor&) {}
#endif

}  // namespace ember::kernels::cuda
