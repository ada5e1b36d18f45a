/* Issue 14, sections 1 and 3: the traps that gave silently wrong answers,
 * and the cases ported from CPython's own tests (test_itertools,
 * test_contextlib, test_generators, test_exceptions) where yieldc
 * disagreed. Each test names its item as [issue14.N]; where the behaviour is
 * a numbered item of the semantics spec, that number too. */
#include "test_pipe_util.h"
#include "fault_sweep.h"

#include <yieldc/with.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- groupby: a group the groupby moved past is empty ------------------ */

/* CPython:
 *   it = groupby('AAAAABBBCC'); _, a = next(it); _, b = next(it); k, c = next(it)
 *   list(a), list(b), (k, len(list(c)))  ->  [] [] ('C', 2)
 * and a group read before moving on has all its items ('A', 5). */
TEST(issue14_3_groupby_old_groups_are_empty)
{
    const char *s = "AAAAABBBCC";
    yc_val items[10];
    for (int i = 0; i < 10; i++) items[i] = yc_bytes(s + i, 1);
    yc_iter *g = yc_iter_groupby(yc_iter_array(items, 10), NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    yc_iter *a = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    yc_iter *b = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("C"));
    yc_iter *c = yc_tuple_of(v)->items[1].p;
    CHECK(a != b && b != c);
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN); /* [] */
    CHECK_ST(yc_iter_next(b, &v), YC_RETURN); /* [] */
    int n = 0;
    while (yc_iter_next(c, &v) == YC_YIELD) {
        CHECK_VAL(v, yc_str("C"));
        n++;
    }
    CHECK_EQ_INT(n, 2);
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(c, &v), YC_RETURN);
    yc_iter_free(g);

    /* ('A', 5): the first group read before moving on */
    g = yc_iter_groupby(yc_iter_array(items, 10), NULL, NULL);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("A"));
    a = yc_tuple_of(v)->items[1].p;
    n = 0;
    while (yc_iter_next(a, &v) == YC_YIELD) n++;
    CHECK_EQ_INT(n, 5);
    /* a half-read group, then the groupby moves on: the rest is skipped and
     * the old group stays empty */
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    b = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(b, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_VAL(yc_tuple_of(v)->items[0], yc_str("C"));
    CHECK_ST(yc_iter_next(b, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN);
    yc_iter_free(g);
}

/* ---- tee: upstream re-entering its own tee ----------------------------- */

typedef struct tee_ctx {
    yc_iter *branch; /* the branch the generator pulls from inside */
    int st;
    char msg[128];
} tee_ctx;

static yc_val reenter_body(void *arg)
{
    tee_ctx *c = arg;
    yc_yield(yc_int(1));
    yc_val v;
    c->st = yc_iter_next(c->branch, &v);
    yc_exc *e = yc_err_take();
    if (e) yc_exc_format(e, c->msg, sizeof c->msg);
    yc_exc_unref(e);
    yc_yield(yc_int(2));
    return YC_NONE;
}

TEST(issue14_3_tee_reentry_raises)
{
    tee_ctx c = {0};
    yc_iter *br[2];
    CHECK_ST(yc_iter_tee(yc_iter_gen(reenter_body, &c, NULL), 2, 100, br), YC_OK);
    c.branch = br[0];
    yc_val v;
    CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD); /* the generator pulls br[0] inside */
    CHECK_INTV(v, 2);
    CHECK_ST(c.st, YC_RAISE);
    CHECK_STR(c.msg, "RuntimeError: cannot re-enter the tee iterator");
    /* no value served twice, none lost */
    CHECK_ST(yc_iter_next(br[0], &v), YC_RETURN);
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_next(br[1], &v), YC_RETURN);
    yc_iter_free(br[0]);
    yc_iter_free(br[1]);
}

/* ---- islice's messages, checked against CPython 3.11 and 3.13 ---------- */

TEST(issue14_3_islice_messages_as_cpython)
{
    static const char stop[] =
        "ValueError: Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    static const char idx[] =
        "ValueError: Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    static const char step[] = "ValueError: Step for islice() must be a positive integer or None.";
    struct { int64_t a, b, c; const char *msg; } cases[] = {
        {0, -1, 1, stop},            /* islice(it, -1), islice(it, 0, -1) */
        {-1, 5, 1, idx},             /* islice(it, -1, 5) */
        {-1, YC_NO_LIMIT, 1, idx},   /* islice(it, -1, None) */
        {-1, -1, 1, stop},           /* both bad: CPython checks stop first */
        {-1, 5, 0, idx},             /* start before step */
        {0, -1, 0, stop},
        {0, 5, 0, step},
        {1, -1, 1, stop},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK(yc_iter_islice(yc_iter_range(0, 3, 1), cases[i].a, cases[i].b, cases[i].c) == NULL);
        CHECK_EXC(&yc_ValueError, cases[i].msg);
    }
    CHECK(yc_iter_take(yc_iter_range(0, 3, 1), -1) == NULL);
    CHECK_EXC(&yc_ValueError, stop);
    CHECK(yc_iter_drop(yc_iter_range(0, 3, 1), -1) == NULL);
    CHECK_EXC(&yc_ValueError, idx);
}

/* ---- [issue14.1] the same items whoever pulls ---------------------------
 *
 * A callback that formats into one reused buffer: every stage that calls a
 * user callback (or runs a body) and hands its result on, under every kind
 * of consumer, must give item-0, item-1, item-2 as YC_FOREACH does. */

static yc_val fmt_item(void *ctx, yc_val x)
{
    (void)ctx;
    static char buf[32];
    snprintf(buf, sizeof buf, "item-%lld", (long long)x.i);
    return yc_str(buf);
}

static yc_val fmt_acc(void *ctx, yc_val acc, yc_val x)
{
    (void)acc;
    return fmt_item(ctx, x);
}

static yc_iter *one_fmt(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_iter_map(yc_iter_range(x.i, x.i + 1, 1), fmt_item, NULL);
}

static yc_val fmt_stage(yc_stage *s, void *ctx)
{
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, fmt_item(ctx, v));
    return YC_NONE;
}

static yc_val fmt_source(yc_stage *s, void *ctx)
{
    for (int i = 0; i < 3; i++) yc_stage_emit(s, fmt_item(ctx, yc_int(i)));
    return YC_NONE;
}

static yc_iter *mk_map(void) { return yc_iter_map(yc_iter_range(0, 3, 1), fmt_item, NULL); }
static yc_iter *mk_stage(void) { return yc_iter_stage(yc_iter_range(0, 3, 1), fmt_stage, NULL, NULL); }
static yc_iter *mk_source(void) { return yc_iter_source(fmt_source, NULL, NULL); }
static yc_iter *mk_genexpr(void) { return YC_GENEXPR(yc_iter_range(0, 3, 1), .elem = fmt_item); }
static yc_iter *mk_flat(void) { return yc_iter_flat_map(yc_iter_range(0, 3, 1), one_fmt, NULL); }
static yc_iter *mk_accumulate(void)
{
    return yc_iter_accumulate(yc_iter_range(0, 3, 1), fmt_acc, NULL, NULL);
}
/* the predicates' stages pass items through: a formatting map upstream */
static bool yes(void *ctx, yc_val x) { (void)ctx; (void)x; return true; }
static bool no(void *ctx, yc_val x) { (void)ctx; (void)x; return false; }
static yc_iter *mk_filter(void) { return yc_iter_filter(mk_map(), yes, NULL); }
static yc_iter *mk_takewhile(void) { return yc_iter_takewhile(mk_map(), yes, NULL); }
static yc_iter *mk_dropwhile(void) { return yc_iter_dropwhile(mk_map(), no, NULL); }

/* key callbacks formatting into the reused buffer: unique keeps its last key */
static yc_iter *mk_unique(void) { return yc_iter_unique(yc_iter_range(0, 3, 1), fmt_item, NULL); }

static void app(char *out, yc_val v)
{
    size_t n = strlen(out);
    if (n) out[n++] = ',';
    if (yc_type_of(v) == YC_T_BYTES) {
        memcpy(out + n, v.s, yc_len(v));
        out[n + yc_len(v)] = '\0';
    } else {
        snprintf(out + n, 64, "%lld", (long long)v.i);
    }
}

static bool app_each(void *ctx, yc_val x)
{
    app(ctx, x);
    return true;
}

static bool app_false(void *ctx, yc_val x)
{
    app(ctx, x);
    return false;
}

static yc_val app_reduce(void *ctx, yc_val acc, yc_val x)
{
    app(ctx, x);
    return acc;
}

static void app_block(void *ctx, yc_val *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) app(ctx, xs[i]);
}

static yc_val app_stage(yc_stage *s, void *ctx)
{
    yc_val v;
    while (yc_stage_pull(s, &v)) app(ctx, v);
    return YC_NONE;
}

/* Consumes it (a fresh pipeline) the consumer's way; out gets the items. */
static int consume(int how, yc_iter *it, char *out)
{
    out[0] = '\0';
    yc_val v;
    int st = YC_OK;
    int64_t cnt;
    yc_vec vec;
    bool b;
    switch (how) {
    case 0:
        YC_FOREACH(x, it, st) app(out, x);
        break;
    case 1: st = yc_iter_for_each(it, app_each, out); break;
    case 2:
        st = yc_iter_collect(it, &vec);
        for (size_t i = 0; i < vec.len; i++) app(out, vec.items[i]);
        yc_vec_free(&vec);
        break;
    case 3: /* a generator stage pulling blocks */
        it = yc_iter_stage(it, app_stage, out, NULL);
        st = yc_iter_count(it, &cnt);
        break;
    case 4: /* a block callback downstream */
        it = yc_iter_map_batch(it, app_block, out);
        st = yc_iter_count(it, &cnt);
        break;
    case 5: /* a predicate downstream, under a block consumer */
        it = yc_iter_filter(it, app_each, out);
        st = yc_iter_count(it, &cnt);
        break;
    case 6: {
        yc_val zero = yc_int(0);
        st = yc_iter_reduce(it, app_reduce, out, &zero, &v);
        break;
    }
    case 7: st = yc_iter_any(it, app_false, out, &b); break;
    case 8: /* batch holds copies: its tuple reads item by item */
        it = yc_iter_batch(it, 3);
        while ((st = yc_iter_next(it, &v)) == YC_YIELD)
            for (size_t i = 0; i < yc_tuple_of(v)->len; i++) app(out, yc_tuple_of(v)->items[i]);
        break;
    case 9: /* min: the smallest string, item-0 */
        st = yc_iter_min(it, NULL, NULL, &v);
        if (st == YC_OK) app(out, v);
        yc_val_release(v);
        break;
    }
    yc_iter_free(it);
    return st;
}

TEST(issue14_1_same_items_whoever_pulls)
{
    static const struct { const char *name; yc_iter *(*mk)(void); const char *want; } stages[] = {
        {"map", mk_map, "item-0,item-1,item-2"},
        {"stage", mk_stage, "item-0,item-1,item-2"},
        {"source", mk_source, "item-0,item-1,item-2"},
        {"genexpr", mk_genexpr, "item-0,item-1,item-2"},
        {"flat_map", mk_flat, "item-0,item-1,item-2"},
        {"accumulate", mk_accumulate, "0,item-1,item-2"},
        {"filter", mk_filter, "item-0,item-1,item-2"},
        {"takewhile", mk_takewhile, "item-0,item-1,item-2"},
        {"dropwhile", mk_dropwhile, "item-0,item-1,item-2"},
        {"unique", mk_unique, "0,1,2"},
    };
    static const char *consumers[] = {"YC_FOREACH", "for_each", "collect", "stage pull",
                                      "map_batch", "filter", "reduce", "any", "batch", "min"};
    char out[256], what[96];
    /* min with a key formatting into the reused buffer: the keys compared
     * are item-0, item-1, item-2, so the smallest is 0 */
    yc_val best;
    yc_iter *r = yc_iter_range(0, 3, 1);
    CHECK_ST(yc_iter_min(r, fmt_item, NULL, &best), YC_OK);
    CHECK_INTV(best, 0);
    yc_iter_free(r);
    for (size_t s = 0; s < sizeof stages / sizeof stages[0]; s++) {
        for (int c = 0; c < 10; c++) {
            if (c == 9 && s == 5) continue; /* min of 0 and bytes: TypeError, as in Python */
            snprintf(what, sizeof what, "%s under %s", stages[s].name, consumers[c]);
            int st = consume(c, stages[s].mk(), out);
            if (st < 0) yc_err_clear();
            CHECK(st >= 0);
            char first[32];
            snprintf(first, sizeof first, "%.*s", (int)strcspn(stages[s].want, ","), stages[s].want);
            const char *want = c == 9 ? first : stages[s].want;
            if (strcmp(out, want) != 0) {
                fprintf(stderr, "  %s: got %s, want %s\n", what, out, want);
                CHECK(strcmp(out, want) == 0);
            }
        }
    }
}

/* The copies of a block allocate: a failure surfaces as MemoryError from
 * the pull, nothing leaks, and a run without failure gives the items. */
static int collect_fp(yc_iter *it)
{
    yc_vec vec;
    if (!it) return failed();
    int st = yc_iter_collect(it, &vec);
    yc_iter_free(it);
    if (st < 0) return got_exc(yc_err_take());
    for (size_t i = 0; i < vec.len; i++) fp_val(vec.items[i]);
    yc_vec_free(&vec);
    return 0;
}
static int op_map_copies(void) { return collect_fp(mk_map()); }
static int op_stage_copies(void) { return collect_fp(mk_stage()); }

TEST(issue14_1_block_copies_under_allocation_failures)
{
    static const fault_op ops[] = {{"map copies", op_map_copies, NULL},
                                   {"stage copies", op_stage_copies, NULL}};
    sweep_all(ops, 2);
}

/* ---- [issue14.3] try: return f() finally: cleanup() -------------------- */

static char trail[256];
static void note(const char *s) { strcat(trail, s); }

static int five(void) { note("f,"); return 5; }
static int boom(void) { note("f,"); yc_raisef(&yc_ValueError, "boom"); }

static int ret_simple(int (*f)(void))
{
    YC_TRY {
        YC_RETURN(f());
    } YC_EXCEPT(&yc_ValueError) {
        note("except,");
    } YC_FINALLY {
        note("finally,");
    } YC_END;
    note("after,");
    return -1;
}

static int ret_nested(void)
{
    YC_TRY {
        note("outer,");
        YC_TRY {
            note("inner,");
            YC_RETURN(7);
        } YC_FINALLY {
            note("inner-finally,");
        } YC_END;
        note("not here,");
    } YC_FINALLY {
        note("outer-finally,");
    } YC_END;
    return -1;
}

static yc_val ret_from_handler(void)
{
    YC_TRY {
        yc_raisef(&yc_KeyError, "k");
    } YC_EXCEPT(&yc_KeyError) {
        YC_RETURN(yc_int(3));
    } YC_FINALLY {
        note(yc_exc_current() ? "finally sees an exception," : "finally sees none,");
    } YC_END;
    return YC_NONE;
}

static double ret_from_finally(void)
{
    YC_TRY {
        yc_raisef(&yc_ValueError, "swallowed");
    } YC_FINALLY {
        YC_RETURN(2.5); /* Python: return in finally discards the exception */
    } YC_END;
    return -1;
}

static int ret_finally_raises(void)
{
    YC_TRY {
        YC_RETURN(1);
    } YC_FINALLY {
        yc_raisef(&yc_RuntimeError, "from finally");
    } YC_END;
    return -1;
}

static void ret_void(int *hit)
{
    YC_TRY {
        *hit = 1;
        YC_RETURN_VOID();
    } YC_FINALLY {
        note("void-finally,");
    } YC_END;
    *hit = 2;
}

static int ret_plain(void) { YC_RETURN(9); }

static int ret_recursive(int n)
{
    YC_TRY {
        if (n == 0) YC_RETURN(0);
        int r = ret_recursive(n - 1);
        YC_RETURN(r + 1);
    } YC_FINALLY {
        char b[16];
        snprintf(b, sizeof b, "r%d,", n);
        note(b);
    } YC_END;
    return -1;
}

static int trace_enter(yc_cm *cm, yc_val *out)
{
    (void)cm;
    note("enter,");
    *out = YC_NONE;
    return YC_OK;
}
static int trace_exit(yc_cm *cm, yc_exc *e)
{
    (void)cm;
    note(e ? "exit with exception," : "exit,");
    return YC_EXIT_PROPAGATE;
}
static const yc_cm_type trace_type = {.name = "trace", .enter = trace_enter, .exit = trace_exit};

static int ret_through_with(yc_cm *cm)
{
    YC_TRY {
        YC_WITH_BORROWED(cm, v) {
            note("body,");
            YC_RETURN(11);
        } YC_END_WITH;
    } YC_FINALLY {
        note("finally,");
    } YC_END;
    return -1;
}

TEST(issue14_3_return_runs_pending_finally_blocks)
{
    trail[0] = 0;
    CHECK_EQ_INT(ret_simple(five), 5);
    CHECK_STR(trail, "f,finally,");
    trail[0] = 0;
    CHECK_EQ_INT(ret_simple(boom), -1); /* f raised: handled, no return */
    CHECK_STR(trail, "f,except,finally,after,");
    trail[0] = 0;
    CHECK_EQ_INT(ret_nested(), 7);
    CHECK_STR(trail, "outer,inner,inner-finally,outer-finally,");
    trail[0] = 0;
    CHECK_VAL(ret_from_handler(), yc_int(3));
    CHECK_STR(trail, "finally sees none,");
    CHECK(yc_exc_current() == NULL);
    CHECK(ret_from_finally() == 2.5);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(ret_plain(), 9);
    trail[0] = 0;
    int hit = 0;
    ret_void(&hit);
    CHECK_EQ_INT(hit, 1);
    CHECK_STR(trail, "void-finally,");
    trail[0] = 0;
    CHECK_EQ_INT(ret_recursive(3), 3);
    CHECK_STR(trail, "r0,r1,r2,r3,");
    /* a finally block raising cancels the return */
    volatile int got = 0;
    YC_TRY {
        got = ret_finally_raises();
    } YC_EXCEPT(&yc_RuntimeError) {
        got = -7;
    } YC_END;
    CHECK_EQ_INT(got, -7);
    /* the caller's finally runs once, after the callee returned */
    trail[0] = 0;
    YC_TRY {
        CHECK_EQ_INT(ret_simple(five), 5);
        note("caller,");
    } YC_FINALLY {
        note("caller-finally,");
    } YC_END;
    CHECK_STR(trail, "f,finally,caller,caller-finally,");
    /* through a YC_WITH: its exit runs, without an exception, before the
     * enclosing finally */
    yc_cm cm = {&trace_type};
    trail[0] = 0;
    CHECK_EQ_INT(ret_through_with(&cm), 11);
    CHECK_STR(trail, "enter,body,exit,finally,");
}

/* ---- [issue14.3] a reusable manager entered twice ----------------------
 *
 *   cm = suppress(KeyError)
 *   with cm: raise KeyError   # suppressed
 *   with cm: raise KeyError   # suppressed again: suppress is reusable */
static yc_val one_yield(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    return YC_NONE;
}

TEST(issue14_3_reusable_manager_entered_twice)
{
    const yc_exc_type *types[] = {&yc_KeyError};
    yc_cm *cm = yc_cm_suppress_n(types, 1);
    CHECK(cm != NULL);
    volatile int after = 0;
    for (int i = 0; i < 2; i++) {
        YC_WITH_BORROWED(cm, v) {
            yc_raisef(&yc_KeyError, "k");
        } YC_END_WITH;
        after++;
    }
    CHECK_EQ_INT(after, 2);
    /* not suppressed: propagates, and the manager is still the caller's */
    volatile int caught = 0;
    YC_TRY {
        YC_WITH_BORROWED(cm, v) {
            yc_raisef(&yc_ValueError, "v");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        caught = 1;
    } YC_END;
    CHECK_EQ_INT(caught, 1);
    yc_cm_free(cm);

    /* a manager of our own counts its enters and exits, and is not freed */
    yc_cm tc = {&trace_type};
    trail[0] = 0;
    YC_WITH_BORROWED(&tc, v) { note("one,"); } YC_END_WITH;
    YC_WITH_BORROWED(&tc, v) { note("two,"); } YC_END_WITH;
    CHECK_STR(trail, "enter,one,exit,enter,two,exit,");

    /* [9.10] a generator-based manager is single use: the second enter fails */
    yc_cm *g = yc_cm_gen_new(one_yield, NULL, NULL);
    YC_WITH_BORROWED(g, v) { note("gen,"); } YC_END_WITH;
    char msg[128] = "";
    YC_TRY {
        YC_WITH_BORROWED(g, v) { note("never,"); } YC_END_WITH;
    } YC_EXCEPT(&yc_RuntimeError) {
        yc_exc_format(yc_exc_current(), msg, sizeof msg);
    } YC_END;
    CHECK_STR(msg, "RuntimeError: cannot enter a generator-based context manager twice");
    yc_cm_free(g);

    /* a NULL manager raises the pending error, as YC_WITH does */
    caught = 0;
    YC_TRY {
        YC_WITH_BORROWED(NULL, v) { note("never,"); } YC_END_WITH;
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
    } YC_END;
    CHECK_EQ_INT(caught, 1);
}

/* ---- [issue14.3] e.__context__ = None ----------------------------------- */

static void print_to(const yc_exc *e, char *buf, size_t n)
{
    FILE *f = fmemopen(buf, n, "w");
    yc_exc_print(e, f);
    fclose(f);
}

TEST(issue14_3_set_context_explicitly)
{
    yc_exc *e = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "a");
        } YC_EXCEPT(&yc_KeyError) {
            yc_raisef(&yc_ValueError, "b");
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        e = yc_exc_ref(yc_exc_current());
    } YC_END;
    CHECK(yc_exc_is(yc_exc_context(e), &yc_KeyError));
    char out[1024];
    print_to(e, out, sizeof out);
    CHECK(strstr(out, "During handling") != NULL);
    yc_exc_set_context(e, NULL); /* e.__context__ = None */
    CHECK(yc_exc_context(e) == NULL);
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(!yc_exc_suppress_context(e));
    print_to(e, out, sizeof out);
    CHECK(strstr(out, "During handling") == NULL);
    CHECK(strstr(out, "KeyError") == NULL);
    CHECK(strstr(out, "ValueError: b\n") != NULL);
    /* e.__context__ = TypeError('t'): printed first, as CPython does */
    yc_exc_set_context(e, yc_exc_new(&yc_TypeError, "t"));
    print_to(e, out, sizeof out);
    CHECK(strncmp(out, "TypeError: t\n\nDuring handling of the above exception, another exception "
                       "occurred:\n\nTraceback (most recent call last):\n", 118) == 0);
    /* misuse: a cycle is refused (ctx released), a foreign pointer ignored,
     * a NULL e releases ctx */
    yc_exc *t = yc_exc_ref(yc_exc_context(e));
    yc_exc_set_context(t, yc_exc_ref(e)); /* t -> e -> t */
    CHECK(yc_exc_context(t) == NULL);
    yc_exc_set_context(e, yc_exc_ref(e)); /* e itself: refused, the reference released */
    CHECK(yc_exc_context(e) == t);
    int foreign = 0;
    yc_exc_set_context(e, (yc_exc *)&foreign);
    CHECK(yc_exc_context(e) == t);
    yc_exc_set_context(NULL, yc_exc_new(&yc_KeyError, "released"));
    yc_exc_unref(t);
    yc_exc_unref(e);
}

/* ---- [issue14.3][10.1] nested generator expressions -------------------
 *   list((i, j) for i in [1, 2, 3, 4] for j in range(i) if j != i - 2)
 *   -> [(1, 0), (2, 1), (3, 0), (3, 2), (4, 0), (4, 1), (4, 3)] */

typedef struct pair_ctx {
    yc_tuple *tup; /* storage for the element: valid until the next pull */
    int calls;
} pair_ctx;

static yc_iter *range_to(void *ctx, yc_val i)
{
    (void)ctx;
    return yc_iter_range(0, i.i, 1);
}

static bool not_i_minus_2(void *ctx, yc_val i, yc_val j)
{
    (void)ctx;
    return j.i != i.i - 2;
}

static yc_val pair(void *ctx, yc_val i, yc_val j)
{
    pair_ctx *p = ctx;
    p->calls++;
    p->tup->items[0] = i;
    p->tup->items[1] = j;
    return yc_tuple_val(p->tup);
}

TEST(issue14_3_nested_genexpr_inner_depends_on_outer)
{
    pair_ctx pc = {malloc(sizeof(yc_tuple) + 2 * sizeof(yc_val)), 0};
    pc.tup->len = 2;
    yc_val a[] = {yc_int(1), yc_int(2), yc_int(3), yc_int(4)};
    yc_iter *g = YC_GENEXPR(yc_iter_array(a, 4), .inner = range_to, .inner_cond_xy = not_i_minus_2,
                            .elem_xy = pair, .ctx = &pc);
    char out[256] = "";
    yc_val v;
    while (yc_iter_next(g, &v) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        char b[32];
        snprintf(b, sizeof b, "(%lld, %lld), ", (long long)t->items[0].i, (long long)t->items[1].i);
        strcat(out, b);
    }
    CHECK_STR(out, "(1, 0), (2, 1), (3, 0), (3, 2), (4, 0), (4, 1), (4, 3), ");
    CHECK_EQ_INT(pc.calls, 7);
    CHECK_STR(yc_iter_name(g), "generator");
    yc_iter_free(g);
    /* the two-variable callbacks need a second loop */
    CHECK(YC_GENEXPR(yc_iter_array(a, 4), .elem_xy = pair, .ctx = &pc) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: genexpr: elem_xy and inner_cond_xy need an inner loop");
    free(pc.tup);
}

/* ---- [issue14.3][5.10] ignoring GeneratorExit when freed ---------------- */

static int stubborn_line;
static yc_val stubborn(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        stubborn_line = __LINE__; yc_yield(yc_int(2)); /* ignores GeneratorExit */
    } YC_END;
    return YC_NONE;
}

static char unraisable_text[2048];
static char unraisable_obj[256];
static void capture_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    snprintf(unraisable_obj, sizeof unraisable_obj, "%s", obj);
    print_to(e, unraisable_text, sizeof unraisable_text);
}

TEST(issue14_3_sec5_10_ignored_generator_exit_has_a_traceback)
{
    yc_gen_opts o = {.name = "stubborn"};
    yc_gen *g = yc_gen_new(stubborn, NULL, &o);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    unraisable_text[0] = 0;
    yc_set_unraisable_hook(capture_unraisable, NULL);
    yc_gen_free(g);
    yc_set_unraisable_hook(NULL, NULL);
    CHECK(strncmp(unraisable_obj, "<generator object stubborn at 0x", 32) == 0);
    char want[256];
    snprintf(want, sizeof want,
             "Traceback (most recent call last):\n  File \"%s\", line %d, in stubborn (generator 'stubborn')\n"
             "RuntimeError: generator ignored GeneratorExit\n",
             __FILE__, stubborn_line);
    CHECK_STR(unraisable_text, want);
}

/* ---- [issue14.3] a stage over a source the caller keeps using ------------
 *   it = gen(); head = list(islice(it, 3)); rest = list(it)
 *   -> [0, 1, 2] [3, ..., 9], and gen's finally runs once, at its end */
static yc_val fail_on_4(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 4) yc_raisef(&yc_ValueError, "4");
    return x;
}

TEST(issue14_3_borrowed_source_stays_usable)
{
    tsrc t;
    tsrc_init(&t, 10);
    yc_iter *src = tsrc_iter(&t);
    yc_iter *head = yc_iter_take(yc_iter_borrow(src), 3);
    yc_vec v;
    CHECK_ST(yc_iter_collect(head, &v), YC_OK); /* the block path */
    CHECK_EQ_INT((int)v.len, 3);
    CHECK_INTV(v.items[2], 2);
    yc_vec_free(&v);
    yc_iter_free(head);
    CHECK_EQ_INT(t.finally_runs, 0); /* not closed */
    CHECK_EQ_INT(t.produced, 3);     /* and nothing pulled past the third */
    int64_t got[16];
    size_t n;
    /* a map whose callback raised: the map ends, the source goes on */
    yc_iter *m = yc_iter_map(yc_iter_borrow(src), fail_on_4, NULL);
    yc_val x;
    CHECK_ST(yc_iter_next(m, &x), YC_YIELD);
    CHECK_INTV(x, 3);
    CHECK_ST(yc_iter_next(m, &x), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: 4");
    yc_iter_free(m);
    CHECK_ST(pull_all(src, got, 16, &n), YC_RETURN);
    CHECK_EQ_INT((int)n, 5);
    CHECK_EQ_INT((int)got[0], 5);
    CHECK_EQ_INT((int)got[4], 9);
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(src);
    /* a closed view ends; NULL keeps the pending error */
    src = yc_iter_range(0, 3, 1);
    yc_iter *b = yc_iter_borrow(src);
    CHECK_STR(yc_iter_name(b), "borrow");
    CHECK_ST(yc_iter_close(b, NULL), YC_OK);
    CHECK_ST(yc_iter_next(b, &x), YC_RETURN);
    CHECK_ST(yc_iter_next(src, &x), YC_YIELD);
    CHECK_INTV(x, 0);
    yc_iter_free(b);
    yc_iter_free(src);
    CHECK(yc_iter_borrow(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: borrow: iterator is NULL");
}

/* A YC_RETURN whose finally block yields, in a generator closed and freed
 * there: nothing leaks (the record is released with the frame). */
static yc_val yield_in_returning_finally_body(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_RETURN(yc_int(1));
    } YC_FINALLY {
        YC_TRY {
            yc_yield(yc_int(2)); /* suspended while returning */
        } YC_EXCEPT_ANY {
            yc_yield(yc_int(3)); /* ignores GeneratorExit */
        } YC_END;
    } YC_END;
    return YC_NONE;
}

static void quiet_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    ++*(int *)ud;
}

TEST(issue14_3_return_suspended_in_finally)
{
    yc_gen *g = yc_gen_new(yield_in_returning_finally_body, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_next(g, &v), YC_RETURN); /* the return completes */
    CHECK_INTV(v, 1);
    yc_gen_free(g);
    /* freed while suspended in that finally: GeneratorExit cancels the
     * return; the second yield ignores it, the frame is abandoned */
    fault_begin(0, 0); /* counts the library's allocations */
    g = yc_gen_new(yield_in_returning_finally_body, NULL, NULL);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    int reports = 0;
    yc_set_unraisable_hook(quiet_unraisable, &reports);
    yc_gen_free(g);
    yc_set_unraisable_hook(NULL, NULL);
    fault_end();
    CHECK_EQ_INT(reports, 1);
    CHECK_EQ_INT((int)fc.mallocs, (int)fc.frees);
}

TEST_MAIN()
