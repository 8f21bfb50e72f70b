// Losses, composed from ember ops (see nn/functional/loss.h for the semantics).
#include "nn/functional/loss.h"

#include "tensor/error.h"
#include "tensor/ops.h"

namespace ember::nn::functional {
namespace {

Tensor reduce(const Tensor& loss, const std::string& reduction, const char* op) {
  if (reduction == "none") return loss;
  if (reduction == "mean") return loss.mean();
  if (reduction == "sum") return loss.sum();
  detail::throw_error(op, reduction, " is not a valid value for reduction");
}

void check_reduction(const std::string& reduction, const char* op) {
  EMBER_CHECK(reduction == "none" || reduction == "mean" || reduction == "sum", op, reduction,
              " is not a valid value for reduction");
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  EMBER_CHECK(a.sizes() == b.sizes(), op, "Using a target size (", shape_text(b.sizes()),
              ") that is different to the input size (", shape_text(a.sizes()), ") is not supported");
}

// [N, C, d...] -> [M, C] with the class dim last, and targets [N, d...] -> [M].
std::pair<Tensor, Tensor> flatten_classes(const Tensor& x, const Tensor& targets, const char* op) {
  EMBER_CHECK(x.dim() >= 1, op, "input must have at least 1 dim, got ", shape_text(x.sizes()));
  EMBER_CHECK(targets.dtype() == kInt64, op, "expected int64 class targets, got ", targets.dtype());
  if (x.dim() == 1) {  // unbatched [C] with a 0-d target
    EMBER_CHECK(targets.dim() == 0, op, "1-D input [C] needs a 0-d target, got ", shape_text(targets.sizes()));
    return {x.unsqueeze(0), targets.reshape({1})};
  }
  Shape expect;
  expect.push_back(x.size(0));
  for (int64_t d = 2; d < x.dim(); ++d) expect.push_back(x.size(d));
  EMBER_CHECK(targets.sizes() == expect, op, "Expected target size ", shape_text(expect), ", got ",
              shape_text(targets.sizes()), " for input ", shape_text(x.sizes()));
  const int64_t C = x.size(1);
  Tensor xm = x;
  if (x.dim() > 2) {
    Shape perm;
    perm.push_back(0);
    for (int64_t d = 2; d < x.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    xm = x.permute(perm);
  }
  return {xm.reshape({-1, C}), targets.reshape({-1})};
}

struct Picked {
  Tensor loss;     // [M] per-element weighted loss (0 where ignored)
  Tensor weights;  // [M] weight of each target (0 where ignored)
  Tensor valid;    // [M] bool
};

Picked nll_rows(const Tensor& logp, const Tensor& t, const Tensor& weight, int64_t ignore_index, const char* op) {
  const int64_t C = logp.size(1);
  Tensor valid = t != ignore_index;
  Tensor safe = where(valid, t, Scalar(0));
  Tensor bad = logical_and(valid, logical_or(safe < 0, safe >= C));
  EMBER_CHECK(bad.sum().item<int64_t>() == 0, op, "Target out of bounds: targets must be in [0, ", C, ") or ignore_index=",
              ignore_index);
  Tensor picked = logp.gather(1, safe.unsqueeze(1)).squeeze(1);
  Tensor w = valid.to(logp.dtype());
  if (weight.defined()) {
    EMBER_CHECK(weight.dim() == 1 && weight.size(0) == C, op, "weight tensor should be defined either for all ", C,
                " classes or no classes but got weight tensor of shape: ", shape_text(weight.sizes()));
    w = w * weight.to(logp.dtype()).index_select(0, safe);
  }
  return {-picked * w, w, valid};
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& targets, const Tensor& weight, int64_t ignore_index,
                const std::string& reduction) {
  check_reduction(reduction, "nll_loss");
  auto [logp, t] = flatten_classes(log_probs, targets, "nll_loss");
  Picked p = nll_rows(logp, t, weight, ignore_index, "nll_loss");
  if (reduction == "none") return p.loss.view(targets.sizes());
  if (reduction == "sum") return p.loss.sum();
  return p.loss.sum() / p.weights.sum();
}

Tensor cross_entropy(const Tensor& logits, const Tensor& targets, const Tensor& weight, int64_t ignore_index,
                     const std::string& reduction, double label_smoothing) {
  check_reduction(reduction, "cross_entropy");
  EMBER_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy",
              "label_smoothing must be between 0.0 and 1.0. Got: ", label_smoothing);
  EMBER_CHECK(logits.is_floating_point(), "cross_entropy", "expected floating logits, got ", logits.dtype());
  auto [logp2, t] = flatten_classes(logits, targets, "cross_entropy");
  Tensor logp = logp2.log_softmax(1);
  Picked p = nll_rows(logp, t, weight, ignore_index, "cross_entropy");
  Tensor nll = reduction == "none" ? p.loss.view(targets.sizes())
               : reduction == "sum" ? p.loss.sum()
                                    : p.loss.sum() / p.weights.sum();
  if (label_smoothing == 0) return nll;
  // PyTorch: (1 - eps) * nll + eps / C * smooth, smooth = -sum_c w_c logp_c (0 where ignored),
  // normalized in "mean" like nll (by the summed target weights).
  const int64_t C = logp.size(1);
  Tensor lw = weight.defined() ? logp * weight.to(logp.dtype()) : logp;
  Tensor smooth = -lw.sum({1}) * p.valid.to(logp.dtype());
  Tensor s = reduction == "none" ? smooth.view(targets.sizes())
             : reduction == "sum" ? smooth.sum()
             : weight.defined()   ? smooth.sum() / p.weights.sum()
                                  : smooth.sum() / p.valid.to(logp.dtype()).sum();
  return nll * (1 - label_smoothing) + s * (label_smoothing / static_cast<double>(C));
}

Tensor binary_cross_entropy_with_logits(const Tensor& x, const Tensor& y, const Tensor& weight,
                                        const Tensor& pos_weight, const std::string& reduction) {
  check_reduction(reduction, "binary_cross_entropy_with_logits");
  check_same_shape(x, y, "binary_cross_entropy_with_logits");
  Tensor yt = y.to(x.dtype());
  // log(1 + exp(-|x|)) + max(-x, 0) = -log sigmoid(x), without overflow for |x| large.
  Tensor log_sig_neg = (-x.abs()).exp().log1p() + (-x).relu();
  Tensor loss;
  if (pos_weight.defined()) {
    Tensor lw = (pos_weight.to(x.dtype()) - 1) * yt + 1;
    loss = (1 - yt) * x + lw * log_sig_neg;
  } else {
    loss = (1 - yt) * x + log_sig_neg;
  }
  if (weight.defined()) loss = loss * weight.to(x.dtype());
  return reduce(loss, reduction, "binary_cross_entropy_with_logits");
}

Tensor binary_cross_entropy(const Tensor& p, const Tensor& y, const Tensor& weight, const std::string& reduction) {
  check_reduction(reduction, "binary_cross_entropy");
  check_same_shape(p, y, "binary_cross_entropy");
  Tensor yt = y.to(p.dtype());
  Tensor lp = p.log().clamp(-100.0);
  Tensor l1p = (1 - p).log().clamp(-100.0);
  Tensor loss = -(yt * lp + (1 - yt) * l1p);
  if (weight.defined()) loss = loss * weight.to(p.dtype());
  return reduce(loss, reduction, "binary_cross_entropy");
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_same_shape(input, target, "mse_loss");
  Tensor d = input - target;
  return reduce(d * d, reduction, "mse_loss");
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  check_same_shape(input, target, "l1_loss");
  return reduce((input - target).abs(), reduction, "l1_loss");
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const std::string& reduction, double beta) {
  check_same_shape(input, target, "smooth_l1_loss");
  EMBER_CHECK(beta >= 0, "smooth_l1_loss", "smooth_l1_loss does not support negative values for beta, got ", beta);
  if (beta == 0) return l1_loss(input, target, reduction);
  Tensor d = (input - target).abs();
  Tensor loss = where(d < beta, d * d * (0.5 / beta), d - 0.5 * beta);
  return reduce(loss, reduction, "smooth_l1_loss");
}

}  // namespace ember::nn::functional
