/*
 * I/O on descriptors for tasks: readiness through the loop's epoll (one
 * record per descriptor, io.h; the loop waits through yc__io_epoll, the
 * backend table of loop.h), and the operations built on it, each
 * trying its system call first and waiting only when it would block, as
 * asyncio's sock_recv and Go's netpoller do.
 *
 * Internal functions return a status or -1 with the exception pending and
 * never raise, so that what they opened can be closed; the public body
 * functions raise at their caller's line.
 */
#define _GNU_SOURCE
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef TCP_ULP
#define TCP_ULP 31 /* linux/tcp.h */
#endif
#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

enum { RD, WR };

static int no_memory(void) { return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL); }

/* The OSError subclass of err, pending; returns -1. */
static int os_error(int err)
{
    yc__coro *co = yc__cur();
    yc_exc *e = yc_exc_new_errno(&yc_OSError, err, NULL);
    yc__exc_chain(e, yc__handled(co));
    yc__err_set(co, e);
    return -1;
}

static YC_NORETURN void raise_pending(const char *file, int line)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, NULL);
}

static yc_task *running(const char *what, const char *file, int line)
{
    yc_task *t = yc__task_running(what);
    if (!t) raise_pending(file, line);
    return t;
}

/* ---- fault injection (test hook, yieldc.h) ----------------------------
 * Every system call of the operations below goes through fault_hit first:
 * while a fault is armed for its kind, the call fails with the chosen errno
 * without being made, or is made with its length cut down (a short read or
 * write). Plain statics: the hook is for single-threaded tests. */

static struct io_fault {
    long left;   /* calls still to fault; -1: every call until reset */
    int err;     /* errno to fail with; 0: cut the length to cap */
    size_t cap;
    long calls;  /* calls of this kind since the last reset */
} io_faults[YC__IOF_KINDS];

void yc__io_fault(int op, long count, int err, size_t short_to)
{
    if (op < 0 || op >= YC__IOF_KINDS) return;
    io_faults[op].left = count;
    io_faults[op].err = err;
    io_faults[op].cap = short_to ? short_to : 1;
}

long yc__io_fault_calls(int op) { return op >= 0 && op < YC__IOF_KINDS ? io_faults[op].calls : 0; }

void yc__io_fault_reset(void) { memset(io_faults, 0, sizeof io_faults); }

/* Counts a call of kind op; true (errno set) when it must fail, else
 * *n (when given) is cut to a short length if the fault says so. */
static bool fault_hit(int op, size_t *n)
{
    struct io_fault *f = &io_faults[op];
    f->calls++;
    if (!f->left) return false;
    if (f->left > 0) f->left--;
    if (f->err) {
        errno = f->err;
        return true;
    }
    if (n && *n > f->cap) *n = f->cap;
    return false;
}

/* A vector cut short: the first buffer, at most the fault's length. */
static int fault_iov(int op, const struct iovec **iov, int iovcnt, struct iovec *one)
{
    size_t n = SIZE_MAX;
    if (fault_hit(op, &n)) return -1;
    if (n == SIZE_MAX || iovcnt < 1) return iovcnt;
    *one = (*iov)[0];
    if (one->iov_len > n) one->iov_len = n;
    *iov = one;
    return 1;
}

/* ---- records -------------------------------------------------------- */

static yc__fd *fd_lookup(const yc_loop *L, int fd)
{
    return fd >= 0 && fd < L->nfds ? L->fds[fd] : NULL;
}

/* Completes the future in *slot (if any): with e (taken), or with None
 * when e is NULL. The waiting task runs in the next iteration. */
static void wake(yc_loop *L, yc_task **slot, yc_exc *e)
{
    yc_task *f = *slot;
    if (!f) {
        yc_exc_unref(e);
        return;
    }
    *slot = NULL;
    L->io_waiting--;
    if (f->state != FUT_PENDING) yc_exc_unref(e); /* cancelled, not yet run */
    else if (e) yc__fut_set_exception(f, e);
    else yc__fut_set_result(f, YC_NONE);
    yc_task_unref(f);
}

/* The data epoll (or the ring's writer poll) carries for r. */
static uint64_t rec_data(const yc__fd *r) { return (uint64_t)r->gen << 32 | (uint32_t)r->fd; }

/* An epoll event with data `data` (not YC__IO_EFD_DATA): wakes the waiters
 * it concerns. */
static void io_event(yc_loop *L, uint64_t data, uint32_t events)
{
    yc__fd *r = fd_lookup(L, (int)(uint32_t)data);
    if (!r || r->gen != (uint32_t)(data >> 32)) return; /* a record gone */
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
        r->drained = false;
        if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) r->hup = true;
        wake(L, &r->rd, NULL);
    }
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) {
        wake(L, &r->wr, NULL);
        if (r->on_wr_ud) yc__io_writable(r->on_wr_ud); /* never frees r */
    }
}

/* Forgets r: its waiters are woken with OSError EBADF and it leaves the
 * epoll set (before the descriptor is closed, so that a duplicate left
 * open cannot keep it registered). */
static void fd_forget(yc_loop *L, yc__fd *r)
{
    wake(L, &r->rd, r->rd ? yc_exc_new_errno(&yc_OSError, EBADF, NULL) : NULL);
    wake(L, &r->wr, r->wr ? yc_exc_new_errno(&yc_OSError, EBADF, NULL) : NULL);
    if (L->ring) { /* what holds the file in the ring lets it go before close */
        const yc__uring_ops *u = yc__uring_of(L);
        if (r->rop) u->cancel(L, r->rop);
        if (r->wop) u->cancel(L, r->wop);
        if (r->wpoll) u->cancel_wpoll(L, rec_data(r));
    } else if (r->kind == FDK_POLLED) {
        epoll_ctl(L->epfd, EPOLL_CTL_DEL, r->fd, NULL);
    }
    L->fds[r->fd] = NULL;
    yc__free(r);
}

/* fd was just made by the kernel: a record left under its number belongs
 * to a descriptor closed behind the loop's back. */
static void fd_fresh(yc_loop *L, int fd)
{
    yc__fd *r = L ? fd_lookup(L, fd) : NULL;
    if (r) fd_forget(L, r);
}

void yc__io_free(yc_loop *L)
{
    for (int i = 0; i < L->nfds; i++) {
        yc__fd *r = L->fds[i];
        if (!r) continue;
        yc_task_unref(r->rd); /* none left: the tasks are gone */
        yc_task_unref(r->wr);
        yc__free(r);
    }
    yc__free(L->fds);
    L->fds = NULL;
    L->nfds = 0;
}

/* The loop's wait through epoll (loop.h, yc__io_ops). */
static void epoll_step(yc_loop *L, int64_t timeout)
{
    int ms = timeout < 0                             ? -1
             : timeout > (int64_t)INT32_MAX * 1000000 ? INT32_MAX
                                                     : (int)((timeout + 999999) / 1000000);
    struct epoll_event ev[64];
    int n = epoll_wait(L->epfd, ev, 64, ms);
    for (int i = 0; i < n; i++)
        if (ev[i].data.u64 != YC__IO_EFD_DATA) io_event(L, ev[i].data.u64, ev[i].events);
}

const yc__io_ops yc__io_epoll = {.wait = epoll_step, .free = yc__io_free};

/* Room in L->fds for fd. YC_OK or MemoryError. */
static int fds_grow(yc_loop *L, int fd)
{
    if (fd < L->nfds) return YC_OK;
    size_t n = L->nfds ? (size_t)L->nfds : 64;
    while (n <= (size_t)fd) n *= 2;
    yc__fd **p = yc__realloc(L->fds, n * sizeof *p);
    if (!p) return no_memory();
    memset(p + L->nfds, 0, (n - (size_t)L->nfds) * sizeof *p);
    L->fds = p;
    L->nfds = (int)n;
    return YC_OK;
}

/*
 * fd's record, made at its first use: checks that fd is open (OSError
 * EBADF) and non-blocking (ValueError, 12.55), and registers it with epoll
 * for both directions, edge triggered, for as long as the loop knows it.
 * Regular files and directories (epoll refuses them with EPERM) get a
 * record that is always ready. NULL with the exception pending.
 */
static yc__fd *fd_record(yc_loop *L, int fd)
{
    yc__fd *r = fd_lookup(L, fd);
    if (r) return r;
    int fl = fd < 0 ? -1 : fcntl(fd, F_GETFL);
    struct stat st;
    if (fl < 0 || fstat(fd, &st) < 0) {
        os_error(fd < 0 ? EBADF : errno);
        return NULL;
    }
    bool file = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode);
    if (!file && !(fl & O_NONBLOCK)) {
        yc__fail(YC_EINVAL, &yc_ValueError,
                 S_ISSOCK(st.st_mode) ? "the socket must be non-blocking"
                                      : "the file descriptor must be non-blocking");
        return NULL;
    }
    if (fds_grow(L, fd) < 0) return NULL;
    if (!(r = yc__malloc(sizeof *r))) {
        no_memory();
        return NULL;
    }
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->sock = S_ISSOCK(st.st_mode);
    /* a socket's protocol: at its first short read (byte_stream) */
    r->bytes = S_ISFIFO(st.st_mode) && !(fl & O_DIRECT) ? 1 : r->sock ? 0 : 2;
    r->kind = file ? FDK_FILE : FDK_POLLED;
    if (++L->fd_gen == 0) L->fd_gen = 1; /* 0 would be the eventfd's data */
    r->gen = L->fd_gen;
    if (!file && !L->ring) {
        struct epoll_event ev = {
            .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
            .data.u64 = (uint64_t)r->gen << 32 | (uint32_t)fd,
        };
        int rc = epoll_ctl(L->epfd, EPOLL_CTL_ADD, fd, &ev);
        if (rc < 0 && errno == EEXIST) /* registered by a record gone: renew */
            rc = epoll_ctl(L->epfd, EPOLL_CTL_MOD, fd, &ev);
        if (rc < 0 && errno == EPERM) r->kind = FDK_FILE; /* epoll refuses it */
        else if (rc < 0) {
            int err = errno;
            yc__free(r);
            os_error(err);
            return NULL;
        }
    }
    L->fds[fd] = r;
    return r;
}

/* RuntimeError: another task waits on fd in direction dir. */
static int busy(const char *what, int dir)
{
    return yc__fail(YC_EINVAL, &yc_RuntimeError,
                    dir == RD ? "%s called while another coroutine is already waiting for incoming "
                                "data"
                              : "%s called while another coroutine is already waiting for the "
                                "descriptor to be writable",
                    what);
}

/*
 * Parks t until fd (recorded, no waiter in dir) is ready in direction dir,
 * or, with the io_uring backend, until request q (NULL: a poll for dir)
 * completes, its result in *res (when res is given). t's waiter future
 * goes in the record's slot, and readiness (the completion), yc_io_close
 * or a cancellation completes it. However the wait ends, the slot is
 * emptied and the request reaped (cancelled first if still in flight)
 * before this returns, so a cancelled task leaves no trace on the
 * descriptor, and the kernel none in its buffers, before its stack
 * unwinds. YC_OK or negative pending.
 */
static int fd_park(yc_task *t, yc__fd *r, int dir, const yc__ureq *q, int *res)
{
    yc_loop *L = t->loop;
    int fd = r->fd;
    if (r->kind == FDK_FILE) return YC_OK; /* always ready */
    yc_task *f = yc__task_waiter(t);
    if (!f) return YC_ENOMEM;
    yc__uop op = {.fut = f, .res = -ECANCELED};
    yc__ureq poll = {.op = YC__UR_POLL, .fd = fd, /* op.req: alive until reaped */
                     .events = dir == RD ? POLLIN | POLLRDHUP : POLLOUT};
    if (L->ring) {
        if (yc__uring_of(L)->start(L, &op, q ? q : &poll) < 0) {
            yc_task_unref(f);
            return no_memory();
        }
        *(dir == RD ? &r->rop : &r->wop) = &op;
    }
    *(dir == RD ? &r->rd : &r->wr) = yc_task_ref(f);
    L->io_waiting++;
    int st = yc__task_await(t, f, NULL);
    r = fd_lookup(L, fd); /* yc_io_close may have freed it meanwhile */
    yc_task **slot = r ? (dir == RD ? &r->rd : &r->wr) : NULL;
    if (slot && *slot == f) { /* completed by the ring, cancelled, or closed: let f go */
        *slot = NULL;
        L->io_waiting--;
        yc_task_unref(f);
    }
    yc__uop **mine = r ? (dir == RD ? &r->rop : &r->wop) : NULL;
    if (mine && *mine == &op) *mine = NULL;
    if (L->ring && !op.done) yc__uring_of(L)->cancel_reap(L, &op);
    yc_task_unref(f);
    if (res) *res = op.res;
    return st;
}

static int fd_wait(yc_task *t, yc__fd *r, int dir) { return fd_park(t, r, dir, NULL, NULL); }

/* ---- the try-first loop --------------------------------------------- */

/* One attempt of an operation: the system call's result, -1 with errno. */
typedef ssize_t (*io_try_fn)(yc__fd *r, void *ctx);

/* What an operation hands the ring when it would block (io_uring backend):
 * a poll, then the system call again (RING_POLL), the operation itself
 * (RING_IO: read, readv; send, sendmsg on sockets), or an accept. */
enum { RING_POLL, RING_IO, RING_ACCEPT };

typedef struct buf_ctx {
    void *buf;
    size_t n;
    const struct iovec *iov;
    int iovcnt;
    struct sockaddr *addr;
    socklen_t *addrlen;
    const struct sockaddr *to;
    socklen_t tolen;
    int ring; /* RING_* */
    /* a reader that lends its buffer only while bytes come (yc__io_read_lent) */
    int (*lend)(void *ud, void **buf, size_t *n);
    void *lend_ud;
} buf_ctx;

static ssize_t ring_io(yc_task *t, yc__fd *r, int dir, buf_ctx *c);

/*
 * Runs try(r, ctx) until it does not fail with EAGAIN, waiting for fd in
 * direction dir in between (EINTR retries at once). Refuses at once when
 * another task waits in dir (what names the function). Returns try's
 * result (>= 0), or -1 with the exception pending.
 */
static ssize_t io_run(yc_task *t, int fd, int dir, const char *what, io_try_fn try, buf_ctx *ctx)
{
    /* A budget per turn (tokio's coop budget): a task whose descriptors
     * always have data would otherwise never suspend, and the timers and
     * tasks of everyone else would wait for it. Past the budget it gives
     * up its turn before the system call, so a cancellation arriving there
     * loses nothing. */
    if (YC_UNLIKELY(++t->io_turn > YC__IO_BUDGET) && yc__task_yield(t) < 0) return -1;
    yc__fd *r = fd_record(t->loop, fd);
    if (!r) return -1;
    if (dir == RD ? r->rd : r->wr) return busy(what, dir);
    for (;;) {
        ssize_t k;
        if (dir == RD && r->drained && !t->loop->ring) {
            r->drained = false; /* the next event's, or the wait's end */
        } else {
            if (ctx->lend && ctx->lend(ctx->lend_ud, &ctx->buf, &ctx->n) < 0) return -1;
            k = try(r, ctx);
            if (k >= 0) return k;
            int err = errno;
            if (err == EINTR) continue;
            if (err != EAGAIN && err != EWOULDBLOCK) return os_error(err);
        }
        if (ctx->lend) ctx->lend(ctx->lend_ud, NULL, NULL); /* it waits without it */
        if (t->loop->ring && r->kind == FDK_POLLED) {
            k = ring_io(t, r, dir, ctx);
            if (k >= 0 || k == -1) return k;
        } else if (fd_wait(t, r, dir) < 0) {
            return -1;
        }
        if (!(r = fd_lookup(t->loop, fd))) return os_error(EBADF); /* closed, unseen */
    }
}

/* ---- SIGPIPE ------------------------------------------------------------
 * Sockets are written with MSG_NOSIGNAL. A pipe has no such flag: its
 * writes run with SIGPIPE blocked in this thread, and a SIGPIPE the write
 * raised (EPIPE, none pending before) is taken back with sigtimedwait, so
 * the process's disposition is never touched. Three system calls more per
 * pipe write. */

typedef struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t s, pend;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    sigpending(&pend);
    g->was_pending = sigismember(&pend, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, &g->old);
}

static void sigpipe_restore(sigpipe_guard *g, ssize_t k)
{
    int err = errno;
    if (k < 0 && err == EPIPE && !g->was_pending) {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&s, NULL, &zero) < 0 && errno == EINTR) {}
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = err;
}

/* ---- read and write --------------------------------------------------- */


/* Whether a read shorter than asked from r means that nothing was left:
 * a pipe without O_DIRECT (fd_record) or a TCP (MPTCP) socket without an
 * upper layer such as kTLS (asked once, at its first short read). Not a
 * Unix stream socket (a read stops after bytes that carried descriptors or
 * other credentials), SCTP (one message a read), a packet pipe, a tty. */
static bool byte_stream(yc__fd *r)
{
    if (!r->bytes) {
        int proto = 0;
        socklen_t len = sizeof proto;
        char ulp[16] = "";
        socklen_t ulen = sizeof ulp;
        bool tcp = getsockopt(r->fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 &&
                   (proto == IPPROTO_TCP || proto == IPPROTO_MPTCP);
        /* no upper layer: the name comes back empty, length 0 (qemu's user
         * mode then writes a stray byte into ulp: the length decides) */
        if (tcp && getsockopt(r->fd, IPPROTO_TCP, TCP_ULP, ulp, &ulen) == 0 && ulen > 0 && ulp[0])
            tcp = false;
        r->bytes = tcp ? 1 : 2;
    }
    return r->bytes == 1;
}

/*
 * A read shorter than asked from a byte stream (byte_stream) emptied it
 * (bar TCP urgent data, where a read stops at the mark: the bytes after it
 * then wait for the next arrival; a pipe set O_DIRECT after its first use
 * is not seen): under epoll
 * (edge-triggered) the next read waits for the next event instead of
 * meeting EAGAIN first, as libuv and asyncio, whose read follows an event,
 * do. This saves a request-response server one system call per request.
 * Bytes that arrive after the read make an event (every arrival does,
 * edge-triggered); one that the loop takes while nobody waits clears the
 * flag (yc__io_event). Not once the peer's end was reported: the end of
 * file (or the error) that follows the bytes makes no further event. n is
 * the length really asked (after a fault's cut).
 */
static ssize_t try_read(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    size_t n = c->n;
    if (fault_hit(YC__IOF_READ, &n)) return -1;
    ssize_t k = read(r->fd, c->buf, n);
    if (k > 0 && (size_t)k < n && !r->hup && r->kind == FDK_POLLED && byte_stream(r))
        r->drained = true;
    return k;
}

static ssize_t write_once(yc__fd *r, const void *buf, size_t n)
{
    if (fault_hit(YC__IOF_WRITE, &n)) return -1;
    if (r->sock) return send(r->fd, buf, n, MSG_NOSIGNAL);
    sigpipe_guard g;
    sigpipe_block(&g);
    ssize_t k = write(r->fd, buf, n);
    sigpipe_restore(&g, k);
    return k;
}

static ssize_t try_write(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    return write_once(r, c->buf, c->n);
}

ssize_t yc__io_write_now(yc__fd *r, const void *buf, size_t n)
{
    ssize_t k;
    while ((k = write_once(r, buf, n)) < 0 && errno == EINTR) {}
    return k;
}

void (*yc__io_writable)(void *ud);

yc__fd *yc__io_on_writable(yc_loop *L, int fd, void *ud)
{
    yc__fd *r = fd_record(L, fd);
    if (r) {
        r->on_wr_ud = ud;
        if (ud && L->ring && !r->wpoll && r->kind == FDK_POLLED) { /* one-shot: armed per wait */
            yc__uring_of(L)->wpoll(L, rec_data(r), fd);
            r->wpoll = true;
        }
    }
    return r;
}

void yc__io_ring_writable(yc_loop *L, uint64_t data, int res)
{
    yc__fd *r = fd_lookup(L, (int)(uint32_t)data);
    if (!r || r->gen != (uint32_t)(data >> 32)) return; /* a record gone */
    r->wpoll = false;
    if (res != -ECANCELED && r->on_wr_ud) yc__io_writable(r->on_wr_ud); /* it arms the next poll */
}

/*
 * The io_uring side of io_run, once the system call met EAGAIN: c's
 * operation goes to the ring and t parks until it completes. Counted by
 * the fault hook as a system call of its kind, and faulted as one (an
 * EAGAIN fault waits with a poll instead). The operation's result (>= 0);
 * -2 when the system call must be tried again (after a poll, or an EAGAIN
 * or a connection's own error from the ring); -1 with the exception
 * pending. A cancelled accept that completed closes its descriptor; a
 * cancelled read that completed loses its bytes with the task.
 */
static ssize_t ring_io(yc_task *t, yc__fd *r, int dir, buf_ctx *c)
{
    yc__ureq q = {.op = YC__UR_POLL, .fd = r->fd, .off = -1,
                  .events = dir == RD ? POLLIN | POLLRDHUP : POLLOUT};
    struct msghdr m = {0};
    struct iovec one;
    int kind = c->lend                              ? -1 /* a poll: no buffer lent */
               : c->ring == RING_ACCEPT             ? YC__IOF_ACCEPT
               : c->ring == RING_IO && dir == RD    ? YC__IOF_READ
               : c->ring == RING_IO && r->sock      ? YC__IOF_WRITE
                                                    : -1; /* pipes: SIGPIPE */
    bool faulted = false;
    if (kind >= 0 && c->iov) {
        const struct iovec *iov = c->iov;
        int cnt = fault_iov(kind, &iov, c->iovcnt, &one);
        faulted = cnt < 0;
        q.iov = iov;
        q.iovcnt = cnt;
        m.msg_iov = (struct iovec *)iov;
        m.msg_iovlen = cnt < 0 ? 0 : (size_t)cnt;
        q.msg = &m;
        q.op = dir == RD ? YC__UR_READV : YC__UR_SENDMSG;
    } else if (kind >= 0) {
        q.n = c->n;
        faulted = fault_hit(kind, kind == YC__IOF_ACCEPT ? NULL : &q.n);
        q.buf = c->buf;
        q.addr = c->addr;
        q.addrlen = c->addrlen;
        q.op = kind == YC__IOF_ACCEPT ? YC__UR_ACCEPT : dir == RD ? YC__UR_READ : YC__UR_SEND;
    }
    if (faulted) {
        if (errno == EINTR) return -2;
        if (errno != EAGAIN) return os_error(errno);
        q.op = YC__UR_POLL; /* wait, then the system call again */
    }
    int res = -ECANCELED;
    if (fd_park(t, r, dir, &q, &res) < 0) {
        if (q.op == YC__UR_ACCEPT && res >= 0) close(res);
        return -1;
    }
    if (q.op == YC__UR_POLL) return -2;
    if (res >= 0) return res;
    switch (-res) {
    case EAGAIN: case EINTR: case ECANCELED: return -2;
    case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
    case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
        if (q.op == YC__UR_ACCEPT) return -2; /* the connection's own trouble */
        break;
    default:
        break;
    }
    return os_error(-res);
}

static ssize_t try_readv(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    struct iovec one;
    const struct iovec *iov = c->iov;
    int cnt = fault_iov(YC__IOF_READ, &iov, c->iovcnt, &one);
    return cnt < 0 ? -1 : readv(r->fd, iov, cnt);
}

static ssize_t try_writev(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    struct iovec one;
    const struct iovec *iov = c->iov;
    int cnt = fault_iov(YC__IOF_WRITE, &iov, c->iovcnt, &one);
    if (cnt < 0) return -1;
    if (r->sock) {
        struct msghdr m = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)cnt};
        return sendmsg(r->fd, &m, MSG_NOSIGNAL);
    }
    sigpipe_guard g;
    sigpipe_block(&g);
    ssize_t k = writev(r->fd, iov, cnt);
    sigpipe_restore(&g, k);
    return k;
}

static ssize_t try_sendto(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    size_t n = c->n;
    if (fault_hit(YC__IOF_SENDTO, &n)) return -1;
    return sendto(r->fd, c->buf, n, MSG_NOSIGNAL, c->to, c->tolen);
}

static ssize_t try_recvfrom(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    size_t n = c->n;
    if (fault_hit(YC__IOF_RECVFROM, &n)) return -1;
    return recvfrom(r->fd, c->buf, n, 0, c->addr, c->addrlen);
}

static int null_buf(const char *what)
{
    return yc__fail(YC_EINVAL, &yc_TypeError, "%s: buf is NULL", what);
}

ssize_t yc__io_read_in(yc_task *t, int fd, void *buf, size_t n, const char *what)
{
    buf_ctx c = {.buf = buf, .n = n, .ring = RING_IO};
    return io_run(t, fd, RD, what, try_read, &c);
}

ssize_t yc__io_read_lent(yc_task *t, int fd, int (*lend)(void *ud, void **buf, size_t *n),
                         void *ud, const char *what)
{
    buf_ctx c = {.ring = RING_IO, .lend = lend, .lend_ud = ud};
    return io_run(t, fd, RD, what, try_read, &c);
}

ssize_t yc__io_write_in(yc_task *t, int fd, const void *buf, size_t n, const char *what)
{
    buf_ctx c = {.buf = (void *)buf, .n = n, .ring = RING_IO};
    return io_run(t, fd, WR, what, try_write, &c);
}

/* A read-side or write-side call: the checks, then io_run. Raises. */
static size_t io_call(int fd, int dir, const char *what, io_try_fn try, buf_ctx *c,
                      const char *file, int line)
{
    yc_task *t = running(what, file, line);
    ssize_t k = !c->buf && c->n ? null_buf(what) : io_run(t, fd, dir, what, try, c);
    if (k < 0) raise_pending(file, line);
    return (size_t)k;
}

void yc__io_wait(int fd, int dir, const char *file, int line)
{
    const char *what = dir == RD ? "yc_io_wait_readable()" : "yc_io_wait_writable()";
    yc_task *t = running(what, file, line);
    yc__fd *r = fd_record(t->loop, fd);
    int st = r ? YC_OK : -1;
    if (r && (dir == RD ? r->rd : r->wr)) st = busy(what, dir);
    if (st == YC_OK) {
        /* level triggered for the caller: an edge already consumed must not
         * make it wait for data that is there */
        struct pollfd p = {.fd = fd, .events = dir == RD ? POLLIN | POLLRDHUP : POLLOUT};
        int k;
        while ((k = poll(&p, 1, 0)) < 0 && errno == EINTR) {}
        if (k == 0) st = fd_wait(t, r, dir);
    }
    if (st < 0) raise_pending(file, line);
}

int yc__io_wait_in_task(int fd)
{
    yc_loop *L = yc__loop_running();
    if (!L || !L->current) return 1;
    yc_task *t = yc__task_running("a lines source");
    if (!t) { /* a callback, or a generator not in the task's chain */
        yc_err_clear();
        return 1;
    }
    yc__fd *r = fd_record(L, fd);
    if (!r) return -1;
    if (r->rd) return busy("yc_iter_lines_fd()", RD);
    return fd_wait(t, r, RD);
}

size_t yc__io_read(int fd, void *buf, size_t n, const char *file, int line)
{
    buf_ctx c = {.buf = buf, .n = n, .ring = RING_IO};
    return io_call(fd, RD, "yc_io_read()", try_read, &c, file, line);
}

size_t yc__io_write(int fd, const void *buf, size_t n, const char *file, int line)
{
    buf_ctx c = {.buf = (void *)buf, .n = n, .ring = RING_IO};
    return io_call(fd, WR, "yc_io_write()", try_write, &c, file, line);
}

void yc__io_write_all(int fd, const void *buf, size_t n, const char *file, int line)
{
    const char *what = "yc_io_write_all()";
    yc_task *t = running(what, file, line);
    if (!buf && n) {
        null_buf(what);
        raise_pending(file, line);
    }
    const char *p = buf;
    do { /* once for n == 0: the checks run */
        buf_ctx c = {.buf = (void *)p, .n = n, .ring = RING_IO};
        ssize_t k = io_run(t, fd, WR, what, try_write, &c);
        if (k < 0) raise_pending(file, line);
        p += k;
        n -= (size_t)k;
    } while (n > 0);
}

/* The checks of readv and writev: iov and iovcnt. */
static int bad_iov(const struct iovec *iov, int iovcnt, const char *what)
{
    if (iovcnt < 0 || iovcnt > IOV_MAX)
        return yc__fail(YC_EINVAL, &yc_ValueError, "%s: iovcnt %d is outside [0, %d]", what,
                        iovcnt, IOV_MAX);
    if (!iov && iovcnt) return yc__fail(YC_EINVAL, &yc_TypeError, "%s: iov is NULL", what);
    return YC_OK;
}

static size_t iov_call(int fd, int dir, const char *what, io_try_fn try,
                       const struct iovec *iov, int iovcnt, const char *file, int line)
{
    yc_task *t = running(what, file, line);
    buf_ctx c = {.iov = iov, .iovcnt = iovcnt, .ring = RING_IO};
    ssize_t k = bad_iov(iov, iovcnt, what) < 0 ? -1 : io_run(t, fd, dir, what, try, &c);
    if (k < 0) raise_pending(file, line);
    return (size_t)k;
}

size_t yc__io_readv(int fd, const struct iovec *iov, int iovcnt, const char *file, int line)
{
    return iov_call(fd, RD, "yc_io_readv()", try_readv, iov, iovcnt, file, line);
}

size_t yc__io_writev(int fd, const struct iovec *iov, int iovcnt, const char *file, int line)
{
    return iov_call(fd, WR, "yc_io_writev()", try_writev, iov, iovcnt, file, line);
}

size_t yc__io_sendto(int fd, const void *buf, size_t n, const struct sockaddr *addr,
                     socklen_t addrlen, const char *file, int line)
{
    buf_ctx c = {.buf = (void *)buf, .n = n, .to = addr, .tolen = addrlen};
    return io_call(fd, WR, "yc_io_sendto()", try_sendto, &c, file, line);
}

size_t yc__io_recvfrom(int fd, void *buf, size_t n, struct sockaddr *addr, socklen_t *addrlen,
                       const char *file, int line)
{
    buf_ctx c = {.buf = buf, .n = n, .addr = addr, .addrlen = addrlen};
    if (addr && !addrlen) {
        running("yc_io_recvfrom()", file, line);
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_io_recvfrom(): addr without addrlen");
        raise_pending(file, line);
    }
    return io_call(fd, RD, "yc_io_recvfrom()", try_recvfrom, &c, file, line);
}

/* ---- accept and connect ----------------------------------------------- */

static ssize_t try_accept(yc__fd *r, void *ctx)
{
    buf_ctx *c = ctx;
    for (;;) {
        int k = fault_hit(YC__IOF_ACCEPT, NULL)
                    ? -1
                    : accept4(r->fd, c->addr, c->addrlen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (k >= 0) return k;
        switch (errno) { /* the connection's own trouble: take the next one */
        case ECONNABORTED: case EPROTO: case ENETDOWN: case ENOPROTOOPT: case EHOSTDOWN:
        case ENONET: case EHOSTUNREACH: case EOPNOTSUPP: case ENETUNREACH:
            continue;
        default:
            return -1;
        }
    }
}

int yc__io_accept_in(yc_task *t, int fd)
{
    buf_ctx c = {.ring = RING_ACCEPT};
    ssize_t k = io_run(t, fd, RD, "yc_io_accept()", try_accept, &c);
    if (k >= 0) fd_fresh(t->loop, (int)k);
    return (int)k;
}

int yc__io_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, const char *file, int line)
{
    const char *what = "yc_io_accept()";
    yc_task *t = running(what, file, line);
    buf_ctx c = {.addr = addr, .addrlen = addrlen, .ring = RING_ACCEPT};
    ssize_t k = addr && !addrlen
                    ? yc__fail(YC_EINVAL, &yc_TypeError, "%s: addr without addrlen", what)
                    : io_run(t, fd, RD, what, try_accept, &c);
    if (k < 0) raise_pending(file, line);
    fd_fresh(t->loop, (int)k);
    return (int)k;
}

/* connect(2) without waiting; then, when it is in progress, waits for fd
 * to be writable and reads the outcome from SO_ERROR. YC_OK or -1. */
static int io_connect(yc_task *t, int fd, const struct sockaddr *addr, socklen_t len)
{
    const char *what = "yc_io_connect()";
    if (!addr) return yc__fail(YC_EINVAL, &yc_TypeError, "%s: addr is NULL", what);
    yc__fd *r = fd_record(t->loop, fd);
    if (!r) return -1;
    if (r->wr) return busy(what, WR);
    if (!fault_hit(YC__IOF_CONNECT, NULL) && connect(fd, addr, len) == 0) return YC_OK;
    if (errno != EINPROGRESS && errno != EINTR) return os_error(errno);
    if (fd_wait(t, r, WR) < 0) return -1;
    int err = 0;
    socklen_t n = sizeof err;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &n) < 0) err = errno;
    return err ? os_error(err) : YC_OK;
}

void yc__io_connect(int fd, const struct sockaddr *addr, socklen_t addrlen, const char *file,
                    int line)
{
    yc_task *t = running("yc_io_connect()", file, line);
    if (io_connect(t, fd, addr, addrlen) < 0) raise_pending(file, line);
}

/* Closes fd, made here, on a failure: the pending exception stays. */
static void close_quietly(yc_loop *L, int fd)
{
    yc__fd *r = L ? fd_lookup(L, fd) : NULL;
    if (r) fd_forget(L, r);
    close(fd);
}

/* A new socket of the family of ss connected to it; raises, leaving
 * nothing open. */
static int connect_new(const struct sockaddr_storage *ss, socklen_t len, const char *what,
                       const char *file, int line)
{
    yc_task *t = running(what, file, line);
    int fd = yc_io_socket(ss->ss_family, SOCK_STREAM, 0);
    if (fd < 0) raise_pending(file, line);
    if (io_connect(t, fd, (const struct sockaddr *)ss, len) < 0) {
        close_quietly(t->loop, fd);
        raise_pending(file, line);
    }
    return fd;
}

int yc__io_connect_tcp(const char *ip, int port, const char *file, int line)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    running("yc_io_connect_tcp()", file, line);
    if (yc_io_sockaddr(ip, port, &ss, &len) < 0) raise_pending(file, line);
    return connect_new(&ss, len, "yc_io_connect_tcp()", file, line);
}

/* A Unix socket address for path; YC_OK or ValueError/TypeError. */
static int unix_addr(const char *path, struct sockaddr_storage *ss, socklen_t *len,
                     const char *what)
{
    if (!path) return yc__fail(YC_EINVAL, &yc_TypeError, "%s: path is NULL", what);
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof un->sun_path)
        return yc__fail(YC_EINVAL, &yc_ValueError, "%s: path length %zu is outside [1, %zu]",
                        what, n, sizeof un->sun_path - 1);
    memset(ss, 0, sizeof *ss);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return YC_OK;
}

int yc__io_connect_unix(const char *path, const char *file, int line)
{
    const char *what = "yc_io_connect_unix()";
    struct sockaddr_storage ss;
    socklen_t len = 0;
    running(what, file, line);
    if (unix_addr(path, &ss, &len, what) < 0) raise_pending(file, line);
    return connect_new(&ss, len, what, file, line);
}

/* ---- making sockets (caller side) --------------------------------------- */

int yc_io_socket(int domain, int type, int protocol)
{
    int fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    if (fd < 0) return os_error(errno);
    fd_fresh(yc__loop_running(), fd);
    return fd;
}

int yc_io_sockaddr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len)
{
    if (!ip || !ss || !len)
        return yc__fail(YC_EINVAL, &yc_TypeError, "yc_io_sockaddr: %s is NULL",
                        !ip ? "ip" : !ss ? "ss" : "len");
    if (port < 0 || port > 65535)
        return yc__fail(YC_EINVAL, &yc_ValueError, "port %d is outside [0, 65535]", port);
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        *len = sizeof *a4;
    } else if (inet_pton(AF_INET6, ip, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *len = sizeof *a6;
    } else {
        char r[300];
        yc__out o = {r, sizeof r, 0};
        yc__repr_str(&o, ip, strnlen(ip, 256));
        yc__out_end(&o);
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "yc_io_sockaddr: %s is not a numeric IPv4 or IPv6 address", r);
    }
    return YC_OK;
}

/* A socket of ss's family and `type`, bound to ss, listening when
 * backlog >= 0. The descriptor, or -1 pending (nothing left open). */
static int bound(const struct sockaddr_storage *ss, socklen_t len, int type, int backlog)
{
    int fd = yc_io_socket(ss->ss_family, type, 0);
    if (fd < 0) return -1;
    int one = 1;
    if ((ss->ss_family != AF_UNIX && type == SOCK_STREAM &&
         setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) ||
        (ss->ss_family == AF_INET6 &&
         setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
        bind(fd, (const struct sockaddr *)ss, len) < 0 || (backlog >= 0 && listen(fd, backlog) < 0)) {
        int err = errno;
        close_quietly(yc__loop_running(), fd);
        return os_error(err);
    }
    return fd;
}

static int bad_backlog(int backlog, const char *what)
{
    yc__fail(YC_EINVAL, &yc_ValueError, "%s: backlog %d is negative", what, backlog);
    return -1;
}

int yc_io_listen_tcp(const char *ip, int port, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (backlog < 0) return bad_backlog(backlog, "yc_io_listen_tcp");
    if (yc_io_sockaddr(ip, port, &ss, &len) < 0) return -1;
    return bound(&ss, len, SOCK_STREAM, backlog);
}

int yc_io_listen_unix(const char *path, int backlog)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (backlog < 0) return bad_backlog(backlog, "yc_io_listen_unix");
    if (unix_addr(path, &ss, &len, "yc_io_listen_unix") < 0) return -1;
    return bound(&ss, len, SOCK_STREAM, backlog);
}

int yc_io_udp_bind(const char *ip, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = 0;
    if (yc_io_sockaddr(ip, port, &ss, &len) < 0) return -1;
    return bound(&ss, len, SOCK_DGRAM, -1);
}

int yc_io_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return os_error(errno);
    if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    yc__fail(YC_EINVAL, &yc_ValueError, "yc_io_local_port: fd %d is not a TCP or UDP socket", fd);
    return -1;
}

const char *yc_loop_io_backend(const yc_loop *L)
{
    if (!yc__loop_ok(L)) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_loop_io_backend: not a live event loop");
        return NULL;
    }
    return L->ring ? "io_uring" : "epoll";
}

/* yc__loop_each_idle's: forgets *fd in L if L knows it. */
static void forget_in(yc_loop *L, void *fd)
{
    yc__fd *r = fd_lookup(L, *(int *)fd);
    if (r) fd_forget(L, r);
}

int yc_io_close(int fd)
{
    yc_loop *L = yc__loop_running();
    yc__fd *r = L ? fd_lookup(L, fd) : NULL;
    if (r) fd_forget(L, r);
    else if (fd >= 0) yc__loop_each_idle(forget_in, &fd); /* a loop not running here */
    if (close(fd) < 0 && errno != EINTR) { /* Linux frees fd even on EINTR */
        os_error(errno);
        return YC_RAISE;
    }
    return YC_OK;
}
