#!/usr/bin/python3
"""Driver of the CPython differential test.

    difftest.py --runner PATH random SEED N [--save DIR] [--with]
    difftest.py --runner PATH corpus [FILE_OR_DIR...]
    difftest.py --runner PATH file FILE...        (any scenario file, no saving)
    difftest.py --loop --runner PATH random|corpus|file ...

--loop: the event loop test (../loopdiff/README.md): loop scenarios
(gen_loop.py), oracle_loop.py under a CPython 3.13+ --python, the
loopdiff_runner; the corpus is ../loopdiff/corpus. Without a 3.13+ oracle
it exits 77 (skipped) after saying so.

random: generates N scenarios from SEED (gen_scenarios.py), runs the oracle
once over the batch (one Python process per chunk of scenarios) and the C
runner once over the same batch, in parallel, and compares the traces
scenario by scenario (--with: the section 9 stream of context managers,
gen_scenarios.scenario_with). Each divergence (a different trace, a runner crash or
hang, or objects leaked by the library) is shrunk by greedy deletion while
it still diverges the same way, and saved as DIR/divergence-SEED-I.scn with
both traces in comments (DIR defaults to tests/conformance/corpus).

corpus: runs every scenario of the given .scn files (default: every file in
tests/conformance/corpus). A scenario flagged (flags v313) depends on the
3.11/3.13 difference: with a 3.11 oracle it is checked against the expected
trace stored in its ";| " comment lines, run in the runner's full mode.

The oracle is --python (default /usr/bin/python3). With a 3.13+ interpreter
both sides run in full mode; before 3.13 both neutralise the two
version-dependent behaviours (oracle.py --compat, runner -c).

Exit status: 0 when everything agrees, 1 on divergences, 2 on usage errors.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, HERE)
import scn as S  # noqa: E402
import gen_scenarios  # noqa: E402
import emit_dense  # noqa: E402

LOOPDIR = os.path.normpath(os.path.join(HERE, "..", "loopdiff"))
sys.path.insert(0, LOOPDIR)
import gen_loop  # noqa: E402

SKIPPED = 77  # ctest's SKIP_RETURN_CODE
LOOP_CORPUS = os.path.join(LOOPDIR, "corpus")
LOOP_MODE = False  # --loop (signature() blurs the loop scenarios' names)

DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "corpus"))
CHUNK = 4000
RUNNER_TIMEOUT = 600


def split_traces(text):
    """{id: [lines]} and the ids in order."""
    traces, order = {}, []
    cur = None
    for line in text.splitlines():
        if line.startswith("=== "):
            cur = line[4:]
            order.append(cur)
            traces[cur] = [line]
        elif cur is not None:
            traces[cur].append(line)
    return traces, order


class Env:
    def __init__(self, runner, python, verbose, wrap=(), loop=False, kinds="stackful",
                 dense_cc=None, dense_cache=None):
        self.runner = runner
        self.kinds = kinds            # stackful, dense or mixed (emit_dense.py)
        self.dense_cc = dense_cc      # dense_cc.json: how to compile a batch
        self.dense_cache = dense_cache
        self.skips = {}               # reason -> count (emit_dense.assign_kinds)
        self.compile_s = 0.0          # time spent compiling stackless batches
        self.wrap = list(wrap)
        self.python = python
        self.verbose = verbose
        self.loop = loop
        self.oracle = os.path.join(LOOPDIR, "oracle_loop.py") if loop else os.path.join(HERE, "oracle.py")
        out = subprocess.run([python, self.oracle, "--version"],
                             stdout=subprocess.PIPE, universal_newlines=True, check=True)
        self.pyver = tuple(int(x) for x in out.stdout.split("."))
        self.full = self.pyver >= (3, 13)
        self.features = frozenset()
        self.cache = None
        if loop:
            out = subprocess.run([runner, "--features"], stdout=subprocess.PIPE,
                                 universal_newlines=True, check=True)
            self.features = frozenset(out.stdout.split())

    def describe(self):
        if self.kinds != "stackful" and not self.loop:
            return "CPython %d.%d (%s mode) at %s; generators: %s" % (
                self.pyver[0], self.pyver[1], "full" if self.full else "3.11-compat",
                self.python, self.kinds)
        if self.loop:
            return "CPython %d.%d at %s; runner features: %s" % (
                self.pyver[0], self.pyver[1], self.python, " ".join(sorted(self.features)) or "none")
        return "CPython %d.%d (%s mode) at %s" % (
            self.pyver[0], self.pyver[1], "full" if self.full else "3.11-compat", self.python)

    # -- running batches --

    def start_oracle(self, path):
        args = [self.python, self.oracle, path]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True)

    def assign(self, forms):
        """forms with the kinds of --kinds (emit_dense.assign_kinds): the
        ones to run, the reasons of what was skipped counted in self.skips."""
        kept = []
        for f in forms:
            g, reasons = emit_dense.assign_kinds(f, self.kinds)
            for r in reasons:
                self.skips[r] = self.skips.get(r, 0) + 1
            if g is not None:
                kept.append(g)
        return kept

    def skip_lines(self):
        return ["  skipped %5d  %s" % (n, r) for r, n in sorted(self.skips.items())]

    def runner_for(self, forms, cache):
        """The runner binary for a batch: --runner, or with stackless
        generators a variant compiled from the batch (emit_dense.py).
        Returns (path, directory to remove afterwards or None)."""
        if not any(emit_dense.stored_kinds(f) for f in forms):
            return self.runner, None
        if not self.dense_cc:
            raise RuntimeError("stackless generators in the batch but no --dense-cc")
        exe, dt = emit_dense.build_runner(emit_dense.emit(forms), self.dense_cc,
                                          self.dense_cache if cache else None)
        self.compile_s += dt
        return exe, (None if cache and self.dense_cache else os.path.dirname(exe))

    def run_runner(self, forms, full, cache=False):
        """Runs the C runner over forms. Returns ({id: trace}, {id: problem})
        where a problem is "crash: ..." or "leak: ...". A crash or hang ends
        the batch, so the rest is run again after the culprit."""
        forms = [emit_dense.normalize(f) for f in forms]
        runner, tmpdir = self.runner_for(forms, cache)
        try:
            return self._run_runner(runner, forms, full)
        finally:
            if tmpdir:
                import shutil
                shutil.rmtree(tmpdir, ignore_errors=True)

    def _run_runner(self, runner, forms, full):
        traces, problems = {}, {}
        todo = list(forms)
        while todo:
            with tempfile.NamedTemporaryFile("w", suffix=".scn", delete=False) as f:
                for x in todo:
                    f.write(S.fmt(x) + "\n")
                path = f.name
            args = self.wrap + [runner] + ([] if full or self.loop else ["-c"]) + [path]
            try:
                p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   universal_newlines=True, errors="replace",
                                   timeout=RUNNER_TIMEOUT)
                rc, out, err = p.returncode, p.stdout, p.stderr
            except subprocess.TimeoutExpired as e:
                rc = "timeout"
                out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
                err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
            finally:
                os.unlink(path)
            got, order = split_traces(out)
            for line in err.splitlines():
                if line.startswith("LEAK "):
                    sid = line[5:].split(":", 1)[0]
                    problems[sid] = "leak:" + line.split(":", 1)[1]
            if rc in (0, 3):
                traces.update(got)
                break
            # crashed or hung: the scenario after the last complete trace
            done = len(order)  # traces are written whole, after each scenario
            if done >= len(todo):
                # every trace is there, but the runner failed at the end
                # (e.g. under valgrind --error-exitcode): blame the last one
                done = len(todo) - 1
                got.pop(S.scn_id(todo[done]), None)
            for x in todo[:done]:
                sid = S.scn_id(x)
                if sid in got:
                    traces[sid] = got[sid]
            culprit = todo[done]
            sid = S.scn_id(culprit)
            tail = "\n".join(err.splitlines()[-12:])
            problems[sid] = "crash: runner exit %s\n%s" % (rc, tail)
            traces[sid] = got.get(sid, ["=== " + sid]) + ["!!! runner died: exit %s" % rc]
            todo = todo[done + 1:]
        return traces, problems

    def run_oracle(self, forms):
        with tempfile.NamedTemporaryFile("w", suffix=".scn", delete=False) as f:
            for x in forms:
                f.write(S.fmt(x) + "\n")
            path = f.name
        try:
            p = self.start_oracle(path)
            out, err = p.communicate()
        finally:
            os.unlink(path)
        if p.returncode != 0:
            raise RuntimeError("oracle failed (exit %d):\n%s" % (p.returncode, err[-3000:]))
        return split_traces(out)[0]

    def cache_path(self, text):
        """Where the oracle's output for batch `text` is kept (--oracle-cache):
        a function of the batch, the oracle's sources and its version."""
        import hashlib
        h = hashlib.sha256()
        for src in (self.oracle, os.path.join(HERE, "scn.py")):
            with open(src, "rb") as f:
                h.update(f.read())
        h.update(("%r\n" % (self.pyver,)).encode())
        h.update(text.encode())
        return os.path.join(self.cache, h.hexdigest()[:32] + ".trace")

    def run_both(self, forms, full=None, cache=False):
        """Runs oracle and runner side by side. Returns {id: (kind, oracle
        trace, runner trace, detail)} for each divergent scenario. cache:
        the oracle's output may come from (and goes to) --oracle-cache."""
        if full is None:
            full = self.full
        text = "".join(S.fmt(x) + "\n" for x in forms)
        cpath = self.cache_path(text) if cache and self.cache else None
        oout = None
        if cpath and os.path.exists(cpath):
            with open(cpath) as f:
                oout = f.read()
        with tempfile.NamedTemporaryFile("w", suffix=".scn", delete=False) as f:
            f.write(text)
            path = f.name
        try:
            oracle = self.start_oracle(path) if oout is None else None
            rtraces, problems = self.run_runner(forms, full, cache)
            if oracle:
                oout, oerr = oracle.communicate()
        finally:
            os.unlink(path)
        if oracle and oracle.returncode != 0:
            raise RuntimeError("oracle failed (exit %d):\n%s" % (oracle.returncode, oerr[-3000:]))
        if oracle and cpath:
            os.makedirs(self.cache, exist_ok=True)
            with open(cpath + ".tmp%d" % os.getpid(), "w") as f:
                f.write(oout)
            os.replace(cpath + ".tmp%d" % os.getpid(), cpath)
        otraces = split_traces(oout)[0]
        bad = {}
        for x in forms:
            sid = S.scn_id(x)
            o = otraces.get(sid, ["=== " + sid, "!!! no oracle trace"])
            r = rtraces.get(sid, ["=== " + sid, "!!! no runner trace"])
            prob = problems.get(sid)
            if prob and prob.startswith("crash"):
                bad[sid] = ("crash", o, r, prob)
            elif o != r and known_difference(x, o, r):
                bad[sid] = ("known", o, r, first_difference(o, r))
            elif o != r:
                bad[sid] = ("diff", o, r, first_difference(o, r))
            elif prob:
                bad[sid] = ("leak", o, r, prob)
        return bad


def known_difference(form, o, r):
    """A divergence yieldc documents (docs/loop.md, "Where yieldc differs"):
    the oracle's first differing line shows an exception in a reference
    cycle (CPython makes context cycles that its garbage collector frees;
    yieldc refuses the link), or the scenario is flagged `known` (its
    comment says why). Counted and listed apart, not failures."""
    for i in range(max(len(o), len(r))):
        x = o[i] if i < len(o) else ""
        y = r[i] if i < len(r) else ""
        if x != y:
            return x.endswith(" {cycle}") or "known" in S.scn_flags(form)
    return False


def first_difference(a, b):
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end>"
        y = b[i] if i < len(b) else "<end>"
        if x != y:
            return "line %d: CPython %r, yieldc %r" % (i + 1, x, y)
    return "no difference"


# ---- shrinking --------------------------------------------------------------


def _blocks(form):
    """Every (list, index) position of a step inside form, depth first,
    larger structures first."""
    out = []

    def walk_block(lst, start):
        for i in range(start, len(lst)):
            out.append((lst, i))
        for i in range(start, len(lst)):
            walk_step(lst[i])

    def walk_step(s):
        if not isinstance(s, list) or not s:
            return
        k = s[0]
        if k == "try":
            walk_block(s[1], 0)
            for c in s[2:]:
                walk_block(c, 2)
        elif k in ("loop", "with", "stack"):
            walk_block(s, 2)

    for part in form[2:]:
        if part[0] in ("gen", "cm"):
            walk_block(part, 2)
    return out


def _refs(step, name):
    if not isinstance(step, list):
        return False
    if step and step[0] in ("yf", "state") and step[1] == name:
        return True
    if step and step[0] == "call" and step[2] == name:
        return True
    return any(_refs(x, name) for x in step[1:] if isinstance(x, list))


def _drop_refs(form, name):
    def clean(lst, start):
        keep = lst[:start]
        for s in lst[start:]:
            if _refs_direct(s, name):
                continue
            keep.append(clean_step(s))
        return keep

    def clean_step(s):
        if not isinstance(s, list) or not s:
            return s
        if s[0] == "try":
            return ["try", clean(s[1], 0)] + [clean(c, 2) for c in s[2:]]
        if s[0] in ("loop", "with", "stack"):
            return clean(s, 2)
        return s

    out = form[:2]
    for part in form[2:]:
        if part[0] in ("gen", "list") and part[1] == name:
            continue
        if part[0] in ("gen", "cm"):
            out.append(clean(part, 2))
        elif part[0] == "ops":
            out.append(["ops"] + [op for op in part[1:] if op[1] != name])
        else:
            out.append(part)
    return out


def _refs_direct(s, name):
    return (isinstance(s, list) and s and (
        (s[0] in ("yf", "state") and s[1] == name) or (s[0] == "call" and s[2] == name)))


def candidates(form):
    """Smaller variants of form, biggest cuts first."""
    import copy
    out = []
    gens, lists, ops = S.scn_parts(form)
    for n in [n for n, _ in gens] + [n for n, _ in lists]:
        out.append(_drop_refs(form, n))
    opsi = [i for i, p in enumerate(form) if isinstance(p, list) and p and p[0] == "ops"]
    for i in range(1, len(form[opsi[0]]) if opsi else 1):
        f = copy.deepcopy(form)
        del f[opsi[0]][i]
        out.append(f)

    def variant(k, edit):
        f = copy.deepcopy(form)
        lst, i = _blocks(f)[k]
        edit(lst, i)
        out.append(f)

    for k, (lst, i) in enumerate(_blocks(form)):
        s = lst[i]
        variant(k, lambda l, j: l.__delitem__(j))
        if isinstance(s, list) and s and s[0] in ("with", "stack"):
            variant(k, lambda l, j: l.__setitem__(slice(j, j + 1), l[j][2:]))  # unwrap
            if s[0] == "stack":
                for c in range(len(s[1])):
                    variant(k, lambda l, j, c=c: l[j][1].__delitem__(c))
            continue
        if not (isinstance(s, list) and s and s[0] in ("try", "loop")):
            continue
        if s[0] == "try":
            variant(k, lambda l, j: l.__setitem__(slice(j, j + 1), l[j][1]))
            for c in range(2, len(s)):
                variant(k, lambda l, j, c=c: l[j].__delitem__(c))
        else:
            variant(k, lambda l, j: l.__setitem__(slice(j, j + 1), l[j][2:]))
            if s[1] > 1:
                variant(k, lambda l, j: l[j].__setitem__(1, l[j][1] - 1))
    return out


# ---- shrinking loop scenarios ------------------------------------------------

LOOP_REFS = ("spawn", "await", "cancel", "uncancel", "cancelling", "state", "result",
             "exception", "wait_for", "shield", "anext", "athrow", "aclose", "astate")


def _loop_positions(form):
    """Every (list, index) position of a step of a loop scenario, outer
    ones first."""
    out = []

    def walk(lst, start):
        for i in range(start, len(lst)):
            out.append((lst, i))
        for i in range(start, len(lst)):
            step(lst[i])

    def step(s):
        if not isinstance(s, list) or not s:
            return
        if s[0] == "try":
            walk(s[1], 0)
            for c in s[2:]:
                walk(c, 2)
        elif s[0] in ("timeout", "timeout_at"):
            walk(s, 3)

    for part in form[2:]:
        if part[0] == "main":
            walk(part, 1)
        elif part[0] in ("task", "agen"):
            walk(part, 2)
    return out


def _loop_drop(form, name):
    """form without the definition of task/agen `name` and the steps that
    name it."""
    def clean(lst, start):
        keep = lst[:start]
        for s in lst[start:]:
            if isinstance(s, list) and s and s[0] in LOOP_REFS and s[1] == name:
                continue
            keep.append(clean_step(s))
        return keep

    def clean_step(s):
        if not isinstance(s, list) or not s:
            return s
        if s[0] == "try":
            return ["try", clean(s[1], 0)] + [clean(c, 2) for c in s[2:]]
        if s[0] in ("timeout", "timeout_at"):
            return clean(s, 3)
        if s[0] == "gather":
            return s[:2] + [[x for x in s[2] if x != name]] + s[3:]
        if s[0] in ("wait", "as_completed"):
            return s[:1] + [[x for x in s[1] if x != name]] + s[2:]
        return s

    out = form[:2]
    for part in form[2:]:
        if part[0] in ("task", "agen") and part[1] == name:
            continue
        if part[0] == "main":
            out.append(clean(part, 1))
        elif part[0] in ("task", "agen"):
            out.append(clean(part, 2))
        else:
            out.append(part)
    return out


def loop_candidates(form):
    """Smaller variants of a loop scenario, biggest cuts first."""
    import copy
    out = []
    for part in form[2:]:
        if part[0] in ("task", "agen"):
            out.append(_loop_drop(form, part[1]))

    def variant(k, edit):
        f = copy.deepcopy(form)
        lst, i = _loop_positions(f)[k]
        edit(lst, i)
        out.append(f)

    for k, (lst, i) in enumerate(_loop_positions(form)):
        s = lst[i]
        variant(k, lambda l, j: l.__delitem__(j))
        if not isinstance(s, list) or not s:
            continue
        if s[0] == "try":
            variant(k, lambda l, j: l.__setitem__(slice(j, j + 1), l[j][1]))
            for c in range(2, len(s)):
                variant(k, lambda l, j, c=c: l[j].__delitem__(c))
        elif s[0] in ("timeout", "timeout_at"):
            variant(k, lambda l, j: l.__setitem__(slice(j, j + 1), l[j][3:]))
        elif s[0] == "gather":
            for c in range(len(s[2])):
                variant(k, lambda l, j, c=c: l[j][2].__delitem__(c))
            if len(s) > 3:
                variant(k, lambda l, j: l[j].__delitem__(3))
        elif s[0] in ("wait", "as_completed"):
            for c in range(len(s[1])):
                variant(k, lambda l, j, c=c: l[j][1].__delitem__(c))
        elif s[0] in ("spawn", "cancel") and len(s) > 2:
            variant(k, lambda l, j: l[j].__delitem__(2))
    return out


def size(form):
    if isinstance(form, list):
        return 1 + sum(size(x) for x in form)
    return 1


def shrink(env, form, sig, full, log):
    """Greedy: the first smaller candidate that still diverges the same way
    (same signature), until none does."""
    sid = S.scn_id(form)
    rounds = 0
    while True:
        rounds += 1
        cands = [c for c in (loop_candidates(form) if env.loop else candidates(form))
                 if size(c) < size(form)]
        if not cands:
            break
        batch = []
        for i, c in enumerate(cands):
            c = list(c)
            c[1] = "shrink-%d" % i
            batch.append(c)
        bad = env.run_both(batch, full)
        better = None
        for c in batch:
            got = bad.get(S.scn_id(c))
            if got and signature(*got) == sig:
                # the generator test takes the first (biggest cut); the
                # loop test the smallest of the whole round (its oracle is
                # slower, so fewer rounds)
                if better is None or (env.loop and size(c) < size(better)):
                    better = c
                if not env.loop:
                    break
        if better is None:
            break
        form = better
        log("    shrink round %d: size %d" % (rounds, size(form)))
    form = list(form)
    form[1] = sid
    return form


# ---- reporting -------------------------------------------------------------


def save_repro(path, form, kind, o, r, detail, header):
    lines = ["; " + h for h in header]
    lines.append("; kind: %s" % kind)
    for d in detail.splitlines():
        lines.append(";   " + d)
    lines.append("; --- CPython trace")
    lines += [";   " + x for x in o]
    lines.append("; --- yieldc trace")
    lines += [";   " + x for x in r]
    lines.append(S.fmt_pretty(form))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def show(kind, sid, o, r, detail, out=sys.stdout):
    out.write("DIVERGENCE (%s) in %s: %s\n" % (kind, sid, detail.splitlines()[0] if detail else ""))
    if kind != "leak":
        import difflib
        left = "CPython 3.13 (stored)" if kind == "expected" else "CPython"
        for line in difflib.unified_diff(o, r, left, "yieldc", lineterm="", n=2):
            out.write("    " + line + "\n")
    else:
        out.write("    " + detail + "\n")


# ---- modes -------------------------------------------------------------------


def signature(kind, o, r, detail):
    """What makes two divergences "the same" for reporting: the kind and the
    first differing lines with numbers and instance names blurred."""
    import re
    if kind != "diff":
        return (kind,)
    for i in range(max(len(o), len(r))):
        x = o[i] if i < len(o) else "<end>"
        y = r[i] if i < len(r) else "<end>"
        if x != y:
            def blur(t):
                t = re.sub(r"-?\d+", "N", t)
                if LOOP_MODE:
                    t = re.sub(r"\b(t|m|e)N\b", "N", t)
                    return re.sub(r"\b([a-f]|main|[pq]|[A-P])\b", "G", t)
                return re.sub(r"\b[a-f]\b", "G", t)
            return (kind, blur(x), blur(y))
    return (kind,)


def cmd_random(env, seed, n, save_dir, do_shrink, max_report, with_stream=False):
    t0 = time.time()
    nbad = nknown = nskip = 0
    groups = {}  # signature -> [count, first id, saved path]
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        if env.loop:
            forms = [gen_loop.scenario(seed, i, env.features) for i in range(start, start + count)]
        else:
            make = gen_scenarios.scenario_with if with_stream else gen_scenarios.scenario
            forms = env.assign([make(seed, i) for i in range(start, start + count)])
            nskip += count - len(forms)
        bad = env.run_both(forms, cache=True)
        for x in forms:
            sid = S.scn_id(x)
            if sid not in bad:
                continue
            if bad[sid][0] == "known":
                nknown += 1
                continue
            nbad += 1
            kind, o, r, detail = bad[sid]
            sig = signature(kind, o, r, detail)
            if sig in groups:
                groups[sig][0] += 1
                continue
            groups[sig] = [1, sid, None]
            if len(groups) > max_report:
                continue
            show(kind, sid, o, r, detail)
            if save_dir and do_shrink:
                small = shrink(env, x, sig, env.full, print)
                got = env.run_both([small]).get(sid) or (kind, o, r, detail)
                idx = sid.rsplit("-", 1)[1]
                path = os.path.join(save_dir, "divergence-%s%s%d-%s.scn"
                                    % ("loop-" if env.loop else "with-" if with_stream else "",
                                       "" if env.kinds == "stackful" else env.kinds + "-",
                                       seed, idx))
                save_repro(path, small, got[0], got[1], got[2], got[3], [
                    "Divergence found by difftest.py random %d (scenario %s), shrunk." % (seed, idx),
                    "Oracle: " + env.describe() + ".",
                ])
                groups[sig][2] = path
                print("    saved %s (size %d -> %d)" % (os.path.relpath(path), size(x), size(small)))
    dt = time.time() - t0
    for line in env.skip_lines():
        print(line)
    if groups:
        print("divergences by kind (count, first scenario, reproducer):")
        for sig, (cnt, sid, path) in sorted(groups.items(), key=lambda kv: -kv[1][0]):
            print("  %5d  %-14s %s  %s" % (cnt, sid, path and os.path.relpath(path) or "-",
                                         " | ".join(sig)))
    print("random: seed %d, %d scenarios, %d divergent, %d known differences (context "
          "cycles), %.1f s (%.0f scenarios/s)%s; oracle %s"
          % (seed, n, nbad, nknown, dt, n / dt if dt else 0, compile_note(env), env.describe()))
    print(closing(n - nbad - nskip, nbad, nskip))
    return 1 if nbad else 0


def compile_note(env):
    if env.kinds == "stackful":
        return ""
    return ", %.1f s of it compiling stackless bodies" % env.compile_s


def closing(passed, failed, skipped):
    """The closing line; skipped scenarios (emit_dense: what the stackless
    kind cannot express by design) are counted, never silent."""
    if skipped:
        return "%d passed, %d failed, %d skipped" % (passed, failed, skipped)
    return "%d passed, %d failed" % (passed, failed)


def corpus_files(paths):
    files = []
    for p in paths or [LOOP_CORPUS if LOOP_MODE else DEFAULT_CORPUS]:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".scn"))
        else:
            files.append(p)
    return files


def cmd_corpus(env, paths):
    t0 = time.time()
    entries = []  # (file, form, expected)
    for path in corpus_files(paths):
        with open(path) as f:
            for form, exp in S.parse_file_with_expect(f.read()):
                entries.append((path, form, exp))
    ids = [S.scn_id(f) for _, f, _ in entries]
    dup = {x for x in ids if ids.count(x) > 1}
    nall = len(entries)
    if not env.loop:
        kinds = {}
        for p, f, e in entries:
            g = env.assign([f])
            if g:
                kinds[id(f)] = (p, g[0], e)
        entries = [kinds[id(f)] for _, f, _ in entries if id(f) in kinds]
    if dup:
        print("corpus: duplicate scenario ids: %s" % ", ".join(sorted(dup)))
        return 2
    # loop scenarios flagged with an optional feature (taskgroup, queue,
    # ...) the library does not have yet are skipped, and said so
    def lacks(f):
        return S.scn_flags(f) - env.features - {"known"}
    unsupported = [f for _, f, _ in entries if env.loop and lacks(f)]
    if unsupported:
        missing = sorted(set().union(*(lacks(f) for f in unsupported)))
        print("corpus: %d scenarios skipped: the runner lacks %s (not in the library yet)"
              % (len(unsupported), ", ".join(missing)))
        entries = [e for e in entries if e[1] not in unsupported]
    plain = [f for _, f, _ in entries if "v313" not in S.scn_flags(f) or env.full]
    v313 = [f for _, f, _ in entries if "v313" in S.scn_flags(f) and not env.full]
    bad = env.run_both(plain, cache=True) if plain else {}
    failed = set()
    where = {S.scn_id(f): p for p, f, _ in entries}
    known = []
    for sid in [S.scn_id(f) for f in plain]:
        if sid in bad:
            kind, o, r, detail = bad[sid]
            if kind == "known":
                known.append(sid)
                continue
            failed.add(sid)
            print("%s:" % os.path.relpath(where[sid]))
            show(kind, sid, o, r, detail)
    if known:
        print("corpus: %d known differences (docs/loop.md): %s" % (len(known), " ".join(known)))
    # expected traces: checked against the runner in full mode (and, for
    # scenarios that do not depend on the version, the oracle agrees anyway)
    with_exp = [(f, e) for _, f, e in entries if e is not None]
    if with_exp:
        full_traces, problems = env.run_runner([f for f, _ in with_exp], True, True)
        for f, e in with_exp:
            sid = S.scn_id(f)
            r = full_traces.get(sid, [])
            exp = ["=== " + sid] + e if e and not e[0].startswith("=== ") else e
            if r != exp:
                failed.add(sid)
                print("%s:" % os.path.relpath(where[sid]))
                show("expected", sid, exp, r, first_difference(exp, r))
            elif sid in problems:
                failed.add(sid)
                print("%s:" % os.path.relpath(where[sid]))
                show("leak", sid, exp, r, problems[sid])
    missing = [S.scn_id(f) for f in v313 if all(S.scn_id(f) != S.scn_id(g) for g, _ in with_exp)]
    for sid in missing:
        failed.add(sid)
        print("%s: %s is flagged v313 but has no expected trace" % (where[sid], sid))
    n = len(entries)
    nfail = len(failed)
    dt = time.time() - t0
    for line in env.skip_lines():
        print(line)
    print("corpus: %d scenarios in %d files (%d checked against stored 3.13 traces), "
          "%d failed, %d skipped, %.1f s%s; oracle %s"
          % (nall, len(corpus_files(paths)), len(with_exp), nfail, nall - n, dt,
             compile_note(env), env.describe()))
    print(closing(n - nfail, nfail, nall - n))
    return 1 if nfail else 0


def cmd_file(env, paths):
    forms = []
    for p in paths:
        with open(p) as f:
            forms += S.parse_forms(f.read())
    nall = len(forms)
    forms = env.assign(forms)
    bad = env.run_both(forms)
    for x in forms:
        sid = S.scn_id(x)
        if sid in bad:
            show(bad[sid][0], sid, bad[sid][1], bad[sid][2], bad[sid][3])
    for line in env.skip_lines():
        print(line)
    print(closing(len(forms) - len(bad), len(bad), nall - len(forms)))
    return 1 if bad else 0


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runner", required=True, help="the C runner binary")
    ap.add_argument("--python", default=os.environ.get("YC_ORACLE_PYTHON", "/usr/bin/python3"),
                    help="the oracle interpreter (default /usr/bin/python3, or $YC_ORACLE_PYTHON)")
    ap.add_argument("--save", default=DEFAULT_CORPUS, help="where reproducers go (random)")
    ap.add_argument("--no-save", action="store_true", help="report divergences without shrinking")
    ap.add_argument("--max-report", type=int, default=20,
                    help="show, shrink and save at most this many divergences")
    ap.add_argument("--runner-wrap", default="",
                    help='a command prefix for the runner, e.g. "valgrind -q --error-exitcode=99"')
    ap.add_argument("--with", dest="with_stream", action="store_true",
                    help="random: the section 9 stream (with blocks, context managers)")
    ap.add_argument("--loop", action="store_true",
                    help="the event loop test (../loopdiff): needs a CPython 3.13+ --python")
    ap.add_argument("--full-only", action="store_true",
                    help="skip (exit 77, with the reason) unless --python is CPython 3.13+ "
                         "(the _py313 tests, registered also where no 3.13 was found)")
    ap.add_argument("--oracle-cache", default="",
                    help="--loop: keep the oracle's traces of random and corpus batches in this "
                         "directory (make test's configurations share them)")
    ap.add_argument("--kinds", choices=["stackful", "dense", "mixed"], default="stackful",
                    help="which generators are stackless (emit_dense.py): none, all, or drawn "
                         "per generator from the scenario's id (a stored `dense` part wins)")
    ap.add_argument("--dense-cc", default="",
                    help="--kinds dense/mixed: dense_cc.json of the build (how to compile a "
                         "batch of stackless bodies)")
    ap.add_argument("--dense-cache", default="",
                    help="keep compiled stackless runners here, by content hash")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("mode", choices=["random", "corpus", "file"])
    ap.add_argument("args", nargs="*")
    a = ap.parse_args(argv)
    if not os.access(a.runner, os.X_OK):
        print("difftest: runner %s is not executable" % a.runner)
        return 2
    import shlex
    global LOOP_MODE
    LOOP_MODE = a.loop
    if a.kinds != "stackful" and (a.loop or a.with_stream):
        print("difftest: --kinds is for the generator scenarios (not --loop or --with)")
        return 2
    env = Env(os.path.abspath(a.runner), a.python, a.verbose, shlex.split(a.runner_wrap), a.loop,
              a.kinds, a.dense_cc or None, a.dense_cache or None)
    if a.full_only and not env.full:
        print("SKIPPED: this test compares with CPython 3.13+ (full mode); %s is %d.%d "
              "(configure with -DYC_DIFF_PYTHON313=/path/to/python3.13)"
              % ((a.python,) + env.pyver[:2]))
        return SKIPPED
    if a.loop and not env.full:
        print("SKIPPED: the event loop differential test needs CPython 3.13+ as the oracle; "
              "%s is %d.%d (give --python or $YC_ORACLE_PYTHON)" % ((a.python,) + env.pyver[:2]))
        return SKIPPED
    env.cache = a.oracle_cache or None
    if a.loop and a.save == DEFAULT_CORPUS:
        a.save = LOOP_CORPUS
    if a.mode == "random":
        if len(a.args) != 2:
            print("usage: difftest.py --runner R random SEED N")
            return 2
        return cmd_random(env, int(a.args[0]), int(a.args[1]), a.save, not a.no_save,
                          a.max_report, a.with_stream)
    if a.mode == "corpus":
        return cmd_corpus(env, a.args)
    return cmd_file(env, a.args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
