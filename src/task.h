/*
 * The tasks' inline helpers, each a common case in front of a function of
 * task.c, for the files above task.c (aio.c, taskgroup.c, threadpool.c,
 * queue.c and locks.c through sync.h, the I/O files through io.h). Never
 * installed.
 *
 * Apart from loop.h, which declares the futures' structure and task.c's
 * functions: an inline that calls into task.c would make the loop's own
 * header, which loop.c includes, use the file above it (docs/design.md,
 * "Layers").
 */
#ifndef YC_TASK_INTERNAL_H
#define YC_TASK_INTERNAL_H

#include "loop.h"

/* yc_task_unref for a live t or NULL (no magic check). */
static inline void yc__unref(yc_task *t)
{
    if (t && --t->refs == 0) yc__task_free(t);
}

/* Makes future f (not a task) pending again, as new, when only its holder references it and
 * no callback waits on it: true, else false with f unchanged. */
YC_HIDDEN void yc__fut_clear_exc(yc_task *f); /* its exceptions and message go */
static inline bool yc__fut_reset(yc_task *f)
{
    if (f->refs != 1 || f->cb_head) return false; /* someone else may read it */
    f->state = FUT_PENDING;
    f->result = YC_NONE;
    f->log_tb = false;
    if (YC_UNLIKELY(f->exc || f->cancel_msg)) yc__fut_clear_exc(f);
    return true;
}
/* A pending future for one wait of task t (asyncio's create_future() in
 * sleep, Queue.get, Lock.acquire, ...), as a new reference: the one t
 * keeps for that, reset, when nobody else still holds it, else a new one.
 * NULL with MemoryError. */
YC_HIDDEN yc_task *yc__task_waiter_new(yc_task *t); /* its uncommon case */
static inline yc_task *yc__task_waiter(yc_task *t)
{
    yc_task *w = t->waiter;
    if (YC_LIKELY(w && yc__fut_reset(w))) { /* only t holds it: as new */
        w->refs++;
        return w;
    }
    return yc__task_waiter_new(t);
}

/*
 * Body side. The running task, or NULL with RuntimeError "no running event
 * loop" / "WHAT outside a task" set (what: "yc_sleep()" etc.). Called as
 * yc__task_running (below the loop's structure: its common case inline).
 */
YC_HIDDEN yc_task *yc__task_running_slow(const char *what);
/* yc__task_running_slow, its common case inline. */
static inline yc_task *yc__task_running(const char *what)
{
    /* the common case: the task's own coroutine runs (not a generator
     * it iterates), checked without walking the chain */
    yc_loop *const L = yc__running_loop;
    yc_task *const t = L ? L->current : NULL;
    if (YC_LIKELY(t && t->gen && yc__T.cur == &t->gen->co)) return t;
    return yc__task_running_slow(what);
}

#endif
