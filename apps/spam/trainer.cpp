#include "trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <random>

#include "autograd/grad_mode.h"
#include "metrics.h"
#include "nn/functional/loss.h"
#include "optim/adam.h"
#include "optim/lr_scheduler.h"
#include "split.h"
#include "tensor/ops.h"

namespace ember::spam {
namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The featurized rows of one data set, in whichever layout the architecture reads.
struct Tables {
  Arch arch;
  FeatureTable bag;
  SeqTable seq;
  int64_t min_length = 1;
  Batch batch(const size_t* rows, size_t n, const std::vector<int>* labels) const {
    return arch == Arch::Bag ? make_bag_batch(bag, rows, n, labels) : make_seq_batch(seq, rows, n, labels, min_length);
  }
};

struct Eval {
  std::vector<float> scores;
  std::vector<int> labels;
  double loss = 0;
};

Eval evaluate_rows(SpamNet& net, const Tables& t, const std::vector<size_t>& rows, const std::vector<int>& labels) {
  NoGradGuard guard;
  net.eval();
  Eval e;
  const size_t bs = t.arch == Arch::Bag ? 1024 : 256;
  double loss_sum = 0;
  for (size_t s = 0; s < rows.size(); s += bs) {
    size_t n = std::min(bs, rows.size() - s);
    Batch b = t.batch(rows.data() + s, n, &labels);
    Tensor logits = net.logits(b);
    loss_sum += nn::functional::cross_entropy(logits, b.targets, {}, -100, "sum").item<double>();
    Tensor p = logits.softmax(1).select(1, 1).contiguous();
    const float* d = p.data_ptr<float>();
    e.scores.insert(e.scores.end(), d, d + n);
  }
  for (size_t r : rows) e.labels.push_back(labels[r]);
  e.loss = rows.empty() ? 0 : loss_sum / static_cast<double>(rows.size());
  net.train();
  return e;
}

std::vector<std::pair<std::string, Tensor>> snapshot(const SpamNet& net) {
  auto state = net.state_dict();
  for (auto& [name, t] : state) t = t.clone();
  return state;
}

void draw_progress(int epoch, int epochs, size_t batch, size_t batches, double loss, double val_mcc, double feats_per_s,
                   double eta) {
  const int width = 24;
  int filled = batches ? static_cast<int>(width * batch / batches) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(width, ' ');
  std::fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %zu/%zu loss %.4f val MCC %s %.2fM tok/s ETA %.0fs", epoch, epochs,
               bar.c_str(), batch, batches, loss, val_mcc < -1 ? "  -  " : std::to_string(val_mcc).substr(0, 5).c_str(),
               feats_per_s / 1e6, eta);
  std::fflush(stderr);
}

}  // namespace

TrainOptions default_train_options(Arch arch) {
  TrainOptions o;
  o.model.arch = arch;
  if (arch == Arch::Bag) {
    o.features.buckets = int64_t{1} << 18;
    o.model.dim = 16;
  } else {
    o.features.buckets = int64_t{1} << 18;
    o.features.max_tokens = 64;
    o.model.dim = 32;
    o.epochs = 8;
    o.batch_size = 32;
    o.lr_dense = 2e-3;
  }
  return o;
}

TrainResult train_model(const Dataset& data, const std::vector<size_t>& rows, const TrainOptions& o) {
  if (rows.empty()) throw SpamError("no training rows");
  if (o.epochs < 1 || o.batch_size < 1) throw SpamError("epochs and batch size must be positive");
  if (o.stop_on != "loss" && o.stop_on != "auc" && o.stop_on != "mcc")
    throw SpamError("unknown early-stopping criterion '" + o.stop_on + "' (expected loss, auc or mcc)");
  Split inner = stratified_group_split(data.texts, data.labels, rows, o.val_fraction, o.seed + 1);
  std::vector<size_t> train_rows = inner.train, val_rows = inner.test;
  if (train_rows.empty()) throw SpamError("no training rows left after taking the validation slice");

  Featurizer fz(o.features);
  Tables tables{o.model.arch, {}, {}, 1};
  if (o.model.arch == Arch::Bag) {
    tables.bag = fz.bag_table(data.texts);
  } else {
    tables.seq = fz.seq_table(data.texts);
    for (int64_t w : o.model.widths) tables.min_length = std::max(tables.min_length, w);
  }

  manual_seed(o.seed);
  TrainResult result;
  SpamModel& model = result.model;
  model.features = o.features;
  model.config = o.model;
  model.positive_label = data.positive_label;
  model.negative_label = data.negative_label;
  model.net = make_model(o.model, o.features);
  SpamNet& net = *model.net;
  net.train();

  optim::AdamWOptions sparse_opts;
  sparse_opts.lr = o.lr_sparse;
  sparse_opts.weight_decay = o.weight_decay;
  optim::AdamW opt(net.sparse_parameters(), sparse_opts);
  optim::AdamWOptions dense_opts = sparse_opts;
  dense_opts.lr = o.lr_dense;
  opt.add_param_group(net.dense_parameters(), dense_opts);

  const size_t batches = (train_rows.size() + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = static_cast<int64_t>(batches) * o.epochs;
  const auto warmup = static_cast<int64_t>(std::llround(o.warmup_fraction * static_cast<double>(total_steps)));
  optim::WarmupCosine schedule(opt, warmup, total_steps);

  std::mt19937_64 rng(o.seed);
  double best_loss = INFINITY;
  std::vector<std::pair<std::string, Tensor>> best_state;
  int since_best = 0;
  double step_seconds = 0, last_val_mcc = -2;
  auto t_start = Clock::now();
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    auto t_epoch = Clock::now();
    for (size_t i = train_rows.size(); i > 1; --i) std::swap(train_rows[i - 1], train_rows[rng() % i]);
    double loss_sum = 0;
    for (size_t b = 0; b < batches; ++b) {
      auto t_step = Clock::now();
      size_t s = b * o.batch_size, n = std::min(o.batch_size, train_rows.size() - s);
      Batch batch = tables.batch(train_rows.data() + s, n, &data.labels);
      Tensor loss = nn::functional::cross_entropy(net.logits(batch), batch.targets);
      opt.zero_grad();
      loss.backward();
      opt.step();
      schedule.step();
      loss_sum += loss.item<double>();
      result.features_seen += batch.features;
      step_seconds += since(t_step);
      if (o.progress && (b % 8 == 0 || b + 1 == batches)) {
        double fps = step_seconds > 0 ? static_cast<double>(result.features_seen) / step_seconds : 0;
        double per_batch = step_seconds / static_cast<double>((epoch - 1) * batches + b + 1);
        double eta = per_batch * static_cast<double>(total_steps - static_cast<int64_t>((epoch - 1) * batches + b + 1));
        draw_progress(epoch, o.epochs, b + 1, batches, loss_sum / static_cast<double>(b + 1), last_val_mcc, fps, eta);
      }
    }
    EpochLog log;
    log.epoch = epoch;
    log.train_loss = loss_sum / static_cast<double>(batches);
    if (!val_rows.empty()) {
      Eval v = evaluate_rows(net, tables, val_rows, data.labels);
      log.val_loss = v.loss;
      Metrics vm = compute_metrics(v.scores, v.labels, best_mcc_threshold(v.scores, v.labels));
      log.val_mcc = vm.mcc;
      log.val_auc = vm.roc_auc;
      last_val_mcc = log.val_mcc;
    }
    log.seconds = since(t_epoch);
    result.history.push_back(log);
    // Lower is better: the loss, or the negated AUC / MCC (ties go to the earlier epoch).
    double score = o.stop_on == "auc" ? -log.val_auc : o.stop_on == "mcc" ? -log.val_mcc : log.val_loss;
    if (val_rows.empty() || score < best_loss) {
      best_loss = score;
      result.best_epoch = epoch;
      since_best = 0;
      if (!val_rows.empty() && epoch < o.epochs) best_state = snapshot(net);
      else best_state.clear();  // the live weights are the best
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  if (o.progress) std::fprintf(stderr, "\r\033[K");
  if (!best_state.empty() && result.best_epoch != result.history.back().epoch) net.load_state_dict(best_state);
  if (!val_rows.empty()) {
    Eval v = evaluate_rows(net, tables, val_rows, data.labels);
    model.threshold = best_mcc_threshold(v.scores, v.labels);
  }
  net.eval();
  result.train_seconds = since(t_start);
  result.features_per_second = step_seconds > 0 ? static_cast<double>(result.features_seen) / step_seconds : 0;
  return result;
}

}  // namespace ember::spam
