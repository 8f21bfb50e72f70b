#pragma once
// Stride math as small free functions, each tested on its own (tests/test_shape.cpp).
// All strides are in elements, never bytes.
#include <cstdint>
#include <optional>

#include "tensor/error.h"
#include "tensor/small_vector.h"

namespace ember {

/// Sizes or strides of a tensor; up to 6 dims live inline, without a heap allocation.
using Shape = SmallVector<int64_t, 6>;

/// Product of the sizes (1 for a 0-d shape).
int64_t shape_numel(const Shape& sizes);
/// Row-major strides for sizes: [2, 3, 4] -> [12, 4, 1].
Shape contiguous_strides(const Shape& sizes);
/// True when the strides are those of a row-major layout (size-1 dims are ignored).
bool is_contiguous_layout(const Shape& sizes, const Shape& strides);
/// Wraps a possibly negative dim into [0, ndim); throws "[op] Dimension out of range".
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// The broadcast of two shapes (NumPy rules); throws PyTorch's message on mismatch.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
/// Strides that view (sizes, strides) as out_sizes: 0 on broadcast dims.
Shape broadcast_strides(const Shape& sizes, const Shape& strides, const Shape& out_sizes);
/// Strides for viewing (sizes, strides) as new_sizes without a copy, or nullopt when the
/// memory layout does not allow it (PyTorch's computeStride).
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes);
/// Replaces one -1 in a requested shape by the size that keeps numel; checks the total.
Shape infer_size(const Shape& requested, int64_t numel, const char* op);
/// Element offset of a multi-index.
int64_t index_to_offset(const Shape& index, const Shape& strides);
/// Sorted, wrapped, duplicate-free reduction dims (all dims when dims is empty).
Shape reduction_dims(const Shape& dims, int64_t ndim, const char* op);

}  // namespace ember
