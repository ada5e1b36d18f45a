/*
 * Conformance: python-semantics.md 12.13-12.18, asyncio.timeout as YC_WITH
 * managers, on the virtual clock. Expected logs are CPython 3.13's for
 * the same program.
 */
#include "loop_util.h"

#include <math.h>

static void log_timeout(const yc_timeout *tm)
{
    char buf[128];
    yc_timeout_format(tm, buf, sizeof buf);
    LOG("%s", buf);
}

static yc_val expiry(void *arg)
{
    (void)arg;
    yc_timeout *volatile kept = NULL;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.5), tm) {
            kept = yc_timeout_ref(tm.p);
            log_timeout(tm.p);
            YC_TRY {
                yc_sleep(10);
            } YC_EXCEPT(&yc_CancelledError) {
                log_exc("inside", yc_exc_current());
                yc_reraise();
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        yc_exc *e = yc_exc_current();
        log_exc("outside", e);
        log_exc("cause", yc_exc_cause(e));
        log_exc("context", yc_exc_context(e));
        LOG("at %ld", now_ms());
        log_timeout(kept);
        LOG("expired %d cancelling %d", yc_timeout_expired(kept),
            yc_task_cancelling(yc_task_current()));
    } YC_END;
    yc_timeout_unref(kept);
    return YC_NONE;
}

TEST(sec12_13_sec12_14_an_expired_timeout)
{
    /* [12.13] CancelledError inside, TimeoutError() outside with
     * __cause__ (3.12+) and __context__ the CancelledError; the task's
     * cancelling() back to 0; [12.14] reprs */
    log_clear();
    CHECK_ST(run_v(expiry, NULL, NULL), YC_OK);
    CHECK_LOG_IS("<Timeout [active] when=0.5>|inside: CancelledError|outside: TimeoutError|"
                 "cause: CancelledError|context: CancelledError|at 500|<Timeout [expired]>|"
                 "expired 1 cancelling 0");
}

static yc_val misuse(void *arg)
{
    (void)arg;
    yc_cm *cm = yc_cm_timeout(1);
    yc_timeout *tm = yc_timeout_ref(yc_timeout_of(cm));
    log_timeout(tm);
    CHECK_ST(yc_timeout_reschedule(tm, 2), YC_EINVAL);
    log_exc("reschedule before enter", yc_err_get());
    yc_err_clear();
    YC_WITH(cm, bound) {
        CHECK(bound.p == tm);
    } YC_END_WITH;
    log_timeout(tm);
    CHECK_ST(yc_timeout_reschedule(tm, 2), YC_EINVAL);
    log_exc("reschedule after exit", yc_err_get());
    yc_err_clear();
    YC_TRY {
        YC_WITH(yc_timeout_cm(tm), b2) {
            LOG("not reached");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("enter twice", yc_exc_current());
    } YC_END;
    yc_timeout_unref(tm);
    return YC_NONE;
}

TEST(sec12_15_sec12_16_sec12_17_timeout_misuse)
{
    /* [12.15] reschedule before enter (3.11: AssertionError); [12.16]
     * after exit; [12.17] entering twice */
    log_clear();
    CHECK_ST(run_v(misuse, NULL, NULL), YC_OK);
    CHECK_LOG_IS("<Timeout [created]>|"
                 "reschedule before enter: RuntimeError: Timeout has not been entered|"
                 "<Timeout [finished]>|"
                 "reschedule after exit: RuntimeError: Cannot change state of finished Timeout|"
                 "enter twice: RuntimeError: Timeout has already been entered");
}

static void enter_in_callback(void *arg)
{
    yc_cm *cm = arg;
    CHECK_ST(yc_cm_enter(cm, NULL), YC_EINVAL);
    log_exc("callback", yc_err_get());
    yc_err_clear();
}

static yc_val outside_a_task(void *arg)
{
    (void)arg;
    yc_cm *cm = yc_cm_timeout(1);
    yc_loop_call_soon(NULL, enter_in_callback, cm, NULL);
    yc_sleep(0.1);
    yc_cm_free(cm);
    return YC_NONE;
}

TEST(sec12_18_a_timeout_outside_a_task)
{
    /* [12.18] "Timeout should be used inside a task"; and with no loop at
     * all, asyncio.timeout() itself fails: "no running event loop" */
    log_clear();
    CHECK_ST(run_v(outside_a_task, NULL, NULL), YC_OK);
    CHECK_LOG_IS("callback: RuntimeError: Timeout should be used inside a task");
    CHECK(yc_cm_timeout(1) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
}

static yc_val reschedule_and_nest(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_timeout(INFINITY), t2) {
        log_timeout(t2.p);
        CHECK_ST(yc_timeout_reschedule(t2.p, yc_loop_time(NULL) + 0.25), YC_OK);
        log_timeout(t2.p);
        yc_sleep(0.1);
    } YC_END_WITH;
    YC_TRY {
        YC_WITH(yc_cm_timeout_at(yc_loop_time(NULL) + 0.1), t3) {
            yc_sleep(1);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timeout_at at %ld", now_ms());
    } YC_END;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.2), outer) {
            YC_TRY {
                YC_WITH(yc_cm_timeout(0.1), inner) {
                    yc_sleep(1);
                } YC_END_WITH;
            } YC_EXCEPT(&yc_TimeoutError) {
                LOG("inner timeout at %ld", now_ms());
            } YC_END;
            yc_sleep(1);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("outer timeout at %ld", now_ms());
    } YC_END;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.1), t4) {
            YC_TRY {
                yc_sleep(1);
            } YC_EXCEPT(&yc_CancelledError) {
                yc_raise(yc_exc_new(&yc_ValueError, "x"));
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        yc_exc *c = yc_exc_context(yc_exc_current());
        log_exc("value error context", c);
        log_exc("its context", yc_exc_context(c));
    } YC_END;
    return YC_NONE;
}

TEST(sec12_13_rescheduling_nesting_and_another_exception)
{
    /* [12.13] timeout(None) rescheduled; timeout_at; nested timeouts each
     * expiring on their own; an exception raised instead of the
     * CancelledError gets a TimeoutError slipped into its context */
    log_clear();
    CHECK_ST(run_v(reschedule_and_nest, NULL, NULL), YC_OK);
    CHECK_LOG_IS("<Timeout [active] when=None>|<Timeout [active] when=0.25>|timeout_at at 200|"
                 "inner timeout at 300|outer timeout at 400|"
                 "value error context: TimeoutError|its context: CancelledError");
}

static yc_val victim(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(1), tm) {
            yc_sleep(10);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("victim timeout");
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("victim cancelled");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val outside_cancel(void *arg)
{
    (void)arg;
    yc_task *v = yc_task_spawn(victim, NULL, NULL);
    yc_sleep(0.5);
    yc_task_cancel(v, NULL);
    YC_TRY {
        yc_await(v);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("victim done, cancelled %d", yc_task_cancelled(v));
    } YC_END;
    yc_task_unref(v);
    return YC_NONE;
}

TEST(sec12_13_a_cancel_from_outside_passes_through_a_timeout)
{
    /* [12.13] the count tells the timeout's cancellation from others */
    log_clear();
    CHECK_ST(run_v(outside_cancel, NULL, NULL), YC_OK);
    CHECK_LOG_IS("victim cancelled|victim done, cancelled 1");
}

TEST_MAIN()
