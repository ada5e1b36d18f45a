/* yieldc: the event loop (asyncio for C). Included by yieldc.h; do not
 * include directly.
 *
 * Many tasks on one thread, each a generator run by the loop, each
 * suspending where it waits (at any depth of C calls, and inside any
 * generator it iterates); cancellation arrives as CancelledError raised at
 * the suspension point. The behaviour is asyncio 3.13's
 * (docs/semantics.md sections 11 and 12); docs/loop.md has the model,
 * what C code must do about cancellation, and every function.
 *
 *   static yc_val hello(void *arg) {
 *       yc_sleep(0.5);                          await asyncio.sleep(0.5)
 *       return yc_str(arg);
 *   }
 *   static yc_val main_task(void *arg) {
 *       yc_task *t = yc_task_spawn(hello, "hi", NULL);   create_task()
 *       yc_val v = yc_await(t);                 raises what t raised
 *       yc_task_unref(t);
 *       return v;
 *   }
 *   yc_val out;
 *   int st = yc_loop_run(main_task, NULL, NULL, &out);   asyncio.run()
 *
 * Two kinds of function, as in the rest of yieldc:
 * - body-side (marked "body"): may suspend the calling task, so they must
 *   run inside a task (its body, or any generator or C function it calls);
 *   they raise (yc_raise) and return values, like yc_yield. Outside a
 *   running loop they raise RuntimeError "no running event loop", in the
 *   loop's own callbacks RuntimeError "... outside a task".
 * - caller-side (everything else): never suspend and never jump; they
 *   return a status with the exception pending, and work from plain code,
 *   callbacks and tasks alike.
 * Times are in seconds as doubles, like asyncio (loop.time() is the
 * loop's clock); INFINITY where asyncio takes None for "no deadline".
 * Everything here belongs to the thread running the loop, except
 * yc_loop_call_soon_threadsafe.
 */
#ifndef YIELDC_LOOP_H
#define YIELDC_LOOP_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/loop.h>"
#endif

/* ======================================================================
 * Loops
 * ==================================================================== */

typedef struct yc_loop yc_loop;
/* A task: a generator run by the loop, with a result (asyncio.Task). A
 * task made by yc_future_new has no body: it is a future, completed by
 * yc_future_set_result / yc_future_set_exception or cancelled. */
typedef struct yc_task yc_task;
/* A scheduled callback (asyncio.Handle / TimerHandle). */
typedef struct yc_handle yc_handle;

/* yc_loop_opts.clock */
#define YC_CLOCK_MONOTONIC 0 /* CLOCK_MONOTONIC, as time.monotonic()          */
#define YC_CLOCK_VIRTUAL 1   /* starts at 0 and jumps to the next deadline
                                whenever nothing is ready (trio's autojump):
                                a test of a one-hour timeout runs in
                                microseconds and is deterministic */

typedef struct yc_loop_opts {
    unsigned clock;    /* YC_CLOCK_MONOTONIC (0) or YC_CLOCK_VIRTUAL        */
    size_t task_stack; /* stack of tasks that do not choose; 0: YC_STACK_DEFAULT */
    unsigned flags;    /* must be 0 (reserved)                              */
} yc_loop_opts;

/* asyncio.run(fn(arg)): makes a loop on this thread, runs fn(arg) as its
 * main task ("Task-N" like any other), then cancels every task still
 * pending and runs the loop until they are done, and frees the loop.
 * opts may be NULL. Returns YC_OK with *out (may be NULL) the main task's
 * return value (memory it points to must outlive the task), YC_RAISE with
 * the main task's exception (CancelledError when it was cancelled), or
 * YC_EINVAL: RuntimeError "asyncio.run() cannot be called from a running
 * event loop" (called inside a running loop), TypeError (fn NULL),
 * ValueError (bad opts); YC_ENOMEM. An exception of another task that
 * nobody retrieved is reported through the unraisable hook (below). With
 * the virtual clock, when every task waits and nothing can ever wake one
 * (no ready callback, no timer), the main task gets RuntimeError
 * "deadlock: every task is waiting and nothing can wake them" thrown in
 * instead of the loop waiting forever. Ctrl-C (asyncio.Runner, 3.11+): when
 * SIGINT has its default disposition, the first SIGINT cancels the main
 * task and the run returns YC_RAISE with KeyboardInterrupt; a second one
 * raises it at once (docs/io.md, "Signals"). */
YC_API int yc_loop_run(yc_gen_fn fn, void *arg, const yc_loop_opts *opts, yc_val *out);

/* A new loop, not running, for the calls below (asyncio.new_event_loop).
 * NULL with ValueError (bad opts) or MemoryError / OSError pending. */
YC_API yc_loop *yc_loop_new(const yc_loop_opts *opts);
/* loop.run_until_complete(t): runs the loop until t (borrowed) is done.
 * YC_OK with *out t's result, YC_RAISE with t's exception; RuntimeError
 * "This event loop is already running" (loop running: YC_EINVAL),
 * "Cannot run the event loop while another loop is running" (another loop
 * runs on this thread: YC_EINVAL), "Event loop is closed" (YC_EINVAL),
 * "Event loop stopped before Future completed." (yc_loop_stop: YC_RAISE),
 * the virtual clock's deadlock (YC_RAISE: t is then still pending, and
 * the tasks waiting are left as they are); TypeError for NULLs; ValueError
 * when t belongs to another loop. */
YC_API int yc_loop_run_until_complete(yc_loop *loop, yc_task *t, yc_val *out);
/* loop.run_forever(): until yc_loop_stop. YC_OK, or the errors above. */
YC_API int yc_loop_run_forever(yc_loop *loop);
/* loop.stop(): the running loop stops after the current iteration; a loop
 * that is not running stops right after its next iteration. */
YC_API void yc_loop_stop(yc_loop *loop);
/* loop.close(): YC_OK (also when already closed); RuntimeError "Cannot
 * close a running event loop" (YC_EINVAL). Callbacks still scheduled are
 * dropped; tasks still pending are destroyed: each is reported ("Task was
 * destroyed but it is pending!") and its generator closed, as CPython's
 * garbage collector closes a coroutine: finally blocks run with no loop
 * running (asyncio calls raise RuntimeError "no running event loop";
 * awaiting what is not done, "coroutine ignored GeneratorExit"). */
YC_API int yc_loop_close(yc_loop *loop);
/* Closes loop if needed and frees it. Tasks the user still holds outlive
 * it (done, or destroyed as by close): what needs the loop fails with
 * RuntimeError "Event loop is closed". YC_OK, YC_EINVAL (running, NULL). */
YC_API int yc_loop_free(yc_loop *loop);

/* The loop running on this thread, or NULL (asyncio._get_running_loop). */
YC_API yc_loop *yc_loop_current(void);
/* loop.time(): the loop's clock in seconds (CLOCK_MONOTONIC, or the
 * virtual clock). loop NULL: the running loop's; no loop at all: the
 * monotonic clock. */
YC_API double yc_loop_time(const yc_loop *loop);
YC_API bool yc_loop_is_running(const yc_loop *loop);
YC_API bool yc_loop_is_closed(const yc_loop *loop);

/* ----------------------------------------------------------------------
 * Callbacks. fn(arg) runs on the loop's thread, in the loop's own
 * context (not a task: it must not suspend). Order as asyncio: FIFO,
 * each iteration running the callbacks that were ready when it began;
 * timers by deadline, equal deadlines in the order they were set. An
 * exception escaping fn (a raise) is reported through the unraisable hook
 * ("Exception in callback ..."); SystemExit and KeyboardInterrupt stop
 * the loop and come out of its run call instead.
 *
 * h (may be NULL) receives a new reference to the handle, for
 * yc_handle_cancel; release it with yc_handle_free whether or not the
 * callback ran. Each returns YC_OK, or YC_EINVAL: RuntimeError "Event loop
 * is closed", TypeError (loop or fn NULL), ValueError "Invalid delay: NaN
 * (not a number)"; YC_ENOMEM. loop NULL means the running loop (TypeError
 * "no running event loop" when there is none).
 * -------------------------------------------------------------------- */
YC_API int yc_loop_call_soon(yc_loop *loop, yc_callback_fn fn, void *arg, yc_handle **h);
/* After delay seconds (<= 0: as soon as the next iteration's timers). */
YC_API int yc_loop_call_later(yc_loop *loop, double delay, yc_callback_fn fn, void *arg,
                              yc_handle **h);
/* At loop time when. */
YC_API int yc_loop_call_at(yc_loop *loop, double when, yc_callback_fn fn, void *arg,
                           yc_handle **h);
/* From any thread: fn(arg) runs on the loop's thread at its next
 * iteration, waking it if it waits (an eventfd). loop must be alive (not
 * freed) for the whole call. YC_OK, YC_EINVAL (closed loop, NULLs),
 * YC_ENOMEM; the exception is set on the calling thread. */
YC_API int yc_loop_call_soon_threadsafe(yc_loop *loop, yc_callback_fn fn, void *arg);

/* handle.cancel(): the callback will not run (no-op when it ran). */
YC_API void yc_handle_cancel(yc_handle *h);
YC_API bool yc_handle_cancelled(const yc_handle *h);
/* TimerHandle.when(); NAN for a call_soon handle. */
YC_API double yc_handle_when(const yc_handle *h);
/* Releases the reference yc_loop_call_* gave; does not cancel. NULL ok. */
YC_API void yc_handle_free(yc_handle *h);

/* ======================================================================
 * Tasks and futures
 * ==================================================================== */

typedef struct yc_task_opts {
    const char *name;  /* copied; NULL: "Task-N" (a process-wide counter) */
    size_t stack_size; /* 0: the loop's task_stack                       */
    unsigned flags;    /* YC_TASK_* below                                 */
} yc_task_opts;

/* flags: eager start (3.12's eager_task_factory): when the loop is running,
 * the task's first step runs inside the spawn call, up to its first
 * suspension; a task that finishes there is done when spawn returns. */
#define YC_TASK_EAGER 1u

/* create_task(fn(arg)): a new task on the running loop, scheduled to start
 * at the loop's next iteration (FIFO). Returns a new reference (release it
 * with yc_task_unref; the loop holds its own until the task is done, so a
 * task never vanishes while it runs), or NULL with RuntimeError "no running
 * event loop", TypeError, ValueError (stack_size out of range) or
 * MemoryError pending. The task's stack is taken at its first step: when
 * it cannot be mapped, the task ends there with that OSError (or
 * MemoryError), fn not called. arg is borrowed: it must stay valid while
 * the task runs. */
YC_API yc_task *yc_task_spawn(yc_gen_fn fn, void *arg, const yc_task_opts *opts);
/* loop.create_task(): the same on a given loop, running or not (RuntimeError
 * "Event loop is closed" for a closed one). */
YC_API yc_task *yc_loop_spawn(yc_loop *loop, yc_gen_fn fn, void *arg, const yc_task_opts *opts);
/* loop.create_future(): a pending future (a task without a body) on loop
 * (NULL: the running loop). New reference, or NULL with an exception. */
YC_API yc_task *yc_future_new(yc_loop *loop);
/* Future.set_result / set_exception (e taken, even on failure). YC_OK, or
 * YC_EINVAL: InvalidStateError "invalid state" (already done), RuntimeError
 * "Task does not support set_result operation" (a task with a body),
 * TypeError (e not an exception, or StopIteration: "StopIteration
 * interacts badly with generators and cannot be raised into a Future"). */
YC_API int yc_future_set_result(yc_task *f, yc_val v);
YC_API int yc_future_set_exception(yc_task *f, yc_exc *e);

/* Reference counting; both accept NULL. Dropping the last reference of a
 * done task whose exception nobody retrieved reports "Task exception was
 * never retrieved" through the unraisable hook. */
YC_API yc_task *yc_task_ref(yc_task *t);
YC_API void yc_task_unref(yc_task *t);

/* body: await t. Returns t's result; raises t's exception (the same
 * object), or CancelledError when t was cancelled. Suspends only when t is
 * not done. A task awaiting itself gets RuntimeError "Task cannot await on
 * itself: <Task pending name='...'>" (after one iteration, as asyncio).
 * Cancelling the awaiting task cancels t too (11.10; see yc_shield). t is
 * borrowed. */
#define yc_await(t) yc__await((t), __FILE__, __LINE__)

/* Task.cancel(msg): asks for CancelledError(msg) (msg copied; NULL for
 * none) at the task's suspension point (or before its first step: then the
 * body never runs). Returns 0 (False) when t is done; 1 (True) otherwise,
 * each call adding one to yc_task_cancelling. A future is cancelled at
 * once. A negative status changes nothing: YC_ENOMEM (the message could
 * not be copied; MemoryError pending), YC_EINVAL (t NULL or not a task):
 * test the result with `== 1` or `> 0`, not as a bool. */
YC_API int yc_task_cancel(yc_task *t, const char *msg);
/* Task.cancelling() and uncancel() (the remaining count). */
YC_API int yc_task_cancelling(const yc_task *t);
YC_API int yc_task_uncancel(yc_task *t);
YC_API bool yc_task_done(const yc_task *t);
YC_API bool yc_task_cancelled(const yc_task *t);
/* Task.result(): YC_OK with *out (may be NULL); YC_RAISE with t's
 * exception, or a CancelledError (cancelled task: the one the body raised
 * the first time, a new CancelledError() after), pending;
 * YC_EINVAL with InvalidStateError "Result is not set." (not done). */
YC_API int yc_task_result(yc_task *t, yc_val *out);
/* Task.exception(): YC_OK with *out its exception (borrowed from t, NULL
 * when it returned); YC_RAISE with CancelledError (cancelled); YC_EINVAL
 * with InvalidStateError "Exception is not set." (not done). */
YC_API int yc_task_exception(yc_task *t, yc_exc **out);
/* The task running now (asyncio.current_task()), borrowed; NULL outside
 * tasks. */
YC_API yc_task *yc_task_current(void);
/* The name ("Task-1", or opts.name), borrowed from t; NULL for a future
 * (futures have no name; their cancelling() and uncancel() are 0). */
YC_API const char *yc_task_name(const yc_task *t);
/* The loop t belongs to, or NULL once that loop is freed. */
YC_API yc_loop *yc_task_loop(const yc_task *t);
/* repr(t): "<Task pending name='Task-1'>", "<Task finished name='x'
 * result=3>", "<Task cancelled name='x'>", "<Task finished name='x'
 * exception=ValueError('v')>", "<Future pending>". snprintf-style. */
YC_API int yc_task_format(const yc_task *t, char *buf, size_t n);

/* add_done_callback(cb): cb(t, ud) runs as a loop callback once t is done
 * (scheduled then; at once if t is done already). YC_OK, YC_EINVAL
 * (NULLs, closed loop), YC_ENOMEM. */
typedef void (*yc_task_cb)(yc_task *t, void *ud);
YC_API int yc_task_add_done_callback(yc_task *t, yc_task_cb cb, void *ud);
/* remove_done_callback: removes every registration of (cb, ud) not yet
 * scheduled; returns how many. */
YC_API size_t yc_task_remove_done_callback(yc_task *t, yc_task_cb cb, void *ud);

/* ======================================================================
 * Waiting (body)
 * ==================================================================== */

/* asyncio.sleep(delay): <= 0 yields once (the task goes to the back of the
 * ready queue); NaN raises ValueError "Invalid delay: NaN (not a number)";
 * INFINITY sleeps until cancelled. */
#define yc_sleep(delay) yc__sleep((delay), __FILE__, __LINE__)
/* Sleeps until loop time when. */
#define yc_sleep_until(when) yc__sleep_until((when), __FILE__, __LINE__)

/* asyncio.wait_for(t, timeout): awaits t; on timeout cancels it, waits for
 * it to finish, and raises TimeoutError (cause: the CancelledError). A
 * timeout <= 0 cancels t at once if it is not done. INFINITY: no timeout.
 * t is borrowed. */
YC_API yc_val yc_wait_for(yc_task *t, double timeout);
/* These four are macros over the functions of the same name (which stay
 * callable through a pointer): they pass the call site, so the traceback
 * of their errors, a misuse such as a call outside a task included, names
 * the caller's file, line and function, as yc_await's does. */
#define yc_wait_for(t, timeout) yc__wait_for((t), (timeout), __FILE__, __LINE__, __func__)
/* await asyncio.shield(t): as yc_await, but cancelling the awaiting task
 * raises CancelledError here and leaves t running. */
YC_API yc_val yc_shield(yc_task *t);
#define yc_shield(t) yc__shield((t), __FILE__, __LINE__, __func__)

/* gather(): awaits all of ts (borrowed) and returns nothing: read each
 * task's result. Without YC_RETURN_EXCEPTIONS the first exception (or
 * CancelledError of a cancelled child) is raised as soon as it happens;
 * the other tasks keep running. With it, waits for all and never raises
 * for a child. Cancelling the awaiting task cancels every child. n == 0
 * returns at once. */
#define YC_RETURN_EXCEPTIONS 1u
YC_API void yc_gather(yc_task *const *ts, size_t n, unsigned flags);
#define yc_gather(ts, n, flags) yc__gather((ts), (n), (flags), __FILE__, __LINE__, __func__)
/* The same as a future (caller-side; asyncio.gather's return value): done
 * when gather would return; its result is None, its exception the one
 * gather would raise; cancelling it cancels the children. New reference. */
YC_API yc_task *yc_gather_future(yc_task *const *ts, size_t n, unsigned flags);

/* asyncio.wait(ts, timeout, return_when): waits, cancels nothing, raises
 * nothing for the tasks; returns how many are done (check each with
 * yc_task_done). ValueError "Set of Tasks/Futures is empty." (n == 0),
 * "Invalid return_when value: N". A task given twice counts once. */
#define YC_ALL_COMPLETED 0
#define YC_FIRST_COMPLETED 1
#define YC_FIRST_EXCEPTION 2
YC_API size_t yc_wait(yc_task *const *ts, size_t n, double timeout, int return_when);
#define yc_wait(ts, n, timeout, return_when)                                  \
    yc__wait((ts), (n), (timeout), (return_when), __FILE__, __LINE__, __func__)

/* asyncio.as_completed(ts, timeout) (3.13's form): an iterator whose next,
 * called in a task, waits for the next task to finish and yields it as
 * yc_ptr(yc_task *) (borrowed from ts), and YC_RETURN after the last; a
 * timeout makes next fail with TimeoutError (YC_RAISE). ts is copied, each
 * task referenced until the iterator is freed. NULL with an exception. */
YC_API yc_iter *yc_as_completed(yc_task *const *ts, size_t n, double timeout);

/* ======================================================================
 * Timeouts (asyncio.timeout): managers for YC_WITH
 *
 *   YC_TRY {
 *       YC_WITH(yc_cm_timeout(2.0), tm) {
 *           yc_await(t);              CancelledError here when it expires,
 *       } YC_END_WITH;                TimeoutError out of the block
 *   } YC_EXCEPT(&yc_TimeoutError) { ... } YC_END;
 * ==================================================================== */

typedef struct yc_timeout yc_timeout;
/* A timeout manager of delay seconds from entry (INFINITY: none), or at
 * loop time when. Binds yc_ptr(yc_timeout *), valid for the block (take a
 * reference to keep it longer). New manager, or NULL with MemoryError. */
YC_API yc_cm *yc_cm_timeout(double delay);
YC_API yc_cm *yc_cm_timeout_at(double when);
/* The timeout of a manager made above (borrowed), else NULL. */
YC_API yc_timeout *yc_timeout_of(yc_cm *cm);
/* tm's manager again, with a new reference to tm (released with the
 * manager): for entering a timeout kept with yc_timeout_ref once more. */
YC_API yc_cm *yc_timeout_cm(yc_timeout *tm);
YC_API yc_timeout *yc_timeout_ref(yc_timeout *tm);
YC_API void yc_timeout_unref(yc_timeout *tm);
/* when(): the deadline, INFINITY for none. */
YC_API double yc_timeout_when(const yc_timeout *tm);
/* reschedule(when): YC_OK; YC_EINVAL with RuntimeError "Timeout has not
 * been entered", "Cannot change state of expiring Timeout" (also expired,
 * finished). */
YC_API int yc_timeout_reschedule(yc_timeout *tm, double when);
YC_API bool yc_timeout_expired(const yc_timeout *tm);
/* repr: "<Timeout [active] when=12.5>", "<Timeout [expired]>", ... */
YC_API int yc_timeout_format(const yc_timeout *tm, char *buf, size_t n);

/* ======================================================================
 * Task groups (asyncio.TaskGroup)
 *
 *   YC_WITH(yc_cm_taskgroup(), g) {
 *       yc_task_unref(yc_taskgroup_spawn(g.p, worker, &a, NULL));
 *       yc_task_unref(yc_taskgroup_spawn(g.p, worker, &b, NULL));
 *   } YC_END_WITH;   waits for all; the first failure cancels the rest and
 *                    the body; ExceptionGroup "unhandled errors in a
 *                    TaskGroup (N sub-exceptions)"
 * ==================================================================== */

typedef struct yc_taskgroup yc_taskgroup;
/* A new group manager; binds yc_ptr(yc_taskgroup *). NULL: MemoryError. */
YC_API yc_cm *yc_cm_taskgroup(void);
YC_API yc_taskgroup *yc_taskgroup_of(yc_cm *cm);
/* create_task in the group: a new reference, or NULL with RuntimeError
 * "TaskGroup <TaskGroup> has not been entered", "... is finished", "... is
 * shutting down", or spawn's errors. */
YC_API yc_task *yc_taskgroup_spawn(yc_taskgroup *g, yc_gen_fn fn, void *arg,
                                   const yc_task_opts *opts);
/* repr: "<TaskGroup tasks=2 entered>" */
YC_API int yc_taskgroup_format(const yc_taskgroup *g, char *buf, size_t n);

/* ======================================================================
 * Queues (asyncio.Queue, LifoQueue, PriorityQueue)
 *
 *   yc_queue *q = yc_queue_new(10, YC_QUEUE_FIFO);
 *   producer:  yc_queue_put(q, yc_int(i));          await q.put(i)
 *   consumer:  yc_val v = yc_queue_get(q);           await q.get()
 *              ...; yc_queue_task_done(q);
 *   main:      yc_queue_join(q);                     await q.join()
 *
 * Items are yc_vals stored as they are: memory they point to stays the
 * producer's business until a consumer has it. Waiting getters and
 * putters are served FIFO; one that was woken (an item or a slot was
 * there for it) and is cancelled before it runs wakes the next in its
 * place. A queue belongs to the loop of the first task that waits on it
 * (RuntimeError "<Queue at 0x... maxsize=1> is bound to a different event
 * loop" from a task of another loop, as asyncio). Functions taking a queue
 * fail with TypeError "queue is NULL" for NULL.
 * ==================================================================== */

typedef struct yc_queue yc_queue;
#define YC_QUEUE_FIFO 0
#define YC_QUEUE_LIFO 1
/* smallest first: ints, floats and bools by value (exactly, as Python
 * compares them), bytes bytewise; equal items in insertion order (asyncio
 * leaves their order to heapq). Without a comparison function, an item
 * that cannot be ordered against the queue's (a number against bytes; None
 * or a pointer against anything) is refused with TypeError "'<' not
 * supported between instances of 'bytes' and 'int'" (pointers are named
 * 'pointer'); a single item in an empty queue is never compared. */
#define YC_QUEUE_PRIORITY 2

/* Queue(maxsize), LifoQueue(maxsize), PriorityQueue(maxsize): at most
 * maxsize items (0: unbounded). New queue, or NULL with ValueError
 * "yc_queue_new: unknown kind N" or MemoryError. */
YC_API yc_queue *yc_queue_new(size_t maxsize, int kind);
/* For a priority queue: cmp(a, b, ud) < 0 when a comes first (NULL: the
 * default order above). cmp must not raise or suspend. YC_OK, or YC_EINVAL
 * with ValueError "yc_queue_set_compare: not a priority queue" / "...: the
 * queue is not empty". */
YC_API int yc_queue_set_compare(yc_queue *q, int (*cmp)(yc_val a, yc_val b, void *ud), void *ud);
/* Frees q and its storage (not what items point to): YC_OK, or YC_EBUSY
 * with ValueError "yc_queue_free: tasks are waiting on the queue" while a
 * task is inside put, get or join (also one woken that has not run yet):
 * nothing freed. */
YC_API int yc_queue_free(yc_queue *q);
/* body: put waits while the queue is full, get while it is empty, join
 * until every item put was marked done (yc_queue_task_done). After
 * shutdown, put raises QueueShutDown(); get returns what is left, then
 * raises QueueShutDown() (at once after an immediate shutdown). put also
 * raises what yc_queue_put_nowait fails with. */
YC_API void yc__queue_put(yc_queue *q, yc_val v, const char *file, int line, const char *func);
#define yc_queue_put(q, v) yc__queue_put((q), (v), __FILE__, __LINE__, __func__)
YC_API yc_val yc__queue_get(yc_queue *q, const char *file, int line, const char *func);
#define yc_queue_get(q) yc__queue_get((q), __FILE__, __LINE__, __func__)
YC_API void yc__queue_join(yc_queue *q, const char *file, int line, const char *func);
#define yc_queue_join(q) yc__queue_join((q), __FILE__, __LINE__, __func__)
/* YC_OK, or YC_RAISE with QueueFull() / QueueEmpty() / QueueShutDown() (no
 * message), or with the priority queue's TypeError; YC_ENOMEM; the queue
 * unchanged on failure. get_nowait's *out (may be NULL) is None on
 * failure. */
YC_API int yc_queue_put_nowait(yc_queue *q, yc_val v);
YC_API int yc_queue_get_nowait(yc_queue *q, yc_val *out);
/* YC_OK, or YC_EINVAL with ValueError "task_done() called too many times". */
YC_API int yc_queue_task_done(yc_queue *q);
/* shutdown(immediate) (3.13): puts fail from now on; with immediate the
 * items are dropped (each counted done, which may release join). Every
 * waiting getter and putter wakes and re-checks. YC_OK. */
YC_API int yc_queue_shutdown(yc_queue *q, bool immediate);
/* NULL q: 0, 0, true, false. */
YC_API size_t yc_queue_qsize(const yc_queue *q);
YC_API size_t yc_queue_maxsize(const yc_queue *q);
YC_API bool yc_queue_empty(const yc_queue *q);
YC_API bool yc_queue_full(const yc_queue *q);
/* repr, snprintf-style: "<Queue at 0x... maxsize=3>", then as asyncio
 * shows them " _queue=[1, b'x']" (the storage in its order: FIFO oldest
 * first, LIFO bottom first, the priority queue's heap array),
 * " _getters[N]", " _putters[N]", " tasks=N" (unfinished), " shutdown";
 * LifoQueue, PriorityQueue. "<invalid queue>" for NULL. */
YC_API int yc_queue_format(const yc_queue *q, char *buf, size_t n);

/* ======================================================================
 * Synchronisation (asyncio.Lock, Event, Condition, Semaphore,
 * BoundedSemaphore, Barrier)
 *
 *   YC_WITH(yc_cm_lock(lock), _) {        async with lock:
 *       ...                                   (released on every way out)
 *   } YC_END_WITH;
 *
 * Waiters are served FIFO (a Lock is fair: a free lock is not taken while
 * a task that is not cancelled waits for it). A waiter that was granted
 * the lock, a slot or a notification and is cancelled before it runs
 * passes the grant on. Like queues, each is bound to the loop of the first
 * task that waits on it. NULL gives TypeError ("lock is NULL", ...) where a
 * status or a raise can say so; the predicates and counters give false or
 * 0. Each free returns YC_EBUSY with ValueError "yc_lock_free: tasks are
 * waiting on the lock" (etc.) while a task is inside one of its body-side
 * functions, and frees nothing. A manager (yc_cm_*) borrows its object;
 * NULL with TypeError or MemoryError.
 * ==================================================================== */

typedef struct yc_lock yc_lock;
/* New unlocked lock, or NULL with MemoryError. */
YC_API yc_lock *yc_lock_new(void);
/* YC_OK; YC_EBUSY (ValueError) also while a condition uses the lock: "a
 * condition still uses the lock". */
YC_API int yc_lock_free(yc_lock *l);
YC_API void yc__lock_acquire(yc_lock *l, const char *file, int line, const char *func); /* body */
#define yc_lock_acquire(l) yc__lock_acquire((l), __FILE__, __LINE__, __func__)
/* YC_OK, or YC_EINVAL with RuntimeError "Lock is not acquired." Any task
 * (or plain code) may release: asyncio's lock has no owner. */
YC_API int yc_lock_release(yc_lock *l);
YC_API bool yc_lock_locked(const yc_lock *l);
/* A manager: acquire at enter, release at exit (an exit that finds the
 * lock released raises RuntimeError "Lock is not acquired."). Binds None. */
YC_API yc_cm *yc_cm_lock(yc_lock *l);
/* "<asyncio.locks.Lock object at 0x... [unlocked]>", "[locked, waiters:2]" */
YC_API int yc_lock_format(const yc_lock *l, char *buf, size_t n);

typedef struct yc_event yc_event;
YC_API yc_event *yc_event_new(void);
YC_API int yc_event_free(yc_event *e);
/* set() wakes every waiter; clear(). YC_OK (YC_EINVAL for NULL). */
YC_API int yc_event_set(yc_event *e);
YC_API int yc_event_clear(yc_event *e);
YC_API bool yc_event_is_set(const yc_event *e);
/* body: returns at once when set */
YC_API void yc__event_wait_at(yc_event *e, const char *file, int line, const char *func);
#define yc_event_wait(e) yc__event_wait_at((e), __FILE__, __LINE__, __func__)
/* "<asyncio.locks.Event object at 0x... [unset]>", "[set]",
 * "[unset, waiters:1]" */
YC_API int yc_event_format(const yc_event *e, char *buf, size_t n);

typedef struct yc_condition yc_condition;
/* A condition over lock l (borrowed: it must outlive the condition, and
 * yc_lock_free refuses it meanwhile); NULL: a lock of its own. NULL with
 * MemoryError, or ValueError for a dead l. */
YC_API yc_condition *yc_condition_new(yc_lock *l);
YC_API int yc_condition_free(yc_condition *c);
/* body */
YC_API void yc__condition_acquire(yc_condition *c, const char *file, int line, const char *func);
#define yc_condition_acquire(c) yc__condition_acquire((c), __FILE__, __LINE__, __func__)
YC_API int yc_condition_release(yc_condition *c);  /* as yc_lock_release */
YC_API bool yc_condition_locked(const yc_condition *c);
/* body: releases the lock, waits for a notify, takes the lock back (also
 * when cancelled: the CancelledError comes after it). RuntimeError "cannot
 * wait on un-acquired lock". */
YC_API void yc__condition_wait(yc_condition *c, const char *file, int line, const char *func);
#define yc_condition_wait(c) yc__condition_wait((c), __FILE__, __LINE__, __func__)
/* body: while pred(ud) is false (checked first), yc_condition_wait;
 * returns true. pred may raise; TypeError "predicate is NULL". */
YC_API bool yc__condition_wait_for(yc_condition *c, bool (*pred)(void *ud), void *ud,
                                  const char *file, int line, const char *func);
#define yc_condition_wait_for(c, pred, ud) \
    yc__condition_wait_for((c), (pred), (ud), __FILE__, __LINE__, __func__)
/* Wakes up to n waiters (notify_all: every one). YC_OK, or YC_EINVAL with
 * RuntimeError "cannot notify on un-acquired lock". */
YC_API int yc_condition_notify(yc_condition *c, size_t n);
YC_API int yc_condition_notify_all(yc_condition *c);
/* acquire at enter, release at exit; binds None. */
YC_API yc_cm *yc_cm_condition(yc_condition *c);
/* "<asyncio.locks.Condition object at 0x... [locked, waiters:1]>" */
YC_API int yc_condition_format(const yc_condition *c, char *buf, size_t n);

typedef struct yc_semaphore yc_semaphore;
/* Semaphore(value) or BoundedSemaphore(value): NULL with ValueError
 * "Semaphore initial value must be >= 0", or MemoryError. */
YC_API yc_semaphore *yc_semaphore_new(long value, bool bounded);
YC_API int yc_semaphore_free(yc_semaphore *s);
/* body */
YC_API void yc__semaphore_acquire(yc_semaphore *s, const char *file, int line, const char *func);
#define yc_semaphore_acquire(s) yc__semaphore_acquire((s), __FILE__, __LINE__, __func__)
/* YC_OK, or YC_EINVAL with ValueError "BoundedSemaphore released too many
 * times" (OverflowError "Semaphore value would exceed LONG_MAX" for an
 * unbounded one at LONG_MAX). */
YC_API int yc_semaphore_release(yc_semaphore *s);
/* locked(): no slot, or a waiter that is not cancelled comes first. */
YC_API bool yc_semaphore_locked(const yc_semaphore *s);
YC_API long yc_semaphore_value(const yc_semaphore *s);
/* acquire at enter, release at exit; binds None. */
YC_API yc_cm *yc_cm_semaphore(yc_semaphore *s);
/* "<asyncio.locks.Semaphore object at 0x... [unlocked, value:2]>",
 * "[locked, waiters:1]"; BoundedSemaphore. */
YC_API int yc_semaphore_format(const yc_semaphore *s, char *buf, size_t n);

typedef struct yc_barrier yc_barrier;
/* Barrier(parties): NULL with ValueError "parties must be > 0", or
 * MemoryError. */
YC_API yc_barrier *yc_barrier_new(long parties);
YC_API int yc_barrier_free(yc_barrier *b);
/* body: waits until parties tasks wait, then returns this task's index
 * (0 .. parties-1, in arrival order). BrokenBarrierError "Barrier aborted"
 * when broken on arrival; "Abort or reset of barrier" to the tasks waiting
 * when it is aborted or reset. */
YC_API long yc__barrier_wait(yc_barrier *b, const char *file, int line, const char *func);
#define yc_barrier_wait(b) yc__barrier_wait((b), __FILE__, __LINE__, __func__)
/* body (they take the barrier's lock): reset wakes the waiting tasks with
 * BrokenBarrierError and makes the barrier usable again; abort breaks it
 * for good. */
YC_API void yc__barrier_reset(yc_barrier *b, const char *file, int line, const char *func);
#define yc_barrier_reset(b) yc__barrier_reset((b), __FILE__, __LINE__, __func__)
YC_API void yc__barrier_abort(yc_barrier *b, const char *file, int line, const char *func);
#define yc_barrier_abort(b) yc__barrier_abort((b), __FILE__, __LINE__, __func__)
YC_API long yc_barrier_parties(const yc_barrier *b);
YC_API long yc_barrier_n_waiting(const yc_barrier *b);
YC_API bool yc_barrier_broken(const yc_barrier *b);
/* `async with barrier as i`: waits at enter and binds yc_int(index);
 * the exit does nothing. */
YC_API yc_cm *yc_cm_barrier(yc_barrier *b);
/* "<asyncio.locks.Barrier object at 0x... [filling, waiters:0/3]>",
 * "[draining, waiters:0/3]", "[broken]" */
YC_API int yc_barrier_format(const yc_barrier *b, char *buf, size_t n);

/* ======================================================================
 * Private: used by the macros above
 * ==================================================================== */

YC_API yc_val yc__await(yc_task *t, const char *file, int line);
YC_API void yc__sleep(double delay, const char *file, int line);
YC_API void yc__sleep_until(double when, const char *file, int line);
YC_API yc_val yc__wait_for(yc_task *t, double timeout, const char *file, int line,
                           const char *func);
YC_API yc_val yc__shield(yc_task *t, const char *file, int line, const char *func);
YC_API void yc__gather(yc_task *const *ts, size_t n, unsigned flags, const char *file, int line,
                       const char *func);
YC_API size_t yc__wait(yc_task *const *ts, size_t n, double timeout, int return_when,
                       const char *file, int line, const char *func);

#endif
