#!/usr/bin/python3
"""Compiles the C code users copy: every ```c block of README.md and
docs/*.md, and every example, with -Wall -Wextra -Wpedantic -Wconversion
-Wshadow -Werror (docs/api.md, "Code blocks in the docs").

    doc_blocks.py --cc CC --src SOURCE_DIR --lib LIBYIELDC_A --out DIR [--link 0]

(--link 0: compile only, for a library built with sanitizers.)

The info string of a block says what it is:

    ```c                a whole translation unit: compiled, and linked
                        against the library when it defines main
    ```c fragment       code from the middle of a program: its file-scope
                        items (lines at column 0 opening a `static` or
                        `typedef` item, a kernel macro or a function
                        definition, up to the line that closes it) stay at
                        file scope, the other lines form the body of a
                        function; `...` stands for code left out
    ```c excerpt        a copy of a declaration of the public headers,
                        shown for reading (compiling it would redefine
                        it): not compiled

A fragment may be preceded (right before its fence) by an HTML comment
holding the declarations it assumes, invisible on the rendered page; what
follows "locals:" is declared at the start of the function body:

    <!-- context: void parse(const char *line); char *line; locals: int n = 3; -->

Fragments get -Wno-unused-* on top, since they show parts of a program.
Exit status 0 when everything compiles, 1 otherwise (each failure shown).
"""
import glob
import os
import re
import subprocess
import sys

FLAGS = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion",
         "-Wshadow", "-Werror"]
FRAGMENT_FLAGS = ["-Wno-unused-function", "-Wno-unused-variable",
                  "-Wno-unused-parameter", "-Wno-unused-but-set-variable",
                  "-Wno-unused-label"]
PRELUDE = ("#include <errno.h>\n#include <stdio.h>\n#include <stdlib.h>\n"
           "#include <string.h>\n#include <yieldc.h>\n")
FENCE = re.compile(r"^```(\S*)\s*(.*)$")
CONTEXT = re.compile(r"<!--\s*context:(.*?)-->", re.S)


def blocks(path):
    """(line, kind, code, context) of each C block of a Markdown file."""
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m or not m.group(1):
            i += 1
            continue
        lang, rest = m.group(1), m.group(2).strip()
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        if lang != "c":
            continue
        before = "\n".join(lines[max(0, start - 12):start])
        ctx = CONTEXT.findall(before)
        # only a comment that ends right before the fence counts
        ctx = ctx[-1] if ctx and before.rstrip().endswith("-->") else ""
        yield start + 1, rest or "unit", "\n".join(body) + "\n", ctx


TOP_START = re.compile(r"^(static\b|typedef\b|struct\b|YC_(I64|VAL)_KERNEL\b|YC_SGEN_FN\b|"
                       r"[A-Za-z_][\w \*]*\b[A-Za-z_]\w*\s*\([^;]*\)\s*$)")


def split_fragment(code):
    """(file-scope part, function-body part) of a fragment."""
    top, body, lines, i = [], [], code.split("\n"), 0
    while i < len(lines):
        line = lines[i]
        if TOP_START.match(line):
            # one item: a single line ending with ';', or up to a line at
            # column 0 that closes it ("}", "};", "})")
            if line.rstrip().endswith(";") and line.count("{") == line.count("}"):
                top.append(line)
                i += 1
                continue
            while i < len(lines):
                top.append(lines[i])
                i += 1
                if re.match(r"^[}]", top[-1]):
                    break
        else:
            body.append(line)
            i += 1
    return "\n".join(top) + "\n", "\n".join(body) + "\n"


def drop_ellipses(code):
    """`...` outside comments and strings stands for code left out: an
    empty block."""
    out, i, n = [], 0, len(code)
    while i < n:
        if code.startswith("/*", i):
            j = code.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append(code[i:j])
            i = j
        elif code[i] == '"':
            j = i + 1
            while j < n and code[j] != '"':
                j += 2 if code[j] == "\\" else 1
            out.append(code[i:j + 1])
            i = j + 1
        elif code.startswith("...", i):
            out.append("{}")
            i += 3
        else:
            out.append(code[i])
            i += 1
    return "".join(out)


def compile_one(args, name, src, kind, out_dir):
    path = os.path.join(out_dir, name + ".c")
    with open(path, "w", encoding="utf-8") as f:
        f.write(src)
    flags = FLAGS + (FRAGMENT_FLAGS if kind != "unit" else [])
    inc = ["-I" + os.path.join(args["src"], "include")]
    if kind == "unit" and args.get("link", "1") == "1" and re.search(r"\bmain\s*\(", src):
        cmd = [args["cc"]] + flags + inc + [path, args["lib"], "-lpthread", "-lm",
                                             "-o", os.path.join(out_dir, name)]
    else:
        cmd = [args["cc"]] + flags + inc + ["-c", path, "-o", os.path.join(out_dir, name + ".o")]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.returncode == 0, p.stdout


def main():
    a = sys.argv[1:]
    args = dict(zip([k.lstrip("-") for k in a[0::2]], a[1::2]))
    for k in ("cc", "src", "lib", "out"):
        if k not in args:
            print(__doc__, file=sys.stderr)
            return 2
    os.makedirs(args["out"], exist_ok=True)
    src = args["src"]
    todo = []
    for md in [os.path.join(src, "README.md")] + sorted(glob.glob(os.path.join(src, "docs", "*.md"))):
        rel = os.path.relpath(md, src)
        for line, kind, code, ctx in blocks(md):
            name = re.sub(r"\W", "_", rel) + "_%d" % line
            if kind == "unit":
                text = code
            elif kind == "fragment":
                top, body = split_fragment(drop_ellipses(code))
                glob_ctx, _, locals_ = ctx.partition("locals:")
                text = (PRELUDE + glob_ctx + "\n" + top +
                        "\nvoid yc_doc_fragment(void);\nvoid yc_doc_fragment(void)\n{\n" +
                        locals_ + "\n" + body + "}\n")
            elif kind == "excerpt":
                continue
            else:
                print("%s:%d: unknown block kind 'c %s'" % (rel, line, kind))
                todo.append(None)
                continue
            todo.append(("%s:%d (c %s)" % (rel, line, kind), name, text, kind))
    for ex in sorted(glob.glob(os.path.join(src, "examples", "*.c"))):
        todo.append((os.path.relpath(ex, src), "example_" + os.path.basename(ex)[:-2],
                     open(ex, encoding="utf-8").read(), "unit"))
    failed = sum(1 for t in todo if t is None)
    for t in todo:
        if t is None:
            continue
        where, name, text, kind = t
        ok, out = compile_one(args, name, text, kind, args["out"])
        if not ok:
            failed += 1
            print("FAIL %s\n%s" % (where, out))
    print("doc_blocks: %d blocks and examples, %d failed (%s)" % (len(todo), failed, args["cc"]))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
