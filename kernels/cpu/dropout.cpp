// Fused dropout: out = x * keep * 1/(1-p) in one pass, the mask drawn on the fly from the
// counter-based generator (kernels/counter_rng.h) instead of read from a rand() tensor.
#include <cstdint>

#include "kernels/counter_rng.h"
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/parallel.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {

void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  check_cpu(out, "dropout");
  dispatch_floating(out.dtype(), "dropout", [&]<class T>() {
    const T* px = x.impl()->data_as<T>();
    T* po = out.impl()->data_as<T>();
    // Both rounded to T exactly as the composed (rand(...) >= p).to(T) * (1 / (1 - p)) rounds
    // them, so that every element is bit for bit what that formula gives.
    const T threshold = static_cast<T>(p), scale = static_cast<T>(1.0 / (1.0 - p));
    parallel_for(out.numel(), 16, [=](int64_t b, int64_t e) {
      // By-value captures and restrict: nothing the loop stores can alias its constants, so
      // it vectorizes (64-bit multiplies: AVX-512 DQ).
      const T* __restrict in = px;
      T* __restrict res = po;
      for (int64_t i = b; i < e; ++i) {
        const bool keep = rng::uniform_as<T>(seed, offset + static_cast<uint64_t>(i)) >= threshold;
        res[i] = in[i] * (keep ? scale : T(0));  // a product, not a select: NaN * 0 stays NaN
      }
    });
  });
}

}  // namespace ember::kernels::cpu
