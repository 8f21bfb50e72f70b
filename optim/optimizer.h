#pragma once
// Optimizer: the base of SGD, Adam and AdamW. It owns the parameter groups (each with its own
// options) and the per-parameter state, and saves both so that training can resume exactly.
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace ember::optim {

/// Everything an optimizer remembers about one parameter; unused fields stay undefined.
struct ParamState {
  int64_t step = 0;
  Tensor exp_avg;
  Tensor exp_avg_sq;
  Tensor max_exp_avg_sq;
  Tensor momentum_buffer;
};

/// A saved optimizer: tensors named "state.<param index>.<field>" (step included, as a 0-d
/// int64) and a JSON text holding each group's options and parameter indices. Parameters are
/// numbered in group order, as in PyTorch.
struct OptimizerStateDict {
  std::vector<std::pair<std::string, Tensor>> tensors;
  std::string json;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  /// Applies one update to every parameter with a gradient (dense or row-sparse).
  virtual void step() = 0;
  /// Clears gradients: drops them when set_to_none, else zeroes them; row-sparse grads are dropped.
  void zero_grad(bool set_to_none = true);

  virtual size_t num_param_groups() const = 0;
  /// The parameters of group g.
  virtual const std::vector<Tensor>& group_params(size_t g) const = 0;
  /// The learning rate of group g (what schedulers read and write).
  virtual double lr(size_t g) const = 0;
  virtual void set_lr(size_t g, double lr) = 0;
  /// The momentum that OneCycleLR cycles (SGD's momentum, Adam's beta1); nullopt when none.
  virtual std::optional<double> momentum(size_t /*g*/) const { return std::nullopt; }
  virtual void set_momentum(size_t /*g*/, double /*m*/) {}
  /// Every parameter, in group order (the numbering the state dict uses).
  std::vector<Tensor> parameters() const;

  /// The state of parameter p, created empty on first use.
  ParamState& state(const Tensor& p) { return state_[p.impl()]; }
  /// The state of p, or null when p has none yet.
  const ParamState* find_state(const Tensor& p) const;

  /// Group options and per-parameter state, for checkpoints.
  OptimizerStateDict state_dict() const;
  /// Restores what state_dict() saved; the optimizer must have the same groups and shapes.
  void load_state_dict(const OptimizerStateDict& dict);

 protected:
  /// The options of group g as a JSON object text (without "params").
  virtual std::string group_options_json(size_t g) const = 0;
  /// Sets the options of group g from such a text.
  virtual void load_group_options_json(size_t g, const std::string& json) = 0;
  /// Throws when p is already in some group, is not a floating leaf, or is undefined.
  void check_new_param(const Tensor& p, const char* op) const;

 private:
  std::unordered_map<const TensorImpl*, ParamState> state_;
};

/// A group of parameters sharing one set of options.
template <class Options>
struct ParamGroup {
  std::vector<Tensor> params;
  Options options;
};

/// The typed part of an optimizer: the groups with their Options type.
template <class Options>
class OptimizerWithOptions : public Optimizer {
 public:
  OptimizerWithOptions(std::vector<Tensor> params, Options defaults) : defaults_(defaults) {
    add_param_group(std::move(params), defaults);
  }
  /// Adds a group that uses the defaults given at construction.
  void add_param_group(std::vector<Tensor> params) { add_param_group(std::move(params), defaults_); }
  /// Adds a group with its own options (start from defaults() to change a few fields).
  void add_param_group(std::vector<Tensor> params, Options options) {
    for (const Tensor& p : params) check_new_param(p, "add_param_group");
    for (size_t i = 0; i < params.size(); ++i)
      for (size_t j = 0; j < i; ++j)
        EMBER_CHECK(!params[i].is_same(params[j]), "add_param_group", "a parameter appears twice in the group");
    param_groups.push_back({std::move(params), options});
  }
  const Options& defaults() const { return defaults_; }

  size_t num_param_groups() const override { return param_groups.size(); }
  const std::vector<Tensor>& group_params(size_t g) const override { return param_groups.at(g).params; }
  double lr(size_t g) const override { return param_groups.at(g).options.lr; }
  void set_lr(size_t g, double lr) override { param_groups.at(g).options.lr = lr; }

  /// The groups; options may be changed between steps, as in PyTorch.
  std::vector<ParamGroup<Options>> param_groups;

 private:
  Options defaults_;
};

namespace detail {
/// The row-sparse gradient of p as (unique sorted row indices, summed rows), or nullopt when
/// p has none; duplicate rows are summed first, as torch's coalesce() does.
std::optional<std::pair<Tensor, Tensor>> coalesced_sparse_grad(const Tensor& p);
/// Writes rows[k] into p's row indices[k] in place (p keeps its storage).
void write_rows(Tensor& p, const Tensor& indices, const Tensor& rows);
/// True when p's update can run as one fused CUDA kernel (kernels/cuda/optim.h): p is on the
/// GPU and contiguous, and so is every defined tensor of `with`, in p's dtype and device.
/// Always false on the CPU, whose steps stay the op chains that match PyTorch bit for bit.
bool fusable(const Tensor& p, std::initializer_list<Tensor> with);
/// Marks p as changed in place (by a fused kernel), as in-place ops do.
void bump_version(const Tensor& p);
}  // namespace detail

}  // namespace ember::optim
