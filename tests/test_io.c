/*
 * I/O for tasks (include/yieldc/io.h): socketpairs, pipes, TCP over IPv4
 * and IPv6, Unix sockets and UDP; a write_all that suspends on a full
 * buffer and resumes; cancellation while waiting (nothing written after);
 * yc_io_close waking waiters; timeouts; peer resets and broken pipes; the
 * errno -> exception table of python-semantics.md 12.56; the misuse rows
 * of docs/misuse.md. Every test counts the open descriptors before and
 * after (IO_TEST): nothing leaks.
 *
 * The loop runs on the monotonic clock, but no test measures time: a
 * timeout that must expire waits on a descriptor nobody writes.
 */
#include "loop_util.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define IO_TEST(name) FD_TEST(name, NULL)

/* Logs "what: Type: message" for the exception being handled. */
#define LOG_CURRENT(what) log_exc((what), yc_exc_current())

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
}

static void nb_pipe(int p[2]) { CHECK(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0); }

/* ---- 12.56: errno -> OSError subclass and message --------------------- */

/* The expected strings are CPython 3.11's, printed on this machine by
 *   python3 -c 'import errno,os; e=errno.X; x=OSError(e, os.strerror(e));
 *               print(type(x).__name__ + ": " + str(x))'
 * (and OSError(2, os.strerror(2), "x") for the file name form). */
static const struct {
    int err;
    const yc_exc_type *type;
    const char *text;
} errno_rows[] = {
    {ECONNRESET, &yc_ConnectionResetError, "ConnectionResetError: [Errno 104] Connection reset by peer"},
    {EPIPE, &yc_BrokenPipeError, "BrokenPipeError: [Errno 32] Broken pipe"},
    {ESHUTDOWN, &yc_BrokenPipeError,
     "BrokenPipeError: [Errno 108] Cannot send after transport endpoint shutdown"},
    {ECONNREFUSED, &yc_ConnectionRefusedError, "ConnectionRefusedError: [Errno 111] Connection refused"},
    {ECONNABORTED, &yc_ConnectionAbortedError,
     "ConnectionAbortedError: [Errno 103] Software caused connection abort"},
    {EAGAIN, &yc_BlockingIOError, "BlockingIOError: [Errno 11] Resource temporarily unavailable"},
    {EWOULDBLOCK, &yc_BlockingIOError, "BlockingIOError: [Errno 11] Resource temporarily unavailable"},
    {EINPROGRESS, &yc_BlockingIOError, "BlockingIOError: [Errno 115] Operation now in progress"},
    {EALREADY, &yc_BlockingIOError, "BlockingIOError: [Errno 114] Operation already in progress"},
    {EINTR, &yc_InterruptedError, "InterruptedError: [Errno 4] Interrupted system call"},
    {ETIMEDOUT, &yc_TimeoutError, "TimeoutError: [Errno 110] Connection timed out"},
    {EACCES, &yc_PermissionError, "PermissionError: [Errno 13] Permission denied"},
    {EPERM, &yc_PermissionError, "PermissionError: [Errno 1] Operation not permitted"},
    {EEXIST, &yc_FileExistsError, "FileExistsError: [Errno 17] File exists"},
    {ENOENT, &yc_FileNotFoundError, "FileNotFoundError: [Errno 2] No such file or directory"},
    {EISDIR, &yc_IsADirectoryError, "IsADirectoryError: [Errno 21] Is a directory"},
    {ENOTDIR, &yc_NotADirectoryError, "NotADirectoryError: [Errno 20] Not a directory"},
    {ECHILD, &yc_ChildProcessError, "ChildProcessError: [Errno 10] No child processes"},
    {ESRCH, &yc_ProcessLookupError, "ProcessLookupError: [Errno 3] No such process"},
    {EBADF, &yc_OSError, "OSError: [Errno 9] Bad file descriptor"},
};

TEST(errno_picks_cpython_subclass_12_56)
{
    for (size_t i = 0; i < sizeof errno_rows / sizeof *errno_rows; i++) {
        yc_exc *e = yc_exc_new_errno(&yc_OSError, errno_rows[i].err, NULL);
        char buf[200];
        yc_exc_format(e, buf, sizeof buf);
        if (yc_exc_type_of(e) != errno_rows[i].type || strcmp(buf, errno_rows[i].text) != 0)
            test_fail(__FILE__, __LINE__, "[12.56] errno %d: got \"%s\", want \"%s\"",
                      errno_rows[i].err, buf, errno_rows[i].text);
        CHECK_EQ_INT(yc_exc_errno(e), errno_rows[i].err);
        CHECK(yc_exc_is(e, &yc_OSError));
        yc_exc_unref(e);
    }
    /* with a file name, as CPython's OSError(2, os.strerror(2), 'x') */
    yc_exc *e = yc_exc_new_errno(&yc_OSError, ENOENT, "'%s'", "x");
    char buf[200];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "FileNotFoundError: [Errno 2] No such file or directory: 'x'");
    yc_exc_unref(e);
    /* a subclass given stays as given */
    e = yc_exc_new_errno(&yc_ConnectionError, ECONNRESET, NULL);
    CHECK(yc_exc_type_of(e) == &yc_ConnectionError);
    yc_exc_unref(e);
}

/* ---- socketpairs and pipes ---------------------------------------------- */

static int sv[2];

static yc_val pong(void *arg)
{
    (void)arg;
    char buf[64];
    size_t n;
    while ((n = yc_io_read(sv[1], buf, sizeof buf)) > 0) {
        LOG("pong got %.*s", (int)n, buf);
        yc_io_write_all(sv[1], buf, n);
    }
    LOG("pong eof");
    shutdown(sv[1], SHUT_WR);
    return YC_NONE;
}

static yc_val ping_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(pong, NULL, NULL);
    char buf[64];
    for (int i = 0; i < 3; i++) {
        char msg[8];
        int k = snprintf(msg, sizeof msg, "m%d", i);
        CHECK_EQ_INT(yc_io_write(sv[0], msg, (size_t)k), k);
        size_t n = yc_io_read(sv[0], buf, sizeof buf); /* waits: pong has not run */
        LOG("ping got %.*s", (int)n, buf);
    }
    shutdown(sv[0], SHUT_WR);
    yc_await(t);
    yc_task_unref(t);
    CHECK_EQ_INT(yc_io_read(sv[0], buf, sizeof buf), 0);
    return YC_NONE;
}

IO_TEST(socketpair_ping_pong)
{
    pair(sv);
    RUN_MAIN(ping_main, NULL);
    CHECK_LOG_IS("pong got m0|ping got m0|pong got m1|ping got m1|pong got m2|ping got m2|pong eof");
    CHECK_ST(yc_io_close(sv[0]), YC_OK);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
}

static int pp[2];

static yc_val pipe_reader(void *arg)
{
    (void)arg;
    char buf[16];
    size_t n, total = 0;
    while ((n = yc_io_read(pp[0], buf, sizeof buf)) > 0) total += n;
    LOG("read %zu then eof", total);
    return YC_NONE;
}

static yc_val pipe_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(pipe_reader, NULL, NULL);
    yc_sleep(0); /* the reader waits first */
    yc_io_write_all(pp[1], "0123456789abcdefXYZ", 19);
    yc_io_close(pp[1]);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(pipe_read_until_eof)
{
    nb_pipe(pp);
    RUN_MAIN(pipe_main, NULL);
    CHECK_LOG_IS("read 19 then eof");
    CHECK_ST(yc_io_close(pp[0]), YC_OK);
}

/* EPIPE on a pipe: BrokenPipeError, and SIGPIPE (default: terminate) does
 * not kill the process. */
static yc_val epipe_main(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_io_write(pp[1], "x", 1);
    } YC_EXCEPT(&yc_OSError) {
        LOG_CURRENT("pipe");
    } YC_END;
    YC_TRY {
        yc_io_write(sv[0], "x", 1);
    } YC_EXCEPT(&yc_OSError) {
        LOG_CURRENT("socket");
    } YC_END;
    return YC_NONE;
}

IO_TEST(broken_pipe_without_sigpipe)
{
    struct sigaction old, dfl = {.sa_handler = SIG_DFL};
    sigaction(SIGPIPE, &dfl, &old);
    nb_pipe(pp);
    close(pp[0]);
    pair(sv);
    close(sv[1]);
    RUN_MAIN(epipe_main, NULL);
    CHECK_LOG_IS("pipe: BrokenPipeError: [Errno 32] Broken pipe|"
                 "socket: BrokenPipeError: [Errno 32] Broken pipe");
    sigset_t pend;
    sigpending(&pend);
    CHECK(!sigismember(&pend, SIGPIPE)); /* taken back, not left pending */
    close(pp[1]);
    close(sv[0]);
    sigaction(SIGPIPE, &old, NULL);
}

static yc_val vec_main(void *arg)
{
    (void)arg;
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cde", 3}};
    CHECK_EQ_INT(yc_io_writev(sv[0], out, 3), 5);
    char a[1], b[10];
    struct iovec in[2] = {{a, 1}, {b, sizeof b}};
    CHECK_EQ_INT(yc_io_readv(sv[1], in, 2), 5);
    CHECK(a[0] == 'a' && memcmp(b, "bcde", 4) == 0);
    /* readv waits like read */
    yc_io_wait_writable(sv[0]);
    LOG("writable");
    return YC_NONE;
}

IO_TEST(readv_writev)
{
    pair(sv);
    RUN_MAIN(vec_main, NULL);
    CHECK_LOG_IS("writable");
    close(sv[0]);
    close(sv[1]);
}

static yc_val wait_reader(void *arg)
{
    (void)arg;
    yc_io_wait_readable(sv[1]);
    LOG("readable");
    char c;
    CHECK_EQ_INT(yc_io_read(sv[1], &c, 1), 1);
    return YC_NONE;
}

static yc_val wait_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(wait_reader, NULL, NULL);
    yc_sleep(0);
    yc_sleep(0);
    LOG("write");
    yc_io_write(sv[0], "z", 1);
    yc_await(t);
    yc_task_unref(t);
    /* data already there: a wait returns at once, though its edge was seen */
    yc_io_write(sv[0], "y", 1);
    yc_sleep(0.001);
    yc_io_wait_readable(sv[1]);
    LOG("ready at once");
    return YC_NONE;
}

IO_TEST(wait_readable)
{
    pair(sv);
    RUN_MAIN(wait_main, NULL);
    CHECK_LOG_IS("write|readable|ready at once");
    close(sv[0]);
    close(sv[1]);
}

/* ---- TCP, Unix, UDP ---------------------------------------------------- */

static const char *tcp_ip;
static int lfd;

static yc_val echo_conn(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char buf[256];
    size_t n;
    YC_TRY {
        while ((n = yc_io_read(fd, buf, sizeof buf)) > 0) yc_io_write_all(fd, buf, n);
    } YC_FINALLY {
        yc_io_close(fd);
    } YC_END;
    return YC_NONE;
}

static yc_val server_once(void *arg)
{
    (void)arg;
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    int fd = yc_io_accept(lfd, (struct sockaddr *)&peer, &len);
    LOG("accepted family %s", peer.ss_family == AF_INET    ? "inet"
                              : peer.ss_family == AF_INET6 ? "inet6"
                                                           : "unix");
    echo_conn((void *)(intptr_t)fd);
    return YC_NONE;
}

static const char *unix_path;

static yc_val client_main(void *arg)
{
    (void)arg;
    yc_task *srv = yc_task_spawn(server_once, NULL, NULL);
    int fd = unix_path ? yc_io_connect_unix(unix_path)
                       : yc_io_connect_tcp(tcp_ip, yc_io_local_port(lfd));
    YC_TRY {
        static char big[200000];
        for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
        static char back[sizeof big];
        yc_task *w = NULL;
        yc_io_write_all(fd, "hello", 5);
        char buf[5];
        size_t got = 0;
        while (got < 5) got += yc_io_read(fd, buf + got, 5 - got);
        LOG("echo %.5s", buf);
        /* more than the socket buffers hold: write_all suspends while the
         * server echoes, so this task reads in between */
        (void)w;
        size_t sent = 0, recvd = 0;
        while (recvd < sizeof big) {
            if (sent < sizeof big) {
                size_t k = sizeof big - sent < 65536 ? sizeof big - sent : 65536;
                yc_io_write_all(fd, big + sent, k);
                sent += k;
            }
            recvd += yc_io_read(fd, back + recvd, sizeof back - recvd);
        }
        CHECK(memcmp(big, back, sizeof big) == 0);
        LOG("200000 bytes echoed");
    } YC_FINALLY {
        yc_io_close(fd);
    } YC_END;
    yc_await(srv);
    yc_task_unref(srv);
    return YC_NONE;
}

IO_TEST(tcp_ipv4_echo)
{
    tcp_ip = "127.0.0.1";
    unix_path = NULL;
    lfd = yc_io_listen_tcp(tcp_ip, 0, 16);
    CHECK(lfd >= 0);
    CHECK(yc_io_local_port(lfd) > 0);
    RUN_MAIN(client_main, NULL);
    CHECK_LOG_IS("accepted family inet|echo hello|200000 bytes echoed");
    yc_io_close(lfd);
}

IO_TEST(tcp_ipv6_echo)
{
    tcp_ip = "::1";
    unix_path = NULL;
    lfd = yc_io_listen_tcp(tcp_ip, 0, 16);
    if (lfd < 0) {
        char buf[200];
        yc_exc *e = yc_err_take();
        yc_exc_format(e, buf, sizeof buf);
        yc_exc_unref(e);
        printf("skip tcp_ipv6_echo: no IPv6 loopback here (%s)\n", buf);
        return;
    }
    RUN_MAIN(client_main, NULL);
    CHECK_LOG_IS("accepted family inet6|echo hello|200000 bytes echoed");
    yc_io_close(lfd);
}

IO_TEST(unix_socket_echo)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/yc_test_io_%d.sock", (int)getpid());
    unlink(path);
    unix_path = path;
    lfd = yc_io_listen_unix(path, 16);
    CHECK(lfd >= 0);
    RUN_MAIN(client_main, NULL);
    CHECK_LOG_IS("accepted family unix|echo hello|200000 bytes echoed");
    yc_io_close(lfd);
    unlink(path);
    unix_path = NULL;
}

static int u1, u2;

static yc_val udp_peer(void *arg)
{
    (void)arg;
    char buf[64];
    struct sockaddr_storage from;
    socklen_t len = sizeof from;
    size_t n = yc_io_recvfrom(u2, buf, sizeof buf, (struct sockaddr *)&from, &len);
    LOG("u2 got %.*s", (int)n, buf);
    yc_io_sendto(u2, "pong", 4, (struct sockaddr *)&from, len);
    return YC_NONE;
}

static yc_val udp_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(udp_peer, NULL, NULL);
    yc_sleep(0); /* the peer waits first */
    struct sockaddr_storage to;
    socklen_t len;
    CHECK_ST(yc_io_sockaddr("127.0.0.1", yc_io_local_port(u2), &to, &len), YC_OK);
    CHECK_EQ_INT(yc_io_sendto(u1, "ping", 4, (struct sockaddr *)&to, len), 4);
    char buf[64];
    size_t n = yc_io_recvfrom(u1, buf, sizeof buf, NULL, NULL);
    LOG("u1 got %.*s", (int)n, buf);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(udp_sendto_recvfrom)
{
    u1 = yc_io_udp_bind("127.0.0.1", 0);
    u2 = yc_io_udp_bind("127.0.0.1", 0);
    CHECK(u1 >= 0 && u2 >= 0);
    RUN_MAIN(udp_main, NULL);
    CHECK_LOG_IS("u2 got ping|u1 got pong");
    yc_io_close(u1);
    yc_io_close(u2);
}

static yc_val refused_main(void *arg)
{
    int port = *(int *)arg;
    YC_TRY {
        int fd = yc_io_connect_tcp("127.0.0.1", port);
        yc_io_close(fd);
        LOG("connected?");
    } YC_EXCEPT(&yc_OSError) {
        LOG_CURRENT("connect");
    } YC_END;
    return YC_NONE;
}

IO_TEST(connect_refused)
{
    static int port;
    int fd = yc_io_listen_tcp("127.0.0.1", 0, 1);
    CHECK(fd >= 0);
    port = yc_io_local_port(fd);
    close(fd); /* nobody listens there now */
    RUN_MAIN(refused_main, &port);
    CHECK_LOG_IS("connect: ConnectionRefusedError: [Errno 111] Connection refused");
}

/* A peer that resets: SO_LINGER 0, then close. */
static yc_val reset_main(void *arg)
{
    (void)arg;
    int c = yc_io_connect_tcp("127.0.0.1", yc_io_local_port(lfd));
    int s = yc_io_accept(lfd, NULL, NULL);
    struct linger lg = {1, 0};
    setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    yc_io_close(s);
    YC_TRY {
        char buf[8];
        yc_io_read(c, buf, sizeof buf);
        LOG("read?");
    } YC_EXCEPT(&yc_ConnectionError) {
        LOG_CURRENT("read");
    } YC_FINALLY {
        yc_io_close(c);
    } YC_END;
    return YC_NONE;
}

IO_TEST(peer_reset)
{
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 4);
    CHECK(lfd >= 0);
    RUN_MAIN(reset_main, NULL);
    CHECK_LOG_IS("read: ConnectionResetError: [Errno 104] Connection reset by peer");
    yc_io_close(lfd);
}

/* ---- a full buffer: write_all suspends and resumes ------------------------- */

static size_t fill(int fd)
{
    static char junk[65536];
    size_t total = 0;
    ssize_t k;
    while ((k = send(fd, junk, sizeof junk, MSG_NOSIGNAL)) > 0) total += (size_t)k;
    CHECK(errno == EAGAIN);
    return total;
}

static size_t filled;
static char pattern[300000];

static yc_val slow_drain(void *arg)
{
    (void)arg;
    static char buf[4096];
    size_t total = 0, want = filled + sizeof pattern;
    int reads = 0;
    while (total < want) {
        size_t n = yc_io_read(sv[1], buf, sizeof buf);
        if (total + n > filled) { /* the pattern part: check its bytes */
            size_t from = total > filled ? total - filled : 0, skip = total > filled ? 0 : filled - total;
            CHECK(memcmp(buf + skip, pattern + from, n - skip) == 0);
        }
        total += n;
        reads++;
        if (reads % 16 == 0) yc_sleep(0);
    }
    LOG("drained %s", total == want ? "all" : "wrong count");
    return YC_NONE;
}

static yc_val write_all_main(void *arg)
{
    (void)arg;
    filled = fill(sv[0]);
    for (size_t i = 0; i < sizeof pattern; i++) pattern[i] = (char)(i % 251);
    yc_task *t = yc_task_spawn(slow_drain, NULL, NULL);
    yc_io_write_all(sv[0], pattern, sizeof pattern); /* full: suspends, resumes */
    LOG("written");
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(write_all_full_buffer)
{
    pair(sv);
    RUN_MAIN(write_all_main, NULL);
    CHECK_LOG_IS("written|drained all");
    close(sv[0]);
    close(sv[1]);
}

/* ---- cancellation, close, timeouts, a second reader -------------------------- */

static yc_val blocked_reader(void *arg)
{
    (void)arg;
    char buf[8];
    YC_TRY {
        yc_io_read(sv[1], buf, sizeof buf);
        LOG("read?");
    } YC_EXCEPT_ANY {
        LOG_CURRENT("reader");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val cancel_read_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(blocked_reader, NULL, NULL);
    yc_sleep(0);
    yc_task_cancel(t, "stop");
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("awaited: cancelled");
    } YC_END;
    yc_task_unref(t);
    /* the descriptor has no reader left: another task may read it */
    yc_io_write(sv[0], "k", 1);
    char c;
    CHECK_EQ_INT(yc_io_read(sv[1], &c, 1), 1);
    LOG("read again");
    return YC_NONE;
}

IO_TEST(cancel_while_reading)
{
    pair(sv);
    RUN_MAIN(cancel_read_main, NULL);
    CHECK_LOG_IS("reader: CancelledError: stop|awaited: cancelled|read again");
    close(sv[0]);
    close(sv[1]);
}

static char victim[100000];

static yc_val blocked_writer(void *arg)
{
    (void)arg;
    yc_io_write_all(sv[0], victim, sizeof victim);
    LOG("written?");
    return YC_NONE;
}

static yc_val cancel_write_main(void *arg)
{
    (void)arg;
    filled = fill(sv[0]);
    memset(victim, 'A', sizeof victim);
    yc_task *t = yc_task_spawn(blocked_writer, NULL, NULL);
    yc_sleep(0);
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("writer cancelled");
    } YC_END;
    yc_task_unref(t);
    memset(victim, 'B', sizeof victim); /* must never reach the peer */
    /* drain everything, giving the loop turns in between */
    static char buf[65536];
    size_t total = 0, as = 0, bs = 0;
    for (int idle = 0; idle < 3;) {
        ssize_t k = recv(sv[1], buf, sizeof buf, 0);
        if (k <= 0) {
            idle++;
            yc_sleep(0.001);
            continue;
        }
        for (ssize_t i = 0; i < k; i++) as += buf[i] == 'A', bs += buf[i] == 'B';
        total += (size_t)k;
    }
    LOG("drained filler %s, %s, no B", total - as - bs == filled ? "intact" : "wrong",
        as == 0 ? "no A" : "some A");
    CHECK_EQ_INT(bs, 0);
    return YC_NONE;
}

IO_TEST(cancel_write_all_writes_nothing_after)
{
    pair(sv);
    RUN_MAIN(cancel_write_main, NULL);
    /* the buffer was full when the writer was cancelled: none of it went */
    CHECK_LOG_IS("writer cancelled|drained filler intact, no A, no B");
    close(sv[0]);
    close(sv[1]);
}

static yc_val close_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(blocked_reader, NULL, NULL);
    yc_sleep(0);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
    LOG("closed");
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_OSError) {
        LOG("awaited: %s", yc_exc_msg(yc_exc_current()));
    } YC_END;
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(close_wakes_waiters)
{
    pair(sv);
    RUN_MAIN(close_main, NULL);
    CHECK_LOG_IS("closed|reader: OSError: [Errno 9] Bad file descriptor|"
                 "awaited: [Errno 9] Bad file descriptor");
    close(sv[0]);
}

static yc_val timeout_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.01), tm) {
            char buf[4];
            yc_io_read(sv[1], buf, sizeof buf);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG_CURRENT("timeout");
    } YC_END;
    /* nothing waits any more: the next read is served */
    yc_io_write(sv[0], "q", 1);
    char c;
    CHECK_EQ_INT(yc_io_read(sv[1], &c, 1), 1);
    return YC_NONE;
}

IO_TEST(timeout_around_read)
{
    pair(sv);
    RUN_MAIN(timeout_main, NULL);
    CHECK_LOG_IS("timeout: TimeoutError");
    close(sv[0]);
    close(sv[1]);
}

static yc_val second_reader_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(blocked_reader, NULL, NULL);
    yc_sleep(0);
    char buf[4];
    YC_TRY {
        yc_io_read(sv[1], buf, sizeof buf);
    } YC_EXCEPT(&yc_RuntimeError) {
        LOG_CURRENT("[12.54] second");
    } YC_END;
    YC_TRY {
        yc_io_wait_readable(sv[1]);
    } YC_EXCEPT(&yc_RuntimeError) {
        LOG_CURRENT("[12.54] wait");
    } YC_END;
    yc_io_write(sv[0], "1", 1);
    yc_await(t);
    yc_task_unref(t);
    /* the write side: a writer parked on a full buffer */
    filled = fill(sv[0]);
    t = yc_task_spawn(blocked_writer, NULL, NULL);
    yc_sleep(0);
    YC_TRY {
        yc_io_write(sv[0], "x", 1);
    } YC_EXCEPT(&yc_RuntimeError) {
        LOG_CURRENT("second writer");
    } YC_END;
    yc_task_cancel(t, NULL);
    YC_TRY {
        yc_await(t);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(second_reader_is_refused_12_54)
{
    pair(sv);
    RUN_MAIN(second_reader_main, NULL);
    CHECK_LOG_IS("[12.54] second: RuntimeError: yc_io_read() called while another coroutine is "
                 "already waiting for incoming data|"
                 "[12.54] wait: RuntimeError: yc_io_wait_readable() called while another "
                 "coroutine is already waiting for incoming data|read?|"
                 "second writer: RuntimeError: yc_io_write() called while another coroutine is "
                 "already waiting for the descriptor to be writable");
    close(sv[0]);
    close(sv[1]);
}

/* ---- misuse (docs/misuse.md) ------------------------------------------------ */

static yc_val misuse_main(void *arg)
{
    (void)arg;
    char buf[4];
#define MISUSE(what, expr)                                                    \
    YC_TRY {                                                                  \
        expr;                                                                 \
        LOG("%s: no error", what);                                            \
    } YC_EXCEPT(&yc_Exception) {                                              \
        LOG_CURRENT(what);                                                    \
    } YC_END
    int blocking[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, blocking) == 0);
    MISUSE("[12.55] blocking socket", yc_io_read(blocking[0], buf, 1));
    close(blocking[0]);
    close(blocking[1]);
    int bp[2];
    CHECK(pipe2(bp, O_CLOEXEC) == 0);
    MISUSE("blocking pipe", yc_io_write(bp[1], "x", 1));
    close(bp[0]);
    close(bp[1]);
    MISUSE("negative fd", yc_io_read(-1, buf, 1));
    MISUSE("closed fd", yc_io_write(1000, buf, 1));
    MISUSE("NULL buf", yc_io_read(sv[0], NULL, 1));
    MISUSE("NULL buf write_all", yc_io_write_all(sv[0], NULL, 1));
    MISUSE("iovcnt", yc_io_readv(sv[0], NULL, -1));
    MISUSE("NULL iov", yc_io_writev(sv[0], NULL, 1));
    MISUSE("NULL addr", yc_io_connect(sv[0], NULL, 0));
    MISUSE("addr without len", yc_io_accept(sv[0], (struct sockaddr *)buf, NULL));
    MISUSE("recvfrom addr without len", yc_io_recvfrom(sv[0], buf, 1, (struct sockaddr *)buf, NULL));
    MISUSE("bad ip", yc_io_connect_tcp("localhost", 80));
    MISUSE("bad port", yc_io_connect_tcp("127.0.0.1", 70000));
    MISUSE("NULL path", yc_io_connect_unix(NULL));
    MISUSE("no such path", yc_io_connect_unix("/nonexistent/yc.sock"));
#undef MISUSE
    return YC_NONE;
}

static void outside_cb(void *arg)
{
    (void)arg;
    YC_TRY {
        char c;
        yc_io_read(0, &c, 1);
    } YC_EXCEPT(&yc_RuntimeError) {
        LOG_CURRENT("callback");
    } YC_END;
}

static yc_val outside_main(void *arg)
{
    (void)arg;
    yc_loop_call_soon(yc_loop_current(), outside_cb, NULL, NULL);
    yc_sleep(0);
    yc_sleep(0);
    return YC_NONE;
}

static yc_val outside_gen(void *arg)
{
    (void)arg;
    char c;
    yc_io_read(0, &c, 1);
    return YC_NONE;
}

IO_TEST(misuse_rows)
{
    pair(sv);
    RUN_MAIN(misuse_main, NULL);
    CHECK_LOG_IS(
        "[12.55] blocking socket: ValueError: the socket must be non-blocking|"
        "blocking pipe: ValueError: the file descriptor must be non-blocking|"
        "negative fd: OSError: [Errno 9] Bad file descriptor|"
        "closed fd: OSError: [Errno 9] Bad file descriptor|"
        "NULL buf: TypeError: yc_io_read(): buf is NULL|"
        "NULL buf write_all: TypeError: yc_io_write_all(): buf is NULL|"
        "iovcnt: ValueError: yc_io_readv(): iovcnt -1 is outside [0, 1024]|"
        "NULL iov: TypeError: yc_io_writev(): iov is NULL|"
        "NULL addr: TypeError: yc_io_connect(): addr is NULL|"
        "addr without len: TypeError: yc_io_accept(): addr without addrlen|"
        "recvfrom addr without len: TypeError: yc_io_recvfrom(): addr without addrlen|"
        "bad ip: ValueError: yc_io_sockaddr: 'localhost' is not a numeric IPv4 or IPv6 address|"
        "bad port: ValueError: port 70000 is outside [0, 65535]|"
        "NULL path: TypeError: yc_io_connect_unix(): path is NULL|"
        "no such path: FileNotFoundError: [Errno 2] No such file or directory");
    close(sv[0]);
    close(sv[1]);

    /* outside a loop, and in a callback of a running loop */
    log_clear();
    yc_gen *g = yc_gen_new(outside_gen, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    yc_gen_free(g);
    RUN_MAIN(outside_main, NULL);
    CHECK_LOG_IS("callback: RuntimeError: yc_io_read() outside a task");

    /* caller side */
    CHECK_EQ_INT(yc_io_listen_tcp("127.0.0.1", 0, -1), -1);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_io_listen_tcp: backlog -1 is negative");
    CHECK_EQ_INT(yc_io_listen_tcp(NULL, 0, 1), -1);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_io_sockaddr: ip is NULL");
    CHECK_EQ_INT(yc_io_listen_unix("", 1), -1);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_io_listen_unix: path length 0 is outside [1, 107]");
    CHECK_EQ_INT(yc_io_udp_bind("1.2.3", 0), -1);
    CHECK_EXC(&yc_ValueError,
              "ValueError: yc_io_sockaddr: '1.2.3' is not a numeric IPv4 or IPv6 address");
    CHECK_ST(yc_io_close(-1), YC_RAISE);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 9] Bad file descriptor");
    CHECK_EQ_INT(yc_io_local_port(-1), -1);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 9] Bad file descriptor");
    pair(sv);
    CHECK_EQ_INT(yc_io_local_port(sv[0]), -1);
    char want[100];
    snprintf(want, sizeof want, "ValueError: yc_io_local_port: fd %d is not a TCP or UDP socket",
             sv[0]);
    CHECK_EXC(&yc_ValueError, want);
    CHECK_EQ_INT(yc_io_socket(-7, SOCK_STREAM, 0), -1);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 97] Address family not supported by protocol");
    close(sv[0]);
    close(sv[1]);
    int a = yc_io_listen_tcp("127.0.0.1", 0, 1);
    CHECK(a >= 0);
    CHECK_EQ_INT(yc_io_listen_tcp("127.0.0.1", yc_io_local_port(a), 1), -1);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 98] Address already in use");
    yc_io_close(a);
}

/* Tasks that are always ready do not starve a descriptor: the loop polls
 * descriptors every few iterations (YC__IO_POLL_INTERVAL, 8) while tasks
 * are ready, so a reader whose data is there wakes within a bounded number
 * of the spinner's turns. */
static volatile int got_data;
static long spins;

static yc_val spinner(void *arg)
{
    (void)arg;
    while (!got_data && spins < 100000) {
        spins++;
        yc_sleep(0);
    }
    return YC_NONE;
}

static long spins_at_write;

static yc_val writes_later(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) yc_sleep(0);
    spins_at_write = spins;
    yc_io_write(sv[0], "?", 1);
    return YC_NONE;
}

static yc_val starve_main(void *arg)
{
    (void)arg;
    got_data = 0;
    spins = 0;
    yc_task *t = yc_task_spawn(spinner, NULL, NULL);
    yc_task *w = yc_task_spawn(writes_later, NULL, NULL);
    char c;
    YC_TRY {
        yc_io_read(sv[1], &c, 1); /* waits; the spinner keeps the loop busy */
    } YC_FINALLY {
        got_data = 1;
    } YC_END;
    long turns = spins - spins_at_write;
    yc_await(t);
    yc_await(w);
    yc_task_unref(t);
    yc_task_unref(w);
    LOG("woke within 20 turns of the write: %s", turns < 20 ? "yes" : "no");
    return YC_NONE;
}

IO_TEST(busy_tasks_do_not_starve_io)
{
    pair(sv);
    RUN_MAIN(starve_main, NULL);
    CHECK_LOG_IS("woke within 20 turns of the write: yes");
    close(sv[0]);
    close(sv[1]);
}

/* A task still waiting on a descriptor when the main task returns is
 * cancelled by yc_loop_run; one left in a loop that is closed is
 * destroyed: either way it leaves the descriptor's record. */
static yc_val leaves_a_reader(void *arg)
{
    (void)arg;
    yc_task_unref(yc_task_spawn(blocked_reader, NULL, NULL));
    yc_sleep(0);
    return YC_NONE;
}

static int reports;
static void count_report(yc_exc *e, const char *obj, void *ud)
{
    (void)e, (void)obj, (void)ud;
    reports++;
}

IO_TEST(waiters_at_the_end_of_the_loop)
{
    pair(sv);
    RUN_MAIN(leaves_a_reader, NULL);
    CHECK_LOG_IS("reader: CancelledError");
    log_clear();
    yc_loop *L = yc_loop_new(NULL);
    yc_task *main_t = yc_loop_spawn(L, leaves_a_reader, NULL, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, main_t, NULL), YC_OK);
    yc_task_unref(main_t);
    reports = 0;
    yc_set_unraisable_hook(count_report, NULL);
    CHECK_ST(yc_loop_close(L), YC_OK); /* the reader is destroyed */
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_EQ_INT(reports, 1); /* "Task was destroyed but it is pending!" */
    CHECK_LOG_IS("reader: GeneratorExit");
    CHECK_ST(yc_loop_free(L), YC_OK);
    close(sv[0]);
    close(sv[1]);
}

/* A pipeline over a socket: yc_iter_lines_fd on a non-blocking descriptor
 * waits inside the task when no line is there yet (logstats could read
 * from a socket). */
static yc_val line_feeder(void *arg)
{
    (void)arg;
    const char *pieces[] = {"GET /a\nGE", "T /b\n", "POST /c", "\n"};
    for (int i = 0; i < 4; i++) {
        yc_sleep(0);
        yc_io_write_all(sv[0], pieces[i], strlen(pieces[i]));
    }
    yc_io_close(sv[0]);
    return YC_NONE;
}

static yc_val lines_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(line_feeder, NULL, NULL);
    yc_iter *it = yc_iter_lines_fd(sv[1], NULL);
    YC_TRY {
        yc_val v;
        int st;
        while ((st = yc_iter_next(it, &v)) == YC_YIELD) {
            char buf[64];
            yc_val_format(v, buf, sizeof buf);
            LOG("line %s", buf);
        }
        YC_CHECK(st);
    } YC_FINALLY {
        yc_iter_free(it);
    } YC_END;
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

IO_TEST(lines_source_over_a_socket)
{
    pair(sv);
    RUN_MAIN(lines_main, NULL);
    CHECK_LOG_IS("line b'GET /a\\n'|line b'GET /b\\n'|line b'POST /c\\n'");
    close(sv[1]);
}

/* A regular file: read and written without waiting. */
static int file_fd;

static yc_val file_main(void *arg)
{
    (void)arg;
    yc_io_write_all(file_fd, "file data", 9);
    lseek(file_fd, 0, SEEK_SET);
    char buf[16];
    size_t n = yc_io_read(file_fd, buf, sizeof buf);
    LOG("read %.*s", (int)n, buf);
    yc_io_wait_readable(file_fd);
    LOG("always ready");
    return YC_NONE;
}

IO_TEST(regular_file_never_waits)
{
    char path[] = "/tmp/yc_test_io_XXXXXX";
    file_fd = mkstemp(path);
    CHECK(file_fd >= 0);
    unlink(path);
    RUN_MAIN(file_main, NULL);
    CHECK_LOG_IS("read file data|always ready");
    CHECK_ST(yc_io_close(file_fd), YC_OK);
}

/* ---- a reader that always has data gives way (the per-turn budget) ------ */

enum { BUDGET_READS = 2000 };
static long other_turns, turns_while_reading;
static bool reader_started, reader_done;

static yc_val greedy_reader(void *arg)
{
    (void)arg;
    char c;
    reader_started = true;
    for (int i = 0; i < BUDGET_READS; i++) /* every read finds data at once */
        CHECK_EQ_INT(yc_io_read(sv[1], &c, 1), 1);
    reader_done = true;
    return YC_NONE;
}

static yc_val other_task(void *arg)
{
    (void)arg;
    while (!reader_started) yc_sleep(0);
    while (!reader_done) {
        other_turns++;
        yc_sleep(0);
    }
    return YC_NONE;
}

static yc_val budget_main(void *arg)
{
    (void)arg;
    static char bytes[BUDGET_READS];
    memset(bytes, 'x', sizeof bytes);
    CHECK_EQ_INT(write(sv[0], bytes, sizeof bytes), BUDGET_READS); /* all there before */
    other_turns = 0;
    reader_started = reader_done = false;
    yc_task *o = yc_task_spawn(other_task, NULL, NULL);
    yc_task *r = yc_task_spawn(greedy_reader, NULL, NULL);
    yc_await(r);
    yc_await(o);
    turns_while_reading = other_turns;
    yc_task_unref(r);
    yc_task_unref(o);
    return YC_NONE;
}

/* ---- yc_io_close outside the loop that knows the descriptor ------------- */

/* Reads one byte of sv[0] (it may wait); logs it. Within a timeout that
 * only a descriptor the loop never watches can reach. */
static yc_val reads_a_byte(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(5.0), tm) {
            char c = 0;
            CHECK_EQ_INT(yc_io_read(sv[0], &c, 1), 1);
            LOG("read %c", c);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("read: never woken");
    } YC_END;
    return YC_NONE;
}

/* Waits in a reader first, then writes the byte it waits for. */
static yc_val waits_then_written(void *arg)
{
    (void)arg;
    yc_task *r = yc_task_spawn(reads_a_byte, NULL, NULL);
    yc_sleep(0);
    yc_sleep(0); /* the reader met EAGAIN and waits on the descriptor */
    CHECK_EQ_INT(yc_io_write(sv[1], "b", 1), 1);
    yc_await(r);
    yc_task_unref(r);
    return YC_NONE;
}

static yc_val closes_the_pair(void *arg)
{
    (void)arg;
    CHECK_ST(yc_io_close(sv[0]), YC_OK);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
    return YC_NONE;
}

/* A loop L that knew a descriptor, closed with yc_io_close between two of
 * L's runs (no loop running, or in a task of another loop), forgets it: a
 * new descriptor given the same number is watched anew. Before, L kept the
 * old record, which the kernel's epoll set had dropped with the old
 * descriptor: the reader was never woken. */
static void reuse_after_close(bool in_other_loop)
{
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_MONOTONIC});
    CHECK(L != NULL);
    pair(sv);
    CHECK_EQ_INT(write(sv[1], "a", 1), 1);
    yc_task *t = yc_loop_spawn(L, reads_a_byte, NULL, NULL); /* makes sv[0]'s record */
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK);
    yc_task_unref(t);
    int old0 = sv[0], old1 = sv[1];
    if (in_other_loop) RUN_MAIN(closes_the_pair, NULL);
    else closes_the_pair(NULL); /* outside any running loop */
    pair(sv); /* the lowest free numbers: the same ones */
    CHECK_EQ_INT(sv[0], old0);
    CHECK_EQ_INT(sv[1], old1);
    t = yc_loop_spawn(L, waits_then_written, NULL, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK);
    yc_task_unref(t);
    CHECK_LOG_IS("read a|read b");
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK_ST(yc_loop_free(L), YC_OK);
    CHECK_ST(yc_io_close(sv[0]), YC_OK);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
}

IO_TEST(yc_io_close_outside_the_loop_forgets_the_descriptor_there) { reuse_after_close(false); }

IO_TEST(yc_io_close_in_another_loop_forgets_the_descriptor_in_the_idle_one)
{
    reuse_after_close(true);
}

/* A forked child's yc_io_close of a descriptor its parent's idle loop
 * knows leaves that loop alone: the copy of the loop in the child shares
 * its epoll set with the parent's, so forgetting the descriptor there
 * would take it out of the parent's set, and the parent's reader would
 * never be woken. */
IO_TEST(yc_io_close_in_a_forked_child_leaves_the_parents_loop)
{
    yc_loop *L = yc_loop_new(&(yc_loop_opts){.clock = YC_CLOCK_MONOTONIC});
    CHECK(L != NULL);
    pair(sv);
    CHECK_EQ_INT(write(sv[1], "a", 1), 1);
    yc_task *t = yc_loop_spawn(L, reads_a_byte, NULL, NULL); /* makes sv[0]'s record */
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK);
    yc_task_unref(t);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) _exit(yc_io_close(sv[0]) == YC_OK ? 0 : 1);
    int status = 0;
    CHECK_EQ_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    t = yc_loop_spawn(L, waits_then_written, NULL, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, t, NULL), YC_OK);
    yc_task_unref(t);
    CHECK_LOG_IS("read a|read b");
    CHECK_ST(yc_loop_close(L), YC_OK);
    CHECK_ST(yc_loop_free(L), YC_OK);
    CHECK_ST(yc_io_close(sv[0]), YC_OK);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
}

/* A task whose reads always find data gives up its turn every 64
 * operations, so the others (and the timers) run meanwhile; without the
 * budget the other task would not run once while it reads. */
IO_TEST(a_reader_that_always_has_data_lets_the_others_run)
{
    pair(sv);
    RUN_MAIN(budget_main, NULL);
    CHECK(turns_while_reading >= BUDGET_READS / 64 - 1);
    CHECK_ST(yc_io_close(sv[0]), YC_OK);
    CHECK_ST(yc_io_close(sv[1]), YC_OK);
}

TEST_MAIN()
