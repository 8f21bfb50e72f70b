// Softmax and log-softmax along one dim.
//
// The contiguous input is viewed as [outer, n, inner] with n the softmax dim. Each output
// element needs the max and the sum of exp over its n-long fibre; subtracting the max first
// keeps exp() from overflowing (logits of 1e4 stay finite).
//   - inner == 1 (softmax over the last dim, the common case): each fibre is a contiguous
//     row, reduced and written in three sequential passes.
//   - inner > 1: fibres are strided by inner; instead of walking them one at a time (a cache
//     miss per element) a block of neighbouring fibres is processed together, so every pass
//     reads contiguous runs of `block` elements.
// Work is split over (outer, block) pairs, so a single large outer slice still uses every
// thread. Every inner loop is written to vectorize: glibc's expf is scalar (about 8 ns per
// call here), so float uses exp_approx below, which the compiler vectorizes (about 1 ns).
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

// Fibres handled together when inner > 1: 2 KiB of float64 per buffer, well inside L1.
constexpr int64_t kBlock = 256;

// Float sums accumulate in double: a long row of small exp values would otherwise lose bits.
template <class T> struct AccOf { using type = T; };
template <> struct AccOf<float> { using type = double; };

// exp for float in branch-free form: exp(x) = 2^n exp(r) with n = round(x / ln 2), and
// Cephes' degree-6 polynomial for exp(r), |r| <= ln 2 / 2. At most 1.5 ulp from the exact
// value on [-87, 88]; below -87 it gives 0 where expf gives a denormal (< 1.7e-38, nothing a
// softmax sum can notice), above 88 infinity, and NaN stays NaN.
inline float exp_approx(float x) {
  constexpr float kLo = -87.0f, kHi = 88.0f;
  float xs = x < kLo ? kLo : x;
  xs = xs > kHi ? kHi : xs;
  xs = x != x ? 0.0f : xs;  // keeps the integer conversion below defined for NaN
  constexpr float kRound = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  const float fn = (xs * 1.44269504088896341f + kRound) - kRound;
  // r = x - n ln 2, with ln 2 split in two so that n * ln2_hi is exact.
  float r = xs - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * (r * r) + r + 1.0f;
  y *= std::bit_cast<float>((static_cast<int32_t>(fn) + 127) << 23);  // 2^n, n in [-126, 127]
  y = x < kLo ? 0.0f : y;
  y = x > kHi ? std::numeric_limits<float>::infinity() : y;
  return x != x ? x : y;
}
inline double exp_approx(double x) { return std::exp(x); }

// Largest element of x[0, n) (n > 0). NaN handling is left to the callers' exp: a NaN
// anywhere makes the sum, and so every output of the fibre, NaN (as in PyTorch) whatever
// this returns. Lanes of independent selects, which compilers vectorize without -ffast-math
// (a max reduction they would not).
template <class T>
T run_max(const T* x, int64_t n) {
  constexpr int64_t kLanes = 16;
  T lane[kLanes];
  for (int64_t l = 0; l < kLanes; ++l) lane[l] = x[0];
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
#pragma omp simd
    for (int64_t l = 0; l < kLanes; ++l) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
  }
  T mx = x[0];
  for (int64_t l = 0; l < kLanes; ++l) mx = lane[l] > mx ? lane[l] : mx;
  for (; i < n; ++i) mx = x[i] > mx ? x[i] : mx;
  return mx;
}

template <class T>
void softmax_row(const T* x, T* y, int64_t n, bool log) {
  using A = typename AccOf<T>::type;
  const T mx = run_max(x, n);
  // The exps go through y (for log_softmax as scratch): a separate loop of adds vectorizes
  // for every T, where one calling std::exp (double) would not.
  for (int64_t i = 0; i < n; ++i) y[i] = exp_approx(x[i] - mx);
  A sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) sum += static_cast<A>(y[i]);
  if (log) {
    const T shift = mx + static_cast<T>(std::log(sum));
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] - shift;
    return;
  }
  const T scale = static_cast<T>(A(1) / sum);
  for (int64_t i = 0; i < n; ++i) y[i] *= scale;
}

// Fibres [0, w) of one [n, inner] slice starting at x (and y).
template <class T>
void softmax_block(const T* x, T* y, int64_t n, int64_t inner, int64_t w, bool log) {
  using A = typename AccOf<T>::type;
  std::array<T, kBlock> mx, shift;
  std::array<A, kBlock> sum;
  for (int64_t c = 0; c < w; ++c) {
    mx[c] = x[c];
    sum[c] = 0;
  }
  for (int64_t i = 1; i < n; ++i) {
    const T* row = x + i * inner;
    for (int64_t c = 0; c < w; ++c) mx[c] = row[c] > mx[c] ? row[c] : mx[c];
  }
  for (int64_t i = 0; i < n; ++i) {
    const T* row = x + i * inner;
    T* out = y + i * inner;
    if (log) {
      for (int64_t c = 0; c < w; ++c) sum[c] += static_cast<A>(exp_approx(row[c] - mx[c]));
    } else {
      for (int64_t c = 0; c < w; ++c) out[c] = exp_approx(row[c] - mx[c]);
      for (int64_t c = 0; c < w; ++c) sum[c] += static_cast<A>(out[c]);
    }
  }
  if (log) {
    for (int64_t c = 0; c < w; ++c) shift[c] = mx[c] + static_cast<T>(std::log(sum[c]));
  } else {
    for (int64_t c = 0; c < w; ++c) shift[c] = static_cast<T>(A(1) / sum[c]);  // the scale
  }
  for (int64_t i = 0; i < n; ++i) {
    const T* row = x + i * inner;
    T* out = y + i * inner;
    if (log) {
      for (int64_t c = 0; c < w; ++c) out[c] = row[c] - shift[c];
    } else {
      for (int64_t c = 0; c < w; ++c) out[c] *= shift[c];
    }
  }
}

}  // namespace

void softmax(const Tensor& in, int64_t dim, bool log, const Tensor& out) {
  check_cpu(in, log ? "log_softmax" : "softmax");
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t d = 0; d < in.dim(); ++d) {
    if (d < dim) outer *= in.sizes()[d];
    else if (d == dim) n = in.sizes()[d];
    else inner *= in.sizes()[d];
  }
  if (in.numel() == 0) return;
  dispatch_floating(in.dtype(), "softmax", [&]<class T>() {
    const T* x = in.impl()->data_as<T>();
    T* y = out.impl()->data_as<T>();
    // exp dominates the cost: count a few units of work per element.
    constexpr int64_t kCost = 8;
    if (inner == 1) {
      parallel_for(outer, n * kCost, [&](int64_t b, int64_t e) {
        for (int64_t o = b; o < e; ++o) softmax_row(x + o * n, y + o * n, n, log);
      });
      return;
    }
    const int64_t blocks = (inner + kBlock - 1) / kBlock;
    parallel_for(outer * blocks, n * std::min(inner, kBlock) * kCost, [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; ++t) {
        const int64_t o = t / blocks, c0 = (t % blocks) * kBlock;
        const int64_t off = o * n * inner + c0;
        softmax_block(x + off, y + off, n, inner, std::min(kBlock, inner - c0), log);
      }
    });
  });
}

}  // namespace ember::kernels::cpu
