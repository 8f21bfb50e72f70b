#include "cli.h"

#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>

#include "dataset.h"
#include "io/safetensors.h"
#include "kernels/cpu/parallel.h"
#include "metrics.h"
#include "model.h"
#include "report.h"
#include "split.h"
#include "trainer.h"

#ifndef EMBER_SPAM_SOURCE_DIR
#define EMBER_SPAM_SOURCE_DIR "."
#endif

namespace ember::spam {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

struct DataArgs {
  std::string data, format = "auto", text_column = "text", label_column = "label", positive_label;
  bool skip_invalid = false;
  ReadOptions options() const {
    ReadOptions o;
    o.format = format_from_name(format);
    o.text_column = text_column;
    o.label_column = label_column;
    o.positive_label = positive_label;
    o.skip_invalid = skip_invalid;
    return o;
  }
};

void add_data_options(CLI::App* cmd, DataArgs& a, bool data_required) {
  auto* opt = cmd->add_option("--data", a.data, "labelled messages (TSV label<TAB>text, or CSV with a header)");
  if (data_required) opt->required();
  cmd->add_option("--format", a.format, "tsv | csv (default: by extension, .csv is CSV)")
      ->check(CLI::IsMember({"auto", "tsv", "csv"}));
  cmd->add_option("--text-column", a.text_column, "CSV column with the message")->capture_default_str();
  cmd->add_option("--label-column", a.label_column, "CSV column with the label")->capture_default_str();
  cmd->add_option("--positive-label", a.positive_label, "label value meaning spam (default: spam, else 1)");
  cmd->add_flag("--skip-invalid", a.skip_invalid, "drop invalid rows (and say how many) instead of failing");
}

Dataset load_data(const std::string& path, const DataArgs& a, bool both_classes, std::ostream& err) {
  Dataset ds = read_dataset(path, a.options(), both_classes);
  if (ds.skipped_total() > 0) {
    err << "ember-spam: skipped " << ds.skipped_total() << " invalid row(s) of " << path << ":";
    for (const auto& [reason, n] : ds.skipped) err << " " << n << " " << reason << ";";
    err << "\n";
  }
  return ds;
}

void write_text(const std::string& path, const std::string& text, const char* what) {
  try {
    write_file_atomically(path, text);
  } catch (const std::exception& e) {
    throw SpamError(std::string("cannot write ") + what + " " + path + ": " + e.what());
  }
}

struct TrainArgs {
  DataArgs data;
  std::string stop_on, arch = "bag", eval_file, device = "cpu", out = "spam-model.safetensors", metrics_out, report;
  std::string weighting, optimizer;
  int epochs = 0, threads = 0, patience = 0, folds = 0, repeats = 0;
  int64_t dim = 0, hidden = -1, buckets = 0;
  double lr = 0, lr_dense = 0, max_ham_blocked = -1, weight_decay = -1, threshold = -1;
  uint64_t seed = 0;
  double test_fraction = 0.2;
};

constexpr const char* kDeviceHelp =
    "cpu | cuda (= cuda:0): where the model runs; features are always built on the CPU, and the "
    "model file is the same from either";

void apply_threads(int threads) {
  if (threads < 0) throw SpamError("--threads must be positive");
  if (threads > 0) set_num_threads(threads);
}

// Shared by train and demo: trains, evaluates on the held-out rows, writes what was asked for.
int do_train(const TrainArgs& a, std::ostream& out, std::ostream& err, bool progress) {
  auto t_start = Clock::now();
  const Device device = device_from_name(a.device);  // before the data: a missing GPU fails fast
  // Training defaults to one thread: its batches are too small for ember's parallel kernels,
  // and two threads measured 1.1x (bag) to 20x (cnn, transformer) slower on a 2-core machine.
  apply_threads(a.threads > 0 ? a.threads : 1);
  if (!(a.test_fraction > 0 && a.test_fraction < 1) && a.eval_file.empty())
    throw SpamError("--test-fraction must be between 0 and 1");
  Dataset data = load_data(a.data.data, a.data, true, err);
  TrainOptions opts = default_train_options(arch_from_name(a.arch));
  if (a.epochs > 0) opts.epochs = a.epochs;
  if (a.patience > 0) opts.patience = a.patience;
  if (!a.stop_on.empty()) opts.stop_on = a.stop_on;
  if (a.dim > 0) opts.model.dim = a.dim;
  if (a.hidden >= 0) opts.model.hidden = a.hidden;
  if (a.buckets > 0) opts.features.buckets = a.buckets;
  if (a.lr > 0) opts.lr_sparse = a.lr;
  if (a.lr_dense > 0) opts.lr_dense = a.lr_dense;
  if (a.weight_decay >= 0) opts.weight_decay = a.weight_decay;
  if (!a.weighting.empty()) opts.features.weighting = a.weighting;
  if (!a.optimizer.empty()) opts.optimizer = a.optimizer;
  if (a.max_ham_blocked >= 0) opts.max_false_positive_rate = a.max_ham_blocked;
  if (a.threshold >= 0) opts.fixed_threshold = a.threshold;
  // A bag with a hidden layer cannot be merged: unless told otherwise it trains as one model.
  if (a.folds > 0) opts.folds = a.folds;
  if (a.repeats > 0) opts.repeats = a.repeats;
  else if (opts.model.hidden > 0) opts.folds = 1;
  if (opts.model.arch == Arch::Transformer && opts.model.dim % opts.model.heads != 0)
    throw SpamError("--dim must be a multiple of the transformer's " + std::to_string(opts.model.heads) + " heads");
  opts.seed = a.seed;
  opts.device = device;
  opts.progress = progress;

  std::vector<size_t> train_rows, test_rows;
  Dataset eval_data;
  const Dataset* test_data = &data;
  if (!a.eval_file.empty()) {
    eval_data = load_data(a.eval_file, a.data, false, err);
    test_data = &eval_data;
    for (size_t i = 0; i < data.size(); ++i) train_rows.push_back(i);
    for (size_t i = 0; i < eval_data.size(); ++i) test_rows.push_back(i);
  } else {
    Split s = stratified_group_split(data.texts, data.labels, a.test_fraction, a.seed);
    train_rows = std::move(s.train);
    test_rows = std::move(s.test);
    if (test_rows.empty()) throw SpamError(data.source + ": too few rows for a test split; pass --eval FILE");
  }
  TrainResult r = train_model(data, train_rows, opts);

  std::vector<std::string> test_texts;
  std::vector<int> test_labels;
  for (size_t i : test_rows) {
    test_texts.push_back(test_data->texts[i]);
    test_labels.push_back(test_data->labels[i]);
  }
  std::vector<float> scores = r.model.predict(test_texts);
  Metrics m = compute_metrics(scores, test_labels, r.model.threshold);
  m.train_seconds = r.train_seconds;

  out << "trained " << a.arch << (device.is_cpu() ? "" : " (" + device.str() + ")") << " on " << train_rows.size() << " rows of " << data.source << " in "
      << std::to_string(r.train_seconds).substr(0, 5) << " s (" << r.history.size() << " epochs, best "
      << r.best_epoch << (opts.folds > 1 ? " of fold " + std::to_string(opts.folds) + ", " + std::to_string(opts.folds) + " fold models merged" : "") << ", " << std::to_string(r.features_per_second / 1e6).substr(0, 4)
      << "M features/s); threshold " << std::to_string(r.model.threshold).substr(0, 6) << "\n"
      << "test: " << test_rows.size() << " rows of " << test_data->source
      << (a.eval_file.empty() ? " (held out, duplicate-aware)" : "") << "\n"
      << m.table();
  if (!a.out.empty()) {
    r.model.save(a.out);
    out << "model: " << a.out << "\n";
  }
  if (!a.metrics_out.empty()) {
    write_text(a.metrics_out, m.to_json(), "metrics");
    out << "metrics: " << a.metrics_out << "\n";
  }
  if (!a.report.empty()) {
    ReportInput rep;
    rep.data_source = data.source;
    rep.arch = a.arch;
    rep.train_rows = static_cast<int64_t>(train_rows.size());
    rep.test_rows = static_cast<int64_t>(test_rows.size());
    rep.threshold = r.model.threshold;
    std::string held_out = opts.folds > 1 ? "the " + std::to_string(opts.folds) + " held-out folds" : "the validation slice";
    char budget[64] = "";
    if (opts.max_false_positive_rate < 1)
      std::snprintf(budget, sizeof budget, ", blocking at most %.2f %% of their ham", 100 * opts.max_false_positive_rate);
    rep.threshold_note = opts.fixed_threshold >= 0 ? "fixed by --threshold"
                                                   : "best MCC on " + held_out + budget + "; scores calibrated there";
    rep.metrics = m;
    rep.history = r.history;
    rep.test_scores = scores;
    rep.test_labels = test_labels;
    rep.test_texts = test_texts;
    write_report(rep, a.report);
    out << "report: " << a.report << "\n";
  }
  out << "total: " << std::to_string(since(t_start)).substr(0, 5) << " s\n";
  return 0;
}

int do_evaluate(const std::string& model_path, const DataArgs& d, const std::string& metrics_out, int threads,
                const std::string& device, std::ostream& out, std::ostream& err) {
  const Device dev = device_from_name(device);
  apply_threads(threads);
  SpamModel model = SpamModel::load(model_path);  // on the host, then moved
  model.to(dev);
  Dataset data;
  if (d.positive_label.empty()) {
    // The model's own spam label first (a model trained with --positive-label X evaluates on
    // the same kind of file without repeating it), else the usual spam / 1 rule.
    DataArgs da = d;
    da.positive_label = model.positive_label;
    bool found = false;
    try {
      data = read_dataset(d.data, da.options(), false);
      found = data.positives() > 0;
    } catch (const SpamError&) {
    }
    if (!found) data = load_data(d.data, d, false, err);
    else if (data.skipped_total() > 0) data = load_data(d.data, da, false, err);  // reports the skips
  } else {
    data = load_data(d.data, d, false, err);
  }
  std::vector<float> scores = model.predict(data.texts);
  Metrics m = compute_metrics(scores, data.labels, model.threshold);
  out << "evaluated " << model_path << " on " << data.size() << " rows of " << data.source << "\n" << m.table();
  if (!metrics_out.empty()) {
    write_text(metrics_out, m.to_json(), "metrics");
    out << "metrics: " << metrics_out << "\n";
  }
  return 0;
}

void print_predictions(const SpamModel& model, const std::vector<std::string>& texts, double threshold, bool json,
                       std::ostream& out) {
  std::vector<float> scores = model.predict(texts);
  std::string buf;
  for (size_t i = 0; i < texts.size(); ++i) {
    bool spam = scores[i] >= threshold;
    const std::string& label = spam ? model.positive_label : model.negative_label;
    if (json) {
      nlohmann::ordered_json j{{"label", label}, {"spam", spam}, {"score", scores[i]}, {"text", texts[i]}};
      buf += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      char score[32];
      std::snprintf(score, sizeof score, "%.4f", scores[i]);
      buf += label + '\t' + score + '\t' + texts[i];
    }
    buf += '\n';
  }
  out << buf;
}

int do_predict(const std::string& model_path, double threshold_override, bool json, int threads,
               const std::string& device, const std::vector<std::string>& texts, std::ostream& out, std::istream& in) {
  const Device dev = device_from_name(device);
  apply_threads(threads);
  SpamModel model = SpamModel::load(model_path);
  model.to(dev);
  double threshold = threshold_override >= 0 ? threshold_override : model.threshold;
  if (!texts.empty()) {
    print_predictions(model, texts, threshold, json, out);
    return 0;
  }
  // stdin: one message per line, in chunks so a long stream is answered as it comes.
  std::vector<std::string> chunk;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    chunk.push_back(line);
    if (chunk.size() == 8192) {
      print_predictions(model, chunk, threshold, json, out);
      chunk.clear();
    }
  }
  if (!chunk.empty()) print_predictions(model, chunk, threshold, json, out);
  return 0;
}

std::string exe_dir() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.parent_path().string();
}

}  // namespace

std::string find_default_data() {
  if (const char* env = std::getenv("EMBER_SPAM_DATA"); env && *env) {
    if (!fs::exists(env)) throw SpamError(std::string("EMBER_SPAM_DATA=") + env + ": no such file");
    return env;
  }
  const char* rel[] = {"data/SMSSpamCollection", "../shared/data/sms-spam-collection/SMSSpamCollection"};
  std::vector<std::string> roots{"."};
  // The repo root of a binary in <root>/<build>/bin, then the source tree it was built from.
  if (std::string e = exe_dir(); !e.empty()) roots.push_back((fs::path(e) / ".." / "..").string());
  roots.push_back(EMBER_SPAM_SOURCE_DIR);
  std::string tried;
  std::vector<std::string> seen;  // the executable's repo is usually the source tree too
  for (const auto& root : roots)
    for (const char* r : rel) {
      fs::path p = (root == "." ? fs::path(r) : fs::path(root) / r).lexically_normal();
      if (std::find(seen.begin(), seen.end(), p.string()) != seen.end()) continue;
      seen.push_back(p.string());
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) return p.string();
      tried += "\n  " + p.string();
    }
  throw SpamError("no data set found; tried:" + tried +
                  "\nDownload the SMS Spam Collection with scripts/get-sms-spam.sh (writes data/SMSSpamCollection), "
                  "set EMBER_SPAM_DATA, or pass --data FILE");
}

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream& in) {
  CLI::App app{"ember-spam: spam detection for chat messages, built on ember"};
  app.require_subcommand(1);

  TrainArgs train;
  auto* train_cmd = app.add_subcommand("train", "train a model, evaluate it on held-out rows, save it");
  add_data_options(train_cmd, train.data, false);
  train_cmd->add_option("--arch", train.arch, "bag | cnn | transformer")->check(CLI::IsMember({"bag", "cnn", "transformer"}))->capture_default_str();
  train_cmd->add_option("--epochs", train.epochs, "maximum epochs (default per architecture)")->check(CLI::Range(1, 1000));
  train_cmd->add_option("--seed", train.seed, "seed of the split, the initialization and the shuffling")->capture_default_str();
  train_cmd->add_option("--test-fraction", train.test_fraction, "share of the (deduplicated) rows held out")->capture_default_str();
  train_cmd->add_option("--eval", train.eval_file, "evaluate on this file instead of a held-out split");
  train_cmd->add_option("--threads", train.threads, "CPU threads (default: 1, fastest for these small batches)");
  train_cmd->add_option("--patience", train.patience, "epochs without a better validation loss before stopping (default 2)")->check(CLI::Range(1, 1000));
  train_cmd->add_option("--stop-on", train.stop_on, "validation criterion for early stopping: loss | auc | mcc")->check(CLI::IsMember({"loss", "auc", "mcc"}));
  train_cmd->add_option("--dim", train.dim, "embedding width (default per architecture)")->check(CLI::Range(1, 4096));
  train_cmd->add_option("--hidden", train.hidden, "bag: hidden layer width, 0 = none")->check(CLI::Range(0, 4096));
  train_cmd->add_option("--buckets", train.buckets, "hash buckets (default 262144)")->check(CLI::Range(2, 1 << 26));
  train_cmd->add_option("--lr", train.lr, "learning rate of the embedding rows")->check(CLI::Range(1e-6, 1000.0));
  train_cmd->add_option("--lr-dense", train.lr_dense, "learning rate of the other parameters (bias, head, layers)")->check(CLI::Range(1e-6, 1000.0));
  train_cmd->add_option("--weight-decay", train.weight_decay, "AdamW weight decay (default 0)")->check(CLI::Range(0.0, 10.0));
  train_cmd->add_option("--optimizer", train.optimizer, "sgd (bag default) | adamw (cnn, transformer default)")->check(CLI::IsMember({"sgd", "adamw"}));
  train_cmd->add_option("--weighting", train.weighting, "bag features: tfidf (default) | count")->check(CLI::IsMember({"tfidf", "count"}));
  train_cmd->add_option("--folds", train.folds, "bag: cross-fitted models merged into one (default 5); 1 = one model and a validation slice")->check(CLI::Range(1, 20));
  train_cmd->add_option("--repeats", train.repeats, "bag: cross-fitting rounds, each with new folds (default 1)")->check(CLI::Range(1, 10));
  train_cmd->add_option("--threshold", train.threshold, "fixed decision threshold instead of the one chosen on held-out rows")->check(CLI::Range(0.0, 1.0));
  train_cmd->add_option("--max-ham-blocked", train.max_ham_blocked, "threshold: best MCC among cuts blocking at most this share of held-out ham (bag default 0.001)")->check(CLI::Range(0.0, 1.0));
  train_cmd->add_option("--device", train.device, kDeviceHelp)->capture_default_str();
  train_cmd->add_option("--out", train.out, "model file to write")->capture_default_str();
  train_cmd->add_option("--metrics-out", train.metrics_out, "write the test metrics as JSON");
  train_cmd->add_option("--report", train.report, "write an HTML report");

  std::string model_path, metrics_out;
  DataArgs eval_data;
  int threads = 0;
  auto* eval_cmd = app.add_subcommand("evaluate", "evaluate a saved model on a labelled file");
  eval_cmd->add_option("--model", model_path, "model file")->required();
  add_data_options(eval_cmd, eval_data, true);
  eval_cmd->add_option("--metrics-out", metrics_out, "write the metrics as JSON");
  eval_cmd->add_option("--threads", threads, "CPU threads (default: all)");
  std::string device = "cpu";
  eval_cmd->add_option("--device", device, kDeviceHelp)->capture_default_str();

  double threshold = -1;
  bool json = false;
  std::vector<std::string> texts;
  auto* predict_cmd = app.add_subcommand("predict", "classify messages given as arguments, or stdin lines");
  predict_cmd->add_option("--model", model_path, "model file")->required();
  predict_cmd->add_option("--threshold", threshold, "spam when score >= this (default: the model's)")->check(CLI::Range(0.0, 1.0));
  predict_cmd->add_flag("--json", json, "one JSON object per line");
  predict_cmd->add_option("--threads", threads, "CPU threads (default: all)");
  predict_cmd->add_option("--device", device, kDeviceHelp)->capture_default_str();
  predict_cmd->add_option("text", texts, "messages (default: read stdin, one per line)");

  std::string demo_dir = "ember-spam-demo";
  auto* demo_cmd = app.add_subcommand("demo", "train on the default data set, evaluate, write model and report");
  demo_cmd->add_option("--dir", demo_dir, "where to write model, metrics and report")->capture_default_str();
  demo_cmd->add_option("--threads", threads, "CPU threads (default: 1)");
  demo_cmd->add_option("--device", device, kDeviceHelp)->capture_default_str();

  std::vector<std::string> rev(args.rbegin(), args.rend() - (args.empty() ? 0 : 1));
  try {
    app.parse(rev);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e, out, err);  // prints help or the usage error
    return rc == 0 ? 0 : 2;
  }
  const bool progress = &err == &std::cerr && ::isatty(STDERR_FILENO);
  try {
    if (*train_cmd) {
      device_from_name(train.device);  // a missing GPU is reported before a missing data set
      if (train.data.data.empty()) train.data.data = find_default_data();
      return do_train(train, out, err, progress);
    }
    if (*eval_cmd) return do_evaluate(model_path, eval_data, metrics_out, threads, device, out, err);
    if (*predict_cmd) return do_predict(model_path, threshold, json, threads, device, texts, out, in);
    if (*demo_cmd) {
      TrainArgs d;
      device_from_name(device);  // before looking for the data: a missing GPU is the clearer error
      d.data.data = find_default_data();
      d.threads = threads;
      d.device = device;
      std::error_code ec;
      fs::create_directories(demo_dir, ec);
      if (ec) throw SpamError("cannot create " + demo_dir + ": " + ec.message());
      d.out = (fs::path(demo_dir) / "model.safetensors").string();
      d.metrics_out = (fs::path(demo_dir) / "metrics.json").string();
      d.report = (fs::path(demo_dir) / "report.html").string();
      int rc = do_train(d, out, err, progress);
      out << "try: ember-spam predict --model " << d.out << " \"WINNER!! Claim your free prize now\"\n";
      return rc;
    }
  } catch (const SpamError& e) {
    err << "ember-spam: error: " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    err << "ember-spam: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace ember::spam
