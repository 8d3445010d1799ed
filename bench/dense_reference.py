#!/usr/bin/env python3
"""Dense numpy reference for `ttu calibrate` (marginal guarantee), written straight from
docs/method.md §2–§4: builds the full n×m matrix of candidate bounds. Used to cross-check the
selected grid index and as the speed baseline of `ttu calibrate`.

usage: dense_reference.py PLAN.csv OBS.csv ALPHA   → prints tau_index (0-based, -1 if none)
"""
import json, os, sys
import numpy as np

plan_csv, obs_csv, alpha = sys.argv[1], sys.argv[2], float(sys.argv[3])
settings = json.load(open(os.path.splitext(plan_csv)[0] + ".json"))
g = settings["tau_grid"]
taus = np.logspace(g["min_log10"], g["max_log10"], g["count"])
M = np.inf if settings["max_lpb"] is None else float(settings["max_lpb"])

def read(path):
    with open(path) as f:
        header = f.readline().strip().split(",")
        cols = {h: [] for h in header}
        for line in f:
            for h, v in zip(header, line.rstrip("\n").split(",")):
                cols[h].append(v)
    return cols

plan = read(plan_csv)
obs = read(obs_csv)
ids = plan["id"]
p_hat = np.array(plan["p_hat"], dtype=float)
cap = np.array(plan["cap"], dtype=np.int64)
row = {k: i for i, k in enumerate(ids)}
t = np.zeros(len(ids))
for k, o in zip(obs["id"], obs["observed"]):
    t[row[k]] = float(o)
with np.errstate(divide="ignore", invalid="ignore"):
    q = np.ceil(np.log1p(-taus)[None, :] / np.log1p(-p_hat)[:, None])
q = np.where(p_hat[:, None] == 0, np.inf, np.maximum(q, 1))
q = np.minimum(q, M)
miss = t[:, None] < q
if settings["strategy"] == "naive":
    B = settings["budget"]
    with np.errstate(over="ignore"):
        w = np.where(q <= cap[:, None], np.power(1 - 1 / B, -(q - 1)), 0.0)
else:
    pi = np.array(plan["pi"], dtype=float)
    w = np.where(cap > 0, 1 / np.where(pi > 0, pi, 1), 0.0)[:, None]
alpha_hat = (w * miss).mean(axis=0)
ok = alpha_hat < alpha
j = -1
for k in range(len(taus)):
    if not ok[k]:
        break
    j = k
print(j)
