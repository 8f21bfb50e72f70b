#!/usr/bin/env bash
# The test command: installs what is missing, builds in Release with -Werror, runs every test
# (unit tests through ctest, then the consumer-project check).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh -DEMBER_WERROR=ON
(cd build && ctest --output-on-failure -j"$(nproc)")
bash scripts/check-consumer.sh
