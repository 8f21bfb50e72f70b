#pragma once
// The training report: one self-contained HTML file with inline SVG charts, so it can be
// mailed or attached to a CI run without its assets.
#include <string>
#include <vector>

#include "metrics.h"
#include "trainer.h"

namespace ember::spam {

struct ReportInput {
  std::string title = "ember-spam training report";
  std::string data_source;
  std::string arch;
  int64_t train_rows = 0, test_rows = 0;
  double threshold = 0.5;
  std::string threshold_note = "chosen on validation";  // how the threshold was chosen
  Metrics metrics;
  std::vector<EpochLog> history;
  std::vector<float> test_scores;
  std::vector<int> test_labels;
  std::vector<std::string> test_texts;
  int max_examples = 15;
};

/// The HTML text (exposed for tests).
std::string render_report(const ReportInput& in);
/// Writes it atomically; throws SpamError naming the file on failure.
void write_report(const ReportInput& in, const std::string& path);

/// Escapes text for HTML element content and attribute values.
std::string html_escape(const std::string& s);

}  // namespace ember::spam
