/* Fault-injection sweep over the thread pool, files, names and signal
 * handlers (fault_sweep.h says what is checked): each operation runs a
 * whole program under yc_loop_run on the virtual clock; an allocation
 * failing anywhere in it (on the loop's thread, or for an exception a pool
 * thread raises) must end as a MemoryError out of the run (or be survived
 * with the same result), leak nothing (the pool joined, its jobs freed),
 * and leave the thread able to run the next loop. */
#include "fault_sweep.h"

#include <fcntl.h>
#include <netdb.h>
#include <signal.h>

static int run_main(yc_gen_fn main_fn, void *arg)
{
    yc_val out;
    int st = yc_loop_run(main_fn, arg, &(yc_loop_opts){.clock = YC_CLOCK_VIRTUAL}, &out);
    if (st < 0) return got_exc(yc_err_take());
    fp_val(out);
    return 0;
}

/* ---- to_thread ------------------------------------------------------------- */

static yc_val twice(void *arg) { return yc_int(2 * *(int64_t *)arg); }

static yc_val raises(void *arg)
{
    yc_raisef(&yc_ValueError, "bad %d", *(int *)arg);
}

static yc_val to_thread_main(void *arg)
{
    (void)arg;
    int64_t x = 21;
    int y = 3;
    int64_t r = yc_to_thread(twice, &x).i;
    YC_TRY {
        yc_to_thread(raises, &y);
    } YC_EXCEPT(&yc_ValueError) {
        fp_add("%s;", yc_exc_msg(yc_exc_current()));
    } YC_END;
    return yc_int(r);
}

static int op_to_thread(void) { return run_main(to_thread_main, NULL); }

/* ---- files ------------------------------------------------------------------- */

static char path[64];

static yc_val files_main(void *arg)
{
    (void)arg;
    int fd = yc_file_open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
    volatile int vfd = fd;
    YC_TRY {
        yc_file_write(fd, "abcdef", 6);
        char buf[8] = "";
        yc_file_pread(fd, buf, 3, 2);
        fp_add("pread %s;", buf);
    } YC_FINALLY {
        yc_file_close(vfd);
    } YC_END;
    char *data = NULL;
    size_t n = yc_file_read_all(path, &data);
    fp_add("all %zu %s;", n, data);
    yc_file_data_free(data);
    YC_TRY {
        yc_file_open("/nonexistent/x", O_RDONLY, 0);
    } YC_EXCEPT(&yc_FileNotFoundError) {
        fp_add("%s;", yc_exc_msg(yc_exc_current()));
    } YC_END;
    return YC_NONE;
}

static int op_files(void) { return run_main(files_main, NULL); }

/* ---- names ------------------------------------------------------------------- */

static yc_val names_main(void *arg)
{
    (void)arg;
    yc_addrinfo *ai = NULL;
    size_t n = yc_getaddrinfo("127.0.0.1", "80", AF_INET, SOCK_STREAM, 0,
                              AI_NUMERICHOST | AI_NUMERICSERV, &ai);
    fp_add("n %zu family %d;", n, ai[0].family);
    yc_addrinfo_free(ai);
    YC_TRY {
        yc_getaddrinfo("x.invalid", "80", 0, SOCK_STREAM, 0, AI_NUMERICHOST, &ai);
    } YC_EXCEPT(&yc_gaierror) {
        fp_add("%s;", yc_exc_msg(yc_exc_current()));
    } YC_END;
    return YC_NONE;
}

static int op_names(void) { return run_main(names_main, NULL); }

/* ---- signals ----------------------------------------------------------------- */

static void on_usr1(void *arg)
{
    yc_task *f = arg;
    if (!yc_task_done(f)) yc_future_set_result(f, yc_int(10));
}

static yc_val signals_main(void *arg)
{
    (void)arg;
    yc_task *f = yc_future_new(NULL);
    if (!f) YC_CHECK(-1);
    volatile int64_t r = 0;
    YC_TRY {
        YC_CHECK(yc_loop_add_signal_handler(yc_loop_current(), SIGUSR1, on_usr1, f));
        kill(getpid(), SIGUSR1);
        r = yc_await(f).i;
        yc_loop_remove_signal_handler(yc_loop_current(), SIGUSR1);
    } YC_FINALLY {
        yc_task_unref(f);
    } YC_END;
    return yc_int(r);
}

static int op_signals(void) { return run_main(signals_main, NULL); }

static const fault_op ops[] = {
    {"to_thread", op_to_thread, NULL},
    {"files", op_files, NULL},
    {"names", op_names, NULL},
    {"signals", op_signals, NULL},
};

TEST(faults_threadpool_files_names_signals)
{
    (void)failed; /* the sweep helpers this file does not need */
    snprintf(path, sizeof path, "/tmp/yc_tp_faults_%d", (int)getpid());
    sweep_all(ops, sizeof ops / sizeof ops[0]);
    CHECK(sweep_total_rounds > 50);
    unlink(path);
}

TEST_MAIN()
