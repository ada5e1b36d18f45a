/* Fault-injection sweep over child processes (fault_sweep.h says what is
 * checked): spawn with three pipes, communicate through cat, wait, free;
 * the Nth allocation failing anywhere must end as a MemoryError out of
 * the run (or be survived with the same result), with nothing leaked:
 * no block, no descriptor, no child (not even a zombie). The same for
 * yc_process_shell with a passed descriptor. */
#include "fault_sweep.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/wait.h>

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

/* yc_process_shell, with a passed descriptor read by the shell */
static yc_val shells(void *arg)
{
    (void)arg;
    int pp[2];
    if (pipe2(pp, O_CLOEXEC) < 0) yc_raise(yc_exc_new_errno(&yc_OSError, errno, NULL));
    if (write(pp[1], "p", 1) != 1) yc_raisef(&yc_RuntimeError, "write");
    close(pp[1]);
    const yc_process_opts o = {.stdout_mode = YC_PROC_PIPE, .pass_fds = &pp[0], .n_pass_fds = 1};
    char cmd[64];
    snprintf(cmd, sizeof cmd, "cat /proc/self/fd/%d; echo $((1+2)); exit 3", pp[0]);
    yc_process *p = yc_process_shell(cmd, &o);
    close(pp[0]);
    if (!p) yc_raise(yc_err_take());
    volatile int rc = 0;
    yc_process_output out = {0};
    YC_TRY {
        rc = yc_process_communicate(p, NULL, 0, &out);
        fp_add("rc %d out %.*s", rc, (int)out.out_len, out.out);
    } YC_FINALLY {
        yc_process_free(p);
    } YC_END;
    return yc_int(rc);
}

static int run_checked(yc_gen_fn fn)
{
    int fds0 = count_fds();
    yc_val out;
    int st = yc_loop_run(fn, NULL, NULL, &out);
    int r = st < 0 ? got_exc(yc_err_take()) : (fp_val(out), 0);
    if (count_fds() != fds0)
        test_fail(__FILE__, __LINE__, "fail_at %ld: %d fds leaked", fc.fail_at, count_fds() - fds0);
    if (!(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD))
        test_fail(__FILE__, __LINE__, "fail_at %ld: a child left", fc.fail_at);
    return r;
}

static int op_communicate(void) { return run_checked(talks); }
static int op_shell(void) { return run_checked(shells); }

static const fault_op ops[] = {
    {"communicate", op_communicate, NULL},
    {"shell", op_shell, NULL},
};

TEST(faults_subprocess)
{
    (void)failed; /* fault_sweep.h's other reporting path, unused here */
    sweep_all(ops, sizeof ops / sizeof ops[0]);
    CHECK(sweep_total_rounds > 10);
}

TEST_MAIN()
