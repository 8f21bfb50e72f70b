#pragma once
// The generator's formula, shared by the CPU and CUDA kernels (random, dropout) so that a
// number is the same function of (seed, position) wherever it is drawn: rand's values and
// dropout's masks agree bit for bit across kernels and devices. Integer hashing, then one
// rounding to double (exact: 53 bits) and one to T.
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define EMBER_RNG_FN __host__ __device__ __forceinline__
#else
#define EMBER_RNG_FN inline
#endif

namespace ember::kernels::rng {

EMBER_RNG_FN uint64_t mix(uint64_t x) {  // splitmix64's finalizer
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/// Number i of the stream of `seed`, uniform in [0, 1) with 53 random bits.
EMBER_RNG_FN double uniform(uint64_t seed, uint64_t i) {
  return static_cast<double>(mix(seed * 0x632be59bd9b4e019ull ^ mix(i)) >> 11) * 0x1.0p-53;
}

EMBER_RNG_FN float below_one(float) { return 0x1.fffffep-1f; }
EMBER_RNG_FN double below_one(double) { return 0x1.fffffffffffffp-1; }

/// uniform() as a T in [0, 1): rounding to float may reach 1, which becomes the largest T
/// below 1. This is the value rand() stores.
template <class T>
EMBER_RNG_FN T uniform_as(uint64_t seed, uint64_t i) {
  const T v = static_cast<T>(uniform(seed, i));
  return v >= T(1) ? below_one(T()) : v;
}

/// A standard normal number from numbers k and k + 1 of the stream (Box-Muller). randn's
/// element i uses k = offset + 2i. The GPU's log and cos may differ from glibc's in the last ulp.
EMBER_RNG_FN double normal(uint64_t seed, uint64_t k) {
  const double u1 = 1.0 - uniform(seed, k), u2 = uniform(seed, k + 1);
  return ::sqrt(-2.0 * ::log(u1)) * ::cos(2.0 * 3.14159265358979323846 * u2);
}

}  // namespace ember::kernels::rng

#undef EMBER_RNG_FN
