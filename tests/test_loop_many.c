/*
 * The event loop with many tasks: gather, wait and as_completed take each
 * task once however often it is given (the hash set of aio.c, with
 * thousands of entries); asyncio.run's shutdown cancels
 * and joins ten thousand pending tasks; a loop with ready callbacks and no
 * thread-safe call makes no system call (an eventfd written from another
 * thread is still seen); a task takes its stack at its first step, so
 * tasks that end there share one; a loop keeps the stacks of its peak
 * number of started tasks warm while it runs, gives back what a second's
 * peak did not need, and all of it when it closes.
 */
#include "loop_util.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

enum { NT = 1000 };

static long ran;

static yc_val one_step(void *arg)
{
    yc_sleep(0);
    ran++;
    return yc_int((int64_t)(intptr_t)arg);
}

/* Each task given twice, the second copies in reverse order. */
static yc_val gather_twice(void *arg)
{
    (void)arg;
    yc_task *ts[NT], *args[2 * NT];
    for (int i = 0; i < NT; i++) ts[i] = yc_task_spawn(one_step, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < NT; i++) {
        args[i] = ts[i];
        args[2 * NT - 1 - i] = ts[i];
    }
    ran = 0;
    yc_gather(args, 2 * NT, 0);
    CHECK_EQ_INT(ran, NT);
    for (int i = 0; i < NT; i++) {
        yc_val v;
        CHECK_ST(yc_task_result(ts[i], &v), YC_OK);
        CHECK_INTV(v, i);
    }
    /* wait: the distinct tasks, all done */
    CHECK_EQ_INT(yc_wait(args, 2 * NT, INFINITY, YC_ALL_COMPLETED), NT);
    /* as_completed: each task once */
    yc_iter *it = yc_as_completed(args, 2 * NT, INFINITY);
    CHECK(it != NULL);
    long n = 0;
    yc_val v;
    while (yc_iter_next(it, &v) == YC_YIELD) n++;
    CHECK_EQ_INT(n, NT);
    yc_iter_free(it);
    for (int i = 0; i < NT; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(gather_wait_and_as_completed_take_each_of_many_tasks_once)
{
    CHECK_ST(run_v(gather_twice, NULL, NULL), YC_OK);
}

/* A child that fails among many: gather raises it at once, the others go
 * on; with YC_RETURN_EXCEPTIONS it waits for all. */
static yc_val fail_at(void *arg)
{
    yc_sleep(0);
    if ((intptr_t)arg == NT / 2) yc_raisef(&yc_KeyError, "k");
    ran++;
    return YC_NONE;
}

static yc_val gather_fail(void *arg)
{
    (void)arg;
    yc_task *ts[NT], *args[2 * NT];
    for (int i = 0; i < NT; i++) ts[i] = yc_task_spawn(fail_at, (void *)(intptr_t)i, NULL);
    for (int i = 0; i < NT; i++) args[2 * i] = args[2 * i + 1] = ts[i];
    ran = 0;
    YC_TRY {
        yc_gather(args, 2 * NT, 0);
        CHECK(false);
    } YC_EXCEPT(&yc_KeyError) {
        LOG("gather raised");
    } YC_END;
    yc_gather(args, 2 * NT, YC_RETURN_EXCEPTIONS);
    CHECK_EQ_INT(ran, NT - 1);
    for (int i = 0; i < NT; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(gather_of_many_tasks_with_a_failure)
{
    log_clear();
    CHECK_ST(run_v(gather_fail, NULL, NULL), YC_OK);
    CHECK_LOG_IS("gather raised");
}

/* asyncio.run's shutdown: ten thousand tasks still sleeping when the main
 * task returns are cancelled and joined (one gather over all of them). */
enum { NSLEEP = 10000 };
static long cancelled;

static yc_val sleep_long(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(3600);
    } YC_EXCEPT(&yc_CancelledError) {
        cancelled++;
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val leave_sleepers(void *arg)
{
    (void)arg;
    for (int i = 0; i < NSLEEP; i++) yc_task_unref(yc_task_spawn(sleep_long, NULL, NULL));
    yc_sleep(0);
    return YC_NONE;
}

TEST(run_cancels_and_joins_ten_thousand_pending_tasks)
{
    cancelled = 0;
    CHECK_ST(yc_loop_run(leave_sleepers, NULL, &(yc_loop_opts){.task_stack = YC_STACK_MIN}, NULL), YC_OK);
    CHECK_EQ_INT(cancelled, NSLEEP);
}

/* Ping-pong through futures while another thread posts thread-safe calls:
 * every call runs although ready callbacks never run out. */
enum { NCALLS = 200 };
static _Atomic long calls_run;
static yc_task *box[2];
static _Atomic int pinging;

static void count_call(void *arg)
{
    (void)arg;
    atomic_fetch_add(&calls_run, 1);
}

static void *poster(void *arg)
{
    yc_loop *L = arg;
    for (int i = 0; i < NCALLS; i++) {
        CHECK_ST(yc_loop_call_soon_threadsafe(L, count_call, NULL), YC_OK);
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return NULL;
}

static yc_val pong(void *arg)
{
    (void)arg;
    while (atomic_load(&pinging)) {
        box[1] = yc_future_new(NULL);
        yc_val v = yc_await(box[1]);
        yc_task_unref(box[1]);
        box[1] = NULL;
        if (v.i < 0) break;
        yc_future_set_result(box[0], yc_int(v.i + 1));
    }
    return YC_NONE;
}

static yc_val ping(void *arg)
{
    pthread_t th;
    CHECK(pthread_create(&th, NULL, poster, yc_loop_current()) == 0);
    yc_task *p = yc_task_spawn(pong, NULL, NULL);
    yc_sleep(0);
    int64_t i = 0;
    double t0 = yc_loop_time(NULL);
    /* ready work every iteration, until every call ran (or 60 s: fails) */
    while (atomic_load(&calls_run) < NCALLS && yc_loop_time(NULL) - t0 < 60) {
        box[0] = yc_future_new(NULL);
        yc_future_set_result(box[1], yc_int(i));
        yc_val v = yc_await(box[0]);
        CHECK_INTV(v, i + 1);
        yc_task_unref(box[0]);
        i++;
    }
    atomic_store(&pinging, 0);
    yc_future_set_result(box[1], yc_int(-1));
    yc_await(p);
    yc_task_unref(p);
    pthread_join(th, NULL);
    (void)arg;
    return YC_NONE;
}

TEST(thread_safe_calls_run_while_tasks_keep_the_loop_busy)
{
    atomic_store(&pinging, 1);
    atomic_store(&calls_run, 0);
    CHECK_ST(yc_loop_run(ping, NULL, NULL, NULL), YC_OK);
    CHECK_EQ_INT(atomic_load(&calls_run), NCALLS);
}

/* ---- warm stacks retained by a running loop --------------------------- */

enum { NR = 2000 };

static yc_val returns_at_once(void *arg) { return yc_int((int64_t)(intptr_t)arg); }

/* A task takes its stack at its first step: these hold theirs together
 * (each is started before any ends). */
static yc_val yields_once(void *arg)
{
    yc_sleep(0);
    return yc_int((int64_t)(intptr_t)arg);
}

static long pooled(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.stacks_pooled;
}

static long chunks(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.stack_chunks;
}

static void spawn_and_join_with(yc_gen_fn body)
{
    yc_task **ts = malloc(NR * sizeof *ts);
    CHECK(ts != NULL);
    for (int i = 0; i < NR; i++) CHECK((ts[i] = yc_task_spawn(body, (void *)(intptr_t)i, NULL)) != NULL);
    yc_gather(ts, NR, 0);
    for (int i = 0; i < NR; i++) {
        yc_val v;
        CHECK_ST(yc_task_result(ts[i], &v), YC_OK);
        CHECK_INTV(v, i);
        yc_task_unref(ts[i]);
    }
    free(ts);
}

static void spawn_and_join(void) { spawn_and_join_with(yields_once); }

static yc_val retain_batches(void *arg)
{
    (void)arg;
    spawn_and_join();
    /* every task's stack came back warm: kept, not unmapped */
    long kept = pooled(), mapped = chunks();
    CHECK(kept >= NR);
    /* the next batch takes them: no new chunk */
    spawn_and_join();
    CHECK_EQ_INT(chunks(), mapped);
    CHECK(pooled() >= NR);
    /* reviews once a second of loop time, before a wait: the first (at
     * 1.5 s) sees the window of the batches and keeps them; the second (at
     * 3 s) a window whose peak is the main task alone: they go */
    yc_sleep(1.5);
    CHECK(pooled() >= NR);
    yc_sleep(1.5);
    CHECK(pooled() >= NR);
    yc_sleep(1.5);
    CHECK(pooled() <= 128);
    CHECK(chunks() < mapped);
    return YC_NONE;
}

/* Tasks that end in their first step never hold two stacks at once: each
 * takes the one the previous task gave back. */
static yc_val batches_that_return_at_once(void *arg)
{
    (void)arg;
    long mapped = chunks();
    for (int k = 0; k < 3; k++) spawn_and_join_with(returns_at_once);
    CHECK(chunks() - mapped <= 1);
    return YC_NONE;
}

TEST(tasks_that_end_in_their_first_step_share_one_warm_stack)
{
    yc_stack_pool_trim();
    yc_loop_opts o = {.clock = YC_CLOCK_VIRTUAL, .task_stack = YC_STACK_MIN};
    CHECK_ST(yc_loop_run(batches_that_return_at_once, NULL, &o, NULL), YC_OK);
}

/* A task whose stack cannot be mapped at its first step ends with the
 * OSError, its body not run; spawn itself succeeded. */
static int body_runs;

static yc_val counts_its_run(void *arg)
{
    body_runs++;
    return yc_int((int64_t)(intptr_t)arg);
}

static yc_val stack_fails_at_first_step(void *arg)
{
    (void)arg;
    /* a size no pooled stack has: the first step must map */
    yc_task *t = yc_task_spawn(counts_its_run, NULL, &(yc_task_opts){.stack_size = 5 * YC_STACK_MIN});
    CHECK(t != NULL);
    yc__fault_map_after(1);
    yc_exc *e = NULL;
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_OSError) {
        e = yc_exc_ref(yc_exc_current());
    } YC_END;
    yc__fault_map_after(0);
    CHECK(e != NULL);
    CHECK_EQ_INT(yc_exc_errno(e), ENOMEM);
    CHECK(strstr(yc_exc_msg(e), "cannot map") != NULL);
    yc_exc_unref(e);
    CHECK_EQ_INT(body_runs, 0);
    CHECK(yc_task_done(t) && !yc_task_cancelled(t));
    yc_task_unref(t);
    /* the loop goes on: the next task maps and runs */
    t = yc_task_spawn(counts_its_run, (void *)7, &(yc_task_opts){.stack_size = 5 * YC_STACK_MIN});
    CHECK_INTV(yc_await(t), 7);
    CHECK_EQ_INT(body_runs, 1);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(a_task_whose_stack_cannot_be_mapped_ends_with_the_OSError)
{
    yc_stack_pool_trim();
    CHECK_ST(yc_loop_run(stack_fails_at_first_step, NULL, NULL, NULL), YC_OK);
}

TEST(a_running_loop_keeps_its_peak_of_task_stacks_warm_then_gives_them_back)
{
    yc_stack_pool_trim();
    yc_loop_opts o = {.clock = YC_CLOCK_VIRTUAL, .task_stack = YC_STACK_MIN};
    CHECK_ST(yc_loop_run(retain_batches, NULL, &o, NULL), YC_OK);
    CHECK(pooled() <= 128);
    /* the same after a loop that ends at its peak: closing gives it back */
    o.clock = YC_CLOCK_MONOTONIC;
    CHECK_ST(yc_loop_run(leave_sleepers, NULL, &o, NULL), YC_OK);
    CHECK(pooled() <= 128);
}

TEST_MAIN()
