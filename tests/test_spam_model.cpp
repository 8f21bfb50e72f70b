// ember-spam: tf-idf weighting, cross-fitting folds, the capped threshold, Platt calibration,
// merging fold models and folding a calibration into a model.
#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <set>

#include "dataset.h"
#include "featurizer.h"
#include "metrics.h"
#include "model.h"
#include "split.h"
#include "autograd/grad_mode.h"
#include "tensor/ops.h"

using namespace ember::spam;

namespace {
FeatureTable table_of(std::vector<std::vector<int64_t>> messages) {
  FeatureTable t;
  for (const auto& m : messages) {
    t.ids.insert(t.ids.end(), m.begin(), m.end());
    t.offsets.push_back(static_cast<int64_t>(t.ids.size()));
  }
  return t;
}
}  // namespace

TEST_CASE("spam tf-idf: counts, idf and L2-normalized sublinear weights by hand") {
  FeatureTable t = table_of({{3, 1, 3, 3}, {1, 2}, {5}});
  count_features(t, 8);
  CHECK(t.ids == std::vector<int64_t>{3, 1, 1, 2, 5});  // first occurrences, in order
  CHECK(t.weights == std::vector<float>{3, 1, 1, 1, 1});
  CHECK(t.offsets == std::vector<int64_t>{0, 2, 4, 5});

  // idf over rows 0 and 1 only (n = 2): bucket 1 in both, 2 and 3 in one, 5 in none.
  std::vector<float> idf = inverse_document_frequency(t, {0, 1}, 8);
  const double idf1 = std::log(3.0 / 3.0) + 1, idf_once = std::log(3.0 / 2.0) + 1;
  CHECK(idf[1] == doctest::Approx(idf1));
  CHECK(idf[2] == doctest::Approx(idf_once));
  CHECK(idf[3] == doctest::Approx(idf_once));
  CHECK(idf[5] == 0.0f);  // never in a training row
  CHECK(idf[0] == 0.0f);

  apply_tfidf(t, idf.data(), idf.size());
  // Message 0: id 3 -> (1 + ln 3) * idf_once, id 1 -> 1 * idf1, then divided by their norm.
  const double a = idf1, b = (1 + std::log(3.0)) * idf_once, n0 = std::sqrt(a * a + b * b);
  REQUIRE(t.offsets == std::vector<int64_t>{0, 2, 4, 4});  // message 2's only feature is unknown: dropped
  CHECK(t.ids == std::vector<int64_t>{3, 1, 1, 2});
  CHECK(t.weights[0] == doctest::Approx(b / n0));
  CHECK(t.weights[1] == doctest::Approx(a / n0));
  const double n1 = std::sqrt(idf1 * idf1 + idf_once * idf_once);
  CHECK(t.weights[2] == doctest::Approx(idf1 / n1));
  CHECK(t.weights[3] == doctest::Approx(idf_once / n1));

  FeatureTable uncounted = table_of({{1}});
  CHECK_THROWS_AS(apply_tfidf(uncounted, idf.data(), idf.size()), SpamError);
  FeatureTable out_of_range = table_of({{1, 9}});
  CHECK_THROWS_AS(count_features(out_of_range, 8), SpamError);

  // Large tables take the parallel path: the same result as one message at a time.
  FeatureTable big, one_by_one;
  std::mt19937_64 rng(1);
  for (int m = 0; m < 5000; ++m) {
    std::vector<int64_t> ids(rng() % 40);
    for (auto& id : ids) id = static_cast<int64_t>(rng() % 64);
    FeatureTable single = table_of({ids});
    count_features(single, 64);
    big.ids.insert(big.ids.end(), ids.begin(), ids.end());
    big.offsets.push_back(static_cast<int64_t>(big.ids.size()));
    one_by_one.ids.insert(one_by_one.ids.end(), single.ids.begin(), single.ids.end());
    one_by_one.weights.insert(one_by_one.weights.end(), single.weights.begin(), single.weights.end());
    one_by_one.offsets.push_back(static_cast<int64_t>(one_by_one.ids.size()));
  }
  count_features(big, 64);
  CHECK(big.ids == one_by_one.ids);
  CHECK(big.weights == one_by_one.weights);
  CHECK(big.offsets == one_by_one.offsets);
}

TEST_CASE("spam folds: a partition, stratified, duplicates in one fold, seeded") {
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (int i = 0; i < 90; ++i) {
    texts.push_back("ham " + std::to_string(i % 60));  // 30 messages appear twice
    labels.push_back(0);
  }
  for (int i = 0; i < 25; ++i) {
    texts.push_back("spam " + std::to_string(i));
    labels.push_back(1);
  }
  std::vector<size_t> rows;
  for (size_t i = 0; i < texts.size(); i += (i % 7 == 3 ? 2 : 1)) rows.push_back(i);  // a subset
  auto folds = stratified_group_folds(texts, labels, rows, 5, 11);
  REQUIRE(folds.size() == 5);
  std::multiset<size_t> all;
  for (const auto& f : folds) all.insert(f.begin(), f.end());
  CHECK(all == std::multiset<size_t>(rows.begin(), rows.end()));
  std::vector<std::set<std::string>> keys(5);
  for (size_t k = 0; k < 5; ++k) {
    int spam = 0;
    for (size_t r : folds[k]) {
      keys[k].insert(normalize_for_dedup(texts[r]));
      spam += labels[r];
    }
    CHECK(spam >= 4);  // 21-22 spam rows dealt over 5 folds
    CHECK(spam <= 5);
  }
  for (size_t a = 0; a < 5; ++a)
    for (size_t b = a + 1; b < 5; ++b)
      for (const auto& k : keys[a]) CHECK(keys[b].count(k) == 0);
  CHECK(stratified_group_folds(texts, labels, rows, 5, 11) == folds);
  CHECK(stratified_group_folds(texts, labels, rows, 5, 12) != folds);
  CHECK_THROWS_AS(stratified_group_folds(texts, labels, rows, 1, 0), SpamError);
}

TEST_CASE("spam threshold: the best MCC within a ham-blocked budget") {
  // Ranked: spam, ham, spam, spam, ham, ham, ham, ham, ham, ham (10 ham in all with the tail).
  std::vector<float> scores{0.95f, 0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.05f, 0.01f, 0.0f};
  std::vector<int> labels{1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
  // Unconstrained, flagging the top four (one ham) is best.
  CHECK(best_mcc_threshold(scores, labels) == doctest::Approx(0.65));
  // With no ham allowed, only the top spam can be flagged.
  CHECK(best_mcc_threshold(scores, labels, 0.0) == doctest::Approx(0.925));
  // One ham in ten allowed: the unconstrained cut fits.
  CHECK(best_mcc_threshold(scores, labels, 0.1) == doctest::Approx(0.65));
  // When even the highest score is ham, nothing may be flagged.
  double none = best_mcc_threshold({0.9f, 0.1f}, {0, 1}, 0.0);
  CHECK(none > 0.9);
}

TEST_CASE("spam calibration: Platt scaling recovers a known logistic model") {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> margin(0.0, 3.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const Platt truth{0.8, -1.5};
  std::vector<double> margins;
  std::vector<int> labels;
  for (int i = 0; i < 20000; ++i) {
    double m = margin(rng);
    margins.push_back(m);
    labels.push_back(u(rng) < truth(m) ? 1 : 0);
  }
  Platt p = fit_platt(margins, labels);
  CHECK(p.scale == doctest::Approx(truth.scale).epsilon(0.05));
  CHECK(p.shift == doctest::Approx(truth.shift).epsilon(0.08));
  CHECK(truth(0.0) == doctest::Approx(1.0 / (1.0 + std::exp(1.5))));
  CHECK(Platt{}(-800.0) == 0.0);  // no overflow at extreme margins
  CHECK(Platt{}(800.0) == 1.0);
  // Separable data: Platt's smoothed targets keep the scale finite.
  Platt sep = fit_platt({-3, -2, -1, 1, 2, 3}, {0, 0, 0, 1, 1, 1});
  CHECK(std::isfinite(sep.scale));
  CHECK(sep.scale > 0);
  Platt one = fit_platt({1, 2}, {1, 1});  // one class: identity
  CHECK(one.scale == 1.0);
  CHECK(one.shift == 0.0);
}

TEST_CASE("spam model: merged fold models average the logits; calibration folds into the model") {
  FeatureConfig f;
  f.buckets = 64;
  f.weighting = "tfidf";
  ModelConfig c;
  c.arch = Arch::Bag;
  std::vector<float> idf(64, 1.0f);
  Batch b;
  b.ids = ember::from_blob_copy(std::vector<int64_t>{1, 5, 9, 5, 63}.data(), {5}, ember::kInt64);
  b.offsets = ember::from_blob_copy(std::vector<int64_t>{0, 3, 3, 5}.data(), {4}, ember::kInt64);  // one empty bag
  b.weights = ember::from_blob_copy(std::vector<float>{0.5f, 0.25f, 1.0f, 2.0f, -1.0f}.data(), {5}, ember::kFloat32);
  b.rows = 3;
  std::vector<std::shared_ptr<SpamNet>> members;
  ember::Tensor mean_logits;
  ember::manual_seed(3);
  for (int k = 0; k < 3; ++k) {
    auto net = make_model(c, f, idf);
    {
      ember::NoGradGuard guard;
      for (const auto& p : net->parameters()) {
        ember::Tensor t = p;
        t.copy_(ember::randn(p.sizes()));
      }
    }
    ember::Tensor l = net->logits(b).detach();
    mean_logits = mean_logits.defined() ? mean_logits + l : l;
    members.push_back(net);
  }
  mean_logits = mean_logits / 3.0;
  ModelConfig merged_config = c;
  auto merged = merge_bag_models(members, merged_config, f);
  CHECK(merged_config.merged == 3);
  CHECK(ember::allclose(merged->logits(b).detach(), mean_logits, 1e-5, 1e-6));
  CHECK(ember::equal(merged->idf(), ember::ones({64})));

  ember::Tensor before = merged->logits(b).detach();
  merged->calibrate(0.5, -2.0);
  ember::Tensor after = merged->logits(b).detach();
  ember::Tensor margin_before = before.select(1, 1) - before.select(1, 0);
  ember::Tensor margin_after = after.select(1, 1) - after.select(1, 0);
  CHECK(ember::allclose(margin_after, margin_before * 0.5 - 2.0, 1e-5, 1e-6));

  ModelConfig mlp = c;
  mlp.hidden = 8;
  CHECK_THROWS_AS(merge_bag_models({make_model(mlp, f, idf)}, mlp, f), SpamError);
}
