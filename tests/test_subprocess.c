/*
 * Child processes (include/yieldc/subprocess.h): echo through cat, exit
 * codes, signals and negative return codes, large output and input
 * through communicate (no deadlock on full pipes), exec and chdir
 * failures with CPython's messages, env and cwd, DEVNULL and STDOUT, what
 * the child inherits (descriptors, SIGPIPE), cancellation of a wait, no
 * zombie after free, both wait paths (pidfd and polling), and the misuse
 * rows of docs/misuse.md; create_subprocess_shell (yc_process_shell) and
 * pass_fds. Every test counts the open descriptors before
 * and after, and checks that no child is left (not even a zombie).
 */
#include "loop_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* No child at all, running or zombie: waitpid says ECHILD. */
static bool no_children(void) { return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD; }

/* What a subprocess test may leave behind besides descriptors: a child. */
static const char *child_left(void) { return no_children() ? NULL : "a child is left"; }
#define SP_TEST(name) FD_TEST(name, child_left)

#define LOG_CURRENT(what) log_exc((what), yc_exc_current())

static const yc_process_opts pipes = {
    .stdin_mode = YC_PROC_PIPE, .stdout_mode = YC_PROC_PIPE, .stderr_mode = YC_PROC_PIPE};

static yc_process *spawn(const yc_process_opts *o, const char *a0, const char *a1, const char *a2)
{
    const char *argv[] = {a0, a1, a2, NULL};
    yc_process *p = yc_process_spawn(argv, o);
    if (!p) fail_pending_at(__FILE__, __LINE__, a0);
    return p;
}

/* ---- echo through cat ------------------------------------------------- */

static yc_val cat_main(void *arg)
{
    (void)arg;
    yc_process *p = spawn(&pipes, "cat", NULL, NULL);
    yc_stream *in = yc_process_stdin(p), *out = yc_process_stdout(p);
    CHECK(in && out && yc_process_stderr(p));
    for (int i = 0; i < 3; i++) {
        char line[32];
        int n = snprintf(line, sizeof line, "line %d\n", i);
        CHECK_ST(yc_stream_write(in, line, (size_t)n), YC_OK);
        yc_stream_drain(in);
        size_t len;
        const char *got = yc_stream_readline(out, &len);
        LOG("%.*s", (int)len, got);
    }
    int rc;
    CHECK_EQ_INT(yc_process_returncode(p, &rc), 0); /* cat still runs */
    yc_stream_wait_closed(in);
    size_t len;
    yc_stream_read(out, -1, &len);
    LOG("eof %zu;", len);
    LOG("rc %d", yc_process_wait(p));
    CHECK_EQ_INT(yc_process_returncode(p, &rc), 1);
    CHECK_EQ_INT(rc, 0);
    CHECK_ST(yc_process_free(p), YC_OK);
    return YC_NONE;
}

SP_TEST(echo_through_cat)
{
    RUN_MAIN(cat_main, NULL);
    CHECK_LOG_IS("line 0\n|line 1\n|line 2\n|eof 0;|rc 0");
}

/* ---- exit codes and signals ------------------------------------------- */

static yc_val codes_main(void *arg)
{
    (void)arg;
    yc_process *p = spawn(NULL, "sh", "-c", "exit 3");
    LOG("exit %d;", yc_process_wait(p));
    LOG("again %d;", yc_process_wait(p)); /* done: at once */
    yc_process_free(p);
    p = spawn(NULL, "true", NULL, NULL);
    LOG("true %d;", yc_process_wait(p));
    yc_process_free(p);
    p = spawn(NULL, "sleep", "100", NULL);
    CHECK_ST(yc_process_terminate(p), YC_OK);
    LOG("term %d;", yc_process_wait(p));
    CHECK_ST(yc_process_kill(p), YC_OK); /* reaped: nothing sent */
    yc_process_free(p);
    p = spawn(NULL, "sleep", "100", NULL);
    CHECK_ST(yc_process_kill(p), YC_OK);
    LOG("kill %d;", yc_process_wait(p));
    yc_process_free(p);
    p = spawn(NULL, "sleep", "100", NULL);
    CHECK_ST(yc_process_send_signal(p, SIGINT), YC_OK);
    LOG("int %d;", yc_process_wait(p));
    yc_process_free(p);
    p = spawn(NULL, "sh", "-c", "kill -USR1 $$");
    LOG("self %d", yc_process_wait(p));
    yc_process_free(p);
    return YC_NONE;
}

SP_TEST(exit_codes_and_signals)
{
    RUN_MAIN(codes_main, NULL);
    CHECK_LOG_IS("exit 3;|again 3;|true 0;|term -15;|kill -9;|int -2;|self -10");
}

SP_TEST(exit_codes_and_signals_polling_wait)
{
    yc__process_force_polling(true);
    RUN_MAIN(codes_main, NULL);
    yc__process_force_polling(false);
    CHECK_LOG_IS("exit 3;|again 3;|true 0;|term -15;|kill -9;|int -2;|self -10");
}

/* ---- communicate ------------------------------------------------------ */

static yc_val comm_main(void *arg)
{
    (void)arg;
    yc_process *p = spawn(&pipes, "sh", "-c", "cat; echo err >&2; exit 2");
    yc_process_output o;
    int rc = yc_process_communicate(p, "to cat\n", 7, &o);
    LOG("rc %d out '%.*s' err '%.*s';", rc, (int)o.out_len, o.out, (int)o.err_len, o.err);
    yc_process_free(p);
    /* a child that exits without reading: BrokenPipeError is ignored */
    p = spawn(&pipes, "true", NULL, NULL);
    static char big[1 << 20];
    rc = yc_process_communicate(p, big, sizeof big, &o);
    LOG("unread rc %d out %zu err %zu;", rc, o.out_len, o.err_len);
    yc_process_free(p);
    /* no pipes at all; out NULL */
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_DEVNULL}, "echo", "hidden", NULL);
    LOG("none %d", yc_process_communicate(p, NULL, 0, NULL));
    yc_process_free(p);
    return YC_NONE;
}

SP_TEST(communicate_feeds_and_collects)
{
    RUN_MAIN(comm_main, NULL);
    CHECK_LOG_IS("rc 2 out 'to cat\n' err 'err\n';|unread rc 0 out 0 err 0;|none 0");
}

/* 4 MB each way through cat, and 4 MB to stderr at once: with one pipe
 * full while the other is being written, a sequential write-then-read
 * would deadlock. */
static yc_val large_main(void *arg)
{
    (void)arg;
    size_t n = 4u << 20;
    char *in = malloc(n);
    CHECK(in != NULL);
    for (size_t i = 0; i < n; i++) in[i] = (char)('a' + i % 26);
    yc_process *p = spawn(&pipes, "sh", "-c", "head -c 4194304 /dev/zero >&2 & cat; wait");
    yc_process_output o;
    int rc = yc_process_communicate(p, in, n, &o);
    CHECK_EQ_INT(rc, 0);
    CHECK(o.out_len == n && memcmp(o.out, in, n) == 0);
    CHECK(o.err_len == n);
    size_t zeros = 0;
    for (size_t i = 0; i < o.err_len; i++) zeros += o.err[i] == 0;
    CHECK(zeros == n);
    yc_process_free(p);
    free(in);
    /* large output read through the stream by hand */
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE}, "seq", "1", "200000");
    size_t lines = 0, len;
    const char *l;
    while ((l = yc_stream_readline(yc_process_stdout(p), &len)), len > 0) lines++;
    (void)l;
    LOG("lines %zu rc %d", lines, yc_process_wait(p));
    yc_process_free(p);
    return YC_NONE;
}

SP_TEST(large_output_and_input_do_not_deadlock)
{
    RUN_MAIN(large_main, NULL);
    CHECK_LOG_IS("lines 200000 rc 0");
}

/* ---- what the child gets ---------------------------------------------- */

static yc_val child_main(void *arg)
{
    (void)arg;
    yc_process_opts o = {.stdout_mode = YC_PROC_PIPE, .stderr_mode = YC_PROC_STDOUT,
                         .env = (const char *const[]){"FOO=bar", "PATH=/usr/bin:/bin", NULL},
                         .cwd = "/"};
    yc_process *p = spawn(&o, "sh", "-c", "echo $FOO; pwd; echo to-err >&2");
    yc_process_output out;
    int rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("%d:%.*s|", rc, (int)out.out_len, out.out);
    yc_process_free(p);
    /* descriptors: only 0, 1, 2 (and the one ls opens to list them) */
    int extra = dup(2); /* an inheritable descriptor of ours: must not leak in */
    CHECK(extra > 2);
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE, .stdin_mode = YC_PROC_DEVNULL},
              "sh", "-c", "ls /proc/self/fd | wc -l");
    rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("fds %.*s|", (int)out.out_len, out.out);
    close(extra);
    yc_process_free(p);
    /* SIGPIPE at its default disposition (the loop ignores it here) */
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE}, "sh", "-c",
              "grep -E '^Sig(Ign|Blk)' /proc/self/status");
    rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("%.*s", (int)out.out_len, out.out);
    yc_process_free(p);
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE}, "sh", "-c", "yes | head -1");
    rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("yes|head %d %.*s", rc, (int)out.out_len, out.out);
    yc_process_free(p);
    return YC_NONE;
}

/* This process's mask of blocked or ignored signals (/proc/self/status:
 * "SigBlk:" or "SigIgn:"), as the kernel prints it. */
static unsigned long long own_sigmask(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    CHECK(f != NULL);
    char line[256];
    unsigned long long m = 0;
    size_t k = strlen(field);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, field, k) == 0) m = strtoull(line + k, NULL, 16);
    fclose(f);
    return m;
}

SP_TEST(child_env_cwd_descriptors_and_sigpipe)
{
    struct sigaction old, ign = {.sa_handler = SIG_IGN};
    sigaction(SIGPIPE, &ign, &old);
    /* The child gets our signal mask back, and keeps what we ignore (as
     * exec does, and CPython's restore_signals) except SIGPIPE and SIGXFSZ,
     * which go back to the default. Usually both masks are empty; a test
     * run started by a shell that ignores signals (glibc's 32 and 33 can
     * come ignored that way, and cannot be changed) expects those too. */
    unsigned long long blk = own_sigmask("SigBlk:");
    unsigned long long ignm = own_sigmask("SigIgn:") &
                              ~((1ULL << (SIGPIPE - 1)) | (1ULL << (SIGXFSZ - 1)));
    RUN_MAIN(child_main, NULL);
    sigaction(SIGPIPE, &old, NULL);
    /* ls lists 0, 1, 2 and its own directory descriptor: 4 */
    char want[256];
    snprintf(want, sizeof want,
             "0:bar\n/\nto-err\n||fds 4\n||SigBlk:\t%016llx\nSigIgn:\t%016llx\n|yes|head 0 y\n",
             blk, ignm);
    CHECK_LOG_IS(want);
}

/* ---- exec failures ---------------------------------------------------- */

/* [12.56] errno -> the OSError subclass with CPython's message and file name */
SP_TEST(sec12_56_exec_failure_raises_as_cpython)
{
    const char *argv[] = {"no-such-program-yc", NULL};
    CHECK(yc_process_spawn(argv, &pipes) == NULL);
    CHECK_EXC(&yc_FileNotFoundError,
              "FileNotFoundError: [Errno 2] No such file or directory: 'no-such-program-yc'");
    const char *argv2[] = {"/etc/passwd", NULL};
    CHECK(yc_process_spawn(argv2, NULL) == NULL);
    CHECK_EXC(&yc_PermissionError, "PermissionError: [Errno 13] Permission denied: '/etc/passwd'");
    const char *argv3[] = {"true", NULL};
    CHECK(yc_process_spawn(argv3, &(yc_process_opts){.cwd = "/no/such/dir"}) == NULL);
    CHECK_EXC(&yc_FileNotFoundError,
              "FileNotFoundError: [Errno 2] No such file or directory: '/no/such/dir'");
}

/* ---- cancellation ----------------------------------------------------- */

static yc_val waiter(void *arg)
{
    YC_TRY {
        yc_process_wait(arg);
        LOG("returned;");
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("wait cancelled;");
        yc_raise(yc_exc_ref(yc_exc_current()));
    } YC_END;
    return YC_NONE;
}

static yc_val cancel_main(void *arg)
{
    (void)arg;
    yc_process *p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE}, "sleep", "100", NULL);
    yc_task *t = yc_task_spawn(waiter, p, NULL);
    yc_task *t2 = yc_task_spawn(waiter, p, NULL); /* a second waiter polls */
    yc_sleep(0.01);
    CHECK_ST(yc_process_free(p), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: yc_process_free: a task is waiting on the process");
    yc_task_cancel(t, NULL);
    yc_task_cancel(t2, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("task cancelled;");
    } YC_END;
    YC_TRY {
        yc_await(t2);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("task2 cancelled;");
    } YC_END;
    yc_task_unref(t);
    yc_task_unref(t2);
    int rc;
    LOG("running %d;", yc_process_returncode(p, &rc) == 0);
    /* a wait again after the cancelled one still works */
    yc_process_kill(p);
    LOG("rc %d;", yc_process_wait(p));
    yc_process_free(p);
    /* a timeout on the wait, then free kills and reaps it */
    p = spawn(NULL, "sleep", "100", NULL);
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.02), cm) {
            (void)cm;
            yc_process_wait(p);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timeout;");
    } YC_END;
    CHECK_ST(yc_process_free(p), YC_OK);
    return YC_NONE;
}

SP_TEST(cancelled_wait_leaves_the_process_running)
{
    RUN_MAIN(cancel_main, NULL);
    CHECK_LOG_IS("wait cancelled;|wait cancelled;|task cancelled;|task2 cancelled;|running 1;|rc -9;|"
                 "timeout;");
}

static yc_val comm_cancel_main(void *arg)
{
    (void)arg;
    yc_process *p = spawn(&pipes, "sleep", "100", NULL);
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.02), cm) {
            (void)cm;
            char input[64] = "on the stack";
            yc_process_communicate(p, input, sizeof input, NULL);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timeout;");
    } YC_END;
    int rc;
    LOG("running %d", yc_process_returncode(p, &rc) == 0);
    CHECK_ST(yc_process_free(p), YC_OK);
    return YC_NONE;
}

SP_TEST(cancelled_communicate_leaves_nothing_behind)
{
    RUN_MAIN(comm_cancel_main, NULL);
    CHECK_LOG_IS("timeout;|running 1");
}

/* ---- no zombies ------------------------------------------------------- */

SP_TEST(free_without_wait_reaps_the_child)
{
    /* outside any loop: spawn, free (killed and reaped), and an ended one */
    yc_process *p = spawn(&pipes, "sleep", "100", NULL);
    CHECK(!no_children());
    CHECK_ST(yc_process_free(p), YC_OK);
    CHECK(no_children());
    p = spawn(NULL, "true", NULL, NULL);
    int rc = 0;
    while (yc_process_returncode(p, &rc) == 0) usleep(1000);
    CHECK_EQ_INT(rc, 0);
    CHECK(no_children());
    CHECK_ST(yc_process_free(p), YC_OK);
}

/* ---- the pidfd probe ---------------------------------------------------- */

/* Whether this kernel (or valgrind, or qemu) gives pidfds. */
static bool have_pidfd(void)
{
#ifdef SYS_pidfd_open
    int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
    if (fd < 0) return false;
    close(fd);
    return true;
#else
    return false;
#endif
}

SP_TEST(a_pidfd_where_the_kernel_has_one_none_when_polling)
{
    /* three pipes, plus the pidfd the wait watches when there is one */
    int fds0 = count_fds();
    yc_process *p = spawn(&pipes, "true", NULL, NULL);
    CHECK_EQ_INT(count_fds() - fds0, have_pidfd() ? 4 : 3);
    CHECK_ST(yc_process_free(p), YC_OK);
    yc__process_force_polling(true);
    p = spawn(&pipes, "true", NULL, NULL);
    yc__process_force_polling(false);
    CHECK_EQ_INT(count_fds() - fds0, 3);
    int rc;
    while (yc_process_returncode(p, &rc) == 0) usleep(1000);
    CHECK_EQ_INT(rc, 0);
    CHECK_ST(yc_process_free(p), YC_OK);
    CHECK_EQ_INT(count_fds(), fds0);
}

/* ---- misuse (docs/misuse.md) ------------------------------------------ */

static yc_val reader(void *arg)
{
    size_t len;
    yc_stream_read(arg, 10, &len);
    return YC_NONE;
}

static yc_val wait_null(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_process_wait(NULL);
    } YC_EXCEPT(&yc_TypeError) {
        LOG_CURRENT("wait");
    } YC_END;
    yc_process *p = spawn(NULL, "true", NULL, NULL);
    YC_TRY {
        yc_process_communicate(p, "x", 1, NULL);
    } YC_EXCEPT(&yc_ValueError) {
        LOG_CURRENT("communicate");
    } YC_END;
    yc_process_wait(p);
    yc_process_free(p);
    /* free while a task reads its stdout: refused, p still usable */
    p = spawn(&(yc_process_opts){.stdout_mode = YC_PROC_PIPE}, "sleep", "100", NULL);
    yc_task *t = yc_task_spawn(reader, yc_process_stdout(p), NULL);
    yc_sleep(0.01);
    CHECK_ST(yc_process_free(p), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: yc_stream_free: a task is waiting on the stream");
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(t);
    CHECK(yc_process_pid(p) > 0);
    CHECK_ST(yc_process_free(p), YC_OK);
    return YC_NONE;
}

static yc_val outside_gen(void *arg)
{
    if (arg) yc_process_communicate(arg, NULL, 0, NULL);
    else yc_process_wait(NULL);
    return YC_NONE;
}

SP_TEST(misuse_rows)
{
    /* body functions outside a loop (the check comes before p's) */
    yc_gen *g = yc_gen_new(outside_gen, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_wait: not a process (NULL or freed)");
    yc_gen_free(g);
    yc_process *q = spawn(NULL, "true", NULL, NULL);
    g = yc_gen_new(outside_gen, q, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    yc_gen_free(g);
    CHECK_ST(yc_process_free(q), YC_OK);

    CHECK(yc_process_spawn(NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_spawn: argv must name a program");
    const char *empty[] = {NULL};
    CHECK(yc_process_spawn(empty, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_spawn: argv must name a program");
    const char *argv[] = {"true", NULL};
    CHECK(yc_process_spawn(argv, &(yc_process_opts){.stdout_mode = YC_PROC_STDOUT}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_process_spawn: bad mode 3 for stdout");
    CHECK(yc_process_spawn(argv, &(yc_process_opts){.stdin_mode = -1}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_process_spawn: bad mode -1 for stdin");
    int rc;
    CHECK_ST(yc_process_returncode(NULL, &rc), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_returncode: not a process (NULL or freed)");
    CHECK_ST(yc_process_send_signal(NULL, SIGTERM), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_send_signal: not a process (NULL or freed)");
    CHECK_ST(yc_process_terminate(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK_ST(yc_process_kill(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK_ST(yc_process_free(NULL), YC_OK);
    CHECK(yc_process_stdin(NULL) == NULL && yc_process_stdout(NULL) == NULL &&
          yc_process_stderr(NULL) == NULL && yc_process_pid(NULL) == -1);
    yc_process *p = spawn(NULL, "sleep", "100", NULL);
    CHECK(yc_process_pid(p) > 0 && yc_process_stdin(p) == NULL);
    CHECK_ST(yc_process_returncode(p, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_returncode: rc is NULL");
    CHECK_ST(yc_process_send_signal(p, 65), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: invalid signal number 65");
    CHECK_ST(yc_process_send_signal(p, -1), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: invalid signal number -1");
    CHECK_ST(yc_process_send_signal(p, 0), YC_OK); /* alive: sig 0 tests */
    CHECK_ST(yc_process_free(p), YC_OK);
    RUN_MAIN(wait_null, NULL);
    CHECK_LOG_IS("wait: TypeError: yc_process_wait: not a process (NULL or freed)|"
                 "communicate: ValueError: yc_process_communicate: input needs a piped stdin");
}

/* ---- create_subprocess_shell ------------------------------------------ */

static yc_process *shell(const char *cmd, const yc_process_opts *o)
{
    yc_process *p = yc_process_shell(cmd, o);
    if (!p) fail_pending_at(__FILE__, __LINE__, cmd);
    return p;
}

/* What /usr/bin/python3 (3.11) gives for the same calls:
 *   await create_subprocess_shell('echo $((1+2)); exit 3', stdout=PIPE)
 *     -> communicate() b'3\n', returncode 3
 *   create_subprocess_shell('', stdout=PIPE) -> b'', 0
 *   create_subprocess_shell(None) -> ValueError: cmd must be a string */
static yc_val shell_main(void *arg)
{
    (void)arg;
    const yc_process_opts out = {.stdout_mode = YC_PROC_PIPE};
    yc_process *p = shell("echo $((1+2)); exit 3", &out);
    yc_process_output o;
    int rc = yc_process_communicate(p, NULL, 0, &o);
    LOG("%d '%.*s';", rc, (int)o.out_len, o.out);
    yc_process_free(p);
    p = shell("", &out);
    rc = yc_process_communicate(p, NULL, 0, &o);
    LOG("empty %d '%.*s';", rc, (int)o.out_len, o.out);
    yc_process_free(p);
    /* the shell does the quoting, redirection and pipes; stdin piped */
    p = shell("tr a-z A-Z | sed 's/^/[/' >&2; echo \"$0\"", &pipes);
    rc = yc_process_communicate(p, "ab\ncd\n", 6, &o);
    LOG("%d out '%.*s' err '%.*s';", rc, (int)o.out_len, o.out, (int)o.err_len, o.err);
    yc_process_free(p);
    /* the options are spawn's: env and cwd */
    const char *env[] = {"GREETING=hi there", NULL};
    p = shell("echo \"$GREETING\"; pwd", &(yc_process_opts){.stdout_mode = YC_PROC_PIPE,
                                                            .env = env, .cwd = "/"});
    rc = yc_process_communicate(p, NULL, 0, &o);
    LOG("%d '%.*s'", rc, (int)o.out_len, o.out);
    yc_process_free(p);
    return YC_NONE;
}

SP_TEST(shell_runs_sh_c_as_create_subprocess_shell)
{
    RUN_MAIN(shell_main, NULL);
    CHECK_LOG_IS("3 '3\n';|empty 0 '';|0 out '/bin/sh\n' err '[AB\n[CD\n';|0 'hi there\n/\n'");
    /* cmd NULL: asyncio's ValueError for cmd None, nothing started */
    CHECK(yc_process_shell(NULL, NULL) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: cmd must be a string");
    /* spawn's option errors, spawn's messages */
    CHECK(yc_process_shell("true", &(yc_process_opts){.stdout_mode = YC_PROC_STDOUT}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_process_spawn: bad mode 3 for stdout");
    CHECK(yc_process_shell("true", &(yc_process_opts){.cwd = "/nonexistent-yc"}) == NULL);
    CHECK_EXC(&yc_FileNotFoundError,
              "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent-yc'");
}

/* ---- pass_fds --------------------------------------------------------- */

static yc_val pass_main(void *arg)
{
    (void)arg;
    int pp[2];
    CHECK(pipe2(pp, O_CLOEXEC) == 0);
    /* a free descriptor in 4..9 (sh redirects single digits only) for the
     * read end, under the same number in the child (dup3 keeps it
     * close-on-exec in the parent) */
    int five = 9;
    while (five > 4 && fcntl(five, F_GETFD) >= 0) five--;
    CHECK(five > 4 && fcntl(five, F_GETFD) < 0);
    CHECK(dup3(pp[0], five, O_CLOEXEC) == five);
    CHECK(write(pp[1], "through 5\n", 10) == 10);
    close(pp[1]);
    const int keep[] = {five};
    yc_process_opts o = {.stdout_mode = YC_PROC_PIPE, .pass_fds = keep, .n_pass_fds = 1};
    char cmd[64];
    snprintf(cmd, sizeof cmd, "cat <&%d", five);
    yc_process *p = shell(cmd, &o);
    yc_process_output out;
    int rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("%d '%.*s';", rc, (int)out.out_len, out.out);
    yc_process_free(p);
    /* which descriptors the child has: 0-2, the passed one and ls's own
     * (at the lowest free number, 3); not pp[0] (open in the parent
     * without close-on-exec), which would show as one more */
    CHECK(fcntl(pp[0], F_SETFD, 0) == 0);
    p = shell("ls /proc/self/fd | sort -n | tr '\\n' ' '", &o);
    rc = yc_process_communicate(p, NULL, 0, &out);
    char want[64];
    snprintf(want, sizeof want, "0 1 2 3 %d ", five);
    LOG("%d %s;", rc, out.out_len == strlen(want) && !memcmp(out.out, want, out.out_len)
                          ? "0 1 2 3 passed" : "other");
    if (out.out_len != strlen(want) || memcmp(out.out, want, out.out_len))
        LOG("got '%.*s'", (int)out.out_len, out.out);
    yc_process_free(p);
    /* still open and still close-on-exec in the parent */
    CHECK(fcntl(five, F_GETFD) == FD_CLOEXEC);
    /* no pass_fds: 5 is not inherited */
    snprintf(cmd, sizeof cmd, "cat 2>/dev/null <&%d; echo $?", five);
    p = shell(cmd, &(yc_process_opts){.stdout_mode = YC_PROC_PIPE});
    rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("without %d '%.*s'", rc, (int)out.out_len, out.out);
    yc_process_free(p);
    close(five);
    close(pp[0]);
    return YC_NONE;
}

SP_TEST(pass_fds_keeps_exactly_those_open)
{
    RUN_MAIN(pass_main, NULL);
    CHECK_LOG_IS("0 'through 5\n';|0 0 1 2 3 passed;|without 0 '2\n'");
}

SP_TEST(pass_fds_kept_by_the_close_loop_without_close_range)
{
    yc__process_force_close_loop(true);
    RUN_MAIN(pass_main, NULL);
    yc__process_force_close_loop(false);
    CHECK_LOG_IS("0 'through 5\n';|0 0 1 2 3 passed;|without 0 '2\n'");
}

SP_TEST(pass_fds_errors_before_the_fork)
{
    /* CPython 3.11: Popen(['true'], pass_fds=[50]) with 50 closed ->
     * OSError: [Errno 9] Bad file descriptor; pass_fds=[-1] ->
     * ValueError: bad value(s) in fds_to_keep */
    int fds0 = count_fds();
    int closed = dup(2);
    CHECK(closed > 2);
    close(closed);
    const char *argv[] = {"true", NULL};
    const int bad[] = {2, closed};
    yc_process_opts o = {.stdout_mode = YC_PROC_PIPE, .pass_fds = bad, .n_pass_fds = 2};
    CHECK(yc_process_spawn(argv, &o) == NULL);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 9] Bad file descriptor");
    CHECK(yc_process_shell("true", &o) == NULL);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 9] Bad file descriptor");
    const int neg[] = {-1};
    o.pass_fds = neg;
    o.n_pass_fds = 1;
    CHECK(yc_process_spawn(argv, &o) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: bad value(s) in fds_to_keep");
    o.pass_fds = NULL;
    CHECK(yc_process_spawn(argv, &o) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_process_spawn: pass_fds is NULL with n_pass_fds 1");
    o.n_pass_fds = 0; /* NULL with 0: none, fine */
    yc_process *p = yc_process_spawn(argv, &o);
    CHECK(p != NULL);
    CHECK_ST(yc_process_free(p), YC_OK);
    CHECK_EQ_INT(count_fds(), fds0); /* the errors left nothing open */
}

/* ---- start_new_session, process_group, preexec_fn ------------------------ */

/* The child's process group and session, from /proc/self/stat of cat (the
 * child itself: exec keeps the pid). */
static void stat_ids(const yc_process_opts *extra, pid_t *pid, int *pgrp, int *sid)
{
    yc_process_opts o = *extra;
    o.stdout_mode = YC_PROC_PIPE;
    yc_process *p = spawn(&o, "cat", "/proc/self/stat", NULL);
    yc_process_output out;
    CHECK_EQ_INT(yc_process_communicate(p, NULL, 0, &out), 0);
    char line[512];
    snprintf(line, sizeof line, "%.*s", (int)out.out_len, out.out);
    int spid = 0;
    char state;
    int ppid;
    CHECK(sscanf(line, "%d (cat) %c %d %d %d", &spid, &state, &ppid, pgrp, sid) == 5);
    *pid = yc_process_pid(p);
    CHECK_EQ_INT(spid, *pid);
    yc_process_free(p);
}

static int umask_077(void *arg)
{
    (void)arg;
    umask(077); /* async-signal-safe */
    return 0;
}

static int refuse(void *arg)
{
    (void)arg;
    return 1;
}

/* What /usr/bin/python3 (3.11) gives for the same calls:
 *   create_subprocess_exec(..., start_new_session=True): the child's sid
 *     and pgid are its pid
 *   create_subprocess_exec(..., process_group=0): pgid the child's pid,
 *     the parent's session
 *   create_subprocess_exec("true", preexec_fn=f) with f raising ->
 *     SubprocessError: Exception occurred in preexec_fn.
 *   create_subprocess_exec("true", process_group=99999) ->
 *     PermissionError: [Errno 1] Operation not permitted */
static yc_val session_main(void *arg)
{
    (void)arg;
    pid_t pid;
    int pgrp, sid;
    stat_ids(&(yc_process_opts){0}, &pid, &pgrp, &sid);
    LOG("default: group %s, session %s", pgrp == getpgrp() ? "ours" : "other",
        sid == getsid(0) ? "ours" : "other");
    stat_ids(&(yc_process_opts){.start_new_session = true}, &pid, &pgrp, &sid);
    LOG("new session: group %s, session %s", pgrp == pid ? "its own" : "other",
        sid == pid ? "its own" : "other");
    stat_ids(&(yc_process_opts){.set_process_group = true, .process_group = 0}, &pid, &pgrp, &sid);
    LOG("group 0: group %s, session %s", pgrp == pid ? "its own" : "other",
        sid == getsid(0) ? "ours" : "other");
    stat_ids(&(yc_process_opts){.set_process_group = true, .process_group = getpgrp()}, &pid,
             &pgrp, &sid);
    LOG("our group: group %s", pgrp == getpgrp() ? "ours" : "other");
    /* preexec_fn runs in the child before the exec: the shell sees its umask */
    yc_process *p = shell("umask", &(yc_process_opts){.stdout_mode = YC_PROC_PIPE,
                                                       .preexec_fn = umask_077});
    yc_process_output out;
    int rc = yc_process_communicate(p, NULL, 0, &out);
    LOG("preexec: %d '%.*s'", rc, (int)out.out_len, out.out);
    yc_process_free(p);
    return YC_NONE;
}

SP_TEST(start_new_session_process_group_and_preexec_fn)
{
    RUN_MAIN(session_main, NULL);
    CHECK_LOG_IS("default: group ours, session ours|new session: group its own, session its own|"
                 "group 0: group its own, session ours|our group: group ours|"
                 "preexec: 0 '0077\n'");
    const char *argv[] = {"true", NULL};
    CHECK(yc_process_spawn(argv, &(yc_process_opts){.preexec_fn = refuse}) == NULL);
    CHECK_EXC(&yc_SubprocessError, "SubprocessError: Exception occurred in preexec_fn.");
    CHECK(yc_type_is_subtype(&yc_SubprocessError, &yc_Exception));
    CHECK(yc_process_spawn(argv, &(yc_process_opts){.set_process_group = true,
                                                     .process_group = 99999}) == NULL);
    CHECK_EXC(&yc_PermissionError, "PermissionError: [Errno 1] Operation not permitted");
    CHECK(yc_process_spawn(argv, &(yc_process_opts){.set_process_group = true,
                                                     .process_group = -1}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_process_spawn: process_group -1 is negative");
}

TEST_MAIN()
