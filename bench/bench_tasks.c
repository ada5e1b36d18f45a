/* Many live tasks: what stacks cost when the event loop holds thousands.
 *
 *   yc_bench_tasks batch N BATCH STACK   N tasks spawned BATCH at a time, each
 *                                        batch gathered and released: ns/task
 *   yc_bench_tasks sleep N STACK         N tasks each in yc_sleep(3600): the
 *                                        time to spawn them all until each is
 *                                        suspended, RSS per task, the time to
 *                                        cancel them all and join them
 *
 * STACK is the task stack in bytes, 0 for the default. The loop uses the
 * monotonic clock. One line of output, tab-separated key=value fields
 * (times also as CPU time: user + system of this process).
 * docs/design.md ("Stacks") has the figures and the commands.
 */
#define _GNU_SOURCE
#include <yieldc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall-clock seconds, and this process's CPU seconds (user + system: what
 * a loaded machine does not inflate). */
static double now(void) { return clock_s(CLOCK_MONOTONIC); }
static double cpu(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* VmRSS from /proc/self/status, in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

typedef struct params {
    long n, batch;
    size_t stack;
} params;

static yc_val returns(void *arg)
{
    (void)arg;
    return yc_int(1);
}

static yc_val sleeps(void *arg)
{
    (void)arg;
    yc_sleep(3600);
    return YC_NONE;
}

static void die(const char *what)
{
    char buf[512] = "";
    yc_exc_format(yc_err_get(), buf, sizeof buf);
    fprintf(stderr, "%s: %s\n", what, buf);
    exit(1);
}

static yc_val batch_main(void *arg)
{
    params *p = arg;
    yc_task **ts = malloc((size_t)p->batch * sizeof *ts);
    yc_task_opts o = {.stack_size = p->stack};
    double t0 = now(), c0 = cpu();
    for (long done = 0; done < p->n; done += p->batch) {
        for (long i = 0; i < p->batch; i++)
            if (!(ts[i] = yc_task_spawn(returns, NULL, &o))) die("spawn");
        yc_gather(ts, (size_t)p->batch, 0);
        for (long i = 0; i < p->batch; i++) yc_task_unref(ts[i]);
    }
    double t = now() - t0, c = cpu() - c0;
    printf("batch\tn=%ld\tbatch=%ld\tstack=%zu\tns_per_task=%.0f\tcpu_ns_per_task=%.0f\n", p->n,
           p->batch, p->stack, t * 1e9 / (double)p->n, c * 1e9 / (double)p->n);
    free(ts);
    return YC_NONE;
}

static yc_val sleep_main(void *arg)
{
    params *p = arg;
    yc_task **ts = malloc((size_t)p->n * sizeof *ts);
    memset(ts, 0, (size_t)p->n * sizeof *ts); /* touched before the first RSS reading */
    yc_task_opts o = {.stack_size = p->stack};
    long rss0 = rss_kib();
    double t0 = now(), c0 = cpu();
    for (long i = 0; i < p->n; i++)
        if (!(ts[i] = yc_task_spawn(sleeps, NULL, &o))) die("spawn");
    yc_sleep(0); /* every task runs to its sleep */
    yc_sleep(0);
    double t1 = now(), c1 = cpu();
    long rss1 = rss_kib();
    for (long i = 0; i < p->n; i++) yc_task_cancel(ts[i], NULL);
    yc_gather(ts, (size_t)p->n, YC_RETURN_EXCEPTIONS);
    double t2 = now(), c2 = cpu();
    for (long i = 0; i < p->n; i++) {
        if (!yc_task_cancelled(ts[i])) die("not cancelled");
        yc_task_unref(ts[i]);
    }
    double t3 = now();
    yc_stats s;
    yc_stats_get(&s);
    printf("sleep\tn=%ld\tstack=%zu\tspawn_s=%.3f\tspawn_cpu_s=%.3f\trss_per_task_kib=%.2f"
           "\tcancel_join_s=%.3f\tcancel_join_cpu_s=%.3f\tunref_s=%.3f\tstacks_mapped_after=%ld\n",
           p->n, p->stack, t1 - t0, c1 - c0, (double)(rss1 - rss0) / (double)p->n, t2 - t1,
           c2 - c1, t3 - t2, s.stacks_mapped);
    free(ts);
    return YC_NONE;
}

int main(int argc, char **argv)
{
    params p = {0};
    yc_gen_fn fn;
    if (argc == 5 && strcmp(argv[1], "batch") == 0) {
        p.n = atol(argv[2]);
        p.batch = atol(argv[3]);
        p.stack = (size_t)atol(argv[4]);
        fn = batch_main;
        if (p.batch <= 0 || p.n % p.batch) return fprintf(stderr, "N must be a multiple of BATCH\n"), 2;
    } else if (argc == 4 && strcmp(argv[1], "sleep") == 0) {
        p.n = atol(argv[2]);
        p.stack = (size_t)atol(argv[3]);
        fn = sleep_main;
    } else {
        fprintf(stderr, "usage: %s batch N BATCH STACK | sleep N STACK\n", argv[0]);
        return 2;
    }
    if (yc_loop_run(fn, &p, NULL, NULL) != YC_OK) die("run");
    return 0;
}
