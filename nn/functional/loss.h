#pragma once
// Loss functions (torch.nn.functional). reduction is "none", "mean" or "sum". All are built
// from differentiable ops and are stable for large logits (log_softmax; BCE-with-logits uses
// max(x, 0) - x*y + log1p(exp(-|x|))).
#include <string>

#include "tensor/tensor.h"

namespace ember::nn::functional {

/// logits [N, C] or [N, C, d...], targets int64 [N] / [N, d...]. weight [C] rescales classes;
/// targets equal to ignore_index add nothing; "mean" divides by the summed weights of the
/// counted targets (PyTorch's weighted mean). label_smoothing mixes in a uniform target.
Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& weight = {},
                     int64_t ignore_index = -100, const std::string& reduction = "mean", double label_smoothing = 0);
/// Negative log likelihood of log-probabilities [N, C] / [N, C, d...] at int64 targets.
Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& weight = {}, int64_t ignore_index = -100,
                const std::string& reduction = "mean");
/// -w [pos_weight * y log s(x) + (1 - y) log(1 - s(x))], s = sigmoid; pos_weight broadcasts
/// over the last (class) dim.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& targets, const Tensor& weight = {},
                                        const Tensor& pos_weight = {}, const std::string& reduction = "mean");
/// -w [y log p + (1 - y) log(1 - p)] with the logs clamped at -100, as PyTorch.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& targets, const Tensor& weight = {},
                            const std::string& reduction = "mean");
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
/// 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (beta = 0 gives l1_loss).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean",
                      double beta = 1.0);

}  // namespace ember::nn::functional
