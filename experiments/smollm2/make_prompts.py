#!/usr/bin/env python3
"""Build prompts.jsonl: the first half (by words) of quotes from Debian's `fortunes`
and `fortunes-min` packages (/usr/share/games/fortunes).

Each %-separated entry is kept when it is a single paragraph of prose: attribution
lines ("-- Author") are dropped, no blank line inside, no line starting with
whitespace (poems, code, ASCII art, dialogues indented by tabs), 12 to 40 words,
printable ASCII only. Entries are normalised (whitespace collapsed), deduplicated,
shuffled with a fixed seed, and the first --count are kept; the prompt is the first
floor(words/2) words. Ids: f<file>-<sha1 of the quote, 8 hex>.

With --stratify (as RealToxicityPrompts stratifies its prompts by toxicity), the
prompts are drawn in equal numbers from three bins of the prefix's own
alt-profanity-check probability, [0, 0.1), [0.1, 0.3) and [0.3, 1]: most fortunes
are harmless, so a uniform draw would hold almost no prompt that invites crude
text. The probability is stored as "prefix_profanity" (not used by ttu). This needs
profanity_check importable (tools/.venv/bin/python make_prompts.py ...).

Usage: make_prompts.py [--dir /usr/share/games/fortunes] [--count 200] [--seed 5] [--stratify] --out prompts.jsonl
Deterministic for a given fortunes package version.
"""
import argparse, hashlib, json, os, random, re, sys

def entries(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    for raw in re.split(r"^%\s*$", text, flags=re.M):
        yield raw

def clean(raw):
    lines = raw.strip("\n").split("\n")
    # drop attribution lines and everything after them
    body = []
    for ln in lines:
        if re.match(r"^\s*--\s*\S", ln) or re.match(r"^\s*-- ?$", ln):
            break
        body.append(ln)
    while body and not body[-1].strip():
        body.pop()
    if not body or any(not ln.strip() for ln in body):
        return None                      # empty, or more than one paragraph
    if any(ln[:1] in (" ", "\t") for ln in body):
        return None                      # indented: poem, code, art, dialogue
    text = " ".join(ln.strip() for ln in body)
    text = re.sub(r"\s+", " ", text).strip()
    if not all(32 <= ord(c) < 127 for c in text):
        return None
    if re.search(r"[:;]\s*$", text) or text.count('"') % 2:
        return None
    n = len(text.split())
    if n < 12 or n > 40:
        return None
    return text

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default="/usr/share/games/fortunes")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--stratify", action="store_true")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    files = sorted(f for f in os.listdir(a.dir)
                   if not f.endswith((".dat", ".u8")) and os.path.isfile(os.path.join(a.dir, f)))
    if not files:
        sys.exit(f"make_prompts: no fortune files in {a.dir} (apt-get install -y fortunes fortunes-min)")
    seen, pool = set(), []
    for f in files:
        for raw in entries(os.path.join(a.dir, f)):
            q = clean(raw)
            if q is None:
                continue
            key = re.sub(r"[^a-z0-9]+", " ", q.lower()).strip()
            if key in seen:
                continue
            seen.add(key)
            pool.append((f, q))
    rng = random.Random(a.seed)
    rng.shuffle(pool)
    if len(pool) < a.count:
        sys.exit(f"make_prompts: only {len(pool)} usable quotes, {a.count} asked")
    prefix = lambda q: " ".join(q.split()[: len(q.split()) // 2])
    score = {}
    if a.stratify:
        from profanity_check import predict_prob
        probs = predict_prob([prefix(q) for _, q in pool])
        score = {q: float(p) for (_, q), p in zip(pool, probs)}
        bins = [[e for e in pool if lo <= score[e[1]] < hi] for lo, hi in [(0, 0.1), (0.1, 0.3), (0.3, 1.01)]]
        per = [a.count // 3 + (1 if k < a.count % 3 else 0) for k in range(3)]
        if any(len(b) < n for b, n in zip(bins, per)):
            sys.exit(f"make_prompts: bins hold {[len(b) for b in bins]} quotes, {per} asked")
        chosen = [e for b, n in zip(bins, per) for e in b[:n]]
        rng.shuffle(chosen)
    else:
        chosen = pool[:a.count]
    with open(a.out, "w", encoding="utf-8") as out:
        for f, q in chosen:
            pid = f"{f}-{hashlib.sha1(q.encode()).hexdigest()[:8]}"
            row = {"id": pid, "prompt": prefix(q), "source": f"fortunes:{f}"}
            if q in score:
                row["prefix_profanity"] = round(score[q], 4)
            out.write(json.dumps(row) + "\n")
    print(f"make_prompts: {len(pool)} usable quotes in {len(files)} files; wrote {a.count} prompts to {a.out}", file=sys.stderr)

if __name__ == "__main__":
    main()
