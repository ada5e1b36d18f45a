#!/usr/bin/python3
"""Formatting differential test: yieldc against the CPython running this
script (README.md beside this file).

    fmtdiff.py --runner R SEED N     N random cases of seed SEED, plus the
                                     fixed edge cases; exit 0 when every
                                     one formats as CPython formats it
    fmtdiff.py --print SEED N        print the cases and CPython's answers

Each case is a value (None, bool, int, float, bytes, tuple) or an
exception (a built-in type with no argument, a message, a value, an errno
with or without a file name, or a group of them). CPython formats it with
repr() (values) or with traceback.format_exception_only's last line, str()
and repr() (exceptions); fmt_runner formats it with yc_val_format, or with
yc_exc_format, yc_exc_str and yc_exc_repr. Case i of seed s depends on
(s, i) only.
"""
import asyncio
import builtins
import errno as errno_mod
import math
import os
import random
import struct
import subprocess
import sys
import traceback

# ---- the exception types both sides know ---------------------------------

# The types of yieldc's built-in hierarchy whose constructor takes what
# yc_exc_new takes (asyncio's LimitOverrunError and IncompleteReadError take
# other arguments; QueueShutDown is 3.13's). SubprocessError is subprocess's.
TYPE_NAMES = """BaseException SystemExit KeyboardInterrupt GeneratorExit CancelledError
Exception StopIteration StopAsyncIteration AttributeError MemoryError TypeError EOFError
AssertionError ArithmeticError ZeroDivisionError OverflowError LookupError IndexError
KeyError OSError FileNotFoundError TimeoutError RuntimeError NotImplementedError
RecursionError ValueError FileExistsError PermissionError BlockingIOError
InterruptedError IsADirectoryError NotADirectoryError ChildProcessError
ProcessLookupError ConnectionError ConnectionResetError BrokenPipeError
ConnectionRefusedError ConnectionAbortedError BrokenBarrierError InvalidStateError
QueueEmpty QueueFull SubprocessError""".split()


def py_type(name):
    return (getattr(builtins, name, None) or getattr(asyncio, name, None)
            or getattr(subprocess, name))


ERRNOS = [errno_mod.ENOENT, errno_mod.EACCES, errno_mod.EPERM, errno_mod.EEXIST,
          errno_mod.EISDIR, errno_mod.ENOTDIR, errno_mod.EAGAIN, errno_mod.EINTR,
          errno_mod.ECONNRESET, errno_mod.EPIPE, errno_mod.ECONNREFUSED,
          errno_mod.ETIMEDOUT, errno_mod.ECHILD, errno_mod.ESRCH, errno_mod.EIO,
          errno_mod.ENOMEM, errno_mod.EINVAL, errno_mod.EBADF, errno_mod.ENOSPC]

# ---- random values -------------------------------------------------------

EDGE_FLOATS = [0.0, -0.0, math.inf, -math.inf, math.nan, 10.0, 100.0, 1e16, 1e15,
               9999999999999998.0, 1e17, 1e-5, 1e-4, 0.0001234, 0.1, 0.2, 0.3, 1 / 3,
               2 / 3, 1.5, 22.0, -2.5, 5e-324, 1e-323, 2.2250738585072014e-308,
               2.225073858507201e-308, 1.7976931348623157e308, 1e22, 1e23, 1e308,
               123456789012345678.0, 0.1 + 0.2, 4.35, 9007199254740993.0, 2.0 ** 63,
               -2.0 ** 63, 2.0 ** -1074, 2.0 ** 1023, 1e-7, 123.456, 1e100, 1.2e-10]
EDGE_INTS = [0, 1, -1, 2 ** 63 - 1, -2 ** 63, 10 ** 18, -10 ** 18, 255, 256]
BYTE_POOL = b"abcXYZ019 '\"\\\t\n\r\x00\x01\x1f\x7f\x80\xff\xe9"
CHAR_POOL = ("abcxyz ABC019 .,:;!?-_/'\"\\\t\n\r\x01\x1f\x7f"
             "\x80\x9f\xa0\xad\xe9\xfc\xff\u0100\u0378\u037e\u200b\u2028\u2029\u20ac"
             "\u4e2d\u6587\ud7a3\ue000\ufeff\ufffd\uffff\U0001f600\U0001f4a9\U000e0001"
             "\U0010fffd\u0301\u0915\u093f")
SAFE_NAME = "abcdefghijklmnopqrstuvwxyz0123456789_./-"


def rand_float(r):
    k = r.randrange(8)
    if k == 0:
        return r.choice(EDGE_FLOATS)
    if k == 1:  # any bit pattern
        return struct.unpack("<d", r.getrandbits(64).to_bytes(8, "little"))[0]
    if k == 2:  # a power of two: the lopsided rounding intervals
        return math.ldexp(1.0, r.randrange(-1074, 1024)) * r.choice((1, -1))
    if k == 3:  # a short decimal
        return round(r.uniform(-1e6, 1e6), r.randrange(0, 8))
    if k == 4:  # a power of ten and its neighbours
        x = 10.0 ** r.randrange(-30, 31)
        return r.choice((x, math.nextafter(x, math.inf), math.nextafter(x, 0.0)))
    if k == 5:
        return float(r.getrandbits(r.randrange(1, 70)))
    if k == 6:
        return r.random() * 10.0 ** r.randrange(-320, 300)
    return r.uniform(-1, 1) / r.choice((3, 7, 9, 11, 1000, 3e10))


def rand_int(r):
    k = r.randrange(3)
    if k == 0:
        return r.choice(EDGE_INTS)
    if k == 1:
        return r.randrange(-1000, 1000)
    return r.randrange(-2 ** 63, 2 ** 63)


def rand_bytes(r):
    return bytes(r.choice(BYTE_POOL) for _ in range(r.randrange(0, 12)))


def rand_text(r, empty_ok):
    n = r.randrange(0 if empty_ok else 1, 12)
    return "".join(r.choice(CHAR_POOL) for _ in range(n))


def rand_value(r, depth=0, none_ok=True):
    k = r.randrange(8 if depth < 3 else 7)
    if k == 0:
        return None if none_ok else r.random() < 0.5
    if k == 1:
        return r.random() < 0.5
    if k == 2:
        return rand_int(r)
    if k in (3, 4):
        return rand_float(r)
    if k in (5, 6):
        return rand_bytes(r)
    return tuple(rand_value(r, depth + 1) for _ in range(r.choice((0, 1, 1, 2, 3))))


def rand_exc(r, depth=0):
    """(python exception, case tokens)"""
    k = r.randrange(12 if depth < 2 else 11)
    if k < 2:
        name = r.choice(TYPE_NAMES)
        return py_type(name)(), ["X", name, "-"]
    if k < 6:
        name = r.choice(TYPE_NAMES + ["KeyError"] * 8)
        text = rand_text(r, False)
        return py_type(name)(text), ["X", name, "m", hexs(text.encode())]
    if k < 8:
        name = r.choice(TYPE_NAMES + ["KeyError"] * 8)
        v = rand_value(r, none_ok=False)
        return py_type(name)(v), ["X", name, "v"] + val_tokens(v)
    if k < 11:
        err = r.choice(ERRNOS)
        # the class CPython's OSError(errno, ...) picks, named explicitly
        name = type(OSError(err, os.strerror(err))).__name__
        if r.random() < 0.5:
            return (py_type(name)(err, os.strerror(err)), ["X", name, "e", str(err), "-"])
        fname = "".join(r.choice(SAFE_NAME) for _ in range(r.randrange(1, 10)))
        return (py_type(name)(err, os.strerror(err), fname),
                ["X", name, "e", str(err), hexs(fname.encode())])
    members = [rand_exc(r, depth + 1) for _ in range(r.randrange(1, 4))]
    msg = rand_text(r, True)
    toks = ["X", "-", "g", hexs(msg.encode()), str(len(members))]
    for _, t in members:
        toks += t
    return BaseExceptionGroup(msg, [e for e, _ in members]), toks


def hexs(b):
    return b.hex() or "-"


def val_tokens(v):
    if v is None:
        return ["N"]
    if v is True or v is False:
        return ["T" if v else "F"]
    if isinstance(v, int):
        return ["i%d" % v]
    if isinstance(v, float):
        return ["f%016x" % struct.unpack("<Q", struct.pack("<d", v))[0]]
    if isinstance(v, bytes):
        return ["b" + v.hex()]
    out = ["("]
    for x in v:
        out += val_tokens(x)
    return out + [")"]


def exc_line(e):
    """The last line of CPython's traceback, without the module that
    qualifies a type outside builtins (asyncio.exceptions.CancelledError):
    yieldc's types have no module (a documented departure)."""
    line = "".join(traceback.format_exception_only(type(e), e))
    line = line[:-1] if line.endswith("\n") else line
    mod = type(e).__module__
    if mod != "builtins" and line.startswith(mod + "."):
        line = line[len(mod) + 1:]
    return line


def cases(seed, n):
    """(tokens, CPython's expected output line) for the edge cases, then
    n random ones."""
    for f in EDGE_FLOATS:
        yield val_tokens(f), expect_val(f)
    for i in range(n):
        r = random.Random("%s:%d" % (seed, i))
        if r.random() < 0.5:
            v = rand_value(r)
            yield val_tokens(v), expect_val(v)
        else:
            e, toks = rand_exc(r)
            yield toks, "X " + " ".join(hexs(s.encode()) for s in (exc_line(e), str(e), repr(e)))


def expect_val(v):
    return "V " + hexs(repr(v).encode())


def show(h):
    return repr(bytes.fromhex(h).decode("utf-8", "backslashreplace")) if h != "-" else "''"


def main():
    args = sys.argv[1:]
    if args[:1] == ["--print"]:
        for toks, want in cases(args[1], int(args[2])):
            print(" ".join(toks), "->", want)
        return 0
    if args[:1] != ["--runner"] or len(args) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    runner, seed, n = args[1], args[2], int(args[3])
    todo = list(cases(seed, n))
    inp = "".join(" ".join(t) + "\n" for t, _ in todo)
    p = subprocess.run([runner], input=inp.encode(), stdout=subprocess.PIPE)
    got = p.stdout.decode().splitlines()
    if p.returncode != 0:
        print("fmtdiff: runner exited with %d after %d of %d cases" %
              (p.returncode, len(got), len(todo)))
        if len(got) < len(todo):
            print("  at case:", " ".join(todo[len(got)][0]))
        return 1
    bad = 0
    labels = ("traceback line", "str", "repr")
    for (toks, want), have in zip(todo, got):
        if want == have:
            continue
        bad += 1
        if bad <= 20:
            print("DIFF case:", " ".join(toks))
            for label, w, h in zip(labels if want[0] == "X" else ("repr",),
                                   want.split()[1:], have.split()[1:]):
                if w != h:
                    print("  %-14s CPython %s" % (label, show(w)))
                    print("  %-14s yieldc  %s" % ("", show(h)))
    print("fmtdiff: %d cases (seed %s, CPython %d.%d.%d), %d differ" %
          (len(todo), seed, *sys.version_info[:3], bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
