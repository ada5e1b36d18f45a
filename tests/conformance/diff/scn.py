"""The scenario language of the CPython differential test: parsing and printing.

A scenario is one S-expression (see README.md for the grammar):

    (scn ID [(flags v313)]
      (gen NAME STEP...)          a generator instance, created at the start
      (list NAME INT...)          a named list iterator, iter([INT...])
      (ops OP...))                what the caller does, in order

Atoms are integers, `none`, or symbols. `;` starts a comment that runs to the
end of the line. A file holds any number of scenarios. In corpus files a
comment line starting with ";| " right after a scenario holds one line of
that scenario's expected trace (used for the version-dependent ones).

This module runs under every Python from 3.8 on: the oracle may be a
different interpreter from the driver.
"""

import re

_TOKEN = re.compile(r"\s+|;[^\n]*|\(|\)|[^\s();]+")


class ParseError(Exception):
    pass


def _atom(tok):
    digits = tok[1:] if tok[0] == "-" else tok
    if digits.isdigit():
        return int(tok)
    if tok == "none":
        return None
    return tok


def parse_forms(text):
    """All top-level forms of text, as nested lists of int / None / str."""
    stack = [[]]
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if tok[0].isspace() or tok[0] == ";":
            continue
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise ParseError("unbalanced ')' at offset %d" % m.start())
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(_atom(tok))
    if len(stack) != 1:
        raise ParseError("unbalanced '(': %d left open" % (len(stack) - 1))
    return stack[0]


def parse_file_with_expect(text):
    """[(form, expected_lines or None)] for a corpus file: each ';| ' comment
    block after a form is that form's expected trace."""
    out = []
    depth = 0
    buf = []
    pending = None
    for line in text.splitlines():
        if depth == 0 and line.startswith(";| "):
            if pending is None:
                raise ParseError("expected-trace line before any scenario")
            if pending[1] is None:
                pending[1] = []
            pending[1].append(line[3:])
            continue
        if depth == 0 and line.startswith(";|") and line.strip() == ";|":
            if pending is not None:
                if pending[1] is None:
                    pending[1] = []
                pending[1].append("")
            continue
        buf.append(line)
        code = re.sub(r";[^\n]*", "", line)
        depth += code.count("(") - code.count(")")
        if depth == 0 and "".join(buf).strip():
            forms = parse_forms("\n".join(buf))
            buf = []
            for f in forms:
                pending = [f, None]
                out.append(pending)
    if depth != 0:
        raise ParseError("unbalanced parentheses at end of file")
    return [(f, e) for f, e in out]


def fmt(form):
    """One-line text of a form."""
    if isinstance(form, list):
        return "(" + " ".join(fmt(x) for x in form) + ")"
    if form is None:
        return "none"
    return str(form)


def fmt_pretty(form, width=100, indent=0):
    """Readable multi-line text (for reproducer files)."""
    one = fmt(form)
    if not isinstance(form, list) or len(one) + indent <= width:
        return one
    head = []
    rest = list(form)
    while rest and not isinstance(rest[0], list):
        head.append(fmt(rest.pop(0)))
        if len(head) >= 3:
            break
    lines = ["(" + " ".join(head)]
    for x in rest:
        lines.append(" " * (indent + 2) + fmt_pretty(x, width, indent + 2))
    return "\n".join(lines) + ")"


# ---- scenario accessors -------------------------------------------------


def scn_id(s):
    return s[1]


def scn_flags(s):
    for x in s[2:]:
        if isinstance(x, list) and x and x[0] == "flags":
            return set(x[1:])
    return set()


def scn_parts(s):
    """(gens: [(name, steps)], lists: [(name, ints)], ops: [op])."""
    gens, lists, ops = [], [], []
    for x in s[2:]:
        if x[0] == "gen":
            gens.append((x[1], x[2:]))
        elif x[0] == "list":
            lists.append((x[1], x[2:]))
        elif x[0] == "ops":
            ops = x[1:]
    return gens, lists, ops
