// Stateless layer forms, composed from ember's differentiable ops (layer_norm and embedding_bag
// call their fused ops).
#include "nn/functional/basic.h"

#include "nn/dropout_op.h"
#include "nn/embedding_bag_op.h"
#include "nn/layer_norm_op.h"
#include "tensor/error.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace ember::nn::functional {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  EMBER_CHECK(weight.dim() == 2 && x.dim() >= 1 && x.size(-1) == weight.size(1), "linear",
              "mat1 and mat2 shapes cannot be multiplied: input ", shape_text(x.sizes()), ", weight ",
              shape_text(weight.sizes()));
  const int64_t in = weight.size(1), out_f = weight.size(0);
  Shape out_shape = x.sizes();
  out_shape.back() = out_f;
  // Fold the leading dims into one so that every case is a single 2-D product.
  Tensor y = mm(x.reshape({-1, in}), weight.t());
  if (bias.defined()) {
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == out_f, "linear", "bias must have shape [", out_f, "], got ",
                shape_text(bias.sizes()));
    y = y + bias;
  }
  return y.view(out_shape);
}

Tensor relu(const Tensor& x) { return ember::relu(x); }
Tensor gelu(const Tensor& x, const std::string& approximate) { return ember::gelu(x, approximate); }
Tensor tanh(const Tensor& x) { return ember::tanh(x); }
Tensor sigmoid(const Tensor& x) { return ember::sigmoid(x); }
Tensor silu(const Tensor& x) { return ember::silu(x); }
Tensor softmax(const Tensor& x, int64_t dim) { return ember::softmax(x, dim); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return ember::log_softmax(x, dim); }

Tensor dropout(const Tensor& x, double p, bool training) {
  EMBER_CHECK(p >= 0 && p <= 1, "dropout", "dropout probability has to be between 0 and 1, but got ", p);
  internal::check_defined(x, "dropout");
  // As PyTorch: nothing to drop returns x itself, and p == 1 draws no numbers.
  if (!training || p == 0 || x.numel() == 0) return x;
  if (p == 1) return x * zeros({}, x.options());
  return fused_dropout(x, p);  // one kernel; the masks the old rand-and-multiply formula gave
}

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  check_layer_norm_shapes(x, normalized_shape, weight, bias);
  if (native_layer_norm_supports(x, weight, bias))
    return std::get<0>(native_layer_norm(x, normalized_shape, weight, bias, eps));
  // Mixed or non-float dtypes (or devices): the composed formula, with type promotion.
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  Shape dims;
  for (int64_t i = x.dim() - k; i < x.dim(); ++i) dims.push_back(i);
  Tensor mu = x.mean(dims, true);
  Tensor xc = x - mu;
  Tensor var = (xc * xc).mean(dims, true);  // biased, as PyTorch
  Tensor y = xc * (var + eps).rsqrt();
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx) {
  EMBER_CHECK(weight.dim() == 2, "embedding", "weight must be 2-D, got ", shape_text(weight.sizes()));
  EMBER_CHECK(input.dtype() == kInt64, "embedding",
              "Expected tensor for argument #1 'indices' to have scalar type Long; but got ", input.dtype());
  Shape out_shape = input.sizes();
  out_shape.push_back(weight.size(1));
  Tensor out = index_select(weight, 0, input.reshape({-1})).view(out_shape);
  if (padding_idx) {
    int64_t pad = *padding_idx < 0 ? *padding_idx + weight.size(0) : *padding_idx;
    // Same values, but the gradient of padded positions goes to a detached copy: the
    // padding row gets none.
    Tensor keep = (input != pad).unsqueeze(-1);
    out = where(keep, out, out.detach());
  }
  return out;
}

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets, const std::string& mode,
                     const Tensor& per_sample_weights, std::optional<int64_t> padding_idx, bool sparse,
                     bool include_last_offset) {
  EMBER_CHECK(weight.dim() == 2, "embedding_bag", "weight must be 2-D, got ", shape_text(weight.sizes()));
  int64_t pad = -1;
  if (padding_idx) {
    pad = *padding_idx < 0 ? *padding_idx + weight.size(0) : *padding_idx;
    EMBER_CHECK(pad >= 0 && pad < weight.size(0), "embedding_bag", "padding_idx ", *padding_idx,
                " out of range for ", weight.size(0), " embeddings");
  }
  Tensor ids = input, offs = offsets, psw = per_sample_weights;
  if (input.dim() == 2) {
    EMBER_CHECK(!offsets.defined(), "embedding_bag",
                "if input is 2D, then offsets has to be None, as input is treated is a mini-batch of fixed length "
                "sequences. However, found offsets of shape ", shape_text(offsets.sizes()));
    const int64_t B = input.size(0), L = input.size(1);
    ids = input.reshape({-1});
    // On the input's device: embedding_bag_op requires weight, input and offsets together
    // (host offsets beside a GPU input were an error).
    const TensorOptions off_opts = TensorOptions(kInt64).device(input.device());
    offs = arange(0, B * L, L > 0 ? L : 1, off_opts);
    if (L == 0) offs = zeros({B}, off_opts);
    if (psw.defined()) psw = psw.reshape({-1});
    include_last_offset = false;
  } else {
    EMBER_CHECK(input.dim() == 1 && offsets.defined(), "embedding_bag",
                "input has to be 1D (with offsets) or 2D [B, L], got ", shape_text(input.sizes()));
  }
  return embedding_bag_op(weight, ids, offs, embedding_bag_mode(mode), psw, pad, sparse, include_last_offset);
}

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value) {
  EMBER_CHECK(pads.size() % 2 == 0 && static_cast<int64_t>(pads.size()) / 2 <= x.dim(), "pad",
              "Padding length must be divisible by 2 and at most twice the number of dims, got ", pads.size(),
              " for input ", shape_text(x.sizes()));
  Tensor y = x;
  for (size_t i = 0; i < pads.size() / 2; ++i) {
    int64_t dim = x.dim() - 1 - static_cast<int64_t>(i);
    int64_t left = pads[2 * i], right = pads[2 * i + 1];
    EMBER_CHECK(left >= 0 && right >= 0, "pad", "only non-negative padding is supported, got ", left, ", ", right);
    if (left == 0 && right == 0) continue;
    std::vector<Tensor> parts;
    Shape s = y.sizes();
    if (left > 0) {
      s[static_cast<size_t>(dim)] = left;
      parts.push_back(full(s, value, y.options()));
    }
    parts.push_back(y);
    if (right > 0) {
      s[static_cast<size_t>(dim)] = right;
      parts.push_back(full(s, value, y.options()));
    }
    y = cat(parts, dim);
  }
  return y;
}

}  // namespace ember::nn::functional
