/*
 * Lazy pipelines: the stage life cycle shared by every stage and source
 * (pipe.h), owned values and tuples, the combinators and the reducers of
 * yieldc/iter.h.
 *
 * Every combinator is a plain iterator: a pull runs the stage's C code, no
 * context switch. Each has a per-item next and, where it pays, a next_batch
 * that works on the consumer's buffer in place (map and filter never copy:
 * they ask upstream to fill the caller's buffer and transform or compact
 * it). Callbacks run inside one yc__try frame per pull or per block, so a
 * raise costs nothing until it happens and is caught without reaching the
 * consumer's handlers.
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

static int nomem(void)
{
    yc__err_set(yc__cur(), &yc__nomem);
    return YC_ENOMEM;
}

/* ======================================================================
 * The stage life cycle
 * ==================================================================== */

static bool is_pst(const yc_iter *it) { return it && it->type && it->type->free == yc__pst_free; }

static int depth_of(const yc_iter *it) { return is_pst(it) ? ((const pst *)it)->depth : 0; }

/* s pulled, closed or freed from inside a callback of its own (accumulate,
 * unique, groupby, flat_map, which keep state across the call; map_i64,
 * filter_i64): refused, nothing changed, as for a generator resumed from
 * its own body. map, filter, takewhile and dropwhile refuse only close and
 * free (the callback works on their item or block): a pull from their own
 * callback takes the next item, as CPython's map does, and nests (in_cb
 * counts the callbacks running). */
static int reentered(pst *s)
{
    return yc__fail(YC_EBUSY, &yc_ValueError,
                    "%s is already executing (called from its own callback)", s->it.type->name);
}

const char *yc__pst_name(const pst *s) { return s->label ? s->label : s->it.type->name; }

static bool seen_before(yc_iter *const *ups, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (ups[j] == ups[i]) return true;
    return false;
}

/* Frees each iterator of ups[0..n) once, however often it is named. */
static void free_ups(yc_iter *const *ups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!seen_before(ups, i)) yc_iter_free(ups[i]);
}

static int ptr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(yc_iter *const *)a, y = (uintptr_t)*(yc_iter *const *)b;
    return (x > y) - (x < y);
}

/* Whether an iterator is named twice in ups[0..n): each upstream is taken
 * once (zip(it, it) would free it twice). -1: no memory to find out. */
static int has_duplicate(yc_iter *const *ups, size_t n)
{
    if (n <= 64) {
        for (size_t i = 1; i < n; i++)
            if (seen_before(ups, i)) return 1;
        return 0;
    }
    yc_iter **c = yc__malloc(n * sizeof *c);
    if (!c) return -1;
    memcpy(c, ups, n * sizeof *c);
    qsort(c, n, sizeof *c, ptr_cmp);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++) dup = c[i] == c[i - 1];
    yc__free(c);
    return dup;
}

pst *yc__pst_new(size_t size, const pst_type *t, yc_iter *const *ups, size_t n)
{
    bool missing = false;
    for (size_t i = 0; i < n; i++) missing |= ups[i] == NULL;
    if (missing) {
        yc__coro *co = yc__cur();
        yc_exc *pending = co->err; /* freeing the others must not lose it */
        co->err = NULL;
        free_ups(ups, n);
        yc__err_set(co, pending);
        if (!pending) yc__fail(YC_EINVAL, &yc_TypeError, "%s: upstream iterator is NULL", t->t.name);
        return NULL;
    }
    int dup = n > 1 ? has_duplicate(ups, n) : 0;
    if (dup) {
        free_ups(ups, n);
        if (dup < 0) nomem();
        else
            yc__fail(YC_EINVAL, &yc_ValueError,
                     "%s: the same iterator is given twice (each upstream is taken once)",
                     t->t.name);
        return NULL;
    }
    pst *s = yc__malloc(size);
    yc_iter **arr = n > 1 ? yc__malloc(n * sizeof *arr) : NULL;
    if (!s || (n > 1 && !arr)) {
        yc__free(s);
        yc__free(arr);
        free_ups(ups, n);
        nomem();
        return NULL;
    }
    memset(s, 0, size);
    s->it.type = &t->t;
    if (n > 1) {
        memcpy(arr, ups, n * sizeof *arr);
        s->ups = arr;
    } else {
        s->up1 = n ? ups[0] : NULL;
        s->ups = &s->up1;
    }
    s->nups = n;
    int d = -1;
    for (size_t i = 0; i < n; i++)
        if (depth_of(ups[i]) > d) d = depth_of(ups[i]);
    s->depth = d + 1;
    return s;
}

yc_iter *yc__pst_no_up(const pst_type *t)
{
    if (!yc_err_get()) yc__fail(YC_EINVAL, &yc_TypeError, "%s: upstream iterator is NULL", t->t.name);
    return NULL;
}

pst *yc__pst_new1(size_t size, const pst_type *t, yc_iter *up)
{
    return yc__pst_new(size, t, &up, 1);
}

void yc__pst_tb(pst *s)
{
    yc__coro *co = yc__cur();
    if (co->err) yc__tb_add(co->err, "<pipeline>", s->depth, yc__pst_name(s), yc__coro_name(co));
}

void yc__pst_unraisable(const char *what)
{
    yc_exc *e = yc_err_take();
    if (!e) return;
    char obj[160];
    snprintf(obj, sizeof obj, "<pipeline stage %s>", what);
    yc__unraisable(e, obj);
    yc_exc_unref(e);
}

int yc__pst_shutdown(pst *s)
{
    s->done = true;
    if (s->shut) return YC_OK;
    s->shut = true;
    const pst_type *t = (const pst_type *)s->it.type;
    int st = t->release ? t->release(s) : YC_OK;
    yc_exc *first = st < 0 ? yc_err_take() : NULL;
    /* upstream after the stage's own resources, as a generator expression's
     * frame is cleared before its iterator's last reference goes */
    for (size_t i = 0; i < s->nups; i++) {
        if (!s->ups[i]) continue;
        int r = yc_iter_close(s->ups[i], NULL);
        if (r < 0) {
            if (!first) {
                first = yc_err_take();
                st = r;
            } else {
                yc__pst_unraisable(yc__pst_name(s));
            }
        }
    }
    if (first) yc__err_set(yc__cur(), first);
    return st;
}

int yc__pst_finish(pst *s, int st)
{
    if (st < 0) yc__pst_tb(s);
    yc_exc *saved = yc_err_take();
    if (yc__pst_shutdown(s) < 0) yc__pst_unraisable(yc__pst_name(s));
    if (saved) yc__err_set(yc__cur(), saved);
    return st;
}

int yc__pst_close(yc_iter *it, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (YC_UNLIKELY(((pst *)it)->in_cb)) return reentered((pst *)it);
    return yc__pst_shutdown((pst *)it);
}

void yc__pst_free(yc_iter *it)
{
    pst *s = (pst *)it;
    if (YC_UNLIKELY(s->in_cb)) { /* nothing done: the error is pending */
        reentered(s);
        return;
    }
    yc__coro *co = yc__cur();
    yc_exc *saved = co->err; /* the caller's pending error survives */
    co->err = NULL;
    if (yc__pst_shutdown(s) < 0) yc__pst_unraisable(yc__pst_name(s));
    const pst_type *t = (const pst_type *)s->it.type;
    if (t->destroy) t->destroy(s);
    for (size_t i = 0; i < s->nups; i++) yc_iter_free(s->ups[i]);
    if (s->ups != &s->up1) yc__free(s->ups);
    yc__free(s);
    yc__err_set(yc__cur(), saved);
}

int yc_iter_label(yc_iter *it, const char *label)
{
    if (!is_pst(it))
        return yc__fail(YC_EINVAL, &yc_TypeError, "yc_iter_label: '%s' is not a pipeline stage",
                        yc_iter_name(it));
    ((pst *)it)->label = label;
    return YC_OK;
}

const char *yc_iter_name(const yc_iter *it)
{
    return it && it->type && it->type->name ? it->type->name : "?";
}

/* Checks at the start of every pull: ended, or ending now because the
 * previous block carried upstream's last values. */
#define PULL_PROLOGUE(s, out)                                                 \
    do {                                                                      \
        if ((s)->done) return pst_ended(out);                                 \
        if ((s)->upend) {                                                     \
            *(out) = YC_NONE;                                                 \
            return yc__pst_finish((s), YC_RETURN);                            \
        }                                                                     \
    } while (0)
#define BATCH_PROLOGUE(s, n)                                                  \
    do {                                                                      \
        *(n) = 0;                                                             \
        if ((s)->done) return YC_RETURN;                                      \
        if ((s)->upend) return yc__pst_finish((s), YC_RETURN);                \
    } while (0)

/* The first check of a pull of a stage whose callbacks must not reenter it
 * (before the prologues above, which may end the stage). */
#define REENTRY_GUARD(s)                                                      \
    do {                                                                      \
        if (YC_UNLIKELY((s)->in_cb)) return reentered(s);                     \
    } while (0)
/* The per-item next of a stage that only has a block path. */
static int next_via_batch(yc_iter *it, yc_val *out)
{
    size_t n;
    int st = pst_next_batch(it, out, 1, &n);
    if (st == YC_YIELD) return YC_YIELD;
    *out = YC_NONE;
    return st;
}

/* After a block from upstream: values with YC_RETURN are passed on with
 * YC_YIELD and the stage ends at the next pull; values with an error are
 * dropped and the stage ends now. */
static int block_result(pst *s, int st, size_t k, size_t *n)
{
    if (st == YC_YIELD || (st == YC_RETURN && k > 0)) {
        if (st == YC_RETURN) s->upend = true;
        *n = k;
        return YC_YIELD;
    }
    *n = 0;
    return yc__pst_finish(s, st);
}

/* ======================================================================
 * Values
 * ==================================================================== */

bool yc_val_truthy(yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: return false;
    case YC_T_BOOL:
    case YC_T_INT: return v.i != 0;
    case YC_T_FLOAT: return v.f != 0.0;
    case YC_T_BYTES: return yc_len(v) != 0;
    case YC_T_PTR: {
        const yc_tuple *t = yc_tuple_of(v);
        return t ? t->len != 0 : v.p != NULL;
    }
    }
    return true;
}

bool yc__val_owned(yc_val v) { return yc_type_of(v) == YC_T_BYTES || yc_tuple_of(v) != NULL; }

const char *yc__val_tname(yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: return "NoneType";
    case YC_T_BOOL: return "bool";
    case YC_T_INT: return "int";
    case YC_T_FLOAT: return "float";
    case YC_T_BYTES: return "bytes";
    case YC_T_PTR: return yc_tuple_of(v) ? "tuple" : "pointer";
    }
    return "?";
}

yc_val yc_val_copy(yc_val v)
{
    if (yc_type_of(v) == YC_T_BYTES) {
        size_t n = yc_len(v);
        char *p = yc__malloc(n ? n : 1);
        if (!p) {
            nomem();
            return YC_NONE;
        }
        if (n) memcpy(p, v.s, n);
        return yc_bytes(p, n);
    }
    const yc_tuple *t = yc_tuple_of(v);
    if (!t) return v;
    yc_tuple *c = yc__malloc(sizeof *c + t->len * sizeof(yc_val));
    if (!c) {
        nomem();
        return YC_NONE;
    }
    c->len = t->len;
    for (size_t i = 0; i < t->len; i++) {
        c->items[i] = yc_val_copy(t->items[i]);
        if (yc__val_owned(t->items[i]) && yc_is_none(c->items[i])) {
            for (size_t j = 0; j < i; j++) yc_val_release(c->items[j]);
            yc__free(c);
            return YC_NONE;
        }
    }
    return yc_tuple_val(c);
}

void yc_val_release(yc_val v)
{
    if (yc_type_of(v) == YC_T_BYTES) {
        yc__free((void *)v.s);
        return;
    }
    const yc_tuple *t = yc_tuple_of(v);
    if (!t) return;
    for (size_t i = 0; i < t->len; i++) yc_val_release(t->items[i]);
    yc__free((void *)t);
}

bool yc__val_within(yc_val v, yc_val from)
{
    if (v.p == from.p && v.meta == from.meta) return true;
    if (yc_type_of(v) != YC_T_BYTES) return false;
    const yc_tuple *t = yc_tuple_of(from);
    size_t nfrom = t ? t->len : 1;
    for (size_t i = 0; i < nfrom; i++) {
        yc_val f = t ? t->items[i] : from;
        if (yc_type_of(f) != YC_T_BYTES) continue;
        uintptr_t lo = (uintptr_t)f.s, hi = lo + yc_len(f), p = (uintptr_t)v.s;
        if (p >= lo && p <= hi && yc_len(v) <= hi - p) return true;
    }
    return false;
}

int yc__pst_keep(pst_keep *k, yc_val *v)
{
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        yc_val *p = yc__realloc(k->v, ncap * sizeof *p);
        if (!p) return nomem();
        k->v = p;
        k->cap = ncap;
    }
    yc_val c = yc_val_copy(*v);
    if (yc_is_none(c)) return YC_ENOMEM; /* MemoryError pending */
    k->v[k->n++] = c;
    *v = c;
    return YC_OK;
}

void yc__pst_keep_free(pst_keep *k)
{
    pst_keep_clear(k);
    yc__free(k->v);
    k->v = NULL;
    k->cap = 0;
}

/* Replaces the owned *slot by an owned copy of v (v may point into *slot:
 * copied before the old value goes). YC_OK or YC_ENOMEM. */
static int keep_val(yc_val *slot, yc_val v)
{
    if (v.meta == slot->meta && v.i == slot->i) return YC_OK; /* the same value */
    yc_val c = yc_val_copy(v);
    if (yc__val_owned(v) && yc_is_none(c)) return YC_ENOMEM;
    yc_val_release(*slot);
    *slot = c;
    return YC_OK;
}

static bool is_num(yc_val v)
{
    yc_type t = yc_type_of(v);
    return t == YC_T_INT || t == YC_T_BOOL || t == YC_T_FLOAT;
}

static int bad_operands(const char *op, yc_val a, yc_val b)
{
    return yc__fail(YC_RAISE, &yc_TypeError, "unsupported operand type(s) for %s: '%s' and '%s'",
                    op, yc__val_tname(a), yc__val_tname(b));
}

int yc__val_add(yc_val a, yc_val b, yc_val *out)
{
    if (!is_num(a) || !is_num(b)) return bad_operands("+", a, b);
    if (yc_type_of(a) == YC_T_FLOAT || yc_type_of(b) == YC_T_FLOAT) {
        double x = yc_type_of(a) == YC_T_FLOAT ? a.f : (double)a.i;
        double y = yc_type_of(b) == YC_T_FLOAT ? b.f : (double)b.i;
        *out = yc_float(x + y);
        return YC_OK;
    }
    int64_t r;
    if (__builtin_add_overflow(a.i, b.i, &r))
        return yc__fail(YC_RAISE, &yc_OverflowError, "int addition does not fit in int64");
    *out = yc_int(r);
    return YC_OK;
}

#define TWO63 9223372036854775808.0 /* 2^63 */

static int64_t as_int(yc_val v) { return yc_type_of(v) == YC_T_BOOL ? v.b : v.i; }

/* i < f exactly, as Python compares an int with a float (no libm: within
 * (-2^63, 2^63) f truncates to t exactly, and i < f <=> i < ceil(f)). */
static bool int_lt_float(int64_t i, double f)
{
    if (f != f || f < -TWO63) return false; /* NaN compares false */
    if (f >= TWO63) return true;
    int64_t t = (int64_t)f;
    return f > (double)t ? i <= t : i < t; /* ceil(f) is t + 1 or t */
}

/* f < i exactly: f < i <=> floor(f) < i. */
static bool float_lt_int(double f, int64_t i)
{
    if (f != f || f >= TWO63) return false;
    if (f < -TWO63) return true;
    int64_t t = (int64_t)f;
    return f < (double)t ? t <= i : t < i; /* floor(f) is t - 1 or t */
}

int yc__val_less(yc_val a, yc_val b, const char *op, bool *lt)
{
    if (is_num(a) && is_num(b)) {
        bool af = yc_type_of(a) == YC_T_FLOAT, bf = yc_type_of(b) == YC_T_FLOAT;
        *lt = af && bf ? a.f < b.f
              : af     ? float_lt_int(a.f, as_int(b))
              : bf     ? int_lt_float(as_int(a), b.f)
                       : as_int(a) < as_int(b);
        return YC_OK;
    }
    if (yc_type_of(a) == YC_T_BYTES && yc_type_of(b) == YC_T_BYTES) {
        size_t la = yc_len(a), lb = yc_len(b);
        int c = la && lb ? memcmp(a.s, b.s, la < lb ? la : lb) : 0;
        *lt = c < 0 || (c == 0 && la < lb);
        return YC_OK;
    }
    return yc__fail(YC_RAISE, &yc_TypeError, "'%s' not supported between instances of '%s' and '%s'",
                    op, yc__val_tname(a), yc__val_tname(b));
}

/* ======================================================================
 * map, map_batch
 * ==================================================================== */

typedef struct map_st {
    pst s;
    yc_map_fn fn;
    yc_map_batch_fn bfn;
    void *ctx;
    pst_keep keep; /* copies of the current block's results (pipe.h) */
} map_st;

static int map_next(yc_iter *it, yc_val *out)
{
    map_st *m = (map_st *)it;
    PULL_PROLOGUE(&m->s, out);
    pst_keep_clear(&m->keep);
    yc_val x;
    int st = yc_iter_next(m->s.up1, &x);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return yc__pst_finish(&m->s, st);
    }
    yc__try t;
    yc__try_push(&t);
    m->s.in_cb++;
    if (setjmp(t.jb)) {
        m->s.in_cb--;
        *out = YC_NONE;
        return yc__pst_finish(&m->s, yc__cb_caught(&t));
    }
    if (m->fn) {
        *out = m->fn(m->ctx, x);
    } else {
        m->bfn(m->ctx, &x, 1);
        *out = x;
    }
    m->s.in_cb--;
    yc__try_end(&t);
    return YC_YIELD;
}

/* The per-item loops of the block path, kept out of the functions that call
 * setjmp, where the compiler keeps locals in memory: here the index and
 * count stay in registers. */
YC_NOINLINE static void map_items(yc_map_fn fn, void *ctx, yc_val *buf, size_t k,
                                  pst_keep *keep)
{
    for (size_t i = 0; i < k; i++) {
        yc_val x = buf[i];
        yc_val r = fn(ctx, x);
        /* a result that may point into memory the callback reuses: copied,
         * so that the block reads as item by item would (pipe.h) */
        if (YC_UNLIKELY(yc__val_owned(r)) && i + 1 < k && !yc__val_within(r, x) &&
            yc__pst_keep(keep, &r) < 0)
            yc_raise(yc_err_take());
        buf[i] = r;
    }
}

YC_NOINLINE static size_t filter_items(yc_pred_fn pred, void *ctx, yc_val *buf, size_t k)
{
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        yc_val x = buf[i];
        buf[j] = x;
        j += pred(ctx, x);
    }
    return j;
}

YC_NOINLINE static size_t filter_truthy(yc_val *buf, size_t k)
{
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        yc_val x = buf[i];
        buf[j] = x;
        j += yc_val_truthy(x);
    }
    return j;
}

static int map_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    map_st *m = (map_st *)it;
    *n = 0;
    BATCH_PROLOGUE(&m->s, n);
    pst_keep_clear(&m->keep);
    size_t k = 0;
    int st = yc_iter_next_batch(m->s.up1, buf, cap, &k);
    if (k && st >= 0) {
        yc__try t;
        yc__try_push(&t);
        m->s.in_cb++;
        if (setjmp(t.jb)) {
            m->s.in_cb--;
            return yc__pst_finish(&m->s, yc__cb_caught(&t));
        }
        if (m->fn) map_items(m->fn, m->ctx, buf, k, &m->keep);
        else m->bfn(m->ctx, buf, k);
        m->s.in_cb--;
        yc__try_end(&t);
    }
    return block_result(&m->s, st, k, n);
}

/* A stage constructor given no function: takes (frees) up, as every
 * constructor does, and fails with TypeError naming the stage. */
static yc_iter *no_function(yc_iter *up, const char *stage)
{
    yc_iter_free(up);
    yc__fail(YC_EINVAL, &yc_TypeError, "%s: the function is NULL", stage);
    return NULL;
}

/* The copies live until the next pull or the end, whichever comes first:
 * after the end no value of the stage is valid any more. */
static void map_destroy(pst *s) { yc__pst_keep_free(&((map_st *)s)->keep); }

static const pst_type map_type = {
    .t = {.name = "map", .next = map_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = map_next_batch},
    .destroy = map_destroy,
};

static yc_iter *map_new(yc_iter *up, yc_map_fn fn, yc_map_batch_fn bfn, void *ctx)
{
    if (!fn && !bfn) return no_function(up, "map");
    map_st *m = (map_st *)yc__pst_new1(sizeof *m, &map_type, up);
    if (!m) return NULL;
    m->fn = fn;
    m->bfn = bfn;
    m->ctx = ctx;
    return &m->s.it;
}

yc_iter *yc_iter_map(yc_iter *up, yc_map_fn fn, void *ctx) { return map_new(up, fn, NULL, ctx); }

yc_iter *yc_iter_map_batch(yc_iter *up, yc_map_batch_fn fn, void *ctx)
{
    if (!fn) return no_function(up, "map_batch");
    return map_new(up, NULL, fn, ctx);
}

/* ======================================================================
 * filter, filter_batch
 * ==================================================================== */

typedef struct filter_st {
    pst s;
    yc_pred_fn pred;
    yc_filter_batch_fn bfn;
    void *ctx;
} filter_st;

static inline bool keep(filter_st *f, yc_val x)
{
    return f->pred ? f->pred(f->ctx, x) : yc_val_truthy(x);
}

static int filter_next(yc_iter *it, yc_val *out)
{
    filter_st *f = (filter_st *)it;
    PULL_PROLOGUE(&f->s, out);
    if (f->bfn) return next_via_batch(it, out);
    yc__try t;
    yc__try_push(&t);
    f->s.in_cb++;
    if (setjmp(t.jb)) {
        f->s.in_cb--;
        *out = YC_NONE;
        return yc__pst_finish(&f->s, yc__cb_caught(&t));
    }
    for (;;) {
        int st = yc_iter_next(f->s.up1, out);
        if (st != YC_YIELD) {
            f->s.in_cb--;
            yc__try_end(&t);
            *out = YC_NONE;
            return yc__pst_finish(&f->s, st);
        }
        if (keep(f, *out)) break;
    }
    f->s.in_cb--;
    yc__try_end(&t);
    return YC_YIELD;
}

static int filter_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    filter_st *f = (filter_st *)it;
    *n = 0;
    BATCH_PROLOGUE(&f->s, n);
    for (;;) {
        size_t k = 0, j = 0;
        int st = yc_iter_next_batch(f->s.up1, buf, cap, &k);
        if (k && st >= 0) {
            yc__try t;
            yc__try_push(&t);
            f->s.in_cb++;
            if (setjmp(t.jb)) {
                f->s.in_cb--;
                return yc__pst_finish(&f->s, yc__cb_caught(&t));
            }
            if (f->bfn) {
                j = f->bfn(f->ctx, buf, k);
                if (j > k) j = k;
            } else if (f->pred) {
                j = filter_items(f->pred, f->ctx, buf, k);
            } else {
                j = filter_truthy(buf, k);
            }
            f->s.in_cb--;
            yc__try_end(&t);
        }
        if (j > 0 || st != YC_YIELD) return block_result(&f->s, st, j, n);
    }
}

static const pst_type filter_type = {
    .t = {.name = "filter", .next = filter_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = filter_next_batch},
};

yc_iter *yc_iter_filter(yc_iter *up, yc_pred_fn pred, void *ctx)
{
    filter_st *f = (filter_st *)yc__pst_new1(sizeof *f, &filter_type, up);
    if (!f) return NULL;
    f->pred = pred;
    f->ctx = ctx;
    return &f->s.it;
}

yc_iter *yc_iter_filter_batch(yc_iter *up, yc_filter_batch_fn fn, void *ctx)
{
    if (!fn) return no_function(up, "filter_batch");
    filter_st *f = (filter_st *)yc__pst_new1(sizeof *f, &filter_type, up);
    if (!f) return NULL;
    f->bfn = fn;
    f->ctx = ctx;
    return &f->s.it;
}

/* ======================================================================
 * map_i64, filter_i64: blocks of plain int64
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
        const char *tn = yc__val_tname(vb[got]);
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
    yc__try t;
    yc__try_push(&t);
    m->s.in_cb = true;
    if (setjmp(t.jb)) {
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
    .t = {.name = "map_i64", .next = next_via_batch, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = i64_next_batch},
    .release = i64_release,
    .next_i64 = i64_next_i64,
};
static const pst_type filter_i64_type = {
    .t = {.name = "filter_i64", .next = next_via_batch, .close = yc__pst_close,
          .free = yc__pst_free, .next_batch = i64_next_batch},
    .release = i64_release,
    .next_i64 = i64_next_i64,
};

static yc_iter *i64_new(yc_iter *up, const pst_type *t, yc_map_i64_fn map,
                        yc_filter_i64_fn filter, void *ctx)
{
    if (!map && !filter) return no_function(up, t->t.name);
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
 * islice, take, drop
 * ==================================================================== */

/* As CPython's islice: cnt items consumed so far, next the index of the
 * next item to yield (clamped to stop), stop YC_NO_LIMIT for None. Before
 * ending at stop it consumes the items up to stop, as CPython does. */
typedef struct islice_st {
    pst s;
    int64_t cnt, next, stop, step;
} islice_st;

static int islice_skip(islice_st *sl, yc_val *scratch, size_t cap)
{
    while (sl->cnt < sl->next) {
        size_t want = (size_t)(sl->next - sl->cnt), k = 0;
        if (want > cap) want = cap;
        int st = yc_iter_next_batch(sl->s.up1, scratch, want, &k);
        sl->cnt += (int64_t)k;
        if (st == YC_RETURN || st < 0) return st;
    }
    return YC_YIELD;
}

static int islice_next(yc_iter *it, yc_val *out)
{
    islice_st *sl = (islice_st *)it;
    PULL_PROLOGUE(&sl->s, out);
    int st = islice_skip(sl, out, 1);
    if (st != YC_YIELD || sl->cnt >= sl->stop) {
        *out = YC_NONE;
        return yc__pst_finish(&sl->s, st == YC_YIELD ? YC_RETURN : st);
    }
    st = yc_iter_next(sl->s.up1, out);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return yc__pst_finish(&sl->s, st);
    }
    sl->cnt++;
    int64_t nx;
    if (__builtin_add_overflow(sl->next, sl->step, &nx) || nx > sl->stop) nx = sl->stop;
    sl->next = nx;
    return YC_YIELD;
}

static int islice_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    islice_st *sl = (islice_st *)it;
    BATCH_PROLOGUE(&sl->s, n);
    if (sl->step != 1) {
        int st = islice_next(it, buf);
        *n = st == YC_YIELD;
        return st;
    }
    int st = islice_skip(sl, buf, cap);
    if (st != YC_YIELD || sl->cnt >= sl->stop)
        return yc__pst_finish(&sl->s, st == YC_YIELD ? YC_RETURN : st);
    size_t want = (size_t)(sl->stop - sl->cnt), k = 0;
    if (want > cap) want = cap;
    st = yc_iter_next_batch(sl->s.up1, buf, want, &k);
    sl->cnt += (int64_t)k;
    sl->next = sl->cnt;
    return block_result(&sl->s, st, k, n);
}

static const pst_type islice_type = {
    .t = {.name = "islice", .next = islice_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = islice_next_batch},
};

yc_iter *yc_iter_islice(yc_iter *up, int64_t start, int64_t stop, int64_t step)
{
    const char *err = NULL;
    if (stop < 0)
        err = "Stop argument for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    else if (start < 0)
        err = "Indices for islice() must be None or an integer: 0 <= x <= sys.maxsize.";
    else if (step < 1)
        err = "Step for islice() must be a positive integer or None.";
    if (err) {
        if (!up) return yc__pst_no_up(&islice_type);
        yc_iter_free(up);
        yc__fail(YC_EINVAL, &yc_ValueError, "%s", err);
        return NULL;
    }
    islice_st *sl = (islice_st *)yc__pst_new1(sizeof *sl, &islice_type, up);
    if (!sl) return NULL;
    sl->next = start;
    sl->stop = stop;
    sl->step = step;
    return &sl->s.it;
}

yc_iter *yc_iter_take(yc_iter *up, int64_t n) { return yc_iter_islice(up, 0, n, 1); }
yc_iter *yc_iter_drop(yc_iter *up, int64_t n) { return yc_iter_islice(up, n, YC_NO_LIMIT, 1); }

/* ======================================================================
 * takewhile, dropwhile
 * ==================================================================== */

typedef struct while_st {
    pst s;
    yc_pred_fn pred;
    void *ctx;
    bool dropping; /* dropwhile: still dropping */
} while_st;

static int takewhile_next(yc_iter *it, yc_val *out)
{
    while_st *w = (while_st *)it;
    PULL_PROLOGUE(&w->s, out);
    int st = yc_iter_next(w->s.up1, out);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return yc__pst_finish(&w->s, st);
    }
    yc__try t;
    yc__try_push(&t);
    w->s.in_cb++;
    if (setjmp(t.jb)) {
        w->s.in_cb--;
        *out = YC_NONE;
        return yc__pst_finish(&w->s, yc__cb_caught(&t));
    }
    bool ok = w->pred(w->ctx, *out);
    w->s.in_cb--;
    yc__try_end(&t);
    if (ok) return YC_YIELD;
    *out = YC_NONE;
    return yc__pst_finish(&w->s, YC_RETURN); /* closes upstream at once */
}

static int takewhile_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    while_st *w = (while_st *)it;
    *n = 0;
    BATCH_PROLOGUE(&w->s, n);
    size_t k = 0, j = 0;
    int st = yc_iter_next_batch(w->s.up1, buf, cap, &k);
    if (k && st >= 0) {
        yc__try t;
        yc__try_push(&t);
        w->s.in_cb++;
        if (setjmp(t.jb)) {
            w->s.in_cb--;
            return yc__pst_finish(&w->s, yc__cb_caught(&t));
        }
        while (j < k && w->pred(w->ctx, buf[j])) j++;
        w->s.in_cb--;
        yc__try_end(&t);
        if (j < k) { /* a false one: the values before it, then the end */
            if (j == 0) return yc__pst_finish(&w->s, YC_RETURN);
            st = YC_RETURN;
        }
    }
    return block_result(&w->s, st, j, n);
}

static int dropwhile_next(yc_iter *it, yc_val *out)
{
    while_st *w = (while_st *)it;
    PULL_PROLOGUE(&w->s, out);
    yc__try t;
    yc__try_push(&t);
    w->s.in_cb++;
    if (setjmp(t.jb)) {
        w->s.in_cb--;
        *out = YC_NONE;
        return yc__pst_finish(&w->s, yc__cb_caught(&t));
    }
    for (;;) {
        int st = yc_iter_next(w->s.up1, out);
        if (st != YC_YIELD) {
            w->s.in_cb--;
            yc__try_end(&t);
            *out = YC_NONE;
            return yc__pst_finish(&w->s, st);
        }
        if (!w->dropping || !w->pred(w->ctx, *out)) break;
    }
    w->dropping = false;
    w->s.in_cb--;
    yc__try_end(&t);
    return YC_YIELD;
}

static int dropwhile_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    while_st *w = (while_st *)it;
    *n = 0;
    BATCH_PROLOGUE(&w->s, n);
    for (;;) {
        size_t k = 0, i = 0;
        int st = yc_iter_next_batch(w->s.up1, buf, cap, &k);
        if (k && st >= 0 && w->dropping) {
            yc__try t;
            yc__try_push(&t);
            w->s.in_cb++;
            if (setjmp(t.jb)) {
                w->s.in_cb--;
                return yc__pst_finish(&w->s, yc__cb_caught(&t));
            }
            while (i < k && w->pred(w->ctx, buf[i])) i++;
            w->s.in_cb--;
            yc__try_end(&t);
            if (i < k) {
                w->dropping = false;
                memmove(buf, buf + i, (k - i) * sizeof *buf);
            }
            k -= i;
        }
        if (k > 0 || st != YC_YIELD) return block_result(&w->s, st, k, n);
    }
}

static const pst_type takewhile_type = {
    .t = {.name = "takewhile", .next = takewhile_next, .close = yc__pst_close,
          .free = yc__pst_free,
          .next_batch = takewhile_next_batch},
};
static const pst_type dropwhile_type = {
    .t = {.name = "dropwhile", .next = dropwhile_next, .close = yc__pst_close,
          .free = yc__pst_free,
          .next_batch = dropwhile_next_batch},
};

static yc_iter *while_new(yc_iter *up, yc_pred_fn pred, void *ctx, const pst_type *t)
{
    if (!pred) {
        yc_iter_free(up);
        yc__fail(YC_EINVAL, &yc_TypeError, "%s: the predicate is NULL", t->t.name);
        return NULL;
    }
    while_st *w = (while_st *)yc__pst_new1(sizeof *w, t, up);
    if (!w) return NULL;
    w->pred = pred;
    w->ctx = ctx;
    w->dropping = true;
    return &w->s.it;
}

yc_iter *yc_iter_takewhile(yc_iter *up, yc_pred_fn pred, void *ctx)
{
    return while_new(up, pred, ctx, &takewhile_type);
}

yc_iter *yc_iter_dropwhile(yc_iter *up, yc_pred_fn pred, void *ctx)
{
    return while_new(up, pred, ctx, &dropwhile_type);
}

/* ======================================================================
 * Stages that yield tuples: enumerate, zip, batch, window
 * ==================================================================== */

static yc_tuple *tuple_alloc(size_t n)
{
    yc_tuple *t = yc__malloc(sizeof *t + n * sizeof(yc_val));
    if (t) {
        t->len = n;
        for (size_t i = 0; i < n; i++) t->items[i] = YC_NONE;
    }
    return t;
}

/* Items the stage copied (batch, window): released with the stage. */
static void tuple_release_items(yc_tuple *t, size_t n)
{
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        yc_val_release(t->items[i]);
        t->items[i] = YC_NONE;
    }
}

typedef struct tup_st {
    pst s;
    yc_tuple *tup;
    size_t n;      /* tuple size (batch: at most) */
    size_t filled; /* window: items held; batch: items of the last tuple */
    int64_t i;     /* enumerate's counter */
    bool owns;     /* the tuple's items are copies (batch, window) */
} tup_st;

static int tup_release(pst *s)
{
    tup_st *t = (tup_st *)s;
    if (t->owns) tuple_release_items(t->tup, t->filled);
    t->filled = 0;
    return YC_OK;
}

static void tup_destroy(pst *s) { yc__free(((tup_st *)s)->tup); }

static int enumerate_next(yc_iter *it, yc_val *out)
{
    tup_st *t = (tup_st *)it;
    PULL_PROLOGUE(&t->s, out);
    yc_val x;
    int st = yc_iter_next(t->s.up1, &x);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return yc__pst_finish(&t->s, st);
    }
    t->tup->items[0] = yc_int(t->i);
    t->tup->items[1] = x;
    if (__builtin_add_overflow(t->i, 1, &t->i)) t->i = INT64_MAX;
    *out = yc_tuple_val(t->tup);
    return YC_YIELD;
}

static int zip_next(yc_iter *it, yc_val *out)
{
    tup_st *t = (tup_st *)it;
    PULL_PROLOGUE(&t->s, out);
    *out = YC_NONE;
    if (t->n == 0) return yc__pst_finish(&t->s, YC_RETURN);
    for (size_t i = 0; i < t->n; i++) {
        int st = yc_iter_next(t->s.ups[i], &t->tup->items[i]);
        if (st != YC_YIELD) return yc__pst_finish(&t->s, st);
    }
    *out = yc_tuple_val(t->tup);
    return YC_YIELD;
}

/* Pulls one item and stores a copy in *slot (released first). */
static int pull_copy(pst *s, yc_val *slot)
{
    yc_val x;
    int st = yc_iter_next(s->up1, &x);
    if (st != YC_YIELD) return st;
    yc_val_release(*slot);
    *slot = yc_val_copy(x);
    if (yc__val_owned(x) && yc_is_none(*slot)) return YC_ENOMEM;
    return YC_YIELD;
}

static int batch_next(yc_iter *it, yc_val *out)
{
    tup_st *t = (tup_st *)it;
    PULL_PROLOGUE(&t->s, out);
    *out = YC_NONE;
    tuple_release_items(t->tup, t->filled);
    t->filled = 0;
    int st = YC_YIELD;
    while (t->filled < t->n) {
        st = pull_copy(&t->s, &t->tup->items[t->filled]);
        if (st != YC_YIELD) break;
        t->filled++;
    }
    if (st < 0 || t->filled == 0) return yc__pst_finish(&t->s, st == YC_YIELD ? YC_RETURN : st);
    if (st == YC_RETURN) t->s.upend = true;
    t->tup->len = t->filled;
    *out = yc_tuple_val(t->tup);
    return YC_YIELD;
}

static int window_next(yc_iter *it, yc_val *out)
{
    tup_st *t = (tup_st *)it;
    PULL_PROLOGUE(&t->s, out);
    *out = YC_NONE;
    yc_tuple *w = t->tup;
    if (t->filled == t->n) { /* slide: drop the oldest, pull one */
        yc_val x;
        int st = yc_iter_next(t->s.up1, &x);
        if (st != YC_YIELD) return yc__pst_finish(&t->s, st);
        yc_val c = yc_val_copy(x);
        if (yc__val_owned(x) && yc_is_none(c)) return yc__pst_finish(&t->s, YC_ENOMEM);
        yc_val_release(w->items[0]);
        memmove(w->items, w->items + 1, (t->n - 1) * sizeof(yc_val));
        w->items[t->n - 1] = c;
    }
    while (t->filled < t->n) {
        int st = pull_copy(&t->s, &w->items[t->filled]);
        if (st != YC_YIELD) return yc__pst_finish(&t->s, st);
        t->filled++;
    }
    *out = yc_tuple_val(w);
    return YC_YIELD;
}

static const pst_type enumerate_type = {
    .t = {.name = "enumerate", .next = enumerate_next, .close = yc__pst_close,
          .free = yc__pst_free},
    .release = tup_release, .destroy = tup_destroy,
};
static const pst_type zip_type = {
    .t = {.name = "zip", .next = zip_next, .close = yc__pst_close, .free = yc__pst_free},
    .release = tup_release, .destroy = tup_destroy,
};
static const pst_type batch_type = {
    .t = {.name = "batched", .next = batch_next, .close = yc__pst_close, .free = yc__pst_free},
    .release = tup_release, .destroy = tup_destroy,
};
static const pst_type window_type = {
    .t = {.name = "window", .next = window_next, .close = yc__pst_close, .free = yc__pst_free},
    .release = tup_release, .destroy = tup_destroy,
};

static yc_iter *tup_new(const pst_type *type, yc_iter *const *ups, size_t nups, size_t n)
{
    tup_st *t = (tup_st *)yc__pst_new(sizeof *t, type, ups, nups);
    if (!t) return NULL;
    t->n = n;
    t->tup = tuple_alloc(n);
    if (!t->tup) {
        yc_iter_free(&t->s.it);
        nomem();
        return NULL;
    }
    return &t->s.it;
}

yc_iter *yc_iter_enumerate(yc_iter *up, int64_t start)
{
    tup_st *t = (tup_st *)tup_new(&enumerate_type, &up, 1, 2);
    if (t) t->i = start;
    return t ? &t->s.it : NULL;
}

yc_iter *yc_iter_zip(yc_iter *const *its, size_t n)
{
    if (n && !its) {
        yc__fail(YC_EINVAL, &yc_TypeError, "zip: its is NULL");
        return NULL;
    }
    return tup_new(&zip_type, its, n, n);
}

static yc_iter *sized_new(const pst_type *type, yc_iter *up, size_t n)
{
    if (n == 0) {
        if (!up) return yc__pst_no_up(type);
        yc_iter_free(up);
        yc__fail(YC_EINVAL, &yc_ValueError, "n must be at least one");
        return NULL;
    }
    if (n > ((size_t)1 << 40)) {
        yc_iter_free(up);
        nomem();
        return NULL;
    }
    tup_st *t = (tup_st *)tup_new(type, &up, 1, n);
    if (t) t->owns = true;
    return t ? &t->s.it : NULL;
}

yc_iter *yc_iter_batch(yc_iter *up, size_t n) { return sized_new(&batch_type, up, n); }
yc_iter *yc_iter_window(yc_iter *up, size_t n) { return sized_new(&window_type, up, n); }

/* ======================================================================
 * chain, flat_map
 * ==================================================================== */

typedef struct chain_st {
    pst s;
    size_t cur;       /* chain: the upstream being read */
    yc_iter *inner;   /* flat_map: the current inner iterator (owned) */
    bool inner_end;   /* flat_map: inner gave its last values */
    yc_flat_fn fn;
    void *ctx;
} chain_st;

static int chain_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    chain_st *c = (chain_st *)it;
    BATCH_PROLOGUE(&c->s, n);
    while (c->cur < c->s.nups) {
        size_t k = 0;
        int st = yc_iter_next_batch(c->s.ups[c->cur], buf, cap, &k);
        if (st == YC_YIELD) {
            *n = k;
            return YC_YIELD;
        }
        if (st < 0) return yc__pst_finish(&c->s, st);
        /* done with it: close it now (a file is released before the next) */
        if (yc_iter_close(c->s.ups[c->cur], NULL) < 0) yc__pst_unraisable("chain");
        c->cur++;
        if (k) {
            *n = k;
            return YC_YIELD;
        }
    }
    return yc__pst_finish(&c->s, YC_RETURN);
}

static int chain_next(yc_iter *it, yc_val *out) { return next_via_batch(it, out); }

static int flat_release(pst *s)
{
    chain_st *c = (chain_st *)s;
    int st = YC_OK;
    if (c->inner) {
        st = yc_iter_close(c->inner, NULL);
        yc_exc *e = st < 0 ? yc_err_take() : NULL;
        yc_iter_free(c->inner);
        c->inner = NULL;
        if (e) yc__err_set(yc__cur(), e);
    }
    return st;
}

static int flat_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    chain_st *c = (chain_st *)it;
    BATCH_PROLOGUE(&c->s, n);
    if (YC_UNLIKELY(c->s.in_cb)) return reentered(&c->s);
    for (;;) {
        if (c->inner && !c->inner_end) {
            size_t k = 0;
            int st = yc_iter_next_batch(c->inner, buf, cap, &k);
            if (st < 0) return yc__pst_finish(&c->s, st);
            if (st == YC_RETURN) c->inner_end = true;
            if (k) {
                *n = k;
                return YC_YIELD;
            }
        }
        if (c->inner) {
            yc_iter *in = c->inner;
            c->inner = NULL;
            yc_iter_free(in);
        }
        yc_val x;
        int st = yc_iter_next(c->s.up1, &x);
        if (st != YC_YIELD) return yc__pst_finish(&c->s, st);
        yc__try t;
        yc__try_push(&t);
        c->s.in_cb = true;
        if (setjmp(t.jb)) {
            c->s.in_cb = false;
            return yc__pst_finish(&c->s, yc__cb_caught(&t));
        }
        yc_iter *in = c->fn(c->ctx, x);
        c->s.in_cb = false;
        yc__try_end(&t);
        if (!in) {
            if (!yc_err_get())
                yc__fail(YC_RAISE, &yc_TypeError, "flat_map: the function returned NULL");
            return yc__pst_finish(&c->s, YC_RAISE);
        }
        c->inner = in;
        c->inner_end = false;
    }
}

static int flat_next(yc_iter *it, yc_val *out) { return next_via_batch(it, out); }

static const pst_type chain_type = {
    .t = {.name = "chain", .next = chain_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = chain_next_batch},
};
static const pst_type flat_type = {
    .t = {.name = "flat_map", .next = flat_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = flat_next_batch},
    .release = flat_release,
};

yc_iter *yc_iter_chain(yc_iter *const *its, size_t n)
{
    if (n && !its) {
        yc__fail(YC_EINVAL, &yc_TypeError, "chain: its is NULL");
        return NULL;
    }
    chain_st *c = (chain_st *)yc__pst_new(sizeof *c, &chain_type, its, n);
    return c ? &c->s.it : NULL;
}

yc_iter *yc_iter_flat_map(yc_iter *up, yc_flat_fn fn, void *ctx)
{
    if (!fn) return no_function(up, "flat_map");
    chain_st *c = (chain_st *)yc__pst_new1(sizeof *c, &flat_type, up);
    if (!c) return NULL;
    c->fn = fn;
    c->ctx = ctx;
    return &c->s.it;
}

/* ======================================================================
 * accumulate, unique, groupby: stages that remember a value (owned copy)
 * ==================================================================== */

typedef struct acc_st {
    pst s;
    yc_reduce_fn fn;
    yc_map_fn key;
    void *ctx;
    yc_val total;      /* accumulate: owned; unique: the last key (owned) */
    bool have;         /* total / last key is set */
    bool initial;      /* accumulate: the initial value is still to be yielded */
} acc_st;

static int acc_release(pst *s)
{
    acc_st *a = (acc_st *)s;
    yc_val_release(a->total);
    a->total = YC_NONE;
    a->have = false;
    return YC_OK;
}

static int accumulate_next(yc_iter *it, yc_val *out)
{
    acc_st *a = (acc_st *)it;
    PULL_PROLOGUE(&a->s, out);
    *out = YC_NONE;
    if (YC_UNLIKELY(a->s.in_cb)) return reentered(&a->s);
    if (a->initial) {
        a->initial = false;
        *out = a->total;
        return YC_YIELD;
    }
    yc_val x;
    int st = yc_iter_next(a->s.up1, &x);
    if (st != YC_YIELD) return yc__pst_finish(&a->s, st);
    yc_val r = x;
    if (a->have) {
        if (a->fn) {
            yc__try t;
            yc__try_push(&t);
            a->s.in_cb = true;
            if (setjmp(t.jb)) {
                a->s.in_cb = false;
                return yc__pst_finish(&a->s, yc__cb_caught(&t));
            }
            r = a->fn(a->ctx, a->total, x);
            a->s.in_cb = false;
            yc__try_end(&t);
        } else if (yc__val_add(a->total, x, &r) < 0) {
            return yc__pst_finish(&a->s, YC_RAISE);
        }
    }
    if (keep_val(&a->total, r) < 0) return yc__pst_finish(&a->s, nomem());
    a->have = true;
    *out = a->total;
    return YC_YIELD;
}

static const pst_type accumulate_type = {
    .t = {.name = "accumulate", .next = accumulate_next, .close = yc__pst_close,
          .free = yc__pst_free},
    .release = acc_release,
};

yc_iter *yc_iter_accumulate(yc_iter *up, yc_reduce_fn fn, void *ctx, const yc_val *initial)
{
    acc_st *a = (acc_st *)yc__pst_new1(sizeof *a, &accumulate_type, up);
    if (!a) return NULL;
    a->fn = fn;
    a->ctx = ctx;
    if (initial) {
        if (keep_val(&a->total, *initial) < 0) {
            yc_iter_free(&a->s.it);
            nomem();
            return NULL;
        }
        a->have = a->initial = true;
    }
    return &a->s.it;
}

/* unique: keeps x when its key differs from the previous item's. */
static int unique_keep(acc_st *a, yc_val x, bool *keep_it)
{
    yc_val k = a->key ? a->key(a->ctx, x) : x;
    *keep_it = !a->have || !yc_val_eq(k, a->total);
    if (*keep_it) {
        if (keep_val(&a->total, k) < 0) return YC_ENOMEM;
        a->have = true;
    }
    return YC_OK;
}

static int unique_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    acc_st *a = (acc_st *)it;
    BATCH_PROLOGUE(&a->s, n);
    if (YC_UNLIKELY(a->s.in_cb)) return reentered(&a->s);
    for (;;) {
        size_t k = 0, j = 0;
        int st = yc_iter_next_batch(a->s.up1, buf, cap, &k);
        if (k && st >= 0) {
            yc__try t;
            yc__try_push(&t);
            a->s.in_cb = true;
            if (setjmp(t.jb)) {
                a->s.in_cb = false;
                return yc__pst_finish(&a->s, yc__cb_caught(&t));
            }
            for (size_t i = 0; i < k; i++) {
                bool kp;
                if (unique_keep(a, buf[i], &kp) < 0) {
                    a->s.in_cb = false;
                    yc__try_end(&t);
                    return yc__pst_finish(&a->s, nomem());
                }
                if (kp) buf[j++] = buf[i];
            }
            a->s.in_cb = false;
            yc__try_end(&t);
        }
        if (j > 0 || st != YC_YIELD) return block_result(&a->s, st, j, n);
    }
}

static int unique_next(yc_iter *it, yc_val *out) { return next_via_batch(it, out); }

static const pst_type unique_type = {
    .t = {.name = "unique", .next = unique_next, .close = yc__pst_close, .free = yc__pst_free,
          .next_batch = unique_next_batch},
    .release = acc_release,
};

yc_iter *yc_iter_unique(yc_iter *up, yc_map_fn key, void *ctx)
{
    acc_st *a = (acc_st *)yc__pst_new1(sizeof *a, &unique_type, up);
    if (!a) return NULL;
    a->key = key;
    a->ctx = ctx;
    return &a->s.it;
}

/* groupby. `cur` is an item pulled but not yet handed out (have), with its
 * key `curkey` (borrowed, like the item); `tgt` is the current group's key
 * (an owned copy). Each group is an iterator object of its own (as CPython's
 * _grouper is), so that a group handed out earlier can tell it is no longer
 * the current one and reads as empty: pulling the groupby moves on to a new
 * group object. The groups stay allocated (a few words each) until the
 * groupby is freed, because the caller may still hold any of them. */
typedef struct grouper {
    yc_iter it;
    struct groupby_st *g;
    struct grouper *older; /* the groups handed out before this one */
} grouper;

typedef struct groupby_st {
    pst s;
    yc_map_fn key;
    void *ctx;
    yc_val cur, curkey, tgt;
    bool have, in_group, exhausted;
    grouper *group; /* the current (newest) group, or NULL */
    yc_tuple *tup;
} groupby_st;

static const yc_iter_type grouper_type;

/* Pulls the next item into cur and computes its key. YC_YIELD, YC_RETURN
 * (exhausted) or negative (error pending; the groupby has ended). */
static int gb_fill(groupby_st *g)
{
    if (YC_UNLIKELY(g->s.in_cb)) return reentered(&g->s);
    if (g->exhausted) return YC_RETURN;
    int st = yc_iter_next(g->s.up1, &g->cur);
    if (st == YC_RETURN) {
        g->exhausted = true;
        return YC_RETURN;
    }
    if (st < 0) return yc__pst_finish(&g->s, st);
    if (!g->key) {
        g->curkey = g->cur;
    } else {
        yc__try t;
        yc__try_push(&t);
        g->s.in_cb = true;
        if (setjmp(t.jb)) {
            g->s.in_cb = false;
            return yc__pst_finish(&g->s, yc__cb_caught(&t));
        }
        g->curkey = g->key(g->ctx, g->cur);
        g->s.in_cb = false;
        yc__try_end(&t);
    }
    g->have = true;
    return YC_YIELD;
}

static int groupby_next(yc_iter *it, yc_val *out)
{
    groupby_st *g = (groupby_st *)it;
    PULL_PROLOGUE(&g->s, out);
    *out = YC_NONE;
    for (;;) { /* skip what is left of the current group */
        if (!g->have) {
            int st = gb_fill(g);
            if (st == YC_RETURN) return yc__pst_finish(&g->s, YC_RETURN);
            if (st < 0) return st;
        }
        if (!g->in_group || !yc_val_eq(g->curkey, g->tgt)) break;
        g->have = false;
    }
    grouper *gr = yc__malloc(sizeof *gr);
    if (!gr || keep_val(&g->tgt, g->curkey) < 0) {
        yc__free(gr);
        return yc__pst_finish(&g->s, nomem());
    }
    gr->it.type = &grouper_type;
    gr->g = g;
    gr->older = g->group;
    g->group = gr;
    g->in_group = true;
    g->tup->items[0] = g->tgt;
    g->tup->items[1] = yc_ptr(&gr->it);
    *out = yc_tuple_val(g->tup);
    return YC_YIELD;
}

static int grouper_next(yc_iter *it, yc_val *out)
{
    grouper *gr = (grouper *)it;
    groupby_st *g = gr->g;
    *out = YC_NONE;
    /* a group the groupby has moved past is empty, as in CPython */
    if (g->s.done || !g->in_group || gr != g->group) return YC_RETURN;
    if (!g->have) {
        int st = gb_fill(g);
        if (st != YC_YIELD) return st;
    }
    if (!yc_val_eq(g->curkey, g->tgt)) return YC_RETURN;
    g->have = false;
    *out = g->cur;
    return YC_YIELD;
}

static const yc_iter_type grouper_type = {.name = "_grouper", .next = grouper_next};

static int groupby_release(pst *s)
{
    groupby_st *g = (groupby_st *)s;
    yc_val_release(g->tgt);
    g->tgt = YC_NONE;
    g->in_group = g->have = false;
    return YC_OK;
}

static void groupby_destroy(pst *s)
{
    groupby_st *g = (groupby_st *)s;
    while (g->group) {
        grouper *older = g->group->older;
        yc__free(g->group);
        g->group = older;
    }
    yc__free(g->tup);
}

static const pst_type groupby_type = {
    .t = {.name = "groupby", .next = groupby_next, .close = yc__pst_close,
          .free = yc__pst_free},
    .release = groupby_release, .destroy = groupby_destroy,
};

yc_iter *yc_iter_groupby(yc_iter *up, yc_map_fn key, void *ctx)
{
    groupby_st *g = (groupby_st *)yc__pst_new1(sizeof *g, &groupby_type, up);
    if (!g) return NULL;
    g->key = key;
    g->ctx = ctx;
    g->tup = tuple_alloc(2);
    if (!g->tup) {
        yc_iter_free(&g->s.it);
        nomem();
        return NULL;
    }
    return &g->s.it;
}

/* ======================================================================
 * borrow
 * ==================================================================== */

/* A view of an iterator the caller keeps: pulls go through, closing and
 * freeing stop at the view. */
typedef struct borrow_st {
    yc_iter it;
    yc_iter *src; /* borrowed */
    bool closed;
} borrow_st;

static int borrow_next(yc_iter *it, yc_val *out)
{
    borrow_st *b = (borrow_st *)it;
    if (b->closed) return pst_ended(out);
    return yc_iter_next(b->src, out);
}

static int borrow_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    borrow_st *b = (borrow_st *)it;
    *n = 0;
    if (b->closed) return YC_RETURN;
    return yc_iter_next_batch(b->src, buf, cap, n);
}

static int borrow_close(yc_iter *it, yc_val *out)
{
    if (out) *out = YC_NONE;
    ((borrow_st *)it)->closed = true; /* the source stays open */
    return YC_OK;
}

static void borrow_free(yc_iter *it) { yc__free(it); }

static const yc_iter_type borrow_type = {
    .name = "borrow", .next = borrow_next, .close = borrow_close, .free = borrow_free,
    .next_batch = borrow_next_batch,
};

yc_iter *yc_iter_borrow(yc_iter *src)
{
    if (!src) {
        if (!yc_err_get()) yc__fail(YC_EINVAL, &yc_TypeError, "borrow: iterator is NULL");
        return NULL;
    }
    borrow_st *b = yc__malloc(sizeof *b);
    if (!b) {
        nomem();
        return NULL;
    }
    b->it.type = &borrow_type;
    b->src = src;
    b->closed = false;
    return &b->it;
}

/* ======================================================================
 * tee
 * ==================================================================== */

/* Shared by the branches: items [base, base + count) are kept (copies) in a
 * ring, from the slowest open branch's position up to what the fastest has
 * pulled. Trimming happens at the start of a pull, so a value handed out
 * stays valid until the next pull of any branch. */
typedef struct tee_shared {
    yc_iter *up;
    size_t nbranches, alive, open, max;
    struct tee_branch **br;
    yc_val *ring;
    size_t cap, head, count;
    int64_t base;
    bool ended;
    bool pulling; /* inside yc_iter_next(up): a branch pulled from there fails */
} tee_shared;

typedef struct tee_branch {
    pst s;
    tee_shared *sh;
    size_t idx;
    int64_t pos;
    bool is_open;
} tee_branch;

static int64_t tee_minpos(tee_shared *sh)
{
    int64_t m = sh->base + (int64_t)sh->count;
    for (size_t i = 0; i < sh->nbranches; i++)
        if (sh->br[i] && sh->br[i]->is_open && sh->br[i]->pos < m) m = sh->br[i]->pos;
    return m;
}

static void tee_trim(tee_shared *sh)
{
    int64_t m = tee_minpos(sh);
    while (sh->count && sh->base < m) {
        yc_val_release(sh->ring[sh->head]);
        sh->ring[sh->head] = YC_NONE;
        sh->head = (sh->head + 1) % sh->cap;
        sh->count--;
        sh->base++;
    }
    if (!sh->count) sh->base = m;
}

static int tee_next(yc_iter *it, yc_val *out)
{
    tee_branch *b = (tee_branch *)it;
    PULL_PROLOGUE(&b->s, out);
    tee_shared *sh = b->sh;
    *out = YC_NONE;
    tee_trim(sh);
    int64_t end = sh->base + (int64_t)sh->count;
    if (b->pos < end) {
        *out = sh->ring[(sh->head + (size_t)(b->pos - sh->base)) % sh->cap];
        b->pos++;
        return YC_YIELD;
    }
    if (sh->ended) return yc__pst_finish(&b->s, YC_RETURN);
    /* upstream pulling a branch of its own tee would hand out an item
     * before the one being pulled: CPython refuses, and so do we (the
     * branch goes on: only this pull fails) */
    if (YC_UNLIKELY(sh->pulling))
        return yc__fail(YC_RAISE, &yc_RuntimeError, "cannot re-enter the tee iterator");
    /* one more item would be kept for the slowest branch */
    size_t kept = (size_t)(end + 1 - tee_minpos(sh));
    if (kept > sh->max)
        return yc__fail(YC_RAISE, &yc_RuntimeError,
                        "tee buffer full: branch %zu is %zu items ahead of the slowest branch "
                        "(max_buffer %zu)",
                        b->idx, kept - 1, sh->max);
    if (sh->count == sh->cap) { /* grow the ring, unwrapping it */
        size_t ncap = sh->cap ? sh->cap * 2 : 16;
        if (ncap > sh->max + 1) ncap = sh->max + 1;
        yc_val *r = yc__malloc(ncap * sizeof *r);
        if (!r) return nomem();
        for (size_t i = 0; i < sh->count; i++) r[i] = sh->ring[(sh->head + i) % sh->cap];
        yc__free(sh->ring);
        sh->ring = r;
        sh->cap = ncap;
        sh->head = 0;
    }
    yc_val x;
    sh->pulling = true;
    int st = yc_iter_next(sh->up, &x);
    sh->pulling = false;
    if (st != YC_YIELD) {
        sh->ended = true;
        return yc__pst_finish(&b->s, st);
    }
    yc_val c = yc_val_copy(x);
    if (yc__val_owned(x) && yc_is_none(c)) return yc__pst_finish(&b->s, nomem());
    sh->ring[(sh->head + sh->count) % sh->cap] = c;
    sh->count++;
    b->pos++;
    *out = c;
    return YC_YIELD;
}

/* A branch that closes stops holding items back; the last one to close
 * closes upstream. */
static int tee_release(pst *s)
{
    tee_branch *b = (tee_branch *)s;
    tee_shared *sh = b->sh;
    if (!b->is_open) return YC_OK;
    b->is_open = false;
    if (--sh->open > 0) return YC_OK;
    tee_trim(sh);
    return yc_iter_close(sh->up, NULL);
}

static void tee_destroy(pst *s)
{
    tee_branch *b = (tee_branch *)s;
    tee_shared *sh = b->sh;
    sh->br[b->idx] = NULL;
    if (--sh->alive > 0) return;
    for (size_t i = 0; i < sh->count; i++) yc_val_release(sh->ring[(sh->head + i) % sh->cap]);
    yc__free(sh->ring);
    yc_iter_free(sh->up);
    yc__free(sh->br);
    yc__free(sh);
}

static const pst_type tee_type = {
    .t = {.name = "tee", .next = tee_next, .close = yc__pst_close, .free = yc__pst_free},
    .release = tee_release, .destroy = tee_destroy,
};

int yc_iter_tee(yc_iter *up, size_t n, size_t max_buffer, yc_iter **out)
{
    if (!up) {
        if (!yc_err_get()) return yc__fail(YC_EINVAL, &yc_TypeError, "tee: upstream iterator is NULL");
        return YC_EINVAL;
    }
    if (!n || !max_buffer || !out) {
        yc_iter_free(up);
        return yc__fail(YC_EINVAL, &yc_ValueError, "tee: %s",
                        !out ? "out is NULL" : !n ? "n must be at least one"
                                                  : "max_buffer must be at least one");
    }
    tee_shared *sh = yc__malloc(sizeof *sh);
    tee_branch **br = yc__malloc(n * sizeof *br);
    if (!sh || !br) {
        yc__free(sh);
        yc__free(br);
        yc_iter_free(up);
        return nomem();
    }
    memset(sh, 0, sizeof *sh);
    sh->up = up;
    sh->br = br;
    sh->max = max_buffer;
    for (size_t i = 0; i < n; i++) {
        br[i] = yc__malloc(sizeof **br);
        if (!br[i]) {
            for (size_t j = 0; j < i; j++) yc__free(br[j]);
            yc__free(br);
            yc__free(sh);
            yc_iter_free(up);
            return nomem();
        }
        memset(br[i], 0, sizeof **br);
        br[i]->s.it.type = &tee_type.t;
        br[i]->s.ups = &br[i]->s.up1;
        br[i]->s.depth = depth_of(up) + 1;
        br[i]->sh = sh;
        br[i]->idx = i;
        br[i]->is_open = true;
    }
    sh->nbranches = sh->alive = sh->open = n;
    for (size_t i = 0; i < n; i++) out[i] = &br[i]->s.it;
    return YC_OK;
}

/* ======================================================================
 * Reducers
 * ==================================================================== */

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
    return yc_iter_next_batch(it, b->buf, b->cap, k);
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
        return bad_operands("+", a->is_float ? yc_float(a->f) : yc_int(a->i), x);
    }
}

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
#define SUM_SAFE ((int64_t)1 << 62)
typedef uint64_t v2u __attribute__((vector_size(16)));

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
static inline bool sum_block(const yc_val *buf, size_t k, int64_t *sum)
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
static bool sum_i64_small(const int64_t *buf, size_t k, int64_t *sum)
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
YC_TARGET_AVX2 static bool sum_i64_small_avx2(const int64_t *buf, size_t k, int64_t *sum)
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
            if (yc__pst_avx2()) fast = sum_i64_small_avx2(buf, k, &bs);
            else
#endif
                fast = sum_i64_small(buf, k, &bs);
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
        return bad_operands("+", start, yc_int(0));
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
        if (!a.is_float && a.i >= -SUM_SAFE && a.i <= SUM_SAFE && sum_block(buf, k, &bs)) {
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
            yc__try t;
            yc__try_push(&t);
            if (setjmp(t.jb)) {
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
                                     yc__val_tname(kx), yc__val_tname(bp->bkey));
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
                        return nomem();
                    }
                    bp->key_owned = true;
                } else {
                    if (keep_val(&bp->best, x) < 0) {
                        yc__try_end(&t);
                        best_release(bp);
                        rbuf_done(rbp);
                        return nomem();
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
        if (keep_val(&b.best, *initial) < 0) return nomem();
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
            yc__try t;
            yc__try_push(&t);
            if (setjmp(t.jb)) {
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
                    return nomem();
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
    yc__try t;
    yc__try_push(&t);
    if (setjmp(t.jb)) return yc__cb_caught(&t);
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
    if (yc__val_owned(x) && yc_is_none(c)) return nomem();
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
    yc__try t;
    yc__try_push(&t);
    if (setjmp(t.jb)) return yc__cb_caught(&t);
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
                return nomem();
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
                return nomem();
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
