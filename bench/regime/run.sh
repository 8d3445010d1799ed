#!/usr/bin/env bash
# The user's-regime study (docs/method.md §6, "At the sizes users have"): ttu's defaults —
# optimized, W and the grid chosen from p̂ (auto), corrected marginal rule — against the
# paper's plain marginal rule and PAC, on the paper's population with a noisy-oracle
# predictor p̂ = p·e^{σZ} (all SIMULATED), at n ∈ {300, 1000, 3000, 10000} calibration
# prompts drawn anew per repetition, B ∈ {10, 30, 100}, σ ∈ {0.3, 1.0}, 200 repetitions.
# Writes bench/regime/results/{study.csv,study.md,study.svg}. About 5–10 minutes on 2 cores.
#   bench/regime/run.sh [--reps N] [--ttu PATH]
set -euo pipefail
cd "$(dirname "$0")/../.."
reps=200; ttu=.build/release/ttu
while [ $# -gt 0 ]; do
  case "$1" in --reps) reps=$2; shift 2;; --ttu) ttu=$2; shift 2;; *) echo "unknown option $1" >&2; exit 64;; esac
done
[ -x "$ttu" ] || swift build -c release --product ttu
out=bench/regime/results; work=$(mktemp -d); mkdir -p "$out"
start=$(date +%s)
for sigma in 0.3 1.0; do
  for n in 300 1000 3000 10000; do
    for g in corrected marginal pac; do
      dir="$work/s${sigma}_n${n}_${g}"
      "$ttu" simulate --predictor oracle --sigma "$sigma" --calibration-size "$n" --budgets 10,30,100 \
        --strategies optimized --max-weight auto --tau-grid auto --guarantee "$g" --delta 0.1 \
        --reps "$reps" --seed 1 --out "$dir" > "$dir.txt" 2>/dev/null
      echo "σ = $sigma, n = $n, $g: done ($(( $(date +%s) - start )) s)"
    done
  done
done
python3 bench/regime/summarize.py "$work" "$out"
echo "regime study: $(( $(date +%s) - start )) s; wrote $out/study.csv, $out/study.md, $out/study.svg"
