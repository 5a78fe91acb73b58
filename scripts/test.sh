#!/usr/bin/env bash
# The test command (README): set-up, then the whole suite twice — a normal build with
# -Werror, and an ASan+UBSan build. Exits non-zero if any build or test fails.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() { # build-dir cmake-flags...
    local dir=$1; shift
    echo "== $dir: configure and build" >&2
    cmake -S . -B "$dir" -DSMELTER_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j "$jobs" >/dev/null
    echo "== $dir: tests" >&2
    (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900)
}

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSMELTER_SANITIZE=ON
echo "all tests passed (normal and ASan+UBSan builds)" >&2
