#include "autograd/engine.h"

#include <algorithm>
#include <cmath>
#include <queue>
#include <sstream>

#include "autograd/autograd_meta.h"
#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/ops.h"

namespace ember::autograd {
namespace {

thread_local uint64_t g_next_task_id = 1;

// NOTE [ Dependency counting ]
// A node may run only when every gradient flowing into it has arrived, i.e. after all the
// nodes that use its outputs have run. Before running anything, one walk from the roots
// counts, for each node, the edges that point at it (its dependencies). Running a node
// decrements the count of each node its edges point at; a node whose count reaches zero is
// ready. Among ready nodes the newest (highest sequence number) runs first, which follows
// the reverse of the order forward recorded them in. Per-pass state lives in flat vectors
// indexed by a slot number that the walk writes into each node (task_id, task_slot).
struct GraphTask {
  uint64_t id = g_next_task_id++;
  bool keep_graph = false;
  bool accumulate = true;  // false for autograd::grad: capture, do not touch .grad()
  std::vector<Node*> nodes;
  std::vector<int32_t> deps;
  std::vector<GradList> buffers;
  std::vector<char> needed;

  uint32_t slot_of(Node* n) {
    if (n->task_id != id) {
      n->task_id = id;
      n->task_slot = static_cast<uint32_t>(nodes.size());
      nodes.push_back(n);
      deps.push_back(0);
      buffers.emplace_back();
      buffers.back().resize(n->outputs.size());
      needed.push_back(1);
    }
    return n->task_slot;
  }
  uint32_t existing_slot(Node* n) const {
    EMBER_CHECK(n->task_id == id, "backward",
                "a backward pass run from inside another (by a hook) reached the same graph; this is not supported");
    return n->task_slot;
  }
};

void count_dependencies(GraphTask& task, const std::vector<Node*>& roots) {
  std::vector<Node*> stack;
  for (Node* r : roots) {
    if (r->task_id != task.id) stack.push_back(r);
    task.slot_of(r);
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      bool fresh = e.node->task_id != task.id;
      uint32_t s = task.slot_of(e.node.get());
      ++task.deps[s];
      if (fresh) stack.push_back(e.node.get());
    }
  }
}

// For autograd::grad: a node is needed when some input to capture lies below it.
void mark_needed(GraphTask& task, const std::vector<char>& is_target) {
  std::vector<int32_t> deps = task.deps;
  std::vector<uint32_t> order;  // parents before children (Kahn)
  for (uint32_t s = 0; s < task.nodes.size(); ++s)
    if (deps[s] == 0) order.push_back(s);
  for (size_t i = 0; i < order.size(); ++i)
    for (const Edge& e : task.nodes[order[i]]->next_edges)
      if (e.valid() && --deps[task.existing_slot(e.node.get())] == 0) order.push_back(e.node->task_slot);
  for (size_t i = order.size(); i-- > 0;) {
    uint32_t s = order[i];
    bool need = is_target[s];
    for (const Edge& e : task.nodes[s]->next_edges)
      if (e.valid() && task.needed[e.node->task_slot]) need = true;
    task.needed[s] = need;
  }
}

// PyTorch's validate_outputs, for the roots and between nodes: a 0-d gradient moves to the
// expected device; any other would reach the next node's kernels on the wrong device (a host
// pointer read on the GPU, or the reverse).
Tensor on_expected_device(Tensor g, Device expected, const char* op, size_t index) {
  if (g.device() == expected) return g;
  EMBER_CHECK(g.dim() == 0, op, "invalid gradient at index ", index, " - expected device ", expected.str(),
              " but got ", g.device().str());
  return g.to(expected);
}

Tensor validated(const Node& producer, size_t index, Tensor g, const OutputMeta& expected) {
  if (g.sizes() != expected.shape) {
    bool reducible = g.dim() >= static_cast<int64_t>(expected.shape.size());
    if (reducible) {
      size_t lead = g.sizes().size() - expected.shape.size();
      for (size_t i = 0; i < expected.shape.size(); ++i)
        reducible = reducible && (expected.shape[i] == g.sizes()[lead + i] || expected.shape[i] == 1);
    }
    EMBER_CHECK(reducible, producer.name(), "returned an invalid gradient at index ", index, " - got ",
                shape_text(g.sizes()), " but expected shape compatible with ", shape_text(expected.shape));
    g = sum_to(g, expected.shape);  // the one place where broadcast gradients are reduced
  }
  if (g.dtype() != expected.dtype) g = g.to(expected.dtype);
  return on_expected_device(std::move(g), expected.device, producer.name(), index);
}

void accumulate_into(Tensor& slot, Tensor&& g) {
  if (!slot.defined()) {
    slot = std::move(g);
  } else if (!GradMode::is_enabled() && slot.impl_ptr().use_count() == 1 &&
             slot.impl()->storage.use_count() == 1 && slot.sizes() == g.sizes() && slot.is_contiguous() &&
             !slot.requires_grad()) {  // never add in place into an expanded (stride-0) buffer
    slot.add_(g);
  } else {
    slot = slot + g;
  }
}

void check_finite(const Node& node, const GradList& outs) {
  NoGradGuard no_grad;  // the check itself must not be recorded under create_graph
  for (size_t i = 0; i < outs.size(); ++i) {
    if (!outs[i].defined() || !outs[i].is_floating_point()) continue;
    Tensor bad = logical_not(eq(outs[i], outs[i])).logical_or(eq(abs(outs[i]), INFINITY));
    EMBER_CHECK(!sum(bad).item<int64_t>(), "autograd", "Function '", node.name(), "' (#", node.sequence_nr,
                ") returned nan or inf values in its ", i, "th output.");
  }
}

struct ReadyOrder {
  const GraphTask* task;
  bool operator()(uint32_t a, uint32_t b) const {
    return task->nodes[a]->sequence_nr < task->nodes[b]->sequence_nr;
  }
};

// Runs the graph below `roots`; returns the gradients that reach `targets` (when given).
std::vector<Tensor> execute(const std::vector<Edge>& roots, std::vector<Tensor> root_grads, bool keep_graph,
                            bool create_graph, const std::vector<Edge>* targets) {
  AutoGradMode mode(create_graph);
  GraphTask task;
  task.keep_graph = keep_graph;
  task.accumulate = targets == nullptr;

  std::vector<Node*> root_nodes;
  for (const Edge& e : roots) root_nodes.push_back(e.node.get());
  count_dependencies(task, root_nodes);

  std::vector<Tensor> captured;
  std::vector<char> is_target(task.nodes.size(), 0);
  if (targets) {
    captured.resize(targets->size());
    for (const Edge& t : *targets)
      if (t.valid() && t.node->task_id == task.id) is_target[t.node->task_slot] = 1;
    mark_needed(task, is_target);
  }

  for (size_t i = 0; i < roots.size(); ++i) {
    uint32_t s = task.existing_slot(roots[i].node.get());
    accumulate_into(task.buffers[s][roots[i].input_nr], std::move(root_grads[i]));
  }
  std::priority_queue<uint32_t, std::vector<uint32_t>, ReadyOrder> ready(ReadyOrder{&task});
  std::vector<uint32_t> pushed;  // a node listed as a root twice is pushed once
  for (Node* r : root_nodes) {
    uint32_t s = r->task_slot;
    if (task.deps[s] == 0 && std::find(pushed.begin(), pushed.end(), s) == pushed.end()) {
      pushed.push_back(s);
      ready.push(s);
    }
  }

  const bool anomaly = AnomalyMode::is_enabled();
  const bool trace = TraceMode::is_enabled();
  while (!ready.empty()) {
    uint32_t s = ready.top();
    ready.pop();
    Node* node = task.nodes[s];
    GradList grads = std::move(task.buffers[s]);

    for (auto& [k, hook] : node->pre_hooks) {
      if (!grads[k].defined()) continue;
      Tensor replaced = hook(grads[k]);
      if (!replaced.defined()) continue;
      check_hook_result(grads[k], replaced, node->name());
      grads[k] = replaced;
    }
    if (targets) {
      for (size_t t = 0; t < targets->size(); ++t) {
        const Edge& target = (*targets)[t];
        if (target.node.get() == node) captured[t] = grads[target.input_nr];
      }
    }
    bool any_defined = false;
    for (const Tensor& g : grads) any_defined = any_defined || g.defined();
    bool run = any_defined && task.needed[s] && (task.accumulate || dynamic_cast<AccumulateGrad*>(node) == nullptr);

    GradList outs;
    if (run) {
      for (size_t k = 0; k < grads.size(); ++k) {
        if (grads[k].defined()) continue;
        const OutputMeta& m = node->outputs[k];
        grads[k] = zeros(m.shape, TensorOptions().dtype(m.dtype).device(m.device));
      }
      GradList in_copy;
      if (trace) in_copy = grads;
      outs = node->apply(std::move(grads));
      if (!task.keep_graph) node->release_saved();
      if (trace) trace_run(*node, in_copy, outs);
      if (anomaly) check_finite(*node, outs);
      EMBER_CHECK(outs.size() == node->next_edges.size() || dynamic_cast<AccumulateGrad*>(node) != nullptr,
                  node->name(), "returned ", outs.size(), " gradients but expected ", node->next_edges.size());
    }
    for (size_t i = 0; i < node->next_edges.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      uint32_t child = task.existing_slot(e.node.get());
      if (i < outs.size() && outs[i].defined()) {
        Tensor g = validated(*node, i, std::move(outs[i]), e.node->outputs[e.input_nr]);
        accumulate_into(task.buffers[child][e.input_nr], std::move(g));
      }
      if (--task.deps[child] == 0) ready.push(child);
    }
  }
  return captured;
}

// The root edges and their initial gradients, with PyTorch's checks.
void make_roots(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs, const char* op,
                std::vector<Edge>& roots, std::vector<Tensor>& grads) {
  EMBER_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), op, "got ", grad_outputs.size(),
              " gradients for ", outputs.size(), " outputs");
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& out = outputs[i];
    EMBER_CHECK(out.defined() && out.requires_grad(), op, "element ", i,
                " of tensors does not require grad and does not have a grad_fn");
    Tensor g = grad_outputs.empty() ? Tensor() : grad_outputs[i];
    if (!g.defined()) {
      EMBER_CHECK(out.numel() == 1, op, "grad can be implicitly created only for scalar outputs (output ", i,
                  " has shape ", shape_text(out.sizes()), ")");
      g = ones_like(out);
    } else {
      EMBER_CHECK(g.sizes() == out.sizes(), op, "Mismatch in shape: grad_output[", i, "] has a shape of ",
                  shape_text(g.sizes()), " and output[", i, "] has a shape of ", shape_text(out.sizes()), ".");
      // Cast to the output's dtype, as validate_outputs does: a node's fused kernels read the
      // gradient as their own dtype (layer_norm's backward took float64 bytes as float32).
      if (g.dtype() != out.dtype()) g = g.to(out.dtype());
      g = on_expected_device(std::move(g), out.device(), op, i);  // loss.backward(scalar_tensor(2.0)) on a GPU
    }
    roots.push_back(gradient_edge(out));
    grads.push_back(g);
  }
}

}  // namespace

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              std::optional<bool> retain_graph, bool create_graph) {
  std::vector<Edge> roots;
  std::vector<Tensor> grads;
  make_roots(outputs, grad_outputs, "backward", roots, grads);
  execute(roots, std::move(grads), retain_graph.value_or(create_graph), create_graph, nullptr);
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph, bool create_graph,
                         bool allow_unused) {
  std::vector<Edge> roots;
  std::vector<Tensor> grads;
  make_roots(outputs, grad_outputs, "grad", roots, grads);
  std::vector<Edge> targets;
  for (size_t i = 0; i < inputs.size(); ++i) {
    EMBER_CHECK(inputs[i].defined() && inputs[i].requires_grad(), "grad", "One of the differentiated Tensors (input ",
                i, ") does not require grad");
    targets.push_back(gradient_edge(inputs[i]));
  }
  std::vector<Tensor> result = execute(roots, std::move(grads), retain_graph.value_or(create_graph), create_graph,
                                       &targets);
  for (size_t i = 0; i < result.size(); ++i) {
    EMBER_CHECK(result[i].defined() || allow_unused, "grad", "One of the differentiated Tensors (input ", i,
                ") appears to not have been used in the graph. Set allow_unused=true if this is the desired behavior.");
    if (result[i].defined() && result[i].sizes() != inputs[i].sizes())
      result[i] = sum_to(result[i], inputs[i].sizes());
  }
  return result;
}

}  // namespace ember::autograd
