/* The stages named after Python's builtins and itertools go on after an
 * error, as CPython's do (issue 14 §3): map, filter, takewhile, dropwhile
 * and accumulate hand the error to the consumer and the next pull goes on
 * with the next item, the same items whichever consumer pulls (issue 14
 * §1): yc_iter_next, YC_FOREACH, next_batch of any size, and the reducers,
 * which stop at the first error as Python's list() and sum() do and leave
 * the stage where it stopped. Each expected trace is what /usr/bin/python3
 * prints for the line in its comment. */
#include "test_pipe_util.h"
#include "fault_sweep.h"

enum { END = -2000, ERR = -1000 }; /* ERR - n: ValueError("bad n") */

typedef struct trace {
    int64_t v[64];
    size_t n;
} trace;

static void push(trace *t, int64_t x)
{
    if (t->n < 64) t->v[t->n] = x;
    t->n++;
}

/* The pending error as ERR - n, checked: ValueError("bad n") with the
 * stage's traceback entry. */
static int64_t take_err(const char *stage)
{
    yc_exc *e = yc_err_take();
    if (!e) {
        test_fail(__FILE__, __LINE__, "a raise with no pending exception");
        return 0;
    }
    char buf[256];
    yc_exc_format(e, buf, sizeof buf);
    int n = -1;
    if (yc_exc_type_of(e) != &yc_ValueError || sscanf(buf, "ValueError: bad %d", &n) != 1)
        test_fail(__FILE__, __LINE__, "unexpected exception: %s", buf);
    if (!tb_has_stage(e, stage)) test_fail(__FILE__, __LINE__, "traceback without %s", stage);
    yc_exc_unref(e);
    return ERR - n;
}

/* ---- the callbacks: each raises ValueError("bad x") when x % 4 == 2 ---- */

static bool bad(yc_val x) { return x.i % 4 == 2; }

static yc_val t10(void *ctx, yc_val x)
{
    (void)ctx;
    if (bad(x)) yc_raisef(&yc_ValueError, "bad %lld", (long long)x.i);
    return yc_int(x.i * 10);
}

static bool even(void *ctx, yc_val x)
{
    (void)ctx;
    if (bad(x)) yc_raisef(&yc_ValueError, "bad %lld", (long long)x.i);
    return x.i % 2 == 0;
}

static bool lt5(void *ctx, yc_val x)
{
    (void)ctx;
    if (bad(x)) yc_raisef(&yc_ValueError, "bad %lld", (long long)x.i);
    return x.i < 5;
}

static yc_val add(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    if (bad(x)) yc_raisef(&yc_ValueError, "bad %lld", (long long)x.i);
    return yc_int(acc.i + x.i);
}

static yc_val inc_bad2(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 2) yc_raisef(&yc_ValueError, "bad 2");
    return yc_int(x.i + 1);
}

static yc_val times10(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_int(x.i * 10);
}

/* ---- the cases ------------------------------------------------------------ */

typedef struct gocase {
    const char *name;  /* the stage named in the traceback */
    yc_iter *(*make)(yc_iter *src);
    int64_t n;         /* the source: range(n) */
    trace items;       /* pulled item by item, as next() in Python */
    trace list;        /* list(it) again after each error */
    trace sum;         /* sum(it) again after each error */
} gocase;

static yc_iter *mk_map(yc_iter *s) { return yc_iter_map(s, t10, NULL); }
static yc_iter *mk_filter(yc_iter *s) { return yc_iter_filter(s, even, NULL); }
static yc_iter *mk_takewhile(yc_iter *s) { return yc_iter_takewhile(s, lt5, NULL); }
static yc_iter *mk_dropwhile(yc_iter *s) { return yc_iter_dropwhile(s, lt5, NULL); }
static yc_iter *mk_accumulate(yc_iter *s) { return yc_iter_accumulate(s, add, NULL, NULL); }
static yc_iter *mk_map_map(yc_iter *s)
{
    return yc_iter_map(yc_iter_map(s, inc_bad2, NULL), times10, NULL);
}

#define T(...) {{__VA_ARGS__}, sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)}

static const gocase cases[] = {
    /* m = map(t10, range(10)): next() -> 0, 10, bad 2, 30, 40, 50, bad 6, 70, 80, 90;
     * list(m) -> bad 2, bad 6, [70, 80, 90]; sum(m) -> bad 2, bad 6, 240;
     * max(m) -> bad 2, bad 6, 90 (max is checked for every case, from list) */
    {"map", mk_map, 10, T(0, 10, ERR - 2, 30, 40, 50, ERR - 6, 70, 80, 90, END),
     T(ERR - 2, ERR - 6, 70, 80, 90, END), T(ERR - 2, ERR - 6, 240, END)},
    /* filter(even, range(10)) -> 0, bad 2, 4, bad 6, 8; list -> bad 2, bad 6, [8] */
    {"filter", mk_filter, 10, T(0, ERR - 2, 4, ERR - 6, 8, END), T(ERR - 2, ERR - 6, 8, END),
     T(ERR - 2, ERR - 6, 8, END)},
    /* takewhile(lt5, range(10)) -> 0, 1, bad 2, 3, 4; list -> bad 2, [3, 4]; sum -> 7 */
    {"takewhile", mk_takewhile, 10, T(0, 1, ERR - 2, 3, 4, END), T(ERR - 2, 3, 4, END),
     T(ERR - 2, 7, END)},
    /* dropwhile(lt5, range(10)) -> bad 2, 5, 6, 7, 8, 9 (still dropping after
     * the error); list -> bad 2, [5..9]; sum -> 35 */
    {"dropwhile", mk_dropwhile, 10, T(ERR - 2, 5, 6, 7, 8, 9, END), T(ERR - 2, 5, 6, 7, 8, 9, END),
     T(ERR - 2, 35, END)},
    /* accumulate(range(10), add) -> 0, 1, bad 2, 4, 8, 13, bad 6, 20, 28, 37
     * (the total is kept across the error); sum -> bad 2, bad 6, 85 */
    {"accumulate", mk_accumulate, 10, T(0, 1, ERR - 2, 4, 8, 13, ERR - 6, 20, 28, 37, END),
     T(ERR - 2, ERR - 6, 20, 28, 37, END), T(ERR - 2, ERR - 6, 85, END)},
    /* map(lambda y: y * 10, map(inc_bad2, range(6))) -> 10, 20, bad 2, 40, 50, 60:
     * the outer map passes the inner one's error on and goes on */
    {"map", mk_map_map, 6, T(10, 20, ERR - 2, 40, 50, 60, END), T(ERR - 2, 40, 50, 60, END),
     T(ERR - 2, 150, END)},
};

enum { C_NEXT, C_FOREACH, C_FOR_EACH, C_BATCH1, C_BATCH3, C_BATCH_FULL, C_LIST, C_SUM, C_MAX,
       NCONS };
static const char *const cons_name[NCONS] = {
    "yc_iter_next",  "YC_FOREACH",      "yc_iter_for_each", "next_batch(1)", "next_batch(3)",
    "next_batch(YC_BATCH)", "yc_iter_collect", "yc_iter_sum",   "yc_iter_max"};

static bool each_push(void *ctx, yc_val x)
{
    push(ctx, x.i);
    return true;
}

/* max(it) again after each error: the list trace with the last list's
 * items replaced by their largest (every trace here ascends). */
static trace max_trace(const trace *list)
{
    trace t = {{0}, 0};
    size_t i = 0;
    while (i < list->n && list->v[i] <= ERR && list->v[i] > END) push(&t, list->v[i++]);
    if (i + 1 < list->n) push(&t, list->v[list->n - 2]);
    push(&t, END);
    return t;
}

/* Pulls `it` to its end with consumer c, errors recorded, into t. */
static void consume(int c, yc_iter *it, const char *stage, trace *t)
{
    for (int round = 0; round < 40; round++) {
        int st;
        if (c == C_NEXT) {
            yc_val v;
            st = yc_iter_next(it, &v);
            if (st == YC_YIELD) push(t, v.i);
        } else if (c == C_FOREACH) {
            YC_FOREACH(v, it, st) push(t, v.i);
        } else if (c == C_FOR_EACH) {
            st = yc_iter_for_each(it, each_push, t);
            if (st == YC_OK) st = YC_RETURN;
        } else if (c == C_MAX) {
            yc_val m;
            st = yc_iter_max(it, NULL, NULL, &m);
            if (st == YC_OK) {
                push(t, m.i);
                yc_val_release(m);
                st = YC_RETURN;
            }
        } else if (c == C_LIST) {
            yc_vec vec;
            st = yc_iter_collect(it, &vec);
            if (st == YC_OK) {
                for (size_t i = 0; i < vec.len; i++) push(t, vec.items[i].i);
                yc_vec_free(&vec);
                st = YC_RETURN;
            }
        } else if (c == C_SUM) {
            yc_val s;
            st = yc_iter_sum(it, yc_int(0), &s);
            if (st == YC_OK) {
                push(t, s.i);
                st = YC_RETURN;
            }
        } else {
            yc_val buf[YC_BATCH];
            size_t cap = c == C_BATCH1 ? 1 : c == C_BATCH3 ? 3 : YC_BATCH, k = 0;
            st = yc_iter_next_batch(it, buf, cap, &k);
            for (size_t i = 0; i < k; i++) push(t, buf[i].i);
        }
        if (st == YC_RETURN) {
            push(t, END);
            return;
        }
        if (st < 0) push(t, take_err(stage));
    }
    test_fail(__FILE__, __LINE__, "%s: no end after 40 pulls", cons_name[c]);
}

static void check_trace(const trace *got, const trace *want, const char *what, int c, int src)
{
    bool same = got->n == want->n;
    for (size_t i = 0; same && i < got->n && i < 64; i++) same = got->v[i] == want->v[i];
    if (same) return;
    char g[512] = "", w[512] = "";
    for (size_t i = 0; i < got->n && i < 64; i++)
        snprintf(g + strlen(g), sizeof g - strlen(g), " %lld", (long long)got->v[i]);
    for (size_t i = 0; i < want->n; i++)
        snprintf(w + strlen(w), sizeof w - strlen(w), " %lld", (long long)want->v[i]);
    test_fail(__FILE__, __LINE__, "%s under %s (source %s): got%s, want%s", what, cons_name[c],
              src ? "generator" : "range", g, w);
}

TEST(builtin_stages_go_on_after_an_error_under_every_consumer)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const gocase *gc = &cases[i];
        for (int src = 0; src < 2; src++) { /* range (block path) and a generator */
            for (int c = 0; c < NCONS; c++) {
                tsrc ts;
                tsrc_init(&ts, gc->n);
                yc_iter *s = src ? tsrc_iter(&ts) : yc_iter_range(0, gc->n, 1);
                yc_iter *it = gc->make(s);
                CHECK(it != NULL);
                if (!it) continue;
                trace got = {{0}, 0};
                consume(c, it, gc->name, &got);
                trace mx = max_trace(&gc->list);
                const trace *want = c == C_LIST  ? &gc->list
                                    : c == C_SUM ? &gc->sum
                                    : c == C_MAX ? &mx
                                                 : &gc->items;
                check_trace(&got, want, gc->name, c, src);
                yc_iter_free(it);
                if (src) CHECK_EQ_INT(ts.finally_runs, 1); /* ended or closed, once */
            }
        }
    }
}

/* Every block size gives the per-item trace, the failing item at any place
 * in a block (first, middle, last). */
TEST(builtin_stages_same_items_for_every_block_size)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t cap = 1; cap <= 12; cap++) {
            yc_iter *it = cases[i].make(yc_iter_range(0, cases[i].n, 1));
            trace got = {{0}, 0};
            for (int round = 0; round < 40; round++) {
                yc_val buf[12];
                size_t k = 0;
                int st = yc_iter_next_batch(it, buf, cap, &k);
                for (size_t j = 0; j < k; j++) push(&got, buf[j].i);
                if (st == YC_RETURN) {
                    push(&got, END);
                    break;
                }
                if (st < 0) push(&got, take_err(cases[i].name));
            }
            check_trace(&got, &cases[i].items, cases[i].name, C_BATCH3, 0);
            yc_iter_free(it);
        }
    }
}

/* The state a reducer leaves: sum(m) raises at the first error; the map
 * object then goes on after the failing item, whichever path the reducer
 * took. m = map(t10, range(10)); sum(m) -> ValueError: bad 2; next(m) -> 30 */
TEST(reducer_stops_at_the_error_and_the_stage_goes_on_after_it)
{
    yc_iter *m = yc_iter_map(yc_iter_range(0, 10, 1), t10, NULL);
    yc_val s, v;
    CHECK_ST(yc_iter_sum(m, yc_int(0), &s), YC_RAISE);
    CHECK_EQ_INT(take_err("map"), ERR - 2);
    CHECK_ST(yc_iter_next(m, &v), YC_YIELD);
    CHECK_INTV(v, 30);
    int64_t c = 0;
    CHECK_ST(yc_iter_count(m, &c), YC_RAISE); /* 40, 50, then bad 6 */
    CHECK_EQ_INT(take_err("map"), ERR - 6);
    CHECK_ST(yc_iter_count(m, &c), YC_OK); /* 70, 80, 90 */
    CHECK_EQ_INT(c, 3);
    CHECK_ST(yc_iter_next(m, &v), YC_RETURN);
    yc_iter_free(m);
}

/* A generator upstream that raised has ended (10.3): map passes the error
 * on and then ends with it, as Python's map over such a generator does.
 *   def g(): yield 0; yield 1; raise ValueError("source failed")
 *   m = map(f, g()): next -> 0, 10, ValueError, StopIteration */
TEST(upstream_generator_error_then_end_10_3)
{
    tsrc ts;
    tsrc_init(&ts, 10);
    ts.raise_at = 2;
    yc_iter *m = yc_iter_map(tsrc_iter(&ts), times10, NULL);
    int64_t got[8];
    size_t n = 0;
    CHECK_ST(pull_all(m, got, 8, &n), YC_RAISE);
    CHECK_INTS(got, n, 0, 10);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: source failed", "map");
    CHECK_EQ_INT(ts.finally_runs, 1);
    CHECK_ST(yc_iter_next(m, NULL), YC_RETURN); /* [10.3] */
    yc_iter_free(m);
}

/* Closing or freeing a stage that holds a failed block's rest and its
 * exception releases both (the leak check of every test sees them). */
TEST(close_and_free_with_a_held_error_and_rest)
{
    for (int how = 0; how < 2; how++) {
        yc_iter *f = yc_iter_filter(yc_iter_range(0, 100, 1), even, NULL);
        yc_val buf[8];
        size_t k = 0;
        CHECK_ST(yc_iter_next_batch(f, buf, 8, &k), YC_YIELD); /* 0, then bad 2 is held */
        CHECK_EQ_INT(k, 1);
        if (how == 0) {
            CHECK_ST(yc_iter_close(f, NULL), YC_OK);
            CHECK_ST(yc_iter_next(f, NULL), YC_RETURN); /* closed: nothing held any more */
        }
        yc_iter_free(f);
    }
}

/* Allocation failures around a failed block: keeping its rest, holding its
 * exception, the exception itself. Each run gives the items and errors of
 * the run without failures, or MemoryError (fault_sweep.h); nothing leaks.
 * The Python behaviour is that of builtin_stages_go_on_... above. */
static int goon_op(void)
{
    yc_iter *its[2] = {NULL, NULL};
    int r = 0;
    for (int w = 0; w < 2 && r == 0; w++) {
        its[w] = w ? yc_iter_map(yc_iter_range(0, 20, 1), t10, NULL)
                   : yc_iter_filter(yc_iter_range(0, 20, 1), even, NULL);
        if (!its[w]) {
            r = failed();
            break;
        }
        for (int round = 0; round < 60 && r == 0; round++) {
            yc_val buf[8];
            size_t k = 0;
            int st = yc_iter_next_batch(its[w], buf, 8, &k);
            for (size_t i = 0; i < k; i++) fp_val(buf[i]);
            if (st == YC_RETURN) break;
            if (st < 0) r = got_exc(yc_err_take());
        }
    }
    yc_iter_free(its[0]);
    yc_iter_free(its[1]);
    return r;
}

TEST(allocation_failures_around_a_failed_block)
{
    static const fault_op ops[] = {{"filter, map go on", goon_op, NULL}};
    sweep_all(ops, 1);
}

/* groupby goes on after its key function raised: the failed item is
 * dropped and the current group stays current (CPython's groupby). Each
 * row is what /usr/bin/python3 prints for
 *     k = lambda x: x // 10, raising ValueError("bad 12") for 12
 *     g = groupby(DATA, k); then next(g) and, when INNER, a for loop over
 *     each group (a ValueError ends that loop), until StopIteration.
 * Traced as key, then the group's items, -1 after each group; errors as
 * ERR - n; END at the end. */
static yc_val k10(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 12) yc_raisef(&yc_ValueError, "bad 12");
    return yc_int(x.i / 10);
}

static void groupby_run(const int64_t *data, size_t n, bool inner, const int64_t *want,
                        size_t nwant)
{
    yc_val *vals = malloc(n * sizeof *vals);
    for (size_t i = 0; i < n; i++) vals[i] = yc_int(data[i]);
    yc_iter *g = yc_iter_groupby(yc_iter_array(vals, n), k10, NULL);
    CHECK(g != NULL);
    trace t = {.n = 0};
    for (int round = 0; round < 8; round++) {
        yc_val grp;
        int st = yc_iter_next(g, &grp);
        if (st == YC_RETURN) {
            push(&t, END);
            break;
        }
        if (st < 0) {
            push(&t, take_err("groupby"));
            continue;
        }
        const yc_tuple *tp = yc_tuple_of(grp);
        push(&t, tp->items[0].i);
        if (inner) {
            yc_iter *items = (yc_iter *)tp->items[1].p;
            yc_val v;
            while ((st = yc_iter_next(items, &v)) == YC_YIELD) push(&t, v.i);
            if (st < 0) push(&t, take_err("groupby"));
        }
        push(&t, -1);
    }
    yc_iter_free(g);
    free(vals);
    CHECK_EQ_INT(t.n, nwant);
    for (size_t i = 0; i < nwant && i < t.n && i < 64; i++)
        if (t.v[i] != want[i])
            test_fail(__FILE__, __LINE__, "item %zu: %lld, CPython %lld", i, (long long)t.v[i],
                      (long long)want[i]);
}

TEST(groupby_goes_on_after_its_key_raised)
{
    static const int64_t d1[] = {1, 2, 11, 12, 13, 21, 22}, d3[] = {1, 12, 13, 21},
                         d4[] = {12, 13, 21};
    /* [(0, [1, 2]), (1, [11, 'E:bad 12']), (2, [21, 22]), 'stop'] */
    static const int64_t w1[] = {0, 1, 2, -1, 1, 11, ERR - 12, -1, 2, 21, 22, -1, END};
    /* [(0, []), (1, []), 'E:bad 12', (2, []), 'stop'] */
    static const int64_t w2[] = {0, -1, 1, -1, ERR - 12, 2, -1, END};
    /* [(0, [1, 'E:bad 12']), (1, [13]), (2, [21]), 'stop'] */
    static const int64_t w3[] = {0, 1, ERR - 12, -1, 1, 13, -1, 2, 21, -1, END};
    /* ['E:bad 12', (1, []), (2, []), 'stop'] */
    static const int64_t w4[] = {ERR - 12, 1, -1, 2, -1, END};
    groupby_run(d1, 7, true, w1, sizeof w1 / sizeof w1[0]);
    groupby_run(d1, 7, false, w2, sizeof w2 / sizeof w2[0]);
    groupby_run(d3, 4, true, w3, sizeof w3 / sizeof w3[0]);
    groupby_run(d4, 3, false, w4, sizeof w4 / sizeof w4[0]);
}

TEST_MAIN()
