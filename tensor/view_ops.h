#pragma once
// Views share storage with their input: a write through a view shows in its base.
#include <optional>
#include <vector>

#include "tensor/tensor.h"

namespace ember {

/// Same data, new shape; fails when the strides do not allow it (reshape copies instead).
Tensor view(const Tensor& t, const Shape& sizes);
/// A view when the strides allow it, otherwise a contiguous copy.
Tensor reshape(const Tensor& t, const Shape& sizes);
Tensor permute(const Tensor& t, const Shape& dims);
Tensor transpose(const Tensor& t, int64_t d0, int64_t d1);
/// Transpose of a matrix (0-d and 1-d tensors are returned as they are).
Tensor t(const Tensor& x);
Tensor narrow(const Tensor& t, int64_t dim, int64_t start, int64_t length);
/// Elements start, start+step, ... before end along dim (Python's t[start:end:step]).
Tensor slice(const Tensor& t, int64_t dim, std::optional<int64_t> start = std::nullopt,
             std::optional<int64_t> end = std::nullopt, int64_t step = 1);
/// Removes dim by taking one index along it.
Tensor select(const Tensor& t, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& t, int64_t dim);
/// Removes every size-1 dim.
Tensor squeeze(const Tensor& t);
Tensor squeeze(const Tensor& t, int64_t dim);
/// Broadcasts size-1 dims to sizes with stride 0 (-1 keeps a size).
Tensor expand(const Tensor& t, const Shape& sizes);
Tensor expand_as(const Tensor& t, const Tensor& other);
Tensor flatten(const Tensor& t, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor unflatten(const Tensor& t, int64_t dim, const Shape& sizes);
Tensor as_strided(const Tensor& t, const Shape& sizes, const Shape& strides,
                  std::optional<int64_t> offset = std::nullopt);
/// The tensor itself when contiguous, else a contiguous copy.
Tensor contiguous(const Tensor& t);
/// A copy with fresh storage (contiguous), differentiable.
Tensor clone(const Tensor& t);
/// Converted to dtype (the tensor itself when it already has it).
Tensor to_dtype(const Tensor& t, ScalarType dtype);
/// Copied to device (the tensor itself when it is there already).
Tensor to_device(const Tensor& t, Device device);
std::vector<Tensor> split(const Tensor& t, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& t, const Shape& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& t, int64_t chunks, int64_t dim = 0);

}  // namespace ember
