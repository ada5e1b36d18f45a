/*
 * The biased claim of a generator (claim.c): what the generator protocol
 * (gen.c) calls to claim a generator in C and to give a new one its owner.
 * The owner's plain claim itself is in the x86-64 fast paths
 * (src/arch/fast_path_x86_64.S); the Spin model of the whole handshake is
 * tests/model/bias.pml.
 */
#ifndef YC_CLAIM_H
#define YC_CLAIM_H

#include "internal.h"

#if YC_FAST_PATH
enum { YC__BIAS_UNKNOWN, YC__BIAS_ON, YC__BIAS_OFF, YC__BIAS_FORCED };

/* Whether new generators are biased: a YC__BIAS_ value, YC__BIAS_UNKNOWN
 * until the first generator finds out (yc__bias_mode_probe). */
YC_HIDDEN extern _Atomic int yc__bias_mode;
YC_HIDDEN int yc__bias_mode_probe(void);
/* Takes the bias of g, owned by thread o (or being revoked by another
 * thread), away from its owner for good; returns once g's state may be
 * compare-and-swapped from this thread. */
YC_HIDDEN void yc__unbias_slow(struct yc_gen *g, uintptr_t o);

/* The owner a new generator starts with: this thread, or 0 (no bias). */
static inline uintptr_t yc__bias_owner(void)
{
    int m = atomic_load_explicit(&yc__bias_mode, memory_order_relaxed);
    if (YC_UNLIKELY(m == YC__BIAS_UNKNOWN)) m = yc__bias_mode_probe();
    return m == YC__BIAS_ON || m == YC__BIAS_FORCED ? (uintptr_t)&yc__T : 0;
}

/* Makes g's state safe to compare-and-swap from this thread: a no-op unless
 * another thread owns g's bias. */
static inline void yc__unbias(struct yc_gen *g)
{
    uintptr_t o = atomic_load_explicit(&g->owner, memory_order_acquire);
    if (YC_UNLIKELY(o != 0 && o != (uintptr_t)&yc__T)) yc__unbias_slow(g, o);
}
#else
/* No fast path, no bias: every generator's owner is 0. */
static inline uintptr_t yc__bias_owner(void) { return 0; }
static inline void yc__unbias(struct yc_gen *g) { (void)g; }
#endif

/* Whether generators get the biased claim here (x86-64 fast path and the
 * membarrier system call): for yc_config. */
YC_HIDDEN bool yc__bias_available(void);

/* Every claim in C: moves g's state from *from to `to`. false, with *from
 * the state found, when it was not *from. The thread that owns g's bias
 * claims with plain stores, as the fast paths do (the same handshake, in
 * the same order: announce, reload the owner, move the state, withdraw the
 * announce; the signal fence keeps the compiler from reordering the
 * announce and the reload, a revoker's membarrier() the machine); any
 * other thread takes that bias away first, then claims with a
 * compare-and-swap (acquire). A locked instruction is the costly part of a
 * claim (docs/design.md, "The biased claim"). */
static inline bool yc__claim_cas(struct yc_gen *g, int *from, int to)
{
#if YC_FAST_PATH
    uintptr_t me = (uintptr_t)&yc__T;
    if (atomic_load_explicit(&g->owner, memory_order_relaxed) == me) {
        atomic_store_explicit(&g->claiming, 1, memory_order_relaxed);
        atomic_signal_fence(memory_order_seq_cst);
        if (YC_LIKELY(atomic_load_explicit(&g->owner, memory_order_relaxed) == me)) {
            int s = atomic_load_explicit(&g->state, memory_order_acquire);
            bool ok = s == *from;
            if (ok) atomic_store_explicit(&g->state, to, memory_order_relaxed);
            else *from = s;
            atomic_store_explicit(&g->claiming, 0, memory_order_release);
            return ok;
        }
        atomic_store_explicit(&g->claiming, 0, memory_order_relaxed); /* being revoked */
    }
#endif
    yc__unbias(g);
    return atomic_compare_exchange_strong_explicit(&g->state, from, to, memory_order_acquire,
                                                   memory_order_relaxed);
}

#endif
