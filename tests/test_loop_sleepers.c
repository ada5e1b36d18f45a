/*
 * The paths a million sleeping tasks take: the timer heap's lazy removal
 * (a stopped timer leaves a dead entry; the top is never dead; the heap is
 * rebuilt when half of it is dead), the timer inside each task that its
 * sleeps use (no allocation per sleep; one that fired while its task was
 * woken otherwise stays in the ready queue and keeps the task alive), and
 * the loop's block caches, which grow with the load.
 */
#include "loop_util.h"

#include <math.h>

/* ---- allocation counting ------------------------------------------------ */

static long n_allocs;

static void *counting_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (!p) n_allocs++;
    return realloc(p, n);
}

/* ---- the timer heap ----------------------------------------------------- */

enum { NTIMERS = 3000 };

static yc_handle *handles[NTIMERS];
static double deadline[NTIMERS];
static bool stopped[NTIMERS];
static int fired[NTIMERS], nfired;
static uint32_t lcg = 12345;

static uint32_t rnd(void)
{
    lcg = lcg * 1664525u + 1013904223u;
    return lcg >> 8;
}

static void record(void *arg) { fired[nfired++] = (int)(intptr_t)arg; }

/* Stops a random live timer from inside a callback, so that removals also
 * happen while the loop pops the heap. */
static void stop_another(void *arg)
{
    record(arg);
    for (int tries = 0; tries < 8; tries++) {
        int j = (int)(rnd() % NTIMERS);
        if (!stopped[j] && !yc_handle_cancelled(handles[j])) {
            yc_handle_cancel(handles[j]);
            stopped[j] = true;
            return;
        }
    }
}

/* Timers at deadlines with many ties, most stopped in random order (the
 * first ones too, so the top is removed as often as the rest), then more
 * started into the heap full of dead entries: the live ones fire in the
 * order of (deadline, the order they were set), the stopped ones never. */
static yc_val heap_with_random_stops(void *arg)
{
    (void)arg;
    yc_loop *L = yc_loop_current();
    double t0 = yc_loop_time(L);
    nfired = 0;
    for (int i = 0; i < NTIMERS; i++) {
        stopped[i] = false;
        deadline[i] = t0 + 1 + (double)(rnd() % 200) / 100; /* ties: 200 values */
        if (i == NTIMERS / 2) { /* the second half goes in after the stops below */
            for (int k = 0; k < NTIMERS / 2; k++) {
                int j = (int)(rnd() % (NTIMERS / 2));
                if (!stopped[j] && rnd() % 4 != 0) {
                    yc_handle_cancel(handles[j]);
                    stopped[j] = true;
                }
            }
        }
        yc_callback_fn fn = i % 10 == 0 ? stop_another : record;
        CHECK_ST(yc_loop_call_at(L, deadline[i], fn, (void *)(intptr_t)i, &handles[i]), YC_OK);
    }
    yc_sleep(5); /* every deadline is within 3 s */
    int live = 0;
    for (int i = 0; i < NTIMERS; i++) live += !stopped[i];
    CHECK_EQ_INT(nfired, live);
    for (int k = 0; k < nfired; k++) {
        int i = fired[k];
        CHECK(!stopped[i]);
        if (k > 0) { /* by deadline, then by the order set */
            int p = fired[k - 1];
            CHECK(deadline[p] < deadline[i] || (deadline[p] == deadline[i] && p < i));
        }
    }
    for (int i = 0; i < NTIMERS; i++) yc_handle_free(handles[i]);
    return YC_NONE;
}

TEST(timers_fire_in_deadline_order_whatever_was_stopped_before_them)
{
    for (int round = 0; round < 3; round++) CHECK_ST(run_v(heap_with_random_stops, NULL, NULL), YC_OK);
}

/* ---- sleeping tasks ----------------------------------------------------- */

enum { NSLEEPERS = 3000 };

static yc_val sleep_for(void *arg)
{
    yc_sleep((double)(intptr_t)arg / 1000);
    LOG("%ld", (long)(intptr_t)arg);
    return YC_NONE;
}

/* Sleepers at distinct deadlines, spawned in a shuffled order; every third
 * cancelled (the earliest among them): the rest wake in deadline order. */
static yc_val sleepers_cancelled_in_any_order(void *arg)
{
    (void)arg;
    static yc_task *ts[NSLEEPERS];
    static int order[NSLEEPERS];
    for (int i = 0; i < NSLEEPERS; i++) order[i] = i;
    for (int i = NSLEEPERS - 1; i > 0; i--) {
        int j = (int)(rnd() % (uint32_t)(i + 1)), x = order[i];
        order[i] = order[j];
        order[j] = x;
    }
    for (int k = 0; k < NSLEEPERS; k++)
        ts[order[k]] = yc_task_spawn(sleep_for, (void *)(intptr_t)(order[k] + 1), NULL);
    yc_sleep(0); /* all asleep */
    for (int i = 0; i < NSLEEPERS; i += 3) CHECK(yc_task_cancel(ts[i], NULL));
    log_clear();
    yc_gather(ts, NSLEEPERS, YC_RETURN_EXCEPTIONS);
    /* the log holds the first wakers only (it is 8 KiB): check those */
    char want[8192] = "";
    size_t n = 0;
    for (int i = 0; i < NSLEEPERS && n < 1000; i++)
        if (i % 3 != 0) n += (size_t)snprintf(want + n, sizeof want - n, "%s%d", n ? "|" : "", i + 1);
    CHECK(strncmp(loop_log, want, n) == 0);
    for (int i = 0; i < NSLEEPERS; i++) {
        CHECK(yc_task_cancelled(ts[i]) == (i % 3 == 0));
        yc_task_unref(ts[i]);
    }
    return YC_NONE;
}

TEST(sleepers_cancelled_in_any_order_leave_the_rest_waking_in_deadline_order)
{
    CHECK_ST(run_v(sleepers_cancelled_in_any_order, NULL, NULL), YC_OK);
}

static long sleep_allocs;

static yc_val sleeps_a_hundred_times(void *arg)
{
    (void)arg;
    yc_sleep(0.001); /* the task's waiter future is made here */
    long a0 = n_allocs;
    for (int i = 0; i < 100; i++) yc_sleep(0.001);
    sleep_allocs = n_allocs - a0;
    return YC_NONE;
}

static yc_val sleeper_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeps_a_hundred_times, NULL, NULL);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(a_sleep_allocates_nothing)
{
    sleep_allocs = -1;
    yc_set_allocator(counting_alloc, NULL);
    int st = run_v(sleeper_main, NULL, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK_EQ_INT(sleep_allocs, 0);
}

/* A's sleep timer fires (is moved to the ready queue) in the iteration
 * that first steps A awake with the CancelledError: A stops a timer that
 * is queued. Then either A sleeps again at once (on a handle of its own,
 * since its timer is still queued: one allocation more than when its
 * timer was stopped in the heap), or A ends: nobody else holds A, so only
 * the stopped timer keeps A's block alive until the loop drops it, which
 * the main task, woken next in that iteration, would otherwise reuse for
 * a task it spawns (its timer node still queued in it). */
static double first_sleep;
static bool then_spawn;
static long second_sleep_allocs;

static yc_val logs_b(void *arg)
{
    (void)arg;
    LOG("B ran");
    return YC_NONE;
}

static yc_val woken_before_its_timer(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_sleep(first_sleep);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("A cancelled");
        yc_task_uncancel(yc_task_current());
    } YC_END;
    if (then_spawn) return YC_NONE;
    long a0 = n_allocs;
    yc_sleep(1e-9);
    second_sleep_allocs = n_allocs - a0;
    LOG("A slept again");
    return YC_NONE;
}

static yc_val canceller(void *arg)
{
    yc_task_cancel(arg, NULL);
    LOG("cancel sent");
    return YC_NONE;
}

static yc_val queued_timer_main(void *arg)
{
    (void)arg;
    log_clear();
    yc_task *a = yc_task_spawn(woken_before_its_timer, NULL, NULL);
    yc_task *c = yc_task_spawn(canceller, a, NULL);
    yc_task_unref(a); /* the loop's reference alone keeps it */
    yc_await(c); /* woken right after A, before A's timer node has its turn */
    yc_task_unref(c);
    if (then_spawn) /* the cache gives them C's block, then A's */
        for (int i = 0; i < 2; i++) yc_task_unref(yc_task_spawn(logs_b, NULL, NULL));
    yc_sleep(0.01);
    return YC_NONE;
}

/* Runs the scenario with A's first sleep of `first` s; returns the
 * allocations of A's second sleep. */
static long run_queued_timer(double first, bool spawn)
{
    first_sleep = first;
    then_spawn = spawn;
    second_sleep_allocs = -1;
    yc_set_allocator(counting_alloc, NULL);
    yc_loop_opts o = {.clock = YC_CLOCK_MONOTONIC};
    int st = yc_loop_run(queued_timer_main, NULL, &o, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK_LOG_IS(spawn ? "cancel sent|A cancelled|B ran|B ran" : "cancel sent|A cancelled|A slept again");
    return second_sleep_allocs;
}

TEST(a_sleep_timer_stopped_in_the_ready_queue_keeps_its_task_until_dropped)
{
    long in_heap = run_queued_timer(3600, false); /* stopped in the heap */
    long queued = run_queued_timer(1e-9, false);  /* due by the next iteration's clock */
    CHECK(in_heap >= 0);
    CHECK_EQ_INT(queued, in_heap + 1);
    run_queued_timer(1e-9, true);
}

/* ---- the caches --------------------------------------------------------- */

enum { NBIG = 6000 }; /* more than a cache's floor of 4,096 blocks */

static long round_allocs[2];

static yc_val sleep_long(void *arg)
{
    (void)arg;
    yc_sleep(3600);
    return YC_NONE;
}

/* Two rounds of NBIG sleepers spawned, cancelled, joined and released;
 * with *apart (arg) true, a quiet spell of loop time between the rounds
 * (the reviews after each second), whose frees go to freed_between. The
 * allocations of each round's spawns and first steps: round_allocs. */
static long freed_between;
static long n_frees;

static yc_val two_rounds(void *arg)
{
    bool apart = arg != NULL;
    static yc_task *ts[NBIG];
    for (int round = 0; round < 2; round++) {
        long a0 = n_allocs;
        for (int i = 0; i < NBIG; i++) ts[i] = yc_task_spawn(sleep_long, NULL, NULL);
        yc_sleep(0);
        round_allocs[round] = n_allocs - a0;
        for (int i = 0; i < NBIG; i++) yc_task_cancel(ts[i], NULL);
        yc_gather(ts, NBIG, YC_RETURN_EXCEPTIONS);
        for (int i = 0; i < NBIG; i++) {
            CHECK(yc_task_cancelled(ts[i]));
            yc_task_unref(ts[i]);
        }
        if (apart && round == 0) {
            long f0 = n_frees;
            for (int s = 0; s < 3; s++) yc_sleep(1.5); /* reviews: after each second */
            freed_between = n_frees - f0;
        }
    }
    return YC_NONE;
}

/* The second round's spawns and first steps allocate nothing (the task
 * objects and waiter futures of the first are cached, the heap has room). */
TEST(the_caches_grow_with_the_load_and_go_with_the_loop)
{
    yc_set_allocator(counting_alloc, NULL);
    int st = run_v(two_rounds, NULL, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    CHECK(round_allocs[0] >= 2 * NBIG); /* a task and its waiter future each */
    CHECK_EQ_INT(round_allocs[1], 0);
    /* the leak check of TEST_MAIN sees every block given back at close */
}

/* The same two rounds with a quiet spell of loop time between them: the
 * reviews give back what the quiet seconds did not need, down to a
 * cache's floor of 4,096 blocks, so the second round allocates again. */
static void *freeing_alloc(void *ud, void *p, size_t n)
{
    if (n == 0 && p) n_frees++;
    return counting_alloc(ud, p, n);
}

TEST(a_quiet_second_gives_the_caches_back_to_their_floor)
{
    n_frees = 0;
    yc_set_allocator(freeing_alloc, NULL);
    int st = run_v(two_rounds, (void *)1, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_ST(st, YC_OK);
    /* the task and future caches each gave back what is above 4,096 */
    CHECK(freed_between >= 2 * (NBIG - 4096));
    CHECK(round_allocs[1] >= 2 * (NBIG - 4096));
}

TEST_MAIN()
