// Gradient clipping with the same float32 arithmetic as PyTorch's: per-tensor norms, the norm
// of those norms, then one clamped coefficient multiplied into every gradient.
#include "optim/clip_grad.h"

#include <cmath>
#include <limits>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "optim/optimizer.h"
#include "tensor/ops.h"

namespace ember::optim {

namespace {
// The dense grads and the sparse grad values of params (handles that alias the originals).
// Sparse grads are coalesced first: with a row listed twice, the norm of the raw values would
// not be the norm of the gradient.
std::vector<Tensor> gradients_of(const std::vector<Tensor>& params) {
  std::vector<Tensor> out;
  for (const Tensor& p : params) {
    autograd::AutogradMeta* m = autograd::maybe_meta(p);
    if (m == nullptr) continue;
    if (m->grad.defined()) out.push_back(m->grad);
    if (auto sparse = detail::coalesced_sparse_grad(p)) {
      m->sparse_grad_indices = sparse->first;
      m->sparse_grad_values = sparse->second;
      autograd::mark_sparse_rows_checked(*m);  // coalesced_sparse_grad checked or merged them
      out.push_back(m->sparse_grad_values);
    }
  }
  return out;
}
}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads = gradients_of(params);
  if (grads.empty()) return 0.0;
  std::vector<Tensor> norms;
  ScalarType common = grads.front().dtype();
  for (const Tensor& g : grads) common = promote_types(common, g.dtype());
  // The norms stay where the gradients are (the first one's device when they differ): on a GPU
  // the whole clip then waits for the device once, at item() below, not once per parameter.
  const Device device = grads.front().device();
  for (const Tensor& g : grads) norms.push_back(norm(g, norm_type).to(common).to(device));
  Tensor total = std::isinf(norm_type) ? max(stack(norms)) : norm(stack(norms), norm_type);
  const double total_value = total.item<double>();
  EMBER_CHECK(!error_if_nonfinite || std::isfinite(total_value), "clip_grad_norm_", "The total norm of order ",
              norm_type, " for gradients from `parameters` is non-finite, so it cannot be clipped.");
  // clamp(max_norm / (total + 1e-6), max=1), in the gradients' precision, as PyTorch computes it.
  Tensor coef = clamp(div(full({}, max_norm, total.options()), total.add(1e-6)), std::nullopt, 1.0);
  for (Tensor& g : grads) g.mul_(coef.to(g.device()));
  return total_value;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  NoGradGuard no_grad;
  for (Tensor& g : gradients_of(params)) g.clamp_(-clip_value, clip_value);
}

}  // namespace ember::optim
