#!/usr/bin/env bash
# Model checking of the biased claim (tests/model/bias.pml) with Spin: the
# model as the code is must hold (no two threads in the body at once, no
# deadlock) in every interleaving; each of five broken versions of it must
# fail, or the model would not be checking what it claims to:
#   no-membarrier   the revoker does not make the owner's stores visible
#   no-announce     the owner's fast path does not store claiming = 1
#   no-wait         the revoker does not wait while claiming is 1
#   clear-first     the owner stores claiming = 0 before state = RUNNING
#   foreign-announce  another thread's fast path stores claiming = 1, then
#                   0, before finding that it does not own the bias (the
#                   first version of the fast path)
#
#   bash tests/model/run.sh WORKDIR COUNTS
#
# Installs Debian's spin with apt-get when it is missing. Appends
# "model PASSED FAILED" to COUNTS (the test matrix's tally), or
# "model 0 0 skipped" when spin cannot be had, saying why. Exit 0 when every
# case came out as it must (or skipped), 1 otherwise.
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${1:?usage: run.sh WORKDIR COUNTS}
counts=${2:?usage: run.sh WORKDIR COUNTS}
mkdir -p "$work"

if ! command -v spin >/dev/null 2>&1; then
    . "$here/../../tools/apt_install.sh"
    apt_install "$work/apt.log" spin || echo "  $why"
fi
if ! command -v spin >/dev/null 2>&1; then
    echo "==> SKIPPED model: spin is not installed and could not be installed (see $work/apt.log)"
    echo "model 0 0 skipped" >>"$counts"
    exit 0
fi
cc=${CC:-cc}

# check NAME EXPECT PML [SPIN-FLAGS]: EXPECT is "holds" or "fails"
passed=0 failed=0
check() {
    local name=$1 expect=$2 pml=$3
    shift 3
    local d=$work/$name
    rm -rf "$d" && mkdir -p "$d" && cp "$pml" "$d/model.pml"
    local out
    if ! (cd "$d" && spin "$@" -a model.pml >spin.log 2>&1 && $cc -O2 -w -o pan pan.c >cc.log 2>&1); then
        echo "  FAIL $name: the model does not build (see $d)"
        failed=$((failed + 1))
        return
    fi
    out=$(cd "$d" && ./pan -m1000000 2>&1)
    printf '%s\n' "$out" >"$d/pan.log"
    local errors
    errors=$(printf '%s\n' "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | tail -n 1)
    local states
    states=$(printf '%s\n' "$out" | sed -n 's/^ *\([0-9]*\) states, stored.*/\1/p' | tail -n 1)
    if [ -z "$errors" ]; then
        echo "  FAIL $name: pan gave no verdict (see $d/pan.log)"
        failed=$((failed + 1))
    elif { [ "$expect" = holds ] && [ "$errors" = 0 ]; } || { [ "$expect" = fails ] && [ "$errors" != 0 ]; }; then
        echo "  ok   $name: $( [ "$errors" = 0 ] && echo "holds, ${states:-?} states" || echo "fails as it must ($(printf '%s\n' "$out" | grep -m1 -o 'assertion violated[^)]*)\|invalid end state' || echo error))")"
        passed=$((passed + 1))
    else
        echo "  FAIL $name: expected the model to $( [ "$expect" = holds ] && echo hold || echo fail), pan found $errors error(s) (see $d/pan.log)"
        failed=$((failed + 1))
    fi
}

# mutant NAME FROM TO: bias.pml with the line FROM replaced by TO
mutant() {
    local f=$work/$1.pml
    awk -v from="$2" -v to="$3" 'index($0, from) && !done { sub(/[^ ].*/, to); done = 1 } { print }' \
        "$here/bias.pml" >"$f"
    if cmp -s "$f" "$here/bias.pml"; then
        echo "  FAIL $1: the line to break is not in bias.pml any more: $2"
        failed=$((failed + 1))
        return 1
    fi
}

check as-built holds "$here/bias.pml"
check no-membarrier fails "$here/bias.pml" -DNO_MEMBARRIER
mutant no-announce "o_store(A_CLAIMING, 1);" "skip;" && check no-announce fails "$work/no-announce.pml"
mutant no-wait "(mem[A_CLAIMING] == 0);" "skip;" && check no-wait fails "$work/no-wait.pml"
awk '/o_store\(A_STATE, RUNNING\);/ && !d { getline nxt; print nxt; print; d = 1; next } { print }' \
    "$here/bias.pml" >"$work/clear-first.pml"
check clear-first fails "$work/clear-first.pml"
check foreign-announce fails "$here/bias.pml" -DFOREIGN_ANNOUNCE

echo "model $passed $failed" >>"$counts"
echo "==> [model] $passed of $((passed + failed)) ok"
[ "$failed" -eq 0 ]
