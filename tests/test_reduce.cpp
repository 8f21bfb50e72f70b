// Reductions against a naive reference: each output's input values are gathered by walking
// the input in row-major order, then reduced by plain loops in double. Random shapes (0-d and
// empty included), contiguous / transposed / step-sliced layouts, negative dims, keepdim both
// ways and every dtype each op accepts; then errors, kernel strategies and gradients.
#include <algorithm>
#include <limits>
#include <random>
#include <sstream>

#include "test_util.h"

using namespace ember;
using test::check_close;
using test::error_of;
using test::values;

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// Values in [lo, hi) of dtype t (bool: true below the middle), laid out as `layout` says:
// 0 contiguous, 1 a permuted copy viewed back, 2 every other element of a wider tensor.
Tensor make_input(const Shape& s, int layout, double lo, double hi, ScalarType t) {
  auto gen = [&](const Shape& shape) {
    Tensor u = test::uniform(shape, lo, hi, kFloat64);
    return t == kBool ? u < (lo + hi) / 2 : u.to(t);
  };
  if (layout == 1 && s.size() >= 2) {
    Shape rev, dims;
    for (size_t i = s.size(); i-- > 0;) {
      rev.push_back(s[i]);
      dims.push_back(static_cast<int64_t>(i));
    }
    return gen(rev).permute(dims);
  }
  if (layout == 2 && !s.empty()) {
    Shape wide = s;
    wide.back() *= 2;
    return gen(wide).slice(-1, 0, std::nullopt, 2);
  }
  return gen(s);
}

// A reduction problem: shape, dims as passed (maybe negative), the same wrapped and sorted.
struct Case {
  Shape shape, dims, wrapped;
  bool keepdim = false;
};

// Random case with ndim in [0, 4] and sizes in [1, 5] (or [0, 5] when empty is allowed).
// single: exactly one dim (what prod(dim), max(dim) and softmax take).
Case random_case(std::mt19937& rng, bool allow_empty, bool single) {
  Case c;
  int64_t nd = std::uniform_int_distribution<int64_t>(0, 4)(rng);
  for (int64_t d = 0; d < nd; ++d) c.shape.push_back(std::uniform_int_distribution<int64_t>(allow_empty ? 0 : 1, 5)(rng));
  if (allow_empty && nd > 0 && rng() % 4 == 0) c.shape[rng() % nd] = 0;
  c.keepdim = rng() % 2 == 0;
  auto pass = [&](int64_t d) { return rng() % 2 ? d : d - std::max<int64_t>(nd, 1); };  // maybe negative
  if (single) {
    int64_t d = nd == 0 ? 0 : static_cast<int64_t>(rng() % nd);
    c.dims = {pass(d)};
    if (nd > 0) c.wrapped = {d};
    return c;
  }
  for (int64_t d = 0; d < nd; ++d) {
    if (rng() % 2) {
      c.dims.push_back(pass(d));
      c.wrapped.push_back(d);
    }
  }
  if (c.dims.empty())
    for (int64_t d = 0; d < nd; ++d) c.wrapped.push_back(d);  // no dims: all of them
  return c;
}

Shape out_shape(const Case& c) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(c.shape.size()); ++d) {
    bool reduced = std::find(c.wrapped.begin(), c.wrapped.end(), d) != c.wrapped.end();
    if (!reduced) out.push_back(c.shape[d]);
    else if (c.keepdim) out.push_back(1);
  }
  return out;
}

// For each output (row-major), its input values in row-major order of the reduced dims.
std::vector<std::vector<double>> groups(const Tensor& x, const Shape& wrapped) {
  const Shape& s = x.sizes();
  std::vector<double> v = values(x);
  Shape kept;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(wrapped.begin(), wrapped.end(), d) == wrapped.end()) kept.push_back(d);
  int64_t outputs = 1;
  for (int64_t d : kept) outputs *= s[d];
  std::vector<std::vector<double>> out(static_cast<size_t>(outputs));
  Shape index(s.size(), 0);
  for (size_t flat = 0; flat < v.size(); ++flat) {
    int64_t o = 0;
    for (int64_t d : kept) o = o * s[d] + index[d];
    out[static_cast<size_t>(o)].push_back(v[flat]);
    for (size_t d = s.size(); d-- > 0;) {  // odometer
      if (++index[d] < s[d]) break;
      index[d] = 0;
    }
  }
  return out;
}

template <class F>
std::vector<double> reference(const Tensor& x, const Shape& wrapped, F f) {
  std::vector<double> out;
  for (const auto& g : groups(x, wrapped)) out.push_back(f(g));
  return out;
}

double ref_sum(const std::vector<double>& g) {
  double s = 0;
  for (double v : g) s += v;
  return s;
}
double ref_prod(const std::vector<double>& g) {
  double p = 1;
  for (double v : g) p *= v;
  return p;
}
// Index of the first extreme; NaN beats numbers.
size_t ref_extreme_at(const std::vector<double>& g, bool is_max) {
  size_t at = 0;
  for (size_t i = 1; i < g.size(); ++i) {
    if (std::isnan(g[at])) break;
    if (std::isnan(g[i]) || (is_max ? g[i] > g[at] : g[i] < g[at])) at = i;
  }
  return at;
}
double ref_var(const std::vector<double>& g, bool unbiased) {
  double m = ref_sum(g) / static_cast<double>(g.size()), s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / std::max(0.0, static_cast<double>(g.size()) - (unbiased ? 1 : 0));
}
double ref_logsumexp(const std::vector<double>& g) {
  double m = -kInf;
  for (double v : g) m = std::max(m, v);
  if (std::isinf(m)) m = 0;
  double s = 0;
  for (double v : g) s += std::exp(v - m);
  return std::log(s) + m;
}
double ref_norm(const std::vector<double>& g, double p) {
  if (std::isinf(p)) {
    double best = p > 0 ? 0 : kInf;
    for (double v : g) best = p > 0 ? std::max(best, std::fabs(v)) : std::min(best, std::fabs(v));
    return best;
  }
  double s = 0;
  for (double v : g) s += p == 0 ? (v != 0) : std::pow(std::fabs(v), p);
  return p == 0 ? s : std::pow(s, 1 / p);
}

std::string describe(const Case& c, int layout, ScalarType t) {
  std::ostringstream os;
  os << "shape " << shape_text(c.shape) << " dims " << shape_text(c.dims) << " keepdim " << c.keepdim << " layout "
     << layout << " " << dtype_name(t);
  return os.str();
}

double tol(ScalarType t) { return t == kFloat32 ? 2e-5 : 1e-10; }

// gradcheck that reports the failing op instead of a bare exception.
void check_grad(const std::string& what, const autograd::GradcheckFn& fn, const std::vector<Tensor>& in,
                bool gradgrad = false) {
  INFO(what);
  try {
    CHECK(autograd::gradcheck(fn, in));
    if (gradgrad) CHECK(autograd::gradgradcheck(fn, in));
  } catch (const Error& e) {
    FAIL_CHECK(what << ": " << e.what());
  }
}

Tensor leaf(const Shape& s, double lo = -2, double hi = 2) {
  return test::uniform(s, lo, hi).requires_grad_(true);
}

}  // namespace

TEST_CASE("reduce: sum, mean and prod match the reference") {
  std::mt19937 rng(7);
  manual_seed(7);
  for (int trial = 0; trial < 120; ++trial) {
    Case c = random_case(rng, /*allow_empty=*/true, /*single=*/false);
    for (ScalarType t : {kFloat32, kFloat64, kInt64, kBool}) {
      int layout = trial % 3;
      Tensor x = make_input(c.shape, layout, -3, 3, t);
      std::string what = describe(c, layout, t);
      Tensor s = sum(x, c.dims, c.keepdim);
      CHECK_MESSAGE(s.dtype() == (is_floating_point(t) ? t : kInt64), what);
      CHECK_MESSAGE(s.sizes() == out_shape(c), what);
      check_close(values(s), reference(x, c.wrapped, ref_sum), tol(t), tol(t), "sum " + what);
      if (is_floating_point(t)) {
        Tensor m = mean(x, c.dims, c.keepdim);
        CHECK_MESSAGE(m.sizes() == out_shape(c), what);
        auto ref_mean = [](const std::vector<double>& g) { return ref_sum(g) / static_cast<double>(g.size()); };
        check_close(values(m), reference(x, c.wrapped, ref_mean), tol(t), tol(t), "mean " + what);
      }
    }
    // prod over one dim or all, on values that keep products in range.
    Case one = random_case(rng, true, /*single=*/true);
    for (ScalarType t : {kFloat32, kFloat64, kInt64, kBool}) {
      int layout = trial % 3;
      Tensor x = t == kInt64 ? make_input(one.shape, layout, -2, 3, t) : make_input(one.shape, layout, 0.8, 1.25, t);
      std::string what = describe(one, layout, t);
      Tensor p = prod(x, one.dims[0], one.keepdim);
      CHECK_MESSAGE(p.dtype() == (is_floating_point(t) ? t : kInt64), what);
      CHECK_MESSAGE(p.sizes() == out_shape(one), what);
      check_close(values(p), reference(x, one.wrapped, ref_prod), tol(t), tol(t), "prod(dim) " + what);
      if (x.numel() <= 20 || t != kInt64) {
        Shape all;
        for (int64_t d = 0; d < x.dim(); ++d) all.push_back(d);
        check_close(values(prod(x)), reference(x, all, ref_prod), tol(t), tol(t), "prod() " + what);
        CHECK(prod(x).dim() == 0);
      }
    }
  }
}

TEST_CASE("reduce: max, min, argmax and argmin match the reference (first index wins ties)") {
  std::mt19937 rng(11);
  manual_seed(11);
  for (int trial = 0; trial < 120; ++trial) {
    Case c = random_case(rng, /*allow_empty=*/false, /*single=*/true);
    for (ScalarType t : {kFloat32, kFloat64, kInt64, kBool}) {
      for (bool is_max : {true, false}) {
        int layout = trial % 3;
        // Integers in [-2, 2] make ties common.
        Tensor x = make_input(c.shape, layout, -2, 3, t);
        std::string what = describe(c, layout, t) + (is_max ? " max" : " min");
        auto [v, i] = is_max ? max(x, c.dims[0], c.keepdim) : min(x, c.dims[0], c.keepdim);
        CHECK_MESSAGE(v.dtype() == t, what);
        CHECK_MESSAGE(i.dtype() == kInt64, what);
        CHECK_MESSAGE(v.sizes() == out_shape(c), what);
        CHECK_MESSAGE(i.sizes() == out_shape(c), what);
        auto at = [&](const std::vector<double>& g) { return static_cast<double>(ref_extreme_at(g, is_max)); };
        auto val = [&](const std::vector<double>& g) { return g[ref_extreme_at(g, is_max)]; };
        check_close(values(v), reference(x, c.wrapped, val), 0, 0, "values " + what);
        check_close(values(i), reference(x, c.wrapped, at), 0, 0, "indices " + what);
        Tensor a = is_max ? argmax(x, c.dims[0], c.keepdim) : argmin(x, c.dims[0], c.keepdim);
        check_close(values(a), values(i), 0, 0, "arg " + what);
        // Over all elements: the value, and the index into the row-major flattening.
        Shape all;
        for (int64_t d = 0; d < x.dim(); ++d) all.push_back(d);
        std::vector<double> flat = values(x);
        size_t first = ref_extreme_at(flat, is_max);
        CHECK_MESSAGE(values(is_max ? max(x) : min(x))[0] == flat[first], what);
        Tensor af = is_max ? argmax(x) : argmin(x);
        CHECK_MESSAGE(af.dim() == 0, what);
        CHECK_MESSAGE(af.item<int64_t>() == static_cast<int64_t>(first), what);
        Tensor ak = is_max ? argmax(x, std::nullopt, true) : argmin(x, std::nullopt, true);
        CHECK_MESSAGE(ak.sizes() == Shape(static_cast<size_t>(x.dim()), 1), what);
      }
    }
  }
}

TEST_CASE("reduce: NaN wins max, min and argmax (first NaN), as in PyTorch") {
  Tensor x = tensor({1.0, kNaN, 3.0, kNaN});
  CHECK(std::isnan(max(x).item<double>()));
  CHECK(std::isnan(min(x).item<double>()));
  CHECK(argmax(x).item<int64_t>() == 1);
  CHECK(argmin(x).item<int64_t>() == 1);
  auto [v, i] = max(x.reshape({2, 2}), 1);
  CHECK(std::isnan(values(v)[0]));
  CHECK(std::isnan(values(v)[1]));
  CHECK(values(i) == std::vector<double>{1, 1});
}

TEST_CASE("reduce: max and argmax over long rows (vectorized blocks): ties, NaN, signed zeros") {
  std::mt19937 rng(29);
  for (int trial = 0; trial < 60; ++trial) {
    const int64_t n = std::uniform_int_distribution<int64_t>(1, 3000)(rng);
    ScalarType t = trial % 3 == 0 ? kFloat32 : trial % 3 == 1 ? kFloat64 : kInt64;
    // Few distinct values: many ties, in different blocks.
    Tensor x = test::uniform({2, n}, -3, 3, kFloat64).mul(0.5).to(kInt64).to(t).contiguous();
    if (t != kInt64 && trial % 4 == 0) {
      x.select(1, static_cast<int64_t>(rng() % n)).fill_(std::numeric_limits<double>::quiet_NaN());
      if (n > 1) x.select(0, 1).select(0, static_cast<int64_t>(rng() % n)).fill_(std::numeric_limits<double>::quiet_NaN());
    }
    for (bool is_max : {true, false}) {
      INFO("n " << n << " " << dtype_name(t) << (is_max ? " max" : " min"));
      auto [v, i] = is_max ? max(x, 1) : min(x, 1);
      for (int64_t r = 0; r < 2; ++r) {
        std::vector<double> row = values(x.select(0, r));
        size_t at = ref_extreme_at(row, is_max);
        CHECK(values(i)[static_cast<size_t>(r)] == static_cast<double>(at));
        double got = values(v)[static_cast<size_t>(r)];
        CHECK(((std::isnan(got) && std::isnan(row[at])) || got == row[at]));
      }
      Tensor flat_arg = is_max ? argmax(x) : argmin(x);
      CHECK(flat_arg.item<int64_t>() == static_cast<int64_t>(ref_extreme_at(values(x), is_max)));
    }
  }
  // Of -0 and +0 the first one is returned, in every block position.
  Tensor z = zeros({2048}, dtype(kFloat64));
  z.slice(0, 0, 1500).fill_(-0.0);
  auto [zv, zi] = max(z, 0);
  CHECK(zi.item<int64_t>() == 0);
  CHECK(std::signbit(zv.item<double>()));
}

TEST_CASE("reduce: var, std, logsumexp and norm match the reference") {
  std::mt19937 rng(13);
  manual_seed(13);
  for (int trial = 0; trial < 100; ++trial) {
    Case c = random_case(rng, /*allow_empty=*/trial % 5 == 0, /*single=*/false);
    for (ScalarType t : {kFloat32, kFloat64}) {
      int layout = trial % 3;
      Tensor x = make_input(c.shape, layout, -3, 3, t);
      std::string what = describe(c, layout, t);
      for (bool unbiased : {true, false}) {
        auto rv = [&](const std::vector<double>& g) { return ref_var(g, unbiased); };
        auto rs = [&](const std::vector<double>& g) { return std::sqrt(ref_var(g, unbiased)); };
        Tensor v = var(x, c.dims, unbiased, c.keepdim);
        CHECK_MESSAGE(v.sizes() == out_shape(c), what);
        CHECK_MESSAGE(v.dtype() == t, what);
        check_close(values(v), reference(x, c.wrapped, rv), tol(t), tol(t), "var " + what);
        check_close(values(ember::std(x, c.dims, unbiased, c.keepdim)), reference(x, c.wrapped, rs), tol(t), tol(t),
                    "std " + what);
      }
      Tensor l = logsumexp(x, c.dims, c.keepdim);
      CHECK_MESSAGE(l.sizes() == out_shape(c), what);
      check_close(values(l), reference(x, c.wrapped, ref_logsumexp), tol(t), tol(t), "logsumexp " + what);
      int64_t per_output = 1;
      for (int64_t d : c.wrapped) per_output *= c.shape[d];
      for (double p : {2.0, 1.0, 3.0, 0.5, 0.0, kInf, -kInf}) {
        if (std::isinf(p) && per_output == 0) continue;  // an error, checked below
        Tensor n = norm(x, p, c.dims, c.keepdim);
        CHECK_MESSAGE(n.sizes() == out_shape(c), what);
        check_close(values(n), reference(x, c.wrapped, [&](const auto& g) { return ref_norm(g, p); }), tol(t), tol(t),
                    "norm p=" + std::to_string(p) + " " + what);
      }
    }
  }
  // Integers are promoted by logsumexp; default norm is the 2-norm over everything.
  Tensor xi = tensor({1, 2, 3});
  CHECK(logsumexp(xi, {0}).dtype() == kFloat32);
  CHECK(logsumexp(xi, {0}).item<double>() == doctest::Approx(std::log(std::exp(1) + std::exp(2) + std::exp(3))));
  CHECK(norm(tensor({3.0, 4.0})).item<double>() == doctest::Approx(5.0));
  CHECK(tensor({{3.0, 4.0}}).norm().item<double>() == doctest::Approx(5.0));
}

TEST_CASE("reduce: logsumexp is stable for huge and infinite values") {
  Tensor x = tensor({1e4, 1e4, -1e4});
  CHECK(logsumexp(x, {0}).item<double>() == doctest::Approx(1e4 + std::log(2.0)));
  Tensor f = tensor({1e30f, 1e30f});
  CHECK(std::isfinite(logsumexp(f, {0}).item<double>()));
  Tensor neg = tensor({-kInf, -kInf});
  CHECK(logsumexp(neg, {0}).item<double>() == -kInf);
  Tensor pos = tensor({kInf, 1.0});
  CHECK(logsumexp(pos, {0}).item<double>() == kInf);
  CHECK(logsumexp(zeros({0, 3}), {0}).sizes() == Shape{3});
  CHECK(values(logsumexp(zeros({0, 3}), {0}))[0] == -kInf);
}

TEST_CASE("reduce: empty and 0-d tensors behave as in PyTorch") {
  Tensor e = zeros({0, 3});
  CHECK(sum(e).item<double>() == 0);
  CHECK(prod(e).item<double>() == 1);
  CHECK(std::isnan(mean(e).item<double>()));
  CHECK(sum(e, {0}).sizes() == Shape{3});
  CHECK(values(sum(e, {0})) == std::vector<double>{0, 0, 0});
  CHECK(values(prod(e, 0)) == std::vector<double>{1, 1, 1});
  CHECK(sum(e, {1}).sizes() == Shape{0});
  CHECK(std::isnan(var(e).item<double>()));
  CHECK(norm(e).item<double>() == 0);
  // max along a non-empty dim of an empty tensor is fine (an empty result).
  auto [v, i] = max(e, 1);
  CHECK(v.sizes() == Shape{0});
  CHECK(i.sizes() == Shape{0});
  CHECK(argmax(e, 1, true).sizes() == Shape{0, 1});

  Tensor s = scalar_tensor(2.5, dtype(kFloat64));
  for (int64_t d : {0, -1}) {
    CHECK(sum(s, {d}).dim() == 0);
    CHECK(sum(s, {d}, true).dim() == 0);
    CHECK(prod(s, d).item<double>() == 2.5);
    auto [mv, mi] = max(s, d, true);
    CHECK(mv.item<double>() == 2.5);
    CHECK(mi.item<int64_t>() == 0);
    CHECK(mi.dim() == 0);
    CHECK(argmin(s, d).item<int64_t>() == 0);
    CHECK(logsumexp(s, {d}).item<double>() == doctest::Approx(2.5));
    CHECK(norm(s, 2, {d}).item<double>() == 2.5);
  }
  CHECK(max(s).item<double>() == 2.5);
  CHECK(argmax(s).item<int64_t>() == 0);
  CHECK(std::isnan(var(s).item<double>()));  // unbiased with one element: 0 / 0
  CHECK(var(s, {}, false).item<double>() == 0);
  CHECK(std::isnan(var(tensor({1.0}), {0}).item<double>()));
}

TEST_CASE("reduce: error messages match PyTorch") {
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg);
    CHECK(msg.find(part) != std::string::npos);
  };
  Tensor e = zeros({0, 3});
  has(error_of([&] { max(e); }),
      "max(): Expected reduction dim to be specified for input.numel() == 0. Specify the reduction dim with the "
      "'dim' argument.");
  has(error_of([&] { min(e); }), "min(): Expected reduction dim to be specified for input.numel() == 0.");
  has(error_of([&] { max(e, 0); }), "max(): Expected reduction dim 0 to have non-zero size.");
  has(error_of([&] { min(e, -2); }), "min(): Expected reduction dim 0 to have non-zero size.");
  has(error_of([&] { argmax(e); }), "argmax(): Expected reduction dim to be specified for input.numel() == 0.");
  has(error_of([&] { argmin(e, 0); }), "argmin(): Expected reduction dim 0 to have non-zero size.");
  Tensor x = zeros({2, 3});
  has(error_of([&] { sum(x, {2}); }), "Dimension out of range (expected to be in range of [-2, 1], but got 2)");
  has(error_of([&] { max(x, -3); }), "Dimension out of range (expected to be in range of [-2, 1], but got -3)");
  has(error_of([&] { softmax(x, 2); }), "Dimension out of range");
  has(error_of([&] { sum(scalar_tensor(1.0), {1}); }), "expected to be in range of [-1, 0], but got 1");
  has(error_of([&] { sum(x, {0, -2}); }), "dim 0 appears multiple times in the list of dims");
  Tensor xi = tensor({1, 2});
  has(error_of([&] { mean(xi); }), "mean(): could not infer output dtype");
  has(error_of([&] { var(xi); }), "std and var only support floating point and complex dtypes");
  has(error_of([&] { ember::std(xi); }), "std and var only support floating point and complex dtypes");
  has(error_of([&] { norm(xi); }), "Expected a floating point or complex tensor as input. Got int64");
  has(error_of([&] { norm(e, kInf); }), "norm on an empty tensor because the operation does not have an identity");
  has(error_of([&] { norm(e, -1.0); }), "negative order");
  has(error_of([&] { sum(Tensor()); }), "expected a defined tensor");
  CHECK(error_of([&] { norm(e, kInf, {1}); }).empty());  // reduces 3 elements per (no) output
}

TEST_CASE("reduce: kernel strategies agree with the reference on large and awkward layouts") {
  manual_seed(3);
  // Row and column sums of a contiguous 4096 x 4096 float matrix (inner and outer strategies).
  Tensor big = rand({4096, 4096});
  std::vector<double> v = values(big);
  std::vector<double> rows(4096, 0), cols(4096, 0);
  for (size_t r = 0; r < 4096; ++r)
    for (size_t c = 0; c < 4096; ++c) {
      rows[r] += v[r * 4096 + c];
      cols[c] += v[r * 4096 + c];
    }
  check_close(values(sum(big, {1})), rows, 1e-3, 1e-6, "row sums");
  check_close(values(sum(big, {0})), cols, 1e-3, 1e-6, "column sums");
  check_close(values(big.sum()), {ref_sum(v)}, 1e-2, 1e-6, "full sum (split strategy)");
  check_close(values(sum(big.t(), {0})), rows, 1e-3, 1e-6, "row sums of the transpose");
  auto [cm, ci] = max(big, 0);
  auto [rm, ri] = min(big, 1);
  std::vector<double> col0(4096), row0(v.begin(), v.begin() + 4096);
  for (size_t r = 0; r < 4096; ++r) col0[r] = v[r * 4096];
  CHECK(values(ci)[0] == static_cast<double>(ref_extreme_at(col0, true)));
  CHECK(values(ri)[0] == static_cast<double>(ref_extreme_at(row0, false)));
  CHECK(argmax(big).item<int64_t>() == static_cast<int64_t>(ref_extreme_at(v, true)));

  // Long runs with few outputs: split strategy, index of the extreme in the last chunk, NaN.
  Tensor longrun = rand({3, 200001}, dtype(kFloat64));
  longrun.select(1, 200000).fill_(5.0);
  auto [lv, li] = max(longrun, 1);
  CHECK(values(li) == std::vector<double>{200000, 200000, 200000});
  CHECK(values(lv) == std::vector<double>{5, 5, 5});
  longrun.select(1, 70000).select(0, 1).fill_(kNaN);
  auto [nv, ni] = max(longrun, 1);
  CHECK(values(ni)[1] == 70000);
  CHECK(std::isnan(values(nv)[1]));
  check_close(values(sum(longrun.select(0, 0), {0})), {ref_sum(values(longrun.select(0, 0)))}, 1e-8, 1e-12,
              "split sum");

  // Full reductions of a transpose read memory in order; two reduced groups (NCHW channels).
  Tensor bt = big.t();
  check_close(values(bt.sum()), {ref_sum(v)}, 1e-2, 1e-6, "full sum of the transpose");
  CHECK(values(bt.max())[0] == *std::max_element(v.begin(), v.end()));
  CHECK(values(norm(bt, -kInf))[0] == *std::min_element(v.begin(), v.end()));
  Tensor nchw = randn({64, 3, 32, 32}, dtype(kFloat64));
  check_close(values(sum(nchw, {0, 2, 3})), reference(nchw, {0, 2, 3}, ref_sum), 1e-9, 1e-12, "NCHW channel sums");
  check_close(values(norm(nchw, kInf, {0, 2, 3})), reference(nchw, {0, 2, 3}, [](auto& g) { return ref_norm(g, kInf); }),
              0, 0, "NCHW channel max |x|");
  check_close(values(sum(nchw.slice(0, 0, 5), {0, 2, 3})), reference(nchw.slice(0, 0, 5), {0, 2, 3}, ref_sum), 1e-9,
              1e-12, "NCHW small batch");
  Tensor nhwc = randn({64, 32, 32, 3}, dtype(kFloat64));
  check_close(values(sum(nhwc, {0, 1, 2})), reference(nhwc, {0, 1, 2}, ref_sum), 1e-9, 1e-12, "NHWC channel sums");
  check_close(values(var(nhwc, {0, 1, 2}, false)), reference(nhwc, {0, 1, 2}, [](auto& g) { return ref_var(g, false); }),
              1e-9, 1e-9, "NHWC channel var");

  // Layouts that need a batch loop or a copy: middle dims, outer-and-inner dims, permutes.
  Tensor x = randn({6, 7, 8, 9}, dtype(kFloat64));
  std::vector<std::pair<Tensor, Shape>> cases = {
      {x, {1}}, {x, {2}}, {x, {0, 2}}, {x, {1, 3}}, {x, {0, 3}}, {x.permute({2, 0, 3, 1}), {1}},
      {x.permute({3, 1, 0, 2}), {0, 2}}, {x.slice(2, 1, 8, 3), {0, 2}}, {x.transpose(1, 2), {2}},
      {x.select(3, 4), {1}}, {x.expand({2, 6, 7, 8, 9}), {0, 2}},
  };
  for (auto& [t, dims] : cases) {
    std::string what = "shape " + std::to_string(t.dim()) + "-d dims " + std::to_string(dims[0]);
    check_close(values(sum(t, dims)), reference(t, dims, ref_sum), 1e-10, 1e-10, "sum " + what);
    check_close(values(prod(t, dims[0])), reference(t, {dims[0]}, ref_prod), 1e-10, 1e-10, "prod " + what);
    auto [mv, mi] = min(t, dims[0]);
    auto at = [](const std::vector<double>& g) { return static_cast<double>(ref_extreme_at(g, false)); };
    check_close(values(mi), reference(t, {dims[0]}, at), 0, 0, "argmin " + what);
  }
}

TEST_CASE("reduce: gradients (gradcheck, and gradgradcheck for sum, mean, var, logsumexp)") {
  manual_seed(5);
  using In = const std::vector<Tensor>&;
  Tensor x = leaf({3, 4});
  check_grad("sum", [](In in) { return sum(in[0]); }, {x}, true);
  check_grad("sum dims", [](In in) { return sum(in[0], {-1}, true); }, {x}, true);
  check_grad("mean", [](In in) { return mean(in[0], {0}); }, {x}, true);
  check_grad("mean transposed", [](In in) { return mean(in[0].t(), {1}, true); }, {x}, true);
  check_grad("var", [](In in) { return var(in[0], {1}); }, {x}, true);
  check_grad("var all biased", [](In in) { return var(in[0], {}, false); }, {x}, true);
  check_grad("std", [](In in) { return ember::std(in[0], {0}, true, true); }, {x});
  check_grad("logsumexp", [](In in) { return logsumexp(in[0], {1}); }, {x}, true);
  check_grad("logsumexp all keepdim", [](In in) { return logsumexp(in[0].slice(1, 0, 4, 2), {0, 1}, true); }, {x},
             true);
  check_grad("prod all", [](In in) { return prod(in[0]); }, {x});
  check_grad("prod dim", [](In in) { return prod(in[0], -2, true); }, {x});
  // Zeros: prod is linear in each element, so finite differences are exact there too.
  Tensor z = tensor({{0.0, 2.0, 3.0}, {0.0, 0.0, 4.0}, {1.5, -2.0, 0.5}}, dtype(kFloat64)).requires_grad_(true);
  check_grad("prod with zeros", [](In in) { return prod(in[0], 1); }, {z});
  check_grad("prod all with zeros", [](In in) { return prod(in[0].select(0, 0)); }, {z});
  check_grad("max dim", [](In in) { return std::get<0>(max(in[0], 1)); }, {x});
  check_grad("min dim keepdim", [](In in) { return std::get<0>(min(in[0].t(), -1, true)); }, {x});
  check_grad("max", [](In in) { return max(in[0]); }, {x});
  check_grad("min", [](In in) { return min(in[0]); }, {x});
  for (double p : {2.0, 1.0, 3.0, 1.5, 0.5, kInf, -kInf}) {
    Tensor away = leaf({3, 4}, 0.5, 2);  // no zeros: |x| is smooth there
    check_grad("norm p=" + std::to_string(p), [p](In in) { return norm(in[0] * (in[0] - 1.25), p, {1}); }, {away});
  }
  check_grad("norm default", [](In in) { return norm(in[0]); }, {x}, true);

  Tensor s = scalar_tensor(1.5, dtype(kFloat64).requires_grad(true));
  check_grad("0-d sum", [](In in) { return sum(in[0], {0}); }, {s}, true);
  check_grad("0-d max dim", [](In in) { return std::get<0>(max(in[0], -1)); }, {s});
  check_grad("0-d prod", [](In in) { return prod(in[0], 0); }, {s});
}

TEST_CASE("reduce: gradient special cases (ties, norm at zero, names)") {
  // max over all with ties: the gradient is shared evenly, as in PyTorch.
  Tensor x = tensor({1.0, 3.0, 3.0, 2.0, 3.0}, dtype(kFloat64)).requires_grad_(true);
  Tensor m = max(x);
  CHECK(std::string(m.grad_fn()->name()) == "MaxBackward");
  m.backward();
  check_close(values(x.grad()), {0, 1.0 / 3, 1.0 / 3, 0, 1.0 / 3}, 1e-12, 0, "max tie grad");
  // max along a dim: the first maximal element gets it all.
  Tensor y = tensor({{2.0, 5.0, 5.0}, {1.0, 1.0, 0.0}}, dtype(kFloat64)).requires_grad_(true);
  std::get<0>(max(y, 1)).sum().backward();
  check_close(values(y.grad()), {0, 1, 0, 1, 0, 0}, 0, 0, "max dim grad");
  Tensor w = tensor({{2.0, 5.0, 5.0}, {1.0, 1.0, 0.0}}, dtype(kFloat64)).requires_grad_(true);
  std::get<0>(min(w, 0, true)).sum().backward();
  check_close(values(w.grad()), {0, 0, 0, 1, 1, 1}, 0, 0, "min dim grad");
  CHECK(std::string(std::get<0>(min(w, 0)).grad_fn()->name()) == "MinBackward");
  // The 2-norm (and p-norms) at 0 have gradient 0, not NaN.
  for (double p : {2.0, 3.0, 1.5, 0.5}) {
    Tensor z = zeros({4}, dtype(kFloat64).requires_grad(true));
    Tensor n = norm(z, p);
    CHECK(std::string(n.grad_fn()->name()) == "NormBackward");
    n.backward();
    check_close(values(z.grad()), {0, 0, 0, 0}, 0, 0, "norm grad at 0, p=" + std::to_string(p));
  }
  // std of constant input: gradient 0 (PyTorch masks the 1 / std).
  Tensor c = ones({3}, dtype(kFloat64).requires_grad(true));
  ember::std(c).backward();
  check_close(values(c.grad()), {0, 0, 0}, 0, 0, "std grad at 0");
  // prod with zeros: only the single zero gets a gradient.
  Tensor p = tensor({2.0, 0.0, 3.0}, dtype(kFloat64)).requires_grad_(true);
  Tensor pr = prod(p);
  CHECK(std::string(pr.grad_fn()->name()) == "ProdBackward");
  pr.backward();
  check_close(values(p.grad()), {0, 6, 0}, 0, 0, "prod zero grad");
  // Names of the other nodes; integer results record nothing.
  Tensor f = leaf({2, 3});
  CHECK(std::string(var(f).grad_fn()->name()) == "VarBackward");
  CHECK(std::string(ember::std(f).grad_fn()->name()) == "StdBackward");
  CHECK(!std::get<1>(max(f, 0)).requires_grad());
  CHECK(!argmax(f).requires_grad());
  CHECK(!prod(tensor({1, 2})).requires_grad());
  // Empty inputs give empty (or zero) gradients.
  Tensor e = zeros({0, 3}, dtype(kFloat64).requires_grad(true));
  (sum(e) + prod(e, 0).sum() + norm(e) + logsumexp(e, {1}).sum()).backward();
  CHECK(e.grad().sizes() == Shape{0, 3});
}
