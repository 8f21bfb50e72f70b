// nn::Module: registration, recursive traversal, modes, device/dtype moves, state dicts.
#include "nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <ostream>
#include <sstream>
#include <typeinfo>
#include <unordered_map>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn {
namespace {

template <class V>
void put(std::vector<std::pair<std::string, V>>& list, const std::string& name, V value) {
  for (auto& [n, v] : list)
    if (n == name) {
      v = std::move(value);
      return;
    }
  list.emplace_back(name, std::move(value));
}

void check_name(const std::string& name, const char* op) {
  EMBER_CHECK(!name.empty() && name.find('.') == std::string::npos, op, "name must be non-empty and contain no '.', got \"",
              name, "\"");
}

// Swaps the data under t's TensorImpl for src's, so that every handle on t sees src's values,
// dtype and device (PyTorch's `param.data = src`). The autograd meta stays: t remains the
// same leaf, with the same requires_grad.
void set_data(const Tensor& t, const Tensor& src) {
  TensorImpl* dst = t.impl();
  const TensorImpl* s = src.impl();
  dst->storage = s->storage;
  dst->sizes = s->sizes;
  dst->strides = s->strides;
  dst->offset = s->offset;
  dst->dtype = s->dtype;
  dst->refresh();
  if (auto* m = autograd::maybe_meta(t)) {
    // The accumulator records the old dtype/device; a fresh one is made on next use.
    m->grad_accumulator.reset();
    if (m->grad.defined()) m->grad = m->grad.to(TensorOptions().dtype(s->dtype).device(s->storage->device()));
    if (m->sparse_grad_values.defined()) {
      m->sparse_grad_values = m->sparse_grad_values.to(TensorOptions().dtype(s->dtype).device(s->storage->device()));
      m->sparse_grad_indices = m->sparse_grad_indices.to(s->storage->device());
    }
  }
}

std::string demangle(const char* mangled) {
  int status = 0;
  char* out = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string s = status == 0 && out ? out : mangled;
  std::free(out);
  // Drop namespaces and template arguments: "ember::nn::Linear" -> "Linear".
  auto lt = s.find('<');
  if (lt != std::string::npos) s = s.substr(0, lt);
  auto colon = s.rfind("::");
  if (colon != std::string::npos) s = s.substr(colon + 2);
  return s;
}

}  // namespace

Tensor Module::forward(const Tensor&) {
  detail::throw_error(name().c_str(), "this module has no single-tensor forward(x); call its own forward");
}

Tensor Module::register_parameter(const std::string& name, Tensor t, bool requires_grad) {
  check_name(name, "register_parameter");
  EMBER_CHECK(t.defined(), "register_parameter", "parameter \"", name, "\" is undefined");
  // A parameter is a leaf: cut any history the initializer recorded.
  if (!t.is_leaf()) t = t.detach();
  t.requires_grad_(requires_grad && t.is_floating_point());
  put(parameters_, name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_name(name, "register_buffer");
  put(buffers_, name, t);
  return t;
}

void Module::register_module_impl(const std::string& name, std::shared_ptr<Module> m) {
  check_name(name, "register_module");
  EMBER_CHECK(m != nullptr, "register_module", "module \"", name, "\" is null");
  put(children_, name, std::move(m));
}

void Module::clear_registrations() {
  parameters_.clear();
  buffers_.clear();
  children_.clear();
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out(parameters_.begin(), parameters_.end());
  if (recurse)
    for (const auto& [cname, child] : children_)
      for (auto& [n, p] : child->named_parameters(true)) out.emplace_back(cname + "." + n, p);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, p] : named_parameters(recurse)) out.push_back(p);
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
  std::vector<std::pair<std::string, Tensor>> out(buffers_.begin(), buffers_.end());
  if (recurse)
    for (const auto& [cname, child] : children_)
      for (auto& [n, b] : child->named_buffers(true)) out.emplace_back(cname + "." + n, b);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [n, b] : named_buffers(recurse)) out.push_back(b);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [n, c] : children_) out.push_back(c);
  return out;
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_children() const { return children_; }

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  // A module held by value (not through make_shared) has no shared_ptr to give out: alias it.
  std::shared_ptr<Module> self = weak_from_this().lock();
  if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
  out.emplace_back("", self);
  for (const auto& [cname, child] : children_)
    for (auto& [n, m] : child->named_modules()) out.emplace_back(n.empty() ? cname : cname + "." + n, m);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules() {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [n, m] : named_modules()) out.push_back(m);
  return out;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

void Module::zero_grad(bool set_to_none) {
  for (const Tensor& p : parameters()) {
    auto* m = autograd::maybe_meta(p);
    if (m == nullptr) continue;
    if (m->grad.defined()) {
      if (set_to_none) {
        m->grad = Tensor();
      } else {
        NoGradGuard g;
        m->grad = m->grad.detach();
        m->grad.zero_();
      }
    }
    m->sparse_grad_indices = Tensor();
    m->sparse_grad_values = Tensor();
  }
}

void Module::to(Device device) {
  NoGradGuard g;
  for (const Tensor& p : parameters()) set_data(p, p.detach().to(device));
  for (const Tensor& b : buffers())
    if (b.defined()) set_data(b, b.to(device));
}

void Module::to(ScalarType dtype) {
  NoGradGuard g;
  // Only floating tensors change dtype, as in PyTorch (index buffers stay int64).
  for (const Tensor& p : parameters())
    if (p.is_floating_point()) set_data(p, p.detach().to(dtype));
  for (const Tensor& b : buffers())
    if (b.defined() && b.is_floating_point()) set_data(b, b.to(dtype));
}

StateDict Module::state_dict() const {
  StateDict out = state_tensors();
  for (auto& [n, t] : out) t = t.detach();
  return out;
}

void Module::load_state_dict(const StateDict& dict, bool strict) {
  std::unordered_map<std::string, const Tensor*> given;
  for (const auto& [n, t] : dict) given[n] = &t;
  StateDict own = state_dict();
  std::unordered_map<std::string, bool> known;
  std::vector<std::pair<const Tensor*, const Tensor*>> copies;
  for (const auto& [n, t] : own) {
    known[n] = true;
    auto it = given.find(n);
    if (it == given.end()) {
      EMBER_CHECK(!strict, "load_state_dict", "missing key \"", n, "\" (expected shape ", shape_text(t.sizes()), ")");
      continue;
    }
    const Tensor& src = *it->second;
    EMBER_CHECK(src.defined(), "load_state_dict", "key \"", n, "\" holds an undefined tensor");
    EMBER_CHECK(src.sizes() == t.sizes(), "load_state_dict", "size mismatch for \"", n, "\": copying a param with shape ",
                shape_text(src.sizes()), " from checkpoint, the shape in current model is ", shape_text(t.sizes()));
    copies.emplace_back(&t, &src);
  }
  if (strict)
    for (const auto& [n, t] : dict)
      EMBER_CHECK(known.count(n), "load_state_dict", "unexpected key \"", n, "\" (shape ", shape_text(t.sizes()),
                  ") in state_dict");
  // Validate everything before writing anything, so a failed load leaves the module intact.
  NoGradGuard g;
  for (auto& [dst, src] : copies) {
    Tensor d = *dst;
    d.copy_(*src);
  }
}

std::string Module::name() const { return demangle(typeid(*this).name()); }

std::shared_ptr<Module> Module::clone() const {
  detail::throw_error("clone", name(), " does not support clone(); derive it from nn::Cloneable<", name(),
                      "> and register its parts in reset()");
}

StateDict Module::state_tensors() const {
  StateDict out(parameters_.begin(), parameters_.end());
  for (const auto& [n, b] : buffers_)
    if (b.defined()) out.emplace_back(n, b);
  for (const auto& [cname, child] : children_)
    for (auto& [n, t] : child->state_tensors()) out.emplace_back(cname + "." + n, t);
  return out;
}

void Module::copy_state_from(const Module& other) {
  // The live tensors (not state_dict's detached aliases): set_data must reach the
  // TensorImpl that the members hold.
  StateDict src = other.state_tensors();
  StateDict dst = state_tensors();
  EMBER_CHECK(src.size() == dst.size(), "clone", "structure mismatch: ", src.size(), " vs ", dst.size(), " tensors");
  NoGradGuard g;
  for (size_t i = 0; i < src.size(); ++i) {
    // Match dtype/device first (the source may have been converted with to()).
    set_data(dst[i].second, src[i].second.detach().clone());
  }
}

void Module::pretty_print(std::ostream& os, int indent) const {
  os << name() << "(";
  std::string extra = extra_repr();
  if (children_.empty()) {
    os << extra << ")";
    return;
  }
  std::string pad(static_cast<size_t>(indent) + 2, ' ');
  os << "\n";
  if (!extra.empty()) os << pad << extra << "\n";
  for (const auto& [n, c] : children_) {
    os << pad << "(" << n << "): ";
    c->pretty_print(os, indent + 2);
    os << "\n";
  }
  os << std::string(static_cast<size_t>(indent), ' ') << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) {
  m.pretty_print(os, 0);
  return os;
}

}  // namespace ember::nn
