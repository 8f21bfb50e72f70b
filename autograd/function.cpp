#include "autograd/function.h"

#include <iostream>

#include "autograd/trace.h"

namespace ember::autograd {

AutogradMeta& meta_of(const Tensor& t) {
  auto& slot = t.impl()->autograd;
  if (!slot) slot = std::make_unique<AutogradMeta>();
  return *slot;
}

bool any_needs_grad(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts)
    if (needs_grad(t)) return true;
  return false;
}

Edge gradient_edge(const Tensor& t) {
  AutogradMeta& m = meta_of(t);
  if (m.grad_fn) return Edge{m.grad_fn, m.output_nr};
  std::shared_ptr<Node> acc = m.grad_accumulator.lock();
  if (!acc) {
    acc = std::make_shared<AccumulateGrad>(t);
    m.grad_accumulator = acc;
  }
  return Edge{std::move(acc), 0};
}

void set_history(const Tensor& out, const std::shared_ptr<Node>& node) {
  AutogradMeta& m = meta_of(out);
  m.requires_grad = true;
  m.grad_fn = node;
  m.output_nr = static_cast<uint32_t>(node->outputs.size());
  node->outputs.push_back(OutputMeta{out.sizes(), out.dtype(), out.device()});
  if (TraceMode::is_enabled()) trace_record(*node, out);
}

void set_view_history(const Tensor& out, const std::shared_ptr<Node>& node) {
  set_history(out, node);
  meta_of(out).is_view = true;
}

void check_inplace(const Tensor& t, const char* op) {
  AutogradMeta* m = maybe_meta(t);
  if (m == nullptr || !GradMode::is_enabled()) return;
  EMBER_CHECK(!(m->requires_grad && !m->grad_fn), op,
              "a leaf Variable that requires grad is being used in an in-place operation.");
  EMBER_CHECK(!(m->is_view && m->requires_grad), op,
              "in-place operation on a view of a tensor that requires grad is not supported; "
              "apply the op out of place (or to the base tensor) instead");
}

void rebase_history(const Tensor& t, const std::shared_ptr<Node>& node) {
  AutogradMeta& m = meta_of(t);
  m.grad_fn.reset();
  set_history(t, node);
}

}  // namespace ember::autograd
