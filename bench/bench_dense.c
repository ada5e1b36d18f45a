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
 * yc_sgen_init + first next + yc_sgen_fini; dense.h inlines the common
 * case of each into this loop), yieldfrom-1 / -4 / -16
 * (per value through 1, 4 or 16 levels of YC_SYIELD_FROM), yieldfrom (per
 * level: (yieldfrom-4 - roundtrip) / 4, from the same process), and the
 * stackful kind's roundtrip (yc_next and yc_iter_next), create-close and
 * yieldfrom-1 / -10 / -100 (per value through 1, 10 or 100 levels of
 * yc_yield_from, which resumes the innermost directly) for scale. pipeline-gen: range,
 * x * 3, drop multiples of 7, summed by yc_iter_sum, every stage a
 * generator pulling from the one before through yc_iter_next (stackless:
 * system yieldc:stackless; stackful, yc_yield: yieldc:plain, the same
 * pipeline as bench_pipe's yieldc:per-item row), ns per source item; each
 * sum is checked. pipeline-gen yieldc:plain-share-fpenv: the stackful
 * pipeline with its stages created with YC_GEN_SHARE_FPENV (their round
 * trips skip the FP control words). roundtrip yieldc:raw-switch: the
 * library's bare switch pair (yc__ctx_jump there and back, src/arch/arch.h,
 * with the FP words, none of the generator protocol): the floor of a
 * stackful round trip; the pipeline makes 20/7 round trips per item.
 */
#include "bench_common.h"

#include <stdbool.h>
#include <string.h>
#include <yieldc.h>

#include "../src/arch/arch.h" /* the raw switch row: the library's own jump */

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

static yc_val stackful_deleg(void *arg)
{
    return yc_yield_from((yc_iter *)arg);
}

/* ---- the three-stage pipeline: range(n) -> x * 3 -> drop multiples of 7 */

typedef struct {
    yc_sgen sgen;
    int64_t x, n;
} s_range_t;

YC_SGEN_FN(s_range, s_range_t, s)
{
    YC_SGEN_BEGIN();
    for (s->x = 0; s->x < s->n; s->x++) YC_SYIELD(yc_int(s->x));
    YC_SGEN_END();
}

typedef struct {
    yc_sgen sgen;
    yc_iter *up;
    yc_val v;
} s_stage_t;

YC_SGEN_FN(s_triple, s_stage_t, s)
{
    YC_SGEN_BEGIN();
    while (yc_iter_next(s->up, &s->v) == YC_YIELD) YC_SYIELD(yc_int(s->v.i * 3));
    YC_SGEN_END();
}

YC_SGEN_FN(s_not7, s_stage_t, s)
{
    YC_SGEN_BEGIN();
    while (yc_iter_next(s->up, &s->v) == YC_YIELD)
        if (s->v.i % 7 != 0) YC_SYIELD(s->v);
    YC_SGEN_END();
}

/* the same stages as stackful generators (yc_yield) */
typedef struct {
    int64_t n;
    yc_iter *up;
    int op; /* 0: range, 1: triple, 2: drop multiples of 7 */
} f_stage_t;

static yc_val f_stage(void *arg)
{
    f_stage_t *st = arg;
    yc_val v;
    if (st->op == 0) {
        for (int64_t x = 0; x < st->n; x++) yc_yield(yc_int(x));
        return YC_NONE;
    }
    while (yc_iter_next(st->up, &v) == YC_YIELD) {
        if (st->op == 1) yc_yield(yc_int(v.i * 3));
        else if (v.i % 7 != 0) yc_yield(v);
    }
    return YC_NONE;
}

/* The pipeline's sum, computed directly. */
static int64_t pipe_want(int64_t n)
{
    int64_t acc = 0;
    for (int64_t x = 0; x < n; x++)
        if ((x * 3) % 7 != 0) acc += x * 3;
    return acc;
}

static void pipe_check(const char *sys, int st, yc_val got, uint64_t n)
{
    int64_t want = pipe_want((int64_t)n);
    if (st != YC_OK || got.i != want) {
        fprintf(stderr, "bench_dense: pipeline-gen %s over %llu items: status %d, sum %lld, want %lld\n",
                sys, (unsigned long long)n, st, (long long)got.i, (long long)want);
        exit(1);
    }
}

__attribute__((noinline)) static void loop_pipe_stackless(uint64_t n)
{
    s_range_t a = {.n = (int64_t)n};
    s_stage_t b = {.up = &a.sgen.it}, c = {.up = &b.sgen.it};
    yc_sgen_init(&a.sgen, &s_range);
    yc_sgen_init(&b.sgen, &s_triple);
    yc_sgen_init(&c.sgen, &s_not7);
    yc_val sum;
    int st = yc_iter_sum(&c.sgen.it, yc_int(0), &sum);
    yc_sgen_fini(&c.sgen);
    yc_sgen_fini(&b.sgen);
    yc_sgen_fini(&a.sgen);
    pipe_check("yieldc:stackless", st, sum, n);
}

static void pipe_stackful(uint64_t n, const yc_gen_opts *opts, const char *sys)
{
    f_stage_t sa = {.n = (int64_t)n, .op = 0};
    yc_gen *a = yc_gen_new(f_stage, &sa, opts);
    f_stage_t sb = {.up = a ? yc_gen_iter(a) : NULL, .op = 1};
    yc_gen *b = yc_gen_new(f_stage, &sb, opts);
    f_stage_t sc = {.up = b ? yc_gen_iter(b) : NULL, .op = 2};
    yc_gen *c = yc_gen_new(f_stage, &sc, opts);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_dense: yc_gen_new failed\n");
        exit(1);
    }
    yc_val sum;
    int st = yc_iter_sum(yc_gen_iter(c), yc_int(0), &sum);
    yc_gen_free(c);
    yc_gen_free(b);
    yc_gen_free(a);
    pipe_check(sys, st, sum, n);
}

__attribute__((noinline)) static void loop_pipe_stackful(uint64_t n)
{
    pipe_stackful(n, NULL, "yieldc:plain");
}

__attribute__((noinline)) static void loop_pipe_stackful_share(uint64_t n)
{
    pipe_stackful(n, &(yc_gen_opts){.flags = YC_GEN_SHARE_FPENV}, "yieldc:plain-share-fpenv");
}

/* The bare switch pair: a context on a stack of its own that jumps back at
 * once, every time. */
static yc__ctx raw_main, raw_side;
static _Atomic int raw_flag;
static _Alignas(64) char raw_stack[64 * 1024];

static void raw_entry(void *arg)
{
    (void)arg;
    for (;;) yc__ctx_jump(&raw_side, &raw_main, 0, 0, &raw_flag, 0);
}

__attribute__((noinline)) static void loop_raw_switch(uint64_t n)
{
    static bool started;
    if (!started) {
        yc__ctx_init(&raw_side, raw_stack, raw_stack + sizeof raw_stack, raw_entry, NULL);
        started = true;
    }
    for (uint64_t k = 0; k < n; k++) yc__ctx_jump(&raw_main, &raw_side, 0, 0, &raw_flag, 0);
}

static ctr_t g_ctr;
static yc_gen *g_full;
static deleg_t g_chain[16];
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

/* `levels` stackful delegators (yc_yield_from), each over the one below,
 * over a stackful counter (g_full_chain[0]); g_top is the outermost.
 * chain -levels in the rows below. Dropped top first (its close closes the
 * chain below). */
#define FULL_LEVELS_MAX 100
static yc_gen *g_full_chain[FULL_LEVELS_MAX + 1];
static int g_full_levels;
static void full_chain_build(int levels)
{
    g_full_levels = levels;
    g_full_chain[0] = yc_gen_new(stackful_ctr, NULL, NULL);
    for (int l = 1; l <= levels && g_full_chain[l - 1]; l++)
        g_full_chain[l] = yc_gen_new(stackful_deleg, yc_gen_iter(g_full_chain[l - 1]), NULL);
    if (!g_full_chain[levels]) {
        fprintf(stderr, "bench_dense: yc_gen_new failed\n");
        exit(1);
    }
    g_top = yc_gen_iter(g_full_chain[levels]);
}

static void full_chain_drop(void)
{
    for (int l = g_full_levels; l >= 0; l--) yc_gen_free(g_full_chain[l]);
    memset(g_full_chain, 0, sizeof g_full_chain);
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
    {"roundtrip", "yieldc:raw-switch", loop_raw_switch, 0},
    {"create-close", "yieldc:stackless", loop_create_close, 0},
    {"create-close", "yieldc:stackless-embedded", loop_create_close_embedded, 0},
    {"create-close", "yieldc:stackful", loop_stackful_create_close, 0},
    {"yieldfrom-1", "yieldc:stackless", loop_top, 1},
    {"yieldfrom-4", "yieldc:stackless", loop_top, 4},
    {"yieldfrom-16", "yieldc:stackless", loop_top, 16},
    {"yieldfrom-1", "yieldc:stackful", loop_top, -1},
    {"yieldfrom-10", "yieldc:stackful", loop_top, -10},
    {"yieldfrom-100", "yieldc:stackful", loop_top, -100},
    {"pipeline-gen", "yieldc:stackless", loop_pipe_stackless, 0},
    {"pipeline-gen", "yieldc:plain", loop_pipe_stackful, 0},
    {"pipeline-gen", "yieldc:plain-share-fpenv", loop_pipe_stackful_share, 0},
};

static void row_setup(int chain)
{
    if (chain > 0) chain_build(chain);
    else if (chain < 0) full_chain_build(-chain);
}

static void row_drop(int chain)
{
    if (chain > 0) chain_drop(chain);
    else if (chain < 0) full_chain_drop();
}

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
        double rt = 0, yf4 = 0;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            row_setup(rows[r].chain);
            double ns = bench_measure(rows[r].fn, ms);
            bench_row(rows[r].name, rows[r].sys, ns);
            row_drop(rows[r].chain);
            if (strcmp(rows[r].sys, "yieldc:stackless") == 0) {
                if (strcmp(rows[r].name, "roundtrip") == 0) rt = ns;
                if (strcmp(rows[r].name, "yieldfrom-4") == 0) yf4 = ns;
            }
        }
        /* per level of delegation: what 4 levels add to a plain round trip */
        bench_row("yieldfrom", "yieldc:stackless", (yf4 - rt) / 4.0);
    } else {
        uint64_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
        int found = 0;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0] && !found; r++) {
            char full[128];
            snprintf(full, sizeof full, "%s/%s", rows[r].name, rows[r].sys);
            if (strcmp(argv[1], full) != 0 && strcmp(argv[1], rows[r].name) != 0) continue;
            found = 1;
            row_setup(rows[r].chain);
            rows[r].fn(n);
            row_drop(rows[r].chain);
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
