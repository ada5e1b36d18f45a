/*
 * Conformance of stackless generators (include/yieldc/dense.h):
 * python-semantics.md sections 1-8, each test named after the item it
 * covers (d<section>_<item>_...), the scenarios of the stackful kind's
 * tests in this directory written as stackless bodies. Mixed yield-from
 * chains (stackless in stackful and back) are in section 7's tests.
 */
#include "test.h"

/* ---- helpers ------------------------------------------------------------ */

static char logbuf[1024];
static void logf_(const char *s)
{
    size_t n = strlen(logbuf);
    snprintf(logbuf + n, sizeof logbuf - n, "%s%s", n ? " " : "", s);
}
#define LOG(s) logf_(s)
static yc_sgen *under_test; /* the generator a body looks at (2.5, 2.6, 5.9) */

static void log_reset(void)
{
    logbuf[0] = '\0';
    under_test = NULL;
}

static void log_state(void)
{
    LOG(yc_gen_state_name(yc_sgen_state_of(under_test)));
}

/* "Type: message" of a borrowed exception (or "-"). */
static const char *fmt_exc(const yc_exc *e)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ & 3];
    if (!e) return "-";
    yc_exc_format(e, b, 256);
    return b;
}

static void check_live(void) { CHECK_EQ_INT(yc_sgen_live(), 0); }

/* ---- bodies -------------------------------------------------------------- */

typedef struct {
    yc_sgen sgen;
    int64_t i, n;
    yc_val ret;
} count_t;

/* yields 1..n, logging each sent value; returns ret */
YC_SGEN_FN(counter, count_t, s)
{
    YC_SGEN_BEGIN();
    LOG("start");
    for (s->i = 1; s->i <= s->n; s->i++) {
        YC_SYIELD(yc_int(s->i));
        if (!yc_is_none(YC_SSENT())) {
            char b[64];
            snprintf(b, sizeof b, "sent=%lld", (long long)YC_SSENT().i);
            LOG(b);
        } else {
            LOG("none");
        }
    }
    YC_SRETURN(s->ret);
    YC_SGEN_END();
}

static count_t mk_counter(int64_t n, yc_val ret)
{
    count_t c = {.n = n, .ret = ret};
    yc_sgen_init(&c.sgen, &counter);
    return c;
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(2);
    int mode;
    int64_t k;
} tf_t;

/* try { yield 1; yield 2 } except KeyError { yield 99 (mode 1) / return 5
 * (mode 2) / raise ValueError (mode 3) } finally { log } ; return 7 */
YC_SGEN_FN(tryfin, tf_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_SYIELD(yc_int(1));
        YC_SYIELD(yc_int(2));
    } YC_SEXCEPT(&yc_KeyError) {
        LOG("caught");
        LOG(fmt_exc(yc_exc_current()));
        if (s->mode == 1) YC_SYIELD(yc_int(99));
        if (s->mode == 2) YC_SRETURN(yc_int(5));
        if (s->mode == 3) YC_SRAISEF(&yc_ValueError, "from handler");
    } YC_SFINALLY {
        LOG("finally");
        log_state();
    } YC_STRY_END;
    LOG("after");
    YC_SRETURN(yc_int(7));
    YC_SGEN_END();
}

/* ===================================================================== 1 */

TEST(d1_1_init_runs_no_body_code)
{
    log_reset();
    count_t c = mk_counter(2, YC_NONE);
    CHECK_STR(logbuf, "");
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CREATED);
    CHECK(yc_sgen_yieldfrom(&c.sgen) == NULL);
    CHECK_STR(yc_sgen_name(&c.sgen), "counter");
    yc_sgen *g = yc_sgen_new(&counter);
    CHECK(g != NULL);
    CHECK_EQ_INT(yc_sgen_state_of(g), YC_GEN_CREATED);
    CHECK_STR(logbuf, "");
    CHECK_ST(yc_sgen_free(g), YC_OK);
    CHECK_ST(yc_sgen_fini(&c.sgen), YC_OK);
    check_live();
}

TEST(d1_1_bad_creation_raised_by_the_call)
{
    count_t c;
    CHECK_ST(yc_sgen_init(&c.sgen, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_init: type is NULL");
    CHECK(yc_sgen_new(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_sgen_new: type is NULL");
}

typedef struct {
    yc_sgen sgen;
    int flag;
} one_t;

YC_SGEN_FN(never_yields, one_t, s)
{
    YC_SGEN_BEGIN();
    LOG("ran");
    if (s->flag) YC_SYIELD(YC_NONE); /* [1.2] unreachable yield */
    YC_SGEN_END();
}

TEST(d1_2_generator_that_never_yields)
{
    log_reset();
    one_t o = {.flag = 0};
    yc_sgen_init(&o.sgen, &never_yields);
    yc_val v = yc_int(9);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_STR(logbuf, "ran");
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&o.sgen);
}

YC_SGEN_FN(bare_yield, one_t, s)
{
    YC_SGEN_BEGIN();
    (void)s;
    YC_SYIELD(YC_NONE);
    YC_SYIELD(yc_str("x"));
    YC_SGEN_END();
}

TEST(d1_3_first_next_runs_to_first_yield_bare_yield_none)
{
    log_reset();
    count_t c = mk_counter(3, YC_NONE);
    yc_val v;
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_STR(logbuf, "start");
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_SUSPENDED);
    one_t o;
    yc_sgen_init(&o.sgen, &bare_yield);
    v = yc_int(1);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD); /* out may be NULL */
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&c.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int use_try;
} early_t;

YC_SGEN_FN(raise_early, early_t, s)
{
    YC_SGEN_BEGIN();
    if (s->use_try) {
        YC_STRY(s) {
            YC_SRAISEF(&yc_KeyError, "early");
        } YC_SFINALLY {
            LOG("finally");
        } YC_STRY_END;
    }
    YC_SRAISEF(&yc_KeyError, "early");
    YC_SGEN_END();
}

TEST(d1_4_raise_before_first_yield)
{
    for (int t = 0; t < 2; t++) {
        log_reset();
        early_t e = {.use_try = t};
        yc_sgen_init(&e.sgen, &raise_early);
        CHECK_ST(yc_sgen_next(&e.sgen, NULL), YC_RAISE);
        CHECK_EXC(&yc_KeyError, "KeyError: 'early'");
        CHECK_STR(logbuf, t ? "finally" : "");
        CHECK_EQ_INT(yc_sgen_state_of(&e.sgen), YC_GEN_CLOSED);
        CHECK_ST(yc_sgen_next(&e.sgen, NULL), YC_RETURN);
        yc_sgen_fini(&e.sgen);
    }
}

YC_SGEN_FN(return_early, one_t, s)
{
    YC_SGEN_BEGIN();
    YC_SRETURN(yc_int(s->flag));
    YC_SYIELD(yc_int(1));
    YC_SGEN_END();
}

TEST(d1_5_return_before_first_yield)
{
    one_t o = {.flag = 42};
    yc_sgen_init(&o.sgen, &return_early);
    yc_val v;
    CHECK_ST(yc_sgen_send(&o.sgen, YC_NONE, &v), YC_RETURN);
    CHECK_INTV(v, 42);
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&o.sgen);
}

/* ===================================================================== 2 */

TEST(d2_1_next_resumes_yield_evaluates_to_none)
{
    log_reset();
    count_t c = mk_counter(2, YC_NONE);
    yc_val v;
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STR(logbuf, "start none");
    yc_sgen_fini(&c.sgen);
}

TEST(d2_2_return_value_exact_and_fall_off)
{
    count_t c = mk_counter(1, yc_str("done"));
    yc_val v;
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_RETURN);
    CHECK_VAL(v, yc_str("done"));
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED);
    one_t o;
    yc_sgen_init(&o.sgen, &bare_yield);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    v = yc_int(3);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_RETURN); /* fell off: None */
    CHECK(yc_is_none(v));
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d2_3_after_exhaustion)
{
    count_t c = mk_counter(0, yc_int(5));
    yc_val v;
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_RETURN); /* fresh StopIteration() */
    CHECK(yc_is_none(v));
    CHECK_ST(yc_sgen_send(&c.sgen, yc_int(1), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_ST(yc_sgen_throw(&c.sgen, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e); /* as is */
    yc_err_clear();
    CHECK_ST(yc_sgen_close(&c.sgen, &v), YC_OK);
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&c.sgen);
}

TEST(d2_4_single_use)
{
    count_t c = mk_counter(3, YC_NONE);
    int st, n = 0;
    YC_FOREACH(v, &c.sgen.it, st) n += (int)v.i;
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(n, 6);
    n = 0;
    YC_FOREACH(v, &c.sgen.it, st) n++;
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(n, 0);
    yc_sgen_fini(&c.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int catch_it;
    int op;
} self_t;

/* calls next/send/throw/close on itself (op 0..3) */
YC_SGEN_FN(reenter, self_t, s)
{
    YC_SGEN_BEGIN();
    log_state(); /* [2.6] */
    if (s->catch_it) {
        YC_STRY(s) {
            YC_SCHECK(s->op == 0   ? yc_sgen_next(&s->sgen, NULL)
                      : s->op == 1 ? yc_sgen_send(&s->sgen, yc_int(1), NULL)
                      : s->op == 2 ? yc_sgen_throw(&s->sgen, yc_exc_new(&yc_KeyError, NULL), NULL)
                                   : yc_sgen_close(&s->sgen, NULL));
        } YC_SEXCEPT(&yc_ValueError) {
            LOG(fmt_exc(yc_exc_current()));
        } YC_STRY_END;
        YC_SYIELD(yc_int(1));
        YC_SRETURN(yc_int(2));
    }
    YC_SCHECK(yc_iter_next(&s->sgen.it, NULL));
    YC_SYIELD(yc_int(1));
    YC_SGEN_END();
}

TEST(d2_5_reentrant_uncaught_kills_generator)
{
    log_reset();
    self_t r = {.catch_it = 0};
    yc_sgen_init(&r.sgen, &reenter);
    under_test = &r.sgen;
    CHECK_ST(yc_sgen_next(&r.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_sgen_state_of(&r.sgen), YC_GEN_CLOSED);
    CHECK_STR(logbuf, "GEN_RUNNING");
    yc_sgen_fini(&r.sgen);
}

TEST(d2_5_reentrant_caught_carries_on_every_operation)
{
    for (int op = 0; op < 4; op++) {
        log_reset();
        self_t r = {.catch_it = 1, .op = op};
        yc_sgen_init(&r.sgen, &reenter);
        under_test = &r.sgen;
        yc_val v;
        CHECK_ST(yc_sgen_next(&r.sgen, &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_STR(logbuf, "GEN_RUNNING ValueError: generator already executing");
        CHECK_ST(yc_sgen_next(&r.sgen, &v), YC_RETURN);
        CHECK_INTV(v, 2);
        yc_sgen_fini(&r.sgen);
    }
}

TEST(d2_6_running_inside_body)
{
    log_reset();
    tf_t t = {.mode = 0};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    while (yc_sgen_next(&t.sgen, NULL) == YC_YIELD) {}
    CHECK_STR(logbuf, "finally GEN_RUNNING after");
    yc_sgen_fini(&t.sgen);
}

TEST(d2_7_exception_escapes_next)
{
    log_reset();
    tf_t t = {.mode = 3};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&t.sgen, yc_exc_new(&yc_KeyError, "k"), NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_STR(fmt_exc(e), "ValueError: from handler");
    CHECK_STR(fmt_exc(yc_exc_context(e)), "KeyError: 'k'"); /* [4.5] */
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_RETURN);
    yc_sgen_fini(&t.sgen);
}

YC_SGEN_FN(raise_value_error, one_t, s)
{
    YC_SGEN_BEGIN();
    if (s->flag) YC_SYIELD(yc_int(1));
    YC_SRAISEF(&yc_ValueError, "v");
    YC_SGEN_END();
}

TEST(d2_8_context_from_caller)
{
    for (int flag = 0; flag < 2; flag++) {
        one_t o = {.flag = flag};
        yc_sgen_init(&o.sgen, &raise_value_error);
        if (flag) CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
        yc_exc *got = NULL;
        YC_TRY {
            yc_raisef(&yc_IndexError, "caller");
        } YC_EXCEPT(&yc_IndexError) {
            CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_RAISE);
            got = yc_err_take();
        } YC_END;
        CHECK_STR(fmt_exc(got), "ValueError: v");
        CHECK_STR(fmt_exc(yc_exc_context(got)), "IndexError: caller");
        yc_exc_unref(got);
        yc_sgen_fini(&o.sgen);
    }
    /* and no context when the caller handles nothing */
    one_t o = {.flag = 0};
    yc_sgen_init(&o.sgen, &raise_value_error);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    yc_sgen_fini(&o.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
} exi_t;

/* suspended inside except KeyError: 'sees' it when resumed */
YC_SGEN_FN(excinfo, exi_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_SRAISEF(&yc_KeyError, "mine");
    } YC_SEXCEPT(&yc_KeyError) {
        LOG(fmt_exc(yc_exc_current()));
        YC_SYIELD(yc_int(1));
        LOG(fmt_exc(yc_exc_current()));
        YC_SRAISEF(&yc_ValueError, "in handler");
    } YC_STRY_END;
    YC_SGEN_END();
}

TEST(d2_9_exc_info_saved_per_generator)
{
    log_reset();
    exi_t x;
    yc_sgen_init(&x.sgen, &excinfo);
    CHECK_ST(yc_sgen_next(&x.sgen, NULL), YC_YIELD);
    CHECK(yc_exc_current() == NULL); /* the caller does not see it */
    yc_exc *got = NULL;
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_sgen_next(&x.sgen, NULL), YC_RAISE);
        got = yc_err_take();
        CHECK_STR(fmt_exc(yc_exc_current()), "IndexError: caller"); /* restored */
    } YC_END;
    CHECK_STR(logbuf, "KeyError: 'mine' KeyError: 'mine'");
    CHECK_STR(fmt_exc(got), "ValueError: in handler");
    CHECK_STR(fmt_exc(yc_exc_context(got)), "KeyError: 'mine'"); /* its own, not the caller's */
    yc_exc_unref(got);
    yc_sgen_fini(&x.sgen);
}

/* ===================================================================== 3 */

TEST(d3_1_send_value_becomes_yield_result)
{
    log_reset();
    count_t c = mk_counter(3, YC_NONE);
    yc_val v;
    CHECK_ST(yc_sgen_send(&c.sgen, YC_NONE, &v), YC_YIELD); /* [3.2] [3.6] priming */
    CHECK_ST(yc_sgen_send(&c.sgen, yc_int(10), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_send(&c.sgen.it, yc_int(11), &v), YC_YIELD);
    CHECK_ST(yc_sgen_send(&c.sgen, YC_NONE, &v), YC_RETURN);
    CHECK_STR(logbuf, "start sent=10 sent=11 none");
    yc_sgen_fini(&c.sgen);
}

TEST(d3_3_send_non_none_to_created)
{
    log_reset();
    count_t c = mk_counter(3, YC_NONE);
    CHECK_ST(yc_sgen_send(&c.sgen, yc_int(1), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CREATED);
    CHECK_STR(logbuf, "");
    yc_val v;
    CHECK_ST(yc_sgen_send(&c.sgen, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    yc_sgen_fini(&c.sgen);
}

TEST(d3_4_send_on_closed)
{
    count_t c = mk_counter(3, YC_NONE);
    CHECK_ST(yc_sgen_close(&c.sgen, NULL), YC_OK);
    yc_val v = yc_int(1);
    CHECK_ST(yc_sgen_send(&c.sgen, yc_int(4), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_sgen_fini(&c.sgen);
}

TEST(d3_5_stage_over_a_stackless_generator_has_send_semantics_of_its_own)
{
    /* [3.5] is about generator expressions; a pipeline stage over a stackless
     * generator pulls it with next only: the sent value never reaches it */
    count_t c = mk_counter(4, YC_NONE);
    yc_iter *p = yc_iter_take(&c.sgen.it, 3);
    CHECK(p != NULL);
    yc_val sum;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &sum), YC_OK);
    CHECK_INTV(sum, 6);
    yc_iter_free(p); /* frees upstream: yc_sgen_fini of the embedded one */
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED);
}

/* ===================================================================== 4 */

TEST(d4_1_throw_null_or_foreign_is_type_error_generator_unchanged)
{
    count_t c = mk_counter(3, YC_NONE);
    CHECK_ST(yc_sgen_next(&c.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&c.sgen, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exceptions must be classes or instances deriving from "
                             "BaseException, not NULL");
    int junk[16] = {0};
    CHECK_ST(yc_sgen_throw(&c.sgen, (yc_exc *)(void *)junk, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_SUSPENDED);
    yc_val v;
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    yc_sgen_fini(&c.sgen);
}

TEST(d4_2_uncaught_propagates_same_object_traceback_names_generator)
{
    log_reset();
    tf_t t = {.mode = 0};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_IndexError, "i");
    yc_exc_ref(e);
    CHECK_ST(yc_sgen_throw(&t.sgen, e, NULL), YC_RAISE);
    CHECK(yc_err_get() == e);
    size_t n;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    CHECK(n >= 1);
    if (n >= 1) {
        CHECK_STR(tb[0].where, "tryfin");
        CHECK(strstr(tb[0].file, "test_dense_sec1_8.c") != NULL);
        CHECK(tb[0].line > 0);
    }
    yc_err_clear();
    yc_exc_unref(e);
    CHECK_STR(logbuf, "finally GEN_RUNNING");
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&t.sgen);
}

TEST(d4_2_thrown_exception_chains_only_to_generators_own)
{
    /* the thrower's handled exception is not the context (CPython's throw) */
    count_t c = mk_counter(3, YC_NONE);
    CHECK_ST(yc_sgen_next(&c.sgen, NULL), YC_YIELD);
    yc_exc *got = NULL;
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_sgen_throw(&c.sgen, yc_exc_new(&yc_KeyError, "t"), NULL), YC_RAISE);
        got = yc_err_take();
    } YC_END;
    CHECK(yc_exc_context(got) == NULL);
    yc_exc_unref(got);
    /* a generator suspended in its own except block: chained to that */
    exi_t x;
    yc_sgen_init(&x.sgen, &excinfo);
    CHECK_ST(yc_sgen_next(&x.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&x.sgen, yc_exc_new(&yc_OSError, "o"), NULL), YC_RAISE);
    got = yc_err_take();
    CHECK_STR(fmt_exc(yc_exc_context(got)), "KeyError: 'mine'");
    yc_exc_unref(got);
    yc_sgen_fini(&x.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d4_3_caught_and_yields_then_continues)
{
    log_reset();
    tf_t t = {.mode = 1};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    yc_val v;
    CHECK_ST(yc_sgen_next(&t.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&t.sgen, yc_exc_new(&yc_KeyError, "k"), &v), YC_YIELD);
    CHECK_INTV(v, 99);
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_SUSPENDED);
    CHECK_ST(yc_sgen_next(&t.sgen, &v), YC_RETURN);
    CHECK_INTV(v, 7);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING after");
    yc_sgen_fini(&t.sgen);
}

TEST(d4_4_caught_and_returns_through_finally)
{
    log_reset();
    tf_t t = {.mode = 2};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    yc_val v;
    CHECK_ST(yc_sgen_next(&t.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&t.sgen, yc_exc_new(&yc_KeyError, "k"), &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING"); /* finally ran on return */
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&t.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int from;
} rf_t;

YC_SGEN_FN(raise_from_handler, rf_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_SYIELD(yc_int(1));
    } YC_SEXCEPT(&yc_Exception) {
        yc_exc *f = yc_exc_new(&yc_OSError, "f");
        if (s->from) yc_exc_set_cause(f, yc_exc_ref(yc_exc_current()));
        YC_SRAISE(f);
    } YC_STRY_END;
    YC_SGEN_END();
}

TEST(d4_5_caught_and_raises_another_and_from)
{
    for (int from = 0; from < 2; from++) {
        rf_t r = {.from = from};
        yc_sgen_init(&r.sgen, &raise_from_handler);
        CHECK_ST(yc_sgen_next(&r.sgen, NULL), YC_YIELD);
        yc_exc *k = yc_exc_new(&yc_KeyError, "k");
        CHECK_ST(yc_sgen_throw(&r.sgen, k, NULL), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK_STR(fmt_exc(e), "OSError: f");
        CHECK(yc_exc_context(e) == k);
        CHECK(from ? yc_exc_cause(e) == k : yc_exc_cause(e) == NULL);
        yc_exc_unref(e);
        yc_sgen_fini(&r.sgen);
    }
}

TEST(d4_6_throw_into_created_runs_nothing)
{
    log_reset();
    tf_t t = {.mode = 1};
    yc_sgen_init(&t.sgen, &tryfin);
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_ST(yc_sgen_throw(&t.sgen, e, NULL), YC_RAISE);
    CHECK(yc_err_get() == e);
    yc_err_clear();
    CHECK_STR(logbuf, "");
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_RETURN);
    yc_sgen_fini(&t.sgen);
}

TEST(d4_7_throw_into_closed)
{
    count_t c = mk_counter(0, YC_NONE);
    CHECK_ST(yc_sgen_next(&c.sgen, NULL), YC_RETURN);
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_ST(yc_sgen_throw(&c.sgen, e, NULL), YC_RAISE);
    CHECK(yc_err_get() == e);
    yc_err_clear();
    yc_sgen_fini(&c.sgen);
}

TEST(d4_8_stop_iteration_into_suspended_becomes_runtime_error)
{
    count_t c = mk_counter(3, YC_NONE);
    CHECK_ST(yc_sgen_next(&c.sgen, NULL), YC_YIELD);
    yc_exc *si = yc_exc_new_value(&yc_StopIteration, yc_int(7));
    CHECK_ST(yc_sgen_throw(&c.sgen, si, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_STR(fmt_exc(e), "RuntimeError: generator raised StopIteration");
    CHECK(yc_exc_cause(e) == si);
    CHECK(yc_exc_context(e) == si);
    CHECK(yc_exc_suppress_context(e));
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED);
    /* into created: escapes as is (3.12+, as the stackful kind) */
    count_t d = mk_counter(3, YC_NONE);
    si = yc_exc_new_value(&yc_StopIteration, yc_int(7));
    CHECK_ST(yc_sgen_throw(&d.sgen, si, NULL), YC_RAISE);
    CHECK(yc_err_get() == si);
    yc_err_clear();
    yc_sgen_fini(&d.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d4_9_generator_exit_propagates_from_throw)
{
    log_reset();
    tf_t t = {.mode = 0};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&t.sgen, yc_exc_new(&yc_GeneratorExit, NULL), NULL), YC_RAISE);
    CHECK_EXC(&yc_GeneratorExit, "GeneratorExit");
    CHECK_STR(logbuf, "finally GEN_RUNNING");
    yc_sgen_fini(&t.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(2);
} base_t;

YC_SGEN_FN(except_exception, base_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_STRY(s) {
            YC_SYIELD(yc_int(1));
        } YC_SEXCEPT(&yc_Exception) {
            LOG("exception");
        } YC_STRY_END;
    } YC_SEXCEPT(&yc_BaseException) {
        LOG("base");
        LOG(fmt_exc(yc_exc_current()));
    } YC_STRY_END;
    YC_SRETURN(yc_int(3));
    YC_SGEN_END();
}

TEST(d4_10_base_exceptions_not_caught_by_except_exception)
{
    log_reset();
    base_t b;
    yc_sgen_init(&b.sgen, &except_exception);
    CHECK_ST(yc_sgen_next(&b.sgen, NULL), YC_YIELD);
    yc_val v;
    CHECK_ST(yc_sgen_throw(&b.sgen, yc_exc_new(&yc_KeyboardInterrupt, NULL), &v), YC_RETURN);
    CHECK_INTV(v, 3);
    CHECK_STR(logbuf, "base KeyboardInterrupt");
    yc_sgen_fini(&b.sgen);
}

TEST(d4_11_throw_on_running)
{
    log_reset();
    self_t r = {.catch_it = 1, .op = 2};
    yc_sgen_init(&r.sgen, &reenter);
    under_test = &r.sgen;
    CHECK_ST(yc_sgen_next(&r.sgen, NULL), YC_YIELD);
    CHECK_STR(logbuf, "GEN_RUNNING ValueError: generator already executing");
    yc_sgen_fini(&r.sgen);
}

static int unraisables;
static char unraisable_obj[256], unraisable_exc[256];
static void count_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    unraisables++;
    snprintf(unraisable_obj, sizeof unraisable_obj, "%s", obj);
    snprintf(unraisable_exc, sizeof unraisable_exc, "%s", fmt_exc(e));
}

/* ===================================================================== 5 */

TEST(d5_1_close_suspended_runs_finally_state_running)
{
    log_reset();
    tf_t t = {.mode = 0};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    yc_val v = yc_int(1);
    CHECK_ST(yc_sgen_close(&t.sgen, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STR(logbuf, "finally GEN_RUNNING");
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_ST(yc_sgen_close(&t.sgen, NULL), YC_OK); /* [5.8] */
    yc_sgen_fini(&t.sgen);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int mode;
} ge_t;

/* catches GeneratorExit: 0 returns 8, 1 yields (ignored), 2 raises KeyError,
 * 3 raises StopIteration, 4 loops yielding; 5: yield inside finally;
 * 6: return inside finally; 7: except Exception only */
YC_SGEN_FN(ge_body, ge_t, s)
{
    YC_SGEN_BEGIN();
    if (s->mode == 5 || s->mode == 6) {
        YC_STRY(s) {
            YC_SYIELD(yc_int(1));
        } YC_SFINALLY {
            LOG("finally");
            if (s->mode == 5) YC_SYIELD(yc_int(2));
            if (s->mode == 6) YC_SRETURN(yc_int(6));
            LOG("finally-end");
        } YC_STRY_END;
        YC_SRETURN(YC_NONE);
    }
    if (s->mode == 7) {
        YC_STRY(s) {
            YC_SYIELD(yc_int(1));
        } YC_SEXCEPT(&yc_Exception) {
            LOG("wrong");
        } YC_STRY_END;
        YC_SRETURN(YC_NONE);
    }
    for (;;) {
        YC_STRY(s) {
            YC_SYIELD(yc_int(1));
        } YC_SEXCEPT(&yc_GeneratorExit) {
            LOG("ge");
            if (s->mode == 0) YC_SRETURN(yc_int(8));
            if (s->mode == 1) YC_SYIELD(yc_int(9));
            if (s->mode == 2) YC_SRAISEF(&yc_KeyError, "other");
            if (s->mode == 3) YC_SRAISE(yc_exc_new_value(&yc_StopIteration, yc_int(1)));
        } YC_STRY_END;
        if (s->mode != 4) break;
    }
    YC_SGEN_END();
}

static int close_mode(int mode, yc_val *v)
{
    log_reset();
    ge_t g = {.mode = mode};
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_YIELD);
    int st = yc_sgen_close(&g.sgen, v);
    static int last_state;
    last_state = yc_sgen_state_of(&g.sgen);
    yc_sgen_fini(&g.sgen);
    return st * 16 + last_state;
}

TEST(d5_2_close_caught_and_returns_value_313)
{
    yc_val v;
    CHECK_EQ_INT(close_mode(0, &v), YC_OK * 16 + YC_GEN_CLOSED);
    CHECK_INTV(v, 8);
    CHECK_STR(logbuf, "ge");
}

TEST(d5_3_close_ignored_by_catch_and_yield)
{
    log_reset();
    ge_t g = {.mode = 1};
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_YIELD);
    yc_exc *got = NULL;
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_RAISE);
        got = yc_err_take();
    } YC_END;
    CHECK_STR(fmt_exc(got), "RuntimeError: generator ignored GeneratorExit");
    CHECK_STR(fmt_exc(yc_exc_context(got)), "IndexError: caller");
    yc_exc_unref(got);
    CHECK_EQ_INT(yc_sgen_state_of(&g.sgen), YC_GEN_SUSPENDED); /* stays S at the new yield */
    yc_val v;
    CHECK_ST(yc_sgen_next(&g.sgen, &v), YC_RETURN); /* resumes after the yield */
    CHECK_STR(logbuf, "ge");
    yc_sgen_fini(&g.sgen);
}

TEST(d5_3_close_ignored_by_yield_in_finally_then_next_and_close)
{
    log_reset();
    ge_t g = {.mode = 5};
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EQ_INT(yc_sgen_state_of(&g.sgen), YC_GEN_SUSPENDED);
    /* next resumes the finally; GeneratorExit goes on when it ends */
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_GeneratorExit, NULL);
    CHECK_STR(logbuf, "finally finally-end");
    yc_sgen_fini(&g.sgen);
    /* close again instead: GeneratorExit thrown at the yield in finally */
    log_reset();
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_RAISE);
    yc_err_clear();
    CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_OK);
    CHECK_EQ_INT(yc_sgen_state_of(&g.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&g.sgen);
}

TEST(d5_3_close_ignored_by_catch_and_loop)
{
    log_reset();
    ge_t g = {.mode = 4};
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_YIELD);
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_RAISE);
        CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    }
    CHECK_STR(logbuf, "ge ge ge");
    yc_set_unraisable_hook(count_unraisable, NULL);
    unraisables = 0;
    yc_sgen_fini(&g.sgen); /* 5.10: its close fails again: to the unraisable hook */
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_EQ_INT(unraisables, 1);
    CHECK_STR(unraisable_exc, "RuntimeError: generator ignored GeneratorExit");
}

TEST(d5_4_close_raises_other_exception_with_context)
{
    yc_val v;
    CHECK_EQ_INT(close_mode(2, &v), YC_RAISE * 16 + YC_GEN_CLOSED);
    yc_exc *e = yc_err_take();
    CHECK_STR(fmt_exc(e), "KeyError: 'other'");
    CHECK_STR(fmt_exc(yc_exc_context(e)), "GeneratorExit");
    yc_exc_unref(e);
    CHECK_EQ_INT(close_mode(3, &v), YC_RAISE * 16 + YC_GEN_CLOSED);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator raised StopIteration");
}

TEST(d5_5_return_in_finally_swallows_generator_exit)
{
    yc_val v;
    CHECK_EQ_INT(close_mode(6, &v), YC_OK * 16 + YC_GEN_CLOSED);
    CHECK_INTV(v, 6); /* [5.2] 3.13 */
    CHECK_STR(logbuf, "finally");
}

TEST(d5_6_except_exception_does_not_catch_generator_exit)
{
    yc_val v;
    CHECK_EQ_INT(close_mode(7, &v), YC_OK * 16 + YC_GEN_CLOSED);
    CHECK(yc_is_none(v));
    CHECK_STR(logbuf, "");
}

TEST(d5_7_close_created_runs_nothing)
{
    log_reset();
    ge_t g = {.mode = 5};
    yc_sgen_init(&g.sgen, &ge_body);
    CHECK_ST(yc_sgen_close(&g.sgen, NULL), YC_OK);
    CHECK_STR(logbuf, "");
    CHECK_EQ_INT(yc_sgen_state_of(&g.sgen), YC_GEN_CLOSED);
    CHECK_ST(yc_sgen_next(&g.sgen, NULL), YC_RETURN);
    yc_sgen_fini(&g.sgen);
}

TEST(d5_9_close_on_running)
{
    log_reset();
    self_t r = {.catch_it = 1, .op = 3};
    yc_sgen_init(&r.sgen, &reenter);
    under_test = &r.sgen;
    CHECK_ST(yc_sgen_next(&r.sgen, NULL), YC_YIELD);
    CHECK_STR(logbuf, "GEN_RUNNING ValueError: generator already executing");
    yc_sgen_fini(&r.sgen);
}

TEST(d5_10_finalisation_runs_finally_and_reports_failures)
{
    /* free of a suspended one runs its finally */
    log_reset();
    yc_sgen *g = yc_sgen_new(&tryfin);
    under_test = g;
    CHECK_ST(yc_sgen_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_free(g), YC_OK);
    CHECK_STR(logbuf, "finally GEN_RUNNING");
    /* a failing close goes to the unraisable hook, nothing propagates, the
     * caller's pending error survives */
    yc_set_unraisable_hook(count_unraisable, NULL);
    unraisables = 0;
    ge_t *o = (ge_t *)(void *)yc_sgen_new(&ge_body);
    o->mode = 2;
    CHECK_ST(yc_sgen_next(&o->sgen, NULL), YC_YIELD);
    yc_err_set(yc_exc_new(&yc_IndexError, "pending"));
    CHECK_ST(yc_sgen_free(&o->sgen), YC_OK);
    CHECK_EQ_INT(unraisables, 1);
    CHECK(strncmp(unraisable_obj, "<generator object ge_body at 0x", 31) == 0);
    CHECK_STR(unraisable_exc, "KeyError: 'other'");
    CHECK_EXC(&yc_IndexError, "IndexError: pending");
    /* one that ignores GeneratorExit: reported, then abandoned */
    o = (ge_t *)(void *)yc_sgen_new(&ge_body);
    o->mode = 5;
    CHECK_ST(yc_sgen_next(&o->sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_free(&o->sgen), YC_OK);
    CHECK_EQ_INT(unraisables, 2);
    CHECK_STR(unraisable_exc, "RuntimeError: generator ignored GeneratorExit");
    /* created or closed: nothing runs */
    log_reset();
    g = yc_sgen_new(&tryfin);
    CHECK_ST(yc_sgen_free(g), YC_OK);
    CHECK_STR(logbuf, "");
    yc_set_unraisable_hook(NULL, NULL);
    check_live();
}

/* ===================================================================== 6 */

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int mode;
    yc_iter *src;
} si_t;

/* 0: raises StopIteration(7); 1: a failing call left StopIteration pending
 * (YC_SCHECK); 2: catches it; 3: StopAsyncIteration */
YC_SGEN_FN(si_body, si_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(0));
    if (s->mode == 0) YC_SRAISE(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
    if (s->mode == 1) {
        yc_err_set(yc_exc_new(&yc_StopIteration, NULL));
        YC_SCHECK(YC_RAISE);
    }
    if (s->mode == 2) {
        YC_STRY(s) {
            YC_SRAISE(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
        } YC_SEXCEPT(&yc_StopIteration) {
            LOG("caught");
        } YC_STRY_END;
        YC_SRETURN(yc_int(1));
    }
    YC_SRAISEF(&yc_StopAsyncIteration, NULL);
    YC_SGEN_END();
}

static yc_exc *run_si(int mode, int want_st)
{
    si_t s = {.mode = mode};
    yc_sgen_init(&s.sgen, &si_body);
    CHECK_ST(yc_sgen_next(&s.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&s.sgen, NULL), want_st);
    CHECK_EQ_INT(yc_sgen_state_of(&s.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&s.sgen);
    return yc_err_take();
}

TEST(d6_1_stop_iteration_becomes_runtime_error)
{
    yc_exc *e = run_si(0, YC_RAISE);
    CHECK_STR(fmt_exc(e), "RuntimeError: generator raised StopIteration");
    CHECK_STR(fmt_exc(yc_exc_cause(e)), "StopIteration: 7");
    CHECK(yc_exc_context(e) == yc_exc_cause(e));
    CHECK(yc_exc_suppress_context(e));
    yc_exc_unref(e);
}

TEST(d6_2_stop_iteration_from_a_call_in_the_body)
{
    yc_exc *e = run_si(1, YC_RAISE);
    CHECK_STR(fmt_exc(e), "RuntimeError: generator raised StopIteration");
    yc_exc_unref(e);
}

TEST(d6_3_caught_stop_iteration_is_harmless)
{
    log_reset();
    yc_exc *e = run_si(2, YC_RETURN);
    CHECK(e == NULL);
    CHECK_STR(logbuf, "caught");
}

TEST(d6_5_stop_async_iteration_not_converted)
{
    yc_exc *e = run_si(3, YC_RAISE);
    CHECK_STR(fmt_exc(e), "StopAsyncIteration");
    yc_exc_unref(e);
}

/* ===================================================================== 7 */

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    yc_iter *sub;
    int catch_exc; /* catch exceptions from the yield from, then yield 50 */
    yc_val r;
} outer_t;

/* yield 0; r = yield from sub; log r; yield 100 + r; return r */
YC_SGEN_FN(outer, outer_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(0));
    if (s->catch_exc) {
        YC_STRY(s) {
            YC_SYIELD_FROM(s->sub);
        } YC_SEXCEPT(&yc_Exception) {
            LOG("outer caught");
            LOG(fmt_exc(yc_exc_current()));
            YC_SYIELD(yc_int(50));
        } YC_SFINALLY {
            LOG("outer finally");
        } YC_STRY_END;
        YC_SRETURN(yc_int(-1));
    }
    YC_SYIELD_FROM(s->sub);
    s->r = YC_SSENT();
    {
        char b[64];
        yc_val_format(s->r, b, sizeof b);
        LOG(b);
    }
    YC_SYIELD(yc_int(100 + (yc_type_of(s->r) == YC_T_INT ? s->r.i : 0)));
    YC_SRETURN(s->r);
    YC_SGEN_END();
}

TEST(d7_1_values_go_to_caller_and_yieldfrom_is_sub)
{
    log_reset();
    count_t c = mk_counter(2, yc_int(5));
    outer_t o = {.sub = &c.sgen.it};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK(yc_sgen_yieldfrom(&o.sgen) == NULL);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK(yc_sgen_yieldfrom(&o.sgen) == &c.sgen.it);
    CHECK_ST(yc_sgen_send(&o.sgen, yc_int(33), &v), YC_YIELD); /* [7.2] */
    CHECK_INTV(v, 2);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD); /* [7.3] sub returned 5 */
    CHECK_INTV(v, 105);
    CHECK(yc_sgen_yieldfrom(&o.sgen) == NULL);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_STR(logbuf, "start sent=33 none 5");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d7_1_null_is_type_error_when_executed)
{
    outer_t o = {.sub = NULL};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object is not iterable");
    yc_sgen_fini(&o.sgen);
}

TEST(d7_2_send_to_list_iterator_attribute_error)
{
    yc_val items[2] = {yc_int(1), yc_int(2)};
    yc_iter *li = yc_iter_array(items, 2);
    outer_t o = {.sub = li, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    log_reset();
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_send(&o.sgen, yc_int(1), &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_STR(logbuf, "outer caught AttributeError: 'list_iterator' object has no attribute 'send'");
    yc_sgen_fini(&o.sgen);
    yc_iter_free(li);
}

TEST(d7_3_value_none_from_list_iterator_and_7_4_exhausted_at_once)
{
    log_reset();
    yc_val items[1] = {yc_int(1)};
    yc_iter *li = yc_iter_array(items, 1);
    outer_t o = {.sub = li};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 100);
    CHECK_STR(logbuf, "None");
    yc_sgen_fini(&o.sgen);
    /* [7.4] an exhausted sub: the yield from is None at once */
    log_reset();
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 100);
    CHECK_STR(logbuf, "None");
    yc_sgen_fini(&o.sgen);
    yc_iter_free(li);
}

TEST(d7_5_created_sub_started_by_first_next_and_7_10_third_party)
{
    log_reset();
    count_t c = mk_counter(3, yc_int(0));
    outer_t o = {.sub = &c.sgen.it};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_send(&o.sgen, yc_int(1), NULL), YC_EINVAL); /* [3.3] on outer */
    yc_err_clear();
    CHECK_STR(logbuf, "");
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_STR(logbuf, "start");
    CHECK_ST(yc_sgen_next(&c.sgen, &v), YC_YIELD); /* [7.10] advanced directly */
    CHECK_INTV(v, 2);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d7_6_throw_forwarded_sub_catches_yields_returns_raises)
{
    /* sub catches and yields */
    log_reset();
    tf_t t = {.mode = 1};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    outer_t o = {.sub = &t.sgen.it};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&o.sgen, yc_exc_new(&yc_KeyError, "k"), &v), YC_YIELD);
    CHECK_INTV(v, 99);
    CHECK(yc_sgen_yieldfrom(&o.sgen) == &t.sgen.it);
    /* sub returns: outer runs on to its next yield */
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 107);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING after 7");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&t.sgen);
    /* sub raises another: raised in outer at the yield from, caught there */
    log_reset();
    t.mode = 3;
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    o.catch_exc = 1;
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&o.sgen, yc_exc_new(&yc_KeyError, "k"), &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING outer caught ValueError: from handler");
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_OK);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING outer caught ValueError: from handler "
                      "outer finally");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&t.sgen);
}

TEST(d7_6_sub_without_throw_is_not_closed)
{
    log_reset();
    yc_val items[2] = {yc_int(1), yc_int(2)};
    yc_iter *li = yc_iter_array(items, 2);
    outer_t o = {.sub = li, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&o.sgen, yc_exc_new(&yc_KeyError, "k"), &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_ST(yc_iter_next(li, &v), YC_YIELD); /* the sub goes on */
    CHECK_INTV(v, 2);
    yc_sgen_fini(&o.sgen);
    yc_iter_free(li);
}

TEST(d7_7_close_closes_sub_first_and_8_4)
{
    log_reset();
    tf_t t = {.mode = 0};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    outer_t o = {.sub = &t.sgen.it, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_OK);
    CHECK_STR(logbuf, "finally GEN_RUNNING outer finally"); /* sub's finally first */
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&t.sgen);
    /* sub's close raises E: E in outer, which catches it and yields:
     * outer.close() reports it ignored GeneratorExit */
    log_reset();
    ge_t g = {.mode = 2};
    yc_sgen_init(&g.sgen, &ge_body);
    yc_sgen_init(&o.sgen, &outer);
    o.sub = &g.sgen.it;
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_STR(logbuf, "ge outer caught KeyError: 'other'");
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_SUSPENDED);
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&g.sgen);
    /* sub catches GeneratorExit and returns: the value is discarded */
    log_reset();
    g.mode = 0;
    yc_sgen_init(&g.sgen, &ge_body);
    o.catch_exc = 0;
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    yc_val v = yc_int(1);
    CHECK_ST(yc_sgen_close(&o.sgen, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STR(logbuf, "ge");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&g.sgen);
}

TEST(d7_7_sub_ignores_generator_exit_outer_closed_sub_suspended)
{
    log_reset();
    ge_t g = {.mode = 1};
    yc_sgen_init(&g.sgen, &ge_body);
    outer_t o = {.sub = &g.sgen.it, .catch_exc = 0};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_CLOSED);
    CHECK_EQ_INT(yc_sgen_state_of(&g.sgen), YC_GEN_SUSPENDED);
    CHECK_STR(logbuf, "ge");
    yc_sgen_fini(&o.sgen);
    yc_set_unraisable_hook(count_unraisable, NULL);
    yc_sgen_fini(&g.sgen); /* it ignores GeneratorExit again: reported */
    yc_set_unraisable_hook(NULL, NULL);
}

TEST(d7_7_throw_generator_exit_then_outer_catches_and_yields)
{
    log_reset();
    count_t c = mk_counter(3, YC_NONE);
    outer_t o = {.sub = &c.sgen.it, .catch_exc = 0};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_throw(&o.sgen, yc_exc_new(&yc_GeneratorExit, NULL), NULL), YC_RAISE);
    CHECK_EXC(&yc_GeneratorExit, NULL);
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED); /* closed first */
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&c.sgen);
}

TEST(d7_8_exception_in_sub_caught_in_outer)
{
    log_reset();
    one_t sub = {.flag = 1};
    yc_sgen_init(&sub.sgen, &raise_value_error);
    outer_t o = {.sub = &sub.sgen.it, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_STR(logbuf, "outer caught ValueError: v");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&sub.sgen);
}

/* ---- mixed chains: stackful and stackless, both directions -------------- */

static yc_sgen *chain_inner; /* the stackless leaf, for states seen from bodies */
static yc_gen *chain_mid;

static yc_val stackful_mid(void *arg)
{
    yc_iter *leaf = arg;
    volatile yc_val r = YC_NONE; /* set in YC_TRY, read after it */
    YC_TRY {
        r = yc_yield_from(leaf);
        LOG("mid got");
    } YC_FINALLY {
        LOG("mid finally");
    } YC_END;
    return yc_int(r.i * 10);
}

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    int64_t i;
} leaf_t;

YC_SGEN_FN(leaf, leaf_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        for (s->i = 1; s->i <= 2; s->i++) {
            YC_SYIELD(yc_int(s->i));
            if (!yc_is_none(YC_SSENT())) LOG("leaf sent");
            /* [7.9] every level is RUNNING */
            LOG(yc_gen_state_name(yc_sgen_state_of(chain_inner)));
            if (chain_mid) LOG(yc_gen_state_name(yc_gen_state_of(chain_mid)));
        }
    } YC_SFINALLY {
        LOG("leaf finally");
    } YC_STRY_END;
    YC_SRETURN(yc_int(4));
    YC_SGEN_END();
}

TEST(d7_9_mixed_chain_stackless_stackful_stackless)
{
    log_reset();
    leaf_t l;
    yc_sgen_init(&l.sgen, &leaf);
    chain_inner = &l.sgen;
    yc_gen *mid = yc_gen_new(stackful_mid, &l.sgen.it, &(yc_gen_opts){.name = "mid"});
    chain_mid = mid;
    outer_t o = {.sub = yc_gen_iter(mid)};
    yc_sgen_init(&o.sgen, &outer);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_sgen_send(&o.sgen, yc_int(5), &v), YC_YIELD); /* through both levels */
    CHECK_INTV(v, 2);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 140); /* leaf returned 4, mid 40, outer yields 100 + 40 */
    CHECK_STR(logbuf, "leaf sent GEN_RUNNING GEN_RUNNING GEN_RUNNING GEN_RUNNING leaf finally "
                      "mid got mid finally 40");
    yc_sgen_fini(&o.sgen);
    CHECK_ST(yc_gen_free(mid), YC_OK);
    yc_sgen_fini(&l.sgen);
    chain_mid = NULL;
}

TEST(d7_9_mixed_chain_close_and_throw_reach_the_leaf)
{
    log_reset();
    leaf_t l;
    yc_sgen_init(&l.sgen, &leaf);
    chain_inner = &l.sgen;
    yc_gen *mid = yc_gen_new(stackful_mid, &l.sgen.it, &(yc_gen_opts){.name = "mid"});
    outer_t o = {.sub = yc_gen_iter(mid), .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    yc_val v;
    CHECK_ST(yc_sgen_throw(&o.sgen, yc_exc_new(&yc_KeyError, "deep"), &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_STR(logbuf, "leaf finally mid finally outer caught KeyError: 'deep'");
    yc_sgen_fini(&o.sgen);
    CHECK_ST(yc_gen_free(mid), YC_OK);
    yc_sgen_fini(&l.sgen);
    /* close from the top: leaf's finally, then mid's */
    log_reset();
    yc_sgen_init(&l.sgen, &leaf);
    mid = yc_gen_new(stackful_mid, &l.sgen.it, &(yc_gen_opts){.name = "mid"});
    o.sub = yc_gen_iter(mid);
    o.catch_exc = 0;
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_OK);
    CHECK_STR(logbuf, "leaf finally mid finally");
    CHECK_EQ_INT(yc_gen_state_of(mid), YC_GEN_CLOSED);
    yc_sgen_fini(&o.sgen);
    CHECK_ST(yc_gen_free(mid), YC_OK);
    yc_sgen_fini(&l.sgen);
}

static yc_val stackful_top(void *arg)
{
    yc_val r = yc_yield_from((yc_iter *)arg);
    return yc_int(r.i + 1);
}

TEST(d7_9_stackful_delegating_to_stackless)
{
    log_reset();
    count_t c = mk_counter(2, yc_int(9));
    yc_gen *top = yc_gen_new(stackful_top, &c.sgen.it, NULL);
    yc_val v;
    CHECK_ST(yc_next(top, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(top, yc_int(6), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(top, &v), YC_RETURN);
    CHECK_INTV(v, 10);
    CHECK_STR(logbuf, "start sent=6 none");
    CHECK_ST(yc_gen_free(top), YC_OK);
    yc_sgen_fini(&c.sgen);
}

TEST(d7_11_yield_from_itself)
{
    outer_t o;
    yc_sgen_init(&o.sgen, &outer);
    o.sub = &o.sgen.it;
    o.catch_exc = 0;
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&o.sgen);
}

TEST(d7_12_sub_raising_stop_iteration_becomes_runtime_error_in_sub)
{
    si_t s = {.mode = 0};
    yc_sgen_init(&s.sgen, &si_body);
    outer_t o = {.sub = &s.sgen.it, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    log_reset();
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_STR(logbuf, "outer caught RuntimeError: generator raised StopIteration");
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&s.sgen);
}

TEST(d7_13_close_on_delegator_whose_sub_lacks_close)
{
    log_reset();
    yc_val items[2] = {yc_int(1), yc_int(2)};
    yc_iter *li = yc_iter_array(items, 2);
    outer_t o = {.sub = li, .catch_exc = 1};
    yc_sgen_init(&o.sgen, &outer);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_close(&o.sgen, NULL), YC_OK);
    CHECK_STR(logbuf, "outer finally");
    yc_sgen_fini(&o.sgen);
    yc_iter_free(li);
}

TEST(d2_7_traceback_names_the_generator_where_it_raised)
{
    one_t o = {.flag = 1};
    yc_sgen_init(&o.sgen, &raise_value_error);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    size_t n;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_STR(tb[0].where, "raise_value_error");
        CHECK(strstr(tb[0].file, "test_dense_sec1_8.c") != NULL);
        CHECK(tb[0].func != NULL && strstr(tb[0].func, "raise_value_error") != NULL);
    }
    yc_exc_unref(e);
    yc_sgen_fini(&o.sgen);
}

/* [2.5] the subgenerator resumes its delegating outer: the outer is RUNNING */
typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
} poke_t;

static yc_sgen *poke_target;

YC_SGEN_FN(poker, poke_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(1));
    YC_STRY(s) {
        YC_SCHECK(yc_sgen_next(poke_target, NULL));
    } YC_SEXCEPT(&yc_ValueError) {
        LOG(fmt_exc(yc_exc_current()));
    } YC_STRY_END;
    YC_SYIELD(yc_int(2));
    YC_SGEN_END();
}

TEST(d2_5_reentrant_from_subgenerator_caught)
{
    log_reset();
    poke_t p;
    yc_sgen_init(&p.sgen, &poker);
    outer_t o = {.sub = &p.sgen.it};
    yc_sgen_init(&o.sgen, &outer);
    poke_target = &o.sgen;
    yc_val v;
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_sgen_next(&o.sgen, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STR(logbuf, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_sgen_state_of(&o.sgen), YC_GEN_SUSPENDED);
    yc_sgen_fini(&o.sgen);
    yc_sgen_fini(&p.sgen);
}

/* ---- deep stackless chains: the library walks them ----------------------
 * A next or send on the top of a chain of stackless generators each
 * suspended in a yield from goes straight to the deepest one's subiterator
 * (src/dense.c, deleg_chain); these tests pin that the walk is invisible:
 * the states, gi_yieldfrom, values, returns, exceptions, tracebacks and
 * contexts are those of a call through every level. */

#define DEEP 4
static yc_sgen *deep[DEEP + 1]; /* deep[0] the top ... deep[DEEP] the leaf */

static void log_deep_states(void)
{
    char b[DEEP + 2];
    for (int k = 0; k <= DEEP; k++) {
        yc_gen_state st = yc_sgen_state_of(deep[k]);
        b[k] = st == YC_GEN_RUNNING ? 'R' : st == YC_GEN_SUSPENDED ? 'S' : st == YC_GEN_CREATED ? 'C' : 'X';
    }
    b[DEEP + 1] = '\0';
    LOG(b);
}

/* yields 1, 2 (logging the states of the chain and what was sent), then
 * raises ValueError "leaf" (flag) or returns 9 */
YC_SGEN_FN(deep_leaf, one_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD(yc_int(1));
    log_deep_states();
    if (!yc_is_none(YC_SSENT())) LOG("leaf got send");
    if (poke_target) { /* [7.11]/[2.5] re-entering a level of the chain */
        int st = yc_sgen_next(poke_target, NULL);
        LOG(st == YC_EBUSY ? fmt_exc(yc_err_get()) : "not busy");
        yc_err_clear();
    }
    YC_SYIELD(yc_int(2));
    log_deep_states();
    if (s->flag) YC_SRAISEF(&yc_ValueError, "leaf");
    YC_SRETURN(yc_int(9));
    YC_SGEN_END();
}

/* r = yield from sub; return r + 1 */
typedef struct {
    yc_sgen sgen;
    yc_iter *sub;
} pass_t;

YC_SGEN_FN(pass_up, pass_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD_FROM(s->sub);
    YC_SRETURN(yc_int(YC_SSENT().i + 1));
    YC_SGEN_END();
}

/* builds top -> ... -> leaf: levels 0..DEEP-1 pass_up, the leaf deep_leaf
 * (raising at its end when flag is set); the log empty, no poke */
static void deep_build(pass_t *lv, one_t *leaf, int flag)
{
    log_reset();
    poke_target = NULL;
    *leaf = (one_t){.flag = flag};
    yc_sgen_init(&leaf->sgen, &deep_leaf);
    deep[DEEP] = &leaf->sgen;
    yc_iter *sub = &leaf->sgen.it;
    for (int k = DEEP; k-- > 0;) {
        lv[k] = (pass_t){.sub = sub};
        yc_sgen_init(&lv[k].sgen, &pass_up);
        deep[k] = &lv[k].sgen;
        sub = &lv[k].sgen.it;
    }
}

/* Runs the chain of a raising leaf to its end: the ValueError every level
 * let through, taken. */
static yc_exc *deep_run_to_raise(void)
{
    CHECK_ST(yc_sgen_next(deep[0], NULL), YC_YIELD);
    CHECK_ST(yc_sgen_next(deep[0], NULL), YC_YIELD);
    CHECK(yc_exc_current() == NULL); /* the caller handles nothing */
    CHECK_ST(yc_sgen_next(deep[0], NULL), YC_RAISE); /* [7.8] through every level */
    yc_exc *e = yc_err_take();
    CHECK_STR(fmt_exc(e), "ValueError: leaf");
    return e;
}

static void deep_drop(pass_t *lv, one_t *leaf)
{
    for (int k = 0; k < DEEP; k++) CHECK_ST(yc_sgen_fini(&lv[k].sgen), YC_OK);
    CHECK_ST(yc_sgen_fini(&leaf->sgen), YC_OK);
}

TEST(d7_9_deep_stackless_chain_values_states_send_and_return)
{
    pass_t lv[DEEP];
    one_t leaf;
    deep_build(lv, &leaf, 0);
    yc_val v;
    CHECK_ST(yc_sgen_next(deep[0], &v), YC_YIELD); /* starts every level */
    CHECK_INTV(v, 1);
    for (int k = 0; k < DEEP; k++) { /* [7.1] gi_yieldfrom at every level */
        CHECK_EQ_INT(yc_sgen_state_of(deep[k]), YC_GEN_SUSPENDED);
        CHECK(yc_sgen_yieldfrom(deep[k]) == (k + 1 < DEEP ? &lv[k + 1].sgen.it : &leaf.sgen.it));
    }
    CHECK_ST(yc_sgen_send(deep[0], yc_int(5), &v), YC_YIELD); /* [7.2] to the leaf */
    CHECK_INTV(v, 2);
    /* [7.9] every level RUNNING during the call, SUSPENDED after */
    for (int k = 0; k <= DEEP; k++) CHECK_EQ_INT(yc_sgen_state_of(deep[k]), YC_GEN_SUSPENDED);
    /* [7.3] the leaf returns 9, each level adds one on the way up */
    CHECK_ST(yc_sgen_next(deep[0], &v), YC_RETURN);
    CHECK_INTV(v, 9 + DEEP);
    CHECK_STR(logbuf, "RRRRR leaf got send RRRRR");
    for (int k = 0; k <= DEEP; k++) {
        CHECK_EQ_INT(yc_sgen_state_of(deep[k]), YC_GEN_CLOSED);
        CHECK(yc_sgen_yieldfrom(deep[k]) == NULL);
    }
    deep_drop(lv, &leaf);
}

TEST(d7_8_deep_stackless_chain_exception_tracebacks_every_level)
{
    pass_t lv[DEEP];
    one_t leaf;
    deep_build(lv, &leaf, 1);
    yc_exc *e = deep_run_to_raise();
    size_t n;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    CHECK_EQ_INT(n, DEEP + 1); /* one entry per level, the leaf's where it raised */
    if (n == DEEP + 1) {
        int leaf_at = strcmp(tb[0].where, "deep_leaf") == 0 ? 0 : DEEP;
        CHECK_STR(tb[leaf_at].where, "deep_leaf");
        for (size_t k = 0; k <= DEEP; k++)
            if ((int)k != leaf_at) CHECK_STR(tb[k].where, "pass_up");
    }
    yc_exc_unref(e);
    for (int k = 0; k <= DEEP; k++) CHECK_EQ_INT(yc_sgen_state_of(deep[k]), YC_GEN_CLOSED);
    deep_drop(lv, &leaf);
}

TEST(d7_11_deep_stackless_chain_reentered_from_the_leaf)
{
    for (int at = 0; at < DEEP; at++) { /* [2.5]/[7.11] each level is running */
        pass_t lv[DEEP];
        one_t leaf;
        deep_build(lv, &leaf, 0);
        CHECK_ST(yc_sgen_next(deep[0], NULL), YC_YIELD);
        poke_target = deep[at];
        yc_val v;
        CHECK_ST(yc_sgen_next(deep[0], &v), YC_YIELD);
        CHECK_INTV(v, 2);
        CHECK_STR(logbuf, "RRRRR ValueError: generator already executing");
        for (int k = 0; k <= DEEP; k++) CHECK_EQ_INT(yc_sgen_state_of(deep[k]), YC_GEN_SUSPENDED);
        poke_target = NULL;
        deep_drop(lv, &leaf);
    }
}

/* try: raise KeyError('h') except KeyError: r = yield from sub; return r */
typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    yc_iter *sub;
} hdeleg_t;

YC_SGEN_FN(handling_deleg, hdeleg_t, s)
{
    YC_SGEN_BEGIN();
    YC_STRY(s) {
        YC_SRAISEF(&yc_KeyError, "h");
    } YC_SEXCEPT(&yc_KeyError) {
        YC_SYIELD_FROM(s->sub);
    } YC_STRY_END;
    YC_SRETURN(YC_SSENT());
    YC_SGEN_END();
}

TEST(d2_8_deep_chain_through_a_level_that_handles_an_exception)
{
    /* top -> handling_deleg (in its except block) -> pass_up -> ... -> leaf:
     * what the leaf raises has the handled KeyError as its context, as the
     * frames of CPython's chain would give it [2.8, 7.8] */
    pass_t lv[DEEP];
    one_t leaf;
    deep_build(lv, &leaf, 1);
    hdeleg_t h = {.sub = &lv[1].sgen.it};
    yc_sgen_init(&h.sgen, &handling_deleg);
    lv[0].sub = &h.sgen.it; /* top -> h -> lv[1] -> ... -> leaf; lv[0] stays the top */
    deep[1] = &h.sgen;
    yc_exc *e = deep_run_to_raise();
    CHECK_STR(fmt_exc(yc_exc_context(e)), "KeyError: 'h'");
    yc_exc_unref(e);
    CHECK_STR(logbuf, "RRRRR RRRRR");
    CHECK_ST(yc_sgen_fini(&h.sgen), YC_OK);
    deep[1] = &lv[1].sgen;
    deep_drop(lv, &leaf);
}

TEST(d7_10_deep_chain_middle_advanced_by_a_third_party)
{
    pass_t lv[DEEP];
    one_t leaf;
    deep_build(lv, &leaf, 0);
    yc_val v;
    CHECK_ST(yc_sgen_next(deep[0], &v), YC_YIELD);
    CHECK_ST(yc_sgen_next(deep[2], &v), YC_YIELD); /* the middle, directly */
    CHECK_INTV(v, 2);
    CHECK_ST(yc_sgen_next(deep[0], &v), YC_RETURN); /* the top sees what is left */
    CHECK_INTV(v, 9 + DEEP);
    CHECK_STR(logbuf, "SSRRR RRRRR");
    deep_drop(lv, &leaf);
}

/* ===================================================================== 8 */

TEST(d8_1_to_8_6_states)
{
    log_reset();
    tf_t t = {.mode = 1};
    yc_sgen_init(&t.sgen, &tryfin);
    under_test = &t.sgen;
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CREATED);   /* 8.1 */
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_YIELD);
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_SUSPENDED); /* 8.1 R -> S */
    CHECK_ST(yc_sgen_throw(&t.sgen, yc_exc_new(&yc_KeyError, "k"), NULL), YC_YIELD);
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_SUSPENDED); /* 8.3 */
    CHECK_ST(yc_sgen_close(&t.sgen, NULL), YC_OK);             /* 8.4 S -> X */
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_ST(yc_sgen_next(&t.sgen, NULL), YC_RETURN);          /* 8.5 */
    CHECK_EQ_INT(yc_sgen_state_of(&t.sgen), YC_GEN_CLOSED);
    CHECK_STR(logbuf, "caught KeyError: 'k' finally GEN_RUNNING"); /* 8.6 R in finally of close */
    yc_sgen_fini(&t.sgen);
    /* 8.2: C -> X by close and by throw; C stays C on a refused send */
    count_t c = mk_counter(1, YC_NONE);
    CHECK_ST(yc_sgen_send(&c.sgen, yc_int(1), NULL), YC_EINVAL);
    yc_err_clear();
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CREATED);
    CHECK_ST(yc_sgen_close(&c.sgen, NULL), YC_OK);
    CHECK_EQ_INT(yc_sgen_state_of(&c.sgen), YC_GEN_CLOSED);
    yc_sgen_fini(&c.sgen);
}

TEST_MAIN()
