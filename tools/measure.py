#!/usr/bin/env python3
"""Measures the local real components (run with tools/.venv/bin/python or any python3).

  tools/measure.py [--llm URL ...] [--rater URL] [--concurrency 8] [--summary obs.json]
  tools/measure.py --capacity-only --llm URL --llm URL2 --rater URL --summary obs.json

Capacity, the way `ttu collect` uses the servers: --concurrency workers per --llm
endpoint (every endpoint at once), each drawing one 30-token completion with its own
seed and rating it with one moderation request, for --capacity-requests generations
in all: generations/s of the servers. With --summary (the <out>.json a `ttu collect`
or `ttu run` stage wrote), also ttu's share of that capacity: its generations/s
(generations_this_run / elapsed_seconds) divided by the measured capacity.

Then (unless --capacity-only): completions/s one at a time, seed determinism, n>1
and chat support, moderation requests/s, and the fraction of generations on
fortune-file sentence prefixes that the rater flags.
Only talks to the given loopback URLs; every loop is bounded.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import time
import urllib.error
import urllib.request


def post(url: str, body: dict, timeout: float = 120.0) -> tuple[int, dict | str]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        raw = e.read().decode("utf-8", "replace")
        try:
            return e.code, json.loads(raw)
        except json.JSONDecodeError:
            return e.code, raw


def fortune_prefixes(n: int, rng: random.Random) -> list[str]:
    base = "/usr/share/games/fortunes"
    texts: list[str] = []
    if os.path.isdir(base):
        for name in sorted(os.listdir(base)):
            p = os.path.join(base, name)
            if "." in name or not os.path.isfile(p):
                continue
            with open(p, encoding="utf-8", errors="replace") as f:
                for entry in f.read().split("\n%\n"):
                    line = " ".join(entry.split())
                    words = line.split()
                    if 8 <= len(words) <= 60 and line.isascii():
                        texts.append(line)
    if not texts:
        texts = ["The quick brown fox jumps over the lazy dog and then it says"] * n
    picks = rng.sample(texts, min(n, len(texts)))
    # sentence prefix: first 6-10 words
    return [" ".join(t.split()[: rng.randint(6, 10)]) for t in picks]


def capacity(llms: list[str], rater: str | None, model: str, concurrency: int, total: int, max_tokens: int) -> dict:
    """Generations/s with `concurrency` requests in flight per endpoint, all endpoints at
    once, each generation followed by its rating (as ttu collect does)."""
    prompt = "Once upon a time, in a small village by the sea,"
    jobs = [(llms[i % len(llms)], i) for i in range(total)]

    def one(job: tuple[str, int]) -> tuple[bool, int]:
        llm, i = job
        st, r = post(f"{llm}/completions", {"model": model, "prompt": prompt, "max_tokens": max_tokens,
                                            "temperature": 1, "seed": 5000 + i})
        if st != 200 or not isinstance(r, dict) or "choices" not in r:
            return False, 0
        text = r["choices"][0].get("text", "")
        if rater:
            st2, _ = post(f"{rater}/moderations", {"input": text})
            if st2 != 200:
                return False, 0
        return True, r.get("usage", {}).get("completion_tokens", 0)

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=concurrency * len(llms)) as pool:
        results = list(pool.map(one, jobs))
    dt = time.monotonic() - t0
    ok = sum(1 for good, _ in results if good)
    return {"endpoints": llms, "concurrency_per_endpoint": concurrency, "generations": total, "failed": total - ok,
            "seconds": round(dt, 2), "generations_per_s": round(ok / dt, 2),
            "completion_tokens_per_s": round(sum(t for _, t in results) / dt, 1)}


def ttu_share(summary_path: str, cap: dict) -> dict:
    with open(summary_path, encoding="utf-8") as f:
        s = json.load(f)
    gens, secs = s.get("generations_this_run", 0), s.get("elapsed_seconds")
    if not secs or not gens:
        return {"summary": summary_path, "note": "the summary has no elapsed_seconds or drew nothing this run"}
    rate = gens / secs
    return {"summary": summary_path, "ttu_generations_per_s": round(rate, 2),
            "capacity_generations_per_s": cap["generations_per_s"],
            "ttu_share_of_capacity": round(rate / cap["generations_per_s"], 3) if cap["generations_per_s"] else None}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", action="append", help="API root of a generation server (repeat for every endpoint ttu uses)")
    ap.add_argument("--concurrency", type=int, default=8, help="requests in flight per endpoint (ttu's default: 8)")
    ap.add_argument("--capacity-requests", type=int, default=200, help="generations in the capacity measurement")
    ap.add_argument("--max-tokens", type=int, default=30)
    ap.add_argument("--summary", help="a ttu collect summary (<out>.json) to compare with the capacity")
    ap.add_argument("--capacity-only", action="store_true")
    ap.add_argument("--rater", default="http://127.0.0.1:8082/v1")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--per-prompt", type=int, default=5)
    args = ap.parse_args()
    llms = args.llm or ["http://127.0.0.1:8081/v1"]
    args.llm = llms[0]
    rng = random.Random(1234)
    out: dict = {}
    out["capacity"] = capacity(llms, args.rater or None, args.model, args.concurrency, args.capacity_requests, args.max_tokens)
    if args.summary:
        out["ttu_share"] = ttu_share(args.summary, out["capacity"])
    if args.capacity_only:
        print(json.dumps(out, indent=2))
        return

    # 1. throughput, one at a time
    prompt = "Once upon a time, in a small village by the sea,"
    t0 = time.monotonic()
    toks = 0
    for i in range(args.requests):
        st, r = post(f"{args.llm}/completions", {"model": args.model, "prompt": prompt, "max_tokens": 30,
                                                   "temperature": 1, "seed": 1000 + i})
        assert st == 200, (st, r)
        toks += r["usage"]["completion_tokens"]
    dt = time.monotonic() - t0
    out["completions_per_s"] = round(args.requests / dt, 2)
    out["completion_tokens_per_s"] = round(toks / dt, 1)
    out["sample_completion"] = r

    # 2. seed determinism
    body = {"model": args.model, "prompt": prompt, "max_tokens": 30, "temperature": 1}
    a = post(f"{args.llm}/completions", {**body, "seed": 42})[1]["choices"][0]["text"]
    b = post(f"{args.llm}/completions", {**body, "seed": 43})[1]["choices"][0]["text"]
    c = post(f"{args.llm}/completions", {**body, "seed": 42})[1]["choices"][0]["text"]
    d = post(f"{args.llm}/completions", body)[1]["choices"][0]["text"]
    e = post(f"{args.llm}/completions", body)[1]["choices"][0]["text"]
    out["seed_same_twice_equal"] = a == c
    out["seed_different_differs"] = a != b
    out["no_seed_twice_differs"] = d != e

    # 3. n > 1
    st, r = post(f"{args.llm}/completions", {**body, "seed": 7, "n": 3})
    out["n3_status"] = st
    out["n3_choices"] = len(r["choices"]) if isinstance(r, dict) and "choices" in r else r

    # 4. chat completions
    st, r = post(f"{args.llm}/chat/completions", {"model": args.model, "max_tokens": 30, "temperature": 1, "seed": 5,
                                                  "messages": [{"role": "user", "content": "Say hello in one sentence."}]})
    out["chat_status"] = st
    out["chat_reply"] = r["choices"][0]["message"] if st == 200 else r

    # 5. moderation throughput (single-text requests, then one batched request)
    texts = ["you are a wonderful person", "shut up you stupid idiot", "the weather is nice today"]
    n_mod = 200
    t0 = time.monotonic()
    for i in range(n_mod):
        st, r = post(f"{args.rater}/moderations", {"input": texts[i % 3], "model": "alt-profanity-check"})
        assert st == 200, (st, r)
    out["moderation_requests_per_s"] = round(n_mod / (time.monotonic() - t0), 1)
    t0 = time.monotonic()
    st, r = post(f"{args.rater}/moderations", {"input": texts * 100})
    out["moderation_batch_300_seconds"] = round(time.monotonic() - t0, 3)

    # 6. fortune prefixes -> generations -> rater
    prefixes = fortune_prefixes(args.prompts, rng)
    gens = []
    for pi, p in enumerate(prefixes):
        for k in range(args.per_prompt):
            st, r = post(f"{args.llm}/completions", {"model": args.model, "prompt": p, "max_tokens": 30,
                                                       "temperature": 1, "seed": 100 * pi + k})
            gens.append((p, r["choices"][0]["text"]))
    st, r = post(f"{args.rater}/moderations", {"input": [p + g for p, g in gens]})
    st2, r2 = post(f"{args.rater}/moderations", {"input": [g for _, g in gens]})
    flags = [x["flagged"] for x in r["results"]]
    flags_gen = [x["flagged"] for x in r2["results"]]
    out["fortune_generations"] = len(gens)
    out["flagged_fraction_prompt_plus_completion"] = round(sum(flags) / len(flags), 3)
    out["flagged_fraction_completion_only"] = round(sum(flags_gen) / len(flags_gen), 3)
    per_prompt = {}
    for (p, g), f, s in zip(gens, flags, r["results"]):
        per_prompt.setdefault(p, []).append((f, round(s["category_scores"]["profanity"], 3)))
    out["per_prompt_flags"] = {p: sum(f for f, _ in v) for p, v in per_prompt.items()}
    out["flagged_examples"] = [p + g for (p, g), f in zip(gens, flags) if f][:8]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
