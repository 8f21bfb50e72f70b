// Reductions (sum, prod, max, min with indices).
//
// The op layer hands over the input and the sorted dims to reduce. Kept dims go first and
// reduced dims last. The reduced dims are collapsed to one (n elements, stride rs); the kept
// dims to one (m, stride ks) or, when they do not collapse, to two: an outer batch (stride
// bs) and an inner group. What remains is
//   out[b * m + i] = reduce over r of in[b * bs + i * ks + r * rs]
// solved in one of three loop orders:
//   - inner: each output element reduces a run of inputs (rs == 1 is the vectorized case);
//   - outer: when the kept dim is the contiguous one (ks == 1, e.g. a column sum), whole
//     input rows are combined into a block of outputs, which keeps memory access sequential;
//   - split: few outputs but long runs (a full sum): each run is cut into fixed-size chunks
//     reduced in parallel, then combined in order. Chunks do not depend on the thread count,
//     so neither does the result.
// Layouts that still do not collapse (e.g. reducing dims 0 and 2 of a contiguous 3-D tensor)
// are first copied into (kept..., reduced...) order.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cpu {
namespace {

// Float sums and products accumulate in double, as the result is rounded once at the end.
template <class T> struct Acc { using type = T; };
template <> struct Acc<float> { using type = double; };
template <> struct Acc<bool> { using type = int64_t; };

// Elements per chunk of the split strategy, and the runs long enough to use it.
constexpr int64_t kChunk = 16384;
constexpr int64_t kSplitMinRun = 4 * kChunk;
constexpr int64_t kSplitMaxOutputs = 16;
// Output columns combined together by the outer strategy (accumulators stay in L1).
constexpr int64_t kOuterBlock = 4096;
// Elements per block when searching a contiguous run for its extreme.
constexpr int64_t kExtremeBlock = 1024;

struct Plan {
  int64_t batch = 1, bs = 0;  // outer kept group (only when the kept dims do not collapse)
  int64_t m = 1, ks = 0;      // inner kept group
  int64_t n = 1, rs = 0;      // reduced group
  int64_t outputs() const { return batch * m; }
  int64_t base(int64_t o) const { return (o / m) * bs + (o % m) * ks; }
};

// Collapses dims [begin, end) of (sizes, strides) to one; false when they are not contiguous
// with each other.
bool collapse(const Shape& sizes, const Shape& strides, size_t begin, size_t end, int64_t& size, int64_t& stride) {
  size = 1;
  stride = 0;
  bool first = true;
  for (size_t i = end; i-- > begin;) {
    if (sizes[i] == 1) continue;
    if (first) {
      stride = strides[i];
      first = false;
    } else if (strides[i] != stride * size) {
      return false;
    }
    size *= sizes[i];
  }
  if (first) stride = 1;
  return true;
}

template <class T>
bool is_better(ReduceOp op, T candidate, T best) {
  if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(best)) return false;
    if (std::isnan(candidate)) return true;
  }
  return op == ReduceOp::Max ? candidate > best : candidate < best;
}

// Sum or product of run[r * rs] for r in [r0, r1).
template <class T, class A = typename Acc<T>::type>
A accumulate(ReduceOp op, const T* run, int64_t rs, int64_t r0, int64_t r1) {
  A acc = op == ReduceOp::Sum ? A(0) : A(1);
  if (op == ReduceOp::Sum && rs == 1) {
#pragma omp simd reduction(+ : acc)
    for (int64_t r = r0; r < r1; ++r) acc += static_cast<A>(run[r]);
  } else if (op == ReduceOp::Sum) {
    for (int64_t r = r0; r < r1; ++r) acc += static_cast<A>(run[r * rs]);
  } else {
    for (int64_t r = r0; r < r1; ++r) acc *= static_cast<A>(run[r * rs]);
  }
  return acc;
}

// Max or min of run[r * rs] for r in [r0, r1) (non-empty); the first extreme wins ties and
// NaN wins over numbers, as in PyTorch.
template <class T>
void extreme(ReduceOp op, const T* run, int64_t rs, int64_t r0, int64_t r1, T& best, int64_t& at) {
  if constexpr (!std::is_same_v<T, bool>) {
    if (rs == 1) {
      // Blocks whose extreme (and NaN flag) vectorize, instead of one compare-and-branch per
      // element; only the winning block is searched for the position. About 10x faster.
      T best_v = run[r0];
      int64_t best_block = r0;
      for (int64_t b0 = r0; b0 < r1; b0 += kExtremeBlock) {
        const int64_t b1 = std::min(r1, b0 + kExtremeBlock);
        T v = run[b0];
        int nan = 0;  // an int: a bool reduction does not vectorize
        if (op == ReduceOp::Max) {
#pragma omp simd reduction(max : v) reduction(| : nan)
          for (int64_t r = b0 + 1; r < b1; ++r) {
            v = run[r] > v ? run[r] : v;
            nan |= run[r] != run[r];
          }
        } else {
#pragma omp simd reduction(min : v) reduction(| : nan)
          for (int64_t r = b0 + 1; r < b1; ++r) {
            v = run[r] < v ? run[r] : v;
            nan |= run[r] != run[r];
          }
        }
        if (nan || v != v) {  // the first NaN wins
          at = b0;
          while (run[at] == run[at]) ++at;
          best = run[at];
          return;
        }
        if (op == ReduceOp::Max ? v > best_v : v < best_v) {
          best_v = v;
          best_block = b0;
        }
      }
      at = best_block;
      while (run[at] != best_v) ++at;
      best = run[at];  // the element itself: of -0 and +0, whichever comes first
      return;
    }
  }
  best = run[r0 * rs];
  at = r0;
  for (int64_t r = r0 + 1; r < r1; ++r) {
    T v = run[r * rs];
    if (is_better(op, v, best)) {
      best = v;
      at = r;
    }
  }
}

// Outer strategy for w neighbouring outputs whose inputs start at col (stride 1 between them).
template <class T>
void outer_columns(ReduceOp op, const T* col, int64_t rs, int64_t n, int64_t w, T* out, int64_t* indices) {
  using A = typename Acc<T>::type;
  for (int64_t c0 = 0; c0 < w; c0 += kOuterBlock) {
    const int64_t bw = std::min(kOuterBlock, w - c0);
    if (op == ReduceOp::Sum || op == ReduceOp::Prod) {
      std::vector<A> acc(static_cast<size_t>(bw), op == ReduceOp::Sum ? A(0) : A(1));
      A* __restrict__ a = acc.data();
      int64_t r = 0;
      // Four rows per pass over the accumulators: a quarter of the loads and stores of a[],
      // which otherwise cost more than streaming the input (3x slower column sums).
      for (; r + 4 <= n; r += 4) {
        const T* r0 = col + r * rs + c0;
        const T *r1 = r0 + rs, *r2 = r1 + rs, *r3 = r2 + rs;
        if (op == ReduceOp::Sum) {
          for (int64_t c = 0; c < bw; ++c)
            a[c] += (static_cast<A>(r0[c]) + static_cast<A>(r1[c])) + (static_cast<A>(r2[c]) + static_cast<A>(r3[c]));
        } else {
          for (int64_t c = 0; c < bw; ++c)
            a[c] *= (static_cast<A>(r0[c]) * static_cast<A>(r1[c])) * (static_cast<A>(r2[c]) * static_cast<A>(r3[c]));
        }
      }
      for (; r < n; ++r) {
        const T* row = col + r * rs + c0;
        if (op == ReduceOp::Sum) {
          for (int64_t c = 0; c < bw; ++c) a[c] += static_cast<A>(row[c]);
        } else {
          for (int64_t c = 0; c < bw; ++c) a[c] *= static_cast<A>(row[c]);
        }
      }
      for (int64_t c = 0; c < bw; ++c) out[c0 + c] = static_cast<T>(a[c]);
      continue;
    }
    std::vector<int64_t> at(static_cast<size_t>(bw), 0);
    T* best = out + c0;
    for (int64_t c = 0; c < bw; ++c) best[c] = col[c0 + c];
    for (int64_t r = 1; r < n; ++r) {
      const T* row = col + r * rs + c0;
      for (int64_t c = 0; c < bw; ++c) {
        if (is_better(op, row[c], best[c])) {
          best[c] = row[c];
          at[static_cast<size_t>(c)] = r;
        }
      }
    }
    if (indices) std::copy(at.begin(), at.end(), indices + c0);
  }
}

// Split strategy for one output: chunks in parallel, combined in order.
template <class T>
void split_run(ReduceOp op, const T* run, int64_t rs, int64_t n, T& out, int64_t* index) {
  using A = typename Acc<T>::type;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const bool is_extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  std::vector<A> acc(is_extreme ? 0 : static_cast<size_t>(chunks));
  std::vector<T> best(is_extreme ? static_cast<size_t>(chunks) : 0);
  std::vector<int64_t> at(is_extreme ? static_cast<size_t>(chunks) : 0);
  parallel_for(chunks, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t r0 = c * kChunk, r1 = std::min(n, r0 + kChunk);
      const auto k = static_cast<size_t>(c);
      if (is_extreme) {
        T v;
        extreme(op, run, rs, r0, r1, v, at[k]);
        best[k] = v;  // through a local: std::vector<bool> has no T& elements
      } else {
        acc[k] = accumulate<T>(op, run, rs, r0, r1);
      }
    }
  });
  if (is_extreme) {
    T b = best[0];
    int64_t a = at[0];
    for (size_t k = 1; k < best.size(); ++k) {
      if (is_better(op, static_cast<T>(best[k]), b)) {
        b = best[k];
        a = at[k];
      }
    }
    out = b;
    if (index) *index = a;
    return;
  }
  A total = op == ReduceOp::Sum ? A(0) : A(1);
  for (A v : acc) total = op == ReduceOp::Sum ? total + v : total * v;
  out = static_cast<T>(total);
}

template <class T>
void reduce_plan(ReduceOp op, const T* in, const Plan& p, T* out, int64_t* indices) {
  const int64_t outputs = p.outputs();
  const bool is_extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  if (outputs <= kSplitMaxOutputs && p.n >= kSplitMinRun) {
    for (int64_t o = 0; o < outputs; ++o)
      split_run(op, in + p.base(o), p.rs, p.n, out[o], indices ? indices + o : nullptr);
    return;
  }
  if (p.ks == 1 && p.rs != 1 && p.m > 1) {
    parallel_for(outputs, p.n, [&](int64_t b, int64_t e) {
      // [b, e) may span several batches: one segment of neighbouring columns per batch.
      for (int64_t o = b; o < e;) {
        const int64_t w = std::min(p.m - o % p.m, e - o);
        outer_columns(op, in + p.base(o), p.rs, p.n, w, out + o, indices ? indices + o : nullptr);
        o += w;
      }
    });
    return;
  }
  parallel_for(outputs, p.n, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* run = in + p.base(o);
      if (is_extreme) {
        T v;
        int64_t at;
        extreme(op, run, p.rs, 0, p.n, v, at);
        out[o] = v;
        if (indices) indices[o] = at;
      } else {
        out[o] = static_cast<T>(accumulate<T>(op, run, p.rs, 0, p.n));
      }
    }
  });
}

}  // namespace

void reduce(ReduceOp op, const Tensor& input, const Shape& dims, const Tensor& out, const Tensor& indices) {
  Shape sizes, strides, order;  // (kept..., reduced...)
  size_t kept = 0;
  for (int64_t d = 0, j = 0; d < input.dim(); ++d) {
    if (j < static_cast<int64_t>(dims.size()) && dims[j] == d) ++j;
    else order.push_back(d);
  }
  kept = order.size();
  for (int64_t d : dims) order.push_back(d);
  for (int64_t d : order) {
    sizes.push_back(input.sizes()[d]);
    strides.push_back(input.strides()[d]);
  }

  Plan p;
  bool planned = collapse(sizes, strides, kept, sizes.size(), p.n, p.rs);
  if (planned && !collapse(sizes, strides, 0, kept, p.m, p.ks)) {
    // Try an outer batch of leading kept dims over an inner group of trailing ones (reducing
    // the middle dim of a contiguous 3-D tensor needs this).
    planned = false;
    for (size_t k = 1; k < kept && !planned; ++k)
      planned = collapse(sizes, strides, 0, k, p.batch, p.bs) && collapse(sizes, strides, k, kept, p.m, p.ks);
  }
  Tensor in = input;
  if (!planned) {
    // Copy into (kept..., reduced...) order; then it is a contiguous [m, n] matrix.
    Tensor permuted = internal::alias(input, sizes, strides, input.storage_offset());
    in = internal::new_tensor(sizes, input.dtype(), input.device());
    copy(permuted, in);
    p = Plan();
    for (size_t i = 0; i < sizes.size(); ++i) (i < kept ? p.m : p.n) *= sizes[i];
    p.ks = p.n;
    p.rs = 1;
  }
  if (p.outputs() == 0) return;
  dispatch_all(input.dtype(), "reduce", [&]<class T>() {
    T* o = out.impl()->data_as<T>();
    int64_t* idx = indices.defined() ? indices.impl()->data_as<int64_t>() : nullptr;
    if (p.n == 0) {
      // An empty reduction: the identity for sum and prod; the op layer rejects max and min
      // here, except where it wants a placeholder (0).
      const T init = op == ReduceOp::Prod ? T(1) : T(0);
      for (int64_t i = 0; i < p.outputs(); ++i) o[i] = init;
      if (idx) std::fill(idx, idx + p.outputs(), int64_t{0});
      return;
    }
    reduce_plan<T>(op, in.impl()->data_as<T>(), p, o, idx);
  });
}

}  // namespace ember::kernels::cpu
