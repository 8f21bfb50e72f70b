// CUDA: device queries, the caching allocator, copies between devices and the elementwise
// kernels, every GPU result compared with the CPU's on the same inputs (random, transposed,
// step-sliced, offset, broadcast, empty and 0-d). Without a GPU each GPU case prints
// "skipped: no CUDA device ..." and returns: it has checked nothing and passes only in
// doctest's sense. The error checks that need no GPU (mixed devices, no GPU, the guard in
// front of CPU-only kernels) run everywhere.
#include <memory>
#include <sstream>

#include "kernels/kernels.h"
#include "cuda_test_util.h"

using namespace ember;
using test::fake_cuda, test::host_values, test::kGpu, test::skip_without_gpu, test::str;

namespace {

/// One input laid out the same way on both devices: the GPU tensor is a view with the CPU
/// one's sizes and strides (a plain .to() would make it contiguous).
struct Pair {
  std::string layout;
  Tensor cpu, gpu;
};

Tensor random_values(const Shape& shape, double lo, double hi, ScalarType dtype) {
  if (dtype == kBool) return test::uniform(shape, 0, 1) > 0.5;
  return test::uniform(shape, lo, hi, dtype);
}

/// Contiguous, transposed, step-sliced and offset (misaligned for vector loads) layouts.
std::vector<Pair> pairs(const Shape& s, double lo, double hi, ScalarType dtype) {
  std::vector<Pair> out;
  Tensor base = random_values(s, lo, hi, dtype);
  out.push_back({"contiguous", base, base.to(kGpu)});
  if (s.size() >= 2) {
    Shape rev, dims;
    for (size_t i = s.size(); i-- > 0;) {
      rev.push_back(s[i]);
      dims.push_back(static_cast<int64_t>(i));
    }
    Tensor b = random_values(rev, lo, hi, dtype);
    out.push_back({"transposed", b.permute(dims), b.to(kGpu).permute(dims)});
  }
  if (!s.empty()) {
    Shape wide = s;
    wide.back() *= 2;
    Tensor b = random_values(wide, lo, hi, dtype);
    out.push_back({"step-sliced", b.slice(-1, 0, std::nullopt, 2), b.to(kGpu).slice(-1, 0, std::nullopt, 2)});
    Shape longer = s;
    longer[0] += 1;
    Tensor c = random_values(longer, lo, hi, dtype);
    out.push_back({"offset", c.narrow(0, 1, s[0]), c.to(kGpu).narrow(0, 1, s[0])});
  }
  return out;
}

/// Checks the GPU result against the CPU one: same sizes and dtype, the GPU's on the GPU,
/// values within tolerance for the dtype. CUDA's math functions are within 1-2 ulp of glibc's,
/// not bit-equal; the tolerance allows a few ulp through composite formulas (gelu, silu) while
/// any indexing slip shows as a gross error. Integers and bools must match exactly.
void check_same(const Tensor& gpu, const Tensor& cpu, const std::string& what) {
  const double tol = test::default_tol(cpu.dtype());
  test::check_gpu_cpu(gpu, cpu, tol, tol, what);
}

// Odd sizes leave tails for the vectorized path; 1000 x 3 is big enough for several blocks.
const std::vector<Shape> kShapes = {{}, {0}, {5}, {3, 4}, {2, 3, 5}, {7, 33}, {1000, 3}, {4, 0, 2}};

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> op;
  double lo, hi;
  bool integers;  // also on int64
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return -x; }, -3, 3, true},
      {"abs", [](const Tensor& x) { return x.abs(); }, -3, 3, true},
      {"sign", [](const Tensor& x) { return x.sign(); }, -3, 3, true},
      {"relu", [](const Tensor& x) { return x.relu(); }, -3, 3, true},
      {"exp", [](const Tensor& x) { return x.exp(); }, -3, 3, false},
      {"log", [](const Tensor& x) { return x.log(); }, 0.1, 5, false},
      {"log1p", [](const Tensor& x) { return x.log1p(); }, 0, 5, false},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }, 0.1, 5, false},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, 0.1, 5, false},
      {"sin", [](const Tensor& x) { return x.sin(); }, -3, 3, false},
      {"cos", [](const Tensor& x) { return x.cos(); }, -3, 3, false},
      {"tanh", [](const Tensor& x) { return x.tanh(); }, -3, 3, false},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, -5, 5, false},
      {"erf", [](const Tensor& x) { return erf(x); }, -2, 2, false},
      {"gelu", [](const Tensor& x) { return gelu(x); }, -3, 3, false},
      {"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, -3, 3, false},
      {"silu", [](const Tensor& x) { return silu(x); }, -3, 3, false},
      {"pow2", [](const Tensor& x) { return x.pow(2); }, -2, 2, true},
      {"pow3", [](const Tensor& x) { return x.pow(3); }, -2, 2, true},
      {"pow0.5", [](const Tensor& x) { return x.pow(0.5); }, 0.1, 3, false},
      {"pow2.5", [](const Tensor& x) { return x.pow(2.5); }, 0.1, 3, false},
      {"clamp", [](const Tensor& x) { return x.clamp(-1, 1); }, -2, 2, true},
      {"clamp_min", [](const Tensor& x) { return x.clamp(0.5); }, -2, 2, false},
      {"clamp_max", [](const Tensor& x) { return x.clamp(std::nullopt, 0.5); }, -2, 2, false},
      {"logical_not", [](const Tensor& x) { return !x; }, -1, 1, true},
  };
}

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> op;
  double lo, hi;
  bool integers;
};

std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }, -2, 2, true},
      {"add_alpha", [](const Tensor& a, const Tensor& b) { return add(a, b, 3); }, -2, 2, true},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }, -2, 2, true},
      {"sub_alpha", [](const Tensor& a, const Tensor& b) { return sub(a, b, 0.5); }, -2, 2, false},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, -2, 2, true},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, 0.5, 2, true},
      {"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); }, 0.5, 2, false},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, -2, 2, true},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, -2, 2, true},
      {"eq", [](const Tensor& a, const Tensor& b) { return a == b; }, -2, 2, true},
      {"ne", [](const Tensor& a, const Tensor& b) { return a != b; }, -2, 2, true},
      {"lt", [](const Tensor& a, const Tensor& b) { return a < b; }, -2, 2, true},
      {"le", [](const Tensor& a, const Tensor& b) { return a <= b; }, -2, 2, true},
      {"gt", [](const Tensor& a, const Tensor& b) { return a > b; }, -2, 2, true},
      {"ge", [](const Tensor& a, const Tensor& b) { return a >= b; }, -2, 2, true},
      {"logical_and", [](const Tensor& a, const Tensor& b) { return logical_and(a, b); }, -1, 1, true},
      {"logical_or", [](const Tensor& a, const Tensor& b) { return logical_or(a, b); }, -1, 1, true},
  };
}

}  // namespace

TEST_CASE("cuda: device queries are safe without a GPU") {
  int n = cuda::device_count();
  CHECK(n >= 0);
  CHECK(cuda::is_available() == (n > 0));
  cuda::synchronize();
  if (!cuda::is_available()) {
    MESSAGE("skipped: no CUDA device here; the GPU self-test did not run");
    CHECK(!test::error_of([] { cuda::self_test(); }).empty());
    CHECK(test::error_of([] { ones({2}).to(Device(kCUDA)); }).find("[to]") == 0);
    return;
  }
  CHECK(cuda::self_test());
}

TEST_CASE("cuda: device strings") {
  CHECK(Device("cuda") == Device(kCUDA, 0));
  CHECK(Device("cuda:7").index == 7);
  CHECK(Device("cuda:127").str() == "cuda:127");
  CHECK(Device("cpu").is_cpu());
  // The index is an int8_t: larger numbers are refused, not wrapped (cuda:256 is not cuda:0).
  for (const char* bad : {"cuda:128", "cuda:256", "cuda:99999999999999999999"})
    CHECK(test::error_of([&] { (void)Device(bad); }) ==
          "[Device] Invalid device string: '" + std::string(bad) + "' (device index out of range)");
  CHECK(test::error_of([] { (void)Device("cuda:x"); }) == "[Device] Invalid device string: 'cuda:x'");
  CHECK(Device(kCUDA, 127).index == 127);
  CHECK(Device(kCPU, 300).is_cpu());  // the CPU has index 0 whatever was asked
  CHECK(test::error_of([] { (void)Device(kCUDA, 128); }) == "[Device] Device index must be between 0 and 127, got 128");
  CHECK(test::error_of([] { (void)Device(kCUDA, -1); }) == "[Device] Device index must be between 0 and 127, got -1");
  CHECK(test::error_of([] { (void)Device("gpu"); }).find("[Device] Expected one of cpu, cuda") == 0);
}

TEST_CASE("cuda: errors that need no GPU") {
  // Mixed devices are refused before any kernel runs, naming both devices.
  Tensor g = fake_cuda({3}), c = ones({3});
  std::string e = test::error_of([&] { (void)(c + g); });
  CHECK(e.find("[add]") == 0);
  CHECK(test::contains(e, "cpu and cuda:0"));
  CHECK(test::contains(test::error_of([&] { (void)(g * c); }), "cuda:0 and cpu"));
  CHECK(test::error_of([&] { (void)where(c > 0, g, c); }).find("[where]") == 0);
  CHECK(test::error_of([&] { (void)c.masked_fill(fake_cuda({3}, kBool), 1); }).find("[masked_fill]") == 0);
  CHECK(test::error_of([&] { c.add_(g); }).find("[add_]") == 0);
  CHECK(test::error_of([&] { c.mul_(g); }).find("[mul_]") == 0);
  CHECK(test::error_of([&] { (void)matmul(ones({3, 3}), fake_cuda({3, 3})); }).find("[matmul]") == 0);
  // Only a 0-d CPU tensor may join a GPU op (PyTorch's CPU scalar): not one with dims, and
  // not a GPU 0-d tensor beside CPU ones; nor may a GPU result be written into a CPU tensor.
  Tensor g0 = fake_cuda({}), c0 = scalar_tensor(1.0f);
  CHECK(test::contains(test::error_of([&] { (void)(g0 + c); }), "[add] Expected all tensors to be on the same device"));
  CHECK(test::contains(test::error_of([&] { (void)where(c > 0, g0, c); }), "[where] Expected all tensors"));
  CHECK(test::contains(test::error_of([&] { c0.add_(g0); }), "[add_] Expected all tensors"));
  CHECK(test::contains(test::error_of([&] { c0.mul_(g); }), "[mul_] Expected all tensors"));
  // A CPU kernel without a CUDA twin refuses a CUDA tensor instead of reading device memory.
  Tensor f = fake_cuda({2, 3});
  CHECK(test::error_of([&] { kernels::cpu::softmax(f, 1, false, f); }) ==
        "[softmax] not implemented for CUDA tensors");
  CHECK(test::error_of([&] { kernels::cpu::reduce(kernels::ReduceOp::Sum, f, {0}, f); }) ==
        "[sum] not implemented for CUDA tensors");
  CHECK(test::error_of([&] { kernels::cpu::matmul(f, f, f); }) == "[matmul] not implemented for CUDA tensors");
  CHECK(test::error_of([&] { kernels::cpu::random(f, true, 0, 0); }) == "[randn] not implemented for CUDA tensors");
  // .grad() lives with its tensor (as PyTorch): a host gradient for a GPU parameter would reach
  // the next accumulation and the optimizer on the wrong device; another dtype is refused too.
  Tensor p = fake_cuda({3}).requires_grad_(true);
  CHECK(test::error_of([&] { p.set_grad(zeros({3})); }) ==
        "[set_grad] assigned grad has data located on a different device (cpu vs cuda:0)");
  CHECK(test::error_of([&] { p.set_grad(fake_cuda({3}, kFloat64)); }) ==
        "[set_grad] assigned grad has data of a different type (float64 vs float32)");
  CHECK(!p.grad().defined());
  p.set_grad(fake_cuda({3}));
  CHECK(p.grad().device() == kGpu);
  p.set_grad(Tensor());
  CHECK(!p.grad().defined());
  if (cuda::is_available()) return;
  // Without a GPU: a clear error instead of a crash when a CUDA tensor is made or read.
  CHECK(test::contains(test::error_of([] { ones({2}, kGpu); }), "cuda:0"));
  CHECK(test::error_of([] { fake_cuda({}).item<float>(); }).find("[to]") == 0);
  CHECK(test::error_of([&] { g.cpu(); }).find("[to]") == 0);
  // A 0-d CPU operand of a GPU op is moved to the GPU (which is missing here), not refused.
  CHECK(test::error_of([&] { (void)(g * c0); }).find("[to]") == 0);
  CHECK(test::error_of([&] { (void)(c0 - g); }).find("[to]") == 0);
  CHECK(test::error_of([&] { (void)where(fake_cuda({3}, kBool), g, c0); }).find("[to]") == 0);
  CHECK(test::error_of([&] { g.add_(c0); }).find("[to]") == 0);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().reserved == 0);
}

TEST_CASE("cuda: to(options) changes only what the options give, as libtorch's optional fields") {
  Tensor i = tensor({1, 2, 3});
  CHECK(i.to(ember::device(Device(kCPU))).dtype() == kInt64);  // not the default float32
  CHECK(i.to(ember::device(Device(kCPU))).is_same(i));
  CHECK(i.to(ember::dtype(kFloat64)).dtype() == kFloat64);
  // libtorch refuses requires_grad(true) in to(options); false is the same as not given.
  CHECK(test::error_of([&] { i.to(ember::dtype(kFloat64).requires_grad(true)); })
            .find("[to] Operators taking TensorOptions cannot take a TensorOptions with options.requires_grad set "
                  "as true.") == 0);
  CHECK(i.to(TensorOptions().requires_grad(false)).is_same(i));
  CHECK(i.to(i.options()).is_same(i));
  // Integer factories given only a device (or nothing) stay int64, as in PyTorch.
  CHECK(arange(5, ember::device(Device(kCPU))).dtype() == kInt64);
  CHECK(arange(0.5, 3, 1, ember::device(Device(kCPU))).dtype() == kFloat32);
  CHECK(randint(0, 5, {3}, ember::device(Device(kCPU))).dtype() == kInt64);
  CHECK(randperm(4, ember::device(Device(kCPU))).dtype() == kInt64);
  CHECK(randperm(4, kFloat64).dtype() == kFloat64);
  // *_like factories take what the options leave out from the tensor.
  CHECK(zeros_like(i, ember::requires_grad(false)).dtype() == kInt64);
  CHECK(ones_like(tensor({1.0, 2.0}), ember::device(Device(kCPU))).dtype() == kFloat64);
  CHECK(full_like(i, 2, ember::dtype(kFloat32)).dtype() == kFloat32);
  if (skip_without_gpu("to(options) across devices")) return;
  Tensor g = i.to(ember::device(kGpu));
  CHECK(g.dtype() == kInt64);
  CHECK(g.device() == kGpu);
  Tensor d = g.to(ember::dtype(kFloat64));  // stays on the GPU, not moved to the default device
  CHECK(d.device() == kGpu);
  CHECK(host_values(d) == std::vector<double>{1, 2, 3});
  CHECK(g.to(TensorOptions(kFloat32).device(Device(kCPU))).device() == Device(kCPU));
  CHECK(arange(5, ember::device(kGpu)).dtype() == kInt64);
  CHECK(randperm(4, ember::device(kGpu)).dtype() == kInt64);
  CHECK(zeros_like(g, ember::dtype(kFloat64)).device() == kGpu);
  CHECK(empty_like(g, ember::requires_grad(false)).device() == kGpu);
  // tensor() and scalar_tensor() given only a device keep the values' dtype there: an index
  // or a mask made on the GPU (they were float32, which index_select and where refuse).
  Tensor idx = tensor({2, 0}, ember::device(kGpu));
  CHECK(idx.dtype() == kInt64);
  CHECK(idx.device() == kGpu);
  Tensor rows = test::uniform({3, 4}, -1, 1, kFloat32);
  check_same(index_select(rows.to(kGpu), 0, idx), index_select(rows, 0, tensor({2, 0})), "index made on the GPU");
  Tensor mask = tensor(std::vector<bool>{true, false, true, true}, ember::device(kGpu));
  CHECK(mask.dtype() == kBool);
  check_same(rows.to(kGpu).masked_fill(mask, 0), rows.masked_fill(tensor(std::vector<bool>{true, false, true, true}), 0),
             "mask made on the GPU");
  CHECK(tensor({{1.5, 2.5}}, ember::device(kGpu)).dtype() == kFloat64);
  Tensor one = scalar_tensor(int64_t{1}, ember::device(kGpu));
  CHECK(one.dtype() == kInt64);
  CHECK(one.device() == kGpu);
  check_same(index_select(rows.to(kGpu), 0, one), index_select(rows, 0, tensor({1})), "0-d index made on the GPU");
}

TEST_CASE("cuda: the caching allocator reuses blocks by size class") {
  if (skip_without_gpu("the allocator checks")) return;
  cuda::empty_cache();
  const cuda::MemoryStats s0 = cuda::memory_stats();
  CHECK(s0.reserved == s0.allocated);
  Tensor a = empty({1000}, TensorOptions(kFloat32).device(kGpu));  // 4000 bytes: the 4096 class
  void* p = a.data_ptr<float>();
  cuda::MemoryStats s1 = cuda::memory_stats();
  CHECK(s1.allocated - s0.allocated == 4096);
  CHECK(s1.reserved - s0.reserved == 4096);
  CHECK(s1.peak_allocated >= s1.allocated);
  a = Tensor();  // back to the cache, not to the driver
  cuda::MemoryStats s2 = cuda::memory_stats();
  CHECK(s2.allocated == s0.allocated);
  CHECK(s2.reserved == s1.reserved);
  Tensor b = empty({1010}, TensorOptions(kFloat32).device(kGpu));  // 4040 bytes: same class
  CHECK(b.data_ptr<float>() == p);
  CHECK(cuda::memory_stats().reserved == s1.reserved);
  Tensor big = empty({3 << 20}, TensorOptions(kFloat32).device(kGpu));  // 12 MiB: 2 MiB classes
  CHECK(cuda::memory_stats().allocated - s0.allocated == 4096 + (12 << 20));
  Tensor none = empty({0}, TensorOptions(kFloat32).device(kGpu));
  CHECK(none.numel() == 0);
  b = Tensor();
  big = Tensor();
  cuda::MemoryStats s3 = cuda::memory_stats();
  CHECK(s3.allocated == s0.allocated);
  CHECK(s3.peak_allocated >= s0.allocated + 4096 + (12 << 20));
  cuda::reset_peak_memory_stats();
  CHECK(cuda::memory_stats().peak_allocated == s3.allocated);
  cuda::empty_cache();
  CHECK(cuda::memory_stats().reserved == s0.reserved);
}

TEST_CASE("cuda: to() round trips every dtype and layout exactly") {
  if (skip_without_gpu("the round trips")) return;
  for (ScalarType dt : {kFloat32, kFloat64, kInt64, kBool}) {
    for (const Shape& s : kShapes) {
      Tensor x = random_values(s, -100, 100, dt);
      const Tensor views[] = {x, s.size() >= 2 ? x.transpose(0, 1) : x,
                              s.empty() ? x : x.slice(0, 0, std::nullopt, 2)};
      for (const Tensor& v : views) {
        INFO(dtype_name(dt), " ", shape_text(v.sizes()));
        Tensor g = v.to(kGpu);
        CHECK(g.device() == kGpu);
        CHECK(g.is_cuda());
        CHECK(g.is_contiguous());
        Tensor back = g.cpu();
        CHECK(back.device() == Device(kCPU));
        CHECK(test::values(back) == test::values(v));
        // Strided on the GPU, then back: the staging copy runs on the GPU.
        if (s.size() >= 2) CHECK(test::values(x.to(kGpu).transpose(0, 1).cpu()) == test::values(x.transpose(0, 1)));
      }
    }
  }
  Tensor x = ones({2});
  CHECK(x.to(Device(kCPU)).is_same(x));  // same device: no copy
  Tensor g = x.cuda();
  CHECK(g.to(kGpu).is_same(g));
  CHECK(x.to(TensorOptions(kFloat64).device(kGpu)).dtype() == kFloat64);
  CHECK(test::contains(test::error_of([&] { x.to(Device(kCUDA, 1)); }), "cuda:1"));
}

TEST_CASE("cuda: to() is differentiable both ways") {
  if (skip_without_gpu("the to() gradients")) return;
  // CPU leaf, computed on the GPU: its gradient comes back to the CPU.
  Tensor x = test::uniform({3, 4}, -1, 1).requires_grad_(true);
  Tensor y = (x.to(kGpu) * 3 + 1).cpu().sum();
  y.backward();
  REQUIRE(x.grad().defined());
  CHECK(x.grad().device() == Device(kCPU));
  CHECK(test::values(x.grad()) == std::vector<double>(12, 3.0));
  // GPU leaf, reduced on the CPU: its gradient lands on the GPU.
  Tensor w = test::uniform({5}, -1, 1, kFloat64).to(kGpu).requires_grad_(true);
  Tensor loss = (w * w).cpu().sum();
  loss.backward();
  REQUIRE(w.grad().defined());
  CHECK(w.grad().device() == kGpu);
  test::check_close(host_values(w.grad()), test::values(w.detach().cpu() * 2), 1e-15, 1e-15, "d(w*w)/dw");
  // dtype and device in one call: the gradient comes back in the source's dtype (float32: it
  // must differ from the float64 target, and test::uniform makes float64 unless told).
  Tensor z = test::uniform({4}, -1, 1, kFloat32).requires_grad_(true);
  (z.to(TensorOptions(kFloat64).device(kGpu)) * 2).cpu().sum().backward();
  CHECK(z.grad().dtype() == kFloat32);
  CHECK(test::values(z.grad()) == std::vector<double>(4, 2.0));
  // gradcheck through a GPU computation: fn moves its CPU inputs over itself. b broadcasts,
  // so its gradient is reduced on the GPU by the engine's sum.
  Tensor a = test::uniform({2, 3}, 0.5, 2).requires_grad_(true), b = test::uniform({3}, 0.5, 2).requires_grad_(true);
  CHECK(autograd::gradcheck([](const std::vector<Tensor>& in) {
    Tensor ga = in[0].to(kGpu), gb = in[1].to(kGpu);
    return (ga * gb + ga.sin() / gb).exp().cpu();
  }, {a, b}));
}

TEST_CASE("cuda: unary ops match the CPU") {
  if (skip_without_gpu("the unary comparisons")) return;
  for (const UnaryCase& row : unary_cases()) {
    for (ScalarType dt : {kFloat32, kFloat64, kInt64}) {
      if (dt == kInt64 && !row.integers) continue;
      for (const Shape& s : kShapes) {
        for (const Pair& p : pairs(s, row.lo, row.hi, dt)) {
          check_same(row.op(p.gpu), row.op(p.cpu),
                     std::string(row.name) + " " + dtype_name(dt) + " " + p.layout + " " + str(s));
        }
      }
    }
  }
  // int64 -> float (exp of an integer is a float), bool -> bool.
  Tensor i = tensor({1, 2, 3});
  check_same(i.to(kGpu).exp(), i.exp(), "exp(int64)");
  Tensor m = tensor(std::vector<bool>{true, false});
  check_same(!m.to(kGpu), !m, "logical_not(bool)");
  // NaN handling as on the CPU.
  Tensor nan = tensor({NAN, 1.0f, -2.0f});
  check_same(nan.to(kGpu).clamp(-1, 1), nan.clamp(-1, 1), "clamp(nan)");
  check_same(nan.to(kGpu).relu(), nan.relu(), "relu(nan)");
}

TEST_CASE("cuda: binary ops broadcast and match the CPU") {
  if (skip_without_gpu("the binary comparisons")) return;
  const std::vector<std::pair<Shape, Shape>> shapes = {{{3, 4}, {3, 4}}, {{3, 4}, {4}},   {{2, 1, 4}, {3, 1}},
                                                       {{}, {3}},        {{0, 3}, {3}},   {{5}, {}},
                                                       {{7, 33}, {7, 1}}, {{1000, 3}, {3}}, {{}, {}}};
  for (const BinaryCase& row : binary_cases()) {
    for (ScalarType dt : {kFloat32, kFloat64, kInt64}) {
      if (dt == kInt64 && !row.integers) continue;
      for (auto [sa, sb] : shapes) {
        for (const Pair& pa : pairs(sa, row.lo, row.hi, dt)) {
          Tensor b = random_values(sb, row.lo, row.hi, dt);
          Tensor gb = b.to(kGpu);
          std::string what = std::string(row.name) + " " + dtype_name(dt) + " " + pa.layout + " " +
                             str(sa) + " " + str(sb);
          check_same(row.op(pa.gpu, gb), row.op(pa.cpu, b), what);
          check_same(row.op(gb, pa.gpu), row.op(b, pa.cpu), what + " swapped");
        }
      }
    }
  }
  // Equal values, so that eq/le/ge see ties; promotion across dtypes; scalars; bools.
  Tensor x = tensor({1.0f, 2.0f, 3.0f}), y = tensor({1.0f, 5.0f, 3.0f});
  Tensor gx = x.to(kGpu), gy = y.to(kGpu);
  check_same(gx == gy, x == y, "eq with ties");
  check_same(gx <= gy, x <= y, "le with ties");
  Tensor i = tensor({1, 2, 3}), gi = i.to(kGpu);
  check_same(gi + gx, i + x, "int64 + float32");
  check_same(gi / 2, i / 2, "int64 / 2 (true division)");
  check_same(gi * 2, i * 2, "int64 * 2");
  check_same(gx * 2.5, x * 2.5, "float32 * 2.5");
  check_same(1 - gx, 1 - x, "1 - x");
  check_same(2.0 / gx, 2.0 / x, "2 / x");
  check_same(pow(2.0, gx), pow(2.0, x), "2 ** x");
  Tensor bt = tensor(std::vector<bool>{true, false, true}), bf = tensor(std::vector<bool>{false, false, true});
  check_same(bt.to(kGpu) + bf.to(kGpu), bt + bf, "bool + bool (or)");
  check_same(bt.to(kGpu) * bf.to(kGpu), bt * bf, "bool * bool (and)");
  check_same(logical_and(bt.to(kGpu), bf.to(kGpu)), logical_and(bt, bf), "bool and");
  Tensor nan = tensor({NAN, 1.0f}), one = tensor({0.0f, NAN});
  check_same(maximum(nan.to(kGpu), one.to(kGpu)), maximum(nan, one), "maximum(nan)");
}

TEST_CASE("cuda: where, masked_fill, fill_, copy_ and in-place ops match the CPU") {
  if (skip_without_gpu("where/masked_fill/fill_/copy_")) return;
  for (ScalarType dt : {kFloat32, kFloat64, kInt64, kBool}) {
    for (const Shape& s : kShapes) {
      for (const Pair& p : pairs(s, -2, 2, dt)) {
        std::string what = std::string(dtype_name(dt)) + " " + p.layout + " " + str(s);
        Tensor cond = test::uniform(s, -1, 1) > 0, other = random_values(s, -2, 2, dt);
        check_same(where(cond.to(kGpu), p.gpu, other.to(kGpu)), where(cond, p.cpu, other), "where " + what);
        if (!s.empty()) {  // a broadcast condition
          Tensor row = test::uniform({s.back()}, -1, 1) > 0;
          check_same(where(row.to(kGpu), p.gpu, other.to(kGpu)), where(row, p.cpu, other), "where bcast " + what);
          check_same(p.gpu.masked_fill(row.to(kGpu), 1), p.cpu.masked_fill(row, 1), "masked_fill " + what);
        }
        check_same(p.gpu.masked_fill(cond.to(kGpu), 0), p.cpu.masked_fill(cond, 0), "masked_fill " + what);
        check_same(p.gpu.clone(), p.cpu.clone(), "clone " + what);
        check_same(p.gpu.contiguous(), p.cpu.contiguous(), "contiguous " + what);
        // fill_ and copy_ into the strided view itself (its base on the GPU changes).
        Tensor gv = p.gpu, cv = p.cpu;
        gv.fill_(1);
        cv.fill_(1);
        check_same(gv, cv, "fill_ " + what);
        for (ScalarType from : {kFloat32, kFloat64, kInt64, kBool}) {
          Tensor src = random_values(s, -5, 5, from);
          gv.copy_(src.to(kGpu));
          cv.copy_(src);
          check_same(gv, cv, std::string("copy_ from ") + dtype_name(from) + " " + what);
          check_same(src.to(kGpu).to(dt), src.to(dt), std::string("to(dtype) from ") + dtype_name(from) + " " + what);
        }
        if (!s.empty()) {  // copy_ broadcasting a row
          Tensor row = random_values({s.back()}, -5, 5, dt);
          gv.copy_(row.to(kGpu));
          cv.copy_(row);
          check_same(gv, cv, "copy_ broadcast " + what);
        }
        gv.copy_(other);  // across devices
        check_same(gv, other, "copy_ from the CPU " + what);
        if (dt != kBool) {
          Tensor add = random_values(s, -2, 2, dt);
          gv.add_(add.to(kGpu));
          cv.copy_(other);
          cv.add_(add);
          check_same(gv, cv, "add_ " + what);
          gv.mul_(2);
          cv.mul_(2);
          check_same(gv, cv, "mul_ " + what);
          gv.sub_(1);
          cv.sub_(1);
          check_same(gv, cv, "sub_ " + what);
        }
      }
    }
  }
  Tensor a = test::uniform({3, 4}, -1, 1), t1 = test::uniform({3, 4}, -1, 1), t2 = test::uniform({4}, 0.5, 1);
  Tensor ga = a.to(kGpu);
  addcmul_(ga, t1.to(kGpu), t2.to(kGpu), 0.5);
  addcmul_(a, t1, t2, 0.5);
  check_same(ga, a, "addcmul_");
  addcdiv_(ga, t1.to(kGpu), t2.to(kGpu), -2);
  addcdiv_(a, t1, t2, -2);
  check_same(ga, a, "addcdiv_");
}

TEST_CASE("cuda: a 0-d CPU tensor is an operand of GPU ops, as in PyTorch, and gets its gradient on the CPU") {
  if (skip_without_gpu("the CPU scalar checks")) return;
  Tensor x = test::uniform({3, 4}, -1, 1, kFloat32), gx = x.to(kGpu);
  Tensor s = scalar_tensor(2.5), i = scalar_tensor(int64_t{3});  // float32 and int64, 0-d, on the CPU
  check_same(gx * s, x * s, "x * cpu scalar");
  check_same(s - gx, s - x, "cpu scalar - x");
  check_same(gx + i, x + i, "x + int64 cpu scalar (x's float32: a 0-d tensor does not promote)");
  check_same(gx > s, x > s, "x > cpu scalar");
  check_same(maximum(gx, s), maximum(x, s), "maximum with a cpu scalar");
  check_same(where(gx > 0, gx, s), where(x > 0, x, s), "where with a cpu scalar");
  check_same(where(scalar_tensor(true, kBool), s, gx), where(scalar_tensor(true, kBool), s, x), "where cpu cond");
  Tensor g0 = scalar_tensor(1.5).to(kGpu);
  CHECK((g0 + s).device() == kGpu);  // both 0-d: the GPU one decides
  CHECK((s * g0).device() == kGpu);
  CHECK((s * g0).item<float>() == 3.75f);
  Tensor gy = gx.clone(), y = x.clone();
  gy.add_(s);
  y.add_(s);
  gy.mul_(i);
  y.mul_(i);
  gy.sub_(s, 2);
  y.sub_(s, 2);
  gy.div_(s);
  y.div_(s);
  check_same(gy, y, "in-place ops with cpu scalars");
  // The other way is refused: a GPU result is never written into a CPU tensor.
  Tensor c0 = scalar_tensor(1.0f);
  CHECK(test::error_of([&] { c0.div_(g0); }) ==
        "[div_] Expected all tensors to be on the same device, but found at least two devices, cpu and cuda:0!");
  CHECK(test::contains(test::error_of([&] { c0.add_(g0); }), "[add_] Expected all tensors"));
  CHECK(c0.item<float>() == 1.0f);
  // Gradients: the GPU operand's on the GPU, the CPU scalar's back on the CPU.
  Tensor w = scalar_tensor(0.5, kFloat64).requires_grad_(true);
  Tensor gx64 = x.to(kFloat64).to(kGpu).requires_grad_(true);
  (gx64 * w + w).sum().backward();
  REQUIRE(w.grad().defined());
  CHECK(w.grad().device() == Device(kCPU));
  CHECK(w.grad().dim() == 0);
  test::check_close(test::values(w.grad()), {x.to(kFloat64).sum().item<double>() + 12}, 1e-12, 1e-12, "d/dw");
  REQUIRE(gx64.grad().defined());
  CHECK(gx64.grad().device() == kGpu);
  CHECK(host_values(gx64.grad()) == std::vector<double>(12, 0.5));
  // A 0-d host gradient of a GPU root moves there (and takes the root's dtype), as PyTorch's
  // validate_outputs does for the roots too.
  Tensor leaf = x.to(kFloat64).to(kGpu).requires_grad_(true);
  (leaf * leaf).sum().backward(scalar_tensor(3.0));
  REQUIRE(leaf.grad().defined());
  CHECK(leaf.grad().device() == kGpu);
  CHECK(leaf.grad().dtype() == kFloat64);
  test::check_close(host_values(leaf.grad()), test::values(x.to(kFloat64) * 6), 1e-12, 1e-12, "root gradient 3");
}

TEST_CASE("cuda: factories, item, printing and autograd on the GPU") {
  if (skip_without_gpu("the factory and autograd checks")) return;
  TensorOptions f32 = TensorOptions(kFloat32).device(kGpu);
  check_same(zeros({2, 3}, f32), zeros({2, 3}), "zeros");
  check_same(ones({5}, TensorOptions(kInt64).device(kGpu)), ones({5}, kInt64), "ones int64");
  check_same(full({3}, 2.5, TensorOptions(kFloat64).device(kGpu)), full({3}, 2.5, kFloat64), "full");
  check_same(full({3}, true, TensorOptions(kBool).device(kGpu)), full({3}, true, kBool), "full bool");
  check_same(arange(0, 10, 3, f32), arange(0, 10, 3, kFloat32), "arange");
  check_same(eye(3, 4, f32), eye(3, 4), "eye");
  check_same(linspace(0, 1, 5, f32), linspace(0, 1, 5), "linspace");
  check_same(tensor({1.0, 2.0}, f32), tensor({1.0, 2.0}, kFloat32), "tensor()");
  check_same(zeros_like(ones({2}, f32)), zeros({2}), "zeros_like");
  CHECK(empty({2, 2}, f32).device() == kGpu);
  manual_seed(7);
  Tensor r_gpu = randn({100}, f32);
  manual_seed(7);
  check_same(r_gpu, randn({100}), "randn: the CPU's numbers");
  CHECK(rand({4}, f32.requires_grad(true)).requires_grad());
  CHECK(randint(0, 5, {6}, TensorOptions(kInt64).device(kGpu)).device() == kGpu);
  Tensor s = scalar_tensor(4.5, f32);
  CHECK(s.item<float>() == 4.5f);
  CHECK(s.item().to_double() == 4.5);
  CHECK((tensor({7, 8}).to(kGpu)[1]).item<int64_t>() == 8);
  std::ostringstream os;
  os << tensor({1.5, 2.0}).to(kGpu);
  CHECK(test::contains(os.str(), "device='cuda:0'"));
  CHECK(test::contains(os.str(), "1.5000"));
  // Elementwise autograd runs on the GPU: same gradients as on the CPU.
  Tensor x = test::uniform({3, 4}, 0.5, 2, kFloat64).requires_grad_(true);
  Tensor gx = x.detach().to(kGpu).requires_grad_(true);
  auto f = [](const Tensor& t) { return (t.sigmoid() * t.log() - t.pow(2) / 3).tanh().relu() + gelu(t) * silu(t); };
  f(x).backward(ones({3, 4}, kFloat64));
  f(gx).backward(ones({3, 4}, TensorOptions(kFloat64).device(kGpu)));
  check_same(gx.grad(), x.grad(), "gradient of an elementwise chain");
  // Reductions run on the GPU as well (tests/test_cuda_ops.cpp compares them in depth).
  check_same(gx.detach().sum(), x.detach().sum(), "sum on the GPU");
}

TEST_CASE("cuda: every elementwise backward formula runs on the GPU and matches the CPU") {
  if (skip_without_gpu("the elementwise gradient comparisons")) return;
  // Gradients of sum(op(x) * w) for random w: w reaches each formula unchanged. float32 within
  // 1e-4: a broadcast operand's gradient is summed over up to 33 rows by the engine, which the
  // GPU does in float32 (the CPU in double) over terms up to ~8 in magnitude (div, pow).
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 1e-4;
    auto same_grad = [&](const Tensor& gpu_leaf, const Tensor& cpu_leaf, const std::string& what) {
      INFO(what);
      REQUIRE(gpu_leaf.grad().defined() == cpu_leaf.grad().defined());
      if (!cpu_leaf.grad().defined()) return;
      CHECK(gpu_leaf.grad().device() == gpu_leaf.device());
      CHECK(gpu_leaf.grad().sizes() == cpu_leaf.grad().sizes());
      test::check_close(host_values(gpu_leaf.grad()), test::values(cpu_leaf.grad()), tol, tol, what);
    };
    for (const UnaryCase& row : unary_cases()) {
      if (std::string(row.name) == "logical_not") continue;
      for (const Shape& s : {Shape{}, Shape{0}, Shape{7, 33}}) {
        const std::string what = std::string("d ") + row.name + " " + dtype_name(dt) + " " + str(s);
        Tensor base = test::uniform(s, row.lo, row.hi, dt), w = test::uniform(s, -1, 1, dt);
        Tensor xc = base.clone().requires_grad_(true), xg = base.to(kGpu).requires_grad_(true);
        (row.op(xc) * w).sum().backward();
        (row.op(xg) * w.to(kGpu)).sum().backward();
        same_grad(xg, xc, what);
      }
    }
    const std::vector<std::pair<Shape, Shape>> shapes = {
        {{7, 33}, {33}}, {{7, 1}, {1, 33}}, {{}, {5}}, {{5}, {}}, {{0, 3}, {3}}, {{4, 5}, {4, 5}}};
    for (const BinaryCase& row : binary_cases()) {
      for (const auto& [sa, sb] : shapes) {
        const std::string what = std::string("d ") + row.name + " " + dtype_name(dt) + " " + str(sa) + " " + str(sb);
        Tensor a = test::uniform(sa, row.lo, row.hi, dt), b = test::uniform(sb, row.lo, row.hi, dt);
        Tensor ac = a.clone().requires_grad_(true), bc = b.clone().requires_grad_(true);
        Tensor ag = a.to(kGpu).requires_grad_(true), bg = b.to(kGpu).requires_grad_(true);
        Tensor yc = row.op(ac, bc);
        if (!yc.requires_grad()) break;  // comparisons and logical ops: no gradient
        Tensor w = test::uniform(yc.sizes(), -1, 1, dt);
        (yc * w).sum().backward();
        (row.op(ag, bg) * w.to(kGpu)).sum().backward();
        same_grad(ag, ac, what + ": a");
        same_grad(bg, bc, what + ": b");
      }
    }
    // Ties of maximum / minimum split the gradient (exact halves on both devices).
    for (bool is_max : {true, false}) {
      Tensor a = tensor({1.0, 2.0, 3.0, -1.0}).to(dt), b = tensor({1.0, 5.0, 0.0, -1.0}).to(dt);
      Tensor w = tensor({1.0, 2.0, 3.0, 4.0}).to(dt);
      auto f = [&](const Tensor& x, const Tensor& y) { return is_max ? maximum(x, y) : minimum(x, y); };
      Tensor ac = a.clone().requires_grad_(true), bc = b.clone().requires_grad_(true);
      Tensor ag = a.to(kGpu).requires_grad_(true), bg = b.to(kGpu).requires_grad_(true);
      (f(ac, bc) * w).sum().backward();
      (f(ag, bg) * w.to(kGpu)).sum().backward();
      CHECK(host_values(ag.grad()) == (is_max ? std::vector<double>{0.5, 0, 3, 2} : std::vector<double>{0.5, 2, 0, 2}));
      CHECK(host_values(bg.grad()) == (is_max ? std::vector<double>{0.5, 2, 0, 2} : std::vector<double>{0.5, 0, 3, 2}));
      same_grad(ag, ac, is_max ? "maximum ties: a" : "minimum ties: a");
      same_grad(bg, bc, is_max ? "maximum ties: b" : "minimum ties: b");
    }
    // Scalar operands (wrapped numbers moved to the GPU by the op): pow(2, x), 2 / x, 1 - x.
    {
      Tensor base = test::uniform({7, 33}, 0.5, 2, dt), w = test::uniform({7, 33}, -1, 1, dt);
      Tensor xc = base.clone().requires_grad_(true), xg = base.to(kGpu).requires_grad_(true);
      auto f = [](const Tensor& x) { return pow(2.0, x) + 2.0 / x + (1 - x) * 3 + x.pow(-1.5) + x / 4; };
      (f(xc) * w).sum().backward();
      (f(xg) * w.to(kGpu)).sum().backward();
      same_grad(xg, xc, std::string("scalar operands ") + dtype_name(dt));
    }
    // where (a broadcast branch and condition) and masked_fill.
    {
      Tensor cond = test::uniform({7, 33}, -1, 1) > 0, row_mask = test::uniform({33}, -1, 1) > 0;
      Tensor a = test::uniform({7, 33}, -1, 1, dt), b = test::uniform({33}, -1, 1, dt), w = test::uniform({7, 33}, -1, 1, dt);
      Tensor ac = a.clone().requires_grad_(true), bc = b.clone().requires_grad_(true);
      Tensor ag = a.to(kGpu).requires_grad_(true), bg = b.to(kGpu).requires_grad_(true);
      auto f = [&](const Tensor& x, const Tensor& y, const Tensor& c, const Tensor& m, const Tensor& wt) {
        return ((where(c, x, y) + x.masked_fill(m, 2.0) + where(m, y, 0.5)) * wt).sum();
      };
      f(ac, bc, cond, row_mask, w).backward();
      f(ag, bg, cond.to(kGpu), row_mask.to(kGpu), w.to(kGpu)).backward();
      same_grad(ag, ac, std::string("where / masked_fill: a ") + dtype_name(dt));
      same_grad(bg, bc, std::string("where / masked_fill: b ") + dtype_name(dt));
    }
    // In-place ops recorded by autograd (a's history continues from the out-of-place result),
    // and copy_ from a CPU tensor that requires grad into a GPU one (its gradient comes back).
    {
      Tensor x = test::uniform({4, 5}, 0.5, 2, dt), z = test::uniform({5}, 0.5, 2, dt);
      Tensor mask = test::uniform({4, 5}, -1, 1) > 0.5;
      Tensor xc = x.clone().requires_grad_(true), zc = z.clone().requires_grad_(true);
      Tensor xg = x.to(kGpu).requires_grad_(true), zg = z.to(kGpu).requires_grad_(true);
      auto f = [](const Tensor& xx, const Tensor& zz, const Tensor& m) {
        Tensor y = xx * 1.5;
        y.mul_(zz);
        y.add_(0.25);
        y.div_(zz + 1);
        y.sub_(xx, 0.5);
        y.mul_(3);
        y.clamp_(0.1, 2.5);
        y.masked_fill_(m, 0.0);
        return (y * y).sum();
      };
      f(xc, zc, mask).backward();
      f(xg, zg, mask.to(kGpu)).backward();
      same_grad(xg, xc, std::string("in-place chain: x ") + dtype_name(dt));
      same_grad(zg, zc, std::string("in-place chain: z ") + dtype_name(dt));
      Tensor src = test::uniform({3}, -1, 1, dt).requires_grad_(true), w = test::uniform({2, 3}, -1, 1, dt);
      Tensor into = zeros({2, 3}, TensorOptions(dt).device(kGpu));
      into.copy_(src);  // across devices and broadcast
      REQUIRE(into.requires_grad());
      (into * w.to(kGpu)).sum().backward();
      REQUIRE(src.grad().defined());
      CHECK(src.grad().device() == Device(kCPU));
      test::check_close(test::values(src.grad()), test::values(w.sum({0})), tol, tol, "copy_ from the CPU: d src");
    }
  }
}

TEST_CASE("cuda: hooks, retain_grad, anomaly mode, equal and allclose on the GPU") {
  if (skip_without_gpu("the autograd engine checks on the GPU")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = dt == kFloat64 ? 1e-12 : 1e-5;
    Tensor base = test::uniform({3, 4}, -1, 1, dt);
    auto run = [&](Device dev) {
      Tensor x = base.detach().to(dev).requires_grad_(true);  // never base itself: it stays a constant
      Tensor h = x.tanh();
      h.retain_grad();
      h.register_hook([](const Tensor& g) { return g * 2; });
      x.register_hook([](const Tensor& g) { return g + 1; });
      (h * h).sum().backward();
      REQUIRE(h.grad().defined());
      REQUIRE(x.grad().defined());
      CHECK(h.grad().device() == dev);
      CHECK(x.grad().device() == dev);
      return std::make_pair(h.grad(), x.grad());
    };
    auto [hc, xc] = run(Device(kCPU));
    auto [hg, xg] = run(kGpu);
    test::check_close(host_values(hg), test::values(hc), tol, tol, "retained gradient");
    test::check_close(host_values(xg), test::values(xc), tol, tol, "gradient through hooks");
    // Anomaly mode checks each GPU gradient (a sum on the GPU, one value back): sqrt's at 0 is inf.
    {
      autograd::DetectAnomalyGuard anomaly;
      Tensor z = zeros({3}, TensorOptions(dt).device(kGpu)).requires_grad_(true);
      const std::string e = test::error_of([&] { z.sqrt().sum().backward(); });
      CHECK(test::contains(e, "Function 'SqrtBackward'"));
      CHECK(test::contains(e, "returned nan or inf values in its 0th output"));
      Tensor ok = base.detach().to(kGpu).requires_grad_(true);
      CHECK(test::error_of([&] { (ok * ok + 1).sqrt().sum().backward(); }).empty());
      CHECK(ok.grad().defined());
    }
    Tensor g = base.to(kGpu);
    CHECK(equal(g, g.clone()));
    CHECK(!equal(g, (base * 2).to(kGpu)));
    CHECK(!equal(g, g.reshape({4, 3})));
    CHECK(allclose(g, g + 1e-9));
    CHECK(!allclose(g, g + 0.1));
    Tensor zeroed = g.clone();
    zeroed.zero_();
    CHECK(host_values(zeroed) == std::vector<double>(12, 0.0));
    CHECK(test::contains(autograd::to_dot((g.requires_grad_(true) * 2).sum()), "MulBackward"));
    // An integer tensor refuses a float scalar in place on the GPU too.
    Tensor counts = tensor({4, 6}, ember::device(kGpu));
    CHECK(test::contains(test::error_of([&] { counts.mul_(0.5); }), "result type float32 can't be cast"));
    counts.mul_(2);
    CHECK(host_values(counts) == std::vector<double>{8, 12});
  }
  // A float64 result is written into a float32 tensor (PyTorch's canCast), by the copy kernel.
  Tensor f = ones({3}, TensorOptions(kFloat32).device(kGpu));
  f.add_(full({3}, 0.25, TensorOptions(kFloat64).device(kGpu)));
  CHECK(f.dtype() == kFloat32);
  CHECK(host_values(f) == std::vector<double>(3, 1.25));
}

TEST_CASE("cuda: elementwise kernels index past 2^31 elements (64-bit offsets)") {
  if (skip_without_gpu("the 64-bit offset checks")) return;
  // 3 GiB of bools: the contiguous kernel fills more than 2^31 elements, and a strided view
  // whose last element lies 2^31 + 2^29 elements in makes map.cuh take its int64 path.
  const int64_t half = int64_t{1} << 29;
  {
    Tensor big = zeros({3, 2 * half}, TensorOptions(kBool).device(kGpu));
    Tensor view = big.slice(1, 0, std::nullopt, half);  // [3, 2], strides [2^30, 2^29]
    view.fill_(true);
    CHECK(test::values(view.cpu()) == std::vector<double>(6, 1.0));
    CHECK(!big[2][half + 1].item<bool>());  // a neighbour of the last written element
    CHECK(big[2][half].item<bool>());
    Tensor flipped = logical_not(view);  // reads through the int64 path, writes a small tensor
    CHECK(test::values(flipped.cpu()) == std::vector<double>(6, 0.0));
    view.copy_(tensor(std::vector<bool>{true, false}));  // a broadcast row, across devices
    CHECK(test::values(view.cpu()) == std::vector<double>{1, 0, 1, 0, 1, 0});
    CHECK(!big[2][half].item<bool>());
  }
  cuda::empty_cache();  // hand the 3 GiB back
}
