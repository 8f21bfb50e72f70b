#include "nn/transformer.h"

#include "nn/functional/basic.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

TransformerEncoderLayer::TransformerEncoderLayer(int64_t d, int64_t h, int64_t ff, double p, const std::string& act,
                                                 double eps, bool bf, bool nf)
    : d_model(d), nhead(h), dim_feedforward(ff), dropout_p(p), activation(act), layer_norm_eps(eps), batch_first(bf),
      norm_first(nf) {
  EMBER_CHECK(act == "relu" || act == "gelu", "TransformerEncoderLayer", "activation should be relu/gelu, not ", act);
  reset();
}

void TransformerEncoderLayer::reset() {
  // Registration order matches PyTorch, so state_dict keys line up.
  self_attn = register_module("self_attn", std::make_shared<MultiheadAttention>(d_model, nhead, dropout_p, true, batch_first));
  linear1 = register_module("linear1", std::make_shared<Linear>(d_model, dim_feedforward));
  dropout = register_module("dropout", std::make_shared<Dropout>(dropout_p));
  linear2 = register_module("linear2", std::make_shared<Linear>(dim_feedforward, d_model));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(Shape{d_model}, layer_norm_eps));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(dropout_p));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(dropout_p));
}

Tensor TransformerEncoderLayer::sa_block(const Tensor& x, const Tensor& mask, const Tensor& kpm) {
  return dropout1->forward(self_attn->forward(x, x, x, kpm, /*need_weights=*/false, mask).first);
}

Tensor TransformerEncoderLayer::ff_block(const Tensor& x) {
  Tensor h = linear1->forward(x);
  h = activation == "gelu" ? functional::gelu(h) : functional::relu(h);
  return dropout2->forward(linear2->forward(dropout->forward(h)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const Tensor& src_mask, const Tensor& kpm) {
  Tensor x = src;
  if (norm_first) {
    x = x + sa_block(norm1->forward(x), src_mask, kpm);
    x = x + ff_block(norm2->forward(x));
  } else {
    x = norm1->forward(x + sa_block(x, src_mask, kpm));
    x = norm2->forward(x + ff_block(x));
  }
  return x;
}

TransformerEncoder::TransformerEncoder(const TransformerEncoderLayer& layer, int64_t n, std::shared_ptr<LayerNorm> nrm)
    : num_layers(n) {
  EMBER_CHECK(n >= 1, "TransformerEncoder", "num_layers must be >= 1, got ", n);
  layers = register_module("layers", std::make_shared<ModuleList>());
  for (int64_t i = 0; i < n; ++i) layers->push_back(layer.clone());
  if (nrm) norm = register_module("norm", std::move(nrm));
}

Tensor TransformerEncoder::forward(const Tensor& src, const Tensor& mask, const Tensor& kpm) {
  Tensor x = src;
  for (size_t i = 0; i < layers->size(); ++i) x = layers->at<TransformerEncoderLayer>(i)->forward(x, mask, kpm);
  if (norm) x = norm->forward(x);
  return x;
}

std::shared_ptr<Module> TransformerEncoder::clone() const {
  auto first = layers->at<TransformerEncoderLayer>(0);
  auto copy = std::make_shared<TransformerEncoder>(*first, num_layers,
                                                   norm ? std::static_pointer_cast<LayerNorm>(norm->clone()) : nullptr);
  copy->copy_state_from(*this);
  copy->train(is_training());
  return copy;
}

}  // namespace ember::nn
