#pragma once
// TensorOptions, as in libtorch: ember::zeros({2, 3}, ember::dtype(kFloat64).requires_grad(true)).
#include "tensor/device.h"
#include "tensor/dtype.h"

namespace ember {

struct TensorOptions {
  ScalarType dtype_ = kFloat32;
  Device device_ = Device(kCPU);
  bool requires_grad_ = false;

  TensorOptions() = default;
  TensorOptions(ScalarType t) : dtype_(t) {}  // NOLINT: implicit, as in libtorch
  TensorOptions(Device d) : device_(d) {}     // NOLINT
  TensorOptions(DeviceType d) : device_(d) {}  // NOLINT
  TensorOptions dtype(ScalarType t) const { auto o = *this; o.dtype_ = t; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }
  ScalarType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }
};

/// Options with only the dtype set.
inline TensorOptions dtype(ScalarType t) { return TensorOptions().dtype(t); }
/// Options with only the device set.
inline TensorOptions device(Device d) { return TensorOptions().device(d); }
/// Options with only requires_grad set.
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace ember
