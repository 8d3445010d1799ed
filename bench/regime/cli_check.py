#!/usr/bin/env python3
"""The user's-regime check through the CLI, as a new user runs it (docs/method.md §6).

For each repetition: draw n calibration prompts from the paper's population (90% of p
log-uniform on [1e-3, 1e-2], 10% on [1e-5, 1e-4]), predictions p̂ = p·e^{σZ}; run
`ttu plan --budget B` (every other setting its default), sample the plan's caps from the
true p (T ~ Geometric(p), SIMULATED), run `ttu calibrate` and `ttu bound` with their
defaults, and score the bounds' exact coverage (1 − p)^(L − 1) on 20,000 test prompts.
The oracle is the largest τ (fine grid, no cap) whose true test miscoverage is ≤ α.

    python3 bench/regime/cli_check.py --ttu .build/release/ttu --n 300,1000 --budgets 10,100 --reps 40
"""
import argparse, csv, json, math, os, subprocess, sys, tempfile
import numpy as np

def population(rng, size):
    k = rng.random(size) < 0.9
    u = rng.random(size)
    return np.where(k, 10 ** (-3 + u), 10 ** (-5 + u))

def quantile(tau, p):
    with np.errstate(divide="ignore"):
        q = np.ceil(np.log1p(-tau) / np.log1p(-p))
    return np.maximum(1, q)

def write_predictions(path, ids, p_hat):
    with open(path, "w") as f:
        f.write("id,p_hat\n")
        for i, q in zip(ids, p_hat):
            f.write(f"{i},{float(q)!r}\n")

def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stderr}")
    return r.stderr

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ttu", default=".build/release/ttu")
    ap.add_argument("--n", default="300,1000")
    ap.add_argument("--budgets", default="10,100")
    ap.add_argument("--sigma", type=float, default=0.5)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--extra", default="", help="extra flags for ttu calibrate, e.g. '--guarantee pac --delta 0.1'")
    ap.add_argument("--plan-extra", default="", help="extra flags for ttu plan")
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    pt = population(rng, 20000)
    pht = np.minimum(pt * np.exp(a.sigma * rng.standard_normal(pt.size)), 0.999)
    fine = np.logspace(-3, -0.01, 3000)
    lo, hi = 0, fine.size - 1  # miscoverage grows with τ: bisect the largest admissible
    def mis(j):
        return np.mean(1 - (1 - pt) ** (quantile(fine[j], pht) - 1))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if mis(mid) <= a.alpha: lo = mid
        else: hi = mid - 1
    oracle = quantile(fine[lo], pht).mean()
    tmp = tempfile.mkdtemp(prefix="ttu-regime-")
    test_ids = [f"t{i}" for i in range(pt.size)]
    write_predictions(f"{tmp}/test.csv", test_ids, pht)
    print(f"oracle: tau {fine[lo]:.5f}, mean bound {oracle:.1f} (sigma {a.sigma}, alpha {a.alpha})")
    print(f"{'n':>6} {'B':>5} {'reps':>5} {'coverage mean ± sd':>20} {'P(cov<1-a)':>11} {'mean L':>9} {'x oracle':>9} {'W chosen (median)':>18}")
    for n in [int(x) for x in a.n.split(",")]:
        for B in [float(x) for x in a.budgets.split(",")]:
            covs, lpbs, ws = [], [], []
            for r in range(a.reps):
                p = population(rng, n)
                ph = np.minimum(p * np.exp(a.sigma * rng.standard_normal(n)), 0.999)
                ids = [f"c{i}" for i in range(n)]
                write_predictions(f"{tmp}/cal.csv", ids, ph)
                run([a.ttu, "plan", "--predictions", f"{tmp}/cal.csv", "--budget", str(B), "--seed", str(r + 1),
                     "--out", f"{tmp}/plan.csv"] + a.plan_extra.split())
                truth = dict(zip(ids, p))
                with open(f"{tmp}/plan.csv") as f, open(f"{tmp}/obs.csv", "w") as o:
                    o.write("id,cap,observed,event\n")
                    for row in csv.DictReader(f):
                        c = int(row["cap"])
                        if c == 0: continue
                        t = rng.geometric(truth[row["id"]])
                        o.write(f"{row['id']},{c},{min(t, c)},{1 if t <= c else 0}\n")
                run([a.ttu, "calibrate", "--plan", f"{tmp}/plan.csv", "--observations", f"{tmp}/obs.csv",
                     "--out", f"{tmp}/cal.json"] + a.extra.split())
                run([a.ttu, "bound", "--calibration", f"{tmp}/cal.json", "--predictions", f"{tmp}/test.csv", "--out", f"{tmp}/lpb.csv"])
                L = np.array([float(row["lpb"]) for row in csv.DictReader(open(f"{tmp}/lpb.csv"))])
                covs.append(np.mean((1 - pt) ** (L - 1))); lpbs.append(L.mean())
                ws.append(json.load(open(f"{tmp}/plan.json"))["max_weight"])
            covs = np.array(covs)
            print(f"{n:>6} {B:>5g} {a.reps:>5} {covs.mean():>11.4f} ± {covs.std():.4f} {np.mean(covs < 1 - a.alpha):>11.2f} "
                  f"{np.mean(lpbs):>9.1f} {np.mean(lpbs) / oracle:>9.3f} {np.median(ws):>18g}", flush=True)

if __name__ == "__main__":
    main()
