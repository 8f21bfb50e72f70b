// Optimizer, scheduler and clipping trajectories against PyTorch's, read from
// tests/fixtures/optim_reference.json (made by scripts/make_optim_reference.py).
#include <cmath>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>

#include "autograd/autograd_meta.h"
#include <doctest/doctest.h>

#include <ember.h>

#include "optim/optim.h"

using namespace ember;
using json = nlohmann::json;

namespace {

std::vector<double> values(const Tensor& t) {
  Tensor c = t.detach().to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

// Elementwise |got - want| <= atol + rtol * |want|; reports the first mismatch.
void check_close(const std::vector<double>& got, const std::vector<double>& want, double atol, double rtol,
                 const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": size " << got.size() << " vs " << want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::fabs(got[i] - want[i]) > atol + rtol * std::fabs(want[i])) {
      FAIL_CHECK(what << ": element " << i << " got " << got[i] << " want " << want[i]);
      return;
    }
  }
}

const json& reference() {
  static const json j = [] {
    std::ifstream in(std::string(EMBER_SOURCE_DIR) + "/tests/fixtures/optim_reference.json");
    REQUIRE_MESSAGE(in.good(), "missing tests/fixtures/optim_reference.json");
    return json::parse(in);
  }();
  return j;
}

std::vector<double> flat(const json& j) {
  std::vector<double> out;
  if (j.is_array()) {
    for (const json& e : j) {
      auto sub = flat(e);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else {
    out.push_back(j.get<double>());
  }
  return out;
}

Tensor from_json(const json& j, const Shape& shape) {
  auto v = flat(j);
  return tensor(std::vector<float>(v.begin(), v.end())).reshape(shape);
}

// 1e-6 relative, with a tiny absolute floor for values that pass through zero.
void check_matches(const Tensor& got, const json& want, const std::string& what) {
  check_close(values(got), flat(want), 1e-7, 1e-6, what);
}

struct Problem {
  Tensor a, b, ta, tb, wa, wb;
  Problem() {
    const json& p = reference()["problem"];
    a = from_json(p["a0"], {2, 3}).requires_grad_(true);
    b = from_json(p["b0"], {3}).requires_grad_(true);
    ta = from_json(p["ta"], {2, 3});
    tb = from_json(p["tb"], {3});
    wa = from_json(p["wa"], {2, 3});
    wb = from_json(p["wb"], {3});
  }
  Tensor loss() const { return (wa * (a - ta) * (a - ta)).sum() + (wb * (b - tb) * (b - tb)).sum(); }
};

template <class Options>
void common_adam_options(Options& o, const json& j) {
  o.lr = j.at("lr").get<double>();
  if (j.contains("betas")) o.betas = {j["betas"][0].get<double>(), j["betas"][1].get<double>()};
  o.eps = j.value("eps", o.eps);
  o.weight_decay = j.value("weight_decay", o.weight_decay);
  o.amsgrad = j.value("amsgrad", false);
  o.maximize = j.value("maximize", false);
}

std::unique_ptr<optim::Optimizer> make_optimizer(const json& o, std::vector<Tensor> params) {
  const std::string type = o.at("type");
  if (type == "SGD") {
    optim::SGDOptions s{.lr = o.at("lr").get<double>(),
                        .momentum = o.value("momentum", 0.0),
                        .dampening = o.value("dampening", 0.0),
                        .weight_decay = o.value("weight_decay", 0.0),
                        .nesterov = o.value("nesterov", false),
                        .maximize = o.value("maximize", false)};
    return std::make_unique<optim::SGD>(std::move(params), s);
  }
  if (type == "Adam") {
    optim::AdamOptions a;
    common_adam_options(a, o);
    return std::make_unique<optim::Adam>(std::move(params), a);
  }
  optim::AdamWOptions a;
  common_adam_options(a, o);
  return std::make_unique<optim::AdamW>(std::move(params), a);
}

}  // namespace

TEST_CASE("optim: dense trajectories match PyTorch") {
  for (const char* name : {"sgd_plain", "sgd_momentum_nesterov_wd", "sgd_momentum_dampening", "sgd_maximize",
                           "adam_plain", "adam_amsgrad_wd", "adam_maximize_lowbeta", "adamw", "adamw_amsgrad"}) {
    CAPTURE(name);
    const json& c = reference()["optimizers"][name];
    Problem p;
    auto opt = make_optimizer(c["options"], {p.a, p.b});
    const void* storage = p.a.data_ptr<float>();
    int step = 0;
    for (const json& want : c["trajectory"]) {
      opt->zero_grad();
      p.loss().backward();
      opt->step();
      check_matches(p.a, want["a"], std::string(name) + " a, step " + std::to_string(++step));
      check_matches(p.b, want["b"], std::string(name) + " b, step " + std::to_string(step));
    }
    CHECK(p.a.data_ptr<float>() == storage);  // updated in place
    CHECK(p.a.is_leaf());
    CHECK(p.a.requires_grad());
  }
}

TEST_CASE("optim: param groups with their own options match PyTorch") {
  const json& c = reference()["optimizers"]["sgd_groups"];
  Problem p;
  optim::SGD opt({p.a}, {.lr = 0.1});
  opt.add_param_group({p.b}, {.lr = 0.01, .momentum = 0.9});
  REQUIRE(opt.num_param_groups() == 2);
  for (const json& want : c["trajectory"]) {
    opt.zero_grad();
    p.loss().backward();
    opt.step();
    check_matches(p.a, want["a"], "group a");
    check_matches(p.b, want["b"], "group b");
  }
}

TEST_CASE("optim: row-sparse gradients match SparseAdam and sparse SGD") {
  const json& prob = reference()["problem"];
  for (const char* name : {"sparse_adam", "sparse_sgd"}) {
    CAPTURE(name);
    const json& c = reference()["optimizers"][name];
    Tensor e = from_json(prob["e0"], {5, 3}).requires_grad_(true);
    auto opt = make_optimizer(c["options"], {e});
    size_t k = 0;
    for (const json& want : c["trajectory"]) {
      const json& g = prob["sparse_grads"][k++];
      opt->zero_grad();
      auto& meta = autograd::meta_of(e);
      meta.sparse_grad_indices = tensor(g["rows"].get<std::vector<int64_t>>());
      meta.sparse_grad_values = from_json(g["values"], {-1, 3});
      opt->step();
      check_matches(e, want["e"], std::string(name) + " step " + std::to_string(k));
    }
    CHECK_FALSE(e.grad().defined());
  }
}

TEST_CASE("optim: sparse Adam leaves rows without gradient untouched") {
  Tensor e = ones({4, 2}).requires_grad_(true);
  optim::Adam opt({e}, {.lr = 0.1});
  auto& meta = autograd::meta_of(e);
  meta.sparse_grad_indices = tensor(std::vector<int64_t>{2});
  meta.sparse_grad_values = ones({1, 2});
  opt.step();
  auto v = values(e);
  CHECK(v[0] == 1.0);
  CHECK(v[2] == 1.0);
  CHECK(v[4] < 1.0);
  CHECK(v[6] == 1.0);
  const optim::ParamState* st = opt.find_state(e);
  REQUIRE(st != nullptr);
  CHECK(values(st->exp_avg)[0] == 0.0);
  CHECK(values(st->exp_avg)[4] != 0.0);
  opt.zero_grad();
  CHECK_FALSE(meta.sparse_grad_indices.defined());
}

namespace {
std::unique_ptr<optim::LRScheduler> make_scheduler(const std::string& name, optim::Optimizer& opt) {
  using namespace optim;
  if (name == "step_lr") return std::make_unique<StepLR>(opt, 3, 0.5);
  if (name == "multistep_lr") return std::make_unique<MultiStepLR>(opt, std::vector<int64_t>{2, 5, 9}, 0.3);
  if (name == "exponential_lr") return std::make_unique<ExponentialLR>(opt, 0.9);
  if (name == "cosine_annealing_lr") return std::make_unique<CosineAnnealingLR>(opt, 8, 0.001);
  if (name == "linear_lr") return std::make_unique<LinearLR>(opt, 0.25, 1.0, 4);
  if (name == "one_cycle_cos") return std::make_unique<OneCycleLR>(opt, OneCycleOptions{.max_lr = 0.5, .total_steps = 12});
  if (name == "one_cycle_linear_three_phase")
    return std::make_unique<OneCycleLR>(opt, OneCycleOptions{.max_lr = 0.4,
                                                             .total_steps = 12,
                                                             .pct_start = 0.25,
                                                             .anneal_strategy = "linear",
                                                             .div_factor = 10.0,
                                                             .final_div_factor = 100.0,
                                                             .three_phase = true});
  if (name == "one_cycle_adam") return std::make_unique<OneCycleLR>(opt, OneCycleOptions{.max_lr = 0.3, .total_steps = 12});
  if (name == "warmup_cosine") return std::make_unique<WarmupCosine>(opt, 3, 10);
  if (name == "warmup_cosine_eta_min") return std::make_unique<WarmupCosine>(opt, 3, 10, 0.002);
  FAIL("unknown scheduler " << name);
  return nullptr;
}
}  // namespace

TEST_CASE("optim: schedulers match PyTorch (lr and cycled momentum)") {
  for (auto it = reference()["schedulers"].begin(); it != reference()["schedulers"].end(); ++it) {
    const std::string name = it.key();
    CAPTURE(name);
    Tensor x = zeros({2}).requires_grad_(true), y = zeros({3}).requires_grad_(true);
    std::unique_ptr<optim::Optimizer> opt;
    if (name == "one_cycle_adam") {
      auto adam = std::make_unique<optim::Adam>(std::vector<Tensor>{x}, optim::AdamOptions{.lr = 0.1});
      adam->add_param_group({y}, {.lr = 0.05});
      opt = std::move(adam);
    } else {
      auto sgd = std::make_unique<optim::SGD>(std::vector<Tensor>{x}, optim::SGDOptions{.lr = 0.1, .momentum = 0.9});
      sgd->add_param_group({y}, {.lr = 0.05, .momentum = 0.9});
      opt = std::move(sgd);
    }
    auto sched = make_scheduler(name, *opt);
    const json& lrs = it.value()["lr"];
    const json& moms = it.value()["momentum"];
    for (size_t s = 0; s < lrs.size(); ++s) {
      if (s > 0) {
        opt->step();
        sched->step();
      }
      check_close(sched->get_last_lr(), flat(lrs[s]), 1e-12, 1e-6, name + " lr at epoch " + std::to_string(s));
      for (size_t g = 0; g < 2; ++g) {
        CHECK(opt->lr(g) == sched->get_last_lr()[g]);
        CHECK(std::abs(*opt->momentum(g) - moms[s][g].get<double>()) < 1e-12);
      }
    }
  }
}

TEST_CASE("optim: clip_grad_norm_ and clip_grad_value_ match PyTorch") {
  const json& clip = reference()["clip"];
  for (const char* name : {"l2", "l1", "inf", "no_clip"}) {
    CAPTURE(name);
    const json& c = clip[name];
    Problem p;
    p.loss().backward();
    const double norm_type =
        c["norm_type"].is_string() ? std::numeric_limits<double>::infinity() : c["norm_type"].get<double>();
    const double total = optim::clip_grad_norm_({p.a, p.b}, c["max_norm"].get<double>(), norm_type);
    CHECK(total == doctest::Approx(c["total_norm"].get<double>()).epsilon(1e-6));
    check_matches(p.a.grad(), c["a_grad"], std::string(name) + " a.grad");
    check_matches(p.b.grad(), c["b_grad"], std::string(name) + " b.grad");
  }
  Problem p;
  p.loss().backward();
  optim::clip_grad_value_({p.a, p.b}, clip["value"]["clip_value"].get<double>());
  check_matches(p.a.grad(), clip["value"]["a_grad"], "clip value a");
  check_matches(p.b.grad(), clip["value"]["b_grad"], "clip value b");
}
