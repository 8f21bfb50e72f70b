#pragma once
// Helpers for the op layer (not part of the public API).
#include <memory>

#include "tensor/tensor.h"

namespace ember::internal {

/// A fresh contiguous tensor without autograd metadata.
inline Tensor new_tensor(const Shape& sizes, ScalarType dtype, Device device) {
  int64_t n = shape_numel(sizes);
  auto storage = Storage::allocate(static_cast<size_t>(n) * element_size(dtype), device);
  return Tensor(std::make_shared<TensorImpl>(std::move(storage), sizes, contiguous_strides(sizes), 0, dtype));
}
/// A view of t's storage with other geometry, without autograd metadata.
inline Tensor alias(const Tensor& t, const Shape& sizes, const Shape& strides, int64_t offset) {
  return Tensor(std::make_shared<TensorImpl>(t.impl()->storage, sizes, strides, offset, t.dtype()));
}
/// t viewed as `shape` by broadcasting (stride 0); t itself when the shape already matches.
inline Tensor broadcast_to(const Tensor& t, const Shape& shape) {
  if (t.sizes() == shape) return t;
  return alias(t, shape, broadcast_strides(t.sizes(), t.strides(), shape), t.storage_offset());
}
/// t converted to dtype without recording autograd (t itself when it already has it).
Tensor cast(const Tensor& t, ScalarType dtype);
[[noreturn]] void throw_device_mismatch(const Tensor& a, const Tensor& b, const char* op);
/// Throws when two tensors of one op live on different devices, naming both. Inline: binary
/// ops call it on every call.
inline void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  if (__builtin_expect(a.device() != b.device(), 0)) throw_device_mismatch(a, b, op);
}
/// PyTorch's "CPU scalar" rule: a 0-d CPU tensor may be an operand of an op whose other
/// operands live on a GPU. Such a t is moved to like's device (a few bytes, recorded by
/// autograd so that its gradient comes back to the CPU); any other t is returned as it is,
/// for check_same_device to judge.
Tensor on_device_of(const Tensor& t, const Tensor& like);
/// Throws unless t is defined.
void check_defined(const Tensor& t, const char* op);

/// Where an op's random numbers come from: the global generator's seed and the first of n
/// consecutive positions of its stream, reserved now (as rand() of n elements reserves them).
struct RandomDraw {
  uint64_t seed = 0, offset = 0;
};
RandomDraw reserve_random(uint64_t n);

}  // namespace ember::internal
