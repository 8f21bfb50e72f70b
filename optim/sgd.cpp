// SGD's update, written as torch.optim.SGD's _single_tensor_sgd with ember ops.
#include "optim/sgd.h"

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "kernels/cuda/optim.h"
#include "tensor/ops.h"

namespace ember::optim {

using json = nlohmann::json;

namespace {
void check_options(const SGDOptions& o) {
  EMBER_CHECK(o.lr >= 0, "SGD", "Invalid learning rate: ", o.lr);
  EMBER_CHECK(o.momentum >= 0, "SGD", "Invalid momentum value: ", o.momentum);
  EMBER_CHECK(o.weight_decay >= 0, "SGD", "Invalid weight_decay value: ", o.weight_decay);
  EMBER_CHECK(!o.nesterov || (o.momentum > 0 && o.dampening == 0), "SGD",
              "Nesterov momentum requires a momentum and zero dampening");
}
kernels::cuda::SgdArgs fused_args(const SGDOptions& o, bool first) {
  return {o.lr, o.momentum, o.dampening, o.weight_decay, o.nesterov, o.maximize, first};
}
}  // namespace

SGD::SGD(std::vector<Tensor> params, SGDOptions options) : OptimizerWithOptions(std::move(params), options) {
  check_options(options);
}

void SGD::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups) {
    const SGDOptions& o = group.options;
    check_options(o);
    for (Tensor p : group.params) {
      if (auto sparse = detail::coalesced_sparse_grad(p)) {
        auto& [rows, values] = *sparse;
        ParamState& st = state(p);
        ++st.step;
        // The buffer too: one left on another device or dtype (Module::to after a step) would
        // be read through a raw pointer as p's dtype on the GPU.
        if (detail::fusable(p, {values.contiguous(), st.momentum_buffer})) {
          const bool first = o.momentum != 0 && !st.momentum_buffer.defined();
          if (first) st.momentum_buffer = zeros_like(p);
          kernels::cuda::sgd_sparse_step(p, rows.contiguous(), values.contiguous(), st.momentum_buffer,
                                         fused_args(o, first));
          detail::bump_version(p);
          continue;
        }
        Tensor g = o.maximize ? values.neg() : values;
        Tensor p_rows = p.index_select(0, rows);
        if (o.weight_decay != 0) g = g.add(p_rows, o.weight_decay);
        if (o.momentum != 0) {
          Tensor buf_rows;
          if (!st.momentum_buffer.defined()) {
            // Rows never touched keep a zero buffer; a row's first gradient seeds it, as dense SGD does.
            st.momentum_buffer = zeros_like(p);
            buf_rows = g.clone();
          } else {
            buf_rows = st.momentum_buffer.index_select(0, rows);
            buf_rows.mul_(o.momentum).add_(g, 1 - o.dampening);
          }
          detail::write_rows(st.momentum_buffer, rows, buf_rows);
          g = o.nesterov ? g.add(buf_rows, o.momentum) : buf_rows;
        }
        p_rows.add_(g, -o.lr);
        detail::write_rows(p, rows, p_rows);
        continue;
      }
      if (!p.grad().defined()) continue;
      ParamState& st = state(p);
      ++st.step;
      if (detail::fusable(p, {p.grad(), st.momentum_buffer})) {
        const bool first = o.momentum != 0 && !st.momentum_buffer.defined();
        if (first) st.momentum_buffer = empty_like(p);
        kernels::cuda::sgd_step(p, p.grad(), st.momentum_buffer, fused_args(o, first));
        detail::bump_version(p);
        continue;
      }
      Tensor g = o.maximize ? p.grad().neg() : p.grad();
      if (o.weight_decay != 0) g = g.add(p, o.weight_decay);
      if (o.momentum != 0) {
        Tensor& buf = st.momentum_buffer;
        if (!buf.defined()) {
          buf = g.clone().detach();
        } else {
          buf.mul_(o.momentum).add_(g, 1 - o.dampening);
        }
        g = o.nesterov ? g.add(buf, o.momentum) : buf;
      }
      p.add_(g, -o.lr);
    }
  }
}

std::string SGD::group_options_json(size_t g) const {
  const SGDOptions& o = param_groups.at(g).options;
  return json{{"lr", o.lr},
              {"momentum", o.momentum},
              {"dampening", o.dampening},
              {"weight_decay", o.weight_decay},
              {"nesterov", o.nesterov},
              {"maximize", o.maximize}}
      .dump();
}

void SGD::load_group_options_json(size_t g, const std::string& text) {
  const json j = json::parse(text);
  SGDOptions& o = param_groups.at(g).options;
  o.lr = j.at("lr").get<double>();
  o.momentum = j.at("momentum").get<double>();
  o.dampening = j.at("dampening").get<double>();
  o.weight_decay = j.at("weight_decay").get<double>();
  o.nesterov = j.at("nesterov").get<bool>();
  o.maximize = j.at("maximize").get<bool>();
}

}  // namespace ember::optim
