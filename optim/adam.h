#pragma once
// Adam and AdamW, matching torch.optim.Adam / AdamW (the single-tensor path) to float32
// rounding: same operation order, same bias-correction formulas.
//
// Row-sparse gradients (AutogradMeta::sparse_grad_*) are applied lazily, as
// torch.optim.SparseAdam does: duplicate rows are summed, then only the rows present update
// their exp_avg, exp_avg_sq (and max_exp_avg_sq with amsgrad) and parameter values; other rows
// keep their moments untouched. There is one step count per parameter, advanced by every
// step() that finds a gradient for it, and the sparse update uses SparseAdam's formula:
// p[r] -= lr * sqrt(1 - beta2^t) / (1 - beta1^t) * m[r] / (sqrt(v[r]) + eps).
// Weight decay (L2 for Adam, decoupled for AdamW) also touches only those rows.
#include <array>

#include "optim/optimizer.h"

namespace ember::optim {

/// torch.optim.Adam's arguments, by the same names.
struct AdamOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 0.0;
  bool amsgrad = false;
  bool maximize = false;
};

/// torch.optim.AdamW's arguments (weight decay defaults to 1e-2 and is decoupled).
struct AdamWOptions {
  double lr = 1e-3;
  std::array<double, 2> betas = {0.9, 0.999};
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  bool maximize = false;
};

namespace detail {
/// One Adam update of every parameter in params; decoupled selects AdamW's weight decay.
void adam_update(Optimizer& opt, const std::vector<Tensor>& params, double lr, std::array<double, 2> betas,
                 double eps, double weight_decay, bool amsgrad, bool maximize, bool decoupled);
std::string adam_options_json(double lr, std::array<double, 2> betas, double eps, double weight_decay, bool amsgrad,
                              bool maximize);
}  // namespace detail

/// Adam with L2 weight decay added to the gradient.
class Adam : public OptimizerWithOptions<AdamOptions> {
 public:
  explicit Adam(std::vector<Tensor> params, AdamOptions options = {});
  void step() override;
  std::optional<double> momentum(size_t g) const override { return param_groups.at(g).options.betas[0]; }
  void set_momentum(size_t g, double m) override { param_groups.at(g).options.betas[0] = m; }

 protected:
  std::string group_options_json(size_t g) const override;
  void load_group_options_json(size_t g, const std::string& json) override;
};

/// AdamW: Adam with decoupled weight decay (p *= 1 - lr * weight_decay before the update).
class AdamW : public OptimizerWithOptions<AdamWOptions> {
 public:
  explicit AdamW(std::vector<Tensor> params, AdamWOptions options = {});
  void step() override;
  std::optional<double> momentum(size_t g) const override { return param_groups.at(g).options.betas[0]; }
  void set_momentum(size_t g, double m) override { param_groups.at(g).options.betas[0] = m; }

 protected:
  std::string group_options_json(size_t g) const override;
  void load_group_options_json(size_t g, const std::string& json) override;
};

}  // namespace ember::optim
