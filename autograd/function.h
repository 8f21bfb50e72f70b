#pragma once
// How an op records itself. The pattern every op follows:
//
//   Tensor out = <run the kernel>;
//   if (autograd::needs_grad(a, b)) {
//     auto node = autograd::make_node<MulBackward>(a, b);   // edges to a's and b's nodes
//     node->a = node->save(a);  node->b = node->save(b);     // what backward needs
//     autograd::set_history(out, node);                       // out.grad_fn() = node
//   }
//   return out;
#include <initializer_list>
#include <memory>
#include <utility>

#include "autograd/autograd_meta.h"
#include "autograd/grad_mode.h"
#include "autograd/node.h"

namespace ember::autograd {

/// True when grad mode is on and t requires grad.
inline bool needs_grad(const Tensor& t) {
  return t.defined() && t.impl()->autograd != nullptr && t.impl()->autograd->requires_grad &&
         GradMode::is_enabled();
}
template <class... T>
bool needs_grad(const Tensor& first, const T&... rest) {
  return needs_grad(first) || (needs_grad(rest) || ...);
}
bool any_needs_grad(const std::vector<Tensor>& ts);

/// The edge a gradient for t travels along: its grad_fn, or its leaf's AccumulateGrad.
Edge gradient_edge(const Tensor& t);

/// A new node of type N with one edge per input (invalid for inputs needing no grad).
template <class N, class... T>
std::shared_ptr<N> make_node(const T&... inputs) {
  auto node = std::make_shared<N>();
  node->next_edges.reserve(sizeof...(inputs));
  (node->next_edges.push_back(needs_grad(inputs) ? gradient_edge(inputs) : Edge{}), ...);
  return node;
}
/// The same for a list of inputs (cat, stack).
template <class N>
std::shared_ptr<N> make_node_list(const std::vector<Tensor>& inputs) {
  auto node = std::make_shared<N>();
  for (const Tensor& t : inputs) node->next_edges.push_back(needs_grad(t) ? gradient_edge(t) : Edge{});
  return node;
}

/// Makes node the grad_fn of out (as its next output) and marks out as requiring grad.
void set_history(const Tensor& out, const std::shared_ptr<Node>& node);
/// For views: like set_history, and marks out as a view.
void set_view_history(const Tensor& out, const std::shared_ptr<Node>& node);

/// Checks an in-place op on t is allowed under autograd (not a leaf requiring grad, not a
/// recorded view); call before writing.
void check_inplace(const Tensor& t, const char* op);
/// After an in-place op on t: record node (if any input needs grad) as t's new history.
void rebase_history(const Tensor& t, const std::shared_ptr<Node>& node);

}  // namespace ember::autograd
