/* Fault-injection sweep over queues and synchronisation (fault_sweep.h
 * says what is checked): each operation makes its objects, runs a program
 * of tasks over them under yc_loop_run on the virtual clock, then frees
 * them. An allocation failing anywhere (an object, a waiter's future, a
 * manager, the queue's array, the tasks, the loop) must end as a
 * MemoryError out of the run, or be survived with the same result; the
 * tasks still waiting are cancelled by the run's shutdown and leave every
 * object free to go (a free refused would mean a waiter left behind), and
 * nothing leaks. */
#include "fault_sweep.h"

static yc_queue *q;
static yc_lock *lk;
static yc_event *ev;
static yc_condition *cv;
static yc_semaphore *sem;
static yc_barrier *bar;

/* Runs main_fn as a main task; its return value and what the tasks noted
 * are the fingerprint. */
static int run_main(yc_gen_fn main_fn)
{
    yc_val out;
    int st = yc_loop_run(main_fn, NULL, &(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL}, &out);
    if (st < 0) return got_exc(yc_err_take());
    fp_val(out);
    return 0;
}

/* Frees what the free function got; a refusal is a waiter left behind. */
static void must_free(int st, const char *what)
{
    if (st < 0) {
        test_fail(__FILE__, __LINE__, "%s refused after the run (a waiter left behind)", what);
        yc_err_clear();
    }
}

/* Spawns fn(arg) for each arg, gathers them (the first failure comes out
 * at once), releases them. */
static void spawn_gather(yc_gen_fn fn, void *const *args, size_t n)
{
    yc_task *volatile ts[4] = {NULL, NULL, NULL, NULL};
    YC_TRY {
        for (size_t i = 0; i < n; i++) {
            ts[i] = yc_task_spawn(fn, args[i], NULL);
            if (!ts[i]) YC_CHECK(-1);
        }
        yc_gather((yc_task *const *)ts, n, 0);
    } YC_FINALLY {
        for (size_t i = 0; i < n; i++) yc_task_unref(ts[i]);
    } YC_END;
}

/* ---- producer, consumers, join ------------------------------------------ */

static yc_val q_consumer(void *arg)
{
    for (int k = 0; k < 3; k++) {
        yc_val v = yc_queue_get(q);
        fp_add("%s%lld;", (const char *)arg, (long long)v.i);
        yc_sleep(0);
        YC_CHECK(yc_queue_task_done(q));
    }
    return YC_NONE;
}

static yc_val q_producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++) yc_queue_put(q, yc_int(i));
    yc_queue_join(q);
    fp_add("joined;");
    return YC_NONE;
}

static yc_val q_role(void *arg)
{
    return arg ? q_consumer(arg) : q_producer(NULL);
}

static yc_val q_main(void *arg)
{
    (void)arg;
    static void *const roles[] = {"a", "b", NULL};
    spawn_gather(q_role, roles, 3);
    return yc_int((int64_t)yc_queue_qsize(q));
}

static int op_queue(void)
{
    q = yc_queue_new(2, YC_QUEUE_FIFO);
    if (!q) return failed();
    int r = run_main(q_main);
    must_free(yc_queue_free(q), "yc_queue_free");
    return r;
}

/* ---- a priority queue's array, retried after a failure -------------------- */

/* A put that fails leaves the queue as it was: the retry (which the sticky
 * mode fails again) completes the same order. */
static int op_priority(void)
{
    yc_queue *p = yc_queue_new(0, YC_QUEUE_PRIORITY);
    if (!p) return failed();
    int r = 0;
    for (int i = 0; i < 40 && r == 0; i++) {
        yc_val v = yc_int((i * 37) % 41);
        if (yc_queue_put_nowait(p, v) < 0) {
            yc_err_clear();
            if (yc_queue_put_nowait(p, v) < 0) r = failed();
        }
    }
    while (r == 0 && !yc_queue_empty(p)) {
        yc_val v;
        if (yc_queue_get_nowait(p, &v) < 0) r = failed();
        else fp_add("%lld,", (long long)v.i);
    }
    must_free(yc_queue_free(p), "yc_queue_free");
    return r;
}

/* ---- shutdown with getters waiting ------------------------------------------- */

static yc_val s_getter(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_val v = yc_queue_get(q);
        fp_add("g%lld;", (long long)v.i);
    } YC_EXCEPT(&yc_QueueShutDown) {
        fp_add("gs;");
    } YC_END;
    return YC_NONE;
}

static yc_val s_main(void *arg)
{
    (void)arg;
    static void *const none[] = {NULL, NULL, NULL};
    yc_task *volatile ts[3] = {NULL, NULL, NULL};
    YC_TRY {
        for (int i = 0; i < 3; i++) {
            ts[i] = yc_task_spawn(s_getter, none[i], NULL);
            if (!ts[i]) YC_CHECK(-1);
        }
        yc_sleep(0);
        YC_CHECK(yc_queue_put_nowait(q, yc_int(7)));
        YC_CHECK(yc_queue_shutdown(q, false));
        yc_gather((yc_task *const *)ts, 3, 0);
    } YC_FINALLY {
        for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    } YC_END;
    return YC_NONE;
}

static int op_shutdown(void)
{
    q = yc_queue_new(0, YC_QUEUE_LIFO);
    if (!q) return failed();
    int r = run_main(s_main);
    must_free(yc_queue_free(q), "yc_queue_free");
    return r;
}

/* ---- lock, semaphore, barrier, condition, event -------------------------------- */

static int ready;

static bool is_ready(void *ud)
{
    (void)ud;
    return ready;
}

static yc_val l_worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    YC_WITH(yc_cm_lock(lk), _) {
        fp_add("L%d;", i);
        yc_sleep(0);
    } YC_END_WITH;
    YC_WITH(yc_cm_semaphore(sem), _) {
        fp_add("S%d;", i);
        yc_sleep(0);
    } YC_END_WITH;
    long idx = yc_barrier_wait(bar);
    fp_add("B%d=%ld;", i, idx);
    YC_WITH(yc_cm_condition(cv), _) {
        yc_condition_wait_for(cv, is_ready, NULL);
        fp_add("C%d;", i);
    } YC_END_WITH;
    yc_event_wait(ev);
    fp_add("E%d;", i);
    return YC_NONE;
}

static yc_val l_main(void *arg)
{
    (void)arg;
    yc_task *volatile ts[3] = {NULL, NULL, NULL};
    YC_TRY {
        for (int i = 0; i < 3; i++) {
            ts[i] = yc_task_spawn(l_worker, (void *)(intptr_t)i, NULL);
            if (!ts[i]) YC_CHECK(-1);
        }
        for (int k = 0; k < 8; k++) yc_sleep(0);
        YC_WITH(yc_cm_condition(cv), _) {
            ready = 1;
            YC_CHECK(yc_condition_notify_all(cv));
        } YC_END_WITH;
        yc_sleep(0);
        YC_CHECK(yc_event_set(ev));
        yc_gather((yc_task *const *)ts, 3, 0);
    } YC_FINALLY {
        for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    } YC_END;
    return YC_NONE;
}

static int op_locks(void)
{
    ready = 0;
    lk = yc_lock_new();
    ev = lk ? yc_event_new() : NULL;
    cv = ev ? yc_condition_new(NULL) : NULL;
    sem = cv ? yc_semaphore_new(2, true) : NULL;
    bar = sem ? yc_barrier_new(3) : NULL;
    int r = bar ? run_main(l_main) : failed();
    if (bar) must_free(yc_barrier_free(bar), "yc_barrier_free");
    if (sem) must_free(yc_semaphore_free(sem), "yc_semaphore_free");
    if (cv) must_free(yc_condition_free(cv), "yc_condition_free");
    if (ev) must_free(yc_event_free(ev), "yc_event_free");
    if (lk) must_free(yc_lock_free(lk), "yc_lock_free");
    return r;
}

static const fault_op sync_ops[] = {
    {"queue_join", op_queue, NULL},
    {"priority_retry", op_priority, NULL},
    {"queue_shutdown", op_shutdown, NULL},
    {"locks", op_locks, NULL},
};

TEST(faults_queues_and_locks)
{
    sweep_all(sync_ops, sizeof sync_ops / sizeof sync_ops[0]);
    CHECK(sweep_total_rounds > 100);
}

TEST_MAIN()
