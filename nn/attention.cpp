// MultiheadAttention: heads are folded into the batch so that both products are one bmm.
#include "nn/attention.h"

#include <cmath>
#include <limits>

#include "nn/functional/basic.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

MultiheadAttention::MultiheadAttention(int64_t e, int64_t h, double p, bool bias, bool bf)
    : embed_dim(e), num_heads(h), head_dim(h > 0 ? e / h : 0), dropout(p), has_bias(bias), batch_first(bf) {
  EMBER_CHECK(h > 0 && e > 0 && e % h == 0, "MultiheadAttention", "embed_dim (", e, ") must be divisible by num_heads (",
              h, ")");
  reset();
}

void MultiheadAttention::reset() {
  in_proj_weight = register_parameter("in_proj_weight", empty({3 * embed_dim, embed_dim}));
  init::xavier_uniform_(in_proj_weight);
  if (has_bias) {
    in_proj_bias = register_parameter("in_proj_bias", zeros({3 * embed_dim}));
  } else {
    in_proj_bias = Tensor();
  }
  out_proj = register_module("out_proj", std::make_shared<Linear>(embed_dim, embed_dim, has_bias));
  if (has_bias) init::zeros_(out_proj->bias);
}

std::pair<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                      const Tensor& key_padding_mask, bool need_weights,
                                                      const Tensor& attn_mask, bool average_attn_weights) {
  const char* op = "MultiheadAttention";
  EMBER_CHECK(query.dim() == 3 && key.dim() == 3 && value.dim() == 3, op,
              "expected 3-D query, key, value, got ", shape_text(query.sizes()), ", ", shape_text(key.sizes()), ", ",
              shape_text(value.sizes()));
  Tensor q_in = batch_first ? query : query.transpose(0, 1);
  Tensor k_in = batch_first ? key : key.transpose(0, 1);
  Tensor v_in = batch_first ? value : value.transpose(0, 1);
  const int64_t B = q_in.size(0), L = q_in.size(1), S = k_in.size(1), E = embed_dim, H = num_heads, D = head_dim;
  EMBER_CHECK(q_in.size(2) == E && k_in.size(2) == E && v_in.size(2) == E && k_in.size(0) == B &&
                  v_in.size(0) == B && v_in.size(1) == S,
              op, "expected query [B, L, ", E, "] and key/value [B, S, ", E, "], got ", shape_text(q_in.sizes()), ", ",
              shape_text(k_in.sizes()), ", ", shape_text(v_in.sizes()));
  std::vector<Tensor> w = in_proj_weight.chunk(3, 0);
  std::vector<Tensor> b = has_bias ? in_proj_bias.chunk(3, 0) : std::vector<Tensor>(3);
  auto heads = [&](const Tensor& x, int64_t len) {  // [B, len, E] -> [B * H, len, D]
    return x.reshape({B, len, H, D}).transpose(1, 2).reshape({B * H, len, D});
  };
  Tensor q = heads(functional::linear(q_in, w[0], b[0]), L);
  Tensor k = heads(functional::linear(k_in, w[1], b[1]), S);
  Tensor v = heads(functional::linear(v_in, w[2], b[2]), S);
  Tensor scores = bmm(q * (1.0 / std::sqrt(static_cast<double>(D))), k.transpose(1, 2)).view({B, H, L, S});
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (attn_mask.defined()) {
    Tensor m = attn_mask;
    if (m.dim() == 3) {
      EMBER_CHECK(m.size(0) == B * H && m.size(1) == L && m.size(2) == S, op, "3-D attn_mask must be [", B * H, ", ", L,
                  ", ", S, "], got ", shape_text(m.sizes()));
      m = m.reshape({B, H, L, S});
    } else {
      EMBER_CHECK(m.dim() == 2 && m.size(0) == L && m.size(1) == S, op, "attn_mask must be [", L, ", ", S,
                  "] (target, source), got ", shape_text(m.sizes()));
    }
    scores = m.dtype() == kBool ? scores.masked_fill(m, neg_inf) : scores + m.to(scores.dtype());
  }
  if (key_padding_mask.defined()) {
    EMBER_CHECK(key_padding_mask.dim() == 2 && key_padding_mask.size(0) == B && key_padding_mask.size(1) == S, op,
                "key_padding_mask must be [", B, ", ", S, "], got ", shape_text(key_padding_mask.sizes()));
    Tensor m = key_padding_mask.view({B, 1, 1, S});
    scores = m.dtype() == kBool ? scores.masked_fill(m, neg_inf) : scores + m.to(scores.dtype());
  }
  Tensor attn = scores.softmax(-1);  // [B, H, L, S]; a fully masked row is NaN, as in PyTorch
  Tensor attn_used = functional::dropout(attn, dropout, is_training());
  Tensor out = bmm(attn_used.reshape({B * H, L, S}), v);  // [B * H, L, D]
  out = out.view({B, H, L, D}).transpose(1, 2).reshape({B, L, E});
  out = out_proj->forward(out);
  if (!batch_first) out = out.transpose(0, 1);
  Tensor weights;
  if (need_weights) weights = average_attn_weights ? attn.mean({1}) : attn;
  return {out, weights};
}

Tensor MultiheadAttention::forward(const Tensor& x) { return forward(x, x, x, {}, false).first; }

}  // namespace ember::nn
