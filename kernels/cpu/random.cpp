// Counter-based random numbers: element i of a request is a hash of (seed, offset + i)
// (kernels/counter_rng.h).
#include <cstdint>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/counter_rng.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {

void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  check_cpu(out, normal ? "randn" : "rand");
  dispatch_floating(out.dtype(), "random", [&]<class T>() {
    T* const data = out.impl()->data_as<T>();
    if (!normal) {
      // Constants captured by value and a restrict pointer: the compiler can then prove the
      // stores alias nothing the loop reads, and the hash loop vectorizes (several times faster
      // than the same loop with captures by reference).
      parallel_for(out.numel(), 16, [data, seed, offset](int64_t b, int64_t e) {
        T* __restrict p = data;
        for (int64_t i = b; i < e; ++i) p[i] = rng::uniform_as<T>(seed, offset + static_cast<uint64_t>(i));
      });
      return;
    }
    parallel_for(out.numel(), 16, [data, seed, offset](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {  // numbers 2i and 2i + 1 of the request
        data[i] = static_cast<T>(rng::normal(seed, offset + 2 * static_cast<uint64_t>(i)));
      }
    });
  });
}

}  // namespace ember::kernels::cpu
