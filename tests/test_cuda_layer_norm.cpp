// CUDA layer norm (kernels/cuda/layer_norm.cu) against the CPU's on the same values: y, mean,
// rstd, and the gradients of x, weight and bias, in float32 and float64, for row lengths
// that take each kernel path (warp per row up to 1024, block per row up to 8192, the
// Welford path beyond, up to 65536), many rows (the column sums' chunks), a non-contiguous
// input, 0 rows, and create_graph on the GPU. Without a GPU every case here prints "skipped:
// no CUDA device ..." and returns: it has checked nothing and passes only in doctest's sense.
//
// Tolerances: float64 1e-10; float32 1e-4 relative to the largest value of the tensor
// compared (the GPU sums float32 in float32 and the CPU in double; a column sum over many
// rows is large, and its rounding is relative to the terms, not to a result near 0).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "cuda_test_util.h"
#ifdef EMBER_WITH_CUDA
#include "kernels/cuda/kernels_cuda.h"
#endif

using namespace ember;
using test::host_values, test::kGpu, test::skip_without_gpu, test::str;

namespace {

void check_scaled(const Tensor& gpu, const Tensor& cpu, double tol, const std::string& what) {
  INFO(what);
  REQUIRE(gpu.defined() == cpu.defined());
  if (!cpu.defined()) return;
  REQUIRE(gpu.device() == kGpu);
  REQUIRE(gpu.sizes() == cpu.sizes());
  REQUIRE(gpu.dtype() == cpu.dtype());
  const std::vector<double> got = host_values(gpu), want = test::values(cpu);
  double scale = 1;
  for (double v : want) scale = std::max(scale, std::fabs(v));
  test::check_close(got, want, tol * scale, 0, what);
}

// Runs the fused layer norm on the CPU and on the GPU from the same values (x, weight, bias
// leaves, x seen through `view`), and compares outputs, statistics and gradients.
void compare(const Shape& x_shape, const Shape& normalized_shape, ScalarType dt, bool has_w, bool has_b,
             bool transposed = false) {
  const std::string label = str(x_shape) + " over " + str(normalized_shape) + " " + dtype_name(dt) +
                            (has_w ? " weight" : "") + (has_b ? " bias" : "") + (transposed ? " transposed" : "");
  INFO(label);
  const double tol = dt == kFloat64 ? 1e-10 : 1e-4;
  Shape base_shape = x_shape;
  if (transposed) std::swap(base_shape[0], base_shape[1]);
  const Tensor xv = test::uniform(base_shape, -2, 3, dt);
  const Tensor wv = test::uniform(normalized_shape, 0.5, 1.5, dt), bv = test::uniform(normalized_shape, -1, 1, dt);
  const Tensor up = test::uniform(x_shape, -1, 1, dt);
  struct Run {
    Tensor x, w, b, y, mean, rstd;
  };
  auto run = [&](Device d) {
    Run r;
    r.x = xv.to(d).requires_grad_();
    r.w = has_w ? wv.to(d).requires_grad_() : Tensor();
    r.b = has_b ? bv.to(d).requires_grad_() : Tensor();
    const Tensor in = transposed ? r.x.transpose(0, 1) : r.x;
    std::tie(r.y, r.mean, r.rstd) = nn::native_layer_norm(in, normalized_shape, r.w, r.b, 1e-5);
    (r.y * up.to(d)).sum().backward();
    return r;
  };
  const Run c = run(Device(kCPU)), g = run(kGpu);
  check_scaled(g.y, c.y, tol, label + ": y");
  check_scaled(g.mean, c.mean, tol, label + ": mean");
  check_scaled(g.rstd, c.rstd, tol, label + ": rstd");
  check_scaled(g.x.grad(), c.x.grad(), tol, label + ": dx");
  if (has_w) check_scaled(g.w.grad(), c.w.grad(), tol, label + ": dweight");
  if (has_b) check_scaled(g.b.grad(), c.b.grad(), tol, label + ": dbias");
}

}  // namespace

#ifdef EMBER_WITH_CUDA
TEST_CASE("cuda layer_norm: host-side sizes that need no GPU") {
  namespace kc = kernels::cuda;
  // Nothing is launched for 0 rows or 0 columns (null pointers are never touched); a launch
  // here, without a GPU, would throw.
  CHECK_NOTHROW(kc::layer_norm(static_cast<const float*>(nullptr), nullptr, nullptr, nullptr, nullptr, nullptr, 0, 64,
                               1e-5));
  CHECK_NOTHROW(kc::layer_norm_backward(static_cast<const float*>(nullptr), nullptr, nullptr, nullptr, nullptr, nullptr,
                                        nullptr, nullptr, 0, 64, nullptr));
  CHECK_NOTHROW(kc::layer_norm_backward(static_cast<const double*>(nullptr), nullptr, nullptr, nullptr, nullptr,
                                        nullptr, nullptr, nullptr, 5, 0, nullptr));
  // Rows go in grid.x, columns in int: larger sizes are refused before any launch.
  CHECK(test::contains(test::error_of([] {
                         kc::layer_norm(static_cast<const float*>(nullptr), nullptr, nullptr, nullptr, nullptr,
                                        nullptr, int64_t{1} << 32, 1, 1e-5);
                       }),
                       "[layer_norm] too large"));
  CHECK(test::contains(test::error_of([] {  // the long-row loop's index must not overflow
                         kc::layer_norm(static_cast<const float*>(nullptr), nullptr, nullptr, nullptr, nullptr,
                                        nullptr, 1, int64_t{INT32_MAX} - 100, 1e-5);
                       }),
                       "[layer_norm] too large"));
  // The column sums' workspace: none for 0 rows or when the columns alone fill the GPU (one
  // chunk), else [chunks, cols] for dweight and again for dbias.
  CHECK(kc::layer_norm_backward_workspace(0, 256) == 0);
  CHECK(kc::layer_norm_backward_workspace(16, 65536) == 0);
  CHECK(kc::layer_norm_backward_workspace(64, 256) == 0);             // one chunk of 64 rows
  CHECK(kc::layer_norm_backward_workspace(4096, 256) == 2 * 64 * 256);  // rows / 64 chunks
  CHECK(kc::layer_norm_backward_workspace(1 << 20, 16) == 2 * 1024 * 16);  // capped at 1024 blocks
}
#endif

TEST_CASE("cuda layer_norm: every kernel path matches the CPU") {
  if (skip_without_gpu("the layer_norm path comparisons")) return;
  // Row lengths at and past each path's edge: warp kPer 1..32, block kPer 4..16, Welford.
  const std::vector<Shape> shapes = {{7, 1},     {7, 33},    {5, 100},   {9, 512},  {6, 1024},
                                     {4, 1025},  {3, 2048},  {3, 4097},  {2, 8192}, {2, 8193},
                                     {2, 30000}, {2, 65536}, {3, 4, 96}};
  for (ScalarType dt : {kFloat64, kFloat32})
    for (const Shape& s : shapes) compare(s, {s.back()}, dt, true, true);
}

TEST_CASE("cuda layer_norm: weight and bias optional, several normalized dims, non-contiguous") {
  if (skip_without_gpu("the layer_norm affine and layout comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    for (int affine = 0; affine < 4; ++affine) compare({6, 40}, {40}, dt, affine & 1, affine & 2);
    compare({2, 3, 4, 5}, {3, 4, 5}, dt, true, true);
    compare({2, 3, 4, 5}, {4, 5}, dt, true, false);
    compare({12, 70}, {70}, dt, true, true, /*transposed=*/true);
  }
}

TEST_CASE("cuda layer_norm: many rows (chunked column sums)") {
  if (skip_without_gpu("the layer_norm many-row comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    compare({100000, 16}, {16}, dt, true, true);  // 1 column tile: 1024 chunks of 98 rows
    compare({20000, 256}, {256}, dt, true, true);    // 8 tiles: 128 chunks
    compare({3000, 2048}, {2048}, dt, true, true);   // 64 tiles: 16 chunks
  }
  compare({int64_t{1} << 20, 8}, {8}, kFloat32, true, true);  // a million rows
}

TEST_CASE("cuda layer_norm: 0 rows launch nothing and give zero weight and bias gradients") {
  if (skip_without_gpu("the layer_norm empty cases")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    Tensor x = zeros({0, 64}, dt).to(kGpu).requires_grad_();
    Tensor w = ones({64}, dt).to(kGpu).requires_grad_(), b = zeros({64}, dt).to(kGpu).requires_grad_();
    Tensor y = nn::functional::layer_norm(x, {64}, w, b);
    CHECK(y.sizes() == Shape{0, 64});
    y.sum().backward();
    CHECK(host_values(w.grad()) == std::vector<double>(64, 0.0));
    CHECK(host_values(b.grad()) == std::vector<double>(64, 0.0));
    CHECK(x.grad().sizes() == Shape{0, 64});
  }
}

TEST_CASE("cuda layer_norm: 0 columns give NaN statistics, as on the CPU") {
  if (skip_without_gpu("the layer_norm zero-column cases")) return;
  // rows > 0 with an empty row: the warp kernel runs with every lane past the row's end; its
  // mean and rstd are 0 / 0 (NaN), the CPU's; the backward launches nothing.
  for (ScalarType dt : {kFloat64, kFloat32}) {
    compare({3, 0}, {0}, dt, true, true);
    compare({5, 2, 0}, {2, 0}, dt, false, false);
  }
}

TEST_CASE("cuda layer_norm: a row holding inf gives NaN y and rstd on every path, other rows are untouched") {
  if (skip_without_gpu("the layer_norm inf-row cases")) return;
  // Row 1 holds +inf (row 2 -inf): (x - mean) is inf - inf somewhere, so rstd and y are NaN on
  // the CPU and the GPU. The mean differs by design and is not compared: the two-pass paths
  // (CPU, GPU up to 8192 columns) give the sum's +-inf, Welford (GPU past 8192, and PyTorch's
  // CPU) gives NaN. Row 0 is finite and must match the CPU's as usual.
  for (ScalarType dt : {kFloat64, kFloat32})
    for (int64_t cols : {100, 4097, 30000}) {
      INFO(dtype_name(dt) << " cols " << cols);
      Tensor x = test::uniform({3, cols}, -2, 3, dt);
      x.select(0, 1).select(0, cols / 2).fill_(std::numeric_limits<double>::infinity());
      x.select(0, 2).select(0, cols - 1).fill_(-std::numeric_limits<double>::infinity());
      const Tensor w = test::uniform({cols}, 0.5, 1.5, dt), b = test::uniform({cols}, -1, 1, dt);
      auto [yc, mc, rc] = nn::native_layer_norm(x, {cols}, w, b, 1e-5);
      auto [yg, mg, rg] = nn::native_layer_norm(x.to(kGpu), {cols}, w.to(kGpu), b.to(kGpu), 1e-5);
      const double tol = dt == kFloat64 ? 1e-10 : 1e-4;
      check_scaled(yg.select(0, 0), yc.select(0, 0), tol, "finite row: y");
      check_scaled(mg.select(0, 0), mc.select(0, 0), tol, "finite row: mean");
      check_scaled(rg.select(0, 0), rc.select(0, 0), tol, "finite row: rstd");
      for (int64_t r : {1, 2}) {
        const std::vector<double> y = host_values(yg.select(0, r)), rs = host_values(rg.select(0, r));
        CHECK(std::all_of(y.begin(), y.end(), [](double v) { return std::isnan(v); }));
        CHECK(std::isnan(rs.at(0)));
        CHECK(std::isnan(test::values(rc.select(0, r)).at(0)));  // the CPU agrees
      }
    }
}

TEST_CASE("cuda layer_norm: create_graph on the GPU (the composed backward)") {
  if (skip_without_gpu("the layer_norm double backward")) return;
  const Tensor xv = test::uniform({5, 24}, -1, 1), wv = test::uniform({24}, 0.5, 1.5);
  const Tensor v = test::uniform({5, 24}, -1, 1);
  std::vector<Tensor> second;
  for (Device d : {Device(kCPU), kGpu}) {
    Tensor x = xv.to(d).requires_grad_(), w = wv.to(d).requires_grad_();
    Tensor y = nn::functional::layer_norm(x, {24}, w, {});
    auto g = autograd::grad({(y * v.to(d)).sum()}, {x, w}, {}, true, true);
    ((g[0] * g[0]).sum() + g[1].sum()).backward();
    second.push_back(x.grad());
    second.push_back(w.grad());
  }
  check_scaled(second[2], second[0], 1e-10, "second derivative at x");
  check_scaled(second[3], second[1], 1e-10, "second derivative at weight");
}
