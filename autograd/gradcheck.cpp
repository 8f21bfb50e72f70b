#include "autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace ember::autograd {
namespace {

// Multi-index of flat (row-major) element k of sizes, printed like [1, 2].
Shape unravel(int64_t k, const Shape& sizes) {
  Shape idx(sizes.size(), 0);
  for (size_t d = sizes.size(); d-- > 0;) {
    idx[d] = k % sizes[d];
    k /= sizes[d];
  }
  return idx;
}

// Evaluates fn and returns its output as a flat float64 copy. Grad mode stays on: for
// gradgradcheck, fn itself runs a backward pass.
std::vector<double> evaluate(const GradcheckFn& fn, const std::vector<Tensor>& inputs) {
  Tensor out = contiguous(fn(inputs).to(kFloat64).cpu());
  const double* p = out.data_ptr<double>();
  return std::vector<double>(p, p + out.numel());
}

}  // namespace

bool gradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  std::vector<size_t> diff;  // inputs that require grad
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    EMBER_CHECK(inputs[i].dtype() == kFloat64, "gradcheck", "input ", i, " is ", dtype_name(inputs[i].dtype()),
                "; gradcheck needs float64 inputs for accurate finite differences");
    for (int64_t s : inputs[i].strides())
      EMBER_CHECK(s != 0 || inputs[i].numel() <= 1, "gradcheck", "input ", i,
                  " has a stride-0 (expanded) dim; perturbing one element would move several");
    diff.push_back(i);
  }
  EMBER_CHECK(!diff.empty(), "gradcheck", "no input requires grad");

  Tensor out = fn(inputs);
  EMBER_CHECK(out.is_floating_point(), "gradcheck", "the function must return a floating point tensor");
  const int64_t m = out.numel();
  std::vector<Tensor> wrt;
  for (size_t i : diff) wrt.push_back(inputs[i]);

  // Analytical Jacobian, one row per output element (a backward pass with a one-hot
  // gradient). An undefined gradient means the output does not depend on that input.
  std::vector<std::vector<std::vector<double>>> analytic(diff.size());  // [input][row][col]
  for (size_t d = 0; d < diff.size(); ++d) analytic[d].assign(static_cast<size_t>(m), {});
  if (out.requires_grad()) {
    for (int64_t j = 0; j < m; ++j) {
      Tensor onehot = zeros(out.sizes(), out.options());
      if (out.dim() == 0) onehot.fill_(1);
      else onehot.view({-1}).select(0, j).fill_(1);
      std::vector<Tensor> grads = grad({out}, wrt, {onehot}, /*retain_graph=*/true, false, /*allow_unused=*/true);
      for (size_t d = 0; d < diff.size(); ++d) {
        const Tensor& x = inputs[diff[d]];
        std::vector<double>& row = analytic[d][static_cast<size_t>(j)];
        row.assign(static_cast<size_t>(x.numel()), 0.0);
        if (!grads[d].defined()) continue;
        EMBER_CHECK(grads[d].sizes() == x.sizes(), "gradcheck", "gradient for input ", diff[d], " has shape ",
                    shape_text(grads[d].sizes()), " but the input has shape ", shape_text(x.sizes()));
        Tensor g = contiguous(grads[d].to(kFloat64).cpu());
        const double* p = g.data_ptr<double>();
        row.assign(p, p + g.numel());
      }
    }
  } else {
    for (size_t d = 0; d < diff.size(); ++d)
      for (auto& row : analytic[d]) row.assign(static_cast<size_t>(inputs[diff[d]].numel()), 0.0);
  }

  // Numerical Jacobian, one column per input element (central differences).
  for (size_t d = 0; d < diff.size(); ++d) {
    const Tensor& x = inputs[diff[d]];
    // The inputs are nudged in place on the host; fn may move them to a GPU itself.
    EMBER_CHECK(x.device().is_cpu(), "gradcheck", "inputs must be CPU tensors, got one on ", x.device().str(),
                "; call .to(device) inside fn to check a GPU computation");
    double* base = x.data_ptr<double>();
    for (int64_t k = 0; k < x.numel(); ++k) {
      Shape idx = unravel(k, x.sizes());
      double& v = base[index_to_offset(idx, x.strides())];
      const double orig = v;
      v = orig + eps;
      std::vector<double> plus = evaluate(fn, inputs);
      v = orig - eps;
      std::vector<double> minus = evaluate(fn, inputs);
      v = orig;
      for (int64_t j = 0; j < m; ++j) {
        double numeric = (plus[static_cast<size_t>(j)] - minus[static_cast<size_t>(j)]) / (2 * eps);
        double analytical = analytic[d][static_cast<size_t>(j)][static_cast<size_t>(k)];
        if (!(std::fabs(numeric - analytical) <= atol + rtol * std::fabs(numeric))) {
          std::ostringstream os;
          os << "Jacobian mismatch for output " << shape_text(unravel(j, out.sizes())) << " with respect to input "
             << diff[d] << " element " << shape_text(idx) << ": numerical " << numeric << ", analytical "
             << analytical << " (atol " << atol << ", rtol " << rtol << ")";
          detail::throw_error("gradcheck", os.str());
        }
      }
    }
  }
  return true;
}

bool gradgradcheck(const GradcheckFn& fn, const std::vector<Tensor>& inputs, double eps, double atol, double rtol) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = fn(inputs);
  }
  std::vector<Tensor> all = inputs;
  all.push_back(randn(out.sizes(), TensorOptions(kFloat64).requires_grad(true)));
  const size_t n = inputs.size();
  GradcheckFn first_derivative = [fn, n](const std::vector<Tensor>& args) {
    std::vector<Tensor> xs(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(n));
    std::vector<Tensor> wrt;
    for (const Tensor& x : xs)
      if (x.defined() && x.requires_grad()) wrt.push_back(x);
    Tensor y = fn(xs);
    std::vector<Tensor> pieces;
    if (y.requires_grad()) {
      // fn may run on a GPU (inputs moved inside it): the upstream gradient follows y there,
      // differentiably, so its own gradient comes back to the CPU input.
      std::vector<Tensor> grads =
          grad({y}, wrt, {args[n].to(y.device())}, true, /*create_graph=*/true, /*allow_unused=*/true);
      for (size_t i = 0; i < grads.size(); ++i)
        pieces.push_back(grads[i].defined() ? grads[i].reshape({-1}) : zeros({wrt[i].numel()}, wrt[i].options()));
    }
    return pieces.empty() ? zeros({0}, TensorOptions(kFloat64)) : cat(pieces, 0);
  };
  return gradcheck(first_derivative, all, eps, atol, rtol);
}

}  // namespace ember::autograd
