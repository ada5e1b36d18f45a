#!/usr/bin/python3
"""CPython side of the differential test: runs scenarios with real generators.

    oracle.py [--compat|--full] [FILE...]     (stdin when no FILE)

Each generator of a scenario becomes a real generator function, generated
as Python source (real try/except/finally, for loops, yield, yield from)
and exec'd; then the scenario's operations are performed on the instances
and the trace is printed. The trace format is described in README.md and is
produced identically by runner.c.

--compat (the default on Pythons before 3.13) neutralises the two places
where CPython 3.11 and 3.13 differ and yieldc follows 3.13:
  * close() returning the generator's return value [5.2]: close outcomes
    print as "ok" without the value;
  * throw(StopIteration) into a just-created generator [4.8]: skipped,
    printed as "skip";
  * throw(StopIteration) into a generator whose delegation chain ends in a
    subiterator without throw() (a list iterator): 3.12+ let the
    StopIteration complete the innermost `yield from` with its value, 3.11
    raises it there (PEP 479 then makes it a RuntimeError). Skipped too;
  * a CPython 3.11 bug, fixed in 3.12: a throw() that reaches, down a
    delegation chain, a generator that is running because a delegated
    throw()/close() is under way in it pops that generator's subiterator
    off its frame (later states are wrong, even SystemError). Such throws
    are skipped; see mark_chain.
--full (the default on 3.13+) prints and performs both.

Section 9: a `cm` part becomes a @contextlib.contextmanager function, a
`with` step a with statement over a fresh call of it, and a `stack` step a
with statement over a contextlib.ExitStack (enter_context, callback, push).
"""

import contextlib
import gc
import inspect
import sys
import os

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scn as S  # noqa: E402


class UserError(Exception):
    pass


TYPES = {
    "BaseException": BaseException,
    "Exception": Exception,
    "ValueError": ValueError,
    "KeyError": KeyError,
    "LookupError": LookupError,
    "TypeError": TypeError,
    "RuntimeError": RuntimeError,
    "StopIteration": StopIteration,
    "GeneratorExit": GeneratorExit,
    "KeyboardInterrupt": KeyboardInterrupt,
    "AttributeError": AttributeError,
    "UserError": UserError,
}

STATE_LETTER = {
    inspect.GEN_CREATED: "C",
    inspect.GEN_RUNNING: "R",
    inspect.GEN_SUSPENDED: "S",
    inspect.GEN_CLOSED: "X",
}

CHAIN_DEPTH = 4


def fv(v):
    return "None" if v is None else str(v)


def fx(e, depth=0):
    """An exception with its cause and context chain, as runner.c prints it."""
    if e is None:
        return "None"
    name = type(e).__name__
    if isinstance(e, StopIteration):
        s = "%s(%s)" % (name, fv(e.value))
    else:
        msg = e.args[0] if e.args else ""
        s = "%s: %s" % (name, msg) if msg != "" else name
    if depth < CHAIN_DEPTH:
        if e.__cause__ is not None:
            s += " {cause: " + fx(e.__cause__, depth + 1) + "}"
        if e.__context__ is not None:
            s += " {ctx: " + fx(e.__context__, depth + 1) + "}"
    return s


def mkexc(tname, n):
    t = TYPES[tname]
    if t is StopIteration:
        return StopIteration(n)
    return t("e%d" % n)


class HarnessError(Exception):
    pass


# Section 9 follows 3.13's contextlib, which closes the generator after
# "generator didn't stop" and "generator didn't stop after throw()"
# (python-semantics.md 9.5, 9.6d); the contextlib of some 3.11 releases
# (Debian's 3.11.2) leaves it suspended. On those, the oracle's managers
# add the close as 3.13 does: while the RuntimeError is being handled, the
# close's own error replacing it.
_DIDNT_STOP = ("generator didn't stop", "generator didn't stop after throw()")
_CONTEXTLIB_CLOSES = "self.gen.close()" in inspect.getsource(
    contextlib._GeneratorContextManager.__exit__)


class _GeneratorContextManager313(contextlib._GeneratorContextManager):
    def __exit__(self, typ, value, traceback):
        try:
            return super().__exit__(typ, value, traceback)
        except RuntimeError as exc:
            if exc.args and exc.args[0] in _DIDNT_STOP and exc.__cause__ is None:
                self.gen.close()
            raise


def contextmanager(func):
    """contextlib.contextmanager, with 3.13's close on an older contextlib."""
    if _CONTEXTLIB_CLOSES:
        return contextlib.contextmanager(func)

    def helper(*args, **kwds):
        return _GeneratorContextManager313(func, args, kwds)
    return helper


class Run:
    """One scenario being executed."""

    def __init__(self, scn, compat):
        self.scn = scn
        self.compat = compat
        self.out = []
        self.dead = False
        self.tflag = set()  # see runner.c, mark_chain
        self.G = {}
        self.freed = set()
        self.gen_names = []
        self.list_names = []
        self.keep = []  # the managers of with and stack steps (KEEP)

    # -- helpers called from the generated code --

    def L(self, line):
        self.tflag.discard(line.split(" ", 1)[0])
        if not self.dead:
            self.out.append("  " + line)

    def obj(self, who, name):
        if name in self.freed:
            raise RuntimeError("harness: %s is freed" % name)
        return self.G[name]

    def state(self, name):
        g = self.G[name]
        if name in self.list_names:
            return "-"
        if name in self.freed:
            return "freed"
        st = STATE_LETTER[inspect.getgeneratorstate(g)]
        if st == "S":
            yf = g.gi_yieldfrom
            if yf is not None:
                st += "<" + self.name_of(yf)
        return st

    def name_of(self, o):
        for k, v in self.G.items():
            if v is o:
                return k
        return "[]"

    def do_op(self, op, target, args, call=None):
        """Performs one operation and returns its outcome text. For a call
        from inside a body (call = the log prefix), logs the outcome and lets
        an exception propagate: re-raised with a bare `raise` inside the
        except clause, so that its __context__ stays what CPython made it."""
        t = self.G[target]
        try:
            if op == "next":
                out = "yield " + fv(next(t))
            elif op == "send":
                out = "yield " + fv(t.send(args[0]))
            elif op == "throw":
                if self.compat and (
                        (args[0] == "StopIteration" and self.si_differs(t))
                        or self.throw_hits_flagged(target)):
                    out = "skip"
                else:
                    marked = self.mark_chain(target)
                    try:
                        out = "yield " + fv(t.throw(mkexc(args[0], args[1])))
                    finally:
                        self.tflag -= marked
            elif op == "close":
                marked = self.mark_chain(target)
                try:
                    r = t.close()
                finally:
                    self.tflag -= marked
                out = "ok" if self.compat else "ok " + fv(r)
            else:
                raise HarnessError("bad op " + op)
        except StopIteration as e:
            if call is None:
                return "return " + fv(e.value)
            self.L(call + " -> return " + fv(e.value))
            raise
        except HarnessError:
            raise
        except BaseException as e:  # noqa: B902 (the point is to see them all)
            if call is None:
                return "raise " + fx(e)
            self.L(call + " -> raise " + fx(e))
            raise
        if call is not None:
            self.L(call + " -> " + out)
        return out

    def mark_chain(self, name):
        """As runner.c's mark_chain: flags the delegating generators of the
        chain from `name` before a throw or close; returns those flagged.
        CPython 3.11 corrupts a generator thrown into while a delegated
        throw/close is under way in it (fixed in 3.12): compat mode skips
        those throws."""
        marked = set()
        while name in self.gen_names and name not in self.freed:
            g = self.G[name]
            if inspect.getgeneratorstate(g) != inspect.GEN_SUSPENDED or g.gi_yieldfrom is None:
                break
            if name not in self.tflag:
                self.tflag.add(name)
                marked.add(name)
            name = self.name_of(g.gi_yieldfrom)
        return marked

    def throw_hits_flagged(self, name):
        """Whether a throw into `name` reaches, down its delegation chain, a
        running generator flagged by mark_chain (the 3.11 bug)."""
        while name in self.gen_names and name not in self.freed:
            g = self.G[name]
            st = inspect.getgeneratorstate(g)
            if st == inspect.GEN_RUNNING:
                return name in self.tflag
            if st != inspect.GEN_SUSPENDED or g.gi_yieldfrom is None:
                return False
            name = self.name_of(g.gi_yieldfrom)
        return False

    @staticmethod
    def si_differs(g):
        """Whether throw(StopIteration) into g is one of the 3.11/3.13
        differences (see the module's doc)."""
        st = inspect.getgeneratorstate(g)
        if st == inspect.GEN_CREATED:
            return True
        while st == inspect.GEN_SUSPENDED and g.gi_yieldfrom is not None:
            g = g.gi_yieldfrom
            if not inspect.isgenerator(g):
                return True
            st = inspect.getgeneratorstate(g)
        return False

    def CALL(self, who, op, target, *args):
        desc = "%s call %s %s" % (who, op, target)
        if target in self.freed:
            self.L(desc + " -> freed")
            raise RuntimeError("harness: %s is freed" % target)
        self.do_op(op, target, args, call=desc)

    def KEEP(self, cm):
        # Keeps a manager alive to the end of the scenario: a generator of
        # its still suspended is finalised after the trace, silently, as in
        # runner.c (cm_rec), not whenever its last reference happens to go.
        self.keep.append(cm)
        return cm

    def CB(self, who, n, tname):
        """A callback registered by a stack step."""
        def cb():
            self.L("%s cb %d" % (who, n))
            if tname is not None:
                raise mkexc(tname, n)
        return cb

    def PUSH(self, who, n, suppress):
        """An exit function registered by a stack step."""
        def exit_fn(typ, exc, tb):
            self.L("%s push %d %s" % (who, n, fx(exc)))
            return bool(suppress)
        return exit_fn

    def INFO(self, who):
        self.L("%s info %s" % (who, fx(sys.exc_info()[1])))

    def STATE(self, who, target):
        self.L("%s state %s=%s" % (who, target, self.state(target)))

    # -- building and running --

    def build(self):
        gens, lists, ops = S.scn_parts(self.scn)
        cms = [(x[1], x[2:]) for x in self.scn[2:] if x[0] == "cm"]
        self.cm_names = [n for n, _ in cms]
        src = []
        for name, steps in cms:
            src.append("@contextmanager")
            src.append("def _cm_%s():" % name)
            src.append("    L(%r)" % (name + " start"))
            src.append("    if False: yield")
            Emit(src, name, [n for n, _ in lists], self.cm_names).block(steps, 1)
        for name, steps in gens:
            src.append("def _gen_%s():" % name)
            src.append("    L(%r)" % (name + " start"))
            src.append("    if False: yield")
            Emit(src, name, [n for n, _ in lists], self.cm_names).block(steps, 1)
        ns = {
            "L": self.L,
            "CALL": self.CALL,
            "INFO": self.INFO,
            "STATE": self.STATE,
            "CB": self.CB,
            "KEEP": self.KEEP,
            "PUSH": self.PUSH,
            "contextmanager": contextmanager,
            "ExitStack": contextlib.ExitStack,
            "YF": self.obj,
            "fv": fv,
            "fx": fx,
        }
        ns.update(TYPES)
        code = compile("\n".join(src) + "\n", "<scenario %s>" % S.scn_id(self.scn), "exec")
        exec(code, ns)
        for x in self.scn[2:]:
            if x[0] == "gen":
                self.G[x[1]] = ns["_gen_" + x[1]]()
                self.gen_names.append(x[1])
            elif x[0] == "list":
                self.G[x[1]] = iter(list(x[2:]))
                self.list_names.append(x[1])
        return ops

    def states_line(self):
        return "  states" + "".join(" %s=%s" % (n, self.state(n)) for n in self.gen_names)

    def run(self):
        self.out.append("=== %s" % S.scn_id(self.scn))
        ops = self.build()
        for op in ops:
            kind, target, args = op[0], op[1], op[2:]
            if kind != "next" and target in self.list_names:
                raise S.ParseError("only next applies to a list")
            self.out.append("> " + S.fmt(op)[1:-1])
            out = self.do_op(kind, target, args)
            self.out.append("< " + out)
            self.out.append(self.states_line())
        # The end: free every generator, delegators before their
        # subiterators, else in declaration order (yc_gen_free closes a
        # suspended generator and reports a failure as unraisable).
        left = list(self.gen_names)
        while left:
            busy = set()
            for n in left:
                g = self.G[n]
                if inspect.getgeneratorstate(g) == inspect.GEN_SUSPENDED:
                    yf = g.gi_yieldfrom
                    if yf is not None:
                        busy.add(self.name_of(yf))
            pick = next((n for n in left if n not in busy), left[0])
            left.remove(pick)
            self.out.append("> free " + pick)
            g = self.G[pick]
            res = "ok"
            if inspect.getgeneratorstate(g) == inspect.GEN_SUSPENDED:
                try:
                    g.close()
                except BaseException as e:  # noqa: B902
                    res = "unraisable " + fx(e)
            self.freed.add(pick)
            self.out.append("< " + res)
        self.dead = True
        return self.out


class Emit:
    """Python source for one generator body."""

    def __init__(self, src, name, lists, cms=()):
        self.src = src
        self.n = name
        self.lists = lists
        self.cms = cms
        self.nwith = 0

    def w(self, depth, line):
        self.src.append("    " * depth + line)

    def block(self, steps, d, in_loop=False):
        if not steps:
            self.w(d, "pass")
        for s in steps:
            self.step(s, d, in_loop)

    def step(self, s, d, in_loop):
        n = self.n
        k = s[0]
        if k == "y":
            self.w(d, "L(%r + fv((yield %s)))" % (n + " got ", fv(s[1])))
        elif k == "ret":
            self.w(d, "return %s" % fv(s[1]))
        elif k == "raise":
            self.w(d, "raise " + self.exc(s[1], s[2]))
        elif k == "reraise":
            self.w(d, "raise")
        elif k == "try":
            self.w(d, "try:")
            self.block(s[1], d + 1, in_loop)
            has_clause = False
            for c in s[2:]:
                if c[0] == "exc":
                    self.w(d, "except %s as _e:" % c[1])
                    self.w(d + 1, "L(%r + fx(_e))" % (n + " caught "))
                    self.block(c[2:], d + 1, in_loop)
                    has_clause = True
                elif c[0] == "fin":
                    self.w(d, "finally:")
                    self.w(d + 1, "L(%r)" % ("%s fin %d" % (n, c[1])))
                    self.block(c[2:], d + 1, in_loop)
                    has_clause = True
            if not has_clause:
                self.w(d, "finally:")
                self.w(d + 1, "pass")
        elif k == "yf":
            self.w(d, "L(%r + fv((yield from YF(%r, %r))))" % ("%s yf %s = " % (n, s[1]), n, s[1]))
        elif k == "yfl":
            items = ", ".join(fv(x) for x in s[1:])
            self.w(d, "L(%r + fv((yield from iter([%s]))))" % (n + " yfl = ", items))
        elif k == "loop":
            self.w(d, "for _ in range(%d):" % s[1])
            self.block(s[2:], d + 1, True)
        elif k == "break":
            self.w(d, "break" if in_loop else "pass")
        elif k == "continue":
            self.w(d, "continue" if in_loop else "pass")
        elif k == "call":
            op, target, args = s[1], s[2], s[3:]
            if op not in ("next", "send", "throw", "close"):
                raise S.ParseError("unknown operation %r" % (op,))
            if op != "next" and target in self.lists:
                raise S.ParseError("only next applies to a list")
            if op == "send":
                a = ", " + fv(args[0])
            elif op == "throw":
                a = ", %r, %d" % (args[0], args[1])
            else:
                a = ""
            self.w(d, "CALL(%r, %r, %r%s)" % (n, op, target, a))
        elif k == "with":
            if s[1] not in self.cms:
                raise S.ParseError("with needs a cm, not %r" % (s[1],))
            self.nwith += 1
            v = "_w%d" % self.nwith
            self.w(d, "with KEEP(_cm_%s()) as %s:" % (s[1], v))
            self.w(d + 1, "L(%r + fv(%s))" % ("%s with %s = " % (n, s[1]), v))
            self.block(s[2:], d + 1, in_loop)
            self.w(d, "L(%r)" % ("%s with %s end" % (n, s[1])))
        elif k == "stack":
            self.nwith += 1
            v = "_s%d" % self.nwith
            self.w(d, "with ExitStack() as %s:" % v)
            self.w(d + 1, "L(%r)" % ("%s stack" % n))
            for it in s[1]:
                if it[0] == "enter":
                    if it[1] not in self.cms:
                        raise S.ParseError("enter needs a cm, not %r" % (it[1],))
                    self.w(d + 1, "L(%r + fv(%s.enter_context(KEEP(_cm_%s()))))"
                           % ("%s stack enter %s = " % (n, it[1]), v, it[1]))
                elif it[0] == "cb":
                    self.w(d + 1, "%s.callback(CB(%r, %d, None))" % (v, n, it[1]))
                elif it[0] == "cbraise":
                    self.w(d + 1, "%s.callback(CB(%r, %d, %r))" % (v, n, it[2], it[1]))
                elif it[0] == "push":
                    self.w(d + 1, "%s.push(PUSH(%r, %d, %d))" % (v, n, it[1], it[2]))
                else:
                    raise S.ParseError("unknown stack item %r" % (it[0],))
            self.block(s[2:], d + 1, in_loop)
            self.w(d, "L(%r)" % ("%s stack end" % n))
        elif k == "info":
            self.w(d, "INFO(%r)" % n)
        elif k == "state":
            self.w(d, "STATE(%r, %r)" % (n, s[1]))
        else:
            raise S.ParseError("unknown step %r" % (k,))

    @staticmethod
    def exc(tname, num):
        if tname == "StopIteration":
            return "StopIteration(%d)" % num
        return '%s("e%d")' % (tname, num)


def main(argv):
    compat = sys.version_info < (3, 13)
    files = []
    for a in argv:
        if a == "--compat":
            compat = True
        elif a == "--full":
            compat = False
        elif a == "--version":
            print("%d.%d" % sys.version_info[:2])
            return 0
        else:
            files.append(a)
    text = "".join(open(f).read() for f in files) if files else sys.stdin.read()
    # A generator left suspended at the end (it ignored GeneratorExit) is
    # finalised by CPython later; that must neither print nor run in the
    # middle of another scenario, so collect between scenarios only.
    sys.unraisablehook = lambda u: None
    gc.disable()
    forms = S.parse_forms(text)
    gc.freeze()  # the parsed batch is long-lived: keep it out of collections
    out = sys.stdout
    for i, form in enumerate(forms):
        try:
            lines = Run(form, compat).run()
        except (S.ParseError, HarnessError, KeyError, IndexError) as e:
            lines = ["=== %s" % S.scn_id(form), "! parse error: %s" % e]
        out.write("\n".join(lines) + "\n")
        if i % 64 == 63:
            gc.collect()
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
