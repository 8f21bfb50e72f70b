#pragma once
// nn::functional: the stateless forms of the layers (torch.nn.functional). All are written
// with ember's differentiable ops, except embedding_bag (a dedicated op, nn/embedding_bag_op.h).
#include <optional>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace ember::nn::functional {

/// y = x @ weight^T + bias; x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});

Tensor relu(const Tensor& x);
/// approximate: "none" (erf) or "tanh".
Tensor gelu(const Tensor& x, const std::string& approximate = "none");
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor silu(const Tensor& x);
Tensor softmax(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

/// In training, zeroes each element with probability p (from the seeded generator) and scales
/// the rest by 1 / (1 - p); otherwise returns x.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

/// Normalizes over the trailing dims given by normalized_shape, then applies weight/bias
/// (each of shape normalized_shape). The fused op (nn/layer_norm_op.h) when the dtypes allow.
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = {}, const Tensor& bias = {},
                  double eps = 1e-5);

/// Rows of weight [V, D] picked by int64 ids of any shape -> [..., D]. The row padding_idx
/// (if given) gets no gradient.
Tensor embedding(const Tensor& input, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

/// Bags of embeddings (torch.nn.functional.embedding_bag): input 1-D ids with offsets [B],
/// or 2-D [B, L] ids (offsets undefined); mode "sum" / "mean" / "max". See
/// nn/embedding_bag_op.h for per_sample_weights, padding_idx, sparse.
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const Tensor& offsets = {},
                     const std::string& mode = "mean", const Tensor& per_sample_weights = {},
                     std::optional<int64_t> padding_idx = std::nullopt, bool sparse = false,
                     bool include_last_offset = false);

/// Constant padding of the trailing dims: pads = {last_left, last_right, prev_left, ...}
/// (all >= 0), as torch.nn.functional.pad(mode="constant").
Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, double value = 0);

}  // namespace ember::nn::functional
