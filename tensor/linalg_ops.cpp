// Matrix products: torch.matmul's shape rules and PyTorch's checks here, the GEMM in
// kernels/cpu/matmul.cpp, the backward formulas at the end.
//
// Every product reaches the kernel as [B, n, k] x [B, k, m] views (or as the 2-D tensors
// themselves for a single product). Broadcast batch dims are stride-0 views and transposed
// or sliced inputs keep their strides: the kernel decides what, if anything, to copy. matmul's vector cases are unsqueeze/squeeze views around one
// recorded product, so their gradients come from the view ops' own backward.
#include "tensor/linalg_ops.h"

#include "autograd/function.h"
#include "autograd/functions/linalg.h"
#include "kernels/kernels.h"
#include "tensor/factory.h"
#include "tensor/internal.h"
#include "tensor/pointwise_ops.h"
#include "tensor/view_ops.h"

namespace ember {
namespace {
// True for a column-major matrix (x.t() of a row-major one, like Linear's weight.t()).
bool column_major(const Tensor& x) { return x.dim() == 2 && x.stride(0) == 1 && x.stride(1) != 1 && x.size(0) > 1; }
}  // namespace

namespace {

// The dtype names PyTorch prints in "expected scalar type" messages.
const char* torch_type_name(ScalarType t) {
  switch (t) {
    case kFloat32: return "Float";
    case kFloat64: return "Double";
    case kInt64: return "Long";
    case kBool: return "Bool";
  }
  return "Unknown";
}

// cuBLAS has no integer GEMM: int64 products stay on the CPU.
void check_cuda_dtype(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(kernels::on_cpu(a) || is_floating_point(a.dtype()), op, "not implemented for CUDA tensors of dtype ",
              dtype_name(a.dtype()), " (shapes ", shape_text(a.sizes()), " and ", shape_text(b.sizes()),
              "): cuBLAS has no integer GEMM");
}

// Defined, one device, one dtype: PyTorch's products do not promote.
void check_operands(const Tensor& a, const Tensor& b, const char* op) {
  internal::check_defined(a, op);
  internal::check_defined(b, op);
  internal::check_same_device(a, b, op);
  EMBER_CHECK(a.dtype() == b.dtype(), op, "expected scalar type ", torch_type_name(a.dtype()), " but found ",
              torch_type_name(b.dtype()));
  check_cuda_dtype(a, b, op);
}

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

Shape batch_dims(const Tensor& t) { return Shape(t.sizes().begin(), t.sizes().end() - 2); }

// t ([..., rows, cols], batch dims broadcastable to `batch`) as the kernel's [B, rows, cols]
// view: broadcast dims get stride 0 and the batch dims merge into one without a copy when
// their strides nest (always for one batch dim); otherwise the broadcast is materialized,
// as PyTorch's expand + reshape does. Written against sizes()/strides() directly: this runs
// on every product, and at 64x64 the per-call overhead is a visible share of the time.
Tensor as_batch3(const Tensor& t, const Shape& batch) {
  const Shape& sz = t.sizes();
  const Shape& st = t.strides();
  const size_t nd = sz.size(), nb = batch.size();
  const int64_t rows = sz[nd - 2], cols = sz[nd - 1];
  int64_t nbatch = 1, bstride = 0, extent = -1;  // extent: stride * size of the dims merged so far
  bool merges = true;
  for (size_t i = nb; i-- > 0;) {
    nbatch *= batch[i];
    const size_t from_end = nb - i;  // t's batch dims are right-aligned with `batch`
    const bool own = from_end <= nd - 2 && sz[nd - 2 - from_end] != 1;
    if (batch[i] == 1) continue;
    const int64_t stride = own ? st[nd - 2 - from_end] : 0;
    if (extent >= 0 && stride != extent) merges = false;
    if (extent < 0) bstride = stride;
    extent = stride * batch[i];
  }
  if (merges) return internal::alias(t, Shape{nbatch, rows, cols}, Shape{bstride, st[nd - 2], st[nd - 1]},
                                     t.storage_offset());
  const Shape full = with_matrix(batch, rows, cols);
  Tensor copy = internal::new_tensor(full, t.dtype(), t.device());
  kernels::copy(internal::broadcast_to(t, full), copy);
  return internal::alias(copy, Shape{nbatch, rows, cols}, Shape{rows * cols, cols, 1}, 0);
}

// The kernel on a [..., n, k] and b [..., k, m] whose batch dims broadcast to `batch`:
// a fresh contiguous [batch..., n, m], without autograd.
Tensor run_matmul(const Tensor& a, const Tensor& b, const Shape& batch) {
  const int64_t n = a.sizes()[a.sizes().size() - 2], m = b.sizes().back();
  Tensor out = internal::new_tensor(with_matrix(batch, n, m), a.dtype(), a.device());
  if (batch.empty() && a.dim() == 2 && b.dim() == 2) {  // the kernel takes a single product as is
    kernels::matmul(a, b, out);
    return out;
  }
  Tensor out3 = internal::alias(out, Shape{shape_numel(batch), n, m}, Shape{n * m, m, 1}, 0);
  kernels::matmul(as_batch3(a, batch), as_batch3(b, batch), out3);
  return out;
}

// Records out = a @ b (batched over broadcast dims) for autograd.
void record_matmul(const Tensor& a, const Tensor& b, const Tensor& out, const char* name) {
  if (!is_floating_point(out.dtype()) || !autograd::needs_grad(a, b)) return;
  auto node = autograd::make_node<autograd::MatmulBackward>(a, b);
  node->op_name = name;
  if (node->needs_input_grad(0)) node->b = node->save(b);
  if (node->needs_input_grad(1)) node->a = node->save(a);
  node->a_column_major = column_major(a);
  node->b_column_major = column_major(b);
  autograd::set_history(out, node);
}

void check_mm_shapes(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.size(1) == b.size(0), op, "mat1 and mat2 shapes cannot be multiplied (", a.size(0), "x", a.size(1),
              " and ", b.size(0), "x", b.size(1), ")");
}

// mm on checked 2-D operands; `op` names the caller in errors.
Tensor mm_checked(const Tensor& a, const Tensor& b, const char* op) {
  check_mm_shapes(a, b, op);
  Tensor out = run_matmul(a, b, Shape{});
  record_matmul(a, b, out, "MmBackward");
  return out;
}

}  // namespace

Tensor mm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "mm");
  EMBER_CHECK(a.dim() == 2, "mm", "self must be a matrix");
  EMBER_CHECK(b.dim() == 2, "mm", "mat2 must be a matrix");
  return mm_checked(a, b, "mm");
}

Tensor bmm(const Tensor& a, const Tensor& b) {
  check_operands(a, b, "bmm");
  EMBER_CHECK(a.dim() == 3, "bmm", "batch1 must be a 3D tensor");
  EMBER_CHECK(b.dim() == 3, "bmm", "batch2 must be a 3D tensor");
  EMBER_CHECK(b.size(0) == a.size(0) && b.size(1) == a.size(2), "bmm",
              "Expected size for first two dimensions of batch2 tensor to be: [", a.size(0), ", ", a.size(2),
              "] but got: [", b.size(0), ", ", b.size(1), "].");
  Tensor out = run_matmul(a, b, Shape{a.size(0)});
  record_matmul(a, b, out, "BmmBackward");
  return out;
}

Tensor dot(const Tensor& a, const Tensor& b) {
  internal::check_defined(a, "dot");
  internal::check_defined(b, "dot");
  internal::check_same_device(a, b, "dot");
  EMBER_CHECK(a.dim() == 1 && b.dim() == 1, "dot", "1D tensors expected, but got ", a.dim(), "D and ", b.dim(),
              "D tensors");
  EMBER_CHECK(a.dtype() == b.dtype(), "dot", "dot : expected both vectors to have same dtype, but found ",
              torch_type_name(a.dtype()), " and ", torch_type_name(b.dtype()));
  check_cuda_dtype(a, b, "dot");
  EMBER_CHECK(a.size(0) == b.size(0), "dot", "inconsistent tensor size, expected tensor [", a.size(0), "] and src [",
              b.size(0), "] to have the same number of elements, but got ", a.size(0), " and ", b.size(0),
              " elements respectively");
  const int64_t k = a.size(0);
  // A row times a column; the stride of a size-1 dim is never read.
  Tensor row = internal::alias(a, Shape{1, k}, Shape{k, a.stride(0)}, a.storage_offset());
  Tensor col = internal::alias(b, Shape{k, 1}, Shape{b.stride(0), 1}, b.storage_offset());
  Tensor prod = run_matmul(row, col, Shape{});
  Tensor out = internal::alias(prod, Shape{}, Shape{}, 0);
  if (is_floating_point(out.dtype()) && autograd::needs_grad(a, b)) {
    auto node = autograd::make_node<autograd::DotBackward>(a, b);
    if (node->needs_input_grad(0)) node->b = node->save(b);
    if (node->needs_input_grad(1)) node->a = node->save(a);
    autograd::set_history(out, node);
  }
  return out;
}

Tensor matmul(const Tensor& a, const Tensor& b) {
  internal::check_defined(a, "matmul");
  internal::check_defined(b, "matmul");
  const int64_t da = a.dim(), db = b.dim();
  EMBER_CHECK(da >= 1 && db >= 1, "matmul", "both arguments to matmul need to be at least 1D, but they are ", da,
              "D and ", db, "D");
  if (da == 1 && db == 1) return dot(a, b);
  check_operands(a, b, "matmul");
  if (da == 2 && db == 1) {
    EMBER_CHECK(a.size(1) == b.size(0), "matmul", "size mismatch, got input (", a.size(0), "), mat (", a.size(0), "x",
                a.size(1), "), vec (", b.size(0), ")");
    return squeeze(mm_checked(a, unsqueeze(b, 1), "matmul"), 1);
  }
  if (da == 1 && db == 2) return squeeze(mm_checked(unsqueeze(a, 0), b, "matmul"), 0);
  if (da == 2 && db == 2) return mm_checked(a, b, "matmul");

  const int64_t k = a.size(-1);
  if (da >= 3 && db <= 2) {
    // [..., n, k] @ [k, m]: one GEMM over all the rows of a, when they merge without a copy.
    // When they do not (a transposed batch), the batched path below reads a as it lies.
    Shape rows_shape(a.sizes().begin(), a.sizes().end() - 1);
    const Shape folded{shape_numel(rows_shape), k};
    if (view_strides(a.sizes(), a.strides(), folded)) {
      Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
      Tensor out = mm_checked(view(a, folded), b2, "matmul");
      if (db == 2) rows_shape.push_back(b.size(1));
      return view(out, rows_shape);
    }
  }

  // Batched, with broadcast batch dims; a vector operand becomes a 1-row or 1-column matrix.
  Tensor a2 = da == 1 ? unsqueeze(a, 0) : a;
  Tensor b2 = db == 1 ? unsqueeze(b, 1) : b;
  const Shape batch = broadcast_shapes(batch_dims(a2), batch_dims(b2), "matmul");
  EMBER_CHECK(b2.size(-2) == k, "matmul", "Expected size for first two dimensions of batch2 tensor to be: [",
              shape_numel(batch), ", ", k, "] but got: [", shape_numel(batch), ", ", b2.size(-2), "].");
  Tensor out = run_matmul(a2, b2, batch);
  record_matmul(a2, b2, out, da >= 3 && db >= 3 ? "BmmBackward" : "MatmulBackward");
  if (da == 1) out = squeeze(out, -2);
  if (db == 1) out = squeeze(out, -1);
  return out;
}

Tensor addmm(const Tensor& self, const Tensor& a, const Tensor& b, const Scalar& beta, const Scalar& alpha) {
  internal::check_defined(self, "addmm");
  check_operands(a, b, "addmm");
  internal::check_same_device(self, a, "addmm");
  EMBER_CHECK(self.dtype() == a.dtype(), "addmm", "expected scalar type ", torch_type_name(a.dtype()), " but found ",
              torch_type_name(self.dtype()));
  EMBER_CHECK(a.dim() == 2, "addmm", "mat1 must be a matrix, got ", a.dim(), "-D tensor");
  EMBER_CHECK(b.dim() == 2, "addmm", "mat2 must be a matrix, got ", b.dim(), "-D tensor");
  check_mm_shapes(a, b, "addmm");
  if (!is_floating_point(a.dtype())) {
    EMBER_CHECK(!beta.is_floating_point(), "addmm",
                "For integral input tensors, argument beta must not be a floating point number.");
    EMBER_CHECK(!alpha.is_floating_point(), "addmm",
                "For integral input tensors, argument alpha must not be a floating point number.");
  }
  const Shape out_shape{a.size(0), b.size(1)};
  bool expandable = self.dim() <= 2;
  for (int64_t i = 1; expandable && i <= self.dim(); ++i)
    expandable = self.size(-i) == 1 || self.size(-i) == out_shape[2 - i];
  EMBER_CHECK(expandable, "addmm", "The expanded size of the tensor (", out_shape[1], ") must match the existing size (",
              self.size(-1), ") at non-singleton dimension 1.  Target sizes: ", shape_text(out_shape),
              ".  Tensor sizes: ", shape_text(self.sizes()));

  Tensor out = run_matmul(a, b, Shape{});
  // out is fresh and in no graph yet: scale and add in place, in the kernels directly.
  if (alpha.to_double() != 1) {
    Tensor s = internal::broadcast_to(scalar_tensor(alpha, out.options()), out_shape);
    kernels::binary(kernels::BinaryOp::Mul, out, s, out);
  }
  // beta == 0 ignores self entirely (NaN and inf in it do not propagate), as in PyTorch.
  if (beta.to_double() != 0)
    kernels::binary(kernels::BinaryOp::Add, out, internal::broadcast_to(self, out_shape), out, beta.to_double());
  if (is_floating_point(out.dtype()) && autograd::needs_grad(self, a, b)) {
    auto node = autograd::make_node<autograd::AddmmBackward>(self, a, b);
    node->beta = beta;
    node->alpha = alpha;
    if (node->needs_input_grad(1)) node->b = node->save(b);
    if (node->needs_input_grad(2)) node->a = node->save(a);
    autograd::set_history(out, node);
  }
  return out;
}

// ---- backward ----------------------------------------------------------------------------

namespace autograd {

namespace {
// lhs @ rhs, computed as (rhs^T @ lhs^T)^T when `like` is column-major, so the gradient has
// the layout of the input it belongs to. For Linear's weight.t() the transposed gradient then
// reaches the weight contiguous, instead of being copied there (as PyTorch's mm_mat2_backward).
Tensor product_like(const Tensor& lhs, const Tensor& rhs, bool column_major_result) {
  if (column_major_result && lhs.dim() == 2 && rhs.dim() == 2)
    return transpose(matmul(transpose(rhs, 0, 1), transpose(lhs, 0, 1)), 0, 1);
  return matmul(lhs, rhs);
}
}  // namespace

GradList MatmulBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out(2);
  if (needs_input_grad(0)) out[0] = product_like(g, transpose(unpack(b), -1, -2), a_column_major);
  if (needs_input_grad(1)) out[1] = product_like(transpose(unpack(a), -1, -2), g, b_column_major);
  return out;
}

GradList AddmmBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out(3);
  auto scaled = [](const Tensor& x, const Scalar& s) { return s.to_double() == 1 ? x : x * s; };
  if (needs_input_grad(0)) out[0] = scaled(g, beta);  // the engine sums it down to self's shape
  if (needs_input_grad(1)) out[1] = scaled(mm(g, t(unpack(b))), alpha);
  if (needs_input_grad(2)) out[2] = scaled(mm(t(unpack(a)), g), alpha);
  return out;
}

GradList DotBackward::apply(GradList&& grads) {
  const Tensor& g = grads[0];
  GradList out(2);
  if (needs_input_grad(0)) out[0] = g * unpack(b);
  if (needs_input_grad(1)) out[1] = g * unpack(a);
  return out;
}

}  // namespace autograd
}  // namespace ember
