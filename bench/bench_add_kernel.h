#pragma once
// The plain add kernel bench_cuda measures Tensor's add against (bench_add_kernel.cu).
#include <cuda_runtime.h>

#include <cstdint>

namespace ember::bench {

/// out[i] = a[i] + b[i] for n contiguous floats (16-byte aligned pointers): the plain
/// vectorized grid-stride kernel the GPU benchmark runs against a device-to-device copy.
void bench_add_f32(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream = 0);

}  // namespace ember::bench
