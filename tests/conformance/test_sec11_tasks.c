/*
 * Conformance: python-semantics.md section 11 (coroutines and asyncio
 * scheduling) and 12.1-12.12 (tasks and cancel), on the virtual clock.
 * Each test names its item in brackets; the expected logs are what the
 * same program prints under CPython 3.13's asyncio.
 *
 * yieldc has no coroutine objects: a task's body is a generator the loop
 * owns, so 11.1-11.4 are checked through their C counterparts (a body
 * that yields instead of awaiting, a NULL awaitable, a task awaited twice,
 * a task destroyed with an await in its finally block).
 */
#include "loop_util.h"

#include <math.h>

/* ---- 11.1-11.4: the coroutine protocol's C counterparts ---------------- */

static yc_val bad_yielder(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(7)); /* a task body must await, not yield a value */
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("caught", yc_exc_current());
    } YC_END;
    yc_yield(YC_NONE); /* a bare yield gives up one iteration (asyncio's sleep(0)) */
    LOG("after bare yield");
    return yc_int(1);
}

static yc_val main_11_1(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(bad_yielder, NULL, NULL);
    yc_val v = yc_await(t);
    LOG("result %lld", (long long)v.i);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_1_a_task_body_yielding_a_value_gets_RuntimeError)
{
    /* [11.1] the task drives its body with send/throw as a coroutine; a
     * value yielded to the loop is asyncio's "Task got bad yield" */
    log_clear();
    CHECK_ST(run_v(main_11_1, NULL, NULL), YC_OK);
    CHECK_LOG_IS("caught: RuntimeError: Task got bad yield: 7|after bare yield|result 1");
}

static yc_val await_null(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_await(NULL);
    } YC_EXCEPT(&yc_TypeError) {
        log_exc("caught", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(sec11_3_awaiting_something_that_is_not_a_task_is_TypeError)
{
    /* [11.3] `await 5`: "object int can't be used in 'await' expression" */
    log_clear();
    CHECK_ST(run_v(await_null, NULL, NULL), YC_OK);
    CHECK_LOG_IS("caught: TypeError: object NULL can't be used in 'await' expression");
}

static yc_val returns_5(void *arg)
{
    (void)arg;
    return yc_int(5);
}

static yc_val await_twice(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(returns_5, NULL, NULL);
    LOG("%lld", (long long)yc_await(t).i);
    LOG("%lld", (long long)yc_await(t).i); /* a done task: its result again */
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_2_a_done_task_awaited_again_gives_its_result_again)
{
    /* [11.2] resuming a finished coroutine is "cannot reuse already awaited
     * coroutine"; a Task (what yieldc's await takes) gives its result to
     * every await, as asyncio's tasks do */
    log_clear();
    CHECK_ST(run_v(await_twice, NULL, NULL), YC_OK);
    CHECK_LOG_IS("5|5");
}

static yc_val await_in_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(100);
    } YC_FINALLY {
        LOG("finally");
        YC_TRY {
            yc_sleep(1);
        } YC_EXCEPT(&yc_RuntimeError) {
            log_exc("caught", yc_exc_current());
        } YC_END;
    } YC_END;
    return YC_NONE;
}

TEST(sec11_4_a_destroyed_task_that_waits_in_finally_finds_no_loop)
{
    /* [11.4] a pending task destroyed when its loop closes runs its finally
     * blocks, as CPython's garbage collector closes the coroutine: no loop
     * runs then, so asyncio.sleep() raises "no running event loop" (and
     * awaiting a pending future raises "coroutine ignored GeneratorExit",
     * next test) */
    log_clear();
    capture_reports();
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL});
    yc_task *t = yc_loop_spawn(L, await_in_finally, NULL, &(yc_task_opts){.name = "T"});
    yc_task *s = yc_loop_spawn(L, sleeper, &(double){0.5}, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, s, NULL), YC_OK);
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK_LOG_IS("finally|caught: RuntimeError: no running event loop");
    CHECK_STR(unraisable_text, "Task was destroyed but it is pending!\ntask: <Task pending name='T'>");
    CHECK(yc_task_done(t));
    yc_task_unref(t);
    yc_task_unref(s);
    CHECK_ST(yc_loop_free(L), YC_OK);
    release_reports();
}

static yc_task *pending_future;

static yc_val awaits_future_in_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(100);
    } YC_FINALLY {
        YC_TRY {
            yc_await(pending_future);
        } YC_EXCEPT(&yc_RuntimeError) {
            log_exc("caught", yc_exc_current());
        } YC_END;
    } YC_END;
    return YC_NONE;
}

TEST(sec11_4_awaiting_a_pending_future_while_destroyed_is_coroutine_ignored_GeneratorExit)
{
    /* [11.4] "coroutine ignored GeneratorExit": CPython raises it in the
     * closer and leaves the coroutine suspended; yieldc raises it at the
     * await, so the rest of the task's finally blocks run */
    log_clear();
    capture_reports();
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL});
    pending_future = yc_future_new(L);
    yc_task *t = yc_loop_spawn(L, awaits_future_in_finally, NULL, NULL);
    yc_task *s = yc_loop_spawn(L, sleeper, &(double){0.5}, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, s, NULL), YC_OK);
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK_LOG_IS("caught: RuntimeError: coroutine ignored GeneratorExit");
    yc_task_unref(t);
    yc_task_unref(s);
    yc_task_unref(pending_future);
    CHECK_ST(yc_loop_free(L), YC_OK);
    release_reports();
}

/* ---- 11.5 / 12.1 / 12.4: cancel's return value and the count ----------- */

static yc_val cancel_counts(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeper, &(double){10}, NULL);
    yc_sleep(0);
    bool a = yc_task_cancel(t, NULL);
    bool b = yc_task_cancel(t, NULL);
    LOG("cancel returns %d %d cancelling %d cancelled %d", a, b, yc_task_cancelling(t),
        yc_task_cancelled(t));
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("awaiter caught CancelledError");
    } YC_END;
    bool again = yc_task_cancel(t, NULL);
    LOG("done %d cancelled %d, cancel again %d", yc_task_done(t), yc_task_cancelled(t), again);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_5_sec12_1_sec12_4_cancel_returns_and_counts)
{
    /* [11.5] [12.1] True twice, cancelling() 2, not cancelled until it
     * finishes; [12.4] False once done */
    log_clear();
    CHECK_ST(run_v(cancel_counts, NULL, NULL), YC_OK);
    CHECK_LOG_IS("cancel returns 1 1 cancelling 2 cancelled 0|awaiter caught CancelledError|"
                 "done 1 cancelled 1, cancel again 0");
}

/* ---- 11.6: where the CancelledError arises ------------------------------ */

static yc_task *fut_116;

static yc_val waits_on_future(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_val v = yc_await(fut_116);
        LOG("w got %lld", (long long)v.i);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("w cancelled", yc_exc_current());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val woken_then_cancelled(void *arg)
{
    (void)arg;
    fut_116 = yc_future_new(NULL);
    yc_task *t = yc_task_spawn(waits_on_future, NULL, NULL);
    yc_sleep(0);
    yc_future_set_result(fut_116, yc_int(5)); /* t is woken ... */
    bool c = yc_task_cancel(t, "late");
    LOG("cancel %d cancelling %d", c, yc_task_cancelling(t));
    YC_TRY {
        yc_await(t); /* ... but the cancel wins: the result is lost */
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("awaiter", yc_exc_current());
    } YC_END;
    yc_task_unref(t);
    yc_task_unref(fut_116);
    return YC_NONE;
}

TEST(sec11_6_a_woken_task_cancelled_before_it_runs_loses_the_result)
{
    /* [11.6] second case */
    log_clear();
    CHECK_ST(run_v(woken_then_cancelled, NULL, NULL), YC_OK);
    CHECK_LOG_IS("cancel 1 cancelling 1|w cancelled: CancelledError: late|"
                 "awaiter: CancelledError: late");
}

static yc_val logs_start(void *arg)
{
    YC_TRY {
        LOG("%s ran", (const char *)arg);
        yc_sleep(1);
    } YC_FINALLY {
        LOG("%s finally", (const char *)arg);
    } YC_END;
    return YC_NONE;
}

static yc_val cancel_before_start(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(logs_start, "body", NULL);
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("awaiter caught CancelledError, cancelled %d", yc_task_cancelled(t));
    } YC_END;
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_6_sec12_6_cancel_before_the_first_step_runs_nothing)
{
    /* [11.6] third case, [12.6]: the body never runs, no finally either */
    log_clear();
    CHECK_ST(run_v(cancel_before_start, NULL, NULL), YC_OK);
    CHECK_LOG_IS("awaiter caught CancelledError, cancelled 1");
}

static yc_val self_cancel(void *arg)
{
    (void)arg;
    yc_task_cancel(yc_task_current(), "self");
    LOG("after cancel");
    YC_TRY {
        yc_sleep(0);
        LOG("not reached");
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("caught", yc_exc_current());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val main_self_cancel(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(self_cancel, NULL, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("awaiter", yc_exc_current());
    } YC_END;
    LOG("cancelled %d", yc_task_cancelled(t));
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_6_self_cancel_takes_effect_at_the_next_suspension)
{
    /* [11.6] fourth case */
    log_clear();
    CHECK_ST(run_v(main_self_cancel, NULL, NULL), YC_OK);
    CHECK_LOG_IS("after cancel|caught: CancelledError: self|awaiter: CancelledError: self|"
                 "cancelled 1");
}

/* ---- 11.7 / 12.2 / 12.3: the message ------------------------------------ */

static yc_val sleeps_logs_cancel(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(10);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("body", yc_exc_current());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val cancel_message(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeps_logs_cancel, NULL, NULL);
    yc_sleep(0);
    yc_task_cancel(t, "why");
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("awaiter", yc_exc_current());
    } YC_END;
    for (int i = 0; i < 2; i++) {
        yc_exc *e = NULL;
        CHECK_ST(yc_task_result(t, NULL), YC_RAISE);
        log_exc("result", yc_err_get());
        yc_err_clear();
        CHECK_ST(yc_task_exception(t, &e), YC_RAISE);
        log_exc("exception", yc_err_get());
        yc_err_clear();
    }
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_7_sec12_2_sec12_3_the_cancel_message)
{
    /* [11.7] [12.2] CancelledError('why') in the body and the awaiter;
     * [12.3] result()/exception() after that: CancelledError() */
    log_clear();
    CHECK_ST(run_v(cancel_message, NULL, NULL), YC_OK);
    CHECK_LOG_IS("body: CancelledError: why|awaiter: CancelledError: why|"
                 "result: CancelledError|exception: CancelledError|"
                 "result: CancelledError|exception: CancelledError");
}

/* ---- 11.8 / 12.5: swallowing the cancellation ---------------------------- */

static yc_val swallows(void *arg)
{
    (void)arg;
    volatile int r = 0;
    YC_TRY {
        yc_sleep(10);
    } YC_EXCEPT(&yc_CancelledError) {
        r = 7;
    } YC_END;
    return yc_int(r);
}

static yc_val main_swallow(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(swallows, NULL, NULL);
    yc_sleep(0);
    yc_task_cancel(t, NULL);
    yc_val v = yc_await(t);
    LOG("result %lld cancelled %d cancelling %d", (long long)v.i, yc_task_cancelled(t),
        yc_task_cancelling(t));
    LOG("uncancel -> %d", yc_task_uncancel(t));
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_8_sec12_5_a_task_that_swallows_the_cancellation_completes)
{
    /* [11.8] [12.5] */
    log_clear();
    CHECK_ST(run_v(main_swallow, NULL, NULL), YC_OK);
    CHECK_LOG_IS("result 7 cancelled 0 cancelling 1|uncancel -> 0");
}

/* ---- 11.9 / 12.8: a re-raised cancellation; results of pending tasks ---- */

static yc_val main_reraise(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeps_logs_cancel, NULL, NULL);
    CHECK_ST(yc_task_result(t, NULL), YC_EINVAL);
    log_exc("pending result", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_task_exception(t, NULL), YC_EINVAL);
    log_exc("pending exception", yc_err_get());
    yc_err_clear();
    yc_sleep(0);
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("awaiter caught, cancelled %d", yc_task_cancelled(t));
    } YC_END;
    CHECK_ST(yc_task_result(t, NULL), YC_RAISE);
    CHECK_EXC(&yc_CancelledError, "CancelledError");
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec11_9_sec12_8_a_reraised_cancellation_cancels_the_task)
{
    /* [11.9] [12.8] "Result is not set." (CPython's C accelerator) */
    log_clear();
    CHECK_ST(run_v(main_reraise, NULL, NULL), YC_OK);
    CHECK_LOG_IS("pending result: InvalidStateError: Result is not set.|"
                 "pending exception: InvalidStateError: Exception is not set.|"
                 "body: CancelledError|awaiter caught, cancelled 1");
}

/* ---- 11.10: cancelling a task that awaits another ------------------------ */

static yc_val inner_1110(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(10);
    } YC_FINALLY {
        LOG("inner finally");
    } YC_END;
    return YC_NONE;
}

static yc_val outer_1110(void *arg)
{
    YC_TRY {
        yc_await((yc_task *)arg);
    } YC_FINALLY {
        LOG("outer finally");
    } YC_END;
    return YC_NONE;
}

static yc_val main_1110(void *arg)
{
    (void)arg;
    yc_task *in = yc_task_spawn(inner_1110, NULL, NULL);
    yc_task *out = yc_task_spawn(outer_1110, in, NULL);
    yc_sleep(0);
    yc_task_cancel(out, NULL);
    YC_TRY {
        yc_await(out);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("inner cancelled %d, outer cancelled %d", yc_task_cancelled(in),
            yc_task_cancelled(out));
    } YC_END;
    yc_task_unref(in);
    yc_task_unref(out);
    return YC_NONE;
}

TEST(sec11_10_cancelling_an_awaiting_task_cancels_the_awaited_one_first)
{
    /* [11.10] the inner handler runs first, then the outer */
    log_clear();
    CHECK_ST(run_v(main_1110, NULL, NULL), YC_OK);
    CHECK_LOG_IS("inner finally|outer finally|inner cancelled 1, outer cancelled 1");
}

static yc_val shielding(void *arg)
{
    YC_TRY {
        yc_shield((yc_task *)arg);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("outer cancelled at %ld", now_ms());
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val main_shield(void *arg)
{
    (void)arg;
    yc_task *in = yc_task_spawn(sleeper, &(double){1}, NULL);
    yc_task *out = yc_task_spawn(shielding, in, NULL);
    yc_sleep(0.5);
    yc_task_cancel(out, NULL);
    YC_TRY {
        yc_await(out);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("awaiter caught CancelledError");
    } YC_END;
    yc_val v = yc_await(in);
    LOG("inner finished at %ld with %g, cancelled %d", now_ms(), v.f, yc_task_cancelled(in));
    yc_task_unref(in);
    yc_task_unref(out);
    return YC_NONE;
}

TEST(sec11_10_sec12_31_shield_protects_the_inner_task)
{
    /* [11.10] [12.31] */
    log_clear();
    CHECK_ST(run_v(main_shield, NULL, NULL), YC_OK);
    CHECK_LOG_IS("outer cancelled at 500|awaiter caught CancelledError|"
                 "inner finished at 1000 with 1, cancelled 0");
}

/* ---- 11.11 / 12.10: the types -------------------------------------------- */

TEST(sec11_11_sec12_10_CancelledError_is_a_BaseException_TimeoutError_the_builtin)
{
    /* [11.11] [12.10] */
    CHECK(yc_type_is_subtype(&yc_CancelledError, &yc_BaseException));
    CHECK(!yc_type_is_subtype(&yc_CancelledError, &yc_Exception));
    CHECK(yc_type_is_subtype(&yc_TimeoutError, &yc_OSError));
    CHECK(yc_type_is_subtype(&yc_InvalidStateError, &yc_Exception));
}

/* ---- 11.12 / 12.19 / 12.20: wait_for ------------------------------------- */

static yc_val wait_for_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(inner_1110, NULL, NULL);
    YC_TRY {
        yc_wait_for(t, 0.25);
    } YC_EXCEPT(&yc_TimeoutError) {
        yc_exc *e = yc_exc_current();
        log_exc("caught", e);
        log_exc("cause", yc_exc_cause(e));
        LOG("at %ld, inner cancelled %d", now_ms(), yc_task_cancelled(t));
    } YC_END;
    yc_task_unref(t);
    yc_task *u = yc_task_spawn(logs_start, "u", NULL);
    YC_TRY {
        yc_wait_for(u, 0);
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timeout 0: cancelled %d", yc_task_cancelled(u));
    } YC_END;
    yc_task_unref(u);
    yc_task *w = yc_task_spawn(sleeper, &(double){0.1}, NULL);
    LOG("in time: %g", yc_wait_for(w, 5).f);
    yc_task_unref(w);
    return YC_NONE;
}

TEST(sec11_12_sec12_19_sec12_20_wait_for)
{
    /* [11.12] [12.19]: TimeoutError() from CancelledError, the inner task
     * cancelled and finished (its finally ran) before wait_for returns;
     * [12.20] a timeout of 0: the task never starts */
    log_clear();
    CHECK_ST(run_v(wait_for_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("inner finally|caught: TimeoutError|cause: CancelledError|"
                 "at 250, inner cancelled 1|timeout 0: cancelled 1|in time: 0.1");
}

/* ---- 11.13 / 12.23-12.26: gather ----------------------------------------- */

static yc_val fails_after(void *arg)
{
    yc_sleep(*(double *)arg);
    LOG("raising at %ld", now_ms());
    yc_raise(yc_exc_new(&yc_KeyError, "k"));
}

static yc_val gather_main(void *arg)
{
    (void)arg;
    yc_task *ts[3] = {yc_task_spawn(sleeper, &(double){0.3}, NULL),
                      yc_task_spawn(fails_after, &(double){0.1}, NULL),
                      yc_task_spawn(sleeper, &(double){0.2}, NULL)};
    YC_TRY {
        yc_gather(ts, 3, 0);
    } YC_EXCEPT(&yc_KeyError) {
        LOG("gather raised at %ld: %s", now_ms(), yc_exc_msg(yc_exc_current()));
    } YC_END;
    yc_sleep(1);
    bool sc = yc_task_cancelled(ts[0]);
    LOG("sibling cancelled %d result %g", sc, yc_await(ts[0]).f);
    yc_gather(ts, 3, YC_RETURN_EXCEPTIONS);
    for (int i = 0; i < 3; i++) {
        yc_exc *e;
        yc_task_exception(ts[i], &e);
        if (e) log_exc("item", e);
        else LOG("item %g", yc_await(ts[i]).f);
    }
    yc_gather(NULL, 0, 0);
    LOG("empty gather");
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(sec11_13_sec12_23_sec12_24_sec12_26_gather)
{
    /* [11.13] [12.23] the first exception propagates, siblings keep
     * running; [12.24] return_exceptions; [12.26] gather() of nothing */
    log_clear();
    CHECK_ST(run_v(gather_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("raising at 100|gather raised at 100: k|sibling cancelled 0 result 0.3|"
                 "item 0.3|item: KeyError: 'k'|item 0.2|empty gather");
}

static yc_val gather_waiter(void *arg)
{
    YC_TRY {
        yc_gather((yc_task *const *)arg, 2, 0);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("gather raised CancelledError");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val gather_cancel_main(void *arg)
{
    (void)arg;
    yc_task *ts[2] = {yc_task_spawn(sleeps_logs_cancel, NULL, NULL),
                      yc_task_spawn(sleeps_logs_cancel, NULL, NULL)};
    yc_task *w = yc_task_spawn(gather_waiter, ts, NULL);
    yc_sleep(0.1);
    yc_task_cancel(w, NULL);
    YC_TRY {
        yc_await(w);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("children cancelled %d %d", yc_task_cancelled(ts[0]), yc_task_cancelled(ts[1]));
    } YC_END;
    yc_task *g = yc_gather_future(ts, 2, 0); /* done at once: a child was cancelled */
    LOG("cancel done gather %d", yc_task_cancel(g, NULL));
    yc_exc *e;
    CHECK_ST(yc_task_exception(g, &e), YC_OK);
    CHECK(yc_exc_is(e, &yc_CancelledError));
    yc_task_unref(g);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    yc_task_unref(w);
    return YC_NONE;
}

TEST(sec11_13_sec12_25_cancelling_a_gather_cancels_every_child)
{
    /* [11.13] [12.25] */
    log_clear();
    CHECK_ST(run_v(gather_cancel_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("body: CancelledError|body: CancelledError|gather raised CancelledError|"
                 "children cancelled 1 1|cancel done gather 0");
}

/* ---- 11.14 / 12.27-12.30: wait -------------------------------------------- */

static yc_val wait_main(void *arg)
{
    (void)arg;
    yc_task *ts[2] = {yc_task_spawn(sleeper, &(double){0.1}, NULL),
                      yc_task_spawn(sleeper, &(double){5}, NULL)};
    size_t n = yc_wait(ts, 2, 1.0, YC_ALL_COMPLETED);
    LOG("timeout: %zu done at %ld, pending cancelled %d", n, now_ms(), yc_task_cancelled(ts[1]));
    yc_task *f[2] = {yc_task_spawn(fails_after, &(double){0.2}, NULL), ts[1]};
    n = yc_wait(f, 2, INFINITY, YC_FIRST_EXCEPTION);
    LOG("first exception: %zu done at %ld", n, now_ms());
    n = yc_wait(ts, 2, INFINITY, YC_FIRST_COMPLETED);
    LOG("first completed: %zu done at %ld", n, now_ms());
    YC_TRY {
        yc_wait(ts, 0, INFINITY, YC_ALL_COMPLETED);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("empty", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_wait(ts, 2, INFINITY, 7);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("bad", yc_exc_current());
    } YC_END;
    yc_task_cancel(ts[1], NULL);
    yc_wait(&ts[1], 1, INFINITY, YC_ALL_COMPLETED);
    yc_exc *e;
    yc_task_exception(f[0], &e); /* retrieved: no report */
    yc_task_unref(f[0]);
    for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(sec11_14_sec12_27_sec12_29_sec12_30_wait)
{
    /* [11.14] [12.27] (done, pending), nothing cancelled; [12.29] empty;
     * [12.30] bad return_when. ([12.28] passing coroutines: C's types
     * make it impossible.) */
    log_clear();
    CHECK_ST(run_v(wait_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("timeout: 1 done at 1000, pending cancelled 0|raising at 1200|"
                 "first exception: 1 done at 1200|first completed: 1 done at 1200|"
                 "empty: ValueError: Set of Tasks/Futures is empty.|"
                 "bad: ValueError: Invalid return_when value: 7");
}

/* ---- 12.7: cancel then uncancel before the start -------------------------- */

static yc_val uncancel_before_start(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(returns_5, NULL, NULL);
    yc_task_cancel(t, NULL);
    yc_task_uncancel(t);
    LOG("result %lld", (long long)yc_await(t).i);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec12_7_cancel_then_uncancel_before_the_start_runs_normally)
{
    /* [12.7] as 3.13 (3.11 and 3.12 cancel it) */
    log_clear();
    CHECK_ST(run_v(uncancel_before_start, NULL, NULL), YC_OK);
    CHECK_LOG_IS("result 5");
}

/* ---- 12.9: a task awaiting itself ------------------------------------------ */

static yc_val awaits_itself(void *arg)
{
    (void)arg;
    yc_await(yc_task_current());
    return YC_NONE;
}

static yc_val main_129(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(awaits_itself, NULL, &(yc_task_opts){.name = "Me"});
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("caught", yc_exc_current());
    } YC_END;
    yc_task_unref(t);
    return YC_NONE;
}

TEST(sec12_9_a_task_awaiting_itself)
{
    /* [12.9] */
    log_clear();
    CHECK_ST(run_v(main_129, NULL, NULL), YC_OK);
    CHECK_LOG_IS("caught: RuntimeError: Task cannot await on itself: <Task pending name='Me'>");
}

/* ---- 12.11 / 12.12: the reports -------------------------------------------- */

static yc_val raises_value_error(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new(&yc_ValueError, "boom"));
}

static yc_val main_1212(void *arg)
{
    (void)arg;
    yc_task_unref(yc_task_spawn(raises_value_error, NULL, &(yc_task_opts){.name = "bad"}));
    yc_task *kept = yc_task_spawn(raises_value_error, NULL, &(yc_task_opts){.name = "kept"});
    yc_sleep(0.1);
    yc_exc *e;
    CHECK_ST(yc_task_exception(kept, &e), YC_OK); /* retrieved: not reported */
    yc_task_unref(kept);
    return YC_NONE;
}

TEST(sec12_12_an_exception_nobody_retrieved_is_reported)
{
    /* [12.12] "Task exception was never retrieved" */
    capture_reports();
    CHECK_ST(run_v(main_1212, NULL, NULL), YC_OK);
    CHECK_STR(unraisable_text, "Task exception was never retrieved\n"
                               "future: <Task finished name='bad' exception=ValueError('boom')> "
                               ":: ValueError: boom");
    release_reports();
}

TEST(sec12_11_a_pending_task_destroyed_is_reported)
{
    /* [12.11] "Task was destroyed but it is pending!": a loop closed with
     * a task that never ran */
    capture_reports();
    yc_loop *L = yc_loop_new(NULL);
    yc_task *t = yc_loop_spawn(L, logs_start, "never", &(yc_task_opts){.name = "P"});
    log_clear();
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK_STR(unraisable_text, "Task was destroyed but it is pending!\ntask: <Task pending name='P'>");
    CHECK_LOG_IS("");
    CHECK(yc_task_done(t));
    yc_task_unref(t);
    yc_loop_free(L);
    release_reports();
}

/* ---- 12.22: sleep(0) is round robin ------------------------------------------ */

static yc_val rr(void *arg)
{
    long i = (long)(intptr_t)arg;
    LOG("%ld", i);
    yc_sleep(0);
    LOG("%ld", i + 10);
    return YC_NONE;
}

static yc_val main_1222(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (long i = 0; i < 3; i++) ts[i] = yc_task_spawn(rr, (void *)(intptr_t)i, NULL);
    yc_gather(ts, 3, 0);
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(sec12_22_sleep_0_is_round_robin)
{
    /* [12.22] */
    log_clear();
    CHECK_ST(run_v(main_1222, NULL, NULL), YC_OK);
    CHECK_LOG_IS("0|1|2|10|11|12");
}

/* ---- 12.21: sleep(NaN) ------------------------------------------------------ */

static yc_val sleep_nan(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(NAN);
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("caught", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(sec12_21_sleep_nan_is_ValueError)
{
    /* [12.21] as 3.13 */
    log_clear();
    CHECK_ST(run_v(sleep_nan, NULL, NULL), YC_OK);
    CHECK_LOG_IS("caught: ValueError: Invalid delay: NaN (not a number)");
}

TEST_MAIN()
