// CUDA: nn modules through the op table (tests/cuda_nn_table.h): each module is built twice
// from one seed, one copy moved with Module::to(kCUDA); forward outputs, input gradients and
// every parameter gradient are compared with the CPU's (contiguous, transposed and
// step-sliced inputs; float64 and float32). Then gradient clipping on GPU gradients and a few
// optimizer steps on a small model, against the same on the CPU.
//
// Tolerances (atol = rtol): float64 1e-9 (attention and the encoder chain several products
// and normalizations, each summed in another order); float32 1e-4 for single layers and 5e-4
// for attention and encoders, whose gradients pass through softmax, layer_norm and up to
// eight float32 matrix products (the GPU sums in float32, the CPU in double); optimizer steps
// the same, as Adam divides by sqrt(v) and so carries the gradients' relative error over.
// Without a GPU every case prints "skipped: no CUDA device ..." and checks nothing.
#include <cmath>
#include <memory>

#include "cuda_nn_table.h"
#include "optim/optim.h"

using namespace ember;
using namespace ember::test::nn_table;
namespace F = ember::nn::functional;

namespace {

const Tol kLayer{1e-10, 1e-4};
const Tol kDeep{1e-9, 5e-4};

/// A bool mask [rows, cols] with true where keep(i, j) is false (true = masked, as PyTorch).
template <class Keep>
Tensor mask(int64_t rows, int64_t cols, Keep&& keep) {
  std::vector<bool> v;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) v.push_back(!keep(i, j));
  return tensor(v).reshape({rows, cols});
}

/// Key padding: the last key of every odd batch row is padding, except key 0, so that no row
/// is fully masked. (With one key, [3, 1, 8], batch row 1 was: its softmax row is NaN, as in
/// PyTorch, and that NaN reached nearly every parameter gradient, so those checks compared
/// NaN with NaN. Fully masked rows are compared in test_cuda_ops.cpp.)
Tensor key_padding(int64_t batch, int64_t keys) {
  return mask(batch, keys, [&](int64_t b, int64_t j) { return b % 2 == 0 || j + 1 < keys || j == 0; });
}

/// Defined outputs only (need_weights=false leaves the weights undefined).
void add(Outs& o, const std::pair<Tensor, Tensor>& r) {
  o.push_back(r.first);
  if (r.second.defined()) o.push_back(r.second);
}

Outs attention_outputs(const std::vector<Tensor>& in, const Ctx& c) {
  auto& m = c.as<nn::MultiheadAttention>();
  const Tensor &q = in[0], &k = in[1], &v = in[2];
  const int64_t B = q.size(m.batch_first ? 0 : 1), L = q.size(m.batch_first ? 1 : 0), S = k.size(m.batch_first ? 1 : 0);
  const int64_t H = m.num_heads;
  Tensor causal = c.on(mask(L, S, [](int64_t i, int64_t j) { return j <= i; }));
  Tensor additive = c.on(linspace(-2, 0.5, L * S, c.dtype).reshape({L, S}));
  // Per (batch, head) masks that never mask a whole row (key 0 stays).
  Tensor per_head = c.on(mask(B * H * L, S, [](int64_t r, int64_t j) { return j == 0 || (r + j) % 3 != 0; }))
                        .reshape({B * H, L, S});
  Tensor kpm = c.on(key_padding(B, S));
  Outs o;
  add(o, m(q, k, v));
  add(o, m(q, k, v, kpm, true, causal, false));
  add(o, m(q, k, v, {}, false, additive));
  add(o, m(q, k, v, kpm.to(c.dtype) * -3.0, true, per_head));
  o.push_back(m.forward(q));
  return o;
}

Outs encoder_outputs(const std::vector<Tensor>& in, const Ctx& c, nn::Module& m) {
  const Tensor& x = in[0];
  const int64_t B = x.size(0), L = x.size(1);  // batch_first
  Tensor causal = c.on(mask(L, L, [](int64_t i, int64_t j) { return j <= i; }));
  Tensor additive = c.on(linspace(-1, 0, L * L, c.dtype).reshape({L, L}));
  Tensor kpm = c.on(key_padding(B, L));
  auto run = [&](const Tensor& msk, const Tensor& pad) {
    if (auto* layer = dynamic_cast<nn::TransformerEncoderLayer*>(&m)) return layer->forward(x, msk, pad);
    return dynamic_cast<nn::TransformerEncoder&>(m).forward(x, msk, pad);
  };
  return {m.forward(x), run(causal, {}), run({}, kpm), run(additive, kpm)};
}

std::vector<Row> module_rows() {
  using S = std::vector<Shape>;
  std::vector<Row> rows;
  // Attention: batch_first [B, L, E] with key length S != L, and the sequence-first layout.
  const std::vector<S> bf = {S{{2, 3, 8}, {2, 4, 8}, {2, 4, 8}}, S{{1, 1, 8}, {1, 2, 8}, {1, 2, 8}}};
  const std::vector<S> sf = {S{{3, 2, 8}, {4, 2, 8}, {4, 2, 8}}};
  rows.push_back({"MultiheadAttention", kDeep, bf, -1, 1, attention_outputs,
                  [] { return std::make_shared<nn::MultiheadAttention>(8, 2); }});
  rows.push_back({"MultiheadAttention without bias, 4 heads", kDeep, bf, -1, 1, attention_outputs,
                  [] { return std::make_shared<nn::MultiheadAttention>(8, 4, 0.0, false); }});
  rows.push_back({"MultiheadAttention sequence-first", kDeep, sf, -1, 1, attention_outputs,
                  [] { return std::make_shared<nn::MultiheadAttention>(8, 2, 0.0, true, false); }});
  // Dropout on the attention weights draws the same masks on both devices for a seed.
  rows.push_back({"MultiheadAttention with dropout", kDeep, bf, -1, 1, attention_outputs,
                  [] { return std::make_shared<nn::MultiheadAttention>(8, 2, 0.25); }});
  for (bool norm_first : {false, true}) {
    for (const std::string act : {"relu", "gelu"}) {
      const std::string how = std::string(norm_first ? " norm_first" : " post-norm") + " " + act;
      auto layer = [=](double p) {
        return std::make_shared<nn::TransformerEncoderLayer>(8, 2, 16, p, act, 1e-5, true, norm_first);
      };
      auto fn = [](const std::vector<Tensor>& in, const Ctx& c) { return encoder_outputs(in, c, *c.module); };
      rows.push_back({"TransformerEncoderLayer" + how, kDeep, {S{{2, 5, 8}}, S{{3, 1, 8}}}, -1, 1, fn,
                      [=] { return layer(0.0); }});
      rows.push_back({"TransformerEncoder of 2 with a final norm" + how, kDeep, {S{{2, 5, 8}}}, -1, 1, fn, [=] {
                        return std::make_shared<nn::TransformerEncoder>(*layer(0.0), 2,
                                                                        std::make_shared<nn::LayerNorm>(Shape{8}));
                      }});
      if (act == "gelu")
        rows.push_back({"TransformerEncoderLayer with dropout" + how, kDeep, {S{{2, 5, 8}}}, -1, 1, fn,
                        [=] { return layer(0.1); }});
    }
  }
  auto forward = [](const std::vector<Tensor>& in, const Ctx& c) { return Outs{c.module->forward(in[0])}; };
  rows.push_back({"Conv1d stride 2 padding 1", kLayer, {S{{2, 3, 9}}, S{{3, 9}}}, -1, 1, forward,
                  [] { return std::make_shared<nn::Conv1d>(3, 4, 3, 2, 1); }});
  rows.push_back({"Conv1d dilation 2 without bias", kLayer, {S{{2, 3, 7}}}, -1, 1, forward,
                  [] { return std::make_shared<nn::Conv1d>(3, 2, 2, 1, 0, 2, false); }});
  rows.push_back({"LayerNorm", kLayer, {S{{3, 5}}, S{{2, 0, 5}}, S{{5}}}, -2, 2, forward,
                  [] { return std::make_shared<nn::LayerNorm>(Shape{5}); }});
  rows.push_back({"LayerNorm over two dims", kLayer, {S{{3, 2, 5}}}, -2, 2, forward,
                  [] { return std::make_shared<nn::LayerNorm>(Shape{2, 5}); }});
  rows.push_back({"LayerNorm without affine", kLayer, {S{{4, 6}}}, -2, 2, forward,
                  [] { return std::make_shared<nn::LayerNorm>(Shape{6}, 1e-5, false); }});
  rows.push_back({"Linear", kLayer, {S{{4, 5}}, S{{2, 3, 5}}, S{{0, 5}}}, -1, 1, forward,
                  [] { return std::make_shared<nn::Linear>(5, 3); }});
  rows.push_back({"Embedding with padding_idx", kLayer, {S{}}, -1, 1,
                  [](const std::vector<Tensor>&, const Ctx& c) {
                    return Outs{c.module->forward(c.on(ints({3, 5}, 10))), c.module->forward(c.on(ints({}, 10, 2)))};
                  },
                  [] { return std::make_shared<nn::Embedding>(10, 4, 2); }});
  for (const std::string mode : {"sum", "mean", "max"}) {
    for (bool sparse : {false, true}) {
      const bool sum = mode == "sum";
      rows.push_back({"EmbeddingBag " + mode + (sparse ? " sparse" : " dense"), kLayer, {sum ? S{{9}} : S{}}, -1, 1,
                      [sum](const std::vector<Tensor>& in, const Ctx& c) {
                        auto& m = c.as<nn::EmbeddingBag>();
                        Tensor psw = sum ? in[0] : Tensor();
                        return Outs{m.forward(c.on(ints({3, 4}, 10, 4))),
                                    m.forward(c.on(ints({9}, 10, 6)), c.on(tensor({0, 3, 3, 7})), psw)};
                      },
                      [=] { return std::make_shared<nn::EmbeddingBag>(10, 4, mode, sparse, 1); }});
    }
  }
  rows.push_back({"EmbeddingBag include_last_offset", kLayer, {S{}}, -1, 1,
                  [](const std::vector<Tensor>&, const Ctx& c) {
                    return Outs{c.as<nn::EmbeddingBag>().forward(c.on(ints({8}, 10, 8)), c.on(tensor({0, 2, 2, 6})))};
                  },
                  [] { return std::make_shared<nn::EmbeddingBag>(10, 4, "mean", false, std::nullopt, true); }});
  return rows;
}

// ---- gradient clipping and optimizer steps -------------------------------------------------

/// Parameters with the same gradients on `dev`: dense ones (an empty one with `with_empty`:
/// the inf norm of an empty tensor is an error, as in PyTorch) and a row-sparse one.
std::vector<Tensor> params_with_grads(Device dev, ScalarType dt, double scale, bool with_empty = true) {
  manual_seed(21);
  std::vector<Tensor> ps;
  for (Shape s : {Shape{4, 3}, Shape{5}, Shape{}, Shape{0, 2}}) {
    if (s == Shape{0, 2} && !with_empty) continue;
    Tensor p = test::uniform(s, -1, 1, dt).to(dev).requires_grad_(true);
    p.set_grad(test::uniform(s, -scale, scale, dt).to(dev));
    ps.push_back(p);
  }
  Tensor table = test::uniform({6, 3}, -1, 1, dt).to(dev).requires_grad_(true);
  nn::accumulate_sparse_grad(table, tensor({4, 1, 4}).to(dev), test::uniform({3, 3}, -scale, scale, dt).to(dev));
  ps.push_back(table);
  ps.push_back(test::uniform({2}, -1, 1, dt).to(dev).requires_grad_(true));  // no gradient
  return ps;
}

Tensor dense_grad(const Tensor& p) {
  if (p.grad().defined()) return p.grad();
  return nn::sparse_grad(p).first.defined() ? nn::sparse_grad_to_dense(p) : Tensor();
}

}  // namespace

TEST_CASE("cuda nn: modules match the CPU, forward and backward of inputs and parameters") {
  if (skip("the module table")) return;
  run_table(module_rows());
}

TEST_CASE("cuda nn: clip_grad_norm_ and clip_grad_value_ on GPU gradients match the CPU") {
  if (skip("the gradient clipping comparisons")) return;
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = Tol{1e-12, 1e-5}.of(dt);
    for (double norm_type : {2.0, 1.0, 3.0, 0.5, double(INFINITY)}) {
      for (double max_norm : {0.25, 1e3}) {
        const std::string what = std::string(dtype_name(dt)) + " norm " + std::to_string(norm_type) + " max " +
                                 std::to_string(max_norm);
        INFO(what);
        const bool with_empty = !std::isinf(norm_type);
        std::vector<Tensor> pc = params_with_grads(Device(kCPU), dt, 2, with_empty),
                            pg = params_with_grads(kDev, dt, 2, with_empty);
        const double tc = optim::clip_grad_norm_(pc, max_norm, norm_type);
        const double tg = optim::clip_grad_norm_(pg, max_norm, norm_type);
        CHECK(std::fabs(tg - tc) <= tol * (1 + std::fabs(tc)));
        for (size_t i = 0; i < pc.size(); ++i) check_result(dense_grad(pg[i]), dense_grad(pc[i]), tol, what);
      }
    }
    std::vector<Tensor> pc = params_with_grads(Device(kCPU), dt, 2), pg = params_with_grads(kDev, dt, 2);
    optim::clip_grad_value_(pc, 0.3);
    optim::clip_grad_value_(pg, 0.3);
    for (size_t i = 0; i < pc.size(); ++i) check_result(dense_grad(pg[i]), dense_grad(pc[i]), 0, "clip_grad_value_");
    // A non-finite norm is the same error on both devices.
    pc[0].grad()[0][1].fill_(NAN);
    pg[0].grad()[0][1].fill_(NAN);
    const std::string ec = test::error_of([&] { optim::clip_grad_norm_(pc, 1.0, 2.0, true); });
    CHECK(!ec.empty());
    CHECK(test::error_of([&] { optim::clip_grad_norm_(pg, 1.0, 2.0, true); }) == ec);
    CHECK(std::isnan(optim::clip_grad_norm_(pg, 1.0)));
  }
}

TEST_CASE("cuda nn: SGD momentum, Adam and AdamW steps on a small model match the CPU") {
  if (skip("the optimizer step comparisons")) return;
  using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;
  const std::vector<std::pair<std::string, MakeOpt>> opts = {
      {"sgd momentum",
       [](std::vector<Tensor> p) { return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.9}); }},
      {"sgd nesterov wd",
       [](std::vector<Tensor> p) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{0.05, 0.9, 0, 1e-2, true});
       }},
      {"adam", [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(p, optim::AdamOptions{1e-2}); }},
      {"adamw", [](std::vector<Tensor> p) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{1e-2}); }},
  };
  for (const auto& [name, make_opt] : opts) {
    for (ScalarType dt : {kFloat64, kFloat32}) {
      const std::string what = name + " " + dtype_name(dt);
      INFO(what);
      auto make = [&](Device dev) {
        manual_seed(5);
        auto m = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
            std::make_shared<nn::Linear>(6, 16), std::make_shared<nn::GELU>(),
            std::make_shared<nn::LayerNorm>(Shape{16}), std::make_shared<nn::Linear>(16, 4)});
        m->to(dt);
        m->to(dev);
        return m;
      };
      auto mc = make(Device(kCPU)), mg = make(kDev);
      auto oc = make_opt(mc->parameters()), og = make_opt(mg->parameters());
      for (int step = 0; step < 4; ++step) {
        Tensor x = test::uniform({9, 6}, -2, 2, dt), y = ints({9}, 4, static_cast<uint64_t>(step));
        for (auto [m, o, dev] : {std::tuple{mc.get(), oc.get(), Device(kCPU)}, std::tuple{mg.get(), og.get(), kDev}}) {
          o->zero_grad();
          F::cross_entropy((*m)(x.to(dev)), y.to(dev), {}, -100, "mean", 0.05).backward();
          optim::clip_grad_norm_(m->parameters(), 0.5);
          o->step();
        }
      }
      const auto pc = mc->named_parameters(), pg = mg->named_parameters();
      REQUIRE(pc.size() == pg.size());
      for (size_t i = 0; i < pc.size(); ++i)
        check_result(pg[i].second.detach(), pc[i].second.detach(), kDeep.of(dt), what + ": " + pc[i].first);
    }
  }
}
