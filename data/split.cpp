// Permutations and splits.
#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "tensor/ops.h"

namespace ember::data {

namespace {
// A uniform integer in [0, bound) without modulo bias (Lemire's method, portable).
uint64_t bounded(std::mt19937_64& rng, uint64_t bound) {
  const uint64_t threshold = (0 - bound) % bound;
  for (;;) {
    const uint64_t r = rng();
    if (r >= threshold) return r % bound;
  }
}
}  // namespace

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
  EMBER_CHECK(n >= 0, "permutation", "n must be non-negative, got ", n);
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::iota(out.begin(), out.end(), int64_t{0});
  std::mt19937_64 rng(seed);
  for (int64_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<int64_t>(bounded(rng, static_cast<uint64_t>(i + 1)));
    std::swap(out[static_cast<size_t>(i)], out[static_cast<size_t>(j)]);
  }
  return out;
}

std::vector<std::vector<int64_t>> random_split_indices(int64_t n, const std::vector<double>& lengths, uint64_t seed) {
  EMBER_CHECK(!lengths.empty(), "random_split", "lengths must not be empty");
  const double total = std::accumulate(lengths.begin(), lengths.end(), 0.0);
  std::vector<int64_t> sizes;
  if (std::abs(total - 1.0) < 1e-9 && total != static_cast<double>(n)) {
    for (double f : lengths) {
      EMBER_CHECK(f >= 0 && f <= 1, "random_split", "Fraction at index ", sizes.size(), " is not between 0 and 1");
      sizes.push_back(static_cast<int64_t>(std::floor(static_cast<double>(n) * f)));
    }
    const int64_t remainder = n - std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    for (int64_t i = 0; i < remainder; ++i) ++sizes[static_cast<size_t>(i) % sizes.size()];
  } else {
    for (double l : lengths) {
      EMBER_CHECK(l >= 0 && l == std::floor(l), "random_split", "lengths must be non-negative integers or fractions, got ", l);
      sizes.push_back(static_cast<int64_t>(l));
    }
    EMBER_CHECK(std::accumulate(sizes.begin(), sizes.end(), int64_t{0}) == n, "random_split",
                "Sum of input lengths does not equal the length of the input dataset (", n, ")");
  }
  const std::vector<int64_t> perm = permutation(n, seed);
  std::vector<std::vector<int64_t>> out;
  auto it = perm.begin();
  for (int64_t s : sizes) {
    out.emplace_back(it, it + s);
    it += s;
  }
  return out;
}

std::vector<std::shared_ptr<Subset>> random_split(std::shared_ptr<const Dataset> dataset,
                                                  const std::vector<double>& lengths, uint64_t seed) {
  EMBER_CHECK(dataset != nullptr, "random_split", "null dataset");
  std::vector<std::shared_ptr<Subset>> out;
  for (auto& idx : random_split_indices(dataset->size(), lengths, seed))
    out.push_back(std::make_shared<Subset>(dataset, std::move(idx)));
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const std::vector<int64_t>& labels,
                                                                       double fraction, uint64_t seed) {
  EMBER_CHECK(fraction >= 0 && fraction <= 1, "stratified_split", "fraction must be in [0, 1], got ", fraction);
  std::map<int64_t, std::vector<int64_t>> by_class;
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));
  std::pair<std::vector<int64_t>, std::vector<int64_t>> out;
  uint64_t k = 0;
  for (auto& [label, members] : by_class) {
    // Each class gets its own stream, so adding a class does not reshuffle the others.
    const std::vector<int64_t> perm = permutation(static_cast<int64_t>(members.size()), seed + 0x9E3779B97F4A7C15ULL * ++k);
    const auto take = static_cast<size_t>(std::llround(fraction * static_cast<double>(members.size())));
    for (size_t j = 0; j < perm.size(); ++j)
      (j < take ? out.first : out.second).push_back(members[static_cast<size_t>(perm[j])]);
  }
  std::sort(out.first.begin(), out.first.end());
  std::sort(out.second.begin(), out.second.end());
  return out;
}

std::pair<std::vector<int64_t>, std::vector<int64_t>> stratified_split(const Tensor& labels, double fraction,
                                                                       uint64_t seed) {
  EMBER_CHECK(labels.dim() == 1 && (labels.dtype() == kInt64 || labels.dtype() == kBool), "stratified_split",
              "labels must be a 1-D int64 or bool tensor, got ", shape_text(labels.sizes()), " ",
              dtype_name(labels.dtype()));
  Tensor host = labels.to(kInt64).cpu().contiguous();
  const int64_t* p = host.data_ptr<int64_t>();
  return stratified_split(std::vector<int64_t>(p, p + host.numel()), fraction, seed);
}

}  // namespace ember::data
