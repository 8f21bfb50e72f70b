#pragma once
// map<Tout, Tin...>(f, out, in...) on the GPU: out[i] = f(in[i]...) over views of out's shape,
// the CUDA twin of kernels/cpu/map.h. f is a functor with a __device__ operator().
//
// Two kernels:
// - contiguous: every operand contiguous with out's numel. Each thread loads kVec elements of
//   every operand at once (one 128-bit load for float; two for double and int64) when all
//   pointers are aligned to that width, else one at a time; a grid-stride loop gives each
//   thread many elements (performance.md: "grid-stride loops, 128-bit loads").
// - strided: any strides (0 on broadcast dims). The host collapses dims as the CPU loop does
//   (make_loop in kernels/cpu/loop.h) and passes the sizes and strides by value in a small
//   struct; each thread turns its linear index into one offset per operand. 32-bit index
//   math when every index and offset fits, because 64-bit division is several times slower.
#include <cuda/std/tuple>
#include <cuda/std/utility>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loop.h"
#include "kernels/cuda/check.h"
#include "tensor/tensor.h"

namespace ember::kernels::cuda {

inline constexpr int kThreads = 256;
inline constexpr int kVec = 4;
/// Most dims a strided operand may keep after collapsing (more is an error).
inline constexpr int kMaxDims = 10;

/// dispatch() (kernels/cpu/dispatch.h) calls f.template operator()<T>(); nvcc compiles this
/// code as C++17, which has no template lambdas, so the .cu files pass a generic lambda
/// taking a value of the type, f(T{}), through this adaptor.
template <class F>
struct TypeTag {
  F& f;
  template <class T> decltype(auto) operator()() { return f(T{}); }
};
template <DtypeSet set = DtypeSet::All, class F>
decltype(auto) dispatch_tag(ScalarType t, const char* op, F&& f) {
  return dispatch<set>(t, op, TypeTag<F>{f});
}

/// The collapsed geometry of NT operands (out first), innermost dim first, so that the
/// unrolled loop below indexes the arrays with constants (dynamic indexing would move the
/// struct from parameter memory to local memory).
template <int NT>
struct StridedLoop {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[NT][kMaxDims] = {};
};

/// Operand pointers, type-erased: the functor's argument types say how to read them.
template <int N>
struct Inputs {
  const void* p[N > 0 ? N : 1];
};

/// kVec elements in one aligned load or store.
template <class T, int N>
struct alignas(sizeof(T) * N) Vec {
  T v[N];
};

namespace detail {

template <int NT, class Index>
__device__ __forceinline__ void offsets_of(const StridedLoop<NT>& L, Index i, Index (&off)[NT]) {
#pragma unroll
  for (int t = 0; t < NT; ++t) off[t] = 0;
#pragma unroll
  for (int d = 0; d < kMaxDims; ++d) {
    if (d == L.ndim) break;
    const Index size = static_cast<Index>(L.sizes[d]);
    const Index idx = i % size;
    i /= size;
#pragma unroll
    for (int t = 0; t < NT; ++t) off[t] += idx * static_cast<Index>(L.strides[t][d]);
  }
}

template <class Tout, class... Tin>
struct Apply {
  static constexpr int N = sizeof...(Tin);

  template <class F, class Index, size_t... I>
  static __device__ __forceinline__ Tout at(const F& f, const Inputs<N>& in, const Index* off,
                                            ::cuda::std::index_sequence<I...>) {
    return static_cast<Tout>(f(static_cast<const Tin*>(in.p[I])[off[I + 1]]...));
  }

  template <int V, class F, size_t... I>
  static __device__ __forceinline__ void vec(const F& f, Tout* out, const Inputs<N>& in, int64_t base,
                                             ::cuda::std::index_sequence<I...>) {
    ::cuda::std::tuple<Vec<Tin, V>...> x{*reinterpret_cast<const Vec<Tin, V>*>(static_cast<const Tin*>(in.p[I]) + base)...};
    Vec<Tout, V> r;
#pragma unroll
    for (int j = 0; j < V; ++j) r.v[j] = static_cast<Tout>(f(::cuda::std::get<I>(x).v[j]...));
    *reinterpret_cast<Vec<Tout, V>*>(out + base) = r;
  }
};

template <class F, int V, class Tout, class... Tin>
__global__ void __launch_bounds__(kThreads)
    contiguous_kernel(F f, Tout* out, Inputs<sizeof...(Tin)> in, int64_t n) {
  using A = Apply<Tout, Tin...>;
  constexpr auto seq = ::cuda::std::index_sequence_for<Tin...>{};
  const int64_t tid = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t nvec = n / V;
  for (int64_t v = tid; v < nvec; v += stride) A::template vec<V>(f, out, in, v * V, seq);
  // The last n % V elements (fewer than the threads in the grid), one per thread.
  const int64_t i = nvec * V + tid;
  if (i < n) {
    int64_t off[1 + sizeof...(Tin)];
#pragma unroll
    for (int t = 0; t <= static_cast<int>(sizeof...(Tin)); ++t) off[t] = i;
    out[i] = A::at(f, in, off, seq);
  }
}

template <class F, class Index, class Tout, class... Tin>
__global__ void __launch_bounds__(kThreads)
    strided_kernel(F f, Tout* out, Inputs<sizeof...(Tin)> in, StridedLoop<1 + sizeof...(Tin)> loop, Index n) {
  using A = Apply<Tout, Tin...>;
  constexpr auto seq = ::cuda::std::index_sequence_for<Tin...>{};
  const Index stride = static_cast<Index>(gridDim.x) * static_cast<Index>(blockDim.x);
  for (Index i = static_cast<Index>(blockIdx.x) * static_cast<Index>(blockDim.x) + static_cast<Index>(threadIdx.x);
       i < n; i += stride) {
    Index off[1 + sizeof...(Tin)];
    offsets_of(loop, i, off);
    out[off[0]] = A::at(f, in, off, seq);
  }
}

/// Blocks for `work` items, one per thread, capped at 32 blocks per multiprocessor (four
/// waves at full occupancy): the grid-stride loops cover the rest.
inline int grid_size(int64_t work) {
  static const int64_t max_blocks = [] {
    int sms = 0;
    EMBER_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, 0));
    return static_cast<int64_t>(sms) * 32;
  }();
  const int64_t blocks = (work + kThreads - 1) / kThreads;
  return static_cast<int>(std::clamp<int64_t>(blocks, 1, max_blocks));
}

/// True when every address is a multiple of bytes.
inline bool aligned(const void* p, size_t bytes) { return reinterpret_cast<uintptr_t>(p) % bytes == 0; }

/// Largest offset (in elements) an operand reaches in the collapsed loop.
template <size_t NT>
int64_t max_offset(const cpu::Loop<NT>& L, size_t t) {
  int64_t m = 0;
  for (size_t d = 0; d < L.sizes.size(); ++d) m += (L.sizes[d] - 1) * L.strides[t][d];
  return m;
}

}  // namespace detail

/// out = f(in...) elementwise; `in` are views of out's shape (broadcast dims have stride 0),
/// all on the GPU. Tout and Tin must match the tensors' dtypes. Launches on the default
/// stream and returns without waiting.
template <class Tout, class... Tin, class F, class... Ts>
void map(const F& f, const Tensor& out, const Ts&... in) {
  static_assert(sizeof...(Tin) == sizeof...(Ts));
  constexpr int N = sizeof...(Tin);
  constexpr size_t NT = 1 + N;
  const int64_t n = out.numel();
  if (n == 0) return;
  Tout* o = static_cast<Tout*>(out.impl()->data());
  const Inputs<N> ptrs{{static_cast<const void*>(in.impl()->data())...}};

  bool flat = out.is_contiguous();
  ((flat = flat && in.is_contiguous() && in.numel() == n), ...);
  if (flat) {
    bool vec = detail::aligned(o, sizeof(Tout) * kVec);
    ((vec = vec && detail::aligned(in.impl()->data(), sizeof(Tin) * kVec)), ...);
    if (vec) {
      detail::contiguous_kernel<F, kVec, Tout, Tin...>
          <<<detail::grid_size((n + kVec - 1) / kVec), kThreads>>>(f, o, ptrs, n);
    } else {
      detail::contiguous_kernel<F, 1, Tout, Tin...><<<detail::grid_size(n), kThreads>>>(f, o, ptrs, n);
    }
    EMBER_CUDA_CHECK(cudaGetLastError());
    return;
  }

  const cpu::Loop<NT> L = cpu::make_loop<NT>(out.sizes(), {&out.strides(), &in.strides()...});
  const int nd = static_cast<int>(L.sizes.size());
  EMBER_CHECK(nd <= kMaxDims, "cuda", "elementwise ops on CUDA support at most ", kMaxDims,
              " dims after merging contiguous ones; got ", nd, " for shape ", shape_text(out.sizes()));
  StridedLoop<NT> geo;
  geo.ndim = nd;
  bool small = n <= (INT32_MAX >> 1);  // i + grid stride must not overflow either
  for (int d = 0; d < nd; ++d) {
    geo.sizes[d] = L.sizes[nd - 1 - d];
    for (size_t t = 0; t < NT; ++t) geo.strides[t][d] = L.strides[t][nd - 1 - d];
  }
  for (size_t t = 0; t < NT; ++t) small = small && detail::max_offset(L, t) <= INT32_MAX;
  if (small) {
    detail::strided_kernel<F, int32_t, Tout, Tin...>
        <<<detail::grid_size(n), kThreads>>>(f, o, ptrs, geo, static_cast<int32_t>(n));
  } else {
    detail::strided_kernel<F, int64_t, Tout, Tin...><<<detail::grid_size(n), kThreads>>>(f, o, ptrs, geo, n);
  }
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::kernels::cuda
