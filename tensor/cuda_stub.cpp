// Device queries for builds without the CUDA backend (see kernels/cuda/runtime.cu).
#ifndef EMBER_WITH_CUDA
#include "tensor/cuda.h"
#include "tensor/error.h"

namespace ember::cuda {
bool is_available() { return false; }
int device_count() { return 0; }
void synchronize() {}
bool self_test() {
  EMBER_CHECK(false, "cuda", "ember was built without CUDA support (configure with -DEMBER_CUDA=ON)");
  return false;
}
void empty_cache() {}
MemoryStats memory_stats() { return {}; }
void reset_peak_memory_stats() {}
}  // namespace ember::cuda
#endif
