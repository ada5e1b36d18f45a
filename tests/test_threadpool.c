/*
 * The loop's thread pool: to_thread's value and exception (12.53), the
 * cancellation rule (a cancelled awaiter waits for the function; detached
 * ones do not, and their result goes to discard), the bound on threads,
 * the virtual clock waiting for pool work, completions reaching the loop
 * from the pool threads, the loop's close joining them, misuse, and
 * getaddrinfo with gaierror.
 */
#include "loop_util.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>

/* ---- 12.53: value and exception ------------------------------------------ */

static pthread_t loop_thread;

static yc_val square_off_loop(void *arg)
{
    int64_t x = *(int64_t *)arg;
    if (pthread_equal(pthread_self(), loop_thread)) return yc_int(-1); /* ran on the loop */
    return yc_int(x * x);
}

static yc_val raise_off_loop(void *arg)
{
    yc_raisef(&yc_ValueError, "bad %s", (const char *)arg);
}

static yc_val to_thread_main(void *arg)
{
    (void)arg;
    int64_t x = 12; /* on this task's stack */
    CHECK_INTV(yc_to_thread(square_off_loop, &x), 144);
    YC_TRY {
        yc_to_thread(raise_off_loop, "input");
        LOG("no raise");
    } YC_EXCEPT(&yc_ValueError) {
        log_exc("caught", yc_exc_current());
    } YC_END;
    CHECK_EQ_INT(yc_loop_thread_count(yc_loop_current()), 1);
    return yc_int(x);
}

TEST(sec12_53_to_thread_returns_the_value_or_raises_in_the_awaiter)
{
    /* [12.53] */
    log_clear();
    loop_thread = pthread_self();
    yc_val out;
    CHECK_ST(yc_loop_run(to_thread_main, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 12);
    CHECK_LOG_IS("caught: ValueError: bad input");
}

/* ---- the cancellation rule ------------------------------------------------ */

static sem_t go;
static atomic_int started, returned;

static yc_val blocked(void *arg)
{
    atomic_fetch_add(&started, 1);
    while (sem_wait(&go) != 0) {}
    int *p = arg;
    *p += 1; /* touches the caller's stack: it must still be there */
    atomic_fetch_add(&returned, 1);
    return yc_int(*p);
}

static yc_val waiting_child(void *arg)
{
    (void)arg;
    int local = 41;
    YC_TRY {
        yc_to_thread(blocked, &local);
        LOG("child: not cancelled");
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("child: cancelled after the function returned=%d local=%d", atomic_load(&returned),
            local);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static void yield_until_started(int n)
{
    while (atomic_load(&started) < n) yc_sleep(0);
}

static yc_val cancel_wait_main(void *arg)
{
    (void)arg;
    yc_task *c = yc_task_spawn(waiting_child, NULL, NULL);
    yield_until_started(1);
    yc_task_cancel(c, "stop");
    for (int i = 0; i < 20; i++) yc_sleep(0);
    LOG("child done while the function runs: %d", yc_task_done(c));
    sem_post(&go);
    YC_TRY {
        yc_await(c);
    } YC_EXCEPT(&yc_CancelledError) {
        log_exc("main", yc_exc_current());
    } YC_END;
    CHECK(yc_task_cancelled(c));
    yc_task_unref(c);
    return YC_NONE;
}

TEST(a_cancelled_awaiter_waits_for_the_function_by_default)
{
    log_clear();
    sem_init(&go, 0, 0);
    atomic_store(&started, 0);
    atomic_store(&returned, 0);
    CHECK_ST(yc_loop_run(cancel_wait_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("child done while the function runs: 0|"
                 "child: cancelled after the function returned=1 local=42|"
                 "main: CancelledError: stop");
    sem_destroy(&go);
}

static int discarded;
static int heap_arg = 7; /* outlives the call, as DETACH promises */
static int64_t discarded_value;

static void discard_result(yc_val v, void *arg)
{
    discarded++;
    discarded_value = v.i;
    CHECK(arg == &heap_arg);
}


static yc_val detached_child(void *arg)
{
    (void)arg;
    yc_thread_opts o = {.flags = YC_THREAD_DETACH, .discard = discard_result};
    yc_to_thread_opts(blocked, &heap_arg, &o);
    LOG("detached: not cancelled");
    return YC_NONE;
}

static yc_val cancel_detach_main(void *arg)
{
    (void)arg;
    yc_task *c = yc_task_spawn(detached_child, NULL, NULL);
    yield_until_started(1);
    yc_task_cancel(c, NULL);
    for (int i = 0; i < 3; i++) yc_sleep(0);
    LOG("detached child cancelled at once: %d, function returned: %d", yc_task_cancelled(c),
        atomic_load(&returned));
    yc_task_unref(c);
    sem_post(&go); /* the function ends after the run: the close joins it */
    return YC_NONE;
}

TEST(a_detached_call_raises_at_once_and_its_result_is_discarded)
{
    log_clear();
    heap_arg = 7;
    sem_init(&go, 0, 0);
    atomic_store(&started, 0);
    atomic_store(&returned, 0);
    discarded = 0;
    CHECK_ST(yc_loop_run(cancel_detach_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("detached child cancelled at once: 1, function returned: 0");
    CHECK_EQ_INT(atomic_load(&returned), 1); /* the close waited for it */
    CHECK_EQ_INT(discarded, 1);
    CHECK_EQ_INT(discarded_value, 8); /* blocked() added 1 to heap_arg (7) */
    sem_destroy(&go);
}

/* A timeout is a cancellation: the same rule. */
static void release_cb(void *arg) { sem_post(arg); }

static yc_val timeout_main(void *arg)
{
    (void)arg;
    int local = 0;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.001), tm) {
            (void)tm;
            yc_loop_call_later(NULL, 0.01, release_cb, &go, NULL);
            yc_to_thread(blocked, &local);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timeout after the function returned=%d", atomic_load(&returned));
    } YC_END;
    return YC_NONE;
}

TEST(a_timeout_around_to_thread_waits_for_the_function)
{
    log_clear();
    sem_init(&go, 0, 0);
    atomic_store(&started, 0);
    atomic_store(&returned, 0);
    CHECK_ST(yc_loop_run(timeout_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("timeout after the function returned=1");
    sem_destroy(&go);
}

/* ---- the pool: lazy, bounded, joined ------------------------------------- */

static yc_val count_body(void *arg) { return yc_to_thread(blocked, arg); }

static yc_val bounded_main(void *arg)
{
    (void)arg;
    yc_loop *L = yc_loop_current();
    CHECK_EQ_INT(yc_loop_thread_count(L), 0);
    CHECK_ST(yc_loop_set_max_threads(L, 2), YC_OK);
    yc_task *ts[5];
    static int counts[5]; /* one each: the calls run at once */
    for (int i = 0; i < 5; i++) ts[i] = yc_task_spawn(count_body, &counts[i], NULL);
    yield_until_started(2);
    for (int i = 0; i < 50; i++) yc_sleep(0);
    LOG("started %d, threads %zu", atomic_load(&started), yc_loop_thread_count(L));
    for (int i = 0; i < 5; i++) sem_post(&go);
    yc_gather(ts, 5, 0);
    LOG("all done, threads %zu", yc_loop_thread_count(L));
    for (int i = 0; i < 5; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(the_pool_starts_lazily_and_stays_within_its_bound)
{
    log_clear();
    sem_init(&go, 0, 0);
    atomic_store(&started, 0);
    atomic_store(&returned, 0);
    CHECK_ST(yc_loop_run(bounded_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("started 2, threads 2|all done, threads 2");
    CHECK_EQ_INT(atomic_load(&returned), 5);
    sem_destroy(&go);
}

static yc_val slow_value(void *arg)
{
    usleep(2000);
    return yc_int(*(int *)arg);
}

static yc_val virtual_main(void *arg)
{
    int v = 5;
    (void)arg;
    return yc_int(yc_to_thread(slow_value, &v).i + 1);
}

TEST(the_virtual_clock_waits_for_pool_work_instead_of_calling_a_deadlock)
{
    yc_val out;
    CHECK_ST(run_v(virtual_main, NULL, &out), YC_OK);
    CHECK_INTV(out, 6);
}

/* Many completions from several threads at once, through the thread-safe
 * path, each reaching its own task. */
static yc_val ident(void *arg) { return yc_int((int64_t)(intptr_t)arg); }

static yc_val one_call(void *arg) { return yc_to_thread(ident, arg); }

static yc_val many_main(void *arg)
{
    (void)arg;
    enum { N = 200 };
    static yc_task *ts[N];
    for (int i = 0; i < N; i++) ts[i] = yc_task_spawn(one_call, (void *)(intptr_t)i, NULL);
    yc_gather(ts, N, 0);
    int64_t sum = 0;
    for (int i = 0; i < N; i++) {
        yc_val v;
        CHECK_ST(yc_task_result(ts[i], &v), YC_OK);
        sum += v.i;
        yc_task_unref(ts[i]);
    }
    return yc_int(sum);
}

TEST(many_calls_at_once_each_reach_their_task)
{
    yc_val out;
    CHECK_ST(yc_loop_run(many_main, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 199 * 200 / 2);
}

/* A loop closed (not run by yc_loop_run) with work still queued: the close
 * runs it, joins the threads and discards what nobody received. */
static yc_val spawn_detached_and_leave(void *arg)
{
    (void)arg;
    yc_thread_opts o = {.flags = YC_THREAD_DETACH, .discard = discard_result};
    yc_to_thread_opts(blocked, &heap_arg, &o);
    return YC_NONE;
}

TEST(closing_a_loop_joins_its_pool_and_discards_unreceived_results)
{
    sem_init(&go, 0, 0);
    atomic_store(&started, 0);
    atomic_store(&returned, 0);
    discarded = 0;
    capture_reports();
    yc_loop *L = yc_loop_new(NULL);
    yc_task *t = yc_loop_spawn(L, spawn_detached_and_leave, NULL, NULL);
    yc_task *stop = yc_loop_spawn(L, sleeper, &(double){0}, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, stop, NULL), YC_OK);
    while (atomic_load(&started) < 1) sched_yield();
    sem_post(&go);
    CHECK_ST(yc_loop_close(L), YC_OK); /* the pending task is destroyed after the join */
    CHECK_EQ_INT(atomic_load(&returned), 1);
    CHECK_EQ_INT(discarded, 1);
    CHECK(strstr(unraisable_text, "Task was destroyed but it is pending!") != NULL);
    release_reports();
    yc_task_unref(t);
    yc_task_unref(stop);
    yc_loop_free(L);
    sem_destroy(&go);
}

/* ---- misuse --------------------------------------------------------------- */

static void misuse_log(const char *what)
{
    log_exc(what, yc_exc_current());
}

static void to_thread_in_callback(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_to_thread(ident, NULL);
    } YC_EXCEPT_ANY {
        misuse_log("callback");
    } YC_END;
}

static yc_val misuse_main(void *arg)
{
    (void)arg;
    yc_loop_call_soon(NULL, to_thread_in_callback, NULL, NULL);
    yc_sleep(0);
    YC_TRY {
        yc_to_thread(NULL, NULL);
    } YC_EXCEPT_ANY {
        misuse_log("null fn");
    } YC_END;
    YC_TRY {
        yc_to_thread_opts(ident, NULL, (&(yc_thread_opts){.flags = 8}));
    } YC_EXCEPT_ANY {
        misuse_log("flags");
    } YC_END;
    yc_loop *L = yc_loop_current();
    CHECK_ST(yc_loop_set_max_threads(L, 0), YC_EINVAL);
    log_exc("max 0", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_set_max_threads(L, 5000), YC_EINVAL);
    log_exc("max 5000", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_set_max_threads(NULL, 2), YC_EINVAL);
    log_exc("max NULL", yc_err_get());
    yc_err_clear();
    return YC_NONE;
}

static yc_val in_gen(void *arg)
{
    (void)arg;
    yc_to_thread(ident, NULL);
    return YC_NONE;
}

TEST(to_thread_misuse)
{
    log_clear();
    CHECK_ST(yc_loop_run(misuse_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("callback: RuntimeError: yc_to_thread() outside a task|"
                 "null fn: TypeError: yc_to_thread: function is NULL|"
                 "flags: ValueError: yc_thread_opts: unknown flags 0x8|"
                 "max 0: ValueError: max_workers must be greater than 0|"
                 "max 5000: ValueError: max_workers 5000 is above 1024|"
                 "max NULL: TypeError: loop is NULL");
    /* no loop: raised in the generator that called it */
    yc_gen *g = yc_gen_new(in_gen, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    yc_gen_free(g);
    yc_loop *L = yc_loop_new(NULL);
    yc_loop_close(L);
    CHECK_ST(yc_loop_set_max_threads(L, 2), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: Event loop is closed");
    CHECK_EQ_INT(yc_loop_thread_count(L), 0);
    yc_loop_free(L);
}

/* ---- names ---------------------------------------------------------------- */

static yc_val names_main(void *arg)
{
    (void)arg;
    yc_addrinfo *ai = NULL;
    size_t n = yc_getaddrinfo("127.0.0.1", "8080", AF_INET, SOCK_STREAM, 0,
                              AI_NUMERICHOST | AI_NUMERICSERV, &ai);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ai[0].family, AF_INET);
    CHECK_EQ_INT(ai[0].socktype, SOCK_STREAM);
    CHECK_EQ_INT(ai[0].addrlen, sizeof(struct sockaddr_in));
    const struct sockaddr_in *sin = (const struct sockaddr_in *)&ai[0].addr;
    CHECK_EQ_INT(ntohs(sin->sin_port), 8080);
    CHECK_EQ_INT(ntohl(sin->sin_addr.s_addr), 0x7f000001);
    yc_addrinfo_free(ai);

    n = yc_getaddrinfo("::1", NULL, AF_INET6, SOCK_DGRAM, 0, AI_NUMERICHOST, &ai);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(ai[0].family, AF_INET6);
    CHECK_EQ_INT(ai[0].socktype, SOCK_DGRAM);
    yc_addrinfo_free(ai);

    /* numeric-only lookups of names fail without asking any server */
    YC_TRY {
        yc_getaddrinfo("no-such-host.invalid", "80", 0, SOCK_STREAM, 0, AI_NUMERICHOST, &ai);
        LOG("no raise");
    } YC_EXCEPT(&yc_gaierror) {
        yc_exc *e = yc_exc_current();
        LOG("gaierror is an OSError: %d, errno %d", yc_exc_is(e, &yc_OSError), yc_exc_errno(e));
        log_exc("numeric", e);
    } YC_END;
    YC_TRY {
        yc_getaddrinfo("localhost", "no-such-service", 0, SOCK_STREAM, 0, 0, &ai);
    } YC_EXCEPT(&yc_gaierror) {
        log_exc("service", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_getaddrinfo(NULL, NULL, 0, 0, 0, 0, &ai);
    } YC_EXCEPT(&yc_gaierror) {
        log_exc("none", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_getaddrinfo("127.0.0.1", "80", 0, 0, 0, 0, NULL);
    } YC_EXCEPT_ANY {
        log_exc("null out", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(getaddrinfo_on_the_pool_and_gaierror)
{
    log_clear();
    CHECK_ST(yc_loop_run(names_main, NULL, NULL, NULL), YC_OK);
    /* CPython: socket.getaddrinfo('no-such-host.invalid', 80,
     * flags=socket.AI_NUMERICHOST) -> [Errno -2] Name or service not known */
    CHECK_LOG_IS("gaierror is an OSError: 1, errno -2|"
                 "numeric: gaierror: [Errno -2] Name or service not known|"
                 "service: gaierror: [Errno -8] Servname not supported for ai_socktype|"
                 "none: gaierror: [Errno -2] Name or service not known|"
                 "null out: TypeError: yc_getaddrinfo: out is NULL");
}

TEST_MAIN()
