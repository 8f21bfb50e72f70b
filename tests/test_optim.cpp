// Optimizer behaviour beyond the PyTorch trajectories: zero_grad, groups, validation, state
// dicts, scheduler state, and checkpoints that resume training bit for bit.
#include <doctest/doctest.h>

#include "test_util.h"

#include <cstdio>
#include <ember.h>
#include <filesystem>

#include "autograd/autograd_meta.h"
#include "data/data.h"
#include "io/io.h"
#include "nn/module.h"
#include "optim/optim.h"

using namespace ember;

namespace {

using test::contains;
using test::error_of;
using test::values;

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("ember_test_optim_" + name)).string();
}

// A linear model y = x . w + b without matmul, to keep this test about the optimizer.
struct Tiny : nn::Module {
  Tensor w, b;
  Tiny() {
    w = register_parameter("w", randn({4}));
    b = register_parameter("b", zeros({1}));
  }
  Tensor forward(const Tensor& x) override { return (x * w).sum({1}) + b; }
};

}  // namespace

TEST_CASE("optim: zero_grad drops or zeroes dense grads and drops sparse grads") {
  Tensor p = ones({3}).requires_grad_(true);
  optim::SGD opt({p}, {.lr = 0.1});
  (p * 2).sum().backward();
  REQUIRE(p.grad().defined());
  opt.zero_grad(/*set_to_none=*/false);
  REQUIRE(p.grad().defined());
  CHECK(values(p.grad()) == std::vector<double>{0, 0, 0});
  opt.zero_grad();
  CHECK_FALSE(p.grad().defined());
  Tensor e = ones({4, 2}).requires_grad_(true);
  optim::SGD opt2({e}, {.lr = 0.5});
  autograd::meta_of(e).sparse_grad_indices = tensor(std::vector<int64_t>{3, 1, 3});
  autograd::meta_of(e).sparse_grad_values = ones({3, 2});
  opt2.step();  // rows 1 (once) and 3 (twice, summed)
  CHECK(values(e) == std::vector<double>{1, 1, 0.5, 0.5, 1, 1, 0, 0});
  opt2.zero_grad();
  CHECK_FALSE(autograd::meta_of(e).sparse_grad_values.defined());
  opt2.step();  // nothing to apply
  CHECK(values(e) == std::vector<double>{1, 1, 0.5, 0.5, 1, 1, 0, 0});
}

TEST_CASE("optim: sparse rows vouched for skip the check; replaced or modified rows do not") {
  Tensor e = ones({4, 2}).requires_grad_(true);
  auto& m = autograd::meta_of(e);
  optim::SGD opt({e}, {.lr = 1.0});
  // embedding_bag's backward vouches for its grouped rows.
  Tensor bag_w = ones({4, 2}).requires_grad_(true);
  nn::functional::embedding_bag(tensor(std::vector<int64_t>{3, 1, 3}), bag_w, tensor(std::vector<int64_t>{0}), "sum",
                                {}, std::nullopt, /*sparse=*/true)
      .sum()
      .backward();
  CHECK(autograd::sparse_rows_checked(autograd::meta_of(bag_w)));
  CHECK(values(autograd::meta_of(bag_w).sparse_grad_indices) == std::vector<double>{1, 3});
  // Sorted, distinct, in range: checked once when stored, then trusted.
  nn::accumulate_sparse_grad(e, tensor(std::vector<int64_t>{0, 2}), ones({2, 2}));
  CHECK(autograd::sparse_rows_checked(m));
  // A merge with rows nobody vouched for leaves the result unchecked: the optimizer checks it.
  nn::accumulate_sparse_grad(e, tensor(std::vector<int64_t>{2}), ones({1, 2}));
  CHECK_FALSE(autograd::sparse_rows_checked(m));
  opt.step();  // checks on the host, finds them fine
  CHECK(values(e) == std::vector<double>{0, 0, 1, 1, -1, -1, 1, 1});
  // Indices written directly are not trusted, nor checked ones modified in place: out of range is
  // still an error.
  opt.zero_grad();
  nn::accumulate_sparse_grad(e, tensor(std::vector<int64_t>{1}), ones({1, 2}));
  REQUIRE(autograd::sparse_rows_checked(m));
  m.sparse_grad_indices.fill_(7);
  CHECK_FALSE(autograd::sparse_rows_checked(m));
  CHECK(contains(error_of([&] { opt.step(); }), "sparse grad row 7 is out of range"));
  m.sparse_grad_indices = tensor(std::vector<int64_t>{9});
  CHECK_FALSE(autograd::sparse_rows_checked(m));
  CHECK(contains(error_of([&] { opt.step(); }), "sparse grad row 9 is out of range"));
  // Sorted but out of range when stored: not marked, so the optimizer's check still sees it.
  opt.zero_grad();
  nn::accumulate_sparse_grad(e, tensor(std::vector<int64_t>{2, 5}), ones({2, 2}));
  CHECK_FALSE(autograd::sparse_rows_checked(m));
  CHECK(contains(error_of([&] { opt.step(); }), "sparse grad row 5 is out of range"));
}

TEST_CASE("optim: parameters without a gradient are skipped") {
  Tensor a = ones({2}).requires_grad_(true), b = ones({2}).requires_grad_(true);
  optim::Adam opt({a, b}, {.lr = 0.1});
  (a * 3).sum().backward();
  opt.step();
  CHECK(values(a)[0] < 1.0);
  CHECK(values(b) == std::vector<double>{1, 1});
  CHECK(opt.find_state(b) == nullptr);
  CHECK(opt.find_state(a)->step == 1);
}

TEST_CASE("optim: options and parameters are validated") {
  Tensor p = ones({2}).requires_grad_(true);
  CHECK(contains(error_of([&] { optim::SGD({p}, {.lr = -1}); }), "Invalid learning rate"));
  CHECK(contains(error_of([&] { optim::SGD({p}, {.lr = 0.1, .nesterov = true}); }), "Nesterov"));
  CHECK(contains(error_of([&] { optim::Adam({p}, {.betas = {1.0, 0.9}}); }), "beta parameter at index 0"));
  CHECK(contains(error_of([&] { optim::AdamW({p}, {.eps = -1}); }), "epsilon"));
  CHECK(contains(error_of([&] { optim::SGD({p, p}, {}); }), "twice"));
  CHECK(contains(error_of([&] { optim::SGD({tensor({1, 2})}, {}); }), "floating point"));
  CHECK(contains(error_of([&] { optim::SGD({(p * 2)}, {}); }), "non-leaf"));
  optim::SGD opt({p}, {.lr = 0.1});
  CHECK(contains(error_of([&] { opt.add_param_group({p}); }), "more than one parameter group"));
  Tensor q = ones({2}).requires_grad_(true);
  auto o = opt.defaults();
  o.lr = 0.5;
  opt.add_param_group({q}, o);
  CHECK(opt.lr(1) == 0.5);
  CHECK(opt.parameters().size() == 2);
}

TEST_CASE("optim: AdamW defaults to weight decay 1e-2 and decays decoupled") {
  optim::AdamWOptions o;
  CHECK(o.weight_decay == 1e-2);
  CHECK(o.betas[0] == 0.9);
  Tensor p = full({1}, 2.0).requires_grad_(true);
  optim::AdamW opt({p}, {.lr = 0.1, .weight_decay = 0.5});
  p.mutable_grad() = zeros({1});  // zero gradient: only the decay acts
  opt.step();
  CHECK(values(p)[0] == doctest::Approx(2.0 * (1 - 0.1 * 0.5)));
}

TEST_CASE("optim: state_dict round trip resumes Adam exactly") {
  auto run = [](Tensor& p, optim::Adam& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      (p * p * p).sum().backward();
      opt.step();
    }
  };
  Tensor a = tensor({0.5f, -1.0f, 2.0f}).requires_grad_(true);
  optim::Adam full_run({a}, {.lr = 0.05, .amsgrad = true});
  run(a, full_run, 6);

  Tensor b = tensor({0.5f, -1.0f, 2.0f}).requires_grad_(true);
  optim::Adam first({b}, {.lr = 0.05, .amsgrad = true});
  run(b, first, 3);
  optim::OptimizerStateDict saved = first.state_dict();
  CHECK(saved.tensors.size() == 3);  // exp_avg, exp_avg_sq, max_exp_avg_sq
  CHECK(contains(saved.json, "\"step\":3"));
  optim::Adam second({b}, {.lr = 1.0});  // options come back from the state dict
  second.load_state_dict(saved);
  CHECK(second.param_groups[0].options.lr == 0.05);
  CHECK(second.param_groups[0].options.amsgrad);
  run(b, second, 3);
  CHECK(values(a) == values(b));

  optim::SGD wrong({b, a}, {});
  CHECK(contains(error_of([&] { wrong.load_state_dict(saved); }), "doesn't match the size"));
}

TEST_CASE("optim: state_dict round trip resumes SGD momentum exactly (StateDict checkpoint)") {
  auto run = [](Tensor& p, optim::SGD& opt, int steps) {
    for (int i = 0; i < steps; ++i) {
      opt.zero_grad();
      (p * p * p).sum().backward();
      opt.step();
    }
  };
  const optim::SGDOptions o{.lr = 0.01, .momentum = 0.9, .weight_decay = 0.1, .nesterov = true};
  Tensor a = tensor({0.5f, -1.0f, 2.0f}).requires_grad_(true);
  optim::SGD full_run({a}, o);
  run(a, full_run, 5);
  Tensor b = tensor({0.5f, -1.0f, 2.0f}).requires_grad_(true);
  optim::SGD first({b}, o);
  run(b, first, 2);
  const std::string path = temp_path("sgd.safetensors");
  save_checkpoint(path, nn::StateDict{{"p", b}}, first, 2);
  Tensor c = zeros({3}).requires_grad_(true);
  optim::SGD second({c}, {.lr = 5.0});
  CHECK(load_checkpoint(path, nn::StateDict{{"p", c}}, second).epoch == 2);
  CHECK(second.find_state(c)->momentum_buffer.defined());
  run(c, second, 3);
  CHECK(values(c) == values(a));
  CHECK(contains(error_of([&] { load_checkpoint(path, nn::StateDict{{"q", c}}, second); }), "no tensor for model key"));
  std::remove(path.c_str());
}

TEST_CASE("optim: scheduler state and errors") {
  Tensor p = ones({1}).requires_grad_(true);
  optim::SGD opt({p}, {.lr = 1.0, .momentum = 0.9});
  optim::StepLR s(opt, 2, 0.5);
  CHECK(s.last_epoch() == 0);
  s.step();
  s.step();
  CHECK(opt.lr(0) == 0.5);
  const std::string state = s.state_dict();
  optim::SGD opt2({ones({1}).requires_grad_(true)}, {.lr = 1.0});
  optim::StepLR s2(opt2, 2, 0.5);
  s2.load_state_dict(state);
  CHECK(s2.last_epoch() == 2);
  s2.step();
  s2.step();
  CHECK(s2.get_last_lr()[0] == 0.25);
  CHECK(contains(error_of([&] { s2.load_state_dict("{"); }), "malformed"));

  optim::OneCycleLR one(opt, {.max_lr = 1.0, .total_steps = 3});
  for (int i = 0; i < 3; ++i) one.step();
  CHECK(contains(error_of([&] { one.step(); }), "Tried to step 4 times"));
  CHECK(contains(error_of([&] { optim::OneCycleLR(opt, {.anneal_strategy = "cosine"}); }), "anneal_strategy"));
  optim::AdamW adamw({p}, {});
  CHECK_NOTHROW(optim::OneCycleLR(adamw, {.total_steps = 5}));
}

TEST_CASE("optim: clip_grad_norm_ counts and scales sparse gradients") {
  Tensor d = tensor({3.0f, 0.0f}).requires_grad_(true);
  Tensor e = zeros({3, 2}).requires_grad_(true);
  d.mutable_grad() = tensor({3.0f, 0.0f});
  autograd::meta_of(e).sparse_grad_indices = tensor(std::vector<int64_t>{1, 1});
  autograd::meta_of(e).sparse_grad_values = tensor(std::vector<float>{2, 0, 2, 0}).reshape({2, 2});  // row 1 = (4, 0)
  const double total = optim::clip_grad_norm_({d, e}, 1.0);
  CHECK(total == doctest::Approx(5.0));
  CHECK(values(d.grad())[0] == doctest::Approx(3.0 / 5.0).epsilon(1e-5));
  CHECK(values(autograd::meta_of(e).sparse_grad_values)[0] == doctest::Approx(4.0 / 5.0).epsilon(1e-5));
  optim::clip_grad_value_({d, e}, 0.5);
  CHECK(values(d.grad())[0] == 0.5);
  CHECK(optim::clip_grad_norm_({ones({2}).requires_grad_(true)}, 1.0) == 0.0);  // no grads
}

TEST_CASE("optim: a checkpoint resumes training bit for bit") {
  manual_seed(7);
  Tensor X = randn({20, 4});
  Tensor y = (X * tensor({1.0f, -2.0f, 0.5f, 3.0f})).sum({1}) + 0.25;
  data::TensorDataset ds({X, y});
  const std::string path = temp_path("checkpoint.safetensors");

  // Runs epochs [from, to) of shuffled mini-batch Adam with a StepLR.
  auto train = [&](Tiny& model, optim::Adam& opt, optim::StepLR& sched, data::DataLoader& loader, int from, int to) {
    loader.set_epoch(static_cast<uint64_t>(from));
    for (int epoch = from; epoch < to; ++epoch) {
      for (const data::Batch& batch : loader) {
        opt.zero_grad();
        Tensor err = model(batch[0]) - batch[1];
        (err * err).mean().backward();
        opt.step();
      }
      sched.step();
    }
  };

  manual_seed(1);
  Tiny straight;
  optim::Adam opt_a(straight.parameters(), {.lr = 0.05, .weight_decay = 0.01});
  optim::StepLR sched_a(opt_a, 2, 0.5);
  data::DataLoader loader_a(ds, {.batch_size = 6, .shuffle = true, .seed = 3});
  train(straight, opt_a, sched_a, loader_a, 0, 6);

  manual_seed(1);
  Tiny first;
  optim::Adam opt_b(first.parameters(), {.lr = 0.05, .weight_decay = 0.01});
  optim::StepLR sched_b(opt_b, 2, 0.5);
  data::DataLoader loader_b(ds, {.batch_size = 6, .shuffle = true, .seed = 3});
  train(first, opt_b, sched_b, loader_b, 0, 3);
  save_checkpoint(path, first, opt_b, 3, &sched_b, {{"note", "half way"}});

  manual_seed(99);  // a different start: everything must come from the file
  Tiny resumed;
  optim::Adam opt_c(resumed.parameters(), {.lr = 1.0});
  optim::StepLR sched_c(opt_c, 2, 0.5);
  CheckpointInfo info = load_checkpoint(path, resumed, opt_c, &sched_c);
  CHECK(info.epoch == 3);
  CHECK(info.metadata.at("note") == "half way");
  CHECK(opt_c.lr(0) == opt_b.lr(0));
  CHECK(sched_c.last_epoch() == 3);
  data::DataLoader loader_c(ds, {.batch_size = 6, .shuffle = true, .seed = 3});
  train(resumed, opt_c, sched_c, loader_c, static_cast<int>(info.epoch), 6);

  CHECK(values(resumed.w) == values(straight.w));
  CHECK(values(resumed.b) == values(straight.b));
  CHECK(values(opt_c.find_state(resumed.w)->exp_avg_sq) == values(opt_a.find_state(straight.w)->exp_avg_sq));
  CHECK(opt_c.find_state(resumed.w)->step == opt_a.find_state(straight.w)->step);

  // The file is an ordinary safetensors file with prefixed names.
  SafetensorsFile f = load_with_metadata(path);
  bool has_model = false, has_moment = false;
  for (const auto& [name, t] : f.tensors) {
    has_model |= name == "model.w";
    has_moment |= name == "optim.state.0.exp_avg";
  }
  CHECK(has_model);
  CHECK(has_moment);
  CHECK(f.metadata.count("optim") == 1);
  CHECK(contains(error_of([&] { load_checkpoint(path, resumed, opt_c); }), "scheduler"));
  std::remove(path.c_str());
}

TEST_CASE("optim: EmbeddingBag(sparse=true) trains like its dense twin under SGD") {
  manual_seed(5);
  nn::EmbeddingBag sparse_bag(10, 3, "sum", /*sparse=*/true);
  nn::EmbeddingBag dense_bag(10, 3, "sum", /*sparse=*/false);
  dense_bag.load_state_dict(sparse_bag.state_dict());
  optim::SGD s({sparse_bag.weight}, {.lr = 0.1});
  optim::SGD d({dense_bag.weight}, {.lr = 0.1});
  const Tensor ids = tensor(std::vector<int64_t>{1, 4, 4, 7, 2});
  const Tensor offsets = tensor(std::vector<int64_t>{0, 2});
  const Tensor target = tensor(std::vector<float>{1, -1, 0.5f, 0, 2, -2}).reshape({2, 3});
  for (int step = 0; step < 3; ++step) {
    s.zero_grad();
    d.zero_grad();
    Tensor es = sparse_bag(ids, offsets) - target;
    Tensor ed = dense_bag(ids, offsets) - target;
    (es * es).sum().backward();
    (ed * ed).sum().backward();
    CHECK_FALSE(sparse_bag.weight.grad().defined());
    s.step();
    d.step();
    const auto vs = values(sparse_bag.weight), vd = values(dense_bag.weight);
    for (size_t i = 0; i < vs.size(); ++i) CHECK(vs[i] == doctest::Approx(vd[i]).epsilon(1e-6));
  }
  // Lazy Adam: rows no bag used keep their values and zero moments.
  const auto before = values(sparse_bag.weight);
  optim::Adam adam({sparse_bag.weight}, {.lr = 0.1});
  adam.zero_grad();
  Tensor e = sparse_bag(ids, offsets) - target;
  (e * e).sum().backward();
  adam.step();
  const auto after = values(sparse_bag.weight);
  for (int64_t row : {0, 3, 5, 6, 8, 9})
    for (int64_t c = 0; c < 3; ++c) CHECK(after[static_cast<size_t>(row * 3 + c)] == before[static_cast<size_t>(row * 3 + c)]);
  CHECK(after[3] != before[3]);  // row 1 was used
}
