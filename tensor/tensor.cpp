// Tensor's methods: thin forwards to the free functions, plus the autograd accessors.
#include "tensor/tensor.h"

#include "autograd/autograd_meta.h"
#include "autograd/engine.h"
#include "autograd/function.h"
#include "kernels/cpu/dispatch.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace ember {

TensorImpl* Tensor::checked() const {
  EMBER_CHECK(impl_ != nullptr, "Tensor", "called a method on an undefined tensor");
  return impl_.get();
}

int64_t Tensor::size(int64_t d) const {
  if (dim() == 0) EMBER_CHECK(false, "size", "dimension specified as ", d, " but tensor has no dimensions");
  return sizes()[static_cast<size_t>(wrap_dim(d, dim(), "size"))];
}
int64_t Tensor::stride(int64_t d) const {
  if (dim() == 0) EMBER_CHECK(false, "stride", "dimension specified as ", d, " but tensor has no dimensions");
  return strides()[static_cast<size_t>(wrap_dim(d, dim(), "stride"))];
}

template <class T>
T* Tensor::data_ptr() const {
  EMBER_CHECK(dtype_of<T>::value == dtype(), "data_ptr", "expected scalar type ", dtype_name(dtype_of<T>::value),
              " but found ", dtype_name(dtype()));
  return impl()->data_as<T>();
}
template float* Tensor::data_ptr<float>() const;
template double* Tensor::data_ptr<double>() const;
template int64_t* Tensor::data_ptr<int64_t>() const;
template bool* Tensor::data_ptr<bool>() const;

template <class T>
T Tensor::item() const {
  EMBER_CHECK(numel() == 1, "item", "a Tensor with ", numel(), " elements cannot be converted to Scalar");
  Tensor host = device().is_cpu() ? *this : to(Device(kCPU));
  return kernels::dispatch_all(dtype(), "item", [&]<class S>() -> T {
    S v = *host.impl()->data_as<S>();
    return static_cast<T>(v);
  });
}
template float Tensor::item<float>() const;
template double Tensor::item<double>() const;
template int64_t Tensor::item<int64_t>() const;
template int Tensor::item<int>() const;
template bool Tensor::item<bool>() const;

Scalar Tensor::item() const {
  switch (dtype()) {
    case kFloat32: case kFloat64: return Scalar(item<double>());
    case kInt64: return Scalar(item<int64_t>());
    case kBool: return Scalar(item<bool>());
  }
  return Scalar();
}

// ---- autograd -------------------------------------------------------------------------------

bool Tensor::requires_grad() const {
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m != nullptr && m->requires_grad;
}

Tensor& Tensor::requires_grad_(bool r) {
  EMBER_CHECK(is_leaf() || r, "requires_grad_",
              "you can only change requires_grad flags of leaf variables. If you want to use a computed variable in a "
              "subgraph that doesn't require differentiation use var_no_grad = var.detach().");
  EMBER_CHECK(!r || ember::is_floating_point(dtype()), "requires_grad_",
              "only Tensors of floating point dtype can require gradients (got ", dtype_name(dtype()), ")");
  if (r || impl_->autograd) autograd::meta_of(*this).requires_grad = r;
  return *this;
}

bool Tensor::is_leaf() const {
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m == nullptr || m->grad_fn == nullptr;
}

const Tensor& Tensor::grad() const {
  static const Tensor kUndefined;
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m ? m->grad : kUndefined;
}
Tensor& Tensor::mutable_grad() { return autograd::meta_of(*this).grad; }
void Tensor::set_grad(const Tensor& g) {
  EMBER_CHECK(!g.defined() || g.sizes() == sizes(), "set_grad", "assigned grad has data of a different size: ",
              shape_text(g.sizes()), " vs ", shape_text(sizes()));
  // As PyTorch: .grad() lives with the tensor. A host gradient beside a GPU parameter would
  // reach the next accumulation and the optimizer step on the wrong device.
  EMBER_CHECK(!g.defined() || g.dtype() == dtype(), "set_grad", "assigned grad has data of a different type (",
              dtype_name(g.dtype()), " vs ", dtype_name(dtype()), ")");
  EMBER_CHECK(!g.defined() || g.device() == device(), "set_grad",
              "assigned grad has data located on a different device (", g.device().str(), " vs ", device().str(), ")");
  autograd::meta_of(*this).grad = g;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m ? m->grad_fn : nullptr;
}
uint32_t Tensor::output_nr() const {
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m ? m->output_nr : 0;
}

void Tensor::retain_grad() {
  EMBER_CHECK(requires_grad(), "retain_grad", "can't retain_grad on Tensor that has requires_grad=False");
  autograd::AutogradMeta& m = autograd::meta_of(*this);
  if (is_leaf() || m.retains_grad) return;
  m.retains_grad = true;
  std::weak_ptr<TensorImpl> weak = impl_;
  m.grad_fn->pre_hooks.emplace_back(m.output_nr, [weak](const Tensor& g) {
    if (auto self = weak.lock()) {
      Tensor t(self);
      autograd::AutogradMeta& meta = autograd::meta_of(t);
      meta.grad = meta.grad.defined() ? meta.grad + g : g.detach().clone();
    }
    return Tensor();
  });
}
bool Tensor::retains_grad() const {
  const autograd::AutogradMeta* m = checked()->autograd.get();
  return m && m->retains_grad;
}

void Tensor::register_hook(std::function<Tensor(const Tensor&)> fn) {
  EMBER_CHECK(requires_grad(), "register_hook", "cannot register a hook on a tensor that doesn't require gradient");
  autograd::AutogradMeta& m = autograd::meta_of(*this);
  if (m.grad_fn) m.grad_fn->pre_hooks.emplace_back(m.output_nr, std::move(fn));
  else m.leaf_hooks.push_back(std::move(fn));
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
  autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                     retain_graph || create_graph, create_graph);
}

Tensor Tensor::detach() const {
  const TensorImpl* s = checked();
  return internal::alias(*this, s->sizes, s->strides, s->offset);
}
Tensor& Tensor::detach_() {
  if (autograd::AutogradMeta* m = checked()->autograd.get()) {
    m->grad_fn.reset();
    m->requires_grad = false;
    m->is_view = false;
  }
  return *this;
}

// ---- forwards -----------------------------------------------------------------------------------

Tensor Tensor::view(const Shape& s) const { return ember::view(*this, s); }
Tensor Tensor::reshape(const Shape& s) const { return ember::reshape(*this, s); }
Tensor Tensor::permute(const Shape& d) const { return ember::permute(*this, d); }
Tensor Tensor::transpose(int64_t a, int64_t b) const { return ember::transpose(*this, a, b); }
Tensor Tensor::t() const { return ember::t(*this); }
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const { return ember::narrow(*this, d, s, l); }
Tensor Tensor::slice(int64_t d, std::optional<int64_t> s, std::optional<int64_t> e, int64_t st) const {
  return ember::slice(*this, d, s, e, st);
}
Tensor Tensor::select(int64_t d, int64_t i) const { return ember::select(*this, d, i); }
Tensor Tensor::unsqueeze(int64_t d) const { return ember::unsqueeze(*this, d); }
Tensor Tensor::squeeze() const { return ember::squeeze(*this); }
Tensor Tensor::squeeze(int64_t d) const { return ember::squeeze(*this, d); }
Tensor Tensor::expand(const Shape& s) const { return ember::expand(*this, s); }
Tensor Tensor::expand_as(const Tensor& o) const { return ember::expand_as(*this, o); }
Tensor Tensor::flatten(int64_t s, int64_t e) const { return ember::flatten(*this, s, e); }
Tensor Tensor::unflatten(int64_t d, const Shape& s) const { return ember::unflatten(*this, d, s); }
Tensor Tensor::as_strided(const Shape& s, const Shape& st, std::optional<int64_t> o) const {
  return ember::as_strided(*this, s, st, o);
}
Tensor Tensor::contiguous() const { return ember::contiguous(*this); }
Tensor Tensor::clone() const { return ember::clone(*this); }
Tensor Tensor::to(ScalarType d) const { return ember::to_dtype(*this, d); }
Tensor Tensor::to(Device d) const { return ember::to_device(*this, d); }
Tensor Tensor::to(const TensorOptions& o) const {
  // libtorch's check_tensor_options_and_extract_memory_format (requires_grad(false) is accepted).
  EMBER_CHECK(!o.requires_grad(), "to",
              "Operators taking TensorOptions cannot take a TensorOptions with options.requires_grad set as true. "
              "This isn't implemented yet.");
  Tensor out = o.has_dtype() ? ember::to_dtype(*this, o.dtype()) : *this;  // what is not given stays
  return o.has_device() ? ember::to_device(out, o.device()) : out;
}
Tensor Tensor::cpu() const { return to(Device(kCPU)); }
Tensor Tensor::cuda() const { return to(Device(kCUDA)); }
std::vector<Tensor> Tensor::split(int64_t s, int64_t d) const { return ember::split(*this, s, d); }
std::vector<Tensor> Tensor::chunk(int64_t c, int64_t d) const { return ember::chunk(*this, c, d); }

Tensor Tensor::neg() const { return ember::neg(*this); }
Tensor Tensor::abs() const { return ember::abs(*this); }
Tensor Tensor::sign() const { return ember::sign(*this); }
Tensor Tensor::exp() const { return ember::exp(*this); }
Tensor Tensor::log() const { return ember::log(*this); }
Tensor Tensor::log1p() const { return ember::log1p(*this); }
Tensor Tensor::sqrt() const { return ember::sqrt(*this); }
Tensor Tensor::rsqrt() const { return ember::rsqrt(*this); }
Tensor Tensor::sin() const { return ember::sin(*this); }
Tensor Tensor::cos() const { return ember::cos(*this); }
Tensor Tensor::tanh() const { return ember::tanh(*this); }
Tensor Tensor::sigmoid() const { return ember::sigmoid(*this); }
Tensor Tensor::relu() const { return ember::relu(*this); }
Tensor Tensor::pow(const Scalar& e) const { return ember::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return ember::pow(*this, e); }
Tensor Tensor::clamp(std::optional<Scalar> lo, std::optional<Scalar> hi) const { return ember::clamp(*this, lo, hi); }
Tensor Tensor::add(const Tensor& o, const Scalar& a) const { return ember::add(*this, o, a); }
Tensor Tensor::add(const Scalar& o) const { return ember::add(*this, o); }
Tensor Tensor::sub(const Tensor& o, const Scalar& a) const { return ember::sub(*this, o, a); }
Tensor Tensor::sub(const Scalar& o) const { return ember::sub(*this, o); }
Tensor Tensor::mul(const Tensor& o) const { return ember::mul(*this, o); }
Tensor Tensor::mul(const Scalar& o) const { return ember::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return ember::div(*this, o); }
Tensor Tensor::div(const Scalar& o) const { return ember::div(*this, o); }
Tensor Tensor::maximum(const Tensor& o) const { return ember::maximum(*this, o); }
Tensor Tensor::minimum(const Tensor& o) const { return ember::minimum(*this, o); }
Tensor Tensor::eq(const Tensor& o) const { return ember::eq(*this, o); }
Tensor Tensor::ne(const Tensor& o) const { return ember::ne(*this, o); }
Tensor Tensor::lt(const Tensor& o) const { return ember::lt(*this, o); }
Tensor Tensor::le(const Tensor& o) const { return ember::le(*this, o); }
Tensor Tensor::gt(const Tensor& o) const { return ember::gt(*this, o); }
Tensor Tensor::ge(const Tensor& o) const { return ember::ge(*this, o); }
Tensor Tensor::eq(const Scalar& o) const { return ember::eq(*this, o); }
Tensor Tensor::ne(const Scalar& o) const { return ember::ne(*this, o); }
Tensor Tensor::lt(const Scalar& o) const { return ember::lt(*this, o); }
Tensor Tensor::le(const Scalar& o) const { return ember::le(*this, o); }
Tensor Tensor::gt(const Scalar& o) const { return ember::gt(*this, o); }
Tensor Tensor::ge(const Scalar& o) const { return ember::ge(*this, o); }
Tensor Tensor::logical_and(const Tensor& o) const { return ember::logical_and(*this, o); }
Tensor Tensor::logical_or(const Tensor& o) const { return ember::logical_or(*this, o); }
Tensor Tensor::logical_not() const { return ember::logical_not(*this); }
Tensor Tensor::masked_fill(const Tensor& m, const Scalar& v) const { return ember::masked_fill(*this, m, v); }

Tensor& Tensor::add_(const Tensor& o, const Scalar& a) { return ember::add_(*this, o, a); }
namespace {
// The scalar operand of an in-place op, on self's device. In self's dtype when the result keeps
// it (x.mul_(0.5) on float32); else in the scalar's own kind, so that the op refuses to write a
// float result into an integer tensor, as PyTorch does (int64.mul_(0.5) multiplied by 0).
Tensor inplace_scalar(const Tensor& self, const Scalar& o) {
  const ScalarType type = result_type(self, o);
  return scalar_tensor(o, type == self.dtype() ? self.options() : TensorOptions(type).device(self.device()));
}
}  // namespace

Tensor& Tensor::add_(const Scalar& o) { return ember::add_(*this, inplace_scalar(*this, o)); }
Tensor& Tensor::sub_(const Tensor& o, const Scalar& a) { return ember::sub_(*this, o, a); }
Tensor& Tensor::sub_(const Scalar& o) { return ember::sub_(*this, inplace_scalar(*this, o)); }
Tensor& Tensor::mul_(const Tensor& o) { return ember::mul_(*this, o); }
Tensor& Tensor::mul_(const Scalar& o) { return ember::mul_(*this, inplace_scalar(*this, o)); }
Tensor& Tensor::div_(const Tensor& o) { return ember::div_(*this, o); }
Tensor& Tensor::div_(const Scalar& o) { return ember::div_(*this, inplace_scalar(*this, o)); }
Tensor& Tensor::zero_() { return ember::zero_(*this); }
Tensor& Tensor::fill_(const Scalar& v) { return ember::fill_(*this, v); }
Tensor& Tensor::copy_(const Tensor& s) { return ember::copy_(*this, s); }
Tensor& Tensor::masked_fill_(const Tensor& m, const Scalar& v) {
  autograd::check_inplace(*this, "masked_fill_");  // before the work, and under this op's name rather than copy_'s
  return ember::copy_(*this, ember::masked_fill(*this, m, v));
}
Tensor& Tensor::clamp_(std::optional<Scalar> lo, std::optional<Scalar> hi) {
  autograd::check_inplace(*this, "clamp_");
  // clamp saves its input for backward: under autograd it gets a copy, since copy_ is about
  // to overwrite this tensor (backward would fail the saved tensor's version check).
  const Tensor in = autograd::needs_grad(*this) ? ember::clone(*this) : *this;
  return ember::copy_(*this, ember::clamp(in, lo, hi));
}

Tensor Tensor::sum() const { return ember::sum(*this); }
Tensor Tensor::sum(const Shape& d, bool k) const { return ember::sum(*this, d, k); }
Tensor Tensor::mean() const { return ember::mean(*this); }
Tensor Tensor::mean(const Shape& d, bool k) const { return ember::mean(*this, d, k); }
Tensor Tensor::prod() const { return ember::prod(*this); }
Tensor Tensor::prod(int64_t d, bool k) const { return ember::prod(*this, d, k); }
Tensor Tensor::max() const { return ember::max(*this); }
std::tuple<Tensor, Tensor> Tensor::max(int64_t d, bool k) const { return ember::max(*this, d, k); }
Tensor Tensor::min() const { return ember::min(*this); }
std::tuple<Tensor, Tensor> Tensor::min(int64_t d, bool k) const { return ember::min(*this, d, k); }
Tensor Tensor::argmax(std::optional<int64_t> d, bool k) const { return ember::argmax(*this, d, k); }
Tensor Tensor::argmin(std::optional<int64_t> d, bool k) const { return ember::argmin(*this, d, k); }
Tensor Tensor::var(bool u) const { return ember::var(*this, {}, u); }
Tensor Tensor::var(const Shape& d, bool u, bool k) const { return ember::var(*this, d, u, k); }
Tensor Tensor::std(bool u) const { return ember::std(*this, {}, u); }
Tensor Tensor::std(const Shape& d, bool u, bool k) const { return ember::std(*this, d, u, k); }
Tensor Tensor::logsumexp(const Shape& d, bool k) const { return ember::logsumexp(*this, d, k); }
Tensor Tensor::norm(const Scalar& p) const { return ember::norm(*this, p); }
Tensor Tensor::norm(const Scalar& p, const Shape& d, bool k) const { return ember::norm(*this, p, d, k); }
Tensor Tensor::softmax(int64_t d) const { return ember::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return ember::log_softmax(*this, d); }

Tensor Tensor::matmul(const Tensor& o) const { return ember::matmul(*this, o); }
Tensor Tensor::mm(const Tensor& o) const { return ember::mm(*this, o); }
Tensor Tensor::bmm(const Tensor& o) const { return ember::bmm(*this, o); }
Tensor Tensor::index_select(int64_t d, const Tensor& i) const { return ember::index_select(*this, d, i); }
Tensor Tensor::gather(int64_t d, const Tensor& i) const { return ember::gather(*this, d, i); }
Tensor Tensor::scatter_add(int64_t d, const Tensor& i, const Tensor& s) const { return ember::scatter_add(*this, d, i, s); }

// ---- operators ----------------------------------------------------------------------------------

Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, b); }
Tensor operator+(const Scalar& a, const Tensor& b) { return add(b, a); }
Tensor operator-(const Scalar& a, const Tensor& b) { return add(neg(b), a); }
Tensor operator*(const Scalar& a, const Tensor& b) { return mul(b, a); }
Tensor operator/(const Scalar& a, const Tensor& b) { return mul(pow(b, -1), a); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, const Scalar& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Scalar& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Scalar& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Scalar& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Scalar& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Scalar& b) { return ge(a, b); }
Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
Tensor operator!(const Tensor& a) { return logical_not(a); }
Tensor& operator+=(Tensor& a, const Tensor& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Tensor& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Tensor& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Tensor& b) { return a.div_(b); }
Tensor& operator+=(Tensor& a, const Scalar& b) { return a.add_(b); }
Tensor& operator-=(Tensor& a, const Scalar& b) { return a.sub_(b); }
Tensor& operator*=(Tensor& a, const Scalar& b) { return a.mul_(b); }
Tensor& operator/=(Tensor& a, const Scalar& b) { return a.div_(b); }

}  // namespace ember
