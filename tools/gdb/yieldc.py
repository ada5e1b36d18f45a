# yieldc's gdb extension: the generators of the process being debugged.
#
#   (gdb) source /usr/local/share/yieldc/gdb/yieldc.py   (or auto-loaded)
#   (gdb) yc gens          list the live generators
#   (gdb) yc bt GEN        backtrace of a suspended generator, on its own stack
#   (gdb) yc exc GEN       the exceptions a generator holds
#
# GEN is a number from the last `yc gens`, a generator's name, or an
# address expression (a yc_gen *). docs/debugging.md says how it works and
# what it costs; in short, it needs the library's debug information (a
# RelWithDebInfo or Debug build) and a live process, and the library pays
# nothing for it: generators are found by walking the process's anonymous
# mappings, where each generator's header sits at the top of its stack.
#
# Written against gdb's own Python API (gdb 9 or later).

import os
import struct

import gdb

GEN_MAGIC = 0x7963476E  # YC__GEN_MAGIC, "ycGn"
GEN_MAGIC_FROM = 0x7963476F  # YC__GEN_MAGIC_FROM, "ycGo": suspended in yield from over a generator
GEN_DEAD = 0x64656164  # YC__GEN_DEAD, "dead": a freed generator's header
STATES = {0: "GEN_CREATED", 1: "GEN_RUNNING", 2: "GEN_SUSPENDED", 3: "GEN_CLOSED"}
# The library's own generator functions, and the kind of generator each makes.
KINDS = {"stage_body": "stage", "gx_body": "genexpr"}

# The frame the x86-64 assembly switch leaves on a suspended stack (the
# table at the top of src/arch/switch_x86_64_sysv_elf.S): register -> offset
# from the saved stack pointer; the return address is at 0x38 and the stack
# pointer after the return is the saved one + 0x40.
X86_64_FRAME = {"r15": 0x08, "r14": 0x10, "r13": 0x18, "r12": 0x20, "rbx": 0x28, "rbp": 0x30}
X86_64_RET, X86_64_FRAME_SIZE = 0x38, 0x40
# The same registers in a ucontext_t's gregs (glibc's REG_* on x86-64).
X86_64_GREGS = {"r12": 4, "r13": 5, "r14": 6, "r15": 7, "rbp": 10, "rbx": 11, "rsp": 15, "rip": 16}

_last = []  # the generators of the last `yc gens`, for GEN numbers


class Error(gdb.GdbError):
    pass


def _layout():
    """The library's types and offsets, from its debug information."""
    try:
        gen_ptr = gdb.parse_and_eval("(struct yc_gen *)0").type
    except gdb.error:
        raise Error("yieldc: no debug information for struct yc_gen: is the program linked "
                    "with yieldc, built RelWithDebInfo or Debug (the library's -g)?")
    gen = gen_ptr.target()
    size = gen.sizeof
    header = ((size + 256) + 63) & ~63  # YC__GEN_HEADER_MAX (src/internal.h)

    def off(field):
        return int(gdb.parse_and_eval("(long)&((struct yc_gen *)0)->%s" % field))

    return {"ptr": gen_ptr, "header": header, "magic": off("magic"), "map": off("stack.map"),
            "map_size": off("stack.map_size")}


def _read(inf, addr, fmt):
    return struct.unpack(fmt, bytes(inf.read_memory(addr, struct.calcsize(fmt))))


def _mappings(inf):
    """(start, end) of the anonymous read-write mappings of the inferior."""
    out = []
    if inf.pid > 0 and os.path.exists("/proc/%d/maps" % inf.pid):
        with open("/proc/%d/maps" % inf.pid) as f:
            for line in f:
                parts = line.split()
                lo, hi = (int(x, 16) for x in parts[0].split("-"))
                name = parts[5] if len(parts) > 5 else ""
                if parts[1].startswith("rw") and name == "":
                    out.append((lo, hi))
        return out
    raise Error("yieldc: the generator list needs a live process (no /proc/PID/maps here)")


def _page():
    try:
        return os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        return 4096


def find_generators():
    """Every generator header (live or not yet freed) in the inferior, as
    gdb.Values of type struct yc_gen *, top of the address space first.

    A stack mapping holds [guard page | stack | header + name]; adjacent
    stacks may share one kernel mapping (they do with guard regions), so
    each mapping is walked down from its top: where a header with the
    magic number sits, the walk jumps to the start of that stack; elsewhere
    it steps down a page."""
    inf = gdb.selected_inferior()
    lay = _layout()
    page = _page()
    found = []
    for lo, hi in sorted(_mappings(inf), reverse=True):
        top = hi
        while top - lay["header"] >= lo:
            g = top - lay["header"]
            try:
                (magic,) = _read(inf, g + lay["magic"], "<I")
                (smap, ssize) = _read(inf, g + lay["map"], "<QQ")
            except gdb.MemoryError:
                magic = 0
            if magic in (GEN_MAGIC, GEN_MAGIC_FROM, GEN_DEAD) and smap + ssize == top and lo <= smap < top:
                if magic in (GEN_MAGIC, GEN_MAGIC_FROM):
                    found.append(gdb.Value(g).cast(lay["ptr"]))
                top = smap
            else:
                top -= page
    return found


def _thread_sps():
    """(gdb thread, stack pointer) of every thread, for running generators."""
    inf = gdb.selected_inferior()
    cur = gdb.selected_thread()
    out = []
    try:
        for t in inf.threads():
            t.switch()
            out.append((t, int(gdb.newest_frame().read_register("sp"))))
    finally:
        if cur is not None:
            cur.switch()
    return out


def _saved_sp(g):
    """The stack pointer a suspended generator was left with, or None."""
    ctx = g["co"]["ctx"]
    names = [f.name for f in ctx.type.strip_typedefs().fields()]
    if "sp" in names:
        return int(ctx["sp"].cast(gdb.lookup_type("long")))
    if "uc" in names and _arch() == "x86-64":
        return int(ctx["uc"]["uc_mcontext"]["gregs"][X86_64_GREGS["rsp"]])
    return None


def _arch():
    name = gdb.selected_inferior().architecture().name()
    return "x86-64" if "x86-64" in name else name


def _state(g):
    """g's state as yc_gen_state_of shows it: a covered level of a yield
    from chain (4, YC__GEN_COVERED) is running when its cover is; a cover
    whose levels are being given back (5, YC__GEN_UNCOVERING) is suspended."""
    s = int(g["state"])
    for _ in range(64):
        if s == 5:
            return 2
        if s != 4:
            return s
        c = g["cover"]
        if int(c) == 0:
            return 2
        g = c
        s = int(g["state"])
        if s != 4:
            return 1 if s == 1 else 2
    return 2


def describe(g, sps):
    """A dict about generator g (a struct yc_gen *)."""
    addr = int(g)
    stack_lo = int(g["stack"]["map"]) + _page()
    size = addr - stack_lo
    state = STATES.get(_state(g), "state %d" % _state(g))
    used, where = 0, ""
    if state == "GEN_SUSPENDED":
        sp = _saved_sp(g)
        used = addr - sp if sp is not None and stack_lo <= sp < addr else 0
    elif state == "GEN_RUNNING":
        for t, sp in sps:
            if stack_lo <= sp < addr:
                used, where = addr - sp, "running on thread %d" % t.num
    fn = gdb.block_for_pc(int(g["fn"].cast(gdb.lookup_type("long"))))
    fname = fn.function.name if fn is not None and fn.function is not None else ""
    kind = KINDS.get(fname, "generator")
    if bool(g["co"]["parked"]):
        where = where or "awaiting (a task's chain)"
    try:
        name = g["name"].string()
    except gdb.error:
        name = "?"
    return {"addr": addr, "name": name, "kind": kind, "state": state, "size": size,
            "used": used, "where": where, "fn": fname}


def select(arg):
    """A struct yc_gen * from a GEN argument."""
    arg = arg.strip()
    if not arg:
        raise Error("yieldc: which generator? give a number from `yc gens`, a name or an address")
    if arg.isdigit() and _last and 1 <= int(arg) <= len(_last):
        return _last[int(arg) - 1]
    gens = find_generators()
    named = [g for g in gens if describe(g, [])["name"] == arg]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise Error("yieldc: %d generators are named '%s': give a number from `yc gens`"
                    % (len(named), arg))
    try:
        addr = int(gdb.parse_and_eval(arg))
    except gdb.error:
        raise Error("yieldc: no generator '%s' (not a number from `yc gens`, a name or an "
                    "address)" % arg)
    for g in gens:
        if int(g) == addr:
            return g
    raise Error("yieldc: 0x%x is not a live generator" % addr)


def exc_text(e):
    """'Type: message' of a struct yc_exc *."""
    t = e["type"]
    name = t["name"].string() if int(t) and int(t["name"]) else "?"
    msg = e["msg"].string() if int(e["msg"]) else ""
    return "%s: %s" % (name, msg) if msg else name


class YcPrefix(gdb.Command):
    """yieldc's generators: yc gens, yc bt GEN, yc exc GEN."""

    def __init__(self):
        super().__init__("yc", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class YcGens(gdb.Command):
    """List the live generators: number, address, state, kind, stack size and
    the bytes of it in use (for a suspended generator: down to its saved
    stack pointer; for a running one: down to its thread's), and name."""

    def __init__(self):
        super().__init__("yc gens", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        global _last
        _last = find_generators()
        sps = _thread_sps()
        print("%3s  %-18s  %-13s  %-9s  %10s  %8s  %s"
              % ("#", "address", "state", "kind", "stack", "used", "name"))
        for i, g in enumerate(_last, 1):
            d = describe(g, sps)
            print("%3d  0x%016x  %-13s  %-9s  %10d  %8d  %s%s"
                  % (i, d["addr"], d["state"], d["kind"], d["size"], d["used"], d["name"],
                     "  (%s)" % d["where"] if d["where"] else ""))
        print("%d live generator%s" % (len(_last), "" if len(_last) == 1 else "s"))


class YcBt(gdb.Command):
    """Backtrace of a suspended generator: its frames on its own stack, from
    the point where it yielded down to its entry. The registers of the
    selected thread are set to the generator's saved ones for the time of
    the backtrace and restored after. yc bt GEN [bt options, e.g. full]."""

    def __init__(self):
        super().__init__("yc bt", gdb.COMMAND_STACK)

    def invoke(self, arg, from_tty):
        parts = arg.split(None, 1)
        g = select(parts[0] if parts else "")
        extra = parts[1] if len(parts) > 1 else ""
        d = describe(g, _thread_sps())
        if d["state"] != "GEN_SUSPENDED":
            what = {"GEN_CREATED": "has not started: no frames yet",
                    "GEN_CLOSED": "is closed: no frames",
                    "GEN_RUNNING": "is running: select its thread and use bt"}.get(d["state"], "")
            if d["where"]:
                what += " (%s)" % d["where"]
            print("generator '%s' %s" % (d["name"], what))
            return
        if _arch() != "x86-64":
            raise Error("yieldc: yc bt knows the switch frame of x86-64 only, not %s" % _arch())
        regs = self._saved_regs(g)
        if regs is None:
            raise Error("yieldc: cannot read the saved context of this build's switch")
        print("generator '%s' (0x%x), suspended:" % (d["name"], d["addr"]))
        _with_regs(regs, lambda: gdb.execute("bt " + extra))

    @staticmethod
    def _saved_regs(g):
        inf = gdb.selected_inferior()
        ctx = g["co"]["ctx"]
        names = [f.name for f in ctx.type.strip_typedefs().fields()]
        if "sp" in names:
            sp = _saved_sp(g)
            regs = {r: _read(inf, sp + o, "<Q")[0] for r, o in X86_64_FRAME.items()}
            regs["rip"] = _read(inf, sp + X86_64_RET, "<Q")[0]
            regs["rsp"] = sp + X86_64_FRAME_SIZE
            return regs
        if "uc" in names:
            gregs = ctx["uc"]["uc_mcontext"]["gregs"]
            return {r: int(gregs[i]) & 0xFFFFFFFFFFFFFFFF for r, i in X86_64_GREGS.items()}
        return None


def _with_regs(regs, fn):
    """Runs fn with the selected thread's registers set to regs, then puts
    them back (and the selected frame)."""
    try:
        level = gdb.selected_frame().level()
    except gdb.error:
        level = 0
    gdb.newest_frame().select()
    frame = gdb.selected_frame()
    saved = {r: int(frame.read_register(r)) & 0xFFFFFFFFFFFFFFFF for r in regs}
    try:
        for r, v in regs.items():
            gdb.execute("set $%s = %d" % (r, v), to_string=True)
        fn()
    finally:
        gdb.newest_frame().select()
        for r, v in saved.items():
            gdb.execute("set $%s = %d" % (r, v), to_string=True)
        try:
            gdb.execute("frame %d" % level, to_string=True)
        except gdb.error:
            pass


class YcExc(gdb.Command):
    """The exceptions a generator holds: the one being handled in it (what
    yc_exc_current() returns there, Python's sys.exception()), the one to
    be raised where it resumes (a throw or close under way), and its error
    indicator; each with its __context__ chain."""

    def __init__(self):
        super().__init__("yc exc", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        g = select(arg)
        d = describe(g, [])
        print("generator '%s' (0x%x), %s:" % (d["name"], d["addr"], d["state"]))
        co = g["co"]
        rows = [("being handled", co["exc_info"]), ("to raise on resume", g["exc_in"]),
                ("error indicator", co["err"])]
        any_ = False
        for label, e in rows:
            if int(e):
                any_ = True
                print("  %s: %s" % (label, exc_text(e)))
                ctx, depth = e["context"], 0
                while int(ctx) and depth < 8:
                    print("    during the handling of: %s" % exc_text(ctx))
                    ctx, depth = ctx["context"], depth + 1
        if not any_:
            print("  no exception")


YcPrefix()
YcGens()
YcBt()
YcExc()
