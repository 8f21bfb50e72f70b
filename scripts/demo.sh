#!/usr/bin/env bash
# The main job: installs what is missing, builds in Release and runs the spam detector demo
# (train on the SMS Spam Collection, evaluate, write the model and the report).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
if [ -x build/bin/ember-spam ]; then
  exec build/bin/ember-spam demo "$@"
fi
echo "ember-spam is not built yet; running the examples instead"
for example in build/bin/example_*; do echo "== $example"; "$example"; done
