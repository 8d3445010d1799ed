#!/usr/bin/env bash
# `ttu collect` vs wrk vs a plain Python aiohttp sampler, in one run, against one instant
# stub (`ttu bench --serve-stub`, its own process on 127.0.0.1). Installs what it needs:
# wrk (apt-get install -y wrk), aiohttp in bench/.venv (git-ignored), and builds ttu in
# release mode (skipped when $TTU names a built ttu). Options go to collect_vs_wrk.py
# (--rounds, --concurrency, --prompts, --cap, --wrk-seconds, --stub-threads; see --help).
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
  echo "installing wrk: apt-get install -y wrk" >&2
  apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
[ -x bench/.venv/bin/python ] || python3 -m venv bench/.venv
bench/.venv/bin/python -c 'import aiohttp' 2>/dev/null || bench/.venv/bin/pip install -q aiohttp
if [ -z "${TTU:-}" ]; then
  swift build -c release --product ttu >&2 && swift build -c release --product ttu-bench >&2
  TTU=.build/release/ttu
fi
exec bench/.venv/bin/python bench/collect_vs_wrk.py --ttu "$TTU" "$@"
