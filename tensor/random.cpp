// The seeded generator. Numbers are a pure function of (seed, position in the stream), so a
// tensor's values do not depend on how many threads fill it.
#include <atomic>
#include <cmath>
#include <numeric>

#include "autograd/function.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/internal.h"

namespace ember {
namespace {
std::atomic<uint64_t> g_seed{67280421310721ull};
std::atomic<uint64_t> g_offset{0};

uint64_t reserve(uint64_t n) { return g_offset.fetch_add(n); }

// Numbers for a CUDA tensor are drawn on the GPU with the CPU's formula (kernels/cuda/random.cu):
// the same seed gives the same uniform numbers on either device (dropout masks included), and
// normal ones equal to rounding, so runs stay comparable across devices.
Tensor random_tensor(const Shape& sizes, const TensorOptions& o, bool normal, const char* op) {
  EMBER_CHECK(is_floating_point(o.dtype()), op, "\"", op, "\" not implemented for '", dtype_name(o.dtype()), "'");
  Tensor t = empty(sizes, o.requires_grad(false));
  uint64_t n = static_cast<uint64_t>(t.numel());
  kernels::random(t, normal, g_seed.load(), reserve(normal ? 2 * n : n));
  if (o.requires_grad()) t.requires_grad_(true);
  return t;
}
}  // namespace

internal::RandomDraw internal::reserve_random(uint64_t n) { return {g_seed.load(), reserve(n)}; }

void manual_seed(uint64_t seed) {
  g_seed = seed;
  g_offset = 0;
}

Tensor rand(const Shape& sizes, const TensorOptions& o) { return random_tensor(sizes, o, false, "rand"); }
Tensor randn(const Shape& sizes, const TensorOptions& o) { return random_tensor(sizes, o, true, "randn"); }

Tensor randint(int64_t low, int64_t high, const Shape& sizes, const TensorOptions& o) {
  EMBER_CHECK(low < high, "randint", "random_ expects 'from' to be less than 'to', but got from=", low, " >= to=", high);
  Tensor u = internal::new_tensor(sizes, kFloat64, Device(kCPU));
  kernels::cpu::random(u, false, g_seed.load(), reserve(static_cast<uint64_t>(u.numel())));
  Tensor out = internal::new_tensor(sizes, kInt64, Device(kCPU));
  const double* pu = u.impl()->data_as<double>();
  int64_t* po = out.impl()->data_as<int64_t>();
  double span = static_cast<double>(high - low);
  for (int64_t i = 0; i < out.numel(); ++i)
    po[i] = std::min(high - 1, low + static_cast<int64_t>(std::floor(pu[i] * span)));
  // Drawn on the host; to() is free there. Options with only a device keep int64, as PyTorch's.
  return internal::cast(out, o.has_dtype() ? o.dtype() : kInt64).to(o.device());
}

Tensor randperm(int64_t n, const TensorOptions& o) {
  EMBER_CHECK(n >= 0, "randperm", "n must be non-negative, got ", n);
  Tensor u = internal::new_tensor(Shape{n}, kFloat64, Device(kCPU));
  kernels::cpu::random(u, false, g_seed.load(), reserve(static_cast<uint64_t>(n)));
  std::vector<int64_t> perm(static_cast<size_t>(n));
  std::iota(perm.begin(), perm.end(), 0);
  const double* pu = u.impl()->data_as<double>();
  for (int64_t i = n - 1; i > 0; --i) {  // Fisher-Yates with the generator's numbers
    int64_t j = std::min(i, static_cast<int64_t>(pu[i] * static_cast<double>(i + 1)));
    std::swap(perm[static_cast<size_t>(i)], perm[static_cast<size_t>(j)]);
  }
  return internal::cast(tensor(perm), o.has_dtype() ? o.dtype() : kInt64).to(o.device());
}

}  // namespace ember
