// ember-spam throughput: training (hashed features through forward, backward and the optimizer
// per second) and prediction (messages per second, featurizing included). Uses the SMS Spam
// Collection when it is found (see docs/spam.md), else synthetic messages of similar length.
#include <benchmark/benchmark.h>

#include <random>

#include "cli.h"
#include "dataset.h"
#include "kernels/cpu/parallel.h"
#include "model.h"
#include "trainer.h"

using namespace ember::spam;

namespace {

const Dataset& data() {
  static const Dataset d = [] {
    try {
      return read_dataset(find_default_data(), {});
    } catch (const SpamError&) {
      Dataset s;
      s.source = "synthetic";
      std::mt19937 rng(0);
      const char* words[] = {"free", "call", "now", "win", "prize", "hey", "lunch", "tomorrow", "ok", "see", "you",
                             "txt", "claim", "later", "home", "love", "cash", "reply", "stop", "meeting"};
      for (int i = 0; i < 5574; ++i) {
        std::string t;
        int n = 5 + static_cast<int>(rng() % 20);
        for (int k = 0; k < n; ++k) t += std::string(words[rng() % 20]) + " ";
        s.texts.push_back(t);
        s.labels.push_back(i % 7 == 0);
        s.lines.push_back(i + 1);
      }
      return s;
    }
  }();
  return d;
}

std::vector<size_t> all_rows() {
  std::vector<size_t> rows(data().size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return rows;
}

void BM_SpamTrain(benchmark::State& state) {
  ember::set_num_threads(static_cast<int>(state.range(0)));
  TrainOptions o = default_train_options(Arch::Bag);
  o.epochs = 3;
  o.patience = 3;
  double features = 0, seconds = 0;
  for (auto _ : state) {
    TrainResult r = train_model(data(), all_rows(), o);
    features += static_cast<double>(r.features_seen);
    seconds += static_cast<double>(r.features_seen) / r.features_per_second;
    benchmark::DoNotOptimize(r.model.threshold);
  }
  state.counters["features/s"] = features / seconds;
  state.counters["features/s/thread"] = features / seconds / static_cast<double>(state.range(0));
}
BENCHMARK(BM_SpamTrain)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

void BM_SpamPredict(benchmark::State& state) {
  ember::set_num_threads(static_cast<int>(state.range(0)));
  static const SpamModel model = [] {
    TrainOptions o = default_train_options(Arch::Bag);
    o.epochs = 1;
    return train_model(data(), all_rows(), o).model;
  }();
  for (auto _ : state) benchmark::DoNotOptimize(model.predict(data().texts));
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(data().size()));
}
BENCHMARK(BM_SpamPredict)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
