// LayerNorm over the rows of a contiguous [rows, cols] array on the GPU, forward and
// backward (the twin of kernels/cpu/layer_norm.cpp).
//
// Like softmax.cu, a row's values stay in registers between its reductions and its write, so
// the forward reads x once and writes y once (plus 2 numbers per row), as a copy would:
//   - cols <= 1024: one warp per row (4 rows per block of 128 threads), kPer = 1..32 values
//     per lane at lane + 32 * i (each load of the warp is 32 consecutive elements);
//   - cols <= 8192: one block of 512 threads per row, kPer = 4..16;
//   - longer rows: one block of 1024 threads per row; the forward runs Welford's update per
//     thread (a stable mean and M2 in one read), merges the threads' triples (Chan et al.),
//     and reads the row again to write y; the backward reads dy and x twice.
// Mean and variance are two passes over the registers (the variance sums (x - mean)^2: no
// cancellation). float32 sums in float32, as the other CUDA kernels here do.
//
// Backward: dx per row as on the CPU (two sums per row, reduced together). dweight and dbias
// are column sums over the rows, done by a separate pair of kernels (NOTE [ Column sums ]).
#include <algorithm>
#include <cstdint>
#include <type_traits>

#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels_cuda.h"
#include "kernels/cuda/rows.cuh"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cuda {
namespace {

using namespace rows;  // the shared launch plan (rows.cuh)

__device__ __forceinline__ float sqrt_(float x) { return sqrtf(x); }
__device__ __forceinline__ double sqrt_(double x) { return sqrt(x); }

template <class T>
__device__ __forceinline__ T warp_sum(T v) {
#pragma unroll
  for (int mask = 16; mask > 0; mask >>= 1) v += __shfl_xor_sync(0xffffffffu, v, mask);
  return v;  // the same bits in every lane: a + b == b + a exactly
}

// Sums a and b over the row's group: the warp, or the whole block (blockDim.x a multiple of
// 32). Every thread of the group must call it; every one gets the totals.
template <bool kWarp, class T>
__device__ __forceinline__ void group_sum2(T& a, T& b, T (&scratch)[2][32]) {
  a = warp_sum(a);
  b = warp_sum(b);
  if constexpr (!kWarp) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
      scratch[0][warp] = a;
      scratch[1][warp] = b;
    }
    __syncthreads();
    const bool live = lane < static_cast<int>(blockDim.x >> 5);
    a = warp_sum(live ? scratch[0][lane] : T(0));
    b = warp_sum(live ? scratch[1][lane] : T(0));
    __syncthreads();  // the scratch is free again
  }
}

// ---- forward -----------------------------------------------------------------------------------

template <class T, int kPer, bool kWarp>
__global__ void __launch_bounds__(kWarp ? 32 * kWarpRowsPerBlock : kRowThreads)
    forward_cached_kernel(const T* in, const T* w, const T* b, T* out, T* mean_out, T* rstd_out, int64_t rows,
                          int cols, T eps) {
  __shared__ T scratch[2][32];
  const RowSlot<kWarp> s;
  if (s.row >= rows) return;  // whole warps only (warp mode; in block mode every row exists)
  const T* x = in + s.row * cols;
  T* y = out + s.row * cols;
  T v[kPer];
  T sum = 0, unused = 0;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    v[i] = c < cols ? x[c] : T(0);
    sum += v[i];
  }
  group_sum2<kWarp>(sum, unused, scratch);
  const T mean = sum / static_cast<T>(cols);  // cols == 0: NaN, as on the CPU
  T sq = 0;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const T d = s.lane + i * s.width < cols ? v[i] - mean : T(0);
    sq += d * d;
  }
  group_sum2<kWarp>(sq, unused, scratch);
  const T rstd = T(1) / sqrt_(sq / static_cast<T>(cols) + eps);
  if (s.lane == 0) {
    mean_out[s.row] = mean;
    rstd_out[s.row] = rstd;
  }
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    if (c >= cols) continue;
    T o = (v[i] - mean) * rstd;
    if (w != nullptr) o *= w[c];
    if (b != nullptr) o += b[c];
    y[c] = o;
  }
}

// Merges Welford triple (nb, mb, m2b) into (n, m, m2) (Chan et al.); either may be empty.
template <class T>
__device__ __forceinline__ void welford_merge(int& n, T& m, T& m2, int nb, T mb, T m2b) {
  const int nt = n + nb;
  if (nt == 0) return;
  const T d = mb - m, f = static_cast<T>(nb) / static_cast<T>(nt);
  m += d * f;
  m2 += m2b + d * d * static_cast<T>(n) * f;
  n = nt;
}

template <class T>
__device__ __forceinline__ void welford_warp(int& n, T& m, T& m2) {
#pragma unroll
  for (int mask = 16; mask > 0; mask >>= 1) {
    const int nb = __shfl_xor_sync(0xffffffffu, n, mask);
    const T mb = __shfl_xor_sync(0xffffffffu, m, mask), m2b = __shfl_xor_sync(0xffffffffu, m2, mask);
    welford_merge(n, m, m2, nb, mb, m2b);
  }
}

template <class T>
__global__ void __launch_bounds__(kLongThreads)
    forward_long_kernel(const T* in, const T* w, const T* b, T* out, T* mean_out, T* rstd_out, int cols, T eps) {
  __shared__ T sm[32], sm2[32];
  __shared__ int sn[32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  const T* x = in + base;
  T* y = out + base;
  int n = 0;
  T m = 0, m2 = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const T v = x[c];
    ++n;
    const T d = v - m;
    m += d / static_cast<T>(n);
    m2 += d * (v - m);
  }
  // The merges are not symmetric in rounding, so lanes may end with different bits: only
  // lane 0 of each warp, then thread 0, is used, and thread 0's result is broadcast.
  welford_warp(n, m, m2);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    sn[warp] = n;
    sm[warp] = m;
    sm2[warp] = m2;
  }
  __syncthreads();
  if (warp == 0) {
    const bool live = lane < static_cast<int>(blockDim.x >> 5);
    n = live ? sn[lane] : 0;
    m = live ? sm[lane] : T(0);
    m2 = live ? sm2[lane] : T(0);
    welford_warp(n, m, m2);
    if (lane == 0) {
      sm[0] = m;
      sm2[0] = T(1) / sqrt_(m2 / static_cast<T>(cols) + eps);
    }
  }
  __syncthreads();
  const T mean = sm[0], rstd = sm2[0];
  if (threadIdx.x == 0) {
    mean_out[blockIdx.x] = mean;
    rstd_out[blockIdx.x] = rstd;
  }
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    T o = (x[c] - mean) * rstd;
    if (w != nullptr) o *= w[c];
    if (b != nullptr) o += b[c];
    y[c] = o;
  }
}

// ---- backward: dx ------------------------------------------------------------------------------
// g = dy * w, xhat = (x - mean) * rstd: dx = rstd * (g - mean(g) - xhat * mean(g * xhat)).

template <class T, int kPer, bool kWarp>
__global__ void __launch_bounds__(kWarp ? 32 * kWarpRowsPerBlock : kRowThreads)
    backward_cached_kernel(const T* dy, const T* in, const T* mean, const T* rstd, const T* w, T* dx, int64_t rows,
                           int cols) {
  __shared__ T scratch[2][32];
  const RowSlot<kWarp> s;
  if (s.row >= rows) return;
  const int64_t base = s.row * cols;
  const T m = mean[s.row], r = rstd[s.row];
  T g[kPer], xh[kPer];
  T sg = 0, sgx = 0;
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    g[i] = c < cols ? dy[base + c] * (w != nullptr ? w[c] : T(1)) : T(0);
    xh[i] = c < cols ? (in[base + c] - m) * r : T(0);
    sg += g[i];
    sgx += g[i] * xh[i];
  }
  group_sum2<kWarp>(sg, sgx, scratch);
  const T a = sg / static_cast<T>(cols), bx = sgx / static_cast<T>(cols);
#pragma unroll
  for (int i = 0; i < kPer; ++i) {
    const int c = s.lane + i * s.width;
    if (c < cols) dx[base + c] = r * (g[i] - a - xh[i] * bx);
  }
}

template <class T>
__global__ void __launch_bounds__(kLongThreads) backward_long_kernel(const T* dy, const T* in, const T* mean,
                                                                     const T* rstd, const T* w, T* dx, int cols) {
  __shared__ T scratch[2][32];
  const int64_t base = static_cast<int64_t>(blockIdx.x) * cols;
  const T m = mean[blockIdx.x], r = rstd[blockIdx.x];
  T sg = 0, sgx = 0;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const T g = dy[base + c] * (w != nullptr ? w[c] : T(1));
    sg += g;
    sgx += g * (in[base + c] - m) * r;
  }
  group_sum2<false>(sg, sgx, scratch);
  const T a = sg / static_cast<T>(cols), bx = sgx / static_cast<T>(cols);
  for (int c = threadIdx.x; c < cols; c += blockDim.x) {
    const T g = dy[base + c] * (w != nullptr ? w[c] : T(1));
    dx[base + c] = r * (g - a - (in[base + c] - m) * r * bx);
  }
}

// ---- backward: dweight and dbias ---------------------------------------------------------------
// NOTE [ Column sums ]
// dweight[c] = sum_r dy[r, c] * xhat[r, c] and dbias[c] = sum_r dy[r, c] reduce over rows,
// across the layout the row kernels use. A block of 32 x 8 threads owns 32 columns of one
// chunk of rows: a warp reads 32 consecutive elements of a row (coalesced), the 8 warps
// take every 8th row, and shared memory adds the 8 partial sums. With one chunk (wide rows:
// enough blocks from the columns alone) the block writes dweight and dbias directly;
// otherwise each chunk writes its own partial row to a workspace [chunks, cols] and a second
// kernel adds the chunks in order. Atomics into dweight would save that small buffer, but
// float atomics add in whatever order blocks finish, so the bits would change from run to
// run; this way the result is deterministic, and no two blocks write the same address.

constexpr int kColTile = 32, kColRows = 8;
constexpr int kColBlocksWanted = 1024;  // about a full H100 (132 SMs x 8 blocks of 256)
constexpr int64_t kColMinChunkRows = 64;

int64_t column_chunks(int64_t rows, int64_t cols) {
  const int64_t tiles = (cols + kColTile - 1) / kColTile;
  int64_t chunks = std::max<int64_t>(1, kColBlocksWanted / std::max<int64_t>(tiles, 1));
  chunks = std::min(chunks, (rows + kColMinChunkRows - 1) / kColMinChunkRows);
  return std::max<int64_t>(chunks, 1);  // <= 1024: within gridDim.y's 65535
}

template <class T>
__global__ void __launch_bounds__(kColTile * kColRows)
    column_sums_kernel(const T* dy, const T* in, const T* mean, const T* rstd, T* sum_w, T* sum_b, int64_t rows,
                       int64_t cols, int64_t chunk_rows) {
  __shared__ T part_w[kColRows][kColTile + 1], part_b[kColRows][kColTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t c = static_cast<int64_t>(blockIdx.x) * kColTile + tx;
  const int64_t r0 = static_cast<int64_t>(blockIdx.y) * chunk_rows;
  const int64_t r1 = r0 + chunk_rows < rows ? r0 + chunk_rows : rows;
  T aw = 0, ab = 0;
  if (c < cols) {
    for (int64_t r = r0 + ty; r < r1; r += kColRows) {
      const T g = dy[r * cols + c];
      if (sum_w != nullptr) aw += g * ((in[r * cols + c] - mean[r]) * rstd[r]);
      ab += g;
    }
  }
  part_w[ty][tx] = aw;
  part_b[ty][tx] = ab;
  __syncthreads();
  if (ty != 0 || c >= cols) return;
  T tw = 0, tb = 0;
#pragma unroll
  for (int k = 0; k < kColRows; ++k) {
    tw += part_w[k][tx];
    tb += part_b[k][tx];
  }
  const int64_t o = static_cast<int64_t>(blockIdx.y) * cols + c;
  if (sum_w != nullptr) sum_w[o] = tw;
  if (sum_b != nullptr) sum_b[o] = tb;
}

template <class T>
__global__ void column_finish_kernel(const T* part_w, const T* part_b, T* dw, T* db, int64_t chunks, int64_t cols) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= cols) return;
  T tw = 0, tb = 0;
  for (int64_t k = 0; k < chunks; ++k) {
    if (dw != nullptr) tw += part_w[k * cols + c];
    if (db != nullptr) tb += part_b[k * cols + c];
  }
  if (dw != nullptr) dw[c] = tw;
  if (db != nullptr) db[c] = tb;
}

// ---- dispatch ----------------------------------------------------------------------------------

template <class T>
void forward_any(const T* x, const T* w, const T* b, T* y, T* mean, T* rstd, int64_t rows, int64_t cols, double eps,
                 cudaStream_t stream) {
  check_sizes("layer_norm", rows, cols);
  if (rows == 0) return;
  const int n = static_cast<int>(cols);
  const T e = static_cast<T>(eps);
  const bool cached = dispatch_cached(rows, n, [&](auto per, auto warp, unsigned grid, int threads) {
    forward_cached_kernel<T, decltype(per)::value, decltype(warp)::value>
        <<<grid, threads, 0, stream>>>(x, w, b, y, mean, rstd, rows, n, e);
  });
  if (!cached)
    forward_long_kernel<T><<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(x, w, b, y, mean, rstd, n, e);
  EMBER_CUDA_CHECK(cudaGetLastError());
}

template <class T>
void backward_any(const T* dy, const T* x, const T* mean, const T* rstd, const T* w, T* dx, T* dw, T* db,
                  int64_t rows, int64_t cols, T* workspace, cudaStream_t stream) {
  check_sizes("layer_norm_backward", rows, cols);
  if (cols == 0) return;
  if (rows == 0) {  // sums over no rows; a memset, no launch
    if (dw != nullptr) EMBER_CUDA_CHECK(cudaMemsetAsync(dw, 0, cols * sizeof(T), stream));
    if (db != nullptr) EMBER_CUDA_CHECK(cudaMemsetAsync(db, 0, cols * sizeof(T), stream));
    return;
  }
  const int n = static_cast<int>(cols);
  if (dx != nullptr) {
    const bool cached = dispatch_cached(rows, n, [&](auto per, auto warp, unsigned grid, int threads) {
      backward_cached_kernel<T, decltype(per)::value, decltype(warp)::value>
          <<<grid, threads, 0, stream>>>(dy, x, mean, rstd, w, dx, rows, n);
    });
    if (!cached)
      backward_long_kernel<T>
          <<<static_cast<unsigned>(rows), kLongThreads, 0, stream>>>(dy, x, mean, rstd, w, dx, n);
    EMBER_CUDA_CHECK(cudaGetLastError());
  }
  if (dw == nullptr && db == nullptr) return;
  const int64_t chunks = column_chunks(rows, cols);
  const int64_t chunk_rows = (rows + chunks - 1) / chunks;
  const dim3 grid(static_cast<unsigned>((cols + kColTile - 1) / kColTile), static_cast<unsigned>(chunks));
  const dim3 block(kColTile, kColRows);
  if (chunks == 1) {
    column_sums_kernel<T><<<grid, block, 0, stream>>>(dy, x, mean, rstd, dw, db, rows, cols, chunk_rows);
    EMBER_CUDA_CHECK(cudaGetLastError());
    return;
  }
  EMBER_CHECK(workspace != nullptr, "layer_norm_backward", "a workspace of ",
              layer_norm_backward_workspace(rows, cols), " elements is needed");
  T* part_w = dw != nullptr ? workspace : nullptr;
  T* part_b = db != nullptr ? workspace + chunks * cols : nullptr;
  column_sums_kernel<T><<<grid, block, 0, stream>>>(dy, x, mean, rstd, part_w, part_b, rows, cols, chunk_rows);
  EMBER_CUDA_CHECK(cudaGetLastError());
  constexpr int kFinishThreads = 256;
  column_finish_kernel<T><<<static_cast<unsigned>((cols + kFinishThreads - 1) / kFinishThreads), kFinishThreads, 0,
                            stream>>>(part_w, part_b, dw, db, chunks, cols);
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace

int64_t layer_norm_backward_workspace(int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return 0;
  const int64_t chunks = column_chunks(rows, cols);
  return chunks == 1 ? 0 : 2 * chunks * cols;
}

void layer_norm(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                int64_t rows, int64_t cols, double eps, cudaStream_t stream) {
  forward_any(x, weight, bias, y, mean, rstd, rows, cols, eps, stream);
}
void layer_norm(const double* x, const double* weight, const double* bias, double* y, double* mean, double* rstd,
                int64_t rows, int64_t cols, double eps, cudaStream_t stream) {
  forward_any(x, weight, bias, y, mean, rstd, rows, cols, eps, stream);
}
void layer_norm_backward(const float* dy, const float* x, const float* mean, const float* rstd, const float* weight,
                         float* dx, float* dweight, float* dbias, int64_t rows, int64_t cols, float* workspace,
                         cudaStream_t stream) {
  backward_any(dy, x, mean, rstd, weight, dx, dweight, dbias, rows, cols, workspace, stream);
}
void layer_norm_backward(const double* dy, const double* x, const double* mean, const double* rstd,
                         const double* weight, double* dx, double* dweight, double* dbias, int64_t rows, int64_t cols,
                         double* workspace, cudaStream_t stream) {
  backward_any(dy, x, mean, rstd, weight, dx, dweight, dbias, rows, cols, workspace, stream);
}

// ---- on Tensors (contiguous, as the op layer passes them) --------------------------------------

namespace {

template <class T>
T* ptr(const Tensor& t) {
  return t.defined() ? t.impl()->data_as<T>() : nullptr;
}

// Runs fn(T{}) for float32 and float64 (the op layer sends no other dtype).
template <class F>
void dispatch_float(ScalarType t, const char* op, F&& fn) {
  if (t == kFloat32) return fn(float{});
  EMBER_CHECK(t == kFloat64, op, "not implemented for CUDA tensors of dtype ", dtype_name(t));
  fn(double{});
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  const int64_t rows = mean.numel();
  if (rows == 0) return;
  const int64_t cols = x.numel() / rows;
  dispatch_float(x.dtype(), "layer_norm", [&](auto tag) {
    using T = decltype(tag);
    layer_norm(ptr<T>(x), ptr<T>(weight), ptr<T>(bias), ptr<T>(y), ptr<T>(mean), ptr<T>(rstd), rows, cols, eps, 0);
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  const int64_t rows = mean.numel();
  const int64_t cols = dweight.defined() ? dweight.numel()
                       : dbias.defined() ? dbias.numel()
                       : rows > 0        ? x.numel() / rows
                                         : 0;
  const int64_t ws = layer_norm_backward_workspace(rows, cols);
  Tensor workspace = ws > 0 && (dweight.defined() || dbias.defined())
                         ? internal::new_tensor({ws}, x.dtype(), x.device())
                         : Tensor();
  dispatch_float(x.dtype(), "layer_norm_backward", [&](auto tag) {
    using T = decltype(tag);
    layer_norm_backward(ptr<T>(dy), ptr<T>(x), ptr<T>(mean), ptr<T>(rstd), ptr<T>(weight), ptr<T>(dx),
                        ptr<T>(dweight), ptr<T>(dbias), rows, cols, ptr<T>(workspace), 0);
  });
}

}  // namespace ember::kernels::cuda
