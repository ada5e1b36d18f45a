/*
 * Futures and tasks: asyncio's Future and Task (Lib/asyncio/futures.py and
 * tasks.py of 3.13), stepping, awaiting by parking, and cancellation.
 *
 * A task is in one of asyncio's three states: waiting on fut_waiter (its
 * wakeup registered there; no step scheduled), scheduled (its step in the
 * ready queue), or running (being stepped). A step runs the body from
 * where it stopped: the first step calls yc_next on the task's generator;
 * later ones switch straight back to the coroutine that parked (park and
 * resume below), handing it the exception to raise there, if any. The
 * body's end comes back as the generator protocol's YC_RETURN or YC_RAISE
 * from that switch, because the task's generator keeps the stepping
 * coroutine as its resumer.
 */
#define _GNU_SOURCE
#include "task.h"

#include <stdio.h>
#include <string.h>

/* Status of a step whose body parked in an await (no real status has it). */
#define PARKED 0x50

/* For the functions between the loop and a switch into a task: every
 * frame there returns once more after the task parks again, and a return
 * across a switch is mispredicted (the return stack buffer holds the other
 * side's calls), so they are folded into the few that must stay calls. */
#define STEP_INLINE static inline __attribute__((always_inline))

static _Atomic uint64_t task_counter; /* "Task-N", process-wide as asyncio's */

bool yc__task_ok(const yc_task *t) { return t && t->magic == YC__TASK_MAGIC; }

static int bad_task(const yc_task *t)
{
    if (!t) return yc__fail(YC_EINVAL, &yc_TypeError, "task is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live task or future (freed or corrupted)");
}

static int no_memory(void) { return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL); }

/* ---- objects -------------------------------------------------------- */

/* The cache of blocks of t's kind (a future's block is the first part of
 * a task's). */
static yc__cache *obj_cache(yc_loop *L, int kind)
{
    return kind == KIND_TASK ? &L->task_cache : &L->future_cache;
}

static yc_task *obj_new(yc_loop *L, int kind)
{
    size_t size = kind == KIND_TASK ? sizeof(yc_task) : YC__FUTURE_SIZE;
    yc_task *t = yc__cache_get(L, obj_cache(L, kind), size);
    if (!t) {
        no_memory();
        return NULL;
    }
    memset(t, 0, size);
    t->magic = YC__TASK_MAGIC;
    t->refs = 1;
    t->kind = (uint8_t)kind;
    t->state = FUT_PENDING;
    t->loop = L;
    t->result = YC_NONE;
    t->cb_tail = &t->cb_head;
    t->lnext = L->live;
    if (L->live) L->live->lprev = t;
    L->live = t;
    yc__T.tasks++;
    return t;
}

yc_task *yc__fut_new(yc_loop *L) { return obj_new(L, KIND_FUTURE); }

void yc__fut_clear_exc(yc_task *f)
{
    yc_exc_unref(f->exc);
    f->exc = NULL;
    yc__msg_unref(f->cancel_msg);
    f->cancel_msg = NULL;
}

yc_task *yc__task_waiter_new(yc_task *t)
{
    yc_task *w = t->waiter;
    yc_task *f = yc__fut_new(t->loop);
    if (!f) return NULL;
    yc__unref(w); /* whoever else holds the old one keeps it */
    t->waiter = yc_task_ref(f);
    return f;
}

yc_task *yc_task_ref(yc_task *t)
{
    if (yc__task_ok(t)) t->refs++;
    return t;
}

static int task_format(const yc_task *t, char *buf, size_t n);

/* t's last reference is gone (refs 0: yc_task_format would call it
 * invalid). */
static void report_unretrieved(yc_task *t)
{
    char repr[640], text[720];
    task_format(t, repr, sizeof repr);
    snprintf(text, sizeof text, "%s exception was never retrieved\nfuture: %s",
             t->kind == KIND_TASK ? "Task" : "Future", repr);
    yc__loop_report(t->exc, text);
}

/* Frees a heap callback node of future f (into f's loop's cache). */
static void fcb_free(yc_task *f, yc__fcb *n)
{
    yc_loop *L = f->loop;
    yc__cache_put(L, L ? &L->fcb_cache : NULL, n);
}

/* Releases a callback node of f that will never run. */
static void fcb_discard(yc_task *f, yc__fcb *n)
{
    void (*release)(void *) = n->release;
    void *ud = n->ud;
    if (n->flags & FCB_HEAP) fcb_free(f, n);
    if (release) release(ud);
}

static void free_callbacks(yc_task *t)
{
    for (yc__handle *h = t->cb_head; h;) {
        yc__handle *next = h->next;
        fcb_discard(t, (yc__fcb *)h);
        h = next;
    }
    t->cb_head = NULL;
    t->cb_tail = &t->cb_head;
}

void yc_task_unref(yc_task *t)
{
    if (yc__task_ok(t)) yc__unref(t);
}

void yc__task_free(yc_task *t)
{
    if (t->log_tb) report_unretrieved(t);
    free_callbacks(t);
    yc_exc_unref(t->exc);
    yc__msg_unref(t->cancel_msg);
    yc_loop *L = t->loop;
    if (t->kind == KIND_FUTURE) {
        if (t->ops && t->ops->aux_free) t->ops->aux_free(t->aux);
    } else {
        yc_exc_unref(t->cancelled_exc);
        if (t->sleep) yc__cache_put(L, L ? &L->sleep_cache : NULL, t->sleep);
        yc_exc_unref(t->resume_exc);
        yc_exc_unref(t->step_exc);
        if (t->name != t->name_small) yc__free(t->name);
        yc_task_unref(t->waiter);
        if (t->gen) yc_gen_free(t->gen); /* only a task destroyed half made */
    }
    if (t->loop) {
        if (t->lprev) t->lprev->lnext = t->lnext;
        else t->loop->live = t->lnext;
        if (t->lnext) t->lnext->lprev = t->lprev;
    }
    t->magic = 0;
    yc__cache_put(L, L ? obj_cache(L, t->kind) : NULL, t);
    yc__T.tasks--;
}

/* ---- done callbacks ------------------------------------------------- */

/* A user callback: an exception escaping it is reported, as asyncio's
 * loop reports a failing callback. */
static void call_done_cb(yc_task_cb fn, yc_task *f, void *ud)
{
    YC_TRY {
        fn(f, ud);
    } YC_EXCEPT_ANY {
        char text[160];
        snprintf(text, sizeof text, "Exception in callback %p(%p)", (void *)(uintptr_t)fn, ud);
        yc__loop_report(yc_exc_current(), text);
    } YC_END;
}

static void fcb_run(yc__handle *h)
{
    yc__fcb *n = (yc__fcb *)h;
    yc_task *f = n->fut;
    yc_task_cb fn = n->fn;
    void *ud = n->ud;
    void (*release)(void *) = n->release;
    uint8_t flags = n->flags;
    n->fut = NULL;
    if (flags & FCB_HEAP) fcb_free(f, n);
    if (flags & FCB_USER) call_done_cb(fn, f, ud);
    else fn(f, ud);
    if (release) release(ud);
    if (!(flags & FCB_TAKES_FUTURE)) yc__unref(f);
}

/* A scheduled node dropped by a closing loop. */
static void fcb_drop(yc__handle *h)
{
    yc__fcb *n = (yc__fcb *)h;
    yc_task *f = n->fut;
    n->fut = NULL;
    fcb_discard(f, n);
    yc__unref(f);
}

static void wakeup_run(yc__handle *h);

/* Puts node in the ready queue for f (done). A loop that is gone or
 * closed runs nothing more: the node is dropped. */
static void fcb_schedule(yc_task *f, yc__fcb *n)
{
    yc_loop *L = f->loop;
    if (!L || L->state == LOOP_CLOSED) {
        fcb_discard(f, n);
        return;
    }
    f->refs++;
    n->fut = f; /* h.run and h.drop: set by yc__fut_add_fcb, the only way here */
    n->h.cancelled = false;
    yc__loop_ready(L, &n->h);
}

static void schedule_callbacks(yc_task *f)
{
    yc__handle *h = f->cb_head;
    f->cb_head = NULL;
    f->cb_tail = &f->cb_head;
    while (h) {
        yc__handle *next = h->next;
        fcb_schedule(f, (yc__fcb *)h);
        h = next;
    }
}

int yc__fut_add_fcb(yc_task *f, yc__fcb *n)
{
    n->h.run = n->flags & FCB_WAKEUP ? wakeup_run : fcb_run;
    n->h.drop = fcb_drop;
    n->fut = NULL;
    if (f->state != FUT_PENDING) {
        if (!f->loop) return yc__loop_closed_error();
        fcb_schedule(f, n);
        return YC_OK;
    }
    n->h.next = NULL;
    *f->cb_tail = &n->h;
    f->cb_tail = &n->h.next;
    return YC_OK;
}

bool yc__fut_remove_fcb(yc_task *f, yc__fcb *n)
{
    for (yc__handle **pp = &f->cb_head; *pp; pp = &(*pp)->next) {
        if (*pp == &n->h) {
            *pp = n->h.next;
            if (!*pp) f->cb_tail = pp;
            return true;
        }
    }
    return false;
}

int yc__fut_add_cb(yc_task *f, yc_task_cb fn, void *ud, void (*release)(void *ud), uint8_t flags)
{
    yc_loop *L = f->loop;
    yc__fcb *n = yc__cache_get(L, L ? &L->fcb_cache : NULL, sizeof *n);
    if (!n) return no_memory();
    memset(n, 0, sizeof *n);
    n->fn = fn;
    n->ud = ud;
    n->flags = (uint8_t)(flags | FCB_HEAP);
    int st = yc__fut_add_fcb(f, n);
    if (st < 0) fcb_free(f, n);
    else n->release = release;
    return st;
}

size_t yc__fut_remove_cb(yc_task *f, yc_task_cb fn, void *ud)
{
    size_t k = 0;
    for (yc__handle **pp = &f->cb_head; *pp;) {
        yc__fcb *c = (yc__fcb *)*pp;
        if ((c->flags & FCB_HEAP) && c->fn == fn && c->ud == ud) {
            *pp = c->h.next;
            fcb_discard(f, c);
            k++;
        } else {
            pp = &(*pp)->next;
        }
    }
    f->cb_tail = &f->cb_head;
    while (*f->cb_tail) f->cb_tail = &(*f->cb_tail)->next;
    return k;
}

int yc_task_add_done_callback(yc_task *t, yc_task_cb cb, void *ud)
{
    if (!yc__task_ok(t)) return bad_task(t);
    if (!cb) return yc__fail(YC_EINVAL, &yc_TypeError, "callback is NULL");
    if (!t->loop || (t->state != FUT_PENDING && t->loop->state == LOOP_CLOSED))
        return yc__loop_closed_error();
    return yc__fut_add_cb(t, cb, ud, NULL, FCB_USER);
}

size_t yc_task_remove_done_callback(yc_task *t, yc_task_cb cb, void *ud)
{
    return yc__task_ok(t) ? yc__fut_remove_cb(t, cb, ud) : 0;
}

/* ---- completing a future -------------------------------------------- */

static void set_result(yc_task *f, yc_val v)
{
    f->result = v;
    f->state = FUT_FINISHED;
    schedule_callbacks(f);
}

/* Takes e. StopIteration becomes RuntimeError, as asyncio does. */
static void set_exception(yc_task *f, yc_exc *e)
{
    if (yc_exc_is(e, &yc_StopIteration)) {
        yc_exc *r = yc_exc_new(&yc_RuntimeError,
                               "StopIteration interacts badly with generators and cannot be "
                               "raised into a Future");
        yc__exc_chain(r, e);
        yc_exc_set_cause(r, e);
        e = r;
    }
    f->exc = e;
    f->state = FUT_FINISHED;
    schedule_callbacks(f);
    f->log_tb = true;
}

yc__msg *yc__msg_ref(yc__msg *m)
{
    if (m) m->refs++;
    return m;
}

void yc__msg_unref(yc__msg *m)
{
    if (m && --m->refs == 0) yc__free(m);
}

/* Sets f's cancel message (msg referenced). */
static void set_cancel_msg(yc_task *f, yc__msg *msg)
{
    yc__msg *old = f->cancel_msg;
    f->cancel_msg = yc__msg_ref(msg);
    yc__msg_unref(old);
}

/* Future.cancel(msg): the base class's, without Task's logic. */
static bool cancel_base(yc_task *f, yc__msg *msg)
{
    f->log_tb = false;
    if (f->state != FUT_PENDING) return false;
    f->state = FUT_CANCELLED;
    set_cancel_msg(f, msg);
    schedule_callbacks(f);
    return true;
}

static int invalid_state(void)
{
    return yc__fail(YC_EINVAL, &yc_InvalidStateError, "invalid state");
}

int yc__fut_set_result(yc_task *f, yc_val v)
{
    if (f->state != FUT_PENDING) return invalid_state();
    set_result(f, v);
    return YC_OK;
}

int yc__fut_set_exception(yc_task *f, yc_exc *e)
{
    if (f->state != FUT_PENDING) {
        yc_exc_unref(e);
        return invalid_state();
    }
    set_exception(f, e);
    return YC_OK;
}

static int body_has_no_set(const char *what)
{
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "Task does not support %s operation", what);
}

int yc_future_set_result(yc_task *f, yc_val v)
{
    if (!yc__task_ok(f)) return bad_task(f);
    if (f->kind == KIND_TASK) return body_has_no_set("set_result");
    return yc__fut_set_result(f, v);
}

int yc_future_set_exception(yc_task *f, yc_exc *e)
{
    if (!yc__exc_valid(e)) {
        if (!yc__task_ok(f)) return bad_task(f);
        return yc__not_an_exception(e);
    }
    if (!yc__task_ok(f)) {
        yc_exc_unref(e);
        return bad_task(f);
    }
    if (f->kind == KIND_TASK) {
        yc_exc_unref(e);
        return body_has_no_set("set_exception");
    }
    return yc__fut_set_exception(f, e);
}

/* ---- reading a future ----------------------------------------------- */

yc_exc *yc__fut_cancelled_error(yc_task *f)
{
    if (f->kind == KIND_TASK && f->cancelled_exc) { /* the body's own, handed out once */
        yc_exc *e = f->cancelled_exc;
        f->cancelled_exc = NULL;
        return e;
    }
    return f->cancel_msg ? yc_exc_new(&yc_CancelledError, "%s", f->cancel_msg->s)
                         : yc_exc_new(&yc_CancelledError, NULL);
}

int yc__fut_result(yc_task *f, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (f->state == FUT_CANCELLED) {
        yc__err_set(yc__cur(), yc__fut_cancelled_error(f));
        return YC_RAISE;
    }
    if (f->state != FUT_FINISHED)
        return yc__fail(YC_EINVAL, &yc_InvalidStateError, "Result is not set.");
    f->log_tb = false;
    if (f->exc) {
        yc__err_set(yc__cur(), yc_exc_ref(f->exc));
        return YC_RAISE;
    }
    if (out) *out = f->result;
    return YC_OK;
}

int yc_task_result(yc_task *t, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (!yc__task_ok(t)) return bad_task(t);
    return yc__fut_result(t, out);
}

int yc_task_exception(yc_task *t, yc_exc **out)
{
    if (out) *out = NULL;
    if (!yc__task_ok(t)) return bad_task(t);
    if (t->state == FUT_CANCELLED) {
        yc__err_set(yc__cur(), yc__fut_cancelled_error(t));
        return YC_RAISE;
    }
    if (t->state != FUT_FINISHED)
        return yc__fail(YC_EINVAL, &yc_InvalidStateError, "Exception is not set.");
    t->log_tb = false;
    if (out) *out = t->exc;
    return YC_OK;
}

bool yc_task_done(const yc_task *t) { return yc__task_ok(t) && t->state != FUT_PENDING; }
bool yc_task_cancelled(const yc_task *t) { return yc__task_ok(t) && t->state == FUT_CANCELLED; }
static bool is_task(const yc_task *t) { return yc__task_ok(t) && t->kind == KIND_TASK; }

int yc_task_cancelling(const yc_task *t) { return is_task(t) ? t->cancels : 0; }
const char *yc_task_name(const yc_task *t) { return is_task(t) ? t->name : NULL; }
yc_loop *yc_task_loop(const yc_task *t) { return yc__task_ok(t) ? t->loop : NULL; }

yc_task *yc_task_current(void)
{
    yc_loop *L = yc__loop_running();
    return L ? L->current : NULL;
}

int yc_task_uncancel(yc_task *t)
{
    if (!is_task(t)) return 0;
    if (t->cancels > 0 && --t->cancels == 0) t->must_cancel = false;
    return t->cancels;
}

/* ---- repr ----------------------------------------------------------- */

int yc_task_format(const yc_task *t, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!yc__task_ok(t)) return snprintf(buf, n, "<invalid task>");
    return task_format(t, buf, n);
}

static int task_format(const yc_task *t, char *buf, size_t n)
{
    const char *st = t->state == FUT_PENDING     ? "pending"
                     : t->state == FUT_CANCELLED ? "cancelled"
                                                 : "finished";
    if (t->kind == KIND_TASK && t->state == FUT_PENDING && t->cancels) st = "cancelling";
    char head[300];
    if (t->kind == KIND_TASK) {
        char name[256];
        yc__out o = {name, sizeof name, 0};
        yc__repr_str(&o, t->name, strlen(t->name));
        yc__out_end(&o);
        snprintf(head, sizeof head, "<Task %s name=%s", st, name);
    } else {
        snprintf(head, sizeof head, "<Future %s", st);
    }
    if (t->state != FUT_FINISHED) return snprintf(buf, n, "%s>", head);
    char what[300];
    if (t->exc) yc_exc_repr(t->exc, what, sizeof what);
    else yc_val_format(t->result, what, sizeof what);
    return snprintf(buf, n, "%s %s=%s>", head, t->exc ? "exception" : "result", what);
}

/* ---- stepping a task ------------------------------------------------ */

STEP_INLINE void task_step(yc_task *t, yc_exc *exc);

static void step_run(yc__handle *h)
{
    yc_task *t = (yc_task *)((char *)h - offsetof(yc_task, step));
    yc_exc *e = t->step_exc;
    t->step_exc = NULL;
    task_step(t, e);
}

/* call_soon(self.__step, exc): exc taken (NULL for none). */
static void schedule_step(yc_task *t, yc_exc *exc)
{
    t->step_exc = exc;
    t->step.run = step_run;
    t->step.drop = NULL;
    t->step.cancelled = false;
    yc__loop_ready(t->loop, &t->step);
}

/* Task.__wakeup(future): steps t with f's exception, or with none. Takes
 * the scheduled callback's reference to f, and lets it go before the step,
 * so that the future can serve t's next wait (yc__task_waiter). */
STEP_INLINE void task_wakeup(yc_task *f, void *ud)
{
    yc_task *t = ud;
    yc_exc *e = NULL;
    bool step = t->state == FUT_PENDING;
    if (YC_UNLIKELY(step && !(f->state == FUT_FINISHED && !f->exc))) {
        yc__fut_result(f, NULL);
        e = yc_err_take();
    }
    yc__unref(f);
    if (step) task_step(t, e);
}

/* The handle of a scheduled wakeup node (FCB_WAKEUP): fcb_run's work for
 * it, with task_wakeup and the step inlined down to the switch. */
static void wakeup_run(yc__handle *h)
{
    yc__fcb *n = (yc__fcb *)h;
    yc_task *f = n->fut;
    n->fut = NULL;
    task_wakeup(f, n->ud);
}

/* Marks (or unmarks) the coroutines from `from` up to the task's own as
 * parked: their generators wait in the task's await. A throw that climbed
 * the chain is over when it parks. */
static void mark_chain(yc__coro *from, yc__coro *top, bool parked)
{
    for (yc__coro *c = from;; c = c->resumer) {
        c->parked = parked;
        c->in_throw = c->throwing = false;
        if (c == top) break;
    }
}

/* A throw into the chain from `from` (where it is raised) up to top: see
 * yc__coro.in_throw. */
static void throw_into_chain(yc__coro *from, yc__coro *top)
{
    for (yc__coro *c = from;; c = c->resumer) {
        c->in_throw = true;
        if (c == top) break;
    }
    from->throwing = true;
}

/* Makes parked t's chain ready to run again under resumer r, with exc
 * (taken; NULL for none) to raise at its await point: the work of a resume
 * before its switch, shared by resume and park's direct hand-off. Returns
 * the coroutine to switch into. */
STEP_INLINE yc__coro *chain_to_resume(yc_task *t, yc__coro *r, yc_exc *exc)
{
    yc_gen *g = t->gen;
    yc__coro *in = t->inner;
    t->inner = NULL;
    t->resume_exc = exc;
    g->co.resumer = r;
    g->out = &t->result;
    mark_chain(in, &g->co, false);
    if (exc) throw_into_chain(in, &g->co);
    return in;
}

/*
 * The task whose wake-up is the ready handle h, when a parking task may
 * run it by a direct hand-off: the step it would get is a plain resume
 * (pending, parked in an await of a future done with a result, no
 * cancellation to deliver), so the hand-off does all that step would do
 * before the switch. NULL otherwise (the loop runs h as usual).
 */
static yc_task *handoff_task(yc__handle *h, const yc_task *from)
{
    if (h->run != wakeup_run) return NULL;
    yc__fcb *n = (yc__fcb *)h;
    yc_task *u = n->ud, *f = n->fut;
    if (u == from || u->state != FUT_PENDING || u->must_cancel || !u->inner) return NULL;
    if (f->state != FUT_FINISHED || f->exc) return NULL;
    return u;
}

/*
 * Parks the running task t: switches from the running coroutine (t's own,
 * or one of the generators it iterates) to t's resumer, which gets PARKED
 * as the status of its step. Returns when a step resumes t (the exception
 * to raise, if any, in t->resume_exc). noinline: reads the thread state.
 *
 * The direct hand-off: when t's step is one the loop's run_once began
 * (L->handoff) and the next thing the loop would do is step another
 * parked task u with its wake-up (yc__loop_handoff_peek: same iteration,
 * or nothing due between iterations), t does that step's work itself and
 * switches straight to u, whose resumer becomes the loop's coroutine, as
 * if the loop had stepped it. The loop's frame, still in t's step, gets
 * the status of whichever task switches back to it (L->current says which:
 * task_step). Half the switches, and no return across one on the loop's
 * side; the order of execution stays asyncio's.
 */
__attribute__((noinline)) static void park(yc_task *t)
{
    yc__coro *co = yc__T.cur;
    yc__coro *top = &t->gen->co;
    t->inner = co;
    mark_chain(co, top, true);
    yc__coro *r = top->resumer;
    yc_loop *L = t->loop;
    yc__handle *h;
    yc_task *u;
    if (L->handoff == t && r == L->co && (h = yc__loop_handoff_peek(L)) &&
        (u = handoff_task(h, t))) {
        yc__loop_handoff_take(L);
        yc__fcb *n = (yc__fcb *)h; /* wakeup_run and task_step, down to resume */
        yc__unref(n->fut);         /* u's fut_waiter holds it too */
        n->fut = NULL;
        yc__unref(u->fut_waiter);
        u->fut_waiter = NULL;
        u->io_turn = 0;
        L->current = L->handoff = u;
        yc__coro *in = chain_to_resume(u, r, NULL);
        yc__T.cur = in;
        yc__coro_jump_same(co, in, 0, 0, &t->park_flag, 0); /* both parked here */
        return;
    }
    yc__T.cur = r;
    yc__coro_jump_x(co, r, PARKED, 0, &t->park_flag, 0, false);
}

/* Switches back into parked t from the running coroutine, which becomes
 * its resumer; exc (taken) is raised at the await point. Returns PARKED,
 * YC_RETURN, YC_RAISE (the exception pending here) or YC_YIELD. */
STEP_INLINE int resume(yc_task *t, yc_exc *exc)
{
    yc__coro *me = yc__cur();
    yc__coro *in = chain_to_resume(t, me, exc);
    yc__T.cur = in;
    return yc__coro_jump_i(me, in, 0, 0, &t->park_flag, 0);
}

/*
 * The first step of t: makes its body (the stack is taken now, not at
 * spawn, so that a task that ends in its first step hands a warm stack to
 * the next one) and runs it. exc (taken): thrown before the first
 * instruction, so nothing runs and no stack is taken (11.6). A stack or
 * header that cannot be had ends the task with that error (OSError,
 * MemoryError), its body not run.
 */
static __attribute__((noinline)) int first_step(yc_task *t, yc_exc *exc)
{
    if (exc) {
        yc__err_set(yc__cur(), exc);
        return YC_RAISE;
    }
    yc_gen *g = yc_gen_new(t->fn, t->arg, &(yc_gen_opts){.name = t->name, .stack_size = t->stack});
    if (!g) return YC_RAISE;
    t->gen = g;
    yc_loop *L = t->loop;
    if (++L->stacked_tasks > L->peak_window) {
        L->peak_window = L->stacked_tasks;
        if (L->stacked_tasks > L->stack_retain && t->stack == L->task_stack)
            yc__loop_retain_grow(L);
    }
    return yc_next(g, &t->result);
}

/* Runs the body one step: exc (taken) raised at its suspension point. */
STEP_INLINE int run_body(yc_task *t, yc_exc *exc)
{
    yc_gen *g = t->gen;
    if (!g) return first_step(t, exc);
    /* the generator is the task's, on this thread: its state read as is */
    switch (atomic_load_explicit(&g->state, memory_order_acquire)) {
    case YC_GEN_CREATED:   /* throw: closed without running (11.6) */
    case YC_GEN_SUSPENDED: /* after a bare yield */
    case YC__GEN_COVERED:  /* (a level of another's chain: as suspended) */
    case YC__GEN_UNCOVERING: /* (its levels given back elsewhere: the claim waits) */
        return exc ? yc_throw(g, exc, &t->result) : yc_next(g, &t->result);
    case YC_GEN_RUNNING:
        return resume(t, exc);
    default: /* cannot happen: a done task is not stepped */
        yc_exc_unref(exc);
        return yc__fail(YC_RAISE, &yc_RuntimeError, "task stepped after its end");
    }
}

/* The task is done: its body goes (the stack back to the pool) and the
 * loop lets go of it. May free t. */
static void task_finished(yc_task *t)
{
    yc_gen *g = t->gen;
    t->gen = NULL;
    if (g) {
        yc_gen_free(g);
        if (t->loop) t->loop->stacked_tasks--;
    }
    yc__unref(t); /* the loop's reference */
}

static yc_exc *bad_yield(yc_task *t, yc_val v)
{
    char repr[300], what[256];
    yc_task_format(t, repr, sizeof repr);
    yc_val_format(v, what, sizeof what);
    return yc_exc_new(&yc_RuntimeError, "Task got bad yield: %s", what);
}

/* The end of a step whose body did not park: st is run_body's. */
static __attribute__((noinline)) void step_end(yc_task *t, int st)
{
    if (st == YC_YIELD) {
        /* a bare yield gives up one iteration; any other value is wrong */
        schedule_step(t, yc_is_none(t->result) ? NULL : bad_yield(t, t->result));
        return;
    }
    yc_loop *L = t->loop;
    if (st == YC_RETURN) {
        if (t->must_cancel) { /* cancelled right before it returned */
            t->must_cancel = false;
            cancel_base(t, t->cancel_msg);
        } else {
            set_result(t, t->result);
        }
    } else {
        yc_exc *e = yc_err_take();
        if (!e) e = yc_exc_new(&yc_RuntimeError, "a task failed without an exception");
        if (yc_exc_is(e, &yc_CancelledError)) {
            yc_exc_unref(t->cancelled_exc);
            t->cancelled_exc = e;
            set_cancel_msg(t, NULL);
            cancel_base(t, NULL);
        } else {
            if ((yc_exc_is(e, &yc_SystemExit) || yc_exc_is(e, &yc_KeyboardInterrupt)) && L &&
                !L->base_exc) {
                L->base_exc = yc_exc_ref(e); /* re-raised out of the loop */
                L->stopping = true;
            }
            set_exception(t, e);
        }
    }
    task_finished(t);
}

/* Task.__step_run_and_handle_result. The status is that of the task
 * that switched back, which is L->current: t, or the last task a direct
 * hand-off (park) passed the turn to. */
STEP_INLINE void step_and_handle(yc_task *t, yc_exc *exc)
{
    yc_loop *L = t->loop;
    int st = run_body(t, exc);
    if (YC_LIKELY(st == PARKED)) return; /* the await registered what wakes it */
    step_end(L->current, st);
}

/* Task.__step. */
STEP_INLINE void task_step(yc_task *t, yc_exc *exc)
{
    if (t->state != FUT_PENDING) {
        yc_exc_unref(exc);
        return;
    }
    if (t->must_cancel) {
        if (!yc_exc_is(exc, &yc_CancelledError)) {
            yc_exc_unref(exc);
            exc = yc__fut_cancelled_error(t);
        }
        t->must_cancel = false;
    }
    yc__unref(t->fut_waiter);
    t->fut_waiter = NULL;
    t->io_turn = 0; /* its descriptor budget: a new turn (io.c) */
    yc_loop *L = t->loop;
    yc_task *prev = L->current;
    L->current = L->handoff = t; /* a handle of run_once steps t */
    step_and_handle(t, exc);
    L->current = prev;
    L->handoff = NULL;
}

/* ---- spawning ------------------------------------------------------- */

/* Names t: a copy of name, or "Task-N" from the process-wide counter
 * (asyncio's; a given name uses no number). Names of up to 15 bytes
 * ("Task-" and 10 digits) live in the task, longer ones in a copy. */
static int set_name(yc_task *t, const char *name)
{
    char deflt[32];
    if (!name) {
        uint64_t n = atomic_fetch_add_explicit(&task_counter, 1, memory_order_relaxed) + 1;
        char digits[24], *d = digits + sizeof digits;
        do *--d = (char)('0' + n % 10);
        while ((n /= 10) != 0);
        size_t k = (size_t)(digits + sizeof digits - d);
        char *p = 5 + k < sizeof t->name_small ? t->name_small : deflt;
        memcpy(p, "Task-", 5);
        memcpy(p + 5, d, k);
        p[5 + k] = '\0';
        if (p == t->name_small) {
            t->name = p;
            return YC_OK;
        }
        name = deflt;
    } else {
        size_t len = strlen(name);
        if (len < sizeof t->name_small) {
            memcpy(t->name_small, name, len + 1);
            t->name = t->name_small;
            return YC_OK;
        }
    }
    if (!(t->name = yc__strdup(name))) return no_memory();
    return YC_OK;
}

yc_task *yc_loop_spawn(yc_loop *L, yc_gen_fn fn, void *arg, const yc_task_opts *opts)
{
    if (!yc__loop_ok(L)) {
        if (!L) yc__fail(YC_EINVAL, &yc_TypeError, "loop is NULL");
        else yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop (freed or corrupted)");
        return NULL;
    }
    if (L->state == LOOP_CLOSED) {
        yc__loop_closed_error();
        return NULL;
    }
    if (!fn) {
        yc__fail(YC_EINVAL, &yc_TypeError, "task function is NULL");
        return NULL;
    }
    unsigned flags = opts ? opts->flags : 0;
    if (flags & ~YC_TASK_EAGER) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_task_opts: unknown flags 0x%x", flags & ~YC_TASK_EAGER);
        return NULL;
    }
    yc_task *t = obj_new(L, KIND_TASK);
    if (!t || set_name(t, opts ? opts->name : NULL) < 0) {
        yc_task_unref(t);
        return NULL;
    }
    size_t stack = opts && opts->stack_size ? opts->stack_size : L->task_stack;
    if (stack && (stack < YC_STACK_MIN || stack > ((size_t)1 << 40))) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_gen_new: stack_size %zu is outside [%u, 2^40]",
                 stack, YC_STACK_MIN); /* the body's, told now rather than at the first step */
        yc_task_unref(t);
        return NULL;
    }
    t->fn = fn;
    t->arg = arg;
    t->stack = stack;
    t->refs = 2; /* the caller's and the loop's (until done) */
    if ((flags & YC_TASK_EAGER) && L->state == LOOP_RUNNING && yc__loop_running() == L) {
        yc_task *prev = L->current; /* 3.12's eager start */
        L->current = t;
        step_and_handle(t, NULL);
        L->current = prev;
    } else {
        schedule_step(t, NULL);
    }
    return t;
}

yc_task *yc_task_spawn(yc_gen_fn fn, void *arg, const yc_task_opts *opts)
{
    yc_loop *L = yc__loop_running();
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    return yc_loop_spawn(L, fn, arg, opts);
}

yc_task *yc_future_new(yc_loop *L)
{
    if (!L) L = yc__loop_running();
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    if (!yc__loop_ok(L)) {
        yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop (freed or corrupted)");
        return NULL;
    }
    if (L->state == LOOP_CLOSED) {
        yc__loop_closed_error();
        return NULL;
    }
    return yc__fut_new(L);
}

/* ---- cancellation --------------------------------------------------- */

/* Task.cancel(msg). */
static bool task_cancel(yc_task *t, yc__msg *msg)
{
    t->log_tb = false;
    if (t->state != FUT_PENDING) return false;
    t->cancels++;
    if (t->fut_waiter && yc__fut_cancel(t->fut_waiter, msg)) return true;
    t->must_cancel = true;
    set_cancel_msg(t, msg);
    return true;
}

bool yc__fut_cancel(yc_task *f, yc__msg *msg)
{
    if (f->kind == KIND_TASK) return task_cancel(f, msg);
    return f->ops && f->ops->on_cancel ? f->ops->on_cancel(f, msg) : cancel_base(f, msg);
}

int yc_task_cancel(yc_task *t, const char *msg)
{
    if (!yc__task_ok(t)) return bad_task(t);
    yc__msg *m = NULL;
    if (msg && t->state == FUT_PENDING) {
        size_t n = strlen(msg);
        if (!(m = yc__malloc(sizeof *m + n + 1))) return no_memory();
        m->refs = 1;
        memcpy(m->s, msg, n + 1);
    }
    bool r = yc__fut_cancel(t, m);
    yc__msg_unref(m);
    return r;
}

/* Takes t off what it waits on (its wakeup unregistered). */
static void detach(yc_task *t)
{
    if (!t->fut_waiter) return;
    yc__fut_remove_fcb(t->fut_waiter, &t->wakeup);
    yc_task_unref(t->fut_waiter);
    t->fut_waiter = NULL;
}

void yc__task_throw(yc_task *t, yc_exc *e)
{
    if (t->state != FUT_PENDING) {
        yc_exc_unref(e);
        return;
    }
    detach(t);
    if (t->step.queued) {
        yc_exc_unref(t->step_exc);
        t->step_exc = e;
    } else {
        schedule_step(t, e);
    }
}

/* The task being destroyed by a closing loop on this thread, if any. */
static __thread yc_task *destroying;

/*
 * The loop is closing with t pending: report it, then close its body: a
 * task that never ran is freed; a parked one is resumed with GeneratorExit
 * (finally blocks run). As when CPython's garbage collector closes a
 * coroutine, no loop runs meanwhile: asyncio calls there fail with "no
 * running event loop", and awaiting something not done raises RuntimeError
 * "coroutine ignored GeneratorExit" (CPython raises it in the closer and
 * leaves the coroutine suspended; a C stack cannot be left so). What
 * escapes other than GeneratorExit is reported. t ends cancelled.
 */
static void destroy_pending(yc_task *t)
{
    char repr[640], text[720];
    yc_task_format(t, repr, sizeof repr);
    snprintf(text, sizeof text, "Task was destroyed but it is pending!\ntask: %s", repr);
    yc__loop_report(NULL, text);
    yc_task_ref(t);
    detach(t);
    if (t->step.queued) t->step.cancelled = true;
    yc_exc_unref(t->step_exc);
    t->step_exc = NULL;
    yc_task *prev = destroying;
    destroying = t; /* as CPython closes it: no running loop, no current task */
    yc_gen *g = t->gen;
    if (yc_gen_state_of(g) == YC_GEN_RUNNING) {
        int st = resume(t, yc_exc_new(&yc_GeneratorExit, NULL));
        yc_exc *e = st == YC_RAISE ? yc_err_take() : NULL;
        if (e && !yc_exc_is(e, &yc_GeneratorExit)) {
            char obj[700];
            snprintf(obj, sizeof obj, "Exception ignored while destroying %s", repr);
            yc__loop_report(e, obj);
        }
        yc_exc_unref(e);
    }
    destroying = prev;
    cancel_base(t, NULL); /* done: dropped callbacks, since the loop closes */
    task_finished(t);     /* yc_gen_free closes a body left at a bare yield */
    yc_task_unref(t);
}

/* The loop's hook at close (loop.h): destroys L's pending tasks, newest
 * first, looking again from the start after each (destroying one may
 * finish others). */
static void close_tasks(yc_loop *L)
{
    for (;;) {
        yc_task *t = L->live;
        while (t && !(t->kind == KIND_TASK && t->state == FUT_PENDING)) t = t->lnext;
        if (!t) break;
        destroy_pending(t);
    }
}

__attribute__((constructor)) static void install_close_hook(void)
{
    yc__loop_close_tasks = close_tasks;
}

/* ---- awaiting ------------------------------------------------------- */

/* Whether coroutine c is in the chain of t (c or a resumer of c is t's). */
static bool in_chain(yc__coro *c, yc_task *t)
{
    if (!t->gen) return false; /* not started */
    for (; c; c = c->resumer)
        if (c == &t->gen->co) return true;
    return false;
}

yc_task *yc__task_running_slow(const char *what)
{
    yc_loop *L = yc__loop_running();
    if (!L) {
        yc__no_loop_error();
        return NULL;
    }
    yc_task *t = L->current;
    if (!t || !t->gen || !in_chain(yc__cur(), t)) {
        yc__fail(YC_EINVAL, &yc_RuntimeError, "%s outside a task", what);
        return NULL;
    }
    return t;
}

/* A task being destroyed must not park: its closer waits for it to end
 * (CPython's close raises RuntimeError in the closer instead). */
static int cannot_park(const yc_task *t)
{
    if (t != destroying) return YC_OK;
    return yc__fail(YC_RAISE, &yc_RuntimeError, "coroutine ignored GeneratorExit");
}

/* Schedules t's next step with the RuntimeError of a task awaiting itself
 * (out of line: its buffer stays out of the await's frame). */
static __attribute__((noinline)) void await_itself(yc_task *t)
{
    char repr[300];
    yc_task_format(t, repr, sizeof repr);
    schedule_step(t, yc_exc_new(&yc_RuntimeError, "Task cannot await on itself: %s", repr));
}

int yc__task_await(yc_task *t, yc_task *f, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (f->state != FUT_PENDING) return yc__fut_result(f, out);
    if (cannot_park(t) < 0) return YC_RAISE;
    if (YC_UNLIKELY(f == t)) {
        await_itself(t);
    } else {
        t->wakeup.fn = task_wakeup;
        t->wakeup.ud = t;
        t->wakeup.flags = FCB_TAKES_FUTURE | FCB_WAKEUP;
        t->wakeup.release = NULL;
        yc__fut_add_fcb(f, &t->wakeup);
        f->refs++;
        t->fut_waiter = f;
        if (t->must_cancel && yc__fut_cancel(f, t->cancel_msg)) t->must_cancel = false;
    }
    park(t);
    yc_exc *e = t->resume_exc;
    t->resume_exc = NULL;
    if (e) {
        yc__err_set(yc__cur(), e);
        return YC_RAISE;
    }
    if (YC_LIKELY(f->state == FUT_FINISHED && !f->exc)) { /* yc__fut_result's result */
        if (out) *out = f->result;
        return YC_OK;
    }
    return yc__fut_result(f, out);
}

int yc__task_yield(yc_task *t)
{
    if (cannot_park(t) < 0) return YC_RAISE;
    schedule_step(t, NULL);
    park(t);
    yc_exc *e = t->resume_exc;
    t->resume_exc = NULL;
    if (!e) return YC_OK;
    yc__err_set(yc__cur(), e);
    return YC_RAISE;
}

/* Raises the pending exception at file:line in the running coroutine, as
 * a raise there (chained to what it handles, as CPython's raise and throw
 * do). */
static YC_NORETURN void raise_pending(const char *file, int line)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, NULL);
}

/* `await f` in a task destroyed by its closing loop (no loop runs): f's
 * result if it is done, else the RuntimeError of a coroutine that would
 * suspend while closed. */
static YC_NORETURN void await_destroyed(yc_task *f, const char *file, int line)
{
    yc_err_clear();
    if (!yc__task_ok(f) || f->state == FUT_PENDING)
        yc__fail(YC_RAISE, &yc_RuntimeError, "coroutine ignored GeneratorExit");
    else
        yc__fut_result(f, NULL);
    raise_pending(file, line);
}

yc_val yc__await(yc_task *f, const char *file, int line)
{
    yc_task *t = yc__task_running("yc_await()");
    if (!t && destroying && in_chain(yc__cur(), destroying)) {
        yc_val v;
        if (yc__task_ok(f) && f->state == FUT_FINISHED && !f->exc) {
            yc_err_clear();
            yc__fut_result(f, &v);
            return v;
        }
        await_destroyed(f, file, line);
    }
    if (!t) raise_pending(file, line);
    if (!yc__task_ok(f)) {
        if (!f) yc__fail(YC_EINVAL, &yc_TypeError, "object NULL can't be used in 'await' expression");
        else bad_task(f);
        raise_pending(file, line);
    }
    if (f->loop != t->loop) {
        char a[300], b[300];
        yc_task_format(t, a, sizeof a);
        yc_task_format(f, b, sizeof b);
        yc__fail(YC_EINVAL, &yc_RuntimeError, "Task %s got Future %s attached to a different loop",
                 a, b);
        raise_pending(file, line);
    }
    yc_val v;
    if (yc__task_await(t, f, &v) < 0) raise_pending(file, line);
    return v;
}
