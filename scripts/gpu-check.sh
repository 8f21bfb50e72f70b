#!/usr/bin/env bash
# The GPU check of issue 6: on a machine with an NVIDIA GPU (H100/H200), configure and build
# ember with CUDA (Release, build-gpu/, architecture 90), run the CUDA tests, the GPU
# benchmarks, the spam app on the GPU (its transformer's training step against PyTorch's, and
# a training run on the SMS Spam Collection beside a CPU run when the data is found) and,
# when time is left, the rest of the test suite, then print one summary.
# Meant to finish within 8 minutes on one H100 with 16 cores, build included.
#
# Exit status: 0 all tests passed and every benchmark met its target; 1 a step failed (build,
# a test, a benchmark's own result check, a GPU test that skipped although a GPU is present,
# or the spam app on the GPU); 2 the tests passed but a benchmark missed its target or could
# not be compared (no PyTorch with CUDA for the spam transformer's baseline).
# Full logs: build-gpu/gpu-check/*.log. Usage: first, where there is a network,
# `bash scripts/gpu-deps.sh` (packs the libraries and the data set into .gpu-deps/); then on
# the GPU machine, with .gpu-deps carried along, `bash scripts/gpu-check.sh`.
# (GPU_CHECK_BUILD_DIR and GPU_CHECK_JOBS override the build dir and the job count, for trying
# the script on a small machine.)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
start=$(date +%s)
budget=${GPU_CHECK_BUDGET_S:-470}  # seconds for everything; the rest of the tests get what is left
elapsed() { echo $(($(date +%s) - start)); }
bdir=${GPU_CHECK_BUILD_DIR:-build-gpu}
jobs=${GPU_CHECK_JOBS:-$(nproc)}
logs=$bdir/gpu-check
mkdir -p "$logs"

# ---- tools -------------------------------------------------------------------------------------
# The lent GPU machines have nvcc, CMake and a host compiler but none of the C++ libraries,
# and no network. scripts/gpu-deps.sh, run beforehand where there is a network, packs them
# into .gpu-deps/deps.tar.gz (carried along with the tree); when it is there it is used (its
# CMake prefix comes before the system's). Otherwise install what is missing if apt can (60 s: apt without a network can hang),
# else go on with what is there (the build step says what is lacking).
deps_args=()
if [ -f .gpu-deps/deps.tar.gz ]; then
  deps=$(cd "$bdir" && pwd)/deps  # absolute: CMake and the loader get it
  rm -rf "$deps" && mkdir -p "$deps" && tar -C "$deps" -xzf .gpu-deps/deps.tar.gz
  blas=$deps/usr/lib/x86_64-linux-gnu/openblas-openmp
  deps_args=(-DCMAKE_PREFIX_PATH="$deps/usr" -DEMBER_OPENBLAS_LIBRARY="$blas/libopenblas.so"
             -DEMBER_CBLAS_INCLUDE_DIR="$deps/usr/include/x86_64-linux-gnu/openblas-openmp")
  export LD_LIBRARY_PATH=$blas:$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  echo "gpu-check: using the packages bundled in .gpu-deps/deps.tar.gz"
elif ! timeout 60 bash scripts/install-deps.sh >"$logs/install-deps.log" 2>&1; then
  echo "gpu-check: install-deps failed (no network?) and no .gpu-deps/deps.tar.gz (scripts/gpu-deps.sh);" \
       "continuing with the installed packages"
  tail -3 "$logs/install-deps.log"
fi
if ! command -v nvcc >/dev/null && [ -x /usr/local/cuda/bin/nvcc ]; then export PATH=/usr/local/cuda/bin:$PATH; fi
gpu_present=0
if command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then gpu_present=1
elif [ -e /dev/nvidia0 ]; then gpu_present=1; fi
gpu_name=$( (nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null || echo "unknown GPU") | head -1)

# ---- build -------------------------------------------------------------------------------------
build_status=FAIL
bench_build=ok
build_s=0
if ! command -v cmake >/dev/null; then
  echo "gpu-check: cmake is missing and could not be installed" | tee "$logs/build.log"
elif ! command -v nvcc >/dev/null; then
  echo "gpu-check: nvcc not found (neither on PATH nor in /usr/local/cuda/bin)" | tee "$logs/build.log"
else
  launcher=()
  if command -v ccache >/dev/null; then
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  fi
  # Only the targets the check runs. The apps are on: the tests then include the spam app's
  # (its GPU cases among the CUDA tests), and the spam benchmark and executable are built.
  b0=$(date +%s)
  if cmake -S . -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DEMBER_CUDA=ON -DEMBER_CUDA_ARCHITECTURES=90 \
       -DCMAKE_CUDA_ARCHITECTURES=90 -DEMBER_BUILD_TESTS=ON -DEMBER_BUILD_BENCH=ON -DEMBER_BUILD_APPS=ON \
       "${launcher[@]}" "${deps_args[@]}" >"$logs/build.log" 2>&1 &&
     cmake --build "$bdir" -j"$jobs" --target ember_tests ember-spam >>"$logs/build.log" 2>&1; then
    build_status=ok
    # Apart: the benchmarks link Google Benchmark's shared library, which the tests do not need
    # (and which, from the .gpu-deps bundle, needs gcc 12's libstdc++): if they fail to build,
    # the tests still run.
    if ! cmake --build "$bdir" -j"$jobs" --target bench_cuda bench_spam >>"$logs/build.log" 2>&1; then
      bench_build=FAIL
      echo "gpu-check: the benchmarks did not build (the tests still run); the end of $logs/build.log:"
      tail -20 "$logs/build.log"
    fi
  else
    echo "gpu-check: build failed; the end of $logs/build.log:"
    tail -40 "$logs/build.log"
  fi
  build_s=$(($(date +%s) - b0))
fi

# Counts from doctest's last line: "[doctest] test cases: N | P passed | F failed | S skipped".
doctest_count() {  # $1 log, $2 word (passed|failed)
  grep -E '^\[doctest\] test cases:' "$1" | tail -1 | grep -oE "[0-9]+ $2" | grep -oE '[0-9]+' || echo "?"
}

# ---- CUDA tests --------------------------------------------------------------------------------
# One process per test file: an illegal address or a launch failure leaves a sticky error in
# the CUDA context, and every later case of that process would fail with it. Apart, a fault
# stays in its file and the others still report. A file that fails is run again under
# compute-sanitizer's memcheck (when installed and time allows), which names the kernel and
# the address of the first bad access (sanitizer-<file>.log).
cuda_status=NOT_RUN
cuda_detail=""
cuda_files=""
if [ "$build_status" = ok ]; then
  passed=0 failed=0 skipped=0 timed_out="" failed_files=""
  t0=$(date +%s)
  for src in tests/test_cuda*.cpp tests/test_spam_cuda.cpp; do
    name=$(basename "$src" .cpp)
    log=$logs/cuda-$name.log
    timeout 150 "$bdir"/bin/ember_tests -sf="*/$name.cpp" -tc="cuda*" >"$log" 2>&1
    rc=$?
    p=$(doctest_count "$log" passed) f=$(doctest_count "$log" failed)
    [ "$p" = "?" ] && p=0
    [ "$f" = "?" ] && f=1  # no summary line: the process died (a crash or the timeout)
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + $(grep -c "skipped:" "$log")))
    if [ $rc -ne 0 ]; then
      failed_files="$failed_files $name"
      [ $rc -eq 124 ] && timed_out="$timed_out $name"
    fi
    cuda_files="$cuda_files $name:$([ $rc -eq 0 ] && echo ok || echo "FAIL($rc)")"
  done
  cat "$logs"/cuda-test_*.log >"$logs/cuda-tests.log"
  cuda_detail="$passed passed, $failed failed, $skipped skipped, $(($(date +%s) - t0)) s"
  [ -n "$timed_out" ] && cuda_detail="$cuda_detail; timed out:$timed_out"
  if [ -n "$failed_files" ]; then
    cuda_status=FAIL
  elif [ "$gpu_present" = 1 ] && [ "$skipped" -gt 0 ]; then
    cuda_status=FAIL
    cuda_detail="$cuda_detail: a GPU is present, so a skipped GPU test counts as not run"
  elif [ "$gpu_present" = 0 ]; then
    cuda_status=NO_GPU
  else
    cuda_status=PASS
  fi
  if [ "$cuda_status" = FAIL ]; then
    echo "gpu-check: CUDA tests failed in:$failed_files; the failures (with their captured sizes):"
    grep -h -E "skipped:" "$logs"/cuda-test_*.log | head -20
    for name in $failed_files; do
      echo "--- $name"
      grep -E -A8 "ERROR:|FATAL" "$logs/cuda-$name.log" | head -40
      tail -3 "$logs/cuda-$name.log"
    done
    sanitizer=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null || true)
    if [ -n "$sanitizer" ] && [ "$gpu_present" = 1 ]; then
      for name in $failed_files; do
        [ $((budget - $(elapsed))) -lt 200 ] && break  # leave the benchmarks their time
        timeout 60 "$sanitizer" --tool memcheck --print-limit 10 "$bdir"/bin/ember_tests -sf="*/$name.cpp" \
          -tc="cuda*" >"$logs/sanitizer-$name.log" 2>&1
        echo "--- compute-sanitizer memcheck, $name (60 s at most; $logs/sanitizer-$name.log):"
        grep -E -A6 "^========= (Invalid|Program hit|Error)" "$logs/sanitizer-$name.log" | head -30
        grep -E "^========= ERROR SUMMARY" "$logs/sanitizer-$name.log" | tail -1
      done
    fi
  fi
fi

# ---- benchmarks --------------------------------------------------------------------------------
bench_status=NOT_RUN
if [ "$bench_build" != ok ]; then
  bench_status=FAIL
elif [ "$build_status" = ok ]; then
  timeout 200 "$bdir"/bin/bench_cuda >"$logs/bench.log" 2>&1
  rc=$?
  if [ $rc -ne 0 ]; then
    bench_status=FAIL
    echo "gpu-check: bench_cuda exited with $rc; the end of its log:"
    tail -30 "$logs/bench.log"
  elif grep -q "no CUDA device" "$logs/bench.log"; then
    bench_status=NO_GPU
  elif grep -q "RATIO .* FAIL\|RATIO .* NOT_RUN" "$logs/bench.log"; then
    bench_status=MISSED
  else
    bench_status=PASS
  fi
fi

# ---- the spam app on the GPU -------------------------------------------------------------------
# (scripts/gpu-check-spam.sh: the transformer's training step against PyTorch's, and a short
# training run on the data set on both devices; it sets spam_step_status and spam_train_status
# and writes the lines of the summary to $logs/spam-summary.txt)
spam_step_status=NOT_RUN
spam_train_status=NOT_RUN
if [ "$build_status" = ok ]; then
  # shellcheck source=scripts/gpu-check-spam.sh
  source scripts/gpu-check-spam.sh
fi

# ---- the rest of the tests, in the time left ---------------------------------------------------
other_status=NOT_RUN
other_detail="no time left"
left=$((budget - $(elapsed)))
if [ "$build_status" = ok ] && [ $left -gt 30 ]; then
  timeout "$left" "$bdir"/bin/ember_tests -tce="cuda*" >"$logs/other-tests.log" 2>&1
  rc=$?
  other_detail="$(doctest_count "$logs/other-tests.log" passed) passed, $(doctest_count "$logs/other-tests.log" failed) failed"
  if [ $rc -eq 124 ]; then other_status=NOT_RUN other_detail="stopped after ${left} s (time budget)"
  elif [ $rc -eq 0 ]; then other_status=PASS
  else
    other_status=FAIL
    grep -E -A4 "ERROR:|FATAL" "$logs/other-tests.log" | head -40
  fi
fi

# ---- summary -----------------------------------------------------------------------------------
echo
echo "==================== gpu-check summary ===================="
echo "machine:     $gpu_name (GPU present: $([ $gpu_present = 1 ] && echo yes || echo no)), $(nproc) cores"
# What docs/benchmarks.md records beside the figures: the system, the compilers, the driver.
os_name=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -sr)
gxx=$(g++ -dumpfullversion 2>/dev/null || echo "?")
nvcc_v=$(nvcc --version 2>/dev/null | grep -oE 'release [0-9.]+' | head -1 || true)
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1 || true)
echo "software:    ${os_name}; g++ ${gxx}; nvcc ${nvcc_v:-?}; driver ${driver:-?}; $(ldd --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+$' | sed 's/^/glibc /')"
echo "build:       $build_status (${build_s} s, $bdir/, sm_90, -j$jobs)"
echo "cuda tests:  $cuda_status ${cuda_detail:+($cuda_detail)}"
[ -n "$cuda_files" ] && echo "  per file:$cuda_files"
echo "other tests: $other_status ($other_detail)"
echo "benchmarks:  $bench_status$([ "$bench_build" != ok ] && echo " (the benchmarks did not build: see build.log)")"
if [ -f "$logs/bench.log" ]; then
  grep -E "^RATIO|VALIDATION FAILED" "$logs/bench.log" | sed 's/^RATIO /  /'
  grep -E "^BM_" "$logs/bench.log" | sed 's/^/    /'
fi
echo "spam step:   $spam_step_status (transformer training step, ember against PyTorch on the GPU)"
echo "spam train:  $spam_train_status (ember-spam train --device cuda beside --device cpu)"
[ -f "$logs/spam-summary.txt" ] && sed 's/^/  /' "$logs/spam-summary.txt"
echo "time:        $(elapsed) s"
status=0
for s in "$build_status" "$cuda_status" "$other_status" "$bench_status" "$spam_step_status" "$spam_train_status"; do
  case "$s" in FAIL|NO_GPU) status=1 ;; esac
done
[ "$build_status" != ok ] && status=1
[ "$cuda_status" = NOT_RUN ] && status=1
[ "$spam_step_status" = NOT_RUN ] && status=1
if [ $status -eq 0 ]; then
  case "$bench_status/$spam_step_status" in *MISSED*|*NOT_COMPARED*) status=2 ;; esac
fi
case $status in
  0) echo "result:      PASS" ;;
  1) echo "result:      FAIL" ;;
  2) echo "result:      tests PASS, benchmark targets missed" ;;
esac
# The device tool brings back what is under $OUT: the full logs, for a session that cannot
# afford a second run to read them.
if [ -n "${OUT:-}" ] && [ -d "$OUT" ]; then
  cp -r "$logs" "$OUT/gpu-check-logs" 2>/dev/null && echo "logs:        copied to \$OUT/gpu-check-logs"
fi
exit $status
