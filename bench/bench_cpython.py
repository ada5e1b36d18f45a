"""CPython peer (system "cpython"); bench/run.sh runs it with /usr/bin/python3.

    python3 bench_cpython.py time [ms]   rows roundtrip, create, create-close
    python3 bench_cpython.py mem K       RSS growth per suspended generator

roundtrip:    a suspended generator's __next__ (bound once) called in a loop
create:       create and exhaust a one-yield generator (`for _ in one(): pass`)
create-close: create, advance to the yield, drop it (its finaliser closes it)
Timed with time.perf_counter_ns; loop overhead is included, nothing is
subtracted (as for the C drivers).
"""
import sys
import time


def forever():
    while True:
        yield None


def one():
    yield None


def loop_roundtrip(n):
    nxt = forever().__next__
    for _ in range(n):
        nxt()


def loop_create(n):
    f = one
    for _ in range(n):
        for _ in f():
            pass


def loop_create_close(n):
    f = one
    nxt = next
    for _ in range(n):
        nxt(f())  # the generator is freed (closed) right after


def measure(loop, target_ms):
    """Grow n until a call takes 20 ms (the warm-up), then time one call of
    about target_ms; ns per operation."""
    clock = time.perf_counter_ns
    n = 16
    while True:
        t0 = clock()
        loop(n)
        t = clock() - t0
        if t >= 20_000_000:
            break
        n *= 8 if t < 2_000_000 else 2
    big = max(1, int(target_ms * 1e6 / t * n))
    t0 = clock()
    loop(big)
    return (clock() - t0) / big


def statm():
    with open("/proc/self/statm") as f:
        size, rss = f.read().split()[:2]
    return int(size), int(rss)


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "time"
    if mode == "time":
        ms = float(sys.argv[2]) if len(sys.argv) > 2 else 200.0
        for name, loop in (("roundtrip", loop_roundtrip), ("create", loop_create),
                           ("create-close", loop_create_close)):
            print(f"{name}\tcpython\t{measure(loop, ms):.3f}", flush=True)
    elif mode == "mem":
        import resource
        k = int(sys.argv[2])
        page = resource.getpagesize()
        gens = [None] * k
        _, rss0 = statm()
        for i in range(k):
            g = forever()
            next(g)
            gens[i] = g
        _, rss1 = statm()
        print(f"cpython\t{k}\t{(rss1 - rss0) * page / k:.0f}\t-")
    else:
        sys.exit("usage: bench_cpython.py time [ms] | mem K")


if __name__ == "__main__":
    main()
