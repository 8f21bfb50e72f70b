// Autograd overhead on 1-element tensors, where bookkeeping is all there is:
//   - forward with recording, per op (targets: <= 300 ns);
//   - backward per node, for a long chain and for a wide graph (target: <= 300 ns);
//   - the same forward without recording, for the difference.
// Counters report time per op or per node. When Debian's libtorch-dev is installed, the same
// three measurements run on libtorch in this binary (EMBER_BENCH_LIBTORCH).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <ember.h>

#ifdef EMBER_BENCH_LIBTORCH
#include <torch/torch.h>
#endif

namespace {

constexpr int kOps = 1000;

void per_item(benchmark::State& state, const char* name, double items) {
  state.counters[name] = benchmark::Counter(items, benchmark::Counter::kIsIterationInvariantRate |
                                                       benchmark::Counter::kInvert);
}

void BM_forward_record(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::Tensor x = ember::ones({1}, ember::requires_grad());
  ember::Tensor w = ember::ones({1});
  for (auto _ : state) {
    ember::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    benchmark::DoNotOptimize(y.impl());
    state.PauseTiming();
    y = ember::Tensor();  // freeing the graph is not part of the forward cost
    state.ResumeTiming();
  }
  per_item(state, "time/op", kOps);
}

void BM_forward_no_grad(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::Tensor x = ember::ones({1}, ember::requires_grad());
  ember::Tensor w = ember::ones({1});
  ember::NoGradGuard no_grad;
  for (auto _ : state) {
    ember::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    benchmark::DoNotOptimize(y.impl());
  }
  per_item(state, "time/op", kOps);
}

void BM_backward_chain(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::Tensor x = ember::ones({1}, ember::requires_grad());
  ember::Tensor w = ember::ones({1});
  for (auto _ : state) {
    state.PauseTiming();
    ember::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    state.ResumeTiming();
    y.backward();
    state.PauseTiming();
    y = ember::Tensor();
    x.mutable_grad() = ember::Tensor();
    state.ResumeTiming();
  }
  if (x.grad().defined()) std::abort();
  per_item(state, "time/node", kOps + 1);
}

void BM_backward_wide(benchmark::State& state) {
  ember::set_num_threads(1);
  std::vector<ember::Tensor> leaves;
  for (int i = 0; i < kOps; ++i) leaves.push_back(ember::ones({1}, ember::requires_grad()));
  for (auto _ : state) {
    state.PauseTiming();
    ember::Tensor y = leaves[0] * 1;
    for (int i = 1; i < kOps; ++i) y = y + leaves[static_cast<size_t>(i)] * 2;  // kOps mul + (kOps-1) add nodes
    state.ResumeTiming();
    y.backward();
    state.PauseTiming();
    if (leaves[5].grad().item<float>() != 2.0f) std::abort();
    y = ember::Tensor();
    for (auto& l : leaves) l.mutable_grad() = ember::Tensor();
    state.ResumeTiming();
  }
  per_item(state, "time/node", 3.0 * kOps - 1);  // mul + add + AccumulateGrad nodes
}

#ifdef EMBER_BENCH_LIBTORCH
void BM_libtorch_forward_record(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::Tensor x = torch::ones({1}, torch::requires_grad());
  torch::Tensor w = torch::ones({1});
  for (auto _ : state) {
    torch::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    benchmark::DoNotOptimize(y.data_ptr());
    state.PauseTiming();
    y = torch::Tensor();
    state.ResumeTiming();
  }
  per_item(state, "time/op", kOps);
}

void BM_libtorch_forward_no_grad(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::Tensor x = torch::ones({1}, torch::requires_grad());
  torch::Tensor w = torch::ones({1});
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    benchmark::DoNotOptimize(y.data_ptr());
  }
  per_item(state, "time/op", kOps);
}

void BM_libtorch_backward_chain(benchmark::State& state) {
  torch::set_num_threads(1);
  torch::Tensor x = torch::ones({1}, torch::requires_grad());
  torch::Tensor w = torch::ones({1});
  for (auto _ : state) {
    state.PauseTiming();
    torch::Tensor y = x;
    for (int i = 0; i < kOps; ++i) y = y * w;
    state.ResumeTiming();
    y.backward();
    state.PauseTiming();
    y = torch::Tensor();
    x.mutable_grad() = torch::Tensor();
    state.ResumeTiming();
  }
  per_item(state, "time/node", kOps + 1);
}

void BM_libtorch_backward_wide(benchmark::State& state) {
  torch::set_num_threads(1);
  std::vector<torch::Tensor> leaves;
  for (int i = 0; i < kOps; ++i) leaves.push_back(torch::ones({1}, torch::requires_grad()));
  for (auto _ : state) {
    state.PauseTiming();
    torch::Tensor y = leaves[0] * 1;
    for (int i = 1; i < kOps; ++i) y = y + leaves[static_cast<size_t>(i)] * 2;
    state.ResumeTiming();
    y.backward();
    state.PauseTiming();
    y = torch::Tensor();
    for (auto& l : leaves) l.mutable_grad() = torch::Tensor();
    state.ResumeTiming();
  }
  per_item(state, "time/node", 3.0 * kOps - 1);
}
#endif

}  // namespace

BENCHMARK(BM_forward_record);
BENCHMARK(BM_forward_no_grad);
BENCHMARK(BM_backward_chain);
BENCHMARK(BM_backward_wide);
#ifdef EMBER_BENCH_LIBTORCH
BENCHMARK(BM_libtorch_forward_record);
BENCHMARK(BM_libtorch_forward_no_grad);
BENCHMARK(BM_libtorch_backward_chain);
BENCHMARK(BM_libtorch_backward_wide);
#endif
BENCHMARK_MAIN();
