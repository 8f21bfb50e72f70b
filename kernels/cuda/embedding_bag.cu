// embedding_bag forward and backward on the GPU (see kernels/cuda/embedding_bag.h).
//
// Forward: one block per bag, its threads across the embedding dims, so that each entry's
// row is read coalesced and every thread reads the same index (a broadcast). The sums run in
// entry order like the CPU loop; nvcc may fuse the multiply-adds, so results agree with the
// CPU's to rounding, not bit for bit.
// Backward: dense gradients add each (entry, dim) into its row with atomics; the row-sparse
// one groups the entries by row on the GPU (CUB's stable radix sort, then run-length
// encoding), then sums one block per row with no atomics.
#include <cub/device/device_radix_sort.cuh>
#include <cub/device/device_run_length_encode.cuh>
#include <cub/device/device_scan.cuh>

#include <algorithm>
#include <climits>
#include <cstdint>

#include "kernels/cuda/embedding_bag.h"
#include "kernels/cuda/map.cuh"
#include "tensor/factory.h"

namespace ember::kernels::cuda {
namespace {

using nn::EmbeddingBagMode;

// Threads across D for the per-bag and per-row kernels: a multiple of a warp, at most kThreads.
int dim_threads(int64_t D) {
  const int64_t t = ((D + 31) / 32) * 32;
  return static_cast<int>(t < 32 ? 32 : (t > kThreads ? kThreads : t));
}

template <class T>
__global__ void forward_kernel(const T* w, const int64_t* idx, const int64_t* off, int64_t K, int64_t n, int64_t B,
                               bool include_last, EmbeddingBagMode mode, const T* psw, int64_t pad, int64_t D, T* out,
                               int64_t* arg, int64_t* counts, int64_t* bag_of) {
  const int64_t b = blockIdx.x;
  const int64_t s = off[b];
  int64_t e = b + 1 < K ? off[b + 1] : n;
  if (include_last && b + 1 == B) e = off[b + 1] < n ? off[b + 1] : n;
  for (int64_t i = s + threadIdx.x; i < e; i += blockDim.x) bag_of[i] = b;
  if (counts != nullptr && threadIdx.x == 0) {
    int64_t c = 0;
    for (int64_t i = s; i < e; ++i) c += idx[i] != pad;
    counts[b] = c;
  }
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    T acc = T(0);
    int64_t a = -1, count = 0;
    for (int64_t i = s; i < e; ++i) {
      const int64_t r = idx[i];
      if (r == pad) continue;
      const T v = w[r * D + d];
      if (mode == EmbeddingBagMode::Max) {
        if (count == 0 || v > acc) {  // as the CPU: a NaN never replaces, ties keep the first
          acc = v;
          a = i;
        }
      } else {
        acc += (psw != nullptr ? psw[i] : T(1)) * v;
      }
      ++count;
    }
    if (mode == EmbeddingBagMode::Mean && count > 0) acc /= static_cast<T>(count);
    out[b * D + d] = acc;
    if (arg != nullptr) arg[b * D + d] = a;
  }
}

// Entry i's share of the gradient in dim d (0 when it has none there).
template <class T>
__device__ __forceinline__ T entry_grad(const T* g, const EmbeddingBagMode mode, const T* psw, const int64_t* counts,
                                        const int64_t* arg, int64_t i, int64_t b, int64_t d, int64_t D) {
  const T gv = g[b * D + d];
  if (mode == EmbeddingBagMode::Max) return arg[b * D + d] == i ? gv : T(0);
  T scale = psw != nullptr ? psw[i] : T(1);
  if (mode == EmbeddingBagMode::Mean) scale /= static_cast<T>(counts[b]);
  return scale * gv;
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    dense_backward_kernel(const T* g, const int64_t* idx, const int64_t* bag_of, EmbeddingBagMode mode, const T* psw,
                          const int64_t* counts, const int64_t* arg, int64_t pad, int64_t n, int64_t D, T* dest) {
  const int64_t total = n * D, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total; t += stride) {
    const int64_t i = t / D, d = t - i * D;
    const int64_t r = idx[i], b = bag_of[i];
    if (r == pad || b < 0) continue;
    if (mode == EmbeddingBagMode::Max && arg[b * D + d] != i) continue;
    atomicAdd(dest + r * D + d, entry_grad(g, mode, psw, counts, arg, i, b, d, D));
  }
}

template <class T>
__global__ void rows_backward_kernel(const T* g, const int64_t* bag_of, EmbeddingBagMode mode, const T* psw,
                                     const int64_t* counts, const int64_t* arg, const int64_t* order,
                                     const int64_t* seg, int64_t D, T* dest) {
  const int64_t u = blockIdx.x;
  const int64_t k0 = seg[u], k1 = seg[u + 1];
  for (int64_t d = threadIdx.x; d < D; d += blockDim.x) {
    T acc = T(0);
    for (int64_t k = k0; k < k1; ++k) {
      const int64_t i = order[k], b = bag_of[i];
      if (b >= 0) acc += entry_grad(g, mode, psw, counts, arg, i, b, d, D);
    }
    dest[u * D + d] = acc;
  }
}

// One warp per entry: a dot product of two rows, reduced with shuffles. Every lane of a warp
// has the same i, so the shuffles see the whole warp.
template <class T>
__global__ void __launch_bounds__(kThreads)
    psw_backward_kernel(const T* g, const T* w, const int64_t* idx, const int64_t* bag_of, int64_t pad, int64_t n,
                        int64_t D, T* out) {
  const int lane = threadIdx.x & 31;
  const int64_t warps = static_cast<int64_t>(gridDim.x) * (blockDim.x / 32);
  for (int64_t i = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32; i < n; i += warps) {
    const int64_t r = idx[i], b = bag_of[i];
    T acc = T(0);
    if (r != pad && b >= 0)
      for (int64_t d = lane; d < D; d += 32) acc += g[b * D + d] * w[r * D + d];
    for (int s = 16; s > 0; s >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, s);
    if (lane == 0) out[i] = acc;
  }
}

// The sort key of each entry: its row, or `skipped` (one past the last row, so such entries
// sort last) for padding and for entries in no bag; the value is the entry's own position.
__global__ void row_keys_kernel(const int64_t* idx, const int64_t* bag_of, int64_t n, int64_t pad,
                                unsigned long long skipped, unsigned long long* keys, int64_t* entries) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t r = idx[i];
    keys[i] = r == pad || bag_of[i] < 0 ? skipped : static_cast<unsigned long long>(r);
    entries[i] = i;
  }
}

// runs[1] = the number of runs that are rows (the last run is the skipped entries', if any).
__global__ void count_row_runs_kernel(const unsigned long long* unique, unsigned long long skipped, int64_t* runs) {
  const int64_t all = runs[0];
  runs[1] = all > 0 && unique[all - 1] == skipped ? all - 1 : all;
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.impl()->data()) : nullptr;
}
inline int64_t* i64_or_null(const Tensor& t) { return t.defined() ? static_cast<int64_t*>(t.impl()->data()) : nullptr; }

}  // namespace

void embedding_bag_forward(const Tensor& weight, const Tensor& indices, const Tensor& offsets, bool include_last_offset,
                           EmbeddingBagMode mode, const Tensor& psw, int64_t padding_idx, const Tensor& out,
                           const Tensor& max_arg, const Tensor& counts, const Tensor& bag_of) {
  const int64_t n = indices.numel(), B = out.size(0), D = out.size(1);
  // All bytes 0xff is -1 in every int64: entries past the last bag stay -1.
  if (n > 0) EMBER_CUDA_CHECK(cudaMemsetAsync(bag_of.impl()->data(), 0xff, static_cast<size_t>(n) * sizeof(int64_t)));
  if (B == 0) return;
  dispatch_tag<DtypeSet::Floating>(weight.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    forward_kernel<T><<<static_cast<unsigned>(B), dim_threads(D)>>>(
        static_cast<const T*>(weight.impl()->data()), static_cast<const int64_t*>(indices.impl()->data()),
        static_cast<const int64_t*>(offsets.impl()->data()), offsets.numel(), n, B, include_last_offset, mode,
        ptr_or_null<T>(psw), padding_idx, D, static_cast<T*>(out.impl()->data()), i64_or_null(max_arg),
        i64_or_null(counts), static_cast<int64_t*>(bag_of.impl()->data()));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void embedding_bag_backward_dense(const Tensor& grad, const EmbeddingBagSaved& s, const Tensor& dest) {
  const int64_t n = s.indices.numel(), D = dest.size(1);
  if (n * D == 0) return;
  dispatch_tag<DtypeSet::Floating>(grad.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    dense_backward_kernel<T><<<detail::grid_size(n * D), kThreads>>>(
        static_cast<const T*>(grad.impl()->data()), static_cast<const int64_t*>(s.indices.impl()->data()),
        static_cast<const int64_t*>(s.bag_of.impl()->data()), s.mode, ptr_or_null<T>(s.psw), i64_or_null(s.counts),
        i64_or_null(s.max_arg), s.padding_idx, n, D, static_cast<T*>(dest.impl()->data()));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

int64_t embedding_bag_group_rows(const EmbeddingBagSaved& s, int64_t num_rows, Tensor& order, Tensor& seg,
                                 Tensor& rows) {
  const int64_t n = s.indices.numel();
  const TensorOptions i64 = TensorOptions(kInt64).device(s.indices.device());
  // < INT_MAX: the scans below run over n + 1 counts, an int for CUB as well.
  EMBER_CHECK(n < INT_MAX, "embedding_bag", "a row-sparse gradient on the GPU groups at most 2^31 - 2 entries, got ",
              n);
  // Keys up to num_rows (the skipped entries' key): the sort looks at that many low bits only.
  int end_bit = 1;
  while (end_bit < 64 && (static_cast<unsigned long long>(num_rows) >> end_bit) != 0) ++end_bit;
  const auto skipped = static_cast<unsigned long long>(num_rows);
  const int items = static_cast<int>(n);

  Tensor keys = empty({n}, i64), entries = empty({n}, i64), sorted = empty({n}, i64), unique = empty({n}, i64);
  Tensor counts = empty({n + 1}, i64), runs = zeros({2}, i64);
  order = empty({n}, i64);
  auto* k_in = static_cast<unsigned long long*>(keys.impl()->data());
  auto* k_out = static_cast<unsigned long long*>(sorted.impl()->data());
  auto* k_unique = static_cast<unsigned long long*>(unique.impl()->data());
  auto* v_in = static_cast<int64_t*>(entries.impl()->data());
  auto* v_out = static_cast<int64_t*>(order.impl()->data());
  auto* c = static_cast<int64_t*>(counts.impl()->data());
  auto* r = static_cast<int64_t*>(runs.impl()->data());

  // CUB sizes its scratch in a first call with no buffer; one buffer serves the three steps.
  size_t sort_bytes = 0, encode_bytes = 0, scan_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, sort_bytes, k_in, k_out, v_in, v_out, items, 0, end_bit));
  EMBER_CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(nullptr, encode_bytes, k_out, k_unique, c, r, items));
  EMBER_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, c, c, items + 1));
  const size_t scratch_bytes = std::max({sort_bytes, encode_bytes, scan_bytes, size_t{8}});
  Tensor scratch = empty({static_cast<int64_t>((scratch_bytes + 7) / 8)}, i64);
  void* tmp = scratch.impl()->data();

  if (n > 0) {
    row_keys_kernel<<<detail::grid_size(n), kThreads>>>(static_cast<const int64_t*>(s.indices.impl()->data()),
                                                        static_cast<const int64_t*>(s.bag_of.impl()->data()), n,
                                                        s.padding_idx, skipped, k_in, v_in);
    EMBER_CUDA_CHECK(cudaGetLastError());
    // Stable: within a row the entries keep their order, so each row sums them as the CPU does.
    EMBER_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(tmp, sort_bytes, k_in, k_out, v_in, v_out, items, 0, end_bit));
    EMBER_CUDA_CHECK(cub::DeviceRunLengthEncode::Encode(tmp, encode_bytes, k_out, k_unique, c, r, items));
    count_row_runs_kernel<<<1, 1>>>(k_unique, skipped, r);
    EMBER_CUDA_CHECK(cudaGetLastError());
  }
  int64_t U = 0;  // the one wait: the host sizes the gradient
  EMBER_CUDA_CHECK(cudaMemcpy(&U, r + 1, sizeof U, cudaMemcpyDeviceToHost));
  // seg[u] = where row u's entries start in order; seg[U] = how many entries have a row. The
  // scan over U + 1 counts reads counts[U] (the skipped run's, or unused memory: n + 1 were
  // allocated) but seg[U] does not depend on it.
  seg = empty({U + 1}, i64);
  size_t seg_bytes = 0;
  EMBER_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(nullptr, seg_bytes, c, static_cast<int64_t*>(seg.impl()->data()),
                                                 static_cast<int>(U + 1)));
  if (seg_bytes > scratch_bytes) {
    scratch = empty({static_cast<int64_t>((seg_bytes + 7) / 8)}, i64);
    tmp = scratch.impl()->data();
  }
  EMBER_CUDA_CHECK(cub::DeviceScan::ExclusiveSum(tmp, seg_bytes, c, static_cast<int64_t*>(seg.impl()->data()),
                                                 static_cast<int>(U + 1)));
  rows = unique.narrow(0, 0, U);
  return U;
}

void embedding_bag_backward_rows(const Tensor& grad, const EmbeddingBagSaved& s, const Tensor& order,
                                 const Tensor& seg, const Tensor& dest) {
  const int64_t U = dest.size(0), D = dest.size(1);
  if (U == 0 || D == 0) return;
  dispatch_tag<DtypeSet::Floating>(grad.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    rows_backward_kernel<T><<<static_cast<unsigned>(U), dim_threads(D)>>>(
        static_cast<const T*>(grad.impl()->data()), static_cast<const int64_t*>(s.bag_of.impl()->data()), s.mode,
        ptr_or_null<T>(s.psw), i64_or_null(s.counts), i64_or_null(s.max_arg),
        static_cast<const int64_t*>(order.impl()->data()), static_cast<const int64_t*>(seg.impl()->data()), D,
        static_cast<T*>(dest.impl()->data()));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

void embedding_bag_backward_psw(const Tensor& grad, const Tensor& weight, const EmbeddingBagSaved& s, const Tensor& out) {
  const int64_t n = s.indices.numel(), D = weight.size(1);
  if (n == 0) return;
  dispatch_tag<DtypeSet::Floating>(grad.dtype(), "embedding_bag", [&](auto tag) {
    using T = decltype(tag);
    psw_backward_kernel<T><<<detail::grid_size(n * 32), kThreads>>>(
        static_cast<const T*>(grad.impl()->data()), static_cast<const T*>(weight.impl()->data()),
        static_cast<const int64_t*>(s.indices.impl()->data()), static_cast<const int64_t*>(s.bag_of.impl()->data()),
        s.padding_idx, n, D, static_cast<T*>(out.impl()->data()));
  });
  EMBER_CUDA_CHECK(cudaGetLastError());
}

}  // namespace ember::kernels::cuda
