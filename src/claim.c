/*
 * The biased claim of generators: the owner's plain claim (in the x86-64
 * fast paths, src/arch/fast_path_x86_64.S) and its revocation by any other
 * thread, with membarrier. Its Spin model is tests/model/bias.pml (five
 * ways of breaking it, each found); docs/design.md, "The biased claim",
 * says why, with the measurements.
 */
#define _GNU_SOURCE
#include "claim.h"

#include <string.h>
#if YC_FAST_PATH
#  include <errno.h>
#  include <linux/membarrier.h>
#  include <sched.h>
#  include <stdio.h>
#  include <stdlib.h>
#  include <sys/syscall.h>
#  include <unistd.h>
#endif

/*
 * The biased claim.
 *
 * A locked compare-and-swap drains the store buffer, and right after a
 * switch (a dozen stores) that costs more than the rest of the protocol
 * (docs/design.md, "The biased claim", has the figures). So the x86-64
 * fast path of the thread that owns a generator's bias (g->owner ==
 * &yc__T; the creating thread) claims it with plain stores:
 *
 *   if (owner == me) {
 *       claiming = 1;
 *       if (owner == me && state == S) { state = R; claiming = 0; ... }
 *   }
 *
 * Only the owner ever stores to claiming (another thread's stores there
 * could hide the owner's announce from a revoker).
 * Every other claim is a compare-and-swap, and a thread that is not the
 * owner first takes the bias away for good (yc__unbias, claim.h): owner
 * = REVOKING; membarrier(); wait while claiming; owner = 0. That is Dekker's
 * handshake made asymmetric: the owner stores claiming then loads owner
 * with no fence between, and membarrier() makes every running thread of
 * the process execute a full barrier, so either the owner sees REVOKING
 * (and takes the compare-and-swap path) or its claiming = 1 is visible to
 * the revoker, which then waits for the plain claim to complete (state R
 * is visible before claiming = 0: x86 stores are ordered) before its own
 * compare-and-swap, which then fails as a second resume must. A bias is
 * never given back, so no thread can read a stale owner of 0.
 *
 * A revocation costs a system call with an interrupt to every CPU running
 * one of our threads (docs/design.md has the figures), once per generator
 * that changes threads. Past BIAS_REVOCATIONS of them the process stops
 * biasing new generators (a program that moves generators between threads
 * pays the locked claim instead, as every claim did before). Without the
 * membarrier system call (old kernels, seccomp, emulators), and in builds
 * without the assembly fast path, there is no bias at all.
 */
#if YC_FAST_PATH
#define BIAS_REVOCATIONS 64

_Atomic int yc__bias_mode;
static _Atomic long bias_revocations;

/* YC__BIAS_ON or YC__BIAS_OFF once found out (0 before): whether this
 * process may use membarrier. Two threads may find out at once: both find the same
 * (registering twice is harmless). */
static _Atomic int bias_probed;

static int bias_probe(void)
{
    int p = atomic_load_explicit(&bias_probed, memory_order_acquire);
    if (YC_LIKELY(p)) return p;
    /* YC_NO_BIAS=1: no bias, and no membarrier call at all (for a seccomp
     * filter that kills on system calls it does not know) */
    const char *off = getenv("YC_NO_BIAS");
    if (off && *off && strcmp(off, "0") != 0) {
        p = YC__BIAS_OFF;
    } else {
        long q = syscall(SYS_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        p = q >= 0 && (q & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
                    syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0
                ? YC__BIAS_ON
                : YC__BIAS_OFF;
    }
    atomic_store_explicit(&bias_probed, p, memory_order_release);
    return p;
}

/* The first generator's question (yc__bias_owner): is this process to
 * bias generators? */
int yc__bias_mode_probe(void)
{
    int unknown = YC__BIAS_UNKNOWN;
    atomic_compare_exchange_strong(&yc__bias_mode, &unknown, bias_probe());
    return atomic_load(&yc__bias_mode);
}

void yc__bias_force(int mode)
{
    if (mode != 1 && mode != 2) atomic_store(&bias_probed, 0); /* find out again */
    int on = bias_probe() == YC__BIAS_ON; /* forcing on needs membarrier registered */
    atomic_store(&yc__bias_mode, mode == 1 && on ? YC__BIAS_FORCED
                                 : mode == 2     ? YC__BIAS_OFF
                                                 : YC__BIAS_UNKNOWN);
    atomic_store(&bias_revocations, 0);
}

int yc__bias_kind(void) { return yc__bias_owner() ? 1 : 2; }

bool yc__bias_available(void) { return bias_probe() == YC__BIAS_ON; }

__attribute__((noinline, cold)) void yc__unbias_slow(yc_gen *g, uintptr_t o)
{
    if (o != YC__OWNER_REVOKING && atomic_compare_exchange_strong(&g->owner, &o, YC__OWNER_REVOKING)) {
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0) != 0) {
            /* registered by bias_probe, so this cannot fail; if it does,
             * going on could run the generator on two threads at once */
            fprintf(stderr, "yieldc: membarrier failed (%s) revoking the biased claim of "
                            "generator '%s'\n", strerror(errno), g->name);
            abort();
        }
        for (unsigned spins = 0; atomic_load_explicit(&g->claiming, memory_order_acquire); spins++) {
            if (spins < 64) __builtin_ia32_pause();
            else sched_yield(); /* the owner was preempted mid-claim */
        }
        atomic_store_explicit(&g->owner, 0, memory_order_release);
        if (atomic_fetch_add(&bias_revocations, 1) + 1 >= BIAS_REVOCATIONS) {
            int on = YC__BIAS_ON;
            atomic_compare_exchange_strong(&yc__bias_mode, &on, YC__BIAS_OFF);
        }
        return;
    }
    /* another thread is revoking: its compare-and-swap comes first */
    while (atomic_load_explicit(&g->owner, memory_order_acquire) != 0) sched_yield();
}

#else
/* No fast path, no bias: every generator's owner is 0 (claim.h). */
void yc__bias_force(int mode) { (void)mode; }
int yc__bias_kind(void) { return 2; }
bool yc__bias_available(void) { return false; }
#endif
