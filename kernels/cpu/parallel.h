#pragma once
// Thread count and the parallel-for used by CPU kernels. Small work stays on one thread:
// starting an OpenMP region costs more than adding a few thousand numbers.
#include <algorithm>
#include <cstdint>

namespace ember {
/// Sets the threads used by ember's kernels, OpenMP, OpenBLAS and Eigen.
void set_num_threads(int n);
/// Threads ember's kernels use (OMP_NUM_THREADS is respected at start-up).
int get_num_threads();
}  // namespace ember

namespace ember::kernels::cpu {

/// Below this many elements a kernel runs on one thread.
inline constexpr int64_t kParallelThreshold = 32768;

/// Calls fn(begin, end) over [0, n) in chunks, on several threads when n * cost_per_item
/// reaches the threshold.
template <class F>
void parallel_for(int64_t n, int64_t cost_per_item, F&& fn) {
  int threads = get_num_threads();
  if (threads <= 1 || n * cost_per_item < kParallelThreshold || n < 2) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  int64_t parts = std::min<int64_t>(threads, n);
#pragma omp parallel for num_threads(static_cast<int>(parts)) schedule(static)
  for (int64_t p = 0; p < parts; ++p) {
    int64_t begin = n * p / parts, end = n * (p + 1) / parts;
    if (begin < end) fn(begin, end);
  }
}

}  // namespace ember::kernels::cpu
