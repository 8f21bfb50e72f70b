#pragma once
// Scalar: a C++ number passed to an op (x + 2, x.fill_(0.5)). It remembers whether it was
// an integer, a bool or a floating value, because that decides type promotion:
// a float32 tensor times a double stays float32, an int64 tensor times 2.5 becomes float32.
#include <cstdint>
#include <type_traits>

#include "tensor/dtype.h"

namespace ember {

class Scalar {
 public:
  Scalar() = default;
  Scalar(bool v) : d_(v), i_(v), kind_(kBool) {}  // NOLINT: implicit like c10::Scalar
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  Scalar(T v) : d_(static_cast<double>(v)), i_(static_cast<int64_t>(v)), kind_(kInt64) {}  // NOLINT
  template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  Scalar(T v) : d_(static_cast<double>(v)), i_(static_cast<int64_t>(v)), kind_(kFloat64) {}  // NOLINT

  double to_double() const { return d_; }
  int64_t to_int() const { return i_; }
  bool to_bool() const { return d_ != 0.0; }
  template <class T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return to_bool();
    else if constexpr (std::is_integral_v<T>) return static_cast<T>(kind_ == kFloat64 ? static_cast<int64_t>(d_) : i_);
    else return static_cast<T>(d_);
  }
  /// kFloat64 for a floating value, kInt64 for an integer, kBool for a bool.
  ScalarType kind() const { return kind_; }
  bool is_floating_point() const { return kind_ == kFloat64; }

 private:
  double d_ = 0;
  int64_t i_ = 0;
  ScalarType kind_ = kInt64;
};

}  // namespace ember
