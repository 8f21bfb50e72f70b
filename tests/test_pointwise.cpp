// The pointwise op table: every unary and binary op against a naive reference on several
// layouts, shapes and dtypes, then gradcheck (and a subset through gradgradcheck).
#include "test_util.h"

using namespace ember;
using test::check_close;
using test::values;

namespace {

struct UnaryRow {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  std::function<double(double)> reference;
  double lo, hi;       // input domain
  bool gradgrad;       // also run gradgradcheck
  bool integers;       // also defined on int64 inputs (kept integral)
};

double erf_gelu(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double tanh_gelu(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
}

std::vector<UnaryRow> unary_table() {
  return {
      {"neg", [](const Tensor& x) { return -x; }, [](double x) { return -x; }, -3, 3, true, true},
      {"abs", [](const Tensor& x) { return x.abs(); }, [](double x) { return std::fabs(x); }, 0.1, 3, true, true},
      {"exp", [](const Tensor& x) { return x.exp(); }, [](double x) { return std::exp(x); }, -2, 2, true, false},
      {"log", [](const Tensor& x) { return x.log(); }, [](double x) { return std::log(x); }, 0.2, 4, true, false},
      {"log1p", [](const Tensor& x) { return x.log1p(); }, [](double x) { return std::log1p(x); }, 0, 3, false, false},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }, [](double x) { return std::sqrt(x); }, 0.3, 4, true, false},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, [](double x) { return 1 / std::sqrt(x); }, 0.3, 4, false,
       false},
      {"sin", [](const Tensor& x) { return x.sin(); }, [](double x) { return std::sin(x); }, -3, 3, true, false},
      {"cos", [](const Tensor& x) { return x.cos(); }, [](double x) { return std::cos(x); }, -3, 3, true, false},
      {"tanh", [](const Tensor& x) { return x.tanh(); }, [](double x) { return std::tanh(x); }, -3, 3, true, false},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, [](double x) { return 1 / (1 + std::exp(-x)); }, -4, 4,
       true, false},
      {"relu", [](const Tensor& x) { return x.relu(); }, [](double x) { return x > 0 ? x : 0; }, 0.1, 2, false, true},
      {"gelu", [](const Tensor& x) { return gelu(x); }, erf_gelu, -3, 3, true, false},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, tanh_gelu, -3, 3, true, false},
      {"silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x / (1 + std::exp(-x)); }, -3, 3, true,
       false},
      {"pow2.5", [](const Tensor& x) { return x.pow(2.5); }, [](double x) { return std::pow(x, 2.5); }, 0.2, 2, true,
       false},
      {"pow2", [](const Tensor& x) { return x.pow(2); }, [](double x) { return x * x; }, -2, 2, true, true},
      {"clamp", [](const Tensor& x) { return x.clamp(-0.5, 0.5); },
       [](double x) { return std::min(0.5, std::max(-0.5, x)); }, -0.45, 0.45, false, false},
      {"erf", [](const Tensor& x) { return erf(x); }, [](double x) { return std::erf(x); }, -2, 2, true, false},
  };
}

struct BinaryRow {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  std::function<double(double, double)> reference;
  double lo, hi;
  bool gradgrad;
};

std::vector<BinaryRow> binary_table() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, [](double a, double b) { return a + b; }, -2, 2, true},
      {"add_alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 3); },
       [](double a, double b) { return a + 3 * b; }, -2, 2, false},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, [](double a, double b) { return a - b; }, -2, 2, true},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, [](double a, double b) { return a * b; }, -2, 2, true},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, [](double a, double b) { return a / b; }, 0.5, 2, true},
      {"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); },
       [](double a, double b) { return std::pow(a, b); }, 0.5, 2, true},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
       [](double a, double b) { return std::max(a, b); }, -2, 2, false},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
       [](double a, double b) { return std::min(a, b); }, -2, 2, false},
  };
}

const std::vector<Shape> kShapes = {{}, {0}, {5}, {3, 4}, {2, 3, 4}};

}  // namespace

TEST_CASE("pointwise: unary ops match the reference on every layout and dtype") {
  for (const UnaryRow& row : unary_table()) {
    for (const Shape& shape : kShapes) {
      for (const test::Layout& layout : test::layouts()) {
        for (ScalarType dt : {kFloat32, kFloat64}) {
          Tensor x = layout.make(shape, row.lo, row.hi, dt);
          Tensor y = row.op(x);
          CHECK(y.sizes() == shape);
          CHECK(y.dtype() == dt);
          std::vector<double> want;
          for (double v : values(x)) want.push_back(row.reference(v));
          double tol = dt == kFloat32 ? 1e-5 : 1e-12;
          check_close(values(y), want, tol, tol, std::string(row.name) + " " + layout.name + " " + dtype_name(dt));
        }
      }
    }
    if (row.integers) {
      Tensor xi = tensor({-2, 0, 3});
      Tensor yi = row.op(xi.abs() + 1);
      CHECK(yi.dtype() == kInt64);
    }
  }
}

TEST_CASE("pointwise: unary gradients (gradcheck, gradgradcheck)") {
  for (const UnaryRow& row : unary_table()) {
    INFO(row.name);
    Tensor leaf = test::uniform({3, 4}, row.lo, row.hi).requires_grad_(true);
    auto fn = [&](const std::vector<Tensor>& in) { return row.op(in[0]); };
    CHECK(autograd::gradcheck(fn, {leaf}));
    // Non-contiguous inputs: a transpose and a step slice of the leaf.
    CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return row.op(in[0].t()); }, {leaf}));
    CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return row.op(in[0].slice(1, 0, 4, 2)); }, {leaf}));
    if (row.gradgrad) CHECK(autograd::gradgradcheck(fn, {leaf}));
    Tensor scalar = test::uniform({}, row.lo, row.hi).requires_grad_(true);
    CHECK(autograd::gradcheck(fn, {scalar}));
    Tensor empty_leaf = zeros({0, 3}, dtype(kFloat64).requires_grad(true));
    Tensor out = row.op(empty_leaf).sum();
    out.backward();
    CHECK(empty_leaf.grad().sizes() == Shape{0, 3});
  }
}

TEST_CASE("pointwise: binary ops broadcast and match the reference") {
  const std::vector<std::pair<Shape, Shape>> pairs = {
      {{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{}, {3}}, {{0, 3}, {3}}, {{5}, {}}};
  for (const BinaryRow& row : binary_table()) {
    for (auto [sa, sb] : pairs) {
      for (const test::Layout& layout : test::layouts()) {
        for (ScalarType dt : {kFloat32, kFloat64}) {
          Tensor a = layout.make(sa, row.lo, row.hi, dt), b = test::uniform(sb, row.lo, row.hi, dt);
          Tensor y = row.op(a, b);
          Shape out = broadcast_shapes(sa, sb, "test");
          REQUIRE(y.sizes() == out);
          std::vector<double> va = values(a.expand(out)), vb = values(b.expand(out)), want;
          for (size_t i = 0; i < va.size(); ++i) want.push_back(row.reference(va[i], vb[i]));
          double tol = dt == kFloat32 ? 1e-5 : 1e-12;
          check_close(values(y), want, tol, tol, std::string(row.name) + " " + layout.name);
        }
      }
    }
  }
  CHECK(test::error_of([] { ones({3}) + ones({4}); })
            .find("[add] The size of tensor a (3) must match the size of tensor b (4) at non-singleton dimension 0") == 0);
}

TEST_CASE("pointwise: binary gradients reduce broadcast dims") {
  for (const BinaryRow& row : binary_table()) {
    for (auto [sa, sb] : std::vector<std::pair<Shape, Shape>>{{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{2, 1, 4}, {3, 1}}, {{}, {2, 3}}}) {
      Tensor a = test::uniform(sa, row.lo, row.hi).requires_grad_(true);
      Tensor b = test::uniform(sb, row.lo, row.hi).requires_grad_(true);
      if (row.name == std::string("maximum") || row.name == std::string("minimum")) b = (b + 0.01).detach().requires_grad_(true);
      auto fn = [&](const std::vector<Tensor>& in) { return row.op(in[0], in[1]); };
      INFO(row.name, " ", shape_text(sa), " ", shape_text(sb));
      CHECK(autograd::gradcheck(fn, {a, b}));
      if (row.gradgrad) CHECK(autograd::gradgradcheck(fn, {a, b}));
    }
  }
}

TEST_CASE("pointwise: comparisons, logical ops, where, masked_fill") {
  Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({3.0, 2.0, 1.0});
  CHECK(values(a < b) == std::vector<double>{1, 0, 0});
  CHECK(values(a <= b) == std::vector<double>{1, 1, 0});
  CHECK(values(a == b) == std::vector<double>{0, 1, 0});
  CHECK(values(a != 2) == std::vector<double>{1, 0, 1});
  CHECK(values(a >= 2) == std::vector<double>{0, 1, 1});
  CHECK(values(logical_and(a > 1, b > 1)) == std::vector<double>{0, 1, 0});
  CHECK(values(logical_or(a > 2, b > 2)) == std::vector<double>{1, 0, 1});
  CHECK(values(!(a > 1)) == std::vector<double>{1, 0, 0});
  CHECK(values(where(a > 1, a, b)) == std::vector<double>{3, 2, 3});
  CHECK(values(where(a > 1, a, -1.0)) == std::vector<double>{-1, 2, 3});
  CHECK(values(a.masked_fill(a > 2, 0)) == std::vector<double>{1, 2, 0});
  Tensor m = ones({2, 3});
  CHECK(values(m.masked_fill(tensor(std::vector<bool>{true, false, true}), 5)) == std::vector<double>{5, 1, 5, 5, 1, 5});
  CHECK(test::error_of([&] { where(a, a, b); }).find("where expected condition to be a boolean tensor") != std::string::npos);
  Tensor x = test::uniform({2, 3}, -1, 1).requires_grad_(true), y = test::uniform({3}, -1, 1).requires_grad_(true);
  Tensor cond = test::uniform({2, 3}, -1, 1) > 0;
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return where(cond, in[0], in[1]); }, {x, y}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return in[0].masked_fill(cond, 2.0); }, {x}));
  CHECK(allclose(a, a + 1e-9));
  CHECK_FALSE(allclose(a, b));
  CHECK(equal(a, a.clone()));
}

TEST_CASE("pointwise: integer ops and special values") {
  CHECK(values(tensor({5, -3}) * 2) == std::vector<double>{10, -6});
  CHECK(values(tensor({7, 8}) / 2) == std::vector<double>{3.5, 4});
  CHECK(values(tensor({2, 3}).pow(3)) == std::vector<double>{8, 27});
  CHECK(tensor({2, 3}).pow(3).dtype() == kInt64);
  CHECK(std::isnan(values(maximum(tensor({NAN}), tensor({1.0})))[0]));
  CHECK(std::isinf(values(log(tensor({0.0})))[0]));
  CHECK(values(sigmoid(tensor({-1000.0, 1000.0}))) == std::vector<double>{0, 1});
}

TEST_CASE("pointwise: addcmul_ and addcdiv_ in one pass") {
  Tensor a = tensor({1.0, 2.0, 3.0}), t1 = tensor({2.0, 4.0, 6.0}), t2 = tensor({4.0, 2.0, 1.0});
  addcmul_(a, t1, t2, 0.5);
  CHECK(values(a) == std::vector<double>{5, 6, 6});
  addcdiv_(a, t1, t2, -1);
  CHECK(values(a) == std::vector<double>{4.5, 4, 0});
  Tensor m = zeros({2, 3});
  addcmul_(m, ones({3}), full({2, 1}, 2.0), 3);  // both factors broadcast to m's shape
  CHECK(values(m) == std::vector<double>(6, 6.0));
  Tensor leaf = ones({3}, dtype(kFloat64).requires_grad(true));
  Tensor b = zeros({3}, kFloat64);
  CHECK(test::error_of([&] { addcmul_(b, leaf, leaf); }).find("[addcmul_] is not recorded by autograd") == 0);
  CHECK(test::error_of([&] { addcdiv_(b, ones({3}), ones({3}), 1); }).find("one floating dtype") != std::string::npos);
  CHECK(test::error_of([&] { addcmul_(b, ones({4}, kFloat64), ones({4}, kFloat64)); }).find("[addcmul_]") == 0);
}
