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
