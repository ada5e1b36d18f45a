#!/usr/bin/env python3
"""Seeded random loop scenarios for the event loop differential test.

    gen_loop.py [--features F,G] SEED N [PREFIX]    prints N scenarios, one per line

Scenario i of seed s is a function of (s, i) and the feature set only (the
optional steps the library has, runner_loop --features: taskgroup now;
queue, lock, event, semaphore designed in the language and the oracle), so
any single scenario can be regenerated (`scenario(s, i, features)`).

Every scenario is valid and terminates:
  * tasks are ordered main < a < b < ...; a task (or an agen its owner
    iterates) waits only on tasks after it (await, wait_for, shield, gather,
    wait, as_completed), so waiting is a DAG; cancellation goes anywhere;
  * every timer gets its own duration, a distinct power of two of
    milliseconds, and no step runs twice: a timer's deadline is the sum of
    the distinct durations along the chain of timers that led to it, so no
    two deadlines are equal (research 4.13: asyncio breaks ties in heap
    order, yieldc in the order the timers were set);
  * an async generator is iterated by one task only, never yields inside a
    finally block, a timeout block or a handler of BaseException/
    GeneratorExit (CPython's messages for ignored GeneratorExit and
    concurrent anext differ from yieldc's generator ones).
What it aims at: cancellation (by cancel with and without a message,
self-cancel, timeouts, wait_for, cancelling a gather) arriving at every
kind of suspension point (sleep, sleep 0, await, wait_for, shield, gather,
wait, as_completed, an agen's await inside anext/athrow/aclose, a finally
block's await during cancellation, a task that was never started, one
started eagerly); handlers that swallow, re-raise, uncancel and go on;
timeouts nested, rescheduled, expired, re-entered.
"""

import random
import sys
import os

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "diff"))
import scn as S  # noqa: E402

TASK_NAMES = "abcde"
AGEN_NAMES = "pq"
RAISE_TYPES = [("ValueError", 5), ("KeyError", 3), ("RuntimeError", 2), ("UserError", 2),
               ("CancelledError", 2), ("TimeoutError", 1)]
CATCH_TYPES = [("CancelledError", 8), ("TimeoutError", 4), ("ValueError", 4), ("KeyError", 2),
               ("LookupError", 1), ("Exception", 4), ("BaseException", 3), ("RuntimeError", 1)]
AGEN_CATCH = [("CancelledError", 5), ("TimeoutError", 2), ("ValueError", 4), ("KeyError", 2),
              ("Exception", 3)]
NUNITS = 22


def pick(rng, weighted):
    total = sum(w for _, w in weighted)
    r = rng.uniform(0, total)
    for x, w in weighted:
        r -= w
        if r <= 0:
            return x
    return weighted[-1][0]


class Builder:
    def __init__(self, rng, tasks, agens, features):
        self.rng = rng
        self.tasks = tasks          # names in order
        self.agens = agens          # name -> owner
        self.features = features
        self.units = list(range(NUNITS))
        rng.shuffle(self.units)
        self.tag = 0
        self.fin = 0
        self.ntm = 0
        self.ngather = 0
        self.tms = []               # timeout names made so far
        self.ngroup = 0
        self.syncs = []             # (name, kind) of the declared queues, locks, ...

    def next_tag(self):
        self.tag += 1
        return self.tag

    def unit(self):
        """A fresh duration (ms), never used before in this scenario; 0
        when they ran out."""
        if not self.units:
            return 0
        return 1 << self.units.pop()

    def dur(self, zero=0.12, none=0.0):
        r = self.rng.random()
        if r < none:
            return None
        if r < none + zero:
            return 0
        return self.unit()

    def later(self, me):
        """Tasks `me` may wait on."""
        if me == "main":
            return list(self.tasks)
        return [t for t in self.tasks if t > me]

    def value(self):
        return self.rng.randrange(0, 100)

    # -- bodies --

    def body(self, me, waiter, ctx, n):
        """Steps of a body run by task `waiter` (an agen's owner for an agen
        body `me`)."""
        return [self.step(me, waiter, ctx, 0) for _ in range(n)]

    def block(self, me, waiter, ctx, depth, n=None):
        if n is None:
            n = self.rng.choice([0, 1, 1, 2, 2, 3])
        return [self.step(me, waiter, ctx, depth) for _ in range(n)]

    def step(self, me, waiter, ctx, depth):
        rng = self.rng
        agen = me in self.agens
        later = self.later(waiter)
        ch = [("sleep", 14), ("raise", 3), ("cancel", 7), ("state", 2), ("cancelling", 2),
              ("result", 1.5), ("uncancel", 1.5), ("info", 0.5)]
        if later:
            ch += [("await", 8), ("wait_for", 4), ("shield", 3), ("gather", 4), ("wait", 3),
                   ("as_completed", 2)]
        if depth < 3:
            ch += [("try", 12), ("timeout", 6)]
        if "handler" in ctx:
            ch += [("reraise", 3)]
        if self.tms:
            ch += [("reschedule", 2), ("expired", 1), ("trepr", 0.5)]
        if self.syncs and depth < 3:
            ch += [("sync", 8)]
        if agen:
            if not ctx & {"finally", "timeout", "basehandler"}:
                ch += [("y", 14)]
        else:
            mine = [g for g, o in self.agens.items() if o == me]
            if mine:
                ch += [("anext", 10), ("athrow", 2), ("aclose", 2)]
            if self.agens:
                ch += [("astate", 1)]
            ch += [("ret", 1.5)]
        k = pick(rng, ch)
        if k == "sleep":
            return ["sleep", self.dur(zero=0.25)]
        if k == "y":
            return ["y", self.value()]
        if k == "ret":
            return ["ret", self.value()]
        if k == "raise":
            return ["raise", pick(rng, RAISE_TYPES), self.next_tag()]
        if k == "reraise":
            return ["reraise"]
        if k == "info":
            return ["info"]
        if k == "cancel":
            target = rng.choice(self.targets(me))
            if rng.random() < 0.4:
                return ["cancel", target, "m%d" % self.next_tag()]
            return ["cancel", target]
        if k in ("state", "result", "cancelling"):
            pool = list(self.tasks) or ["main"]
            if k != "cancelling":
                pool += self.gathers()
            t = rng.choice(pool)
            if k == "result" and rng.random() < 0.4:
                return ["exception", t]
            return [k, t]
        if k == "uncancel":
            return ["uncancel", "cur" if rng.random() < 0.7 else rng.choice(list(self.tasks) or ["main"])]
        if k in ("await", "shield"):
            return [k, rng.choice(later)]
        if k == "wait_for":
            return ["wait_for", rng.choice(later), self.dur(zero=0.15, none=0.15)]
        if k == "gather":
            self.ngather += 1
            g = "ABCDEFGHIJKLMNOP"[self.ngather - 1] if self.ngather <= 16 else "-"
            if rng.random() < 0.2:
                g = "-"
            s = ["gather", g, self.sample(later)]
            if rng.random() < 0.4:
                s.append("rex")
            return s
        if k == "wait":
            mode = pick(rng, [("all", 3), ("first", 3), ("exc", 2)])
            return ["wait", self.sample(later), mode, self.dur(zero=0.1, none=0.4)]
        if k == "as_completed":
            return ["as_completed", self.sample(later), self.dur(zero=0.05, none=0.5)]
        if k == "try":
            return self.try_step(me, waiter, ctx, depth)
        if k == "timeout":
            return self.timeout_step(me, waiter, ctx, depth)
        if k == "reschedule":
            return ["reschedule", rng.choice(self.tms), self.dur(zero=0.1, none=0.15)]
        if k in ("expired", "trepr"):
            return [k, rng.choice(self.tms)]
        if k in ("anext", "athrow", "aclose"):
            g = rng.choice([g for g, o in self.agens.items() if o == me])
            if k == "athrow":
                return ["athrow", g, pick(rng, [("ValueError", 3), ("KeyError", 1)]), self.next_tag()]
            return [k, g]
        if k == "astate":
            return ["astate", rng.choice(sorted(self.agens))]
        if k == "sync":
            return self.sync_step(me, waiter, ctx, depth)
        raise AssertionError(k)

    def sync_step(self, me, waiter, ctx, depth):
        """A step on a queue, lock, event or semaphore. A step that may wait
        forever (get, put, join, acquire, ewait) is in a timeout block of
        its own, so that every scenario ends; locks and semaphores are
        taken with their managers, or acquired and released in one try."""
        rng = self.rng
        name, kind = rng.choice(self.syncs)
        if kind == "queue":
            k = pick(rng, [("put", 4), ("get", 4), ("put_nowait", 2), ("get_nowait", 2),
                           ("task_done", 2), ("join", 1), ("qsize", 1), ("qshutdown", 0.4)])
            if k in ("put", "put_nowait"):
                op = [k, name, self.value()]
            elif k == "qshutdown":
                op = [k, name] + (["immediate"] if rng.random() < 0.3 else [])
            else:
                op = [k, name]
            blocking = k in ("put", "get", "join")
        elif kind == "lock":
            k = pick(rng, [("withlock", 5), ("acquire", 2), ("locked", 1), ("release", 0.5)])
            if k == "withlock":
                return self.guard(["withlock", name] + self.block(me, waiter, ctx, depth + 1,
                                                                  n=rng.randint(1, 2)))
            if k == "acquire":
                return self.guard(["try", [["acquire", name]] + self.block(me, waiter, ctx, depth + 1),
                                   ["fin", self.next_fin(), ["release", name]]])
            op, blocking = [k, name], False
        elif kind == "event":
            k = pick(rng, [("ewait", 4), ("eset", 3), ("eclear", 1), ("is_set", 1)])
            op, blocking = [k, name], k == "ewait"
        else:
            k = pick(rng, [("withsem", 5), ("sacquire", 1), ("srelease", 1), ("slocked", 1)])
            if k == "withsem":
                return self.guard(["withsem", name] + self.block(me, waiter, ctx, depth + 1,
                                                                 n=rng.randint(1, 2)))
            op, blocking = [k, name], k == "sacquire"
        if not blocking:
            return op
        return self.guard(op)

    def guard(self, step):
        """step inside a timeout block of its own (a deadline that ends any
        wait) and a handler of its TimeoutError."""
        self.ntm += 1
        name = "t%d" % self.ntm  # not in self.tms: nothing reschedules it to none
        return ["try", [["timeout", name, self.unit() or 1, step]], ["exc", "TimeoutError"]]

    def next_fin(self):
        self.fin += 1
        return self.fin

    def targets(self, me):
        """What a cancel may name: any task (itself too), main, a gather."""
        return list(self.tasks) + ["main"] * 1 + self.gathers()

    def gathers(self):
        return ["ABCDEFGHIJKLMNOP"[i] for i in range(min(self.ngather, 16))]

    def sample(self, pool):
        rng = self.rng
        n = rng.choice([1, 1, 2, 2, 3])
        out = [rng.choice(pool) for _ in range(n)]
        if rng.random() < 0.8:
            out = list(dict.fromkeys(out))
        return out

    def try_step(self, me, waiter, ctx, depth):
        rng = self.rng
        agen = me in self.agens
        body = self.block(me, waiter, ctx, depth + 1, n=rng.randint(1, 3))
        t = ["try", body]
        nexc = rng.choice([0, 1, 1, 1, 2, 2, 3])
        for _ in range(nexc):
            typ = pick(rng, AGEN_CATCH if agen else CATCH_TYPES)
            hctx = ctx | {"handler"}
            if typ == "BaseException":
                hctx = hctx | {"basehandler"}
            t.append(["exc", typ] + self.handler(me, waiter, hctx, depth + 1, typ))
        if nexc == 0 or rng.random() < 0.5:
            self.fin += 1
            t.append(["fin", self.fin] + self.block(me, waiter, ctx | {"finally"}, depth + 1))
        return t

    def handler(self, me, waiter, ctx, depth, typ):
        """Handler bodies lean to the interesting shapes: swallow and go on
        waiting, uncancel, re-raise, raise another, return."""
        rng = self.rng
        r = rng.random()
        if typ in ("CancelledError", "BaseException") and r < 0.3:
            steps = [["uncancel", "cur"]] if rng.random() < 0.6 else [["cancelling", "cur"]]
            return steps + self.block(me, waiter, ctx, depth, n=rng.randint(0, 2))
        if r < 0.45:
            return [["reraise"]]
        if r < 0.55:
            return [["raise", pick(rng, RAISE_TYPES), self.next_tag()]]
        if r < 0.62 and me not in self.agens:
            return [["ret", self.value()]]
        return self.block(me, waiter, ctx, depth)

    def timeout_step(self, me, waiter, ctx, depth):
        rng = self.rng
        r = rng.random()
        if self.tms and r < 0.08:
            name = rng.choice(self.tms)      # entered again: 12.17
            head = ["timeout", name, None]
        else:
            self.ntm += 1
            name = "t%d" % self.ntm
            if r < 0.2:
                head = ["timeout_at", name, self.unit()]
            else:
                head = ["timeout", name, self.dur(zero=0.05, none=0.15)]
            self.tms.append(name)
        body = self.block(me, waiter, ctx | {"timeout"}, depth + 1, n=rng.randint(1, 3))
        if rng.random() < 0.25:
            body.insert(rng.randint(0, len(body)), ["reschedule", name, self.dur(zero=0.1, none=0.2)])
        return head + body


def scenario(seed, i, features=frozenset(), prefix="L"):
    rng = random.Random("loop/%d/%d" % (seed, i))
    ntasks = pick(rng, [(0, 1), (1, 3), (2, 4), (3, 4), (4, 3), (5, 2)])
    tasks = list(TASK_NAMES[:ntasks])
    nagens = pick(rng, [(0, 6), (1, 3), (2, 1)])
    agens = {}
    for g in AGEN_NAMES[:nagens]:
        agens[g] = rng.choice(["main"] + tasks)
    b = Builder(rng, tasks, agens, features)
    form = ["scn", "%s%d-%d" % (prefix, seed, i)]
    decls = []
    for kind, name in (("queue", "Q"), ("lock", "L"), ("event", "E"), ("semaphore", "S")):
        if kind in features and rng.random() < 0.3:
            if kind == "queue":
                d = ["queue", name, rng.choice([0, 1, 1, 2])] + (
                    [rng.choice(["lifo", "prio"])] if rng.random() < 0.3 else [])
            elif kind == "semaphore":
                d = ["semaphore", name, rng.choice([0, 1, 1, 2])] + (
                    ["bounded"] if rng.random() < 0.4 else [])
            else:
                d = [kind, name]
            decls.append(d)
            b.syncs.append((name, kind))
    if decls:
        form.append(["flags"] + [d[0] for d in decls])
    form += decls
    bodies = {"main": b.body("main", "main", frozenset(), rng.randint(1, 6))}
    for t in tasks:
        bodies[t] = b.body(t, t, frozenset(), rng.randint(1, 5))
    for g, owner in agens.items():
        bodies[g] = b.body(g, owner, frozenset(), rng.randint(1, 4))
        if not any(s[0] == "y" for s in bodies[g]):
            bodies[g].insert(rng.randint(0, len(bodies[g])), ["y", b.value()])
        # the owner iterates it: a few anexts, and aclose at the end or in a finally
        seq = [["anext", g] for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.6:
            seq.append(["aclose", g])
        if rng.random() < 0.3:
            seq = [["try", seq, ["fin", 90 + len(agens), ["aclose", g]]]]
        pos = rng.randint(0, len(bodies[owner]))
        bodies[owner][pos:pos] = seq
    # each task is spawned once, by main or an earlier task, at a random
    # place of its top-level steps; main spawns most of them early
    for t in tasks:
        spawners = ["main"] * 3 + [x for x in tasks if x < t]
        who = rng.choice(spawners)
        s = ["spawn", t] + (["eager"] if rng.random() < 0.2 else [])
        steps = bodies[who]
        pos = rng.randint(0, min(len(steps), 1 if who == "main" and rng.random() < 0.6 else len(steps)))
        if "taskgroup" in features and rng.random() < 0.3:
            # spawned in a task group of its spawner: a new group around
            # some of the spawner's steps, or one made before (tgspawn
            # after its exit, or into a group that aborts)
            groups = [x[1] for x in steps if isinstance(x, list) and x and x[0] == "taskgroup"]
            if groups and rng.random() < 0.3:
                steps.insert(pos, ["tgspawn", rng.choice(groups), t])
            else:
                b.ngroup += 1
                g = "G%d" % b.ngroup
                k = rng.randint(0, min(2, len(steps) - pos))
                steps[pos:pos + k] = [["taskgroup", g, ["tgspawn", g, t]] + steps[pos:pos + k]]
            continue
        steps.insert(pos, s)
        if rng.random() < 0.1:  # cancelled before it starts (or eagerly started)
            steps.insert(pos + 1, ["cancel", t] + (["m%d" % b.next_tag()] if rng.random() < 0.5 else []))
    form.append(["main"] + bodies["main"])
    for t in tasks:
        form.append(["task", t] + bodies[t])
    for g in agens:
        form.append(["agen", g] + bodies[g])
    return form


def main(argv):
    features = frozenset()
    if argv and argv[0] == "--features":
        features = frozenset(x for x in argv[1].split(",") if x)
        argv = argv[2:]
    seed = int(argv[0])
    n = int(argv[1])
    prefix = argv[2] if len(argv) > 2 else "L"
    out = sys.stdout
    for i in range(n):
        out.write(S.fmt(scenario(seed, i, features, prefix)) + "\n")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:
        sys.exit(0)
