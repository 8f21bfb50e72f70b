// ember-spam throughput: training (hashed features through forward, backward and the optimizer
// per second) and prediction (messages per second, featurizing included); and one training
// step of the transformer on the CPU and the GPU (against PyTorch: see the NOTE below). Uses the SMS Spam
// Collection when it is found (see docs/spam.md), else synthetic messages of similar length.
#include <benchmark/benchmark.h>

#include <chrono>
#include <cmath>
#include <random>

#include "cli.h"
#include "dataset.h"
#include "featurizer.h"
#include "kernels/cpu/parallel.h"
#include "model.h"
#include "nn/functional/loss.h"
#include "optim/adam.h"
#include "tensor/cuda.h"
#include "tensor/ops.h"
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

// The baseline: the same linear model, features and batches trained by a hand-written loop
// (sparse SGD on the softmax cross-entropy, no tensors, no autograd, one thread): what the
// arithmetic costs without ember's tensors, autograd and optimizer around it. 3 epochs times
// 5 folds of 4/5 of the rows, the same work as BM_SpamTrain.
void BM_SpamTrainPlainLoop(benchmark::State& state) {
  TrainOptions o = default_train_options(Arch::Bag);
  FeatureTable t = Featurizer(o.features).bag_table(data().texts);
  count_features(t, o.features.buckets);
  std::vector<float> idf = inverse_document_frequency(t, all_rows(), o.features.buckets);
  apply_tfidf(t, idf.data(), idf.size());
  const auto buckets = static_cast<size_t>(o.features.buckets);
  double features = 0, seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (int fold = 0; fold < 5; ++fold) {
      std::vector<float> rows(2 * buckets, 0.0f);
      float bias[2] = {0, 0};
      std::vector<size_t> order;
      for (size_t i = 0; i < t.size(); ++i)
        if (static_cast<int>(i % 5) != fold) order.push_back(i);
      std::mt19937_64 rng(static_cast<uint64_t>(fold));
      for (int epoch = 0; epoch < 3; ++epoch) {
        for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
        for (size_t s = 0; s < order.size(); s += o.batch_size) {
          const size_t n = std::min(o.batch_size, order.size() - s);
          const auto lr = static_cast<float>(o.lr_sparse / static_cast<double>(n));
          std::vector<float> grad(2 * n);
          for (size_t b = 0; b < n; ++b) {  // forward: logits, softmax, dloss/dlogits
            const size_t m = order[s + b];
            float z[2] = {bias[0], bias[1]};
            for (int64_t k = t.offsets[m]; k < t.offsets[m + 1]; ++k) {
              const float* r = &rows[2 * static_cast<size_t>(t.ids[k])];
              z[0] += t.weights[k] * r[0];
              z[1] += t.weights[k] * r[1];
            }
            const float p1 = 1.0f / (1.0f + std::exp(z[0] - z[1]));
            const float y = static_cast<float>(data().labels[m]);
            grad[2 * b] = (1 - p1) - (1 - y);
            grad[2 * b + 1] = p1 - y;
            features += static_cast<double>(t.offsets[m + 1] - t.offsets[m]);
          }
          for (size_t b = 0; b < n; ++b) {  // backward and update
            const size_t m = order[s + b];
            for (int64_t k = t.offsets[m]; k < t.offsets[m + 1]; ++k) {
              float* r = &rows[2 * static_cast<size_t>(t.ids[k])];
              r[0] -= lr * t.weights[k] * grad[2 * b];
              r[1] -= lr * t.weights[k] * grad[2 * b + 1];
            }
            bias[0] -= lr * grad[2 * b];
            bias[1] -= lr * grad[2 * b + 1];
          }
        }
      }
      benchmark::DoNotOptimize(rows.data());
    }
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  state.counters["features/s"] = features / seconds;
}
BENCHMARK(BM_SpamTrainPlainLoop)->Unit(benchmark::kMillisecond)->Iterations(2)->UseRealTime();

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

// NOTE [transformer training step, ember against PyTorch]
// One training step of the app's transformer with its default config (dim 32, 1 layer, 2
// heads, ff 64, dropout 0.1, 2^18 buckets) on one fixed batch of the app's default shape:
// 32 messages padded to 64 positions, message i holding 64 - (13 i mod 48) words of 15
// random feature ids each (a short word's id plus its character n-grams); padded positions
// are empty bags, masked out of attention and of the mean pool. The step is forward,
// cross-entropy, zero_grad, backward and the app's optimizer (AdamW, lazy on the embedding
// rows at lr 0.05, dense at 2e-3, no weight decay). The batch lives on the device already
// (the app copies each batch over, a cost this leaves out on both sides). On CUDA the GPU is
// synchronized before each iteration ends. scripts/torch_spam_transformer_step.py builds the
// same model, batch and optimizers in PyTorch; the two print their parameter counts
// (params=) and must agree. The CPU run uses one thread, the app's default.
Batch transformer_step_batch(const TrainOptions& o) {
  const size_t rows = o.batch_size;
  const int64_t length = o.features.max_tokens, ids_per_word = 15;
  SeqTable t;
  std::mt19937_64 rng(0);
  std::vector<int> labels;
  for (size_t i = 0; i < rows; ++i) {
    const int64_t words = length - static_cast<int64_t>((13 * i) % 48);
    for (int64_t w = 0; w < words; ++w) {
      for (int64_t k = 0; k < ids_per_word; ++k)
        t.ids.push_back(static_cast<int64_t>(rng() % static_cast<uint64_t>(o.features.buckets)));
      t.word_offsets.push_back(static_cast<int64_t>(t.ids.size()));
    }
    t.msg_offsets.push_back(static_cast<int64_t>(t.word_offsets.size() - 1));
    labels.push_back(static_cast<int>(i % 2));
  }
  std::vector<size_t> order(rows);
  for (size_t i = 0; i < rows; ++i) order[i] = i;
  return make_seq_batch(t, order.data(), rows, &labels, 1);
}

void BM_SpamTransformerStep(benchmark::State& state, bool cuda) {
  if (cuda && !ember::cuda::is_available()) {
    state.SkipWithError("no CUDA device: the GPU training step did not run");
    return;
  }
  const ember::Device device = cuda ? ember::Device(ember::kCUDA) : ember::Device(ember::kCPU);
  ember::set_num_threads(1);
  TrainOptions o = default_train_options(Arch::Transformer);
  ember::manual_seed(0);
  std::shared_ptr<SpamNet> net = make_model(o.model, o.features);
  net->to(device);
  net->train();
  Batch batch = transformer_step_batch(o).to(device);
  ember::optim::AdamWOptions sparse_opts;
  sparse_opts.lr = o.lr_sparse;
  sparse_opts.weight_decay = o.weight_decay;
  ember::optim::AdamW opt(net->sparse_parameters(), sparse_opts);
  ember::optim::AdamWOptions dense_opts = sparse_opts;
  dense_opts.lr = o.lr_dense;
  opt.add_param_group(net->dense_parameters(), dense_opts);
  auto step = [&] {
    ember::Tensor loss = ember::nn::functional::cross_entropy(net->logits(batch), batch.targets);
    opt.zero_grad();
    loss.backward();
    opt.step();
  };
  for (int i = 0; i < 3; ++i) step();  // warm-up: optimizer state, the allocator's cache
  ember::cuda::synchronize();
  for (auto _ : state) {
    step();
    if (cuda) ember::cuda::synchronize();
  }
  int64_t params = 0;
  for (const ember::Tensor& p : net->parameters()) params += p.numel();
  state.counters["params"] = static_cast<double>(params);
  state.counters["ids"] = static_cast<double>(batch.features);
}
BENCHMARK_CAPTURE(BM_SpamTransformerStep, cpu, false)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_CAPTURE(BM_SpamTransformerStep, cuda, true)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
