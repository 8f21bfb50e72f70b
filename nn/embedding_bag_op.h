#pragma once
// embedding_bag as one dedicated op with its own CPU loops (OpenMP over bags) and its own
// backward node, instead of an index_select + segment-sum chain: one pass over the ids, no
// [N, dim] intermediate, and a backward that can write a row-sparse gradient.
#include <string>

#include "tensor/tensor.h"

namespace ember::nn {

enum class EmbeddingBagMode { Sum, Mean, Max };

/// "sum" / "mean" / "max" -> the enum; throws on anything else.
EmbeddingBagMode embedding_bag_mode(const std::string& mode);

/// Bags of rows of weight [V, D]: bag b reduces rows indices[offsets[b] .. offsets[b+1]) (the
/// last bag runs to the end, or to offsets[B] with include_last_offset). Entries equal to
/// padding_idx (>= 0) are skipped; an empty bag gives zeros. per_sample_weights [N] scale
/// entries (sum mode only). With sparse, backward adds a row-sparse gradient to weight (see
/// nn/sparse_grad.h) instead of a dense one. CPU or CUDA (all operands on one device);
/// backward is first-order only.
Tensor embedding_bag_op(const Tensor& weight, const Tensor& indices, const Tensor& offsets, EmbeddingBagMode mode,
                        const Tensor& per_sample_weights = {}, int64_t padding_idx = -1, bool sparse = false,
                        bool include_last_offset = false);

}  // namespace ember::nn
