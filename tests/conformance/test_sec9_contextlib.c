/* python-semantics.md section 9: contextlib.contextmanager and ExitStack.
 * Each test carries the number of the item it checks, like [9.6]; the
 * expected chains and messages were taken from CPython 3.11 (contextlib is
 * the same in 3.13 for all of these). Generator managers are written as in
 * Python: setup, yield the resource, clean up. */
#include "../with_util.h"

/* Runs a with block over cm whose body raises `body` (taken; NULL: the body
 * ends normally), inside a YC_TRY; returns what came out of the with, as a
 * new reference (NULL: nothing; *after set when execution continued after
 * the construct). */
static yc_exc *run_with(yc_cm *cm, yc_exc *body, bool *after)
{
    yc_exc *volatile out = NULL;
    volatile bool cont = false;
    YC_TRY {
        YC_WITH(cm, v) {
            tr("body %s", yc_type_of(v) == YC_T_INT ? "int" : "other");
            if (body) yc_raise(body);
        } YC_END_WITH;
        cont = true;
    } YC_EXCEPT_ANY {
        out = yc_exc_ref(yc_exc_current());
    } YC_END;
    if (after) *after = cont;
    return out;
}

/* ---- generator managers ---------------------------------------------- */

static int body_runs;

/* The seed's three steps: setup (try), hand-off (yield), wrap-up (finally). */
static yc_val resource(void *arg)
{
    (void)arg;
    body_runs++;
    tr("setup");
    YC_TRY {
        yc_yield(yc_int(42));
    } YC_FINALLY {
        tr("cleanup");
    } YC_END;
    return YC_NONE;
}

TEST(sec9_1_creating_runs_nothing) /* [9.1] */
{
    body_runs = 0;
    yc_cm *cm = yc_cm_gen_new(resource, NULL, &(yc_gen_opts){.name = "resource"});
    CHECK(cm != NULL);
    yc_gen *g = yc_cm_gen_of(cm);
    CHECK(g != NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK_STR(yc_gen_name(g), "resource");
    CHECK_EQ_INT(body_runs, 0);
    CHECK(yc_cm_gen_of(NULL) == NULL);
    yc_cm_free(cm); /* never entered: the body never runs */
    CHECK_EQ_INT(body_runs, 0);
}

TEST(sec9_2_enter_is_next_and_binds_the_yield) /* [9.2] */
{
    trace[0] = '\0';
    volatile int64_t bound = 0;
    YC_WITH(yc_cm_gen_new(resource, NULL, NULL), r) {
        bound = r.i;
        tr("body");
    } YC_END_WITH;
    CHECK_EQ_INT(bound, 42);
    CHECK_STR(trace, "setup,body,cleanup");
}

static yc_val fails_before_yield(void *arg)
{
    (void)arg;
    tr("setup");
    yc_raisef(&yc_OSError, "no resource");
    yc_yield(YC_NONE);
    return YC_NONE;
}

TEST(sec9_2_exception_before_the_yield) /* [9.2] */
{
    trace[0] = '\0';
    volatile int line = 0;
    YC_TRY {
        line = __LINE__ + 1;
        YC_WITH(yc_cm_gen_new(fails_before_yield, NULL, NULL), r) {
            (void)r;
            tr("body");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_OSError) {
        size_t n;
        const yc_tb_entry *tb = yc_exc_traceback(yc_exc_current(), &n);
        CHECK(n >= 2);
        if (n >= 2) CHECK_EQ_INT(tb[n - 1].line, line); /* from the with line */
        tr("caught %s", xs(yc_exc_current()));
    } YC_END;
    /* the body and exit did not run */
    CHECK_STR(trace, "setup,caught OSError: no resource");
    yc_cm *cm = yc_cm_gen_new(fails_before_yield, NULL, NULL);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_OSError, "OSError: no resource");
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    yc_cm_free(cm);
}

static yc_val never_yields(void *arg)
{
    return arg ? yc_int(5) : YC_NONE; /* returns, or falls off the end */
}

TEST(sec9_3_generator_didnt_yield) /* [9.3] */
{
    for (int returns = 0; returns < 2; returns++) {
        trace[0] = '\0';
        yc_exc *e = run_with(yc_cm_gen_new(never_yields, returns ? "r" : NULL, NULL), NULL, NULL);
        CHECK_STR(trace, ""); /* no body */
        CHECK_XS(e, "RuntimeError: generator didn't yield");
        /* from None: suppressed context, no cause, but __context__ is the
         * StopIteration */
        CHECK(yc_exc_suppress_context(e));
        CHECK(yc_exc_cause(e) == NULL);
        yc_exc *si = yc_exc_context(e);
        CHECK(yc_exc_type_of(si) == &yc_StopIteration);
        CHECK_VAL(yc_exc_value(si), returns ? yc_int(5) : YC_NONE);
        CHECK(yc_exc_context(si) == NULL);
        yc_exc_unref(e);
    }
}

/* Entered inside an except block: the StopIteration is chained to it. */
TEST(sec9_3_didnt_yield_inside_except)
{
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_KeyError, "o");
    } YC_EXCEPT(&yc_KeyError) {
        yc_exc *e = run_with(yc_cm_gen_new(never_yields, "r", NULL), NULL, NULL);
        tr("%s", ctx_chain(e));
        yc_exc_unref(e);
    } YC_END;
    CHECK_STR(trace, "RuntimeError: generator didn't yield -> StopIteration: 5 -> KeyError: 'o'");
}

static const yc_iter_type no_next_type = {.name = "int"};

TEST(sec9_4_not_an_iterator) /* [9.4] */
{
    /* an "iterator" with no next: TypeError at enter, not at creation */
    yc_iter fake = {&no_next_type};
    yc_cm *cm = yc_cm_iter(&fake);
    CHECK(cm != NULL);
    trace[0] = '\0';
    yc_exc *e = run_with(cm, NULL, NULL);
    CHECK_XS(e, "TypeError: 'int' object is not an iterator");
    CHECK_STR(trace, "");
    yc_exc_unref(e);
    /* nothing at all */
    CHECK(yc_cm_gen(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object is not an iterator");
    CHECK(yc_cm_iter(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object is not an iterator");
    /* a generator function that could not be created: its error */
    CHECK(yc_cm_gen_new(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
}

TEST(sec9_5_normal_exit_stop_iteration_is_false) /* [9.5] */
{
    trace[0] = '\0';
    yc_cm *cm = yc_cm_gen_new(resource, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_cm_enter(cm, &v), YC_OK);
    CHECK_INTV(v, 42);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    CHECK_STR(trace, "setup,cleanup");
    yc_cm_free(cm);
}

static yc_val yields_twice(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_FINALLY {
        tr("closed %s", xs(yc_exc_current()));
    } YC_END;
    return YC_NONE;
}

TEST(sec9_5_generator_didnt_stop) /* [9.5] */
{
    trace[0] = '\0';
    yc_exc *e = run_with(yc_cm_gen_new(yields_twice, NULL, NULL), NULL, NULL);
    /* the generator was closed: its finally saw GeneratorExit, chained to
     * the RuntimeError being handled */
    CHECK_STR(trace, "body int,closed GeneratorExit");
    CHECK_STR(ctx_chain(e), "RuntimeError: generator didn't stop");
    yc_exc_unref(e);
    yc_cm *cm = yc_cm_gen_new(yields_twice, NULL, NULL);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator didn't stop");
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    yc_cm_free(cm);
}

/* didn't stop, and closing fails: the close's error replaces it */
static yc_val yields_then_ignores_exit(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    for (;;) {
        YC_TRY {
            yc_yield(yc_int(2));
        } YC_EXCEPT(&yc_GeneratorExit) {
        } YC_END;
    }
    return YC_NONE;
}

static void count_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    ++*(int *)ud;
}

TEST(sec9_5_didnt_stop_and_close_fails) /* [9.5] */
{
    int unraisable = 0;
    yc_set_unraisable_hook(count_unraisable, &unraisable);
    trace[0] = '\0';
    yc_exc *e = run_with(yc_cm_gen_new(yields_then_ignores_exit, NULL, NULL), NULL, NULL);
    CHECK_STR(ctx_chain(e),
              "RuntimeError: generator ignored GeneratorExit -> RuntimeError: generator didn't stop");
    yc_exc_unref(e);
    CHECK_EQ_INT(unraisable, 1); /* and once more when freed, as CPython's finaliser */
    yc_set_unraisable_hook(NULL, NULL);
}

static yc_val fin_raises(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_FINALLY {
        yc_raisef(&yc_KeyError, "fin");
    } YC_END;
    return YC_NONE;
}

TEST(sec9_5_didnt_stop_close_raises) /* [9.5] */
{
    yc_exc *e = run_with(yc_cm_gen_new(fin_raises, NULL, NULL), NULL, NULL);
    CHECK_STR(ctx_chain(e), "KeyError: 'fin' -> GeneratorExit -> RuntimeError: generator didn't stop");
    yc_exc_unref(e);
}

static yc_val raises_after_yield(void *arg)
{
    yc_yield(yc_int(1));
    if (arg) yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(3)));
    yc_raisef(&yc_ValueError, "after");
    return YC_NONE;
}

TEST(sec9_5_generator_raises_after_the_yield) /* [9.5] */
{
    trace[0] = '\0';
    bool after = true;
    yc_exc *e = run_with(yc_cm_gen_new(raises_after_yield, NULL, NULL), NULL, &after);
    CHECK_XS(e, "ValueError: after");
    CHECK(yc_exc_context(e) == NULL);
    CHECK(!after);
    yc_exc_unref(e);
    /* an explicit StopIteration there: PEP 479 */
    e = run_with(yc_cm_gen_new(raises_after_yield, "si", NULL), NULL, NULL);
    CHECK_XS(e, "RuntimeError: generator raised StopIteration");
    CHECK_XS(yc_exc_cause(e), "StopIteration: 3");
    yc_exc_unref(e);
}

/* ---- 9.6: the body raises ------------------------------------------- */

enum { DONT_CATCH, RERAISE, CATCH_FINISH, RAISE_OTHER, CATCH_YIELD, CATCH_EXCEPTION,
       RAISE_RT_FROM, RAISE_OTHER_SI, CATCH_GE, CATCH_KI };

static yc_val thrown_into(void *arg)
{
    int mode = (int)(intptr_t)arg;
    switch (mode) {
    case DONT_CATCH:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_FINALLY {
            tr("finally %s", xs(yc_exc_current()));
        } YC_END;
        break;
    case RERAISE:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT_ANY {
            tr("caught %s", xs(yc_exc_current()));
            yc_reraise();
        } YC_END;
        break;
    case CATCH_FINISH:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_ValueError) {
            tr("caught %s", xs(yc_exc_current()));
        } YC_END;
        break;
    case RAISE_OTHER:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_ValueError) {
            yc_raisef(&yc_KeyError, "other");
        } YC_END;
        break;
    case CATCH_YIELD:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_ValueError) {
            YC_TRY {
                yc_yield(yc_int(2));
            } YC_FINALLY {
                tr("closed %s", xs(yc_exc_current()));
            } YC_END;
        } YC_END;
        break;
    case CATCH_EXCEPTION:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_Exception) {
            tr("caught %s", xs(yc_exc_current()));
        } YC_END;
        break;
    case RAISE_RT_FROM:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_StopIteration) {
            yc_raise_from(yc_exc_new(&yc_RuntimeError, "wrapped"), yc_exc_ref(yc_exc_current()));
        } YC_END;
        break;
    case RAISE_OTHER_SI:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_StopIteration) {
            yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
        } YC_END;
        break;
    case CATCH_GE:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_GeneratorExit) {
            tr("caught %s", xs(yc_exc_current()));
        } YC_END;
        break;
    case CATCH_KI:
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_KeyboardInterrupt) {
            tr("caught %s", xs(yc_exc_current()));
        } YC_END;
        break;
    }
    return YC_NONE;
}

static yc_cm *thrown_cm(int mode)
{
    return yc_cm_gen_new(thrown_into, (void *)(intptr_t)mode, NULL);
}

/* [9.6a] The generator does not catch, or re-raises the same object: exit
 * is false and the with re-raises the original exception object, with its
 * original traceback (one entry: the raise in the body). */
TEST(sec9_6a_not_caught_original_propagates)
{
    for (int mode = DONT_CATCH; mode <= RERAISE; mode++) {
        trace[0] = '\0';
        yc_exc *body = yc_exc_new(&yc_ValueError, "body");
        yc_exc *e = run_with(thrown_cm(mode), yc_exc_ref(body), NULL);
        CHECK(e == body);
        size_t n = 99;
        yc_exc_traceback(e, &n);
        CHECK_EQ_INT(n, 1);
        CHECK(yc_exc_context(e) == NULL);
        CHECK_STR(trace, mode == DONT_CATCH ? "body int,finally ValueError: body"
                                            : "body int,caught ValueError: body");
        yc_exc_unref(e);
        yc_exc_unref(body);
    }
}

TEST(sec9_6a_exit_returns_false)
{
    yc_cm *cm = thrown_cm(RERAISE);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    trace[0] = '\0';
    CHECK_ST(yc_cm_exit(cm, e), YC_EXIT_PROPAGATE);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    size_t n = 99;
    yc_exc_traceback(e, &n);
    CHECK_EQ_INT(n, 0); /* the generator's frames were dropped again */
    yc_exc_unref(e);
    yc_cm_free(cm);
}

TEST(sec9_6b_caught_and_finished_is_suppressed) /* [9.6b] */
{
    trace[0] = '\0';
    bool after = false;
    yc_exc *e = run_with(thrown_cm(CATCH_FINISH), yc_exc_new(&yc_ValueError, "body"), &after);
    CHECK(e == NULL);
    CHECK(after); /* execution continued after the with */
    CHECK_STR(trace, "body int,caught ValueError: body");
    yc_cm *cm = thrown_cm(CATCH_FINISH);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    yc_exc *x = yc_exc_new(&yc_ValueError, "v");
    CHECK_ST(yc_cm_exit(cm, x), YC_EXIT_SUPPRESS);
    yc_exc_unref(x);
    yc_cm_free(cm);
}

TEST(sec9_6c_different_exception_propagates) /* [9.6c] */
{
    yc_exc *e = run_with(thrown_cm(RAISE_OTHER), yc_exc_new(&yc_ValueError, "body"), NULL);
    CHECK_STR(ctx_chain(e), "KeyError: 'other' -> ValueError: body");
    yc_exc_unref(e);
}

TEST(sec9_6d_caught_and_yielded_again) /* [9.6d] */
{
    trace[0] = '\0';
    yc_exc *e = run_with(thrown_cm(CATCH_YIELD), yc_exc_new(&yc_ValueError, "body"), NULL);
    CHECK_STR(ctx_chain(e), "RuntimeError: generator didn't stop after throw() -> ValueError: body");
    /* closed: GeneratorExit at the second yield */
    CHECK_STR(trace, "body int,closed GeneratorExit");
    yc_exc_unref(e);
    yc_cm *cm = thrown_cm(CATCH_YIELD);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    yc_exc *x = yc_exc_new(&yc_ValueError, "v");
    CHECK_ST(yc_cm_exit(cm, x), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator didn't stop after throw()");
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    yc_exc_unref(x);
    yc_cm_free(cm);
}

/* ---- 9.7: StopIteration raised in the body --------------------------- */

TEST(sec9_7_stop_iteration_comes_out_as_itself) /* [9.7] */
{
    for (int mode = DONT_CATCH; mode <= RAISE_RT_FROM; mode += RAISE_RT_FROM - DONT_CATCH) {
        yc_exc *si = yc_exc_new_value(&yc_StopIteration, yc_int(1));
        yc_exc *e = run_with(thrown_cm(mode), yc_exc_ref(si), NULL);
        /* not "RuntimeError: generator raised StopIteration": the very SI */
        CHECK(e == si);
        CHECK_XS(e, "StopIteration: 1");
        size_t n = 99;
        yc_exc_traceback(e, &n);
        CHECK_EQ_INT(n, 1);
        yc_exc_unref(e);
        yc_exc_unref(si);
    }
}

TEST(sec9_7_stop_iteration_caught_is_suppressed) /* [9.7] */
{
    trace[0] = '\0';
    bool after = false;
    yc_exc *e = run_with(thrown_cm(CATCH_EXCEPTION),
                         yc_exc_new_value(&yc_StopIteration, yc_int(1)), &after);
    CHECK(e == NULL);
    CHECK(after);
    CHECK_STR(trace, "body int,caught StopIteration: 1");
}

/* A different StopIteration raised by the generator is wrapped by PEP 479,
 * with that one (not the thrown one) as cause: the RuntimeError propagates. */
TEST(sec9_7_other_stop_iteration_is_runtime_error) /* [9.7] */
{
    yc_exc *e = run_with(thrown_cm(RAISE_OTHER_SI), yc_exc_new_value(&yc_StopIteration, yc_int(1)),
                         NULL);
    CHECK_STR(ctx_chain(e), "RuntimeError: generator raised StopIteration -> StopIteration: 7 -> "
                            "StopIteration: 1");
    CHECK_XS(yc_exc_cause(e), "StopIteration: 7");
    yc_exc_unref(e);
}

/* A manager over an iterator whose throw returns a StopIteration: "suppress"
 * unless it is the very object thrown in (CPython: `exc is not value`). */
typedef struct si_iter {
    yc_iter it;
    bool same;
} si_iter;

static int si_next(yc_iter *it, yc_val *out)
{
    (void)it;
    *out = yc_int(0);
    return YC_YIELD;
}

static int si_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    (void)out;
    if (((si_iter *)it)->same) {
        yc_err_set(e);
    } else {
        yc_exc_unref(e);
        yc_err_set(yc_exc_new_value(&yc_StopIteration, YC_NONE));
    }
    return YC_RAISE;
}

static const yc_iter_type si_iter_type = {.name = "si_iter", .next = si_next, .throw_ = si_throw};

TEST(sec9_7_stop_iteration_from_throw_means_suppress) /* [9.7] */
{
    for (int same = 0; same < 2; same++) {
        si_iter it = {{&si_iter_type}, same};
        yc_cm *cm = yc_cm_iter(&it.it);
        CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
        yc_exc *e = yc_exc_new_value(&yc_StopIteration, yc_int(1));
        CHECK_ST(yc_cm_exit(cm, e), same ? YC_EXIT_PROPAGATE : YC_EXIT_SUPPRESS);
        yc_exc_unref(e);
        yc_cm_free(cm);
    }
}

/* ---- 9.8, 9.9: GeneratorExit and KeyboardInterrupt in the body -------- */

TEST(sec9_8_generator_exit_in_body) /* [9.8] */
{
    yc_exc *ge = yc_exc_new(&yc_GeneratorExit, NULL);
    yc_exc *e = run_with(thrown_cm(CATCH_EXCEPTION), yc_exc_ref(ge), NULL);
    CHECK(e == ge); /* not caught by `except Exception`: escapes the with */
    yc_exc_unref(e);
    yc_exc_unref(ge);
    trace[0] = '\0';
    bool after = false;
    e = run_with(thrown_cm(CATCH_GE), yc_exc_new(&yc_GeneratorExit, NULL), &after);
    CHECK(e == NULL);
    CHECK(after);
    CHECK_STR(trace, "body int,caught GeneratorExit");
}

TEST(sec9_9_keyboard_interrupt_in_body) /* [9.9] */
{
    trace[0] = '\0';
    yc_exc *ki = yc_exc_new(&yc_KeyboardInterrupt, NULL);
    yc_exc *e = run_with(thrown_cm(CATCH_EXCEPTION), yc_exc_ref(ki), NULL);
    CHECK(e == ki); /* thrown in; `except Exception` does not stop it */
    CHECK_STR(trace, "body int");
    yc_exc_unref(e);
    yc_exc_unref(ki);
    trace[0] = '\0';
    bool after = false;
    e = run_with(thrown_cm(CATCH_KI), yc_exc_new(&yc_KeyboardInterrupt, NULL), &after);
    CHECK(e == NULL);
    CHECK(after);
    CHECK_STR(trace, "body int,caught KeyboardInterrupt");
    /* SystemExit, another BaseException, the same way */
    yc_exc *se = yc_exc_new(&yc_SystemExit, NULL);
    e = run_with(thrown_cm(CATCH_EXCEPTION), yc_exc_ref(se), NULL);
    CHECK(e == se);
    yc_exc_unref(e);
    yc_exc_unref(se);
}

/* A generator manager inside a generator that is closed while suspended
 * in the with body: the manager's generator sees the GeneratorExit. */
static yc_val uses_resource(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_gen_new(thrown_into, (void *)(intptr_t)DONT_CATCH, NULL), r) {
        yc_yield(r);
    } YC_END_WITH;
    return YC_NONE;
}

TEST(sec9_8_closing_a_generator_inside_a_with) /* [9.8] */
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(uses_resource, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_STR(trace, "finally GeneratorExit");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 9.10: single use ------------------------------------------------ */

TEST(sec9_10_single_use) /* [9.10] */
{
    yc_cm *cm = yc_cm_gen_new(resource, NULL, NULL);
    trace[0] = '\0';
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    CHECK_ST(yc_cm_enter(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: cannot enter a generator-based context manager twice");
    /* also while still entered; the generator is not touched */
    yc_cm *cm2 = yc_cm_gen_new(resource, NULL, NULL);
    CHECK_ST(yc_cm_enter(cm2, NULL), YC_OK);
    CHECK_ST(yc_cm_enter(cm2, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: cannot enter a generator-based context manager twice");
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm2)), YC_GEN_SUSPENDED);
    /* given to a with block: the error is raised at the with line */
    trace[0] = '\0';
    yc_exc *e = run_with(cm2, NULL, NULL);
    CHECK_XS(e, "RuntimeError: cannot enter a generator-based context manager twice");
    CHECK_STR(trace, "cleanup"); /* freed: the suspended generator closed */
    yc_exc_unref(e);
    yc_cm_free(cm);
    /* the decorated function called again gives a fresh manager */
    body_runs = 0;
    for (int i = 0; i < 3; i++) {
        YC_WITH(yc_cm_gen_new(resource, NULL, NULL), r) { CHECK_INTV(r, 42); } YC_END_WITH;
    }
    CHECK_EQ_INT(body_runs, 3);
}

/* ---- 9.11: ExitStack (more in tests/test_exitstack.c) ------------------ */

static void cb_raise(void *arg) { yc_raise(yc_exc_new((const yc_exc_type *)arg, "cb")); }
static void cb_trace(void *arg) { tr("cb %s", (const char *)arg); }

static int exit_fn_trace(void *ud, yc_exc *e)
{
    tr("push %s %s", (const char *)ud, xs(e));
    return YC_EXIT_PROPAGATE;
}

static int exit_fn_suppress(void *ud, yc_exc *e)
{
    tr("suppress %s %s", (const char *)ud, xs(e));
    return YC_EXIT_SUPPRESS;
}

TEST(sec9_11_lifo_order) /* [9.11] */
{
    trace[0] = '\0';
    log_cm a;
    YC_WITH(yc_exitstack_cm(yc_exitstack_new()), sv) {
        yc_exitstack *s = sv.p;
        CHECK_ST(yc_exitstack_callback(s, cb_trace, "1"), YC_OK);
        yc_val v;
        CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), &v), YC_OK);
        CHECK_ST(yc_exitstack_push(s, exit_fn_trace, "3"), YC_OK);
        CHECK_EQ_INT(yc_exitstack_size(s), 3);
        tr("body");
    } YC_END_WITH;
    CHECK_STR(trace, "enter A,body,push 3 None,exit A None,free A,cb 1");
}

/* The spec's example: body IndexError, then the second-registered callback
 * raises KeyError, then the first-registered raises ValueError:
 * ValueError -> KeyError -> IndexError. */
TEST(sec9_11_raising_exits_chain) /* [9.11] */
{
    yc_exitstack *s = yc_exitstack_new();
    yc_exc *e = NULL;
    YC_TRY {
        YC_WITH(yc_exitstack_cm(s), sv) {
            CHECK_ST(yc_exitstack_callback(sv.p, cb_raise, (void *)&yc_ValueError), YC_OK);
            CHECK_ST(yc_exitstack_callback(sv.p, cb_raise, (void *)&yc_KeyError), YC_OK);
            yc_raisef(&yc_IndexError, "body");
        } YC_END_WITH;
    } YC_EXCEPT_ANY {
        e = yc_exc_ref(yc_exc_current());
    } YC_END;
    CHECK_STR(ctx_chain(e), "ValueError: cb -> KeyError: 'cb' -> IndexError: body");
    yc_exc_unref(e);
}

/* An earlier-registered (later-run) exit suppresses what is pending then. */
TEST(sec9_11_earlier_exit_suppresses) /* [9.11] */
{
    trace[0] = '\0';
    volatile bool after = false;
    YC_WITH(yc_exitstack_cm(yc_exitstack_new()), sv) {
        CHECK_ST(yc_exitstack_push(sv.p, exit_fn_suppress, "1"), YC_OK);
        CHECK_ST(yc_exitstack_callback(sv.p, cb_raise, (void *)&yc_KeyError), YC_OK);
        yc_raisef(&yc_IndexError, "body");
    } YC_END_WITH;
    after = true;
    CHECK(after);
    CHECK_STR(trace, "suppress 1 KeyError: 'cb'");
}

TEST(sec9_11_pop_all_and_close) /* [9.11] */
{
    trace[0] = '\0';
    yc_exitstack *volatile kept = NULL;
    YC_WITH(yc_exitstack_cm(yc_exitstack_new()), sv) {
        CHECK_ST(yc_exitstack_callback(sv.p, cb_trace, "1"), YC_OK);
        CHECK_ST(yc_exitstack_callback(sv.p, cb_trace, "2"), YC_OK);
        kept = yc_exitstack_pop_all(sv.p);
        CHECK_EQ_INT(yc_exitstack_size(sv.p), 0);
    } YC_END_WITH;
    CHECK_STR(trace, ""); /* the with exits without running them */
    CHECK_EQ_INT(yc_exitstack_size(kept), 2);
    CHECK_ST(yc_exitstack_close(kept), YC_OK); /* close(): no exception */
    CHECK_STR(trace, "cb 2,cb 1");
    CHECK_EQ_INT(yc_exitstack_size(kept), 0);
    yc_exitstack_free(kept);
}

TEST(sec9_11_enter_context_of_a_non_manager) /* [9.11] */
{
    yc_exitstack *s = yc_exitstack_new();
    static const yc_cm_type int_type = {.name = "int"};
    yc_cm five = {&int_type};
    CHECK_ST(yc_exitstack_enter(s, &five, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'int' object does not support the context manager protocol");
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    yc_exitstack_free(s);
}

TEST_MAIN()
