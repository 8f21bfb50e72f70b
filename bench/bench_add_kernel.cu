// The add kernel of the GPU benchmark (bench/bench_cuda.cpp): contiguous float32 a + b with
// float4 loads and a grid-stride loop, the simplest kernel that should run at copy speed.
// It is the yardstick Tensor's own add (kernels/cuda/binary.cu) is measured against, so it
// stays minimal. It lives with the benchmark, not in the library.
#include "bench_add_kernel.h"

#include <algorithm>
#include <cstdint>

#include "kernels/cuda/check.h"

namespace ember::bench {
namespace {

__global__ void add_f32_kernel(const float* __restrict__ a, const float* __restrict__ b, float* __restrict__ out,
                               int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t n4 = n / 4;
  const float4* a4 = reinterpret_cast<const float4*>(a);
  const float4* b4 = reinterpret_cast<const float4*>(b);
  float4* o4 = reinterpret_cast<float4*>(out);
  for (int64_t i = start; i < n4; i += stride) {
    const float4 x = a4[i], y = b4[i];
    o4[i] = make_float4(x.x + y.x, x.y + y.y, x.z + y.z, x.w + y.w);
  }
  for (int64_t i = 4 * n4 + start; i < n; i += stride) out[i] = a[i] + b[i];  // the last n % 4
}

}  // namespace

void bench_add_f32(const float* a, const float* b, float* out, int64_t n, cudaStream_t stream) {
  EMBER_CHECK(n >= 0, "bench_add_f32", "negative size ", n);
  if (n == 0) return;
  const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
  EMBER_CHECK(aligned(a) && aligned(b) && aligned(out), "bench_add_f32", "pointers must be 16-byte aligned");
  int device = 0, sms = 0;
  EMBER_CUDA_CHECK(cudaGetDevice(&device));
  EMBER_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  // Enough blocks to fill every SM several times over; the loop covers the rest.
  const int threads = 256;
  const int64_t wanted = (n / 4 + threads - 1) / threads;
  const int blocks = static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(wanted, int64_t{sms} * 16)));
  add_f32_kernel<<<blocks, threads, 0, stream>>>(a, b, out, n);
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::bench
