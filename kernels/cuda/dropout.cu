// Fused dropout on the GPU: the CUDA twin of kernels/cpu/dropout.cpp, with the same formula
// (kernels/counter_rng.h), so the mask of element i is the same on either device and equals
// rand()'s: one read of x, one write of out, no mask in memory. Each thread hashes kVec
// consecutive positions per step and moves them with one aligned vector load and store when
// both pointers allow it.
#include <cstdint>

#include "kernels/counter_rng.h"
#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

template <class T>
struct alignas(sizeof(T) * kVec) Pack {
  T v[kVec];
};

template <class T>
__device__ __forceinline__ T dropped(T x, uint64_t seed, uint64_t position, T threshold, T scale) {
  const bool keep = rng::uniform_as<T>(seed, position) >= threshold;
  return x * (keep ? scale : T(0));  // a product, not a select: NaN * 0 stays NaN, as on the CPU
}

template <class T, bool kPacked>
__global__ void __launch_bounds__(kThreads)
    dropout_kernel(const T* x, T* out, int64_t n, T threshold, T scale, uint64_t seed, uint64_t offset) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t tail = 0;
  if (kPacked) {
    const int64_t packs = n / kVec;
    for (int64_t j = first; j < packs; j += stride) {
      Pack<T> in = reinterpret_cast<const Pack<T>*>(x)[j], res;
#pragma unroll
      for (int k = 0; k < kVec; ++k)
        res.v[k] = dropped(in.v[k], seed, offset + static_cast<uint64_t>(j * kVec + k), threshold, scale);
      reinterpret_cast<Pack<T>*>(out)[j] = res;
    }
    tail = packs * kVec;
  }
  for (int64_t i = tail + first; i < n; i += stride)
    out[i] = dropped(x[i], seed, offset + static_cast<uint64_t>(i), threshold, scale);
}

}  // namespace

void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  const int64_t n = out.numel();
  if (n == 0) return;
  EMBER_CHECK(x.is_contiguous() && out.is_contiguous(), "dropout", "expects contiguous operands");
  dispatch_tag<DtypeSet::Floating>(out.dtype(), "dropout", [&](auto tag) {
    using T = decltype(tag);
    const T* px = static_cast<const T*>(x.impl()->data());
    T* po = static_cast<T*>(out.impl()->data());
    const T threshold = static_cast<T>(p), scale = static_cast<T>(1.0 / (1.0 - p));  // as the CPU rounds them
    const bool packed = reinterpret_cast<uintptr_t>(px) % sizeof(Pack<T>) == 0 &&
                        reinterpret_cast<uintptr_t>(po) % sizeof(Pack<T>) == 0 && n >= kVec;
    if (packed)
      dropout_kernel<T, true><<<detail::grid_size(n / kVec), kThreads>>>(px, po, n, threshold, scale, seed, offset);
    else
      dropout_kernel<T, false><<<detail::grid_size(n), kThreads>>>(px, po, n, threshold, scale, seed, offset);
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::kernels::cuda
