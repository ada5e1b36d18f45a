/*
 * Portable context switch on POSIX ucontext (getcontext, makecontext,
 * swapcontext). Slower than the assembly switch (glibc's swapcontext makes a
 * sigprocmask system call), but needs no code per architecture. glibc saves
 * and restores the FP environment (MXCSR and the x87 control word on x86-64)
 * with each context. Selected with -DYC_SWITCH=ucontext.
 */
#include "arch.h"

#include <stdint.h>
#include <stdlib.h>

/* The value passed by the switch in flight on this thread. */
static __thread void *xfer;

#if defined(__clang__)
#  define YC__FRESH_TLS __attribute__((noinline))
#else
#  define YC__FRESH_TLS __attribute__((noinline, noipa))
#endif

/* A context may come back on another thread than it left: read the
 * thread-local through a call the compiler cannot merge with earlier reads. */
YC__FRESH_TLS static void *xfer_get(void) { return xfer; }
YC__FRESH_TLS static void xfer_set(void *v) { xfer = v; }

/* makecontext passes int arguments only: the entry pointer travels in two. */
static void trampoline(unsigned lo, unsigned hi)
{
    yc__ctx_entry entry = (yc__ctx_entry)(((uintptr_t)hi << 32) | (uintptr_t)lo);
    entry(xfer_get());
    abort(); /* entry must never return */
}

void yc__ctx_init(yc__ctx *c, void *lo, void *hi, yc__ctx_entry entry)
{
    uintptr_t e = (uintptr_t)entry;
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = lo;
    c->uc.uc_stack.ss_size = (size_t)((char *)hi - (char *)lo) & ~(size_t)15;
    c->uc.uc_link = NULL;
    makecontext(&c->uc, (void (*)(void))trampoline, 2, (unsigned)(e & 0xffffffffu),
                (unsigned)(e >> 32));
}

void *yc__ctx_switch(yc__ctx *from, yc__ctx *to, void *arg)
{
    xfer_set(arg);
    swapcontext(&from->uc, &to->uc);
    return xfer_get();
}
