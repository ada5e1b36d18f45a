/*
 * Conformance: python-semantics.md section 7, yield from (PEP 380), with
 * subgenerators and with plain iterators written here (yc_iter types with or
 * without send, throw and close). Each test names the item it covers in
 * brackets. Where CPython versions differ we follow 3.13.
 */
#include "test.h"

/* ---- the event log --------------------------------------------------------
 * Bodies and iterators record events; each entry also keeps the states of
 * the outer and sub generators under test (G_out, G_sub) at that moment. */

#define LOG_MAX 64
typedef struct entry {
    const char *what;
    yc_gen_state out, sub;
} entry;
static entry log_v[LOG_MAX];
static int log_n;
static yc_gen *G_out, *G_sub;

static void log_reset(void)
{
    log_n = 0;
    G_out = G_sub = NULL;
}

static void rec(const char *s)
{
    if (log_n < LOG_MAX) {
        log_v[log_n].out = G_out ? yc_gen_state_of(G_out) : (yc_gen_state)-1;
        log_v[log_n].sub = G_sub ? yc_gen_state_of(G_sub) : (yc_gen_state)-1;
        log_v[log_n++].what = s;
    }
}

static void check_log_(const char *file, int line, const char *const *want)
{
    int n = 0;
    while (want[n]) n++;
    int m = n < log_n ? n : log_n;
    for (int i = 0; i < m; i++)
        if (strcmp(log_v[i].what, want[i]) != 0)
            test_fail(file, line, "log[%d] = \"%s\", want \"%s\"", i, log_v[i].what, want[i]);
    if (n != log_n) {
        test_fail(file, line, "log has %d entries, want %d; it is:", log_n, n);
        for (int i = 0; i < log_n; i++) fprintf(stderr, "    %s\n", log_v[i].what);
    }
}
#define CHECK_LOG(...) check_log_(__FILE__, __LINE__, (const char *const[]){__VA_ARGS__, NULL})

/* The entry named `what` (first one), or a dummy. */
static const entry *at(const char *what)
{
    static entry none = {"(missing)", (yc_gen_state)-2, (yc_gen_state)-2};
    for (int i = 0; i < log_n; i++)
        if (strcmp(log_v[i].what, what) == 0) return &log_v[i];
    return &none;
}

#define CHECK_STATE(g, s)                                                     \
    do {                                                                      \
        yc_gen_state cs_got_ = yc_gen_state_of(g), cs_want_ = (s);             \
        if (cs_got_ != cs_want_)                                              \
            test_fail(__FILE__, __LINE__, "state of %s: %s, want %s", #g,     \
                      yc_gen_state_name(cs_got_), yc_gen_state_name(cs_want_)); \
    } while (0)

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

/* What a body's except block saw. */
typedef struct caught {
    int n;
    char text[160], ctx[160], cause[160];
    const yc_exc *ptr;
} caught;

static void fmt_or_dash(const yc_exc *e, char *buf, size_t n)
{
    if (e) yc_exc_format(e, buf, n);
    else snprintf(buf, n, "-");
}

static void note_caught(caught *c)
{
    yc_exc *e = yc_exc_current();
    c->n++;
    c->ptr = e;
    fmt_or_dash(e, c->text, sizeof c->text);
    fmt_or_dash(yc_exc_context(e), c->ctx, sizeof c->ctx);
    fmt_or_dash(yc_exc_cause(e), c->cause, sizeof c->cause);
}

/* ---- plain iterators written for these tests ------------------------------ */

enum { TH_YIELD, TH_RETURN, TH_SI_PENDING, TH_RAISE_OTHER, TH_RERAISE };
enum { CL_OK, CL_RAISE };

typedef struct cit {
    yc_iter it;
    int64_t next_val, limit; /* yields next_val .. limit-1, then is exhausted */
    yc_val ret;              /* exhaustion value */
    bool ret_via_exc;        /* exhaustion as YC_RAISE with StopIteration(ret) pending */
    int throw_mode;
    yc_val throw_val;
    int close_mode;
    int nnext, nsend, nthrow, nclose;
    yc_val last_sent;
    const yc_exc *last_thrown; /* identity only, never dereferenced */
    char thrown_text[160];
} cit;

static void cit_init(cit *c, const yc_iter_type *t, int64_t first, int64_t limit, yc_val ret)
{
    memset(c, 0, sizeof *c);
    c->it.type = t;
    c->next_val = first;
    c->limit = limit;
    c->ret = ret;
    c->last_sent = YC_NONE;
}

static int cit_advance(cit *c, yc_val *out)
{
    if (c->next_val < c->limit) {
        *out = yc_int(c->next_val++);
        return YC_YIELD;
    }
    if (c->ret_via_exc) {
        yc_err_set(yc_exc_new_value(&yc_StopIteration, c->ret));
        return YC_RAISE;
    }
    *out = c->ret;
    return YC_RETURN;
}

static int cit_next(yc_iter *it, yc_val *out)
{
    cit *c = (cit *)it;
    c->nnext++;
    rec("cit next");
    return cit_advance(c, out);
}

/* send(v): yields 1000 + v without advancing. */
static int cit_send(yc_iter *it, yc_val v, yc_val *out)
{
    cit *c = (cit *)it;
    c->nsend++;
    c->last_sent = v;
    rec("cit send");
    *out = yc_int(1000 + v.i);
    return YC_YIELD;
}

static int cit_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    cit *c = (cit *)it;
    c->nthrow++;
    c->last_thrown = e;
    fmt_or_dash(e, c->thrown_text, sizeof c->thrown_text);
    rec("cit throw");
    switch (c->throw_mode) {
    case TH_YIELD:
        yc_exc_unref(e);
        *out = c->throw_val;
        return YC_YIELD;
    case TH_RETURN:
        yc_exc_unref(e);
        *out = c->throw_val;
        return YC_RETURN;
    case TH_SI_PENDING: /* a Python throw() that raises StopIteration(v) */
        yc_exc_unref(e);
        yc_err_set(yc_exc_new_value(&yc_StopIteration, c->throw_val));
        return YC_RAISE;
    case TH_RAISE_OTHER:
        yc_exc_unref(e);
        yc_err_set(yc_exc_new(&yc_KeyError, "from cit throw"));
        return YC_RAISE;
    default: /* TH_RERAISE */
        yc_err_set(e);
        return YC_RAISE;
    }
}

static int cit_close(yc_iter *it, yc_val *out)
{
    cit *c = (cit *)it;
    c->nclose++;
    rec("cit close");
    if (out) *out = YC_NONE;
    if (c->close_mode == CL_RAISE) {
        yc_err_set(yc_exc_new(&yc_KeyError, "from cit close"));
        return YC_RAISE;
    }
    return YC_OK;
}

static const yc_iter_type cit_full = {.name = "cit", .next = cit_next, .send = cit_send, .throw_ = cit_throw, .close = cit_close};
static const yc_iter_type cit_next_only = {.name = "my_iter", .next = cit_next};
static const yc_iter_type cit_no_send = {.name = "nosend_iter", .next = cit_next, .throw_ = cit_throw, .close = cit_close};
static const yc_iter_type cit_no_throw = {.name = "cit", .next = cit_next, .send = cit_send, .close = cit_close};
static const yc_iter_type cit_no_close = {.name = "cit", .next = cit_next, .send = cit_send, .throw_ = cit_throw};

/* ---- the delegating generator ---------------------------------------------
 * outer: try { r = yield from sub; yield r; } except (catch) { yield 555 if
 * asked } finally {}; return 99. */

typedef struct ocfg {
    yc_iter *sub;
    const yc_exc_type *catch_type; /* NULL: catches nothing */
    bool yield_after_catch;
    caught c;
    yc_val r;      /* the value of the yield from */
    yc_val sent;   /* what outer's own `yield r` received */
} ocfg;

static yc_val outer_fn(void *arg)
{
    ocfg *c = arg;
    rec("outer start");
    YC_TRY {
        YC_TRY {
            yc_val r = yc_yield_from(c->sub);
            c->r = r;
            rec("yield from returned");
            c->sent = yc_yield(r);
            rec("outer resumed");
        } YC_EXCEPT(c->catch_type) {
            note_caught(&c->c);
            rec("outer caught");
            if (c->yield_after_catch) {
                yc_yield(yc_int(555));
                rec("outer resumed after catch");
            }
        } YC_END;
    } YC_FINALLY {
        rec("outer finally");
    } YC_END;
    return yc_int(99);
}

static void ocfg_init(ocfg *c, yc_iter *sub, const yc_exc_type *catch_type, bool yield_after)
{
    memset(c, 0, sizeof *c);
    c->sub = sub;
    c->catch_type = catch_type;
    c->yield_after_catch = yield_after;
    c->r = yc_int(-12345);
    c->sent = yc_int(-12345);
}

/* return (yield from it) */
static yc_val outer_ret(void *arg)
{
    yc_iter *it = arg;
    rec("outer_ret start");
    return yc_yield_from(it);
}

/* ---- subgenerators -------------------------------------------------------- */

static yc_val sub_sent[8];
static int sub_nsent;

/* yields 1, 2 (recording what was sent), returns 7; finally recorded */
static yc_val sub_fin(void *arg)
{
    (void)arg;
    rec("sub start");
    YC_TRY {
        for (int i = 1; i <= 2; i++) {
            yc_val s = yc_yield(yc_int(i));
            if (sub_nsent < 8) sub_sent[sub_nsent++] = s;
            rec("sub resumed");
        }
    } YC_FINALLY {
        rec("sub finally");
    } YC_END;
    return yc_int(7);
}

/* yields 1 .. 4, returns 7 */
static yc_val sub_count(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 4; i++) yc_yield(yc_int(i));
    return yc_int(7);
}

static yc_val sub_falls_off(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    return YC_NONE;
}

static caught sub_c;

/* ValueError at yield 1: caught, yields 100; then returns 7 */
static yc_val sub_catch_yield(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_ValueError) {
        note_caught(&sub_c);
        rec("sub caught");
        yc_yield(yc_int(100));
        rec("sub resumed");
    } YC_END;
    return yc_int(7);
}

/* ValueError at yield 1: caught, returns 200 */
static yc_val sub_catch_return(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_ValueError) {
        note_caught(&sub_c);
        rec("sub caught");
    } YC_END;
    return yc_int(200);
}

/* ValueError at yield 1: caught, raises KeyError("from sub") */
static yc_val sub_catch_raise(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_ValueError) {
            rec("sub caught");
            yc_raisef(&yc_KeyError, "from sub");
        } YC_END;
    } YC_FINALLY {
        rec("sub finally");
    } YC_END;
    return YC_NONE;
}

/* GeneratorExit at yield 1: caught, returns 7 */
static yc_val sub_ge_return(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("sub caught GeneratorExit");
        return yc_int(7);
    } YC_END;
    return yc_int(-1);
}

/* finally raises KeyError("k") */
static yc_val sub_ge_raise(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        rec("sub finally");
        note_caught(&sub_c);
        yc_raisef(&yc_KeyError, "k");
    } YC_END;
    return YC_NONE;
}

/* GeneratorExit at yield 1: caught, yields 2 (ignores it) */
static yc_val sub_ge_ignore(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        rec("sub ignores GeneratorExit");
        yc_yield(yc_int(2));
    } YC_END;
    return YC_NONE;
}

/* GeneratorExit at yield 1: noted and re-raised */
static yc_val sub_ge_note(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        note_caught(&sub_c);
        rec("sub caught GeneratorExit");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

/* value = yield 1; return value */
static yc_val sub_echo(void *arg)
{
    (void)arg;
    rec("sub start");
    yc_val v = yc_yield(yc_int(1));
    rec("sub got value");
    return v;
}

static const yc_exc *sub_raised; /* identity only */

static yc_val sub_raise(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_exc *e = yc_exc_new(&yc_IndexError, "sub err");
        sub_raised = e;
        yc_raise(e);
    } YC_FINALLY {
        rec("sub finally");
    } YC_END;
    return YC_NONE;
}

static yc_val sub_raise_si(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    rec("sub raising StopIteration");
    yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(3)));
    return YC_NONE;
}

/* Sets up outer (outer_fn with cfg) delegating to a new subgenerator. */
static yc_gen *setup_gen_sub(ocfg *cfg, yc_gen_fn subfn, const yc_exc_type *catch_type,
                             bool yield_after)
{
    log_reset();
    sub_nsent = 0;
    memset(&sub_c, 0, sizeof sub_c);
    G_sub = mk(subfn, NULL, "sub");
    ocfg_init(cfg, yc_gen_iter(G_sub), catch_type, yield_after);
    G_out = mk(outer_fn, cfg, "outer");
    return G_out;
}

static void teardown(void)
{
    if (G_out) CHECK_ST(yc_gen_free(G_out), YC_OK);
    if (G_sub) CHECK_ST(yc_gen_free(G_sub), YC_OK);
    G_out = G_sub = NULL;
}

/* ======================================================================== */
/* 7.1 */

static caught null_c;

static yc_val outer_null(void *arg)
{
    (void)arg;
    rec("before yield from");
    YC_TRY {
        yc_yield_from(NULL);
        rec("not reached");
    } YC_EXCEPT(&yc_TypeError) {
        note_caught(&null_c);
        rec("caught");
    } YC_END;
    yc_yield(yc_int(1));
    return YC_NONE;
}

TEST(yf_not_iterable_raises_type_error_when_executed) /* [7.1] */
{
    log_reset();
    memset(&null_c, 0, sizeof null_c);
    yc_gen *g = G_out = mk(outer_null, NULL, "outer");
    CHECK_EQ_INT(log_n, 0); /* nothing at creation */
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_LOG("before yield from", "caught");
    CHECK_EQ_INT(null_c.n, 1);
    CHECK(strncmp(null_c.text, "TypeError: ", 11) == 0);
    CHECK(strstr(null_c.text, "object is not iterable") != NULL); /* 'int' object is not ... */
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

TEST(yf_values_go_to_caller_and_yieldfrom_is_sub) /* [7.1] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, NULL, false);
    yc_val v;
    CHECK(yc_gen_yieldfrom(g) == NULL); /* C */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub));
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub));
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* outer's own `yield r` */
    CHECK_INTV(v, 7);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 99);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("outer start", "sub start", "sub resumed", "sub resumed", "sub finally",
              "yield from returned", "outer resumed", "outer finally");
    CHECK_EQ_INT(at("sub start")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("sub start")->sub, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("yield from returned")->sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_plain_iterator_values_and_yieldfrom) /* [7.1] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_full, 1, 4, yc_int(8));
    ocfg cfg;
    ocfg_init(&cfg, &c.it, NULL, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    for (int i = 1; i <= 3; i++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, i);
        CHECK(yc_gen_yieldfrom(g) == &c.it);
    }
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 8);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(c.nnext, 4);
    CHECK_EQ_INT(c.nsend + c.nthrow + c.nclose, 0);
    CHECK_EQ_INT(at("cit next")->out, YC_GEN_RUNNING);
    teardown();
}

/* ======================================================================== */
/* 7.2 */

TEST(yf_next_and_send_forwarded_to_plain_iterator) /* [7.2] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_full, 1, 10, YC_NONE);
    ocfg cfg;
    ocfg_init(&cfg, &c.it, NULL, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(c.nnext, 1);
    CHECK_ST(yc_send(g, yc_int(5), &v), YC_YIELD); /* send(v != None) -> sub.send(v) */
    CHECK_INTV(v, 1005);
    CHECK_EQ_INT(c.nsend, 1);
    CHECK_INTV(c.last_sent, 5);
    CHECK_EQ_INT(c.nnext, 1);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD); /* send(None) -> sub.__next__() */
    CHECK_INTV(v, 2);
    CHECK_EQ_INT(c.nnext, 2);
    CHECK_EQ_INT(c.nsend, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_EQ_INT(c.nnext, 3);
    CHECK(yc_gen_yieldfrom(g) == &c.it);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_EQ_INT(c.nclose, 1);
    teardown();
}

TEST(yf_send_reaches_subgenerator_yield) /* [7.2] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_send(g, yc_str("hi"), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    CHECK_EQ_INT(sub_nsent, 2);
    CHECK_VAL(sub_sent[0], yc_str("hi"));
    CHECK(yc_is_none(sub_sent[1]));
    CHECK_ST(yc_send(g, yc_int(4), &v), YC_RETURN); /* outer's own yield gets it */
    CHECK_INTV(cfg.sent, 4);
    CHECK_INTV(v, 99);
    teardown();
}

TEST(yf_send_to_list_iterator_attribute_error_uncaught) /* [7.2] */
{
    log_reset();
    yc_val items[3] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *arr = yc_iter_array(items, 3);
    CHECK(arr != NULL);
    ocfg cfg;
    ocfg_init(&cfg, arr, NULL, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(g, yc_int(5), &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_AttributeError,
                 "AttributeError: 'list_iterator' object has no attribute 'send'");
    CHECK(yc_exc_context(e) == NULL);
    /* raised in outer, at the yield from */
    size_t ntb = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    CHECK(ntb >= 1);
    if (ntb >= 1) {
        CHECK_STR(tb[0].where, "outer");
        CHECK_STR(tb[0].file, __FILE__);
    }
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED); /* uncaught: outer X */
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("outer start", "outer finally");
    /* the list iterator was left where it was */
    CHECK_ST(yc_iter_next(arr, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    yc_iter_free(arr);
    teardown();
}

TEST(yf_send_to_iterator_without_send_caught_in_outer) /* [7.2] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_no_send, 1, 10, YC_NONE);
    ocfg cfg;
    ocfg_init(&cfg, &c.it, &yc_AttributeError, true);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_STR(cfg.c.text, "AttributeError: 'nosend_iter' object has no attribute 'send'");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(at("outer caught")->out, YC_GEN_RUNNING);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_EQ_INT(c.nclose, 0); /* no longer delegating: not closed */
    CHECK_EQ_INT(c.nthrow, 0);
    CHECK_LOG("outer start", "cit next", "outer caught", "outer finally");
    teardown();
}

TEST(yf_send_to_next_only_iterator_uses_its_name) /* [7.2] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_next_only, 1, 10, YC_NONE);
    yc_gen *g = G_out = mk(outer_ret, &c.it, "outer");
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_send(g, yc_bool(true), NULL), YC_RAISE);
    CHECK_EXC(&yc_AttributeError, "AttributeError: 'my_iter' object has no attribute 'send'");
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

/* ======================================================================== */
/* 7.3 */

TEST(yf_value_is_subgenerator_return_value) /* [7.3] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_count, NULL, false);
    yc_val v;
    for (int i = 1; i <= 4; i++) CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    CHECK_INTV(cfg.r, 7);
    CHECK_LOG("outer start", "yield from returned");
    CHECK_ST(yc_next(g, &v), YC_RETURN); /* outer continues */
    CHECK_INTV(v, 99);
    teardown();
}

TEST(yf_value_none_when_subgenerator_falls_off) /* [7.3] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_falls_off, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK(yc_is_none(v));
    CHECK(yc_is_none(cfg.r));
    teardown();
}

TEST(yf_value_from_plain_iterator_return) /* [7.3] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_next_only, 1, 3, yc_str("done"));
    yc_gen *g = G_out = mk(outer_ret, &c.it, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_VAL(v, yc_str("done"));
    CHECK(yc_err_get() == NULL);
    teardown();
}

TEST(yf_value_from_plain_iterator_stopiteration_pending) /* [7.3] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_next_only, 1, 2, yc_int(9));
    c.ret_via_exc = true; /* next raises StopIteration(9) */
    ocfg cfg;
    ocfg_init(&cfg, &c.it, &yc_BaseException, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 9);
    CHECK_INTV(cfg.r, 9);
    CHECK_EQ_INT(cfg.c.n, 0); /* the StopIteration is consumed, not raised */
    CHECK(yc_err_get() == NULL);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 99);
    teardown();
}

TEST(yf_value_none_from_stopiteration_without_value) /* [7.3] */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_next_only, 1, 1, YC_NONE);
    c.ret_via_exc = true; /* StopIteration() at once */
    yc_gen *g = G_out = mk(outer_ret, &c.it, "outer");
    yc_val v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == NULL);
    teardown();
}

TEST(yf_value_none_from_list_iterator) /* [7.3] */
{
    log_reset();
    yc_val items[2] = {yc_int(1), yc_int(2)};
    yc_iter *arr = yc_iter_array(items, 2);
    ocfg cfg;
    ocfg_init(&cfg, arr, NULL, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK(yc_is_none(v));
    CHECK(yc_is_none(cfg.r));
    yc_iter_free(arr);
    teardown();
}

/* ======================================================================== */
/* 7.4 */

TEST(yf_exhausted_subgenerator_gives_none_at_once) /* [7.4] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_count, NULL, false);
    yc_val v;
    for (int i = 1; i <= 4; i++) CHECK_ST(yc_next(G_sub, &v), YC_YIELD);
    CHECK_ST(yc_next(G_sub, &v), YC_RETURN);
    CHECK_INTV(v, 7);
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* straight to outer's own yield */
    CHECK(yc_is_none(v));
    CHECK(yc_is_none(cfg.r)); /* the return value is not remembered */
    CHECK_LOG("outer start", "yield from returned");
    teardown();
}

TEST(yf_exhausted_list_iterator_gives_none_at_once) /* [7.4] */
{
    log_reset();
    yc_val items[1] = {yc_int(1)};
    yc_iter *arr = yc_iter_array(items, 1);
    yc_val v;
    CHECK_ST(yc_iter_next(arr, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(arr, &v), YC_RETURN);
    yc_gen *g = G_out = mk(outer_ret, arr, "outer");
    v = yc_int(77);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_iter_free(arr);
    teardown();
}

TEST(yf_partially_consumed_continues) /* [7.4] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_count, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(G_sub, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    for (int i = 2; i <= 4; i++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, i);
    }
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    teardown();

    log_reset();
    yc_val items[3] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *arr = yc_iter_array(items, 3);
    CHECK_ST(yc_iter_next(arr, &v), YC_YIELD);
    g = G_out = mk(outer_ret, arr, "outer");
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    yc_iter_free(arr);
    teardown();
}

/* ======================================================================== */
/* 7.5 */

TEST(yf_created_sub_started_by_first_next) /* [7.5] */
{
    log_reset();
    G_sub = mk(sub_echo, NULL, "sub");
    yc_gen *g = G_out = mk(outer_ret, yc_gen_iter(G_sub), "outer");
    yc_val v;
    /* outer.send(1) while outer is C: TypeError from outer itself */
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_STATE(g, YC_GEN_CREATED);
    CHECK_STATE(G_sub, YC_GEN_CREATED);
    CHECK_EQ_INT(log_n, 0);
    /* the first next starts sub */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_STATE(G_sub, YC_GEN_SUSPENDED);
    CHECK_LOG("outer_ret start", "sub start");
    CHECK_EQ_INT(at("sub start")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("sub start")->sub, YC_GEN_RUNNING);
    /* a value sent later reaches sub's yield; sub returns it, outer too */
    CHECK_ST(yc_send(g, yc_int(42), &v), YC_RETURN);
    CHECK_INTV(v, 42);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK_LOG("outer_ret start", "sub start", "sub got value");
    teardown();
}

/* ======================================================================== */
/* 7.6 */

TEST(yf_throw_sub_catches_and_yields) /* [7.6] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_catch_yield, &yc_BaseException, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    const yc_exc *ep = e;
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 100);
    CHECK(sub_c.ptr == ep); /* sub.throw got the very object */
    CHECK_STR(sub_c.text, "ValueError: v");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_STATE(G_sub, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub)); /* still delegating */
    CHECK_EQ_INT(at("sub caught")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("sub caught")->sub, YC_GEN_RUNNING);
    CHECK_EQ_INT(cfg.c.n, 0);
    /* later sends continue in sub */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    CHECK_LOG("outer start", "sub caught", "sub resumed", "yield from returned");
    teardown();
}

TEST(yf_throw_sub_returns_outer_runs_to_next_yield) /* [7.6] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_catch_return, &yc_BaseException, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 200); /* outer's next yield: `yield r` with r = 200 */
    CHECK_INTV(cfg.r, 200);
    CHECK_EQ_INT(cfg.c.n, 0);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK_LOG("outer start", "sub caught", "yield from returned");
    teardown();
}

TEST(yf_throw_sub_returns_outer_returns) /* [7.6] */
{
    log_reset();
    G_sub = mk(sub_catch_return, NULL, "sub");
    yc_gen *g = G_out = mk(outer_ret, yc_gen_iter(G_sub), "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_RETURN); /* SI(200) */
    CHECK_INTV(v, 200);
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_throw_sub_raises_other_caught_in_outer) /* [7.6] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_catch_raise, &yc_KeyError, true);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_STR(cfg.c.text, "KeyError: 'from sub'");
    CHECK_STR(cfg.c.ctx, "ValueError: v");
    CHECK_STR(cfg.c.cause, "-");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("outer start", "sub caught", "sub finally", "outer caught");
    CHECK_EQ_INT(at("sub finally")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("outer caught")->sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_throw_sub_raises_other_uncaught) /* [7.6] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_catch_raise, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_KeyError, "KeyError: 'from sub'");
    CHECK_EXC_IS(yc_exc_context(e), &yc_ValueError, "ValueError: v");
    /* traceback: raised in sub, passed through outer */
    size_t ntb = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    CHECK(ntb >= 2);
    if (ntb >= 2) {
        CHECK_STR(tb[0].where, "sub");
        CHECK_STR(tb[ntb - 1].where, "outer");
    }
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK_LOG("outer start", "sub caught", "sub finally", "outer finally");
    teardown();
}

TEST(yf_throw_not_caught_anywhere_same_object) /* [7.6] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    yc_exc_ref(e);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_ValueError, "ValueError: v");
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    CHECK_LOG("outer start", "sub start", "sub finally", "outer finally");
    CHECK_EQ_INT(at("sub finally")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("sub finally")->sub, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("outer finally")->sub, YC_GEN_CLOSED);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

/* Plain iterator with throw: outer throws into it; cfg says what it does. */
static yc_gen *setup_cit(ocfg *cfg, cit *c, const yc_iter_type *t, const yc_exc_type *catch_type,
                         bool yield_after)
{
    log_reset();
    cit_init(c, t, 1, 10, yc_int(8));
    ocfg_init(cfg, &c->it, catch_type, yield_after);
    G_out = mk(outer_fn, cfg, "outer");
    CHECK_ST(yc_next(G_out, NULL), YC_YIELD);
    return G_out;
}

TEST(yf_throw_plain_iterator_yields) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_BaseException, false);
    c.throw_mode = TH_YIELD;
    c.throw_val = yc_int(31);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    const yc_exc *ep = e;
    yc_val v;
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 31);
    CHECK_EQ_INT(c.nthrow, 1);
    CHECK(c.last_thrown == ep);
    CHECK_STR(c.thrown_text, "ValueError: v");
    CHECK_EQ_INT(c.nclose, 0);
    CHECK(yc_gen_yieldfrom(g) == &c.it);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_EQ_INT(at("cit throw")->out, YC_GEN_RUNNING);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    teardown();
}

TEST(yf_throw_plain_iterator_returns) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_BaseException, false);
    c.throw_mode = TH_RETURN;
    c.throw_val = yc_int(41);
    yc_val v;
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 41);
    CHECK_INTV(cfg.r, 41);
    CHECK_EQ_INT(cfg.c.n, 0);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

TEST(yf_throw_custom_raising_stopiteration_completes) /* [7.6] last bullet */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_BaseException, false);
    c.throw_mode = TH_SI_PENDING; /* throw returns YC_RAISE with StopIteration(42) */
    c.throw_val = yc_int(42);
    yc_val v;
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 42); /* the yield from completed with 42; outer yields r */
    CHECK_INTV(cfg.r, 42);
    CHECK_EQ_INT(cfg.c.n, 0); /* nothing raised in outer */
    CHECK(yc_err_get() == NULL);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(c.nthrow, 1);
    CHECK_EQ_INT(c.nclose, 0);
    CHECK_LOG("outer start", "cit next", "cit throw", "yield from returned");
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 99);
    teardown();
}

TEST(yf_throw_custom_raising_stopiteration_outer_returns) /* [7.6] last bullet */
{
    log_reset();
    cit c;
    cit_init(&c, &cit_full, 1, 10, YC_NONE);
    c.throw_mode = TH_SI_PENDING;
    c.throw_val = yc_str("si");
    yc_gen *g = G_out = mk(outer_ret, &c.it, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "k"), &v), YC_RETURN);
    CHECK_VAL(v, yc_str("si"));
    CHECK(yc_err_get() == NULL);
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_throw_plain_iterator_raises_other) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_KeyError, true);
    c.throw_mode = TH_RAISE_OTHER;
    yc_val v;
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_STR(cfg.c.text, "KeyError: 'from cit throw'");
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

TEST(yf_throw_plain_iterator_reraises_same) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, NULL, false);
    c.throw_mode = TH_RERAISE;
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    yc_exc_ref(e);
    yc_val v;
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_ValueError, "ValueError: v");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(c.nclose, 0);
    CHECK_LOG("outer start", "cit next", "cit throw", "outer finally");
    teardown();
}

TEST(yf_throw_iterator_without_throw_raises_in_outer_not_closed) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_no_throw, &yc_ValueError, true);
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    const yc_exc *ep = e;
    yc_val v;
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK(cfg.c.ptr == ep);
    CHECK_STR(cfg.c.text, "ValueError: v");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_EQ_INT(c.nclose, 0); /* not closed */
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_EQ_INT(c.nclose, 0); /* outer no longer delegates: still not closed */
    CHECK_LOG("outer start", "cit next", "outer caught", "outer finally");
    teardown();
}

TEST(yf_throw_iterator_without_throw_uncaught) /* [7.6] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_no_throw, NULL, false);
    yc_exc *e = yc_exc_new(&yc_IndexError, "i");
    yc_exc_ref(e);
    yc_val v;
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_IndexError, "IndexError: i");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_EQ_INT(c.nclose, 0);
    CHECK_EQ_INT(c.nthrow, 0);
    /* the iterator is still usable where it was */
    CHECK_ST(yc_iter_next(&c.it, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    teardown();
}

TEST(yf_throw_list_iterator_raises_in_outer) /* [7.6] */
{
    log_reset();
    yc_val items[3] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *arr = yc_iter_array(items, 3);
    ocfg cfg;
    ocfg_init(&cfg, arr, &yc_ValueError, true);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_STR(cfg.c.text, "ValueError: v");
    CHECK_ST(yc_iter_next(arr, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    yc_iter_free(arr);
    teardown();
}

/* ======================================================================== */
/* 7.7 */

TEST(yf_close_closes_sub_first) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("outer start", "sub start", "sub finally", "outer finally");
    CHECK_EQ_INT(at("sub finally")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("sub finally")->sub, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("outer finally")->out, YC_GEN_RUNNING);
    CHECK_EQ_INT(at("outer finally")->sub, YC_GEN_CLOSED);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

TEST(yf_close_plain_iterator_close_then_generator_exit_in_outer) /* [7.7] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_GeneratorExit, false);
    yc_val v;
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 99); /* outer caught GeneratorExit and returned 99 (3.13) */
    CHECK_EQ_INT(c.nclose, 1);
    CHECK_EQ_INT(c.nthrow, 0); /* GeneratorExit is not thrown into it */
    CHECK_STR(cfg.c.text, "GeneratorExit");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_LOG("outer start", "cit next", "cit close", "outer caught", "outer finally");
    CHECK_EQ_INT(at("cit close")->out, YC_GEN_RUNNING);
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_sub_return_value_discarded) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_return, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v)); /* outer did not catch: None, not sub's 7 */
    CHECK_LOG("outer start", "sub caught GeneratorExit", "outer finally");
    CHECK_INTV(cfg.r, -12345); /* the yield from did not complete */
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_sub_return_discarded_outer_returns_313) /* [7.7] with [5.2] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_return, &yc_GeneratorExit, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 99);
    CHECK_STR(cfg.c.text, "GeneratorExit");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_INTV(cfg.r, -12345);
    CHECK_LOG("outer start", "sub caught GeneratorExit", "outer caught", "outer finally");
    teardown();
}

TEST(yf_close_sub_close_raises_caught_then_outer_ignores) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_raise, &yc_KeyError, true);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_SUSPENDED); /* outer caught KeyError and yielded */
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_STR(sub_c.text, "GeneratorExit");
    CHECK_STR(cfg.c.text, "KeyError: 'k'"); /* E, not GeneratorExit, raised in outer */
    CHECK_STR(cfg.c.ctx, "GeneratorExit"); /* sub's GeneratorExit */
    CHECK_LOG("outer start", "sub finally", "outer caught");
    CHECK_EQ_INT(at("outer caught")->out, YC_GEN_RUNNING);
    /* a second close ends it */
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("outer start", "sub finally", "outer caught", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_sub_close_raises_uncaught) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_raise, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_KeyError, "KeyError: 'k'");
    CHECK_EXC_IS(yc_exc_context(e), &yc_GeneratorExit, "GeneratorExit");
    yc_exc_unref(e);
    CHECK_LOG("outer start", "sub finally", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_plain_iterator_close_raises) /* [7.7] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_KeyError, false);
    c.close_mode = CL_RAISE;
    yc_val v;
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 99); /* outer caught E (not GeneratorExit) and returned (3.13) */
    CHECK_STR(cfg.c.text, "KeyError: 'from cit close'");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_EQ_INT(c.nclose, 1);
    CHECK_EQ_INT(c.nthrow, 0);
    CHECK_LOG("outer start", "cit next", "cit close", "outer caught", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_sub_ignores_generator_exit) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_ignore, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED); /* outer X */
    CHECK_STATE(G_sub, YC_GEN_SUSPENDED); /* sub S */
    CHECK_LOG("outer start", "sub ignores GeneratorExit", "outer finally");
    /* sub is closed for good by a second close (its GeneratorExit escapes) */
    CHECK_ST(yc_close(G_sub, &v), YC_OK);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_sub_ignores_caught_in_outer) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_ignore, &yc_RuntimeError, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 99); /* outer caught the RuntimeError and returned (3.13) */
    CHECK_STR(cfg.c.text, "RuntimeError: generator ignored GeneratorExit");
    CHECK_STATE(G_sub, YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(G_sub, &v), YC_OK);
    teardown();
}

TEST(yf_close_sub_ignores_context_is_callers_exception) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_ignore, NULL, false);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *volatile e = NULL;
    YC_TRY {
        yc_raisef(&yc_IndexError, "outer");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_close(g, NULL), YC_RAISE);
        e = yc_err_take();
    } YC_END;
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EXC_IS(yc_exc_context(e), &yc_IndexError, "IndexError: outer");
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(G_sub, NULL), YC_OK);
    teardown();
}

/* CPython's close() makes each GeneratorExit (PyErr_SetNone) in the caller,
 * so while the caller handles IndexError both sub's and outer's have it as
 * __context__. A GeneratorExit passed to throw() keeps its own (none). */
static void close_or_throw_while_handling(yc_gen *g, bool use_throw, int want)
{
    YC_TRY {
        yc_raisef(&yc_IndexError, "outer");
    } YC_EXCEPT(&yc_IndexError) {
        if (use_throw)
            CHECK_ST(yc_throw(g, yc_exc_new(&yc_GeneratorExit, NULL), NULL), want);
        else
            CHECK_ST(yc_close(g, NULL), want);
    } YC_END;
}

TEST(yf_close_generator_exits_context_is_callers_exception) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_note, &yc_GeneratorExit, false);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    close_or_throw_while_handling(g, false, YC_OK);
    CHECK_LOG("outer start", "sub caught GeneratorExit", "outer caught", "outer finally");
    CHECK_STR(sub_c.text, "GeneratorExit");
    CHECK_STR(sub_c.ctx, "IndexError: outer");
    CHECK_STR(cfg.c.text, "GeneratorExit");
    CHECK_STR(cfg.c.ctx, "IndexError: outer");
    teardown();
}

TEST(yf_throw_generator_exit_context_while_caller_handles) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_ge_note, &yc_GeneratorExit, true);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    close_or_throw_while_handling(g, true, YC_YIELD);
    CHECK_LOG("outer start", "sub caught GeneratorExit", "outer caught");
    CHECK_STR(sub_c.ctx, "IndexError: outer"); /* made by sub.close() */
    CHECK_STR(cfg.c.text, "GeneratorExit");
    CHECK_STR(cfg.c.ctx, "-"); /* the thrown one */
    teardown();
}

TEST(yf_throw_generator_exit_closes_sub_outer_yields) /* [7.7] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, &yc_GeneratorExit, true);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_GeneratorExit, NULL);
    const yc_exc *ep = e;
    CHECK_ST(yc_throw(g, e, &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK(cfg.c.ptr == ep); /* the thrown GeneratorExit is raised in outer */
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_LOG("outer start", "sub start", "sub finally", "outer caught");
    CHECK_EQ_INT(at("sub finally")->out, YC_GEN_RUNNING);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 99);
    teardown();
}

TEST(yf_throw_generator_exit_plain_iterator_closed_not_thrown) /* [7.7] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_full, &yc_GeneratorExit, true);
    yc_val v;
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_GeneratorExit, NULL), &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_EQ_INT(c.nclose, 1);
    CHECK_EQ_INT(c.nthrow, 0);
    CHECK_LOG("outer start", "cit next", "cit close", "outer caught");
    teardown();
}

TEST(yf_throw_generator_exit_uncaught) /* [7.7] with [4.9] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_fin, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_GeneratorExit, NULL);
    yc_exc_ref(e);
    CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_GeneratorExit, "GeneratorExit");
    yc_exc_unref(e);
    CHECK_LOG("outer start", "sub start", "sub finally", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

/* ======================================================================== */
/* 7.8 */

TEST(yf_sub_exception_caught_in_outer) /* [7.8] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_raise, &yc_IndexError, true);
    sub_raised = NULL;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK(sub_raised != NULL && cfg.c.ptr == sub_raised);
    CHECK_STR(cfg.c.text, "IndexError: sub err");
    CHECK_STR(cfg.c.ctx, "-");
    CHECK_LOG("outer start", "sub finally", "outer caught");
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

TEST(yf_sub_exception_uncaught_propagates) /* [7.8] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_raise, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e == sub_raised);
    CHECK_EXC_IS(e, &yc_IndexError, "IndexError: sub err");
    size_t ntb = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    CHECK(ntb >= 2);
    if (ntb >= 2) {
        CHECK_STR(tb[0].where, "sub");
        CHECK_STR(tb[0].func, "sub_raise");
        CHECK_STR(tb[ntb - 1].where, "outer");
    }
    yc_exc_unref(e);
    CHECK_LOG("outer start", "sub finally", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

/* ======================================================================== */
/* 7.9 nested chains: L0 -> L1 -> L2 -> L3 */

#define DEPTH 4
static yc_gen *L[DEPTH];
static yc_gen_state seen[8][DEPTH]; /* states of all levels, seen by L3 */
static int nseen;
static const char *fin_order[DEPTH];
static int nfin;
static caught inner_c;

static void see_all(void)
{
    if (nseen < 8) {
        for (int i = 0; i < DEPTH; i++) seen[nseen][i] = yc_gen_state_of(L[i]);
        nseen++;
    }
}

static yc_val level_fn(void *arg)
{
    intptr_t k = (intptr_t)arg;
    static const char *names[DEPTH] = {"L0 finally", "L1 finally", "L2 finally", "L3 finally"};
    volatile int64_t r = 0;
    YC_TRY {
        if (k < DEPTH - 1) {
            r = yc_yield_from(yc_gen_iter(L[k + 1])).i + 1;
        } else {
            see_all();
            yc_val s = yc_yield(yc_int(1));
            see_all();
            YC_TRY {
                yc_yield(yc_int(s.i * 2));
            } YC_EXCEPT(&yc_ValueError) {
                note_caught(&inner_c);
                see_all();
                yc_yield(yc_int(-1));
            } YC_END;
            r = 10;
        }
    } YC_FINALLY {
        if (k == DEPTH - 1) see_all();
        if (nfin < DEPTH) fin_order[nfin++] = names[k];
    } YC_END;
    return yc_int(r);
}

static void chain_setup(void)
{
    log_reset();
    nseen = nfin = 0;
    memset(&inner_c, 0, sizeof inner_c);
    static const char *names[DEPTH] = {"L0", "L1", "L2", "L3"};
    for (int i = 0; i < DEPTH; i++) L[i] = mk(level_fn, (void *)(intptr_t)i, names[i]);
}

static void chain_teardown(void)
{
    for (int i = 0; i < DEPTH; i++) CHECK_ST(yc_gen_free(L[i]), YC_OK);
}

static void check_seen_all_(const char *file, int line, int row, yc_gen_state want)
{
    if (row >= nseen) {
        test_fail(file, line, "L3 made only %d observations", nseen);
        return;
    }
    for (int i = 0; i < DEPTH; i++)
        if (seen[row][i] != want)
            test_fail(file, line, "observation %d: L%d was %s, want %s", row, i,
                      yc_gen_state_name(seen[row][i]), yc_gen_state_name(want));
}
#define CHECK_SEEN_ALL(row, want) check_seen_all_(__FILE__, __LINE__, (row), (want))

static void check_fin_order_(const char *file, int line)
{
    static const char *want[DEPTH] = {"L3 finally", "L2 finally", "L1 finally", "L0 finally"};
    if (nfin != DEPTH) {
        test_fail(file, line, "%d finally blocks ran, want %d", nfin, DEPTH);
        return;
    }
    for (int i = 0; i < DEPTH; i++)
        if (strcmp(fin_order[i], want[i]) != 0)
            test_fail(file, line, "finally %d was %s, want %s", i, fin_order[i], want[i]);
}
#define CHECK_FIN_ORDER() check_fin_order_(__FILE__, __LINE__)

static void check_chain_suspended(void)
{
    for (int i = 0; i < DEPTH; i++) CHECK_STATE(L[i], YC_GEN_SUSPENDED);
    for (int i = 0; i < DEPTH - 1; i++) CHECK(yc_gen_yieldfrom(L[i]) == yc_gen_iter(L[i + 1]));
    CHECK(yc_gen_yieldfrom(L[DEPTH - 1]) == NULL);
}

TEST(yf_chain_next_send_reach_innermost_all_running) /* [7.9] */
{
    chain_setup();
    yc_val v;
    CHECK_ST(yc_next(L[0], &v), YC_YIELD);
    CHECK_INTV(v, 1);
    check_chain_suspended();
    CHECK_ST(yc_send(L[0], yc_int(21), &v), YC_YIELD); /* passes down to L3 */
    CHECK_INTV(v, 42);
    check_chain_suspended();
    CHECK_ST(yc_next(L[0], &v), YC_RETURN); /* L3 returns 10, each level adds 1 */
    CHECK_INTV(v, 13);
    for (int i = 0; i < DEPTH; i++) CHECK_STATE(L[i], YC_GEN_CLOSED);
    CHECK_EQ_INT(nseen, 3);
    for (int row = 0; row < 3; row++) CHECK_SEEN_ALL(row, YC_GEN_RUNNING);
    CHECK_FIN_ORDER();
    chain_teardown();
}

TEST(yf_chain_throw_reaches_innermost) /* [7.9] */
{
    chain_setup();
    yc_val v;
    CHECK_ST(yc_next(L[0], &v), YC_YIELD);
    CHECK_ST(yc_next(L[0], &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_ValueError, "deep");
    const yc_exc *ep = e;
    CHECK_ST(yc_throw(L[0], e, &v), YC_YIELD);
    CHECK_INTV(v, -1);
    CHECK(inner_c.ptr == ep);
    CHECK_STR(inner_c.text, "ValueError: deep");
    check_chain_suspended();
    CHECK_SEEN_ALL(2, YC_GEN_RUNNING); /* inside L3's except */
    CHECK_EQ_INT(nfin, 0);
    chain_teardown(); /* finalisation closes the chain, innermost first */
    CHECK_FIN_ORDER();
}

TEST(yf_chain_throw_uncaught_unwinds_all) /* [7.9] */
{
    chain_setup();
    yc_val v;
    CHECK_ST(yc_next(L[0], &v), YC_YIELD);
    yc_exc *e = yc_exc_new(&yc_KeyError, "deep");
    yc_exc_ref(e);
    CHECK_ST(yc_throw(L[0], e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_KeyError, "KeyError: 'deep'");
    yc_exc_unref(e);
    CHECK_FIN_ORDER();
    CHECK_SEEN_ALL(1, YC_GEN_RUNNING); /* inside L3's finally */
    for (int i = 0; i < DEPTH; i++) CHECK_STATE(L[i], YC_GEN_CLOSED);
    chain_teardown();
}

TEST(yf_chain_close_reaches_innermost) /* [7.9] */
{
    chain_setup();
    yc_val v;
    CHECK_ST(yc_next(L[0], &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(L[0], &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_FIN_ORDER();
    CHECK_EQ_INT(nseen, 2);
    CHECK_SEEN_ALL(1, YC_GEN_RUNNING); /* inside L3's finally, run by close */
    for (int i = 0; i < DEPTH; i++) CHECK_STATE(L[i], YC_GEN_CLOSED);
    for (int i = 0; i < DEPTH; i++) CHECK(yc_gen_yieldfrom(L[i]) == NULL);
    chain_teardown();
}

/* ======================================================================== */
/* 7.10 */

TEST(yf_sub_advanced_by_third_party) /* [7.10] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_count, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(G_sub, &v), YC_YIELD); /* directly, while outer is S */
    CHECK_INTV(v, 2);
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub));
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* outer sees only later values */
    CHECK_INTV(v, 3);
    CHECK_ST(yc_next(G_sub, &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_ST(yc_next(G_sub, &v), YC_RETURN); /* exhausted by the third party */
    CHECK_INTV(v, 7);
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* outer's yield from: fresh StopIteration() */
    CHECK(yc_is_none(v));
    CHECK(yc_is_none(cfg.r));
    teardown();
}

TEST(yf_throw_stopiteration_into_exhausted_sub_completes) /* [7.6] [7.10] */
{
    /* sub exhausted by a third party: sub.throw(SI(5)) raises SI(5) as is,
     * which completes outer's yield from with 5 (CPython: same) */
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_count, &yc_BaseException, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    while (yc_next(G_sub, &v) == YC_YIELD) {}
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub));
    CHECK_ST(yc_throw(g, yc_exc_new_value(&yc_StopIteration, yc_int(5)), &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_INTV(cfg.r, 5);
    CHECK_EQ_INT(cfg.c.n, 0);
    CHECK(yc_err_get() == NULL);
    teardown();
}

/* ======================================================================== */
/* 7.11 */

static caught self_c;
static yc_gen_state self_state_in_except;

static yc_val yf_self_caught(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield_from(yc_gen_iter(yc_gen_current()));
        rec("not reached");
    } YC_EXCEPT(&yc_ValueError) {
        note_caught(&self_c);
        self_state_in_except = yc_gen_state_of(yc_gen_current());
        rec("caught");
    } YC_END;
    yc_yield(yc_int(9));
    return YC_NONE;
}

TEST(yf_on_itself_already_executing_caught) /* [7.11] */
{
    log_reset();
    memset(&self_c, 0, sizeof self_c);
    yc_gen *g = G_out = mk(yf_self_caught, NULL, "selfish");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 9); /* carries on */
    CHECK_STR(self_c.text, "ValueError: generator already executing");
    CHECK_STR(self_c.ctx, "-");
    CHECK_EQ_INT(self_state_in_except, YC_GEN_RUNNING);
    CHECK_LOG("caught");
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    teardown();
}

static yc_val yf_self_uncaught(void *arg)
{
    (void)arg;
    rec("start");
    yc_yield_from(yc_gen_iter(yc_gen_current()));
    rec("not reached");
    return YC_NONE;
}

TEST(yf_on_itself_already_executing_uncaught) /* [7.11] */
{
    log_reset();
    yc_gen *g = G_out = mk(yf_self_uncaught, NULL, "selfish");
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_LOG("start");
    teardown();
}

/* sub does yield from on its outer, which is R */
static yc_val sub_yf_outer(void *arg)
{
    (void)arg;
    rec("sub start");
    YC_TRY {
        yc_yield_from(yc_gen_iter(G_out));
    } YC_EXCEPT(&yc_ValueError) {
        note_caught(&sub_c);
        rec("sub caught");
    } YC_END;
    yc_yield(yc_int(5));
    return YC_NONE;
}

TEST(yf_on_running_outer_already_executing) /* [7.11] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_yf_outer, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_STR(sub_c.text, "ValueError: generator already executing");
    CHECK_LOG("outer start", "sub start", "sub caught");
    CHECK_EQ_INT(at("sub caught")->out, YC_GEN_RUNNING); /* not corrupted */
    CHECK_STATE(g, YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(g) == yc_gen_iter(G_sub));
    teardown();
}

/* ======================================================================== */
/* 7.12 */

TEST(yf_sub_stopiteration_becomes_runtime_error_in_sub) /* [7.12] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_raise_si, &yc_RuntimeError, true);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 555);
    CHECK_STR(cfg.c.text, "RuntimeError: generator raised StopIteration");
    CHECK_STR(cfg.c.cause, "StopIteration: 3");
    CHECK_STR(cfg.c.ctx, "StopIteration: 3");
    CHECK_INTV(cfg.r, -12345); /* the yield from did not complete with 3 */
    CHECK_LOG("outer start", "sub raising StopIteration", "outer caught");
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_sub_stopiteration_uncaught) /* [7.12] */
{
    ocfg cfg;
    yc_gen *g = setup_gen_sub(&cfg, sub_raise_si, NULL, false);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_EXC_IS(e, &yc_RuntimeError, "RuntimeError: generator raised StopIteration");
    CHECK_EXC_IS(yc_exc_cause(e), &yc_StopIteration, "StopIteration: 3");
    CHECK(yc_exc_suppress_context(e));
    yc_exc_unref(e);
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_STATE(G_sub, YC_GEN_CLOSED);
    teardown();
}

/* ======================================================================== */
/* 7.13 */

TEST(yf_close_iterator_without_close_generator_exit_in_outer) /* [7.13] */
{
    ocfg cfg;
    cit c;
    yc_gen *g = setup_cit(&cfg, &c, &cit_no_close, &yc_GeneratorExit, false);
    yc_val v;
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_INTV(v, 99);
    CHECK_EQ_INT(c.nthrow, 0); /* GeneratorExit is not thrown into it */
    CHECK_STR(cfg.c.text, "GeneratorExit");
    CHECK_LOG("outer start", "cit next", "outer caught", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    teardown();
}

TEST(yf_close_list_iterator_generator_exit_in_outer) /* [7.13] */
{
    log_reset();
    yc_val items[3] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *arr = yc_iter_array(items, 3);
    ocfg cfg;
    ocfg_init(&cfg, arr, NULL, false);
    yc_gen *g = G_out = mk(outer_fn, &cfg, "outer");
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    v = yc_int(77);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_LOG("outer start", "outer finally");
    CHECK_STATE(g, YC_GEN_CLOSED);
    CHECK_ST(yc_iter_next(arr, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    yc_iter_free(arr);
    teardown();
}

TEST_MAIN()
