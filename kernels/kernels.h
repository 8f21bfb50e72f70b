#pragma once
// The kernel interface the op layer calls. Kernels do no shape checks and no autograd: the
// op layer (tensor/*.cpp) has already checked, broadcast (stride-0 views) and converted the
// inputs, and allocated the output. CPU kernels live in kernels/cpu/, CUDA ones with the
// same file names in kernels/cuda/.
#include <cstdint>
#include <optional>
#include <utility>

#include "tensor/tensor.h"

namespace ember::kernels {

enum class UnaryOp : uint8_t {
  Neg, Abs, Sign, Exp, Log, Log1p, Sqrt, Rsqrt, Sin, Cos, Tanh, Sigmoid, Relu, Erf,
  Gelu, GeluTanh, Silu, PowScalar, Clamp, LogicalNot,
};
/// Parameters of PowScalar (a = exponent) and Clamp (a = min, b = max, when present).
struct UnaryArgs {
  double a = 0, b = 0;
  bool has_a = false, has_b = false;
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,
};
/// True for ops whose output is kBool.
constexpr bool is_comparison(BinaryOp op) { return op >= BinaryOp::Eq; }

enum class ReduceOp : uint8_t { Sum, Prod, Max, Min };

namespace cpu {
/// out = op(in); in and out have the same shape; dtypes as the op layer chose.
void unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args = {});
/// out = a op b; a and b are views already broadcast to out's shape, of one dtype;
/// alpha scales b for Add and Sub.
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1);
/// In place: self += value * t1 * t2 (divide: self += value * t1 / t2), the products formed
/// as (value * t1) * t2 like PyTorch's addcmul_/addcdiv_; t1 and t2 are views of self's shape.
void addcmul_(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide);
/// out = cond ? a : b, all views of out's shape; a, b and out share a dtype.
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
/// dst = src converted to dst's dtype; src is a view of dst's shape.
void copy(const Tensor& src, const Tensor& dst);
/// Every element of dst set to value.
void fill(const Tensor& dst, const Scalar& value);
/// Reduces `in` over dims (sorted) into out (shape of in with those dims set to 1, then
/// squeezed or not: out is contiguous with in's kept sizes). For Max/Min, indices (int64)
/// receives the position along the single reduced dim when defined.
void reduce(ReduceOp op, const Tensor& in, const Shape& dims, const Tensor& out, const Tensor& indices = {});
/// Softmax or log-softmax along dim of a contiguous input into a contiguous output.
void softmax(const Tensor& in, int64_t dim, bool log, const Tensor& out);
/// out[b] = a[b] @ b[b] for 3-D views, or one product of 2-D views (any strides); out is
/// contiguous.
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);
// Index kernels: index is int64 with values already checked against the indexed size (see
// index_min_max); any operand may have any strides; 0-d operands count as shape [1].
/// out = x indexed along dim by the 1-D index (index_select).
void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
/// out[... i ...] = x[... index[... i ...] ...] along dim (gather); out has index's shape.
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
/// out[... index[... i ...] ...] += src[... i ...] along dim over index's shape; out already
/// holds the base (bool adds as logical or).
void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
/// out.select(dim, index[i]) += source.select(dim, i); out already holds the base.
void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source);
/// out.select(dim, index[i]) = source.select(dim, i) (the last write wins on repeats).
void index_copy(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source);
/// Smallest and largest value of a non-empty int64 tensor (for bounds checks and one_hot).
std::pair<int64_t, int64_t> index_min_max(const Tensor& index);
/// Fills out with uniform [0, 1) or standard normal numbers from (seed, offset).
void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset);
/// LayerNorm of each row of a contiguous [rows, cols] x (rows = mean.numel()): mean [rows],
/// rstd = 1 / sqrt(biased variance + eps) [rows], y = (x - mean) * rstd * weight + bias.
/// weight and bias ([cols]) may be undefined; every tensor contiguous, float32 or float64.
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd);
/// Its backward from dy [rows, cols]: dx, dweight = sum over rows of dy * xhat and dbias =
/// sum over rows of dy (xhat = (x - mean) * rstd); undefined outputs are not computed.
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
/// out = x * keep_i / (1 - p) for contiguous x and out of one shape and floating dtype, where
/// keep_i = (number offset + i of seed's stream, as random() stores it in that dtype) >= p:
/// the mask rand(x.sizes()) >= p would give after drawing from that offset.
void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out);
}  // namespace cpu

namespace cuda {
// The CUDA twins of the elementwise kernels (kernels/cuda/unary.cu, binary.cu, copy.cu):
// the same contracts, every operand on the GPU. They queue work on the default stream and
// return without waiting for it.
void unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args = {});
void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1);
void addcmul_(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide);
void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out);
void copy(const Tensor& src, const Tensor& dst);
void fill(const Tensor& dst, const Scalar& value);
/// dst = src for contiguous tensors of one dtype and shape on different devices (host to
/// GPU or GPU to host); returns when the copy is done.
void copy_across_devices(const Tensor& src, const Tensor& dst);
// Reductions, softmax and matmul on the GPU (reduce.cu, softmax.cu, matmul.cu): the
// contracts of their CPU twins (softmax's input may have any strides there). reduce takes
// float32, float64, int64 and (max/min) bool; matmul float32 and float64 only.
void reduce(ReduceOp op, const Tensor& in, const Shape& dims, const Tensor& out, const Tensor& indices = {});
void softmax(const Tensor& in, int64_t dim, bool log, const Tensor& out);
/// Backward of softmax (log_softmax when log) along dim from its output `out` and the
/// incoming gradient; grad_in is a fresh contiguous tensor of out's shape.
void softmax_backward(const Tensor& grad_out, const Tensor& out, int64_t dim, bool log, const Tensor& grad_in);
void matmul(const Tensor& a, const Tensor& b, const Tensor& out);
// The index kernels (kernels/cuda/index.cu): scatter_add and index_add add with atomics;
// index_copy with repeated indices keeps an unspecified one of the candidates.
void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out);
void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src);
void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source);
void index_copy(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source);
/// Waits for the GPU: the two values come back to the host.
std::pair<int64_t, int64_t> index_min_max(const Tensor& index);
/// out contiguous; the CPU's formula (kernels/cuda/random.cu).
void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset);
// LayerNorm (kernels/cuda/layer_norm.cu): the CPU twins' contracts; float32 sums in float32.
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                const Tensor& mean, const Tensor& rstd);
void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                         const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias);
/// The same masks as the CPU's, bit for bit (kernels/cuda/dropout.cu).
void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out);
}  // namespace cuda

// ---- by device -------------------------------------------------------------------------------
// The op layer calls the elementwise kernels through these: each runs the CPU kernel or its
// CUDA twin by the output's device (the op layer has checked that all operands share it).
// On the CPU this costs one predictable branch.

inline bool on_cpu(const Tensor& t) { return t.impl()->storage->device().is_cpu(); }

/// The guard at the entry of every CPU kernel that has no CUDA twin yet: a CUDA tensor there
/// would have its device memory read by the host (a crash), so it throws instead.
inline void check_cpu(const Tensor& t, const char* op) {
  EMBER_CHECK(on_cpu(t), op, "not implemented for CUDA tensors");
}

// Without the CUDA backend no tensor can live on a GPU (Storage::allocate refuses), so the
// CUDA branches are compiled out.
#ifdef EMBER_WITH_CUDA
inline constexpr bool kWithCuda = true;
#else
inline constexpr bool kWithCuda = false;
namespace cuda {  // never called: no CUDA tensors exist; these keep the routers below valid
inline void unary(UnaryOp, const Tensor&, const Tensor&, const UnaryArgs&) {}
inline void binary(BinaryOp, const Tensor&, const Tensor&, const Tensor&, double) {}
inline void addcmul_(const Tensor&, const Tensor&, const Tensor&, double, bool) {}
inline void where(const Tensor&, const Tensor&, const Tensor&, const Tensor&) {}
inline void copy(const Tensor&, const Tensor&) {}
inline void fill(const Tensor&, const Scalar&) {}
inline void copy_across_devices(const Tensor&, const Tensor&) {}
inline void reduce(ReduceOp, const Tensor&, const Shape&, const Tensor&, const Tensor&) {}
inline void softmax(const Tensor&, int64_t, bool, const Tensor&) {}
inline void softmax_backward(const Tensor&, const Tensor&, int64_t, bool, const Tensor&) {}
inline void matmul(const Tensor&, const Tensor&, const Tensor&) {}
inline void index_select(const Tensor&, int64_t, const Tensor&, const Tensor&) {}
inline void gather(const Tensor&, int64_t, const Tensor&, const Tensor&) {}
inline void scatter_add(const Tensor&, int64_t, const Tensor&, const Tensor&) {}
inline void index_add(const Tensor&, int64_t, const Tensor&, const Tensor&) {}
inline void index_copy(const Tensor&, int64_t, const Tensor&, const Tensor&) {}
inline std::pair<int64_t, int64_t> index_min_max(const Tensor&) { return {}; }
inline void random(const Tensor&, bool, uint64_t, uint64_t) {}
inline void layer_norm(const Tensor&, const Tensor&, const Tensor&, double, const Tensor&, const Tensor&,
                       const Tensor&) {}
inline void layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                const Tensor&, const Tensor&, const Tensor&) {}
inline void dropout(const Tensor&, double, uint64_t, uint64_t, const Tensor&) {}
}  // namespace cuda
#endif

inline void unary(UnaryOp op, const Tensor& in, const Tensor& out, const UnaryArgs& args = {}) {
  if (kWithCuda && !on_cpu(out)) return cuda::unary(op, in, out, args);
  cpu::unary(op, in, out, args);
}
inline void binary(BinaryOp op, const Tensor& a, const Tensor& b, const Tensor& out, double alpha = 1) {
  if (kWithCuda && !on_cpu(out)) return cuda::binary(op, a, b, out, alpha);
  cpu::binary(op, a, b, out, alpha);
}
inline void addcmul_(const Tensor& self, const Tensor& t1, const Tensor& t2, double value, bool divide) {
  if (kWithCuda && !on_cpu(self)) return cuda::addcmul_(self, t1, t2, value, divide);
  cpu::addcmul_(self, t1, t2, value, divide);
}
inline void where(const Tensor& cond, const Tensor& a, const Tensor& b, const Tensor& out) {
  if (kWithCuda && !on_cpu(out)) return cuda::where(cond, a, b, out);
  cpu::where(cond, a, b, out);
}
inline void copy(const Tensor& src, const Tensor& dst) {
  if (kWithCuda && !on_cpu(dst)) return cuda::copy(src, dst);
  cpu::copy(src, dst);
}
inline void fill(const Tensor& dst, const Scalar& value) {
  if (kWithCuda && !on_cpu(dst)) return cuda::fill(dst, value);
  cpu::fill(dst, value);
}

// Reductions, softmax and matmul by device (the op layer's entry to them).
inline void reduce(ReduceOp op, const Tensor& in, const Shape& dims, const Tensor& out, const Tensor& indices = {}) {
  if (kWithCuda && !on_cpu(in)) return cuda::reduce(op, in, dims, out, indices);
  cpu::reduce(op, in, dims, out, indices);
}
inline void softmax(const Tensor& in, int64_t dim, bool log, const Tensor& out) {
  if (kWithCuda && !on_cpu(in)) return cuda::softmax(in, dim, log, out);
  cpu::softmax(in, dim, log, out);
}
inline void matmul(const Tensor& a, const Tensor& b, const Tensor& out) {
  if (kWithCuda && !on_cpu(out)) return cuda::matmul(a, b, out);
  cpu::matmul(a, b, out);
}

// Index kernels and the generator, by the device of the tensor written (or the index).
inline void index_select(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  if (kWithCuda && !on_cpu(out)) return cuda::index_select(x, dim, index, out);
  cpu::index_select(x, dim, index, out);
}
inline void gather(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& out) {
  if (kWithCuda && !on_cpu(out)) return cuda::gather(x, dim, index, out);
  cpu::gather(x, dim, index, out);
}
inline void scatter_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  if (kWithCuda && !on_cpu(out)) return cuda::scatter_add(out, dim, index, src);
  cpu::scatter_add(out, dim, index, src);
}
inline void index_add(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  if (kWithCuda && !on_cpu(out)) return cuda::index_add(out, dim, index, source);
  cpu::index_add(out, dim, index, source);
}
inline void index_copy(const Tensor& out, int64_t dim, const Tensor& index, const Tensor& source) {
  if (kWithCuda && !on_cpu(out)) return cuda::index_copy(out, dim, index, source);
  cpu::index_copy(out, dim, index, source);
}
inline std::pair<int64_t, int64_t> index_min_max(const Tensor& index) {
  if (kWithCuda && !on_cpu(index)) return cuda::index_min_max(index);
  return cpu::index_min_max(index);
}
inline void random(const Tensor& out, bool normal, uint64_t seed, uint64_t offset) {
  if (kWithCuda && !on_cpu(out)) return cuda::random(out, normal, seed, offset);
  cpu::random(out, normal, seed, offset);
}
inline void dropout(const Tensor& x, double p, uint64_t seed, uint64_t offset, const Tensor& out) {
  if (kWithCuda && !on_cpu(out)) return cuda::dropout(x, p, seed, offset, out);
  cpu::dropout(x, p, seed, offset, out);
}

// LayerNorm by the input's device.
inline void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, const Tensor& y,
                       const Tensor& mean, const Tensor& rstd) {
  if (kWithCuda && !on_cpu(x)) return cuda::layer_norm(x, weight, bias, eps, y, mean, rstd);
  cpu::layer_norm(x, weight, bias, eps, y, mean, rstd);
}
inline void layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& mean, const Tensor& rstd,
                                const Tensor& weight, const Tensor& dx, const Tensor& dweight, const Tensor& dbias) {
  if (kWithCuda && !on_cpu(x)) return cuda::layer_norm_backward(dy, x, mean, rstd, weight, dx, dweight, dbias);
  cpu::layer_norm_backward(dy, x, mean, rstd, weight, dx, dweight, dbias);
}

}  // namespace ember::kernels
