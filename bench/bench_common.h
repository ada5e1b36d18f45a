/*
 * Shared pieces of the C and C++ benchmark drivers: a monotonic clock, the
 * calibrate-then-measure loop, and the output format read by bench/report.py.
 *
 * A driver prints one line per benchmark: "benchmark<TAB>system<TAB>ns_per_op".
 * One process run gives one figure per benchmark; bench/run.sh runs every
 * system several times, interleaved, and takes the median.
 */
#ifndef YC_BENCH_COMMON_H
#define YC_BENCH_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* A loop of n operations. Each driver keeps its state in file-scope
 * variables so that the loop itself is all that is timed. */
typedef void (*bench_loop)(uint64_t n);

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Runs f with growing n until one call takes at least 20 ms (this is also
 * the warm-up), then once more with n scaled to last about target_ms, and
 * returns the nanoseconds per operation of that last call.
 */
static inline double bench_measure(bench_loop f, double target_ms)
{
    uint64_t n = 16, t;
    for (;;) {
        uint64_t t0 = bench_now_ns();
        f(n);
        t = bench_now_ns() - t0;
        if (t >= 20000000u || n >= ((uint64_t)1 << 40)) break;
        n *= t < 2000000u ? 8 : 2;
    }
    double want = target_ms * 1e6 / (double)t * (double)n;
    uint64_t big = want < 1.0 ? 1 : (uint64_t)want;
    uint64_t t0 = bench_now_ns();
    f(big);
    t = bench_now_ns() - t0;
    return (double)t / (double)big;
}

static inline void bench_row(const char *bench, const char *sys, double ns)
{
    printf("%s\t%s\t%.3f\n", bench, sys, ns);
    fflush(stdout);
}

static inline double bench_target_ms(int argc, char **argv, int i)
{
    double ms = argc > i ? atof(argv[i]) : 200.0;
    return ms > 0 ? ms : 200.0;
}

static inline uint64_t bench_count_arg(int argc, char **argv, int i)
{
    return argc > i ? strtoull(argv[i], NULL, 10) : 0;
}

#endif
