#pragma once
// Binary classification metrics for a spam score in [0, 1]; positive = spam, and a message is
// flagged when score >= threshold.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ember::spam {

struct Metrics {
  double accuracy = 0, precision = 0, recall = 0, f1 = 0, mcc = 0, false_positive_rate = 0, roc_auc = 0;
  int64_t tp = 0, fp = 0, tn = 0, fn = 0, n = 0;
  double train_seconds = 0;

  /// JSON with exactly the documented keys (tools parse it).
  std::string to_json() const;
  /// A small human-readable table with the confusion matrix.
  std::string table() const;
};

/// Ratios with an empty denominator are 0 (MCC too, as scikit-learn does).
Metrics compute_metrics(const std::vector<float>& scores, const std::vector<int>& labels, double threshold);

/// Area under the ROC curve; tied scores count one half. 0.5 when a class is missing.
double roc_auc(const std::vector<float>& scores, const std::vector<int>& labels);

/// ROC points (false positive rate, true positive rate) from (0,0) to (1,1), one per distinct score.
std::vector<std::pair<double, double>> roc_curve(const std::vector<float>& scores, const std::vector<int>& labels);

/// The threshold with the highest MCC on these scores: midway between two neighbouring distinct
/// scores, so a small shift in scores after reloading a model does not flip a decision. Only
/// cuts that flag at most max_false_positive_rate of the negatives are considered (a ham-blocked
/// budget); when none is, the cut lies above the highest score.
double best_mcc_threshold(const std::vector<float>& scores, const std::vector<int>& labels,
                          double max_false_positive_rate = 1.0);

/// Platt scaling: p = sigmoid(scale * margin + shift), fitted to labelled held-out margins.
struct Platt {
  double scale = 1.0, shift = 0.0;
  double operator()(double margin) const;
};
/// Maximum-likelihood fit (Newton's method) with Platt's smoothed targets, which keep separable
/// data from pushing the scale to infinity. Needs both classes; otherwise returns the identity.
Platt fit_platt(const std::vector<double>& margins, const std::vector<int>& labels);

double mcc_from_counts(int64_t tp, int64_t fp, int64_t tn, int64_t fn);

}  // namespace ember::spam
