// Elementwise unary kernels on the GPU: the CUDA twin of kernels/cpu/unary.cpp, with the same
// formulas (NaN handling included) so that results match the CPU's to rounding.
#include <cmath>

#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

// One functor per op, its formula chosen at compile time: a table of formulas reads better
// than twenty near-identical structs. a and b are UnaryArgs' parameters (pow's exponent,
// clamp's bounds).
template <UnaryOp OP, class T>
struct UnaryFn {
  T a, b;
  __device__ __forceinline__ T operator()(T x) const {
    if constexpr (OP == UnaryOp::Neg) return -x;
    else if constexpr (OP == UnaryOp::Abs) return x < T(0) ? -x : x;
    else if constexpr (OP == UnaryOp::Sign) return T((T(0) < x) - (x < T(0)));
    else if constexpr (OP == UnaryOp::Relu) return x > T(0) ? x : T(0);
    else if constexpr (OP == UnaryOp::Exp) return ::exp(x);
    else if constexpr (OP == UnaryOp::Log) return ::log(x);
    else if constexpr (OP == UnaryOp::Log1p) return ::log1p(x);
    else if constexpr (OP == UnaryOp::Sqrt) return ::sqrt(x);
    else if constexpr (OP == UnaryOp::Rsqrt) return T(1) / ::sqrt(x);
    else if constexpr (OP == UnaryOp::Sin) return ::sin(x);
    else if constexpr (OP == UnaryOp::Cos) return ::cos(x);
    else if constexpr (OP == UnaryOp::Tanh) return ::tanh(x);
    else if constexpr (OP == UnaryOp::Erf) return ::erf(x);
    else if constexpr (OP == UnaryOp::Sigmoid) return T(1) / (T(1) + ::exp(-x));
    else if constexpr (OP == UnaryOp::Silu) return x / (T(1) + ::exp(-x));
    else if constexpr (OP == UnaryOp::Gelu) return T(0.5) * x * (T(1) + ::erf(x * T(M_SQRT1_2)));
    else if constexpr (OP == UnaryOp::GeluTanh) {
      const T k = T(0.7978845608028654);  // sqrt(2 / pi)
      return T(0.5) * x * (T(1) + ::tanh(k * (x + T(0.044715) * x * x * x)));
    } else if constexpr (OP == UnaryOp::PowScalar) {
      // The exponent is the same for every thread: these branches do not diverge.
      if (a == T(2)) return x * x;
      if (a == T(1)) return x;
      if (a == T(0.5)) return ::sqrt(x);
      return ::pow(x, a);
    } else {
      static_assert(OP == UnaryOp::Neg, "no formula for this op");
      return x;
    }
  }
};

// Clamp in its three forms, as on the CPU: with both bounds NaN stays NaN.
template <class T>
struct ClampBoth {
  T lo, hi;
  __device__ __forceinline__ T operator()(T x) const { return x != x ? x : (x < lo ? lo : (x > hi ? hi : x)); }
};
template <class T>
struct ClampMin {
  T lo;
  __device__ __forceinline__ T operator()(T x) const { return x < lo ? lo : x; }
};
template <class T>
struct ClampMax {
  T hi;
  __device__ __forceinline__ T operator()(T x) const { return x > hi ? hi : x; }
};

template <class T>
struct LogicalNot {
  __device__ __forceinline__ bool operator()(T x) const { return !x; }
};

template <UnaryOp OP, class T>
void run(const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  map<T, T>(UnaryFn<OP, T>{static_cast<T>(args.a), static_cast<T>(args.b)}, out, in);
}

template <class T>
void float_unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  switch (op) {
    case UnaryOp::Exp: return run<UnaryOp::Exp, T>(in, out, args);
    case UnaryOp::Log: return run<UnaryOp::Log, T>(in, out, args);
    case UnaryOp::Log1p: return run<UnaryOp::Log1p, T>(in, out, args);
    case UnaryOp::Sqrt: return run<UnaryOp::Sqrt, T>(in, out, args);
    case UnaryOp::Rsqrt: return run<UnaryOp::Rsqrt, T>(in, out, args);
    case UnaryOp::Sin: return run<UnaryOp::Sin, T>(in, out, args);
    case UnaryOp::Cos: return run<UnaryOp::Cos, T>(in, out, args);
    case UnaryOp::Tanh: return run<UnaryOp::Tanh, T>(in, out, args);
    case UnaryOp::Erf: return run<UnaryOp::Erf, T>(in, out, args);
    case UnaryOp::Sigmoid: return run<UnaryOp::Sigmoid, T>(in, out, args);
    case UnaryOp::Silu: return run<UnaryOp::Silu, T>(in, out, args);
    case UnaryOp::Gelu: return run<UnaryOp::Gelu, T>(in, out, args);
    case UnaryOp::GeluTanh: return run<UnaryOp::GeluTanh, T>(in, out, args);
    case UnaryOp::PowScalar: return run<UnaryOp::PowScalar, T>(in, out, args);
    default: break;
  }
  ember::detail::throw_error("unary", "internal: op ", static_cast<int>(op), " is not a floating unary op");
}

// Ops defined for every numeric dtype (int64 included).
template <UnaryOp OP>
void numeric(const char* name, const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  dispatch_tag<DtypeSet::Numeric>(in.dtype(), name, [&](auto tag) { run<OP, decltype(tag)>(in, out, args); });
}

template <class T>
void clamp(const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  const T lo = static_cast<T>(args.a), hi = static_cast<T>(args.b);
  if (args.has_a && args.has_b) map<T, T>(ClampBoth<T>{lo, hi}, out, in);
  else if (args.has_a) map<T, T>(ClampMin<T>{lo}, out, in);
  else map<T, T>(ClampMax<T>{hi}, out, in);
}

}  // namespace

void unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args) {
  switch (op) {
    case UnaryOp::LogicalNot:
      return dispatch_tag(in.dtype(), "logical_not", [&](auto tag) {
        using T = decltype(tag);
        map<bool, T>(LogicalNot<T>{}, out, in);
      });
    case UnaryOp::Neg: return numeric<UnaryOp::Neg>("neg", in, out, args);
    case UnaryOp::Abs: return numeric<UnaryOp::Abs>("abs", in, out, args);
    case UnaryOp::Sign: return numeric<UnaryOp::Sign>("sign", in, out, args);
    case UnaryOp::Relu: return numeric<UnaryOp::Relu>("relu", in, out, args);
    case UnaryOp::Clamp:
      return dispatch_tag<DtypeSet::Numeric>(in.dtype(), "clamp",
                                             [&](auto tag) { clamp<decltype(tag)>(in, out, args); });
    default:
      return dispatch_tag<DtypeSet::Floating>(in.dtype(), "unary",
                                              [&](auto tag) { float_unary<decltype(tag)>(op, in, out, args); });
  }
}

}  // namespace ember::kernels::cuda
