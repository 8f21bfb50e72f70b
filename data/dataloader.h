#pragma once
// DataLoader: batches of a dataset, in order or shuffled, for range-for:
//   ember::data::DataLoader loader(dataset, {.batch_size = 32, .shuffle = true, .seed = 1});
//   for (const ember::data::Batch& b : loader) { ... b[0] features, b[1] labels ... }
// Each pass (each begin()) is one epoch; with shuffle, epoch k uses a permutation fixed by
// (seed, k), so runs with the same seed see the same batches.
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "data/dataset.h"

namespace ember::data {

/// torch.utils.data.DataLoader's options (single process).
struct DataLoaderOptions {
  int64_t batch_size = 1;
  bool shuffle = false;
  uint64_t seed = 0;
  /// Drops the last batch when it is smaller than batch_size.
  bool drop_last = false;
  /// Builds a batch from examples; empty means Dataset::get_batch (stacking).
  std::function<Batch(const std::vector<Example>&)> collate = nullptr;
};

class DataLoader {
 public:
  /// Loads from a dataset that must outlive the loader.
  DataLoader(const Dataset& dataset, DataLoaderOptions options = {});
  /// Loads from a shared dataset.
  DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options = {});

  class Iterator {
   public:
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    Iterator() = default;
    const Batch& operator*() const { return batch_; }
    const Batch* operator->() const { return &batch_; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return position_ == o.position_; }

   private:
    friend class DataLoader;
    Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<int64_t>> order, int64_t position);
    void load();
    const DataLoader* loader_ = nullptr;
    std::shared_ptr<const std::vector<int64_t>> order_;
    int64_t position_ = 0;  // index of the current batch
    Batch batch_;
  };

  /// Starts the next epoch.
  Iterator begin();
  Iterator end() const;
  /// Number of batches per epoch.
  int64_t size() const;
  /// Sets the epoch the next begin() starts (to resume a run mid-way).
  void set_epoch(uint64_t epoch) { epoch_ = epoch; }
  uint64_t epoch() const { return epoch_; }
  /// The example order of an epoch.
  std::vector<int64_t> order(uint64_t epoch) const;
  const DataLoaderOptions& options() const { return options_; }

 private:
  Batch make_batch(const std::vector<int64_t>& order, int64_t batch) const;
  std::shared_ptr<const Dataset> dataset_;
  DataLoaderOptions options_;
  uint64_t epoch_ = 0;
};

}  // namespace ember::data
