/* Fault-injection sweep over the I/O of include/yieldc/io.h (fault_sweep.h
 * says what is checked): each operation is a whole program under
 * yc_loop_run in which tasks talk over descriptors; an allocation failing
 * anywhere (a descriptor's record, the table of records, a waiter future,
 * a task, an exception) must end as a MemoryError out of the run, or be
 * survived with the same result, leak nothing, and leave no descriptor
 * open (counted before and after every round). */
#include "fault_sweep.h"

#include <dirent.h>
#include <sys/socket.h>

static int fds_before;

/* Runs main_fn as the main task; its return value and the log are the
 * fingerprint. */
static int run_main(yc_gen_fn main_fn, void *arg)
{
    yc_val out;
    int st = yc_loop_run(main_fn, arg, NULL, &out);
    return st < 0 ? got_exc(yc_err_take()) : (fp_val(out), 0);
}

/* An operation's end, its own descriptors closed: as many open as before
 * it began. Returns r. */
static int fds_check(int r)
{
    int now = count_fds();
    if (now != fds_before)
        test_fail(__FILE__, __LINE__, "%d descriptor(s) open before the operation, %d after",
                  fds_before, now);
    return r;
}

/* A task group's failure with a MemoryError among its members is a
 * MemoryError of the run. */
static void reraise_oom_or_log(void)
{
    yc_exc *eg = yc_exc_current();
    yc_exc *oom = yc_exc_group_subgroup(eg, &yc_MemoryError);
    if (oom) {
        yc_exc_unref(oom);
        yc_raise(yc_exc_new(&yc_MemoryError, NULL));
    }
    char text[160];
    yc_exc_format(eg, text, sizeof text);
    fp_add("%s;", text);
}

/* ---- a socketpair: echo through two tasks ------------------------------------ */

static int sv[2];

static yc_val echo(void *arg)
{
    (void)arg;
    char buf[16];
    size_t n;
    while ((n = yc_io_read(sv[1], buf, sizeof buf)) > 0) yc_io_write_all(sv[1], buf, n);
    shutdown(sv[1], SHUT_WR);
    return YC_NONE;
}

static yc_val pair_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            yc_task *t = yc_taskgroup_spawn(g.p, echo, NULL, NULL);
            if (!t) YC_CHECK(-1);
            yc_task_unref(t);
            char buf[16];
            for (int i = 0; i < 3; i++) {
                yc_io_write_all(sv[0], "abc", 3);
                size_t got = 0;
                while (got < 3) got += yc_io_read(sv[0], buf + got, 3 - got);
                fp_add("%.3s;", buf);
            }
            shutdown(sv[0], SHUT_WR);
            fp_add("eof %zu;", yc_io_read(sv[0], buf, sizeof buf));
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        reraise_oom_or_log();
    } YC_END;
    return YC_NONE;
}

static int op_pair(void)
{
    fds_before = count_fds();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int r = run_main(pair_main, NULL);
    close(sv[0]);
    close(sv[1]);
    return fds_check(r);
}

/* ---- TCP: listen, accept, connect, echo ------------------------------------- */

static int lfd;

static yc_val acceptor(void *arg)
{
    (void)arg;
    int fd = yc_io_accept(lfd, NULL, NULL);
    YC_TRY {
        char buf[8];
        size_t n = yc_io_read(fd, buf, sizeof buf);
        yc_io_write_all(fd, buf, n);
    } YC_FINALLY {
        yc_io_close(fd);
    } YC_END;
    return YC_NONE;
}

static yc_val tcp_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            yc_task *t = yc_taskgroup_spawn(g.p, acceptor, NULL, NULL);
            if (!t) YC_CHECK(-1);
            yc_task_unref(t);
            int fd = yc_io_connect_tcp("127.0.0.1", yc_io_local_port(lfd));
            YC_TRY {
                yc_io_write_all(fd, "hey", 3);
                char buf[8];
                size_t n = yc_io_read(fd, buf, sizeof buf);
                fp_add("tcp %.*s;", (int)n, buf);
            } YC_FINALLY {
                yc_io_close(fd);
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        reraise_oom_or_log();
    } YC_END;
    return YC_NONE;
}

static int op_tcp(void)
{
    fds_before = count_fds();
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    if (lfd < 0) return failed();
    int r = run_main(tcp_main, NULL);
    close(lfd);
    return fds_check(r);
}

/* ---- UDP, readv/writev, wait ------------------------------------------------ */

static yc_val misc_main(void *arg)
{
    (void)arg;
    int a = yc_io_udp_bind("127.0.0.1", 0);
    if (a < 0) YC_CHECK(-1);
    volatile int b = -1; /* changed in YC_TRY, read in YC_FINALLY */
    YC_TRY {
        b = yc_io_udp_bind("127.0.0.1", 0);
        if (b < 0) YC_CHECK(-1);
        struct sockaddr_storage to;
        socklen_t len;
        YC_CHECK(yc_io_sockaddr("127.0.0.1", yc_io_local_port(b), &to, &len));
        yc_io_sendto(a, "dgram", 5, (struct sockaddr *)&to, len);
        yc_io_wait_readable(b);
        char buf[8];
        size_t n = yc_io_recvfrom(b, buf, sizeof buf, NULL, NULL);
        fp_add("udp %.*s;", (int)n, buf);
        struct iovec out[2] = {{"ab", 2}, {"cd", 2}};
        yc_io_writev(sv[0], out, 2);
        struct iovec in[1] = {{buf, sizeof buf}};
        n = yc_io_readv(sv[1], in, 1);
        fp_add("vec %.*s;", (int)n, buf);
    } YC_FINALLY {
        yc_io_close(a);
        if (b >= 0) yc_io_close(b);
    } YC_END;
    return YC_NONE;
}

static int op_misc(void)
{
    fds_before = count_fds();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int r = run_main(misc_main, NULL);
    close(sv[0]);
    close(sv[1]);
    return fds_check(r);
}

/* ---- close waking a reader, cancelling a writer ------------------------------ */

static yc_val waits_to_read(void *arg)
{
    (void)arg;
    char c;
    yc_io_read(sv[1], &c, 1);
    return YC_NONE;
}

static yc_val close_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(waits_to_read, NULL, NULL);
    if (!t) YC_CHECK(-1);
    YC_TRY {
        yc_sleep(0);
        yc_io_close(sv[1]);
        sv[1] = -1;
        yc_await(t);
    } YC_EXCEPT(&yc_OSError) {
        fp_add("woken: %s;", yc_exc_msg(yc_exc_current()));
    } YC_FINALLY {
        yc_task_cancel(t, NULL);
        yc_task_unref(t);
    } YC_END;
    return YC_NONE;
}

static int op_close(void)
{
    fds_before = count_fds();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int r = run_main(close_main, NULL);
    close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    return fds_check(r);
}

static yc_val cancel_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(0.001), tm) {
            char c;
            yc_io_read(sv[1], &c, 1);
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        fp_add("timed out;");
    } YC_END;
    return YC_NONE;
}

static int op_timeout(void)
{
    fds_before = count_fds();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int r = run_main(cancel_main, NULL);
    close(sv[0]);
    close(sv[1]);
    return fds_check(r);
}

/* ---- streams: lines written and drained by one task, read by another ---- */

static yc_val line_writer(void *arg)
{
    (void)arg;
    yc_stream *w = yc_stream_new(sv[0], 0);
    if (!w) YC_CHECK(-1);
    YC_TRY {
        for (int i = 0; i < 3; i++) YC_CHECK(yc_stream_write(w, "line\n", 5));
        YC_CHECK(yc_stream_write(w, "tail", 4));
        yc_stream_drain(w);
        shutdown(sv[0], SHUT_WR);
    } YC_FINALLY {
        sv[0] = -1; /* the stream closes it */
        yc_stream_free(w);
    } YC_END;
    return YC_NONE;
}

static yc_val stream_main(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            yc_task *t = yc_taskgroup_spawn(g.p, line_writer, NULL, NULL);
            if (!t) YC_CHECK(-1);
            yc_task_unref(t);
            yc_stream *r = yc_stream_new(sv[1], 0);
            if (!r) YC_CHECK(-1);
            sv[1] = -1;
            YC_TRY {
                size_t n;
                for (int i = 0; i < 3; i++) {
                    const char *p = yc_stream_readline(r, &n);
                    fp_add("%.*s;", (int)n - 1, p);
                }
                fp_add("%.2s;", yc_stream_readexactly(r, 2));
                YC_TRY {
                    yc_stream_readexactly(r, 5);
                } YC_EXCEPT(&yc_IncompleteReadError) {
                    fp_add("%s;", yc_exc_msg(yc_exc_current()));
                } YC_END;
            } YC_FINALLY {
                yc_stream_free(r);
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ExceptionGroup) {
        reraise_oom_or_log();
    } YC_END;
    return YC_NONE;
}

static int op_stream(void)
{
    fds_before = count_fds();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0) return -1;
    int r = run_main(stream_main, NULL);
    if (sv[0] >= 0) close(sv[0]);
    if (sv[1] >= 0) close(sv[1]);
    return fds_check(r);
}

/* ---- yc_stream_serve: a line echoed, the server cancelled ------------------ */

static void serve_echo(yc_stream *s, void *arg)
{
    (void)arg;
    size_t n;
    const char *p;
    while ((p = yc_stream_readline(s, &n)), n > 0) {
        YC_CHECK(yc_stream_write(s, p, n));
        yc_stream_drain(s);
    }
}

/* The server; however it ends, its listening socket is shut so that a
 * client still queued there is reset rather than left waiting. */
static yc_val serve_task(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_stream_serve(lfd, serve_echo, NULL);
    } YC_FINALLY {
        shutdown(lfd, SHUT_RDWR);
    } YC_END;
    return YC_NONE;
}

static yc_val serve_main(void *arg)
{
    (void)arg;
    int seen = unraisables;
    yc_task *srv = yc_task_spawn(serve_task, NULL, NULL);
    if (!srv) YC_CHECK(-1);
    YC_TRY {
        size_t n = 0;
        char line[8];
        YC_TRY {
            yc_stream *c = yc_stream_open_connection("127.0.0.1", yc_io_local_port(lfd));
            YC_TRY {
                YC_CHECK(yc_stream_write(c, "hi\n", 3));
                yc_stream_drain(c);
                const char *p = yc_stream_readline(c, &n);
                memcpy(line, p, n < sizeof line ? n : sizeof line);
            } YC_FINALLY {
                yc_stream_free(c);
            } YC_END;
        } YC_EXCEPT(&yc_ConnectionResetError) {
            /* the server failed and reset the queued connection: its error
             * comes from the await below */
        } YC_END;
        /* a handler that met a MemoryError is reported and its connection
         * closed: the client sees the end of file */
        if (n == 0 && unraisables != seen) yc_raise(yc_exc_new(&yc_MemoryError, NULL));
        if (n) fp_add("serve %.*s;", (int)(n < sizeof line ? n : sizeof line), line);
        yc_task_cancel(srv, NULL);
        YC_TRY {
            yc_await(srv);
        } YC_EXCEPT(&yc_CancelledError) {
            fp_add("server cancelled;");
        } YC_EXCEPT(&yc_ExceptionGroup) {
            reraise_oom_or_log();
        } YC_END;
    } YC_FINALLY {
        yc_task_cancel(srv, NULL);
        yc_task_unref(srv);
    } YC_END;
    return YC_NONE;
}

static int op_serve(void)
{
    fds_before = count_fds();
    lfd = yc_io_listen_tcp("127.0.0.1", 0, 8);
    if (lfd < 0) return failed();
    int r = run_main(serve_main, NULL);
    close(lfd);
    return fds_check(r);
}

static const fault_op io_ops[] = {
    {"io_streams", op_stream, NULL},
    {"io_socketpair_echo", op_pair, NULL},
    {"io_tcp_accept_connect", op_tcp, NULL},
    {"io_udp_vec_wait", op_misc, NULL},
    {"io_close_wakes", op_close, NULL},
    {"io_timeout_read", op_timeout, NULL},
    {"io_stream_serve", op_serve, NULL},
};

TEST(faults_io)
{
    sweep_all(io_ops, sizeof io_ops / sizeof io_ops[0]);
    CHECK(sweep_total_rounds > 50);
}

TEST_MAIN()
