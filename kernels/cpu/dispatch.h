#pragma once
// The one dtype dispatch helper: a switch that calls a templated lambda with the C++ type.
//   dispatch_all(t.dtype(), "op", [&]<class T>() { ... T ... });
#include <cstdint>

#include "tensor/dtype.h"
#include "tensor/error.h"

namespace ember::kernels {

enum class DtypeSet { All, Numeric, Floating };

template <DtypeSet set = DtypeSet::All, class F>
decltype(auto) dispatch(ScalarType t, const char* op, F&& f) {
  switch (t) {
    case kFloat32: return f.template operator()<float>();
    case kFloat64: return f.template operator()<double>();
    case kInt64:
      if constexpr (set != DtypeSet::Floating) return f.template operator()<int64_t>();
      break;
    case kBool:
      if constexpr (set == DtypeSet::All) return f.template operator()<bool>();
      break;
  }
  detail::throw_error(op, "\"", op, "\" not implemented for '", dtype_name(t), "'");
}
template <class F> decltype(auto) dispatch_all(ScalarType t, const char* op, F&& f) {
  return dispatch<DtypeSet::All>(t, op, static_cast<F&&>(f));
}
template <class F> decltype(auto) dispatch_numeric(ScalarType t, const char* op, F&& f) {
  return dispatch<DtypeSet::Numeric>(t, op, static_cast<F&&>(f));
}
template <class F> decltype(auto) dispatch_floating(ScalarType t, const char* op, F&& f) {
  return dispatch<DtypeSet::Floating>(t, op, static_cast<F&&>(f));
}

}  // namespace ember::kernels
