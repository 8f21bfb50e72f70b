// CUDA: nn modules through the op table (tests/cuda_nn_table.h): each module is built twice
// from one seed, one copy moved with Module::to(kCUDA); forward outputs, input gradients and
// every parameter gradient are compared with the CPU's (contiguous, transposed and
// step-sliced inputs; float64 and float32). Then gradient clipping on GPU gradients and a few
// optimizer steps on a small model, against the same on the CPU; loss modules whose weights
// Module::to moves; init, clone, load_state_dict, safetensors and zero_grad on GPU modules;
// optimizer and scheduler state loaded beside GPU parameters, and a checkpoint resumed there.
//
// Tolerances (atol = rtol): float64 1e-9 (attention and the encoder chain several products
// and normalizations, each summed in another order); float32 1e-4 for single layers and 5e-4
// for attention and encoders, whose gradients pass through softmax, layer_norm and up to
// eight float32 matrix products (the GPU sums in float32, the CPU in double); optimizer steps
// the same, as Adam divides by sqrt(v) and so carries the gradients' relative error over.
// Without a GPU every case prints "skipped: no CUDA device ..." and checks nothing.
#include <cmath>
#include <filesystem>
#include <memory>

#include "cuda_nn_table.h"
#include "io/io.h"
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
  // The pooling modules (no parameters): the functional forms with the module's options.
  rows.push_back({"MaxPool1d, AdaptiveMaxPool1d, AdaptiveAvgPool1d", kLayer, {S{{2, 3, 11}}, S{{3, 8}}}, -1, 1,
                  [](const std::vector<Tensor>& in, const Ctx&) {
                    return Outs{nn::MaxPool1d(3, 2, 1)(in[0]), nn::MaxPool1d(2)(in[0]),
                                nn::AdaptiveMaxPool1d(3)(in[0]), nn::AdaptiveAvgPool1d(4)(in[0])};
                  }});
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

/// The small MLP of the optimizer and checkpoint cases, built from `seed` in dtype dt on dev.
std::shared_ptr<nn::Sequential> small_mlp(uint64_t seed, ScalarType dt, Device dev) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
      std::make_shared<nn::Linear>(6, 16), std::make_shared<nn::GELU>(), std::make_shared<nn::LayerNorm>(Shape{16}),
      std::make_shared<nn::Linear>(16, 4)});
  m->to(dt);
  m->to(dev);
  return m;
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
      auto make = [&](Device dev) { return small_mlp(5, dt, dev); };
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

// ---- loss modules, module utilities, optimizer state and checkpoints on the GPU -------------

TEST_CASE("cuda nn: loss modules moved with Module::to take their weights to the GPU") {
  if (skip("the loss modules on the GPU")) return;
  // Class and element weights are buffers (nn/loss.h), so module.to(kCUDA) moves them; a
  // weight left on the host meets GPU logits with "Expected all tensors to be on the same
  // device". Each device builds its module from its own copy of the weights: Module::to moves
  // the tensor it was given in place, so one shared tensor would move the CPU module's too.
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const double tol = kLayer.of(dt);
    manual_seed(17);
    const Tensor x = test::uniform({6, 4}, -3, 3, dt), y = (test::uniform({6, 4}, -1, 1, dt) + 1) / 2;
    const Tensor t = ints({6}, 4, 3), cw = test::uniform({4}, 0.5, 2, dt);
    const Tensor ew = test::uniform({6, 4}, 0.5, 2, dt), pw = test::uniform({4}, 0.5, 3, dt);
    for (const std::string which : {"CrossEntropyLoss", "NLLLoss", "BCEWithLogitsLoss", "BCELoss"}) {
      const std::string what = which + " " + dtype_name(dt);
      INFO(what);
      auto run = [&](Device dev) -> std::pair<Tensor, Tensor> {
        Tensor xl = x.clone().to(dev).requires_grad_(true), loss;
        if (which == "CrossEntropyLoss") {
          nn::CrossEntropyLoss m(cw.clone(), -100, "mean", 0.1);
          m.to(dev);
          CHECK(m.weight.device() == dev);
          loss = m(xl, t.to(dev));
        } else if (which == "NLLLoss") {
          nn::NLLLoss m(cw.clone(), 2, "sum");
          m.to(dev);
          CHECK(m.weight.device() == dev);
          loss = m(xl.log_softmax(1), t.to(dev));
        } else if (which == "BCEWithLogitsLoss") {
          nn::BCEWithLogitsLoss m(ew.clone(), "mean", pw.clone());
          m.to(dev);
          CHECK(m.weight.device() == dev);
          CHECK(m.pos_weight.device() == dev);
          loss = m(xl, y.to(dev));
        } else {
          nn::BCELoss m(ew.clone(), "none");
          m.to(dev);
          CHECK(m.weight.device() == dev);
          loss = m(xl.sigmoid(), y.to(dev));
        }
        loss.sum().backward();
        return {loss.detach(), xl.grad()};
      };
      const auto [lc, gc] = run(Device(kCPU));
      std::pair<Tensor, Tensor> g;
      const std::string e = test::error_of([&] { g = run(kDev); });
      CHECK_MESSAGE(e.empty(), what << ": " << e);
      if (!e.empty()) continue;
      check_result(g.first, lc, tol, what + ": loss");
      check_result(g.second, gc, tol, what + ": gradient of the input");
    }
  }
}

TEST_CASE("cuda nn: init, clone, load_state_dict, safetensors and zero_grad on a GPU module") {
  if (skip("the module utilities on the GPU")) return;
  const std::string path =
      (std::filesystem::temp_directory_path() / "ember_test_cuda_nn_module.safetensors").string();
  for (ScalarType dt : {kFloat64, kFloat32}) {
    const std::string what = dtype_name(dt);
    INFO(what);
    // Built on the CPU, moved, then re-initialized on the device: the initializers draw on the
    // tensor's own device (uniform numbers equal the CPU's for a seed, normal ones to rounding).
    auto make = [&](Device dev, uint64_t seed) {
      manual_seed(seed);
      auto m = std::make_shared<nn::Sequential>(std::initializer_list<std::shared_ptr<nn::Module>>{
          std::make_shared<nn::Linear>(5, 7), std::make_shared<nn::Tanh>(), std::make_shared<nn::Linear>(7, 3)});
      m->to(dt);
      m->to(dev);
      std::vector<Tensor> p = m->parameters();
      manual_seed(seed + 1);
      nn::init::xavier_uniform_(p[0]);
      nn::init::uniform_(p[1], -0.5, 0.5);
      nn::init::kaiming_normal_(p[2], 0, nn::init::FanMode::FanOut, "relu");
      nn::init::normal_(p[3], 0.1, 0.2);
      for (const Tensor& q : m->parameters()) {
        CHECK(q.device() == dev);
        CHECK(q.is_leaf());
        CHECK(q.requires_grad());
      }
      return m;
    };
    auto mc = make(Device(kCPU), 3), mg = make(kDev, 3);
    auto compare = [&](const nn::Module& g, const nn::Module& c, double tol, const std::string& how) {
      const auto pg = g.named_parameters(), pc = c.named_parameters();
      REQUIRE(pg.size() == pc.size());
      for (size_t i = 0; i < pc.size(); ++i)
        check_result(pg[i].second.detach(), pc[i].second.detach().cpu(), tol, what + " " + how + ": " + pc[i].first);
    };
    compare(*mg, *mc, kLayer.of(dt), "init");
    const Tensor x = test::uniform({4, 5}, -1, 1, dt);
    check_result((*mg)(x.to(kDev)).detach(), (*mc)(x).detach(), kLayer.of(dt), what + ": forward");

    // clone: a deep copy that stays on the device.
    auto cg = mg->clone();
    compare(*cg, *mg, 0, "clone");
    {
      NoGradGuard g;
      for (const Tensor& p : cg->parameters()) Tensor(p).fill_(0.0);
    }
    compare(*mg, *mc, kLayer.of(dt), "after zeroing the clone");

    // A host state dict loads into the GPU module (copied across), which stays on the GPU.
    auto other = make(kDev, 40);
    other->load_state_dict(mc->state_dict());
    compare(*other, *mc, 0, "load_state_dict from the CPU");

    // A GPU module saved to safetensors (through the host) loads into another GPU module.
    save(*mg, path);
    auto loaded = make(kDev, 41);
    load(*loaded, path);
    compare(*loaded, *mg, 0, "safetensors round trip");
    std::filesystem::remove(path);

    // zero_grad(false) zeroes the GPU gradients where they are.
    (*mg)(x.to(kDev)).sum().backward();
    mg->zero_grad(false);
    for (const auto& [name, p] : mg->named_parameters()) {
      REQUIRE(p.grad().defined());
      check_result(p.grad(), zeros(p.sizes(), dt), 0, what + " zero_grad(false): " + name);
    }
  }
}

TEST_CASE("cuda nn: optimizer and scheduler state loaded into a GPU model, and a checkpoint resumed on the GPU") {
  if (skip("the optimizer state loads and checkpoints on the GPU")) return;
  using MakeOpt = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>, double)>;
  const std::vector<std::pair<std::string, MakeOpt>> opts = {
      {"sgd momentum wd",
       [](std::vector<Tensor> p, double lr) {
         return std::make_unique<optim::SGD>(p, optim::SGDOptions{lr, 0.9, 0, 1e-2});
       }},
      {"adam amsgrad wd",
       [](std::vector<Tensor> p, double lr) {
         return std::make_unique<optim::Adam>(p, optim::AdamOptions{lr, {0.9, 0.99}, 1e-8, 1e-2, true});
       }},
      {"adamw", [](std::vector<Tensor> p, double lr) { return std::make_unique<optim::AdamW>(p, optim::AdamWOptions{lr}); }},
  };
  const std::string path =
      (std::filesystem::temp_directory_path() / "ember_test_cuda_nn_checkpoint.safetensors").string();
  for (const auto& [name, make_opt] : opts) {
    for (ScalarType dt : {kFloat64, kFloat32}) {
      const std::string what = name + " " + dtype_name(dt);
      INFO(what);
      manual_seed(13);
      const Tensor X = test::uniform({24, 6}, -2, 2, dt), y = ints({24}, 4, 5);
      auto make = [&](Device dev, uint64_t seed) { return small_mlp(seed, dt, dev); };
      // Epochs [from, to) of shuffled batches of 8 from a dataset on dev, a StepLR step per epoch.
      auto train = [&](nn::Module& m, optim::Optimizer& o, optim::StepLR& s, Device dev, int from, int to) {
        data::TensorDataset ds({X.to(dev), y.to(dev)});
        data::DataLoader loader(ds, {.batch_size = 8, .shuffle = true, .seed = 3});
        loader.set_epoch(static_cast<uint64_t>(from));
        for (int epoch = from; epoch < to; ++epoch) {
          for (const data::Batch& b : loader) {
            CHECK(b[0].device() == dev);
            o.zero_grad();
            F::cross_entropy(m(b[0]), b[1], {}, -100, "mean", 0.05).backward();
            o.step();
          }
          s.step();
        }
      };
      // Every state tensor of o's parameters lives with its parameter.
      auto check_state_devices = [&](const optim::Optimizer& o, const std::string& how) {
        for (const Tensor& p : o.parameters()) {
          const optim::ParamState* st = o.find_state(p);
          CHECK_MESSAGE(st != nullptr, what << " " << how << ": a parameter has no state");
          if (st == nullptr) continue;
          for (const Tensor* t : {&st->exp_avg, &st->exp_avg_sq, &st->max_exp_avg_sq, &st->momentum_buffer})
            if (t->defined()) CHECK_MESSAGE(t->device() == p.device(), what << " " << how);
        }
      };
      auto compare = [&](const nn::Module& g, const nn::Module& c, double tol, const std::string& how) {
        const auto pg = g.named_parameters(), pc = c.named_parameters();
        REQUIRE(pg.size() == pc.size());
        for (size_t i = 0; i < pc.size(); ++i)
          check_result(pg[i].second.detach(), pc[i].second.detach().cpu(), tol, what + " " + how + ": " + pc[i].first);
      };

      // Data utilities over GPU tensors: batches stay on the device, labels are read back.
      {
        data::TensorDataset dg({X.to(kDev), y.to(kDev)}), dc({X, y});
        data::Subset sub_g(data::borrow(dg), {5, 0, 23}), sub_c(data::borrow(dc), {5, 0, 23});
        const data::Batch bg = sub_g.get_batch({2, 0, 1, 2}), bc = sub_c.get_batch({2, 0, 1, 2});
        REQUIRE(bg.size() == 2);
        check_result(bg[0], bc[0], 0, what + ": Subset batch of features");
        check_result(bg[1], bc[1], 0, what + ": Subset batch of labels");
        check_result(sub_g.get(1)[0], sub_c.get(1)[0], 0, what + ": Subset example");
        CHECK(data::stratified_split(y.to(kDev), 0.25, 9) == data::stratified_split(y, 0.25, 9));
      }

      // A host optimizer's state (and its scheduler's) loaded beside a GPU model moves to the
      // parameters' device; then one more epoch (3 steps) on each device agrees.
      {
        auto mc = make(Device(kCPU), 5);
        auto oc = make_opt(mc->parameters(), 0.05);
        optim::StepLR sc(*oc, 1, 0.5);
        train(*mc, *oc, sc, Device(kCPU), 0, 1);
        auto mg = make(kDev, 99);  // other values: everything must come from the state dicts
        auto og = make_opt(mg->parameters(), 1.0);
        optim::StepLR sg(*og, 1, 0.5);
        mg->load_state_dict(mc->state_dict());
        og->load_state_dict(oc->state_dict());
        sg.load_state_dict(sc.state_dict());
        CHECK(og->lr(0) == oc->lr(0));
        check_state_devices(*og, "state dict loaded from the CPU");
        train(*mc, *oc, sc, Device(kCPU), 1, 2);
        const std::string e = test::error_of([&] { train(*mg, *og, sg, kDev, 1, 2); });
        CHECK_MESSAGE(e.empty(), what << ": training after the load threw " << e);
        compare(*mg, *mc, kDeep.of(dt), "after a host state dict");
      }

      // A GPU run checkpointed after one epoch and resumed in fresh GPU objects ends where the
      // uninterrupted GPU run does: the same kernels on the same batches in the same order
      // (no float atomics on this path), so equal but for a cushion of a few ulps.
      {
        const double same = dt == kFloat64 ? 1e-12 : 1e-6;
        auto straight = make(kDev, 5);
        auto o_straight = make_opt(straight->parameters(), 0.05);
        optim::StepLR s_straight(*o_straight, 1, 0.5);
        train(*straight, *o_straight, s_straight, kDev, 0, 3);

        auto first = make(kDev, 5);
        auto o_first = make_opt(first->parameters(), 0.05);
        optim::StepLR s_first(*o_first, 1, 0.5);
        train(*first, *o_first, s_first, kDev, 0, 1);
        save_checkpoint(path, *first, *o_first, 1, &s_first);

        auto resumed = make(kDev, 99);
        auto o_resumed = make_opt(resumed->parameters(), 1.0);
        optim::StepLR s_resumed(*o_resumed, 1, 0.5);
        CHECK(load_checkpoint(path, *resumed, *o_resumed, &s_resumed).epoch == 1);
        std::filesystem::remove(path);
        check_state_devices(*o_resumed, "checkpoint loaded");
        const std::string e = test::error_of([&] { train(*resumed, *o_resumed, s_resumed, kDev, 1, 3); });
        CHECK_MESSAGE(e.empty(), what << ": training after the checkpoint threw " << e);
        compare(*resumed, *straight, same, "resumed from a checkpoint");
      }
    }
  }
}
