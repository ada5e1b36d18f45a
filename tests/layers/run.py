#!/usr/bin/env python3
"""The layer check's own test: tests/check_layers.py over the fixture in
tests/layers/ (src/low.c, of layer 0, calls fixture_high of src/high.c and
includes src/high.h, both of layer 1). It must fail there naming the file,
the symbol and both layers; pass once both are listed exceptions; fail on
a listed exception that does not happen, and on a file without a row;
within one layer, fail on a use of a file listed below and pass when the
files are listed as one unit (docs/design.md, "Layers").

  run.py CHECK_LAYERS FIXTURE_DIR OBJECTS_LIST NM WORKDIR
"""
import os
import subprocess
import sys

check, fixture, objects, nm, work = sys.argv[1:6]
os.makedirs(work, exist_ok=True)
with open(os.path.join(fixture, "table.md"), encoding="utf-8") as f:
    table = f.read()
failures = 0


def run(name, text, want_status, want_lines):
    global failures
    path = os.path.join(work, name + ".md")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    r = subprocess.run([sys.executable, check, "--table", path, "--src",
                        os.path.join(fixture, "src"), "--objects", objects, "--nm", nm],
                       capture_output=True, text=True)
    out = r.stdout + r.stderr
    bad = [w for w in want_lines if w not in out]
    if r.returncode != want_status or bad:
        failures += 1
        print("FAIL %s: exit %d (want %d), missing %r\n%s" % (name, r.returncode, want_status,
                                                             bad, out))
    else:
        print("ok   %s: exit %d" % (name, r.returncode))


EXC_END = "<!-- /layer-exceptions -->"
listed = ("| `src/low.c` | `fixture_high` | `src/high.c` | the fixture |\n"
          "| `src/low.c` | `\"high.h\"` | `src/high.h` | the fixture |\n")

run("calls_up", table, 1, [
    "LAYERS: src/low.c (layer 0 low) uses fixture_high of src/high.c (layer 1 high), "
    "a higher layer",
    "LAYERS: src/low.c (layer 0 low) includes \"high.h\" of src/high.h (layer 1 high), "
    "a higher layer",
    "2 problem(s)"])
run("listed", table.replace(EXC_END, listed + EXC_END), 0, ["every call and include goes down"])
run("stale_exception",
    table.replace(EXC_END, listed + "| `src/high.c` | `fixture_low` | `src/low.c` | gone |\n" + EXC_END),
    1, ["listed exception src/high.c -> fixture_low -> src/low.c no longer happens"])
run("no_row", table.replace("| 1 high | `src/high.h` | the high layer's header |\n", ""), 1,
    ["src/high.h: not in the layer table"])
run("swapped", table.replace("| 0 low |", "| 2 low |"), 1, [
    "LAYERS: src/high.c (layer 1 high) uses fixture_low of src/low.c (layer 2 low), "
    "a higher layer"])
# Within a layer the rows are the order of use: low.c, now of the high
# layer but listed first, may not call fixture_high nor include high.h,
# listed below it; listed as one unit, the three may use each other.
one_layer = table.replace("| 0 low |", "| 1 high |")
UNITS = ("\n<!-- layer-units -->\n| files | why one unit |\n|---|---|\n"
         "| `src/low.c`, `src/high.h`, `src/high.c` | the fixture |\n<!-- /layer-units -->\n")
run("order", one_layer, 1, [
    "LAYERS: src/low.c (layer 1 high) uses fixture_high of src/high.c, a file listed below "
    "it in its layer (row 3, below row 1)",
    "LAYERS: src/low.c (layer 1 high) includes \"high.h\" of src/high.h, a file listed below "
    "it in its layer (row 2, below row 1)",
    "2 problem(s)"])
run("unit", one_layer + UNITS, 0, ["every call and include goes down"])
run("unit_without_row", one_layer + UNITS.replace("`src/high.c` |", "`src/gone.c` |"), 2,
    ["unit file src/gone.c has no row in the layer table"])
run("unit_across_layers", table + UNITS, 2, ["spans two layers"])
print("check_layers_fixture: %d failed" % failures)
sys.exit(1 if failures else 0)
