"""Summarises the interleaved runs of bench/run.sh.

    python3 report.py RAW RESULTS_TSV

RAW has one line per measurement: round<TAB>benchmark<TAB>system<TAB>ns_per_op.
Writes RESULTS_TSV (benchmark, system, median ns_per_op) and prints the table
with ratios against yieldc.
"""
import statistics
import sys

BENCHMARKS = ["roundtrip", "create", "create-close", "pipeline", "pipeline-gen", "lines"]
SYSTEMS = ["yieldc", "yieldc:ucontext", "yieldc:per-item", "boost-fcontext", "ucontext",
           "fused-loop", "cpython", "lua", "luajit", "indirect-call", "wc"]


def order(key, known):
    return (known.index(key), key) if key in known else (len(known), key)


def main():
    raw_path, out_path = sys.argv[1], sys.argv[2]
    runs = {}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            _, bench, system, ns = parts
            runs.setdefault((bench, system), []).append(float(ns))
    if not runs:
        sys.exit("report: no measurements")

    keys = sorted(runs, key=lambda k: (order(k[0], BENCHMARKS), order(k[1], SYSTEMS)))
    med = {k: statistics.median(runs[k]) for k in keys}

    with open(out_path, "w") as f:
        f.write("benchmark\tsystem\tns_per_op\n")
        for bench, system in keys:
            f.write(f"{bench}\t{system}\t{med[(bench, system)]:.3f}\n")

    print(f"{'benchmark':<13} {'system':<16} {'ns/op':>9} {'vs yieldc':>10}   "
          f"{'runs':>4}  min .. max ns/op")
    last = None
    for bench, system in keys:
        if last is not None and bench != last:
            print()
        last = bench
        m = med[(bench, system)]
        base = med.get((bench, "yieldc"))
        ratio = f"{m / base:9.2f}x" if base else f"{'-':>10}"
        r = runs[(bench, system)]
        print(f"{bench:<13} {system:<16} {m:9.2f} {ratio}   {len(r):4d}  "
              f"{min(r):.2f} .. {max(r):.2f}")
    print("(vs yieldc = system's ns/op / yieldc's ns/op: above 1 means slower than yieldc)")

    print()
    targets(med)
    print()
    for peer in ("boost-fcontext", "cpython"):
        parts = []
        for bench in BENCHMARKS[:3]:
            y, p = med.get((bench, "yieldc")), med.get((bench, peer))
            if y and p:
                parts.append(f"{bench} {y / p:.2f}")
        if parts:
            print(f"yieldc/{peer} (time ratio, below 1 means yieldc is faster): "
                  + ", ".join(parts))
        else:
            print(f"yieldc/{peer}: not measured ({peer} was skipped)")


def targets(med):
    """The issues' targets, from this run's medians."""
    rows = [
        ("roundtrip", "yieldc", "boost-fcontext", 1.0, "round trip no slower than Boost's fcontext"),
        ("roundtrip", "yieldc:share-fpenv", "boost-fcontext", 0.8,
         "round trip with YC_GEN_SHARE_FPENV at 0.8x Boost's fcontext (the issue's aim)"),
        ("roundtrip", "yieldc", "cpython", 0.1, "round trip at most 1/10 of CPython's next"),
        ("create", "yieldc", "cpython", 0.5, "create + first next + free at most 1/2 of CPython's"),
        ("pipeline", "yieldc", "fused-loop", 1.5,
         "plain-iterator pipeline (separate int64 stages) within 1.5x of the fused loop"),
        ("pipeline", "yieldc:fused", "fused-loop", 1.5,
         "plain-iterator pipeline (map and filter fused into one stage) within 1.5x of the fused loop"),
        ("lines", "yieldc", "wc", 2.0, "line streaming within 2x of wc -l"),
    ]
    for bench, system, peer, limit, what in rows:
        y, p = med.get((bench, system)), med.get((bench, peer))
        if y and p:
            verdict = "met" if y / p <= limit else "NOT met"
            print(f"target: {what}: {y / p:.2f}x ({verdict})")
    g = med.get(("pipeline-gen", "yieldc"))
    if g:
        verdict = "met" if g <= 20.0 else "NOT met"
        print(f"target: generator stages at most 20 ns per source item: {g:.2f} ns ({verdict})")


if __name__ == "__main__":
    main()
