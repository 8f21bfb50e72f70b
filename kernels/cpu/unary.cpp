// Elementwise unary kernels.
#include <cmath>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/map.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

template <class T>
void float_unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  constexpr int64_t kCostly = 8;
  auto run = [&](auto f) { map_costly<T, T>(kCostly, f, out, in); };
  switch (op) {
    case UnaryOp::Exp: return run([](T x) { return std::exp(x); });
    case UnaryOp::Log: return run([](T x) { return std::log(x); });
    case UnaryOp::Log1p: return run([](T x) { return std::log1p(x); });
    case UnaryOp::Sqrt: return run([](T x) { return std::sqrt(x); });
    case UnaryOp::Rsqrt: return run([](T x) { return T(1) / std::sqrt(x); });
    case UnaryOp::Sin: return run([](T x) { return std::sin(x); });
    case UnaryOp::Cos: return run([](T x) { return std::cos(x); });
    case UnaryOp::Tanh: return run([](T x) { return std::tanh(x); });
    case UnaryOp::Erf: return run([](T x) { return std::erf(x); });
    case UnaryOp::Sigmoid: return run([](T x) { return T(1) / (T(1) + std::exp(-x)); });
    case UnaryOp::Silu: return run([](T x) { return x / (T(1) + std::exp(-x)); });
    case UnaryOp::Gelu: return run([](T x) { return T(0.5) * x * (T(1) + std::erf(x * T(M_SQRT1_2))); });
    case UnaryOp::GeluTanh:
      return run([](T x) {
        const T k = T(0.7978845608028654);  // sqrt(2 / pi)
        return T(0.5) * x * (T(1) + std::tanh(k * (x + T(0.044715) * x * x * x)));
      });
    case UnaryOp::PowScalar: {
      const T e = static_cast<T>(args.a);
      if (args.a == 2.0) return map<T, T>([](T x) { return x * x; }, out, in);
      if (args.a == 1.0) return map<T, T>([](T x) { return x; }, out, in);
      if (args.a == 0.5) return run([](T x) { return std::sqrt(x); });
      return run([e](T x) { return std::pow(x, e); });
    }
    default: break;
  }
  ember::detail::throw_error("unary", "internal: op ", static_cast<int>(op), " is not a floating unary op");
}

}  // namespace

void unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  switch (op) {
    case UnaryOp::LogicalNot:
      return dispatch_all(in.dtype(), "logical_not", [&]<class T>() { map<bool, T>([](T x) { return !x; }, out, in); });
    case UnaryOp::Neg:
      return dispatch_numeric(in.dtype(), "neg", [&]<class T>() { map<T, T>([](T x) { return -x; }, out, in); });
    case UnaryOp::Abs:
      return dispatch_numeric(in.dtype(), "abs",
                              [&]<class T>() { map<T, T>([](T x) { return x < T(0) ? -x : x; }, out, in); });
    case UnaryOp::Sign:
      return dispatch_numeric(in.dtype(), "sign",
                              [&]<class T>() { map<T, T>([](T x) { return T((T(0) < x) - (x < T(0))); }, out, in); });
    case UnaryOp::Relu:
      return dispatch_numeric(in.dtype(), "relu",
                              [&]<class T>() { map<T, T>([](T x) { return x > T(0) ? x : T(0); }, out, in); });
    case UnaryOp::Clamp:
      return dispatch_numeric(in.dtype(), "clamp", [&]<class T>() {
        const T lo = args.has_a ? static_cast<T>(args.a) : T(0), hi = args.has_b ? static_cast<T>(args.b) : T(0);
        if (args.has_a && args.has_b)
          map<T, T>([lo, hi](T x) { return x != x ? x : (x < lo ? lo : (x > hi ? hi : x)); }, out, in);
        else if (args.has_a)
          map<T, T>([lo](T x) { return x < lo ? lo : x; }, out, in);
        else
          map<T, T>([hi](T x) { return x > hi ? hi : x; }, out, in);
      });
    default:
      return dispatch_floating(in.dtype(), "unary", [&]<class T>() { float_unary<T>(op, in, out, args); });
  }
}

}  // namespace ember::kernels::cpu
