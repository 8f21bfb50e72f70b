// Matrix products against a naive triple loop in double that implements torch.matmul's
// shape rules on its own (vector operands, broadcast batch dims). Random shapes (empty
// included), contiguous / transposed / step-sliced / broadcast layouts, float32, float64 and
// int64; vector, thin, split and batched products at 1 and 2 threads; PyTorch's
// error messages; gradients (gradcheck, gradgradcheck).
#include <algorithm>
#include <random>
#include <sstream>

#include "test_util.h"

using namespace ember;
using test::check_close;
using test::error_of;
using test::values;

namespace {

struct Ref {
  Shape shape;
  std::vector<double> v;
};

// torch.matmul computed by hand: 1-D operands become a row / a column that is dropped from
// the result, batch dims broadcast NumPy-style, and each product is a triple loop.
Ref ref_matmul(const Tensor& a, const Tensor& b) {
  const std::vector<double> av = values(a), bv = values(b);
  Shape sa = a.sizes(), sb = b.sizes();
  const bool va = sa.size() == 1, vb = sb.size() == 1;
  if (va) sa = Shape{1, sa[0]};
  if (vb) sb = Shape{sb[0], 1};
  const int64_t n = sa[sa.size() - 2], k = sa.back(), m = sb.back();
  REQUIRE(sb[sb.size() - 2] == k);
  Shape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2);
  const size_t nd = std::max(ba.size(), bb.size());
  while (ba.size() < nd) ba.insert(ba.begin(), 1);
  while (bb.size() < nd) bb.insert(bb.begin(), 1);
  Shape batch;
  for (size_t d = 0; d < nd; ++d) {
    REQUIRE((ba[d] == bb[d] || ba[d] == 1 || bb[d] == 1));
    batch.push_back(ba[d] == 1 ? bb[d] : ba[d]);
  }
  int64_t nbatch = 1;
  for (int64_t s : batch) nbatch *= s;
  Ref r;
  r.shape = batch;
  if (!va) r.shape.push_back(n);
  if (!vb) r.shape.push_back(m);
  r.v.assign(static_cast<size_t>(nbatch * n * m), 0.0);
  for (int64_t flat = 0; flat < nbatch; ++flat) {
    // Batch index -> linear batch index of each operand (size-1 dims repeat).
    int64_t rem = flat, ia = 0, ib = 0, stride_a = 1, stride_b = 1;
    for (size_t d = nd; d-- > 0;) {
      int64_t idx = rem % batch[d];
      rem /= batch[d];
      ia += (ba[d] == 1 ? 0 : idx) * stride_a;
      ib += (bb[d] == 1 ? 0 : idx) * stride_b;
      stride_a *= ba[d];
      stride_b *= bb[d];
    }
    const double* pa = av.data() + ia * n * k;
    const double* pb = bv.data() + ib * k * m;
    double* pc = r.v.data() + flat * n * m;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += pa[i * k + p] * pb[p * m + j];
        pc[i * m + j] = s;
      }
  }
  return r;
}

double atol_for(ScalarType t, int64_t k) {
  if (t == kInt64) return 0;
  return (t == kFloat32 ? 2e-6 : 1e-13) * static_cast<double>(k + 1);
}

// Checks matmul(a, b) (and the method form) against the reference.
void check_matmul(const Tensor& a, const Tensor& b, const std::string& what) {
  INFO(what);
  Ref r = ref_matmul(a, b);
  Tensor got = matmul(a, b);
  REQUIRE_MESSAGE(got.sizes() == r.shape, what << ": shape " << shape_text(got.sizes()) << " want "
                                              << shape_text(r.shape));
  CHECK(got.dtype() == a.dtype());
  CHECK(got.is_contiguous());
  const int64_t k = a.size(-1);
  check_close(values(got), r.v, atol_for(a.dtype(), k), a.dtype() == kInt64 ? 0 : 1e-5, what);
}

// Values in [-1, 1) (int64: [-5, 5]) of the given logical shape, laid out as asked:
// 0 contiguous, 1 the last two dims transposed, 2 every other element of the last dim,
// 3 every other row (step slice on the second-to-last dim).
Tensor make(const Shape& s, int layout, ScalarType t) {
  auto gen = [&](const Shape& shape) {
    return t == kInt64 ? randint(-5, 6, shape) : test::uniform(shape, -1, 1, t);
  };
  const size_t nd = s.size();
  if (layout == 1 && nd >= 2) {
    Shape sw = s;
    std::swap(sw[nd - 1], sw[nd - 2]);
    return gen(sw).transpose(-1, -2);
  }
  if (layout == 2 && nd >= 1) {
    Shape wide = s;
    wide.back() *= 2;
    return gen(wide).slice(-1, 0, std::nullopt, 2);
  }
  if (layout == 3 && nd >= 2) {
    Shape tall = s;
    tall[nd - 2] *= 2;
    return gen(tall).slice(-2, 0, std::nullopt, 2);
  }
  return gen(s);
}

std::string describe(const Tensor& a, const Tensor& b) {
  std::ostringstream os;
  os << shape_text(a.sizes()) << " strides " << shape_text(a.strides()) << " @ " << shape_text(b.sizes())
     << " strides " << shape_text(b.strides()) << " " << dtype_name(a.dtype());
  return os.str();
}

// Runs fn with ember's thread count set to n, restoring it after.
template <class F>
void with_threads(int n, F&& fn) {
  const int before = get_num_threads();
  set_num_threads(n);
  try {
    fn();
  } catch (...) {
    set_num_threads(before);
    throw;
  }
  set_num_threads(before);
}

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

Tensor leaf(const Shape& s) { return test::uniform(s, -1, 1).requires_grad_(true); }

const ScalarType kTypes[] = {kFloat32, kFloat64, kInt64};

}  // namespace

TEST_CASE("matmul: random shapes of every rank and layout match the naive loop") {
  manual_seed(11);
  std::mt19937 rng(11);
  auto pick = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  for (int iter = 0; iter < 300; ++iter) {
    const int64_t da = pick(1, 4), db = pick(1, 4);
    const int64_t n = pick(0, 7), k = pick(0, 7), m = pick(0, 7);
    // Batch dims: a common shape, then some dims set to 1 on one side and leading dims dropped.
    Shape batch;
    for (int64_t d = 0; d < 2; ++d) batch.push_back(pick(0, 9) == 0 ? 0 : pick(1, 3));
    auto side = [&](int64_t dims, bool is_a) {
      Shape s;
      if (dims == 1) return Shape{k};
      const int64_t nb = dims - 2;
      for (int64_t d = 2 - nb; d < 2; ++d) s.push_back(pick(0, 3) == 0 ? 1 : batch[d]);
      s.push_back(is_a ? n : k);
      s.push_back(is_a ? k : m);
      return s;
    };
    const ScalarType t = kTypes[iter % 3];
    Tensor a = make(side(da, true), static_cast<int>(pick(0, 3)), t);
    Tensor b = make(side(db, false), static_cast<int>(pick(0, 3)), t);
    check_matmul(a, b, describe(a, b));
  }
}

TEST_CASE("matmul: vector operands follow torch.matmul's unsqueeze and squeeze rules") {
  manual_seed(12);
  for (ScalarType t : kTypes) {
    Tensor v = make({5}, 0, t), w = make({5}, 2, t);
    Tensor d = matmul(v, w);
    CHECK(d.dim() == 0);
    check_matmul(v, w, "dot");
    check_close(values(dot(v, w)), ref_matmul(v, w).v, atol_for(t, 5), 1e-6, "dot()");
    check_matmul(make({3, 5}, 0, t), v, "mv");
    check_matmul(make({3, 5}, 1, t), w, "mv transposed");
    check_matmul(v, make({5, 4}, 0, t), "vm");
    check_matmul(v, make({5, 4}, 1, t), "vm transposed");
    check_matmul(v, make({2, 3, 5, 4}, 0, t), "vector @ batched");
    check_matmul(make({2, 3, 4, 5}, 0, t), w, "batched @ vector");
    check_matmul(make({2, 3, 4, 5}, 1, t), v, "transposed batched @ vector");
    CHECK(matmul(make({3, 5}, 0, t), v).sizes() == Shape{3});
    CHECK(matmul(v, make({2, 5, 4}, 0, t)).sizes() == Shape{2, 4});
    CHECK(matmul(make({2, 3, 5}, 0, t), v).sizes() == Shape{2, 3});
  }
}

TEST_CASE("matmul: batched products broadcast their batch dims") {
  manual_seed(13);
  for (ScalarType t : kTypes) {
    check_matmul(make({2, 3, 4, 5}, 0, t), make({5, 6}, 0, t), "fold into one GEMM");
    check_matmul(make({4, 5}, 0, t), make({2, 3, 5, 6}, 0, t), "matrix @ batched");
    check_matmul(make({2, 1, 4, 5}, 0, t), make({1, 3, 5, 6}, 1, t), "both sides broadcast");
    check_matmul(make({3, 4, 5}, 2, t), make({2, 1, 5, 6}, 0, t), "extra leading dim");
    check_matmul(make({2, 3, 4, 5}, 3, t), make({3, 5, 6}, 0, t), "rows sliced");
    check_matmul(make({1, 4, 5}, 0, t).expand({6, 4, 5}), make({6, 5, 2}, 0, t), "expanded batch");
    check_matmul(make({3, 4, 5}, 0, t).transpose(0, 1), make({5, 2}, 0, t), "transposed batch cannot fold");
    Tensor x = make({3, 4, 5}, 0, t), y = make({3, 5, 2}, 1, t);
    Ref r = ref_matmul(x, y);
    Tensor got = bmm(x, y);
    CHECK(got.sizes() == r.shape);
    check_close(values(got), r.v, atol_for(t, 5), 1e-6, "bmm");
    check_close(values(x.bmm(y)), r.v, atol_for(t, 5), 1e-6, "Tensor::bmm");
  }
}

TEST_CASE("matmul: transposed, step-sliced and broadcast-inside operands") {
  manual_seed(14);
  for (ScalarType t : kTypes) {
    Tensor a = make({6, 7}, 0, t), b = make({7, 5}, 0, t);
    check_matmul(a, b, "contiguous");
    check_matmul(make({7, 6}, 0, t).t(), b, "a.t()");
    check_matmul(a, make({5, 7}, 0, t).t(), "b.t()");
    check_matmul(make({7, 6}, 0, t).t(), make({5, 7}, 0, t).t(), "both .t()");
    check_matmul(make({2, 7, 6}, 0, t).transpose(1, 2), make({2, 5, 7}, 0, t).transpose(1, 2), "transpose(1, 2)");
    Tensor wide = make({6, 14}, 0, t);
    check_matmul(wide.slice(1, 0, 14, 2), b, "column step slice (copied)");
    check_matmul(make({12, 7}, 0, t).slice(0, 0, 12, 2), b, "row step slice (leading dim 14)");
    check_matmul(a, make({7, 10}, 0, t).slice(1, 0, 10, 2), "b column step slice");
    check_matmul(a.narrow(1, 1, 5), make({5, 5}, 0, t), "narrowed: offset and leading dim");
    check_matmul(make({6, 1}, 0, t).expand({6, 7}), b, "stride-0 columns");
    check_matmul(a, make({1, 5}, 0, t).expand({7, 5}), "stride-0 rows");
    check_matmul(make({1, 1}, 0, t).expand({6, 7}), b, "one element broadcast");
    check_matmul(make({1, 7}, 0, t), b, "single row");
    check_matmul(a, make({7, 1}, 0, t), "single column");
    check_matmul(make({1, 7}, 0, t).t().t(), make({7, 1}, 2, t), "size-1 dims with odd strides");
  }
}

TEST_CASE("matmul: empty products") {
  for (ScalarType t : kTypes) {
    Tensor z = matmul(make({3, 0}, 0, t), make({0, 4}, 0, t));
    CHECK(z.sizes() == Shape{3, 4});
    check_close(values(z), std::vector<double>(12, 0.0), 0, 0, "k = 0 gives zeros");
    CHECK(matmul(make({0, 3}, 0, t), make({3, 4}, 0, t)).sizes() == Shape{0, 4});
    CHECK(matmul(make({2, 3}, 0, t), make({3, 0}, 0, t)).sizes() == Shape{2, 0});
    CHECK(matmul(make({0, 2, 3}, 0, t), make({3, 4}, 0, t)).sizes() == Shape{0, 2, 4});
    CHECK(bmm(make({0, 2, 3}, 0, t), make({0, 3, 4}, 0, t)).sizes() == Shape{0, 2, 4});
    Tensor zb = matmul(make({2, 3, 0}, 0, t), make({2, 0, 5}, 0, t));
    check_close(values(zb), std::vector<double>(30, 0.0), 0, 0, "batched k = 0");
    Tensor d = dot(make({0}, 0, t), make({0}, 0, t));
    CHECK(d.dim() == 0);
    CHECK(d.item<double>() == 0);
    CHECK(matmul(make({0}, 0, t), make({0, 3}, 0, t)).sizes() == Shape{3});
  }
  Tensor g = zeros({3, 0}).requires_grad_(true);
  Tensor h = zeros({0, 4}).requires_grad_(true);
  matmul(g, h).sum().backward();
  CHECK(g.grad().sizes() == Shape{3, 0});
  CHECK(h.grad().sizes() == Shape{0, 4});
}

TEST_CASE("matmul: sizes around the backend and threading thresholds, at 1 and 2 threads") {
  manual_seed(15);
  for (int threads : {1, 2}) {
    with_threads(threads, [&] {
      const std::string th = " threads " + std::to_string(threads);
      for (ScalarType t : {kFloat32, kFloat64}) {
        check_matmul(make({300, 257}, 0, t), make({257, 129}, 0, t), "300x257x129" + th);
        check_matmul(make({300, 257}, 1, t), make({257, 129}, 1, t), "300x257x129 transposed" + th);
        check_matmul(make({300, 257}, 3, t), make({257, 129}, 2, t), "300x257x129 sliced" + th);
        check_matmul(make({64, 64}, 0, t), make({64, 64}, 1, t), "64^3" + th);
        check_matmul(make({96, 100}, 1, t), make({100, 96}, 0, t), "96x100x96" + th);
        check_matmul(make({1000, 128}, 0, t), make({128, 16}, 0, t), "thin output" + th);
        check_matmul(make({3, 130, 120}, 0, t), make({3, 120, 140}, 1, t), "batched, threaded inside" + th);
        check_matmul(make({40, 9, 10}, 0, t), make({40, 10, 11}, 2, t), "batched, split over batch" + th);
        check_matmul(make({40, 10, 9}, 0, t).transpose(1, 2), make({1, 10, 11}, 0, t), "split, broadcast" + th);
        check_matmul(make({40, 10, 9}, 2, t).transpose(1, 2), make({10, 11}, 2, t), "split, both copied" + th);
        check_matmul(make({40, 300}, 3, t), make({300, 500}, 0, t), "wide output, split by columns" + th);
        check_matmul(make({40, 300}, 1, t), make({300, 500}, 1, t), "wide output, transposed" + th);
        check_matmul(make({512}, 0, t), make({512, 300}, 0, t), "vector @ big matrix" + th);
        check_matmul(make({300, 512}, 1, t), make({512}, 0, t), "big matrix @ vector" + th);
      }
      check_matmul(make({70, 80}, 1, kInt64), make({80, 90}, 0, kInt64), "int64" + th);
      check_matmul(make({20, 7, 8}, 0, kInt64), make({8, 9}, 1, kInt64), "int64 batched" + th);
    });
  }
}

TEST_CASE("matmul: the thread count does not change results") {
  manual_seed(16);
  Tensor a = make({4, 200, 150}, 1, kFloat64), b = make({150, 170}, 0, kFloat64);
  Tensor one, two;
  with_threads(1, [&] { one = matmul(a, b); });
  with_threads(2, [&] { two = matmul(a, b); });
  check_close(values(two), values(one), 1e-12, 1e-12, "1 vs 2 threads");
}

TEST_CASE("matmul: mm, addmm and dot") {
  manual_seed(17);
  for (ScalarType t : kTypes) {
    Tensor a = make({4, 6}, 1, t), b = make({6, 3}, 2, t);
    Ref r = ref_matmul(a, b);
    check_close(values(mm(a, b)), r.v, atol_for(t, 6), 1e-6, "mm");
    check_close(values(a.mm(b)), r.v, atol_for(t, 6), 1e-6, "Tensor::mm");
    check_close(values(a.matmul(b)), r.v, atol_for(t, 6), 1e-6, "Tensor::matmul");
    const std::vector<double> rv = r.v;
    for (const Shape& self_shape : {Shape{4, 3}, Shape{3}, Shape{1, 3}, Shape{4, 1}, Shape{}}) {
      Tensor self = make(self_shape, 0, t);
      std::vector<double> sv = values(self.expand({4, 3}));
      const bool integral = t == kInt64;
      const Scalar beta = integral ? Scalar(3) : Scalar(0.5), alpha = integral ? Scalar(-2) : Scalar(2.0);
      std::vector<double> want(12);
      for (size_t i = 0; i < 12; ++i) want[i] = beta.to_double() * sv[i] + alpha.to_double() * rv[i];
      check_close(values(addmm(self, a, b, beta, alpha)), want, atol_for(t, 6), 1e-6, "addmm");
      for (size_t i = 0; i < 12; ++i) want[i] = sv[i] + rv[i];
      check_close(values(addmm(self, a, b)), want, atol_for(t, 6), 1e-6, "addmm defaults");
    }
  }
  // beta = 0 ignores self, NaN included (as PyTorch does).
  Tensor nan_self = full({2, 2}, std::nan(""), TensorOptions(kFloat64));
  Tensor e = eye(2, std::nullopt, TensorOptions(kFloat64));
  check_close(values(addmm(nan_self, e, e, 0, 3)), {3, 0, 0, 3}, 0, 0, "addmm beta = 0");
}

TEST_CASE("matmul: error messages match PyTorch") {
  auto has = [](const std::string& msg, const std::string& part) {
    INFO(msg);
    CHECK(msg.find(part) != std::string::npos);
  };
  Tensor x23 = zeros({2, 3}), x45 = zeros({4, 5});
  has(error_of([&] { matmul(scalar_tensor(1.0), zeros({3})); }),
      "both arguments to matmul need to be at least 1D, but they are 0D and 1D");
  has(error_of([&] { matmul(zeros({3}), scalar_tensor(1.0)); }), "but they are 1D and 0D");
  has(error_of([&] { mm(x23, x45); }), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  has(error_of([&] { matmul(x23, x45); }), "mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)");
  has(error_of([&] { matmul(zeros({3}), x45); }), "mat1 and mat2 shapes cannot be multiplied (1x3 and 4x5)");
  has(error_of([&] { matmul(zeros({2, 2, 3}), x45); }), "mat1 and mat2 shapes cannot be multiplied (4x3 and 4x5)");
  has(error_of([&] { matmul(x23, zeros({4})); }), "size mismatch, got input (2), mat (2x3), vec (4)");
  has(error_of([&] { matmul(zeros({3}), zeros({4})); }),
      "inconsistent tensor size, expected tensor [3] and src [4] to have the same number of elements, but got 3 and "
      "4 elements respectively");
  has(error_of([&] { matmul(x23, zeros({3, 2}, TensorOptions(kFloat64))); }),
      "expected scalar type Float but found Double");
  has(error_of([&] { mm(zeros({2, 3}, TensorOptions(kFloat64)), zeros({3, 2}, TensorOptions(kInt64))); }),
      "expected scalar type Double but found Long");
  has(error_of([&] { matmul(zeros({2, 2, 3}), zeros({3, 3, 4})); }),
      "The size of tensor a (2) must match the size of tensor b (3) at non-singleton dimension 0");
  has(error_of([&] { matmul(zeros({2, 2, 3}), zeros({2, 4, 4})); }),
      "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [2, 4].");
  has(error_of([&] { mm(zeros({3}), x23); }), "self must be a matrix");
  has(error_of([&] { mm(x23, zeros({3})); }), "mat2 must be a matrix");
  has(error_of([&] { bmm(x23, zeros({2, 3, 4})); }), "batch1 must be a 3D tensor");
  has(error_of([&] { bmm(zeros({2, 2, 3}), x23); }), "batch2 must be a 3D tensor");
  has(error_of([&] { bmm(zeros({2, 2, 3}), zeros({3, 3, 4})); }),
      "Expected size for first two dimensions of batch2 tensor to be: [2, 3] but got: [3, 3].");
  has(error_of([&] { dot(x23, zeros({3})); }), "1D tensors expected, but got 2D and 1D tensors");
  has(error_of([&] { dot(zeros({3}), zeros({3}, TensorOptions(kFloat64))); }),
      "dot : expected both vectors to have same dtype, but found Float and Double");
  has(error_of([&] { addmm(zeros({4}), x23, zeros({3, 5})); }),
      "The expanded size of the tensor (5) must match the existing size (4) at non-singleton dimension 1.  Target "
      "sizes: [2, 5].  Tensor sizes: [4]");
  has(error_of([&] { addmm(zeros({2, 2, 5}), x23, zeros({3, 5})); }), "The expanded size of the tensor");
  has(error_of([&] { addmm(zeros({5}), zeros({3}), zeros({3, 5})); }), "mat1 must be a matrix, got 1-D tensor");
  has(error_of([&] { addmm(zeros({2, 5}), x23, zeros({4, 5})); }), "(2x3 and 4x5)");
  Tensor i23 = zeros({2, 3}, TensorOptions(kInt64)), i32 = zeros({3, 2}, TensorOptions(kInt64));
  has(error_of([&] { addmm(zeros({2, 2}, TensorOptions(kInt64)), i23, i32, 0.5); }),
      "For integral input tensors, argument beta must not be a floating point number.");
  has(error_of([&] { matmul(zeros({2, 3}, TensorOptions(kBool)), zeros({3, 2}, TensorOptions(kBool))); }),
      "not implemented for 'bool'");
  has(error_of([&] { matmul(Tensor(), x23); }), "expected a defined tensor");
}

TEST_CASE("matmul: gradients of mm, bmm, addmm and dot (gradcheck)") {
  manual_seed(18);
  check_grad("mm", [](const std::vector<Tensor>& in) { return mm(in[0], in[1]); }, {leaf({3, 4}), leaf({4, 5})});
  check_grad("mm, transposed inputs", [](const std::vector<Tensor>& in) { return mm(in[0].t(), in[1].t()); },
             {leaf({4, 3}), leaf({5, 4})});
  check_grad("mm, one input needs grad", [](const std::vector<Tensor>& in) { return mm(in[0], in[1]); },
             {leaf({3, 4}), test::uniform({4, 2}, -1, 1)});
  check_grad("bmm", [](const std::vector<Tensor>& in) { return bmm(in[0], in[1]); },
             {leaf({2, 3, 4}), leaf({2, 4, 5})});
  check_grad("bmm, transposed", [](const std::vector<Tensor>& in) { return bmm(in[0].transpose(1, 2), in[1]); },
             {leaf({2, 4, 3}), leaf({2, 4, 5})});
  check_grad("dot", [](const std::vector<Tensor>& in) { return dot(in[0], in[1]); }, {leaf({5}), leaf({5})});
  for (const Shape& self_shape : {Shape{3, 5}, Shape{5}, Shape{3, 1}, Shape{}}) {
    std::ostringstream what;
    what << "addmm, self " << shape_text(self_shape);
    check_grad(what.str(), [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0.5, -2.0); },
               {leaf(self_shape), leaf({3, 4}), leaf({4, 5})});
  }
  check_grad("addmm defaults", [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2]); },
             {leaf({3, 5}), leaf({3, 4}), leaf({4, 5})});
  check_grad("addmm beta = 0", [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0, 1.5); },
             {leaf({3, 5}), leaf({3, 4}), leaf({4, 5})});
}

TEST_CASE("matmul: gradients of every matmul shape kind (gradcheck)") {
  manual_seed(19);
  auto mmfn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  const std::vector<std::pair<Shape, Shape>> kinds = {
      {{4}, {4}},          {{3, 4}, {4}},          {{4}, {4, 5}},          {{3, 4}, {4, 5}},
      {{2, 3, 4}, {4}},    {{2, 3, 4}, {4, 5}},    {{4}, {2, 4, 5}},       {{3, 4}, {2, 4, 5}},
      {{2, 3, 4}, {2, 4, 5}}, {{2, 1, 3, 4}, {3, 4, 2}}, {{1, 3, 4}, {2, 4, 5}}, {{2, 2, 3, 4}, {4}},
  };
  for (const auto& [sa, sb] : kinds) {
    std::ostringstream what;
    what << "matmul " << shape_text(sa) << " @ " << shape_text(sb);
    check_grad(what.str(), mmfn, {leaf(sa), leaf(sb)});
  }
  check_grad("matmul, transposed batch (no fold)",
             [](const std::vector<Tensor>& in) { return matmul(in[0].transpose(0, 1), in[1]); },
             {leaf({3, 2, 4}), leaf({4, 5})});
  check_grad("matmul, step-sliced", [](const std::vector<Tensor>& in) { return matmul(in[0].slice(1, 0, 8, 2), in[1]); },
             {leaf({3, 8}), leaf({4, 2})});
}

TEST_CASE("matmul: second derivatives of mm and matmul (gradgradcheck)") {
  manual_seed(20);
  auto mmfn = [](const std::vector<Tensor>& in) { return mm(in[0], in[1]); };
  check_grad("mm", mmfn, {leaf({3, 4}), leaf({4, 2})}, true);
  auto mfn = [](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); };
  check_grad("matmul 2-D", mfn, {leaf({2, 3}), leaf({3, 2})}, true);
  check_grad("matmul vector", mfn, {leaf({3}), leaf({3, 2})}, true);
  check_grad("matmul batched @ vector", mfn, {leaf({2, 2, 3}), leaf({3})}, true);
  check_grad("matmul broadcast", mfn, {leaf({2, 1, 2, 3}), leaf({2, 3, 2})}, true);
  check_grad("matmul squared", [](const std::vector<Tensor>& in) { return matmul(in[0], in[0]); }, {leaf({3, 3})}, true);
  check_grad("dot", [](const std::vector<Tensor>& in) { return dot(in[0], in[1]); }, {leaf({3}), leaf({3})}, true);
  check_grad("addmm", [](const std::vector<Tensor>& in) { return addmm(in[0], in[1], in[2], 0.5, 2.0); },
             {leaf({2}), leaf({2, 3}), leaf({3, 2})}, true);
}

TEST_CASE("matmul: backward node names and integer inputs") {
  Tensor a = leaf({2, 3}), b = leaf({3, 4});
  CHECK(std::string(mm(a, b).grad_fn()->name()) == "MmBackward");
  CHECK(std::string(bmm(leaf({2, 2, 3}), leaf({2, 3, 2})).grad_fn()->name()) == "BmmBackward");
  CHECK(std::string(dot(leaf({3}), leaf({3})).grad_fn()->name()) == "DotBackward");
  CHECK(std::string(addmm(leaf({4}), a, b).grad_fn()->name()) == "AddmmBackward");
  Tensor plain = matmul(randint(0, 3, {2, 3}), randint(0, 3, {3, 2}));
  CHECK(plain.dtype() == kInt64);
  CHECK(!plain.requires_grad());
  NoGradGuard no_grad;
  CHECK(!matmul(a, b).requires_grad());
}

TEST_CASE("matmul: the gradient of a transposed weight reaches it contiguous") {
  // Linear computes x @ w.t(); the gradient is produced in w.t()'s layout so that the
  // transpose back gives a contiguous w.grad() without a copy.
  ember::Tensor w = ember::randn({8, 5}, ember::dtype(ember::kFloat64).requires_grad(true));
  ember::Tensor x = ember::randn({3, 5}, ember::kFloat64);
  ember::mm(x, w.t()).sum().backward();
  CHECK(w.grad().is_contiguous());
  ember::Tensor expected = ember::mm(ember::ones({3, 8}, ember::kFloat64).t(), x);
  CHECK(ember::allclose(w.grad(), expected));
}
