#!/usr/bin/env bash
# Installs what ember needs from Debian's packages, only what is missing.
# Runs as root (or through sudo when available). `apt-get update` runs once, only if needed.
set -euo pipefail
packages=(cmake g++ make pkg-config libeigen3-dev libopenblas-openmp-dev doctest-dev libbenchmark-dev
          nlohmann-json3-dev libcli11-dev ccache)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
