#pragma once
// Factories: new tensors from sizes, values or random numbers.
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "tensor/tensor.h"

namespace ember {

/// Uninitialized tensor.
Tensor empty(const Shape& sizes, const TensorOptions& options = {});
Tensor zeros(const Shape& sizes, const TensorOptions& options = {});
Tensor ones(const Shape& sizes, const TensorOptions& options = {});
Tensor full(const Shape& sizes, const Scalar& value, const TensorOptions& options = {});
/// [start, end) by step; a 1-argument form counts from 0. Integer arguments give int64 unless
/// options says otherwise, as in PyTorch.
Tensor arange(const Scalar& end, std::optional<TensorOptions> options = std::nullopt);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1,
              std::optional<TensorOptions> options = std::nullopt);
/// steps evenly spaced values from start to end, both included.
Tensor linspace(double start, double end, int64_t steps, const TensorOptions& options = {});
/// Identity matrix n x m (m defaults to n).
Tensor eye(int64_t n, std::optional<int64_t> m = std::nullopt, const TensorOptions& options = {});
/// Uniform on [0, 1), from the seeded generator.
Tensor rand(const Shape& sizes, const TensorOptions& options = {});
/// Standard normal, from the seeded generator.
Tensor randn(const Shape& sizes, const TensorOptions& options = {});
/// Integers uniform in [low, high), int64 by default.
Tensor randint(int64_t low, int64_t high, const Shape& sizes, const TensorOptions& options = kInt64);
/// A random permutation of 0..n-1 (int64).
Tensor randperm(int64_t n, const TensorOptions& options = kInt64);
Tensor empty_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor zeros_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor ones_like(const Tensor& t, std::optional<TensorOptions> options = std::nullopt);
Tensor full_like(const Tensor& t, const Scalar& value, std::optional<TensorOptions> options = std::nullopt);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);

/// A 0-d tensor holding one value (float32 for floating values, int64 for integers, bool)
/// unless options give a dtype.
Tensor scalar_tensor(const Scalar& value, const TensorOptions& options);
Tensor scalar_tensor(const Scalar& value);

/// A 1-D tensor copied from values; the dtype follows T (float -> float32, double -> float64,
/// integers -> int64, bool -> bool) unless options give one.
Tensor tensor(const std::vector<float>& values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(const std::vector<double>& values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(const std::vector<int64_t>& values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(const std::vector<int>& values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(const std::vector<bool>& values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<float> values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<double> values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<int64_t> values, std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<int> values, std::optional<TensorOptions> options = std::nullopt);
/// A 2-D tensor from nested lists: ember::tensor({{1., 2.}, {3., 4.}}).
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows,
              std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<std::initializer_list<float>> rows,
              std::optional<TensorOptions> options = std::nullopt);
Tensor tensor(std::initializer_list<std::initializer_list<int64_t>> rows,
              std::optional<TensorOptions> options = std::nullopt);
/// A tensor over bytes copied from data (dtype and sizes given).
Tensor from_blob_copy(const void* data, const Shape& sizes, ScalarType dtype);

/// Seeds the global generator; the same seed gives the same numbers whatever the thread count.
void manual_seed(uint64_t seed);

}  // namespace ember
