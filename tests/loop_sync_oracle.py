#!/usr/bin/env python3
"""CPython 3.13's outcomes for the subtle scenarios of test_loop_queue.c and
test_loop_locks.c: each scenario prints `name: trace`, and the C test of the
same name asserts that trace. Run with CPython 3.13:

    /root/.pyenv/versions/3.13.0/bin/python3 tests/loop_sync_oracle.py [NAME...]

Tokens: tasks append short tokens to a trace as they pass points of
interest; `|` marks the main task's steps.

    ... loop_sync_oracle.py --random FIRST N     traces of random programs
    ... loop_sync_oracle.py --c-header N > tests/loop_sync_random.h

The random programs (seeded, the same generator as test_loop_sync_random.c)
have 2-4 tasks doing lock, semaphore, queue, event, condition and barrier
steps while the main task yields, cancels tasks, sets the event and puts
items; at the end every task is cancelled and the objects' reprs are
traced. The header holds CPython's traces of seeds 1..N for the C test.
"""
import asyncio
import sys

SCENARIOS = {}


def scenario(fn):
    SCENARIOS[fn.__name__] = fn
    return fn


# ---- queues ---------------------------------------------------------------

@scenario
async def queue_getters_fifo(tr):
    q = asyncio.Queue()

    async def g(i):
        v = await q.get()
        tr.append(f"g{i}={v}")

    ts = [asyncio.create_task(g(i)) for i in range(3)]
    await asyncio.sleep(0)
    for v in (10, 11, 12):
        q.put_nowait(v)
        tr.append(f"p{v}")
    await asyncio.gather(*ts)


@scenario
async def queue_producer_consumer_join(tr):
    q = asyncio.Queue(2)

    async def producer():
        for i in range(5):
            await q.put(i)
            tr.append(f"p{i}")

    async def consumer(name):
        while True:
            v = await q.get()
            tr.append(f"{name}{v}")
            await asyncio.sleep(0)
            q.task_done()

    cs = [asyncio.create_task(consumer(n)) for n in "ab"]
    p = asyncio.create_task(producer())
    await asyncio.sleep(0)
    tr.append("|")
    await q.join()
    tr.append("joined")
    await p
    for c in cs:
        c.cancel()
    await asyncio.gather(*cs, return_exceptions=True)
    tr.append(f"size{q.qsize()}")


@scenario
async def queue_getter_woken_then_cancelled(tr):
    q = asyncio.Queue()

    async def g(i):
        try:
            v = await q.get()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"g{i}={v}")

    ts = [asyncio.create_task(g(i)) for i in range(3)]
    await asyncio.sleep(0)
    q.put_nowait(1)          # wakes g0
    ts[0].cancel()           # before it runs: g1 gets the item
    await asyncio.sleep(0)
    tr.append("|")
    q.put_nowait(2)
    await asyncio.gather(*ts, return_exceptions=True)
    tr.append(f"size{q.qsize()}")


@scenario
async def queue_getter_cancelled_waiting(tr):
    q = asyncio.Queue()

    async def g(i):
        try:
            v = await q.get()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"g{i}={v}")

    ts = [asyncio.create_task(g(i)) for i in range(2)]
    await asyncio.sleep(0)
    ts[0].cancel()           # not woken: only removed
    await asyncio.sleep(0)
    tr.append(repr(q).split(" ", 3)[3])
    q.put_nowait(1)
    await asyncio.gather(*ts, return_exceptions=True)


@scenario
async def queue_putter_woken_then_cancelled(tr):
    q = asyncio.Queue(1)
    q.put_nowait(0)

    async def p(i):
        try:
            await q.put(i)
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"p{i}")

    ts = [asyncio.create_task(p(i)) for i in (1, 2, 3)]
    await asyncio.sleep(0)
    tr.append(f"got{q.get_nowait()}")   # wakes p1
    ts[0].cancel()                        # p2 takes the slot
    await asyncio.sleep(0)
    tr.append("|")
    await asyncio.sleep(0)
    tr.append("|")
    tr.append(f"got{q.get_nowait()}")
    await asyncio.sleep(0)
    tr.append(f"got{q.get_nowait()}")
    await asyncio.gather(*ts, return_exceptions=True)
    tr.append(f"size{q.qsize()}")


@scenario
async def queue_join_cancelled(tr):
    q = asyncio.Queue()
    q.put_nowait(1)

    async def j():
        try:
            await q.join()
        except asyncio.CancelledError:
            tr.append("jc")
            raise
        tr.append("joined")

    t1 = asyncio.create_task(j())
    t2 = asyncio.create_task(j())
    await asyncio.sleep(0)
    t1.cancel()
    await asyncio.sleep(0)
    q.get_nowait()
    q.task_done()
    await asyncio.gather(t1, t2, return_exceptions=True)


@scenario
async def queue_shutdown_wakes_waiters(tr):
    q = asyncio.Queue(1)

    async def g(i):
        try:
            v = await q.get()
            tr.append(f"g{i}={v}")
        except asyncio.QueueShutDown:
            tr.append(f"gs{i}")

    async def p(i):
        try:
            await q.put(i)
            tr.append(f"p{i}")
        except asyncio.QueueShutDown:
            tr.append(f"ps{i}")

    gs = [asyncio.create_task(g(i)) for i in range(2)]
    await asyncio.sleep(0)
    q.put_nowait(7)          # wakes g0
    q2 = [asyncio.create_task(p(i)) for i in (8, 9)]
    await asyncio.sleep(0)   # g0 gets 7; p8 puts? (queue empty again)
    tr.append("|")
    tr.append(repr(q).split(" ", 3)[3])
    q.shutdown()
    tr.append(repr(q).split(" ", 3)[3])
    await asyncio.gather(*gs, *q2)
    tr.append(f"size{q.qsize()}")
    try:
        await q.get()
    except asyncio.QueueShutDown:
        tr.append("gs")
    try:
        q.get_nowait()
    except asyncio.QueueShutDown:
        tr.append("gns")


@scenario
async def queue_shutdown_immediate_releases_join(tr):
    q = asyncio.Queue()
    for i in range(3):
        q.put_nowait(i)
    q.get_nowait()           # one got, not done

    async def j():
        await q.join()
        tr.append("joined")

    async def g():
        try:
            await q.get()
        except asyncio.QueueShutDown:
            tr.append("gs")

    t = asyncio.create_task(j())
    await asyncio.sleep(0)
    q.shutdown(immediate=True)
    tr.append(repr(q).split(" ", 3)[3])
    tr.append(f"size{q.qsize()}")
    await asyncio.sleep(0)
    tr.append("|")
    q.task_done()            # the one got: join returns
    await t
    await g()
    try:
        q.task_done()
    except ValueError as e:
        tr.append(str(e))


@scenario
async def queue_shutdown_not_immediate(tr):
    q = asyncio.Queue()
    for i in range(2):
        q.put_nowait(i)
    q.shutdown()
    tr.append(repr(q).split(" ", 3)[3])
    try:
        q.put_nowait(5)
    except asyncio.QueueShutDown as e:
        tr.append(f"ps{e!r}")
    tr.append(f"g{await q.get()}")
    tr.append(f"g{q.get_nowait()}")
    try:
        await q.get()
    except asyncio.QueueShutDown as e:
        tr.append(f"gs{e!r}")


@scenario
async def queue_lifo_and_priority(tr):
    lq = asyncio.LifoQueue()
    for i in (1, 2, 3):
        lq.put_nowait(i)
    tr.append(repr(lq).split(" ", 3)[3])
    tr.append(",".join(str(lq.get_nowait()) for _ in range(3)))
    pq = asyncio.PriorityQueue()
    for x in (5, 3, 8, 1, 9, 2):
        pq.put_nowait(x)
    tr.append(repr(pq).split(" ", 3)[3])
    pq.get_nowait()
    tr.append(repr(pq).split(" ", 3)[3])
    tr.append(",".join(str(pq.get_nowait()) for _ in range(5)))
    mixed = asyncio.PriorityQueue()
    for x in (2.5, True, -1, 2, 1.0, float("-inf"), 0):
        mixed.put_nowait(x)
    tr.append(repr(mixed).split(" ", 3)[3])
    tr.append(",".join(repr(mixed.get_nowait()) for _ in range(7)))
    bq = asyncio.PriorityQueue()
    for x in (b"pear", b"apple", b"fig", b"app", b""):
        bq.put_nowait(x)
    tr.append(",".join(repr(bq.get_nowait()) for _ in range(5)))
    try:
        bq.put_nowait(b"x")
        bq.put_nowait(1)
    except TypeError as e:
        tr.append(str(e))
    nq = asyncio.PriorityQueue()
    nq.put_nowait(None)
    try:
        nq.put_nowait(None)
    except TypeError as e:
        tr.append(str(e))


@scenario
async def queue_priority_getters(tr):
    q = asyncio.PriorityQueue(2)

    async def g(i):
        tr.append(f"g{i}={await q.get()}")

    async def p(v):
        await q.put(v)
        tr.append(f"p{v}")

    gs = [asyncio.create_task(g(i)) for i in range(3)]
    ps = [asyncio.create_task(p(v)) for v in (5, 1, 4, 2, 3)]
    await asyncio.sleep(0)
    tr.append("|")
    await asyncio.gather(*gs, *ps)
    tr.append(repr(q).split(" ", 3)[3])


@scenario
async def queue_pingpong_handoff(tr):
    # Two tasks hand a counter through two queues of maxsize 1: each hop is
    # a wake-up that yieldc's parking task may run itself (the direct
    # hand-off), here with a callback, a timer due, a task yielding and both
    # ends (a return, a raise) in between.
    loop = asyncio.get_running_loop()
    q = [asyncio.Queue(1), asyncio.Queue(1)]

    async def a():
        for i in range(6):
            if i == 1:
                loop.call_soon(tr.append, "cb")
            if i == 3:
                loop.call_later(0, tr.append, "timer")
            await q[0].put(i)
            v = await q[1].get()
            tr.append(f"{asyncio.current_task().get_name()}{v}")
        return 7

    async def b():
        for i in range(6):
            v = await q[0].get()
            tr.append(f"{asyncio.current_task().get_name()}{v}")
            await q[1].put(v + 100)
        raise ValueError("b ends")

    async def y():
        for i in range(2):
            await asyncio.sleep(0)
            tr.append(f"y{i}")

    ts = [asyncio.create_task(f(), name=n) for f, n in ((a, "a"), (b, "b"), (y, "y"))]
    r = await asyncio.gather(*ts, return_exceptions=True)
    tr.append(f"{r[0]} {type(r[1]).__name__}:{r[1]}")


# ---- locks ----------------------------------------------------------------

@scenario
async def lock_fairness(tr):
    lock = asyncio.Lock()

    async def w(i):
        async with lock:
            tr.append(f"a{i}")
            await asyncio.sleep(0)
            tr.append(f"r{i}")

    await lock.acquire()
    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    tr.append(repr(lock).split(" [")[1])
    lock.release()
    late = asyncio.create_task(w(3))   # arrives after the release
    await asyncio.gather(*ts, late)


@scenario
async def lock_woken_then_cancelled(tr):
    lock = asyncio.Lock()

    async def w(i):
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"a{i}")
        await asyncio.sleep(0)
        lock.release()

    await lock.acquire()
    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    lock.release()           # w0's future is set
    ts[0].cancel()           # w0 passes the lock on
    await asyncio.gather(*ts, return_exceptions=True)
    tr.append(f"locked={lock.locked()}")


@scenario
async def lock_cancelled_waiter_jumped(tr):
    lock = asyncio.Lock()

    async def w(i):
        try:
            await lock.acquire()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"a{i}")
        lock.release()

    await lock.acquire()
    t = asyncio.create_task(w(0))
    await asyncio.sleep(0)
    t.cancel()               # its future cancelled, still listed
    lock.release()
    tr.append(repr(lock).split(" [")[1])
    await lock.acquire()     # every waiter cancelled: taken at once
    tr.append("main")
    lock.release()
    await asyncio.gather(t, return_exceptions=True)


@scenario
async def event_set_wakes_all(tr):
    ev = asyncio.Event()

    async def w(i):
        try:
            await ev.wait()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"w{i}")

    ts = [asyncio.create_task(w(i)) for i in range(4)]
    await asyncio.sleep(0)
    ts[1].cancel()
    tr.append(repr(ev).split(" [")[1])
    ev.set()
    ev.clear()               # the woken ones still return
    tr.append(repr(ev).split(" [")[1])
    await asyncio.gather(*ts, return_exceptions=True)
    tr.append(repr(ev).split(" [")[1])


@scenario
async def condition_notify_order(tr):
    cond = asyncio.Condition()

    async def w(i):
        async with cond:
            await cond.wait()
            tr.append(f"w{i}")

    ts = [asyncio.create_task(w(i)) for i in range(4)]
    await asyncio.sleep(0)
    async with cond:
        tr.append(repr(cond).split(" [")[1])
        cond.notify(2)
        tr.append(repr(cond).split(" [")[1])
    await asyncio.sleep(0)
    tr.append("|")
    async with cond:
        cond.notify_all()
    await asyncio.gather(*ts)
    tr.append(repr(cond).split(" [")[1])


@scenario
async def condition_notified_then_cancelled(tr):
    cond = asyncio.Condition()

    async def w(i):
        async with cond:
            try:
                await cond.wait()
            except asyncio.CancelledError:
                tr.append(f"c{i}:{cond.locked()}")
                raise
            tr.append(f"w{i}")

    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    async with cond:
        cond.notify(1)
    ts[0].cancel()           # notified, cancelled before it runs: w1 instead
    await asyncio.gather(*ts[:2], return_exceptions=True)
    tr.append(repr(cond).split(" [")[1])
    ts[2].cancel()
    await asyncio.gather(ts[2], return_exceptions=True)


@scenario
async def condition_cancelled_while_lock_held(tr):
    cond = asyncio.Condition()

    async def w():
        async with cond:
            try:
                await cond.wait()
            except asyncio.CancelledError:
                tr.append(f"c:{cond.locked()}")
                raise

    t = asyncio.create_task(w())
    await asyncio.sleep(0)
    await cond.acquire()
    t.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tr.append(f"held:{t.done()}")
    cond.release()
    await asyncio.gather(t, return_exceptions=True)
    tr.append(f"cancelled:{t.cancelled()}")


@scenario
async def condition_wait_for(tr):
    cond = asyncio.Condition()
    box = [0]

    def pred():
        tr.append(f"?{box[0]}")
        return box[0] >= 2

    async def w():
        async with cond:
            r = await cond.wait_for(pred)
            tr.append(f"r{r}")

    t = asyncio.create_task(w())
    for _ in range(3):
        await asyncio.sleep(0)
        async with cond:
            box[0] += 1
            cond.notify()
    await t


@scenario
async def semaphore_fifo(tr):
    sem = asyncio.Semaphore(2)

    async def w(i):
        async with sem:
            tr.append(f"a{i}")
            await asyncio.sleep(0)
            tr.append(f"r{i}")

    ts = [asyncio.create_task(w(i)) for i in range(5)]
    await asyncio.sleep(0)
    tr.append(repr(sem).split(" [")[1])
    await asyncio.gather(*ts)
    tr.append(repr(sem).split(" [")[1])


@scenario
async def semaphore_woken_then_cancelled(tr):
    sem = asyncio.Semaphore(0)

    async def w(i):
        try:
            await sem.acquire()
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise
        tr.append(f"a{i}")

    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    sem.release()            # w0 granted
    tr.append(repr(sem).split(" [")[1])
    ts[0].cancel()           # gives the slot to w1
    await asyncio.gather(*ts[:2], return_exceptions=True)
    tr.append(repr(sem).split(" [")[1])
    sem.release()
    await ts[2]
    tr.append(repr(sem).split(" [")[1])


@scenario
async def semaphore_cancelled_waiter_not_locked(tr):
    sem = asyncio.Semaphore(0)

    async def w():
        await sem.acquire()

    t = asyncio.create_task(w())
    await asyncio.sleep(0)
    t.cancel()
    sem.release()
    tr.append(f"locked={sem.locked()}")
    tr.append(repr(sem).split(" [")[1])
    await sem.acquire()
    tr.append("main")
    await asyncio.gather(t, return_exceptions=True)
    tr.append(repr(sem).split(" [")[1])


@scenario
async def barrier_rounds(tr):
    b = asyncio.Barrier(3)

    async def w(i):
        for r in range(2):
            idx = await b.wait()
            tr.append(f"{i}:{idx}")

    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    tr.append(repr(b).split(" [")[1])
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])


@scenario
async def barrier_draining_blocks_newcomer(tr):
    b = asyncio.Barrier(2)

    async def w(i):
        idx = await b.wait()
        tr.append(f"{i}:{idx}")

    ts = [asyncio.create_task(w(i)) for i in range(2)]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    tr.append(repr(b).split(" [")[1])
    ts.append(asyncio.create_task(w(2)))
    ts.append(asyncio.create_task(w(3)))
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])


@scenario
async def barrier_reset_and_abort(tr):
    b = asyncio.Barrier(3)

    async def w(i):
        try:
            idx = await b.wait()
            tr.append(f"{i}:{idx}")
        except asyncio.BrokenBarrierError as e:
            tr.append(f"{i}:{e}")

    ts = [asyncio.create_task(w(i)) for i in range(2)]
    await asyncio.sleep(0)
    tr.append(repr(b).split(" [")[1])
    await b.reset()
    tr.append(repr(b).split(" [")[1])
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])
    ts = [asyncio.create_task(w(i)) for i in range(2, 4)]
    await asyncio.sleep(0)
    await b.abort()
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])
    await w(9)


@scenario
async def barrier_cancelled_waiter(tr):
    b = asyncio.Barrier(2)

    async def w(i):
        try:
            tr.append(f"{i}:{await b.wait()}")
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise

    t0 = asyncio.create_task(w(0))
    await asyncio.sleep(0)
    tr.append(repr(b).split(" [")[1])
    t0.cancel()
    await asyncio.gather(t0, return_exceptions=True)
    tr.append(repr(b).split(" [")[1])
    ts = [asyncio.create_task(w(i)) for i in (1, 2)]
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])


@scenario
async def free_refused_while_tasks_wait(tr):
    lock, ev, cond = asyncio.Lock(), asyncio.Event(), asyncio.Condition()
    sem, bar = asyncio.Semaphore(0), asyncio.Barrier(2)

    async def lock_waiter(i):
        await lock.acquire()
        tr.append(f"a{i}")
        await asyncio.sleep(0)
        lock.release()

    async def event_waiter(i):
        await ev.wait()
        tr.append(f"w{i}")

    async def cond_waiter(i):
        async with cond:
            await cond.wait()
            tr.append(f"w{i}")

    async def sem_waiter(i):
        await sem.acquire()
        tr.append(f"a{i}")

    async def barrier_worker(i):
        try:
            tr.append(f"{i}:{await bar.wait()}")
        except asyncio.BrokenBarrierError as e:
            tr.append(f"{i}:{e}")

    await lock.acquire()
    ts = [asyncio.create_task(lock_waiter(0)), asyncio.create_task(event_waiter(1)),
          asyncio.create_task(cond_waiter(2)), asyncio.create_task(sem_waiter(3)),
          asyncio.create_task(barrier_worker(4))]
    await asyncio.sleep(0)
    lock.release()
    ev.set()
    await cond.acquire()
    cond.notify_all()
    cond.release()
    sem.release()
    await bar.abort()
    await asyncio.gather(*ts)


@scenario
async def condition_cancelled_notifies_another(tr):
    cond = asyncio.Condition()

    async def w(i):
        async with cond:
            try:
                await cond.wait()
            except asyncio.CancelledError:
                tr.append(f"c{i}:{cond.locked()}")
                raise
            tr.append(f"w{i}")

    ts = [asyncio.create_task(w(i)) for i in range(3)]
    await asyncio.sleep(0)
    ts[0].cancel()           # never notified: still wakes w1 (spurious)
    await asyncio.gather(*ts[:2], return_exceptions=True)
    tr.append(repr(cond).split(" [")[1])
    ts[2].cancel()
    await asyncio.gather(ts[2], return_exceptions=True)


@scenario
async def barrier_cancelled_while_draining(tr):
    b = asyncio.Barrier(2)

    async def w(i):
        try:
            tr.append(f"{i}:{await b.wait()}")
        except asyncio.CancelledError:
            tr.append(f"c{i}")
            raise

    ts = [asyncio.create_task(w(i)) for i in range(2)]
    late = asyncio.create_task(w(2))
    await asyncio.sleep(0)   # 1 trips the barrier; 2 blocks in _block
    tr.append(repr(b).split(" [")[1])
    late.cancel()
    await asyncio.gather(*ts, late, return_exceptions=True)
    tr.append(repr(b).split(" [")[1])
    ts = [asyncio.create_task(w(i)) for i in (3, 4)]
    await asyncio.gather(*ts)
    tr.append(repr(b).split(" [")[1])


# ---- random programs ------------------------------------------------------

MASK = (1 << 64) - 1


class Rng:
    """A 64-bit LCG; test_loop_sync_random.c has the same one."""

    def __init__(self, seed):
        self.x = (seed * 2654435761 + 1) & MASK

    def __call__(self, n):
        self.x = (self.x * 6364136223846793005 + 1442695040888963407) & MASK
        return (self.x >> 33) % n


OPS = "yLSpgnwECB"


def make_program(seed):
    """((steps of each task), (main actions)), drawn in a fixed order."""
    r = Rng(seed)
    tasks = []
    for i in range(2 + r(3)):
        steps = []
        for k in range(2 + r(6)):
            op = OPS[r(len(OPS))]
            arg = 10 * i + k if op in "pn" else r(2) if op in "EC" else 0
            steps.append((op, arg))
        tasks.append(steps)
    actions = []
    for _ in range(3 + r(7)):
        a = r(4)
        actions.append((a, r(len(tasks)) if a == 1 else 0))
    return tasks, actions


def tail(obj):
    return repr(obj).split(" [")[1] if " [" in repr(obj) else repr(obj).split(" ", 3)[3]


async def run_program(tr, tasks, actions):
    lock, sem = asyncio.Lock(), asyncio.BoundedSemaphore(2)
    q, ev = asyncio.Queue(2), asyncio.Event()
    cond, bar = asyncio.Condition(), asyncio.Barrier(2)

    async def task(i, steps):
        try:
            for op, arg in steps:
                if op == "y":
                    await asyncio.sleep(0)
                    tr.append(f"{i}y")
                elif op == "L":
                    async with lock:
                        tr.append(f"{i}L")
                        await asyncio.sleep(0)
                elif op == "S":
                    async with sem:
                        tr.append(f"{i}S")
                        await asyncio.sleep(0)
                elif op == "p":
                    await q.put(arg)
                    tr.append(f"{i}p{arg}")
                elif op == "g":
                    tr.append(f"{i}g{await q.get()}")
                elif op == "n":
                    try:
                        q.put_nowait(arg)
                        tr.append(f"{i}n{arg}")
                    except asyncio.QueueFull:
                        tr.append(f"{i}nF")
                elif op == "w":
                    await ev.wait()
                    tr.append(f"{i}w")
                elif op == "E":
                    ev.set() if arg else ev.clear()
                    tr.append(f"{i}E{arg}")
                elif op == "C":
                    async with cond:
                        if arg:
                            cond.notify(1)
                            tr.append(f"{i}Cn")
                        else:
                            await cond.wait()
                            tr.append(f"{i}Cw")
                else:
                    tr.append(f"{i}B{await bar.wait()}")
        except asyncio.CancelledError:
            tr.append(f"{i}x")
            raise

    ts = [asyncio.create_task(task(i, steps)) for i, steps in enumerate(tasks)]
    for k, (a, arg) in enumerate(actions):
        if a == 0:
            await asyncio.sleep(0)
            tr.append("|")
        elif a == 1:
            tr.append(f"m~{arg}{int(ts[arg].cancel())}")
        elif a == 2:
            ev.set()
            tr.append("mE")
        else:
            try:
                q.put_nowait(100 + k)
                tr.append(f"mn{100 + k}")
            except asyncio.QueueFull:
                tr.append("mnF")
    for _ in range(3):
        await asyncio.sleep(0)
        tr.append("|")
    for t in ts:
        t.cancel()
    await asyncio.gather(*ts, return_exceptions=True)
    for obj in (lock, sem, q, ev, cond, bar):
        tr.append(f"[{tail(obj)}")


def random_trace(seed):
    tr = []
    asyncio.run(run_program(tr, *make_program(seed)))
    return " ".join(tr)


def c_header(n):
    print("/* Generated by tests/loop_sync_oracle.py --c-header %d with CPython %s:" %
          (n, sys.version.split()[0]))
    print(" * the traces of the random programs of seeds 1..%d. Do not edit. */" % n)
    print("static const char *const sync_random_expected[] = {")
    for seed in range(1, n + 1):
        t = random_trace(seed).replace("\\", "\\\\").replace('"', '\\"')
        print(f'    "{t}",')
    print("};")


def main(names):
    if names[:1] == ["--random"]:
        first, n = int(names[1]), int(names[2])
        for seed in range(first, first + n):
            print(f"{seed}: {random_trace(seed)}")
        return
    if names[:1] == ["--c-header"]:
        c_header(int(names[1]))
        return
    for name, fn in SCENARIOS.items():
        if names and name not in names:
            continue
        tr = []
        asyncio.run(fn(tr))
        print(f"{name}: {' '.join(tr)}")


if __name__ == "__main__":
    main(sys.argv[1:])
