// Losses: values against PyTorch 2.x references (float64), gradcheck, stability at +-1e4.
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
Tensor logits() {
  return tensor({{1.0, 2.0, 0.5}, {0.1, -1.0, 3.0}, {2.0, 2.0, -2.0}, {0.0, 0.5, 1.5}});
}
Tensor class_weight() { return tensor({0.2, 1.0, 3.0}); }
double val(const Tensor& t) { return t.item<double>(); }
void check_values(const Tensor& got, const std::vector<double>& want) {
  Tensor c = got.detach().to(kFloat64).contiguous();
  REQUIRE(c.numel() == static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) CHECK(c.data_ptr<double>()[i] == doctest::Approx(want[i]).epsilon(1e-9));
}
}  // namespace

TEST_CASE("nn loss: cross_entropy values match PyTorch") {
  Tensor L = logits();
  Tensor t = tensor({1, 2, 0, 1}).to(kInt64);
  Tensor ti = tensor({1, 2, 0, -100}).to(kInt64);
  Tensor w = class_weight();
  CHECK(val(F::cross_entropy(L, t)) == doctest::Approx(0.675443777153869).epsilon(1e-9));
  check_values(F::cross_entropy(L, t, {}, -100, "none"),
               {0.4643687841079449, 0.07077421896049133, 0.7022633214390952, 1.464368784107945});
  CHECK(val(F::cross_entropy(L, t, w, -100, "sum")) == doctest::Approx(2.2815128893851826).epsilon(1e-9));
  CHECK(val(F::cross_entropy(L, t, w)) == doctest::Approx(0.4387524787279197).epsilon(1e-9));
  CHECK(val(F::cross_entropy(L, ti, w)) == doctest::Approx(0.19455812030410424).epsilon(1e-9));
  CHECK(val(F::cross_entropy(L, ti, w, -100, "mean", 0.1)) == doctest::Approx(0.3852380746461671).epsilon(1e-9));
  CHECK(val(F::cross_entropy(L, ti, {}, -100, "mean", 0.2)) == doctest::Approx(0.7102465526136216).epsilon(1e-9));
  check_values(F::cross_entropy(L, ti, w, -100, "none", 0.1), {0.6396102021389294, 0.353665448514462, 0.6247242628605105, 0.0});
  // [N, C, d] logits with [N, d] targets.
  Tensor L3 = L.view({2, 2, 3}).permute({0, 2, 1});
  Tensor t3 = ids2({{1, 2}, {0, 1}});
  CHECK(val(F::cross_entropy(L3, t3)) == doctest::Approx(0.675443777153869).epsilon(1e-9));
  Tensor n3 = F::cross_entropy(L3, t3, {}, -100, "none");
  CHECK(n3.sizes() == Shape{2, 2});
  check_values(n3, {0.4643687841079449, 0.07077421896049133, 0.7022633214390952, 1.464368784107945});
  // nll_loss on log_softmax is the same thing.
  CHECK(val(F::nll_loss(L.log_softmax(1), t, w)) == doctest::Approx(0.4387524787279197).epsilon(1e-9));
  nn::CrossEntropyLoss ce(w, -100, "mean", 0.1);
  CHECK(val(ce(L, ti)) == doctest::Approx(0.3852380746461671).epsilon(1e-9));
  CHECK_THROWS_AS(F::cross_entropy(L, tensor({1, 3, 0, 0}).to(kInt64)), Error);
  CHECK_THROWS_AS(F::cross_entropy(L, tensor({1, 2}).to(kInt64)), Error);
  CHECK_THROWS_AS(F::cross_entropy(L, t, {}, -100, "avg"), Error);
}

TEST_CASE("nn loss: binary and regression losses match PyTorch") {
  Tensor x = tensor({-2.0, 0.5, 3.0, 0.0});
  Tensor y = tensor({0.0, 1.0, 1.0, 0.5});
  Tensor bw = tensor({1.0, 2.0, 0.5, 1.0});
  CHECK(val(F::binary_cross_entropy_with_logits(x, y)) == doctest::Approx(0.33568488183919165).epsilon(1e-9));
  CHECK(val(F::binary_cross_entropy_with_logits(x, y, bw, tensor({2.0}), "sum")) ==
        doctest::Approx(3.111544070177059).epsilon(1e-9));
  Tensor p = tensor({0.1, 0.7, 0.99, 0.5});
  CHECK(val(F::binary_cross_entropy(p, y)) == doctest::Approx(0.2913082440025014).epsilon(1e-9));
  CHECK(val(F::binary_cross_entropy(p, y, bw, "sum")) == doctest::Approx(1.5168827520219872).epsilon(1e-9));
  Tensor a = tensor({0.2, -1.5, 3.0, 0.1});
  Tensor b = tensor({0.0, 0.5, 1.0, 0.3});
  CHECK(val(F::mse_loss(a, b)) == doctest::Approx(2.02).epsilon(1e-9));
  CHECK(val(F::l1_loss(a, b)) == doctest::Approx(1.1).epsilon(1e-9));
  CHECK(val(F::smooth_l1_loss(a, b, "mean", 0.5)) == doctest::Approx(0.895).epsilon(1e-9));
  CHECK(val(F::smooth_l1_loss(a, b)) == doctest::Approx(0.76).epsilon(1e-9));
  CHECK(val(nn::MSELoss("sum")(a, b)) == doctest::Approx(8.08).epsilon(1e-9));
  CHECK(val(nn::L1Loss()(a, b)) == doctest::Approx(1.1).epsilon(1e-9));
  CHECK(val(nn::SmoothL1Loss("mean", 0.5)(a, b)) == doctest::Approx(0.895).epsilon(1e-9));
  CHECK(val(nn::BCEWithLogitsLoss()(x, y)) == doctest::Approx(0.33568488183919165).epsilon(1e-9));
  CHECK(val(nn::BCELoss()(p, y)) == doctest::Approx(0.2913082440025014).epsilon(1e-9));
  CHECK(F::mse_loss(a, b, "none").sizes() == Shape{4});
  CHECK_THROWS_AS(F::mse_loss(a, tensor({1.0, 2.0})), Error);
}

TEST_CASE("nn loss: class and element weights are buffers, so Module::to converts and moves them") {
  // As PyTorch's register_buffer: loss.to(kCUDA) must take the weights along, or a GPU forward
  // meets host weights ("Expected all tensors to be on the same device").
  Tensor bw = tensor({1.0, 2.0, 0.5, 1.0}), pw = tensor({2.0});
  nn::BCEWithLogitsLoss bce_logits(bw.clone(), "mean", pw.clone());
  nn::BCELoss bce(bw.clone());
  nn::CrossEntropyLoss ce(class_weight());
  nn::NLLLoss nll(class_weight());
  auto names = [](const nn::Module& m) {
    std::vector<std::string> out;
    for (const auto& [n, b] : m.named_buffers()) out.push_back(n);
    return out;
  };
  CHECK(names(bce_logits) == std::vector<std::string>{"weight", "pos_weight"});
  CHECK(names(bce) == std::vector<std::string>{"weight"});
  CHECK(names(ce) == std::vector<std::string>{"weight"});
  CHECK(names(nll) == std::vector<std::string>{"weight"});
  CHECK(names(nn::BCEWithLogitsLoss()).empty());
  CHECK(names(nn::BCELoss()).empty());
  bce_logits.to(kFloat32);
  bce.to(kFloat32);
  CHECK(bce_logits.weight.dtype() == kFloat32);
  CHECK(bce_logits.pos_weight.dtype() == kFloat32);
  CHECK(bce.weight.dtype() == kFloat32);
  Tensor x = tensor({-2.0, 0.5, 3.0, 0.0}), y = tensor({0.0, 1.0, 1.0, 0.5});
  CHECK(val(bce_logits(x, y)) == doctest::Approx(val(F::binary_cross_entropy_with_logits(x, y, bw, pw))).epsilon(1e-6));
}

TEST_CASE("nn loss: finite at logits of +-1e4") {
  Tensor big = tensor({{1e4, -1e4, 0.0}, {-1e4, 1e4, 0.0}}).requires_grad_(true);
  Tensor l = F::cross_entropy(big, tensor({1, 1}).to(kInt64));
  CHECK(val(l) == doctest::Approx(10000.0));
  l.backward();
  check_values(big.grad(), {0.5, -0.5, 0.0, 0.0, 0.0, 0.0});
  Tensor xb = tensor({1e4, -1e4}).requires_grad_(true);
  Tensor lb = F::binary_cross_entropy_with_logits(xb, zeros({2}, kFloat64));
  CHECK(val(lb) == doctest::Approx(5000.0));
  lb.backward();
  check_values(xb.grad(), {0.5, 0.0});
  // float32 too.
  Tensor xf = tensor({1e4f, -1e4f, 3.0f}).requires_grad_(true);
  Tensor lf = F::binary_cross_entropy_with_logits(xf, tensor({0.0f, 1.0f, 1.0f}), {}, tensor({3.0f}));
  lf.backward();
  CHECK(std::isfinite(val(lf)));
  for (double g : std::vector<double>{xf.grad()[0].item<double>(), xf.grad()[1].item<double>()})
    CHECK(std::isfinite(g));
}

TEST_CASE("nn loss: gradcheck of every loss") {
  manual_seed(5);
  Tensor L = randn({4, 3}, kFloat64).requires_grad_(true);
  Tensor ti = tensor({1, 2, 0, -100}).to(kInt64);
  Tensor w = class_weight();
  auto gc = [](const std::function<Tensor(const Tensor&)>& f, const Tensor& x) {
    return autograd::gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); }, {x});
  };
  for (const char* red : {"none", "mean", "sum"}) {
    CAPTURE(red);
    CHECK(gc([&](const Tensor& x) { return F::cross_entropy(x, ti, w, -100, red, 0.1); }, L));
    CHECK(gc([&](const Tensor& x) { return F::nll_loss(x.log_softmax(1), ti, w, -100, red); }, L));
  }
  Tensor L3 = randn({2, 3, 4}, kFloat64).requires_grad_(true);
  Tensor t3 = ids2({{0, 1, 2, 1}, {2, 2, 0, -100}});
  CHECK(gc([&](const Tensor& x) { return F::cross_entropy(x, t3); }, L3));
  Tensor x = randn({3, 4}, kFloat64).requires_grad_(true);
  Tensor y = rand({3, 4}, kFloat64);
  Tensor pw = tensor({1.0, 2.0, 0.5, 3.0});
  CHECK(gc([&](const Tensor& v) { return F::binary_cross_entropy_with_logits(v, y, y + 0.5, pw); }, x));
  Tensor p = (rand({3, 4}, kFloat64) * 0.8 + 0.1).requires_grad_(true);
  CHECK(gc([&](const Tensor& v) { return F::binary_cross_entropy(v, y); }, p));
  Tensor tgt = randn({3, 4}, kFloat64);
  CHECK(gc([&](const Tensor& v) { return F::mse_loss(v, tgt); }, x));
  CHECK(gc([&](const Tensor& v) { return F::l1_loss(v, tgt, "sum"); }, x));
  CHECK(gc([&](const Tensor& v) { return F::smooth_l1_loss(v, tgt, "mean", 0.7); }, x));
}
