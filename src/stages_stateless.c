/*
 * Stateless stages of lazy pipelines (yieldc/iter.h): stages that keep no
 * value across items (only their position, and the tuples or buffers they
 * hand out): map, map_batch, filter, filter_batch, islice (take, drop),
 * takewhile, dropwhile, enumerate, zip, batch, window, chain, flat_map, and
 * borrow.
 *
 * Every stage is a plain iterator: a pull runs the stage's C code, no
 * context switch. Each has a per-item next and, where it pays, a next_batch
 * that works on the consumer's buffer in place (map and filter never copy:
 * they ask upstream to fill the caller's buffer and transform or compact
 * it). Callbacks run inside one yc__try frame per pull or per block, so a
 * raise costs nothing until it happens and is caught without reaching the
 * consumer's handlers.
 */
#include "pipe.h"

#include <string.h>

/* Locals are never read on the caught path of the callback frames below
 * (see yc__cb_caught), which GCC's -Wclobbered cannot tell. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wclobbered"
#endif

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

/* map, filter, takewhile and dropwhile go on after an error, as CPython's
 * do: a callback's raise (or upstream's) goes to the consumer with the
 * stage's traceback entry, and the next pull takes the next item. The
 * block path keeps what a failure leaves of its block (yc__pst_fail_at)
 * and serves it first; upend covers that slow path, so the per-item path
 * sends it to the block path at no extra test. */
static inline int go_on(pst *s, int st)
{
    return st == YC_RETURN ? yc__pst_finish(s, st) : pst_pass(s, st);
}

/* The start of a block pull of these stages: ended, or the next block into
 * buf[0, k) with its status st: the rest of a failed block (or the held
 * exception, or the end) while upend is set, else upstream's block. An
 * error returns from the caller (upstream's with the stage's entry). */
#define GO_ON_BLOCK(s, buf, cap, k, st)                                       \
    do {                                                                      \
        if ((s)->done) return YC_RETURN;                                      \
        if (YC_UNLIKELY((s)->upend)) {                                        \
            st = yc__pst_rest((s), (buf), (cap), &(k));                       \
            if (st < 0 || (st == YC_RETURN && !(k))) return st;               \
        } else {                                                              \
            st = yc__iter_pull_batch((s)->up1, (buf), (cap), &(k));           \
            if (st < 0) return pst_pass((s), st);                             \
        }                                                                     \
    } while (0)

static int map_next(yc_iter *it, yc_val *out)
{
    map_st *m = (map_st *)it;
    if (m->s.done) return pst_ended(out);
    if (YC_UNLIKELY(m->s.upend)) return next_via_batch(it, out);
    pst_keep_clear(&m->keep);
    yc_val x;
    int st = yc_iter_next(m->s.up1, &x);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return go_on(&m->s, st);
    }
    m->s.in_cb++;
    YC__GUARD(t) {
        m->s.in_cb--;
        *out = YC_NONE;
        int err = yc__cb_caught(&t); /* map_batch ends (see map_next_batch) */
        return m->fn ? pst_pass(&m->s, err) : yc__pst_finish(&m->s, err);
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
                                  pst_keep *keep, volatile size_t *at)
{
    for (size_t i = 0; i < k; i++) {
        yc_val x = buf[i];
        *at = i; /* where a raise leaves the block: one store, no frame */
        yc_val r = fn(ctx, x);
        /* a result that may point into memory the callback reuses: copied,
         * so that the block reads as item by item would (pipe.h); only PTR
         * and BYTES can be, so an int costs one compare */
        if (YC_UNLIKELY(yc_type_of(r) >= YC_T_PTR) && yc__val_owned(r) && i + 1 < k &&
            !yc__val_within(r, x) && yc__pst_keep(keep, &r) < 0)
            yc_raise(yc_err_take());
        buf[i] = r;
    }
}

YC_NOINLINE static size_t filter_items(yc_pred_fn pred, void *ctx, yc_val *buf, size_t k,
                                       volatile size_t *at)
{
    size_t j = 0;
    for (size_t i = 0; i < k; i++) {
        yc_val x = buf[i];
        at[0] = i;
        at[1] = j;
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
    pst_keep_clear(&m->keep);
    size_t k = 0;
    int st;
    GO_ON_BLOCK(&m->s, buf, cap, k, st);
    /* where a raise leaves the block: written by the loop, read on the caught
     * path (volatile: across the longjmp); a local, as callbacks may nest */
    volatile size_t at = 0;
    if (k) {
        m->s.in_cb++;
        YC__GUARD(t) {
            m->s.in_cb--;
            int err = yc__cb_caught(&t);
            /* map_batch: one call over a block the consumer sized; it ends */
            if (!m->fn) return yc__pst_finish(&m->s, err);
            size_t i = at;
            *n = i;
            return yc__pst_fail_at(&m->s, buf, i, k, st == YC_RETURN, i);
        }
        if (m->fn) map_items(m->fn, m->ctx, buf, k, &m->keep, &at);
        else m->bfn(m->ctx, buf, k);
        m->s.in_cb--;
        yc__try_end(&t);
    }
    return block_result(&m->s, st, k, n);
}

/* The copies live until the next pull or the end, whichever comes first:
 * after the end no value of the stage is valid any more. */
static void map_destroy(pst *s) { yc__pst_keep_free(&((map_st *)s)->keep); }

static const pst_type map_type = {
    .t = {.name = "map", .next = map_next, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = map_next_batch},
    .destroy = map_destroy,
};

static yc_iter *map_new(yc_iter *up, yc_map_fn fn, yc_map_batch_fn bfn, void *ctx)
{
    if (!fn && !bfn) return yc__pst_no_function(up, "map");
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
    if (!fn) return yc__pst_no_function(up, "map_batch");
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
    if (f->s.done) return pst_ended(out);
    if (YC_UNLIKELY(f->s.upend) || f->bfn) return next_via_batch(it, out);
    f->s.in_cb++;
    YC__GUARD(t) {
        f->s.in_cb--;
        *out = YC_NONE;
        return pst_pass(&f->s, yc__cb_caught(&t));
    }
    for (;;) {
        int st = yc_iter_next(f->s.up1, out);
        if (st != YC_YIELD) {
            f->s.in_cb--;
            yc__try_end(&t);
            *out = YC_NONE;
            return go_on(&f->s, st);
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
    for (;;) {
        size_t k = 0, j = 0;
        int st;
        GO_ON_BLOCK(&f->s, buf, cap, k, st);
        volatile size_t at[2] = {0, 0}; /* the failing item, the items kept before it */
        if (k) {
            f->s.in_cb++;
            YC__GUARD(t) {
                f->s.in_cb--;
                int err = yc__cb_caught(&t);
                /* filter_batch: one call over a block the consumer sized; it ends */
                if (!f->pred) return yc__pst_finish(&f->s, err);
                *n = at[1]; /* the items kept before the failure go now */
                return yc__pst_fail_at(&f->s, buf, at[0], k, st == YC_RETURN, *n);
            }
            if (f->bfn) {
                j = f->bfn(f->ctx, buf, k);
                if (j > k) j = k;
            } else if (f->pred) {
                j = filter_items(f->pred, f->ctx, buf, k, at);
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
    .t = {.name = "filter", .next = filter_next, .close = yc__pst_close, PST_ITER_BASE,
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
    if (!fn) return yc__pst_no_function(up, "filter_batch");
    filter_st *f = (filter_st *)yc__pst_new1(sizeof *f, &filter_type, up);
    if (!f) return NULL;
    f->bfn = fn;
    f->ctx = ctx;
    return &f->s.it;
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
    .t = {.name = "islice", .next = islice_next, .close = yc__pst_close, PST_ITER_BASE,
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
    if (w->s.done) return pst_ended(out);
    if (YC_UNLIKELY(w->s.upend)) return next_via_batch(it, out);
    int st = yc_iter_next(w->s.up1, out);
    if (st != YC_YIELD) {
        *out = YC_NONE;
        return go_on(&w->s, st);
    }
    w->s.in_cb++;
    YC__GUARD(t) {
        w->s.in_cb--;
        *out = YC_NONE;
        return pst_pass(&w->s, yc__cb_caught(&t));
    }
    bool ok = w->pred(w->ctx, *out);
    w->s.in_cb--;
    yc__try_end(&t);
    if (ok) return YC_YIELD;
    *out = YC_NONE;
    return yc__pst_finish(&w->s, YC_RETURN); /* upstream kept until close or free */
}

static int takewhile_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    while_st *w = (while_st *)it;
    *n = 0;
    size_t k = 0, j = 0;
    int st;
    GO_ON_BLOCK(&w->s, buf, cap, k, st);
    volatile size_t at = 0; /* the item in the callback (see map_next_batch) */
    if (k) {
        w->s.in_cb++;
        YC__GUARD(t) {
            w->s.in_cb--;
            yc__cb_caught(&t);
            size_t i = at; /* the values before it go now */
            *n = i;
            return yc__pst_fail_at(&w->s, buf, i, k, st == YC_RETURN, i);
        }
        for (; j < k; j++) {
            at = j;
            if (!w->pred(w->ctx, buf[j])) break;
        }
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
    if (w->s.done) return pst_ended(out);
    if (YC_UNLIKELY(w->s.upend)) return next_via_batch(it, out);
    w->s.in_cb++;
    YC__GUARD(t) {
        w->s.in_cb--;
        *out = YC_NONE;
        return pst_pass(&w->s, yc__cb_caught(&t));
    }
    for (;;) {
        int st = yc_iter_next(w->s.up1, out);
        if (st != YC_YIELD) {
            w->s.in_cb--;
            yc__try_end(&t);
            *out = YC_NONE;
            return go_on(&w->s, st);
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
    for (;;) {
        size_t k = 0, i = 0;
        int st;
        GO_ON_BLOCK(&w->s, buf, cap, k, st);
        volatile size_t at = 0; /* the item in the callback (see map_next_batch) */
        if (k && w->dropping) {
            w->s.in_cb++;
            YC__GUARD(t) {
                w->s.in_cb--;
                yc__cb_caught(&t); /* the items before it are dropped */
                return yc__pst_fail_at(&w->s, buf, at, k, st == YC_RETURN, 0);
            }
            for (; i < k; i++) {
                at = i;
                if (!w->pred(w->ctx, buf[i])) break;
            }
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
          PST_ITER_BASE,
          .next_batch = takewhile_next_batch},
    .stop_keeps_ups = true,
};
static const pst_type dropwhile_type = {
    .t = {.name = "dropwhile", .next = dropwhile_next, .close = yc__pst_close,
          PST_ITER_BASE,
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
          PST_ITER_BASE},
    .release = tup_release, .destroy = tup_destroy,
};
static const pst_type zip_type = {
    .t = {.name = "zip", .next = zip_next, .close = yc__pst_close, PST_ITER_BASE},
    .release = tup_release, .destroy = tup_destroy,
    .stop_keeps_ups = true,
};
static const pst_type batch_type = {
    .t = {.name = "batched", .next = batch_next, .close = yc__pst_close, PST_ITER_BASE},
    .release = tup_release, .destroy = tup_destroy,
};
static const pst_type window_type = {
    .t = {.name = "window", .next = window_next, .close = yc__pst_close, PST_ITER_BASE},
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
        yc__enomem();
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
        yc__enomem();
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
    if (YC_UNLIKELY(c->s.in_cb)) return yc__pst_reentered(&c->s);
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
        c->s.in_cb = true;
        YC__GUARD(t) {
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
    .t = {.name = "chain", .next = chain_next, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = chain_next_batch},
};
static const pst_type flat_type = {
    .t = {.name = "flat_map", .next = flat_next, .close = yc__pst_close, PST_ITER_BASE,
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
    if (!fn) return yc__pst_no_function(up, "flat_map");
    chain_st *c = (chain_st *)yc__pst_new1(sizeof *c, &flat_type, up);
    if (!c) return NULL;
    c->fn = fn;
    c->ctx = ctx;
    return &c->s.it;
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
        yc__enomem();
        return NULL;
    }
    b->it.type = &borrow_type;
    b->src = src;
    b->closed = false;
    return &b->it;
}

