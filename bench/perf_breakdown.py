#!/usr/bin/env python3
"""Where `ttu collect`'s CPU goes, from a `perf record -g` profile.

Each sample is charged to the first frame, from the leaf up, that belongs to a known part
(kernel samples by the system call they serve); allocation, reference counting and other
runtime calls are thus charged to the part that made them. ttu's own functions are told
apart by their owner after demangling (swift-demangle), so a function is never charged
to a type that only appears in its signature.

usage: perf record -F 2000 -g -o perf.data -- ttu collect …
       perf script -i perf.data | bench/perf_breakdown.py [--swift-demangle PATH]
"""
import re, shutil, subprocess, sys
from collections import Counter

OWNERS = [  # (part, regex on the demangled owner of a TTUSampling function)
    ("SQLite log (writer thread)", r"SampleLog\.insert|LogWriter\.loop"),
    ("log hand-off (LogWriter.append)", r"LogWriter\.append"),
    ("JSON parsing (CompletionJSON)", r"CompletionJSON\.|JSONScanner\.|OpenAIGenerator\.parseChoices"),
    ("lexicon rating", r"LexiconRater\."),
    ("scheduler", r"Scheduler\."),
    ("request building", r"OpenAIGenerator\.bodyBuffer|GenerationRequest\.|JSONAccess\."),
    ("HTTP response parsing (HTTP1ResponseParser)", r"HTTP1ResponseParser\."),
    ("HTTP client (KeepAliveClient, HTTPTransport)", r"KeepAliveClient\.|ResponseHandler\.|HTTPTransport\.|RouteCache\."),
    ("collector worker (rows, retries, clocks)", r"Collector\.|withRetries"),
    ("Swift concurrency runtime", r"EventLoopExecutor\."),
]
PREFIX = re.compile(r"(closure #\d+ (\(.*?\) )?in |implicit closure #\d+ (\(.*?\) )?in |specialized |partial apply for |merged |"
                    r"(await|suspend) resume partial function for |async function pointer to |outlined [\w ]+ of |"
                    r"reabstraction thunk helper from |protocol witness for )")
KERNEL_IO = r"sys_write|sys_read|sys_sendmsg|sys_recvmsg|sys_writev|sys_readv|tcp_|sock_|ip_"
KERNEL_WAIT = r"futex|epoll|schedule|sys_nanosleep"


def owner(demangled):
    s = demangled
    while True:
        m = PREFIX.match(s)
        if not m:
            return s
        s = s[m.end():]


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
            frames.append(re.sub(r"\+0x[0-9a-f]+ \(.*\)$| \(.*\)$", "", sym) + (" [kernel]" if "[kernel" in sym else ""))
    if frames:
        yield frames


def main():
    demangler = sys.argv[sys.argv.index("--swift-demangle") + 1] if "--swift-demangle" in sys.argv else (
        shutil.which("swift-demangle") or "/opt/swift/usr/bin/swift-demangle")
    all_samples = list(samples(sys.stdin))
    ours = sorted({f for s in all_samples for f in s if f.startswith("$s11TTUSampling")})
    names = {}
    if ours:
        out = subprocess.run([demangler, "--simplified"], input="\n".join(ours) + "\n", capture_output=True, text=True).stdout
        names = dict(zip(ours, out.splitlines()))

    def part(frames):
        if frames and frames[0].endswith("[kernel]"):
            syms = " ".join(frames)
            if re.search(KERNEL_IO, syms):
                return "kernel: socket I/O"
            if re.search(KERNEL_WAIT, syms):
                return "kernel: waits and wake-ups (futex, epoll)"
            return "kernel: other"
        for f in frames:
            if f in names:
                o = owner(names[f])
                for name, pat in OWNERS:
                    if re.match(pat, o):
                        return name
            elif f.startswith("sqlite3") or f.startswith("$s4GRDB"):
                return "SQLite log (writer thread)"
            elif f.startswith(("$s8NIOPosix", "$s7NIOCore")):
                return "NIO event loop, channel, socket calls"
            elif f.startswith("$s15AsyncHTTPClient"):
                return "AsyncHTTPClient"
            elif f.startswith(("$s8NIOHTTP1", "c_nio_llhttp")):
                return "HTTP response parsing (NIO llhttp)"
            elif re.match(r"swift_task|swift_job|swift_continuation|swift::AsyncTask|withStatusRecordLock|_dispatch", f):
                return "Swift concurrency runtime"
        return "other (allocation, libc, startup)"

    c = Counter(part(f) for f in all_samples)
    total = sum(c.values())
    for name, n in c.most_common():
        print(f"{100 * n / total:5.1f}%  {name}")
    print(f"({total} samples)")


if __name__ == "__main__":
    main()
