#pragma once
// TransformerEncoderLayer and TransformerEncoder.
#include <memory>
#include <string>

#include "nn/attention.h"
#include "nn/container.h"
#include "nn/dropout.h"
#include "nn/linear.h"
#include "nn/normalization.h"

namespace ember::nn {

/// Self-attention + feed-forward block, as torch.nn.TransformerEncoderLayer. norm_first
/// gives pre-norm (x + sa(norm1(x))), otherwise post-norm (norm1(x + sa(x))). activation is
/// "relu" or "gelu". batch_first defaults to true here (inputs [B, L, d_model]).
class TransformerEncoderLayer : public Cloneable<TransformerEncoderLayer> {
 public:
  TransformerEncoderLayer(int64_t d_model, int64_t nhead, int64_t dim_feedforward = 2048, double dropout = 0.1,
                          const std::string& activation = "relu", double layer_norm_eps = 1e-5, bool batch_first = true,
                          bool norm_first = false);
  void reset() override;
  /// src_mask [L, L] (bool: true = not allowed, or float additive); src_key_padding_mask
  /// [B, L] (bool: true = padding).
  Tensor forward(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {});
  Tensor forward(const Tensor& src) override { return forward(src, {}, {}); }
  Tensor operator()(const Tensor& src, const Tensor& src_mask, const Tensor& src_key_padding_mask = {}) {
    return forward(src, src_mask, src_key_padding_mask);
  }
  using Module::operator();

  int64_t d_model, nhead, dim_feedforward;
  double dropout_p;
  std::string activation;
  double layer_norm_eps;
  bool batch_first, norm_first;
  std::shared_ptr<MultiheadAttention> self_attn;
  std::shared_ptr<Linear> linear1, linear2;
  std::shared_ptr<Dropout> dropout, dropout1, dropout2;
  std::shared_ptr<LayerNorm> norm1, norm2;

 private:
  Tensor sa_block(const Tensor& x, const Tensor& mask, const Tensor& kpm);
  Tensor ff_block(const Tensor& x);
};

/// A stack of num_layers deep copies of layer (children "layers.0", ...), then an optional norm.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerEncoderLayer& layer, int64_t num_layers, std::shared_ptr<LayerNorm> norm = nullptr);
  Tensor forward(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {});
  Tensor forward(const Tensor& src) override { return forward(src, {}, {}); }
  Tensor operator()(const Tensor& src, const Tensor& mask, const Tensor& src_key_padding_mask = {}) {
    return forward(src, mask, src_key_padding_mask);
  }
  using Module::operator();
  std::shared_ptr<Module> clone() const override;

  int64_t num_layers;
  std::shared_ptr<ModuleList> layers;
  std::shared_ptr<LayerNorm> norm;
};

}  // namespace ember::nn
