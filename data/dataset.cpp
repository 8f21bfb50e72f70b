// Datasets and the default collate.
#include "data/dataset.h"

#include "tensor/ops.h"

namespace ember::data {

Batch default_collate(const std::vector<Example>& examples) {
  EMBER_CHECK(!examples.empty(), "default_collate", "cannot collate an empty list of examples");
  const size_t fields = examples.front().size();
  Batch out;
  for (size_t f = 0; f < fields; ++f) {
    std::vector<Tensor> column;
    column.reserve(examples.size());
    for (const Example& e : examples) {
      EMBER_CHECK(e.size() == fields, "default_collate", "examples have different numbers of fields (", e.size(),
                  " vs ", fields, ")");
      column.push_back(e[f]);
    }
    out.push_back(stack(column, 0));
  }
  return out;
}

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<Example> examples;
  examples.reserve(indices.size());
  for (int64_t i : indices) examples.push_back(get(i));
  return default_collate(examples);
}

std::shared_ptr<const Dataset> borrow(const Dataset& dataset) {
  return std::shared_ptr<const Dataset>(std::shared_ptr<const Dataset>(), &dataset);
}

TensorDataset::TensorDataset(std::vector<Tensor> tensors) : tensors_(std::move(tensors)) {
  EMBER_CHECK(!tensors_.empty(), "TensorDataset", "needs at least one tensor");
  for (const Tensor& t : tensors_) {
    EMBER_CHECK(t.defined() && t.dim() >= 1, "TensorDataset", "every tensor needs a first (example) dim");
    EMBER_CHECK(t.size(0) == tensors_.front().size(0), "TensorDataset", "Size mismatch between tensors: ", t.size(0),
                " vs ", tensors_.front().size(0));
  }
  size_ = tensors_.front().size(0);
}

Example TensorDataset::get(int64_t i) const {
  EMBER_CHECK(i >= 0 && i < size_, "TensorDataset", "index ", i, " is out of range for ", size_, " examples");
  Example e;
  for (const Tensor& t : tensors_) e.push_back(t.select(0, i));
  return e;
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
  for (int64_t i : indices)
    EMBER_CHECK(i >= 0 && i < size_, "TensorDataset", "index ", i, " is out of range for ", size_, " examples");
  Batch out;
  for (const Tensor& t : tensors_) out.push_back(index_select(t, 0, tensor(indices).to(t.device())));
  return out;
}

Subset::Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices)
    : dataset_(std::move(dataset)), indices_(std::move(indices)) {
  EMBER_CHECK(dataset_ != nullptr, "Subset", "null dataset");
  for (int64_t i : indices_)
    EMBER_CHECK(i >= 0 && i < dataset_->size(), "Subset", "index ", i, " is out of range for ", dataset_->size(),
                " examples");
}

Example Subset::get(int64_t i) const {
  EMBER_CHECK(i >= 0 && i < size(), "Subset", "index ", i, " is out of range for ", size(), " examples");
  return dataset_->get(indices_[static_cast<size_t>(i)]);
}

Batch Subset::get_batch(const std::vector<int64_t>& indices) const {
  std::vector<int64_t> mapped;
  mapped.reserve(indices.size());
  for (int64_t i : indices) {
    EMBER_CHECK(i >= 0 && i < size(), "Subset", "index ", i, " is out of range for ", size(), " examples");
    mapped.push_back(indices_[static_cast<size_t>(i)]);
  }
  return dataset_->get_batch(mapped);
}

}  // namespace ember::data
