/*
 * The io_uring backend of the loop's I/O (opt-in: YC_IO_BACKEND=io_uring).
 *
 * What it replaces of the epoll backend: the loop's wait (one
 * io_uring_submit_and_wait_timeout per turn, submitting everything the
 * turn prepared), the wait of a task whose system call met EAGAIN (the
 * operation itself goes to the ring: read, readv, send, sendmsg, accept;
 * or a one-shot poll, for the calls the ring does not do for us), the
 * stream writer's "tell me when writable" (a one-shot poll per record),
 * and the regular-file calls of files.c (instead of the thread pool).
 * The loop's eventfd is watched by a multishot poll.
 *
 * A request's user_data is one of: 0 (nothing to do: cancellations),
 * URING_EFD (the eventfd), a record's writer poll (bit 63 set, the
 * record's generation and descriptor below, as epoll's data), or a
 * yc__uop, which lives on the stack of the task that waits for it: the
 * task never leaves that frame before the completion is reaped
 * (uring_cancel_reap), so the kernel never writes to a stack that
 * unwound.
 *
 * The choice is made once per process (probe): the environment variable,
 * then a small ring that must be allowed (seccomp, kernel.io_uring_disabled,
 * an old kernel refuse it) and must have the features and operations used
 * here. A loop whose own ring cannot be made uses epoll.
 */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* ---- the probe (both builds) -------------------------------------------- */

static pthread_mutex_t probe_mu = PTHREAD_MUTEX_INITIALIZER;
static int probe_done;     /* 1 once probed                                  */
static int probe_backend;  /* YC__IO_EPOLL or YC__IO_URING                   */
static char probe_why[64]; /* "", or why io_uring is not used                */
static int refuse_err;     /* test hook: the error the probe's setup gets    */

void yc__io_uring_refuse(int err)
{
    pthread_mutex_lock(&probe_mu);
    refuse_err = err;
    probe_done = 0;
    pthread_mutex_unlock(&probe_mu);
}

/* A short name of the errors a refused ring gives. */
static const char *err_name(int err)
{
    switch (err) {
    case EPERM: return "EPERM";
    case ENOSYS: return "ENOSYS";
    case ENOMEM: return "ENOMEM";
    case EINVAL: return "EINVAL";
    case EACCES: return "EACCES";
    case EMFILE: return "EMFILE";
    default: return NULL;
    }
}

static void set_why(const char *what, int err)
{
    const char *n = err ? err_name(err) : NULL;
    if (n) snprintf(probe_why, sizeof probe_why, "%s:%s", what, n);
    else if (err) snprintf(probe_why, sizeof probe_why, "%s:errno%d", what, err);
    else snprintf(probe_why, sizeof probe_why, "%s", what);
}

#ifdef YC_HAVE_LIBURING
#include <dlfcn.h>
#include <liburing.h>

/*
 * liburing's functions (not its inline ones, which only touch the ring's
 * memory) are looked up in liburing.so.2 when the probe runs, rather than
 * linked: no program that links yieldc needs -luring, and one running
 * where the library is not installed uses epoll (io_uring=not-installed).
 * The header is what the build needs.
 */
static struct {
    int (*queue_init)(unsigned entries, struct io_uring *ring, unsigned flags);
    void (*queue_exit)(struct io_uring *ring);
    struct io_uring_probe *(*get_probe_ring)(struct io_uring *ring);
    void (*free_probe)(struct io_uring_probe *probe);
    int (*submit)(struct io_uring *ring);
    int (*submit_and_wait)(struct io_uring *ring, unsigned wait_nr);
    int (*submit_and_wait_timeout)(struct io_uring *ring, struct io_uring_cqe **cqe,
                                   unsigned wait_nr, struct __kernel_timespec *ts,
                                   sigset_t *sigmask);
    int (*get_cqe)(struct io_uring *ring, struct io_uring_cqe **cqe, unsigned submit,
                   unsigned wait_nr, sigset_t *sigmask);
} lu;

/* Fills lu once (never unloaded). 0, or -1 when liburing is not there. */
static int load_liburing(void)
{
    static int loaded; /* 1 done, -1 failed; under probe_mu */
    if (loaded) return loaded > 0 ? 0 : -1;
    loaded = -1;
    void *h = dlopen("liburing.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) return -1;
#define SYM(field, name) (*(void **)&lu.field = dlsym(h, name))
    if (!SYM(queue_init, "io_uring_queue_init") || !SYM(queue_exit, "io_uring_queue_exit") ||
        !SYM(get_probe_ring, "io_uring_get_probe_ring") ||
        !SYM(free_probe, "io_uring_free_probe") || !SYM(submit, "io_uring_submit") ||
        !SYM(submit_and_wait, "io_uring_submit_and_wait") ||
        !SYM(submit_and_wait_timeout, "io_uring_submit_and_wait_timeout") ||
        !SYM(get_cqe, "__io_uring_get_cqe"))
        return -1;
#undef SYM
    loaded = 1;
    return 0;
}

#if YC_VALGRIND && __has_include(<valgrind/memcheck.h>)
#  include <valgrind/memcheck.h>
#  define DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))
#else
#  define DEFINED(p, n) ((void)(p), (void)(n))
#endif

enum { URING_ENTRIES = 256 };
#define MAX_RW 0x7ffff000u /* the most one read(2) or write(2) moves on Linux */
#define URING_EFD 1u
#define URING_WPOLL (1ull << 63)

/* The ring as the process may use it: setup allowed, the features and
 * operations below present. 0, or sets probe_why. */
static int probe_ring(void)
{
    if (load_liburing() < 0) {
        set_why("not-installed", 0);
        return -1;
    }
    struct io_uring ring;
    int rc = refuse_err ? -refuse_err : lu.queue_init(4, &ring, 0);
    if (rc < 0) {
        set_why("refused", -rc);
        return -1;
    }
    static const int ops[] = {IORING_OP_POLL_ADD, IORING_OP_ASYNC_CANCEL, IORING_OP_READ,
                              IORING_OP_READV,    IORING_OP_SEND,         IORING_OP_SENDMSG,
                              IORING_OP_ACCEPT,   IORING_OP_WRITE,        IORING_OP_OPENAT,
                              IORING_OP_CLOSE};
    const char *miss = NULL;
    if (!(ring.features & IORING_FEAT_EXT_ARG)) miss = "no-ext-arg";
    else if (!(ring.features & IORING_FEAT_NODROP)) miss = "no-nodrop";
    struct io_uring_probe *p = miss ? NULL : lu.get_probe_ring(&ring);
    if (!miss && !p) miss = "no-probe";
    for (size_t i = 0; p && !miss && i < sizeof ops / sizeof ops[0]; i++)
        if (!io_uring_opcode_supported(p, ops[i])) miss = "missing-op";
    if (p) lu.free_probe(p);
    lu.queue_exit(&ring);
    if (miss) {
        set_why(miss, 0);
        return -1;
    }
    return 0;
}
#endif

/* Decides, once (again after the test hook), which backend loops use. */
static void probe(void)
{
    if (probe_done) return;
    probe_backend = YC__IO_EPOLL;
    probe_why[0] = '\0';
    const char *want = getenv("YC_IO_BACKEND");
    if (want && *want && strcmp(want, "epoll") != 0) {
        if (strcmp(want, "io_uring") != 0) set_why("unknown-YC_IO_BACKEND", 0);
#ifdef YC_HAVE_LIBURING
        else if (probe_ring() == 0) probe_backend = YC__IO_URING;
#else
        else set_why("not-built", 0);
#endif
    }
    probe_done = 1;
}

int yc__io_backend(void)
{
    pthread_mutex_lock(&probe_mu);
    probe();
    int b = probe_backend;
    pthread_mutex_unlock(&probe_mu);
    return b;
}

void yc__io_backend_describe(char *buf, size_t size)
{
    pthread_mutex_lock(&probe_mu);
    probe();
#ifdef YC_HAVE_LIBURING
    const char *built = "built";
#else
    const char *built = "not-built";
#endif
    if (probe_backend == YC__IO_URING) snprintf(buf, size, "io=io_uring");
    else if (probe_why[0]) snprintf(buf, size, "io=epoll io_uring=%s", probe_why);
    else snprintf(buf, size, "io=epoll io_uring=%s", built);
    pthread_mutex_unlock(&probe_mu);
}

#ifdef YC_HAVE_LIBURING

/* ---- the loop's ring ---------------------------------------------------- */

static struct io_uring_sqe *get_sqe(yc_loop *L);

static void arm_efd(yc_loop *L)
{
    struct io_uring_sqe *q = get_sqe(L);
    if (!q) return; /* cannot happen: the ring was just flushed */
    io_uring_prep_poll_multishot(q, L->efd, POLLIN);
    io_uring_sqe_set_data64(q, URING_EFD);
}

static const yc__uring_ops uring_ops;

void yc__uring_loop_init(yc_loop *L)
{
    if (yc__io_backend() != YC__IO_URING) return;
    struct io_uring *ring = yc__malloc(sizeof *ring);
    if (!ring) return; /* epoll it is */
    if (lu.queue_init(URING_ENTRIES, ring, 0) < 0) {
        yc__free(ring);
        return;
    }
    L->ring = ring;
    L->io = &uring_ops.io;
    arm_efd(L);
}

/* Memcheck does not see the kernel write through the ring: what a
 * completed request of op filled in is marked defined (nothing otherwise). */
static void kernel_wrote(const yc__uop *op)
{
    const yc__ureq *r = op->req;
    if (op->res <= 0 || !r) return;
    if (r->op == YC__UR_READ) DEFINED(r->buf, (size_t)op->res);
    if (r->op == YC__UR_READV) {
        size_t left = (size_t)op->res;
        for (int i = 0; i < r->iovcnt && left; i++) {
            size_t k = r->iov[i].iov_len < left ? r->iov[i].iov_len : left;
            DEFINED(r->iov[i].iov_base, k);
            left -= k;
        }
    }
    if (r->op == YC__UR_ACCEPT && r->addr && r->addrlen) {
        DEFINED(r->addrlen, sizeof *r->addrlen);
        size_t n = *r->addrlen; /* the address's length: cut to the buffer */
        DEFINED(r->addr, n < sizeof(struct sockaddr_storage) ? n : sizeof(struct sockaddr_storage));
    }
}

/* The completion c: what its user_data says. */
static void dispatch(yc_loop *L, const struct io_uring_cqe *c)
{
    uint64_t d = io_uring_cqe_get_data64(c);
    if (d == 0) return;
    if (d == URING_EFD) {
        if (!(c->flags & IORING_CQE_F_MORE)) arm_efd(L); /* the multishot ended */
        return;
    }
    if (d & URING_WPOLL) {
        yc__io_ring_writable(L, d & ~URING_WPOLL, c->res);
        return;
    }
    yc__uop *op = (yc__uop *)(uintptr_t)d;
    L->ring_inflight--;
    op->res = c->res;
    op->done = true;
    kernel_wrote(op);
    yc_task *f = op->fut;
    if (f && f->state == FUT_PENDING) yc__fut_set_result(f, YC_NONE);
}

/* Every completion there is, dispatched. */
static void reap(yc_loop *L)
{
    struct io_uring *ring = L->ring;
    struct io_uring_cqe *c;
    unsigned head, n = 0;
    io_uring_for_each_cqe(ring, head, c) {
        dispatch(L, c);
        n++;
    }
    io_uring_cq_advance(ring, n);
}

/* A free submission entry: the queue is sent first when it is full. */
static struct io_uring_sqe *get_sqe(yc_loop *L)
{
    struct io_uring_sqe *q = io_uring_get_sqe(L->ring);
    if (q) return q;
    lu.submit(L->ring); /* the queue is full: send it and go on */
    return io_uring_get_sqe(L->ring);
}

static void uring_flush(yc_loop *L)
{
    if (io_uring_sq_ready(L->ring)) lu.submit(L->ring);
}

static void uring_wait(yc_loop *L, int64_t timeout)
{
    struct io_uring *ring = L->ring;
    struct io_uring_cqe *c;
    if (timeout == 0) {
        uring_flush(L);
    } else if (timeout < 0) {
        lu.submit_and_wait(ring, 1);
    } else {
        struct __kernel_timespec ts = {.tv_sec = timeout / 1000000000,
                                       .tv_nsec = timeout % 1000000000};
        lu.submit_and_wait_timeout(ring, &c, 1, &ts, NULL);
    }
    reap(L);
}

/* Cancels the request of user_data d (submitted with the next batch). */
static void cancel_data(yc_loop *L, uint64_t d)
{
    struct io_uring_sqe *q = get_sqe(L);
    if (!q) return;
    io_uring_prep_cancel64(q, d, 0);
    io_uring_sqe_set_data64(q, 0);
}

static void uring_cancel(yc_loop *L, yc__uop *op)
{
    cancel_data(L, (uint64_t)(uintptr_t)op);
    lu.submit(L->ring);
}

static void uring_cancel_wpoll(yc_loop *L, uint64_t data)
{
    cancel_data(L, data | URING_WPOLL);
    lu.submit(L->ring);
}

/*
 * Cancels op (in flight) and waits until its completion is reaped: a
 * read into the caller's stack is over, or never happened, when this
 * returns. Other completions met meanwhile are dispatched as the loop's
 * wait would (they only complete futures).
 */
static void uring_cancel_reap(yc_loop *L, yc__uop *op)
{
    uring_cancel(L, op);
    while (!op->done) {
        struct io_uring_cqe *c;
        int rc = lu.get_cqe(L->ring, &c, 0, 1, NULL); /* io_uring_wait_cqe */
        if (rc < 0 && rc != -EINTR && rc != -EAGAIN && rc != -ETIME) {
            /* the ring itself failed (never seen): op's memory, on a
             * stack about to unwind, could still be written by the
             * kernel. Corrupting memory silently is worse than stopping. */
            abort();
        }
        if (rc == 0) reap(L);
    }
}

/* Queues op with request q prepared by the caller. */
static void op_start(yc_loop *L, struct io_uring_sqe *q, yc__uop *op)
{
    io_uring_sqe_set_data64(q, (uint64_t)(uintptr_t)op);
    op->done = false;
    L->ring_inflight++;
}

static int uring_start(yc_loop *L, yc__uop *op, const yc__ureq *r)
{
    struct io_uring_sqe *q = get_sqe(L);
    if (!q) return -1;
    unsigned len = r->n > MAX_RW ? MAX_RW : (unsigned)r->n; /* read(2)'s own cap */
    switch (r->op) {
    case YC__UR_POLL: io_uring_prep_poll_add(q, r->fd, r->events); break;
    case YC__UR_READ: io_uring_prep_read(q, r->fd, r->buf, len, (__u64)r->off); break;
    case YC__UR_READV:
        io_uring_prep_readv(q, r->fd, r->iov, (unsigned)r->iovcnt, (__u64)r->off);
        break;
    case YC__UR_WRITE:
        io_uring_prep_write(q, r->fd, r->buf, len, (__u64)r->off);
        break;
    case YC__UR_SEND: io_uring_prep_send(q, r->fd, r->buf, len, MSG_NOSIGNAL); break;
    case YC__UR_SENDMSG: io_uring_prep_sendmsg(q, r->fd, r->msg, MSG_NOSIGNAL); break;
    case YC__UR_ACCEPT:
        io_uring_prep_accept(q, r->fd, r->addr, r->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        break;
    case YC__UR_OPEN:
        io_uring_prep_openat(q, AT_FDCWD, r->path, r->flags | O_CLOEXEC, (mode_t)r->mode);
        break;
    case YC__UR_CLOSE: io_uring_prep_close(q, r->fd); break;
    default: return -1;
    }
    op->req = r;
    op_start(L, q, op);
    return 0;
}

int yc__uring_call(yc_task *t, const yc__ureq *q, int *res)
{
    yc_loop *L = t->loop;
    yc_task *f = yc__task_waiter(t);
    if (!f) return YC_ENOMEM;
    yc__uop op = {.fut = f, .res = -ECANCELED};
    if (uring_start(L, &op, q) < 0) {
        yc_task_unref(f);
        return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    }
    L->io_waiting++;
    int st = yc__task_await(t, f, NULL);
    L->io_waiting--;
    if (!op.done) uring_cancel_reap(L, &op);
    yc_task_unref(f);
    *res = op.res;
    return st;
}

static void uring_wpoll(yc_loop *L, uint64_t data, int fd)
{
    struct io_uring_sqe *q = get_sqe(L);
    if (!q) return;
    io_uring_prep_poll_add(q, fd, POLLOUT);
    io_uring_sqe_set_data64(q, data | URING_WPOLL);
}

/*
 * The ring goes with its loop (the backend's free, after io.c's records).
 * Every task is gone by now, so every
 * yc__uop was reaped; what may remain are record polls and the eventfd's,
 * which refer to no memory of ours: closing the ring ends them.
 */
static void uring_free(yc_loop *L)
{
    yc__io_free(L);
    lu.queue_exit(L->ring);
    yc__free(L->ring);
    L->ring = NULL;
}

static const yc__uring_ops uring_ops = {
    .io = {.wait = uring_wait, .flush = uring_flush, .free = uring_free},
    .start = uring_start,
    .cancel = uring_cancel,
    .cancel_reap = uring_cancel_reap,
    .wpoll = uring_wpoll,
    .cancel_wpoll = uring_cancel_wpoll,
};

#else /* no liburing at build time: the loop never has a ring */

void yc__uring_loop_init(yc_loop *L) { (void)L; }
int yc__uring_call(yc_task *t, const yc__ureq *q, int *res)
{
    (void)t, (void)q, (void)res;
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "io_uring is not built in");
}

#endif
