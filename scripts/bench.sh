#!/usr/bin/env bash
# The benchmark protocol of docs/performance.md: every figure of that page, in one run,
# so each ratio is against a baseline measured on the same machine at the same load.
#
#   scripts/bench.sh [OUT_DIR]        (default docs/bench)
#
# Environment: SIZES (growth sizes, default 125k,250k,500k,1M), WORKERS (growth, 2),
# LIVE (recompute sizes), WARM (latency live events, default 55000 of the sample),
# SYNTH_WARM (latency live events on the synthetic stream, 0 to skip),
# MAX_RSS_MIB (guard per replay, 7168), QUICK=1 (tiny sizes, for a smoke run).
# Generated streams are cached in target/bench-data. Run it on a quiet machine: the
# load average is recorded at the start and end of every step.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-docs/bench}
mkdir -p "$OUT"
if [[ "${QUICK:-0}" == 1 ]]; then
  SIZES=${SIZES:-20k,40k}; LIVE=${LIVE:-2k,4k}; WARM=${WARM:-5000}; SYNTH_WARM=${SYNTH_WARM:-0}
  ROUNDS=${ROUNDS:-20}; SYNTH_SIZE=${SYNTH_SIZE:-20k}
fi
SIZES=${SIZES:-125k,250k,500k,1M}
WORKERS=${WORKERS:-2}
LIVE=${LIVE:-10k,20k,40k,80k}
WARM=${WARM:-55000}
SYNTH_WARM=${SYNTH_WARM:-250000}
SYNTH_SIZE=${SYNTH_SIZE:-1M}
ROUNDS=${ROUNDS:-200}
MAX_RSS_MIB=${MAX_RSS_MIB:-7168}
SAMPLE=inputs/UserBehavior_time-slice_110k.csv

cargo build --release --quiet
BIN=target/release/interestflow
step() { echo "== $1 (load: $(cut -d' ' -f1-3 /proc/loadavg))" >&2; }

step "growth: generated streams $SIZES, $WORKERS worker(s)"
$BIN bench growth --sizes "$SIZES" --workers "$WORKERS" --sort no --max-rss-mib "$MAX_RSS_MIB" \
  --json "$OUT/growth.json" --plot docs/growth.svg | tee "$OUT/growth.md"

# The synthetic stream of replay and latency: the growth stream of SYNTH_SIZE events.
SYNTH=target/bench-data/taobao-synth-${SYNTH_SIZE}-seed0.csv
step "replay: sample and $SYNTH at 1 and 2 workers"
FILES=("$SAMPLE")
[[ -f "$SYNTH" ]] && FILES+=("$SYNTH")
$BIN bench replay "${FILES[@]}" --workers 1,2 --sort no --max-rss-mib "$MAX_RSS_MIB" \
  --json "$OUT/replay.json" | tee "$OUT/replay.md"

step "replay: the sample with the default --sort auto (sort buffer) and --profile"
$BIN bench replay "$SAMPLE" --workers 1 --profile --json "$OUT/replay-profile.json" | tee "$OUT/replay-profile.md"
$BIN run "$SAMPLE" --profile --out /dev/null --stats "$OUT/profile.json" 2> "$OUT/profile.txt"

step "latency: $WARM live events of the sample"
$BIN bench latency "$SAMPLE" --warm "$WARM" --rounds "$ROUNDS" --json "$OUT/latency.json" | tee "$OUT/latency.md"
if [[ "$SYNTH_WARM" != 0 && -f "$SYNTH" ]]; then
  step "latency: $SYNTH_WARM live events of $SYNTH"
  $BIN bench latency "$SYNTH" --warm "$SYNTH_WARM" --rounds "$ROUNDS" --max-rss-mib "$MAX_RSS_MIB" \
    --json "$OUT/latency-synth.json" | tee "$OUT/latency-synth.md"
fi

step "recompute: live $LIVE of the sample"
$BIN bench recompute "$SAMPLE" --live "$LIVE" --json "$OUT/recompute.json" | tee "$OUT/recompute.md"
step "done"
