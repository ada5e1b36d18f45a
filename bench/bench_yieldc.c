/*
 * yieldc benchmark driver. The same source is linked against the library
 * built with the assembly switch (system "yieldc") and with
 * -DYC_SWITCH=ucontext (system "yieldc:ucontext").
 *
 *   bench_yieldc time [ms] [system]  timed rows: roundtrip, create, create-close
 *   bench_yieldc count-rt N          N round trips, untimed (for callgrind)
 *   bench_yieldc count-create N      N creates (below), untimed (for callgrind)
 *   bench_yieldc count-create-close N  N create-closes (below), untimed
 *   bench_yieldc stack [ms] [system] timed rows of giving back stack pages:
 *                                    stack-trim, stack-deep, stack-deep-trim,
 *                                    stack-deep-free
 *   bench_yieldc path N              N x (yc_next + yc_send) with a counting
 *                                    allocator; prints the allocation counts
 *                                    (run under strace for the syscall check)
 *   bench_yieldc mem K               RSS growth per suspended generator
 *   bench_yieldc config              prints yc_config()
 *
 * Definitions:
 *   roundtrip     yc_next on a suspended generator that yields again
 *                 (resume + yield: two switches); the row SYSTEM:share-fpenv
 *                 is the same generator created with YC_GEN_SHARE_FPENV
 *   create        yc_gen_new + yc_next (yields) + yc_next (returns) +
 *                 yc_gen_free, with the stack pool warm: CPython's "create
 *                 and exhaust a one-yield generator"
 *   create-close  yc_gen_new + yc_next + yc_gen_free of the suspended
 *                 generator, which closes it (throws GeneratorExit into it)
 *   stack-trim    yc_gen_stack_trim of a suspended generator with nothing
 *                 resident below its stack pointer (the call's floor: a
 *                 claim and one madvise)
 *   stack-deep    yc_next of a generator that runs 64 KiB below where it
 *                 yields, and yields again (its pages stay)
 *   stack-deep-trim  the same yc_next, then yc_gen_stack_trim: the 16 pages
 *                 given back, and faulted in again by the next run
 *   stack-deep-free  yc_gen_new + yc_next (runs 64 KiB deep, returns) +
 *                 yc_gen_free, whose return to the pool gives the pages back
 */
#include "yieldc.h"
#include "bench_common.h"

#include <string.h>
#include <unistd.h>

static void die(const char *what, int st)
{
    fprintf(stderr, "bench_yieldc: %s failed: %s\n", what, yc_status_name(st));
    yc_exc *e = yc_err_get();
    if (e) yc_exc_print(e, stderr);
    exit(1);
}

static yc_val body_forever(void *arg)
{
    (void)arg;
    for (;;) yc_yield(YC_NONE);
    return YC_NONE;
}

static yc_val body_one(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    return YC_NONE;
}

/* Echoes what is sent; None for next. */
static yc_val body_echo(void *arg)
{
    (void)arg;
    yc_val v = YC_NONE;
    for (;;) v = yc_yield(v);
    return YC_NONE;
}

static yc_gen *rt_gen;

static yc_gen *new_started_opts(yc_gen_fn fn, const yc_gen_opts *opts)
{
    yc_gen *g = yc_gen_new(fn, NULL, opts);
    if (!g) die("yc_gen_new", YC_RAISE);
    int st = yc_next(g, NULL);
    if (st != YC_YIELD) die("first yc_next", st);
    return g;
}

static yc_gen *new_started(yc_gen_fn fn) { return new_started_opts(fn, NULL); }

static void loop_roundtrip(uint64_t n)
{
    yc_gen *g = rt_gen;
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        int st = yc_next(g, &v);
        if (st != YC_YIELD) die("yc_next", st);
    }
}

static void loop_create(uint64_t n)
{
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        yc_gen *g = yc_gen_new(body_one, NULL, NULL);
        if (!g) die("yc_gen_new", YC_RAISE);
        int st = yc_next(g, &v);
        if (st != YC_YIELD) die("yc_next (1)", st);
        st = yc_next(g, &v);
        if (st != YC_RETURN) die("yc_next (2)", st);
        st = yc_gen_free(g);
        if (st != YC_OK) die("yc_gen_free", st);
    }
}

static void loop_create_close(uint64_t n)
{
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        yc_gen *g = yc_gen_new(body_one, NULL, NULL);
        if (!g) die("yc_gen_new", YC_RAISE);
        int st = yc_next(g, &v);
        if (st != YC_YIELD) die("yc_next", st);
        st = yc_gen_free(g); /* closes it: GeneratorExit at the yield */
        if (st != YC_OK) die("yc_gen_free", st);
    }
}

/* ---- giving back stack pages ----------------------------------------- */

/* Writes `kib` KiB of stack below the caller: a frame of 1 KiB a level,
 * every word of it written (as frames that fill their locals are; a frame
 * that leaves most of a buffer unwritten may hide a deep run from the
 * return-to-pool rule, docs/design.md "Stacks"). The frame is read after
 * the call, so the recursion stays a recursion. */
__attribute__((noinline)) static long run_deep(int kib)
{
    volatile uint64_t buf[128];
    for (size_t i = 0; i < 128; i++) buf[i] = (uint64_t)kib | 1;
    long below = kib > 1 ? run_deep(kib - 1) : 0;
    return below + (long)buf[0];
}

static yc_val body_deep_forever(void *arg)
{
    (void)arg;
    for (;;) yc_yield(yc_int(run_deep(64)));
    return YC_NONE;
}

static yc_val body_deep_once(void *arg)
{
    (void)arg;
    return yc_int(run_deep(64));
}

static yc_gen *deep_gen;

static void loop_stack_trim(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        int st = yc_gen_stack_trim(deep_gen, NULL);
        if (st != YC_OK) die("yc_gen_stack_trim", st);
    }
}

static void loop_stack_deep(uint64_t n)
{
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        int st = yc_next(deep_gen, &v);
        if (st != YC_YIELD) die("yc_next", st);
    }
}

static void loop_stack_deep_trim(uint64_t n)
{
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        int st = yc_next(deep_gen, &v);
        if (st != YC_YIELD) die("yc_next", st);
        st = yc_gen_stack_trim(deep_gen, NULL);
        if (st != YC_OK) die("yc_gen_stack_trim", st);
    }
}

static void loop_stack_deep_free(uint64_t n)
{
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        yc_gen *g = yc_gen_new(body_deep_once, NULL, NULL);
        if (!g) die("yc_gen_new", YC_RAISE);
        int st = yc_next(g, &v);
        if (st != YC_RETURN) die("yc_next", st);
        st = yc_gen_free(g);
        if (st != YC_OK) die("yc_gen_free", st);
    }
}

static int run_stack_rows(double ms, const char *sys)
{
    deep_gen = new_started(body_deep_forever);
    yc_gen_stack_trim(deep_gen, NULL);
    bench_row("stack-trim", sys, bench_measure(loop_stack_trim, ms));
    bench_row("stack-deep", sys, bench_measure(loop_stack_deep, ms));
    bench_row("stack-deep-trim", sys, bench_measure(loop_stack_deep_trim, ms));
    yc_gen_free(deep_gen);
    bench_row("stack-deep-free", sys, bench_measure(loop_stack_deep_free, ms));
    return 0;
}

/* ---- the allocation / syscall check ----------------------------------- */

static long allocs, reallocs, frees;

static void *counting_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        if (p) frees++;
        free(p);
        return NULL;
    }
    if (p)
        reallocs++;
    else
        allocs++;
    return realloc(p, n);
}

static int run_path(uint64_t n)
{
    yc_set_allocator(counting_alloc, NULL); /* before anything is created */
    yc_gen *g = new_started(body_echo);
    long a0 = allocs + reallocs, f0 = frees;
    yc_val v;
    for (uint64_t i = 0; i < n; i++) {
        int st = yc_next(g, &v);
        if (st != YC_YIELD || !yc_is_none(v)) die("yc_next", st);
        st = yc_send(g, yc_int((int64_t)i), &v);
        if (st != YC_YIELD || v.i != (int64_t)i) die("yc_send", st);
    }
    long loop_allocs = allocs + reallocs - a0, loop_frees = frees - f0;
    int st = yc_gen_free(g);
    if (st != YC_OK) die("yc_gen_free", st);
    /* allocations inside the loop; then the whole process's */
    printf("loop_allocs=%ld loop_frees=%ld total_allocs=%ld total_frees=%ld\n", loop_allocs,
           loop_frees, allocs + reallocs, frees);
    return 0;
}

/* ---- memory per suspended generator ------------------------------------ */

static long statm_field(int i) /* in pages: 0 = size, 1 = resident */
{
    FILE *f = fopen("/proc/self/statm", "r");
    long v[2] = {0, 0};
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &v[0], &v[1]) != 2) v[0] = v[1] = -1;
    fclose(f);
    return v[i];
}

static int run_mem(long k, const char *sys)
{
    long page = sysconf(_SC_PAGESIZE);
    yc_gen **gs = calloc((size_t)k, sizeof *gs);
    if (!gs) return 1;
    memset(gs, 0, (size_t)k * sizeof *gs);
    yc_gen_free(new_started(body_forever)); /* thread set-up, outside the count */
    yc_stack_pool_trim(); /* every generator below gets a fresh mapping */
    long vsz0 = statm_field(0), rss0 = statm_field(1);
    for (long i = 0; i < k; i++) gs[i] = new_started(body_forever);
    long vsz1 = statm_field(0), rss1 = statm_field(1);
    for (long i = 0; i < k; i++) yc_gen_free(gs[i]);
    free(gs);
    printf("%s\t%ld\t%.0f\t%.0f\n", sys, k, (double)(rss1 - rss0) * (double)page / (double)k,
           (double)(vsz1 - vsz0) * (double)page / (double)k);
    return 0;
}

/* ---- main ------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "time";
    const char *sys = strstr(yc_config(), "switch=ucontext") ? "yieldc:ucontext" : "yieldc";
    if (strcmp(mode, "time") == 0) {
        double ms = bench_target_ms(argc, argv, 2);
        if (argc > 3) sys = argv[3];
        rt_gen = new_started(body_forever);
        bench_row("roundtrip", sys, bench_measure(loop_roundtrip, ms));
        yc_gen_free(rt_gen);
        /* the same generator created with YC_GEN_SHARE_FPENV, where the
         * flag does something (the fast paths) */
        if (strstr(yc_config(), "fast_path=1")) {
            char share_sys[64];
            snprintf(share_sys, sizeof share_sys, "%s:share-fpenv", sys);
            rt_gen = new_started_opts(body_forever, &(yc_gen_opts){.flags = YC_GEN_SHARE_FPENV});
            bench_row("roundtrip", share_sys, bench_measure(loop_roundtrip, ms));
            yc_gen_free(rt_gen);
        }
        loop_create(64); /* the stack pool is warm from here on */
        bench_row("create", sys, bench_measure(loop_create, ms));
        bench_row("create-close", sys, bench_measure(loop_create_close, ms));
        return 0;
    }
    if (strcmp(mode, "count-rt") == 0) {
        rt_gen = new_started(body_forever);
        loop_roundtrip(bench_count_arg(argc, argv, 2));
        yc_gen_free(rt_gen);
        return 0;
    }
    if (strcmp(mode, "count-create") == 0) {
        loop_create(64); /* the stack pool is warm from here on */
        loop_create(bench_count_arg(argc, argv, 2));
        return 0;
    }
    if (strcmp(mode, "count-create-close") == 0) {
        loop_create_close(64); /* the stack pool is warm from here on */
        loop_create_close(bench_count_arg(argc, argv, 2));
        return 0;
    }
    if (strcmp(mode, "stack") == 0)
        return run_stack_rows(bench_target_ms(argc, argv, 2), argc > 3 ? argv[3] : sys);
    if (strcmp(mode, "path") == 0) return run_path(bench_count_arg(argc, argv, 2));
    if (strcmp(mode, "mem") == 0) {
        long k = (long)bench_count_arg(argc, argv, 2);
        return run_mem(k > 0 ? k : 10000, sys);
    }
    if (strcmp(mode, "config") == 0) {
        printf("%s\n", yc_config());
        return 0;
    }
    fprintf(stderr, "usage: %s time [ms] [system] | count-rt N | count-create N | count-create-close N | "
                    "stack [ms] [system] | "
                    "path N | mem K | config\n",
            argv[0]);
    return 2;
}
