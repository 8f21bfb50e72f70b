// Matrix products: out[i] = a[i] @ b[i] over a batch of 2-D views.
//
// Each operand is handed to the GEMM as it lies in memory: a matrix whose column stride is 1
// is row-major with leading dim = row stride, one whose row stride is 1 is column-major
// (the row-major transpose: x.t() costs nothing). Only a layout that is neither (a step
// slice along the last dim, a broadcast inside the matrix) is copied first.
//
// Backend (float32/float64): OpenBLAS, except vector-shaped products, which go to Eigen
// (see use_eigen() for the measurements). int64 always goes through Eigen's generic product
// (BLAS has no integer GEMM).
//
// Threading is ember's, never the libraries': the work is cut into tasks, each a whole GEMM
// of the batch or a block of rows (or columns) of one, and an OpenMP loop runs the tasks,
// each GEMM on one thread. Inside a parallel region OpenBLAS (omp_in_parallel) and Eigen
// (omp_get_num_threads() > 1) stay on one thread by themselves, so the two levels never
// nest. See plan_tasks() for why this beats the libraries' own threading here.
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
// Measured on this machine (AMD EPYC Zen 4 with AVX-512, 2 cores; OpenBLAS 0.3.21 openmp,
// Eigen 3.4 with -march=native), one thread, GFLOP/s, OpenBLAS vs Eigen:
//   float32 square n = 16-96        54-115 vs 45-83   (OpenBLAS's small-matrix kernel)
//   float32 square n = 128-1024     100-105 vs 84-88
//   float64 square n = 16-1024      39-57   vs 23-43
//   thin outputs (one of n, m in 3..24, the other 256-2048, k 64-1024): no clean winner;
//     OpenBLAS by 1.5-3x for widths 3-4 at k <= 256, Eigen by up to 1.4x at some k = 1024
//   a vector side (1 x 1024 @ 1024 x 1024, or its transpose): 8 vs 38 (float32), 4-6 vs
//     18-20 (float64): a GEMM over a 1-wide matrix, against Eigen's GEMV.
// So on this CPU OpenBLAS wins square products at every size, tiny ones included, and
// there is no size crossover to tune: the "Eigen is faster below ~64" rule does not hold
// with OpenBLAS's small-matrix kernels. Eigen takes the vector products, and anything
// whose sizes overflow BLAS's 32-bit ints.
bool use_eigen(int64_t n, int64_t k, int64_t m, int64_t lda, int64_t ldb, int64_t ldc) {
  if (n == 1 || m == 1) return true;
  return std::max({n, k, m, lda, ldb, ldc}) > INT_MAX;
}

// ---- one GEMM ------------------------------------------------------------------------------

template <class T>
using RowMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using ColMat = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::ColMajor>;
template <class M>
using ConstMap = Eigen::Map<const M, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T, class MA, class MB>
void eigen_gemm_typed(int64_t n, int64_t k, int64_t m, const T* a, int64_t lda, const T* b, int64_t ldb, T* c,
                      int64_t ldc) {
  ConstMap<MA> A(a, n, k, Eigen::OuterStride<>(lda));
  ConstMap<MB> B(b, k, m, Eigen::OuterStride<>(ldb));
  Eigen::Map<RowMat<T>, Eigen::Unaligned, Eigen::OuterStride<>> C(c, n, m, Eigen::OuterStride<>(ldc));
  C.noalias() = A * B;
}

template <class T>
void eigen_gemm(int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb, T* c,
                int64_t ldc) {
  if (!la.trans && !lb.trans) eigen_gemm_typed<T, RowMat<T>, RowMat<T>>(n, k, m, a, la.ld, b, lb.ld, c, ldc);
  else if (!la.trans) eigen_gemm_typed<T, RowMat<T>, ColMat<T>>(n, k, m, a, la.ld, b, lb.ld, c, ldc);
  else if (!lb.trans) eigen_gemm_typed<T, ColMat<T>, RowMat<T>>(n, k, m, a, la.ld, b, lb.ld, c, ldc);
  else eigen_gemm_typed<T, ColMat<T>, ColMat<T>>(n, k, m, a, la.ld, b, lb.ld, c, ldc);
}

template <class T>
void blas_gemm(int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb, T* c,
               int64_t ldc) {
  const auto ta = la.trans ? CblasTrans : CblasNoTrans, tb = lb.trans ? CblasTrans : CblasNoTrans;
  const int N = static_cast<int>(n), K = static_cast<int>(k), M = static_cast<int>(m);
  const int lda = static_cast<int>(la.ld), ldb = static_cast<int>(lb.ld), ldo = static_cast<int>(ldc);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, N, M, K, 1.0f, a, lda, b, ldb, 0.0f, c, ldo);
  else
    cblas_dgemm(CblasRowMajor, ta, tb, N, M, K, 1.0, a, lda, b, ldb, 0.0, c, ldo);
}

// c (n x m, row-major with leading dim ldc) = a @ b.
template <class T>
void gemm(int64_t n, int64_t k, int64_t m, const T* a, const Layout& la, const T* b, const Layout& lb, T* c,
          int64_t ldc) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!use_eigen(n, k, m, la.ld, lb.ld, ldc)) return blas_gemm(n, k, m, a, la, b, lb, c, ldc);
  }
  eigen_gemm(n, k, m, a, la, b, lb, c, ldc);
}

// ---- threading ------------------------------------------------------------------------------
//
// Two threads, float32 GFLOP/s: OpenBLAS threading itself / Eigen threading itself / ember's
// split into two single-threaded OpenBLAS calls on halves of the rows (or columns):
//   64^3           114 / 86  / 175      (OpenBLAS keeps products below 100^3 on one thread)
//   96^3           115 / 126 / 170
//   256^3          189 / 163 / 199
//   512^3-2048^3   196-209 / 161-173 / 197-210
//   4096x512x64    186 / 172 / 196
//   4096x64x64     148 / 161 / 190
//   2048x128x16    65  / 159 / 166      (OpenBLAS splits thin outputs badly)
//   8x128x2048     70  / 53  / 88
//   32^3           102 / 65  / 72       (too small: below kParallelMacs, so one thread)
// The split matches or beats the better library everywhere but the tiniest products, so
// ember does its own splitting and keeps each GEMM on one thread.

// Below this many multiply-adds in all, one thread does everything: waking a second costs
// more than it saves. Measured through ember::matmul, 2 threads against 1: 40^3 0.88x,
// 44^3 0.97x, 48^3 (110k) 1.12x, 56^3 1.23x, 64^3 1.39x; 64x16x64 and 32x64x32 (65k) 0.85x.
constexpr int64_t kParallelMacs = 100'000;
// A GEMM is split into blocks of at least this many rows (or columns).
constexpr int64_t kMinBlock = 16;

// An operand ready for the GEMM loop: the data, its batch stride and matrix layout.
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

// How the B products are cut into tasks: `parts` blocks per product (of rows when split_rows,
// else of columns), run by `team` threads.
struct TaskPlan {
  int64_t parts = 1;
  bool split_rows = true;
  int team = 1;
};

TaskPlan plan_tasks(int64_t B, int64_t n, int64_t k, int64_t m, int threads) {
  TaskPlan p;
  if (threads <= 1 || B * n * k * m < kParallelMacs) return p;
  // Whole products per thread when the batch divides evenly, or is long enough that the
  // uneven tail costs little; otherwise each product is split as well, along its longer
  // output side (a thin output keeps whole rows, which is where OpenBLAS's own threading
  // loses).
  if (B % threads != 0 && B < 4 * static_cast<int64_t>(threads)) {
    p.split_rows = n >= m;
    p.parts = std::clamp<int64_t>(std::max(n, m) / kMinBlock, 1, threads);
  }
  p.team = static_cast<int>(std::min<int64_t>(threads, B * p.parts));
  return p;
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
  const Layout la = pa.layout, lb = pb.layout;
  const TaskPlan plan = plan_tasks(B, n, k, m, get_num_threads());
  auto task = [&](int64_t t) {
    const int64_t i = t / plan.parts, part = t % plan.parts;
    const T* ai = ap + i * pa.batch_stride;
    const T* bi = bp + i * pb.batch_stride;
    T* ci = c + i * n * m;
    if (plan.split_rows) {  // rows r0..r1 of a and of the output
      const int64_t r0 = n * part / plan.parts, r1 = n * (part + 1) / plan.parts;
      gemm<T>(r1 - r0, k, m, ai + (la.trans ? r0 : r0 * la.ld), la, bi, lb, ci + r0 * m, m);
    } else {  // columns c0..c1 of b and of the output
      const int64_t c0 = m * part / plan.parts, c1 = m * (part + 1) / plan.parts;
      gemm<T>(n, k, c1 - c0, ai, la, bi + (lb.trans ? c0 * lb.ld : c0), lb, ci + c0, m);
    }
  };
  const int64_t tasks = B * plan.parts;
  if (plan.team > 1) {
#pragma omp parallel for num_threads(plan.team) schedule(static)
    for (int64_t t = 0; t < tasks; ++t) task(t);
  } else {
    for (int64_t t = 0; t < tasks; ++t) task(t);
  }
}

}  // namespace

// Besides the 3-D views of kernels.h, takes 2-D a, b and out as one product: the op layer's
// mm path then needs no [1, n, k] views, a visible saving at small sizes.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  check_cpu(out, "matmul");
  dispatch_numeric(out.dtype(), "matmul", [&]<class T>() { run_batched<T>(a, b, out); });
}

}  // namespace ember::kernels::cpu
