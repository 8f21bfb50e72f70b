// The fused layer norm (nn/layer_norm_op.h) on the CPU: forward and backward against the
// composed-ops formula it replaced (float32 and float64, normalized_shape of rank 1 to 3,
// with and without weight and bias, on contiguous, transposed, step-sliced and broadcast
// inputs), mean and rstd of a known input, empty inputs, gradcheck and gradgradcheck, the
// errors, the composed fallback for mixed dtypes, and results that do not depend on the
// thread count. The GPU twin is checked in test_cuda_layer_norm.cpp.
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "layouts.h"
#include "test_util.h"

using namespace ember;

namespace {

std::string str(const Shape& s) {
  std::ostringstream os;
  os << shape_text(s);
  return os.str();
}

// The formula nn::functional::layer_norm used before the fused op: the reference.
Tensor composed_layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& w, const Tensor& b,
                           double eps) {
  Shape dims;
  const int64_t k = static_cast<int64_t>(normalized_shape.size());
  for (int64_t i = x.dim() - k; i < x.dim(); ++i) dims.push_back(i);
  Tensor xc = x - x.mean(dims, true);
  Tensor y = xc * ((xc * xc).mean(dims, true) + eps).rsqrt();
  if (w.defined()) y = y * w;
  if (b.defined()) y = y + b;
  return y;
}

using Layout = test::View;
using test::name_of, test::base_shape, test::view_of;

struct Case {
  Shape x_shape, normalized_shape;
};
const Case kCases[] = {
    {{5, 7}, {7}}, {{2, 3, 4, 5}, {4, 5}}, {{3, 2, 4}, {3, 2, 4}}, {{130, 33}, {33}}, {{4, 1}, {1}}, {{6}, {6}},
};

void check_tensor(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(got.defined() == want.defined());
  if (!got.defined()) return;
  REQUIRE(got.sizes() == want.sizes());
  REQUIRE(got.dtype() == want.dtype());
  test::check_close(test::values(got), test::values(want), tol, tol, what);
}

}  // namespace

TEST_CASE("layer_norm: fused forward and backward match the composed formula") {
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 2e-5;
    for (const Case& c : kCases) {
      for (Layout v : test::kViews) {
        // Broadcasting the only dim of a 1-D input would make a constant row, whose output
        // is rounding noise times 1 / sqrt(eps) in the reference (checked apart below).
        if ((v == Layout::Transposed || v == Layout::Broadcast) && c.x_shape.size() < 2) continue;
        for (int affine = 0; affine < 4; ++affine) {
          const bool has_w = affine & 1, has_b = affine & 2;
          const std::string label = std::string(name_of(v)) + " " + str(c.x_shape) + " over " +
                                    str(c.normalized_shape) + " " + dtype_name(dt) + (has_w ? " weight" : "") +
                                    (has_b ? " bias" : "");
          INFO(label);
          const Tensor base = test::uniform(base_shape(v, c.x_shape), -2, 3, dt);
          const Tensor wv = test::uniform(c.normalized_shape, 0.5, 1.5, dt);
          const Tensor bv = test::uniform(c.normalized_shape, -1, 1, dt);
          // Fused and reference each get their own leaves with the same values.
          Tensor xf = base.clone().requires_grad_(), xr = base.clone().requires_grad_();
          auto leaf = [](bool on, const Tensor& v) { return on ? v.clone().requires_grad_() : Tensor(); };
          Tensor wf = leaf(has_w, wv), wr = leaf(has_w, wv), bf = leaf(has_b, bv), br = leaf(has_b, bv);
          Tensor yf = nn::functional::layer_norm(view_of(v, xf, c.x_shape), c.normalized_shape, wf, bf, 1e-5);
          Tensor yr = composed_layer_norm(view_of(v, xr, c.x_shape), c.normalized_shape, wr, br, 1e-5);
          REQUIRE(yf.grad_fn() != nullptr);
          CHECK(std::string(yf.grad_fn()->name()) == "NativeLayerNormBackward");
          check_tensor(yf, yr, tol, label + ": y");
          const Tensor up = test::uniform(yr.sizes(), -1, 1, dt);
          (yf * up).sum().backward();
          (yr * up).sum().backward();
          check_tensor(xf.grad(), xr.grad(), tol * 10, label + ": dx");
          if (has_w) check_tensor(wf.grad(), wr.grad(), tol * 10, label + ": dweight");
          if (has_b) check_tensor(bf.grad(), br.grad(), tol * 10, label + ": dbias");
        }
      }
    }
  }
}

TEST_CASE("layer_norm: only the gradients asked for") {
  Tensor x = test::uniform({4, 6}, -1, 1);
  Tensor w = test::uniform({6}, 0.5, 1.5).requires_grad_();
  Tensor b = test::uniform({6}, -1, 1);
  nn::functional::layer_norm(x, {6}, w, b).sum().backward();
  REQUIRE(w.grad().defined());
  CHECK(!x.grad().defined());
  Tensor wr = w.detach().clone().requires_grad_();
  composed_layer_norm(x, {6}, wr, b, 1e-5).sum().backward();
  check_tensor(w.grad(), wr.grad(), 1e-12, "dweight alone");
  // No input needs grad: no node.
  CHECK(nn::functional::layer_norm(x, {6}, w.detach(), b).grad_fn() == nullptr);
}

TEST_CASE("layer_norm: mean and rstd of a known input") {
  Tensor x = tensor({{1.0, 2.0, 3.0, 4.0}, {2.0, 2.0, 2.0, 6.0}});
  auto [y, mean, rstd] = nn::native_layer_norm(x, {4}, {}, {}, 1e-5);
  CHECK(mean.sizes() == Shape{2, 1});
  CHECK(rstd.sizes() == Shape{2, 1});
  // Row 0: mean 2.5, biased variance 1.25; row 1: mean 3, variance 3.
  CHECK(test::values(mean) == std::vector<double>{2.5, 3.0});
  CHECK(test::values(rstd)[0] == doctest::Approx(1 / std::sqrt(1.25 + 1e-5)).epsilon(1e-14));
  CHECK(test::values(rstd)[1] == doctest::Approx(1 / std::sqrt(3.0 + 1e-5)).epsilon(1e-14));
  CHECK(test::values(y)[0] == doctest::Approx(-1.5 / std::sqrt(1.25 + 1e-5)).epsilon(1e-14));
  // mean and rstd keep the leading dims and put ones over the normalized ones.
  auto [y3, mean3, rstd3] = nn::native_layer_norm(test::uniform({2, 3, 4, 5}, -1, 1), {4, 5}, {}, {}, 1e-5);
  CHECK(mean3.sizes() == Shape{2, 3, 1, 1});
  CHECK(rstd3.sizes() == Shape{2, 3, 1, 1});
  // A constant row: variance 0, rstd = 1 / sqrt(eps), y = 0 (not NaN).
  auto [yc, meanc, rstdc] = nn::native_layer_norm(full({1, 8}, 7.0), {8}, {}, {}, 1e-4);
  CHECK(test::values(meanc)[0] == 7.0);
  CHECK(test::values(rstdc)[0] == doctest::Approx(100.0));
  CHECK(test::values(yc) == std::vector<double>(8, 0.0));
}

TEST_CASE("layer_norm: a large mean does not cancel the variance (float32)") {
  // x = 1e4 + u, u in [-1, 1): a one-pass E[x^2] - E[x]^2 in float32 would lose every digit
  // of the variance (1e8 vs ~0.33). rstd is exact to float rounding; y is limited by the mean
  // rounded to float (half a unit at 1e4 is 5e-4, times rstd ~ 1.7), as in PyTorch.
  Tensor x32 = (test::uniform({16, 512}, -1, 1) + 1e4).to(kFloat32);
  auto [y32, mean32, rstd32] = nn::native_layer_norm(x32, {512}, {}, {}, 1e-5);
  Tensor x64 = x32.to(kFloat64);
  Tensor xc = x64 - x64.mean({1}, true);
  Tensor rstd64 = ((xc * xc).mean({1}, true) + 1e-5).rsqrt();
  test::check_close(test::values(rstd32), test::values(rstd64), 0, 1e-6, "rstd around 1e4");
  test::check_close(test::values(y32), test::values(xc * rstd64), 1e-3, 0, "y around 1e4");
}

TEST_CASE("layer_norm: empty inputs") {
  for (ScalarType dt : {kFloat64, kFloat32}) {
    INFO(dtype_name(dt));
    // 0 rows: an empty output; the weight and bias gradients are sums over no rows: zeros.
    Tensor x = zeros({0, 4}, dt).requires_grad_();
    Tensor w = ones({4}, dt).requires_grad_(), b = zeros({4}, dt).requires_grad_();
    Tensor y = nn::functional::layer_norm(x, {4}, w, b);
    CHECK(y.sizes() == Shape{0, 4});
    y.sum().backward();
    CHECK(x.grad().sizes() == Shape{0, 4});
    CHECK(test::values(w.grad()) == std::vector<double>(4, 0.0));
    CHECK(test::values(b.grad()) == std::vector<double>(4, 0.0));
    Tensor x3 = zeros({2, 0, 3}, dt);
    CHECK(nn::functional::layer_norm(x3, {3}).sizes() == Shape{2, 0, 3});
    // Normalizing over nothing: mean and rstd are NaN, as the composed formula's mean is.
    auto [ye, me, re] = nn::native_layer_norm(zeros({3, 0}, dt), {0}, {}, {}, 1e-5);
    CHECK(ye.sizes() == Shape{3, 0});
    for (double v : test::values(me)) CHECK(std::isnan(v));
    for (double v : test::values(re)) CHECK(std::isnan(v));
  }
}

TEST_CASE("layer_norm: gradcheck and gradgradcheck in float64") {
  const Tensor x = test::uniform({3, 2, 5}, -1, 1).requires_grad_();
  const Tensor w = test::uniform({2, 5}, 0.5, 1.5).requires_grad_();
  const Tensor b = test::uniform({2, 5}, -1, 1).requires_grad_();
  auto with_affine = [](const std::vector<Tensor>& in) {
    return nn::functional::layer_norm(in[0], {2, 5}, in[1], in[2], 1e-5);
  };
  CHECK(autograd::gradcheck(with_affine, {x, w, b}));
  CHECK(autograd::gradgradcheck(with_affine, {x, w, b}));
  auto plain = [](const std::vector<Tensor>& in) { return nn::functional::layer_norm(in[0], {5}, {}, {}, 1e-5); };
  CHECK(autograd::gradcheck(plain, {x}));
  CHECK(autograd::gradgradcheck(plain, {x}));
  // A non-contiguous input: the gradient reaches the leaf through the transpose.
  const Tensor xt = test::uniform({5, 4}, -1, 1).requires_grad_();
  auto transposed = [](const std::vector<Tensor>& in) {
    return nn::functional::layer_norm(in[0].t(), {5}, in[1], {}, 1e-5);
  };
  const Tensor w5 = test::uniform({5}, 0.5, 1.5).requires_grad_();
  CHECK(autograd::gradcheck(transposed, {xt, w5}));
  CHECK(autograd::gradgradcheck(transposed, {xt, w5}));
}

TEST_CASE("layer_norm: create_graph builds a differentiable gradient") {
  // d/dx of sum(dx^2) where dx = d sum(y * v) / dx: the composed path (NOTE [ LayerNorm
  // double backward ]) against the composed op's own double backward.
  const Tensor base = test::uniform({3, 6}, -1, 1);
  const Tensor v = test::uniform({3, 6}, -1, 1);
  const Tensor wv = test::uniform({6}, 0.5, 1.5);
  std::vector<Tensor> second;
  for (int fused = 1; fused >= 0; --fused) {
    Tensor x = base.clone().requires_grad_(), w = wv.clone().requires_grad_();
    Tensor y = fused ? nn::functional::layer_norm(x, {6}, w, {}) : composed_layer_norm(x, {6}, w, {}, 1e-5);
    auto g = autograd::grad({(y * v).sum()}, {x, w}, {}, true, true);
    REQUIRE(g[0].requires_grad());
    ((g[0] * g[0]).sum() + g[1].sum()).backward();
    second.push_back(x.grad());
    second.push_back(w.grad());
  }
  check_tensor(second[0], second[2], 1e-10, "second derivative at x");
  check_tensor(second[1], second[3], 1e-10, "second derivative at weight");
}

TEST_CASE("layer_norm: errors with PyTorch's wording") {
  Tensor x = zeros({2, 4});
  CHECK(test::error_of([&] { (void)nn::functional::layer_norm(x, {5}); }) ==
        "[layer_norm] Given normalized_shape=[5], expected input with shape [*, 5], but got input of size [2, 4]");
  CHECK(test::contains(test::error_of([&] { (void)nn::functional::layer_norm(x, {2, 4, 1}); }),
                       "Given normalized_shape=[2, 4, 1], expected input with shape [*, 2, 4, 1]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::functional::layer_norm(x, {}); }), "Given normalized_shape=[]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::functional::layer_norm(x, {4}, ones({3})); }),
                       "Expected weight to be of same shape as normalized_shape, but got weight of shape [3] and "
                       "normalized_shape = [4]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::functional::layer_norm(x, {4}, {}, ones({1, 4})); }),
                       "Expected bias to be of same shape as normalized_shape, but got bias of shape [1, 4]"));
  CHECK(test::contains(test::error_of([&] { (void)nn::native_layer_norm(zeros({2, 4}, kInt64), {4}, {}, {}, 1e-5); }),
                       "expected a float32 or float64 input"));
}

TEST_CASE("layer_norm: mixed dtypes take the composed formula (type promotion)") {
  Tensor x = test::uniform({3, 4}, -1, 1, kFloat32);
  Tensor w = test::uniform({4}, 0.5, 1.5, kFloat64);
  CHECK(!nn::native_layer_norm_supports(x, w, {}));
  Tensor y = nn::functional::layer_norm(x, {4}, w, {});
  CHECK(y.dtype() == kFloat64);
  check_tensor(y, composed_layer_norm(x, {4}, w, {}, 1e-5), 1e-12, "float32 input, float64 weight");
}

TEST_CASE("layer_norm: results do not depend on the thread count") {
  // Several backward chunks (rows > 64): the column sums are added in chunk order whatever
  // the threads.
  const Tensor base = test::uniform({300, 96}, -1, 1, kFloat32);
  const Tensor wv = test::uniform({96}, 0.5, 1.5, kFloat32);
  const Tensor up = test::uniform({300, 96}, -1, 1, kFloat32);
  const int threads = get_num_threads();
  std::vector<std::vector<double>> runs;
  for (int t : {1, 2, 3}) {
    set_num_threads(t);
    Tensor x = base.clone().requires_grad_(), w = wv.clone().requires_grad_(), b = zeros({96}).requires_grad_();
    Tensor y = nn::functional::layer_norm(x, {96}, w, b);
    (y * up).sum().backward();
    std::vector<double> all = test::values(y);
    for (const Tensor& g : {x.grad(), w.grad(), b.grad()}) {
      const std::vector<double> v = test::values(g);
      all.insert(all.end(), v.begin(), v.end());
    }
    runs.push_back(all);
  }
  set_num_threads(threads);
  CHECK(runs[0] == runs[1]);
  CHECK(runs[0] == runs[2]);
}
