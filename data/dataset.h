#pragma once
// Datasets: indexable collections of examples, each example a list of tensors
// (features, label, ...), as torch.utils.data's map-style datasets.
#include <cstdint>
#include <memory>
#include <vector>

#include "tensor/tensor.h"

namespace ember::data {

/// One example: a tensor per field (e.g. {features, label}).
using Example = std::vector<Tensor>;
/// One batch: a tensor per field, with the batch as the first dim.
using Batch = std::vector<Tensor>;

/// Stacks field k of every example into batch field k (all examples need the same fields and shapes).
Batch default_collate(const std::vector<Example>& examples);

/// A map-style dataset: size() examples, get(i) for 0 <= i < size().
class Dataset {
 public:
  virtual ~Dataset() = default;
  /// Example i.
  virtual Example get(int64_t i) const = 0;
  virtual int64_t size() const = 0;
  /// The examples at indices, collated; the default gets each one and stacks them.
  virtual Batch get_batch(const std::vector<int64_t>& indices) const;
};

/// A non-owning handle on a dataset that outlives its users (loaders, subsets).
std::shared_ptr<const Dataset> borrow(const Dataset& dataset);

/// Examples are rows of tensors sharing their first dim (torch.utils.data.TensorDataset).
class TensorDataset : public Dataset {
 public:
  explicit TensorDataset(std::vector<Tensor> tensors);
  Example get(int64_t i) const override;
  int64_t size() const override { return size_; }
  /// One index_select per field instead of a stack of single rows.
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const std::vector<Tensor>& tensors() const { return tensors_; }

 private:
  std::vector<Tensor> tensors_;
  int64_t size_ = 0;
};

/// The examples of another dataset at the given indices, in that order.
class Subset : public Dataset {
 public:
  Subset(std::shared_ptr<const Dataset> dataset, std::vector<int64_t> indices);
  Example get(int64_t i) const override;
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  std::shared_ptr<const Dataset> dataset_;
  std::vector<int64_t> indices_;
};

}  // namespace ember::data
