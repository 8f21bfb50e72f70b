#pragma once
// Reductions over a set of dims (all dims when the list is empty), with keepdim.
#include <optional>
#include <tuple>

#include "tensor/tensor.h"

namespace ember {

/// Sum; bool and int64 inputs give int64, as in PyTorch.
Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor prod(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Largest value of all elements.
Tensor max(const Tensor& x);
/// Largest values along dim and their indices (int64).
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor min(const Tensor& x);
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Index of the largest value (of the flattened tensor when dim is absent).
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
/// Variance; unbiased divides by N - 1.
Tensor var(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Shape& dims = {}, bool unbiased = true, bool keepdim = false);
/// log(sum(exp(x))) computed stably (the max is subtracted first).
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
/// p-norm over dims (p = 2 by default; p may be 1, 2, any positive value or infinity).
Tensor norm(const Tensor& x, const Scalar& p = 2, const Shape& dims = {}, bool keepdim = false);
/// exp(x) / sum(exp(x)) along dim, computed stably.
Tensor softmax(const Tensor& x, int64_t dim);
/// x - logsumexp(x) along dim.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// Sums grad down to shape (the inverse of broadcasting); used by autograd.
Tensor sum_to(const Tensor& grad, const Shape& shape);

}  // namespace ember
