#!/usr/bin/python3
"""Seeded random scenarios for the differential test.

    gen_scenarios.py SEED N [PREFIX]    prints N scenarios, one per line

Scenario i of seed s is a function of (s, i) only, so any single scenario
can be regenerated (`scenario(s, i)`). What the generator aims at, by
python-semantics.md section:
  2  next: yields, returns, falling off, exhaustion, re-entrant calls
     (call next/send/throw/close on itself or on a delegator), escaping
     exceptions, exception context from the caller, per-generator exc_info
     (info steps inside handlers, across yields);
  3  send: values and None, send to created generators;
  4  throw: caught and yielding / returning / raising, uncaught, into created
     and closed generators, GeneratorExit and KeyboardInterrupt thrown,
     StopIteration thrown (PEP 479);
  5  close: catch-and-yield, yield in finally, return in finally, raise while
     closing, close on created/closed/running generators;
  6  PEP 479: raise StopIteration, catch it inside;
  7  yield from: chains of up to 4 levels (a->b->c->d->e), named and fresh
     list iterators (no send/throw/close), subiterators driven by the caller
     directly, yield from a running generator, closed subs;
  8  states (printed after every operation, and state steps inside bodies).
  9  with --with, a separate stream (scenario_with, `gen_scenarios.py --with
     SEED N`): generator bodies with with-blocks and exit stacks over
     generator-based context managers (cm parts) that catch, re-raise,
     suppress, raise another, yield twice, never yield or raise before
     yielding; exits reached by every way out (end, exception,
     return/break/continue, close, throw). The stream without --with is
     unchanged.
The version-dependent behaviours (3.11 vs 3.13) are left in the mix:
oracle.py --compat and runner -c neutralise them (see oracle.py).
"""

import random
import sys
import os

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scn as S  # noqa: E402

RAISE_TYPES = [
    ("ValueError", 6), ("KeyError", 4), ("TypeError", 3), ("RuntimeError", 3),
    ("StopIteration", 4), ("GeneratorExit", 3), ("KeyboardInterrupt", 2), ("UserError", 3),
]
CATCH_TYPES = [
    ("ValueError", 6), ("KeyError", 3), ("LookupError", 2), ("TypeError", 2),
    ("RuntimeError", 4), ("StopIteration", 3), ("GeneratorExit", 6), ("KeyboardInterrupt", 2),
    ("UserError", 2), ("Exception", 4), ("BaseException", 3), ("AttributeError", 1),
]
GEN_NAMES = "abcdef"
LIST_NAMES = "lm"


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    r = rng.uniform(0, total)
    for x, w in weighted:
        r -= w
        if r <= 0:
            return x
    return weighted[-1][0]


class Builder:
    def __init__(self, rng):
        self.rng = rng
        self.tag = 0
        self.fin_id = 0

    def next_tag(self):
        self.tag += 1
        return self.tag

    def value(self):
        r = self.rng.random()
        if r < 0.15:
            return None
        return self.rng.randrange(0, 100)

    def send_value(self):
        return None if self.rng.random() < 0.35 else self.rng.randrange(100, 200)

    # -- bodies --

    def body(self, me, gens, lists, sub, deep=False):
        """Top-level steps of generator `me`; `sub` is the generator this one
        delegates to in the chain (or None)."""
        rng = self.rng
        steps = self.block(me, gens, lists, depth=0, ctx=frozenset(), n=rng.randint(1, 5))
        if sub is not None and (deep or rng.random() < 0.85):
            yf = ["yf", sub]
            if rng.random() < 0.5:
                yf = self.wrap_try(me, gens, lists, [yf], depth=1, ctx=frozenset())
            # early in the body half of the time, so that deep chains
            # (a->b->c->d->e) are actually entered
            if deep:
                pos = 0
            elif rng.random() < 0.5:
                pos = rng.randint(0, min(1, len(steps)))
            else:
                pos = rng.randint(0, len(steps))
            steps.insert(pos, yf)
        if rng.random() < 0.25:
            steps.append(["ret", self.value()])
        return steps

    def block(self, me, gens, lists, depth, ctx, n=None):
        rng = self.rng
        if n is None:
            n = rng.choice([0, 1, 1, 2, 2, 3]) if depth > 0 else rng.randint(1, 4)
        return [self.step(me, gens, lists, depth, ctx) for _ in range(n)]

    def wrap_try(self, me, gens, lists, body, depth, ctx):
        rng = self.rng
        t = ["try", body]
        nexc = rng.choice([0, 1, 1, 1, 2, 3])
        for _ in range(nexc):
            typ = pick(rng, CATCH_TYPES)
            h = self.handler(me, gens, lists, depth, ctx | {"handler"}, typ)
            t.append(["exc", typ] + h)
        if nexc == 0 or rng.random() < 0.45:
            self.fin_id += 1
            fid = self.fin_id
            fb = self.finally_block(me, gens, lists, depth, ctx | {"finally"})
            t.append(["fin", fid] + fb)
        return t

    def handler(self, me, gens, lists, depth, ctx, typ):
        """Except-clause bodies lean towards the interesting shapes:
        catch-and-yield, catch-and-return, re-raise, raise another."""
        rng = self.rng
        r = rng.random()
        if r < 0.25:
            return [["y", self.value()]] + self.block(me, gens, lists, depth + 1, ctx, n=rng.randint(0, 1))
        if r < 0.4:
            return [["ret", self.value()]]
        if r < 0.5:
            return [["reraise"]]
        if r < 0.6:
            return [["raise", pick(rng, RAISE_TYPES), self.next_tag()]]
        if r < 0.65:
            return [["info"]]
        return self.block(me, gens, lists, depth + 1, ctx)

    def finally_block(self, me, gens, lists, depth, ctx):
        rng = self.rng
        r = rng.random()
        if r < 0.45:
            return []
        if r < 0.6:
            return [["y", self.value()]]
        if r < 0.67:
            return [["ret", self.value()]]
        if r < 0.72:
            return [["raise", pick(rng, RAISE_TYPES), self.next_tag()]]
        if r < 0.76:
            return [["info"]]
        return self.block(me, gens, lists, depth + 1, ctx)

    def step(self, me, gens, lists, depth, ctx):
        rng = self.rng
        choices = [("y", 30), ("raise", 5), ("ret", 3), ("info", 1.5), ("state", 2)]
        if depth < 3:
            choices += [("try", 14), ("loop", 4)]
        choices += [("yf", 4), ("yfl", 3), ("call", 5)]
        if "loop" in ctx:
            choices += [("break", 3), ("continue", 2)]
        if "handler" in ctx or "finally" in ctx:
            choices += [("reraise", 3)]
        else:
            choices += [("reraise", 0.3)]
        k = pick(rng, choices)
        if k == "y":
            return ["y", self.value()]
        if k == "raise":
            return ["raise", pick(rng, RAISE_TYPES), self.next_tag()]
        if k == "ret":
            return ["ret", self.value()]
        if k == "info":
            return ["info"]
        if k == "state":
            return ["state", rng.choice(gens)]
        if k == "try":
            body = self.block(me, gens, lists, depth + 1, ctx, n=rng.randint(1, 3))
            return self.wrap_try(me, gens, lists, body, depth + 1, ctx)
        if k == "loop":
            return ["loop", rng.choice([0, 1, 2, 2, 3])] + self.block(
                me, gens, lists, depth + 1, ctx | {"loop"}, n=rng.randint(1, 3))
        if k == "yf":
            pool = [(g, 4 if g > me else 1) for g in gens] + [(x, 2) for x in lists]
            return ["yf", pick(rng, pool)]
        if k == "yfl":
            return ["yfl"] + [self.value() for _ in range(rng.randint(0, 3))]
        if k == "break":
            return ["break"]
        if k == "continue":
            return ["continue"]
        if k == "reraise":
            return ["reraise"]
        if k == "call":
            return ["call"] + self.op(me, gens, lists, in_body=True)
        raise AssertionError(k)

    # -- operations --

    def op(self, me, gens, lists, in_body=False):
        rng = self.rng
        if in_body:
            # re-entrant calls: on itself, on a delegator (an earlier name),
            # or driving another generator
            pool = [(g, 3 if g == me else (3 if g < me else 2)) for g in gens]
            pool += [(x, 1) for x in lists]
        else:
            pool = [(gens[0], 10)] + [(g, 2) for g in gens[1:]] + [(x, 1) for x in lists]
        target = pick(rng, pool)
        if target in lists:
            return ["next", target]
        k = pick(rng, [("next", 40), ("send", 20), ("throw", 25), ("close", 15)])
        if k == "send":
            return ["send", target, self.send_value()]
        if k == "throw":
            return ["throw", target, pick(rng, RAISE_TYPES), self.next_tag()]
        return [k, target]


CM_NAMES = "pqu"


class WithBuilder(Builder):
    """Builder for section 9: the same bodies, plus `with` and `stack` steps
    in generator bodies, and the bodies of the managers (cm parts), which
    use plain steps only (no delegation to, calls on or states of the
    named generators)."""

    def __init__(self, rng, cms):
        super().__init__(rng)
        self.cms = cms
        self.in_cm = False

    def cm_body(self):
        """setup, hand-off, wrap-up, in the shapes contextlib cares about."""
        rng = self.rng
        self.in_cm = True
        ctx = frozenset({"cm"})
        steps = []
        r = rng.random()
        if r < 0.08:
            steps.append(["raise", pick(rng, RAISE_TYPES), self.next_tag()])  # 9.2
        elif r < 0.15:
            steps.append(["info"])
        r = rng.random()
        if r < 0.15:
            steps.append(["y", self.value()])
        elif r < 0.72:
            # catch and finish, re-raise, raise another, yield again, finally
            steps.append(self.wrap_try(None, [], [], [["y", self.value()]], 1, ctx))
        elif r < 0.8:
            steps.append(["ret", self.value()])  # 9.3: never yields
        elif r < 0.9:
            steps += [["y", self.value()], ["y", self.value()]]  # 9.5: didn't stop
        else:
            steps.append(["loop", rng.choice([1, 2, 3]), ["y", self.value()]])
        r = rng.random()
        if r < 0.1:
            steps.append(["raise", pick(rng, RAISE_TYPES), self.next_tag()])
        elif r < 0.2:
            steps.append(["ret", self.value()])
        elif r < 0.25:
            steps.append(["y", self.value()])
        self.in_cm = False
        return steps

    def stack_items(self):
        rng = self.rng
        items = []
        for _ in range(rng.randint(0, 4)):
            r = rng.random()
            if r < 0.4:
                items.append(["enter", rng.choice(self.cms)])
            elif r < 0.6:
                items.append(["cb", self.next_tag()])
            elif r < 0.8:
                items.append(["cbraise", pick(rng, RAISE_TYPES), self.next_tag()])
            else:
                items.append(["push", self.next_tag(), 1 if rng.random() < 0.4 else 0])
        return items

    def step(self, me, gens, lists, depth, ctx):
        rng = self.rng
        if self.in_cm:
            choices = [("y", 20), ("raise", 6), ("ret", 3), ("info", 2), ("yfl", 1)]
            if depth < 3:
                choices += [("try", 8), ("loop", 2)]
            if "loop" in ctx:
                choices += [("break", 3), ("continue", 2)]
            choices += [("reraise", 3 if ("handler" in ctx or "finally" in ctx) else 0.3)]
            k = pick(rng, choices)
            if k == "try":
                body = self.block(me, gens, lists, depth + 1, ctx, n=rng.randint(1, 3))
                return self.wrap_try(me, gens, lists, body, depth + 1, ctx)
            if k == "loop":
                return ["loop", rng.choice([0, 1, 2, 2, 3])] + self.block(
                    me, gens, lists, depth + 1, ctx | {"loop"}, n=rng.randint(1, 3))
            if k == "y":
                return ["y", self.value()]
            if k == "raise":
                return ["raise", pick(rng, RAISE_TYPES), self.next_tag()]
            if k == "ret":
                return ["ret", self.value()]
            if k == "info":
                return ["info"]
            if k == "yfl":
                return ["yfl"] + [self.value() for _ in range(rng.randint(0, 2))]
            return [k]
        if depth < 3 and rng.random() < 0.22:
            cm = rng.choice(self.cms)
            body = self.block(me, gens, lists, depth + 1, ctx, n=rng.randint(0, 3))
            if rng.random() < 0.75:
                return ["with", cm] + body
            return ["stack", self.stack_items()] + body
        return super().step(me, gens, lists, depth, ctx)


def scenario_with(seed, i, prefix="w"):
    """Scenario i of seed's section 9 stream."""
    rng = random.Random("with/%d/%d" % (seed, i))
    cms = list(CM_NAMES[:pick(rng, [(1, 4), (2, 4), (3, 2)])])
    b = WithBuilder(rng, cms)
    ngens = pick(rng, [(1, 5), (2, 4), (3, 2)])
    gens = list(GEN_NAMES[:ngens])
    lists = list(LIST_NAMES[:pick(rng, [(0, 8), (1, 2)])])
    form = ["scn", "%s%d-%d" % (prefix, seed, i)]
    for c in cms:
        form.append(["cm", c] + b.cm_body())
    for j, g in enumerate(gens):
        sub = gens[j + 1] if j + 1 < ngens else None
        steps = b.body(g, gens, lists, sub)
        if not any(s[0] in ("with", "stack") for s in steps):
            # at least one with block, around part of the body
            k = rng.randint(0, len(steps))
            steps = steps[:k] + [["with", rng.choice(cms)] + steps[k:]]
        form.append(["gen", g] + steps)
    for x in lists:
        form.append(["list", x] + [b.value() for _ in range(rng.randint(0, 3))])
    nops = rng.randint(1, 8)
    form.append(["ops"] + [b.op(None, gens, lists) for _ in range(nops)])
    return form


def scenario(seed, i, prefix="r"):
    rng = random.Random("%d/%d" % (seed, i))
    b = Builder(rng)
    ngens = pick(rng, [(1, 3), (2, 4), (3, 4), (4, 3), (5, 3), (6, 1)])
    gens = list(GEN_NAMES[:ngens])
    lists = list(LIST_NAMES[:pick(rng, [(0, 6), (1, 3), (2, 1)])])
    form = ["scn", "%s%d-%d" % (prefix, seed, i)]
    deep = ngens >= 4 and rng.random() < 0.35  # a chain entered at once
    for j, g in enumerate(gens):
        sub = gens[j + 1] if j + 1 < ngens else None
        form.append(["gen", g] + b.body(g, gens, lists, sub, deep))
    for x in lists:
        form.append(["list", x] + [b.value() for _ in range(rng.randint(0, 3))])
    nops = rng.randint(1, 10)
    form.append(["ops"] + [b.op(None, gens, lists) for _ in range(nops)])
    return form


def main(argv):
    make = scenario
    if argv and argv[0] == "--with":
        make = scenario_with
        argv = argv[1:]
    seed = int(argv[0])
    n = int(argv[1])
    prefix = argv[2] if len(argv) > 2 else ("w" if make is scenario_with else "r")
    out = sys.stdout
    for i in range(n):
        out.write(S.fmt(make(seed, i, prefix)) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # gen_scenarios.py ... | head
        sys.exit(0)
