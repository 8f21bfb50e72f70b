// Elementwise binary kernels and where().
#include <cmath>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/map.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

template <class T>
void arithmetic(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  const T al = static_cast<T>(alpha);
  switch (op) {
    case BinaryOp::Add:
      if (alpha == 1) return map<T, T, T>([](T x, T y) { return x + y; }, out, a, b);
      return map<T, T, T>([al](T x, T y) { return x + al * y; }, out, a, b);
    case BinaryOp::Sub:
      if (alpha == 1) return map<T, T, T>([](T x, T y) { return x - y; }, out, a, b);
      return map<T, T, T>([al](T x, T y) { return x - al * y; }, out, a, b);
    case BinaryOp::Mul: return map<T, T, T>([](T x, T y) { return x * y; }, out, a, b);
    case BinaryOp::Div: return map<T, T, T>([](T x, T y) { return x / y; }, out, a, b);
    case BinaryOp::Pow:
      if constexpr (std::is_floating_point_v<T>)
        return map_costly<T, T, T>(8, [](T x, T y) { return std::pow(x, y); }, out, a, b);
      else
        return map<T, T, T>([](T x, T y) {
          T r = 1;
          for (T i = 0; i < y; ++i) r *= x;
          return r;
        }, out, a, b);
    case BinaryOp::Maximum:  // NaN propagates, as in PyTorch
      return map<T, T, T>([](T x, T y) { return x != x ? x : (y != y ? y : (x > y ? x : y)); }, out, a, b);
    case BinaryOp::Minimum:
      return map<T, T, T>([](T x, T y) { return x != x ? x : (y != y ? y : (x < y ? x : y)); }, out, a, b);
    default: break;
  }
  ember::detail::throw_error("binary", "internal: op ", static_cast<int>(op), " is not arithmetic");
}

template <class T>
void comparison(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (op) {
    case BinaryOp::Eq: return map<bool, T, T>([](T x, T y) { return x == y; }, out, a, b);
    case BinaryOp::Ne: return map<bool, T, T>([](T x, T y) { return x != y; }, out, a, b);
    case BinaryOp::Lt: return map<bool, T, T>([](T x, T y) { return x < y; }, out, a, b);
    case BinaryOp::Le: return map<bool, T, T>([](T x, T y) { return x <= y; }, out, a, b);
    case BinaryOp::Gt: return map<bool, T, T>([](T x, T y) { return x > y; }, out, a, b);
    case BinaryOp::Ge: return map<bool, T, T>([](T x, T y) { return x >= y; }, out, a, b);
    case BinaryOp::LogicalAnd: return map<bool, T, T>([](T x, T y) { return x && y; }, out, a, b);
    case BinaryOp::LogicalOr: return map<bool, T, T>([](T x, T y) { return x || y; }, out, a, b);
    default: break;
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  if (is_comparison(op))
    return dispatch_all(a.dtype(), "comparison", [&]<class T>() { comparison<T>(op, a, b, out); });
  if (a.dtype() == kBool) {  // bool arithmetic: + is or, * is and, as in PyTorch
    if (op == BinaryOp::Add || op == BinaryOp::Maximum)
      return map<bool, bool, bool>([](bool x, bool y) { return x || y; }, out, a, b);
    if (op == BinaryOp::Mul || op == BinaryOp::Minimum)
      return map<bool, bool, bool>([](bool x, bool y) { return x && y; }, out, a, b);
    ember::detail::throw_error("binary", "this operation is not supported for bool tensors");
  }
  dispatch_numeric(a.dtype(), "binary", [&]<class T>() { arithmetic<T>(op, a, b, out, alpha); });
}

void addcmul_(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide) {
  dispatch_floating(self.dtype(), divide ? "addcdiv_" : "addcmul_", [&]<class T>() {
    const T v = static_cast<T>(value);
    if (divide)
      map<T, T, T, T>([v](T s, T a, T b) { return s + v * a / b; }, self, self, t1, t2);
    else
      map<T, T, T, T>([v](T s, T a, T b) { return s + v * a * b; }, self, self, t1, t2);
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_all(out.dtype(), "where",
               [&]<class T>() { map<T, bool, T, T>([](bool c, T x, T y) { return c ? x : y; }, out, cond, a, b); });
}

}  // namespace ember::kernels::cpu
