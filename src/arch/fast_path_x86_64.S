/*
 * The generator fast paths for x86-64 (src/arch/fast_path.h says when they
 * are built): yc_next, yc_send and yc__yield with the context switch
 * inlined, falling back to the complete protocol in C (src/gen.c) for
 * every case but the common one. They are the generator layer's code, in
 * assembly: the switch itself is src/arch/switch_x86_64_sysv_elf.S, whose
 * frame (src/arch/frame_x86_64.h) they save and restore the same way.
 *
 * The structure offsets and values they use (YC__FP_*) are generated from
 * the C structures at build time (src/arch/offsets.c, compiled to assembly
 * and extracted by cmake/offsets.cmake into yc_offsets.h), so that a field
 * moved in C moves here with it; src/gen.c asserts them again.
 */

#include "arch/fast_path.h"

#if YC_FAST_PATH
#include "arch/frame_x86_64.h"
#include "yc_offsets.h"

    .text

/* ---- the generator fast paths (src/arch/fast_path.h) -------------------
 *
 * yc_next, yc_send and yc__yield with the switch inlined. Each does what
 * the C function does on its common path (src/gen.c: yc__send_slow and
 * gen_go_from, yc__yield_slow): the same checks, the same claim, the same
 * stores, the same frame; and leaves every other case to that C function
 * by a jump taken before anything is changed, with the argument registers
 * untouched. The G_, CO_ and value names are the layout src/gen.c
 * asserts. */

#define G_MAGIC      YC__FP_GEN_MAGIC
#define G_STATE      YC__FP_GEN_STATE
#define G_OWNER      YC__FP_GEN_OWNER
#define G_CLAIMING   YC__FP_GEN_CLAIMING
#define G_FLAGS      YC__FP_GEN_FLAGS
#define G_OUT        YC__FP_GEN_OUT
#define G_SCRATCH    YC__FP_GEN_SCRATCH
#define G_YIELD_FILE YC__FP_GEN_YIELD_FILE
#define G_YIELD_LINE YC__FP_GEN_YIELD_LINE
#define G_SUSP       YC__FP_GEN_SUSP
#define G_CO         YC__FP_GEN_CO
#define CO_RESUMER   YC__FP_CORO_RESUMER
#define CO_GEN       YC__FP_CORO_GEN

/* The claim of yc_next / yc_send, g in rdi: leaves me (yc__T.cur) in r10,
 * yc__T's TLS offset in r11 and g claimed (RUNNING); or jumps to `slow`
 * with nothing changed and the argument registers untouched. Uses rax,
 * r9d, r10, r11. The biased claim (src/gen.c): when this thread owns g's
 * bias, plain stores; the announce (claiming = 1) is stored before owner
 * is loaded again, with no fence between: a revoker's membarrier() orders
 * them. Only the owner stores to claiming: a thread that finds another
 * owner goes out of line at once (`name`_notours), since its stores could
 * otherwise hide the owner's announce from a revoker. Any other case goes
 * to CLAIM_COLD's code (`name`_nobias). */
.macro RESUME_CLAIM name, slow
    .cfi_remember_state             /* (the slow exit's CFI: this one)     */
    movq    yc__T@gottpoff(%rip), %r11 /* r11 = yc__T's TLS offset        */
    movq    %fs:(%r11), %r10        /* me = yc__T.cur                      */
    testq   %rdi, %rdi              /* g NULL?                             */
    jz      \slow                   /* misuse: the C path reports it       */
    cmpl    $YC__FP_GEN_MAGIC_VAL, G_MAGIC(%rdi) /* a live generator?      */
    jne     \slow                   /* no: the C path reports it           */
    testq   %r10, %r10              /* thread not set up yet?              */
    jz      \slow                   /* the C path sets it up               */
    movq    %fs:0, %rax             /* rax = the thread pointer ...        */
    addq    %r11, %rax              /* ... + yc__T's offset = &yc__T       */
    cmpq    %rax, G_OWNER(%rdi)     /* do we own g's bias? (only the owner
                                       may ever store to claiming)         */
    jne     .L\name\()_notours      /* no: out of line                     */
    movl    $1, G_CLAIMING(%rdi)    /* claiming = 1: a plain claim begins  */
    cmpq    %rax, G_OWNER(%rdi)     /* still ours? (loaded after the
                                       announce: the handshake's load)     */
    jne     .L\name\()_nobias       /* being revoked: out of line          */
    cmpl    $YC__FP_SUSPENDED, G_STATE(%rdi) /* suspended?                 */
    jne     .L\name\()_notsusp      /* no: out of line (CLAIM_COLD)        */
    movl    $YC__FP_RUNNING, G_STATE(%rdi) /* claimed: RUNNING ...         */
    movl    $0, G_CLAIMING(%rdi)    /* ... then claiming = 0 (in order)    */
.L\name\()_claimed:
.endm

/* The out-of-line part of RESUME_CLAIM `name` (after FAST_COLD, with the
 * entry's CFI): with created=1 (yc_next: a first next sends None, which a
 * just-started generator accepts), the owner's plain claim also takes a
 * generator that has not run yet (CREATED), unless it shares the FP state
 * (its first switch then goes through the C path's jump, which loads the
 * FP words its frame was made with, as without the flag); the switch is the
 * same, landing in the trampoline of the frame yc__ctx_init built. Without
 * a bias (owner 0) the claim is the locked compare-and-swap; another
 * thread's bias, or any other state, goes to the C function `slow`, which
 * revokes the bias or reports the state. */
.macro CLAIM_COLD name, slow, created=0
.L\name\()_notsusp:
.if \created
    cmpl    $YC__FP_CREATED, G_STATE(%rdi) /* not started yet?             */
    jne     .L\name\()_nobias       /* no: the C path reports the state    */
    testb   $YC__FP_SHARE_FPENV, G_FLAGS(%rdi) /* shares the FP state?     */
    jnz     .L\name\()_nobias       /* its first run loads the creator's:
                                       the C path's jump                   */
    movl    $YC__FP_RUNNING, G_STATE(%rdi) /* claimed: RUNNING ...         */
    movl    $0, G_CLAIMING(%rdi)    /* ... then claiming = 0 (in order)    */
    jmp     .L\name\()_claimed      /* the first switch lands in the
                                       fresh frame's trampoline            */
.endif
.L\name\()_nobias:
    movl    $0, G_CLAIMING(%rdi)    /* no plain claim after all            */
.L\name\()_notours:
    cmpq    $0, G_OWNER(%rdi)       /* nobody's bias?                      */
    jne     \slow                   /* someone's: the C path               */
    movl    $YC__FP_SUSPENDED, %eax /* the claim: SUSPENDED ...            */
    movl    $YC__FP_RUNNING, %r9d   /* ... -> RUNNING, atomically (acquire) */
    lock cmpxchgl %r9d, G_STATE(%rdi) /* (another state stays as it is)   */
    je      .L\name\()_claimed      /* claimed: back to the switch         */
    jmp     \slow                   /* first run, closed, busy: C path     */
.endm

/* The rest of the resume, g claimed (RESUME_CLAIM): g->co.resumer = me,
 * g->out = out or &g->scratch, yc__T.cur = &g->co, then the switch from
 * me->ctx to g->co.ctx. The state is RUNNING already: no flag to publish.
 * `out` is the register holding out (clobbered); rax is clobbered. */
.macro RESUME_SWITCH name, out
    leaq    G_SCRATCH(%rdi), %rax   /* rax = &g->scratch                   */
    testq   \out, \out              /* out NULL?                           */
    cmovzq  %rax, \out              /* then the result goes to g->scratch  */
    movq    \out, G_OUT(%rdi)       /* g->out = out                        */
    movq    %r10, G_CO+CO_RESUMER(%rdi) /* g->co.resumer = me              */
    leaq    G_CO(%rdi), %rax        /* rax = &g->co (its ctx is at 0)      */
    movq    %rax, %fs:(%r11)        /* yc__T.cur = &g->co                  */
    testb   $YC__FP_SHARE_FPENV, G_FLAGS(%rdi) /* shares our FP state?     */
    jnz     .L\name\()_share        /* yes: out of line (SHARE_COLD)       */
    SAVE_FRAME %r10                 /* me->ctx.sp = our frame              */
    movq    (%rax), %rsp            /* switch stacks: rsp = g->co.ctx.sp   */
    RESTORE_FRAME \name, %r10       /* r10 = the generator's return address */
.L\name\()_switched:
.endm

/* The out-of-line switch of RESUME_SWITCH `name` for a generator created
 * with YC_GEN_SHARE_FPENV: the same without the FP words (placed after
 * CLAIM_COLD, where the CFI is the entry's, as at the branch to it). */
.macro SHARE_COLD name
.L\name\()_share:
    SAVE_FRAME %r10, 0              /* me->ctx.sp = our frame, no FP words */
    movq    (%rax), %rsp            /* switch stacks: rsp = g->co.ctx.sp   */
    RESTORE_FRAME \name\()_s, %r10, 0 /* r10 = the return address, FP as is */
    jmp     .L\name\()_switched     /* back to the common tail             */
.endm

/* The out-of-line end of a fast path: the FP_RESTORE_COLD code, then the
 * exit to the C function `slow` (with the CFI of the function's entry). */
.macro FAST_COLD name, slow_label, slow
    FP_RESTORE_COLD \name
    .cfi_restore_state              /* the CFI at the entry                */
\slow_label:
    jmp     \slow                   /* the complete protocol, in C         */
.endm

/* int yc_next(yc_gen *g (rdi), yc_val *out (rsi)), and under a second
 * name the same code as a generator's yc_iter_type.next (src/gen.c):
 * int yc__gen_iter_next(yc_iter *it (rdi), yc_val *out (rsi)), where it
 * is the generator's first member, so the same address as g. Being the
 * type's next itself, with no C function in between, lets yc_iter_next
 * (src/iter.c) tail-call straight into the switch, and the generator's
 * switch back land in yc_iter_next's caller with no `ret` after it. */
    .globl  yc_next
    .type   yc_next, @function
    .globl  yc__gen_iter_next
    .hidden yc__gen_iter_next       /* the library's own: not exported     */
    .type   yc__gen_iter_next, @function
    .p2align 6                      /* (the path's layout then does not
                                       depend on the code before it)       */
yc__gen_iter_next:
yc_next:
    .cfi_startproc
    RESUME_CLAIM next, .Lnext_slow
    RESUME_SWITCH next, %rsi
    xorl    %eax, %eax              /* send None: (0, 0) in rax:rdx        */
    xorl    %edx, %edx
    jmp     *%r10                   /* into the generator                  */
    FAST_COLD next, .Lnext_slow, yc__next_slow
    CLAIM_COLD next, .Lnext_slow, 1
    SHARE_COLD next
    .cfi_endproc
    .size   yc_next, .-yc_next
    .size   yc__gen_iter_next, .-yc__gen_iter_next

/* int yc_send(yc_gen *g (rdi), yc_val v (rsi, rdx), yc_val *out (rcx)) */
    .globl  yc_send
    .type   yc_send, @function
    .p2align 6
yc_send:
    .cfi_startproc
    RESUME_CLAIM send, .Lsend_slow
    RESUME_SWITCH send, %rcx
    movq    %rsi, %rax              /* send v: (v.i, v.meta) in rax:rdx    */
    jmp     *%r10                   /* into the generator                  */
    FAST_COLD send, .Lsend_slow, yc__send_slow
    CLAIM_COLD send, .Lsend_slow
    SHARE_COLD send
    .cfi_endproc
    .size   yc_send, .-yc_send

/* yc_val yc__yield(yc_val v (rdi, rsi), const char *file (rdx),
 *                  int line (ecx)) */
    .globl  yc__yield
    .type   yc__yield, @function
    .p2align 6
yc__yield:
    .cfi_startproc
    .cfi_remember_state             /* (the slow exit's CFI: this one)     */
    movq    yc__T@gottpoff(%rip), %r11 /* r11 = yc__T's TLS offset        */
    movq    %fs:(%r11), %rax        /* co = yc__T.cur                      */
    testq   %rax, %rax              /* thread not set up?                  */
    jz      .Lyield_slow            /* then not in a generator: C raises   */
    movq    CO_GEN(%rax), %r8       /* g = co->gen                         */
    testq   %r8, %r8                /* the thread's main coroutine?        */
    jz      .Lyield_slow            /* not in a generator: C raises        */
    movq    CO_RESUMER(%rax), %r9   /* r = co->resumer                     */
    movq    G_OUT(%r8), %r10        /* r10 = g->out                        */
    movq    %rdi, (%r10)            /* *g->out = v, word by word           */
    movq    %rsi, 8(%r10)
    movq    %rdx, G_YIELD_FILE(%r8) /* the suspension point, for a throw's
                                       traceback                           */
    movl    %ecx, G_YIELD_LINE(%r8)
    movl    $YC__FP_SUSP_YIELD, G_SUSP(%r8) /* suspended in a plain yield  */
    movq    %r9, %fs:(%r11)         /* yc__T.cur = r                       */
    testb   $YC__FP_SHARE_FPENV, G_FLAGS(%r8) /* we share r's FP state?    */
    jnz     .Lyield_share           /* yes: out of line                    */
    SAVE_FRAME %rax                 /* co->ctx.sp = our frame              */
    movq    (%r9), %rsp             /* switch stacks: rsp = r->ctx.sp      */
    movl    $YC__FP_SUSPENDED, G_STATE(%r8) /* publish SUSPENDED: our stack
                                       is free (a release store)           */
    RESTORE_FRAME yield, %r10       /* r10 = the resumer's return address  */
.Lyield_switched:
    movl    $YC__FP_YIELD, %eax     /* its jump returns (YC_YIELD, 0)      */
    xorl    %edx, %edx
    jmp     *%r10                   /* back to the resumer                 */
    FAST_COLD yield, .Lyield_slow, yc__yield_slow
.Lyield_share:                      /* (the entry's CFI, as at the branch) */
    SAVE_FRAME %rax, 0              /* co->ctx.sp = our frame, no FP words */
    movq    (%r9), %rsp             /* switch stacks: rsp = r->ctx.sp      */
    movl    $YC__FP_SUSPENDED, G_STATE(%r8) /* publish SUSPENDED           */
    RESTORE_FRAME yield_s, %r10, 0  /* r10 = the return address, FP as is  */
    jmp     .Lyield_switched        /* back to the common tail             */
    .cfi_endproc
    .size   yc__yield, .-yc__yield
#endif /* YC_FAST_PATH */

    .section .note.GNU-stack, "", @progbits
