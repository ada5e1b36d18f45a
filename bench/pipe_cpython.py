"""CPython peer of the pipeline benchmark (bench/bench_pipe.c), run by
bench/run.sh with /usr/bin/python3:

    python3 pipe_cpython.py N

Times sum(y for y in (x * 3 for x in range(N)) if y % 7 != 0): generator
expressions, the Python way to write a lazy map/filter/sum pipeline. Prints
the ns per source item as rows "pipeline" and "pipeline-gen" (one
measurement: both tables compare against it).
"""
import sys
import time


def pipeline(n):
    return sum(y for y in (x * 3 for x in range(n)) if y % 7 != 0)


def fused(n):
    s = 0
    for x in range(n):
        y = x * 3
        if y % 7 != 0:
            s += y
    return s


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000_000
    pipeline(n // 100)  # warm-up
    t0 = time.perf_counter_ns()
    got = pipeline(n)
    ns = (time.perf_counter_ns() - t0) / n
    want = fused(n)
    if got != want:
        sys.exit(f"pipe_cpython: sum {got}, want {want}")
    for bench in ("pipeline", "pipeline-gen"):
        print(f"{bench}\tcpython\t{ns:.3f}", flush=True)


if __name__ == "__main__":
    main()
