// Copy with dtype conversion, and fill.
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/map.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {

void copy(const Tensor& src, const Tensor& dst) {
  dispatch_all(dst.dtype(), "copy_", [&]<class To>() {
    dispatch_all(src.dtype(), "copy_", [&]<class From>() {
      if constexpr (std::is_same_v<To, bool>)
        map<To, From>([](From x) { return x != From(0); }, dst, src);
      else
        map<To, From>([](From x) { return static_cast<To>(x); }, dst, src);
    });
  });
}

void fill(const Tensor& dst, const Scalar& value) {
  dispatch_all(dst.dtype(), "fill_", [&]<class T>() {
    const T v = value.to<T>();
    map<T>([v]() { return v; }, dst);
  });
}

}  // namespace ember::kernels::cpu
