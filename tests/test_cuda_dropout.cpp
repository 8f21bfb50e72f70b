// CUDA: fused dropout (kernels/cuda/dropout.cu) against the CPU's fused kernel and against the
// composed formula on the GPU, for the same seed: masks bit for bit, on sizes that exercise
// the packed and the element-wise paths (aligned and offset data, tails), strided inputs,
// gradients of first and second order, the stream's advance, empty and 0-d tensors. Without
// a GPU each case prints "skipped: no CUDA device ..." and returns: it has checked nothing.
// The checks that throw before touching the device run everywhere (fake_cuda).
#include <string>

#include "nn/dropout_op.h"
#include "nn/functional.h"
#include "cuda_test_util.h"

using namespace ember;
using test::fake_cuda, test::kGpu, test::skip_without_gpu;
namespace F = ember::nn::functional;

namespace {

/// Same sizes and dtype, the GPU's on the GPU, every value identical (NaN matching NaN).
void check_identical(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  test::check_gpu_cpu(gpu, cpu, 0, 0, what);
}

Tensor composed_dropout(const Tensor& x, double p) {
  Tensor keep = (rand(x.sizes(), x.options()) >= p).to(x.dtype()) * (1.0 / (1.0 - p));
  return x * keep;
}

}  // namespace

TEST_CASE("cuda dropout: errors that need no GPU") {
  CHECK(test::contains(test::error_of([] { (void)F::dropout(fake_cuda({3}, kInt64), 0.5, true); }),
                       "desired output type int64"));
  CHECK(test::contains(test::error_of([] { (void)F::dropout(fake_cuda({3}), 2.0, true); }), "between 0 and 1"));
}

TEST_CASE("cuda dropout: masks equal the CPU's and the composed formula's, bit for bit") {
  if (skip_without_gpu("the dropout mask comparisons")) return;
  // 4099 and 1 << 20 + 3: tails after the packs of 4; 3: fewer than one pack.
  for (int64_t n : {int64_t{3}, int64_t{4}, int64_t{4099}, (int64_t{1} << 20) + 3}) {
    for (ScalarType dt : {kFloat32, kFloat64}) {
      for (double p : {0.1, 0.5, 0.9}) {
        for (int64_t shift : {int64_t{0}, int64_t{1}}) {  // 1: data not aligned to a pack
          std::string what = "n " + std::to_string(n) + " " + dtype_name(dt) + " p " + std::to_string(p) +
                             (shift ? " offset data" : " aligned");
          Tensor base = test::uniform({n + shift}, -2, 2, dt);
          Tensor x = base.slice(0, shift, n + shift);
          Tensor xg = base.to(kGpu).slice(0, shift, n + shift);
          manual_seed(31);
          Tensor yc = F::dropout(x, p, true);
          manual_seed(31);
          Tensor yg = F::dropout(xg, p, true);
          Tensor after = rand({4}, TensorOptions(dt).device(kGpu));
          check_identical(yg, yc, what);
          manual_seed(31);
          Tensor old = composed_dropout(xg, p);
          Tensor after_old = rand({4}, TensorOptions(dt).device(kGpu));
          check_identical(yg, old.cpu(), "vs the composed formula, " + what);
          check_identical(after, after_old.cpu(), "the stream's advance, " + what);
        }
      }
    }
  }
}

TEST_CASE("cuda dropout: strided inputs, gradients and the second derivative match the CPU") {
  if (skip_without_gpu("the dropout gradient comparisons")) return;
  for (ScalarType dt : {kFloat32, kFloat64}) {
    Tensor base = test::uniform({9, 70}, 1, 2, dt);
    auto run = [&](Device dev, bool transposed) {
      Tensor leaf = base.detach().to(dev).requires_grad_(true);  // a fresh leaf per run
      Tensor x = transposed ? leaf.t() : leaf * 1.0;
      Tensor v = test::uniform(x.sizes(), -1, 1, dt).to(dev).requires_grad_(true);
      manual_seed(12);
      Tensor y = F::dropout(x, 0.35, true);
      Tensor gx = autograd::grad({y}, {leaf}, {v}, std::nullopt, /*create_graph=*/true)[0];
      Tensor w = test::uniform(base.sizes(), -1, 1, dt).to(dev);
      Tensor gv = autograd::grad({gx}, {v}, {w})[0];
      return std::make_tuple(y.detach(), gx.detach(), gv);
    };
    for (bool tr : {false, true}) {
      std::string what = std::string(dtype_name(dt)) + (tr ? " transposed" : " contiguous");
      manual_seed(40);
      auto [yc, gc, vc] = run(Device(kCPU), tr);
      manual_seed(40);
      auto [yg, gg, vg] = run(kGpu, tr);
      check_identical(yg, yc, "forward " + what);
      check_identical(gg, gc, "gradient " + what);
      check_identical(vg, vc, "second derivative " + what);
    }
  }
}

TEST_CASE("cuda dropout: empty, 0-d, p = 0, p = 1 and eval on the GPU") {
  if (skip_without_gpu("the dropout edge cases")) return;
  Tensor e = zeros({0, 5}, TensorOptions(kFloat32).device(kGpu));
  CHECK(F::dropout(e, 0.5, true).is_same(e));
  Tensor x = test::uniform({6}, 1, 2).to(kGpu);
  CHECK(F::dropout(x, 0.0, true).is_same(x));
  CHECK(F::dropout(x, 0.5, false).is_same(x));
  check_identical(F::dropout(x, 1.0, true), zeros({6}, kFloat64), "p = 1");
  for (uint64_t seed = 0; seed < 16; ++seed) {
    Tensor s = full({}, 5.0, TensorOptions(kFloat32));
    manual_seed(seed);
    Tensor yc = F::dropout(s, 0.5, true);
    manual_seed(seed);
    check_identical(F::dropout(s.to(kGpu), 0.5, true), yc, "0-d, seed " + std::to_string(seed));
  }
}
