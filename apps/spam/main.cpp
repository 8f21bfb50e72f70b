// ember-spam: a spam detector for chat messages, built on ember. See docs/spam.md.
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "cli.h"

int main(int argc, char** argv) {
  // Training runs thousands of tiny ops per second; OpenMP workers that spin between them
  // take the cores the main thread needs on a small or shared machine (10x slower under
  // load). Passive waiting costs little here. A value set by the user wins.
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  std::vector<std::string> args(argv, argv + argc);
  return ember::spam::run_cli(args, std::cout, std::cerr, std::cin);
}
