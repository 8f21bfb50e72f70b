#pragma once
// Backward nodes of the view ops (tensor/view_ops.cpp).
#include "autograd/node.h"
#include "tensor/geometry.h"

namespace ember::autograd {

/// view, reshape, flatten, unflatten, squeeze, unsqueeze: the gradient is reshaped back.
struct ReshapeBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "ViewBackward";
  Shape input_shape;
};

/// permute and transpose: the gradient is permuted back.
struct PermuteBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "PermuteBackward";
  Shape inverse;
};

/// expand: the gradient is summed over the broadcast dims.
struct ExpandBackward final : Node {
  const char* name() const override { return "ExpandBackward"; }
  GradList apply(GradList&& grads) override;
  Shape input_shape;
};

/// select, slice, narrow, as_strided: the gradient lands in a zero tensor of the input's
/// shape, at the positions the view covered (geometry relative to a contiguous input).
struct StridedViewBackward final : Node {
  const char* name() const override { return op_name; }
  GradList apply(GradList&& grads) override;
  const char* op_name = "AsStridedBackward";
  Shape input_shape;
  Geometry geometry;
};

/// The inverse pair of StridedViewBackward, so second derivatives work.
struct ViewScatterBackward final : Node {
  const char* name() const override { return "ViewScatterBackward"; }
  GradList apply(GradList&& grads) override;
  Geometry geometry;
};

/// clone and contiguous: the gradient passes through.
struct CloneBackward final : Node {
  const char* name() const override { return "CloneBackward"; }
  GradList apply(GradList&& grads) override { return {std::move(grads[0])}; }
};

/// to(dtype) and to(device): the gradient goes back to the input's dtype and device.
struct ToCopyBackward final : Node {
  const char* name() const override { return "ToCopyBackward"; }
  GradList apply(GradList&& grads) override;
  ScalarType dtype = kFloat32;
  Device device;
};

}  // namespace ember::autograd

namespace ember {
/// A view of x.contiguous() with the given geometry; differentiable (internal to autograd).
Tensor strided_view(const Tensor& x, const Geometry& geometry);
/// A zero tensor of base_shape with g added at the positions of geometry (the adjoint of
/// strided_view); differentiable.
Tensor view_scatter(const Tensor& g, const Shape& base_shape, const Geometry& geometry);
}  // namespace ember
