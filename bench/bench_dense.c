/*
 * Stackless generators (include/yieldc/dense.h) against stackful ones, in
 * one process: round trips, create + first next + free, yield from per
 * level, and memory per live suspended generator. The figures in
 * docs/stackless.md come from this program (their command is there).
 *
 *   yc_bench_dense time [ms]        one "benchmark<TAB>system<TAB>ns" row each
 *   yc_bench_dense density N KIND   RSS per live suspended generator, N of them
 *                                   (KIND: slab, from yc_sgen_new; array, embedded)
 *   yc_bench_dense ONE-NAME n       runs one loop n times (for callgrind)
 *
 * Rows: roundtrip (yc_iter_next), roundtrip-direct (it->type->next),
 * create-close (yc_sgen_new + first next + yc_sgen_free; and embedded:
 * yc_sgen_init + first next + yc_sgen_fini), yieldfrom-1 / yieldfrom-4
 * (per value through 1 or 4 levels of YC_SYIELD_FROM), and the stackful
 * kind's roundtrip (yc_next and yc_iter_next) and create-close for scale.
 */
#include "bench_common.h"

#include <stdbool.h>
#include <string.h>
#include <yieldc.h>

typedef struct {
    yc_sgen sgen;
    int64_t i;
} ctr_t;

YC_SGEN_FN(ctr, ctr_t, s)
{
    YC_SGEN_BEGIN();
    for (;;) YC_SYIELD(yc_int(s->i++));
    YC_SGEN_END();
}

typedef struct {
    yc_sgen sgen;
    yc_iter *sub;
} deleg_t;

YC_SGEN_FN(deleg, deleg_t, s)
{
    YC_SGEN_BEGIN();
    YC_SYIELD_FROM(s->sub);
    YC_SGEN_END();
}

static yc_val stackful_ctr(void *arg)
{
    (void)arg;
    for (int64_t i = 0;; i++) yc_yield(yc_int(i));
    return YC_NONE;
}

static ctr_t g_ctr;
static yc_gen *g_full;
static deleg_t g_chain[4];
static volatile int64_t sink;

__attribute__((noinline)) static void loop_roundtrip(uint64_t n)
{
    yc_val v;
    int64_t acc = 0;
    for (uint64_t k = 0; k < n; k++) {
        yc_iter_next(&g_ctr.sgen.it, &v);
        acc += v.i;
    }
    sink = acc;
}

__attribute__((noinline)) static void loop_roundtrip_direct(uint64_t n)
{
    yc_val v;
    int64_t acc = 0;
    yc_iter *it = &g_ctr.sgen.it;
    for (uint64_t k = 0; k < n; k++) {
        it->type->next(it, &v);
        acc += v.i;
    }
    sink = acc;
}

__attribute__((noinline)) static void loop_create_close(uint64_t n)
{
    yc_val v;
    for (uint64_t k = 0; k < n; k++) {
        yc_sgen *g = yc_sgen_new(&ctr);
        yc_sgen_next(g, &v);
        yc_sgen_free(g);
    }
    sink = 0;
}

__attribute__((noinline)) static void loop_create_close_embedded(uint64_t n)
{
    yc_val v;
    ctr_t c;
    for (uint64_t k = 0; k < n; k++) {
        c.i = 0;
        yc_sgen_init(&c.sgen, &ctr);
        yc_sgen_next(&c.sgen, &v);
        yc_sgen_fini(&c.sgen);
    }
    sink = c.i;
}

static yc_iter *g_top;
__attribute__((noinline)) static void loop_top(uint64_t n)
{
    yc_val v;
    int64_t acc = 0;
    for (uint64_t k = 0; k < n; k++) {
        yc_iter_next(g_top, &v);
        acc += v.i;
    }
    sink = acc;
}

__attribute__((noinline)) static void loop_stackful_next(uint64_t n)
{
    yc_val v;
    int64_t acc = 0;
    for (uint64_t k = 0; k < n; k++) {
        yc_next(g_full, &v);
        acc += v.i;
    }
    sink = acc;
}

__attribute__((noinline)) static void loop_stackful_iter_next(uint64_t n)
{
    yc_val v;
    int64_t acc = 0;
    yc_iter *it = yc_gen_iter(g_full);
    for (uint64_t k = 0; k < n; k++) {
        yc_iter_next(it, &v);
        acc += v.i;
    }
    sink = acc;
}

__attribute__((noinline)) static void loop_stackful_create_close(uint64_t n)
{
    yc_val v;
    for (uint64_t k = 0; k < n; k++) {
        yc_gen *g = yc_gen_new(stackful_ctr, NULL, NULL);
        yc_next(g, &v);
        yc_gen_free(g);
    }
    sink = 0;
}

/* A chain of `levels` delegators over g_ctr; g_top is its outermost. */
static void chain_build(int levels)
{
    /* a fresh counter: dropping an earlier chain closed it */
    yc_sgen_fini(&g_ctr.sgen);
    yc_sgen_init(&g_ctr.sgen, &ctr);
    yc_iter *sub = &g_ctr.sgen.it;
    for (int l = 0; l < levels; l++) {
        g_chain[l].sub = sub;
        yc_sgen_init(&g_chain[l].sgen, &deleg);
        sub = &g_chain[l].sgen.it;
    }
    g_top = sub;
}

static void chain_drop(int levels)
{
    for (int l = levels; l-- > 0;) yc_sgen_fini(&g_chain[l].sgen);
}

static void setup(void)
{
    yc_sgen_init(&g_ctr.sgen, &ctr);
    g_full = yc_gen_new(stackful_ctr, NULL, NULL);
}

static long rss_bytes(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0) kb = atol(line + 6);
    if (f) fclose(f);
    return kb * 1024;
}

/* RSS per live suspended generator: n counters, each started (one next),
 * against the RSS before, from yc_sgen_new (kind "slab"; the array of
 * pointers to them is touched before the first reading, so not counted)
 * or embedded in one array (kind "array"). One kind per process. */
static int density(long n, const char *kind)
{
    bool slab = strcmp(kind, "slab") == 0;
    yc_sgen **gs = NULL;
    ctr_t *arr = NULL;
    if (slab) {
        gs = malloc((size_t)n * sizeof *gs);
        if (!gs) return 1;
        memset(gs, 0xff, (size_t)n * sizeof *gs); /* touched (0 would let malloc+memset become calloc) */
    }
    long before = rss_bytes();
    if (!slab && !(arr = malloc((size_t)n * sizeof *arr))) return 1;
    for (long k = 0; k < n; k++) {
        yc_sgen *g;
        if (slab) {
            g = gs[k] = yc_sgen_new(&ctr);
            if (!g) return 1;
        } else {
            arr[k].i = k;
            g = &arr[k].sgen;
            yc_sgen_init(g, &ctr);
        }
        if (yc_sgen_next(g, NULL) != YC_YIELD) return 1;
    }
    long after = rss_bytes();
    printf("density\tyieldc:stackless-%s\t%ld\t%.1f\t(sizeof ctr_t %zu%s)\n", kind, n,
           (double)(after - before) / (double)n, sizeof(ctr_t),
           slab ? ", plus the block's 8-byte prefix" : "");
    for (long k = 0; k < n; k++) {
        if (slab) yc_sgen_free(gs[k]);
        else yc_sgen_fini(&arr[k].sgen);
    }
    free(gs);
    free(arr);
    yc_sgen_pool_trim();
    return 0;
}

static const struct {
    const char *name, *sys;
    bench_loop fn;
    int chain;
} rows[] = {
    {"roundtrip", "yieldc:stackless", loop_roundtrip, 0},
    {"roundtrip-direct", "yieldc:stackless", loop_roundtrip_direct, 0},
    {"roundtrip", "yieldc:stackful-yc_next", loop_stackful_next, 0},
    {"roundtrip", "yieldc:stackful-yc_iter_next", loop_stackful_iter_next, 0},
    {"create-close", "yieldc:stackless", loop_create_close, 0},
    {"create-close", "yieldc:stackless-embedded", loop_create_close_embedded, 0},
    {"create-close", "yieldc:stackful", loop_stackful_create_close, 0},
    {"yieldfrom-1", "yieldc:stackless", loop_top, 1},
    {"yieldfrom-4", "yieldc:stackless", loop_top, 4},
};

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s time [ms] | density N slab|array | ROW-NAME[/SYSTEM] n\n", argv[0]);
        return 2;
    }
    setup();
    int rc = 0;
    if (strcmp(argv[1], "density") == 0) {
        rc = density(argc > 2 ? atol(argv[2]) : 1000000, argc > 3 ? argv[3] : "slab");
    } else if (strcmp(argv[1], "time") == 0) {
        double ms = bench_target_ms(argc, argv, 2);
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            if (rows[r].chain) chain_build(rows[r].chain);
            bench_row(rows[r].name, rows[r].sys, bench_measure(rows[r].fn, ms));
            if (rows[r].chain) chain_drop(rows[r].chain);
        }
    } else {
        uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
        int found = 0;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0] && !found; r++) {
            char full[128];
            snprintf(full, sizeof full, "%s/%s", rows[r].name, rows[r].sys);
            if (strcmp(argv[1], full) != 0 && strcmp(argv[1], rows[r].name) != 0) continue;
            found = 1;
            if (rows[r].chain) chain_build(rows[r].chain);
            rows[r].fn(n);
            if (rows[r].chain) chain_drop(rows[r].chain);
        }
        if (!found) {
            fprintf(stderr, "no row %s\n", argv[1]);
            rc = 2;
        }
    }
    yc_sgen_fini(&g_ctr.sgen);
    yc_gen_free(g_full);
    return rc;
}
