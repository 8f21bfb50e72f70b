// ember-spam: the TSV/CSV reader on the edge cases users' exports contain.
#include <doctest/doctest.h>

#include <string>

#include "dataset.h"

using namespace ember::spam;

namespace {
std::string error_of(const std::string& content, const std::string& name, ReadOptions o = {}, bool both = true) {
  try {
    parse_dataset(content, name, o, both);
  } catch (const SpamError& e) {
    return e.what();
  }
  return "";
}
ReadOptions csv() {
  ReadOptions o;
  o.format = Format::Csv;
  return o;
}
}  // namespace

TEST_CASE("spam reader: TSV as the SMS Spam Collection, with BOM, CRLF and blank lines") {
  std::string tsv = "\xEF\xBB\xBFham\tHello there\r\n\r\nspam\tWIN a prize\twith a tab\r\n   \nham\tbye";
  Dataset d = parse_dataset(tsv, "x.tsv", {});
  REQUIRE(d.size() == 3);
  CHECK(d.texts[0] == "Hello there");
  CHECK(d.texts[1] == "WIN a prize\twith a tab");
  CHECK(d.labels == std::vector<int>{0, 1, 0});
  CHECK(d.lines == std::vector<int64_t>{1, 3, 5});
  CHECK(d.positive_label == "spam");
  CHECK(d.negative_label == "ham");
}

TEST_CASE("spam reader: CSV quoting per RFC 4180") {
  std::string text = "id,text,label\n1,\"a, b\",spam\n2,\"say \"\"hi\"\"\",ham\n3,\"two\nlines\",ham\n4,plain,1\n";
  std::vector<CsvRecord> recs = parse_csv(text, "t.csv");
  REQUIRE(recs.size() == 5);
  CHECK(recs[1].fields[1] == "a, b");
  CHECK(recs[2].fields[1] == "say \"hi\"");
  CHECK(recs[3].fields[1] == "two\nlines");
  CHECK(recs[3].line == 4);
  CHECK(recs[4].line == 6);  // the quoted newline moved the line count on
  CHECK(parse_csv("a,,\"\"\n", "t").at(0).fields == std::vector<std::string>{"a", "", ""});
  CHECK(parse_csv("x\r\n\"y\"\r\n", "t").at(1).fields == std::vector<std::string>{"y"});
}

TEST_CASE("spam reader: CSV columns by name, positive label, edge file") {
  Dataset d = read_dataset(EMBER_SOURCE_DIR "/tests/fixtures/spam/edge.csv", {});
  REQUIRE(d.size() == 3);
  CHECK(d.texts[0] == "Hello, world");
  CHECK(d.texts[1] == "She said \"hi\"");
  CHECK(d.texts[2] == "line one\r\nline two");
  CHECK(d.labels == std::vector<int>{0, 1, 0});

  ReadOptions o = csv();
  o.text_column = "message";
  o.label_column = "is_spam";
  Dataset s = read_dataset(EMBER_SOURCE_DIR "/tests/fixtures/spam/small.csv", o);
  CHECK(s.size() == 46);
  CHECK(s.positive_label == "1");
  CHECK(s.positives() == 16);

  o.positive_label.assign(1, '0');  // an explicit positive label flips the classes
  CHECK(read_dataset(EMBER_SOURCE_DIR "/tests/fixtures/spam/small.csv", o).positives() == 30);
}

TEST_CASE("spam reader: errors name the file and the line") {
  CHECK(error_of("", "e.tsv").find("e.tsv: no data rows") != std::string::npos);
  CHECK(error_of("\n\n", "e.tsv").find("e.tsv") != std::string::npos);
  CHECK(error_of("", "e.csv", csv()).find("e.csv: empty file") != std::string::npos);
  CHECK(error_of("ham\tok\nno tab here\n", "f.tsv").find("f.tsv:2: expected 'label<TAB>text'") != std::string::npos);
  CHECK(error_of("ham\tok\nspam\tbad \xFF\n", "u.tsv").find("u.tsv:2: invalid UTF-8") != std::string::npos);
  CHECK(error_of("ham\tok\nspam\tx\neggs\ty\n", "l.tsv").find("l.tsv:3: unknown label 'eggs'") != std::string::npos);
  CHECK(error_of("ham\tok\nham\tfine\n", "o.tsv").find("o.tsv: every row is labelled 'ham'") != std::string::npos);
  CHECK(error_of("ham\tok\nham\tfine\n", "o.tsv", {}, false).empty());  // evaluation may see one class
  CHECK(error_of("text,label\na,spam\nb,ham,extra\n", "w.csv", csv()).find("w.csv:3: expected 2 fields") !=
        std::string::npos);
  CHECK(error_of("msg,label\na,spam\n", "m.csv", csv()).find("m.csv:1: no column named 'text'") != std::string::npos);
  CHECK(error_of("text,label\n\"open,spam\nb,ham\n", "q.csv", csv()).find("q.csv:2: unterminated quoted field") !=
        std::string::npos);
  CHECK(error_of("text,label\n\"a\"x,spam\n", "j.csv", csv()).find("j.csv:2: unexpected character after a closing quote") !=
        std::string::npos);
  CHECK_THROWS_AS(read_dataset("/nonexistent/file.tsv", {}), SpamError);
}

TEST_CASE("spam reader: --skip-invalid drops bad rows and counts them by reason") {
  ReadOptions o;
  o.skip_invalid = true;
  Dataset d = parse_dataset("ham\tok\nspam\tbad \xC0\xAF\nnotab\nspam\tgood\nxyz\tq\nham\tfine\n", "s.tsv", o);
  CHECK(d.size() == 3);
  CHECK(d.skipped_total() == 3);
  CHECK(d.skipped.at("invalid UTF-8") == 1);
  CHECK(d.skipped.at("wrong field count") == 1);
  CHECK(d.skipped.at("unknown label") == 1);
  Dataset f = read_dataset(EMBER_SOURCE_DIR "/tests/fixtures/spam/bad_utf8.tsv", o, false);
  CHECK(f.size() == 2);
}

TEST_CASE("spam reader: UTF-8 validation") {
  CHECK(find_invalid_utf8("plain ascii") == -1);
  CHECK(find_invalid_utf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80") == -1);
  CHECK(find_invalid_utf8("ab\x80") == 2);           // stray continuation byte
  CHECK(find_invalid_utf8("\xC0\xAF") == 0);         // overlong
  CHECK(find_invalid_utf8("\xED\xA0\x80") == 0);     // surrogate
  CHECK(find_invalid_utf8("x\xE2\x82") == 1);        // truncated
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0); // past U+10FFFF
}
