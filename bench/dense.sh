# shellcheck shell=bash
# The stackless generator section of `make bench` (include/yieldc/dense.h,
# issue 12 section 4), sourced by bench/run.sh, whose helpers (section,
# note) and variables (ROOT, BENCH, OUT, ONLY, ROUNDS, MS, RUNS, CFLAGS_B)
# it uses. `YC_BENCH_ONLY=dense bash bench/run.sh` (make bench-dense) runs
# only this section, with the CPython rows it is compared against.
#
# dense_time: $ROUNDS interleaved rounds (labels d1, d2, ...) of
#   bench_dense time $MS   yieldc:stackless rows (roundtrip, roundtrip-direct,
#                          create-close, yieldfrom-1/-4/-16, yieldfrom per level,
#                          pipeline-gen), the embedded create-close, and the
#                          stackful kind's (roundtrip yc_next / yc_iter_next,
#                          create-close, yieldfrom-1/-10/-100, pipeline-gen yieldc:plain
#                          and yieldc:plain-share-fpenv) and the bare switch
#                          pair (roundtrip yieldc:raw-switch)
#   dense_cpython.py       CPython's yieldfrom-1, -4, -10, -100, yieldfrom
#   and, with YC_BENCH_ONLY=dense only (a full run measures them in its own
#   sections): bench_cpython.py time (CPython's next: roundtrip) and
#   pipe_cpython.py over $YC_DENSE_PIPE_N items (pipeline-gen cpython).
# dense_density: build/bench/density.tsv (system, live,
#   rss_bytes_per_generator): stackless at 10^6 and 10^7 live suspended
#   generators (yc_sgen_new; and embedded in one array at 10^6), stackful
#   yieldc, CPython, Lua 5.4 and LuaJIT at 10^6; one run each (a count of
#   pages, not a timing).
# dense_instr: callgrind instructions per op of every bench_dense row into
#   build/bench/instructions.tsv, with the instruction ratios of the targets.

DENSE_PIPE_N=${YC_DENSE_PIPE_N:-2000000}
DENSITY=$OUT/density.tsv

dense_build() {
    gcc "${CFLAGS_B[@]}" "$BENCH/bench_dense.c" "$ROOT/build/bench-lib/libyieldc.a" -pthread \
        -o "$OUT/bench_dense" || die "bench_dense does not build"
    note "bench_dense: ok (build/bench-lib)"
}

dense_time() {
    section "stackless generators: $ROUNDS interleaved rounds, ~${MS} ms per measurement"
    local sys=(bench_dense) r i n s out
    local -A cmd=([bench_dense]="$OUT/bench_dense time $MS")
    if [ -x /usr/bin/python3 ]; then
        sys+=(cpython-yieldfrom)
        cmd[cpython-yieldfrom]="/usr/bin/python3 $BENCH/dense_cpython.py time $MS"
        if [ "$ONLY" = dense ]; then
            sys+=(cpython cpython-pipe)
            cmd[cpython]="/usr/bin/python3 $BENCH/bench_cpython.py time $MS"
            cmd[cpython-pipe]="/usr/bin/python3 $BENCH/pipe_cpython.py $DENSE_PIPE_N"
        fi
    else
        note "SKIP cpython: /usr/bin/python3 is missing"
    fi
    n=${#sys[@]}
    note "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) CPUs)"
    for ((r = 0; r < ROUNDS; r++)); do
        printf '  round %d/%d:' $((r + 1)) "$ROUNDS"
        for ((i = 0; i < n; i++)); do
            s=${sys[$(((i + r) % n))]}
            # shellcheck disable=SC2086 # the command's words
            if out=$(timeout 300 ${cmd[$s]} 2>"$OUT/err.log"); then
                printf '%s\n' "$out" | awk -v r="d$((r + 1))" -F'\t' 'NF == 3 { print r "\t" $0 }' >>"$RUNS"
                printf ' %s' "$s"
            else
                printf ' %s(FAILED)' "$s"
                sed 's/^/    /' "$OUT/err.log" >&2
            fi
        done
        printf '\n'
    done
    note "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

dense_density() {
    section "live suspended generators: RSS bytes per generator (build/bench/density.tsv)"
    printf 'system\tlive\trss_bytes_per_generator\n' >"$DENSITY"
    local line
    # bench_dense density: "density<TAB>system<TAB>N<TAB>bytes<TAB>(note)"
    for args in "1000000 slab" "10000000 slab" "1000000 array"; do
        # shellcheck disable=SC2086
        if line=$("$OUT/bench_dense" density $args); then
            note "bench_dense density $args: $(cut -f3- <<<"$line" | tr '\t' ' ')"
            awk -F'\t' '{ s = $2; sub(/-slab$/, "", s); sub(/-array$/, "-embedded", s)
                printf "%s\t%s\t%s\n", s, $3, $4 }' <<<"$line" >>"$DENSITY"
        else
            note "bench_dense density $args: FAILED"
        fi
    done
    # bench_yieldc mem: "system<TAB>N<TAB>rss bytes/gen<TAB>virtual bytes/gen"
    if line=$("$OUT/bench_yieldc" mem 1000000); then
        note "bench_yieldc mem 1000000 (stackful, default stack): $(tr '\t' ' ' <<<"$line") (system, live, RSS, virtual)"
        awk -F'\t' '{ printf "yieldc:stackful\t%s\t%s\n", $2, $3 }' <<<"$line" >>"$DENSITY"
    else
        note "bench_yieldc mem 1000000: FAILED"
    fi
    if [ -x /usr/bin/python3 ] && line=$(/usr/bin/python3 "$BENCH/bench_cpython.py" mem 1000000); then
        note "bench_cpython.py mem 1000000: $(tr '\t' ' ' <<<"$line")"
        cut -f1-3 <<<"$line" >>"$DENSITY"
    fi
    if command -v lua5.4 >/dev/null 2>&1 && line=$(lua5.4 "$BENCH/dense_mem.lua" lua 1000000); then
        note "dense_mem.lua (lua5.4): $(tr '\t' ' ' <<<"$line")"
        printf '%s\n' "$line" >>"$DENSITY"
    fi
    if command -v luajit >/dev/null 2>&1 && line=$(luajit "$BENCH/dense_mem.lua" luajit 1000000); then
        note "dense_mem.lua (luajit): $(tr '\t' ' ' <<<"$line")"
        printf '%s\n' "$line" >>"$DENSITY"
    fi
}

# dense_ir ROW N: callgrind's total instruction count of bench_dense ROW N.
dense_ir() {
    local f="$OUT/callgrind.out.tmp"
    valgrind --tool=callgrind --callgrind-out-file="$f" "$OUT/bench_dense" "$1" "$2" \
        >/dev/null 2>"$OUT/callgrind.log" || return 1
    sed -n 's/^totals: *//p' "$f" | head -1
    rm -f "$f"
}

dense_instr() {
    local INSTR=$OUT/instructions.tsv
    [ "$ONLY" = dense ] && rm -f "$INSTR" # no rows of an earlier run
    [ -f "$INSTR" ] || printf 'benchmark\tsystem\tinstructions_per_op\n' >"$INSTR"
    section "stackless generators: instructions per op (callgrind; build/bench/instructions.tsv)"
    if ! command -v valgrind >/dev/null 2>&1; then
        note "SKIP: valgrind is missing"
        return
    fi
    local rows=(roundtrip/yieldc:stackless roundtrip-direct/yieldc:stackless
        roundtrip/yieldc:stackful-yc_next roundtrip/yieldc:stackful-yc_iter_next roundtrip/yieldc:raw-switch
        create-close/yieldc:stackless create-close/yieldc:stackless-embedded create-close/yieldc:stackful
        yieldfrom-1/yieldc:stackless yieldfrom-4/yieldc:stackless yieldfrom-16/yieldc:stackless
        yieldfrom-1/yieldc:stackful yieldfrom-10/yieldc:stackful yieldfrom-100/yieldc:stackful
        pipeline-gen/yieldc:stackless pipeline-gen/yieldc:plain pipeline-gen/yieldc:plain-share-fpenv)
    local N=100000 row a b c per1 per2 stable
    local -A ipo
    for row in "${rows[@]}"; do
        # three runs of N, 2N and 3N ops: per op = the difference of
        # consecutive runs / N (start-up and set-up cancel out)
        if a=$(dense_ir "$row" $N) && b=$(dense_ir "$row" $((2 * N))) && c=$(dense_ir "$row" $((3 * N))); then
            per1=$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')
            per2=$(awk -v b="$b" -v c="$c" -v n="$N" 'BEGIN { printf "%.2f", (c - b) / n }')
            stable="the same for both steps"
            [ "$per1" = "$per2" ] || stable="the first step gave $per1"
            ipo[$row]=$per2
            printf '%s\t%s\n' "${row%%/*}" "${row#*/}" | awk -v p="$per2" '{ print $0 "\t" p }' >>"$INSTR"
            printf '  %-42s %9s instructions/op  (%s)\n' "$row" "$per2" "$stable"
        else
            note "$row: callgrind failed (build/bench/callgrind.log)"
        fi
    done
    local rt=${ipo[roundtrip/yieldc:stackless]:-} y4=${ipo[yieldfrom-4/yieldc:stackless]:-}
    if [ -n "$rt" ] && [ -n "$y4" ]; then
        local lvl
        lvl=$(awk -v a="$rt" -v b="$y4" 'BEGIN { printf "%.2f", (b - a) / 4 }')
        printf 'yieldfrom\tyieldc:stackless\t%s\n' "$lvl" >>"$INSTR"
        printf '  %-42s %9s instructions/op  ((yieldfrom-4 - roundtrip) / 4)\n' "yieldfrom/yieldc:stackless" "$lvl"
    fi
    local fn=${ipo[roundtrip/yieldc:stackful-yc_next]:-} fi=${ipo[roundtrip/yieldc:stackful-yc_iter_next]:-}
    if [ -n "$fn" ] && [ -n "$fi" ]; then
        awk -v a="$fi" -v b="$fn" 'BEGIN { r = a / b; printf "  target (by instructions): stackful yc_iter_next within 10%% of yc_next: %s / %s = %.2fx (%s)\n",
            a, b, r, r <= 1.10 ? "met" : "NOT met" }'
    fi
    note "(loops included: each op's figure holds the driver's loop and its accumulator)"
}
