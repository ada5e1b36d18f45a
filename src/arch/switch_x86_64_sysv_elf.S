/*
 * Context switch for x86-64, System V ABI, ELF, GNU as.
 *
 * A suspended context is a frame on its own stack; yc__ctx holds only the
 * stack pointer to it. The frame (offsets from the saved stack pointer):
 *
 *   offset  size  content
 *   0x00    4     MXCSR (SSE control/status)
 *   0x04    2     x87 FPU control word
 *   0x06    2     (padding: zero in a fresh frame, else whatever was there)
 *   0x08    8     r15
 *   0x10    8     r14
 *   0x18    8     r13        (entry argument, for a fresh context)
 *   0x20    8     r12        (entry function, for a fresh context)
 *   0x28    8     rbx
 *   0x30    8     rbp
 *   0x38    8     return address (yc__ctx_trampoline, for a fresh context)
 *   0x40          = FRAME_SIZE
 *
 * Only callee-saved state is saved: the C caller of yc__ctx_jump already
 * assumes every other register is clobbered.
 *
 * The FP control state. The ABI makes the control bits of MXCSR and the
 * x87 control word callee-saved; a jump saves both words and carries MXCSR
 * whole (its status flags with it). MXCSR is loaded on every resume, the x87
 * control word only when the resumed side's differs from the running one
 * (almost never): fldcw is the slow one of the loads, while ldmxcsr is
 * cheap, and comparing MXCSR first is not (a load of what stmxcsr has just
 * stored waits for that store; docs/design.md has the measurements, and
 * that stmxcsr itself is the costliest instruction of a switch). The
 * running control word is read back from the frame just saved (a 2-byte
 * load of the 2-byte fnstcw store, which forwards) before the stack switch,
 * since the jump must not touch the leaving frame once it has released it
 * through *flag; the fldcw is out of line, after each function's last jump.
 *
 * Where src/arch/fast_path.h enables them, this file also defines the
 * generator's yc_next, yc_send and yc__yield: their common paths with the
 * switch inlined, falling back to src/gen.c for the rest (see there).
 */

#include "arch/fast_path.h"

#define OFF_MXCSR   0x00
#define OFF_X87CW   0x04
#define OFF_R15     0x08
#define OFF_R14     0x10
#define OFF_R13     0x18
#define OFF_R12     0x20
#define OFF_RBX     0x28
#define OFF_RBP     0x30
#define OFF_RET     0x38
#define FRAME_SIZE  0x40
#define NO_FP       0xffffffff /* in the MXCSR slot: FP words not saved */

    .text

/* Saves the callee-saved registers and the FP control words in the frame
 * layout above (with stores, not pushes: measured faster, see
 * docs/design.md), stores the frame address into *from (the context `from`
 * points to: rdi unless given), and leaves the running x87 control word in
 * r11d for RESTORE_FRAME. On entry rsp points at our return address, the
 * frame's top slot. With fp=0 (a switch to or from a generator created
 * with YC_GEN_SHARE_FPENV, on the fast paths) the FP words are not saved:
 * the MXCSR slot gets NO_FP, which no MXCSR value can be (its reserved
 * bits set), so that a restore that checks (RESTORE_FRAME fp=check) skips
 * them. */
.macro SAVE_FRAME from=%rdi, fp=1
    leaq    -0x38(%rsp), %rsp       /* the frame below the return address  */
    .cfi_adjust_cfa_offset 0x38
.if \fp
    stmxcsr OFF_MXCSR(%rsp)         /* save MXCSR                          */
    fnstcw  OFF_X87CW(%rsp)         /* save the x87 control word           */
.else
    movl    $NO_FP, OFF_MXCSR(%rsp) /* mark the FP words as not saved      */
.endif
    movq    %r15, OFF_R15(%rsp)     /* callee-saved registers ...          */
    .cfi_rel_offset r15, OFF_R15
    movq    %r14, OFF_R14(%rsp)
    .cfi_rel_offset r14, OFF_R14
    movq    %r13, OFF_R13(%rsp)
    .cfi_rel_offset r13, OFF_R13
    movq    %r12, OFF_R12(%rsp)
    .cfi_rel_offset r12, OFF_R12
    movq    %rbx, OFF_RBX(%rsp)
    .cfi_rel_offset rbx, OFF_RBX
    movq    %rbp, OFF_RBP(%rsp)     /* ... in the frame table's slots      */
    .cfi_rel_offset rbp, OFF_RBP
    movq    %rsp, (\from)           /* from->sp = this frame               */
.if \fp
    movzwl  OFF_X87CW(%rsp), %r11d  /* r11d = our x87 control word (the
                                       fnstcw store forwards to it)        */
.endif
.endm

/* Restores the frame at rsp (the resumed side's); r11d holds the running
 * x87 control word (from SAVE_FRAME). fp=0 leaves the FP words as they are
 * (the fast paths of a YC_GEN_SHARE_FPENV generator, whose frames and whose
 * resumers' frames they saved with fp=0); fp=check loads them unless the
 * frame says NO_FP (the jump functions, which any frame may reach). Every
 * other frame a fast path restores was saved with the FP words: a
 * generator without the flag is switched to and from only with them. With
 * `ret` (a register) it loads the
 * resumed side's return address into it first, so that the indirect jump's
 * target is known early (measured faster), and leaves rsp above the frame;
 * without, rsp is left at the return address. The stack layout equals the
 * saving side's, so the CFI still describes it. A control word that differs
 * branches to FP_RESTORE_COLD's code, labelled with `name`, which loads it
 * and comes back. */
.macro RESTORE_FRAME name, ret, fp=1
.ifnb \ret
    movq    OFF_RET(%rsp), \ret      /* the resumed side's return address   */
.endif
.ifnc \fp,0
.ifc \fp,check
    cmpl    $NO_FP, OFF_MXCSR(%rsp) /* FP words not saved in this frame?   */
    je      .L\name\()_x87cw_done   /* then leave the running ones         */
.endif
    ldmxcsr OFF_MXCSR(%rsp)         /* restore MXCSR                       */
    cmpw    OFF_X87CW(%rsp), %r11w  /* the resumed side's x87 CW = ours?   */
    jne     .L\name\()_x87cw        /* no: load it (out of line)           */
    .cfi_remember_state             /* (FP_RESTORE_COLD's code: this CFI)  */
.L\name\()_x87cw_done:
.endif
    movq    OFF_R15(%rsp), %r15     /* callee-saved registers ...          */
    .cfi_restore r15
    movq    OFF_R14(%rsp), %r14
    .cfi_restore r14
    movq    OFF_R13(%rsp), %r13
    .cfi_restore r13
    movq    OFF_R12(%rsp), %r12
    .cfi_restore r12
    movq    OFF_RBX(%rsp), %rbx
    .cfi_restore rbx
    movq    OFF_RBP(%rsp), %rbp     /* ... from the frame table's slots    */
    .cfi_restore rbp
.ifnb \ret
    leaq    FRAME_SIZE(%rsp), %rsp  /* drop the frame and return address   */
    .cfi_adjust_cfa_offset -FRAME_SIZE
    .cfi_register rip, \ret
.else
    leaq    OFF_RET(%rsp), %rsp     /* drop the frame: rsp at the return
                                       address                             */
    .cfi_adjust_cfa_offset -OFF_RET
.endif
.endm

/* The out-of-line part of RESTORE_FRAME `name`, placed after the function's
 * last jump: loads the resumed side's x87 control word, then goes back. Runs
 * with rsp at the resumed side's frame, as the branch to it did. */
.macro FP_RESTORE_COLD name
    .cfi_restore_state              /* the CFI at the branch               */
.L\name\()_x87cw:
    fldcw   OFF_X87CW(%rsp)         /* load the resumed side's x87 CW      */
    jmp     .L\name\()_x87cw_done   /* back to the register pops           */
.endm

/* yc__xfer yc__ctx_jump(yc__ctx *from (rdi), yc__ctx *to (rsi),
 *                       uint64_t a (rdx), uint64_t b (rcx),
 *                       _Atomic int *flag (r8), int val (r9d)) */
    .globl  yc__ctx_jump
    .hidden yc__ctx_jump
    .type   yc__ctx_jump, @function
    .p2align 4
yc__ctx_jump:
    .cfi_startproc
    SAVE_FRAME
    movq    (%rsi), %rsp            /* switch stacks: rsp = to->sp         */
    movl    %r9d, (%r8)             /* *flag = val: from's stack is free
                                       (x86 stores are release stores)     */
    RESTORE_FRAME jump, %r10, check /* r10 = the resumed side's return address */
    movq    %rdx, %rax              /* return (a, b) in rax:rdx            */
    movq    %rcx, %rdx
    jmp     *%r10                   /* an indirect jump, not ret: the return
                                       predictor would guess this stack's
                                       caller; the branch target buffer
                                       learns the real target              */
    FP_RESTORE_COLD jump
    .cfi_endproc
    .size   yc__ctx_jump, .-yc__ctx_jump

/* yc__xfer yc__ctx_jump_ontop(yc__ctx *from (rdi), yc__ctx *to (rsi),
 *                             uint64_t a (rdx), uint64_t b (rcx),
 *                             yc__ctx_ontop fn (r8)) */
    .globl  yc__ctx_jump_ontop
    .hidden yc__ctx_jump_ontop
    .type   yc__ctx_jump_ontop, @function
    .p2align 4
yc__ctx_jump_ontop:
    .cfi_startproc
    SAVE_FRAME
    movq    (%rsi), %rsp            /* switch stacks: rsp = to->sp         */
    RESTORE_FRAME ontop,, check
    movq    %rdx, %rdi              /* fn(a, b) ...                        */
    movq    %rcx, %rsi
    jmp     *%r8                    /* ... entered with to's return address
                                       on the stack, so fn returns where
                                       to's jump would have                */
    FP_RESTORE_COLD ontop
    .cfi_endproc
    .size   yc__ctx_jump_ontop, .-yc__ctx_jump_ontop

#if YC_FAST_PATH
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
    jne     .L\name\()_nobias       /* no: out of line (then the C path)   */
    movl    $YC__FP_RUNNING, G_STATE(%rdi) /* claimed: RUNNING ...         */
    movl    $0, G_CLAIMING(%rdi)    /* ... then claiming = 0 (in order)    */
.L\name\()_claimed:
.endm

/* The out-of-line part of RESUME_CLAIM `name` (after FAST_COLD, with the
 * entry's CFI): without a bias (owner 0) the claim is the locked
 * compare-and-swap; another thread's bias, or any other state, goes to the
 * C function `slow`, which revokes the bias or reports the state. */
.macro CLAIM_COLD name, slow
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

/* int yc_next(yc_gen *g (rdi), yc_val *out (rsi)) */
    .globl  yc_next
    .type   yc_next, @function
    .p2align 6                      /* (the path's layout then does not
                                       depend on the code before it)       */
yc_next:
    .cfi_startproc
    RESUME_CLAIM next, .Lnext_slow
    RESUME_SWITCH next, %rsi
    xorl    %eax, %eax              /* send None: (0, 0) in rax:rdx        */
    xorl    %edx, %edx
    jmp     *%r10                   /* into the generator                  */
    FAST_COLD next, .Lnext_slow, yc__next_slow
    CLAIM_COLD next, .Lnext_slow
    SHARE_COLD next
    .cfi_endproc
    .size   yc_next, .-yc_next

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

/* void yc__ctx_init(yc__ctx *c (rdi), void *lo (rsi), void *hi (rdx),
 *                   yc__ctx_entry entry (rcx), void *arg (r8))
 * Builds a frame at the top of [lo, hi) that a jump can resume: registers
 * zero except r12 = entry and r13 = arg, the return address is the
 * trampoline, and the FP control words are the caller's. */
    .globl  yc__ctx_init
    .hidden yc__ctx_init
    .type   yc__ctx_init, @function
    .p2align 4
yc__ctx_init:
    .cfi_startproc
    movq    %rdx, %rax              /* rax = hi                            */
    andq    $-16, %rax              /* 16-byte align the top               */
    subq    $FRAME_SIZE, %rax       /* the frame below it; once a jump pops
                                       it, rsp = top: 16-aligned, as the
                                       trampoline's call needs             */
    stmxcsr OFF_MXCSR(%rax)         /* inherit MXCSR                       */
    fnstcw  OFF_X87CW(%rax)         /* inherit the x87 control word        */
    movw    $0, 0x06(%rax)          /* clear the padding                   */
    movq    $0, 0x08(%rax)          /* r15 = 0                             */
    movq    $0, 0x10(%rax)          /* r14 = 0                             */
    movq    %r8, OFF_R13(%rax)      /* r13 = arg                           */
    movq    %rcx, OFF_R12(%rax)     /* r12 = entry                         */
    movq    $0, OFF_RBX(%rax)       /* rbx = 0                             */
    movq    $0, OFF_RBP(%rax)       /* rbp = 0: frame-pointer walks stop   */
    leaq    yc__ctx_trampoline(%rip), %r9 /* r9 = the trampoline           */
    movq    %r9, OFF_RET(%rax)      /* the jump lands there                */
    movq    %rax, (%rdi)            /* c->sp = frame                       */
    ret
    .cfi_endproc
    .size   yc__ctx_init, .-yc__ctx_init

/* First code run in a fresh context, with r12 = entry and r13 = arg. There
 * is no caller: the CFI marks the return address undefined so that
 * unwinders and debuggers stop here. */
    .type   yc__ctx_trampoline, @function
    .p2align 4
yc__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %r13, %rdi              /* entry(arg)                          */
    callq   *%r12                   /* rsp is 16-aligned here              */
    ud2                             /* entry must never return             */
    .cfi_endproc
    .size   yc__ctx_trampoline, .-yc__ctx_trampoline

    .section .note.GNU-stack, "", @progbits
