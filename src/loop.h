/*
 * Internal declarations of the event loop modules (loop.c: the loop, its
 * clock, timers and callbacks, and the table of its descriptor backend;
 * task.c: futures, tasks, awaiting and
 * cancellation; aio.c: sleep, timeouts, wait_for, shield, gather, wait;
 * taskgroup.c; queue.c; locks.c). Never installed.
 *
 * The model is asyncio's, kept close enough that the order in which tasks
 * run is the same (the differential test compares traces): a FIFO ready
 * queue of callbacks, each loop iteration running those that were ready
 * when it began; a task is stepped by a callback; a future's done
 * callbacks are scheduled (never called) when it completes, so a task
 * awaiting a future runs one iteration after the future is done.
 *
 * What is ours: a task is a stackful generator, and awaiting does not
 * yield to the loop through the generator protocol. It parks: a raw switch
 * from whatever coroutine runs (the task's own, or a generator the task is
 * iterating, at any depth) straight to the task's resumer, leaving every
 * generator of that chain RUNNING. Stepping the task again switches
 * straight back into the coroutine that parked (task_step in task.c).
 */
#ifndef YC_LOOP_INTERNAL_H
#define YC_LOOP_INTERNAL_H

#include "internal.h"

#include <pthread.h>

/* ---- handles: the nodes of the ready queue ---------------------------- */

typedef struct yc__handle yc__handle;
struct yc__handle {
    yc__handle *next;             /* in the ready queue or a callback list */
    void (*run)(yc__handle *h);   /* called once when its turn comes       */
    void (*drop)(yc__handle *h);  /* NULL, or releases h when it will never
                                     run (cancelled, or the loop closed)   */
    bool cancelled;               /* dropped instead of run at its turn    */
    bool queued;                  /* in the ready queue now                */
};

/* A timer: a handle that goes to the ready queue at `when`. */
typedef struct yc__timer {
    yc__handle h;
    int64_t when;  /* loop time, ns */
    uint64_t seq;  /* equal deadlines run in the order they were set */
    size_t idx;    /* position in the loop's heap, SIZE_MAX when not in it */
} yc__timer;

/* A done callback of a future; scheduled (moved to the ready queue, fut
 * referenced) when the future completes, then fn(fut, ud) runs, then
 * release(ud) if set (also when the node is dropped without running). */
enum {
    FCB_HEAP = 1,
    FCB_USER = 2,
    FCB_TAKES_FUTURE = 4, /* fn releases fut's reference */
    FCB_WAKEUP = 8        /* a task's wakeup (task.c): run by its own
                             handle function, the step inlined */
};
typedef struct yc__fcb {
    yc__handle h;
    yc_task_cb fn;
    void *ud;
    void (*release)(void *ud);
    yc_task *fut;  /* the future, referenced while scheduled               */
    uint8_t flags; /* FCB_HEAP: freed after; FCB_USER: a user's (guarded);
                      FCB_TAKES_FUTURE: fn releases fut itself;
                      FCB_WAKEUP: see above                               */
} yc__fcb;

/* An entry of the loop's timer heap: the timer's key kept beside it, so
 * that sifting compares within the array instead of loading each timer. */
typedef struct yc__heap_entry {
    int64_t when;
    uint64_t seq;
    yc__timer *t;
} yc__heap_entry;

/* ---- futures and tasks ----------------------------------------------- */

/* A cancel message, copied once by yc_task_cancel and shared by every
 * future the cancellation reaches (gather's children, an awaited task), so
 * that passing it on cannot fail. */
typedef struct yc__msg {
    int refs;
    char s[];
} yc__msg;
YC_HIDDEN yc__msg *yc__msg_ref(yc__msg *m);
YC_HIDDEN void yc__msg_unref(yc__msg *m);

#define YC__TASK_MAGIC 0x7963546bu /* "ycTk" */

enum { FUT_PENDING, FUT_CANCELLED, FUT_FINISHED };
enum { KIND_FUTURE, KIND_TASK };

/* What a future with behaviour of its own (gather's outer future,
 * to_thread's) does differently, shared by all of its kind. */
typedef struct yc__fut_ops {
    bool (*on_cancel)(yc_task *f, yc__msg *msg); /* replaces cancel(), or NULL */
    void (*aux_free)(void *aux);                 /* frees f->aux, or NULL */
} yc__fut_ops;

/* A task's sleep timer (aio.c): made at its first sleep, kept until the
 * task is freed, so that later sleeps allocate nothing while a task that
 * never sleeps (an idle connection's) carries no timer. */
typedef struct yc__sleep_timer {
    yc__timer tm;
    yc_task *task; /* whose it is (not referenced: the task owns it) */
} yc__sleep_timer;

/*
 * A future, or a task (a future with a body). The block of a future ends
 * with the fields only futures use (YC__FUTURE_SIZE); a task's overlays
 * them with its own. Each idle connection of a server holds a task and its
 * wait future, so the fields are packed (docs/loop.md, "Memory").
 */
struct yc_task {
    uint32_t magic;
    int32_t refs;
    uint8_t state;       /* FUT_*                                          */
    uint8_t kind;        /* KIND_FUTURE (no body) or KIND_TASK             */
    bool log_tb;         /* an exception nobody retrieved yet              */
    bool must_cancel;    /* deliver CancelledError at the next step        */
    _Atomic int park_flag; /* tasks: a target for the switch's flag store  */
    yc_loop *loop;       /* NULL once the loop is freed                    */
    yc_task *lprev, *lnext; /* the loop's list of its futures and tasks    */
    yc_val result;       /* a task's body also yields into it (only a
                            finished task's is read)                      */
    yc_exc *exc;         /* set_exception's (owned)                        */
    yc__msg *cancel_msg; /* referenced; NULL for none                      */
    yc__handle *cb_head, **cb_tail; /* done callbacks, not yet scheduled   */
    union {
        /* futures only; a future's block ends here */
        struct {
            const yc__fut_ops *ops; /* NULL: a plain future            */
            void *aux;   /* the state of one with ops                      */
        };
        /* tasks only */
        struct {
            yc_exc *cancelled_exc; /* the CancelledError its body raised */
            yc_gen *gen;         /* the body: made at the first step (NULL
                                    before), freed when the task is done   */
            yc_gen_fn fn;        /* what the first step makes the body of  */
            void *arg;
            size_t stack;        /* its stack size                         */
            char *name;          /* name_small, or an owned copy           */
            char name_small[16]; /* "Task-N" up to N of 10 digits          */
            int cancels;         /* cancelling()                           */
            unsigned io_turn;    /* descriptor operations done in this step
                                    (io.c)                                 */
            yc_task *fut_waiter; /* what the task awaits (referenced)      */
            yc__coro *inner;     /* where its chain parked                 */
            yc_exc *resume_exc;  /* raised at the await point on resume
                                    (owned)                                */
            yc_exc *step_exc;    /* for the scheduled step (owned)         */
            yc__handle step;     /* the scheduled step                     */
            yc__fcb wakeup;      /* registered on fut_waiter               */
            yc_task *waiter;     /* a future kept for the task's waits
                                    (referenced)                           */
            yc__sleep_timer *sleep; /* its sleeps' timer (aio.c), NULL
                                    until the first: never in the heap once
                                    a sleep returns; queued after that only
                                    while it holds a reference to the task */
        };
    };
};
#define YC__FUTURE_SIZE (offsetof(struct yc_task, aux) + sizeof(void *))

YC_HIDDEN bool yc__task_ok(const yc_task *t);
/* Frees t, whose last reference went (reports what nobody retrieved). */
YC_HIDDEN void yc__task_free(yc_task *t);
/* A new pending future on L (one reference), or NULL with MemoryError. */
YC_HIDDEN yc_task *yc__fut_new(yc_loop *L);
/* Completes f (pending): YC_OK, or YC_EINVAL (InvalidStateError). */
YC_HIDDEN int yc__fut_set_result(yc_task *f, yc_val v);
YC_HIDDEN int yc__fut_set_exception(yc_task *f, yc_exc *e); /* takes e */
/* Future.cancel(msg) (tasks: Task.cancel); msg borrowed (referenced where
 * it is kept). */
YC_HIDDEN bool yc__fut_cancel(yc_task *f, yc__msg *msg);
/* Registers node (fn, ud set by the caller) on f: scheduled at once when f
 * is done. YC_OK, or YC_EINVAL when f's loop is gone. */
YC_HIDDEN int yc__fut_add_fcb(yc_task *f, yc__fcb *node);
/* Unregisters node if still on f's list. */
YC_HIDDEN bool yc__fut_remove_fcb(yc_task *f, yc__fcb *node);
/* A heap callback node (fn, ud, release) registered on f (flags: FCB_USER
 * for a user's). YC_OK, or YC_ENOMEM / YC_EINVAL, release(ud) not called. */
YC_HIDDEN int yc__fut_add_cb(yc_task *f, yc_task_cb fn, void *ud, void (*release)(void *ud),
                             uint8_t flags);
/* Removes f's unscheduled heap nodes of (fn, ud), releasing them; returns
 * how many. */
YC_HIDDEN size_t yc__fut_remove_cb(yc_task *f, yc_task_cb fn, void *ud);
/* Gives up one loop iteration (a bare yield in asyncio: sleep(0)) in the
 * running task t. YC_OK, or negative with the exception thrown in. */
YC_HIDDEN int yc__task_yield(yc_task *t);
/* Schedules fn(arg) at loop time when (ns) as a handle (borrowing arg);
 * *h gets a reference to cancel and free it. YC_OK or negative. */
YC_HIDDEN int yc__call_at_ns(yc_loop *L, int64_t when, yc_callback_fn fn, void *arg,
                             yc_handle **h);
/* f's result, as Future.result(): YC_OK with *out, or a negative status
 * with the exception pending (a new CancelledError for a cancelled one). */
YC_HIDDEN int yc__fut_result(yc_task *f, yc_val *out);
/* The CancelledError to raise for cancelled f (new reference). */
YC_HIDDEN yc_exc *yc__fut_cancelled_error(yc_task *f);

/*
 * Awaits f in the running task t (from yc__task_running): returns at once
 * when f is done, else parks until the task is stepped again. Returns
 * YC_OK with *out f's result, or a negative status with the exception
 * pending (f's, or what the step threw in: a CancelledError), never
 * raising: callers clean up, then raise with yc__err_raise.
 */
YC_HIDDEN int yc__task_await(yc_task *t, yc_task *f, yc_val *out);

/* ---- the loop -------------------------------------------------------- */

#define YC__LOOP_MAGIC 0x79634c70u /* "ycLp" */

enum { LOOP_IDLE, LOOP_RUNNING, LOOP_CLOSED };

/* A thread-safe call: made by the calling thread, queued under ts_mu
 * (linked through h.next), then moved to the ready queue as it is. */
typedef struct yc__ts_call {
    yc__handle h;
    yc_loop *loop;
    yc_callback_fn fn;
    void *arg;
} yc__ts_call;

/* Free blocks of one size kept by a loop for reuse (task objects, callback
 * nodes): spawning and awaiting then rarely reach the allocator. A cache
 * grows with the load: it keeps YC__CACHE_MAX blocks, or as many as were
 * in use at once since the last review (made with the review of the
 * tasks' warm stacks, loop.c's retain_review: once a second of loop time
 * while the loop retains warm stacks on its thread), whichever is more, so
 * that a million tasks ending free nothing and the next million allocate
 * nothing; the review gives back what the last second's peak did not need,
 * and yc_loop_free the rest. Without the review (tasks of other stack
 * sizes only, or a loop run on another thread than its first) a cache
 * stops at YC__CACHE_MAX.
 * Blocks come from yc__malloc, so one freed after its loop is gone goes to
 * yc__free. */
typedef struct yc__cache {
    void *head;  /* linked through their first word */
    size_t n;    /* blocks in the cache */
    size_t out;  /* blocks handed out and not back */
    size_t peak; /* the most handed out at once since the last review */
} yc__cache;
#define YC__CACHE_MAX 4096

struct yc_loop {
    uint32_t magic;
    uint64_t id;               /* unique in the process, never 0 (queues and
                                  locks remember the loop they are bound to) */
    int state;                 /* LOOP_*                                   */
    bool stopping;
    unsigned clock;
    size_t task_stack;
    int64_t vnow;              /* the virtual clock, ns                    */
    yc__coro *co;              /* the coroutine running the loop           */
    yc_task *current;          /* the task being stepped                   */
    yc__handle *rq_head, **rq_tail;
    size_t nready;
    size_t ntodo;              /* what is left of this iteration's snapshot
                                  of the ready queue (run_once)            */
    yc_task *handoff;          /* the task a handle of run_once is stepping
                                  (its resumer is L->co): when it parks it
                                  may pass the turn straight to the next
                                  task (task.c, park); NULL otherwise      */
    yc__heap_entry *heap;
    size_t nheap, capheap;
    size_t ndead;              /* entries of stopped timers left in the heap */
    uint64_t seq;
    yc_task *live;             /* every future and task of this loop       */
    long stacked_tasks;        /* tasks holding a stack: started (a task
                                  takes its stack at its first step), not
                                  done                                     */
    /* warm stacks kept for the tasks (yc__stack_retain): a power of two at
     * least the peak of stacked_tasks, halved when a second passes whose
     * peak (peak_window) stays under half of it */
    int32_t stack_retain;
    long peak_window;
    int64_t retain_review;     /* monotonic ns of the next review          */
    yc__thread *retain_thread; /* whose stacks it retains                  */
    unsigned iters;
    yc_exc *base_exc;          /* SystemExit/KeyboardInterrupt to propagate */
    bool deadlock;             /* the virtual clock found nothing to wait for */
    int efd, epfd;             /* thread-safe wake-ups                     */
    pthread_mutex_t ts_mu;
    yc__ts_call *ts_head, **ts_tail;
    _Atomic int ts_signalled;
    yc__cache task_cache, future_cache, fcb_cache;
    yc__cache sleep_cache;     /* aio.c: the tasks' sleep timers          */
    yc__cache rbuf_cache, wbuf_cache; /* stream.c: idle streams' buffers */
    /* io.c: the descriptors the loop has seen (io.h) */
    struct yc__fd **fds;       /* indexed by descriptor, NULL where none    */
    const struct yc__io_ops *io; /* the descriptors' backend (set by yc_loop_new) */
    struct io_uring *ring;     /* the io_uring backend's, or NULL: epoll (io.h) */
    long ring_inflight;        /* its yc__uop requests not yet reaped       */
    int nfds;                  /* length of fds                            */
    uint32_t fd_gen;           /* the last record's generation             */
    long io_waiting;           /* tasks waiting on a descriptor            */
    unsigned io_tick;          /* iterations since descriptors were polled */
    /* part 2: threads and signals (threadpool.c, signals.c) */
    struct yc__close_hook *close_hooks; /* run by yc_loop_close, first     */
    void (*on_wake)(yc_loop *L);  /* after each drain of the eventfd        */
    long outside;                 /* work in other threads that will post
                                     back: not a deadlock while > 0        */
    struct yc__pool *pool;        /* the thread pool, or NULL (lazy)       */
    struct yc__sigs *sigs;        /* signal handlers, or NULL              */
    yc_loop *reg_prev, *reg_next; /* every loop not freed (loop.c, loops)   */
    pid_t pid;                 /* the process that made it (a forked child's
                                  copies are the parent's: not touched)   */
    pthread_t thread;          /* that made it or ran it last (loops_mu)   */
};

/* While tasks are ready, the loop polls descriptors (without waiting) once
 * every this many iterations when some task waits on one, and never when
 * none does: a loop busy with ready tasks pays one epoll_wait per this
 * many iterations, and a ready descriptor waits at most this many. */
#define YC__IO_POLL_INTERVAL 8

/* epoll data of the loop's own eventfd (thread-safe calls). */
#define YC__IO_EFD_DATA 0

/* A loop's descriptor backend: what the loop's poll step and free call in
 * the file above it that owns the descriptors, io.c's epoll or
 * io_uring.c's ring (docs/design.md, "Layers"). yc_loop_new (runner.c)
 * sets L->io; every loop has one. */
typedef struct yc__io_ops {
    /* The loop's wait: up to timeout ns (-1: no limit, 0: not at all) for
     * its descriptors and its eventfd; dispatches whatever is ready (the
     * eventfd's event only wakes the wait). */
    void (*wait)(yc_loop *L, int64_t timeout);
    /* Submits what this turn queued, without waiting (io_uring only: the
     * loop calls it only when L->ring is set). */
    void (*flush)(yc_loop *L);
    /* Frees the loop's descriptor records, and its ring (the loop is being
     * freed: no task waits any more). */
    void (*free)(yc_loop *L);
} yc__io_ops;

/* The loop without its descriptor backend (L->io NULL), as yc_loop_new
 * makes it otherwise (runner.c sets the backend): NULL with the exception
 * set (ValueError for bad options, MemoryError, OSError). */
YC_HIDDEN yc_loop *yc__loop_new(const yc_loop_opts *opts);

/* Runs fn(L, ud) for every idle loop (made, not running on any thread,
 * not closed), under a process-wide lock that also guards each loop's
 * changes of state, so that no loop fn is given starts running or closes
 * meanwhile (fn must not make, close, free or run a loop). For yc_io_close
 * called outside the loop that knows the descriptor. */
YC_HIDDEN void yc__loop_each_idle(void (*fn)(yc_loop *L, void *ud), void *ud);

/* A hook of yc_loop_close, run before anything closes (the loop is idle,
 * its tasks still pending): a module that has threads or process-wide
 * state for L stops them there. Hooks run newest first, once; the loop
 * forgets the list before running it. */
typedef struct yc__close_hook {
    struct yc__close_hook *next;
    void (*fn)(yc_loop *L, struct yc__close_hook *self);
} yc__close_hook;
YC_HIDDEN void yc__loop_add_close_hook(yc_loop *L, yc__close_hook *h);

/* A run of the loop, in three parts, so that yc_loop_run_until_complete
 * (runner.c) needs no copy of the loop's turn. _begin checks L (not
 * closed, not running, no other loop running here) and marks it running
 * on this thread's coroutine: YC_OK, or YC_EINVAL with RuntimeError.
 * _turns runs iterations until the loop is stopped or (virtual clock)
 * deadlocked (L->deadlock). _end marks it idle: YC_OK, or YC_RAISE with
 * the SystemExit/KeyboardInterrupt a callback or task raised. */
YC_HIDDEN int yc__loop_run_begin(yc_loop *L);
YC_HIDDEN void yc__loop_turns(yc_loop *L);
YC_HIDDEN int yc__loop_run_end(yc_loop *L);
/* RuntimeError "deadlock: every task is waiting and nothing can wake
 * them" (returns YC_RAISE). */
YC_HIDDEN int yc__loop_deadlock_error(void);
/* Takes h, queued, back out of the ready queue (not run, not dropped). */
YC_HIDDEN void yc__loop_unready(yc_loop *L, yc__handle *h);

/* From any thread, without allocating: queues c (its h.run and h.drop set
 * by the caller, who owns it) as a thread-safe call and wakes the loop.
 * c->h.run(&c->h) then runs on the loop's thread at its next iteration
 * (unguarded: it must not raise), or c->h.drop(&c->h) when the loop
 * closes first. */
YC_HIDDEN void yc__loop_post(yc_loop *L, yc__ts_call *c);
/* Runs fn(arg) as the loop runs a user's callback: an exception is
 * reported, SystemExit and KeyboardInterrupt stop the loop. */
YC_HIDDEN void yc__loop_call_user(yc_loop *L, yc_callback_fn fn, void *arg);
/* Async-signal-safe: wakes L's wait as a thread-safe call would, so that
 * L->on_wake runs at its next iteration. */
YC_HIDDEN void yc__loop_wake(yc_loop *L);

/* signals.c, for yc_loop_run (asyncio.Runner's SIGINT handling): begin
 * installs the handler that cancels main_task when SIGINT's disposition
 * is the default (returns whether it did); end restores it and turns a
 * CancelledError *st caused by Ctrl-C into KeyboardInterrupt. */
YC_HIDDEN bool yc__runner_sigint_begin(yc_loop *L, yc_task *main_task);
YC_HIDDEN void yc__runner_sigint_end(yc_loop *L, yc_task *main_task, bool installed, int *st);
/* Ignores SIGPIPE process-wide when its disposition is the default
 * (loop.c). */
YC_HIDDEN void yc__sigpipe_ignore(void);

/* A block of `size` bytes from L's cache (L may be NULL), or the
 * allocator; and back. */
YC_HIDDEN void *yc__cache_get(yc_loop *L, yc__cache *c, size_t size);
YC_HIDDEN void yc__cache_put(yc_loop *L, yc__cache *c, void *p);

/* The loop running on this thread, or NULL; _set makes L the one (for a
 * closing loop's tasks) and returns the previous one. */
YC_HIDDEN extern __thread yc_loop *yc__running_loop __attribute__((tls_model("initial-exec")));
static inline yc_loop *yc__loop_running(void) { return yc__running_loop; }
YC_HIDDEN yc_loop *yc__loop_set_running(yc_loop *L);
YC_HIDDEN bool yc__loop_ok(const yc_loop *L);
/* A task's first step made stacked_tasks a new peak: retains warm stacks
 * for them. */
YC_HIDDEN void yc__loop_retain_grow(yc_loop *L);
/* Its clock, ns. */
YC_HIDDEN int64_t yc__loop_now(const yc_loop *L);
/* Appends h to the ready queue. */
static inline void yc__loop_ready(yc_loop *L, yc__handle *h)
{
    h->next = NULL;
    h->queued = true;
    *L->rq_tail = h;
    L->rq_tail = &h->next;
    L->nready++;
}
/* Takes the first handle out of the ready queue (not empty). */
static inline yc__handle *yc__loop_ready_pop(yc_loop *L)
{
    yc__handle *h = L->rq_head;
    L->rq_head = h->next;
    if (!L->rq_head) L->rq_tail = &L->rq_head;
    L->nready--;
    h->queued = false;
    return h;
}
/* Whether the start of run_once's next iteration, callbacks being ready
 * (no wait), would do nothing but take its snapshot: no stop asked, no
 * descriptor to poll, no thread-safe call, no timer due, no stack review
 * due. Keep in step with run_once (loop.c). */
static inline bool yc__loop_next_iter_idle(yc_loop *L)
{
    if (L->stopping || L->io_waiting || atomic_load(&L->ts_signalled)) return false;
    if (L->stack_retain && ((L->iters + 1) & 1023) == 0) return false; /* review due */
    return !L->nheap || L->heap[0].when > yc__loop_now(L);
}
/* The direct hand-off (task.c, park): the head of the ready queue when
 * run_once would run it next with nothing in between (it is in this
 * iteration's snapshot, or the snapshot is used up and the next one would
 * begin with it), else NULL. Changes nothing. */
static inline yc__handle *yc__loop_handoff_peek(yc_loop *L)
{
    yc__handle *h = L->rq_head;
    if (!h || h->cancelled) return NULL;
    return L->ntodo || yc__loop_next_iter_idle(L) ? h : NULL;
}
/* Takes the handle yc__loop_handoff_peek gave, as run_once takes it: out
 * of the queue, counted in the snapshot (beginning the next iteration's
 * when this one's is used up). */
static inline void yc__loop_handoff_take(yc_loop *L)
{
    if (!L->ntodo) { /* the next iteration, its start found idle */
        if (L->stack_retain) ++L->iters;
        L->ntodo = L->nready;
    }
    L->ntodo--;
    yc__loop_ready_pop(L);
}
/* Starts t (not running) to fire at `when` (ns), or stops it. */
YC_HIDDEN void yc__timer_start(yc_loop *L, yc__timer *t, int64_t when);
/* Room in the heap for one more timer (yc__timer_start needs it): false
 * when out of memory (nothing raised). */
YC_HIDDEN bool yc__timer_reserve(yc_loop *L);
YC_HIDDEN void yc__timer_stop(yc_loop *L, yc__timer *t);
/* Seconds to the loop's ns, saturating; NaN is the caller's to refuse. */
YC_HIDDEN int64_t yc__secs_ns(double s);
YC_HIDDEN double yc__ns_secs(int64_t ns);
/* RuntimeError "Event loop is closed" etc. (return YC_EINVAL). */
YC_HIDDEN int yc__loop_closed_error(void);
YC_HIDDEN int yc__no_loop_error(void);

/* Hook (internal.h, "Hooks") that task.c installs: the loop is closing;
 * each of its pending tasks is reported and its body closed. */
YC_HIDDEN extern void (*yc__loop_close_tasks)(yc_loop *L);
/* Throws e (taken) into pending task t at its suspension point (detached
 * from what it waits on), as a step scheduled now. */
YC_HIDDEN void yc__task_throw(yc_task *t, yc_exc *e);

/* Reports a problem of the loop through the unraisable hook: text is the
 * whole description ("Task exception was never retrieved\nfuture: ..."),
 * e the exception (borrowed, may be NULL). */
YC_HIDDEN void yc__loop_report(yc_exc *e, const char *text);

#endif
