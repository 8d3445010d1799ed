#!/usr/bin/env python3
"""Aggregates bench/regime/run.sh's simulate.csv files into study.csv, study.md and study.svg."""
import csv, glob, math, os, re, sys, statistics as st

work, out = sys.argv[1], sys.argv[2]
rows = []
for d in sorted(glob.glob(os.path.join(work, "s*_n*_*"))):
    if not os.path.isdir(d): continue
    m = re.match(r"s([\d.]+)_n(\d+)_(\w+)$", os.path.basename(d))
    sigma, n, g = float(m[1]), int(m[2]), m[3]
    by_b = {}
    for r in csv.DictReader(open(os.path.join(d, "simulate.csv"))):
        by_b.setdefault(float(r["budget"]), []).append(r)
    for b, rs in sorted(by_b.items()):
        cov = [float(r["coverage"]) for r in rs]
        lpb = [float(r["mean_lpb"]) for r in rs]
        w = sorted(float(r["max_weight"]) for r in rs)
        oracle = float(rs[0]["oracle_mean_lpb"])
        rows.append(dict(sigma=sigma, n=n, budget=b, guarantee=g, reps=len(rs), coverage_mean=st.mean(cov),
                         coverage_sd=st.pstdev(cov), below_target=sum(c < 0.9 for c in cov) / len(cov),
                         mean_lpb=st.mean(lpb), oracle_mean_lpb=oracle, fraction_of_oracle=st.mean(lpb) / oracle,
                         median_max_weight=w[len(w) // 2],
                         mean_generations=st.mean(float(r["mean_generations"]) for r in rs)))
order = {"corrected": 0, "marginal": 1, "pac": 2}
rows.sort(key=lambda r: (r["sigma"], r["budget"], r["n"], order[r["guarantee"]]))
cols = list(rows[0].keys())
with open(os.path.join(out, "study.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, cols); w.writeheader()
    for r in rows: w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

label = {"corrected": "corrected (default)", "marginal": "marginal (paper)", "pac": "PAC, bernstein, δ = 0.1"}
md = ["# The user's regime (SIMULATED: paper's population, noisy-oracle p̂ = p·e^{σZ})", "",
      "`bench/regime/run.sh`: optimized, W and grid auto, α = 0.1, calibration prompts drawn anew per repetition; "
      f"{rows[0]['reps']} repetitions per cell. Coverage is exact (known p) on 10,000 test prompts.", ""]
for sigma in sorted({r["sigma"] for r in rows}):
    md += [f"## σ = {sigma:g}", "", "| B | n | guarantee | coverage mean ± sd | P(cov < 0.9) | mean L | × oracle | W (median) | drawn/prompt |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["sigma"] != sigma: continue
        md.append(f"| {r['budget']:g} | {r['n']} | {label[r['guarantee']]} | {r['coverage_mean']:.4f} ± {r['coverage_sd']:.4f} | "
                  f"{r['below_target']:.2f} | {r['mean_lpb']:.1f} | {r['fraction_of_oracle']:.3f} | {r['median_max_weight']:g} | {r['mean_generations']:.1f} |")
    md.append("")
open(os.path.join(out, "study.md"), "w").write("\n".join(md))

# One SVG: per σ a coverage panel and a fraction-of-oracle panel, x = n (log), a line per (B, guarantee).
W, H, pad = 460, 260, 48
colors = {10: "#1f77b4", 30: "#2ca02c", 100: "#d62728"}
dash = {"corrected": "", "marginal": "4,3", "pac": "1,3"}
ns = sorted({r["n"] for r in rows})
def x(n): return pad + (math.log10(n) - math.log10(ns[0])) / (math.log10(ns[-1]) - math.log10(ns[0])) * (W - 2 * pad)
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * W}" height="{2 * H + 40}" font-family="sans-serif" font-size="11">']
for si, sigma in enumerate(sorted({r["sigma"] for r in rows})):
    for pi_, (key, lo, hi, title) in enumerate([("coverage_mean", 0.85, 1.0, "mean coverage (target 0.9)"),
                                                 ("fraction_of_oracle", 0.0, 1.2, "mean bound / oracle's")]):
        ox, oy = pi_ * W, si * H
        def y(v): return oy + H - pad + (lo - min(max(v, lo), hi)) / (hi - lo) * (H - 2 * pad)
        svg.append(f'<text x="{ox + pad}" y="{oy + 16}" font-weight="bold">σ = {sigma:g}: {title}</text>')
        svg.append(f'<rect x="{ox + pad}" y="{oy + pad}" width="{W - 2 * pad}" height="{H - 2 * pad}" fill="none" stroke="#999"/>')
        for t in ([0.85, 0.9, 0.95, 1.0] if key == "coverage_mean" else [0, 0.5, 1.0]):
            svg.append(f'<text x="{ox + pad - 6}" y="{y(t) + 4}" text-anchor="end">{t:g}</text>')
            svg.append(f'<line x1="{ox + pad}" x2="{ox + W - pad}" y1="{y(t)}" y2="{y(t)}" stroke="#eee"/>')
        if key == "coverage_mean":
            svg.append(f'<line x1="{ox + pad}" x2="{ox + W - pad}" y1="{y(0.9)}" y2="{y(0.9)}" stroke="#000" stroke-dasharray="6,3"/>')
        for n in ns:
            svg.append(f'<text x="{ox + x(n)}" y="{oy + H - pad + 14}" text-anchor="middle">{n}</text>')
        for b in sorted(colors):
            for g in dash:
                pts = [(x(r["n"]) + ox, y(r[key])) for r in rows if r["sigma"] == sigma and r["budget"] == b and r["guarantee"] == g]
                if pts:
                    svg.append(f'<polyline fill="none" stroke="{colors[b]}" stroke-width="1.6" stroke-dasharray="{dash[g]}" points="'
                               + " ".join(f"{a:.1f},{c:.1f}" for a, c in pts) + '"/>')
lx = 10
for b in sorted(colors):
    svg.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{2 * H + 20}" y2="{2 * H + 20}" stroke="{colors[b]}" stroke-width="2"/><text x="{lx + 24}" y="{2 * H + 24}">B = {b}</text>')
    lx += 80
for g in dash:
    svg.append(f'<line x1="{lx}" x2="{lx + 20}" y1="{2 * H + 20}" y2="{2 * H + 20}" stroke="#333" stroke-width="2" stroke-dasharray="{dash[g]}"/><text x="{lx + 24}" y="{2 * H + 24}">{label[g]}</text>')
    lx += 190
svg.append(f'<text x="{W}" y="{2 * H + 38}" text-anchor="middle">x: calibration prompts n (log scale). SIMULATED.</text></svg>')
open(os.path.join(out, "study.svg"), "w").write("\n".join(svg))
