/*
 * Internal: the common part of every pipeline stage and source made by
 * itertools.c, sources.c and stages.c (yieldc/iter.h).
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
#ifndef YC_PIPE_H
#define YC_PIPE_H

#include "internal.h"

#include <setjmp.h>

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
};

YC_HIDDEN void yc__pst_free(yc_iter *it);
/* A stage's own block path (for its per-item next built on it). */
static inline int pst_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    return it->type->next_batch(it, buf, cap, n);
}
YC_HIDDEN int yc__pst_close(yc_iter *it, yc_val *out);
/* it's int64 block path (pst_type.next_i64), or NULL when it has none. */
typedef int (*pst_i64_fn)(yc_iter *it, int64_t *buf, size_t cap, size_t *n);
static inline pst_i64_fn pst_i64_of(const yc_iter *it)
{
    if (!it || !it->type || it->type->free != yc__pst_free) return NULL;
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
/* Ends s from inside a pull with status st (YC_RETURN or negative): a
 * traceback entry for an error, then release and close upstream (their
 * failures go to the unraisable hook). Returns st. */
YC_HIDDEN int yc__pst_finish(pst *s, int st);
/* Releases and closes once; YC_OK or the first error (pending). */
YC_HIDDEN int yc__pst_shutdown(pst *s);
/* Adds s's traceback entry to the pending exception. */
YC_HIDDEN void yc__pst_tb(pst *s);
/* The name used for s in tracebacks and messages. */
YC_HIDDEN const char *yc__pst_name(const pst *s);
/* Reports the pending error to the unraisable hook (for s) and clears it. */
YC_HIDDEN void yc__pst_unraisable(const char *what);

/* The common "already ended" answer. */
static inline int pst_ended(yc_val *out)
{
    *out = YC_NONE;
    return YC_RETURN;
}

/* Callbacks may raise: a stage calls them inside a frame of its own,
 * pushed once per block (not per item):
 *
 *     yc__try t;
 *     yc__try_push(&t);
 *     if (setjmp(t.jb)) return yc__pst_finish(s, yc__cb_caught(&t));
 *     ...callbacks...
 *     yc__try_end(&t);
 *
 * yc__cb_caught takes the exception the frame caught, unlinks the frame and
 * makes the exception pending: it returns YC_RAISE. Locals changed between
 * the setjmp and a raise must not be read on the caught path. */
static inline int yc__cb_caught(yc__try *t)
{
    yc_exc *e = t->exc;
    t->exc = NULL;
    yc__try_end(t);
    yc__err_set(yc__cur(), e);
    return YC_RAISE;
}

/* The block loops of range and sum have a second version for AVX2, chosen
 * at run time on x86-64 (the library is built for baseline x86-64, whose
 * 16-byte vectors hold one value; AVX2's hold two). YC_PST_AVX2 is 1 when
 * that choice exists; yc__pst_avx2() tells whether to take the AVX2 loops:
 * the CPU has AVX2 and the environment variable YC_NO_AVX2 was not set when
 * it was first asked (the tests use it to run the baseline loops too). A
 * build for AVX2 itself (-mavx2, -march=native) needs no choice: its
 * baseline loops use AVX2 already. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__AVX2__) && !defined(YC_NO_AVX2)
#  define YC_PST_AVX2 1
#  define YC_TARGET_AVX2 __attribute__((target("avx2")))
YC_HIDDEN extern int yc__pst_avx2_on; /* -1: not asked yet, else 0 / 1 */
YC_HIDDEN bool yc__pst_avx2_init(void);
static inline bool yc__pst_avx2(void)
{
    int on = __atomic_load_n(&yc__pst_avx2_on, __ATOMIC_RELAXED);
    return YC_LIKELY(on >= 0) ? on != 0 : yc__pst_avx2_init();
}
#else
#  define YC_PST_AVX2 0
#endif

#define YC_NOINLINE __attribute__((noinline))

/* A block buffer on the stack: 16-byte aligned, so that no 16-byte value
 * straddles two cache lines. */
#define YC_ALIGNED_BUF _Alignas(16)
/* The smaller block of buffers that live on a stack or in every stage: a
 * reducer's first blocks (reducers also run on generator stacks as small as
 * YC_STACK_MIN) and a generator stage's input block. Reducers move on to
 * YC_BATCH-value blocks on the heap once a pipeline has gone on for
 * PST_GROW_AFTER blocks (itertools.c). */
#define PST_BLOCK_SMALL 256
#define PST_GROW_AFTER 4

/* Values that must outlive the callback that made them, for one block.
 *
 * On the block path a stage runs its callback (or a generator stage's body)
 * for every item of a block before the consumer reads any of them. A value
 * that points into memory the callback reuses (a map callback formatting
 * into one buffer) would then read as the last item for every item of the
 * block, while a per-item consumer sees each in turn. The rule that makes
 * both the same: a BYTES or tuple value handed on in a block, other than
 * the block's last, that does not lie inside the item it was made from is
 * copied into storage the stage owns until its next pull (pst_keep). */
typedef struct pst_keep {
    yc_val *v; /* owned copies made for the current block */
    size_t n, cap;
} pst_keep;
/* True when v's memory lies inside `from`'s (a slice of a BYTES item, one
 * of a tuple's BYTES items, or v is `from` itself): stable for the block. */
YC_HIDDEN bool yc__val_within(yc_val v, yc_val from);
/* Replaces *v by an owned copy recorded in k. YC_OK, or YC_ENOMEM with
 * MemoryError pending (*v unchanged). */
YC_HIDDEN int yc__pst_keep(pst_keep *k, yc_val *v);
/* Releases the copies of the previous block (at the start of a pull). */
static inline void pst_keep_clear(pst_keep *k)
{
    for (size_t i = 0; i < k->n; i++) yc_val_release(k->v[i]);
    k->n = 0;
}
/* Releases everything (when the stage ends). */
YC_HIDDEN void yc__pst_keep_free(pst_keep *k);

/* Values: copy and release (itertools.c). */
YC_HIDDEN bool yc__val_owned(yc_val v); /* BYTES or a tuple: has memory to copy */

/* Numeric helpers shared by sum, accumulate and min/max (itertools.c):
 * a + b as Python adds ints, floats and bools; YC_OK or YC_RAISE. */
YC_HIDDEN int yc__val_add(yc_val a, yc_val b, yc_val *out);
/* Python's type name of a value for messages: "int", "bytes", ... */
YC_HIDDEN const char *yc__val_tname(yc_val v);
/* a < b as Python compares numbers (int and float exactly) and bytes (op,
 * "<" or ">", names the operator in the message). YC_OK with *lt, or
 * YC_RAISE with TypeError "'<' not supported between instances of 'int'
 * and 'bytes'" for anything else. */
YC_HIDDEN int yc__val_less(yc_val a, yc_val b, const char *op, bool *lt);

#endif
