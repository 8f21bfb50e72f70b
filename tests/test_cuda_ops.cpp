// CUDA: reductions, softmax / log_softmax and the matrix products through the tensor ops,
// forward and backward, each GPU result compared with the CPU's on the same values laid out
// the same way (contiguous, transposed, step-sliced, broadcast; empty and 0-d where they
// apply), and an nn model moved with Module::to(kCUDA). Without a GPU each GPU case prints
// "skipped: no CUDA device ..." and returns: it has checked nothing and passes only in
// doctest's sense. The error checks that need no GPU run everywhere.
//
// Tolerances (atol = rtol, per dtype):
//   - float64: 1e-12 for reductions and softmax (same formulas, other summation order),
//     1e-10 for products and models (cuBLAS blocks k differently from OpenBLAS);
//   - float32: 1e-4. The GPU sums float32 in float32 (the CPU in double) and cuBLAS runs in
//     plain FP32 (no TF32), so the gap is float rounding over up to ~3000 terms of [-1, 1];
//   - int64 and bool results and every index: exact.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>

#include "kernels/kernels.h"
#include "cuda_test_util.h"
#include "layouts.h"
#ifdef EMBER_WITH_CUDA
#include "kernels/cuda/kernels_cuda.h"
#endif

using namespace ember;
using test::fake_cuda, test::host_values, test::kGpu, test::skip_without_gpu, test::str;

namespace {

double tolerance(ScalarType t, bool products = false) {
  if (t == kFloat64) return products ? 1e-10 : 1e-12;
  return t == kFloat32 ? 1e-4 : 0;
}

// ---- layouts: a base tensor (the autograd leaf) and the view of it the op sees ----------------

using Layout = test::View;
using test::name_of, test::applies, test::base_shape, test::view_of;
constexpr auto& kLayouts = test::kViews;

Tensor random_values(const Shape& shape, double lo, double hi, ScalarType dtype) {
  if (dtype == kBool) return test::uniform(shape, 0, 1) > 0.5;
  if (dtype == kInt64) return test::uniform(shape, lo, hi).to(kInt64);  // truncated
  return test::uniform(shape, lo, hi, dtype);
}

using Fn = std::function<Tensor(const Tensor&)>;

/// Checks a GPU result against the CPU one: same sizes and dtype, on the GPU, values within tol.
void check_same(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  test::check_gpu_cpu(gpu, cpu, tol, tol, what);
}

/// Runs fn on a view (layout l, shape s) of random values on the CPU and of the same values
/// on the GPU: the same error, or the same result within tol; then, for floating results
/// when grad is set, the same gradient of sum(result * w) (w random) at the base tensor.
void compare(const std::string& what, const Fn& fn, Layout l, const Shape& s, ScalarType dtype, double lo, double hi,
             double tol, bool grad) {
  const std::string label = what + " on " + name_of(l) + " " + str(s) + " " +
                            dtype_name(dtype);
  INFO(label);
  const Tensor values = random_values(base_shape(l, s), lo, hi, dtype);
  grad = grad && is_floating_point(dtype);
  Tensor cb = values.clone().requires_grad_(grad), gb = values.to(kGpu).requires_grad_(grad);
  Tensor yc, yg;
  const std::string ec = test::error_of([&] { yc = fn(view_of(l, cb, s)); });
  const std::string eg = test::error_of([&] { yg = fn(view_of(l, gb, s)); });
  REQUIRE_MESSAGE(eg == ec, label << ": GPU error \"" << eg << "\" vs CPU \"" << ec << "\"");
  if (!ec.empty()) return;
  check_same(yg, yc, tol, label);
  if (!grad || !yc.requires_grad()) return;
  Tensor w = test::uniform(yc.sizes(), -1, 1, yc.dtype());
  (yc * w).sum().backward();
  (yg * w.to(kGpu)).sum().backward();
  REQUIRE(gb.grad().defined() == cb.grad().defined());
  if (cb.grad().defined()) check_same(gb.grad(), cb.grad(), tol, label + ": gradient");
}

const std::vector<Shape> kShapes = {{}, {0}, {5}, {3, 4}, {2, 3, 5}, {7, 33}, {1000, 3}, {4, 0, 2}, {3, 2100}};

/// True when every slice that a reduction over dims (all dims when empty) combines is one
/// value repeated: the broadcast layout repeats along dim 0, and no other dim of size > 1 is
/// reduced.
bool constant_slices(Layout l, const Shape& s, const Shape& dims) {
  if (l != Layout::Broadcast || s.empty()) return false;
  for (int64_t d = 1; d < static_cast<int64_t>(s.size()); ++d) {
    const bool reduced = dims.empty() || std::find(dims.begin(), dims.end(), d) != dims.end();
    if (reduced && s[d] > 1) return false;
  }
  return true;
}

/// The dim sets a reduction is tried over: all dims ({}), each single dim, and the first
/// and last together (not neighbours for 3-D: the copy path).
std::vector<Shape> dim_sets(const Shape& s) {
  std::vector<Shape> out{{}};
  for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) out.push_back({d});
  if (s.size() >= 2) out.push_back({0, static_cast<int64_t>(s.size()) - 1});
  return out;
}

}  // namespace

TEST_CASE("cuda ops: errors that need no GPU") {
  // Integer products: cuBLAS has none, so a clear error names the op instead of a crash.
  Tensor a = fake_cuda({2, 3}, kInt64), b = fake_cuda({3, 2}, kInt64);
  CHECK(test::error_of([&] { (void)mm(a, b); }).find("[mm] not implemented for CUDA tensors of dtype int64") == 0);
  CHECK(test::error_of([&] { (void)matmul(a, b); }).find("[matmul] not implemented for CUDA tensors") == 0);
  CHECK(test::error_of([&] { (void)addmm(fake_cuda({2, 2}, kInt64), a, b); }).find("[addmm] not implemented") == 0);
  CHECK(test::error_of([&] { (void)dot(fake_cuda({3}, kInt64), fake_cuda({3}, kInt64)); }).find("[dot] not implemented") ==
        0);
  // The CPU keeps computing int64 products.
  CHECK(test::values(mm(ones({2, 3}, kInt64), ones({3, 2}, kInt64))) == std::vector<double>(4, 3.0));
}

TEST_CASE("cuda ops: reductions match the CPU, forward and backward") {
  if (skip_without_gpu("the reduction comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = tolerance(dt);
    for (const Shape& s : kShapes) {
      for (Layout l : kLayouts) {
        if (!applies(l, s)) continue;
        for (const Shape& dims : dim_sets(s)) {
          for (bool keep : {false, true}) {
            const std::string d = " dims " + str(dims) + (keep ? " keepdim" : "");
            compare("sum" + d, [&](const Tensor& x) { return sum(x, dims, keep); }, l, s, dt, -1, 1, tol, true);
            compare("mean" + d, [&](const Tensor& x) { return mean(x, dims, keep); }, l, s, dt, -1, 1, tol, true);
            compare("var" + d, [&](const Tensor& x) { return var(x, dims, true, keep); }, l, s, dt, -1, 1, tol, true);
            // std of a slice of one repeated value x is |mean - x|, the mean's rounding error,
            // and its gradient is sign(mean - x) * w (0 where the mean is exact): the sign of
            // a rounding error, which the GPU's tree and the CPU's sequential sums round
            // differently (on the CPU, 227 of 400 float32 columns of 7 get +-w, 173 get 0;
            // simulated, a column of 5, 7 or 1000 repeated values gets the other sign on the
            // GPU 10-90% of the time, float32 and float64; of 33 columns, one almost always).
            // So there only the value (|mean - x| <= 1 ulp of x, within tol) is compared.
            compare("std" + d, [&](const Tensor& x) { return ember::std(x, dims, false, keep); }, l, s, dt, -1, 1, tol,
                    !constant_slices(l, s, dims));
            compare("logsumexp" + d, [&](const Tensor& x) { return logsumexp(x, dims, keep); }, l, s, dt, -3, 3, tol,
                    true);
            compare("norm2" + d, [&](const Tensor& x) { return norm(x, 2, dims, keep); }, l, s, dt, -1, 1, tol, true);
            compare("norm1" + d, [&](const Tensor& x) { return norm(x, 1, dims, keep); }, l, s, dt, -1, 1, tol, true);
            compare("norm_inf" + d, [&](const Tensor& x) { return norm(x, INFINITY, dims, keep); }, l, s, dt, -1, 1, tol,
                    true);
          }
        }
        compare("max()", [](const Tensor& x) { return max(x); }, l, s, dt, -1, 1, tol, true);
        compare("min()", [](const Tensor& x) { return min(x); }, l, s, dt, -1, 1, tol, true);
        compare("argmax()", [](const Tensor& x) { return argmax(x); }, l, s, dt, -1, 1, 0, false);
        // Factors near 1: the product of 6300 of them stays finite in float32.
        compare("prod()", [](const Tensor& x) { return prod(x); }, l, s, dt, 0.99, 1.01, tol, true);
        for (int64_t d = 0; d < std::max<int64_t>(1, static_cast<int64_t>(s.size())); ++d) {
          for (bool keep : {false, true}) {
            const std::string ds = " dim " + std::to_string(d) + (keep ? " keepdim" : "");
            compare("max values" + ds, [&](const Tensor& x) { return std::get<0>(max(x, d, keep)); }, l, s, dt, -1, 1,
                    tol, true);
            compare("max indices" + ds, [&](const Tensor& x) { return std::get<1>(max(x, d, keep)); }, l, s, dt, -1, 1,
                    0, false);
            compare("min values" + ds, [&](const Tensor& x) { return std::get<0>(min(x, d, keep)); }, l, s, dt, -1, 1,
                    tol, true);
            compare("argmin" + ds, [&](const Tensor& x) { return argmin(x, d, keep); }, l, s, dt, -1, 1, 0, false);
            compare("prod" + ds, [&](const Tensor& x) { return prod(x, d, keep); }, l, s, dt, 0.99, 1.01, tol, true);
          }
        }
      }
    }
  }
}

TEST_CASE("cuda ops: integer and bool reductions are exact") {
  if (skip_without_gpu("the integer reductions")) return;
  for (const Shape& s : kShapes) {
    for (Layout l : kLayouts) {
      if (!applies(l, s)) continue;
      for (const Shape& dims : dim_sets(s)) {
        compare("int64 sum", [&](const Tensor& x) { return sum(x, dims); }, l, s, kInt64, -1000, 1000, 0, false);
        compare("bool sum", [&](const Tensor& x) { return sum(x, dims, true); }, l, s, kBool, 0, 1, 0, false);
      }
      compare("int64 max()", [](const Tensor& x) { return max(x); }, l, s, kInt64, -50, -10, 0, false);
      compare("int64 min()", [](const Tensor& x) { return min(x); }, l, s, kInt64, 10, 50, 0, false);
      compare("bool max()", [](const Tensor& x) { return max(x); }, l, s, kBool, 0, 1, 0, false);
      compare("int64 prod()", [](const Tensor& x) { return prod(x); }, l, s, kInt64, -1, 3, 0, false);
      compare("int64 argmax()", [](const Tensor& x) { return argmax(x); }, l, s, kInt64, -5, 5, 0, false);
      for (int64_t d = 0; d < static_cast<int64_t>(s.size()); ++d) {
        compare("int64 max values", [&](const Tensor& x) { return std::get<0>(max(x, d)); }, l, s, kInt64, -9, 9, 0,
                false);
        compare("int64 max indices", [&](const Tensor& x) { return std::get<1>(max(x, d)); }, l, s, kInt64, -9, 9, 0,
                false);
        compare("int64 argmin", [&](const Tensor& x) { return argmin(x, d); }, l, s, kInt64, -9, 9, 0, false);
      }
    }
  }
  // NaN is the extreme and the first of equal values wins, as on the CPU.
  Tensor t = tensor({1.0, 3.0, 3.0, NAN, 2.0, NAN});
  CHECK(argmax(t.to(kGpu)).item<int64_t>() == 3);
  CHECK(argmax(tensor({1.0, 3.0, 3.0}).to(kGpu)).item<int64_t>() == 1);
  CHECK(std::isnan(max(t.to(kGpu)).item<double>()));
}

TEST_CASE("cuda ops: norms of order 0, 0.5, 3 and -inf match the CPU, forward and backward") {
  if (skip_without_gpu("the norm comparisons")) return;
  // Each order takes its own branch of norm() and of NormBackward (p < 1 masks the zeros,
  // -inf shares the gradient among ties like max).
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = tolerance(dt);
    for (const Shape& s : {Shape{}, Shape{0}, Shape{5}, Shape{3, 4}, Shape{7, 33}, Shape{3, 2100}}) {
      for (Layout l : kLayouts) {
        if (!applies(l, s)) continue;
        for (const Shape& dims : dim_sets(s)) {
          for (bool keep : {false, true}) {
            for (double p : {0.0, 0.5, 3.0, -std::numeric_limits<double>::infinity()}) {
              const std::string what = "norm " + std::to_string(p) + " dims " + str(dims) + (keep ? " keepdim" : "");
              compare(what, [&](const Tensor& x) { return norm(x, p, dims, keep); }, l, s, dt, -1, 1, tol, true);
            }
          }
        }
      }
    }
  }
}

TEST_CASE("cuda ops: first and second derivatives of the reduction, view, index and product formulas on the GPU") {
  if (skip_without_gpu("gradcheck and gradgradcheck through the GPU")) return;
  // gradcheck nudges CPU inputs; each fn moves them to the GPU itself, so every backward
  // formula below (and, for gradgradcheck, the backward of the formula) runs there.
  Tensor x = test::uniform({3, 4}, 0.5, 1.5).requires_grad_(true);
  Tensor y = test::uniform({4, 2}, -1, 1).requires_grad_(true);
  const Tensor idx = tensor({2, 0, 2}).to(kGpu), gidx = tensor({0, 2, 1, 0, 1, 1, 0, 2}).view({2, 4}).to(kGpu);
  using In = std::vector<Tensor>;
  const std::vector<std::pair<std::string, autograd::GradcheckFn>> one_input = {
      {"prod along a dim and of all", [](const In& in) { Tensor g = in[0].to(kGpu); return prod(g, 1) * prod(g); }},
      {"max and min along a dim", [](const In& in) {
         Tensor g = in[0].to(kGpu);
         return std::get<0>(max(g, 0)).pow(2) + std::get<0>(min(g, 0, true)).squeeze(0) * 3;
       }},
      {"max of all", [](const In& in) { return max(in[0].to(kGpu)).pow(2); }},
      {"sum, mean, var, std", [](const In& in) {
         Tensor g = in[0].to(kGpu);
         return var(g, {1}) * ember::std(g, {1}, false) + mean(g * g, {1}) + sum(g.sin(), {1});
       }},
      {"norms and logsumexp", [](const In& in) {
         Tensor g = in[0].to(kGpu) - 1;
         return norm(g, 3, {1}) * norm(g, 2, {1}) + norm(g, 1, {1}) + logsumexp(g, {1});
       }},
      {"as_strided overlapping (index_add into the base)", [](const In& in) {
         Tensor a = in[0].to(kGpu).as_strided({3, 3}, {1, 1});
         return a * a;
       }},
      {"slice, select, permute, expand", [](const In& in) {
         Tensor g = in[0].to(kGpu);
         return (g.slice(1, 1, std::nullopt, 2) * g.select(1, 0).unsqueeze(1)).t().expand({2, 2, 3}).pow(2);
       }},
      {"index_select and gather", [idx, gidx](const In& in) {
         Tensor g = in[0].to(kGpu);
         return index_select(g, 0, idx).pow(2).sum({0}) * gather(g, 0, gidx).pow(3).sum({0});
       }},
      {"cat and stack", [](const In& in) {
         Tensor g = in[0].to(kGpu);
         return cat({g, g * g}, 1).sum({1}) * stack({g.sin(), g.log()}, 1).sum({1, 2});
       }},
      {"pointwise: pow, div, sqrt, where", [](const In& in) {
         Tensor g = in[0].to(kGpu);
         return where(g > 1, g.pow(g) / (g + 1), g.sqrt() * g.rsqrt().exp());
       }},
  };
  for (const auto& entry : one_input) {
    INFO(entry.first);
    CHECK(autograd::gradcheck(entry.second, {x}));
    CHECK(autograd::gradgradcheck(entry.second, {x}));
  }
  autograd::GradcheckFn products = [](const In& in) {
    Tensor a = in[0].to(kGpu), b = in[1].to(kGpu);
    return matmul(a, b).pow(2) + addmm(b.sum({0}), a, b, 0.5, 2.0) * a.sum({1}, true) + dot(a[0], b.select(1, 1));
  };
  CHECK(autograd::gradcheck(products, {x, y}));
  CHECK(autograd::gradgradcheck(products, {x, y}));
}

TEST_CASE("cuda ops: softmax and log_softmax match the CPU over every dim") {
  if (skip_without_gpu("the softmax comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = tolerance(dt);
    for (const Shape& s : kShapes) {
      for (Layout l : kLayouts) {
        if (!applies(l, s)) continue;
        for (int64_t d = -1; d < static_cast<int64_t>(s.size()); ++d) {
          const std::string ds = " dim " + std::to_string(d);
          compare("softmax" + ds, [&](const Tensor& x) { return softmax(x, d); }, l, s, dt, -4, 4, tol, true);
          compare("log_softmax" + ds, [&](const Tensor& x) { return log_softmax(x, d); }, l, s, dt, -4, 4, tol, true);
        }
      }
    }
  }
  // Under create_graph the backward is the composed formula (recorded): double backward
  // through softmax gives the CPU's second derivative.
  Tensor xc = test::uniform({3, 5}, -2, 2).requires_grad_(true);
  Tensor xg = xc.detach().to(kGpu).requires_grad_(true);
  Tensor w = test::uniform({3, 5}, -1, 1);
  for (bool log : {false, true}) {
    auto f = [&](const Tensor& x, const Tensor& wt) { return ((log ? log_softmax(x, 0) : softmax(x, 0)) * wt).sum(); };
    Tensor gc = autograd::grad({f(xc, w)}, {xc}, {}, std::nullopt, true)[0];
    Tensor gg = autograd::grad({f(xg, w.to(kGpu))}, {xg}, {}, std::nullopt, true)[0];
    check_same(gg, gc, 1e-12, "first derivative under create_graph");
    Tensor hc = autograd::grad({(gc * gc).sum()}, {xc})[0];
    Tensor hg = autograd::grad({(gg * gg).sum()}, {xg})[0];
    check_same(hg, hc, 1e-12, "second derivative");
  }
}

TEST_CASE("cuda ops: softmax with -inf masks, fully masked rows, +inf and NaN matches the CPU") {
  if (skip_without_gpu("the masked softmax comparisons")) return;
  // Attention masks put -inf in rows; a fully masked row is NaN (as in PyTorch), +inf or NaN
  // anywhere makes the row NaN. One row of each kind, at a width for each GPU path: warp per
  // row (7, 700), block per row with the row in registers (3000), the online pass (9000).
  // Row 5 is row 4 with a NaN at column 1: in the online pass, thread 1 sees only that NaN
  // among -inf (its columns are all odd).
  const double inf = INFINITY;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    for (int64_t cols : {7, 700, 3000, 9000}) {
      Tensor x = test::uniform({6, cols}, -4, 4, kFloat64);
      for (int64_t c = 0; c < cols; c += 3) x[0][c].fill_(-inf);  // partly masked, first element too
      x[1].fill_(-inf);                                           // fully masked
      x[2][cols - 1].fill_(inf);
      x[3][cols / 2].fill_(NAN);
      for (int64_t c = 1; c < cols; c += 2) x[4][c].fill_(-inf);  // masked except the even columns
      for (int64_t c = 1; c < cols; c += 2) x[5][c].fill_(-inf);
      x[5][1].fill_(NAN);
      x = x.to(dt);
      for (int64_t dim : {1, 0}) {
        const std::string what = std::string(dtype_name(dt)) + " cols " + std::to_string(cols) + " dim " +
                                 std::to_string(dim);
        check_same(softmax(x.to(kGpu), dim), softmax(x, dim), tolerance(dt), "softmax " + what);
        check_same(log_softmax(x.to(kGpu), dim), log_softmax(x, dim), tolerance(dt), "log_softmax " + what);
      }
    }
  }
}

TEST_CASE("cuda ops: matrix products match the CPU, forward and backward") {
  if (skip_without_gpu("the matmul comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = tolerance(dt, /*products=*/true);
    // Shapes of (a, b) for matmul: vectors, matrices, batches with broadcast batch dims.
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{5}, {5}},       {{3, 5}, {5}},          {{5}, {5, 4}},          {{3, 5}, {5, 4}},
        {{2, 3, 5}, {5, 4}}, {{3, 5}, {2, 5, 4}}, {{2, 3, 5}, {2, 5, 4}}, {{2, 1, 3, 5}, {4, 5, 6}},
        {{3, 0}, {0, 4}}, {{0, 5}, {5, 4}},       {{65, 130}, {130, 33}}, {{1, 5}, {5, 1}}};
    for (const auto& [sa, sb] : shapes) {
      for (Layout la : kLayouts) {
        for (Layout lb : kLayouts) {
          if (!applies(la, sa) || !applies(lb, sb)) continue;
          const std::string what = std::string("matmul ") + name_of(la) + " x " + name_of(lb) + " " +
                                   str(sa) + " @ " + str(sb);
          INFO(what);
          Tensor av = random_values(base_shape(la, sa), -1, 1, dt), bv = random_values(base_shape(lb, sb), -1, 1, dt);
          Tensor ac = av.clone().requires_grad_(true), bc = bv.clone().requires_grad_(true);
          Tensor ag = av.to(kGpu).requires_grad_(true), bg = bv.to(kGpu).requires_grad_(true);
          auto run = [&](const Tensor& a, const Tensor& b) {
            Tensor x = view_of(la, a, sa), y = view_of(lb, b, sb);
            if (x.dim() == 2 && y.dim() == 2) {
              // mm, and addmm with a broadcast row and both scalars.
              Tensor bias = ones({y.size(1)}, TensorOptions(dt).device(x.device())) * 0.5;
              return mm(x, y) + addmm(bias, x, y, 0.5, 2.0);
            }
            if (x.dim() == 3 && y.dim() == 3 && x.size(0) == y.size(0)) return bmm(x, y) * 2 - matmul(x, y);
            if (x.dim() == 1 && y.dim() == 1) return dot(x, y) + matmul(x, y);
            return matmul(x, y);
          };
          Tensor yc = run(ac, bc), yg = run(ag, bg);
          check_same(yg, yc, tol, what);
          Tensor w = test::uniform(yc.sizes(), -1, 1, dt);
          (yc * w).sum().backward();
          (yg * w.to(kGpu)).sum().backward();
          check_same(ag.grad(), ac.grad(), tol, what + ": grad a");
          check_same(bg.grad(), bc.grad(), tol, what + ": grad b");
        }
      }
    }
  }
#ifdef EMBER_WITH_CUDA
  // The tiled SGEMM gives the same product through the tensor ops.
  Tensor a = test::uniform({70, 90}, -1, 1, kFloat32), b = test::uniform({90, 50}, -1, 1, kFloat32);
  Tensor tiled;
  {
    // The previous backend comes back when the scope ends, also when matmul throws: later
    // cases must not run on the tiled kernel.
    struct TiledBackend {
      kernels::cuda::MatmulBackend saved = kernels::cuda::matmul_backend();
      TiledBackend() { kernels::cuda::set_matmul_backend(kernels::cuda::MatmulBackend::Tiled); }
      ~TiledBackend() { kernels::cuda::set_matmul_backend(saved); }
      TiledBackend(const TiledBackend&) = delete;
      TiledBackend& operator=(const TiledBackend&) = delete;
    } backend;
    tiled = matmul(a.to(kGpu), b.to(kGpu).t().contiguous().t());
  }
  CHECK(kernels::cuda::matmul_backend() == kernels::cuda::MatmulBackend::Cublas);
  check_same(tiled, matmul(a, b), 1e-4, "tiled SGEMM through matmul");
#endif
}

TEST_CASE("cuda ops: a model moved with Module::to(kCUDA) trains like on the CPU") {
  if (skip_without_gpu("the module comparison")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = tolerance(dt, /*products=*/true);
    manual_seed(3);
    auto make = [] {
      return std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
          std::make_shared<nn::Linear>(6, 16), std::make_shared<nn::GELU>(), std::make_shared<nn::LayerNorm>(Shape{16}),
          std::make_shared<nn::ReLU>(), std::make_shared<nn::Linear>(16, 4)});
    };
    auto cpu_model = make();
    auto gpu_model = make();
    cpu_model->to(dt);
    gpu_model->to(dt);
    gpu_model->load_state_dict(cpu_model->state_dict());
    const Tensor first = gpu_model->parameters()[0];
    gpu_model->to(kGpu);
    // The same handles, now on the GPU: optimizers built afterwards see GPU tensors.
    CHECK(gpu_model->parameters()[0].impl() == first.impl());
    for (const Tensor& p : gpu_model->parameters()) {
      CHECK(p.device() == kGpu);
      CHECK(p.requires_grad());
    }
    Tensor x = test::uniform({9, 6}, -2, 2, dt), target = test::uniform({9, 4}, -1, 1, dt);
    auto loss_of = [](nn::Module& m, const Tensor& in, const Tensor& t) {
      Tensor out = m(in);
      Tensor mse = nn::functional::mse_loss(out, t);
      return mse + (nn::functional::log_softmax(out, 1) * t).sum({1}).mean() * -0.1;
    };
    Tensor lc = loss_of(*cpu_model, x, target), lg = loss_of(*gpu_model, x.to(kGpu), target.to(kGpu));
    check_same(lg, lc, tol, "loss");
    lc.backward();
    lg.backward();
    const auto pc = cpu_model->named_parameters(), pg = gpu_model->named_parameters();
    REQUIRE(pc.size() == pg.size());
    for (size_t i = 0; i < pc.size(); ++i) check_same(pg[i].second.grad(), pc[i].second.grad(), tol, pc[i].first);
    // Back to the CPU: the same values.
    gpu_model->to(Device(kCPU));
    for (size_t i = 0; i < pc.size(); ++i)
      test::check_close(test::values(pg[i].second), test::values(pc[i].second), 0, 0, pc[i].first + " after to(kCPU)");
  }
}
