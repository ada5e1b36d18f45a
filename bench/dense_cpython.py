"""CPython peer of bench/bench_dense.c's delegation rows, run by bench/run.sh
with /usr/bin/python3:

    python3 dense_cpython.py time [ms]

Prints "benchmark<TAB>cpython<TAB>ns" rows: yieldfrom-1, -4, -10 and -100
(ns per value pulled with next() from the outermost of 1, 4, 10 or 100 generators
each doing `yield from` the one below, over an endless counter) and
yieldfrom (per level: (yieldfrom-4 - a plain next) / 4, in this process).
"""
import sys
import time


def counter():
    i = 0
    while True:
        yield i
        i += 1


def deleg(sub):
    yield from sub


def chain(levels):
    g = counter()
    for _ in range(levels):
        g = deleg(g)
    return g


def per_value(levels, target_ms):
    g = chain(levels)
    nxt = next
    n = 16
    while True:  # grow until one run takes 20 ms (also the warm-up)
        t0 = time.perf_counter_ns()
        for _ in range(n):
            nxt(g)
        t = time.perf_counter_ns() - t0
        if t >= 20_000_000:
            break
        n *= 8 if t < 2_000_000 else 2
    big = max(1, int(target_ms * 1e6 / t * n))
    t0 = time.perf_counter_ns()
    for _ in range(big):
        nxt(g)
    return (time.perf_counter_ns() - t0) / big


def main():
    if len(sys.argv) < 2 or sys.argv[1] != "time":
        sys.exit("usage: dense_cpython.py time [ms]")
    ms = float(sys.argv[2]) if len(sys.argv) > 2 else 200.0
    plain = per_value(0, ms)
    one = per_value(1, ms)
    four = per_value(4, ms)
    print(f"yieldfrom-1\tcpython\t{one:.3f}", flush=True)
    print(f"yieldfrom-4\tcpython\t{four:.3f}", flush=True)
    for levels in (10, 100):
        print(f"yieldfrom-{levels}\tcpython\t{per_value(levels, ms):.3f}", flush=True)
    print(f"yieldfrom\tcpython\t{(four - plain) / 4:.3f}", flush=True)


if __name__ == "__main__":
    main()
