#include "tensor/storage.h"

#include <malloc.h>

#include <cstdlib>
#include <new>

#include "tensor/error.h"

#ifdef EMBER_WITH_CUDA
#include "kernels/cuda/allocator.h"
#endif

namespace ember {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kInlineBytes = 64;

void* cpu_allocate(size_t nbytes) {
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  void* p = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  EMBER_CHECK(p != nullptr, "allocate", "out of memory allocating ", nbytes, " bytes on cpu");
  return p;
}
void cpu_release(void* p, size_t) { std::free(p); }

// Large tensors are allocated and freed once per op. Served by fresh mmap()s, each costs a
// page fault per 4 KiB on first touch, which made an Adam step over 1M floats 4x slower
// than its arithmetic. Keeping buffers up to 32 MiB in the heap, and freed heap memory
// mapped, lets the next op reuse the pages (performance.md: "a caching allocator for big CPU
// buffers can beat a fresh new[]").
const bool g_malloc_tuned = [] {
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 256 << 20);
  return true;
}();

// The CUDA allocator is named here rather than installed by a static initializer in its own
// file: ember is a static library, and a program that only makes tensors with kCUDA options
// references nothing else in kernels/cuda/allocator.cu, so the linker would drop the file
// and its initializer with it. Function addresses also make this a constant initialization,
// done before any code that might allocate runs.
#ifdef EMBER_WITH_CUDA
DeviceAllocator g_allocators[2] = {{cpu_allocate, cpu_release}, {cuda::caching_allocate, cuda::caching_release}};
#else
DeviceAllocator g_allocators[2] = {{cpu_allocate, cpu_release}, {nullptr, nullptr}};
#endif

// A small CPU tensor keeps its bytes inside the Storage object itself: one allocation
// (shared with the control block by make_shared) instead of two.
struct InlineStorage final : Storage {
  alignas(16) unsigned char bytes[kInlineBytes];  // 16 is enough for 64 bytes, and keeps plain malloc
  explicit InlineStorage(size_t nbytes) : Storage(nullptr, nbytes, Device(kCPU)) {
    data_ = bytes;
    owns_ = false;
  }
};

}  // namespace

void set_device_allocator(DeviceType t, DeviceAllocator a) { g_allocators[static_cast<int>(t)] = a; }

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  if (device.is_cpu() && nbytes <= kInlineBytes) return std::make_shared<InlineStorage>(nbytes);
  const DeviceAllocator& a = g_allocators[static_cast<int>(device.type)];
  EMBER_CHECK(a.allocate != nullptr, "allocate", "device ", device.str(),
              " is not available: ember was built without CUDA support or no GPU was found");
  // Kernels launch on the current GPU, which ember never changes from device 0.
  EMBER_CHECK(device.index == 0, "allocate", "device ", device.str(), " is not supported: ember runs on cuda:0 only");
  return std::make_shared<Storage>(a.allocate(nbytes), nbytes, device);
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, Device device, std::shared_ptr<void> owner) {
  auto s = std::make_shared<Storage>(data, nbytes, device);
  s->owns_ = false;
  s->owner_ = std::move(owner);
  return s;
}

Storage::~Storage() {
  if (owns_ && data_ != nullptr) g_allocators[static_cast<int>(device_.type)].release(data_, nbytes_);
}

}  // namespace ember
