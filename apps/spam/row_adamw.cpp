#include "row_adamw.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "nn/sparse_grad.h"

namespace ember::spam {

RowSparseAdamW::RowSparseAdamW(Tensor table, std::array<double, 2> betas, double eps, double weight_decay)
    : table_(std::move(table)), betas_(betas), eps_(eps), weight_decay_(weight_decay) {
  dim_ = table_.size(1);
  exp_avg_.assign(static_cast<size_t>(table_.numel()), 0.0f);
  exp_avg_sq_.assign(static_cast<size_t>(table_.numel()), 0.0f);
}

void RowSparseAdamW::step(double lr) {
  if (!nn::has_sparse_grad(table_)) return;
  auto [indices, values] = nn::sparse_grad(table_);
  Tensor idx = indices.contiguous(), val = values.contiguous();
  ++step_;
  const auto t = static_cast<double>(step_);
  // SparseAdam's formula, as optim::AdamW applies to row-sparse gradients.
  const double step_size = lr * std::sqrt(1 - std::pow(betas_[1], t)) / (1 - std::pow(betas_[0], t));
  const auto b1 = static_cast<float>(betas_[0]), b2 = static_cast<float>(betas_[1]);
  const auto decay = static_cast<float>(1 - lr * weight_decay_);
  const auto eps = static_cast<float>(eps_), ss = static_cast<float>(step_size);
  const int64_t* rows = idx.data_ptr<int64_t>();
  const float* g = val.data_ptr<float>();
  float* w = table_.data_ptr<float>();
  const int64_t n = idx.numel(), d = dim_;
  for (int64_t k = 0; k < n; ++k) {
    const size_t base = static_cast<size_t>(rows[k] * d);
    float* p = w + base;
    float* m = exp_avg_.data() + base;
    float* v = exp_avg_sq_.data() + base;
    const float* gk = g + k * d;
    for (int64_t j = 0; j < d; ++j) {
      if (weight_decay_ != 0) p[j] *= decay;
      m[j] += (gk[j] - m[j]) * (1 - b1);
      v[j] += (gk[j] * gk[j] - v[j]) * (1 - b2);
      p[j] -= ss * m[j] / (std::sqrt(v[j]) + eps);
    }
  }
  nn::clear_sparse_grad(table_);
}

bool use_fused_row_adamw() {
  const char* v = std::getenv("EMBER_SPAM_LIBRARY_ADAM");
  return !(v && std::strcmp(v, "1") == 0);
}

}  // namespace ember::spam
