#include <atomic>
#include <vector>

#include "autograd/autograd_meta.h"
#include "autograd/function.h"
#include "tensor/ops.h"

namespace ember::autograd {
namespace {
thread_local uint64_t g_next_sequence_nr = 0;
std::atomic<int64_t> g_live_nodes{0};

// NOTE [ Iterative graph teardown ]
// A chain of a million ops is a million nodes, each owning the next through an edge. Plain
// destructors would recurse a million frames deep. Instead, a dying node hands the nodes it
// alone owns to a thread-local work list, and only the outermost destructor drains it: the
// stack depth stays constant however long the graph is.
thread_local std::vector<std::shared_ptr<Node>> g_doomed;
thread_local bool g_draining = false;

}  // namespace

Node::Node() : sequence_nr(g_next_sequence_nr++) { g_live_nodes.fetch_add(1, std::memory_order_relaxed); }

Node::~Node() {
  g_live_nodes.fetch_sub(1, std::memory_order_relaxed);
  // Gather every reference this node holds to other nodes: its edges, and the grad_fn of
  // saved inputs that only this node still holds. A node referenced twice (by an edge and
  // a saved input) appears twice; dropping the first copy leaves the second as last owner.
  SmallVector<std::shared_ptr<Node>, 4> held;
  for (Edge& e : next_edges)
    if (e.node) held.push_back(std::move(e.node));
  for (SavedTensor& s : saved) {
    Tensor& t = s.raw();
    if (t.defined() && t.impl_ptr().use_count() == 1 && t.impl()->autograd && t.impl()->autograd->grad_fn)
      held.push_back(std::move(t.impl()->autograd->grad_fn));
    s.reset();
  }
  for (std::shared_ptr<Node>& n : held) {
    if (n.use_count() == 1) g_doomed.push_back(std::move(n));
    else n.reset();
  }
  if (g_draining) return;
  g_draining = true;
  while (!g_doomed.empty()) {
    std::shared_ptr<Node> n = std::move(g_doomed.back());
    g_doomed.pop_back();
    n.reset();  // its destructor only appends to g_doomed
  }
  g_draining = false;
}

size_t Node::save(const Tensor& t, bool is_output) {
  saved.emplace_back(t, is_output);
  return saved.size() - 1;
}

Tensor Node::unpack(size_t i) {
  if (saved_released) {
    detail::throw_error(name(),
                        "Trying to backward through the graph a second time (or directly access saved tensors "
                        "after they have already been freed). Saved intermediate values of the graph are freed "
                        "when you call .backward() or autograd::grad(). Specify retain_graph=true if you need to "
                        "backward through the graph a second time or if you need to access saved tensors after "
                        "calling backward.");
  }
  return saved[i].unpack(this);
}

void Node::release_saved() {
  if (saved.empty()) return;
  for (SavedTensor& s : saved) s.reset();
  saved_released = true;
}

void check_hook_result(const Tensor& original, const Tensor& replaced, const char* node) {
  EMBER_CHECK(replaced.device() == original.device(), node, "hook has changed the type of value (was ",
              original.device().str(), " tensor got ", replaced.device().str(), " tensor)");
  EMBER_CHECK(replaced.dtype() == original.dtype(), node, "hook has changed the type of value (was ",
              dtype_name(original.dtype()), " got ", dtype_name(replaced.dtype()), ")");
  EMBER_CHECK(replaced.sizes() == original.sizes(), node, "hook has changed the size of value (was ",
              shape_text(original.sizes()), " got ", shape_text(replaced.sizes()), ")");
}

int64_t live_node_count() { return g_live_nodes.load(std::memory_order_relaxed); }

AccumulateGrad::AccumulateGrad(Tensor leaf) : variable(std::move(leaf)) {
  outputs.push_back(OutputMeta{variable.sizes(), variable.dtype(), variable.device()});
}

GradList AccumulateGrad::apply(GradList&& grads) {
  Tensor g = std::move(grads[0]);
  AutogradMeta& m = meta_of(variable);
  for (auto& hook : m.leaf_hooks) {
    Tensor replaced = hook(g);
    if (!replaced.defined()) continue;
    check_hook_result(g, replaced, name());
    g = replaced;
  }
  if (!g.defined()) return {};
  if (!m.grad.defined()) {
    // Steal the buffer when nothing else can see it; otherwise copy, so that a later
    // in-place accumulation cannot write into another tensor's gradient.
    bool exclusive = g.impl_ptr().use_count() == 1 && g.impl()->storage.use_count() == 1 && g.is_contiguous() &&
                     !g.requires_grad();
    m.grad = exclusive ? g : (GradMode::is_enabled() ? g.clone() : g.detach().clone());
  } else if (GradMode::is_enabled()) {
    m.grad = m.grad + g;  // create_graph: keep the sum differentiable
  } else {
    NoGradGuard no_grad;
    if (m.grad.requires_grad()) m.grad = m.grad + g;
    else m.grad.add_(g);
  }
  return {};
}

}  // namespace ember::autograd
