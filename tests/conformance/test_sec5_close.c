/*
 * Conformance: python-semantics.md section 5, close() and finalisation.
 * Each test names the item it covers in brackets. Where CPython versions
 * differ we follow 3.13 (close() returns the value of a generator that
 * caught GeneratorExit and returned).
 */
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

#define LOG_MAX 32
static const char *log_v[LOG_MAX];
static yc_gen_state log_st[LOG_MAX]; /* the state of `self` when the entry was made */
static int log_n;
static yc_gen *self; /* the generator under test, for bodies that look at themselves */

static void log_reset(void)
{
    log_n = 0;
    self = NULL;
}

/* Records an event and the state of the generator under test at that moment. */
static void rec(const char *s)
{
    if (log_n < LOG_MAX) {
        log_st[log_n] = self ? yc_gen_state_of(self) : (yc_gen_state)-1;
        log_v[log_n++] = s;
    }
}

static void check_log_(const char *file, int line, const char *const *want)
{
    int n = 0;
    while (want[n]) n++;
    if (n != log_n) {
        test_fail(file, line, "log has %d entries, want %d (first: %s)", log_n, n,
                  log_n ? log_v[0] : "-");
        return;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(log_v[i], want[i]) != 0)
            test_fail(file, line, "log[%d] = \"%s\", want \"%s\"", i, log_v[i], want[i]);
}
#define CHECK_LOG(...) check_log_(__FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

/* Checks a borrowed exception's type and "Type: message" text. */
static void check_exc_(const char *file, int line, const yc_exc *e, const yc_exc_type *t,
                       const char *text)
{
    if (!e) {
        test_fail(file, line, "expected a %s, got NULL", t->name);
        return;
    }
    char buf[512];
    yc_exc_format(e, buf, sizeof buf);
    if (yc_exc_type_of(e) != t)
        test_fail(file, line, "expected %s, got %s", t->name, buf);
    else if (text && strcmp(buf, text) != 0)
        test_fail(file, line, "expected \"%s\", got \"%s\"", text, buf);
}
#define CHECK_EXC_IS(e, t, text) check_exc_(__FILE__, __LINE__, (e), (t), (text))

static yc_gen *mk(yc_gen_fn fn, void *arg, const char *name)
{
    yc_gen *g = yc_gen_new(fn, arg, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    return g;
}

/* The exception being handled inside a body, as "Type: msg" (or "-"). */
static char cur_text[8][128];
static void note_current(int slot)
{
    yc_exc *e = yc_exc_current();
    if (e) yc_exc_format(e, cur_text[slot], sizeof cur_text[slot]);
    else snprintf(cur_text[slot], sizeof cur_text[slot], "-");
}

/* ---- 5.1 close() on a suspended generator ------------------------------ */

static yc_val fin_uncaught(void *arg)
{
    (void)arg;
    rec("start");
    YC_TRY {
        yc_yield(yc_int(1));
        rec("after yield 1");
        yc_yield(yc_int(2));
        rec("after yield 2");
    } YC_FINALLY {
        rec("finally");
        note_current(0);
        CHECK(yc_gen_current() == self);
    } YC_END;
    rec("after try");
    return yc_int(9);
}

TEST(close_suspended_uncaught_runs_finally_returns_none) /* [5.1] */
{
    log_reset();
    yc_gen *g = self = mk(fin_uncaught, NULL, "fin_uncaught");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("start", "finally");
    CHECK_EQ_INT(log_st[1], YC_GEN_RUNNING); /* [5.1] state R during finally */
    CHECK_STR(cur_text[0], "GeneratorExit"); /* GeneratorExit, no message */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK(yc_err_get() == NULL);
    /* X afterwards: next gives a fresh StopIteration() */
    v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_out_may_be_null) /* [5.1] */
{
    log_reset();
    yc_gen *g = self = mk(fin_uncaught, NULL, "fin_uncaught");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_LOG("start", "finally");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_suspended_at_second_yield) /* [5.1] GeneratorExit raised at the current yield */
{
    log_reset();
    yc_gen *g = self = mk(fin_uncaught, NULL, "fin_uncaught");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("start", "after yield 1", "finally");
    CHECK_EQ_INT(log_st[2], YC_GEN_RUNNING);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val ge_reraise(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_GeneratorExit) {
            rec("except");
            note_current(0);
            yc_reraise();
        } YC_END;
        rec("not reached");
    } YC_FINALLY {
        rec("finally");
        note_current(1);
    } YC_END;
    return yc_int(5);
}

TEST(close_reraised_generator_exit_returns_none) /* [5.1] */
{
    log_reset();
    yc_gen *g = self = mk(ge_reraise, NULL, "ge_reraise");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("except", "finally");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_EQ_INT(log_st[1], YC_GEN_RUNNING);
    CHECK_STR(cur_text[0], "GeneratorExit");
    CHECK_STR(cur_text[1], "GeneratorExit");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val ge_caught_fall_off(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("except");
    } YC_END;
    rec("after try");
    return YC_NONE; /* falls off the end */
}

TEST(close_caught_and_falls_off_returns_none) /* [5.1] */
{
    log_reset();
    yc_gen *g = self = mk(ge_caught_fall_off, NULL, "ge_caught");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("except", "after try");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_EQ_INT(log_st[1], YC_GEN_RUNNING);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.2 (3.13) close() returns the return value ------------------------ */

static yc_val ge_caught_returns(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("except");
    } YC_END;
    return yc_int(42);
}

TEST(close_caught_and_returns_value_313) /* [5.2] */
{
    log_reset();
    yc_gen *g = self = mk(ge_caught_returns, NULL, "ge_ret");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 42);
    CHECK_LOG("except");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    /* the value is reported once: a second close and a next give None */
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_value_none_when_created_or_uncaught) /* [5.2] */
{
    log_reset();
    /* created: nothing runs, None */
    yc_gen *g = self = mk(ge_caught_returns, NULL, "ge_ret");
    yc_val v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* not caught: None even though the body would return 9 */
    log_reset();
    g = self = mk(fin_uncaught, NULL, "fin_uncaught");
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.3 ignoring GeneratorExit ---------------------------------------- */

static yc_val catch_and_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("except");
        yc_val s = yc_yield(yc_int(2));
        rec(yc_is_none(s) ? "resumed with None" : "resumed with a value");
    } YC_END;
    rec("after try");
    YC_TRY {
        yc_yield(yc_int(3));
    } YC_FINALLY {
        rec("finally 3");
        note_current(0);
    } YC_END;
    return yc_int(4);
}

TEST(close_ignored_by_catch_and_yield) /* [5.3] */
{
    log_reset();
    yc_gen *g = self = mk(catch_and_yield, NULL, "cay");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK(yc_exc_context(e) == NULL); /* closed from plain code: nothing being handled */
    yc_exc_unref(e);
    /* stays S, at the new yield */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("except");
    /* a later next resumes it there (the yield gives None) */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_LOG("except", "resumed with None", "after try");
    /* a later close throws GeneratorExit at the current yield */
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("except", "resumed with None", "after try", "finally 3");
    CHECK_EQ_INT(log_st[3], YC_GEN_RUNNING);
    CHECK_STR(cur_text[0], "GeneratorExit");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val yield_in_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        rec("finally");
        note_current(0);
        yc_val s = yc_yield(yc_int(2));
        rec(yc_is_none(s) ? "after yield in finally" : "after yield in finally (value)");
    } YC_END;
    rec("after try");
    return YC_NONE;
}

TEST(close_ignored_by_yield_in_finally_then_close) /* [5.3] */
{
    log_reset();
    yc_gen *g = self = mk(yield_in_finally, NULL, "yif");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_LOG("finally");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_STR(cur_text[0], "GeneratorExit");
    /* close again: GeneratorExit at the yield inside finally; it escapes */
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("finally");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_ignored_by_yield_in_finally_then_next) /* [5.3] */
{
    log_reset();
    yc_gen *g = self = mk(yield_in_finally, NULL, "yif");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    /* resuming finishes the finally block, which re-raises the original
     * GeneratorExit: it comes out of next (CPython: next(g) -> GeneratorExit) */
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_GeneratorExit, "GeneratorExit");
    CHECK_LOG("finally", "after yield in finally");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static volatile int loop_caught;

static yc_val catch_and_loop(void *arg)
{
    (void)arg;
    for (int i = 0;; i++) {
        YC_TRY {
            yc_yield(yc_int(i));
        } YC_EXCEPT(&yc_GeneratorExit) {
            loop_caught++;
            rec("caught");
        } YC_END;
        if (loop_caught == 3) return yc_int(-1); /* gives up on the third */
    }
}

TEST(close_ignored_by_catch_and_loop) /* [5.3] */
{
    log_reset();
    loop_caught = 0;
    yc_gen *g = self = mk(catch_and_loop, NULL, "cal");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    for (int k = 1; k <= 2; k++) {
        CHECK_ST(yc_close(g, &v), YC_RAISE);
        CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
        CHECK_EQ_INT(loop_caught, k);
    }
    /* it is at yield 2 now (the discarded values were 1 and 2) */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, -1); /* 3.13: caught and returned */
    CHECK_EQ_INT(loop_caught, 3);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.4 another exception while closing ------------------------------- */

static yc_val raise_in_except(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("except");
        yc_raisef(&yc_ValueError, "boom %d", 7);
    } YC_END;
    rec("not reached");
    return YC_NONE;
}

TEST(close_raises_other_exception_from_except) /* [5.4] */
{
    log_reset();
    yc_gen *g = self = mk(raise_in_except, NULL, "rie");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_ValueError, "ValueError: boom 7");
    CHECK_EXC_IS(yc_exc_context(e), &yc_GeneratorExit, "GeneratorExit");
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(!yc_exc_suppress_context(e));
    CHECK(yc_exc_context(yc_exc_context(e)) == NULL);
    yc_exc_unref(e);
    CHECK_LOG("except");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raise_in_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_FINALLY {
            rec("inner finally");
            yc_raisef(&yc_KeyError, "k");
        } YC_END;
    } YC_FINALLY {
        rec("outer finally");
        note_current(0);
    } YC_END;
    return YC_NONE;
}

TEST(close_raises_other_exception_from_finally) /* [5.4] */
{
    log_reset();
    yc_gen *g = self = mk(raise_in_finally, NULL, "rif");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_KeyError, "KeyError: 'k'");
    CHECK_EXC_IS(yc_exc_context(e), &yc_GeneratorExit, "GeneratorExit");
    yc_exc_unref(e);
    CHECK_LOG("inner finally", "outer finally");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_EQ_INT(log_st[1], YC_GEN_RUNNING);
    CHECK_STR(cur_text[0], "KeyError: 'k'"); /* the outer finally sees the KeyError */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val stopiteration_in_except(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(5)));
    } YC_END;
    return YC_NONE;
}

TEST(close_stopiteration_becomes_runtime_error) /* [5.4] */
{
    log_reset();
    yc_gen *g = self = mk(stopiteration_in_except, NULL, "sie");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator raised StopIteration");
    yc_exc *si = yc_exc_cause(e);
    CHECK_EXC_IS(si, &yc_StopIteration, "StopIteration: 5");
    CHECK_INTV(yc_exc_value(si), 5);
    CHECK(yc_exc_context(e) == si);
    CHECK(yc_exc_suppress_context(e));
    CHECK_EXC_IS(yc_exc_context(si), &yc_GeneratorExit, "GeneratorExit");
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- context of what close() raises, when the caller handles something -- */

/* Closes g while handling IndexError("outer"); returns what close raised. */
static yc_exc *close_while_handling(yc_gen *g)
{
    yc_exc *volatile e = NULL;
    YC_TRY {
        yc_raisef(&yc_IndexError, "outer");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_close(g, NULL), YC_RAISE);
        e = yc_err_take();
    } YC_END;
    return e;
}

TEST(close_ignored_runtime_error_context_is_callers_exception) /* [5.3] */
{
    log_reset();
    yc_gen *g = self = mk(yield_in_finally, NULL, "yif");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = close_while_handling(g);
    /* raised in the caller: its context is what the caller handles */
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EXC_IS(yc_exc_context(e), &yc_IndexError, "IndexError: outer");
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_generator_exit_context_is_callers_exception) /* [5.4] [5.1] */
{
    /* CPython's close() creates GeneratorExit with PyErr_SetNone in the
     * caller, so its __context__ is the exception the caller is handling:
     * ValueError -> GeneratorExit -> IndexError (checked on 3.11; 3.13's
     * gen_close does the same). */
    log_reset();
    yc_gen *g = self = mk(raise_in_except, NULL, "rie");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *e = close_while_handling(g);
    CHECK_EXC_IS(e, &yc_ValueError, "ValueError: boom 7");
    CHECK_EXC_IS(yc_exc_context(e), &yc_GeneratorExit, "GeneratorExit");
    CHECK_EXC_IS(yc_exc_context(yc_exc_context(e)), &yc_IndexError, "IndexError: outer");
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.5 return inside finally ----------------------------------------- */

static yc_val return_in_finally(void *arg)
{
    const yc_val *ret = arg;
    YC_TRY {
        yc_yield(yc_int(1));
        rec("not reached");
    } YC_FINALLY {
        rec("finally");
        return *ret; /* leaves the finally block: the GeneratorExit is dropped */
    } YC_END;
    rec("not reached either");
    return yc_int(-1);
}

TEST(close_return_in_finally_swallows_generator_exit) /* [5.5] */
{
    log_reset();
    yc_val ret = YC_NONE;
    yc_gen *g = self = mk(return_in_finally, &ret, "rinf");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == NULL);
    CHECK_LOG("finally");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_return_value_in_finally_313) /* [5.5] with [5.2]: 3.13 returns the value */
{
    log_reset();
    yc_val ret = yc_int(6);
    yc_gen *g = self = mk(return_in_finally, &ret, "rinf");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 6);
    CHECK_LOG("finally");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.6 except Exception does not catch GeneratorExit ----------------- */

static yc_val except_exception(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_Exception) {
            rec("except Exception");
        } YC_END;
        rec("after inner try");
    } YC_EXCEPT(&yc_BaseException) {
        rec("except BaseException");
        note_current(0);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

TEST(close_not_caught_by_except_exception) /* [5.6] */
{
    log_reset();
    yc_gen *g = self = mk(except_exception, NULL, "exex");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("except BaseException");
    CHECK_STR(cur_text[0], "GeneratorExit");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.7 close() on a created generator -------------------------------- */

static yc_val body_with_finally(void *arg)
{
    (void)arg;
    rec("body started");
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        rec("finally");
    } YC_END;
    return yc_int(3);
}

TEST(close_created_runs_nothing) /* [5.7] */
{
    log_reset();
    yc_gen *g = self = mk(body_with_finally, NULL, "bwf");
    yc_val v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(log_n, 0);
}

/* ---- 5.8 close() on a closed generator --------------------------------- */

TEST(close_closed_is_noop) /* [5.8] */
{
    log_reset();
    yc_gen *g = self = mk(body_with_finally, NULL, "bwf");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 3);
    CHECK_LOG("body started", "finally");
    for (int i = 0; i < 2; i++) {
        v = yc_int(77);
        CHECK_ST(yc_close(g, &v), YC_OK);
        CHECK(yc_is_none(v));
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    }
    CHECK_EQ_INT(log_n, 2);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(close_after_raise_is_noop) /* [5.8] X reached by an exception */
{
    log_reset();
    yc_gen *g = self = mk(body_with_finally, NULL, "bwf");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_IndexError, "i"), &v), YC_RAISE);
    CHECK_EXC(&yc_IndexError, "IndexError: i");
    CHECK_LOG("body started", "finally");
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.9 close() on a running generator -------------------------------- */

static yc_val close_self_caught(void *arg)
{
    (void)arg;
    yc_val v = yc_int(77);
    int st = yc_close(yc_gen_current(), &v);
    CHECK_EQ_INT(st, YC_EBUSY);
    CHECK(yc_is_none(v));
    rec("after close");
    YC_TRY {
        YC_CHECK(st);
    } YC_EXCEPT(&yc_ValueError) {
        rec("caught");
        note_current(0);
    } YC_END;
    yc_yield(yc_int(1)); /* carries on normally */
    return yc_int(2);
}

TEST(close_running_self_caught_carries_on) /* [5.9] */
{
    log_reset();
    yc_gen *g = self = mk(close_self_caught, NULL, "cs");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_LOG("after close", "caught");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING); /* unchanged by the failed close */
    CHECK_STR(cur_text[0], "ValueError: generator already executing");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val close_self_uncaught(void *arg)
{
    (void)arg;
    rec("start");
    YC_CHECK(yc_close(yc_gen_current(), NULL));
    rec("not reached");
    return YC_NONE;
}

TEST(close_running_self_uncaught_kills_it) /* [5.9] */
{
    log_reset();
    yc_gen *g = self = mk(close_self_uncaught, NULL, "csu");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_LOG("start");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A subgenerator closing its delegating outer, which is R. */
static yc_gen *outer59;

static yc_val sub_closes_outer(void *arg)
{
    (void)arg;
    rec("sub");
    int st = yc_close(outer59, NULL);
    CHECK_EQ_INT(st, YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_gen_state_of(outer59), YC_GEN_RUNNING);
    yc_yield(yc_int(1));
    return YC_NONE;
}

static yc_val outer_of_closer(void *arg)
{
    (void)arg;
    yc_gen *s = yc_gen_new(sub_closes_outer, NULL, &(yc_gen_opts){.name = "sub"});
    YC_TRY {
        yc_yield_from(yc_gen_iter(s));
    } YC_FINALLY {
        yc_gen_free(s);
    } YC_END;
    return yc_int(8);
}

TEST(close_running_outer_from_sub) /* [5.9] */
{
    log_reset();
    yc_gen *g = self = outer59 = mk(outer_of_closer, NULL, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_LOG("sub");
    CHECK_EQ_INT(log_st[0], YC_GEN_RUNNING);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 8);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 5.10 finalisation ------------------------------------------------- */

static int hook_calls;
static char hook_exc[256], hook_ctx[256], hook_obj[400];
static yc_gen_state hook_state;
static yc_gen *hook_gen;

static void test_hook(yc_exc *e, const char *obj, void *ud)
{
    hook_calls++;
    CHECK(ud == &hook_calls);
    yc_exc_format(e, hook_exc, sizeof hook_exc);
    if (yc_exc_context(e)) yc_exc_format(yc_exc_context(e), hook_ctx, sizeof hook_ctx);
    else snprintf(hook_ctx, sizeof hook_ctx, "-");
    snprintf(hook_obj, sizeof hook_obj, "%s", obj ? obj : "(null)");
    hook_state = hook_gen ? yc_gen_state_of(hook_gen) : (yc_gen_state)-1;
}

static void hook_install(yc_gen *g)
{
    hook_calls = 0;
    hook_exc[0] = hook_ctx[0] = hook_obj[0] = '\0';
    hook_gen = g;
    yc_set_unraisable_hook(test_hook, &hook_calls);
}

static void hook_restore(void)
{
    yc_set_unraisable_hook(NULL, NULL);
    hook_gen = NULL;
}

/* "<generator object NAME at 0x...>" with g's address. */
static void check_obj_(const char *file, int line, const char *obj, const char *name,
                       const yc_gen *g)
{
    char want[400];
    snprintf(want, sizeof want, "<generator object %s at %p>", name, (const void *)g);
    if (strcmp(obj, want) != 0) test_fail(file, line, "obj \"%s\", want \"%s\"", obj, want);
    if (strncmp(obj, "<generator object ", 18) != 0 || !strstr(obj, " at 0x"))
        test_fail(file, line, "obj \"%s\" has not the <generator object N at 0x..> form", obj);
}
#define CHECK_OBJ(obj, name, g) check_obj_(__FILE__, __LINE__, (obj), (name), (g))

TEST(free_suspended_runs_finally) /* [5.10] */
{
    log_reset();
    yc_gen *g = self = mk(fin_uncaught, NULL, "fin_uncaught");
    hook_install(NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_LOG("start", "finally");
    CHECK_EQ_INT(log_st[1], YC_GEN_RUNNING); /* finally of a finalised generator runs in R */
    CHECK_STR(cur_text[0], "GeneratorExit");
    CHECK_EQ_INT(hook_calls, 0);
    CHECK(yc_err_get() == NULL);
    hook_restore();
}

TEST(free_suspended_caught_and_returned_is_silent) /* [5.10] */
{
    log_reset();
    yc_gen *g = self = mk(ge_caught_returns, NULL, "ge_ret");
    hook_install(NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_LOG("except");
    CHECK_EQ_INT(hook_calls, 0);
    CHECK(yc_err_get() == NULL);
    hook_restore();
}

TEST(free_raising_other_exception_goes_to_hook) /* [5.10] */
{
    log_reset();
    yc_gen *g = self = mk(raise_in_except, NULL, "rie");
    hook_install(g);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_LOG("except");
    CHECK_EQ_INT(hook_calls, 1);
    CHECK_STR(hook_exc, "ValueError: boom 7");
    CHECK_STR(hook_ctx, "GeneratorExit");
    CHECK_OBJ(hook_obj, "rie", g);
    CHECK(yc_err_get() == NULL);
    hook_restore();
}

TEST(free_keeps_callers_pending_error) /* [5.10] nothing propagates, nothing is lost */
{
    log_reset();
    yc_gen *g = self = mk(raise_in_except, NULL, "rie");
    hook_install(g);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_err_set(yc_exc_new(&yc_IndexError, "mine"));
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_EQ_INT(hook_calls, 1);
    CHECK_STR(hook_exc, "ValueError: boom 7");
    CHECK_EXC(&yc_IndexError, "IndexError: mine");
    hook_restore();
}

TEST(free_created_or_closed_runs_nothing) /* [5.10] */
{
    log_reset();
    hook_install(NULL);
    yc_gen *g = self = mk(body_with_finally, NULL, "bwf");
    CHECK_ST(yc_gen_free(g), YC_OK); /* created */
    CHECK_EQ_INT(log_n, 0);
    g = self = mk(body_with_finally, NULL, "bwf");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_LOG("body started", "finally");
    CHECK_ST(yc_gen_free(g), YC_OK); /* closed */
    CHECK_LOG("body started", "finally");
    g = self = mk(yield_in_finally, NULL, "yif");
    CHECK_ST(yc_close(g, NULL), YC_OK); /* created, then closed: no finally, no yield */
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_LOG("body started", "finally");
    self = NULL;
    CHECK_EQ_INT(hook_calls, 0);
    CHECK(yc_err_get() == NULL);
    hook_restore();
}

/* Finalising an outer that delegates: the sub is closed first. */
static yc_val fin_sub(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        rec("sub finally");
    } YC_END;
    return YC_NONE;
}

static yc_val fin_outer(void *arg)
{
    (void)arg;
    yc_gen *s = yc_gen_new(fin_sub, NULL, &(yc_gen_opts){.name = "fin_sub"});
    YC_TRY {
        yc_yield_from(yc_gen_iter(s));
    } YC_FINALLY {
        rec("outer finally");
        CHECK_EQ_INT(yc_gen_state_of(s), YC_GEN_CLOSED);
        yc_gen_free(s);
    } YC_END;
    return YC_NONE;
}

TEST(free_delegating_outer_closes_sub_first) /* [5.10] */
{
    log_reset();
    hook_install(NULL);
    yc_gen *g = self = mk(fin_outer, NULL, "fin_outer");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_LOG("sub finally", "outer finally");
    CHECK_EQ_INT(hook_calls, 0);
    hook_restore();
}

/* The default hook, in a child process: CPython's text on stderr. */
static void child_free_ignoring(void *arg)
{
    (void)arg;
    yc_set_unraisable_hook(NULL, NULL);
    yc_gen *g = yc_gen_new(yield_in_finally, NULL, &(yc_gen_opts){.name = "g2"});
    if (!g || yc_next(g, NULL) != YC_YIELD) _exit(3);
    fprintf(stderr, "%p|", (void *)g);
    if (yc_gen_free(g) != YC_OK) _exit(4);
    if (yc_err_get()) _exit(5);
}

static void child_free_raising(void *arg)
{
    (void)arg;
    yc_set_unraisable_hook(NULL, NULL);
    yc_gen *g = yc_gen_new(raise_in_except, NULL, &(yc_gen_opts){.name = "rie"});
    if (!g || yc_next(g, NULL) != YC_YIELD) _exit(3);
    if (yc_gen_free(g) != YC_OK) _exit(4);
}

TEST(free_default_hook_prints_other_exception) /* [5.10] */
{
    char buf[4096];
    int ws = test_in_child(child_free_raising, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(ws));
    CHECK_EQ_INT(WEXITSTATUS(ws), 0);
    const char *head = "Exception ignored in: <generator object rie at 0x";
    if (strncmp(buf, head, strlen(head)) != 0) test_fail(__FILE__, __LINE__, "stderr: %s", buf);
    const char *tail = "ValueError: boom 7\n";
    size_t tl = strlen(tail), n = strlen(buf);
    if (n < tl || strcmp(buf + n - tl, tail) != 0)
        test_fail(__FILE__, __LINE__, "stderr does not end with the ValueError: %s", buf);
}

TEST(free_default_hook_prints_exception_ignored) /* [5.10] */
{
    char buf[4096];
    int ws = test_in_child(child_free_ignoring, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(ws));
    CHECK_EQ_INT(WEXITSTATUS(ws), 0);
    char *bar = strchr(buf, '|');
    CHECK(bar != NULL);
    if (!bar) return;
    *bar = '\0';
    const char *text = bar + 1;
    char want_head[256];
    snprintf(want_head, sizeof want_head, "Exception ignored in: <generator object g2 at %.64s>\n",
             buf);
    const char *head = "Exception ignored in: <generator object g2 at ";
    if (strncmp(text, head, strlen(head)) != 0) test_fail(__FILE__, __LINE__, "stderr: %s", text);
    if (strncmp(text, want_head, strlen(want_head)) != 0)
        test_fail(__FILE__, __LINE__, "stderr: %s, want it to start with %s", text, want_head);
    const char *tail = "RuntimeError: generator ignored GeneratorExit\n";
    size_t tl = strlen(tail), n = strlen(text);
    if (n < tl || strcmp(text + n - tl, tail) != 0)
        test_fail(__FILE__, __LINE__, "stderr does not end with the RuntimeError: %s", text);
}

/* These free a generator left suspended by an ignored GeneratorExit (inside
 * its finally / except block). They come last: if the library leaks what
 * that abandoned block holds, the leak check (cumulative) fails only them. */
TEST(free_ignoring_generator_exit_goes_to_hook) /* [5.10] */
{
    log_reset();
    yc_gen *g = self = mk(yield_in_finally, NULL, "g2");
    hook_install(g);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_LOG("finally");
    CHECK_EQ_INT(hook_calls, 1);
    CHECK_STR(hook_exc, "RuntimeError: generator ignored GeneratorExit");
    CHECK_STR(hook_ctx, "-");
    CHECK_OBJ(hook_obj, "g2", g);
    CHECK_EQ_INT(hook_state, YC_GEN_SUSPENDED); /* still alive while the hook runs */
    CHECK(yc_err_get() == NULL);                /* nothing propagates */
    hook_restore();
}

TEST(free_default_name_in_hook_obj) /* [5.10] */
{
    log_reset();
    yc_gen *g = self = yc_gen_new(yield_in_finally, NULL, NULL);
    CHECK(g != NULL);
    hook_install(g);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    self = NULL;
    CHECK_EQ_INT(hook_calls, 1);
    CHECK_OBJ(hook_obj, "generator", g);
    hook_restore();
}

TEST_MAIN()
