// CUDA reductions with few outputs over a long reduced dim: a full reduction of 2^24 + 3
// elements, three long rows, and the first-dim reductions [1 << 20, 3] and [1 << 18, 17]
// (a bias gradient's shape). The backend cuts such a reduced dim into chunks reduced by
// separate blocks and merges the chunks' states in a second pass (NOTE [ Split reductions ]
// in kernels/cuda/reduce.cu); each result here is compared with the CPU's on the same values,
// through the tensor ops and through the raw kernels (which alone have var and logsumexp as
// one kernel). Sizes on both sides of the split threshold keep the one-pass paths covered.
//
// Tolerances (the GPU accumulates float32 in float32 along a fixed tree about a hundred
// additions deep; the CPU in double):
//   - sum: |got - want| <= r * sum |x|, mean: r * sum |x| / n; r = 1e-5 (float32), 1e-12
//     (float64). The data have a nonzero mean, so a chunk lost or counted twice moves the sum
//     by far more than that;
//   - prod of factors in [1 - 1e-4, 1 + 1e-4]: relative 1e-5 (float32), 1e-11 (float64). Both
//     sides multiply float32 in double: float32 products of such factors drift by ~10% over
//     2^24 of them (a rounding bias; see ProdOp), which these checks would report. Two float64
//     products of 2^24 factors in different orders differ by ~3e-13 (a random walk of 2^12
//     roundings), so 1e-12 would fail now and then; a factor lost or doubled moves it by ~1e-4;
//   - var: relative 1e-4 (float32), 1e-10 (float64); logsumexp: 1e-5 (1 + |want|) (float32),
//     1e-12 (1 + |want|) (float64);
//   - max, min, every index, int64 and bool results: exact.
// Without a GPU each case prints "skipped: no CUDA device ..." and returns: it has checked
// nothing.
#include "cuda_test_util.h"

#ifdef EMBER_WITH_CUDA

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "kernels/cuda/kernels_cuda.h"

using namespace ember;
using test::host_values, test::kGpu, test::skip_without_gpu;
namespace kc = ember::kernels::cuda;

namespace {

const int64_t kBigN = (int64_t{1} << 24) + 3;

bool is_f32(const Tensor& t) { return t.dtype() == kFloat32; }

void check_values(const Tensor& gpu, const Tensor& cpu, double atol, double rtol, const std::string& what) {
  test::check_gpu_cpu(gpu, cpu, atol, rtol, what);
}

void check_exact(const Tensor& gpu, const Tensor& cpu, const std::string& what) { check_values(gpu, cpu, 0, 0, what); }

// The largest sum |x| over one output's reduced elements (reduced over `dims`).
double sum_abs_max(const Tensor& x, const Shape& dims) {
  return max(sum(abs(x.to(kFloat64)), dims)).item<double>();
}

// The raw kernels on [outer, inner] (last: reduce inner, else outer) of a contiguous GPU x.
Tensor raw_reduce(kc::Reduction op, const Tensor& xg, int64_t outer, int64_t inner, bool last, double correction = 1) {
  Tensor out = zeros({last ? outer : inner}, TensorOptions(xg.dtype()).device(kGpu));
  auto run = [&]<class T>(T*) {
    if (last)
      kc::reduce_last(op, xg.data_ptr<T>(), out.data_ptr<T>(), outer, inner, 0, correction);
    else
      kc::reduce_first(op, xg.data_ptr<T>(), out.data_ptr<T>(), outer, inner, 0, correction);
  };
  if (is_f32(xg)) run(static_cast<float*>(nullptr));
  else run(static_cast<double*>(nullptr));
  return out;
}

std::tuple<Tensor, Tensor> raw_arg(kc::ArgReduction op, const Tensor& xg, int64_t outer, int64_t inner, bool last) {
  const int64_t outputs = last ? outer : inner;
  Tensor values = zeros({outputs}, TensorOptions(xg.dtype()).device(kGpu));
  Tensor indices = zeros({outputs}, TensorOptions(kInt64).device(kGpu));
  auto run = [&]<class T>(T*) {
    if (last)
      kc::arg_reduce_last(op, xg.data_ptr<T>(), values.data_ptr<T>(), indices.data_ptr<int64_t>(), outer, inner);
    else
      kc::arg_reduce_first(op, xg.data_ptr<T>(), values.data_ptr<T>(), indices.data_ptr<int64_t>(), outer, inner);
  };
  if (is_f32(xg)) run(static_cast<float*>(nullptr));
  else run(static_cast<double*>(nullptr));
  return {values, indices};
}

// Every reduction of the [outer, inner] values xc (CPU, contiguous) over dim `d` (1: last,
// 0: first), through the tensor ops and the raw kernels, against the CPU.
void check_all(const Tensor& xc, int64_t d) {
  const Tensor xg = xc.to(kGpu);
  const int64_t outer = xc.sizes()[0], inner = xc.sizes()[1], n = xc.sizes()[d];
  const bool last = d == 1, f32 = is_f32(xc);
  const double r = f32 ? 1e-5 : 1e-12, scale = sum_abs_max(xc, {d});
  const std::string where = std::string(dtype_name(xc.dtype())) + " [" + std::to_string(outer) + ", " +
                            std::to_string(inner) + "] over dim " + std::to_string(d);
  INFO(where);
  check_values(sum(xg, {d}), sum(xc, {d}), r * scale, 0, "sum");
  check_values(mean(xg, {d}), mean(xc, {d}), r * scale / n, 0, "mean");
  for (bool is_max : {true, false}) {
    auto [vg, ig] = is_max ? max(xg, d) : min(xg, d);
    auto [vc, ic] = is_max ? max(xc, d) : min(xc, d);
    check_exact(vg, vc, is_max ? "max values" : "min values");
    check_exact(ig, ic, is_max ? "max indices" : "min indices");
    check_exact(is_max ? argmax(xg, d) : argmin(xg, d), is_max ? argmax(xc, d) : argmin(xc, d), "argmax/argmin");
    auto [rv, ri] = raw_arg(is_max ? kc::ArgReduction::Max : kc::ArgReduction::Min, xg, outer, inner, last);
    check_exact(rv, vc, "raw arg values");
    check_exact(ri, ic, "raw arg indices");
  }
  // Raw: every Reduction in one kernel (the tensor ops compose mean, var and logsumexp).
  check_values(raw_reduce(kc::Reduction::Sum, xg, outer, inner, last), sum(xc, {d}), r * scale, 0, "raw sum");
  check_values(raw_reduce(kc::Reduction::Mean, xg, outer, inner, last), mean(xc, {d}), r * scale / n, 0, "raw mean");
  check_exact(raw_reduce(kc::Reduction::Max, xg, outer, inner, last), std::get<0>(max(xc, d)), "raw max");
  check_exact(raw_reduce(kc::Reduction::Min, xg, outer, inner, last), std::get<0>(min(xc, d)), "raw min");
  const double rv = f32 ? 1e-4 : 1e-10;
  check_values(raw_reduce(kc::Reduction::Var, xg, outer, inner, last, 1), var(xc, {d}, true), 0, rv, "raw var");
  check_values(raw_reduce(kc::Reduction::Var, xg, outer, inner, last, 0), var(xc, {d}, false), 0, rv,
               "raw var, biased");
  check_values(var(xg, {d}), var(xc, {d}), 0, rv, "var");
  const double rl = f32 ? 1e-5 : 1e-12;
  check_values(raw_reduce(kc::Reduction::LogSumExp, xg, outer, inner, last), logsumexp(xc, {d}), rl, rl,
               "raw logsumexp");
  check_values(logsumexp(xg, {d}), logsumexp(xc, {d}), rl, rl, "logsumexp");
  // Factors near 1: the product of 2^24 of them stays well inside the float32 range.
  const Tensor pc = test::uniform(xc.sizes(), 1 - 1e-4, 1 + 1e-4, xc.dtype());
  check_values(prod(pc.to(kGpu), d), prod(pc, d), 0, f32 ? 1e-5 : 1e-11, "prod");
}

}  // namespace

TEST_CASE("cuda reduce: full reductions of 2^24 + 3 elements match the CPU") {
  if (skip_without_gpu("the long full reductions")) return;
  for (ScalarType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    const Tensor xc = test::uniform({kBigN}, -1, 2, dt);
    const Tensor xg = xc.to(kGpu);
    const bool f32 = dt == kFloat32;
    const double r = f32 ? 1e-5 : 1e-12, scale = sum_abs_max(xc, {0});
    check_values(sum(xg), sum(xc), r * scale, 0, "sum()");
    check_values(mean(xg), mean(xc), r * scale / kBigN, 0, "mean()");
    check_exact(max(xg), max(xc), "max()");
    check_exact(min(xg), min(xc), "min()");
    check_exact(argmax(xg), argmax(xc), "argmax()");
    check_exact(argmin(xg), argmin(xc), "argmin()");
    check_values(var(xg), var(xc), 0, f32 ? 1e-4 : 1e-10, "var()");
    const Tensor pc = test::uniform({kBigN}, 1 - 1e-4, 1 + 1e-4, dt);
    check_values(prod(pc.to(kGpu)), prod(pc), 0, f32 ? 1e-5 : 1e-11, "prod()");
    // The same elements as one row through every raw kernel. For float32 also as a column
    // ([n, 1] is run as the row [1, n]) and three rows of 2^22 + 1 (several outputs in pass 2).
    check_all(xc.reshape({1, kBigN}), 1);
    if (!f32) continue;
    check_all(xc.reshape({kBigN, 1}), 0);
    check_all(test::uniform({3, (int64_t{1} << 22) + 1}, -1, 2, dt), 1);
  }
}

TEST_CASE("cuda reduce: first-dim reductions of many rows into few columns match the CPU") {
  if (skip_without_gpu("the first-dim reductions")) return;
  for (ScalarType dt : {kFloat32, kFloat64}) {
    check_all(test::uniform({int64_t{1} << 20, 3}, -1, 2, dt), 0);
    check_all(test::uniform({int64_t{1} << 18, 17}, -1, 2, dt), 0);
  }
  // A bias gradient through autograd: d(sum(y * w)) / d(bias) = w summed over the rows.
  const Tensor w = test::uniform({int64_t{1} << 20, 3}, -1, 2, kFloat32);
  Tensor bc = zeros({3}, kFloat32), bg = zeros({3}, TensorOptions(kFloat32).device(kGpu));
  bc.requires_grad_(true);
  bg.requires_grad_(true);
  ((w + bc) * w).sum().backward();
  const Tensor wg = w.to(kGpu);
  ((wg + bg) * wg).sum().backward();
  check_values(bg.grad(), bc.grad(), 1e-5 * sum_abs_max(w, {0}), 0, "bias gradient");
}

TEST_CASE("cuda reduce: sizes on both sides of the split threshold match the CPU") {
  if (skip_without_gpu("the threshold sizes")) return;
  // Over dim 0: 8191 elements run as one row, one block (too few for two chunks of 256
  // threads x 16 each); 8192: two chunks. [4095, 3]: one block of 4 x 256 lanes; [8192, 3]:
  // two chunks; [100, 3]: one block; [4097, 40]: 2 x 8 blocks of 32 x 32. Over dim 1 (the
  // transposes): one warp per row up to 512 elements, one block per row above, split from
  // 8192 on.
  const int64_t shapes[][2] = {{8191, 1}, {8192, 1}, {4095, 3}, {8192, 3}, {100, 3}, {4097, 40}};
  for (ScalarType dt : {kFloat32, kFloat64})
    for (const auto& s : shapes) {
      const Tensor x = test::uniform({s[0], s[1]}, -1, 2, dt);
      check_all(x, 0);
      check_all(x.t().contiguous(), 1);
    }
}

TEST_CASE("cuda reduce: the first of equal extremes wins across chunks") {
  if (skip_without_gpu("the tie-breaking across chunks")) return;
  // The largest (smallest) value at positions around every plausible chunk boundary; the
  // first of them is past the first chunk of any split, so a combine that kept a later chunk's
  // position, or the first chunk's, would report another index.
  std::vector<int64_t> at;
  for (int64_t len : {4096, 8192, 16384, 16385, 65536})
    for (int64_t k : {5, 9, 300, 1000})
      for (int64_t off : {-1, 0, 1})
        if (k * len + off < kBigN) at.push_back(k * len + off);
  at.push_back(kBigN - 1);
  const int64_t first = *std::min_element(at.begin(), at.end());
  for (ScalarType dt : {kFloat32, kFloat64, kInt64}) {
    INFO(dtype_name(dt));
    Tensor hi = test::uniform({kBigN}, -1, 1, kFloat64), lo = hi.clone();
    double* ph = hi.data_ptr<double>();
    double* pl = lo.data_ptr<double>();
    for (int64_t i : at) ph[i] = 7, pl[i] = -7;
    hi = hi.to(dt);
    lo = lo.to(dt);
    CHECK(argmax(hi.to(kGpu)).item<int64_t>() == first);
    CHECK(argmin(lo.to(kGpu)).item<int64_t>() == first);
    CHECK(std::get<1>(max(hi.to(kGpu), 0)).item<int64_t>() == first);
    CHECK(std::get<1>(min(lo.to(kGpu), 0)).item<int64_t>() == first);
    check_exact(max(hi.to(kGpu)), max(hi), "max value");
    if (dt != kInt64) {
      auto [v, i] = raw_arg(kc::ArgReduction::Max, hi.to(kGpu), 1, kBigN, true);
      CHECK(i.item<int64_t>() == first);
      CHECK(v.item<double>() == 7);
    }
    // The same ties down the columns of [kBigN / 3 rows, 3]: row r of column c is element 3r + c.
    const int64_t rows = kBigN / 3;
    Tensor cols = hi.slice(0, 0, rows * 3).reshape({rows, 3});
    check_exact(argmax(cols.to(kGpu), 0), argmax(cols, 0), "argmax over the first dim");
    const Tensor negated = cols.neg();
    check_exact(std::get<1>(min(negated.to(kGpu), 0)), std::get<1>(min(negated, 0)), "argmin over the first dim");
  }
}

TEST_CASE("cuda reduce: NaN in the last chunk propagates; the first NaN is the reported one") {
  if (skip_without_gpu("NaN in a split reduction")) return;
  for (ScalarType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor base = test::uniform({kBigN}, -1, 1, kFloat64);
    double* p = base.data_ptr<double>();
    p[kBigN - 3] = std::numeric_limits<double>::infinity();
    p[kBigN - 2] = std::numeric_limits<double>::quiet_NaN();
    p[kBigN - 1] = std::numeric_limits<double>::quiet_NaN();
    const Tensor xc = base.to(dt), xg = xc.to(kGpu);
    CHECK(std::isnan(sum(xg).item<double>()));
    CHECK(std::isnan(max(xg).item<double>()));
    CHECK(std::isnan(min(xg).item<double>()));
    CHECK(argmax(xg).item<int64_t>() == kBigN - 2);
    CHECK(argmin(xg).item<int64_t>() == kBigN - 2);
    for (auto op : {kc::Reduction::Sum, kc::Reduction::Mean, kc::Reduction::Max, kc::Reduction::Min,
                    kc::Reduction::Var, kc::Reduction::LogSumExp}) {
      CAPTURE(static_cast<int>(op));
      CHECK(std::isnan(raw_reduce(op, xg, 1, kBigN, true).item<double>()));
    }
    auto [v, i] = raw_arg(kc::ArgReduction::Min, xg, 1, kBigN, true);
    CHECK(std::isnan(v.item<double>()));
    CHECK(i.item<int64_t>() == kBigN - 2);
    // A NaN in an earlier chunk as well: that one is reported.
    p[kBigN / 2] = std::numeric_limits<double>::quiet_NaN();
    CHECK(argmax(base.to(dt).to(kGpu)).item<int64_t>() == kBigN / 2);
    // Down the columns: NaN in the last rows of column 1 only.
    const int64_t rows = int64_t{1} << 20;
    Tensor cols = test::uniform({rows, 3}, -1, 1, kFloat64);
    cols.data_ptr<double>()[(rows - 1) * 3 + 1] = std::numeric_limits<double>::quiet_NaN();
    cols = cols.to(dt);
    const auto got = host_values(std::get<0>(max(cols.to(kGpu), 0))), want = test::values(std::get<0>(max(cols, 0)));
    CHECK(std::isnan(got[1]));
    CHECK(got[0] == want[0]);
    CHECK(got[2] == want[2]);
    const auto gi = host_values(std::get<1>(max(cols.to(kGpu), 0)));
    const auto wi = test::values(std::get<1>(max(cols, 0)));
    CHECK(gi == std::vector<double>{wi[0], static_cast<double>(rows - 1), wi[2]});
    CHECK(std::isnan(host_values(sum(cols.to(kGpu), {0}))[1]));
  }
}

TEST_CASE("cuda reduce: int64 and bool reductions of 2^24 + 3 elements are exact") {
  if (skip_without_gpu("the long integer reductions")) return;
  // Values up to 2^40: a float accumulator would round them; the sum still fits int64.
  const double big = 1099511627776.0;
  const Tensor xc = test::uniform({kBigN}, -big, big).to(kInt64), xg = xc.to(kGpu);
  check_exact(sum(xg), sum(xc), "int64 sum()");
  check_exact(max(xg), max(xc), "int64 max()");
  check_exact(argmin(xg), argmin(xc), "int64 argmin()");
  const Tensor bc = xc > 0;
  check_exact(sum(bc.to(kGpu)), sum(bc), "bool sum()");
  const Tensor cols = xc.slice(0, 0, (kBigN / 3) * 3).reshape({kBigN / 3, 3});
  check_exact(sum(cols.to(kGpu), {0}), sum(cols, {0}), "int64 sum over the first dim");
  const Tensor c17 = test::uniform({int64_t{1} << 18, 17}, -big, big).to(kInt64);
  check_exact(sum(c17.to(kGpu), {0}), sum(c17, {0}), "int64 [1 << 18, 17] sum over dim 0");
  // Odd factors (1 and 3): the product wraps around 2^64 the same way on both and stays odd,
  // so every factor counts (odd numbers are invertible modulo 2^64).
  const Tensor pc = (test::uniform({kBigN}, 0, 2).to(kInt64) * 2 + 1).to(kInt64);
  check_exact(prod(pc.to(kGpu)), prod(pc), "int64 prod() (wrapping)");
}

TEST_CASE("cuda reduce: split reductions repeat bit for bit") {
  if (skip_without_gpu("the split determinism")) return;
  auto same_bits = [](const Tensor& a, const Tensor& b) {
    const Tensor ha = a.cpu(), hb = b.cpu();
    REQUIRE(ha.numel() == hb.numel());
    return std::memcmp(ha.data_ptr<float>(), hb.data_ptr<float>(), sizeof(float) * ha.numel()) == 0;
  };
  const Tensor x = test::uniform({kBigN}, -1, 2, kFloat32).to(kGpu);
  const Tensor cols = test::uniform({int64_t{1} << 20, 3}, -1, 2, kFloat32).to(kGpu);
  for (auto op : {kc::Reduction::Sum, kc::Reduction::Var, kc::Reduction::LogSumExp}) {
    CAPTURE(static_cast<int>(op));
    CHECK(same_bits(raw_reduce(op, x, 1, kBigN, true), raw_reduce(op, x, 1, kBigN, true)));
    CHECK(same_bits(raw_reduce(op, x, 3, kBigN / 3, true), raw_reduce(op, x, 3, kBigN / 3, true)));
    const int64_t rows = int64_t{1} << 20;
    CHECK(same_bits(raw_reduce(op, cols, rows, 3, false), raw_reduce(op, cols, rows, 3, false)));
  }
  CHECK(same_bits(sum(x), sum(x)));
  CHECK(same_bits(sum(cols, {0}), sum(cols, {0})));
}

#else  // EMBER_WITH_CUDA

TEST_CASE("cuda reduce: not built") { MESSAGE("skipped: no CUDA device (ember built without CUDA), split reductions"); }

#endif  // EMBER_WITH_CUDA
