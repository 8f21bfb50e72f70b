#pragma once
// Training: AdamW (lazy row-sparse updates for the embedding table), linear warm-up then cosine
// decay, early stopping and the decision threshold chosen on rows held out of the training
// rows, so the test rows are never looked at. Either one validation slice (folds = 1), or
// cross-fitting (folds = k): k models, each trained on k-1 folds and stopped on the fold it
// did not see, score every training row once; the threshold is chosen on those k-fold scores
// and the k models are merged into one (bag models with a linear head).
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset.h"
#include "metrics.h"
#include "model.h"
#include "tensor/device.h"

namespace ember::spam {

struct TrainOptions {
  FeatureConfig features;
  ModelConfig model;
  int epochs = 8;            // at most; early stopping may end sooner
  int patience = 2;          // epochs without a better validation loss before stopping
  size_t batch_size = 32;
  std::string optimizer = "adamw";  // adamw | sgd (both update only the embedding rows in a batch)
  double lr_sparse = 0.05;   // embedding rows
  double lr_dense = 0.01;    // everything else
  double weight_decay = 0.0;
  double warmup_fraction = 0.05;
  std::string stop_on = "loss";  // validation criterion for early stopping: loss | auc | mcc
  double val_fraction = 0.1;  // folds = 1: the validation slice of the training rows
  int folds = 1;              // > 1: cross-fitted and merged (bag with hidden 0 only)
  int repeats = 1;            // cross-fitting rounds, each with its own folds
  // The threshold is the best-MCC cut among those blocking at most this share of held-out ham.
  double max_false_positive_rate = 1.0;
  double fixed_threshold = -1;  // in [0, 1]: used as is instead of choosing one
  uint64_t seed = 0;
  // Where the model trains: the CPU, or cuda:0. Features and batches are built on the host
  // and each batch is copied over; the weights start the same on either (initialized on the
  // host, then moved), and the trained model comes back on this device (SpamModel::to).
  Device device{kCPU};
  bool progress = false;      // progress bar on stderr (the CLI turns it on for a TTY)
};

struct EpochLog {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, val_mcc = 0, seconds = 0, val_auc = 0;
};

struct TrainResult {
  SpamModel model;
  std::vector<EpochLog> history;  // with folds, each epoch's figures averaged over the folds
  int best_epoch = 0;             // with folds, the last fold's
  std::vector<int> fold_best_epochs;
  Platt calibration;  // fitted on the held-out margins and folded into the model
  double train_seconds = 0;      // featurizing, the optimization loops and validation
  int64_t features_seen = 0;     // hashed features through forward + backward
  double features_per_second = 0;
};

/// Trains on rows of data (indices into it). Deterministic for a given seed and thread count.
TrainResult train_model(const Dataset& data, const std::vector<size_t>& rows, const TrainOptions& options);

/// Hyperparameters per architecture (chosen on validation slices of seeds 0-4).
TrainOptions default_train_options(Arch arch);

}  // namespace ember::spam
