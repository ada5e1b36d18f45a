/*
 * Internal declarations of io.c: descriptor readiness for the event loop.
 * Never installed.
 *
 * The loop keeps one record per descriptor it has seen (L->fds, indexed
 * by descriptor number), registered with the loop's epoll once, edge
 * triggered, for input and output at once (docs/design.md says why). A
 * record has at most one reader and one writer waiting: each is a future
 * (the task's yc__task_waiter) that a readiness event completes, so the
 * task runs one iteration later and tries its system call again.
 *
 * epoll carries (generation << 32 | fd) rather than a pointer: an event
 * for a descriptor whose record went away (closed and reopened behind the
 * loop's back, or by yc_io_close with a duplicate still open) finds no
 * record of that generation and is ignored, never a freed one.
 */
#ifndef YC_IO_INTERNAL_H
#define YC_IO_INTERNAL_H

#include "loop.h"
#include "task.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

/* Descriptor operations a task may do in one turn (one step, between two
 * suspensions) before it gives up the rest of its turn, as tokio's budget:
 * timers and other tasks then run at most this many operations late. */
#define YC__IO_BUDGET 64

enum { FDK_POLLED, FDK_FILE /* epoll refuses it: always ready */ };

typedef struct yc__fd {
    int fd;
    uint32_t gen;   /* matches the epoll data's high half              */
    uint8_t kind;   /* FDK_*                                           */
    bool sock;      /* a socket: written with MSG_NOSIGNAL             */
    uint8_t bytes;  /* a byte stream (pipe, stream socket): 0 unknown,
                       1 yes, 2 no (datagrams, ttys, others)          */
    bool drained;   /* epoll: a short read emptied it and no event came
                       since: the next read waits before it tries     */
    bool hup;       /* epoll reported the peer's end (RDHUP, HUP, ERR):
                       no event will follow, a read never waits first */
    bool wpoll;     /* io_uring: a writer poll is in the ring           */
    yc_task *rd;    /* the waiting reader's future (referenced) or NULL */
    yc_task *wr;    /* the waiting writer's future                      */
    void *on_wr_ud; /* a stream's writer, told (yc__io_writable) at each
                       writable event, or NULL                          */
    /* io_uring backend only */
    struct yc__uop *rop, *wop; /* the waiters' requests in the ring      */
} yc__fd; /* 56 bytes: one per descriptor a loop has seen (an idle
             connection's), so a 64-byte block with malloc's header */

/* The epoll backend (loop.h): the loop's wait through epoll_wait, each
 * event of a record waking the waiters it concerns; free is yc__io_free. */
YC_HIDDEN extern const yc__io_ops yc__io_epoll;
/* For stream.c: read(2) / write(2) (send with MSG_NOSIGNAL on sockets,
 * SIGPIPE held off on pipes) of fd in running task t, trying first and
 * waiting on EAGAIN, refused while another task waits in that direction
 * (what names the caller in the RuntimeError). The count (>= 0), or -1
 * with the exception pending (never raises). */
YC_HIDDEN ssize_t yc__io_read_in(yc_task *t, int fd, void *buf, size_t n, const char *what);
/* yc__io_read_in for a reader whose buffer is needed only while bytes come:
 * before each attempt lend(ud, &buf, &n) sets the buffer (0; -1 when it
 * raised), and before t waits for fd, lend(ud, NULL, NULL) takes it back
 * (0), so that an idle connection holds no buffer. Under io_uring the wait
 * is a poll, not a read in the ring, for the same reason. */
YC_HIDDEN ssize_t yc__io_read_lent(yc_task *t, int fd,
                                   int (*lend)(void *ud, void **buf, size_t *n), void *ud,
                                   const char *what);
YC_HIDDEN ssize_t yc__io_write_in(yc_task *t, int fd, const void *buf, size_t n,
                                  const char *what);
/* For stream.c's writer: fd's record in L (made at its first use, as the
 * body functions make it), with yc__io_writable(ud) run by the loop at
 * every event that finds fd writable (or in error) until the record goes
 * (yc_io_close); ud NULL: nothing runs. NULL with the exception pending
 * (OSError, ValueError, MemoryError). */
YC_HIDDEN yc__fd *yc__io_on_writable(yc_loop *L, int fd, void *ud);
/* Hook (internal.h, "Hooks") that stream.c installs: what a record's
 * on_wr_ud (a stream) is given to when its descriptor turns writable. One
 * function for every record, so that the records do not each hold it. */
YC_HIDDEN extern void (*yc__io_writable)(void *ud);
/* One write attempt on r that never waits (send with MSG_NOSIGNAL, SIGPIPE
 * held off on pipes; EINTR retried; the fault hook applies). The count, or
 * -1 with errno (EAGAIN when fd is full). */
YC_HIDDEN ssize_t yc__io_write_now(yc__fd *r, const void *buf, size_t n);
/* yc_io_accept(fd, NULL, NULL) in running task t, never raising: the new
 * descriptor, or -1 with the exception pending. */
YC_HIDDEN int yc__io_accept_in(yc_task *t, int fd);
/* yc__fd_wait_readable (internal.h) as io.c gives it. */
YC_HIDDEN int yc__io_wait_in_task(int fd);
/* Frees L's records (the loop is being freed; no task waits any more);
 * the ring, if any, is io_uring.c's to free. */
YC_HIDDEN void yc__io_free(yc_loop *L);

/* ---- the io_uring backend (io_uring.c) ----------------------------------
 * Chosen per process by YC_IO_BACKEND=io_uring and a probe, per loop by
 * making its ring (L->ring; NULL: the loop uses epoll). Without liburing
 * at build time every function is a stub and L->ring stays NULL. */
enum { YC__IO_EPOLL, YC__IO_URING };

/* A request in the ring for a task. It lives on the stack of the task
 * that waits for it and must not go before done (yc__uring_ops.cancel_reap). */
typedef struct yc__uop {
    yc_task *fut; /* completed with None at the completion, if still pending */
    int res;      /* the completion's result (>= 0, or -errno)            */
    bool done;
    const struct yc__ureq *req; /* what was asked (alive while in flight) */
} yc__uop;

enum { YC__UR_POLL, YC__UR_READ, YC__UR_READV, YC__UR_WRITE, YC__UR_SEND, YC__UR_SENDMSG,
       YC__UR_ACCEPT, YC__UR_OPEN, YC__UR_CLOSE };
typedef struct yc__ureq {
    int op;                  /* YC__UR_*                                  */
    int fd;
    unsigned events;         /* POLL: POLLIN, POLLOUT...                  */
    void *buf;               /* READ, WRITE, SEND                         */
    size_t n;
    int64_t off;             /* READ, READV, WRITE: -1 for the position   */
    const struct iovec *iov; /* READV                                     */
    int iovcnt;
    const struct msghdr *msg; /* SENDMSG                                  */
    struct sockaddr *addr;   /* ACCEPT                                    */
    socklen_t *addrlen;
    const char *path;        /* OPEN                                      */
    int flags, mode;
} yc__ureq;

/* The process's choice (probes at the first call; YC__IO_*). */
YC_HIDDEN int yc__io_backend(void);
/* Makes L->ring, and points L->io at the ring's backend, when the process
 * chose io_uring (L left as it was if that fails: epoll). */
YC_HIDDEN void yc__uring_loop_init(yc_loop *L);

/* The ring's backend, in L->io while L->ring is set: the loop's part
 * first (loop.h: wait submits, waits up to timeout for a completion and
 * dispatches every one there is; flush submits what this turn prepared;
 * free frees the records and the ring), then the operations io.c hands to
 * the ring, so that io.c, below io_uring.c, names none of its functions. */
typedef struct yc__uring_ops {
    yc__io_ops io;
    /* Queues request r for op (reset to not done); completed at a later
     * dispatch. 0, or -1 when no submission entry can be had. */
    int (*start)(yc_loop *L, yc__uop *op, const yc__ureq *r);
    /* Asks the kernel to cancel op now (its completion comes as usual). */
    void (*cancel)(yc_loop *L, yc__uop *op);
    /* Cancels op and dispatches completions until op's is reaped. */
    void (*cancel_reap)(yc_loop *L, yc__uop *op);
    /* A one-shot POLLOUT poll of record data (gen << 32 | fd) for its
     * writer, and its cancellation; the completion calls
     * yc__io_ring_writable. */
    void (*wpoll)(yc_loop *L, uint64_t data, int fd);
    void (*cancel_wpoll)(yc_loop *L, uint64_t data);
} yc__uring_ops;
/* L's ring backend; L->ring must be set. */
static inline const yc__uring_ops *yc__uring_of(const yc_loop *L)
{
    return (const yc__uring_ops *)L->io; /* io is its first member */
}
/* Request q for running task t, which parks until it completes (its
 * result in *res, >= 0 or -errno), or, cancelled, until it is cancelled
 * and reaped. YC_OK, or negative with the exception pending. */
YC_HIDDEN int yc__uring_call(yc_task *t, const yc__ureq *q, int *res);
/* io.c: the writer poll of record data completed with res (revents or
 * -errno). */
YC_HIDDEN void yc__io_ring_writable(yc_loop *L, uint64_t data, int res);
/* yc_config's I/O part (io_uring.c): "io=io_uring", or "io=epoll
 * io_uring=WHY" (built, not-built, refused:ERR, a missing feature,
 * unknown-YC_IO_BACKEND). */
YC_HIDDEN void yc__io_backend_describe(char *buf, size_t size);

#endif
