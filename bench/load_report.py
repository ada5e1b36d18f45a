"""The load section of the report (bench/load.sh), run as
`python3 report.py load ...`:

    report.py load LOAD_RAW LOAD_TSV IDLE_RAW IDLE_TSV STARVE_RAW STARVE_TSV

LOAD_RAW: round, benchmark, connections, system, requests_per_s, p99_ms,
errors (one line per measurement). IDLE_RAW: round, system, connections,
rss_bytes_per_connection. STARVE_RAW: round, system, timers, p50_ms,
p99_ms, max_ms, timers_fired, flood_mib. Writes the medians (errors: the
largest of the rounds) and prints them with min and max, the ratios of
yieldc to each peer, and issue 11's targets with a verdict each. Only
figures measured in this run are printed.
"""
import math
import statistics

SYSTEMS = ["yieldc", "libuv", "asyncio-3.11", "uvloop", "node"]
BENCHMARKS = ["ping", "ping-inline", "http"]


def _order(key, known):
    return (known.index(key), key) if key in known else (len(known), key)


def _read(path, ncols):
    rows = []
    try:
        with open(path) as f:
            for line in f:
                cols = line.rstrip("\n").split("\t")
                if len(cols) == ncols:
                    rows.append(cols)
    except FileNotFoundError:
        pass
    return rows


def _med(xs):
    xs = [x for x in xs if not math.isnan(x)]
    return (statistics.median(xs), min(xs), max(xs)) if xs else (math.nan, math.nan, math.nan)


def _verdict(ok):
    return "met" if ok else "NOT met"


def load_main(argv):
    load_raw, load_tsv, idle_raw, idle_tsv, starve_raw, starve_tsv = argv
    groups = {}
    for _r, bench, conns, system, rps, p99, errs in _read(load_raw, 7):
        g = groups.setdefault((bench, int(conns), system), {"rps": [], "p99": [], "errors": []})
        g["rps"].append(float(rps))
        g["p99"].append(float(p99))
        g["errors"].append(int(errs))
    med = {}
    with open(load_tsv, "w") as out:
        out.write("benchmark\tconnections\tsystem\trequests_per_s\tp99_ms\terrors\n")
        for key in sorted(groups, key=lambda k: (_order(k[0], BENCHMARKS), k[1], _order(k[2], SYSTEMS))):
            g = groups[key]
            rps, p99, errs = _med(g["rps"]), _med(g["p99"]), max(g["errors"])
            med[key] = (rps[0], p99[0], errs)
            out.write(f"{key[0]}\t{key[1]}\t{key[2]}\t{rps[0]:.0f}\t{p99[0]:.3f}\t{errs}\n")
    print(f"  {'benchmark':<12} {'conns':>6} {'system':<13} {'requests/s [min-max]':>30} "
          f"{'p99 ms [min-max]':>26} {'errors':>6}  {'yieldc rps / this':>17}")
    for key in sorted(groups, key=lambda k: (_order(k[0], BENCHMARKS), k[1], _order(k[2], SYSTEMS))):
        g = groups[key]
        rps, p99 = _med(g["rps"]), _med(g["p99"])
        yc = med.get((key[0], key[1], "yieldc"))
        ratio = f"{yc[0] / rps[0]:.2f}x" if yc and rps[0] and not math.isnan(rps[0]) else "-"
        print(f"  {key[0]:<12} {key[1]:>6} {key[2]:<13} "
              f"{rps[0]:>10.0f} [{rps[1]:.0f}-{rps[2]:.0f}]".ljust(66) +
              f"{p99[0]:>8.3f} [{p99[1]:.3f}-{p99[2]:.3f}]".rjust(26) + f" {max(g['errors']):>6}  {ratio:>17}")

    idle = {}
    for _r, system, conns, per in _read(idle_raw, 4):
        idle.setdefault((system, int(conns)), []).append(float(per))
    if idle:
        print(f"\n  idle connections: RSS bytes per connection (median [min-max])")
        with open(idle_tsv, "w") as out:
            out.write("system\tconnections\trss_bytes_per_connection\n")
            for (system, conns), xs in sorted(idle.items(), key=lambda kv: _order(kv[0][0], SYSTEMS)):
                m = _med(xs)
                out.write(f"{system}\t{conns}\t{m[0]:.0f}\n")
                print(f"  {system:<13} {conns:>6} connections: {m[0]:>8.0f} [{m[1]:.0f}-{m[2]:.0f}]")

    starve = _read(starve_raw, 8)
    st = None
    if starve:
        p50 = _med([float(r[3]) for r in starve])
        p99 = _med([float(r[4]) for r in starve])
        mx = _med([float(r[5]) for r in starve])
        fired = _med([float(r[6]) for r in starve])
        st = p99[0]
        with open(starve_tsv, "w") as out:
            out.write("system\ttimers\tp50_ms\tp99_ms\tmax_ms\ttimers_fired\n")
            out.write(f"yieldc\t{starve[0][2]}\t{p50[0]:.3f}\t{p99[0]:.3f}\t{mx[0]:.3f}\t{fired[0]:.0f}\n")
        print(f"\n  starvation: {starve[0][2]} tasks sleeping 1 ms in a loop beside one reader whose socket always "
              f"has data;\n  timer lateness p50 {p50[0]:.3f} ms, p99 {p99[0]:.3f} ms [{p99[1]:.3f}-{p99[2]:.3f}], "
              f"max {mx[0]:.3f} ms; {fired[0]:.0f} timers fired (median of {len(starve)} runs)")

    print()

    def target_rps(bench, conns, peer, factor):
        yc, other = med.get((bench, conns, "yieldc")), med.get((bench, conns, peer))
        if not yc or not other or math.isnan(yc[0]) or not other[0]:
            print(f"target: {bench} at {conns} connections, requests/s at least {factor}x {peer}: not measured")
            return
        r = yc[0] / other[0]
        print(f"target: {bench} at {conns} connections, requests/s at least {factor}x {peer}: "
              f"{r:.2f}x ({_verdict(r >= factor)})")

    conns_seen = sorted({k[1] for k in med if k[0] == "ping"})
    for bench, conns in [("ping", c) for c in conns_seen] + [("http", 100)]:
        if (bench, conns, "yieldc") not in med:
            continue
        for peer, factor in (("libuv", 0.9), ("asyncio-3.11", 5), ("uvloop", 1.5)):
            target_rps(bench, conns, peer, factor)
        yc, uv = med[(bench, conns, "yieldc")], med.get((bench, conns, "libuv"))
        if uv and not math.isnan(yc[1]) and not math.isnan(uv[1]) and uv[1] > 0:
            r = yc[1] / uv[1]
            print(f"target: {bench} at {conns} connections, p99 at most 1.2x libuv's: {yc[1]:.3f} / {uv[1]:.3f} ms "
                  f"= {r:.2f}x ({_verdict(r <= 1.2)})")
        else:
            print(f"target: {bench} at {conns} connections, p99 at most 1.2x libuv's: not measured")
    many = [c for c in conns_seen if c >= 10000]
    if many:
        for c in many:
            errs = {k[2]: v[2] for k, v in med.items() if k[0] == "ping" and k[1] == c}
            e = errs.get("yieldc")
            others = ", ".join(f"{s} {n}" for s, n in sorted(errs.items(), key=lambda kv: _order(kv[0], SYSTEMS))
                               if s != "yieldc")
            print(f"target: zero errors at {c} connections (yieldc): "
                  f"{'not measured' if e is None else f'{e} ({_verdict(e == 0)})'}; peers: {others or '-'}")
    else:
        print("target: zero errors at 10,000 connections: not measured in this run")
    yi = [v for (s, _c), v in idle.items() if s == "yieldc"]
    if yi:
        m = _med(yi[0])[0]
        print(f"target: at most 5 KiB RSS per idle connection (yieldc): {m / 1024:.2f} KiB ({_verdict(m <= 5120)})")
    else:
        print("target: at most 5 KiB RSS per idle connection: not measured in this run")
    if st is not None:
        print(f"target: a reader that always has data delays others' timers by at most 2 ms at p99: "
              f"{st:.3f} ms ({_verdict(st <= 2)})")
    else:
        print("target: one-reader starvation check: not measured in this run")
