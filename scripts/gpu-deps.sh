#!/usr/bin/env bash
# Prepares, on a machine WITH a network, what scripts/gpu-check.sh needs on a GPU machine that
# has none: the build's Debian packages unpacked into one archive, and a copy of the SMS Spam
# Collection. Everything goes into .gpu-deps/ (git-ignored; never committed):
#   .gpu-deps/deps.tar.gz                    usr/ of Eigen, OpenBLAS (openmp), doctest, Google
#                                            Benchmark, nlohmann-json, CLI11, libgfortran
#   .gpu-deps/sms-spam-collection/           the data set, when found (for `ember-spam --device cuda`)
# Ship that folder with the working tree (the device tool: carry [".gpu-deps"]; about 15 MB,
# gzip rather than xz because every image can unpack it); gpu-check.sh uses it when present.
#
# Why a bundle: the GPU machines run an image with nvcc, CMake and a host compiler but none of
# the C++ libraries above, and nothing can be downloaded there, so install-deps.sh cannot help.
# The packages are Debian 12's; their shared libraries need glibc >= 2.34 and the libstdc++ of
# gcc >= 12 (GLIBCXX_3.4.30; read off with objdump -T), e.g. Ubuntu 22.04 or newer.
# Usage: bash scripts/gpu-deps.sh [path/to/SMSSpamCollection-folder]
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu-deps
packages=(libeigen3-dev nlohmann-json3-dev doctest-dev libcli11-dev libbenchmark-dev libbenchmark1debian
          libopenblas-openmp-dev libopenblas0-openmp libgfortran5)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out" "$work/debs" "$work/root"
(cd "$work/debs" && apt-get download "${packages[@]}")
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
# Only shared libraries, headers and CMake/pkg-config files are needed: static archives,
# LAPACK and the reference-BLAS shim are not linked by ember. libbenchmark_main.a stays:
# benchmark's CMake package refuses to load when a file it names is missing.
find "$work/root" \( -name '*.a' -not -name 'libbenchmark_main.a' -o -name 'liblapack*' -o -name 'libblas*' \) -delete
rm -rf "$work/root/usr/share/doc" "$work/root/usr/share/man" "$work/root/usr/share/lintian"
tar -C "$work/root" -czf "$out/deps.tar.gz.part" usr
mv "$out/deps.tar.gz.part" "$out/deps.tar.gz"  # never leave a half-written archive behind
echo "gpu-deps: $out/deps.tar.gz ($(du -h "$out/deps.tar.gz" | cut -f1))"

data=${1:-../shared/data/sms-spam-collection}
if [ -f "$data/SMSSpamCollection" ]; then
  mkdir -p "$out/sms-spam-collection"
  cp "$data/SMSSpamCollection" "$out/sms-spam-collection/"
  echo "gpu-deps: data set copied from $data"
else
  echo "gpu-deps: no data set at $data; gpu-check will skip the spam app's GPU run"
fi
echo "gpu-deps: carry \".gpu-deps\" to the GPU machine, then run: bash scripts/gpu-check.sh"
