#pragma once
// The autograd trace: one line per recorded node in forward and per node run in backward,
// printed to stderr while TraceMode is on (TraceGuard or EMBER_TRACE_AUTOGRAD=1).
#include "autograd/node.h"

namespace ember::autograd {

void trace_record(const Node& node, const Tensor& out);
void trace_run(const Node& node, const GradList& grads_in, const GradList& grads_out);

}  // namespace ember::autograd
