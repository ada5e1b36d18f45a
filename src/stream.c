/*
 * Streams: asyncio's StreamReader (readuntil, readline, readexactly, read)
 * and the writing half of StreamWriter (write, drain, close and
 * wait_closed) over one descriptor, built on io.c's try-first reads and
 * writes. The algorithms of the reader are Lib/asyncio/streams.py's, so
 * that the same input gives the same chunks and the same errors.
 *
 * The read buffer holds the unread bytes at rbuf[rpos, rpos + rlen); what a
 * call returns is consumed (rpos moves on) but stays in place until the
 * next call, which is why a returned pointer lives that long.
 *
 * An idle connection holds no buffer: a reader lends its buffer to the read
 * only while bytes come (io.c's yc__io_read_lent), and when the task has to
 * wait with nothing unread (and nothing unsent), both buffers go back to
 * the loop's pools (rbuf_cache, wbuf_cache, at most STREAM_POOL each) and
 * are taken again when the descriptor turns readable. 10,000 idle
 * connections then hold no buffer pages at all (a buffer that grew past its
 * standard size stays with its stream, see release_idle).
 *
 * The writer is asyncio's transport with FlowControlMixin: write tries the
 * system call at once (in a running loop) and keeps what did not go at
 * wbuf[wpos, wpos + wlen); the loop sends the rest each time the
 * descriptor turns writable (on_writable, io.c's yc__io_writable hook),
 * with no task involved. Above the high water mark the writer is paused and drain
 * waits until the loop has brought it down to the low mark; otherwise
 * drain returns at once. A send failing for good (EPIPE, ECONNRESET...)
 * loses the connection: the buffer is dropped, later writes are dropped,
 * a drain waiting then gets that OSError, the first drain after it gets it
 * too and every later one ConnectionResetError "Connection lost" (12.54).
 *
 * The record's callback holds the stream as a plain pointer; yc_stream_free
 * and wait_closed drop it with the record (yc_io_close). A stream freed
 * with bytes unsent while its loop exists but is not running leaves the
 * record behind, as any descriptor closed outside its loop does (io.h):
 * harmless unless a duplicate of the descriptor stays open and becomes
 * writable once that loop runs again.
 */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>

#define STREAM_MAGIC 0x79635374u /* "ycSt" */
#define STREAM_LIMIT 65536       /* asyncio's _DEFAULT_LIMIT */
#define STREAM_CHUNK 65536       /* room made for each read */
#define STREAM_HIGH 65536        /* FlowControlMixin's default high water mark */
#define STREAM_WBUF 4096         /* a write buffer's first size */
#define STREAM_POOL 64           /* buffers a loop keeps for its streams */

struct yc_stream {
    uint32_t magic;
    int fd;
    size_t limit;
    char *rbuf;
    size_t rcap, rpos, rlen;
    bool eof;     /* the peer's end of file was read */
    bool waiting; /* a task waits for data (the 12.54 check) */
    bool flushing; /* a task drains it */
    bool paused;  /* above high, not yet back to low */
    bool lost_told; /* a drain raised werr already */
    short werr;   /* the errno that lost the connection (the kernel's are
                     below 4096), or 0; beside the flags: the stream is
                     most of an idle connection's block */
    size_t npartial; /* the last IncompleteReadError's bytes, just before rpos */
    char *wbuf;
    size_t wcap, wpos, wlen; /* unsent bytes at wbuf[wpos, wpos + wlen) */
    size_t high, low;        /* water marks */
    yc_task *dwait;          /* a waiting drain's future (referenced) */
    size_t dtarget;          /* wake dwait once wlen <= this */
};

static YC_NORETURN void raise_pending(const char *file, int line)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, NULL);
}

static bool stream_ok(const yc_stream *s) { return s && s->magic == STREAM_MAGIC; }

static int bad_stream(const yc_stream *s)
{
    if (!s) return yc__fail(YC_EINVAL, &yc_TypeError, "stream is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live stream (freed or corrupted)");
}

/* The running task for body function what, with s checked; raises. */
static yc_task *enter(const yc_stream *s, const char *what, const char *file, int line)
{
    yc_task *t = yc__task_running(what);
    if (!t) raise_pending(file, line);
    if (!stream_ok(s)) {
        bad_stream(s);
        raise_pending(file, line);
    }
    if (s->fd < 0) {
        yc__fail(YC_EINVAL, &yc_RuntimeError, "the stream is closed");
        raise_pending(file, line);
    }
    return t;
}

/* A buffer of the standard size (STREAM_CHUNK in pool rbuf_cache,
 * STREAM_WBUF in wbuf_cache) from the running loop's pool, or the
 * allocator's; NULL with MemoryError pending. */
static char *buf_get(yc__cache *(*pool)(yc_loop *), size_t size)
{
    yc_loop *L = yc__loop_running();
    yc__cache *c = L ? pool(L) : NULL;
    char *p = c ? c->head : NULL;
    if (p) { /* the pools keep only head and n (no in-use count: a buffer
              * may come from outside a loop, or from another loop) */
        c->head = *(void **)p;
        c->n--;
    } else if (!(p = yc__malloc(size))) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    }
    return p;
}

/* Gives back a buffer of capacity cap: to the running loop's pool when it
 * has the pool's size and the pool is not full, else to the allocator
 * (yc_loop_free frees what a pool holds). */
static void buf_put(yc__cache *(*pool)(yc_loop *), size_t size, char *p, size_t cap)
{
    yc_loop *L = yc__loop_running();
    yc__cache *c = L ? pool(L) : NULL;
    if (p && c && cap == size && c->n < STREAM_POOL) {
        *(void **)p = c->head;
        c->head = p;
        c->n++;
    } else {
        yc__free(p);
    }
}

static yc__cache *rpool(yc_loop *L) { return &L->rbuf_cache; }
static yc__cache *wpool(yc_loop *L) { return &L->wbuf_cache; }

/* Lets the buffers of the standard size go that hold nothing: the read
 * buffer when no byte is unread (the bytes of a partial read are gone with
 * their call), the write buffer when nothing is unsent. A buffer that grew
 * (a line longer than a read, a write larger than 4 KiB) stays: giving it
 * back and growing another at each wait would churn the allocator (mmap and
 * munmap above glibc's threshold). */
static void release_idle(yc_stream *s)
{
    if (s->rbuf && !s->rlen && s->rcap == STREAM_CHUNK) {
        buf_put(rpool, STREAM_CHUNK, s->rbuf, s->rcap);
        s->rbuf = NULL;
        s->rcap = s->rpos = s->npartial = 0;
    }
    if (s->wbuf && !s->wlen && s->wcap == STREAM_WBUF) {
        buf_put(wpool, STREAM_WBUF, s->wbuf, s->wcap);
        s->wbuf = NULL;
        s->wcap = s->wpos = 0;
    }
}

/* As asyncio's transports do for every TCP socket: TCP_NODELAY, so that a
 * reply written in pieces (or several replies to pipelined requests, each
 * written as it is ready) is not held back by Nagle's algorithm until the
 * peer acknowledges the first piece, which a peer delaying its
 * acknowledgements does only after tens of milliseconds. Any other
 * descriptor (a pipe, a Unix socket) refuses the option: ignored. */
static void set_nodelay(int fd)
{
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A stream on fd (>= 0) at the start of a block of `size` bytes (the
 * rest zeroed: the caller's), which yc_stream_free frees; NULL with
 * MemoryError. */
static yc_stream *stream_make(int fd, size_t limit, size_t size)
{
    yc_stream *s = yc__malloc(size);
    if (!s) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(s, 0, size);
    s->magic = STREAM_MAGIC;
    s->fd = fd;
    s->limit = limit ? limit : STREAM_LIMIT;
    s->high = STREAM_HIGH;
    s->low = STREAM_HIGH / 4;
    set_nodelay(fd);
    return s;
}

yc_stream *yc_stream_new(int fd, size_t limit)
{
    if (fd < 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_stream_new: fd %d is negative", fd);
        return NULL;
    }
    return stream_make(fd, limit, sizeof(yc_stream));
}

int yc_stream_free(yc_stream *s)
{
    if (!s) return YC_OK;
    if (!stream_ok(s)) return bad_stream(s);
    if (s->waiting || s->flushing)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "yc_stream_free: a task is waiting on the stream");
    int st = s->fd >= 0 ? yc_io_close(s->fd) : YC_OK;
    buf_put(rpool, STREAM_CHUNK, s->rbuf, s->rcap);
    buf_put(wpool, STREAM_WBUF, s->wbuf, s->wcap);
    s->magic = 0;
    yc__free(s);
    return st;
}

int yc_stream_fd(const yc_stream *s) { return stream_ok(s) ? s->fd : -1; }
bool yc_stream_at_eof(const yc_stream *s) { return stream_ok(s) && s->eof && !s->rlen; }
size_t yc_stream_buffered(const yc_stream *s) { return stream_ok(s) ? s->wlen : 0; }

const char *yc_stream_partial(const yc_stream *s, size_t *len)
{
    size_t n = stream_ok(s) && s->rbuf ? s->npartial : 0;
    if (len) *len = n;
    return n ? s->rbuf + s->rpos - n : "";
}

int yc_stream_set_write_buffer_limits(yc_stream *s, long high, long low)
{
    if (!stream_ok(s)) return bad_stream(s);
    if (high == -1) high = low == -1 ? STREAM_HIGH : 4 * low;
    if (low == -1) low = high >= 0 ? high / 4 : -((3 - high) / 4); /* Python's high // 4 */
    if (!(high >= low && low >= 0))
        return yc__fail(YC_EINVAL, &yc_ValueError, "high (%ld) must be >= low (%ld) must be >= 0",
                        high, low);
    s->high = (size_t)high;
    s->low = (size_t)low;
    if (s->wlen > s->high) s->paused = true;
    return YC_OK;
}

/* Completes the waiting drain's future when the buffer is down to its
 * target (or the connection is lost: with OSError err). */
static void drain_wake(yc_stream *s)
{
    yc_task *f = s->dwait;
    if (!f || (!s->werr && s->wlen > s->dtarget)) return;
    s->dwait = NULL;
    if (f->state != FUT_PENDING) {
        /* cancelled, not yet run */
    } else if (s->werr) {
        s->lost_told = true;
        yc__fut_set_exception(f, yc_exc_new_errno(&yc_OSError, s->werr, NULL));
    } else {
        yc__fut_set_result(f, YC_NONE);
    }
    yc_task_unref(f);
}

/* Sends what the buffer holds until the descriptor is full, in the loop
 * running on this thread (none: nothing happens). A failure other than
 * EAGAIN loses the connection (werr). YC_OK, or -1 with the exception of
 * making fd's record pending (MemoryError, OSError EBADF, ValueError). */
static int kick(yc_stream *s)
{
    yc_loop *L = yc__loop_running();
    if (!L || s->fd < 0 || s->werr) return YC_OK;
    yc__fd *r = yc__io_on_writable(L, s->fd, NULL); /* set again below while bytes wait */
    if (!r) return -1;
    while (s->wlen) {
        ssize_t k = yc__io_write_now(r, s->wbuf + s->wpos, s->wlen);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            s->werr = (short)errno; /* the connection is lost: drop what is left */
            s->wpos = s->wlen = 0;
            s->paused = false;
            break;
        }
        s->wpos += (size_t)k;
        s->wlen -= (size_t)k;
    }
    if (!s->wlen) s->wpos = 0;
    else yc__io_on_writable(L, s->fd, s); /* the loop sends the rest (on_writable) */
    if (s->paused && s->wlen <= s->low) s->paused = false;
    drain_wake(s);
    return YC_OK;
}

/* yc__io_writable (installed below): the fd of stream ud turned writable. A record failing to be made
 * cannot happen here (it exists); the exception is dropped if it did. */
static void on_writable(void *ud)
{
    if (kick(ud) < 0) yc_err_clear();
}

__attribute__((constructor)) static void install_writable_hook(void)
{
    yc__io_writable = on_writable;
}

int yc_stream_write(yc_stream *s, const void *buf, size_t n)
{
    if (!stream_ok(s)) return bad_stream(s);
    if (!buf && n) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_stream_write: buf is NULL");
    if (s->fd < 0) return yc__fail(YC_EINVAL, &yc_RuntimeError, "the stream is closed");
    if (s->werr || !n) return YC_OK; /* the connection is lost: dropped, as asyncio does */
    if (s->wcap - s->wpos - s->wlen < n) {
        if (s->wpos) { /* sent bytes make room first */
            memmove(s->wbuf, s->wbuf + s->wpos, s->wlen);
            s->wpos = 0;
        }
        if (!s->wbuf && n <= STREAM_WBUF) {
            if (!(s->wbuf = buf_get(wpool, STREAM_WBUF))) return YC_RAISE;
            s->wcap = STREAM_WBUF;
        } else if (s->wcap - s->wlen < n) {
            size_t cap = s->wcap ? s->wcap : STREAM_WBUF;
            while (cap - s->wlen < n) cap *= 2;
            char *p = yc__realloc(s->wbuf, cap);
            if (!p) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
            s->wbuf = p;
            s->wcap = cap;
        }
    }
    memcpy(s->wbuf + s->wpos + s->wlen, buf, n);
    s->wlen += n;
    if (s->wlen == n && kick(s) < 0) return YC_RAISE; /* kept: the next drain sends it */
    if (s->wlen > s->high) s->paused = true;
    return YC_OK;
}

/* ---- reading ---------------------------------------------------------- */

/* Consumes k bytes; returns where they start. */
static const char *take(yc_stream *s, size_t k)
{
    const char *p = s->rbuf ? s->rbuf + s->rpos : "";
    s->rpos += k;
    s->rlen -= k;
    return p;
}

/* yc__io_read_lent's lender: the room after the unread bytes (a buffer
 * from the pool when the stream holds none), or, before the task waits,
 * back to the pool with whatever holds nothing. */
static int lend(void *ud, void **buf, size_t *n)
{
    yc_stream *s = ud;
    if (!buf) {
        release_idle(s);
        return 0;
    }
    if (!s->rbuf) {
        if (!(s->rbuf = buf_get(rpool, STREAM_CHUNK))) return -1;
        s->rcap = STREAM_CHUNK;
    }
    *buf = s->rbuf + s->rlen;
    *n = s->rcap - s->rlen;
    return 0;
}

/* _wait_for_data: reads once more into the buffer (what names the caller
 * for 12.54's RuntimeError). YC_OK (eof set at end of file) or -1. */
static int fill(yc_stream *s, yc_task *t, const char *what)
{
    if (s->waiting)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "%s called while another coroutine is already waiting for incoming data",
                        what);
    if (s->rpos) { /* what earlier calls returned is no longer needed */
        memmove(s->rbuf, s->rbuf + s->rpos, s->rlen);
        s->rpos = 0;
    }
    if (s->rbuf && s->rcap - s->rlen < STREAM_CHUNK) {
        char *p = yc__realloc(s->rbuf, s->rlen + STREAM_CHUNK);
        if (!p) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        s->rbuf = p;
        s->rcap = s->rlen + STREAM_CHUNK;
    }
    s->waiting = true;
    ssize_t k = yc__io_read_lent(t, s->fd, lend, s, what);
    s->waiting = false;
    if (k < 0) return -1;
    if (k == 0) s->eof = true;
    s->rlen += (size_t)k;
    return YC_OK;
}

/* IncompleteReadError for the whole buffer (consumed, kept as partial);
 * expected < 0: "undefined". Returns -1. */
static int incomplete(yc_stream *s, long expected)
{
    size_t n = s->rlen;
    take(s, n);
    s->npartial = n;
    if (expected < 0)
        return yc__fail(YC_RAISE, &yc_IncompleteReadError,
                        "%zu bytes read on a total of undefined expected bytes", n);
    return yc__fail(YC_RAISE, &yc_IncompleteReadError,
                    "%zu bytes read on a total of %ld expected bytes", n, expected);
}

/* StreamReader.readuntil. *consumed gets LimitOverrunError's consumed. */
static const char *until(yc_stream *s, yc_task *t, const char *sep, size_t seplen, size_t *len,
                         size_t *consumed, const char *what)
{
    if (!sep || !seplen) {
        yc__fail(YC_EINVAL, &yc_ValueError, "Separator should be at least one-byte string");
        return NULL;
    }
    size_t offset = 0, isep;
    for (;;) {
        if (s->rlen >= offset + seplen) {
            const char *base = s->rbuf + s->rpos;
            const char *p = memmem(base + offset, s->rlen - offset, sep, seplen);
            if (p) {
                isep = (size_t)(p - base);
                break;
            }
            offset = s->rlen + 1 - seplen;
            if (offset > s->limit) {
                *consumed = offset;
                yc__fail(YC_RAISE, &yc_LimitOverrunError,
                         "Separator is not found, and chunk exceed the limit");
                return NULL;
            }
        }
        if (s->eof) {
            incomplete(s, -1);
            return NULL;
        }
        if (fill(s, t, what) < 0) return NULL;
    }
    if (isep > s->limit) {
        *consumed = isep;
        yc__fail(YC_RAISE, &yc_LimitOverrunError,
                 "Separator is found, but chunk is longer than limit");
        return NULL;
    }
    *len = isep + seplen;
    return take(s, *len);
}

const char *yc__stream_readuntil(yc_stream *s, const void *sep, size_t seplen, size_t *len,
                                 const char *file, int line)
{
    const char *what = "yc_stream_readuntil()";
    yc_task *t = enter(s, what, file, line);
    size_t n = 0, consumed;
    s->npartial = 0;
    const char *p = until(s, t, sep, seplen, &n, &consumed, what);
    if (!p) raise_pending(file, line);
    if (len) *len = n;
    return p;
}

const char *yc__stream_readline(yc_stream *s, size_t *len, const char *file, int line)
{
    const char *what = "yc_stream_readline()";
    yc_task *t = enter(s, what, file, line);
    size_t n = 0, consumed = 0;
    s->npartial = 0;
    const char *p = until(s, t, "\n", 1, &n, &consumed, what);
    if (!p) {
        yc_exc *e = yc_err_get();
        if (yc_exc_is(e, &yc_IncompleteReadError)) { /* end of file: the rest */
            yc_err_clear();
            n = s->npartial;
            p = yc_stream_partial(s, NULL);
        } else if (yc_exc_is(e, &yc_LimitOverrunError)) {
            /* drop the long line (or all the buffer), raise ValueError */
            bool sep_there = consumed < s->rlen && s->rbuf[s->rpos + consumed] == '\n';
            take(s, sep_there ? consumed + 1 : s->rlen);
            char msg[128];
            snprintf(msg, sizeof msg, "%s", yc_exc_msg(e));
            yc_err_clear();
            yc__fail(YC_RAISE, &yc_ValueError, "%s", msg);
            raise_pending(file, line);
        } else {
            raise_pending(file, line);
        }
    }
    if (len) *len = n;
    return p;
}

const char *yc__stream_readexactly(yc_stream *s, long n, const char *file, int line)
{
    const char *what = "yc_stream_readexactly()";
    yc_task *t = enter(s, what, file, line);
    s->npartial = 0;
    int st = YC_OK;
    if (n < 0) st = yc__fail(YC_EINVAL, &yc_ValueError, "readexactly size can not be less than zero");
    while (st == YC_OK && s->rlen < (size_t)n)
        st = s->eof ? incomplete(s, n) : fill(s, t, what);
    if (st < 0) raise_pending(file, line);
    return take(s, (size_t)n);
}

const char *yc__stream_read(yc_stream *s, long n, size_t *len, const char *file, int line)
{
    const char *what = "yc_stream_read()";
    yc_task *t = enter(s, what, file, line);
    s->npartial = 0;
    int st = YC_OK;
    if (n < 0)
        while (st == YC_OK && !s->eof) st = fill(s, t, what);
    else if (n > 0 && !s->rlen && !s->eof)
        st = fill(s, t, what);
    if (st < 0) raise_pending(file, line);
    size_t k = n < 0 || (size_t)n > s->rlen ? s->rlen : (size_t)n;
    if (len) *len = k;
    return take(s, k);
}

/* ---- writing and closing ------------------------------------------------ */

/*
 * drain (all false) and the flush of wait_closed (all true). After the
 * connection was lost the first one raises its OSError and later ones
 * ConnectionResetError "Connection lost". Otherwise a drain returns at
 * once unless the writer is paused (above the high mark), and then waits
 * until the loop has sent the buffer down to the low mark; with `all` it
 * waits until nothing is left. YC_OK or -1 pending.
 */
static int flush(yc_stream *s, yc_task *t, bool all, const char *what)
{
    if (s->flushing)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "%s called while another coroutine is already draining the stream", what);
    if (kick(s) < 0) return -1;
    if (s->werr) {
        if (s->lost_told && !all)
            return yc__fail(YC_RAISE, &yc_ConnectionResetError, "Connection lost");
        s->lost_told = true;
        yc__err_set(yc__cur(), yc_exc_new_errno(&yc_OSError, s->werr, NULL));
        return -1;
    }
    if (all ? !s->wlen : !s->paused) return YC_OK;
    yc_task *f = yc__task_waiter(t);
    if (!f) return YC_ENOMEM;
    s->dwait = yc_task_ref(f);
    s->dtarget = all ? 0 : s->low;
    s->flushing = true;
    int st = yc__task_await(t, f, NULL);
    s->flushing = false;
    if (s->dwait == f) { /* cancelled: let f go */
        s->dwait = NULL;
        yc_task_unref(f);
    }
    yc_task_unref(f);
    return st;
}

void yc__stream_drain(yc_stream *s, const char *file, int line)
{
    yc_task *t = enter(s, "yc_stream_drain()", file, line);
    if (flush(s, t, false, "yc_stream_drain()") < 0) raise_pending(file, line);
}

void yc__stream_wait_closed(yc_stream *s, const char *file, int line)
{
    yc_task *t = enter(s, "yc_stream_wait_closed()", file, line);
    int st = flush(s, t, true, "yc_stream_wait_closed()");
    yc_exc *e = st < 0 ? yc_err_take() : NULL;
    int fd = s->fd;
    s->fd = -1;
    s->wpos = s->wlen = 0;
    if (yc_io_close(fd) < 0) {
        if (e) yc_err_clear();
        else e = yc_err_take();
    }
    if (e) {
        yc_err_set(e);
        raise_pending(file, line);
    }
}

yc_stream *yc__stream_open_connection(const char *ip, int port, size_t limit, const char *file,
                                      int line)
{
    int fd = yc__io_connect_tcp(ip, port, file, line);
    yc_stream *s = yc_stream_new(fd, limit);
    if (!s) {
        yc_exc *e = yc_err_take();
        yc_io_close(fd);
        yc_err_set(e);
        raise_pending(file, line);
    }
    return s;
}

/* ---- serving ------------------------------------------------------------ */

/* A connection being served: its stream and, in the same block, what the
 * server keeps of it (one block a connection: idle connections are what a
 * server holds most of). The server links each into a list on its own
 * stack (a circle through a sentinel), which its task unlinks when it
 * ends: a task cancelled before its first step never runs its body, and
 * the server frees what such tasks left once its task group is done. */
typedef struct serving {
    yc_stream_handler handler;
    void *arg;
} serving;
typedef struct conn {
    yc_stream s; /* first: yc_stream_free frees the connection */
    const serving *srv; /* the server's (on its stack) until the task
                           starts, which reads it then; NULL once started */
    struct conn *prev, *next;
} conn;

static void conn_unlink_free(conn *c)
{
    c->prev->next = c->next;
    c->next->prev = c->prev;
    yc_stream_free(&c->s);
}

/* After a handler returned: what it wrote and the loop has not sent yet
 * goes out before the descriptor closes (asyncio's transport.close does
 * the same), unless the peer is gone, which is not the handler's error. */
static void send_rest(yc_stream *s)
{
    if (s->fd < 0 || !s->wlen || s->werr) return;
    YC_TRY {
        yc_stream_wait_closed(s);
    } YC_EXCEPT(&yc_OSError) {
    } YC_END;
}

/* A connection's task: the handler, then the stream freed whatever
 * happens; an Exception is reported, not passed to the server's group. */
static yc_val conn_task(void *p)
{
    conn *volatile c = p;
    yc_stream_handler handler = c->srv->handler;
    void *arg = c->srv->arg;
    c->srv = NULL; /* started */
    YC_TRY {
        handler(&c->s, arg);
        send_rest(&c->s);
    } YC_EXCEPT(&yc_Exception) {
        yc__loop_report(yc_exc_current(), "Unhandled exception in client_connected_cb");
    } YC_FINALLY {
        conn_unlink_free(c);
    } YC_END;
    return YC_NONE;
}

/* Spawns a connection task for fd (taken) in group g, linked after head;
 * raises. */
static void spawn_conn(yc_taskgroup *g, conn *head, int fd, const serving *srv, size_t limit)
{
    conn *c = (conn *)stream_make(fd, limit, sizeof *c);
    if (c) {
        c->srv = srv;
        c->prev = head;
        c->next = head->next;
        head->next->prev = c;
        head->next = c;
    }
    yc_task *t = c ? yc_taskgroup_spawn(g, conn_task, c, NULL) : NULL;
    if (!t) {
        yc_exc *e = yc_err_take();
        if (c) conn_unlink_free(c);
        else yc_io_close(fd);
        yc_raise(e);
    }
    yc_task_unref(t);
}

static double accept_retry_delay = 1.0; /* asyncio's ACCEPT_RETRY_DELAY */

void yc__stream_accept_retry_delay(double seconds)
{
    accept_retry_delay = seconds < 0 ? 1.0 : seconds;
}

/* The next connection on lfd; raises. Out of a resource (EMFILE, ENFILE,
 * ENOBUFS, ENOMEM), as asyncio's _accept_connection does: the error is
 * reported ("socket.accept() out of system resource"), and accept is
 * tried again after the retry delay, the connections already made served
 * meanwhile (no spinning on a listening socket that stays readable). */
static int serve_accept(yc_task *t, int lfd, const char *file, int line)
{
    for (;;) {
        int fd = yc__io_accept_in(t, lfd);
        if (fd >= 0) return fd;
        yc_exc *e = yc_err_take();
        int err = yc_exc_is(e, &yc_OSError) ? yc_exc_errno(e) : 0;
        if (err != EMFILE && err != ENFILE && err != ENOBUFS && err != ENOMEM) {
            yc_err_set(e);
            raise_pending(file, line);
        }
        yc__loop_report(e, "socket.accept() out of system resource");
        yc_exc_unref(e);
        yc__sleep(accept_retry_delay, file, line);
    }
}

void yc__stream_serve(int lfd, yc_stream_handler handler, void *arg, size_t limit,
                      const char *file, int line)
{
    yc_task *t = yc__task_running("yc_stream_serve()");
    if (!t) raise_pending(file, line);
    if (!handler) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_stream_serve(): handler is NULL");
        raise_pending(file, line);
    }
    const serving srv = {handler, arg};
    conn head;
    conn *volatile hp = &head; /* read after a longjmp: never from a register */
    head.prev = head.next = &head;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            for (;;) spawn_conn(g.p, hp, serve_accept(t, lfd, file, line), &srv, limit);
        } YC_END_WITH;
    } YC_FINALLY {
        /* tasks that never started: their connections; tasks still running
         * (a group whose exit failed to wait, out of memory) are detached
         * from the list, which dies with this frame, and free their own */
        while (hp->next != hp) {
            conn *c = hp->next;
            if (c->srv) { /* not started */
                conn_unlink_free(c);
                continue;
            }
            hp->next = c->next;
            c->next->prev = hp;
            c->prev = c->next = c;
        }
    } YC_END;
}
