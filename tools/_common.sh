# Shared helpers for tools/start-*.sh and tools/stop-real-components.sh.
# Sourced, not executed.
TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${TTU_VENV:-$TOOLS_DIR/.venv}"
PY="$VENV/bin/python"
CACHE="$TOOLS_DIR/.cache"

die() { echo "$(basename "$0"): ERROR: $*" >&2; exit 1; }
log() { echo "$(basename "$0"): $*" >&2; }

need_venv() {
  [[ -x "$PY" ]] || die "no virtualenv at $VENV: run tools/install-real-components.sh first"
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# http_ok URL -> exit 0 if GET URL answers 2xx within 2 s
http_ok() {
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=2) as r:
    sys.exit(0 if 200 <= r.status < 300 else 1)
PYEOF
}

port_in_use() {
  # Something accepting connections on 127.0.0.1:PORT? (TIME_WAIT leftovers don't count.)
  "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)   # free
sys.exit(0)       # in use
PYEOF
}

# start_bg NAME PORT CHECK_URL TIMEOUT_S cmd...
#   Starts cmd in the background (own session), pid -> .cache/NAME.pid,
#   output -> .cache/NAME.log, waits until CHECK_URL answers.
start_bg() {
  local name="$1" port="$2" url="$3" timeout="$4"; shift 4
  local pidf="$CACHE/$name.pid" logf="$CACHE/$name.log"
  mkdir -p "$CACHE"
  local portf="$CACHE/$name.port"
  if [[ -f "$pidf" ]] && pid_alive "$(cat "$pidf")"; then
    local running_port; running_port="$(cat "$portf" 2>/dev/null || true)"
    if [[ "$running_port" != "$port" ]]; then
      die "$name already running (pid $(cat "$pidf")) on port ${running_port:-?}; run tools/stop-real-components.sh first"
    fi
    if http_ok "$url"; then
      log "$name already running (pid $(cat "$pidf"))"
      return 0
    fi
    die "$name has pid $(cat "$pidf") but $url does not answer; run tools/stop-real-components.sh"
  fi
  rm -f "$pidf"
  port_in_use "$port" && die "port $port on 127.0.0.1 is already in use by another process"
  local t0; t0=$(date +%s.%N)
  setsid "$@" >"$logf" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$pidf"
  echo "$port" >"$portf"
  local deadline=$(( $(date +%s) + timeout ))
  until http_ok "$url"; do
    if ! pid_alive "$pid"; then
      rm -f "$pidf"
      echo "---- last lines of $logf ----" >&2; tail -n 30 "$logf" >&2
      die "$name exited during start-up"
    fi
    if (( $(date +%s) >= deadline )); then
      kill "$pid" 2>/dev/null || true
      rm -f "$pidf"
      echo "---- last lines of $logf ----" >&2; tail -n 30 "$logf" >&2
      die "$name did not answer $url within ${timeout}s (killed)"
    fi
    sleep 0.2
  done
  log "$name up (pid $pid) in $("$PY" -c "import sys; print(f'{float(sys.argv[2])-float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s; log: $logf"
}

# stop_pidfile NAME: SIGTERM, wait up to 10 s, then SIGKILL.
stop_pidfile() {
  local name="$1" pidf="$CACHE/$1.pid"
  [[ -f "$pidf" ]] || { log "$name: not running (no pid file)"; return 0; }
  local pid; pid="$(cat "$pidf")"
  if pid_alive "$pid"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do pid_alive "$pid" || break; sleep 0.2; done
    if pid_alive "$pid"; then
      log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
      kill -9 "$pid" 2>/dev/null || true
    fi
    log "$name (pid $pid) stopped"
  else
    log "$name: stale pid file (pid $pid not running)"
  fi
  rm -f "$pidf" "$CACHE/$name.port"
}
