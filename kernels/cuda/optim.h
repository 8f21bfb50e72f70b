#pragma once
// Fused optimizer steps on the GPU (kernels/cuda/optim.cu): one kernel per parameter does the
// whole update that optim/sgd.cpp and optim/adam.cpp otherwise write as a chain of tensor ops
// (each a full pass over memory). Same formulas, so results agree with the op chain to
// rounding (not bit for bit: the kernel keeps intermediates in registers, and nvcc may fuse
// multiply-adds). Every tensor is contiguous, on the GPU and of the parameter's dtype; the
// optimizer checks that and falls back to the op chain otherwise. Without the CUDA backend
// these are never called and compile to empty stubs.
#include <cstdint>

#include "tensor/tensor.h"

namespace ember::kernels::cuda {

struct SgdArgs {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, maximize = false;
  bool first = false;  // the momentum buffer is new: it starts as the gradient
};

struct AdamArgs {
  double lr = 0, beta1 = 0, beta2 = 0, eps = 0, weight_decay = 0;
  double step_size = 0;           // dense: lr / bias_correction1; sparse: lr * sqrt(bc2) / bc1
  double bias_correction2_sqrt = 1;  // dense only (sparse folds it into step_size)
  bool amsgrad = false, maximize = false, decoupled = false;
};

#ifdef EMBER_WITH_CUDA
/// p -= lr * (momentum-smoothed) grad, in place; buf undefined when momentum is 0.
void sgd_step(const Tensor& p, const Tensor& grad, const Tensor& buf, const SgdArgs& a);
/// The same for the rows of p listed in rows [U] (unique), values [U, ...] their gradient.
void sgd_sparse_step(const Tensor& p, const Tensor& rows, const Tensor& values, const Tensor& buf, const SgdArgs& a);
/// Adam/AdamW in place on p and its state (max_v undefined without amsgrad).
void adam_step(const Tensor& p, const Tensor& grad, const Tensor& m, const Tensor& v, const Tensor& max_v,
               const AdamArgs& a);
/// SparseAdam's lazy update of the listed rows.
void adam_sparse_step(const Tensor& p, const Tensor& rows, const Tensor& values, const Tensor& m, const Tensor& v,
                      const Tensor& max_v, const AdamArgs& a);
#else
inline void sgd_step(const Tensor&, const Tensor&, const Tensor&, const SgdArgs&) {}
inline void sgd_sparse_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const SgdArgs&) {}
inline void adam_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const AdamArgs&) {}
inline void adam_sparse_step(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                             const AdamArgs&) {}
#endif

}  // namespace ember::kernels::cuda
