/*
 * Pipeline benchmarks (yieldc/iter.h), run by bench/run.sh.
 *
 *   bench_pipe pipeline N   map/filter/sum over range(N): one row per variant
 *   bench_pipe lines PATH   counts the lines of PATH with yc_iter_lines_path
 *
 * The pipeline is sum(y for y in (x * 3 for x in range(N)) if y % 7 != 0),
 * in ns per source item:
 *   pipeline     fused-loop        the hand-fused C loop
 *   pipeline     yieldc            plain-iterator stages with int64 block
 *                                  callbacks (yc_iter_map_i64,
 *                                  yc_iter_filter_i64), consumed by
 *                                  yc_iter_sum: range, the stages and sum
 *                                  move contiguous int64 arrays
 *   pipeline     yieldc:fused      the map and the filter fused into one
 *                                  int64 stage (YC_I64_KERNEL, run by
 *                                  yc_iter_filter_i64): range, one stage,
 *                                  sum; each block is read and written once
 *   pipeline     yieldc:val-block  the same with yc_val block callbacks
 *                                  (yc_iter_map_batch, yc_iter_filter_batch:
 *                                  16-byte values), on the yc_val block path
 *   pipeline     yieldc:per-item   the same with per-item callbacks
 *                                  (yc_iter_map, yc_iter_filter): one
 *                                  indirect call per stage per item, still
 *                                  on the block path
 *   pipeline     callbacks-only    the two int64 block callbacks of the
 *                                  yieldc row alone, called through pointers
 *                                  on one buffer of YC_BATCH int64, per
 *                                  source item: no source, no sum, no
 *                                  library; what the yieldc row costs at the
 *                                  least
 *   pipeline     callbacks-only:val-block  the same for the yc_val block
 *                                  callbacks of the yieldc:val-block row
 *   pipeline-gen yieldc            every stage a generator (yc_iter_source,
 *                                  yc_iter_stage with yc_stage_pull/emit),
 *                                  consumed by yc_iter_sum
 *   pipeline-gen yieldc:per-item   every stage a plain generator (yc_yield,
 *                                  yc_iter_next: two switches per item per
 *                                  stage), over N/10 items
 *   pipeline-gen fused-loop        the fused loop again, for the ratio
 * Every variant's sum is checked against the fused loop's.
 */
#include "yieldc.h"
#include "bench_common.h"

#include <string.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_pipe: %s failed\n", what);
    yc_exc *e = yc_err_get();
    if (e) yc_exc_print(e, stderr);
    exit(1);
}

/* ---- the hand-fused loop ---------------------------------------------------- */

__attribute__((noinline)) static int64_t fused(int64_t n)
{
    int64_t s = 0;
    for (int64_t x = 0; x < n; x++) {
        int64_t y = x * 3;
        if (y % 7 != 0) s += y;
    }
    return s;
}

/* ---- plain-iterator stages ----------------------------------------------------- */

static void triple_block(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i].i *= 3;
}

static size_t not7_block(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        yc_val x = xs[i];
        xs[j] = x;
        j += x.i % 7 != 0;
    }
    return j;
}

static yc_val triple(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_int(x.i * 3);
}

static bool not7(void *ctx, yc_val x)
{
    (void)ctx;
    return x.i % 7 != 0;
}

static void triple_i64(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i] *= 3;
}

static size_t not7_i64(void *ctx, int64_t *xs, size_t n)
{
    (void)ctx;
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        xs[j] = xs[i];
        j += xs[i] % 7 != 0;
    }
    return j;
}

/* map and filter fused into one stage (YC_I64_KERNEL): the same steps as
 * triple_i64 then not7_i64, in one pass over the block */
YC_I64_KERNEL(triple_not7_i64, x, ctx, {
    x *= 3;
    if (x % 7 == 0) YC_DROP;
})

/* The callbacks alone, as the stages call them: through pointers the
 * compiler cannot see through, over blocks of YC_BATCH values. Returns the
 * kept count, so that the work is not optimised away. */
static void (*volatile triple_block_p)(void *, yc_val *, size_t) = triple_block;
static size_t (*volatile not7_block_p)(void *, yc_val *, size_t) = not7_block;

static int64_t callbacks_only(int64_t n)
{
    static yc_val buf[YC_BATCH];
    void (*map)(void *, yc_val *, size_t) = triple_block_p;
    size_t (*filter)(void *, yc_val *, size_t) = not7_block_p;
    for (size_t i = 0; i < YC_BATCH; i++) buf[i] = yc_int((int64_t)i);
    int64_t kept = 0;
    for (int64_t x = 0; x < n; x += YC_BATCH) {
        size_t k = n - x < YC_BATCH ? (size_t)(n - x) : YC_BATCH;
        map(NULL, buf, k);
        kept += (int64_t)filter(NULL, buf, k);
    }
    return kept;
}

static void (*volatile triple_i64_p)(void *, int64_t *, size_t) = triple_i64;
static size_t (*volatile not7_i64_p)(void *, int64_t *, size_t) = not7_i64;

static int64_t callbacks_only_i64(int64_t n)
{
    static int64_t buf[YC_BATCH];
    void (*map)(void *, int64_t *, size_t) = triple_i64_p;
    size_t (*filter)(void *, int64_t *, size_t) = not7_i64_p;
    for (size_t i = 0; i < YC_BATCH; i++) buf[i] = (int64_t)i;
    int64_t kept = 0;
    for (int64_t x = 0; x < n; x += YC_BATCH) {
        size_t k = n - x < YC_BATCH ? (size_t)(n - x) : YC_BATCH;
        map(NULL, buf, k);
        kept += (int64_t)filter(NULL, buf, k);
    }
    return kept;
}

static int64_t run_sum(yc_iter *p)
{
    if (!p) die("building the pipeline");
    yc_val s;
    if (yc_iter_sum(p, yc_int(0), &s) != YC_OK) die("yc_iter_sum");
    yc_iter_free(p);
    return s.i;
}

static int64_t plain_i64(int64_t n)
{
    return run_sum(yc_iter_filter_i64(yc_iter_map_i64(yc_iter_range(0, n, 1), triple_i64, NULL),
                                      not7_i64, NULL));
}

static int64_t plain_fused(int64_t n)
{
    return run_sum(yc_iter_filter_i64(yc_iter_range(0, n, 1), triple_not7_i64, NULL));
}

static int64_t plain_block(int64_t n)
{
    return run_sum(yc_iter_filter_batch(
        yc_iter_map_batch(yc_iter_range(0, n, 1), triple_block, NULL), not7_block, NULL));
}

static int64_t plain_per_item(int64_t n)
{
    return run_sum(yc_iter_filter(yc_iter_map(yc_iter_range(0, n, 1), triple, NULL), not7, NULL));
}

/* ---- generator stages -------------------------------------------------------- */

static yc_val g_source(yc_stage *s, void *ctx)
{
    int64_t n = *(int64_t *)ctx;
    for (int64_t x = 0; x < n; x++) yc_stage_emit(s, yc_int(x));
    return YC_NONE;
}

static yc_val g_triple(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, yc_int(v.i * 3));
    return YC_NONE;
}

static yc_val g_not7(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v))
        if (v.i % 7 != 0) yc_stage_emit(s, v);
    return YC_NONE;
}

static int64_t gen_stages(int64_t n)
{
    return run_sum(yc_iter_stage(yc_iter_stage(yc_iter_source(g_source, &n, NULL), g_triple, NULL, NULL),
                                 g_not7, NULL, NULL));
}

/* plain generators: yc_yield and yc_iter_next */
static yc_val p_source(void *arg)
{
    int64_t n = *(int64_t *)arg;
    for (int64_t x = 0; x < n; x++) yc_yield(yc_int(x));
    return YC_NONE;
}

static yc_val p_triple(void *arg)
{
    yc_iter *up = arg;
    yc_val v;
    while (yc_iter_next(up, &v) == YC_YIELD) yc_yield(yc_int(v.i * 3));
    return YC_NONE;
}

static yc_val p_not7(void *arg)
{
    yc_iter *up = arg;
    yc_val v;
    while (yc_iter_next(up, &v) == YC_YIELD)
        if (v.i % 7 != 0) yc_yield(v);
    return YC_NONE;
}

static int64_t gen_per_item(int64_t n)
{
    yc_gen *a = yc_gen_new(p_source, &n, NULL);
    yc_gen *b = yc_gen_new(p_triple, yc_gen_iter(a), NULL);
    yc_gen *c = yc_gen_new(p_not7, yc_gen_iter(b), NULL);
    if (!a || !b || !c) die("yc_gen_new");
    yc_val s;
    if (yc_iter_sum(yc_gen_iter(c), yc_int(0), &s) != YC_OK) die("yc_iter_sum");
    yc_gen_free(c);
    yc_gen_free(b);
    yc_gen_free(a);
    return s.i;
}

/* ---- driver ------------------------------------------------------------------- */

static double timed(int64_t (*f)(int64_t), int64_t n, int64_t *result)
{
    uint64_t t0 = bench_now_ns();
    *result = f(n);
    return (double)(bench_now_ns() - t0) / (double)n;
}

static void check(const char *what, int64_t got, int64_t want)
{
    if (got != want) {
        fprintf(stderr, "bench_pipe: %s: sum %lld, want %lld\n", what, (long long)got,
                (long long)want);
        exit(1);
    }
}

static int pipeline(int64_t n)
{
    int64_t want, got;
    timed(fused, n / 100, &want); /* warm-up */
    double f = timed(fused, n, &want);
    double p64 = timed(plain_i64, n, &got);
    check("yieldc", got, want);
    double pf = timed(plain_fused, n, &got);
    check("yieldc:fused", got, want);
    double pb = timed(plain_block, n, &got);
    check("yieldc:val-block", got, want);
    double pi = timed(plain_per_item, n, &got);
    check("yieldc:per-item", got, want);
    double cb = timed(callbacks_only_i64, n, &got);
    double cbv = timed(callbacks_only, n, &got);
    double g = timed(gen_stages, n, &got);
    check("pipeline-gen yieldc", got, want);
    int64_t small = n / 10, want_small;
    fused(1);
    timed(fused, small, &want_small);
    double gp = timed(gen_per_item, small, &got);
    check("pipeline-gen yieldc:per-item", got, want_small);
    bench_row("pipeline", "fused-loop", f);
    bench_row("pipeline", "yieldc", p64);
    bench_row("pipeline", "yieldc:fused", pf);
    bench_row("pipeline", "yieldc:val-block", pb);
    bench_row("pipeline", "yieldc:per-item", pi);
    bench_row("pipeline", "callbacks-only", cb);
    bench_row("pipeline", "callbacks-only:val-block", cbv);
    bench_row("pipeline-gen", "fused-loop", f);
    bench_row("pipeline-gen", "yieldc", g);
    bench_row("pipeline-gen", "yieldc:per-item", gp);
    return 0;
}

static int lines(const char *path)
{
    uint64_t t0 = bench_now_ns();
    yc_iter *l = yc_iter_lines_path(path, NULL);
    int64_t n = 0;
    if (!l || yc_iter_count(l, &n) != YC_OK) die("counting lines");
    yc_iter_free(l);
    double ns = (double)(bench_now_ns() - t0);
    if (n <= 0) die("the file has no lines");
    bench_row("lines", "yieldc", ns / (double)n);
    fprintf(stderr, "lines: %lld\n", (long long)n);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "pipeline") == 0) {
        int64_t n = argc > 2 ? (int64_t)strtoll(argv[2], NULL, 10) : 100000000;
        return pipeline(n > 100 ? n : 100);
    }
    if (strcmp(mode, "lines") == 0 && argc > 2) return lines(argv[2]);
    fprintf(stderr, "usage: bench_pipe pipeline [N] | lines PATH\n");
    return 2;
}
