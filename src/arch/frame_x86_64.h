/*
 * The x86-64 switch frame, shared by the two x86-64 assembly files (the
 * switch, src/arch/switch_x86_64_sysv_elf.S, and the generator fast paths,
 * src/arch/fast_path_x86_64.S): its offsets (the frame table is in the
 * switch file) and the macros that save and restore it. Preprocessor
 * definitions and GNU as macros only: include it from a .S file.
 */
#ifndef YC_FRAME_X86_64_H
#define YC_FRAME_X86_64_H

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

#endif
