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
 * (drops the malformed lines) -> yc_iter_for_each(account).
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

typedef struct path_count {
    char *path; /* owned */
    size_t len;
    long long count;
} path_count;

typedef struct stats {
    long long status[1000];
    long long requests, bytes;
    path_count *table; /* open addressing, capacity a power of two */
    size_t cap, used;
} stats;

static uint64_t hash(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static void table_grow(stats *st)
{
    size_t ncap = st->cap ? st->cap * 2 : 1024;
    path_count *t = calloc(ncap, sizeof *t);
    if (!t) {
        perror("logstats");
        exit(1);
    }
    for (size_t i = 0; i < st->cap; i++) {
        if (!st->table[i].path) continue;
        size_t j = hash(st->table[i].path, st->table[i].len) & (ncap - 1);
        while (t[j].path) j = (j + 1) & (ncap - 1);
        t[j] = st->table[i];
    }
    free(st->table);
    st->table = t;
    st->cap = ncap;
}

static void count_path(stats *st, const char *p, size_t n)
{
    if (st->used * 10 >= st->cap * 7) table_grow(st);
    size_t j = hash(p, n) & (st->cap - 1);
    while (st->table[j].path) {
        if (st->table[j].len == n && memcmp(st->table[j].path, p, n) == 0) {
            st->table[j].count++;
            return;
        }
        j = (j + 1) & (st->cap - 1);
    }
    char *copy = malloc(n + 1); /* the line is borrowed: keep a copy */
    if (!copy) {
        perror("logstats");
        exit(1);
    }
    memcpy(copy, p, n);
    copy[n] = '\0';
    st->table[j] = (path_count){copy, n, 1};
    st->used++;
}

/* The consumer: yc_iter_for_each's callback. */
static bool account(void *ctx, yc_val v)
{
    stats *st = ctx;
    const request *r = v.p;
    st->requests++;
    st->bytes += r->bytes;
    if (r->status >= 100 && r->status < 1000) st->status[r->status]++;
    count_path(st, r->path, r->path_len);
    return true;
}

static int by_count(const void *a, const void *b)
{
    const path_count *x = a, *y = b;
    if (x->count != y->count) return x->count < y->count ? 1 : -1;
    return strcmp(x->path, y->path);
}

static void report(stats *st, const parser *ps)
{
    printf("requests: %lld (lines: %lld, malformed: %lld)\n", st->requests, ps->lines,
           ps->malformed);
    printf("bytes served: %lld (%.2f GB)\n", st->bytes, (double)st->bytes / 1e9);
    printf("requests per status code:\n");
    for (int s = 100; s < 1000; s++)
        if (st->status[s])
            printf("  %d %12lld  %5.1f%%\n", s, st->status[s],
                   100.0 * (double)st->status[s] / (double)(st->requests ? st->requests : 1));
    size_t n = 0;
    for (size_t i = 0; i < st->cap; i++)
        if (st->table[i].path) st->table[n++] = st->table[i];
    qsort(st->table, n, sizeof *st->table, by_count);
    printf("top %d paths (of %zu distinct):\n", n < 10 ? (int)n : 10, n);
    for (size_t i = 0; i < n && i < 10; i++)
        printf("  %2zu. %-40s %12lld\n", i + 1, st->table[i].path, st->table[i].count);
    for (size_t i = 0; i < n; i++) free(st->table[i].path);
    free(st->table);
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

    yc_iter *reqs = requests(lines, &ps); /* NULL if opening failed: the error is pending */
    int rc = reqs ? yc_iter_for_each(reqs, account, &st) : YC_RAISE;
    yc_iter_free(reqs); /* closes the file */
    if (mem) fclose(mem);
    if (rc < 0) {
        yc_exc *e = yc_err_take();
        yc_exc_print(e, stderr);
        yc_exc_unref(e);
        return 1;
    }

    clock_gettime(CLOCK_MONOTONIC, &t1);
    report(&st, &ps);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fflush(stdout); /* the report first, then the figures on stderr */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    fprintf(stderr, "logstats: %lld bytes, %lld lines in %.2f s: %.0f MB/s; peak RSS %ld KiB\n",
            ps.input_bytes, ps.lines, secs, (double)ps.input_bytes / 1e6 / (secs > 0 ? secs : 1e-9),
            ru.ru_maxrss);
    return 0;
}
