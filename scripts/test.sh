#!/usr/bin/env bash
# The test command (README): set-up, then the whole suite twice — a normal build with
# -Werror, and an ASan+UBSan build — then each libFuzzer target for a bounded time. Exits
# non-zero if any build, test or fuzz run fails; the last line counts the tests.
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
    (cd "$dir" && ctest --output-on-failure -j "$jobs" --timeout 900) | tee "$dir/ctest.out"
    # "100% tests passed, 0 tests failed out of 16"
    read -r failed total < <(sed -n 's/.*tests passed, \([0-9]*\) tests failed out of \([0-9]*\).*/\1 \2/p' \
        "$dir/ctest.out" | tail -1)
    n_passed=$((n_passed + total - failed))
    n_failed=$((n_failed + failed))
}
n_passed=0
n_failed=0

run_suite build -DCMAKE_BUILD_TYPE=RelWithDebInfo
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    run_suite build-asan -DCMAKE_BUILD_TYPE=Debug -DSMELTER_SANITIZE=ON
# Fuzz targets (libFuzzer, clang, ASan+UBSan), each for a bounded time from the seed corpus in
# tests/fuzz/corpus/<name>; new inputs go to a scratch directory so the repo stays unchanged.
fuzz_seconds=${SMELTER_FUZZ_SECONDS:-60}
echo "== build-fuzz: configure and build" >&2
CC=clang cmake -S . -B build-fuzz -DSMELTER_FUZZ=ON -DSMELTER_TESTS=OFF -DSMELTER_BENCH=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j "$jobs" >/dev/null
for target in build-fuzz/fuzz_*; do
    name=$(basename "$target"); name=${name#fuzz_}
    [ -d "tests/fuzz/corpus/$name" ] || name=${name%%_*} # fuzz_parquet_reader: corpus/parquet
    dict=()
    [ -f "tests/fuzz/corpus/$name.dict" ] && dict=(-dict="tests/fuzz/corpus/$name.dict")
    scratch=$(mktemp -d)
    echo "== fuzz $(basename "$target") for ${fuzz_seconds}s" >&2
    "$target" -max_total_time="$fuzz_seconds" -max_len=65536 -rss_limit_mb=2048 -timeout=10 \
        -print_final_stats=1 "${dict[@]}" "$scratch" "tests/fuzz/corpus/$name" 2>&1 | tail -12
    rm -rf "$scratch"
done
echo "tests: $n_passed passed, $n_failed failed"
