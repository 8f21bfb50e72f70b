// Reductions over the last dim or the first dim of a contiguous [outer, inner] array. Any
// N-d reduction over a set of dims becomes one of these two after the op layer permutes
// and collapses the dims (kept dims together, reduced dims together).
//
// Each reduction is a small "op" struct with a state: init, add one element (with its
// position), merge two states, and write the result. One skeleton per direction runs them:
//   - last dim: one warp per row for rows up to 512 elements (8 rows per block), else one
//     block per row; each thread walks the row with a stride of the group's width, then
//     warp shuffles and a per-warp shared scratch combine the threads;
//   - first dim: a block is tx columns by ty row-lanes (tx * ty = 1024, tx a power of two up
//     to 32, so a warp reads 32 consecutive elements even when inner is small); each thread
//     walks its column with a stride of ty rows, then a shared-memory tree over ty combines.
// Few outputs over a long reduced dim (a full sum, a bias gradient) would leave most of the
// GPU idle with one block per output: such reductions split the reduced dim into chunks run
// by separate blocks and merge the chunks' states in a second pass (NOTE [ Split
// reductions ]). The combining order depends only on the sizes, never on timing (no
// atomics), so a result repeats bit for bit. Variance uses Welford's update and Chan's
// merge; logsumexp keeps a running (max, sum of exp(x - max)) so it reads the input once.
#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/cuda/allocator.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/kernels_cuda.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember::kernels::cuda {
namespace {

constexpr int kWarpMaxInner = 512;   // rows up to this length get one warp each
constexpr int kWarpBlock = 256;      // ... 8 of them per block
constexpr int kRowBlock = 256;       // longer rows: one block each
constexpr int kLongRowBlock = 1024;  // ... of 1024 threads from this length on
constexpr int64_t kLongRow = 16384;
constexpr int kFirstBlock = 1024;                               // first-dim blocks: tx * ty
constexpr int64_t kNone = std::numeric_limits<int64_t>::max();  // "no element yet": loses every tie

template <class T>
__device__ __forceinline__ T inf() {
  return std::numeric_limits<T>::infinity();
}
// The start of a max (or min) search: -inf (+inf), or for integers, which have no infinity,
// the lowest (highest) value; an element equal to it still wins by its smaller position.
template <class T, bool kMax>
__device__ __forceinline__ T extreme_init() {
  if constexpr (std::numeric_limits<T>::has_infinity) return kMax ? -inf<T>() : inf<T>();
  else return kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
}
__device__ __forceinline__ float exp_(float x) { return expf(x); }
__device__ __forceinline__ double exp_(double x) { return exp(x); }
__device__ __forceinline__ float log_(float x) { return logf(x); }
__device__ __forceinline__ double log_(double x) { return log(x); }

template <class V>
__device__ __forceinline__ V shfl_down(V v, int delta) {
  return __shfl_down_sync(0xffffffffu, v, delta);
}

// ---- the ops -----------------------------------------------------------------------------------

template <class T>
struct SumOp {
  bool mean;
  struct State {
    T sum;
  };
  __device__ State init() const { return {T(0)}; }
  __device__ void add(State& s, T x, int64_t) const { s.sum += x; }
  __device__ void merge(State& a, const State& b) const { a.sum += b.sum; }
  __device__ State down(const State& s, int d) const { return {shfl_down(s.sum, d)}; }
  __device__ void write(const State& s, int64_t n, T* out, int64_t*, int64_t pos) const {
    out[pos] = mean ? s.sum / static_cast<T>(n) : s.sum;  // mean of nothing: 0 / 0 = NaN
  }
};

// The product (for the Tensor-level prod; the raw interface has no Prod). float32 multiplies
// in double, as on the CPU: in float32, a factor above 1 times one below it (both within
// about 2^-12 of 1) gives, half the time, a value just under a midpoint of the coarser grid
// above 1, which rounds down every time: a bias, not noise, about 10% over 2^24 factors in
// [1 - 1e-4, 1 + 1e-4].
template <class T>
struct ProdOp {
  using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
  struct State {
    Acc prod;
  };
  __device__ State init() const { return {Acc(1)}; }
  __device__ void add(State& s, T x, int64_t) const { s.prod *= static_cast<Acc>(x); }
  __device__ void merge(State& a, const State& b) const { a.prod *= b.prod; }
  __device__ State down(const State& s, int d) const { return {shfl_down(s.prod, d)}; }
  __device__ void write(const State& s, int64_t, T* out, int64_t*, int64_t pos) const {
    out[pos] = static_cast<T>(s.prod);
  }
};

// max or min with its position. NaN is the extreme (PyTorch propagates it); among equal
// values the smaller position wins, so the first occurrence is reported whatever the order
// in which threads met them.
template <class T, bool kMax>
struct ExtremeOp {
  struct State {
    T value;
    int64_t index;
  };
  __device__ static bool better(const State& b, const State& a) {
    const bool b_nan = b.value != b.value, a_nan = a.value != a.value;
    if (b_nan || a_nan) return b_nan && (!a_nan || b.index < a.index);
    return (kMax ? b.value > a.value : b.value < a.value) || (b.value == a.value && b.index < a.index);
  }
  __device__ State init() const { return {extreme_init<T, kMax>(), kNone}; }
  __device__ void add(State& s, T x, int64_t i) const {
    const State c{x, i};
    if (better(c, s)) s = c;
  }
  __device__ void merge(State& a, const State& b) const {
    if (better(b, a)) a = b;
  }
  __device__ State down(const State& s, int d) const {
    return {shfl_down(s.value, d), static_cast<int64_t>(shfl_down(static_cast<long long>(s.index), d))};
  }
  __device__ void write(const State& s, int64_t, T* out, int64_t* idx, int64_t pos) const {
    if (out) out[pos] = s.value;
    if (idx) idx[pos] = s.index;
  }
};

template <class T>
struct VarOp {
  T correction;
  struct State {
    long long n;
    T mean, m2;  // m2: sum of squared deviations from mean
  };
  __device__ State init() const { return {0, T(0), T(0)}; }
  __device__ void add(State& s, T x, int64_t) const {
    s.n += 1;
    const T d = x - s.mean;
    s.mean += d / static_cast<T>(s.n);
    s.m2 += d * (x - s.mean);
  }
  __device__ void merge(State& a, const State& b) const {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    const long long n = a.n + b.n;
    const T d = b.mean - a.mean;
    const T fb = static_cast<T>(b.n) / static_cast<T>(n);
    a.mean += d * fb;
    a.m2 += b.m2 + d * d * static_cast<T>(a.n) * fb;
    a.n = n;
  }
  __device__ State down(const State& s, int d) const {
    return {shfl_down(s.n, d), shfl_down(s.mean, d), shfl_down(s.m2, d)};
  }
  __device__ void write(const State& s, int64_t n, T* out, int64_t*, int64_t pos) const {
    // PyTorch clamps the divisor at 0: too few elements give NaN (or inf), not a negative.
    const T dof = static_cast<T>(n) - correction;
    out[pos] = s.m2 / (dof > T(0) ? dof : T(0));
  }
};

template <class T>
struct LogSumExpOp {
  struct State {
    T max, sum;  // sum of exp(x - max); max is NaN once a NaN was seen
  };
  __device__ State init() const { return {-inf<T>(), T(0)}; }
  __device__ void add(State& s, T x, int64_t) const { merge(s, State{x, T(1)}); }
  __device__ void merge(State& a, const State& b) const {
    if (a.max != a.max || b.max != b.max) {
      a.max = a.max + b.max;  // NaN
      return;
    }
    if (b.max == -inf<T>()) return;  // adds nothing (also avoids exp(-inf + inf))
    if (a.max == b.max) {            // also +inf with +inf
      a.sum += b.sum;
    } else if (b.max > a.max) {
      a.sum = a.sum * exp_(a.max - b.max) + b.sum;  // a.max = -inf gives 0
      a.max = b.max;
    } else {
      a.sum += b.sum * exp_(b.max - a.max);
    }
  }
  __device__ State down(const State& s, int d) const { return {shfl_down(s.max, d), shfl_down(s.sum, d)}; }
  __device__ void write(const State& s, int64_t, T* out, int64_t*, int64_t pos) const {
    out[pos] = s.max == -inf<T>() ? s.max : s.max + log_(s.sum);
  }
};

// ---- combining threads -------------------------------------------------------------------------

// Lane 0 ends with the merge of the warp's 32 states.
template <class Op, class State>
__device__ __forceinline__ State warp_reduce(const Op& op, State s) {
#pragma unroll
  for (int d = 16; d > 0; d >>= 1) {
    const State other = op.down(s, d);
    op.merge(s, other);
  }
  return s;
}

// ---- last dim ----------------------------------------------------------------------------------

// Block mode takes `chunks` blocks per row: block b reduces positions [c * chunk, (c + 1) *
// chunk) of row b / chunks (c = b % chunks) and, when split (partial non-null), stores its
// state in partial[b] instead of writing the result. Warp mode always has one chunk.
template <class T, class Op, bool kWarp>
__global__ void __launch_bounds__(kWarp ? kWarpBlock : kLongRowBlock)
    reduce_last_kernel(Op op, const T* in, T* out, int64_t* idx, typename Op::State* partial, int64_t outer,
                       int64_t inner, int chunks, int64_t chunk) {
  using State = typename Op::State;
  __shared__ State scratch[32];
  const int lane = kWarp ? (threadIdx.x & 31) : threadIdx.x;
  const int width = kWarp ? 32 : blockDim.x;
  const int64_t row = kWarp ? static_cast<int64_t>(blockIdx.x) * (blockDim.x >> 5) + (threadIdx.x >> 5)
                            : static_cast<int64_t>(blockIdx.x / static_cast<unsigned>(chunks));
  if (row >= outer) return;  // whole warps only (warp mode): no barrier is skipped
  const int64_t begin = kWarp ? 0 : static_cast<int64_t>(blockIdx.x % static_cast<unsigned>(chunks)) * chunk;
  const int64_t end = kWarp ? inner : (inner - begin < chunk ? inner : begin + chunk);
  const T* x = in + row * inner;
  State s = op.init();
  int64_t i = begin + lane;
  // Four loads in flight before they are combined (in order: the positions stay increasing).
  for (; i + 3 * width < end; i += 4 * width) {
    const T a = x[i], b = x[i + width], c = x[i + 2 * width], d = x[i + 3 * width];
    op.add(s, a, i);
    op.add(s, b, i + width);
    op.add(s, c, i + 2 * width);
    op.add(s, d, i + 3 * width);
  }
  for (; i < end; i += width) op.add(s, x[i], i);
  s = warp_reduce(op, s);
  if constexpr (!kWarp) {
    const int warp = threadIdx.x >> 5, l = threadIdx.x & 31;
    if (l == 0) scratch[warp] = s;
    __syncthreads();
    if (warp != 0) return;
    s = l < static_cast<int>(blockDim.x >> 5) ? scratch[l] : op.init();
    s = warp_reduce(op, s);
    if (l == 0 && partial) {
      partial[blockIdx.x] = s;
      return;
    }
  }
  if ((threadIdx.x & 31) == 0) op.write(s, inner, out, idx, row);
}

// ---- first dim ---------------------------------------------------------------------------------

// Block (bx, by) reduces rows [by * chunk, (by + 1) * chunk) of its tx columns; with more
// than one chunk (partial non-null) it stores the states in partial[by * inner + col].
template <class T, class Op>
__global__ void __launch_bounds__(kFirstBlock)
    reduce_first_kernel(Op op, const T* in, T* out, int64_t* idx, typename Op::State* partial, int64_t outer,
                        int64_t inner, int64_t chunk) {
  using State = typename Op::State;
  __shared__ State part[kFirstBlock];
  const int tx = blockDim.x, ty = blockDim.y;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * tx + threadIdx.x;
  const int64_t begin = static_cast<int64_t>(blockIdx.y) * chunk;
  const int64_t end = outer - begin < chunk ? outer : begin + chunk;
  State s = op.init();
  if (col < inner) {
    const T* x = in + col;
    int64_t o = begin + threadIdx.y;
    for (; o + 3 * ty < end; o += 4 * ty) {
      const T a = x[o * inner], b = x[(o + ty) * inner], c = x[(o + 2 * ty) * inner], d = x[(o + 3 * ty) * inner];
      op.add(s, a, o);
      op.add(s, b, o + ty);
      op.add(s, c, o + 2 * ty);
      op.add(s, d, o + 3 * ty);
    }
    for (; o < end; o += ty) op.add(s, x[o * inner], o);
  }
  // Tree over the ty row-lanes of each column; ty is a power of two.
  part[threadIdx.y * tx + threadIdx.x] = s;
  __syncthreads();
  for (int half = ty / 2; half > 0; half /= 2) {
    if (static_cast<int>(threadIdx.y) < half) {
      State mine = part[threadIdx.y * tx + threadIdx.x];
      op.merge(mine, part[(threadIdx.y + half) * tx + threadIdx.x]);
      part[threadIdx.y * tx + threadIdx.x] = mine;
    }
    __syncthreads();
  }
  if (threadIdx.y != 0 || col >= inner) return;
  if (partial)
    partial[static_cast<int64_t>(blockIdx.y) * inner + col] = part[threadIdx.x];
  else
    op.write(part[threadIdx.x], outer, out, idx, col);
}

// ---- split reductions: the second pass ---------------------------------------------------------

// One warp per output q: merges the states partial[q * output_stride + c * chunk_stride],
// c = 0 .. chunks - 1, lane l taking c = l, l + 32, ... in order, then the fixed warp tree;
// n is the length of the whole reduced dim (for mean and var).
template <class T, class Op>
__global__ void __launch_bounds__(kWarpBlock)
    combine_partials_kernel(Op op, const typename Op::State* partial, T* out, int64_t* idx, int64_t outputs,
                            int chunks, int64_t output_stride, int64_t chunk_stride, int64_t n) {
  using State = typename Op::State;
  const int64_t q = static_cast<int64_t>(blockIdx.x) * (kWarpBlock / 32) + (threadIdx.x >> 5);
  if (q >= outputs) return;  // whole warps only
  const int lane = threadIdx.x & 31;
  State s = op.init();
  for (int c = lane; c < chunks; c += 32) op.merge(s, partial[q * output_stride + c * chunk_stride]);
  s = warp_reduce(op, s);
  if (lane == 0) op.write(s, n, out, idx, q);
}

// ---- launching ---------------------------------------------------------------------------------

// The outputs are spread over grid.x (at most 2^31 - 1 blocks); the reduced dim is walked
// with 64-bit positions and has no limit.
void check_sizes(const char* op, bool last, int64_t outer, int64_t inner) {
  EMBER_CHECK(outer >= 0 && inner >= 0, op, "negative size: outer=", outer, " inner=", inner);
  EMBER_CHECK((last ? outer : inner) <= INT_MAX, op, "too many outputs for the grid: outer=", outer, " inner=", inner);
}

// NOTE [ Split reductions ]
// One block per output (last dim) or per 32 columns (first dim) is plenty when there are
// thousands of outputs, but a full sum() of 64M floats, or the bias gradient dy[N, 4].sum(0),
// would run on one block: one SM of 132, about 1% of the memory bandwidth. Such reductions
// run in two passes instead:
//   pass 1: the reduced dim of every output is cut into `chunks` consecutive ranges of
//           `chunk` positions; one block per (output group, range) runs the usual skeleton
//           over its range and stores the op's State (the sum; the value and its position
//           for max/min; Welford's (n, mean, m2) for var; (max, sum of exp) for logsumexp)
//           in a workspace from the caching allocator instead of writing a result;
//   pass 2: one warp per output merges its `chunks` states with the op's own merge, lane l
//           taking ranges l, l + 32, ... in order, then the fixed shuffle tree; the merged
//           state is written exactly as the one-pass kernels write theirs.
// Determinism: every position is added by the same thread in the same order, and every
// merge happens at a fixed place in a fixed tree, whatever the timing, so the result
// repeats bit for bit. That holds only because the plan (whether to split, chunks, chunk)
// is a function of the sizes alone: not of the SM count, occupancy or anything measured, so
// the same sizes give the same bits on every GPU too. No float atomics anywhere.
// Semantics are those of the one-pass kernels because pass 2 uses the same merge: max/min
// compare positions on ties (the first position wins whichever range found it), NaN beats
// every number and the first NaN wins, var merges with Chan's formula, logsumexp rescales
// to the larger max. Empty ranges cannot occur (chunks is recomputed from chunk).
// When: the one-pass launch would fill at most half of kSplitThreads (about one wave of
// resident threads on an H100: 132 SMs x 2048), and each range still gives every thread of
// its block kMinPerThread elements or more; chunks is then what fills kSplitThreads.
// The workspace is small (at most about 12 thousand states) and is released when the call
// returns: the allocator hands blocks out again in the order of the legacy default stream,
// so a call on another stream waits for its reduction before releasing it.
constexpr int64_t kSplitThreads = int64_t{1} << 18;
constexpr int64_t kMinPerThread = 16;

struct Split {
  int chunks;     // ranges per output (1: the one-pass kernel)
  int64_t chunk;  // positions per range
};

// natural_blocks: blocks of block_threads the one-pass launch amounts to; lanes: threads of
// a split block that walk one output's reduced dim.
Split plan_split(int64_t natural_blocks, int block_threads, int lanes, int64_t reduced) {
  const int64_t target = kSplitThreads / block_threads;
  if (2 * natural_blocks > target) return {1, reduced};
  const int64_t chunks = std::min((target + natural_blocks - 1) / natural_blocks, reduced / (lanes * kMinPerThread));
  if (chunks < 2) return {1, reduced};
  const int64_t chunk = (reduced + chunks - 1) / chunks;
  return {static_cast<int>((reduced + chunk - 1) / chunk), chunk};
}

// The states of pass 1 (a DeviceBuffer: back to the cache when the launching scope ends).
template <class State>
using Partials = ember::cuda::DeviceBuffer<State>;

// Pass 2 (see the NOTE); outputs > 0.
template <class T, class Op>
void combine_partials(const Op& op, const Partials<typename Op::State>& partials, T* out, int64_t* idx,
                      int64_t outputs, int chunks, int64_t output_stride, int64_t chunk_stride, int64_t n,
                      cudaStream_t stream) {
  const int per_block = kWarpBlock / 32;
  const unsigned grid = static_cast<unsigned>((outputs + per_block - 1) / per_block);
  combine_partials_kernel<T, Op>
      <<<grid, kWarpBlock, 0, stream>>>(op, partials.get(), out, idx, outputs, chunks, output_stride, chunk_stride, n);
  EMBER_CUDA_CHECK(cudaGetLastError());
  // The allocator reuses a released block in the order of the legacy default stream.
  if (stream != nullptr) EMBER_CUDA_CHECK(cudaStreamSynchronize(stream));
}

template <class T, class Op>
void launch_last(const Op& op, const T* in, T* out, int64_t* idx, int64_t outer, int64_t inner, cudaStream_t stream) {
  using State = typename Op::State;
  if (outer == 0) return;
  if (inner <= kWarpMaxInner) {
    const int rows_per_block = kWarpBlock / 32;
    const unsigned grid = static_cast<unsigned>((outer + rows_per_block - 1) / rows_per_block);
    reduce_last_kernel<T, Op, true>
        <<<grid, kWarpBlock, 0, stream>>>(op, in, out, idx, nullptr, outer, inner, 1, inner);
    EMBER_CUDA_CHECK(cudaGetLastError());
    return;
  }
  const Split split = plan_split(outer, kRowBlock, kRowBlock, inner);
  if (split.chunks == 1) {
    const int threads = inner >= kLongRow ? kLongRowBlock : kRowBlock;
    reduce_last_kernel<T, Op, false>
        <<<static_cast<unsigned>(outer), threads, 0, stream>>>(op, in, out, idx, nullptr, outer, inner, 1, inner);
    EMBER_CUDA_CHECK(cudaGetLastError());
    return;
  }
  // Block b: row b / chunks, range b % chunks; its state lands in partials[b] ([outer, chunks]).
  Partials<State> partials(static_cast<size_t>(outer * split.chunks));
  reduce_last_kernel<T, Op, false><<<static_cast<unsigned>(outer * split.chunks), kRowBlock, 0, stream>>>(
      op, in, out, idx, partials.get(), outer, inner, split.chunks, split.chunk);
  EMBER_CUDA_CHECK(cudaGetLastError());
  combine_partials<T>(op, partials, out, idx, outer, split.chunks, split.chunks, 1, inner, stream);
}

template <class T, class Op>
void launch_first(const Op& op, const T* in, T* out, int64_t* idx, int64_t outer, int64_t inner, cudaStream_t stream) {
  using State = typename Op::State;
  if (inner == 0) return;
  // [outer, 1] is the same memory as [1, outer], and a row gets a whole block that way.
  if (inner == 1 && outer > 0) return launch_last<T>(op, in, out, idx, 1, outer, stream);
  int tx = 1;
  while (tx < 32 && tx < inner) tx *= 2;
  const int ty = kFirstBlock / tx;
  const dim3 block(tx, ty);
  const int64_t column_blocks = (inner + tx - 1) / tx;
  const Split split = plan_split(column_blocks, kFirstBlock, ty, outer);
  if (split.chunks == 1) {
    reduce_first_kernel<T, Op>
        <<<static_cast<unsigned>(column_blocks), block, 0, stream>>>(op, in, out, idx, nullptr, outer, inner, outer);
    EMBER_CUDA_CHECK(cudaGetLastError());
    return;
  }
  // grid.y = chunks <= kSplitThreads / kFirstBlock = 256; the states are [chunks, inner].
  Partials<State> partials(static_cast<size_t>(split.chunks * inner));
  const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(split.chunks));
  reduce_first_kernel<T, Op>
      <<<grid, block, 0, stream>>>(op, in, out, idx, partials.get(), outer, inner, split.chunk);
  EMBER_CUDA_CHECK(cudaGetLastError());
  combine_partials<T>(op, partials, out, idx, inner, split.chunks, 1, inner, outer, stream);
}

template <class T>
void reduce_any(bool last, Reduction r, const T* in, T* out, int64_t outer, int64_t inner, cudaStream_t stream,
                double correction) {
  const char* name = last ? "reduce_last" : "reduce_first";
  check_sizes(name, last, outer, inner);
  const int64_t reduced = last ? inner : outer;
  auto run = [&](const auto& op) {
    if (last)
      launch_last<T>(op, in, out, nullptr, outer, inner, stream);
    else
      launch_first<T>(op, in, out, nullptr, outer, inner, stream);
  };
  switch (r) {
    case Reduction::Sum:
      return run(SumOp<T>{false});
    case Reduction::Mean:
      return run(SumOp<T>{true});
    case Reduction::Var:
      return run(VarOp<T>{static_cast<T>(correction)});
    case Reduction::LogSumExp:
      return run(LogSumExpOp<T>{});
    case Reduction::Max:
    case Reduction::Min:
      EMBER_CHECK(reduced > 0 || (last ? outer : inner) == 0, name,
                  "max/min over an empty dim has no value: outer=", outer, " inner=", inner);
      if (r == Reduction::Max) return run(ExtremeOp<T, true>{});
      return run(ExtremeOp<T, false>{});
  }
}

template <class T>
void arg_reduce_any(bool last, ArgReduction r, const T* in, T* values, int64_t* indices, int64_t outer, int64_t inner,
                    cudaStream_t stream) {
  const char* name = last ? "arg_reduce_last" : "arg_reduce_first";
  check_sizes(name, last, outer, inner);
  EMBER_CHECK((last ? inner : outer) > 0 || (last ? outer : inner) == 0, name,
              "argmax/argmin over an empty dim has no value: outer=", outer, " inner=", inner);
  auto run = [&](const auto& op) {
    if (last)
      launch_last<T>(op, in, values, indices, outer, inner, stream);
    else
      launch_first<T>(op, in, values, indices, outer, inner, stream);
  };
  if (r == ArgReduction::Max)
    run(ExtremeOp<T, true>{});
  else
    run(ExtremeOp<T, false>{});
}

}  // namespace

void reduce_last(Reduction op, const float* in, float* out, int64_t outer, int64_t inner, cudaStream_t stream,
                 double correction) {
  reduce_any(true, op, in, out, outer, inner, stream, correction);
}
void reduce_last(Reduction op, const double* in, double* out, int64_t outer, int64_t inner, cudaStream_t stream,
                 double correction) {
  reduce_any(true, op, in, out, outer, inner, stream, correction);
}
void reduce_first(Reduction op, const float* in, float* out, int64_t outer, int64_t inner, cudaStream_t stream,
                  double correction) {
  reduce_any(false, op, in, out, outer, inner, stream, correction);
}
void reduce_first(Reduction op, const double* in, double* out, int64_t outer, int64_t inner, cudaStream_t stream,
                  double correction) {
  reduce_any(false, op, in, out, outer, inner, stream, correction);
}

void arg_reduce_last(ArgReduction op, const float* in, float* values, int64_t* indices, int64_t outer, int64_t inner,
                     cudaStream_t stream) {
  arg_reduce_any(true, op, in, values, indices, outer, inner, stream);
}
void arg_reduce_last(ArgReduction op, const double* in, double* values, int64_t* indices, int64_t outer, int64_t inner,
                     cudaStream_t stream) {
  arg_reduce_any(true, op, in, values, indices, outer, inner, stream);
}
void arg_reduce_first(ArgReduction op, const float* in, float* values, int64_t* indices, int64_t outer, int64_t inner,
                      cudaStream_t stream) {
  arg_reduce_any(false, op, in, values, indices, outer, inner, stream);
}
void arg_reduce_first(ArgReduction op, const double* in, double* values, int64_t* indices, int64_t outer, int64_t inner,
                      cudaStream_t stream) {
  arg_reduce_any(false, op, in, values, indices, outer, inner, stream);
}

// ---- on Tensors: the CUDA twin of kernels::cpu::reduce -----------------------------------------

namespace {

// True when t's dims taken in `order` are laid out row-major without gaps (dims of size 1
// do not count), so its memory is that contiguous array from its data pointer.
bool dense_in_order(const Tensor& t, const Shape& order) {
  int64_t expected = 1;
  for (size_t i = order.size(); i-- > 0;) {
    const int64_t size = t.sizes()[order[i]];
    if (size == 1) continue;
    if (t.strides()[order[i]] != expected) return false;
    expected *= size;
  }
  return true;
}

template <class T>
void reduce_typed(ReduceOp op, const T* in, bool last, int64_t kept, int64_t count, T* out, int64_t* idx) {
  // Both skeletons take [outer, inner]: last reduces inner (outer = kept outputs), first
  // reduces outer (inner = kept outputs).
  const int64_t outer = last ? kept : count, inner = last ? count : kept;
  check_sizes(last ? "reduce_last" : "reduce_first", last, outer, inner);
  auto run = [&](const auto& k) {
    if (last) launch_last<T>(k, in, out, idx, outer, inner, 0);
    else launch_first<T>(k, in, out, idx, outer, inner, 0);
  };
  switch (op) {
    case ReduceOp::Sum: return run(SumOp<T>{false});
    case ReduceOp::Prod: return run(ProdOp<T>{});
    case ReduceOp::Max: return run(ExtremeOp<T, true>{});
    case ReduceOp::Min: return run(ExtremeOp<T, false>{});
  }
}

}  // namespace

// The reduced dims are moved last (or, when that needs no copy and the kept dims are the
// contiguous ones, first) so that one of the two skeletons above does the work; a layout
// that is neither is copied into (kept..., reduced...) order first. Float sums accumulate in
// the input's type (the CPU uses double for float32), so float32 results differ from the
// CPU's by rounding; float32 products accumulate in double on both (ProdOp). int64 sums and
// products wrap around like the CPU's.
void reduce(ReduceOp op, const Tensor& input, const Shape& dims, const Tensor& out, const Tensor& indices) {
  static const char* names[] = {"sum", "prod", "max", "min"};
  const char* name = names[static_cast<int>(op)];
  if (input.dtype() == kBool) {
    // Only max and min see bool here (sum and prod get int64 from the op layer): through int64.
    Tensor in64 = internal::new_tensor(input.sizes(), kInt64, input.device());
    copy(input, in64);
    Tensor out64 = internal::new_tensor(out.sizes(), kInt64, out.device());
    cuda::reduce(op, in64, dims, out64, indices);  // qualified: ADL also finds kernels::reduce
    copy(out64, out);
    return;
  }
  Shape kept_dims, reduced_dims;
  int64_t kept = 1, count = 1;
  for (int64_t d = 0, j = 0; d < input.dim(); ++d) {
    if (j < static_cast<int64_t>(dims.size()) && dims[j] == d) {
      ++j;
      reduced_dims.push_back(d);
      count *= input.sizes()[d];
    } else {
      kept_dims.push_back(d);
      kept *= input.sizes()[d];
    }
  }
  if (kept == 0) return;
  if (count == 0) {
    // The identity for sum and prod; the op layer rejects max and min here, except where it
    // wants a placeholder (0).
    fill(out, op == ReduceOp::Prod ? Scalar(1) : Scalar(0));
    if (indices.defined()) fill(indices, Scalar(0));
    return;
  }
  if (!indices.defined()) {
    // Without indices the reduction order is free: largest stride first lets a permuted
    // input (a full sum of a transpose) be read as it lies.
    std::stable_sort(reduced_dims.begin(), reduced_dims.end(),
                     [&](int64_t a, int64_t b) { return input.strides()[a] > input.strides()[b]; });
  }
  Shape last_order = kept_dims, first_order = reduced_dims;
  for (int64_t d : reduced_dims) last_order.push_back(d);
  for (int64_t d : kept_dims) first_order.push_back(d);
  Tensor in = input;
  bool last = true;
  if (!dense_in_order(input, last_order)) {
    if (dense_in_order(input, first_order)) {
      last = false;
    } else {
      Shape sizes, strides;
      for (int64_t d : last_order) {
        sizes.push_back(input.sizes()[d]);
        strides.push_back(input.strides()[d]);
      }
      in = internal::new_tensor(sizes, input.dtype(), input.device());
      copy(internal::alias(input, sizes, strides, input.storage_offset()), in);
    }
  }
  int64_t* idx = indices.defined() ? indices.impl()->data_as<int64_t>() : nullptr;
  switch (input.dtype()) {
    case kFloat32:
      return reduce_typed<float>(op, in.impl()->data_as<float>(), last, kept, count, out.impl()->data_as<float>(), idx);
    case kFloat64:
      return reduce_typed<double>(op, in.impl()->data_as<double>(), last, kept, count, out.impl()->data_as<double>(),
                                  idx);
    case kInt64:
      return reduce_typed<int64_t>(op, in.impl()->data_as<int64_t>(), last, kept, count,
                                   out.impl()->data_as<int64_t>(), idx);
    case kBool:
      break;
  }
  EMBER_CHECK(false, name, "not implemented for CUDA tensors of dtype ", dtype_name(input.dtype()));
}

}  // namespace ember::kernels::cuda
