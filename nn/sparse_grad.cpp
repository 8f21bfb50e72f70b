// Row-sparse gradient storage on a parameter's AutogradMeta (see nn/sparse_grad.h).
#include "nn/sparse_grad.h"

#include "autograd/autograd_meta.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

namespace {
// Old and new rows together, equal rows summed (coalesce_rows: the ids sorted on the host, the
// values summed where they live). The result is checked when both parts were.
void merge(autograd::AutogradMeta& m, const Tensor& indices, const Tensor& values, bool rows_checked) {
  Tensor all_idx = indices.contiguous(), all_val = values.detach();
  if (m.sparse_grad_indices.defined()) {
    rows_checked = rows_checked && autograd::sparse_rows_checked(m);
    all_idx = cat({m.sparse_grad_indices, all_idx}, 0);
    all_val = cat({m.sparse_grad_values.to(values.dtype()), all_val}, 0);
  }
  auto [rows, summed] = coalesce_rows(all_idx, all_val);
  m.sparse_grad_indices = rows;
  m.sparse_grad_values = summed;
  if (rows_checked) autograd::mark_sparse_rows_checked(m);
}
}  // namespace

bool has_sparse_grad(const Tensor& p) {
  auto* m = autograd::maybe_meta(p);
  return m != nullptr && m->sparse_grad_indices.defined();
}

std::pair<Tensor, Tensor> sparse_grad(const Tensor& p) {
  auto* m = autograd::maybe_meta(p);
  if (m == nullptr) return {};
  return {m->sparse_grad_indices, m->sparse_grad_values};
}

void clear_sparse_grad(const Tensor& p) {
  auto* m = autograd::maybe_meta(p);
  if (m == nullptr) return;
  m->sparse_grad_indices = Tensor();
  m->sparse_grad_values = Tensor();
}

void accumulate_sparse_grad(const Tensor& p, const Tensor& indices, const Tensor& values, bool rows_checked) {
  EMBER_CHECK(indices.dtype() == kInt64 && indices.dim() == 1 && values.dim() == 2 &&
                  values.size(0) == indices.size(0) && p.dim() == 2 && values.size(1) == p.size(1),
              "accumulate_sparse_grad", "expected indices int64 [n] and values [n, ", p.dim() == 2 ? p.size(1) : -1,
              "], got indices ", shape_text(indices.sizes()), " and values ", shape_text(values.sizes()));
  EMBER_CHECK(indices.device() == p.device() && values.device() == p.device(), "accumulate_sparse_grad",
              "expected indices and values on the parameter's device (", p.device(), "), got indices on ",
              indices.device(), " and values on ", values.device());
  auto& m = autograd::meta_of(p);
  // The usual case, the first gradient since zero_grad with its rows already sorted and
  // distinct (as embedding_bag's backward makes them): it is the gradient as it is. When the
  // caller vouches for the rows, nothing is read back from a GPU to check them.
  if (!m.sparse_grad_indices.defined()) {
    Tensor idx = indices.contiguous();
    bool sorted_unique = rows_checked;
    if (!rows_checked) {
      Tensor host = idx.device().is_cpu() ? idx : idx.cpu();
      const int64_t* ip = host.data_ptr<int64_t>();
      const int64_t n = idx.numel();
      sorted_unique = n == 0 || (ip[0] >= 0 && ip[n - 1] < p.size(0));
      for (int64_t k = 1; k < n && sorted_unique; ++k) sorted_unique = ip[k - 1] < ip[k];
    }
    if (sorted_unique) {
      m.sparse_grad_indices = idx.clone();  // copies: the caller may reuse its tensors
      m.sparse_grad_values = values.detach().clone();
      autograd::mark_sparse_rows_checked(m);
      return;
    }
  }
  merge(m, indices, values, rows_checked);
}

Tensor sparse_grad_to_dense(const Tensor& p) {
  Tensor dense = zeros(p.sizes(), p.options().requires_grad(false));
  if (!has_sparse_grad(p)) return dense;
  auto [idx, val] = sparse_grad(p);
  return index_add(dense, 0, idx, val.to(p.dtype()));
}

}  // namespace ember::nn
