#include "dataset.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ember::spam {
namespace {

std::string lower_trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  std::string out = s.substr(b, e - b);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string where(const std::string& name, int64_t line) { return name + ":" + std::to_string(line) + ": "; }

struct RawRow {
  int64_t line;
  std::string label;
  std::string text;
};

// Collects row-level problems: fatal by default, counted under --skip-invalid.
struct RowErrors {
  const std::string& name;
  bool skip;
  std::map<std::string, int64_t>& counts;
  // Returns normally only when the row is to be skipped.
  void reject(int64_t line, const std::string& reason, const std::string& detail) {
    if (!skip) throw SpamError(where(name, line) + detail + " (use --skip-invalid to drop such rows)");
    ++counts[reason];
  }
};

std::string strip_bom(const std::string& content) {
  if (content.size() >= 3 && static_cast<unsigned char>(content[0]) == 0xEF &&
      static_cast<unsigned char>(content[1]) == 0xBB && static_cast<unsigned char>(content[2]) == 0xBF)
    return content.substr(3);
  return content;
}

std::vector<RawRow> read_tsv(const std::string& content, RowErrors& errors) {
  std::vector<RawRow> rows;
  int64_t line_no = 0;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    if (nl == std::string::npos) nl = content.size();
    std::string line = content.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
    if (int64_t bad = find_invalid_utf8(line); bad >= 0) {
      errors.reject(line_no, "invalid UTF-8", "invalid UTF-8 at byte " + std::to_string(bad + 1) + " of the line");
      continue;
    }
    size_t tab = line.find('\t');
    if (tab == std::string::npos) {
      errors.reject(line_no, "wrong field count", "expected 'label<TAB>text', found no tab");
      continue;
    }
    rows.push_back({line_no, line.substr(0, tab), line.substr(tab + 1)});
  }
  return rows;
}

std::vector<RawRow> read_csv(const std::string& content, const std::string& name, const ReadOptions& options,
                             RowErrors& errors) {
  std::vector<CsvRecord> records = parse_csv(content, name);
  if (records.empty()) throw SpamError(name + ": empty file (expected a header line and data rows)");
  const CsvRecord& header = records.front();
  auto column = [&](const std::string& wanted) -> size_t {
    for (size_t i = 0; i < header.fields.size(); ++i)
      if (lower_trim(header.fields[i]) == lower_trim(wanted)) return i;
    std::string have;
    for (const auto& f : header.fields) have += (have.empty() ? "'" : ", '") + f + "'";
    throw SpamError(where(name, header.line) + "no column named '" + wanted + "' in the header (columns: " + have +
                    "); choose with --text-column / --label-column");
  };
  size_t text_col = column(options.text_column), label_col = column(options.label_column);
  std::vector<RawRow> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    const CsvRecord& rec = records[r];
    if (rec.fields.size() == 1 && lower_trim(rec.fields[0]).empty()) continue;  // whitespace-only line
    if (rec.fields.size() != header.fields.size()) {
      errors.reject(rec.line, "wrong field count",
                    "expected " + std::to_string(header.fields.size()) + " fields as in the header, found " +
                        std::to_string(rec.fields.size()));
      continue;
    }
    const std::string& text = rec.fields[text_col];
    const std::string& label = rec.fields[label_col];
    int64_t bad = find_invalid_utf8(text);
    if (bad < 0) bad = find_invalid_utf8(label);
    if (bad >= 0) {
      errors.reject(rec.line, "invalid UTF-8", "invalid UTF-8 in the row (byte " + std::to_string(bad + 1) + " of a field)");
      continue;
    }
    rows.push_back({rec.line, label, text});
  }
  return rows;
}

}  // namespace

int64_t Dataset::skipped_total() const {
  int64_t n = 0;
  for (const auto& [reason, count] : skipped) n += count;
  return n;
}

int64_t Dataset::positives() const { return std::count(labels.begin(), labels.end(), 1); }

Format format_from_name(const std::string& s) {
  std::string l = lower_trim(s);
  if (l == "tsv") return Format::Tsv;
  if (l == "csv") return Format::Csv;
  if (l == "auto" || l.empty()) return Format::Auto;
  throw SpamError("unknown format '" + s + "' (expected tsv or csv)");
}

int64_t find_invalid_utf8(const std::string& s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  size_t n = s.size(), i = 0;
  while (i < n) {
    unsigned char c = p[i];
    if (c < 0x80) { ++i; continue; }
    size_t len;
    uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; }
    else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; }
    else return static_cast<int64_t>(i);
    if (i + len > n) return static_cast<int64_t>(i);
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return static_cast<int64_t>(i);
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
      return static_cast<int64_t>(i);
    i += len;
  }
  return -1;
}

std::vector<CsvRecord> parse_csv(const std::string& raw, const std::string& name) {
  const std::string content = strip_bom(raw);
  std::vector<CsvRecord> records;
  CsvRecord rec;
  rec.line = 1;
  std::string field;
  int64_t line = 1;
  bool field_touched = false;   // the current field has content or was quoted
  bool record_touched = false;  // a comma or content was seen: distinguishes blank lines
  auto end_field = [&] {
    rec.fields.push_back(std::move(field));
    field.clear();
    field_touched = false;
  };
  auto end_record = [&] {
    end_field();
    if (record_touched) records.push_back(std::move(rec));
    rec = CsvRecord{};
    rec.line = line;
    record_touched = false;
  };
  size_t i = 0, n = content.size();
  while (i < n) {
    char c = content[i];
    if (c == '"' && !field_touched) {
      // Quoted field: runs to the next lone quote; "" is a literal quote; newlines are data.
      int64_t start_line = line;
      field_touched = record_touched = true;
      ++i;
      for (;;) {
        if (i >= n) throw SpamError(where(name, start_line) + "unterminated quoted field (missing closing \")");
        if (content[i] == '"') {
          if (i + 1 < n && content[i + 1] == '"') { field += '"'; i += 2; continue; }
          ++i;
          break;
        }
        if (content[i] == '\n') ++line;
        field += content[i++];
      }
      bool at_end = i >= n || content[i] == ',' || content[i] == '\n' ||
                    (content[i] == '\r' && (i + 1 >= n || content[i + 1] == '\n'));
      if (!at_end)
        throw SpamError(where(name, line) + "unexpected character after a closing quote (a quote inside a quoted "
                        "field must be doubled: \"\")");
      continue;
    }
    if (c == ',') { end_field(); record_touched = true; ++i; continue; }
    if (c == '\r' && (i + 1 >= n || content[i + 1] == '\n')) { ++i; continue; }  // CRLF
    if (c == '\n') {
      ++line;
      end_record();
      ++i;
      continue;
    }
    field += c;
    field_touched = record_touched = true;
    ++i;
  }
  if (record_touched) end_record();
  return records;
}

Dataset parse_dataset(const std::string& raw, const std::string& name, const ReadOptions& options,
                      bool require_both_classes) {
  Dataset ds;
  ds.source = name;
  RowErrors errors{name, options.skip_invalid, ds.skipped};
  Format format = options.format;
  if (format == Format::Auto) {
    std::string ext = name.size() >= 4 ? lower_trim(name.substr(name.size() - 4)) : "";
    format = ext == ".csv" ? Format::Csv : Format::Tsv;
  }
  std::vector<RawRow> rows =
      format == Format::Csv ? read_csv(raw, name, options, errors) : read_tsv(strip_bom(raw), errors);
  if (rows.empty() && ds.skipped.empty())
    throw SpamError(name + ": no data rows (empty file?)");

  // The positive label is given, or "spam", or "1"; the negative is the one other label seen.
  std::string positive = lower_trim(options.positive_label);
  if (positive.empty()) {
    positive = "spam";
    bool has_spam = false, has_one = false;
    for (const auto& r : rows) {
      std::string l = lower_trim(r.label);
      has_spam |= l == "spam";
      has_one |= l == "1";
    }
    if (!has_spam && has_one) positive = "1";
  }
  std::string negative;
  for (const auto& r : rows) {
    std::string l = lower_trim(r.label);
    if (l.empty()) {
      errors.reject(r.line, "unknown label", "empty label");
      continue;
    }
    if (l != positive) {
      if (negative.empty()) negative = l;
      else if (l != negative) {
        errors.reject(r.line, "unknown label",
                      "unknown label '" + r.label + "' (this file's labels are '" + positive + "' and '" + negative +
                          "'; set the positive one with --positive-label)");
        continue;
      }
    }
    ds.texts.push_back(r.text);
    ds.labels.push_back(l == positive ? 1 : 0);
    ds.lines.push_back(r.line);
  }
  ds.positive_label = positive;
  ds.negative_label = negative.empty() ? (positive == "1" ? "0" : "ham") : negative;
  if (ds.texts.empty())
    throw SpamError(name + ": no valid data rows (" + std::to_string(ds.skipped_total()) + " skipped as invalid)");
  if (require_both_classes) {
    int64_t pos = ds.positives();
    if (pos == 0 || pos == static_cast<int64_t>(ds.size()))
      throw SpamError(name + ": every row is labelled '" + (pos == 0 ? ds.negative_label : ds.positive_label) +
                      "'; training needs both classes (positive label: '" + positive +
                      "', change it with --positive-label)" +
                      (ds.skipped.empty() ? "" : "; " + std::to_string(ds.skipped_total()) + " invalid row(s) skipped"));
  }
  return ds;
}

Dataset read_dataset(const std::string& path, const ReadOptions& options, bool require_both_classes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw SpamError("cannot open " + path + ": " + std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) throw SpamError("cannot read " + path);
  return parse_dataset(ss.str(), path, options, require_both_classes);
}

}  // namespace ember::spam
