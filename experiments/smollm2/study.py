#!/usr/bin/env python3
"""Helpers for run.sh (stdlib only): file splitting, the uncalibrated baseline,
and the aggregation of the per-run evaluations into a table and an SVG plot.

  study.py split-train  --prompts P --n-train N --train OUT --pool OUT
  study.py split-pool   --pool P --predictions PRED --deep DEEP --cal-fraction F --seed S --dir D
  study.py uncalibrated --predictions PRED --alpha A --out LPB
  study.py row          --runs runs.csv --rep R --method M --guarantee G --budget B --evaluation E.json [--calibration C.json --observations O.csv --deep D.csv]
  study.py aggregate    --runs runs.csv --out-csv results.csv --out-md table.md --out-svg plot.svg
  study.py constant     --counts train_counts.csv --pool P --out PRED        (every prompt the pooled training rate)
  study.py pred-stats   --predictions PRED --deep D --model model.json|- --counts C --out stats.json
  study.py predictors   --runs runs.csv --stats DIR --names a,b,… --out-csv predictors.csv --out-md T.md --out-svg S.svg
  study.py bootstrap-cal --pred-cal P --deep D --n N --seed S --dir D       (PAC sizing: n calibration prompts resampled)
  study.py pac-size     --runs pac_runs.csv --alpha A --delta D --max-weight W --out-csv pac_size.csv --out-md T.md
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

# ---- issue 13: predictors head to head --------------------------------------------------

def first_unsafe_times(deep_path):
    """The deep sample as one time per prompt: the first-unsafe index, or the cap (200)
    when censored — a censored prompt counts as T = cap (a lower value than its true time)."""
    return {r["id"]: (int(r["observed"]) if r["event"] == "1" else int(r["cap"])) for r in read_csv(deep_path)}

def ranks(xs):
    """Average ranks (ties share the mean rank), 1-based."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    r = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return r

def spearman(xs, ys):
    """Spearman's rho (Pearson correlation of average ranks); nan when one side is constant."""
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx = sum((a - mx) ** 2 for a in rx); syy = sum((b - my) ** 2 for b in ry)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")

def constant(a):
    rows = read_csv(a.counts)
    n = sum(int(r["n"]) for r in rows); k = sum(int(r["k"]) for r in rows)
    write_csv(a.out, ["id", "p_hat"], [{"id": r["id"], "p_hat": repr(k / n)} for r in read_jsonl(a.pool)])

def pred_stats(a):
    """Per predictor: validation log-likelihood per generation (the model's and the
    constant's, from ttu's training report), Spearman of p̂ with the pool's first-unsafe
    times (censored = cap), the p̂ range."""
    t = first_unsafe_times(a.deep)
    p = {r["id"]: float(r["p_hat"]) for r in read_csv(a.predictions)}
    ids = sorted(t)
    out = {"spearman_vs_first_unsafe": spearman([p[i] for i in ids], [t[i] for i in ids]),
           "p_hat_min": min(p.values()), "p_hat_max": max(p.values()), "n_pool": len(ids)}
    if a.model != "-":
        rep = json.load(open(a.model))["report"]
        sel = rep.get("selected_epoch", rep.get("selectedEpoch"))
        ep = next(e for e in rep["epochs"] if e["epoch"] == sel)
        out["val_loglik_per_gen"] = next(v for k, v in ep.items() if k.lower().startswith("validationloglikelihoodpergen")
                                         or k == "validation_log_likelihood_per_generation")
        out["constant_val_loglik_per_gen"] = rep.get("constant_validation_log_likelihood_per_generation",
                                                   rep.get("constantValidationLogLikelihoodPerGeneration"))
        out["selected_epoch"] = sel
        k = rep.get("comparison")
        if k:
            out["heldout_gain_per_gen"] = k["gain_per_generation"]; out["heldout_gain_se"] = k["gain_standard_error"]
            out["heldout_prompts"] = k["prompts"]
    json.dump(out, open(a.out, "w"), indent=1)

PRED_COLUMNS = ["predictor", "val_loglik_per_gen", "constant_val_loglik_per_gen", "spearman_vs_first_unsafe", "budget", "reps",
                "coverage_lower", "coverage_upper", "mean_lpb", "median_lpb"]

def predictors(a):
    runs = read_csv(a.runs)
    names = a.names.split(",")
    stats = {n: json.load(open(f"{a.stats}/{n}.json")) for n in names}
    # the constant predictor's validation log-likelihood is the constant column of any trained model
    const_ll = next((s["constant_val_loglik_per_gen"] for s in stats.values() if "constant_val_loglik_per_gen" in s), float("nan"))
    res = []
    for n in names:
        g = [r for r in runs if r["method"] == n]
        s = stats[n]
        row = {"predictor": n, "val_loglik_per_gen": s.get("val_loglik_per_gen", const_ll),
               "constant_val_loglik_per_gen": s.get("constant_val_loglik_per_gen", const_ll),
               "spearman_vs_first_unsafe": s["spearman_vs_first_unsafe"], "budget": float(g[0]["budget"]), "reps": len(g)}
        for c in ["coverage_lower", "coverage_upper", "mean_lpb", "median_lpb", "trivial_fraction"]:
            row[c], row[c + "_sd"] = mean_sd([float(r[c]) for r in g])
        row["p_hat_min"], row["p_hat_max"] = s["p_hat_min"], s["p_hat_max"]
        row["heldout"] = (s.get("heldout_gain_per_gen"), s.get("heldout_gain_se"))
        res.append(row)
    with open(a.out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(PRED_COLUMNS)
        for r in res:
            w.writerow([f"{r[h]:.6g}" if isinstance(r[h], float) else r[h] for h in PRED_COLUMNS])
    base = next((r for r in res if r["predictor"] == "constant"), None)
    lines = ["| predictor | val. log-lik / gen (constant) | held-out gain over constant ± SE | Spearman ρ(p̂, T) | p̂ range | coverage lower | coverage upper | coverage band reaches 0.85 | mean LPB | × constant | median LPB |",
             "|---|---|---|---:|---|---|---|---|---|---:|---|"]
    for r in res:
        cov_hi = r["coverage_upper"] + r["coverage_upper_sd"]
        g, se = r["heldout"]
        gain = "–" if g is None else f"{g:+.4f} ± {se:.4f}"
        rho = "–" if math.isnan(r["spearman_vs_first_unsafe"]) else f"{r['spearman_vs_first_unsafe']:+.3f}"
        ratio = f"{r['mean_lpb'] / base['mean_lpb']:.2f}" if base else "–"
        lines.append(f"| {r['predictor']} | {r['val_loglik_per_gen']:.5f} ({r['constant_val_loglik_per_gen']:.5f}) | {gain} | {rho} | "
                     f"{r['p_hat_min']:.3g}–{r['p_hat_max']:.3g} | {r['coverage_lower']:.3f} ± {r['coverage_lower_sd']:.3f} | "
                     f"{r['coverage_upper']:.3f} ± {r['coverage_upper_sd']:.3f} | {'yes' if cov_hi >= 0.85 else 'NO'} ({cov_hi:.3f}) | "
                     f"{r['mean_lpb']:.1f} ± {r['mean_lpb_sd']:.1f} | {ratio} | {r['median_lpb']:.1f} ± {r['median_lpb_sd']:.1f} |")
    open(a.out_md, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))
    predictors_svg(a.out_svg, res)

def predictors_svg(path, res):
    """Three horizontal bar panels, one row per predictor: Spearman ρ, coverage (lower…upper,
    ± sd whiskers, 0.85 and 0.9 lines), mean LPB (± sd)."""
    n = len(res)
    rowh, top, left, pw, gap = 26, 40, 150, 230, 40
    H = top + n * rowh + 45
    Wt = left + 3 * pw + 2 * gap + 20
    o = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{Wt}" height="{H}" font-family="sans-serif" font-size="11">',
         f'<rect width="{Wt}" height="{H}" fill="white"/>']
    def panel(x0, title, lo, hi, ticks, draw, lines=()):
        X = lambda v: x0 + (min(max(v, lo), hi) - lo) / (hi - lo) * pw
        o.append(f'<text x="{x0 + pw / 2}" y="18" text-anchor="middle" font-size="12">{title}</text>')
        o.append(f'<rect x="{x0}" y="{top - 8}" width="{pw}" height="{n * rowh}" fill="none" stroke="#888"/>')
        for t in ticks:
            o.append(f'<line x1="{X(t):.1f}" x2="{X(t):.1f}" y1="{top - 8 + n * rowh}" y2="{top - 4 + n * rowh}" stroke="#888"/>'
                     f'<text x="{X(t):.1f}" y="{top + 8 + n * rowh}" text-anchor="middle">{t:g}</text>')
        for v, lab in lines:
            o.append(f'<line x1="{X(v):.1f}" x2="{X(v):.1f}" y1="{top - 8}" y2="{top - 8 + n * rowh}" stroke="#000" stroke-dasharray="4,3"/>'
                     f'<text x="{X(v) + 2:.1f}" y="{top - 11}" font-size="9">{lab}</text>')
        for i, r in enumerate(res):
            draw(X, top + i * rowh, r)
    for i, r in enumerate(res):
        o.append(f'<text x="{left - 8}" y="{top + i * rowh + 8}" text-anchor="end">{r["predictor"]}</text>')
    def rho(X, y, r):
        v = r["spearman_vs_first_unsafe"]
        if math.isnan(v):
            o.append(f'<text x="{X(0) + 3:.1f}" y="{y + 8}" fill="#777">n/a (constant)</text>'); return
        a, b = sorted([X(0), X(v)])
        o.append(f'<rect x="{a:.1f}" y="{y}" width="{b - a:.1f}" height="12" fill="#9467bd"/>'
                 f'<text x="{X(v) - 3 if v < 0 else X(v) + 3:.1f}" y="{y + 10}" text-anchor="{"end" if v < 0 else "start"}">{v:+.2f}</text>')
    def cov(X, y, r):
        lo_, hi_ = r["coverage_lower"] - r["coverage_lower_sd"], r["coverage_upper"] + r["coverage_upper_sd"]
        o.append(f'<line x1="{X(lo_):.1f}" x2="{X(hi_):.1f}" y1="{y + 6}" y2="{y + 6}" stroke="#1f77b4" stroke-width="2"/>'
                 f'<rect x="{X(r["coverage_lower"]) - 3:.1f}" y="{y}" width="{max(6, X(r["coverage_upper"]) - X(r["coverage_lower"]) + 6):.1f}" height="12" fill="#1f77b4"/>')
    def lpb(X, y, r):
        m, s = r["mean_lpb"], r["mean_lpb_sd"]
        o.append(f'<rect x="{X(0):.1f}" y="{y}" width="{X(m) - X(0):.1f}" height="12" fill="#ff7f0e"/>'
                 f'<line x1="{X(m - s):.1f}" x2="{X(m + s):.1f}" y1="{y + 6}" y2="{y + 6}" stroke="#000"/>'
                 f'<text x="{X(m + s) + 3:.1f}" y="{y + 10}">{m:.1f}</text>')
    panel(left, "Spearman ρ(p̂, first-unsafe time) on the pool", -0.6, 0.2, [-0.6, -0.4, -0.2, 0, 0.2], rho)
    panel(left + pw + gap, "test coverage (box: lower…upper, line: ± sd)", 0.6, 1.0, [0.6, 0.7, 0.8, 0.9, 1.0], cov,
          lines=[(0.85, "0.85"), (0.9, "1−α")])
    mx = max(50.0, max(r["mean_lpb"] + r["mean_lpb_sd"] for r in res))
    base = next((r["mean_lpb"] for r in res if r["predictor"] == "constant"), None)
    panel(left + 2 * (pw + gap), "mean LPB on test prompts (± sd)", 0, mx, [0, 10, 20, 30, 40, 50], lpb,
          lines=[(1.5 * base, "1.5× constant")] if base else ())
    o.append(f'<text x="{left}" y="{H - 8}" fill="#444">B = 25, optimized, marginal, α = 0.1, W = 2 (bounds ≤ 50); mean over repetitions '
             f'(same splits for every predictor); T censored at 200 counts as 200.</text>')
    o.append("</svg>")
    open(path, "w").write("\n".join(o) + "\n")

def bootstrap_cal(a):
    """PAC sizing: n calibration prompts drawn with replacement from this repetition's
    calibration prompts (ids suffixed ~k so they stay distinct), with their p̂ and deep
    observation: an i.i.d. sample from the empirical distribution of (p̂, T)."""
    pred = read_csv(a.pred_cal)
    deep = {r["id"]: r for r in read_csv(a.deep)}
    rng = random.Random(a.seed)
    rows = [pred[rng.randrange(len(pred))] for _ in range(a.n)]
    write_csv(f"{a.dir}/pred_cal_boot.csv", ["id", "p_hat"], [{"id": f"{r['id']}~{k}", "p_hat": r["p_hat"]} for k, r in enumerate(rows)])
    write_csv(f"{a.dir}/deep_boot.csv", ["id", "cap", "observed", "event"],
              [dict(deep[r["id"]], id=f"{r['id']}~{k}") for k, r in enumerate(rows)])

def pac_size(a):
    runs = read_csv(a.runs)
    ln = math.log(2 / a.delta)
    n_min = 1 + 7 * a.max_weight * ln / (3 * a.alpha)
    groups = defaultdict(list)
    for r in runs:
        groups[(r["guarantee"], int(r["n_cal"]))].append(r)
    lines = [f"Smallest n at which any level can pass the empirical-Bernstein test (α̂ = 0, V = 0): "
             f"n > 1 + 7·w_max·ln(2/δ)/(3α) = {n_min:.1f} (w_max = {a.max_weight:g}, δ = {a.delta:g}, α = {a.alpha:g}).", "",
             "| guarantee | calibration prompts | reps | coverage lower | coverage upper | mean LPB | median LPB | trivial (L=1) |",
             "|---|---:|---:|---|---|---|---|---|"]
    out = []
    for (g, n) in sorted(groups, key=lambda k: (k[0] != "marginal", k[1])):
        rs = groups[(g, n)]
        row = {"guarantee": g, "n_cal": n, "reps": len(rs)}
        for c in ["coverage_lower", "coverage_upper", "mean_lpb", "median_lpb", "trivial_fraction"]:
            row[c], row[c + "_sd"] = mean_sd([float(r[c]) for r in rs])
        out.append(row)
        lines.append(f"| {g} | {n} | {len(rs)} | {row['coverage_lower']:.3f} ± {row['coverage_lower_sd']:.3f} | "
                     f"{row['coverage_upper']:.3f} ± {row['coverage_upper_sd']:.3f} | {row['mean_lpb']:.1f} ± {row['mean_lpb_sd']:.1f} | "
                     f"{row['median_lpb']:.1f} ± {row['median_lpb_sd']:.1f} | {row['trivial_fraction']:.2f} ± {row['trivial_fraction_sd']:.2f} |")
    cols = ["guarantee", "n_cal", "reps", "coverage_lower", "coverage_upper", "mean_lpb", "median_lpb", "trivial_fraction"]
    with open(a.out_csv, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n"); w.writerow(cols)
        for r in out:
            w.writerow([f"{r[c]:.6g}" if isinstance(r[c], float) else r[c] for c in cols])
    open(a.out_md, "w").write("\n".join(lines) + "\n")
    print("\n".join(lines))

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
    s = sub.add_parser("constant")
    for k in ["--counts", "--pool", "--out"]: s.add_argument(k, required=True)
    s = sub.add_parser("pred-stats")
    for k in ["--predictions", "--deep", "--model", "--out"]: s.add_argument(k, required=True)
    s = sub.add_parser("predictors")
    for k in ["--runs", "--stats", "--names", "--out-csv", "--out-md", "--out-svg"]: s.add_argument(k, required=True)
    s = sub.add_parser("bootstrap-cal")
    for k in ["--pred-cal", "--deep", "--dir"]: s.add_argument(k, required=True)
    s.add_argument("--n", type=int, required=True); s.add_argument("--seed", type=int, required=True)
    s = sub.add_parser("pac-size")
    for k in ["--runs", "--out-csv", "--out-md"]: s.add_argument(k, required=True)
    for k in ["--alpha", "--delta", "--max-weight"]: s.add_argument(k, type=float, required=True)
    a = ap.parse_args()
    {"split-train": split_train, "split-pool": split_pool, "uncalibrated": uncalibrated, "row": row, "aggregate": aggregate,
     "constant": constant, "pred-stats": pred_stats, "predictors": predictors, "bootstrap-cal": bootstrap_cal, "pac-size": pac_size}[a.cmd](a)

if __name__ == "__main__":
    main()
