// ember-spam: tokenizer, hashed features, the duplicate-aware split, metrics.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "dataset.h"
#include "featurizer.h"
#include "metrics.h"
#include "split.h"

using namespace ember::spam;

TEST_CASE("spam featurizer: words, punctuation and normalization") {
  std::string buf;
  auto w = split_words("Hello, WORLD!! caf\xC3\xA9 2x", buf);
  std::vector<std::string> got(w.begin(), w.end());
  CHECK(got == std::vector<std::string>{"hello", ",", "world", "!", "!", "caf\xC3\xA9", "2x"});
  CHECK(normalize_for_dedup("  Hello \t World\n") == "hello world");
  CHECK(normalize_for_dedup("hello world") == normalize_for_dedup("HELLO   world "));
}

TEST_CASE("spam featurizer: counts, range, determinism") {
  FeatureConfig c;
  c.buckets = 1000;
  c.word_ngrams = 2;
  c.char_min = 3;
  c.char_max = 5;
  Featurizer f(c);
  std::vector<int64_t> ids;
  f.append_bag("ab cd", ids);
  // 2 words + 1 bigram + char n-grams of "<ab>" (3-grams: 2, 4-grams: 1) twice.
  CHECK(ids.size() == 2 + 1 + 2 * 3);
  for (int64_t id : ids) CHECK((id >= 0 && id < 1000));
  std::vector<int64_t> again;
  f.append_bag("AB  cd", again);
  CHECK(ids == again);  // case and spacing do not change features
  std::vector<int64_t> empty;
  f.append_bag("", empty);
  CHECK(empty.size() == 1);  // never an empty bag

  FeatureTable t = f.bag_table({"ab cd", "", "x"});
  CHECK(t.size() == 3);
  CHECK(t.offsets.front() == 0);
  CHECK(t.offsets.back() == static_cast<int64_t>(t.ids.size()));
  CHECK(t.count(0) == 9);

  SeqTable s = f.seq_table({"ab cd ef", ""});
  CHECK(s.size() == 2);
  CHECK(s.words(0) == 3);
  CHECK(s.words(1) == 1);

  FeatureConfig back = FeatureConfig::from_json(c.to_json());
  CHECK(back.buckets == 1000);
  CHECK(back.char_min == 3);
  CHECK_THROWS_AS(FeatureConfig::from_json("{\"buckets\": 0}"), SpamError);
  CHECK_THROWS_AS(FeatureConfig::from_json("not json"), SpamError);
}

TEST_CASE("spam split: stratified, seeded, duplicates on one side only") {
  std::vector<std::string> texts;
  std::vector<int> labels;
  for (int i = 0; i < 100; ++i) {
    texts.push_back("ham message " + std::to_string(i));
    labels.push_back(0);
  }
  for (int i = 0; i < 20; ++i) {
    texts.push_back("spam offer " + std::to_string(i));
    labels.push_back(1);
  }
  for (int i = 0; i < 10; ++i) {  // duplicates up to case and whitespace
    texts.push_back("HAM  message " + std::to_string(i));
    labels.push_back(0);
  }
  Split s = stratified_group_split(texts, labels, 0.2, 3);
  CHECK(s.train.size() + s.test.size() == texts.size());
  int test_spam = 0;
  for (size_t i : s.test) test_spam += labels[i];
  CHECK(test_spam == 4);  // round(20 groups * 0.2)
  std::set<std::string> train_keys, test_keys;
  for (size_t i : s.train) train_keys.insert(normalize_for_dedup(texts[i]));
  for (size_t i : s.test) test_keys.insert(normalize_for_dedup(texts[i]));
  for (const auto& k : test_keys) CHECK(train_keys.count(k) == 0);
  Split again = stratified_group_split(texts, labels, 0.2, 3);
  CHECK(again.test == s.test);
  Split other = stratified_group_split(texts, labels, 0.2, 4);
  CHECK(other.test != s.test);
  CHECK_THROWS_AS(stratified_group_split(texts, labels, 1.5, 0), SpamError);
}

TEST_CASE("spam metrics: against hand-computed values") {
  // scores >= 0.5 flagged: tp = 2 (0.9, 0.8), fn = 1 (0.3), fp = 1 (0.6), tn = 2 (0.2, 0.1)
  std::vector<float> scores{0.9f, 0.8f, 0.3f, 0.6f, 0.2f, 0.1f};
  std::vector<int> labels{1, 1, 1, 0, 0, 0};
  Metrics m = compute_metrics(scores, labels, 0.5);
  CHECK(m.tp == 2);
  CHECK(m.fn == 1);
  CHECK(m.fp == 1);
  CHECK(m.tn == 2);
  CHECK(m.n == 6);
  CHECK(m.accuracy == doctest::Approx(4.0 / 6));
  CHECK(m.precision == doctest::Approx(2.0 / 3));
  CHECK(m.recall == doctest::Approx(2.0 / 3));
  CHECK(m.f1 == doctest::Approx(2.0 / 3));
  CHECK(m.false_positive_rate == doctest::Approx(1.0 / 3));
  CHECK(m.mcc == doctest::Approx((2.0 * 2 - 1.0 * 1) / 9.0));  // sqrt(3*3*3*3) = 9
  // AUC: of 9 (spam, ham) pairs, spam ranks higher in 8 (0.3 < 0.6 is the miss).
  CHECK(m.roc_auc == doctest::Approx(8.0 / 9));
  CHECK(roc_auc({0.5f, 0.5f}, {1, 0}) == doctest::Approx(0.5));  // a tie counts one half
  CHECK(mcc_from_counts(0, 0, 5, 5) == 0.0);                       // empty denominator
  auto roc = roc_curve(scores, labels);
  CHECK(roc.front() == std::pair<double, double>{0, 0});
  CHECK(roc.back() == std::pair<double, double>{1, 1});
  // Separable scores: the best cut lies midway between the lowest spam and the highest ham.
  double t = best_mcc_threshold({0.9f, 0.7f, 0.4f, 0.1f}, {1, 1, 0, 0});
  CHECK(t == doctest::Approx(0.55));
  Metrics j = compute_metrics(scores, labels, 0.5);
  std::string json = j.to_json();
  for (const char* key : {"accuracy", "precision", "recall", "f1", "mcc", "false_positive_rate", "roc_auc", "tp",
                          "fp", "tn", "fn", "\"n\"", "train_seconds"})
    CHECK(json.find(key) != std::string::npos);
}
