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

. "$src/tools/apt_install.sh"
