#include "tensor/factory.h"

#include <cmath>
#include <cstring>

#include "autograd/function.h"
#include "kernels/kernels.h"
#include "tensor/internal.h"

namespace ember {
namespace {

Tensor finish(Tensor t, const TensorOptions& o) {
  if (o.requires_grad()) t.requires_grad_(true);
  return t;
}
ScalarType default_kind_dtype(const Scalar& s) {
  return s.kind() == kFloat64 ? kFloat32 : s.kind();
}
template <class T>
Tensor from_values(const T* values, const Shape& sizes, std::optional<TensorOptions> options) {
  ScalarType own = dtype_of<T>::value;
  Tensor t = internal::new_tensor(sizes, own, Device(kCPU));
  std::copy(values, values + t.numel(), t.impl()->data_as<T>());
  if (!options) return t;
  // Options without a dtype keep the values' own (as PyTorch's tensor([1, 2], device='cuda')
  // is int64): an index or mask built with only a device must not turn float32.
  Tensor converted = internal::cast(t, options->has_dtype() ? options->dtype() : own);
  if (options->device() != Device(kCPU)) converted = converted.to(options->device());
  return finish(converted, *options);
}
template <class T>
Tensor from_rows(std::initializer_list<std::initializer_list<T>> rows, std::optional<TensorOptions> options) {
  int64_t r = static_cast<int64_t>(rows.size());
  int64_t c = r ? static_cast<int64_t>(rows.begin()->size()) : 0;
  std::vector<T> flat;
  flat.reserve(static_cast<size_t>(r * c));
  for (const auto& row : rows) {
    EMBER_CHECK(static_cast<int64_t>(row.size()) == c, "tensor", "expected sequence of length ", c,
                " at dim 1 (got ", row.size(), ")");
    flat.insert(flat.end(), row.begin(), row.end());
  }
  return from_values(flat.data(), Shape{r, c}, options);
}

}  // namespace

Tensor empty(const Shape& sizes, const TensorOptions& o) {
  for (int64_t s : sizes) EMBER_CHECK(s >= 0, "empty", "Trying to create tensor with negative dimension ", s, ": ", shape_text(sizes));
  return finish(internal::new_tensor(sizes, o.dtype(), o.device()), o);
}
Tensor full(const Shape& sizes, const Scalar& value, const TensorOptions& o) {
  Tensor t = empty(sizes, o.requires_grad(false));
  kernels::fill(t, value);
  return finish(t, o);
}
Tensor zeros(const Shape& sizes, const TensorOptions& o) { return full(sizes, 0, o); }
Tensor ones(const Shape& sizes, const TensorOptions& o) { return full(sizes, 1, o); }

Tensor arange(const Scalar& end, std::optional<TensorOptions> o) { return arange(0, end, 1, o); }
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, std::optional<TensorOptions> o) {
  bool floating = start.is_floating_point() || end.is_floating_point() || step.is_floating_point();
  TensorOptions opts = o.value_or(TensorOptions());
  if (!opts.has_dtype()) opts = opts.dtype(floating ? kFloat32 : kInt64);  // arange(10, device(kCUDA)) is int64
  double s = start.to_double(), e = end.to_double(), st = step.to_double();
  EMBER_CHECK(st != 0, "arange", "step must be nonzero");
  EMBER_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), "arange", "upper bound and larger bound inconsistent with step sign");
  int64_t n = static_cast<int64_t>(std::ceil((e - s) / st));
  Tensor t = internal::new_tensor(Shape{n}, kFloat64, Device(kCPU));
  double* p = t.impl()->data_as<double>();
  for (int64_t i = 0; i < n; ++i) p[i] = s + static_cast<double>(i) * st;
  Tensor out = internal::cast(t, opts.dtype());
  return finish(opts.device() == Device(kCPU) ? out : out.to(opts.device()), opts);
}

Tensor linspace(double start, double end, int64_t steps, const TensorOptions& o) {
  EMBER_CHECK(steps >= 0, "linspace", "number of steps must be non-negative");
  Tensor t = internal::new_tensor(Shape{steps}, kFloat64, Device(kCPU));
  double* p = t.impl()->data_as<double>();
  double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0;
  for (int64_t i = 0; i < steps; ++i) p[i] = i < steps / 2 ? start + step * i : end - step * (steps - 1 - i);
  Tensor out = internal::cast(t, o.dtype());
  return finish(o.device() == Device(kCPU) ? out : out.to(o.device()), o);
}

Tensor eye(int64_t n, std::optional<int64_t> m, const TensorOptions& o) {
  int64_t cols = m.value_or(n);
  EMBER_CHECK(n >= 0 && cols >= 0, "eye", "n and m must be non-negative, got ", n, " and ", cols);
  Tensor t = zeros(Shape{n, cols}, o.requires_grad(false));
  Tensor diag = internal::alias(t, Shape{std::min(n, cols)}, Shape{cols + 1}, 0);
  kernels::fill(diag, 1);
  return finish(t, o);
}

namespace {
// The options of a *_like factory: t's dtype and device where o does not give them (as in
// PyTorch: zeros_like(gpu_tensor, dtype(kFloat64)) stays on the GPU).
TensorOptions like(const Tensor& t, const std::optional<TensorOptions>& o) {
  if (!o) return t.options();
  TensorOptions r = *o;
  if (!r.has_dtype()) r = r.dtype(t.dtype());
  if (!r.has_device()) r = r.device(t.device());
  return r;
}
}  // namespace

Tensor empty_like(const Tensor& t, std::optional<TensorOptions> o) { return empty(t.sizes(), like(t, o)); }
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> o) { return zeros(t.sizes(), like(t, o)); }
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> o) { return ones(t.sizes(), like(t, o)); }
Tensor full_like(const Tensor& t, const Scalar& v, std::optional<TensorOptions> o) {
  return full(t.sizes(), v, like(t, o));
}
Tensor rand_like(const Tensor& t) { return rand(t.sizes(), t.options()); }
Tensor randn_like(const Tensor& t) { return randn(t.sizes(), t.options()); }

Tensor scalar_tensor(const Scalar& value, const TensorOptions& o) {
  // Without a dtype in o, the value's own kind (as without options): scalar_tensor(int64_t{2},
  // device(kCUDA)) is an int64 index on the GPU, not float32.
  return full(Shape{}, value, o.has_dtype() ? o : o.dtype(default_kind_dtype(value)));
}
Tensor scalar_tensor(const Scalar& value) { return scalar_tensor(value, TensorOptions(default_kind_dtype(value))); }

Tensor tensor(const std::vector<float>& v, std::optional<TensorOptions> o) {
  return from_values(v.data(), Shape{static_cast<int64_t>(v.size())}, o);
}
Tensor tensor(const std::vector<double>& v, std::optional<TensorOptions> o) {
  return from_values(v.data(), Shape{static_cast<int64_t>(v.size())}, o);
}
Tensor tensor(const std::vector<int64_t>& v, std::optional<TensorOptions> o) {
  return from_values(v.data(), Shape{static_cast<int64_t>(v.size())}, o);
}
Tensor tensor(const std::vector<int>& v, std::optional<TensorOptions> o) {
  std::vector<int64_t> w(v.begin(), v.end());
  return tensor(w, o);
}
Tensor tensor(const std::vector<bool>& v, std::optional<TensorOptions> o) {
  std::unique_ptr<bool[]> b(new bool[v.size()]);
  for (size_t i = 0; i < v.size(); ++i) b[i] = v[i];
  return from_values(b.get(), Shape{static_cast<int64_t>(v.size())}, o);
}
Tensor tensor(std::initializer_list<float> v, std::optional<TensorOptions> o) { return tensor(std::vector<float>(v), o); }
Tensor tensor(std::initializer_list<double> v, std::optional<TensorOptions> o) { return tensor(std::vector<double>(v), o); }
Tensor tensor(std::initializer_list<int64_t> v, std::optional<TensorOptions> o) { return tensor(std::vector<int64_t>(v), o); }
Tensor tensor(std::initializer_list<int> v, std::optional<TensorOptions> o) { return tensor(std::vector<int>(v), o); }
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, std::optional<TensorOptions> o) {
  return from_rows(rows, o);
}
Tensor tensor(std::initializer_list<std::initializer_list<float>> rows, std::optional<TensorOptions> o) {
  return from_rows(rows, o);
}
Tensor tensor(std::initializer_list<std::initializer_list<int64_t>> rows, std::optional<TensorOptions> o) {
  return from_rows(rows, o);
}

Tensor from_blob_copy(const void* data, const Shape& sizes, ScalarType dtype) {
  Tensor t = internal::new_tensor(sizes, dtype, Device(kCPU));
  std::memcpy(t.impl()->data(), data, static_cast<size_t>(t.numel()) * element_size(dtype));
  return t;
}

}  // namespace ember
