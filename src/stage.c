/*
 * The stage life cycle (stage.h): creating a stage with its upstreams,
 * ending it (release, then close upstream), closing and freeing it, its
 * name and label for tracebacks.
 */
#include "stage.h"

#include <stdlib.h>
#include <string.h>


/* s pulled, closed or freed from inside a callback of its own (accumulate,
 * unique, groupby, flat_map, which keep state across the call; map_i64,
 * filter_i64): refused, nothing changed, as for a generator resumed from
 * its own body. map, filter, takewhile and dropwhile refuse only close and
 * free (the callback works on their item or block): a pull from their own
 * callback takes the next item, as CPython's map does, and nests (in_cb
 * counts the callbacks running). */
int yc__pst_reentered(pst *s)
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
    if (YC_UNLIKELY(!yc__iter_is_stage(&t->t))) { /* a library bug: loud, not a slow path */
        free_ups(ups, n);
        yc__fail(YC_EINVAL, &yc_RuntimeError, "%s: stage type without PST_ITER_BASE", t->t.name);
        return NULL;
    }
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
        if (dup < 0) yc__enomem();
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
        yc__enomem();
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
    if (s->held) yc_exc_unref(s->held);
    s->held = NULL;
    yc__free(s->rest);
    s->rest = NULL;
    s->nrest = s->rest_at = s->rest_cap = 0;
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
    if (st == YC_RETURN && ((const pst_type *)s->it.type)->stop_keeps_ups) {
        s->done = true; /* upstreams closed by yc__pst_close or yc__pst_free */
        return st;
    }
    if (st < 0) yc__pst_tb(s);
    yc_exc *saved = yc_err_take();
    if (yc__pst_shutdown(s) < 0) yc__pst_unraisable(yc__pst_name(s));
    if (saved) yc__err_set(yc__cur(), saved);
    return st;
}

int yc__pst_fail_at(pst *s, const yc_val *buf, size_t i, size_t k, bool up_done, size_t before)
{
    yc__pst_tb(s);
    size_t n = k - i - 1;
    if (n) { /* the rest array is empty here: pulls read it before upstream */
        if (n > s->rest_cap) {
            yc_val *r = yc__malloc(n * sizeof *r);
            if (!r) {
                yc__enomem(); /* replaces the callback's exception */
                return yc__pst_finish(s, YC_ENOMEM);
            }
            yc__free(s->rest);
            s->rest = r;
            s->rest_cap = n;
        }
        memcpy(s->rest, buf + i + 1, n * sizeof *buf);
    }
    s->nrest = n;
    s->rest_at = 0;
    s->up_done = up_done;
    if (before) s->held = yc_err_take();
    s->upend = s->held || n || up_done;
    return before ? YC_YIELD : YC_RAISE;
}

int yc__pst_rest(pst *s, yc_val *buf, size_t cap, size_t *k)
{
    *k = 0;
    if (s->held) {
        yc__err_set(yc__cur(), s->held);
        s->held = NULL;
        s->upend = s->nrest > s->rest_at || s->up_done;
        return YC_RAISE;
    }
    size_t left = s->nrest - s->rest_at;
    if (left == 0) return yc__pst_finish(s, YC_RETURN);
    if (left > cap) left = cap;
    memcpy(buf, s->rest + s->rest_at, left * sizeof *buf);
    s->rest_at += left;
    *k = left;
    if (s->rest_at < s->nrest) return YC_YIELD;
    s->nrest = s->rest_at = 0;
    s->upend = false; /* block_result sets it again for the YC_RETURN */
    return s->up_done ? YC_RETURN : YC_YIELD;
}

int yc__pst_close(yc_iter *it, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (YC_UNLIKELY(((pst *)it)->in_cb)) return yc__pst_reentered((pst *)it);
    return yc__pst_shutdown((pst *)it);
}

void yc__pst_free(yc_iter *it)
{
    pst *s = (pst *)it;
    if (YC_UNLIKELY(s->in_cb)) { /* nothing done: the error is pending */
        yc__pst_reentered(s);
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

/* A stage constructor given no function: takes (frees) up, as every
 * constructor does, and fails with TypeError naming the stage. */
yc_iter *yc__pst_no_function(yc_iter *up, const char *stage)
{
    yc_iter_free(up);
    yc__fail(YC_EINVAL, &yc_TypeError, "%s: the function is NULL", stage);
    return NULL;
}

