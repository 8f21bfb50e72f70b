// ember-spam: a spam detector for chat messages, built on ember. See docs/spam.md.
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  return ember::spam::run_cli(args, std::cout, std::cerr, std::cin);
}
