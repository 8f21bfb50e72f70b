// Datasets, the DataLoader and splits.
#include <doctest/doctest.h>

#include "test_util.h"

#include <algorithm>
#include <ember.h>
#include <map>
#include <numeric>
#include <set>

#include "data/data.h"

using namespace ember;
using namespace ember::data;

namespace {

using test::contains;
using test::error_of;
using test::values;

// 10 examples: features [i, 10 i] and label i % 3.
TensorDataset numbered(int64_t n = 10) {
  Tensor i = arange(n, kFloat32);
  std::vector<int64_t> labels;
  for (int64_t k = 0; k < n; ++k) labels.push_back(k % 3);
  return TensorDataset({stack({i, i * 10}, 1), tensor(labels)});
}

// The example ids (feature 0) of every batch of one pass.
std::vector<std::vector<double>> pass(DataLoader& loader) {
  std::vector<std::vector<double>> out;
  for (const Batch& b : loader) {
    auto v = values(b[0].select(1, 0));
    out.push_back(v);
  }
  return out;
}

// A dataset computed on the fly, to exercise the default get_batch / collate path.
struct Squares : Dataset {
  Example get(int64_t i) const override { return {full({2}, static_cast<double>(i * i)), full({}, i, kInt64)}; }
  int64_t size() const override { return 7; }
};

}  // namespace

TEST_CASE("data: TensorDataset examples and batches") {
  TensorDataset ds = numbered();
  CHECK(ds.size() == 10);
  Example e = ds.get(4);
  REQUIRE(e.size() == 2);
  CHECK(values(e[0]) == std::vector<double>{4, 40});
  CHECK(e[1].item<int64_t>() == 1);
  Batch b = ds.get_batch({9, 0});
  CHECK(b[0].sizes() == Shape{2, 2});
  CHECK(values(b[1]) == std::vector<double>{0, 0});
  CHECK(contains(error_of([&] { ds.get(10); }), "out of range"));
  CHECK(contains(error_of([&] { TensorDataset({zeros({3}), zeros({4})}); }), "Size mismatch"));
}

TEST_CASE("data: DataLoader batches in order, with and without drop_last") {
  TensorDataset ds = numbered();
  DataLoader loader(ds, {.batch_size = 4});
  CHECK(loader.size() == 3);
  auto batches = pass(loader);
  REQUIRE(batches.size() == 3);
  CHECK(batches[0] == std::vector<double>{0, 1, 2, 3});
  CHECK(batches[2] == std::vector<double>{8, 9});
  DataLoader dropping(ds, {.batch_size = 4, .drop_last = true});
  CHECK(dropping.size() == 2);
  CHECK(pass(dropping).size() == 2);
  DataLoader exact(ds, {.batch_size = 5, .drop_last = true});
  CHECK(pass(exact).size() == 2);
  DataLoader big(ds, {.batch_size = 64, .drop_last = true});
  CHECK(pass(big).empty());
  CHECK(contains(error_of([&] { DataLoader(ds, {.batch_size = 0}); }), "batch_size"));
  // Labels batch along with features.
  for (const Batch& b : loader) {
    auto ids = values(b[0].select(1, 0)), labels = values(b[1]);
    for (size_t k = 0; k < ids.size(); ++k) CHECK(labels[k] == static_cast<double>(static_cast<int>(ids[k]) % 3));
  }
}

TEST_CASE("data: shuffling is a permutation, deterministic per seed and epoch") {
  TensorDataset ds = numbered(23);
  DataLoader a(ds, {.batch_size = 5, .shuffle = true, .seed = 11});
  DataLoader b(ds, {.batch_size = 5, .shuffle = true, .seed = 11});
  DataLoader c(ds, {.batch_size = 5, .shuffle = true, .seed = 12});
  auto a0 = pass(a), a1 = pass(a), b0 = pass(b), b1 = pass(b), c0 = pass(c);
  CHECK(a0 == b0);  // same seed, same epoch
  CHECK(a1 == b1);
  CHECK(a0 != a1);  // a new order each epoch
  CHECK(a0 != c0);  // another seed
  std::vector<double> all;
  for (auto& batch : a0) all.insert(all.end(), batch.begin(), batch.end());
  std::sort(all.begin(), all.end());
  std::vector<double> expect(23);
  std::iota(expect.begin(), expect.end(), 0.0);
  CHECK(all == expect);
  b.set_epoch(1);  // resuming at epoch 1 replays its order
  CHECK(pass(b) == a1);
  CHECK(a.order(5) == b.order(5));
  CHECK(permutation(50, 3) == permutation(50, 3));
  CHECK(permutation(0, 3).empty());
}

TEST_CASE("data: custom datasets and collate functions") {
  Squares sq;
  DataLoader loader(sq, {.batch_size = 3});
  auto it = loader.begin();
  CHECK((*it)[0].sizes() == Shape{3, 2});
  CHECK(values((*it)[1]) == std::vector<double>{0, 1, 2});
  int batches = 0;
  for (const Batch& b : loader) {
    ++batches;
    CHECK(b.size() == 2);
  }
  CHECK(batches == 3);
  // A collate that keeps only the label sum.
  DataLoader summing(sq, {.batch_size = 4, .collate = [](const std::vector<Example>& ex) {
                            int64_t s = 0;
                            for (const Example& e : ex) s += e[1].item<int64_t>();
                            return Batch{full({}, s, kInt64)};
                          }});
  std::vector<int64_t> sums;
  for (const Batch& b : summing) sums.push_back(b[0].item<int64_t>());
  CHECK(sums == std::vector<int64_t>{0 + 1 + 2 + 3, 4 + 5 + 6});
}

TEST_CASE("data: random_split by lengths and by fractions") {
  auto ds = std::make_shared<TensorDataset>(numbered(10));
  auto parts = random_split(ds, {7, 3}, 5);
  REQUIRE(parts.size() == 2);
  CHECK(parts[0]->size() == 7);
  CHECK(parts[1]->size() == 3);
  std::set<int64_t> seen;
  for (auto& p : parts)
    for (int64_t i : p->indices()) CHECK(seen.insert(i).second);
  CHECK(seen.size() == 10);
  CHECK(random_split(ds, {7, 3}, 5)[0]->indices() == parts[0]->indices());
  // Subsets are datasets: they index through to the base one.
  CHECK(values(parts[1]->get(0)[0])[0] == static_cast<double>(parts[1]->indices()[0]));
  DataLoader loader(parts[1], {.batch_size = 2});
  CHECK(loader.size() == 2);
  // Fractions: floor each, hand the remainder out from the first part (PyTorch's rule).
  auto fr = random_split(ds, {0.45, 0.45, 0.1}, 1);
  CHECK(fr[0]->size() == 5);
  CHECK(fr[1]->size() == 4);
  CHECK(fr[2]->size() == 1);
  CHECK(contains(error_of([&] { random_split(ds, {5, 4}, 0); }), "Sum of input lengths"));
  CHECK(contains(error_of([&] { random_split(ds, {2.5, 7.5}, 0); }), "integers or fractions"));
}

TEST_CASE("data: stratified_split keeps class proportions") {
  std::vector<int64_t> labels;
  for (int i = 0; i < 100; ++i) labels.push_back(i < 80 ? 0 : (i < 95 ? 1 : 2));  // 80 / 15 / 5
  auto [train, test] = stratified_split(labels, 0.8, 42);
  CHECK(train.size() + test.size() == 100);
  std::map<int64_t, int> train_count, test_count;
  for (int64_t i : train) ++train_count[labels[static_cast<size_t>(i)]];
  for (int64_t i : test) ++test_count[labels[static_cast<size_t>(i)]];
  CHECK(train_count[0] == 64);
  CHECK(train_count[1] == 12);
  CHECK(train_count[2] == 4);
  CHECK(test_count[0] == 16);
  CHECK(test_count[1] == 3);
  CHECK(test_count[2] == 1);
  std::vector<int64_t> all(train);
  all.insert(all.end(), test.begin(), test.end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 100; ++i) CHECK(all[static_cast<size_t>(i)] == i);
  CHECK(std::is_sorted(train.begin(), train.end()));
  CHECK(stratified_split(labels, 0.8, 42).first == train);  // deterministic
  CHECK(stratified_split(labels, 0.8, 43).first != train);  // seeded
  // Tensor labels (int64 or bool) give the same answer.
  CHECK(stratified_split(tensor(labels), 0.8, 42).first == train);
  auto [ones_part, rest] = stratified_split(tensor(std::vector<bool>{true, false, true, false}), 0.5, 0);
  CHECK(ones_part.size() == 2);
  CHECK(contains(error_of([&] { stratified_split(labels, 1.5); }), "fraction"));
}
