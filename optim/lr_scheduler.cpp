// The schedulers' closed forms (PyTorch's _get_closed_form_lr) and OneCycleLR's phases.
#include "optim/lr_scheduler.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numbers>

namespace ember::optim {

using json = nlohmann::json;

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
  ++last_epoch_;
  last_lr_.clear();
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) {
    const double lr = lr_at(g, last_epoch_);
    optimizer_.set_lr(g, lr);
    last_lr_.push_back(lr);
  }
  after_step(last_epoch_);
}

std::string LRScheduler::state_dict() const {
  return json{{"last_epoch", last_epoch_}, {"base_lrs", base_lrs_}, {"last_lr", last_lr_}}.dump();
}

void LRScheduler::load_state_dict(const std::string& text) {
  try {
    const json j = json::parse(text);
    auto base = j.at("base_lrs").get<std::vector<double>>();
    EMBER_CHECK(base.size() == base_lrs_.size(), "LRScheduler::load_state_dict", "saved scheduler has ", base.size(),
                " groups, the optimizer has ", base_lrs_.size());
    last_epoch_ = j.at("last_epoch").get<int64_t>();
    base_lrs_ = std::move(base);
    last_lr_ = j.at("last_lr").get<std::vector<double>>();
  } catch (const json::exception& e) {
    ember::detail::throw_error("LRScheduler::load_state_dict", "malformed scheduler state: ", e.what());
  }
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  EMBER_CHECK(step_size > 0, "StepLR", "step_size must be positive, got ", step_size);
  initial_step();
}
double StepLR::lr_at(size_t g, int64_t e) const {
  return base_lrs_[g] * std::pow(gamma_, static_cast<double>(e / step_size_));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler(optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  EMBER_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "MultiStepLR", "milestones must be increasing");
  initial_step();
}
double MultiStepLR::lr_at(size_t g, int64_t e) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), e) - milestones_.begin();
  return base_lrs_[g] * std::pow(gamma_, static_cast<double>(passed));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler(optimizer), gamma_(gamma) {
  initial_step();
}
double ExponentialLR::lr_at(size_t g, int64_t e) const { return base_lrs_[g] * std::pow(gamma_, static_cast<double>(e)); }

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min)
    : LRScheduler(optimizer), t_max_(T_max), eta_min_(eta_min) {
  EMBER_CHECK(T_max > 0, "CosineAnnealingLR", "T_max must be positive, got ", T_max);
  initial_step();
}
double CosineAnnealingLR::lr_at(size_t g, int64_t e) const {
  const double c = std::cos(std::numbers::pi * static_cast<double>(e) / static_cast<double>(t_max_));
  return eta_min_ + (base_lrs_[g] - eta_min_) * (1 + c) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, double start_factor, double end_factor, int64_t total_iters)
    : LRScheduler(optimizer), start_factor_(start_factor), end_factor_(end_factor), total_iters_(total_iters) {
  EMBER_CHECK(start_factor > 0 && start_factor <= 1, "LinearLR",
              "Starting multiplicative factor expected to be greater than 0 and less or equal to 1, got ",
              start_factor);
  EMBER_CHECK(end_factor >= 0 && end_factor <= 1, "LinearLR",
              "Ending multiplicative factor expected to be between 0 and 1, got ", end_factor);
  EMBER_CHECK(total_iters > 0, "LinearLR", "total_iters must be positive, got ", total_iters);
  initial_step();
}
double LinearLR::lr_at(size_t g, int64_t e) const {
  const double done = static_cast<double>(std::min(total_iters_, e)) / static_cast<double>(total_iters_);
  return base_lrs_[g] * (start_factor_ + (end_factor_ - start_factor_) * done);
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, OneCycleOptions o) : LRScheduler(optimizer), o_(std::move(o)) {
  EMBER_CHECK(o_.total_steps > 0, "OneCycleLR", "Expected positive integer total_steps, but got ", o_.total_steps);
  EMBER_CHECK(o_.pct_start >= 0 && o_.pct_start <= 1, "OneCycleLR", "Expected float between 0 and 1 pct_start, but got ",
              o_.pct_start);
  EMBER_CHECK(o_.anneal_strategy == "cos" || o_.anneal_strategy == "linear", "OneCycleLR",
              "anneal_strategy must be one of 'cos' or 'linear', instead got ", o_.anneal_strategy);
  const double total = static_cast<double>(o_.total_steps);
  const double bm = o_.base_momentum, mm = o_.max_momentum;
  if (o_.three_phase) {
    phases_ = {{o_.pct_start * total - 1, 0, 1, mm, bm},
               {2 * o_.pct_start * total - 2, 1, 0, bm, mm},
               {total - 1, 0, 2, mm, mm}};
  } else {
    phases_ = {{o_.pct_start * total - 1, 0, 1, mm, bm}, {total - 1, 1, 2, bm, mm}};
  }
  for (size_t g = 0; g < optimizer.num_param_groups(); ++g) {
    const double initial = o_.max_lr / o_.div_factor;
    base_lrs_[g] = initial;
    max_lrs_.push_back(o_.max_lr);
    min_lrs_.push_back(initial / o_.final_div_factor);
    if (o_.cycle_momentum) {
      EMBER_CHECK(optimizer.momentum(g).has_value(), "OneCycleLR",
                  "optimizer must support momentum or beta1 with `cycle_momentum` option enabled");
      optimizer.set_momentum(g, o_.max_momentum);
    }
  }
  initial_step();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (o_.anneal_strategy == "linear") return (end - start) * pct + start;
  const double cos_out = std::cos(std::numbers::pi * pct) + 1;
  return end + (start - end) / 2.0 * cos_out;
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::locate(int64_t e) const {
  EMBER_CHECK(e <= o_.total_steps, "OneCycleLR", "Tried to step ", e, " times. The specified number of total steps is ",
              o_.total_steps);
  const double step = static_cast<double>(e);
  double start_step = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& ph = phases_[i];
    if (step <= ph.end_step || i + 1 == phases_.size())
      return {&ph, (step - start_step) / (ph.end_step - start_step)};
    start_step = ph.end_step;
  }
  return {&phases_.back(), 1.0};  // unreachable: the last phase always matches
}

double OneCycleLR::group_lr(size_t g, int which) const {
  return which == 0 ? base_lrs_[g] : (which == 1 ? max_lrs_[g] : min_lrs_[g]);
}

double OneCycleLR::lr_at(size_t g, int64_t e) const {
  auto [phase, pct] = locate(e);
  return anneal(group_lr(g, phase->start_lr), group_lr(g, phase->end_lr), pct);
}

void OneCycleLR::after_step(int64_t e) {
  if (!o_.cycle_momentum) return;
  auto [phase, pct] = locate(e);
  const double m = anneal(phase->start_momentum, phase->end_momentum, pct);
  for (size_t g = 0; g < optimizer_.num_param_groups(); ++g) optimizer_.set_momentum(g, m);
}

WarmupCosine::WarmupCosine(Optimizer& optimizer, int64_t warmup_steps, int64_t total_steps, double eta_min,
                           double start_factor)
    : LRScheduler(optimizer),
      warmup_steps_(warmup_steps),
      total_steps_(total_steps),
      eta_min_(eta_min),
      start_factor_(start_factor) {
  EMBER_CHECK(warmup_steps >= 0 && total_steps > warmup_steps, "WarmupCosine",
              "need 0 <= warmup_steps < total_steps, got ", warmup_steps, " and ", total_steps);
  initial_step();
}
double WarmupCosine::lr_at(size_t g, int64_t e) const {
  if (e < warmup_steps_) {
    const double frac = static_cast<double>(e) / static_cast<double>(warmup_steps_);
    return base_lrs_[g] * (start_factor_ + (1 - start_factor_) * frac);
  }
  const double progress = std::min(1.0, static_cast<double>(e - warmup_steps_) /
                                            static_cast<double>(total_steps_ - warmup_steps_));
  return eta_min_ + (base_lrs_[g] - eta_min_) * 0.5 * (1 + std::cos(std::numbers::pi * progress));
}

}  // namespace ember::optim
