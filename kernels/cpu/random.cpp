// Counter-based random numbers: element i of a request is a hash of (seed, offset + i).
#include <cmath>
#include <cstdint>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {
inline uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline double uniform(uint64_t seed, uint64_t i) {
  return static_cast<double>(mix(seed * 0x632be59bd9b4e019ull ^ mix(i)) >> 11) * 0x1.0p-53;
}
}  // namespace

void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  check_cpu(out, normal ? "randn" : "rand");
  dispatch_floating(out.dtype(), "random", [&]<class T>() {
    T* p = out.impl()->data_as<T>();
    parallel_for(out.numel(), 16, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) {
        uint64_t k = offset + static_cast<uint64_t>(normal ? 2 * i : i);
        if (!normal) {
          p[i] = static_cast<T>(uniform(seed, k));
          if (p[i] >= T(1)) p[i] = std::nextafter(T(1), T(0));  // float rounding must not reach 1
        } else {  // Box-Muller
          double u1 = 1.0 - uniform(seed, k), u2 = uniform(seed, k + 1);
          p[i] = static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
        }
      }
    });
  });
}

}  // namespace ember::kernels::cpu
