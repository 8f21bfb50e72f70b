// Checkpoints: one safetensors file, prefixes for tensors and metadata entries for the rest.
#include "io/checkpoint.h"

#include <map>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace ember {

namespace {
constexpr const char* kModelPrefix = "model.";
constexpr const char* kOptimPrefix = "optim.";

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

// Splits a checkpoint into model tensors, optimizer state and metadata; checks it is one.
struct Parts {
  nn::StateDict model;
  optim::OptimizerStateDict optim;
  CheckpointInfo info;
};

Parts read_parts(const std::string& path, bool want_scheduler) {
  SafetensorsFile file = load_with_metadata(path);
  Parts p;
  for (auto& [name, t] : file.tensors) {
    if (starts_with(name, kModelPrefix)) p.model.emplace_back(name.substr(6), std::move(t));
    else if (starts_with(name, kOptimPrefix)) p.optim.tensors.emplace_back(name.substr(6), std::move(t));
    else detail::throw_error("load_checkpoint", "'", path, "': tensor '", name, "' is neither model. nor optim. state");
  }
  const Metadata& m = file.metadata;
  EMBER_CHECK(m.count("epoch") && m.count("optim"), "load_checkpoint", "'", path,
              "' is not an ember checkpoint (no epoch/optim metadata)");
  try {
    p.info.epoch = std::stoll(m.at("epoch"));
  } catch (const std::exception&) {
    detail::throw_error("load_checkpoint", "'", path, "': bad epoch '", m.at("epoch"), "'");
  }
  EMBER_CHECK(!m.count("scheduler") || want_scheduler, "load_checkpoint", "'", path,
              "' holds scheduler state but no scheduler was given to restore it into");
  p.optim.json = m.at("optim");
  p.info.metadata = std::move(file.metadata);
  return p;
}
}  // namespace

void save_checkpoint(const std::string& path, const nn::StateDict& model_state, const optim::Optimizer& optimizer,
                     int64_t epoch, const optim::LRScheduler* scheduler, const Metadata& extra) {
  nn::StateDict tensors;
  for (const auto& [name, t] : model_state) tensors.emplace_back(kModelPrefix + name, t);
  optim::OptimizerStateDict opt = optimizer.state_dict();
  for (auto& [name, t] : opt.tensors) tensors.emplace_back(kOptimPrefix + name, std::move(t));
  Metadata meta = extra;
  for (const char* key : {"epoch", "optim", "scheduler"})
    EMBER_CHECK(!extra.count(key), "save_checkpoint", "metadata key '", key, "' is reserved");
  meta["epoch"] = std::to_string(epoch);
  meta["optim"] = opt.json;
  if (scheduler != nullptr) meta["scheduler"] = scheduler->state_dict();
  save(tensors, path, meta);
}

void save_checkpoint(const std::string& path, const nn::Module& model, const optim::Optimizer& optimizer,
                     int64_t epoch, const optim::LRScheduler* scheduler, const Metadata& extra) {
  save_checkpoint(path, model.state_dict(), optimizer, epoch, scheduler, extra);
}

CheckpointInfo load_checkpoint(const std::string& path, nn::Module& model, optim::Optimizer& optimizer,
                               optim::LRScheduler* scheduler) {
  Parts p = read_parts(path, scheduler != nullptr);
  model.load_state_dict(p.model, /*strict=*/true);
  optimizer.load_state_dict(p.optim);
  if (scheduler != nullptr && p.info.metadata.count("scheduler"))
    scheduler->load_state_dict(p.info.metadata.at("scheduler"));
  return p.info;
}

CheckpointInfo load_checkpoint(const std::string& path, const nn::StateDict& model_state, optim::Optimizer& optimizer,
                               optim::LRScheduler* scheduler) {
  Parts p = read_parts(path, scheduler != nullptr);
  std::map<std::string, Tensor> saved(p.model.begin(), p.model.end());
  EMBER_CHECK(saved.size() == model_state.size(), "load_checkpoint", "'", path, "' holds ", saved.size(),
              " model tensors, the model has ", model_state.size());
  for (const auto& [name, t] : model_state) {
    auto it = saved.find(name);
    EMBER_CHECK(it != saved.end(), "load_checkpoint", "'", path, "' has no tensor for model key '", name, "'");
    EMBER_CHECK(it->second.sizes() == t.sizes(), "load_checkpoint", "size mismatch for ", name, ": checkpoint has ",
                shape_text(it->second.sizes()), ", the model has ", shape_text(t.sizes()));
  }
  optimizer.load_state_dict(p.optim);
  {
    NoGradGuard no_grad;
    for (const auto& [name, t] : model_state) {
      Tensor dst = t;
      dst.copy_(saved.at(name));
    }
  }
  if (scheduler != nullptr && p.info.metadata.count("scheduler"))
    scheduler->load_state_dict(p.info.metadata.at("scheduler"));
  return p.info;
}

}  // namespace ember
