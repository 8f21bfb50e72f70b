#pragma once
// Grad mode: whether ops record the graph. Thread-local, switched with RAII guards.
namespace ember {

namespace autograd {
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};
/// Anomaly mode: backward checks every gradient for NaN/Inf and names the node at fault.
struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};
/// Trace mode: prints what forward records and the order backward runs nodes in.
/// Also on when the environment variable EMBER_TRACE_AUTOGRAD=1 is set at start-up.
struct TraceMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

/// Sets grad mode to `enabled` for its lifetime, then restores it.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~AutoGradMode() { GradMode::set_enabled(prev_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool prev_;
};

/// Turns on anomaly detection for its lifetime.
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : prev_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(prev_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool prev_;
};

/// Turns on the autograd trace (printed to stderr) for its lifetime.
class TraceGuard {
 public:
  TraceGuard() : prev_(TraceMode::is_enabled()) { TraceMode::set_enabled(true); }
  ~TraceGuard() { TraceMode::set_enabled(prev_); }
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  bool prev_;
};
}  // namespace autograd

/// Disables recording for its lifetime (torch::NoGradGuard).
class NoGradGuard : public autograd::AutoGradMode {
 public:
  NoGradGuard() : AutoGradMode(false) {}
};
/// Enables recording for its lifetime, also inside a NoGradGuard.
class EnableGradGuard : public autograd::AutoGradMode {
 public:
  EnableGradGuard() : AutoGradMode(true) {}
};

}  // namespace ember
