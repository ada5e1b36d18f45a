/*
 * Generators in pipelines: generator stages (yc_iter_stage, yc_iter_source),
 * a generator as a source (yc_iter_gen) and generator expressions
 * (yc_genexpr).
 *
 * A generator stage is a pipeline stage (pipe.h) that runs its body as a
 * generator. The consumer's request travels into the body: for yc_iter_next
 * it is one value, for yc_iter_next_batch a block of cap values, written by
 * yc_stage_emit straight into the consumer's buffer. emit suspends only
 * when the request is full, and yc_stage_pull refills its own input block
 * from upstream (one value at a time for a per-item request, PST_BLOCK_SMALL
 * for a block request), so a chain of generator stages switches once per block.
 * Before refilling, pull hands over the values emitted so far: a block never
 * mixes values from two upstream pulls, which keeps every value of a block
 * valid until the next pull, as the protocol requires.
 *
 * A generator expression is a real generator (its body in gx_body) wrapped
 * in a stage that owns the source iterator, so freeing or closing it frees
 * or closes the source too.
 */
#include "pipe.h"

#include <string.h>

struct yc_stage {
    pst s;
    yc_gen *g;
    yc_stage_fn fn;
    void *ctx;
    /* the consumer's request, while the body runs */
    yc_val *obuf;
    size_t ocap, on;
    bool via_emit; /* the body suspended in emit (else: a plain yc_yield) */
    /* the input block */
    size_t ipos, in_n;
    bool in_end;
    pst_keep keep; /* copies of emitted values for the current request (pipe.h) */
    yc_val in[PST_BLOCK_SMALL];
};

/* ---- the consumer's side --------------------------------------------- */

static yc_val stage_body(void *arg)
{
    yc_stage *st = arg;
    return st->fn(st, st->ctx);
}

/* Runs the body until it fills (part of) buf[0, cap) and suspends, or
 * ends. */
static int stage_run(yc_stage *st, yc_val *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (st->s.done) return YC_RETURN;
    if (st->s.upend) return yc__pst_finish(&st->s, YC_RETURN);
    if (YC_UNLIKELY(st->obuf)) /* a request is running: pulled from inside its body */
        return yc__fail(YC_EBUSY, &yc_ValueError, "generator already executing");
    pst_keep_clear(&st->keep); /* the consumer is done with the last request */
    st->obuf = buf;
    st->ocap = cap;
    st->on = 0;
    st->via_emit = false;
    yc_val v;
    int r = yc_next(st->g, &v);
    size_t got = st->on;
    st->obuf = NULL;
    st->ocap = st->on = 0;
    if (r == YC_YIELD) {
        if (!st->via_emit) buf[got++] = v; /* a plain yc_yield in the body */
        *n = got;
        return YC_YIELD;
    }
    if (r == YC_RETURN && got) { /* emitted, then returned */
        st->s.upend = true;
        *n = got;
        return YC_YIELD;
    }
    return yc__pst_finish(&st->s, r);
}

static int stage_next(yc_iter *it, yc_val *out)
{
    size_t n;
    int r = stage_run((yc_stage *)it, out, 1, &n);
    if (r != YC_YIELD) *out = YC_NONE;
    return r;
}

static int stage_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    return stage_run((yc_stage *)it, buf, cap, n);
}

/* Closes the generator (its finally blocks run); upstream is closed after
 * it by the stage core. */
static int stage_release(pst *s)
{
    yc_stage *st = (yc_stage *)s;
    return st->g ? yc_close(st->g, NULL) : YC_OK;
}

static void stage_destroy(pst *s)
{
    yc_stage *st = (yc_stage *)s;
    if (st->g) yc_gen_free(st->g);
    st->g = NULL;
    yc__pst_keep_free(&st->keep);
}

static const pst_type stage_type = {
    .t = {.name = "stage", .next = stage_next, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = stage_next_batch},
    .release = stage_release, .destroy = stage_destroy,
};

static yc_iter *stage_new(yc_iter *up, bool has_up, yc_stage_fn fn, void *ctx,
                          const yc_gen_opts *opts)
{
    if (!fn) {
        yc_iter_free(up);
        yc__fail(YC_EINVAL, &yc_TypeError, "stage: the body function is NULL");
        return NULL;
    }
    yc_stage *st = (yc_stage *)yc__pst_new(sizeof *st, &stage_type, &up, has_up ? 1 : 0);
    if (!st) return NULL;
    st->fn = fn;
    st->ctx = ctx;
    yc_gen_opts o = opts ? *opts : (yc_gen_opts){0};
    if (!o.name) o.name = has_up ? "stage" : "source";
    st->g = yc_gen_new(stage_body, st, &o);
    if (!st->g) {
        yc_exc *e = yc_err_take();
        yc_iter_free(&st->s.it);
        yc__err_set(yc__cur(), e);
        return NULL;
    }
    return &st->s.it;
}

yc_iter *yc_iter_stage(yc_iter *up, yc_stage_fn fn, void *ctx, const yc_gen_opts *opts)
{
    if (!up) return yc__pst_no_up(&stage_type);
    return stage_new(up, true, fn, ctx, opts);
}

yc_iter *yc_iter_source(yc_stage_fn fn, void *ctx, const yc_gen_opts *opts)
{
    return stage_new(NULL, false, fn, ctx, opts);
}

/* A plain generator as a source: its iterator view (a generator, not a
 * stage: no block path). */
yc_iter *yc_iter_gen(yc_gen_fn fn, void *arg, const yc_gen_opts *opts)
{
    yc_gen *g = yc_gen_new(fn, arg, opts);
    return g ? yc_gen_iter(g) : NULL;
}

/* ---- the body's side ------------------------------------------------- */

static YC_NORETURN void outside(const yc_stage *s, const char *what)
{
    if (!s) yc_raise(yc_exc_new(&yc_TypeError, "%s: stage is NULL", what));
    yc_raise(yc_exc_new(&yc_RuntimeError, "%s() outside its stage's body", what));
}

void yc_stage_emit(yc_stage *s, yc_val v)
{
    if (YC_UNLIKELY(!s || yc__cur()->gen != s->g)) outside(s, "yc_stage_emit");
    if (YC_UNLIKELY(!s->ocap)) { /* no request: the stage is being closed */
        yc_yield(v);          /* so that closing reports "generator ignored GeneratorExit" */
        return;
    }
    /* more values will be emitted into this block before the consumer reads
     * it: a value that may point into memory the body reuses is copied,
     * unless it lies inside the item pulled last (pipe.h) */
    if (YC_UNLIKELY(yc__val_owned(v)) && s->on + 1 < s->ocap &&
        !(s->ipos && yc__val_within(v, s->in[s->ipos - 1])) && yc__pst_keep(&s->keep, &v) < 0)
        yc_raise(yc_err_take());
    s->obuf[s->on++] = v;
    if (s->on < s->ocap) return;
    s->via_emit = true;
    yc_yield(YC_NONE); /* the block is full: hand it over */
}

static bool pull_slow(yc_stage *s, yc_val *v)
{
    if (YC_UNLIKELY(yc__cur()->gen != s->g)) outside(s, "yc_stage_pull");
    if (YC_UNLIKELY(!v)) yc_raise(yc_exc_new(&yc_TypeError, "yc_stage_pull: v is NULL"));
    if (s->ipos < s->in_n) { /* no request running: the stage is being closed */
        *v = s->in[s->ipos++];
        return true;
    }
    if (!s->s.nups || s->in_end) return false;
    if (s->on > 0) { /* hand over what was emitted before pulling again */
        s->via_emit = true;
        yc_yield(YC_NONE);
    }
    size_t want = s->ocap > 1 ? PST_BLOCK_SMALL : 1, k = 0;
    int r = yc_iter_next_batch(s->s.up1, s->in, want, &k);
    s->ipos = 0;
    s->in_n = 0;
    if (r < 0) {
        s->in_end = true;
        yc__err_raise("<pipeline>", s->s.depth, "yc_stage_pull");
    }
    if (r == YC_RETURN) s->in_end = true;
    if (!k) return false;
    s->in_n = k;
    *v = s->in[s->ipos++];
    return true;
}

bool yc_stage_pull(yc_stage *s, yc_val *v)
{
    /* the fast path only while a request runs the body; the slow path
     * checks that the caller is the stage's own body */
    if (YC_LIKELY(s && s->ipos < s->in_n && v && s->obuf)) {
        *v = s->in[s->ipos++];
        return true;
    }
    if (!s) outside(s, "yc_stage_pull");
    return pull_slow(s, v);
}

yc_iter *yc_stage_upstream(yc_stage *s) { return s && s->s.nups ? s->s.up1 : NULL; }

/* ======================================================================
 * Generator expressions
 * ==================================================================== */

typedef struct gx_st {
    pst s;
    yc_gen *g;
    yc_genexpr_def def;
    yc_iter *inner; /* the inner loop's iterator while it runs (owned) */
} gx_st;

static yc_val gx_body(void *arg)
{
    gx_st *x = arg;
    const yc_genexpr_def *d = &x->def;
    yc_val v;
    int st;
    while ((st = yc_iter_next(x->s.up1, &v)) == YC_YIELD) {
        if (d->cond && !d->cond(d->ctx, v)) continue;
        if (!d->inner) {
            yc_yield(d->elem ? d->elem(d->ctx, v) : v);
            continue;
        }
        yc_iter *in = d->inner(d->ctx, v);
        if (!in) {
            if (!yc_err_get()) yc_raisef(&yc_TypeError, "the inner iterable is NULL");
            YC_CHECK(-1);
        }
        x->inner = in;
        yc_val y;
        int st2;
        while ((st2 = yc_iter_next(in, &y)) == YC_YIELD) {
            if (d->inner_cond_xy ? !d->inner_cond_xy(d->ctx, v, y)
                                 : d->inner_cond && !d->inner_cond(d->ctx, y))
                continue;
            yc_yield(d->elem_xy ? d->elem_xy(d->ctx, v, y) : d->elem ? d->elem(d->ctx, y) : y);
        }
        x->inner = NULL;
        if (st2 < 0) {
            yc_exc *e = yc_err_take();
            yc_iter_free(in);
            yc_err_set(e);
            YC_CHECK(st2);
        }
        yc_iter_free(in);
    }
    YC_CHECK(st);
    return YC_NONE;
}

/* After the generator ran: on its end (return or raise) the source and any
 * inner iterator are released, as Python clears a finished frame. */
static int gx_after(gx_st *x, int r, yc_val *out)
{
    if (r == YC_YIELD || r == YC_EBUSY || r == YC_EINVAL) return r;
    yc_exc *saved = yc_err_take();
    if (yc__pst_shutdown(&x->s) < 0) yc__pst_unraisable("genexpr");
    if (saved) yc__err_set(yc__cur(), saved);
    if (r != YC_RETURN && out) *out = YC_NONE;
    return r;
}

static int gx_next(yc_iter *it, yc_val *out)
{
    gx_st *x = (gx_st *)it;
    return gx_after(x, yc_next(x->g, out), out);
}

static int gx_send(yc_iter *it, yc_val v, yc_val *out)
{
    gx_st *x = (gx_st *)it;
    return gx_after(x, yc_send(x->g, v, out), out);
}

static int gx_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    gx_st *x = (gx_st *)it;
    return gx_after(x, yc_throw(x->g, e, out), out);
}

static int gx_close(yc_iter *it, yc_val *out)
{
    gx_st *x = (gx_st *)it;
    int r = yc_close(x->g, out);
    if (r == YC_EBUSY) return r;
    yc_exc *e = r < 0 ? yc_err_take() : NULL;
    int r2 = yc__pst_shutdown(&x->s);
    if (e) {
        if (r2 < 0) yc__pst_unraisable("genexpr");
        yc__err_set(yc__cur(), e);
        return r;
    }
    return r2;
}

static int gx_release(pst *s)
{
    gx_st *x = (gx_st *)s;
    int r = yc_close(x->g, NULL);
    if (x->inner) {
        yc_exc *e = r < 0 ? yc_err_take() : NULL;
        yc_iter_free(x->inner);
        x->inner = NULL;
        if (e) yc__err_set(yc__cur(), e);
    }
    return r;
}

static void gx_destroy(pst *s)
{
    gx_st *x = (gx_st *)s;
    yc_gen_free(x->g);
}

static const pst_type gx_type = {
    .t = {.name = "generator", .next = gx_next, .send = gx_send, .throw_ = gx_throw,
          .close = gx_close, PST_ITER_BASE},
    .release = gx_release, .destroy = gx_destroy,
};

yc_iter *yc_genexpr(yc_iter *src, const yc_genexpr_def *def)
{
    if (src && def && !def->inner && (def->elem_xy || def->inner_cond_xy)) {
        yc_iter_free(src); /* taken, as on every other failure */
        yc__fail(YC_EINVAL, &yc_TypeError, "genexpr: elem_xy and inner_cond_xy need an inner loop");
        return NULL;
    }
    gx_st *x = (gx_st *)yc__pst_new1(sizeof *x, &gx_type, src);
    if (!x) return NULL;
    if (def) x->def = *def;
    yc_gen_opts o = {.name = x->def.name ? x->def.name : "<genexpr>"};
    x->g = yc_gen_new(gx_body, x, &o);
    if (!x->g) {
        yc_exc *e = yc_err_take();
        x->s.shut = true; /* nothing to close but the source */
        yc_iter_free(src);
        x->s.nups = 0;
        yc__free(x);
        yc__err_set(yc__cur(), e);
        return NULL;
    }
    return &x->s.it;
}
