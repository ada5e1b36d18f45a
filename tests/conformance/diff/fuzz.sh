#!/bin/sh
# Differential fuzzing of yieldc against CPython: `make fuzz SEED=... N=...`.
#
#   tests/conformance/diff/fuzz.sh SEED N [RUNNER]
#
# Runs N random scenarios of SEED through oracle.py (CPython) and the C
# runner, and saves each kind of divergence, shrunk, as
# tests/conformance/corpus/divergence-SEED-I.scn (both traces in comments).
# RUNNER defaults to $YC_DIFF_RUNNER, else build/gcc-O2's difftest_runner
# (make test), else the newest one under build/. The oracle is $YC_ORACLE_PYTHON, else /usr/bin/python3; a 3.13+
# oracle also checks the behaviours where 3.11 and 3.13 differ.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
if [ $# -lt 2 ]; then
    echo "usage: $0 SEED N [RUNNER]" >&2
    exit 2
fi
seed=$1
n=$2
runner=${3:-${YC_DIFF_RUNNER:-}}
if [ -z "$runner" ] && [ -x "$root/build/gcc-O2/tests/conformance/diff/difftest_runner" ]; then
    runner=$root/build/gcc-O2/tests/conformance/diff/difftest_runner
fi
if [ -z "$runner" ]; then
    runner=$(ls -t "$root"/build/*/tests/conformance/diff/difftest_runner 2>/dev/null | head -n 1 || true)
fi
if [ -z "$runner" ] || [ ! -x "$runner" ]; then
    echo "fuzz.sh: no difftest_runner found: build the tests (make test) or pass RUNNER" >&2
    exit 2
fi
exec /usr/bin/python3 "$here/difftest.py" --runner "$runner" \
    --python "${YC_ORACLE_PYTHON:-/usr/bin/python3}" \
    --save "$root/tests/conformance/corpus" random "$seed" "$n"
