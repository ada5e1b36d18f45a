/*
 * Waiting: sleep, timeouts (asyncio.timeout), wait_for, shield, gather,
 * wait and as_completed, each following Lib/asyncio/tasks.py and
 * timeouts.py of 3.13 step for step, so that callbacks are scheduled in
 * the same order and tasks wake in the same iterations.
 *
 * The internal futures these make are referenced by whatever may still
 * touch them (a callback registered on another future holds a reference
 * to the state it updates), as the closures of the Python code keep their
 * objects alive.
 */
#define _GNU_SOURCE
#include "loop.h"
#include "task.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int no_memory(void) { return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL); }

/* Raises the pending exception at file:line as a raise there. */
static YC_NORETURN void raise_pending(const char *file, int line, const char *func)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, func);
}

/* The running task, or a raise at file:line (the caller's: the public
 * macros yc_wait_for, yc_shield, yc_gather and yc_wait pass their call
 * site, so a misuse is reported where the user made it). */
static yc_task *running(const char *what, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running(what);
    if (!t) raise_pending(file, line, func);
    return t;
}

static void release_task(void *p) { yc_task_unref(p); }

/* A task argument of a waiting function: live, and of the running loop. */
static int check_arg(yc_task *t, const yc_task *f)
{
    if (!yc__task_ok(f)) {
        if (!f) return yc__fail(YC_EINVAL, &yc_TypeError, "task is NULL");
        return yc__fail(YC_EINVAL, &yc_ValueError, "not a live task or future");
    }
    if (f->loop != t->loop)
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "The future belongs to a different loop than the one specified as "
                        "the loop argument");
    return YC_OK;
}

/* ---- sleep ---------------------------------------------------------- */

/* futures._set_result_unless_cancelled(fut, None) */
static void set_unless_cancelled(void *arg)
{
    yc_task *f = arg;
    if (f->state == FUT_PENDING) yc__fut_set_result(f, YC_NONE);
}

/* The task whose sleep timer h is. */
static yc_task *sleep_timer_task(yc__handle *h)
{
    return ((yc__sleep_timer *)((char *)h - offsetof(yc__sleep_timer, tm.h)))->task;
}

/* t's sleep timer fired: the sleep's future (t's waiter, which cannot
 * change while t sleeps) is done unless cancelled. */
static void sleep_timer_run(yc__handle *h)
{
    h->cancelled = true; /* ran */
    set_unless_cancelled(sleep_timer_task(h)->waiter);
}

/* A sleep timer stopped while in the ready queue is dropped by the loop
 * when its turn comes; it held its task (and so itself) until then. */
static void sleep_timer_drop(yc__handle *h)
{
    h->drop = NULL;
    yc__unref(sleep_timer_task(h));
}

/* Stops t's sleep timer. Out of the heap it goes at once (a dead entry,
 * loop.c); one already in the ready queue stays there, cancelled, and
 * keeps t alive until the loop drops it. */
static void sleep_timer_stop(yc_task *t)
{
    yc__timer *tm = &t->sleep->tm;
    if (tm->h.queued && !tm->h.cancelled) {
        t->refs++;
        tm->h.drop = sleep_timer_drop;
    }
    yc__timer_stop(t->loop, tm);
}

/* t's sleep timer, made at its first sleep (NULL when out of memory,
 * nothing raised). */
static yc__sleep_timer *sleep_timer_of(yc_task *t)
{
    if (YC_LIKELY(t->sleep)) return t->sleep;
    yc_loop *L = t->loop;
    yc__sleep_timer *s = yc__cache_get(L, &L->sleep_cache, sizeof *s);
    if (!s) return NULL;
    *s = (yc__sleep_timer){.tm.idx = SIZE_MAX, .task = t};
    return t->sleep = s;
}

/*
 * Sleeps until `when` (ns) in t: a future (t's waiter) completed by a
 * timer. The timer is t's own, made at its first sleep, so that later
 * sleeps allocate nothing (a million sleeping tasks make no million timer
 * handles per round); only when that timer still sits in the ready queue
 * from the last sleep (stopped after it fired, before its turn) does this
 * sleep take a handle of its own.
 */
static int sleep_until_ns(yc_task *t, int64_t when)
{
    yc_task *f = yc__task_waiter(t);
    if (!f) return YC_ENOMEM;
    int st;
    yc__sleep_timer *s = sleep_timer_of(t);
    if (!s) {
        st = no_memory();
    } else if (YC_UNLIKELY(s->tm.h.queued)) {
        yc_handle *h;
        st = yc__call_at_ns(t->loop, when, set_unless_cancelled, f, &h);
        if (st == YC_OK) {
            st = yc__task_await(t, f, NULL);
            yc_handle_cancel(h);
            yc_handle_free(h);
        }
    } else if (!yc__timer_reserve(t->loop)) {
        st = no_memory();
    } else {
        s->tm.h.run = sleep_timer_run;
        s->tm.h.drop = NULL;
        yc__timer_start(t->loop, &s->tm, when);
        st = yc__task_await(t, f, NULL);
        sleep_timer_stop(t);
    }
    yc_task_unref(f);
    return st;
}

static int invalid_delay(void)
{
    return yc__fail(YC_EINVAL, &yc_ValueError, "Invalid delay: NaN (not a number)");
}

void yc__sleep(double delay, const char *file, int line)
{
    yc_task *t = running("yc_sleep()", file, line, NULL);
    int st;
    if (delay <= 0) st = yc__task_yield(t);
    else if (isnan(delay)) st = invalid_delay();
    else {
        int64_t d = yc__secs_ns(delay);
        st = sleep_until_ns(t, d == INT64_MAX ? INT64_MAX : yc__loop_now(t->loop) + d);
    }
    if (st < 0) raise_pending(file, line, NULL);
}

void yc__sleep_until(double when, const char *file, int line)
{
    yc_task *t = running("yc_sleep_until()", file, line, NULL);
    int st;
    if (isnan(when)) st = invalid_delay();
    else if (yc__secs_ns(when) <= yc__loop_now(t->loop)) st = yc__task_yield(t);
    else st = sleep_until_ns(t, yc__secs_ns(when));
    if (st < 0) raise_pending(file, line, NULL);
}

/* ---- timeouts (asyncio.timeouts.Timeout) ---------------------------- */

#define TIMEOUT_MAGIC 0x7963546fu /* "ycTo" */

enum { TM_CREATED, TM_ENTERED, TM_EXPIRING, TM_EXPIRED, TM_EXITED };
static const char *const tm_state_name[] = {"created", "active", "expiring", "expired",
                                            "finished"};

struct yc_timeout {
    yc_cm cm; /* first: the manager YC_WITH takes */
    uint32_t magic;
    int refs;
    int state;
    int64_t when;       /* INT64_MAX: none */
    yc_handle *handler; /* the scheduled _on_timeout */
    yc_task *task;      /* referenced from enter */
    int cancelling;     /* the task's count at enter */
};

static bool tm_ok(const yc_timeout *tm) { return tm && tm->magic == TIMEOUT_MAGIC; }

yc_timeout *yc_timeout_ref(yc_timeout *tm)
{
    if (tm_ok(tm)) tm->refs++;
    return tm;
}

static void tm_drop_handler(yc_timeout *tm)
{
    if (!tm->handler) return;
    yc_handle_cancel(tm->handler);
    yc_handle_free(tm->handler);
    tm->handler = NULL;
}

void yc_timeout_unref(yc_timeout *tm)
{
    if (!tm_ok(tm) || --tm->refs > 0) return;
    tm_drop_handler(tm);
    yc_task_unref(tm->task);
    tm->magic = 0;
    yc__free(tm);
}

/* Timeout._on_timeout: the task is cancelled; exit turns that into
 * TimeoutError. */
static void tm_on_timeout(void *arg)
{
    yc_timeout *tm = arg;
    yc_task_cancel(tm->task, NULL);
    tm->state = TM_EXPIRING;
    yc_handle_free(tm->handler); /* it ran: drop our reference */
    tm->handler = NULL;
}

int yc_timeout_reschedule(yc_timeout *tm, double when)
{
    if (!tm_ok(tm)) return yc__fail(YC_EINVAL, &yc_TypeError, "not a timeout");
    if (isnan(when)) return invalid_delay();
    if (tm->state != TM_ENTERED) {
        if (tm->state == TM_CREATED)
            return yc__fail(YC_EINVAL, &yc_RuntimeError, "Timeout has not been entered");
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "Cannot change state of %s Timeout",
                        tm_state_name[tm->state]);
    }
    yc_loop *L = yc__loop_running();
    if (!L) return yc__no_loop_error();
    int64_t w = isinf(when) && when > 0 ? INT64_MAX : yc__secs_ns(when);
    yc_handle *h = NULL;
    int st = YC_OK;
    if (w != INT64_MAX) {
        st = w <= yc__loop_now(L) ? yc_loop_call_soon(L, tm_on_timeout, tm, &h)
                                  : yc__call_at_ns(L, w, tm_on_timeout, tm, &h);
        if (st < 0) return st;
    }
    tm->when = w;
    tm_drop_handler(tm);
    tm->handler = h;
    return YC_OK;
}

static int tm_enter(yc_cm *cm, yc_val *out)
{
    yc_timeout *tm = (yc_timeout *)cm;
    if (tm->state != TM_CREATED)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "Timeout has already been entered");
    if (!yc__loop_running()) return yc__no_loop_error();
    yc_task *t = yc_task_current();
    if (!t) return yc__fail(YC_EINVAL, &yc_RuntimeError, "Timeout should be used inside a task");
    tm->state = TM_ENTERED;
    tm->task = yc_task_ref(t);
    tm->cancelling = yc_task_cancelling(t);
    int st = yc_timeout_reschedule(tm, yc__ns_secs(tm->when));
    if (st < 0) return st;
    *out = yc_ptr(tm);
    return YC_OK;
}

/* Timeout._insert_timeout_error: a TimeoutError slipped in before the
 * first CancelledError of e's context chain. */
static void insert_timeout_error(yc_exc *e)
{
    for (; e->context; e = e->context) {
        if (yc_exc_is(e->context, &yc_CancelledError)) {
            yc_exc *te = yc_exc_new(&yc_TimeoutError, NULL);
            if (te->refs < 0) return; /* out of memory: leave it */
            te->context = yc_exc_ref(e->context);
            yc_exc_set_cause(te, yc_exc_ref(e->context));
            te->suppress_context = false;
            yc_exc_unref(e->context);
            e->context = te;
            return;
        }
    }
}

/* Timeout.__aexit__: YC_EXIT_PROPAGATE, or YC_RAISE with TimeoutError
 * (cause and context e) when its own cancellation is what ends the block. */
static int tm_exit(yc_cm *cm, yc_exc *e)
{
    yc_timeout *tm = (yc_timeout *)cm;
    tm_drop_handler(tm);
    if (tm->state == TM_EXPIRING) {
        tm->state = TM_EXPIRED;
        if (yc_task_uncancel(tm->task) <= tm->cancelling && e) {
            if (yc_exc_is(e, &yc_CancelledError)) {
                yc_exc *te = yc_exc_new(&yc_TimeoutError, NULL);
                yc__exc_chain(te, e);
                yc_exc_set_cause(te, yc_exc_ref(e));
                yc__err_set(yc__cur(), te);
                return YC_RAISE;
            }
            insert_timeout_error(e);
            if (yc_exc_is(e, &yc_ExceptionGroup))
                for (size_t i = 0; i < yc_exc_group_size(e); i++)
                    insert_timeout_error(yc_exc_group_item(e, i));
        }
    } else if (tm->state == TM_ENTERED) {
        tm->state = TM_EXITED;
    }
    return YC_EXIT_PROPAGATE;
}

static void tm_free(yc_cm *cm) { yc_timeout_unref((yc_timeout *)cm); }

static const yc_cm_type timeout_type = {
    .name = "Timeout", .enter = tm_enter, .exit = tm_exit, .free = tm_free};

static yc_timeout *tm_new(int64_t when)
{
    yc_timeout *tm = yc__malloc(sizeof *tm);
    if (!tm) {
        no_memory();
        return NULL;
    }
    memset(tm, 0, sizeof *tm);
    tm->cm.type = &timeout_type;
    tm->magic = TIMEOUT_MAGIC;
    tm->refs = 1;
    tm->state = TM_CREATED;
    tm->when = when;
    return tm;
}

yc_cm *yc_cm_timeout_at(double when)
{
    if (isnan(when)) {
        invalid_delay();
        return NULL;
    }
    yc_timeout *tm = tm_new(isinf(when) && when > 0 ? INT64_MAX : yc__secs_ns(when));
    return tm ? &tm->cm : NULL;
}

yc_cm *yc_cm_timeout(double delay)
{
    yc_loop *L = yc__loop_running();
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    if (isnan(delay)) {
        invalid_delay();
        return NULL;
    }
    int64_t d = yc__secs_ns(delay);
    yc_timeout *tm = tm_new(d == INT64_MAX ? INT64_MAX : yc__loop_now(L) + d);
    return tm ? &tm->cm : NULL;
}

yc_timeout *yc_timeout_of(yc_cm *cm)
{
    return cm && cm->type == &timeout_type ? (yc_timeout *)cm : NULL;
}

yc_cm *yc_timeout_cm(yc_timeout *tm)
{
    if (!tm_ok(tm)) {
        yc__fail(YC_EINVAL, &yc_TypeError, "not a timeout");
        return NULL;
    }
    return &yc_timeout_ref(tm)->cm;
}

double yc_timeout_when(const yc_timeout *tm) { return tm_ok(tm) ? yc__ns_secs(tm->when) : NAN; }

bool yc_timeout_expired(const yc_timeout *tm)
{
    return tm_ok(tm) && (tm->state == TM_EXPIRING || tm->state == TM_EXPIRED);
}

int yc_timeout_format(const yc_timeout *tm, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!tm_ok(tm)) return snprintf(buf, n, "<invalid timeout>");
    if (tm->state != TM_ENTERED) return snprintf(buf, n, "<Timeout [%s]>", tm_state_name[tm->state]);
    char w[64] = "None";
    if (tm->when != INT64_MAX) { /* round(when, 3) */
        int64_t ms = (tm->when + (tm->when < 0 ? -500000 : 500000)) / 1000000;
        yc_val_format(yc_float((double)ms / 1000), w, sizeof w);
    }
    return snprintf(buf, n, "<Timeout [active] when=%s>", w);
}

/* ---- wait_for -------------------------------------------------------- */

/* _release_waiter(waiter) as a done callback. */
static void release_waiter_cb(yc_task *f, void *ud)
{
    (void)f;
    yc_task *w = ud;
    if (w->state == FUT_PENDING) yc__fut_set_result(w, YC_NONE);
}

/* _cancel_and_wait(f): cancels f and waits until it is done. */
static int cancel_and_wait(yc_task *t, yc_task *f)
{
    yc_task *w = yc__fut_new(t->loop);
    if (!w) return YC_ENOMEM;
    int st = yc__fut_add_cb(f, release_waiter_cb, yc_task_ref(w), release_task, 0);
    if (st < 0) {
        yc_task_unref(w);
        yc_task_unref(w);
        return st;
    }
    yc__fut_cancel(f, NULL);
    st = yc__task_await(t, w, NULL);
    yc__fut_remove_cb(f, release_waiter_cb, w);
    yc_task_unref(w);
    return st;
}

/* `raise TimeoutError from exc` in the handler of the pending
 * CancelledError exc, itself raised where the task handles what it
 * handles (fut.result() inside wait_for): the TimeoutError's context is
 * exc. Anything else pending stays, unchained. */
static void timeout_from_cancel(void)
{
    yc_exc *e = yc_err_get();
    if (!yc_exc_is(e, &yc_CancelledError)) return;
    e = yc_err_take();
    yc__exc_chain(e, yc__handled(yc__cur()));
    yc_exc *te = yc_exc_new(&yc_TimeoutError, NULL);
    yc__exc_chain(te, e);
    yc_exc_set_cause(te, e);
    yc_err_set(te);
}

/* wait_for with timeout <= 0: f's result when done; else cancels f and
 * waits, and its CancelledError becomes TimeoutError (*raised: that
 * exception is complete, it propagates without being chained again). */
static int wait_for_now(yc_task *t, yc_task *f, yc_val *out, bool *raised)
{
    *raised = false;
    if (f->state != FUT_PENDING) return yc__fut_result(f, out);
    int st = cancel_and_wait(t, f);
    if (st < 0) return st;
    st = yc__fut_result(f, out);
    if (st < 0) {
        timeout_from_cancel();
        *raised = true;
    }
    return st;
}

yc_val yc__wait_for(yc_task *f, double timeout, const char *file, int line, const char *func)
{
    yc_task *t = running("yc_wait_for()", file, line, func);
    yc_val v = YC_NONE;
    int st = check_arg(t, f);
    if (st == YC_OK && isnan(timeout)) st = invalid_delay();
    if (st < 0) raise_pending(file, line, func);
    if (timeout <= 0) {
        bool raised;
        if (wait_for_now(t, f, &v, &raised) < 0) {
            if (raised) yc__err_raise(file, line, func);
            raise_pending(file, line, func);
        }
        return v;
    }
    int64_t d = yc__secs_ns(timeout);
    yc_timeout *tm = tm_new(d == INT64_MAX ? INT64_MAX : yc__loop_now(t->loop) + d);
    if (!tm) raise_pending(file, line, func);
    yc_val bound;
    st = tm_enter(&tm->cm, &bound);
    if (st == YC_OK) { /* async with timeout(...): return await f */
        st = yc__task_await(t, f, &v);
        yc_exc *e = st < 0 ? yc_err_take() : NULL;
        int xs = tm_exit(&tm->cm, e);
        if (xs < 0) {
            yc_exc_unref(e); /* replaced by the TimeoutError */
            st = xs;
        } else if (e) {
            yc_err_set(e); /* goes on unchanged */
        }
    }
    yc_timeout_unref(tm);
    if (st < 0) raise_pending(file, line, func);
    return v;
}

yc_val(yc_wait_for)(yc_task *f, double timeout)
{
    return yc__wait_for(f, timeout, __FILE__, __LINE__, __func__);
}

/* ---- shield --------------------------------------------------------- */

static void shield_inner_done(yc_task *inner, void *ud)
{
    yc_task *outer = ud;
    if (outer->state == FUT_CANCELLED) {
        if (inner->state != FUT_CANCELLED) inner->log_tb = false; /* inner.exception() */
        return;
    }
    if (inner->state == FUT_CANCELLED) yc__fut_cancel(outer, NULL);
    else if (inner->exc) {
        inner->log_tb = false;
        yc__fut_set_exception(outer, yc_exc_ref(inner->exc));
    } else {
        yc__fut_set_result(outer, inner->result);
    }
}

static void shield_outer_done(yc_task *outer, void *ud)
{
    yc_task *inner = ud;
    if (inner->state == FUT_PENDING) yc__fut_remove_cb(inner, shield_inner_done, outer);
}

yc_val yc__shield(yc_task *f, const char *file, int line, const char *func)
{
    yc_task *t = running("yc_shield()", file, line, func);
    yc_val v = YC_NONE;
    int st = check_arg(t, f);
    if (st < 0) raise_pending(file, line, func);
    if (f->state != FUT_PENDING) {
        if (yc__fut_result(f, &v) < 0) raise_pending(file, line, func);
        return v;
    }
    yc_task *outer = yc__fut_new(t->loop);
    if (!outer) raise_pending(file, line, func);
    st = yc__fut_add_cb(f, shield_inner_done, yc_task_ref(outer), release_task, 0);
    if (st == YC_OK) {
        st = yc__fut_add_cb(outer, shield_outer_done, yc_task_ref(f), release_task, 0);
        if (st < 0) {
            yc_task_unref(f);
            yc__fut_remove_cb(f, shield_inner_done, outer);
        }
    } else {
        yc_task_unref(outer);
    }
    if (st == YC_OK) st = yc__task_await(t, outer, &v);
    yc_task_unref(outer);
    if (st < 0) raise_pending(file, line, func);
    return v;
}

yc_val(yc_shield)(yc_task *f) { return yc__shield(f, __FILE__, __LINE__, __func__); }

/* ---- gather --------------------------------------------------------- */

typedef struct gather_st {
    yc_task **children; /* referenced, in argument order (repeats kept) */
    size_t n, nfuts, nfinished;
    bool return_exceptions, cancel_requested;
} gather_st;

static void gather_free(void *p)
{
    gather_st *g = p;
    for (size_t i = 0; i < g->n; i++) yc_task_unref(g->children[i]);
    yc__free(g->children);
    yc__free(g);
}

/* _GatheringFuture.cancel: cancels the children instead of itself. */
static bool gather_cancel(yc_task *outer, yc__msg *msg)
{
    if (outer->state != FUT_PENDING) return false;
    gather_st *g = outer->aux;
    bool ret = false;
    for (size_t i = 0; i < g->n; i++)
        if (yc__fut_cancel(g->children[i], msg)) ret = true;
    if (ret) g->cancel_requested = true;
    return ret;
}

/* gather's _done_callback(fut). */
static void gather_child_done(yc_task *fut, void *ud)
{
    yc_task *outer = ud;
    gather_st *g = outer->aux;
    g->nfinished++;
    if (outer->state != FUT_PENDING) {
        if (fut->state != FUT_CANCELLED) fut->log_tb = false;
        return;
    }
    if (!g->return_exceptions) {
        if (fut->state == FUT_CANCELLED) {
            yc__fut_set_exception(outer, yc__fut_cancelled_error(fut));
            return;
        }
        fut->log_tb = false;
        if (fut->exc) {
            yc__fut_set_exception(outer, yc_exc_ref(fut->exc));
            return;
        }
    }
    if (g->nfinished == g->nfuts) {
        for (size_t i = 0; i < g->n; i++) /* the results list reads them all */
            if (g->children[i]->state == FUT_FINISHED) g->children[i]->log_tb = false;
        if (g->cancel_requested)
            yc__fut_set_exception(outer, yc__fut_cancelled_error(g->children[g->n - 1]));
        else
            yc__fut_set_result(outer, YC_NONE);
    }
}

/* The distinct tasks of ts (a set, in argument order), referenced, in a
 * new array; *m their number. Repeats are found with a hash set of the
 * pointers, so that gathering 10^4 tasks is not 10^8 compares. NULL when
 * out of memory. */
static yc_task **distinct(yc_task *const *ts, size_t n, size_t *m)
{
    size_t cap = 16;
    while (cap < 2 * n) cap *= 2;
    yc_task **fs = yc__malloc(n * sizeof *fs + cap * sizeof(yc_task *));
    if (!fs) return NULL;
    yc_task **set = fs + n;
    memset(set, 0, cap * sizeof *set);
    *m = 0;
    for (size_t i = 0; i < n; i++) {
        size_t h = (size_t)(((uintptr_t)ts[i] >> 4) * 0x9e3779b97f4a7c15u) & (cap - 1);
        while (set[h] && set[h] != ts[i]) h = (h + 1) & (cap - 1);
        if (set[h]) continue;
        set[h] = ts[i];
        fs[(*m)++] = yc_task_ref(ts[i]);
    }
    return fs;
}

static void unref_all(yc_task **fs, size_t m)
{
    for (size_t i = 0; i < m; i++) yc_task_unref(fs[i]);
    yc__free(fs);
}

yc_task *yc_gather_future(yc_task *const *ts, size_t n, unsigned flags)
{
    if (n && !ts) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_gather: tasks is NULL");
        return NULL;
    }
    if (flags & ~YC_RETURN_EXCEPTIONS) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_gather: unknown flags 0x%x", flags);
        return NULL;
    }
    yc_loop *L = n ? NULL : yc__loop_running();
    for (size_t i = 0; i < n; i++) {
        if (!yc__task_ok(ts[i]) || !ts[i]->loop) {
            yc__fail(YC_EINVAL, &yc_TypeError, "yc_gather: task %zu is not a live task", i);
            return NULL;
        }
        if (L && ts[i]->loop != L) {
            yc__fail(YC_EINVAL, &yc_ValueError,
                     "The future belongs to a different loop than the one specified as the "
                     "loop argument");
            return NULL;
        }
        L = ts[i]->loop;
    }
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    yc_task *outer = yc__fut_new(L);
    gather_st *g = outer ? yc__malloc(sizeof *g) : NULL;
    yc_task **ch = g && n ? yc__malloc(n * sizeof *ch) : NULL;
    if (!outer || !g || (n && !ch)) {
        yc__free(g);
        yc_task_unref(outer);
        if (outer) no_memory();
        return NULL;
    }
    if (!n) {
        yc__free(g);
        yc__fut_set_result(outer, YC_NONE);
        return outer;
    }
    *g = (gather_st){.children = ch, .n = n, .return_exceptions = flags & YC_RETURN_EXCEPTIONS};
    for (size_t i = 0; i < n; i++) ch[i] = yc_task_ref(ts[i]);
    static const yc__fut_ops gather_ops = {.on_cancel = gather_cancel, .aux_free = gather_free};
    outer->aux = g;
    outer->ops = &gather_ops;
    /* each distinct child once, in argument order: a callback now, or at
     * once (below) if it is done */
    size_t m = 0; /* distinct() leaves it unset when it fails */
    yc_task **fs = distinct(ts, n, &m);
    yc_task **done = fs ? yc__malloc(m * sizeof *done) : NULL;
    size_t ndone = 0;
    bool failed = !done;
    g->nfuts = m;
    for (size_t i = 0; i < m && !failed; i++) {
        if (fs[i]->state != FUT_PENDING) done[ndone++] = fs[i];
        else if (yc__fut_add_cb(fs[i], gather_child_done, yc_task_ref(outer), release_task, 0) < 0) {
            yc_task_unref(outer);
            failed = true;
        }
    }
    if (failed) { /* out of memory: take back what was registered */
        for (size_t i = 0; fs && i < m; i++) yc__fut_remove_cb(fs[i], gather_child_done, outer);
        if (fs) unref_all(fs, m);
        yc__free(done);
        yc_task_unref(outer);
        yc__err_set(yc__cur(), &yc__nomem);
        return NULL;
    }
    for (size_t i = 0; i < ndone; i++) gather_child_done(done[i], outer);
    yc__free(done);
    unref_all(fs, m);
    return outer;
}

void yc__gather(yc_task *const *ts, size_t n, unsigned flags, const char *file, int line,
                const char *func)
{
    yc_task *t = running("yc_gather()", file, line, func);
    for (size_t i = 0; i < n && ts; i++)
        if (check_arg(t, ts[i]) < 0) raise_pending(file, line, func);
    yc_task *g = yc_gather_future(ts, n, flags);
    if (!g) raise_pending(file, line, func);
    int st = yc__task_await(t, g, NULL);
    yc_task_unref(g);
    if (st < 0) raise_pending(file, line, func);
}

void(yc_gather)(yc_task *const *ts, size_t n, unsigned flags)
{
    yc__gather(ts, n, flags, __FILE__, __LINE__, __func__);
}

/* ---- wait ----------------------------------------------------------- */

typedef struct wait_st {
    int refs;
    yc_task *waiter;
    yc_handle *timer;
    size_t counter;
    int return_when;
} wait_st;

static void wait_release(void *p)
{
    wait_st *w = p;
    if (--w->refs > 0) return;
    yc_task_unref(w->waiter);
    yc__free(w);
}

static void wake_waiter(yc_task *waiter)
{
    if (waiter->state == FUT_PENDING) yc__fut_set_result(waiter, YC_NONE);
}

static void wait_timeout(void *p) { wake_waiter(((wait_st *)p)->waiter); }

static void wait_on_completion(yc_task *f, void *ud)
{
    wait_st *w = ud;
    w->counter--;
    bool wake = w->counter == 0 || w->return_when == YC_FIRST_COMPLETED;
    /* asyncio's condition short-circuits: f.exception() (which marks the
     * exception retrieved) only runs when the first two did not decide */
    if (!wake && w->return_when == YC_FIRST_EXCEPTION && f->state == FUT_FINISHED) {
        f->log_tb = false;
        wake = f->exc != NULL;
    }
    if (wake) {
        if (w->timer) yc_handle_cancel(w->timer);
        wake_waiter(w->waiter);
    }
}

static int wait_run(yc_task *t, yc_task **fs, size_t m, double timeout, int return_when)
{
    wait_st *w = yc__malloc(sizeof *w);
    yc_task *waiter = w ? yc__fut_new(t->loop) : NULL;
    if (!waiter) {
        yc__free(w);
        return w ? YC_ENOMEM : no_memory();
    }
    *w = (wait_st){.refs = 1, .waiter = waiter, .counter = m, .return_when = return_when};
    int st = YC_OK;
    if (!isinf(timeout) || timeout < 0)
        st = yc_loop_call_later(t->loop, timeout, wait_timeout, w, &w->timer);
    for (size_t i = 0; i < m && st == YC_OK; i++) {
        w->refs++;
        st = yc__fut_add_cb(fs[i], wait_on_completion, w, wait_release, 0);
        if (st < 0) w->refs--;
    }
    if (st == YC_OK) st = yc__task_await(t, waiter, NULL);
    if (w->timer) {
        yc_handle_cancel(w->timer);
        yc_handle_free(w->timer);
        w->timer = NULL;
    }
    for (size_t i = 0; i < m; i++) yc__fut_remove_cb(fs[i], wait_on_completion, w);
    wait_release(w);
    return st;
}

size_t yc__wait(yc_task *const *ts, size_t n, double timeout, int return_when, const char *file,
                int line, const char *func)
{
    yc_task *t = running("yc_wait()", file, line, func);
    int st = YC_OK;
    if (n && !ts) st = yc__fail(YC_EINVAL, &yc_TypeError, "yc_wait: tasks is NULL");
    else if (!n) st = yc__fail(YC_EINVAL, &yc_ValueError, "Set of Tasks/Futures is empty.");
    else if (return_when != YC_ALL_COMPLETED && return_when != YC_FIRST_COMPLETED &&
             return_when != YC_FIRST_EXCEPTION)
        st = yc__fail(YC_EINVAL, &yc_ValueError, "Invalid return_when value: %d", return_when);
    else if (isnan(timeout)) st = invalid_delay();
    for (size_t i = 0; i < n && st == YC_OK; i++) st = check_arg(t, ts[i]);
    if (st < 0) raise_pending(file, line, func);
    size_t m;
    yc_task **fs = distinct(ts, n, &m);
    if (!fs) {
        no_memory();
        raise_pending(file, line, func);
    }
    st = wait_run(t, fs, m, timeout, return_when);
    size_t ndone = 0;
    for (size_t i = 0; i < m; i++) {
        if (fs[i]->state != FUT_PENDING) ndone++;
        yc_task_unref(fs[i]);
    }
    yc__free(fs);
    if (st < 0) raise_pending(file, line, func);
    return ndone;
}

size_t(yc_wait)(yc_task *const *ts, size_t n, double timeout, int return_when)
{
    return yc__wait(ts, n, timeout, return_when, __FILE__, __LINE__, __func__);
}

/* ---- as_completed --------------------------------------------------- */

typedef struct ac_iter {
    yc_iter it;          /* first: a yc_iter */
    int refs;            /* the user's + one per registered callback */
    yc_loop *loop;
    yc_task **todo;      /* the set still to finish (referenced; NULL: gone) */
    size_t ntodo, todo_live, todo_left;
    yc_task **done;      /* the queue of finished ones, referenced until the
                            iterator goes; NULL: the timeout's sentinel */
    size_t nhead, ndone;
    yc_handle *timer;
    yc_task *getter;     /* the future a next() waits on */
} ac_iter;

static void ac_release(void *p)
{
    ac_iter *a = p;
    if (--a->refs > 0) return;
    for (size_t i = 0; i < a->ntodo; i++) yc_task_unref(a->todo[i]);
    for (size_t i = 0; i < a->ndone; i++) yc_task_unref(a->done[i]);
    yc__free(a->todo);
    yc__free(a->done);
    yc__free(a);
}

/* queue.put_nowait(f) (f referenced, or NULL), waking the getter. */
static void ac_put(ac_iter *a, yc_task *f)
{
    a->done[a->ndone++] = f; /* room for every task and the sentinel */
    if (a->getter && a->getter->state == FUT_PENDING) yc__fut_set_result(a->getter, YC_NONE);
}

static void ac_on_done(yc_task *f, void *ud)
{
    ac_iter *a = ud;
    if (!a->todo_live) return; /* the timeout came first */
    for (size_t i = 0; i < a->ntodo; i++) {
        if (a->todo[i] == f) {
            a->todo[i] = NULL;
            a->todo_live--;
            ac_put(a, f); /* the reference moves to the queue */
            break;
        }
    }
    if (!a->todo_live && a->timer) yc_handle_cancel(a->timer);
}

static void ac_on_timeout(void *p)
{
    ac_iter *a = p;
    for (size_t i = 0; i < a->ntodo; i++) {
        if (!a->todo[i]) continue;
        yc__fut_remove_cb(a->todo[i], ac_on_done, a);
        yc_task_unref(a->todo[i]);
        a->todo[i] = NULL;
        ac_put(a, NULL);
    }
    a->todo_live = 0;
}

/* __next__ / _wait_for_one: the next task to finish, in a task. */
static int ac_next(yc_iter *it, yc_val *out)
{
    ac_iter *a = (ac_iter *)it;
    if (out) *out = YC_NONE;
    if (!a->todo_left) return YC_RETURN;
    yc_task *t = yc__task_running("as_completed's next");
    if (!t) return YC_EINVAL;
    a->todo_left--;
    while (a->nhead == a->ndone) { /* Queue.get: wait for a put */
        yc_task *g = yc__fut_new(a->loop);
        if (!g) return YC_ENOMEM;
        a->getter = g;
        int st = yc__task_await(t, g, NULL);
        a->getter = NULL;
        yc_task_unref(g);
        if (st < 0) { /* thrown in here: chained as a throw at this await */
            yc__exc_chain(yc_err_get(), yc__handled(yc__cur()));
            return st;
        }
    }
    yc_task *f = a->done[a->nhead++];
    if (!f) return yc__fail(YC_RAISE, &yc_TimeoutError, NULL);
    if (out) *out = yc_ptr(f);
    return YC_YIELD;
}

static void ac_free(yc_iter *it)
{
    ac_iter *a = (ac_iter *)it;
    if (a->timer) {
        yc_handle_cancel(a->timer);
        yc_handle_free(a->timer);
        a->timer = NULL;
    }
    for (size_t i = 0; i < a->ntodo; i++)
        if (a->todo[i]) yc__fut_remove_cb(a->todo[i], ac_on_done, a);
    ac_release(a);
}

static const yc_iter_type as_completed_type = {
    .name = "as_completed",
    .next = ac_next,
    .free = ac_free,
};

yc_iter *yc_as_completed(yc_task *const *ts, size_t n, double timeout)
{
    yc_loop *L = yc__loop_running();
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    if (n && !ts) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_as_completed: tasks is NULL");
        return NULL;
    }
    if (isnan(timeout)) {
        invalid_delay();
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        if (!yc__task_ok(ts[i]) || ts[i]->loop != L) {
            yc__fail(YC_EINVAL, &yc_ValueError, "yc_as_completed: task %zu is not a live task of the running loop", i);
            return NULL;
        }
    }
    ac_iter *a = yc__malloc(sizeof *a);
    size_t m = 0;
    yc_task **todo = a && n ? distinct(ts, n, &m) : NULL;
    yc_task **done = a && (todo || !n) ? yc__malloc((m + 1) * sizeof *done) : NULL;
    if (!done) {
        for (size_t i = 0; todo && i < m; i++) yc_task_unref(todo[i]);
        yc__free(todo);
        yc__free(a);
        no_memory();
        return NULL;
    }
    *a = (ac_iter){.it = {&as_completed_type}, .refs = 1, .loop = L, .todo = todo, .ntodo = m,
                   .todo_live = m, .todo_left = m, .done = done};
    for (size_t i = 0; i < m; i++) {
        a->refs++;
        if (yc__fut_add_cb(todo[i], ac_on_done, a, ac_release, 0) < 0) {
            a->refs--;
            ac_free(&a->it);
            return NULL;
        }
    }
    if (m && (!isinf(timeout) || timeout < 0) &&
        yc_loop_call_later(L, timeout, ac_on_timeout, a, &a->timer) < 0) {
        ac_free(&a->it);
        return NULL;
    }
    return &a->it;
}
