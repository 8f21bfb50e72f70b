// Copy with dtype conversion, and fill.
#include "kernels/cpu/dispatch.h"
#include "kernels/cpu/map.h"
#include "kernels/kernels.h"

namespace ember::kernels::cpu {
namespace {

// A transposed copy (contiguous() of x.t(), or autograd handing back the gradient of a
// transposed weight) reads one operand with a large stride. Row by row, every read then
// touches a new cache line: profiling a Linear's backward showed 36 % of its time in that
// copy. Walking 32 x 32 tiles keeps both sides in cache.
constexpr int64_t kTile = 32;

// True (with rows, cols and the source's strides) when the copy is dst[i][j] = src[j*ss1 + i*ss0]
// with dst row-major and src walking down columns.
bool is_transposed_2d(const Loop<2>& L, int64_t& rows, int64_t& cols, int64_t& src_row_stride,
                      int64_t& src_col_stride) {
  if (L.sizes.size() != 2) return false;
  const Shape& d = L.strides[0];
  const Shape& s = L.strides[1];
  if (d[1] != 1 || d[0] != L.sizes[1] || s[0] != 1 || s[1] < L.sizes[0]) return false;
  rows = L.sizes[0];
  cols = L.sizes[1];
  src_row_stride = s[0];
  src_col_stride = s[1];
  return rows >= kTile && cols >= kTile;
}

template <class To, class From, class F>
void tiled_transpose(const Tensor& src, const Tensor& dst, const Loop<2>& L, F convert) {
  int64_t rows = 0, cols = 0, rs = 0, cs = 0;
  is_transposed_2d(L, rows, cols, rs, cs);
  To* out = dst.impl()->data_as<To>();
  const From* in = src.impl()->data_as<From>();
  const int64_t row_tiles = (rows + kTile - 1) / kTile;
  parallel_for(row_tiles, kTile * cols, [&](int64_t tb, int64_t te) {
    for (int64_t i0 = tb * kTile; i0 < std::min(rows, te * kTile); i0 += kTile)
      for (int64_t j0 = 0; j0 < cols; j0 += kTile)
        for (int64_t i = i0; i < std::min(rows, i0 + kTile); ++i)
          for (int64_t j = j0; j < std::min(cols, j0 + kTile); ++j) out[i * cols + j] = convert(in[i * rs + j * cs]);
  });
}

}  // namespace

void copy(const Tensor& src, const Tensor& dst) {
  dispatch_all(dst.dtype(), "copy_", [&]<class To>() {
    dispatch_all(src.dtype(), "copy_", [&]<class From>() {
      auto convert = [](From x) {
        if constexpr (std::is_same_v<To, bool>) return x != From(0);
        else return static_cast<To>(x);
      };
      if (dst.is_contiguous() && !src.is_contiguous() && src.numel() >= kTile * kTile) {
        Loop<2> L = make_loop<2>(dst.sizes(), {&dst.strides(), &src.strides()});
        int64_t rows = 0, cols = 0, rs = 0, cs = 0;
        if (is_transposed_2d(L, rows, cols, rs, cs)) return tiled_transpose<To, From>(src, dst, L, convert);
      }
      map<To, From>(convert, dst, src);
    });
  });
}

void fill(const Tensor& dst, const Scalar& value) {
  dispatch_all(dst.dtype(), "fill_", [&]<class T>() {
    const T v = value.to<T>();
    map<T>([v]() { return v; }, dst);
  });
}

}  // namespace ember::kernels::cpu
