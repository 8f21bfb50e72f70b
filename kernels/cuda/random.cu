// Counter-based random numbers on the GPU: the CUDA twin of kernels/cpu/random.cpp, with the
// same formula (kernels/counter_rng.h), so element i of a request is the same number on
// either device (uniform ones bit for bit: integer hashing and one rounding to T; normal ones
// to the last ulp or two, as the GPU's log and cos are not glibc's).
#include <cstdint>

#include "kernels/counter_rng.h"
#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

template <class T>
__global__ void __launch_bounds__(kThreads)
    random_kernel(T* p, int64_t n, bool normal, uint64_t seed, uint64_t offset) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint64_t k = offset + static_cast<uint64_t>(normal ? 2 * i : i);
    p[i] = normal ? static_cast<T>(rng::normal(seed, k)) : rng::uniform_as<T>(seed, k);
  }
}

}  // namespace

void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  const int64_t n = out.numel();
  if (n == 0) return;
  EMBER_CHECK(out.is_contiguous(), normal ? "randn" : "rand", "expects a contiguous output");
  dispatch_tag<DtypeSet::Floating>(out.dtype(), "random", [&](auto tag) {
    using T = decltype(tag);
    random_kernel<T><<<detail::grid_size(n), kThreads>>>(static_cast<T*>(out.impl()->data()), n, normal, seed, offset);
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::kernels::cuda
