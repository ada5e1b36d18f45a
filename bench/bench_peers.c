/*
 * Peers written in C: glibc ucontext, and a plain indirect call (the floor).
 *
 *   bench_peers ucontext time [ms]        rows roundtrip, create
 *   bench_peers indirect-call time [ms]   row roundtrip
 *   bench_peers SYSTEM count-rt N         N round trips, untimed (callgrind)
 *
 * ucontext roundtrip: swapcontext into a context that swapcontexts straight
 * back. ucontext create: getcontext + makecontext on a reused 256 KiB stack
 * (the analogue of yieldc's warm pool), swapcontext in (it swaps back: the
 * yield), swapcontext in again (it returns, uc_link resumes us).
 * indirect-call roundtrip: a call through a function pointer read from a
 * volatile variable, so the compiler can neither inline nor devirtualise it.
 */
#define _GNU_SOURCE
#include "bench_common.h"

#include <string.h>
#include <ucontext.h>

#define UC_STACK (256u * 1024u)

static ucontext_t uc_main, uc_co;
static char *uc_stack;

static void co_forever(void)
{
    for (;;) swapcontext(&uc_co, &uc_main);
}

static void co_one(void)
{
    swapcontext(&uc_co, &uc_main); /* the yield; then return: uc_link */
}

static void uc_prepare(void (*fn)(void))
{
    getcontext(&uc_co);
    uc_co.uc_stack.ss_sp = uc_stack;
    uc_co.uc_stack.ss_size = UC_STACK;
    uc_co.uc_link = &uc_main;
    makecontext(&uc_co, fn, 0);
}

static void loop_uc_roundtrip(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) swapcontext(&uc_main, &uc_co);
}

static void loop_uc_create(uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uc_prepare(co_one);
        swapcontext(&uc_main, &uc_co); /* runs to the yield */
        swapcontext(&uc_main, &uc_co); /* runs to the end */
    }
}

__attribute__((noinline, noipa)) static uint64_t callee(uint64_t x) { return x + 1; }
static uint64_t (*volatile fp)(uint64_t) = callee;
static volatile uint64_t sink;

static void loop_indirect(uint64_t n)
{
    uint64_t acc = 0;
    for (uint64_t i = 0; i < n; i++) acc = fp(acc);
    sink = acc;
}

int main(int argc, char **argv)
{
    const char *sys = argc > 1 ? argv[1] : "";
    const char *mode = argc > 2 ? argv[2] : "time";
    int timed = strcmp(mode, "time") == 0;
    if (!timed && strcmp(mode, "count-rt") != 0) goto usage;
    if (strcmp(sys, "ucontext") == 0) {
        uc_stack = malloc(UC_STACK);
        if (!uc_stack) return 1;
        uc_prepare(co_forever);
        swapcontext(&uc_main, &uc_co); /* started: suspended in its loop */
        if (!timed) {
            loop_uc_roundtrip(bench_count_arg(argc, argv, 3));
            return 0;
        }
        double ms = bench_target_ms(argc, argv, 3);
        bench_row("roundtrip", sys, bench_measure(loop_uc_roundtrip, ms));
        bench_row("create", sys, bench_measure(loop_uc_create, ms));
        return 0;
    }
    if (strcmp(sys, "indirect-call") == 0) {
        if (!timed) {
            loop_indirect(bench_count_arg(argc, argv, 3));
            return 0;
        }
        bench_row("roundtrip", sys, bench_measure(loop_indirect, bench_target_ms(argc, argv, 3)));
        return 0;
    }
usage:
    fprintf(stderr, "usage: %s ucontext|indirect-call time [ms] | count-rt N\n", argv[0]);
    return 2;
}
