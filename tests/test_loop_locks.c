/* Synchronisation (yieldc/loop.h: asyncio.Lock, Event, Condition,
 * Semaphore, BoundedSemaphore, Barrier and their managers):
 * python-semantics.md 12.44-12.50, and the interleavings of waiters,
 * cancellation at every suspension point and the managers, each asserting
 * the trace CPython 3.13 prints for the same scenario
 * (tests/loop_sync_oracle.py, scenario of the same name). Every scenario
 * runs as tasks under yc_loop_run on the virtual clock; the harness checks
 * that no task, exception or generator is left. */
#include "loop_sync_util.h"

#include <limits.h>
#include <math.h>

static yc_lock *L;
static yc_event *E;
static yc_condition *C;
static yc_semaphore *S;
static yc_barrier *B;

static const char *tf(bool b) { return b ? "True" : "False"; }

static const char *lock_tail(void)
{
    static char buf[256];
    yc_lock_format(L, buf, sizeof buf);
    return bracket_tail(buf);
}

static const char *event_tail(void)
{
    static char buf[256];
    yc_event_format(E, buf, sizeof buf);
    return bracket_tail(buf);
}

static const char *cond_tail(void)
{
    static char buf[256];
    yc_condition_format(C, buf, sizeof buf);
    return bracket_tail(buf);
}

static const char *sem_tail(void)
{
    static char buf[256];
    yc_semaphore_format(S, buf, sizeof buf);
    return bracket_tail(buf);
}

static const char *barrier_tail(void)
{
    static char buf[256];
    yc_barrier_format(B, buf, sizeof buf);
    return bracket_tail(buf);
}

/* ======================================================================
 * Lock
 * ==================================================================== */

/* [12.44] RuntimeError "Lock is not acquired." */
TEST(lock_release_unlocked_12_44)
{
    L = yc_lock_new();
    CHECK(!yc_lock_locked(L));
    CHECK_ST(yc_lock_release(L), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Lock is not acquired.");
    CHECK(!yc_lock_locked(L));
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* [12.45] fairness: the waiters take the lock in arrival order [0, 1, 2],
 * and one arriving after the release queues behind them. */
static yc_val fair_worker(void *arg)
{
    int i = ARGI(arg);
    YC_WITH(yc_cm_lock(L), _) {
        tr("a%d", i);
        yc_sleep(0);
        tr("r%d", i);
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val fairness_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *ts[4];
    for (int i = 0; i < 3; i++) ts[i] = spawn(fair_worker, IARG(i));
    yc_sleep(0);
    tr("%s", lock_tail());
    CHECK_ST(yc_lock_release(L), YC_OK);
    ts[3] = spawn(fair_worker, IARG(3));
    yc_gather(ts, 4, 0);
    for (int i = 0; i < 4; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(lock_fairness_12_45)
{
    L = yc_lock_new();
    run_main(fairness_main, NULL);
    CHECK_STR(trace, "locked, waiters:3]> a0 r0 a1 r1 a2 r2 a3 r3");
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* acquire: a<i>, then releases after one iteration; c<i> when cancelled. */
static yc_val lock_waiter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_lock_acquire(L);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    tr("a%d", i);
    yc_sleep(0);
    CHECK_ST(yc_lock_release(L), YC_OK);
    return YC_NONE;
}

/* The waiter the release woke is cancelled before it runs: it passes the
 * lock on to the next. */
static yc_val lock_woken_cancelled_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(lock_waiter, IARG(i));
    yc_sleep(0);
    CHECK_ST(yc_lock_release(L), YC_OK);
    yc_task_cancel(ts[0], NULL);
    gather_unref(ts, 3);
    tr("locked=%s", tf(yc_lock_locked(L)));
    return YC_NONE;
}

TEST(lock_woken_then_cancelled)
{
    L = yc_lock_new();
    run_main(lock_woken_cancelled_main, NULL);
    CHECK_STR(trace, "c0 a1 a2 locked=False");
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* Every waiter cancelled: a newcomer takes the free lock at once. */
static yc_val lock_waiter_once(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_lock_acquire(L);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    tr("a%d", i);
    CHECK_ST(yc_lock_release(L), YC_OK);
    return YC_NONE;
}

static yc_val lock_jumped_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *t = spawn(lock_waiter_once, IARG(0));
    yc_sleep(0);
    yc_task_cancel(t, NULL);
    CHECK_ST(yc_lock_release(L), YC_OK);
    tr("%s", lock_tail());
    yc_lock_acquire(L);
    tr("main");
    CHECK_ST(yc_lock_release(L), YC_OK);
    gather_unref(&t, 1);
    return YC_NONE;
}

TEST(lock_cancelled_waiter_jumped)
{
    L = yc_lock_new();
    run_main(lock_jumped_main, NULL);
    CHECK_STR(trace, "unlocked, waiters:1]> main c0");
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* ======================================================================
 * Event
 * ==================================================================== */

static yc_val event_waiter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_event_wait(E);
        tr("w%d", i);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val event_main(void *arg)
{
    (void)arg;
    yc_task *ts[4];
    for (int i = 0; i < 4; i++) ts[i] = spawn(event_waiter, IARG(i));
    yc_sleep(0);
    yc_task_cancel(ts[1], NULL);
    tr("%s", event_tail());
    CHECK_ST(yc_event_set(E), YC_OK);
    CHECK_ST(yc_event_clear(E), YC_OK);
    tr("%s", event_tail());
    gather_unref(ts, 4);
    tr("%s", event_tail());
    return YC_NONE;
}

TEST(event_set_wakes_all)
{
    E = yc_event_new();
    run_main(event_main, NULL);
    CHECK_STR(trace, "unset, waiters:4]> unset, waiters:4]> c1 w0 w2 w3 unset]>");
    CHECK_ST(yc_event_free(E), YC_OK);
}

/* [12.50] Event's repr; a set event does not wait. */
static yc_val event_set_main(void *arg)
{
    (void)arg;
    yc_event_wait(E);
    tr("no wait");
    return YC_NONE;
}

TEST(event_repr_and_set_12_50)
{
    char buf[128], want[128];
    E = yc_event_new();
    CHECK(!yc_event_is_set(E));
    yc_event_format(E, buf, sizeof buf);
    snprintf(want, sizeof want, "<asyncio.locks.Event object at 0x%" PRIxPTR " [unset]>",
             (uintptr_t)E);
    CHECK_STR(buf, want);
    CHECK_ST(yc_event_set(E), YC_OK);
    CHECK(yc_event_is_set(E));
    CHECK_ST(yc_event_set(E), YC_OK); /* twice: no change */
    yc_event_format(E, buf, sizeof buf);
    snprintf(want, sizeof want, "<asyncio.locks.Event object at 0x%" PRIxPTR " [set]>",
             (uintptr_t)E);
    CHECK_STR(buf, want);
    run_main(event_set_main, NULL);
    CHECK_STR(trace, "no wait");
    CHECK_ST(yc_event_free(E), YC_OK);
}

/* ======================================================================
 * Condition
 * ==================================================================== */

/* [12.48] wait and notify without the lock. */
static yc_val cond_unlocked_main(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_condition_wait(C);
    } YC_EXCEPT(&yc_RuntimeError) {
        tr("%s", caught_text());
    } YC_END;
    YC_TRY {
        yc_condition_wait_for(C, NULL, NULL);
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", caught_text());
    } YC_END;
    return YC_NONE;
}

TEST(condition_without_the_lock_12_48)
{
    C = yc_condition_new(NULL);
    CHECK_ST(yc_condition_notify(C, 1), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: cannot notify on un-acquired lock");
    CHECK_ST(yc_condition_notify_all(C), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: cannot notify on un-acquired lock");
    CHECK_ST(yc_condition_release(C), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Lock is not acquired.");
    run_main(cond_unlocked_main, NULL);
    CHECK_STR(trace, "RuntimeError: cannot wait on un-acquired lock TypeError: predicate is NULL");
    CHECK(!yc_condition_locked(C));
    CHECK_ST(yc_condition_free(C), YC_OK);
}

static yc_val cond_waiter(void *arg)
{
    int i = ARGI(arg);
    YC_WITH(yc_cm_condition(C), _) {
        yc_condition_wait(C);
        tr("w%d", i);
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val cond_notify_main(void *arg)
{
    (void)arg;
    yc_task *ts[4];
    for (int i = 0; i < 4; i++) ts[i] = spawn(cond_waiter, IARG(i));
    yc_sleep(0);
    YC_WITH(yc_cm_condition(C), _) {
        tr("%s", cond_tail());
        CHECK_ST(yc_condition_notify(C, 2), YC_OK);
        tr("%s", cond_tail());
    } YC_END_WITH;
    yc_sleep(0);
    tr("|");
    YC_WITH(yc_cm_condition(C), _) {
        CHECK_ST(yc_condition_notify_all(C), YC_OK);
    } YC_END_WITH;
    yc_gather(ts, 4, 0);
    for (int i = 0; i < 4; i++) yc_task_unref(ts[i]);
    tr("%s", cond_tail());
    return YC_NONE;
}

TEST(condition_notify_order)
{
    C = yc_condition_new(NULL);
    run_main(cond_notify_main, NULL);
    CHECK_STR(trace, "locked, waiters:4]> locked, waiters:4]> w0 w1 | w2 w3 unlocked]>");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* A notified waiter cancelled before it runs takes the lock back, then
 * notifies another in its place. */
static yc_val cond_waiter_c(void *arg)
{
    int i = ARGI(arg);
    YC_WITH(yc_cm_condition(C), _) {
        YC_TRY {
            yc_condition_wait(C);
            tr("w%d", i);
        } YC_EXCEPT(&yc_CancelledError) {
            tr("c%d:%s", i, tf(yc_condition_locked(C)));
            yc_reraise();
        } YC_END;
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val cond_notified_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(cond_waiter_c, IARG(i));
    yc_sleep(0);
    YC_WITH(yc_cm_condition(C), _) {
        CHECK_ST(yc_condition_notify(C, 1), YC_OK);
    } YC_END_WITH;
    yc_task_cancel(ts[0], NULL);
    yc_gather(ts, 2, YC_RETURN_EXCEPTIONS);
    tr("%s", cond_tail());
    yc_task_cancel(ts[2], NULL);
    gather_unref(ts, 3);
    return YC_NONE;
}

TEST(condition_notified_then_cancelled)
{
    C = yc_condition_new(NULL);
    run_main(cond_notified_cancelled_main, NULL);
    CHECK_STR(trace, "c0:True w1 unlocked, waiters:1]> c2:True");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* A waiter cancelled without being notified still notifies another on its
 * way out (asyncio's spurious wakeup: it may have been notified). */
static yc_val cond_cancelled_notifies_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(cond_waiter_c, IARG(i));
    yc_sleep(0);
    yc_task_cancel(ts[0], NULL);
    yc_gather(ts, 2, YC_RETURN_EXCEPTIONS);
    tr("%s", cond_tail());
    yc_task_cancel(ts[2], NULL);
    gather_unref(ts, 3);
    return YC_NONE;
}

TEST(condition_cancelled_notifies_another)
{
    C = yc_condition_new(NULL);
    run_main(cond_cancelled_notifies_main, NULL);
    CHECK_STR(trace, "c0:True w1 unlocked, waiters:1]> c2:True");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* Cancelled while another task holds the lock: the CancelledError waits
 * until the lock is back. */
static yc_val cond_waiter_held(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_condition(C), _) {
        YC_TRY {
            yc_condition_wait(C);
        } YC_EXCEPT(&yc_CancelledError) {
            tr("c:%s", tf(yc_condition_locked(C)));
            yc_reraise();
        } YC_END;
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val cond_held_main(void *arg)
{
    (void)arg;
    yc_task *t = spawn(cond_waiter_held, NULL);
    yc_sleep(0);
    yc_condition_acquire(C);
    yc_task_cancel(t, NULL);
    yc_sleep(0);
    yc_sleep(0);
    tr("held:%s", tf(yc_task_done(t)));
    CHECK_ST(yc_condition_release(C), YC_OK);
    yc_gather(&t, 1, YC_RETURN_EXCEPTIONS);
    tr("cancelled:%s", tf(yc_task_cancelled(t)));
    yc_task_unref(t);
    return YC_NONE;
}

TEST(condition_cancelled_while_lock_held)
{
    C = yc_condition_new(NULL);
    run_main(cond_held_main, NULL);
    CHECK_STR(trace, "held:False c:True cancelled:True");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* wait_for checks the predicate first, then after each wakeup. */
static int box;

static bool box_ready(void *ud)
{
    (void)ud;
    tr("?%d", box);
    return box >= 2;
}

static yc_val wait_for_task(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_condition(C), _) {
        tr("r%s", tf(yc_condition_wait_for(C, box_ready, NULL)));
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val wait_for_main(void *arg)
{
    (void)arg;
    yc_task *t = spawn(wait_for_task, NULL);
    for (int k = 0; k < 3; k++) {
        yc_sleep(0);
        YC_WITH(yc_cm_condition(C), _) {
            box++;
            CHECK_ST(yc_condition_notify(C, 1), YC_OK);
        } YC_END_WITH;
    }
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(condition_wait_for)
{
    C = yc_condition_new(NULL);
    box = 0;
    run_main(wait_for_main, NULL);
    CHECK_STR(trace, "?0 ?1 ?2 rTrue");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* A predicate that raises: the exception goes through wait_for, the
 * manager releases the lock on the way out. */
static bool pred_raises(void *ud)
{
    (void)ud;
    yc_raisef(&yc_KeyError, "pred");
    return false;
}

static yc_val pred_raises_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_condition(C), _) {
            yc_condition_wait_for(C, pred_raises, NULL);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_KeyError) {
        tr("%s locked=%s", caught_text(), tf(yc_condition_locked(C)));
    } YC_END;
    return YC_NONE;
}

TEST(condition_wait_for_predicate_raises)
{
    C = yc_condition_new(NULL);
    run_main(pred_raises_main, NULL);
    CHECK_STR(trace, "KeyError: 'pred' locked=False");
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* A condition over a lock of the user's: the lock is shared (and cannot
 * be freed before the condition). */
static yc_val shared_lock_main(void *arg)
{
    (void)arg;
    yc_task *t = spawn(cond_waiter, IARG(0));
    yc_sleep(0);
    yc_lock_acquire(L);
    tr("cond locked=%s", tf(yc_condition_locked(C)));
    CHECK_ST(yc_condition_notify(C, 5), YC_OK);
    CHECK_ST(yc_lock_release(L), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(condition_over_a_given_lock)
{
    L = yc_lock_new();
    C = yc_condition_new(L);
    CHECK_ST(yc_lock_free(L), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_lock_free: a condition still uses the lock");
    run_main(shared_lock_main, NULL);
    CHECK_STR(trace, "cond locked=True w0");
    CHECK_ST(yc_condition_free(C), YC_OK);
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* ======================================================================
 * Semaphore
 * ==================================================================== */

/* [12.46] Semaphore(-1). */
TEST(semaphore_negative_value_12_46)
{
    CHECK(yc_semaphore_new(-1, false) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Semaphore initial value must be >= 0");
    CHECK(yc_semaphore_new(-1, true) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: Semaphore initial value must be >= 0");
    S = yc_semaphore_new(0, false);
    CHECK(yc_semaphore_locked(S));
    CHECK_EQ_INT(yc_semaphore_value(S), 0);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

/* [12.47] BoundedSemaphore over-release; an unbounded one just grows. */
TEST(bounded_semaphore_released_too_many_times_12_47)
{
    S = yc_semaphore_new(1, true);
    CHECK_ST(yc_semaphore_release(S), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: BoundedSemaphore released too many times");
    CHECK_EQ_INT(yc_semaphore_value(S), 1);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    S = yc_semaphore_new(1, false);
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    CHECK_EQ_INT(yc_semaphore_value(S), 2);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    S = yc_semaphore_new(LONG_MAX, false);
    CHECK_ST(yc_semaphore_release(S), YC_EINVAL);
    CHECK_EXC(&yc_OverflowError, "OverflowError: Semaphore value would exceed LONG_MAX");
    CHECK_EQ_INT(yc_semaphore_value(S), LONG_MAX);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

/* Constructors and managers out of memory: NULL with MemoryError. */
TEST(sync_constructors_out_of_memory)
{
    fail_alloc_after(1);
    CHECK(yc_lock_new() == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_event_new() == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_condition_new(NULL) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_semaphore_new(1, true) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_barrier_new(2) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    stop_failing();
    L = yc_lock_new();
    C = yc_condition_new(L);
    S = yc_semaphore_new(1, false);
    B = yc_barrier_new(2);
    fail_alloc_after(1);
    CHECK(yc_cm_lock(L) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_cm_condition(C) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_cm_semaphore(S) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    fail_alloc_after(1);
    CHECK(yc_cm_barrier(B) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_EQ_INT(yc_semaphore_value(S), 1);
    CHECK_ST(yc_barrier_free(B), YC_OK);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    CHECK_ST(yc_condition_free(C), YC_OK);
    CHECK_ST(yc_lock_free(L), YC_OK);
}

static yc_val sem_worker(void *arg)
{
    int i = ARGI(arg);
    YC_WITH(yc_cm_semaphore(S), _) {
        tr("a%d", i);
        yc_sleep(0);
        tr("r%d", i);
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val sem_fifo_main(void *arg)
{
    (void)arg;
    yc_task *ts[5];
    for (int i = 0; i < 5; i++) ts[i] = spawn(sem_worker, IARG(i));
    yc_sleep(0);
    tr("%s", sem_tail());
    yc_gather(ts, 5, 0);
    for (int i = 0; i < 5; i++) yc_task_unref(ts[i]);
    tr("%s", sem_tail());
    return YC_NONE;
}

TEST(semaphore_fifo)
{
    S = yc_semaphore_new(2, false);
    run_main(sem_fifo_main, NULL);
    CHECK_STR(trace, "a0 a1 locked, waiters:3]> r0 r1 a2 a3 r2 r3 a4 r4 unlocked, value:2]>");
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

static yc_val sem_waiter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_semaphore_acquire(S);
        tr("a%d", i);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

/* Granted a slot, cancelled before it runs: the slot goes to the next. */
static yc_val sem_woken_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(sem_waiter, IARG(i));
    yc_sleep(0);
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    tr("%s", sem_tail());
    yc_task_cancel(ts[0], NULL);
    yc_gather(ts, 2, YC_RETURN_EXCEPTIONS);
    tr("%s", sem_tail());
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    yc_await(ts[2]);
    tr("%s", sem_tail());
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(semaphore_woken_then_cancelled)
{
    S = yc_semaphore_new(0, false);
    run_main(sem_woken_cancelled_main, NULL);
    CHECK_STR(trace, "locked, waiters:3]> c0 a1 locked, waiters:1]> a2 locked]>");
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

/* A cancelled waiter does not make the semaphore locked. */
static yc_val sem_plain_waiter(void *arg)
{
    (void)arg;
    yc_semaphore_acquire(S);
    return YC_NONE;
}

static yc_val sem_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *t = spawn(sem_plain_waiter, NULL);
    yc_sleep(0);
    yc_task_cancel(t, NULL);
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    tr("locked=%s", tf(yc_semaphore_locked(S)));
    tr("%s", sem_tail());
    yc_semaphore_acquire(S);
    tr("main");
    gather_unref(&t, 1);
    tr("%s", sem_tail());
    return YC_NONE;
}

TEST(semaphore_cancelled_waiter_not_locked)
{
    S = yc_semaphore_new(0, false);
    run_main(sem_cancelled_main, NULL);
    CHECK_STR(trace, "locked=False unlocked, value:1, waiters:1]> main locked]>");
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

/* ======================================================================
 * Barrier
 * ==================================================================== */

/* [12.49] parties must be > 0; the broken barrier's two messages
 * (scenario barrier_reset_and_abort). */
static yc_val barrier_worker(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        long idx = yc_barrier_wait(B);
        tr("%d:%ld", i, idx);
    } YC_EXCEPT(&yc_BrokenBarrierError) {
        tr("%d:%s", i, yc_exc_msg(yc_exc_current()));
    } YC_END;
    return YC_NONE;
}

static yc_val barrier_reset_abort_main(void *arg)
{
    (void)arg;
    yc_task *ts[2];
    for (int i = 0; i < 2; i++) ts[i] = spawn(barrier_worker, IARG(i));
    yc_sleep(0);
    tr("%s", barrier_tail());
    yc_barrier_reset(B);
    tr("%s", barrier_tail());
    yc_gather(ts, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    tr("%s", barrier_tail());
    for (int i = 0; i < 2; i++) ts[i] = spawn(barrier_worker, IARG(i + 2));
    yc_sleep(0);
    yc_barrier_abort(B);
    yc_gather(ts, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    tr("%s", barrier_tail());
    barrier_worker(IARG(9));
    return YC_NONE;
}

TEST(barrier_reset_and_abort_12_49)
{
    CHECK(yc_barrier_new(0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: parties must be > 0");
    B = yc_barrier_new(3);
    CHECK(!yc_barrier_broken(B));
    run_main(barrier_reset_abort_main, NULL);
    CHECK_STR(trace, "filling, waiters:2/3]> resetting, waiters:0/3]> 0:Abort or reset of "
                     "barrier 1:Abort or reset of barrier filling, waiters:0/3]> 2:Abort or "
                     "reset of barrier 3:Abort or reset of barrier broken]> 9:Barrier aborted");
    CHECK(yc_barrier_broken(B));
    CHECK_EQ_INT(yc_barrier_parties(B), 3);
    CHECK_EQ_INT(yc_barrier_n_waiting(B), 0);
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

static yc_val barrier_rounds_worker(void *arg)
{
    int i = ARGI(arg);
    for (int r = 0; r < 2; r++) {
        long idx = yc_barrier_wait(B);
        tr("%d:%ld", i, idx);
    }
    return YC_NONE;
}

static yc_val barrier_rounds_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(barrier_rounds_worker, IARG(i));
    yc_sleep(0);
    tr("%s", barrier_tail());
    yc_gather(ts, 3, 0);
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    tr("%s", barrier_tail());
    return YC_NONE;
}

TEST(barrier_rounds)
{
    B = yc_barrier_new(3);
    run_main(barrier_rounds_main, NULL);
    CHECK_STR(trace, "2:2 draining, waiters:0/3]> 0:0 1:1 0:2 1:0 2:1 filling, waiters:0/3]>");
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

static yc_val barrier_newcomer_main(void *arg)
{
    (void)arg;
    yc_task *ts[4];
    for (int i = 0; i < 2; i++) ts[i] = spawn(barrier_worker, IARG(i));
    yc_sleep(0);
    yc_sleep(0);
    tr("%s", barrier_tail());
    for (int i = 2; i < 4; i++) ts[i] = spawn(barrier_worker, IARG(i));
    yc_gather(ts, 4, 0);
    for (int i = 0; i < 4; i++) yc_task_unref(ts[i]);
    tr("%s", barrier_tail());
    return YC_NONE;
}

TEST(barrier_draining_blocks_newcomer)
{
    B = yc_barrier_new(2);
    run_main(barrier_newcomer_main, NULL);
    CHECK_STR(trace, "1:1 0:0 filling, waiters:0/2]> 3:1 2:0 filling, waiters:0/2]>");
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

static yc_val barrier_waiter_c(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        long idx = yc_barrier_wait(B);
        tr("%d:%ld", i, idx);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val barrier_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *t0 = spawn(barrier_waiter_c, IARG(0));
    yc_sleep(0);
    tr("%s", barrier_tail());
    yc_task_cancel(t0, NULL);
    gather_unref(&t0, 1);
    tr("%s", barrier_tail());
    yc_task *ts[2] = {spawn(barrier_waiter_c, IARG(1)), spawn(barrier_waiter_c, IARG(2))};
    yc_gather(ts, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    tr("%s", barrier_tail());
    return YC_NONE;
}

TEST(barrier_cancelled_waiter)
{
    B = yc_barrier_new(2);
    run_main(barrier_cancelled_main, NULL);
    CHECK_STR(trace, "filling, waiters:1/2]> c0 filling, waiters:0/2]> 2:1 1:0 filling, "
                     "waiters:0/2]>");
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

/* Cancelled in _block (the barrier draining): the others go on. */
static yc_val barrier_draining_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(barrier_waiter_c, IARG(i));
    yc_sleep(0);
    tr("%s", barrier_tail());
    yc_task_cancel(ts[2], NULL);
    gather_unref(ts, 3);
    tr("%s", barrier_tail());
    yc_task *more[2] = {spawn(barrier_waiter_c, IARG(3)), spawn(barrier_waiter_c, IARG(4))};
    yc_gather(more, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(more[i]);
    tr("%s", barrier_tail());
    return YC_NONE;
}

TEST(barrier_cancelled_while_draining)
{
    B = yc_barrier_new(2);
    run_main(barrier_draining_cancelled_main, NULL);
    CHECK_STR(trace, "1:1 draining, waiters:0/2]> 0:0 c2 filling, waiters:0/2]> 4:1 3:0 "
                     "filling, waiters:0/2]>");
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

/* `async with barrier as i`. */
static yc_val barrier_cm_worker(void *arg)
{
    int i = ARGI(arg);
    YC_WITH(yc_cm_barrier(B), idx) {
        tr("%d:%" PRId64, i, idx.i);
    } YC_END_WITH;
    return YC_NONE;
}

static yc_val barrier_cm_main(void *arg)
{
    (void)arg;
    yc_task *ts[2] = {spawn(barrier_cm_worker, IARG(0)), spawn(barrier_cm_worker, IARG(1))};
    yc_gather(ts, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(barrier_manager_binds_the_index)
{
    B = yc_barrier_new(2);
    run_main(barrier_cm_main, NULL);
    CHECK_STR(trace, "1:1 0:0");
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

/* ======================================================================
 * [12.50] reprs
 * ==================================================================== */

static void check_repr(int (*fmt)(const void *, char *, size_t), const void *obj,
                       const char *name, const char *state)
{
    char buf[256], want[256];
    int n = fmt(obj, buf, sizeof buf);
    snprintf(want, sizeof want, "<asyncio.locks.%s object at 0x%" PRIxPTR " [%s]>", name,
             (uintptr_t)obj, state);
    CHECK_STR(buf, want);
    CHECK_EQ_INT(n, (int)strlen(want));
    CHECK_EQ_INT(fmt(obj, NULL, 0), (int)strlen(want));
}

static int fmt_lock(const void *o, char *b, size_t n) { return yc_lock_format(o, b, n); }
static int fmt_event(const void *o, char *b, size_t n) { return yc_event_format(o, b, n); }
static int fmt_cond(const void *o, char *b, size_t n) { return yc_condition_format(o, b, n); }
static int fmt_sem(const void *o, char *b, size_t n) { return yc_semaphore_format(o, b, n); }
static int fmt_barrier(const void *o, char *b, size_t n) { return yc_barrier_format(o, b, n); }

static yc_val repr_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    check_repr(fmt_lock, L, "Lock", "locked");
    yc_task *ts[2] = {spawn(lock_waiter, IARG(0)), spawn(lock_waiter, IARG(1))};
    yc_sleep(0);
    check_repr(fmt_lock, L, "Lock", "locked, waiters:2");
    CHECK_ST(yc_lock_release(L), YC_OK);
    yc_gather(ts, 2, 0);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    yc_condition_acquire(C);
    check_repr(fmt_cond, C, "Condition", "locked");
    CHECK_ST(yc_condition_release(C), YC_OK);
    yc_semaphore_acquire(S);
    check_repr(fmt_sem, S, "BoundedSemaphore", "locked");
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    return YC_NONE;
}

TEST(sync_reprs_12_50)
{
    L = yc_lock_new();
    E = yc_event_new();
    C = yc_condition_new(NULL);
    S = yc_semaphore_new(1, true);
    B = yc_barrier_new(3);
    check_repr(fmt_lock, L, "Lock", "unlocked");
    check_repr(fmt_event, E, "Event", "unset");
    check_repr(fmt_cond, C, "Condition", "unlocked");
    check_repr(fmt_sem, S, "BoundedSemaphore", "unlocked, value:1");
    check_repr(fmt_barrier, B, "Barrier", "filling, waiters:0/3");
    run_main(repr_main, NULL);
    CHECK_STR(trace, "a0 a1");
    yc_semaphore *s2 = yc_semaphore_new(2, false);
    check_repr(fmt_sem, s2, "Semaphore", "unlocked, value:2");
    CHECK_ST(yc_semaphore_free(s2), YC_OK);
    char buf[64];
    yc_lock_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid lock>");
    yc_event_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid event>");
    yc_condition_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid condition>");
    yc_semaphore_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid semaphore>");
    yc_barrier_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid barrier>");
    CHECK_ST(yc_lock_free(L), YC_OK);
    CHECK_ST(yc_event_free(E), YC_OK);
    CHECK_ST(yc_condition_free(C), YC_OK);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

/* ======================================================================
 * Managers: an exception in the body, cancellation at enter
 * ==================================================================== */

static yc_val cm_body_raises_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_lock(L), v) {
            CHECK(yc_is_none(v));
            tr("in:%s", tf(yc_lock_locked(L)));
            yc_raisef(&yc_ValueError, "body");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        tr("%s locked=%s", caught_text(), tf(yc_lock_locked(L)));
    } YC_END;
    YC_TRY {
        YC_WITH(yc_cm_semaphore(S), _) {
            tr("value=%ld", yc_semaphore_value(S));
            yc_raisef(&yc_KeyError, "k");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_KeyError) {
        tr("value=%ld", yc_semaphore_value(S));
    } YC_END;
    /* the body releases the lock itself: the exit's RuntimeError comes
     * out instead, with the body's exception as its context */
    YC_TRY {
        YC_WITH(yc_cm_lock(L), _) {
            CHECK_ST(yc_lock_release(L), YC_OK);
            yc_raisef(&yc_KeyError, "first");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_RuntimeError) {
        yc_exc *ctx = yc_exc_context(yc_exc_current());
        tr("%s ctx=%s", caught_text(), ctx ? yc_exc_type_of(ctx)->name : "none");
    } YC_END;
    return YC_NONE;
}

TEST(managers_release_when_the_body_raises)
{
    L = yc_lock_new();
    S = yc_semaphore_new(2, true);
    run_main(cm_body_raises_main, NULL);
    CHECK_STR(trace, "in:True ValueError: body locked=False value=1 value=2 RuntimeError: Lock "
                     "is not acquired. ctx=KeyError");
    CHECK_ST(yc_lock_free(L), YC_OK);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
}

/* Cancelled while the manager's enter waits: neither the body nor the
 * exit runs; the lock goes to the next waiter. */
static yc_val cm_enter_waiter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        YC_WITH(yc_cm_lock(L), _) {
            tr("body%d", i);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val cm_enter_cancelled_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *ts[2] = {spawn(cm_enter_waiter, IARG(0)), spawn(cm_enter_waiter, IARG(1))};
    yc_sleep(0);
    yc_task_cancel(ts[0], NULL);
    yc_sleep(0);
    tr("%s", lock_tail());
    CHECK_ST(yc_lock_release(L), YC_OK);
    gather_unref(ts, 2);
    tr("%s", lock_tail());
    return YC_NONE;
}

TEST(managers_cancelled_at_enter)
{
    L = yc_lock_new();
    run_main(cm_enter_cancelled_main, NULL);
    CHECK_STR(trace, "c0 locked, waiters:1]> body1 unlocked]>");
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* ======================================================================
 * Freeing while tasks wait, loop binding, misuse, memory
 * ==================================================================== */

static yc_val free_busy_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *ts[5] = {spawn(lock_waiter, IARG(0)), spawn(event_waiter, IARG(1)),
                      spawn(cond_waiter, IARG(2)), spawn(sem_waiter, IARG(3)),
                      spawn(barrier_worker, IARG(4))};
    yc_sleep(0);
    CHECK_ST(yc_lock_free(L), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_lock_free: tasks are waiting on the lock");
    CHECK_ST(yc_event_free(E), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_event_free: tasks are waiting on the event");
    CHECK_ST(yc_condition_free(C), YC_EBUSY);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_condition_free: tasks are waiting on the condition");
    CHECK_ST(yc_semaphore_free(S), YC_EBUSY);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_semaphore_free: tasks are waiting on the semaphore");
    CHECK_ST(yc_barrier_free(B), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_barrier_free: tasks are waiting on the barrier");
    /* woken but not run yet: still refused */
    CHECK_ST(yc_lock_release(L), YC_OK);
    CHECK_ST(yc_lock_free(L), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_lock_free: tasks are waiting on the lock");
    CHECK_ST(yc_event_set(E), YC_OK);
    yc_condition_acquire(C);
    CHECK_ST(yc_condition_notify_all(C), YC_OK);
    CHECK_ST(yc_condition_release(C), YC_OK);
    CHECK_ST(yc_semaphore_release(S), YC_OK);
    yc_barrier_abort(B);
    yc_gather(ts, 5, 0);
    for (int i = 0; i < 5; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(free_refused_while_tasks_wait)
{
    L = yc_lock_new();
    E = yc_event_new();
    C = yc_condition_new(NULL);
    S = yc_semaphore_new(0, false);
    B = yc_barrier_new(2);
    run_main(free_busy_main, NULL);
    CHECK_STR(trace, "a0 w1 w2 a3 4:Abort or reset of barrier");
    CHECK_ST(yc_lock_free(L), YC_OK);
    CHECK_ST(yc_event_free(E), YC_OK);
    CHECK_ST(yc_condition_free(C), YC_OK);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    CHECK_ST(yc_barrier_free(B), YC_OK);
}

/* A lock that waited on one loop refuses to wait on another. */
static yc_val lock_wait_once(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_task *t = spawn(lock_waiter, IARG(0));
    yc_sleep(0);
    CHECK_ST(yc_lock_release(L), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

static yc_val lock_other_loop(void *arg)
{
    (void)arg;
    yc_lock_acquire(L); /* free: no future, no binding check */
    yc_lock_acquire(L); /* would wait: raises */
    return YC_NONE;
}

TEST(lock_bound_to_one_loop)
{
    L = yc_lock_new();
    run_main(lock_wait_once, NULL);
    CHECK_ST(yc_loop_run(lock_other_loop, NULL, &vclock, NULL), YC_RAISE);
    char want[256];
    snprintf(want, sizeof want,
             "RuntimeError: <asyncio.locks.Lock object at 0x%" PRIxPTR " [locked]> is bound "
             "to a different event loop",
             (uintptr_t)L);
    CHECK_STR(take_exc_text(), want);
    CHECK_ST(yc_lock_release(L), YC_OK);
    CHECK_ST(yc_lock_free(L), YC_OK);
}

static yc_val null_body(void *arg)
{
    int which = ARGI(arg);
    YC_TRY {
        switch (which) {
        case 0: yc_lock_acquire(NULL); break;
        case 1: yc_event_wait(NULL); break;
        case 2: yc_condition_acquire(NULL); break;
        case 3: yc_condition_wait(NULL); break;
        case 4: yc_condition_wait_for(NULL, box_ready, NULL); break;
        case 5: yc_semaphore_acquire(NULL); break;
        case 6: yc_barrier_wait(NULL); break;
        case 7: yc_barrier_reset(NULL); break;
        default: yc_barrier_abort(NULL); break;
        }
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", caught_text());
    } YC_END;
    return YC_NONE;
}

/* A misuse raised by a body-side function names the caller's file, line and
 * function in its traceback, as every raise of the user's own does (issue
 * found by a newcomer: it named locks.c and queue.c). */
static int site_line;
static int sites_checked;

static void check_site(const char *call)
{
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(yc_exc_current(), &n);
    if (n < 1 || strcmp(tb[0].file, __FILE__) != 0 || tb[0].line != site_line ||
        !tb[0].func || strcmp(tb[0].func, "site_main") != 0)
        test_fail(__FILE__, __LINE__, "%s: traceback names %s:%d in %s, not %s:%d in site_main",
                  call, n ? tb[0].file : "-", n ? tb[0].line : 0,
                  n && tb[0].func ? tb[0].func : "-", __FILE__, site_line);
    sites_checked++;
}

#define AT_CALL_SITE(call)                                                    \
    YC_TRY {                                                                  \
        site_line = __LINE__; call;                                           \
    } YC_EXCEPT(&yc_TypeError) {                                              \
        check_site(#call);                                                    \
    } YC_END

static bool never(void *ud) { (void)ud; return false; }

static yc_val site_main(void *arg)
{
    (void)arg;
    AT_CALL_SITE(yc_lock_acquire(NULL));
    AT_CALL_SITE(yc_event_wait(NULL));
    AT_CALL_SITE(yc_condition_acquire(NULL));
    AT_CALL_SITE(yc_condition_wait(NULL));
    AT_CALL_SITE(yc_condition_wait_for(NULL, never, NULL));
    AT_CALL_SITE(yc_semaphore_acquire(NULL));
    AT_CALL_SITE(yc_barrier_wait(NULL));
    AT_CALL_SITE(yc_barrier_reset(NULL));
    AT_CALL_SITE(yc_barrier_abort(NULL));
    AT_CALL_SITE(yc_queue_put(NULL, YC_NONE));
    AT_CALL_SITE(yc_queue_get(NULL));
    AT_CALL_SITE(yc_queue_join(NULL));
    return YC_NONE;
}

TEST(misuse_tracebacks_name_the_callers_line)
{
    sites_checked = 0;
    CHECK_ST(yc_loop_run(site_main, NULL, NULL, NULL), YC_OK);
    CHECK_EQ_INT(sites_checked, 12);
}

TEST(sync_misuse)
{
    static const char *const what[] = {"lock",      "event",     "condition",
                                       "condition", "condition", "semaphore",
                                       "barrier",   "barrier",   "barrier"};
    for (int i = 0; i < 9; i++) {
        run_main(null_body, IARG(i));
        char want[64];
        snprintf(want, sizeof want, "TypeError: %s is NULL", what[i]);
        CHECK_STR(trace, want);
    }
    CHECK_ST(yc_lock_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: lock is NULL");
    CHECK_ST(yc_lock_release(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: lock is NULL");
    CHECK_ST(yc_event_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: event is NULL");
    CHECK_ST(yc_event_set(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: event is NULL");
    CHECK_ST(yc_event_clear(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: event is NULL");
    CHECK_ST(yc_condition_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: condition is NULL");
    CHECK_ST(yc_condition_release(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: condition is NULL");
    CHECK_ST(yc_condition_notify(NULL, 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: condition is NULL");
    CHECK_ST(yc_condition_notify_all(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: condition is NULL");
    CHECK_ST(yc_semaphore_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: semaphore is NULL");
    CHECK_ST(yc_semaphore_release(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: semaphore is NULL");
    CHECK_ST(yc_barrier_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: barrier is NULL");
    const yc_exc_type *te = &yc_TypeError;
    CHECK(yc_cm_lock(NULL) == NULL);
    CHECK_EXC(te, "TypeError: lock is NULL");
    CHECK(yc_cm_condition(NULL) == NULL);
    CHECK_EXC(te, "TypeError: condition is NULL");
    CHECK(yc_cm_semaphore(NULL) == NULL);
    CHECK_EXC(te, "TypeError: semaphore is NULL");
    CHECK(yc_cm_barrier(NULL) == NULL);
    CHECK_EXC(te, "TypeError: barrier is NULL");
    /* a condition over something that is not a live lock */
    int junk[16] = {0};
    CHECK(yc_condition_new((yc_lock *)junk) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live lock (freed or corrupted)");
    CHECK(!yc_lock_locked(NULL) && !yc_event_is_set(NULL) && !yc_condition_locked(NULL));
    CHECK(!yc_semaphore_locked(NULL) && yc_semaphore_value(NULL) == 0);
    CHECK(yc_barrier_parties(NULL) == 0 && yc_barrier_n_waiting(NULL) == 0);
    CHECK(!yc_barrier_broken(NULL));
    /* body side outside a loop */
    L = yc_lock_new();
    tr_reset();
    YC_TRY {
        yc_lock_acquire(L);
    } YC_EXCEPT(&yc_RuntimeError) {
        tr("%s", caught_text());
    } YC_END;
    CHECK_STR(trace, "RuntimeError: no running event loop");
    CHECK_ST(yc_lock_free(L), YC_OK);
}

/* The waiter's future cannot be made: MemoryError, the lock untouched. */
static yc_val lock_nomem_main(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    fail_alloc_after(1);
    YC_TRY {
        yc_lock_acquire(L);
    } YC_EXCEPT(&yc_MemoryError) {
        tr("nomem %s", lock_tail());
    } YC_END;
    fail_alloc_after(1);
    YC_TRY {
        yc_semaphore_acquire(S);
    } YC_EXCEPT(&yc_MemoryError) {
        tr("nomem %s", sem_tail());
    } YC_END;
    YC_WITH(yc_cm_condition(C), _) {
        fail_alloc_after(1); /* the condition's future: the lock stays held */
        YC_TRY {
            yc_condition_wait(C);
        } YC_EXCEPT(&yc_MemoryError) {
            tr("nomem %s", cond_tail());
        } YC_END;
    } YC_END_WITH;
    stop_failing();
    yc_task *t = spawn(lock_waiter, IARG(0));
    yc_sleep(0);
    CHECK_ST(yc_lock_release(L), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sync_allocation_failures)
{
    L = yc_lock_new();
    S = yc_semaphore_new(0, false);
    C = yc_condition_new(NULL);
    run_main(lock_nomem_main, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_STR(trace, "nomem locked]> nomem locked]> nomem locked]> a0");
    CHECK_ST(yc_lock_free(L), YC_OK);
    CHECK_ST(yc_semaphore_free(S), YC_OK);
    CHECK_ST(yc_condition_free(C), YC_OK);
}

/* A loop closed with tasks waiting on a lock and a condition: each is
 * destroyed (GeneratorExit at its await, newest first) and leaves the
 * objects free to go. */
static int destroyed;

static void count_destroyed(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)ud;
    if (strstr(obj, "Task was destroyed but it is pending!")) destroyed++;
    else tr("[%.*s: %s]", (int)strcspn(obj, " "), obj, e ? yc_exc_msg(e) : "");
}

static yc_val hold_lock_forever(void *arg)
{
    (void)arg;
    yc_lock_acquire(L);
    yc_condition_acquire(C);
    yc_sleep(INFINITY);
    return YC_NONE;
}

static yc_val settle(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) yc_sleep(0);
    return YC_NONE;
}

static yc_val cond_enter_then_wait(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_condition(C), _) {
        yc_condition_wait(C);
    } YC_END_WITH;
    return YC_NONE;
}

TEST(sync_waiters_destroyed_by_closing_loop)
{
    L = yc_lock_new();
    C = yc_condition_new(NULL);
    yc_loop *lp = yc_loop_new(&vclock);
    yc_task *ts[4] = {yc_loop_spawn(lp, cond_enter_then_wait, NULL, NULL),
                      yc_loop_spawn(lp, hold_lock_forever, NULL, NULL),
                      yc_loop_spawn(lp, lock_waiter, IARG(0), NULL),
                      yc_loop_spawn(lp, settle, NULL, NULL)};
    CHECK_ST(yc_loop_run_until_complete(lp, ts[3], NULL), YC_OK);
    CHECK_STR(lock_tail(), "locked, waiters:1]>");
    CHECK_STR(cond_tail(), "locked, waiters:1]>");
    destroyed = 0;
    tr_reset();
    yc_set_unraisable_hook(count_destroyed, NULL);
    CHECK_ST(yc_loop_close(lp), YC_OK);
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_EQ_INT(destroyed, 3);
    /* the condition's waiter cannot take the lock back (its holder is
     * gone): "coroutine ignored GeneratorExit", as an await in a closing
     * coroutine; its manager's exit then releases the lock */
    CHECK_STR(trace, "[Exception: coroutine ignored GeneratorExit]");
    CHECK_STR(lock_tail(), "locked]>");
    CHECK_STR(cond_tail(), "unlocked]>");
    for (int i = 0; i < 4; i++) yc_task_unref(ts[i]);
    CHECK_ST(yc_loop_free(lp), YC_OK);
    CHECK_ST(yc_lock_free(L), YC_OK);
    CHECK_ST(yc_condition_free(C), YC_OK);
}

TEST_MAIN()
