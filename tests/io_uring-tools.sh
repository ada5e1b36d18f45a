#!/usr/bin/env bash
# Makes sure liburing's headers and library are here for the io_uring
# backend (Debian's liburing-dev): installs the package with apt-get when
# missing (apt-get update first only when a plain install fails).
#
#   bash tests/io_uring-tools.sh [LOG]
#
# Exit 0: liburing-dev is installed. Exit 1: it cannot be; the one line on
# stdout says why (make test's io-uring leg then prints "SKIPPED io_uring:
# <why>"). apt-get's output goes to LOG (default: a temporary file).
set -u

log=${1:-$(mktemp -t yc-io-uring-tools.XXXXXX)}
mkdir -p "$(dirname "$log")" && : > "$log"
header=${YC_LIBURING_HEADER:-/usr/include/liburing.h}  # overridable, to test the skip path

[ -e "$header" ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        echo "liburing-dev is missing, and not root (no password-less sudo) to apt-get install it"
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "liburing-dev is missing, and there is no apt-get to install it"
    exit 1
fi
install() {
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
        -o DPkg::Lock::Timeout=300 liburing-dev >> "$log" 2>&1 < /dev/null
}
echo "installing liburing-dev (log: $log)" >&2
if ! install; then
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -q \
        -o DPkg::Lock::Timeout=300 >> "$log" 2>&1 < /dev/null
    if ! install; then
        echo "apt-get install liburing-dev failed: $(grep -E '^(E|W):' "$log" | tail -n 1) (log: $log)"
        exit 1
    fi
fi
[ -e "$header" ] || { echo "no $header after apt-get install liburing-dev"; exit 1; }
exit 0
