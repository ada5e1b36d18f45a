/* The int64 block stages (yc_iter_map_i64, yc_iter_filter_i64) and the
 * int64 block path under them (range's fill, sum and count consuming int64
 * blocks): the same results as the yc_val stages and plain C loops, every
 * end (exhaustion, close, errors in each callback, upstream errors), type
 * checks of values from a yc_val upstream, mixing with yc_val stages on
 * either side, sum's OverflowError, block boundaries, the constructors'
 * argument errors, and stages reentered from their own callbacks (map_i64,
 * filter_i64; map, filter, takewhile, dropwhile closed or freed). */
#include "test_pipe_util.h"

/* ---- callbacks -------------------------------------------------------------- */

/* keeps x when (x % mod) is not in the mask's set bits */
typedef struct pat {
    int64_t mod;
    uint64_t drop; /* bit r set: drop x with x % mod == r */
    size_t calls, max_n;
} pat;

static size_t pat_keep(void *ctx, int64_t *xs, size_t n)
{
    pat *p = ctx;
    p->calls++;
    if (n > p->max_n) p->max_n = n;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t r = xs[i] % p->mod;
        if (!(r < 64 && ((p->drop >> r) & 1))) xs[j++] = xs[i];
    }
    return j;
}

/* raises ValueError when the value `at` comes */
typedef struct raiser {
    int64_t at;
    int calls;
} raiser;

static void map_raise(void *ctx, int64_t *xs, size_t n)
{
    raiser *r = ctx;
    r->calls++;
    for (size_t i = 0; i < n; i++)
        if (xs[i] == r->at) yc_raisef(&yc_ValueError, "map at %lld", (long long)r->at);
}

static size_t filter_raise(void *ctx, int64_t *xs, size_t n)
{
    raiser *r = ctx;
    r->calls++;
    for (size_t i = 0; i < n; i++)
        if (xs[i] == r->at) yc_raisef(&yc_ValueError, "filter at %lld", (long long)r->at);
    return n;
}

static size_t keep_none(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    (void)xs;
    (void)n;
    return 0;
}

static size_t keep_too_many(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    (void)xs;
    return n + 5;
}

static void plus1_val(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] = yc_int(xs[i].i + 1);
}

/* ---- basics ------------------------------------------------------------------ */

TEST(i64_pipeline_matches_plain_loop)
{
    int64_t want = 0;
    for (int64_t x = 0; x < 100000; x++)
        if ((x * 3) % 7 != 0) want += x * 3;
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 100000, 1), i64_triple, NULL),
                                    i64_not7, NULL);
    CHECK(p != NULL);
    CHECK_STR(yc_iter_name(p), "filter_i64");
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, want);
    /* exhausted: every later pull ends */
    yc_val v = yc_int(5);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 0);
    yc_iter_free(p);
}

TEST(i64_empty_and_one_item)
{
    yc_iter *p = yc_iter_map_i64(yc_iter_range(0, 0, 1), i64_triple, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);

    p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(5, 6, 1), i64_triple, NULL), i64_not7, NULL);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_VAL(v, yc_int(15));
    CHECK(yc_type_of(v) == YC_T_INT);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_iter_free(p);

    int64_t c = -1;
    p = yc_iter_filter_i64(yc_iter_range(0, 0, 1), i64_not7, NULL);
    CHECK_ST(yc_iter_count(p, &c), YC_OK);
    CHECK_EQ_INT(c, 0);
    yc_iter_free(p);
}

TEST(i64_per_item_and_block_pulls_agree)
{
    int64_t a[200], b[200];
    size_t na, nb;
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 60, 1), i64_triple, NULL), i64_not7,
                                    NULL);
    CHECK_ST(pull_all(p, a, 200, &na), YC_RETURN);
    yc_iter_free(p);
    p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 60, 1), i64_triple, NULL), i64_not7, NULL);
    CHECK_ST(pull_all_batch(p, 7, b, 200, &nb), YC_RETURN);
    yc_iter_free(p);
    CHECK_EQ_INT(na, nb);
    size_t k = 0;
    for (int64_t x = 0; x < 60; x++)
        if ((x * 3) % 7 != 0) {
            if (k < na) CHECK_EQ_INT(a[k], x * 3);
            if (k < nb) CHECK_EQ_INT(b[k], x * 3);
            k++;
        }
    CHECK_EQ_INT(k, na);
}

TEST(i64_filter_keeps_none_and_clamps)
{
    yc_val s;
    yc_iter *p = yc_iter_filter_i64(yc_iter_range(0, 5000, 1), keep_none, NULL);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 0);
    yc_iter_free(p);
    p = yc_iter_filter_i64(yc_iter_range(0, 100, 1), keep_too_many, NULL);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 4950);
    yc_iter_free(p);
}

TEST(i64_early_close)
{
    tsrc t;
    tsrc_init(&t, 1000);
    yc_iter *p = yc_iter_map_i64(tsrc_iter(&t), i64_triple, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_iter_close(p, NULL), YC_OK);
    CHECK_EQ_INT(t.finally_runs, 1);
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN); /* use after close */
    size_t n = 9;
    yc_val buf[4];
    CHECK_ST(yc_iter_next_batch(p, buf, 4, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 0);
    CHECK_ST(yc_iter_close(p, NULL), YC_OK);
    yc_iter_free(p);
}

/* ---- errors ------------------------------------------------------------------- */

TEST(i64_map_callback_raises)
{
    raiser r = {.at = 2500};
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 10000, 1), map_raise, &r),
                                    i64_not7, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: map at 2500", "map_i64");
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);
}

TEST(i64_filter_callback_raises)
{
    raiser r = {.at = 69};
    tsrc t;
    tsrc_init(&t, 1000);
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(tsrc_iter(&t), i64_triple, NULL), filter_raise, &r);
    int64_t c;
    CHECK_ST(yc_iter_count(p, &c), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: filter at 69", "filter_i64");
    CHECK_EQ_INT(t.finally_runs, 1); /* upstream closed */
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);
    /* per item too */
    r.at = 6;
    tsrc_init(&t, 10);
    p = yc_iter_filter_i64(yc_iter_map_i64(tsrc_iter(&t), i64_triple, NULL), filter_raise, &r);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_iter_next(p, &v), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: filter at 6", "filter_i64");
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(p);
}

TEST(i64_upstream_error_passes_through)
{
    tsrc t;
    tsrc_init(&t, 100);
    t.raise_at = 40;
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(tsrc_iter(&t), i64_triple, NULL), i64_not7, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    yc_exc *e = yc_err_get();
    CHECK(e && tb_has_stage(e, "map_i64") && tb_has_stage(e, "filter_i64"));
    CHECK_EXC(&yc_ValueError, "ValueError: source failed");
    yc_iter_free(p);
}

TEST(i64_non_int_upstream_is_a_type_error)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_bytes("ab", 2), yc_int(4)};
    yc_iter *p = yc_iter_map_i64(yc_iter_array(items, 4), i64_triple, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK_INTV(v, 6);
    CHECK_ST(yc_iter_next(p, &v), YC_RAISE);
    CHECK_EXC_STAGE(&yc_TypeError, "TypeError: map_i64: expected int, got 'bytes'", "map_i64");
    CHECK_ST(yc_iter_next(p, &v), YC_RETURN);
    yc_iter_free(p);

    yc_val fl[] = {yc_int(1), yc_float(2.5)};
    p = yc_iter_filter_i64(yc_iter_array(fl, 2), i64_not7, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    CHECK_EXC_STAGE(&yc_TypeError, "TypeError: filter_i64: expected int, got 'float'",
                    "filter_i64");
    yc_iter_free(p);

    yc_val none[] = {YC_NONE};
    p = yc_iter_filter_i64(yc_iter_array(none, 1), i64_not7, NULL);
    int64_t c;
    CHECK_ST(yc_iter_count(p, &c), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: filter_i64: expected int, got 'NoneType'");
    yc_iter_free(p);
}

TEST(i64_bools_are_ints)
{
    yc_val items[] = {yc_bool(true), yc_bool(false), yc_int(5), yc_bool(true)};
    yc_iter *p = yc_iter_map_i64(yc_iter_array(items, 4), i64_triple, NULL);
    int64_t got[8];
    size_t n;
    yc_val v;
    CHECK_ST(yc_iter_next(p, &v), YC_YIELD);
    CHECK(yc_type_of(v) == YC_T_INT); /* yields ints */
    CHECK_INTV(v, 3);
    CHECK_ST(pull_all(p, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 15, 3);
    yc_iter_free(p);
}

/* ---- mixing with yc_val stages --------------------------------------------- */

TEST(i64_fed_by_generator_stage_and_feeding_map_batch)
{
    tsrc t;
    tsrc_init(&t, 3000);
    yc_iter *p = yc_iter_map_batch(
        yc_iter_filter_i64(yc_iter_map_i64(tsrc_iter(&t), i64_triple, NULL), i64_not7, NULL), plus1_val,
        NULL);
    int64_t want = 0;
    for (int64_t x = 0; x < 3000; x++)
        if ((x * 3) % 7 != 0) want += x * 3 + 1;
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, want);
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(p);

    /* a yc_val stage between two i64 stages, and a float start for sum */
    p = yc_iter_filter_i64(yc_iter_map_batch(yc_iter_map_i64(yc_iter_range(0, 3000, 1), i64_triple, NULL),
                                             plus1_val, NULL),
                           i64_not7, NULL);
    want = 0;
    for (int64_t x = 0; x < 3000; x++)
        if ((x * 3 + 1) % 7 != 0) want += x * 3 + 1;
    CHECK_ST(yc_iter_sum(p, yc_float(0.5), &s), YC_OK);
    CHECK_VAL(s, yc_float((double)want + 0.5));
    yc_iter_free(p);
}

static yc_val gen_of_i64(void *arg)
{
    yc_iter *up = arg;
    yc_val v;
    while (yc_iter_next(up, &v) == YC_YIELD) yc_yield(yc_int(v.i + 1000));
    return YC_NONE;
}

TEST(i64_consumed_by_a_generator)
{
    yc_iter *p = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 10, 1), i64_triple, NULL), i64_not7,
                                    NULL);
    yc_iter *g = yc_iter_gen(gen_of_i64, p, NULL);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all_batch(g, 4, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 1003, 1006, 1009, 1012, 1015, 1018, 1024, 1027);
    yc_iter_free(g);
    yc_iter_free(p);
}

/* ---- sum: overflow, identical to the yc_val path ----------------------------- */

static void big(void *ctx, int64_t *xs, size_t n)
{
    int64_t add = *(int64_t *)ctx;
    for (size_t i = 0; i < n; i++) xs[i] += add;
}

static void big_val(void *ctx, yc_val *xs, size_t n)
{
    int64_t add = *(int64_t *)ctx;
    for (size_t i = 0; i < n; i++) xs[i] = yc_int(xs[i].i + add);
}

/* sum of range(0, n) + add through the i64 path and the yc_val path: the
 * same status, value and message. */
static void sum_both(int64_t n, int64_t add, yc_val start)
{
    yc_iter *a = yc_iter_map_i64(yc_iter_range(0, n, 1), big, &add);
    yc_iter *b = yc_iter_map_batch(yc_iter_range(0, n, 1), big_val, &add);
    yc_val sa = YC_NONE, sb = YC_NONE;
    int sta = yc_iter_sum(a, start, &sa);
    char ea[256] = "", eb[256] = "";
    if (sta < 0) {
        yc_exc *e = yc_err_take();
        yc_exc_format(e, ea, sizeof ea);
        yc_exc_unref(e);
    }
    int stb = yc_iter_sum(b, start, &sb);
    if (stb < 0) {
        yc_exc *e = yc_err_take();
        yc_exc_format(e, eb, sizeof eb);
        yc_exc_unref(e);
    }
    CHECK_EQ_INT(sta, stb);
    CHECK_STR(ea, eb);
    if (sta == YC_OK) CHECK_VAL(sa, sb);
    yc_iter_free(a);
    yc_iter_free(b);
}

TEST(i64_sum_overflow_as_the_val_path)
{
    sum_both(5000, INT64_MAX / 5000, yc_int(0));           /* fits */
    sum_both(5000, INT64_MAX / 4000, yc_int(0));           /* overflows mid-way */
    sum_both(5000, INT64_MIN / 4000, yc_int(0));           /* negative overflow */
    sum_both(3, INT64_MAX - 2, yc_int(0));                 /* short block, item by item */
    sum_both(1, 0, yc_int(INT64_MAX));                     /* start at the edge */
    sum_both(2, 0, yc_int(INT64_MAX));                     /* start at the edge, + 1 */
    sum_both(2000, ((int64_t)1 << 52) - 1000, yc_int(0));  /* around the fast path's bound */
    sum_both(2000, -((int64_t)1 << 52), yc_int(-5));
    sum_both(2000, ((int64_t)1 << 62) / 1500, yc_int((int64_t)1 << 62));
    sum_both(100, 7, yc_bool(true));
    sum_both(100, 7, yc_float(1.5));
    yc_val s;
    yc_iter *p = yc_iter_range(0, 10, 1);
    CHECK_ST(yc_iter_sum(p, yc_bytes("x", 1), &s), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: sum() can't sum bytes [use b''.join(seq) instead]");
    yc_iter_free(p);
}

/* ---- block boundaries ---------------------------------------------------------- */

TEST(i64_block_boundary_sweep)
{
    static const struct {
        int64_t mod;
        uint64_t drop;
    } pats[] = {{7, 1}, {2, 1}, {2, 2}, {3, 6}, {1, 0}, {1, 1}, {1000, ~(uint64_t)0 >> 1}, {5, 0}};
    for (size_t pi = 0; pi < sizeof pats / sizeof pats[0]; pi++) {
        for (int64_t n = 0; n <= 2100; n += (n < 40 || (n > 240 && n < 280) || n > 1000) ? 1 : 7) {
            int64_t want = 0, wcount = 0;
            for (int64_t x = 0; x < n; x++) {
                int64_t y = x * 3;
                int64_t r = y % pats[pi].mod;
                if (!(r < 64 && ((pats[pi].drop >> r) & 1))) {
                    want += y;
                    wcount++;
                }
            }
            pat p = {.mod = pats[pi].mod, .drop = pats[pi].drop};
            yc_iter *it = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, n, 1), i64_triple, NULL),
                                             pat_keep, &p);
            yc_val s;
            CHECK_ST(yc_iter_sum(it, yc_int(0), &s), YC_OK);
            if (s.i != want) {
                test_fail(__FILE__, __LINE__, "pattern %zu, n %lld: sum %lld, want %lld", pi,
                          (long long)n, (long long)s.i, (long long)want);
                yc_iter_free(it);
                return;
            }
            CHECK(p.max_n <= YC_BATCH);
            yc_iter_free(it);
            it = yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, n, 1), i64_triple, NULL), pat_keep,
                                    &p);
            int64_t c;
            CHECK_ST(yc_iter_count(it, &c), YC_OK);
            CHECK_EQ_INT(c, wcount);
            yc_iter_free(it);
        }
    }
}

static void triple_val(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] = yc_int((int64_t)((uint64_t)xs[i].i * 3u));
}

static void triple_wrap(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] = (int64_t)((uint64_t)xs[i] * 3u);
}

/* range's int64 fill for every step, up to the int64 edges, against the
 * yc_val path */
TEST(i64_range_steps)
{
    static const int64_t steps[] = {1, 2, 3, -1, -7, 1000000007, INT64_MAX / 3, INT64_MIN / 5};
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        int64_t st = steps[si];
        int64_t stop = st > 0 ? INT64_MAX : INT64_MIN;
        bool huge = st == INT64_MAX / 3 || st == INT64_MIN / 5;
        int64_t starts[] = {st > 0 ? -50 : 50, 0};
        starts[1] = huge ? starts[0] : st > 0 ? INT64_MAX - 23 * st : INT64_MIN - 23 * st;
        for (size_t a = 0; a < 2; a++)
            for (int64_t n = 0; n < 40; n++) {
                int64_t got[64], want[64];
                size_t k, kw;
                yc_iter *it =
                    yc_iter_take(yc_iter_map_i64(yc_iter_range(starts[a], stop, st), triple_wrap, NULL), n);
                yc_iter *ref =
                    yc_iter_take(yc_iter_map_batch(yc_iter_range(starts[a], stop, st), triple_val, NULL), n);
                CHECK_ST(pull_all_batch(it, 64, got, 64, &k), YC_RETURN);
                CHECK_ST(pull_all_batch(ref, 64, want, 64, &kw), YC_RETURN);
                yc_iter_free(it);
                yc_iter_free(ref);
                CHECK_EQ_INT(k, kw);
                for (size_t i = 0; i < k && i < kw && i < 64; i++)
                    if (got[i] != want[i]) {
                        test_fail(__FILE__, __LINE__, "step %lld n %lld [%zu] = %lld, want %lld",
                                  (long long)st, (long long)n, i, (long long)got[i],
                                  (long long)want[i]);
                        break;
                    }
            }
        /* sum and count straight from range (its int64 path) */
        yc_iter *r = yc_iter_range(starts[1], stop, st);
        yc_iter *rr = yc_iter_map_batch(yc_iter_range(starts[1], stop, st), triple_val, NULL);
        int64_t c, cw;
        CHECK_ST(yc_iter_count(r, &c), YC_OK);
        CHECK_ST(yc_iter_count(rr, &cw), YC_OK);
        CHECK_EQ_INT(c, cw);
        CHECK(c >= 4);
        yc_iter_free(r);
        yc_iter_free(rr);
    }
    yc_val s;
    yc_iter *r = yc_iter_range(-1000, 5000, 3);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
    int64_t want = 0;
    for (int64_t x = -1000; x < 5000; x += 3) want += x;
    CHECK_INTV(s, want);
    yc_iter_free(r);
}

/* ---- constructors ------------------------------------------------------------ */

TEST(i64_constructor_argument_errors)
{
    tsrc t;
    tsrc_init(&t, 5);
    CHECK(yc_iter_map_i64(tsrc_iter(&t), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: map_i64: the function is NULL");
    tsrc_init(&t, 5);
    CHECK(yc_iter_filter_i64(tsrc_iter(&t), NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: filter_i64: the function is NULL");
    CHECK(yc_iter_map_i64(NULL, i64_triple, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: map_i64: upstream iterator is NULL");
    CHECK(yc_iter_filter_i64(NULL, i64_not7, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: filter_i64: upstream iterator is NULL");
    /* the first error is kept */
    CHECK(yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, 1, 0), i64_triple, NULL), i64_not7, NULL) ==
          NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: range() arg 3 must not be zero");
}

TEST(i64_label_names_the_stage)
{
    raiser r = {.at = 3};
    yc_iter *p = yc_iter_map_i64(yc_iter_range(0, 10, 1), map_raise, &r);
    CHECK_ST(yc_iter_label(p, "i64_triple"), YC_OK);
    int64_t c;
    CHECK_ST(yc_iter_count(p, &c), YC_RAISE);
    CHECK_EXC_STAGE(&yc_ValueError, "ValueError: map at 3", "i64_triple");
    yc_iter_free(p);
}

/* ---- reentered from their own callbacks ------------------------------------- */

static yc_iter *self_stage;
static int self_refusals;

/* pulls (unless close_only), closes and frees self_stage: each refused */
static bool close_only;

static void poke_self(void)
{
    yc_val v;
    if (!close_only && yc_iter_next(self_stage, &v) == YC_EBUSY) {
        CHECK_EXC(&yc_ValueError, NULL);
        self_refusals++;
    }
    if (yc_iter_close(self_stage, NULL) == YC_EBUSY) {
        CHECK_EXC(&yc_ValueError, NULL);
        self_refusals++;
    }
    yc_iter_free(self_stage);
    if (yc_err_get()) {
        CHECK_EXC(&yc_ValueError, NULL);
        self_refusals++;
    }
}

static void map_poke(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    poke_self();
    i64_triple(NULL, xs, n);
}

static size_t filter_poke(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    (void)xs;
    poke_self();
    return n;
}

TEST(i64_stage_reentered_from_its_callback)
{
    close_only = false;
    self_refusals = 0;
    self_stage = yc_iter_map_i64(yc_iter_range(0, 3, 1), map_poke, NULL);
    int64_t got[8];
    size_t n;
    CHECK_ST(pull_all(self_stage, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 3, 6);
    CHECK_EQ_INT(self_refusals, 9);
    yc_iter_free(self_stage);

    self_refusals = 0;
    self_stage = yc_iter_filter_i64(yc_iter_range(0, 3000, 1), filter_poke, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(self_stage, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 2999 * 1500);
    CHECK(self_refusals >= 3);
    yc_iter_free(self_stage);
}

static yc_val map_poke_val(void *ctx, yc_val x)
{
    (void)ctx;
    poke_self();
    return yc_int(x.i * 3);
}

static bool pred_poke(void *ctx, yc_val x)
{
    (void)ctx;
    poke_self();
    return x.i < 2;
}

/* map, filter, takewhile and dropwhile closed or freed from inside their
 * own callback: refused (was a use after free); a pull from there takes the
 * next item (test_misuse_more.c:stateless_stage_pulled_from_its_own_callback). */
TEST(map_filter_takewhile_dropwhile_closed_or_freed_from_their_callbacks)
{
    int64_t got[8];
    size_t n;
    yc_val s;
    close_only = true;

    self_refusals = 0;
    self_stage = yc_iter_map(yc_iter_range(0, 3, 1), map_poke_val, NULL);
    CHECK_ST(pull_all(self_stage, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 3, 6);
    CHECK_EQ_INT(self_refusals, 6);
    yc_iter_free(self_stage);

    self_refusals = 0;
    self_stage = yc_iter_filter(yc_iter_range(0, 4, 1), pred_poke, NULL);
    CHECK_ST(yc_iter_sum(self_stage, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 1);
    CHECK_EQ_INT(self_refusals, 8);
    yc_iter_free(self_stage);

    self_refusals = 0;
    self_stage = yc_iter_takewhile(yc_iter_range(0, 4, 1), pred_poke, NULL);
    CHECK_ST(pull_all(self_stage, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 1);
    CHECK_EQ_INT(self_refusals, 6);
    yc_iter_free(self_stage);

    self_refusals = 0;
    self_stage = yc_iter_dropwhile(yc_iter_range(0, 4, 1), pred_poke, NULL);
    CHECK_ST(yc_iter_sum(self_stage, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 5);
    CHECK_EQ_INT(self_refusals, 6);
    yc_iter_free(self_stage);
}

TEST_MAIN()
