#include "metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include <nlohmann/json.hpp>

#include "dataset.h"

namespace ember::spam {
namespace {
double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }

std::vector<size_t> order_by_score_desc(const std::vector<float>& scores) {
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  return idx;
}
}  // namespace

double mcc_from_counts(int64_t tp, int64_t fp, int64_t tn, int64_t fn) {
  double den = std::sqrt(static_cast<double>(tp + fp) * static_cast<double>(tp + fn) * static_cast<double>(tn + fp) *
                         static_cast<double>(tn + fn));
  return den > 0 ? (static_cast<double>(tp) * static_cast<double>(tn) - static_cast<double>(fp) * static_cast<double>(fn)) / den
                 : 0.0;
}

Metrics compute_metrics(const std::vector<float>& scores, const std::vector<int>& labels, double threshold) {
  if (scores.size() != labels.size()) throw SpamError("metrics: scores and labels differ in length");
  Metrics m;
  for (size_t i = 0; i < scores.size(); ++i) {
    bool flagged = scores[i] >= threshold;
    if (labels[i] == 1) (flagged ? m.tp : m.fn)++;
    else (flagged ? m.fp : m.tn)++;
  }
  m.n = static_cast<int64_t>(scores.size());
  m.accuracy = ratio(static_cast<double>(m.tp + m.tn), static_cast<double>(m.n));
  m.precision = ratio(static_cast<double>(m.tp), static_cast<double>(m.tp + m.fp));
  m.recall = ratio(static_cast<double>(m.tp), static_cast<double>(m.tp + m.fn));
  m.f1 = ratio(2 * m.precision * m.recall, m.precision + m.recall);
  m.false_positive_rate = ratio(static_cast<double>(m.fp), static_cast<double>(m.fp + m.tn));
  m.mcc = mcc_from_counts(m.tp, m.fp, m.tn, m.fn);
  m.roc_auc = roc_auc(scores, labels);
  return m;
}

double roc_auc(const std::vector<float>& scores, const std::vector<int>& labels) {
  // Mann-Whitney U with average ranks for ties.
  std::vector<size_t> idx(scores.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double pos = 0, neg = 0, rank_sum = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    while (j < idx.size() && scores[idx[j]] == scores[idx[i]]) ++j;
    double avg_rank = (static_cast<double>(i) + static_cast<double>(j) + 1) / 2.0;  // ranks i+1..j
    for (size_t k = i; k < j; ++k)
      if (labels[idx[k]] == 1) rank_sum += avg_rank;
    i = j;
  }
  for (int l : labels) (l == 1 ? pos : neg) += 1;
  if (pos == 0 || neg == 0) return 0.5;
  return (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
}

std::vector<std::pair<double, double>> roc_curve(const std::vector<float>& scores, const std::vector<int>& labels) {
  std::vector<size_t> idx = order_by_score_desc(scores);
  double pos = 0, neg = 0;
  for (int l : labels) (l == 1 ? pos : neg) += 1;
  std::vector<std::pair<double, double>> pts{{0.0, 0.0}};
  double tp = 0, fp = 0;
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    for (; j < idx.size() && scores[idx[j]] == scores[idx[i]]; ++j) (labels[idx[j]] == 1 ? tp : fp) += 1;
    pts.emplace_back(ratio(fp, neg), ratio(tp, pos));
    i = j;
  }
  if (pts.back() != std::pair<double, double>{1.0, 1.0}) pts.emplace_back(1.0, 1.0);
  return pts;
}

double best_mcc_threshold(const std::vector<float>& scores, const std::vector<int>& labels,
                          double max_false_positive_rate) {
  std::vector<size_t> idx = order_by_score_desc(scores);
  int64_t pos = 0, neg = 0;
  for (int l : labels) (l == 1 ? pos : neg) += 1;
  const double fp_budget = max_false_positive_rate * static_cast<double>(neg) + 1e-9;
  // Until a cut fits the budget: above the highest score, so nothing is flagged.
  double top = idx.empty() ? 0.0 : scores[idx[0]];
  double best = top < 1.0 ? 0.5 * (1.0 + top) : std::nextafter(1.0, 2.0), best_mcc = -2;
  int64_t tp = 0, fp = 0;
  // Flag the top-k distinct score levels; the cut lies between level k and level k+1.
  for (size_t i = 0; i < idx.size();) {
    size_t j = i;
    for (; j < idx.size() && scores[idx[j]] == scores[idx[i]]; ++j) (labels[idx[j]] == 1 ? tp : fp) += 1;
    if (static_cast<double>(fp) > fp_budget) break;  // lower cuts only flag more negatives
    double hi = scores[idx[i]];
    double lo = j < idx.size() ? scores[idx[j]] : 0.0;
    double mcc = mcc_from_counts(tp, fp, neg - fp, pos - tp);
    double cut = 0.5 * (hi + lo);
    // Among equal MCCs prefer the cut nearest 0.5: it generalizes better than an extreme one.
    if (mcc > best_mcc + 1e-12 || (std::abs(mcc - best_mcc) <= 1e-12 && std::abs(cut - 0.5) < std::abs(best - 0.5))) {
      best_mcc = mcc;
      best = cut;
    }
    i = j;
  }
  return best;
}

double Platt::operator()(double margin) const {
  double z = scale * margin + shift;
  return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

Platt fit_platt(const std::vector<double>& margins, const std::vector<int>& labels) {
  double pos = 0, neg = 0;
  for (int l : labels) (l == 1 ? pos : neg) += 1;
  if (pos == 0 || neg == 0 || margins.size() != labels.size()) return {};
  const double hi = (pos + 1) / (pos + 2), lo = 1 / (neg + 2);  // Platt (1999)
  auto loss = [&](const Platt& p) {
    double l = 0;
    for (size_t i = 0; i < margins.size(); ++i) {
      double t = labels[i] == 1 ? hi : lo, z = p.scale * margins[i] + p.shift;
      // t * -log(sigmoid z) + (1 - t) * -log(1 - sigmoid z), without overflow
      l += std::max(z, 0.0) - t * z + std::log1p(std::exp(-std::abs(z)));
    }
    return l;
  };
  Platt p;
  double current = loss(p);
  for (int iter = 0; iter < 100; ++iter) {
    double ga = 0, gb = 0, haa = 1e-12, hab = 0, hbb = 1e-12;  // gradient and Hessian of the loss
    for (size_t i = 0; i < margins.size(); ++i) {
      double t = labels[i] == 1 ? hi : lo, q = p(margins[i]), d = q - t, w = q * (1 - q);
      ga += d * margins[i];
      gb += d;
      haa += w * margins[i] * margins[i];
      hab += w * margins[i];
      hbb += w;
    }
    double det = haa * hbb - hab * hab;
    if (!(det > 0)) break;
    double da = (hbb * ga - hab * gb) / det, db = (haa * gb - hab * ga) / det;
    // Backtracking keeps every step a descent step.
    double step = 1;
    Platt next;
    for (; step > 1e-8; step /= 2) {
      next = {p.scale - step * da, p.shift - step * db};
      if (loss(next) <= current) break;
    }
    if (step <= 1e-8) break;
    double improvement = current - loss(next);
    p = next;
    current -= improvement;
    if (improvement < 1e-10 * (1 + current)) break;
  }
  return p;
}

std::string Metrics::to_json() const {
  nlohmann::ordered_json j{{"accuracy", accuracy}, {"precision", precision},
                           {"recall", recall},     {"f1", f1},
                           {"mcc", mcc},           {"false_positive_rate", false_positive_rate},
                           {"roc_auc", roc_auc},   {"tp", tp},
                           {"fp", fp},             {"tn", tn},
                           {"fn", fn},             {"n", n},
                           {"train_seconds", train_seconds}};
  return j.dump(2) + "\n";
}

std::string Metrics::table() const {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "  messages        %8lld\n"
                "  accuracy        %8.2f %%\n"
                "  precision       %8.2f %%\n"
                "  recall (caught) %8.2f %%\n"
                "  ham blocked     %8.2f %%   (false positive rate)\n"
                "  F1              %8.4f\n"
                "  MCC             %8.4f\n"
                "  ROC-AUC         %8.4f\n"
                "                  predicted spam  predicted ham\n"
                "  actual spam     %14lld  %13lld\n"
                "  actual ham      %14lld  %13lld\n",
                static_cast<long long>(n), 100 * accuracy, 100 * precision, 100 * recall, 100 * false_positive_rate,
                f1, mcc, roc_auc, static_cast<long long>(tp), static_cast<long long>(fn), static_cast<long long>(fp),
                static_cast<long long>(tn));
  return buf;
}

}  // namespace ember::spam
