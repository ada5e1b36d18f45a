# Shared by the scripts of make test's packaging and gdb legs
# (tests/packaging/run.sh, tests/gdb/run.sh). Sourced with the work
# directory as $1; sets src (the source tree), w (the work directory,
# emptied), cc, cmake and jobs (from CC, CMAKE, JOBS), and gives:
#   ok NAME / bad NAME WHY   count a check, printing "ok NAME" / "FAIL NAME: WHY"
#   summary                  prints "N passed, M failed" and exits (1 if any failed)
#   apt_install LOG PKG...   installs Debian packages (root or password-less
#                            sudo); on failure returns 1 with the reason in $why

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
w=${1:?usage: $0 WORKDIR}
rm -rf "$w" && mkdir -p "$w" && w=$(cd "$w" && pwd)
cc=${CC:-cc}
cmake=${CMAKE:-cmake}
jobs=${JOBS:-2}

passed=0 failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
    exit
}

apt_install() {
    local log=$1; shift
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo > /dev/null 2>&1 && sudo -n true 2> /dev/null; then sudo=(sudo -n)
        else why="not root (no password-less sudo) to apt-get install $*"; return 1; fi
    fi
    command -v apt-get > /dev/null 2>&1 || { why="no apt-get to install $*"; return 1; }
    echo "installing $* (log: $log)" >&2
    _apt() { DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get "$@" -q \
                 -o DPkg::Lock::Timeout=300 >> "$log" 2>&1 < /dev/null; }
    _apt install -y --no-install-recommends "$@" && return 0
    _apt update
    _apt install -y --no-install-recommends "$@" && return 0
    why="apt-get install $* failed: $(grep -E '^(E|W):' "$log" | tail -n 1) (log: $log)"
    return 1
}
