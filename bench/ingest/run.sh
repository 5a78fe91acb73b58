#!/usr/bin/env bash
# Ingest throughput: `smelter run --available-now` (Kafka -> bronze Delta table, ZSTD Parquet,
# exactly once) vs `kcat -C -e` reading the same topic to /dev/null, and the same with a silver
# table (bench/ingest/pipeline-silver.yaml: rules, dedup, quarantine) vs bronze only, side by side
# in one run on the embedded broker (see bench/README.md, "bench/ingest").
#
# Usage: bench/ingest/run.sh [--record] [N]    (from any directory; it works in the repository root)
#   N          orders pre-produced to the topic (default 1000000, or env N)
#   --record   add a dated row to the bench/ingest results table in bench/README.md
# Env: R runs per tool (default 3), P partitions (default 64),
#      MAX_BYTES trigger.max_bytes_per_trigger of the pipeline (default 256MB, the default),
#      THREADS source.kafka.consumer_threads (default 0: one per core),
#      SMELTER_BIN binary to use (default: build/smelter, built with cmake first),
#      KAFKA_OPTIONS librdkafka properties for smelter's consumers, in YAML flow style, e.g.
#        KAFKA_OPTIONS="fetch.wait.max.ms: 10" (added as source.kafka.options to a copy of the
#        pipeline: for trying consumer settings; the recorded results use none),
#      KEEP=1 keep the work directory (lakes, logs) and print where it is.
#
# Steps: start `smelter broker` with one P-partition topic `orders`; produce N orders keyed by
# customer_id (`smelter produce --seed 1 --bad-ratio 0.05 --dup-ratio 0.01`, lz4); check that the
# broker kept all of them (sum of high - low watermarks == N; the mock keeps only ~5 MiB or 100k
# message sets per partition) and that `kcat -C -e` reads every partition to its end; then R
# times, in alternating order, time `kcat -C -e -o beginning > /dev/null`, `smelter run
# bench/ingest/pipeline.yaml --available-now` (bronze only) and `smelter run
# bench/ingest/pipeline-silver.yaml --available-now` (bronze + silver) into fresh lakes, all under
# /usr/bin/time (wall clock around the whole process, peak RSS). Every smelter run is checked: N
# records read, every one in bronze or the dead-letter table (the Delta logs' numRecords); with
# silver, every bronze row in silver, its quarantine, or dropped as a duplicate or late row.
# Prints the medians, the ratio smelter/kcat in wall time, the ratio bronze-only time /
# bronze+silver time (goal of issue 7: at least 0.8), smelter's peak RSS against
# 2 x MAX_BYTES + 64 MB, and where smelter's time went (from the mtimes of its checkpoint and
# table files: start-up, reading and decoding, writing Parquet, committing).
set -euo pipefail
cd "$(dirname "$0")/../.."
case ${SMELTER_BIN:-/} in /*) ;; *) SMELTER_BIN=$OLDPWD/$SMELTER_BIN ;; esac # relative to where it was called

die() { echo "bench/ingest: $*" >&2; exit 1; }
record=0 n=${N:-1000000} reps=${R:-3} parts=${P:-64} max_bytes=${MAX_BYTES:-256MB} threads=${THREADS:-0}
for a in "$@"; do
    case $a in
        --record) record=1 ;;
        -h | --help) sed -n '2,17p' "$0" | cut -c3-; exit 0 ;;
        '' | *[!0-9]*) echo "bench/ingest: unexpected argument '$a'" \
            "(usage: bench/ingest/run.sh [--record] [N])" >&2; exit 2 ;;
        *) n=$a ;;
    esac
done
for v in "N=$n" "R=$reps" "P=$parts"; do
    [[ ${v#*=} =~ ^[1-9][0-9]*$ ]] || die "${v%%=*} must be a positive integer, not '${v#*=}'"
done
[[ $threads =~ ^[0-9]+$ ]] || die "THREADS must be a non-negative integer, not '$threads'"
[ "$record" = 0 ] || [ -z "${KAFKA_OPTIONS:-}" ] || die "--record takes the pipeline as it is: unset KAFKA_OPTIONS"
# MAX_BYTES in bytes, read as the pipeline reads sizes (K, M, G are powers of 1024).
max_b=$(awk -v s="$max_bytes" 'BEGIN {
    if (!match(s, /^[0-9]+(B|KB|MB|GB|KiB|MiB|GiB)?$/)) exit 1
    v = s + 0; u = substr(s, length(v "") + 1)
    m = (u ~ /^K/) ? 1024 : (u ~ /^M/) ? 1048576 : (u ~ /^G/) ? 1073741824 : 1
    printf "%.0f\n", v * m }') || die "MAX_BYTES must be a size such as 256MB, not '$max_bytes'"
command -v kcat >/dev/null || die "kcat not found: apt-get install -y kcat (or scripts/setup.sh --test)"
[ -x /usr/bin/time ] || die "/usr/bin/time not found (it measures peak RSS): apt-get install -y time"

if [ -n "${SMELTER_BIN:-}" ]; then
    smelter=$SMELTER_BIN
    [ -x "$smelter" ] || die "SMELTER_BIN=$smelter is not an executable"
else
    echo "building build/smelter ..."
    { cmake -S . -B build >/dev/null && cmake --build build -j "$(nproc)" --target smelter >/dev/null; } ||
        die "the build failed"
    smelter=build/smelter
fi
pipeline=bench/ingest/pipeline.yaml
pipeline_silver=bench/ingest/pipeline-silver.yaml

tmp=$(mktemp -d "${TMPDIR:-/tmp}/smelter-bench-ingest.XXXXXX")
broker=
cleanup() {
    [ -z "$broker" ] || { kill "$broker" 2>/dev/null || true; wait "$broker" 2>/dev/null || true; }
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT
if [ -n "${KAFKA_OPTIONS:-}" ]; then
    sed -e "s|^    starting_offsets: .*|&\n    options: {$KAFKA_OPTIONS}|" \
        -e "s|^  schema: \.\./\.\./|  schema: $PWD/|" "$pipeline" >"$tmp/pipeline.yaml"
    pipeline=$tmp/pipeline.yaml
    sed -e "s|^    starting_offsets: .*|&\n    options: {$KAFKA_OPTIONS}|" \
        -e "s|^  schema: \.\./\.\./|  schema: $PWD/|" "$pipeline_silver" >"$tmp/pipeline-silver.yaml"
    pipeline_silver=$tmp/pipeline-silver.yaml
fi

"$smelter" broker --port 0 --topics "orders:$parts" --bootstrap-file "$tmp/bootstrap" \
    --log-level warn >/dev/null 2>"$tmp/broker.log" &
broker=$!
for _ in $(seq 100); do
    [ -s "$tmp/bootstrap" ] || ! kill -0 "$broker" 2>/dev/null && break
    sleep 0.1
done
[ -s "$tmp/bootstrap" ] || die "the embedded broker did not start: $(cat "$tmp/broker.log")"
boot=$(head -n1 "$tmp/bootstrap")

# jget FILE KEY: a number from the last JSON line of FILE holding KEY.
jget() { grep -o "\"$2\":[-0-9.e+]*" "$1" | tail -n1 | cut -d: -f2; }
now() { date +%s.%N; }
median() { sort -g "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
hz=$(getconf CLK_TCK)
bcpu() { awk '{ print $14 + $15 }' "/proc/$broker/stat"; } # the broker's CPU time, in ticks

echo "producing $n orders to topic orders ($parts partitions, keyed by customer_id, lz4) at $boot ..."
"$smelter" produce --bootstrap-file "$tmp/bootstrap" --dataset orders --count "$n" --seed 1 \
    --bad-ratio 0.05 --dup-ratio 0.01 --report json -q --log-level warn >"$tmp/produce.json" ||
    die "smelter produce failed: $(cat "$tmp/produce.json")"
[ "$(jget "$tmp/produce.json" acked)" = "$n" ] || die "the producer did not get $n acks: $(cat "$tmp/produce.json")"

# watermarks OFFSET: "partition offset" lines (-2 low, -1 high watermark) of every partition.
watermarks() {
    local args=() p
    for ((p = 0; p < parts; p++)); do args+=(-t "orders:$p:$1"); done
    kcat -Q -b "$boot" "${args[@]}" | awk '{ gsub(/[][]/, "", $2); print $2, $4 }' | sort -n
}
if ! watermarks -2 >"$tmp/low" || ! watermarks -1 >"$tmp/high"; then die "kcat -Q failed"; fi
held=$(paste -d" " "$tmp/low" "$tmp/high" | awk '{ s += $4 - $2 } END { print s + 0 }')
[ "$held" -eq "$n" ] || die "the broker holds $held of $n messages (sum of high - low watermarks):" \
    "the mock dropped old message sets; use fewer messages or more partitions"
[ "$(wc -l <"$tmp/high")" -eq "$parts" ] || die "kcat -Q did not list $parts partitions"

# An untimed full read: every partition to its end, the same counts, and the byte totals.
kcat -C -b "$boot" -t orders -e -o beginning -q -f '%p %K %S\n' |
    awk '{ c[$1]++; k += $2; v += $3 } END { for (p in c) print p, c[p] > "/dev/stderr"; print k, v }' \
        >"$tmp/bytes" 2>"$tmp/counts" || die "kcat -C failed"
sort -n "$tmp/counts" -o "$tmp/counts"
paste -d" " "$tmp/low" "$tmp/high" | awk '{ print $1, $4 - $2 }' | cmp -s - "$tmp/counts" ||
    die "kcat -C -e read other per-partition counts than the watermarks say"
read -r key_bytes value_bytes <"$tmp/bytes"
awk -v n="$n" -v k="$key_bytes" -v v="$value_bytes" -v p="$parts" 'BEGIN { printf "  verified: the" \
    " %d partitions hold all %d messages (high - low watermarks; kcat -C -e reads the same);" \
    " %.1f MB of payloads + %.1f MB of keys\n", p, n, v / 1e6, k / 1e6 }'

run_kcat() {
    stamp_start=$(now)
    /usr/bin/time -o "$tmp/kcat-$1.time" -f '%e %U %S %M' \
        kcat -C -b "$boot" -t orders -e -o beginning >/dev/null 2>"$tmp/kcat-$1.err" ||
        die "kcat -C failed: $(cat "$tmp/kcat-$1.err")"
    stamp_end=$(now)
    # Without -q kcat says "Reached end of topic orders [p] at offset o" per partition: all of
    # them must have been read to their high watermark.
    sed -n 's/.*Reached end of topic orders \[\([0-9]*\)\] at offset \([0-9]*\).*/\1 \2/p' \
        "$tmp/kcat-$1.err" | sort -n -k1,1 -k2,2n | awk '{ o[$1] = $2 } END { for (p in o) print p, o[p] }' |
        sort -n | cmp -s - "$tmp/high" || die "run $1: kcat did not read every partition to its end"
}
# smelter_once TOOL I PIPELINE: one timed `smelter run` into $tmp/lake-TOOL-I.
smelter_once() {
    local lake=$tmp/lake-$1-$2
    stamp_start=$(now)
    SMELTER_LAKE=$lake KAFKA_BOOTSTRAP=$boot BENCH_MAX_BYTES=$max_bytes BENCH_THREADS=$threads \
        /usr/bin/time -o "$tmp/$1-$2.time" -f '%e %U %S %M' \
        "$smelter" run "$3" --available-now --log-format json >"$tmp/$1-$2.log" 2>&1 ||
        die "smelter run $3 failed: $(tail -n5 "$tmp/$1-$2.log")"
    stamp_end=$(now)
}
run_smelter() {
    smelter_once smelter "$1" "$pipeline"
    sm_start=$stamp_start sm_end=$stamp_end
}
run_silver() {
    smelter_once silver "$1" "$pipeline_silver"
    sv_start=$stamp_start sv_end=$stamp_end
}

# numrecords TABLE_DIR...: the sum of numRecords over the Delta logs of the tables.
numrecords() {
    local d
    for d in "$@"; do cat "$d"/_delta_log/*.json; done | grep -o 'numRecords\\":[0-9]*' |
        awk -F: '{ s += $2 } END { print s + 0 }'
}
# bsum LOG KEY: the sum of KEY over the "batch committed" lines of LOG.
bsum() { grep '"batch committed"' "$1" | grep -o "\"$2\":[0-9]*" | awk -F: '{ s += $2 } END { print s + 0 }'; }

# check_smelter TOOL I: N records read, every one in bronze or the dead-letter table; with silver
# (TOOL silver), every bronze row in silver, in its quarantine, or dropped (duplicate or late).
check_smelter() {
    local log=$tmp/$1-$2.log lake=$tmp/lake-$1-$2 rec rows dead in_logs silver quar dups late
    rec=$(jget "$log" records) rows=$(jget "$log" bronze_rows) dead=$(jget "$log" dead_letters)
    [ "$rec" = "$n" ] || die "$1 run $2: smelter read ${rec:-no} records, expected $n ($log)"
    [ $((rows + dead)) -eq "$n" ] || die "$1 run $2: bronze $rows + dead letters $dead != $n"
    in_logs=$(numrecords "$lake"/bronze/*)
    [ "$in_logs" -eq "$n" ] || die "$1 run $2: the Delta logs add $in_logs rows, expected $n"
    echo "$rows $dead $(jget "$log" batches) $(jget "$log" files)" >"$tmp/$1-$2.rows"
    [ "$1" = silver ] || return 0
    silver=$(numrecords "$lake/silver/silver_orders") quar=$(numrecords "$lake/silver/silver_orders_quarantine")
    dups=$(bsum "$log" duplicates) late=$(bsum "$log" late)
    [ "$silver" -gt 0 ] && [ "$quar" -gt 0 ] && [ "$dups" -gt 0 ] ||
        die "$1 run $2: silver $silver, quarantine $quar, duplicates $dups: expected all > 0"
    # late rows dropped by dedup are not in the log lines: at most the late rows
    [ $((rows - silver - quar - dups)) -ge 0 ] && [ $((rows - silver - quar - dups)) -le "$late" ] ||
        die "$1 run $2: bronze $rows != silver $silver + quarantine $quar + duplicates $dups (+ late <= $late)"
    echo "$silver $quar $dups $late" >"$tmp/$1-$2.silver"
}

# phases I: "startup work 0 commit exit" seconds of smelter run I, from file mtimes: the
# checkpoint's metadata (written at start), offsets/N (written once batch N is read, its silver
# step run and all its Parquet files written: the engine writes files before offsets/N, the
# bronze ones while the silver step runs, so the mtimes no longer split reading from writing —
# the event log's read_ms does), commits/N (after its Delta commits). The third field, once the
# Parquet write after offsets/N, is kept at 0 for the columns of the results table.
phases() {
    local ck=$tmp/lake-$1/_checkpoints/bench_ingest
    {
        echo "start $2"
        echo "end $3"
        stat -c 'meta %.9Y' "$ck/metadata"
        for f in "$ck"/offsets/*; do stat -c "off $(basename "$f") %.9Y" "$f"; done
        for f in "$ck"/commits/*; do stat -c "com $(basename "$f") %.9Y" "$f"; done
    } | awk 'BEGIN { last = -1 }
        $1 == "start" { t0 = $2 } $1 == "end" { t9 = $2 } $1 == "meta" { tm = $2 }
        $1 == "off" { off[$2] = $3 } $1 == "com" { com[$2] = $3; if ($2 + 0 > last) last = $2 + 0 }
        END {
            prev = tm
            for (b = 0; b <= last; b++) {
                work += off[b] - prev; commit += com[b] - off[b]; prev = com[b]
            }
            # mtimes tick in jiffies: clamp the few ms they may run behind the shell clock
            s = tm - t0; x = t9 - com[last]
            printf "%.3f %.3f 0 %.3f %.3f\n", s < 0 ? 0 : s, work, commit, x < 0 ? 0 : x }'
}

opts_note=
if [ -n "${KAFKA_OPTIONS:-}" ]; then opts_note=", options {$KAFKA_OPTIONS}"; fi
echo "$reps run(s) per tool, $n orders, $parts partitions, max_bytes_per_trigger $max_bytes," \
    "consumer_threads $threads$opts_note, nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((i = 1; i <= reps; i++)); do
    order=(kcat smelter silver)
    ((i % 2)) || order=(silver smelter kcat)
    for tool in "${order[@]}"; do
        c0=$(bcpu)
        "run_$tool" "$i"
        c1=$(bcpu)
        read -r _ user sys rss <"$tmp/$tool-$i.time"
        echo "$stamp_start $stamp_end" | awk '{ printf "%.3f\n", $2 - $1 }' >>"$tmp/$tool.secs"
        echo "$rss" >>"$tmp/$tool.rss"
        echo "$user $sys" | awk '{ print $1 + $2 }' >>"$tmp/$tool.cpu"
        echo "$c0 $c1" | awk -v hz="$hz" '{ print ($2 - $1) / hz }' >>"$tmp/$tool.bcpu"
    done
    check_smelter smelter "$i"
    check_smelter silver "$i"
    read -r p_start p_read p_write p_commit p_exit < <(phases "smelter-$i" "$sm_start" "$sm_end")
    for k in start read write commit exit; do v=p_$k; echo "${!v}" >>"$tmp/phase.$k"; done
    read -r q_start q_read q_write q_commit q_exit < <(phases "silver-$i" "$sv_start" "$sv_end")
    for k in start read write commit exit; do v=q_$k; echo "${!v}" >>"$tmp/sphase.$k"; done
    read -r rows dead batches files <"$tmp/smelter-$i.rows"
    printf '  run %d (%s first): kcat %.3f s; smelter %.3f s = start %.2f + read %.2f + write %.2f' \
        "$i" "${order[0]}" "$(tail -n1 "$tmp/kcat.secs")" "$(tail -n1 "$tmp/smelter.secs")" \
        "$p_start" "$p_read" "$p_write"
    printf ' + commit %.2f + exit %.2f, peak RSS %d MB, %d batch(es), %d file(s); ratio %.2f; verified %d bronze + %d dead letters\n' \
        "$p_commit" "$p_exit" "$(($(tail -n1 "$tmp/smelter.rss") / 1024))" "$batches" "$files" \
        "$(echo "$(tail -n1 "$tmp/smelter.secs") $(tail -n1 "$tmp/kcat.secs")" | awk '{ print $1 / $2 }')" \
        "$rows" "$dead"
    read -r s_rows s_quar s_dups s_late <"$tmp/silver-$i.silver"
    read -r _ _ s_batches s_files <"$tmp/silver-$i.rows"
    printf '        bronze+silver %.3f s = start %.2f + read %.2f + write %.2f + commit %.2f + exit %.2f, peak RSS %d MB, %d batch(es), %d file(s); bronze-only/bronze+silver %.2f; verified %d silver + %d quarantined + %d duplicates (%d late)\n' \
        "$(tail -n1 "$tmp/silver.secs")" "$q_start" "$q_read" "$q_write" "$q_commit" "$q_exit" \
        "$(($(tail -n1 "$tmp/silver.rss") / 1024))" "$s_batches" "$s_files" \
        "$(echo "$(tail -n1 "$tmp/smelter.secs") $(tail -n1 "$tmp/silver.secs")" | awk '{ print $1 / $2 }')" \
        "$s_rows" "$s_quar" "$s_dups" "$s_late"
    [ "${KEEP:-0}" = 1 ] || rm -rf "$tmp/lake-smelter-$i" "$tmp/lake-silver-$i"
done

ks=$(median "$tmp/kcat.secs") ss=$(median "$tmp/smelter.secs") vs=$(median "$tmp/silver.secs")
krss=$(median "$tmp/kcat.rss") srss=$(median "$tmp/smelter.rss") srss_max=$(sort -n "$tmp/smelter.rss" | tail -n1)
bound=$(awk -v b="$max_b" 'BEGIN { printf "%.0f", (2 * b + 64 * 1048576) / 1048576 }') # MiB
ratio=$(awk -v k="$ks" -v s="$ss" 'BEGIN { printf "%.2f", s / k }')
echo
echo "median of $reps run(s), $n orders ($(awk -v v="$value_bytes" 'BEGIN { printf "%.1f", v / 1e6 }') MB of payloads)," \
    "wall clock around the whole command (process start included):"
awk -v n="$n" -v b="$value_bytes" -v ks="$ks" -v ss="$ss" -v kr="$krss" -v sr="$srss" \
    -v kc="$(median "$tmp/kcat.cpu")" -v sc="$(median "$tmp/smelter.cpu")" \
    -v kb="$(median "$tmp/kcat.bcpu")" -v sb="$(median "$tmp/smelter.bcpu")" 'BEGIN {
    printf "  %-28s %8s %11s %8s %10s %8s %13s\n", "consumer", "wall s", "events/s", "MB/s", "peak RSS", "CPU s", "broker CPU s"
    printf "  %-28s %8.3f %11.0f %8.1f %7.0f MB %8.2f %13.2f\n", "kcat -C -e > /dev/null", ks, n / ks, b / 1e6 / ks, kr / 1024, kc, kb
    printf "  %-28s %8.3f %11.0f %8.1f %7.0f MB %8.2f %13.2f\n", "smelter run --available-now", ss, n / ss, b / 1e6 / ss, sr / 1024, sc, sb }'
awk -v n="$n" -v b="$value_bytes" -v vs="$vs" -v vr="$(median "$tmp/silver.rss")" \
    -v vc="$(median "$tmp/silver.cpu")" -v vb="$(median "$tmp/silver.bcpu")" 'BEGIN {
    printf "  %-28s %8.3f %11.0f %8.1f %7.0f MB %8.2f %13.2f\n", "smelter run, bronze+silver", vs, n / vs, b / 1e6 / vs, vr / 1024, vc, vb }'
printf '  smelter time (median): start %.2f s, read+decode+write %.2f s (+%.2f), commit %.2f s, exit %.2f s\n' \
    "$(median "$tmp/phase.start")" "$(median "$tmp/phase.read")" "$(median "$tmp/phase.write")" \
    "$(median "$tmp/phase.commit")" "$(median "$tmp/phase.exit")"
printf '  bronze+silver time (median): start %.2f s, read+decode+silver+write %.2f s (+%.2f), commit %.2f s, exit %.2f s\n' \
    "$(median "$tmp/sphase.start")" "$(median "$tmp/sphase.read")" "$(median "$tmp/sphase.write")" \
    "$(median "$tmp/sphase.commit")" "$(median "$tmp/sphase.exit")"
echo "  ratio smelter/kcat (wall time): $ratio (goal: under 1.5)"
awk -v s="$ss" -v v="$vs" 'BEGIN { printf "  ratio bronze-only/bronze+silver (wall time, medians): %.2f (goal of issue 7: at least 0.80)\n", s / v }'
awk -v r="$srss_max" -v b="$bound" -v m="$max_bytes" 'BEGIN { printf "  smelter peak RSS: %.0f MB at most" \
    " over the runs; bound 2 x %s + 64 MB = %d MB: %s\n", r / 1024, m, b, (r / 1024 <= b) ? "within" : "EXCEEDED" }'

if [ "$record" = 1 ]; then
    row=$(awk -v d="$(date +%F)" -v n="$n" -v rr="$reps" -v c="$(nproc)" -v ks="$ks" -v ss="$ss" \
        -v b="$value_bytes" -v r="$ratio" -v sr="$srss_max" -v bd="$bound" -v m="$max_bytes" \
        -v pr="$(median "$tmp/phase.read")" -v pw="$(median "$tmp/phase.write")" 'BEGIN {
        printf "| %s | %d | %d | %d | %s | %.2f | %.2f | %.0f / %.0f | %.1f / %.1f | %s | %.2f / %.2f | %.0f / %d |",
            d, n, rr, c, m, ks, ss, n / ks, n / ss, b / 1e6 / ks, b / 1e6 / ss, r, pr, pw, sr / 1024, bd }')
    # After the last row of the first table under the bench/ingest heading.
    awk -v row="$row" '
        /^## / { in_sec = ($0 ~ /^## `bench\/ingest`/) }
        in_sec && !done && /^\| date / { in_tab = 1 }
        in_tab && !done && !/^\|/ { print row; done = 1 }
        { print }
        END { if (in_tab && !done) { print row; done = 1 } if (!done) exit 3 }' \
        bench/README.md >"$tmp/README.md" ||
        die "bench/README.md has no results table under the heading '## \`bench/ingest\`'"
    cat "$tmp/README.md" >bench/README.md
    echo "recorded in bench/README.md: $row"
fi
