#pragma once
// Deterministic permutations and dataset splits. All randomness comes from std::mt19937_64
// with our own Fisher-Yates and bounded draws (std::shuffle and the std distributions are
// implementation-defined), so a seed gives the same split on every platform.
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "data/dataset.h"

namespace ember::data {

/// A permutation of 0..n-1 determined by seed.
std::vector<int64_t> permutation(int64_t n, uint64_t seed);

/// Index lists for splitting n examples into parts of the given lengths (PyTorch's rule: when
/// the lengths sum to ~1 and not to n they are fractions; floor(n * f) each, the remainder
/// handed out one by one from the first part).
std::vector<std::vector<int64_t>> random_split_indices(int64_t n, const std::vector<double>& lengths, uint64_t seed);
/// torch.utils.data.random_split: disjoint random subsets with the given lengths or fractions.
std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths, uint64_t seed = 0);

/// Splits example indices class by class: of each label's examples, round(fraction * count)
/// go to the first list and the rest to the second, so both keep the class proportions.
/// Both lists are sorted.
std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const std::vector<int64_t>& labels,
                                                                       double fraction, uint64_t seed = 0);
/// The same with labels as a 1-D int64 or bool tensor.
std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const Tensor& labels, double fraction,
                                                                       uint64_t seed = 0);

}  // namespace ember::data
