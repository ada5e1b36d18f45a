/*
 * Regular files from tasks, on the loop's thread pool: open, read, write,
 * pread/pwrite, close, read_all; the OSError subclass per errno with
 * CPython's messages (12.56); the loop keeps running other tasks while a
 * call is in flight; cancellation waits for the call; no descriptor leaks.
 */
#include "loop_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/yc_files_XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
}

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

static void remove_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK_EQ_INT(system(cmd), 0);
}

/* ---- the calls ------------------------------------------------------------ */

static yc_val rw_main(void *arg)
{
    (void)arg;
    char p[128];
    path_of(p, sizeof p, "a.txt");
    int fd = yc_file_open(p, O_CREAT | O_RDWR | O_TRUNC, 0644);
    CHECK(fd >= 0);
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK_EQ_INT(yc_file_write(fd, "hello, world\n", 13), 13);
    CHECK_EQ_INT(yc_file_pwrite(fd, "W", 1, 7), 1);
    char buf[32] = "";
    CHECK_EQ_INT(yc_file_pread(fd, buf, sizeof buf, 0), 13);
    CHECK(memcmp(buf, "hello, World\n", 13) == 0);
    CHECK_EQ_INT(yc_file_pread(fd, buf, sizeof buf, 13), 0); /* end of file */
    CHECK_EQ_INT(lseek(fd, 0, SEEK_SET), 0);
    memset(buf, 0, sizeof buf);
    CHECK_EQ_INT(yc_file_read(fd, buf, 5), 5);
    CHECK_STR(buf, "hello");
    yc_file_close(fd);
    CHECK(fcntl(fd, F_GETFD) < 0); /* closed */

    /* a larger file, bigger than read_all's first guess after it grows */
    path_of(p, sizeof p, "big.bin");
    fd = yc_file_open(p, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    static char big[300000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
    CHECK_EQ_INT(yc_file_write(fd, big, sizeof big), sizeof big);
    yc_file_close(fd);
    char *data = NULL;
    size_t n = yc_file_read_all(p, &data);
    CHECK_EQ_INT(n, sizeof big);
    CHECK(data && memcmp(data, big, sizeof big) == 0 && data[n] == '\0');
    yc_file_data_free(data);

    path_of(p, sizeof p, "empty");
    yc_file_close(yc_file_open(p, O_CREAT | O_WRONLY, 0600));
    n = yc_file_read_all(p, &data);
    CHECK_EQ_INT(n, 0);
    CHECK(data && data[0] == '\0');
    yc_file_data_free(data);
    return YC_NONE;
}

TEST(open_read_write_pread_pwrite_close_read_all)
{
    make_dir();
    int fds = count_fds();
    CHECK_ST(yc_loop_run(rw_main, NULL, NULL, NULL), YC_OK);
    CHECK_EQ_INT(count_fds(), fds);
    remove_dir();
}

/* ---- 12.56: errors -------------------------------------------------------- */

static void try_open(const char *what, const char *path, int flags)
{
    YC_TRY {
        int fd = yc_file_open(path, flags, 0600);
        LOG("%s: opened", what);
        yc_file_close(fd);
    } YC_EXCEPT(&yc_OSError) {
        yc_exc *e = yc_exc_current();
        char msg[300];
        yc_exc_format(e, msg, sizeof msg);
        /* the directory name differs per run: keep what follows it */
        const char *tail = strrchr(msg, '/');
        LOG("%s: %s (errno %d) ...%s", what, yc_exc_type_of(e)->name, yc_exc_errno(e),
            tail ? tail : msg);
    } YC_END;
}

static yc_val errors_main(void *arg)
{
    (void)arg;
    char p[128], d[128];
    path_of(p, sizeof p, "missing");
    try_open("enoent", p, O_RDONLY);
    try_open("eisdir", dir, O_WRONLY);
    path_of(p, sizeof p, "f");
    yc_file_close(yc_file_open(p, O_CREAT | O_WRONLY, 0600));
    try_open("eexist", p, O_CREAT | O_EXCL | O_WRONLY);
    path_of(d, sizeof d, "f/x");
    try_open("enotdir", d, O_RDONLY);
    path_of(p, sizeof p, "ro");
    yc_file_close(yc_file_open(p, O_CREAT | O_WRONLY, 0400));
    if (geteuid() != 0) try_open("eacces", p, O_WRONLY);
    else LOG("eacces: PermissionError (errno 13) .../ro'"); /* root ignores modes */
    YC_TRY {
        char c;
        yc_file_read(-1, &c, 1);
    } YC_EXCEPT(&yc_OSError) {
        log_exc("ebadf", yc_exc_current());
    } YC_END;
    YC_TRY {
        char c;
        yc_file_pread(0, &c, 1, -1);
    } YC_EXCEPT_ANY {
        log_exc("offset", yc_exc_current());
    } YC_END;
    YC_TRY {
        yc_file_read_all(NULL, NULL);
    } YC_EXCEPT_ANY {
        log_exc("null", yc_exc_current());
    } YC_END;
    YC_TRY {
        char *data = NULL;
        path_of(p, sizeof p, "missing");
        yc_file_read_all(p, &data);
    } YC_EXCEPT(&yc_FileNotFoundError) {
        LOG("read_all: FileNotFoundError");
    } YC_END;
    return YC_NONE;
}

TEST(sec12_56_file_errors_are_the_oserror_subclass_with_cpythons_message)
{
    /* [12.56] CPython: open('/d/missing') -> FileNotFoundError: [Errno 2]
     * No such file or directory: '/d/missing' */
    make_dir();
    log_clear();
    int fds = count_fds();
    CHECK_ST(yc_loop_run(errors_main, NULL, NULL, NULL), YC_OK);
    char want[1024];
    snprintf(want, sizeof want,
             "enoent: FileNotFoundError (errno 2) .../missing'|"
             "eisdir: IsADirectoryError (errno 21) ...%s'|"
             "eexist: FileExistsError (errno 17) .../f'|"
             "enotdir: NotADirectoryError (errno 20) .../x'|"
             "eacces: PermissionError (errno 13) .../ro'|"
             "ebadf: OSError: [Errno 9] Bad file descriptor|"
             "offset: ValueError: negative offset|"
             "null: TypeError: yc_file_read_all(): NULL argument|"
             "read_all: FileNotFoundError",
             strrchr(dir, '/'));
    CHECK_LOG_IS(want);
    CHECK_EQ_INT(count_fds(), fds);
    remove_dir();
}

/* ---- the loop goes on; cancellation waits --------------------------------- */

static int ticks;
static bool on_ring; /* the loop's backend is io_uring (docs/io.md) */

static yc_val ticker(void *arg)
{
    (void)arg;
    for (;;) {
        ticks++;
        yc_sleep(0);
    }
    return YC_NONE;
}

static yc_val reader(void *arg)
{
    int fd = *(int *)arg;
    char buf[16] = ""; /* on this task's stack: written by the pool thread */
    YC_TRY {
        size_t n = yc_file_read(fd, buf, sizeof buf - 1);
        LOG("read %zu: %s", n, buf);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("cancelled after the read filled the buffer: %s", buf);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val fifo_main(void *arg)
{
    (void)arg;
    int fds[2];
    CHECK_EQ_INT(pipe(fds), 0); /* a pipe read blocks as a slow disk would */
    on_ring = strcmp(yc_loop_io_backend(yc_loop_current()), "io_uring") == 0;
    yc_task *tick = yc_task_spawn(ticker, NULL, NULL);
    yc_task *r = yc_task_spawn(reader, &fds[0], NULL);
    while (ticks < 50) yc_sleep(0); /* the loop runs while the read blocks */
    LOG("loop ran while the read waited: %d", !yc_task_done(r));
    yc_task_cancel(r, NULL);
    for (int i = 0; i < 20; i++) yc_sleep(0);
    LOG("still waiting for the read: %d", !yc_task_done(r));
    CHECK_EQ_INT(write(fds[1], "data", 4), 4);
    YC_TRY {
        yc_await(r);
    } YC_EXCEPT(&yc_CancelledError) {
        LOG("reader cancelled");
    } YC_END;
    yc_task_cancel(tick, NULL);
    yc_task_unref(tick);
    yc_task_unref(r);
    close(fds[0]);
    close(fds[1]);
    return YC_NONE;
}

TEST(the_loop_runs_while_a_file_call_blocks_and_cancellation_waits_for_it)
{
    log_clear();
    ticks = 0;
    CHECK_ST(yc_loop_run(fifo_main, NULL, NULL, NULL), YC_OK);
    if (on_ring) /* the read is cancelled in the ring: it never fills the buffer */
        CHECK_LOG_IS("loop ran while the read waited: 1|cancelled after the read filled the "
                     "buffer: |still waiting for the read: 0|reader cancelled");
    else
        CHECK_LOG_IS("loop ran while the read waited: 1|still waiting for the read: 1|"
                     "cancelled after the read filled the buffer: data|reader cancelled");
}

/* ---- body-side outside a loop ------------------------------------------- */

static yc_val open_in_gen(void *arg)
{
    (void)arg;
    yc_file_open("/", O_RDONLY, 0);
    return YC_NONE;
}

TEST(file_calls_outside_a_loop_raise)
{
    yc_gen *g = yc_gen_new(open_in_gen, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: no running event loop");
    yc_gen_free(g);
}

/* ---- NULL buffers and descriptors that are not open ------------------------ */

static void log_raise(const char *what) { log_exc(what, yc_exc_current()); }

static yc_val nulls_main(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_file_read(0, NULL, 4);
    } YC_EXCEPT_ANY {
        log_raise("read");
    } YC_END;
    YC_TRY {
        yc_file_write(1, NULL, 4);
    } YC_EXCEPT_ANY {
        log_raise("write");
    } YC_END;
    YC_TRY {
        yc_file_pwrite(1, NULL, 4, 0);
    } YC_EXCEPT_ANY {
        log_raise("pwrite");
    } YC_END;
    YC_TRY {
        yc_file_open(NULL, O_RDONLY, 0);
    } YC_EXCEPT_ANY {
        log_raise("open");
    } YC_END;
    YC_TRY {
        yc_file_close(-1);
    } YC_EXCEPT_ANY {
        log_raise("close");
    } YC_END;
    char c = 'x';
    YC_TRY {
        yc_file_pwrite(-1, &c, 1, 0);
    } YC_EXCEPT_ANY {
        log_raise("pwrite -1");
    } YC_END;
    LOG("zero bytes: %zu", yc_file_read(0, NULL, 0));
    return YC_NONE;
}

TEST(file_calls_with_null_buffers_and_bad_descriptors)
{
    log_clear();
    CHECK_ST(yc_loop_run(nulls_main, NULL, NULL, NULL), YC_OK);
    CHECK_LOG_IS("read: TypeError: yc_file_read(): NULL argument|"
                 "write: TypeError: yc_file_write(): NULL argument|"
                 "pwrite: TypeError: yc_file_pwrite(): NULL argument|"
                 "open: TypeError: yc_file_open(): NULL argument|"
                 "close: OSError: [Errno 9] Bad file descriptor|"
                 "pwrite -1: OSError: [Errno 9] Bad file descriptor|"
                 "zero bytes: 0");
    yc_file_data_free(NULL); /* NULL is fine */
    yc_addrinfo_free(NULL);
    CHECK_EQ_INT(yc_loop_thread_count(NULL), 0);
}

TEST_MAIN()
