#pragma once
// Training checkpoints in one safetensors file: model tensors under "model.<name>", optimizer
// state tensors under "optim.<name>" (e.g. "optim.state.0.exp_avg"), and in the metadata the
// optimizer's groups and steps ("optim"), the scheduler's position ("scheduler") and the epoch
// ("epoch"). Loading restores all of them so that training resumes bit for bit.
#include <cstdint>
#include <string>

#include "io/safetensors.h"
#include "nn/module.h"
#include "optim/lr_scheduler.h"
#include "optim/optimizer.h"

namespace ember {

/// What load_checkpoint returns besides the restored objects.
struct CheckpointInfo {
  int64_t epoch = 0;
  /// All metadata, including the caller's extra entries.
  Metadata metadata;
};

/// Saves model state, optimizer state, epoch and (optionally) scheduler state to path, atomically.
/// extra entries are stored in the metadata too (keys "epoch", "optim", "scheduler" are reserved).
void save_checkpoint(const std::string& path, const nn::StateDict& model_state, const optim::Optimizer& optimizer,
                     int64_t epoch, const optim::LRScheduler* scheduler = nullptr, const Metadata& extra = {});
void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     int64_t epoch, const optim::LRScheduler* scheduler = nullptr, const Metadata& extra = {});

/// Restores model (strictly), optimizer and scheduler from a checkpoint; returns the epoch.
/// A scheduler is required when the file holds scheduler state and may be null otherwise.
CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                               optim::LRScheduler* scheduler = nullptr);
/// The same for a model given as a state dict whose tensors alias the model's (values are copied in).
CheckpointInfo load_checkpoint(const std::string& path, const nn::StateDict& model_state, optim::Optimizer& optimizer,
                               optim::LRScheduler* scheduler = nullptr);

}  // namespace ember
