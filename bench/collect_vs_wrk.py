#!/usr/bin/env python3
"""`ttu collect` against `wrk` and a plain Python asyncio+aiohttp sampler, in one run, on
one instant stub (see collect_vs_wrk.sh, which installs wrk and aiohttp and builds ttu).

The stub is `ttu bench --serve-stub 0`: the project's loopback OpenAI-compatible server
answering every completion at once with one fixed safe text, in its own process on
127.0.0.1. Each round runs, one after the other against that same stub:
  wrk      -c CONCURRENCY, POSTing the body ttu sends for one generation, for --wrk-seconds;
  ttu      ttu collect --per-prompt CAP over PROMPTS prompts, --concurrency CONCURRENCY,
           lexicon rater, SQLite log (a fresh one per round);
  aiohttp  bench/aiohttp_sampler.py doing the same job (POST, parse JSON, rate by a word
           list, log to SQLite) at the same concurrency.
Rounds alternate so background load falls on every side alike; medians are printed, with
each process's CPU time (user + system, from wait4) and the stub's (from /proc) per
request, and the whole machine's busy CPU during each phase.
"""
import argparse, json, os, re, statistics, subprocess, sys, tempfile, time

TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid):
    """CPU seconds (user + system) of a running process."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def machine_busy():
    """(busy, total) jiffies of the whole machine since boot."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + v[4]
    return sum(v) - idle, sum(v)


def run(cmd, stub_pid, **kw):
    """Runs cmd to its end; returns (stdout, stderr, wall s, stub CPU s, machine busy cores)."""
    s0, (b0, t0), w0 = proc_cpu(stub_pid), machine_busy(), time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    out, err = p.communicate()
    wall = time.perf_counter() - w0
    (b1, t1), s1 = machine_busy(), proc_cpu(stub_pid)
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return out, err, wall, s1 - s0, (b1 - b0) / TICK / wall


def has_aiohttp(python):
    try:
        return subprocess.run([python, "-c", "import aiohttp"], capture_output=True).returncode == 0
    except OSError:
        return False


def child_cpu(fn):
    """fn() with the CPU time (user + system) of the children it waited for."""
    r0 = os.times()
    res = fn()
    r1 = os.times()
    return res, (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ttu", default=".build/release/ttu")
    ap.add_argument("--python", default="bench/.venv/bin/python", help="a python with aiohttp")
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--prompts", type=int, default=1000)
    ap.add_argument("--cap", type=int, default=100, help="generations per prompt (all safe: every prompt reaches its cap)")
    ap.add_argument("--wrk-seconds", type=int, default=10)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--stub-threads", type=int, default=1)
    ap.add_argument("--skip-aiohttp", action="store_true")
    a = ap.parse_args()
    if not a.skip_aiohttp and not has_aiohttp(a.python):
        print(f"(aiohttp sampler skipped: {a.python} has no aiohttp; bench/collect_vs_wrk.sh installs it in bench/.venv)")
        a.skip_aiohttp = True

    tmp = tempfile.mkdtemp(prefix="ttu-collect-vs-wrk-")
    prompts = os.path.join(tmp, "prompts.jsonl")
    with open(prompts, "w") as f:
        for k in range(a.prompts):
            f.write(json.dumps({"id": f"b{k}", "prompt": f"Complete the sentence: the weather today is ({k})"}) + "\n")
    # The body ttu collect sends for one generation of prompt b0 (seed differs per request).
    body = '{"prompt":"Complete the sentence: the weather today is (0)","model":"stub","max_tokens":30,"temperature":1,"stream":false,"seed":1234567}'
    lua = os.path.join(tmp, "post.lua")
    with open(lua, "w") as f:
        f.write('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Accept"] = "application/json"\nwrk.body = ' + json.dumps(body) + "\n")

    stub = subprocess.Popen([a.ttu, "bench", "--serve-stub", "0", "--stub-threads", str(a.stub_threads)],
                            stdout=subprocess.PIPE, text=True)
    base = stub.stdout.readline().strip()
    if not base.startswith("http://127.0.0.1:"):
        stub.kill()
        sys.exit(f"the stub did not start (got {base!r})")
    n = a.prompts * a.cap
    print(f"collect vs wrk vs aiohttp — stub {base} ({a.stub_threads} event-loop thread(s), pid {stub.pid}), "
          f"concurrency {a.concurrency}, {os.cpu_count()} cores, {a.rounds} round(s): wrk {a.wrk_seconds} s × {a.wrk_threads} threads; "
          f"ttu collect and aiohttp {a.prompts} prompts × {a.cap} = {n} generations", flush=True)
    res = {"wrk": [], "ttu": [], "ttu_run": [], "aiohttp": []}
    cpu = {"wrk": [], "ttu": [], "aiohttp": []}
    stubcpu = {"wrk": [], "ttu": [], "aiohttp": []}
    busy = {"wrk": [], "ttu": [], "aiohttp": []}
    try:
        # Warm-up: connections, page cache, the stub's allocator.
        subprocess.run(["wrk", "-t1", f"-c{a.concurrency}", "-d1s", "-s", lua, base + "/completions"], capture_output=True, check=True)
        for r in range(a.rounds):
            (out, _, wall, scpu, bz), c = child_cpu(lambda: run(
                ["wrk", f"-t{a.wrk_threads}", f"-c{a.concurrency}", f"-d{a.wrk_seconds}s", "-s", lua, base + "/completions"], stub.pid))
            m = re.search(r"Requests/sec:\s*([\d.]+)", out)
            reqs = int(re.search(r"(\d+) requests in", out).group(1))
            if re.search(r"Non-2xx|Socket errors", out):
                sys.exit("wrk saw errors:\n" + out)
            rate = float(m.group(1))
            res["wrk"].append(rate); cpu["wrk"].append(c / reqs * 1e6); stubcpu["wrk"].append(scpu / reqs * 1e6); busy["wrk"].append(bz)
            line = f"  round {r + 1}: wrk {rate:,.0f} req/s (CPU {c / reqs * 1e6:.1f} µs/req, stub {scpu / reqs * 1e6:.1f}, machine {bz:.2f} cores busy)"

            db = os.path.join(tmp, f"ttu-{r}.sqlite")
            (out, err, wall, scpu, bz), c = child_cpu(lambda: run(
                [a.ttu, "collect", "--prompts", prompts, "--per-prompt", str(a.cap), "--generator", "openai",
                 "--endpoint", base, "--model", "stub", "--api", "completions", "--rater", "lexicon",
                 "--concurrency", str(a.concurrency), "--seed", "1", "--db", db, "--out", os.path.join(tmp, f"obs-{r}.csv")], stub.pid))
            got = re.findall(r"(\d+) generations this run \(([\d.]+)/s\)", err)
            gens, in_run = int(got[-1][0]), float(got[-1][1])
            if gens != n:
                sys.exit(f"ttu collect drew {gens} generations, expected {n}:\n{err[-2000:]}")
            res["ttu"].append(n / wall); res["ttu_run"].append(in_run)
            cpu["ttu"].append(c / n * 1e6); stubcpu["ttu"].append(scpu / n * 1e6); busy["ttu"].append(bz)
            line += f"; ttu collect {n / wall:,.0f} gen/s whole process ({in_run:,.0f}/s in the run; CPU {c / n * 1e6:.1f} µs/gen = {c / wall:.2f} cores, stub {scpu / n * 1e6:.1f}, machine {bz:.2f})"

            if not a.skip_aiohttp:
                db = os.path.join(tmp, f"py-{r}.sqlite")
                (out, err, wall, scpu, bz), c = child_cpu(lambda: run(
                    [a.python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiohttp_sampler.py"),
                     base, prompts, str(a.cap), str(a.concurrency), db], stub.pid))
                j = json.loads(out)
                if j["generations"] != n:
                    sys.exit(f"aiohttp sampler drew {j['generations']} generations, expected {n}")
                res["aiohttp"].append(n / wall)
                cpu["aiohttp"].append(c / n * 1e6); stubcpu["aiohttp"].append(scpu / n * 1e6); busy["aiohttp"].append(bz)
                line += f"; aiohttp {n / wall:,.0f} gen/s whole process ({j['per_second']:,.0f}/s in the run; CPU {c / n * 1e6:.1f} µs/gen, stub {scpu / n * 1e6:.1f}, machine {bz:.2f})"
            print(line, flush=True)
    finally:
        stub.kill()
        stub.wait()

    med = {k: statistics.median(v) for k, v in res.items() if v}
    mc = {k: statistics.median(v) for k, v in cpu.items() if v}
    ms = {k: statistics.median(v) for k, v in stubcpu.items() if v}
    print(f"medians: wrk {med['wrk']:,.0f} req/s · ttu collect {med['ttu']:,.0f} gen/s (whole process; {med['ttu_run']:,.0f}/s in the run)"
          + (f" · aiohttp {med['aiohttp']:,.0f} gen/s" if "aiohttp" in med else ""))
    ratios = [t / w for t, w in zip(res["ttu"], res["wrk"])]
    print(f"ratio ttu collect / wrk: {statistics.median(ratios):.3f} (median of per-round ratios; rounds: "
          + ", ".join(f"{x:.3f}" for x in ratios) + f"; in-run rate {statistics.median([t / w for t, w in zip(res['ttu_run'], res['wrk'])]):.3f})")
    if "aiohttp" in med:
        print(f"ratio aiohttp / wrk: {statistics.median([p / w for p, w in zip(res['aiohttp'], res['wrk'])]):.3f}; "
              f"ttu collect / aiohttp: {statistics.median([t / p for t, p in zip(res['ttu'], res['aiohttp'])]):.2f}×")
    print("CPU per request (user + system, median): " + ", ".join(
        f"{k} {mc[k]:.1f} µs + stub {ms[k]:.1f} µs" for k in mc))
    print(f"files: {tmp}")


if __name__ == "__main__":
    main()
