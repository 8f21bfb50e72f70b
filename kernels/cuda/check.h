#pragma once
// Turns a failed CUDA runtime or cuBLAS call into ember::Error naming the call, the file and
// the line. Every CUDA call in kernels/cuda/ goes through one of these two macros.
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "tensor/error.h"

#define EMBER_CUDA_CHECK(call)                                                                  \
  do {                                                                                          \
    cudaError_t status_ = (call);                                                               \
    EMBER_CHECK(status_ == cudaSuccess, "cuda", #call, " failed: ", cudaGetErrorString(status_), \
                " (", __FILE__, ":", __LINE__, ")");                                            \
  } while (0)

#define EMBER_CUBLAS_CHECK(call)                                                                     \
  do {                                                                                               \
    cublasStatus_t status_ = (call);                                                                 \
    EMBER_CHECK(status_ == CUBLAS_STATUS_SUCCESS, "cublas", #call, " failed with status ",           \
                static_cast<int>(status_), " (", __FILE__, ":", __LINE__, ")");                      \
  } while (0)
