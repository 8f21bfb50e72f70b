#pragma once
// Standalone CUDA kernels on raw device pointers: GEMM (cuBLAS and our own tiled SGEMM),
// softmax, layer norm and reductions over the last or first dim of a contiguous [outer,
// inner] array. They know nothing of Tensor: the op layer passes data pointers, sizes and a
// stream, so the kernels can be tested and benchmarked on their own. Every function is
// asynchronous on `stream` (0: the legacy default stream), checks its launch, and throws
// ember::Error ("[cuda] ..." or "[cublas] ...") on a failed CUDA call or ("[op] ...") on bad
// sizes. Sizes of 0 are fine: nothing is launched (or C is scaled by beta when k = 0).
#include <cuda_runtime.h>

#include <cstdint>

namespace ember::kernels::cuda {

// ---- matmul (matmul.cu) ------------------------------------------------------------------------

/// Which implementation float GEMMs use. cuBLAS is the default; Tiled is our own kernel
/// (shared-memory tiles, 8x8 register blocking, float4 loads), kept for teaching and
/// benchmarks. double GEMMs always use cuBLAS.
enum class MatmulBackend { Cublas, Tiled };
void set_matmul_backend(MatmulBackend backend);
MatmulBackend matmul_backend();

/// Row-major C[m,n] = alpha * op(A) @ op(B) + beta * C. op(A) is [m,k]: A is stored [m,k]
/// with row stride lda >= k, or [k,m] with lda >= m when trans_a; likewise B is [k,n]
/// (ldb >= n) or, when trans_b, [n,k] (ldb >= k). ldc >= n. With beta == 0, C is not read.
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
          const float* b, int64_t ldb, float beta, float* c, int64_t ldc, cudaStream_t stream = 0);
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a, int64_t lda,
          const double* b, int64_t ldb, double beta, double* c, int64_t ldc, cudaStream_t stream = 0);

/// `batch` GEMMs as above; matrix i starts at a + i * stride_a (likewise b, c). cuBLAS's
/// strided batched GEMM, or the tiled kernel with the batch as the grid's third dim.
void gemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float* a, int64_t lda,
                  int64_t stride_a, const float* b, int64_t ldb, int64_t stride_b, float beta, float* c, int64_t ldc,
                  int64_t stride_c, int64_t batch, cudaStream_t stream = 0);
void gemm_batched(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, double alpha, const double* a,
                  int64_t lda, int64_t stride_a, const double* b, int64_t ldb, int64_t stride_b, double beta, double* c,
                  int64_t ldc, int64_t stride_c, int64_t batch, cudaStream_t stream = 0);

// ---- softmax (softmax.cu) ----------------------------------------------------------------------

/// out = softmax (or log_softmax when log) of each row of a contiguous [rows, cols] array.
/// out may be in.
void softmax(const float* in, float* out, int64_t rows, int64_t cols, bool log, cudaStream_t stream = 0);
void softmax(const double* in, double* out, int64_t rows, int64_t cols, bool log, cudaStream_t stream = 0);

/// Backward of softmax given its output y and the incoming gradient g, per row:
/// grad_in = y * (g - sum(g * y)), or for log_softmax grad_in = g - exp(y) * sum(g).
/// grad_in may be grad_out.
void softmax_backward(const float* grad_out, const float* out, float* grad_in, int64_t rows, int64_t cols, bool log,
                      cudaStream_t stream = 0);
void softmax_backward(const double* grad_out, const double* out, double* grad_in, int64_t rows, int64_t cols, bool log,
                      cudaStream_t stream = 0);

// ---- layer norm (layer_norm.cu) ----------------------------------------------------------------

/// LayerNorm of each row of a contiguous [rows, cols] x: mean[rows], rstd[rows] = 1 /
/// sqrt(biased variance + eps), y = (x - mean) * rstd * weight + bias. weight and bias
/// ([cols]) may be null.
void layer_norm(const float* x, const float* weight, const float* bias, float* y, float* mean, float* rstd,
                int64_t rows, int64_t cols, double eps, cudaStream_t stream = 0);
void layer_norm(const double* x, const double* weight, const double* bias, double* y, double* mean, double* rstd,
                int64_t rows, int64_t cols, double eps, cudaStream_t stream = 0);
/// Elements of the workspace layer_norm_backward needs for dweight / dbias (0: none).
int64_t layer_norm_backward_workspace(int64_t rows, int64_t cols);
/// Backward from dy [rows, cols]: dx, dweight = sum over rows of dy * xhat, dbias = sum over
/// rows of dy. dx, dweight, dbias and weight may be null (not wanted / weight 1). Deterministic.
void layer_norm_backward(const float* dy, const float* x, const float* mean, const float* rstd, const float* weight,
                         float* dx, float* dweight, float* dbias, int64_t rows, int64_t cols, float* workspace,
                         cudaStream_t stream = 0);
void layer_norm_backward(const double* dy, const double* x, const double* mean, const double* rstd,
                         const double* weight, double* dx, double* dweight, double* dbias, int64_t rows, int64_t cols,
                         double* workspace, cudaStream_t stream = 0);

// ---- reductions (reduce.cu) --------------------------------------------------------------------

/// Var divides by (count - correction) (1: unbiased, as PyTorch's default); LogSumExp is
/// max + log(sum(exp(x - max))). Over an empty dim: Sum 0, Mean NaN, LogSumExp -inf; Max,
/// Min and the arg reductions need a non-empty dim.
enum class Reduction { Sum, Mean, Max, Min, Var, LogSumExp };
enum class ArgReduction { Max, Min };

/// out[o] = op over i of in[o * inner + i]: reduces the last dim of [outer, inner].
/// Deterministic (a fixed tree, no atomics): the same input gives the same bits every run.
void reduce_last(Reduction op, const float* in, float* out, int64_t outer, int64_t inner, cudaStream_t stream = 0,
                 double correction = 1);
void reduce_last(Reduction op, const double* in, double* out, int64_t outer, int64_t inner, cudaStream_t stream = 0,
                 double correction = 1);
/// out[i] = op over o of in[o * inner + i]: reduces the first dim of [outer, inner].
void reduce_first(Reduction op, const float* in, float* out, int64_t outer, int64_t inner, cudaStream_t stream = 0,
                  double correction = 1);
void reduce_first(Reduction op, const double* in, double* out, int64_t outer, int64_t inner, cudaStream_t stream = 0,
                  double correction = 1);

/// max/min with the position along the reduced dim (the first one on ties; NaN counts as
/// the extreme, as in PyTorch). values or indices may be null when not wanted.
void arg_reduce_last(ArgReduction op, const float* in, float* values, int64_t* indices, int64_t outer, int64_t inner,
                     cudaStream_t stream = 0);
void arg_reduce_last(ArgReduction op, const double* in, double* values, int64_t* indices, int64_t outer, int64_t inner,
                     cudaStream_t stream = 0);
void arg_reduce_first(ArgReduction op, const float* in, float* values, int64_t* indices, int64_t outer, int64_t inner,
                      cudaStream_t stream = 0);
void arg_reduce_first(ArgReduction op, const double* in, double* values, int64_t* indices, int64_t outer, int64_t inner,
                      cudaStream_t stream = 0);

}  // namespace ember::kernels::cuda
