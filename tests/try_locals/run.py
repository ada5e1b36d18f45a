#!/usr/bin/env python3
"""ctest test_try_locals: tools/check_try_locals.py over our examples and
tests (must be clean), and over the cases in this directory (the program of
issue 14 and bad_cases.c must be flagged where expected, ok_cases.c not).
Usage: run.py SOURCE_DIR"""
import os
import subprocess
import sys

root = sys.argv[1]
tool = os.path.join(root, "tools", "check_try_locals.py")
here = os.path.join(root, "tests", "try_locals")
fails = 0


def run(paths):
    p = subprocess.run([sys.executable, tool] + paths, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def expect(cond, what, out=""):
    global fails
    if not cond:
        fails += 1
        print(f"FAIL: {what}\n{out}")
    else:
        print(f"ok: {what}")


# Everything we ship and test, except the deliberately bad cases here.
ours = [os.path.join(root, "examples")]
for dp, _, names in os.walk(os.path.join(root, "tests")):
    if os.path.abspath(dp) == os.path.abspath(here):
        continue
    ours += [os.path.join(dp, n) for n in sorted(names) if n.endswith((".c", ".h"))]
rc, out = run(ours)
expect(rc == 0, "examples/ and tests/ have no local changed in YC_TRY and read in a handler", out)

rc, out = run([os.path.join(here, "issue14_count.c")])
expect(rc == 1 and "issue14_count.c:14: 'count' is changed inside the YC_TRY at line 10 and read "
       "in its handler" in out, "[issue 14.1] the issue's program fails the check", out)

rc, out = run([os.path.join(here, "bad_cases.c")])
for line, name, where in [(12, "n", "in its handler"), (27, "total", "in its handler"),
                          (40, "s", "after it"), (49, "cur", "in its handler"),
                          (61, "done", "after it"), (71, "n", "after it")]:
    expect(f"bad_cases.c:{line}: '{name}' is changed inside" in out and where in out,
           f"bad_cases.c: '{name}' flagged at line {line}", out)
expect(rc == 1 and out.count("\n") == 6, "bad_cases.c: exactly 6 reports", out)

rc, out = run([os.path.join(here, "ok_cases.c")])
expect(rc == 0 and not out, "ok_cases.c: no false positive", out)

rc, out = run([os.path.join(here, "no_such_file.c")])
expect(rc == 2 and "no such file" in out, "a missing file is a usage error", out)

sys.exit(1 if fails else 0)
