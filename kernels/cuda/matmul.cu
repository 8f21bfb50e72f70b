// GEMM on the GPU: cuBLAS (the default) and our own tiled SGEMM.
//
// Row-major through cuBLAS: cuBLAS is column-major, and a row-major [r, c] matrix with row
// stride ld is the same memory as a column-major [c, r] one with leading dim ld, i.e. its
// transpose. So row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: call cuBLAS
// with the operands swapped (B first), m and n swapped, and the same transpose flags.
//
// The tiled kernel (for teaching and benchmarks; see docs/benchmarks.md for its figures):
//   - each block of 256 threads computes a 128 x 128 tile of C, walking k in steps of 8;
//   - A's 128 x 8 and B's 8 x 128 slices go through shared memory, both stored k-major
//     (As[k][m], Bs[k][n]) so the inner loop reads 4 consecutive values with one float4;
//   - each thread accumulates an 8 x 8 micro-tile in registers: rows ty*4..+3 and 64+ty*4..+3,
//     columns tx*4..+3 and 64+tx*4..+3. Splitting the 8 into two groups of 4 that lie 64 apart
//     makes a warp's float4 reads of Bs cover 256 consecutive bytes (no bank conflicts);
//   - global loads are float4 when the operand is 16-byte aligned and the 4 values are in
//     bounds, scalar with zero fill otherwise (edges, odd leading dims, offset pointers);
//   - double buffering: the next k-slice is loaded into registers while the current one is
//     multiplied out of shared memory, then stored into the other buffer: one barrier per step.
#include <algorithm>
#include <atomic>
#include <climits>
#include <mutex>
#include <type_traits>
#include <vector>

#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels_cuda.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cuda {
namespace {

std::atomic<MatmulBackend> g_backend{MatmulBackend::Cublas};

// ---- cuBLAS handles ----------------------------------------------------------------------------

// One handle per device, created on first use. A handle is bound to the device that was
// current when it was created, so they are kept per device. They are never destroyed: at
// process exit the CUDA runtime may already be torn down, and cublasDestroy would then fail.
// The mutex is held across set-stream + enqueue so two threads never race on one handle.
std::mutex g_handle_mutex;
std::vector<cublasHandle_t> g_handles;

cublasHandle_t handle_for_current_device() {
  int device = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  if (static_cast<size_t>(device) >= g_handles.size()) g_handles.resize(device + 1, nullptr);
  if (!g_handles[device]) {
    cublasHandle_t h = nullptr;
    EMBER_CUBLAS_CHECK(cublasCreate(&h));
    // FP32 stays FP32: no TF32 tensor cores, so results match the CPU to float rounding and
    // the tiled kernel is compared with cuBLAS at the same precision.
    EMBER_CUBLAS_CHECK(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH));
    g_handles[device] = h;
  }
  return g_handles[device];
}

// ---- argument checks ---------------------------------------------------------------------------

struct Dims {
  int m, n, k;
};

// cuBLAS takes int sizes; leading dims must cover a row. ld may be anything when the dim it
// spans is empty (lda = k = 0 is fine), so cuBLAS gets at least 1.
Dims check_dims(bool ta, bool tb, int64_t m, int64_t n, int64_t k, int64_t lda, int64_t ldb, int64_t ldc,
                int64_t batch) {
  EMBER_CHECK(m >= 0 && n >= 0 && k >= 0 && batch >= 0, "gemm", "negative size: m=", m, " n=", n, " k=", k,
              " batch=", batch);
  EMBER_CHECK(m <= INT_MAX && n <= INT_MAX && k <= INT_MAX && batch <= INT_MAX, "gemm", "sizes must fit in int: m=", m,
              " n=", n, " k=", k, " batch=", batch);
  EMBER_CHECK(lda >= (ta ? m : k) && ldb >= (tb ? k : n) && ldc >= n, "gemm", "leading dims too small: lda=", lda,
              " ldb=", ldb, " ldc=", ldc, " for m=", m, " n=", n, " k=", k, ta ? " (A transposed)" : "",
              tb ? " (B transposed)" : "");
  return {static_cast<int>(m), static_cast<int>(n), static_cast<int>(k)};
}

// cuBLAS's leading dims are int too (the tiled kernel's are int64): a view whose row stride
// passes INT_MAX (a narrow slice of a very wide tensor) would be truncated, so it is refused
// here, before any CUDA call; matmul() on Tensors packs such an operand instead.
int ld_for_cublas(int64_t ld) {
  EMBER_CHECK(ld <= INT_MAX, "gemm", "leading dim ", ld, " does not fit in cuBLAS's int");
  return static_cast<int>(std::max<int64_t>(ld, 1));
}

// ---- k = 0: C = beta * C -----------------------------------------------------------------------

// op(A) @ op(B) is all zeros when k = 0; both backends come here so neither relies on how
// cuBLAS treats k = 0. beta == 0 writes zeros without reading C (which may hold NaNs).
template <class T>
__global__ void scale_kernel(T* c, int m, int n, int64_t ldc, int64_t stride_c, T beta) {
  T* cb = c + static_cast<int64_t>(blockIdx.z) * stride_c;
  const int64_t total = static_cast<int64_t>(m) * n;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    T* p = cb + (i / n) * ldc + (i % n);
    *p = beta == T(0) ? T(0) : beta * *p;
  }
}

template <class T>
void scale_c(T* c, int m, int n, int64_t ldc, int64_t stride_c, int64_t batch, T beta, cudaStream_t stream) {
  const int64_t total = static_cast<int64_t>(m) * n;
  const int blocks = static_cast<int>(std::min<int64_t>((total + 255) / 256, 1024));
  for (int64_t b0 = 0; b0 < batch; b0 += 65535) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(batch - b0, 65535));
    scale_kernel<T><<<dim3(blocks, 1, chunk), 256, 0, stream>>>(c + b0 * stride_c, m, n, ldc, stride_c, beta);
    EMBER_CUDA_CHECK(cudaGetLastError());
  }
}

// ---- the tiled SGEMM ---------------------------------------------------------------------------

constexpr int kBM = 128;  // rows of C per block
constexpr int kBN = 128;  // columns of C per block
constexpr int kBK = 8;    // k per shared-memory slice
constexpr int kThreads = 256;
constexpr int kPad = 4;  // shared rows of 132 floats: transposed stores hit distinct banks, rows stay 16-byte aligned
// float4 loads per thread per slice of A (128 x 8 = 1024 floats = 256 float4) and of B.
constexpr int kLoadsA = kBM * kBK / (4 * kThreads);
constexpr int kLoadsB = kBN * kBK / (4 * kThreads);
static_assert(kLoadsA >= 1 && kLoadsB >= 1, "each thread loads at least one float4 of each operand");

// Four values of a row-major matrix p (row stride ld): p[outer][inner .. inner+3], zero
// where outside [outer_size, inner_size). inner is a multiple of 4, so when the matrix is
// 16-byte aligned with ld % 4 == 0 (vec) the four are one aligned float4.
__device__ __forceinline__ void load4(const float* __restrict__ p, int64_t ld, int outer, int inner, int outer_size,
                                      int inner_size, bool vec, float (&v)[4]) {
  const float* row = p + static_cast<int64_t>(outer) * ld + inner;
  if (vec && outer < outer_size && inner + 3 < inner_size) {
    const float4 t = *reinterpret_cast<const float4*>(row);
    v[0] = t.x, v[1] = t.y, v[2] = t.z, v[3] = t.w;
  } else {
#pragma unroll
    for (int j = 0; j < 4; ++j) v[j] = (outer < outer_size && inner + j < inner_size) ? row[j] : 0.0f;
  }
}

// Where load number l of thread tid sits in a slice stored [rows][cols] in global memory
// with cols / 4 float4 per row: (row, first column).
template <int kCols>
__device__ __forceinline__ void slice_coords(int tid, int l, int& r, int& c) {
  const int idx = tid + l * kThreads;
  r = idx / (kCols / 4);
  c = (idx % (kCols / 4)) * 4;
}

// One k-slice of op(A) (kBM x kBK) from global memory into registers. Not transposed, A is
// [m][k] and the slice is 128 rows of 8; transposed, A is [k][m] and the slice is 8 rows of 128.
template <bool kTransA>
__device__ __forceinline__ void load_a(const float* __restrict__ a, int64_t lda, int m, int k, int bm, int k0, bool vec,
                                       float (&ra)[kLoadsA][4]) {
#pragma unroll
  for (int l = 0; l < kLoadsA; ++l) {
    int r, c;
    if (!kTransA) {
      slice_coords<kBK>(threadIdx.x, l, r, c);  // r: row of the tile (m), c: k
      load4(a, lda, bm + r, k0 + c, m, k, vec, ra[l]);
    } else {
      slice_coords<kBM>(threadIdx.x, l, r, c);  // r: k, c: row of the tile (m)
      load4(a, lda, k0 + r, bm + c, k, m, vec, ra[l]);
    }
  }
}

// Stores the registers of load_a into As[k][m].
template <bool kTransA>
__device__ __forceinline__ void store_a(float (*as)[kBM + kPad], const float (&ra)[kLoadsA][4]) {
#pragma unroll
  for (int l = 0; l < kLoadsA; ++l) {
    int r, c;
    if (!kTransA) {
      slice_coords<kBK>(threadIdx.x, l, r, c);
#pragma unroll
      for (int j = 0; j < 4; ++j) as[c + j][r] = ra[l][j];
    } else {
      slice_coords<kBM>(threadIdx.x, l, r, c);
      *reinterpret_cast<float4*>(&as[r][c]) = make_float4(ra[l][0], ra[l][1], ra[l][2], ra[l][3]);
    }
  }
}

// One k-slice of op(B) (kBK x kBN). Not transposed, B is [k][n]: 8 rows of 128; transposed,
// B is [n][k]: 128 rows of 8.
template <bool kTransB>
__device__ __forceinline__ void load_b(const float* __restrict__ b, int64_t ldb, int n, int k, int bn, int k0, bool vec,
                                       float (&rb)[kLoadsB][4]) {
#pragma unroll
  for (int l = 0; l < kLoadsB; ++l) {
    int r, c;
    if (!kTransB) {
      slice_coords<kBN>(threadIdx.x, l, r, c);  // r: k, c: column of the tile (n)
      load4(b, ldb, k0 + r, bn + c, k, n, vec, rb[l]);
    } else {
      slice_coords<kBK>(threadIdx.x, l, r, c);  // r: column of the tile (n), c: k
      load4(b, ldb, bn + r, k0 + c, n, k, vec, rb[l]);
    }
  }
}

// Stores the registers of load_b into Bs[k][n].
template <bool kTransB>
__device__ __forceinline__ void store_b(float (*bs)[kBN + kPad], const float (&rb)[kLoadsB][4]) {
#pragma unroll
  for (int l = 0; l < kLoadsB; ++l) {
    int r, c;
    if (!kTransB) {
      slice_coords<kBN>(threadIdx.x, l, r, c);
      *reinterpret_cast<float4*>(&bs[r][c]) = make_float4(rb[l][0], rb[l][1], rb[l][2], rb[l][3]);
    } else {
      slice_coords<kBK>(threadIdx.x, l, r, c);
#pragma unroll
      for (int j = 0; j < 4; ++j) bs[c + j][r] = rb[l][j];
    }
  }
}

// Writes 4 consecutive outputs C[row][col..col+3] = alpha * acc + beta * C.
// acc comes by value: a pointer into the accumulator array could push it to local memory.
__device__ __forceinline__ void store_c4(float* c, int64_t ldc, int m, int n, int row, int col, float4 v, float alpha,
                                         float beta, bool vec) {
  if (row >= m) return;
  float* p = c + static_cast<int64_t>(row) * ldc + col;
  if (vec && col + 3 < n) {
    float4 out = make_float4(alpha * v.x, alpha * v.y, alpha * v.z, alpha * v.w);
    if (beta != 0.0f) {
      const float4 old = *reinterpret_cast<const float4*>(p);
      out.x += beta * old.x, out.y += beta * old.y, out.z += beta * old.z, out.w += beta * old.w;
    }
    *reinterpret_cast<float4*>(p) = out;
  } else {
    const float acc[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
    for (int j = 0; j < 4; ++j)
      if (col + j < n) p[j] = beta != 0.0f ? alpha * acc[j] + beta * p[j] : alpha * acc[j];
  }
}

struct TiledArgs {
  int m, n, k;
  float alpha, beta;
  const float* a;
  int64_t lda, stride_a;
  const float* b;
  int64_t ldb, stride_b;
  float* c;
  int64_t ldc, stride_c;
  bool vec_a, vec_b, vec_c;  // float4 access allowed (16-byte aligned, ld and stride % 4 == 0)
};

template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kThreads, 2) sgemm_tiled_kernel(TiledArgs p) {
  __shared__ __align__(16) float as[2][kBK][kBM + kPad];
  __shared__ __align__(16) float bs[2][kBK][kBN + kPad];

  const int bm = blockIdx.y * kBM;
  const int bn = blockIdx.x * kBN;
  const int64_t z = blockIdx.z;
  const float* __restrict__ a = p.a + z * p.stride_a;
  const float* __restrict__ b = p.b + z * p.stride_b;
  float* c = p.c + z * p.stride_c;
  const int tx = threadIdx.x % 16;  // columns tx*4..+3 and 64+tx*4..+3 of the tile
  const int ty = threadIdx.x / 16;  // rows ty*4..+3 and 64+ty*4..+3

  float acc[8][8];
#pragma unroll
  for (int i = 0; i < 8; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j) acc[i][j] = 0.0f;

  const int slices = (p.k + kBK - 1) / kBK;
  float ra[kLoadsA][4], rb[kLoadsB][4];
  if (slices > 0) {
    load_a<kTransA>(a, p.lda, p.m, p.k, bm, 0, p.vec_a, ra);
    load_b<kTransB>(b, p.ldb, p.n, p.k, bn, 0, p.vec_b, rb);
    store_a<kTransA>(as[0], ra);
    store_b<kTransB>(bs[0], rb);
    __syncthreads();
  }
  for (int s = 0; s < slices; ++s) {
    const int cur = s & 1;
    const bool next = s + 1 < slices;
    if (next) {  // issued now, consumed after the multiply below: hides global latency
      load_a<kTransA>(a, p.lda, p.m, p.k, bm, (s + 1) * kBK, p.vec_a, ra);
      load_b<kTransB>(b, p.ldb, p.n, p.k, bn, (s + 1) * kBK, p.vec_b, rb);
    }
#pragma unroll
    for (int kk = 0; kk < kBK; ++kk) {
      const float4 a0 = *reinterpret_cast<const float4*>(&as[cur][kk][ty * 4]);
      const float4 a1 = *reinterpret_cast<const float4*>(&as[cur][kk][64 + ty * 4]);
      const float4 b0 = *reinterpret_cast<const float4*>(&bs[cur][kk][tx * 4]);
      const float4 b1 = *reinterpret_cast<const float4*>(&bs[cur][kk][64 + tx * 4]);
      const float av[8] = {a0.x, a0.y, a0.z, a0.w, a1.x, a1.y, a1.z, a1.w};
      const float bv[8] = {b0.x, b0.y, b0.z, b0.w, b1.x, b1.y, b1.z, b1.w};
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
    if (next) {
      // The other buffer was last read in step s - 1, which ended with the barrier below.
      store_a<kTransA>(as[cur ^ 1], ra);
      store_b<kTransB>(bs[cur ^ 1], rb);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 8; ++i) {
    const int row = bm + (i < 4 ? ty * 4 + i : 64 + ty * 4 + (i - 4));
    store_c4(c, p.ldc, p.m, p.n, row, bn + tx * 4, make_float4(acc[i][0], acc[i][1], acc[i][2], acc[i][3]), p.alpha,
             p.beta, p.vec_c);
    store_c4(c, p.ldc, p.m, p.n, row, bn + 64 + tx * 4, make_float4(acc[i][4], acc[i][5], acc[i][6], acc[i][7]),
             p.alpha, p.beta, p.vec_c);
  }
}

bool aligned16(const void* ptr) { return reinterpret_cast<uintptr_t>(ptr) % 16 == 0; }

void sgemm_tiled(bool ta, bool tb, Dims d, float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                 int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc, int64_t stride_c, int64_t batch,
                 cudaStream_t stream) {
  const int64_t grid_m = (d.m + kBM - 1) / kBM;
  const int64_t grid_n = (d.n + kBN - 1) / kBN;
  EMBER_CHECK(grid_m <= 65535, "gemm", "tiled kernel supports m up to ", 65535 * kBM, ", got ", d.m);
  // Batches beyond one grid's z range (65535) go in further launches.
  const bool batched = batch > 1;
  TiledArgs p{d.m, d.n, d.k, alpha, beta, a, lda, stride_a, b, ldb, stride_b, c, ldc, stride_c, false, false, false};
  p.vec_a = aligned16(a) && lda % 4 == 0 && (!batched || stride_a % 4 == 0);
  p.vec_b = aligned16(b) && ldb % 4 == 0 && (!batched || stride_b % 4 == 0);
  p.vec_c = aligned16(c) && ldc % 4 == 0 && (!batched || stride_c % 4 == 0);
  for (int64_t b0 = 0; b0 < batch; b0 += 65535) {
    const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(batch - b0, 65535));
    p.a = a + b0 * stride_a;
    p.b = b + b0 * stride_b;
    p.c = c + b0 * stride_c;
    const dim3 grid(static_cast<unsigned>(grid_n), static_cast<unsigned>(grid_m), chunk);
    if (!ta && !tb)
      sgemm_tiled_kernel<false, false><<<grid, kThreads, 0, stream>>>(p);
    else if (!ta && tb)
      sgemm_tiled_kernel<false, true><<<grid, kThreads, 0, stream>>>(p);
    else if (ta && !tb)
      sgemm_tiled_kernel<true, false><<<grid, kThreads, 0, stream>>>(p);
    else
      sgemm_tiled_kernel<true, true><<<grid, kThreads, 0, stream>>>(p);
    EMBER_CUDA_CHECK(cudaGetLastError());
  }
}

// ---- cuBLAS calls ------------------------------------------------------------------------------

cublasOperation_t op(bool t) { return t ? CUBLAS_OP_T : CUBLAS_OP_N; }

// Row-major via the swap described at the top: (B, A), (n, m).
void cublas_gemm(bool ta, bool tb, Dims d, float alpha, const float* a, int64_t lda, int64_t stride_a, const float* b,
                 int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc, int64_t stride_c, int64_t batch,
                 cudaStream_t stream) {
  const int la = ld_for_cublas(lda), lb = ld_for_cublas(ldb), lc = ld_for_cublas(ldc);
  std::lock_guard<std::mutex> lock(g_handle_mutex);
  cublasHandle_t h = handle_for_current_device();
  EMBER_CUBLAS_CHECK(cublasSetStream(h, stream));
  if (batch == 1) {
    EMBER_CUBLAS_CHECK(cublasSgemm(h, op(tb), op(ta), d.n, d.m, d.k, &alpha, b, lb, a, la, &beta, c, lc));
  } else {
    EMBER_CUBLAS_CHECK(cublasSgemmStridedBatched(h, op(tb), op(ta), d.n, d.m, d.k, &alpha, b, lb, stride_b, a, la,
                                                 stride_a, &beta, c, lc, stride_c, static_cast<int>(batch)));
  }
}

void cublas_gemm(bool ta, bool tb, Dims d, double alpha, const double* a, int64_t lda, int64_t stride_a,
                 const double* b, int64_t ldb, int64_t stride_b, double beta, double* c, int64_t ldc, int64_t stride_c,
                 int64_t batch, cudaStream_t stream) {
  const int la = ld_for_cublas(lda), lb = ld_for_cublas(ldb), lc = ld_for_cublas(ldc);
  std::lock_guard<std::mutex> lock(g_handle_mutex);
  cublasHandle_t h = handle_for_current_device();
  EMBER_CUBLAS_CHECK(cublasSetStream(h, stream));
  if (batch == 1) {
    EMBER_CUBLAS_CHECK(cublasDgemm(h, op(tb), op(ta), d.n, d.m, d.k, &alpha, b, lb, a, la, &beta, c, lc));
  } else {
    EMBER_CUBLAS_CHECK(cublasDgemmStridedBatched(h, op(tb), op(ta), d.n, d.m, d.k, &alpha, b, lb, stride_b, a, la,
                                                 stride_a, &beta, c, lc, stride_c, static_cast<int>(batch)));
  }
}

// The one entry all public functions go through: empty sizes, k = 0, then the backend.
template <class T>
void gemm_any(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t lda, int64_t stride_a,
              const T* b, int64_t ldb, int64_t stride_b, T beta, T* c, int64_t ldc, int64_t stride_c, int64_t batch,
              cudaStream_t stream) {
  const Dims d = check_dims(ta, tb, m, n, k, lda, ldb, ldc, batch);
  if (d.m == 0 || d.n == 0 || batch == 0) return;
  if (d.k == 0) return scale_c<T>(c, d.m, d.n, ldc, stride_c, batch, beta, stream);
  if constexpr (std::is_same_v<T, float>) {
    if (g_backend.load(std::memory_order_relaxed) == MatmulBackend::Tiled)
      return sgemm_tiled(ta, tb, d, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch, stream);
  }
  cublas_gemm(ta, tb, d, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch, stream);
}

}  // namespace

void set_matmul_backend(MatmulBackend backend) { g_backend.store(backend, std::memory_order_relaxed); }
MatmulBackend matmul_backend() { return g_backend.load(std::memory_order_relaxed); }

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc, cudaStream_t stream) {
  gemm_any<float>(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, stream);
}

void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc, cudaStream_t stream) {
  gemm_any<double>(trans_a, trans_b, m, n, k, alpha, a, lda, 0, b, ldb, 0, beta, c, ldc, 0, 1, stream);
}

void gemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                  int64_t stride_c, int64_t batch, cudaStream_t stream) {
  gemm_any<float>(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch,
                  stream);
}

void gemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double beta, double* c,
                  int64_t ldc, int64_t stride_c, int64_t batch, cudaStream_t stream) {
  gemm_any<double>(trans_a, trans_b, m, n, k, alpha, a, lda, stride_a, b, ldb, stride_b, beta, c, ldc, stride_c, batch,
                   stream);
}

// ---- on Tensors: the CUDA twin of kernels::cpu::matmul ------------------------------------------

namespace {

// How the GEMM reads one operand of a product, as kernels/cpu/matmul.cpp decides it: a
// matrix whose column stride is 1 is row-major (ld = row stride), one whose row stride is 1
// is its transpose stored row-major (ld = column stride), so x.t() costs no copy. The stride
// of a size-1 dim is never read, so it does not decide; ld must still cover a row and fit
// cuBLAS's int. Any other layout (a step slice along the last dim, a broadcast inside the
// matrix, a row stride past INT_MAX) is copied into a contiguous tensor first.
struct Operand {
  Tensor data;
  bool trans = false;
  int64_t ld = 0, batch_stride = 0;
};

Operand prepare(const Tensor& t) {
  const size_t d = static_cast<size_t>(t.dim());
  const int64_t rows = t.sizes()[d - 2], cols = t.sizes()[d - 1];
  const int64_t rs = t.strides()[d - 2], cs = t.strides()[d - 1];
  const int64_t r1 = std::max<int64_t>(rows, 1), c1 = std::max<int64_t>(cols, 1);
  const int64_t bs = d == 3 ? t.strides()[0] : 0;
  if (cs == 1 || cols <= 1) {
    const int64_t ld = rows <= 1 ? c1 : rs;
    if (ld >= c1 && ld <= INT_MAX) return {t, false, ld, bs};
  }
  if (rs == 1 || rows <= 1) {
    const int64_t ld = cols <= 1 ? r1 : cs;
    if (ld >= r1 && ld <= INT_MAX) return {t, true, ld, bs};
  }
  Tensor packed = internal::new_tensor(t.sizes(), t.dtype(), t.device());
  copy(t, packed);
  return {packed, false, c1, rows * cols};
}

}  // namespace

// a, b: 2-D views, or 3-D [B, n, k] and [B, k, m] views (batch stride 0 when broadcast);
// out is contiguous. One cuBLAS (or tiled) call: strided batched GEMM for a batch.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  const size_t d = static_cast<size_t>(a.dim());
  const int64_t batch = d == 3 ? a.sizes()[0] : 1, n = a.sizes()[d - 2], k = a.sizes()[d - 1], m = b.sizes().back();
  EMBER_CHECK(is_floating_point(out.dtype()), "matmul", "not implemented for CUDA tensors of dtype ",
              dtype_name(out.dtype()), " (cuBLAS has no integer GEMM): a=", shape_text(a.sizes()),
              " b=", shape_text(b.sizes()));
  if (out.numel() == 0) return;
  if (k == 0) {  // an empty sum: zeros
    fill(out, Scalar(0.0));
    return;
  }
  const Operand pa = prepare(a), pb = prepare(b);
  auto run = [&](auto tag) {
    using T = decltype(tag);
    const T* ap = pa.data.impl()->data_as<T>();
    const T* bp = pb.data.impl()->data_as<T>();
    T* cp = out.impl()->data_as<T>();
    if (d == 2) return gemm(pa.trans, pb.trans, n, m, k, T(1), ap, pa.ld, bp, pb.ld, T(0), cp, m, 0);
    gemm_batched(pa.trans, pb.trans, n, m, k, T(1), ap, pa.ld, pa.batch_stride, bp, pb.ld, pb.batch_stride, T(0), cp, m,
                 n * m, batch, 0);
  };
  if (out.dtype() == kFloat32) run(float{});
  else run(double{});
}

}  // namespace ember::kernels::cuda
