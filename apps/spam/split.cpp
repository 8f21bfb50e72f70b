#include "split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "dataset.h"
#include "featurizer.h"

namespace ember::spam {

Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels,
                             const std::vector<size_t>& rows, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) throw SpamError("test fraction must be in [0, 1)");
  // std::map gives a stable, platform-independent group order before the seeded shuffle.
  std::map<std::string, std::vector<size_t>> groups;
  for (size_t r : rows) groups[normalize_for_dedup(texts[r])].push_back(r);
  std::vector<const std::vector<size_t>*> by_label[2];
  for (const auto& [key, members] : groups) {
    size_t pos = 0;
    for (size_t r : members) pos += labels[r] == 1;
    by_label[2 * pos > members.size() ? 1 : 0].push_back(&members);
  }
  // Our own shuffle: std::shuffle's algorithm differs between standard libraries.
  std::mt19937_64 rng(seed);
  Split split;
  for (auto& list : by_label) {
    for (size_t i = list.size(); i > 1; --i) std::swap(list[i - 1], list[rng() % i]);
    auto cut = static_cast<size_t>(std::llround(static_cast<double>(list.size()) * fraction));
    for (size_t i = 0; i < list.size(); ++i)
      for (size_t r : *list[i]) (i < cut ? split.test : split.train).push_back(r);
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels, double fraction,
                             uint64_t seed) {
  std::vector<size_t> rows(texts.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return stratified_group_split(texts, labels, rows, fraction, seed);
}

}  // namespace ember::spam
