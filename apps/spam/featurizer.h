#pragma once
// fastText-style hashed features: word 1..N-grams plus character n-grams of each word wrapped
// in boundary markers ("<free>"), hashed into a fixed number of buckets. No vocabulary to
// build or store, so train, evaluate and predict featurize identically from the config alone.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ember::spam {

struct FeatureConfig {
  int64_t buckets = int64_t{1} << 20;
  int word_ngrams = 2;  // word 1..word_ngrams grams; 0 disables words
  int char_min = 2;     // character n-grams of "<word>", lengths char_min..char_max; 0 disables
  int char_max = 5;
  int max_tokens = 128;  // sequence models (cnn, transformer): words kept per message
  // Bag models: "count" feeds every feature occurrence to a mean bag; "tfidf" feeds each
  // distinct feature once, weighted (1 + ln tf) * idf and L2-normalized per message, with idf
  // from the training rows and zero for buckets no training message has (see apply_tfidf).
  std::string weighting = "count";

  std::string to_json() const;
  static FeatureConfig from_json(const std::string& json);  // throws SpamError on bad config
};

/// Many messages' features in one flat array: message i owns ids[offsets[i] .. offsets[i+1]).
/// Batches are slices of it, so training never re-featurizes or copies strings.
struct FeatureTable {
  std::vector<int64_t> ids;
  std::vector<int64_t> offsets{0};
  std::vector<float> weights;  // one per id, or empty (every feature weighs the same)
  size_t size() const { return offsets.size() - 1; }
  int64_t count(size_t i) const { return offsets[i + 1] - offsets[i]; }
};

/// Lowercases ASCII, splits into words (runs of letters, digits and non-ASCII bytes) and
/// single punctuation marks; whitespace separates.
std::vector<std::string_view> split_words(std::string_view text, std::string& lowered);

/// Whitespace-collapsed, lowercased text: messages equal under it count as duplicates.
std::string normalize_for_dedup(std::string_view text);

/// Sequence models see each word as a bag of its own features (word id and its character
/// n-grams, as fastText word vectors): message m owns words msg_offsets[m] .. msg_offsets[m+1],
/// and word w owns ids[word_offsets[w] .. word_offsets[w+1]).
struct SeqTable {
  std::vector<int64_t> ids;
  std::vector<int64_t> word_offsets{0};
  std::vector<int64_t> msg_offsets{0};
  size_t size() const { return msg_offsets.size() - 1; }
  int64_t words(size_t m) const { return msg_offsets[m + 1] - msg_offsets[m]; }
};

/// Merges repeated ids within each message: each id is kept once (in order of first
/// occurrence) and its weight is its count. Ids must lie in [0, buckets).
void count_features(FeatureTable& table, int64_t buckets);

/// Smoothed inverse document frequency per bucket over the given rows of a counted table:
/// ln((1 + n) / (1 + df)) + 1, and 0 for a bucket that none of the rows contains.
std::vector<float> inverse_document_frequency(const FeatureTable& counted, const std::vector<size_t>& rows,
                                              int64_t buckets);

/// Turns counts into sublinear tf-idf weights, L2-normalized per message. Features of zero idf
/// (never seen in training) are dropped: their embedding rows were never trained, and keeping
/// them only dilutes the weights of the known ones. A message may end with no features.
void apply_tfidf(FeatureTable& counted, const float* idf, size_t buckets);

class Featurizer {
 public:
  explicit Featurizer(FeatureConfig config = {});
  const FeatureConfig& config() const { return config_; }

  /// Appends the bag features of one message (never none: an empty message gets one id).
  void append_bag(std::string_view text, std::vector<int64_t>& out) const;
  /// Appends one message's words (at most max_tokens, at least one) as bags to a SeqTable.
  void append_words(std::string_view text, SeqTable& out) const;

  FeatureTable bag_table(const std::vector<std::string>& texts) const;
  SeqTable seq_table(const std::vector<std::string>& texts) const;

 private:
  FeatureConfig config_;
};

}  // namespace ember::spam
