#!/usr/bin/env bash
# The main job on the embedded default (README, `make demo`): install what is missing, build,
# then `smelter demo` — in one process it starts the embedded broker, produces 200k orders with
# faults, runs schemas/examples/ecommerce.yaml with available_now into ./lake-demo/ecommerce and
# prints the tables, the dead letters beside the producer's faults, the rate and the DuckDB
# commands to query them. Flags are passed on: scripts/demo.sh --count 50000 --lake /tmp/lake
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DSMELTER_TESTS=OFF >/dev/null
cmake --build build -j "$(nproc 2>/dev/null || echo 2)" >/dev/null
exec build/smelter demo "$@"
