#pragma once
// Reading labelled messages from TSV (SMS Spam Collection layout) and CSV (RFC 4180, header).
// Every rejected row names its file and line, because users feed in their own exports.
#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace ember::spam {

/// The one exception type of the spam app: its message is meant for the user as is.
class SpamError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

enum class Format { Auto, Tsv, Csv };

struct ReadOptions {
  Format format = Format::Auto;
  std::string text_column = "text";    // CSV only: TSV is always label<TAB>text
  std::string label_column = "label";  // CSV only
  std::string positive_label;          // empty: "spam" when present, else "1"
  bool skip_invalid = false;           // drop bad rows (counted by reason) instead of failing
};

struct Dataset {
  std::string source;                 // file name, for messages
  std::vector<std::string> texts;
  std::vector<int> labels;            // 1 = positive (spam)
  std::vector<int64_t> lines;         // 1-based line where each row starts
  std::string positive_label = "spam";
  std::string negative_label = "ham";
  std::map<std::string, int64_t> skipped;  // reason -> rows dropped under skip_invalid
  int64_t skipped_total() const;
  size_t size() const { return texts.size(); }
  int64_t positives() const;
};

/// Reads and validates a labelled file. Throws SpamError("FILE:LINE: why") on bad input.
/// require_both_classes: training needs both labels, evaluation of a one-class file is fine.
Dataset read_dataset(const std::string& path, const ReadOptions& options, bool require_both_classes = true);
/// The same, from an in-memory buffer (name is used in messages only).
Dataset parse_dataset(const std::string& content, const std::string& name, const ReadOptions& options,
                      bool require_both_classes = true);

/// Parses CSV into records of fields; each record carries its 1-based starting line.
/// Exposed for tests. Throws SpamError on an unterminated quote or junk after a closing quote.
struct CsvRecord {
  int64_t line = 0;
  std::vector<std::string> fields;
};
std::vector<CsvRecord> parse_csv(const std::string& content, const std::string& name);

/// Byte offset of the first invalid UTF-8 sequence, or -1 when s is valid UTF-8.
int64_t find_invalid_utf8(const std::string& s);

Format format_from_name(const std::string& s);  // "tsv" | "csv" | "auto"; throws otherwise

}  // namespace ember::spam
