// embedding_bag forward and backward loops (see nn/embedding_bag_op.h).
//
// Backward: every (non-padding) entry i adds scale_i * grad[bag(i)] to row indices[i] of the
// weight gradient (for max mode, only in the dims where entry i was the argmax). Entries
// are grouped by row first (a sort), so that threads own disjoint rows: no atomics, and the
// same grouping yields the unique rows of the sparse gradient.
#include "nn/embedding_bag_op.h"

#include <algorithm>
#include <numeric>
#include <utility>
#include <vector>

#include "autograd/function.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cuda/embedding_bag.h"
#include "kernels/kernels.h"
#include "nn/sparse_grad.h"
#include "tensor/error.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace ember::nn {
namespace {

constexpr const char* kOp = "embedding_bag";

struct Bags {
  int64_t num_bags = 0;
  std::vector<int64_t> start, end;  // entry range of each bag
};

Bags make_bags(const Tensor& offsets, int64_t n, bool include_last_offset) {
  Tensor off = offsets.contiguous();
  const int64_t* o = off.data_ptr<int64_t>();
  int64_t k = off.numel();
  Bags b;
  b.num_bags = include_last_offset ? k - 1 : k;
  EMBER_CHECK(b.num_bags >= 0, kOp, "include_last_offset needs at least one offset");
  b.start.resize(static_cast<size_t>(b.num_bags));
  b.end.resize(static_cast<size_t>(b.num_bags));
  for (int64_t i = 0; i < b.num_bags; ++i) {
    int64_t s = o[i];
    int64_t e = i + 1 < k ? o[i + 1] : n;
    if (include_last_offset && i + 1 == b.num_bags) e = std::min<int64_t>(o[i + 1], n);
    EMBER_CHECK(s >= 0 && s <= e && e <= n, kOp, "offsets must be non-decreasing and within [0, ", n,
                "], got offsets[", i, "] = ", s, " with bag end ", e);
    b.start[static_cast<size_t>(i)] = s;
    b.end[static_cast<size_t>(i)] = e;
  }
  if (b.num_bags > 0) EMBER_CHECK(o[0] == 0, kOp, "offsets[0] has to be 0, i.e., the first sequence in the mini-batch has to start from position 0. However, got ", o[0]);
  return b;
}

// One entry into a running max: branch-free and restrict-qualified so that it vectorizes.
template <class T>
void max_update(const T* __restrict r, T* __restrict o, int64_t* __restrict a, int64_t i, int64_t D) {
  for (int64_t d = 0; d < D; ++d) {
    const bool gt = r[d] > o[d];
    o[d] = gt ? r[d] : o[d];
    a[d] = gt ? i : a[d];
  }
}

struct EmbeddingBagBackward final : autograd::Node {
  const char* name() const override { return "EmbeddingBagBackward"; }
  autograd::GradList apply(autograd::GradList&& grads) override;

  EmbeddingBagMode mode = EmbeddingBagMode::Sum;
  int64_t padding_idx = -1;
  int64_t num_rows = 0, dim = 0;
  Tensor indices;     // int64 [N], contiguous
  Tensor psw;         // [N] or undefined (values, no history)
  Tensor max_arg;     // int64 [B, D] entry index of the max, -1 for empty bags
  Tensor counts;      // int64 [B] non-padding entries per bag (mean mode)
  std::vector<int64_t> bag_of;  // bag of each entry, -1 for entries after the last offset
  size_t weight_slot = 0;
  bool saved_weight = false;
  Tensor sparse_target;  // the weight, when its gradient is row-sparse
};

// Groups non-padding entries by row: order[k] sorted by indices (stable), segments
// [seg[u], seg[u+1]). A counting sort, O(N + V), when the table is not much larger than the
// batch; otherwise an LSD radix sort on the row ids, 11 bits per pass (two passes for 2^22
// rows), so a huge vocabulary costs neither O(V) nor a comparison sort per step.
void group_by_row(const int64_t* idx, int64_t n, int64_t num_rows, int64_t padding_idx, const int64_t* bag_of,
                  std::vector<int64_t>& order, std::vector<int64_t>& seg) {
  // Entries outside every bag (after the last offset, with include_last_offset) count as padding.
  auto skip = [&](int64_t i) { return idx[i] == padding_idx || (bag_of && bag_of[i] < 0); };
  order.clear();
  seg.clear();
  if (num_rows <= 4 * n + 1024) {
    std::vector<int64_t> start(static_cast<size_t>(num_rows) + 1, 0);
    for (int64_t i = 0; i < n; ++i)
      if (!skip(i)) ++start[static_cast<size_t>(idx[i]) + 1];
    for (int64_t r = 0; r < num_rows; ++r) {
      if (start[static_cast<size_t>(r) + 1] > 0) seg.push_back(start[static_cast<size_t>(r)]);
      start[static_cast<size_t>(r) + 1] += start[static_cast<size_t>(r)];
    }
    order.resize(static_cast<size_t>(start[static_cast<size_t>(num_rows)]));
    seg.push_back(static_cast<int64_t>(order.size()));
    for (int64_t i = 0; i < n; ++i)
      if (!skip(i)) order[static_cast<size_t>(start[static_cast<size_t>(idx[i])]++)] = i;
    return;
  }
  order.reserve(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    if (!skip(i)) order.push_back(i);
  constexpr int kBits = 11;
  constexpr size_t kBuckets = size_t{1} << kBits;
  std::vector<int64_t> buffer(order.size());
  std::vector<size_t> count(kBuckets);
  for (int shift = 0; shift < 63 && (num_rows - 1) >> shift; shift += kBits) {
    std::fill(count.begin(), count.end(), 0);
    auto digit = [&](int64_t i) { return static_cast<size_t>(idx[i] >> shift) & (kBuckets - 1); };
    for (int64_t i : order) ++count[digit(i)];
    size_t sum = 0;
    for (size_t& c : count) sum += std::exchange(c, sum);
    for (int64_t i : order) buffer[count[digit(i)]++] = i;  // stable: keeps the previous pass's order
    order.swap(buffer);
  }
  for (size_t k = 0; k < order.size(); ++k)
    if (k == 0 || idx[order[k]] != idx[order[k - 1]]) seg.push_back(static_cast<int64_t>(k));
  seg.push_back(static_cast<int64_t>(order.size()));
}

autograd::GradList EmbeddingBagBackward::apply(autograd::GradList&& grads) {
  Tensor g = grads[0].contiguous();
  autograd::GradList out(2);
  const bool want_weight = needs_input_grad(0) || sparse_target.defined();
  const int64_t* idx = indices.data_ptr<int64_t>();
  const int64_t n = indices.numel();
  const int64_t D = dim;
  if (want_weight) {
    std::vector<int64_t> order, seg;
    group_by_row(idx, n, num_rows, padding_idx, bag_of.data(), order, seg);
    const int64_t U = static_cast<int64_t>(seg.size()) - 1;
    const bool sparse = sparse_target.defined();
    Tensor dest = sparse ? zeros({U, D}, g.options()) : zeros({num_rows, D}, g.options());
    kernels::dispatch_floating(g.dtype(), kOp, [&]<class T>() {
      const T* gp = g.data_ptr<T>();
      T* dp = dest.data_ptr<T>();
      const T* wp = psw.defined() ? psw.data_ptr<T>() : nullptr;
      const int64_t* cnt = counts.defined() ? counts.data_ptr<int64_t>() : nullptr;
      const int64_t* arg = max_arg.defined() ? max_arg.data_ptr<int64_t>() : nullptr;
#pragma omp parallel for schedule(dynamic, 16) if (static_cast<int64_t>(order.size()) * D > 32768)
      for (int64_t u = 0; u < U; ++u) {
        T* row = dp + (sparse ? u : idx[order[static_cast<size_t>(seg[u])]]) * D;
        for (int64_t k = seg[u]; k < seg[u + 1]; ++k) {
          int64_t i = order[static_cast<size_t>(k)];
          int64_t b = bag_of[static_cast<size_t>(i)];
          const T* gb = gp + b * D;
          if (mode == EmbeddingBagMode::Max) {
            const int64_t* ab = arg + b * D;
            for (int64_t d = 0; d < D; ++d)
              if (ab[d] == i) row[d] += gb[d];
            continue;
          }
          T scale = wp ? wp[i] : T(1);
          if (mode == EmbeddingBagMode::Mean) scale /= static_cast<T>(cnt[b]);
          for (int64_t d = 0; d < D; ++d) row[d] += scale * gb[d];
        }
      }
    });
    if (sparse) {
      Tensor rows = empty({U}, kInt64);
      int64_t* rp = rows.data_ptr<int64_t>();
      for (int64_t u = 0; u < U; ++u) rp[u] = idx[order[static_cast<size_t>(seg[u])]];
      accumulate_sparse_grad(sparse_target, rows, dest, /*rows_checked=*/true);  // grouped: sorted, distinct
    } else {
      out[0] = dest;
    }
  }
  if (needs_input_grad(1)) {
    Tensor w = unpack(weight_slot).contiguous();
    Tensor gw = zeros({n}, g.options());
    kernels::dispatch_floating(g.dtype(), kOp, [&]<class T>() {
      const T* gp = g.data_ptr<T>();
      const T* wp = w.data_ptr<T>();
      T* out_p = gw.data_ptr<T>();
#pragma omp parallel for schedule(static) if (n * D > 32768)
      for (int64_t i = 0; i < n; ++i) {
        if (idx[i] == padding_idx || bag_of[static_cast<size_t>(i)] < 0) continue;
        const T* gb = gp + bag_of[static_cast<size_t>(i)] * D;
        const T* wr = wp + idx[i] * D;
        T acc = 0;
        for (int64_t d = 0; d < D; ++d) acc += gb[d] * wr[d];
        out_p[i] = acc;
      }
    });
    out[1] = gw;
  }
  return out;
}

// ---- CUDA ------------------------------------------------------------------------------------
// The same op with its loops on the GPU (kernels/cuda/embedding_bag.cu). The checks that read
// values run on the host from small transfers: the index range from a device min/max, the
// offsets (one per bag) from a copy. The row-sparse gradient groups the entries on the GPU
// (a stable radix sort, as group_by_row's on the CPU, so each row sums its entries in the same
// order); only the number of rows comes back. The bag map matters: an entry in no bag (after
// the last offset, with include_last_offset) must not make its row a (zero) row of the sparse
// gradient, or the index set would differ from the CPU's.

struct EmbeddingBagCudaBackward final : autograd::Node {
  const char* name() const override { return "EmbeddingBagBackward"; }
  autograd::GradList apply(autograd::GradList&& grads) override;

  kernels::cuda::EmbeddingBagSaved saved;
  int64_t num_rows = 0, dim = 0;
  size_t weight_slot = 0;
  Tensor sparse_target;
};

autograd::GradList EmbeddingBagCudaBackward::apply(autograd::GradList&& grads) {
  Tensor g = grads[0].contiguous();
  autograd::GradList out(2);
  const int64_t n = saved.indices.numel(), D = dim;
  if (sparse_target.defined()) {
    // Grouped on the GPU, as the CPU's group_by_row groups them (same rows, same order within
    // a row); only the number of rows comes back to the host.
    Tensor order, seg, rows;
    const int64_t U = kernels::cuda::embedding_bag_group_rows(saved, num_rows, order, seg, rows);
    Tensor dest = zeros({U, D}, g.options());
    if (U > 0) kernels::cuda::embedding_bag_backward_rows(g, saved, order, seg, dest);
    accumulate_sparse_grad(sparse_target, rows, dest, /*rows_checked=*/true);  // sorted, distinct
  } else if (needs_input_grad(0)) {
    Tensor dest = zeros({num_rows, D}, g.options());
    kernels::cuda::embedding_bag_backward_dense(g, saved, dest);
    out[0] = dest;
  }
  if (needs_input_grad(1)) {
    Tensor gw = zeros({n}, g.options());
    kernels::cuda::embedding_bag_backward_psw(g, unpack(weight_slot).contiguous(), saved, gw);
    out[1] = gw;
  }
  return out;
}

Tensor embedding_bag_cuda(const Tensor& weight, const Tensor& indices, const Tensor& offsets, EmbeddingBagMode mode,
                          const Tensor& per_sample_weights, int64_t padding_idx, bool sparse, bool include_last_offset) {
  const int64_t V = weight.size(0), D = weight.size(1), n = indices.numel();
  const bool has_psw = per_sample_weights.defined();
  Tensor idx = indices.contiguous();
  if (n > 0) {
    auto [lo, hi] = kernels::index_min_max(idx);
    EMBER_CHECK(lo >= 0 && hi < V, kOp, "index ", lo < 0 ? lo : hi, " out of range for weight ",
                shape_text(weight.sizes()));
  }
  const int64_t B = make_bags(offsets.cpu(), n, include_last_offset).num_bags;  // checks the offsets
  Tensor w = weight.contiguous();
  Tensor psw = has_psw ? per_sample_weights.contiguous() : Tensor();
  Tensor out = internal::new_tensor({B, D}, weight.dtype(), weight.device());
  Tensor max_arg = mode == EmbeddingBagMode::Max ? internal::new_tensor({B, D}, kInt64, weight.device()) : Tensor();
  Tensor counts = mode == EmbeddingBagMode::Mean ? internal::new_tensor({B}, kInt64, weight.device()) : Tensor();
  Tensor bag_of = internal::new_tensor({n}, kInt64, weight.device());
  kernels::cuda::embedding_bag_forward(w, idx, offsets.contiguous(), include_last_offset, mode, psw, padding_idx, out,
                                       max_arg, counts, bag_of);
  const bool weight_grad = autograd::needs_grad(weight);
  const bool psw_grad = has_psw && autograd::needs_grad(per_sample_weights);
  if (weight_grad || psw_grad) {
    auto node = autograd::make_node<EmbeddingBagCudaBackward>(sparse ? Tensor() : weight,
                                                              has_psw ? per_sample_weights : Tensor());
    node->saved = {mode, padding_idx, idx, bag_of, has_psw ? psw.detach() : Tensor(), counts, max_arg};
    node->num_rows = V;
    node->dim = D;
    if (psw_grad) node->weight_slot = node->save(weight);
    if (sparse && weight_grad) node->sparse_target = weight;
    autograd::set_history(out, node);
  }
  return out;
}

}  // namespace

EmbeddingBagMode embedding_bag_mode(const std::string& mode) {
  if (mode == "sum") return EmbeddingBagMode::Sum;
  if (mode == "mean") return EmbeddingBagMode::Mean;
  if (mode == "max") return EmbeddingBagMode::Max;
  detail::throw_error(kOp, "mode has to be one of sum, mean or max, got \"", mode, "\"");
}

Tensor embedding_bag_op(const Tensor& weight, const Tensor& indices, const Tensor& offsets, EmbeddingBagMode mode,
                        const Tensor& per_sample_weights, int64_t padding_idx, bool sparse, bool include_last_offset) {
  EMBER_CHECK(weight.defined() && weight.dim() == 2 && weight.is_floating_point(), kOp,
              "weight must be a 2-D floating tensor [num_embeddings, dim], got ",
              weight.defined() ? shape_text(weight.sizes()) : ShapeText{nullptr, 0});
  EMBER_CHECK(indices.dtype() == kInt64 && indices.dim() == 1, kOp, "input must be a 1-D int64 tensor, got ",
              indices.dtype(), " ", shape_text(indices.sizes()));
  EMBER_CHECK(offsets.dtype() == kInt64 && offsets.dim() == 1, kOp, "offsets must be a 1-D int64 tensor, got ",
              offsets.dtype(), " ", shape_text(offsets.sizes()));
  internal::check_same_device(weight, indices, kOp);
  internal::check_same_device(weight, offsets, kOp);
  if (per_sample_weights.defined()) internal::check_same_device(weight, per_sample_weights, kOp);
  const int64_t V = weight.size(0), D = weight.size(1), n = indices.numel();
  const bool has_psw = per_sample_weights.defined();
  if (has_psw) {
    EMBER_CHECK(mode == EmbeddingBagMode::Sum, kOp,
                "embedding_bag: per_sample_weights was not None. per_sample_weights is only supported for mode='sum'");
    EMBER_CHECK(per_sample_weights.dim() == 1 && per_sample_weights.numel() == n &&
                    per_sample_weights.dtype() == weight.dtype(),
                kOp, "per_sample_weights must be ", weight.dtype(), " of shape [", n, "] like input, got ",
                per_sample_weights.dtype(), " ", shape_text(per_sample_weights.sizes()));
  }
  if (!weight.device().is_cpu())
    return embedding_bag_cuda(weight, indices, offsets, mode, per_sample_weights, padding_idx, sparse,
                              include_last_offset);
  Tensor idx = indices.contiguous();
  const int64_t* ip = idx.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i)
    EMBER_CHECK(ip[i] >= 0 && ip[i] < V, kOp, "index ", ip[i], " out of range for weight ", shape_text(weight.sizes()));
  Bags bags = make_bags(offsets, n, include_last_offset);
  const int64_t B = bags.num_bags;

  Tensor w = weight.contiguous();
  Tensor psw = has_psw ? per_sample_weights.contiguous() : Tensor();
  Tensor out = internal::new_tensor({B, D}, weight.dtype(), weight.device());
  Tensor max_arg = mode == EmbeddingBagMode::Max ? internal::new_tensor({B, D}, kInt64, weight.device()) : Tensor();
  Tensor counts = mode == EmbeddingBagMode::Mean ? internal::new_tensor({B}, kInt64, weight.device()) : Tensor();
  kernels::dispatch_floating(weight.dtype(), kOp, [&]<class T>() {
    const T* wp = w.data_ptr<T>();
    const T* sp = has_psw ? psw.data_ptr<T>() : nullptr;
    T* op = out.data_ptr<T>();
    int64_t* ap = max_arg.defined() ? max_arg.data_ptr<int64_t>() : nullptr;
    int64_t* cp = counts.defined() ? counts.data_ptr<int64_t>() : nullptr;
#pragma omp parallel for schedule(static) if (n * D > 32768)
    for (int64_t b = 0; b < B; ++b) {
      T* o = op + b * D;
      std::fill(o, o + D, T(0));
      int64_t* a = ap ? ap + b * D : nullptr;
      if (a) std::fill(a, a + D, int64_t(-1));
      int64_t count = 0;
      for (int64_t i = bags.start[static_cast<size_t>(b)]; i < bags.end[static_cast<size_t>(b)]; ++i) {
        if (ip[i] == padding_idx) continue;
        const T* r = wp + ip[i] * D;
        if (mode == EmbeddingBagMode::Max) {
          if (count == 0) {
            std::copy(r, r + D, o);
            std::fill(a, a + D, i);
          } else {
            max_update(r, o, a, i, D);
          }
        } else {
          T s = sp ? sp[i] : T(1);
          for (int64_t d = 0; d < D; ++d) o[d] += s * r[d];
        }
        ++count;
      }
      if (mode == EmbeddingBagMode::Mean) {
        cp[b] = count;
        if (count > 0)
          for (int64_t d = 0; d < D; ++d) o[d] /= static_cast<T>(count);
      }
    }
  });

  const bool weight_grad = autograd::needs_grad(weight);
  const bool psw_grad = has_psw && autograd::needs_grad(per_sample_weights);
  if (weight_grad || psw_grad) {
    // Sparse: no edge to the weight; the node writes its row-sparse gradient directly.
    auto node = autograd::make_node<EmbeddingBagBackward>(sparse ? Tensor() : weight,
                                                          has_psw ? per_sample_weights : Tensor());
    node->mode = mode;
    node->padding_idx = padding_idx;
    node->num_rows = V;
    node->dim = D;
    node->indices = idx;
    if (has_psw) node->psw = psw.detach();
    node->max_arg = max_arg;
    node->counts = counts;
    node->bag_of.assign(static_cast<size_t>(n), -1);  // -1: in no bag
    for (int64_t b = 0; b < B; ++b)
      for (int64_t i = bags.start[static_cast<size_t>(b)]; i < bags.end[static_cast<size_t>(b)]; ++i)
        node->bag_of[static_cast<size_t>(i)] = b;
    if (psw_grad) {
      node->weight_slot = node->save(weight);
      node->saved_weight = true;
    }
    if (sparse && weight_grad) node->sparse_target = weight;
    autograd::set_history(out, node);
  }
  return out;
}

}  // namespace ember::nn
