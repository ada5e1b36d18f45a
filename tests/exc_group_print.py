"""CPython's side of test_exc_group.c's printing comparison.

Builds the exception trees of the scenarios below (test_exc_group.c builds
the same ones in C, under the same names) and prints each with
traceback.print_exception, after a line "=== NAME". Tracebacks are
normalised as the C side normalises its own: source lines are not looked
up, and each run of "File" lines becomes one line "<margin>  File". The
output of CPython 3.13 is stored in exc_group_print.expected:

    python3.13 tests/exc_group_print.py > tests/exc_group_print.expected
"""
import io
import linecache
import re
import sys
import traceback

linecache.getline = lambda *args, **kwargs: ''
linecache.getlines = lambda *args, **kwargs: []

SCENARIOS = []


def scenario(fn):
    SCENARIOS.append(fn)
    return fn


def raised(e):
    """e after a raise and catch: it has a traceback, and the exception
    being handled, if any, as its context."""
    try:
        raise e
    except BaseException as x:
        return x


def raised_during(e, handling):
    """e raised while handling `handling` (raised first)."""
    try:
        raise handling
    except BaseException:
        return raised(e)


def raised_from(e, cause):
    try:
        raise e from cause
    except BaseException as x:
        return x


EG = ExceptionGroup


@scenario
def taskgroup():
    return EG('unhandled errors in a TaskGroup', [ValueError('1'), TypeError('2')])


@scenario
def one_member():
    return EG('m', [ValueError('x')])


@scenario
def empty_message():
    return EG('', [ValueError()])


@scenario
def base_group():
    return BaseExceptionGroup('b', [KeyboardInterrupt(), ValueError('v')])


@scenario
def nested():
    inner = EG('inner', [ValueError('a'), OSError('b')])
    return EG('outer', [inner, RuntimeError('c')])


@scenario
def nested_last():
    inner = EG('inner', [ValueError('a'), EG('innermost', [OSError('b')])])
    return EG('outer', [RuntimeError('c'), inner])


@scenario
def member_cause():
    v = ValueError('x')
    v.__cause__ = TypeError('k')
    return EG('m', [v, OSError('o')])


@scenario
def member_cause_group():
    v = ValueError('x')
    v.__cause__ = EG('cause', [TypeError('k'), OSError('o')])
    return EG('m', [v])


@scenario
def member_context_group_last():
    leaf = raised_during(TypeError('leaf'), EG('g2', [ValueError('z')]))
    return EG('top', [ValueError('1'), leaf])


@scenario
def leaf_with_group_context():
    return raised_during(ValueError('top'), EG('ctx', [raised(TypeError('t'))]))


@scenario
def raised_groups():
    inner = raised(EG('inner', [raised(ValueError('1'))]))
    return raised(EG('r', [inner, TypeError('2')]))


@scenario
def group_from_cause():
    return raised_from(EG('g', [ValueError('1')]), OSError('why'))


@scenario
def group_from_none():
    try:
        raise OSError('hidden')
    except BaseException:
        return raised_from(EG('g', [ValueError('1')]), None)


@scenario
def shared_context():
    c = raised(OSError('shared'))
    a = raised_during(ValueError('a'), c)
    b = raised_during(TypeError('b'), c)
    return EG('sh', [a, b])


@scenario
def group_and_members_share_context():
    c = raised(OSError('shared'))
    a = raised_during(ValueError('a'), c)
    b = raised_during(TypeError('b'), c)
    return raised_during(EG('g', [a, b]), c)


@scenario
def same_member_twice():
    c = raised(OSError('c'))
    e = raised_during(ValueError('same'), c)
    return EG('twice', [e, e])


@scenario
def hidden_member_takes_shared_context():
    c = raised(OSError('c'))
    members = [ValueError(str(i)) for i in range(17)]
    members[0] = raised_during(ValueError('first'), c)
    members[16] = raised_during(ValueError('hidden'), c)
    return EG('w', members)


@scenario
def deep():
    g = ValueError('leaf')
    for i in range(12):
        g = EG(f'd{i}', [g])
    return g


@scenario
def deep_chain_inside():
    g = ValueError('leaf')
    for i in range(9):
        g = EG(f'd{i}', [g])
    v = ValueError('v')
    v.__cause__ = EG('c', [EG('cc', [TypeError('t')])])
    return EG('top', [g, v])


@scenario
def wide15():
    return EG('w', [ValueError(str(i)) for i in range(15)])


@scenario
def wide16():
    return EG('w', [ValueError(str(i)) for i in range(16)])


@scenario
def wide20_nested():
    return EG('outer', [EG('w', [TypeError(str(i)) for i in range(20)]), ValueError('x')])


@scenario
def multiline():
    return EG('top\nsecond', [ValueError('a\nb'), EG('in\nner', [TypeError('c\nd')])])


@scenario
def stop_iteration_value():
    return EG('v', [StopIteration(3), StopIteration()])


def split_source():
    c = raised(OSError('ctx'))
    inner = EG('n', [ValueError('3'), OSError('4')])
    g = EG('s', [ValueError('1'), TypeError('2'), inner])
    try:
        raise c
    except BaseException:
        return raised_from(g, RuntimeError('cause'))


@scenario
def split_match():
    return split_source().split(ValueError)[0]


@scenario
def split_rest():
    return split_source().split(ValueError)[1]


@scenario
def split_context_suppressed():
    g = raised_during(EG('s', [ValueError('1'), TypeError('2')]), OSError('ctx'))
    return g.split(TypeError)[1]


@scenario
def split_base_group():
    g = BaseExceptionGroup('b', [KeyboardInterrupt(), ValueError('v'), TypeError('t')])
    return g.split(KeyboardInterrupt)[1]


FILE_LINE = re.compile(r'^( *(?:[|+] )?)  File ')


def normalise(text):
    out = []
    for line in text.splitlines():
        m = FILE_LINE.match(line)
        if m:
            line = m.group(1) + '  File'
            if out and out[-1] == line:
                continue
        out.append(line)
    return '\n'.join(out) + '\n'


def main():
    for fn in SCENARIOS:
        buf = io.StringIO()
        traceback.print_exception(fn(), file=buf)
        sys.stdout.write(f'=== {fn.__name__}\n')
        sys.stdout.write(normalise(buf.getvalue()))


if __name__ == '__main__':
    main()
