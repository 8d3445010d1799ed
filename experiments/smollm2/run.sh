#!/usr/bin/env bash
# The real-model study (issue 5), end to end: SmolLM2-135M-Instruct (llama-cpp-python)
# continuing sentence prefixes from Debian's fortunes, rated by alt-profanity-check;
# training counts → predictor → one deep sample per calibration/test prompt → for each
# strategy × budget × repetition: plan, derived observations, calibrate, bound, evaluate.
# See README.md. Rerunnable and resumable: every sampling stage resumes from its SQLite
# log (kill it and rerun the same command); the analysis after it is cheap and redone.
#
# Env (defaults = the committed study):
#   N_PROMPTS=180 N_TRAIN=60 TRAIN_GENS=15 DEEP_CAP=100 BUDGETS="10 25 50" REPS=5
#   ALPHA=0.1 MAX_WEIGHT=2 CAL_FRACTION=0.6 DELTA=0.1 SEED=1
#   START_LOCAL=1        install and start the local servers (0: use the endpoints below)
#   LLM_SERVERS=1        local llama-cpp-python instances (1 thread each; 2 use both cores)
#   LLM_ENDPOINTS="http://127.0.0.1:8081/v1"  MODEL=smollm2
#   MODERATION_ENDPOINT=http://127.0.0.1:8082/v1  THRESHOLD=0.5
#   EXTRA_BODY='{"top_k":0,"min_p":0,"repeat_penalty":1}'   (llama-cpp-python; '' for none)
#   CONCURRENCY=2        requests in flight per endpoint
#   STAGE=all            all | collect (sampling only) | analyse (no sampling; needs the CSVs)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"

N_PROMPTS="${N_PROMPTS:-180}"; N_TRAIN="${N_TRAIN:-60}"; TRAIN_GENS="${TRAIN_GENS:-15}"; DEEP_CAP="${DEEP_CAP:-100}"
BUDGETS="${BUDGETS:-10 25 50}"; REPS="${REPS:-5}"; ALPHA="${ALPHA:-0.1}"; MAX_WEIGHT="${MAX_WEIGHT:-2}"
CAL_FRACTION="${CAL_FRACTION:-0.6}"; DELTA="${DELTA:-0.1}"; SEED="${SEED:-1}"
START_LOCAL="${START_LOCAL:-1}"; LLM_SERVERS="${LLM_SERVERS:-1}"
MODEL="${MODEL:-smollm2}"; MODERATION_ENDPOINT="${MODERATION_ENDPOINT:-http://127.0.0.1:8082/v1}"; THRESHOLD="${THRESHOLD:-0.5}"
EXTRA_BODY="${EXTRA_BODY-{\"top_k\":0,\"min_p\":0,\"repeat_penalty\":1\}}"
CONCURRENCY="${CONCURRENCY:-2}"; STAGE="${STAGE:-all}"
OUT="${OUT:-$HERE/out}"          # logs, SQLite, per-repetition files (not committed)
RES="${RES:-$HERE/results}"      # the committed CSVs
mkdir -p "$OUT" "$RES"
log() { echo "[$(date +%H:%M:%S)] run.sh: $*" >&2; }

# ---- servers -------------------------------------------------------------------------
if [[ -z "${LLM_ENDPOINTS:-}" ]]; then
  LLM_ENDPOINTS=""
  for ((i = 0; i < LLM_SERVERS; i++)); do LLM_ENDPOINTS+="http://127.0.0.1:$((8081 + 2 * i))/v1 "; done
fi
if [[ "$START_LOCAL" == 1 && "$STAGE" != analyse ]]; then
  tools/install-real-components.sh >/dev/null
  trap 'tools/stop-real-components.sh' EXIT
  for ((i = 0; i < LLM_SERVERS; i++)); do
    name=llm; ((i > 0)) && name="llm$((i + 1))"
    TTU_LLM_NAME="$name" tools/start-llm.sh "$((8081 + 2 * i))" >/dev/null
  done
  tools/start-rater.sh 8082 --threshold "$THRESHOLD" --quiet >/dev/null
fi

# ---- prompts (committed; rebuilt only if missing) --------------------------------------
if [[ ! -f "$HERE/prompts.jsonl" ]]; then
  [[ -d /usr/share/games/fortunes ]] || { log "installing fortunes"; apt-get install -y fortunes fortunes-min >/dev/null; }
  python3 "$HERE/make_prompts.py" --count "$N_PROMPTS" --seed 5 --out "$HERE/prompts.jsonl"
fi

# ---- ttu ---------------------------------------------------------------------------------
swift build -c release --product ttu 2>&1 | tail -n 1 >&2
TTU="$ROOT/.build/release/ttu"

python3 "$HERE/study.py" split-train --prompts "$HERE/prompts.jsonl" --n-train "$N_TRAIN" \
  --train "$OUT/train.jsonl" --pool "$OUT/pool.jsonl"

GEN=(--generator openai --model "$MODEL" --api completions --max-tokens 30 --temperature 1 --top-p 1
     --rater moderation --rater-endpoint "$MODERATION_ENDPOINT" --threshold "$THRESHOLD"
     --concurrency "$CONCURRENCY" --quiet)
for e in $LLM_ENDPOINTS; do GEN+=(--endpoint "$e"); done
[[ -n "$EXTRA_BODY" ]] && GEN+=(--extra-body "$EXTRA_BODY")

timed() {  # timed NAME cmd… : runs cmd, appends NAME,seconds to OUT/timing.csv
  local name="$1"; shift; local t0; t0=$(date +%s)
  "$@"; local rc=$?
  echo "$name,$(( $(date +%s) - t0 ))" >> "$OUT/timing.csv"; return $rc
}

if [[ "$STAGE" != analyse ]]; then
  # 1. training counts: TRAIN_GENS generations per training prompt, all of them.
  log "training counts: $N_TRAIN prompts × $TRAIN_GENS generations"
  timed train_counts "$TTU" collect "${GEN[@]}" --prompts "$OUT/train.jsonl" --per-prompt "$TRAIN_GENS" --no-early-stop \
    --seed "$((SEED + 10))" --db "$OUT/train_counts.sqlite" --out "$RES/train_counts.csv"
  # 2. one deep sample per pool prompt (calibration and test): first unsafe index, or censored at DEEP_CAP.
  log "deep sample: $((N_PROMPTS - N_TRAIN)) prompts, early stopping, cap $DEEP_CAP"
  timed deep "$TTU" collect "${GEN[@]}" --prompts "$OUT/pool.jsonl" --per-prompt "$DEEP_CAP" \
    --seed "$((SEED + 20))" --db "$OUT/deep.sqlite" --out "$RES/deep_obs.csv"
fi
[[ "$STAGE" == collect ]] && exit 0

# ---- predictor ---------------------------------------------------------------------------
"$TTU" train --data "$RES/train_counts.csv" --prompts "$OUT/train.jsonl" --features hashed --model logistic \
  --seed "$SEED" --out "$OUT/model.json" | tee "$RES/train.txt"
"$TTU" predict --model "$OUT/model.json" --prompts "$OUT/pool.jsonl" --out "$RES/predictions_pool.csv" >/dev/null
"$TTU" predict --model "$OUT/model.json" --prompts "$OUT/train.jsonl" --out "$RES/predictions_train.csv" >/dev/null

# ---- calibration × repetitions (no sampling: observations derived from the deep sample) ----
RUNS="$RES/runs.csv"; rm -f "$RUNS"
for ((rep = 1; rep <= REPS; rep++)); do
  D="$OUT/rep$rep"; mkdir -p "$D"
  python3 "$HERE/study.py" split-pool --pool "$OUT/pool.jsonl" --predictions "$RES/predictions_pool.csv" \
    --deep "$RES/deep_obs.csv" --cal-fraction "$CAL_FRACTION" --seed "$((SEED * 1000 + rep))" --dir "$D"
  # the predictor alone: its own α-quantile, no calibration
  python3 "$HERE/study.py" uncalibrated --predictions "$D/pred_test.csv" --alpha "$ALPHA" --out "$D/lpb_uncal.csv"
  "$TTU" evaluate --lpb "$D/lpb_uncal.csv" --truth "$D/truth_test.csv" --json "$D/eval_uncal.json" >/dev/null
  python3 "$HERE/study.py" row --runs "$RUNS" --rep "$rep" --method uncalibrated --guarantee none --budget 0 \
    --evaluation "$D/eval_uncal.json"
  for B in $BUDGETS; do
    for S in optimized naive; do
      for G in marginal pac; do
        [[ "$S" == naive && "$G" == pac ]] && continue
        tag="${S}_${G}_B$B"
        planargs=(--predictions "$D/pred_cal.csv" --budget "$B" --strategy "$S" --max-weight "$MAX_WEIGHT" --seed "$((SEED * 1000 + rep))")
        # PAC: allocation fitted on the training prompts and applied pointwise (i.i.d. terms).
        [[ "$G" == pac ]] && planargs+=(--fit-on "$RES/predictions_train.csv")
        "$TTU" plan "${planargs[@]}" --out "$D/plan_$tag.csv" >/dev/null
        obsargs=(--plan "$D/plan_$tag.csv" --deep "$RES/deep_obs.csv" --out "$D/obs_$tag.csv")
        # naive caps are Geometric(1/B) draws with no upper limit: one beyond a censored deep
        # sample gets the worst case the deep sample allows (README: "naive").
        [[ "$S" == naive ]] && obsargs+=(--too-shallow worst-case)
        "$TTU" observe "${obsargs[@]}" >/dev/null
        calargs=(--plan "$D/plan_$tag.csv" --observations "$D/obs_$tag.csv" --alpha "$ALPHA" --out "$D/cal_$tag.json")
        [[ "$G" == pac ]] && calargs+=(--guarantee pac --bound bernstein --delta "$DELTA")
        "$TTU" calibrate "${calargs[@]}" >/dev/null
        "$TTU" bound --calibration "$D/cal_$tag.json" --predictions "$D/pred_test.csv" --out "$D/lpb_$tag.csv" >/dev/null
        "$TTU" evaluate --lpb "$D/lpb_$tag.csv" --truth "$D/truth_test.csv" --json "$D/eval_$tag.json" >/dev/null
        python3 "$HERE/study.py" row --runs "$RUNS" --rep "$rep" --method "$S" --guarantee "$G" --budget "$B" \
          --evaluation "$D/eval_$tag.json" --calibration "$D/cal_$tag.json" --observations "$D/obs_$tag.csv" --deep "$RES/deep_obs.csv"
      done
    done
  done
done
python3 "$HERE/study.py" aggregate --runs "$RUNS" --out-csv "$RES/results.csv" --out-md "$RES/table.md" --out-svg "$HERE/plot.svg"
[[ -f "$OUT/timing.csv" ]] && cp "$OUT/timing.csv" "$RES/timing.csv"

# ---- versions ------------------------------------------------------------------------------
{
  echo "ttu commit: $(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  echo "swift: $(swift --version 2>&1 | head -n 1)"
  if [[ "$START_LOCAL" == 1 ]]; then
    echo "pip (tools/.venv):"; tools/.venv/bin/python -m pip freeze 2>/dev/null \
      | grep -iE '^(llama.cpp.python|llm.smollm2|alt.profanity.check|scikit.learn|joblib|numpy)==' | sed 's/^/  /'
    m="$(cat tools/.cache/model-path 2>/dev/null || true)"
    [[ -f "$m" ]] && echo "model: $(basename "$m") sha256 $(sha256sum "$m" | cut -d' ' -f1)"
  fi
  echo "fortunes: $(dpkg-query -W -f='${Package} ${Version}\n' fortunes fortunes-min 2>/dev/null | paste -sd, - || echo 'not installed (prompts.jsonl committed)')"
  echo "prompts.jsonl sha256: $(sha256sum "$HERE/prompts.jsonl" | cut -d' ' -f1)"
} > "$RES/versions.txt"
log "done: $RES/table.md, $HERE/plot.svg"
