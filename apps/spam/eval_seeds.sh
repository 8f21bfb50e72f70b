#!/usr/bin/env bash
# Reproduces docs/spam.md's quality figures: trains on the stratified, duplicate-aware 80/20
# split for seeds 0-4 and prints each seed's test metrics and their mean.
#   apps/spam/eval_seeds.sh [ember-spam binary] [arch] [threads] [extra train options...]
set -euo pipefail
bin="${1:-build/bin/ember-spam}"; arch="${2:-bag}"; threads="${3:-2}"; shift $(( $# < 3 ? $# : 3 ))
tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
for seed in 0 1 2 3 4; do
  "$bin" train --arch "$arch" --seed "$seed" --threads "$threads" --out "" --metrics-out "$tmp/$seed.json" "$@" >/dev/null
done
python3 - "$tmp" "$arch" <<'PY'
import json, sys, statistics as st
runs = [json.load(open(f"{sys.argv[1]}/{s}.json")) for s in range(5)]
for s, r in enumerate(runs):
    print(f"seed {s}: MCC {r['mcc']:.4f}  accuracy {100*r['accuracy']:.2f} %  ham blocked {100*r['false_positive_rate']:.2f} %"
          f"  spam caught {100*r['recall']:.1f} %  AUC {r['roc_auc']:.4f}  train {r['train_seconds']:.2f} s")
m = lambda k: st.mean(r[k] for r in runs)
print(f"{sys.argv[2]} mean: MCC {m('mcc'):.4f}  accuracy {100*m('accuracy'):.2f} %  ham blocked {100*m('false_positive_rate'):.3f} %"
      f"  spam caught {100*m('recall'):.1f} %  AUC {m('roc_auc'):.4f}  train {m('train_seconds'):.2f} s")
PY
