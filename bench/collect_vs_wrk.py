#!/usr/bin/env python3
"""`ttu collect` against `wrk` and a plain Python asyncio+aiohttp sampler, in one run, on
one instant stub (see collect_vs_wrk.sh, which installs wrk and aiohttp and builds ttu).

The stub is `ttu bench --serve-stub 0`: the project's loopback OpenAI-compatible server
answering every completion at once with one fixed safe text, in its own process on
127.0.0.1. Each round runs, one after the other against that same stub:
  wrk      -c CONCURRENCY, POSTing the body ttu sends for one generation, for --wrk-seconds;
  ttu      ttu collect --per-prompt CAP over PROMPTS prompts, --concurrency CONCURRENCY
           (and --ttu-baseline, another build, the same way),
           lexicon rater, SQLite log (a fresh one per round);
  aiohttp  bench/aiohttp_sampler.py doing the same job (POST, parse JSON, rate by a word
           list, log to SQLite) at the same concurrency.
Rounds alternate so background load falls on every side alike; medians are printed, with
each process's CPU time (user + system of the children waited for) and the stub's (from /proc) per
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


def run(cmd, stub_pid):
    """Runs cmd to its end (exits on failure); returns (stdout, stderr, wall seconds)."""
    w0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = p.communicate()
    if p.returncode != 0:
        sys.exit(f"failed ({p.returncode}): {' '.join(cmd)}\n{err[-2000:]}")
    return out, err, time.perf_counter() - w0


def has_aiohttp(python):
    try:
        return subprocess.run([python, "-c", "import aiohttp"], capture_output=True).returncode == 0
    except OSError:
        return False


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
    ap.add_argument("--ttu-baseline", help="another ttu executable (e.g. built from an older commit) measured in the same rounds")
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
          f"the samplers {a.prompts} prompts × {a.cap} = {n} generations each", flush=True)

    def wrk():
        out = run(["wrk", f"-t{a.wrk_threads}", f"-c{a.concurrency}", f"-d{a.wrk_seconds}s", "-s", lua, base + "/completions"], stub.pid)[0]
        if re.search(r"Non-2xx|Socket errors", out):
            sys.exit("wrk saw errors:\n" + out)
        return int(re.search(r"(\d+) requests in", out).group(1)), float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1)), ""

    def collect(ttu, tag):
        def go(r):
            out, err, wall = run([ttu, "collect", "--prompts", prompts, "--per-prompt", str(a.cap), "--generator", "openai",
                                  "--endpoint", base, "--model", "stub", "--api", "completions", "--rater", "lexicon",
                                  "--concurrency", str(a.concurrency), "--seed", "1", "--db", os.path.join(tmp, f"{tag}-{r}.sqlite"),
                                  "--out", os.path.join(tmp, f"{tag}-{r}.csv")], stub.pid)[:3]
            got = re.findall(r"(\d+) generations this run \(([\d.]+)/s\)", err)
            if not got or int(got[-1][0]) != n:
                sys.exit(f"{ttu} collect did not draw {n} generations:\n{err[-2000:]}")
            return n, n / wall, f"{float(got[-1][1]):,.0f}/s within the run"
        return go

    def aiohttp(r):
        out, _, wall = run([a.python, os.path.join(os.path.dirname(os.path.abspath(__file__)), "aiohttp_sampler.py"),
                            base, prompts, str(a.cap), str(a.concurrency), os.path.join(tmp, f"py-{r}.sqlite")], stub.pid)[:3]
        j = json.loads(out)
        if j["generations"] != n:
            sys.exit(f"aiohttp sampler drew {j['generations']} generations, expected {n}")
        return n, n / wall, f"{j['per_second']:,.0f}/s within the run"

    sides = [("wrk", lambda r: wrk(), "req/s"), ("ttu collect", collect(a.ttu, "ttu"), "gen/s")]
    if a.ttu_baseline:
        sides.append(("ttu collect (baseline)", collect(a.ttu_baseline, "base"), "gen/s"))
    if not a.skip_aiohttp:
        sides.append(("aiohttp", aiohttp, "gen/s"))
    rate = {k: [] for k, _, _ in sides}
    cpu, stubcpu, cores = ({k: [] for k, _, _ in sides} for _ in range(3))
    try:
        # Warm-up: connections, page cache, the stub's allocator.
        subprocess.run(["wrk", "-t1", f"-c{a.concurrency}", "-d1s", "-s", lua, base + "/completions"], capture_output=True, check=True)
        for r in range(a.rounds):
            print(f"  round {r + 1}:", flush=True)
            for name, fn, unit in sides:
                s0, (b0, _), w0, r0 = proc_cpu(stub.pid), machine_busy(), time.perf_counter(), os.times()
                reqs, rt, note = fn(r)
                r1, w1, (b1, _), s1 = os.times(), time.perf_counter(), machine_busy(), proc_cpu(stub.pid)
                c = (r1.children_user - r0.children_user) + (r1.children_system - r0.children_system)
                rate[name].append(rt); cpu[name].append(c / reqs * 1e6); stubcpu[name].append((s1 - s0) / reqs * 1e6)
                cores[name].append(c / (w1 - w0))
                print(f"    {name:24s} {rt:9,.0f} {unit}  CPU {c / reqs * 1e6:6.1f} µs/request ({c / (w1 - w0):.2f} cores), "
                      f"stub {(s1 - s0) / reqs * 1e6:5.1f} µs/request ({(s1 - s0) / (w1 - w0):.2f} cores), "
                      f"machine {(b1 - b0) / TICK / (w1 - w0):.2f} cores busy" + (f"; {note}" if note else ""), flush=True)
    finally:
        stub.kill()
        stub.wait()

    med = lambda xs: statistics.median(xs)
    print(f"medians of {a.rounds} round(s):")
    for name, _, unit in sides:
        print(f"  {name:24s} {med(rate[name]):9,.0f} {unit}  CPU {med(cpu[name]):6.1f} µs/request ({med(cores[name]):.2f} cores), stub {med(stubcpu[name]):5.1f} µs/request")
    for name, _, _ in sides[1:]:
        ratios = [x / w for x, w in zip(rate[name], rate["wrk"])]
        print(f"ratio {name} / wrk: {med(ratios):.3f} (median of per-round ratios: " + ", ".join(f"{x:.3f}" for x in ratios) + ")")
    if "aiohttp" in rate:
        print(f"ratio ttu collect / aiohttp: {med([t / p for t, p in zip(rate['ttu collect'], rate['aiohttp'])]):.2f}×")
    print(f"files: {tmp}")


if __name__ == "__main__":
    main()
