/* yieldc: blocking work off the loop (event loop, part 2): a thread pool
 * with to_thread, regular files, getaddrinfo, and signal handlers as loop
 * callbacks. Included by yieldc.h after loop.h; do not include directly.
 * docs/io.md ("Threads", "Files", "Names", "Signals") has the model.
 *
 *   static yc_val checksum(void *arg) {         runs on a pool thread
 *       return yc_int(crc_of_file(arg));         (may yc_raise)
 *   }
 *   static yc_val main_task(void *arg) {
 *       yc_val v = yc_to_thread(checksum, "big.iso");  await to_thread(...)
 *       ...
 *   }
 *
 * Body-side functions (marked "body") suspend the calling task, as
 * yc_await does, and raise (RuntimeError "no running event loop" outside
 * a running loop); the others return a status with the exception pending.
 */
#ifndef YIELDC_THREAD_H
#define YIELDC_THREAD_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/thread.h>"
#endif

#include <sys/socket.h>
#include <sys/types.h>

/* ======================================================================
 * Threads: the loop's pool and to_thread
 * ==================================================================== */

/* Work for a pool thread: runs there, not on the loop's thread, so it may
 * block; it must not touch the loop, its tasks or futures (except through
 * yc_loop_call_soon_threadsafe). It may raise (yc_raise): the exception
 * is raised in the awaiting task. */
typedef yc_val (*yc_thread_fn)(void *arg);

typedef struct yc_thread_opts {
    unsigned flags; /* YC_THREAD_DETACH or 0                                */
    /* NULL, or called on the loop's thread with the value fn returned when
     * nobody will receive it (the awaiter was cancelled; the loop closed):
     * frees what the value owns. It must not raise. */
    void (*discard)(yc_val result, void *arg);
} yc_thread_opts;

/* flags. Without it (the default), a task cancelled while fn runs goes on
 * waiting until fn returns, then gets the CancelledError: arg may point
 * into the cancelled task's stack, which must not unwind while fn uses it.
 * With it, the CancelledError is raised at once and fn finishes on its
 * own: the caller promises that arg outlives the call (static or heap
 * data, freed by discard or by fn itself). */
#define YC_THREAD_DETACH 1u

/* body. asyncio.to_thread(fn, arg) (12.53): runs fn(arg) on the running
 * loop's thread pool and returns its value, or raises its exception in
 * the calling task. The value crosses as it is: memory it points to
 * belongs to whoever fn says (a malloc'd block becomes the caller's). arg
 * is borrowed until fn returns. Cancellation: see YC_THREAD_DETACH. Raises
 * RuntimeError "no running event loop" / "yc_to_thread() outside a task",
 * TypeError (fn NULL), ValueError (unknown flags), RuntimeError "can't
 * start new thread" (no pool thread could be started), MemoryError. The
 * pool starts its first thread on the first call and adds one whenever
 * work waits and no thread is idle, up to the loop's maximum
 * (yc_loop_set_max_threads); yc_loop_close waits for every call still
 * running or queued (a detached one too) and joins the threads. */
#define yc_to_thread(fn, arg) yc__to_thread((fn), (arg), NULL, __FILE__, __LINE__)
#define yc_to_thread_opts(fn, arg, opts) yc__to_thread((fn), (arg), (opts), __FILE__, __LINE__)

/* The most threads loop's pool runs at once (ThreadPoolExecutor's
 * max_workers): n from 1 to 1024; the default is min(32, CPUs + 4), as
 * Python's. Takes effect for threads started from now on (running ones
 * stay). YC_OK, YC_EINVAL: ValueError "max_workers must be greater than
 * 0" (n == 0), ValueError (n > 1024), TypeError (loop NULL), RuntimeError
 * "Event loop is closed". */
YC_API int yc_loop_set_max_threads(yc_loop *loop, size_t n);
/* How many pool threads loop runs now (0 before the first call); 0 for a
 * NULL or closed loop. */
YC_API size_t yc_loop_thread_count(const yc_loop *loop);

/* ======================================================================
 * Files: blocking system calls on the pool (epoll cannot wait on files)
 *
 * Each suspends the calling task while a pool thread makes the call, and
 * never blocks the loop. Errors raise the OSError subclass of the errno
 * (12.56: FileNotFoundError, PermissionError, IsADirectoryError, ...)
 * with CPython's message, "[Errno 2] No such file or directory: 'x'"
 * when a path is involved. Buffers are borrowed until the call returns;
 * a cancelled task waits for the system call in flight to finish before
 * it gets its CancelledError (the buffer is usually on its stack). EINTR
 * is retried. fd -1 and other bad descriptors raise OSError EBADF.
 * ==================================================================== */

/* body. open(path, flags, mode): the new descriptor (O_CLOEXEC added).
 * A task cancelled during the call closes the descriptor it got. */
YC_API int yc_file_open(const char *path, int flags, int mode);
/* body. One read(2): the bytes read, 0 at the end of the file. */
YC_API size_t yc_file_read(int fd, void *buf, size_t n);
/* body. Writes all n bytes (a short write is continued); returns n. */
YC_API size_t yc_file_write(int fd, const void *buf, size_t n);
/* body. pread(2) / pwrite(2) at offset (pwrite writes all n bytes). */
YC_API size_t yc_file_pread(int fd, void *buf, size_t n, int64_t offset);
YC_API size_t yc_file_pwrite(int fd, const void *buf, size_t n, int64_t offset);
/* body. close(2). The descriptor is released even when close reports an
 * error (raised after). */
YC_API void yc_file_close(int fd);
/* body. The whole file at path: returns its size and sets *data to a new
 * block of size + 1 bytes (NUL-terminated) that the caller owns and frees
 * with yc_file_data_free. Raises as yc_file_open and read; TypeError for
 * NULL arguments. */
YC_API size_t yc_file_read_all(const char *path, char **data);
/* Frees a block from yc_file_read_all. NULL ok. */
YC_API void yc_file_data_free(char *data);

/* ======================================================================
 * Names: getaddrinfo on the pool
 * ==================================================================== */

/* socket.gaierror, an OSError: yc_exc_errno gives the EAI_* code
 * (negative) and the message is "[Errno -2] Name or service not known". */
YC_API extern const yc_exc_type yc_gaierror;

/* One address, ready for socket(family, socktype, protocol) and
 * connect(fd, (struct sockaddr *)&addr, addrlen). */
typedef struct yc_addrinfo {
    int family, socktype, protocol;
    socklen_t addrlen;
    struct sockaddr_storage addr;
} yc_addrinfo;

/* body. socket.getaddrinfo(host, port, family, type, proto, flags) on the
 * pool: returns how many addresses were found (at least 1), in the
 * resolver's order, and sets *out to a new array of them that the caller
 * frees with yc_addrinfo_free. host or port may be NULL (not both).
 * Raises gaierror as above (EAI_SYSTEM: the OSError of its errno),
 * TypeError (out NULL), MemoryError. Cancellation waits for the lookup. */
YC_API size_t yc_getaddrinfo(const char *host, const char *port, int family, int type,
                             int proto, int flags, yc_addrinfo **out);
/* Frees an array from yc_getaddrinfo. NULL ok. */
YC_API void yc_addrinfo_free(yc_addrinfo *ai);

/* ======================================================================
 * Signals
 *
 * A handler runs as a loop callback on the loop's thread (not in signal
 * context): the process-wide signal handler only records the signal and
 * wakes the loop through its eventfd. Signals that arrive while their
 * callback is still due run it once. One loop handles a given signal at a
 * time. Once any loop runs, SIGPIPE is ignored when it had the default
 * disposition (a write to a closed pipe or socket raises BrokenPipeError
 * instead of killing the process).
 * ==================================================================== */

/* loop.add_signal_handler(sig, fn, arg): fn(arg) runs as a callback
 * (yc_loop_call_soon's rules) each time sig arrives; replaces loop's
 * earlier handler of sig. YC_OK, or YC_EINVAL: ValueError "invalid signal
 * number N", RuntimeError "sig N cannot be caught" (SIGKILL, SIGSTOP),
 * RuntimeError "sig N is handled by another event loop", RuntimeError
 * "Event loop is closed", TypeError (loop or fn NULL); YC_ENOMEM. */
YC_API int yc_loop_add_signal_handler(yc_loop *loop, int sig, yc_callback_fn fn, void *arg);
/* loop.remove_signal_handler(sig): 1 when a handler was removed (sig's
 * disposition from before the first add is restored), 0 when there was
 * none; YC_EINVAL: ValueError "invalid signal number N", TypeError (loop
 * NULL). yc_loop_close removes every handler of the loop. */
YC_API int yc_loop_remove_signal_handler(yc_loop *loop, int sig);

/* ---- internals the macros above use ---------------------------------- */
YC_API yc_val yc__to_thread(yc_thread_fn fn, void *arg, const yc_thread_opts *opts,
                            const char *file, int line);

#endif
