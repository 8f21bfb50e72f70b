// ember-spam on the GPU (--device cuda): it trains to the CPU's quality, its model file is a
// CPU model's, and without a GPU the option is a clear error.
#include <doctest/doctest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "cli.h"
#include "spam_test_util.h"
#include "cuda_test_util.h"
#include "dataset.h"
#include "io/safetensors.h"
#include "metrics.h"
#include "model.h"
#include "trainer.h"

using namespace ember::spam;
namespace fs = std::filesystem;

namespace {
using e2e::cli, e2e::kEval, e2e::kSmall, e2e::Run;
fs::path temp_dir() { return e2e::temp_dir("ember_spam_cuda_test"); }

// The small options of test_spam_e2e.cpp: a tiny table, enough epochs to fit 46 rows.
TrainOptions small_options(Arch arch) {
  TrainOptions o = default_train_options(arch);
  o.features.buckets = 1 << 12;
  o.epochs = arch == Arch::Bag ? 30 : 12;
  o.patience = 30;
  o.val_fraction = 0.2;
  if (arch != Arch::Bag) o.lr_dense = 0.05;
  return o;
}

Metrics quality(const SpamModel& m, const Dataset& d) {
  return compute_metrics(m.predict(d.texts), d.labels, m.threshold);
}
}  // namespace

TEST_CASE("cuda spam e2e: every architecture trains on the GPU to the CPU's quality") {
  if (ember::test::skip_without_gpu("spam training on the GPU")) return;
  Dataset train = read_dataset(kSmall, {}), eval = read_dataset(kEval, {});
  std::vector<size_t> rows(train.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  for (Arch arch : {Arch::Bag, Arch::Cnn, Arch::Transformer}) {
    CAPTURE(arch_name(arch));
    TrainOptions o = small_options(arch);  // the bag: 5 cross-fitted folds, sparse SGD, merged, Platt
    TrainResult cpu = train_model(train, rows, o);
    o.device = ember::Device(ember::kCUDA);
    TrainResult gpu = train_model(train, rows, o);
    CHECK(gpu.model.net->device() == ember::Device(ember::kCUDA));
    CHECK(gpu.model.config.merged == cpu.model.config.merged);
    // Same initial weights, batches and schedule; the GPU sums in another order (atomics),
    // so the figures may differ a little, never by much.
    Metrics mc = quality(cpu.model, train), mg = quality(gpu.model, train);
    CAPTURE(mc.roc_auc);
    CAPTURE(mg.roc_auc);
    CAPTURE(mc.mcc);
    CAPTURE(mg.mcc);
    CHECK(mg.roc_auc >= mc.roc_auc - 0.05);
    CHECK(mg.mcc >= mc.mcc - 0.15);
    Metrics ec = quality(cpu.model, eval), eg = quality(gpu.model, eval);
    CHECK(eg.roc_auc >= ec.roc_auc - 0.1);
    CHECK(std::fabs(gpu.model.threshold - cpu.model.threshold) < 0.25);
    // The figures above hardly move on 46 separable rows: a CNN whose embedding rows never
    // learned (lr 1e-6) still scored train AUC 0.98, MCC 0.91 and eval AUC 1. The scores
    // themselves must track the CPU's: the weights start the same, the batches and shuffles
    // are the same, and dropout's masks are the same bits on either device (counter-based
    // RNG), so only float rounding differs. Measured on the CPU: relative noise of 1e-4 on
    // every weight after every step moved no score by more than 5e-4 (any arch), while a lost
    // sparse update or another seed moved them by 0.1 to 0.65 (mean 0.03 to 0.4).
    for (const Dataset* d : {&train, &eval}) {
      const std::vector<float> sc = cpu.model.predict(d->texts), sg = gpu.model.predict(d->texts);
      REQUIRE(sg.size() == sc.size());
      double worst = 0, sum = 0;
      for (size_t i = 0; i < sg.size(); ++i) {
        const double diff = std::fabs(static_cast<double>(sg[i]) - sc[i]);
        if (!(diff <= worst)) worst = diff;  // a NaN score counts as the worst, never skipped
        sum += diff;
      }
      CAPTURE(d->source);
      CHECK(worst <= 0.05);
      CHECK(sum / static_cast<double>(sg.size()) <= 0.01);
    }

    // The saved file: a CPU model's tensors and metadata, and it scores the same on the host.
    fs::path gfile = temp_dir() / ("gpu_" + arch_name(arch) + ".safetensors");
    fs::path cfile = temp_dir() / ("cpu_" + arch_name(arch) + ".safetensors");
    gpu.model.save(gfile.string());
    cpu.model.save(cfile.string());
    ember::SafetensorsFile gf = ember::load_with_metadata(gfile.string()), cf = ember::load_with_metadata(cfile.string());
    REQUIRE(gf.tensors.size() == cf.tensors.size());
    for (size_t i = 0; i < gf.tensors.size(); ++i) {
      CHECK(gf.tensors[i].first == cf.tensors[i].first);
      CHECK(gf.tensors[i].second.sizes() == cf.tensors[i].second.sizes());
      CHECK(gf.tensors[i].second.dtype() == cf.tensors[i].second.dtype());
      CHECK(gf.tensors[i].second.device().is_cpu());
    }
    CHECK(gf.metadata.size() == cf.metadata.size());
    CHECK(gf.metadata.at("model") == cf.metadata.at("model"));
    CHECK(gf.metadata.at("features") == cf.metadata.at("features"));
    SpamModel loaded = SpamModel::load(gfile.string());
    std::vector<float> on_gpu = gpu.model.predict(eval.texts), on_host = loaded.predict(eval.texts);
    REQUIRE(on_gpu.size() == on_host.size());
    for (size_t i = 0; i < on_gpu.size(); ++i) CHECK(on_host[i] == doctest::Approx(on_gpu[i]).epsilon(1e-4));
    // And back onto the GPU: the same scores again.
    loaded.to(ember::Device(ember::kCUDA));
    std::vector<float> again = loaded.predict(eval.texts);
    for (size_t i = 0; i < on_gpu.size(); ++i) CHECK(again[i] == doctest::Approx(on_gpu[i]).epsilon(1e-4));
  }
}

TEST_CASE("cuda spam cli: train, evaluate, predict and demo with --device cuda") {
  if (ember::test::skip_without_gpu("ember-spam --device cuda")) return;
  fs::path dir = temp_dir();
  for (const char* arch : {"bag", "cnn", "transformer"}) {
    CAPTURE(arch);
    std::string model = (dir / (std::string("cli_") + arch + ".safetensors")).string();
    Run t = cli({"train", "--data", kSmall, "--eval", kEval, "--arch", arch, "--epochs", "6", "--buckets", "4096",
                 "--out", model, "--device", "cuda"});
    REQUIRE_MESSAGE(t.rc == 0, t.err);
    CHECK(t.out.find("(cuda:0)") != std::string::npos);
    CHECK(t.out.find("MCC") != std::string::npos);
    Run eg = cli({"evaluate", "--model", model, "--data", kEval, "--device", "cuda:0"});
    Run ec = cli({"evaluate", "--model", model, "--data", kEval});
    REQUIRE_MESSAGE(eg.rc == 0, eg.err);
    REQUIRE(ec.rc == 0);
    CHECK(eg.out.find("messages               5") != std::string::npos);
    // The same model on 5 rows: scores within float rounding, so the same table (the cut is
    // a midpoint between held-out scores, never one of these rows' scores).
    CHECK(eg.out == ec.out);
    Run pg = cli({"predict", "--model", model, "--device", "cuda", "--threshold", "0.5", "WINNER! Claim your prize"});
    Run pc = cli({"predict", "--model", model, "--threshold", "0.5", "WINNER! Claim your prize"});
    REQUIRE_MESSAGE(pg.rc == 0, pg.err);
    CHECK(pg.out.substr(0, pg.out.find('\t')) == pc.out.substr(0, pc.out.find('\t')));  // the same label
  }
  // demo --device cuda: the default bag (5 cross-fitted folds merged, tf-idf, Platt) on the
  // default data set, here the small fixture through EMBER_SPAM_DATA, then the report.
  const char* old_data = std::getenv("EMBER_SPAM_DATA");
  const std::string saved = old_data ? old_data : "";
  ::setenv("EMBER_SPAM_DATA", kSmall.c_str(), 1);
  Run demo = cli({"demo", "--dir", (dir / "demo").string(), "--device", "cuda"});
  if (old_data) ::setenv("EMBER_SPAM_DATA", saved.c_str(), 1);
  else ::unsetenv("EMBER_SPAM_DATA");
  REQUIRE_MESSAGE(demo.rc == 0, demo.err);
  CHECK(demo.out.find("trained bag (cuda:0)") != std::string::npos);
  CHECK(fs::exists(dir / "demo" / "metrics.json"));
  CHECK(fs::exists(dir / "demo" / "report.html"));
  SpamModel m = SpamModel::load((dir / "demo" / "model.safetensors").string());  // written from the GPU
  CHECK(m.config.merged == 5);
  CHECK(m.predict({"WINNER! Claim your prize"}).size() == 1);
}

TEST_CASE("spam cli: --device cuda says plainly when there is no GPU, never crashes") {
  Run bad = cli({"train", "--data", kSmall, "--device", "tpu"});
  CHECK(bad.rc == 1);
  CHECK(bad.err.find("--device tpu: unknown device") != std::string::npos);
  Run no_data = cli({"train", "--device", "tpu"});  // the device is judged before the data is looked for
  CHECK(no_data.err.find("--device tpu: unknown device") != std::string::npos);
  Run second = cli({"train", "--data", kSmall, "--device", "cuda:1"});
  CHECK(second.rc == 1);
  CHECK((second.err.find("cuda:0 only") != std::string::npos ||
         second.err.find("no GPU to run on") != std::string::npos));
  if (ember::cuda::is_available()) return;  // the rest is about machines without one
  const std::string no_gpu = ": no GPU to run on";
  for (std::vector<std::string> args :
       {std::vector<std::string>{"train", "--data", kSmall, "--device", "cuda"},
        {"train", "--data", kSmall, "--device", "cuda:0", "--arch", "transformer"},
        {"evaluate", "--model", "/nonexistent/model.safetensors", "--data", kSmall, "--device", "cuda"},
        {"predict", "--model", "/nonexistent/model.safetensors", "--device", "cuda", "hello"},
        {"demo", "--dir", (temp_dir() / "demo").string(), "--device", "cuda"}}) {
    CAPTURE(args[0]);
    Run r = cli(args);
    CHECK(r.rc == 1);
    CHECK_MESSAGE(r.err.find(no_gpu) != std::string::npos, r.err);
    CHECK(r.err.find("ember-spam: error: --device cuda") != std::string::npos);
  }
  TrainOptions o = small_options(Arch::Bag);
  o.device = ember::Device(ember::kCUDA);
  Dataset d = read_dataset(kSmall, {});
  std::vector<size_t> rows(d.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  CHECK_THROWS_WITH_AS(train_model(d, rows, o), doctest::Contains("no GPU to run on"), SpamError);
}
