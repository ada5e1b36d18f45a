/*
 * Signals: handlers run as loop callbacks on the loop's thread, for
 * signals raised from a task and from another thread; add/remove with
 * asyncio's errors; the disposition from before comes back; Ctrl-C during
 * yc_loop_run cancels the main task and the run ends with
 * KeyboardInterrupt (asyncio.Runner, 3.11+); a second Ctrl-C raises it at
 * once; SIGPIPE does not kill the process once a loop has run.
 */
#include "loop_util.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

static pthread_t loop_thread;

static void set_disposition(int sig, void (*h)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void (*disposition(int sig))(int)
{
    struct sigaction sa;
    sigaction(sig, NULL, &sa);
    return sa.sa_handler;
}

/* ---- handlers as callbacks ------------------------------------------------ */

typedef struct got {
    yc_task *fut;
    int sig;
    int calls;
} got;

static void on_sig(void *arg)
{
    got *g = arg;
    g->calls++;
    LOG("handler %d on the loop thread: %d, in a task: %d", g->sig,
        pthread_equal(pthread_self(), loop_thread), yc_task_current() != NULL);
    if (!yc_task_done(g->fut)) yc_future_set_result(g->fut, yc_int(g->sig));
}

static void *kill_from_thread(void *arg)
{
    kill(getpid(), *(int *)arg);
    return NULL;
}

static yc_val handlers_main(void *arg)
{
    (void)arg;
    yc_loop *L = yc_loop_current();
    got a = {.fut = yc_future_new(NULL), .sig = SIGUSR1};
    got b = {.fut = yc_future_new(NULL), .sig = SIGUSR2};
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, on_sig, &a), YC_OK);
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR2, on_sig, &b), YC_OK);

    kill(getpid(), SIGUSR1); /* from this task */
    LOG("awaited %lld", (long long)yc_await(a.fut).i);

    pthread_t th; /* from another thread, while the loop waits */
    int sig = SIGUSR2;
    pthread_create(&th, NULL, kill_from_thread, &sig);
    LOG("awaited %lld", (long long)yc_await(b.fut).i);
    pthread_join(th, NULL);

    /* pthread_kill at the loop's own thread */
    yc_task_unref(a.fut);
    a.fut = yc_future_new(NULL);
    pthread_kill(pthread_self(), SIGUSR1);
    LOG("awaited %lld", (long long)yc_await(a.fut).i);

    CHECK_EQ_INT(yc_loop_remove_signal_handler(L, SIGUSR1), 1);
    CHECK_EQ_INT(yc_loop_remove_signal_handler(L, SIGUSR1), 0);
    LOG("after remove: ignored again: %d", disposition(SIGUSR1) == SIG_IGN);
    yc_task_unref(a.fut);
    yc_task_unref(b.fut);
    return YC_NONE; /* SIGUSR2's handler goes with the loop's close */
}

TEST(handlers_run_as_loop_callbacks_for_signals_from_tasks_and_threads)
{
    log_clear();
    loop_thread = pthread_self();
    set_disposition(SIGUSR1, SIG_IGN); /* what remove must restore */
    set_disposition(SIGUSR2, SIG_DFL);
    CHECK_ST(yc_loop_run(handlers_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("handler 10 on the loop thread: 1, in a task: 0|awaited 10|"
                 "handler 12 on the loop thread: 1, in a task: 0|awaited 12|"
                 "handler 10 on the loop thread: 1, in a task: 0|awaited 10|"
                 "after remove: ignored again: 1");
    CHECK(disposition(SIGUSR2) == SIG_DFL); /* the close removed it */
    set_disposition(SIGUSR1, SIG_DFL);
}

/* A signal that lands on the loop's thread while a task runs (busy, making
 * no system call) and then waits: the loop wakes for it. Under TSan this
 * hung one run in three until switches blocked signals across them
 * (coro.c). */
static atomic_int busy_sent;

static void *signal_loop_thread(void *arg)
{
    (void)arg;
    pthread_kill(loop_thread, SIGUSR1);
    atomic_store(&busy_sent, 1);
    return NULL;
}

static yc_val busy_main(void *arg)
{
    (void)arg;
    yc_loop *L = yc_loop_current();
    got a = {.fut = yc_future_new(NULL), .sig = SIGUSR1};
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, on_sig, &a), YC_OK);
    for (int round = 0; round < 5; round++) {
        atomic_store(&busy_sent, 0);
        pthread_t th;
        CHECK_EQ_INT(pthread_create(&th, NULL, signal_loop_thread, NULL), 0);
        volatile long spin = 0;
        while (!atomic_load_explicit(&busy_sent, memory_order_relaxed)) spin++;
        for (long i = 0; i < 1000000; i++) spin++;
        yc_val v = yc_await(a.fut);
        CHECK_INTV(v, SIGUSR1);
        CHECK_EQ_INT(pthread_join(th, NULL), 0);
        yc_task_unref(a.fut);
        a.fut = yc_future_new(NULL);
    }
    CHECK_EQ_INT(a.calls, 5);
    CHECK_EQ_INT(yc_loop_remove_signal_handler(L, SIGUSR1), 1);
    yc_task_unref(a.fut);
    return YC_NONE;
}

TEST(a_signal_that_lands_while_a_task_runs_wakes_the_loop)
{
    log_clear();
    loop_thread = pthread_self();
    set_disposition(SIGUSR1, SIG_DFL);
    CHECK_ST(yc_loop_run(busy_main, NULL, NULL, NULL), YC_OK);
    CHECK(disposition(SIGUSR1) == SIG_DFL);
}

/* ---- misuse --------------------------------------------------------------- */

static void nop(void *arg) { (void)arg; }

TEST(add_and_remove_signal_handler_misuse)
{
    log_clear();
    yc_loop *L = yc_loop_new(NULL);
    int bad[] = {0, -1, 32, 33, 65};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_ST(yc_loop_add_signal_handler(L, bad[i], nop, NULL), YC_EINVAL);
        log_exc("add", yc_err_get());
        yc_err_clear();
    }
    CHECK_ST(yc_loop_remove_signal_handler(L, 70), YC_EINVAL);
    log_exc("remove", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_add_signal_handler(L, SIGKILL, nop, NULL), YC_EINVAL);
    log_exc("kill", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_add_signal_handler(L, SIGSTOP, nop, NULL), YC_EINVAL);
    log_exc("stop", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, NULL, NULL), YC_EINVAL);
    log_exc("fn", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_add_signal_handler(NULL, SIGUSR1, nop, NULL), YC_EINVAL);
    log_exc("loop", yc_err_get());
    yc_err_clear();
    CHECK_ST(yc_loop_remove_signal_handler(NULL, SIGUSR1), YC_EINVAL);
    yc_err_clear();

    yc_loop *other = yc_loop_new(NULL);
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, nop, NULL), YC_OK);
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, nop, L), YC_OK); /* replaces */
    CHECK_ST(yc_loop_add_signal_handler(other, SIGUSR1, nop, NULL), YC_EINVAL);
    log_exc("other", yc_err_get());
    yc_err_clear();
    CHECK_EQ_INT(yc_loop_remove_signal_handler(other, SIGUSR1), 0);
    yc_loop_free(other);

    CHECK_ST(yc_loop_close(L), YC_OK); /* removes SIGUSR1's */
    CHECK(disposition(SIGUSR1) == SIG_DFL);
    CHECK_ST(yc_loop_add_signal_handler(L, SIGUSR1, nop, NULL), YC_EINVAL);
    log_exc("closed", yc_err_get());
    yc_err_clear();
    CHECK_EQ_INT(yc_loop_remove_signal_handler(L, SIGUSR1), 0);
    yc_loop_free(L);
    CHECK_LOG_IS("add: ValueError: invalid signal number 0|"
                 "add: ValueError: invalid signal number -1|"
                 "add: ValueError: invalid signal number 32|"
                 "add: ValueError: invalid signal number 33|"
                 "add: ValueError: invalid signal number 65|"
                 "remove: ValueError: invalid signal number 70|"
                 "kill: RuntimeError: sig 9 cannot be caught|"
                 "stop: RuntimeError: sig 19 cannot be caught|"
                 "fn: TypeError: callback is NULL|"
                 "loop: TypeError: loop is NULL|"
                 "other: RuntimeError: sig 10 is handled by another event loop|"
                 "closed: RuntimeError: Event loop is closed");
}

/* ---- Ctrl-C: asyncio.Runner ---------------------------------------------- */

static yc_val interrupted_main(void *arg)
{
    int how = *(int *)arg;
    YC_TRY {
        if (how == 0) {
            kill(getpid(), SIGINT);
        } else {
            pthread_t th;
            int sig = SIGINT;
            pthread_create(&th, NULL, kill_from_thread, &sig);
            pthread_join(th, NULL);
        }
        yc_sleep(3600);
        LOG("slept");
    } YC_FINALLY {
        LOG("main's finally ran");
    } YC_END;
    return YC_NONE;
}

TEST(ctrl_c_cancels_the_main_task_and_the_run_ends_with_keyboard_interrupt)
{
    for (int how = 0; how < 2; how++) {
        log_clear();
        CHECK(disposition(SIGINT) == SIG_DFL);
        CHECK_ST(yc_loop_run(interrupted_main, &how, NULL, NULL), YC_RAISE);
        yc_exc *e = yc_err_take();
        log_exc("run", e);
        CHECK(yc_exc_is(yc_exc_context(e), &yc_CancelledError));
        yc_exc_unref(e);
        CHECK_LOG_IS("main's finally ran|run: KeyboardInterrupt");
        CHECK(disposition(SIGINT) == SIG_DFL); /* restored */
    }
}

static yc_val stubborn_main(void *arg)
{
    (void)arg;
    kill(getpid(), SIGINT);
    YC_TRY {
        yc_sleep(3600);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("first Ctrl-C: cancelled; refusing");
        yc_task_uncancel(yc_task_current());
    } YC_END;
    YC_TRY {
        kill(getpid(), SIGINT); /* the second one raises KeyboardInterrupt */
        yc_sleep(3600);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("cancelled by the shutdown");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

TEST(a_second_ctrl_c_raises_keyboard_interrupt_at_once)
{
    log_clear();
    CHECK_ST(yc_loop_run(stubborn_main, NULL, NULL, NULL), YC_RAISE);
    log_exc("run", yc_err_get());
    yc_err_clear();
    CHECK_LOG_IS("first Ctrl-C: cancelled; refusing|cancelled by the shutdown|"
                 "run: KeyboardInterrupt");
    CHECK(disposition(SIGINT) == SIG_DFL);
}

static yc_val ignored_main(void *arg)
{
    (void)arg;
    kill(getpid(), SIGINT);
    yc_sleep(0.001);
    return yc_int(1);
}

TEST(a_program_that_handles_sigint_itself_keeps_it)
{
    set_disposition(SIGINT, SIG_IGN);
    yc_val out;
    CHECK_ST(yc_loop_run(ignored_main, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 1);
    CHECK(disposition(SIGINT) == SIG_IGN);
    set_disposition(SIGINT, SIG_DFL);
}

/* ---- SIGPIPE -------------------------------------------------------------- */

static yc_val pipe_main(void *arg)
{
    (void)arg;
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0);
    close(fds[0]);
    YC_TRY {
        yc_file_write(fds[1], "x", 1);
    } YC_EXCEPT(&yc_BrokenPipeError) {
        log_exc("write", yc_exc_current());
    } YC_END;
    close(fds[1]);
    return YC_NONE;
}

static void sigpipe_child(void *arg)
{
    (void)arg;
    log_clear();
    set_disposition(SIGPIPE, SIG_DFL);
    if (yc_loop_run(pipe_main, NULL, NULL, NULL) != YC_OK) fprintf(stderr, "run failed\n");
    int fds[2];
    if (pipe(fds) != 0) return;
    close(fds[0]);
    ssize_t r = write(fds[1], "x", 1); /* after the loop too */
    fprintf(stderr, "%s|write after: %zd %s", loop_log, r, r < 0 && errno == EPIPE ? "EPIPE" : "?");
}

TEST(sec12_56_sigpipe_never_kills_the_process_once_a_loop_runs)
{
    /* [12.56] EPIPE -> BrokenPipeError "[Errno 32] Broken pipe" */
    char out[512];
    int status = test_in_child(sigpipe_child, NULL, out, sizeof out);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_STR(out, "write: BrokenPipeError: [Errno 32] Broken pipe|write after: -1 EPIPE");
}

TEST_MAIN()
