#pragma once
// Training: AdamW (lazy row-sparse updates for the embedding table), linear warm-up then cosine
// decay, early stopping and the decision threshold both chosen on a validation slice of the
// training rows, so the test rows are never looked at.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "dataset.h"
#include "model.h"

namespace ember::spam {

struct TrainOptions {
  FeatureConfig features;
  ModelConfig model;
  int epochs = 8;            // at most; early stopping may end sooner
  int patience = 2;          // epochs without a better validation loss before stopping
  size_t batch_size = 32;
  double lr_sparse = 0.05;   // embedding rows (lazy AdamW)
  double lr_dense = 0.01;    // everything else
  double weight_decay = 0.0;
  double warmup_fraction = 0.05;
  std::string stop_on = "loss";  // validation criterion for early stopping: loss | auc | mcc
  double val_fraction = 0.1;  // of the training rows, duplicate-aware and stratified
  uint64_t seed = 0;
  bool progress = false;      // progress bar on stderr (the CLI turns it on for a TTY)
};

struct EpochLog {
  int epoch = 0;
  double train_loss = 0, val_loss = 0, val_mcc = 0, seconds = 0, val_auc = 0;
};

struct TrainResult {
  SpamModel model;
  std::vector<EpochLog> history;
  int best_epoch = 0;
  double train_seconds = 0;      // the optimization loop, validation included
  int64_t features_seen = 0;     // hashed features through forward + backward
  double features_per_second = 0;
};

/// Trains on rows of data (indices into it). Deterministic for a given seed and thread count.
TrainResult train_model(const Dataset& data, const std::vector<size_t>& rows, const TrainOptions& options);

/// Hyperparameters per architecture (chosen on validation slices of seeds 0-4).
TrainOptions default_train_options(Arch arch);

}  // namespace ember::spam
