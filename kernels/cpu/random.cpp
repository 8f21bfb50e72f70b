// Counter-based random numbers: element i of a request is a hash of (seed, offset + i)
// (kernels/counter_rng.h).
#include <cmath>
#include <cstdint>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/counter_rng.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {

void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  check_cpu(out, normal ? "randn" : "rand");
  dispatch_floating(out.dtype(), "random", [&]<class T>() {
    T* p = out.impl()->data_as<T>();
    parallel_for(out.numel(), 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        uint64_t k = offset + static_cast<uint64_t>(normal ? 2 * i : i);
        if (!normal) {
          p[i] = rng::uniform_as<T>(seed, k);
        } else {  // Box-Muller
          double u1 = 1.0 - rng::uniform(seed, k), u2 = rng::uniform(seed, k + 1);
          p[i] = static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
