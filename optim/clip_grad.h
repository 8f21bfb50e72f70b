#pragma once
// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_. Both also act on
// row-sparse gradients (AutogradMeta::sparse_grad_values).
#include <vector>

#include "tensor/tensor.h"

namespace ember::optim {

/// Scales all gradients so that their joint norm is at most max_norm; returns the norm before
/// clipping. norm_type may be any positive value or infinity. Throws on a NaN/Inf norm when
/// error_if_nonfinite.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
/// Clamps every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace ember::optim
