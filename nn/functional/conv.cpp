// conv1d as unfold-to-columns + one matrix product; pooling as windows + a reduction. Both
// are built from differentiable view/stack ops, so backward comes for free.
#include "nn/functional/conv.h"

#include <limits>
#include <vector>

#include "nn/functional/basic.h"
#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn::functional {
namespace {

// [B, C, Lp] -> [B, C, K, Lout]: window k is the strided slice starting at k * dilation.
Tensor windows(const Tensor& xp, int64_t k, int64_t stride, int64_t dilation, int64_t lout) {
  std::vector<Tensor> cols;
  cols.reserve(static_cast<size_t>(k));
  for (int64_t j = 0; j < k; ++j)
    cols.push_back(xp.slice(2, j * dilation, j * dilation + (lout - 1) * stride + 1, stride));
  return stack(cols, 2);
}

int64_t out_length(const char* op, int64_t l, int64_t k, int64_t stride, int64_t padding, int64_t dilation) {
  EMBER_CHECK(k >= 1 && stride >= 1 && padding >= 0 && dilation >= 1, op, "invalid kernel_size=", k, ", stride=", stride,
              ", padding=", padding, ", dilation=", dilation);
  int64_t lout = (l + 2 * padding - dilation * (k - 1) - 1) / stride + 1;
  EMBER_CHECK(l + 2 * padding - dilation * (k - 1) - 1 >= 0 && lout >= 1, op, "input length ", l, " (padded ",
              l + 2 * padding, ") is smaller than the effective kernel size ", dilation * (k - 1) + 1);
  return lout;
}

}  // namespace

Tensor conv1d(const Tensor& x_in, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation) {
  const bool unbatched = x_in.dim() == 2;
  Tensor x = unbatched ? x_in.unsqueeze(0) : x_in;
  EMBER_CHECK(x.dim() == 3 && weight.dim() == 3 && x.size(1) == weight.size(1), "conv1d",
              "expected input [B, C_in, L] and weight [C_out, C_in, K] with matching C_in, got input ",
              shape_text(x_in.sizes()), " and weight ", shape_text(weight.sizes()));
  const int64_t B = x.size(0), C = x.size(1), L = x.size(2);
  const int64_t cout = weight.size(0), K = weight.size(2);
  const int64_t lout = out_length("conv1d", L, K, stride, padding, dilation);
  Tensor xp = padding > 0 ? pad(x, {padding, padding}) : x;
  Tensor cols = windows(xp, K, stride, dilation, lout);  // [B, C, K, Lout]
  // [B * Lout, C * K] @ [C * K, C_out]: one GEMM for the whole batch.
  Tensor lhs = cols.permute({0, 3, 1, 2}).reshape({B * lout, C * K});
  Tensor y = mm(lhs, weight.reshape({cout, C * K}).t());
  if (bias.defined()) {
    EMBER_CHECK(bias.dim() == 1 && bias.size(0) == cout, "conv1d", "bias must have shape [", cout, "], got ",
                shape_text(bias.sizes()));
    y = y + bias;
  }
  y = y.view({B, lout, cout}).permute({0, 2, 1}).contiguous();
  return unbatched ? y.squeeze(0) : y;
}

Tensor max_pool1d(const Tensor& x_in, int64_t kernel_size, int64_t stride, int64_t padding, int64_t dilation) {
  const bool unbatched = x_in.dim() == 2;
  Tensor x = unbatched ? x_in.unsqueeze(0) : x_in;
  EMBER_CHECK(x.dim() == 3, "max_pool1d", "expected input [B, C, L] or [C, L], got ", shape_text(x_in.sizes()));
  if (stride == 0) stride = kernel_size;
  EMBER_CHECK(padding * 2 <= kernel_size, "max_pool1d", "pad should be at most half of effective kernel size, but got pad=",
              padding, ", kernel_size=", kernel_size);
  const int64_t lout = out_length("max_pool1d", x.size(2), kernel_size, stride, padding, dilation);
  Tensor xp = padding > 0 ? pad(x, {padding, padding}, -std::numeric_limits<double>::infinity()) : x;
  Tensor y = std::get<0>(windows(xp, kernel_size, stride, dilation, lout).max(2));
  return unbatched ? y.squeeze(0) : y;
}

namespace {
template <class Reduce>
Tensor adaptive_pool(const char* op, const Tensor& x, int64_t output_size, Reduce&& reduce) {
  EMBER_CHECK(x.dim() >= 1 && output_size >= 1 && x.size(-1) >= 1, op, "expected a non-empty last dim and output_size >= 1, got input ",
              shape_text(x.sizes()), " and output_size ", output_size);
  const int64_t L = x.size(-1);
  std::vector<Tensor> parts;
  parts.reserve(static_cast<size_t>(output_size));
  for (int64_t i = 0; i < output_size; ++i) {
    int64_t start = (i * L) / output_size;
    int64_t end = ((i + 1) * L + output_size - 1) / output_size;
    parts.push_back(reduce(x.slice(-1, start, end)));
  }
  return cat(parts, -1);
}
}  // namespace

Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size) {
  return adaptive_pool("adaptive_max_pool1d", x, output_size,
                       [](const Tensor& w) { return std::get<0>(w.max(-1, true)); });
}

Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size) {
  return adaptive_pool("adaptive_avg_pool1d", x, output_size, [](const Tensor& w) { return w.mean({-1}, true); });
}

}  // namespace ember::nn::functional
