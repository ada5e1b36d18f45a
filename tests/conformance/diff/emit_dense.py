#!/usr/bin/python3
"""The stackless side of the differential test: scenarios as C.

    emit_dense.py [--kinds dense|mixed] FILE...   prints the C of a batch

A stackless body (include/yieldc/dense.h) cannot be interpreted by a
recursive C function: no C local survives a yield, and YC_STRY is a
lexical construct. So each generator that a scenario makes stackless is
written out as a YC_SGEN_FN body: a struct (the yc_sgen header, the
instance record of runner.c, the try area, one counter per nested loop)
and the body, the steps of the scenario language turned into YC_SYIELD,
YC_SYIELD_FROM, YC_STRY / YC_SEXCEPT / YC_SFINALLY, YC_SRETURN, YC_SRAISE
and calls of runner.c's helpers (d_*), which log the same trace as the
stackful interpreter. A batch is one C file that includes runner.c (with
YC_DIFF_DENSE) and ends with the table dense_lookup searches: (scenario
id, generator name) -> body. difftest.py compiles it once per batch into
a runner variant (build_runner, cached by content hash).

Which generators are stackless is the scenario's `(dense NAME...)` part,
set by assign_kinds:
  stackful  none (a stored dense part is dropped);
  dense     all of them; a scenario with a generator that cannot be
            stackless (see dense_reason) is skipped, with its reason;
  mixed     the stored dense part if there is one (reproducers), else each
            generator is drawn from a generator seeded by the scenario's id
            (so a chain mixes kinds, and a random scenario's draw depends
            on the seed and its index only); a drawn generator that cannot
            be stackless stays stackful, counted with its reason.
What a stackless body cannot express is what docs/stackless.md says it
cannot (dense_reason): nothing else is skipped.
"""

import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import scn as S  # noqa: E402

# The reasons a generator cannot be stackless, as docs/stackless.md states them.
R_WITH = ("with/stack step: YC_WITH context managers need a stackful body "
          "(docs/stackless.md, Which kind)")
R_BREAK = ("break/continue leaving a YC_STRY block: a YC_STRY block is left only "
           "through its end, a raise or YC_SRETURN (docs/stackless.md, Rules)")

OPS = {"next": "OP_NEXT", "send": "OP_SEND", "throw": "OP_THROW", "close": "OP_CLOSE"}


def dense_reason(steps):
    """Why a generator body cannot be written as a stackless body, or None."""
    def walk(block, in_loop, tries):
        for s in block:
            k = s[0]
            if k in ("with", "stack"):
                return R_WITH
            if k in ("break", "continue") and in_loop and tries:
                return R_BREAK
            if k == "try":
                for sub in [s[1]] + [c[2:] for c in s[2:]]:
                    r = walk(sub, in_loop, tries + 1)
                    if r:
                        return r
            elif k == "loop":
                r = walk(s[2:], True, 0)
                if r:
                    return r
        return None
    return walk(steps, False, 0)


def strip_kinds(form):
    return [p for p in form if not (isinstance(p, list) and p and p[0] == "dense")]


def stored_kinds(form):
    for p in form[2:]:
        if isinstance(p, list) and p and p[0] == "dense":
            return list(p[1:])
    return None


def assign_kinds(form, mode):
    """(form with its `dense` part for mode, or None when skipped, and the
    list of (reason, count) to count)."""
    base = strip_kinds(form)
    if mode == "stackful":
        return base, []
    gens, _, _ = S.scn_parts(base)
    reasons = {name: dense_reason(steps) for name, steps in gens}
    if mode == "dense":
        bad = sorted({r for r in reasons.values() if r})
        if bad:
            return None, [("scenario skipped: " + r) for r in bad]
        chosen = [name for name, _ in gens]
    elif mode == "mixed":
        stored = stored_kinds(form)
        if stored is not None:
            drawn = [name for name, _ in gens if name in stored]
        else:
            rng = random.Random("kinds/%s" % S.scn_id(base))
            drawn = [name for name, _ in gens if rng.random() < 0.5]
        chosen = [n for n in drawn if not reasons[n]]
        skips = [("generator kept stackful: " + reasons[n]) for n in drawn if reasons[n]]
        if not chosen:
            return base, skips
        return base + [["dense"] + chosen], skips
    else:
        raise ValueError("unknown kinds mode %r" % mode)
    return base + [["dense"] + chosen], []


def normalize(form):
    """form with its dense part naming only generators it has that can be
    stackless (the shrinker may have dropped some)."""
    names = stored_kinds(form)
    if names is None:
        return form
    gens, _, _ = S.scn_parts(form)
    ok = [n for n, steps in gens if n in names and not dense_reason(steps)]
    return strip_kinds(form) + ([["dense"] + ok] if ok else [])


# ---- C emission ---------------------------------------------------------------


def cval(v):
    return "YC_NONE" if v is None else "yc_int(%d)" % v


def cval_static(v):
    return "{{.i = 0}, YC_T_NONE}" if v is None else "{{.i = %d}, YC_T_INT}" % v


def ctype(t):
    return "&UserError" if t == "UserError" else "&yc_" + t


def cstr(name):
    return '"%s"' % name


class Emitter:
    def __init__(self):
        self.out = []
        self.table = []  # (sid, name, fn)
        self.nfn = 0

    def body(self, sid, name, steps):
        fn = "dg%d" % self.nfn
        self.nfn += 1
        self.fn = fn
        self.nlist = 0
        self.statics = []
        self.max_try = 0
        self.max_loop = 0
        lines = []
        self.block(lines, steps, 1, 0, 0, False)
        fields = ["    yc_sgen sgen;", "    inst *self;"]
        if self.max_try:
            fields.append("    YC_SGEN_TRIES(%d);" % self.max_try)
        if self.max_loop:
            fields.append("    int lp[%d];" % self.max_loop)
        o = self.out
        o.append("/* %s: generator %s */" % (sid, name))
        o += self.statics
        o.append("typedef struct {\n%s\n} %s_t;" % ("\n".join(fields), fn))
        o.append("_Static_assert(offsetof(%s_t, self) == offsetof(dense_head, self), "
                 "\"the head of %s_t\");" % (fn, fn))
        o.append("YC_SGEN_FN(%s, %s_t, s)\n{\n    YC_SGEN_BEGIN();\n    d_start(s->self);" % (fn, fn))
        o += lines
        o.append("    YC_SGEN_END();\n}\n")
        self.table.append((sid, name, fn))

    def block(self, out, steps, ind, tries, loops, in_loop):
        for s in steps:
            self.step(out, s, ind, tries, loops, in_loop)

    def step(self, out, s, ind, tries, loops, in_loop):
        """Appends the C of step s to out: ind its indentation, tries and
        loops the open YC_STRY constructs and loops around it, in_loop
        whether a break or continue has a loop to leave."""
        p = "    " * ind
        k = s[0]
        if k == "y":
            out.append(p + "YC_SYIELD(%s);" % cval(s[1]))
            out.append(p + "d_got(s->self, YC_SSENT());")
        elif k == "ret":
            out.append(p + "YC_SRETURN(%s);" % cval(s[1]))
        elif k == "raise":
            out.append(p + "YC_SRAISE(mkexc(%s, %d));" % (ctype(s[1]), s[2]))
        elif k == "reraise":
            out.append(p + "YC_SRERAISE();")
        elif k == "try":
            depth = tries + 1
            self.max_try = max(self.max_try, depth)
            out.append(p + "YC_STRY(s) {")
            self.block(out, s[1], ind + 1, depth, loops, in_loop)
            fin = None
            for c in s[2:]:
                if c[0] == "exc":
                    out.append(p + "} YC_SEXCEPT(%s) {" % ctype(c[1]))
                    out.append(p + "    log_caught(s->self);")
                    self.block(out, c[2:], ind + 1, depth, loops, in_loop)
                elif c[0] == "fin":
                    fin = c
            if fin is not None:
                out.append(p + "} YC_SFINALLY {")
                out.append(p + "    d_fin(s->self, %d);" % fin[1])
                self.block(out, fin[2:], ind + 1, depth, loops, in_loop)
            out.append(p + "} YC_STRY_END;")
        elif k == "yf":
            out.append(p + "D_CHECK(d_yf_check(s->self, %s));" % cstr(s[1]))
            out.append(p + "YC_SYIELD_FROM(d_yf_it(s->self, %s));" % cstr(s[1]))
            out.append(p + "d_yf(s->self, %s, YC_SSENT());" % cstr(s[1]))
        elif k == "yfl":
            items = s[1:]
            if items:
                arr = "%s_l%d" % (self.fn, self.nlist)
                self.nlist += 1
                self.statics.append("static const yc_val %s[] = {%s};"
                                    % (arr, ", ".join(cval_static(v) for v in items)))
                out.append(p + "YC_SYIELD_FROM(d_yfl_it(s->self, %s, %d));" % (arr, len(items)))
            else:
                out.append(p + "YC_SYIELD_FROM(d_yfl_it(s->self, NULL, 0));")
            out.append(p + "d_yfl(s->self, YC_SSENT());")
        elif k == "loop":
            i = loops
            self.max_loop = max(self.max_loop, loops + 1)
            out.append(p + "for (s->lp[%d] = 0; s->lp[%d] < %d; s->lp[%d]++) {" % (i, i, s[1], i))
            self.block(out, s[2:], ind + 1, tries, loops + 1, True)
            out.append(p + "}")
        elif k in ("break", "continue"):
            # outside loops a no-op, as in oracle.py and runner.c; a jump
            # out of a YC_STRY block never gets here (dense_reason)
            out.append(p + ("%s;" % k if in_loop else "/* %s outside a loop */" % k))
        elif k == "call":
            op, target = s[1], s[2]
            v = cval(s[3]) if op == "send" else "YC_NONE"
            t = ctype(s[3]) if op == "throw" else "NULL"
            num = s[4] if op == "throw" else 0
            out.append(p + "D_CHECK(d_call(s->self, %s, %s, %s, %s, %d));"
                       % (OPS[op], cstr(target), v, t, num))
        elif k == "info":
            out.append(p + "d_info(s->self);")
        elif k == "state":
            out.append(p + "d_state(s->self, %s);" % cstr(s[1]))
        else:
            raise ValueError("emit_dense: step %r" % (k,))

    def text(self):
        head = ["/* Generated by emit_dense.py: the stackless bodies of one batch. */",
                "#define YC_DIFF_DENSE 1",
                "#include \"runner.c\"",
                "#include <stddef.h>",
                "",
                "/* A helper's status: D_NEW raises the exception it made (chained to",
                " * what is handled, as yc_raise), a negative one the pending exception",
                " * as it is (as YC_CHECK). */",
                "#define D_CHECK(call) \\",
                "    do { \\",
                "        int st_ = (call); \\",
                "        if (st_ == D_NEW) YC_SRAISE(d_new()); \\",
                "        YC_SCHECK(st_); \\",
                "    } while (0)",
                ""]
        table = sorted(self.table)
        tail = ["typedef struct dense_entry {",
                "    const char *sid, *name;",
                "    const yc_sgen_type *type;",
                "} dense_entry;",
                "static const dense_entry dense_table[] = {"]
        tail += ["    {%s, %s, &%s}," % (json.dumps(sid), cstr(n), fn) for sid, n, fn in table]
        tail += ["    {NULL, NULL, NULL},", "};", "",
                 "static const yc_sgen_type *dense_lookup(const char *sid, const char *name)",
                 "{",
                 "    size_t lo = 0, hi = %d;" % len(table),
                 "    while (lo < hi) {",
                 "        size_t mid = (lo + hi) / 2;",
                 "        int c = strcmp(dense_table[mid].sid, sid);",
                 "        if (!c) c = strcmp(dense_table[mid].name, name);",
                 "        if (!c) return dense_table[mid].type;",
                 "        if (c < 0) lo = mid + 1;",
                 "        else hi = mid;",
                 "    }",
                 "    return NULL;",
                 "}"]
        return "\n".join(head + self.out + tail) + "\n"


def emit(forms):
    """The C of a batch: a body for each generator named in a dense part."""
    e = Emitter()
    for f in forms:
        dense = stored_kinds(f) or []
        gens, _, _ = S.scn_parts(f)
        for name, steps in gens:
            if name in dense:
                e.body(str(S.scn_id(f)), name, steps)
    return e.text()


# ---- building the runner variant ----------------------------------------------


def _hash_tree(h, root):
    for d, _, files in sorted(os.walk(root)):
        for fn in sorted(files):
            with open(os.path.join(d, fn), "rb") as f:
                h.update(fn.encode())
                h.update(f.read())


def build_runner(c_text, cfg_path, cache_dir):
    """A runner binary for the batch c_text, compiled as cfg_path (written
    by CMake: dense_cc.json) says. With cache_dir, kept there under the hash
    of everything that goes into it (the text, the compiler line, runner.c
    and sx.h, the headers, the library); else in a temporary directory the
    caller removes (the path's parent). Returns (path, seconds compiling)."""
    with open(cfg_path) as f:
        cfg = json.load(f)
    h = hashlib.sha256()
    h.update(json.dumps(cfg, sort_keys=True).encode())
    for src in ("runner.c", "sx.h"):
        with open(os.path.join(HERE, src), "rb") as f:
            h.update(f.read())
    for inc in cfg["includes"]:
        _hash_tree(h, inc)
    with open(cfg["lib"], "rb") as f:
        h.update(f.read())
    h.update(c_text.encode())
    key = h.hexdigest()[:32]
    if cache_dir:
        os.makedirs(cache_dir, exist_ok=True)
        exe = os.path.join(cache_dir, key + ".runner")
        if os.path.exists(exe):
            os.utime(exe)  # recently used: kept by _prune
            return exe, 0.0
        work = tempfile.mkdtemp(dir=cache_dir)
    else:
        work = tempfile.mkdtemp(prefix="yc-dense-")
    src = os.path.join(work, "batch.c")
    with open(src, "w") as f:
        f.write(c_text)
    out = os.path.join(work, "runner")
    cmd = ([cfg["cc"]] + cfg["flags"] + ["-I" + HERE] + ["-I" + i for i in cfg["includes"]]
           + [src, cfg["lib"]] + cfg["libs"] + ["-o", out])
    t0 = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True)
    dt = time.time() - t0
    if p.returncode != 0:
        raise RuntimeError("compiling the stackless runner failed (%s kept):\n%s"
                           % (src, p.stdout[-4000:]))
    if not cache_dir:
        return out, dt
    exe = os.path.join(cache_dir, key + ".runner")
    os.replace(out, exe)
    os.unlink(src)
    os.rmdir(work)
    _prune(cache_dir, CACHE_KEEP)
    return exe, dt


CACHE_KEEP = 16  # runners kept in a cache directory (newest first)


def _prune(cache_dir, keep):
    runners = [os.path.join(cache_dir, f) for f in os.listdir(cache_dir) if f.endswith(".runner")]
    runners.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    for p in runners[keep:]:
        try:
            os.unlink(p)
        except OSError:
            pass


def main(argv):
    mode = "dense"
    if argv[:1] == ["--kinds"]:
        mode, argv = argv[1], argv[2:]
    forms = []
    for p in argv:
        with open(p) as f:
            forms += S.parse_forms(f.read())
    kept = []
    for f in forms:
        g, skips = assign_kinds(f, mode)
        for r in skips:
            sys.stderr.write("%s: %s\n" % (S.scn_id(f), r))
        if g is not None:
            kept.append(g)
    sys.stdout.write(emit(kept))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
