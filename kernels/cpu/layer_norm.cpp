// LayerNorm over the rows of a contiguous [rows, cols] array, forward and backward.
//
// Forward, per row (rows split over threads): the mean in one pass, the biased variance as
// the mean of (x - mean)^2 in a second pass (two passes over a row that sits in L1: no
// cancellation of a one-pass E[x^2] - E[x]^2 when |mean| >> std), then y in a third.
// Sums accumulate in double for float, as reduce.cpp and softmax.cpp do.
//
// Backward, with xhat = (x - mean) * rstd and g = dy * weight:
//   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))          (per row)
//   dweight = sum over rows of dy * xhat,  dbias = sum over rows of dy   (per column)
// Rows are cut into fixed chunks of kChunkRows. A task computes dx for its chunk's rows and,
// while each row is still in L1, adds its dy * xhat and dy into the chunk's own [cols]
// partial sums; the partials are then added in chunk order. One pass over dy and x, no
// atomics, and chunks that do not depend on the thread count, so neither do the results.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

template <class T> struct AccOf { using type = T; };
template <> struct AccOf<float> { using type = double; };

// Rows per backward task (the partial sums cost rows / kChunkRows * cols * 2 accumulators:
// 1/16 of a float input's size).
constexpr int64_t kChunkRows = 64;

// Mean and rstd of one row (cols > 0).
template <class T>
void row_stats(const T* x, int64_t cols, double eps, T& mean_out, T& rstd_out) {
  using A = typename AccOf<T>::type;
  A sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t c = 0; c < cols; ++c) sum += static_cast<A>(x[c]);
  const A mean = sum / static_cast<A>(cols);
  A sq = 0;
#pragma omp simd reduction(+ : sq)
  for (int64_t c = 0; c < cols; ++c) {
    const A d = static_cast<A>(x[c]) - mean;
    sq += d * d;
  }
  const A var = sq / static_cast<A>(cols);
  mean_out = static_cast<T>(mean);
  rstd_out = static_cast<T>(A(1) / std::sqrt(var + static_cast<A>(eps)));
}

template <class T>
void forward_row(const T* __restrict x, const T* __restrict w, const T* __restrict b, T* __restrict y, int64_t cols,
                 double eps, T& mean, T& rstd) {
  row_stats(x, cols, eps, mean, rstd);
  const T m = mean, r = rstd;
  // Four loops so that each one vectorizes without a branch inside.
  if (w != nullptr && b != nullptr) {
    for (int64_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * r * w[c] + b[c];
  } else if (w != nullptr) {
    for (int64_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * r * w[c];
  } else if (b != nullptr) {
    for (int64_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * r + b[c];
  } else {
    for (int64_t c = 0; c < cols; ++c) y[c] = (x[c] - m) * r;
  }
}

// dx of one row; w may be null (weight 1).
template <class T>
void backward_row(const T* __restrict dy, const T* __restrict x, const T* __restrict w, T mean, T rstd,
                  T* __restrict dx, int64_t cols) {
  using A = typename AccOf<T>::type;
  A sum_g = 0, sum_gx = 0;
#pragma omp simd reduction(+ : sum_g, sum_gx)
  for (int64_t c = 0; c < cols; ++c) {
    const A g = static_cast<A>(dy[c]) * (w != nullptr ? static_cast<A>(w[c]) : A(1));
    sum_g += g;
    sum_gx += g * (static_cast<A>(x[c]) - static_cast<A>(mean));
  }
  // mean(g * xhat) = rstd * sum(g * (x - mean)) / cols
  const T a = static_cast<T>(sum_g / static_cast<A>(cols));
  const T bx = static_cast<T>(sum_gx * static_cast<A>(rstd) / static_cast<A>(cols));
  if (w != nullptr) {
    for (int64_t c = 0; c < cols; ++c) dx[c] = rstd * (dy[c] * w[c] - a - (x[c] - mean) * rstd * bx);
  } else {
    for (int64_t c = 0; c < cols; ++c) dx[c] = rstd * (dy[c] - a - (x[c] - mean) * rstd * bx);
  }
}

template <class T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? t.impl()->data_as<T>() : nullptr;
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd) {
  check_cpu(x, "layer_norm");
  const int64_t rows = mean.numel();
  if (rows == 0) return;
  const int64_t cols = x.numel() / rows;
  dispatch_floating(x.dtype(), "layer_norm", [&]<class T>() {
    const T* xp = x.impl()->data_as<T>();
    const T* wp = data_or_null<T>(weight);
    const T* bp = data_or_null<T>(bias);
    T* yp = y.impl()->data_as<T>();
    T* mp = mean.impl()->data_as<T>();
    T* rp = rstd.impl()->data_as<T>();
    if (cols == 0) {  // the mean of nothing: NaN, as the composed formula gives
      for (int64_t r = 0; r < rows; ++r) mp[r] = rp[r] = std::numeric_limits<T>::quiet_NaN();
      return;
    }
    parallel_for(rows, cols * 4, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) forward_row(xp + r * cols, wp, bp, yp + r * cols, cols, eps, mp[r], rp[r]);
    });
  });
}

void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  check_cpu(x, "layer_norm_backward");
  const int64_t rows = mean.numel();
  dispatch_floating(x.dtype(), "layer_norm_backward", [&]<class T>() {
    using A = typename AccOf<T>::type;
    T* dwp = data_or_null<T>(dweight);
    T* dbp = data_or_null<T>(dbias);
    const int64_t cols = dwp ? dweight.numel() : dbp ? dbias.numel() : rows > 0 ? x.numel() / rows : 0;
    if (rows == 0 || cols == 0) {  // sums over no rows
      for (int64_t c = 0; c < cols; ++c) {
        if (dwp) dwp[c] = T(0);
        if (dbp) dbp[c] = T(0);
      }
      return;
    }
    const T* dyp = dy.impl()->data_as<T>();
    const T* xp = x.impl()->data_as<T>();
    const T* mp = mean.impl()->data_as<T>();
    const T* rp = rstd.impl()->data_as<T>();
    const T* wp = data_or_null<T>(weight);
    T* dxp = data_or_null<T>(dx);
    const bool columns = dwp != nullptr || dbp != nullptr;
    const int64_t chunks = (rows + kChunkRows - 1) / kChunkRows;
    // Partial sums of chunk k: dweight's at [2k * cols, (2k + 1) * cols), dbias's after them.
    std::vector<A> partial(columns ? static_cast<size_t>(2 * chunks * cols) : 0);
    parallel_for(chunks, kChunkRows * cols * 4, [&](int64_t begin, int64_t end) {
      for (int64_t k = begin; k < end; ++k) {
        A* pw = columns ? partial.data() + 2 * k * cols : nullptr;
        A* pb = columns ? pw + cols : nullptr;
        const int64_t r_end = std::min(rows, (k + 1) * kChunkRows);
        for (int64_t r = k * kChunkRows; r < r_end; ++r) {
          const T* dyr = dyp + r * cols;
          const T* xr = xp + r * cols;
          if (dxp) backward_row(dyr, xr, wp, mp[r], rp[r], dxp + r * cols, cols);
          if (!columns) continue;
          const A m = static_cast<A>(mp[r]), s = static_cast<A>(rp[r]);
#pragma omp simd
          for (int64_t c = 0; c < cols; ++c) {
            pw[c] += static_cast<A>(dyr[c]) * ((static_cast<A>(xr[c]) - m) * s);
            pb[c] += static_cast<A>(dyr[c]);
          }
        }
      }
    });
    if (!columns) return;
    parallel_for(cols, chunks * 2, [&](int64_t begin, int64_t end) {
      for (int64_t c = begin; c < end; ++c) {
        A sw = 0, sb = 0;
        for (int64_t k = 0; k < chunks; ++k) {
          sw += partial[static_cast<size_t>(2 * k * cols + c)];
          sb += partial[static_cast<size_t>((2 * k + 1) * cols + c)];
        }
        if (dwp) dwp[c] = static_cast<T>(sw);
        if (dbp) dbp[c] = static_cast<T>(sb);
      }
    });
  });
}

}  // namespace ember::kernels::cpu
