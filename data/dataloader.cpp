// DataLoader: epoch orders and batch assembly.
#include "data/dataloader.h"

#include <algorithm>
#include <numeric>

#include "data/split.h"

namespace ember::data {

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : DataLoader(borrow(dataset), std::move(options)) {}

DataLoader::DataLoader(std::shared_ptr<const Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)), options_(std::move(options)) {
  EMBER_CHECK(dataset_ != nullptr, "DataLoader", "null dataset");
  EMBER_CHECK(options_.batch_size > 0, "DataLoader", "batch_size should be a positive integer value, but got batch_size=",
              options_.batch_size);
}

int64_t DataLoader::size() const {
  const int64_t n = dataset_->size(), b = options_.batch_size;
  return options_.drop_last ? n / b : (n + b - 1) / b;
}

std::vector<int64_t> DataLoader::order(uint64_t epoch) const {
  if (options_.shuffle) return permutation(dataset_->size(), options_.seed + 0x9E3779B97F4A7C15ULL * epoch);
  std::vector<int64_t> out(static_cast<size_t>(dataset_->size()));
  std::iota(out.begin(), out.end(), int64_t{0});
  return out;
}

Batch DataLoader::make_batch(const std::vector<int64_t>& order, int64_t batch) const {
  const int64_t begin = batch * options_.batch_size;
  const int64_t end = std::min<int64_t>(begin + options_.batch_size, static_cast<int64_t>(order.size()));
  std::vector<int64_t> idx(order.begin() + begin, order.begin() + end);
  if (!options_.collate) return dataset_->get_batch(idx);
  std::vector<Example> examples;
  examples.reserve(idx.size());
  for (int64_t i : idx) examples.push_back(dataset_->get(i));
  return options_.collate(examples);
}

DataLoader::Iterator DataLoader::begin() {
  auto ord = std::make_shared<const std::vector<int64_t>>(order(epoch_++));
  return Iterator(this, std::move(ord), 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, nullptr, size()); }

DataLoader::Iterator::Iterator(const DataLoader* loader, std::shared_ptr<const std::vector<int64_t>> order,
                               int64_t position)
    : loader_(loader), order_(std::move(order)), position_(position) {
  if (order_) load();
}

void DataLoader::Iterator::load() {
  if (position_ < loader_->size()) batch_ = loader_->make_batch(*order_, position_);
  else batch_.clear();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  ++position_;
  load();
  return *this;
}

}  // namespace ember::data
