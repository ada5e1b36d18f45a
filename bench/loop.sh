# The event loop section of `make bench` (yieldc/loop.h against asyncio),
# sourced by bench/run.sh, whose helpers (section, note, need, build_lib)
# and variables (ROOT, BENCH, OUT, ROUNDS, RUNS, CFLAGS_B, REPORT_PY) it
# uses. `YC_BENCH_ONLY=loop bash bench/run.sh` (make bench-loop) runs only
# this section.
#
# Systems, all measured in the same rounds, each process pinned to one CPU
# (taskset -c $YC_BENCH_CPU, default the last CPU) when taskset exists:
#   yieldc          bench/bench_loop.c on the Release library (build/bench-lib)
#   yieldc:pool-1M  the same on a library built with
#                   -DYC_STACK_POOL_MAX=1048576 (build/bench-lib-pool): what
#                   the per-thread stack pool (64 stacks by default) costs
#                   the spawn rows; a diagnostic, not the default build
#   asyncio-3.11    bench/loop_asyncio.py on Debian's /usr/bin/python3
#   asyncio-3.1x    the same on the first CPython 3.13+ found (pyenv's
#                   versions, /usr/bin/python3.13, /usr/local/bin/python3.13;
#                   YC_BENCH_PY313 to choose), skipped with a reason if none
#   uvloop          the same on /usr/bin/python3 with uvloop (Debian's
#                   python3-uvloop, installed when missing)
#
# Rows (ns per op, median of $ROUNDS interleaved rounds, into runs.tsv and
# from there results.tsv):
#   spawn            per task: spawn a batch of $YC_LOOP_BATCH tasks that
#                    return at once, gather it; $YC_LOOP_SPAWN_N tasks after
#                    one untimed batch
#   spawn-sleep0     the same, each task doing one sleep(0)
#   pingpong         per hop, through two queues of maxsize 1 (yieldc: only
#                    when the library has yc_queue)
#   pingpong-future  per hop, through futures (what yieldc has without queues)
#   timers           per timeout entered and left: $YC_LOOP_TIMER_TASKS tasks
#                    x $YC_LOOP_TIMER_ITERS timeouts around a sleep(0)
# pingpong's yieldc runs 10x the hops of the Python peers (figures per hop).
#
# Then sleepers: $YC_SLEEPERS_N tasks in sleep(3600), $YC_SLEEPERS_ROUNDS
# interleaved rounds (default 3: one asyncio round takes a minute or two),
# systems yieldc (default task stack), yieldc:16k (yc_loop_opts.task_stack
# 16 KiB) and the Python peers; medians into sleepers.tsv. Then the
# page-fault floor under yieldc's spawn_s (bench_loop floor: as many stacks,
# first touched without the library) into sleepers-floor.tsv. Then (loop_instr)
# callgrind instructions and strace system calls per op of the yieldc rows,
# and one run of each with YC_BENCH_PHASES=1 (time per phase, allocations
# per op).

LOOP_SPAWN_N=${YC_LOOP_SPAWN_N:-200000}
LOOP_BATCH=${YC_LOOP_BATCH:-10000}
LOOP_PP_N=${YC_LOOP_PINGPONG_N:-100000}
LOOP_TM_TASKS=${YC_LOOP_TIMER_TASKS:-100000}
LOOP_TM_ITERS=${YC_LOOP_TIMER_ITERS:-2}
SLEEPERS_N=${YC_SLEEPERS_N:-1000000}
SLEEPERS_ROUNDS=${YC_SLEEPERS_ROUNDS:-3}
SLEEPERS_RAW=$OUT/sleepers-runs.tsv
SLEEPERS_TSV=$OUT/sleepers.tsv
for v in LOOP_SPAWN_N LOOP_BATCH LOOP_PP_N LOOP_TM_TASKS LOOP_TM_ITERS SLEEPERS_N SLEEPERS_ROUNDS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer (got '${!v}')"
done
((LOOP_SPAWN_N % LOOP_BATCH == 0)) || die "YC_LOOP_SPAWN_N must be a multiple of YC_LOOP_BATCH"

# loop_deps: uvloop for Debian's python3, a CPython 3.13+, taskset.
loop_deps() {
    HAVE_UVLOOP=0
    if [ -x /usr/bin/python3 ]; then
        if need "/usr/bin/python3 -c 'import uvloop'" python3-uvloop; then
            HAVE_UVLOOP=1
        else
            note "no uvloop for /usr/bin/python3: uvloop will be skipped"
        fi
    fi
    PY313=${YC_BENCH_PY313:-}
    if [ -z "$PY313" ]; then
        local c
        for c in $(for r in "${PYENV_ROOT:-}" "$HOME/.pyenv"; do
            [ -n "$r" ] && [ -d "$r/versions" ] && compgen -G "$r/versions/3.1[3-9]*/bin/python3"
        done | sort -V) /usr/bin/python3.13 /usr/local/bin/python3.13; do
            if [ -x "$c" ] && "$c" -c 'import sys; sys.exit(sys.version_info < (3, 13))' 2>/dev/null; then
                PY313=$c
                break
            fi
        done
    fi
    PY313_SYS=
    if [ -n "$PY313" ]; then
        PY313_SYS=asyncio-$("$PY313" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
        note "found: $PY313_SYS ($PY313)"
    else
        note "no CPython 3.13+ (pyenv, /usr/bin/python3.13, /usr/local/bin/python3.13; YC_BENCH_PY313): asyncio-3.13 will be skipped"
    fi
    PIN=()
    local cpus
    cpus=$(nproc 2>/dev/null || echo 1)
    LOOP_CPU=${YC_BENCH_CPU:-$((cpus - 1))}
    if command -v taskset >/dev/null 2>&1 && taskset -c "$LOOP_CPU" true 2>/dev/null; then
        PIN=(taskset -c "$LOOP_CPU")
        note "found: taskset (the loop benchmarks run on CPU $LOOP_CPU)"
    else
        note "no taskset, or CPU $LOOP_CPU unusable: the loop benchmarks run unpinned"
    fi
}

# loop_build: the C driver against the library of build/bench-lib (which
# run.sh built), and the pool diagnostic's library and driver.
loop_build() {
    local lib=$ROOT/build/bench-lib/libyieldc.a qdef=()
    # yc_queue is declared before it is implemented: use it once defined
    # (grep reads all of nm's output: with -q, nm's SIGPIPE fails the pipe)
    if nm -g --defined-only "$lib" 2>/dev/null | grep -w yc_queue_new >/dev/null; then
        qdef=(-DYC_BENCH_HAVE_QUEUE)
        HAVE_YC_QUEUE=1
    else
        HAVE_YC_QUEUE=0
    fi
    gcc "${CFLAGS_B[@]}" "${qdef[@]}" "$BENCH/bench_loop.c" "$lib" -pthread -o "$OUT/bench_loop" ||
        die "bench_loop does not build"
    note "yieldc (loop): ok ($("$OUT/bench_loop" config))"
    [ "$HAVE_YC_QUEUE" = 1 ] ||
        note "yc_queue is not in this library yet: yieldc's ping-pong goes through futures only (row pingpong-future)"
    HAVE_YC_POOL=0
    if build_lib "$ROOT/build/bench-lib-pool" -DYC_SWITCH=asm "-DCMAKE_C_FLAGS=-DYC_STACK_POOL_MAX=1048576" &&
        gcc "${CFLAGS_B[@]}" "${qdef[@]}" "$BENCH/bench_loop.c" "$ROOT/build/bench-lib-pool/libyieldc.a" \
            -pthread -o "$OUT/bench_loop_pool"; then
        HAVE_YC_POOL=1
        note "yieldc:pool-1M: ok (build/bench-lib-pool: $("$OUT/bench_loop_pool" config | grep -o 'stack_pool_max=[0-9]*'))"
    else
        note "SKIP yieldc:pool-1M: its build failed (build/bench/build-bench-lib-pool.log)"
    fi
}

# loop_cmd SYSTEM: the command words that run SYSTEM's driver (without the
# mode and its arguments), in LCMD.
loop_cmd() {
    case $1 in
    yieldc) LCMD=("${PIN[@]}" "$OUT/bench_loop") ;;
    yieldc:pool-1M) LCMD=("${PIN[@]}" "$OUT/bench_loop_pool") ;;
    asyncio-3.11) LCMD=("${PIN[@]}" /usr/bin/python3 "$BENCH/loop_asyncio.py") ;;
    uvloop) LCMD=("${PIN[@]}" /usr/bin/python3 "$BENCH/loop_asyncio.py" --uvloop) ;;
    *) LCMD=("${PIN[@]}" "$PY313" "$BENCH/loop_asyncio.py") ;;
    esac
}

# loop_args BENCH SYSTEM: the mode and arguments of BENCH for SYSTEM, in
# LARGS; returns 1 when SYSTEM does not run BENCH.
loop_args() {
    local b=$1 s=$2
    case $b in
    spawn | spawn-sleep0) LARGS=("$b" "$LOOP_SPAWN_N" "$LOOP_BATCH" "$s") ;;
    pingpong | pingpong-future)
        [ "$b" = pingpong ] && [ "$s" = yieldc ] && [ "$HAVE_YC_QUEUE" != 1 ] && return 1
        [[ $s == yieldc* ]] && LARGS=("$b" $((LOOP_PP_N * 10)) "$s") || LARGS=("$b" "$LOOP_PP_N" "$s") ;;
    timers) LARGS=(timers "$LOOP_TM_TASKS" "$LOOP_TM_ITERS" "$s") ;;
    esac
    [ "$s" = yieldc:pool-1M ] && [[ $b != spawn* ]] && return 1
    return 0
}

# loop_time: the timed rows, then the sleepers.
loop_time() {
    local systems=(yieldc) s b r i n out
    [ "$HAVE_YC_POOL" = 1 ] && systems+=(yieldc:pool-1M)
    [ -x /usr/bin/python3 ] && systems+=(asyncio-3.11)
    [ -n "$PY313_SYS" ] && systems+=("$PY313_SYS")
    [ "$HAVE_UVLOOP" = 1 ] && systems+=(uvloop)
    local benches=(spawn spawn-sleep0 pingpong pingpong-future timers)
    section "event loop: ${#systems[@]} systems x $ROUNDS interleaved rounds"
    note "systems: ${systems[*]}"
    [ -x /usr/bin/python3 ] && note "asyncio-3.11: $(/usr/bin/python3 -c 'import sys; print(sys.version.split()[0])')" \
        "$([ "$HAVE_UVLOOP" = 1 ] && /usr/bin/python3 -c 'import uvloop; print("uvloop", uvloop.__version__)')"
    note "spawn: $LOOP_SPAWN_N tasks in batches of $LOOP_BATCH (+1 untimed batch); pingpong: $LOOP_PP_N round trips" \
        "(yieldc $((LOOP_PP_N * 10))); timers: $LOOP_TM_TASKS tasks x $LOOP_TM_ITERS"
    n=${#systems[@]}
    local failed=" "
    for ((r = 0; r < ROUNDS; r++)); do
        printf '  round %d/%d (load %s):' $((r + 1)) "$ROUNDS" "$(cut -d' ' -f1 /proc/loadavg)"
        for b in "${benches[@]}"; do
            # rotate the order each round and reverse it on odd rounds
            for ((i = 0; i < n; i++)); do
                if ((r % 2)); then s=${systems[$(((n - 1 - i + r) % n))]}; else s=${systems[$(((i + r) % n))]}; fi
                [[ $failed == *" $b/$s "* ]] && continue
                loop_args "$b" "$s" || continue
                loop_cmd "$s"
                if out=$(timeout 600 "${LCMD[@]}" "${LARGS[@]}" 2>"$OUT/err.log"); then
                    printf '%s\n' "$out" | awk -v r="L$((r + 1))" -F'\t' 'NF == 3 { print r "\t" $0 }' >>"$RUNS"
                else
                    failed+="$b/$s "
                    printf ' %s/%s(FAILED)' "$b" "$s"
                    sed 's/^/    /' "$OUT/err.log" >&2
                fi
            done
            printf ' %s' "$b"
        done
        printf '\n'
    done
    for s in $failed; do
        note "SKIP ${s#*/} in ${s%%/*}: it failed (output above); its runs are dropped"
        awk -F'\t' -v b="${s%%/*}" -v s="${s#*/}" '!($2 == b && $3 == s)' "$RUNS" >"$RUNS.tmp" && mv "$RUNS.tmp" "$RUNS"
    done
    loop_sleepers
}

# loop_sleepers: SLEEPERS_N sleeping tasks per system, SLEEPERS_ROUNDS rounds.
loop_sleepers() {
    local systems=() s r i n out
    : >"$SLEEPERS_RAW"
    rm -f "$SLEEPERS_TSV"
    section "event loop: $SLEEPERS_N sleeping tasks, $SLEEPERS_ROUNDS interleaved rounds"
    # yieldc needs about 5 KiB of RAM per task and, where guard pages are
    # mprotect'd pages (kernels before 6.13), two mappings per task
    local avail_kb max_maps guard
    avail_kb=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
    max_maps=$(cat /proc/sys/vm/max_map_count 2>/dev/null || echo 0)
    guard=$("$OUT/bench_loop" config | sed -n 's/.*stack_guard=\([a-z]*\).*/\1/p')
    if ((avail_kb < SLEEPERS_N * 8)); then
        note "SKIP yieldc, yieldc:16k: $avail_kb KiB available, $((SLEEPERS_N * 8)) KiB wanted (8 KiB per task)"
    elif [ "$guard" != region ] && ((max_maps < 2 * SLEEPERS_N + 10000)); then
        note "SKIP yieldc, yieldc:16k: guard pages by mprotect need $((2 * SLEEPERS_N)) mappings," \
            "vm.max_map_count is $max_maps"
    else
        systems+=(yieldc yieldc:16k)
    fi
    if ((avail_kb < SLEEPERS_N * 4)); then
        note "SKIP the asyncio peers: $avail_kb KiB available, $((SLEEPERS_N * 4)) KiB wanted (4 KiB per task)"
    else
        [ -x /usr/bin/python3 ] && systems+=(asyncio-3.11)
        [ -n "$PY313_SYS" ] && systems+=("$PY313_SYS")
        [ "$HAVE_UVLOOP" = 1 ] && systems+=(uvloop)
    fi
    n=${#systems[@]}
    ((n)) || return 0
    local failed=" "
    for ((r = 0; r < SLEEPERS_ROUNDS; r++)); do
        printf '  round %d/%d (load %s):' $((r + 1)) "$SLEEPERS_ROUNDS" "$(cut -d' ' -f1 /proc/loadavg)"
        for ((i = 0; i < n; i++)); do
            if ((r % 2)); then s=${systems[$(((n - 1 - i + r) % n))]}; else s=${systems[$(((i + r) % n))]}; fi
            [[ $failed == *" $s "* ]] && continue
            case $s in
            yieldc) LCMD=("${PIN[@]}" "$OUT/bench_loop" sleepers "$SLEEPERS_N" 0 "$s") ;;
            yieldc:16k) LCMD=("${PIN[@]}" "$OUT/bench_loop" sleepers "$SLEEPERS_N" 16384 "$s") ;;
            *) loop_cmd "$s" && LCMD+=(sleepers "$SLEEPERS_N" "$s") ;;
            esac
            if out=$(timeout 1200 "${LCMD[@]}" 2>"$OUT/err.log"); then
                printf '%s\n' "$out" | awk -v r="$((r + 1))" -F'\t' 'NF == 6 { print r "\t" $0 }' >>"$SLEEPERS_RAW"
                printf ' %s' "$s"
            else
                failed+="$s "
                printf ' %s(FAILED)' "$s"
                sed 's/^/    /' "$OUT/err.log" >&2
            fi
        done
        printf '\n'
    done
    for s in $failed; do
        note "SKIP $s: it failed (output above); its runs are dropped"
        awk -F'\t' -v s="$s" '$2 != s' "$SLEEPERS_RAW" >"$SLEEPERS_RAW.tmp" && mv "$SLEEPERS_RAW.tmp" "$SLEEPERS_RAW"
    done
    loop_floor
}

# loop_floor: the page-fault floor under yieldc's spawn_s (bench_loop floor:
# the same stacks mapped and first touched by hand, no library), into
# sleepers-floor.tsv.
loop_floor() {
    local out
    [[ $failed == *" yieldc "* ]] && return 0
    if ! out=$("${PIN[@]}" "$OUT/bench_loop" floor "$SLEEPERS_N" 0 2>"$OUT/err.log"); then
        note "SKIP the page-fault floor: bench_loop floor failed ($(head -c 200 "$OUT/err.log"))"
        return 0
    fi
    printf 'what\ttasks\tmap_s\ttouch_s\tfaults_per_stack\tus_per_fault\tunmap_s\n%s\n' "$out" \
        >"$OUT/sleepers-floor.tsv"
    printf '%s\n' "$out" | awk -F'\t' '{ printf "  page-fault floor of %d default stacks, no library: " \
        "%.3f s to touch them (%.2f faults a stack, %.2f us a fault; mmap %.3f s, munmap %.3f s)\n", \
        $2, $4, $5, $6, $3, $7 }'
}

# loop_instr: callgrind instructions and strace system calls per op of the
# yieldc rows (three sizes: the second difference must match the first),
# then one run of each with YC_BENCH_PHASES=1.
loop_instr() {
    local INSTR=$OUT/instructions.tsv SYSC=$OUT/syscalls.tsv
    [ -f "$INSTR" ] || printf 'benchmark\tsystem\tinstructions_per_op\n' >"$INSTR"
    printf 'benchmark\tsystem\tsyscalls_per_op\n' >"$SYSC"
    section "event loop: instructions (callgrind) and system calls (strace -c) per op, yieldc rows"
    # Each row: three runs whose sizes grow by one step; per op = the
    # difference of consecutive runs / ops per step.
    #   name  ops-per-step  args(size 1)  args(size 2)  args(size 3)
    local rows=(
        "spawn|10000|spawn 10000 10000|spawn 20000 10000|spawn 30000 10000"
        "spawn-sleep0|10000|spawn-sleep0 10000 10000|spawn-sleep0 20000 10000|spawn-sleep0 30000 10000"
        "pingpong-future|20000|pingpong-future 10000|pingpong-future 20000|pingpong-future 30000"
        "timers|10000|timers 10000 1|timers 10000 2|timers 10000 3"
        "sleepers|10000|sleepers 10000 0|sleepers 20000 0|sleepers 30000 0"
    )
    [ "$HAVE_YC_QUEUE" = 1 ] && rows+=("pingpong|20000|pingpong 10000|pingpong 20000|pingpong 30000")
    printf '  %-16s %12s %12s   %s\n' row "instr/op" "syscalls/op" "(the second step's; the first step's)"
    local row name step a1 a2 a3 i1 i2 i3 s1 s2 s3 ipo first spo sfirst
    for row in "${rows[@]}"; do
        IFS='|' read -r name step a1 a2 a3 <<<"$row"
        ipo=- first=-
        if command -v valgrind >/dev/null 2>&1; then
            if i1=$(loop_ir $a1) && i2=$(loop_ir $a2) && i3=$(loop_ir $a3); then
                first=$(awk -v a="$i1" -v b="$i2" -v n="$step" 'BEGIN { printf "%.0f", (b - a) / n }')
                ipo=$(awk -v b="$i2" -v c="$i3" -v n="$step" 'BEGIN { printf "%.0f", (c - b) / n }')
                printf '%s\tyieldc\t%s\n' "$name" "$ipo" >>"$INSTR"
            else
                ipo=failed
            fi
        fi
        spo=- sfirst=-
        if command -v strace >/dev/null 2>&1; then
            if s1=$(loop_sc $a1) && s2=$(loop_sc $a2) && s3=$(loop_sc $a3); then
                sfirst=$(awk -v a="$s1" -v b="$s2" -v n="$step" 'BEGIN { printf "%.2f", (b - a) / n }')
                spo=$(awk -v b="$s2" -v c="$s3" -v n="$step" 'BEGIN { printf "%.2f", (c - b) / n }')
                printf '%s\tyieldc\t%s\n' "$name" "$spo" >>"$SYSC"
            else
                spo=failed
            fi
        fi
        printf '  %-16s %12s %12s   (first step: %s, %s)\n' "$name" "$ipo" "$spo" "$first" "$sfirst"
    done
    note "(per op: the difference between runs of sizes 2 and 3 steps, the first step's between 1 and 2;"
    note " a step is one batch of 10^4 tasks, 2 x 10^4 hops, 10^4 timeouts (10^4 tasks x 1 more iteration),"
    note " or 10^4 sleepers)"
    note "(instructions: user space only, the kernel's side of mmap/munmap/page faults is not in them;"
    note " sleepers: one task's whole life: spawn, first step into its sleep, cancel, join)"

    section "event loop: per-phase time and allocations, one run of each yieldc row (YC_BENCH_PHASES=1)"
    local args runs=("spawn $LOOP_SPAWN_N $LOOP_BATCH" "pingpong-future $((LOOP_PP_N * 10))"
        "timers $LOOP_TM_TASKS $LOOP_TM_ITERS" "sleepers $((SLEEPERS_N / 10)) 0")
    [ "$HAVE_YC_QUEUE" = 1 ] && runs+=("pingpong $((LOOP_PP_N * 10))")
    for args in "${runs[@]}"; do
        note "bench_loop $args:"
        YC_BENCH_PHASES=1 "${PIN[@]}" "$OUT/bench_loop" $args 2>&1 | sed 's/^/  /'
    done
    if [ "$HAVE_YC_POOL" = 1 ]; then
        note "bench_loop_pool (yieldc:pool-1M) spawn $LOOP_SPAWN_N $LOOP_BATCH:"
        YC_BENCH_PHASES=1 "${PIN[@]}" "$OUT/bench_loop_pool" spawn "$LOOP_SPAWN_N" "$LOOP_BATCH" yieldc:pool-1M 2>&1 |
            sed 's/^/  /'
    fi
}

# loop_ir ARGS...: callgrind's total instruction count of bench_loop ARGS.
loop_ir() {
    local f=$OUT/callgrind.loop.tmp
    valgrind --tool=callgrind --callgrind-out-file="$f" "$OUT/bench_loop" "$@" >/dev/null 2>"$OUT/callgrind.log" ||
        return 1
    sed -n 's/^totals: *//p' "$f" | head -1
    rm -f "$f"
}

# loop_sc ARGS...: the number of system calls of bench_loop ARGS.
loop_sc() {
    local f=$OUT/strace.loop.tmp
    strace -f -c -o "$f" "$OUT/bench_loop" "$@" >/dev/null 2>"$OUT/strace.log" || return 1
    awk '$NF == "total" { print $4 }' "$f"
    rm -f "$f"
}
