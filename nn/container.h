#pragma once
// Sequential and ModuleList: ordered children named "0", "1", ...
#include <initializer_list>
#include <memory>

#include "nn/module.h"

namespace ember::nn {

/// Runs its children in order, each on the previous one's output.
class Sequential : public Module {
 public:
  Sequential() = default;
  Sequential(std::initializer_list<std::shared_ptr<Module>> modules);
  /// Appends m under the next index as name.
  void push_back(std::shared_ptr<Module> m);
  /// Appends m under the given name.
  void push_back(const std::string& name, std::shared_ptr<Module> m);
  /// The i-th child.
  std::shared_ptr<Module> operator[](size_t i) const;
  /// The i-th child as type M (null when it is not an M).
  template <class M>
  std::shared_ptr<M> at(size_t i) const { return std::dynamic_pointer_cast<M>((*this)[i]); }
  size_t size() const { return children_.size(); }
  bool empty() const { return children_.empty(); }
  Tensor forward(const Tensor& x) override;
  std::shared_ptr<Module> clone() const override;
};

/// A list of modules (registered, so their parameters are the owner's); no forward.
class ModuleList : public Module {
 public:
  ModuleList() = default;
  ModuleList(std::initializer_list<std::shared_ptr<Module>> modules);
  void push_back(std::shared_ptr<Module> m);
  std::shared_ptr<Module> operator[](size_t i) const;
  template <class M>
  std::shared_ptr<M> at(size_t i) const { return std::dynamic_pointer_cast<M>((*this)[i]); }
  size_t size() const { return children_.size(); }
  bool empty() const { return children_.empty(); }
  std::shared_ptr<Module> clone() const override;
};

}  // namespace ember::nn
