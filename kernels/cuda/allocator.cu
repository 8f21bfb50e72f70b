// The CUDA caching allocator. cudaMalloc and cudaFree cost tens of microseconds each and
// cudaFree synchronizes the device, so freeing per op would serialize the CPU with the GPU
// (performance.md: "never cudaMalloc/cudaFree per op"). Instead a freed block goes onto a
// free list for its size class and the next request of that class takes it back. Memory
// goes back to the driver only on empty_cache(), or when cudaMalloc fails (then the cache is
// emptied once and the call retried).
//
// Size classes: requests up to 1 MiB are rounded up to 512 bytes, larger ones to 2 MiB, so
// that tensors of nearby sizes share blocks without wasting more than that rounding.
//
// Every kernel runs on the default stream, so a block freed by one op and reused by the next
// is only touched in stream order: no event is needed before reuse.
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kernels/cuda/allocator.h"
#include "kernels/cuda/check.h"
#include "tensor/cuda.h"

namespace ember::cuda {
namespace {

constexpr size_t kSmallLimit = size_t{1} << 20;  // 1 MiB
constexpr size_t kSmallGranule = 512;
constexpr size_t kLargeGranule = size_t{2} << 20;  // 2 MiB

size_t size_class(size_t nbytes) {
  size_t granule = nbytes <= kSmallLimit ? kSmallGranule : kLargeGranule;
  return (nbytes + granule - 1) / granule * granule;
}

class CachingAllocator {
 public:
  void* allocate(size_t nbytes) {
    if (nbytes == 0) return nullptr;
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    void* ptr = nullptr;
    auto it = free_.find(size);
    if (it != free_.end() && !it->second.empty()) {
      ptr = it->second.back();
      it->second.pop_back();
    } else {
      ptr = malloc_locked(size, nbytes);
      reserved_ += size;
    }
    allocated_ += size;
    if (allocated_ > peak_) peak_ = allocated_;
    return ptr;
  }

  // Called from Storage's destructor: must not throw, so it makes no CUDA call.
  void release(void* ptr, size_t nbytes) noexcept {
    if (ptr == nullptr) return;
    const size_t size = size_class(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    try {
      free_[size].push_back(ptr);
    } catch (...) {
      // No memory for the free list entry: hand the block to the driver instead.
      cudaFree(ptr);
      reserved_ -= size;
    }
    allocated_ -= size;
  }

  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    free_cached_locked();
  }

  MemoryStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {static_cast<int64_t>(allocated_), static_cast<int64_t>(reserved_), static_cast<int64_t>(peak_)};
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    peak_ = allocated_;
  }

 private:
  void* malloc_locked(size_t size, size_t nbytes) {
    if (!checked_device_) {
      EMBER_CHECK(device_count() > 0, "allocate", "device cuda:0 is not available: no CUDA device was found");
      checked_device_ = true;
    }
    void* ptr = nullptr;
    cudaError_t status = cudaMalloc(&ptr, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear the error before retrying with the cache handed back
      free_cached_locked();
      status = cudaMalloc(&ptr, size);
      if (status == cudaErrorMemoryAllocation) {
        cudaGetLastError();
        EMBER_CHECK(false, "allocate", "CUDA out of memory allocating ", nbytes, " bytes (", allocated_,
                    " bytes allocated by ember, ", reserved_, " reserved)");
      }
    }
    EMBER_CUDA_CHECK(status);
    return ptr;
  }

  void free_cached_locked() {
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        EMBER_CUDA_CHECK(cudaFree(p));
        reserved_ -= size;
      }
      blocks.clear();
    }
    free_.clear();
  }

  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;  // size class -> cached blocks
  size_t allocated_ = 0;  // bytes in blocks handed out (rounded to their size class)
  size_t reserved_ = 0;   // bytes held from the driver: allocated plus cached
  size_t peak_ = 0;
  bool checked_device_ = false;
};

// Never destroyed: tensors that outlive main() (statics) still release into it, and calling
// cudaFree after the CUDA runtime has shut down at exit would fail.
CachingAllocator& allocator() {
  static CachingAllocator* instance = new CachingAllocator();
  return *instance;
}

}  // namespace

void* caching_allocate(size_t nbytes) { return allocator().allocate(nbytes); }
void caching_release(void* ptr, size_t nbytes) { allocator().release(ptr, nbytes); }

void empty_cache() { allocator().empty_cache(); }
MemoryStats memory_stats() { return allocator().stats(); }
void reset_peak_memory_stats() { allocator().reset_peak(); }

}  // namespace ember::cuda
