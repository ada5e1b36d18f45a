"""asyncio peers of bench/bench_loop.c: the same programs, step for step.

    python3 loop_asyncio.py [--uvloop] spawn N BATCH SYSTEM
    python3 loop_asyncio.py [--uvloop] spawn-sleep0 N BATCH SYSTEM
    python3 loop_asyncio.py [--uvloop] pingpong N SYSTEM
    python3 loop_asyncio.py [--uvloop] pingpong-future N SYSTEM
    python3 loop_asyncio.py [--uvloop] timers TASKS ITERS SYSTEM
    python3 loop_asyncio.py [--uvloop] sleepers N SYSTEM

bench/run.sh runs it with Debian's /usr/bin/python3 (system asyncio-3.11,
and with --uvloop: uvloop), and with a CPython 3.13+ (asyncio-3.13).

spawn:           N tasks that return at once, in batches of BATCH:
                 create_task for the batch, await gather(*batch)
spawn-sleep0:    the same, each task doing one await asyncio.sleep(0)
pingpong:        two tasks handing a counter back and forth N times each
                 way (2N hops) through two asyncio.Queue(maxsize=1)
pingpong-future: the same through futures: each side makes a future,
                 publishes it, completes the other's, awaits its own
timers:          TASKS tasks, each ITERS times: async with
                 asyncio.timeout(d) around await asyncio.sleep(0); d is 0
                 for 1 in 64 draws (expires: TimeoutError), else 100..1100 s
                 (never reached: an iteration over 10^5 tasks can take
                 seconds, and uvloop's loop.time() is read once per
                 iteration)
sleepers:        N tasks in asyncio.sleep(3600): RSS growth per task, the
                 time until every one sleeps, the time to cancel all and
                 gather them (return_exceptions=True)

Timed rows print "benchmark<TAB>system<TAB>ns_per_op"; sleepers prints
"system<TAB>tasks<TAB>rss_bytes_per_task<TAB>spawn_s<TAB>cancel_join_s
<TAB>pte_bytes_per_task". Each mode checks its outcome and exits non-zero
when it is wrong, so a broken run reports no figure.
"""
import asyncio
import sys
import time

clock = time.perf_counter_ns


def fail(what):
    sys.exit(f"loop_asyncio: check failed: {what}")


# ---- spawn ---------------------------------------------------------------

async def spawn_main(n, batch, sleep0):
    ran = 0

    async def body_return():
        nonlocal ran
        ran += 1

    async def body_sleep0():
        nonlocal ran
        await asyncio.sleep(0)
        ran += 1

    body = body_sleep0 if sleep0 else body_return
    create_task = asyncio.get_running_loop().create_task
    gather = asyncio.gather
    t0 = 0
    # one batch more than n, untimed: the warm-up
    for b in range(-1, n // batch):
        if b == 0:
            t0 = clock()
        ts = [create_task(body()) for _ in range(batch)]
        await gather(*ts)
        for t in ts:
            if not t.done() or t.cancelled():
                fail("a task is not done")
    elapsed = clock() - t0
    if ran != n + batch:
        fail("spawn: not every task ran")
    return elapsed


# ---- ping-pong -----------------------------------------------------------

async def pingpong_queue(n):
    q = (asyncio.Queue(maxsize=1), asyncio.Queue(maxsize=1))

    async def a():
        for i in range(n):
            await q[0].put(i)
            if await q[1].get() != i + 1:
                fail("pingpong: a got the wrong value")

    async def b():
        for i in range(n):
            v = await q[0].get()
            if v != i:
                fail("pingpong: b got the wrong value")
            await q[1].put(v + 1)

    tb = asyncio.create_task(b())
    ta = asyncio.create_task(a())
    t0 = clock()
    await asyncio.gather(ta, tb)
    elapsed = clock() - t0
    if not q[0].empty() or not q[1].empty():
        fail("pingpong: items left")
    return elapsed


async def pingpong_future(n):
    loop = asyncio.get_running_loop()
    box = [None, None]

    async def a():
        for i in range(n):
            f = loop.create_future()
            box[0] = f
            if box[1] is None:
                fail("pingpong: b is not waiting")
            box[1].set_result(i)
            if await f != i + 1:
                fail("pingpong: a got the wrong value")

    async def b():
        f = loop.create_future()
        box[1] = f
        for i in range(n):
            v = await f
            if v != i:
                fail("pingpong: b got the wrong value")
            f = None
            box[1] = None
            if i + 1 < n:
                f = loop.create_future()
                box[1] = f
            box[0].set_result(v + 1)

    tb = asyncio.create_task(b())
    ta = asyncio.create_task(a())
    t0 = clock()
    await asyncio.gather(ta, tb)
    return clock() - t0


# ---- timers --------------------------------------------------------------

def lcg(x):
    return (x * 1103515245 + 12345) & 0x7FFFFFFF


def draw_delay(x):
    return 0.0 if x % 64 == 0 else 100.0 + ((x >> 8) % 10000) / 10.0


async def timers_main(tasks, iters):
    counts = [0, 0]  # cleared, expired
    go = asyncio.get_running_loop().create_future()
    timeout = asyncio.timeout
    sleep = asyncio.sleep

    async def body(x):
        await go
        for _ in range(iters):
            x = lcg(x)
            try:
                async with timeout(draw_delay(x)):
                    await sleep(0)
                counts[0] += 1
            except TimeoutError:
                counts[1] += 1

    ts = [asyncio.create_task(body(i + 1)) for i in range(tasks)]
    await asyncio.sleep(0)  # every task waits on go
    t0 = clock()
    go.set_result(None)
    await asyncio.gather(*ts)
    elapsed = clock() - t0
    want_expired = 0
    for i in range(tasks):
        x = i + 1
        for _ in range(iters):
            x = lcg(x)
            if draw_delay(x) == 0.0:
                want_expired += 1
    if counts[0] + counts[1] != tasks * iters:
        fail("timers: not every timeout was left")
    if counts[1] != want_expired:
        fail("timers: not the expected number of expiries")
    return elapsed


# ---- sleepers ------------------------------------------------------------

def status_kb(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    return -1


async def sleepers_main(n):
    started = 0

    async def body():
        nonlocal started
        started += 1
        await asyncio.sleep(3600)

    create_task = asyncio.get_running_loop().create_task
    ts = [None] * n  # allocated before the first reading, as the C array
    rss0, pte0 = status_kb("VmRSS:"), status_kb("VmPTE:")
    t0 = clock()
    for i in range(n):
        ts[i] = create_task(body())
    await asyncio.sleep(0)  # FIFO: every task has run up to its sleep
    t1 = clock()
    if started != n:
        fail("sleepers: not every task started")
    rss1, pte1 = status_kb("VmRSS:"), status_kb("VmPTE:")
    t2 = clock()
    for t in ts:
        if not t.cancel():
            fail("sleepers: cancel")
    await asyncio.gather(*ts, return_exceptions=True)
    t3 = clock()
    for t in ts:
        if not t.cancelled():
            fail("sleepers: a task was not cancelled")
    return ((rss1 - rss0) * 1024 / n, (t1 - t0) / 1e9, (t3 - t2) / 1e9,
            (pte1 - pte0) * 1024 / n)


# ---- main ----------------------------------------------------------------

def run(coro, use_uvloop):
    if use_uvloop:
        import uvloop
        loop = uvloop.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()
    return asyncio.run(coro)


def main():
    args = sys.argv[1:]
    use_uvloop = bool(args) and args[0] == "--uvloop"
    if use_uvloop:
        args = args[1:]
    if not args:
        sys.exit(__doc__)
    mode = args[0]
    if mode in ("spawn", "spawn-sleep0"):
        n, batch, system = int(args[1]), int(args[2]), args[3]
        if n <= 0 or batch <= 0 or n % batch:
            fail("spawn: N must be a multiple of BATCH")
        ns = run(spawn_main(n, batch, mode == "spawn-sleep0"), use_uvloop)
        print(f"{mode}\t{system}\t{ns / n:.3f}", flush=True)
    elif mode in ("pingpong", "pingpong-future"):
        n, system = int(args[1]), args[2]
        fn = pingpong_queue if mode == "pingpong" else pingpong_future
        ns = run(fn(n), use_uvloop)
        print(f"{mode}\t{system}\t{ns / (2 * n):.3f}", flush=True)
    elif mode == "timers":
        tasks, iters, system = int(args[1]), int(args[2]), args[3]
        ns = run(timers_main(tasks, iters), use_uvloop)
        print(f"timers\t{system}\t{ns / (tasks * iters):.3f}", flush=True)
    elif mode == "sleepers":
        n, system = int(args[1]), args[2]
        rss, spawn_s, cancel_s, pte = run(sleepers_main(n), use_uvloop)
        print(f"{system}\t{n}\t{rss:.0f}\t{spawn_s:.4f}\t{cancel_s:.4f}\t{pte:.0f}", flush=True)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
