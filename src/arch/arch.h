/*
 * The context-switch interface: the only thing an architecture provides.
 * One implementation is compiled in, chosen at configure time
 * (YC_SWITCH=asm picks switch_<arch>_<abi>_elf.S, YC_SWITCH=ucontext picks
 * switch_ucontext.c). Adding a target means adding one file.
 *
 * A switch carries two machine words (a, b) to the side it resumes, which
 * receives them as the return value of its own pending jump (in registers:
 * rax:rdx on x86-64). Callers declare the jump with whatever two-word return
 * type suits them (yc__xfer, yc_val or int) so that a C function can
 * tail-call it: the resumed side then continues straight in its caller, and
 * no `ret` follows a switch (a return after a switch is always mispredicted,
 * since the return-stack buffer holds the other stack's addresses).
 *
 * An architecture may also have generator fast paths with the switch
 * inlined, in a file of their own at the generators' layer (fast_path.h
 * says where; x86-64's is fast_path_x86_64.S).
 */
#ifndef YC_ARCH_H
#define YC_ARCH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

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

typedef struct yc__xfer {
    uint64_t a, b;
} yc__xfer;

/* Entry of a new context: entry(arg), and it must never return. */
typedef void (*yc__ctx_entry)(void *arg);
/* A function run on top of a resumed context (see yc__ctx_jump_ontop). */
typedef yc__xfer (*yc__ctx_ontop)(uint64_t a, uint64_t b);

/*
 * Prepares c so that the first jump into it calls entry(arg) on the stack
 * [lo, hi) (hi exclusive; aligned here as the ABI requires). The first
 * jump's words are dropped. The caller's FP control state is inherited.
 */
void yc__ctx_init(yc__ctx *c, void *lo, void *hi, yc__ctx_entry entry, void *arg);

/*
 * Saves the running context into *from and resumes to, handing it (a, b).
 * Once off from's stack, stores val into *flag (a release store), so that
 * another thread waiting on *flag can never resume from while its stack is
 * still in use. Returns the words of the jump that later resumes from.
 * Callee-saved registers, MXCSR and the x87 control word travel with each
 * context.
 */
yc__xfer yc__ctx_jump(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b, _Atomic int *flag,
                      int val);

/*
 * yc__ctx_jump for a switch between two sides that suspended through the
 * same call sites (the event loop's direct hand-off between two tasks
 * parked in the same await): an architecture may end it with a return, so
 * that the return predictor's entries, pushed by the leaving side's calls,
 * predict the resumed side's returns. Where none does (YC_HAVE_JUMP_RET
 * not defined), callers use yc__ctx_jump.
 */
#if !defined(YC_SWITCH_UCONTEXT) && defined(__x86_64__)
#  define YC_HAVE_JUMP_RET 1
yc__xfer yc__ctx_jump_ret(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b, _Atomic int *flag,
                          int val);
#endif

/*
 * yc__ctx_jump for the last jump of a context that never runs again (a
 * generator that has finished): saves nothing of it, so it takes no
 * `from`; the resumed side gets (a, b) and *flag = val is stored once off
 * the stack, as for yc__ctx_jump. Where an architecture has none
 * (YC_HAVE_CTX_LEAVE not defined), callers use yc__ctx_jump.
 */
#if !defined(YC_SWITCH_UCONTEXT) && defined(__x86_64__)
#  define YC_HAVE_CTX_LEAVE 1
yc__xfer yc__ctx_leave(yc__ctx *to, uint64_t a, uint64_t b, _Atomic int *flag, int val);
#endif

/*
 * Like yc__ctx_jump (without the flag), but resumes to by calling fn(a, b)
 * on to's stack, as if to's pending jump had called fn: what fn returns
 * becomes that jump's return value; fn may also never return (raise). This
 * is how an exception is thrown into a suspended generator.
 */
yc__xfer yc__ctx_jump_ontop(yc__ctx *from, yc__ctx *to, uint64_t a, uint64_t b,
                            yc__ctx_ontop fn);

#endif
