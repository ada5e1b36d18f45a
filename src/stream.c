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
 */
#define _GNU_SOURCE
#include "io.h"

#include <stdio.h>
#include <string.h>

#define STREAM_MAGIC 0x79635374u /* "ycSt" */
#define STREAM_LIMIT 65536       /* asyncio's _DEFAULT_LIMIT */
#define STREAM_CHUNK 65536       /* room made for each read */

struct yc_stream {
    uint32_t magic;
    int fd;
    size_t limit;
    char *rbuf;
    size_t rcap, rpos, rlen;
    bool eof;     /* the peer's end of file was read */
    bool waiting; /* a task waits for data (the 12.54 check) */
    bool flushing; /* a task drains it */
    size_t npartial; /* the last IncompleteReadError's bytes, just before rpos */
    char *wbuf;
    size_t wcap, wlen;
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

yc_stream *yc_stream_new(int fd, size_t limit)
{
    if (fd < 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_stream_new: fd %d is negative", fd);
        return NULL;
    }
    yc_stream *s = yc__malloc(sizeof *s);
    if (!s) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(s, 0, sizeof *s);
    s->magic = STREAM_MAGIC;
    s->fd = fd;
    s->limit = limit ? limit : STREAM_LIMIT;
    return s;
}

int yc_stream_free(yc_stream *s)
{
    if (!s) return YC_OK;
    if (!stream_ok(s)) return bad_stream(s);
    if (s->waiting || s->flushing)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "yc_stream_free: a task is waiting on the stream");
    int st = s->fd >= 0 ? yc_io_close(s->fd) : YC_OK;
    yc__free(s->rbuf);
    yc__free(s->wbuf);
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

int yc_stream_write(yc_stream *s, const void *buf, size_t n)
{
    if (!stream_ok(s)) return bad_stream(s);
    if (!buf && n) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_stream_write: buf is NULL");
    if (s->fd < 0) return yc__fail(YC_EINVAL, &yc_RuntimeError, "the stream is closed");
    if (s->wcap - s->wlen < n) {
        size_t cap = s->wcap ? s->wcap : 4096;
        while (cap - s->wlen < n) cap *= 2;
        char *p = yc__realloc(s->wbuf, cap);
        if (!p) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        s->wbuf = p;
        s->wcap = cap;
    }
    if (n) memcpy(s->wbuf + s->wlen, buf, n);
    s->wlen += n;
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
    if (s->rcap - s->rlen < STREAM_CHUNK) {
        char *p = yc__realloc(s->rbuf, s->rlen + STREAM_CHUNK);
        if (!p) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        s->rbuf = p;
        s->rcap = s->rlen + STREAM_CHUNK;
    }
    s->waiting = true;
    ssize_t k = yc__io_read_in(t, s->fd, s->rbuf + s->rlen, s->rcap - s->rlen, what);
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

/* Sends the write buffer; YC_OK or -1 (what was sent is dropped from it). */
static int flush(yc_stream *s, yc_task *t, const char *what)
{
    size_t off = 0;
    int st = YC_OK;
    if (s->flushing)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "%s called while another coroutine is already draining the stream", what);
    s->flushing = true;
    while (off < s->wlen) {
        ssize_t k = yc__io_write_in(t, s->fd, s->wbuf + off, s->wlen - off, what);
        if (k < 0) {
            st = -1;
            break;
        }
        off += (size_t)k;
    }
    s->flushing = false;
    if (off) memmove(s->wbuf, s->wbuf + off, s->wlen - off);
    s->wlen -= off;
    return st;
}

void yc__stream_drain(yc_stream *s, const char *file, int line)
{
    yc_task *t = enter(s, "yc_stream_drain()", file, line);
    if (flush(s, t, "yc_stream_drain()") < 0) raise_pending(file, line);
}

void yc__stream_wait_closed(yc_stream *s, const char *file, int line)
{
    yc_task *t = enter(s, "yc_stream_wait_closed()", file, line);
    int st = flush(s, t, "yc_stream_wait_closed()");
    yc_exc *e = st < 0 ? yc_err_take() : NULL;
    int fd = s->fd;
    s->fd = -1;
    if (yc_io_close(fd) < 0) {
        if (e) yc_err_clear();
        else e = yc_err_take();
    }
    if (e) {
        yc_err_set(e);
        raise_pending(file, line);
    }
}

yc_stream *yc__stream_open_connection(const char *ip, int port, const char *file, int line)
{
    int fd = yc__io_connect_tcp(ip, port, file, line);
    yc_stream *s = yc_stream_new(fd, 0);
    if (!s) {
        yc_exc *e = yc_err_take();
        yc_io_close(fd);
        yc_err_set(e);
        raise_pending(file, line);
    }
    return s;
}

/* ---- serving ------------------------------------------------------------ */

typedef struct conn {
    yc_stream *s;
    yc_stream_handler handler;
    void *arg;
} conn;

/* A connection's task: the handler, then the stream freed whatever
 * happens; an Exception is reported, not passed to the server's group. */
static yc_val conn_task(void *p)
{
    conn *volatile c = p;
    YC_TRY {
        c->handler(c->s, c->arg);
    } YC_EXCEPT(&yc_Exception) {
        yc__loop_report(yc_exc_current(), "Unhandled exception in client_connected_cb");
    } YC_FINALLY {
        yc_stream_free(c->s);
        yc__free(c);
    } YC_END;
    return YC_NONE;
}

/* Spawns a connection task for fd (taken) in group g; raises. */
static void spawn_conn(yc_taskgroup *g, int fd, yc_stream_handler handler, void *arg)
{
    conn *c = yc__malloc(sizeof *c);
    yc_stream *s = c ? yc_stream_new(fd, 0) : NULL;
    if (s) *c = (conn){.s = s, .handler = handler, .arg = arg};
    yc_task *t = s ? yc_taskgroup_spawn(g, conn_task, c, NULL) : NULL;
    if (!t) {
        if (!c) yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        yc_exc *e = yc_err_take();
        if (s) yc_stream_free(s);
        else yc_io_close(fd);
        yc__free(c);
        yc_raise(e);
    }
    yc_task_unref(t);
}

void yc__stream_serve(int lfd, yc_stream_handler handler, void *arg, const char *file, int line)
{
    if (!yc__task_running("yc_stream_serve()")) raise_pending(file, line);
    if (!handler) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_stream_serve(): handler is NULL");
        raise_pending(file, line);
    }
    YC_WITH(yc_cm_taskgroup(), g) {
        for (;;) spawn_conn(g.p, yc__io_accept(lfd, NULL, NULL, file, line), handler, arg);
    } YC_END_WITH;
}
