#!/bin/sh
# Differential fuzzing of yieldc against CPython: `make fuzz SEED=... N=...`
# (generators and context managers), `make fuzz MODE=dense SEED=... N=...`
# (generators whose kind, stackful or stackless, is drawn per generator
# from the seed: mixed yield-from chains; emit_dense.py) or
# `make fuzz MODE=loop SEED=... N=...` (the event loop, ../loopdiff).
#
#   tests/conformance/diff/fuzz.sh SEED N [RUNNER]
#
# Runs N random scenarios of SEED through the oracle (CPython) and the C
# runner, and saves each kind of divergence, shrunk, as
# tests/conformance/corpus/divergence-SEED-I.scn (loop mode:
# tests/conformance/loopdiff/corpus/divergence-loop-SEED-I.scn), both
# traces in comments (dense mode: divergence-mixed-SEED-I.scn, with the
# kinds in its `dense` part). YC_FUZZ_MODE=dense or loop selects the mode.
# RUNNER defaults to $YC_DIFF_RUNNER, else build/gcc-O2's runner
# (make test), else the newest one under build/. The oracle is
# $YC_ORACLE_PYTHON, else /usr/bin/python3 (a 3.13+ oracle also checks the
# behaviours where 3.11 and 3.13 differ); the loop test needs 3.13+: else
# the first of pyenv's 3.13+ interpreters.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 SEED N [RUNNER]" >&2
    exit 2
fi
seed=$1
n=$2
mode=${YC_FUZZ_MODE:-gen}
case $mode in
gen)
    sub=diff bin=difftest_runner save=$root/tests/conformance/corpus flag=
    python=${YC_ORACLE_PYTHON:-/usr/bin/python3} ;;
dense)
    sub=diff bin=difftest_runner save=$root/tests/conformance/corpus flag=dense
    python=${YC_ORACLE_PYTHON:-/usr/bin/python3} ;;
loop)
    sub=loopdiff bin=loopdiff_runner save=$root/tests/conformance/loopdiff/corpus flag=--loop
    python=${YC_ORACLE_PYTHON:-}
    if [ -z "$python" ]; then
        for p in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.1[3-9]*/bin/python3 \
                 /usr/bin/python3.13 /usr/local/bin/python3.13; do
            if [ -x "$p" ] && "$p" -c 'import sys; sys.exit(sys.version_info < (3, 13))'; then
                python=$p
                break
            fi
        done
    fi
    if [ -z "$python" ]; then
        echo "fuzz.sh: the loop test needs CPython 3.13+: set YC_ORACLE_PYTHON" >&2
        exit 2
    fi ;;
*)
    echo "fuzz.sh: unknown mode '$mode' (gen, dense or loop)" >&2
    exit 2 ;;
esac
runner=${3:-${YC_DIFF_RUNNER:-}}
if [ -z "$runner" ] && [ -x "$root/build/gcc-O2/tests/conformance/$sub/$bin" ]; then
    runner=$root/build/gcc-O2/tests/conformance/$sub/$bin
fi
if [ -z "$runner" ]; then
    runner=$(ls -t "$root"/build/*/tests/conformance/$sub/$bin 2>/dev/null | head -n 1 || true)
fi
if [ -z "$runner" ] || [ ! -x "$runner" ]; then
    echo "fuzz.sh: no $bin found: build the tests (make test) or pass RUNNER" >&2
    exit 2
fi
if [ "$flag" = dense ]; then
    # the build's dense_cc.json (how to compile stackless bodies) and cache
    bdir=$(dirname "$runner")
    flag="--kinds mixed --dense-cc $bdir/dense_cc.json --dense-cache $bdir/dense-cache"
fi
exec /usr/bin/python3 "$here/difftest.py" $flag --runner "$runner" \
    --python "$python" --save "$save" random "$seed" "$n"
