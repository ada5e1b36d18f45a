#!/usr/bin/env bash
# The gdb extension (tools/gdb/yieldc.py) in gdb's batch mode, over
# tests/gdb/target.c: yieldc is built and installed into a temporary prefix,
# the target is linked against it statically (the extension loaded with
# `source`) and dynamically (auto-loaded from next to the installed
# library), and against a ucontext build.
#
#   bash tests/gdb/run.sh WORKDIR
#
# Prints "ok NAME" or "FAIL NAME: why" per check and last "N passed, M
# failed" (exit 1 when a check failed). Installs gdb with apt-get when it is
# missing; when gdb cannot be had or cannot trace a process here, the last
# line is "SKIPPED: why" and the exit status 77. Environment: CC, CMAKE,
# JOBS as for tests/packaging/run.sh.
set -u

source "$(dirname "$0")/../script_lib.sh" "${1:-}"

skip() { echo "SKIPPED: $1"; exit 77; }

if ! command -v gdb > /dev/null 2>&1; then
    apt_install "$w/apt.log" gdb || skip "gdb not found, and not installed: $why"
fi
out=$(gdb -q -batch -nx -ex run --args /bin/true 2>&1)
echo "$out" | grep -q "exited normally" \
    || skip "gdb cannot run a program here (ptrace refused?): $(echo "$out" | tail -n 1)"
gdb -q -batch -nx -ex "python import gdb" > /dev/null 2>&1 || skip "this gdb has no Python"

# has NAME FILE REGEX...: every extended regex matches a line of FILE
has() {
    local name=$1 file=$2; shift 2
    for re in "$@"; do
        if ! grep -qE -- "$re" "$file"; then
            bad "$name" "no line matching /$re/ in $file:"
            sed 's/^/    /' "$file"
            return 1
        fi
    done
    ok "$name"
}

# build NAME CMAKE-ARGS...: yieldc built and installed into $w/NAME-prefix
build() {
    local name=$1; shift
    if "$cmake" -S "$src" -B "$w/$name" -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
            -DYC_BUILD_TESTS=OFF -DYC_BUILD_EXAMPLES=OFF -DCMAKE_INSTALL_PREFIX="$w/$name-prefix" "$@" \
        && "$cmake" --build "$w/$name" -j"$jobs" && "$cmake" --install "$w/$name"; then
        return 0
    fi
    return 1
}

# ---- the assembly switch, static target, the extension sourced ----------

if ! build asm > "$w/build-asm.log" 2>&1; then
    bad build-asm "(log: $w/build-asm.log)"; tail -n 20 "$w/build-asm.log"; summary
fi
prefix=$w/asm-prefix
libdir=$(dirname "$(find "$prefix" -name libyieldc.a | head -n 1)")
gdbpy=$prefix/share/yieldc/gdb/yieldc.py
"$cc" -g -O1 -I"$prefix/include" -o "$w/target" "$src/tests/gdb/target.c" "$libdir/libyieldc.a" \
    -pthread > "$w/target.log" 2>&1 || { bad build-target "$(cat "$w/target.log")"; summary; }

g() { gdb -q -batch -nx "$@" 2>&1; }
g -ex "source $gdbpy" -ex "break target_in_generator" -ex "break target_ready" \
  -ex "break target_freed" -ex run \
  -ex "echo @running\n" -ex "yc gens" -ex "yc bt runner" -ex continue \
  -ex "echo @ready\n" -ex "yc gens" \
  -ex "echo @bt-walker\n" -ex "yc bt walker" -ex "echo @bt-main\n" -ex bt \
  -ex "echo @bt-genexpr\n" -ex "yc bt <genexpr>" \
  -ex "echo @bt-fresh\n" -ex "yc bt fresh" -ex "echo @bt-closed\n" -ex "yc bt finished" \
  -ex "echo @exc-handler\n" -ex "yc exc handler" -ex "echo @exc-walker\n" -ex "yc exc walker" \
  -ex "echo @bad\n" -ex "yc bt nosuch" -ex "yc exc" \
  -ex continue -ex "echo @freed\n" -ex "yc gens" -ex continue \
  "$w/target" > "$w/asm.out"
# section NAME: the lines after "@NAME" up to the next "@"
section() { awk -v s="@$1" '$0 == s { on = 1; next } /^@/ { on = 0 } on' "$w/asm.out" > "$w/$1.txt"; echo "$w/$1.txt"; }

has gens-running "$(section running)" \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_RUNNING +generator +[0-9]+ +[1-9][0-9]* +runner +\(running on thread 1\)$' \
    "generator 'runner' is running: select its thread and use bt"
has gens-lists-every-state "$(section ready)" \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_SUSPENDED +generator +10[5-9][0-9]{4} +[1-9][0-9]* +walker$' \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_SUSPENDED +generator +2[0-9]{5} +[1-9][0-9]* +handler$' \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_CREATED +generator +2[0-9]{5} +0 +fresh$' \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_CLOSED +generator +2[0-9]{5} +0 +finished$' \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_SUSPENDED +genexpr +2[0-9]{5} +[1-9][0-9]* +<genexpr>$' \
    '^ +[1-6] +0x[0-9a-f]+ +GEN_SUSPENDED +stage +2[0-9]{5} +[1-9][0-9]* +numbers$' \
    '^6 live generators$'
f=$(section bt-walker)
has bt-walker "$f" "^generator 'walker' \(0x[0-9a-f]+\), suspended:$" \
    '^#0 .*walk_down \(depth=.*0\)' '^#1 .*walk_down \(depth=.*1\)' '^#2 .*walk_down \(depth=.*2\)' \
    '^#3 .*walker_body' '^#4 .*gen_entry'
has bt-registers-restored "$(section bt-main)" '^#0 +target_ready \(\)' '^#1 .* main \(\)'
has bt-genexpr "$(section bt-genexpr)" '^#0 .*gx_body' '^#1 .*gen_entry'
has bt-not-suspended "$(section bt-fresh)" "^generator 'fresh' has not started: no frames yet$"
has bt-closed "$(section bt-closed)" "^generator 'finished' is closed: no frames$"
has exc-being-handled "$(section exc-handler)" \
    "^generator 'handler' \(0x[0-9a-f]+\), GEN_SUSPENDED:$" \
    '^  being handled: ValueError: bad input 42$' '^    during the handling of: KeyError: '
has exc-none "$(section exc-walker)" '^  no exception$'
has bad-arguments "$(section bad)" "^yieldc: no generator 'nosuch'" "^yieldc: which generator\?"
has freed-not-listed "$(section freed)" '^0 live generators$'

# ---- auto-loaded next to the installed shared library --------------------

"$cc" -g -O1 -I"$prefix/include" -o "$w/target-shared" "$src/tests/gdb/target.c" \
    -L"$libdir" -lyieldc -Wl,-rpath,"$libdir" > "$w/target-shared.log" 2>&1 \
    || { bad build-target-shared "$(cat "$w/target-shared.log")"; summary; }
g -iex "add-auto-load-safe-path $libdir" -ex "break target_ready" -ex run -ex "yc gens" \
  -ex "yc bt walker" "$w/target-shared" > "$w/autoload.out"
has auto-loaded "$w/autoload.out" '^6 live generators$' '^#2 .*walk_down' '^#4 .*gen_entry'

# ---- the ucontext switch --------------------------------------------------

if build ucontext -DYC_SWITCH=ucontext > "$w/build-ucontext.log" 2>&1; then
    ulib=$(dirname "$(find "$w/ucontext-prefix" -name libyieldc.a | head -n 1)")
    "$cc" -g -O1 -I"$w/ucontext-prefix/include" -o "$w/target-uc" "$src/tests/gdb/target.c" \
        "$ulib/libyieldc.a" -pthread > "$w/target-uc.log" 2>&1
    g -ex "source $gdbpy" -ex "break target_ready" -ex run -ex "yc gens" -ex "yc bt walker" \
      -ex "echo @after\n" -ex bt "$w/target-uc" > "$w/ucontext.out"
    has ucontext "$w/ucontext.out" '^6 live generators$' '^#[0-9]+ .*walk_down \(depth=.*2\)' \
        '^#[0-9]+ .*walker_body' '^#0 +target_ready \(\)'
else
    bad build-ucontext "(log: $w/build-ucontext.log)"
fi

summary
