#pragma once
// Embedding and EmbeddingBag.
#include <optional>
#include <string>

#include "nn/module.h"

namespace ember::nn {

/// A lookup table: ids of any shape -> [..., dim]. weight ~ N(0, 1); the padding_idx row is
/// zero and gets no gradient.
class Embedding : public Cloneable<Embedding> {
 public:
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt);
  void reset() override;
  Tensor forward(const Tensor& ids) override;
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  std::optional<int64_t> padding_idx;  // wrapped to [0, num_embeddings)
  Tensor weight;
};

/// Sums / means / maxes of embedding rows per bag, without materializing [N, dim] (a dedicated
/// op, nn/embedding_bag_op.h). With sparse, backward writes a row-sparse gradient
/// (nn/sparse_grad.h) instead of weight.grad().
class EmbeddingBag : public Cloneable<EmbeddingBag> {
 public:
  EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim, const std::string& mode = "mean", bool sparse = false,
               std::optional<int64_t> padding_idx = std::nullopt, bool include_last_offset = false);
  /// An EmbeddingBag over the given table [num_embeddings, dim] (used as is, not copied, and
  /// not re-initialized), trainable unless freeze (libtorch's from_pretrained).
  static std::shared_ptr<EmbeddingBag> from_pretrained(const Tensor& embeddings, bool freeze = true,
                                                       const std::string& mode = "mean", bool sparse = false,
                                                       std::optional<int64_t> padding_idx = std::nullopt,
                                                       bool include_last_offset = false);
  void reset() override;
  /// input [B, L] ids (one bag per row).
  Tensor forward(const Tensor& input) override;
  /// input 1-D ids, offsets [B] bag starts; per_sample_weights [N] (sum mode) or undefined.
  Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = {});
  Tensor operator()(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = {}) {
    return forward(input, offsets, per_sample_weights);
  }
  using Module::operator();
  std::string extra_repr() const override;

  int64_t num_embeddings, embedding_dim;
  std::string mode;
  bool sparse;
  std::optional<int64_t> padding_idx;
  bool include_last_offset;
  Tensor weight;
};

}  // namespace ember::nn
