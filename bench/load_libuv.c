/* The libuv peer of bench/load.sh: the same two servers as load_yieldc.c,
 * written the way a libuv server is written (callbacks, one loop, one
 * thread), against Debian's libuv1-dev:
 *
 *   load_libuv ping PORT    Redis PING, inline and RESP forms
 *   load_libuv http PORT    HTTP/1.1 hello with keep-alive
 *
 * Each connection keeps a small input buffer; every complete command or
 * request in it is answered, and the answers of one read go out in one
 * uv_try_write (uv_write for what does not fit). Prints "ready" once
 * listening; SIGINT stops it.
 */
#define _GNU_SOURCE
#include <uv.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define INBUF 65536

typedef struct conn {
    uv_tcp_t tcp;
    size_t len;
    char in[INBUF];
} conn;

typedef struct wreq {
    uv_write_t req;
    uv_buf_t buf;
    char data[];
} wreq;

static bool http_mode;
static uv_loop_t *loop;

static const char PONG[] = "+PONG\r\n";
static const char ERR[] = "-ERR unknown command\r\n";
static const char HELLO[] = "HTTP/1.1 200 OK\r\n"
                            "Content-Type: text/plain\r\n"
                            "Content-Length: 13\r\n"
                            "\r\n"
                            "Hello, World!";

static void on_close(uv_handle_t *h) { free(h); }

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    (void)hint;
    conn *c = (conn *)h;
    buf->base = c->in + c->len;
    buf->len = INBUF - c->len;
}

static void on_written(uv_write_t *req, int status)
{
    (void)status;
    free(req);
}

/* Appends to out (grown as needed). */
static void put(char **out, size_t *n, size_t *cap, const char *s, size_t len)
{
    if (*n + len > *cap) {
        *cap = (*n + len) * 2;
        *out = realloc(*out, *cap);
        if (!*out) abort();
    }
    memcpy(*out + *n, s, len);
    *n += len;
}

/* Parses the Redis commands in p[0, n); returns how many bytes were
 * consumed (complete commands), -1 on a protocol error. */
static long parse_ping(const char *p, size_t n, char **out, size_t *on, size_t *cap)
{
    size_t pos = 0;
    for (;;) {
        const char *q = p + pos, *end = p + n;
        const char *eol = memchr(q, '\n', (size_t)(end - q));
        if (!eol) return (long)pos;
        if (*q == '*') {
            long argc = strtol(q + 1, NULL, 10);
            if (argc < 1 || argc > 1024) return -1;
            const char *r = eol + 1, *a0 = NULL;
            long a0len = 0;
            for (long i = 0; i < argc; i++) {
                const char *e = memchr(r, '\n', (size_t)(end - r));
                if (!e) return (long)pos;
                if (*r != '$') return -1;
                long len = strtol(r + 1, NULL, 10);
                if (len < 0 || len > 1 << 20) return -1;
                if (e + 1 + len + 2 > end) return (long)pos;
                if (i == 0) a0 = e + 1, a0len = len;
                r = e + 1 + len + 2;
            }
            bool ping = argc == 1 && a0len == 4 && strncasecmp(a0, "PING", 4) == 0;
            if (ping) put(out, on, cap, PONG, sizeof PONG - 1);
            else put(out, on, cap, ERR, sizeof ERR - 1);
            pos = (size_t)(r - p);
        } else {
            size_t len = (size_t)(eol - q);
            if (len && q[len - 1] == '\r') len--;
            if (len) {
                if (len == 4 && strncasecmp(q, "PING", 4) == 0) put(out, on, cap, PONG, sizeof PONG - 1);
                else put(out, on, cap, ERR, sizeof ERR - 1);
            }
            pos = (size_t)(eol + 1 - p);
        }
    }
}

/* HTTP: one hello per complete header block. */
static long parse_http(const char *p, size_t n, char **out, size_t *on, size_t *cap)
{
    size_t pos = 0;
    for (;;) {
        const char *e = memmem(p + pos, n - pos, "\r\n\r\n", 4);
        if (!e) return (long)pos;
        put(out, on, cap, HELLO, sizeof HELLO - 1);
        pos = (size_t)(e + 4 - p);
    }
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    (void)buf;
    conn *c = (conn *)s;
    if (nread < 0) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    c->len += (size_t)nread;
    /* one output buffer for the whole (single-threaded) server */
    static char *out;
    static size_t cap;
    size_t on = 0;
    long used = http_mode ? parse_http(c->in, c->len, &out, &on, &cap)
                          : parse_ping(c->in, c->len, &out, &on, &cap);
    if (used < 0 || (used == 0 && c->len == INBUF)) {
        uv_close((uv_handle_t *)s, on_close);
        return;
    }
    memmove(c->in, c->in + used, c->len - (size_t)used);
    c->len -= (size_t)used;
    if (on) {
        uv_buf_t b = uv_buf_init(out, (unsigned)on);
        int w = uv_try_write(s, &b, 1);
        if (w < 0 && w != UV_EAGAIN) {
            uv_close((uv_handle_t *)s, on_close);
            return;
        }
        size_t done = w > 0 ? (size_t)w : 0;
        if (done < on) {
            wreq *r = malloc(sizeof *r + on - done);
            if (!r) abort();
            memcpy(r->data, out + done, on - done);
            r->buf = uv_buf_init(r->data, (unsigned)(on - done));
            uv_write(&r->req, s, &r->buf, 1, on_written);
        }
    }
}

static void on_conn(uv_stream_t *server, int status)
{
    if (status < 0) return;
    conn *c = malloc(sizeof *c);
    if (!c) abort();
    c->len = 0;
    uv_tcp_init(loop, &c->tcp);
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, on_close);
        return;
    }
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_sigint(uv_signal_t *h, int sig)
{
    (void)sig;
    uv_stop(h->loop);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "ping") != 0 && strcmp(argv[1], "http") != 0)) {
        fprintf(stderr, "usage: load_libuv ping|http PORT\n");
        return 2;
    }
    http_mode = strcmp(argv[1], "http") == 0;
    loop = uv_default_loop();
    uv_tcp_t server;
    struct sockaddr_in addr;
    uv_tcp_init(loop, &server);
    uv_ip4_addr("127.0.0.1", atoi(argv[2]), &addr);
    int rc = uv_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
    if (rc == 0) rc = uv_listen((uv_stream_t *)&server, 4096, on_conn);
    if (rc != 0) {
        fprintf(stderr, "load_libuv: %s\n", uv_strerror(rc));
        return 1;
    }
    uv_signal_t sig;
    uv_signal_init(loop, &sig);
    uv_signal_start(&sig, on_sigint, SIGINT);
    printf("ready\n");
    fflush(stdout);
    uv_run(loop, UV_RUN_DEFAULT);
    return 0;
}
