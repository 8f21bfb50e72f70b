// softmax and log_softmax over the last dim of a contiguous [rows, cols] array, and their
// backward.
//
// Bandwidth is the cost: an ideal kernel reads each row once and writes it once, like a copy.
// So a row is kept in registers between its reductions and the write:
//   - cols <= 1024: one warp per row (4 rows per block of 128 threads); each lane holds
//     kPer = 1..32 values, lane + 32 * i, so each load of the warp is 32 consecutive elements;
//   - cols <= 8192: one block of 512 threads per row, kPer = 4..16 values per thread (more
//     would pass 128 registers a thread, the most a block of 512 can have);
//   - longer rows: one block per row, an online pass (running max and rescaled sum) then a
//     pass that writes: two reads instead of one.
// kPer is a template parameter (the next power of two of cols / threads) so the values stay
// in registers. Max and sum use warp shuffles (xor butterfly: every lane gets the result),
// and across warps a 32-entry shared scratch that each warp reduces itself.
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels_cuda.h"
#include "kernels/cuda/rows.cuh"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cuda {
namespace {

using namespace rows;  // the shared launch plan (rows.cuh)

template <class T>
__device__ __forceinline__ T neg_inf() {
  return -std::numeric_limits<T>::infinity();
}
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

struct MaxOp {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a > b ? a : b;
  }
};
struct SumOp {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

template <class T, class Op>
__device__ __forceinline__ T warp_allreduce(T v, Op op) {
#pragma unroll
  for (int mask = 16; mask > 0; mask >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, mask));
  return v;
}

// The reduction of v over the row's group: the warp, or the whole block (blockDim.x a
// multiple of 32). identity fills the lanes past the block's warp count.
template <bool kWarp, class T, class Op>
__device__ __forceinline__ T group_allreduce(T v, Op op, T identity, T* scratch) {
  v = warp_allreduce(v, op);
  if constexpr (!kWarp) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = lane < static_cast<int>(blockDim.x >> 5) ? scratch[lane] : identity;
    v = warp_allreduce(v, op);
    __syncthreads();  // the scratch is free again for the next reduction
  }
  return v;
}

// ---- forward -----------------------------------------------------------------------------------

// The launch bounds make sure a block's registers fit an SM (the compiler spills otherwise).
template <class T, int kPer, bool kWarp>
__global__ void __launch_bounds__(kWarp ? 32 * kWarpRowsPerBlock : kRowThreads)
    softmax_cached_kernel(const T* in, T* out, int64_t rows, int cols, bool log) {
  __shared__ T scratch[32];
  const RowSlot<kWarp> s;
  if (s.row >= rows) return;  // whole warps only (warp mode): no barrier is skipped
  const T* x = in + s.row * cols;
  T* y = out + s.row * cols;
  T v[kPer];
  T mx = neg_inf<T>();
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    v[i] = c < cols ? x[c] : neg_inf<T>();
    mx = v[i] > mx ? v[i] : mx;
  }
  mx = group_allreduce<kWarp>(mx, MaxOp{}, neg_inf<T>(), scratch);
  T sum = 0;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    // Padding lanes hold -inf: exp gives 0, and they are never written.
    const T e = exp_(v[i] - mx);
    sum += s.lane + i * s.width < cols ? e : T(0);
    v[i] = log ? v[i] - mx : e;
  }
  sum = group_allreduce<kWarp>(sum, SumOp{}, T(0), scratch);
  const T shift = log_(sum), scale = T(1) / sum;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    if (c < cols) y[c] = log ? v[i] - shift : v[i] * scale;
  }
}

// Rows too long for registers: each thread keeps a running max m and a sum s of exp(x - m),
// rescaling s when m grows, so max and sum take one read; a second read writes.
template <class T>
__global__ void __launch_bounds__(kLongThreads) softmax_long_kernel(const T* in, T* out, int cols, bool log) {
  __shared__ T scratch[32];
  const T* x = in + static_cast<int64_t>(blockIdx.x) * cols;
  T* y = out + static_cast<int64_t>(blockIdx.x) * cols;
  T m = neg_inf<T>(), s = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const T v = x[c];
    if (v > m) {
      s = s * exp_(m - v) + T(1);  // m = -inf at first: exp(-inf) = 0
      m = v;
    } else if (v != neg_inf<T>()) {  // -inf adds 0; skipping it avoids exp(-inf + inf) = NaN
      s += exp_(v - m);              // NaN lands here and makes the row NaN, as it should
    }
  }
  const T row_max = group_allreduce<false>(m, MaxOp{}, neg_inf<T>(), scratch);
  // m = -inf: the thread saw only -inf and NaN, so s is 0 or NaN; kept as it is (rescaling
  // would give exp(-inf + inf) = NaN for 0, and zeroing it would drop the NaN).
  s = m == neg_inf<T>() ? s : s * exp_(m - row_max);
  const T sum = group_allreduce<false>(s, SumOp{}, T(0), scratch);
  const T shift = row_max + log_(sum), scale = T(1) / sum;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) y[c] = log ? x[c] - shift : exp_(x[c] - row_max) * scale;
}

// ---- backward ----------------------------------------------------------------------------------

// softmax:     grad_in = y * (g - sum(g * y))
// log_softmax: grad_in = g - exp(y) * sum(g)
template <class T, int kPer, bool kWarp>
__global__ void __launch_bounds__(kWarp ? 32 * kWarpRowsPerBlock : kRowThreads)
    softmax_backward_cached_kernel(const T* grad_out, const T* out, T* grad_in, int64_t rows, int cols, bool log) {
  __shared__ T scratch[32];
  const RowSlot<kWarp> s;
  if (s.row >= rows) return;
  const T* g = grad_out + s.row * cols;
  const T* y = out + s.row * cols;
  T* gi = grad_in + s.row * cols;
  T gv[kPer], yv[kPer];
  T dot = 0;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    gv[i] = c < cols ? g[c] : T(0);
    yv[i] = c < cols ? y[c] : T(0);
    dot += log ? gv[i] : gv[i] * yv[i];
  }
  dot = group_allreduce<kWarp>(dot, SumOp{}, T(0), scratch);
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    if (c < cols) gi[c] = log ? gv[i] - exp_(yv[i]) * dot : yv[i] * (gv[i] - dot);
  }
}

template <class T>
__global__ void __launch_bounds__(kLongThreads)
    softmax_backward_long_kernel(const T* grad_out, const T* out, T* grad_in, int cols, bool log) {
  __shared__ T scratch[32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  const T* g = grad_out + base;
  const T* y = out + base;
  T* gi = grad_in + base;
  T dot = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) dot += log ? g[c] : g[c] * y[c];
  dot = group_allreduce<false>(dot, SumOp{}, T(0), scratch);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) gi[c] = log ? g[c] - exp_(y[c]) * dot : y[c] * (g[c] - dot);
}

// ---- dispatch ----------------------------------------------------------------------------------

template <class T>
void softmax_any(const T* in, T* out, int64_t rows, int64_t cols, bool log, cudaStream_t stream) {
  if (!check_sizes("softmax", rows, cols)) return;
  const int n = static_cast<int>(cols);
  const bool cached = dispatch_cached(rows, n, [&](auto per, auto warp, unsigned grid, int threads) {
    softmax_cached_kernel<T, decltype(per)::value, decltype(warp)::value>
        <<<grid, threads, 0, stream>>>(in, out, rows, n, log);
  });
  if (!cached) softmax_long_kernel<T><<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(in, out, n, log);
  EMBER_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void softmax_backward_any(const T* grad_out, const T* out, T* grad_in, int64_t rows, int64_t cols, bool log,
                          cudaStream_t stream) {
  if (!check_sizes("softmax_backward", rows, cols)) return;
  const int n = static_cast<int>(cols);
  const bool cached = dispatch_cached(rows, n, [&](auto per, auto warp, unsigned grid, int threads) {
    softmax_backward_cached_kernel<T, decltype(per)::value, decltype(warp)::value>
        <<<grid, threads, 0, stream>>>(grad_out, out, grad_in, rows, n, log);
  });
  if (!cached)
    softmax_backward_long_kernel<T>
        <<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(grad_out, out, grad_in, n, log);
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

void softmax(const float* in, float* out, int64_t rows, int64_t cols, bool log, cudaStream_t stream) {
  softmax_any(in, out, rows, cols, log, stream);
}
void softmax(const double* in, double* out, int64_t rows, int64_t cols, bool log, cudaStream_t stream) {
  softmax_any(in, out, rows, cols, log, stream);
}
void softmax_backward(const float* grad_out, const float* out, float* grad_in, int64_t rows, int64_t cols, bool log,
                      cudaStream_t stream) {
  softmax_backward_any(grad_out, out, grad_in, rows, cols, log, stream);
}
void softmax_backward(const double* grad_out, const double* out, double* grad_in, int64_t rows, int64_t cols, bool log,
                      cudaStream_t stream) {
  softmax_backward_any(grad_out, out, grad_in, rows, cols, log, stream);
}

// ---- on Tensors: any dim, any strides ----------------------------------------------------------

namespace {

// t viewed with dim moved last (no copy).
Tensor dim_last(const Tensor& t, int64_t dim) {
  if (t.dim() == 0 || dim == t.dim() - 1) return t;
  Shape sizes, strides;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d == dim) continue;
    sizes.push_back(t.sizes()[d]);
    strides.push_back(t.strides()[d]);
  }
  sizes.push_back(t.sizes()[dim]);
  strides.push_back(t.strides()[dim]);
  return internal::alias(t, sizes, strides, t.storage_offset());
}

// t itself when contiguous, else a contiguous copy.
Tensor packed(const Tensor& t) {
  if (t.is_contiguous()) return t;
  Tensor out = internal::new_tensor(t.sizes(), t.dtype(), t.device());
  copy(t, out);
  return out;
}

// Runs fn(T{}) for float32 and float64 (the op layer has refused the others).
template <class F>
void dispatch_float(ScalarType t, const char* op, F&& fn) {
  if (t == kFloat32) return fn(float{});
  EMBER_CHECK(t == kFloat64, op, "not implemented for CUDA tensors of dtype ", dtype_name(t));
  fn(double{});
}

// A contiguous tensor to write dst's values into: dst itself when contiguous, else a
// temporary that finish() copies over.
struct Target {
  Tensor dst, buf;
  explicit Target(const Tensor& d)
      : dst(d), buf(d.is_contiguous() ? d : internal::new_tensor(d.sizes(), d.dtype(), d.device())) {}
  void finish() const {
    if (buf.impl() != dst.impl()) copy(buf, dst);
  }
};

}  // namespace

// The softmax dim is moved last by a view; when that view is not contiguous (dim is not the
// last one) the input is copied into that order and the result copied back: a softmax over
// a middle dim costs two extra passes over memory, one over the last dim none.
void softmax(const Tensor& in, int64_t dim, bool log, const Tensor& out) {
  if (in.numel() == 0) return;
  const int64_t cols = in.dim() == 0 ? 1 : in.sizes()[dim];
  const int64_t rows = in.numel() / cols;
  Tensor x = packed(dim_last(in, dim));
  Target y(dim_last(out, dim));
  dispatch_float(in.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    softmax(x.impl()->data_as<T>(), y.buf.impl()->data_as<T>(), rows, cols, log, 0);
  });
  y.finish();
}

void softmax_backward(const Tensor& grad_out, const Tensor& out, int64_t dim, bool log, const Tensor& grad_in) {
  if (grad_in.numel() == 0) return;
  const int64_t cols = out.dim() == 0 ? 1 : out.sizes()[dim];
  const int64_t rows = out.numel() / cols;
  Tensor g = packed(dim_last(grad_out, dim)), y = packed(dim_last(out, dim));
  Target gi(dim_last(grad_in, dim));
  dispatch_float(out.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    softmax_backward(g.impl()->data_as<T>(), y.impl()->data_as<T>(), gi.buf.impl()->data_as<T>(), rows, cols, log, 0);
  });
  gi.finish();
}

}  // namespace ember::kernels::cuda
