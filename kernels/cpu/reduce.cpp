// Reductions (sum, prod, max, min with indices).
//
// The op layer hands over the input and the sorted dims to reduce. Kept dims go first and
// reduced dims last; each group is collapsed. What remains is a 2-D problem
//   out[m] = reduce over r of in[m * ks + r * rs]
// solved in one of two loop orders:
//   - inner: each output element reduces a run of inputs (rs == 1 is the vectorized case);
//   - outer: when the kept dim is the contiguous one (ks == 1, e.g. a column sum), whole
//     input rows are added into the output row, which keeps memory access sequential.
// Layouts that do not collapse to 2-D are first copied into (kept..., reduced...) order.
#include <cmath>
#include <limits>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loop.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cpu {
namespace {

template <class T> struct Acc { using type = T; };
template <> struct Acc<float> { using type = double; };
template <> struct Acc<bool> { using type = int64_t; };

struct Plan {
  int64_t m = 1, n = 1, ks = 0, rs = 0, offset = 0;
};

// Collapses a group of dims (sizes, strides) to one; false when they are not contiguous
// with each other.
bool collapse(const Shape& sizes, const Shape& strides, int64_t& size, int64_t& stride) {
  size = 1;
  stride = 0;
  bool first = true;
  for (size_t i = sizes.size(); i-- > 0;) {
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

template <class T>
void reduce_2d(ReduceOp op, const T* in, const Plan& p, T* out, int64_t* indices) {
  using A = typename Acc<T>::type;
  const bool outer = p.ks == 1 && p.rs != 1 && p.m > 1;
  if (op == ReduceOp::Sum || op == ReduceOp::Prod) {
    const A init = op == ReduceOp::Sum ? A(0) : A(1);
    if (outer) {
      parallel_for(p.m, p.n, [&](int64_t b, int64_t e) {
        std::vector<A> acc(static_cast<size_t>(e - b), init);
        for (int64_t r = 0; r < p.n; ++r) {
          const T* row = in + r * p.rs + b;
          A* __restrict__ a = acc.data();
          if (op == ReduceOp::Sum) {
            for (int64_t i = 0; i < e - b; ++i) a[i] += static_cast<A>(row[i]);
          } else {
            for (int64_t i = 0; i < e - b; ++i) a[i] *= static_cast<A>(row[i]);
          }
        }
        for (int64_t i = b; i < e; ++i) out[i] = static_cast<T>(acc[static_cast<size_t>(i - b)]);
      });
      return;
    }
    parallel_for(p.m, p.n, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        const T* run = in + i * p.ks;
        A acc = init;
        if (op == ReduceOp::Sum && p.rs == 1) {
#pragma omp simd reduction(+ : acc)
          for (int64_t r = 0; r < p.n; ++r) acc += static_cast<A>(run[r]);
        } else if (op == ReduceOp::Sum) {
          for (int64_t r = 0; r < p.n; ++r) acc += static_cast<A>(run[r * p.rs]);
        } else {
          for (int64_t r = 0; r < p.n; ++r) acc *= static_cast<A>(run[r * p.rs]);
        }
        out[i] = static_cast<T>(acc);
      }
    });
    return;
  }
  // Max and Min: the first extreme wins ties; NaN wins over numbers, as in PyTorch.
  parallel_for(p.m, p.n, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      const T* run = in + i * p.ks;
      T best = run[0];
      int64_t at = 0;
      for (int64_t r = 1; r < p.n; ++r) {
        T v = run[r * p.rs];
        if (is_better(op, v, best)) {
          best = v;
          at = r;
        }
      }
      out[i] = best;
      if (indices) indices[i] = at;
    }
  });
}

}  // namespace

void reduce(ReduceOp op, const Tensor& input, const Shape& dims, const Tensor& out, const Tensor& indices) {
  Shape kept_sizes, kept_strides, red_sizes, red_strides, order;
  for (int64_t d = 0, j = 0; d < input.dim(); ++d) {
    bool reduced = j < static_cast<int64_t>(dims.size()) && dims[j] == d;
    if (reduced) ++j;
    (reduced ? red_sizes : kept_sizes).push_back(input.sizes()[d]);
    (reduced ? red_strides : kept_strides).push_back(input.strides()[d]);
  }
  for (int64_t d = 0, j = 0; d < input.dim(); ++d) {
    if (j < static_cast<int64_t>(dims.size()) && dims[j] == d) ++j;
    else order.push_back(d);
  }
  for (int64_t d : dims) order.push_back(d);

  Plan p;
  Tensor in = input;
  p.offset = 0;
  if (!collapse(kept_sizes, kept_strides, p.m, p.ks) || !collapse(red_sizes, red_strides, p.n, p.rs)) {
    // Copy into (kept..., reduced...) order; then it is a contiguous [m, n] matrix.
    Shape perm_sizes, perm_strides;
    for (int64_t d : order) {
      perm_sizes.push_back(input.sizes()[d]);
      perm_strides.push_back(input.strides()[d]);
    }
    Tensor permuted = internal::alias(input, perm_sizes, perm_strides, input.storage_offset());
    in = internal::new_tensor(perm_sizes, input.dtype(), input.device());
    copy(permuted, in);
    p.m = shape_numel(kept_sizes);
    p.n = shape_numel(red_sizes);
    p.ks = p.n;
    p.rs = 1;
  }
  if (p.m == 0) return;
  dispatch_all(input.dtype(), "reduce", [&]<class T>() {
    T* o = out.impl()->data_as<T>();
    if (p.n == 0) {
      const T init = op == ReduceOp::Prod ? T(1) : T(0);
      for (int64_t i = 0; i < p.m; ++i) o[i] = init;
      return;
    }
    reduce_2d<T>(op, in.impl()->data_as<T>(), p, o, indices.defined() ? indices.impl()->data_as<int64_t>() : nullptr);
  });
}

}  // namespace ember::kernels::cpu
