// The optimizer base: zero_grad, the state dict, and the row-sparse gradient helpers.
#include "optim/optimizer.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "kernels/kernels.h"
#include "tensor/ops.h"
#include "tensor/storage.h"
#include "tensor/tensor_impl.h"

namespace ember::optim {

using json = nlohmann::json;

void Optimizer::zero_grad(bool set_to_none) {
  for (size_t g = 0; g < num_param_groups(); ++g) {
    for (const Tensor& p : group_params(g)) {
      autograd::AutogradMeta* m = autograd::maybe_meta(p);
      if (m == nullptr) continue;
      // A sparse grad describes one batch's rows only; keeping it would re-apply old rows.
      m->sparse_grad_indices = Tensor();
      m->sparse_grad_values = Tensor();
      if (!m->grad.defined()) continue;
      if (set_to_none) {
        m->grad = Tensor();
      } else {
        NoGradGuard no_grad;
        // Detach first so zeroing does not write into a graph that create_graph built.
        m->grad = m->grad.detach();
        m->grad.zero_();
      }
    }
  }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (size_t g = 0; g < num_param_groups(); ++g)
    for (const Tensor& p : group_params(g)) out.push_back(p);
  return out;
}

const ParamState* Optimizer::find_state(const Tensor& p) const {
  auto it = state_.find(p.impl());
  return it == state_.end() ? nullptr : &it->second;
}

void Optimizer::check_new_param(const Tensor& p, const char* op) const {
  EMBER_CHECK(p.defined(), op, "an undefined tensor cannot be optimized");
  EMBER_CHECK(p.is_floating_point(), op, "can only optimize floating point tensors, got ", dtype_name(p.dtype()));
  EMBER_CHECK(p.is_leaf(), op, "can't optimize a non-leaf Tensor");
  for (size_t g = 0; g < num_param_groups(); ++g)
    for (const Tensor& q : group_params(g))
      EMBER_CHECK(!q.is_same(p), op, "some parameters appear in more than one parameter group");
}

namespace {
// The tensor fields of ParamState with their saved names.
constexpr std::pair<const char*, Tensor ParamState::*> kStateFields[] = {
    {"exp_avg", &ParamState::exp_avg},
    {"exp_avg_sq", &ParamState::exp_avg_sq},
    {"max_exp_avg_sq", &ParamState::max_exp_avg_sq},
    {"momentum_buffer", &ParamState::momentum_buffer},
};
// "state.<index>.<field>", the name of one saved state tensor.
std::string state_key(int64_t index, const char* field) {
  std::string out = "state.";
  out += std::to_string(index);
  out += '.';
  out += field;
  return out;
}
}  // namespace

OptimizerStateDict Optimizer::state_dict() const {
  OptimizerStateDict out;
  json groups = json::array();
  json state = json::object();
  int64_t index = 0;
  for (size_t g = 0; g < num_param_groups(); ++g) {
    json group = json::parse(group_options_json(g));
    json ids = json::array();
    for (const Tensor& p : group_params(g)) {
      ids.push_back(index);
      if (const ParamState* s = find_state(p)) {
        state[std::to_string(index)] = json{{"step", s->step}};
        for (const auto& [name, field] : kStateFields)
          if ((s->*field).defined())
            out.tensors.emplace_back(state_key(index, name), (s->*field).clone());
      }
      ++index;
    }
    group["params"] = ids;
    groups.push_back(group);
  }
  out.json = json{{"param_groups", groups}, {"state", state}}.dump();
  return out;
}

void Optimizer::load_state_dict(const OptimizerStateDict& dict) {
  json root;
  try {
    root = json::parse(dict.json);
  } catch (const json::exception& e) {
    ember::detail::throw_error("Optimizer::load_state_dict", "malformed JSON: ", e.what());
  }
  EMBER_CHECK(root.is_object() && root.contains("param_groups") && root["param_groups"].is_array(),
              "Optimizer::load_state_dict", "the state dict has no param_groups list");
  const json& groups = root["param_groups"];
  EMBER_CHECK(groups.size() == num_param_groups(), "Optimizer::load_state_dict",
              "loaded state dict has a different number of parameter groups (", groups.size(), " vs ",
              num_param_groups(), ")");
  for (size_t g = 0; g < groups.size(); ++g) {
    EMBER_CHECK(groups[g].contains("params") && groups[g]["params"].size() == group_params(g).size(),
                "Optimizer::load_state_dict",
                "loaded state dict contains a parameter group that doesn't match the size of optimizer's group ", g);
  }
  std::map<std::string, Tensor> tensors(dict.tensors.begin(), dict.tensors.end());
  const json state = root.value("state", json::object());
  std::unordered_map<const TensorImpl*, ParamState> fresh;
  int64_t index = 0;
  try {
    for (size_t g = 0; g < groups.size(); ++g) {
      json options = groups[g];
      options.erase("params");
      load_group_options_json(g, options.dump());
      for (const Tensor& p : group_params(g)) {
        const int64_t i = index++;
        const std::string key = std::to_string(i);
        if (!state.contains(key)) continue;
        ParamState s;
        s.step = state[key].value("step", int64_t{0});
        for (const auto& [name, field] : kStateFields) {
          auto it = tensors.find(state_key(i, name));
          if (it == tensors.end()) continue;
          EMBER_CHECK(it->second.sizes() == p.sizes(), "Optimizer::load_state_dict", "state ", it->first,
                      " has shape ", shape_text(it->second.sizes()), " but the parameter has ",
                      shape_text(p.sizes()));
          s.*field = it->second.to(p.options()).clone();
        }
        fresh[p.impl()] = std::move(s);
      }
    }
  } catch (const json::exception& e) {
    ember::detail::throw_error("Optimizer::load_state_dict", "bad value in state dict: ", e.what());
  }
  state_ = std::move(fresh);
}

namespace detail {

std::optional<std::pair<Tensor, Tensor>> coalesced_sparse_grad(const Tensor& p) {
  const autograd::AutogradMeta* m = autograd::maybe_meta(p);
  if (m == nullptr || !m->sparse_grad_indices.defined() || !m->sparse_grad_values.defined()) return std::nullopt;
  const Tensor& idx = m->sparse_grad_indices;
  const Tensor& val = m->sparse_grad_values;
  EMBER_CHECK(idx.dim() == 1 && idx.dtype() == kInt64, "optimizer", "sparse grad indices must be 1-D int64, got ",
              shape_text(idx.sizes()), " ", dtype_name(idx.dtype()));
  EMBER_CHECK(p.dim() >= 1 && val.dim() == p.dim() && val.size(0) == idx.size(0), "optimizer",
              "sparse grad values ", shape_text(val.sizes()), " do not match indices ", shape_text(idx.sizes()),
              " and parameter ", shape_text(p.sizes()));
  for (int64_t d = 1; d < p.dim(); ++d)
    EMBER_CHECK(val.size(d) == p.size(d), "optimizer", "sparse grad values ", shape_text(val.sizes()),
                " do not match parameter rows of ", shape_text(p.sizes()));
  // The fused GPU steps read the rows through a raw pointer: rows left on the host beside a
  // GPU parameter would be dereferenced on the device (an illegal address), not refused.
  EMBER_CHECK(idx.device() == p.device() && val.device() == p.device(), "optimizer", "sparse grad indices (",
              idx.device(), ") and values (", val.device(), ") must be on the parameter's device (", p.device(), ")");
  NoGradGuard no_grad;
  // Rows vouched for when they were stored (embedding_bag's backward): no copy to the host,
  // which on a GPU would wait for the device once per parameter and step.
  if (autograd::sparse_rows_checked(*m)) return std::make_pair(idx, val.to(p.dtype()));
  Tensor host = idx.cpu().contiguous();
  const int64_t* raw = host.data_ptr<int64_t>();
  const int64_t n = host.numel();
  const int64_t rows = p.size(0);
  bool sorted_unique = true;
  for (int64_t k = 0; k < n; ++k) {
    EMBER_CHECK(raw[k] >= 0 && raw[k] < rows, "optimizer", "sparse grad row ", raw[k],
                " is out of range for a parameter with ", rows, " rows");
    sorted_unique = sorted_unique && (k == 0 || raw[k - 1] < raw[k]);
  }
  if (sorted_unique) return std::make_pair(idx, val.to(p.dtype()));  // the usual case: nothing to merge
  return coalesce_rows(idx, val.to(p.dtype()));
}

bool fusable(const Tensor& p, std::initializer_list<Tensor> with) {
  if (!kernels::kWithCuda || p.device().is_cpu() || !p.is_contiguous() || !p.is_floating_point()) return false;
  for (const Tensor& t : with)
    if (t.defined() && (t.device() != p.device() || t.dtype() != p.dtype() || !t.is_contiguous())) return false;
  return true;
}

void bump_version(const Tensor& p) { p.impl()->storage->bump_version(); }

void write_rows(Tensor& p, const Tensor& indices, const Tensor& rows) {
  NoGradGuard no_grad;
  index_copy_(p, 0, indices, rows);
}

}  // namespace detail
}  // namespace ember::optim
