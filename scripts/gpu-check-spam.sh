# shellcheck shell=bash disable=SC2154,SC2034  # variables shared with scripts/gpu-check.sh
# The spam app's part of the GPU check: sourced by scripts/gpu-check.sh after the benchmarks
# (it reads $bdir, $logs, $gpu_present, $budget and elapsed; sets spam_step_status and
# spam_train_status; writes the summary's lines to $logs/spam-summary.txt). About a minute on
# one H100; every run has a timeout, and the training runs are skipped when the budget is
# nearly spent.
#
# spam_step_status: PASS (ember's GPU step time <= PyTorch's), MISSED (slower), NOT_COMPARED
# (no PyTorch with CUDA here), NO_GPU, FAIL (the benchmark failed, or the two models' parameter
# counts differ: not the same model).
# spam_train_status: PASS (GPU MCC within the tolerance below of the CPU's, for every run),
# FAIL, NO_GPU, NO_DATA (the data set was not found), NOT_RUN (no time left).
spam_summary=$logs/spam-summary.txt
: >"$spam_summary"

# ---- the transformer's training step: ember (CPU and GPU) and PyTorch (GPU) ----------------------
timeout 120 "$bdir"/bin/bench_spam --benchmark_filter='BM_SpamTransformerStep' --benchmark_min_time=1 \
  --benchmark_out="$logs/spam-step.json" --benchmark_out_format=json >"$logs/spam-step.log" 2>&1
step_rc=$?
# "BM_SpamTransformerStep/cuda/real_time   1.23 ms   1.20 ms   812 ids=... params=..."
step_ms() { awk -v n="BM_SpamTransformerStep/$1/real_time" '$1 == n && $3 == "ms" {print $2}' "$logs/spam-step.log"; }
ember_cpu_ms=$(step_ms cpu)
ember_gpu_ms=$(step_ms cuda)
ember_params=$(grep -oE '"params": *[0-9.e+]+' "$logs/spam-step.json" 2>/dev/null | head -1 | sed 's/.*: *//' |
               awk '{printf "%d", $1}')
torch_ms=""
torch_params=""
torch_note="not run"
if python3 -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
  timeout 120 python3 scripts/torch_spam_transformer_step.py --device cuda --steps 300 >"$logs/torch-step.log" 2>&1
  torch_line=$(grep '^TORCH_STEP' "$logs/torch-step.log" | tail -1)
  torch_ms=$(sed -n 's/.*ms_per_step=\([0-9.]*\).*/\1/p' <<<"$torch_line")
  torch_params=$(sed -n 's/.* params=\([0-9]*\).*/\1/p' <<<"$torch_line")
  torch_note=${torch_line:-"failed: $(tail -1 "$logs/torch-step.log")"}
elif python3 -c 'import torch' >/dev/null 2>&1; then
  torch_note="PyTorch is installed but sees no CUDA device"
else
  torch_note="no PyTorch (python3 -c 'import torch' failed)"
fi
if [ $step_rc -ne 0 ] || [ -z "$ember_cpu_ms" ]; then
  spam_step_status=FAIL
  echo "gpu-check: bench_spam (transformer step) exited with $step_rc; the end of its log:"
  tail -20 "$logs/spam-step.log"
elif [ "$gpu_present" = 0 ] || grep -q "no CUDA device" "$logs/spam-step.log"; then
  spam_step_status=NO_GPU
elif [ -z "$ember_gpu_ms" ]; then
  spam_step_status=FAIL
elif [ -z "$torch_ms" ]; then
  spam_step_status=NOT_COMPARED
elif [ "$ember_params" != "$torch_params" ]; then
  spam_step_status=FAIL
  echo "gpu-check: the transformer's parameter counts differ (ember $ember_params, PyTorch $torch_params)"
elif awk -v e="$ember_gpu_ms" -v t="$torch_ms" 'BEGIN { exit !(e <= t) }'; then
  spam_step_status=PASS
else
  spam_step_status=MISSED
fi
ratio=$(awk -v e="$ember_gpu_ms" -v t="$torch_ms" 'BEGIN { if (e != "" && t > 0) printf "%.2f", e / t; else print "-" }')
{
  echo "transformer step, ms: ember cuda ${ember_gpu_ms:--} | PyTorch cuda ${torch_ms:--} | ember cpu ${ember_cpu_ms:--} (1 thread)"
  echo "  ember/PyTorch on the GPU: $ratio (target <= 1); parameters: ember ${ember_params:--}, PyTorch ${torch_params:--}"
  echo "  PyTorch: $torch_note"
} >>"$spam_summary"

# ---- ember-spam train on the data set, --device cuda beside --device cpu -------------------------
spam_data=""
for c in "${SPAM_DATA:-}" ../shared/data/sms-spam-collection .gpu-deps/sms-spam-collection shared/data/sms-spam-collection \
         data/sms-spam-collection data/SMSSpamCollection; do
  [ -n "$c" ] || continue
  if [ -f "$c" ]; then spam_data=$c; break; fi
  if [ -f "$c/SMSSpamCollection" ]; then spam_data=$c/SMSSpamCollection; break; fi
done
json_number() { grep -oE "\"$2\": *-?[0-9.e+-]+" "$1" 2>/dev/null | head -1 | sed 's/.*: *//'; }  # file key
if [ -z "$spam_data" ]; then
  spam_train_status=NO_DATA
  echo "train: no data set (SPAM_DATA, ../shared/data/sms-spam-collection, .gpu-deps/ from scripts/gpu-deps.sh, or data/ in the repo)" >>"$spam_summary"
elif [ "$gpu_present" = 0 ]; then
  spam_train_status=NO_GPU
  echo "train: not run (no GPU); data $spam_data" >>"$spam_summary"
elif [ $((budget - $(elapsed))) -lt 150 ]; then
  spam_train_status=NOT_RUN
  echo "train: not run (less than 150 s of the budget left)" >>"$spam_summary"
else
  spam_train_status=PASS
  # The bag with its defaults (5 cross-fitted folds, sparse SGD, merge, calibration) and a short
  # transformer (2 epochs); the tolerance is on the test MCC, GPU against CPU (seed 0 both).
  for run in "bag 0.02" "transformer 0.05"; do
    read -r arch tol <<<"$run"
    extra=()
    [ "$arch" = transformer ] && extra=(--epochs 2)
    line="train $arch:"
    declare -A mcc=()
    for dev in cuda cpu; do
      timeout 90 "$bdir"/bin/ember-spam train --data "$spam_data" --arch "$arch" --device "$dev" --seed 0 \
        "${extra[@]}" --out "$logs/spam-$arch-$dev.safetensors" --metrics-out "$logs/spam-$arch-$dev.json" \
        >"$logs/spam-train-$arch-$dev.log" 2>&1
      rc=$?
      mcc[$dev]=$(json_number "$logs/spam-$arch-$dev.json" mcc)
      secs=$(json_number "$logs/spam-$arch-$dev.json" train_seconds)
      if [ $rc -ne 0 ] || [ -z "${mcc[$dev]}" ]; then
        spam_train_status=FAIL
        echo "gpu-check: ember-spam train --arch $arch --device $dev exited with $rc; the end of its log:"
        tail -5 "$logs/spam-train-$arch-$dev.log"
      fi
      line="$line $dev MCC $(awk -v m="${mcc[$dev]}" 'BEGIN { if (m == "") print "-"; else printf "%.4f", m }')"
      line="$line (train ${secs:0:5} s);"
    done
    if [ -n "${mcc[cuda]}" ] && [ -n "${mcc[cpu]}" ] &&
       ! awk -v g="${mcc[cuda]}" -v c="${mcc[cpu]}" -v t="$tol" 'BEGIN { exit !(g >= c - t) }'; then
      spam_train_status=FAIL
      line="$line GPU below the CPU by more than $tol"
    fi
    echo "$line" >>"$spam_summary"
    unset mcc
  done
  echo "  data: $spam_data" >>"$spam_summary"
fi
