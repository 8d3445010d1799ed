#!/usr/bin/env python3
"""Independent numpy computation of the oracle level of `ttu simulate` (docs/method.md §5),
from the files `ttu simulate --save-predictions` writes: the largest level of the grid whose
true miscoverage on the test prompts, mean_i 1 - (1 - p_i)^(Q(tau_j; p_hat_i) - 1), is <= alpha,
with no bound cap, and the mean of Q(tau_j; p_hat) over the test prompts at that level.

usage: oracle_reference.py PREDICTIONS_TEST.csv TRUE_RATES_TEST.csv [ALPHA=0.1]
       [MINLOG10=-3 MAXLOG10=-0.75 COUNT=300]
prints: tau_index (0-based, -1 if none), tau, coverage, next level's coverage, mean LPB
"""
import csv, sys
import numpy as np

pred_csv, rates_csv = sys.argv[1], sys.argv[2]
alpha = float(sys.argv[3]) if len(sys.argv) > 3 else 0.1
lo, hi, count = (float(sys.argv[4]), float(sys.argv[5]), int(sys.argv[6])) if len(sys.argv) > 6 else (-3.0, -0.75, 300)

def read(path, col):
    with open(path, newline="") as f:
        return {r["id"]: float(r[col]) for r in csv.DictReader(f)}

p_hat_by_id, p_by_id = read(pred_csv, "p_hat"), read(rates_csv, "p")
assert p_hat_by_id.keys() == p_by_id.keys(), "the two files name different prompts"
ids = sorted(p_hat_by_id)
p_hat = np.array([p_hat_by_id[i] for i in ids])
p = np.array([p_by_id[i] for i in ids])

taus = np.logspace(lo, hi, count)
with np.errstate(divide="ignore", invalid="ignore"):
    q = np.ceil(np.log1p(-taus)[None, :] / np.log1p(-p_hat)[:, None])     # n x m
q = np.where(p_hat[:, None] == 0, np.inf, np.maximum(q, 1))
# P(T < q) = 1 - (1 - p)^(q - 1)
miss = -np.expm1((q - 1) * np.log1p(-p)[:, None])
alpha_j = miss.mean(axis=0)
ok = np.nonzero(alpha_j <= alpha)[0]
j = int(ok.max()) if len(ok) else -1
mean_lpb = float(q[:, j].mean()) if j >= 0 else 1.0
nxt = 1 - alpha_j[j + 1] if j + 1 < count else float("nan")
print(f"tau_index {j}  tau {taus[j] if j >= 0 else float('nan'):.6g}  coverage {1 - (alpha_j[j] if j >= 0 else 0):.6f}  "
      f"next level coverage {nxt:.6f}  mean LPB {mean_lpb:.6f}")
