/*
 * Context switch for AArch64, AAPCS64 (procedure call standard), ELF, GNU as.
 *
 * A suspended context is a frame on its own stack; yc__ctx holds only the
 * stack pointer to it. The frame (offsets from the saved stack pointer):
 *
 *   offset  size  content
 *   0x00    8     FPCR (rounding mode, flush-to-zero, default-NaN, ...)
 *   0x08    8     (padding, zero)
 *   0x10    16    d8,  d9    (low 64 bits of v8..v15: all AAPCS64 keeps)
 *   0x20    16    d10, d11
 *   0x30    16    d12, d13
 *   0x40    16    d14, d15
 *   0x50    16    x19, x20   (entry function and argument, fresh context)
 *   0x60    16    x21, x22
 *   0x70    16    x23, x24
 *   0x80    16    x25, x26
 *   0x90    16    x27, x28
 *   0xa0    16    x29 (frame pointer), x30 (link register: where the
 *                 context resumes; yc__ctx_trampoline for a fresh one)
 *   0xb0          = FRAME_SIZE (a multiple of 16, as sp must be)
 *
 * Only callee-saved state is saved: the C caller of the jump already assumes
 * every other register (x0-x18, v0-v7, v16-v31, the upper halves of
 * v8-v15, NZCV) is clobbered. Of the FP state only the control register
 * FPCR travels with a context; FPSR (the cumulative exception flags) stays
 * with the thread, so a flag raised on one stack is seen on the other (on
 * x86-64 the flags share MXCSR with the controls and travel with them).
 *
 * sp goes down before the frame is stored below it and up only after the
 * frame is loaded: a signal taken at any instruction (Linux has no red zone
 * on AArch64) cannot overwrite a frame.
 *
 * Branch protection. Built with -mbranch-protection=bti (the compiler then
 * defines __ARM_FEATURE_BTI_DEFAULT) the entry points start with `bti c`,
 * resumes return with `ret` (a return address is no BTI landing pad, but
 * ret is not checked) and the file carries the GNU property note that lets
 * the linker mark the binary BTI-compatible. Without it, resumes use
 * `br x30` (see yc__ctx_jump) and no note is emitted, so a binary linked
 * with this object is simply not marked BTI. Return-address signing
 * (pac-ret) needs nothing here: the return addresses a jump saves and
 * branches to are the plain ones its caller's bl left in x30 (each C
 * function signs and authenticates its own saved x30 around them), so the
 * note also claims PAC when the compiler signs return addresses.
 */

#define OFF_FPCR    0x00
#define OFF_D8      0x10
#define OFF_D10     0x20
#define OFF_D12     0x30
#define OFF_D14     0x40
#define OFF_X19     0x50
#define OFF_X21     0x60
#define OFF_X23     0x70
#define OFF_X25     0x80
#define OFF_X27     0x90
#define OFF_X29     0xa0
#define FRAME_SIZE  0xb0

#if defined(__ARM_FEATURE_BTI_DEFAULT) && __ARM_FEATURE_BTI_DEFAULT
#  define YC_BTI 1
#  define BTI_C   hint 34               /* bti c: a landing pad for calls  */
#else
#  define YC_BTI 0
#  define BTI_C
#endif

/* The CFA offset of a frame slot once the frame is pushed: CFI describes
 * where each register is saved relative to the caller's sp. */
#define CFA(off)    ((off) - FRAME_SIZE)

    .text

/* Pushes the callee-saved registers and FPCR in the frame layout above and
 * stores the frame address into *from (x0). Uses x9 as scratch. */
.macro SAVE_FRAME
    sub     sp, sp, #FRAME_SIZE         /* room for the frame              */
    .cfi_adjust_cfa_offset FRAME_SIZE
    stp     x29, x30, [sp, #OFF_X29]    /* frame pointer, return address   */
    .cfi_offset x29, CFA(OFF_X29)
    .cfi_offset x30, CFA(OFF_X29 + 8)
    stp     x19, x20, [sp, #OFF_X19]    /* callee-saved registers ...      */
    .cfi_offset x19, CFA(OFF_X19)
    .cfi_offset x20, CFA(OFF_X19 + 8)
    stp     x21, x22, [sp, #OFF_X21]
    .cfi_offset x21, CFA(OFF_X21)
    .cfi_offset x22, CFA(OFF_X21 + 8)
    stp     x23, x24, [sp, #OFF_X23]
    .cfi_offset x23, CFA(OFF_X23)
    .cfi_offset x24, CFA(OFF_X23 + 8)
    stp     x25, x26, [sp, #OFF_X25]
    .cfi_offset x25, CFA(OFF_X25)
    .cfi_offset x26, CFA(OFF_X25 + 8)
    stp     x27, x28, [sp, #OFF_X27]    /* ... the general ones            */
    .cfi_offset x27, CFA(OFF_X27)
    .cfi_offset x28, CFA(OFF_X27 + 8)
    stp     d8, d9, [sp, #OFF_D8]       /* the FP/SIMD ones ...            */
    .cfi_offset d8, CFA(OFF_D8)
    .cfi_offset d9, CFA(OFF_D8 + 8)
    stp     d10, d11, [sp, #OFF_D10]
    .cfi_offset d10, CFA(OFF_D10)
    .cfi_offset d11, CFA(OFF_D10 + 8)
    stp     d12, d13, [sp, #OFF_D12]
    .cfi_offset d12, CFA(OFF_D12)
    .cfi_offset d13, CFA(OFF_D12 + 8)
    stp     d14, d15, [sp, #OFF_D14]    /* ... in the order of the table   */
    .cfi_offset d14, CFA(OFF_D14)
    .cfi_offset d15, CFA(OFF_D14 + 8)
    mrs     x9, fpcr                    /* x9 = FPCR                       */
    stp     x9, xzr, [sp, #OFF_FPCR]    /* save it, and zero the padding   */
    mov     x9, sp                      /* x9 = this frame                 */
    str     x9, [x0]                    /* from->sp = this frame           */
.endm

/* Switches to the stack of the context *to (x1): afterwards sp points to
 * its frame, whose layout equals the saving side's, so the CFI still
 * describes it. Uses x9 as scratch. */
.macro ENTER_FRAME
    ldr     x9, [x1]                    /* x9 = to->sp                     */
    mov     sp, x9                      /* switch stacks                   */
.endm

/* Restores the frame at sp (the resumed side's) and pops it. Uses x9, x10
 * as scratch. FPCR is written only when it differs: a write to it may
 * synchronise the pipeline, and the two sides almost always agree. */
.macro RESTORE_FRAME
    ldr     x9, [sp, #OFF_FPCR]         /* x9 = the resumed side's FPCR    */
    mrs     x10, fpcr                   /* x10 = the running FPCR          */
    cmp     x9, x10                     /* the same?                       */
    b.eq    1f                          /* then skip the write             */
    msr     fpcr, x9                    /* restore FPCR                    */
1:
    ldp     d8, d9, [sp, #OFF_D8]       /* the FP/SIMD registers ...       */
    .cfi_restore d8
    .cfi_restore d9
    ldp     d10, d11, [sp, #OFF_D10]
    .cfi_restore d10
    .cfi_restore d11
    ldp     d12, d13, [sp, #OFF_D12]
    .cfi_restore d12
    .cfi_restore d13
    ldp     d14, d15, [sp, #OFF_D14]    /* ... done                        */
    .cfi_restore d14
    .cfi_restore d15
    ldp     x19, x20, [sp, #OFF_X19]    /* the general registers ...       */
    .cfi_restore x19
    .cfi_restore x20
    ldp     x21, x22, [sp, #OFF_X21]
    .cfi_restore x21
    .cfi_restore x22
    ldp     x23, x24, [sp, #OFF_X23]
    .cfi_restore x23
    .cfi_restore x24
    ldp     x25, x26, [sp, #OFF_X25]
    .cfi_restore x25
    .cfi_restore x26
    ldp     x27, x28, [sp, #OFF_X27]    /* ... done                        */
    .cfi_restore x27
    .cfi_restore x28
    ldp     x29, x30, [sp, #OFF_X29]    /* frame pointer, return address   */
    .cfi_restore x29
    .cfi_restore x30
    add     sp, sp, #FRAME_SIZE         /* pop the frame                   */
    .cfi_adjust_cfa_offset -FRAME_SIZE
.endm

/* yc__xfer yc__ctx_jump(yc__ctx *from (x0), yc__ctx *to (x1),
 *                       uint64_t a (x2), uint64_t b (x3),
 *                       _Atomic int *flag (x4), int val (w5))
 * Returns (a, b) in x0:x1 to the resumed side. A yc_val, a 16-byte struct
 * of a union (int64, double, pointers, bool) and a uint64, is no
 * homogeneous floating-point aggregate (the union has integer members), so
 * AAPCS64 returns it in x0:x1 as well: the _v and _i flavours of
 * internal.h share this code. */
    .globl  yc__ctx_jump
    .hidden yc__ctx_jump
    .type   yc__ctx_jump, %function
    .p2align 4
yc__ctx_jump:
    .cfi_startproc
    BTI_C                               /* (BTI builds) landing pad        */
    SAVE_FRAME
    ENTER_FRAME
    stlr    w5, [x4]                    /* *flag = val, a release store:
                                           from's frame is written before
                                           another thread can see it free  */
    RESTORE_FRAME
    mov     x0, x2                      /* return (a, b) in x0:x1          */
    mov     x1, x3
#if YC_BTI
    ret                                 /* BTI: a return address is no
                                           landing pad, and ret is exempt  */
#else
    br      x30                         /* an indirect branch, not ret: the
                                           return predictor would guess this
                                           stack's caller; the branch target
                                           buffer learns the real target   */
#endif
    .cfi_endproc
    .size   yc__ctx_jump, .-yc__ctx_jump

/* yc__xfer yc__ctx_jump_ontop(yc__ctx *from (x0), yc__ctx *to (x1),
 *                             uint64_t a (x2), uint64_t b (x3),
 *                             yc__ctx_ontop fn (x4)) */
    .globl  yc__ctx_jump_ontop
    .hidden yc__ctx_jump_ontop
    .type   yc__ctx_jump_ontop, %function
    .p2align 4
yc__ctx_jump_ontop:
    .cfi_startproc
    BTI_C                               /* (BTI builds) landing pad        */
    SAVE_FRAME
    ENTER_FRAME
    RESTORE_FRAME
    mov     x16, x4                     /* x16 = fn (a br through x16 may
                                           land on fn's `bti c`)           */
    mov     x0, x2                      /* fn(a, b) ...                    */
    mov     x1, x3
    br      x16                         /* ... entered with to's return
                                           address in x30, so fn returns
                                           where to's jump would have      */
    .cfi_endproc
    .size   yc__ctx_jump_ontop, .-yc__ctx_jump_ontop

/* void yc__ctx_init(yc__ctx *c (x0), void *lo (x1), void *hi (x2),
 *                   yc__ctx_entry entry (x3), void *arg (x4))
 * Builds a frame at the top of [lo, hi) that a jump can resume: registers
 * zero except x19 = entry and x20 = arg, the resume address (x30) is the
 * trampoline, and FPCR is the caller's. */
    .globl  yc__ctx_init
    .hidden yc__ctx_init
    .type   yc__ctx_init, %function
    .p2align 4
yc__ctx_init:
    .cfi_startproc
    BTI_C                               /* (BTI builds) landing pad        */
    and     x9, x2, #~15                /* x9 = hi aligned down to 16      */
    sub     x9, x9, #FRAME_SIZE         /* the frame below it; once a jump
                                           pops it, sp = top: 16-aligned   */
    mrs     x10, fpcr                   /* inherit FPCR ...                */
    stp     x10, xzr, [x9, #OFF_FPCR]   /* ... and zero the padding        */
    stp     xzr, xzr, [x9, #OFF_D8]     /* d8..d15 = 0                     */
    stp     xzr, xzr, [x9, #OFF_D10]
    stp     xzr, xzr, [x9, #OFF_D12]
    stp     xzr, xzr, [x9, #OFF_D14]
    stp     x3, x4, [x9, #OFF_X19]      /* x19 = entry, x20 = arg          */
    stp     xzr, xzr, [x9, #OFF_X21]    /* x21..x28 = 0                    */
    stp     xzr, xzr, [x9, #OFF_X23]
    stp     xzr, xzr, [x9, #OFF_X25]
    stp     xzr, xzr, [x9, #OFF_X27]
    adr     x10, yc__ctx_trampoline     /* x10 = the trampoline            */
    stp     xzr, x10, [x9, #OFF_X29]    /* x29 = 0 (frame-pointer walks
                                           stop), x30 = the trampoline     */
    str     x9, [x0]                    /* c->sp = frame                   */
    ret
    .cfi_endproc
    .size   yc__ctx_init, .-yc__ctx_init

/* First code run in a fresh context, with x19 = entry and x20 = arg. There
 * is no caller: the CFI marks the return address undefined so that
 * unwinders and debuggers stop here. No landing pad: BTI builds reach it
 * with ret, which is not checked. */
    .type   yc__ctx_trampoline, %function
    .p2align 4
yc__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x0, x20                     /* entry(arg)                      */
    blr     x19                         /* sp is 16-aligned here           */
    brk     #0x3e8                      /* entry must never return         */
    .cfi_endproc
    .size   yc__ctx_trampoline, .-yc__ctx_trampoline

    .section .note.GNU-stack, "", %progbits

#if YC_BTI || (defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT)
/* The GNU property note: which branch protections this object is
 * compatible with (GNU_PROPERTY_AARCH64_FEATURE_1_AND: bit 0 BTI, bit 1
 * PAC). The linker marks the output only if every input says so. */
#  if YC_BTI
#    define FEATURE_BTI 1
#  else
#    define FEATURE_BTI 0
#  endif
#  if defined(__ARM_FEATURE_PAC_DEFAULT) && __ARM_FEATURE_PAC_DEFAULT
#    define FEATURE_PAC 2
#  else
#    define FEATURE_PAC 0
#  endif
    .pushsection .note.gnu.property, "a"
    .p2align 3
    .word   4                           /* name size: "GNU\0"              */
    .word   16                          /* descriptor size                 */
    .word   5                           /* NT_GNU_PROPERTY_TYPE_0          */
    .asciz  "GNU"
    .word   0xc0000000                  /* GNU_PROPERTY_AARCH64_FEATURE_1_AND */
    .word   4                           /* its data size                   */
    .word   FEATURE_BTI | FEATURE_PAC   /* the features                    */
    .word   0                           /* pad to 8                        */
    .popsection
#endif
