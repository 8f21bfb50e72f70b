#include "trainer.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "autograd/grad_mode.h"
#include "metrics.h"
#include "nn/functional/loss.h"
#include "optim/adam.h"
#include "optim/lr_scheduler.h"
#include "optim/sgd.h"
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
  Device device{kCPU};  // the model's: each batch is built on the host and copied there
  Batch batch(const size_t* rows, size_t n, const std::vector<int>* labels) const {
    Batch b = arch == Arch::Bag ? make_bag_batch(bag, rows, n, labels) : make_seq_batch(seq, rows, n, labels, min_length);
    return b.to(device);
  }
};

struct Eval {
  std::vector<float> scores;
  std::vector<double> margins;  // spam logit minus ham logit: the scores before the sigmoid
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
    // Scores and margins come back to the host (the metrics and calibration are CPU code).
    Tensor p = logits.softmax(1).select(1, 1).cpu().contiguous();
    const float* d = p.data_ptr<float>();
    e.scores.insert(e.scores.end(), d, d + n);
    Tensor m = (logits.select(1, 1) - logits.select(1, 0)).cpu().contiguous();
    const float* md = m.data_ptr<float>();
    e.margins.insert(e.margins.end(), md, md + n);
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

void draw_progress(const std::string& tag, int epoch, int epochs, size_t batch, size_t batches, double loss,
                   double val_mcc, double feats_per_s, double eta) {
  const int width = 24;
  int filled = batches ? static_cast<int>(width * batch / batches) : width;
  std::string bar(static_cast<size_t>(filled), '=');
  bar.resize(width, ' ');
  std::fprintf(stderr, "\r\033[K%sepoch %d/%d [%s] %zu/%zu loss %.4f val MCC %s %.2fM tok/s ETA %.0fs", tag.c_str(),
               epoch, epochs, bar.c_str(), batch, batches, loss,
               val_mcc < -1 ? "  -  " : std::to_string(val_mcc).substr(0, 5).c_str(), feats_per_s / 1e6, eta);
  std::fflush(stderr);
}

// Two parameter groups: the embedding rows (row-sparse gradients, updated lazily) and the rest.
template <class Opt, class Options>
std::unique_ptr<optim::Optimizer> two_groups(const SpamNet& net, const TrainOptions& o) {
  Options sparse_opts;
  sparse_opts.lr = o.lr_sparse;
  sparse_opts.weight_decay = o.weight_decay;
  auto opt = std::make_unique<Opt>(net.sparse_parameters(), sparse_opts);
  Options dense_opts = sparse_opts;
  dense_opts.lr = o.lr_dense;
  opt->add_param_group(net.dense_parameters(), dense_opts);
  return opt;
}

std::unique_ptr<optim::Optimizer> make_optimizer(const SpamNet& net, const TrainOptions& o) {
  if (o.optimizer == "sgd") return two_groups<optim::SGD, optim::SGDOptions>(net, o);
  return two_groups<optim::AdamW, optim::AdamWOptions>(net, o);
}

// One model trained on train_rows, early-stopped on val_rows; the weights of the best epoch
// are the ones left in the net.
struct Fit {
  std::vector<EpochLog> history;
  int best_epoch = 0;
  Eval val;  // the kept weights' held-out scores
  int64_t features_seen = 0;
  double step_seconds = 0;
};

Fit fit(SpamNet& net, const Tables& tables, const std::vector<int>& labels, std::vector<size_t> train_rows,
        const std::vector<size_t>& val_rows, const TrainOptions& o, uint64_t seed, const std::string& tag) {
  net.train();
  std::unique_ptr<optim::Optimizer> opt = make_optimizer(net, o);
  optim::Optimizer& optimizer = *opt;
  const size_t batches = (train_rows.size() + o.batch_size - 1) / o.batch_size;
  const int64_t total_steps = static_cast<int64_t>(batches) * o.epochs;
  const auto warmup = static_cast<int64_t>(std::llround(o.warmup_fraction * static_cast<double>(total_steps)));
  optim::WarmupCosine schedule(optimizer, warmup, total_steps);

  std::mt19937_64 rng(seed);
  Fit f;
  double best_score = INFINITY, last_val_mcc = -2;
  std::vector<std::pair<std::string, Tensor>> best_state;
  int since_best = 0;
  for (int epoch = 1; epoch <= o.epochs; ++epoch) {
    auto t_epoch = Clock::now();
    for (size_t i = train_rows.size(); i > 1; --i) std::swap(train_rows[i - 1], train_rows[rng() % i]);
    double loss_sum = 0;
    for (size_t b = 0; b < batches; ++b) {
      auto t_step = Clock::now();
      size_t s = b * o.batch_size, n = std::min(o.batch_size, train_rows.size() - s);
      Batch batch = tables.batch(train_rows.data() + s, n, &labels);
      Tensor loss = nn::functional::cross_entropy(net.logits(batch), batch.targets);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      schedule.step();
      loss_sum += loss.item<double>();
      f.features_seen += batch.features;
      f.step_seconds += since(t_step);
      if (o.progress && (b % 8 == 0 || b + 1 == batches)) {
        double fps = f.step_seconds > 0 ? static_cast<double>(f.features_seen) / f.step_seconds : 0;
        auto done = static_cast<int64_t>((epoch - 1) * batches + b + 1);
        double eta = f.step_seconds / static_cast<double>(done) * static_cast<double>(total_steps - done);
        draw_progress(tag, epoch, o.epochs, b + 1, batches, loss_sum / static_cast<double>(b + 1), last_val_mcc, fps,
                      eta);
      }
    }
    EpochLog log;
    log.epoch = epoch;
    log.train_loss = loss_sum / static_cast<double>(batches);
    Eval v;
    if (!val_rows.empty()) {
      v = evaluate_rows(net, tables, val_rows, labels);
      log.val_loss = v.loss;
      Metrics vm = compute_metrics(v.scores, v.labels, best_mcc_threshold(v.scores, v.labels));
      log.val_mcc = last_val_mcc = vm.mcc;
      log.val_auc = vm.roc_auc;
    }
    log.seconds = since(t_epoch);
    f.history.push_back(log);
    // Lower is better: the loss, or the negated AUC / MCC (ties go to the earlier epoch).
    double score = o.stop_on == "auc" ? -log.val_auc : o.stop_on == "mcc" ? -log.val_mcc : log.val_loss;
    if (val_rows.empty() || score < best_score) {
      best_score = score;
      f.best_epoch = epoch;
      f.val = std::move(v);
      since_best = 0;
      if (!val_rows.empty() && epoch < o.epochs) best_state = snapshot(net);
      else best_state.clear();  // the live weights are the best
    } else if (++since_best >= o.patience) {
      break;
    }
  }
  if (!best_state.empty() && f.best_epoch != f.history.back().epoch) net.load_state_dict(best_state);
  net.eval();
  return f;
}

// The folds' histories as one: each epoch's figures averaged over the folds that reached it.
std::vector<EpochLog> mean_history(const std::vector<std::vector<EpochLog>>& histories) {
  std::vector<EpochLog> mean;
  std::vector<int> count;
  for (const auto& h : histories)
    for (size_t e = 0; e < h.size(); ++e) {
      if (mean.size() <= e) {
        mean.push_back({static_cast<int>(e) + 1});
        count.push_back(0);
      }
      mean[e].train_loss += h[e].train_loss;
      mean[e].val_loss += h[e].val_loss;
      mean[e].val_mcc += h[e].val_mcc;
      mean[e].val_auc += h[e].val_auc;
      mean[e].seconds += h[e].seconds;
      count[e] += 1;
    }
  for (size_t e = 0; e < mean.size(); ++e) {
    const double n = count[e];
    mean[e].train_loss /= n;
    mean[e].val_loss /= n;
    mean[e].val_mcc /= n;
    mean[e].val_auc /= n;
    mean[e].seconds /= n;
  }
  return mean;
}

}  // namespace

TrainOptions default_train_options(Arch arch) {
  TrainOptions o;
  o.model.arch = arch;
  if (arch == Arch::Bag) {
    o.features.buckets = int64_t{1} << 18;
    o.features.weighting = "tfidf";
    o.model.dim = 16;  // used only with a hidden layer
    o.optimizer = "sgd";
    o.epochs = 3;
    o.lr_sparse = 200;
    o.lr_dense = 200;
    o.folds = 5;
    o.repeats = 1;
    o.max_false_positive_rate = 0.002;
  } else {
    o.features.buckets = int64_t{1} << 18;
    o.features.max_tokens = 64;
    o.model.dim = 32;
    o.epochs = arch == Arch::Cnn ? 12 : 8;  // cnn: longer, patience 3 (nested validation: MCC +0.01)
    o.patience = arch == Arch::Cnn ? 3 : 2;
    o.batch_size = 32;
    o.lr_dense = 2e-3;
  }
  return o;
}

TrainResult train_model(const Dataset& data, const std::vector<size_t>& rows, const TrainOptions& o) {
  if (rows.empty()) throw SpamError("no training rows");
  if (o.epochs < 1 || o.batch_size < 1) throw SpamError("epochs and batch size must be positive");
  if (o.optimizer != "sgd" && o.optimizer != "adamw")
    throw SpamError("unknown optimizer '" + o.optimizer + "' (expected sgd or adamw)");
  if (o.stop_on != "loss" && o.stop_on != "auc" && o.stop_on != "mcc")
    throw SpamError("unknown early-stopping criterion '" + o.stop_on + "' (expected loss, auc or mcc)");
  if (o.folds < 1 || o.repeats < 1) throw SpamError("folds and repeats must be at least 1");
  if (o.folds > 1 && (o.model.arch != Arch::Bag || o.model.hidden != 0))
    throw SpamError("cross-fitting (folds > 1) needs the bag model with a linear head (hidden 0): its " +
                    std::to_string(o.folds) + " fold models are merged into one");
  if (o.features.weighting == "tfidf" && o.model.arch != Arch::Bag)
    throw SpamError("tf-idf weighting applies to the bag model only");
  check_device(o.device);

  auto t_start = Clock::now();
  Featurizer fz(o.features);
  Tables tables{o.model.arch, {}, {}, 1, o.device};
  std::vector<float> idf;
  if (o.model.arch == Arch::Bag) {
    tables.bag = fz.bag_table(data.texts);
    if (o.features.weighting == "tfidf") {
      count_features(tables.bag, o.features.buckets);
      idf = inverse_document_frequency(tables.bag, rows, o.features.buckets);  // training rows only
      apply_tfidf(tables.bag, idf.data(), idf.size());
    }
  } else {
    tables.seq = fz.seq_table(data.texts);
    for (int64_t w : o.model.widths) tables.min_length = std::max(tables.min_length, w);
  }

  TrainResult result;
  SpamModel& model = result.model;
  model.features = o.features;
  model.config = o.model;
  model.positive_label = data.positive_label;
  model.negative_label = data.negative_label;
  std::vector<double> held_out_margins;
  std::vector<int> held_out_labels;
  double step_seconds = 0;
  if (o.folds == 1) {
    Split inner = stratified_group_split(data.texts, data.labels, rows, o.val_fraction, o.seed + 1);
    if (inner.train.empty()) throw SpamError("no training rows left after taking the validation slice");
    manual_seed(o.seed);
    model.net = make_model(o.model, o.features, idf);
    model.net->to(o.device);
    Fit f = fit(*model.net, tables, data.labels, inner.train, inner.test, o, o.seed, "");
    result.history = f.history;
    result.best_epoch = f.best_epoch;
    result.fold_best_epochs = {f.best_epoch};
    result.features_seen = f.features_seen;
    step_seconds = f.step_seconds;
    held_out_margins = std::move(f.val.margins);
    held_out_labels = std::move(f.val.labels);
  } else {
    // Each repeat cuts the rows into folds anew; a row's held-out margin is its mean over the
    // repeats, and every fold model of every repeat joins the merge.
    std::vector<double> margin_sum(data.size(), 0.0);
    std::vector<std::shared_ptr<SpamNet>> members;
    std::vector<std::vector<EpochLog>> histories;
    for (int repeat = 0; repeat < o.repeats; ++repeat) {
      const uint64_t fold_seed = o.seed + 1 + 7919 * static_cast<uint64_t>(repeat);
      auto folds = stratified_group_folds(data.texts, data.labels, rows, o.folds, fold_seed);
      for (size_t k = 0; k < folds.size(); ++k) {
        if (folds[k].empty()) throw SpamError("too few training rows for " + std::to_string(o.folds) + " folds");
        std::vector<size_t> train_rows;
        for (size_t j = 0; j < folds.size(); ++j)
          if (j != k) train_rows.insert(train_rows.end(), folds[j].begin(), folds[j].end());
        std::sort(train_rows.begin(), train_rows.end());
        const uint64_t member_seed = o.seed + members.size();
        manual_seed(member_seed);
        auto net = make_model(o.model, o.features, idf);
        net->to(o.device);
        std::string tag = "fold " + std::to_string(members.size() + 1) + "/" +
                          std::to_string(folds.size() * static_cast<size_t>(o.repeats)) + " ";
        Fit f = fit(*net, tables, data.labels, train_rows, folds[k], o, member_seed, tag);
        for (size_t i = 0; i < folds[k].size(); ++i) margin_sum[folds[k][i]] += f.val.margins[i];
        histories.push_back(std::move(f.history));
        result.fold_best_epochs.push_back(f.best_epoch);
        result.best_epoch = f.best_epoch;
        result.features_seen += f.features_seen;
        step_seconds += f.step_seconds;
        members.push_back(std::move(net));
      }
    }
    for (size_t r : rows) {
      held_out_margins.push_back(margin_sum[r] / o.repeats);
      held_out_labels.push_back(data.labels[r]);
    }
    result.history = mean_history(histories);
    model.net = merge_bag_models(members, model.config, o.features);
  }
  if (o.progress) std::fprintf(stderr, "\r\033[K");
  // Calibration first (Platt scaling, folded into the last layer), so that the scores and the
  // threshold read as probabilities; then the threshold, on the calibrated held-out scores.
  if (!held_out_margins.empty()) {
    result.calibration = fit_platt(held_out_margins, held_out_labels);
    model.net->calibrate(result.calibration.scale, result.calibration.shift);
  }
  if (o.fixed_threshold >= 0) {
    model.threshold = o.fixed_threshold;
  } else if (!held_out_margins.empty()) {
    std::vector<float> calibrated;
    calibrated.reserve(held_out_margins.size());
    for (double m : held_out_margins) calibrated.push_back(static_cast<float>(result.calibration(m)));
    model.threshold = best_mcc_threshold(calibrated, held_out_labels, o.max_false_positive_rate);
  }
  model.net->eval();
  result.train_seconds = since(t_start);
  result.features_per_second = step_seconds > 0 ? static_cast<double>(result.features_seen) / step_seconds : 0;
  return result;
}

}  // namespace ember::spam
