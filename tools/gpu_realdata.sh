#!/usr/bin/env bash
# The real-data experiments on a lent GPU, in one prepared call: installs the wheelhouse built by
# tools/build_wheelhouse.sh (offline), then under KERAS_BACKEND=jax runs `ptb_lm --profile full`
# (in the background, capped at FULL_BUDGET_S seconds) and, meanwhile, the `ci` profiles of the
# experiments named as arguments (skipping names the catalog does not have), each with MLflow
# tracking into one sqlite store. Writes to $OUT:
#   summary.md, summary.json   wall time, exit status and finding line of each run
#   log.txt                    every run's console output
#   mlruns.tar.gz              one MLflow store per run, NAME-PROFILE/mlflow.db with its artifacts
#                              (sqlite takes one writer: the two runs at a time keep apart)
#
#   bash tools/gpu_realdata.sh ptb_lm jsb_chorales mnist1d pos_tagging
#
# Test it on a CPU with small overrides: OUT=/tmp/out WHEELHOUSE=none FULL_BUDGET_S=120 \
#   OVERRIDES_ptb_lm_full="--set train.epochs=1 --set data.train_tokens=20000" bash tools/gpu_realdata.sh ptb_lm
# (OVERRIDES_<name>_<profile>: extra arguments for that run; WHEELHOUSE=none: use this Python's
# packages instead of installing .whl/.)
set -uo pipefail
cd "$(dirname "$0")/.."
: "${OUT:?set OUT to the folder the results go to}"
mkdir -p "$OUT"
total_budget=${TOTAL_BUDGET_S:-540}  # the device runs one command for at most 600 s: end before
full_budget=${FULL_BUDGET_S:-480}  # ptb_lm full, in the background, at most this
python=${PYTHON:-python3}
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(ptb_lm jsb_chorales mnist1d pos_tagging)
log="$OUT/log.txt"
: >"$log"
started=$(date +%s)

if [ "${WHEELHOUSE:-.whl}" != none ]; then
  "$python" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "${WHEELHOUSE:-.whl}"/*.whl >>"$log" 2>&1 \
    || { echo "gpu_realdata: installing the wheelhouse failed (see log.txt)" | tee -a "$log"; exit 1; }
  export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND=jax
export XLA_PYTHON_CLIENT_PREALLOCATE=false  # two runs share the GPU: neither takes 75% up front
export PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
store=$(mktemp -d /tmp/rnnexp-gpu-XXXX)
export RNNEXP_CACHE_DIR="$store/cache"
mkdir -p "$store/logs"

device=$("$python" -c 'import jax; print(", ".join(sorted({d.device_kind for d in jax.devices()})))' 2>>"$log")
echo "gpu_realdata: backend jax on ${device:-unknown}; MLflow stores under $store" | tee -a "$log"
catalog=$("$python" -m rnnexp list 2>>"$log" | awk '{print $1}')

# left CAP: seconds a run may take, at most CAP, ending 30 s before the total budget.
left() {
  local rest=$(( total_budget - 30 - ($(date +%s) - started) ))
  [ "$rest" -lt "$1" ] && echo $(( rest > 10 ? rest : 10 )) || echo "$1"
}

# run NAME PROFILE TIMEOUT: one `rnnexp run`, its wall time and finding into $store/results.tsv.
run() {
  local name=$1 profile=$2 limit=$3 var="OVERRIDES_${1}_${2}" t0 rc check=()
  [ "$profile" = ci ] && check=(--check)
  t0=$(date +%s.%N)
  # shellcheck disable=SC2086  # the overrides are words on purpose
  mkdir -p "$store/runs/$name-$profile"
  MLFLOW_TRACKING_URI="sqlite:///$store/runs/$name-$profile/mlflow.db" \
    timeout -k 30 -s INT "$limit" "$python" -m rnnexp run "$name" --profile "$profile" \
    "${check[@]}" ${!var:-} >"$store/logs/$name-$profile.txt" 2>&1
  rc=$?
  local wall finding
  wall=$("$python" -c "import time; print(f'{time.time() - $t0:.1f}')")
  finding=$(grep -E "^finding:" "$store/logs/$name-$profile.txt" | tail -1)
  [ $rc -eq 124 ] && finding="KILLED at the ${limit}s budget; ${finding:-no finding}"
  printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$profile" "$rc" "$wall" "${finding:-no finding line}" \
    >>"$store/results.tsv"
}

summarize() {
  {
    echo "# Real-data experiments on $(hostname) (${device:-unknown}), KERAS_BACKEND=jax"
    echo
    echo "| experiment | profile | exit | wall s | finding |"
    echo "|---|---|---|---|---|"
    awk -F'\t' '{printf "| %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5}' "$store/results.tsv" 2>/dev/null
    echo
    echo "total wall time: $(( $(date +%s) - started )) s"
  } >"$OUT/summary.md"
  "$python" - "$store/results.tsv" "$OUT/summary.json" "${device:-unknown}" <<'PY'
import json, sys
rows = []
try:
    for line in open(sys.argv[1]):
        name, profile, rc, wall, finding = line.rstrip("\n").split("\t")
        rows.append({"experiment": name, "profile": profile,
                     "exit": int(rc) if rc.lstrip("-").isdigit() else None,
                     "wall_s": float(wall), "finding": finding})
except FileNotFoundError:
    pass
json.dump({"device": sys.argv[3], "backend": "jax", "runs": rows}, open(sys.argv[2], "w"), indent=1)
PY
  cat "$store"/logs/*.txt >"$log.runs" 2>/dev/null && cat "$log.runs" >>"$log" && rm -f "$log.runs"
  [ -d "$store/runs" ] && tar -C "$store/runs" -czf "$OUT/mlruns.tar.gz" .
}
trap summarize EXIT

full_pid=
if grep -qx ptb_lm <<<"$catalog" && printf '%s\n' "${names[@]}" | grep -qx ptb_lm; then
  run ptb_lm full "$(left "$full_budget")" &
  full_pid=$!
fi
for name in "${names[@]}"; do
  if ! grep -qx "$name" <<<"$catalog"; then
    echo "gpu_realdata: $name is not in the catalog: skipped" | tee -a "$log"
    printf '%s\tci\t-\t0\tskipped: not in the catalog\n' "$name" >>"$store/results.tsv"
    continue
  fi
  echo "gpu_realdata: $name ci ($(( $(date +%s) - started )) s)" | tee -a "$log"
  run "$name" ci "$(left 300)"
done
[ -n "$full_pid" ] && wait "$full_pid"
echo "gpu_realdata: done in $(( $(date +%s) - started )) s" | tee -a "$log"
