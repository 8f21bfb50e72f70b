#pragma once
// Helpers shared by the tests: values in logical order, input variants, closeness.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include <ember.h>

namespace ember::test {

/// The elements of t in logical (row-major) order, as doubles.
inline std::vector<double> values(const Tensor& t) {
  Tensor c = t.detach().to(kFloat64).contiguous();
  const double* p = c.data_ptr<double>();
  return std::vector<double>(p, p + c.numel());
}

/// Uniform values in [lo, hi) with the given shape and dtype.
inline Tensor uniform(const Shape& shape, double lo, double hi, ScalarType dtype = kFloat64) {
  return (rand(shape, TensorOptions(kFloat64)) * (hi - lo) + lo).to(dtype);
}

/// A named way of laying out an input of a given logical shape.
struct Layout {
  std::string name;
  std::function<Tensor(const Shape&, double, double, ScalarType)> make;
};

/// Contiguous, transposed (a transposed copy viewed back), and step-sliced layouts of the
/// same logical shape: ops must give the same answer for each.
inline std::vector<Layout> layouts() {
  return {
      {"contiguous", [](const Shape& s, double lo, double hi, ScalarType t) { return uniform(s, lo, hi, t); }},
      {"transposed",
       [](const Shape& s, double lo, double hi, ScalarType t) {
         if (s.size() < 2) return uniform(s, lo, hi, t);
         Shape rev;
         for (size_t i = s.size(); i-- > 0;) rev.push_back(s[i]);
         Shape dims;
         for (size_t i = s.size(); i-- > 0;) dims.push_back(static_cast<int64_t>(i));
         return uniform(rev, lo, hi, t).permute(dims);
       }},
      {"step-sliced",
       [](const Shape& s, double lo, double hi, ScalarType t) {
         if (s.empty()) return uniform(s, lo, hi, t);
         Shape wide = s;
         wide.back() = s.back() * 2;
         return uniform(wide, lo, hi, t).slice(-1, 0, std::nullopt, 2);
       }},
  };
}

/// Checks two value lists agree to atol + rtol * |expected| (NaNs must match).
inline void check_close(const std::vector<double>& got, const std::vector<double>& want, double atol, double rtol,
                        const std::string& what) {
  REQUIRE_MESSAGE(got.size() == want.size(), what << ": size " << got.size() << " vs " << want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    bool ok = (std::isnan(got[i]) && std::isnan(want[i])) || got[i] == want[i] ||
              std::fabs(got[i] - want[i]) <= atol + rtol * std::fabs(want[i]);
    if (!ok) {
      FAIL_CHECK(what << ": element " << i << " got " << got[i] << " want " << want[i]);
      return;
    }
  }
}

/// True when part occurs in s.
inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

/// The message of the ember::Error that fn throws ("" when it throws none).
inline std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace ember::test
