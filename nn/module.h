#pragma once
// nn::Module: the base of every layer. A module owns named parameters, buffers and child
// modules (registered in order), and offers PyTorch's recursive helpers over them.
//
// Members such as Linear::weight are plain Tensor handles that alias the registered entry
// (same TensorImpl), so code can write `fc.weight` while parameters()/state_dict() see the
// same tensor. Module::to() therefore converts parameters *in place* (it swaps the data under
// the TensorImpl, as PyTorch's `param.data = ...`), so every handle follows.
#include <iosfwd>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace ember::nn {

/// state_dict(): an ordered list of (dotted name, tensor): for each module its parameters,
/// then its buffers, then its children's entries, recursively (PyTorch's order). Tensors are detached aliases of the
/// module's data; io/ saves and loads this type.
using StateDict = std::vector<std::pair<std::string, Tensor>>;

class Module : public std::enable_shared_from_this<Module> {
 public:
  Module() = default;
  virtual ~Module() = default;
  Module(const Module&) = default;
  Module& operator=(const Module&) = default;

  /// The single-tensor forward used by operator() and Sequential; layers override it.
  virtual Tensor forward(const Tensor& x);
  /// Calls forward(x), like calling a torch module.
  Tensor operator()(const Tensor& x) { return forward(x); }

  /// Registers (or replaces) a parameter; it becomes a leaf with requires_grad as given.
  Tensor register_parameter(const std::string& name, Tensor t, bool requires_grad = true);
  /// Registers (or replaces) a buffer: state that is saved but not trained.
  Tensor register_buffer(const std::string& name, Tensor t);
  /// Registers (or replaces) a child module; returns it so members can keep a typed pointer.
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    register_module_impl(name, m);
    return m;
  }

  /// All parameters, this module's first, then each child's (recursive).
  std::vector<Tensor> parameters(bool recurse = true) const;
  /// The same with dotted names ("encoder.fc1.weight").
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  /// The direct children, in registration order.
  std::vector<std::shared_ptr<Module>> children() const;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_children() const;
  /// This module and every descendant, depth first (this one first).
  std::vector<std::shared_ptr<Module>> modules();
  /// The same with dotted names ("" for this module).
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules();

  /// Training mode (Dropout drops); recursive. eval() is train(false).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  /// Clears every parameter's gradient (to undefined, or to zeros when set_to_none is false)
  /// and its row-sparse gradient (see nn/sparse_grad.h).
  void zero_grad(bool set_to_none = true);

  /// Moves / converts every parameter and buffer in place (requires_grad is kept).
  void to(Device device);
  void to(ScalarType dtype);

  /// Parameters and buffers by dotted name (see StateDict).
  StateDict state_dict() const;
  /// Copies values in by name. strict: every key must match (missing/unexpected keys throw);
  /// a shape mismatch always throws, naming the key and both shapes.
  void load_state_dict(const StateDict& dict, bool strict = true);

  /// The type name printed by operator<< ("Linear"); defaults to the demangled class name.
  virtual std::string name() const;
  /// The part inside the parentheses ("in_features=4, out_features=3, bias=true").
  virtual std::string extra_repr() const { return ""; }
  /// A deep copy (fresh parameters with equal values). Layers derived from Cloneable<T>
  /// support it; other modules throw.
  virtual std::shared_ptr<Module> clone() const;

  /// Prints the module tree with `indent` spaces before nested lines.
  void pretty_print(std::ostream& os, int indent = 0) const;

 protected:
  void register_module_impl(const std::string& name, std::shared_ptr<Module> m);
  /// Drops every registration (Cloneable uses it before re-running reset()).
  void clear_registrations();
  /// Copies parameter and buffer values from other (same structure) without autograd.
  void copy_state_from(const Module& other);
  /// state_dict() order, but the live (not detached) tensors.
  StateDict state_tensors() const;

  bool training_ = true;
  std::vector<std::pair<std::string, Tensor>> parameters_;
  std::vector<std::pair<std::string, Tensor>> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

/// Derive a layer from Cloneable<Layer> and put all registration in reset() (called by the
/// constructor) to get clone(): copy the options, re-run reset(), copy the values.
template <class Derived>
class Cloneable : public Module {
 public:
  /// (Re)creates and registers every parameter, buffer and child module.
  virtual void reset() = 0;
  std::shared_ptr<Module> clone() const override {
    auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
    copy->clear_registrations();
    copy->reset();
    copy->copy_state_from(*this);
    copy->train(this->is_training());
    return copy;
  }
};

/// Prints the module tree like PyTorch.
std::ostream& operator<<(std::ostream& os, const Module& m);

}  // namespace ember::nn
