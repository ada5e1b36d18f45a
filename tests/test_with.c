/* The with construct (YC_WITH) and the manager protocol: every way out of a
 * block (normal end, an exception from the body or a called function,
 * return, break, continue, goto), enter failures, exits that suppress or
 * raise, nesting, with blocks inside generators (yield, throw, close,
 * free), and the ready-made managers (closing, files, descriptors, mutex,
 * suppress). Generator-based managers: conformance/test_sec9_contextlib.c;
 * exit stacks: test_exitstack.c. */
#include "with_util.h"

#include <pthread.h>

/* ---- the protocol functions ---------------------------------------- */

TEST(cm_enter_exit_direct)
{
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.bind = 7;
    yc_val v = YC_NONE;
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    CHECK_INTV(v, 7);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK); /* out may be NULL */
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    a.exit_ret = 5; /* any positive value suppresses */
    CHECK_ST(yc_cm_exit(cm, e), YC_EXIT_SUPPRESS);
    CHECK(a.seen == e);
    a.exit_ret = 1; /* ... but only when there is an exception */
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    yc_exc_unref(e);
    yc_cm_free(cm);
    CHECK_EQ_INT(a.freed, 1);
    CHECK_STR(yc_cm_name(cm), "log_cm");
    CHECK_STR(yc_cm_name(NULL), "NULL");
}

TEST(cm_misuse_non_manager)
{
    CHECK_ST(yc_cm_enter(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object does not support the context manager protocol");
    CHECK_ST(yc_cm_exit(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object does not support the context manager protocol");
    static const yc_cm_type half = {.name = "half", .enter = log_enter, .exit = NULL, .free = NULL};
    yc_cm h = {&half};
    CHECK_ST(yc_cm_enter(&h, NULL), YC_EINVAL);
    /* [issue14.3] CPython 3.13 names the missing exit, and only the exit */
    CHECK_EXC(&yc_TypeError, "TypeError: 'half' object does not support the context manager protocol"
                             " (missed __exit__ method)");
    static const yc_cm_type no_enter = {.name = "X", .enter = NULL, .exit = log_exit, .free = NULL};
    yc_cm ne = {&no_enter};
    CHECK_ST(yc_cm_enter(&ne, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'X' object does not support the context manager protocol");
    yc_cm none = {NULL};
    CHECK_ST(yc_cm_enter(&none, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'yc_cm' object does not support the context manager protocol");
    yc_cm_free(NULL);
    yc_cm_free(&none);
    /* a pointer that is not an exception */
    log_cm a;
    int junk[16] = {0};
    CHECK_ST(yc_cm_exit(log_init(&a, "A"), (yc_exc *)junk), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_exit: not an exception");
    CHECK_EQ_INT(a.exited, 0);
}

TEST(cm_enter_fails_by_raise_and_by_status)
{
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.enter_fail = &yc_KeyError;
    CHECK_ST(yc_cm_enter(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'enter A'");
    a.by_status = true;
    CHECK_ST(yc_cm_enter(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'enter A'");
}

/* A direct call runs the exit in the caller's context: with nothing
 * handled, a raise in it gets no context. */
TEST(cm_exit_direct_runs_in_callers_context)
{
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.exit_fail = &yc_KeyError;
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    CHECK_ST(yc_cm_exit(cm, e), YC_RAISE);
    CHECK(!a.current_was_seen);
    yc_exc *f = yc_err_take();
    CHECK_XS(f, "KeyError: 'exit A'");
    CHECK(yc_exc_context(f) == NULL);
    yc_exc_unref(f);
    yc_exc_unref(e);
}

static int bad_exit(yc_cm *cm, yc_exc *e)
{
    (void)cm;
    (void)e;
    return YC_RAISE; /* and forgets to set an exception */
}

TEST(cm_exit_negative_without_exception)
{
    static const yc_cm_type bad = {
        .name = "bad", .enter = log_enter, .exit = bad_exit, .free = NULL};
    yc_cm b = {&bad};
    CHECK_ST(yc_cm_exit(&b, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: 'bad' returned an error status but no exception was pending");
}

/* ---- YC_WITH: the ways out of a block ------------------------------- */

TEST(with_normal_end)
{
    trace[0] = '\0';
    log_cm a;
    volatile int64_t got = 0;
    YC_WITH(log_init(&a, "A"), v) {
        a.bind = 0; /* enter already ran */
        got = v.i;
        tr("body");
    } YC_END_WITH;
    tr("after");
    CHECK_STR(trace, "enter A,body,exit A None,free A,after");
    CHECK_EQ_INT(got, 0);
    a.bind = 42;
    trace[0] = '\0';
    YC_WITH(log_init(&a, "A"), v) {
        CHECK_INTV(v, 0); /* log_init reset bind */
    } YC_END_WITH;
    CHECK_EQ_INT(a.entered, 1);
    CHECK_EQ_INT(a.exited, 1);
    CHECK_EQ_INT(a.freed, 1);
}

TEST(with_binds_value)
{
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.bind = 99;
    YC_WITH(cm, v) {
        CHECK_INTV(v, 99);
        v = yc_int(1); /* the variable is the block's own */
        CHECK_INTV(v, 1);
    } YC_END_WITH;
}

TEST(with_exception_in_body_propagates)
{
    trace[0] = '\0';
    log_cm a;
    yc_exc *volatile thrown = NULL;
    YC_TRY {
        YC_WITH(log_init(&a, "A"), v) {
            (void)v;
            tr("body");
            thrown = yc_exc_new(&yc_ValueError, "boom");
            yc_raise(yc_exc_ref(thrown));
            tr("not reached");
        } YC_END_WITH;
        tr("not reached either");
    } YC_EXCEPT(&yc_ValueError) {
        CHECK(yc_exc_current() == thrown); /* the same object, unchanged */
        CHECK(yc_exc_context(thrown) == NULL);
        tr("caught");
    } YC_END;
    CHECK_STR(trace, "enter A,body,exit A ValueError: boom,free A,caught");
    CHECK(a.seen == thrown);
    CHECK(a.current_was_seen); /* exit runs as in an except block */
    CHECK(yc_exc_current() == NULL);
    yc_exc_unref(thrown);
}

static void raises_deep(int n)
{
    if (n < 0) return;
    if (n == 0) yc_raisef(&yc_IndexError, "deep");
    raises_deep(n - 1);
}

TEST(with_exception_from_called_function)
{
    trace[0] = '\0';
    log_cm a;
    YC_TRY {
        YC_WITH(log_init(&a, "A"), v) {
            (void)v;
            raises_deep(5);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_IndexError) {
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "enter A,exit A IndexError: deep,free A,caught IndexError: deep");
}

TEST(with_exit_suppresses)
{
    trace[0] = '\0';
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.exit_ret = YC_EXIT_SUPPRESS;
    volatile int reached = 0;
    YC_WITH(cm, v) {
        (void)v;
        yc_raisef(&yc_KeyError, "k");
    } YC_END_WITH;
    reached = 1;
    tr("after");
    CHECK_EQ_INT(reached, 1);
    CHECK_STR(trace, "enter A,exit A KeyError: 'k',free A,after");
    CHECK(yc_exc_current() == NULL);
}

/* An exit that raises: its exception replaces the body's, chained to it
 * by the raise (the exit runs while the body's exception is handled). One
 * reported by status is taken as it is, like an error propagated from a
 * call in CPython. */
TEST(with_exit_raises_replaces_with_context)
{
    log_cm a;
    for (int by_status = 0; by_status < 2; by_status++) {
        trace[0] = '\0';
        yc_cm *cm = log_init(&a, "A");
        a.exit_fail = &yc_TypeError;
        a.by_status = by_status;
        YC_TRY {
            YC_WITH(cm, v) {
                (void)v;
                yc_raisef(&yc_KeyError, "k");
            } YC_END_WITH;
        } YC_EXCEPT_ANY {
            tr("caught %s", ctx_chain(yc_exc_current()));
        } YC_END;
        CHECK_STR(trace, by_status ? "enter A,exit A KeyError: 'k',free A,caught TypeError: exit A"
                                   : "enter A,exit A KeyError: 'k',free A,caught TypeError: exit A -> "
                                     "KeyError: 'k'");
    }
}

/* An exception raised by exit after a normal end propagates from the
 * YC_WITH line, chained to what the code around is handling. */
TEST(with_exit_raises_on_normal_end)
{
    trace[0] = '\0';
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    a.exit_fail = &yc_OSError;
    YC_TRY {
        yc_raisef(&yc_ValueError, "outer");
    } YC_EXCEPT(&yc_ValueError) {
        YC_TRY {
            YC_WITH(cm, v) { (void)v; } YC_END_WITH;
        } YC_EXCEPT(&yc_OSError) {
            yc_exc *f = yc_exc_current();
            tr("caught %s", ctx_chain(f));
            size_t n;
            const yc_tb_entry *tb = yc_exc_traceback(f, &n);
            CHECK(n >= 2); /* the raise in exit, then the YC_WITH line */
            if (n >= 2) CHECK_STR(tb[n - 1].func, "with_exit_raises_on_normal_end");
        } YC_END;
    } YC_END;
    CHECK_STR(trace, "enter A,exit A None,free A,caught OSError: exit A -> ValueError: outer");
}

TEST(with_enter_fails)
{
    log_cm a;
    for (int by_status = 0; by_status < 2; by_status++) {
        trace[0] = '\0';
        yc_cm *cm = log_init(&a, "A");
        a.enter_fail = &yc_KeyError;
        a.by_status = by_status;
        volatile int line = 0;
        YC_TRY {
            line = __LINE__ + 1;
            YC_WITH(cm, v) {
                (void)v;
                tr("body");
            } YC_END_WITH;
            tr("after");
        } YC_EXCEPT(&yc_KeyError) {
            yc_exc *e = yc_exc_current();
            size_t n;
            const yc_tb_entry *tb = yc_exc_traceback(e, &n);
            CHECK(n >= 1);
            if (n >= 1) CHECK_EQ_INT(tb[n - 1].line, line); /* raised at the with line */
            tr("caught %s", xs(e));
        } YC_END;
        /* neither the body nor exit ran; the manager was released */
        CHECK_STR(trace, "enter A,free A,caught KeyError: 'enter A'");
    }
}

TEST(with_null_manager)
{
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(NULL, v) { (void)v; tr("body"); } YC_END_WITH;
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", xs(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "TypeError: 'NULL' object does not support the context manager protocol");
    /* a failed constructor: its exception is raised at the YC_WITH line */
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_fopen(NULL, "r"), v) { (void)v; tr("body"); } YC_END_WITH;
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", xs(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "TypeError: yc_cm_fopen: path is NULL");
}

TEST(with_non_manager)
{
    static const yc_cm_type noexit = {
        .name = "noexit", .enter = log_enter, .exit = NULL, .free = log_free};
    log_cm a;
    log_init(&a, "A");
    a.cm.type = &noexit;
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(&a.cm, v) { (void)v; tr("body"); } YC_END_WITH;
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", xs(yc_exc_current()));
    } YC_END;
    /* taken: released even though it was refused */
    CHECK_STR(trace, "free A,TypeError: 'noexit' object does not support the context manager "
                     "protocol (missed __exit__ method)");
}

static int returns_from_with(log_cm *a, int x)
{
    YC_WITH(log_init(a, "A"), v) {
        (void)v;
        if (x > 0) return x * 2;
        tr("body");
    } YC_END_WITH;
    return -1;
}

TEST(with_return)
{
    trace[0] = '\0';
    log_cm a;
    CHECK_EQ_INT(returns_from_with(&a, 21), 42);
    CHECK_STR(trace, "enter A,exit A None,free A");
    CHECK_EQ_INT(a.exited, 1);
    trace[0] = '\0';
    CHECK_EQ_INT(returns_from_with(&a, 0), -1);
    CHECK_STR(trace, "enter A,body,exit A None,free A");
}

TEST(with_break_and_continue_bind_to_the_enclosing_loop)
{
    trace[0] = '\0';
    log_cm a[4];
    int i;
    for (i = 0; i < 4; i++) {
        YC_WITH(log_init(&a[i], "A"), v) {
            (void)v;
            if (i == 1) continue; /* the loop's continue, not the construct's */
            if (i == 2) break;
            tr("body %d", i);
        } YC_END_WITH;
        tr("after %d", i);
    }
    CHECK_EQ_INT(i, 2);
    CHECK_STR(trace, "enter A,body 0,exit A None,free A,after 0,"
                     "enter A,exit A None,free A,"
                     "enter A,exit A None,free A");
    for (int k = 0; k < 3; k++) CHECK_EQ_INT(a[k].exited, 1);
    /* while and do-while too */
    trace[0] = '\0';
    int n = 0;
    while (n < 3) {
        n++;
        YC_WITH(log_init(&a[0], "W"), v) {
            (void)v;
            if (n == 2) continue;
            tr("w%d", n);
        } YC_END_WITH;
    }
    CHECK_STR(trace, "enter W,w1,exit W None,free W,enter W,exit W None,free W,"
                     "enter W,w3,exit W None,free W");
    trace[0] = '\0';
    do {
        YC_WITH(log_init(&a[0], "D"), v) {
            (void)v;
            break;
        } YC_END_WITH;
        tr("not reached");
    } while (0);
    CHECK_STR(trace, "enter D,exit D None,free D");
    /* a switch inside the body: its break is the switch's */
    trace[0] = '\0';
    YC_WITH(log_init(&a[0], "S"), v) {
        switch (v.i) {
        case 0: tr("case 0"); break;
        default: tr("default");
        }
        tr("still in body");
    } YC_END_WITH;
    CHECK_STR(trace, "enter S,case 0,still in body,exit S None,free S");
}

TEST(with_goto)
{
    trace[0] = '\0';
    log_cm a, b;
    YC_WITH(log_init(&a, "A"), va) {
        (void)va;
        YC_WITH(log_init(&b, "B"), vb) {
            (void)vb;
            goto out;
        } YC_END_WITH;
        tr("not reached");
    } YC_END_WITH;
out:
    tr("out");
    CHECK_STR(trace, "enter A,enter B,exit B None,free B,exit A None,free A,out");
}

/* An exit that raises while the block is left by return: the exception
 * propagates instead of the return (Python's finally semantics). */
static int return_but_exit_raises(log_cm *a)
{
    yc_cm *cm = log_init(a, "A");
    a->exit_fail = &yc_RuntimeError;
    YC_WITH(cm, v) {
        (void)v;
        return 1;
    } YC_END_WITH;
    return 2;
}

TEST(with_return_exit_raises)
{
    trace[0] = '\0';
    log_cm a;
    volatile int r = 0;
    YC_TRY {
        r = return_but_exit_raises(&a);
        tr("returned");
    } YC_EXCEPT(&yc_RuntimeError) {
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    CHECK_EQ_INT(r, 0);
    CHECK_STR(trace, "enter A,exit A None,free A,caught RuntimeError: exit A");
}

/* The same inside one function: a YC_TRY around the construct in the same
 * function catches the exit's exception raised during the break. */
TEST(with_break_exit_raises_caught_in_same_function)
{
    trace[0] = '\0';
    log_cm a;
    volatile int iterations = 0;
    YC_TRY {
        for (int i = 0; i < 3; i++) {
            iterations++;
            yc_cm *cm = log_init(&a, "A");
            a.exit_fail = &yc_KeyError;
            YC_WITH(cm, v) {
                (void)v;
                break;
            } YC_END_WITH;
        }
        tr("loop ended");
    } YC_EXCEPT(&yc_KeyError) {
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    CHECK_EQ_INT(iterations, 1);
    CHECK_STR(trace, "enter A,exit A None,free A,caught KeyError: 'exit A'");
}

TEST(with_nested_exits_innermost_first)
{
    trace[0] = '\0';
    log_cm a, b, c;
    YC_TRY {
        YC_WITH(log_init(&a, "A"), va) {
            (void)va;
            YC_WITH(log_init(&b, "B"), vb) {
                (void)vb;
                YC_WITH(log_init(&c, "C"), vc) {
                    (void)vc;
                    yc_raisef(&yc_ValueError, "x");
                } YC_END_WITH;
            } YC_END_WITH;
        } YC_END_WITH;
    } YC_EXCEPT_ANY {
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "enter A,enter B,enter C,exit C ValueError: x,free C,exit B ValueError: x,"
                     "free B,exit A ValueError: x,free A,caught ValueError: x");
}

TEST(with_nested_inner_suppresses)
{
    trace[0] = '\0';
    log_cm a, b;
    YC_WITH(log_init(&a, "A"), va) {
        (void)va;
        yc_cm *inner = log_init(&b, "B");
        b.exit_ret = YC_EXIT_SUPPRESS;
        YC_WITH(inner, vb) {
            (void)vb;
            yc_raisef(&yc_ValueError, "x");
        } YC_END_WITH;
        tr("between");
    } YC_END_WITH;
    CHECK_STR(trace, "enter A,enter B,exit B ValueError: x,free B,between,exit A None,free A");
}

/* The inner exit replaces the exception; the outer one sees the new one. */
TEST(with_nested_inner_exit_raises)
{
    trace[0] = '\0';
    log_cm a, b;
    YC_TRY {
        YC_WITH(log_init(&a, "A"), va) {
            (void)va;
            yc_cm *inner = log_init(&b, "B");
            b.exit_fail = &yc_TypeError;
            YC_WITH(inner, vb) {
                (void)vb;
                yc_raisef(&yc_ValueError, "x");
            } YC_END_WITH;
        } YC_END_WITH;
    } YC_EXCEPT_ANY {
        tr("caught %s", ctx_chain(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "enter A,enter B,exit B ValueError: x,free B,exit A TypeError: exit B,"
                     "free A,caught TypeError: exit B -> ValueError: x");
}

/* Inside an except block: the body's exception gets the handled one as
 * context; after the construct yc_exc_current() is the handled one again. */
TEST(with_inside_except_block)
{
    trace[0] = '\0';
    log_cm a;
    YC_TRY {
        yc_raisef(&yc_KeyError, "outer");
    } YC_EXCEPT(&yc_KeyError) {
        yc_exc *outer = yc_exc_current();
        yc_cm *cm = log_init(&a, "A");
        a.exit_ret = YC_EXIT_SUPPRESS;
        YC_WITH(cm, v) {
            (void)v;
            CHECK(yc_exc_current() == outer);
            yc_raisef(&yc_ValueError, "inner");
        } YC_END_WITH;
        CHECK(yc_exc_current() == outer);
        tr("after");
    } YC_END;
    CHECK_STR(trace, "enter A,exit A ValueError: inner,free A,after");
}

/* ---- with blocks inside generators ---------------------------------- */

static log_cm ga, gb;

static yc_val gen_two_withs(void *arg)
{
    (void)arg;
    YC_WITH(log_init(&ga, "A"), va) {
        yc_yield(yc_int(va.i + 1));
        YC_WITH(log_init(&gb, "B"), vb) {
            yc_yield(yc_int(vb.i + 2));
            tr("after yield 2");
        } YC_END_WITH;
        yc_yield(yc_int(3));
    } YC_END_WITH;
    return yc_int(4);
}

TEST(with_in_generator_yield_inside)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_two_withs, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 4);
    CHECK_STR(trace, "enter A,enter B,after yield 2,exit B None,free B,exit A None,free A");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(with_in_generator_close_runs_exits_innermost_first)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_two_withs, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_STR(trace, "enter A,enter B,exit B GeneratorExit,free B,exit A GeneratorExit,free A");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(with_in_generator_free_runs_exits)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_two_withs, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_STR(trace, "enter A,enter B,exit B GeneratorExit,free B,exit A GeneratorExit,free A");
}

TEST(with_in_generator_throw)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_two_withs, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_ValueError, "thrown");
    CHECK_ST(yc_throw(g, yc_exc_ref(e), &v), YC_RAISE);
    yc_exc *got = yc_err_take();
    CHECK(got == e);
    CHECK_STR(trace, "enter A,enter B,exit B ValueError: thrown,free B,exit A ValueError: thrown,free A");
    CHECK(ga.seen == e && gb.seen == e);
    yc_exc_unref(got);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val gen_suppressing_with(void *arg)
{
    (void)arg;
    yc_cm *cm = log_init(&ga, "A");
    ga.exit_ret = YC_EXIT_SUPPRESS;
    YC_WITH(cm, v) {
        (void)v;
        yc_yield(yc_int(1));
        tr("not reached");
    } YC_END_WITH;
    yc_yield(yc_int(2));
    return YC_NONE;
}

TEST(with_in_generator_throw_suppressed)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_suppressing_with, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "k"), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STR(trace, "enter A,exit A KeyError: 'k',free A");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A generator resumed on another thread while inside a with block. */
static void *resume_on_thread(void *arg)
{
    yc_gen *g = arg;
    static int st;
    st = yc_next(g, NULL);
    return &st;
}

TEST(with_in_generator_moves_between_threads)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_two_withs, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, resume_on_thread, g), 0);
    void *res;
    pthread_join(th, &res);
    CHECK_EQ_INT(*(int *)res, YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_STR(trace, "enter A,enter B,exit B GeneratorExit,free B,exit A GeneratorExit,free A");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- closing -------------------------------------------------------- */

static volatile int fin_count;

static yc_val counting(void *arg)
{
    (void)arg;
    YC_TRY {
        for (int i = 0;; i++) yc_yield(yc_int(i));
    } YC_FINALLY {
        fin_count++;
    } YC_END;
    return YC_NONE;
}

TEST(closing_closes_the_generator)
{
    fin_count = 0;
    yc_gen *g = yc_gen_new(counting, NULL, NULL);
    volatile int64_t sum = 0;
    YC_WITH(yc_cm_closing(yc_gen_iter(g)), it) {
        int st;
        YC_FOREACH(x, (yc_iter *)it.p, st) {
            if (x.i == 4) break;
            sum += x.i;
        }
        CHECK_EQ_INT(st, YC_YIELD);
        CHECK_EQ_INT(fin_count, 0);
    } YC_END_WITH;
    /* closed (its finally ran) and freed with the manager */
    CHECK_EQ_INT(fin_count, 1);
    CHECK_EQ_INT(sum, 6);
}

TEST(closing_on_exception)
{
    fin_count = 0;
    yc_gen *g = yc_gen_new(counting, NULL, NULL);
    YC_TRY {
        YC_WITH(yc_cm_closing(yc_gen_iter(g)), it) {
            CHECK_ST(yc_iter_next(it.p, NULL), YC_YIELD);
            yc_raisef(&yc_ValueError, "v");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_EQ_INT(fin_count, 1);
    } YC_END;
    CHECK_EQ_INT(fin_count, 1);
}

static yc_val ignores_exit(void *arg)
{
    (void)arg;
    for (;;) {
        YC_TRY {
            yc_yield(YC_NONE);
        } YC_EXCEPT(&yc_GeneratorExit) {
        } YC_END;
    }
    return YC_NONE;
}

static void quiet_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    ++*(int *)ud;
}

/* close's error propagates from the with, chained to the body's exception */
TEST(closing_close_error_replaces)
{
    int unraisable = 0;
    yc_set_unraisable_hook(quiet_unraisable, &unraisable);
    yc_gen *g = yc_gen_new(ignores_exit, NULL, NULL);
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_closing(yc_gen_iter(g)), it) {
            CHECK_ST(yc_iter_next(it.p, NULL), YC_YIELD);
            yc_raisef(&yc_KeyError, "k");
        } YC_END_WITH;
    } YC_EXCEPT_ANY {
        tr("%s", ctx_chain(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "RuntimeError: generator ignored GeneratorExit -> KeyError: 'k'");
    CHECK_EQ_INT(unraisable, 1); /* freeing it closed it once more */
    yc_set_unraisable_hook(NULL, NULL);
}

/* A generator that keeps yielding after GeneratorExit inside two with
 * blocks, then is freed while suspended there: as in CPython (the frame is
 * cleared, __exit__ is not called), no exit runs, but both managers are
 * released, innermost first. */
static log_cm abandon_outer, abandon_inner;

static yc_val abandoned_in_withs(void *arg)
{
    (void)arg;
    YC_WITH(&abandon_outer.cm, a) {
        YC_WITH(&abandon_inner.cm, b) {
            for (;;) {
                YC_TRY {
                    yc_yield(yc_int(a.i + b.i));
                } YC_EXCEPT(&yc_GeneratorExit) {
                } YC_END;
            }
        } YC_END_WITH;
    } YC_END_WITH;
    return YC_NONE;
}

TEST(with_abandoned_generator_releases_managers)
{
    int unraisable = 0;
    yc_set_unraisable_hook(quiet_unraisable, &unraisable);
    log_init(&abandon_outer, "A");
    log_init(&abandon_inner, "B");
    abandon_outer.bind = 1;
    abandon_inner.bind = 2;
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(abandoned_in_withs, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_gen_free(g), YC_OK);   /* close fails: ignored GeneratorExit */
    CHECK_EQ_INT(unraisable, 1);
    CHECK_EQ_INT(abandon_outer.exited + abandon_inner.exited, 0);
    CHECK_EQ_INT(abandon_outer.freed, 1);
    CHECK_EQ_INT(abandon_inner.freed, 1);
    CHECK_STR(trace, "enter A,enter B,free B,free A");
    yc_set_unraisable_hook(NULL, NULL);
}

TEST(closing_any_iterator_and_null)
{
    yc_val items[2] = {yc_int(1), yc_int(2)};
    YC_WITH(yc_cm_closing(yc_iter_array(items, 2)), it) {
        yc_val x;
        CHECK_ST(yc_iter_next(it.p, &x), YC_YIELD);
        CHECK_INTV(x, 1);
    } YC_END_WITH; /* no close operation: nothing to do; freed */
    CHECK(yc_cm_closing(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object is not an iterator");
    /* a failed iterator constructor: its exception is kept */
    CHECK(yc_cm_closing(yc_iter_array(NULL, 3)) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_array: items is NULL");
}

/* ---- files ---------------------------------------------------------- */

TEST(fopen_reads_and_closes)
{
    char path[64];
    temp_file(path, sizeof path, "hello\n");
    volatile int fd = -1;
    char line[32] = "";
    YC_WITH(yc_cm_fopen(path, "r"), f) {
        FILE *in = f.p;
        fd = fileno(in);
        CHECK(fgets(line, sizeof line, in) != NULL);
    } YC_END_WITH;
    CHECK_STR(line, "hello\n");
    CHECK(!fd_is_open(fd));
    unlink(path);
}

TEST(fopen_closes_on_exception)
{
    char path[64];
    temp_file(path, sizeof path, "x");
    volatile int fd = -1;
    YC_TRY {
        YC_WITH(yc_cm_fopen(path, "r"), f) {
            fd = fileno((FILE *)f.p);
            yc_raisef(&yc_EOFError, "halfway");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_EOFError) {
        CHECK(!fd_is_open(fd));
    } YC_END;
    CHECK(fd >= 0 && !fd_is_open(fd));
    unlink(path);
}

TEST(fopen_missing_file)
{
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_fopen("/nonexistent/yc/file.txt", "r"), f) {
            (void)f;
            tr("body");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_OSError) {
        yc_exc *e = yc_exc_current();
        CHECK(yc_exc_type_of(e) == &yc_FileNotFoundError);
        CHECK_EQ_INT(yc_exc_errno(e), ENOENT);
        tr("%s", xs(e));
    } YC_END;
    CHECK_STR(trace, "FileNotFoundError: [Errno 2] No such file or directory: "
                     "'/nonexistent/yc/file.txt'");
}

TEST(file_manager_reentry_and_free)
{
    char path[64];
    temp_file(path, sizeof path, "abc");
    yc_cm *cm = yc_cm_fopen(path, "r");
    CHECK_STR(yc_cm_name(cm), "fopen");
    yc_val v;
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    int fd = fileno((FILE *)v.p);
    yc_val v2;
    CHECK_ST(yc_cm_enter(cm, &v2), YC_OK); /* entered while open: the same file */
    CHECK(v2.p == v.p);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    CHECK(!fd_is_open(fd));
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE); /* closing twice: nothing */
    CHECK_ST(yc_cm_enter(cm, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: I/O operation on closed file.");
    yc_cm_free(cm);
    /* freed while open: the file is closed */
    cm = yc_cm_fopen(path, "r");
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    fd = fileno((FILE *)v.p);
    yc_cm_free(cm);
    CHECK(!fd_is_open(fd));
    /* yc_cm_file takes an open FILE */
    FILE *f = fopen(path, "r");
    fd = fileno(f);
    cm = yc_cm_file(f);
    CHECK_STR(yc_cm_name(cm), "file");
    yc_cm_free(cm); /* never entered: closed anyway */
    CHECK(!fd_is_open(fd));
    f = fopen(path, "r");
    fd = fileno(f);
    YC_WITH(yc_cm_file(f), fv) {
        CHECK(fv.p == f);
        CHECK(fd_is_open(fd));
    } YC_END_WITH;
    CHECK(!fd_is_open(fd));
    CHECK(yc_cm_file(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_file: FILE is NULL");
    CHECK(yc_cm_fopen(path, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_fopen: mode is NULL");
    unlink(path);
}

TEST(fd_managers)
{
    char path[64];
    temp_file(path, sizeof path, "0123456789");
    volatile int fd = -1;
    char buf[8] = "";
    YC_WITH(yc_cm_open(path, O_RDONLY, 0), v) {
        fd = (int)v.i;
        CHECK_EQ_INT(read(fd, buf, 4), 4);
    } YC_END_WITH;
    CHECK_STR(buf, "0123");
    CHECK(!fd_is_open(fd));
    int raw = open(path, O_RDONLY);
    YC_TRY {
        YC_WITH(yc_cm_fd(raw), v) {
            CHECK_INTV(v, raw);
            yc_raisef(&yc_ValueError, "x");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
    } YC_END;
    CHECK(!fd_is_open(raw));
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_open("/nonexistent/yc", O_RDONLY, 0), v) { (void)v; } YC_END_WITH;
    } YC_EXCEPT(&yc_FileNotFoundError) {
        tr("%s", xs(yc_exc_current()));
    } YC_END;
    CHECK_STR(trace, "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/yc'");
    CHECK(yc_cm_fd(-1) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_cm_fd: negative file descriptor");
    yc_cm *cm = yc_cm_open(path, O_RDONLY, 0);
    yc_val v;
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_OK);
    CHECK_ST(yc_cm_enter(cm, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: I/O operation on closed file.");
    yc_cm_free(cm);
    /* a descriptor that close() refuses: exit raises OSError EBADF */
    cm = yc_cm_fd(1000);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(yc_exc_type_of(e) == &yc_OSError);
    CHECK_EQ_INT(yc_exc_errno(e), EBADF);
    yc_exc_unref(e);
    yc_cm_free(cm);
    unlink(path);
}

/* ---- mutex ---------------------------------------------------------- */

TEST(mutex_locked_inside_unlocked_after)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    YC_WITH(yc_cm_mutex(&m), v) {
        CHECK(v.p == &m);
        CHECK_EQ_INT(pthread_mutex_trylock(&m), EBUSY);
    } YC_END_WITH;
    CHECK_EQ_INT(pthread_mutex_trylock(&m), 0);
    pthread_mutex_unlock(&m);
    YC_TRY {
        YC_WITH(yc_cm_mutex(&m), v) {
            (void)v;
            yc_raisef(&yc_ValueError, "x");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_EQ_INT(pthread_mutex_trylock(&m), 0); /* released before the handler */
        pthread_mutex_unlock(&m);
    } YC_END;
    /* reusable */
    yc_cm *cm = yc_cm_mutex(&m);
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
        CHECK_ST(yc_cm_exit(cm, NULL), YC_OK);
    }
    yc_cm_free(cm);
    CHECK(yc_cm_mutex(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_mutex: mutex is NULL");
}

TEST(mutex_errors)
{
    pthread_mutexattr_t at;
    pthread_mutexattr_init(&at);
    pthread_mutexattr_settype(&at, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_t m;
    pthread_mutex_init(&m, &at);
    pthread_mutexattr_destroy(&at);
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_mutex(&m), v1) {
            (void)v1;
            YC_WITH(yc_cm_mutex(&m), v2) { (void)v2; tr("not reached"); } YC_END_WITH;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_OSError) {
        CHECK_EQ_INT(yc_exc_errno(yc_exc_current()), EDEADLK);
        tr("deadlock");
    } YC_END;
    CHECK_STR(trace, "deadlock");
    CHECK_EQ_INT(pthread_mutex_trylock(&m), 0); /* the outer exit unlocked it */
    pthread_mutex_unlock(&m);
    yc_cm *cm = yc_cm_mutex(&m);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_RAISE); /* unlocking a mutex we do not hold */
    CHECK_EQ_INT(yc_exc_errno(yc_err_get()), EPERM);
    yc_err_clear();
    yc_cm_free(cm);
    pthread_mutex_destroy(&m);
}

/* ---- suppress ------------------------------------------------------- */

TEST(suppress_listed_types_and_subtypes)
{
    trace[0] = '\0';
    YC_WITH(yc_cm_suppress(&yc_LookupError, &yc_ZeroDivisionError), v) {
        CHECK(yc_is_none(v));
        yc_raisef(&yc_KeyError, "k"); /* a LookupError */
    } YC_END_WITH;
    tr("after 1");
    YC_WITH(yc_cm_suppress(&yc_ValueError), v) {
        (void)v;
        tr("no exception");
    } YC_END_WITH;
    YC_TRY {
        YC_WITH(yc_cm_suppress(&yc_ValueError, &yc_KeyError), v) {
            (void)v;
            yc_raisef(&yc_TypeError, "t");
        } YC_END_WITH;
        tr("not reached");
    } YC_EXCEPT(&yc_TypeError) {
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    /* suppress(Exception) does not stop GeneratorExit or KeyboardInterrupt */
    YC_TRY {
        YC_WITH(yc_cm_suppress(&yc_Exception), v) {
            (void)v;
            yc_raisef(&yc_KeyboardInterrupt, NULL);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_KeyboardInterrupt) {
        tr("KI");
    } YC_END;
    CHECK_STR(trace, "after 1,no exception,caught TypeError: t,KI");
}

TEST(suppress_none_and_misuse)
{
    yc_cm *cm = yc_cm_suppress_n(NULL, 0); /* suppresses nothing */
    yc_exc *e = yc_exc_new(&yc_ValueError, NULL);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    CHECK_ST(yc_cm_exit(cm, e), YC_EXIT_PROPAGATE);
    yc_cm_free(cm);
    yc_exc_unref(e);
    CHECK(yc_cm_suppress_n(NULL, 2) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_suppress: types is NULL");
    CHECK(yc_cm_suppress(&yc_KeyError, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_suppress: type 1 is NULL");
}

/* suppress in a generator: suppressing the GeneratorExit of close only when
 * listed (BaseException lists it). */
static yc_val gen_suppress_all(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_suppress(&yc_BaseException), v) {
        (void)v;
        yc_yield(yc_int(1));
    } YC_END_WITH;
    tr("after with");
    return YC_NONE;
}

TEST(suppress_generator_exit_in_generator)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_suppress_all, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK); /* GeneratorExit swallowed, then it returned */
    CHECK_STR(trace, "after with");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- allocation failure --------------------------------------------- */

static void *failing_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    return NULL;
}

TEST(constructors_out_of_memory)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    char path[64];
    temp_file(path, sizeof path, "x");
    FILE *f = fopen(path, "r");
    int fd = fileno(f);
    int fd2 = open(path, O_RDONLY);
    yc_gen *g = yc_gen_new(counting, NULL, NULL); /* stacks are not malloc'd */
    yc_set_allocator(failing_alloc, NULL);
    CHECK(yc_cm_suppress(&yc_KeyError) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_mutex(&m) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_fopen(path, "r") == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_open(path, O_RDONLY, 0) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_file(f) == NULL); /* taken: closed */
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_fd(fd2) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK(yc_cm_gen(g) == NULL); /* taken: freed */
    CHECK_EXC(&yc_MemoryError, NULL);
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_cm_suppress(&yc_KeyError), v) { (void)v; tr("body"); } YC_END_WITH;
    } YC_EXCEPT(&yc_MemoryError) {
        tr("%s", xs(yc_exc_current()));
    } YC_END;
    yc_set_allocator(NULL, NULL);
    CHECK_STR(trace, "MemoryError: out of memory");
    CHECK(!fd_is_open(fd));
    CHECK(!fd_is_open(fd2));
    unlink(path);
}

TEST_MAIN()
