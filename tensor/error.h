#pragma once
// ember::Error and the one checking macro. EMBER_CHECK(cond, "op", parts...) throws
// ember::Error("[op] parts...") when cond is false; the message is only built on failure,
// so a check on the hot path costs one branch.
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "tensor/small_vector.h"

namespace ember {

/// The exception every ember function throws on bad input.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Shape list printed as PyTorch does: [2, 3].
struct ShapeText {
  const int64_t* data;
  size_t size;
};
template <size_t N>
ShapeText shape_text(const SmallVector<int64_t, N>& v) { return {v.data(), v.size()}; }
inline ShapeText shape_text(const std::vector<int64_t>& v) { return {v.data(), v.size()}; }
inline std::ostream& operator<<(std::ostream& os, ShapeText s) {
  os << '[';
  for (size_t i = 0; i < s.size; ++i) os << (i ? ", " : "") << s.data[i];
  return os << ']';
}

namespace detail {
template <class... Parts>
[[noreturn]] void throw_error(const char* op, const Parts&... parts) {
  std::ostringstream os;
  os << '[' << op << "] ";
  (os << ... << parts);
  throw Error(os.str());
}
}  // namespace detail

}  // namespace ember

// The one checking macro: EMBER_CHECK(cond, "op", "message parts", ...).
#define EMBER_CHECK(cond, op, ...)                           \
  do {                                                       \
    if (__builtin_expect(!(cond), 0))                        \
      ::ember::detail::throw_error(op, __VA_ARGS__);         \
  } while (0)
