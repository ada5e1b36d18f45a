/* Fault-injection sweep over the event loop (fault_sweep.h says what is
 * checked): each operation runs a whole program under yc_loop_run on the
 * virtual clock; an allocation failing anywhere in it must end as a
 * MemoryError out of the run (or be survived with the same result), leak
 * nothing, and leave the thread able to run the next loop. */
#include "fault_sweep.h"

#include <math.h>

/* Runs main_fn as a main task; its return value and the log are the
 * fingerprint. */
static int run_main(yc_gen_fn main_fn, void *arg)
{
    yc_val out;
    int st = yc_loop_run(main_fn, arg, &(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL}, &out);
    if (st < 0) return got_exc(yc_err_take());
    fp_val(out);
    return 0;
}

/* Task arguments must outlive the tasks (a task may still start after the
 * main task failed): file-scope constants. */
static double one = 1, five = 5, ten = 10;

static yc_val sleeps(void *arg)
{
    yc_sleep(*(double *)arg);
    fp_add("slept %g;", *(double *)arg);
    return yc_float(*(double *)arg);
}

static yc_val returns_5(void *arg)
{
    (void)arg;
    return yc_int(5);
}

static int op_run(void) { return run_main(returns_5, NULL); }

/* ---- spawn, await, gather ---------------------------------------------------- */

static yc_val spawns(void *arg)
{
    (void)arg;
    static double d[3] = {0.3, 0.1, 0.2}; /* outlives every task: see docs/loop.md */
    yc_task *volatile ts[3] = {NULL, NULL, NULL};
    volatile int64_t sum = 0;
    YC_TRY {
        for (int i = 0; i < 3; i++) {
            ts[i] = yc_task_spawn(sleeps, &d[i], NULL);
            if (!ts[i]) YC_CHECK(-1);
        }
        yc_gather((yc_task *const *)ts, 3, 0);
        for (int i = 0; i < 3; i++) sum += (int64_t)(yc_await(ts[i]).f * 10);
    } YC_FINALLY {
        for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    } YC_END;
    return yc_int(sum);
}

static int op_spawn_gather(void) { return run_main(spawns, NULL); }

/* ---- cancellation with a message ------------------------------------------------ */

static yc_val cancels(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeps, &ten, NULL);
    if (!t) YC_CHECK(-1);
    YC_TRY {
        yc_sleep(0.5);
        YC_CHECK(yc_task_cancel(t, "a message long enough not to fit anywhere small"));
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        fp_add("cancelled: %s;", yc_exc_msg(yc_exc_current()));
    } YC_FINALLY {
        yc_task_unref(t);
    } YC_END;
    return YC_NONE;
}

static int op_cancel(void) { return run_main(cancels, NULL); }

/* ---- timeouts and wait_for -------------------------------------------------------- */

static yc_val times_out(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.5), tm) {
            yc_sleep(10);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        fp_add("timeout at %g;", yc_loop_time(NULL));
    } YC_END;
    yc_task *t = yc_task_spawn(sleeps, &five, NULL);
    if (!t) YC_CHECK(-1);
    YC_TRY {
        yc_wait_for(t, 1);
    } YC_EXCEPT(&yc_TimeoutError) {
        fp_add("wait_for timeout at %g;", yc_loop_time(NULL));
    } YC_FINALLY {
        yc_task_unref(t);
    } YC_END;
    return YC_NONE;
}

static int op_timeouts(void) { return run_main(times_out, NULL); }

/* ---- shield, wait, as_completed --------------------------------------------------- */

static yc_val combinators(void *arg)
{
    (void)arg;
    static double d[2] = {0.2, 0.1};
    yc_task *volatile ts[2] = {NULL, NULL};
    yc_iter *volatile it = NULL;
    YC_TRY {
        for (int i = 0; i < 2; i++) {
            ts[i] = yc_task_spawn(sleeps, &d[i], NULL);
            if (!ts[i]) YC_CHECK(-1);
        }
        fp_add("done %zu;", yc_wait((yc_task *const *)ts, 2, INFINITY, YC_FIRST_COMPLETED));
        fp_add("shield %g;", yc_shield(ts[0]).f);
        it = yc_as_completed((yc_task *const *)ts, 2, INFINITY);
        if (!it) YC_CHECK(-1);
        int st;
        YC_FOREACH(v, it, st) fp_add("as_completed %g;", yc_await(v.p).f);
        YC_CHECK(st);
    } YC_FINALLY {
        yc_iter_free(it);
        for (int i = 0; i < 2; i++) yc_task_unref(ts[i]);
    } YC_END;
    return YC_NONE;
}

static int op_combinators(void) { return run_main(combinators, NULL); }

/* ---- callbacks, futures, done callbacks -------------------------------------------- */

static void note(void *arg) { fp_add("%s;", (const char *)arg); }

static void note_done(yc_task *f, void *ud)
{
    (void)f;
    fp_add("%s;", (const char *)ud);
}

static yc_val callbacks(void *arg)
{
    (void)arg;
    yc_handle *h = NULL;
    YC_CHECK(yc_loop_call_soon(NULL, note, "soon", NULL));
    YC_CHECK(yc_loop_call_later(NULL, 0.2, note, "later", NULL));
    YC_CHECK(yc_loop_call_later(NULL, 0.1, note, "cancelled", &h));
    yc_handle_cancel(h);
    yc_handle_free(h);
    YC_CHECK(yc_loop_call_soon_threadsafe(yc_loop_current(), note, "threadsafe"));
    yc_task *f = yc_future_new(NULL);
    if (!f) YC_CHECK(-1);
    YC_TRY {
        YC_CHECK(yc_task_add_done_callback(f, note_done, "done"));
        yc_future_set_result(f, yc_int(1));
        yc_sleep(0.5);
    } YC_FINALLY {
        yc_task_unref(f);
    } YC_END;
    return YC_NONE;
}

static int op_callbacks(void) { return run_main(callbacks, NULL); }

/* ---- a generator that waits inside a task ------------------------------------------- */

static yc_val ticker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        yc_sleep(1);
        yc_yield(yc_int(i));
    }
    return YC_NONE;
}

static yc_val iterates(void *arg)
{
    (void)arg;
    yc_gen *g = yc_gen_new(ticker, NULL, NULL);
    if (!g) YC_CHECK(-1);
    int st;
    YC_TRY {
        YC_FOREACH(v, yc_gen_iter(g), st) fp_add("tick %lld;", (long long)v.i);
        YC_CHECK(st < 0 ? st : 0);
    } YC_FINALLY {
        yc_gen_free(g);
    } YC_END;
    return YC_NONE;
}

static int op_chain(void) { return run_main(iterates, NULL); }

/* ---- a loop closed with pending tasks ----------------------------------------------- */

static int op_close_pending(void)
{
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL});
    if (!L) return failed();
    yc_task *t = yc_loop_spawn(L, sleeps, &ten, NULL);
    yc_task *s = t ? yc_loop_spawn(L, sleeps, &one, NULL) : NULL;
    int r = 0;
    if (!s) r = failed();
    else if (yc_loop_run_until_complete(L, s, NULL) < 0) r = failed();
    yc_loop_close(L); /* reports t (counted by the sweep's hook) */
    if (r == 0) fp_add("t done %d;", yc_task_done(t));
    yc_task_unref(t);
    yc_task_unref(s);
    yc_loop_free(L);
    return r;
}

/* ---- a task group with a failing child ---------------------------------------- */

static yc_val fails(void *arg)
{
    yc_sleep(*(double *)arg);
    yc_raise(yc_exc_new(&yc_ValueError, "child failed"));
}

/* Children of the group that started and have not ended: the group's exit
 * must never return while one still runs, whatever failed (they would
 * outlive what they were given). */
static int group_live;

static yc_val group_child(void *arg)
{
    group_live++;
    YC_TRY {
        yc_sleep(*(double *)arg);
    } YC_FINALLY {
        group_live--;
    } YC_END;
    return YC_NONE;
}

static yc_val grouped(void *arg)
{
    (void)arg;
    group_live = 0;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            yc_task *c = yc_taskgroup_spawn(g.p, group_child, &ten, NULL);
            if (!c) YC_CHECK(-1);
            yc_task_unref(c);
            yc_task *a = yc_taskgroup_spawn(g.p, sleeps, &ten, NULL);
            if (!a) YC_CHECK(-1);
            yc_task_unref(a);
            yc_task *b = yc_taskgroup_spawn(g.p, fails, &one, NULL);
            if (!b) YC_CHECK(-1);
            yc_task_unref(b);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        yc_exc *eg = yc_exc_current();
        /* a child that ran out of memory (its CancelledError could not be
         * made) is one of the group's failures: the run failed with it */
        yc_exc *oom = yc_exc_group_subgroup(eg, &yc_MemoryError);
        if (oom) {
            yc_exc_unref(oom);
            yc_raise(yc_exc_new(&yc_MemoryError, NULL));
        }
        char text[120];
        yc_exc_format(eg, text, sizeof text);
        fp_add("%s;", text);
    } YC_FINALLY {
        CHECK_EQ_INT(group_live, 0); /* however the exit ended */
    } YC_END;
    return YC_NONE;
}

static int op_taskgroup(void) { return run_main(grouped, NULL); }

static const fault_op loop_ops[] = {
    {"taskgroup", op_taskgroup, NULL},
    {"loop_run", op_run, NULL},
    {"spawn_gather", op_spawn_gather, NULL},
    {"cancel", op_cancel, NULL},
    {"timeouts", op_timeouts, NULL},
    {"combinators", op_combinators, NULL},
    {"callbacks", op_callbacks, NULL},
    {"chain", op_chain, NULL},
    {"close_pending", op_close_pending, NULL},
};

TEST(faults_event_loop)
{
    sweep_all(loop_ops, sizeof loop_ops / sizeof loop_ops[0]);
    CHECK(sweep_total_rounds > 100);
}

TEST_MAIN()
