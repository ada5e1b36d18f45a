/*
 * Internal: the values of pipelines (values.c). Copies and releases of
 * owned values (bytes, tuples), the tuples stages hand out, Python's type
 * names for messages, the numeric helpers that sum, accumulate and min/max
 * share, and the copies a stage keeps for one block (pst_keep).
 *
 * The lowest layer of the pipeline files: it uses only internal.h.
 */
#ifndef YC_VALUES_H
#define YC_VALUES_H

#include "internal.h"

/* Sets MemoryError pending; returns YC_ENOMEM. */
static inline int yc__enomem(void)
{
    yc__err_set(yc__cur(), &yc__nomem);
    return YC_ENOMEM;
}

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

/* BYTES or a tuple: has memory to copy. Inline: map, filter and the
 * reducers ask it for every item. */
static inline bool yc__val_owned(yc_val v)
{
    return yc_type_of(v) == YC_T_BYTES || yc_tuple_of(v) != NULL;
}

/* An int, bool or float: a number as sum, min/max and Counter's keys
 * take it. */
static inline bool yc__val_is_num(yc_val v)
{
    yc_type k = yc_type_of(v);
    return k == YC_T_INT || k == YC_T_BOOL || k == YC_T_FLOAT;
}

/* Numeric helpers shared by sum, accumulate and min/max: a + b as Python
 * adds ints, floats and bools; YC_OK or YC_RAISE. */
YC_HIDDEN int yc__val_add(yc_val a, yc_val b, yc_val *out);
/* a < b as Python compares numbers (int and float exactly) and bytes (op,
 * "<" or ">", names the operator in the message). YC_OK with *lt, or
 * YC_RAISE with TypeError "'<' not supported between instances of 'int'
 * and 'bytes'" for anything else. */
YC_HIDDEN int yc__val_less(yc_val a, yc_val b, const char *op, bool *lt);
/* TypeError "unsupported operand type(s) for OP: 'A' and 'B'"; YC_RAISE. */
YC_HIDDEN int yc__val_bad_operands(const char *op, yc_val a, yc_val b);

/* Replaces the owned *slot by an owned copy of v (v may point into *slot:
 * copied before the old value goes). YC_OK or YC_ENOMEM. */
static inline int keep_val(yc_val *slot, yc_val v)
{
    if (v.meta == slot->meta && v.i == slot->i) return YC_OK; /* the same value */
    yc_val c = yc_val_copy(v);
    if (yc__val_owned(v) && yc_is_none(c)) return YC_ENOMEM;
    yc_val_release(*slot);
    *slot = c;
    return YC_OK;
}


/* A tuple of n Nones, or NULL (no error set). */
static inline yc_tuple *tuple_alloc(size_t n)
{
    yc_tuple *t = yc__malloc(sizeof *t + n * sizeof(yc_val));
    if (t) {
        t->len = n;
        for (size_t i = 0; i < n; i++) t->items[i] = YC_NONE;
    }
    return t;
}

/* Items the stage copied (batch, window): released with the stage. */
static inline void tuple_release_items(yc_tuple *t, size_t n)
{
    if (!t) return;
    for (size_t i = 0; i < n; i++) {
        yc_val_release(t->items[i]);
        t->items[i] = YC_NONE;
    }
}


#endif
