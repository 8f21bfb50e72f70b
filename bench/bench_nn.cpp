// nn and optim benchmarks (issue: nn, optim, data and serialization):
//   - Linear+ReLU+Linear forward and backward, batch 32/256, width 64/512;
//   - EmbeddingBag (vocabulary 2^18, dim 64, 32 bags of 100 ids) forward and backward, with
//     dense and row-sparse gradients;
//   - an Adam step over 1M parameters;
//   - dropout forward: the fused kernel against the composed formula it replaced;
//   - the spam-style step: EmbeddingBag + sparse Adam, against the same step with a dense
//     gradient and a dense Adam over the whole table (target: >= 10x faster);
//   - layer_norm forward + backward (x, weight and bias gradients), the fused op against the
//     composed-ops formula it replaced, [4096 x 256] and [512 x 1024] float32, 1 and 2
//     threads; the fused rows report speedup_vs_composed (the composed row runs first).
// When Debian's libtorch-dev is installed, the same workloads run on libtorch in this binary
// (EMBER_BENCH_LIBTORCH), for a side-by-side ratio.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <tuple>

#include <ember.h>

#ifdef EMBER_BENCH_LIBTORCH
#include <torch/torch.h>
#endif

namespace {

namespace nn = ember::nn;

struct Mlp : nn::Module {
  std::shared_ptr<nn::Linear> fc1, fc2;
  explicit Mlp(int64_t width) {
    fc1 = register_module("fc1", std::make_shared<nn::Linear>(width, width));
    fc2 = register_module("fc2", std::make_shared<nn::Linear>(width, width));
  }
  ember::Tensor forward(const ember::Tensor& x) { return (*fc2)((*fc1)(x).relu()); }
};

void BM_mlp_forward_backward(benchmark::State& state) {
  ember::set_num_threads(static_cast<int>(state.range(2)));
  const int64_t batch = state.range(0), width = state.range(1);
  ember::manual_seed(0);
  Mlp model(width);
  ember::Tensor x = ember::randn({batch, width});
  for (auto _ : state) {
    model.zero_grad();
    ember::Tensor loss = model.forward(x).sum();
    loss.backward();
    benchmark::DoNotOptimize(model.fc1->weight.grad().impl());
  }
  if (!model.fc1->weight.grad().defined()) std::abort();
  state.counters["GFLOP/s"] = benchmark::Counter(3.0 * 2 * 2 * batch * width * width * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

constexpr int64_t kVocab = 1 << 18, kDim = 64, kBags = 32, kPerBag = 100;

ember::Tensor bag_ids() {
  return ember::randint(0, kVocab, {kBags * kPerBag});
}
ember::Tensor bag_offsets() { return ember::arange(0, kBags * kPerBag, kPerBag); }

void BM_embedding_bag(benchmark::State& state) {
  ember::set_num_threads(1);
  const bool sparse = state.range(0) != 0;
  ember::manual_seed(0);
  nn::EmbeddingBag bag(kVocab, kDim, "mean", sparse);
  ember::Tensor ids = bag_ids(), offsets = bag_offsets();
  for (auto _ : state) {
    ember::Tensor out = bag(ids, offsets);
    out.sum().backward();
    benchmark::DoNotOptimize(out.impl());
    state.PauseTiming();
    bag.zero_grad();
    state.ResumeTiming();
  }
  state.SetLabel(sparse ? "row-sparse grad" : "dense grad");
}

void BM_adam_step_1M(benchmark::State& state) {
  ember::set_num_threads(static_cast<int>(state.range(0)));
  ember::Tensor p = ember::randn({1000, 1000}, ember::requires_grad());
  p.mutable_grad() = ember::randn({1000, 1000});
  ember::optim::Adam opt({p}, {.lr = 1e-3});
  for (auto _ : state) opt.step();
  state.counters["params/s"] = benchmark::Counter(1e6, benchmark::Counter::kIsIterationInvariantRate);
}

// One training step of the spam model's embedding: forward, backward, optimizer step.
void BM_embedding_bag_adam_step(benchmark::State& state) {
  ember::set_num_threads(1);
  const bool sparse = state.range(0) != 0;
  ember::manual_seed(0);
  nn::EmbeddingBag bag(kVocab, kDim, "mean", sparse);
  ember::optim::Adam opt(bag.parameters(), {.lr = 1e-3});
  ember::Tensor ids = bag_ids(), offsets = bag_offsets();
  for (auto _ : state) {
    opt.zero_grad();
    bag(ids, offsets).sum().backward();
    opt.step();
  }
  state.SetLabel(sparse ? "sparse grad + lazy Adam" : "dense grad + dense Adam");
}

// ---- layer_norm: fused op vs the composed formula ----------------------------------------------

// Seconds per iteration of the composed baseline, by (rows, cols, threads).
std::map<std::tuple<int64_t, int64_t, int64_t>, double> g_layer_norm_composed;

ember::Tensor composed_layer_norm(const ember::Tensor& x, const ember::Tensor& w, const ember::Tensor& b) {
  ember::Tensor xc = x - x.mean({-1}, true);
  return xc * ((xc * xc).mean({-1}, true) + 1e-5).rsqrt() * w + b;
}

// One forward and the gradients of x, weight and bias (returned, not accumulated).
void layer_norm_step(benchmark::State& state, bool fused) {
  const int64_t rows = state.range(0), cols = state.range(1), threads = state.range(2);
  ember::set_num_threads(static_cast<int>(threads));
  ember::manual_seed(0);
  ember::Tensor x = ember::randn({rows, cols}, ember::requires_grad());
  ember::Tensor w = (ember::rand({cols}) + 0.5).requires_grad_(), b = ember::randn({cols}).requires_grad_();
  ember::Tensor up = ember::randn({rows, cols});
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    ember::Tensor y = fused ? nn::functional::layer_norm(x, {cols}, w, b) : composed_layer_norm(x, w, b);
    auto grads = ember::autograd::grad({y}, {x, w, b}, {up});
    benchmark::DoNotOptimize(grads[0].impl());
  }
  const double per_iter = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() /
                          static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
  // The least the fused pair must move: x read and y written forward; dy and x read and dx
  // written backward.
  state.counters["GB/s"] = benchmark::Counter(5.0 * static_cast<double>(rows * cols) * sizeof(float) * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
  const auto key = std::make_tuple(rows, cols, threads);
  if (!fused) {
    g_layer_norm_composed[key] = per_iter;
  } else if (g_layer_norm_composed.count(key)) {
    state.counters["speedup_vs_composed"] = g_layer_norm_composed[key] / per_iter;
  }
}

void BM_layer_norm_composed(benchmark::State& state) { layer_norm_step(state, false); }
void BM_layer_norm_fused(benchmark::State& state) { layer_norm_step(state, true); }

// ---- dropout: fused op vs the composed formula -------------------------------------------------

// Dropout forward, training, p = 0.1, float32, 1 thread: the fused kernel (one pass, mask
// drawn on the fly) against the composed formula it replaced (rand, compare, cast, scale,
// multiply: four kernels, three temporaries), which gives the same masks for a seed.
void BM_dropout_fused(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::manual_seed(0);
  ember::Tensor x = ember::randn({state.range(0)});
  for (auto _ : state) benchmark::DoNotOptimize(nn::functional::dropout(x, 0.1, true).impl());
  state.counters["elems/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_dropout_composed(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::manual_seed(0);
  ember::Tensor x = ember::randn({state.range(0)});
  const double p = 0.1;
  for (auto _ : state) {
    ember::Tensor keep = (ember::rand(x.sizes()) >= p).to(x.dtype()) * (1.0 / (1.0 - p));
    benchmark::DoNotOptimize((x * keep).impl());
  }
  state.counters["elems/s"] = benchmark::Counter(static_cast<double>(state.range(0)),
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

#ifdef EMBER_BENCH_LIBTORCH
void BM_libtorch_mlp_forward_backward(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(2)));
  const int64_t batch = state.range(0), width = state.range(1);
  torch::manual_seed(0);
  torch::nn::Sequential model(torch::nn::Linear(width, width), torch::nn::ReLU(), torch::nn::Linear(width, width));
  torch::Tensor x = torch::randn({batch, width});
  for (auto _ : state) {
    model->zero_grad(/*set_to_none=*/true);
    model->forward(x).sum().backward();
    benchmark::DoNotOptimize(model->parameters()[0].grad().data_ptr());
  }
  state.counters["GFLOP/s"] = benchmark::Counter(3.0 * 2 * 2 * batch * width * width * 1e-9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
}

void BM_libtorch_embedding_bag_adam_step(benchmark::State& state) {
  torch::set_num_threads(1);
  const bool sparse = state.range(0) != 0;
  torch::manual_seed(0);
  torch::nn::EmbeddingBag bag(torch::nn::EmbeddingBagOptions(kVocab, kDim).mode(torch::kMean).sparse(sparse));
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (sparse) opt = std::make_unique<torch::optim::SGD>(bag->parameters(), torch::optim::SGDOptions(1e-3));
  else opt = std::make_unique<torch::optim::Adam>(bag->parameters(), torch::optim::AdamOptions(1e-3));
  torch::Tensor ids = torch::randint(0, kVocab, {kBags * kPerBag});
  torch::Tensor offsets = torch::arange(0, kBags * kPerBag, kPerBag);
  for (auto _ : state) {
    opt->zero_grad();
    bag->forward(ids, offsets).sum().backward();
    opt->step();
  }
  // libtorch's C++ frontend has no SparseAdam: the sparse row uses SGD, the dense row Adam.
  state.SetLabel(sparse ? "sparse grad + SGD (no SparseAdam in C++)" : "dense grad + dense Adam");
}

void BM_libtorch_adam_step_1M(benchmark::State& state) {
  torch::set_num_threads(static_cast<int>(state.range(0)));
  torch::Tensor p = torch::randn({1000, 1000}, torch::requires_grad());
  p.mutable_grad() = torch::randn({1000, 1000});
  torch::optim::Adam opt({p}, torch::optim::AdamOptions(1e-3));
  for (auto _ : state) opt.step();
  state.counters["params/s"] = benchmark::Counter(1e6, benchmark::Counter::kIsIterationInvariantRate);
}
#endif

}  // namespace

BENCHMARK(BM_mlp_forward_backward)
    ->ArgsProduct({{32, 256}, {64, 512}, {1, 2}})
    ->ArgNames({"batch", "width", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_embedding_bag)->Arg(0)->Arg(1)->ArgName("sparse")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_adam_step_1M)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_embedding_bag_adam_step)->Arg(0)->Arg(1)->ArgName("sparse")->Unit(benchmark::kMicrosecond);
// Baseline first: the fused rows read its time for their speedup counter.
void layer_norm_sizes(benchmark::internal::Benchmark* b) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{4096, 256}, {512, 1024}})
    for (int64_t threads : {1, 2}) b->Args({rows, cols, threads});
  b->ArgNames({"rows", "cols", "threads"})->UseRealTime()->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_layer_norm_composed)->Apply(layer_norm_sizes);
BENCHMARK(BM_layer_norm_fused)->Apply(layer_norm_sizes);
BENCHMARK(BM_dropout_fused)->Arg(1 << 12)->Arg(1 << 16)->Arg(1 << 20)->ArgName("n")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_dropout_composed)->Arg(1 << 12)->Arg(1 << 16)->Arg(1 << 20)->ArgName("n")->Unit(benchmark::kMicrosecond);
#ifdef EMBER_BENCH_LIBTORCH
BENCHMARK(BM_libtorch_mlp_forward_backward)
    ->ArgsProduct({{32, 256}, {64, 512}, {1, 2}})
    ->ArgNames({"batch", "width", "threads"})
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_libtorch_adam_step_1M)->Arg(1)->Arg(2)->ArgName("threads")->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_libtorch_embedding_bag_adam_step)->Arg(0)->Arg(1)->ArgName("sparse")->Unit(benchmark::kMicrosecond);
#endif
BENCHMARK_MAIN();
