// Elementwise binary kernels, addcmul_/addcdiv_ and where() on the GPU: the CUDA twin of
// kernels/cpu/binary.cpp, with the same formulas (NaN propagation, integer pow, bool
// arithmetic as or/and).
#include <cmath>
#include <type_traits>

#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

// One functor per op, the formula chosen at compile time. alpha scales y for Add and Sub.
template <BinaryOp OP, class T>
struct Arithmetic {
  T alpha;
  __device__ __forceinline__ T operator()(T x, T y) const {
    if constexpr (OP == BinaryOp::Add) return x + alpha * y;
    else if constexpr (OP == BinaryOp::Sub) return x - alpha * y;
    else if constexpr (OP == BinaryOp::Mul) return x * y;
    else if constexpr (OP == BinaryOp::Div) return x / y;
    else if constexpr (OP == BinaryOp::Maximum) return x != x ? x : (y != y ? y : (x > y ? x : y));  // NaN wins
    else if constexpr (OP == BinaryOp::Minimum) return x != x ? x : (y != y ? y : (x < y ? x : y));
    else if constexpr (OP == BinaryOp::Pow) {
      if constexpr (std::is_floating_point_v<T>) {
        return ::pow(x, y);
      } else {  // integer powers by repeated product; negative exponents give 1, as on the CPU
        T r = 1;
        for (T i = 0; i < y; ++i) r *= x;
        return r;
      }
    } else {
      static_assert(OP == BinaryOp::Add, "not an arithmetic op");
      return x;
    }
  }
};

// Add without alpha: x + y exactly, as the CPU computes it (x + 1 * y could be fused
// differently). Sub likewise.
template <class T>
struct Plus {
  __device__ __forceinline__ T operator()(T x, T y) const { return x + y; }
};
template <class T>
struct Minus {
  __device__ __forceinline__ T operator()(T x, T y) const { return x - y; }
};

template <BinaryOp OP, class T>
struct Comparison {
  __device__ __forceinline__ bool operator()(T x, T y) const {
    if constexpr (OP == BinaryOp::Eq) return x == y;
    else if constexpr (OP == BinaryOp::Ne) return x != y;
    else if constexpr (OP == BinaryOp::Lt) return x < y;
    else if constexpr (OP == BinaryOp::Le) return x <= y;
    else if constexpr (OP == BinaryOp::Gt) return x > y;
    else if constexpr (OP == BinaryOp::Ge) return x >= y;
    else if constexpr (OP == BinaryOp::LogicalAnd) return x && y;
    else if constexpr (OP == BinaryOp::LogicalOr) return x || y;
    else {
      static_assert(OP == BinaryOp::Eq, "not a comparison");
      return false;
    }
  }
};

struct BoolOr {
  __device__ __forceinline__ bool operator()(bool x, bool y) const { return x || y; }
};
struct BoolAnd {
  __device__ __forceinline__ bool operator()(bool x, bool y) const { return x && y; }
};

template <class T>
struct AddcMul {
  T value;
  __device__ __forceinline__ T operator()(T s, T a, T b) const { return s + value * a * b; }
};
template <class T>
struct AddcDiv {
  T value;
  __device__ __forceinline__ T operator()(T s, T a, T b) const { return s + value * a / b; }
};

template <class T>
struct Select {
  __device__ __forceinline__ T operator()(bool c, T x, T y) const { return c ? x : y; }
};

template <BinaryOp OP, class T>
void arith(const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  map<T, T, T>(Arithmetic<OP, T>{static_cast<T>(alpha)}, out, a, b);
}

template <class T>
void arithmetic(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  switch (op) {
    case BinaryOp::Add:
      if (alpha == 1) return map<T, T, T>(Plus<T>{}, out, a, b);
      return arith<BinaryOp::Add, T>(a, b, out, alpha);
    case BinaryOp::Sub:
      if (alpha == 1) return map<T, T, T>(Minus<T>{}, out, a, b);
      return arith<BinaryOp::Sub, T>(a, b, out, alpha);
    case BinaryOp::Mul: return arith<BinaryOp::Mul, T>(a, b, out, alpha);
    case BinaryOp::Div: return arith<BinaryOp::Div, T>(a, b, out, alpha);
    case BinaryOp::Pow: return arith<BinaryOp::Pow, T>(a, b, out, alpha);
    case BinaryOp::Maximum: return arith<BinaryOp::Maximum, T>(a, b, out, alpha);
    case BinaryOp::Minimum: return arith<BinaryOp::Minimum, T>(a, b, out, alpha);
    default: break;
  }
  ember::detail::throw_error("binary", "internal: op ", static_cast<int>(op), " is not arithmetic");
}

template <class T>
void comparison(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out) {
  switch (op) {
    case BinaryOp::Eq: return map<bool, T, T>(Comparison<BinaryOp::Eq, T>{}, out, a, b);
    case BinaryOp::Ne: return map<bool, T, T>(Comparison<BinaryOp::Ne, T>{}, out, a, b);
    case BinaryOp::Lt: return map<bool, T, T>(Comparison<BinaryOp::Lt, T>{}, out, a, b);
    case BinaryOp::Le: return map<bool, T, T>(Comparison<BinaryOp::Le, T>{}, out, a, b);
    case BinaryOp::Gt: return map<bool, T, T>(Comparison<BinaryOp::Gt, T>{}, out, a, b);
    case BinaryOp::Ge: return map<bool, T, T>(Comparison<BinaryOp::Ge, T>{}, out, a, b);
    case BinaryOp::LogicalAnd: return map<bool, T, T>(Comparison<BinaryOp::LogicalAnd, T>{}, out, a, b);
    case BinaryOp::LogicalOr: return map<bool, T, T>(Comparison<BinaryOp::LogicalOr, T>{}, out, a, b);
    default: break;
  }
}

}  // namespace

void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha) {
  if (is_comparison(op))
    return dispatch_tag(a.dtype(), "comparison", [&](auto tag) { comparison<decltype(tag)>(op, a, b, out); });
  if (a.dtype() == kBool) {  // bool arithmetic: + is or, * is and, as in PyTorch
    if (op == BinaryOp::Add || op == BinaryOp::Maximum) return map<bool, bool, bool>(BoolOr{}, out, a, b);
    if (op == BinaryOp::Mul || op == BinaryOp::Minimum) return map<bool, bool, bool>(BoolAnd{}, out, a, b);
    ember::detail::throw_error("binary", "this operation is not supported for bool tensors");
  }
  dispatch_tag<DtypeSet::Numeric>(a.dtype(), "binary",
                                  [&](auto tag) { arithmetic<decltype(tag)>(op, a, b, out, alpha); });
}

void addcmul_(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide) {
  dispatch_tag<DtypeSet::Floating>(self.dtype(), divide ? "addcdiv_" : "addcmul_", [&](auto tag) {
    using T = decltype(tag);
    const T v = static_cast<T>(value);
    if (divide) map<T, T, T, T>(AddcDiv<T>{v}, self, self, t1, t2);
    else map<T, T, T, T>(AddcMul<T>{v}, self, self, t1, t2);
  });
}

void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  dispatch_tag(out.dtype(), "where", [&](auto tag) {
    using T = decltype(tag);
    map<T, bool, T, T>(Select<T>{}, out, cond, a, b);
  });
}

}  // namespace ember::kernels::cuda
