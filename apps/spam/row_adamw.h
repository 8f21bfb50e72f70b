#pragma once
// A fused lazy AdamW step for one embedding table with a row-sparse gradient.
//
// Why not only optim::AdamW: its sparse path (same formula, see optim/adam.h) writes each
// updated row back with a select + copy_ per row, which costs ~25x the arithmetic on this
// workload (thousands of rows of 16 floats per step). This step does the same math in one
// pass over the raw rows; the trainer runs it first and clears the gradient, so the ember
// optimizer then updates only the dense parameters. EMBER_SPAM_LIBRARY_ADAM=1 in the
// environment skips it (the library then updates the table too), to compare the two.
#include <array>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace ember::spam {

class RowSparseAdamW {
 public:
  RowSparseAdamW(Tensor table, std::array<double, 2> betas = {0.9, 0.999}, double eps = 1e-8,
                 double weight_decay = 0.0);
  /// Applies and clears the table's row-sparse gradient; a no-op when it has none.
  void step(double lr);
  int64_t steps() const { return step_; }

 private:
  Tensor table_;
  std::vector<float> exp_avg_, exp_avg_sq_;
  std::array<double, 2> betas_;
  double eps_, weight_decay_;
  int64_t step_ = 0, dim_ = 0;
};

/// True unless EMBER_SPAM_LIBRARY_ADAM=1 asks for optim::AdamW's own sparse path.
bool use_fused_row_adamw();

}  // namespace ember::spam
