#pragma once
// Shared by the CUDA test files: the skip rule for machines without a GPU, and the helpers
// that compare a GPU tensor with the CPU's or fake one for checks that never touch the device.
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace ember::test {

inline const Device kGpu(kCUDA);

/// True (after saying so) when there is no GPU to run a case on. A skipped case has checked
/// nothing; it passes only in doctest's sense (scripts/gpu-check.sh fails on any skip when a
/// GPU is present).
inline bool skip_without_gpu(const char* what) {
  if (cuda::is_available()) return false;
  MESSAGE("skipped: no CUDA device here; " << std::string(what) << " did not run");
  return true;
}

inline std::string str(const Shape& s) {
  std::ostringstream os;
  os << shape_text(s);
  return os.str();
}

/// Values of a tensor on any device, in logical order (test::values reads host memory).
inline std::vector<double> host_values(const Tensor& t) { return values(t.cpu()); }

/// The usual tolerance of a GPU result against the CPU's: float32 1e-5, float64 1e-12, other
/// dtypes exact.
inline double default_tol(ScalarType t) { return t == kFloat32 ? 1e-5 : (t == kFloat64 ? 1e-12 : 0); }

/// A GPU result against the CPU's: both defined, the GPU's on the GPU, the same sizes and
/// dtype, every value within atol + rtol * |want| (NaN matching NaN). The CUDA test files'
/// own check helpers are this with their tolerances.
inline void check_gpu_cpu(const Tensor& gpu, const Tensor& cpu, double atol, double rtol, const std::string& what) {
  INFO(what);
  REQUIRE(gpu.defined());
  REQUIRE(cpu.defined());
  REQUIRE(gpu.device() == kGpu);
  REQUIRE(gpu.sizes() == cpu.sizes());
  REQUIRE(gpu.dtype() == cpu.dtype());
  check_close(host_values(gpu), values(cpu), atol, rtol, what);
}

/// A tensor that claims to live on cuda:0 but wraps host memory. Enough for the checks that
/// throw before any kernel or copy reads the data, so they run without a GPU; never let a
/// kernel see it.
inline Tensor fake_cuda(const Shape& sizes, ScalarType dtype = kFloat32) {
  Tensor host = zeros(sizes, dtype);
  auto storage = Storage::wrap(host.impl()->data(), static_cast<size_t>(host.numel()) * element_size(dtype),
                               Device(kCUDA), host.impl_ptr());
  return Tensor(std::make_shared<TensorImpl>(storage, sizes, contiguous_strides(sizes), 0, dtype));
}

}  // namespace ember::test
