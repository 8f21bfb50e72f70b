#pragma once
// The ember-spam command line (train, evaluate, predict, demo) as a function, so tests can run
// it in-process with their own streams.
#include <iosfwd>
#include <string>
#include <vector>

namespace ember::spam {

/// Runs one command; returns the process exit code (0 ok, 1 error, 2 usage). Never throws.
int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err, std::istream& in);

/// The data file to use when --data is not given: $EMBER_SPAM_DATA, data/SMSSpamCollection,
/// ../shared/data/sms-spam-collection/SMSSpamCollection, relative to the current directory,
/// then to the source tree this binary was built from. Throws SpamError saying how to get it.
std::string find_default_data();

}  // namespace ember::spam
