// Adam and AdamW: torch.optim.Adam's _single_tensor_adam and SparseAdam, with ember ops.
#include "optim/adam.h"

#include <cmath>
#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "kernels/cuda/optim.h"
#include "tensor/ops.h"

namespace ember::optim {

using json = nlohmann::json;

namespace {

void check_options(double lr, std::array<double, 2> betas, double eps, double weight_decay, const char* op) {
  EMBER_CHECK(lr >= 0, op, "Invalid learning rate: ", lr);
  EMBER_CHECK(eps >= 0, op, "Invalid epsilon value: ", eps);
  EMBER_CHECK(betas[0] >= 0 && betas[0] < 1, op, "Invalid beta parameter at index 0: ", betas[0]);
  EMBER_CHECK(betas[1] >= 0 && betas[1] < 1, op, "Invalid beta parameter at index 1: ", betas[1]);
  EMBER_CHECK(weight_decay >= 0, op, "Invalid weight_decay value: ", weight_decay);
}

// exp_avg.lerp_(g, w) with PyTorch's kernel: the two formulas keep the result exact at w = 0 and 1.
void lerp_(Tensor& m, const Tensor& g, double w) {
  if (std::abs(w) < 0.5) {
    m.add_(g.sub(m), w);
  } else {
    // 1 - w is formed in the tensor's precision, as the kernel does.
    const double one_minus = m.dtype() == kFloat32 ? static_cast<double>(1.0f - static_cast<float>(w)) : 1.0 - w;
    m.copy_(g.sub(g.sub(m).mul(one_minus)));
  }
}

void ensure_state(ParamState& st, const Tensor& p, bool amsgrad) {
  if (!st.exp_avg.defined()) st.exp_avg = zeros_like(p);
  if (!st.exp_avg_sq.defined()) st.exp_avg_sq = zeros_like(p);
  if (amsgrad && !st.max_exp_avg_sq.defined()) st.max_exp_avg_sq = zeros_like(p);
}

// SparseAdam's lazy update of the rows in a coalesced sparse gradient.
void sparse_update(Tensor& p, ParamState& st, const Tensor& rows, const Tensor& values, double lr,
                   std::array<double, 2> betas, double eps, double weight_decay, bool amsgrad, bool maximize,
                   bool decoupled) {
  Tensor g = maximize ? values.neg() : values;
  Tensor p_rows = p.index_select(0, rows);
  if (weight_decay != 0) {
    if (decoupled) p_rows.mul_(1 - lr * weight_decay);
    else g = g.add(p_rows, weight_decay);
  }
  Tensor m_old = st.exp_avg.index_select(0, rows);
  Tensor v_old = st.exp_avg_sq.index_select(0, rows);
  Tensor m_update = g.sub(m_old).mul(1 - betas[0]);
  Tensor v_update = g.pow(2).sub(v_old).mul(1 - betas[1]);
  Tensor m_new = m_update.add(m_old);
  Tensor v_new = v_update.add(v_old);
  detail::write_rows(st.exp_avg, rows, m_new);
  detail::write_rows(st.exp_avg_sq, rows, v_new);
  Tensor second = v_new;
  if (amsgrad) {
    second = maximum(st.max_exp_avg_sq.index_select(0, rows), v_new);
    detail::write_rows(st.max_exp_avg_sq, rows, second);
  }
  const double t = static_cast<double>(st.step);
  const double bias_correction1 = 1 - std::pow(betas[0], t);
  const double bias_correction2 = 1 - std::pow(betas[1], t);
  const double step_size = lr * std::sqrt(bias_correction2) / bias_correction1;
  Tensor denom = second.sqrt().add(eps);
  p_rows.add_(m_new.div(denom).mul(-step_size));
  detail::write_rows(p, rows, p_rows);
}

}  // namespace

namespace detail {

void adam_update(Optimizer& opt, const std::vector<Tensor>& params, double lr, std::array<double, 2> betas, double eps,
                 double weight_decay, bool amsgrad, bool maximize, bool decoupled) {
  check_options(lr, betas, eps, weight_decay, decoupled ? "AdamW" : "Adam");
  NoGradGuard no_grad;
  for (Tensor p : params) {
    auto sparse = coalesced_sparse_grad(p);
    if (!sparse && !p.grad().defined()) continue;
    ParamState& st = opt.state(p);
    ensure_state(st, p, amsgrad);
    ++st.step;
    if (!p.device().is_cpu()) {  // one fused kernel per parameter on the GPU
      const double steps = static_cast<double>(st.step);
      const double bc1 = 1 - std::pow(betas[0], steps), bc2 = 1 - std::pow(betas[1], steps);
      kernels::cuda::AdamArgs fused{lr, betas[0], betas[1], eps, weight_decay, 0, std::sqrt(bc2), amsgrad, maximize,
                                    decoupled};
      if (sparse && fusable(p, {sparse->second.contiguous(), st.exp_avg, st.exp_avg_sq, st.max_exp_avg_sq})) {
        fused.step_size = lr * std::sqrt(bc2) / bc1;
        kernels::cuda::adam_sparse_step(p, sparse->first.contiguous(), sparse->second.contiguous(), st.exp_avg,
                                        st.exp_avg_sq, st.max_exp_avg_sq, fused);
        bump_version(p);
        continue;
      }
      if (!sparse && fusable(p, {p.grad(), st.exp_avg, st.exp_avg_sq, st.max_exp_avg_sq})) {
        fused.step_size = lr / bc1;
        kernels::cuda::adam_step(p, p.grad(), st.exp_avg, st.exp_avg_sq, st.max_exp_avg_sq, fused);
        bump_version(p);
        continue;
      }
    }
    if (sparse) {
      sparse_update(p, st, sparse->first, sparse->second, lr, betas, eps, weight_decay, amsgrad, maximize, decoupled);
      continue;
    }
    Tensor g = maximize ? p.grad().neg() : p.grad();
    if (weight_decay != 0) {
      if (decoupled) p.mul_(1 - lr * weight_decay);
      else g = g.add(p, weight_decay);
    }
    lerp_(st.exp_avg, g, 1 - betas[0]);
    // addcmul_(g, g, value) computes (value * g) * g, then adds, as PyTorch's kernel does.
    addcmul_(st.exp_avg_sq.mul_(betas[1]), g, g, 1 - betas[1]);
    const double t = static_cast<double>(st.step);
    const double bias_correction1 = 1 - std::pow(betas[0], t);
    const double bias_correction2 = 1 - std::pow(betas[1], t);
    const double step_size = lr / bias_correction1;
    const double bias_correction2_sqrt = std::sqrt(bias_correction2);
    Tensor second = st.exp_avg_sq;
    if (amsgrad) {
      st.max_exp_avg_sq.copy_(maximum(st.max_exp_avg_sq, st.exp_avg_sq));
      second = st.max_exp_avg_sq;
    }
    Tensor denom = second.sqrt().div(bias_correction2_sqrt).add_(eps);
    // addcdiv_(exp_avg, denom, value) computes (value * exp_avg) / denom, then adds.
    addcdiv_(p, st.exp_avg, denom, -step_size);
  }
}

std::string adam_options_json(double lr, std::array<double, 2> betas, double eps, double weight_decay, bool amsgrad,
                              bool maximize) {
  return json{{"lr", lr},
              {"betas", {betas[0], betas[1]}},
              {"eps", eps},
              {"weight_decay", weight_decay},
              {"amsgrad", amsgrad},
              {"maximize", maximize}}
      .dump();
}

}  // namespace detail

namespace {
template <class Options>
void load_adam_options(Options& o, const std::string& text) {
  const json j = json::parse(text);
  o.lr = j.at("lr").get<double>();
  o.betas = {j.at("betas").at(0).get<double>(), j.at("betas").at(1).get<double>()};
  o.eps = j.at("eps").get<double>();
  o.weight_decay = j.at("weight_decay").get<double>();
  o.amsgrad = j.at("amsgrad").get<bool>();
  o.maximize = j.at("maximize").get<bool>();
}
}  // namespace

Adam::Adam(std::vector<Tensor> params, AdamOptions o) : OptimizerWithOptions(std::move(params), o) {
  check_options(o.lr, o.betas, o.eps, o.weight_decay, "Adam");
}

void Adam::step() {
  for (auto& group : param_groups) {
    const AdamOptions& o = group.options;
    detail::adam_update(*this, group.params, o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize, false);
  }
}

std::string Adam::group_options_json(size_t g) const {
  const AdamOptions& o = param_groups.at(g).options;
  return detail::adam_options_json(o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize);
}

void Adam::load_group_options_json(size_t g, const std::string& text) {
  load_adam_options(param_groups.at(g).options, text);
}

AdamW::AdamW(std::vector<Tensor> params, AdamWOptions o) : OptimizerWithOptions(std::move(params), o) {
  check_options(o.lr, o.betas, o.eps, o.weight_decay, "AdamW");
}

void AdamW::step() {
  for (auto& group : param_groups) {
    const AdamWOptions& o = group.options;
    detail::adam_update(*this, group.params, o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize, true);
  }
}

std::string AdamW::group_options_json(size_t g) const {
  const AdamWOptions& o = param_groups.at(g).options;
  return detail::adam_options_json(o.lr, o.betas, o.eps, o.weight_decay, o.amsgrad, o.maximize);
}

void AdamW::load_group_options_json(size_t g, const std::string& text) {
  load_adam_options(param_groups.at(g).options, text);
}

}  // namespace ember::optim
