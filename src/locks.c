/*
 * Synchronisation: asyncio's Lock, Event, Condition, Semaphore,
 * BoundedSemaphore and Barrier (Lib/asyncio/locks.py of 3.13), and their
 * managers for YC_WITH. Each function follows its Python method step for
 * step (the same futures created, awaited, completed and cancelled, in the
 * same order), so tasks wake in the iterations asyncio wakes them in.
 *
 * Python's try/except/finally around an await becomes: await with
 * yc__task_await (a status, never a raise), do what the handlers would do,
 * then hand the status back; the public body-side function raises it at
 * the end. Nothing here jumps while it holds a waiter or a count.
 * sync.h has the waiter lists and the lifetime rules.
 */
#define _GNU_SOURCE
#include "sync.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define LOCK_MAGIC 0x79634c6bu /* "ycLk" */
#define COND_MAGIC 0x7963436eu /* "ycCn" */
#define SEM_MAGIC 0x7963536du  /* "ycSm" */
#define BARRIER_MAGIC 0x79634272u /* "ycBr" */

struct yc_lock {
    uint32_t magic;
    bool locked;
    int busy;         /* tasks inside acquire */
    int conds;        /* conditions over this lock (they borrow it) */
    uint64_t loop_id; /* _LoopBoundMixin */
    yc__waitq waiters;
};

struct yc_condition {
    uint32_t magic;
    int busy;         /* tasks inside wait */
    uint64_t loop_id;
    yc_lock *lock;    /* own_lock, or a borrowed one */
    yc_lock own_lock;
    yc__waitq waiters;
};

struct yc_semaphore {
    uint32_t magic;
    bool bounded;
    long value, bound;
    int busy;
    uint64_t loop_id;
    yc__waitq waiters;
};

enum { B_FILLING, B_DRAINING, B_RESETTING, B_BROKEN };
static const char *const barrier_state_name[] = {"filling", "draining", "resetting", "broken"};

struct yc_barrier {
    uint32_t magic;
    int state;        /* B_* (_BarrierState) */
    long parties, count;
    int busy;         /* tasks inside wait, reset, abort */
    yc_condition cond; /* with a lock of its own */
};

static int no_memory(void) { return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL); }

/* TypeError for NULL, ValueError for what is not a live `what`. */
static int bad_arg(const void *p, const char *what)
{
    if (!p) return yc__fail(YC_EINVAL, &yc_TypeError, "%s is NULL", what);
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live %s (freed or corrupted)", what);
}

static int has_waiters(const char *fn, const char *what)
{
    return yc__fail(YC_EBUSY, &yc_ValueError, "%s: tasks are waiting on the %s", fn, what);
}

static bool is_cancel(const yc_exc *e) { return yc_exc_is(e, &yc_CancelledError); }

/* Error status st2's exception replaces *held (the one in flight, taken
 * from the error indicator; NULL for none), with *held as its context, as
 * an exception raised in a finally block does. Returns the status now in
 * flight. */
static int replace_exc(int st, yc_exc **held, int st2)
{
    if (st2 >= 0) return st;
    yc_exc *e = yc_err_take();
    if (*held) {
        yc__exc_chain(e, *held);
        yc_exc_unref(*held);
    }
    *held = e;
    return st2;
}

/* "<asyncio.locks.NAME object at 0x... [" into b. */
static void repr_head(yc__sbuf *b, const char *name, const void *obj)
{
    yc__sb_printf(b, "<asyncio.locks.%s object at 0x%" PRIxPTR " [", name, (uintptr_t)obj);
}

static int repr_tail(yc__sbuf *b, size_t waiters)
{
    if (waiters) yc__sb_printf(b, ", waiters:%zu", waiters);
    yc__sb_printf(b, "]>");
    return (int)b->len;
}

static int invalid_repr(char *buf, size_t n, const char *what)
{
    return snprintf(buf, n, "<invalid %s>", what);
}

/* ======================================================================
 * Lock
 * ==================================================================== */

static bool lock_ok(const yc_lock *l) { return l && l->magic == LOCK_MAGIC; }

static void lock_init(yc_lock *l)
{
    memset(l, 0, sizeof *l);
    l->magic = LOCK_MAGIC;
}

yc_lock *yc_lock_new(void)
{
    yc_lock *l = yc__malloc(sizeof *l);
    if (!l) {
        no_memory();
        return NULL;
    }
    lock_init(l);
    return l;
}

int yc_lock_free(yc_lock *l)
{
    if (!lock_ok(l)) return bad_arg(l, "lock");
    if (l->busy) return has_waiters("yc_lock_free", "lock");
    if (l->conds)
        return yc__fail(YC_EBUSY, &yc_ValueError, "yc_lock_free: a condition still uses the lock");
    l->magic = 0;
    yc__free(l);
    return YC_OK;
}

static int lock_fmt(const void *l, char *buf, size_t n) { return yc_lock_format(l, buf, n); }

/* Lock._wake_up_first: the first waiter, unless it is woken already. */
static void lock_wake_up_first(yc_lock *l)
{
    yc__waiter *w = l->waiters.head;
    if (w && !yc__sync_done(w->fut)) yc__fut_set_result(w->fut, yc_bool(true));
}

static bool all_cancelled(const yc__waitq *q)
{
    for (const yc__waiter *w = q->head; w; w = w->next)
        if (!yc__sync_cancelled(w->fut)) return false;
    return true;
}

/*
 * Lock.acquire in task t. Fair: a free lock is taken at once only when no
 * waiter is left that is not cancelled. A waiter cancelled after it was
 * woken (the lock free for it) wakes the next one. Status; never raises.
 */
static int lock_acquire(yc_lock *l, yc_task *t)
{
    if (!l->locked && all_cancelled(&l->waiters)) {
        l->locked = true;
        return YC_OK;
    }
    yc__waiter w;
    int st = yc__sync_bind(&l->loop_id, t->loop, l, lock_fmt);
    if (st == YC_OK) st = yc__sync_waiter(&l->waiters, &w, t);
    if (st < 0) return st;
    l->busy++;
    st = yc__task_await(t, w.fut, NULL);
    yc__wq_remove(&l->waiters, &w);
    l->busy--;
    yc__unref(w.fut);
    if (st < 0) {
        if (is_cancel(yc_err_get()) && !l->locked) lock_wake_up_first(l);
        return st;
    }
    l->locked = true;
    return YC_OK;
}

static int lock_release(yc_lock *l)
{
    if (!l->locked) return yc__fail(YC_EINVAL, &yc_RuntimeError, "Lock is not acquired.");
    l->locked = false;
    lock_wake_up_first(l);
    return YC_OK;
}

void yc__lock_acquire(yc_lock *l, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running("yc_lock_acquire()");
    int st = !t ? YC_EINVAL : !lock_ok(l) ? bad_arg(l, "lock") : lock_acquire(l, t);
    if (st < 0) yc__sync_raise(file, line, func);
}

int yc_lock_release(yc_lock *l)
{
    if (!lock_ok(l)) return bad_arg(l, "lock");
    return lock_release(l);
}

bool yc_lock_locked(const yc_lock *l) { return lock_ok(l) && l->locked; }

int yc_lock_format(const yc_lock *l, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!lock_ok(l)) return invalid_repr(buf, n, "lock");
    yc__sbuf b = {buf, n, 0};
    repr_head(&b, "Lock", l);
    yc__sb_printf(&b, "%s", l->locked ? "locked" : "unlocked");
    return repr_tail(&b, l->waiters.n);
}

/* ======================================================================
 * Event
 * ==================================================================== */

static bool event_ok(const yc_event *e) { return e && e->magic == YC__EVENT_MAGIC; }

void yc__event_init(yc_event *e)
{
    memset(e, 0, sizeof *e);
    e->magic = YC__EVENT_MAGIC;
}

yc_event *yc_event_new(void)
{
    yc_event *e = yc__malloc(sizeof *e);
    if (!e) {
        no_memory();
        return NULL;
    }
    yc__event_init(e);
    return e;
}

int yc_event_free(yc_event *e)
{
    if (!event_ok(e)) return bad_arg(e, "event");
    if (e->busy) return has_waiters("yc_event_free", "event");
    e->magic = 0;
    yc__free(e);
    return YC_OK;
}

static int event_fmt(const void *e, char *buf, size_t n) { return yc_event_format(e, buf, n); }

/* Event.set: every waiter not woken yet is woken (they stay in the list
 * until each runs and removes itself). */
void yc__event_set(yc_event *e)
{
    if (e->value) return;
    e->value = true;
    for (yc__waiter *w = e->waiters.head; w; w = w->next)
        if (!yc__sync_done(w->fut)) yc__fut_set_result(w->fut, yc_bool(true));
}

int yc_event_set(yc_event *e)
{
    if (!event_ok(e)) return bad_arg(e, "event");
    yc__event_set(e);
    return YC_OK;
}

int yc_event_clear(yc_event *e)
{
    if (!event_ok(e)) return bad_arg(e, "event");
    e->value = false;
    return YC_OK;
}

bool yc_event_is_set(const yc_event *e) { return event_ok(e) && e->value; }

int yc__event_wait(yc_event *e, yc_task *t)
{
    if (e->value) return YC_OK;
    yc__waiter w;
    int st = yc__sync_bind(&e->loop_id, t->loop, e, event_fmt);
    if (st == YC_OK) st = yc__sync_waiter(&e->waiters, &w, t);
    if (st < 0) return st;
    e->busy++;
    st = yc__task_await(t, w.fut, NULL);
    yc__wq_remove(&e->waiters, &w);
    e->busy--;
    yc__unref(w.fut);
    return st;
}

void yc__event_wait_at(yc_event *e, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running("yc_event_wait()");
    int st = !t ? YC_EINVAL : !event_ok(e) ? bad_arg(e, "event") : yc__event_wait(e, t);
    if (st < 0) yc__sync_raise(file, line, func);
}

int yc_event_format(const yc_event *e, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!event_ok(e)) return invalid_repr(buf, n, "event");
    yc__sbuf b = {buf, n, 0};
    repr_head(&b, "Event", e);
    yc__sb_printf(&b, "%s", e->value ? "set" : "unset");
    return repr_tail(&b, e->waiters.n);
}

/* ======================================================================
 * Condition
 * ==================================================================== */

static bool cond_ok(const yc_condition *c) { return c && c->magic == COND_MAGIC; }

/* Over l (borrowed, counted), or a lock of its own when l is NULL. */
static void cond_init(yc_condition *c, yc_lock *l)
{
    memset(c, 0, sizeof *c);
    c->magic = COND_MAGIC;
    if (l) {
        c->lock = l;
        l->conds++;
    } else {
        lock_init(&c->own_lock);
        c->lock = &c->own_lock;
    }
}

/* Nothing may touch c any more: no task inside wait or inside an acquire
 * of its own lock. */
static bool cond_idle(const yc_condition *c) { return !c->busy && !c->own_lock.busy; }

static void cond_fini(yc_condition *c)
{
    if (c->lock != &c->own_lock) c->lock->conds--;
    c->magic = 0;
    c->own_lock.magic = 0;
}

yc_condition *yc_condition_new(yc_lock *l)
{
    if (l && !lock_ok(l)) {
        bad_arg(l, "lock");
        return NULL;
    }
    yc_condition *c = yc__malloc(sizeof *c);
    if (!c) {
        no_memory();
        return NULL;
    }
    cond_init(c, l);
    return c;
}

int yc_condition_free(yc_condition *c)
{
    if (!cond_ok(c)) return bad_arg(c, "condition");
    if (!cond_idle(c)) return has_waiters("yc_condition_free", "condition");
    cond_fini(c);
    yc__free(c);
    return YC_OK;
}

static int cond_fmt(const void *c, char *buf, size_t n) { return yc_condition_format(c, buf, n); }

/* Condition._notify: wakes the first n waiters not woken yet. */
static void cond_notify_n(yc_condition *c, size_t n)
{
    size_t idx = 0;
    for (yc__waiter *w = c->waiters.head; w && idx < n; w = w->next) {
        if (!yc__sync_done(w->fut)) {
            idx++;
            yc__fut_set_result(w->fut, yc_bool(false));
        }
    }
}

static int cond_notify(yc_condition *c, size_t n)
{
    if (!c->lock->locked)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "cannot notify on un-acquired lock");
    cond_notify_n(c, n);
    return YC_OK;
}

static int cond_notify_all(yc_condition *c) { return cond_notify(c, c->waiters.n); }

/*
 * Condition.wait in task t: releases the lock, waits to be notified, then
 * takes the lock back whatever happened, retrying while the retry is
 * cancelled (the last CancelledError then goes on instead). On any error
 * one other waiter is notified in our place: we may have been notified
 * already. Returns YC_OK (notified; the lock held again) or negative with
 * the exception pending.
 */
static int cond_wait(yc_condition *c, yc_task *t)
{
    if (!c->lock->locked)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "cannot wait on un-acquired lock");
    yc__waiter w;
    int st = yc__sync_bind(&c->loop_id, t->loop, c, cond_fmt);
    yc_task *fut = st == YC_OK ? yc__fut_new(t->loop) : NULL;
    if (!fut) return st < 0 ? st : YC_ENOMEM;
    lock_release(c->lock); /* cannot fail: locked */
    c->busy++;
    yc__wq_push(&c->waiters, &w, fut);
    st = yc__task_await(t, fut, NULL);
    yc__wq_remove(&c->waiters, &w);
    yc_task_unref(fut);
    /* finally: the lock back, even when cancelled */
    yc_exc *held = st < 0 ? yc_err_take() : NULL;
    yc_exc *err = NULL;
    for (;;) {
        int st2 = lock_acquire(c->lock, t);
        if (st2 == YC_OK) break;
        if (is_cancel(yc_err_get())) {
            yc_exc_unref(err);
            err = yc_err_take();
            continue;
        }
        yc_exc_unref(err); /* anything else goes on from the finally */
        err = NULL;
        st = replace_exc(st, &held, st2);
        break;
    }
    if (err) { /* re-raise the latest CancelledError */
        yc__err_set(yc__cur(), err);
        st = replace_exc(st, &held, YC_RAISE);
    }
    c->busy--;
    if (st < 0) {
        cond_notify_n(c, 1);
        yc__err_set(yc__cur(), held);
    }
    return st;
}

/* Condition.wait_for: pred (C, may raise: nothing is held around it). */
static int cond_wait_for(yc_condition *c, yc_task *t, bool (*pred)(void *ud), void *ud)
{
    while (!pred(ud)) {
        int st = cond_wait(c, t);
        if (st < 0) return st;
    }
    return YC_OK;
}

void yc__condition_acquire(yc_condition *c, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running("yc_condition_acquire()");
    int st = !t ? YC_EINVAL : !cond_ok(c) ? bad_arg(c, "condition") : lock_acquire(c->lock, t);
    if (st < 0) yc__sync_raise(file, line, func);
}

int yc_condition_release(yc_condition *c)
{
    if (!cond_ok(c)) return bad_arg(c, "condition");
    return lock_release(c->lock);
}

bool yc_condition_locked(const yc_condition *c) { return cond_ok(c) && c->lock->locked; }

void yc__condition_wait(yc_condition *c, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running("yc_condition_wait()");
    int st = !t ? YC_EINVAL : !cond_ok(c) ? bad_arg(c, "condition") : cond_wait(c, t);
    if (st < 0) yc__sync_raise(file, line, func);
}

bool yc__condition_wait_for(yc_condition *c, bool (*pred)(void *ud), void *ud, const char *file,
                            int line, const char *func)
{
    yc_task *t = yc__task_running("yc_condition_wait_for()");
    int st = !t ? YC_EINVAL : !cond_ok(c) ? bad_arg(c, "condition") : YC_OK;
    if (st == YC_OK && !pred) st = yc__fail(YC_EINVAL, &yc_TypeError, "predicate is NULL");
    if (st == YC_OK) st = cond_wait_for(c, t, pred, ud);
    if (st < 0) yc__sync_raise(file, line, func);
    return true;
}

int yc_condition_notify(yc_condition *c, size_t n)
{
    if (!cond_ok(c)) return bad_arg(c, "condition");
    return cond_notify(c, n);
}

int yc_condition_notify_all(yc_condition *c)
{
    if (!cond_ok(c)) return bad_arg(c, "condition");
    return cond_notify_all(c);
}

int yc_condition_format(const yc_condition *c, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!cond_ok(c)) return invalid_repr(buf, n, "condition");
    yc__sbuf b = {buf, n, 0};
    repr_head(&b, "Condition", c);
    yc__sb_printf(&b, "%s", c->lock->locked ? "locked" : "unlocked");
    return repr_tail(&b, c->waiters.n);
}

/* ======================================================================
 * Semaphore, BoundedSemaphore
 * ==================================================================== */

static bool sem_ok(const yc_semaphore *s) { return s && s->magic == SEM_MAGIC; }

yc_semaphore *yc_semaphore_new(long value, bool bounded)
{
    if (value < 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "Semaphore initial value must be >= 0");
        return NULL;
    }
    yc_semaphore *s = yc__malloc(sizeof *s);
    if (!s) {
        no_memory();
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->magic = SEM_MAGIC;
    s->bounded = bounded;
    s->value = s->bound = value;
    return s;
}

int yc_semaphore_free(yc_semaphore *s)
{
    if (!sem_ok(s)) return bad_arg(s, "semaphore");
    if (s->busy) return has_waiters("yc_semaphore_free", "semaphore");
    s->magic = 0;
    yc__free(s);
    return YC_OK;
}

static int sem_fmt(const void *s, char *buf, size_t n) { return yc_semaphore_format(s, buf, n); }

/* Semaphore.locked: no slot, or someone not cancelled waits first (FIFO). */
static bool sem_locked(const yc_semaphore *s)
{
    return s->value == 0 || !all_cancelled(&s->waiters);
}

/* Semaphore._wake_up_next: grants a slot to the first waiter not woken. */
static bool sem_wake_up_next(yc_semaphore *s)
{
    for (yc__waiter *w = s->waiters.head; w; w = w->next) {
        if (!yc__sync_done(w->fut)) {
            s->value--;
            yc__fut_set_result(w->fut, yc_bool(true));
            return true;
        }
    }
    return false;
}

/*
 * Semaphore.acquire in task t. A waiter granted a slot and cancelled before
 * it ran gives the slot back; whatever happened, as many waiters as there
 * are slots are woken on the way out.
 */
static int sem_acquire(yc_semaphore *s, yc_task *t)
{
    if (!sem_locked(s)) {
        s->value--;
        return YC_OK;
    }
    yc__waiter w;
    int st = yc__sync_bind(&s->loop_id, t->loop, s, sem_fmt);
    if (st == YC_OK) st = yc__sync_waiter(&s->waiters, &w, t);
    if (st < 0) return st;
    s->busy++;
    st = yc__task_await(t, w.fut, NULL);
    yc__wq_remove(&s->waiters, &w);
    if (st < 0 && is_cancel(yc_err_get()) && yc__sync_done(w.fut) && !yc__sync_cancelled(w.fut))
        s->value++;
    while (s->value > 0 && sem_wake_up_next(s)) {}
    s->busy--;
    yc__unref(w.fut);
    return st;
}

void yc__semaphore_acquire(yc_semaphore *s, const char *file, int line, const char *func)
{
    yc_task *t = yc__task_running("yc_semaphore_acquire()");
    int st = !t ? YC_EINVAL : !sem_ok(s) ? bad_arg(s, "semaphore") : sem_acquire(s, t);
    if (st < 0) yc__sync_raise(file, line, func);
}

static int sem_release(yc_semaphore *s)
{
    if (s->bounded && s->value >= s->bound)
        return yc__fail(YC_EINVAL, &yc_ValueError, "BoundedSemaphore released too many times");
    if (s->value == LONG_MAX) /* Python's int would grow */
        return yc__fail(YC_EINVAL, &yc_OverflowError, "Semaphore value would exceed LONG_MAX");
    s->value++;
    sem_wake_up_next(s);
    return YC_OK;
}

int yc_semaphore_release(yc_semaphore *s)
{
    if (!sem_ok(s)) return bad_arg(s, "semaphore");
    return sem_release(s);
}

bool yc_semaphore_locked(const yc_semaphore *s) { return sem_ok(s) && sem_locked(s); }
long yc_semaphore_value(const yc_semaphore *s) { return sem_ok(s) ? s->value : 0; }

int yc_semaphore_format(const yc_semaphore *s, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!sem_ok(s)) return invalid_repr(buf, n, "semaphore");
    yc__sbuf b = {buf, n, 0};
    repr_head(&b, s->bounded ? "BoundedSemaphore" : "Semaphore", s);
    if (sem_locked(s)) yc__sb_printf(&b, "locked");
    else yc__sb_printf(&b, "unlocked, value:%ld", s->value);
    return repr_tail(&b, s->waiters.n);
}

/* ======================================================================
 * Barrier
 * ==================================================================== */

static bool barrier_ok(const yc_barrier *b) { return b && b->magic == BARRIER_MAGIC; }

yc_barrier *yc_barrier_new(long parties)
{
    if (parties < 1) {
        yc__fail(YC_EINVAL, &yc_ValueError, "parties must be > 0");
        return NULL;
    }
    yc_barrier *b = yc__malloc(sizeof *b);
    if (!b) {
        no_memory();
        return NULL;
    }
    memset(b, 0, sizeof *b);
    b->magic = BARRIER_MAGIC;
    b->parties = parties;
    b->state = B_FILLING;
    cond_init(&b->cond, NULL);
    return b;
}

int yc_barrier_free(yc_barrier *b)
{
    if (!barrier_ok(b)) return bad_arg(b, "barrier");
    if (b->busy || !cond_idle(&b->cond)) return has_waiters("yc_barrier_free", "barrier");
    cond_fini(&b->cond);
    b->magic = 0;
    yc__free(b);
    return YC_OK;
}

static bool not_draining(void *p)
{
    const yc_barrier *b = p;
    return b->state != B_DRAINING && b->state != B_RESETTING;
}

static bool not_filling(void *p) { return ((const yc_barrier *)p)->state != B_FILLING; }

/* Barrier._exit: the last task out ends draining or resetting. */
static int barrier_exit(yc_barrier *b)
{
    if (b->count != 0) return YC_OK;
    if (b->state == B_RESETTING || b->state == B_DRAINING) b->state = B_FILLING;
    return cond_notify_all(&b->cond);
}

/* The body of Barrier.wait, under the condition's lock: *index set. */
static int barrier_wait_locked(yc_barrier *b, yc_task *t, long *index)
{
    int st = cond_wait_for(&b->cond, t, not_draining, b); /* _block */
    if (st == YC_OK && b->state == B_BROKEN)
        st = yc__fail(YC_RAISE, &yc_BrokenBarrierError, "Barrier aborted");
    if (st < 0) return st;
    long idx = b->count++;
    if (idx + 1 == b->parties) { /* _release */
        b->state = B_DRAINING;
        st = cond_notify_all(&b->cond);
    } else { /* _wait */
        st = cond_wait_for(&b->cond, t, not_filling, b);
        if (st == YC_OK && (b->state == B_BROKEN || b->state == B_RESETTING))
            st = yc__fail(YC_RAISE, &yc_BrokenBarrierError, "Abort or reset of barrier");
    }
    *index = idx;
    /* finally */
    yc_exc *held = st < 0 ? yc_err_take() : NULL;
    b->count--;
    st = replace_exc(st, &held, barrier_exit(b));
    if (held) yc__err_set(yc__cur(), held);
    return st;
}

/* `async with self._cond:` around op: the lock taken, op, the lock
 * released whatever op did (a failing release replaces its exception). */
static int barrier_locked(yc_barrier *b, yc_task *t, int op, long *index)
{
    int st = lock_acquire(b->cond.lock, t);
    if (st < 0) return st;
    switch (op) {
    case 0:
        st = barrier_wait_locked(b, t, index);
        break;
    case 1: /* reset */
        if (b->count > 0) {
            if (b->state != B_RESETTING) b->state = B_RESETTING;
        } else {
            b->state = B_FILLING;
        }
        st = cond_notify_all(&b->cond);
        break;
    default: /* abort */
        b->state = B_BROKEN;
        st = cond_notify_all(&b->cond);
        break;
    }
    yc_exc *held = st < 0 ? yc_err_take() : NULL;
    st = replace_exc(st, &held, lock_release(b->cond.lock));
    if (held) yc__err_set(yc__cur(), held);
    return st;
}

static int barrier_op(yc_barrier *b, int op, long *index, const char *what)
{
    yc_task *t = yc__task_running(what);
    if (!t) return YC_EINVAL;
    if (!barrier_ok(b)) return bad_arg(b, "barrier");
    b->busy++;
    int st = barrier_locked(b, t, op, index);
    b->busy--;
    return st;
}

long yc__barrier_wait(yc_barrier *b, const char *file, int line, const char *func)
{
    long index = -1;
    if (barrier_op(b, 0, &index, "yc_barrier_wait()") < 0)
        yc__sync_raise(file, line, func);
    return index;
}

void yc__barrier_reset(yc_barrier *b, const char *file, int line, const char *func)
{
    if (barrier_op(b, 1, NULL, "yc_barrier_reset()") < 0)
        yc__sync_raise(file, line, func);
}

void yc__barrier_abort(yc_barrier *b, const char *file, int line, const char *func)
{
    if (barrier_op(b, 2, NULL, "yc_barrier_abort()") < 0)
        yc__sync_raise(file, line, func);
}

long yc_barrier_parties(const yc_barrier *b) { return barrier_ok(b) ? b->parties : 0; }

long yc_barrier_n_waiting(const yc_barrier *b)
{
    return barrier_ok(b) && b->state == B_FILLING ? b->count : 0;
}

bool yc_barrier_broken(const yc_barrier *b) { return barrier_ok(b) && b->state == B_BROKEN; }

int yc_barrier_format(const yc_barrier *b, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!barrier_ok(b)) return invalid_repr(buf, n, "barrier");
    yc__sbuf bf = {buf, n, 0};
    repr_head(&bf, "Barrier", b);
    yc__sb_printf(&bf, "%s", barrier_state_name[b->state]);
    if (b->state != B_BROKEN)
        yc__sb_printf(&bf, ", waiters:%ld/%ld", yc_barrier_n_waiting(b), b->parties);
    return repr_tail(&bf, 0);
}

/* ======================================================================
 * Managers: acquire at enter (may suspend: YC_WITH runs in a task),
 * release at exit; the barrier's enter waits and binds the index.
 * ==================================================================== */

typedef struct sync_cm {
    yc_cm cm; /* first: the manager YC_WITH takes */
    void *obj; /* borrowed */
} sync_cm;

static void sync_cm_free(yc_cm *cm) { yc__free(cm); }

/* A manager's enter that waited and failed: its exception was thrown in at
 * that await (a cancellation), and YC_WITH raises an enter's failure as it
 * is, so it is chained here as a throw at the await is (CPython: the
 * exception handled by the frame of the async with). Returns st. */
static int cm_enter_failed(int st)
{
    if (st < 0) yc__exc_chain(yc_err_get(), yc__handled(yc__cur()));
    return st;
}

static int lock_cm_enter(yc_cm *cm, yc_val *out)
{
    *out = YC_NONE;
    yc_task *t = yc__task_running("yc_lock_acquire()");
    yc_lock *l = ((sync_cm *)cm)->obj;
    return !t ? YC_EINVAL : !lock_ok(l) ? bad_arg(l, "lock") : cm_enter_failed(lock_acquire(l, t));
}

static int lock_cm_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    yc_lock *l = ((sync_cm *)cm)->obj;
    int st = lock_ok(l) ? lock_release(l) : bad_arg(l, "lock");
    return st < 0 ? st : YC_EXIT_PROPAGATE;
}

static int cond_cm_enter(yc_cm *cm, yc_val *out)
{
    *out = YC_NONE;
    yc_task *t = yc__task_running("yc_condition_acquire()");
    yc_condition *c = ((sync_cm *)cm)->obj;
    return !t ? YC_EINVAL : !cond_ok(c) ? bad_arg(c, "condition")
                          : cm_enter_failed(lock_acquire(c->lock, t));
}

static int cond_cm_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    yc_condition *c = ((sync_cm *)cm)->obj;
    int st = cond_ok(c) ? lock_release(c->lock) : bad_arg(c, "condition");
    return st < 0 ? st : YC_EXIT_PROPAGATE;
}

static int sem_cm_enter(yc_cm *cm, yc_val *out)
{
    *out = YC_NONE;
    yc_task *t = yc__task_running("yc_semaphore_acquire()");
    yc_semaphore *s = ((sync_cm *)cm)->obj;
    return !t ? YC_EINVAL : !sem_ok(s) ? bad_arg(s, "semaphore") : cm_enter_failed(sem_acquire(s, t));
}

static int sem_cm_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    yc_semaphore *s = ((sync_cm *)cm)->obj;
    int st = sem_ok(s) ? sem_release(s) : bad_arg(s, "semaphore");
    return st < 0 ? st : YC_EXIT_PROPAGATE;
}

static int barrier_cm_enter(yc_cm *cm, yc_val *out)
{
    long index = -1;
    int st = barrier_op(((sync_cm *)cm)->obj, 0, &index, "yc_barrier_wait()");
    *out = st < 0 ? YC_NONE : yc_int(index);
    return st;
}

static int barrier_cm_exit(yc_cm *cm, yc_exc *e)
{
    (void)cm;
    (void)e;
    return YC_EXIT_PROPAGATE;
}

static const yc_cm_type lock_cm_type = {
    .name = "Lock", .enter = lock_cm_enter, .exit = lock_cm_exit, .free = sync_cm_free};
static const yc_cm_type cond_cm_type = {
    .name = "Condition", .enter = cond_cm_enter, .exit = cond_cm_exit, .free = sync_cm_free};
static const yc_cm_type sem_cm_type = {
    .name = "Semaphore", .enter = sem_cm_enter, .exit = sem_cm_exit, .free = sync_cm_free};
static const yc_cm_type barrier_cm_type = {
    .name = "Barrier", .enter = barrier_cm_enter, .exit = barrier_cm_exit, .free = sync_cm_free};

static yc_cm *sync_cm_new(const yc_cm_type *type, void *obj, bool ok, const char *what)
{
    if (!ok) {
        bad_arg(obj, what);
        return NULL;
    }
    sync_cm *m = yc__malloc(sizeof *m);
    if (!m) {
        no_memory();
        return NULL;
    }
    m->cm.type = type;
    m->obj = obj;
    return &m->cm;
}

yc_cm *yc_cm_lock(yc_lock *l) { return sync_cm_new(&lock_cm_type, l, lock_ok(l), "lock"); }

yc_cm *yc_cm_condition(yc_condition *c)
{
    return sync_cm_new(&cond_cm_type, c, cond_ok(c), "condition");
}

yc_cm *yc_cm_semaphore(yc_semaphore *s)
{
    return sync_cm_new(&sem_cm_type, s, sem_ok(s), "semaphore");
}

yc_cm *yc_cm_barrier(yc_barrier *b)
{
    return sync_cm_new(&barrier_cm_type, b, barrier_ok(b), "barrier");
}
