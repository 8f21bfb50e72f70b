#include "autograd/graphviz.h"

#include <sstream>
#include <unordered_map>
#include <vector>

#include "autograd/autograd_meta.h"
#include "autograd/node.h"

namespace ember::autograd {
namespace {

std::string shapes_of(const Node& n) {
  std::ostringstream os;
  for (size_t i = 0; i < n.outputs.size(); ++i) os << (i ? " " : "") << shape_text(n.outputs[i].shape);
  return os.str();
}

}  // namespace

std::string to_dot(const Tensor& t) {
  std::ostringstream os;
  os << "digraph autograd {\n  rankdir=BT;\n  node [fontname=\"Helvetica\", fontsize=11];\n";
  os << "  output [shape=note, style=filled, fillcolor=\"#e8f0fe\", label=\"output\\n"
     << shape_text(t.sizes()) << "\"];\n";
  std::shared_ptr<Node> root = t.grad_fn();
  if (!root) {
    if (t.requires_grad()) {
      os << "  leaf [shape=ellipse, label=\"leaf " << shape_text(t.sizes()) << "\"];\n  output -> leaf;\n";
    }
    os << "}\n";
    return os.str();
  }
  std::unordered_map<const Node*, int> ids;
  std::vector<const Node*> stack{root.get()};
  ids[root.get()] = 0;
  os << "  output -> n0;\n";
  while (!stack.empty()) {  // iterative: graphs can be very deep
    const Node* n = stack.back();
    stack.pop_back();
    int id = ids[n];
    if (auto* acc = dynamic_cast<const AccumulateGrad*>(n)) {
      const Tensor& v = acc->variable;
      os << "  n" << id << " [shape=ellipse, style=filled, fillcolor=\"#fff4c2\", label=\"leaf "
         << shape_text(v.sizes()) << "\\n" << (v.grad().defined() ? "grad set" : "no grad yet") << "\"];\n";
    } else {
      os << "  n" << id << " [shape=box, style=\"rounded,filled\", fillcolor=\"#dff5e1\", label=\"" << n->name()
         << " #" << n->sequence_nr << "\\n" << shapes_of(*n) << "\"];\n";
    }
    for (const Edge& e : n->next_edges) {
      if (!e.valid()) continue;
      auto [it, fresh] = ids.emplace(e.node.get(), static_cast<int>(ids.size()));
      if (fresh) stack.push_back(e.node.get());
      os << "  n" << id << " -> n" << it->second << ";\n";
    }
  }
  os << "}\n";
  return os.str();
}

}  // namespace ember::autograd
