#pragma once
// Stochastic gradient descent with momentum, dampening, Nesterov and weight decay,
// matching torch.optim.SGD step for step.
#include "optim/optimizer.h"

namespace ember::optim {

/// torch.optim.SGD's arguments, by the same names.
struct SGDOptions {
  double lr = 1e-3;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;
  bool nesterov = false;
  bool maximize = false;
};

/// SGD. A row-sparse gradient updates only its rows: weight decay and momentum then apply to
/// those rows alone (the momentum buffer of other rows is left as it is).
class SGD : public OptimizerWithOptions<SGDOptions> {
 public:
  /// Optimizes params with options (one group); add more groups with add_param_group.
  explicit SGD(std::vector<Tensor> params, SGDOptions options = {});
  void step() override;
  std::optional<double> momentum(size_t g) const override { return param_groups.at(g).options.momentum; }
  void set_momentum(size_t g, double m) override { param_groups.at(g).options.momentum = m; }

 protected:
  std::string group_options_json(size_t g) const override;
  void load_group_options_json(size_t g, const std::string& json) override;
};

}  // namespace ember::optim
