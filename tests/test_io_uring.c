/*
 * The io_uring backend (docs/io.md, "Backends"): this program asks for it
 * (YC_IO_BACKEND=io_uring unless the environment says otherwise) and,
 * where the kernel refuses it, prints "SKIPPED io_uring: ..." for the
 * tests that need a ring. An operation in flight for a cancelled task is
 * cancelled and reaped before the task's stack unwinds: its buffer is
 * never written afterwards and the peer's bytes go to the next reader; a
 * cancelled accept leaves the connection for the next; yc_io_close ends
 * what the ring holds of the descriptor. Every test counts open
 * descriptors before and after.
 *
 *   test_io_uring --config   prints yc_config() (make test's io-uring leg
 *                            reads it to tell a refused ring from a run)
 */
#include "loop_util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* Whether loops of this process get a ring; says why not, once. */
static bool ring_here(void)
{
    yc_loop *L = yc_loop_new(NULL);
    CHECK(L != NULL);
    bool ring = L && strcmp(yc_loop_io_backend(L), "io_uring") == 0;
    if (L) yc_loop_free(L);
    static bool told;
    if (!ring && !told) {
        const char *io = strstr(yc_config(), "io=");
        printf("SKIPPED io_uring: %s\n", io ? io : "(yc_config says nothing)");
        told = true;
    }
    return ring;
}

static int sv[2];

/* Runs fn over a fresh socketpair; no descriptor left open after. */
static void run_pair(yc_gen_fn fn)
{
    int before = count_fds();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    log_clear();
    RUN_MAIN(fn, NULL);
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    CHECK_EQ_INT(count_fds(), before);
}

/* Bytes waiting to be read on fd. */
static int unread(int fd)
{
    int n = -1;
    CHECK_EQ_INT(ioctl(fd, FIONREAD, &n), 0);
    return n;
}

static void turns(int n)
{
    for (int i = 0; i < n; i++) yc_sleep(0);
}

/* ---- the backend is the one asked for ------------------------------------ */

static yc_val which(void *arg)
{
    (void)arg;
    LOG("%s", yc_loop_io_backend(yc_loop_current()));
    return YC_NONE;
}

TEST(the_loop_and_yc_config_name_the_same_backend)
{
    log_clear();
    RUN_MAIN(which, NULL);
    bool ring = strcmp(loop_log, "io_uring") == 0;
    CHECK(ring || strcmp(loop_log, "epoll") == 0);
    CHECK(strstr(yc_config(), ring ? " io=io_uring" : " io=epoll io_uring=") != NULL);
    const char *want = getenv("YC_IO_BACKEND");
    if (want && strcmp(want, "epoll") == 0) CHECK(!ring);
}

TEST(yc_loop_io_backend_refuses_what_is_not_a_loop)
{
    CHECK(yc_loop_io_backend(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_loop_io_backend: not a live event loop");
}

/* ---- a cancelled read ------------------------------------------------------ */

static int stage;

/* Reads into a buffer on its own stack, is cancelled there, and stays in
 * the frame (the buffer alive) while the peer writes. */
static yc_val stack_reader(void *arg)
{
    (void)arg;
    unsigned char buf[256];
    memset(buf, 0xA5, sizeof buf);
    YC_TRY {
        size_t n = yc_io_read(sv[1], buf, sizeof buf);
        LOG("read %zu: not cancelled", n);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("cancelled in the read");
    } YC_END;
    stage = 1;
    while (stage < 2) yc_sleep(0);
    turns(5); /* the loop enters the ring: a live request would complete now */
    size_t touched = 0;
    for (size_t i = 0; i < sizeof buf; i++) touched += buf[i] != 0xA5;
    LOG("bytes of the buffer written after the cancellation: %zu", touched);
    char next[8] = "";
    size_t n = yc_io_read(sv[1], next, sizeof next - 1);
    LOG("the next read: %.*s", (int)n, next);
    return YC_NONE;
}

static yc_val cancel_in_read(void *arg)
{
    (void)arg;
    stage = 0;
    yc_task *r = yc_task_spawn(stack_reader, NULL, NULL);
    turns(3); /* the read met EAGAIN and is in the ring */
    LOG("reader waiting: %d", !yc_task_done(r));
    yc_task_cancel(r, NULL);
    while (stage < 1) yc_sleep(0);
    CHECK_EQ_INT((int)write(sv[0], "XYZ", 3), 3);
    LOG("unread after the peer wrote: %d", unread(sv[1]));
    stage = 2;
    yc_await(r);
    yc_task_unref(r);
    return YC_NONE;
}

TEST(a_cancelled_read_never_writes_the_buffer_on_the_tasks_stack)
{
    if (!ring_here()) return;
    run_pair(cancel_in_read);
    CHECK_LOG_IS("reader waiting: 1|cancelled in the read|unread after the peer wrote: 3|"
                 "bytes of the buffer written after the cancellation: 0|the next read: XYZ");
}

static yc_val plain_reader(void *arg)
{
    (void)arg;
    char buf[64];
    yc_io_read(sv[1], buf, sizeof buf);
    LOG("read: not cancelled");
    return YC_NONE;
}

/* The reader's stack is gone (its task ended) when the peer writes: a
 * request left in the ring would take the bytes into freed memory. */
static yc_val cancel_and_unwind(void *arg)
{
    (void)arg;
    yc_task *r = yc_task_spawn(plain_reader, NULL, NULL);
    turns(3);
    yc_task_cancel(r, NULL);
    YC_TRY {
        yc_await(r);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("reader cancelled");
    } YC_END;
    yc_task_unref(r);
    CHECK_EQ_INT((int)write(sv[0], "late", 4), 4);
    turns(5);
    char buf[8] = "";
    size_t n = yc_io_read(sv[1], buf, sizeof buf - 1);
    LOG("the bytes went to the next reader: %.*s", (int)n, buf);
    return YC_NONE;
}

TEST(a_read_cancelled_by_its_task_leaves_the_bytes_for_the_next_reader)
{
    if (!ring_here()) return;
    run_pair(cancel_and_unwind);
    CHECK_LOG_IS("reader cancelled|the bytes went to the next reader: late");
}

/* A timeout (yc_cm_timeout's) cancels the read the same way. */
static yc_val timed_reader(void *arg)
{
    (void)arg;
    char buf[16];
    memset(buf, '.', sizeof buf);
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.001), tm) {
            yc_io_read(sv[1], buf, sizeof buf);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        LOG("timed out");
    } YC_END;
    CHECK_EQ_INT((int)write(sv[0], "ab", 2), 2);
    turns(5);
    size_t touched = 0;
    for (size_t i = 0; i < sizeof buf; i++) touched += buf[i] != '.';
    LOG("written after the timeout: %zu, unread: %d", touched, unread(sv[1]));
    return YC_NONE;
}

TEST(a_read_that_times_out_is_cancelled_in_the_ring)
{
    if (!ring_here()) return;
    run_pair(timed_reader);
    CHECK_LOG_IS("timed out|written after the timeout: 0, unread: 2");
}

/* A loop closed while a task's read is in the ring: the task is destroyed
 * (GeneratorExit where it waits), which cancels and reaps the read before
 * its stack goes; the peer's bytes stay queued. */
static yc_val parked_reader(void *arg)
{
    (void)arg;
    char buf[32];
    yc_io_read(sv[1], buf, sizeof buf);
    return YC_NONE;
}

static yc_val a_few_turns(void *arg)
{
    (void)arg;
    turns(5);
    return YC_NONE;
}

TEST(a_loop_closed_with_a_read_in_the_ring_reaps_it)
{
    if (!ring_here()) return;
    int before = count_fds();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    yc_loop *L = yc_loop_new(NULL);
    yc_task *r = yc_loop_spawn(L, parked_reader, NULL, NULL);
    yc_task *w = yc_loop_spawn(L, a_few_turns, NULL, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, w, NULL), YC_OK);
    CHECK(!yc_task_done(r));
    CHECK_ST(yc_loop_close(L), YC_OK); /* reports the pending task on stderr */
    CHECK_EQ_INT((int)write(sv[0], "zz", 2), 2);
    CHECK_EQ_INT(unread(sv[1]), 2);
    yc_task_unref(r);
    yc_task_unref(w);
    CHECK_ST(yc_loop_free(L), YC_OK);
    close(sv[0]);
    close(sv[1]);
    CHECK_EQ_INT(count_fds(), before);
}

/* ---- close while the ring holds the descriptor ------------------------------- */

static yc_val reader_told(void *arg)
{
    (void)arg;
    char buf[16];
    YC_TRY {
        yc_io_read(sv[1], buf, sizeof buf);
        LOG("read: no exception");
    } YC_EXCEPT(&yc_OSError) {
        log_exc("reader", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

static yc_val close_under_read(void *arg)
{
    (void)arg;
    yc_task *r = yc_task_spawn(reader_told, NULL, NULL);
    turns(3);
    CHECK_EQ_INT(yc_io_close(sv[1]), YC_OK);
    sv[1] = -1;
    yc_await(r);
    yc_task_unref(r);
    turns(2);
    char c;
    LOG("the peer sees the end: %d", (int)read(sv[0], &c, 1)); /* not held open by the ring */
    return YC_NONE;
}

TEST(yc_io_close_wakes_a_read_in_the_ring_and_really_closes)
{
    if (!ring_here()) return;
    run_pair(close_under_read);
    CHECK_LOG_IS("reader: OSError: [Errno 9] Bad file descriptor|the peer sees the end: 0");
}

/* ---- accept ---------------------------------------------------------------- */

static int lfd;

static yc_val acceptor(void *arg)
{
    (void)arg;
    int fd = yc_io_accept(lfd, NULL, NULL);
    LOG("accepted: not cancelled");
    yc_io_close(fd);
    return YC_NONE;
}

static yc_val cancel_accept(void *arg)
{
    (void)arg;
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 16);
    CHECK(lfd >= 0);
    yc_task *a = yc_task_spawn(acceptor, NULL, NULL);
    turns(3);
    yc_task_cancel(a, NULL);
    YC_TRY {
        yc_await(a);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("acceptor cancelled");
    } YC_END;
    yc_task_unref(a);
    int c = yc_io_connect_tcp("127.0.0.1", yc_io_local_port(lfd));
    turns(3);
    int s = yc_io_accept(lfd, NULL, NULL);
    yc_io_write_all(c, "hi", 2);
    char buf[4] = "";
    size_t n = yc_io_read(s, buf, sizeof buf - 1);
    LOG("the next accept has the connection: %.*s", (int)n, buf);
    yc_io_close(s);
    yc_io_close(c);
    yc_io_close(lfd);
    return YC_NONE;
}

TEST(a_cancelled_accept_leaves_the_connection_to_the_next)
{
    if (!ring_here()) return;
    int before = count_fds();
    log_clear();
    RUN_MAIN(cancel_accept, NULL);
    CHECK_LOG_IS("acceptor cancelled|the next accept has the connection: hi");
    CHECK_EQ_INT(count_fds(), before);
}

/* ---- the ring's operations, end to end ---------------------------------------- */

enum { BIG = 3 << 20 }; /* more than a socket buffer: sends wait in the ring */

static yc_val big_sender(void *arg)
{
    unsigned char *p = arg;
    yc_io_write_all(sv[0], p, BIG);
    struct iovec v[2] = {{"ve", 2}, {"ctor", 4}};
    yc_io_writev(sv[0], v, 2);
    return YC_NONE;
}

static yc_val big_round_trip(void *arg)
{
    (void)arg;
    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    CHECK(out && in);
    for (size_t i = 0; i < BIG; i++) out[i] = (unsigned char)(i * 7 + (i >> 12));
    yc_task *w = yc_task_spawn(big_sender, out, NULL);
    size_t got = 0;
    while (got < BIG) got += yc_io_read(sv[1], in + got, BIG - got);
    char a[3] = "", b[5] = "";
    struct iovec v[2] = {{a, 2}, {b, 4}};
    size_t n = 0;
    while (n < 6) {
        size_t k = yc_io_readv(sv[1], v, 2);
        n += k; /* both parts arrive together in practice; keep it simple */
        if (k < 6) break;
    }
    yc_await(w);
    yc_task_unref(w);
    LOG("%zu bytes, same: %d, then %s%s", got, memcmp(in, out, BIG) == 0, a, b);
    free(out);
    free(in);
    return YC_NONE;
}

TEST(reads_and_writes_larger_than_the_socket_buffer_go_through_the_ring)
{
    if (!ring_here()) return;
    run_pair(big_round_trip);
    CHECK_LOG_IS("3145728 bytes, same: 1, then vector");
}

static yc_val files_in_ring(void *arg)
{
    (void)arg;
    char path[] = "/tmp/yc_uring_XXXXXX";
    int tmp = mkstemp(path);
    CHECK(tmp >= 0);
    close(tmp);
    int fd = yc_file_open(path, O_WRONLY | O_TRUNC, 0);
    CHECK_EQ_INT((int)yc_file_write(fd, "hello ring", 10), 10);
    CHECK_EQ_INT((int)yc_file_pwrite(fd, "R", 1, 6), 1);
    yc_file_close(fd);
    char *data = NULL;
    size_t n = yc_file_read_all(path, &data);
    LOG("%.*s", (int)n, data);
    yc_file_data_free(data);
    fd = yc_file_open(path, O_RDONLY, 0);
    char buf[8] = "";
    n = yc_file_pread(fd, buf, 4, 6);
    LOG("%.*s", (int)n, buf);
    yc_file_close(fd);
    unlink(path);
    YC_TRY {
        yc_file_open("/nonexistent-yc/file", O_RDONLY, 0);
    } YC_EXCEPT(&yc_OSError) {
        log_exc("open", yc_exc_current());
    } YC_END;
    return YC_NONE;
}

TEST(regular_files_go_through_the_ring)
{
    if (!ring_here()) return;
    int before = count_fds();
    log_clear();
    RUN_MAIN(files_in_ring, NULL);
    CHECK_LOG_IS("hello Ring|Ring|open: FileNotFoundError: [Errno 2] No such file or directory: "
                 "'/nonexistent-yc/file'");
    CHECK_EQ_INT(count_fds(), before);
}

int main(int argc, char **argv)
{
    setenv("YC_IO_BACKEND", "io_uring", 0); /* the environment's choice stands */
    if (argc > 1 && strcmp(argv[1], "--config") == 0) {
        puts(yc_config());
        return 0;
    }
    return test_main(argc, argv);
}
