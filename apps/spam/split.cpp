#include "split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <random>

#include "dataset.h"
#include "featurizer.h"

namespace ember::spam {

namespace {
// The duplicate groups among rows, by majority label, each list in a seeded random order.
// std::map gives a stable, platform-independent group order before the shuffle, and the
// shuffle is our own: std::shuffle's algorithm differs between standard libraries.
struct LabelGroups {
  std::map<std::string, std::vector<size_t>> groups;
  std::vector<const std::vector<size_t>*> by_label[2];
};

LabelGroups shuffled_groups(const std::vector<std::string>& texts, const std::vector<int>& labels,
                            const std::vector<size_t>& rows, uint64_t seed) {
  LabelGroups g;
  for (size_t r : rows) g.groups[normalize_for_dedup(texts[r])].push_back(r);
  for (const auto& [key, members] : g.groups) {
    size_t pos = 0;
    for (size_t r : members) pos += labels[r] == 1;
    g.by_label[2 * pos > members.size() ? 1 : 0].push_back(&members);
  }
  std::mt19937_64 rng(seed);
  for (auto& list : g.by_label)
    for (size_t i = list.size(); i > 1; --i) std::swap(list[i - 1], list[rng() % i]);
  return g;
}
}  // namespace

Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels,
                             const std::vector<size_t>& rows, double fraction, uint64_t seed) {
  if (!(fraction >= 0.0 && fraction < 1.0)) throw SpamError("test fraction must be in [0, 1)");
  LabelGroups g = shuffled_groups(texts, labels, rows, seed);
  Split split;
  for (const auto& list : g.by_label) {
    auto cut = static_cast<size_t>(std::llround(static_cast<double>(list.size()) * fraction));
    for (size_t i = 0; i < list.size(); ++i)
      for (size_t r : *list[i]) (i < cut ? split.test : split.train).push_back(r);
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.test.begin(), split.test.end());
  return split;
}

std::vector<std::vector<size_t>> stratified_group_folds(const std::vector<std::string>& texts,
                                                        const std::vector<int>& labels,
                                                        const std::vector<size_t>& rows, int k, uint64_t seed) {
  if (k < 2) throw SpamError("cross-fitting needs at least 2 folds");
  LabelGroups g = shuffled_groups(texts, labels, rows, seed);
  std::vector<std::vector<size_t>> folds(static_cast<size_t>(k));
  // The spam groups continue the deal where the ham groups stopped, so fold sizes differ by at
  // most one group over both labels together.
  size_t next = 0;
  for (const auto& list : g.by_label)
    for (const auto* members : list) {
      auto& fold = folds[next++ % folds.size()];
      fold.insert(fold.end(), members->begin(), members->end());
    }
  for (auto& f : folds) std::sort(f.begin(), f.end());
  return folds;
}

Split stratified_group_split(const std::vector<std::string>& texts, const std::vector<int>& labels, double fraction,
                             uint64_t seed) {
  std::vector<size_t> rows(texts.size());
  for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
  return stratified_group_split(texts, labels, rows, fraction, seed);
}

}  // namespace ember::spam
