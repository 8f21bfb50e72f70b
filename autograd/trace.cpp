#include "autograd/trace.h"

#include <iostream>
#include <sstream>

namespace ember::autograd {
namespace {
std::string shapes(const GradList& gs) {
  std::ostringstream os;
  os << '(';
  for (size_t i = 0; i < gs.size(); ++i) {
    os << (i ? ", " : "");
    if (gs[i].defined()) os << shape_text(gs[i].sizes());
    else os << "None";
  }
  os << ')';
  return os.str();
}
}  // namespace

void trace_record(const Node& node, const Tensor& out) {
  std::ostringstream os;
  os << "[autograd] record #" << node.sequence_nr << ' ' << node.name() << " -> " << shape_text(out.sizes())
     << "  inputs from:";
  for (const Edge& e : node.next_edges) {
    if (e.valid()) os << ' ' << e.node->name() << '#' << e.node->sequence_nr;
    else os << " (no grad)";
  }
  std::cerr << os.str() << '\n';
}

void trace_run(const Node& node, const GradList& grads_in, const GradList& grads_out) {
  std::cerr << "[autograd] run #" << node.sequence_nr << ' ' << node.name() << "  grad in " << shapes(grads_in)
            << " -> out " << shapes(grads_out) << '\n';
}

}  // namespace ember::autograd
