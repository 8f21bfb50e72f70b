#pragma once
// Activation modules (stateless wrappers of nn::functional).
#include <string>

#include "nn/module.h"

namespace ember::nn {

class ReLU : public Cloneable<ReLU> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& x) override;
};

/// approximate: "none" (erf) or "tanh".
class GELU : public Cloneable<GELU> {
 public:
  explicit GELU(std::string approximate = "none") : approximate(std::move(approximate)) {}
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "approximate='" + approximate + "'"; }
  std::string approximate;
};

class Tanh : public Cloneable<Tanh> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& x) override;
};

class Sigmoid : public Cloneable<Sigmoid> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& x) override;
};

class SiLU : public Cloneable<SiLU> {
 public:
  void reset() override {}
  Tensor forward(const Tensor& x) override;
};

/// softmax along dim.
class Softmax : public Cloneable<Softmax> {
 public:
  explicit Softmax(int64_t dim) : dim(dim) {}
  void reset() override {}
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override { return "dim=" + std::to_string(dim); }
  int64_t dim;
};

}  // namespace ember::nn
