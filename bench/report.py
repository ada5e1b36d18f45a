"""Summarises the interleaved runs of bench/run.sh.

    python3 report.py RAW RESULTS_TSV [SLEEPERS_RAW SLEEPERS_TSV]
    python3 report.py load ...   (bench/load_report.py: the load section)

RAW has one line per measurement: round<TAB>benchmark<TAB>system<TAB>ns_per_op.
Writes RESULTS_TSV (benchmark, system, median ns_per_op) and prints the table
with ratios against yieldc. SLEEPERS_RAW (the event loop's sleeping tasks) has
one line per run: round, system, tasks, rss_bytes_per_task, spawn_s,
cancel_join_s, pte_bytes_per_task; SLEEPERS_TSV gets the medians of each
column. Then every issue target the run measured, with its verdict. When
build/bench/density.tsv sits next to RESULTS_TSV (bench/dense.sh wrote it in
this run; run.sh deletes it first), it is printed with issue 12's memory
targets.
"""
import os
import statistics
import sys

GEN_BENCHMARKS = ["roundtrip", "create", "create-close", "pipeline", "pipeline-gen", "lines"]
LOOP_BENCHMARKS = ["spawn", "spawn-sleep0", "pingpong", "pingpong-future", "timers"]
BENCHMARKS = GEN_BENCHMARKS + LOOP_BENCHMARKS
SYSTEMS = ["yieldc", "yieldc:ucontext", "yieldc:per-item", "yieldc:pool-1M", "yieldc:16k",
           "boost-fcontext", "ucontext", "fused-loop", "cpython", "lua", "luajit",
           "indirect-call", "wc", "asyncio-3.11", "asyncio-3.12", "asyncio-3.13",
           "asyncio-3.14", "uvloop"]
# the stackless generator rows (bench/dense.sh)
BENCHMARKS += ["roundtrip-direct", "yieldfrom", "yieldfrom-1", "yieldfrom-4"]
BENCHMARKS += ["yieldfrom-10", "yieldfrom-100"]  # stackful chains and CPython's
SYSTEMS += ["yieldc:stackless", "yieldc:stackless-embedded", "yieldc:plain", "yieldc:stackful",
            "yieldc:stackful-yc_next", "yieldc:stackful-yc_iter_next", "yieldc:raw-switch",
            "yieldc:plain-share-fpenv"]
LOOP_UNITS = {"spawn": "ns per task", "spawn-sleep0": "ns per task", "pingpong": "ns per hop",
              "pingpong-future": "ns per hop", "timers": "ns per timeout set and left"}


def order(key, known):
    return (known.index(key), key) if key in known else (len(known), key)


def main():
    if sys.argv[1:2] == ["load"]:  # the load section (bench/load.sh)
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import load_report
        load_report.load_main(sys.argv[2:])
        return
    raw_path, out_path = sys.argv[1], sys.argv[2]
    sleepers = read_sleepers(sys.argv[3], sys.argv[4]) if len(sys.argv) > 4 else {}
    runs = {}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 4:
                continue
            _, bench, system, ns = parts
            runs.setdefault((bench, system), []).append(float(ns))
    if not runs and not sleepers:
        sys.exit("report: no measurements")

    keys = sorted(runs, key=lambda k: (order(k[0], BENCHMARKS), order(k[1], SYSTEMS)))
    med = {k: statistics.median(runs[k]) for k in keys}

    with open(out_path, "w") as f:
        f.write("benchmark\tsystem\tns_per_op\n")
        for bench, system in keys:
            f.write(f"{bench}\t{system}\t{med[(bench, system)]:.3f}\n")

    print(f"{'benchmark':<16} {'system':<28} {'ns/op':>9} {'vs yieldc':>10}   "
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
        print(f"{bench:<16} {system:<28} {m:9.2f} {ratio}   {len(r):4d}  "
              f"{min(r):.2f} .. {max(r):.2f}")
    print("(vs yieldc = system's ns/op / yieldc's ns/op: above 1 means slower than yieldc)")
    loop_rows = [b for b in LOOP_BENCHMARKS if any(k[0] == b for k in keys)]
    if loop_rows:
        print("(event loop rows: " + "; ".join(f"{b} in {LOOP_UNITS[b]}" for b in loop_rows) + ")")
        if any(k[1] == "yieldc:pool-1M" for k in keys):
            print("(yieldc:pool-1M: the library built with -DYC_STACK_POOL_MAX=1048576 instead of 64,"
                  " a diagnostic of the stack pool's share, not the default build)")
    if sleepers:
        print()
        print_sleepers(sleepers)

    print()
    targets(med)
    loop_targets(med, sleepers)
    dense_targets(med, os.path.join(os.path.dirname(os.path.abspath(out_path)), "density.tsv"))
    if not any(k[0] in GEN_BENCHMARKS for k in keys) or ("roundtrip", "yieldc") not in med:
        return
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


# bench_dense.c's counter struct: the 48-byte yc_sgen plus one int64 of the
# user's (ctr_t); what a slab generator's RSS holds beyond it is the library's.
DENSE_USER_BYTES = 8


def dense_targets(med, density_path):
    """Issue 12 section 4: the stackless kind's and the stackful kind's targets,
    from this run's medians and density.tsv."""
    def ratio(what, num, den, limit):
        a, b = med.get(num), med.get(den)
        if a is None or b is None:
            missing = " and ".join("/".join(k) for k in (num, den) if k not in med)
            print(f"target: {what}: not measured ({missing} missing)")
            return
        print(f"target: {what}: {a:.2f} / {b:.2f} ns = {a / b:.3f}x ({verdict(a / b <= limit)})")

    def absolute(what, key, limit):
        a = med.get(key)
        if a is None:
            print(f"target: {what}: not measured")
            return
        print(f"target: {what}: {a:.2f} ns ({verdict(a <= limit)})")

    dense = any(k[1] == "yieldc:stackless" for k in med)
    mem = {}
    if os.path.exists(density_path):
        with open(density_path) as f:
            for line in f.read().splitlines()[1:]:
                parts = line.split("\t")
                if len(parts) == 3:
                    mem[(parts[0], int(parts[1]))] = float(parts[2])
    if not dense and not mem:
        return
    print()
    if mem:
        print(f"{'density':<28} {'live':>10} {'RSS B/gen':>10} {'total':>10}")
        for (system, live), b in mem.items():
            print(f"{system:<28} {live:>10,} {b:>10.1f} {b * live / 2**30:>6.2f} GiB")
        print("(RSS growth over the live generators, each suspended at its first yield; "
              "yieldc:stackless from yc_sgen_new, -embedded in one array)")
    ratio("stackless round trip (yc_iter_next) at most 0.1x CPython's next",
          ("roundtrip", "yieldc:stackless"), ("roundtrip", "cpython"), 0.1)
    ratio("stackless round trip (the type's own next) at most 0.1x CPython's next",
          ("roundtrip-direct", "yieldc:stackless"), ("roundtrip", "cpython"), 0.1)
    absolute("stackless create (yc_sgen_new) + first next + free at most 10 ns",
             ("create-close", "yieldc:stackless"), 10.0)
    absolute("stackless yield from at most 5 ns per level", ("yieldfrom", "yieldc:stackless"), 5.0)
    ten = mem.get(("yieldc:stackless", 10_000_000))
    if ten is None:
        print("target: at most 64 bytes of library state per generator: not measured")
        print("target: 10,000,000 live suspended generators in under 1 GiB RSS: not measured")
    else:
        lib = ten - DENSE_USER_BYTES
        print(f"target: at most 64 bytes of library state per generator: {ten:.1f} B of RSS each at 10^7 "
              f"minus {DENSE_USER_BYTES} B of user fields = {lib:.1f} B ({verdict(lib <= 64)})")
        gib = ten * 10_000_000 / 2**30
        print(f"target: 10,000,000 live suspended generators in under 1 GiB RSS: {gib:.3f} GiB "
              f"({verdict(gib < 1)})")
    ratio("stackful yc_iter_next within 10% of yc_next",
          ("roundtrip", "yieldc:stackful-yc_iter_next"), ("roundtrip", "yieldc:stackful-yc_next"), 1.10)
    ratio("stackful yield from (one level, per item) at most 0.5x CPython's",
          ("yieldfrom-1", "yieldc:stackful"), ("yieldfrom-1", "cpython"), 0.5)
    ratio("stackful yield from 100 levels deep about the one-level cost (at most 1.5x), per item",
          ("yieldfrom-100", "yieldc:stackful"), ("yieldfrom-1", "yieldc:stackful"), 1.5)
    ratio("stackful yield from 100 levels deep against CPython's 100 levels, per item",
          ("yieldfrom-100", "yieldc:stackful"), ("yieldfrom-100", "cpython"), 0.5)
    ratio("stackful generator pipeline (yieldc:plain) at most 0.3x CPython's generator expressions",
          ("pipeline-gen", "yieldc:plain"), ("pipeline-gen", "cpython"), 0.3)
    a, b = med.get(("roundtrip", "yieldc:raw-switch")), med.get(("pipeline-gen", "cpython"))
    if a and b:  # 20/7 round trips an item (docs/stackless.md, "The stackful kind's floor")
        print(f"  (its floor: the bare switch pair, {a:.2f} ns, x 20/7 round trips an item = "
              f"{a * 20 / 7:.2f} ns, {a * 20 / 7 / b:.3f}x CPython's)")
    a, b = med.get(("pipeline-gen", "yieldc:stackless")), med.get(("pipeline-gen", "cpython"))
    if a and b:
        print(f"  (stackless generator pipeline: {a:.2f} ns per item, {a / b:.3f}x CPython's; no target)")


SLEEPER_COLS = ["rss_bytes_per_task", "spawn_s", "cancel_join_s", "pte_bytes_per_task"]


def read_sleepers(raw_path, out_path):
    """Medians per system of each column of the sleeping-task runs; writes
    them to out_path. {system: {"tasks": n, "runs": k, col: median, ...}}."""
    if not os.path.exists(raw_path):
        return {}
    runs = {}
    with open(raw_path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 7:
                continue
            _, system, tasks = parts[:3]
            runs.setdefault((system, int(tasks)), []).append([float(x) for x in parts[3:]])
    out = {}
    for (system, tasks), rs in sorted(runs.items(), key=lambda kv: order(kv[0][0], SYSTEMS)):
        m = {"tasks": tasks, "runs": rs}
        for i, col in enumerate(SLEEPER_COLS):
            m[col] = statistics.median(r[i] for r in rs)
        out[system] = m
    if out:
        with open(out_path, "w") as f:
            f.write("system\ttasks\t" + "\t".join(SLEEPER_COLS) + "\n")
            for system, m in out.items():
                f.write(f"{system}\t{m['tasks']}\t{m['rss_bytes_per_task']:.0f}\t{m['spawn_s']:.4f}\t"
                        f"{m['cancel_join_s']:.4f}\t{m['pte_bytes_per_task']:.0f}\n")
    return out


def print_sleepers(sl):
    print(f"{'sleepers':<16} {'tasks':>8} {'RSS B/task':>10} {'RSS total':>10} {'spawn s':>8} "
          f"{'cancel+join s':>13} {'PTE B/task':>10} {'runs':>4}  spawn s min..max, cancel+join s min..max")
    for system, m in sl.items():
        total = m["rss_bytes_per_task"] * m["tasks"] / 2**30
        rs = m["runs"]
        print(f"{system:<16} {m['tasks']:>8} {m['rss_bytes_per_task']:>10.0f} {total:>8.2f} GiB "
              f"{m['spawn_s']:>8.3f} {m['cancel_join_s']:>13.3f} {m['pte_bytes_per_task']:>10.0f} "
              f"{len(rs):>4}  {min(r[1] for r in rs):.3f}..{max(r[1] for r in rs):.3f}, "
              f"{min(r[2] for r in rs):.3f}..{max(r[2] for r in rs):.3f}")
    print("(RSS: VmRSS growth from before the first spawn to when every task sleeps; PTE: VmPTE growth,"
          " page tables, not in RSS; spawn: until every task sleeps; cancel+join: cancel each, gather all)")


def verdict(ok):
    return "met" if ok else "NOT met"


def loop_targets(med, sl):
    """The event loop issue's targets (research/event-loop.md section 6)."""
    y = med.get(("spawn", "yieldc"))
    if y:
        peer = "asyncio-3.13" if ("spawn", "asyncio-3.13") in med else next(
            (s for (b, s) in sorted(med) if b == "spawn" and s.startswith("asyncio-3.1")
             and s != "asyncio-3.11" and s != "asyncio-3.12"), None)
        if peer:
            p = med[("spawn", peer)]
            print(f"target: spawn at least 15x {peer}'s tasks/s: yieldc {1e9 / y:,.0f} tasks/s, "
                  f"{peer} {1e9 / p:,.0f} tasks/s: {p / y:.2f}x ({verdict(p / y >= 15)})")
        else:
            print("target: spawn at least 15x asyncio 3.13's tasks/s: not measured (no asyncio 3.13+)")
        print(f"target: spawn at 2,000,000 tasks/s (the aim): yieldc {1e9 / y:,.0f} tasks/s "
              f"({verdict(1e9 / y >= 2e6)})")
        pool = med.get(("spawn", "yieldc:pool-1M"))
        if pool:
            ratio = f", {med[('spawn', peer)] / pool:.2f}x {peer}" if peer else ""
            print(f"  (diagnostic yieldc:pool-1M: {1e9 / pool:,.0f} tasks/s{ratio})")
    q = med.get(("pingpong", "yieldc"))
    f = med.get(("pingpong-future", "yieldc"))
    if q:
        print(f"target: ping-pong at most 100 ns per hop (yc_queue): {q:.1f} ns ({verdict(q <= 100)})")
    elif f:
        print(f"target: ping-pong at most 100 ns per hop: {f:.1f} ns through futures, yc_queue is not in this"
              f" library yet ({verdict(f <= 100)} through futures)")
    for system in ("yieldc", "yieldc:16k"):
        m = sl.get(system)
        if not m:
            continue
        n = m["tasks"]
        if n != 1_000_000:
            print(f"target: 1,000,000 sleeping tasks ({system}): not checked, this run had {n:,} tasks")
            continue
        gib = m["rss_bytes_per_task"] * n / 2**30
        what = "default stack" if system == "yieldc" else "16 KiB stacks"
        print(f"target: 1,000,000 sleeping tasks ({what}) in at most 5 GiB RSS: {gib:.2f} GiB "
              f"({verdict(gib <= 5)})")
        print(f"target: 1,000,000 sleeping tasks ({what}) spawned in at most 1 s: {m['spawn_s']:.2f} s "
              f"({verdict(m['spawn_s'] <= 1)})")
        print(f"target: 1,000,000 sleeping tasks ({what}) cancelled and joined in at most 2 s: "
              f"{m['cancel_join_s']:.2f} s ({verdict(m['cancel_join_s'] <= 2)})")


if __name__ == "__main__":
    main()
