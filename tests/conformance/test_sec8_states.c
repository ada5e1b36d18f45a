/*
 * Conformance: python-semantics.md section 8, generator states and their
 * attributes (yc_gen_state_of for gi_running/gi_suspended and
 * inspect.getgeneratorstate, yc_gen_yieldfrom for gi_yieldfrom). Each test
 * names the item it covers in brackets.
 */
#include "test.h"

/* ---- helpers ----------------------------------------------------------- */

#define LOG_MAX 32
static const char *log_v[LOG_MAX];
static yc_gen_state log_st[LOG_MAX]; /* state of `self` when the entry was made */
static const void *log_yf[LOG_MAX];  /* yc_gen_yieldfrom(self) then */
static int log_n;
static yc_gen *self;

static void log_reset(void)
{
    log_n = 0;
    self = NULL;
}

static void rec(const char *s)
{
    if (log_n < LOG_MAX) {
        log_st[log_n] = self ? yc_gen_state_of(self) : (yc_gen_state)-1;
        log_yf[log_n] = self ? (const void *)yc_gen_yieldfrom(self) : NULL;
        log_v[log_n++] = s;
    }
}

static void check_log_(const char *file, int line, const char *const *want)
{
    int n = 0;
    while (want[n]) n++;
    if (n != log_n) {
        test_fail(file, line, "log has %d entries, want %d", log_n, n);
        return;
    }
    for (int i = 0; i < n; i++)
        if (strcmp(log_v[i], want[i]) != 0)
            test_fail(file, line, "log[%d] = \"%s\", want \"%s\"", i, log_v[i], want[i]);
}
#define CHECK_LOG(...) check_log_(__FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

/* Every log entry was made in state R with no yieldfrom. */
static void check_all_running_(const char *file, int line)
{
    for (int i = 0; i < log_n; i++) {
        if (log_st[i] != YC_GEN_RUNNING)
            test_fail(file, line, "at \"%s\" the state was %s, want GEN_RUNNING", log_v[i],
                      yc_gen_state_name(log_st[i]));
        if (log_yf[i] != NULL)
            test_fail(file, line, "at \"%s\" yieldfrom was not NULL while running", log_v[i]);
    }
}
#define CHECK_ALL_RUNNING() check_all_running_(__FILE__, __LINE__)

#define CHECK_STATE(g, s)                                                     \
    do {                                                                      \
        yc_gen_state cs_got_ = yc_gen_state_of(g), cs_want_ = (s);             \
        if (cs_got_ != cs_want_)                                              \
            test_fail(__FILE__, __LINE__, "state of %s: %s, want %s", #g,     \
                      yc_gen_state_name(cs_got_), yc_gen_state_name(cs_want_)); \
    } while (0)

static yc_gen *mk(yc_gen_fn fn, void *arg, const char *name)
{
    yc_gen *g = yc_gen_new(fn, arg, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    return g;
}

/* A body that records its state at every resume, whatever resumed it. */
static yc_val recorder(void *arg)
{
    (void)arg;
    rec("start");
    YC_TRY {
        for (volatile int i = 1; i <= 3; i++) {
            YC_TRY {
                yc_val s = yc_yield(yc_int(i));
                rec(yc_is_none(s) ? "resumed by next" : "resumed by send");
            } YC_EXCEPT(&yc_ValueError) {
                rec("resumed by throw");
            } YC_END;
        }
    } YC_FINALLY {
        rec(yc_exc_is(yc_exc_current(), &yc_GeneratorExit) ? "finally (close)" : "finally");
    } YC_END;
    rec("return");
    return yc_int(10);
}

/* ---- 8.1 ---------------------------------------------------------------- */

TEST(state_created_running_suspended_closed) /* [8.1] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* C -> R -> S */
    CHECK_INTV(v, 1);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RETURN); /* R -> X on return */
    CHECK_INTV(v, 10);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("start", "resumed by next", "resumed by next", "resumed by next", "finally",
              "return");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_created_to_running_by_send_none) /* [8.1] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    yc_val v;
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_LOG("start");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raiser(void *arg)
{
    (void)arg;
    rec("start");
    yc_yield(yc_int(1));
    rec("raising");
    yc_raisef(&yc_KeyError, "gone");
    return YC_NONE;
}

TEST(state_running_to_closed_on_exception) /* [8.1] */
{
    log_reset();
    yc_gen *g = self = mk(raiser, NULL, "raiser");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'gone'");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("start", "raising");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val returns_at_once(void *arg)
{
    (void)arg;
    rec("start");
    return yc_int(5);
}

TEST(state_running_to_closed_without_yield) /* [8.1] */
{
    log_reset();
    yc_gen *g = self = mk(returns_at_once, NULL, "r");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("start");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 8.2 ---------------------------------------------------------------- */

TEST(state_created_to_closed_by_close) /* [8.2] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    yc_val v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(log_n, 0); /* nothing ran */
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(log_n, 0);
}

TEST(state_created_to_closed_by_throw) /* [8.2] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    yc_exc *e = yc_exc_new(&yc_ValueError, "early");
    yc_exc_ref(e);
    yc_val v = yc_int(77);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == e); /* unchanged: the same object escapes */
    CHECK_EXC(&yc_ValueError, "ValueError: early");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(log_n, 0); /* the body never ran, not even its except */
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_created_stays_created_on_send_value) /* [8.2] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    yc_val v = yc_int(77);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_send(g, yc_str("x"), &v), YC_EINVAL); /* again: still C */
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD); /* then it starts normally */
    CHECK_INTV(v, 1);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_LOG("start");
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 8.3 ---------------------------------------------------------------- */

TEST(state_suspended_to_running_on_every_resume) /* [8.3] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_send(g, yc_int(4), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "t"), &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("start", "resumed by send", "resumed by throw", "finally (close)");
    CHECK_ALL_RUNNING(); /* including inside the finally run by close */
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_suspended_to_running_on_next) /* [8.3] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_LOG("start", "resumed by next");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 8.4 ---------------------------------------------------------------- */

static yc_val ignores_once(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("ignoring");
    } YC_END;
    YC_TRY {
        yc_yield(yc_int(2));
    } YC_FINALLY {
        rec("finally");
    } YC_END;
    return YC_NONE;
}

TEST(state_close_suspended_to_closed_or_suspended) /* [8.4] */
{
    log_reset();
    yc_gen *g = self = mk(ignores_once, NULL, "io");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_RAISE); /* S -> S */
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(g, NULL), YC_OK); /* S -> X */
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("ignoring", "finally");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 8.5 ---------------------------------------------------------------- */

/* Everything on X leaves it X and runs nothing. */
static void check_closed_stays_closed(yc_gen *g)
{
    int n = log_n;
    yc_val v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_STATE(g, YC_GEN_CLOSED);
    v = yc_int(77);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    v = yc_int(77);
    CHECK_ST(yc_send(g, yc_int(3), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_STATE(g, YC_GEN_CLOSED);
    yc_exc *e = yc_exc_new(&yc_IndexError, "late");
    yc_exc_ref(e);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e); /* raised as is */
    CHECK_EXC(&yc_IndexError, "IndexError: late");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(log_n, n);
}

TEST(state_closed_stays_closed_after_return) /* [8.5] */
{
    log_reset();
    yc_gen *g = self = mk(returns_at_once, NULL, "r");
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    check_closed_stays_closed(g);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_closed_stays_closed_after_raise) /* [8.5] */
{
    log_reset();
    yc_gen *g = self = mk(raiser, NULL, "raiser");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'gone'");
    check_closed_stays_closed(g);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_closed_stays_closed_after_close) /* [8.5] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    check_closed_stays_closed(g);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_closed_stays_closed_after_close_of_created) /* [8.5] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    CHECK_ST(yc_close(g, NULL), YC_OK);
    check_closed_stays_closed(g);
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(state_closed_stays_closed_after_throw_into_created) /* [8.5] */
{
    log_reset();
    yc_gen *g = self = mk(recorder, NULL, "rec");
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "k"), NULL), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    check_closed_stays_closed(g);
    CHECK_EQ_INT(log_n, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- 8.6 ---------------------------------------------------------------- */

static yc_gen *outer86, *sub86;
static yc_gen_state sub_saw_outer[4];
static const void *sub_saw_outer_yf[4];

static yc_val sub_86(void *arg)
{
    (void)arg;
    /* outer is R while it delegates to us; in 3.13 gi_yieldfrom is then None */
    sub_saw_outer[0] = yc_gen_state_of(outer86);
    sub_saw_outer_yf[0] = yc_gen_yieldfrom(outer86);
    YC_TRY {
        yc_yield(yc_int(1));
        sub_saw_outer[1] = yc_gen_state_of(outer86);
        sub_saw_outer_yf[1] = yc_gen_yieldfrom(outer86);
        yc_yield(yc_int(2));
    } YC_FINALLY {
        sub_saw_outer[2] = yc_gen_state_of(outer86);
        sub_saw_outer_yf[2] = yc_gen_yieldfrom(outer86);
        sub_saw_outer[3] = yc_gen_state_of(sub86);
    } YC_END;
    return yc_int(3);
}

static yc_val outer_86(void *arg)
{
    (void)arg;
    rec("start");
    yc_yield(yc_int(0)); /* S, not delegating */
    rec("before yield from");
    YC_TRY {
        yc_val r = yc_yield_from(yc_gen_iter(sub86));
        rec("after yield from");
        yc_yield(r); /* S, delegation over */
    } YC_FINALLY {
        rec("finally");
    } YC_END;
    return YC_NONE;
}

static void setup_86(void)
{
    log_reset();
    memset(sub_saw_outer, 0xff, sizeof sub_saw_outer);
    for (int i = 0; i < 4; i++) sub_saw_outer_yf[i] = (const void *)1;
    sub86 = mk(sub_86, NULL, "sub");
    outer86 = self = mk(outer_86, NULL, "outer");
}

TEST(state_running_only_in_body_yieldfrom_only_suspended_delegating) /* [8.6] */
{
    setup_86();
    yc_gen *g = outer86;
    yc_val v;
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK(yc_gen_yieldfrom(g) == NULL); /* C */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL); /* S, not delegating */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(sub86)); /* S, delegating */
    CHECK_STATE(sub86, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(sub86) == NULL);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(sub86));
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL); /* delegation over */
    CHECK_STATE(sub86, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(sub86) == NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL); /* X */
    CHECK_LOG("start", "before yield from", "after yield from", "finally");
    CHECK_ALL_RUNNING(); /* R inside its own body, never a yieldfrom there */
    CHECK_EQ_INT(sub_saw_outer[0], YC_GEN_RUNNING);
    CHECK_EQ_INT(sub_saw_outer[1], YC_GEN_RUNNING);
    CHECK_EQ_INT(sub_saw_outer[2], YC_GEN_RUNNING);
    CHECK(sub_saw_outer_yf[0] == NULL);
    CHECK(sub_saw_outer_yf[1] == NULL);
    CHECK(sub_saw_outer_yf[2] == NULL);
    CHECK_EQ_INT(sub_saw_outer[3], YC_GEN_RUNNING);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(sub86), YC_OK);
}

TEST(state_running_inside_finally_run_by_close) /* [8.6] */
{
    setup_86();
    yc_gen *g = outer86;
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(sub86));
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(sub86, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("start", "before yield from", "finally");
    CHECK_ALL_RUNNING(); /* outer's finally: R */
    /* sub's finally, run by outer's close: both R, no yieldfrom (3.13) */
    CHECK_EQ_INT(sub_saw_outer[2], YC_GEN_RUNNING);
    CHECK(sub_saw_outer_yf[2] == NULL);
    CHECK_EQ_INT(sub_saw_outer[3], YC_GEN_RUNNING);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(sub86), YC_OK);
}

TEST(state_yieldfrom_null_after_delegation_raised) /* [8.6] */
{
    setup_86();
    yc_gen *g = outer86;
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_OSError, "io"), NULL), YC_RAISE);
    CHECK_EXC(&yc_OSError, "OSError: io");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(sub86, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(sub_saw_outer[2], YC_GEN_RUNNING); /* sub's finally, run by the throw */
    CHECK_EQ_INT(sub_saw_outer[3], YC_GEN_RUNNING);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(sub86), YC_OK);
}

TEST(state_names) /* [8.6] inspect.getgeneratorstate's names */
{
    CHECK_STR(yc_gen_state_name(YC_GEN_CREATED), "GEN_CREATED");
    CHECK_STR(yc_gen_state_name(YC_GEN_RUNNING), "GEN_RUNNING");
    CHECK_STR(yc_gen_state_name(YC_GEN_SUSPENDED), "GEN_SUSPENDED");
    CHECK_STR(yc_gen_state_name(YC_GEN_CLOSED), "GEN_CLOSED");
}

/* ---- 8.7 ---------------------------------------------------------------- */

/* The public API has no coroutine objects yet (no CORO_* states, cr_await):
 * a generator used as a coroutine (driven with send/throw) goes through the
 * same states, which is all 8.7 can be checked against for now. */
static yc_val coro_like(void *arg)
{
    (void)arg;
    int64_t total = 0;
    for (;;) {
        rec("awaiting");
        yc_val s = yc_yield(yc_int(total));
        if (yc_is_none(s)) break;
        total += s.i;
    }
    return yc_int(total);
}

TEST(state_coroutine_style_use_mirrors_generator_states) /* [8.7] */
{
    log_reset();
    yc_gen *g = self = mk(coro_like, NULL, "coro");
    yc_val v;
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_send(g, yc_int(2), &v), YC_YIELD);
    CHECK_ST(yc_send(g, yc_int(3), &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("awaiting", "awaiting", "awaiting");
    CHECK_ALL_RUNNING();
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST_MAIN()
