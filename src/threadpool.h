/*
 * Internal: jobs on the loop's thread pool (threadpool.c), for
 * to_thread, files.c and names.c. Never installed.
 */
#ifndef YC_THREADPOOL_H
#define YC_THREADPOOL_H
#include "loop.h"

typedef struct yc__job yc__job;
struct yc__job {
    yc__ts_call node;            /* first: posted back by the pool thread  */
    yc__job *qnext;              /* in the pool's queue                    */
    yc_loop *loop;
    int refs;                    /* the waiting task's + the posted node's */
    bool done;                   /* work returned (seen on the loop)       */
    bool received;               /* the waiter took the result             */
    yc_task *fut;                /* completed when the work is done        */
    void (*work)(yc__job *j);    /* on a pool thread: must not allocate
                                    through yieldc nor touch the loop      */
    void (*discard)(yc__job *j); /* NULL, or on the loop's thread: frees a
                                    result nobody received                 */
};

/*
 * Body side: runs j->work (j: a zeroed heap block from yc__malloc, work
 * and discard set, embedding yc__job first) on t's loop pool and awaits
 * it in t. YC_OK when the work is done: its results are in j, and the
 * caller sets j->received if it takes them. Negative with the exception
 * pending (MemoryError, RuntimeError "can't start new thread", the
 * CancelledError: by default only once the work is done, detached at
 * once). In every case the caller then calls yc__job_release(j) once.
 */
YC_HIDDEN int yc__job_run(yc_task *t, yc__job *j, bool detach);
/* A zeroed block of size bytes (a struct embedding yc__job first) with
 * work and discard set, or NULL with MemoryError pending. */
YC_HIDDEN void *yc__job_new(size_t size, void (*work)(yc__job *j), void (*discard)(yc__job *j));
/* Body side: the running task for `what` ("yc_file_open()"), or a raise
 * at file:line of RuntimeError "no running event loop" / "... outside a
 * task". */
YC_HIDDEN yc_task *yc__job_task(const char *what, const char *file, int line);
/* Raises the pending exception at file:line in the running coroutine. */
YC_HIDDEN YC_NORETURN void yc__job_raise(const char *file, int line);
YC_HIDDEN void yc__job_release(yc__job *j);

#endif
