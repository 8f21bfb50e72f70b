// Index kernels: index_select, gather, scatter_add, index_add.
//
// All four walk an iteration shape in which one dim, the indexed one, is special: there the
// index value, not the loop counter, picks the position in x (gather) or out (scatter):
//   gather:      out[o + k*os] = x[xo + index[io + k*is] * xs]
//   scatter_add: out[oo + index[io + k*is] * os] += src[so + k*ss]
// The other dims form an ordinary collapsed strided loop (kernels/cpu/loop.h), and the body
// runs the indexed dim itself. index_select is gather with an index that has stride 0 outside
// dim (one index value per slice), and index_add is scatter_add with that same index.
//
// Threads: the scatter kernels only ever split the other dims, so two threads never add into
// the same element (each runs the whole indexed dim for its positions) and results do not
// depend on the thread count. The gather kernels write each output once, so they may also
// split the indexed dim when the other dims are too few to share (a 1-D index_select).
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>

#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/loop.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

// 0-d operands take part as shape [1], as in PyTorch's scatter/gather (ensure_nonempty_dim).
Shape nonempty(const Shape& s) { return s.empty() ? Shape{1} : s; }

// The loop over every dim but the indexed one, plus that dim's size and per-operand strides.
template <size_t NT>
struct DimLoop {
  Loop<NT> rest;
  int64_t k = 1;
  std::array<int64_t, NT> kstride{};
};

template <size_t NT>
DimLoop<NT> make_dim_loop(const Shape& sizes, int64_t dim, const std::array<Shape, NT>& strides) {
  Shape rest_sizes;
  std::array<Shape, NT> rest_strides;
  for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
    if (d == dim) continue;
    rest_sizes.push_back(sizes[d]);
    for (size_t t = 0; t < NT; ++t) rest_strides[t].push_back(strides[t][d]);
  }
  std::array<const Shape*, NT> ptrs;
  for (size_t t = 0; t < NT; ++t) ptrs[t] = &rest_strides[t];
  DimLoop<NT> L;
  L.rest = make_loop<NT>(rest_sizes, ptrs);
  L.k = sizes[dim];
  for (size_t t = 0; t < NT; ++t) L.kstride[t] = strides[t][dim];
  return L;
}

using Off3 = std::array<int64_t, 3>;

// Calls body(offsets, len, inner_strides, k_begin, k_end): `len` positions of the other dims
// (a row) times the indexed positions [k_begin, k_end).
template <class Body>
void run_dim_loop(const DimLoop<3>& L, bool may_split_k, Body&& body) {
  if (L.rest.numel == 0 || L.k == 0) return;
  if (may_split_k && L.rest.numel < L.k) {
    parallel_for(L.k, L.rest.numel, [&](int64_t kb, int64_t ke) {
      for_each_row(L.rest, 0, L.rest.rows(),
                   [&](const Off3& off, int64_t len, const Off3& s) { body(off, len, s, kb, ke); });
    });
    return;
  }
  run_loop(L.rest, [&](const Off3& off, int64_t len, const Off3& s) { body(off, len, s, int64_t{0}, L.k); }, L.k);
}

// Walk the indexed dim innermost when it is the denser one in memory for operand t (e.g.
// gathering along the last dim of a row-major tensor).
bool k_inner(const DimLoop<3>& L, size_t t) {
  int64_t inner = L.rest.sizes.empty() ? 0 : L.rest.strides[t].back();
  return L.rest.sizes.empty() ? false : std::abs(L.kstride[t]) < std::abs(inner);
}

// The write of scatter_add / index_add, or a plain store for index_copy.
template <class T, bool kAssign = false>
inline void add_into(T& a, T b) {
  if constexpr (kAssign) a = b;
  else if constexpr (std::is_same_v<T, bool>) a = a || b;
  else a += b;
}

// Operands: 0 out, 1 x (stride 0 on the indexed dim; xs is its real stride), 2 index.
template <class T>
void gather_impl(const DimLoop<3>& L, T* out, const T* x, const int64_t* idx, int64_t xs) {
  const int64_t os = L.kstride[0], is = L.kstride[2];
  const bool inner = k_inner(L, 0);
  run_dim_loop(L, /*may_split_k=*/true, [&](const Off3& off, int64_t len, const Off3& s, int64_t kb, int64_t ke) {
    T* o = out + off[0];
    const T* xp = x + off[1];
    const int64_t* ip = idx + off[2];
    if (inner) {
      for (int64_t i = 0; i < len; ++i)
        for (int64_t k = kb; k < ke; ++k) o[i * s[0] + k * os] = xp[i * s[1] + ip[i * s[2] + k * is] * xs];
    } else if (s[2] == 0) {  // one index value per row: a strided copy of a slice of x
      for (int64_t k = kb; k < ke; ++k) {
        T* __restrict__ dst = o + k * os;
        const T* __restrict__ src = xp + ip[k * is] * xs;
        if (s[0] == 1 && s[1] == 1) {
          for (int64_t i = 0; i < len; ++i) dst[i] = src[i];
        } else {
          for (int64_t i = 0; i < len; ++i) dst[i * s[0]] = src[i * s[1]];
        }
      }
    } else {
      for (int64_t k = kb; k < ke; ++k)
        for (int64_t i = 0; i < len; ++i) o[i * s[0] + k * os] = xp[i * s[1] + ip[i * s[2] + k * is] * xs];
    }
  });
}

// Operands: 0 out (stride 0 on the indexed dim; os is its real stride), 1 index, 2 src.
template <class T, bool kAssign = false>
void scatter_add_impl(const DimLoop<3>& L, T* out, const int64_t* idx, const T* src, int64_t os) {
  const int64_t is = L.kstride[1], ss = L.kstride[2];
  const bool inner = k_inner(L, 2);
  run_dim_loop(L, /*may_split_k=*/false, [&](const Off3& off, int64_t len, const Off3& s, int64_t kb, int64_t ke) {
    T* o = out + off[0];
    const int64_t* ip = idx + off[1];
    const T* sp = src + off[2];
    if (inner) {
      for (int64_t i = 0; i < len; ++i)
        for (int64_t k = kb; k < ke; ++k) add_into<T, kAssign>(o[i * s[0] + ip[i * s[1] + k * is] * os], sp[i * s[2] + k * ss]);
    } else if (s[1] == 0) {  // one index value per row: add a slice of src into a slice of out
      for (int64_t k = kb; k < ke; ++k) {
        T* __restrict__ dst = o + ip[k * is] * os;
        const T* __restrict__ from = sp + k * ss;
        if (s[0] == 1 && s[2] == 1) {
          for (int64_t i = 0; i < len; ++i) add_into<T, kAssign>(dst[i], from[i]);
        } else {
          for (int64_t i = 0; i < len; ++i) add_into<T, kAssign>(dst[i * s[0]], from[i * s[2]]);
        }
      }
    } else {
      for (int64_t k = kb; k < ke; ++k)
        for (int64_t i = 0; i < len; ++i) add_into<T, kAssign>(o[i * s[0] + ip[i * s[1] + k * is] * os], sp[i * s[2] + k * ss]);
    }
  });
}

// Strides of a 1-D (or 0-d) index laid along `dim` of an ndim-d iteration: 0 elsewhere.
Shape broadcast_index_strides(const Tensor& index, size_t ndim, int64_t dim) {
  Shape s(ndim, 0);
  s[dim] = index.dim() == 0 ? 0 : index.stride(0);
  return s;
}

}  // namespace

void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  check_cpu(x, "index_select");
  Shape sizes = nonempty(out.sizes());
  Shape xstr = nonempty(x.strides());
  const int64_t xs = xstr[dim];
  xstr[dim] = 0;
  auto L = make_dim_loop<3>(sizes, dim, {nonempty(out.strides()), xstr, broadcast_index_strides(index, sizes.size(), dim)});
  dispatch_all(x.dtype(), "index_select", [&]<class T>() {
    gather_impl<T>(L, out.impl()->data_as<T>(), x.impl()->data_as<T>(), index.impl()->data_as<int64_t>(), xs);
  });
}

void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  check_cpu(x, "gather");
  Shape sizes = nonempty(index.sizes());
  Shape xstr = nonempty(x.strides());
  const int64_t xs = xstr[dim];
  xstr[dim] = 0;
  auto L = make_dim_loop<3>(sizes, dim, {nonempty(out.strides()), xstr, nonempty(index.strides())});
  dispatch_all(x.dtype(), "gather", [&]<class T>() {
    gather_impl<T>(L, out.impl()->data_as<T>(), x.impl()->data_as<T>(), index.impl()->data_as<int64_t>(), xs);
  });
}

void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  check_cpu(out, "scatter_add");
  Shape sizes = nonempty(index.sizes());
  Shape ostr = nonempty(out.strides());
  const int64_t os = ostr[dim];
  ostr[dim] = 0;
  auto L = make_dim_loop<3>(sizes, dim, {ostr, nonempty(index.strides()), nonempty(src.strides())});
  dispatch_all(out.dtype(), "scatter_add", [&]<class T>() {
    scatter_add_impl<T>(L, out.impl()->data_as<T>(), index.impl()->data_as<int64_t>(), src.impl()->data_as<T>(), os);
  });
}

namespace {
// index_add and index_copy: rows of source written (added, or stored) at index along dim.
template <bool kAssign>
void index_write(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source, const char* op) {
  check_cpu(out, op);
  Shape sizes = nonempty(source.sizes());
  Shape ostr = nonempty(out.strides());
  const int64_t os = ostr[dim];
  ostr[dim] = 0;
  auto L = make_dim_loop<3>(sizes, dim, {ostr, broadcast_index_strides(index, sizes.size(), dim),
                                         nonempty(source.strides())});
  dispatch_all(out.dtype(), op, [&]<class T>() {
    scatter_add_impl<T, kAssign>(L, out.impl()->data_as<T>(), index.impl()->data_as<int64_t>(),
                                 source.impl()->data_as<T>(), os);
  });
}
}  // namespace

void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  index_write</*kAssign=*/false>(out, dim, index, source, "index_add");
}

void index_copy(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  index_write</*kAssign=*/true>(out, dim, index, source, "index_copy");
}

std::pair<int64_t, int64_t> index_min_max(const Tensor& index) {
  check_cpu(index, "index");
  std::atomic<int64_t> lo{std::numeric_limits<int64_t>::max()}, hi{std::numeric_limits<int64_t>::min()};
  const int64_t* p = index.impl()->data_as<int64_t>();
  Shape strides = index.strides();
  auto L = make_loop<1>(index.sizes(), {&strides});
  run_loop(L, [&](const std::array<int64_t, 1>& off, int64_t len, const std::array<int64_t, 1>& s) {
    int64_t a = std::numeric_limits<int64_t>::max(), b = std::numeric_limits<int64_t>::min();
    const int64_t* q = p + off[0];
    for (int64_t i = 0; i < len; ++i) {
      a = std::min(a, q[i * s[0]]);
      b = std::max(b, q[i * s[0]]);
    }
    int64_t cur = lo.load();
    while (a < cur && !lo.compare_exchange_weak(cur, a)) {}
    cur = hi.load();
    while (b > cur && !hi.compare_exchange_weak(cur, b)) {}
  });
  return {lo.load(), hi.load()};
}

}  // namespace ember::kernels::cpu
