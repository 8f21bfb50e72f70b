// Matrix products: out[i] = a[i] @ b[i] over a batch of 2-D views.
//
// Each operand is handed to the GEMM as it lies in memory: a matrix whose column stride is 1
// is row-major with leading dim = row stride, one whose row stride is 1 is column-major
// (the row-major transpose: x.t() costs nothing). Only a layout that is neither (a step
// slice along the last dim, a broadcast inside the matrix) is copied first.
//
// Backend choice (float32/float64): OpenBLAS or Eigen, per shape; see prefer_eigen().
// int64 always goes through Eigen's generic product (BLAS has no integer GEMM).
//
// Threading: each GEMM is threaded inside (OpenBLAS and Eigen both use OpenMP) when it is
// big enough, or the batch is split across OpenMP threads with each GEMM on one thread,
// never both: inside a parallel region OpenBLAS (omp_in_parallel) and Eigen
// (omp_get_num_threads() > 1) fall back to one thread by themselves.
#include <cblas.h>

// GCC 12 flags the AVX-512 unpack intrinsics inside Eigen's GEMM packing as maybe
// uninitialized (a false positive on the intrinsics' deliberate `__Y = __Y` placeholder).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#include <algorithm>
#include <climits>
#include <cstring>
#include <optional>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cpu {
namespace {

// How a GEMM reads one operand: row-major (trans = false) or column-major (trans = true),
// with the distance between rows (row-major) or columns (column-major) as ld.
struct Layout {
  bool trans = false;
  int64_t ld = 0;
};

// The layout of a rows x cols view with strides (rs, cs), or nullopt when it has none. The
// stride of a size-1 dim is meaningless (views leave any value there), so such a dim never
// decides; the leading dim must still be legal for BLAS (>= the contiguous extent).
std::optional<Layout> layout_of(int64_t rows, int64_t cols, int64_t rs, int64_t cs) {
  const int64_t r1 = std::max<int64_t>(rows, 1), c1 = std::max<int64_t>(cols, 1);
  if (cs == 1 || cols <= 1) {
    int64_t ld = rows <= 1 ? c1 : rs;
    if (ld >= c1) return Layout{false, ld};
  }
  if (rs == 1 || rows <= 1) {
    int64_t ld = cols <= 1 ? r1 : cs;
    if (ld >= r1) return Layout{true, ld};
  }
  return std::nullopt;
}

// ---- backend choice ------------------------------------------------------------------------
//
// Measured on this machine (AMD EPYC Zen 4, AVX-512, 2 cores; OpenBLAS 0.3.21 openmp, Eigen
// 3.4 built with -march=native; float32, GFLOP/s, Eigen vs OpenBLAS):
//   square n        1 thread             2 threads
//   8-96            9-83  vs 15-115      similar: OpenBLAS's small-matrix kernel (it runs
//                                        single-threaded up to n^3 = 100^3) still wins
//   128-1024        84-88 vs 100-105     130-160 vs 150-196
// so OpenBLAS wins square products at every size here, from tiny to large: the "Eigen wins
// small" rule of thumb does not hold on this CPU, and there is no square crossover.
// Eigen wins only where the product degenerates:
//   - a vector side (n == 1 or m == 1): OpenBLAS's GEMM on a 1-wide matrix reaches 8-13
//     GFLOP/s, Eigen's GEMV 40-50 (1x1024 @ 1024x1024);
//   - a thin output (min(n, m) < kThinOutput) with several threads: OpenBLAS splits such
//     products badly (2048x128 @ 128x16: 65 vs Eigen 157 at 2 threads; at 1 thread they
//     are within 5%).
constexpr int64_t kThinOutput = 64;

bool fits_blas_int(int64_t v) { return v <= INT_MAX; }

bool prefer_eigen(int64_t n, int64_t k, int64_t m, const Layout& la, const Layout& lb, int threads) {
  if (!fits_blas_int(n) || !fits_blas_int(k) || !fits_blas_int(m) || !fits_blas_int(la.ld) || !fits_blas_int(lb.ld))
    return true;
  if (n == 1 || m == 1) return true;
  if (threads > 1 && std::min(n, m) < kThinOutput) return true;
  return false;
}

// ---- one GEMM ------------------------------------------------------------------------------

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class M>
using ConstMap = Eigen::Map<const M, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T, class MA, class MB>
void eigen_gemm_typed(int64_t n, int64_t k, int64_t m, const T* a, int64_t lda, const T* b, int64_t ldb, T* c) {
  ConstMap<MA> A(a, n, k, Eigen::OuterStride<>(lda));
  ConstMap<MB> B(b, k, m, Eigen::OuterStride<>(ldb));
  Eigen::Map<RowMat<T>> C(c, n, m);
  C.noalias() = A * B;
}

template <class T>
void eigen_gemm(int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb, T* c) {
  if (!la.trans && !lb.trans) eigen_gemm_typed<T, RowMat<T>, RowMat<T>>(n, k, m, a, la.ld, b, lb.ld, c);
  else if (!la.trans) eigen_gemm_typed<T, RowMat<T>, ColMat<T>>(n, k, m, a, la.ld, b, lb.ld, c);
  else if (!lb.trans) eigen_gemm_typed<T, ColMat<T>, RowMat<T>>(n, k, m, a, la.ld, b, lb.ld, c);
  else eigen_gemm_typed<T, ColMat<T>, ColMat<T>>(n, k, m, a, la.ld, b, lb.ld, c);
}

template <class T>
void blas_gemm(int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb, T* c) {
  const auto ta = la.trans ? CblasTrans : CblasNoTrans, tb = lb.trans ? CblasTrans : CblasNoTrans;
  const int N = static_cast<int>(n), K = static_cast<int>(k), M = static_cast<int>(m);
  const int lda = static_cast<int>(la.ld), ldb = static_cast<int>(lb.ld);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, N, M, K, 1.0f, a, lda, b, ldb, 0.0f, c, M);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, N, M, K, 1.0, a, lda, b, ldb, 0.0, c, M);
}

template <class T>
void gemm(bool eigen, int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb,
          T* c) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!eigen) return blas_gemm(n, k, m, a, la, b, lb, c);
  }
  eigen_gemm(n, k, m, a, la, b, lb, c);
}

// ---- batching -------------------------------------------------------------------------------

// Below this many multiply-adds per GEMM, a batch runs one GEMM per thread: splitting one
// small product costs more in synchronisation than it gains (both libraries keep products
// under ~100^3 on one thread themselves).
constexpr int64_t kBatchParallelMacs = int64_t{128} * 128 * 128;

// An operand ready for the GEMM loop: base pointer, batch stride and matrix layout.
struct Operand {
  Tensor data;  // the input itself, or a contiguous copy of it
  int64_t batch_stride = 0;
  Layout layout;
};

// x is [B, rows, cols] (or [rows, cols]: B = 1). Uses x in place when its matrices have a
// GEMM layout; otherwise copies it to contiguous (only the first matrix when the batch is
// broadcast).
Operand prepare(const Tensor& x) {
  const Shape& sz = x.sizes();
  const Shape& st = x.strides();
  const size_t d = sz.size();
  const int64_t B = d == 3 ? sz[0] : 1, rows = sz[d - 2], cols = sz[d - 1], batch_stride = d == 3 ? st[0] : 0;
  if (auto l = layout_of(rows, cols, st[d - 2], st[d - 1])) return {x, batch_stride, *l};
  const bool broadcast = B == 1 || batch_stride == 0;
  Tensor src = broadcast ? internal::alias(x, Shape{rows, cols}, Shape{st[d - 2], st[d - 1]}, x.storage_offset()) : x;
  Tensor copy = internal::new_tensor(src.sizes(), x.dtype(), x.device());
  cpu::copy(src, copy);
  return {copy, broadcast ? 0 : rows * cols, Layout{false, std::max<int64_t>(cols, 1)}};
}

template <class T>
void run_batched(const Tensor& a, const Tensor& b, const Tensor& out) {
  const Shape& sa = a.sizes();
  const size_t d = sa.size();
  const int64_t B = d == 3 ? sa[0] : 1, n = sa[d - 2], k = sa[d - 1], m = b.sizes().back();
  T* c = out.data_ptr<T>();
  if (B == 0 || n == 0 || m == 0) return;
  if (k == 0) {  // an empty sum: zeros (the libraries' k == 0 handling varies)
    std::memset(c, 0, static_cast<size_t>(B * n * m) * sizeof(T));
    return;
  }
  const Operand pa = prepare(a), pb = prepare(b);
  const T* ap = pa.data.data_ptr<T>();
  const T* bp = pb.data.data_ptr<T>();
  const int threads = get_num_threads();
  const bool over_batch = B > 1 && threads > 1 && n * k * m < kBatchParallelMacs;
  const bool eigen = prefer_eigen(n, k, m, pa.layout, pb.layout, over_batch ? 1 : threads);
  auto one = [&](int64_t i) {
    gemm<T>(eigen, n, k, m, ap + i * pa.batch_stride, pa.layout, bp + i * pb.batch_stride, pb.layout, c + i * n * m);
  };
  if (over_batch) {
    const int parts = static_cast<int>(std::min<int64_t>(threads, B));
#pragma omp parallel for num_threads(parts) schedule(static)
    for (int64_t i = 0; i < B; ++i) one(i);
  } else {
    for (int64_t i = 0; i < B; ++i) one(i);
  }
}

}  // namespace

// Besides the 3-D views of kernels.h, takes 2-D a, b and out as one product: the op layer's
// mm path then needs no [1, n, k] views, a visible saving at small sizes.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_numeric(out.dtype(), "matmul", [&]<class T>() { run_batched<T>(a, b, out); });
}

}  // namespace ember::kernels::cpu
