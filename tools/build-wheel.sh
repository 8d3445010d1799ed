#!/usr/bin/env bash
# Builds dist/ttu-VERSION-py3-none-PLATFORM.whl: the `ttu` binary, which pip puts on PATH,
# and the run-folder reader `import ttu_run` (pure Python). Needs python3 only: the wheel
# is written by tools/make_wheel.py with the standard library, nothing is downloaded.
# Usage: tools/build-wheel.sh [--binary PATH] [--out DIR]
#   default binary: dist/ttu from tools/build-standalone.sh (built first if missing,
#   10-25 min), which runs on any x86_64 glibc Linux without Swift; a binary of a plain
#   `swift build` (e.g. --binary .build/release/ttu) gives a wheel for this machine only.
set -euo pipefail
cd "$(dirname "$0")/.."
binary="" out="dist"
while (( $# )); do
  case "$1" in
    --binary) binary="${2:?--binary needs a path}"; shift 2 ;;
    --out) out="${2:?--out needs a folder}"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "build-wheel: unknown option '$1' (--binary PATH, --out DIR)" >&2; exit 2 ;;
  esac
done
if [[ -z "$binary" ]]; then
  binary=dist/ttu
  if [[ ! -x "$binary" ]]; then
    echo "build-wheel: no dist/ttu yet: building it (tools/build-standalone.sh, 10-25 min the first time)" >&2
    tools/build-standalone.sh
  fi
fi
command -v python3 >/dev/null || { echo "build-wheel: ERROR: python3 not found" >&2; exit 1; }
python3 tools/make_wheel.py --binary "$binary" --out "$out"
