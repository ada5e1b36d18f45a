/*
 * Stateful stages of lazy pipelines (yieldc/iter.h): accumulate, unique,
 * groupby and tee, which keep owned copies of values across items (a
 * running total, the last key, the current group's key, a ring of items
 * not yet read by every branch).
 */
#include "pipe.h"

#include <string.h>

/* Locals are never read on the caught path of the callback frames below
 * (see yc__cb_caught), which GCC's -Wclobbered cannot tell. */
#if defined(__GNUC__) && !defined(__clang__)
#  pragma GCC diagnostic ignored "-Wclobbered"
#endif

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
    if (YC_UNLIKELY(a->s.in_cb)) return yc__pst_reentered(&a->s);
    if (a->initial) {
        a->initial = false;
        *out = a->total;
        return YC_YIELD;
    }
    yc_val x;
    int st = yc_iter_next(a->s.up1, &x);
    /* an error (upstream's, the function's, the addition's) goes to the
     * consumer and the total stays: the next pull goes on with the next
     * item, as CPython's accumulate does */
    if (st != YC_YIELD) return st == YC_RETURN ? yc__pst_finish(&a->s, st) : pst_pass(&a->s, st);
    yc_val r = x;
    if (a->have) {
        if (a->fn) {
            a->s.in_cb = true;
            YC__GUARD(t) {
                a->s.in_cb = false;
                return pst_pass(&a->s, yc__cb_caught(&t));
            }
            r = a->fn(a->ctx, a->total, x);
            a->s.in_cb = false;
            yc__try_end(&t);
        } else if (yc__val_add(a->total, x, &r) < 0) {
            return pst_pass(&a->s, YC_RAISE);
        }
    }
    if (keep_val(&a->total, r) < 0) return yc__pst_finish(&a->s, yc__enomem());
    a->have = true;
    *out = a->total;
    return YC_YIELD;
}

static const pst_type accumulate_type = {
    .t = {.name = "accumulate", .next = accumulate_next, .close = yc__pst_close,
          PST_ITER_BASE},
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
            yc__enomem();
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
    if (YC_UNLIKELY(a->s.in_cb)) return yc__pst_reentered(&a->s);
    for (;;) {
        size_t k = 0, j = 0;
        int st = yc_iter_next_batch(a->s.up1, buf, cap, &k);
        if (k && st >= 0) {
            a->s.in_cb = true;
            YC__GUARD(t) {
                a->s.in_cb = false;
                return yc__pst_finish(&a->s, yc__cb_caught(&t));
            }
            for (size_t i = 0; i < k; i++) {
                bool kp;
                if (unique_keep(a, buf[i], &kp) < 0) {
                    a->s.in_cb = false;
                    yc__try_end(&t);
                    return yc__pst_finish(&a->s, yc__enomem());
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
    .t = {.name = "unique", .next = unique_next, .close = yc__pst_close, PST_ITER_BASE,
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
 * (exhausted) or negative (error pending). After an error (upstream's or
 * the key function's) the groupby goes on as CPython's does: the failed
 * item is dropped, the current group stays, and the next pull reads on. */
static int gb_fill(groupby_st *g)
{
    if (YC_UNLIKELY(g->s.in_cb)) return yc__pst_reentered(&g->s);
    if (g->exhausted) return YC_RETURN;
    int st = yc_iter_next(g->s.up1, &g->cur);
    if (st == YC_RETURN) {
        g->exhausted = true;
        return YC_RETURN;
    }
    if (st < 0) return pst_pass(&g->s, st);
    if (!g->key) {
        g->curkey = g->cur;
    } else {
        g->s.in_cb = true;
        YC__GUARD(t) {
            g->s.in_cb = false;
            return pst_pass(&g->s, yc__cb_caught(&t));
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
        return yc__pst_finish(&g->s, yc__enomem());
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
          PST_ITER_BASE},
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
        yc__enomem();
        return NULL;
    }
    return &g->s.it;
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
        if (!r) return yc__enomem();
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
    if (yc__val_owned(x) && yc_is_none(c)) return yc__pst_finish(&b->s, yc__enomem());
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
    .t = {.name = "tee", .next = tee_next, .close = yc__pst_close, PST_ITER_BASE},
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
        return yc__enomem();
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
            return yc__enomem();
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

