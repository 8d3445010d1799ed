#!/usr/bin/env bash
# Stops the servers started by tools/start-llm.sh and tools/start-rater.sh
# (by the pid files in tools/.cache). Safe to run when nothing is running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
stop_pidfile llm
# further instances started with TTU_LLM_NAME=llm2 … (tools/start-llm.sh)
for f in "$CACHE"/llm?*.pid; do
  [[ -e "$f" ]] || continue
  n="$(basename "$f" .pid)"; stop_pidfile "$n"
done
stop_pidfile rater
