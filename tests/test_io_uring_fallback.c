/*
 * The fallback from io_uring to epoll (docs/io.md, "Backends"): with
 * YC_IO_BACKEND=io_uring asked for and the ring refused (the
 * yc__io_uring_refuse test hook makes the probe's setup fail as seccomp,
 * kernel.io_uring_disabled or an old kernel would), loops run on epoll,
 * yc_config() says why, and descriptor and file I/O work as before. A
 * program of its own: the choice is made once per process and yc_config()
 * keeps what it said first.
 */
#include "loop_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *backend_of_new_loop(void)
{
    yc_loop *L = yc_loop_new(NULL);
    CHECK(L != NULL);
    if (!L) return "none";
    const char *b = yc_loop_io_backend(L);
    yc_loop_free(L);
    return b;
}

static int sv[2];

static yc_val echo(void *arg)
{
    (void)arg;
    LOG("%s", yc_loop_io_backend(yc_loop_current()));
    char buf[8] = "";
    yc_io_write_all(sv[0], "ping", 4);
    size_t n = yc_io_read(sv[1], buf, sizeof buf - 1);
    LOG("%.*s", (int)n, buf);
    char path[] = "/tmp/yc_fallback_XXXXXX";
    int tmp = mkstemp(path);
    CHECK(tmp >= 0);
    close(tmp);
    int fd = yc_file_open(path, O_RDWR, 0);
    yc_file_write(fd, "file", 4);
    n = yc_file_pread(fd, buf, 4, 0);
    LOG("%.*s", (int)n, buf);
    yc_file_close(fd);
    unlink(path);
    return YC_NONE;
}

static void run_echo(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    log_clear();
    CHECK_ST(yc_loop_run(echo, NULL, NULL, NULL), YC_OK);
    close(sv[0]);
    close(sv[1]);
}

TEST(a_refused_ring_falls_back_to_epoll_and_yc_config_says_why)
{
    yc__io_uring_refuse(EPERM); /* as seccomp or kernel.io_uring_disabled=2 */
#ifdef YC_HAVE_LIBURING
    CHECK(strstr(yc_config(), " io=epoll io_uring=refused:EPERM") != NULL);
#else
    CHECK(strstr(yc_config(), " io=epoll io_uring=not-built") != NULL);
#endif
    run_echo();
    CHECK_LOG_IS("epoll|ping|file");
}

TEST(an_old_kernel_falls_back_too)
{
    yc__io_uring_refuse(ENOSYS); /* io_uring_setup unknown */
    CHECK_STR(backend_of_new_loop(), "epoll");
    run_echo();
    CHECK_LOG_IS("epoll|ping|file");
}

TEST(an_unknown_backend_name_is_epoll)
{
    setenv("YC_IO_BACKEND", "io-uring", 1);
    yc__io_uring_refuse(0);
    CHECK_STR(backend_of_new_loop(), "epoll");
    setenv("YC_IO_BACKEND", "io_uring", 1);
}

/* The hook lets go: the next choice is the kernel's again. Where the
 * kernel allows rings (the io-uring leg of make test checks that it
 * does), the loop gets one. */
TEST(without_the_refusal_the_ring_comes_back_where_the_kernel_allows_it)
{
    yc__io_uring_refuse(0);
    const char *b = backend_of_new_loop();
    const char *need = getenv("YC_TEST_RING_EXPECTED");
    if (need && strcmp(need, "1") == 0) CHECK_STR(b, "io_uring");
    else CHECK(strcmp(b, "io_uring") == 0 || strcmp(b, "epoll") == 0);
    run_echo();
    char want[32];
    snprintf(want, sizeof want, "%s|ping|file", b);
    CHECK_LOG_IS(want);
}

int main(int argc, char **argv)
{
    setenv("YC_IO_BACKEND", "io_uring", 1);
    return test_main(argc, argv);
}
