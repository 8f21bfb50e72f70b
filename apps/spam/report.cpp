#include "report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <sstream>

#include "dataset.h"
#include "io/safetensors.h"

namespace ember::spam {
namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// A line chart of one series over epochs, in a W x H box with a small margin for labels.
std::string line_chart(const std::string& title, const std::vector<double>& ys, const std::string& color) {
  const double W = 320, H = 200, L = 44, R = 10, T = 24, B = 30;
  std::ostringstream s;
  s << "<svg width='" << W << "' height='" << H << "' viewBox='0 0 " << W << ' ' << H << "' role='img'>"
    << "<text x='" << W / 2 << "' y='16' text-anchor='middle' class='t'>" << html_escape(title) << "</text>";
  if (ys.empty()) return s.str() + "<text x='20' y='100'>no data</text></svg>";
  double lo = *std::min_element(ys.begin(), ys.end()), hi = *std::max_element(ys.begin(), ys.end());
  if (hi - lo < 1e-9) { lo -= 0.5; hi += 0.5; }
  auto x = [&](size_t i) { return L + (ys.size() == 1 ? 0.5 : static_cast<double>(i) / static_cast<double>(ys.size() - 1)) * (W - L - R); };
  auto y = [&](double v) { return T + (hi - v) / (hi - lo) * (H - T - B); };
  s << "<rect x='" << L << "' y='" << T << "' width='" << W - L - R << "' height='" << H - T - B
    << "' fill='none' stroke='#ccc'/>";
  s << "<text x='" << L - 4 << "' y='" << T + 4 << "' text-anchor='end' class='a'>" << fmt("%.3g", hi) << "</text>";
  s << "<text x='" << L - 4 << "' y='" << H - B << "' text-anchor='end' class='a'>" << fmt("%.3g", lo) << "</text>";
  s << "<text x='" << (W + L) / 2 << "' y='" << H - 8 << "' text-anchor='middle' class='a'>epoch</text>";
  s << "<polyline fill='none' stroke='" << color << "' stroke-width='2' points='";
  for (size_t i = 0; i < ys.size(); ++i) s << fmt("%.1f", x(i)) << ',' << fmt("%.1f", y(ys[i])) << ' ';
  s << "'/>";
  for (size_t i = 0; i < ys.size(); ++i)
    s << "<circle cx='" << fmt("%.1f", x(i)) << "' cy='" << fmt("%.1f", y(ys[i])) << "' r='3' fill='" << color
      << "'><title>epoch " << i + 1 << ": " << fmt("%.4f", ys[i]) << "</title></circle>";
  return s.str() + "</svg>";
}

std::string roc_chart(const std::vector<std::pair<double, double>>& pts, double auc) {
  const double S = 200, M = 36;
  std::ostringstream s;
  s << "<svg width='" << S + 2 * M << "' height='" << S + 2 * M << "' role='img'>"
    << "<text x='" << (S + 2 * M) / 2 << "' y='16' text-anchor='middle' class='t'>ROC curve (AUC "
    << fmt("%.4f", auc) << ")</text>"
    << "<rect x='" << M << "' y='" << M << "' width='" << S << "' height='" << S << "' fill='none' stroke='#ccc'/>"
    << "<line x1='" << M << "' y1='" << M + S << "' x2='" << M + S << "' y2='" << M
    << "' stroke='#ddd' stroke-dasharray='4'/>"
    << "<text x='" << M + S / 2 << "' y='" << M + S + 24 << "' text-anchor='middle' class='a'>false positive rate</text>"
    << "<text x='12' y='" << M + S / 2 << "' class='a' transform='rotate(-90 12 " << M + S / 2
    << ")' text-anchor='middle'>true positive rate</text>"
    << "<polyline fill='none' stroke='#c0392b' stroke-width='2' points='";
  for (const auto& [fpr, tpr] : pts) s << fmt("%.1f", M + fpr * S) << ',' << fmt("%.1f", M + (1 - tpr) * S) << ' ';
  return s.str() + "'/></svg>";
}

std::string confusion_chart(const Metrics& m) {
  const int64_t cells[2][2] = {{m.tp, m.fn}, {m.fp, m.tn}};
  const char* rows[2] = {"actual spam", "actual ham"};
  const char* cols[2] = {"flagged spam", "passed as ham"};
  double maxv = static_cast<double>(std::max<int64_t>({m.tp, m.fn, m.fp, m.tn, 1}));
  std::ostringstream s;
  s << "<svg width='330' height='200' role='img'><text x='165' y='16' text-anchor='middle' class='t'>Confusion matrix</text>";
  for (int c = 0; c < 2; ++c)
    s << "<text x='" << 150 + c * 90 << "' y='40' text-anchor='middle' class='a'>" << cols[c] << "</text>";
  for (int r = 0; r < 2; ++r) {
    s << "<text x='100' y='" << 90 + r * 70 << "' text-anchor='end' class='a'>" << rows[r] << "</text>";
    for (int c = 0; c < 2; ++c) {
      double v = static_cast<double>(cells[r][c]);
      double shade = 0.15 + 0.75 * std::sqrt(v / maxv);
      bool correct = r == c;
      s << "<rect x='" << 106 + c * 90 << "' y='" << 50 + r * 70 << "' width='88' height='68' fill='"
        << (correct ? "rgba(39,174,96," : "rgba(192,57,43,") << fmt("%.2f", shade) << ")'/>"
        << "<text x='" << 150 + c * 90 << "' y='" << 90 + r * 70 << "' text-anchor='middle' class='v'>" << cells[r][c]
        << "</text>";
    }
  }
  return s.str() + "</svg>";
}

}  // namespace

std::string html_escape(const std::string& in) {
  std::string out;
  out.reserve(in.size());
  for (char c : in) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string render_report(const ReportInput& in) {
  const Metrics& m = in.metrics;
  std::vector<double> loss, val_loss, val_mcc;
  for (const auto& e : in.history) {
    loss.push_back(e.train_loss);
    val_loss.push_back(e.val_loss);
    val_mcc.push_back(e.val_mcc);
  }
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>" << html_escape(in.title) << "</title><style>"
    << "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}"
    << "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ddd;padding:4px 8px;text-align:left}"
    << "th{background:#f4f4f4}.t{font-size:13px;font-weight:600}.a{font-size:11px;fill:#555}.v{font-size:18px}"
    << ".charts{display:flex;flex-wrap:wrap;gap:1em}.num{text-align:right;font-variant-numeric:tabular-nums}"
    << "</style></head><body><h1>" << html_escape(in.title) << "</h1>";
  h << "<p>Data: <code>" << html_escape(in.data_source) << "</code> &middot; architecture <b>" << html_escape(in.arch)
    << "</b> &middot; " << in.train_rows << " training rows, " << in.test_rows << " test rows &middot; threshold "
    << fmt("%.4f", in.threshold) << " (" << html_escape(in.threshold_note) << ")</p>";
  h << "<table><tr><th>accuracy</th><th>precision</th><th>recall (spam caught)</th><th>ham blocked (FPR)</th>"
    << "<th>F1</th><th>MCC</th><th>ROC-AUC</th><th>train time</th></tr><tr>"
    << "<td class='num'>" << fmt("%.2f %%", 100 * m.accuracy) << "</td><td class='num'>" << fmt("%.2f %%", 100 * m.precision)
    << "</td><td class='num'>" << fmt("%.2f %%", 100 * m.recall) << "</td><td class='num'>"
    << fmt("%.2f %%", 100 * m.false_positive_rate) << "</td><td class='num'>" << fmt("%.4f", m.f1)
    << "</td><td class='num'>" << fmt("%.4f", m.mcc) << "</td><td class='num'>" << fmt("%.4f", m.roc_auc)
    << "</td><td class='num'>" << fmt("%.2f s", m.train_seconds) << "</td></tr></table>";
  h << "<div class='charts'>" << line_chart("training loss", loss, "#2980b9")
    << line_chart("validation loss", val_loss, "#8e44ad") << line_chart("validation MCC", val_mcc, "#27ae60") << "</div>";
  h << "<div class='charts'>" << roc_chart(roc_curve(in.test_scores, in.test_labels), m.roc_auc) << confusion_chart(m)
    << "</div>";

  // The examples the model got most wrong: the largest distance from the correct side.
  std::vector<size_t> wrong;
  for (size_t i = 0; i < in.test_scores.size(); ++i)
    if ((in.test_scores[i] >= in.threshold) != (in.test_labels[i] == 1)) wrong.push_back(i);
  auto error_size = [&](size_t i) { return in.test_labels[i] == 1 ? 1.0 - in.test_scores[i] : in.test_scores[i]; };
  std::stable_sort(wrong.begin(), wrong.end(), [&](size_t a, size_t b) { return error_size(a) > error_size(b); });
  if (wrong.size() > static_cast<size_t>(in.max_examples)) wrong.resize(static_cast<size_t>(in.max_examples));
  h << "<h2>Most wrong test messages</h2>";
  if (wrong.empty()) {
    h << "<p>None: every test message was classified correctly.</p>";
  } else {
    h << "<table><tr><th>label</th><th>spam score</th><th>message</th></tr>";
    for (size_t i : wrong)
      h << "<tr><td>" << (in.test_labels[i] == 1 ? "spam" : "ham") << "</td><td class='num'>"
        << fmt("%.3f", in.test_scores[i]) << "</td><td>"
        << html_escape(i < in.test_texts.size() ? in.test_texts[i] : std::string()) << "</td></tr>";
    h << "</table>";
  }
  h << "<h2>Epochs</h2><table><tr><th>epoch</th><th>train loss</th><th>val loss</th><th>val MCC</th><th>seconds</th></tr>";
  for (const auto& e : in.history)
    h << "<tr><td>" << e.epoch << "</td><td class='num'>" << fmt("%.4f", e.train_loss) << "</td><td class='num'>"
      << fmt("%.4f", e.val_loss) << "</td><td class='num'>" << fmt("%.4f", e.val_mcc) << "</td><td class='num'>"
      << fmt("%.2f", e.seconds) << "</td></tr>";
  h << "</table><p><small>Generated by ember-spam.</small></p></body></html>\n";
  return h.str();
}

void write_report(const ReportInput& in, const std::string& path) {
  try {
    write_file_atomically(path, render_report(in));
  } catch (const std::exception& e) {
    throw SpamError("cannot write report " + path + ": " + e.what());
  }
}

}  // namespace ember::spam
