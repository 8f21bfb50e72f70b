#pragma once
// CUDA device queries. They work in every build: without CUDA support, or without a GPU,
// is_available() is false and device_count() is 0, and the memory functions report zeros.
#include <cstdint>

namespace ember::cuda {

/// True when ember was built with CUDA and a GPU is visible.
bool is_available();
/// Number of visible GPUs (0 without CUDA support).
int device_count();
/// Waits for all work queued on the current GPU (no-op without CUDA).
void synchronize();
/// Runs a tiny kernel and checks its result; true on success. Throws ember::Error when
/// there is no GPU. Used by the GPU check script.
bool self_test();

/// Bytes of GPU memory as the caching allocator sees them. Block sizes are counted after
/// rounding to their size class (512 B up to 1 MiB, then 2 MiB).
struct MemoryStats {
  int64_t allocated = 0;       ///< in blocks that tensors hold now
  int64_t reserved = 0;        ///< held from the driver: allocated plus cached free blocks
  int64_t peak_allocated = 0;  ///< the most `allocated` has been since start or the last reset
};
/// Hands the cached free blocks back to the driver (torch.cuda.empty_cache).
void empty_cache();
MemoryStats memory_stats();
/// Starts peak_allocated again from the current allocated bytes.
void reset_peak_memory_stats();

}  // namespace ember::cuda
