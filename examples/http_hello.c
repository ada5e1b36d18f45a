/*
 * http_hello: an HTTP/1.1 "hello" server with keep-alive, and its clients.
 *
 * One task per connection reads requests in straight-line code: the
 * request line, the headers (Connection, Content-Length), the body (read
 * and discarded), then writes "Hello, world!" and goes on with the next
 * request on the same connection unless the client asked to close (or
 * spoke HTTP/1.0 without keep-alive). A malformed request gets 400 and
 * the connection is closed. In Python:
 *
 *     async def handle(reader, writer):
 *         while (req := await read_request(reader)) is not None:
 *             writer.write(response(req))
 *             await writer.drain()
 *             if not req.keep_alive: break
 *         writer.close()
 *
 * Without arguments it runs the server and client tasks in one loop and
 * checks the answers (keep-alive, pipelining, Connection: close, HTTP/1.0,
 * bodies, malformed requests, 50 concurrent clients), then stops the
 * server with SIGTERM as serve mode does. With `--serve PORT`
 * it serves 127.0.0.1:PORT (0: a free port, printed) until SIGINT or
 * SIGTERM, then stops cleanly and exits 0: examples/load_demo.sh loads it
 * with wrk.
 */
#include <yieldc.h>

#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_HEADERS 100
#define MAX_BODY (1 << 20) /* larger bodies get 413 */
#define HELLO "Hello, world!\n"

static long requests, connections, bad_requests;

/* ---- the server -------------------------------------------------------- */

typedef struct request {
    bool head;       /* HEAD: no body in the answer */
    bool keep_alive; /* the connection stays open after the answer */
    bool http10;     /* HTTP/1.0: keep-alive is said in the answer */
    long body;       /* Content-Length, -1 when absent */
} request;

/* RFC 9110's token characters (method and header names). */
static bool is_tchar(int c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Length of s[0..n) without its line ending ("\r\n" or "\n"). */
static size_t chomp(const char *s, size_t n)
{
    if (n && s[n - 1] == '\n') n--;
    if (n && s[n - 1] == '\r') n--;
    return n;
}

/* "METHOD SP target SP HTTP/1.x": 0 and fills rq, or -1 when malformed. */
static int parse_request_line(const char *s, size_t n, request *rq)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i])) i++;
    if (i == 0 || i == n || s[i] != ' ') return -1;
    rq->head = i == 4 && memcmp(s, "HEAD", 4) == 0;
    size_t t = ++i;
    while (i < n && s[i] != ' ' && (unsigned char)s[i] > 0x20 && s[i] != 0x7f) i++;
    if (i == t || i == n || s[i] != ' ') return -1;
    i++;
    if (n - i != 8 || memcmp(s + i, "HTTP/1.", 7) != 0) return -1;
    if (s[i + 7] == '1') rq->keep_alive = true;       /* 1.1: keep-alive unless "close" */
    else if (s[i + 7] == '0') rq->http10 = true;      /* 1.0: close unless "keep-alive" */
    else return -1;
    return 0;
}

/* Whether comma-separated list v[0..n) holds token tok (case-insensitive). */
static bool has_token(const char *v, size_t n, const char *tok)
{
    size_t len = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ',')) i++;
        size_t j = i;
        while (j < n && v[j] != ',') j++;
        size_t e = j;
        while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t')) e--;
        if (e - i == len && strncasecmp(v + i, tok, len) == 0) return true;
        i = j;
    }
    return false;
}

/* One header line "name: value" into rq: 0, or the status to answer
 * with (400, 501 for a Transfer-Encoding we do not decode). */
static int parse_header(const char *s, size_t n, request *rq)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i])) i++;
    if (i == 0 || i == n || s[i] != ':') return 400; /* no space allowed before ':' */
    size_t name = i++;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    const char *v = s + i;
    size_t vn = n - i;
    while (vn && (v[vn - 1] == ' ' || v[vn - 1] == '\t')) vn--;
    if (name == 10 && strncasecmp(s, "Connection", 10) == 0) {
        if (has_token(v, vn, "close")) rq->keep_alive = false;
        else if (has_token(v, vn, "keep-alive")) rq->keep_alive = true;
    } else if (name == 14 && strncasecmp(s, "Content-Length", 14) == 0) {
        if (vn == 0 || vn > 18) return 400;
        long len = 0;
        for (size_t k = 0; k < vn; k++) {
            if (!isdigit((unsigned char)v[k])) return 400;
            len = len * 10 + (v[k] - '0');
        }
        if (rq->body >= 0 && rq->body != len) return 400; /* two different lengths */
        rq->body = len;
    } else if (name == 17 && strncasecmp(s, "Transfer-Encoding", 17) == 0) {
        return 501;
    }
    return 0;
}

/* Reads one request, its body discarded. Returns 200, the error status to
 * answer with (the connection is closed after it), or 0 when the client
 * closed (before a request, or in the middle of one). */
static int read_request(yc_stream *s, request *rq)
{
    volatile int status = 200; /* changed in YC_TRY, read after it */
    *rq = (request){.body = -1};
    YC_TRY {
        size_t n;
        const char *line = yc_stream_readline(s, &n);
        if (n == 0 || line[n - 1] != '\n') {
            status = 0; /* end of file */
        } else if (parse_request_line(line, chomp(line, n), rq) < 0) {
            status = 400;
        } else {
            for (int h = 0;; h++) {
                line = yc_stream_readline(s, &n);
                if (n == 0 || line[n - 1] != '\n') {
                    status = 0;
                    break;
                }
                size_t len = chomp(line, n);
                if (len == 0) break; /* end of the headers */
                if (h == MAX_HEADERS) status = 400;
                int st = status == 200 ? parse_header(line, len, rq) : 0;
                if (st) status = st; /* keep reading to the blank line */
            }
            if (status == 200 && rq->body > MAX_BODY) status = 413;
            for (long left = status == 200 ? rq->body : 0; left > 0;) {
                long k = left < 65536 ? left : 65536;
                yc_stream_readexactly(s, k);
                left -= k;
            }
        }
    } YC_EXCEPT(&yc_ValueError) { /* a line over the stream's limit */
        status = 400;
    } YC_EXCEPT(&yc_IncompleteReadError) { /* closed inside the body */
        status = 0;
    } YC_END;
    return status;
}

static void respond(yc_stream *s, int status, const request *rq, bool keep)
{
    const char *reason = status == 200   ? "OK"
                         : status == 400 ? "Bad Request"
                         : status == 413 ? "Content Too Large"
                                         : "Not Implemented";
    const char *body = status == 200 ? HELLO : "";
    size_t blen = strlen(body);
    char buf[256];
    int n = snprintf(buf, sizeof buf,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
                     status, reason, blen,
                     !keep ? "Connection: close\r\n" : rq->http10 ? "Connection: keep-alive\r\n" : "",
                     rq->head ? "" : body);
    if (yc_stream_write(s, buf, (size_t)n) != YC_OK) yc_raise(yc_err_take());
    yc_stream_drain(s);
}

/* The connection handler: requests until the client closes, asks to, or
 * sends a malformed one. yc_stream_serve closes the stream afterwards. */
static void on_connect(yc_stream *s, void *arg)
{
    (void)arg;
    connections++;
    for (bool keep = true; keep;) {
        request rq;
        int status = read_request(s, &rq);
        if (status == 0) return;
        keep = status == 200 && rq.keep_alive;
        requests++;
        if (status != 200) bad_requests++;
        respond(s, status, &rq, keep);
    }
}

typedef struct server_args {
    int lfd;
} server_args;

static yc_val server(void *arg)
{
    server_args *a = arg;
    yc_stream_serve(a->lfd, on_connect, NULL);
    return YC_NONE;
}

/* Cancels the server task (the signal handlers' callback). */
static void stop_server(void *arg)
{
    yc_task_cancel(arg, "stopped by a signal");
}

/* Awaits the server after it was cancelled. */
static void await_stopped(yc_task *srv)
{
    YC_TRY {
        yc_await(srv);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
}

/* ---- the clients ------------------------------------------------------- */

static long checks, failures;

static void check(bool ok, const char *what)
{
    checks++;
    if (!ok) {
        failures++;
        printf("FAILED: %s\n", what);
    }
}

typedef struct response {
    int status;
    bool close; /* Connection: close */
    bool hello; /* the body is HELLO */
} response;

/* Reads one response (status line, headers, a Content-Length body). */
static response read_response(yc_stream *s)
{
    response r = {0};
    size_t n;
    const char *line = yc_stream_readline(s, &n);
    char head[64];
    size_t k = n < sizeof head ? n : sizeof head - 1;
    memcpy(head, line, k);
    head[k] = '\0';
    if (sscanf(head, "HTTP/1.1 %d", &r.status) != 1)
        yc_raise(yc_exc_new(&yc_ValueError, "bad status line: %s", head));
    long len = 0;
    while ((line = yc_stream_readline(s, &n)), chomp(line, n) > 0) {
        if (n > 15 && strncasecmp(line, "Content-Length:", 15) == 0) len = atol(line + 15);
        if (n >= 17 && strncasecmp(line, "Connection: close", 17) == 0) r.close = true;
    }
    if (len > 0) {
        line = yc_stream_readexactly(s, len);
        r.hello = (size_t)len == strlen(HELLO) && memcmp(line, HELLO, (size_t)len) == 0;
    }
    return r;
}

/* Whether the server closed the connection (end of file is next). */
static bool closed_by_server(yc_stream *s)
{
    size_t n;
    yc_stream_read(s, 1, &n);
    return n == 0;
}

static int port;

static yc_stream *send_raw(yc_stream *s, const char *req)
{
    if (yc_stream_write(s, req, strlen(req)) != YC_OK) yc_raise(yc_err_take());
    yc_stream_drain(s);
    return s;
}

#define GET "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"

/* Each scenario runs on a connection of its own. */
static void keep_alive(yc_stream *s)
{
    int ok = 0;
    for (int i = 0; i < 5; i++) {
        response r = read_response(send_raw(s, GET));
        ok += r.status == 200 && r.hello && !r.close;
    }
    check(ok == 5, "5 requests on one keep-alive connection");
}

static void pipelined(yc_stream *s)
{
    send_raw(s, GET GET "HEAD / HTTP/1.1\r\n\r\n");
    response a = read_response(s), b = read_response(s);
    check(a.status == 200 && a.hello && b.status == 200 && b.hello, "2 pipelined GETs");
    /* HEAD: Content-Length of the GET answer and no body; the next
     * request's answer must come out right after it. */
    size_t n;
    const char *line = yc_stream_readline(s, &n);
    check(n > 12 && memcmp(line, "HTTP/1.1 200", 12) == 0, "pipelined HEAD answered");
    while ((line = yc_stream_readline(s, &n)), chomp(line, n) > 0) {
    }
    response c = read_response(send_raw(s, GET));
    check(c.status == 200 && c.hello, "HEAD has no body");
}

static void connection_close(yc_stream *s)
{
    response r = read_response(send_raw(s, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n"));
    check(r.status == 200 && r.hello && r.close && closed_by_server(s),
          "Connection: close is answered and closed");
}

static void http10(yc_stream *s)
{
    response r =
        read_response(send_raw(s, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"));
    check(r.status == 200 && !r.close, "HTTP/1.0 with Connection: keep-alive stays open");
    r = read_response(send_raw(s, "GET / HTTP/1.0\r\n\r\n"));
    check(r.status == 200 && r.close && closed_by_server(s), "HTTP/1.0 without it is closed");
}

static void with_body(yc_stream *s)
{
    response r = read_response(send_raw(s, "POST / HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello"));
    response z = read_response(send_raw(s, "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n" GET));
    response g = read_response(s);
    check(r.status == 200 && z.status == 200 && g.status == 200 && g.hello && !g.close,
          "bodies (5 bytes, then 0) are skipped and the connection goes on");
}

static const char *const malformed[] = {
    "GARBAGE\r\n\r\n",
    "GET /\r\n\r\n",
    "GET / HTTP/2.0\r\n\r\n",
    "GET  / HTTP/1.1\r\n\r\n",
    "GET /\tHTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
    "GET / HTTP/1.1\r\nContent-Length: 12ab\r\n\r\n",
    "GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nx",
};

static yc_val malformed_client(void *arg)
{
    const char *req = arg;
    yc_stream *s = yc_stream_open_connection("127.0.0.1", port);
    YC_TRY {
        response r = read_response(send_raw(s, req));
        char what[128];
        snprintf(what, sizeof what, "400 and close for %.40s", req);
        check(r.status == 400 && r.close && closed_by_server(s), what);
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    return YC_NONE;
}

static yc_val scenario(void *arg)
{
    void (*const *fn)(yc_stream *) = arg; /* an element of scenarios[] */
    yc_stream *s = yc_stream_open_connection("127.0.0.1", port);
    YC_TRY {
        (*fn)(s);
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    return YC_NONE;
}

#define LOAD_CLIENTS 50
#define LOAD_REQUESTS 20
static long load_ok;

static yc_val load_client(void *arg)
{
    (void)arg;
    yc_stream *s = yc_stream_open_connection("127.0.0.1", port);
    YC_TRY {
        for (int i = 0; i < LOAD_REQUESTS; i++) {
            response r = read_response(send_raw(s, GET));
            load_ok += r.status == 200 && r.hello;
        }
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    return YC_NONE;
}

static void spawn_in(yc_taskgroup *g, yc_gen_fn fn, void *arg)
{
    yc_task *t = yc_taskgroup_spawn(g, fn, arg, NULL);
    if (!t) yc_raise(yc_err_take());
    yc_task_unref(t);
}

static void run_clients(void)
{
    static void (*const scenarios[])(yc_stream *) = {keep_alive, pipelined, connection_close,
                                                     http10, with_body};
    YC_WITH(yc_cm_taskgroup(), g) {
        for (size_t i = 0; i < sizeof scenarios / sizeof *scenarios; i++)
            spawn_in(g.p, scenario, (void *)&scenarios[i]);
        for (size_t i = 0; i < sizeof malformed / sizeof *malformed; i++)
            spawn_in(g.p, malformed_client, (void *)malformed[i]);
        for (int i = 0; i < LOAD_CLIENTS; i++) spawn_in(g.p, load_client, NULL);
    } YC_END_WITH;
    check(load_ok == LOAD_CLIENTS * LOAD_REQUESTS, "every request of the concurrent clients");
}

/* ---- main -------------------------------------------------------------- */

static int serve_port = -1; /* --serve PORT */

static yc_val main_task(void *arg)
{
    server_args *a = arg;
    a->lfd = yc_io_listen_tcp("127.0.0.1", serve_port < 0 ? 0 : serve_port, 1024);
    if (a->lfd < 0) yc_raise(yc_err_take());
    port = yc_io_local_port(a->lfd);
    yc_task *srv = yc_task_spawn(server, a, NULL);
    if (!srv) {
        yc_io_close(a->lfd);
        yc_raise(yc_err_take());
    }
    YC_TRY {
        yc_loop *loop = yc_loop_current();
        if (yc_loop_add_signal_handler(loop, SIGINT, stop_server, srv) != YC_OK ||
            yc_loop_add_signal_handler(loop, SIGTERM, stop_server, srv) != YC_OK)
            yc_raise(yc_err_take());
        if (serve_port >= 0) {
            printf("listening on 127.0.0.1:%d (SIGINT or SIGTERM stops)\n", port);
            fflush(stdout);
            await_stopped(srv); /* until a signal cancels it */
        } else {
            run_clients();
            /* The way serve mode stops, in-process: SIGTERM's handler
             * cancels the server, which must be done within 5 s
             * (asyncio.wait: waiting cancels nothing itself). */
            kill(getpid(), SIGTERM);
            yc_wait(&srv, 1, 5.0, YC_ALL_COMPLETED);
            check(yc_task_done(srv) && yc_task_cancelled(srv), "SIGTERM stops the server");
        }
    } YC_FINALLY {
        yc_task_cancel(srv, NULL);
        await_stopped(srv);
        yc_task_unref(srv);
        yc_io_close(a->lfd);
    } YC_END;
    return YC_NONE;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--serve") == 0) {
        char *end;
        long p = strtol(argv[2], &end, 10);
        if (*end || end == argv[2] || p < 0 || p > 65535) {
            fprintf(stderr, "http_hello: bad port '%s'\n", argv[2]);
            return 2;
        }
        serve_port = (int)p;
    } else if (argc != 1) {
        fprintf(stderr, "usage: http_hello [--serve PORT]\n");
        return 2;
    }
    server_args a;
    if (yc_loop_run(main_task, &a, NULL, NULL) != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    if (serve_port >= 0) {
        printf("stopped: %ld requests on %ld connections, %ld bad\n", requests, connections,
               bad_requests);
        return 0;
    }
    printf("%ld requests on %ld connections (%ld answered 400), %ld checks, %ld failed\n",
           requests, connections, bad_requests, checks, failures);
    return failures == 0 ? 0 : 1;
}
