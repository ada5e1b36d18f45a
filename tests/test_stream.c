/*
 * Streams (include/yieldc/io.h): readline, readuntil, readexactly and read
 * with asyncio's chunks and errors (12.54), write + drain, wait_closed,
 * open_connection; the limit of yc_stream_serve_limit and
 * yc_stream_open_connection_limit; misuse. The expected outputs of the error cases were
 * printed by CPython 3.11 for the same input, with
 *   r = asyncio.StreamReader(limit=8); r.feed_data(...); r.feed_eof()
 * and the same calls (the script is in the comment of each test).
 */
#include "loop_util.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <fcntl.h>
#include <unistd.h>

static int sv[2];
static yc_stream *rs; /* reads sv[1] */

static void pair(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
}

/* Feeds data to the other end and shuts it (feed_data + feed_eof). */
static void feed(const char *data)
{
    CHECK_EQ_INT(send(sv[0], data, strlen(data), 0), (long)strlen(data));
    shutdown(sv[0], SHUT_WR);
}

#define TRY_LOG(expr)                                                         \
    YC_TRY {                                                                  \
        size_t n_ = 0;                                                        \
        const char *p_ = expr(&n_);                                           \
        LOG("'%.*s'", (int)n_, p_);                                           \
    } YC_EXCEPT(&yc_Exception) {                                              \
        log_exc("exc", yc_exc_current());                                     \
    } YC_END

static const char *rl(size_t *n) { return yc_stream_readline(rs, n); }
static const char *ru(size_t *n) { return yc_stream_readuntil(rs, "\n", 1, n); }

/* for i in range(3): await r.readline()   over b"0123456789abcdef\nnext\n" */
static yc_val lines_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) TRY_LOG(rl);
    return YC_NONE;
}

TEST(readline_over_the_limit_12_54)
{
    pair();
    rs = yc_stream_new(sv[1], 8);
    feed("0123456789abcdef\nnext\n");
    log_clear();
    RUN_MAIN(lines_main, NULL);
    CHECK_LOG_IS("exc: ValueError: Separator is found, but chunk is longer than limit|'next\n'|''");
    CHECK(yc_stream_at_eof(rs));
    CHECK_ST(yc_stream_free(rs), YC_OK);
    close(sv[0]);
}

/* await r.readuntil(b"\n"); await r.readline(); await r.readline()
 * over b"0123456789abcdefghij" */
static yc_val until_main(void *arg)
{
    (void)arg;
    TRY_LOG(ru);
    TRY_LOG(rl);
    TRY_LOG(rl);
    return YC_NONE;
}

TEST(readuntil_not_found_12_54)
{
    pair();
    rs = yc_stream_new(sv[1], 8);
    feed("0123456789abcdefghij");
    log_clear();
    RUN_MAIN(until_main, NULL);
    CHECK_LOG_IS("exc: LimitOverrunError: Separator is not found, and chunk exceed the limit|"
                 "exc: ValueError: Separator is not found, and chunk exceed the limit|''");
    yc_stream_free(rs);
    close(sv[0]);
}

static const char *rx5(size_t *n)
{
    *n = 5;
    return yc_stream_readexactly(rs, 5);
}
static const char *rxneg(size_t *n)
{
    *n = 0;
    return yc_stream_readexactly(rs, -1);
}
static const char *ru_empty(size_t *n) { return yc_stream_readuntil(rs, "", 0, n); }

/* readexactly(5) over b"ab"; readuntil(b"\n") over b"abc"; readexactly(-1);
 * readuntil(b"") */
static yc_val incomplete_main(void *arg)
{
    (void)arg;
    TRY_LOG(rx5);
    size_t n;
    const char *p = yc_stream_partial(rs, &n);
    LOG("partial '%.*s'", (int)n, p);
    TRY_LOG(rxneg);
    TRY_LOG(ru_empty);
    return YC_NONE;
}

TEST(incomplete_reads_12_54)
{
    pair();
    rs = yc_stream_new(sv[1], 8);
    feed("ab");
    log_clear();
    RUN_MAIN(incomplete_main, NULL);
    CHECK_LOG_IS("exc: IncompleteReadError: 2 bytes read on a total of 5 expected bytes|"
                 "partial 'ab'|"
                 "exc: ValueError: readexactly size can not be less than zero|"
                 "exc: ValueError: Separator should be at least one-byte string");
    yc_stream_free(rs);
    close(sv[0]);

    pair();
    rs = yc_stream_new(sv[1], 8);
    feed("abc");
    log_clear();
    RUN_MAIN(until_main, NULL);
    CHECK_LOG_IS("exc: IncompleteReadError: 3 bytes read on a total of undefined expected bytes|"
                 "''|''");
    yc_stream_free(rs);
    close(sv[0]);
}

/* ---- pieces arriving over time, read(n), two readers ------------------------ */

static yc_val dribble(void *arg)
{
    (void)arg;
    const char *pieces[] = {"he", "llo\nwor", "ld\nXYZ", "12345", "rest"};
    for (int i = 0; i < 5; i++) {
        yc_sleep(0);
        yc_io_write_all(sv[0], pieces[i], strlen(pieces[i]));
    }
    shutdown(sv[0], SHUT_WR);
    return YC_NONE;
}

static yc_val pieces_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(dribble, NULL, NULL);
    size_t n;
    const char *p = yc_stream_readline(rs, &n);
    LOG("line '%.*s'", (int)n, p);
    p = yc_stream_readuntil(rs, "\nX", 2, &n);
    LOG("until '%.*s'", (int)n, p);
    p = yc_stream_readexactly(rs, 7);
    LOG("exactly '%.7s'", p);
    p = yc_stream_read(rs, 2, &n);
    LOG("read2 '%.*s'", (int)n, p);
    p = yc_stream_read(rs, -1, &n);
    LOG("rest '%.*s'", (int)n, p);
    p = yc_stream_read(rs, 10, &n);
    LOG("eof %zu", n);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(reads_across_pieces)
{
    pair();
    rs = yc_stream_new(sv[1], 0);
    log_clear();
    RUN_MAIN(pieces_main, NULL);
    CHECK_LOG_IS("line 'hello\n'|until 'world\nX'|exactly 'YZ12345'|read2 're'|rest 'st'|eof 0");
    yc_stream_free(rs);
    close(sv[0]);
}

static yc_val second(void *arg)
{
    (void)arg;
    size_t n;
    yc_stream_readline(rs, &n);
    LOG("first reader got a line");
    return YC_NONE;
}

static yc_val two_readers_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(second, NULL, NULL);
    yc_sleep(0);
    YC_TRY {
        yc_stream_read(rs, 1, NULL);
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("[12.54]", yc_exc_current());
    } YC_END;
    CHECK_ST(yc_stream_free(rs), YC_EINVAL);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: yc_stream_free: a task is waiting on the stream");
    yc_io_write_all(sv[0], "x\n", 2);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(second_reader_12_54)
{
    pair();
    rs = yc_stream_new(sv[1], 0);
    log_clear();
    RUN_MAIN(two_readers_main, NULL);
    CHECK_LOG_IS("[12.54]: RuntimeError: yc_stream_read() called while another coroutine is "
                 "already waiting for incoming data|first reader got a line");
    yc_stream_free(rs);
    close(sv[0]);
}

/* ---- writing: a megabyte through write + drain, over TCP -------------------- */

static int lfd;
static char big[1 << 20];

static yc_val tcp_server(void *arg)
{
    (void)arg;
    yc_stream *s = yc_stream_new(yc_io_accept(lfd, NULL, NULL), 0);
    YC_TRY {
        size_t n;
        const char *p = yc_stream_readexactly(s, sizeof big);
        n = memcmp(p, big, sizeof big) == 0;
        LOG("server got the megabyte: %s", n ? "intact" : "corrupt");
        yc_stream_write(s, "thanks\n", 7);
        yc_stream_wait_closed(s);
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    return YC_NONE;
}

static yc_stream *draining;

static yc_val second_drainer(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_stream_drain(draining);
    } YC_EXCEPT(&yc_RuntimeError) {
        log_exc("second drain", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

static yc_val tcp_main(void *arg)
{
    (void)arg;
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 31 + 7);
    yc_task *t = yc_task_spawn(tcp_server, NULL, NULL);
    yc_stream *s = yc_stream_open_connection("127.0.0.1", yc_io_local_port(lfd));
    YC_TRY {
        CHECK_ST(yc_stream_write(s, big, sizeof big / 2), YC_OK);
        CHECK_ST(yc_stream_write(s, big + sizeof big / 2, sizeof big / 2), YC_OK);
        yc_stream_drain(s); /* waits while more than the high mark is left */
        CHECK(yc_stream_buffered(s) <= 65536);
        size_t n;
        const char *p = yc_stream_readline(s, &n);
        LOG("client got %.*s", (int)(n - 1), p);
        CHECK_EQ_INT(yc_stream_read(s, -1, &n) != NULL, 1);
        CHECK_EQ_INT(n, 0);
        yc_stream_wait_closed(s);
        CHECK_EQ_INT(yc_stream_fd(s), -1);
        CHECK_ST(yc_stream_write(s, "x", 1), YC_EINVAL);
        CHECK_EXC(&yc_RuntimeError, "RuntimeError: the stream is closed");
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(write_drain_over_tcp)
{
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 4);
    CHECK(lfd >= 0);
    log_clear();
    RUN_MAIN(tcp_main, NULL);
    CHECK_LOG_IS("server got the megabyte: intact|client got thanks");
    yc_io_close(lfd);
}

/* A drain parked on a full socketpair; a second drain is refused; a
 * reader then takes it all. */
static yc_val sink(void *arg)
{
    (void)arg;
    static char buf[65536];
    size_t total = 0;
    for (;;) {
        size_t n = yc_io_read(sv[1], buf, sizeof buf);
        if (!n) break;
        total += n;
    }
    LOG("sink got %s", total == sizeof big ? "all" : "a wrong count");
    return YC_NONE;
}

static yc_val drains_main(void *arg)
{
    (void)arg;
    draining = yc_stream_new(sv[0], 0);
    YC_TRY {
        yc_stream_write(draining, big, sizeof big);
        yc_task *d = yc_task_spawn(second_drainer, NULL, NULL);
        yc_task *k = yc_task_spawn(sink, NULL, NULL);
        yc_stream_drain(draining); /* more than a socketpair holds: parks */
        yc_await(d);
        yc_task_unref(d);
        yc_stream_wait_closed(draining);
        yc_await(k);
        yc_task_unref(k);
    } YC_FINALLY {
        yc_stream_free(draining);
    } YC_END;
    return YC_NONE;
}

TEST(one_drain_at_a_time)
{
    pair();
    log_clear();
    RUN_MAIN(drains_main, NULL);
    CHECK_LOG_IS("second drain: RuntimeError: yc_stream_drain() called while another coroutine is "
                 "already draining the stream|sink got all");
    close(sv[1]);
}

/* ---- TCP_NODELAY on TCP streams, as asyncio's transports set it ---------- */

static int nodelay_of(const yc_stream *s)
{
    int v = -1;
    socklen_t len = sizeof v;
    if (getsockopt(yc_stream_fd(s), IPPROTO_TCP, TCP_NODELAY, &v, &len) != 0) return -1;
    return v != 0;
}

static yc_val nodelay_main(void *arg)
{
    (void)arg;
    yc_stream *c = yc_stream_open_connection("127.0.0.1", yc_io_local_port(lfd));
    yc_stream *a = yc_stream_new(yc_io_accept(lfd, NULL, NULL), 0);
    CHECK_EQ_INT(nodelay_of(c), 1);
    CHECK_EQ_INT(nodelay_of(a), 1);
    /* two small writes arrive without the peer acknowledging the first */
    yc_stream_write(a, "+PONG\r\n", 7);
    yc_stream_write(a, "+PONG\r\n", 7);
    yc_stream_drain(a);
    const char *p = yc_stream_readexactly(c, 14);
    CHECK(memcmp(p, "+PONG\r\n+PONG\r\n", 14) == 0);
    CHECK_ST(yc_stream_free(a), YC_OK);
    CHECK_ST(yc_stream_free(c), YC_OK);
    /* descriptors that have no such option still make streams */
    int us[2], pp[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, us) == 0);
    CHECK(pipe2(pp, O_NONBLOCK) == 0);
    yc_stream *u = yc_stream_new(us[0], 0), *w = yc_stream_new(pp[1], 0);
    CHECK(u && w);
    CHECK_EQ_INT(nodelay_of(u), -1);
    CHECK_ST(yc_stream_write(w, "x", 1), YC_OK);
    yc_stream_drain(w);
    char b;
    CHECK(read(pp[0], &b, 1) == 1 && b == 'x');
    CHECK_ST(yc_stream_free(u), YC_OK);
    CHECK_ST(yc_stream_free(w), YC_OK);
    close(us[1]);
    close(pp[0]);
    return YC_NONE;
}

TEST(tcp_streams_set_nodelay)
{
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 4);
    CHECK(lfd >= 0);
    RUN_MAIN(nodelay_main, NULL);
    yc_io_close(lfd);
}

/* ---- yc_stream_serve: a line server; a handler that fails is reported ---- */

static int hooked;
static char hook_text[200];

static void hook(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    hooked++;
    char buf[100];
    yc_exc_format(e, buf, sizeof buf);
    snprintf(hook_text, sizeof hook_text, "%s / %s", obj, buf);
}

static void line_echo(yc_stream *s, void *arg)
{
    (void)arg;
    CHECK_EQ_INT(nodelay_of(s), 1); /* a served TCP stream has it too */
    size_t n;
    const char *p;
    while ((p = yc_stream_readline(s, &n)), n > 0) {
        if (n == 5 && memcmp(p, "boom\n", 5) == 0) yc_raise(yc_exc_new(&yc_ValueError, "boom"));
        yc_stream_write(s, p, n);
        yc_stream_drain(s);
    }
}

static yc_val serve_task(void *arg)
{
    (void)arg;
    yc_stream_serve(lfd, line_echo, NULL);
    return YC_NONE;
}

static yc_val serve_main(void *arg)
{
    (void)arg;
    yc_task *srv = yc_task_spawn(serve_task, NULL, NULL);
    int port = yc_io_local_port(lfd);
    yc_stream *a = yc_stream_open_connection("127.0.0.1", port);
    yc_stream *b = yc_stream_open_connection("127.0.0.1", port);
    size_t n;
    yc_stream_write(b, "boom\n", 5);
    yc_stream_drain(b);
    const char *p = yc_stream_read(b, -1, &n); /* the server closed it */
    LOG("b: %zu bytes then eof", n);
    (void)p;
    yc_stream_write(a, "one\n", 4);
    yc_stream_drain(a);
    p = yc_stream_readline(a, &n);
    LOG("a: %.*s", (int)n - 1, p);
    /* a stays connected: cancelling the server cancels its handler */
    yc_task_cancel(srv, NULL);
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("server cancelled");
    } YC_END;
    p = yc_stream_read(a, -1, &n);
    LOG("a: eof after the server stopped");
    yc_task_unref(srv);
    yc_stream_free(a);
    yc_stream_free(b);
    return YC_NONE;
}

TEST(serve_lines)
{
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    CHECK(lfd >= 0);
    yc_set_unraisable_hook(hook, NULL);
    log_clear();
    RUN_MAIN(serve_main, NULL);
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_LOG_IS("b: 0 bytes then eof|a: one|server cancelled|a: eof after the server stopped");
    CHECK_EQ_INT(hooked, 1);
    CHECK_STR(hook_text, "Unhandled exception in client_connected_cb / ValueError: boom");
    yc_io_close(lfd);
}

/* ---- the limit of served and opened streams (12.54) ---------------------- */

/* CPython 3.11 for the same exchange (start_server(handler, limit=8),
 * open_connection(limit=8)):
 *   handler: readline() of b"123456789" -> ValueError: Separator is not
 *   found, and chunk exceed the limit; a client with limit=8 doing
 *   readuntil(b"\n") over b"abcdefghi" -> LimitOverrunError, same text */
static void limited(yc_stream *s, void *arg)
{
    (void)arg;
    size_t n;
    YC_TRY {
        yc_stream_readline(s, &n);
    } YC_EXCEPT(&yc_ValueError) {
        char m[128];
        int k = snprintf(m, sizeof m, "ValueError: %s\n", yc_exc_msg(yc_exc_current()));
        yc_stream_write(s, m, (size_t)k);
        yc_stream_drain(s);
    } YC_END;
    const char *p = yc_stream_readline(s, &n);
    yc_stream_write(s, "next ", 5);
    yc_stream_write(s, p, n);
    yc_stream_write(s, "abcdefghi", 9);
    yc_stream_drain(s);
    yc_stream_read(s, -1, &n); /* until the client closes */
}

static yc_val serve_limited(void *arg)
{
    (void)arg;
    yc_stream_serve_limit(lfd, limited, NULL, 8);
    return YC_NONE;
}

static yc_val limit_main(void *arg)
{
    (void)arg;
    yc_task *srv = yc_task_spawn(serve_limited, NULL, NULL);
    int port = yc_io_local_port(lfd);
    /* default limit (65536) on this side: the 62-byte reply is one line */
    yc_stream *a = yc_stream_open_connection("127.0.0.1", port);
    size_t n;
    yc_stream_write(a, "123456789", 9); /* 9 > 8 without a separator: whatever the chunks */
    yc_stream_drain(a);
    const char *p = yc_stream_readline(a, &n);
    LOG("%.*s", (int)n - 1, p);
    yc_stream_write(a, "ok\n", 3); /* the long bytes were dropped */
    yc_stream_drain(a);
    p = yc_stream_readline(a, &n);
    LOG("%.*s", (int)n - 1, p);
    yc_stream *b = yc_stream_open_connection_limit("127.0.0.1", port, 8);
    yc_stream_write(b, "x\ny\n", 4);
    yc_stream_drain(b);
    p = yc_stream_readline(b, &n);
    LOG("%.*s", (int)n - 1, p);
    YC_TRY {
        yc_stream_readuntil(b, "\n", 1, &n); /* "abcdefghi": 9 > 8 */
    } YC_EXCEPT(&yc_LimitOverrunError) {
        log_exc("b", yc_exc_current());
    } YC_END;
    yc_stream_free(a);
    yc_stream_free(b);
    yc_task_cancel(srv, NULL);
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("server cancelled");
    } YC_END;
    yc_task_unref(srv);
    return YC_NONE;
}

TEST(serve_and_open_connection_limit_12_54)
{
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    CHECK(lfd >= 0);
    log_clear();
    RUN_MAIN(limit_main, NULL);
    CHECK_LOG_IS("ValueError: Separator is not found, and chunk exceed the limit|next ok|next y|"
                 "b: LimitOverrunError: Separator is not found, and chunk exceed the limit|"
                 "server cancelled");
    yc_io_close(lfd);
}

/* ---- misuse -------------------------------------------------------------- */

static yc_val misuse_main(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_stream_readline(NULL, NULL);
    } YC_EXCEPT(&yc_TypeError) {
        log_exc("null", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_stream_serve(0, NULL, NULL);
    } YC_EXCEPT(&yc_TypeError) {
        log_exc("serve", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_stream_drain(rs); /* its peer is gone */
    } YC_EXCEPT(&yc_OSError) {
        log_exc("drain", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(stream_misuse)
{
    CHECK(yc_stream_new(-1, 0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_stream_new: fd -1 is negative");
    CHECK_ST(yc_stream_write(NULL, "x", 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: stream is NULL");
    CHECK_ST(yc_stream_free(NULL), YC_OK);
    CHECK_EQ_INT(yc_stream_fd(NULL), -1);
    CHECK(!yc_stream_at_eof(NULL));
    CHECK_EQ_INT(yc_stream_buffered(NULL), 0);
    size_t n = 9;
    CHECK_STR(yc_stream_partial(NULL, &n), "");
    CHECK_EQ_INT(n, 0);
    pair();
    rs = yc_stream_new(sv[1], 0);
    CHECK_ST(yc_stream_write(rs, NULL, 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_stream_write: buf is NULL");
    CHECK_ST(yc_stream_write(rs, "data", 4), YC_OK);
    close(sv[0]);
    log_clear();
    RUN_MAIN(misuse_main, NULL);
    CHECK_LOG_IS("null: TypeError: stream is NULL|"
                 "serve: TypeError: yc_stream_serve(): handler is NULL|"
                 "drain: BrokenPipeError: [Errno 32] Broken pipe");
    CHECK_ST(yc_stream_free(rs), YC_OK);
}

/* ---- idle streams hold no buffer ------------------------------------------ */

/* An allocator that remembers the live blocks of at least 4 KiB it made
 * (the streams' buffers; stacks are mmap'ed, not allocated here). */
#define LIVE_MAX 4096
static void *live_blocks[LIVE_MAX];
static int nlive;
static void *count_big(void *ud, void *p, size_t n)
{
    (void)ud;
    for (int i = 0; p && i < nlive; i++)
        if (live_blocks[i] == p) {
            live_blocks[i] = live_blocks[--nlive];
            break;
        }
    void *q = n ? realloc(p, n) : (free(p), NULL);
    if (q && n >= 4096 && nlive < LIVE_MAX) live_blocks[nlive++] = q;
    return q;
}

#define IDLE_N 200
static int idle_sv[IDLE_N][2];
static int parked; /* handlers about to wait for their second line */

/* Reads a line, answers it, then waits for the next one (idle until main
 * writes it) and answers that too. */
static yc_val idle_handler(void *arg)
{
    yc_stream *s = arg;
    size_t n;
    const char *p = yc_stream_readline(s, &n);
    yc_stream_write(s, p, n);
    yc_stream_drain(s);
    parked++;
    p = yc_stream_readline(s, &n);
    yc_stream_write(s, p, n);
    yc_stream_drain(s);
    return yc_int((long)n);
}

static int live_at_idle;

static yc_val idle_main(void *arg)
{
    (void)arg;
    yc_stream *st[IDLE_N];
    yc_task *t[IDLE_N];
    for (int i = 0; i < IDLE_N; i++) {
        st[i] = yc_stream_new(idle_sv[i][1], 0);
        /* the last one keeps an unread half line while it waits */
        const char *first = i == IDLE_N - 1 ? "hello\npart" : "hello\n";
        CHECK(write(idle_sv[i][0], first, strlen(first)) == (ssize_t)strlen(first));
        t[i] = yc_task_spawn(idle_handler, st[i], NULL);
    }
    while (parked < IDLE_N) yc_sleep(0);
    yc_sleep(0); /* each has reached its wait */
    live_at_idle = nlive;
    char buf[64];
    for (int i = 0; i < IDLE_N; i++) {
        CHECK_EQ_INT(read(idle_sv[i][0], buf, sizeof buf), 6); /* "hello\n" came back */
        CHECK(write(idle_sv[i][0], "again\n", 6) == 6);
    }
    long total = 0;
    for (int i = 0; i < IDLE_N; i++) {
        yc_val v = yc_await(t[i]);
        total += v.i;
        yc_task_unref(t[i]);
    }
    CHECK_EQ_INT(total, 6 * (IDLE_N - 1) + 10); /* "again\n" each, "partagain\n" last */
    ssize_t k = read(idle_sv[IDLE_N - 1][0], buf, sizeof buf);
    CHECK(k == 10 && memcmp(buf, "partagain\n", 10) == 0);
    for (int i = 0; i < IDLE_N; i++) yc_stream_free(st[i]);
    return YC_NONE;
}

/* A handler waiting with nothing unread and nothing unsent gives both its
 * buffers back to the loop's pools (at most 64 of each kept): 200 idle
 * connections hold at most 128 blocks of 4 KiB or more instead of 400; a
 * stream holding an unread half line keeps it, and reading resumes after
 * the wait. */
TEST(idle_streams_hold_no_buffer)
{
    int fds = count_fds();
    for (int i = 0; i < IDLE_N; i++)
        CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, idle_sv[i]) == 0);
    nlive = 0;
    parked = 0;
    yc_set_allocator(count_big, NULL);
    RUN_MAIN(idle_main, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK(live_at_idle <= 2 * 64);
    CHECK_EQ_INT(nlive, 0);
    for (int i = 0; i < IDLE_N; i++) close(idle_sv[i][0]);
    CHECK_EQ_INT(count_fds(), fds);
}

/* ---- the heap an idle served connection holds ------------------------------ */

#include <malloc.h>
#include <netinet/in.h>

/* An allocator that counts the bytes of the live blocks under 4 KiB as
 * glibc's malloc holds them (usable size and its 8-byte header); the
 * buffers (64 KiB, kept in the loop's pools) are idle_streams_hold_no_
 * buffer's business. */
static long small_bytes;

static long small_size(void *p)
{
    size_t u = p ? malloc_usable_size(p) : 4096;
    return u < 4096 ? (long)u + 8 : 0;
}

static void *count_small(void *ud, void *p, size_t n)
{
    (void)ud;
    long before = small_size(p);
    void *q = n ? realloc(p, n) : (free(p), NULL);
    if (n && !q) return NULL; /* p stays */
    small_bytes += small_size(q) - before;
    return q;
}

#define HEAP_N 100
static int heap_served;

static void echo_lines(yc_stream *s, void *arg)
{
    (void)arg;
    size_t n;
    const char *p;
    while ((p = yc_stream_readline(s, &n)), n > 0) {
        yc_stream_write(s, p, n);
        yc_stream_drain(s);
        heap_served++;
    }
}

static yc_val serve_echo(void *arg)
{
    (void)arg;
    yc_stream_serve(lfd, echo_lines, NULL);
    return YC_NONE;
}

static long heap_per_conn;

static yc_val heap_main(void *arg)
{
    (void)arg;
    yc_task *srv = yc_task_spawn(serve_echo, NULL, NULL);
    yc_sleep(0);
    yc_sleep(0); /* the server waits in accept */
    long b0 = small_bytes;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons((uint16_t)yc_io_local_port(lfd))};
    int c[HEAP_N];
    for (int i = 0; i < HEAP_N; i++) { /* the loopback completes each at once */
        c[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        CHECK(c[i] >= 0 && connect(c[i], (struct sockaddr *)&a, sizeof a) == 0);
        CHECK(write(c[i], "x\n", 2) == 2);
    }
    while (heap_served < HEAP_N) yc_sleep(0);
    yc_sleep(0); /* each handler waits for its next line */
    heap_per_conn = (small_bytes - b0) / HEAP_N;
    for (int i = 0; i < HEAP_N; i++) close(c[i]);
    yc_task_cancel(srv, NULL);
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(srv);
    return YC_NONE;
}

/* What an idle connection of yc_stream_serve holds on the heap (its
 * handler's task and wait future, the stream with the server's node, the
 * descriptor's record, the task group's node, and shares of the arrays
 * that grow with the connections): about 1,020 bytes before they were
 * packed (the task alone took 448), about 790 after (docs/io.md,
 * "Memory"). Bounded here so that it does not creep back. */
TEST(an_idle_served_connection_holds_under_850_bytes_of_heap)
{
    int fds = count_fds();
    lfd = yc_io_listen_tcp("127.0.0.1", 0, HEAP_N);
    CHECK(lfd >= 0);
    heap_served = 0;
    small_bytes = 0;
    yc_set_allocator(count_small, NULL);
    RUN_MAIN(heap_main, NULL);
    yc_set_allocator(NULL, NULL);
    fprintf(stderr, "    heap per idle connection: %ld bytes\n", heap_per_conn);
    CHECK(heap_per_conn > 0 && heap_per_conn < 850);
    CHECK_EQ_INT(small_bytes, 0);
    yc_io_close(lfd);
    CHECK_EQ_INT(count_fds(), fds);
}

/* ---- a short read waits for the next event before it reads again ------------- */

#include <netinet/in.h>
#include <netinet/tcp.h>

/* A connected pair of non-blocking TCP sockets over the loopback. */
static void tcp_pair(int fds[2])
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    CHECK(l >= 0 && bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0);
    CHECK(getsockname(l, (struct sockaddr *)&a, &len) == 0);
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CHECK(connect(fds[0], (struct sockaddr *)&a, sizeof a) == 0);
    fds[1] = accept4(l, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    CHECK(fds[1] >= 0);
    int one = 1;
    setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(l);
}

/* Whether the kernel names fd's protocol TCP (qemu's user mode, which runs
 * the aarch64 legs, does not answer SO_PROTOCOL: the library then treats
 * the socket as any it cannot classify, and tries each read first). */
static bool says_tcp(int fd)
{
    int proto = 0;
    socklen_t len = sizeof proto;
    return getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_TCP;
}

static int pp_w; /* the writing end of the pair under test */
static bool pp_ring; /* the loop ran io_uring */

static yc_val late_writer(void *arg)
{
    (void)arg;
    yc_sleep(0);
    CHECK(write(pp_w, "b\n", 2) == 2);
    return YC_NONE;
}

/* Reads "a\n" (there already), then "b\n" written by a task after the
 * reader waits: the read system calls each readline made. */
static void two_lines(long *first, long *second)
{
    CHECK(write(pp_w, "a\n", 2) == 2);
    yc__io_fault_reset();
    size_t n;
    yc_stream_readline(rs, &n);
    *first = yc__io_fault_calls(YC__IOF_READ);
    yc_task *w = yc_task_spawn(late_writer, NULL, NULL);
    const char *p = yc_stream_readline(rs, &n);
    CHECK(n == 2 && memcmp(p, "b\n", 2) == 0);
    *second = yc__io_fault_calls(YC__IOF_READ) - *first;
    yc_await(w);
    yc_task_unref(w);
}

static yc_val short_read_main(void *arg)
{
    const char *kind = arg;
    pp_ring = strcmp(yc_loop_io_backend(yc_loop_current()), "io_uring") == 0;
    long first, second;
    two_lines(&first, &second);
    /* epoll on TCP or a pipe: the wait comes first, then the one read that
     * finds "b\n"; a Unix socket (a read may stop short of what is there)
     * and io_uring try first and meet EAGAIN */
    LOG("%s: %ld read, then %ld", kind, first, second);
    /* the peer's end reported before a short read: the read after it goes
     * straight to the end of file, it does not wait for an event that will
     * not come */
    CHECK(write(pp_w, "abc", 3) == 3);
    if (strcmp(kind, "pipe") == 0) close(pp_w);
    else shutdown(pp_w, SHUT_WR);
    yc_sleep(0.001); /* the loop polls and sees the end while nobody waits */
    YC_TRY {
        yc_stream_readexactly(rs, 5);
    } YC_EXCEPT(&yc_IncompleteReadError) {
        log_exc("then", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

/* A read shorter than asked from TCP or a pipe emptied it: the next read
 * waits for the descriptor's next event instead of meeting EAGAIN first,
 * as libuv and asyncio do (one system call less per request); not on a
 * Unix socket. */
TEST(a_short_read_waits_for_the_next_event)
{
    int fds0 = count_fds();
    const char *kinds[] = {"tcp", "pipe", "unix"};
    for (int k = 0; k < 3; k++) {
        int pp[2];
        if (k == 0) tcp_pair(pp);
        else if (k == 1) {
            int p2[2];
            CHECK(pipe2(p2, O_NONBLOCK | O_CLOEXEC) == 0);
            pp[0] = p2[1];
            pp[1] = p2[0];
        } else {
            CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pp) == 0);
        }
        pp_w = pp[0];
        rs = yc_stream_new(pp[1], 0);
        log_clear();
        RUN_MAIN(short_read_main, (void *)kinds[k]);
        yc__io_fault_reset();
        bool waits_first = !pp_ring && (k == 1 || (k == 0 && says_tcp(pp[1])));
        char want[200];
        snprintf(want, sizeof want,
                 "%s: 1 read, then %d|"
                 "then: IncompleteReadError: 3 bytes read on a total of 5 expected bytes",
                 kinds[k], waits_first ? 1 : 2);
        CHECK_STR(loop_log, want);
        yc_stream_free(rs);
        if (k != 1) close(pp[0]);
    }
    CHECK_EQ_INT(count_fds(), fds0);
}

TEST_MAIN()
