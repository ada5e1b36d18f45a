#!/usr/bin/env python3
"""check_try_locals: locals that setjmp may lose, in YC_TRY and YC_WITH.

YC_TRY, YC_WITH and the frames of yieldc's stages are built on setjmp. When
an exception lands in a handler (or in the code after a YC_TRY that caught
it, or after a YC_WITH whose manager suppressed it), C says that a local
variable of the function that is not volatile and was changed between the
setjmp and the raise has an indeterminate value. In practice it is the value
it had in memory: the old one at -O2 (kept in a register), the new one at
-O0. Compilers do not warn reliably (-Wclobbered misses most cases).

This checker flags, per function, a non-volatile local or parameter that is
assigned (=, op=, ++, --) inside a YC_TRY body (or a YC_WITH body) and read
in one of its handlers (YC_EXCEPT, YC_EXCEPT_ANY, YC_FINALLY) or after the
construct in the same function. A local whose address is taken (&name)
anywhere in the function is not flagged: it lives in memory. Locals declared
inside the body are not visible outside it and are not flagged.

Usage: check_try_locals.py FILE_OR_DIR...   (directories: every *.c and *.h)
Exit status 0 when nothing is flagged, 1 otherwise, 2 on a usage error.
A line that is a deliberate exception carries the comment
`check_try_locals: ok` (on the line of the read).
"""
import os
import re
import sys

OK_MARK = "check_try_locals: ok"
IDENT = re.compile(r"[A-Za-z_]\w*")
KEYWORDS = {
    "if", "else", "for", "while", "do", "switch", "case", "default", "return",
    "break", "continue", "goto", "sizeof", "typedef", "struct", "union", "enum",
    "static", "extern", "const", "volatile", "register", "auto", "inline",
    "restrict", "_Alignas", "_Atomic", "_Static_assert", "_Thread_local",
    "__attribute__", "unsigned", "signed", "long", "short", "int", "char",
    "float", "double", "void", "bool", "_Bool",
}
TYPE_WORDS = {"unsigned", "signed", "long", "short", "int", "char", "float", "double",
              "bool", "_Bool", "void", "size_t", "ssize_t", "ptrdiff_t", "intptr_t",
              "uintptr_t", "FILE", "jmp_buf", "va_list", "off_t", "pid_t"}
ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>=")


def strip(src):
    """Blanks comments, string and character literals and preprocessor lines,
    keeping every newline and column, so offsets still map to lines."""
    out = list(src)
    i, n = 0, len(src)
    line_start = True
    while i < n:
        c = src[i]
        if line_start and c == "#":  # a directive, with its continuations
            j = i
            while j < n and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            for k in range(i, min(j, n)):
                if out[k] != "\n":
                    out[k] = " "
            i = j
            continue
        if c == "\n":
            line_start = True
            i += 1
            continue
        if not c.isspace():
            line_start = False
        if src.startswith("//", i):
            j = src.find("\n", i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = " "
            i = j
        elif src.startswith("/*", i):
            j = src.find("*/", i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != "\n":
                    out[k] = " "
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and src[j] != c and src[j] != "\n":
                j += 2 if src[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = " "
            i = j + 1
        else:
            i += 1
    return "".join(out)


def match_close(s, i, open_c, close_c):
    """Index of the bracket closing the one at s[i]; -1 if unbalanced."""
    depth = 0
    for j in range(i, len(s)):
        if s[j] == open_c:
            depth += 1
        elif s[j] == close_c:
            depth -= 1
            if depth == 0:
                return j
    return -1


def functions(s):
    """(name, params_text, body_start, body_end) for every function
    definition at file scope: an identifier, a parenthesised list, then a
    brace (attributes in between allowed)."""
    i, n = 0, len(s)
    depth = 0
    while i < n:
        c = s[i]
        if c == "{" and depth == 0:
            head = s[max(0, i - 2000):i]
            m = re.search(r"([A-Za-z_]\w*)\s*\(((?:[^()]|\([^()]*\))*)\)\s*(?:__attribute__\s*\(\(.*?\)\)\s*)*$",
                          head, re.S)
            end = match_close(s, i, "{", "}")
            if end < 0:
                return
            if m and m.group(1) not in KEYWORDS:
                yield m.group(1), m.group(2), i, end
            i = end + 1
            continue
        i += 1


def declared_names(text):
    """Names declared (not volatile) in declarations found in text, with the
    position of each declaration. Heuristic: a statement that starts with
    type words and declares identifiers, possibly with initialisers."""
    out = []
    for m in re.finditer(r"(?:(?<=[;{}])|^)\s*((?:const\s+|static\s+|register\s+|volatile\s+|"
                         r"struct\s+\w+\s+|enum\s+\w+\s+|union\s+\w+\s+)*"
                         r"(?:[A-Za-z_]\w*\s+)*?[A-Za-z_]\w*)((?:\s*\*+\s*|\s+)(?:const\s+|volatile\s+)*)"
                         r"([A-Za-z_]\w*)\s*(\[[^\]]*\])?\s*(=|;|,)", text, re.M):
        typ, stars, name, arr, nxt = m.group(1), m.group(2), m.group(3), m.group(4), m.group(5)
        words = typ.split()
        first = words[0]
        if first in ("return", "goto", "case", "else", "do", "typedef", "sizeof"):
            continue
        if not (set(words) & TYPE_WORDS or first in ("struct", "enum", "union", "const", "static",
                                                     "volatile", "register")
                or re.match(r"(yc_\w+|\w+_t|int\d+_t|uint\d+_t)$", words[-1])):
            continue
        if "static" in words:  # static storage: not clobbered
            continue
        volatile = "volatile" in words or "volatile" in stars
        if arr is None and not volatile:
            out.append((name, m.start(3)))
        # the other declarators of the same statement: a, b = 2, *c
        if nxt == ",":
            end = text.find(";", m.end())
            rest = text[m.end():end if end >= 0 else len(text)]
            rest = re.sub(r"\([^()]*\)|\{[^{}]*\}", "", rest)
            for part in rest.split(","):
                pm = re.match(r"\s*(\*\s*)*(volatile\s+)?([A-Za-z_]\w*)\s*(\[)?", part)
                if pm and not pm.group(4) and not pm.group(2) and not volatile:
                    out.append((pm.group(3), m.start(3)))
    return out


def param_names(params):
    out = []
    for p in params.split(","):
        p = p.strip()
        if not p or p == "void" or p == "..." or "volatile" in p.split() or "[" in p or "(" in p:
            continue
        m = re.search(r"([A-Za-z_]\w*)\s*$", p)
        if m and m.group(1) not in KEYWORDS and len(p.split()) + p.count("*") > 1:
            out.append(m.group(1))
    return out


def assigned(name, text):
    """True if text assigns name (name = ..., name.f = ..., name op= ...,
    name++, ++name, *name is not counted: that writes memory)."""
    n = re.escape(name)
    for m in re.finditer(r"(?<![\w.>&*])" + n + r"\b((?:\s*(?:\.|->)\s*\w+)*)\s*(\+\+|--|<<=|>>=|[-+*/%&|^]?=(?!=))",
                         text):
        if m.group(1) and "->" in m.group(1):
            continue  # p->f = ...: writes memory p points to
        return True
    if re.search(r"(\+\+|--)\s*" + n + r"\b(?!\s*(?:->))", text):
        return True
    return False


def reads(name, text):
    """Offsets in text where name is used other than as a plain assignment
    target."""
    n = re.escape(name)
    out = []
    for m in re.finditer(r"(?<![\w.>])" + n + r"\b", text):
        after = text[m.end():m.end() + 4]
        if re.match(r"\s*=(?!=)", after):
            continue
        before = text[max(0, m.start() - 2):m.start()]
        if before.endswith("->") or before.endswith("."):
            continue
        out.append(m.start())
    return out


CLAUSE = re.compile(r"\s*\}\s*(YC_EXCEPT_ANY\b|YC_EXCEPT\s*\(|YC_FINALLY\b|YC_END_WITH\b|YC_END\b)")


def constructs(s, lo, hi):
    """Every YC_TRY / YC_WITH in s[lo:hi]: (kind, start, body_lo, body_hi,
    handlers [(lo, hi)], end)."""
    for m in re.finditer(r"\b(YC_TRY|YC_WITH|YC_WITH_BORROWED)\b", s[lo:hi]):
        start = lo + m.start()
        kind = m.group(1)
        i = lo + m.end()
        if kind != "YC_TRY":
            p = s.find("(", i)
            if p < 0 or s[i:p].strip():
                continue
            i = match_close(s, p, "(", ")") + 1
        b = s.find("{", i)
        if b < 0 or s[i:b].strip():
            continue
        # YC_TRY's body brace is opened by the macro's own { ... }: the user's
        # "{" after YC_TRY is the body; its "}" is followed by a clause.
        body_end = match_close(s, b, "{", "}")
        if body_end < 0:
            continue
        handlers = []
        pos = body_end
        end = body_end
        while True:
            cm = CLAUSE.match(s, pos)
            if not cm:
                break
            word = cm.group(1)
            if word.startswith("YC_END"):
                end = cm.end()
                break
            j = cm.end()
            if word.startswith("YC_EXCEPT") and word.endswith("("):
                j = match_close(s, j - 1, "(", ")") + 1
            hb = s.find("{", j)
            he = match_close(s, hb, "{", "}")
            if hb < 0 or he < 0:
                break
            handlers.append((hb, he))
            pos = he
        yield kind, start, b, body_end, handlers, end


def enclosing_block_end(s, pos, fn_end):
    """End of the innermost brace block containing pos."""
    depth = 0
    for j in range(pos, fn_end + 1):
        if s[j] == "{":
            depth += 1
        elif s[j] == "}":
            if depth == 0:
                return j
            depth -= 1
    return fn_end


def check_file(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        raw = f.read()
    s = strip(raw)
    lines = raw.split("\n")
    line_of = lambda off: raw.count("\n", 0, off) + 1
    found = []
    for fname, params, fb, fe in functions(s):
        body = s[fb:fe + 1]
        if "YC_TRY" not in body and "YC_WITH" not in body:  # YC_WITH_BORROWED too
            continue
        candidates = {}
        for name in param_names(params):
            candidates.setdefault(name, fb)
        for name, off in declared_names(body):
            candidates.setdefault(name, fb + off)
        addr_taken = {n for n in candidates if re.search(r"&\s*" + re.escape(n) + r"\b(?!\s*(?:\.|->|\[))", body)}
        for kind, start, blo, bhi, handlers, end in constructs(s, fb, fe):
            inner = s[blo:bhi]
            tail_end = enclosing_block_end(s, end, fe)
            for name, decl in candidates.items():
                if name in addr_taken or decl >= blo and decl < bhi or decl > start:
                    continue
                if not assigned(name, inner):
                    continue
                spans = [("handler", lo, hi) for lo, hi in handlers]
                spans.append(("after", end, tail_end))
                for where, lo, hi in spans:
                    for r in reads(name, s[lo:hi]):
                        ln = line_of(lo + r)
                        if OK_MARK in lines[ln - 1]:
                            continue
                        found.append((path, ln, name, kind, line_of(start), where, fname))
                        break
                    else:
                        continue
                    break
    return found


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
        return 2
    files = []
    for a in argv[1:]:
        if os.path.isdir(a):
            for root, _, names in os.walk(a):
                files += [os.path.join(root, n) for n in sorted(names) if n.endswith((".c", ".h"))]
        elif os.path.isfile(a):
            files.append(a)
        else:
            print(f"check_try_locals: no such file: {a}", file=sys.stderr)
            return 2
    bad = 0
    for path in sorted(files):
        for p, ln, name, kind, tl, where, fname in check_file(path):
            place = "in its handler" if where == "handler" else "after it"
            print(f"{p}:{ln}: '{name}' is changed inside the {kind} at line {tl} and read {place} "
                  f"(in {fname}): declare it volatile, or its value there is indeterminate "
                  f"(setjmp); see docs/semantics.md")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
