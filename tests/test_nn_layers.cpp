// nn layers: gradcheck (float64) of every layer, non-contiguous inputs, init, Dropout.
#include <doctest/doctest.h>

#include <cmath>

#include <ember.h>

#include "nn/nn.h"

using namespace ember;

namespace {
// int64 matrix literal (plain braces of ints are ambiguous between the tensor() overloads).
Tensor ids2(std::initializer_list<std::initializer_list<int64_t>> rows) { return tensor(rows); }
}  // namespace
namespace nn = ember::nn;
namespace F = ember::nn::functional;

namespace {
// gradcheck of m(x) with respect to x and every parameter of m (perturbed in place).
bool module_gradcheck(nn::Module& m, const Tensor& x, const std::function<Tensor(const Tensor&)>& f = {}) {
  std::vector<Tensor> inputs{x};
  for (const Tensor& p : m.parameters()) inputs.push_back(p);
  return autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return f ? f(in[0]) : m(in[0]); }, inputs);
}
Tensor rand64(const Shape& s) { return randn(s, kFloat64).requires_grad_(true); }
}  // namespace

TEST_CASE("nn layers: Linear forward, init bounds and gradcheck") {
  manual_seed(0);
  nn::Linear fc(5, 3);
  CHECK(fc.weight.sizes() == Shape{3, 5});
  double bound = 1.0 / std::sqrt(5.0);
  CHECK(fc.weight.abs().max().item<double>() <= bound);
  CHECK(fc.bias.abs().max().item<double>() <= bound);
  Tensor x = randn({2, 5});
  Tensor want = mm(x, fc.weight.t()) + fc.bias;
  CHECK(allclose(fc(x), want, 1e-5, 1e-6));
  // Leading dims fold: [2, 4, 5] -> [2, 4, 3].
  CHECK(fc(randn({2, 4, 5})).sizes() == Shape{2, 4, 3});
  fc.to(kFloat64);
  CHECK(module_gradcheck(fc, rand64({3, 5})));
  nn::Linear nb(4, 2, false);
  CHECK(!nb.bias.defined());
  CHECK(nb.parameters().size() == 1);
  nb.to(kFloat64);
  CHECK(module_gradcheck(nb, rand64({2, 3, 4})));
  CHECK_THROWS_AS(fc(randn({2, 4}, kFloat64)), Error);
}

TEST_CASE("nn layers: Conv1d matches a direct loop and passes gradcheck") {
  manual_seed(1);
  struct Cfg {
    int64_t k, stride, padding, dilation;
    bool bias;
  };
  for (Cfg c : {Cfg{3, 1, 0, 1, true}, Cfg{3, 2, 1, 1, true}, Cfg{2, 1, 2, 2, false}, Cfg{3, 3, 1, 2, true}}) {
    CAPTURE(c.k);
    CAPTURE(c.stride);
    CAPTURE(c.padding);
    CAPTURE(c.dilation);
    nn::Conv1d conv(2, 3, c.k, c.stride, c.padding, c.dilation, c.bias);
    conv.to(kFloat64);
    Tensor x = randn({2, 2, 7}, kFloat64);
    Tensor y = conv(x);
    const int64_t L = 7, lout = (L + 2 * c.padding - c.dilation * (c.k - 1) - 1) / c.stride + 1;
    REQUIRE(y.sizes() == Shape{2, 3, lout});
    Tensor xc = x.contiguous(), wc = conv.weight.detach().contiguous(), yc = y.contiguous();
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t o = 0; o < 3; ++o)
        for (int64_t t = 0; t < lout; ++t) {
          double acc = c.bias ? conv.bias.detach().contiguous().data_ptr<double>()[o] : 0.0;
          for (int64_t i = 0; i < 2; ++i)
            for (int64_t j = 0; j < c.k; ++j) {
              int64_t pos = t * c.stride + j * c.dilation - c.padding;
              if (pos < 0 || pos >= L) continue;
              acc += wc.data_ptr<double>()[(o * 2 + i) * c.k + j] * xc.data_ptr<double>()[(b * 2 + i) * L + pos];
            }
          CHECK(yc.data_ptr<double>()[(b * 3 + o) * lout + t] == doctest::Approx(acc));
        }
    CHECK(module_gradcheck(conv, rand64({2, 2, 7})));
  }
  nn::Conv1d conv(2, 3, 3);
  CHECK(conv.weight.abs().max().item<double>() <= 1.0 / std::sqrt(6.0));
  CHECK(conv(randn({2, 5})).sizes() == Shape{3, 3});  // unbatched
  CHECK_THROWS_AS(conv(randn({1, 3, 5})), Error);
}

TEST_CASE("nn layers: pooling values and gradcheck") {
  Tensor x = tensor({1.0, 5.0, 2.0, 4.0, 3.0, 0.0, 7.0}).view({1, 1, 7});
  CHECK(equal(nn::MaxPool1d(2)(x), tensor({5.0, 4.0, 3.0}).view({1, 1, 3})));
  CHECK(equal(nn::MaxPool1d(3, 2, 1)(x), tensor({5.0, 5.0, 4.0, 7.0}).view({1, 1, 4})));
  CHECK(equal(nn::AdaptiveMaxPool1d(3)(x), tensor({5.0, 4.0, 7.0}).view({1, 1, 3})));
  // Windows [0,3) [2,5) [4,7).
  CHECK(allclose(nn::AdaptiveAvgPool1d(3)(x), tensor({8.0 / 3, 3.0, 10.0 / 3}).view({1, 1, 3})));
  CHECK(allclose(nn::AdaptiveAvgPool1d(1)(x), x.mean({-1}, true)));
  Tensor r = rand64({2, 3, 7});
  nn::MaxPool1d mp(3, 2, 1);
  CHECK(module_gradcheck(mp, r));
  nn::AdaptiveMaxPool1d amp(3);
  CHECK(module_gradcheck(amp, r));
  nn::AdaptiveAvgPool1d aap(4);
  CHECK(module_gradcheck(aap, r));
}

TEST_CASE("nn layers: LayerNorm values and gradcheck") {
  nn::LayerNorm ln({4});
  Tensor x = tensor({{1.0, 2.0, 3.0, 4.0}, {2.0, 2.0, 2.0, 6.0}});
  Tensor y = ln(x);
  // Row 0: mean 2.5, var 1.25.
  CHECK(y[0][0].item<double>() == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-5)));
  CHECK(allclose(y.mean({-1}), zeros({2}), 1e-5, 1e-6));
  ln.to(kFloat64);
  {
    NoGradGuard g;
    ln.weight.copy_(tensor({0.5, 1.0, 1.5, 2.0}));
    ln.bias.copy_(tensor({0.1, -0.1, 0.2, 0.0}));
  }
  CHECK(module_gradcheck(ln, rand64({3, 4})));
  nn::LayerNorm ln2({2, 3}, 1e-5, false);
  CHECK(ln2.parameters().empty());
  CHECK(module_gradcheck(ln2, rand64({2, 2, 3})));
}

TEST_CASE("nn layers: activations and Softmax gradcheck") {
  Tensor x = rand64({3, 4});
  nn::ReLU relu;
  nn::GELU gelu, gelu_t("tanh");
  nn::Tanh tanh_m;
  nn::Sigmoid sig;
  nn::SiLU silu;
  nn::Softmax sm(1);
  for (nn::Module* m : std::vector<nn::Module*>{&relu, &gelu, &gelu_t, &tanh_m, &sig, &silu, &sm}) {
    CAPTURE(m->name());
    CHECK(module_gradcheck(*m, x));
  }
  CHECK(allclose(sm(x).sum({1}), ones({3}, kFloat64)));
  CHECK(allclose(relu(x), x.clamp(0.0)));
}

TEST_CASE("nn layers: Dropout train/eval") {
  manual_seed(7);
  nn::Dropout d(0.3);
  Tensor x = ones({200, 100});
  Tensor y = d(x);
  Tensor zero = (y == 0).to(kFloat64).mean();
  CHECK(zero.item<double>() == doctest::Approx(0.3).epsilon(0.05));
  Tensor kept = y.masked_fill(y == 0, 1.0 / 0.7);
  CHECK(allclose(kept, full({200, 100}, 1.0 / 0.7), 1e-5, 1e-6));  // survivors scaled by 1/(1-p)
  d.eval();
  CHECK(d(x).is_same(x));
  d.train();
  Tensor g = rand64({4, 5});
  // With a fixed seed per evaluation, the mask is the same and gradcheck applies.
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        manual_seed(3);
        return d(in[0]);
      },
      {g}));
  CHECK(equal(nn::Dropout(1.0)(x), zeros({200, 100})));
  CHECK_THROWS_AS(nn::Dropout(1.5), Error);
}

TEST_CASE("nn layers: modules on non-contiguous inputs") {
  manual_seed(3);
  nn::Linear fc(4, 3);
  nn::Conv1d conv(4, 2, 3, 1, 1);
  nn::LayerNorm ln({4});
  nn::MultiheadAttention mha(4, 2);
  Tensor base = randn({6, 4, 5});
  Tensor xt = base.transpose(1, 2);  // [6, 5, 4], non-contiguous
  REQUIRE(!xt.is_contiguous());
  CHECK(allclose(fc(xt), fc(xt.contiguous()), 1e-5, 1e-6));
  CHECK(allclose(ln(xt), ln(xt.contiguous()), 1e-5, 1e-6));
  Tensor xs = base.slice(0, 0, 6, 2);  // [3, 4, 5], every other batch
  CHECK(allclose(conv(xs), conv(xs.contiguous()), 1e-5, 1e-6));
  CHECK(allclose(conv(xt.transpose(1, 2)), conv(base), 1e-5, 1e-6));
  CHECK(allclose(mha(xt), mha(xt.contiguous()), 1e-5, 1e-6));
  Tensor ids = ids2({{1, 2, 3}, {4, 5, 6}}).t();  // [3, 2] non-contiguous
  nn::Embedding emb(8, 3);
  CHECK(equal(emb(ids), emb(ids.contiguous())));
  nn::EmbeddingBag bag(8, 3, "sum");
  CHECK(allclose(bag(ids), bag(ids.contiguous())));
  // Gradients reach a transposed input.
  Tensor xg = randn({5, 4}).requires_grad_(true);
  fc(xg.t().t()).sum().backward();
  CHECK(xg.grad().sizes() == Shape{5, 4});
}

TEST_CASE("nn layers: init functions") {
  manual_seed(11);
  Tensor w = empty({64, 32});
  nn::init::xavier_uniform_(w);
  double b = std::sqrt(6.0 / 96.0);
  CHECK(w.abs().max().item<double>() <= b);
  CHECK(w.abs().max().item<double>() > 0.9 * b);
  nn::init::kaiming_uniform_(w, 0, nn::init::FanMode::FanIn, "relu");
  CHECK(w.abs().max().item<double>() <= std::sqrt(6.0 / 32.0));
  nn::init::kaiming_normal_(w, 0, nn::init::FanMode::FanOut, "relu");
  CHECK(w.std().item<double>() == doctest::Approx(std::sqrt(2.0 / 64.0)).epsilon(0.1));
  nn::init::xavier_normal_(w);
  CHECK(w.std().item<double>() == doctest::Approx(std::sqrt(2.0 / 96.0)).epsilon(0.1));
  nn::init::normal_(w, 2.0, 0.5);
  CHECK(w.mean().item<double>() == doctest::Approx(2.0).epsilon(0.05));
  nn::init::constant_(w, 0.25);
  CHECK(equal(w, full({64, 32}, 0.25)));
  nn::init::zeros_(w);
  CHECK(w.abs().sum().item<double>() == 0);
  nn::init::ones_(w);
  CHECK(w.sum().item<double>() == 64 * 32);
  nn::init::uniform_(w, -0.1, 0.1);
  CHECK(w.abs().max().item<double>() <= 0.1);
  // Works on a parameter that requires grad, keeping it a leaf.
  nn::Linear fc(3, 3);
  nn::init::zeros_(fc.weight);
  CHECK(fc.weight.is_leaf());
  CHECK(fc.weight.requires_grad());
  CHECK(nn::init::calculate_gain("tanh") == doctest::Approx(5.0 / 3));
  CHECK_THROWS_AS(nn::init::xavier_uniform_(fc.bias), Error);
  // Seeded: same seed, same numbers.
  manual_seed(5);
  nn::Linear a(4, 4);
  manual_seed(5);
  nn::Linear c(4, 4);
  CHECK(equal(a.weight, c.weight));
}

TEST_CASE("nn layers: Sequential and ModuleList") {
  manual_seed(2);
  nn::Sequential seq;
  seq.push_back(std::make_shared<nn::Linear>(3, 4));
  seq.push_back(std::make_shared<nn::Tanh>());
  seq.push_back(std::make_shared<nn::Linear>(4, 2));
  CHECK(seq.size() == 3);
  Tensor x = randn({5, 3});
  Tensor want = seq.at<nn::Linear>(2)->forward(seq[1]->forward(seq.at<nn::Linear>(0)->forward(x)));
  CHECK(allclose(seq(x), want));
  CHECK(seq.named_parameters()[2].first == "2.weight");
  CHECK(seq.at<nn::Tanh>(0) == nullptr);
  CHECK_THROWS_AS(seq[3], Error);
  auto copy = std::dynamic_pointer_cast<nn::Sequential>(seq.clone());
  REQUIRE(copy);
  CHECK(allclose((*copy)(x), seq(x)));
  CHECK(!copy->parameters()[0].is_same(seq.parameters()[0]));
  nn::ModuleList list{std::make_shared<nn::Linear>(2, 2), std::make_shared<nn::Linear>(2, 2)};
  CHECK(list.size() == 2);
  CHECK(list.parameters().size() == 4);
  CHECK_THROWS_AS(list(x), Error);
  seq.to(kFloat64);
  CHECK(module_gradcheck(seq, rand64({2, 3})));
}
