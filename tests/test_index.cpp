// Indexing and joining ops (index_select, gather, scatter_add, index_add, cat, stack,
// one_hot) against naive references on random shapes, layouts and dtypes; PyTorch's error
// messages; gradients (gradcheck, gradgradcheck); and thread-count independence.
#include <random>
#include <sstream>

#include "test_util.h"

using namespace ember;
using test::check_close;
using test::error_of;
using test::values;

namespace {

constexpr ScalarType kAllTypes[] = {kFloat32, kFloat64, kInt64, kBool};

// Row-major multi-index walk over shape (nothing for an empty shape).
template <class F>
void for_each_index(const Shape& shape, F&& fn) {
  if (shape_numel(shape) == 0) return;
  Shape idx(shape.size(), 0);
  while (true) {
    fn(idx);
    size_t d = shape.size();
    while (d > 0) {
      --d;
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
      if (d == 0) return;
    }
    if (shape.empty()) return;
  }
}

// A tensor's values in row-major order with its shape, addressed by multi-index.
struct Ref {
  Shape shape;
  std::vector<double> v;
  explicit Ref(const Tensor& t) : shape(t.sizes()), v(values(t)) {}
  Ref(Shape s, double fill) : shape(std::move(s)), v(static_cast<size_t>(shape_numel(shape)), fill) {}
  double& operator[](const Shape& idx) { return v[static_cast<size_t>(index_to_offset(idx, contiguous_strides(shape)))]; }
};

struct Rng {
  std::mt19937 gen{1234};
  int64_t operator()(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(gen); }
};

// Random values exact in float32 (quarters), or 0/1 for bool.
Tensor random_tensor(Rng& rng, const Shape& shape, ScalarType dt) {
  std::vector<double> v(static_cast<size_t>(shape_numel(shape)));
  for (double& x : v) x = dt == kBool ? static_cast<double>(rng(0, 1)) : static_cast<double>(rng(-16, 16)) / 4;
  return tensor(v).reshape(shape).to(dt);
}

Tensor random_index(Rng& rng, const Shape& shape, int64_t upper) {
  std::vector<int64_t> v(static_cast<size_t>(shape_numel(shape)));
  for (int64_t& x : v) x = rng(0, upper - 1);
  return tensor(v).reshape(shape);
}

// The same values in another memory layout: 0 contiguous, 1 transposed copy viewed back,
// 2 every other element of a wider tensor, 3 narrowed (non-zero storage offset).
Tensor relayout(const Tensor& c, int kind) {
  if (kind == 0 || c.dim() == 0) return c;
  if (kind == 1) {
    if (c.dim() < 2) return c;
    Shape rev;
    for (int64_t d = c.dim(); d-- > 0;) rev.push_back(d);
    return c.permute(rev).contiguous().permute(rev);
  }
  Shape big = c.sizes();
  if (kind == 2) big.back() *= 2;
  else big[0] += 1;
  Tensor base = zeros(big, TensorOptions(c.dtype()));
  Tensor view = kind == 2 ? base.slice(-1, 0, std::nullopt, 2) : base.narrow(0, 1, c.size(0));
  view.copy_(c);
  return view;
}
constexpr int kLayouts = 4;

Shape random_shape(Rng& rng, int64_t ndim) {
  Shape s;
  for (int64_t i = 0; i < ndim; ++i) s.push_back(rng(0, 9) == 0 ? 0 : rng(1, 4));
  return s;
}

// Compares a result with a reference; bool results compare as "nonzero".
void check_result(const Tensor& got, const Ref& want, ScalarType dt, const std::string& what) {
  REQUIRE_MESSAGE(got.sizes() == want.shape, what << ": shape " << shape_text(got.sizes()));
  CHECK_MESSAGE(got.dtype() == dt, what);
  std::vector<double> w = want.v;
  if (dt == kBool)
    for (double& x : w) x = x != 0;
  check_close(values(got), w, 0, 0, what);
}

std::string describe(const char* op, const Shape& s, int64_t dim, ScalarType dt, int layout) {
  std::ostringstream os;
  os << op << " shape " << shape_text(s) << " dim " << dim << " " << dtype_name(dt) << " layout " << layout;
  return os.str();
}

int64_t wrapped(int64_t dim, int64_t ndim) { return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim; }

}  // namespace

// ---- forward against naive references ------------------------------------------------------

TEST_CASE("index: index_select matches a naive reference") {
  Rng rng;
  for (int trial = 0; trial < 40; ++trial) {
    int64_t ndim = rng(1, 4);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim, ndim - 1), d = wrapped(dim, ndim);
    int64_t n = shape[d] == 0 ? 0 : rng(0, 5);
    Tensor index = random_index(rng, {n}, shape[d]);
    for (ScalarType dt : kAllTypes) {
      for (int layout = 0; layout < kLayouts; ++layout) {
        Tensor x = relayout(random_tensor(rng, shape, dt), layout);
        Tensor idx = relayout(index, layout == 2 ? 2 : 0);
        Tensor y = index_select(x, dim, idx);
        Ref rx(x), ri(idx);
        Shape out_shape = shape;
        out_shape[d] = n;
        Ref want(out_shape, 0);
        for_each_index(out_shape, [&](const Shape& o) {
          Shape src = o;
          src[d] = static_cast<int64_t>(ri.v[o[d]]);
          want[o] = rx[src];
        });
        check_result(y, want, dt, describe("index_select", shape, dim, dt, layout));
      }
    }
  }
  // 0-d input, 0-d index, the Tensor method, and an index of one repeated row.
  Tensor s = scalar_tensor(2.5, TensorOptions(kFloat64));
  CHECK(index_select(s, 0, tensor({0})).sizes() == Shape{});
  CHECK(index_select(s, -1, tensor({0})).item<double>() == 2.5);
  Tensor m = arange(12).reshape({3, 4});
  CHECK(values(m.index_select(0, scalar_tensor(int64_t{2}, TensorOptions(kInt64)))) ==
        std::vector<double>{8, 9, 10, 11});
  CHECK(values(m.index_select(1, tensor({3, 3, 0}))) == std::vector<double>{3, 3, 0, 7, 7, 4, 11, 11, 8});
}

TEST_CASE("index: gather matches a naive reference") {
  Rng rng;
  for (int trial = 0; trial < 40; ++trial) {
    int64_t ndim = rng(1, 4);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim, ndim - 1), d = wrapped(dim, ndim);
    Shape ishape;
    for (int64_t i = 0; i < ndim; ++i) ishape.push_back(i == d ? rng(0, 4) : rng(0, shape[i]));
    if (shape[d] == 0) ishape[d] = 0;
    Tensor index = random_index(rng, ishape, shape[d]);
    for (ScalarType dt : kAllTypes) {
      for (int layout = 0; layout < kLayouts; ++layout) {
        Tensor x = relayout(random_tensor(rng, shape, dt), layout);
        Tensor idx = relayout(index, (layout + 1) % kLayouts);
        Tensor y = gather(x, dim, idx);
        Ref rx(x), ri(idx), want(ishape, 0);
        for_each_index(ishape, [&](const Shape& o) {
          Shape src = o;
          src[d] = static_cast<int64_t>(ri[o]);
          want[o] = rx[src];
        });
        check_result(y, want, dt, describe("gather", shape, dim, dt, layout));
      }
    }
  }
  // An expanded (stride-0) index: the same column picked on every row, as in a loss.
  Tensor x = arange(12, TensorOptions(kFloat32)).reshape({3, 4});
  Tensor idx = tensor({1, 3}).reshape({1, 2}).expand({3, 2});
  CHECK(values(x.gather(1, idx)) == std::vector<double>{1, 3, 5, 7, 9, 11});
  // 0-d input and 0-d index count as shape [1].
  Tensor s = scalar_tensor(4.0, TensorOptions(kFloat64));
  CHECK(gather(s, 0, tensor({0})).sizes() == Shape{1});
  CHECK(gather(tensor({5.0, 6.0}), 0, scalar_tensor(int64_t{1}, TensorOptions(kInt64))).item<double>() == 6);
  // An empty index of any dtype gives an empty result (torch.tensor([]) is float).
  CHECK(gather(x, 0, zeros({0}, TensorOptions(kFloat32))).sizes() == Shape{0});
}

TEST_CASE("index: scatter_add matches a naive reference") {
  Rng rng;
  for (int trial = 0; trial < 40; ++trial) {
    int64_t ndim = rng(1, 4);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim, ndim - 1), d = wrapped(dim, ndim);
    Shape ishape, sshape;
    for (int64_t i = 0; i < ndim; ++i) {
      ishape.push_back(i == d ? rng(0, 5) : rng(0, shape[i]));
      sshape.push_back(ishape[i] + rng(0, 1));  // src may be larger than the index
    }
    if (shape[d] == 0) ishape[d] = 0;
    Tensor index = random_index(rng, ishape, shape[d]);
    for (ScalarType dt : kAllTypes) {
      for (int layout = 0; layout < kLayouts; ++layout) {
        Tensor x = relayout(random_tensor(rng, shape, dt), layout);
        Tensor src = relayout(random_tensor(rng, sshape, dt), (layout + 2) % kLayouts);
        Tensor idx = relayout(index, (layout + 1) % kLayouts);
        Tensor y = scatter_add(x, dim, idx, src);
        Ref want(x), ri(idx), rs(src);
        for_each_index(ishape, [&](const Shape& i) {
          Shape dst = i;
          dst[d] = static_cast<int64_t>(ri[i]);
          want[dst] += rs[i];
        });
        check_result(y, want, dt, describe("scatter_add", shape, dim, dt, layout));
        // Out of place: x is unchanged.
        CHECK(values(x) == Ref(x).v);
      }
    }
  }
  Tensor x = zeros({2, 3}, TensorOptions(kFloat64));
  Tensor y = x.scatter_add(1, tensor({0, 0, 2}).reshape({1, 3}), ones({1, 3}, TensorOptions(kFloat64)));
  CHECK(values(y) == std::vector<double>{2, 0, 1, 0, 0, 0});
  CHECK(values(x) == std::vector<double>(6, 0));
}

TEST_CASE("index: index_add matches a naive reference") {
  Rng rng;
  for (int trial = 0; trial < 40; ++trial) {
    int64_t ndim = rng(1, 4);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim, ndim - 1), d = wrapped(dim, ndim);
    int64_t n = shape[d] == 0 ? 0 : rng(0, 6);
    Shape sshape = shape;
    sshape[d] = n;
    Tensor index = random_index(rng, {n}, shape[d]);
    for (ScalarType dt : kAllTypes) {
      for (int layout = 0; layout < kLayouts; ++layout) {
        Tensor x = relayout(random_tensor(rng, shape, dt), layout);
        Tensor source = relayout(random_tensor(rng, sshape, dt), (layout + 1) % kLayouts);
        Tensor idx = relayout(index, layout == 3 ? 2 : 0);
        Tensor y = index_add(x, dim, idx, source);
        Ref want(x), ri(idx), rs(source);
        for_each_index(sshape, [&](const Shape& i) {
          Shape dst = i;
          dst[d] = static_cast<int64_t>(ri.v[i[d]]);
          want[dst] += rs[i];
        });
        check_result(y, want, dt, describe("index_add", shape, dim, dt, layout));
      }
    }
  }
  // A 1-D self with a 0-d source and a one-element index.
  Tensor y = index_add(zeros({3}, TensorOptions(kFloat64)), 0, tensor({1}), scalar_tensor(2.0, TensorOptions(kFloat64)));
  CHECK(values(y) == std::vector<double>{0, 2, 0});
}

TEST_CASE("index: cat matches a naive reference and promotes dtypes") {
  Rng rng;
  for (int trial = 0; trial < 30; ++trial) {
    int64_t ndim = rng(1, 4);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim, ndim - 1), d = wrapped(dim, ndim);
    int64_t count = rng(1, 4);
    std::vector<Tensor> parts;
    for (int64_t k = 0; k < count; ++k) {
      Shape s = shape;
      s[d] = rng(0, 3);
      ScalarType dt = kAllTypes[rng(0, 3)];
      parts.push_back(relayout(random_tensor(rng, s, dt), static_cast<int>(rng(0, kLayouts - 1))));
      if (rng(0, 4) == 0) parts.push_back(zeros({0}, TensorOptions(kInt64)));  // skipped (legacy rule)
    }
    ScalarType type = kBool;  // promotion covers the skipped tensors too, as in PyTorch
    for (const Tensor& p : parts) type = promote_types(type, p.dtype());
    Tensor y = cat(parts, dim);
    Shape out = shape;
    out[d] = 0;
    for (const Tensor& p : parts)
      if (!(p.dim() == 1 && p.numel() == 0)) out[d] += p.size(d);
    Ref want(out, 0);
    int64_t offset = 0;
    for (const Tensor& p : parts) {
      if (p.dim() == 1 && p.numel() == 0) continue;
      Ref rp(p);
      for_each_index(p.sizes(), [&](const Shape& i) {
        Shape o = i;
        o[d] += offset;
        want[o] = p.dtype() == kBool ? (rp[i] != 0) : rp[i];
      });
      offset += p.size(d);
    }
    check_result(y, want, type, describe("cat", shape, dim, type, 0));
  }
  // The legacy rule: [0]-shaped tensors are skipped whatever the other shapes.
  Tensor a = ones({2, 3});
  CHECK(cat({a, zeros({0}), a}, 1).sizes() == Shape{2, 6});
  CHECK(cat({zeros({0}), a}, -1).sizes() == Shape{2, 3});
  CHECK(cat({zeros({0}), zeros({0})}, 0).sizes() == Shape{0});
  // Promotion: int64 with float32 gives float32, bool with int64 gives int64.
  CHECK(cat({tensor({1, 2}), tensor({0.5f})}).dtype() == kFloat32);
  CHECK(values(cat({tensor({1, 2}), tensor(std::vector<bool>{true})})) == std::vector<double>{1, 2, 1});
  CHECK(cat({tensor({1, 2}), tensor(std::vector<bool>{true})}).dtype() == kInt64);
}

TEST_CASE("index: stack matches a naive reference") {
  Rng rng;
  for (int trial = 0; trial < 30; ++trial) {
    int64_t ndim = rng(0, 3);
    Shape shape = random_shape(rng, ndim);
    int64_t dim = rng(-ndim - 1, ndim), d = dim < 0 ? dim + ndim + 1 : dim;
    int64_t count = rng(1, 4);
    ScalarType dt = kAllTypes[rng(0, 3)];
    std::vector<Tensor> parts;
    for (int64_t k = 0; k < count; ++k)
      parts.push_back(relayout(random_tensor(rng, shape, dt), static_cast<int>(rng(0, kLayouts - 1))));
    Tensor y = stack(parts, dim);
    Shape out = shape;
    out.insert(out.begin() + d, count);
    Ref want(out, 0);
    for (int64_t k = 0; k < count; ++k) {
      Ref rp(parts[static_cast<size_t>(k)]);
      for_each_index(shape, [&](const Shape& i) {
        Shape o = i;
        o.insert(o.begin() + d, k);
        want[o] = rp[i];
      });
    }
    check_result(y, want, dt, describe("stack", shape, dim, dt, 0));
  }
  CHECK(stack({tensor({1, 2}), tensor({0.5, 1.5})}).dtype() == kFloat64);
  CHECK(values(stack({tensor({1, 2}), tensor({3, 4})}, -1)) == std::vector<double>{1, 3, 2, 4});
}

TEST_CASE("index: one_hot") {
  Tensor idx = tensor({0, 2, 1, 2});
  Tensor y = one_hot(idx);
  CHECK(y.sizes() == Shape{4, 3});
  CHECK(y.dtype() == kInt64);
  CHECK(values(y) == std::vector<double>{1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 1});
  CHECK(one_hot(idx, 5).sizes() == Shape{4, 5});
  // Any layout and rank: a transposed 2-D index, and a 0-d one.
  Tensor m = tensor({0, 1, 2, 3, 0, 1}).reshape({2, 3}).t();
  Tensor ym = one_hot(m, 4);
  CHECK(ym.sizes() == Shape{3, 2, 4});
  Ref r(ym), rm(m);
  for_each_index(m.sizes(), [&](const Shape& i) {
    for (int64_t c = 0; c < 4; ++c) CHECK(r[{i[0], i[1], c}] == (rm[i] == c ? 1 : 0));
  });
  CHECK(one_hot(scalar_tensor(int64_t{2}, TensorOptions(kInt64)), 3).sizes() == Shape{3});
  CHECK(one_hot(zeros({0}, TensorOptions(kInt64)), 4).sizes() == Shape{0, 4});
  // Errors, with PyTorch's wording.
  CHECK(error_of([] { one_hot(tensor({0, -1})); }).find("Class values must be non-negative.") != std::string::npos);
  CHECK(error_of([] { one_hot(tensor({0, 3}), 3); }).find("Class values must be smaller than num_classes.") !=
        std::string::npos);
  CHECK(error_of([] { one_hot(zeros({0}, TensorOptions(kInt64))); })
            .find("Can not infer total number of classes from empty tensor.") != std::string::npos);
  CHECK(error_of([] { one_hot(tensor({0.0, 1.0})); })
            .find("one_hot is only applicable to index tensor of type LongTensor.") != std::string::npos);
}

// ---- errors -----------------------------------------------------------------------------------

TEST_CASE("index: errors carry PyTorch's messages") {
  auto has = [](const std::function<void()>& fn, const std::string& text) {
    std::string msg = error_of(fn);
    INFO("message: ", msg);
    CHECK(msg.find(text) != std::string::npos);
  };
  Tensor x = ones({3, 4});
  // index_select
  has([&] { index_select(x, 0, tensor({0, 3})); }, "index out of range in self");
  has([&] { index_select(x, 1, tensor({-1})); }, "index out of range in self");
  has([&] { index_select(x, 0, tensor({0.0})); }, "index_select(): Expected dtype int64 for index");
  has([&] { index_select(x, 0, zeros({2, 2}, TensorOptions(kInt64))); }, "Index is supposed to be a vector");
  has([&] { index_select(x, 2, tensor({0})); }, "Dimension out of range");
  has([&] { index_select(scalar_tensor(1.0), 0, tensor({0, 0})); }, "Index to scalar can have only 1 value");
  has([&] { index_select(zeros({0, 2}), 0, tensor({0})); }, "index out of range in self");
  // gather
  has([&] { gather(x, 0, tensor({3}).reshape({1, 1})); }, "index 3 is out of bounds for dimension 0 with size 3");
  has([&] { gather(x, 1, tensor({-2}).reshape({1, 1})); }, "index -2 is out of bounds for dimension 1 with size 4");
  has([&] { gather(x, 0, tensor({0.0}).reshape({1, 1})); }, "gather(): Expected dtype int64 for index");
  has([&] { gather(x, 0, tensor({0})); }, "Index tensor must have the same number of dimensions as input tensor");
  has([&] { gather(x, 0, zeros({1, 5}, TensorOptions(kInt64))); },
      "Size does not match at dimension 1 expected index [1, 5] to be smaller than self [3, 4] apart from dimension 0");
  // scatter_add
  Tensor i11 = tensor({0}).reshape({1, 1});
  has([&] { scatter_add(x, 0, tensor({5}).reshape({1, 1}), x); }, "index 5 is out of bounds for dimension 0 with size 3");
  has([&] { scatter_add(x, 0, i11, x.to(kFloat64)); }, "scatter(): Expected self.dtype to be equal to src.dtype");
  has([&] { scatter_add(x, 0, i11.to(kFloat32), x); }, "scatter(): Expected dtype int64 for index");
  has([&] { scatter_add(x, 0, tensor({0}), x); }, "Index tensor must have the same number of dimensions as self tensor");
  has([&] { scatter_add(x, 0, i11, ones({4})); }, "Index tensor must have the same number of dimensions as src tensor");
  has([&] { scatter_add(x, 0, zeros({2, 3}, TensorOptions(kInt64)), ones({2, 2})); },
      "Expected index [2, 3] to be smaller than self [3, 4] apart from dimension 0 and to be smaller size than src [2, 2]");
  has([&] { scatter_add(x, 0, zeros({1, 5}, TensorOptions(kInt64)), ones({1, 5})); },
      "Expected index [1, 5] to be smaller than self [3, 4]");
  // index_add
  has([&] { index_add(x, 0, tensor({3}), ones({1, 4})); }, "index out of range in self");
  has([&] { index_add(x, 0, tensor({0}), ones({1, 4}, TensorOptions(kFloat64))); },
      "index_add_(): self (float32) and source (float64) must have the same scalar type");
  has([&] { index_add(x, 0, tensor({0, 1}), ones({1, 4})); },
      "index_add_(): Number of indices (2) should be equal to source.size(dim): (1), for dim: 0");
  has([&] { index_add(x, 0, tensor({0}), ones({1, 5})); },
      "source tensor shape must match self tensor shape, excluding the specified dimension. Got self.shape = [3, 4] "
      "source.shape = [1, 5]");
  has([&] { index_add(x, 0, tensor({0.0}), ones({1, 4})); }, "index_add_(): Expected dtype int64 for index");
  // index_copy_ names itself (it shared index_add_'s checks and once its name too).
  has([&] { index_copy_(x, 0, tensor({0, 1}), ones({1, 4})); },
      "[index_copy_] index_copy_(): Number of indices (2) should be equal to source.size(dim): (1), for dim: 0");
  has([&] { index_copy_(x, 0, tensor({0}), ones({1, 4}, TensorOptions(kFloat64))); },
      "index_copy_(): self (float32) and source (float64) must have the same scalar type");
  // cat
  has([&] { cat({}); }, "torch.cat(): expected a non-empty list of Tensors");
  has([&] { cat({ones({2, 2}), ones({3, 3})}, 1); },
      "Sizes of tensors must match except in dimension 1. Expected size 2 but got size 3 for tensor number 1 in the "
      "list.");
  has([&] { cat({ones({2, 2}), ones({2, 2, 1})}); }, "Tensors must have same number of dimensions: got 2 and 3");
  has([&] { cat({ones({2}), scalar_tensor(1.0)}); }, "zero-dimensional tensor (at position 1) cannot be concatenated");
  has([&] { cat({ones({2}), ones({2})}, 1); }, "Dimension out of range");
  // stack
  has([&] { stack({}); }, "stack expects a non-empty TensorList");
  has([&] { stack({ones({2, 3}), ones({2, 4})}); },
      "stack expects each tensor to be equal size, but got [2, 3] at entry 0 and [2, 4] at entry 1");
  has([&] { stack({ones({2}), ones({2})}, 2); }, "Dimension out of range");
  // The op name leads the message, as everywhere in ember.
  CHECK(error_of([&] { index_select(x, 0, tensor({7})); }).find("[index_select] ") == 0);
}

// ---- gradients -------------------------------------------------------------------------------

TEST_CASE("index: gradients of index_select and gather (gradcheck, gradgradcheck)") {
  auto opt = dtype(kFloat64).requires_grad(true);
  Tensor x = randn({3, 4}, opt);
  Tensor idx = tensor({2, 0, 2, 1});  // repeated rows accumulate
  auto sel = [&](const std::vector<Tensor>& in) { return index_select(in[0], 1, idx); };
  CHECK(autograd::gradcheck(sel, {x}));
  CHECK(autograd::gradgradcheck(sel, {x}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return index_select(in[0].t(), -2, idx); }, {x}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return in[0].index_select(0, tensor({1, 1})); }, {x}));

  Tensor gidx = tensor({0, 2, 1, 2, 2, 0}).reshape({2, 3});
  auto gat = [&](const std::vector<Tensor>& in) { return gather(in[0], 0, gidx); };
  CHECK(autograd::gradcheck(gat, {x}));
  CHECK(autograd::gradgradcheck(gat, {x}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return gather(in[0].t(), -1, gidx.t()); }, {x}));
  // The backward pass of gather is scatter_add into zeros.
  Tensor y = gather(x, 0, gidx);
  REQUIRE(y.grad_fn());
  CHECK(std::string(y.grad_fn()->name()) == "GatherBackward");
  y.sum().backward();
  check_close(values(x.grad()), {1, 0, 1, 0, 0, 0, 1, 0, 1, 2, 0, 0}, 0, 0, "gather grad");  // (2, 1) twice
}

TEST_CASE("index: gradients of scatter_add and index_add") {
  auto opt = dtype(kFloat64).requires_grad(true);
  Tensor x = randn({3, 4}, opt);
  Tensor src = randn({2, 5}, opt);  // larger than the index: its extra column gets zero
  Tensor sidx = tensor({0, 2, 2, 1, 1, 1, 0, 0}).reshape({2, 4});
  auto sa = [&](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, sidx, in[1]); };
  CHECK(autograd::gradcheck(sa, {x, src}));
  CHECK(autograd::gradgradcheck(sa, {x, src}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return scatter_add(in[0], 0, sidx, in[1] * 2); },
                            {x.detach(), src}));

  Tensor source = randn({5, 4}, opt);
  Tensor iidx = tensor({2, 0, 2, 1, 2});
  auto ia = [&](const std::vector<Tensor>& in) { return index_add(in[0], 0, iidx, in[1]); };
  CHECK(autograd::gradcheck(ia, {x, source}));
  CHECK(autograd::gradgradcheck(ia, {x, source}));
  // Transposed self and source, negative dim.
  Tensor xt = randn({4, 3}, opt), st = randn({5, 3}, opt);
  Tensor tidx = tensor({3, 0, 0, 1, 2});
  CHECK(autograd::gradcheck(
      [&](const std::vector<Tensor>& in) { return index_add(in[0].t(), -1, tidx, in[1].t()); }, {xt, st}));
}

TEST_CASE("index: gradients of cat and stack") {
  auto opt = dtype(kFloat64).requires_grad(true);
  Tensor a = randn({2, 3}, opt), c = randn({1, 3}, opt);
  Tensor b = randn({4, 3}, TensorOptions(kFloat64));  // needs no grad
  auto fn = [&](const std::vector<Tensor>& in) { return cat({in[0], in[1], in[2]}, 0); };
  CHECK(autograd::gradcheck(fn, {a, b, c}));
  CHECK(autograd::gradgradcheck(fn, {a, b, c}));
  CHECK(autograd::gradcheck([&](const std::vector<Tensor>& in) { return cat({in[0].t(), in[1].t(), in[2].t()}, -1); },
                            {a, b, c}));
  // With a skipped [0] input and a float32 input (promoted; its gradient comes back float32).
  Tensor f = randn({2, 3}, dtype(kFloat32).requires_grad(true));
  Tensor y = cat({a, zeros({0}), f}, 0);
  CHECK(y.dtype() == kFloat64);
  y.sum().backward();
  CHECK(f.grad().dtype() == kFloat32);
  CHECK(values(f.grad()) == std::vector<double>(6, 1));
  CHECK(values(a.grad()) == std::vector<double>(6, 1));
  CHECK(std::string(y.grad_fn()->name()) == "CatBackward");
  // Integer-only cat records nothing.
  CHECK(!cat({tensor({1}), tensor({2})}).requires_grad());

  Tensor s0 = randn({2, 3}, opt), s1 = randn({2, 3}, TensorOptions(kFloat64)), s2 = randn({2, 3}, opt);
  for (int64_t dim : {0, 1, 2, -1, -3}) {
    INFO("stack dim ", dim);
    auto st = [&](const std::vector<Tensor>& in) { return stack({in[0], in[1], in[2]}, dim); };
    CHECK(autograd::gradcheck(st, {s0, s1, s2}));
  }
  CHECK(autograd::gradgradcheck([&](const std::vector<Tensor>& in) { return stack({in[0], in[1], in[2]}, 1); },
                                {s0, s1, s2}));
}

TEST_CASE("index: empty tensors flow through forward and backward") {
  auto opt = dtype(kFloat64).requires_grad(true);
  Tensor x = randn({3, 4}, opt);
  Tensor e = index_select(x, 0, zeros({0}, TensorOptions(kInt64)));
  CHECK(e.sizes() == Shape{0, 4});
  e.sum().backward();
  CHECK(values(x.grad()) == std::vector<double>(12, 0));
  Tensor g = gather(x, 1, zeros({3, 0}, TensorOptions(kInt64)));
  CHECK(g.sizes() == Shape{3, 0});
  Tensor s = scatter_add(x, 0, zeros({0, 4}, TensorOptions(kInt64)), randn({2, 4}, opt));
  CHECK(values(s) == values(x));
  Tensor z = zeros({0, 3}, opt);
  Tensor cz = cat({z, z}, 0);
  CHECK(cz.sizes() == Shape{0, 3});
  cz.sum().backward();
  CHECK(z.grad().sizes() == Shape{0, 3});
  CHECK(stack({z, z}, 1).sizes() == Shape{0, 2, 3});
}

// ---- threads ----------------------------------------------------------------------------------

TEST_CASE("index: large inputs give the same result on every thread count") {
  Rng rng;
  Tensor table = random_tensor(rng, {300, 200}, kFloat64);
  Tensor rows = random_index(rng, {500}, 300);
  Tensor gidx = random_index(rng, {300, 200}, 300);
  Tensor src = random_tensor(rng, {300, 200}, kInt64);
  Tensor base = random_tensor(rng, {300, 200}, kInt64);
  Tensor col_idx = random_index(rng, {400}, 200);
  Tensor col_src = random_tensor(rng, {300, 400}, kInt64);
  auto run = [&] {
    return std::vector<std::vector<double>>{
        values(index_select(table, 0, rows)),          values(index_select(table.t(), 1, rows)),
        values(index_select(table, 1, col_idx)),       values(gather(table, 0, gidx)),
        values(gather(table.t(), 1, gidx.t())),        values(scatter_add(base, 0, gidx, src)),
        values(scatter_add(base.t(), 1, gidx.t(), src.t())), values(index_add(base, 1, col_idx, col_src)),
        values(index_add(base, 0, rows.slice(0, 0, 300), src)), values(cat({table, table.t().t()}, 1)),
        values(stack({table, table}, 2)),              values(one_hot(rows, 300))};
  };
  int saved = get_num_threads();
  set_num_threads(1);
  auto serial = run();
  set_num_threads(std::max(saved, 2));
  auto parallel = run();
  set_num_threads(saved);
  REQUIRE(serial.size() == parallel.size());
  for (size_t i = 0; i < serial.size(); ++i) CHECK_MESSAGE(serial[i] == parallel[i], "result ", i);
  // Spot-check the big scatter against a naive sum (int64: exact).
  Ref want(base), ri(gidx), rs(src);
  for_each_index(gidx.sizes(), [&](const Shape& i) { want[{static_cast<int64_t>(ri[i]), i[1]}] += rs[i]; });
  CHECK(serial[5] == want.v);
}

TEST_CASE("index: coalesce_rows sums the rows that share an index, sorted") {
  Tensor idx = tensor(std::vector<int64_t>{5, 1, 5, 3, 1, 5});
  Tensor val = tensor(std::vector<double>{1, 10, 2, 100, 20, 4}).view({6, 1}).expand({6, 2}).contiguous();
  auto [rows, summed] = coalesce_rows(idx, val);
  CHECK(test::values(rows) == std::vector<double>{1, 3, 5});
  CHECK(test::values(summed) == std::vector<double>{30, 30, 100, 100, 7, 7});
  auto [none, empty_sum] = coalesce_rows(tensor(std::vector<int64_t>{}), zeros({0, 3}));
  CHECK(none.numel() == 0);
  CHECK(empty_sum.sizes() == Shape{0, 3});
  CHECK(test::error_of([] { coalesce_rows(zeros({2}), zeros({2, 1})); }).find("[coalesce_rows]") == 0);
}
