#pragma once
// Row-sparse gradients. EmbeddingBag(sparse=true) does not give its weight a dense .grad();
// its backward adds (rows, values) into the weight's AutogradMeta fields
// sparse_grad_indices (int64 [n]) and sparse_grad_values ([n, dim]) instead. Rows are kept
// unique and sorted (duplicates summed, also across repeated backward calls), so an
// optimizer can update each listed row once: p[indices[k]] -= lr * values[k].
#include <utility>

#include "tensor/tensor.h"

namespace ember::nn {

/// True when p holds a row-sparse gradient.
bool has_sparse_grad(const Tensor& p);
/// (indices int64 [n], values [n, dim]) of p's row-sparse gradient; undefined pair when none.
std::pair<Tensor, Tensor> sparse_grad(const Tensor& p);
/// Drops p's row-sparse gradient (Module::zero_grad does this too).
void clear_sparse_grad(const Tensor& p);
/// Adds rows (indices [n], values [n, dim]) into p's row-sparse gradient, merging equal rows.
/// rows_checked: the caller guarantees indices sorted, distinct and in [0, p.size(0)) (as
/// embedding_bag's backward makes them), so they need not be read back from a GPU to check.
void accumulate_sparse_grad(const Tensor& p, const Tensor& indices, const Tensor& values, bool rows_checked = false);
/// The dense [rows, dim] gradient that a row-sparse one stands for (scatter of its rows).
Tensor sparse_grad_to_dense(const Tensor& p);

}  // namespace ember::nn
