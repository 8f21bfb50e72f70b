#pragma once
// TensorImpl: the shared state behind a Tensor handle. A view is a new TensorImpl over the
// same Storage with other sizes, strides or offset (all counted in elements).
#include <cstdint>
#include <memory>

#include "tensor/dtype.h"
#include "tensor/shape.h"
#include "tensor/storage.h"

namespace ember {
namespace autograd {
struct AutogradMeta;
}

struct TensorImpl {
  TensorImpl(std::shared_ptr<Storage> storage, Shape sizes, Shape strides, int64_t offset, ScalarType dtype);
  ~TensorImpl();

  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
  int64_t numel = 0;
  ScalarType dtype = kFloat32;
  bool contiguous = true;
  /// Set for a 0-d tensor made from a C++ number, so it does not promote tensors (x * 2.0).
  bool wrapped_number = false;
  /// Null for tensors that never took part in autograd: no autograd, no cost.
  std::unique_ptr<autograd::AutogradMeta> autograd;

  Device device() const { return storage->device(); }
  int64_t dim() const { return static_cast<int64_t>(sizes.size()); }
  /// Address of element 0 (after the storage offset).
  void* data() const {
    return static_cast<char*>(storage->data()) + offset * static_cast<int64_t>(element_size(dtype));
  }
  template <class T> T* data_as() const { return static_cast<T*>(data()); }
  /// Recomputes numel and contiguity after sizes or strides change.
  void refresh();
};

}  // namespace ember
