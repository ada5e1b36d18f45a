/*
 * Internal: the stage life cycle (stage.c), shared by every pipeline stage
 * and source (the stage files, sources.c, gen_stages.c; yieldc/iter.h).
 *
 * A stage ("pst") embeds yc_iter first, owns its upstream iterators (ups)
 * and has one life cycle:
 *
 *   running --(exhausted, failed, closed)--> done (shut: own resources
 *   released, upstreams closed) --(yc_iter_free)--> freed
 *
 * Every pull of a done stage returns YC_RETURN. pst_finish ends a stage from
 * inside a pull; pst_shutdown is the one place that releases and closes.
 * A stage never returns YC_RETURN together with values from next_batch:
 * values come with YC_YIELD and the end with the next pull, so the end may
 * free buffers those values point into.
 */
#ifndef YC_STAGE_H
#define YC_STAGE_H

#include "internal.h"
#include "guard.h"
#include "values.h"

typedef struct pst pst;

/* A stage's type: the iterator operations plus its life-cycle hooks. */
typedef struct pst_type {
    /* First: it->type points here. t.next_batch is the block path (see
     * yc_iter_next_batch in yieldc.h); NULL for stages that only have next,
     * which yc_iter_next_batch then pulls one value at a time. */
    yc_iter_type t;
    /* Releases what the stage holds besides its upstreams (buffers, copies,
     * files), once, when it ends or is closed; returns YC_OK or a negative
     * status with the error pending. May be NULL. */
    int (*release)(pst *s);
    /* Frees what must live until yc_iter_free (after release). May be NULL. */
    void (*destroy)(pst *s);
    /* The int64 block path, for stages whose every value is an int: the
     * contract of t.next_batch (values with YC_YIELD, at most cap of them,
     * never none with YC_YIELD; the end with the next pull), the values as
     * plain int64_t. range, map_i64 and filter_i64 have it; yc_iter_sum and
     * yc_iter_count consume through it when their iterator has it, and
     * map_i64 / filter_i64 pull through it when their upstream has it.
     * NULL for every other stage. */
    int (*next_i64)(yc_iter *it, int64_t *buf, size_t cap, size_t *n);
    /* Stopping (YC_RETURN) keeps the upstreams open until the stage is
     * closed or freed, as the CPython object it stands for keeps its
     * iterators: takewhile at its first false, zip at its shortest input.
     * false: they are closed when it stops (islice, as CPython's drops its
     * iterator at its stop; stages whose upstream is exhausted). */
    bool stop_keeps_ups;
} pst_type;

struct pst {
    yc_iter it;
    yc_iter **ups;     /* owned upstreams; &up1 for one */
    size_t nups;
    yc_iter *up1;
    const char *label; /* borrowed; NULL: the type's name */
    int depth;         /* 0 for a source, else 1 + the deepest upstream's */
    bool done;         /* ended: pulls return YC_RETURN */
    bool shut;         /* released and upstreams closed */
    bool upend;        /* upstream ended with the last block: finish next time */
    unsigned in_cb;    /* callbacks running that must not reenter it: close and free
                        * refuse, and pulls too except in map, filter, takewhile
                        * and dropwhile (whose callbacks may nest: a count) */
    /* After a callback raised inside a block (map, filter, takewhile,
     * dropwhile; pst_rest): the exception to raise at the next pull when
     * values before it were handed on, the block's items after the failing
     * one (shallow: they stay valid, upstream is not pulled until they are
     * served), and whether upstream ended with that block. upend is set
     * while any of these is pending, so the pull's one flag test covers it. */
    yc_exc *held;
    yc_val *rest;
    size_t nrest, rest_at, rest_cap;
    bool up_done;
};

YC_HIDDEN void yc__pst_free(yc_iter *it);
/* In every stage type's .t: the library's free and the stage marker
 * (yc__iter_is_stage), so that a stage type cannot have one without the
 * other. yc__pst_new refuses a type without the marker. */
#define PST_ITER_BASE .free = yc__pst_free, .size = sizeof(yc_iter_type), .flags = YC__ITER_STAGE
/* A stage's own block path (for its per-item next built on it). */
static inline int pst_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    return it->type->next_batch(it, buf, cap, n);
}
YC_HIDDEN int yc__pst_close(yc_iter *it, yc_val *out);
/* Whether it is one of the library's stages (a pst). */
static inline bool is_pst(const yc_iter *it)
{
    return it && it->type && yc__iter_is_stage(it->type);
}
/* A stage's depth (0 for a source; any other iterator counts as one). */
static inline int depth_of(const yc_iter *it) { return is_pst(it) ? ((const pst *)it)->depth : 0; }
/* it's int64 block path (pst_type.next_i64), or NULL when it has none. */
typedef int (*pst_i64_fn)(yc_iter *it, int64_t *buf, size_t cap, size_t *n);
static inline pst_i64_fn pst_i64_of(const yc_iter *it)
{
    if (!is_pst(it)) return NULL;
    return ((const pst_type *)it->type)->next_i64;
}

/* Allocates a zeroed stage of `size` bytes with type t, taking the n
 * upstreams in ups (or, when n is 1, up1 = ups[0]). Any NULL upstream, or
 * no memory: frees the others and returns NULL with the error pending
 * (the pending one kept for a NULL upstream, TypeError if none). */
YC_HIDDEN pst *yc__pst_new(size_t size, const pst_type *t, yc_iter *const *ups, size_t n);
/* A constructor's answer to a NULL upstream: NULL, the pending error kept
 * (TypeError when none is pending). */
YC_HIDDEN yc_iter *yc__pst_no_up(const pst_type *t);
/* The same for one upstream. */
YC_HIDDEN pst *yc__pst_new1(size_t size, const pst_type *t, yc_iter *up);
/* A constructor given no function: frees up and returns NULL with
 * TypeError "STAGE: the function is NULL". */
YC_HIDDEN yc_iter *yc__pst_no_function(yc_iter *up, const char *stage);
/* Ends s from inside a pull with status st (YC_RETURN or negative): a
 * traceback entry for an error, then release and close upstream (their
 * failures go to the unraisable hook); a stop (YC_RETURN) of a type with
 * stop_keeps_ups only marks it done, the rest left to close and free.
 * Returns st. */
YC_HIDDEN int yc__pst_finish(pst *s, int st);
/* Releases and closes once; YC_OK or the first error (pending). */
YC_HIDDEN int yc__pst_shutdown(pst *s);
/* Adds s's traceback entry to the pending exception. */
YC_HIDDEN void yc__pst_tb(pst *s);
/* The name used for s in tracebacks and messages. */
YC_HIDDEN const char *yc__pst_name(const pst *s);
/* Reports the pending error to the unraisable hook (for s) and clears it. */
YC_HIDDEN void yc__pst_unraisable(const char *what);
/* s used from inside a callback of its own: YC_EBUSY with ValueError "NAME
 * is already executing (called from its own callback)" (stage.c). */
YC_HIDDEN int yc__pst_reentered(pst *s);

/* A stage whose callback raised at buf[i] of a block of k (i < k): adds
 * the stage's traceback entry, keeps buf[i+1, k) to serve before upstream
 * is pulled again (up_done: upstream ended with this block) and, when
 * `before` values precede the failure and go to the consumer now, holds
 * the exception for the next pull. Returns YC_YIELD (before > 0, the
 * exception held) or YC_RAISE (pending); no memory to keep the rest:
 * MemoryError instead of the callback's exception, and the stage ends. */
YC_HIDDEN int yc__pst_fail_at(pst *s, const yc_val *buf, size_t i, size_t k, bool up_done,
                              size_t before);
/* A stage's source while upend is set: the held exception (YC_RAISE,
 * pending), else up to cap items of the rest (YC_YIELD; YC_RETURN with the
 * last ones when upstream had ended), else the true end (the stage
 * finishes: YC_RETURN, *k 0). */
YC_HIDDEN int yc__pst_rest(pst *s, yc_val *buf, size_t cap, size_t *k);
/* An error from upstream passing a stage that goes on after errors (as
 * CPython's map, filter, ... do): its traceback entry, st returned. */
static inline int pst_pass(pst *s, int st)
{
    yc__pst_tb(s);
    return st;
}

/* The common "already ended" answer. */
static inline int pst_ended(yc_val *out)
{
    *out = YC_NONE;
    return YC_RETURN;
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
        if (YC_UNLIKELY((s)->in_cb)) return yc__pst_reentered(s);                 \
    } while (0)
/* The per-item next of a stage that only has a block path. */
static inline int next_via_batch(yc_iter *it, yc_val *out)
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
static inline int block_result(pst *s, int st, size_t k, size_t *n)
{
    if (st == YC_YIELD || (st == YC_RETURN && k > 0)) {
        if (st == YC_RETURN) s->upend = true;
        *n = k;
        return YC_YIELD;
    }
    *n = 0;
    return yc__pst_finish(s, st);
}

/* yc_iter_next_batch for the pullers of the block path (stages, reducers),
 * with its contract, inlined into them: an iterator of this layout without
 * next_batch (a generator, among others) is pulled by yc_iter_next, whose
 * tail call lets a generator's switch back land in the puller itself.
 * yc_iter_next_batch calls next and stores *n after it, and the `ret` of
 * its frame that follows the switch is one the return-stack predictor
 * misses every time (docs/design.md, "The context switch"). The size is
 * tested before next_batch is read (a type of another size may not have
 * that field); everything else goes to yc_iter_next_batch. */
static inline int yc__iter_pull_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    const yc_iter_type *t = it ? it->type : NULL;
    if (YC_LIKELY(t && (t->size == 0 || t->size == sizeof(yc_iter_type)) && !t->next_batch &&
                  buf && cap)) {
        int st = yc_iter_next(it, buf);
        *n = st == YC_YIELD;
        return st;
    }
    return yc_iter_next_batch(it, buf, cap, n);
}

#endif
