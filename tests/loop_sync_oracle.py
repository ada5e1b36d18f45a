#!/usr/bin/env python3
"""CPython 3.13's outcomes for the subtle scenarios of test_loop_queue.c and
test_loop_locks.c: each scenario prints `name: trace`, and the C test of the
same name asserts that trace. Run with CPython 3.13:

    /root/.pyenv/versions/3.13.0/bin/python3 tests/loop_sync_oracle.py [NAME...]

Tokens: tasks append short tokens to a trace as they pass points of
interest; `|` marks the main task's steps.
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


def main(names):
    for name, fn in SCENARIOS.items():
        if names and name not in names:
            continue
        tr = []
        asyncio.run(fn(tr))
        print(f"{name}: {' '.join(tr)}")


if __name__ == "__main__":
    main(sys.argv[1:])
