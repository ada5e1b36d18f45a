/*
 * Reducers of lazy pipelines (yieldc/iter.h): count, sum, min, max,
 * reduce, any, all, nth, first, for_each and collect. Each pulls blocks
 * (yc_iter_next_batch, or the int64 block path when its iterator has one)
 * into a buffer of its own (rbuf) and consumes them.
 */
#include "pipe.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Locals are never read on the caught path of the callback frames below
 * (see yc__cb_caught), which GCC's -Wclobbered cannot tell. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wclobbered"
#endif


static int bad_it(const char *fn)
{
    return yc__fail(YC_EINVAL, &yc_TypeError, "%s: iterator is NULL", fn);
}

/* A reducer's block buffer, of yc_val or (the int64 block path,
 * pst_type.next_i64) of int64_t. The first blocks go to a buffer of
 * PST_BLOCK_SMALL values on the reducer's stack (`local`); a pipeline still
 * going after PST_GROW_AFTER blocks gets a heap buffer of YC_BATCH values,
 * so that per-block costs (calls, try frames, loop exits in every stage)
 * spread over more values. When that allocation fails the reducer goes on
 * with `local`: nothing fails for it. Release with rbuf_done on every path. */
typedef struct rbuf {
    void *buf, *local;
    size_t cap, elem; /* elem: sizeof(yc_val) or sizeof(int64_t) */
    unsigned blocks;
} rbuf;

#define RBUF_LOCAL(name) YC_ALIGNED_BUF yc_val name[PST_BLOCK_SMALL]

static inline void rbuf_init(rbuf *b, yc_val *local, size_t elem)
{
    b->buf = b->local = local;
    b->cap = PST_BLOCK_SMALL;
    b->elem = elem;
    b->blocks = 0;
}

YC_NOINLINE static void rbuf_grow(rbuf *b)
{
    void *h = yc__malloc(YC_BATCH * b->elem);
    if (h) {
        b->buf = h;
        b->cap = YC_BATCH;
    }
}

/* Counts a block and grows the buffer when its time has come. */
static inline void rbuf_schedule(rbuf *b)
{
    if (YC_UNLIKELY(b->blocks <= PST_GROW_AFTER) && b->blocks++ == PST_GROW_AFTER) rbuf_grow(b);
}

/* The next block of yc_val into b->buf[0, *k). */
static inline int rbuf_next(yc_iter *it, rbuf *b, size_t *k)
{
    *k = 0;
    rbuf_schedule(b);
    return yc__iter_pull_batch(it, b->buf, b->cap, k);
}

/* The next block of int64_t, through it's int64 block path f. */
static inline int rbuf_next_i64(yc_iter *it, pst_i64_fn f, rbuf *b, size_t *k)
{
    *k = 0;
    rbuf_schedule(b);
    return f(it, b->buf, b->cap, k);
}

static void rbuf_done(rbuf *b)
{
    if (b->buf != b->local) yc__free(b->buf);
    b->buf = b->local;
}

int yc_iter_count(yc_iter *it, int64_t *out)
{
    if (!it) return bad_it("yc_iter_count");
    pst_i64_fn f = pst_i64_of(it); /* counting int64 blocks moves less */
    RBUF_LOCAL(local);
    rbuf b;
    rbuf_init(&b, local, f ? sizeof(int64_t) : sizeof(yc_val));
    int64_t c = 0;
    for (;;) {
        size_t k;
        int st = f ? rbuf_next_i64(it, f, &b, &k) : rbuf_next(it, &b, &k);
        c += (int64_t)k;
        if (st < 0) {
            rbuf_done(&b);
            return st;
        }
        if (st == YC_RETURN) break;
    }
    rbuf_done(&b);
    if (out) *out = c;
    return YC_OK;
}

/* sum: exact int64 until a float comes, then Neumaier's compensated sum
 * (as CPython 3.12+ does for floats). */
typedef struct sum_acc {
    bool is_float;
    int64_t i;
    double f, c;
} sum_acc;

static inline int sum_add(sum_acc *a, yc_val x)
{
    switch (yc_type_of(x)) {
    case YC_T_INT:
    case YC_T_BOOL:
        if (!a->is_float) {
            if (__builtin_add_overflow(a->i, x.i, &a->i))
                return yc__fail(YC_RAISE, &yc_OverflowError, "sum() result does not fit in int64");
            return YC_OK;
        }
        a->f += (double)x.i;
        return YC_OK;
    case YC_T_FLOAT: {
        if (!a->is_float) {
            a->is_float = true;
            a->f = (double)a->i;
            a->c = 0.0;
        }
        double t = a->f + x.f;
        a->c += fabs(a->f) >= fabs(x.f) ? (a->f - t) + x.f : (x.f - t) + a->f;
        a->f = t;
        return YC_OK;
    }
    default:
        return yc__val_bad_operands("+", a->is_float ? yc_float(a->f) : yc_int(a->i), x);
    }
}


/* yc_iter_sum over the int64 block path, from an int total: the same
 * results and errors as sum_add item by item (OverflowError at the first
 * partial sum that leaves int64). */
static int sum_i64(yc_iter *it, pst_i64_fn f, int64_t *total)
{
    RBUF_LOCAL(local);
    rbuf b;
    rbuf_init(&b, local, sizeof(int64_t));
    int64_t acc = *total;
    for (;;) {
        size_t k;
        int st = rbuf_next_i64(it, f, &b, &k);
        const int64_t *buf = b.buf;
        int64_t bs;
        bool fast = false;
        if (k >= 8 && k <= YC_BATCH && acc >= -SUM_SAFE && acc <= SUM_SAFE) {
#if YC_PST_AVX2
            if (yc__pst_avx2()) fast = yc__sum_i64_small_avx2(buf, k, &bs);
            else
#endif
                fast = yc__sum_i64_small(buf, k, &bs);
        }
        if (fast) {
            acc += bs;
        } else {
            for (size_t i = 0; i < k; i++) {
                if (__builtin_add_overflow(acc, buf[i], &acc)) {
                    rbuf_done(&b);
                    return yc__fail(YC_RAISE, &yc_OverflowError,
                                    "sum() result does not fit in int64");
                }
            }
        }
        if (st < 0) {
            rbuf_done(&b);
            return st;
        }
        if (st == YC_RETURN) break;
    }
    rbuf_done(&b);
    *total = acc;
    return YC_OK;
}

int yc_iter_sum(yc_iter *it, yc_val start, yc_val *out)
{
    if (!it) return bad_it("yc_iter_sum");
    if (yc_type_of(start) == YC_T_BYTES)
        return yc__fail(YC_EINVAL, &yc_TypeError, "sum() can't sum bytes [use b''.join(seq) instead]");
    sum_acc a = {0};
    if (yc_type_of(start) == YC_T_FLOAT) {
        a.is_float = true;
        a.f = start.f;
    } else if (yc_type_of(start) == YC_T_INT || yc_type_of(start) == YC_T_BOOL) {
        a.i = start.i;
    } else {
        return yc__val_bad_operands("+", start, yc_int(0));
    }
    pst_i64_fn f = pst_i64_of(it);
    if (f && !a.is_float) {
        int st = sum_i64(it, f, &a.i);
        if (st == YC_OK && out) *out = yc_int(a.i);
        return st;
    }
    RBUF_LOCAL(local);
    rbuf b;
    rbuf_init(&b, local, sizeof(yc_val));
    for (;;) {
        size_t k;
        int st = rbuf_next(it, &b, &k);
        const yc_val *buf = b.buf;
        size_t i = 0;
        int64_t bs;
        if (!a.is_float && a.i >= -SUM_SAFE && a.i <= SUM_SAFE && yc__sum_block(buf, k, &bs)) {
            a.i += bs;
            i = k;
        }
        for (; i < k; i++) {
            int r = sum_add(&a, buf[i]);
            if (r < 0) {
                rbuf_done(&b);
                return r;
            }
        }
        if (st < 0) {
            rbuf_done(&b);
            return st;
        }
        if (st == YC_RETURN) break;
    }
    rbuf_done(&b);
    if (out) {
        if (a.is_float) {
            double f = a.f;
            if (a.c != 0.0 && isfinite(a.c)) f += a.c;
            *out = yc_float(f);
        } else {
            *out = yc_int(a.i);
        }
    }
    return YC_OK;
}

/* The state of min/max/reduce kept where a raising callback cannot lose
 * it: best (owned copy), its key (owned copy, or best itself). */
typedef struct best_st {
    yc_val best, bkey;
    bool have, key_owned;
} best_st;

static void best_release(best_st *b)
{
    yc_val_release(b->best);
    if (b->key_owned) yc_val_release(b->bkey);
    b->best = b->bkey = YC_NONE;
    b->have = b->key_owned = false;
}

/* min / max without a key over a block of INTs (meta exactly YC_T_INT)
 * when the best so far is none or an INT: a branch-free scan. Returns false
 * (nothing changed) for any other block. Equal ints are the same value, so
 * "the first of equal ones" holds. */
static bool minmax_ints(const yc_val *buf, size_t k, bool is_max, best_st *bp)
{
    if (bp->have && bp->best.meta != YC_T_INT) return false;
    uint64_t odd = 0;
    int64_t m = buf[0].i;
    if (is_max) {
        for (size_t i = 0; i < k; i++) {
            odd |= buf[i].meta ^ YC_T_INT;
            m = buf[i].i > m ? buf[i].i : m;
        }
    } else {
        for (size_t i = 0; i < k; i++) {
            odd |= buf[i].meta ^ YC_T_INT;
            m = buf[i].i < m ? buf[i].i : m;
        }
    }
    if (odd) return false;
    if (!bp->have || (is_max ? m > bp->best.i : m < bp->best.i)) {
        bp->best = bp->bkey = yc_int(m);
        bp->have = true;
    }
    return true;
}

static int minmax(yc_iter *it, yc_map_fn key, void *ctx, yc_val *out, bool is_max)
{
    const char *name = is_max ? "max" : "min";
    if (!it) return bad_it(is_max ? "yc_iter_max" : "yc_iter_min");
    best_st b = {0};
    best_st *bp = &b;
    RBUF_LOCAL(local);
    rbuf rb;
    rbuf *rbp = &rb;
    rbuf_init(rbp, local, sizeof(yc_val));
    for (;;) {
        size_t k;
        int st = rbuf_next(it, rbp, &k);
        const yc_val *buf = rbp->buf;
        if (k && !(key == NULL && minmax_ints(buf, k, is_max, bp))) {
            YC__GUARD(t) {
                yc__cb_caught(&t);
                best_release(bp);
                rbuf_done(rbp);
                return YC_RAISE;
            }
            for (size_t i = 0; i < k; i++) {
                yc_val x = buf[i], kx = key ? key(ctx, x) : x;
                bool better = !bp->have;
                if (!better) {
                    /* Python: item < best (min) / item > best (max) */
                    int r = is_max ? yc__val_less(bp->bkey, kx, ">", &better)
                                   : yc__val_less(kx, bp->bkey, "<", &better);
                    if (r < 0) {
                        if (is_max) { /* name the new item first, as Python does */
                            yc_err_clear();
                            yc__fail(YC_RAISE, &yc_TypeError,
                                     "'>' not supported between instances of '%s' and '%s'",
                                     yc_val_type_name(kx), yc_val_type_name(bp->bkey));
                        }
                        yc__try_end(&t);
                        best_release(bp);
                        rbuf_done(rbp);
                        return YC_RAISE;
                    }
                }
                if (!better) continue;
                if (key) {
                    if (keep_val(&bp->best, x) < 0 || keep_val(&bp->bkey, kx) < 0) {
                        yc__try_end(&t);
                        best_release(bp);
                        rbuf_done(rbp);
                        return yc__enomem();
                    }
                    bp->key_owned = true;
                } else {
                    if (keep_val(&bp->best, x) < 0) {
                        yc__try_end(&t);
                        best_release(bp);
                        rbuf_done(rbp);
                        return yc__enomem();
                    }
                    bp->bkey = bp->best;
                }
                bp->have = true;
            }
            yc__try_end(&t);
        }
        if (st < 0) {
            best_release(bp);
            rbuf_done(rbp);
            return st;
        }
        if (st == YC_RETURN) break;
    }
    rbuf_done(rbp);
    if (!b.have) return yc__fail(YC_RAISE, &yc_ValueError, "%s() iterable argument is empty", name);
    if (b.key_owned) yc_val_release(b.bkey);
    if (out) *out = b.best;
    else yc_val_release(b.best);
    return YC_OK;
}

int yc_iter_min(yc_iter *it, yc_map_fn key, void *ctx, yc_val *out)
{
    return minmax(it, key, ctx, out, false);
}

int yc_iter_max(yc_iter *it, yc_map_fn key, void *ctx, yc_val *out)
{
    return minmax(it, key, ctx, out, true);
}

int yc_iter_reduce(yc_iter *it, yc_reduce_fn fn, void *ctx, const yc_val *initial, yc_val *out)
{
    if (!it) return bad_it("yc_iter_reduce");
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "reduce: the function is NULL");
    best_st b = {0};
    best_st *bp = &b;
    if (initial) {
        if (keep_val(&b.best, *initial) < 0) return yc__enomem();
        b.have = true;
    }
    RBUF_LOCAL(local);
    rbuf rb;
    rbuf *rbp = &rb;
    rbuf_init(rbp, local, sizeof(yc_val));
    for (;;) {
        size_t k;
        int st = rbuf_next(it, rbp, &k);
        const yc_val *buf = rbp->buf;
        if (k) {
            YC__GUARD(t) {
                yc__cb_caught(&t);
                best_release(bp);
                rbuf_done(rbp);
                return YC_RAISE;
            }
            for (size_t i = 0; i < k; i++) {
                yc_val r = bp->have ? fn(ctx, bp->best, buf[i]) : buf[i];
                if (keep_val(&bp->best, r) < 0) {
                    yc__try_end(&t);
                    best_release(bp);
                    rbuf_done(rbp);
                    return yc__enomem();
                }
                bp->have = true;
            }
            yc__try_end(&t);
        }
        if (st < 0) {
            best_release(bp);
            rbuf_done(rbp);
            return st;
        }
        if (st == YC_RETURN) break;
    }
    rbuf_done(rbp);
    if (!b.have)
        return yc__fail(YC_RAISE, &yc_TypeError, "reduce() of empty iterable with no initial value");
    if (out) *out = b.best;
    else yc_val_release(b.best);
    return YC_OK;
}

/* any / all: item by item, stopping at the deciding one. */
static int anyall(yc_iter *it, yc_pred_fn pred, void *ctx, bool *out, bool want)
{
    if (!it) return bad_it(want ? "yc_iter_any" : "yc_iter_all");
    YC__GUARD(t) return yc__cb_caught(&t);
    bool found = false;
    int st;
    yc_val x;
    while ((st = yc_iter_next(it, &x)) == YC_YIELD) {
        if ((pred ? pred(ctx, x) : yc_val_truthy(x)) == want) {
            found = true;
            break;
        }
    }
    yc__try_end(&t);
    if (st < 0) return st;
    if (out) *out = want ? found : !found;
    return YC_OK;
}

int yc_iter_any(yc_iter *it, yc_pred_fn pred, void *ctx, bool *out)
{
    return anyall(it, pred, ctx, out, true);
}

int yc_iter_all(yc_iter *it, yc_pred_fn pred, void *ctx, bool *out)
{
    return anyall(it, pred, ctx, out, false);
}

int yc_iter_nth(yc_iter *it, int64_t n, yc_val *out)
{
    yc_val dummy;
    if (!out) out = &dummy;
    *out = YC_NONE;
    if (!it) return bad_it("yc_iter_nth");
    if (n < 0) return yc__fail(YC_EINVAL, &yc_ValueError, "nth: n must be >= 0, not %lld", (long long)n);
    yc_val x;
    for (int64_t i = 0;; i++) {
        int st = yc_iter_next(it, &x);
        if (st == YC_RETURN) return YC_RETURN;
        if (st < 0) return st;
        if (i == n) break;
    }
    yc_val c = yc_val_copy(x);
    if (yc__val_owned(x) && yc_is_none(c)) return yc__enomem();
    if (out == &dummy) yc_val_release(c);
    else *out = c;
    return YC_OK;
}

int yc_iter_first(yc_iter *it, yc_val *out)
{
    if (!it) {
        if (out) *out = YC_NONE;
        return bad_it("yc_iter_first");
    }
    return yc_iter_nth(it, 0, out);
}

int yc_iter_for_each(yc_iter *it, yc_each_fn fn, void *ctx)
{
    if (!it) return bad_it("yc_iter_for_each");
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "for_each: the function is NULL");
    YC__GUARD(t) return yc__cb_caught(&t);
    int st;
    yc_val x;
    while ((st = yc_iter_next(it, &x)) == YC_YIELD)
        if (!fn(ctx, x)) break;
    yc__try_end(&t);
    return st < 0 ? st : YC_OK;
}

void yc_vec_free(yc_vec *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->len; i++) yc_val_release(v->items[i]);
    yc__free(v->items);
    v->items = NULL;
    v->len = v->cap = 0;
}

int yc_iter_collect(yc_iter *it, yc_vec *out)
{
    if (!out) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_iter_collect: out is NULL");
    out->items = NULL;
    out->len = out->cap = 0;
    if (!it) return bad_it("yc_iter_collect");
    RBUF_LOCAL(local);
    rbuf b;
    rbuf_init(&b, local, sizeof(yc_val));
    for (;;) {
        size_t k;
        int st = rbuf_next(it, &b, &k);
        const yc_val *buf = b.buf;
        if (out->len + k > out->cap) {
            size_t ncap = out->cap ? out->cap * 2 : 16;
            while (ncap < out->len + k) ncap *= 2;
            yc_val *p = yc__realloc(out->items, ncap * sizeof *p);
            if (!p) {
                yc_vec_free(out);
                rbuf_done(&b);
                return yc__enomem();
            }
            out->items = p;
            out->cap = ncap;
        }
        for (size_t i = 0; i < k; i++) {
            if (!yc__val_owned(buf[i])) { /* ints, floats, ...: the value itself */
                out->items[out->len++] = buf[i];
                continue;
            }
            yc_val c = yc_val_copy(buf[i]);
            if (yc_is_none(c)) {
                yc_vec_free(out);
                rbuf_done(&b);
                return yc__enomem();
            }
            out->items[out->len++] = c;
        }
        if (st < 0) {
            yc_vec_free(out);
            rbuf_done(&b);
            return st;
        }
        if (st == YC_RETURN) {
            rbuf_done(&b);
            return YC_OK;
        }
    }
}

