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

}  // namespace ember::spam
