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

. "$(dirname "${BASH_SOURCE[0]}")/../tools/apt_install.sh"
apt_install "$log" liburing-dev || { echo "liburing-dev is missing: $why"; exit 1; }
[ -e "$header" ] || { echo "no $header after apt-get install liburing-dev"; exit 1; }
exit 0
