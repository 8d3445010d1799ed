#!/usr/bin/env python3
"""Where `ttu collect`'s CPU goes, from a `perf record -g` profile: each sample is charged
to the first frame, from the leaf up, that belongs to a known part (kernel samples by the
system call they serve). Allocation, reference counting and runtime calls are charged
to the part that made them.

usage: perf record -F 2000 -g -o perf.data -- ttu collect …
       perf script -i perf.data | bench/perf_breakdown.py
"""
import re, sys
from collections import Counter

PARTS = [  # (part, pattern on a frame's symbol), tried in order on each frame from the leaf up
    ("SQLite log (writer thread)", r"sqlite3|SampleLog|LogWriter.*loop|GRDB"),
    ("JSON parsing (CompletionJSON)", r"CompletionJSON|JSONScanner|parseChoices"),
    ("lexicon rating", r"LexiconRater"),
    ("scheduler", r"9Scheduler"),
    ("log hand-off (LogWriter.append)", r"LogWriter.*append"),
    ("request building", r"bodyBuffer|GenerationRequest|StableHash|writeQuoted"),
    ("HTTP response parsing (NIO llhttp)", r"llhttp|HTTPDecoder|BetterHTTPParser|ResponseDecoder"),
    ("HTTP client (KeepAliveClient)", r"KeepAliveClient|ResponseHandler|HTTPTransport"),
    ("AsyncHTTPClient", r"AsyncHTTPClient"),
    ("NIO event loop, channel, socket calls", r"NIOPosix|NIOCore"),
    ("collector worker (rows, retries)", r"Collector|withRetries"),
    ("Swift concurrency runtime", r"swift_task|swift_job|swift_continuation|ExecutorJob|TaskExecutor|EventLoopExecutor"),
]
KERNEL_IO = r"sys_write|sys_read|sys_sendmsg|sys_recvmsg|sys_writev|sys_readv|tcp_|sock_|ip_"
KERNEL_WAIT = r"futex|epoll|schedule|sys_nanosleep"


def part(frames):
    if frames and frames[0][1]:
        syms = " ".join(s for s, _ in frames)
        if re.search(KERNEL_IO, syms):
            return "kernel: socket I/O"
        if re.search(KERNEL_WAIT, syms):
            return "kernel: waits and wake-ups (futex, epoll)"
        return "kernel: other"
    for s, _ in frames:
        for name, pat in PARTS:
            if re.search(pat, s):
                return name
    return "other (allocation, libc, startup)"


def samples(lines):
    frames = None
    for line in lines:
        if not line.strip():
            if frames is not None:
                yield frames
            frames = None
        elif not line.startswith((" ", "\t")):
            frames = []
        elif frames is not None:
            bits = line.strip().split(None, 1)
            sym = bits[1] if len(bits) > 1 else ""
            frames.append((sym, "[kernel" in sym))
    if frames:
        yield frames


c = Counter(part(f) for f in samples(sys.stdin))
total = sum(c.values())
for name, n in c.most_common():
    print(f"{100 * n / total:5.1f}%  {name}")
print(f"({total} samples)")
