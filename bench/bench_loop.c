/*
 * Event loop benchmarks (yieldc/loop.h), run by bench/run.sh's "event
 * loop" section against the same programs in asyncio (bench/loop_asyncio.py).
 *
 *   bench_loop spawn N BATCH [SYSTEM]      N tasks that return at once, in
 *                                          batches of BATCH: spawn the batch,
 *                                          yc_gather it, release it
 *   bench_loop spawn-sleep0 N BATCH [SYS]  the same, each task doing one
 *                                          yc_sleep(0) before it returns
 *   bench_loop pingpong N [SYSTEM]         two tasks handing a counter back
 *                                          and forth N times each way (2N
 *                                          hops) through two yc_queues of
 *                                          maxsize 1 (when the library has
 *                                          yc_queue; else the row is not made)
 *   bench_loop pingpong-future N [SYS]     the same through futures: each
 *                                          side makes a future, publishes it,
 *                                          completes the other's, awaits its own
 *   bench_loop timers TASKS ITERS [SYS]    TASKS tasks, each ITERS times:
 *                                          YC_WITH(yc_cm_timeout(d)) around
 *                                          yc_sleep(0); d is 0 for 1 in 64
 *                                          (the timeout expires: TimeoutError)
 *                                          and 100..1100 s otherwise (cleared:
 *                                          far beyond an iteration of 10^5
 *                                          Python tasks on a loaded machine,
 *                                          and uvloop's clock, read once per
 *                                          iteration)
 *   bench_loop sleepers N STACK SYSTEM     N tasks in yc_sleep(3600) on
 *                                          STACK-byte stacks (0: the default)
 *   bench_loop floor N STACK               the page-fault floor of sleepers:
 *                                          no library, N stacks laid out as
 *                                          its chunks lay out STACK-byte ones
 *                                          (0: the default), the top page of
 *                                          each written once, as a task's
 *                                          first step writes it
 *   bench_loop config                      prints yc_config()
 *
 * Timed rows print "benchmark<TAB>system<TAB>ns_per_op": ns per task (spawn),
 * per hop (pingpong) or per timeout entered and left (timers), wall clock
 * over the whole measured phase. sleepers prints
 * "system<TAB>tasks<TAB>rss_bytes_per_task<TAB>spawn_s<TAB>cancel_join_s
 * <TAB>pte_bytes_per_task". Every mode checks its own outcome (every task
 * ran, every hop arrived in order, every timeout was cleared or expired as
 * the seeds say, every sleeper was cancelled) and exits non-zero otherwise,
 * so that a broken run reports no figure. With YC_BENCH_PHASES=1 in the
 * environment, the time of each phase goes to stderr.
 *
 * The programs are asyncio's, step for step: create_task + gather in
 * batches; the same LCG draws the timeouts in both.
 */
/* floor reads the stacks' geometry through a test hook (yc__gen_slot_bytes):
 * declared with YC_TEST_HOOKS, reachable since this links the static library */
#ifndef YC_TEST_HOOKS
#  define YC_TEST_HOOKS 1
#endif
#include "yieldc.h"
#include "bench_common.h"

#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

static void die(const char *what)
{
    fprintf(stderr, "bench_loop: %s failed\n", what);
    yc_exc *e = yc_err_get();
    if (e) yc_exc_print(e, stderr);
    exit(1);
}

static void check(bool ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "bench_loop: check failed: %s\n", what);
        exit(1);
    }
}

static bool phases;

/* With YC_BENCH_PHASES, every allocation of the library is counted (a
 * yc_set_allocator hook installed before anything is made). */
static long n_allocs;
static double allocs_per_op;

static void *counting_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (!p) n_allocs++;
    return realloc(p, n);
}
static void phase(const char *what, uint64_t ns, uint64_t ops)
{
    if (phases)
        fprintf(stderr, "  phase %-28s %10.3f ms  %9.1f ns/op\n", what, (double)ns / 1e6,
                ops ? (double)ns / (double)ops : 0.0);
}

/* Runs fn(arg) as the main task of a loop on the monotonic clock. */
static void run_main(yc_gen_fn fn, void *arg, size_t task_stack)
{
    yc_loop_opts o = {.clock = YC_CLOCK_MONOTONIC, .task_stack = task_stack};
    if (yc_loop_run(fn, arg, &o, NULL) != YC_OK) die("yc_loop_run");
}

/* ---- spawn ---------------------------------------------------------- */

static long spawn_n, spawn_batch, spawn_ran;
static double spawn_ns;

static yc_val body_return(void *arg)
{
    (void)arg;
    spawn_ran++;
    return YC_NONE;
}

static yc_val body_sleep0(void *arg)
{
    (void)arg;
    yc_sleep(0);
    spawn_ran++;
    return YC_NONE;
}

static yc_val main_spawn(void *arg)
{
    yc_gen_fn body = (yc_gen_fn)(uintptr_t)arg;
    yc_task **ts = malloc((size_t)spawn_batch * sizeof *ts);
    check(ts != NULL, "malloc");
    uint64_t t_spawn = 0, t_gather = 0, t_free = 0;
    long allocs0 = 0;
    uint64_t t0 = 0;
    /* one batch more than N, untimed: the warm-up (stack pool, malloc) */
    for (long done = -spawn_batch; done < spawn_n; done += spawn_batch) {
        if (done == 0) {
            t0 = bench_now_ns();
            allocs0 = n_allocs;
        }
        uint64_t a = phases ? bench_now_ns() : 0;
        for (long i = 0; i < spawn_batch; i++) {
            ts[i] = yc_task_spawn(body, NULL, NULL);
            if (!ts[i]) die("yc_task_spawn");
        }
        uint64_t b = phases ? bench_now_ns() : 0;
        yc_gather(ts, (size_t)spawn_batch, 0);
        uint64_t c = phases ? bench_now_ns() : 0;
        for (long i = 0; i < spawn_batch; i++) {
            check(yc_task_done(ts[i]) && !yc_task_cancelled(ts[i]), "a task is not done");
            yc_task_unref(ts[i]);
        }
        if (phases && done >= 0) {
            uint64_t d = bench_now_ns();
            t_spawn += b - a;
            t_gather += c - b;
            t_free += d - c;
        }
    }
    spawn_ns = (double)(bench_now_ns() - t0);
    allocs_per_op = (double)(n_allocs - allocs0) / (double)spawn_n;
    free(ts);
    phase("yc_task_spawn", t_spawn, (uint64_t)spawn_n);
    phase("yc_gather (runs the tasks)", t_gather, (uint64_t)spawn_n);
    phase("check + yc_task_unref", t_free, (uint64_t)spawn_n);
    return YC_NONE;
}

static int run_spawn(const char *bench, long n, long batch, const char *sys, bool sleep0)
{
    check(n > 0 && batch > 0 && n % batch == 0, "spawn: N must be a multiple of BATCH");
    spawn_n = n;
    spawn_batch = batch;
    run_main(main_spawn, (void *)(uintptr_t)(sleep0 ? body_sleep0 : body_return), 0);
    check(spawn_ran == n + batch, "spawn: not every task ran");
    yc_stats s;
    yc_stats_get(&s);
    check(s.tasks == 0 && s.loops == 0, "spawn: tasks or loops left alive");
    if (phases) fprintf(stderr, "  %.2f allocations per task\n", allocs_per_op);
    bench_row(bench, sys, spawn_ns / (double)n);
    return 0;
}

/* ---- ping-pong ------------------------------------------------------ */

static long pp_n;
static double pp_ns;

#ifdef YC_BENCH_HAVE_QUEUE
static yc_queue *pp_q[2]; /* 0: a -> b, 1: b -> a */

static yc_val pp_queue_a(void *arg)
{
    (void)arg;
    for (long i = 0; i < pp_n; i++) {
        yc_queue_put(pp_q[0], yc_int(i));
        yc_val v = yc_queue_get(pp_q[1]);
        check(v.i == i + 1, "pingpong: a got the wrong value");
    }
    return YC_NONE;
}

static yc_val pp_queue_b(void *arg)
{
    (void)arg;
    for (long i = 0; i < pp_n; i++) {
        yc_val v = yc_queue_get(pp_q[0]);
        check(v.i == i, "pingpong: b got the wrong value");
        yc_queue_put(pp_q[1], yc_int(v.i + 1));
    }
    return YC_NONE;
}
#endif

/* The future version: box[k] is the future side k waits on next. */
static yc_task *pp_box[2];

static yc_val pp_future_a(void *arg)
{
    (void)arg;
    for (long i = 0; i < pp_n; i++) {
        yc_task *f = yc_future_new(NULL);
        if (!f) die("yc_future_new");
        pp_box[0] = f;
        check(pp_box[1] != NULL, "pingpong: b is not waiting");
        if (yc_future_set_result(pp_box[1], yc_int(i)) != YC_OK) die("yc_future_set_result");
        yc_val v = yc_await(f);
        yc_task_unref(f);
        check(v.i == i + 1, "pingpong: a got the wrong value");
    }
    return YC_NONE;
}

static yc_val pp_future_b(void *arg)
{
    (void)arg;
    yc_task *f = yc_future_new(NULL);
    if (!f) die("yc_future_new");
    pp_box[1] = f;
    for (long i = 0; i < pp_n; i++) {
        yc_val v = yc_await(f);
        yc_task_unref(f);
        check(v.i == i, "pingpong: b got the wrong value");
        f = NULL;
        pp_box[1] = NULL;
        if (i + 1 < pp_n) {
            f = yc_future_new(NULL);
            if (!f) die("yc_future_new");
            pp_box[1] = f;
        }
        if (yc_future_set_result(pp_box[0], yc_int(v.i + 1)) != YC_OK) die("yc_future_set_result");
    }
    return YC_NONE;
}

static yc_val main_pingpong(void *arg)
{
    yc_gen_fn *fns = arg;
    /* b first: it waits before a sends */
    yc_task *ts[2];
    ts[1] = yc_task_spawn(fns[1], NULL, NULL);
    ts[0] = ts[1] ? yc_task_spawn(fns[0], NULL, NULL) : NULL;
    if (!ts[0]) die("yc_task_spawn");
    long a0 = n_allocs;
    uint64_t t0 = bench_now_ns();
    yc_gather(ts, 2, 0);
    pp_ns = (double)(bench_now_ns() - t0);
    allocs_per_op = (double)(n_allocs - a0) / (2.0 * (double)pp_n);
    check(yc_task_done(ts[0]) && yc_task_done(ts[1]), "pingpong: not done");
    yc_task_unref(ts[0]);
    yc_task_unref(ts[1]);
    return YC_NONE;
}

static int run_pingpong(const char *bench, long n, const char *sys)
{
    check(n > 0, "pingpong: N > 0");
    pp_n = n;
    yc_gen_fn fns[2];
    if (strcmp(bench, "pingpong-future") == 0) {
        fns[0] = pp_future_a;
        fns[1] = pp_future_b;
    } else {
#ifdef YC_BENCH_HAVE_QUEUE
        pp_q[0] = yc_queue_new(1, YC_QUEUE_FIFO);
        pp_q[1] = yc_queue_new(1, YC_QUEUE_FIFO);
        if (!pp_q[0] || !pp_q[1]) die("yc_queue_new");
        fns[0] = pp_queue_a;
        fns[1] = pp_queue_b;
#else
        fprintf(stderr, "bench_loop: built without yc_queue (not in this library yet)\n");
        return 2;
#endif
    }
    run_main(main_pingpong, fns, 0);
#ifdef YC_BENCH_HAVE_QUEUE
    if (pp_q[0]) {
        check(yc_queue_empty(pp_q[0]) && yc_queue_empty(pp_q[1]), "pingpong: items left");
        if (yc_queue_free(pp_q[0]) != YC_OK || yc_queue_free(pp_q[1]) != YC_OK)
            die("yc_queue_free");
    }
#endif
    yc_stats s;
    yc_stats_get(&s);
    check(s.tasks == 0 && s.loops == 0, "pingpong: tasks or loops left alive");
    if (phases) fprintf(stderr, "  %.2f allocations per hop\n", allocs_per_op);
    bench_row(bench, sys, pp_ns / (2.0 * (double)n));
    return 0;
}

/* ---- timers --------------------------------------------------------- */

static long tm_tasks, tm_iters, tm_cleared, tm_expired;
static double tm_ns;
static yc_task *tm_go; /* every task waits on it, so that only the churn is timed */

/* The draw shared with loop_asyncio.py: a 31-bit LCG (glibc's constants). */
static uint32_t lcg(uint32_t x) { return (x * 1103515245u + 12345u) & 0x7fffffffu; }

static double draw_delay(uint32_t x)
{
    return x % 64 == 0 ? 0.0 : 100.0 + (double)((x >> 8) % 10000) / 10.0;
}

static yc_val body_timers(void *arg)
{
    volatile uint32_t x = (uint32_t)(uintptr_t)arg; /* volatile: read after a longjmp */
    yc_await(tm_go);
    for (long i = 0; i < tm_iters; i++) {
        x = lcg(x);
        YC_TRY {
            YC_WITH(yc_cm_timeout(draw_delay(x)), tm) {
                yc_sleep(0);
            } YC_END_WITH;
            tm_cleared++;
        } YC_EXCEPT(&yc_TimeoutError) {
            tm_expired++;
        } YC_END;
    }
    return YC_NONE;
}

static yc_val main_timers(void *arg)
{
    (void)arg;
    yc_task **ts = malloc((size_t)tm_tasks * sizeof *ts);
    check(ts != NULL, "malloc");
    tm_go = yc_future_new(NULL);
    if (!tm_go) die("yc_future_new");
    for (long i = 0; i < tm_tasks; i++) {
        ts[i] = yc_task_spawn(body_timers, (void *)(uintptr_t)(i + 1), NULL);
        if (!ts[i]) die("yc_task_spawn");
    }
    yc_sleep(0); /* every task waits on tm_go */
    long a0 = n_allocs;
    uint64_t t0 = bench_now_ns();
    if (yc_future_set_result(tm_go, YC_NONE) != YC_OK) die("yc_future_set_result");
    yc_gather(ts, (size_t)tm_tasks, 0);
    tm_ns = (double)(bench_now_ns() - t0);
    allocs_per_op = (double)(n_allocs - a0) / (double)(tm_tasks * tm_iters);
    for (long i = 0; i < tm_tasks; i++) yc_task_unref(ts[i]);
    yc_task_unref(tm_go);
    free(ts);
    return YC_NONE;
}

static int run_timers(long tasks, long iters, const char *sys)
{
    check(tasks > 0 && iters > 0, "timers: TASKS and ITERS > 0");
    tm_tasks = tasks;
    tm_iters = iters;
    run_main(main_timers, NULL, 0);
    long want_expired = 0;
    for (long i = 0; i < tasks; i++) {
        uint32_t x = (uint32_t)(i + 1);
        for (long k = 0; k < iters; k++) {
            x = lcg(x);
            if (draw_delay(x) == 0.0) want_expired++;
        }
    }
    check(tm_cleared + tm_expired == tasks * iters, "timers: not every timeout was left");
    check(tm_expired == want_expired, "timers: not the expected number of expiries");
    yc_stats s;
    yc_stats_get(&s);
    check(s.tasks == 0 && s.loops == 0, "timers: tasks or loops left alive");
    if (phases)
        fprintf(stderr, "  timers: %ld cleared, %ld expired; %.2f allocations per timeout\n",
                tm_cleared, tm_expired, allocs_per_op);
    bench_row("timers", sys, tm_ns / (double)(tasks * iters));
    return 0;
}

/* ---- sleepers ------------------------------------------------------- */

static long sl_n, sl_started;
static double sl_spawn_s, sl_cancel_s;
static long sl_rss0, sl_rss1, sl_pte0, sl_pte1;

/* CPU time (user, system) and minor page faults so far: with
 * YC_BENCH_PHASES, each sleepers phase also reports what it cost the CPU
 * and the kernel, which load on the machine does not inflate as it does
 * wall time. */
typedef struct cpu_mark {
    double user_s, sys_s;
    long minflt;
} cpu_mark;

static cpu_mark cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (cpu_mark){(double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
                      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
                      ru.ru_minflt};
}

static void cpu_phase(const char *what, cpu_mark a, cpu_mark b, long ops)
{
    if (phases)
        fprintf(stderr, "  cpu   %-28s user %7.3f s  sys %7.3f s  %6.3f faults/op\n", what,
                b.user_s - a.user_s, b.sys_s - a.sys_s, (double)(b.minflt - a.minflt) / (double)ops);
}

/* A field of /proc/self/status in kB ("VmRSS:", "VmPTE:"), or -1. */
static long status_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    char line[256];
    long v = -1;
    size_t k = strlen(key);
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, k) == 0) {
            v = strtol(line + k, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static long count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;
    if (!f) return -1;
    while ((c = fgetc(f)) != EOF) n += c == '\n';
    fclose(f);
    return n;
}

static yc_val body_sleeper(void *arg)
{
    (void)arg;
    sl_started++;
    yc_sleep(3600);
    return YC_NONE;
}

static yc_val main_sleepers(void *arg)
{
    (void)arg;
    yc_task **ts = malloc((size_t)sl_n * sizeof *ts);
    check(ts != NULL, "malloc");
    memset(ts, 0, (size_t)sl_n * sizeof *ts); /* touched before the first reading */
    sl_rss0 = status_kb("VmRSS:");
    sl_pte0 = status_kb("VmPTE:");
    long a0 = n_allocs;
    cpu_mark c0 = cpu_now();
    uint64_t t0 = bench_now_ns();
    for (long i = 0; i < sl_n; i++) {
        ts[i] = yc_task_spawn(body_sleeper, NULL, NULL);
        if (!ts[i]) die("yc_task_spawn");
    }
    uint64_t t_spawned = bench_now_ns();
    cpu_mark c_spawned = cpu_now();
    yc_sleep(0); /* FIFO: every task has run up to its sleep when this returns */
    uint64_t t1 = bench_now_ns();
    cpu_mark c1 = cpu_now();
    check(sl_started == sl_n, "sleepers: not every task started");
    sl_rss1 = status_kb("VmRSS:");
    sl_pte1 = status_kb("VmPTE:");
    if (phases)
        fprintf(stderr, "  %ld mappings in /proc/self/maps; %.2f allocations per task\n",
                count_maps(), (double)(n_allocs - a0) / (double)sl_n);
    phase("yc_task_spawn", t_spawned - t0, (uint64_t)sl_n);
    phase("first steps (up to the sleep)", t1 - t_spawned, (uint64_t)sl_n);
    cpu_phase("yc_task_spawn", c0, c_spawned, sl_n);
    cpu_phase("first steps (up to the sleep)", c_spawned, c1, sl_n);
    cpu_mark c2 = cpu_now();
    uint64_t t2 = bench_now_ns();
    for (long i = 0; i < sl_n; i++) check(yc_task_cancel(ts[i], NULL), "sleepers: cancel");
    uint64_t t_cancelled = bench_now_ns();
    cpu_mark c_cancelled = cpu_now();
    yc_gather(ts, (size_t)sl_n, YC_RETURN_EXCEPTIONS);
    uint64_t t3 = bench_now_ns();
    cpu_mark c3 = cpu_now();
    phase("yc_task_cancel", t_cancelled - t2, (uint64_t)sl_n);
    phase("yc_gather (the tasks end)", t3 - t_cancelled, (uint64_t)sl_n);
    cpu_phase("yc_task_cancel", c2, c_cancelled, sl_n);
    cpu_phase("yc_gather (the tasks end)", c_cancelled, c3, sl_n);
    sl_spawn_s = (double)(t1 - t0) / 1e9;
    sl_cancel_s = (double)(t3 - t2) / 1e9;
    for (long i = 0; i < sl_n; i++) {
        check(yc_task_cancelled(ts[i]), "sleepers: a task was not cancelled");
        yc_task_unref(ts[i]);
    }
    free(ts);
    return YC_NONE;
}

static int run_sleepers(long n, size_t stack, const char *sys)
{
    check(n > 0, "sleepers: N > 0");
    sl_n = n;
    run_main(main_sleepers, NULL, stack);
    check(sl_rss0 > 0 && sl_rss1 > 0, "sleepers: no VmRSS in /proc/self/status");
    yc_stats s;
    yc_stats_get(&s);
    check(s.tasks == 0 && s.loops == 0, "sleepers: tasks or loops left alive");
    printf("%s\t%ld\t%.0f\t%.4f\t%.4f\t%.0f\n", sys, n, (double)(sl_rss1 - sl_rss0) * 1024.0 / (double)n,
           sl_spawn_s, sl_cancel_s, (double)(sl_pte1 - sl_pte0) * 1024.0 / (double)n);
    fflush(stdout);
    return 0;
}

/* ---- the page-fault floor of sleepers ------------------------------- */

/*
 * What the kernel alone charges for the sleepers' stacks: chunks mapped as
 * the library maps them (its slot size and slots per chunk, from
 * yc__gen_slot_bytes; the guard pages left untouched, which only lowers
 * the floor; chunk headers are not in the chunks), then one write into the
 * top page of every stack, where a task's first step writes its
 * generator's header. Prints
 * "floor<TAB>N<TAB>map_s<TAB>touch_s<TAB>faults_per_stack<TAB>us_per_fault
 * <TAB>unmap_s": touch_s is the floor under sleepers' spawn_s.
 */
static long minor_faults(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_minflt;
}

static int run_floor(long n, size_t stack)
{
    check(n > 0, "floor: N > 0");
    int per_chunk = 0;
    size_t slot = yc__gen_slot_bytes(stack, &per_chunk);
    if (per_chunk < 1) per_chunk = 1; /* a stack too big to share a chunk: mapped alone */
    long nchunks = (n + per_chunk - 1) / per_chunk;
    size_t chunk = (size_t)per_chunk * slot;
    char **chunks = malloc((size_t)nchunks * sizeof *chunks);
    check(chunks != NULL, "malloc");
    uint64_t t0 = bench_now_ns();
    for (long c = 0; c < nchunks; c++) {
        chunks[c] = mmap(NULL, chunk, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
        check(chunks[c] != MAP_FAILED, "floor: mmap");
    }
    uint64_t t1 = bench_now_ns();
    cpu_mark c1 = cpu_now();
    long f0 = minor_faults();
    for (long i = 0; i < n; i++) {
        char *top = chunks[i / per_chunk] + (size_t)(i % per_chunk + 1) * slot;
        *(volatile long *)(top - 256) = i;
    }
    uint64_t t2 = bench_now_ns();
    long faults = minor_faults() - f0;
    cpu_phase("floor: first touch of the stacks", c1, cpu_now(), n);
    for (long c = 0; c < nchunks; c++) munmap(chunks[c], chunk);
    uint64_t t3 = bench_now_ns();
    free(chunks);
    double touch_s = (double)(t2 - t1) / 1e9;
    printf("floor\t%ld\t%.4f\t%.4f\t%.3f\t%.3f\t%.4f\n", n, (double)(t1 - t0) / 1e9, touch_s,
           (double)faults / (double)n, faults ? touch_s * 1e6 / (double)faults : 0.0,
           (double)(t3 - t2) / 1e9);
    fflush(stdout);
    return 0;
}

/* ---- main ----------------------------------------------------------- */

static long arg_long(int argc, char **argv, int i, long dflt)
{
    return argc > i ? strtol(argv[i], NULL, 10) : dflt;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    const char *ph = getenv("YC_BENCH_PHASES");
    phases = ph && *ph && strcmp(ph, "0") != 0;
    if (phases) yc_set_allocator(counting_alloc, NULL);
    if (strcmp(mode, "spawn") == 0 || strcmp(mode, "spawn-sleep0") == 0)
        return run_spawn(mode, arg_long(argc, argv, 2, 1000000), arg_long(argc, argv, 3, 10000),
                         argc > 4 ? argv[4] : "yieldc", strcmp(mode, "spawn-sleep0") == 0);
    if (strcmp(mode, "pingpong") == 0 || strcmp(mode, "pingpong-future") == 0)
        return run_pingpong(mode, arg_long(argc, argv, 2, 1000000), argc > 3 ? argv[3] : "yieldc");
    if (strcmp(mode, "timers") == 0)
        return run_timers(arg_long(argc, argv, 2, 100000), arg_long(argc, argv, 3, 10),
                          argc > 4 ? argv[4] : "yieldc");
    if (strcmp(mode, "sleepers") == 0)
        return run_sleepers(arg_long(argc, argv, 2, 1000000), (size_t)arg_long(argc, argv, 3, 0),
                            argc > 4 ? argv[4] : "yieldc");
    if (strcmp(mode, "floor") == 0)
        return run_floor(arg_long(argc, argv, 2, 1000000), (size_t)arg_long(argc, argv, 3, 0));
    if (strcmp(mode, "config") == 0) {
        printf("%s queue=%d\n", yc_config(),
#ifdef YC_BENCH_HAVE_QUEUE
               1
#else
               0
#endif
        );
        return 0;
    }
    fprintf(stderr, "usage: bench_loop spawn|spawn-sleep0 N BATCH [SYSTEM] | pingpong|pingpong-future N "
                    "[SYSTEM] | timers TASKS ITERS [SYSTEM] | sleepers N STACK [SYSTEM] | floor N STACK | "
                    "config\n");
    return 2;
}
