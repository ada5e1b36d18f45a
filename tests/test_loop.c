/*
 * The event loop: callbacks and their order, handles, thread-safe calls,
 * run/stop/close and their misuse (12.51, 12.52), eager tasks, futures,
 * done callbacks, reprs, the virtual clock's deadlock, SystemExit out of a
 * task, and generators that a task iterates waiting inside it. Expected
 * logs are what CPython 3.13's asyncio prints for the same program.
 */
#include "loop_util.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

static void log_cb(void *arg) { LOG("%s", (const char *)arg); }

/* ---- 12.51 / 12.52: the loop's misuse ------------------------------------- */

static yc_val nested_run(void *arg)
{
    (void)arg;
    CHECK_ST(yc_loop_run(nested_run, NULL, NULL, NULL), YC_EINVAL);
    log_exc("nested", yc_err_get());
    yc_err_clear();
    yc_loop *L = yc_loop_current();
    yc_task *t = yc_task_current();
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_EINVAL);
    log_exc("again", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_run_forever(L), YC_EINVAL);
    yc_err_clear();
    CHECK_ST(yc_loop_close(L), YC_EINVAL);
    log_exc("close", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_free(L), YC_EINVAL);
    yc_err_clear();
    yc_loop *other = yc_loop_new(NULL);
    CHECK_ST(yc_loop_run_forever(other), YC_EINVAL);
    log_exc("other", yc_err_get());
    yc_err_clear();
    yc_loop_free(other);
    return YC_NONE;
}

TEST(sec12_51_sec12_52_running_loop_misuse)
{
    /* [12.51] [12.52] */
    log_clear();
    CHECK_ST(run_v(nested_run, NULL, NULL), YC_OK);
    CHECK_LOG_IS("nested: RuntimeError: asyncio.run() cannot be called from a running event loop|"
                 "again: RuntimeError: This event loop is already running|"
                 "close: RuntimeError: Cannot close a running event loop|"
                 "other: RuntimeError: Cannot run the event loop while another loop is running");
}

static void stop_cb(void *arg) { yc_loop_stop(arg); }

TEST(sec12_52_closed_loop_no_running_loop_and_stop)
{
    /* [12.52] "Event loop is closed", "no running event loop", "Event
     * loop stopped before Future completed." */
    CHECK(yc_task_spawn(sleeper, &(double){1}, NULL) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    CHECK(yc_future_new(NULL) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    CHECK_ST(yc_loop_call_soon(NULL, log_cb, "x", NULL), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");

    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL});
    yc_task *t = yc_loop_spawn(L, sleeper, &(double){5}, NULL);
    CHECK_ST(yc_loop_call_later(L, 1, stop_cb, L, NULL), YC_OK);
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop stopped before Future completed.");
    CHECK(!yc_loop_is_running(L));
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK); /* resumes where it was */
    CHECK(fabs(yc_loop_time(L) - 5) < 1e-9);
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK(yc_loop_is_closed(L));
    CHECK_ST(yc_loop_close(L), YC_OK); /* again: nothing */
    CHECK_ST(yc_loop_run_forever(L), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK_ST(yc_loop_call_soon(L, log_cb, "x", NULL), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK(yc_loop_spawn(L, sleeper, &(double){1}, NULL) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK(yc_future_new(L) == NULL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    yc_task_unref(t);
    CHECK_ST(yc_loop_free(L), YC_OK);
}

TEST(loop_opts_and_null_arguments)
{
    CHECK(yc_loop_new(&(yc_loop_opts){.clock = 9}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_loop_opts: unknown clock 9");
    CHECK(yc_loop_new(&(yc_loop_opts){.flags = 1}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_loop_opts: unknown flags 0x1");
    CHECK(yc_loop_new(&(yc_loop_opts){.task_stack = 100}) == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK_ST(yc_loop_run(NULL, NULL, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_loop_run: task function is NULL");
    CHECK_ST(yc_loop_run_forever(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
    CHECK_ST(yc_loop_close(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
    CHECK_ST(yc_loop_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
    CHECK_ST(yc_loop_run_until_complete(NULL, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
    CHECK(!yc_loop_is_running(NULL) && !yc_loop_is_closed(NULL));
    CHECK(yc_loop_current() == NULL && yc_task_current() == NULL);
    yc_loop *L = yc_loop_new(NULL);
    CHECK_ST(yc_loop_run_until_complete(L, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: task is NULL or not a live task");
    CHECK_ST(yc_loop_call_soon(L, NULL, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: callback is NULL");
    CHECK_ST(yc_loop_call_later(L, NAN, log_cb, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: Invalid delay: NaN (not a number)");
    CHECK(yc_loop_spawn(L, NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: task function is NULL");
    CHECK(yc_loop_spawn(L, sleeper, NULL, &(yc_task_opts){.flags = 8}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_task_opts: unknown flags 0x8");
    CHECK(yc_loop_spawn(NULL, sleeper, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
    yc_loop_free(L);
}

/* ---- callbacks: order, cancel, when ---------------------------------------- */

static yc_val callbacks(void *arg)
{
    (void)arg;
    yc_loop *L = yc_loop_current();
    yc_loop_call_later(L, 0.2, log_cb, "later 0.2", NULL);
    yc_loop_call_later(L, 0.1, log_cb, "later 0.1", NULL);
    yc_loop_call_soon(L, log_cb, "soon 1", NULL);
    yc_loop_call_soon(L, log_cb, "soon 2", NULL);
    yc_handle *h;
    CHECK_ST(yc_loop_call_later(L, 0.15, log_cb, "cancelled", &h), YC_OK);
    CHECK(fabs(yc_handle_when(h) - 0.15) < 1e-9);
    yc_handle_cancel(h);
    CHECK(yc_handle_cancelled(h));
    yc_handle_free(h);
    yc_loop_call_at(L, yc_loop_time(L) + 0.1, log_cb, "at 0.1", NULL);
    yc_handle *s;
    yc_loop_call_soon(L, log_cb, "soon cancelled", &s);
    CHECK(isnan(yc_handle_when(s)));
    yc_handle_cancel(s);
    yc_handle_free(s);
    yc_handle *ran;
    yc_loop_call_soon(L, log_cb, "soon 3", &ran);
    yc_sleep(0.3);
    yc_handle_cancel(ran); /* ran already: nothing */
    yc_handle_free(ran);
    return YC_NONE;
}

TEST(callbacks_run_fifo_and_timers_by_deadline)
{
    log_clear();
    CHECK_ST(run_v(callbacks, NULL, NULL), YC_OK);
    CHECK_LOG_IS("soon 1|soon 2|soon 3|later 0.1|at 0.1|later 0.2");
}

static void raising_cb(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new(&yc_ValueError, "in callback"));
}

static yc_val failing_callback(void *arg)
{
    (void)arg;
    yc_loop_call_soon(NULL, raising_cb, NULL, NULL);
    yc_loop_call_soon(NULL, log_cb, "next callback runs", NULL);
    yc_sleep(0.1);
    return YC_NONE;
}

TEST(an_exception_in_a_callback_is_reported_and_the_loop_goes_on)
{
    log_clear();
    capture_reports();
    CHECK_ST(run_v(failing_callback, NULL, NULL), YC_OK);
    CHECK(strncmp(unraisable_text, "Exception in callback ", 22) == 0);
    CHECK(strstr(unraisable_text, ":: ValueError: in callback") != NULL);
    CHECK_LOG_IS("next callback runs");
    release_reports();
}

static void exit_cb(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new(&yc_KeyboardInterrupt, NULL));
}

static yc_val interrupted(void *arg)
{
    (void)arg;
    yc_loop_call_soon(NULL, exit_cb, NULL, NULL);
    YC_TRY {
        yc_sleep(10);
    } YC_FINALLY {
        LOG("main finally at %ld", now_ms());
    } YC_END;
    return YC_NONE;
}

TEST(KeyboardInterrupt_in_a_callback_comes_out_of_the_run)
{
    log_clear();
    CHECK_ST(run_v(interrupted, NULL, NULL), YC_RAISE);
    CHECK_EXC(&yc_KeyboardInterrupt, "KeyboardInterrupt");
    CHECK_LOG_IS("main finally at 0"); /* the shutdown cancelled the main task */
}

static yc_val exits(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new_value(&yc_SystemExit, yc_int(3)));
}

static yc_val spawns_exit(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(exits, NULL, NULL);
    YC_TRY {
        yc_sleep(1);
    } YC_FINALLY {
        LOG("main finally");
        yc_task_exception(t, NULL);
        yc_task_unref(t);
    } YC_END;
    return YC_NONE;
}

TEST(SystemExit_in_a_task_comes_out_of_the_run)
{
    log_clear();
    capture_reports();
    CHECK_ST(run_v(spawns_exit, NULL, NULL), YC_RAISE);
    CHECK_EXC(&yc_SystemExit, "SystemExit: 3");
    CHECK_LOG_IS("main finally");
    release_reports();
}

/* ---- thread-safe calls ------------------------------------------------------- */

typedef struct ts_arg {
    yc_loop *loop;
    int n;
    _Atomic int *ran;
} ts_arg;

static void count_cb(void *arg) { atomic_fetch_add((_Atomic int *)arg, 1); }

static void *poster(void *p)
{
    ts_arg *a = p;
    for (int i = 0; i < a->n; i++)
        if (yc_loop_call_soon_threadsafe(a->loop, count_cb, a->ran) != YC_OK) abort();
    return NULL;
}

static yc_val waits_for_threads(void *arg)
{
    _Atomic int *ran = arg;
    ts_arg a = {yc_loop_current(), 1000, ran};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, poster, &a);
    while (atomic_load(ran) < 2000) yc_sleep(0.001); /* the real clock: wakes on the eventfd */
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    return yc_int(atomic_load(ran));
}

TEST(call_soon_threadsafe_from_other_threads)
{
    _Atomic int ran = 0;
    yc_val out;
    CHECK_ST(yc_loop_run(waits_for_threads, &ran, NULL, &out), YC_OK);
    CHECK_INTV(out, 2000);
}

static void *post_once(void *p)
{
    ts_arg *a = p;
    yc_loop_call_soon_threadsafe(a->loop, count_cb, a->ran);
    return NULL;
}

static yc_val blocks_on_future_from_thread(void *arg)
{
    _Atomic int *ran = arg;
    ts_arg a = {yc_loop_current(), 1, ran};
    pthread_t th;
    pthread_create(&th, NULL, post_once, &a);
    yc_sleep(0.05);
    pthread_join(th, NULL);
    return yc_int(atomic_load(ran));
}

TEST(a_thread_safe_call_wakes_a_waiting_loop)
{
    _Atomic int ran = 0;
    yc_val out;
    CHECK_ST(yc_loop_run(blocks_on_future_from_thread, &ran, NULL, &out), YC_OK);
    CHECK_INTV(out, 1);
    CHECK_ST(yc_loop_call_soon_threadsafe(NULL, count_cb, &ran), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: loop is NULL");
}

/* ---- eager tasks ---------------------------------------------------------------- */

static yc_val eager_body(void *arg)
{
    LOG("%s start", (const char *)arg);
    yc_sleep(0);
    LOG("%s after", (const char *)arg);
    return YC_NONE;
}

static yc_val quick(void *arg)
{
    (void)arg;
    LOG("quick");
    return yc_int(9);
}

static yc_val eager_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(eager_body, "e", &(yc_task_opts){.flags = YC_TASK_EAGER});
    LOG("spawned, done %d", yc_task_done(t));
    yc_task *q = yc_task_spawn(quick, NULL, &(yc_task_opts){.flags = YC_TASK_EAGER});
    yc_val v;
    yc_task_result(q, &v);
    LOG("quick done %d %lld", yc_task_done(q), (long long)v.i);
    yc_await(t);
    yc_task_unref(t);
    yc_task_unref(q);
    return YC_NONE;
}

TEST(eager_tasks_run_to_their_first_suspension_inside_spawn)
{
    log_clear();
    CHECK_ST(run_v(eager_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("e start|spawned, done 0|quick|quick done 1 9|e after");
}

/* ---- futures and done callbacks ------------------------------------------------- */

static void log_done(yc_task *f, void *ud)
{
    yc_val v = YC_NONE;
    if (yc_task_done(f) && !yc_task_cancelled(f)) yc_task_result(f, &v);
    LOG("%s %lld", (const char *)ud, (long long)v.i);
}

static yc_val done_callbacks(void *arg)
{
    (void)arg;
    yc_task *f = yc_future_new(NULL);
    yc_task_add_done_callback(f, log_done, "cb1");
    yc_task_add_done_callback(f, log_done, "cb2");
    yc_task_add_done_callback(f, log_done, "removed");
    CHECK_EQ_INT(yc_task_remove_done_callback(f, log_done, "removed"), 1);
    yc_future_set_result(f, yc_int(3));
    LOG("set");
    yc_sleep(0);
    LOG("after sleep0");
    yc_task_add_done_callback(f, log_done, "cb late");
    LOG("added late");
    yc_sleep(0);
    yc_task *t2 = yc_task_spawn(quick, NULL, NULL);
    yc_task_add_done_callback(t2, log_done, "task cb");
    yc_await(t2);
    LOG("after await");
    yc_sleep(0);
    yc_task_unref(t2);
    yc_task_unref(f);
    return YC_NONE;
}

TEST(done_callbacks_are_scheduled_in_order)
{
    log_clear();
    CHECK_ST(run_v(done_callbacks, NULL, NULL), YC_OK);
    CHECK_LOG_IS("set|cb1 3|cb2 3|after sleep0|added late|cb late 3|quick|task cb 9|after await");
}

static yc_val future_rules(void *arg)
{
    (void)arg;
    char buf[200];
    yc_task *f = yc_future_new(NULL);
    yc_task_format(f, buf, sizeof buf);
    LOG("%s", buf);
    CHECK_ST(yc_future_set_result(f, yc_int(1)), YC_OK);
    yc_task_format(f, buf, sizeof buf);
    LOG("%s", buf);
    CHECK_ST(yc_future_set_result(f, yc_int(2)), YC_EINVAL);
    log_exc("again", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_future_set_exception(f, yc_exc_new(&yc_ValueError, NULL)), YC_EINVAL);
    yc_err_clear();
    yc_task *g = yc_future_new(NULL);
    CHECK_ST(yc_future_set_exception(g, yc_exc_new_value(&yc_StopIteration, yc_int(3))), YC_OK);
    yc_task_format(g, buf, sizeof buf);
    LOG("%s", buf);
    YC_TRY {
        yc_await(g);
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("cause", yc_exc_cause(yc_exc_current()));
    } YC_END;
    yc_task *h = yc_future_new(NULL);
    yc_task_cancel(h, "m");
    yc_task_format(h, buf, sizeof buf);
    LOG("%s", buf);
    YC_TRY {
        yc_await(h);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("await cancelled future", yc_exc_current());
    } YC_END;
    yc_task *t = yc_task_spawn(quick, NULL, NULL);
    CHECK_ST(yc_future_set_result(t, yc_int(1)), YC_EINVAL);
    log_exc("task", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_future_set_exception(t, yc_exc_new(&yc_ValueError, NULL)), YC_EINVAL);
    yc_err_clear();
    yc_task_format(t, buf, sizeof buf);
    LOG("%s", buf);
    yc_await(t);
    yc_task_format(t, buf, sizeof buf);
    LOG("%s", buf);
    yc_task_unref(t);
    yc_task_unref(f);
    yc_task_unref(g);
    yc_task_unref(h);
    return YC_NONE;
}

TEST(futures_results_exceptions_and_reprs)
{
    log_clear();
    CHECK_ST(run_v(future_rules, NULL, NULL), YC_OK);
    const char *want = "<Future pending>|<Future finished result=1>|"
                       "again: InvalidStateError: invalid state|"
                       "<Future finished exception=RuntimeError('StopIteration interacts badly "
                       "with generators and cannot be raised into a Future')>|"
                       "cause: StopIteration: 3|<Future cancelled>|"
                       "await cancelled future: CancelledError: m|"
                       "task: RuntimeError: Task does not support set_result operation|"
                       "<Task pending name='Task-"; /* the number is process-wide */
    CHECK(strncmp(loop_log, want, strlen(want)) == 0);
    CHECK(strstr(loop_log, "' result=9>") != NULL);
}

/* ---- the virtual clock's deadlock ------------------------------------------------- */

static yc_val waits_forever(void *arg)
{
    (void)arg;
    yc_task *f = yc_future_new(NULL);
    YC_TRY {
        yc_await(f);
    } YC_FINALLY {
        log_exc("main finally", yc_exc_current());
        yc_task_unref(f);
    } YC_END;
    return YC_NONE;
}

TEST(the_virtual_clock_reports_a_deadlock_instead_of_hanging)
{
    log_clear();
    CHECK_ST(run_v(waits_forever, NULL, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: deadlock: every task is waiting and nothing can wake them");
    CHECK_LOG_IS("main finally: RuntimeError: deadlock: every task is waiting and nothing can wake them");
}

/* ---- generators that wait inside a task -------------------------------------------- */

static yc_val ticker(void *arg)
{
    (void)arg;
    YC_TRY {
        for (int i = 0;; i++) {
            yc_sleep(1);
            yc_yield(yc_int(i));
        }
    } YC_FINALLY {
        LOG("ticker finally at %ld", now_ms());
        yc_sleep(0.5); /* finally blocks may wait too (aclose) */
        LOG("ticker cleaned up at %ld", now_ms());
    } YC_END;
    return YC_NONE;
}

static yc_val consumer(void *arg)
{
    yc_gen *g = yc_gen_new(ticker, NULL, &(yc_gen_opts){.name = "ticker"});
    *(yc_gen **)arg = g;
    YC_TRY {
        yc_val v;
        int st;
        while ((st = yc_next(g, &v)) == YC_YIELD) LOG("tick %lld at %ld", (long long)v.i, now_ms());
        YC_CHECK(st);
    } YC_FINALLY {
        LOG("consumer finally");
        yc_gen_free(g);
    } YC_END;
    return YC_NONE;
}

static void *other_chain;
static yc_val intruder(void *arg)
{
    (void)arg;
    yc_gen *g = *(yc_gen **)other_chain;
    yc_sleep(1.5); /* the ticker is parked in its sleep */
    CHECK_ST(yc_next(g, NULL), YC_EBUSY);
    log_exc("next", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_close(g, NULL), YC_EBUSY);
    log_exc("close", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, NULL), NULL), YC_EBUSY);
    log_exc("throw", yc_err_get());
    yc_err_clear();
    return YC_NONE;
}

static yc_val chain_main(void *arg)
{
    (void)arg;
    yc_gen *g = NULL;
    other_chain = &g;
    yc_task *c = yc_task_spawn(consumer, &g, NULL);
    yc_task *i = yc_task_spawn(intruder, NULL, NULL);
    yc_sleep(2.5);
    yc_task_cancel(c, NULL);
    YC_TRY {
        yc_await(c);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("consumer cancelled %d at %ld", yc_task_cancelled(c), now_ms());
    } YC_END;
    yc_await(i);
    yc_task_unref(c);
    yc_task_unref(i);
    return YC_NONE;
}

TEST(a_generator_iterated_by_a_task_waits_inside_it)
{
    /* the chain parks whole: the ticker's sleep suspends the consumer
     * task; the intruder sees the ticker as a running async generator;
     * cancelling the consumer raises CancelledError in the ticker's sleep,
     * whose finally runs (and waits) before the consumer's */
    log_clear();
    CHECK_ST(run_v(chain_main, NULL, NULL), YC_OK);
    CHECK_LOG_IS("tick 0 at 1000|"
                 "next: RuntimeError: anext(): asynchronous generator is already running|"
                 "close: RuntimeError: aclose(): asynchronous generator is already running|"
                 "throw: RuntimeError: athrow(): asynchronous generator is already running|"
                 "tick 1 at 2000|ticker finally at 2500|ticker cleaned up at 3000|"
                 "consumer finally|consumer cancelled 1 at 3000");
}

static yc_val closes_early(void *arg)
{
    (void)arg;
    yc_gen *g = yc_gen_new(ticker, NULL, NULL);
    yc_val v;
    yc_next(g, &v);
    LOG("tick %lld", (long long)v.i);
    CHECK_ST(yc_close(g, NULL), YC_OK); /* aclose: the finally waits, inside the task */
    LOG("closed at %ld", now_ms());
    yc_gen_free(g);
    return YC_NONE;
}

TEST(closing_a_generator_whose_finally_waits)
{
    log_clear();
    CHECK_ST(run_v(closes_early, NULL, NULL), YC_OK);
    CHECK_LOG_IS("tick 0|ticker finally at 1000|ticker cleaned up at 1500|closed at 1500");
}

static yc_val deep(int depth)
{
    if (depth == 0) {
        yc_sleep(0.25);
        return yc_int(1);
    }
    return yc_int(deep(depth - 1).i + 1);
}

static yc_val deep_waiter(void *arg)
{
    (void)arg;
    return deep(200);
}

TEST(a_task_waits_at_any_depth_of_C_calls)
{
    yc_val out;
    CHECK_ST(run_v(deep_waiter, NULL, &out), YC_OK);
    CHECK_INTV(out, 201);
}

/* ---- names, stacks, counts ------------------------------------------------------------ */

static yc_val names(void *arg)
{
    (void)arg;
    yc_task *a = yc_task_spawn(quick, NULL, NULL);
    yc_task *b = yc_task_spawn(quick, NULL, &(yc_task_opts){.name = "named", .stack_size = 65536});
    unsigned long na = 0, nb = 0;
    CHECK(sscanf(yc_task_name(a), "Task-%lu", &na) == 1);
    CHECK_STR(yc_task_name(b), "named");
    yc_task *c = yc_task_spawn(quick, NULL, NULL);
    CHECK(sscanf(yc_task_name(c), "Task-%lu", &nb) == 1);
    CHECK_EQ_INT(nb, na + 1); /* a given name does not use a number */
    CHECK(yc_task_loop(a) == yc_loop_current());
    yc_stats s;
    yc_stats_get(&s);
    CHECK(s.tasks >= 4 && s.loops == 1);
    yc_task *ts[3] = {a, b, c};
    yc_gather(ts, 3, 0);
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(task_names_and_counts)
{
    log_clear();
    CHECK_ST(run_v(names, NULL, NULL), YC_OK);
}

TEST(tasks_outlive_their_loop)
{
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL, .task_stack = 32768});
    yc_task *t = yc_loop_spawn(L, quick, NULL, NULL);
    log_clear();
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK);
    yc_loop_free(L);
    CHECK(yc_task_loop(t) == NULL);
    yc_val v;
    CHECK_ST(yc_task_result(t, &v), YC_OK);
    CHECK_INTV(v, 9);
    CHECK_ST(yc_task_add_done_callback(t, log_done, "x"), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    yc_task_unref(t);
}

TEST_MAIN()
