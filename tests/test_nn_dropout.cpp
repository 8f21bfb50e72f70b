// Fused dropout (nn/dropout_op.cpp, kernels/cpu/dropout.cpp): its masks are those of the old
// composed formula for the same seed, the mask statistics and scale, the gradient (the same
// mask, redrawn), first and second derivatives, strided inputs, the edge cases and errors.
#include <cmath>
#include <string>

#include "nn/dropout_op.h"
#include "nn/functional.h"
#include "test_util.h"

using namespace ember;
namespace F = ember::nn::functional;

namespace {

/// The composed formula dropout used before it was fused: rand, compare, cast, scale, multiply.
Tensor composed_dropout(const Tensor& x, double p) {
  Tensor keep = (rand(x.sizes(), TensorOptions(x.dtype())) >= p).to(x.dtype()) * (1.0 / (1.0 - p));
  return x * keep;
}

/// Exactly the same values (NaN where the other has NaN; float32 widens to double exactly).
void check_identical(const Tensor& got, const Tensor& want, const std::string& what) {
  REQUIRE(got.sizes() == want.sizes());
  REQUIRE(got.dtype() == want.dtype());
  test::check_close(test::values(got), test::values(want), 0, 0, what);
}

/// 1 where the element was kept, 0 where dropped (x must have no zeros).
Tensor mask_of(const Tensor& y) { return (y != 0).to(kFloat64); }

}  // namespace

TEST_CASE("nn dropout: masks equal the composed formula's for a seed, and the stream advances alike") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    for (double p : {0.1, 0.5, 0.9, 1e-6, 1 - 1e-6}) {
      for (const Shape& shape : {Shape{}, Shape{1}, Shape{7}, Shape{33, 17}, Shape{3, 4, 5}}) {
        std::string what = std::string(dtype_name(dt)) + " p=" + std::to_string(p) + " shape " +
                           std::to_string(shape.size()) + "-d";
        Tensor x = test::uniform(shape, -2, 2, dt);
        manual_seed(11);
        Tensor fused = F::dropout(x, p, true);
        Tensor next_fused = rand({5}, dt);
        manual_seed(11);
        Tensor old = composed_dropout(x, p);
        Tensor next_old = rand({5}, dt);
        check_identical(fused, old, what);
        check_identical(next_fused, next_old, "the draw after dropout, " + what);
      }
    }
  }
  // NaN and infinity are multiplied by the mask, not selected away, as in the composed formula.
  Tensor special = tensor({NAN, INFINITY, -INFINITY, -0.0, 1.0, NAN, INFINITY, 2.0});
  manual_seed(2);
  Tensor fused = F::dropout(special, 0.5, true);
  manual_seed(2);
  check_identical(fused, composed_dropout(special, 0.5), "NaN and inf inputs");
}

TEST_CASE("nn dropout: the fraction dropped is p and survivors are scaled by 1/(1-p)") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    for (double p : {0.2, 0.5, 0.75}) {
      const int64_t n = 200000;
      Tensor x = test::uniform({n}, 1, 2, dt);  // no zeros: y == 0 exactly where dropped
      manual_seed(17);
      Tensor y = F::dropout(x, p, true);
      const double dropped = (y == 0).to(kFloat64).mean().item<double>();
      const double sigma = std::sqrt(p * (1 - p) / static_cast<double>(n));
      CHECK(std::fabs(dropped - p) < 5 * sigma);
      // Survivors: x times the scale rounded to the dtype, bit for bit.
      Tensor scale = full({}, 1.0 / (1.0 - p), TensorOptions(dt));
      check_identical(where(y != 0, y, x * scale), x * scale, "survivor scale " + std::string(dtype_name(dt)));
      // Neighbouring elements are independent: the joint drop rate of pairs is p^2.
      Tensor d = (y == 0).to(kFloat64);
      const double both = (d.slice(0, 0, n - 1) * d.slice(0, 1, n)).mean().item<double>();
      CHECK(std::fabs(both - p * p) < 5 * std::sqrt(p * p * (1 - p * p) / static_cast<double>(n)));
    }
  }
}

TEST_CASE("nn dropout: the gradient is the forward's mask times the scale") {
  for (ScalarType dt : {kFloat32, kFloat64}) {
    Tensor x = test::uniform({40, 30}, 1, 2, dt).requires_grad_(true);
    manual_seed(5);
    Tensor y = F::dropout(x, 0.4, true);
    CHECK(std::string(y.grad_fn()->name()) == "DropoutBackward");
    Tensor g = test::uniform({40, 30}, -1, 1, dt);
    manual_seed(999);             // the backward must not read the generator's state ...
    Tensor before = rand({3}, dt);
    manual_seed(999);
    y.backward(g);
    check_identical(rand({3}, dt), before, "backward draws nothing");  // ... nor advance it
    Tensor scale = full({}, 1.0 / 0.6, TensorOptions(dt));
    check_identical(x.grad(), g * mask_of(y.detach()).to(dt) * scale, "grad = g * mask * scale");
  }
}

TEST_CASE("nn dropout: gradcheck and gradgradcheck with a fixed seed") {
  for (double p : {0.3, 0.8}) {
    Tensor x = test::uniform({5, 6}, -1, 1).requires_grad_(true);
    auto fn = [p](const std::vector<Tensor>& in) {
      manual_seed(3);  // the same mask at every evaluation
      return F::dropout(in[0], p, true) * in[0];  // a product too, so the second derivative is not zero
    };
    CHECK(autograd::gradcheck(fn, {x}));
    CHECK(autograd::gradgradcheck(fn, {x}));
    auto linear = [p](const std::vector<Tensor>& in) {
      manual_seed(4);
      return F::dropout(in[0].transpose(0, 1), p, true);
    };
    CHECK(autograd::gradcheck(linear, {x}));
    CHECK(autograd::gradgradcheck(linear, {x}));
  }
  // The backward of the backward is the same masked scaling.
  Tensor x = test::uniform({8, 9}, 1, 2).requires_grad_(true);
  Tensor v = test::uniform({8, 9}, -1, 1).requires_grad_(true);
  manual_seed(8);
  Tensor y = F::dropout(x, 0.5, true);
  Tensor gx = autograd::grad({y}, {x}, {v}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(std::string(gx.grad_fn()->name()) == "DropoutBackward");
  Tensor w = test::uniform({8, 9}, -1, 1);
  Tensor gv = autograd::grad({gx}, {v}, {w})[0];
  check_identical(gv, w * mask_of(y.detach()) * 2.0, "d(grad)/d(grad_output)");
}

TEST_CASE("nn dropout: strided inputs number their elements in logical order") {
  for (const test::Layout& layout : test::layouts()) {
    for (ScalarType dt : {kFloat32, kFloat64}) {
      Tensor x = layout.make({6, 7, 5}, -1, 1, dt);
      manual_seed(21);
      Tensor y = F::dropout(x, 0.3, true);
      manual_seed(21);
      check_identical(y, F::dropout(x.contiguous(), 0.3, true), layout.name);
      CHECK(y.is_contiguous());
      Tensor xg = x.detach().requires_grad_(true);
      manual_seed(21);
      Tensor yg = F::dropout(xg, 0.3, true);
      yg.backward(ones_like(yg));
      check_identical(xg.grad(), mask_of(y).to(dt) * full({}, 1.0 / 0.7, TensorOptions(dt)),
                      "grad of " + layout.name);
    }
  }
  // A broadcast (stride-0) input and a broadcast incoming gradient (sum's backward).
  Tensor row = test::uniform({1, 9}, 1, 2).requires_grad_(true);
  Tensor wide = row.expand({4, 9});
  manual_seed(6);
  Tensor y = F::dropout(wide, 0.5, true);
  manual_seed(6);
  check_identical(y, composed_dropout(wide.contiguous(), 0.5), "expanded input");
  y.sum().backward();
  check_identical(row.grad(), (mask_of(y) * 2.0).sum({0}, true), "grad through expand");
}

TEST_CASE("nn dropout: p = 0, p = 1, eval, empty and 0-d tensors") {
  Tensor x = test::uniform({4, 3}, -1, 1).requires_grad_(true);
  CHECK(F::dropout(x, 0.0, true).is_same(x));
  CHECK(F::dropout(x, 0.5, false).is_same(x));
  Tensor empty_x = zeros({0, 3});
  CHECK(F::dropout(empty_x, 0.5, true).is_same(empty_x));
  // p = 1 drops everything and draws no numbers.
  manual_seed(1);
  Tensor all = F::dropout(x, 1.0, true);
  Tensor after = rand({2});
  manual_seed(1);
  check_identical(after, rand({2}), "p = 1 draws nothing");
  check_identical(all, zeros({4, 3}, kFloat64), "p = 1");
  all.sum().backward();
  check_identical(x.grad(), zeros({4, 3}, kFloat64), "p = 1 gradient");
  CHECK(F::dropout(tensor({1, 2, 3}), 1.0, true).dtype() == kInt64);  // as PyTorch: x * zeros of x's dtype
  // 0-d: one element, one draw.
  Tensor s = full({}, 3.0);
  int kept = 0;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    manual_seed(seed);
    Tensor y = F::dropout(s, 0.5, true);
    CHECK(y.dim() == 0);
    manual_seed(seed);
    check_identical(y, composed_dropout(s, 0.5), "0-d");
    kept += y.item<double>() != 0;
  }
  CHECK(kept > 10);
  CHECK(kept < 54);
}

TEST_CASE("nn dropout: errors with PyTorch's wording") {
  Tensor x = ones({3});
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(x, 1.5, true); }),
                       "dropout probability has to be between 0 and 1, but got 1.5"));
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(x, -0.1, false); }), "[dropout]"));
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(x, NAN, true); }), "between 0 and 1"));
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(tensor({1, 2, 3}), 0.5, true); }),
                       "result type float32 can't be cast to the desired output type int64"));
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(ones({2}, kBool), 0.5, true); }),
                       "desired output type bool"));
  CHECK(test::contains(test::error_of([&] { (void)nn::dropout_with_stream(x, 1.0, 0, 0); }), "0 < p < 1"));
  CHECK(test::contains(test::error_of([&] { (void)F::dropout(Tensor(), 0.5, true); }), "[dropout]"));
}
