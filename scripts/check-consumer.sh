#!/usr/bin/env bash
# Builds a tiny consumer project against ember both ways a user would: add_subdirectory,
# and find_package after `cmake --install`. Runs each and checks its output.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi

echo "consumer: add_subdirectory"
cmake -S "$root/tests/consumer" -B "$work/sub" -DEMBER_SOURCE="$root" -DEMBER_MODE=subdirectory -DEMBER_WERROR=ON "${launcher[@]}" >/dev/null
cmake --build "$work/sub" -j"$(nproc)" >/dev/null
out="$("$work/sub/consumer")"
[ "$out" = "consumer ok 6" ] || { echo "consumer (add_subdirectory) printed: $out"; exit 1; }

echo "consumer: find_package after install"
cmake --install "$root/build" --prefix "$work/prefix" >/dev/null
cmake -S "$root/tests/consumer" -B "$work/pkg" -DEMBER_MODE=package -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >/dev/null
cmake --build "$work/pkg" -j"$(nproc)" >/dev/null
out="$("$work/pkg/consumer")"
[ "$out" = "consumer ok 6" ] || { echo "consumer (find_package) printed: $out"; exit 1; }
echo "consumer: 2 passed, 0 failed"
