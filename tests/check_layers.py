#!/usr/bin/env python3
"""The layer check (docs/design.md, "Layers").

Reads the table of layers from docs/design.md (the rows between the
`<!-- layers -->` and `<!-- /layers -->` marks: one file of src/ a row, its
layer first as "N name"), and the listed exceptions (between
`<!-- layer-exceptions -->` and `<!-- /layer-exceptions -->`: from, symbol,
to), and the units (between `<!-- layer-units -->` and
`<!-- /layer-units -->`, optional: the files of one unit, separated by
commas, then why they are one). Then fails, saying which file, which symbol
and which layers, when

  - a file of src/ is not in the table, or a row names no file;
  - an object file of the library has an undefined symbol (nm -u) that
    another object of the library defines (nm --defined-only) in a file of
    a higher layer: a call (or a variable's use) running up the layers;
  - a file of src/ includes ("#include "...") a file of a higher layer;
  - within a layer, a file uses (calls or includes) a file whose row is
    below its own: the order of the rows is the order of use, so a layer
    has no circle either; files of one listed unit may use each other;
  - a listed exception no longer happens (delete its row).

Rows whose layer is `tool` are build tools, not part of the library.

  check_layers.py --table docs/design.md --src SRC_DIR --objects LIST [--nm NM]

LIST is a file with one object path a line; an object's source is the part
of its path after "<target>.dir/" without the ".o" (CMake's layout), taken
relative to the directory holding SRC_DIR. Exit status 0 when the layers
hold, 1 when they do not (every violation printed), 2 on bad input.
"""
import argparse
import os
import re
import subprocess
import sys


def fail_input(msg):
    print("check_layers: " + msg, file=sys.stderr)
    sys.exit(2)


def section(text, name, optional=False):
    m = re.search(r"<!-- %s -->(.*?)<!-- /%s -->" % (name, name), text, re.S)
    if not m and optional:
        return []
    if not m:
        fail_input("no <!-- %s --> ... <!-- /%s --> section in the table file" % (name, name))
    rows = []
    for line in m.group(1).splitlines():
        line = line.strip()
        if not line.startswith("|") or re.match(r"^\|[\s:|-]+\|$", line):
            continue
        cells = [c.strip().strip("`").strip() for c in line.strip("|").split("|")]
        rows.append(cells)
    return rows[1:]  # the first row is the heading


def read_table(path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    layers = {}  # file -> (number, name); number None for tools
    row = {}  # file -> its position in the table: the order of use
    for cells in section(text, "layers"):
        if len(cells) < 2:
            fail_input("layer row with fewer than two cells: %r" % cells)
        layer, file = cells[0], cells[1]
        if layer == "tool":
            layers[file] = (None, "tool")
            continue
        m = re.match(r"^(\d+)\s+(\S.*)$", layer)
        if not m:
            fail_input("layer %r of %s is not 'N name'" % (layer, file))
        if file in layers:
            fail_input("%s is in the table twice" % file)
        layers[file] = (int(m.group(1)), m.group(2))
        row[file] = len(row) + 1
    exceptions = {}
    for cells in section(text, "layer-exceptions"):
        if len(cells) < 3:
            fail_input("exception row with fewer than three cells: %r" % cells)
        exceptions[(cells[0], cells[1], cells[2])] = False
    unit = {}  # file -> the index of its unit
    for i, cells in enumerate(section(text, "layer-units", optional=True)):
        files = [f.strip().strip("`").strip() for f in cells[0].split(",") if f.strip()]
        if len(files) < 2 or len(cells) < 2 or not cells[1]:
            fail_input("unit row needs two files or more and a reason: %r" % cells)
        for f in files:
            if f not in layers:
                fail_input("unit file %s has no row in the layer table" % f)
            if f in unit:
                fail_input("%s is in two units" % f)
            if layers[f][0] != layers[files[0]][0]:
                fail_input("unit %s spans two layers" % ", ".join(files))
            unit[f] = i
    return layers, row, unit, exceptions


def nm(tool, args, objs):
    """{object: [symbol, ...]} from one run of nm over all the objects."""
    r = subprocess.run([tool, "-A"] + args + objs, capture_output=True, text=True)
    if r.returncode != 0:
        fail_input("%s %s: %s" % (tool, " ".join(args), r.stderr.strip()))
    syms = {o: [] for o in objs}
    for line in r.stdout.splitlines():
        obj, sep, rest = line.partition(":")
        if sep and rest.split() and obj in syms:
            syms[obj].append(rest.split()[-1])
    return syms


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--table", required=True)
    ap.add_argument("--src", required=True)
    ap.add_argument("--objects", required=True)
    ap.add_argument("--nm", default="nm")
    a = ap.parse_args()

    layers, row, unit, exceptions = read_table(a.table)
    src = os.path.normpath(a.src)
    root = os.path.dirname(src)  # paths in the table are relative to it
    problems = []

    def show(f):
        n, name = layers[f]
        return "%s (layer %d %s)" % (f, n, name)

    # Every file of src/ in the table, every row a file.
    present = set()
    for d, dirs, files in os.walk(src):
        dirs[:] = [x for x in dirs if not x.startswith(".") and x != "__pycache__"]
        for x in files:
            present.add(os.path.relpath(os.path.join(d, x), root))
    for f in sorted(present - set(layers)):
        problems.append("%s: not in the layer table (%s): add a row with its layer" % (f, a.table))
    for f in sorted(set(layers) - present):
        problems.append("%s: in the layer table but not in %s: delete its row" % (f, src))

    def check(frm, what, to, how):
        if frm not in layers or to not in layers or layers[frm][0] is None:
            return
        if layers[to][0] is None or layers[to][0] < layers[frm][0]:
            return
        same = layers[to][0] == layers[frm][0]
        if same and (row[to] < row[frm] or unit.get(frm, -1) == unit.get(to, -2)):
            return
        key = (frm, what, to)
        if key in exceptions:
            exceptions[key] = True
            return
        if same:
            problems.append("%s %s %s of %s, a file listed below it in its layer (row %d, "
                            "below row %d): move the use, or list the two as one unit"
                            % (show(frm), how, what, to, row[to], row[frm]))
        else:
            problems.append("%s %s %s of %s, a higher layer" % (show(frm), how, what, show(to)))

    # Calls, from the objects' symbols.
    with open(a.objects, encoding="utf-8") as f:
        objects = [line.strip() for line in f if line.strip()]
    if not objects:
        fail_input("no object files in " + a.objects)
    source_of, defined, undefined = {}, {}, {}
    for obj in objects:
        m = re.search(r"\.dir/(.*)\.o(bj)?$", obj)
        if not m:
            fail_input("cannot tell the source of object " + obj)
        s = os.path.normpath(m.group(1))
        parts = s.split(os.sep)  # relative to the target's source directory:
        for i in range(len(parts)):  # the shortest tail that is a row
            if os.path.join(*parts[i:]) in layers:
                s = os.path.join(*parts[i:])
                break
        if s not in layers:
            problems.append("%s: compiled into the library (%s) but not in the layer table" % (s, obj))
            continue
        source_of[obj] = s
    objs = sorted(source_of)
    for obj, syms in nm(a.nm, ["--defined-only", "-g"], objs).items():
        for sym in syms:
            defined.setdefault(sym, source_of[obj])
    for obj, syms in nm(a.nm, ["-u"], objs).items():
        undefined[source_of[obj]] = syms
    for s, syms in sorted(undefined.items()):
        for sym in sorted(set(syms)):
            to = defined.get(sym)
            if to and to != s:
                check(s, sym, to, "uses")

    # Includes, from the sources.
    for f in sorted(present & set(layers)):
        if layers[f][0] is None:
            continue
        try:
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as h:
                text = h.read()
        except OSError as e:
            fail_input(str(e))
        for inc in INCLUDE.findall(text):
            for base in (os.path.dirname(f), "src"):
                cand = os.path.normpath(os.path.join(base, inc))
                if cand in layers:
                    check(f, '"%s"' % inc, cand, "includes")
                    break

    for (frm, what, to), seen in sorted(exceptions.items()):
        if not seen:
            problems.append("listed exception %s -> %s -> %s no longer happens: delete its row "
                            "from %s" % (frm, what, to, a.table))

    for p in problems:
        print("LAYERS: " + p)
    if problems:
        print("check_layers: %d problem(s); the table is in %s" % (len(problems), a.table))
        return 1
    print("check_layers: %d files, %d objects: every call and include goes down the layers "
          "and up no layer's order"
          % (len(layers), len(objects)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
