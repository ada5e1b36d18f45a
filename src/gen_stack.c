/*
 * yc_gen_stack_trim: giving back the pages of a generator's stack that lie
 * below what it uses while it is suspended (issue 12, section 3). The
 * generators' layer: it claims the generator as a resume would, so that
 * no thread runs on the stack while its pages go; stack.c does the
 * madvise. docs/design.md ("Stacks", "Giving memory back") has the rule
 * and the figures.
 */
#define _GNU_SOURCE /* REG_RSP */
#include "claim.h"
#include "internal.h"

#if defined(YC_SWITCH_UCONTEXT)
#  include <ucontext.h>
#endif

/* The stack pointer a suspended (or never started) coroutine resumes
 * with: everything it uses lies at or above it. NULL where the switch
 * does not say (a ucontext target other than x86-64 and AArch64). */
static const char *saved_sp(const yc__coro *co)
{
#if !defined(YC_SWITCH_UCONTEXT)
    return co->ctx.sp;
#elif defined(__x86_64__)
    return (const char *)(uintptr_t)co->ctx.uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (const char *)(uintptr_t)co->ctx.uc.uc_mcontext.sp;
#else
    (void)co;
    return NULL;
#endif
}

/*
 * Claims a created or suspended g (RUNNING, as a resume does: a resume
 * from another thread meanwhile gets "generator already executing"; a
 * covered level of a yield from chain through its cover, gen.c),
 * gives back its stack below the saved stack pointer, and puts the state
 * back. A closed generator runs no more: everything below its header goes,
 * with no claim.
 */
int yc_gen_stack_trim(yc_gen *g, size_t *released)
{
    if (released) *released = 0;
    if (!g) return yc__fail(YC_EINVAL, &yc_TypeError, "generator is NULL");
    uint32_t magic = YC__GEN_MAGIC_OF(g); /* (switched while it runs elsewhere) */
    if (magic != YC__GEN_MAGIC && magic != YC__GEN_MAGIC_FROM) /* (in yield from) */
        return yc__fail(YC_EINVAL, &yc_ValueError, "not a live generator (freed or corrupted)");
    int s = atomic_load_explicit(&g->state, memory_order_acquire);
    for (;;) {
        if (s == YC_GEN_CLOSED) {
            size_t n = yc__stack_trim_below(&g->stack, (const char *)g);
            if (released) *released = n;
            return YC_OK;
        }
        if (s == YC_GEN_RUNNING) {
            if (g->co.parked)
                return yc__fail(YC_EBUSY, &yc_RuntimeError,
                                "yc_gen_stack_trim(): asynchronous generator is already running");
            return yc__fail(YC_EBUSY, &yc_ValueError, "generator already executing");
        }
        if (s == YC__GEN_COVERED || s == YC__GEN_UNCOVERING)
            s = YC_GEN_SUSPENDED; /* a chain's level or its cover (gen.c): the claim resolves it */
        if (yc__gen_claim(g, &s)) break; /* (and g gives up the levels it covers) */
    }
    const char *sp = saved_sp(&g->co);
    size_t n = sp ? yc__stack_trim_below(&g->stack, sp) : 0;
    atomic_store_explicit(&g->state, s, memory_order_release);
    if (released) *released = n;
    return YC_OK;
}
