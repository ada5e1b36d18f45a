/* Fault-injection sweep over child processes (fault_sweep.h says what is
 * checked): spawn with three pipes, communicate through cat, wait, free;
 * the Nth allocation failing anywhere must end as a MemoryError out of
 * the run (or be survived with the same result), with nothing leaked:
 * no block, no descriptor, no child (not even a zombie). */
#include "fault_sweep.h"

#include <dirent.h>
#include <sys/wait.h>

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static yc_val talks(void *arg)
{
    (void)arg;
    static const yc_process_opts o = {.stdin_mode = YC_PROC_PIPE,
                                      .stdout_mode = YC_PROC_PIPE,
                                      .stderr_mode = YC_PROC_PIPE};
    const char *argv[] = {"sh", "-c", "cat; echo e >&2; exit 4", NULL};
    yc_process *p = yc_process_spawn(argv, &o);
    if (!p) yc_raise(yc_err_take());
    volatile int rc = 0;
    yc_process_output out = {0};
    YC_TRY {
        rc = yc_process_communicate(p, "abc", 3, &out);
        fp_add("rc %d out %.*s err %.*s", rc, (int)out.out_len, out.out, (int)out.err_len,
               out.err);
    } YC_FINALLY {
        yc_process_free(p);
    } YC_END;
    return yc_int(rc);
}

static int op_communicate(void)
{
    int fds0 = count_fds();
    yc_val out;
    int st = yc_loop_run(talks, NULL, NULL, &out);
    int r = st < 0 ? got_exc(yc_err_take()) : (fp_val(out), 0);
    if (count_fds() != fds0)
        test_fail(__FILE__, __LINE__, "fail_at %ld: %d fds leaked", fc.fail_at, count_fds() - fds0);
    if (!(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD))
        test_fail(__FILE__, __LINE__, "fail_at %ld: a child left", fc.fail_at);
    return r;
}

static const fault_op ops[] = {
    {"communicate", op_communicate, NULL},
};

TEST(faults_subprocess)
{
    (void)failed; /* fault_sweep.h's other reporting path, unused here */
    sweep_all(ops, sizeof ops / sizeof ops[0]);
    CHECK(sweep_total_rounds > 10);
}

TEST_MAIN()
