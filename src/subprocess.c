/*
 * Child processes for tasks (include/yieldc/subprocess.h): fork + exec
 * with pipes as streams, an exec failure reported through a close-on-exec
 * pipe as CPython's _posixsubprocess does, and a wait that watches a pidfd
 * through the loop's epoll (or polls waitpid where there is no pidfd).
 *
 * The child between fork and exec calls only async-signal-safe functions
 * (the parent may run pool threads): everything it needs (argv, env, the
 * descriptors) is ready before the fork.
 */
#define _GNU_SOURCE
#include "loop.h"
#include "task.h"

#include <yieldc.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#  define CLOSE_RANGE_CLOEXEC (1u << 2) /* linux/close_range.h, for older headers */
#endif

#define PROC_MAGIC 0x70726f63u /* "proc" */

struct yc_process {
    uint32_t magic;
    pid_t pid;
    int pidfd;          /* -1: none (no kernel support), or reaped        */
    bool done;          /* reaped: rc holds the return code               */
    int rc;
    int waiters;        /* tasks in yc_process_wait                       */
    yc_stream *io[3];   /* stdin, stdout, stderr when piped               */
};

/* Tests force the polling wait with this (no public switch: the pidfd
 * path is what a user wants wherever the kernel has it). */
static bool no_pidfd;

void yc__process_force_polling(bool on) { no_pidfd = on; }

/* And the close loop of kernels before close_range (5.9). */
static bool no_close_range;

void yc__process_force_close_loop(bool on) { no_close_range = on; }

static bool valid(const yc_process *p) { return p && p->magic == PROC_MAGIC; }

static int bad_process(const char *what)
{
    return yc__fail(YC_EINVAL, &yc_TypeError, "%s: not a process (NULL or freed)", what);
}

/* OSError for err pending (with 'name' when name is not NULL); returns YC_RAISE. */
static int os_fail(int err, const char *name)
{
    yc_exc *e = name ? yc_exc_new_errno(&yc_OSError, err, "'%s'", name)
                     : yc_exc_new_errno(&yc_OSError, err, NULL);
    yc_err_set(e);
    return YC_RAISE;
}

/* ---- the child -------------------------------------------------------- */

/* What the child writes to the error pipe when it fails before exec. */
typedef struct { int err; int stage; } child_err;
enum { STAGE_EXEC, STAGE_CHDIR, STAGE_DUP, STAGE_PREEXEC };

/*
 * Runs in the child: makes fds[i] its descriptor i, closes the rest,
 * resets the signal dispositions and the mask, changes directory, starts
 * a session or joins a group when asked, runs preexec_fn, and execs
 * (CPython's _posixsubprocess order, except that the descriptors are
 * closed before preexec_fn rather than after it). Never returns: on failure it reports through errfd and exits 255.
 */
static YC_NORETURN void child(const char *const *argv, const yc_process_opts *opts,
                              const int fds[3], int errfd, const sigset_t *mask)
{
    const int *keep = opts->pass_fds;
    size_t nkeep = opts->pass_fds ? opts->n_pass_fds : 0;
    child_err ce = {0, STAGE_DUP};
    /* Move the sources above 2 first so that one dup2 cannot clobber another's source. */
    int src[3];
    for (int i = 0; i < 3; i++) {
        src[i] = fds[i];
        if (src[i] >= 0 && src[i] <= 2) {
            src[i] = fcntl(src[i], F_DUPFD_CLOEXEC, 3);
            if (src[i] < 0) goto fail;
        }
    }
    for (int i = 0; i < 3; i++)
        if (src[i] >= 0 && dup2(src[i], i) < 0) goto fail;
    /* Everything else goes: close_range where the kernel has it (5.9). */
#ifdef SYS_close_range
    long cr = no_close_range ? -1 : syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
#else
    long cr = -1;
#endif
    if (cr < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 3; fd < (max > 0 ? max : 1024); fd++) {
            bool kept = fd == errfd;
            for (size_t i = 0; i < nkeep && !kept; i++) kept = keep[i] == fd;
            if (!kept) close((int)fd);
        }
    }
    fcntl(errfd, F_SETFD, FD_CLOEXEC);
    /* pass_fds: inherited by the program (0-2 are anyway, dup2 cleared theirs). */
    for (size_t i = 0; i < nkeep; i++)
        if (keep[i] > 2 && fcntl(keep[i], F_SETFD, 0) < 0) goto fail;
    for (int s = 1; s < NSIG; s++) { /* handlers of the parent's loop go */
        struct sigaction sa;
        if (sigaction(s, NULL, &sa) < 0) continue;
        if (sa.sa_handler != SIG_DFL && (sa.sa_handler != SIG_IGN || s == SIGPIPE || s == SIGXFSZ)) {
            struct sigaction dfl = {.sa_handler = SIG_DFL};
            sigaction(s, &dfl, NULL);
        }
    }
    sigprocmask(SIG_SETMASK, mask, NULL);
    if (opts->cwd && chdir(opts->cwd) < 0) {
        ce.stage = STAGE_CHDIR;
        goto fail;
    }
    ce.stage = STAGE_DUP; /* an OSError without a file name, as CPython's */
    if (opts->start_new_session && setsid() < 0) goto fail;
    if (opts->set_process_group && setpgid(0, opts->process_group) < 0) goto fail;
    if (opts->preexec_fn && opts->preexec_fn(opts->preexec_arg) != 0) {
        ce.stage = STAGE_PREEXEC;
        errno = 0;
        goto fail;
    }
    ce.stage = STAGE_EXEC;
    if (opts->env) execvpe(argv[0], (char *const *)argv, (char *const *)opts->env);
    else execvp(argv[0], (char *const *)argv);
fail:
    ce.err = errno;
    while (write(errfd, &ce, sizeof ce) < 0 && errno == EINTR) {}
    _exit(255);
}

/* ---- spawning ------------------------------------------------------- */

static int pidfd_open_(pid_t pid)
{
#ifdef SYS_pidfd_open
    if (no_pidfd) return -1;
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        fcntl(fd, F_SETFD, FD_CLOEXEC);
        fcntl(fd, F_SETFL, O_NONBLOCK);
    }
    return fd;
#else
    (void)pid;
    return -1;
#endif
}

static void close_all(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0) close(fds[i]);
}

yc_process *yc_process_spawn(const char *const *argv, const yc_process_opts *opts)
{
    static const yc_process_opts none;
    if (!opts) opts = &none;
    if (!argv || !argv[0]) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_process_spawn: argv must name a program");
        return NULL;
    }
    const int modes[3] = {opts->stdin_mode, opts->stdout_mode, opts->stderr_mode};
    for (int i = 0; i < 3; i++)
        if (modes[i] < YC_PROC_INHERIT || modes[i] > (i == 2 ? YC_PROC_STDOUT : YC_PROC_DEVNULL)) {
            yc__fail(YC_EINVAL, &yc_ValueError, "yc_process_spawn: bad mode %d for %s", modes[i],
                     (const char *[]){"stdin", "stdout", "stderr"}[i]);
            return NULL;
        }
    if (opts->n_pass_fds && !opts->pass_fds) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_process_spawn: pass_fds is NULL with n_pass_fds %zu",
                 opts->n_pass_fds);
        return NULL;
    }
    if (opts->set_process_group && opts->process_group < 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_process_spawn: process_group %d is negative",
                 opts->process_group);
        return NULL;
    }
    /* Checked here, before anything is made, so that the error is the
     * parent's (CPython finds it in the child: the same OSError). */
    for (size_t i = 0; i < opts->n_pass_fds; i++) {
        if (opts->pass_fds[i] < 0) {
            yc__fail(YC_EINVAL, &yc_ValueError, "bad value(s) in fds_to_keep");
            return NULL;
        }
        if (fcntl(opts->pass_fds[i], F_GETFD) < 0) {
            os_fail(errno, NULL);
            return NULL;
        }
    }
    /* ours[i]: the parent's end (pipes), theirs[i]: what becomes the child's i. */
    int ours[3] = {-1, -1, -1}, theirs[3] = {-1, -1, -1}, errp[2] = {-1, -1};
    pid_t pid = -1;
    yc_process *p = NULL;
    for (int i = 0; i < 3; i++) {
        int pp[2];
        if (modes[i] == YC_PROC_PIPE) {
            if (pipe2(pp, O_CLOEXEC) < 0) goto os_err;
            ours[i] = pp[i == 0 ? 1 : 0];
            theirs[i] = pp[i == 0 ? 0 : 1];
            if (fcntl(ours[i], F_SETFL, O_NONBLOCK) < 0) goto os_err;
        } else if (modes[i] == YC_PROC_DEVNULL) {
            if ((theirs[i] = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC)) < 0)
                goto os_err;
        }
    }
    if (modes[2] == YC_PROC_STDOUT) theirs[2] = theirs[1] >= 0 ? theirs[1] : 1;
    for (int i = 0; i < 3; i++)
        if (theirs[i] < 0) theirs[i] = i; /* inherited */
    if (pipe2(errp, O_CLOEXEC) < 0) goto os_err;

    /* Nothing is allocated before the fork, so the child's copy of the heap
     * holds no block of ours (valgrind checks a child that fails to exec
     * for leaks). No signal handler of the parent may run in the child
     * before exec: every signal is blocked around the fork. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pid = fork();
    if (pid == 0) child(argv, opts, theirs, errp[1], &old);
    int fork_err = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(errp[1]);
    errp[1] = -1;
    if (pid < 0) {
        errno = fork_err;
        goto os_err;
    }
    child_err ce;
    ssize_t k;
    while ((k = read(errp[0], &ce, sizeof ce)) < 0 && errno == EINTR) {}
    if (k == (ssize_t)sizeof ce && ce.stage == STAGE_PREEXEC) {
        yc__fail(YC_RAISE, &yc_SubprocessError, "Exception occurred in preexec_fn.");
        goto fail;
    }
    if (k == (ssize_t)sizeof ce) { /* the exec failed: the child exits 255 */
        os_fail(ce.err, ce.stage == STAGE_EXEC ? argv[0] : ce.stage == STAGE_CHDIR ? opts->cwd : NULL);
        goto fail;
    }
    close(errp[0]);
    errp[0] = -1;
    for (int i = 0; i < 3; i++) {
        if (modes[i] != YC_PROC_INHERIT && theirs[i] > 2 && !(i == 2 && theirs[2] == theirs[1]))
            close(theirs[i]);
        theirs[i] = -1;
    }
    if (!(p = yc__malloc(sizeof *p))) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        goto fail;
    }
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 3; i++) {
        if (ours[i] < 0) continue;
        if (!(p->io[i] = yc_stream_new(ours[i], opts->limit))) goto fail;
        ours[i] = -1; /* the stream's now */
    }
    p->magic = PROC_MAGIC;
    p->pid = pid;
    p->pidfd = pidfd_open_(pid);
    return p;

os_err:
    os_fail(errno, NULL);
fail:
    close_all(errp, 2);
    for (int i = 0; i < 3; i++) {
        if (ours[i] >= 0) close(ours[i]);
        if (modes[i] != YC_PROC_INHERIT && theirs[i] > 2 && !(i == 2 && theirs[2] == theirs[1]))
            close(theirs[i]);
    }
    if (pid > 0) { /* started (or failed to exec): no child may stay behind */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
    }
    if (p) {
        for (int i = 0; i < 3; i++) yc_stream_free(p->io[i]);
        yc__free(p);
    }
    return NULL;
}

yc_process *yc_process_shell(const char *cmd, const yc_process_opts *opts)
{
    if (!cmd) { /* asyncio's subprocess_shell check, word for word */
        yc__fail(YC_EINVAL, &yc_ValueError, "cmd must be a string");
        return NULL;
    }
    const char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    return yc_process_spawn(argv, opts);
}

/* ---- reaping -------------------------------------------------------- */

static void set_done(yc_process *p, int status)
{
    p->done = true;
    p->rc = WIFSIGNALED(status) ? -WTERMSIG(status) : WEXITSTATUS(status);
    if (p->pidfd >= 0 && p->waiters == 0) {
        yc_exc *keep = yc_err_take(); /* closing never raises for a pidfd */
        if (yc_io_close(p->pidfd) < 0) yc_err_clear();
        if (keep) yc_err_set(keep);
        p->pidfd = -1;
    }
}

/* Reaps p when it has ended, without blocking (flags 0 blocks). Returns
 * whether it is done. */
static bool reap(yc_process *p, int flags)
{
    if (p->done) return true;
    int status;
    pid_t r;
    while ((r = waitpid(p->pid, &status, flags)) < 0 && errno == EINTR) {}
    if (r == p->pid) set_done(p, status);
    else if (r < 0 && errno == ECHILD) /* reaped behind our back: asyncio's 255 */
        set_done(p, 255 << 8);
    return p->done;
}

int yc_process_returncode(yc_process *p, int *rc)
{
    if (!valid(p)) return bad_process("yc_process_returncode");
    if (!rc) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_process_returncode: rc is NULL");
    if (!reap(p, WNOHANG)) return 0;
    *rc = p->rc;
    return 1;
}

int yc_process_send_signal(yc_process *p, int sig)
{
    if (!valid(p)) return bad_process("yc_process_send_signal");
    if (sig < 0 || sig >= NSIG)
        return yc__fail(YC_EINVAL, &yc_ValueError, "invalid signal number %d", sig);
    if (p->done) return YC_OK;
    int r;
#ifdef SYS_pidfd_send_signal
    if (p->pidfd >= 0) r = (int)syscall(SYS_pidfd_send_signal, p->pidfd, sig, NULL, 0);
    else
#endif
        r = kill(p->pid, sig);
    if (r < 0 && errno != ESRCH) return os_fail(errno, NULL);
    return YC_OK;
}

int yc_process_terminate(yc_process *p) { return yc_process_send_signal(p, SIGTERM); }
int yc_process_kill(yc_process *p) { return yc_process_send_signal(p, SIGKILL); }

yc_stream *yc_process_stdin(const yc_process *p) { return valid(p) ? p->io[0] : NULL; }
yc_stream *yc_process_stdout(const yc_process *p) { return valid(p) ? p->io[1] : NULL; }
yc_stream *yc_process_stderr(const yc_process *p) { return valid(p) ? p->io[2] : NULL; }
int yc_process_pid(const yc_process *p) { return valid(p) ? (int)p->pid : -1; }

int yc_process_free(yc_process *p)
{
    if (!p) return YC_OK;
    if (!valid(p)) return bad_process("yc_process_free");
    if (p->waiters)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "yc_process_free: a task is waiting on the process");
    /* A stream refuses while a task waits on it: check all before freeing any. */
    for (int i = 0; i < 3; i++) {
        if (!p->io[i]) continue;
        int st = yc_stream_free(p->io[i]);
        if (st == YC_EINVAL) return st; /* only the first can fail that way before others go */
        p->io[i] = NULL;
        if (st < 0) yc_err_clear();
    }
    if (!p->done) {
        yc_process_kill(p);
        if (!reap(p, 0)) yc_err_clear();
    }
    if (p->pidfd >= 0) {
        if (yc_io_close(p->pidfd) < 0) yc_err_clear();
        p->pidfd = -1;
    }
    p->magic = 0;
    yc__free(p);
    return YC_OK;
}

/* ---- waiting (body) ------------------------------------------------- */

/*
 * Waits for p in the running task. The first waiter watches the pidfd
 * (one task at a time may wait on a descriptor); the others, and every
 * waiter where there is no pidfd, poll waitpid with a sleep growing from
 * 1 ms to 50 ms. A cancellation raised in the wait leaves the child
 * running and the pidfd without a waiter.
 */
int yc_process_wait(yc_process *p)
{
    if (!valid(p)) {
        bad_process("yc_process_wait");
        yc_raise(yc_err_take());
    }
    if (!yc__task_running("yc_process_wait()")) yc_raise(yc_err_take());
    if (reap(p, WNOHANG)) return p->rc;
    bool watch = p->pidfd >= 0 && p->waiters == 0;
    volatile double delay = 0.001;
    p->waiters++;
    YC_TRY {
        while (!reap(p, WNOHANG)) {
            if (watch) yc_io_wait_readable(p->pidfd);
            else {
                yc_sleep(delay);
                delay = delay * 2 > 0.05 ? 0.05 : delay * 2;
            }
        }
    } YC_FINALLY {
        p->waiters--;
        if (p->done && p->waiters == 0 && p->pidfd >= 0) {
            yc_exc *keep = yc_err_take();
            if (yc_io_close(p->pidfd) < 0) yc_err_clear();
            if (keep) yc_err_set(keep);
            p->pidfd = -1;
        }
    } YC_END;
    return p->rc;
}

/* ---- communicate ---------------------------------------------------- */

static yc_val feed(void *arg)
{
    yc_stream *s = arg;
    YC_TRY {
        yc_stream_wait_closed(s); /* drains; closes even when the drain raises */
    } YC_EXCEPT(&yc_BrokenPipeError) {
    } YC_EXCEPT(&yc_ConnectionResetError) {
    } YC_END;
    return YC_NONE;
}

typedef struct {
    yc_stream *s;
    const char *data;
    size_t len;
} slurp_ctx;

static yc_val slurp(void *arg)
{
    slurp_ctx *c = arg;
    c->data = yc_stream_read(c->s, -1, &c->len);
    return YC_NONE;
}

/*
 * Waits for every helper in h[0..n) (allocation-free: a task awaits
 * another through its own wakeup slot), so that none outlives the call:
 * they borrow p's streams and slurp contexts on this stack. The first
 * failure (a helper's exception, or this task's cancellation) cancels
 * the helpers not yet done; it is kept, pending, and YC_RAISE returned
 * once they all are. Releases the references in h.
 */
static int join_helpers(yc_task *self, yc_task **h, int n)
{
    yc_exc *first = NULL;
    for (int i = 0; i < n; i++) {
        while (yc__task_await(self, h[i], NULL) < 0) {
            yc_exc *e = yc_err_take();
            bool own = !yc_task_done(h[i]); /* thrown into this task: a cancellation */
            if (first) yc_exc_unref(e);
            else first = e;
            for (int j = i; j < n; j++)
                if (!yc_task_done(h[j])) yc_task_cancel(h[j], NULL);
            if (!own) break;
        }
    }
    for (int i = 0; i < n; i++) yc_task_unref(h[i]);
    if (!first) return YC_OK;
    yc_err_set(first);
    return YC_RAISE;
}

int yc_process_communicate(yc_process *p, const void *input, size_t n, yc_process_output *out)
{
    if (!valid(p)) {
        bad_process("yc_process_communicate");
        yc_raise(yc_err_take());
    }
    yc_task *self = yc__task_running("yc_process_communicate()");
    if (!self) yc_raise(yc_err_take());
    if (n > 0 && (!input || !p->io[0]))
        yc_raisef(&yc_ValueError, "yc_process_communicate: input needs %s",
                  input ? "a piped stdin" : "a buffer");
    if (p->io[0] && n > 0 && yc_stream_write(p->io[0], input, n) < 0) yc_raise(yc_err_take());
    slurp_ctx got[3] = {{0}};
    yc_task *h[3];
    int nh = 0, st = YC_OK;
    for (int i = 0; i < 3 && st == YC_OK; i++) {
        if (!p->io[i] || (i == 0 && yc_stream_fd(p->io[0]) < 0)) continue;
        got[i].s = p->io[i];
        yc_task *t = yc_task_spawn(i ? slurp : feed, i ? (void *)&got[i] : p->io[0], NULL);
        if (!t) {
            st = YC_RAISE;
            for (int j = 0; j < nh; j++) yc_task_cancel(h[j], NULL);
        } else {
            h[nh++] = t;
        }
    }
    yc_exc *spawn_err = st < 0 ? yc_err_take() : NULL;
    if (join_helpers(self, h, nh) < 0 || spawn_err) {
        yc_exc *e = yc_err_take();
        if (spawn_err) { /* the spawn's error first; the cancellations it caused are expected */
            yc_exc_unref(e);
            e = spawn_err;
        }
        yc_raise(e);
    }
    int rc = yc_process_wait(p);
    if (out) *out = (yc_process_output){got[1].data, got[1].len, got[2].data, got[2].len};
    return rc;
}
