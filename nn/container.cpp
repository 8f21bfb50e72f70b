#include "nn/container.h"

#include <string>

#include "tensor/error.h"

namespace ember::nn {

Sequential::Sequential(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

void Sequential::push_back(std::shared_ptr<Module> m) { push_back(std::to_string(children_.size()), std::move(m)); }

void Sequential::push_back(const std::string& name, std::shared_ptr<Module> m) { register_module(name, std::move(m)); }

std::shared_ptr<Module> Sequential::operator[](size_t i) const {
  EMBER_CHECK(i < children_.size(), "Sequential", "index ", i, " is out of range for ", children_.size(), " modules");
  return children_[i].second;
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& [n, m] : children_) y = m->forward(y);
  return y;
}

std::shared_ptr<Module> Sequential::clone() const {
  auto copy = std::make_shared<Sequential>();
  for (const auto& [n, m] : children_) copy->push_back(n, m->clone());
  copy->train(is_training());
  return copy;
}

ModuleList::ModuleList(std::initializer_list<std::shared_ptr<Module>> modules) {
  for (const auto& m : modules) push_back(m);
}

void ModuleList::push_back(std::shared_ptr<Module> m) { register_module(std::to_string(children_.size()), std::move(m)); }

std::shared_ptr<Module> ModuleList::operator[](size_t i) const {
  EMBER_CHECK(i < children_.size(), "ModuleList", "index ", i, " is out of range for ", children_.size(), " modules");
  return children_[i].second;
}

std::shared_ptr<Module> ModuleList::clone() const {
  auto copy = std::make_shared<ModuleList>();
  for (const auto& [n, m] : children_) copy->push_back(m->clone());
  copy->train(is_training());
  return copy;
}

}  // namespace ember::nn
