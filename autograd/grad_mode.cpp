#include "autograd/grad_mode.h"

#include <cstdlib>
#include <cstring>

namespace ember::autograd {
namespace {
thread_local bool g_grad_enabled = true;
thread_local bool g_anomaly = false;
bool trace_from_env() {
  const char* v = std::getenv("EMBER_TRACE_AUTOGRAD");
  return v != nullptr && std::strcmp(v, "0") != 0 && *v != '\0';
}
thread_local bool g_trace = trace_from_env();
}  // namespace

bool GradMode::is_enabled() { return g_grad_enabled; }
void GradMode::set_enabled(bool enabled) { g_grad_enabled = enabled; }
bool AnomalyMode::is_enabled() { return g_anomaly; }
void AnomalyMode::set_enabled(bool enabled) { g_anomaly = enabled; }
bool TraceMode::is_enabled() { return g_trace; }
void TraceMode::set_enabled(bool enabled) { g_trace = enabled; }

}  // namespace ember::autograd
