#include "featurizer.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "dataset.h"
#include "kernels/cpu/parallel.h"

namespace ember::spam {
namespace {

constexpr uint64_t kFnvOffset = 1469598103934665603ull;
constexpr uint64_t kFnvPrime = 1099511628211ull;
// Distinct seeds keep a word and a character n-gram with the same bytes in different buckets.
constexpr uint64_t kWordSeed = kFnvOffset;
constexpr uint64_t kCharSeed = kFnvOffset ^ 0x9E3779B97F4A7C15ull;

// FNV alone leaves the low bits (which pick the bucket) poorly mixed for short keys.
inline uint64_t fmix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

inline uint64_t fnv(std::string_view s, uint64_t h) {
  for (unsigned char c : s) {
    h ^= c;
    h *= kFnvPrime;
  }
  return h;
}

inline bool is_word_byte(unsigned char c) { return std::isalnum(c) || c >= 128; }

}  // namespace

std::string FeatureConfig::to_json() const {
  nlohmann::json j{{"buckets", buckets}, {"word_ngrams", word_ngrams}, {"char_min", char_min},
                   {"char_max", char_max}, {"max_tokens", max_tokens}, {"hash", "fnv1a64+fmix/v1"},
                   {"weighting", weighting}};
  return j.dump();
}

FeatureConfig FeatureConfig::from_json(const std::string& text) {
  FeatureConfig c;
  try {
    auto j = nlohmann::json::parse(text);
    c.buckets = j.at("buckets").get<int64_t>();
    c.word_ngrams = j.at("word_ngrams").get<int>();
    c.char_min = j.at("char_min").get<int>();
    c.char_max = j.at("char_max").get<int>();
    c.max_tokens = j.value("max_tokens", 128);
    c.weighting = j.value("weighting", std::string("count"));
    if (j.value("hash", std::string()) != "fnv1a64+fmix/v1") throw SpamError("unknown feature hash");
  } catch (const nlohmann::json::exception& e) {
    throw SpamError(std::string("bad feature config in model: ") + e.what());
  }
  if (c.buckets < 2 || c.word_ngrams < 0 || c.word_ngrams > 8 || c.char_min < 0 || c.char_max < c.char_min ||
      c.char_max > 16 || c.max_tokens < 1 || (c.weighting != "count" && c.weighting != "tfidf"))
    throw SpamError("bad feature config in model: " + c.to_json());
  return c;
}

std::vector<std::string_view> split_words(std::string_view text, std::string& lowered) {
  lowered.assign(text.begin(), text.end());
  for (char& ch : lowered) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 128) ch = static_cast<char>(std::tolower(c));
  }
  std::vector<std::string_view> words;
  std::string_view all(lowered);
  size_t i = 0, n = all.size();
  while (i < n) {
    auto c = static_cast<unsigned char>(all[i]);
    if (is_word_byte(c)) {
      size_t j = i;
      while (j < n && is_word_byte(static_cast<unsigned char>(all[j]))) ++j;
      words.push_back(all.substr(i, j - i));
      i = j;
    } else {
      if (!std::isspace(c)) words.push_back(all.substr(i, 1));
      ++i;
    }
  }
  return words;
}

std::string normalize_for_dedup(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool pending_space = false;
  for (unsigned char c : text) {
    if (std::isspace(c)) {
      pending_space = !out.empty();
      continue;
    }
    if (pending_space) out += ' ';
    pending_space = false;
    out += static_cast<char>(c < 128 ? std::tolower(c) : c);
  }
  return out;
}

Featurizer::Featurizer(FeatureConfig config) : config_(config) {
  if (config_.buckets < 2) throw SpamError("feature buckets must be at least 2");
}

namespace {
// Character n-grams of "<word>": the markers make prefixes and suffixes their own features.
void append_char_ngrams(std::string_view w, const FeatureConfig& c, uint64_t buckets, std::vector<int64_t>& out) {
  const size_t len = w.size() + 2;
  auto at = [&](size_t p) -> unsigned char {
    return p == 0 ? '<' : p == len - 1 ? '>' : static_cast<unsigned char>(w[p - 1]);
  };
  for (size_t s = 0; s < len; ++s) {
    uint64_t h = kCharSeed;
    for (int n = 1; n <= c.char_max && s + n <= len; ++n) {
      h = (h ^ at(s + n - 1)) * kFnvPrime;
      if (n >= c.char_min) out.push_back(static_cast<int64_t>(fmix(h + static_cast<uint64_t>(n)) % buckets));
    }
  }
}
}  // namespace

void Featurizer::append_bag(std::string_view text, std::vector<int64_t>& out) const {
  thread_local std::string lowered;
  std::vector<std::string_view> words = split_words(text, lowered);
  const auto buckets = static_cast<uint64_t>(config_.buckets);
  const size_t before = out.size();
  std::vector<uint64_t> word_hash(words.size());
  for (size_t i = 0; i < words.size(); ++i) word_hash[i] = fmix(fnv(words[i], kWordSeed));
  for (size_t i = 0; i < words.size(); ++i) {
    if (config_.word_ngrams >= 1) out.push_back(static_cast<int64_t>(word_hash[i] % buckets));
    // Word n-grams combine the word hashes, so no string is built per n-gram.
    uint64_t h = word_hash[i];
    for (int k = 1; k < config_.word_ngrams && i + k < words.size(); ++k) {
      h = fmix(h * 0x9E3779B97F4A7C15ull + word_hash[i + k]);
      out.push_back(static_cast<int64_t>(h % buckets));
    }
    if (config_.char_min > 0) append_char_ngrams(words[i], config_, buckets, out);
  }
  if (out.size() == before) out.push_back(static_cast<int64_t>(fmix(kCharSeed) % buckets));
}

void Featurizer::append_words(std::string_view text, SeqTable& out) const {
  thread_local std::string lowered;
  std::vector<std::string_view> words = split_words(text, lowered);
  const auto buckets = static_cast<uint64_t>(config_.buckets);
  size_t n = std::min(words.size(), static_cast<size_t>(config_.max_tokens));
  for (size_t i = 0; i < n; ++i) {
    out.ids.push_back(static_cast<int64_t>(fmix(fnv(words[i], kWordSeed)) % buckets));
    if (config_.char_min > 0) append_char_ngrams(words[i], config_, buckets, out.ids);
    out.word_offsets.push_back(static_cast<int64_t>(out.ids.size()));
  }
  if (n == 0) {  // an empty message is one word of its own
    out.ids.push_back(static_cast<int64_t>(fmix(kCharSeed) % buckets));
    out.word_offsets.push_back(static_cast<int64_t>(out.ids.size()));
  }
  out.msg_offsets.push_back(static_cast<int64_t>(out.word_offsets.size() - 1));
}

FeatureTable Featurizer::bag_table(const std::vector<std::string>& texts) const {
  // Large inputs (prediction streams) are featurized in parallel chunks, then concatenated
  // in order, so the table is the same whatever the thread count.
  const int threads = texts.size() >= 4096 ? std::max(1, get_num_threads()) : 1;
  std::vector<FeatureTable> parts(static_cast<size_t>(threads));
  const size_t n = texts.size();
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int p = 0; p < threads; ++p) {
    FeatureTable& t = parts[static_cast<size_t>(p)];
    size_t begin = n * static_cast<size_t>(p) / static_cast<size_t>(threads);
    size_t end = n * static_cast<size_t>(p + 1) / static_cast<size_t>(threads);
    size_t chars = 0;
    for (size_t i = begin; i < end; ++i) chars += texts[i].size();
    t.ids.reserve(chars * static_cast<size_t>(std::max(1, config_.char_max - config_.char_min + 1)) + (end - begin));
    t.offsets.reserve(end - begin + 1);
    for (size_t i = begin; i < end; ++i) {
      append_bag(texts[i], t.ids);
      t.offsets.push_back(static_cast<int64_t>(t.ids.size()));
    }
  }
  if (threads == 1) return std::move(parts[0]);
  FeatureTable all;
  size_t total = 0;
  for (const auto& t : parts) total += t.ids.size();
  all.ids.reserve(total);
  all.offsets.reserve(n + 1);
  for (const auto& t : parts) {
    const auto base = static_cast<int64_t>(all.ids.size());
    all.ids.insert(all.ids.end(), t.ids.begin(), t.ids.end());
    for (size_t i = 1; i < t.offsets.size(); ++i) all.offsets.push_back(base + t.offsets[i]);
  }
  return all;
}

namespace {
// Rewrites every message within its own range (in parallel over messages: the ranges are
// disjoint), then closes the gaps in one serial pass. edit(begin, end) rewrites the entries
// [begin, end) of one message in place and returns how many it kept at the front.
template <class Edit>
void edit_messages(FeatureTable& t, Edit edit) {
  const auto messages = static_cast<int64_t>(t.size());
  std::vector<int64_t> kept(t.size());
  const int threads = messages >= 2048 ? std::max(1, get_num_threads()) : 1;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (int64_t m = 0; m < messages; ++m) kept[static_cast<size_t>(m)] = edit(t.offsets[m], t.offsets[m + 1]);
  int64_t out = 0;
  for (size_t m = 0; m < t.size(); ++m) {
    const int64_t begin = t.offsets[m];
    if (out != begin) {
      std::copy(t.ids.begin() + begin, t.ids.begin() + begin + kept[m], t.ids.begin() + out);
      std::copy(t.weights.begin() + begin, t.weights.begin() + begin + kept[m], t.weights.begin() + out);
    }
    t.offsets[m] = out;
    out += kept[m];
  }
  t.offsets.back() = out;
  t.ids.resize(static_cast<size_t>(out));
  t.weights.resize(static_cast<size_t>(out));
}
}  // namespace

void count_features(FeatureTable& t, int64_t buckets) {
  // Checked here, not inside the parallel loop below, where an exception would end the program.
  for (int64_t id : t.ids)
    if (id < 0 || id >= buckets) throw SpamError("count_features: feature id " + std::to_string(id) + " out of range");
  t.weights.assign(t.ids.size(), 1.0f);
  edit_messages(t, [&](int64_t begin, int64_t end) -> int64_t {
    // slot[id]: where id's count lives in this message, or -1. Reset after each message
    // (touching only its own ids), so it costs O(message) and not O(buckets).
    thread_local std::vector<int32_t> slot;
    if (slot.size() != static_cast<size_t>(buckets)) slot.assign(static_cast<size_t>(buckets), -1);
    int64_t kept = begin;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t id = t.ids[k];
      int32_t& s = slot[static_cast<size_t>(id)];
      if (s >= 0) {
        t.weights[begin + s] += 1.0f;
      } else {
        s = static_cast<int32_t>(kept - begin);
        t.ids[kept++] = id;
      }
    }
    for (int64_t k = begin; k < kept; ++k) slot[static_cast<size_t>(t.ids[k])] = -1;
    return kept - begin;
  });
}

std::vector<float> inverse_document_frequency(const FeatureTable& counted, const std::vector<size_t>& rows,
                                              int64_t buckets) {
  std::vector<int32_t> df(static_cast<size_t>(buckets), 0);
  for (size_t r : rows)
    for (int64_t k = counted.offsets[r]; k < counted.offsets[r + 1]; ++k) df[static_cast<size_t>(counted.ids[k])] += 1;
  std::vector<float> idf(df.size(), 0.0f);
  const double n = static_cast<double>(rows.size());
  for (size_t b = 0; b < df.size(); ++b)
    if (df[b] > 0) idf[b] = static_cast<float>(std::log((1.0 + n) / (1.0 + df[b])) + 1.0);
  return idf;
}

void apply_tfidf(FeatureTable& t, const float* idf, size_t buckets) {
  if (t.weights.size() != t.ids.size()) throw SpamError("apply_tfidf: the feature table has no counts");
  edit_messages(t, [&](int64_t begin, int64_t end) -> int64_t {
    int64_t kept = begin;
    double norm2 = 0;
    for (int64_t k = begin; k < end; ++k) {
      const int64_t id = t.ids[k];
      if (id < 0 || static_cast<size_t>(id) >= buckets || idf[id] == 0.0f) continue;
      const float w = (1.0f + std::log(t.weights[k])) * idf[id];
      t.ids[kept] = id;
      t.weights[kept++] = w;
      norm2 += static_cast<double>(w) * w;
    }
    const auto inv = static_cast<float>(norm2 > 0 ? 1.0 / std::sqrt(norm2) : 0.0);
    for (int64_t k = begin; k < kept; ++k) t.weights[k] *= inv;
    return kept - begin;
  });
}

SeqTable Featurizer::seq_table(const std::vector<std::string>& texts) const {
  SeqTable t;
  for (const auto& s : texts) append_words(s, t);
  return t;
}

}  // namespace ember::spam
