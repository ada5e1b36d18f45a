# The load section of `make bench` (issue 11 section 4): single-threaded
# servers under load generators we did not write. Sourced by bench/run.sh,
# whose helpers (section, note, need, die) and variables (ROOT, BENCH, OUT,
# CFLAGS_B, REPORT_PY; the library in build/bench-lib) it uses.
# `YC_BENCH_ONLY=load bash bench/run.sh` (make bench-load) runs only this.
#
# Servers (each one process, one thread, pinned to CPU $YC_LOAD_SERVER_CPU,
# default 0), each speaking Redis PING (inline and RESP) and HTTP/1.1 hello
# with keep-alive:
#   yieldc        bench/load_yieldc.c (yc_stream_serve, readline/readuntil,
#                 write + drain) on the Release library
#   yieldc-uring  the same program with YC_IO_BACKEND=io_uring (skipped
#                 with the reason when the library has no io_uring backend
#                 or the kernel refuses rings)
#   libuv         bench/load_libuv.c, callbacks (Debian libuv1-dev)
#   asyncio-3.11  bench/load_asyncio.py on /usr/bin/python3 (streams)
#   uvloop        the same with uvloop (Debian python3-uvloop)
#   node          bench/load_node.js (Debian nodejs, its net module)
# A peer that cannot be installed or built is skipped with the reason.
#
# Load generators (pinned to CPU $YC_LOAD_CLIENT_CPU, default 1):
#   redis-benchmark (Debian redis-tools): -t ping, at 100 connections and
#                 at $YC_LOAD_MANY (10000) connections (the fd limit is
#                 raised with ulimit -n; skipped with the reason when it
#                 cannot be). Row `ping` is the RESP form (PING_MBULK),
#                 `ping-inline` the inline form.
#   wrk (Debian wrk): one thread, 100 connections, HTTP GET /.
# Every measurement starts a fresh server; the systems run in interleaved
# rounds, their order rotated each round; medians with min and max.
#
# Then 10000 idle connections per server (bench/load_idle.py opens them,
# one PING each, then holds them): RSS per connection from /proc/PID/status
# (VmRSS after minus before, over the count). Then the one-reader starvation
# check (load_yieldc starve): p99 lateness of 1 ms timers of 10 tasks while
# one task reads a socket that always has data.
#
# Outputs in build/bench/: load.tsv (benchmark, connections, system,
# requests_per_s, p99_ms, errors: medians; errors the largest of any round),
# idle.tsv (system, connections, rss_bytes_per_connection: median),
# starve.tsv (system, timers, p50_ms, p99_ms, max_ms, timers_fired), and
# every single measurement in load-runs.tsv, idle-runs.tsv, starve-runs.tsv.
#
# Knobs: YC_LOAD_ROUNDS (default 3), YC_LOAD_PING_N (requests per
# redis-benchmark run at 100 connections, default 200000), YC_LOAD_MANY_N
# (at $YC_LOAD_MANY connections, default 200000), YC_LOAD_MANY (default
# 10000), YC_LOAD_WRK_S (seconds of wrk, default 5), YC_LOAD_IDLE (idle
# connections, default 10000), YC_LOAD_STARVE_S (seconds of the starvation
# check, default 3), YC_LOAD_PORT (first port, default 17300).

LOAD_ROUNDS=${YC_LOAD_ROUNDS:-3}
LOAD_PING_N=${YC_LOAD_PING_N:-200000}
LOAD_MANY=${YC_LOAD_MANY:-10000}
LOAD_MANY_N=${YC_LOAD_MANY_N:-200000}
LOAD_WRK_S=${YC_LOAD_WRK_S:-5}
LOAD_IDLE=${YC_LOAD_IDLE:-10000}
LOAD_STARVE_S=${YC_LOAD_STARVE_S:-3}
LOAD_PORT=${YC_LOAD_PORT:-17300}
LOAD_SERVER_CPU=${YC_LOAD_SERVER_CPU:-0}
LOAD_CLIENT_CPU=${YC_LOAD_CLIENT_CPU:-1}
for v in LOAD_ROUNDS LOAD_PING_N LOAD_MANY LOAD_MANY_N LOAD_WRK_S LOAD_IDLE LOAD_STARVE_S LOAD_PORT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "YC_${v} must be a positive integer (got '${!v}')"
done
LOAD_RAW=$OUT/load-runs.tsv
IDLE_RAW=$OUT/idle-runs.tsv
STARVE_RAW=$OUT/starve-runs.tsv

# load_deps: the load generators and the peers, each installed when missing.
load_deps() {
    HAVE_RB=0 HAVE_WRK=0 HAVE_LIBUV=0 HAVE_NODE=0 HAVE_LOAD_UVLOOP=0
    need "command -v redis-benchmark" redis-tools && HAVE_RB=1 ||
        note "no redis-benchmark: the ping rows will be skipped"
    need "command -v wrk" wrk && HAVE_WRK=1 || note "no wrk: the http rows will be skipped"
    need "[ -f /usr/include/uv.h ]" libuv1-dev && HAVE_LIBUV=1 || note "no libuv1-dev: libuv will be skipped"
    need "command -v node" nodejs && HAVE_NODE=1 || note "no nodejs: node will be skipped"
    if [ -x /usr/bin/python3 ]; then
        need "/usr/bin/python3 -c 'import uvloop'" python3-uvloop && HAVE_LOAD_UVLOOP=1 ||
            note "no uvloop for /usr/bin/python3: uvloop will be skipped"
    fi
}

# load_build: the C servers; LOAD_SYSTEMS gets every system that can run.
load_build() {
    LOAD_SYSTEMS=()
    if gcc "${CFLAGS_B[@]}" -Werror "$BENCH/load_yieldc.c" "$ROOT/build/bench-lib/libyieldc.a" -pthread \
        -o "$OUT/load_yieldc" 2>"$OUT/load-build.log"; then
        LOAD_SYSTEMS+=(yieldc)
    else
        cat "$OUT/load-build.log" >&2
        die "load_yieldc does not build"
    fi
    # yieldc-uring: the same server on the io_uring backend (docs/io.md)
    local io
    io=$(YC_IO_BACKEND=io_uring "$OUT/load_yieldc" config)
    if [[ $io == *"io=io_uring"* ]]; then
        LOAD_SYSTEMS+=(yieldc-uring)
    else
        note "SKIP yieldc-uring: YC_IO_BACKEND=io_uring gives${io#*io=epoll}"
    fi
    if [ "$HAVE_LIBUV" = 1 ]; then
        if gcc -O2 -std=gnu11 -Wall -Wextra "$BENCH/load_libuv.c" -luv -o "$OUT/load_libuv" \
            2>>"$OUT/load-build.log"; then
            LOAD_SYSTEMS+=(libuv)
        else
            note "SKIP libuv: bench/load_libuv.c does not build (build/bench/load-build.log)"
        fi
    else
        note "SKIP libuv: libuv1-dev is not installed"
    fi
    if [ -x /usr/bin/python3 ]; then
        LOAD_SYSTEMS+=(asyncio-3.11)
        [ "$HAVE_LOAD_UVLOOP" = 1 ] && LOAD_SYSTEMS+=(uvloop) || note "SKIP uvloop: not installed"
    else
        note "SKIP asyncio-3.11, uvloop: no /usr/bin/python3"
    fi
    [ "$HAVE_NODE" = 1 ] && LOAD_SYSTEMS+=(node) || note "SKIP node: not installed"
}

# load_server_cmd SYSTEM MODE PORT: the server's command words, in SCMD.
load_server_cmd() {
    local pin=()
    taskset -c "$LOAD_SERVER_CPU" true 2>/dev/null && pin=(taskset -c "$LOAD_SERVER_CPU")
    case $1 in
    yieldc) SCMD=("${pin[@]}" "$OUT/load_yieldc" "$2" "$3") ;;
    yieldc-uring) SCMD=(env YC_IO_BACKEND=io_uring "${pin[@]}" "$OUT/load_yieldc" "$2" "$3") ;;
    libuv) SCMD=("${pin[@]}" "$OUT/load_libuv" "$2" "$3") ;;
    asyncio-3.11) SCMD=("${pin[@]}" /usr/bin/python3 "$BENCH/load_asyncio.py" "$2" "$3") ;;
    uvloop) SCMD=("${pin[@]}" /usr/bin/python3 "$BENCH/load_asyncio.py" "$2" "$3" --uvloop) ;;
    node) SCMD=("${pin[@]}" node "$BENCH/load_node.js" "$2" "$3") ;;
    esac
}

# load_start SYSTEM MODE: starts a server on a fresh port (SRV_PID,
# SRV_PORT); returns 1 when it does not say "ready" within 10 s.
load_start() {
    LOAD_PORT=$((LOAD_PORT + 1))
    ((LOAD_PORT > 60000)) && LOAD_PORT=17300
    SRV_PORT=$LOAD_PORT
    load_server_cmd "$1" "$2" "$SRV_PORT"
    : >"$OUT/load-server.out"
    "${SCMD[@]}" >"$OUT/load-server.out" 2>"$OUT/load-server.err" &
    SRV_PID=$!
    local i
    for ((i = 0; i < 200; i++)); do
        grep -q '^ready' "$OUT/load-server.out" && return 0
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    note "$1 $2 server did not start:"
    sed 's/^/    /' "$OUT/load-server.err" >&2
    load_stop
    return 1
}

# load_stop: SIGINT to the server, then SIGKILL after 5 s. (taskset execs
# the server, so SRV_PID is the server itself.)
load_stop() {
    kill -INT "$SRV_PID" 2>/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$SRV_PID" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$SRV_PID" 2>/dev/null && kill -KILL "$SRV_PID" 2>/dev/null
    wait "$SRV_PID" 2>/dev/null
}

# load_client CMD...: runs a load generator pinned to the client CPU.
load_client() {
    if taskset -c "$LOAD_CLIENT_CPU" true 2>/dev/null; then
        taskset -c "$LOAD_CLIENT_CPU" "$@"
    else
        "$@"
    fi
}

# load_ping ROUND SYSTEM CONNS REQUESTS: one redis-benchmark run; appends
# rows ping and ping-inline to load-runs.tsv.
load_ping() {
    local r=$1 s=$2 c=$3 n=$4 out errs
    load_start "$s" ping || return 1
    out=$(timeout 600 bash -c 'ulimit -n 20000 2>/dev/null; exec "$@"' _ \
        taskset -c "$LOAD_CLIENT_CPU" redis-benchmark -h 127.0.0.1 -p "$SRV_PORT" -c "$c" -n "$n" \
        -t ping --csv 2>"$OUT/load-client.err")
    local rc=$?
    load_stop
    # errors: the lines redis-benchmark printed on stderr (connection
    # errors, resets), plus one when it failed outright
    errs=$(grep -ci 'error\|reset\|refused\|closed' "$OUT/load-client.err")
    ((rc != 0)) && errs=$((errs + 1))
    if ! grep -q '"PING_MBULK"' <<<"$out"; then
        note "redis-benchmark against $s at $c connections gave no result (exit $rc):"
        sed 's/^/    /' "$OUT/load-client.err" | head -5 >&2
        printf '%s\tping\t%s\t%s\t0\tnan\t%s\n' "$r" "$c" "$s" "$((errs > 0 ? errs : 1))" >>"$LOAD_RAW"
        return 1
    fi
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max"
    awk -F'","?|^"|"$' -v r="$r" -v c="$c" -v s="$s" -v e="$errs" '
        $2 == "PING_MBULK" { printf "%s\tping\t%s\t%s\t%s\t%s\t%s\n", r, c, s, $3, $8, e }
        $2 == "PING_INLINE" { printf "%s\tping-inline\t%s\t%s\t%s\t%s\t%s\n", r, c, s, $3, $8, e }' \
        <<<"$out" >>"$LOAD_RAW"
}

# wrk's latency with its unit, in ms
wrk_ms() { awk '{ v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/ && $1 !~ /ms$/) v *= 1000; printf "%.3f", v }'; }

# load_http ROUND SYSTEM: one wrk run of LOAD_WRK_S seconds at 100 connections.
load_http() {
    local r=$1 s=$2 out rps p99 errs
    load_start "$s" http || return 1
    out=$(timeout $((LOAD_WRK_S + 60)) taskset -c "$LOAD_CLIENT_CPU" wrk -t1 -c100 -d"${LOAD_WRK_S}s" \
        --latency "http://127.0.0.1:$SRV_PORT/" 2>"$OUT/load-client.err")
    local rc=$?
    load_stop
    rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
    p99=$(awk '$1 == "99%" { print $2 }' <<<"$out" | wrk_ms)
    # Socket errors: connect A, read B, write C, timeout D; Non-2xx or 3xx responses: N
    errs=$(awk '/Socket errors:/ { gsub(/,/, ""); n += $4 + $6 + $8 + $10 }
                /Non-2xx or 3xx/ { n += $NF } END { print n + 0 }' <<<"$out")
    if ((rc != 0)) || [ -z "$rps" ]; then
        note "wrk against $s gave no result (exit $rc):"
        sed 's/^/    /' "$OUT/load-client.err" | head -5 >&2
        printf '%s\thttp\t100\t%s\t0\tnan\t%s\n' "$r" "$s" "$((errs + 1))" >>"$LOAD_RAW"
        return 1
    fi
    printf '%s\thttp\t100\t%s\t%s\t%s\t%s\n' "$r" "$s" "$rps" "$p99" "$errs" >>"$LOAD_RAW"
}

# load_idle_run ROUND SYSTEM: RSS per idle connection.
load_idle_run() {
    local r=$1 s=$2 before after line fifo=$OUT/load-idle.fifo
    load_start "$s" ping || return 1
    sleep 0.2
    before=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$SRV_PID/status")
    rm -f "$fifo"
    mkfifo "$fifo"
    # the client holds its connections until its stdin (the fifo) closes
    (ulimit -n 20000 2>/dev/null
        exec taskset -c "$LOAD_CLIENT_CPU" /usr/bin/python3 "$BENCH/load_idle.py" "$SRV_PORT" "$LOAD_IDLE" \
            <"$fifo" >"$OUT/load-idle.out" 2>"$OUT/load-client.err") &
    local cpid=$! i ok=0
    exec 9>"$fifo"
    for ((i = 0; i < 1200; i++)); do
        grep -q '^open' "$OUT/load-idle.out" 2>/dev/null && { ok=1; break; }
        kill -0 "$cpid" 2>/dev/null || break
        sleep 0.1
    done
    sleep 0.5 # let the server settle after the last PING
    after=$(awk '/^VmRSS:/ { print $2 * 1024 }' "/proc/$SRV_PID/status" 2>/dev/null)
    exec 9>&-
    wait "$cpid" 2>/dev/null
    rm -f "$fifo"
    load_stop
    if [ "$ok" != 1 ] || [ -z "$after" ]; then
        note "idle connections to $s failed:"
        sed 's/^/    /' "$OUT/load-client.err" | head -5 >&2
        return 1
    fi
    awk -v r="$r" -v s="$s" -v n="$LOAD_IDLE" -v a="$after" -v b="$before" \
        'BEGIN { printf "%s\t%s\t%d\t%.0f\n", r, s, n, (a - b) / n }' >>"$IDLE_RAW"
}

# load_time: everything, interleaved, then the report.
load_time() {
    local s r i n
    n=${#LOAD_SYSTEMS[@]}
    ((n)) || return 0
    : >"$LOAD_RAW"
    : >"$IDLE_RAW"
    : >"$STARVE_RAW"
    # 10000 connections need that many descriptors in the server and in
    # the generator; the hard limit decides
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] && hard=1048576
    local many=1 idle=1
    if ((hard < LOAD_MANY + 1000)); then
        many=0
        note "SKIP ping at $LOAD_MANY connections: the fd hard limit is $hard (ulimit -Hn), $((LOAD_MANY + 1000)) needed"
    fi
    if ((hard < LOAD_IDLE + 1000)); then
        idle=0
        note "SKIP idle connections: the fd hard limit is $hard (ulimit -Hn), $((LOAD_IDLE + 1000)) needed"
    fi
    ulimit -n "$((hard < 20000 ? hard : 20000))" 2>/dev/null
    local ports
    ports=$(awk '{ print $2 - $1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    if ((many)) && [ -n "$ports" ] && ((ports < LOAD_MANY + 1000)); then
        many=0
        note "SKIP ping at $LOAD_MANY connections: only $ports local ports (net.ipv4.ip_local_port_range)"
    fi
    section "load: ${LOAD_SYSTEMS[*]}; $LOAD_ROUNDS interleaved rounds"
    note "server on CPU $LOAD_SERVER_CPU, load generator on CPU $LOAD_CLIENT_CPU (taskset); load average $(cut -d' ' -f1-3 /proc/loadavg)"
    note "redis-benchmark $(redis-benchmark --version 2>/dev/null | awk '{ print $2 }'): -n $LOAD_PING_N at 100 connections," \
        "-n $LOAD_MANY_N at $LOAD_MANY; wrk: -t1 -c100 -d${LOAD_WRK_S}s; idle: $LOAD_IDLE connections"
    command -v node >/dev/null 2>&1 && note "node $(node --version 2>/dev/null)"
    [ "$HAVE_LOAD_UVLOOP" = 1 ] && note "uvloop $(/usr/bin/python3 -c 'import uvloop; print(uvloop.__version__)')"
    for ((r = 1; r <= LOAD_ROUNDS; r++)); do
        printf '  round %d/%d (load %s):' "$r" "$LOAD_ROUNDS" "$(cut -d' ' -f1 /proc/loadavg)"
        for ((i = 0; i < n; i++)); do
            # rotate the order each round and reverse it on even rounds
            if ((r % 2)); then s=${LOAD_SYSTEMS[$(((i + r) % n))]}; else s=${LOAD_SYSTEMS[$(((n - 1 - i + r) % n))]}; fi
            [ "$HAVE_RB" = 1 ] && load_ping "$r" "$s" 100 "$LOAD_PING_N"
            [ "$HAVE_RB" = 1 ] && ((many)) && load_ping "$r" "$s" "$LOAD_MANY" "$LOAD_MANY_N"
            [ "$HAVE_WRK" = 1 ] && load_http "$r" "$s"
            ((idle)) && [ -x /usr/bin/python3 ] && load_idle_run "$r" "$s"
            printf ' %s' "$s"
        done
        if out=$("$OUT/load_yieldc" starve "$LOAD_STARVE_S" 2>"$OUT/load-client.err"); then
            printf '%s\tyieldc\t%s\n' "$r" "$out" >>"$STARVE_RAW"
            printf ' starve'
        else
            printf ' starve(FAILED)'
            sed 's/^/    /' "$OUT/load-client.err" >&2
        fi
        printf '\n'
    done
    section "load results (median of $LOAD_ROUNDS rounds [min-max]; build/bench/load.tsv, idle.tsv, starve.tsv)"
    note "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (2 CPUs, shared)"
    "$REPORT_PY" "$BENCH/report.py" load "$LOAD_RAW" "$OUT/load.tsv" "$IDLE_RAW" "$OUT/idle.tsv" \
        "$STARVE_RAW" "$OUT/starve.tsv" || die "load report failed"
}
