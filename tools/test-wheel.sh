#!/usr/bin/env bash
# Checks the pip wheel end to end, offline: builds a wheel around BINARY (default
# .build/release/ttu, which .ci/run has just built: no static rebuild), pip-installs it
# into a fresh venv (--no-index), runs `ttu demo` from that venv in another folder, and
# runs the ttu_run reader's unit tests (python/tests) with the venv's Python on that run.
# Closes with one line 'wheel: N passed, N failed, N skipped'; exits non-zero on any failure.
# Usage: tools/test-wheel.sh [BINARY]
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
binary="$(cd "$repo" && realpath "${1:-.build/release/ttu}")"
fail() { echo "test-wheel: FAILED: $*" >&2; echo "wheel: 0 passed, 1 failed, 0 skipped"; exit 1; }
[[ -x "$binary" ]] || fail "no binary at $binary (swift build -c release --product ttu)"
command -v python3 >/dev/null || fail "python3 not found (the wheel step needs python3 with venv)"
t0=$(date +%s)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

python3 "$repo/tools/make_wheel.py" --binary "$binary" --out "$tmp/dist" >"$tmp/wheel-path" 2>"$tmp/make.log" \
  || { cat "$tmp/make.log" >&2; fail "tools/make_wheel.py"; }
wheel="$(cat "$tmp/wheel-path")"
cat "$tmp/make.log"   # what the wheel is for (a plain swift build's: this machine only)
echo "test-wheel: $(basename "$wheel") ($(du -m "$wheel" | cut -f1) MB)"

# A fresh venv. Without ensurepip (Debian's python3 without python3-venv) make it without
# pip and install with the system's pip (pip >= 22.3 has --python).
venv="$tmp/venv"
pip=("$venv/bin/python" -m pip)
if ! python3 -m venv "$venv" >"$tmp/venv.log" 2>&1; then
  rm -rf "$venv"
  python3 -m venv --without-pip "$venv" >>"$tmp/venv.log" 2>&1 || { cat "$tmp/venv.log" >&2; fail "python3 -m venv"; }
  python3 -m pip --version >/dev/null 2>&1 \
    || fail "python3 has neither ensurepip nor pip: apt-get install python3-venv (or python3-pip)"
  pip=(python3 -m pip --python "$venv/bin/python")
fi
"${pip[@]}" install --no-index --no-deps --disable-pip-version-check --quiet "$wheel" >"$tmp/pip.log" 2>&1 \
  || { cat "$tmp/pip.log" >&2; fail "pip install --no-index $(basename "$wheel")"; }

# ttu on the venv's PATH, run from a folder that is not the repository.
work="$tmp/work"; mkdir -p "$work/tests"
cd "$work"
export PATH="$venv/bin:$PATH"
[[ "$(command -v ttu)" == "$venv/bin/ttu" ]] || fail "ttu on PATH is $(command -v ttu), not the venv's"
want="$(sed -nE 's/.*version: *"([^"]+)".*/\1/p' "$repo/Sources/ttu/TTU.swift" | head -1)"
got="$(ttu --version)" || fail "ttu --version"
[[ "$got" == "$want" ]] || fail "ttu --version says '$got', Sources/ttu/TTU.swift '$want'"
ttu demo --out runs/demo --quiet >"$tmp/demo.log" 2>&1 || { cat "$tmp/demo.log" >&2; fail "ttu demo (from the venv)"; }
[[ -f runs/demo/report.html ]] || fail "ttu demo wrote no runs/demo/report.html"

# The reader's tests, from a copy outside the repository: they import the installed ttu_run.
cp "$repo/python/tests/test_reader.py" tests/
set +e
TTU_RUN_DIR="$work/runs/demo" "$venv/bin/python" -m unittest discover -s tests -v >"$tmp/unittest.log" 2>&1
status=$?
set -e
where="$("$venv/bin/python" -c 'import ttu_run; print(ttu_run.__file__)')"
[[ "$where" == "$venv"/* ]] || fail "the tests imported ttu_run from $where, not the venv"
ran=$(sed -nE 's/^Ran ([0-9]+) tests? .*/\1/p' "$tmp/unittest.log")
skipped=$(grep -oE "skipped=[0-9]+" "$tmp/unittest.log" | grep -oE "[0-9]+" || echo 0)
bad=0
for n in $(grep -oE "(failures|errors)=[0-9]+" "$tmp/unittest.log" | grep -oE "[0-9]+"); do bad=$(( bad + n )); done
if [[ $status -ne 0 || -z "$ran" ]]; then
  cat "$tmp/unittest.log" >&2
  echo "test-wheel: FAILED: the ttu_run tests (python3 -m unittest)" >&2
  echo "wheel: $(( ${ran:-0} - bad - skipped )) passed, $(( bad > 0 ? bad : 1 )) failed, $skipped skipped"
  exit 1
fi
echo "test-wheel: pip install, ttu demo from the venv and $ran reader tests in $(( $(date +%s) - t0 )) s"
echo "wheel: $(( ran - skipped )) passed, 0 failed, $skipped skipped"
