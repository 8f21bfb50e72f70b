#pragma once
// The views a test feeds an op (test_util.h's layouts() make fresh values instead): the same logical values as a contiguous tensor, a transposed
// view, a view with step 2 along the last dim, or a size-1 dim broadcast by expand. A test
// makes the base tensor (the autograd leaf) of base_shape, then hands the op view_of it.
#include <optional>

#include "tensor/ops.h"

namespace ember::test {

enum class View { Contiguous, Transposed, StepSliced, Broadcast };
inline constexpr View kViews[] = {View::Contiguous, View::Transposed, View::StepSliced, View::Broadcast};

inline const char* name_of(View l) {
  static const char* names[] = {"contiguous", "transposed", "step-sliced", "broadcast"};
  return names[static_cast<int>(l)];
}
/// Whether l makes sense for logical shape s (transposing needs two dims, the others one).
inline bool applies(View l, const Shape& s) {
  if (l == View::Transposed) return s.size() >= 2;
  if (l == View::StepSliced || l == View::Broadcast) return !s.empty();
  return true;
}
/// The base tensor's shape for a view of logical shape s in layout l (s where l does not apply).
inline Shape base_shape(View l, const Shape& s) {
  if (!applies(l, s)) return s;
  Shape b = s;
  if (l == View::Transposed) {
    for (size_t i = 0; i < s.size(); ++i) b[i] = s[s.size() - 1 - i];
  } else if (l == View::StepSliced) {
    b.back() *= 2;
  } else if (l == View::Broadcast) {
    b[0] = 1;
  }
  return b;
}
/// The view of base (of base_shape(l, s)) with logical shape s.
inline Tensor view_of(View l, const Tensor& base, const Shape& s) {
  if (!applies(l, s)) return base;
  if (l == View::Transposed) {
    Shape dims;
    for (size_t i = s.size(); i-- > 0;) dims.push_back(static_cast<int64_t>(i));
    return base.permute(dims);
  }
  if (l == View::StepSliced) return base.slice(-1, 0, std::nullopt, 2);
  if (l == View::Broadcast) return base.expand(s);
  return base;
}

}  // namespace ember::test
