#pragma once
// Storage: a ref-counted buffer of bytes on one device. Views share one Storage; so does
// the version counter that autograd uses to notice in-place changes to saved tensors
// (every view of a buffer sees the same writes, so they share one count).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace ember {

/// Allocation functions for one device type; the CUDA backend registers its own.
struct DeviceAllocator {
  void* (*allocate)(size_t nbytes);
  void (*release)(void* ptr, size_t nbytes);
};
/// Installs the allocator used for device type t (called by the CUDA backend at start-up).
void set_device_allocator(DeviceType t, DeviceAllocator a);

class Storage {
 public:
  /// A fresh uninitialized buffer of nbytes on device. CPU buffers are 64-byte aligned, except
  /// those of at most 64 bytes, which live inside the Storage object (16-byte aligned).
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  /// Wraps memory owned elsewhere; `owner` keeps it alive.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner);

  Storage(void* data, size_t nbytes, Device device) : data_(data), nbytes_(nbytes), device_(device) {}
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  virtual ~Storage();

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  /// The version counter: bumped by every in-place write through any view.
  uint32_t version() const { return version_; }
  void bump_version() { ++version_; }

 protected:
  void* data_;
  size_t nbytes_;
  Device device_;
  uint32_t version_ = 0;
  bool owns_ = true;
  std::shared_ptr<void> owner_;
};

}  // namespace ember
