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
 * The frame's offsets and the macros that save and restore it are in
 * src/arch/frame_x86_64.h, shared with the generator fast paths
 * (src/arch/fast_path_x86_64.S, a layer above this file).
 */

#include "arch/frame_x86_64.h"

    .text

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

/* yc__xfer yc__ctx_jump_ret(the arguments of yc__ctx_jump)
 * yc__ctx_jump ending in `ret` instead of the indirect jump: for a switch
 * between two sides suspended through the same call sites (two tasks each
 * parked in the same await: the event loop's direct hand-off), where the
 * return stack buffer's entries, pushed by the leaving side's calls, are the
 * resumed side's return addresses, this one's first. */
    .globl  yc__ctx_jump_ret
    .hidden yc__ctx_jump_ret
    .type   yc__ctx_jump_ret, @function
    .p2align 4
yc__ctx_jump_ret:
    .cfi_startproc
    SAVE_FRAME
    movq    (%rsi), %rsp            /* switch stacks: rsp = to->sp         */
    movl    %r9d, (%r8)             /* *flag = val: from's stack is free   */
    RESTORE_FRAME jump_ret,, check  /* rsp left at the return address      */
    movq    %rdx, %rax              /* return (a, b) in rax:rdx            */
    movq    %rcx, %rdx
    ret                             /* predicted from the leaving side's
                                       calls (see above)                   */
    FP_RESTORE_COLD jump_ret
    .cfi_endproc
    .size   yc__ctx_jump_ret, .-yc__ctx_jump_ret
/* yc__xfer yc__ctx_leave(yc__ctx *to (rdi), uint64_t a (rsi), uint64_t b (rdx),
 *                        _Atomic int *flag (rcx), int val (r8d))
 * The last jump of a context that will never run again: yc__ctx_jump
 * without saving anything (no frame, no FP words: the `stmxcsr` is the
 * costly part of a save), so it needs no `from`. Only the running x87
 * control word is read (into the red zone: a leaf), for RESTORE_FRAME's
 * compare. */
    .globl  yc__ctx_leave
    .hidden yc__ctx_leave
    .type   yc__ctx_leave, @function
    .p2align 4
yc__ctx_leave:
    .cfi_startproc
    fnstcw  -8(%rsp)                /* our x87 control word, below rsp ... */
    movzwl  -8(%rsp), %r11d         /* ... into r11d, as SAVE_FRAME leaves it */
    movq    (%rdi), %rsp            /* switch stacks: rsp = to->sp         */
    .cfi_adjust_cfa_offset 0x38     /* rsp at a saved frame, its return
                                       address at OFF_RET, as after
                                       SAVE_FRAME                          */
    movl    %r8d, (%rcx)            /* *flag = val: our stack is free      */
    RESTORE_FRAME leave, %r10, check /* r10 = the resumed side's return address */
    movq    %rsi, %rax              /* return (a, b) in rax:rdx            */
    jmp     *%r10                   /* (b is in rdx already)               */
    FP_RESTORE_COLD leave
    .cfi_endproc
    .size   yc__ctx_leave, .-yc__ctx_leave

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
