#!/usr/bin/env python3
"""Measures the local real components (run with tools/.venv/bin/python or any python3).

  tools/measure.py [--llm http://127.0.0.1:8081/v1] [--rater http://127.0.0.1:8082/v1]

Reports completions/s (30-token completions, one at a time), seed determinism,
n>1 support, chat-completions support, moderation requests/s, and the fraction
of generations on fortune-file sentence prefixes that the rater flags.
Only talks to the given loopback URLs; every loop is bounded.
"""
from __future__ import annotations

import argparse
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--llm", default="http://127.0.0.1:8081/v1")
    ap.add_argument("--rater", default="http://127.0.0.1:8082/v1")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--requests", type=int, default=20)
    ap.add_argument("--prompts", type=int, default=20)
    ap.add_argument("--per-prompt", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(1234)
    out: dict = {}

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
