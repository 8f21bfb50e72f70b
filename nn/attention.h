#pragma once
// MultiheadAttention.
#include <memory>
#include <utility>

#include "nn/linear.h"
#include "nn/module.h"

namespace ember::nn {

/// Scaled dot-product attention over num_heads heads, as torch.nn.MultiheadAttention.
/// With batch_first (the default here) inputs are [B, L, E]; otherwise [L, B, E].
/// Parameters: in_proj_weight [3E, E] (xavier_uniform), in_proj_bias [3E] (zeros),
/// out_proj (Linear E -> E, bias zeros).
class MultiheadAttention : public Cloneable<MultiheadAttention> {
 public:
  MultiheadAttention(int64_t embed_dim, int64_t num_heads, double dropout = 0.0, bool bias = true,
                     bool batch_first = true);
  void reset() override;

  /// Returns (output like query, attention weights [B, L, S] averaged over heads — or
  /// [B, H, L, S] when average_attn_weights is false; undefined when need_weights is false).
  /// key_padding_mask [B, S]: bool (true = ignore that key) or float (added). attn_mask
  /// [L, S] or [B * H, L, S]: bool (true = not allowed) or float (added to the scores).
  std::pair<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& key_padding_mask = {}, bool need_weights = true,
                                    const Tensor& attn_mask = {}, bool average_attn_weights = true);
  std::pair<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const Tensor& key_padding_mask = {}, bool need_weights = true,
                                       const Tensor& attn_mask = {}, bool average_attn_weights = true) {
    return forward(query, key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights);
  }
  /// Self-attention output only: forward(x, x, x).first.
  Tensor forward(const Tensor& x) override;
  using Module::operator();

  int64_t embed_dim, num_heads, head_dim;
  double dropout;
  bool has_bias, batch_first;
  Tensor in_proj_weight, in_proj_bias;
  std::shared_ptr<Linear> out_proj;
};

}  // namespace ember::nn
