/* The combinators. A table gives every stage the same six checks, on the
 * per-item path and on the block path: empty input, one item, exhaustion,
 * early close, an error in the callback (or, for stages without one, in
 * upstream), and use after close. Specific tests follow the table. */
#include "test_pipe_util.h"

/* ---- callbacks: each raises ValueError("callback failed at N") when it
 * meets the value raise_on ---------------------------------------------- */

typedef struct cbctx {
    int64_t raise_on;
    int calls;
} cbctx;

static void maybe_raise(cbctx *c, yc_val x)
{
    c->calls++;
    if (yc_type_of(x) == YC_T_INT && x.i == c->raise_on)
        yc_raisef(&yc_ValueError, "callback failed at %lld", (long long)x.i);
}

static yc_val times10(void *ctx, yc_val x)
{
    maybe_raise(ctx, x);
    return yc_int(x.i * 10);
}

static void times10_block(void *ctx, yc_val *xs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        maybe_raise(ctx, xs[i]);
        xs[i] = yc_int(xs[i].i * 10);
    }
}

static bool is_even(void *ctx, yc_val x)
{
    maybe_raise(ctx, x);
    return x.i % 2 == 0;
}

static size_t evens_block(void *ctx, yc_val *xs, size_t n)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        maybe_raise(ctx, xs[i]);
        if (xs[i].i % 2 == 0) xs[j++] = xs[i];
    }
    return j;
}

static bool below3(void *ctx, yc_val x)
{
    maybe_raise(ctx, x);
    return x.i < 3;
}

static yc_iter *range_upto_mod3(void *ctx, yc_val x)
{
    maybe_raise(ctx, x);
    return yc_iter_range(0, x.i % 3, 1);
}

static yc_val add(void *ctx, yc_val acc, yc_val x)
{
    maybe_raise(ctx, x);
    return yc_int(acc.i + x.i);
}

static yc_val half(void *ctx, yc_val x)
{
    maybe_raise(ctx, x);
    return yc_int(x.i / 2);
}

static yc_val double_body(yc_stage *s, void *ctx)
{
    yc_val v;
    while (yc_stage_pull(s, &v)) {
        maybe_raise(ctx, v);
        yc_stage_emit(s, yc_int(v.i * 2));
    }
    return YC_NONE;
}

/* ---- the table ------------------------------------------------------------ */

enum { ENC_INT, ENC_PAIR, ENC_GROUP, ENC_BLOCK };

static yc_iter *mk_map(yc_iter *up, cbctx *c) { return yc_iter_map(up, times10, c); }
static yc_iter *mk_map_batch(yc_iter *up, cbctx *c) { return yc_iter_map_batch(up, times10_block, c); }
static yc_iter *mk_filter(yc_iter *up, cbctx *c) { return yc_iter_filter(up, is_even, c); }
static yc_iter *mk_filter_batch(yc_iter *up, cbctx *c) { return yc_iter_filter_batch(up, evens_block, c); }
static yc_iter *mk_islice(yc_iter *up, cbctx *c) { (void)c; return yc_iter_islice(up, 1, 5, 2); }
static yc_iter *mk_take(yc_iter *up, cbctx *c) { (void)c; return yc_iter_take(up, 3); }
static yc_iter *mk_drop(yc_iter *up, cbctx *c) { (void)c; return yc_iter_drop(up, 4); }
static yc_iter *mk_takewhile(yc_iter *up, cbctx *c) { return yc_iter_takewhile(up, below3, c); }
static yc_iter *mk_dropwhile(yc_iter *up, cbctx *c) { return yc_iter_dropwhile(up, below3, c); }
static yc_iter *mk_enumerate(yc_iter *up, cbctx *c) { (void)c; return yc_iter_enumerate(up, 100); }
static yc_iter *mk_zip(yc_iter *up, cbctx *c)
{
    (void)c;
    yc_iter *its[2] = {up, yc_iter_range(10, 20, 1)};
    return yc_iter_zip(its, 2);
}
static yc_iter *mk_chain(yc_iter *up, cbctx *c)
{
    (void)c;
    yc_iter *its[2] = {up, yc_iter_range(100, 102, 1)};
    return yc_iter_chain(its, 2);
}
static yc_iter *mk_flat_map(yc_iter *up, cbctx *c) { return yc_iter_flat_map(up, range_upto_mod3, c); }
static yc_iter *mk_batch(yc_iter *up, cbctx *c) { (void)c; return yc_iter_batch(up, 4); }
static yc_iter *mk_window(yc_iter *up, cbctx *c) { (void)c; return yc_iter_window(up, 4); }
static yc_iter *mk_accumulate(yc_iter *up, cbctx *c) { return yc_iter_accumulate(up, add, c, NULL); }
static yc_iter *mk_groupby(yc_iter *up, cbctx *c) { return yc_iter_groupby(up, half, c); }
static yc_iter *mk_unique(yc_iter *up, cbctx *c) { return yc_iter_unique(up, half, c); }
static yc_iter *mk_tee(yc_iter *up, cbctx *c)
{
    (void)c;
    yc_iter *br[2];
    if (yc_iter_tee(up, 2, 100, br) < 0) return NULL;
    yc_iter_free(br[1]); /* only branch 0 is used */
    return br[0];
}
static yc_iter *mk_stage(yc_iter *up, cbctx *c)
{
    yc_gen_opts o = {.name = "doubler"};
    return yc_iter_stage(up, double_body, c, &o);
}

typedef struct combinator {
    const char *name;       /* the stage's name in tracebacks */
    yc_iter *(*make)(yc_iter *up, cbctx *c);
    bool has_callback;      /* else the error comes from upstream */
    int enc;
    int64_t one[4];         /* the output for the input [0] */
    size_t none;
    int64_t six[10];        /* the output for [0, 6) */
    size_t nsix;
} combinator;

static const combinator combinators[] = {
    {"map", mk_map, true, ENC_INT, {0}, 1, {0, 10, 20, 30, 40, 50}, 6},
    {"map", mk_map_batch, true, ENC_INT, {0}, 1, {0, 10, 20, 30, 40, 50}, 6},
    {"filter", mk_filter, true, ENC_INT, {0}, 1, {0, 2, 4}, 3},
    {"filter", mk_filter_batch, true, ENC_INT, {0}, 1, {0, 2, 4}, 3},
    {"islice", mk_islice, false, ENC_INT, {0}, 0, {1, 3}, 2},
    {"islice", mk_take, false, ENC_INT, {0}, 1, {0, 1, 2}, 3},
    {"islice", mk_drop, false, ENC_INT, {0}, 0, {4, 5}, 2},
    {"takewhile", mk_takewhile, true, ENC_INT, {0}, 1, {0, 1, 2}, 3},
    {"dropwhile", mk_dropwhile, true, ENC_INT, {0}, 0, {3, 4, 5}, 3},
    {"enumerate", mk_enumerate, false, ENC_PAIR, {100000}, 1,
     {100000, 101001, 102002, 103003, 104004, 105005}, 6},
    {"zip", mk_zip, false, ENC_PAIR, {10}, 1, {10, 1011, 2012, 3013, 4014, 5015}, 6},
    {"chain", mk_chain, false, ENC_INT, {0, 100, 101}, 3, {0, 1, 2, 3, 4, 5, 100, 101}, 8},
    {"flat_map", mk_flat_map, true, ENC_INT, {0}, 0, {0, 0, 1, 0, 0, 1}, 6},
    {"batched", mk_batch, false, ENC_BLOCK, {100000}, 1, {400006, 200009}, 2},
    {"window", mk_window, false, ENC_BLOCK, {0}, 0, {400006, 400010, 400014}, 3},
    {"accumulate", mk_accumulate, true, ENC_INT, {0}, 1, {0, 1, 3, 6, 10, 15}, 6},
    {"groupby", mk_groupby, true, ENC_GROUP, {1}, 1, {2, 1002, 2002}, 3},
    {"unique", mk_unique, true, ENC_INT, {0}, 1, {0, 2, 4}, 3},
    {"tee", mk_tee, false, ENC_INT, {0}, 1, {0, 1, 2, 3, 4, 5}, 6},
    {"stage", mk_stage, true, ENC_INT, {0}, 1, {0, 2, 4, 6, 8, 10}, 6},
};
#define NCOMB (sizeof combinators / sizeof combinators[0])

/* A group iterator's error while encode() reads the group. */
static int enc_err;

/* One value as an int, by the stage's encoding (see the table). */
static int64_t encode(int enc, yc_val v)
{
    const yc_tuple *t = yc_tuple_of(v);
    switch (enc) {
    case ENC_PAIR:
        return t && t->len == 2 ? t->items[0].i * 1000 + t->items[1].i : -1;
    case ENC_BLOCK: {
        if (!t) return -1;
        int64_t s = 0;
        for (size_t i = 0; i < t->len; i++) s += t->items[i].i;
        return (int64_t)t->len * 100000 + s;
    }
    case ENC_GROUP: {
        if (!t || t->len != 2) return -1;
        int64_t cnt = 0;
        yc_iter *g = t->items[1].p;
        int st;
        while ((st = yc_iter_next(g, NULL)) == YC_YIELD) cnt++;
        if (st < 0) enc_err = st;
        return t->items[0].i * 1000 + cnt;
    }
    default:
        return yc_type_of(v) == YC_T_INT ? v.i : -999;
    }
}

/* Pulls everything: per item (cap 0) or in blocks of cap. */
static int drain(const combinator *c, yc_iter *it, size_t cap, int64_t *out, size_t *n)
{
    yc_val buf[8];
    int st;
    *n = 0;
    for (;;) {
        size_t k = 0;
        if (cap == 0) {
            st = yc_iter_next(it, &buf[0]);
            k = st == YC_YIELD;
        } else {
            st = yc_iter_next_batch(it, buf, cap, &k);
        }
        enc_err = 0;
        for (size_t i = 0; i < k; i++) {
            if (*n < 16) out[*n] = encode(c->enc, buf[i]);
            (*n)++;
        }
        if (enc_err) return enc_err; /* raised by a group's next */
        if (st != YC_YIELD) return st;
    }
}

static bool same(const int64_t *a, size_t na, const int64_t *b, size_t nb)
{
    if (na != nb) return false;
    for (size_t i = 0; i < na; i++)
        if (a[i] != b[i]) return false;
    return true;
}

#define FOR_EACH_COMBINATOR_AND_PATH(c, cap)                                  \
    for (size_t ci_ = 0; ci_ < NCOMB; ci_++)                                  \
        for (size_t cap = 0; cap <= 3; cap += 3)                              \
            for (const combinator *c = &combinators[ci_]; c; c = NULL)

#define WHERE(c, cap) fprintf(stderr, "    (combinator #%zu %s, %s path)\n", ci_, (c)->name, \
                              (cap) ? "block" : "per-item")

TEST(table_empty_input)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 0);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        CHECK(it != NULL);
        int64_t got[16];
        size_t n;
        CHECK_ST(drain(c, it, cap, got, &n), YC_RETURN);
        bool chain = strcmp(c->name, "chain") == 0;
        CHECK_EQ_INT(n, chain ? 2 : 0);
        CHECK_EQ_INT(t.finally_runs, 1);
        CHECK_ST(yc_iter_next(it, NULL), YC_RETURN);
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

TEST(table_one_item)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 1);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        int64_t got[16];
        size_t n;
        CHECK_ST(drain(c, it, cap, got, &n), YC_RETURN);
        CHECK(same(got, n, c->one, c->none));
        CHECK_EQ_INT(t.finally_runs, 1);
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

TEST(table_exhaustion)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 6);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        int64_t got[16];
        size_t n;
        CHECK_ST(drain(c, it, cap, got, &n), YC_RETURN);
        CHECK(same(got, n, c->six, c->nsix));
        /* takewhile stops at 3 of 6 and keeps its source open until it is
         * closed (below), as CPython's does; the others exhausted theirs */
        bool keeps = strcmp(c->name, "takewhile") == 0;
        CHECK_EQ_INT(t.finally_runs, keeps ? 0 : 1);
        /* exhausted stays exhausted, on both paths */
        yc_val v = yc_int(1), buf[2];
        CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        size_t k = 9;
        CHECK_ST(yc_iter_next_batch(it, buf, 2, &k), YC_RETURN);
        CHECK_EQ_INT(k, 0);
        CHECK_ST(yc_iter_close(it, NULL), YC_OK);
        CHECK_EQ_INT(t.finally_runs, 1);
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

TEST(table_early_close_closes_upstream)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 1000);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        yc_val buf[3];
        size_t k = 0;
        if (cap) CHECK_ST(yc_iter_next_batch(it, buf, cap, &k), YC_YIELD);
        else CHECK_ST(yc_iter_next(it, &buf[0]), YC_YIELD);
        CHECK(t.produced < 1000);
        CHECK_EQ_INT(t.finally_runs, 0);
        CHECK_ST(yc_iter_close(it, NULL), YC_OK);
        CHECK_EQ_INT(t.finally_runs, 1); /* the generator's finally ran */
        CHECK_ST(yc_iter_close(it, NULL), YC_OK); /* twice is fine */
        CHECK_EQ_INT(t.finally_runs, 1);
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

TEST(table_free_without_pulling_or_closing)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 10);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        if (cap) CHECK_ST(yc_iter_next(it, NULL), YC_YIELD);
        yc_iter_free(it); /* the harness checks that the generator went too */
        CHECK_EQ_INT(t.finally_runs, cap ? 1 : 0); /* a created generator runs nothing */
        if (test_failures_now != before) WHERE(c, cap);
    }
}

/* The item the next pull gives after the callback raised at item 2 (-1:
 * the end), for the stages that go on as CPython's do; -2 for the others.
 *   list-like pulls of map(t10, range(6))          -> 0, 10, ERR, 30
 *   filter(is_even, range(6))                      -> 0, ERR, 4
 *   takewhile(below3, range(6))                    -> 0, 1, ERR, END
 *   dropwhile(below3, range(6))                    -> ERR, 3
 *   accumulate(range(6), add)                      -> 0, 1, ERR, 4
 *   groupby(range(1000), half): (0, [0, 1, ERR]), (1, [3]): encoded as
 *   key * 1000 + the group's length, 1001 */
static int64_t goes_on_after(const combinator *c)
{
    if (c->make == mk_map) return 30;
    if (c->make == mk_filter) return 4;
    if (c->make == mk_takewhile) return -1;
    if (c->make == mk_dropwhile) return 3;
    if (c->make == mk_accumulate) return 4;
    if (c->make == mk_groupby) return 1001;
    return -2;
}

TEST(table_error_in_callback_or_upstream)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 1000);
        cbctx cb = {-1, 0};
        if (c->has_callback) cb.raise_on = 2;
        else t.raise_at = 2;
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        int64_t got[16];
        size_t n;
        CHECK_ST(drain(c, it, cap, got, &n), YC_RAISE);
        if (c->has_callback) {
            CHECK_EXC_STAGE(&yc_ValueError, "ValueError: callback failed at 2", c->name);
        } else {
            CHECK_EXC_STAGE(&yc_ValueError, "ValueError: source failed", c->name);
        }
        CHECK(t.produced < 1000);
        yc_val v;
        int64_t after = goes_on_after(c);
        if (c->has_callback && after != -2) {
            /* a builtin-named stage goes on after its callback raised, as
             * CPython's does: upstream still open, the next pull takes the
             * next item (the Python lines in goes_on_after) */
            CHECK_EQ_INT(t.finally_runs, 0);
            if (after == -1) {
                CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
            } else {
                CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
                CHECK_EQ_INT(encode(c->enc, v), after);
            }
        } else {
            /* a generator upstream that raised has ended (10.3): so has the
             * stage; map_batch, filter_batch and the stages that are not
             * builtins end at their callback's error */
            CHECK_EQ_INT(t.finally_runs, 1);
            CHECK_ST(yc_iter_next(it, NULL), YC_RETURN);
        }
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

TEST(table_use_after_close)
{
    FOR_EACH_COMBINATOR_AND_PATH(c, cap) {
        int before = test_failures_now;
        tsrc t;
        tsrc_init(&t, 5);
        cbctx cb = {-1, 0};
        yc_iter *it = c->make(tsrc_iter(&t), &cb);
        CHECK_ST(yc_iter_close(it, NULL), YC_OK);
        yc_val v = yc_int(3), buf[3];
        size_t k = 7;
        if (cap) {
            CHECK_ST(yc_iter_next_batch(it, buf, cap, &k), YC_RETURN);
            CHECK_EQ_INT(k, 0);
        } else {
            CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
            CHECK(yc_is_none(v));
        }
        CHECK_EQ_INT(t.produced, 0);
        CHECK_EQ_INT(cb.calls, 0);
        yc_iter_free(it);
        if (test_failures_now != before) WHERE(c, cap);
    }
}

/* ---- constructors: ownership and argument errors ------------------------- */

TEST(null_upstream_keeps_the_first_error)
{
    /* the innermost constructor fails; the outer ones pass NULL through */
    yc_iter *p = yc_iter_take(yc_iter_map(yc_iter_range(0, 1, 0), times10, NULL), 3);
    CHECK(p == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: range() arg 3 must not be zero");
    CHECK(yc_iter_filter(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: filter: upstream iterator is NULL");
    /* zip frees the good ones when one is missing */
    tsrc t;
    tsrc_init(&t, 3);
    yc_iter *its[2] = {tsrc_iter(&t), NULL};
    CHECK(yc_iter_zip(its, 2) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: zip: upstream iterator is NULL");
}

TEST(constructor_argument_errors_free_upstream)
{
    tsrc t;
    tsrc_init(&t, 3);
    CHECK(yc_iter_islice(tsrc_iter(&t), 0, -1, 1) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize.");
    CHECK(yc_iter_islice(yc_iter_range(0, 3, 1), -1, 5, 1) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.");
    CHECK(yc_iter_islice(yc_iter_range(0, 3, 1), 0, 5, 0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Step for islice() must be a positive integer or None.");
    CHECK(yc_iter_batch(yc_iter_range(0, 3, 1), 0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: n must be at least one");
    CHECK(yc_iter_window(yc_iter_range(0, 3, 1), 0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: n must be at least one");
    CHECK(yc_iter_map(yc_iter_range(0, 3, 1), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: map: the function is NULL");
    CHECK(yc_iter_takewhile(yc_iter_range(0, 3, 1), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: takewhile: the predicate is NULL");
    yc_iter *br[2];
    CHECK_ST(yc_iter_tee(yc_iter_range(0, 3, 1), 0, 10, br), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: tee: n must be at least one");
}

/* ---- stage by stage ------------------------------------------------------ */

/* CPython's islice consumes up to stop before it ends, and no further. */
TEST(islice_consumes_like_cpython)
{
    int64_t got[16];
    size_t n;
    tsrc t;
    tsrc_init(&t, 10);
    yc_iter *s = yc_iter_islice(tsrc_iter(&t), 0, 5, 3);
    CHECK_ST(pull_all(s, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 3);
    CHECK_EQ_INT(t.produced, 5); /* item 4 was consumed to reach stop */
    CHECK_EQ_INT(t.finally_runs, 1); /* and upstream closed at stop */
    yc_iter_free(s);
    tsrc_init(&t, 10);
    s = yc_iter_islice(tsrc_iter(&t), 5, 2, 1); /* start beyond stop */
    CHECK_ST(pull_all_batch(s, 4, got, 16, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
    CHECK_EQ_INT(t.produced, 5);
    yc_iter_free(s);
    tsrc_init(&t, 10);
    s = yc_iter_take(tsrc_iter(&t), 3); /* take does not pull a 4th item */
    CHECK_ST(pull_all_batch(s, 8, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 1, 2);
    CHECK_EQ_INT(t.produced, 3);
    yc_iter_free(s);
}

TEST(zip_stops_at_the_shortest_pulling_in_order)
{
    tsrc a, b;
    tsrc_init(&a, 3);
    tsrc_init(&b, 10);
    yc_iter *its[2] = {tsrc_iter(&a), tsrc_iter(&b)};
    yc_iter *z = yc_iter_zip(its, 2);
    int n = 0;
    yc_val v;
    while (yc_iter_next(z, &v) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        CHECK(t && t->len == 2 && t->items[0].i == n && t->items[1].i == n);
        n++;
    }
    CHECK_EQ_INT(n, 3);
    CHECK_EQ_INT(b.produced, 3); /* the 4th round stopped at a: b not pulled */
    CHECK_EQ_INT(b.finally_runs, 0); /* b stays open until the zip goes, as in CPython */
    yc_iter_free(z);
    CHECK_EQ_INT(b.finally_runs, 1);
    z = yc_iter_zip(NULL, 0); /* zip() is empty */
    CHECK_ST(yc_iter_next(z, NULL), YC_RETURN);
    yc_iter_free(z);
}

/* CPython's takewhile keeps its iterator until it is freed:
 *     t = takewhile(lambda x: x < 2, g()); list(t)   # g's finally not run
 *     del t                                          # now it runs
 * and zip the iterators after the shortest (zip(a, g()) the same way). */
TEST(takewhile_and_zip_keep_their_source_until_freed)
{
    for (int cap = 0; cap <= 4; cap += 4) {
        tsrc t;
        tsrc_init(&t, 10);
        cbctx cb = {-1, 0};
        yc_iter *s = yc_iter_takewhile(tsrc_iter(&t), below3, &cb);
        int64_t got[16];
        size_t n;
        CHECK_ST(cap ? pull_all_batch(s, (size_t)cap, got, 16, &n) : pull_all(s, got, 16, &n),
                 YC_RETURN);
        CHECK_INTS(got, n, 0, 1, 2);
        CHECK_EQ_INT(t.finally_runs, 0);
        CHECK_ST(yc_iter_next(s, NULL), YC_RETURN); /* stopped stays stopped */
        yc_iter_free(s);
        CHECK_EQ_INT(t.finally_runs, 1);
    }
    tsrc a, b;
    tsrc_init(&a, 2);
    tsrc_init(&b, 10);
    yc_iter *its[2] = {tsrc_iter(&a), tsrc_iter(&b)};
    yc_iter *z = yc_iter_zip(its, 2);
    CHECK_ST(yc_iter_count(z, NULL), YC_OK);
    CHECK_EQ_INT(b.finally_runs, 0);
    CHECK_ST(yc_iter_close(z, NULL), YC_OK); /* closing the zip closes b */
    CHECK_EQ_INT(b.finally_runs, 1);
    yc_iter_free(z);
}

TEST(chain_closes_each_part_when_done_with_it)
{
    tsrc a, b;
    tsrc_init(&a, 2);
    tsrc_init(&b, 2);
    yc_iter *its[2] = {tsrc_iter(&a), tsrc_iter(&b)};
    yc_iter *c = yc_iter_chain(its, 2);
    yc_val v;
    CHECK_ST(yc_iter_next(c, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(c, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(c, &v), YC_YIELD); /* b's first */
    CHECK_EQ_INT(a.finally_runs, 1);
    CHECK_EQ_INT(b.finally_runs, 0);
    yc_iter_free(c);
    CHECK_EQ_INT(b.finally_runs, 1);
}

static yc_val first_byte(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_bytes(x.s, yc_len(x) ? 1 : 0); /* points into the line */
}

/* groupby and unique over lines read through a 4-byte buffer: the keys they
 * keep are copies, so the refills do not corrupt them. */
TEST(groupby_and_unique_keep_copies_of_bytes)
{
    char path[64];
    const char *text = "apple\navocado\nbanana\nblueberry\ncherry\n";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 4, .flags = YC_IO_STRIP};
    yc_iter *g = yc_iter_groupby(yc_iter_lines_path(path, &o), first_byte, NULL);
    char out[128] = "";
    yc_val v;
    while (yc_iter_next(g, &v) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        strncat(out, t->items[0].s, yc_len(t->items[0]));
        strcat(out, ":");
        yc_val x;
        while (yc_iter_next(t->items[1].p, &x) == YC_YIELD) {
            strncat(out, x.s, yc_len(x));
            strcat(out, ",");
        }
        strcat(out, ";");
    }
    CHECK_STR(out, "a:apple,avocado,;b:banana,blueberry,;c:cherry,;");
    yc_iter_free(g);

    yc_iter *u = yc_iter_unique(yc_iter_lines_path(path, &o), first_byte, NULL);
    out[0] = '\0';
    while (yc_iter_next(u, &v) == YC_YIELD) {
        strncat(out, v.s, yc_len(v));
        strcat(out, ",");
    }
    CHECK_STR(out, "apple,banana,cherry,");
    yc_iter_free(u);
    unlink(path);
}

TEST(groupby_skips_an_unconsumed_group)
{
    yc_val items[] = {yc_int(1), yc_int(1), yc_int(2), yc_int(3), yc_int(3), yc_int(3)};
    yc_iter *g = yc_iter_groupby(yc_iter_array(items, 6), NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_INTV(yc_tuple_of(v)->items[0], 1);
    yc_iter *grp = yc_tuple_of(v)->items[1].p;
    CHECK_ST(yc_iter_next(grp, &v), YC_YIELD); /* one of the two 1s */
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD);
    CHECK_INTV(yc_tuple_of(v)->items[0], 2);
    CHECK_ST(yc_iter_next(g, &v), YC_YIELD); /* 2's group not read */
    CHECK_INTV(yc_tuple_of(v)->items[0], 3);
    int cnt = 0;
    while (yc_iter_next(yc_tuple_of(v)->items[1].p, NULL) == YC_YIELD) cnt++;
    CHECK_EQ_INT(cnt, 3);
    CHECK_ST(yc_iter_next(g, &v), YC_RETURN);
    yc_iter_free(g);
}

TEST(batch_and_window_of_lines_hold_copies)
{
    char path[64];
    const char *text = "a1\nb2\nc3\nd4\ne5\n";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 3, .flags = YC_IO_STRIP};
    yc_iter *w = yc_iter_window(yc_iter_lines_path(path, &o), 3);
    char out[128] = "";
    yc_val v;
    while (yc_iter_next(w, &v) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        for (size_t i = 0; i < t->len; i++) strncat(out, t->items[i].s, yc_len(t->items[i]));
        strcat(out, "|");
    }
    CHECK_STR(out, "a1b2c3|b2c3d4|c3d4e5|");
    yc_iter_free(w);
    yc_iter *b = yc_iter_batch(yc_iter_lines_path(path, &o), 2);
    out[0] = '\0';
    while (yc_iter_next(b, &v) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        for (size_t i = 0; i < t->len; i++) strncat(out, t->items[i].s, yc_len(t->items[i]));
        strcat(out, "|");
    }
    CHECK_STR(out, "a1b2|c3d4|e5|");
    yc_iter_free(b);
    unlink(path);
}

TEST(accumulate_with_initial_and_default_addition)
{
    yc_val items[] = {yc_int(1), yc_float(0.5), yc_int(2)};
    yc_val init = yc_int(10);
    yc_iter *a = yc_iter_accumulate(yc_iter_array(items, 3), NULL, NULL, &init);
    yc_val v;
    CHECK_ST(yc_iter_next(a, &v), YC_YIELD);
    CHECK_INTV(v, 10);
    CHECK_ST(yc_iter_next(a, &v), YC_YIELD);
    CHECK_INTV(v, 11);
    CHECK_ST(yc_iter_next(a, &v), YC_YIELD);
    CHECK_VAL(v, yc_float(11.5));
    CHECK_ST(yc_iter_next(a, &v), YC_YIELD);
    CHECK_VAL(v, yc_float(13.5));
    CHECK_ST(yc_iter_next(a, &v), YC_RETURN);
    yc_iter_free(a);
    yc_val bad[] = {yc_int(1), yc_str("x")};
    a = yc_iter_accumulate(yc_iter_array(bad, 2), NULL, NULL, NULL);
    CHECK_ST(yc_iter_next(a, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(a, &v), YC_RAISE);
    CHECK_EXC_STAGE(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'int' and 'bytes'",
                    "accumulate");
    yc_iter_free(a);
}

TEST(tee_bounded_buffer_fails_clearly_and_recovers)
{
    tsrc t;
    tsrc_init(&t, 10);
    yc_iter *br[2];
    CHECK_ST(yc_iter_tee(tsrc_iter(&t), 2, 3, br), YC_OK);
    yc_val v;
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD);
        CHECK_INTV(v, i);
    }
    /* branch 1 has seen nothing: a 4th item would be the 4th kept */
    CHECK_ST(yc_iter_next(br[0], &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError,
              "RuntimeError: tee buffer full: branch 0 is 3 items ahead of the slowest branch "
              "(max_buffer 3)");
    CHECK_EQ_INT(t.produced, 3); /* nothing changed */
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_next(br[0], &v), YC_YIELD); /* room again */
    CHECK_INTV(v, 3);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all(br[1], got, 16, &n), YC_RAISE); /* laps branch 0 by 3 */
    CHECK_EXC(&yc_RuntimeError, NULL);
    CHECK_INTS(got, n, 1, 2, 3, 4, 5, 6);
    CHECK_EQ_INT(t.finally_runs, 0);
    CHECK_ST(yc_iter_close(br[1], NULL), YC_OK); /* no longer holds anything back */
    CHECK_EQ_INT(t.finally_runs, 0);
    CHECK_ST(pull_all(br[0], got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 4, 5, 6, 7, 8, 9);
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(br[0]);
    yc_iter_free(br[1]);
}

TEST(tee_frees_upstream_with_the_last_branch)
{
    tsrc t;
    tsrc_init(&t, 10);
    yc_iter *br[3];
    CHECK_ST(yc_iter_tee(tsrc_iter(&t), 3, 100, br), YC_OK);
    CHECK_ST(yc_iter_next(br[2], NULL), YC_YIELD);
    yc_iter_free(br[0]);
    yc_iter_free(br[2]);
    CHECK_EQ_INT(t.finally_runs, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(br[1], &v), YC_YIELD);
    CHECK_INTV(v, 0);
    yc_iter_free(br[1]); /* the harness checks the generator is gone */
    CHECK_EQ_INT(t.finally_runs, 1);
}

TEST(label_names_the_stage_in_tracebacks)
{
    cbctx cb = {3, 0};
    yc_iter *m = yc_iter_map(yc_iter_range(0, 10, 1), times10, &cb);
    CHECK_ST(yc_iter_label(m, "scale"), YC_OK);
    yc_iter *f = yc_iter_filter(m, NULL, NULL);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all(f, got, 16, &n), YC_RAISE);
    yc_exc *e = yc_err_get();
    CHECK(tb_has_stage(e, "scale"));
    CHECK(tb_has_stage(e, "filter"));
    CHECK(!tb_has_stage(e, "map"));
    size_t ntb;
    const yc_tb_entry *tb = yc_exc_traceback(e, &ntb);
    /* innermost first: the raise in the callback, then map (depth 1), filter (2) */
    CHECK(ntb >= 3 && strcmp(tb[0].func, "maybe_raise") == 0);
    CHECK(ntb >= 3 && tb[1].line == 1 && tb[2].line == 2);
    char buf[2048] = "";
    FILE *mf = fmemopen(buf, sizeof buf - 1, "w");
    yc_exc_print(e, mf);
    fclose(mf);
    CHECK(strstr(buf, "File \"<pipeline>\", line 1, in scale\n") != NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: callback failed at 3");
    yc_iter_free(f);
    yc_val items[1] = {yc_int(1)};
    yc_iter *a = yc_iter_array(items, 1);
    CHECK_ST(yc_iter_label(a, "x"), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_label: 'list_iterator' is not a pipeline stage");
    yc_iter_free(a);
}

TEST(filter_none_keeps_truthy_values)
{
    static const yc_tuple empty = {0};
    yc_val items[] = {YC_NONE, yc_int(0), yc_int(5), yc_float(0.0), yc_str(""), yc_str("x"),
                      yc_bool(false), yc_bool(true), yc_ptr(NULL), yc_tuple_val(&empty)};
    yc_iter *f = yc_iter_filter(yc_iter_array(items, 10), NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(f, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_iter_next(f, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("x"));
    CHECK_ST(yc_iter_next(f, &v), YC_YIELD);
    CHECK_VAL(v, yc_bool(true));
    CHECK_ST(yc_iter_next(f, &v), YC_RETURN);
    yc_iter_free(f);
}

TEST_MAIN()
