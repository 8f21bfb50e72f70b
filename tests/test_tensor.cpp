// Factories, views, dtypes and promotion, printing, errors.
#include <sstream>

#include "test_util.h"

using namespace ember;
using test::error_of;
using test::values;

TEST_CASE("tensor: factories") {
  Tensor z = zeros({2, 3});
  CHECK(z.sizes() == Shape{2, 3});
  CHECK(z.dtype() == kFloat32);
  CHECK(values(z) == std::vector<double>(6, 0.0));
  CHECK(values(ones({2}, kInt64)) == std::vector<double>{1, 1});
  CHECK(values(full({2}, 2.5, kFloat64)) == std::vector<double>{2.5, 2.5});
  CHECK(arange(5).dtype() == kInt64);
  CHECK(values(arange(5)) == std::vector<double>{0, 1, 2, 3, 4});
  CHECK(arange(0.0, 1.0, 0.25).dtype() == kFloat32);
  CHECK(values(arange(1, 10, 3)) == std::vector<double>{1, 4, 7});
  CHECK(values(linspace(0, 1, 5, kFloat64)) == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(values(eye(2, 3)) == std::vector<double>{1, 0, 0, 0, 1, 0});
  CHECK(values(tensor({{1., 2.}, {3., 4.}})) == std::vector<double>{1, 2, 3, 4});
  CHECK(tensor({{1., 2.}, {3., 4.}}).dtype() == kFloat64);
  CHECK(tensor(std::vector<float>{1, 2}).dtype() == kFloat32);
  CHECK(tensor({1, 2, 3}).dtype() == kInt64);
  CHECK(tensor(std::vector<bool>{true, false}).dtype() == kBool);
  // Options without a dtype keep the values' own (an index or a mask made with only a device
  // stays int64 / bool on that device, as in PyTorch); a dtype in the options converts.
  CHECK(tensor({1, 2}, ember::device(Device(kCPU))).dtype() == kInt64);
  CHECK(tensor(std::vector<bool>{true}, ember::device(Device(kCPU))).dtype() == kBool);
  CHECK(tensor({{1., 2.}}, ember::requires_grad(true)).dtype() == kFloat64);
  CHECK(tensor({1.5f}, ember::requires_grad(true)).requires_grad());
  CHECK(tensor({1, 2}, kFloat64).dtype() == kFloat64);
  CHECK(scalar_tensor(int64_t{2}, ember::device(Device(kCPU))).dtype() == kInt64);
  CHECK(scalar_tensor(true, ember::device(Device(kCPU))).dtype() == kBool);
  CHECK(scalar_tensor(2.5, ember::requires_grad(true)).dtype() == kFloat32);
  CHECK(scalar_tensor(int64_t{2}, kFloat64).dtype() == kFloat64);
  Tensor like = zeros_like(ones({3}, kFloat64));
  CHECK(like.dtype() == kFloat64);
  CHECK(full_like(like, 7)[0].item<double>() == 7);
  Tensor r = randn({3, 4}, dtype(kFloat64).requires_grad(true));
  CHECK(r.requires_grad());
  CHECK(r.is_leaf());
  CHECK(empty({0, 3}).numel() == 0);
  CHECK(error_of([] { empty({-1}); }).find("negative dimension") != std::string::npos);
  CHECK(error_of([] { tensor({{1., 2.}, {3.}}); }).find("[tensor] expected sequence of length 2") == 0);
}

TEST_CASE("tensor: seeded RNG does not depend on thread count") {
  manual_seed(7);
  std::vector<double> a = values(rand({100000}));
  int threads = get_num_threads();
  set_num_threads(1);
  manual_seed(7);
  std::vector<double> b = values(rand({100000}));
  set_num_threads(threads);
  CHECK(a == b);
  manual_seed(1);
  Tensor n = randn({200000}, kFloat64);
  CHECK(std::fabs(n.mean().item<double>()) < 0.02);
  CHECK(std::fabs(n.std().item<double>() - 1) < 0.02);
  Tensor u = rand({1000});
  CHECK(u.min().item<double>() >= 0);
  CHECK(u.max().item<double>() < 1);
  Tensor ri = randint(3, 7, {1000});
  CHECK(ri.dtype() == kInt64);
  CHECK(ri.min().item<int64_t>() == 3);
  CHECK(ri.max().item<int64_t>() == 6);
  std::vector<double> p = values(randperm(10));
  std::sort(p.begin(), p.end());
  CHECK(p == values(arange(10)));
}

TEST_CASE("tensor: views share storage") {
  Tensor base = arange(12, kFloat32).reshape({3, 4});
  Tensor col = base.select(1, 2);
  CHECK(values(col) == std::vector<double>{2, 6, 10});
  col.fill_(-1);
  CHECK(values(base.select(1, 2)) == std::vector<double>{-1, -1, -1});
  CHECK(base.version() == col.version());
  Tensor tr = base.t();
  CHECK_FALSE(tr.is_contiguous());
  CHECK(tr.strides() == Shape{1, 4});
  CHECK(error_of([&] { tr.view({12}); }).find("Use .reshape(...) instead") != std::string::npos);
  Tensor flat = tr.reshape({12});  // a copy: the strides do not allow a view
  CHECK(flat.is_contiguous());
  CHECK(values(flat)[1] == 4);
  Tensor sl = base.slice(1, 1, std::nullopt, 2);
  CHECK(sl.sizes() == Shape{3, 2});
  CHECK(values(sl) == std::vector<double>{1, 3, 5, 7, 9, 11});
  CHECK(base.narrow(0, 1, 2).storage_offset() == 4);
  CHECK(base.unsqueeze(0).sizes() == Shape{1, 3, 4});
  CHECK(base.unsqueeze(-1).sizes() == Shape{3, 4, 1});
  CHECK(ones({1, 3, 1}).squeeze().sizes() == Shape{3});
  CHECK(ones({1, 3, 1}).squeeze(0).sizes() == Shape{3, 1});
  Tensor ex = tensor({1.f, 2.f}).unsqueeze(0).expand({3, 2});
  CHECK(ex.strides() == Shape{0, 1});
  CHECK(values(ex) == std::vector<double>{1, 2, 1, 2, 1, 2});
  CHECK(base.flatten().sizes() == Shape{12});
  CHECK(base.flatten().unflatten(0, {2, -1}).sizes() == Shape{2, 6});
  CHECK(base.permute({1, 0}).sizes() == Shape{4, 3});
  CHECK(base.as_strided({2, 2}, {1, 4}, 0).strides() == Shape{1, 4});
  std::vector<Tensor> parts = arange(10).split(4);
  CHECK(parts.size() == 3);
  CHECK(parts[2].numel() == 2);
  CHECK(arange(10).chunk(3).size() == 3);
  Tensor c = base.clone();
  c.fill_(0);
  CHECK(values(base)[0] == 0);  // the fill above wrote -1 only to column 2
  CHECK(base.detach().is_same(base) == false);
  CHECK(error_of([&] { base.select(2, 0); }).find("[select] Dimension out of range") == 0);
  CHECK(error_of([&] { base.select(0, 3); }).find("index 3 out of range") != std::string::npos);
  CHECK(error_of([&] { base.permute({0, 0}); }).find("repeated dim") != std::string::npos);
  CHECK(error_of([&] { ones({2, 3}).expand({4, 3}); }).find("The expanded size of the tensor (4)") != std::string::npos);
}

TEST_CASE("tensor: accessors and item") {
  Tensor t = zeros({2, 3, 4});
  CHECK(t.size(-1) == 4);
  CHECK(t.dim() == 3);
  CHECK(t.numel() == 24);
  CHECK(t.stride(0) == 12);
  CHECK(scalar_tensor(3.5).item<double>() == 3.5);
  CHECK(tensor({7}).item<int64_t>() == 7);
  CHECK(error_of([&] { t.item<float>(); }) == "[item] a Tensor with 24 elements cannot be converted to Scalar");
  CHECK(error_of([&] { t.size(3); }).find("Dimension out of range") != std::string::npos);
  CHECK(error_of([&] { Tensor u; u.sizes(); }).find("undefined tensor") != std::string::npos);
  CHECK(error_of([&] { t.data_ptr<double>(); }).find("expected scalar type float64 but found float32") !=
        std::string::npos);
}

TEST_CASE("tensor: type promotion follows PyTorch") {
  Tensor f32 = ones({2}), f64 = ones({2}, kFloat64), i64 = ones({2}, kInt64), b = ones({2}, kBool);
  CHECK((f32 + i64).dtype() == kFloat32);
  CHECK((f32 + f64).dtype() == kFloat64);
  CHECK((i64 + b).dtype() == kInt64);
  CHECK((b + b).dtype() == kBool);
  CHECK((f32 * 2.0).dtype() == kFloat32);    // a C++ scalar does not promote a float32 tensor
  CHECK((i64 * 2.5).dtype() == kFloat32);    // ... but a float scalar makes an integer tensor float
  CHECK((i64 * 2).dtype() == kInt64);
  CHECK((b * 2).dtype() == kInt64);
  CHECK((f32 + scalar_tensor(1.0, kFloat64)).dtype() == kFloat32);  // 0-d tensors do not promote either
  CHECK((i64 + scalar_tensor(1.0, kFloat64)).dtype() == kFloat64);
  CHECK((i64 / i64).dtype() == kFloat32);  // true division
  CHECK(sum(b).dtype() == kInt64);         // sum of bool gives int64
  CHECK(sum(tensor(std::vector<bool>{true, true, false})).item<int64_t>() == 2);
  CHECK((f32 < 1).dtype() == kBool);
  CHECK(exp(i64).dtype() == kFloat32);
  CHECK(error_of([&] { -b; }).find("Negation, the `-` operator, on a bool tensor is not supported") !=
        std::string::npos);
  CHECK(result_type(i64, Scalar(1.5)) == kFloat32);
  // PyTorch's sub_check: any bool operand, with any alpha, in place too (sub_ is add_ with -alpha).
  const std::string two_bools = "Subtraction, the `-` operator, with two bool tensors is not supported.";
  const std::string one_bool = "Subtraction, the `-` operator, with a bool tensor is not supported.";
  CHECK(error_of([&] { b - b; }).find("[sub] " + two_bools) == 0);
  CHECK(error_of([&] { sub(b, b, 2); }).find("[sub] " + two_bools) == 0);
  CHECK(error_of([&] { b - true; }).find(two_bools) != std::string::npos);
  CHECK(error_of([&] { b - 1; }).find("[sub] " + one_bool) == 0);
  CHECK(error_of([&] { i64 - b; }).find("[sub] " + one_bool) == 0);
  CHECK(error_of([&] { f32 - b; }).find(one_bool) != std::string::npos);
  Tensor bc = b.clone(), ic = i64.clone();
  CHECK(error_of([&] { bc.sub_(b); }).find("[sub_] " + two_bools) == 0);
  CHECK(error_of([&] { bc.sub_(b, -1); }).find("[sub_] " + two_bools) == 0);
  CHECK(error_of([&] { bc -= b; }).find("[sub_] " + two_bools) == 0);
  CHECK(error_of([&] { ic.sub_(b); }).find("[sub_] " + one_bool) == 0);
  CHECK(equal(bc, b));
  CHECK(equal(ic, i64));
  CHECK((b + b).dtype() == kBool);  // add, even with alpha -1, stays allowed, as in PyTorch
  CHECK(add(b, b, -1).dtype() == kBool);
}

TEST_CASE("tensor: printing like PyTorch") {
  std::ostringstream a, b, c, d;
  a << tensor({{1., 2.}, {3., 4.}});
  CHECK(a.str() == "tensor([[1., 2.],\n        [3., 4.]], dtype=float64, shape=[2, 2])");
  b << tensor({1, 2, 3});
  CHECK(b.str() == "tensor([1, 2, 3], dtype=int64, shape=[3])");
  c << scalar_tensor(0.5);
  CHECK(c.str() == "tensor(0.5000, dtype=float32, shape=[])");
  d << (ones({2}, dtype(kFloat64).requires_grad(true)) * 2);
  CHECK(d.str() == "tensor([2., 2.], dtype=float64, shape=[2], grad_fn=<MulBackward>)");
}

TEST_CASE("tensor: in-place ops bump the version counter") {
  Tensor t = zeros({3});
  uint32_t v = t.version();
  t.add_(ones({3}));
  t.mul_(2);
  t += 1;
  CHECK(t.version() == v + 3);
  CHECK(values(t) == std::vector<double>{3, 3, 3});
  t.copy_(tensor({1.0, 2.0, 3.0}));  // copy_ converts dtype
  CHECK(values(t) == std::vector<double>{1, 2, 3});
  t.zero_();
  CHECK(values(t) == std::vector<double>{0, 0, 0});
  Tensor ti = zeros({2}, kInt64);
  CHECK(error_of([&] { ti.add_(ones({2})); }).find("result type float32 can't be cast to the desired output type int64") !=
        std::string::npos);
  CHECK(error_of([&] { t.add_(ones({2})); }).find("[add") == 0);
  // A float scalar cannot be written into an integer tensor (as PyTorch): mul_(0.5) used to
  // multiply by the scalar cast to int64, 0, and add_(0.5) to add nothing.
  Tensor counts = tensor({4, 6});
  for (auto op : std::vector<std::function<void()>>{[&] { counts.mul_(0.5); }, [&] { counts.add_(0.5); },
                                                    [&] { counts.sub_(1.5); }, [&] { counts.div_(2); }})
    CHECK(error_of(op).find("result type float32 can't be cast to the desired output type int64") != std::string::npos);
  CHECK(values(counts) == std::vector<double>{4, 6});
  counts.mul_(2);
  counts.add_(true);
  CHECK(values(counts) == std::vector<double>{9, 13});
  Tensor mask = tensor(std::vector<bool>{true, false});
  CHECK(error_of([&] { mask.add_(1); }).find("result type int64 can't be cast to the desired output type bool") !=
        std::string::npos);
  // Within a category the result is written in a's dtype, as PyTorch's canCast allows.
  Tensor f = ones({2}, kFloat32);
  f.add_(full({2}, 0.25, kFloat64));
  f.mul_(full({2}, 2.0, kFloat64));
  f.div_(scalar_tensor(0.5, kFloat64).expand({2}).contiguous());
  CHECK(f.dtype() == kFloat32);
  CHECK(values(f) == std::vector<double>{5, 5});
  // Recorded, the write goes through a cast: a's history produces gradients of a's dtype.
  Tensor x = ones({2}).requires_grad_(true), w = full({2}, 0.5, kFloat64).requires_grad_(true);
  Tensor y = x * 3;
  y.mul_(w);
  CHECK(y.dtype() == kFloat32);
  CHECK(std::string(y.grad_fn()->name()) == "ToCopyBackward");
  (y * y).sum().backward();
  CHECK(values(x.grad()) == std::vector<double>{4.5, 4.5});
  CHECK(values(w.grad()) == std::vector<double>{9, 9});
  Tensor half = ones({2}, kFloat32);
  half.mul_(0.5);  // a double scalar keeps a float32 tensor float32
  CHECK(values(half) == std::vector<double>{0.5, 0.5});
}

TEST_CASE("tensor: transposed copies (tiled path) match the element order") {
  for (auto [r, c] : std::vector<std::pair<int64_t, int64_t>>{{33, 70}, {64, 64}, {100, 37}}) {
    Tensor x = arange(r * c, kFloat64).reshape({r, c});
    Tensor y = x.t().contiguous();  // [c, r]
    std::vector<double> v = values(y);
    bool ok = true;
    for (int64_t i = 0; i < c; ++i)
      for (int64_t j = 0; j < r; ++j) ok = ok && v[static_cast<size_t>(i * r + j)] == static_cast<double>(j * c + i);
    CHECK(ok);
    CHECK(values(x.t().to(kFloat32)) == values(y));  // with a dtype conversion too
  }
}
