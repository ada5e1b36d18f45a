/*
 * int64 blocks: the map_i64 and filter_i64 stages, which move plain int64
 * arrays (pst_type.next_i64), and the vectorised loops of the int paths:
 * range's fill (yc_val and int64 blocks) and sum's block sums, each with
 * its AVX2 form and the run-time switch between them (pipe.h).
 */
#include "pipe.h"

#include <stdlib.h>
#include <string.h>

/* Locals are never read on the caught path of the callback frames below
 * (see yc__cb_caught), which GCC's -Wclobbered cannot tell. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wclobbered"
#endif

/* ======================================================================
 * map_i64, filter_i64
 * ==================================================================== */


/* A stage whose values are all ints, moved as int64_t arrays (pst_type
 * .next_i64) from an upstream that has the int64 block path (range, another
 * _i64 stage), else converted from upstream's values (ints and bools; any
 * other kind: TypeError). Its yc_val path (next_batch, next) converts back. */
typedef struct i64_st {
    pst s;
    yc_map_i64_fn map;       /* one of the two */
    yc_filter_i64_fn filter;
    void *ctx;
    yc_val *vbuf; /* an upstream without next_i64: its blocks, YC_BATCH values; lazily */
} i64_st;

/* Blocks that small are converted on the stack (a per-item pull never
 * allocates); the same when vbuf cannot be allocated. */
#define I64_SMALL 32

static int i64_release(pst *s)
{
    i64_st *m = (i64_st *)s;
    yc__free(m->vbuf);
    m->vbuf = NULL;
    return YC_OK;
}

/* vals[0, k) into out[0, k) as int64 (ints; bools as 0 and 1). out may be
 * vals's own storage: value i is read before out[i], which lies at or below
 * it, is written. Returns k, or the index of the first value of another
 * kind. */
static size_t vals_to_i64(const yc_val *vals, int64_t *out, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        yc_val v;
        memcpy(&v, &vals[i], sizeof v);
        yc_type ty = yc_type_of(v);
        if (YC_UNLIKELY(ty != YC_T_INT && ty != YC_T_BOOL)) return i;
        memcpy(&out[i], &v.i, sizeof v.i);
    }
    return k;
}

/* The k int64 at the front of vals's storage, as int values in place: from
 * the last, whose value lies past the int64 still to be read. */
static void i64_to_vals(yc_val *vals, size_t k)
{
    const unsigned char *b = (const unsigned char *)vals;
    for (size_t i = k; i-- > 0;) {
        int64_t x;
        memcpy(&x, b + i * sizeof x, sizeof x);
        yc_val v = yc_int(x);
        memcpy(&vals[i], &v, sizeof v);
    }
}

/* The next block from upstream into buf[0, *k) as int64. */
static int i64_pull(i64_st *m, int64_t *buf, size_t cap, size_t *k)
{
    yc_iter *up = m->s.up1;
    pst_i64_fn f = pst_i64_of(up);
    if (f) return f(up, buf, cap, k);
    YC_ALIGNED_BUF yc_val small[I64_SMALL];
    yc_val *vb = small;
    if (cap > I64_SMALL) {
        if (!m->vbuf) m->vbuf = yc__malloc(YC_BATCH * sizeof *m->vbuf);
        if (m->vbuf) vb = m->vbuf;
        if (cap > YC_BATCH) cap = YC_BATCH;
        if (!m->vbuf) cap = I64_SMALL;
    }
    int st = yc_iter_next_batch(up, vb, cap, k);
    if (st < 0) { /* values that come with an error are dropped */
        *k = 0;
        return st;
    }
    size_t got = vals_to_i64(vb, buf, *k);
    if (YC_UNLIKELY(got < *k)) {
        const char *tn = yc_val_type_name(vb[got]);
        *k = 0;
        return yc__fail(YC_RAISE, &yc_TypeError, "%s: expected int, got '%s'",
                        m->s.it.type->name, tn);
    }
    return st;
}

/* The stage's callback on buf[0, k) inside a frame of its own, the stage
 * marked busy meanwhile: YC_OK with *j the values kept (k for map), or
 * YC_RAISE with the callback's exception pending. */
static int i64_call(i64_st *m, int64_t *buf, size_t k, size_t *j)
{
    m->s.in_cb = true;
    YC__GUARD(t) {
        m->s.in_cb = false;
        return yc__cb_caught(&t);
    }
    size_t r = k;
    if (m->map) {
        m->map(m->ctx, buf, k);
    } else {
        r = m->filter(m->ctx, buf, k);
        if (r > k) r = k;
    }
    m->s.in_cb = false;
    yc__try_end(&t);
    *j = r;
    return YC_OK;
}

static int i64_next_i64(yc_iter *it, int64_t *buf, size_t cap, size_t *n)
{
    i64_st *m = (i64_st *)it;
    *n = 0;
    REENTRY_GUARD(&m->s);
    BATCH_PROLOGUE(&m->s, n);
    for (;;) {
        size_t k = 0, j = 0;
        int st = i64_pull(m, buf, cap, &k);
        if (k && st >= 0 && i64_call(m, buf, k, &j) < 0) return yc__pst_finish(&m->s, YC_RAISE);
        if (j > 0 || st != YC_YIELD) return block_result(&m->s, st, j, n);
    }
}

/* The yc_val block path: the int64 block at the front of the caller's
 * buffer (cap values of 16 bytes hold 2 * cap int64), then widened in
 * place. */
static int i64_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    int st = i64_next_i64(it, (int64_t *)(void *)buf, cap, n);
    if (*n) i64_to_vals(buf, *n);
    return st;
}

static const pst_type map_i64_type = {
    .t = {.name = "map_i64", .next = next_via_batch, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = i64_next_batch},
    .release = i64_release,
    .next_i64 = i64_next_i64,
};
static const pst_type filter_i64_type = {
    .t = {.name = "filter_i64", .next = next_via_batch, .close = yc__pst_close,
          PST_ITER_BASE, .next_batch = i64_next_batch},
    .release = i64_release,
    .next_i64 = i64_next_i64,
};

static yc_iter *i64_new(yc_iter *up, const pst_type *t, yc_map_i64_fn map,
                        yc_filter_i64_fn filter, void *ctx)
{
    if (!map && !filter) return yc__pst_no_function(up, t->t.name);
    i64_st *m = (i64_st *)yc__pst_new1(sizeof *m, t, up);
    if (!m) return NULL;
    m->map = map;
    m->filter = filter;
    m->ctx = ctx;
    return &m->s.it;
}

yc_iter *yc_iter_map_i64(yc_iter *up, yc_map_i64_fn fn, void *ctx)
{
    return i64_new(up, &map_i64_type, fn, NULL, ctx);
}

yc_iter *yc_iter_filter_i64(yc_iter *up, yc_filter_i64_fn fn, void *ctx)
{
    return i64_new(up, &filter_i64_type, NULL, fn, ctx);
}

/* ======================================================================
 * range's fill loops
 * ==================================================================== */

/* buf[0, k) = cur, cur + step, ... as INT values: one 16-byte vector
 * {value, INT} per value, stepped by {step, 0}, four independent stores per
 * round; unsigned lanes, as the step after the last value may wrap. Returns
 * the value after the last. */
typedef uint64_t v2u __attribute__((vector_size(16)));

uint64_t yc__range_fill(yc_val *buf, size_t k, uint64_t cur, uint64_t step)
{
    v2u v = {cur, YC_T_INT}, st4 = {4 * step, 0};
    v2u v1 = v + (v2u){step, 0}, v2 = v + (v2u){2 * step, 0}, v3 = v + (v2u){3 * step, 0};
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        memcpy(&buf[i], &v, sizeof v);
        memcpy(&buf[i + 1], &v1, sizeof v);
        memcpy(&buf[i + 2], &v2, sizeof v);
        memcpy(&buf[i + 3], &v3, sizeof v);
        v += st4;
        v1 += st4;
        v2 += st4;
        v3 += st4;
    }
    for (; i < k; i++) {
        memcpy(&buf[i], &v, sizeof v);
        v += (v2u){step, 0};
    }
    return v[0];
}

#if YC_PST_AVX2
/* The same with two values per 32-byte vector. */
YC_TARGET_AVX2 uint64_t yc__range_fill_avx2(yc_val *buf, size_t k, uint64_t cur, uint64_t step)
{
    typedef uint64_t v4u __attribute__((vector_size(32)));
    v4u v = {cur, YC_T_INT, cur + step, YC_T_INT};
    v4u v1 = v + (v4u){2 * step, 0, 2 * step, 0}, st4 = {4 * step, 0, 4 * step, 0};
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        memcpy(&buf[i], &v, sizeof v);
        memcpy(&buf[i + 2], &v1, sizeof v1);
        v += st4;
        v1 += st4;
    }
    cur = v[0];
    for (; i < k; i++) {
        buf[i].i = (int64_t)cur;
        buf[i].meta = YC_T_INT;
        cur += step;
    }
    return cur;
}
#endif

/* The int64 block path of range: buf[0, k) = cur, cur + step, ... as plain
 * int64, two values per 16-byte vector (AVX2: four per 32-byte vector), two
 * independent stores per round; unsigned lanes, as the step after the last
 * value may wrap. Returns the value after the last. */
uint64_t yc__range_fill_i64(int64_t *buf, size_t k, uint64_t cur, uint64_t step)
{
    v2u v0 = {cur, cur + step}, v1 = v0 + (v2u){2 * step, 2 * step};
    const v2u st4 = {4 * step, 4 * step};
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        memcpy(&buf[i], &v0, sizeof v0);
        memcpy(&buf[i + 2], &v1, sizeof v1);
        v0 += st4;
        v1 += st4;
    }
    cur = v0[0];
    for (; i < k; i++) {
        buf[i] = (int64_t)cur;
        cur += step;
    }
    return cur;
}

#if YC_PST_AVX2
YC_TARGET_AVX2 uint64_t yc__range_fill_i64_avx2(int64_t *buf, size_t k, uint64_t cur,
                                              uint64_t step)
{
    typedef uint64_t v4u __attribute__((vector_size(32)));
    v4u v0 = {cur, cur + step, cur + 2 * step, cur + 3 * step};
    v4u v1 = v0 + (v4u){4 * step, 4 * step, 4 * step, 4 * step};
    const v4u st8 = {8 * step, 8 * step, 8 * step, 8 * step};
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        memcpy(&buf[i], &v0, sizeof v0);
        memcpy(&buf[i + 4], &v1, sizeof v1);
        v0 += st8;
        v1 += st8;
    }
    cur = v0[0];
    for (; i < k; i++) {
        buf[i] = (int64_t)cur;
        cur += step;
    }
    return cur;
}
#endif

/* ======================================================================
 * sum's block loops
 * ==================================================================== */

/* The int fast path of sum: true with *sum when every value of buf[0, k)
 * is an INT (meta exactly YC_T_INT) in [-2^52, 2^52); false sends the block
 * through sum_add. Then every partial sum of a block of at most 1024 values
 * is below 2^62 in magnitude, so a running total within [-2^62, 2^62]
 * cannot overflow anywhere in the block: adding the block's sum at once
 * gives what adding item by item gives, OverflowError included. Each value
 * is one 16-byte vector {i, meta} (AVX2: two values per 32-byte vector),
 * three vector operations per value and no branch: the sum of the vectors,
 * and the OR of the vectors plus {2^52, 0}. Lane 0 of the OR below 2^53
 * bounds every i; the meta lanes prove every meta equal to YC_T_INT: their
 * OR has no other bit, and their sum is k * YC_T_INT. */
#define SUM_BIAS ((uint64_t)1 << 52)

static bool sum_check(uint64_t isum, uint64_t ior, uint64_t msum, uint64_t mor, size_t k,
                      int64_t *sum)
{
    if ((ior >> 53) != 0 || mor != YC_T_INT || msum != (uint64_t)k * YC_T_INT) return false;
    *sum = (int64_t)isum;
    return true;
}

static bool sum_small_ints(const yc_val *buf, size_t k, int64_t *sum)
{
    const v2u bias = {SUM_BIAS, 0};
    v2u s0 = {0, 0}, s1 = s0, o0 = s0, o1 = s0;
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        v2u a, b, c, d;
        memcpy(&a, &buf[i], sizeof a);
        memcpy(&b, &buf[i + 1], sizeof b);
        memcpy(&c, &buf[i + 2], sizeof c);
        memcpy(&d, &buf[i + 3], sizeof d);
        s0 += a;
        s1 += b;
        o0 |= a + bias;
        o1 |= b + bias;
        s0 += c;
        s1 += d;
        o0 |= c + bias;
        o1 |= d + bias;
    }
    for (; i < k; i++) {
        v2u a;
        memcpy(&a, &buf[i], sizeof a);
        s0 += a;
        o0 |= a + bias;
    }
    s0 += s1;
    o0 |= o1;
    return sum_check(s0[0], o0[0], s0[1], o0[1], k, sum);
}

#if YC_PST_AVX2
YC_TARGET_AVX2 static bool sum_small_ints_avx2(const yc_val *buf, size_t k, int64_t *sum)
{
    typedef uint64_t v4u __attribute__((vector_size(32)));
    const v4u bias = {SUM_BIAS, 0, SUM_BIAS, 0};
    v4u s0 = {0, 0, 0, 0}, s1 = s0, o0 = s0, o1 = s0;
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        v4u a, b;
        memcpy(&a, &buf[i], sizeof a);
        memcpy(&b, &buf[i + 2], sizeof b);
        s0 += a;
        s1 += b;
        o0 |= a + bias;
        o1 |= b + bias;
    }
    s0 += s1;
    o0 |= o1;
    uint64_t is = s0[0] + s0[2], io = o0[0] | o0[2], ms = s0[1] + s0[3], mo = o0[1] | o0[3];
    for (; i < k; i++) {
        is += (uint64_t)buf[i].i;
        io |= (uint64_t)buf[i].i + SUM_BIAS;
        ms += buf[i].meta;
        mo |= buf[i].meta;
    }
    return sum_check(is, io, ms, mo, k, sum);
}

int yc__pst_avx2_on = -1;

bool yc__pst_avx2_init(void)
{
    __builtin_cpu_init(); /* in case libgcc's constructor has not run yet */
    const char *off = getenv("YC_NO_AVX2");
    int on = __builtin_cpu_supports("avx2") && !(off && *off && strcmp(off, "0") != 0);
    __atomic_store_n(&yc__pst_avx2_on, on, __ATOMIC_RELAXED);
    return on;
}
#endif

/* sum_small_ints for a block from the int path of yc_iter_sum. */
bool yc__sum_block(const yc_val *buf, size_t k, int64_t *sum)
{
    _Static_assert(YC_BATCH <= 1024, "sum_block: blocks of at most 1024 values");
    _Static_assert(sizeof(yc_val) == sizeof(v2u), "a value is one 16-byte vector");
    if (k < 8 || k > YC_BATCH) return false; /* a short block: item by item is as fast */
#if YC_PST_AVX2
    if (yc__pst_avx2()) return sum_small_ints_avx2(buf, k, sum);
#endif
    return sum_small_ints(buf, k, sum);
}

/* sum's int fast path on an int64 block (see sum_small_ints): true with
 * *sum when every value of buf[0, k) lies in [-2^52, 2^52); two vector
 * operations per value (the sum, and the OR of the values plus 2^52). */
bool yc__sum_i64_small(const int64_t *buf, size_t k, int64_t *sum)
{
    const v2u bias = {SUM_BIAS, SUM_BIAS};
    v2u s0 = {0, 0}, s1 = s0, o0 = s0, o1 = s0;
    size_t i = 0;
    for (; i + 4 <= k; i += 4) {
        v2u a, b;
        memcpy(&a, &buf[i], sizeof a);
        memcpy(&b, &buf[i + 2], sizeof b);
        s0 += a;
        s1 += b;
        o0 |= a + bias;
        o1 |= b + bias;
    }
    s0 += s1;
    o0 |= o1;
    uint64_t s = s0[0] + s0[1], o = o0[0] | o0[1];
    for (; i < k; i++) {
        s += (uint64_t)buf[i];
        o |= (uint64_t)buf[i] + SUM_BIAS;
    }
    if (o >> 53) return false;
    *sum = (int64_t)s;
    return true;
}

#if YC_PST_AVX2
YC_TARGET_AVX2 bool yc__sum_i64_small_avx2(const int64_t *buf, size_t k, int64_t *sum)
{
    typedef uint64_t v4u __attribute__((vector_size(32)));
    const v4u bias = {SUM_BIAS, SUM_BIAS, SUM_BIAS, SUM_BIAS};
    v4u s0 = {0, 0, 0, 0}, s1 = s0, o0 = s0, o1 = s0;
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        v4u a, b;
        memcpy(&a, &buf[i], sizeof a);
        memcpy(&b, &buf[i + 4], sizeof b);
        s0 += a;
        s1 += b;
        o0 |= a + bias;
        o1 |= b + bias;
    }
    s0 += s1;
    o0 |= o1;
    uint64_t s = s0[0] + s0[1] + s0[2] + s0[3], o = o0[0] | o0[1] | o0[2] | o0[3];
    for (; i < k; i++) {
        s += (uint64_t)buf[i];
        o |= (uint64_t)buf[i] + SUM_BIAS;
    }
    if (o >> 53) return false;
    *sum = (int64_t)s;
    return true;
}
#endif
