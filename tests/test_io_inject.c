/*
 * Descriptor I/O under injected system call faults (the yc__io_fault test
 * hook of yieldc.h): each fault gives the exception io.h documents in the
 * task that did the I/O, EAGAIN and EINTR are waited out or retried, short
 * reads and writes still give every byte; yc_stream_serve survives EMFILE
 * without spinning. Then the stream writer: high and low water marks, a
 * drain that waits only when paused, the loop sending without a task, and
 * the "Connection lost" of 12.54. Every test counts open descriptors
 * before and after.
 */
#include "loop_util.h"

#include <dirent.h>
#include <errno.h>
#include <sys/socket.h>
#include <time.h>

static int sv[2];

static void run(yc_gen_fn fn)
{
    int st = yc_loop_run(fn, NULL, NULL, NULL);
    yc__io_fault_reset();
    if (st != YC_OK) fail_pending_at(__FILE__, __LINE__, yc_status_name(st));
}

/* Runs fn over a fresh socketpair; no descriptor left open after. */
static void run_pair(yc_gen_fn fn)
{
    int before = count_fds();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    log_clear();
    yc__io_fault_reset();
    run(fn);
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    CHECK_EQ_INT(count_fds(), before);
}

#define LOG_EXC(what, stmt)                                                   \
    YC_TRY {                                                                  \
        stmt;                                                                 \
        LOG("%s: no exception", what);                                        \
    } YC_EXCEPT(&yc_Exception) {                                              \
        log_exc(what, yc_exc_current());                                      \
    } YC_END

/* ---- reads: ECONNRESET, ENOMEM, EINTR, EAGAIN, short ------------------------ */

static char got[64];

static yc_val eagain_reader(void *arg)
{
    (void)arg;
    yc__io_fault(YC__IOF_READ, 1, EAGAIN, 0);
    long c0 = yc__io_fault_calls(YC__IOF_READ);
    size_t n = yc_io_read(sv[1], got, sizeof got - 1);
    got[n] = 0;
    LOG("EAGAIN waited, then %s, %s", got[0] == 'a' ? "the bytes" : "wrong bytes",
        yc__io_fault_calls(YC__IOF_READ) - c0 >= 2 ? "read again" : "not read again");
    return YC_NONE;
}

static yc_val reads_main(void *arg)
{
    (void)arg;
    char buf[16];
    yc__io_fault(YC__IOF_READ, 1, ECONNRESET, 0);
    LOG_EXC("ECONNRESET", yc_io_read(sv[1], buf, sizeof buf));
    yc__io_fault(YC__IOF_READ, 1, ENOMEM, 0);
    LOG_EXC("ENOMEM", yc_io_read(sv[1], buf, sizeof buf));
    yc__io_fault(YC__IOF_READ, 1, ECONNRESET, 0);
    struct iovec iov = {buf, sizeof buf};
    LOG_EXC("readv ECONNRESET", yc_io_readv(sv[1], &iov, 1));
    /* EINTR: retried at once, twice, then the byte */
    CHECK_EQ_INT(send(sv[0], "x", 1, 0), 1);
    yc__io_fault(YC__IOF_READ, 2, EINTR, 0);
    long c0 = yc__io_fault_calls(YC__IOF_READ);
    CHECK_EQ_INT(yc_io_read(sv[1], buf, sizeof buf), 1);
    CHECK_EQ_INT(yc__io_fault_calls(YC__IOF_READ) - c0, 3);
    /* EAGAIN with the data there: the task waits for the next event */
    CHECK_EQ_INT(send(sv[0], "a", 1, 0), 1);
    yc_task *t = yc_task_spawn(eagain_reader, NULL, NULL);
    yc_sleep(0.01);
    CHECK_EQ_INT(send(sv[0], "b", 1, 0), 1);
    yc_await(t);
    yc_task_unref(t);
    while (recv(sv[1], buf, sizeof buf, MSG_DONTWAIT) > 0) {} /* "b" if the reader left it */
    /* short reads: one byte per call, and a stream still gets its line */
    CHECK_EQ_INT(send(sv[0], "hello\nworld", 11, 0), 11);
    yc__io_fault(YC__IOF_READ, -1, 0, 1);
    CHECK_EQ_INT(yc_io_read(sv[1], buf, sizeof buf), 1);
    yc_stream *s = yc_stream_new(sv[1], 0);
    sv[1] = -1;
    c0 = yc__io_fault_calls(YC__IOF_READ);
    size_t n;
    const char *p = yc_stream_readline(s, &n);
    LOG("short reads: '%.*s' in %ld reads", (int)n - 1, p, yc__io_fault_calls(YC__IOF_READ) - c0);
    yc__io_fault_reset();
    yc__io_fault(YC__IOF_READ, 1, ECONNRESET, 0);
    LOG_EXC("stream ECONNRESET", yc_stream_read(s, -1, &n));
    CHECK_ST(yc_stream_free(s), YC_OK);
    return YC_NONE;
}

TEST(inject_read_faults)
{
    run_pair(reads_main);
    CHECK_LOG_IS("ECONNRESET: ConnectionResetError: [Errno 104] Connection reset by peer|"
                 "ENOMEM: OSError: [Errno 12] Cannot allocate memory|"
                 "readv ECONNRESET: ConnectionResetError: [Errno 104] Connection reset by peer|"
                 "EAGAIN waited, then the bytes, read again|"
                 "short reads: 'ello' in 5 reads|"
                 "stream ECONNRESET: ConnectionResetError: [Errno 104] Connection reset by peer");
}

/* ---- writes: EPIPE, ECONNRESET, EINTR, short; connect, sendto, recvfrom ----- */

static yc_val writes_main(void *arg)
{
    (void)arg;
    char buf[32];
    yc__io_fault(YC__IOF_WRITE, 1, EPIPE, 0);
    LOG_EXC("EPIPE", yc_io_write(sv[0], "x", 1));
    yc__io_fault(YC__IOF_WRITE, 1, ECONNRESET, 0);
    LOG_EXC("write_all ECONNRESET", yc_io_write_all(sv[0], "xyz", 3));
    struct iovec iov = {"x", 1};
    yc__io_fault(YC__IOF_WRITE, 1, EPIPE, 0);
    LOG_EXC("writev EPIPE", yc_io_writev(sv[0], &iov, 1));
    /* EINTR: retried */
    yc__io_fault(YC__IOF_WRITE, 1, EINTR, 0);
    CHECK_EQ_INT(yc_io_write(sv[0], "A", 1), 1);
    /* short writes: 3 bytes a call; write returns the short count,
     * write_all loops until every byte went */
    yc__io_fault(YC__IOF_WRITE, -1, 0, 3);
    CHECK_EQ_INT(yc_io_write(sv[0], "BCDEFG", 6), 3);
    long c0 = yc__io_fault_calls(YC__IOF_WRITE);
    yc_io_write_all(sv[0], "0123456789", 10);
    CHECK_EQ_INT(yc__io_fault_calls(YC__IOF_WRITE) - c0, 4);
    yc__io_fault_reset();
    size_t n = yc_io_read(sv[1], buf, sizeof buf);
    LOG("peer got '%.*s'", (int)n, buf);
    /* connect refused (injected): nothing left open */
    int lfd = yc_io_listen_tcp("127.0.0.1", 0, 4);
    if (lfd < 0) YC_CHECK(-1);
    yc__io_fault(YC__IOF_CONNECT, 1, ECONNREFUSED, 0);
    LOG_EXC("connect", yc_io_connect_tcp("127.0.0.1", yc_io_local_port(lfd)));
    yc__io_fault(YC__IOF_ACCEPT, 1, EMFILE, 0);
    LOG_EXC("accept EMFILE", yc_io_accept(lfd, NULL, NULL));
    yc_io_close(lfd);
    /* datagrams */
    int u = yc_io_udp_bind("127.0.0.1", 0);
    if (u < 0) YC_CHECK(-1);
    struct sockaddr_storage to;
    socklen_t len;
    YC_CHECK(yc_io_sockaddr("127.0.0.1", yc_io_local_port(u), &to, &len));
    yc__io_fault(YC__IOF_SENDTO, 1, ENOBUFS, 0);
    LOG_EXC("sendto", yc_io_sendto(u, "d", 1, (struct sockaddr *)&to, len));
    yc__io_fault(YC__IOF_RECVFROM, 1, ECONNREFUSED, 0);
    LOG_EXC("recvfrom", yc_io_recvfrom(u, buf, sizeof buf, NULL, NULL));
    yc_io_close(u);
    return YC_NONE;
}

TEST(inject_write_faults)
{
    run_pair(writes_main);
    CHECK_LOG_IS("EPIPE: BrokenPipeError: [Errno 32] Broken pipe|"
                 "write_all ECONNRESET: ConnectionResetError: [Errno 104] Connection reset by peer|"
                 "writev EPIPE: BrokenPipeError: [Errno 32] Broken pipe|"
                 "peer got 'ABCD0123456789'|"
                 "connect: ConnectionRefusedError: [Errno 111] Connection refused|"
                 "accept EMFILE: OSError: [Errno 24] Too many open files|"
                 "sendto: OSError: [Errno 105] No buffer space available|"
                 "recvfrom: ConnectionRefusedError: [Errno 111] Connection refused");
}

/* ---- EMFILE under yc_stream_serve: reported, retried later, no spin ------- */

static int lfd;
static int reports;
static char report_text[200];

static void hook(yc_exc *e, const char *obj, void *ud)
{
    (void)ud;
    char buf[100];
    yc_exc_format(e, buf, sizeof buf);
    if (!reports++) snprintf(report_text, sizeof report_text, "%s / %s", obj, buf);
}

static void echo_lines(yc_stream *s, void *arg)
{
    (void)arg;
    size_t n;
    const char *p;
    while ((p = yc_stream_readline(s, &n)), n > 0) {
        yc_stream_write(s, p, n);
        yc_stream_drain(s);
    }
}

static yc_stream_handler serve_handler = echo_lines;

static yc_val serve_task(void *arg)
{
    (void)arg;
    yc_stream_serve(lfd, serve_handler, NULL);
    return YC_NONE;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* One line through the echo server; true when it came back. */
static bool exchange(yc_stream *c, const char *line)
{
    size_t n, len = strlen(line);
    yc_stream_write(c, line, len);
    yc_stream_drain(c);
    const char *p = yc_stream_readline(c, &n);
    return n == len && memcmp(p, line, n) == 0;
}

static yc_val emfile_main(void *arg)
{
    (void)arg;
    yc_task *srv = yc_task_spawn(serve_task, NULL, NULL);
    int port = yc_io_local_port(lfd);
    yc_stream *a = yc_stream_open_connection("127.0.0.1", port);
    CHECK(exchange(a, "a1\n"));
    /* every accept fails from now on: b waits in the backlog */
    yc__io_fault(YC__IOF_ACCEPT, -1, EMFILE, 0);
    long c0 = yc__io_fault_calls(YC__IOF_ACCEPT);
    double t0 = now();
    yc_stream *b = yc_stream_open_connection("127.0.0.1", port);
    for (int i = 0; i < 1000 && !reports; i++) yc_sleep(0.001);
    CHECK(reports >= 1);
    /* the server goes on serving a meanwhile */
    for (int i = 0; i < 20; i++) CHECK(exchange(a, "a2\n"));
    long calls = yc__io_fault_calls(YC__IOF_ACCEPT) - c0;
    double dt = now() - t0;
    /* one attempt per retry delay (0.05 s), not one per loop turn */
    CHECK(calls >= 1);
    CHECK(calls <= 2 + (long)(dt / 0.05));
    LOG("EMFILE: a served meanwhile, accept tried %s", calls <= 2 + (long)(dt / 0.05) ? "once per delay" : "too often");
    yc__io_fault_reset();
    CHECK(exchange(b, "b1\n")); /* accepted at the next retry */
    LOG("b served after the fault");
    yc_task_cancel(srv, NULL);
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("server cancelled");
    } YC_END;
    yc_task_unref(srv);
    yc_stream_free(a);
    yc_stream_free(b);
    return YC_NONE;
}

TEST(serve_survives_emfile)
{
    int before = count_fds();
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    CHECK(lfd >= 0);
    yc__stream_accept_retry_delay(0.05);
    yc_set_unraisable_hook(hook, NULL);
    log_clear();
    run(emfile_main);
    yc_set_unraisable_hook(NULL, NULL);
    yc__stream_accept_retry_delay(-1);
    CHECK_LOG_IS("EMFILE: a served meanwhile, accept tried once per delay|b served after the fault|"
                 "server cancelled");
    CHECK_STR(report_text,
              "socket.accept() out of system resource / OSError: [Errno 24] Too many open files");
    yc_io_close(lfd);
    CHECK_EQ_INT(count_fds(), before);
}

/* ---- a handler that returns with bytes unsent: they still go out ------- */

static char mib[1 << 20];

static void write_and_return(yc_stream *s, void *arg)
{
    (void)arg;
    yc_stream_write(s, mib, sizeof mib); /* far more than the socket takes */
}

static yc_val unsent_main(void *arg)
{
    (void)arg;
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    if (lfd < 0) YC_CHECK(-1);
    serve_handler = write_and_return;
    yc_task *srv = yc_task_spawn(serve_task, NULL, NULL);
    int fd = yc_io_connect_tcp("127.0.0.1", yc_io_local_port(lfd));
    static char buf[65536];
    size_t total = 0, n;
    bool same = true;
    while ((n = yc_io_read(fd, buf, sizeof buf)) > 0) {
        same &= memcmp(buf, mib + total, n) == 0;
        total += n;
    }
    LOG("client got %zu bytes%s, then eof", total, same ? " intact" : " corrupt");
    yc_io_close(fd);
    yc_task_cancel(srv, NULL);
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(srv);
    yc_io_close(lfd);
    serve_handler = echo_lines;
    return YC_NONE;
}

TEST(serve_sends_what_a_handler_left)
{
    for (size_t i = 0; i < sizeof mib; i++) mib[i] = (char)(i * 13 + 1);
    int before = count_fds();
    log_clear();
    run(unsent_main);
    CHECK_LOG_IS("client got 1048576 bytes intact, then eof");
    CHECK_EQ_INT(count_fds(), before);
}

/* ---- water marks ------------------------------------------------------------ */

static size_t total_written, total_read;
static int reader_ran;

static unsigned char pat(size_t i) { return (unsigned char)(i * 7 % 251); }

/* Reads sv[1] in 1 KiB pieces, checking the pattern, until EOF. */
static yc_val slow_reader(void *arg)
{
    (void)arg;
    unsigned char buf[1024];
    size_t n;
    bool ok = true;
    while ((n = yc_io_read(sv[1], buf, sizeof buf)) > 0) {
        reader_ran = 1;
        for (size_t i = 0; i < n; i++) ok &= buf[i] == pat(total_read + i);
        total_read += n;
        yc_sleep(0);
    }
    LOG("reader: %s", ok && total_read == total_written ? "every byte, in order" : "wrong bytes");
    return YC_NONE;
}

static void write_pattern(yc_stream *w, size_t n)
{
    unsigned char buf[8192];
    while (n) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        for (size_t i = 0; i < k; i++) buf[i] = pat(total_written + i);
        CHECK_ST(yc_stream_write(w, buf, k), YC_OK);
        total_written += k;
        n -= k;
    }
}

static yc_val marks_main(void *arg)
{
    (void)arg;
    yc_stream *w = yc_stream_new(sv[0], 0);
    sv[0] = -1;
    CHECK_ST(yc_stream_set_write_buffer_limits(w, 10, 20), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: high (10) must be >= low (20) must be >= 0");
    CHECK_ST(yc_stream_set_write_buffer_limits(w, -5, -1), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: high (-5) must be >= low (-2) must be >= 0");
    CHECK_ST(yc_stream_set_write_buffer_limits(w, -1, -3), YC_EINVAL); /* high -12 */
    CHECK_EXC(&yc_ValueError, "ValueError: high (-12) must be >= low (-3) must be >= 0");
    CHECK_ST(yc_stream_set_write_buffer_limits(w, -1, -1), YC_OK);
    CHECK_ST(yc_stream_set_write_buffer_limits(w, 4096, -1), YC_OK); /* low 1024 */
    /* fill the socket: what does not fit stays buffered */
    for (int i = 0; i < 1000 && !yc_stream_buffered(w); i++) write_pattern(w, 512);
    CHECK(yc_stream_buffered(w) > 0 && yc_stream_buffered(w) <= 4096);
    /* at or under the high mark: drain returns without waiting */
    yc_task *r = yc_task_spawn(slow_reader, NULL, NULL);
    yc_stream_drain(w);
    LOG("under high: drain %s", reader_ran ? "waited" : "did not wait");
    /* over it: paused, drain waits until the loop is down to low */
    write_pattern(w, 8192);
    CHECK(yc_stream_buffered(w) > 4096);
    yc_stream_drain(w);
    LOG("over high: drain %s, then %s", reader_ran ? "waited" : "did not wait",
        yc_stream_buffered(w) <= 1024 ? "at most low left" : "above low");
    /* no drain: the loop sends the rest with no task writing */
    write_pattern(w, 3000);
    for (int i = 0; i < 5000 && yc_stream_buffered(w); i++) yc_sleep(0.001);
    LOG("the loop flushed: %zu left", yc_stream_buffered(w));
    yc_stream_wait_closed(w);
    yc_await(r);
    yc_task_unref(r);
    CHECK_ST(yc_stream_free(w), YC_OK);
    return YC_NONE;
}

TEST(write_buffer_water_marks)
{
    total_written = total_read = 0;
    reader_ran = 0;
    run_pair(marks_main);
    CHECK_LOG_IS("under high: drain did not wait|over high: drain waited, then at most low left|"
                 "the loop flushed: 0 left|reader: every byte, in order");
    CHECK_ST(yc_stream_set_write_buffer_limits(NULL, 1, 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: stream is NULL");
}

/* ---- a writer whose peer is gone: 12.54's "Connection lost" --------------- */

static yc_stream *lw;

static yc_val parked_drain(void *arg)
{
    (void)arg;
    LOG_EXC("parked drain", yc_stream_drain(lw));
    return YC_NONE;
}

static yc_val lost_main(void *arg)
{
    (void)arg;
    /* the peer gone before the write */
    yc_stream *w = yc_stream_new(sv[0], 0);
    sv[0] = -1;
    close(sv[1]);
    sv[1] = -1;
    CHECK_ST(yc_stream_write(w, "x", 1), YC_OK); /* fails in the send: kept quiet */
    LOG_EXC("first drain", yc_stream_drain(w));
    LOG_EXC("second drain [12.54]", yc_stream_drain(w));
    CHECK_ST(yc_stream_write(w, "more", 4), YC_OK); /* dropped */
    CHECK_EQ_INT(yc_stream_buffered(w), 0);
    LOG_EXC("drain after a write [12.54]", yc_stream_drain(w));
    LOG_EXC("wait_closed", yc_stream_wait_closed(w));
    CHECK_ST(yc_stream_free(w), YC_OK);
    /* the peer going while a drain waits */
    int p[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p) == 0);
    lw = yc_stream_new(p[0], 0);
    char big[8192];
    memset(big, 'z', sizeof big);
    while (yc_stream_buffered(lw) <= 65536) CHECK_ST(yc_stream_write(lw, big, sizeof big), YC_OK);
    yc_task *d = yc_task_spawn(parked_drain, NULL, NULL);
    yc_sleep(0.001);
    close(p[1]);
    YC_WITH(yc_cm_timeout(10), tm) {
        yc_await(d);
    } YC_END_WITH;
    yc_task_unref(d);
    LOG_EXC("drain after [12.54]", yc_stream_drain(lw));
    CHECK_ST(yc_stream_free(lw), YC_OK);
    return YC_NONE;
}

TEST(connection_lost_12_54)
{
    run_pair(lost_main);
    CHECK_LOG_IS("first drain: BrokenPipeError: [Errno 32] Broken pipe|"
                 "second drain [12.54]: ConnectionResetError: Connection lost|"
                 "drain after a write [12.54]: ConnectionResetError: Connection lost|"
                 "wait_closed: BrokenPipeError: [Errno 32] Broken pipe|"
                 "parked drain: BrokenPipeError: [Errno 32] Broken pipe|"
                 "drain after [12.54]: ConnectionResetError: Connection lost");
}

TEST_MAIN()
