// End to end: a small MLP learns XOR with plain SGD (p -= lr * grad under NoGradGuard).
#include <doctest/doctest.h>

#include <ember.h>

#include "nn/nn.h"

using namespace ember;

namespace {
// int64 matrix literal (plain braces of ints are ambiguous between the tensor() overloads).
Tensor ids2(std::initializer_list<std::initializer_list<int64_t>> rows) { return tensor(rows); }
}  // namespace
namespace nn = ember::nn;
namespace F = ember::nn::functional;

TEST_CASE("nn train: an MLP learns XOR with manual SGD") {
  manual_seed(42);
  nn::Sequential mlp{std::make_shared<nn::Linear>(2, 8), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(8, 2)};
  Tensor x = tensor({{0.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 0.0f}, {1.0f, 1.0f}});
  Tensor y = tensor({0, 1, 1, 0}).to(kInt64);
  const double lr = 0.5;
  double first = 0, last = 0;
  for (int step = 0; step < 500; ++step) {
    mlp.zero_grad();
    Tensor loss = F::cross_entropy(mlp(x), y);
    loss.backward();
    {
      NoGradGuard g;
      for (Tensor p : mlp.parameters()) p.sub_(p.grad() * lr);
    }
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  CHECK(last < 0.05);
  CHECK(last < first);
  Tensor pred = mlp(x).argmax(1);
  CHECK(equal(pred, y));
}

TEST_CASE("nn train: sparse EmbeddingBag rows update with manual SGD") {
  manual_seed(4);
  nn::EmbeddingBag bag(10, 4, "mean", /*sparse=*/true);
  nn::Linear head(4, 2);
  Tensor ids = ids2({{1, 2}, {3, 4}, {1, 3}, {2, 4}});
  Tensor y = tensor({0, 1, 0, 1}).to(kInt64);
  Tensor before = bag.weight.clone();
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    bag.zero_grad();
    head.zero_grad();
    Tensor loss = F::cross_entropy(head(bag(ids)), y);
    loss.backward();
    NoGradGuard g;
    auto [rows, vals] = nn::sparse_grad(bag.weight);
    Tensor w = bag.weight;
    for (int64_t k = 0; k < rows.numel(); ++k) {
      Tensor r = w.select(0, rows[k].item<int64_t>());
      r.sub_(vals[k] * 0.5);
    }
    for (Tensor p : head.parameters()) p.sub_(p.grad() * 0.5);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  CHECK(last < first * 0.5);
  // Rows never used stay as they were.
  CHECK(equal(bag.weight[0], before[0]));
  CHECK(equal(bag.weight[9], before[9]));
  CHECK(!equal(bag.weight[1], before[1]));
}
