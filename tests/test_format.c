/* Python's formatting of values and exceptions (yc_val_format, yc_exc_str,
 * yc_exc_repr, yc_exc_format), the names of value types, and the helpers a
 * newcomer reaches for: yc_err_print, YC_EXCEPT_TYPES, YC_CHECK_PTR, the
 * flush before a fatal abort. The random comparison with CPython is
 * tests/conformance/fmtdiff; these are the cases named in docs/api.md.
 *
 * Built with -Wshadow as an error: the nested YC_TRY and YC_WITH below
 * must not warn. */
#pragma GCC diagnostic error "-Wshadow"
#include "test.h"

#include <errno.h>
#include <math.h>

static void check_val_text(const char *file, int line, yc_val v, const char *want)
{
    char buf[256];
    int n = yc_val_format(v, buf, sizeof buf);
    if (strcmp(buf, want) != 0) test_fail(file, line, "repr: got %s, want %s", buf, want);
    if (n != (int)strlen(want)) test_fail(file, line, "length %d, want %zu", n, strlen(want));
}
#define CHECK_REPR(v, want) check_val_text(__FILE__, __LINE__, (v), (want))

TEST(float_repr_is_the_shortest_round_trip)
{
    CHECK_REPR(yc_float(10.0), "10.0");
    CHECK_REPR(yc_float(100.0), "100.0");
    CHECK_REPR(yc_float(22.0), "22.0");
    CHECK_REPR(yc_float(1e15), "1000000000000000.0");
    CHECK_REPR(yc_float(1e16), "1e+16");
    CHECK_REPR(yc_float(1.5e16), "1.5e+16");
    CHECK_REPR(yc_float(9999999999999998.0), "9999999999999998.0");
    CHECK_REPR(yc_float(1e-4), "0.0001");
    CHECK_REPR(yc_float(1e-5), "1e-05");
    CHECK_REPR(yc_float(1.25e-7), "1.25e-07");
    CHECK_REPR(yc_float(0.1), "0.1");
    CHECK_REPR(yc_float(0.1 + 0.2), "0.30000000000000004");
    CHECK_REPR(yc_float(1.0 / 3), "0.3333333333333333");
    CHECK_REPR(yc_float(2.0 / 3), "0.6666666666666666");
    CHECK_REPR(yc_float(-2.5), "-2.5");
    CHECK_REPR(yc_float(0.0), "0.0");
    CHECK_REPR(yc_float(-0.0), "-0.0");
    CHECK_REPR(yc_float(INFINITY), "inf");
    CHECK_REPR(yc_float(-INFINITY), "-inf");
    CHECK_REPR(yc_float(NAN), "nan");
    CHECK_REPR(yc_float(-NAN), "nan");
    CHECK_REPR(yc_float(5e-324), "5e-324");
    CHECK_REPR(yc_float(1.7976931348623157e308), "1.7976931348623157e+308");
    CHECK_REPR(yc_float(1e22), "1e+22");
    CHECK_REPR(yc_float(1e23), "1e+23");
    CHECK_REPR(yc_float(123456789012345678.0), "1.2345678901234568e+17");
    CHECK_REPR(yc_float(9007199254740993.0), "9007199254740992.0");
    /* a power of two, where the nearest 17-digit form does not read back */
    CHECK_REPR(yc_float(0x1p-1022), "2.2250738585072014e-308");
    CHECK_REPR(yc_float(0x1p1023), "8.98846567431158e+307");
}

TEST(value_repr_of_every_kind)
{
    CHECK_REPR(YC_NONE, "None");
    CHECK_REPR(yc_bool(true), "True");
    CHECK_REPR(yc_bool(false), "False");
    CHECK_REPR(yc_int(INT64_MIN), "-9223372036854775808");
    CHECK_REPR(yc_bytes("a\n\0'", 4), "b\"a\\n\\x00'\"");
    CHECK_REPR(yc_bytes("'\"\\\x7f\x80", 5), "b'\\'\"\\\\\\x7f\\x80'");
    CHECK_REPR(yc_bytes(NULL, 0), "b''");
    /* no cut at 200 bytes any more: the repr is Python's, whole */
    char big[300];
    memset(big, 'x', sizeof big);
    CHECK_EQ_INT(yc_val_format(yc_bytes(big, sizeof big), NULL, 0), 303);

    struct { size_t len; yc_val items[3]; } t0 = {0, {{{0}, 0}}}, t1 = {1, {yc_int(1)}},
        t3 = {3, {yc_float(10.0), yc_str("s"), YC_NONE}};
    CHECK_REPR(yc_tuple_val((const yc_tuple *)&t0), "()");
    CHECK_REPR(yc_tuple_val((const yc_tuple *)&t1), "(1,)");
    CHECK_REPR(yc_tuple_val((const yc_tuple *)&t3), "(10.0, b's', None)");
    struct { size_t len; yc_val items[2]; } nest = {2, {yc_tuple_val((const yc_tuple *)&t1),
                                                        yc_tuple_val((const yc_tuple *)&t0)}};
    CHECK_REPR(yc_tuple_val((const yc_tuple *)&nest), "((1,), ())");
}

TEST(value_repr_truncates_like_snprintf)
{
    char buf[5] = "zzzz";
    CHECK_EQ_INT(yc_val_format(yc_float(1e16), buf, sizeof buf), 5);
    CHECK_STR(buf, "1e+1");
    CHECK_EQ_INT(yc_val_format(yc_float(0.5), buf, 1), 3);
    CHECK_STR(buf, "");
}

TEST(value_type_names)
{
    CHECK_STR(yc_val_type_name(YC_NONE), "NoneType");
    CHECK_STR(yc_val_type_name(yc_bool(true)), "bool");
    CHECK_STR(yc_val_type_name(yc_int(1)), "int");
    CHECK_STR(yc_val_type_name(yc_float(1)), "float");
    CHECK_STR(yc_val_type_name(yc_str("x")), "bytes");
    CHECK_STR(yc_val_type_name(yc_ptr(NULL)), "pointer");
    struct { size_t len; } t0 = {0};
    CHECK_STR(yc_val_type_name(yc_tuple_val((const yc_tuple *)&t0)), "tuple");
    yc_val bad = {{.i = 0}, 0x77};
    CHECK_STR(yc_val_type_name(bad), "?");
}

/* format, str and repr of e, then releases e */
static void check_exc_text(const char *file, int line, yc_exc *e, const char *fmt,
                           const char *str, const char *repr)
{
    char buf[512];
    const char *want[3] = {fmt, str, repr};
    int (*fn[3])(const yc_exc *, char *, size_t) = {yc_exc_format, yc_exc_str, yc_exc_repr};
    for (int i = 0; i < 3; i++) {
        int n = fn[i](e, buf, sizeof buf);
        if (strcmp(buf, want[i]) != 0)
            test_fail(file, line, "%s: got [%s], want [%s]", i == 0 ? "format" : i == 1 ? "str" : "repr",
                      buf, want[i]);
        if (n != (int)strlen(want[i])) test_fail(file, line, "length %d, want %zu", n, strlen(want[i]));
        if (fn[i](e, NULL, 0) != n) test_fail(file, line, "measured length differs");
    }
    yc_exc_unref(e);
}
#define CHECK_EXC_TEXT(e, fmt, str, repr) check_exc_text(__FILE__, __LINE__, (e), (fmt), (str), (repr))

TEST(exception_str_and_repr_as_cpython)
{
    CHECK_EXC_TEXT(yc_exc_new(&yc_KeyError, "k"), "KeyError: 'k'", "'k'", "KeyError('k')");
    CHECK_EXC_TEXT(yc_exc_new(&yc_KeyError, "it's"), "KeyError: \"it's\"", "\"it's\"",
                   "KeyError(\"it's\")");
    CHECK_EXC_TEXT(yc_exc_new(&yc_KeyError, NULL), "KeyError", "", "KeyError()");
    CHECK_EXC_TEXT(yc_exc_new_value(&yc_KeyError, yc_int(5)), "KeyError: 5", "5", "KeyError(5)");
    CHECK_EXC_TEXT(yc_exc_new_value(&yc_KeyError, yc_str("b")), "KeyError: b'b'", "b'b'",
                   "KeyError(b'b')");
    CHECK_EXC_TEXT(yc_exc_new(&yc_ValueError, "bad\nline"), "ValueError: bad\nline", "bad\nline",
                   "ValueError('bad\\nline')");
    CHECK_EXC_TEXT(yc_exc_new(&yc_ValueError, "caf\xc3\xa9 \xe2\x80\xa8\x01"),
                   "ValueError: caf\xc3\xa9 \xe2\x80\xa8\x01", "caf\xc3\xa9 \xe2\x80\xa8\x01",
                   "ValueError('caf\xc3\xa9 \\u2028\\x01')");
    CHECK_EXC_TEXT(yc_exc_new(&yc_RuntimeError, NULL), "RuntimeError", "", "RuntimeError()");
    CHECK_EXC_TEXT(yc_exc_new_value(&yc_StopIteration, yc_float(10.0)), "StopIteration: 10.0",
                   "10.0", "StopIteration(10.0)");
    CHECK_EXC_TEXT(yc_exc_new_value(&yc_StopIteration, YC_NONE), "StopIteration", "",
                   "StopIteration()");
    /* 12.56's message forms: with and without a file name */
    CHECK_EXC_TEXT(yc_exc_new_errno(&yc_FileNotFoundError, ENOENT, "'x'"),
                   "FileNotFoundError: [Errno 2] No such file or directory: 'x'",
                   "[Errno 2] No such file or directory: 'x'",
                   "FileNotFoundError(2, 'No such file or directory')");
    CHECK_EXC_TEXT(yc_exc_new_errno(&yc_PermissionError, EACCES, NULL),
                   "PermissionError: [Errno 13] Permission denied", "[Errno 13] Permission denied",
                   "PermissionError(13, 'Permission denied')");
    yc_exc *m[2] = {yc_exc_new(&yc_ValueError, "a"), yc_exc_new(&yc_KeyError, "b")};
    CHECK_EXC_TEXT(yc_exc_group_new("m", m, 2), "ExceptionGroup: m (2 sub-exceptions)",
                   "m (2 sub-exceptions)", "ExceptionGroup('m', [ValueError('a'), KeyError('b')])");
}

TEST(exception_text_of_null)
{
    char buf[8];
    CHECK_EQ_INT(yc_exc_str(NULL, buf, sizeof buf), 4);
    CHECK_STR(buf, "None");
    CHECK_EQ_INT(yc_exc_repr(NULL, buf, sizeof buf), 4);
    CHECK_STR(buf, "None");
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_EQ_INT(yc_exc_repr(e, NULL, 100), 13); /* buf NULL: only measured */
    CHECK_EQ_INT(yc_exc_str(e, NULL, 100), 3);
    yc_exc_unref(e);
}

/* ---- yc_err_print ------------------------------------------------------ */

static void print_pending(void *arg)
{
    (void)arg;
    yc_err_set(yc_exc_new(&yc_KeyError, "printed"));
    int first = yc_err_print();
    int second = yc_err_print(); /* nothing pending any more */
    fprintf(stderr, "%d %d %s\n", first, second, yc_err_get() ? "pending" : "clear");
}

TEST(err_print_takes_prints_and_releases)
{
    char out[256];
    int st = test_in_child(print_pending, NULL, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(out, "KeyError: 'printed'\n0 -2 clear\n");
    /* in this process: YC_EINVAL with nothing pending, and nothing set */
    CHECK_ST(yc_err_print(), YC_EINVAL);
    CHECK(yc_err_get() == NULL);
}

/* ---- except (A, B) ----------------------------------------------------- */

static int catch_one_of(const yc_exc_type *raised)
{
    volatile int how = 0;
    YC_TRY {
        YC_TRY {
            yc_raise(yc_exc_new(raised, "x"));
        } YC_EXCEPT(&yc_TypeError) {
            how = 1;
        } YC_EXCEPT_TYPES(&yc_KeyError, &yc_IndexError, &yc_ArithmeticError) {
            how = yc_exc_is(yc_exc_current(), raised) ? 2 : -1;
        } YC_END;
    } YC_EXCEPT_ANY {
        how = 3;
    } YC_END;
    return how;
}

TEST(except_types_catches_any_listed)
{
    CHECK_EQ_INT(catch_one_of(&yc_TypeError), 1);       /* the clause before */
    CHECK_EQ_INT(catch_one_of(&yc_KeyError), 2);
    CHECK_EQ_INT(catch_one_of(&yc_IndexError), 2);
    CHECK_EQ_INT(catch_one_of(&yc_ZeroDivisionError), 2); /* a subtype of one listed */
    CHECK_EQ_INT(catch_one_of(&yc_ValueError), 3);      /* none listed: goes on */
}

/* ---- YC_CHECK_PTR ------------------------------------------------------ */

static yc_val count_to(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    return YC_NONE;
}

TEST(check_ptr_turns_a_null_into_a_raise)
{
    volatile int line = 0;
    yc_gen *volatile kept = NULL;
    yc_exc *volatile caught = NULL;
    YC_TRY {
        kept = YC_CHECK_PTR(yc_gen_new(count_to, NULL, NULL)); /* succeeds: the pointer */
        line = __LINE__ + 1;
        yc_gen *g = YC_CHECK_PTR(yc_gen_new(NULL, NULL, NULL));
        (void)g;
        line = -1; /* not reached */
    } YC_EXCEPT(&yc_TypeError) {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    CHECK(kept != NULL);
    CHECK(line > 0);
    CHECK(caught != NULL);
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(caught, &n);
    CHECK(n >= 1);
    /* the entry names this file and the line of the call */
    CHECK(n >= 1 && strstr(tb[0].file, "test_format.c") != NULL);
    CHECK(n >= 1 && tb[0].line == line);
    char buf[128];
    yc_exc_format(caught, buf, sizeof buf);
    CHECK_STR(buf, "TypeError: yc_gen_new: generator function is NULL");
    yc_exc_unref(caught);
    yc_gen_free(kept);
}

TEST(check_ptr_of_null_without_a_pending_error)
{
    volatile int caught = 0;
    YC_TRY {
        void *p = YC_CHECK_PTR(NULL);
        (void)p;
    } YC_EXCEPT(&yc_RuntimeError) {
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "RuntimeError: a call failed but no exception was pending");
        caught = 1;
    } YC_END;
    CHECK(caught);
}

/* ---- misuse reports name the caller ------------------------------------ */

/* Checks that the exception raised by call k (outside any task) has its
 * innermost traceback entry at this file's line `line` in this function. */
static void check_site(const char *file, int line, int k)
{
    volatile int at = 0;
    yc_exc *volatile caught = NULL;
    yc_task *none[1] = {NULL};
    YC_TRY {
        switch (k) {
        case 0: at = __LINE__; yc_wait_for(NULL, 1.0); break;
        case 1: at = __LINE__; yc_shield(NULL); break;
        case 2: at = __LINE__; yc_gather(none, 1, 0); break;
        default: at = __LINE__; yc_wait(none, 1, 1.0, YC_ALL_COMPLETED); break;
        }
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    if (!caught) {
        test_fail(file, line, "call %d raised nothing", k);
        return;
    }
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(caught, &n);
    if (n < 1 || !strstr(tb[0].file, "test_format.c") || tb[0].line != at ||
        !tb[0].func || strcmp(tb[0].func, "check_site") != 0)
        test_fail(file, line, "call %d: entry %s:%d in %s, want test_format.c:%d in check_site", k,
                  n ? tb[0].file : "?", n ? tb[0].line : 0, n && tb[0].func ? tb[0].func : "?", at);
    char buf[128];
    yc_exc_format(caught, buf, sizeof buf);
    if (!strstr(buf, "RuntimeError: no running event loop"))
        test_fail(file, line, "call %d raised %s", k, buf);
    yc_exc_unref(caught);
}

TEST(loop_misuse_is_reported_at_the_callers_line)
{
    for (int k = 0; k < 4; k++) check_site(__FILE__, __LINE__, k);
}

/* ---- a fatal error flushes stdio --------------------------------------- */

static void die_with_buffered_output(void *arg)
{
    (void)arg;
    FILE *f = fdopen(dup(2), "w");
    setvbuf(f, NULL, _IOFBF, 4096);
    fputs("buffered before the error\n", f); /* still in f's buffer */
    yc_raisef(&yc_ValueError, "uncaught");
}

TEST(fatal_error_flushes_stdio_first)
{
    char out[1024];
    int st = test_in_child(die_with_buffered_output, NULL, out, sizeof out);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    const char *before = strstr(out, "buffered before the error\n");
    const char *err = strstr(out, "ValueError: uncaught\n");
    CHECK(before != NULL);
    CHECK(err != NULL);
    CHECK(before && err && before < err);
}

/* ---- nested macros under -Wshadow -------------------------------------- */

TEST(nested_try_and_with_compile_without_shadow_warnings)
{
    volatile int steps = 0;
    YC_TRY {
        YC_WITH(yc_cm_suppress_n((const yc_exc_type *const[]){&yc_KeyError}, 1), outer) {
            YC_WITH(yc_cm_suppress_n((const yc_exc_type *const[]){&yc_IndexError}, 1), inner) {
                (void)outer;
                (void)inner;
                YC_TRY {
                    steps++;
                    yc_raisef(&yc_IndexError, "i");
                } YC_FINALLY {
                    steps++;
                } YC_END;
            } YC_END_WITH; /* suppressed here */
            steps++;
            yc_raisef(&yc_KeyError, "k");
        } YC_END_WITH; /* and here */
        steps++;
    } YC_EXCEPT_ANY {
        steps = -100;
    } YC_END;
    CHECK_EQ_INT(steps, 4);
}

TEST_MAIN()
