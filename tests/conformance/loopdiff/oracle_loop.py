#!/usr/bin/env python3
"""CPython side of the event loop differential test (README.md beside this file).

    oracle_loop.py [FILE...]        (stdin when no FILE; needs CPython 3.13+)
    oracle_loop.py --version

Each scenario's task bodies become real coroutine functions (`async def`
with real try/except/finally, `async with asyncio.timeout(...)`), its agen
bodies real async generators, generated as Python source and exec'd; the
main body runs as asyncio.run would run it, on a loop with a virtual clock,
and the trace is printed. runner_loop.c prints the same trace with yieldc.

The loop (VLoop) is asyncio's BaseEventLoop with three changes, none of
which changes what asyncio does with a scenario:
  * time() is virtual: it starts at 0 and, when the loop would wait (the
    selector is asked to wait timeout > 0 seconds), jumps to the deadline of
    the earliest timer (trio's autojump). Nothing ready and no timer is a
    deadlock: the scenario ends with "< deadlock".
  * timers with equal deadlines run in the order they were set (asyncio's
    heap leaves that order unspecified; yieldc documents FIFO). The random
    scenarios never have equal deadlines (gen_loop.py).
  * async generators are not registered for shutdown_asyncgens: a scenario
    closes its own (aclose) or they are abandoned after the trace, as the
    runner does.
The end is asyncio.run's (runners.Runner.run and close), except that the
tasks still pending are cancelled in creation order, not in set order.
Where asyncio iterates a set, the order shows (the callbacks on tasks
already done of as_completed and wait; a TaskGroup's children on abort):
the oracle follows argument or creation order, as yieldc does.
"""

import sys

# --version answers on any interpreter (the driver asks before it decides
# to skip); the rest needs 3.13's asyncio (as_completed's iterator, queue
# shutdown, getasyncgenstate) and is not even defined before.
if __name__ == "__main__" and sys.version_info < (3, 13):
    if sys.argv[1:2] == ["--version"]:
        print("%d.%d" % sys.version_info[:2])
        sys.exit(0)
    sys.stderr.write("oracle_loop.py needs CPython 3.13+ (this is %d.%d)\n" % sys.version_info[:2])
    sys.exit(2)

import asyncio  # noqa: E402
import functools
import gc
import heapq
import inspect
import os
import sys
import warnings

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "diff"))
import scn as S  # noqa: E402

from asyncio import events, tasks as _tasks  # noqa: E402


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
    "UserError": UserError,
    "CancelledError": asyncio.CancelledError,
    "TimeoutError": TimeoutError,
    "InvalidStateError": asyncio.InvalidStateError,
    "StopAsyncIteration": StopAsyncIteration,
    "GeneratorExit": GeneratorExit,
    "SystemExit": SystemExit,
    "KeyboardInterrupt": KeyboardInterrupt,
    "QueueEmpty": asyncio.QueueEmpty,
    "QueueFull": asyncio.QueueFull,
    "QueueShutDown": asyncio.QueueShutDown,
    "ExceptionGroup": ExceptionGroup,
    "BaseExceptionGroup": BaseExceptionGroup,
}

CHAIN_DEPTH = 4
AGEN_LETTER = {
    inspect.AGEN_CREATED: "C",
    inspect.AGEN_RUNNING: "R",
    inspect.AGEN_SUSPENDED: "S",
    inspect.AGEN_CLOSED: "X",
}
WAIT_MODES = {"all": asyncio.ALL_COMPLETED, "first": asyncio.FIRST_COMPLETED,
              "exc": asyncio.FIRST_EXCEPTION}


def fv(v):
    return "None" if v is None else str(v)


def fmsg(msg):
    """A message as the trace shows it: a task's repr is cut after its name
    (CPython's has the coroutine and callbacks, yieldc's only the name)."""
    i = msg.find("<Task ")
    if i >= 0:
        j = msg.find("'", msg.find("name=", i) + 6)
        if j > 0:
            msg = msg[:j + 1] + ">"
    return msg


def cyclic(e, path=()):
    """Whether e's causes, contexts and group members lead back to e or to
    one on the way: a reference cycle, which CPython makes (its garbage
    collector frees them) and yieldc refuses to make (docs/design.md)."""
    if e is None:
        return False
    if any(e is x for x in path):
        return True
    path = path + (e,)
    nexts = [e.__cause__, e.__context__]
    if isinstance(e, BaseExceptionGroup):
        nexts += list(e.exceptions)
    return any(cyclic(x, path) for x in nexts)


def fx(e, depth=0):
    """An exception with its cause and context chain, as runner_loop.c prints
    it; one that is part of a reference cycle ends in " {cycle}" (the driver
    counts such a divergence as a known one)."""
    if depth == 0 and cyclic(e):
        return _fx(e) + " {cycle}"
    return _fx(e, depth)


def _fx(e, depth=0):
    if e is None:
        return "None"
    name = type(e).__name__
    msg = e.args[0] if e.args else ""
    if isinstance(e, BaseExceptionGroup):
        msg = str(e)  # "MESSAGE (N sub-exceptions)"
    s = "%s: %s" % (name, fmsg(str(msg))) if msg != "" else name
    if isinstance(e, BaseExceptionGroup):
        s += " [" + " | ".join(_fx(x, depth + 1) for x in e.exceptions) + "]"
    if depth < CHAIN_DEPTH:
        if e.__cause__ is not None:
            s += " {cause: " + _fx(e.__cause__, depth + 1) + "}"
        if e.__context__ is not None:
            s += " {ctx: " + _fx(e.__context__, depth + 1) + "}"
    return s


def mkexc(tname, n):
    return TYPES[tname]("e%d" % n)


def secs(ms):
    return None if ms is None else ms / 1000


class Deadlock(BaseException):
    pass


class VSelector:
    """The selector of VLoop: never waits; moves the virtual clock."""

    def __init__(self, loop):
        self.loop = loop

    def select(self, timeout):
        if timeout is None:
            raise Deadlock()
        if timeout > 0:
            self.loop._vnow = max(self.loop._vnow, self.loop._scheduled[0]._when)
        return []

    def close(self):
        pass


class VTimer(events.TimerHandle):
    """A timer ordered by (deadline, order set)."""
    __slots__ = ("_seq",)

    def __lt__(self, other):
        return (self._when, self._seq) < (other._when, other._seq)


class VLoop(asyncio.BaseEventLoop):
    def __init__(self):
        super().__init__()
        self._vnow = 0.0
        self._seq = 0
        self._selector = VSelector(self)
        self._clock_resolution = 1e-9

    def time(self):
        return self._vnow

    def call_at(self, when, callback, *args, context=None):
        if when is None:
            raise TypeError("when cannot be None")
        self._check_closed()
        timer = VTimer(when, callback, args, self, context)
        self._seq += 1
        timer._seq = self._seq
        if timer._source_traceback:
            del timer._source_traceback[-1]
        heapq.heappush(self._scheduled, timer)
        timer._scheduled = True
        return timer

    def _process_events(self, event_list):
        pass

    def _write_to_self(self):
        pass

    def _asyncgen_firstiter_hook(self, agen):
        pass

    def _asyncgen_finalizer_hook(self, agen):
        pass


class _OrderedAsCompleted(_tasks._AsCompletedIterator):
    """as_completed registering its callbacks in argument order (asyncio
    iterates a set: the order of tasks already done would be arbitrary)."""

    def __init__(self, aws, timeout):
        self._done = asyncio.Queue()
        self._timeout_handle = None
        loop = events.get_event_loop()
        todo = list(dict.fromkeys(asyncio.ensure_future(aw, loop=loop) for aw in aws))
        for f in todo:
            f.add_done_callback(self._handle_completion)
        if todo and timeout is not None:
            self._timeout_handle = loop.call_later(timeout, self._handle_timeout)
        self._todo = _OrderedSet(todo)
        self._todo_left = len(todo)


async def _ordered_wait(fs, timeout, return_when):
    """asyncio.wait registering its callbacks in argument order: asyncio
    iterates a set, and with FIRST_EXCEPTION the first callback of a
    task already done marks its exception retrieved (the order shows)."""
    if not fs:
        raise ValueError("Set of Tasks/Futures is empty.")
    if return_when not in (asyncio.FIRST_COMPLETED, asyncio.FIRST_EXCEPTION, asyncio.ALL_COMPLETED):
        raise ValueError(f"Invalid return_when value: {return_when}")
    fs = list(dict.fromkeys(fs))
    loop = events.get_running_loop()
    return await _tasks._wait(fs, timeout, return_when, loop)


class _OrderedSet(dict):
    def __init__(self, items):
        super().__init__((x, None) for x in items)

    def remove(self, x):
        del self[x]


class Wait:
    """A waiting step: what to await (aw; None: nothing, already logged)
    and its log line "WHAT -> result" or "WHAT -> raise EXC"."""

    def __init__(self, run, who, what, aw, ok=None):
        self.run, self.who, self.what, self.aw = run, who, what, aw
        self.v = None
        self.skip = aw is None
        if self.skip:  # nothing to wait for (logged already): a done future
            self.aw = run.done_fut
        if ok is not None:
            self.show = lambda v: ok

    def show(self, v):
        return self.run.fres(v)

    def fail(self, e):
        self.run.L(self.who, "%s -> raise %s" % (self.what, fx(e)))

    def ok(self):
        if not self.skip:
            self.run.L(self.who, "%s -> %s" % (self.what, self.show(self.v)))


class _OrderedTasks(dict):
    """A set of tasks iterated in insertion order (TaskGroup._tasks)."""

    def add(self, x):
        self[x] = None

    def discard(self, x):
        self.pop(x, None)


class OrderedTaskGroup(asyncio.TaskGroup):
    """asyncio.TaskGroup cancelling its children in creation order on abort
    (asyncio iterates a set)."""

    def __init__(self):
        super().__init__()
        self._tasks = _OrderedTasks()


class Run:
    """One scenario being executed."""

    def __init__(self, form):
        self.form = form
        self.sid = S.scn_id(form)
        self.out = ["=== %s" % self.sid]
        self.defs = {}        # name -> ("main"|"task"|"agen", steps)
        self.order = []       # task and agen names, as declared
        self.futs = {}        # name -> spawned task or gather future
        self.created = []     # (name, task or future) in creation order
        self.agens = {}       # name -> async generator object
        self.tms = {}         # name -> asyncio.Timeout
        self.loop = None
        self.quiet = False
        self.destroyed = set()
        self.objs = {}        # name -> task group, queue, lock, event, semaphore
        self.decls = []

    # -- the trace --

    def now(self):
        return int(round(self.loop.time() * 1000))

    def L(self, who, text):
        if not self.quiet:
            self.out.append("  @%d %s %s" % (self.now(), who, text))

    def name_of(self, fut):
        for n, f in self.created:
            if f is fut:
                return n
        return "?"

    def on_report(self, loop, ctx):
        if self.quiet:
            return
        obj = ctx.get("task") or ctx.get("future")
        who = (" [%s]" % self.name_of(obj)) if obj is not None else ""
        exc = ctx.get("exception")
        self.out.append("  @%d report: %s%s%s" % (self.now(), ctx.get("message", "?"), who,
                                                  (" " + fx(exc)) if exc is not None else ""))

    # -- helpers called from the generated code --

    def fut(self, who, op, name):
        f = self.futs.get(name)
        if f is None:
            self.L(who, "%s %s -> not spawned" % (op, name))
        return f

    def SPAWN(self, who, name, eager):
        if name in self.futs:
            self.L(who, "spawn %s -> again" % name)
            return
        kind, _ = self.defs[name]
        if kind != "task":
            raise S.ParseError("spawn of %s, not a task" % name)
        self.L(who, "spawn %s%s" % (name, " eager" if eager else ""))
        coro = self.ns["_t_" + name]()
        slot = len(self.created)  # created now: before what an eager start creates
        self.created.append((name, None))
        if eager:
            t = asyncio.Task(coro, loop=self.loop, name=name, eager_start=True)
        else:
            t = self.loop.create_task(coro, name=name)
        self.futs[name] = t
        self.created[slot] = (name, t)

    # Waiting steps: the method returns a Wait (what to await, and how to
    # log it); the generated code awaits it in the body's own frame, as
    #     try: w.v = await w.aw
    #     except BaseException as e: w.fail(e); raise
    #     w.ok()
    # CPython chains an exception thrown into a coroutine to the exception
    # handled by each frame it climbs through, so awaiting through a helper
    # coroutine would log it before the body's frame chained it (yieldc's
    # task body is one frame).

    def SLEEP(self, who, ms):
        d = float("nan") if ms == "nan" else secs(ms)
        return Wait(self, who, "sleep %s" % ms, asyncio.sleep(d), ok="ok")

    def AWAIT(self, who, name):
        f = self.fut(who, "await", name)
        return Wait(self, who, "await " + name, f)

    def fres(self, v):
        if isinstance(v, list):  # a gather future's result
            return self.flist(v)
        return fv(v)

    def flist(self, res):
        parts = []
        for r in res:
            if isinstance(r, asyncio.CancelledError):
                parts.append("cancelled")
            elif isinstance(r, BaseException):
                parts.append(fx(r))
            else:
                parts.append(fv(r))
        return "[" + ", ".join(parts) + "]"

    def CANCEL(self, who, name, msg):
        f = self.fut(who, "cancel", name)
        if f is not None:
            r = f.cancel() if msg is None else f.cancel(msg)
            self.L(who, "cancel %s%s -> %s" % (name, "" if msg is None else " " + msg, r))

    def task_of(self, who, op, name):
        if name == "cur":
            return asyncio.current_task(), "cur"
        f = self.fut(who, op, name)
        if f is not None and not isinstance(f, asyncio.Task):
            raise S.ParseError("%s of %s, not a task" % (op, name))
        return f, name

    def UNCANCEL(self, who, name):
        t, name = self.task_of(who, "uncancel", name)
        if t is not None:
            self.L(who, "uncancel %s -> %d" % (name, t.uncancel()))

    def CANCELLING(self, who, name):
        t, name = self.task_of(who, "cancelling", name)
        if t is not None:
            self.L(who, "cancelling %s -> %d" % (name, t.cancelling()))

    def STATE(self, who, name):
        f = self.fut(who, "state", name)
        if f is not None:
            st = "cancelled" if f.cancelled() else "done" if f.done() else "pending"
            self.L(who, "state %s -> %s" % (name, st))

    def RESULT(self, who, name, op):
        """result() or exception(), logged and never raised: a raise here
        would set the stored exception's __context__, which yieldc's
        yc_task_result (a status, not a raise) does not do."""
        f = self.fut(who, op, name)
        if f is None:
            return
        if not f.done():  # InvalidStateError, chained as raised here (yieldc: made here)
            try:
                f.result() if op == "result" else f.exception()
            except asyncio.InvalidStateError as e:
                r = "raise " + fx(e)
        elif f.cancelled():
            r = "raise " + fx(f._make_cancelled_error())
        else:
            e = f.exception()
            if op == "exception":
                r = fx(e)
            elif e is not None:
                r = "raise " + fx(e)
            else:
                r = self.fres(f.result())
        self.L(who, "%s %s -> %s" % (op, name, r))

    def INFO(self, who):
        self.L(who, "info " + fx(sys.exc_info()[1]))

    def CAUGHT(self, who, e):
        self.L(who, "caught " + fx(e))

    # timeouts

    def TM(self, who, name, ms, at):
        """The timeout named name: an existing one (entered again), or a new
        asyncio.timeout(ms) / timeout_at(ms)."""
        self.L(who, "timeout %s" % name)
        tm = self.tms.get(name)
        if tm is None:
            tm = asyncio.timeout_at(secs(ms)) if at else asyncio.timeout(secs(ms))
            self.tms[name] = tm
        return tm

    def TMEXIT(self, who, name):
        self.L(who, "timeout %s exit%s" % (name, " expired" if self.tms[name].expired() else ""))

    def MKTIMEOUT(self, who, name, ms):
        self.L(who, "mktimeout %s" % name)
        self.tms[name] = asyncio.timeout(secs(ms))

    def tm_named(self, who, op, name):
        tm = self.tms.get(name)
        if tm is None:
            self.L(who, "%s %s -> not made" % (op, name))
        return tm

    def RESCHEDULE(self, who, name, ms):
        tm = self.tm_named(who, "reschedule", name)
        if tm is None:
            return
        try:
            tm.reschedule(None if ms is None else self.loop.time() + ms / 1000)
            r = "ok"
        except BaseException as e:  # noqa: B902
            r = "raise " + fx(e)
        self.L(who, "reschedule %s %s -> %s" % (name, fv(ms), r))

    def EXPIRED(self, who, name):
        tm = self.tm_named(who, "expired", name)
        if tm is not None:
            self.L(who, "expired %s -> %s" % (name, tm.expired()))

    def TREPR(self, who, name):
        tm = self.tm_named(who, "trepr", name)
        if tm is not None:
            self.L(who, "trepr %s -> %r" % (name, tm))

    # combinators

    def WAIT_FOR(self, who, name, ms):
        f = self.fut(who, "wait_for", name)
        return Wait(self, who, "wait_for " + name, f and asyncio.wait_for(f, secs(ms)))

    def SHIELD(self, who, name):
        f = self.fut(who, "shield", name)
        return Wait(self, who, "shield " + name, f and asyncio.shield(f))

    def spawned(self, names):
        return [n for n in names if n in self.futs]

    def GATHER(self, who, gname, names, rex):
        names = self.spawned(names)
        g = asyncio.gather(*[self.futs[n] for n in names], return_exceptions=rex)
        if gname != "-":
            if gname in self.futs:
                raise S.ParseError("gather %s made twice" % gname)
            self.futs[gname] = g
            self.created.append((gname, g))
        return Wait(self, who, "gather %s (%s)" % (gname, " ".join(names)), g)

    def WAIT(self, who, names, mode, ms):
        names = self.spawned(names)
        w = Wait(self, who, "wait (%s) %s" % (" ".join(names), mode),
                 _ordered_wait([self.futs[n] for n in names], secs(ms), WAIT_MODES[mode]))

        def done(v):
            d = [n for n in names if self.futs[n].done()]
            p = [n for n in names if not self.futs[n].done()]
            return "done (%s) pending (%s)" % (" ".join(d), " ".join(p))
        w.show = done
        return w

    def AS_COMPLETED(self, who, names, ms):
        names = self.spawned(names)
        w = Wait(self, who, "as_completed",
                 _OrderedAsCompleted([self.futs[n] for n in names], secs(ms)))
        w.show = lambda v: "end"
        return w

    def AC_ITEM(self, who, f):
        self.L(who, "as_completed -> %s" % self.name_of(f))

    # async generators

    def ag(self, name):
        if name not in self.agens:
            raise S.ParseError("%s is not an agen" % name)
        return self.agens[name]

    def ANEXT(self, who, name):
        return Wait(self, who, "anext " + name, anext(self.ag(name)))

    def ATHROW(self, who, name, tname, n):
        return Wait(self, who, "athrow " + name, self.ag(name).athrow(mkexc(tname, n)))

    def ACLOSE(self, who, name):
        w = Wait(self, who, "aclose " + name, self.ag(name).aclose())
        w.show = lambda v: "ok"
        return w

    def ASTATE(self, who, name):
        self.L(who, "astate %s -> %s" % (name, AGEN_LETTER[inspect.getasyncgenstate(self.ag(name))]))

    # optional features: task groups, queues, locks, events, semaphores

    def TG(self, who, name):
        self.L(who, "taskgroup %s" % name)
        g = self.objs.get(name)
        if g is None:
            g = self.objs[name] = OrderedTaskGroup()
        return g

    def MKTASKGROUP(self, who, name):
        self.L(who, "mktaskgroup %s" % name)
        self.objs[name] = OrderedTaskGroup()

    def TGEXIT(self, who, name):
        self.L(who, "taskgroup %s exit" % name)

    def TGSPAWN(self, who, gname, name):
        g = self.objs.get(gname)
        if g is None:
            self.L(who, "tgspawn %s %s -> not made" % (gname, name))
            return
        if name in self.futs:
            self.L(who, "tgspawn %s %s -> again" % (gname, name))
            return
        self.L(who, "tgspawn %s %s" % (gname, name))
        slot = len(self.created)
        self.created.append((name, None))
        try:
            t = g.create_task(self.ns["_t_" + name](), name=name)
        except BaseException as e:
            del self.created[slot]
            self.L(who, "tgspawn %s %s -> raise %s" % (gname, name, fx(e)))
            raise
        self.futs[name] = t
        self.created[slot] = (name, t)

    def obj(self, name):
        if name not in self.objs:
            raise S.ParseError("%s is not declared" % name)
        return self.objs[name]

    def SYNC(self, who, op, name, *args):
        """A step of a queue, lock, event or semaphore that does not wait:
        logged; an exception is logged and raised."""
        o = self.obj(name)
        what = " ".join([op, name] + [str(a) for a in args if a is not None])
        try:
            if op == "put_nowait":
                r = o.put_nowait(args[0])
            elif op == "get_nowait":
                r = o.get_nowait()
            elif op == "task_done":
                r = o.task_done()
            elif op == "qshutdown":
                r = o.shutdown(immediate=bool(args[0]))
            elif op == "qsize":
                r = "%d empty=%s full=%s" % (o.qsize(), o.empty(), o.full())
            elif op == "release" or op == "srelease":
                r = o.release()
            elif op == "locked" or op == "slocked":
                r = o.locked()
            elif op == "eset":
                r = o.set()
            elif op == "eclear":
                r = o.clear()
            elif op == "is_set":
                r = o.is_set()
            else:
                raise S.ParseError("unknown op %s" % op)
        except BaseException as e:
            self.L(who, "%s -> raise %s" % (what, fx(e)))
            raise
        self.L(who, "%s -> %s" % (what, fv(r)))

    def AWAITOP(self, who, op, name, *args):
        """A waiting step of a queue, lock, event or semaphore (see Wait)."""
        o = self.obj(name)
        what = " ".join([op, name] + [str(a) for a in args])
        aw = {"put": lambda: o.put(args[0]), "get": lambda: o.get(), "join": lambda: o.join(),
              "acquire": lambda: o.acquire(), "ewait": lambda: o.wait(),
              "sacquire": lambda: o.acquire()}[op]()
        return Wait(self, who, what, aw)

    def WITHOBJ(self, who, op, name):
        self.L(who, "%s %s" % (op, name))
        return self.obj(name)

    def WITHEXIT(self, who, op, name):
        self.L(who, "%s %s exit" % (op, name))

    # -- building and running --

    def build(self):
        src = []
        for x in self.form[2:]:
            if not isinstance(x, list) or not x:
                raise S.ParseError("bad scenario part")
            if x[0] == "flags":
                continue
            if x[0] in ("queue", "lock", "event", "semaphore"):
                self.decls.append(x)
                continue
            if x[0] == "main":
                kind, name, steps = "main", "main", x[1:]
            elif x[0] in ("task", "agen"):
                kind, name, steps = x[0], x[1], x[2:]
            else:
                raise S.ParseError("unknown part %r" % (x[0],))
            if name in self.defs:
                raise S.ParseError("%s defined twice" % name)
            self.defs[name] = (kind, steps)
            self.order.append(name)
            e = Emit(src, name, kind)
            if kind == "agen":
                src.append("async def _t_%s():" % name)
                src.append("    L(%r, 'start')" % name)
                src.append("    if False: yield")
                e.block(steps, 1)
            else:
                src.append("async def _b_%s():" % name)
                e.block(steps, 1)
        if "main" not in self.defs:
            raise S.ParseError("no main")
        ns = {"asyncio": asyncio, "fx": fx, "fv": fv, "R": self, "L": self.L}
        ns.update(TYPES)
        code = compile("\n".join(src) + "\n", "<scenario %s>" % self.sid, "exec")
        exec(code, ns)
        self.ns = ns
        for n, (kind, _) in self.defs.items():
            if kind != "agen":
                ns["_t_" + n] = functools.partial(self.task_main, n, ns["_b_" + n])

    async def task_main(self, name, body):
        """A task's coroutine: "NAME start", the body (a coroutine of its
        own: this frame handles nothing, so it chains nothing), "NAME end"."""
        self.L(name, "start")
        try:
            r = await body()
        except BaseException as e:
            self.L(name, "end -> raise " + fx(e))
            raise
        self.L(name, "end -> " + fv(r))
        return r

    def run(self):
        self.build()
        loop = self.loop = VLoop()
        loop.set_exception_handler(self.on_report)
        self.done_fut = loop.create_future()
        self.done_fut.set_result(None)
        for n in self.order:
            if self.defs[n][0] == "agen":
                self.agens[n] = self.ns["_t_" + n]()
        for x in self.decls:
            kind, name = x[0], x[1]
            if kind == "queue":
                cls = {"lifo": asyncio.LifoQueue, "prio": asyncio.PriorityQueue}.get(
                    x[3] if len(x) > 3 else None, asyncio.Queue)
                self.objs[name] = cls(maxsize=x[2])
            elif kind == "lock":
                self.objs[name] = asyncio.Lock()
            elif kind == "event":
                self.objs[name] = asyncio.Event()
            else:
                bounded = len(x) > 3 and x[3] == "bounded"
                self.objs[name] = (asyncio.BoundedSemaphore if bounded else asyncio.Semaphore)(x[2])
        main = loop.create_task(self.ns["_t_main"](), name="main")
        self.created.append(("main", main))
        try:
            try:
                outcome = ("ok", loop.run_until_complete(main))
            except Deadlock:
                raise
            except BaseException as e:  # noqa: B902
                outcome = ("raise", e)
            try:
                self.cancel_all()
                # the rest of runners.Runner.close (iterations that run
                # what is still ready, as asyncio.run does)
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.run_until_complete(loop.shutdown_default_executor())
            except Deadlock:
                raise
            except BaseException as e:  # noqa: B902 (SystemExit, KeyboardInterrupt out of a task)
                outcome = ("raise", e)  # close()'s exception is asyncio.run's
            self.destroy_pending()
        except Deadlock:
            self.out.append("< deadlock")
            self.finish()
            return self.out
        # formatted now, as asyncio.run's caller would see it
        self.out.append("< %s %s" % (outcome[0], fv(outcome[1]) if outcome[0] == "ok" else fx(outcome[1])))
        self.tail()
        self.finish()
        return self.out

    def cancel_all(self):
        """runners._cancel_all_tasks, in creation order."""
        loop = self.loop
        todo = [t for _, t in self.created if isinstance(t, asyncio.Task) and not t.done()]
        if not todo:
            return
        for t in todo:
            t.cancel()
        loop.run_until_complete(asyncio.gather(*todo, return_exceptions=True))
        for t in todo:
            if t.cancelled():
                continue
            if t.exception() is not None:
                loop.call_exception_handler({
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": t.exception(),
                    "task": t,
                })

    def destroy_pending(self):
        """Tasks still pending now (spawned while the others were being
        cancelled) go when loop.close() drops the callbacks that hold them:
        "Task was destroyed but it is pending!", and their coroutine is
        closed (GeneratorExit). CPython's order is the garbage collector's;
        this is yieldc's (yc_loop_close: newest first), and such a task
        counts as cancelled."""
        self.destroyed = set()
        for n, t in reversed(self.created):
            if isinstance(t, asyncio.Task) and not t.done():
                self.loop.call_exception_handler({"message": "Task was destroyed but it is pending!",
                                                  "task": t})
                self.destroyed.add(n)
                try:
                    t.get_coro().close()
                except BaseException as e:  # noqa: B902
                    self.loop.call_exception_handler({
                        "message": "Exception ignored while destroying", "task": t, "exception": e})

    def tail(self):
        parts = []
        for n in self.order:
            if self.defs[n][0] != "task":
                continue
            f = self.futs.get(n)
            parts.append("%s=%s" % (n, "-" if f is None else "cancelled"
                                    if f.cancelled() or n in self.destroyed
                                    else "done" if f.done() else "pending"))
        if parts:
            self.out.append("  tasks " + " ".join(parts))
        ags = ["%s=%s" % (n, AGEN_LETTER[inspect.getasyncgenstate(g)]) for n, g in self.agens.items()]
        if ags:
            self.out.append("  agens " + " ".join(ags))
        unret = [n for n, f in self.created if n != "main" and f._log_traceback]
        if unret:
            self.out.append("  unretrieved " + " ".join(unret))

    def finish(self):
        """After the trace: nothing more is printed; every object goes."""
        self.quiet = True
        for _, f in self.created:
            f._log_traceback = False
        loop = self.loop
        if not loop.is_closed():
            loop.close()
        self.agens.clear()
        self.created.clear()
        self.futs.clear()


class Emit:
    """Python source for one body."""

    def __init__(self, src, name, kind):
        self.src = src
        self.n = name
        self.kind = kind
        self.nvar = 0

    def w(self, d, line):
        self.src.append("    " * d + line)

    def var(self):
        self.nvar += 1
        return "_v%d" % self.nvar

    def block(self, steps, d):
        if not steps:
            self.w(d, "pass")
        for s in steps:
            self.step(s, d)

    def wait(self, d, call):
        """A waiting step, awaited in this frame (see Wait); few lines,
        since compiling the scenario is most of the oracle's time."""
        self.w(d, "_w = %s" % call)
        self.w(d, "try: _w.v = await _w.aw")
        self.w(d, "except BaseException as _e: _w.fail(_e); raise")
        self.w(d, "_w.ok()")

    @staticmethod
    def ms(x):
        return "None" if x is None else "%d" % x

    def step(self, s, d):
        n = self.n
        k = s[0]
        me = repr(n)
        if k == "y":
            if self.kind != "agen":
                raise S.ParseError("y outside an agen")
            self.w(d, "yield %s" % fv(s[1]))
        elif k == "ret":
            if self.kind == "agen":
                self.w(d, "return")
            else:
                self.w(d, "return %s" % fv(s[1]))
        elif k == "raise":
            self.w(d, 'raise %s("e%d")' % (s[1], s[2]))
        elif k == "reraise":
            self.w(d, "raise")
        elif k == "info":
            self.w(d, "R.INFO(%s)" % me)
        elif k == "try":
            self.w(d, "try:")
            self.block(s[1], d + 1)
            has = False
            for c in s[2:]:
                if c[0] == "exc":
                    v = self.var()
                    self.w(d, "except %s as %s:" % (c[1], v))
                    self.w(d + 1, "R.CAUGHT(%s, %s)" % (me, v))
                    self.block(c[2:], d + 1)
                    has = True
                elif c[0] == "fin":
                    self.w(d, "finally:")
                    self.w(d + 1, "L(%s, 'fin %d')" % (me, c[1]))
                    self.block(c[2:], d + 1)
                    has = True
                else:
                    raise S.ParseError("bad try clause")
            if not has:
                self.w(d, "finally:")
                self.w(d + 1, "pass")
        elif k == "spawn":
            self.w(d, "R.SPAWN(%s, %r, %s)" % (me, s[1], len(s) > 2 and s[2] == "eager"))
        elif k == "sleep":
            self.wait(d, "R.SLEEP(%s, %r)" % (me, s[1]))
        elif k == "await":
            self.wait(d, "R.AWAIT(%s, %r)" % (me, s[1]))
        elif k == "cancel":
            self.w(d, "R.CANCEL(%s, %r, %r)" % (me, s[1], s[2] if len(s) > 2 else None))
        elif k in ("uncancel", "cancelling", "state"):
            self.w(d, "R.%s(%s, %r)" % (k.upper(), me, s[1]))
        elif k in ("result", "exception"):
            self.w(d, "R.RESULT(%s, %r, %r)" % (me, s[1], k))
        elif k in ("timeout", "timeout_at"):
            v = self.var()
            self.w(d, "%s = R.TM(%s, %r, %s, %s)" % (v, me, s[1], self.ms(s[2]), k == "timeout_at"))
            self.w(d, "try:")
            self.w(d + 1, "async with %s:" % v)
            self.block(s[3:], d + 2)
            self.w(d, "finally:")
            self.w(d + 1, "R.TMEXIT(%s, %r)" % (me, s[1]))
        elif k == "mktimeout":
            self.w(d, "R.MKTIMEOUT(%s, %r, %s)" % (me, s[1], self.ms(s[2])))
        elif k == "reschedule":
            self.w(d, "R.RESCHEDULE(%s, %r, %s)" % (me, s[1], self.ms(s[2])))
        elif k in ("expired", "trepr"):
            self.w(d, "R.%s(%s, %r)" % (k.upper(), me, s[1]))
        elif k == "wait_for":
            self.wait(d, "R.WAIT_FOR(%s, %r, %s)" % (me, s[1], self.ms(s[2])))
        elif k == "shield":
            self.wait(d, "R.SHIELD(%s, %r)" % (me, s[1]))
        elif k == "gather":
            self.wait(d, "R.GATHER(%s, %r, %r, %s)" % (me, s[1], s[2], len(s) > 3 and s[3] == "rex"))
        elif k == "wait":
            self.wait(d, "R.WAIT(%s, %r, %r, %s)" % (me, s[1], s[2], self.ms(s[3])))
        elif k == "as_completed":
            self.w(d, "_w = R.AS_COMPLETED(%s, %r, %s)" % (me, s[1], self.ms(s[2])))
            self.w(d, "try:")
            self.w(d + 1, "async for _f in _w.aw: R.AC_ITEM(%s, _f)" % me)
            self.w(d, "except BaseException as _e: _w.fail(_e); raise")
            self.w(d, "_w.ok()")
        elif k == "anext":
            self.wait(d, "R.ANEXT(%s, %r)" % (me, s[1]))
        elif k == "athrow":
            self.wait(d, "R.ATHROW(%s, %r, %r, %d)" % (me, s[1], s[2], s[3]))
        elif k == "aclose":
            self.wait(d, "R.ACLOSE(%s, %r)" % (me, s[1]))
        elif k == "astate":
            self.w(d, "R.ASTATE(%s, %r)" % (me, s[1]))
        elif k == "taskgroup":
            v = self.var()
            self.w(d, "%s = R.TG(%s, %r)" % (v, me, s[1]))
            self.w(d, "try:")
            self.w(d + 1, "async with %s:" % v)
            self.block(s[2:], d + 2)
            self.w(d, "finally: R.TGEXIT(%s, %r)" % (me, s[1]))
        elif k == "mktaskgroup":
            self.w(d, "R.MKTASKGROUP(%s, %r)" % (me, s[1]))
        elif k == "tgspawn":
            self.w(d, "R.TGSPAWN(%s, %r, %r)" % (me, s[1], s[2]))
        elif k in ("put", "get", "join", "acquire", "ewait", "sacquire"):
            self.wait(d, "R.AWAITOP(%s, %r, %s)" % (me, k, ", ".join(repr(x) for x in s[1:])))
        elif k in ("put_nowait", "get_nowait", "task_done", "qsize", "release", "locked",
                   "eset", "eclear", "is_set", "srelease", "slocked"):
            self.w(d, "R.SYNC(%s, %r, %s)" % (me, k, ", ".join(repr(x) for x in s[1:])))
        elif k == "qshutdown":
            self.w(d, "R.SYNC(%s, 'qshutdown', %r, %r)" % (me, s[1], 1 if len(s) > 2 else None))
        elif k in ("withlock", "withsem"):
            v = self.var()
            self.w(d, "%s = R.WITHOBJ(%s, %r, %r)" % (v, me, k, s[1]))
            self.w(d, "try:")
            self.w(d + 1, "async with %s:" % v)
            self.block(s[2:], d + 2)
            self.w(d, "finally: R.WITHEXIT(%s, %r, %r)" % (me, k, s[1]))
        else:
            raise S.ParseError("unknown step %r" % (k,))


def main(argv):
    files = []
    for a in argv:
        if a == "--version":
            print("%d.%d" % sys.version_info[:2])
            return 0
        files.append(a)
    if sys.version_info < (3, 13):
        sys.stderr.write("oracle_loop.py needs CPython 3.13+ (this is %d.%d)\n" % sys.version_info[:2])
        return 2
    text = "".join(open(f).read() for f in files) if files else sys.stdin.read()
    sys.unraisablehook = lambda u: None
    warnings.simplefilter("ignore")
    forms = S.parse_forms(text)
    out = sys.stdout
    for i, form in enumerate(forms):
        try:
            lines = Run(form).run()
        except (S.ParseError, KeyError, IndexError, TypeError) as e:
            lines = ["=== %s" % S.scn_id(form), "! parse error: %s: %s" % (type(e).__name__, e)]
        out.write("\n".join(lines) + "\n")
        if i % 64 == 63:
            gc.collect()
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
