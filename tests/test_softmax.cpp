// softmax and log_softmax: against a naive per-fibre reference on random shapes, dims and
// layouts (both kernel paths: last dim and strided fibres, small and large), stability on
// huge logits, special shapes, errors, and gradients up to second order.
#include <limits>
#include <random>

#include "test_util.h"

using namespace ember;
using test::check_close;
using test::error_of;
using test::values;

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The reference along wrapped dim d: each fibre gets exp(x - max) / sum, or x - logsumexp.
std::vector<double> reference(const Tensor& x, int64_t d, bool log) {
  std::vector<double> v = values(x), out(v.size());
  if (v.empty()) return out;
  const Shape& s = x.sizes();
  int64_t outer = 1, n = 1, inner = 1;
  for (int64_t i = 0; i < x.dim(); ++i) (i < d ? outer : i == d ? n : inner) *= s[i];
  for (int64_t o = 0; o < outer; ++o) {
    for (int64_t c = 0; c < inner; ++c) {
      auto at = [&](int64_t i) { return static_cast<size_t>((o * n + i) * inner + c); };
      double m = -kInf, sum = 0;
      for (int64_t i = 0; i < n; ++i) m = std::max(m, v[at(i)]);
      for (int64_t i = 0; i < n; ++i) sum += std::exp(v[at(i)] - m);
      for (int64_t i = 0; i < n; ++i)
        out[at(i)] = log ? v[at(i)] - m - std::log(sum) : std::exp(v[at(i)] - m) / sum;
    }
  }
  return out;
}

// Random-valued input of shape s laid out contiguously (0), permuted (1) or step-sliced (2).
Tensor make_input(const Shape& s, int layout, ScalarType t, double scale) {
  if (layout == 1 && s.size() >= 2) {
    Shape rev, dims;
    for (size_t i = s.size(); i-- > 0;) {
      rev.push_back(s[i]);
      dims.push_back(static_cast<int64_t>(i));
    }
    return (randn(rev, dtype(kFloat64)) * scale).to(t).permute(dims);
  }
  if (layout == 2 && !s.empty()) {
    Shape wide = s;
    wide[0] *= 2;
    return (randn(wide, dtype(kFloat64)) * scale).to(t).slice(0, 0, std::nullopt, 2);
  }
  return (randn(s, dtype(kFloat64)) * scale).to(t);
}

}  // namespace

TEST_CASE("softmax: matches the reference on random shapes, dims and layouts") {
  std::mt19937 rng(17);
  manual_seed(17);
  for (int trial = 0; trial < 150; ++trial) {
    Shape s;
    int64_t nd = std::uniform_int_distribution<int64_t>(0, 4)(rng);
    for (int64_t i = 0; i < nd; ++i) s.push_back(std::uniform_int_distribution<int64_t>(1, 6)(rng));
    if (nd > 0 && trial % 10 == 0) s[rng() % nd] = 0;
    int64_t d = nd == 0 ? 0 : static_cast<int64_t>(rng() % nd);
    int64_t passed = rng() % 2 ? d : d - std::max<int64_t>(nd, 1);
    for (ScalarType t : {kFloat32, kFloat64}) {
      int layout = trial % 3;
      Tensor x = make_input(s, layout, t, 3.0);
      INFO("shape " << shape_text(s) << " dim " << passed << " layout " << layout << " " << dtype_name(t));
      double tol = t == kFloat32 ? 1e-6 : 1e-13;
      Tensor y = softmax(x, passed);
      CHECK(y.sizes() == s);
      CHECK(y.dtype() == t);
      check_close(values(y), reference(x, d, false), tol, 1e-5, "softmax");
      Tensor l = log_softmax(x, passed);
      CHECK(l.sizes() == s);
      check_close(values(l), reference(x, d, true), tol * 10, 1e-5, "log_softmax");
      check_close(values(x.softmax(passed)), values(y), 0, 0, "method");
    }
  }
}

TEST_CASE("softmax: large tensors on both kernel paths (rows and strided fibres, many threads)") {
  manual_seed(19);
  // Last dim (contiguous rows), a middle dim with inner > block size, and dim 0 with a single
  // outer slice: every path, above the parallel threshold.
  const std::vector<std::pair<Shape, int64_t>> cases = {
      {{300, 513}, 1}, {{300, 513}, 0}, {{3, 40, 700}, 1}, {{2, 9, 1000}, -2}, {{64, 3, 257}, 2}, {{5000, 2}, 0}};
  for (const auto& [s, d] : cases) {
    for (ScalarType t : {kFloat32, kFloat64}) {
      INFO("shape " << shape_text(s) << " dim " << d << " " << dtype_name(t));
      Tensor x = make_input(s, 0, t, 5.0);
      int64_t wd = d < 0 ? d + static_cast<int64_t>(s.size()) : d;
      double tol = t == kFloat32 ? 1e-6 : 1e-13;
      check_close(values(softmax(x, d)), reference(x, wd, false), tol, 1e-5, "softmax");
      check_close(values(log_softmax(x, d)), reference(x, wd, true), tol * 10, 1e-5, "log_softmax");
      // Non-contiguous input of the same values.
      Tensor xt = x.transpose(0, -1).contiguous().transpose(0, -1);
      check_close(values(softmax(xt, d)), values(softmax(x, d)), 0, 0, "softmax transposed");
    }
  }
}

TEST_CASE("softmax: huge logits stay finite, rows sum to 1") {
  for (ScalarType t : {kFloat32, kFloat64}) {
    Tensor x = tensor({{1e4, -1e4, 0.0}, {-1e4, -1e4, -1e4}, {1e4, 1e4, 1e4}}, dtype(t));
    for (int64_t d : {0, 1}) {
      Tensor y = softmax(x, d);
      Tensor l = log_softmax(x, d);
      for (double v : values(y)) CHECK(std::isfinite(v));
      for (double v : values(l)) CHECK(std::isfinite(v));
      check_close(values(sum(y, {d})), {1, 1, 1}, 1e-6, 0, "sums");
    }
    check_close(values(softmax(x, 1).select(0, 0)), {1, 0, 0}, 1e-7, 0, "one-hot row");
    check_close(values(log_softmax(x, 1).select(0, 0)), {0, -2e4, -1e4}, 1e-2, 0, "log row");
    check_close(values(softmax(x, 1).select(0, 1)), {1.0 / 3, 1.0 / 3, 1.0 / 3}, 1e-6, 0, "uniform row");
  }
  // -inf entries get probability 0 (masking), NaN makes its fibre NaN.
  Tensor masked = tensor({0.0, -kInf, 0.0});
  check_close(values(softmax(masked, 0)), {0.5, 0, 0.5}, 1e-12, 0, "masked");
  CHECK(values(log_softmax(masked, 0))[1] == -kInf);
  Tensor nan = tensor({0.0, std::numeric_limits<double>::quiet_NaN(), 1.0});
  for (double v : values(softmax(nan, 0))) CHECK(std::isnan(v));
}

TEST_CASE("softmax: 0-d, empty and error cases") {
  Tensor s = scalar_tensor(3.0, dtype(kFloat64));
  for (int64_t d : {0, -1}) {
    CHECK(softmax(s, d).dim() == 0);
    CHECK(softmax(s, d).item<double>() == 1.0);
    CHECK(log_softmax(s, d).item<double>() == 0.0);
  }
  CHECK(softmax(zeros({0, 4}), 1).sizes() == Shape{0, 4});
  CHECK(log_softmax(zeros({3, 0}), 1).sizes() == Shape{3, 0});
  CHECK(softmax(zeros({3, 0}), 0).sizes() == Shape{3, 0});
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg);
    CHECK(msg.find(part) != std::string::npos);
  };
  has(error_of([] { softmax(zeros({2, 3}), 2); }),
      "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  has(error_of([] { log_softmax(zeros({2, 3}), -3); }), "Dimension out of range");
  has(error_of([] { softmax(scalar_tensor(1.0), 1); }), "expected to be in range of [-1, 0], but got 1");
  has(error_of([] { softmax(tensor({1, 2}), 0); }), "\"softmax\" not implemented for 'int64'");
  has(error_of([] { log_softmax(tensor(std::vector<bool>{true, false}), 0); }), "\"log_softmax\" not implemented for 'bool'");
}

TEST_CASE("softmax: gradients (gradcheck and gradgradcheck) on every dim and layout") {
  manual_seed(23);
  using In = const std::vector<Tensor>&;
  Tensor x = randn({3, 4}, dtype(kFloat64).requires_grad(true));
  Tensor x3 = randn({2, 3, 4}, dtype(kFloat64).requires_grad(true));
  for (bool log : {false, true}) {
    auto op = [log](const Tensor& t, int64_t d) { return log ? log_softmax(t, d) : softmax(t, d); };
    for (int64_t d : {0, 1, -1}) {
      INFO((log ? "log_softmax" : "softmax") << " dim " << d);
      // A weighted sum makes the check meaningful: the plain sum of softmax is constant.
      auto fn = [&](In in) { return op(in[0], d) * tensor({1.0, -2.0, 0.5, 3.0}); };
      CHECK(autograd::gradcheck(fn, {x}));
      CHECK(autograd::gradgradcheck(fn, {x}));
      CHECK(autograd::gradcheck([&](In in) { return op(in[0].t(), d); }, {x}));
      CHECK(autograd::gradcheck([&](In in) { return op(in[0].slice(1, 0, 4, 2), d); }, {x}));
    }
    for (int64_t d : {0, 1, 2}) {
      INFO((log ? "log_softmax" : "softmax") << " 3-d dim " << d);
      CHECK(autograd::gradcheck([&](In in) { return op(in[0].permute({2, 0, 1}), d); }, {x3}));
      CHECK(autograd::gradgradcheck([&](In in) { return op(in[0], d); }, {x3}));
    }
    Tensor s = scalar_tensor(0.7, dtype(kFloat64).requires_grad(true));
    CHECK(autograd::gradcheck([&](In in) { return op(in[0], 0); }, {s}));
    CHECK(std::string(op(x, 1).grad_fn()->name()) == (log ? "LogSoftmaxBackward" : "SoftmaxBackward"));
  }
  // Composite check: log_softmax gradient equals that of x - logsumexp(x).
  Tensor a = randn({4, 5}, dtype(kFloat64).requires_grad(true));
  Tensor w = randn({4, 5}, dtype(kFloat64));
  (log_softmax(a, 1) * w).sum().backward();
  Tensor g1 = a.grad().clone();
  a.mutable_grad() = Tensor();
  ((a - logsumexp(a, {1}, true)) * w).sum().backward();
  check_close(values(g1), values(a.grad()), 1e-12, 1e-10, "log_softmax vs composite");
  // Huge logits: finite gradients.
  Tensor big = tensor({1e4, -1e4, 0.0}, dtype(kFloat64)).requires_grad_(true);
  (softmax(big, 0) * tensor({1.0, 2.0, 3.0}, dtype(kFloat64))).sum().backward();
  for (double v : values(big.grad())) CHECK(std::isfinite(v));
}
