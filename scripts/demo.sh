#!/usr/bin/env bash
# The main job on the embedded default (README): start the embedded broker, produce a sample of
# each dataset with some faults, print the producer's reports, stop the broker.
# It grows with the project: the engine issue adds the pipeline run and the table summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DSMELTER_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
smelter=build/smelter

work=$(mktemp -d "${TMPDIR:-/tmp}/smelter-demo.XXXXXX")
$smelter broker --port 0 --topics orders:16,activity:8,profiles:4 --bootstrap-file "$work/bootstrap" \
    --log-level warn >/dev/null &
broker=$!
trap 'kill $broker 2>/dev/null || true; wait $broker 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$work/bootstrap" ] && break; sleep 0.1; done
[ -s "$work/bootstrap" ] || { echo "demo: the embedded broker did not start" >&2; exit 1; }
echo "embedded broker at $(cat "$work/bootstrap")"

for spec in "orders 200000" "activity 200000" "profiles 20000"; do
    set -- $spec
    echo
    echo "== smelter produce --dataset $1 --count $2 --seed 1 --bad-ratio 0.02 --late-ratio 0.01 --dup-ratio 0.01"
    $smelter produce --bootstrap-file "$work/bootstrap" --dataset "$1" --count "$2" --seed 1 \
        --bad-ratio 0.02 --late-ratio 0.01 --dup-ratio 0.01 --truth "$work/$1.truth.ndjson" \
        --report text
done
echo
echo "ground truth files: $work/*.truth.ndjson"
