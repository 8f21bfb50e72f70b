#include "nn/embedding.h"

#include <sstream>

#include "autograd/grad_mode.h"
#include "nn/embedding_bag_op.h"
#include "nn/functional/basic.h"
#include "nn/init.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {
namespace {
std::optional<int64_t> wrap_padding(std::optional<int64_t> p, int64_t n, const char* op) {
  if (!p) return p;
  EMBER_CHECK(*p < n && *p >= -n, op, "padding_idx must be within num_embeddings (", n, "), got ", *p);
  return *p < 0 ? *p + n : *p;
}
void zero_row(Tensor& w, std::optional<int64_t> row) {
  if (!row) return;
  NoGradGuard g;
  w.select(0, *row).fill_(0);
}
}  // namespace

Embedding::Embedding(int64_t n, int64_t dim, std::optional<int64_t> pad)
    : num_embeddings(n), embedding_dim(dim), padding_idx(wrap_padding(pad, n, "Embedding")) {
  reset();
}

void Embedding::reset() {
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  init::normal_(weight);
  zero_row(weight, padding_idx);
}

Tensor Embedding::forward(const Tensor& ids) { return functional::embedding(ids, weight, padding_idx); }

std::string Embedding::extra_repr() const {
  std::ostringstream os;
  os << num_embeddings << ", " << embedding_dim;
  if (padding_idx) os << ", padding_idx=" << *padding_idx;
  return os.str();
}

EmbeddingBag::EmbeddingBag(int64_t n, int64_t dim, const std::string& mode_, bool sparse_, std::optional<int64_t> pad,
                           bool include_last)
    : num_embeddings(n),
      embedding_dim(dim),
      mode(mode_),
      sparse(sparse_),
      padding_idx(wrap_padding(pad, n, "EmbeddingBag")),
      include_last_offset(include_last) {
  embedding_bag_mode(mode);  // validates
  reset();
}

std::shared_ptr<EmbeddingBag> EmbeddingBag::from_pretrained(const Tensor& embeddings, bool freeze,
                                                           const std::string& mode, bool sparse,
                                                           std::optional<int64_t> padding_idx, bool include_last_offset) {
  EMBER_CHECK(embeddings.defined() && embeddings.dim() == 2 && embeddings.is_floating_point(), "EmbeddingBag",
              "from_pretrained expects a 2-D floating tensor [num_embeddings, dim], got ",
              embeddings.defined() ? shape_text(embeddings.sizes()) : ShapeText{nullptr, 0});
  // A 0 x 1 table keeps the constructor's initialization free; the real one replaces it.
  auto bag = std::make_shared<EmbeddingBag>(0, 1, mode, sparse, std::nullopt, include_last_offset);
  bag->num_embeddings = embeddings.size(0);
  bag->embedding_dim = embeddings.size(1);
  bag->padding_idx = wrap_padding(padding_idx, bag->num_embeddings, "EmbeddingBag");
  bag->weight = bag->register_parameter("weight", embeddings.detach(), !freeze);
  return bag;
}

void EmbeddingBag::reset() {
  weight = register_parameter("weight", empty({num_embeddings, embedding_dim}));
  init::normal_(weight);
  zero_row(weight, padding_idx);
}

Tensor EmbeddingBag::forward(const Tensor& input) {
  return functional::embedding_bag(input, weight, {}, mode, {}, padding_idx, sparse, include_last_offset);
}

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
  return functional::embedding_bag(input, weight, offsets, mode, per_sample_weights, padding_idx, sparse,
                                   include_last_offset);
}

std::string EmbeddingBag::extra_repr() const {
  std::ostringstream os;
  os << num_embeddings << ", " << embedding_dim << ", mode='" << mode << "'";
  if (sparse) os << ", sparse=true";
  if (padding_idx) os << ", padding_idx=" << *padding_idx;
  return os.str();
}

}  // namespace ember::nn
