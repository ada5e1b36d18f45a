/*
 * Portable context switch on POSIX ucontext (getcontext, makecontext,
 * swapcontext). Slower than the assembly switch (glibc's swapcontext makes a
 * sigprocmask system call each time), but needs no code per architecture.
 * glibc saves and restores the FP environment (MXCSR and the x87 control
 * word on x86-64) with each context. Selected with -DYC_SWITCH=ucontext.
 *
 * swapcontext cannot carry values or run code after leaving the old stack,
 * so the jump leaves its words, flag and on-top function in a thread-local
 * record, and the resumed side acts on it when it lands.
 */
#include "arch.h"

#include <stdint.h>
#include <stdlib.h>

typedef struct pending {
    yc__xfer x;
    _Atomic int *flag;
    int val;
    yc__ctx_ontop ontop;
} pending;

static __thread pending P;

#if defined(__clang__)
#  define FRESH __attribute__((noinline))
#else
#  define FRESH __attribute__((noinline, noipa))
#endif

/* A context may land on another thread than it left from: each access to
 * the thread-local goes through a call that the compiler cannot merge with
 * one made before the switch. */
FRESH static pending *pending_get(void) { return &P; }

/* Run on the resumed side right after swapcontext returns there. */
static yc__xfer land(void)
{
    pending *p = pending_get();
    if (p->flag) {
        atomic_store_explicit(p->flag, p->val, memory_order_release);
        p->flag = NULL;
    }
    if (p->ontop) {
        yc__ctx_ontop fn = p->ontop;
        p->ontop = NULL;
        return fn(p->x.a, p->x.b);
    }
    return p->x;
}

/* makecontext passes int arguments only: pointers travel in halves. */
static void trampoline(unsigned e_lo, unsigned e_hi, unsigned a_lo, unsigned a_hi)
{
    yc__ctx_entry entry = (yc__ctx_entry)(uintptr_t)(((uint64_t)e_hi << 32) | e_lo);
    void *arg = (void *)(uintptr_t)(((uint64_t)a_hi << 32) | a_lo);
    (void)land();
    entry(arg);
    abort(); /* entry must never return */
}

void yc__ctx_init(yc__ctx *c, void *lo, void *hi, yc__ctx_entry entry, void *arg)
{
    uint64_t e = (uintptr_t)entry, a = (uintptr_t)arg;
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = (size_t)((char *)hi - (char *)lo) & ~(size_t)15;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))trampoline, 4, (unsigned)(e & 0xffffffffu),
                (unsigned)(e >> 32), (unsigned)(a & 0xffffffffu), (unsigned)(a >> 32));
}

yc__xfer yc__ctx_jump(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b, _Atomic int *flag,
                      int val)
{
    pending *p = pending_get();
    p->x.a = a;
    p->x.b = b;
    p->flag = flag;
    p->val = val;
    p->ontop = NULL;
    swapcontext(&from->uc, &to->uc);
    return land();
}

yc__xfer yc__ctx_jump_ontop(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b,
                            yc__ctx_ontop fn)
{
    pending *p = pending_get();
    p->x.a = a;
    p->x.b = b;
    p->flag = NULL;
    p->ontop = fn;
    swapcontext(&from->uc, &to->uc);
    return land();
}
