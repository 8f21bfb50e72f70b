// The CUDA runtime side of ember: device queries and the error check that turns a failed
// CUDA call into ember::Error with the call, file and line. The op kernels for CUDA are the
// subject of a later change (kernels/cuda/ will mirror kernels/cpu/ file by file).
#include <vector>

#include "kernels/cuda/check.h"
#include "tensor/cuda.h"

namespace ember::cuda {
namespace {
__global__ void iota_kernel(float* out, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) out[i] = static_cast<float>(i) * 2.0f;
}
}  // namespace

int device_count() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky error: no driver or no device
    return 0;
  }
  return n;
}

bool is_available() { return device_count() > 0; }

void synchronize() {
  if (is_available()) EMBER_CUDA_CHECK(cudaDeviceSynchronize());
}

bool self_test() {
  EMBER_CHECK(is_available(), "cuda", "no CUDA device is available");
  const int n = 1000;
  float* device = nullptr;
  EMBER_CUDA_CHECK(cudaMalloc(&device, n * sizeof(float)));
  iota_kernel<<<(n + 255) / 256, 256>>>(device, n);
  std::vector<float> host(n);
  cudaError_t launch = cudaGetLastError();
  cudaError_t copy = cudaMemcpy(host.data(), device, n * sizeof(float), cudaMemcpyDeviceToHost);
  cudaFree(device);
  EMBER_CUDA_CHECK(launch);
  EMBER_CUDA_CHECK(copy);
  for (int i = 0; i < n; ++i)
    if (host[i] != 2.0f * i) return false;
  return true;
}

}  // namespace ember::cuda
