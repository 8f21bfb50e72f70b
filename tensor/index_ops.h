#pragma once
#include <utility>
// Indexing and joining.
#include <vector>

#include "tensor/tensor.h"

namespace ember {

/// Rows (along dim) picked by a 1-D int64 index.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// out[i][j] = x[index[i][j]][j] for dim 0 (torch.gather).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// A copy of x with src added at index along dim (torch.scatter_add).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// A copy of x with source rows added at index along dim (torch.index_add).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
/// Sums the rows of values [n, ...] that share an index of indices [n]: returns the sorted
/// distinct indices and their summed rows (a row-sparse tensor's coalesce). No autograd.
std::pair<Tensor, Tensor> coalesce_rows(const Tensor& indices, const Tensor& values);
/// In place: x.select(dim, index[i]) += source.select(dim, i). Not recorded by autograd
/// (for optimizer updates under NoGradGuard).
Tensor& index_add_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
/// In place: x.select(dim, index[i]) = source.select(dim, i). Not recorded by autograd.
Tensor& index_copy_(Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
/// Joins tensors along an existing dim.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// Joins tensors along a new dim.
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
/// int64 class indices -> one-hot int64 rows (num_classes = max + 1 when -1).
Tensor one_hot(const Tensor& indices, int64_t num_classes = -1);

}  // namespace ember
