#!/usr/bin/env bash
# The benchmark protocol of docs/performance.md: every figure of that page in one run,
# so each ratio is against a baseline measured on the same machine at the same load.
#
#   scripts/bench.sh [OUT_DIR]        (default docs/bench)
#
# Environment (defaults in brackets):
#   SYNTH_SIZES  generated-stream growth sizes [1k,2k,4k]
#   SAMPLE_SIZES prefixes of the sample for the second growth table [13750,27500,55k,110300]
#   WORKERS      workers of the growth replays [2]
#   SYNTH_SIZE   events of the generated stream of the replay runs [2000]
#   WARM         live events of the sample before the latency rounds [55000]
#   SYNTH_WARM   live events of the generated stream before its latency rounds [1000]
#   LIVE         recompute sizes on the sample [10k,20k,40k,80k]
#   SYNTH_LIVE   recompute sizes on the generated stream [500,1k,2k]
#   ROUNDS       latency rounds per batch size [200]
#   MAX_RSS_MIB  guard per replay [6144]; TIMEOUT_S guard per replay [300]
#   QUICK=1      tiny sizes, for a smoke run of the script itself
# Generated streams are cached in target/bench-data. Run it on a quiet machine: the load
# average is printed at every step and recorded in each JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/bench}
mkdir -p "$OUT"
if [[ "${QUICK:-0}" == 1 ]]; then
  SYNTH_SIZES=${SYNTH_SIZES:-500,1k}; SAMPLE_SIZES=${SAMPLE_SIZES:-5k,10k}; SYNTH_SIZE=${SYNTH_SIZE:-1000}
  WARM=${WARM:-5000}; SYNTH_WARM=${SYNTH_WARM:-300}; LIVE=${LIVE:-2k,4k}; ROUNDS=${ROUNDS:-10}
  SYNTH_LIVE=${SYNTH_LIVE:-200,400}
fi
SYNTH_SIZES=${SYNTH_SIZES:-1k,2k,4k}
SAMPLE_SIZES=${SAMPLE_SIZES:-13750,27500,55k,110300}
WORKERS=${WORKERS:-2}
SYNTH_SIZE=${SYNTH_SIZE:-2000}
WARM=${WARM:-55000}
SYNTH_WARM=${SYNTH_WARM:-1000}
LIVE=${LIVE:-10k,20k,40k,80k}
SYNTH_LIVE=${SYNTH_LIVE:-500,1k,2k}
ROUNDS=${ROUNDS:-200}
MAX_RSS_MIB=${MAX_RSS_MIB:-6144}
TIMEOUT_S=${TIMEOUT_S:-300}
SAMPLE=inputs/UserBehavior_time-slice_110k.csv
GUARD=(--max-rss-mib "$MAX_RSS_MIB" --timeout-s "$TIMEOUT_S")

cargo build --release --quiet
BIN=target/release/interestflow
step() { echo "== $1 (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2; }

step "growth: prefixes of the sample $SAMPLE_SIZES, $WORKERS worker(s)"
$BIN bench growth --prefixes-of "$SAMPLE" --sizes "$SAMPLE_SIZES" --workers "$WORKERS" --sort no "${GUARD[@]}" \
  --json "$OUT/growth-sample.json" | tee "$OUT/growth-sample.md"
step "growth: generated streams $SYNTH_SIZES, $WORKERS worker(s)"
$BIN bench growth --sizes "$SYNTH_SIZES" --workers "$WORKERS" --sort no "${GUARD[@]}" \
  --json "$OUT/growth-synthetic.json" --plot docs/growth.svg --plot-with "$OUT/growth-sample.json" \
  | tee "$OUT/growth-synthetic.md"

# The generated streams of replay and latency (seed 0, as in growth).
SYNTH=target/bench-data/taobao-synth-$SYNTH_SIZE-events.csv
LATENCY_SYNTH=target/bench-data/taobao-synth-$((SYNTH_WARM + 3000))-events.csv
[[ -f "$SYNTH" ]] || $BIN generate --events "$SYNTH_SIZE" --seed 0 --out "$SYNTH" 2>/dev/null
[[ -f "$LATENCY_SYNTH" ]] || $BIN generate --events $((SYNTH_WARM + 3000)) --seed 0 --out "$LATENCY_SYNTH" 2>/dev/null
step "replay: the sample and $SYNTH at 1 and 2 workers"
$BIN bench replay "$SAMPLE" "$SYNTH" --workers 1,2 --sort no "${GUARD[@]}" --json "$OUT/replay.json" | tee "$OUT/replay.md"
step "replay: the sample with the default --sort auto (the sort buffer)"
$BIN bench replay "$SAMPLE" --workers 1 "${GUARD[@]}" --json "$OUT/replay-sorted.json" | tee "$OUT/replay-sorted.md"

step "profile: run --profile on the sample and on $SYNTH"
$BIN run "$SAMPLE" --profile --out /dev/null --stats "$OUT/profile-sample.json" 2> "$OUT/profile-sample.txt"
timeout "$TIMEOUT_S" $BIN run "$SYNTH" --sort no --profile --out /dev/null --stats "$OUT/profile-synthetic.json" \
  2> "$OUT/profile-synthetic.txt" || echo "profile of $SYNTH stopped" >&2

step "latency: $WARM live events of the sample"
$BIN bench latency "$SAMPLE" --warm "$WARM" --rounds "$ROUNDS" --json "$OUT/latency-sample.json" | tee "$OUT/latency-sample.md"
step "latency: $SYNTH_WARM live events of $LATENCY_SYNTH"
$BIN bench latency "$LATENCY_SYNTH" --warm "$SYNTH_WARM" --batch-sizes 1,10,100 --rounds "$ROUNDS" --max-events 900 \
  --max-rss-mib "$MAX_RSS_MIB" --json "$OUT/latency-synthetic.json" | tee "$OUT/latency-synthetic.md" \
  || echo "latency on $LATENCY_SYNTH stopped" >&2

step "recompute: live $LIVE of the sample"
$BIN bench recompute "$SAMPLE" --live "$LIVE" --json "$OUT/recompute.json" | tee "$OUT/recompute.md"
step "recompute: live $SYNTH_LIVE of $LATENCY_SYNTH"
$BIN bench recompute "$LATENCY_SYNTH" --live "$SYNTH_LIVE" --probe 50 --max-rss-mib "$MAX_RSS_MIB" \
  --json "$OUT/recompute-synthetic.json" | tee "$OUT/recompute-synthetic.md" || echo "recompute on $LATENCY_SYNTH stopped" >&2
step "done"
