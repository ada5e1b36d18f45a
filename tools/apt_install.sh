# Sourced by the scripts that install the Debian packages they need (make
# test's legs, make demo, make bench). Defines:
#
#   apt_install LOG PKG...
#
# Installs PKG... with apt-get, as root or through password-less sudo,
# running apt-get update only when a plain install fails; apt-get's output
# is appended to LOG, and one "installing ..." line goes to stderr. Returns
# 0, or 1 with the reason in $why (not root, no apt-get, or apt-get's last
# error line).

apt_install() {
    local log=$1; shift
    local sudo=()
    why=
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
