#pragma once
// Element types and PyTorch's type-promotion rules.
#include <cstdint>
#include <ostream>

namespace ember {

/// The element type of a tensor (libtorch calls it ScalarType).
enum class ScalarType : uint8_t { Float32, Float64, Int64, Bool };
using Dtype = ScalarType;

inline constexpr ScalarType kFloat32 = ScalarType::Float32;
inline constexpr ScalarType kFloat = ScalarType::Float32;
inline constexpr ScalarType kFloat64 = ScalarType::Float64;
inline constexpr ScalarType kDouble = ScalarType::Float64;
inline constexpr ScalarType kInt64 = ScalarType::Int64;
inline constexpr ScalarType kLong = ScalarType::Int64;
inline constexpr ScalarType kBool = ScalarType::Bool;

/// Bytes per element.
constexpr size_t element_size(ScalarType t) {
  switch (t) {
    case kFloat32: return 4;
    case kFloat64: return 8;
    case kInt64: return 8;
    case kBool: return 1;
  }
  return 0;
}
/// "float32", "float64", "int64", "bool".
const char* dtype_name(ScalarType t);
inline std::ostream& operator<<(std::ostream& os, ScalarType t) { return os << dtype_name(t); }
constexpr bool is_floating_point(ScalarType t) { return t == kFloat32 || t == kFloat64; }
constexpr bool is_integral(ScalarType t, bool include_bool) {
  return t == kInt64 || (include_bool && t == kBool);
}

/// The common type of two tensor dtypes (torch.promote_types).
constexpr ScalarType promote_types(ScalarType a, ScalarType b) {
  if (a == b) return a;
  if (a == kFloat64 || b == kFloat64) return kFloat64;
  if (a == kFloat32 || b == kFloat32) return kFloat32;
  return kInt64;  // int64 with bool
}

/// The C++ type that stores each dtype, and back.
template <class T> struct dtype_of;
template <> struct dtype_of<float> { static constexpr ScalarType value = kFloat32; };
template <> struct dtype_of<double> { static constexpr ScalarType value = kFloat64; };
template <> struct dtype_of<int64_t> { static constexpr ScalarType value = kInt64; };
template <> struct dtype_of<bool> { static constexpr ScalarType value = kBool; };

}  // namespace ember
