#!/usr/bin/env bash
# Builds and runs a consumer project (consumer/) against yieldc in each way
# a user gets it, and checks what an installed yieldc contains:
#
#   installed      cmake --install into a temporary prefix; the consumer
#                  finds it with find_package(yieldc 0.1 REQUIRED) (shared
#                  and static), and is refused a version it must not get
#   pkg-config     README's one-line compile, cc app.c $(pkg-config --cflags
#                  --libs yieldc), also from a prefix moved elsewhere
#   subproject     add_subdirectory and FetchContent: only the library is
#                  built (no tests, examples, install rules, -Werror)
#   the library    no test hook exported, only yc_ names, the soname rule
#                  of docs/design.md; the gdb extension installed
#
#   bash tests/packaging/run.sh WORKDIR
#
# Prints "ok NAME" or "FAIL NAME: why" per check and last "N passed, M
# failed"; exits 1 when a check failed. Environment: CC (default cc),
# CMAKE, JOBS (default 2). Each step's output goes to WORKDIR/NAME.log.
set -u

source "$(dirname "$0")/../script_lib.sh" "${1:-}"

consumer=$src/tests/packaging/consumer
version=$(sed -nE 's/^project\(yieldc VERSION ([0-9]+\.[0-9]+\.[0-9]+).*/\1/p' "$src/CMakeLists.txt")
major=${version%%.*}
minor=${version#*.}; minor=${minor%%.*}
if [ "$major" = 0 ]; then soname=libyieldc.so.$major.$minor; else soname=libyieldc.so.$major; fi
expected="countdown 3 2 1 returned liftoff
suppressed KeyError
yieldc $version"

# step NAME CMD...: runs CMD with its output in NAME.log; a failure shows
# the log's end.
step() {
    local name=$1; shift
    if "$@" > "$w/$name.log" 2>&1; then ok "$name"; return 0; fi
    bad "$name" "exit $? (log: $w/$name.log)"
    tail -n 25 "$w/$name.log" | sed 's/^/    /'
    return 1
}

# runs NAME BINARY: the consumer's output is the expected text.
runs() {
    local out
    if ! out=$("$2" 2>&1); then bad "$1" "exit $?: $out"; return 1; fi
    if [ "$out" != "$expected" ]; then bad "$1" "printed: $out"; return 1; fi
    ok "$1"
}

# ---- installed -------------------------------------------------------------

prefix=$w/prefix
step install-build bash -c "'$cmake' -S '$src' -B '$w/lib-build' -DCMAKE_C_COMPILER='$cc' \
        -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX='$prefix' \
    && '$cmake' --build '$w/lib-build' -j$jobs --target yieldc yieldc_static \
    && '$cmake' --install '$w/lib-build'" || summary

pc=$(find "$prefix" -name yieldc.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
missing=
for f in "$pc" "$libdir/cmake/yieldc/yieldcConfig.cmake" \
         "$libdir/cmake/yieldc/yieldcConfigVersion.cmake" "$libdir/libyieldc.a" \
         "$libdir/libyieldc.so.$version" "$libdir/libyieldc.so.$version-gdb.py" \
         "$prefix/share/yieldc/gdb/yieldc.py" "$prefix/include/yieldc.h" \
         "$prefix/include/yieldc/iter.h"; do
    [ -e "$f" ] || missing="$missing ${f#"$prefix"/}"
done
if [ -n "$pc" ] && [ -z "$missing" ]; then ok installed-files; else bad installed-files "missing:$missing"; fi

# The shared library exports only yc_ names and no test hook.
so=$libdir/libyieldc.so.$version
syms=$(nm -D --defined-only "$so" 2>&1 | awk 'NF == 3 { print $3 }')
hooks=$(echo "$syms" | grep -E '^yc__(fault_|stack_guard_|bias_)')
foreign=$(echo "$syms" | grep -vE '^yc_' | grep -vE '^(_init|_fini)$')
if [ -z "$syms" ]; then bad exports "nm -D found no symbol in $so"
elif [ -n "$hooks" ]; then bad exports "test hooks exported: $(echo $hooks)"
elif [ -n "$foreign" ]; then bad exports "names outside yc_: $(echo $foreign)"
else ok exports; fi
# The hooks are still in the static library, for the tests.
if nm "$libdir/libyieldc.a" 2>/dev/null | grep -q ' T yc__fault_map_after$'; then ok hooks-in-static
else bad hooks-in-static "yc__fault_map_after not defined in libyieldc.a"; fi

got=$(readelf -d "$so" 2>&1 | sed -nE 's/.*Library soname: \[(.*)\].*/\1/p')
if [ "$got" = "$soname" ] && [ "$(readlink "$libdir/$soname")" = "libyieldc.so.$version" ]; then
    ok soname
else
    bad soname "soname '$got', want '$soname' (a link to libyieldc.so.$version)"
fi

# find_package(yieldc 0.1 REQUIRED)
if step find-package "$cmake" -S "$consumer" -B "$w/fp" -DCMAKE_C_COMPILER="$cc" \
        -DYC_VIA=installed -DYC_WANT="$major.$minor" -DCMAKE_PREFIX_PATH="$prefix" \
    && step find-package-build "$cmake" --build "$w/fp" -j"$jobs"; then
    runs find-package-shared "$w/fp/app_shared"
    runs find-package-static "$w/fp/app_static"
    if ldd "$w/fp/app_shared" | grep -q "$soname => $libdir/"; then ok find-package-links-installed
    else bad find-package-links-installed "app_shared does not load $libdir/$soname: $(ldd "$w/fp/app_shared" | grep yieldc)"; fi
fi
# versions this one must not satisfy: the next minor (before 1.0 every
# minor may break the ABI) and the next major
for want in "$major.$((minor + 1))" "$((major + 1)).0"; do
    if "$cmake" -S "$consumer" -B "$w/fp-$want" -DCMAKE_C_COMPILER="$cc" -DYC_VIA=installed \
            -DYC_WANT="$want" -DCMAKE_PREFIX_PATH="$prefix" > "$w/find-package-$want.log" 2>&1; then
        bad "find-package-refuses-$want" "find_package(yieldc $want) accepted $version"
    elif grep -q "with requested version \"$want\"" "$w/find-package-$want.log" \
            && grep -q "version: $version" "$w/find-package-$want.log"; then
        ok "find-package-refuses-$want"
    else
        bad "find-package-refuses-$want" "failed, but not for the version (log: $w/find-package-$want.log)"
    fi
done

# ---- pkg-config --------------------------------------------------------------

# pkg-config: Debian's pkgconf, installed with apt-get when missing
command -v pkg-config > /dev/null 2>&1 || apt_install "$w/apt.log" pkgconf || true
if command -v pkg-config > /dev/null 2>&1; then
    # README's line, as a plain Makefile user writes it
    if step pkg-config-build env PKG_CONFIG_PATH="$libdir/pkgconfig" bash -c \
            "cd '$w' && '$cc' -o app_pc '$consumer/app.c' \$(pkg-config --cflags --libs yieldc)"; then
        LD_LIBRARY_PATH=$libdir runs pkg-config-run "$w/app_pc"
    fi
    got=$(PKG_CONFIG_PATH="$libdir/pkgconfig" pkg-config --modversion yieldc 2>&1)
    if [ "$got" = "$version" ]; then ok pkg-config-version; else bad pkg-config-version "got '$got'"; fi
    # static: pkg-config --static, and the archive named
    if step pkg-config-static-build env PKG_CONFIG_PATH="$libdir/pkgconfig" bash -c \
            "cd '$w' && '$cc' -o app_pc_static '$consumer/app.c' \$(pkg-config --cflags yieldc) \
             '$libdir/libyieldc.a' \$(pkg-config --static --libs-only-other yieldc)"; then
        runs pkg-config-static-run "$w/app_pc_static"
    fi
    # a moved prefix: the .pc file finds its tree from where it is
    moved=$w/moved
    mv "$prefix" "$moved"
    mlib=$moved/${libdir#"$prefix"/}
    if step pkg-config-moved-build env PKG_CONFIG_PATH="$mlib/pkgconfig" bash -c \
            "cd '$w' && '$cc' -o app_moved '$consumer/app.c' \$(pkg-config --cflags --libs yieldc) \
             -Wl,-rpath,\$(pkg-config --variable=libdir yieldc)"; then
        runs pkg-config-moved-run "$w/app_moved"
    fi
    mv "$moved" "$prefix"
else
    echo "skip pkg-config: not found, and not installed: $why"
fi

# ---- subproject ----------------------------------------------------------------

for via in subdirectory fetchcontent; do
    b=$w/$via
    step "$via" "$cmake" -S "$consumer" -B "$b" -DCMAKE_C_COMPILER="$cc" -DYC_VIA="$via" \
        -DYC_SOURCE="$src" || continue
    # only the library: no test or example target, no -Werror, no install
    targets=$("$cmake" --build "$b" --target help 2>&1)
    extra=$(echo "$targets" | grep -oE '\b(test_[a-z_0-9]+|example_[a-z_]+|ticket_machine|tree_walk|logstats|gen_access_log)\b' | sort -u)
    if [ -z "$extra" ] && echo "$targets" | grep -q yieldc_static; then ok "$via-only-the-library"
    else bad "$via-only-the-library" "targets: $(echo $extra)"; fi
    if grep -q '^YC_WERROR:BOOL=OFF$' "$b/CMakeCache.txt" && grep -q '^YC_INSTALL:BOOL=OFF$' "$b/CMakeCache.txt"; then
        ok "$via-no-werror-no-install"
    else
        bad "$via-no-werror-no-install" "$(grep -E '^YC_(WERROR|INSTALL)' "$b/CMakeCache.txt" | tr '\n' ' ')"
    fi
    if step "$via-build" "$cmake" --build "$b" -j"$jobs"; then
        runs "$via-shared" "$b/app_shared"
        runs "$via-static" "$b/app_static"
        "$cmake" --install "$b" --prefix "$w/$via-prefix" > "$w/$via-install.log" 2>&1
        if [ -z "$(find "$w/$via-prefix" -name 'libyieldc*' -o -name 'yieldc*.h' 2>/dev/null)" ]; then
            ok "$via-installs-nothing"
        else
            bad "$via-installs-nothing" "installed: $(find "$w/$via-prefix" -type f | head -n 3)"
        fi
    fi
done

summary
