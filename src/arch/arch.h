/*
 * The context-switch interface: the only thing an architecture provides.
 * One implementation is compiled in, chosen at configure time
 * (YC_SWITCH=asm picks switch_<arch>_<abi>.S, YC_SWITCH=ucontext picks
 * switch_ucontext.c). Adding a target means adding one file.
 */
#ifndef YC_ARCH_H
#define YC_ARCH_H

#include <stddef.h>

#if defined(YC_SWITCH_UCONTEXT)
#  include <ucontext.h>
typedef struct yc__ctx {
    ucontext_t uc;
} yc__ctx;
#  define YC_SWITCH_NAME "ucontext"
#else
/* The assembly switch keeps everything on the suspended stack; the context
 * is just the saved stack pointer. */
typedef struct yc__ctx {
    void *sp;
} yc__ctx;
#  if defined(__x86_64__)
#    define YC_SWITCH_NAME "x86_64-sysv"
#  elif defined(__aarch64__)
#    define YC_SWITCH_NAME "aarch64-aapcs"
#  else
#    error "yieldc: no assembly context switch for this target; configure with -DYC_SWITCH=ucontext"
#  endif
#endif

/* Entry function of a new context. It receives the arg of the first switch
 * into the context and must never return. */
typedef void (*yc__ctx_entry)(void *arg);

/*
 * Prepares c so that the first switch into it calls entry(arg) on the stack
 * [lo, hi). hi is the (exclusive) top; the function aligns it as the ABI
 * requires. The floating-point control state of the caller is inherited.
 */
void yc__ctx_init(yc__ctx *c, void *lo, void *hi, yc__ctx_entry entry);

/*
 * Saves the running context into *from and resumes to. Returns when some
 * later switch resumes *from, and returns that switch's arg. The first
 * switch into a fresh context passes arg to its entry function instead.
 * Callee-saved registers and the FP control words travel with each context.
 */
void *yc__ctx_switch(yc__ctx *from, yc__ctx *to, void *arg);

#endif
