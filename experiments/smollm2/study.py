#!/usr/bin/env python3
"""Helpers for run.sh (stdlib only): file splitting, the uncalibrated baseline,
and the aggregation of the per-run evaluations into a table and an SVG plot.

  study.py split-train  --prompts P --n-train N --train OUT --pool OUT
  study.py split-pool   --pool P --predictions PRED --deep DEEP --cal-fraction F --seed S --dir D
  study.py uncalibrated --predictions PRED --alpha A --out LPB
  study.py row          --runs runs.csv --rep R --method M --guarantee G --budget B --evaluation E.json [--calibration C.json --observations O.csv --deep D.csv]
  study.py aggregate    --runs runs.csv --out-csv results.csv --out-md table.md --out-svg plot.svg
"""
import argparse, csv, json, math, random, sys
from collections import defaultdict

def read_jsonl(p):
    with open(p, encoding="utf-8") as f:
        return [json.loads(l) for l in f if l.strip()]

def write_jsonl(p, rows):
    with open(p, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")

def read_csv(p):
    with open(p, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))

def write_csv(p, header, rows):
    with open(p, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow([r[h] for h in header])

def split_train(a):
    """The prompt file is already a seeded shuffle: the first n_train prompts train the
    predictor, the next n_pool are calibration/test (re-split per repetition)."""
    rows = read_jsonl(a.prompts)
    n_pool = a.n_pool if a.n_pool > 0 else len(rows) - a.n_train
    if a.n_train + n_pool > len(rows) or n_pool < 2:
        sys.exit(f"split-train: {len(rows)} prompts, cannot take {a.n_train} for training and {n_pool} for the pool")
    write_jsonl(a.train, rows[: a.n_train])
    write_jsonl(a.pool, rows[a.n_train : a.n_train + n_pool])

def split_pool(a):
    """One repetition: a seeded split of the deep-sampled pool into calibration and test."""
    pool = [r["id"] for r in read_jsonl(a.pool)]
    pred = {r["id"]: r for r in read_csv(a.predictions)}
    deep = {r["id"]: r for r in read_csv(a.deep)}
    missing = [i for i in pool if i not in pred or i not in deep]
    if missing:
        sys.exit(f"split-pool: {len(missing)} pool prompts lack a prediction or a deep observation, e.g. {missing[0]}")
    ids = sorted(pool)
    random.Random(a.seed).shuffle(ids)
    k = round(a.cal_fraction * len(ids))
    cal, test = sorted(ids[:k]), sorted(ids[k:])
    write_csv(f"{a.dir}/pred_cal.csv", ["id", "p_hat"], [pred[i] for i in cal])
    write_csv(f"{a.dir}/pred_test.csv", ["id", "p_hat"], [pred[i] for i in test])
    write_csv(f"{a.dir}/truth_test.csv", ["id", "cap", "observed", "event"], [deep[i] for i in test])

def uncalibrated(a):
    """The predictor's own α-quantile, no calibration: L = max(1, ceil(log(1-α)/log(1-p̂)))."""
    out = []
    for r in read_csv(a.predictions):
        p = float(r["p_hat"])
        if p <= 0:
            lpb = "inf"
        elif p >= 1:
            lpb = "1"
        else:
            lpb = str(max(1, math.ceil(math.log1p(-a.alpha) / math.log1p(-p))))
        out.append({"id": r["id"], "p_hat": r["p_hat"], "lpb": lpb})
    write_csv(a.out, ["id", "p_hat", "lpb"], out)

RUN_COLUMNS = ["rep", "method", "guarantee", "budget", "n_cal", "n_test", "tau_hat", "coverage_lower", "coverage_upper",
               "mean_lpb", "median_lpb", "trivial_fraction", "generations_per_cal_prompt", "sampled_cal_prompts", "imputed_worst_case"]

def row(a):
    """Append one run's numbers (evaluation JSON, calibration JSON, observations) to runs.csv."""
    ev = json.load(open(a.evaluation))
    r = {"rep": a.rep, "method": a.method, "guarantee": a.guarantee, "budget": a.budget, "n_test": ev["n"],
         "coverage_lower": ev["coverage_lower"], "coverage_upper": ev["coverage_upper"], "mean_lpb": ev["mean_lpb"],
         "median_lpb": ev["median_lpb"], "trivial_fraction": ev["trivial_fraction"],
         "tau_hat": "", "n_cal": "", "generations_per_cal_prompt": "", "sampled_cal_prompts": "", "imputed_worst_case": ""}
    if a.calibration:
        cal = json.load(open(a.calibration))
        r["tau_hat"] = "" if cal.get("tau_hat") is None else cal["tau_hat"]
    if a.observations:
        obs = read_csv(a.observations)
        deep = {d["id"]: d for d in read_csv(a.deep)} if a.deep else {}
        drawn, imputed = 0, 0
        for o in obs:
            cap, k, ev1 = int(o["cap"]), int(o["observed"]), o["event"] == "1"
            d = deep.get(o["id"])
            if d and ev1 and d["event"] == "0" and k == int(d["cap"]) + 1:
                imputed += 1          # worst-case imputation: at least the deep cap was drawn
                k = int(d["cap"])
            drawn += k
        r["n_cal"] = len(obs)
        r["generations_per_cal_prompt"] = drawn / len(obs)
        r["sampled_cal_prompts"] = sum(1 for o in obs if int(o["cap"]) > 0)
        r["imputed_worst_case"] = imputed
    new = not __import__("os").path.exists(a.runs)
    with open(a.runs, "a", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        if new:
            w.writerow(RUN_COLUMNS)
        w.writerow([r[c] for c in RUN_COLUMNS])

def mean_sd(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    if not xs:
        return float("nan"), float("nan")
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1)) if len(xs) > 1 else 0.0
    return m, sd

def aggregate(a):
    runs = read_csv(a.runs)
    groups = defaultdict(list)
    for r in runs:
        groups[(r["method"], r["guarantee"], float(r["budget"]))].append(r)
    order = {"optimized": 0, "naive": 1, "uncalibrated": 2}
    keys = sorted(groups, key=lambda k: (order.get(k[0], 9), k[1], k[2]))
    res = []
    for k in keys:
        g = groups[k]
        row = {"method": k[0], "guarantee": k[1], "budget": k[2], "reps": len(g)}
        for col in ["coverage_lower", "coverage_upper", "mean_lpb", "median_lpb", "trivial_fraction",
                    "generations_per_cal_prompt", "tau_hat"]:
            vals = []
            for r in g:
                v = r.get(col, "")
                vals.append(float(v) if v not in ("", "null", "None") else None)
            m, sd = mean_sd(vals)
            row[col + "_mean"], row[col + "_sd"] = m, sd
        res.append(row)
    header = list(res[0].keys())
    with open(a.out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in res:
            w.writerow([f"{r[h]:.6g}" if isinstance(r[h], float) else r[h] for h in header])
    # Markdown table
    def pm(r, c, d=3):
        m, s = r[c + "_mean"], r[c + "_sd"]
        if math.isnan(m):
            return "–"
        return f"{m:.{d}f} ± {s:.{d}f}"
    lines = ["| method | guarantee | B | reps | coverage lower | coverage upper | mean LPB | median LPB | trivial (L=1) | generations / cal. prompt |",
             "|---|---|---:|---:|---|---|---|---|---|---|"]
    for r in res:
        b = "–" if r["method"] == "uncalibrated" else f"{r['budget']:g}"
        lines.append(f"| {r['method']} | {r['guarantee']} | {b} | {r['reps']} | {pm(r,'coverage_lower')} | {pm(r,'coverage_upper')} | "
                     f"{pm(r,'mean_lpb',1)} | {pm(r,'median_lpb',1)} | {pm(r,'trivial_fraction',2)} | {pm(r,'generations_per_cal_prompt',1)} |")
    with open(a.out_md, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    svg(a, res)

def svg(a, res):
    """Two panels: coverage (lower–upper band, mean over reps) and mean LPB vs budget."""
    series = defaultdict(list)
    for r in res:
        if r["method"] == "uncalibrated":
            continue
        series[(r["method"], r["guarantee"])].append(r)
    unc = [r for r in res if r["method"] == "uncalibrated"]
    budgets = sorted({r["budget"] for r in res if r["method"] != "uncalibrated"})
    if not budgets:
        return
    colors = {("optimized", "marginal"): "#1f77b4", ("optimized", "pac"): "#17becf",
              ("naive", "marginal"): "#d62728", ("naive", "pac"): "#ff9896"}
    W, H, ml, mr, mt, mb = 420, 300, 60, 15, 35, 45
    pw, ph = W - ml - mr, H - mt - mb
    lx0, lx1 = math.log10(min(budgets)) - 0.1, math.log10(max(budgets)) + 0.1
    def X(b): return ml + (math.log10(b) - lx0) / (lx1 - lx0) * pw
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2*W}" height="{H+40}" font-family="sans-serif" font-size="11">',
           f'<rect width="{2*W}" height="{H+40}" fill="white"/>']
    def panel(ox, title, ylo, yhi, ylab, value, band=None, hline=None, logy=False):
        def Y(v):
            if logy:
                v = math.log10(max(v, 1e-9)); lo, hi = math.log10(ylo), math.log10(yhi)
            else:
                lo, hi = ylo, yhi
            return mt + (1 - (v - lo) / (hi - lo)) * ph
        o = [f'<g transform="translate({ox},0)">', f'<text x="{ml+pw/2}" y="18" text-anchor="middle" font-size="13">{title}</text>',
             f'<rect x="{ml}" y="{mt}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>']
        ticks = ([10**e for e in range(0, 6) if ylo <= 10**e <= yhi] if logy else [ylo + i*(yhi-ylo)/5 for i in range(6)])
        for t in ticks:
            o.append(f'<line x1="{ml-4}" x2="{ml}" y1="{Y(t):.1f}" y2="{Y(t):.1f}" stroke="#888"/>'
                     f'<text x="{ml-6}" y="{Y(t)+4:.1f}" text-anchor="end">{t:g}</text>')
        for b in budgets:
            o.append(f'<line x1="{X(b):.1f}" x2="{X(b):.1f}" y1="{mt+ph}" y2="{mt+ph+4}" stroke="#888"/>'
                     f'<text x="{X(b):.1f}" y="{mt+ph+16}" text-anchor="middle">{b:g}</text>')
        o.append(f'<text x="{ml+pw/2}" y="{mt+ph+34}" text-anchor="middle">budget B (generations per calibration prompt, log scale)</text>')
        o.append(f'<text transform="translate(14,{mt+ph/2}) rotate(-90)" text-anchor="middle">{ylab}</text>')
        if hline is not None:
            o.append(f'<line x1="{ml}" x2="{ml+pw}" y1="{Y(hline):.1f}" y2="{Y(hline):.1f}" stroke="#000" stroke-dasharray="4,3"/>'
                     f'<text x="{ml+pw-2}" y="{Y(hline)-3:.1f}" text-anchor="end">1 − α</text>')
        for u in unc:
            v = value(u)
            if not math.isnan(v) and ylo <= v <= yhi:
                o.append(f'<line x1="{ml}" x2="{ml+pw}" y1="{Y(v):.1f}" y2="{Y(v):.1f}" stroke="#2ca02c" stroke-dasharray="2,2"/>'
                         f'<text x="{ml+3}" y="{Y(v)-3:.1f}" fill="#2ca02c">uncalibrated</text>')
        for key, rows in series.items():
            rows = sorted(rows, key=lambda r: r["budget"])
            c = colors.get(key, "#555")
            if band:
                pts_hi = [(X(r["budget"]), Y(min(yhi, band(r)[1]))) for r in rows]
                pts_lo = [(X(r["budget"]), Y(max(ylo, band(r)[0]))) for r in rows]
                poly = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts_hi + pts_lo[::-1])
                o.append(f'<polygon points="{poly}" fill="{c}" fill-opacity="0.15" stroke="none"/>')
            pts = [(X(r["budget"]), Y(min(yhi, max(ylo, value(r))))) for r in rows]
            o.append(f'<polyline points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in pts)}" fill="none" stroke="{c}" stroke-width="2"/>')
            for x, y in pts:
                o.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{c}"/>')
        o.append("</g>")
        return o
    cov_mid = lambda r: (r["coverage_lower_mean"] + r["coverage_upper_mean"]) / 2
    band = lambda r: (r["coverage_lower_mean"] - r["coverage_lower_sd"], r["coverage_upper_mean"] + r["coverage_upper_sd"])
    lows = [band(r)[0] for rows in series.values() for r in rows] + [r["coverage_lower_mean"] for r in unc]
    ylo = max(0.0, min(0.8, math.floor(min(lows + [0.8]) * 10) / 10))
    out += panel(0, "test coverage (band: lower − sd … upper + sd)", ylo, 1.0, "coverage", cov_mid, band=band, hline=0.9)
    lpbs = [r["mean_lpb_mean"] for r in res if not math.isnan(r["mean_lpb_mean"])]
    out += panel(W, "mean LPB on test prompts", 1, 10 ** math.ceil(math.log10(max(lpbs + [10]))), "mean LPB (log scale)",
                 lambda r: r["mean_lpb_mean"], logy=True)
    lx = 20
    for key in series:
        c = colors.get(key, "#555")
        out.append(f'<rect x="{lx}" y="{H+20}" width="12" height="4" fill="{c}"/><text x="{lx+16}" y="{H+26}">{key[0]} ({key[1]})</text>')
        lx += 170
    out.append(f'<text x="{lx}" y="{H+26}" fill="#2ca02c">- - uncalibrated predictor</text>')
    out.append("</svg>")
    with open(a.out_svg, "w") as f:
        f.write("\n".join(out) + "\n")

def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("split-train"); s.add_argument("--prompts", required=True); s.add_argument("--n-train", type=int, required=True)
    s.add_argument("--n-pool", type=int, default=0)
    s.add_argument("--train", required=True); s.add_argument("--pool", required=True)
    s = sub.add_parser("split-pool")
    for k in ["--pool", "--predictions", "--deep", "--dir"]: s.add_argument(k, required=True)
    s.add_argument("--cal-fraction", type=float, required=True); s.add_argument("--seed", type=int, required=True)
    s = sub.add_parser("uncalibrated"); s.add_argument("--predictions", required=True); s.add_argument("--alpha", type=float, required=True)
    s.add_argument("--out", required=True)
    s = sub.add_parser("row")
    for k in ["--runs", "--rep", "--method", "--guarantee", "--budget", "--evaluation"]: s.add_argument(k, required=True)
    for k in ["--calibration", "--observations", "--deep"]: s.add_argument(k)
    s = sub.add_parser("aggregate")
    for k in ["--runs", "--out-csv", "--out-md", "--out-svg"]: s.add_argument(k, required=True)
    a = ap.parse_args()
    {"split-train": split_train, "split-pool": split_pool, "uncalibrated": uncalibrated, "row": row, "aggregate": aggregate}[a.cmd](a)

if __name__ == "__main__":
    main()
