#pragma once
// The geometry of a view (sizes, strides and offset in elements) and the pure functions that
// each view op applies to it. The op layer applies them to a tensor to make the view, and
// autograd applies the same function to a contiguous geometry of the input's shape to know
// where the view's gradient lands (see view_scatter in tensor/view_ops.cpp).
#include <optional>

#include "tensor/shape.h"

namespace ember {

struct Geometry {
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
};

/// The contiguous geometry of a shape.
Geometry contiguous_geometry(const Shape& sizes);
/// Drops dim, taking element `index` (negative counts from the end).
Geometry geometry_select(const Geometry& g, int64_t dim, int64_t index, const char* op);
/// Elements start, start + step, ... before end along dim; bounds are clamped as in Python.
Geometry geometry_slice(const Geometry& g, int64_t dim, std::optional<int64_t> start, std::optional<int64_t> end,
                        int64_t step, const char* op);
/// Reorders dims; dims must be a permutation.
Geometry geometry_permute(const Geometry& g, const Shape& dims, const char* op);
/// Inserts a size-1 dim at dim.
Geometry geometry_unsqueeze(const Geometry& g, int64_t dim, const char* op);
/// Broadcasts size-1 dims to sizes (stride 0), adding leading dims; -1 keeps a size.
Geometry geometry_expand(const Geometry& g, const Shape& sizes, const char* op);

}  // namespace ember
