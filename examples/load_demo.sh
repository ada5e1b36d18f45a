#!/usr/bin/env bash
# load_demo: http_hello in serve mode, loaded by wrk (a load generator we
# did not write), then stopped with SIGTERM. `make demo` runs it.
#
#   bash examples/load_demo.sh HTTP_HELLO [SECONDS [CONNECTIONS]]
#
# Starts `HTTP_HELLO --serve 0` (a free port), sends one request itself
# (bash's /dev/tcp) and checks the answer, runs `wrk --latency` for SECONDS
# (default 3) with CONNECTIONS (default 100) on one wrk thread, prints
# requests per second, p99 latency and wrk's error counts, then sends
# SIGTERM and checks that the server exits 0 within 5 seconds.
#
# SECONDS=0 skips wrk: only the request and the clean stop (a ctest test).
# When wrk is missing, it is installed with apt-get (Debian's `wrk`); when
# that cannot be done, the load is skipped with "SKIPPED: <reason>" and the
# rest still runs (WRK=no-such-wrk shows that path). Exit 1 only when the
# server misbehaves: it does not
# start, answers wrongly, or does not stop cleanly.
set -u

bin=${1:?usage: load_demo.sh HTTP_HELLO [SECONDS [CONNECTIONS]]}
secs=${2:-3}
conns=${3:-100}
wrk=${WRK:-wrk}
tmp=$(mktemp -d -t yc-load-demo.XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
    echo "FAILED: $*"
    [ -s "$tmp/server" ] && sed 's/^/  server: /' "$tmp/server"
    exit 1
}

# Makes sure wrk is here; prints why not (and returns 1) when it cannot be.
need_wrk() {
    command -v "$wrk" >/dev/null 2>&1 && return 0
    . "$(dirname "${BASH_SOURCE[0]}")/../tools/apt_install.sh"
    apt_install "$tmp/apt.log" wrk || { echo "wrk is missing: $why"; return 1; }
    command -v "$wrk" >/dev/null 2>&1 || { echo "no $wrk on PATH after apt-get install wrk"; return 1; }
}

# ---- start the server, wait for its port ---------------------------------
[ -x "$bin" ] || fail "$bin is not an executable"
"$bin" --serve 0 > "$tmp/server" 2>&1 &
pid=$!
port=
for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/server")
    [ -n "$port" ] && break
    kill -0 "$pid" 2>/dev/null || fail "the server exited before listening"
    sleep 0.05
done
[ -n "$port" ] || fail "the server did not print its port within 5 s"

# ---- one request of our own ----------------------------------------------
exec 3<>"/dev/tcp/127.0.0.1/$port" || fail "cannot connect to 127.0.0.1:$port"
printf 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >&3
answer=$(timeout 5 cat <&3)
exec 3<&-
case $answer in
    "HTTP/1.1 200 OK"*"Hello, world!"*) ;;
    *) fail "unexpected answer to GET /: $(printf '%s' "$answer" | head -n 1)" ;;
esac

# ---- the load ------------------------------------------------------------
if [ "$secs" != 0 ]; then
    if why=$(need_wrk); then
        "$wrk" -t1 -c"$conns" -d"${secs}s" --latency "http://127.0.0.1:$port/" > "$tmp/wrk" 2>&1 ||
            fail "wrk failed: $(tail -n 1 "$tmp/wrk")"
        rps=$(awk '/^Requests\/sec:/ {print $2}' "$tmp/wrk")
        p99=$(awk '$1 == "99%" {print $2}' "$tmp/wrk")
        total=$(awk '/requests in/ {print $1}' "$tmp/wrk")
        errors=$(awk '/Socket errors:/ {sub(/.*Socket errors: /, ""); print}' "$tmp/wrk")
        non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$tmp/wrk")
        [ -n "$rps" ] && [ -n "$p99" ] || fail "cannot read wrk's output: $(head -n 3 "$tmp/wrk")"
        echo "wrk (1 thread, $conns connections, ${secs} s): $rps requests/s, p99 latency $p99," \
             "$total requests, socket errors: ${errors:-none}, non-2xx: ${non2xx:-0}"
        [ -z "$non2xx" ] || fail "$non2xx answers were not 200"
    else
        echo "SKIPPED: the load with wrk: $why"
    fi
fi

# ---- the clean stop ------------------------------------------------------
kill -TERM "$pid" || fail "cannot signal the server"
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
kill -0 "$pid" 2>/dev/null && fail "the server still runs 5 s after SIGTERM"
wait "$pid"
rc=$?
pid=
[ "$rc" = 0 ] || fail "the server exited $rc after SIGTERM"
echo "server: $(tail -n 1 "$tmp/server"); exit status 0 after SIGTERM"
