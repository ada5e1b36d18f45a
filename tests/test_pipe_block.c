/* The block path's fast loops give what item-by-item evaluation gives:
 * range's block fill for every block size and step (wrapping past the last
 * value too), sum's int loop (exact OverflowError, every other kind of value
 * anywhere in a block), min/max's int loop, collect; and the reducers' block
 * buffer (256-value blocks first, then YC_BATCH, and 256 again when that
 * allocation fails). Blocks of 8 values or more take the AVX2 loops on CPUs
 * that have AVX2 (shorter ones: range's baseline loop, sum item by item);
 * the last test runs the file again with YC_NO_AVX2=1, where they take the
 * baseline loops.
 * And a user-defined iterator with a block path of its own
 * (yc_iter_type.next_batch) under stages and reducers. */
#include "test_pipe_util.h"

/* ---- helpers ------------------------------------------------------------- */

/* A map_batch callback that replaces the int `at` by `v` (plants one odd
 * value in a long range) and records the block sizes it sees. */
typedef struct plant {
    int64_t at;
    yc_val v;
    size_t first_n, max_n, calls;
    int64_t raise_at; /* raise ValueError when this int comes; INT64_MIN: never */
} plant;

static void plant_cb(void *ctx, yc_val *xs, size_t n)
{
    plant *p = ctx;
    if (!p->calls) p->first_n = n;
    p->calls++;
    if (n > p->max_n) p->max_n = n;
    for (size_t i = 0; i < n; i++) {
        if (xs[i].i == p->raise_at) yc_raisef(&yc_ValueError, "planted %lld", (long long)p->raise_at);
        if (yc_type_of(xs[i]) == YC_T_INT && xs[i].i == p->at) xs[i] = p->v;
    }
}

static void plant_init(plant *p, int64_t at, yc_val v)
{
    memset(p, 0, sizeof *p);
    p->at = at;
    p->v = v;
    p->raise_at = INT64_MIN;
}

/* range(0, n) with v in place of the int at */
static yc_iter *planted(plant *p, int64_t n, int64_t at, yc_val v)
{
    plant_init(p, at, v);
    return yc_iter_map_batch(yc_iter_range(0, n, 1), plant_cb, p);
}

/* An allocator that fails every request (frees still work). */
static void *no_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) free(p);
    return NULL;
}

/* ---- range ----------------------------------------------------------------- */

/* Every cap from 1 to 13 and 64, lengths around the unrolled loops' strides,
 * positive and negative steps: the same values as start + i * step. */
TEST(range_block_fill_every_cap_and_step)
{
    static const int64_t steps[] = {1, 2, 3, -1, -7, (int64_t)1 << 40};
    static const int64_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200};
    static const size_t caps[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 64};
    static int64_t got[256];
    for (size_t si = 0; si < sizeof steps / sizeof steps[0]; si++) {
        for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
            for (size_t ci = 0; ci < sizeof caps / sizeof caps[0]; ci++) {
                int64_t step = steps[si], len = lens[li], start = -37;
                yc_iter *r = yc_iter_range(start, start + len * step, step);
                size_t n = 0;
                CHECK_ST(pull_all_batch(r, caps[ci], got, 256, &n), YC_RETURN);
                CHECK_EQ_INT(n, len);
                for (size_t i = 0; i < n && i < 256; i++) {
                    if (got[i] != start + (int64_t)i * step) {
                        test_fail(__FILE__, __LINE__, "range(%lld, .., %lld) cap %zu: [%zu] = %lld",
                                  (long long)start, (long long)step, caps[ci], i,
                                  (long long)got[i]);
                        break;
                    }
                }
                yc_iter_free(r);
            }
        }
    }
}

/* At the ends of int64: the step after the last value wraps, which must not
 * show. */
TEST(range_block_fill_at_the_int64_limits)
{
    int64_t got[64];
    size_t n;
    yc_iter *r = yc_iter_range(INT64_MAX - 20, INT64_MAX, 1);
    CHECK_ST(pull_all_batch(r, 64, got, 64, &n), YC_RETURN);
    CHECK_EQ_INT(n, 20);
    CHECK_EQ_INT(got[0], INT64_MAX - 20);
    CHECK_EQ_INT(got[19], INT64_MAX - 1);
    yc_iter_free(r);
    r = yc_iter_range(INT64_MIN + 19, INT64_MIN, -1);
    CHECK_ST(pull_all_batch(r, 8, got, 64, &n), YC_RETURN);
    CHECK_EQ_INT(n, 19);
    CHECK_EQ_INT(got[18], INT64_MIN + 1);
    yc_iter_free(r);
    r = yc_iter_range(INT64_MIN, INT64_MAX, (int64_t)1 << 60); /* 16 values, -2^63 .. 2^63 - 2^60 */
    CHECK_ST(pull_all_batch(r, 64, got, 64, &n), YC_RETURN);
    CHECK_EQ_INT(n, 16);
    for (size_t i = 0; i < 16; i++)
        CHECK_EQ_INT(got[i], (int64_t)((uint64_t)INT64_MIN + (uint64_t)i * ((uint64_t)1 << 60)));
    yc_iter_free(r);
    yc_val s;
    r = yc_iter_range(INT64_MIN, INT64_MAX, (int64_t)1 << 60); /* -2^63 + (-2^63 + 2^60) */
    CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
}

/* ---- sum --------------------------------------------------------------------- */

static __int128 tri(int64_t n) { return (__int128)n * (n - 1) / 2; } /* sum(range(n)) */

TEST(sum_of_ranges_every_length_around_the_blocks)
{
    static const int64_t lens[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 256, 257, 1023, 1024,
                                   1025, 2047, 2048, 2049, 5000, 100003};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        yc_val s;
        yc_iter *r = yc_iter_range(0, lens[li], 1);
        CHECK_ST(yc_iter_sum(r, yc_int(7), &s), YC_OK);
        CHECK_INTV(s, (int64_t)tri(lens[li]) + 7);
        yc_iter_free(r);
        r = yc_iter_range(-lens[li], lens[li], 3); /* negatives and positives */
        int64_t want = 0;
        for (int64_t x = -lens[li]; x < lens[li]; x += 3) want += x;
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
        CHECK_INTV(s, want);
        yc_iter_free(r);
    }
}

/* One odd value anywhere in a long int pipeline (the first block, the
 * boundaries of 256- and 1024-value blocks, the tail): the result is the
 * one of adding item by item. */
TEST(sum_with_an_odd_value_anywhere)
{
    static const int64_t where[] = {0, 3, 255, 256, 1023, 1024, 1279, 1280, 2303, 2304, 4999};
    const int64_t n = 5000;
    const int64_t p52 = (int64_t)1 << 52;
    for (size_t wi = 0; wi < sizeof where / sizeof where[0]; wi++) {
        int64_t at = where[wi];
        int64_t base = (int64_t)tri(n) - at;
        plant p;
        yc_val s;
        yc_iter *r;
        /* ints at and beyond the fast loop's bound [-2^52, 2^52) */
        static const int64_t big[] = {((int64_t)1 << 52) - 1, (int64_t)1 << 52, -((int64_t)1 << 52),
                                      -((int64_t)1 << 52) - 1, (int64_t)1 << 61, INT64_MIN / 2};
        for (size_t bi = 0; bi < sizeof big / sizeof big[0]; bi++) {
            r = planted(&p, n, at, yc_int(big[bi]));
            CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
            CHECK_INTV(s, base + big[bi]);
            yc_iter_free(r);
        }
        r = planted(&p, n, at, yc_bool(true));
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
        CHECK_INTV(s, base + 1);
        yc_iter_free(r);
        r = planted(&p, n, at, yc_float(0.5));
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
        CHECK_VAL(s, yc_float((double)base + 0.5));
        yc_iter_free(r);
        r = planted(&p, n, at, yc_str("x"));
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_RAISE);
        CHECK_EXC(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'int' and 'bytes'");
        yc_iter_free(r);
        r = planted(&p, n, at, YC_NONE);
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_RAISE);
        CHECK_EXC(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'int' and 'NoneType'");
        yc_iter_free(r);
        r = planted(&p, n, at, yc_int(INT64_MAX));
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_RAISE);
        CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
        yc_iter_free(r);
        /* an int whose type byte is INT but whose meta has other bits: an int */
        yc_val odd = yc_int(p52 / 2);
        odd.meta |= (uint64_t)1 << 8;
        r = planted(&p, n, at, odd);
        CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
        CHECK_INTV(s, base + p52 / 2);
        yc_iter_free(r);
    }
}

/* A running total that leaves int64 inside a block and comes back by its
 * end: OverflowError, as item by item. */
static void pm20(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] = yc_int(xs[i].i % 2 ? -20 : 20); /* 20, -20, 20, ... */
}

TEST(sum_overflow_inside_a_block_is_an_overflow)
{
    yc_val s;
    yc_iter *r = yc_iter_map_batch(yc_iter_range(0, 16, 1), pm20, NULL); /* block total 0 */
    CHECK_ST(yc_iter_sum(r, yc_int(INT64_MAX - 10), &s), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
    r = yc_iter_map_batch(yc_iter_range(1, 17, 1), pm20, NULL); /* -20, 20, ... */
    CHECK_ST(yc_iter_sum(r, yc_int(INT64_MIN + 10), &s), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
    r = yc_iter_map_batch(yc_iter_range(1, 17, 1), pm20, NULL); /* fine from the top */
    CHECK_ST(yc_iter_sum(r, yc_int(INT64_MAX - 10), &s), YC_OK);
    CHECK_INTV(s, INT64_MAX - 10);
    yc_iter_free(r);
    /* a total growing past int64 over many blocks of in-bound ints */
    r = yc_iter_repeat(yc_int((int64_t)1 << 51), 4095); /* 2^63 - 2^51 */
    CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, INT64_MAX - ((int64_t)1 << 51) + 1);
    yc_iter_free(r);
    r = yc_iter_repeat(yc_int((int64_t)1 << 51), 4096); /* 2^63 */
    CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
    r = yc_iter_repeat(yc_int(-((int64_t)1 << 51)), 4096); /* -2^63 fits */
    CHECK_ST(yc_iter_sum(r, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, INT64_MIN);
    yc_iter_free(r);
    r = yc_iter_repeat(yc_int(-((int64_t)1 << 51)), 4096);
    CHECK_ST(yc_iter_sum(r, yc_int(-1), &s), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
    /* a float start: no int path, the same value */
    r = yc_iter_range(0, 3000, 1);
    CHECK_ST(yc_iter_sum(r, yc_float(0.25), &s), YC_OK);
    CHECK_VAL(s, yc_float(4498500.25));
    yc_iter_free(r);
}

/* ---- min / max ----------------------------------------------------------------- */

TEST(min_max_int_blocks_and_odd_values)
{
    yc_val out;
    plant p;
    yc_iter *r = yc_iter_range(-2500, 2500, 1);
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, -2500);
    yc_iter_free(r);
    r = yc_iter_range(2500, -2500, -1);
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 2500);
    yc_iter_free(r);
    r = planted(&p, 5000, 4321, yc_int(INT64_MIN)); /* in a late 1024-value block */
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, INT64_MIN);
    yc_iter_free(r);
    r = planted(&p, 5000, 3, yc_int(INT64_MAX));
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, INT64_MAX);
    yc_iter_free(r);
    r = planted(&p, 5000, 2000, yc_float(1e9));
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_float(1e9));
    yc_iter_free(r);
    r = planted(&p, 5000, 2000, yc_float(-0.5));
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_float(-0.5));
    yc_iter_free(r);
    /* the first of equal ones: True == 1 */
    r = yc_iter_map_batch(yc_iter_range(1, 3000, 1), plant_cb, (plant_init(&p, 1, yc_bool(true)), &p));
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_bool(true));
    yc_iter_free(r);
    r = yc_iter_map_batch(yc_iter_range(0, 3000, 1), plant_cb, (plant_init(&p, 2999, yc_bool(true)), &p));
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 0);
    yc_iter_free(r);
    /* max is True from the first block; the ints equal to it later keep it */
    r = yc_iter_map_batch(yc_iter_range(-3000, 2, 1), plant_cb, (plant_init(&p, -3000, yc_bool(true)), &p));
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_bool(true));
    yc_iter_free(r);
    r = planted(&p, 5000, 4000, yc_str("x"));
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '>' not supported between instances of 'bytes' and 'int'");
    yc_iter_free(r);
    r = planted(&p, 5000, 4000, yc_str("x"));
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '<' not supported between instances of 'bytes' and 'int'");
    yc_iter_free(r);
}

/* ---- the reducers' block buffer ---------------------------------------------- */

TEST(reducers_move_on_to_yc_batch_blocks)
{
    plant p;
    int64_t c;
    yc_iter *r = planted(&p, 100000, -1, YC_NONE);
    CHECK_ST(yc_iter_count(r, &c), YC_OK);
    CHECK_EQ_INT(c, 100000);
    CHECK_EQ_INT(p.first_n, 256);
    CHECK_EQ_INT(p.max_n, YC_BATCH);
    yc_iter_free(r);
    /* a short pipeline never leaves the first buffer */
    r = planted(&p, 1000, -1, YC_NONE);
    CHECK_ST(yc_iter_count(r, &c), YC_OK);
    CHECK_EQ_INT(p.max_n, 256);
    yc_iter_free(r);
    /* every reducer, long enough to grow */
    yc_val out;
    r = planted(&p, 20000, -1, YC_NONE);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &out), YC_OK);
    CHECK_INTV(out, (int64_t)tri(20000));
    CHECK_EQ_INT(p.max_n, YC_BATCH);
    yc_iter_free(r);
    r = planted(&p, 20000, -1, YC_NONE);
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 19999);
    CHECK_EQ_INT(p.max_n, YC_BATCH);
    yc_iter_free(r);
    yc_vec v;
    r = planted(&p, 20000, 7, yc_str("seven"));
    CHECK_ST(yc_iter_collect(r, &v), YC_OK);
    CHECK_EQ_INT(v.len, 20000);
    CHECK_EQ_INT(p.max_n, YC_BATCH);
    int bad = 0;
    for (size_t i = 0; i < v.len; i++)
        if (i != 7 && !yc_val_eq(v.items[i], yc_int((int64_t)i))) bad++;
    CHECK_EQ_INT(bad, 0);
    CHECK_VAL(v.items[7], yc_str("seven"));
    yc_vec_free(&v);
    yc_iter_free(r);
}

static yc_val add(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    return yc_int(acc.i + x.i);
}

/* A callback that raises in a YC_BATCH-value block: the reducer returns the
 * error and frees its buffer (the leak checks of ASan and Valgrind). */
TEST(reducers_raise_from_a_large_block)
{
    plant p;
    yc_val out;
    int64_t c;
    yc_vec v;
    for (int which = 0; which < 5; which++) {
        yc_iter *r = planted(&p, 20000, -1, YC_NONE);
        p.raise_at = 15000;
        int st = which == 0   ? yc_iter_count(r, &c)
                 : which == 1 ? yc_iter_sum(r, yc_int(0), &out)
                 : which == 2 ? yc_iter_min(r, NULL, NULL, &out)
                 : which == 3 ? yc_iter_collect(r, &v)
                              : yc_iter_reduce(r, add, NULL, NULL, &out);
        CHECK_ST(st, YC_RAISE);
        CHECK_EXC_STAGE(&yc_ValueError, "ValueError: planted 15000", "map");
        CHECK_EQ_INT(p.max_n, YC_BATCH);
        if (which == 3) CHECK_EQ_INT(v.len, 0);
        yc_iter_free(r);
    }
}

/* With no memory for the larger buffer, reducers go on with 256-value
 * blocks: nothing fails. */
TEST(reducers_without_memory_keep_small_blocks)
{
    plant p;
    yc_val out;
    int64_t c;
    yc_iter *r = planted(&p, 10000, -1, YC_NONE);
    yc_set_allocator(no_alloc, NULL);
    int st = yc_iter_count(r, &c);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK_EQ_INT(c, 10000);
    CHECK_EQ_INT(p.max_n, 256);
    yc_iter_free(r);
    r = planted(&p, 10000, -1, YC_NONE);
    yc_set_allocator(no_alloc, NULL);
    st = yc_iter_sum(r, yc_int(0), &out);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK_INTV(out, (int64_t)tri(10000));
    CHECK_EQ_INT(p.max_n, 256);
    yc_iter_free(r);
    r = planted(&p, 10000, -1, YC_NONE);
    yc_set_allocator(no_alloc, NULL);
    st = yc_iter_min(r, NULL, NULL, &out);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK_INTV(out, 0);
    yc_iter_free(r);
}

/* ---- per-item callbacks on the block path ---------------------------------- */

static yc_val times3(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_int(x.i * 3);
}

static bool not7(void *ctx, yc_val x)
{
    (void)ctx;
    return x.i % 7 != 0;
}

TEST(per_item_callbacks_on_long_blocks)
{
    const int64_t n = 100000;
    int64_t want = 0;
    for (int64_t x = 0; x < n; x++)
        if ((x * 3) % 7) want += x * 3;
    yc_val s;
    yc_iter *p = yc_iter_filter(yc_iter_map(yc_iter_range(0, n, 1), times3, NULL), not7, NULL);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, want);
    yc_iter_free(p);
    int64_t c;
    p = yc_iter_filter(yc_iter_range(-5, 3000, 1), NULL, NULL); /* truthy: all but 0 */
    CHECK_ST(yc_iter_count(p, &c), YC_OK);
    CHECK_EQ_INT(c, 3004);
    yc_iter_free(p);
}

/* ---- a user iterator with a block path (yc_iter_type.next_batch) ------------ */

typedef struct ublk {
    yc_iter it;
    int64_t i, n;
    size_t chunk;       /* at most this many values per block (0: cap) */
    int64_t raise_at;   /* ValueError when this value comes; -1: never */
    bool end_with_last; /* the last values come with YC_RETURN */
    int bug;            /* 1: YC_YIELD with no value; 2: reports cap + 1 values */
    int nexts, batches, closes;
    size_t max_cap;
} ublk;

static int ublk_next(yc_iter *it, yc_val *out)
{
    ublk *u = (ublk *)it;
    u->nexts++;
    if (u->i == u->raise_at) {
        *out = YC_NONE;
        yc_err_set(yc_exc_new(&yc_ValueError, "ublk failed at %lld", (long long)u->i));
        return YC_RAISE;
    }
    if (u->i >= u->n) {
        *out = YC_NONE;
        return YC_RETURN;
    }
    *out = yc_int(u->i++);
    return YC_YIELD;
}

static int ublk_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    ublk *u = (ublk *)it;
    u->batches++;
    if (cap > u->max_cap) u->max_cap = cap;
    if (u->bug == 1) return YC_YIELD; /* *n stays 0 */
    if (u->bug == 2) {
        *n = cap + 1; /* a lie: nothing was written beyond cap */
        return YC_YIELD;
    }
    size_t lim = u->chunk && u->chunk < cap ? u->chunk : cap, k = 0;
    while (k < lim && u->i < u->n) {
        if (u->i == u->raise_at) {
            *n = k;
            yc_err_set(yc_exc_new(&yc_ValueError, "ublk failed at %lld", (long long)u->i));
            return YC_RAISE;
        }
        buf[k++] = yc_int(u->i++);
    }
    *n = k;
    if (u->i >= u->n && (u->end_with_last || k == 0)) return YC_RETURN;
    return YC_YIELD;
}

static int ublk_close(yc_iter *it, yc_val *out)
{
    ublk *u = (ublk *)it;
    u->closes++;
    u->i = u->n;
    u->raise_at = -1;
    if (out) *out = YC_NONE;
    return YC_OK;
}

static const yc_iter_type ublk_type = {
    .name = "ublk",
    .next = ublk_next,
    .close = ublk_close,
    .next_batch = ublk_next_batch,
};

static void ublk_init(ublk *u, int64_t n)
{
    memset(u, 0, sizeof *u);
    u->it.type = &ublk_type;
    u->n = n;
    u->raise_at = -1;
}

static void triple_block(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i].i *= 3;
}

static size_t not7_block(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        yc_val x = xs[i];
        xs[j] = x;
        j += x.i % 7 != 0;
    }
    return j;
}

/* The stages own their upstream and free it: a user iterator on the stack
 * needs a type without free, which ublk_type is. */
static yc_iter *ublk_pipeline(ublk *u)
{
    return yc_iter_filter_batch(yc_iter_map_batch(&u->it, triple_block, NULL), not7_block, NULL);
}

static int64_t want_pipeline(int64_t n)
{
    int64_t want = 0;
    for (int64_t x = 0; x < n; x++)
        if ((x * 3) % 7) want += x * 3;
    return want;
}

TEST(user_block_iterator_feeds_map_filter_sum)
{
    static const int64_t lens[] = {1, 7, 255, 256, 1025, 100000};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (int variant = 0; variant < 3; variant++) {
            ublk u;
            ublk_init(&u, lens[li]);
            u.end_with_last = variant == 1;
            u.chunk = variant == 2 ? 100 : 0; /* shorter blocks than asked for */
            yc_iter *p = ublk_pipeline(&u);
            yc_val s;
            CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
            CHECK_INTV(s, want_pipeline(lens[li]));
            CHECK_EQ_INT(u.nexts, 0); /* every value came through next_batch */
            CHECK(u.batches >= 1);
            CHECK(u.max_cap <= YC_BATCH);
            CHECK_EQ_INT(u.closes, 1); /* the stage closed it when it ended */
            yc_iter_free(p);
        }
    }
    /* reducers straight on the user iterator, and item by item through a stage */
    ublk u;
    ublk_init(&u, 3000);
    int64_t c;
    CHECK_ST(yc_iter_count(&u.it, &c), YC_OK);
    CHECK_EQ_INT(c, 3000);
    CHECK_EQ_INT(u.nexts, 0);
    ublk_init(&u, 3000);
    yc_vec v;
    CHECK_ST(yc_iter_collect(&u.it, &v), YC_OK);
    CHECK_EQ_INT(v.len, 3000);
    CHECK_VAL(v.items[2999], yc_int(2999));
    yc_vec_free(&v);
    ublk_init(&u, 10);
    yc_iter *p = yc_iter_map_batch(&u.it, triple_block, NULL);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all(p, got, 16, &n), YC_RETURN); /* per item: the type's next */
    CHECK_INTS(got, n, 0, 3, 6, 9, 12, 15, 18, 21, 24, 27);
    CHECK_EQ_INT(u.batches, 0);
    yc_iter_free(p);
}

/* A generator stage pulls from the user iterator's block path too. */
static yc_val g_double(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, yc_int(v.i * 2));
    return YC_NONE;
}

TEST(user_block_iterator_under_a_generator_stage)
{
    ublk u;
    ublk_init(&u, 5000);
    yc_iter *p = yc_iter_stage(&u.it, g_double, NULL, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 5000 * 4999);
    CHECK_EQ_INT(u.nexts, 0);
    yc_iter_free(p);
}

TEST(user_block_iterator_empty)
{
    ublk u;
    ublk_init(&u, 0);
    yc_iter *p = ublk_pipeline(&u);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(5), &s), YC_OK);
    CHECK_INTV(s, 5);
    CHECK_EQ_INT(u.batches, 1);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_OK); /* ended: stays ended */
    CHECK_INTV(s, 0);
    CHECK_EQ_INT(u.batches, 1);
    yc_iter_free(p);
    ublk_init(&u, 0);
    u.end_with_last = true;
    yc_val buf[4];
    size_t n = 99;
    CHECK_ST(yc_iter_next_batch(&u.it, buf, 4, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
}

TEST(user_block_iterator_errors)
{
    /* an error in the middle of a block: through the stages, with their
     * traceback entries, and the source closed */
    ublk u;
    ublk_init(&u, 100000);
    u.raise_at = 70000;
    yc_iter *p = ublk_pipeline(&u);
    yc_val s;
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    yc_exc *e = yc_err_get();
    CHECK(e && tb_has_stage(e, "map") && tb_has_stage(e, "filter"));
    CHECK_EXC(&yc_ValueError, "ValueError: ublk failed at 70000");
    /* map and filter pass an upstream error on and go on, as CPython's do
     * (they leave their iterator to decide): the source stays open, and
     * this one raises again at the same place */
    CHECK_EQ_INT(u.closes, 0);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: ublk failed at 70000");
    yc_iter_free(p);
    CHECK_EQ_INT(u.closes, 1); /* freeing the pipeline closed it */
    /* broken contracts */
    ublk_init(&u, 100);
    u.bug = 1;
    p = ublk_pipeline(&u);
    CHECK_ST(yc_iter_sum(p, yc_int(0), &s), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: next_batch of 'ublk' returned YC_YIELD with no value");
    yc_iter_free(p);
    ublk_init(&u, 100);
    u.bug = 2;
    yc_val buf[8];
    size_t n = 99;
    CHECK_ST(yc_iter_next_batch(&u.it, buf, 4, &n), YC_RAISE);
    CHECK_EQ_INT(n, 0);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: next_batch of 'ublk' stored 5 values, more than cap 4");
    /* a NULL next_batch: one next per block, as before the hook */
    static const yc_iter_type plain_type = {.name = "ublk", .next = ublk_next};
    ublk_init(&u, 300);
    u.it.type = &plain_type;
    int64_t c;
    CHECK_ST(yc_iter_count(&u.it, &c), YC_OK);
    CHECK_EQ_INT(c, 300);
    CHECK_EQ_INT(u.nexts, 301);
    CHECK_EQ_INT(u.batches, 0);
}

/* ---- the baseline loops ----------------------------------------------------- */

/* On a CPU with AVX2 the blocks of 8 values or more take the AVX2 loops:
 * run this whole file again with YC_NO_AVX2=1, which sends every block to
 * the baseline loops. */
TEST(all_of_the_above_with_the_baseline_loops)
{
#if !defined(__x86_64__)
    return; /* no AVX2 loops: the runs above took the baseline loops already */
#endif
    if (getenv("YC_NO_AVX2")) return; /* this is that run */
    char self[4096];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1); /* under Valgrind: this test */
    CHECK(len > 0);
    if (len <= 0) return;
    self[len] = '\0';
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("YC_NO_AVX2", "1", 1);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1); /* the child's "ok" lines */
        char *argv[] = {self, NULL};
        execv(self, argv);
        _exit(127);
    }
    int status = 0;
    CHECK(pid > 0);
    if (pid > 0) waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 0);
}

TEST_MAIN()
