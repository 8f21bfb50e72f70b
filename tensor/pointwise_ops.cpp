// Elementwise ops: checks, broadcasting and type promotion, then the kernel, then autograd.
#include "tensor/pointwise_ops.h"

#include <cmath>

#include "autograd/function.h"
#include "autograd/functions/pointwise.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/internal.h"
#include "tensor/reduce_ops.h"
#include "tensor/view_ops.h"

namespace ember {
using kernels::BinaryOp;
using kernels::UnaryArgs;
using kernels::UnaryOp;

namespace {

int category(ScalarType t) { return t == kBool ? 0 : (t == kInt64 ? 1 : 2); }
ScalarType default_of_category(int c) { return c == 0 ? kBool : (c == 1 ? kInt64 : kFloat32); }

// ---- unary ------------------------------------------------------------------------------

const char* unary_name(UnaryOp op) {
  static const char* names[] = {"neg", "abs", "sign", "exp", "log", "log1p", "sqrt", "rsqrt", "sin", "cos",
                                "tanh", "sigmoid", "relu", "erf", "gelu", "gelu", "silu", "pow", "clamp", "logical_not"};
  return names[static_cast<int>(op)];
}
bool keeps_integers(UnaryOp op) {
  return op == UnaryOp::Neg || op == UnaryOp::Abs || op == UnaryOp::Sign || op == UnaryOp::Relu ||
         op == UnaryOp::Clamp || op == UnaryOp::LogicalNot;
}
// Which saved values each formula needs.
bool needs_input(UnaryOp op) {
  switch (op) {
    case UnaryOp::Abs: case UnaryOp::Log: case UnaryOp::Log1p: case UnaryOp::Sin: case UnaryOp::Cos:
    case UnaryOp::Erf: case UnaryOp::Gelu: case UnaryOp::GeluTanh: case UnaryOp::Silu: case UnaryOp::PowScalar:
    case UnaryOp::Clamp: return true;
    default: return false;
  }
}
bool needs_result(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Tanh ||
         op == UnaryOp::Sigmoid || op == UnaryOp::Relu;
}

Tensor unary_op(UnaryOp op, const Tensor& x, const UnaryArgs& args = {}) {
  const char* name = unary_name(op);
  internal::check_defined(x, name);
  EMBER_CHECK(!(op == UnaryOp::Neg && x.dtype() == kBool), name,
              "Negation, the `-` operator, on a bool tensor is not supported. If you are trying to invert a mask, "
              "use the `~` or `logical_not()` operator instead.");
  ScalarType in_type = x.dtype();
  if (!keeps_integers(op) && !is_floating_point(in_type)) in_type = kFloat32;  // exp(int) is float, as in PyTorch
  if (op == UnaryOp::PowScalar && !is_floating_point(x.dtype()) && args.a == std::floor(args.a) && args.a >= 0)
    in_type = x.dtype() == kBool ? kInt64 : x.dtype();
  const Tensor& in = x.dtype() == in_type ? x : internal::cast(x, in_type);
  Tensor out = internal::new_tensor(x.sizes(), op == UnaryOp::LogicalNot ? kBool : in_type, x.device());
  if (op == UnaryOp::PowScalar && !is_floating_point(in_type)) {  // integer powers stay integral
    Tensor e = internal::broadcast_to(
        scalar_tensor(static_cast<int64_t>(args.a), TensorOptions(in_type).device(x.device())), x.sizes());
    kernels::binary(BinaryOp::Pow, in, e, out);
  } else {
    kernels::unary(op, in, out, args);
  }
  if (autograd::needs_grad(x) && is_floating_point(out.dtype())) {
    auto node = autograd::make_node<autograd::UnaryBackward>(x);
    node->op = op;
    node->args = args;
    if (needs_input(op)) node->input = node->save(x);
    autograd::set_history(out, node);
    if (needs_result(op)) node->result = node->save(out, /*is_output=*/true);
  }
  return out;
}

// ---- binary -------------------------------------------------------------------------------

const char* binary_name(BinaryOp op) {
  static const char* names[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum", "eq", "ne", "lt",
                                "le", "gt", "ge", "logical_and", "logical_or"};
  return names[static_cast<int>(op)];
}

// PyTorch's sub_check: no bool operand at all (sub, sub_, and `-`, whatever alpha).
void check_sub(const Tensor& a, const Tensor& b, const char* name) {
  EMBER_CHECK(a.dtype() != kBool || b.dtype() != kBool, name,
              "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
              "`logical_xor()` operator instead.");
  EMBER_CHECK(a.dtype() != kBool && b.dtype() != kBool, name,
              "Subtraction, the `-` operator, with a bool tensor is not supported. If you are trying to invert a "
              "mask, use the `~` or `logical_not()` operator instead.");
}

Tensor binary_op(BinaryOp op, const Tensor& a, const Tensor& b, double alpha = 1) {
  const char* name = binary_name(op);
  internal::check_defined(a, name);
  internal::check_defined(b, name);
  if (__builtin_expect(a.device() != b.device(), 0)) {
    // A 0-d CPU operand joins an op on the GPU, as in PyTorch; any other mix is an error.
    const Tensor a2 = internal::on_device_of(a, b), b2 = internal::on_device_of(b, a);
    internal::check_same_device(a2, b2, name);
    return binary_op(op, a2, b2, alpha);
  }
  ScalarType compute = result_type(a, b);
  if (op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr) compute = promote_types(a.dtype(), b.dtype());
  if (op == BinaryOp::Div && !is_floating_point(compute)) compute = kFloat32;  // true division
  if (op == BinaryOp::Sub) check_sub(a, b, name);
  Shape shape = a.sizes() == b.sizes() ? a.sizes() : broadcast_shapes(a.sizes(), b.sizes(), name);
  Tensor out = internal::new_tensor(shape, kernels::is_comparison(op) ? kBool : compute, a.device());
  if (a.dtype() == compute && b.dtype() == compute && a.sizes() == shape && b.sizes() == shape)
    kernels::binary(op, a, b, out, alpha);  // the common case, without temporaries
  else
    kernels::binary(op, internal::broadcast_to(internal::cast(a, compute), shape),
                    internal::broadcast_to(internal::cast(b, compute), shape), out, alpha);
  if (!kernels::is_comparison(op) && is_floating_point(compute) && autograd::needs_grad(a, b)) {
    auto node = autograd::make_node<autograd::BinaryBackward>(a, b);
    node->op = op;
    node->alpha = alpha;
    bool grad_a = node->needs_input_grad(0), grad_b = node->needs_input_grad(1);
    switch (op) {
      case BinaryOp::Mul:
        if (grad_a) node->b = node->save(b);
        if (grad_b) node->a = node->save(a);
        break;
      case BinaryOp::Div:
        node->b = node->save(b);
        if (grad_b) node->a = node->save(a);
        break;
      case BinaryOp::Pow: case BinaryOp::Maximum: case BinaryOp::Minimum:
        node->a = node->save(a);
        node->b = node->save(b);
        break;
      default: break;
    }
    autograd::set_history(out, node);
    if (op == BinaryOp::Pow && grad_b) node->result = node->save(out, /*is_output=*/true);
  }
  return out;
}

Tensor wrap(const Scalar& s, const Tensor& like) {
  Tensor t = scalar_tensor(s, TensorOptions(s.kind() == kFloat64 ? kFloat64 : s.kind()).device(like.device()));
  t.impl()->wrapped_number = true;
  return t;
}

// In-place: compute out of place, then write back into a (keeping a's storage and views).
Tensor& inplace(Tensor& a, const Tensor& computed, const char* op) {
  autograd::check_inplace(a, op);
  // result may have moved to a GPU (a CUDA operand with a 0-d CPU a): never copy it across here.
  internal::check_same_device(a, computed, op);
  EMBER_CHECK(computed.sizes() == a.sizes(), op, "output with shape ", shape_text(a.sizes()),
              " doesn't match the broadcast shape ", shape_text(computed.sizes()));
  // PyTorch's canCast: never down a category (float into an integer tensor, a number into a
  // bool one); float64 into float32 is allowed (f32.add_(f64 tensor) stays float32).
  EMBER_CHECK(category(computed.dtype()) <= category(a.dtype()), op,
              "result type ", dtype_name(computed.dtype()), " can't be cast to the desired output type ",
              dtype_name(a.dtype()));
  // A recorded write is cast first (itself recorded): a's new grad_fn must describe a gradient
  // of a's dtype. Otherwise the copy below casts.
  const bool record = computed.requires_grad() && autograd::GradMode::is_enabled();
  const Tensor result = record && computed.dtype() != a.dtype() ? to_dtype(computed, a.dtype()) : computed;
  kernels::copy(result, a);
  a.impl()->storage->bump_version();
  if (record) {
    // The write is recorded as "a now equals result": a's history continues from result's node.
    auto node = result.grad_fn();
    if (node) {
      autograd::AutogradMeta& m = autograd::meta_of(a);
      m.requires_grad = true;
      m.grad_fn = node;
      m.output_nr = result.output_nr();
    }
  }
  return a;
}

// b as a view of a's shape, for an in-place op writing into a.
Tensor broadcast_into(const Tensor& a, const Tensor& b, const char* op) {
  if (b.sizes() == a.sizes()) return b;
  Shape shape = broadcast_shapes(a.sizes(), b.sizes(), op);
  EMBER_CHECK(shape == a.sizes(), op, "output with shape ", shape_text(a.sizes()),
              " doesn't match the broadcast shape ", shape_text(shape));
  return internal::broadcast_to(b, shape);
}

// The first operand of a recorded in-place op: a copy, so that the formula's saved value is
// not the one the op is about to overwrite (that would fail the version check). Nothing is
// recorded when neither operand needs a gradient, so then a itself (no extra pass over it).
Tensor autograd_input(const Tensor& a, const Tensor& b) { return autograd::needs_grad(a, b) ? clone(a) : a; }

}  // namespace

ScalarType result_type(const Tensor& a, const Tensor& b) {
  // Three tiers, as in PyTorch: tensors with dims, then 0-d tensors, then wrapped numbers;
  // a lower tier only matters when it is of a higher category (bool < integer < float).
  auto tier = [](const Tensor& t) { return t.impl()->wrapped_number ? 2 : (t.dim() == 0 ? 1 : 0); };
  int ta = tier(a), tb = tier(b);
  if (ta == tb) return promote_types(a.dtype(), b.dtype());
  const Tensor& hi = ta < tb ? a : b;  // the one that normally decides
  const Tensor& lo = ta < tb ? b : a;
  if (category(lo.dtype()) <= category(hi.dtype())) return hi.dtype();
  if (lo.impl()->wrapped_number) return default_of_category(category(lo.dtype()));
  return promote_types(hi.dtype(), lo.dtype());
}

ScalarType result_type(const Tensor& a, const Scalar& b) {
  if (category(b.kind()) <= category(a.dtype())) return a.dtype();
  return default_of_category(category(b.kind()));
}

// ---- unary ops ---------------------------------------------------------------------------

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::Neg, x); }
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::Abs, x); }
Tensor sign(const Tensor& x) { return unary_op(UnaryOp::Sign, x); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::Exp, x); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::Log, x); }
Tensor log1p(const Tensor& x) { return unary_op(UnaryOp::Log1p, x); }
Tensor sqrt(const Tensor& x) { return unary_op(UnaryOp::Sqrt, x); }
Tensor rsqrt(const Tensor& x) { return unary_op(UnaryOp::Rsqrt, x); }
Tensor sin(const Tensor& x) { return unary_op(UnaryOp::Sin, x); }
Tensor cos(const Tensor& x) { return unary_op(UnaryOp::Cos, x); }
Tensor tanh(const Tensor& x) { return unary_op(UnaryOp::Tanh, x); }
Tensor sigmoid(const Tensor& x) { return unary_op(UnaryOp::Sigmoid, x); }
Tensor relu(const Tensor& x) { return unary_op(UnaryOp::Relu, x); }
Tensor erf(const Tensor& x) { return unary_op(UnaryOp::Erf, x); }
Tensor silu(const Tensor& x) { return unary_op(UnaryOp::Silu, x); }
Tensor gelu(const Tensor& x, const std::string& approximate) {
  EMBER_CHECK(approximate == "none" || approximate == "tanh", "gelu",
              "approximate argument must be either none or tanh, got '", approximate, "'");
  return unary_op(approximate == "none" ? UnaryOp::Gelu : UnaryOp::GeluTanh, x);
}
Tensor pow(const Tensor& x, const Scalar& e) {
  UnaryArgs args;
  args.a = e.to_double();
  args.has_a = true;
  if (e.is_floating_point() && !is_floating_point(x.dtype())) return unary_op(UnaryOp::PowScalar, x.to(kFloat32), args);
  return unary_op(UnaryOp::PowScalar, x, args);
}
Tensor pow(const Tensor& x, const Tensor& e) { return binary_op(BinaryOp::Pow, x, e); }
Tensor pow(const Scalar& base, const Tensor& e) { return binary_op(BinaryOp::Pow, wrap(base, e), e); }
Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  EMBER_CHECK(min || max, "clamp", "At least one of 'min' or 'max' must not be None");
  UnaryArgs args;
  if (min) args = UnaryArgs{min->to_double(), 0, true, false};
  if (max) {
    args.b = max->to_double();
    args.has_b = true;
  }
  bool float_bound = (min && min->is_floating_point()) || (max && max->is_floating_point());
  return unary_op(UnaryOp::Clamp, float_bound && !x.is_floating_point() ? x.to(kFloat32) : x, args);
}
Tensor logical_not(const Tensor& a) { return unary_op(UnaryOp::LogicalNot, a); }

// ---- binary ops ------------------------------------------------------------------------------

Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) { return binary_op(BinaryOp::Add, a, b, alpha.to_double()); }
Tensor add(const Tensor& a, const Scalar& b, const Scalar& alpha) { return add(a, wrap(b, a), alpha); }
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) { return binary_op(BinaryOp::Sub, a, b, alpha.to_double()); }
Tensor sub(const Tensor& a, const Scalar& b, const Scalar& alpha) { return sub(a, wrap(b, a), alpha); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Mul, a, b); }
Tensor mul(const Tensor& a, const Scalar& b) { return mul(a, wrap(b, a)); }
Tensor div(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Div, a, b); }
Tensor div(const Tensor& a, const Scalar& b) { return div(a, wrap(b, a)); }
Tensor maximum(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Minimum, a, b); }
Tensor eq(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::Ge, a, b); }
Tensor eq(const Tensor& a, const Scalar& b) { return eq(a, wrap(b, a)); }
Tensor ne(const Tensor& a, const Scalar& b) { return ne(a, wrap(b, a)); }
Tensor lt(const Tensor& a, const Scalar& b) { return lt(a, wrap(b, a)); }
Tensor le(const Tensor& a, const Scalar& b) { return le(a, wrap(b, a)); }
Tensor gt(const Tensor& a, const Scalar& b) { return gt(a, wrap(b, a)); }
Tensor ge(const Tensor& a, const Scalar& b) { return ge(a, wrap(b, a)); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::LogicalAnd, a, b); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary_op(BinaryOp::LogicalOr, a, b); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
  NoGradGuard no_grad;
  Tensor ad = a.to(kFloat64), bd = b.to(kFloat64);
  Tensor close = le(abs(sub(ad, bd)), add(mul(abs(bd), rtol), atol));
  return sum(logical_not(close)).item<int64_t>() == 0;
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  NoGradGuard no_grad;
  return sum(ne(a, b)).item<int64_t>() == 0;
}

// ---- where and masked_fill -----------------------------------------------------------------

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  EMBER_CHECK(condition.dtype() == kBool, "where", "where expected condition to be a boolean tensor, but got a tensor with dtype ",
              dtype_name(condition.dtype()));
  if (condition.device() != a.device() || a.device() != b.device()) {
    // 0-d CPU operands join the device of the first operand that is not one (PyTorch's rule).
    const Tensor* lead = &condition;
    for (const Tensor* t : {&condition, &a, &b}) {
      lead = t;
      if (!t->device().is_cpu() || t->dim() != 0) break;
    }
    const Tensor c2 = internal::on_device_of(condition, *lead), a2 = internal::on_device_of(a, *lead),
                 b2 = internal::on_device_of(b, *lead);
    internal::check_same_device(a2, b2, "where");
    internal::check_same_device(c2, a2, "where");
    return where(c2, a2, b2);
  }
  internal::check_same_device(a, b, "where");
  internal::check_same_device(condition, a, "where");
  ScalarType type = result_type(a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(condition.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor out = internal::new_tensor(shape, type, a.device());
  kernels::where(internal::broadcast_to(condition, shape), internal::broadcast_to(internal::cast(a, type), shape),
                 internal::broadcast_to(internal::cast(b, type), shape), out);
  if (is_floating_point(type) && autograd::needs_grad(a, b)) {
    auto node = autograd::make_node<autograd::WhereBackward>(a, b);
    node->condition = node->save(condition);
    autograd::set_history(out, node);
  }
  return out;
}

Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b) { return where(condition, a, wrap(b, a)); }

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  EMBER_CHECK(mask.dtype() == kBool, "masked_fill", "masked_fill only supports boolean masks, but got mask with dtype ",
              dtype_name(mask.dtype()));
  Shape shape = broadcast_shapes(x.sizes(), mask.sizes(), "masked_fill");
  EMBER_CHECK(shape == x.sizes(), "masked_fill", "mask of shape ", shape_text(mask.sizes()),
              " cannot be broadcast to the input's shape ", shape_text(x.sizes()));
  internal::check_same_device(x, mask, "masked_fill");
  Tensor fill = scalar_tensor(value, TensorOptions(x.dtype()).device(x.device()));
  return where(mask, fill, x);
}

// ---- in place ------------------------------------------------------------------------------------

Tensor& add_(Tensor& a, const Tensor& b, const Scalar& alpha) {
  // A 0-d CPU b may update a GPU tensor (PyTorch's CPU scalar): moved to a's device first.
  if (a.device() != b.device() && b.device().is_cpu() && b.dim() == 0) return add_(a, internal::on_device_of(b, a), alpha);
  if (!autograd::needs_grad(a, b) && a.dtype() == result_type(a, b) && b.dtype() == a.dtype() && a.is_contiguous()) {
    // Fast path: write straight into a (no temporary).
    internal::check_same_device(a, b, "add_");
    autograd::check_inplace(a, "add_");
    kernels::binary(BinaryOp::Add, a, broadcast_into(a, b, "add_"), a, alpha.to_double());
    a.impl()->storage->bump_version();
    return a;
  }
  return inplace(a, add(autograd_input(a, b), b, alpha), "add_");
}
Tensor& sub_(Tensor& a, const Tensor& b, const Scalar& alpha) {
  internal::check_defined(a, "sub_");
  internal::check_defined(b, "sub_");
  check_sub(a, b, "sub_");  // add_ with alpha -1 would not check
  return add_(a, b, Scalar(-alpha.to_double()));
}
Tensor& mul_(Tensor& a, const Tensor& b) {
  if (a.device() != b.device() && b.device().is_cpu() && b.dim() == 0) return mul_(a, internal::on_device_of(b, a));
  if (!autograd::needs_grad(a, b) && b.dtype() == a.dtype() && a.is_contiguous()) {
    internal::check_same_device(a, b, "mul_");
    autograd::check_inplace(a, "mul_");
    kernels::binary(BinaryOp::Mul, a, broadcast_into(a, b, "mul_"), a);
    a.impl()->storage->bump_version();
    return a;
  }
  return inplace(a, mul(autograd_input(a, b), b), "mul_");
}
Tensor& div_(Tensor& a, const Tensor& b) { return inplace(a, div(autograd_input(a, b), b), "div_"); }
namespace {
Tensor& addc_op(Tensor& a, const Tensor& t1, const Tensor& t2, const Scalar& value, bool divide) {
  const char* op = divide ? "addcdiv_" : "addcmul_";
  autograd::check_inplace(a, op);
  EMBER_CHECK(!autograd::needs_grad(a, t1, t2), op, "is not recorded by autograd; call it under NoGradGuard");
  EMBER_CHECK(a.is_floating_point() && t1.dtype() == a.dtype() && t2.dtype() == a.dtype(), op,
              "expected tensors of one floating dtype, got ", dtype_name(a.dtype()), ", ", dtype_name(t1.dtype()),
              " and ", dtype_name(t2.dtype()));
  internal::check_same_device(a, t1, op);
  internal::check_same_device(a, t2, op);
  kernels::addcmul_(a, broadcast_into(a, t1, op), broadcast_into(a, t2, op), value.to_double(), divide);
  a.impl()->storage->bump_version();
  return a;
}
}  // namespace

Tensor& addcmul_(Tensor& a, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return addc_op(a, t1, t2, value, /*divide=*/false);
}
Tensor& addcdiv_(Tensor& a, const Tensor& t1, const Tensor& t2, const Scalar& value) {
  return addc_op(a, t1, t2, value, /*divide=*/true);
}

Tensor& fill_(Tensor& a, const Scalar& value) {
  autograd::check_inplace(a, "fill_");
  kernels::fill(a, value);
  a.impl()->storage->bump_version();
  if (autograd::AutogradMeta* m = autograd::maybe_meta(a); m && m->grad_fn && autograd::GradMode::is_enabled()) {
    // The old history no longer reaches a: it is now a constant.
    m->grad_fn.reset();
    m->requires_grad = false;
  }
  return a;
}
Tensor& zero_(Tensor& a) { return fill_(a, 0); }
Tensor& copy_(Tensor& a, const Tensor& src) {
  internal::check_defined(src, "copy_");
  // Across devices, as PyTorch allows: move src to a's device first (recorded by autograd),
  // then copy there.
  if (a.device() != src.device()) return copy_(a, to_device(src, a.device()));
  Tensor src_view = broadcast_into(a, src, "copy_");
  if (!autograd::needs_grad(src) && !autograd::needs_grad(a)) {
    autograd::check_inplace(a, "copy_");
    kernels::copy(src_view, a);
    a.impl()->storage->bump_version();
    return a;
  }
  Tensor converted = to_dtype(src, a.dtype());
  Tensor expanded = converted.sizes() == a.sizes() ? clone(converted) : clone(expand(converted, a.sizes()));
  return inplace(a, expanded, "copy_");
}

// ---- backward formulas ------------------------------------------------------------------------

namespace autograd {

const char* UnaryBackward::name() const {
  static const char* names[] = {"NegBackward", "AbsBackward", "SignBackward", "ExpBackward", "LogBackward",
                                "Log1pBackward", "SqrtBackward", "RsqrtBackward", "SinBackward", "CosBackward",
                                "TanhBackward", "SigmoidBackward", "ReluBackward", "ErfBackward", "GeluBackward",
                                "GeluBackward", "SiluBackward", "PowBackward", "ClampBackward", "LogicalNotBackward"};
  return names[static_cast<int>(op)];
}

GradList UnaryBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  constexpr double kSqrt2OverPi = 0.7978845608028654, kInvSqrt2Pi = 0.3989422804014327;
  switch (op) {
    case UnaryOp::Neg: return {neg(g)};
    case UnaryOp::Abs: return {g * sign(unpack(input))};
    case UnaryOp::Sign: return {zeros_like(g)};
    case UnaryOp::Exp: return {g * unpack(result)};
    case UnaryOp::Log: return {g / unpack(input)};
    case UnaryOp::Log1p: return {g / (unpack(input) + 1)};
    case UnaryOp::Sqrt: return {g / (unpack(result) * 2)};
    case UnaryOp::Rsqrt: return {g * pow(unpack(result), 3) * -0.5};
    case UnaryOp::Sin: return {g * cos(unpack(input))};
    case UnaryOp::Cos: return {-(g * sin(unpack(input)))};
    case UnaryOp::Tanh: { Tensor y = unpack(result); return {g * (1 - y * y)}; }
    case UnaryOp::Sigmoid: { Tensor y = unpack(result); return {g * y * (1 - y)}; }
    case UnaryOp::Relu: return {where(unpack(result) > 0, g, 0)};
    case UnaryOp::Erf: { Tensor x = unpack(input); return {g * exp(-(x * x)) * (2 * kInvSqrt2Pi * M_SQRT2)}; }
    case UnaryOp::Gelu: {
      Tensor x = unpack(input);
      Tensor cdf = (erf(x * M_SQRT1_2) + 1) * 0.5;
      Tensor pdf = exp(x * x * -0.5) * kInvSqrt2Pi;
      return {g * (cdf + x * pdf)};
    }
    case UnaryOp::GeluTanh: {
      Tensor x = unpack(input);
      Tensor inner = (x + x * x * x * 0.044715) * kSqrt2OverPi;
      Tensor th = tanh(inner);
      Tensor d_inner = (x * x * (3 * 0.044715) + 1) * kSqrt2OverPi;
      return {g * ((th + 1) * 0.5 + x * 0.5 * (1 - th * th) * d_inner)};
    }
    case UnaryOp::Silu: {
      Tensor x = unpack(input);
      Tensor s = sigmoid(x);
      return {g * s * (x * (1 - s) + 1)};
    }
    case UnaryOp::PowScalar: {
      if (args.a == 0) return {zeros_like(g)};
      return {g * pow(unpack(input), args.a - 1) * args.a};
    }
    case UnaryOp::Clamp: {
      Tensor x = unpack(input);
      Tensor keep = ones_like(x, x.options().dtype(kBool));
      if (args.has_a) keep = logical_and(keep, x >= args.a);
      if (args.has_b) keep = logical_and(keep, x <= args.b);
      return {where(keep, g, 0)};
    }
    case UnaryOp::LogicalNot: break;
  }
  return {Tensor()};
}

const char* BinaryBackward::name() const {
  static const char* names[] = {"AddBackward", "SubBackward", "MulBackward", "DivBackward", "PowBackward",
                                "MaximumBackward", "MinimumBackward"};
  return names[static_cast<int>(op)];
}

GradList BinaryBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  bool ga = needs_input_grad(0), gb = needs_input_grad(1);
  GradList out(2);
  switch (op) {
    case BinaryOp::Add:
      if (ga) out[0] = g;
      if (gb) out[1] = alpha == 1 ? g : g * alpha;
      break;
    case BinaryOp::Sub:
      if (ga) out[0] = g;
      if (gb) out[1] = g * -alpha;
      break;
    case BinaryOp::Mul:
      if (ga) out[0] = g * unpack(b);
      if (gb) out[1] = g * unpack(a);
      break;
    case BinaryOp::Div: {
      Tensor bv = unpack(b);
      if (ga) out[0] = g / bv;
      if (gb) out[1] = -(g * unpack(a)) / (bv * bv);
      break;
    }
    case BinaryOp::Pow: {
      Tensor av = unpack(a), bv = unpack(b);
      // d/da a^b = b a^(b-1), taken as 0 where b == 0 (as PyTorch does).
      if (ga) out[0] = where(bv == 0, zeros_like(g), g * bv * pow(av, bv - 1));
      // d/db a^b = a^b log(a), taken as 0 where a == 0 and b >= 0.
      if (gb) out[1] = where(logical_and(av == 0, bv >= 0), zeros_like(g), g * unpack(result) * log(av));
      break;
    }
    case BinaryOp::Maximum: case BinaryOp::Minimum: {
      Tensor av = unpack(a), bv = unpack(b);
      Tensor a_wins = op == BinaryOp::Maximum ? av > bv : av < bv;
      Tensor tie = av == bv;  // ties split the gradient evenly, as in PyTorch
      Tensor half = g * 0.5;
      if (ga) out[0] = where(a_wins, g, where(tie, half, zeros_like(g)));
      if (gb) out[1] = where(logical_or(a_wins, tie), where(tie, half, zeros_like(g)), g);
      break;
    }
    default: break;
  }
  return out;
}

GradList WhereBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  Tensor c = unpack(condition);
  GradList out(2);
  if (needs_input_grad(0)) out[0] = where(c, g, zeros_like(g));
  if (needs_input_grad(1)) out[1] = where(c, zeros_like(g), g);
  return out;
}

}  // namespace autograd

}  // namespace ember
