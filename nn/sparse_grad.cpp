// Row-sparse gradient storage on a parameter's AutogradMeta (see nn/sparse_grad.h).
#include "nn/sparse_grad.h"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <vector>

#include "autograd/autograd_meta.h"
#include "kernels/cpu/dispatch.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {

namespace {
// The merge for GPU tensors (coalesce_rows: ids sorted on the host, values summed on the device).
void merge_on_device(autograd::AutogradMeta& m, const Tensor& indices, const Tensor& values) {
  Tensor all_idx = indices.contiguous(), all_val = values.detach();
  if (m.sparse_grad_indices.defined()) {
    all_idx = cat({m.sparse_grad_indices, all_idx}, 0);
    all_val = cat({m.sparse_grad_values.to(values.dtype()), all_val}, 0);
  }
  auto [rows, summed] = coalesce_rows(all_idx, all_val);
  m.sparse_grad_indices = rows;
  m.sparse_grad_values = summed;
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

void accumulate_sparse_grad(const Tensor& p, const Tensor& indices, const Tensor& values) {
  EMBER_CHECK(indices.dtype() == kInt64 && indices.dim() == 1 && values.dim() == 2 &&
                  values.size(0) == indices.size(0) && p.dim() == 2 && values.size(1) == p.size(1),
              "accumulate_sparse_grad", "expected indices int64 [n] and values [n, ", p.dim() == 2 ? p.size(1) : -1,
              "], got indices ", shape_text(indices.sizes()), " and values ", shape_text(values.sizes()));
  auto& m = autograd::meta_of(p);
  // The usual case, the first gradient since zero_grad with its rows already sorted and
  // distinct (as embedding_bag's backward makes them): it is the gradient as it is.
  if (!m.sparse_grad_indices.defined()) {
    Tensor idx = indices.contiguous();
    Tensor host = idx.device().is_cpu() ? idx : idx.cpu();
    const int64_t* ip = host.data_ptr<int64_t>();
    bool sorted_unique = true;
    for (int64_t k = 1; k < idx.numel() && sorted_unique; ++k) sorted_unique = ip[k - 1] < ip[k];
    if (sorted_unique) {
      m.sparse_grad_indices = idx.clone();  // copies: the caller may reuse its tensors
      m.sparse_grad_values = values.detach().clone();
      return;
    }
  }
  if (!values.device().is_cpu()) return merge_on_device(m, indices, values);
  // Gather old and new rows, then merge equal indices by summing (sort by index).
  std::vector<Tensor> idx_parts, val_parts;
  if (m.sparse_grad_indices.defined()) {
    idx_parts.push_back(m.sparse_grad_indices.contiguous());
    val_parts.push_back(m.sparse_grad_values.to(values.dtype()).contiguous());
  }
  idx_parts.push_back(indices.contiguous());
  val_parts.push_back(values.contiguous());
  int64_t n = 0;
  for (auto& t : idx_parts) n += t.numel();
  const int64_t dim = values.size(1);
  std::vector<int64_t> ids;
  ids.reserve(static_cast<size_t>(n));
  for (auto& t : idx_parts) ids.insert(ids.end(), t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  int64_t unique = 0;
  for (int64_t k = 0; k < n; ++k)
    if (k == 0 || ids[order[k]] != ids[order[k - 1]]) ++unique;
  Tensor out_idx = empty({unique}, kInt64);
  Tensor out_val = zeros({unique, dim}, values.options().requires_grad(false));
  kernels::dispatch_floating(values.dtype(), "accumulate_sparse_grad", [&]<class T>() {
    std::vector<const T*> rows;
    rows.reserve(static_cast<size_t>(n));
    for (auto& t : val_parts)
      for (int64_t r = 0; r < t.size(0); ++r) rows.push_back(t.data_ptr<T>() + r * dim);
    int64_t* oi = out_idx.data_ptr<int64_t>();
    T* ov = out_val.data_ptr<T>();
    int64_t u = -1;
    for (int64_t k = 0; k < n; ++k) {
      int64_t src = order[k];
      if (k == 0 || ids[src] != ids[order[k - 1]]) oi[++u] = ids[src];
      T* dst = ov + u * dim;
      const T* r = rows[src];
      for (int64_t d = 0; d < dim; ++d) dst[d] += r[d];
    }
  });
  m.sparse_grad_indices = out_idx;
  m.sparse_grad_values = out_val;
}

Tensor sparse_grad_to_dense(const Tensor& p) {
  Tensor dense = zeros(p.sizes(), p.options().requires_grad(false));
  if (!has_sparse_grad(p)) return dense;
  auto [idx, val] = sparse_grad(p);
  return index_add(dense, 0, idx, val.to(p.dtype()));
}

}  // namespace ember::nn
