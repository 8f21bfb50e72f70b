// Fused dropout and its backward (see nn/dropout_op.h).
//
// NOTE [ Dropout's backward regenerates its mask ]
// The generator is counter-based (kernels/counter_rng.h): the number at position k of a
// seed's stream is a pure function of (seed, k), on either device. So the forward keeps no
// mask: its node stores p, the seed and the first position it drew (24 bytes), and the
// backward runs the same fused kernel on the incoming gradient, which redraws exactly the
// forward's mask: grad_x = grad * keep / (1 - p).
//   Why not save a compact mask (PyTorch saves one byte per element)? Training holds the
// activations of every layer until backward, and a byte mask per dropout is a quarter of a
// float32 activation more, for as long as the graph lives; the redraw costs one integer hash
// per element in a pass that reads and writes the gradient anyway. The redraw also needs no
// saved-tensor bookkeeping (nothing to free, nothing an in-place op could change) and does
// not depend on the global generator's state at backward time: manual_seed or other draws
// between forward and backward change nothing.
//   Dropout is linear in x, so its backward is itself a dropout with the same stream: the
// backward records another DropoutBackward when create_graph asks for one, and every higher
// derivative is the same masked scaling (gradgradcheck in tests/test_nn_dropout.cpp).
#include "nn/dropout_op.h"

#include "autograd/function.h"
#include "autograd/grad_mode.h"
#include "kernels/kernels.h"
#include "tensor/error.h"
#include "tensor/internal.h"

namespace ember::nn {
namespace {

struct DropoutBackward final : autograd::Node {
  const char* name() const override { return "DropoutBackward"; }
  autograd::GradList apply(autograd::GradList&& grads) override {
    autograd::GradList out(1);
    out[0] = dropout_with_stream(grads[0], p, seed, offset);  // the forward's mask, redrawn
    return out;
  }
  double p = 0;
  uint64_t seed = 0, offset = 0;
};

void check_args(const Tensor& x, double p) {
  internal::check_defined(x, "dropout");
  EMBER_CHECK(p > 0 && p < 1, "dropout", "the fused kernel needs 0 < p < 1, got ", p);
  // PyTorch's CPU message: it scales an x-typed mask by 1 / (1 - p) in place.
  EMBER_CHECK(x.is_floating_point(), "dropout", "result type float32 can't be cast to the desired output type ",
              dtype_name(x.dtype()));
}

}  // namespace

Tensor dropout_with_stream(const Tensor& x, double p, uint64_t seed, uint64_t offset) {
  check_args(x, p);
  Tensor in;
  {
    NoGradGuard no_grad;  // only the values; the history runs from x
    in = x.contiguous();            // the kernel numbers elements in logical order
  }
  Tensor out = internal::new_tensor(x.sizes(), x.dtype(), x.device());
  kernels::dropout(in, p, seed, offset, out);
  if (autograd::needs_grad(x)) {
    auto node = autograd::make_node<DropoutBackward>(x);
    node->p = p;
    node->seed = seed;
    node->offset = offset;
    autograd::set_history(out, node);
  }
  return out;
}

Tensor fused_dropout(const Tensor& x, double p) {
  check_args(x, p);
  const internal::RandomDraw draw = internal::reserve_random(static_cast<uint64_t>(x.numel()));
  return dropout_with_stream(x, p, draw.seed, draw.offset);
}

}  // namespace ember::nn
