/*
 * logstats: one pass over an access log of any size, in constant memory.
 *
 *   logstats            runs on a small built-in sample log
 *   logstats FILE       reads an access log (Common Log Format)
 *   logstats -          reads it from standard input, e.g.
 *                       gen_access_log 1G | logstats -
 *
 * It prints the requests per status code, the 10 most requested paths and
 * the bytes served, then (on stderr) the throughput and the peak RSS. The
 * memory it needs depends on the number of distinct paths, never on the
 * size of the input: the lines are read through one buffer and each is
 * forgotten once counted.
 *
 * The pipeline, as a Python programmer would write it:
 *
 *     def requests(lines):                       # a reusable stage
 *         return (r for r in map(parse, lines) if r is not None)
 *     for r in requests(open(path, "rb")):
 *         account(r)
 *
 * and in C: yc_iter_lines_* -> yc_iter_map_batch(parse) -> yc_iter_filter
 * (drops the malformed lines) -> yc_iter_for_each(account), where account
 * counts the paths in a yc_counter (collections.Counter) whose
 * most_common(10) gives the top paths.
 */
#define _GNU_SOURCE
#include <yieldc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

/* ---- one parsed request ---------------------------------------------------- */

typedef struct request {
    const char *path; /* points into the line: valid until the next pull */
    size_t path_len;
    int status;
    long long bytes;
} request;

typedef struct parser {
    request slots[YC_BATCH]; /* one per value of a block */
    long long lines, malformed, input_bytes;
} parser;

/* Parses `... "METHOD PATH PROTO" STATUS BYTES`; false when malformed. */
static bool parse_line(const char *s, size_t n, request *r)
{
    const char *end = s + n, *q = memchr(s, '"', n);
    if (!q) return false;
    const char *method_end = memchr(q, ' ', (size_t)(end - q));
    if (!method_end) return false;
    const char *path = method_end + 1;
    const char *close = memchr(path, '"', (size_t)(end - path));
    if (!close) return false;
    const char *path_end = memchr(path, ' ', (size_t)(close - path));
    if (!path_end) return false; /* no protocol: a truncated request */
    const char *p = close + 1;
    if (p + 5 > end || *p != ' ') return false;
    p++;
    int status = 0;
    for (int i = 0; i < 3; i++, p++) {
        if (*p < '0' || *p > '9') return false;
        status = status * 10 + (*p - '0');
    }
    if (p >= end || *p != ' ') return false;
    p++;
    long long bytes = 0;
    if (p < end && *p == '-') {
        p++;
    } else {
        const char *d = p;
        while (p < end && *p >= '0' && *p <= '9') bytes = bytes * 10 + (*p++ - '0');
        if (p == d) return false;
    }
    r->path = path;
    r->path_len = (size_t)(path_end - path);
    r->status = status;
    r->bytes = bytes;
    return true;
}

/* The map stage's block callback: each line becomes a PTR to its parsed
 * request, or None when it is malformed. */
static void parse_block(void *ctx, yc_val *xs, size_t n)
{
    parser *ps = ctx;
    for (size_t i = 0; i < n; i++) {
        ps->lines++;
        ps->input_bytes += (long long)yc_len(xs[i]);
        if (parse_line(xs[i].s, yc_len(xs[i]), &ps->slots[i])) {
            xs[i] = yc_ptr(&ps->slots[i]);
        } else {
            ps->malformed++;
            xs[i] = YC_NONE;
        }
    }
}

/* A pipeline packaged as a function: lines in, well-formed requests out.
 * Takes `lines` (the stages own it from here on). */
static yc_iter *requests(yc_iter *lines, parser *ps)
{
    return yc_iter_filter(yc_iter_map_batch(lines, parse_block, ps), NULL, NULL);
}

/* ---- the counts ------------------------------------------------------------ */

typedef struct stats {
    long long status[1000];
    long long requests, bytes;
    yc_counter *paths; /* collections.Counter of the paths */
} stats;

/* The consumer: yc_iter_for_each's callback. The path points into the
 * line; the counter copies a path the first time it sees it. */
static bool account(void *ctx, yc_val v)
{
    stats *st = ctx;
    const request *r = v.p;
    st->requests++;
    st->bytes += r->bytes;
    if (r->status >= 100 && r->status < 1000) st->status[r->status]++;
    YC_CHECK(yc_counter_add(st->paths, yc_bytes(r->path, r->path_len), 1)); /* raises on failure */
    return true;
}

static int report(stats *st, const parser *ps)
{
    printf("requests: %lld (lines: %lld, malformed: %lld)\n", st->requests, ps->lines,
           ps->malformed);
    printf("bytes served: %lld (%.2f GB)\n", st->bytes, (double)st->bytes / 1e9);
    printf("requests per status code:\n");
    for (int s = 100; s < 1000; s++)
        if (st->status[s])
            printf("  %d %12lld  %5.1f%%\n", s, st->status[s],
                   100.0 * (double)st->status[s] / (double)(st->requests ? st->requests : 1));
    yc_vec top; /* Counter.most_common(10): (path, count) tuples */
    if (yc_counter_most_common(st->paths, 10, &top) < 0) return YC_RAISE;
    printf("top %zu paths (of %zu distinct):\n", top.len, yc_counter_len(st->paths));
    for (size_t i = 0; i < top.len; i++) {
        const yc_tuple *t = yc_tuple_of(top.items[i]);
        yc_val path = t->items[0];
        printf("  %2zu. %-40.*s %12lld\n", i + 1, (int)yc_len(path), path.s,
               (long long)t->items[1].i);
    }
    yc_vec_free(&top);
    return YC_OK;
}

static const char sample[] =
    "192.0.2.1 - - [10/Oct/2024:13:55:36 +0000] \"GET / HTTP/1.1\" 200 5120\n"
    "192.0.2.7 - - [10/Oct/2024:13:55:37 +0000] \"GET /products/42 HTTP/1.1\" 200 811\n"
    "192.0.2.7 - - [10/Oct/2024:13:55:37 +0000] \"GET /static/app.js HTTP/1.1\" 304 -\n"
    "198.51.100.3 - - [10/Oct/2024:13:55:38 +0000] \"GET /products/42 HTTP/1.1\" 200 811\n"
    "198.51.100.3 - - [10/Oct/2024:13:55:39 +0000] \"POST /cart/add HTTP/1.1\" 302 -\n"
    "203.0.113.9 - - [10/Oct/2024:13:55:40 +0000] \"GET /nope HTTP/1.1\" 404 153\n"
    "203.0.113.9 - - [10/Oct/2024:13:55:41 +0000] \"GET /trunc\n"
    "192.0.2.1 - - [10/Oct/2024:13:55:42 +0000] \"GET / HTTP/1.1\" 200 5120\n"
    "192.0.2.1 - - [10/Oct/2024:13:55:43 +0000] \"GET /api/v1/users/7 HTTP/1.1\" 500 87";

int main(int argc, char **argv)
{
    yc_iter *lines;
    FILE *mem = NULL;
    if (argc < 2) { /* the built-in sample, read from memory like a file */
        mem = fmemopen((void *)sample, sizeof sample - 1, "r");
        lines = yc_iter_lines_file(mem, NULL);
        printf("(the built-in sample; run `logstats FILE` or `... | logstats -` on a real log)\n");
    } else if (strcmp(argv[1], "-") == 0) {
        lines = yc_iter_lines_fd(0, NULL);
    } else {
        lines = yc_iter_lines_path(argv[1], NULL);
    }
    static parser ps;
    static stats st;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);

    st.paths = yc_counter_new();
    yc_iter *reqs = requests(lines, &ps); /* NULL if opening failed: the error is pending */
    int rc = reqs && st.paths ? yc_iter_for_each(reqs, account, &st) : YC_RAISE;
    yc_iter_free(reqs); /* closes the file */
    if (mem) fclose(mem);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc == YC_OK) rc = report(&st, &ps);
    yc_counter_free(st.paths);
    if (rc < 0) {
        yc_err_print(); /* the exception, as Python prints it */
        return 1;
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fflush(stdout); /* the report first, then the figures on stderr */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "logstats: %lld bytes, %lld lines in %.2f s: %.0f MB/s; peak RSS %ld KiB\n",
            ps.input_bytes, ps.lines, secs, (double)ps.input_bytes / 1e6 / (secs > 0 ? secs : 1e-9),
            ru.ru_maxrss);
    return 0;
}
