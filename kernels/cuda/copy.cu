// Copy with dtype conversion, fill, and copies between the host and the GPU: the CUDA twin of
// kernels/cpu/copy.cpp.
#include <type_traits>

#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

template <class To, class From>
struct Convert {
  __device__ __forceinline__ To operator()(From x) const {
    if constexpr (std::is_same_v<To, bool>) return x != From(0);
    else return static_cast<To>(x);
  }
};

template <class T>
struct Constant {
  T value;
  __device__ __forceinline__ T operator()() const { return value; }
};

}  // namespace

// A strided GPU-to-GPU copy goes through the strided kernel (coalesced writes, gathered
// reads). A tiled transpose like the CPU's would also coalesce the reads of a transposed
// source; not done yet.
void copy(const Tensor& src, const Tensor& dst) {
  dispatch_tag(dst.dtype(), "copy_", [&](auto to_tag) {
    using To = decltype(to_tag);
    dispatch_tag(src.dtype(), "copy_", [&](auto from_tag) {
      using From = decltype(from_tag);
      map<To, From>(Convert<To, From>{}, dst, src);
    });
  });
}

void fill(const Tensor& dst, const Scalar& value) {
  dispatch_tag(dst.dtype(), "fill_", [&](auto tag) {
    using T = decltype(tag);
    map<T>(Constant<T>{value.to<T>()}, dst);
  });
}

// cudaMemcpy from pageable host memory returns once the bytes are staged, and to pageable
// host memory once they have arrived, so the caller may free or read the host side right
// after. Both wait for the kernels queued before them on the default stream.
void copy_across_devices(const Tensor& src, const Tensor& dst) {
  const size_t nbytes = static_cast<size_t>(src.numel()) * element_size(src.dtype());
  if (nbytes == 0) return;
  const cudaMemcpyKind kind = src.device().is_cpu() ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost;
  EMBER_CUDA_CHECK(cudaMemcpy(dst.impl()->data(), src.impl()->data(), nbytes, kind));
}

}  // namespace ember::kernels::cuda
