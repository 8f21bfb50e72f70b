#pragma once
// Shared by the spam app's end-to-end tests (test_spam_e2e.cpp, test_spam_cuda.cpp): the
// fixtures, the CLI run in-process, and a scratch directory per test process.
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "cli.h"

namespace ember::spam::e2e {

inline const std::string kSmall = EMBER_SOURCE_DIR "/tests/fixtures/spam/small.tsv";
inline const std::string kEval = EMBER_SOURCE_DIR "/tests/fixtures/spam/eval.tsv";

struct Run {
  int rc;
  std::string out, err;
};

/// Runs `ember-spam args...` in this process with input as its stdin.
inline Run cli(std::vector<std::string> args, const std::string& input = "") {
  args.insert(args.begin(), "ember-spam");
  std::ostringstream out, err;
  std::istringstream in(input);
  int rc = run_cli(args, out, err, in);
  return {rc, out.str(), err.str()};
}

/// A fresh directory under the system's temporary one, named after tag and this process.
inline std::filesystem::path temp_dir(const std::string& tag) {
  std::filesystem::path d = std::filesystem::temp_directory_path() / (tag + "_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}

}  // namespace ember::spam::e2e
