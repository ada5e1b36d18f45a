/*
 * Internal to the synchronisation modules (queue.c, locks.c): waiter lists,
 * asyncio's binding of a primitive to one loop, the Event a queue embeds,
 * and the small helpers both files share (sync.c). Never installed.
 *
 * Every primitive follows Lib/asyncio/locks.py and queues.py of 3.13: a
 * waiting task awaits a future of its own, kept in a FIFO list of the
 * primitive (asyncio's deque of futures); whoever grants something
 * completes that future, which wakes the task one loop iteration later
 * (the future's done callbacks are scheduled, never called). So the order
 * in which tasks run is asyncio's.
 *
 * Lifetime: a waiter node lives in the frame of the waiting task (its C
 * stack, parked while it waits), and is unlinked before that frame returns
 * or raises: a task being destroyed by a closing loop is resumed with
 * GeneratorExit, so it unlinks too. A primitive counts the tasks inside
 * its suspending calls (busy); freeing it is refused while any is there,
 * since a task woken but not yet run still reads the primitive.
 */
#ifndef YC_SYNC_INTERNAL_H
#define YC_SYNC_INTERNAL_H

#include "task.h"

/* A future in a primitive's waiter list (the node is the waiting task's). */
typedef struct yc__waiter {
    struct yc__waiter *prev, *next;
    yc_task *fut;
    bool linked;
} yc__waiter;

typedef struct yc__waitq {
    yc__waiter *head, *tail;
    size_t n;
} yc__waitq;

/* deque.append(fut) */
static inline void yc__wq_push(yc__waitq *q, yc__waiter *w, yc_task *fut)
{
    w->fut = fut;
    w->next = NULL;
    w->prev = q->tail;
    if (q->tail) q->tail->next = w;
    else q->head = w;
    q->tail = w;
    w->linked = true;
    q->n++;
}

/* deque.remove(fut), ignoring "not there" (someone popped it already). */
static inline void yc__wq_remove(yc__waitq *q, yc__waiter *w)
{
    if (!w->linked) return;
    if (w->prev) w->prev->next = w->next;
    else q->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else q->tail = w->prev;
    w->prev = w->next = NULL;
    w->linked = false;
    q->n--;
}

/* deque.popleft(), or NULL when empty. */
static inline yc__waiter *yc__wq_popleft(yc__waitq *q)
{
    yc__waiter *w = q->head;
    if (w) yc__wq_remove(q, w);
    return w;
}

static inline bool yc__sync_done(const yc_task *f) { return f->state != FUT_PENDING; }
static inline bool yc__sync_cancelled(const yc_task *f) { return f->state == FUT_CANCELLED; }

/*
 * _LoopBoundMixin._get_loop: binds *id to L's on first use. YC_OK, or
 * YC_EINVAL with RuntimeError "REPR is bound to a different event loop"
 * (repr: the primitive's, made only then by fmt(obj)).
 */
YC_HIDDEN int yc__sync_bind_slow(uint64_t *id, const yc_loop *L, const void *obj,
                                 int (*fmt)(const void *obj, char *buf, size_t n));
static inline int yc__sync_bind(uint64_t *id, const yc_loop *L, const void *obj,
                                int (*fmt)(const void *obj, char *buf, size_t n))
{
    return YC_LIKELY(*id == L->id) ? YC_OK : yc__sync_bind_slow(id, L, obj, fmt);
}

/* Raises the pending exception at file:line in func, as a raise there. */
YC_HIDDEN YC_NORETURN void yc__sync_raise(const char *file, int line, const char *func);

/* A new waiter future on t's loop, linked at the end of q: YC_OK, or
 * YC_ENOMEM (MemoryError) with nothing linked. */
static inline int yc__sync_waiter(yc__waitq *q, yc__waiter *w, yc_task *t)
{
    yc_task *fut = yc__task_waiter(t);
    if (!fut) return YC_ENOMEM;
    yc__wq_push(q, w, fut);
    return YC_OK;
}

/* snprintf-style appending: keeps the length it wanted to write. */
typedef struct yc__sbuf {
    char *buf;
    size_t n, len;
} yc__sbuf;
YC_HIDDEN void yc__sb_printf(yc__sbuf *b, const char *fmt, ...) YC_PRINTF(2, 3);

/* ---- Event (locks.c), embedded by a queue for join ------------------ */

#define YC__EVENT_MAGIC 0x79634576u /* "ycEv" */

struct yc_event {
    uint32_t magic;
    bool value;
    int busy;          /* tasks inside wait */
    uint64_t loop_id;  /* _LoopBoundMixin; 0: not bound yet */
    yc__waitq waiters;
};

YC_HIDDEN void yc__event_init(yc_event *e);
YC_HIDDEN void yc__event_set(yc_event *e);
/* Event.wait() in task t: YC_OK once set, or negative with the exception
 * pending (never raises). */
YC_HIDDEN int yc__event_wait(yc_event *e, yc_task *t);

#endif
