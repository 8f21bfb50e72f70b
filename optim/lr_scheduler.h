#pragma once
// Learning-rate schedulers with PyTorch's semantics: construction applies epoch 0, and each
// scheduler.step() (called after optimizer.step()) advances one epoch and writes the new
// rates into the optimizer's groups. Rates come from closed forms, so they do not drift (and a
// manual change to a group's lr is overwritten by the next step). The optimizer must outlive
// the scheduler.
#include <cstdint>
#include <string>
#include <vector>

#include "optim/optimizer.h"

namespace ember::optim {

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  /// Advances one epoch and sets each group's learning rate.
  void step();
  /// The rates the last step() set, one per group.
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  /// The epoch of the last step() (0 right after construction).
  int64_t last_epoch() const { return last_epoch_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  /// The scheduler's position as JSON text (last_epoch, base_lrs, last_lr), for checkpoints.
  std::string state_dict() const;
  /// Restores what state_dict() saved; the optimizer's rates come back with its own state dict.
  void load_state_dict(const std::string& json);

 protected:
  /// Records each group's current lr as its base rate (PyTorch's initial_lr).
  explicit LRScheduler(Optimizer& optimizer);
  /// The rate of group g at epoch e.
  virtual double lr_at(size_t g, int64_t e) const = 0;
  /// Called after the rates of epoch e are set (OneCycleLR cycles momentum here).
  virtual void after_step(int64_t /*e*/) {}
  /// Runs the first step (epoch 0); each derived constructor calls it last.
  void initial_step() { step(); }

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;

 private:
  std::vector<double> last_lr_;
  int64_t last_epoch_ = -1;
};

/// lr = base * gamma^(floor(epoch / step_size)).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

/// lr = base * gamma^(number of milestones <= epoch); milestones must increase.
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  std::vector<int64_t> milestones_;
  double gamma_;
};

/// lr = base * gamma^epoch.
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  double gamma_;
};

/// lr = eta_min + (base - eta_min) * (1 + cos(pi * epoch / T_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

/// lr = base * factor, the factor going linearly from start_factor to end_factor over
/// total_iters epochs and staying there.
class LinearLR : public LRScheduler {
 public:
  LinearLR(Optimizer& optimizer, double start_factor = 1.0 / 3, double end_factor = 1.0, int64_t total_iters = 5);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  double start_factor_, end_factor_;
  int64_t total_iters_;
};

/// torch.optim.lr_scheduler.OneCycleLR's arguments.
struct OneCycleOptions {
  double max_lr = 0.1;
  int64_t total_steps = 100;
  double pct_start = 0.3;
  /// "cos" or "linear".
  std::string anneal_strategy = "cos";
  /// Cycles SGD's momentum / Adam's beta1 inversely to the rate, between these two values.
  bool cycle_momentum = true;
  double base_momentum = 0.85;
  double max_momentum = 0.95;
  double div_factor = 25.0;
  double final_div_factor = 1e4;
  bool three_phase = false;
};

/// The 1cycle policy: from max_lr / div_factor up to max_lr over pct_start of the steps, then
/// down to initial / final_div_factor. Stepping past total_steps throws, as in PyTorch.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, OneCycleOptions options);

 protected:
  double lr_at(size_t g, int64_t e) const override;
  void after_step(int64_t e) override;

 private:
  struct Phase {
    double end_step;
    int start_lr, end_lr;  // which rate of the group: 0 = initial, 1 = max, 2 = min
    double start_momentum, end_momentum;
  };
  double anneal(double start, double end, double pct) const;
  /// The phase of step e and how far into it e is.
  std::pair<const Phase*, double> locate(int64_t e) const;
  double group_lr(size_t g, int which) const;

  OneCycleOptions o_;
  std::vector<Phase> phases_;
  std::vector<double> max_lrs_, min_lrs_;
};

/// Linear warm-up from start_factor * base to base over warmup_steps, then cosine decay to
/// eta_min at total_steps (and eta_min after). With start_factor 0 and eta_min 0 this is
/// Hugging Face's get_cosine_schedule_with_warmup.
class WarmupCosine : public LRScheduler {
 public:
  WarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double eta_min = 0.0,
               double start_factor = 0.0);

 protected:
  double lr_at(size_t g, int64_t e) const override;

 private:
  int64_t warmup_steps_, total_steps_;
  double eta_min_, start_factor_;
};

}  // namespace ember::optim
