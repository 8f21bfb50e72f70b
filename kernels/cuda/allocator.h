#pragma once
// The CUDA caching allocator's entry points, as Storage calls them (plain C++: no CUDA types).
// tensor/storage.cpp installs them as the kCUDA allocator in builds with the CUDA backend.
#include <cstddef>

namespace ember::cuda {

/// A device buffer of at least nbytes on the current GPU (null for 0 bytes), from the cache
/// when a free block of the same size class is there. Throws ember::Error when there is no
/// GPU or the GPU is out of memory even after the cache was emptied.
void* caching_allocate(size_t nbytes);
/// Returns a buffer from caching_allocate to the cache (never to the driver; see empty_cache).
void caching_release(void* ptr, size_t nbytes);

/// A kernel's temporary buffer of `count` T from the caching allocator, returned to the cache
/// when the scope ends (also on a throw). Kernels queued before then may still use it: the
/// cache hands a block out again only in the order of the default stream.
template <class T>
class DeviceBuffer {
 public:
  explicit DeviceBuffer(size_t count)
      : bytes_(count * sizeof(T)), ptr_(static_cast<T*>(caching_allocate(bytes_))) {}
  ~DeviceBuffer() { caching_release(ptr_, bytes_); }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  T* get() const { return ptr_; }

 private:
  size_t bytes_;
  T* ptr_;
};

}  // namespace ember::cuda
