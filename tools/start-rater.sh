#!/usr/bin/env bash
# Starts tools/moderation_server.py (OpenAI-compatible /v1/moderations around
# alt-profanity-check) on 127.0.0.1:PORT (default 8082).
# Prints the base URL (http://127.0.0.1:PORT/v1) on stdout when it answers.
# Env: TTU_RATER_THRESHOLD (0.5), TTU_RATER_START_TIMEOUT (60 s).
# Extra arguments after PORT go to moderation_server.py (e.g. --threshold 0.7 --quiet).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

PORT="${1:-8082}"; shift || true
[[ "$PORT" =~ ^[0-9]+$ ]] || die "usage: $0 [PORT] [moderation_server.py options]"
need_venv
"$PY" -c 'import profanity_check' 2>/dev/null || die "alt-profanity-check missing: run tools/install-real-components.sh"

start_bg rater "$PORT" "http://127.0.0.1:$PORT/health" "${TTU_RATER_START_TIMEOUT:-60}" \
  "$PY" "$TOOLS_DIR/moderation_server.py" --host 127.0.0.1 --port "$PORT" \
    --threshold "${TTU_RATER_THRESHOLD:-0.5}" "$@"

echo "http://127.0.0.1:$PORT/v1"
