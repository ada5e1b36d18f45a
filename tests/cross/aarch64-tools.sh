#!/usr/bin/env bash
# Makes sure the AArch64 cross tools are here: Debian's cross compiler
# (gcc-aarch64-linux-gnu, with the target's libc in /usr/aarch64-linux-gnu)
# and qemu-user. Installs what is missing with apt-get (apt-get update first
# only when a plain install fails), then checks that a cross-built program
# runs under qemu-aarch64.
#
#   bash tests/cross/aarch64-tools.sh [LOG]
#
# Exit 0: ready. Exit 1: not usable here; the one line on stdout says why
# (the caller reports the leg as skipped). apt-get's output goes to LOG
# (default: a temporary file, named in the reason when it matters).
set -u

log=${1:-$(mktemp -t yc-aarch64-tools.XXXXXX)}
mkdir -p "$(dirname "$log")" && : > "$log"
sysroot=/usr/aarch64-linux-gnu
cc=${AARCH64_CC:-aarch64-linux-gnu-gcc}   # overridable, e.g. to test the skip path
pkgs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user)

qemu() { command -v qemu-aarch64 || command -v qemu-aarch64-static; }

have_all() {
    command -v "$cc" >/dev/null 2>&1 && qemu >/dev/null 2>&1 &&
        [ -e "$sysroot/lib/crt1.o" ] && [ -e "$sysroot/lib/ld-linux-aarch64.so.1" ]
}

why_missing() {
    local m=()
    command -v "$cc" >/dev/null 2>&1 || m+=("$cc")
    qemu >/dev/null 2>&1 || m+=(qemu-aarch64)
    [ -e "$sysroot/lib/crt1.o" ] || m+=("$sysroot/lib/crt1.o")
    echo "${m[*]}"
}

if ! have_all; then
    missing=$(why_missing)
    . "$(dirname "${BASH_SOURCE[0]}")/../../tools/apt_install.sh"
    apt_install "$log" "${pkgs[@]}" || { echo "missing $missing: $why"; exit 1; }
    if ! have_all; then
        echo "still missing $(why_missing) after installing ${pkgs[*]}"
        exit 1
    fi
fi

# A cross-built program must run under qemu: otherwise the failure would be
# the machine's, not the library's.
tmp=$(mktemp -d -t yc-aarch64-smoke.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
printf '#include <stdio.h>\nint main(void) { puts("aarch64 ok"); return 0; }\n' > "$tmp/hello.c"
if ! out=$("$cc" -o "$tmp/hello" "$tmp/hello.c" 2>&1); then
    echo "$cc cannot build a hello-world program: $(echo "$out" | head -n 1)"
    exit 1
fi
if ! out=$("$(qemu)" -L "$sysroot" "$tmp/hello" 2>&1) || [ "$out" != "aarch64 ok" ]; then
    echo "$(qemu) cannot run a hello-world program: $(echo "$out" | head -n 1)"
    exit 1
fi
exit 0
