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

#include <sys/types.h>

/* While tasks are ready, the loop polls descriptors (without waiting) once
 * every this many iterations when some task waits on one, and never when
 * none does: a loop busy with ready tasks pays one epoll_wait per this
 * many iterations, and a ready descriptor waits at most this many. */
#define YC__IO_POLL_INTERVAL 8

/* Descriptor operations a task may do in one turn (one step, between two
 * suspensions) before it gives up the rest of its turn, as tokio's budget:
 * timers and other tasks then run at most this many operations late. */
#define YC__IO_BUDGET 64

/* epoll data of the loop's own eventfd (thread-safe calls). */
#define YC__IO_EFD_DATA 0

enum { FDK_POLLED, FDK_FILE /* epoll refuses it: always ready */ };

typedef struct yc__fd {
    int fd;
    uint32_t gen;   /* matches the epoll data's high half              */
    uint8_t kind;   /* FDK_*                                           */
    bool sock;      /* a socket: written with MSG_NOSIGNAL             */
    yc_task *rd;    /* the waiting reader's future (referenced) or NULL */
    yc_task *wr;    /* the waiting writer's future                      */
    void (*on_wr)(void *ud); /* a stream's writer: run at each writable event */
    void *on_wr_ud;
} yc__fd;

/* An epoll event with data `data` (not YC__IO_EFD_DATA): wakes the waiters
 * it concerns. */
YC_HIDDEN void yc__io_event(yc_loop *L, uint64_t data, uint32_t events);
/* For stream.c: read(2) / write(2) (send with MSG_NOSIGNAL on sockets,
 * SIGPIPE held off on pipes) of fd in running task t, trying first and
 * waiting on EAGAIN, refused while another task waits in that direction
 * (what names the caller in the RuntimeError). The count (>= 0), or -1
 * with the exception pending (never raises). */
YC_HIDDEN ssize_t yc__io_read_in(yc_task *t, int fd, void *buf, size_t n, const char *what);
YC_HIDDEN ssize_t yc__io_write_in(yc_task *t, int fd, const void *buf, size_t n,
                                  const char *what);
/* For stream.c's writer: fd's record in L (made at its first use, as the
 * body functions make it), with cb(ud) run by the loop at every event that
 * finds fd writable (or in error) until the record goes (yc_io_close).
 * NULL with the exception pending (OSError, ValueError, MemoryError). */
YC_HIDDEN yc__fd *yc__io_on_writable(yc_loop *L, int fd, void (*cb)(void *), void *ud);
/* One write attempt on r that never waits (send with MSG_NOSIGNAL, SIGPIPE
 * held off on pipes; EINTR retried; the fault hook applies). The count, or
 * -1 with errno (EAGAIN when fd is full). */
YC_HIDDEN ssize_t yc__io_write_now(yc__fd *r, const void *buf, size_t n);
/* yc_io_accept(fd, NULL, NULL) in running task t, never raising: the new
 * descriptor, or -1 with the exception pending. */
YC_HIDDEN int yc__io_accept_in(yc_task *t, int fd);
/* yc__fd_wait_readable (internal.h) as io.c gives it. */
YC_HIDDEN int yc__io_wait_in_task(int fd);
/* Frees L's records (the loop is being freed; no task waits any more). */
YC_HIDDEN void yc__io_free(yc_loop *L);

#endif
