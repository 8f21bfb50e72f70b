// CUDA: the op table (tests/cuda_nn_table.h) over the ops no other CUDA test compares with the
// CPU: view and join ops, factories, nn::functional layers and activations, and every loss,
// forward and backward, on contiguous, transposed and step-sliced inputs (empty and 0-d where
// the op takes them), in float64 and float32. Modules, gradient clipping and optimizer steps
// are in tests/test_cuda_nn_modules.cpp. Already compared elsewhere, so not repeated here:
// unary/binary/where/masked_fill/to (test_cuda.cpp), the reductions with norm/std/var/
// logsumexp/prod, softmax and mm/addmm/bmm/dot/matmul (test_cuda_ops.cpp), the index ops,
// embedding_bag_op, dropout and the fused optimizers (test_cuda_index.cpp), layer_norm.
//
// Tolerances (atol = rtol), per row:
//   - float64: 1e-12 for views, copies and elementwise rows (the same formula; exact but for
//     libm vs CUDA math ulps), 1e-10 where a row sums or multiplies matrices (other order);
//   - float32: 1e-5 for views, copies and elementwise rows (gradients of several outputs are
//     added, and index_add's atomics add repeats in another order), 1e-4 where a row sums:
//     the GPU sums float32 in float32 (the CPU in double) and cuBLAS runs in plain FP32, so
//     the gap is float rounding over short sums of values in [-3, 3];
//   - integer and bool results (one_hot, randint, randperm, indices): exact.
// Without a GPU every case prints "skipped: no CUDA device ..." and checks nothing; the
// table's own logic was run on the CPU with -DEMBER_NN_TABLE_ON_CPU (see cuda_nn_table.h).
#include <limits>

#include "autograd/function.h"
#include "cuda_nn_table.h"

using namespace ember;
using namespace ember::test::nn_table;
namespace F = ember::nn::functional;

namespace {

const Tol kExact{1e-12, 1e-5};  // views, copies, elementwise
const Tol kSums{1e-10, 1e-4};   // rows that reduce or multiply
const Tol kInts{0, 0};

Outs one(const Tensor& t) { return {t}; }
Outs all(const std::vector<Tensor>& ts) { return ts; }

// ---- views and joins --------------------------------------------------------------------

std::vector<Row> view_rows() {
  using S = std::vector<Shape>;
  return {
      {"cat dim 0 (empty parts, a skipped [0])", kExact, {S{{2, 3}, {4, 3}}, S{{0, 3}, {2, 3}, {1, 3}}, S{{0}, {2, 3}}},
       -1, 1, [](const auto& in, const Ctx&) { return one(cat(in, 0)); }},
      {"cat dim -1", kExact, {S{{3, 2}, {3, 5}}, S{{2, 0}, {2, 4}}, S{{2, 1, 3}, {2, 1, 2}}}, -1, 1,
       [](const auto& in, const Ctx&) { return one(cat(in, -1)); }},
      {"cat of one tensor", kExact, {S{{4, 3}}}, -1, 1, [](const auto& in, const Ctx&) { return one(cat(in, 1)); }},
      {"stack dims 0, 1, -1", kExact, {S{{2, 3}, {2, 3}}, S{{0, 3}, {0, 3}}, S{{}, {}, {}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         return Outs{stack(in, 0), stack(in, in[0].dim()), stack(in, -1)};
       }},
      {"split", kExact, {S{{5, 3}}, S{{0, 3}}, S{{1, 4}}}, -1, 1,
       [](const auto& in, const Ctx&) { return all(split(in[0], 2, 0)); }},
      {"split dim 1 with sizes", kExact, {S{{2, 4}}, S{{0, 4}}}, -1, 1,
       [](const auto& in, const Ctx&) { return all(split_with_sizes(in[0], {1, 0, 3}, 1)); }},
      {"chunk", kExact, {S{{2, 7}}, S{{4, 2}}, S{{3, 0}}}, -1, 1,
       [](const auto& in, const Ctx&) { return all(chunk(in[0], 3, -1)); }},
      {"narrow", kExact, {S{{3, 4}}, S{{2, 3, 4}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         return Outs{narrow(in[0], 1, 1, 2), narrow(in[0], 0, -2, 2), narrow(in[0], -1, 4, 0)};
       }},
      {"pad", kExact, {S{{3, 4}}, S{{0, 3}}, S{{2, 3, 2}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         return Outs{F::pad(in[0], {1, 2}), F::pad(in[0], {0, 1, 2, 0}, 0.5), F::pad(in[0], {0, 0}),
                     F::pad(in[0], {2, 2}, -std::numeric_limits<double>::infinity())};
       }},
      {"flatten and unflatten", kExact, {S{{2, 3, 4}}, S{{2, 0, 6}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{x.flatten(), x.flatten(1), x.flatten(0, 1), x.unflatten(-1, {2, -1}), x.unflatten(0, {1, 2})};
       }},
      {"flatten a 0-d tensor", kExact, {S{{}}}, -1, 1, [](const auto& in, const Ctx&) { return one(in[0].flatten()); }},
      {"squeeze and unsqueeze", kExact, {S{{3, 1, 2}}, S{{1, 0, 1}}, S{{}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         Outs o{x.squeeze(), x.unsqueeze(0), x.unsqueeze(-1)};
         if (x.dim() > 0) o.push_back(x.squeeze(-1));
         if (x.dim() > 1) o.push_back(x.squeeze(1));
         return o;
       }},
      {"expand (its gradient sums)", kSums, {S{{3, 1}}, S{{}}, S{{1, 0}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         Shape s = x.sizes();
         for (int64_t& d : s) d = d == 1 ? 4 : d;
         Shape wider = s;
         wider.insert(wider.begin(), 2);
         return Outs{x.expand(s), x.expand(wider), x.expand_as(empty(wider, x.options()))};
       }},
      {"permute, transpose, t", kExact, {S{{2, 3, 4}}, S{{0, 2, 3}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{x.permute({2, 0, 1}), x.transpose(0, 2), x.transpose(-1, 1), x.select(1, -1).t()};
       }},
      {"slice with steps", kExact, {S{{7, 9}}, S{{3, 0}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{x.slice(1, 1, std::nullopt, 3), x.slice(0, 0, 5, 2), x.slice(-1, -4), x.slice(0, 10, 20),
                     x.slice(0, 1, std::nullopt, 2).slice(1, 0, std::nullopt, 4)};
       }},
      // The gradient of as_strided needs a contiguous input; the overlapping window sums the
      // gradient of each repeated element (on the GPU with index_add: tensor/view_ops.cpp).
      {"as_strided (disjoint and overlapping)", kExact, {S{{3, 4}}, S{{12}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{x.as_strided({2, 2}, {4, 1}, 1), x.as_strided({3, 3}, {1, 1}), x.as_strided({4, 2}, {2, 1}, 2),
                     x.as_strided({0, 2}, {1, 1})};
       },
       nullptr, false},
      {"contiguous, clone, reshape", kExact, {S{{3, 4}}, S{{0, 5}}, S{{}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{x.contiguous(), x.clone(), x.reshape({-1}), x.contiguous().view({-1})};
       }},
      {"view of a non-viewable layout is the same error", kExact, {S{{3, 4}}}, -1, 1,
       [](const auto& in, const Ctx&) { return one(in[0].view({12})); }, nullptr, true, true},
  };
}

// ---- factories: on the GPU they equal the CPU's (the random ones for a seed) -------------

std::vector<Row> factory_rows() {
  using S = std::vector<Shape>;
  return {
      {"zeros, ones, full, empty sizes", kExact, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) {
         return Outs{zeros({2, 3}, c.opts()), ones({0, 4}, c.opts()), full({}, 1.5, c.opts()),
                     full({3}, int64_t{-7}, TensorOptions(kInt64).device(c.device)),
                     full({2, 2}, true, TensorOptions(kBool).device(c.device)), zeros_like(empty({4, 1}, c.opts()))};
       }},
      {"arange and linspace", kExact, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) {
         return Outs{arange(-3, 4, 0.5, c.opts()),
                     arange(10, TensorOptions(kInt64).device(c.device)),
                     arange(5, -5, -3, TensorOptions(kInt64).device(c.device)),
                     arange(0, 0, 1, c.opts()),
                     linspace(-1, 1, 7, c.opts()),
                     linspace(2, 3, 1, c.opts()),
                     linspace(0, 1, 0, c.opts())};
       }},
      {"eye", kExact, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) {
         return Outs{eye(3, std::nullopt, c.opts()), eye(2, 5, c.opts()), eye(4, 1, c.opts()), eye(0, std::nullopt, c.opts())};
       }},
      {"*_like follow the input", kExact, {S{{2, 3}}, S{{0}}, S{{}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{zeros_like(x), ones_like(x), full_like(x, 3.25), empty_like(x).fill_(2.0),
                     ones_like(x, x.options().dtype(kInt64)), rand_like(x), randn_like(x)};
       }},
      // rand, randint and randperm give the CPU's numbers for a seed (tensor/random.cpp);
      // randn equals them to rounding (CUDA's log and cos against the host's).
      {"rand, randn, randint, randperm for a seed", kSums, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) {
         const TensorOptions i64 = TensorOptions(kInt64).device(c.device);
         return Outs{rand({3, 4}, c.opts()), randn({33}, c.opts()), randint(-3, 7, {4, 5}, i64),
                     randint(0, 2, {0}, i64),   randperm(9, i64),       randperm(6, c.opts()),
                     rand({}, c.opts()),        randn({0, 3}, c.opts())};
       }},
  };
}

// ---- nn::functional ---------------------------------------------------------------------

std::vector<Row> functional_rows() {
  using S = std::vector<Shape>;
  return {
      {"linear", kSums, {S{{4, 5}, {3, 5}, {3}}, S{{2, 3, 5}, {3, 5}, {3}}, S{{0, 5}, {3, 5}, {3}}, S{{5}, {3, 5}, {3}}},
       -1, 1,
       [](const auto& in, const Ctx&) { return Outs{F::linear(in[0], in[1], in[2]), F::linear(in[0], in[1])}; }},
      {"conv1d: stride, padding, dilation", kSums, {S{{2, 3, 10}, {4, 3, 3}, {4}}, S{{3, 9}, {4, 3, 3}, {4}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor &x = in[0], &w = in[1], &b = in[2];
         return Outs{F::conv1d(x, w, b), F::conv1d(x, w, b, 2, 1), F::conv1d(x, w, {}, 1, 2, 2),
                     F::conv1d(x, w, b, 3, 0, 2)};
       }},
      {"conv1d: input shorter than the kernel is the same error", kSums, {S{{1, 3, 2}, {4, 3, 3}}}, -1, 1,
       [](const auto& in, const Ctx&) { return one(F::conv1d(in[0], in[1])); }, nullptr, true, true},
      {"max_pool1d", kExact, {S{{2, 3, 11}}, S{{3, 8}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{F::max_pool1d(x, 3), F::max_pool1d(x, 3, 2, 1), F::max_pool1d(x, 2, 1, 0, 2)};
       }},
      {"adaptive pools", kSums, {S{{2, 3, 7}}, S{{3, 10}}, S{{5}}}, -1, 1,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{F::adaptive_avg_pool1d(x, 4), F::adaptive_avg_pool1d(x, 1), F::adaptive_avg_pool1d(x, 9),
                     F::adaptive_max_pool1d(x, 3), F::adaptive_max_pool1d(x, 1), F::adaptive_max_pool1d(x, 8)};
       }},
      {"embedding with and without padding_idx", kExact, {S{{10, 4}}}, -1, 1,
       [](const auto& in, const Ctx& c) {
         const Tensor& w = in[0];
         Tensor ids = c.on(ints({3, 5}, 10));
         return Outs{F::embedding(ids, w, 2), F::embedding(ids, w), F::embedding(c.on(ints({}, 10)), w, -1),
                     F::embedding(c.on(ints({0}, 10)), w, 0)};
       }},
      // A 2-D input makes its own offsets, on the input's device (nn/functional/basic.cpp).
      {"embedding_bag with a 2-D input, every mode", kSums, {S{{10, 4}, {3, 5}}}, -1, 1,
       [](const auto& in, const Ctx& c) {
         const Tensor &w = in[0], &psw = in[1];
         Tensor ids = c.on(ints({3, 5}, 10, 3));
         return Outs{F::embedding_bag(ids, w, {}, "sum"), F::embedding_bag(ids, w, {}, "mean", {}, 4),
                     F::embedding_bag(ids, w, {}, "max"), F::embedding_bag(ids, w, {}, "sum", psw),
                     F::embedding_bag(c.on(ints({2, 0}, 10)), w, {}, "mean")};
       }},
      {"embedding_bag with offsets", kSums, {S{{10, 4}}}, -1, 1,
       [](const auto& in, const Ctx& c) {
         const Tensor& w = in[0];
         Tensor ids = c.on(ints({9}, 10, 5)), offs = c.on(tensor({0, 0, 4, 5}));
         return Outs{F::embedding_bag(ids, w, offs, "sum"), F::embedding_bag(ids, w, offs, "max", {}, 3),
                     F::embedding_bag(ids, w, c.on(tensor({0, 2, 9})), "mean", {}, std::nullopt, false, true)};
       }},
      {"activations", Tol{1e-12, 1e-5}, {S{{3, 4}}, S{{}}, S{{0, 2}}, S{{2, 50}}}, -3, 3,
       [](const auto& in, const Ctx&) {
         const Tensor& x = in[0];
         return Outs{F::gelu(x), F::gelu(x, "tanh"), F::silu(x), F::relu(x), F::sigmoid(x), F::tanh(x)};
       }},
      {"one_hot", kInts, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) {
         return Outs{one_hot(c.on(ints({2, 3}, 5)), 5), one_hot(c.on(ints({7}, 4, 2))), one_hot(c.on(ints({}, 3)), 3),
                     one_hot(c.on(ints({0}, 3)), 3)};
       }},
      {"one_hot: a class out of range is the same error", kInts, {S{}}, -1, 1,
       [](const auto&, const Ctx& c) { return one(one_hot(c.on(tensor({1, 4})), 3)); }, nullptr, true, true},
  };
}

// ---- losses -------------------------------------------------------------------------------

/// Class targets for logits x ([C] -> 0-d, [N, C, d...] -> [N, d...]), in [0, C); with
/// `ignore` the first and every fifth target is -100.
Tensor class_targets(const Tensor& x, bool ignore) {
  Shape s;
  if (x.dim() >= 2) {
    s.push_back(x.size(0));
    for (int64_t d = 2; d < x.dim(); ++d) s.push_back(x.size(d));
  }
  Tensor t = ints(s, x.size(x.dim() >= 2 ? 1 : 0), 9);
  if (ignore && t.numel() > 0) {
    Tensor flat = t.reshape({-1});
    for (int64_t i = 0; i < flat.numel(); i += 5) flat[i].fill_(int64_t{-100});
  }
  return t;
}

const std::vector<std::string> kReductions = {"none", "mean", "sum"};

std::vector<Row> loss_rows() {
  using S = std::vector<Shape>;
  // Logits: a batch, a K-dim batch, one unbatched row, an empty batch.
  const std::vector<S> logits = {S{{6, 5}}, S{{2, 5, 3}}, S{{5}}, S{{0, 5}}};
  // Pairs of same-shaped inputs (prediction, target).
  const std::vector<S> pairs = {S{{4, 3}, {4, 3}}, S{{}, {}}, S{{0, 2}, {0, 2}}, S{{2, 3, 4}, {2, 3, 4}}};
  std::vector<Row> rows;
  for (const std::string& red : kReductions) {
    rows.push_back({"cross_entropy " + red, kSums, logits, -3, 3, [red](const auto& in, const Ctx& c) {
                      const Tensor& x = in[0];
                      const int64_t C = x.size(x.dim() >= 2 ? 1 : 0);
                      Tensor t = c.on(class_targets(x, false)), ti = c.on(class_targets(x, true));
                      Tensor w = linspace(0.5, 2, C, c.opts());
                      return Outs{F::cross_entropy(x, t, {}, -100, red), F::cross_entropy(x, t, w, -100, red),
                                  F::cross_entropy(x, ti, {}, -100, red), F::cross_entropy(x, ti, w, -100, red, 0.2),
                                  F::cross_entropy(x, t, {}, -100, red, 0.1),
                                  F::cross_entropy(x, c.on(class_targets(x, false)), {}, 1, red)};
                    }});
    rows.push_back({"nll_loss " + red, kSums, logits, -3, 3, [red](const auto& in, const Ctx& c) {
                      const Tensor lp = in[0].log_softmax(in[0].dim() >= 2 ? 1 : 0);
                      const int64_t C = in[0].size(in[0].dim() >= 2 ? 1 : 0);
                      Tensor w = linspace(2, 0.25, C, c.opts());
                      Tensor t = c.on(class_targets(in[0], false)), ti = c.on(class_targets(in[0], true));
                      return Outs{F::nll_loss(lp, t, {}, -100, red), F::nll_loss(lp, ti, w, -100, red),
                                  F::nll_loss(in[0], t, w, 3, red)};
                    }});
    // Targets y = (in[1] + 1) / 2 in [0, 1); their gradient is compared too.
    rows.push_back({"binary_cross_entropy_with_logits " + red, kSums, pairs, -1, 1,
                    [red](const auto& in, const Ctx& c) {
                      const Tensor x = in[0] * 3, y = (in[1] + 1) / 2;
                      const int64_t last = x.dim() > 0 ? x.size(-1) : 1;
                      Tensor pw = linspace(0.5, 3, last, c.opts()), w = linspace(1, 2, last, c.opts());
                      if (x.dim() == 0) {
                        pw = pw.reshape({});
                        w = w.reshape({});
                      }
                      return Outs{F::binary_cross_entropy_with_logits(x, y, {}, {}, red),
                                  F::binary_cross_entropy_with_logits(x, y, w, {}, red),
                                  F::binary_cross_entropy_with_logits(x, y, {}, pw, red),
                                  F::binary_cross_entropy_with_logits(x, y, w, pw, red)};
                    }});
    rows.push_back({"binary_cross_entropy " + red, kSums, pairs, -1, 1, [red](const auto& in, const Ctx& c) {
                      const Tensor p = (in[0] * 3).sigmoid(), y = (in[1] + 1) / 2;
                      Tensor w = full(p.sizes(), 0.75, c.opts());
                      return Outs{F::binary_cross_entropy(p, y, {}, red), F::binary_cross_entropy(p, y, w, red),
                                  F::binary_cross_entropy(p, (y > 0.5).to(p.dtype()), {}, red)};
                    }});
    rows.push_back({"mse, l1, smooth_l1 " + red, kSums, pairs, -2, 2, [red](const auto& in, const Ctx&) {
                      const Tensor &x = in[0], &y = in[1];
                      return Outs{F::mse_loss(x, y, red), F::l1_loss(x, y, red), F::smooth_l1_loss(x, y, red),
                                  F::smooth_l1_loss(x, y, red, 0.5), F::smooth_l1_loss(x, y, red, 0)};
                    }});
  }
  rows.push_back({"cross_entropy: a target out of range is the same error", kSums, {S{{3, 4}}}, -1, 1,
                  [](const auto& in, const Ctx& c) { return one(F::cross_entropy(in[0], c.on(tensor({0, 4, 1})))); },
                  nullptr, true, true});
  // Probability (soft) targets are not supported: cross_entropy takes int64 class targets.
  rows.push_back({"cross_entropy: probability targets are the same error", kSums, {S{{3, 4}, {3, 4}}}, -1, 1,
                  [](const auto& in, const Ctx&) { return one(F::cross_entropy(in[0], in[1].softmax(1))); }, nullptr,
                  true, true});
  rows.push_back({"mse_loss: shapes that differ are the same error", kSums, {S{{3, 4}, {4, 3}}}, -1, 1,
                  [](const auto& in, const Ctx&) { return one(F::mse_loss(in[0], in[1])); }, nullptr, true, true});
  return rows;
}

}  // namespace

TEST_CASE("cuda nn: view and join ops match the CPU, forward and backward") {
  if (skip("the view and join op table")) return;
  run_table(view_rows());
}

TEST_CASE("cuda nn: factories on the GPU equal the CPU's (random ones for a seed)") {
  if (skip("the factory table")) return;
  run_table(factory_rows());
}

TEST_CASE("cuda nn: functional layers and activations match the CPU, forward and backward") {
  if (skip("the nn::functional table")) return;
  run_table(functional_rows());
}

TEST_CASE("cuda nn: every loss and reduction matches the CPU, forward and backward") {
  if (skip("the loss table")) return;
  run_table(loss_rows());
}

TEST_CASE("cuda nn: a gradient on another device than its output is an error (no GPU needed)") {
  Tensor x = test::fake_cuda({2, 3}, kFloat64).requires_grad_(true);
  const std::string e = test::error_of([&] { x.backward(ones({2, 3}, kFloat64)); });
  CHECK(test::contains(e, "invalid gradient at index 0 - expected device cuda"));
  CHECK(test::contains(e, "but got cpu"));
  CHECK(test::contains(test::error_of([&] { (void)autograd::grad({x}, {x}, {ones({2, 3}, kFloat64)}); }),
                       "invalid gradient at index 0"));
  // A 0-d one is moved instead, as PyTorch's validate_outputs does: without a GPU the move
  // itself fails (test_cuda.cpp runs it on one).
  Tensor s = test::fake_cuda({}, kFloat64).requires_grad_(true);
  if (!cuda::is_available()) CHECK(test::error_of([&] { s.backward(scalar_tensor(2.0, kFloat64)); }).find("[to]") == 0);
}

namespace {
// A node whose backward hands its input a host gradient whatever the input's device.
struct HostGradBackward final : autograd::Node {
  const char* name() const override { return "HostGradBackward"; }
  autograd::GradList apply(autograd::GradList&& grads) override {
    return {zeros(grads[0].sizes(), grads[0].dtype())};
  }
};
}  // namespace

TEST_CASE("cuda nn: a gradient or hook result on the wrong device is an error, not a kernel fed a host pointer") {
  // Between nodes: a node's gradient for a GPU input must be on the GPU (PyTorch's
  // validate_outputs); otherwise the input's own backward kernels would get a host pointer.
  Tensor x = test::fake_cuda({2, 3}, kFloat64).requires_grad_(true), out = test::fake_cuda({2, 3}, kFloat64);
  autograd::set_history(out, autograd::make_node<HostGradBackward>(x));
  CHECK(test::error_of([&] { out.backward(test::fake_cuda({2, 3}, kFloat64)); }) ==
        "[HostGradBackward] invalid gradient at index 0 - expected device cuda:0 but got cpu");
  CHECK(!x.grad().defined());
  // A hook's replacement: on a non-leaf (it would reach the view's backward) and on a leaf
  // (it would become .grad() beside a GPU parameter). Views run no kernel on the fake tensor.
  Tensor y = test::fake_cuda({2, 3}, kFloat64).requires_grad_(true);
  Tensor r = y.reshape({3, 2});
  r.register_hook([](const Tensor& g) { return zeros(g.sizes(), g.dtype()); });
  CHECK(test::error_of([&] { r.backward(test::fake_cuda({3, 2}, kFloat64)); }) ==
        "[ViewBackward] hook has changed the type of value (was cuda:0 tensor got cpu tensor)");
  Tensor z = test::fake_cuda({2, 3}, kFloat64).requires_grad_(true);
  z.register_hook([](const Tensor& g) { return zeros(g.sizes(), g.dtype()); });
  CHECK(test::error_of([&] { z.reshape({6}).backward(test::fake_cuda({6}, kFloat64)); }) ==
        "[AccumulateGrad] hook has changed the type of value (was cuda:0 tensor got cpu tensor)");
  CHECK(!z.grad().defined());
}

TEST_CASE("cuda nn: gradcheck and gradgradcheck of a computation run on the GPU") {
  if (skip("gradcheck through the GPU")) return;
  // The inputs stay on the CPU (gradcheck nudges them there); fn moves them to the device.
  Tensor a = test::uniform({3, 4}, -1, 1).requires_grad_(true), b = test::uniform({4}, 0.5, 1.5).requires_grad_(true);
  auto fn = [](const std::vector<Tensor>& in) {
    Tensor x = in[0].to(kDev), y = in[1].to(kDev);
    return F::log_softmax(F::gelu(x) * y, 1) + F::layer_norm(x * y, {4}).tanh();
  };
  CHECK(autograd::gradcheck(fn, {a, b}));
  CHECK(autograd::gradgradcheck(fn, {a, b}));
}
