// The engine: accumulation, retain_graph, hooks, grad modes, versions, errors, memory,
// higher-order gradients, anomaly mode, graph pictures, and the gradients of views.
#include <iostream>
#include <sstream>

#include "test_util.h"

using namespace ember;
using test::error_of;
using test::values;

namespace {
Tensor leaf(const Shape& s) { return test::uniform(s, -1, 1).requires_grad_(true); }
}  // namespace

TEST_CASE("autograd: backward accumulates into leaves") {
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_(true);
  Tensor y = (x * x).sum();
  CHECK(y.grad_fn() != nullptr);
  CHECK(std::string(y.grad_fn()->name()) == "SumBackward");
  CHECK_FALSE(y.is_leaf());
  y.backward();
  CHECK(values(x.grad()) == std::vector<double>{2, 4, 6});
  (x * 3).sum().backward();  // a second graph adds into the same .grad()
  CHECK(values(x.grad()) == std::vector<double>{5, 7, 9});
  Tensor z = x.sum();
  z.backward(ones({}, kFloat64) * 2);
  CHECK(values(x.grad()) == std::vector<double>{7, 9, 11});
}

TEST_CASE("autograd: gradients that meet are summed (diamond)") {
  Tensor x = leaf({3});
  Tensor a = x.exp();
  Tensor y = (a * a + a.sin()).sum();
  y.backward();
  std::vector<double> g = values(x.grad()), xv = values(x);
  for (size_t i = 0; i < g.size(); ++i) {
    double e = std::exp(xv[i]);
    CHECK(g[i] == doctest::Approx(2 * e * e + std::cos(e) * e).epsilon(1e-12));
  }
}

TEST_CASE("autograd: retain_graph and the second-backward error") {
  Tensor x = leaf({2});
  Tensor y = x.exp().sum();
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();
  std::vector<double> xv = values(x), g = values(x.grad());
  CHECK(g[0] == doctest::Approx(2 * std::exp(xv[0])));
  CHECK(error_of([&] { y.backward(); }).find("Trying to backward through the graph a second time") != std::string::npos);
  Tensor z = (x + 1).sum();  // saves nothing, so a second backward is fine, as in PyTorch
  z.backward();
  z.backward();
}

TEST_CASE("autograd: errors for bad roots and gradients") {
  Tensor x = leaf({3});
  CHECK(error_of([&] { (x * 2).backward(); }).find("grad can be implicitly created only for scalar outputs") !=
        std::string::npos);
  CHECK(error_of([&] { (x * 2).backward(ones({2}, kFloat64)); }).find("Mismatch in shape") != std::string::npos);
  CHECK(error_of([&] { ones({2}).sum().backward(); })
            .find("element 0 of tensors does not require grad and does not have a grad_fn") != std::string::npos);
  CHECK(error_of([&] { ones({2}, kInt64).requires_grad_(); }).find("only Tensors of floating point dtype") !=
        std::string::npos);
  Tensor unused = leaf({2});
  CHECK(error_of([&] { autograd::grad({x.sum()}, {unused}); }).find("appears to not have been used") !=
        std::string::npos);
  CHECK_FALSE(autograd::grad({x.sum()}, {unused}, {}, std::nullopt, false, /*allow_unused=*/true)[0].defined());
  // A root gradient of another dtype is cast to the output's, as PyTorch's validate_outputs
  // does: the fused layer_norm backward read a float64 gradient's bytes as float32.
  Tensor a = test::uniform({3, 4}, -1, 1, kFloat32).requires_grad_(true);
  Tensor w = test::uniform({3, 4}, -1, 1, kFloat64);
  nn::functional::layer_norm(a, {4}).backward(w);
  REQUIRE(a.grad().dtype() == kFloat32);
  const std::vector<double> from_float64 = values(a.grad());
  a.mutable_grad() = Tensor();
  nn::functional::layer_norm(a, {4}).backward(w.to(kFloat32));
  CHECK(values(a.grad()) == from_float64);
  Tensor b = leaf({3});
  CHECK(values(autograd::grad({b.to(kFloat32).softmax(0)}, {b}, {w[0].narrow(0, 0, 3)})[0]) ==
        values(autograd::grad({b.to(kFloat32).softmax(0)}, {b}, {w[0].narrow(0, 0, 3).to(kFloat32)})[0]));
}

TEST_CASE("autograd: no_grad and enable_grad") {
  Tensor x = leaf({2});
  {
    NoGradGuard guard;
    Tensor y = x * 2;
    CHECK_FALSE(y.requires_grad());
    {
      EnableGradGuard enable;
      CHECK((x * 2).requires_grad());
    }
  }
  CHECK((x * 2).requires_grad());
  Tensor d = x.detach();
  CHECK_FALSE(d.requires_grad());
  d.fill_(5);  // detach shares storage
  CHECK(values(x) == std::vector<double>{5, 5});
}

TEST_CASE("autograd: hooks and retain_grad") {
  Tensor x = leaf({3});
  Tensor h = x * 2;
  h.retain_grad();
  std::vector<double> seen;
  h.register_hook([&](const Tensor& g) {
    seen = values(g);
    return g * 10;  // replaces the gradient flowing on
  });
  x.register_hook([](const Tensor& g) { return g + 1; });
  (h * 3).sum().backward();
  CHECK(seen == std::vector<double>{3, 3, 3});
  CHECK(values(h.grad()) == std::vector<double>{3, 3, 3});
  CHECK(values(x.grad()) == std::vector<double>{61, 61, 61});
  CHECK(h.retains_grad());
  // A hook may not change a gradient's dtype or shape (PyTorch's check): the node's fused
  // kernels (layer_norm, softmax on a GPU) and optimizers read it as the node's dtype and size.
  Tensor p = leaf({2, 3});
  Tensor q = p.softmax(1);
  q.register_hook([](const Tensor& g) { return g.narrow(0, 0, 1); });
  CHECK(error_of([&] { q.sum().backward(); }) ==
        "[SoftmaxBackward] hook has changed the size of value (was [2, 3] got [1, 3])");
  Tensor r = p.exp();
  r.register_hook([](const Tensor& g) { return g.to(kFloat32); });
  CHECK(error_of([&] { r.sum().backward(); }) ==
        "[ExpBackward] hook has changed the type of value (was float64 got float32)");
  p.register_hook([](const Tensor& g) { return g.sum({0}); });
  CHECK(error_of([&] { (p * 2).sum().backward(); }) ==
        "[AccumulateGrad] hook has changed the size of value (was [2, 3] got [3])");
  CHECK(!p.grad().defined());
}

TEST_CASE("autograd: saved tensors modified in place fail with PyTorch's message") {
  Tensor x = leaf({3});
  Tensor y = x * 1;
  Tensor z = y.exp();  // saves its output
  z.mul_(2);
  std::string msg = error_of([&] { z.sum().backward(); });
  CHECK(msg.find("one of the variables needed for gradient computation has been modified by an inplace operation") !=
        std::string::npos);
  CHECK(msg.find("is at version 1; expected version 0 instead") != std::string::npos);
  CHECK(error_of([&] { x.add_(1); }).find("a leaf Variable that requires grad is being used in an in-place operation") !=
        std::string::npos);
  // Under their own names (they write through copy_), before any work is done.
  CHECK(error_of([&] { x.clamp_(0, 1); }) ==
        "[clamp_] a leaf Variable that requires grad is being used in an in-place operation.");
  CHECK(error_of([&] { x.masked_fill_(x > 0, 0.0); }).find("[masked_fill_] a leaf Variable") == 0);
  {
    NoGradGuard no_grad;
    x.add_(1);  // allowed under no_grad (optimizer updates)
  }
}

TEST_CASE("autograd: in-place ops are recorded") {
  Tensor x = leaf({3});
  Tensor y = x * 2;
  y.add_(1);
  y.mul_(x);  // y = (2x + 1) * x
  CHECK(std::string(y.grad_fn()->name()) == "MulBackward");
  y.sum().backward();
  std::vector<double> xv = values(x), g = values(x.grad());
  for (size_t i = 0; i < 3; ++i) CHECK(g[i] == doctest::Approx(4 * xv[i] + 1));
  Tensor v = leaf({4});
  Tensor w = v * 1;
  Tensor part = w.slice(0, 0, 2);
  CHECK(error_of([&] { part.mul_(2); }).find("in-place operation on a view") != std::string::npos);
  // clamp_ and masked_fill_ on a recorded tensor: clamp's saved input is not the tensor that
  // the write overwrites (that failed the version check in backward).
  Tensor c = leaf({4});
  Tensor z = c * 3;
  z.clamp_(-1, 1);
  z.masked_fill_(tensor(std::vector<bool>{true, false, false, false}), 0.0);
  z.sum().backward();
  std::vector<double> cv = values(c), gc = values(c.grad());
  for (size_t i = 0; i < 4; ++i) CHECK(gc[i] == (i > 0 && std::fabs(3 * cv[i]) < 1 ? 3 : 0));
}

TEST_CASE("autograd: a chain of 1,000,000 ops runs backward and is freed without recursion") {
  int64_t before = autograd::live_node_count();
  {
    Tensor x = ones({1}, dtype(kFloat64).requires_grad(true));
    Tensor y = x;
    for (int i = 0; i < 1000000; ++i) y = y * 1.0;
    y.sum().backward();
    CHECK(values(x.grad())[0] == 1.0);
    Tensor z = x;
    for (int i = 0; i < 1000000; ++i) z = z.sin();  // saves inputs: freed through the saved tensors too
  }
  CHECK(autograd::live_node_count() == before);
}

TEST_CASE("autograd: a graph is freed when its outputs go out of scope") {
  int64_t before = autograd::live_node_count();
  Tensor x = leaf({4});
  {
    Tensor y = (x.exp() * x).sum();
    CHECK(autograd::live_node_count() > before);
  }
  CHECK(autograd::live_node_count() == before);
  Tensor y = (x.exp() * x).sum();
  y.backward();
  y = Tensor();
  CHECK(autograd::live_node_count() == before);
}

TEST_CASE("autograd: higher-order gradients with create_graph") {
  Tensor x = tensor({2.0}).requires_grad_(true);
  Tensor y = x * x * x;
  Tensor dy = autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  CHECK(dy.item<double>() == doctest::Approx(12));
  Tensor d2 = autograd::grad({dy}, {x}, {}, std::nullopt, true)[0];
  CHECK(d2.item<double>() == doctest::Approx(12));
  Tensor d3 = autograd::grad({d2}, {x})[0];
  CHECK(d3.item<double>() == doctest::Approx(6));
  Tensor z = leaf({3});
  Tensor s = z.exp().sum();
  s.backward(Tensor(), false, /*create_graph=*/true);
  Tensor gsum = z.grad().sum();
  CHECK(gsum.requires_grad());
}

TEST_CASE("autograd: anomaly mode names the node that made a NaN") {
  Tensor x = tensor({0.0, 1.0}).requires_grad_(true);
  Tensor y = (x.sqrt() * 0).sum();
  autograd::DetectAnomalyGuard anomaly;
  std::string msg = error_of([&] { y.backward(); });
  CHECK(msg.find("SqrtBackward") != std::string::npos);
  CHECK(msg.find("nan") != std::string::npos);
}

TEST_CASE("autograd: graph pictures and the trace") {
  Tensor w = leaf({3, 2});
  Tensor x = leaf({2});
  Tensor y = (w * x).relu().sum();
  std::string dot = autograd::to_dot(y);
  CHECK(dot.find("digraph") == 0);
  CHECK(dot.find("SumBackward") != std::string::npos);
  CHECK(dot.find("ReluBackward") != std::string::npos);
  CHECK(dot.find("leaf [3, 2]") != std::string::npos);
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  {
    autograd::TraceGuard trace;
    Tensor z = (x * 2).sum();
    z.backward();
  }
  std::cerr.rdbuf(old);
  CHECK(captured.str().find("record") != std::string::npos);
  CHECK(captured.str().find("run") != std::string::npos);
  CHECK(captured.str().find("MulBackward") != std::string::npos);
}

TEST_CASE("autograd: gradients of views") {
  Tensor x = leaf({3, 4});
  using Fn = std::function<Tensor(const Tensor&)>;
  std::vector<std::pair<const char*, Fn>> views = {
      {"select", [](const Tensor& t) { return t.select(1, -1); }},
      {"slice step", [](const Tensor& t) { return t.slice(1, 1, 4, 2); }},
      {"narrow", [](const Tensor& t) { return t.narrow(0, 1, 2); }},
      {"transpose", [](const Tensor& t) { return t.t(); }},
      {"permute", [](const Tensor& t) { return t.unsqueeze(0).permute({2, 0, 1}); }},
      {"reshape", [](const Tensor& t) { return t.reshape({2, 6}); }},
      {"view of transpose", [](const Tensor& t) { return t.t().reshape({-1}); }},
      {"expand", [](const Tensor& t) { return t.unsqueeze(0).expand({2, 3, 4}); }},
      {"squeeze", [](const Tensor& t) { return t.unsqueeze(1).squeeze(1); }},
      {"flatten", [](const Tensor& t) { return t.flatten(); }},
      {"unflatten", [](const Tensor& t) { return t.unflatten(1, {2, 2}); }},
      {"as_strided", [](const Tensor& t) { return t.as_strided({2, 2}, {1, 4}, 1); }},
      {"as_strided overlap", [](const Tensor& t) { return t.as_strided({3, 3}, {1, 1}, 0); }},
      {"split", [](const Tensor& t) { return t.split(3, 1)[1]; }},
      {"chunk", [](const Tensor& t) { return t.chunk(2, 0)[0]; }},
      {"clone", [](const Tensor& t) { return t.clone(); }},
  };
  for (auto& [name, fn] : views) {
    INFO(name);
    auto f = [&](const std::vector<Tensor>& in) { return fn(in[0]) * 1.5; };
    CHECK(autograd::gradcheck(f, {x}));
    CHECK(autograd::gradgradcheck([&](const std::vector<Tensor>& in) { return fn(in[0]).pow(2); }, {x}));
  }
}

TEST_CASE("autograd: gradients meeting at an expanded buffer are summed out of place") {
  // mean's backward returns an expanded (stride-0) gradient; adding another gradient into it
  // in place would write one value into every position it aliases.
  Tensor x = leaf({3, 4});
  CHECK(autograd::gradcheck([](const std::vector<Tensor>& in) {
    Tensor s = in[0] * 2;
    return s.mean({1}) + s.select(1, 0);
  }, {x}));
}
