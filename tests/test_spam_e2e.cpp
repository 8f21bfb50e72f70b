// ember-spam end to end: train, save, load, evaluate, predict agree; the CLI's errors.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cli.h"
#include "spam_test_util.h"
#include "dataset.h"
#include "model.h"
#include "report.h"
#include "split.h"
#include "trainer.h"

using namespace ember::spam;
namespace fs = std::filesystem;

namespace {
using e2e::cli, e2e::kEval, e2e::kSmall, e2e::Run;
fs::path temp_dir() { return e2e::temp_dir("ember_spam_test"); }

TrainOptions small_options(Arch arch) {
  TrainOptions o = default_train_options(arch);
  o.features.buckets = 1 << 12;
  o.epochs = 30;
  o.patience = 30;
  o.val_fraction = 0.2;
  if (arch != Arch::Bag) o.lr_dense = 0.05;
  return o;
}
}  // namespace

TEST_CASE("spam e2e: train, save, load and predict give the same scores") {
  Dataset d = read_dataset(kSmall, {});
  std::vector<size_t> rows(d.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  for (Arch arch : {Arch::Bag, Arch::Cnn, Arch::Transformer}) {
    CAPTURE(arch_name(arch));
    TrainOptions o = small_options(arch);
    if (arch != Arch::Bag) o.epochs = 12;
    TrainResult r = train_model(d, rows, o);
    CHECK(!r.history.empty());
    std::vector<std::string> probe{"WINNER! Claim your free cash prize, call 09061701461 now",
                                   "are we still on for lunch tomorrow?", ""};
    std::vector<float> before = r.model.predict(probe);
    fs::path file = temp_dir() / ("model_" + arch_name(arch) + ".safetensors");
    r.model.save(file.string());
    SpamModel loaded = SpamModel::load(file.string());
    CHECK(loaded.threshold == r.model.threshold);
    CHECK(loaded.config.arch == arch);
    std::vector<float> after = loaded.predict(probe);
    REQUIRE(after.size() == before.size());
    for (size_t i = 0; i < before.size(); ++i) CHECK(after[i] == before[i]);
    if (arch == Arch::Bag) {
      CHECK(before[0] > 0.5f);
      CHECK(before[1] < 0.5f);
    }
  }
}

TEST_CASE("spam e2e: bag variants: one validation slice, an MLP, counted features") {
  Dataset d = read_dataset(kSmall, {});
  std::vector<size_t> rows(d.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  std::vector<std::string> probe{"WINNER! Claim your free cash prize, call 09061701461 now",
                                 "are we still on for lunch tomorrow?"};
  TrainOptions single = small_options(Arch::Bag);
  single.folds = 1;
  TrainResult s = train_model(d, rows, single);
  CHECK(s.fold_best_epochs.size() == 1);
  CHECK(s.model.config.merged == 1);
  std::vector<float> ps = s.model.predict(probe);
  CHECK(ps[0] > ps[1]);

  TrainOptions mlp = small_options(Arch::Bag);
  mlp.model.hidden = 8;
  CHECK_THROWS_AS(train_model(d, rows, mlp), SpamError);  // an MLP cannot be merged
  mlp.folds = 1;
  mlp.optimizer = "adamw";
  mlp.lr_sparse = 0.05;
  mlp.lr_dense = 0.01;
  TrainResult m = train_model(d, rows, mlp);
  std::vector<float> pm = m.model.predict(probe);
  CHECK(pm[0] > pm[1]);

  TrainOptions counted = small_options(Arch::Bag);
  counted.features.weighting = "count";
  TrainResult c = train_model(d, rows, counted);
  CHECK(c.model.config.merged == 5);
  fs::path file = temp_dir() / "model_counted.safetensors";
  c.model.save(file.string());
  CHECK(SpamModel::load(file.string()).predict(probe) == c.model.predict(probe));

  TrainOptions bad = small_options(Arch::Bag);
  bad.optimizer = "lbfgs";
  CHECK_THROWS_AS(train_model(d, rows, bad), SpamError);
}

TEST_CASE("spam e2e: the same seed gives the same model") {
  Dataset d = read_dataset(kSmall, {});
  std::vector<size_t> rows(d.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  TrainOptions o = small_options(Arch::Bag);
  o.epochs = 5;
  TrainResult a = train_model(d, rows, o), b = train_model(d, rows, o);
  CHECK(a.model.threshold == b.model.threshold);
  CHECK(a.model.predict(d.texts) == b.model.predict(d.texts));
}

TEST_CASE("spam cli: train, evaluate and predict through the command line") {
  fs::path dir = temp_dir();
  std::string model = (dir / "cli.safetensors").string(), metrics = (dir / "m.json").string(),
              report = (dir / "r.html").string();
  Run t = cli({"train", "--data", kSmall, "--eval", kEval, "--epochs", "20", "--out", model, "--metrics-out", metrics,
               "--report", report, "--threads", "1"});
  REQUIRE_MESSAGE(t.rc == 0, t.err);
  CHECK(t.out.find("MCC") != std::string::npos);
  CHECK(fs::exists(model));
  CHECK(fs::exists(report));
  std::ifstream mj(metrics);
  std::string json((std::istreambuf_iterator<char>(mj)), std::istreambuf_iterator<char>());
  CHECK(json.find("\"train_seconds\"") != std::string::npos);

  Run e = cli({"evaluate", "--model", model, "--data", kEval, "--metrics-out", (dir / "e.json").string()});
  REQUIRE_MESSAGE(e.rc == 0, e.err);
  CHECK(e.out.find("messages               5") != std::string::npos);

  Run p = cli({"predict", "--model", model, "Are you free for lunch tomorrow?"});
  REQUIRE(p.rc == 0);
  Run s = cli({"predict", "--model", model}, "Are you free for lunch tomorrow?\r\nsecond line\n");
  REQUIRE(s.rc == 0);
  CHECK(s.out.substr(0, s.out.find('\n')) == p.out.substr(0, p.out.find('\n')));  // args and stdin agree
  CHECK(std::count(s.out.begin(), s.out.end(), '\n') == 2);
  Run j = cli({"predict", "--model", model, "--json", "x \"quoted\""});
  CHECK(j.out.find("\"score\"") != std::string::npos);
  CHECK(j.out.find("\\\"quoted\\\"") != std::string::npos);
  Run forced = cli({"predict", "--model", model, "--threshold", "0", "hello"});
  CHECK(forced.out.rfind("spam\t", 0) == 0);  // threshold 0 flags everything
}

TEST_CASE("spam cli: errors are clear and never crash") {
  Run none = cli({});
  CHECK(none.rc != 0);
  Run missing = cli({"train", "--data", "/nonexistent/data.tsv"});
  CHECK(missing.rc == 1);
  CHECK(missing.err.find("cannot open /nonexistent/data.tsv") != std::string::npos);
  Run bad_arch = cli({"train", "--data", kSmall, "--arch", "rnn"});
  CHECK(bad_arch.rc == 2);
  CHECK(bad_arch.err.find("rnn") != std::string::npos);
  Run no_model = cli({"predict", "--model", "/nonexistent/model.safetensors", "hi"});
  CHECK(no_model.rc == 1);
  CHECK(no_model.err.find("/nonexistent/model.safetensors") != std::string::npos);
  fs::path junk = temp_dir() / "junk.safetensors";
  { std::ofstream(junk) << "not a model"; }
  Run junk_model = cli({"evaluate", "--model", junk.string(), "--data", kSmall});
  CHECK(junk_model.rc == 1);
  CHECK(junk_model.err.find(junk.string()) != std::string::npos);
  Run bad_row = cli({"train", "--data", EMBER_SOURCE_DIR "/tests/fixtures/spam/bad_utf8.tsv"});
  CHECK(bad_row.rc == 1);
  CHECK(bad_row.err.find("bad_utf8.tsv:2: invalid UTF-8") != std::string::npos);
  Run stop = cli({"train", "--data", kSmall, "--stop-on", "luck"});
  CHECK(stop.rc == 2);
  Run col = cli({"train", "--data", EMBER_SOURCE_DIR "/tests/fixtures/spam/small.csv", "--text-column", "body"});
  CHECK(col.rc == 1);
  CHECK(col.err.find("small.csv:1: no column named 'body'") != std::string::npos);
}

TEST_CASE("spam report: self-contained HTML with escaped messages") {
  ReportInput in;
  in.metrics = compute_metrics({0.9f, 0.2f, 0.7f}, {1, 0, 0}, 0.5);
  in.history = {{1, 0.5, 0.4, 0.8, 0.1}, {2, 0.3, 0.35, 0.9, 0.1}};
  in.test_scores = {0.9f, 0.2f, 0.7f};
  in.test_labels = {1, 0, 0};
  in.test_texts = {"win", "hi", "<script>alert(1)</script>"};
  std::string html = render_report(in);
  CHECK(html.find("<svg") != std::string::npos);
  CHECK(html.find("<script>") == std::string::npos);
  CHECK(html.find("&lt;script&gt;") != std::string::npos);
  CHECK(html.find("http") == std::string::npos);  // no external assets
}
