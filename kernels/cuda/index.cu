// Index kernels on the GPU: the CUDA twin of kernels/cpu/index.cpp (same contracts: index
// values already checked by the op layer, any strides, 0-d operands as shape [1]).
//
// One kernel serves all five ops. Each thread takes one position of the iteration shape,
// turns it into offsets of three operands, and reads the index value there:
//   A = the operand addressed through the index (x for gather, out for the scatters), with
//       stride 0 on the indexed dim in the table and its real stride `a_dim` kept apart;
//   I = the index; B = the operand addressed directly (out for gather, src for scatters).
//   gather: B[b] = A[a + index[i] * a_dim]   scatter: A[a + index[i] * a_dim] += B[b]
// The scatters add with atomics, so duplicate indices are safe (their sum order, and so the
// last bits of a float sum, may vary between runs). index_copy with duplicate indices stores
// one of the candidates, which one is unspecified, as in PyTorch on CUDA.
#include <climits>
#include <type_traits>
#include <cstdint>

#include "kernels/cuda/allocator.h"
#include "kernels/cuda/map.cuh"
#include "kernels/kernels.h"

namespace ember::kernels::cuda {
namespace {

enum class IndexMode { Gather, Add, Copy };

// Innermost dim first, as StridedLoop in map.cuh, so that the unrolled loop indexes with
// constants and the struct stays in parameter memory.
struct IndexGeo {
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t a[kMaxDims] = {}, i[kMaxDims] = {}, b[kMaxDims] = {};
  int64_t a_dim = 0;
};

template <class T>
__device__ __forceinline__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, bool>) {
    if (v) *p = true;  // logical or: every writer stores the same value, so no race matters
  } else if constexpr (std::is_same_v<T, int64_t>) {
    // Two's complement addition is the same bit operation signed or unsigned.
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {
    atomicAdd(p, v);
  }
}

template <class T, IndexMode M>
__global__ void __launch_bounds__(kThreads)
    index_kernel(IndexGeo g, T* A, const int64_t* I, T* B, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < n; l += stride) {
    int64_t rest = l, oa = 0, oi = 0, ob = 0;
#pragma unroll
    for (int d = 0; d < kMaxDims; ++d) {
      if (d == g.ndim) break;
      const int64_t c = rest % g.sizes[d];
      rest /= g.sizes[d];
      oa += c * g.a[d];
      oi += c * g.i[d];
      ob += c * g.b[d];
    }
    oa += I[oi] * g.a_dim;
    if constexpr (M == IndexMode::Gather) B[ob] = A[oa];
    else if constexpr (M == IndexMode::Add) atomic_add(A + oa, B[ob]);
    else A[oa] = B[ob];
  }
}

Shape nonempty(const Shape& s) { return s.empty() ? Shape{1} : s; }

// The geometry over `sizes` (already nonempty) with A's stride on dim moved to a_dim.
IndexGeo make_geo(const Shape& sizes, int64_t dim, Shape a, const Shape& i, const Shape& b, const char* op) {
  const int nd = static_cast<int>(sizes.size());
  EMBER_CHECK(nd <= kMaxDims, op, "index ops on CUDA support at most ", kMaxDims, " dims, got shape ",
              shape_text(sizes));
  IndexGeo g;
  g.ndim = nd;
  g.a_dim = a[dim];
  a[dim] = 0;
  for (int d = 0; d < nd; ++d) {
    g.sizes[d] = sizes[nd - 1 - d];
    g.a[d] = a[nd - 1 - d];
    g.i[d] = i[nd - 1 - d];
    g.b[d] = b[nd - 1 - d];
  }
  return g;
}

// Strides of a 1-D (or 0-d) index laid along `dim` of an ndim-d iteration: 0 elsewhere.
Shape broadcast_index_strides(const Tensor& index, size_t ndim, int64_t dim) {
  Shape s(ndim, 0);
  s[dim] = index.dim() == 0 ? 0 : index.stride(0);
  return s;
}

template <IndexMode M>
void launch(const IndexGeo& g, const Tensor& a, const Tensor& index, const Tensor& b, int64_t n, const char* op) {
  if (n == 0) return;
  dispatch_tag(a.dtype(), op, [&](auto tag) {
    using T = decltype(tag);
    index_kernel<T, M><<<detail::grid_size(n), kThreads>>>(g, static_cast<T*>(a.impl()->data()),
                                                           static_cast<const int64_t*>(index.impl()->data()),
                                                           static_cast<T*>(b.impl()->data()), n);
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

// index_add and index_copy: rows of source written (added, or stored) at index along dim.
template <IndexMode M>
void index_write(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source, const char* op) {
  Shape sizes = nonempty(source.sizes());
  IndexGeo g = make_geo(sizes, dim, nonempty(out.strides()), broadcast_index_strides(index, sizes.size(), dim),
                        nonempty(source.strides()), op);
  launch<M>(g, out, index, source, shape_numel(sizes), op);
}

// Per-block min and max of the index, folded into two device words with 64-bit atomics.
__global__ void __launch_bounds__(kThreads)
    min_max_kernel(IndexGeo g, const int64_t* I, int64_t n, long long* result) {
  long long lo = LLONG_MAX, hi = LLONG_MIN;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t l = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; l < n; l += stride) {
    int64_t rest = l, oi = 0;
#pragma unroll
    for (int d = 0; d < kMaxDims; ++d) {
      if (d == g.ndim) break;
      oi += (rest % g.sizes[d]) * g.i[d];
      rest /= g.sizes[d];
    }
    const long long v = I[oi];
    lo = v < lo ? v : lo;
    hi = v > hi ? v : hi;
  }
  for (int s = 16; s > 0; s >>= 1) {
    const long long olo = __shfl_down_sync(0xffffffffu, lo, s), ohi = __shfl_down_sync(0xffffffffu, hi, s);
    lo = olo < lo ? olo : lo;
    hi = ohi > hi ? ohi : hi;
  }
  if ((threadIdx.x & 31) == 0) {
    atomicMin(result, lo);
    atomicMax(result + 1, hi);
  }
}

}  // namespace

void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  Shape sizes = nonempty(out.sizes());
  IndexGeo g = make_geo(sizes, dim, nonempty(x.strides()), broadcast_index_strides(index, sizes.size(), dim),
                        nonempty(out.strides()), "index_select");
  launch<IndexMode::Gather>(g, x, index, out, shape_numel(sizes), "index_select");
}

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  Shape sizes = nonempty(index.sizes());
  IndexGeo g = make_geo(sizes, dim, nonempty(x.strides()), nonempty(index.strides()), nonempty(out.strides()), "gather");
  launch<IndexMode::Gather>(g, x, index, out, shape_numel(sizes), "gather");
}

void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  Shape sizes = nonempty(index.sizes());
  IndexGeo g = make_geo(sizes, dim, nonempty(out.strides()), nonempty(index.strides()), nonempty(src.strides()),
                        "scatter_add");
  launch<IndexMode::Add>(g, out, index, src, shape_numel(sizes), "scatter_add");
}

void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  index_write<IndexMode::Add>(out, dim, index, source, "index_add");
}

void index_copy(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  index_write<IndexMode::Copy>(out, dim, index, source, "index_copy");
}

// Two words come back instead of the whole index: the check costs one small copy however
// large the index is. The copy back waits for the kernel (and everything queued before it).
std::pair<int64_t, int64_t> index_min_max(const Tensor& index) {
  Shape sizes = nonempty(index.sizes());
  IndexGeo g = make_geo(sizes, 0, Shape(sizes.size(), 0), nonempty(index.strides()), Shape(sizes.size(), 0), "index");
  const int64_t n = shape_numel(sizes);
  ember::cuda::DeviceBuffer<long long> buf(2);
  long long host[2] = {LLONG_MAX, LLONG_MIN};
  EMBER_CUDA_CHECK(cudaMemcpy(buf.get(), host, sizeof(host), cudaMemcpyHostToDevice));
  min_max_kernel<<<detail::grid_size(n), kThreads>>>(g, static_cast<const int64_t*>(index.impl()->data()), n,
                                                      buf.get());
  EMBER_CUDA_CHECK(cudaGetLastError());
  EMBER_CUDA_CHECK(cudaMemcpy(host, buf.get(), sizeof(host), cudaMemcpyDeviceToHost));
  return {static_cast<int64_t>(host[0]), static_cast<int64_t>(host[1])};
}

}  // namespace ember::kernels::cuda
