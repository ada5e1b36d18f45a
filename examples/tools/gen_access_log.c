/*
 * gen_access_log: writes a synthetic web server access log to stdout.
 *
 *   gen_access_log SIZE [SEED]      SIZE in bytes, with an optional K, M or G
 *                                   suffix (powers of 1000); SEED default 1
 *
 * The output is deterministic for a (SIZE, SEED) pair and is generated on
 * the fly, so a gigabyte of log can be piped into a program without being
 * written to disk (`make demo` pipes 1 GB into logstats). Lines are in the
 * Common Log Format:
 *
 *   198.51.100.23 - - [10/Oct/2024:13:55:36 +0000] "GET /products/42 HTTP/1.1" 200 5123
 *
 * Paths come from a fixed set of 5000 with a skewed popularity, status codes
 * and sizes from fixed weights; about one line in 100000 is malformed. It
 * stops at the first line that would exceed SIZE, so the output is at most
 * SIZE bytes. Uses no yieldc: it is the input, not the program under test.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPATHS 5000

static uint64_t rng_state;

static uint64_t rnd(void) /* xorshift64* */
{
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }

static char *utoa(char *p, uint64_t v) /* decimal digits at p; returns the end */
{
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

static const char *const kinds[] = {"/products/", "/static/js/app.", "/api/v1/users/", "/blog/post-",
                                    "/images/photo", "/search?q=item", "/cart/", "/docs/page-"};
static const char *const suffixes[] = {"", ".js", "", ".html", ".jpg", "", "", ".html"};

static size_t path_of(int i, char *out)
{
    char *p = out;
    if (i == 0) {
        *p++ = '/';
        return 1;
    }
    int k = i % 8;
    size_t n = strlen(kinds[k]);
    memcpy(p, kinds[k], n);
    p = utoa(p + n, (uint64_t)(i / 8));
    n = strlen(suffixes[k]);
    memcpy(p, suffixes[k], n);
    return (size_t)(p + n - out);
}

static uint64_t parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return 0;
    switch (*end) {
    case 'k': case 'K': v *= 1e3; break;
    case 'm': case 'M': v *= 1e6; break;
    case 'g': case 'G': v *= 1e9; break;
    default: break;
    }
    return (uint64_t)v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gen_access_log SIZE[K|M|G] [SEED]\n");
        return 2;
    }
    uint64_t limit = parse_size(argv[1]);
    rng_state = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
    if (rng_state == 0) rng_state = 1;

    static char paths[NPATHS][48];
    static size_t plen[NPATHS];
    for (int i = 0; i < NPATHS; i++) plen[i] = path_of(i, paths[i]);

    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const struct { int code, weight; } statuses[] = {
        {200, 8400}, {304, 600}, {404, 500}, {301, 200}, {302, 100}, {500, 120}, {503, 60}, {403, 20}};
    static const char *const methods[] = {"GET", "GET", "GET", "GET", "POST", "HEAD"};

    static char out[1 << 20];
    size_t w = 0;
    uint64_t written = 0, t = 0; /* seconds since 01/Oct/2024:00:00:00 */
    char line[512];
    for (;;) {
        t += rnd() % 3 == 0;
        char *p = line;
        for (int i = 0; i < 4; i++) { /* the client address */
            p = utoa(p, rnd() % 256);
            *p++ = i < 3 ? '.' : ' ';
        }
        memcpy(p, "- - [", 5);
        p += 5;
        uint64_t day = 1 + (t / 86400) % 28, mon = (9 + t / (86400 * 28)) % 12, sod = t % 86400;
        if (day < 10) *p++ = '0';
        p = utoa(p, day);
        *p++ = '/';
        memcpy(p, months[mon], 3);
        p += 3;
        memcpy(p, "/2024:", 6);
        p += 6;
        uint64_t hms[3] = {sod / 3600, sod / 60 % 60, sod % 60};
        for (int i = 0; i < 3; i++) {
            if (hms[i] < 10) *p++ = '0';
            p = utoa(p, hms[i]);
            *p++ = i < 2 ? ':' : ' ';
        }
        memcpy(p, "+0000] \"", 8);
        p += 8;
        if (rnd() % 100000 == 0) { /* a malformed line: a truncated request */
            memcpy(p, "GET /trunc", 10);
            p += 10;
        } else {
            const char *m = methods[rnd() % 6];
            size_t ml = strlen(m);
            memcpy(p, m, ml);
            p += ml;
            *p++ = ' ';
            double u = rnd01();
            int pi = (int)(NPATHS * u * u * u); /* popular paths first */
            memcpy(p, paths[pi], plen[pi]);
            p += plen[pi];
            memcpy(p, " HTTP/1.1\" ", 11);
            p += 11;
            int r = (int)(rnd() % 10000), code = 200;
            for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
                if (r < statuses[i].weight) {
                    code = statuses[i].code;
                    break;
                }
                r -= statuses[i].weight;
            }
            p = utoa(p, (uint64_t)code);
            *p++ = ' ';
            if (code == 304 || code == 301 || code == 302) *p++ = '-';
            else p = utoa(p, 200 + rnd() % (code == 200 ? 60000 : 2000));
        }
        *p++ = '\n';
        size_t n = (size_t)(p - line);
        if (written + n > limit) break;
        if (w + n > sizeof out) {
            if (fwrite(out, 1, w, stdout) != w) return 1; /* a closed pipe: stop */
            w = 0;
        }
        memcpy(out + w, line, n);
        w += n;
        written += n;
    }
    if (w && fwrite(out, 1, w, stdout) != w) return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}
