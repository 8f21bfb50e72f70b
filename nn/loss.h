#pragma once
// Loss modules: thin wrappers that hold the options of nn::functional's losses.
#include <string>

#include "nn/functional/loss.h"
#include "nn/module.h"

namespace ember::nn {

/// Module form of functional::cross_entropy; call as loss(logits, targets).
class CrossEntropyLoss : public Module {
 public:
  explicit CrossEntropyLoss(Tensor weight = {}, int64_t ignore_index = -100, std::string reduction = "mean",
                            double label_smoothing = 0)
      : weight(std::move(weight)), ignore_index(ignore_index), reduction(std::move(reduction)),
        label_smoothing(label_smoothing) {
    if (this->weight.defined()) register_buffer("weight", this->weight);
  }
  Tensor forward(const Tensor& logits, const Tensor& targets) {
    return functional::cross_entropy(logits, targets, weight, ignore_index, reduction, label_smoothing);
  }
  Tensor operator()(const Tensor& logits, const Tensor& targets) { return forward(logits, targets); }
  Tensor weight;
  int64_t ignore_index;
  std::string reduction;
  double label_smoothing;
};

/// Module form of functional::nll_loss.
class NLLLoss : public Module {
 public:
  explicit NLLLoss(Tensor weight = {}, int64_t ignore_index = -100, std::string reduction = "mean")
      : weight(std::move(weight)), ignore_index(ignore_index), reduction(std::move(reduction)) {
    if (this->weight.defined()) register_buffer("weight", this->weight);
  }
  Tensor forward(const Tensor& log_probs, const Tensor& targets) {
    return functional::nll_loss(log_probs, targets, weight, ignore_index, reduction);
  }
  Tensor operator()(const Tensor& log_probs, const Tensor& targets) { return forward(log_probs, targets); }
  Tensor weight;
  int64_t ignore_index;
  std::string reduction;
};

/// Module form of functional::binary_cross_entropy_with_logits.
class BCEWithLogitsLoss : public Module {
 public:
  explicit BCEWithLogitsLoss(Tensor weight = {}, std::string reduction = "mean", Tensor pos_weight = {})
      : weight(std::move(weight)), reduction(std::move(reduction)), pos_weight(std::move(pos_weight)) {
    // Buffers, as in PyTorch, so that Module::to moves them with the module.
    if (this->weight.defined()) register_buffer("weight", this->weight);
    if (this->pos_weight.defined()) register_buffer("pos_weight", this->pos_weight);
  }
  Tensor forward(const Tensor& logits, const Tensor& targets) {
    return functional::binary_cross_entropy_with_logits(logits, targets, weight, pos_weight, reduction);
  }
  Tensor operator()(const Tensor& logits, const Tensor& targets) { return forward(logits, targets); }
  Tensor weight;
  std::string reduction;
  Tensor pos_weight;
};

/// Module form of functional::binary_cross_entropy.
class BCELoss : public Module {
 public:
  explicit BCELoss(Tensor weight = {}, std::string reduction = "mean")
      : weight(std::move(weight)), reduction(std::move(reduction)) {
    if (this->weight.defined()) register_buffer("weight", this->weight);
  }
  Tensor forward(const Tensor& probs, const Tensor& targets) {
    return functional::binary_cross_entropy(probs, targets, weight, reduction);
  }
  Tensor operator()(const Tensor& probs, const Tensor& targets) { return forward(probs, targets); }
  Tensor weight;
  std::string reduction;
};

/// Module form of functional::mse_loss.
class MSELoss : public Module {
 public:
  explicit MSELoss(std::string reduction = "mean") : reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return functional::mse_loss(input, target, reduction); }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string reduction;
};

/// Module form of functional::l1_loss.
class L1Loss : public Module {
 public:
  explicit L1Loss(std::string reduction = "mean") : reduction(std::move(reduction)) {}
  Tensor forward(const Tensor& input, const Tensor& target) { return functional::l1_loss(input, target, reduction); }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string reduction;
};

/// Module form of functional::smooth_l1_loss.
class SmoothL1Loss : public Module {
 public:
  explicit SmoothL1Loss(std::string reduction = "mean", double beta = 1.0) : reduction(std::move(reduction)), beta(beta) {}
  Tensor forward(const Tensor& input, const Tensor& target) {
    return functional::smooth_l1_loss(input, target, reduction, beta);
  }
  Tensor operator()(const Tensor& input, const Tensor& target) { return forward(input, target); }
  std::string reduction;
  double beta;
};

}  // namespace ember::nn
