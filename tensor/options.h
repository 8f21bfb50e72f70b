#pragma once
// TensorOptions, as in libtorch: ember::zeros({2, 3}, ember::dtype(kFloat64).requires_grad(true)).
#include "tensor/device.h"
#include "tensor/dtype.h"

namespace ember {

struct TensorOptions {
  ScalarType dtype_ = kFloat32;
  Device device_ = Device(kCPU);
  bool requires_grad_ = false;
  // Whether dtype / device were given: Tensor::to(options) keeps the tensor's own otherwise
  // (as libtorch's optional fields do), so x.to(ember::device(kCUDA)) keeps x's dtype.
  bool has_dtype_ = false, has_device_ = false;

  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t), has_dtype_(true) {}  // NOLINT: implicit, as in libtorch
  TensorOptions(Device d) : device_(d), has_device_(true) {}     // NOLINT
  TensorOptions(DeviceType d) : device_(d), has_device_(true) {}  // NOLINT
  TensorOptions dtype(ScalarType t) const { auto o = *this; o.dtype_ = t; o.has_dtype_ = true; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; o.has_device_ = true; return o; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }
  ScalarType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }
  bool has_dtype() const { return has_dtype_; }
  bool has_device() const { return has_device_; }
};

/// Options with only the dtype set.
inline TensorOptions dtype(ScalarType t) { return TensorOptions().dtype(t); }
/// Options with only the device set.
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
/// Options with only requires_grad set.
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace ember
