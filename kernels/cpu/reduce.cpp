// Reductions (sum, prod, max, min with indices).
//
// The op layer hands over the input and the sorted dims to reduce. Kept dims go first (in
// order: they are the output's layout) and reduced dims last (ordered by stride when no
// indices are asked for, since the order then does not matter). Each group is collapsed to
// one dim, or to two when it does not collapse (reducing the middle dim of a 3-D tensor, or
// dims 0, 2, 3 of an NCHW one). With an outer kept batch (b, stride bs), inner kept group
// (i, ks), outer reduced group (q, rso) and inner reduced group (r, rs):
//   out[b * m + i] = reduce over (q, r) of in[b * bs + i * ks + q * rso + r * rs]
// solved in one of three loop orders:
//   - inner: each output element reduces its runs of inputs (rs == 1 is the vectorized case);
//   - outer: when the kept dim is the contiguous one (ks == 1, e.g. a column sum), whole
//     input rows are combined into a block of outputs, which keeps memory access sequential;
//   - split: few outputs but long runs (a full sum): the reduced elements are cut into
//     fixed-size chunks reduced in parallel, then combined in order. Chunks do not depend on
//     the thread count, so neither does the result.
// Layouts that still do not collapse are first copied into (kept..., reduced...) order.
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
  int64_t q = 1, rso = 0;     // outer reduced group (only when the reduced dims do not collapse)
  int64_t n = 1, rs = 0;      // inner reduced group
  int64_t outputs() const { return batch * m; }
  /// Elements each output combines.
  int64_t count() const { return q * n; }
  int64_t base(int64_t o) const { return (o / m) * bs + (o % m) * ks; }
  /// Offset of reduced element f (in (q, r) row-major order) from an output's base.
  int64_t offset(int64_t f) const { return (f / n) * rso + (f % n) * rs; }
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

// Extreme of x[0, n) (n > 0), and whether any element is NaN (the value is then meaningless).
// Lanes of independent selects rather than a reduction: compilers vectorize selects without
// -ffast-math, but not a max reduction (its NaN semantics block reassociation).
template <bool kMax, class T>
T lane_extreme(const T* x, int64_t n, int& nan) {
  constexpr int64_t kLanes = 16;
  T lane[kLanes], lane_nan[kLanes];  // lane_nan in T: one vector type in the loop
  for (int64_t l = 0; l < kLanes; ++l) {
    lane[l] = x[0];
    lane_nan[l] = T(0);
  }
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd  // inlined deep in the strategies, GCC otherwise leaves it scalar
    for (int64_t l = 0; l < kLanes; ++l) {
      const T v = x[i + l];
      const bool better = kMax ? v > lane[l] : v < lane[l];
      lane[l] = better ? v : lane[l];
      lane_nan[l] = v != v ? T(1) : lane_nan[l];
    }
  }
  // Plain |= below, not ||: the short-circuit branch made GCC compile the loop above 3x slower.
  T best = x[0];
  nan = 0;
  for (int64_t l = 0; l < kLanes; ++l) {
    best = (kMax ? lane[l] > best : lane[l] < best) ? lane[l] : best;
    nan |= lane_nan[l] != T(0);
  }
  for (; i < n; ++i) {
    best = (kMax ? x[i] > best : x[i] < best) ? x[i] : best;
    nan |= x[i] != x[i];
  }
  return best;
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
        int nan = 0;
        const T v = op == ReduceOp::Max ? lane_extreme<true>(run + b0, b1 - b0, nan)
                                        : lane_extreme<false>(run + b0, b1 - b0, nan);
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

// Calls fn(offset, r0, r1, flat0) for each piece of reduced elements [f0, f1) that lies in
// one inner run: elements r0..r1 of the run at `offset`, the first being element flat0 + r0.
template <class F>
void for_runs(const Plan& p, int64_t f0, int64_t f1, F&& fn) {
  for (int64_t f = f0; f < f1;) {
    const int64_t q = f / p.n, r = f % p.n, len = std::min(p.n - r, f1 - f);
    fn(q * p.rso, r, r + len, q * p.n);
    f += len;
  }
}

// Sum or product of reduced elements [f0, f1) of one output.
template <class T, class A = typename Acc<T>::type>
A accumulate_flat(ReduceOp op, const T* in, const Plan& p, int64_t f0, int64_t f1) {
  A acc = op == ReduceOp::Sum ? A(0) : A(1);
  for_runs(p, f0, f1, [&](int64_t off, int64_t r0, int64_t r1, int64_t) {
    A part = accumulate<T>(op, in + off, p.rs, r0, r1);
    acc = op == ReduceOp::Sum ? acc + part : acc * part;
  });
  return acc;
}

// Max or min of reduced elements [f0, f1) (non-empty) of one output; at is a flat index.
template <class T>
void extreme_flat(ReduceOp op, const T* in, const Plan& p, int64_t f0, int64_t f1, T& best, int64_t& at) {
  bool first = true;
  for_runs(p, f0, f1, [&](int64_t off, int64_t r0, int64_t r1, int64_t flat0) {
    T v;
    int64_t a;
    extreme(op, in + off, p.rs, r0, r1, v, a);
    if (first || is_better(op, v, best)) {  // strictly better: the earlier run wins ties
      best = v;
      at = flat0 + a;
      first = false;
    }
  });
}

// Outer strategy for w neighbouring outputs whose inputs start at col (stride 1 between them).
template <class T>
void outer_columns(ReduceOp op, const T* col, const Plan& p, int64_t w, T* out, int64_t* indices) {
  using A = typename Acc<T>::type;
  const int64_t count = p.count();
  for (int64_t c0 = 0; c0 < w; c0 += kOuterBlock) {
    const int64_t bw = std::min(kOuterBlock, w - c0);
    const T* base = col + c0;
    if (op == ReduceOp::Sum || op == ReduceOp::Prod) {
      std::vector<A> acc(static_cast<size_t>(bw), op == ReduceOp::Sum ? A(0) : A(1));
      A* __restrict__ a = acc.data();
      int64_t f = 0;
      // Four rows per pass over the accumulators: a quarter of the loads and stores of a[],
      // which otherwise cost more than streaming the input (3x slower column sums).
      for (; f + 4 <= count; f += 4) {
        const T *r0 = base + p.offset(f), *r1 = base + p.offset(f + 1);
        const T *r2 = base + p.offset(f + 2), *r3 = base + p.offset(f + 3);
        if (op == ReduceOp::Sum) {
          for (int64_t c = 0; c < bw; ++c)
            a[c] += (static_cast<A>(r0[c]) + static_cast<A>(r1[c])) + (static_cast<A>(r2[c]) + static_cast<A>(r3[c]));
        } else {
          for (int64_t c = 0; c < bw; ++c)
            a[c] *= (static_cast<A>(r0[c]) * static_cast<A>(r1[c])) * (static_cast<A>(r2[c]) * static_cast<A>(r3[c]));
        }
      }
      for (; f < count; ++f) {
        const T* row = base + p.offset(f);
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
    for (int64_t c = 0; c < bw; ++c) best[c] = base[c];
    for (int64_t f = 1; f < count; ++f) {
      const T* row = base + p.offset(f);
      for (int64_t c = 0; c < bw; ++c) {
        if (is_better(op, row[c], best[c])) {
          best[c] = row[c];
          at[static_cast<size_t>(c)] = f;
        }
      }
    }
    if (indices) std::copy(at.begin(), at.end(), indices + c0);
  }
}

// Split strategy for one output: chunks in parallel, combined in order.
template <class T>
void split_run(ReduceOp op, const T* run, const Plan& p, T& out, int64_t* index) {
  using A = typename Acc<T>::type;
  const int64_t count = p.count(), chunks = (count + kChunk - 1) / kChunk;
  const bool is_extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  std::vector<A> acc(is_extreme ? 0 : static_cast<size_t>(chunks));
  std::vector<T> best(is_extreme ? static_cast<size_t>(chunks) : 0);
  std::vector<int64_t> at(is_extreme ? static_cast<size_t>(chunks) : 0);
  parallel_for(chunks, kChunk, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      const int64_t f0 = c * kChunk, f1 = std::min(count, f0 + kChunk);
      const auto k = static_cast<size_t>(c);
      if (is_extreme) {
        T v;
        extreme_flat(op, run, p, f0, f1, v, at[k]);
        best[k] = v;  // through a local: std::vector<bool> has no T& elements
      } else {
        acc[k] = accumulate_flat<T>(op, run, p, f0, f1);
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
  const int64_t outputs = p.outputs(), count = p.count();
  const bool is_extreme = op == ReduceOp::Max || op == ReduceOp::Min;
  if (outputs <= kSplitMaxOutputs && count >= kSplitMinRun) {
    for (int64_t o = 0; o < outputs; ++o) split_run(op, in + p.base(o), p, out[o], indices ? indices + o : nullptr);
    return;
  }
  if (p.ks == 1 && p.rs != 1 && p.m > 1) {
    parallel_for(outputs, count, [&](int64_t b, int64_t e) {
      // [b, e) may span several batches: one segment of neighbouring columns per batch.
      for (int64_t o = b; o < e;) {
        const int64_t w = std::min(p.m - o % p.m, e - o);
        outer_columns(op, in + p.base(o), p, w, out + o, indices ? indices + o : nullptr);
        o += w;
      }
    });
    return;
  }
  parallel_for(outputs, count, [&](int64_t b, int64_t e) {
    for (int64_t o = b; o < e; ++o) {
      const T* run = in + p.base(o);
      if (is_extreme) {
        T v;
        int64_t at;
        extreme_flat(op, run, p, 0, count, v, at);
        out[o] = v;
        if (indices) indices[o] = at;
      } else {
        out[o] = static_cast<T>(accumulate_flat<T>(op, run, p, 0, count));
      }
    }
  });
}

// Collapses dims [begin, end) to (size, stride), or to an outer and an inner group split at
// the first point where both collapse; false when neither works.
bool collapse_group(const Shape& sizes, const Shape& strides, size_t begin, size_t end, int64_t& outer,
                    int64_t& outer_stride, int64_t& size, int64_t& stride) {
  outer = 1;
  outer_stride = 0;
  if (collapse(sizes, strides, begin, end, size, stride)) return true;
  for (size_t k = begin + 1; k < end; ++k)
    if (collapse(sizes, strides, begin, k, outer, outer_stride) && collapse(sizes, strides, k, end, size, stride))
      return true;
  return false;
}

}  // namespace

void reduce(ReduceOp op, const Tensor& input, const Shape& dims, const Tensor& out, const Tensor& indices) {
  static const char* names[] = {"sum", "prod", "max", "min"};
  check_cpu(input, names[static_cast<int>(op)]);
  Shape order;  // kept dims, then reduced dims
  for (int64_t d = 0, j = 0; d < input.dim(); ++d) {
    if (j < static_cast<int64_t>(dims.size()) && dims[j] == d) ++j;
    else order.push_back(d);
  }
  const size_t kept = order.size();
  for (int64_t d : dims) order.push_back(d);
  if (!indices.defined()) {
    // Without indices the reduction order is free: largest stride first lets a permuted
    // input collapse (a full sum of a transpose reads memory in order).
    std::stable_sort(order.begin() + kept, order.end(),
                     [&](int64_t a, int64_t b) { return input.strides()[a] > input.strides()[b]; });
  }
  Shape sizes, strides;
  for (int64_t d : order) {
    sizes.push_back(input.sizes()[d]);
    strides.push_back(input.strides()[d]);
  }

  Plan p;
  Tensor in = input;
  if (!collapse_group(sizes, strides, 0, kept, p.batch, p.bs, p.m, p.ks) ||
      !collapse_group(sizes, strides, kept, sizes.size(), p.q, p.rso, p.n, p.rs)) {
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
    if (p.count() == 0) {
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
