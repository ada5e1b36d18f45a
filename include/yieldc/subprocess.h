/* yieldc: child processes for tasks (asyncio.create_subprocess_exec).
 * Included by yieldc.h after io.h; do not include directly. docs/io.md
 * ("Subprocesses") has the model.
 *
 *   const char *argv[] = {"sort", NULL};
 *   yc_process_opts o = {.stdin_mode = YC_PROC_PIPE, .stdout_mode = YC_PROC_PIPE};
 *   yc_process *p = yc_process_spawn(argv, &o);         create_subprocess_exec
 *   yc_process_output out;
 *   int rc = yc_process_communicate(p, "b\na\n", 4, &out);   communicate(input)
 *   ... out.out / out.out_len ...
 *   yc_process_free(p);
 *
 *   p = yc_process_shell("echo $((1+2)); exit 3", &o);  create_subprocess_shell
 *
 * The child runs with SIGPIPE and SIGXFSZ at their default disposition,
 * every signal handler reset to the default (CPython's restore_signals),
 * and no descriptor open but 0, 1, 2 and those of opts->pass_fds. Waiting uses a pidfd watched by
 * the loop's epoll where the kernel has pidfd_open (Linux 5.3), checked
 * at run time; elsewhere the waiting task polls waitpid with a sleep
 * that grows from 1 ms to 50 ms.
 *
 * Body functions (marked "body") suspend the calling task and raise;
 * the others never suspend and return a status with the exception
 * pending.
 */
#ifndef YIELDC_SUBPROCESS_H
#define YIELDC_SUBPROCESS_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/subprocess.h>"
#endif

/* What each of the child's stdin, stdout and stderr is (subprocess.PIPE,
 * DEVNULL, STDOUT, None). */
enum {
    YC_PROC_INHERIT = 0, /* the parent's descriptor (None; the default) */
    YC_PROC_PIPE = 1,    /* a pipe, the parent's end as a yc_stream       */
    YC_PROC_DEVNULL = 2, /* /dev/null                                    */
    YC_PROC_STDOUT = 3,  /* stderr only: wherever stdout goes            */
};

typedef struct yc_process_opts {
    int stdin_mode, stdout_mode, stderr_mode; /* YC_PROC_*                  */
    const char *const *env; /* NULL-terminated "K=V" list; NULL: environ   */
    const char *cwd;        /* NULL: the parent's                          */
    size_t limit;           /* the pipes' stream limit (0: 65536)          */
    /* pass_fds: descriptors the program keeps open under the same numbers
     * (borrowed for the spawn call), as Popen's pass_fds; every other
     * descriptor above 2 is closed. NULL with n_pass_fds 0: none. */
    const int *pass_fds;
    size_t n_pass_fds;
    /* start_new_session: the child calls setsid() (Popen's
     * start_new_session=True): a new session and process group, both led
     * by the child. */
    bool start_new_session;
    /* set_process_group: the child calls setpgid(0, process_group) (Popen's
     * process_group=; 0: a new group led by the child). Not negative. */
    bool set_process_group;
    int process_group;
    /* preexec_fn(preexec_arg), when not NULL, runs in the child just before
     * the exec (after the descriptors, the signals, cwd, the session and
     * the group are set), as Popen's preexec_fn. It runs in a forked copy
     * of a possibly multi-threaded process: only async-signal-safe calls
     * (signal(7)), no yieldc function, no malloc. A non-zero return stops
     * the spawn: the child exits and yc_process_spawn raises
     * SubprocessError "Exception occurred in preexec_fn." */
    int (*preexec_fn)(void *preexec_arg);
    void *preexec_arg;
} yc_process_opts;

typedef struct yc_process yc_process;

/* caller. Starts argv[0] (looked up in the parent's PATH, not env's,
 * when it has no '/') with
 * arguments argv (NULL-terminated, at least the program; borrowed for
 * the call) and opts (NULL: all inherited). Returns a new process that
 * the caller frees with yc_process_free, or NULL with the exception
 * pending, nothing left open and no child left behind: the OSError of
 * the exec as CPython raises it (FileNotFoundError: [Errno 2] No such
 * file or directory: 'prog'; PermissionError ...), of chdir (naming
 * cwd), of fork or pipe; ValueError for a bad mode (YC_PROC_STDOUT for
 * stdin or stdout); TypeError for argv NULL or empty; MemoryError. Needs
 * no running loop; the descriptors are the loop's from the first wait.
 * pass_fds: ValueError "bad value(s) in fds_to_keep" for a negative
 * entry, OSError "[Errno 9] Bad file descriptor" for one that is not
 * open (checked before the fork), TypeError for pass_fds NULL with
 * n_pass_fds > 0. The OSError of setsid or setpgid in the child (as
 * CPython: "[Errno 1] Operation not permitted" for a group that does not
 * exist); ValueError "yc_process_spawn: process_group -1 is negative";
 * SubprocessError "Exception occurred in preexec_fn." when preexec_fn
 * returns non-zero. */
YC_API yc_process *yc_process_spawn(const char *const *argv, const yc_process_opts *opts);

/* caller. asyncio.create_subprocess_shell(cmd): yc_process_spawn of
 * {"/bin/sh", "-c", cmd} with opts (NULL: all inherited); cmd is
 * borrowed for the call and may be "" (sh -c '' exits 0). Returns a new
 * process that the caller frees with yc_process_free, or NULL with the
 * exception pending: ValueError "cmd must be a string" for cmd NULL (as
 * asyncio raises for cmd None), else what yc_process_spawn raises (its
 * messages name yc_process_spawn; an exec failure names '/bin/sh'). A
 * failing command is no error here: its return code says so. */
YC_API yc_process *yc_process_shell(const char *cmd, const yc_process_opts *opts);

/* caller. Frees p and its streams (bytes not drained are dropped). A
 * child that has not been reaped is killed (SIGKILL) and reaped first, as
 * asyncio's transport does on close, so no zombie stays. YC_OK; YC_EINVAL
 * with RuntimeError "yc_process_free: a task is waiting on the process"
 * (p unchanged) while a task waits on it or on one of its streams. NULL
 * is a no-op. */
YC_API int yc_process_free(yc_process *p);

/* caller. The parent's end of each pipe (borrowed: freed with p; NULL
 * when that stream is not YC_PROC_PIPE, or p is NULL). */
YC_API yc_stream *yc_process_stdin(const yc_process *p);
YC_API yc_stream *yc_process_stdout(const yc_process *p);
YC_API yc_stream *yc_process_stderr(const yc_process *p);
/* caller. The child's process id (-1 for NULL). */
YC_API int yc_process_pid(const yc_process *p);

/* caller. Popen.poll(): 1 with *rc set to the return code when the child
 * has ended (reaping it if it has just done so), 0 while it runs. The
 * code is the exit status, or -N when signal N ended it; 255 when
 * someone else reaped it (asyncio's "unknown pid" case). YC_EINVAL with
 * TypeError for p or rc NULL. */
YC_API int yc_process_returncode(yc_process *p, int *rc);

/* caller. send_signal(sig): sends sig (0 to 64) to the child, through
 * its pidfd when it has one. Nothing is sent once the child has been
 * reaped (Popen's rule: its pid may belong to another process by then).
 * YC_OK; YC_EINVAL: ValueError "invalid signal number N", TypeError (p
 * NULL); YC_RAISE with the OSError of the system call. terminate and
 * kill send SIGTERM and SIGKILL. */
YC_API int yc_process_send_signal(yc_process *p, int sig);
YC_API int yc_process_terminate(yc_process *p);
YC_API int yc_process_kill(yc_process *p);

/* body. wait(): waits until the child ends and returns its return code
 * (as yc_process_returncode) without blocking the loop. Any number of
 * tasks may wait on one process. Cancelling a waiting task cancels the
 * wait only: the child keeps running (as asyncio's), p stays usable and
 * nothing is left registered. Raises TypeError for p NULL, RuntimeError
 * "no running event loop" / "yc_process_wait() outside a task". */
YC_API int yc_process_wait(yc_process *p);

/* What communicate collected: pointers into the stdout and stderr
 * streams' buffers, valid until the next call on that stream or
 * yc_process_free; NULL with length 0 for a stream that is not a pipe. */
typedef struct yc_process_output {
    const char *out;
    size_t out_len;
    const char *err;
    size_t err_len;
} yc_process_output;

/* body. communicate(input): writes the n bytes of input (copied before
 * the first suspension, so it may live on the caller's stack) to the
 * child's stdin and closes it, reads stdout and stderr to their end, all
 * at once in helper tasks (a child that fills one pipe while the parent
 * writes the other never deadlocks), then waits for the child;
 * returns its return code and fills *out (may be NULL). BrokenPipeError
 * and ConnectionResetError from the child's stdin are ignored (a child
 * that exits without reading its input), as asyncio does. Input with
 * n > 0 needs a piped stdin: ValueError otherwise. Cancellation cancels
 * the reading and writing and waits for them before it is raised; the
 * child keeps running. Another error of the reading or writing (an
 * OSError, MemoryError) is raised as asyncio's gather raises it: the
 * first one, the others cancelled. */
YC_API int yc_process_communicate(yc_process *p, const void *input, size_t n,
                                  yc_process_output *out);

#ifdef YC_TEST_HOOKS
/* Test hook (see yieldc.h's test hooks; hidden in the shared library):
 * true makes processes spawned from now on wait by polling, as on a
 * kernel without pidfd_open. */
__attribute__((visibility("hidden"))) void yc__process_force_polling(bool on);
/* true makes children close their descriptors one by one (keeping
 * pass_fds), as on a kernel without close_range. */
__attribute__((visibility("hidden"))) void yc__process_force_close_loop(bool on);
#endif

#endif
