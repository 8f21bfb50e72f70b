#pragma once
// The strided N-d loop behind elementwise kernels.
//
// NT tensors (the output first) share one iteration shape; each has its own strides in
// elements (0 on broadcast dims). make_loop() drops size-1 dims and merges neighbouring dims
// that are contiguous with each other in every tensor, so a contiguous tensor of any rank
// becomes one flat dim and a transposed one two. for_each_row() then walks the outer dims
// with an odometer and hands each innermost row to the kernel, which has a fast path for
// inner stride 1 (vectorized by the compiler) and 0 (a broadcast value).
#include <array>
#include <cstdint>

#include "kernels/cpu/parallel.h"
#include "tensor/shape.h"

namespace ember::kernels::cpu {

template <size_t NT>
struct Loop {
  Shape sizes;                     // outermost first
  std::array<Shape, NT> strides;   // per tensor, in elements
  int64_t numel = 1;
  int64_t inner() const { return sizes.empty() ? 1 : sizes.back(); }
  int64_t rows() const { return sizes.empty() || numel == 0 ? (numel ? 1 : 0) : numel / sizes.back(); }
};

/// Builds a collapsed loop over `sizes` for tensors with the given strides.
template <size_t NT>
Loop<NT> make_loop(const Shape& sizes, const std::array<const Shape*, NT>& strides) {
  Loop<NT> L;
  L.numel = shape_numel(sizes);
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    bool merge = !L.sizes.empty();
    for (size_t t = 0; t < NT && merge; ++t) merge = L.strides[t].back() == (*strides[t])[d] * sizes[d];
    if (merge) {
      L.sizes.back() *= sizes[d];
      for (size_t t = 0; t < NT; ++t) L.strides[t].back() = (*strides[t])[d];
    } else {
      L.sizes.push_back(sizes[d]);
      for (size_t t = 0; t < NT; ++t) L.strides[t].push_back((*strides[t])[d]);
    }
  }
  return L;
}

/// Calls row(offsets, n, inner_strides) for rows [row_begin, row_end) of the loop.
template <size_t NT, class Row>
void for_each_row(const Loop<NT>& L, int64_t row_begin, int64_t row_end, Row&& row) {
  using Offsets = std::array<int64_t, NT>;
  const int64_t nd = static_cast<int64_t>(L.sizes.size());
  Offsets inner_strides{};
  for (size_t t = 0; t < NT; ++t) inner_strides[t] = nd ? L.strides[t][nd - 1] : 0;
  const int64_t n = L.inner();
  if (nd <= 1) {
    if (row_begin < row_end) row(Offsets{}, n, inner_strides);
    return;
  }
  // Odometer over the outer dims, started at row_begin.
  Shape counter(nd - 1, 0);
  Offsets off{};
  int64_t r = row_begin;
  for (int64_t d = nd - 2; d >= 0; --d) {
    counter[d] = r % L.sizes[d];
    r /= L.sizes[d];
    for (size_t t = 0; t < NT; ++t) off[t] += counter[d] * L.strides[t][d];
  }
  for (int64_t i = row_begin; i < row_end; ++i) {
    row(off, n, inner_strides);
    for (int64_t d = nd - 2; d >= 0; --d) {
      for (size_t t = 0; t < NT; ++t) off[t] += L.strides[t][d];
      if (++counter[d] < L.sizes[d]) break;
      for (size_t t = 0; t < NT; ++t) off[t] -= counter[d] * L.strides[t][d];
      counter[d] = 0;
    }
  }
}

/// Runs the loop, splitting rows (or, for a single flat row, the row itself) over threads.
template <size_t NT, class Row>
void run_loop(const Loop<NT>& L, Row&& row, int64_t cost_per_item = 1) {
  if (L.numel == 0) return;
  if (L.sizes.size() <= 1) {
    // One flat row: split it into pieces, each a row of its own.
    std::array<int64_t, NT> s{};
    for (size_t t = 0; t < NT; ++t) s[t] = L.sizes.empty() ? 0 : L.strides[t][0];
    parallel_for(L.numel, cost_per_item, [&](int64_t b, int64_t e) {
      std::array<int64_t, NT> off{};
      for (size_t t = 0; t < NT; ++t) off[t] = b * s[t];
      row(off, e - b, s);
    });
    return;
  }
  parallel_for(L.rows(), L.inner() * cost_per_item,
               [&](int64_t b, int64_t e) { for_each_row(L, b, e, row); });
}

}  // namespace ember::kernels::cpu
