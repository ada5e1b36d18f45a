/*
 * Peers that misbehave, against a yc_stream_serve line server with an idle
 * timeout per line: one that connects and sends nothing (dropped at the
 * timeout), one that sends a byte at a time slowly (served), one that
 * closes half-way through the server's write (the server's drain raises,
 * the handler ends), one that resets (SO_LINGER 0: ConnectionResetError in
 * the handler), and a 1 GiB line to a readline with a 64 KiB limit
 * (ValueError with LimitOverrunError's message per overrun, in constant
 * memory; the bytes are generated, never held). Meanwhile a well-behaved
 * client completes an exchange each time: the server stays responsive.
 * YC_PEERS_BIG_MB sets the long line's size (default 1024; 64 under
 * Valgrind, and in the cross-built legs run under qemu, which set it). Descriptors are counted before and after.
 */
#include "loop_util.h"

#if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
#else
#  define RUNNING_ON_VALGRIND 0
#endif

#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define IDLE 1.0 /* the server's idle timeout per line */

static int lfd, port;
static int handlers_done;

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* ---- the server -------------------------------------------------------------- */

static long overruns;

/* Echoes lines, except those starting with 'x' (a long line's end);
 * "big?\n" answers 8 MiB; "count?\n" answers the overruns seen. Each
 * readline must come within IDLE seconds. */
static void handler(yc_stream *s, void *arg)
{
    (void)arg;
    YC_TRY {
        for (;;) {
            size_t n = 0; /* set in the YC_TRY through a pointer only */
            const char *volatile p = NULL;
            volatile bool overrun = false;
            YC_TRY {
                YC_WITH(yc_cm_timeout(IDLE), tm) {
                    p = yc_stream_readline(s, &n);
                } YC_END_WITH;
            } YC_EXCEPT(&yc_ValueError) {
                overruns++; /* LimitOverrunError's message: the line dropped */
                overrun = true;
            } YC_END;
            if (overrun) continue;
            if (!n) break;
            if (n == 5 && !memcmp(p, "big?\n", 5)) {
                static char chunk[65536];
                memset(chunk, 'B', sizeof chunk);
                for (int i = 0; i < 128; i++) {
                    yc_stream_write(s, chunk, sizeof chunk);
                    yc_stream_drain(s);
                }
            } else if (n == 7 && !memcmp(p, "count?\n", 7)) {
                char out[64];
                int k = snprintf(out, sizeof out, "%ld\n", overruns);
                yc_stream_write(s, out, (size_t)k);
                yc_stream_drain(s);
            } else if (p[0] == 'x' || (n == 1 && p[0] == '\n')) {
                /* the end of a long line that fitted: not echoed. It is
                 * just "\n" when the last overrun dropped the buffer right
                 * before the newline (reads that end at the writer's 64 KiB
                 * boundaries do that: io_uring's often do) */
            } else {
                yc_stream_write(s, p, n);
                yc_stream_drain(s);
            }
        }
        LOG("handler: peer done");
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("handler: idle, dropped");
    } YC_EXCEPT(&yc_OSError) {
        yc_exc *e = yc_exc_current();
        int err = yc_exc_errno(e);
        if (err == EPIPE || err == ECONNRESET) LOG("handler: peer gone (%s)", yc_exc_is(e, &yc_ConnectionResetError) && err == ECONNRESET ? "reset" : "pipe");
        else log_exc("handler", e);
    } YC_END;
    handlers_done++;
}

static yc_val serve_task(void *arg)
{
    (void)arg;
    yc_stream_serve(lfd, handler, NULL);
    return YC_NONE;
}

/* A well-behaved client: one line there and back. */
static void good_client(const char *tag)
{
    yc_stream *c = yc_stream_open_connection("127.0.0.1", port);
    size_t n;
    yc_stream_write(c, "ping\n", 5);
    yc_stream_drain(c);
    const char *p = yc_stream_readline(c, &n);
    LOG("good client during %s: %s", tag, n == 5 && !memcmp(p, "ping\n", 5) ? "served" : "wrong");
    yc_stream_free(c);
}

static yc_task *server;

static void start(void) { server = yc_task_spawn(serve_task, NULL, NULL); }

static void stop(void)
{
    yc_task_cancel(server, NULL);
    YC_TRY {
        yc_await(server);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(server);
}

/* Runs fn with the server; no descriptor left open after. */
static void run_with_server(yc_gen_fn fn)
{
    int before = count_fds();
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 64);
    CHECK(lfd >= 0);
    port = yc_io_local_port(lfd);
    handlers_done = 0;
    log_clear();
    RUN_MAIN(fn, NULL);
    yc_io_close(lfd);
    CHECK_EQ_INT(count_fds(), before);
}

/* ---- silent, slow ----------------------------------------------------------------- */

static yc_val silent_main(void *arg)
{
    (void)arg;
    start();
    int fd = yc_io_connect_tcp("127.0.0.1", port);
    good_client("a silent peer");
    char c;
    size_t n = yc_io_read(fd, &c, 1); /* the server drops it at its timeout */
    LOG("silent peer: %s", n ? "got bytes" : "dropped (eof)");
    yc_io_close(fd);
    stop();
    return YC_NONE;
}

TEST(silent_peer_dropped)
{
    run_with_server(silent_main);
    CHECK_LOG_IS("good client during a silent peer: served|handler: peer done|"
                 "handler: idle, dropped|silent peer: dropped (eof)");
}

static yc_val slow_main(void *arg)
{
    (void)arg;
    start();
    int fd = yc_io_connect_tcp("127.0.0.1", port);
    const char *line = "slow line\n";
    for (size_t i = 0; line[i]; i++) {
        yc_io_write_all(fd, line + i, 1);
        if (i == 4) good_client("a slow peer");
        yc_sleep(0.01);
    }
    char buf[32];
    size_t got = 0;
    while (got < strlen(line)) got += yc_io_read(fd, buf + got, sizeof buf - got);
    LOG("slow peer: %.*s", (int)got - 1, buf);
    yc_io_close(fd);
    stop();
    return YC_NONE;
}

TEST(slow_peer_served)
{
    run_with_server(slow_main);
    CHECK_LOG_IS("good client during a slow peer: served|handler: peer done|slow peer: slow line");
}

/* ---- closing half-way through a write, resetting ------------------------------ */

static yc_val halfway_main(void *arg)
{
    (void)arg;
    start();
    int fd = yc_io_connect_tcp("127.0.0.1", port);
    yc_io_write_all(fd, "big?\n", 5);
    char buf[4096];
    size_t got = 0;
    while (got < 100000) got += yc_io_read(fd, buf, sizeof buf);
    yc_io_close(fd); /* unread bytes: the kernel resets the connection */
    good_client("a write to a peer gone");
    for (int i = 0; i < 5000 && handlers_done < 2; i++) yc_sleep(0.001);
    stop();
    return YC_NONE;
}

TEST(peer_closes_halfway_through_a_write)
{
    run_with_server(halfway_main);
    /* the good client's handler ends first or second */
    CHECK(strstr(loop_log, "good client during a write to a peer gone: served") != NULL);
    CHECK(strstr(loop_log, "handler: peer gone (") != NULL);
    CHECK_EQ_INT(handlers_done, 2);
}

static yc_val reset_main(void *arg)
{
    (void)arg;
    start();
    int fd = yc_io_connect_tcp("127.0.0.1", port);
    yc_io_write_all(fd, "partial", 7);
    yc_sleep(0.01);
    struct linger lg = {1, 0};
    CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0);
    yc_io_close(fd); /* RST */
    good_client("a reset");
    for (int i = 0; i < 5000 && handlers_done < 2; i++) yc_sleep(0.001);
    stop();
    return YC_NONE;
}

TEST(peer_resets)
{
    run_with_server(reset_main);
    CHECK(strstr(loop_log, "handler: peer gone (reset)") != NULL);
    CHECK(strstr(loop_log, "good client during a reset: served") != NULL);
    CHECK_EQ_INT(handlers_done, 2);
}

/* ---- a 1 GiB line ---------------------------------------------------------------- */

static long long big_bytes, sent;
static bool good_done_midway;

static yc_val big_writer(void *arg)
{
    int fd = (int)(intptr_t)arg;
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    while (sent < big_bytes) {
        long long k = big_bytes - sent < (long long)sizeof chunk ? big_bytes - sent : (long long)sizeof chunk;
        yc_io_write_all(fd, chunk, (size_t)k);
        sent += k;
    }
    yc_io_write_all(fd, "\ncount?\n", 8);
    return YC_NONE;
}

static yc_val big_main(void *arg)
{
    (void)arg;
    start();
    long rss0 = rss_kib();
    int fd = yc_io_connect_tcp("127.0.0.1", port);
    yc_task *w = yc_task_spawn(big_writer, (void *)(intptr_t)fd, NULL);
    while (sent < big_bytes / 4) yc_sleep(0.001);
    good_client("a long line");
    good_done_midway = sent < big_bytes;
    yc_await(w);
    yc_task_unref(w);
    /* the count comes back (the line's tail is not echoed) */
    char buf[4096];
    int newlines = 0;
    long reported = 0;
    while (newlines < 1) {
        size_t n = yc_io_read(fd, buf, sizeof buf);
        if (!n) break;
        for (size_t i = 0; i < n && newlines < 1; i++) {
            if (buf[i] == '\n') newlines++;
            else reported = reported * 10 + (buf[i] - '0');
        }
    }
    long rss1 = rss_kib();
    LOG("long line: overruns %s, memory %s",
        reported >= big_bytes / (2 * 65536 + 65536) ? "counted" : "too few",
        rss1 - rss0 < 32 * 1024 ? "constant" : "grew");
    yc_io_close(fd);
    for (int i = 0; i < 5000 && handlers_done < 2; i++) yc_sleep(0.001);
    stop();
    return YC_NONE;
}

TEST(long_line_limit_overrun)
{
    const char *mb = getenv("YC_PEERS_BIG_MB");
    big_bytes = (long long)(mb ? atol(mb) : RUNNING_ON_VALGRIND ? 64 : 1024) << 20;
    sent = 0;
    overruns = 0;
    run_with_server(big_main);
    CHECK(good_done_midway);
    CHECK(overruns >= big_bytes / (3 * 65536));
    CHECK_STR(loop_log, "good client during a long line: served|handler: peer done|"
                        "long line: overruns counted, memory constant|handler: peer done");
}

TEST_MAIN()
