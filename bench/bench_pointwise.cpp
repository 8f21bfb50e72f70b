// Bandwidth-bound kernels and per-op overhead, each beside its baseline in the same run:
//   - contiguous add of 16M floats vs a plain OpenMP loop;
//   - add with a transposed operand vs a plain loop doing the same strided reads;
//   - sum over rows and over columns of a 4096 x 4096 matrix vs plain loops;
//   - one add on 1-element tensors (no autograd), the fixed cost of an op.
// Each kernel's result is checked against its baseline before timing.
#include <benchmark/benchmark.h>
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include <ember.h>

namespace {

void require(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "benchmark validation failed: %s\n", what);
    std::abort();
  }
}

bool same(const ember::Tensor& t, const std::vector<float>& ref, float tol) {
  ember::Tensor c = t.contiguous();
  const float* p = c.data_ptr<float>();
  for (size_t i = 0; i < ref.size(); i += 997)
    if (std::fabs(p[i] - ref[i]) > tol * (1 + std::fabs(ref[i]))) return false;
  return true;
}

constexpr int64_t kBig = 1 << 24;  // 16M floats, 64 MiB per tensor

void set_threads(benchmark::State& state) { ember::set_num_threads(static_cast<int>(state.range(0))); }

void bytes_counter(benchmark::State& state, double bytes_per_iter) {
  state.counters["GB/s"] =
      benchmark::Counter(bytes_per_iter * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_add_contiguous_ember(benchmark::State& state) {
  set_threads(state);
  ember::Tensor a = ember::rand({kBig}), b = ember::rand({kBig});
  ember::Tensor out = a + b;
  std::vector<float> ref(kBig);
  for (int64_t i = 0; i < kBig; ++i) ref[i] = a.data_ptr<float>()[i] + b.data_ptr<float>()[i];
  require(same(out, ref, 0), "contiguous add");
  for (auto _ : state) {
    ember::Tensor c = a + b;
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  bytes_counter(state, 3.0 * kBig * sizeof(float));
}

void BM_add_contiguous_loop(benchmark::State& state) {
  int threads = static_cast<int>(state.range(0));
  std::vector<float> a(kBig, 1.0f), b(kBig, 2.0f);
  for (auto _ : state) {
    // Like ember's op, the loop writes a freshly allocated output each time.
    float* c = static_cast<float*>(std::aligned_alloc(64, kBig * sizeof(float)));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < kBig; ++i) c[i] = a[i] + b[i];
    benchmark::DoNotOptimize(c);
    std::free(c);
  }
  bytes_counter(state, 3.0 * kBig * sizeof(float));
}

constexpr int64_t kSide = 4096;

void BM_add_transposed_ember(benchmark::State& state) {
  set_threads(state);
  ember::Tensor a = ember::rand({kSide, kSide}), b = ember::rand({kSide, kSide});
  ember::Tensor out = a + b.t();
  std::vector<float> ref(kSide * kSide);
  const float* pa = a.data_ptr<float>();
  const float* pb = b.data_ptr<float>();
  for (int64_t i = 0; i < kSide; ++i)
    for (int64_t j = 0; j < kSide; ++j) ref[i * kSide + j] = pa[i * kSide + j] + pb[j * kSide + i];
  require(same(out, ref, 0), "transposed add");
  for (auto _ : state) {
    ember::Tensor c = a + b.t();
    benchmark::DoNotOptimize(c.data_ptr<float>());
  }
  bytes_counter(state, 3.0 * kSide * kSide * sizeof(float));
}

void BM_add_transposed_loop(benchmark::State& state) {
  int threads = static_cast<int>(state.range(0));
  std::vector<float> a(kSide * kSide, 1.0f), b(kSide * kSide, 2.0f);
  for (auto _ : state) {
    float* c = static_cast<float*>(std::aligned_alloc(64, kSide * kSide * sizeof(float)));
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < kSide; ++i)
      for (int64_t j = 0; j < kSide; ++j) c[i * kSide + j] = a[i * kSide + j] + b[j * kSide + i];
    benchmark::DoNotOptimize(c);
    std::free(c);
  }
  bytes_counter(state, 3.0 * kSide * kSide * sizeof(float));
}

void BM_sum_rows_ember(benchmark::State& state) {  // one sum per row (reduce dim 1)
  set_threads(state);
  ember::Tensor a = ember::rand({kSide, kSide});
  ember::Tensor s = a.sum({1});
  const float* pa = a.data_ptr<float>();
  double r0 = 0;
  for (int64_t j = 0; j < kSide; ++j) r0 += pa[j];
  require(std::fabs(s[0].item<double>() - r0) < 1e-2, "row sum");
  for (auto _ : state) benchmark::DoNotOptimize(a.sum({1}).data_ptr<float>());
  bytes_counter(state, 1.0 * kSide * kSide * sizeof(float));
}

void BM_sum_rows_loop(benchmark::State& state) {
  int threads = static_cast<int>(state.range(0));
  std::vector<float> a(kSide * kSide, 1.0f), out(kSide);
  for (auto _ : state) {
#pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t i = 0; i < kSide; ++i) {
      double acc = 0;
#pragma omp simd reduction(+ : acc)
      for (int64_t j = 0; j < kSide; ++j) acc += a[i * kSide + j];
      out[i] = static_cast<float>(acc);
    }
    benchmark::DoNotOptimize(out.data());
  }
  bytes_counter(state, 1.0 * kSide * kSide * sizeof(float));
}

void BM_sum_cols_ember(benchmark::State& state) {  // one sum per column (reduce dim 0)
  set_threads(state);
  ember::Tensor a = ember::rand({kSide, kSide});
  ember::Tensor s = a.sum({0});
  const float* pa = a.data_ptr<float>();
  double c0 = 0;
  for (int64_t i = 0; i < kSide; ++i) c0 += pa[i * kSide];
  require(std::fabs(s[0].item<double>() - c0) < 1e-2, "column sum");
  for (auto _ : state) benchmark::DoNotOptimize(a.sum({0}).data_ptr<float>());
  bytes_counter(state, 1.0 * kSide * kSide * sizeof(float));
}

void BM_sum_cols_loop(benchmark::State& state) {
  int threads = static_cast<int>(state.range(0));
  std::vector<float> a(kSide * kSide, 1.0f), out(kSide);
  for (auto _ : state) {
#pragma omp parallel num_threads(threads)
    {
      int t = omp_get_thread_num(), nt = omp_get_num_threads();
      int64_t b = kSide * t / nt, e = kSide * (t + 1) / nt;
      std::vector<double> acc(static_cast<size_t>(e - b), 0.0);
      for (int64_t i = 0; i < kSide; ++i)
        for (int64_t j = b; j < e; ++j) acc[static_cast<size_t>(j - b)] += a[i * kSide + j];
      for (int64_t j = b; j < e; ++j) out[j] = static_cast<float>(acc[static_cast<size_t>(j - b)]);
    }
    benchmark::DoNotOptimize(out.data());
  }
  bytes_counter(state, 1.0 * kSide * kSide * sizeof(float));
}

void BM_tiny_add_ember(benchmark::State& state) {
  ember::set_num_threads(1);
  ember::Tensor a = ember::ones({1}), b = ember::ones({1});
  require((a + b).item<float>() == 2.0f, "tiny add");
  for (auto _ : state) {
    ember::Tensor c = a + b;
    benchmark::DoNotOptimize(c.impl());
  }
}

void BM_tiny_add_loop(benchmark::State& state) {  // the arithmetic alone, with an allocation
  float a = 1, b = 1;
  for (auto _ : state) {
    float* c = new float(a + b);
    benchmark::DoNotOptimize(c);
    delete c;
  }
}

}  // namespace

BENCHMARK(BM_add_contiguous_ember)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_add_contiguous_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_add_transposed_ember)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_add_transposed_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sum_rows_ember)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sum_rows_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sum_cols_ember)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_sum_cols_loop)->Arg(1)->Arg(2)->UseRealTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_tiny_add_ember);
BENCHMARK(BM_tiny_add_loop);
BENCHMARK_MAIN();
