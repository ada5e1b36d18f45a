/*
 * asyncio.run: yc_loop_run makes a loop, runs the main task to its end
 * (Ctrl-C cancels it, as asyncio.Runner does), cancels what is left and
 * runs the shutdown rounds, then closes the loop.
 *
 * With it, yc_loop_run_until_complete, which waits on a task.
 *
 * Its own file, above the loop, the tasks, aio.c and signals.c in the
 * layer's order (docs/design.md, "Layers"): the runner uses all of them,
 * and loop.c itself uses none of them.
 */
#define _GNU_SOURCE
#include "io.h"

#include <stdio.h>

#define running_loop yc__running_loop

/* ---- making a loop -------------------------------------------------- */

/* The loop (loop.c) with its descriptor backend: epoll (io.c), or the
 * ring when the process chose io_uring and the ring can be made
 * (io_uring.c). Here, above all three, so that loop.c and io.c name no
 * file above them (docs/design.md, "Layers"). */
yc_loop *yc_loop_new(const yc_loop_opts *opts)
{
    yc_loop *L = yc__loop_new(opts);
    if (!L) return NULL;
    L->io = &yc__io_epoll;
    yc__uring_loop_init(L);
    /* sources.c waits in tasks through it (relaxed: every loop stores the same) */
    __atomic_store_n(&yc__fd_wait_readable, yc__io_wait_in_task, __ATOMIC_RELAXED);
    return L;
}

/* ---- run_until_complete -------------------------------------------- */

static void until_complete_cb(yc_task *f, void *ud)
{
    (void)f;
    ((yc_loop *)ud)->stopping = true;
}

/* Runs L's turns (loop.c) until t is done: a done callback of t, kept on
 * this stack, stops the loop. */
int yc_loop_run_until_complete(yc_loop *L, yc_task *t, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (!yc__task_ok(t)) {
        if (!yc__loop_ok(L)) return yc__loop_run_begin(L); /* its error for a bad loop */
        return yc__fail(YC_EINVAL, &yc_TypeError, "task is NULL or not a live task");
    }
    if (yc__loop_ok(L) && t->loop != L)
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "The future belongs to a different loop than the one specified as "
                        "the loop argument");
    int st = yc__loop_run_begin(L);
    if (st < 0) return st;
    yc__fcb node = {.fn = until_complete_cb, .ud = L};
    yc_task_ref(t);
    if (yc__fut_add_fcb(t, &node) == YC_OK) yc__loop_turns(L);
    yc__fut_remove_fcb(t, &node);
    if (node.h.queued) node.h.cancelled = true; /* scheduled: never runs */
    st = yc__loop_run_end(L);
    if (node.h.queued) yc__loop_unready(L, &node.h); /* it lives on this stack */
    if (node.fut) yc_task_unref(node.fut);
    if (st == YC_OK) {
        if (t->state != FUT_PENDING) st = yc__fut_result(t, out);
        else if (L->deadlock) st = yc__loop_deadlock_error();
        else st = yc__fail(YC_RAISE, &yc_RuntimeError, "Event loop stopped before Future completed.");
    }
    yc_task_unref(t);
    return st;
}

/* ---- asyncio.run ---------------------------------------------------- */

/* Cancels every pending task and runs L until they are done (asyncio's
 * _cancel_all_tasks, in creation order); reports a task that failed with
 * something other than CancelledError. Returns the SystemExit or
 * KeyboardInterrupt a task raised meanwhile (new reference): it ends the
 * shutdown and asyncio.run with it, as it comes out of asyncio's
 * run_until_complete; else NULL. */
static yc_exc *cancel_all(yc_loop *L)
{
    size_t n = 0;
    for (yc_task *t = L->live; t; t = t->lnext)
        if (t->kind == KIND_TASK && t->state == FUT_PENDING) n++;
    if (!n) return NULL;
    yc_task **ts = yc__malloc(n * sizeof *ts);
    if (!ts) return NULL; /* out of memory: close destroys them instead */
    size_t i = n;
    for (yc_task *t = L->live; t; t = t->lnext) /* the list is newest first */
        if (t->kind == KIND_TASK && t->state == FUT_PENDING) ts[--i] = yc_task_ref(t);
    for (i = 0; i < n; i++) yc_task_cancel(ts[i], NULL);
    yc_task *g = yc_gather_future(ts, n, YC_RETURN_EXCEPTIONS);
    yc_exc *base = NULL;
    if (g) {
        if (yc_loop_run_until_complete(L, g, NULL) < 0) {
            yc_exc *e = yc_err_take();
            if (yc_exc_is(e, &yc_SystemExit) || yc_exc_is(e, &yc_KeyboardInterrupt)) base = e;
            else yc_exc_unref(e);
        }
        yc_task_unref(g);
    } else {
        yc_err_clear();
    }
    for (i = 0; i < n && !base; i++) {
        yc_task *t = ts[i];
        if (t->state == FUT_FINISHED && t->exc) {
            char text[512], repr[400];
            yc_task_format(t, repr, sizeof repr);
            snprintf(text, sizeof text,
                     "unhandled exception during asyncio.run() shutdown\ntask: %s", repr);
            t->log_tb = false;
            yc__loop_report(t->exc, text);
        }
    }
    for (i = 0; i < n; i++) yc_task_unref(ts[i]);
    yc__free(ts);
    return base;
}

static yc_val noop_body(void *arg)
{
    (void)arg;
    return YC_NONE;
}

/* The rest of asyncio.run's shutdown: run_until_complete of
 * loop.shutdown_asyncgens() and of loop.shutdown_default_executor(), tasks
 * that have nothing to do here but run the loop two iterations each, in
 * which what is still ready runs (done callbacks of tasks that ended in
 * the last iteration, a task spawned while the others were cancelled). */
static void shutdown_rounds(yc_loop *L)
{
    for (int i = 0; i < 2; i++) {
        yc_task *t = yc_loop_spawn(L, noop_body, NULL, NULL);
        if (!t || yc_loop_run_until_complete(L, t, NULL) < 0) yc_err_clear();
        yc_task_unref(t);
    }
}

int yc_loop_run(yc_gen_fn fn, void *arg, const yc_loop_opts *opts, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (running_loop)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "asyncio.run() cannot be called from a running event loop");
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_loop_run: task function is NULL");
    yc_loop *L = yc_loop_new(opts);
    if (!L) return yc_err_get() && yc_exc_is(yc_err_get(), &yc_MemoryError) ? YC_ENOMEM : YC_EINVAL;
    yc_task *main_task = yc_loop_spawn(L, fn, arg, NULL);
    if (!main_task) {
        yc_exc *e = yc_err_take();
        yc_loop_free(L);
        yc_err_set(e);
        return yc_exc_is(e, &yc_MemoryError) ? YC_ENOMEM : YC_RAISE;
    }
    bool sigint = yc__runner_sigint_begin(L, main_task);
    int st = yc_loop_run_until_complete(L, main_task, out);
    if (st < 0 && L->deadlock && main_task->state == FUT_PENDING) {
        /* throw the deadlock into the main task, as asyncio's hang would
         * never end: it unwinds and finishes with it (or what it raises) */
        yc__task_throw(main_task, yc_err_take());
        st = yc_loop_run_until_complete(L, main_task, out);
    }
    yc__runner_sigint_end(L, main_task, sigint, &st);
    yc_exc *e = st < 0 ? yc_err_take() : NULL;
    yc_exc *base = cancel_all(L);
    if (base) { /* asyncio.run ends with it, instead of main's outcome */
        yc_exc_unref(e);
        e = base;
        st = YC_RAISE;
        if (out) *out = YC_NONE;
    } else {
        shutdown_rounds(L);
    }
    main_task->log_tb = false; /* its outcome is the caller's now */
    yc_task_unref(main_task);
    yc_loop_close(L);
    yc_loop_free(L);
    if (e) yc_err_set(e);
    return st;
}
