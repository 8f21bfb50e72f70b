#pragma once
// Row-wise kernels (softmax.cu, layer_norm.cu) share one launch plan: a warp per row for short
// rows, a block per row for rows that still fit in registers, and a long-row kernel of the
// caller's own beyond that. The row's values stay in registers, kPer per thread, with kPer a
// compile-time constant so the arrays are never spilled to local memory.
#include <cstdint>
#include <type_traits>

#include "tensor/error.h"

namespace ember::kernels::cuda::rows {

constexpr int kWarpRowsPerBlock = 4;  // warp-per-row blocks: 128 threads
constexpr int kRowThreads = 512;      // block-per-row blocks with a cached row
constexpr int kLongThreads = 1024;    // block-per-row blocks for rows that do not fit
constexpr int kWarpMaxCols = 32 * 32;
constexpr int kBlockMaxCols = kRowThreads * 16;

// Which row this thread works on, its index in the row's group and the group's width.
template <bool kWarp>
struct RowSlot {
  int64_t row;
  int lane, width;
  __device__ RowSlot() {
    if constexpr (kWarp) {
      row = static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5);
      lane = threadIdx.x & 31;
      width = 32;
    } else {
      row = blockIdx.x;
      lane = threadIdx.x;
      width = blockDim.x;
    }
  }
};

template <int N>
using Int = std::integral_constant<int, N>;
template <bool B>
using Bool = std::integral_constant<bool, B>;

// Calls launch(Int<kPer>, Bool<kWarp>, grid, threads) with the smallest power-of-two kPer
// that holds a row; false when the row is too long for registers.
template <class Launch>
bool dispatch_cached(int64_t rows, int cols, Launch&& launch) {
  if (cols <= kWarpMaxCols) {
    const unsigned grid = static_cast<unsigned>((rows + kWarpRowsPerBlock - 1) / kWarpRowsPerBlock);
    const int threads = 32 * kWarpRowsPerBlock;
    if (cols <= 32)
      launch(Int<1>{}, Bool<true>{}, grid, threads);
    else if (cols <= 64)
      launch(Int<2>{}, Bool<true>{}, grid, threads);
    else if (cols <= 128)
      launch(Int<4>{}, Bool<true>{}, grid, threads);
    else if (cols <= 256)
      launch(Int<8>{}, Bool<true>{}, grid, threads);
    else if (cols <= 512)
      launch(Int<16>{}, Bool<true>{}, grid, threads);
    else
      launch(Int<32>{}, Bool<true>{}, grid, threads);
    return true;
  }
  if (cols <= kBlockMaxCols) {
    const unsigned grid = static_cast<unsigned>(rows);
    // cols > 1024 here, so kPer >= 4 (a block of 512 holds 2048 values at kPer = 4).
    if (cols <= kRowThreads * 4)
      launch(Int<4>{}, Bool<false>{}, grid, kRowThreads);
    else if (cols <= kRowThreads * 8)
      launch(Int<8>{}, Bool<false>{}, grid, kRowThreads);
    else
      launch(Int<16>{}, Bool<false>{}, grid, kRowThreads);
    return true;
  }
  return false;
}

// Sizes checked once per call: rows go in grid.x (up to 2^31 - 1), cols in int. The long-row
// kernels step an int column index by blockDim.x past the last column, so cols stays a
// block's width below INT32_MAX (c + blockDim.x must not overflow). True when there is work.
inline bool check_sizes(const char* op, int64_t rows, int64_t cols) {
  EMBER_CHECK(rows >= 0 && cols >= 0, op, "negative size: rows=", rows, " cols=", cols);
  EMBER_CHECK(cols <= INT32_MAX - kLongThreads && rows <= INT32_MAX, op, "too large: rows=", rows, " cols=", cols);
  return rows > 0 && cols > 0;
}

}  // namespace ember::kernels::cuda::rows
