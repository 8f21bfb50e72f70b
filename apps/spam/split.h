#pragma once
// Train/test splitting that does not leak: messages equal after whitespace and case
// normalization form one group, and a group goes wholly to one side. Groups are stratified
// by label so both sides keep the spam rate.
#include <cstdint>
#include <string>
#include <vector>

namespace ember::spam {

struct Split {
  std::vector<size_t> train;  // row indices, ascending
  std::vector<size_t> test;
};

/// Puts round(fraction * groups of each label) groups on the test side, chosen by seed.
/// A group whose rows disagree on the label is stratified by its majority label.
Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels, double fraction,
                             uint64_t seed);

/// The same over a subset of rows (for a validation slice of the training rows).
Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels,
                             const std::vector<size_t>& rows, double fraction, uint64_t seed);

/// k folds of the given rows for cross-fitting, with the same guarantees: duplicate groups stay
/// in one fold, and each label's groups are dealt round-robin (after a seeded shuffle), so the
/// folds hold nearly equal shares of each label. Each fold's rows are ascending.
std::vector<std::vector<size_t>> stratified_group_folds(const std::vector<std::string>& texts,
                                                        const std::vector<int>& labels,
                                                        const std::vector<size_t>& rows, int k, uint64_t seed);

}  // namespace ember::spam
