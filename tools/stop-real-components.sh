#!/usr/bin/env bash
# Stops the servers started by tools/start-llm.sh and tools/start-rater.sh
# (by the pid files in tools/.cache). Safe to run when nothing is running.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
stop_pidfile llm
stop_pidfile rater
