// float32 matrix products: ember::matmul next to Eigen (MatrixXf, noalias) and OpenBLAS
// (cblas_sgemm) called directly, on the same inputs, at 1 and 2 threads. Each ember result
// is checked against OpenBLAS before timing; a mismatch aborts the run.
//
//   build-matmul/bin/bench_matmul --benchmark_min_time=0.2
//
// Names are matmul/<n>x<k>x<m>/threads:<t>/<impl>; the GFLOP/s counter is 2nkm per product.
// ember allocates its output on every call (as torch.matmul does); the baselines write into
// a preallocated matrix, so small sizes show ember's per-call overhead too.
#include <benchmark/benchmark.h>
#include <cblas.h>

// GCC 12 flags the AVX-512 intrinsics inside Eigen's GEMM as maybe uninitialized (a false
// positive; see kernels/cpu/matmul.cpp).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <Eigen/Core>
#pragma GCC diagnostic pop
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ember.h>

namespace {

struct Shape3 {
  int64_t n, k, m;
};

struct Problem {
  ember::Tensor a, b;  // float32, contiguous
  Eigen::MatrixXf ea, eb, ec;
  std::vector<float> c;
};

Problem make_problem(const Shape3& s) {
  ember::manual_seed(1);
  Problem p;
  p.a = ember::randn({s.n, s.k});
  p.b = ember::randn({s.k, s.m});
  // Eigen gets its own column-major copies (its natural layout).
  p.ea = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      p.a.data_ptr<float>(), s.n, s.k);
  p.eb = Eigen::Map<const Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
      p.b.data_ptr<float>(), s.k, s.m);
  p.ec.resize(s.n, s.m);
  p.c.resize(static_cast<size_t>(s.n * s.m));
  return p;
}

void sgemm(const Problem& p, const Shape3& s, float* c) {
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(s.n), static_cast<int>(s.m),
              static_cast<int>(s.k), 1.0f, p.a.data_ptr<float>(), static_cast<int>(s.k), p.b.data_ptr<float>(),
              static_cast<int>(s.m), 0.0f, c, static_cast<int>(s.m));
}

// ember's result against OpenBLAS's, and Eigen's too (so all three compute the same product).
void validate(Problem& p, const Shape3& s) {
  sgemm(p, s, p.c.data());
  ember::Tensor got = ember::matmul(p.a, p.b).contiguous();
  p.ec.noalias() = p.ea * p.eb;
  const float* g = got.data_ptr<float>();
  double scale = 0, err = 0, err_eigen = 0;
  for (int64_t i = 0; i < s.n; ++i)
    for (int64_t j = 0; j < s.m; ++j) {
      const double want = p.c[static_cast<size_t>(i * s.m + j)];
      scale = std::max(scale, std::fabs(want));
      err = std::max(err, std::fabs(g[i * s.m + j] - want));
      err_eigen = std::max(err_eigen, std::fabs(p.ec(i, j) - want));
    }
  const double tol = 1e-5 * std::sqrt(static_cast<double>(s.k)) * std::max(scale, 1.0);
  if (!(err <= tol) || !(err_eigen <= tol) || got.sizes() != ember::Shape{s.n, s.m}) {
    std::fprintf(stderr, "bench_matmul: %ldx%ldx%ld: ember differs from OpenBLAS by %g, Eigen by %g (tol %g)\n",
                 static_cast<long>(s.n), static_cast<long>(s.k), static_cast<long>(s.m), err, err_eigen, tol);
    std::abort();
  }
}

enum class Impl { Ember, Eigen, OpenBLAS };

void run(benchmark::State& state, Shape3 s, int threads, Impl impl) {
  ember::set_num_threads(threads);  // also sets OpenMP's, OpenBLAS's and Eigen's counts
  Problem p = make_problem(s);
  validate(p, s);
  for (auto _ : state) {
    switch (impl) {
      case Impl::Ember: {
        ember::Tensor c = ember::matmul(p.a, p.b);
        benchmark::DoNotOptimize(c.data_ptr<float>());
        break;
      }
      case Impl::Eigen:
        p.ec.noalias() = p.ea * p.eb;
        benchmark::DoNotOptimize(p.ec.data());
        break;
      case Impl::OpenBLAS:
        sgemm(p, s, p.c.data());
        benchmark::DoNotOptimize(p.c.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  const double flops = 2.0 * static_cast<double>(s.n) * static_cast<double>(s.k) * static_cast<double>(s.m);
  state.counters["GFLOP/s"] =
      benchmark::Counter(flops * static_cast<double>(state.iterations()) * 1e-9, benchmark::Counter::kIsRate);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Shape3> shapes;
  for (int64_t n : {64, 128, 256, 512, 1024, 2048}) shapes.push_back({n, n, n});
  shapes.push_back({4096, 512, 64});  // tall-skinny: a batch of 4096 rows through a 512 -> 64 layer
  const std::pair<Impl, const char*> impls[] = {{Impl::Ember, "ember"}, {Impl::Eigen, "eigen"}, {Impl::OpenBLAS, "openblas"}};
  for (const Shape3& s : shapes)
    for (int threads : {1, 2})
      for (const auto& [impl, label] : impls) {
        std::string name = "matmul/" + std::to_string(s.n) + "x" + std::to_string(s.k) + "x" + std::to_string(s.m) +
                           "/threads:" + std::to_string(threads) + "/" + label;
        benchmark::RegisterBenchmark(name.c_str(), run, s, threads, impl)->UseRealTime()->Unit(benchmark::kMicrosecond);
      }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
