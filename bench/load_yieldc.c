/* The yieldc servers of bench/load.sh, single-threaded, on yc_io_* and
 * yc_stream_*:
 *
 *   load_yieldc ping PORT     a Redis PING server: answers +PONG to PING in
 *                             the inline form ("PING\r\n") and the RESP form
 *                             ("*1\r\n$4\r\nPING\r\n"), as redis-benchmark
 *                             sends it; other commands get -ERR
 *   load_yieldc http PORT     an HTTP/1.1 "hello" server with keep-alive
 *   load_yieldc starve SECONDS
 *                             the one-reader starvation check: TIMERS tasks
 *                             sleep 1 ms in a loop while one task reads a
 *                             socket that a writer thread keeps full (its
 *                             reads never wait); prints the timers'
 *                             lateness (p50, p99, max in ms, and how many
 *                             timers fired) as one tab-separated line
 *   load_yieldc config        prints yc_config() (load.sh checks that
 *                             YC_IO_BACKEND=io_uring gets a ring)
 *
 * The servers listen on 127.0.0.1:PORT, print "ready" on stdout once
 * listening, and stop cleanly on SIGINT (yc_loop_run cancels the main
 * task, which cancels the server and its handlers).
 */
#define _GNU_SOURCE
#include <yieldc.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int port;

/* ---- PING ------------------------------------------------------------- */

/* true when the n bytes at p (without their \r\n) say PING in any case */
static bool is_ping(const char *p, size_t n)
{
    return n == 4 && strncasecmp(p, "PING", 4) == 0;
}

/* strips the trailing \r\n (or \n) of a line */
static size_t chomp(const char *p, size_t n)
{
    if (n && p[n - 1] == '\n') n--;
    if (n && p[n - 1] == '\r') n--;
    return n;
}

static const char PONG[] = "+PONG\r\n";
static const char ERR[] = "-ERR unknown command\r\n";

/* One connection: a command per line (inline) or per RESP array. */
static void ping_conn(yc_stream *s, void *arg)
{
    (void)arg;
    YC_TRY {
        for (;;) {
            size_t n;
            const char *line = yc_stream_readline(s, &n);
            if (n == 0) break; /* end of file */
            n = chomp(line, n);
            bool ping;
            if (n > 0 && line[0] == '*') {
                long argc = strtol(line + 1, NULL, 10);
                if (argc < 1 || argc > 1024) break; /* not RESP we speak */
                ping = false;
                for (long i = 0; i < argc; i++) {
                    const char *h = yc_stream_readline(s, &n);
                    n = chomp(h, n);
                    if (n < 2 || h[0] != '$') goto out;
                    long len = strtol(h + 1, NULL, 10);
                    if (len < 0 || len > 1 << 20) goto out;
                    const char *a = yc_stream_readexactly(s, len + 2);
                    if (i == 0) ping = argc == 1 && is_ping(a, (size_t)len);
                }
            } else {
                if (n == 0) continue; /* an empty inline line */
                ping = is_ping(line, n);
            }
            if (ping) yc_stream_write(s, PONG, sizeof PONG - 1);
            else yc_stream_write(s, ERR, sizeof ERR - 1);
            yc_stream_drain(s);
        }
    out:;
    } YC_EXCEPT_TYPES(&yc_OSError, &yc_IncompleteReadError, &yc_ValueError) {
        /* a peer that resets or closes half-way: the connection ends */
    } YC_END;
}

/* ---- HTTP -------------------------------------------------------------- */

static const char HELLO[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/plain\r\n"
                            "Content-Length: 13\r\n"
                            "\r\n"
                            "Hello, World!";
static const char HELLO_CLOSE[] = "HTTP/1.1 200 OK\r\n"
                                  "Content-Type: text/plain\r\n"
                                  "Content-Length: 13\r\n"
                                  "Connection: close\r\n"
                                  "\r\n"
                                  "Hello, World!";

/* true when the header block asks to close (HTTP/1.1 keeps alive unless
 * "Connection: close"; HTTP/1.0 closes unless "keep-alive") */
static bool wants_close(const char *h, size_t n)
{
    bool http10 = n >= 8 && memmem(h, n, "HTTP/1.0\r\n", 10) != NULL;
    for (const char *p = h, *end = h + n; p < end;) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break;
        size_t len = (size_t)(eol - p);
        if (len > 11 && strncasecmp(p, "connection:", 11) == 0) {
            const char *v = p + 11;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            if ((size_t)(eol - v) >= 5 && strncasecmp(v, "close", 5) == 0) return true;
            if ((size_t)(eol - v) >= 10 && strncasecmp(v, "keep-alive", 10) == 0) return false;
        }
        p = eol + 1;
    }
    return http10;
}

static void http_conn(yc_stream *s, void *arg)
{
    (void)arg;
    YC_TRY {
        for (;;) {
            size_t n;
            const char *h = yc_stream_readuntil(s, "\r\n\r\n", 4, &n);
            bool close = wants_close(h, n);
            if (close) yc_stream_write(s, HELLO_CLOSE, sizeof HELLO_CLOSE - 1);
            else yc_stream_write(s, HELLO, sizeof HELLO - 1);
            yc_stream_drain(s);
            if (close) break;
        }
    } YC_EXCEPT_TYPES(&yc_OSError, &yc_IncompleteReadError, &yc_LimitOverrunError) {
        /* end of file between requests (IncompleteReadError with 0 bytes),
         * a reset, or a header block over the limit: the connection ends */
    } YC_END;
}

static yc_val serve_main(void *arg)
{
    yc_stream_handler h = (yc_stream_handler)(uintptr_t)arg;
    int lfd = yc_io_listen_tcp("127.0.0.1", port, 4096);
    if (lfd < 0) yc_raise(yc_err_take());
    printf("ready\n");
    fflush(stdout);
    YC_TRY {
        yc_stream_serve(lfd, h, NULL);
    } YC_FINALLY {
        yc_io_close(lfd);
    } YC_END;
    return YC_NONE;
}

/* ---- starvation check --------------------------------------------------- */

#define TIMERS 10
#define TIMER_DELAY 0.001

static double seconds;
static int flood_fds[2];
static double *lateness; /* ms, one per timer that fired */
static size_t nlate, caplate;
static volatile int stop_writer;
static long long flood_bytes;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* keeps flood_fds[1] full until the check ends, then closes it */
static void *writer(void *arg)
{
    (void)arg;
    static char chunk[65536];
    memset(chunk, 'x', sizeof chunk);
    while (!stop_writer) {
        ssize_t w = write(flood_fds[1], chunk, sizeof chunk);
        if (w < 0 && errno != EINTR && errno != EAGAIN) break;
    }
    shutdown(flood_fds[1], SHUT_WR);
    return NULL;
}

/* the flooding reader: small reads, so that data is always there */
static yc_val reader(void *arg)
{
    (void)arg;
    char buf[512];
    size_t n;
    while ((n = yc_io_read(flood_fds[0], buf, sizeof buf)) > 0) flood_bytes += (long long)n;
    return YC_NONE;
}

static yc_val sleeper(void *arg)
{
    double end = *(double *)arg;
    while (now_s() < end) {
        double due = now_s() + TIMER_DELAY;
        yc_sleep(TIMER_DELAY);
        double late = (now_s() - due) * 1e3;
        if (nlate == caplate) {
            caplate = caplate ? 2 * caplate : 4096;
            double *p = realloc(lateness, caplate * sizeof *p);
            if (!p) yc_raise(yc_exc_new(&yc_MemoryError, "lateness samples"));
            lateness = p;
        }
        lateness[nlate++] = late < 0 ? 0 : late;
    }
    return YC_NONE;
}

static yc_val starve_main(void *arg)
{
    (void)arg;
    static double end;
    end = now_s() + seconds;
    yc_task *t[TIMERS + 1];
    t[0] = yc_task_spawn(reader, NULL, NULL);
    if (!t[0]) yc_raise(yc_err_take());
    for (int i = 1; i <= TIMERS; i++) {
        t[i] = yc_task_spawn(sleeper, &end, NULL);
        if (!t[i]) yc_raise(yc_err_take());
    }
    /* the main task is a timer as well: it ends the flood after `seconds` */
    yc_sleep(seconds);
    stop_writer = 1;
    for (int i = 0; i <= TIMERS; i++) {
        yc_await(t[i]);
        yc_task_unref(t[i]);
    }
    return YC_NONE;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int starve(void)
{
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, flood_fds) != 0) {
        perror("socketpair");
        return 1;
    }
    /* the loop reads a non-blocking end; the writer thread blocks */
    int fl = fcntl(flood_fds[0], F_GETFL);
    if (fl < 0 || fcntl(flood_fds[0], F_SETFL, fl | O_NONBLOCK) != 0) {
        perror("fcntl");
        return 1;
    }
    pthread_t th;
    if (pthread_create(&th, NULL, writer, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }
    int rc = yc_loop_run(starve_main, NULL, NULL, NULL);
    stop_writer = 1;
    pthread_join(th, NULL);
    if (rc != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    close(flood_fds[0]);
    close(flood_fds[1]);
    if (nlate == 0) {
        fprintf(stderr, "starve: no timer fired\n");
        return 1;
    }
    qsort(lateness, nlate, sizeof *lateness, cmp_double);
    double p50 = lateness[nlate / 2], p99 = lateness[(size_t)((double)(nlate - 1) * 0.99)];
    double max = lateness[nlate - 1];
    /* timers, p50_ms, p99_ms, max_ms, timers_fired, flood_mib */
    printf("%d\t%.3f\t%.3f\t%.3f\t%zu\t%.1f\n", TIMERS, p50, p99, max, nlate,
           (double)flood_bytes / (1 << 20));
    free(lateness);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "config") == 0) {
        puts(yc_config());
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "starve") == 0) {
        seconds = atof(argv[2]);
        if (!(seconds > 0 && seconds <= 600)) {
            fprintf(stderr, "load_yieldc starve: SECONDS must be in (0, 600]\n");
            return 2;
        }
        return starve();
    }
    if (argc != 3 || (strcmp(argv[1], "ping") != 0 && strcmp(argv[1], "http") != 0)) {
        fprintf(stderr, "usage: load_yieldc ping|http PORT | starve SECONDS | config\n");
        return 2;
    }
    port = atoi(argv[2]);
    /* a background job of a script starts with SIGINT ignored; yc_loop_run
     * turns SIGINT into a clean stop only from the default disposition */
    signal(SIGINT, SIG_DFL);
    yc_stream_handler h = strcmp(argv[1], "ping") == 0 ? ping_conn : http_conn;
    int rc = yc_loop_run(serve_main, (void *)(uintptr_t)h, NULL, NULL);
    if (rc != YC_OK) {
        yc_exc *e = yc_err_get();
        /* SIGINT: the clean stop that load.sh asks for */
        if (e && yc_exc_is(e, &yc_KeyboardInterrupt)) return 0;
        yc_exc_print(e, stderr);
        return 1;
    }
    return 0;
}
