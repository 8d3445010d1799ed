#!/usr/bin/env python3
"""Scale benchmark (SIMULATED generator): `ttu run` at 10^4, 10^5 and 10^6 prompts.

Prints, per size, each stage's wall time and peak resident memory, and the whole run's,
with the time per prompt so linearity can be read off. Peak memory per stage is sampled
from /proc/PID/status (VmRSS every 50 ms, VmHWM for the whole run): a benchmark figure,
not a test.

    python3 bench/scale.py [--sizes 10000,100000,1000000] [--ttu .build/release/ttu] [--keep DIR]

The config is the issue's user setting: hashed logistic predictor, N = 20 per training
prompt, B = 10, test prompts sampled to their bounds (test.generations_per_prompt: bound).
"""
import argparse, json, os, random, re, shutil, subprocess, sys, tempfile, threading, time

CONFIG = """title: scale benchmark, {n} prompts (SIMULATED generator)
prompts: prompts.jsonl
seed: 3
split: {{train: 0.4, calibration: 0.4, test: 0.2}}
generator:
  kind: simulated
  simulated_rate_function: demo
  concurrency: 16
rater:
  kind: lexicon
training:
  generations_per_prompt: 20
  model: logistic
calibration:
  alpha: 0.1
  budget: 10
test:
  generations_per_prompt: bound
"""

SUBJECTS = ["My boss", "The neighbor", "Our teacher", "The driver", "My ex", "The kitten", "Grandmother", "The troll"]
VERBS = ["was angry and yelled", "sent a recipe", "wrote a poem", "got furious and started cursing", "said thanks",
         "called me an idiot", "talked about the weather", "posted a rant", "went to the museum", "picked a fight"]
TAILS = ["after lunch", "at the bar", "in the garden", "in traffic", "at the library", "at work", "quietly", "again"]


def write_prompts(path, n, seed=11):
    rng = random.Random(seed)
    with open(path, "w") as f:
        for i in range(n):
            text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(TAILS)} ({i})"
            f.write(json.dumps({"id": f"q{i}", "prompt": text}) + "\n")


def status_kib(pid, key):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def run(ttu, n, workdir):
    write_prompts(os.path.join(workdir, "prompts.jsonl"), n)
    with open(os.path.join(workdir, "ttu.yaml"), "w") as f:
        f.write(CONFIG.format(n=n))
    start = time.monotonic()
    p = subprocess.Popen([os.path.abspath(ttu), "run", "--config", "ttu.yaml", "--out", "run"], cwd=workdir,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    stages = []  # [name, start, end, peak_kib]
    lock = threading.Lock()
    hwm = [0]

    def sample():
        while p.poll() is None:
            rss = status_kib(p.pid, "VmRSS")
            peak = status_kib(p.pid, "VmHWM")
            with lock:
                if peak:
                    hwm[0] = max(hwm[0], peak)
                if rss and stages:
                    stages[-1][3] = max(stages[-1][3], rss)
            time.sleep(0.05)

    threading.Thread(target=sample, daemon=True).start()
    tail = []
    for line in p.stderr:
        tail = (tail + [line])[-20:]
        m = re.match(r"run: (\w+) …", line)
        if m:
            now = time.monotonic() - start
            with lock:
                if stages:
                    stages[-1][2] = now
                stages.append([m.group(1), now, None, 0])
    p.wait()
    total = time.monotonic() - start
    if p.returncode != 0:
        sys.exit(f"ttu run failed at n = {n} (exit {p.returncode}):\n" + "".join(tail))
    if stages:
        stages[-1][2] = total
    ev = json.load(open(os.path.join(workdir, "run", "evaluation.json")))
    return stages, total, hwm[0], ev


def generations(workdir, stage):
    """Generations a collection stage drew (its summary sidecar), else None."""
    path = os.path.join(workdir, "run", stage + ".json")
    if stage not in ("train_counts", "calibration_obs", "test_obs") or not os.path.exists(path):
        return None
    return json.load(open(path)).get("generations_this_run")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--ttu", default=".build/release/ttu")
    ap.add_argument("--keep", help="keep the run folders under this directory")
    a = ap.parse_args()
    rows = []
    for n in [int(s) for s in a.sizes.split(",")]:
        workdir = os.path.join(a.keep, str(n)) if a.keep else tempfile.mkdtemp(prefix=f"ttu-scale-{n}-")
        os.makedirs(workdir, exist_ok=True)
        stages, total, peak, ev = run(a.ttu, n, workdir)
        print(f"\nn = {n:,} prompts (SIMULATED generator): {total:.1f} s, peak {peak / 1024:.0f} MB, "
              f"{total / n * 1e6:.0f} µs per prompt; test: {ev.get('ambiguous')} ambiguous of {ev.get('n')}")
        print(f"  {'stage':<16} {'seconds':>8} {'peak MB':>8} {'generations':>12} {'µs/gen':>8}")
        for name, s, e, kib in stages:
            gens = generations(workdir, name)
            per = f"{(e - s) / gens * 1e6:>8.1f}" if gens else ""
            print(f"  {name:<16} {e - s:>8.1f} {kib / 1024:>8.0f} {gens if gens is not None else '':>12} {per}")
        rows.append((n, total, peak))
        if not a.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    if len(rows) > 1:
        print("\nsize ratio → time ratio, peak-memory ratio:")
        for (n0, t0, m0), (n1, t1, m1) in zip(rows, rows[1:]):
            print(f"  {n1 // n0}× prompts → {t1 / t0:.1f}× time, {m1 / max(m0, 1):.1f}× peak memory")


if __name__ == "__main__":
    main()
