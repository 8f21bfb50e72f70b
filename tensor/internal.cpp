#include "tensor/internal.h"

#include "kernels/kernels.h"
#include "tensor/view_ops.h"

namespace ember {

const char* dtype_name(ScalarType t) {
  switch (t) {
    case kFloat32: return "float32";
    case kFloat64: return "float64";
    case kInt64: return "int64";
    case kBool: return "bool";
  }
  return "unknown";
}

namespace internal {

Tensor cast(const Tensor& t, ScalarType dtype) {
  if (t.dtype() == dtype) return t;
  Tensor out = new_tensor(t.sizes(), dtype, t.device());
  kernels::copy(t, out);
  return out;
}

void throw_device_mismatch(const Tensor& a, const Tensor& b, const char* op) {
  detail::throw_error(op, "Expected all tensors to be on the same device, but found at least two devices, ",
                      a.device().str(), " and ", b.device().str(), "!");
}

Tensor on_device_of(const Tensor& t, const Tensor& like) {
  if (t.device() == like.device() || !t.device().is_cpu() || t.dim() != 0) return t;
  Tensor moved = to_device(t, like.device());
  moved.impl()->wrapped_number = t.impl()->wrapped_number;  // a fresh 0-d copy: keeps its promotion tier
  return moved;
}

void check_defined(const Tensor& t, const char* op) {
  EMBER_CHECK(t.defined(), op, "expected a defined tensor but got an undefined one");
}

}  // namespace internal
}  // namespace ember
