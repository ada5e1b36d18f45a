#!/usr/bin/env bash
# `make bench`: yieldc against its peers, all measured in this one run.
#
#   bash bench/run.sh
#
# Steps: install missing peers (Debian packages) -> build the library twice
# (assembly switch and -DYC_SWITCH=ucontext, Release) -> build the drivers ->
# time every system in interleaved rounds (median of YC_BENCH_ROUNDS runs) ->
# instruction counts under callgrind -> memory per suspended generator ->
# the "no allocation, no system call on next/send/yield" checks.
#
# Then the pipelines (yieldc/iter.h): a map/filter/sum pipeline over
# YC_PIPE_N integers (plain-iterator stages with int64 block callbacks,
# yc_val block callbacks and per-item callbacks, generator stages, the fused
# C loop, the block callbacks alone, CPython generator expressions, Lua
# coroutines), the lines of a 1 GB
# file against `wc -l`, and the peak RSS of examples/logstats reading 1 GB
# and 4 GB of access log through a pipe.
#
# Then the event loop (yieldc/loop.h, bench/loop.sh): tasks spawned and
# joined, ping-pong between two tasks, timeouts set and cleared, against
# asyncio 3.11, asyncio 3.13 and uvloop; and 10^6 sleeping tasks (memory,
# time to spawn them, time to cancel and join them).
#
# Outputs in build/bench/: results.tsv (benchmark, system, ns_per_op),
# instructions.tsv (benchmark, system, instructions_per_op), memory.tsv
# (benchmark, input_bytes, peak_rss_kb), sleepers.tsv (system, tasks,
# rss_bytes_per_task, spawn_s, cancel_join_s, pte_bytes_per_task),
# syscalls.tsv (benchmark, system, syscalls_per_op: the loop rows),
# density.tsv (system, live, rss_bytes_per_generator: the stackless section),
# runs.tsv and sleepers-runs.tsv (every single measurement), and the logs
# of the builds and installs.
#
# Then the stackless generators (include/yieldc/dense.h, bench/dense.sh):
# round trips, create + first next + free, yield from, the three-stage
# generator pipeline against the stackful kind and CPython, and RSS per live
# suspended generator (build/bench/density.tsv) against CPython, Lua 5.4,
# LuaJIT and stackful yieldc.
#
# Then the load benchmarks (bench/load.sh): servers under redis-benchmark
# and wrk against libuv, asyncio, uvloop and node; build/bench/load.tsv,
# idle.tsv, starve.tsv.
#
# YC_BENCH_ONLY=loop runs only the event loop section (make bench-loop),
# YC_BENCH_ONLY=dense only the stackless one (make bench-dense),
# YC_BENCH_ONLY=load only the load section (make bench-load),
# YC_BENCH_ONLY=gen everything but the event loop and load sections;
# results.tsv then holds only the rows measured by that run. The loop
# section's own knobs are in bench/loop.sh.
#
# Environment knobs: YC_BENCH_ROUNDS (default 9, at least 5), YC_BENCH_MS
# (target duration of one measurement, default 200), YC_PIPE_ROUNDS (default
# 5), YC_PIPE_N (items of the pipeline, default 100000000; CPython and Lua
# run YC_PIPE_N/10 and YC_PIPE_N/50: the figure is per item either way),
# YC_LINES_BYTES (size of the line-streaming file, default 1000000000).
set -u -o pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH=$ROOT/bench
OUT=$ROOT/build/bench
ROUNDS=${YC_BENCH_ROUNDS:-9}
MS=${YC_BENCH_MS:-200}
if ! [[ $ROUNDS =~ ^[0-9]+$ ]] || ((ROUNDS < 5)); then ROUNDS=5; fi
ONLY=${YC_BENCH_ONLY:-}
START=$SECONDS
RUNS=$OUT/runs.tsv

mkdir -p "$OUT"
cd "$ROOT" || exit 1

section() { printf '\n== %s ==\n' "$*"; }
note() { printf '  %s\n' "$*"; }
die() {
    printf 'bench: %s\n' "$*" >&2
    exit 1
}
case $ONLY in
"" | loop | gen | dense | load) ;;
*) die "YC_BENCH_ONLY must be loop, dense, load or gen (got '$ONLY')" ;;
esac
# shellcheck source=bench/loop.sh
. "$BENCH/loop.sh"
# shellcheck source=bench/dense.sh
. "$BENCH/dense.sh"
# shellcheck source=bench/load.sh
. "$BENCH/load.sh"
rm -f "$OUT/density.tsv" # report.py prints it when this run wrote it

# ---------------------------------------------------------------------------
section "dependencies"

: >"$OUT/apt.log"
# shellcheck source=tools/apt_install.sh
. "$ROOT/tools/apt_install.sh" # apt_install LOG PKG...; the reason in $why

have_boost() {
    [ -f /usr/include/boost/context/detail/fcontext.hpp ] &&
        [ -f /usr/include/boost/context/fiber.hpp ] &&
        compgen -G "/usr/lib/*/libboost_context.so" >/dev/null
}

# need CHECK-COMMAND PACKAGE: installs PACKAGE when the check fails.
need() {
    local check=$1 pkg=$2
    if eval "$check" >/dev/null 2>&1; then
        note "found: $pkg"
        return 0
    fi
    if ! apt_install "$OUT/apt.log" "$pkg"; then
        note "could not install $pkg: $why"
        return 1
    fi
    eval "$check" >/dev/null 2>&1 && note "installed: $pkg"
}

need "command -v cmake" cmake || die "cmake is required"
need "command -v gcc" gcc || die "gcc is required"
need "[ -x /usr/bin/python3 ]" python3 || note "no /usr/bin/python3: cpython and asyncio will be skipped"
if [ "$ONLY" != loop ] && [ "$ONLY" != load ]; then
    need "command -v g++" g++ || note "no g++: boost-fcontext will be skipped"
    need "command -v lua5.4" lua5.4 || note "no lua5.4: lua will be skipped"
    need have_boost libboost-context-dev || note "no Boost.Context: boost-fcontext will be skipped"
    need "command -v luajit" luajit || note "no luajit: luajit will be skipped"
fi
if [ "$ONLY" != load ]; then
    need "command -v valgrind" valgrind || note "no valgrind: instruction counts will be skipped"
    need "command -v strace" strace || note "no strace: the system-call check will be skipped"
fi
[ "$ONLY" != gen ] && [ "$ONLY" != dense ] && [ "$ONLY" != load ] && loop_deps
[ "$ONLY" != gen ] && [ "$ONLY" != dense ] && [ "$ONLY" != loop ] && load_deps

# The report needs some Python 3; prefer Debian's.
REPORT_PY=
for p in /usr/bin/python3 "$(command -v python3 2>/dev/null)"; do
    if [ -n "$p" ] && [ -x "$p" ]; then REPORT_PY=$p; break; fi
done
[ -n "$REPORT_PY" ] || die "no python3 for the report"

# ---------------------------------------------------------------------------
section "build"

# build_lib DIR [CMAKE ARGS...]: a Release build of libyieldc.a in DIR.
build_lib() {
    local dir=$1
    shift
    cmake -S "$ROOT" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DYC_BUILD_TESTS=OFF \
        -DYC_BUILD_EXAMPLES=OFF -DYC_BUILD_BENCH=OFF -DYC_WERROR=OFF "$@" >"$OUT/build-$(basename "$dir").log" 2>&1 &&
        cmake --build "$dir" -j2 --target yieldc_static >>"$OUT/build-$(basename "$dir").log" 2>&1 &&
        [ -f "$dir/libyieldc.a" ]
}

CFLAGS_B=(-O2 -std=gnu11 -Wall -Wextra -DYC_STATIC -I"$ROOT/include")
build_lib "$ROOT/build/bench-lib" -DYC_SWITCH=asm || { cat "$OUT/build-bench-lib.log"; die "library build failed"; }
gcc "${CFLAGS_B[@]}" "$BENCH/bench_yieldc.c" "$ROOT/build/bench-lib/libyieldc.a" -pthread \
    -o "$OUT/bench_yieldc" || die "bench_yieldc does not build"
note "yieldc: ok (build/bench-lib, Release: $("$OUT/bench_yieldc" config))"

# The results of this run, printed with ratios and the issues' targets.
report() {
    local sleepers=()
    [ "$ONLY" != gen ] && [ "$ONLY" != dense ] && sleepers=("$SLEEPERS_RAW" "$SLEEPERS_TSV")
    if [ "$ONLY" = dense ]; then
        section "results (median of $ROUNDS runs; build/bench/results.tsv)"
    elif [ "$ONLY" = loop ]; then
        section "results (median of $ROUNDS runs, sleepers of $SLEEPERS_ROUNDS; build/bench/results.tsv)"
    else
        section "results (median of $ROUNDS runs, pipelines and lines of $PIPE_ROUNDS; build/bench/results.tsv)"
    fi
    "$REPORT_PY" "$BENCH/report.py" "$RUNS" "$OUT/results.tsv" "${sleepers[@]}" || die "report failed"
}

if [ "$ONLY" = dense ]; then
    dense_build
    : >"$RUNS"
    dense_time
    dense_density
    report
    dense_instr
    rm -f "$OUT/err.log"
    section "done in $((SECONDS - START)) s"
    note "build/bench/results.tsv, build/bench/density.tsv, build/bench/instructions.tsv, build/bench/runs.tsv"
    exit 0
fi

if [ "$ONLY" = load ]; then
    load_build
    load_time
    section "done in $((SECONDS - START)) s"
    note "build/bench/load.tsv, build/bench/idle.tsv, build/bench/starve.tsv"
    exit 0
fi

if [ "$ONLY" = loop ]; then
    loop_build
    : >"$RUNS"
    loop_time
    report
    loop_instr
    rm -f "$OUT/err.log"
    section "done in $((SECONDS - START)) s"
    note "build/bench/results.tsv, build/bench/sleepers.tsv, build/bench/instructions.tsv, build/bench/syscalls.tsv"
    exit 0
fi

HAVE_YC_UC=0
if build_lib "$ROOT/build/bench-lib-ucontext" -DYC_SWITCH=ucontext &&
    gcc "${CFLAGS_B[@]}" "$BENCH/bench_yieldc.c" "$ROOT/build/bench-lib-ucontext/libyieldc.a" \
        -pthread -o "$OUT/bench_yieldc_ucontext"; then
    HAVE_YC_UC=1
    note "yieldc:ucontext: ok (build/bench-lib-ucontext, Release: $("$OUT/bench_yieldc_ucontext" config))"
else
    note "SKIP yieldc:ucontext: the ucontext build failed (build/bench/build-bench-lib-ucontext.log)"
fi

gcc -O2 -std=gnu11 -Wall -Wextra "$BENCH/bench_peers.c" -o "$OUT/bench_peers" ||
    die "bench_peers does not build"

# The pipeline drivers: bench_pipe, and the log generator and logstats.
gcc "${CFLAGS_B[@]}" "$BENCH/bench_pipe.c" "$ROOT/build/bench-lib/libyieldc.a" -pthread \
    -o "$OUT/bench_pipe" || die "bench_pipe does not build"
gcc -O2 -std=gnu11 -Wall -Wextra "$ROOT/examples/tools/gen_access_log.c" -o "$OUT/gen_access_log" ||
    die "gen_access_log does not build"
gcc "${CFLAGS_B[@]}" "$ROOT/examples/logstats.c" "$ROOT/build/bench-lib/libyieldc.a" -pthread \
    -o "$OUT/logstats" || die "logstats does not build"

HAVE_BOOST=0
if command -v g++ >/dev/null 2>&1 && have_boost &&
    g++ -O2 -std=c++14 -Wall -Wextra "$BENCH/bench_boost.cpp" -lboost_context \
        -o "$OUT/bench_boost" 2>"$OUT/boost-build.log"; then
    HAVE_BOOST=1
    note "boost-fcontext: ok (Boost $(sed -n 's/^#define BOOST_LIB_VERSION "\(.*\)"/\1/p' \
        /usr/include/boost/version.hpp 2>/dev/null))"
else
    note "SKIP boost-fcontext: no g++ / Boost.Context, or the driver does not build"
fi

# ---------------------------------------------------------------------------
# The systems: name and command words (the target ms is appended).
SYS_NAMES=()
declare -A SYS_CMD
add_sys() {
    SYS_NAMES+=("$1")
    SYS_CMD[$1]=$(printf '%q ' "${@:2}")
}
add_sys yieldc "$OUT/bench_yieldc" time
[ "$HAVE_YC_UC" = 1 ] && add_sys yieldc:ucontext "$OUT/bench_yieldc_ucontext" time
[ "$HAVE_BOOST" = 1 ] && add_sys boost-fcontext "$OUT/bench_boost" time
add_sys ucontext "$OUT/bench_peers" ucontext time
if [ -x /usr/bin/python3 ]; then
    add_sys cpython /usr/bin/python3 "$BENCH/bench_cpython.py" time
else
    note "SKIP cpython: /usr/bin/python3 is missing"
fi
if command -v lua5.4 >/dev/null 2>&1; then
    add_sys lua lua5.4 "$BENCH/bench.lua" lua
else
    note "SKIP lua: lua5.4 is missing"
fi
if command -v luajit >/dev/null 2>&1; then
    add_sys luajit luajit "$BENCH/bench.lua" luajit
else
    note "SKIP luajit: not installed"
fi
add_sys indirect-call "$OUT/bench_peers" indirect-call time

section "versions"
note "cpu: $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1) ($(nproc) cores)"
note "gcc: $(gcc -dumpfullversion), glibc: $(getconf GNU_LIBC_VERSION | cut -d' ' -f2)"
[ -x /usr/bin/python3 ] && note "cpython: $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])') (/usr/bin/python3)"
command -v lua5.4 >/dev/null 2>&1 && note "lua: $(lua5.4 -v 2>&1 | head -1)"
command -v luajit >/dev/null 2>&1 && note "luajit: $(luajit -v 2>&1 | head -1)"

# ---------------------------------------------------------------------------
section "timing: ${#SYS_NAMES[@]} systems x $ROUNDS interleaved rounds, ~${MS} ms per measurement"

: >"$RUNS"
FAILED=" "
n=${#SYS_NAMES[@]}
for ((r = 0; r < ROUNDS; r++)); do
    printf '  round %d/%d:' $((r + 1)) "$ROUNDS"
    # rotate the order each round, so that no system always runs first
    for ((i = 0; i < n; i++)); do
        s=${SYS_NAMES[$(((i + r) % n))]}
        [[ $FAILED == *" $s "* ]] && continue
        if out=$(eval "timeout 120 ${SYS_CMD[$s]} \"\$MS\"" 2>"$OUT/err.log"); then
            printf '%s\n' "$out" | awk -v r=$((r + 1)) -F'\t' 'NF == 3 { print r "\t" $0 }' >>"$RUNS"
            printf ' %s' "$s"
        else
            FAILED+="$s "
            printf ' %s(FAILED)' "$s"
            sed 's/^/    /' "$OUT/err.log" >&2
        fi
    done
    printf '\n'
done
for s in $FAILED; do
    note "SKIP $s: it failed (output above); its partial runs are dropped"
    awk -F'\t' -v s="$s" '$3 != s' "$RUNS" >"$RUNS.tmp" && mv "$RUNS.tmp" "$RUNS"
done

# ---------------------------------------------------------------------------
PIPE_ROUNDS=${YC_PIPE_ROUNDS:-5}
PIPE_N=${YC_PIPE_N:-100000000}
if ! [[ $PIPE_ROUNDS =~ ^[0-9]+$ ]] || ((PIPE_ROUNDS < 1)); then PIPE_ROUNDS=5; fi
if ! [[ $PIPE_N =~ ^[0-9]+$ ]] || ((PIPE_N < 1000)); then PIPE_N=100000000; fi
section "pipelines: map/filter/sum over range(N), $PIPE_ROUNDS interleaved rounds"
note "yieldc and fused-loop: N=$PIPE_N (yieldc:per-item of pipeline-gen: N/10);" \
    "cpython: N/10; lua: N/50 (ns per source item either way)"
# pipe_run ROUND CMD...: appends the rows CMD prints to runs.tsv.
pipe_run() {
    local r=$1 out
    shift
    if out=$(timeout 300 "$@" 2>"$OUT/err.log"); then
        printf '%s\n' "$out" | awk -v r="$r" -F'\t' 'NF == 3 { print r "\t" $0 }' >>"$RUNS"
        return 0
    fi
    note "FAILED: $* (build/bench/err.log)"
    sed 's/^/    /' "$OUT/err.log" >&2
    return 1
}
for ((r = 1; r <= PIPE_ROUNDS; r++)); do
    printf '  round %d/%d:' "$r" "$PIPE_ROUNDS"
    pipe_run "p$r" "$OUT/bench_pipe" pipeline "$PIPE_N" && printf ' yieldc+fused-loop'
    if [ -x /usr/bin/python3 ]; then
        pipe_run "p$r" /usr/bin/python3 "$BENCH/pipe_cpython.py" $((PIPE_N / 10)) && printf ' cpython'
    fi
    if command -v lua5.4 >/dev/null 2>&1; then
        pipe_run "p$r" lua5.4 "$BENCH/pipe.lua" $((PIPE_N / 50)) && printf ' lua'
    fi
    printf '\n'
done

# ---------------------------------------------------------------------------
LINES_BYTES=${YC_LINES_BYTES:-1000000000}
LINES_FILE=$OUT/lines.log
section "line streaming: a $LINES_BYTES-byte access log on disk, yieldc against wc -l"
cleanup_lines() { rm -f "$LINES_FILE"; }
trap cleanup_lines EXIT
free_kb=$(df -Pk "$OUT" | awk 'NR == 2 { print $4 }')
if [ -z "$free_kb" ] || ((free_kb < LINES_BYTES / 1024 + 512 * 1024)); then
    note "SKIP lines: ${free_kb:-?} KiB free in build/bench, the file needs $((LINES_BYTES / 1024)) KiB + 512 MiB spare"
else
    "$OUT/gen_access_log" "$LINES_BYTES" 7 >"$LINES_FILE" || die "gen_access_log failed"
    cat "$LINES_FILE" >/dev/null # both read it from the page cache
    nlines=$(wc -l <"$LINES_FILE")
    note "$(stat -c %s "$LINES_FILE") bytes, $nlines lines; median of $PIPE_ROUNDS interleaved rounds"
    for ((r = 1; r <= PIPE_ROUNDS; r++)); do
        printf '  round %d/%d:' "$r" "$PIPE_ROUNDS"
        pipe_run "l$r" "$OUT/bench_pipe" lines "$LINES_FILE" && printf ' yieldc'
        t0=$(date +%s%N)
        got=$(wc -l <"$LINES_FILE")
        t1=$(date +%s%N)
        if [ "$got" = "$nlines" ]; then
            awk -v r="l$r" -v t=$((t1 - t0)) -v n="$nlines" \
                'BEGIN { printf "%s\tlines\twc\t%.3f\n", r, t / n }' >>"$RUNS"
            printf ' wc'
        fi
        printf '\n'
    done
    cleanup_lines
fi

# ---------------------------------------------------------------------------
dense_build
dense_time
dense_density

# ---------------------------------------------------------------------------
if [ "$ONLY" != gen ]; then
    loop_build
    loop_time
fi

report

# ---------------------------------------------------------------------------
section "instructions per round trip (callgrind; build/bench/instructions.tsv)"

INSTR=$OUT/instructions.tsv
printf 'benchmark\tsystem\tinstructions_per_op\n' >"$INSTR"
if command -v valgrind >/dev/null 2>&1; then
    # total_ir N CMD...: callgrind's total instruction count of CMD count-rt N
    total_ir() {
        local nn=$1 f="$OUT/callgrind.out.tmp"
        shift
        valgrind --tool=callgrind --callgrind-out-file="$f" "$@" count-rt "$nn" \
            >/dev/null 2>"$OUT/callgrind.log" || return 1
        sed -n 's/^totals: *//p' "$f" | head -1
        rm -f "$f"
    }
    # Three runs of B, B+N and B+2N round trips: per op = (Ir(B+N) - Ir(B)) / N,
    # which must equal (Ir(B+2N) - Ir(B+N)) / N (start-up cancels out exactly;
    # B > 0 so that the loop's set-up is in every run).
    instr_row() {
        local sys=$1 N=$2
        shift 2
        local B=1000 a b c
        a=$(total_ir $B "$@") && b=$(total_ir $((B + N)) "$@") && c=$(total_ir $((B + 2 * N)) "$@") ||
            { note "$sys: callgrind failed (build/bench/callgrind.log)"; return; }
        local per1 per2
        per1=$(awk -v a="$a" -v b="$b" -v n="$N" 'BEGIN { printf "%.2f", (b - a) / n }')
        per2=$(awk -v b="$b" -v c="$c" -v n="$N" 'BEGIN { printf "%.2f", (c - b) / n }')
        local stable="exact: the same for both steps"
        [ "$per1" = "$per2" ] || stable="UNSTABLE: the second step gave $per2"
        printf 'roundtrip\t%s\t%s\n' "$sys" "$per1" >>"$INSTR"
        printf '  %-16s %8s instructions/round trip  (%s)\n' "$sys" "$per1" "$stable"
    }
    instr_row yieldc 100000 "$OUT/bench_yieldc"
    [ "$HAVE_YC_UC" = 1 ] && instr_row yieldc:ucontext 10000 "$OUT/bench_yieldc_ucontext"
    [ "$HAVE_BOOST" = 1 ] && instr_row boost-fcontext 100000 "$OUT/bench_boost"
    instr_row ucontext 10000 "$OUT/bench_peers" ucontext
    instr_row indirect-call 100000 "$OUT/bench_peers" indirect-call
    note "(user-space instructions only: the kernel side of ucontext's rt_sigprocmask is not counted)"
else
    note "SKIP: valgrind is missing"
fi
[ "$ONLY" != gen ] && loop_instr
dense_instr

# ---------------------------------------------------------------------------
section "memory per suspended generator (10000 generators, each advanced to its first yield)"

printf '  %-16s %10s %16s %18s\n' system generators "RSS bytes/gen" "virtual bytes/gen"
mem_row() {
    local line
    line=$("$@" mem 10000) || { note "$1: failed"; return; }
    printf '%s\n' "$line" | awk -F'\t' '{ printf "  %-16s %10s %16s %18s\n", $1, $2, $3, $4 }'
}
mem_row "$OUT/bench_yieldc"
[ "$HAVE_YC_UC" = 1 ] && mem_row "$OUT/bench_yieldc_ucontext"
[ -x /usr/bin/python3 ] && mem_row /usr/bin/python3 "$BENCH/bench_cpython.py"
note "(yieldc: one mmap'd stack per generator, 256 KiB default + guard page reserved;"
note " RSS counts only the pages touched: the header at the top and the frames in use)"

# ---------------------------------------------------------------------------
section "logstats peak RSS, 1 GB and 4 GB of access log piped in (median of 3 runs; build/bench/memory.tsv)"

# A 2 MB process's peak RSS moves by a few hundred KiB from run to run
# (start-up, address layout), so each size is run three times.
MEM=$OUT/memory.tsv
printf 'benchmark\tinput_bytes\tpeak_rss_kb\n' >"$MEM"
for size in 1000000000 4000000000; do
    rss_runs=() inb=
    for run in 1 2 3; do
        if line=$("$OUT/gen_access_log" "$size" 3 | "$OUT/logstats" - 2>&1 >/dev/null | grep '^logstats:'); then
            rss_runs+=("$(sed -n 's/.*peak RSS \([0-9]*\) KiB.*/\1/p' <<<"$line")")
            inb=$(sed -n 's/^logstats: \([0-9]*\) bytes.*/\1/p' <<<"$line")
            note "$line"
        else
            note "logstats on $size bytes FAILED"
        fi
    done
    if ((${#rss_runs[@]} == 3)); then
        med=$(printf '%s\n' "${rss_runs[@]}" | sort -n | sed -n 2p)
        printf 'logstats\t%s\t%s\n' "$inb" "$med" >>"$MEM"
    fi
done
awk -F'\t' 'NR > 1 { r[NR] = $3 } END {
    if (r[2] && r[3]) printf "  median peak RSS at 4 GB / at 1 GB: %d / %d KiB = %.3f (target: at most 1.10): %s\n",
        r[3], r[2], r[3] / r[2], r[3] <= 1.10 * r[2] ? "met" : "NOT met" }' "$MEM"

# ---------------------------------------------------------------------------
section "no allocation and no system call on the next/send/yield path"

# The driver's `path N` mode: N x (yc_next + yc_send) on one generator with a
# counting allocator installed through yc_set_allocator.
CHECKS_OK=1
path_run() { # path_run BINARY N -> "syscalls<TAB>driver output"
    local bin=$1 nn=$2 f="$OUT/strace.tmp" out calls
    if command -v strace >/dev/null 2>&1; then
        out=$(strace -f -c -o "$f" "$bin" path "$nn") || return 1
        calls=$(awk '$NF == "total" { print $4 }' "$f")
    else
        out=$("$bin" path "$nn") || return 1
        calls=-
    fi
    printf '%s\t%s\n' "$calls" "$out"
}
field() { sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }

if r1=$(path_run "$OUT/bench_yieldc" 1000) && r2=$(path_run "$OUT/bench_yieldc" 1000000); then
    s1=${r1%%$'\t'*} s2=${r2%%$'\t'*}
    if [ "$s1" = - ]; then
        note "system calls: SKIPPED (no strace)"
    elif [ "$s1" = "$s2" ]; then
        note "system calls (strace -c -f), whole process: N=1e3: $s1, N=1e6: $s2 -> equal: PASS"
    else
        note "system calls (strace -c -f), whole process: N=1e3: $s1, N=1e6: $s2 -> differ: FAIL"
        CHECKS_OK=0
    fi
    la1=$(field loop_allocs <<<"$r1") la2=$(field loop_allocs <<<"$r2")
    ta1=$(field total_allocs <<<"$r1") ta2=$(field total_allocs <<<"$r2")
    if [ "$la1" = 0 ] && [ "$la2" = 0 ] && [ "$ta1" = "$ta2" ]; then
        verdict=PASS
    else
        verdict=FAIL
        CHECKS_OK=0
    fi
    note "allocations (yc_set_allocator counter): in the loop N=1e3: $la1, N=1e6: $la2;" \
        "whole process: $ta1 and $ta2 -> $verdict"
else
    note "the path check could not run: FAIL"
    CHECKS_OK=0
fi
# The same check on the ucontext build shows that it does detect system calls.
if [ "$HAVE_YC_UC" = 1 ] && command -v strace >/dev/null 2>&1 &&
    u1=$(path_run "$OUT/bench_yieldc_ucontext" 1000) &&
    u2=$(path_run "$OUT/bench_yieldc_ucontext" 2000); then
    su1=${u1%%$'\t'*} su2=${u2%%$'\t'*}
    note "for contrast, yieldc:ucontext: N=1e3: $su1, N=2e3: $su2 system calls ->" \
        "$(awk -v a="$su1" -v b="$su2" 'BEGIN { printf "%.1f", (b - a) / 2000 }') per round trip" \
        "(glibc swapcontext's rt_sigprocmask)"
fi
rm -f "$OUT/strace.tmp" "$OUT/err.log"

if [ -z "$ONLY" ]; then
    load_build
    load_time
fi

section "done in $((SECONDS - START)) s"
note "build/bench/results.tsv, build/bench/instructions.tsv, build/bench/memory.tsv, build/bench/runs.tsv"
[ "$ONLY" != gen ] && note "build/bench/sleepers.tsv, build/bench/syscalls.tsv, build/bench/sleepers-runs.tsv"
[ -z "$ONLY" ] && note "build/bench/load.tsv, build/bench/idle.tsv, build/bench/starve.tsv"
[ "$CHECKS_OK" = 1 ] || die "a next/send/yield path check FAILED"
exit 0
