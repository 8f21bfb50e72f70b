// The standalone CUDA kernels (kernels/cuda/kernels_cuda.h: GEMM, softmax, reductions) against
// naive CPU loops in double, on random data of odd sizes. Tolerances, stated per check:
//   - GEMM: |got - want| <= r * sum_p |alpha a_ip b_pj| + |beta c_ij| (+ a tiny absolute term),
//     r = 1e-5 for float (FP32 accumulation; TF32 would fail it) and 1e-12 for double;
//   - softmax: 1e-6 + 1e-5 |want| (float), 1e-13 + 1e-11 |want| (double); log_softmax and the
//     backward: 1e-5 (1 + |want|) (float), 1e-11 (1 + |want|) (double);
//   - sum/mean: 1e-5 sum |x| (float), 1e-12 (double); max/min/arg: exact; var: 1e-4 relative
//     (float), 1e-10 (double); logsumexp 1e-5 (1 + |want|) (float), 1e-12 (double).
// Without a GPU each case says "skipped: no CUDA device, ..." and checks nothing; only the
// argument checks, which fail before any CUDA call, run everywhere.
#include "test_util.h"

#ifdef EMBER_WITH_CUDA

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <sstream>
#include <type_traits>
#include <vector>

#include "kernels/cuda/kernels_cuda.h"

namespace {

namespace kc = ember::kernels::cuda;
using ember::test::error_of;

bool gpu_here(const char* what) {
  if (ember::cuda::is_available()) return true;
  MESSAGE("skipped: no CUDA device, " << std::string(what));
  return false;
}

void cuda_ok(cudaError_t e, const char* what) {
  REQUIRE_MESSAGE(e == cudaSuccess, what << ": " << cudaGetErrorString(e));
}

// A device array of n elements, filled from and read back to host vectors.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(size_t n) : n_(n) {
    cuda_ok(cudaMalloc(&ptr_, std::max<size_t>(n, 1) * sizeof(T)), "cudaMalloc");
  }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { upload(host); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(ptr_); }
  T* get() const { return ptr_; }
  void upload(const std::vector<T>& host) {
    REQUIRE(host.size() == n_);
    cuda_ok(cudaMemcpy(ptr_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "upload");
  }
  // Waits for the kernels before it, so a failed launch shows up here with its message.
  std::vector<T> download() const {
    cuda_ok(cudaDeviceSynchronize(), "kernel");
    std::vector<T> host(n_);
    cuda_ok(cudaMemcpy(host.data(), ptr_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "download");
    return host;
  }

 private:
  T* ptr_ = nullptr;
  size_t n_;
};

template <class T>
std::vector<T> random_values(size_t n, double lo, double hi, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(dist(gen));
  return v;
}

// Restores cuBLAS as the GEMM backend when a test that switched it ends (also on failure).
struct BackendGuard {
  explicit BackendGuard(kc::MatmulBackend b) { kc::set_matmul_backend(b); }
  ~BackendGuard() { kc::set_matmul_backend(kc::MatmulBackend::Cublas); }
};

const char* name(kc::MatmulBackend b) { return b == kc::MatmulBackend::Tiled ? "tiled" : "cublas"; }

// ---- GEMM --------------------------------------------------------------------------------------

struct GemmCase {
  bool ta, tb;
  int64_t m, n, k;
  int64_t pad = 0;     // added to every leading dim
  int64_t offset = 0;  // elements before each matrix (1: misaligned for float4)
  int64_t batch = 1;
  double alpha = 1, beta = 0;
};

// Runs one case on the GPU and checks every element of C, plus C's padding (untouched).
template <class T>
void check_gemm(const GemmCase& g, unsigned seed) {
  const int64_t lda = (g.ta ? g.m : g.k) + g.pad, ldb = (g.tb ? g.k : g.n) + g.pad, ldc = g.n + g.pad;
  const int64_t rows_a = g.ta ? g.k : g.m, rows_b = g.tb ? g.n : g.k;
  // Each matrix of the batch also gets `pad` spare elements after it.
  const int64_t sa = rows_a * lda + g.pad, sb = rows_b * ldb + g.pad, sc = g.m * ldc + g.pad;
  auto a = random_values<T>(g.offset + g.batch * sa, -1, 1, seed);
  auto b = random_values<T>(g.offset + g.batch * sb, -1, 1, seed + 1);
  auto c0 = random_values<T>(g.offset + g.batch * sc, -1, 1, seed + 2);
  DeviceArray<T> da(a), db(b), dc(c0);
  const T alpha = static_cast<T>(g.alpha), beta = static_cast<T>(g.beta);
  if (g.batch == 1)
    kc::gemm(g.ta, g.tb, g.m, g.n, g.k, alpha, da.get() + g.offset, lda, db.get() + g.offset, ldb, beta,
             dc.get() + g.offset, ldc);
  else
    kc::gemm_batched(g.ta, g.tb, g.m, g.n, g.k, alpha, da.get() + g.offset, lda, sa, db.get() + g.offset, ldb, sb, beta,
                     dc.get() + g.offset, ldc, sc, g.batch);
  const std::vector<T> c = dc.download();
  const double r = std::is_same_v<T, float> ? 1e-5 : 1e-12;
  for (int64_t z = 0; z < g.batch; ++z) {
    const T* A = a.data() + g.offset + z * sa;
    const T* B = b.data() + g.offset + z * sb;
    const int64_t base = g.offset + z * sc;
    for (int64_t i = 0; i < g.m; ++i) {
      for (int64_t j = 0; j < g.n; ++j) {
        double sum = 0, bound = 0;
        for (int64_t p = 0; p < g.k; ++p) {
          const double x = g.ta ? A[p * lda + i] : A[i * lda + p];
          const double y = g.tb ? B[j * ldb + p] : B[p * ldb + j];
          sum += x * y;
          bound += std::fabs(x * y);
        }
        const double old = c0[base + i * ldc + j];
        const double want = g.alpha * sum + (g.beta == 0 ? 0.0 : g.beta * old);
        const double tol = r * (std::fabs(g.alpha) * bound + std::fabs(g.beta * old)) + 1e-30;
        const double got = c[base + i * ldc + j];
        if (!(std::fabs(got - want) <= tol)) {
          FAIL_CHECK("C[" << z << "][" << i << "][" << j << "] got " << got << " want " << want << " tol " << tol);
          return;
        }
      }
      for (int64_t j = g.n; j < ldc; ++j)
        if (c[base + i * ldc + j] != c0[base + i * ldc + j]) {
          FAIL_CHECK("padding of C row " << i << " was written");
          return;
        }
    }
  }
}

std::string describe(const GemmCase& g) {
  std::ostringstream os;
  os << "m=" << g.m << " n=" << g.n << " k=" << g.k << (g.ta ? " A^T" : "") << (g.tb ? " B^T" : "") << " pad=" << g.pad
     << " offset=" << g.offset << " batch=" << g.batch << " alpha=" << g.alpha << " beta=" << g.beta;
  return os.str();
}

TEST_CASE("cuda kernels: float GEMM on both backends, every transpose, odd and tile-multiple sizes") {
  if (!gpu_here("float GEMM vs CPU")) return;
  const int64_t sizes[][3] = {{1, 1, 1},     {7, 33, 127},   {127, 7, 33},  {33, 127, 1000},
                              {1000, 33, 7}, {4097, 7, 33},  {7, 4097, 33}, {129, 257, 4097},
                              {128, 128, 8}, {256, 256, 64}, {130, 131, 9}, {255, 129, 17},
                              {68, 132, 20}, {132, 68, 12}};  // k % 8 == 4: a half-empty last slice, float4 loads
  unsigned seed = 1;
  for (kc::MatmulBackend backend : {kc::MatmulBackend::Cublas, kc::MatmulBackend::Tiled}) {
    BackendGuard guard(backend);
    for (const auto& s : sizes)
      for (int t = 0; t < 4; ++t) {
        GemmCase g{(t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2]};
        if (seed % 3 == 1) g.alpha = 0.5, g.beta = -1.5;
        if (seed % 4 == 2) g.pad = 4;  // ld % 4 == 0: still the float4 path
        if (seed % 5 == 3) g.pad = 3;  // odd leading dims: the scalar path
        CAPTURE(describe(g));
        CAPTURE(name(backend));
        check_gemm<float>(g, seed++);
      }
  }
}

TEST_CASE("cuda kernels: GEMM with misaligned pointers, k = 0 and beta = 0 over NaN") {
  if (!gpu_here("GEMM edge cases")) return;
  for (kc::MatmulBackend backend : {kc::MatmulBackend::Cublas, kc::MatmulBackend::Tiled}) {
    BackendGuard guard(backend);
    CAPTURE(name(backend));
    for (int t = 0; t < 4; ++t) {
      GemmCase g{(t & 1) != 0, (t & 2) != 0, 67, 131, 45};
      g.offset = 1;
      g.alpha = 2, g.beta = 0.5;
      CAPTURE(describe(g));
      check_gemm<float>(g, 100 + t);
    }
    // k = 0: C = beta * C, and beta = 0 writes zeros without reading C.
    GemmCase empty_k{false, false, 5, 6, 0};
    empty_k.beta = 2;
    check_gemm<float>(empty_k, 7);
    check_gemm<double>(empty_k, 8);
    std::vector<float> nan_c(12, std::numeric_limits<float>::quiet_NaN());
    DeviceArray<float> dc(nan_c), da(std::vector<float>(12, 1.0f));
    kc::gemm(false, false, 3, 4, 0, 1.0f, da.get(), 0, da.get(), 4, 0.0f, dc.get(), 4);
    for (float v : dc.download()) CHECK(v == 0.0f);
    kc::gemm(false, false, 3, 4, 1, 1.0f, da.get(), 1, da.get(), 4, 0.0f, dc.get(), 4);
    for (float v : dc.download()) CHECK(v == 1.0f);
    // m or n = 0: nothing to do, nothing launched.
    kc::gemm(false, false, 0, 4, 3, 1.0f, nullptr, 3, nullptr, 4, 0.0f, nullptr, 4);
    kc::gemm_batched(false, false, 2, 2, 2, 1.0f, nullptr, 2, 4, nullptr, 2, 4, 0.0f, nullptr, 2, 4, 0);
  }
}

TEST_CASE("cuda kernels: batched GEMM on both backends and double GEMM") {
  if (!gpu_here("batched and double GEMM vs CPU")) return;
  unsigned seed = 200;
  for (kc::MatmulBackend backend : {kc::MatmulBackend::Cublas, kc::MatmulBackend::Tiled}) {
    BackendGuard guard(backend);
    CAPTURE(name(backend));
    for (int t = 0; t < 4; ++t) {
      GemmCase g{(t & 1) != 0, (t & 2) != 0, 33, 65, 17};
      g.batch = 3 + t;
      g.pad = t == 2 ? 3 : 0;
      g.alpha = 1.5, g.beta = t % 2 ? 0.25 : 0.0;
      CAPTURE(describe(g));
      check_gemm<float>(g, seed++);
      check_gemm<double>(g, seed++);
    }
    GemmCase big{false, true, 200, 130, 70};
    big.batch = 2;
    check_gemm<float>(big, seed++);
    // More matrices than one grid's z range (65535): the tiled kernel and the k = 0 scaling
    // launch again for the rest (at an offset pointer); cuBLAS takes them in one call.
    GemmCase many{false, true, 3, 5, 7};
    many.batch = 65535 + 5;
    many.beta = 0.5;
    CAPTURE(describe(many));
    check_gemm<float>(many, seed++);
    GemmCase many_empty_k{false, false, 3, 5, 0};
    many_empty_k.batch = 65535 + 5;
    many_empty_k.beta = 2;
    check_gemm<float>(many_empty_k, seed++);
  }
  for (int t = 0; t < 4; ++t) {
    for (const auto& s : {std::vector<int64_t>{7, 33, 127}, std::vector<int64_t>{129, 65, 1000}}) {
      GemmCase g{(t & 1) != 0, (t & 2) != 0, s[0], s[1], s[2]};
      g.alpha = -0.75, g.beta = 1.25;
      CAPTURE(describe(g));
      check_gemm<double>(g, seed++);
    }
  }
}

// ---- softmax -----------------------------------------------------------------------------------

template <class T>
std::vector<double> softmax_ref(const std::vector<T>& x, int64_t rows, int64_t cols, bool log) {
  std::vector<double> y(x.size());
  for (int64_t r = 0; r < rows; ++r) {
    const T* row = x.data() + r * cols;
    double mx = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, static_cast<double>(row[c]));
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(row[c] - mx);
    for (int64_t c = 0; c < cols; ++c)
      y[r * cols + c] = log ? row[c] - mx - std::log(sum) : std::exp(row[c] - mx) / sum;
  }
  return y;
}

template <class T>
std::vector<double> as_double(const std::vector<T>& v) {
  return {v.begin(), v.end()};
}

// Sizes that reach every path: warp per row (cols <= 1024, each kPer), block per row with the
// row in registers (<= 8192), and the online pass for longer rows.
const int64_t kSoftmaxCols[] = {1, 7, 32, 33, 127, 1000, 1024, 1025, 2048, 4097, 8192, 8193, 20000};

template <class T>
void check_softmax(bool log) {
  const bool is_float = std::is_same_v<T, float>;
  unsigned seed = log ? 300 : 400;
  for (int64_t cols : kSoftmaxCols) {
    const int64_t rows = std::max<int64_t>(1, std::min<int64_t>(37, 400000 / cols));
    CAPTURE(rows);
    CAPTURE(cols);
    auto x = random_values<T>(rows * cols, -8, 8, seed++);
    for (int64_t c = 0; c < cols; ++c) x[c] += T(1000);  // large logits: only stable code survives
    DeviceArray<T> dx(x), dy(x.size());
    kc::softmax(dx.get(), dy.get(), rows, cols, log);
    const auto want = softmax_ref(x, rows, cols, log);
    if (log)
      ember::test::check_close(as_double(dy.download()), want, is_float ? 1e-5 : 1e-11, is_float ? 1e-5 : 1e-11,
                               "log_softmax");
    else
      ember::test::check_close(as_double(dy.download()), want, is_float ? 1e-6 : 1e-13, is_float ? 1e-5 : 1e-11,
                               "softmax");

    // Backward from the reference output (rounded to T) and a random gradient.
    std::vector<T> y(want.size());
    for (size_t i = 0; i < y.size(); ++i) y[i] = static_cast<T>(want[i]);
    const auto g = random_values<T>(y.size(), -1, 1, seed++);
    std::vector<double> gin(y.size());
    for (int64_t r = 0; r < rows; ++r) {
      double dot = 0;
      for (int64_t c = 0; c < cols; ++c) dot += log ? g[r * cols + c] : double(g[r * cols + c]) * y[r * cols + c];
      for (int64_t c = 0; c < cols; ++c) {
        const double gv = g[r * cols + c], yv = y[r * cols + c];
        gin[r * cols + c] = log ? gv - std::exp(yv) * dot : yv * (gv - dot);
      }
    }
    DeviceArray<T> dg(g), dyy(y), dgin(y.size());
    kc::softmax_backward(dg.get(), dyy.get(), dgin.get(), rows, cols, log);
    const double tol = is_float ? 1e-5 : 1e-11;
    ember::test::check_close(as_double(dgin.download()), gin, tol, tol,
                             log ? "log_softmax backward" : "softmax backward");
  }
}

TEST_CASE("cuda kernels: softmax and log_softmax forward and backward, float and double") {
  if (!gpu_here("softmax vs CPU")) return;
  for (bool log : {false, true}) {
    CAPTURE(log);
    check_softmax<float>(log);
    check_softmax<double>(log);
  }
  // In place (out == in) on each path, and empty sizes.
  for (int64_t cols : {100, 3000, 10000}) {
    auto x = random_values<float>(3 * cols, -3, 3, 9);
    DeviceArray<float> dx(x);
    kc::softmax(dx.get(), dx.get(), 3, cols, false);
    ember::test::check_close(as_double(dx.download()), softmax_ref(x, 3, cols, false), 1e-6, 1e-5, "in place");
  }
  kc::softmax(static_cast<const float*>(nullptr), nullptr, 0, 5, false);
  kc::softmax(static_cast<const float*>(nullptr), nullptr, 5, 0, true);
}

// ---- reductions --------------------------------------------------------------------------------

// The reference: reduces element (o, i) of [outer, inner] over the chosen dim, in double.
struct RefResult {
  std::vector<double> value;
  std::vector<int64_t> index;
};

template <class T>
RefResult reduce_ref(const std::vector<T>& x, int64_t outer, int64_t inner, bool last, int op, double correction) {
  // op: 0 sum, 1 mean, 2 max, 3 min, 4 var, 5 logsumexp
  const int64_t outputs = last ? outer : inner, n = last ? inner : outer;
  RefResult r{std::vector<double>(outputs), std::vector<int64_t>(outputs, -1)};
  for (int64_t q = 0; q < outputs; ++q) {
    auto at = [&](int64_t p) -> double { return last ? x[q * inner + p] : x[p * inner + q]; };
    double acc = 0, mean = 0, best = 0;
    int64_t best_i = -1;
    for (int64_t p = 0; p < n; ++p) {
      const double v = at(p);
      acc += v;
      const bool nan = std::isnan(v), best_nan = best_i >= 0 && std::isnan(best);
      if (best_i < 0 || (!best_nan && (nan || (op == 3 ? v < best : v > best)))) best = v, best_i = p;
    }
    mean = acc / static_cast<double>(n);
    if (op == 0) r.value[q] = acc;
    if (op == 1) r.value[q] = mean;
    if (op == 2 || op == 3) r.value[q] = best, r.index[q] = best_i;
    if (op == 4) {
      double m2 = 0;
      for (int64_t p = 0; p < n; ++p) m2 += (at(p) - mean) * (at(p) - mean);
      r.value[q] = m2 / std::max(0.0, static_cast<double>(n) - correction);
    }
    if (op == 5) {
      double mx = -std::numeric_limits<double>::infinity(), s = 0;
      for (int64_t p = 0; p < n; ++p) mx = std::max(mx, at(p));
      for (int64_t p = 0; p < n; ++p) s += std::exp(at(p) - mx);
      r.value[q] = n == 0 ? -std::numeric_limits<double>::infinity() : mx + std::log(s);
    }
  }
  return r;
}

template <class T>
void check_reduce(int64_t outer, int64_t inner, bool last, unsigned seed) {
  const bool is_float = std::is_same_v<T, float>;
  const auto x = random_values<T>(outer * inner, -2, 2, seed);
  DeviceArray<T> dx(x);
  const int64_t outputs = last ? outer : inner, n = last ? inner : outer;
  DeviceArray<T> dout(outputs);
  DeviceArray<int64_t> didx(outputs);
  const kc::Reduction ops[] = {kc::Reduction::Sum, kc::Reduction::Mean, kc::Reduction::Max,
                               kc::Reduction::Min, kc::Reduction::Var,  kc::Reduction::LogSumExp};
  double sum_abs_max = 0;  // the largest sum |x| of any output: the scale of sum's rounding
  for (int64_t q = 0; q < outputs; ++q) {
    double s = 0;
    for (int64_t p = 0; p < n; ++p) s += std::fabs(double(last ? x[q * inner + p] : x[p * inner + q]));
    sum_abs_max = std::max(sum_abs_max, s);
  }
  for (int op = 0; op < 6; ++op) {
    for (double correction : {1.0, 0.0}) {
      if (op != 4 && correction == 0.0) continue;
      CAPTURE(op);
      CAPTURE(correction);
      if (last)
        kc::reduce_last(ops[op], dx.get(), dout.get(), outer, inner, 0, correction);
      else
        kc::reduce_first(ops[op], dx.get(), dout.get(), outer, inner, 0, correction);
      const RefResult want = reduce_ref(x, outer, inner, last, op, correction);
      const auto got = as_double(dout.download());
      if (op == 0) ember::test::check_close(got, want.value, (is_float ? 1e-5 : 1e-12) * sum_abs_max + 1e-30, 0, "sum");
      if (op == 1)
        ember::test::check_close(got, want.value,
                                 (is_float ? 1e-5 : 1e-12) * sum_abs_max / std::max<int64_t>(n, 1) + 1e-30, 0, "mean");
      if (op == 2 || op == 3) ember::test::check_close(got, want.value, 0, 0, "max/min");
      if (op == 4) ember::test::check_close(got, want.value, is_float ? 1e-6 : 1e-12, is_float ? 1e-4 : 1e-10, "var");
      if (op == 5) {
        const double tol = is_float ? 1e-5 : 1e-12;
        ember::test::check_close(got, want.value, tol, tol, "logsumexp");
      }
    }
  }
  // Arg reductions on data with many ties: the first position must win.
  std::vector<T> tied(x.size());
  for (size_t i = 0; i < x.size(); ++i) tied[i] = std::floor(x[i] * T(2));
  dx.upload(tied);
  for (bool is_max : {true, false}) {
    CAPTURE(is_max);
    const auto op = is_max ? kc::ArgReduction::Max : kc::ArgReduction::Min;
    if (last)
      kc::arg_reduce_last(op, dx.get(), dout.get(), didx.get(), outer, inner);
    else
      kc::arg_reduce_first(op, dx.get(), dout.get(), didx.get(), outer, inner);
    const RefResult want = reduce_ref(tied, outer, inner, last, is_max ? 2 : 3, 0);
    ember::test::check_close(as_double(dout.download()), want.value, 0, 0, "arg values");
    CHECK(didx.download() == want.index);
  }
}

TEST_CASE("cuda kernels: reductions over the last and the first dim, float and double") {
  if (!gpu_here("reductions vs CPU")) return;
  const int64_t sizes[] = {1, 7, 33, 127, 1000, 4097};
  unsigned seed = 500;
  for (int64_t outer : sizes)
    for (int64_t inner : sizes) {
      if (outer * inner > 600000) continue;
      for (bool last : {true, false}) {
        CAPTURE(outer);
        CAPTURE(inner);
        CAPTURE(last);
        check_reduce<float>(outer, inner, last, seed++);
        check_reduce<double>(outer, inner, last, seed++);
      }
    }
  // The other launch shapes: long rows (1024-thread blocks), a first-dim reduction of one
  // column (run as a row), and few columns over many rows.
  const int64_t extra[][2] = {{1, 70000}, {3, 20000}, {100000, 1}, {20000, 3}, {4097, 33}};
  for (const auto& s : extra)
    for (bool last : {true, false}) {
      CAPTURE(s[0]);
      CAPTURE(s[1]);
      CAPTURE(last);
      check_reduce<float>(s[0], s[1], last, seed++);
    }
}

TEST_CASE("cuda kernels: reductions repeat bit for bit, handle NaN and empty dims") {
  if (!gpu_here("reduction determinism and edge cases")) return;
  // Determinism: the same input twice gives the same bits (no atomics, fixed tree).
  for (bool last : {true, false}) {
    const int64_t outer = last ? 37 : 100003, inner = last ? 100003 : 37;
    const auto x = random_values<float>(outer * inner, -1, 1, 600);
    DeviceArray<float> dx(x), a(last ? outer : inner), b(last ? outer : inner);
    for (auto op : {kc::Reduction::Sum, kc::Reduction::Var, kc::Reduction::LogSumExp}) {
      for (float* out : {a.get(), b.get()}) {
        if (last)
          kc::reduce_last(op, dx.get(), out, outer, inner);
        else
          kc::reduce_first(op, dx.get(), out, outer, inner);
      }
      const auto va = a.download(), vb = b.download();
      CHECK(std::memcmp(va.data(), vb.data(), va.size() * sizeof(float)) == 0);
    }
  }
  // NaN: max and argmax report it (the first one), sum and logsumexp become NaN.
  std::vector<float> x = random_values<float>(2 * 600, -1, 1, 601);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  x[17] = nan, x[400] = nan, x[600 + 599] = nan;
  DeviceArray<float> dx(x), out(2);
  DeviceArray<int64_t> idx(2);
  kc::arg_reduce_last(kc::ArgReduction::Max, dx.get(), out.get(), idx.get(), 2, 600);
  CHECK(idx.download() == std::vector<int64_t>{17, 599});
  for (float v : out.download()) CHECK(std::isnan(v));
  kc::arg_reduce_last(kc::ArgReduction::Min, dx.get(), nullptr, idx.get(), 2, 600);
  CHECK(idx.download() == std::vector<int64_t>{17, 599});
  for (auto op : {kc::Reduction::Sum, kc::Reduction::LogSumExp, kc::Reduction::Max}) {
    kc::reduce_last(op, dx.get(), out.get(), 2, 600);
    for (float v : out.download()) CHECK(std::isnan(v));
  }
  // -inf and +inf in logsumexp.
  const float inf = std::numeric_limits<float>::infinity();
  DeviceArray<float> infs(std::vector<float>{-inf, -inf, -inf, 1.0f, inf, 2.0f});
  kc::reduce_last(kc::Reduction::LogSumExp, infs.get(), out.get(), 2, 3);
  CHECK(out.download() == std::vector<float>{-inf, inf});
  // Empty reduced dim: sum 0, mean NaN, logsumexp -inf; max has no value.
  DeviceArray<float> none(0), three(3);
  kc::reduce_last(kc::Reduction::Sum, none.get(), three.get(), 3, 0);
  CHECK(three.download() == std::vector<float>{0, 0, 0});
  kc::reduce_first(kc::Reduction::Mean, none.get(), three.get(), 0, 3);
  for (float v : three.download()) CHECK(std::isnan(v));
  kc::reduce_last(kc::Reduction::LogSumExp, none.get(), three.get(), 3, 0);
  CHECK(three.download() == std::vector<float>{-inf, -inf, -inf});
  CHECK(ember::test::contains(error_of([&] { kc::reduce_last(kc::Reduction::Max, none.get(), three.get(), 3, 0); }),
                              "[reduce_last]"));
}

}  // namespace

// Checked before any CUDA call, so this runs with or without a GPU.
TEST_CASE("cuda kernels: bad sizes are errors naming the op") {
  namespace kc = ember::kernels::cuda;
  using ember::test::contains;
  using ember::test::error_of;
  float* p = nullptr;
  CHECK(contains(error_of([&] { kc::gemm(false, false, 4, 4, 4, 1.0f, p, 3, p, 4, 0.0f, p, 4); }),
                 "[gemm] leading dims"));
  CHECK(
      contains(error_of([&] { kc::gemm(true, false, 4, 4, 4, 1.0f, p, 4, p, 4, 0.0f, p, 3); }), "[gemm] leading dims"));
  CHECK(contains(error_of([&] { kc::gemm(false, false, -1, 4, 4, 1.0f, p, 4, p, 4, 0.0f, p, 4); }), "[gemm] negative"));
  // cuBLAS takes int leading dims: a larger one is refused, not truncated.
  CHECK(contains(error_of([&] { kc::gemm(false, false, 4, 4, 4, 1.0f, p, int64_t{1} << 32, p, 4, 0.0f, p, 4); }),
                 "[gemm] leading dim 4294967296 does not fit"));
  CHECK(contains(error_of([&] { kc::softmax(p, p, -1, 4, false); }), "[softmax]"));
  CHECK(contains(error_of([&] { kc::softmax_backward(p, p, p, 2, -4, false); }), "[softmax_backward]"));
  CHECK(contains(error_of([&] { kc::reduce_first(kc::Reduction::Sum, p, p, -2, 4); }), "[reduce_first]"));
  CHECK(contains(error_of([&] { kc::arg_reduce_first(kc::ArgReduction::Max, p, p, nullptr, 0, 4); }),
                 "[arg_reduce_first]"));
}

#else  // EMBER_WITH_CUDA

TEST_CASE("cuda kernels: not built") {
  MESSAGE("skipped: no CUDA device (ember built without CUDA), cuda kernel tests");
}

#endif  // EMBER_WITH_CUDA
