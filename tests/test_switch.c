/* The context switch seen from C code: what a switch must preserve (floating
 * point values, the FP control state, callee-saved registers, stack contents,
 * every yc_val bit) and what must work on a generator's stack (stdio, deep
 * recursion, nested generators, try/finally across yields). */
#include "test.h"

#include <float.h>
#include <math.h>

#if defined(__x86_64__)
#  include <xmmintrin.h>
#endif
#if defined(__has_include)
#  if __has_include(<valgrind/valgrind.h>)
#    include <valgrind/valgrind.h>
#  endif
#endif
#ifndef RUNNING_ON_VALGRIND
#  define RUNNING_ON_VALGRIND 0
#endif

/* ---------------------------------------------------------------------
 * Floating point values across switches
 * ------------------------------------------------------------------- */

#define FP_STEPS 1000

/* Yields a running sum of i * 0.1 and, interleaved, multiplies a product
 * kept live across every yield; returns the product. */
static yc_val fp_body(void *arg)
{
    (void)arg;
    double sum = 0.0, prod = 1.0, sent_sum = 0.0;
    for (int i = 0; i < FP_STEPS; i++) {
        sum += i * 0.1;
        prod *= 1.0 + 1.0 / (i + 1.0);
        yc_val s = yc_yield(yc_float(sum));
        if (yc_type_of(s) == YC_T_FLOAT) sent_sum += s.f;
    }
    yc_yield(yc_float(sent_sum));
    return yc_float(prod);
}

TEST(switch_float_interleaved)
{
    yc_gen *g = yc_gen_new(fp_body, NULL, NULL);
    CHECK(g != NULL);
    double want_sum = 0.0, want_prod = 1.0, mine = 1.0, sent_sum = 0.0;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    for (int i = 0; i < FP_STEPS; i++) {
        want_sum += i * 0.1;
        want_prod *= 1.0 + 1.0 / (i + 1.0);
        CHECK_EQ_INT(yc_type_of(v), YC_T_FLOAT);
        if (v.f != want_sum) {
            CHECK(v.f == want_sum);
            break;
        }
        mine = mine * 1.5 - 0.5 * i; /* caller-side FP state live across the switch */
        double s = i * 0.5;
        sent_sum += s;
        CHECK_ST(yc_send(g, yc_float(s), &v), YC_YIELD);
    }
    CHECK_VAL(v, yc_float(sent_sum));
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_VAL(v, yc_float(want_prod));
    double ref = 1.0;
    for (int i = 0; i < FP_STEPS; i++) ref = ref * 1.5 - 0.5 * i;
    CHECK(mine == ref || (isnan(mine) && isnan(ref)));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---------------------------------------------------------------------
 * FP control state (x86-64): MXCSR rounding and flush-to-zero, and the x87
 * control word, each set directly (libm's fesetround would need -lm).
 * ------------------------------------------------------------------- */
#if defined(__x86_64__)

enum { RND_NEAREST = 0, RND_DOWN = 1, RND_UP = 2, RND_ZERO = 3 };
#define MXCSR_RC_SHIFT 13
#define MXCSR_FTZ 0x8000u
#define MXCSR_DAZ 0x0040u
#define X87_RC_SHIFT 10

static unsigned x87_cw(void)
{
    unsigned short cw;
    __asm__ volatile("fnstcw %0" : "=m"(cw));
    return cw;
}

static void x87_set_cw(unsigned cw)
{
    unsigned short c = (unsigned short)cw;
    __asm__ volatile("fldcw %0" : : "m"(c));
}

/* Both units to rounding mode `rnd`, as fesetround does. */
static void set_round(int rnd)
{
    _mm_setcsr((_mm_getcsr() & ~(3u << MXCSR_RC_SHIFT)) | ((unsigned)rnd << MXCSR_RC_SHIFT));
    x87_set_cw((x87_cw() & ~(3u << X87_RC_SHIFT)) | ((unsigned)rnd << X87_RC_SHIFT));
}

static int sse_round(void) { return (int)((_mm_getcsr() >> MXCSR_RC_SHIFT) & 3u); }
static int x87_round(void) { return (int)((x87_cw() >> X87_RC_SHIFT) & 3u); }
static bool ftz_on(void) { return (_mm_getcsr() & MXCSR_FTZ) != 0; }
static void set_ftz(bool on)
{
    unsigned m = _mm_getcsr();
    _mm_setcsr(on ? m | MXCSR_FTZ | MXCSR_DAZ : m & ~(MXCSR_FTZ | MXCSR_DAZ));
}

/* What the current modes make of a few operations, measured by the hardware
 * (volatile operands: no constant folding). */
typedef struct fp_probe {
    uint64_t third, five_thirds; /* SSE double 1/3 and 5/3, as bits */
    unsigned char ld_third[10];  /* x87 long double 1/3 */
    double tiny_half;            /* DBL_MIN / 2: 0 under flush-to-zero */
} fp_probe;

static void fp_measure(fp_probe *p)
{
    volatile double one = 1.0, three = 3.0, five = 5.0, tiny = DBL_MIN, half = 0.5;
    volatile long double lone = 1.0L, lthree = 3.0L;
    double a = one / three, b = five / three;
    long double c = lone / lthree;
    memcpy(&p->third, &a, 8);
    memcpy(&p->five_thirds, &b, 8);
    memset(p->ld_third, 0, sizeof p->ld_third);
    memcpy(p->ld_third, &c, 10);
    p->tiny_half = tiny * half;
}

static bool fp_same(const fp_probe *a, const fp_probe *b)
{
    return a->third == b->third && a->five_thirds == b->five_thirds &&
           memcmp(a->ld_third, b->ld_third, 10) == 0 && a->tiny_half == b->tiny_half;
}

/* Reference measurements per rounding mode, without and with FTZ. */
static fp_probe ref_mode[4], ref_ftz[4];

static void fp_refs(void)
{
    unsigned saved_csr = _mm_getcsr(), saved_cw = x87_cw();
    for (int r = 0; r < 4; r++) {
        set_round(r);
        set_ftz(false);
        fp_measure(&ref_mode[r]);
        set_ftz(true);
        fp_measure(&ref_ftz[r]);
    }
    _mm_setcsr(saved_csr);
    x87_set_cw(saved_cw);
}

/* Valgrind keeps the rounding bits but computes in round-to-nearest and
 * drops FTZ: there, only the rounding bits can be checked. */
static bool fp_modes_emulated(void) { return RUNNING_ON_VALGRIND != 0; }

/* Checks that the running code sees rounding `rnd` in both units and FTZ
 * `ftz`, by the registers and by arithmetic. */
#define CHECK_FP_MODE(rnd, ftz)                                               \
    do {                                                                      \
        fp_probe p_;                                                          \
        fp_measure(&p_);                                                      \
        CHECK_EQ_INT(sse_round(), (rnd));                                     \
        CHECK_EQ_INT(x87_round(), (rnd));                                     \
        if (!fp_modes_emulated()) {                                           \
            CHECK_EQ_INT(ftz_on(), (ftz));                                    \
            CHECK(fp_same(&p_, (ftz) ? &ref_ftz[(rnd)] : &ref_mode[(rnd)]));  \
        }                                                                     \
    } while (0)

static yc_val fpmode_body(void *arg)
{
    (void)arg;
    CHECK_FP_MODE(RND_NEAREST, false); /* the creator's modes */
    set_round(RND_UP);
    set_ftz(true);
    CHECK_FP_MODE(RND_UP, true);
    yc_yield(yc_int(1));
    CHECK_FP_MODE(RND_UP, true); /* our modes came back with us */
    yc_yield(yc_int(2));
    CHECK_FP_MODE(RND_UP, true);
    YC_TRY {
        yc_yield(yc_int(3));
        CHECK(0); /* the caller throws */
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_FP_MODE(RND_UP, true); /* on-top path restores them too */
        set_round(RND_DOWN);
        yc_yield(yc_int(4));
    } YC_END;
    YC_TRY {
        yc_yield(yc_int(5));
    } YC_FINALLY {
        CHECK_FP_MODE(RND_DOWN, true); /* close runs this */
    } YC_END;
    return YC_NONE;
}

TEST(switch_fp_control_state)
{
    fp_refs();
    if (fp_modes_emulated()) {
        printf("  (under Valgrind: FP modes checked by their register bits only)\n");
    } else {
        /* the references must differ, or the checks below could not fail */
        CHECK(ref_mode[RND_UP].third != ref_mode[RND_NEAREST].third);
        CHECK(ref_mode[RND_ZERO].five_thirds != ref_mode[RND_NEAREST].five_thirds);
        CHECK(memcmp(ref_mode[RND_UP].ld_third, ref_mode[RND_ZERO].ld_third, 10) != 0);
        CHECK(ref_mode[RND_NEAREST].tiny_half != 0.0);
        CHECK(ref_ftz[RND_UP].tiny_half == 0.0);
    }

    unsigned saved_csr = _mm_getcsr(), saved_cw = x87_cw();
    set_round(RND_NEAREST);
    set_ftz(false);
    yc_gen *g = yc_gen_new(fpmode_body, NULL, &(yc_gen_opts){.name = "fpmode"});
    CHECK(g != NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_FP_MODE(RND_NEAREST, false); /* the generator's modes stayed there */
    set_round(RND_ZERO);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_FP_MODE(RND_ZERO, false);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    set_round(RND_NEAREST);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "x"), &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_FP_MODE(RND_NEAREST, false);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    set_round(RND_UP);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_FP_MODE(RND_UP, false); /* back from a generator that finished */
    CHECK_ST(yc_gen_free(g), YC_OK);
    _mm_setcsr(saved_csr);
    x87_set_cw(saved_cw);
}

/* A generator that ends (return or raise) in other modes hands back the
 * resumer's. */
static yc_val fpmode_end_body(void *arg)
{
    set_round(RND_ZERO);
    set_ftz(true);
    if (arg) yc_raisef(&yc_KeyError, "k");
    return yc_int(9);
}

TEST(switch_fp_control_state_at_end)
{
    fp_refs();
    unsigned saved_csr = _mm_getcsr(), saved_cw = x87_cw();
    set_round(RND_UP);
    set_ftz(false);
    yc_val v;
    yc_gen *g = yc_gen_new(fpmode_end_body, NULL, NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 9);
    CHECK_FP_MODE(RND_UP, false);
    CHECK_ST(yc_gen_free(g), YC_OK);
    g = yc_gen_new(fpmode_end_body, (void *)1, NULL);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_FP_MODE(RND_UP, false);
    CHECK_ST(yc_gen_free(g), YC_OK);
    _mm_setcsr(saved_csr);
    x87_set_cw(saved_cw);
}

#endif /* __x86_64__ */

/* ---------------------------------------------------------------------
 * FP control state (AArch64): FPCR's rounding mode and flush-to-zero, set
 * directly (libm's fesetround would need -lm).
 * ------------------------------------------------------------------- */
#if defined(__aarch64__)

/* FPCR.RMode's encodings */
enum { RND_NEAREST = 0, RND_UP = 1, RND_DOWN = 2, RND_ZERO = 3 };
#define FPCR_RMODE_SHIFT 22
#define FPCR_FZ (1ull << 24)

static uint64_t fpcr_get(void)
{
    uint64_t r;
    __asm__ volatile("mrs %0, fpcr" : "=r"(r));
    return r;
}

static void fpcr_set(uint64_t r) { __asm__ volatile("msr fpcr, %0" : : "r"(r) : "memory"); }

static void set_round(int rnd)
{
    fpcr_set((fpcr_get() & ~(3ull << FPCR_RMODE_SHIFT)) | ((uint64_t)rnd << FPCR_RMODE_SHIFT));
}

static int fpcr_round(void) { return (int)((fpcr_get() >> FPCR_RMODE_SHIFT) & 3u); }
static bool ftz_on(void) { return (fpcr_get() & FPCR_FZ) != 0; }
static void set_ftz(bool on) { fpcr_set(on ? fpcr_get() | FPCR_FZ : fpcr_get() & ~FPCR_FZ); }

/* What the current modes make of a few operations, measured by the hardware
 * (volatile operands: no constant folding; noinline: not moved across a
 * write to FPCR). */
typedef struct fp_probe {
    uint64_t third, five_thirds; /* double 1/3 and 5/3, as bits */
    uint32_t third_f;            /* float 1/3, as bits */
    double tiny_half;            /* DBL_MIN / 2: 0 under flush-to-zero */
} fp_probe;

__attribute__((noinline)) static void fp_measure(fp_probe *p)
{
    volatile double one = 1.0, three = 3.0, five = 5.0, tiny = DBL_MIN, half = 0.5;
    volatile float fone = 1.0f, fthree = 3.0f;
    double a = one / three, b = five / three;
    float c = fone / fthree;
    memcpy(&p->third, &a, 8);
    memcpy(&p->five_thirds, &b, 8);
    memcpy(&p->third_f, &c, 4);
    p->tiny_half = tiny * half;
}

static bool fp_same(const fp_probe *a, const fp_probe *b)
{
    return a->third == b->third && a->five_thirds == b->five_thirds && a->third_f == b->third_f &&
           a->tiny_half == b->tiny_half;
}

/* Reference measurements per rounding mode, without and with FZ. */
static fp_probe ref_mode[4], ref_ftz[4];

static void fp_refs(void)
{
    uint64_t saved = fpcr_get();
    for (int r = 0; r < 4; r++) {
        set_round(r);
        set_ftz(false);
        fp_measure(&ref_mode[r]);
        set_ftz(true);
        fp_measure(&ref_ftz[r]);
    }
    fpcr_set(saved);
}

/* Valgrind may not compute in the modes FPCR asks for: there, only the
 * register bits can be checked. */
static bool fp_modes_emulated(void) { return RUNNING_ON_VALGRIND != 0; }

/* Checks that the running code sees rounding `rnd` and FZ `ftz`, by the
 * register and by arithmetic. */
#define CHECK_FP_MODE(rnd, ftz)                                               \
    do {                                                                      \
        fp_probe p_;                                                          \
        fp_measure(&p_);                                                      \
        CHECK_EQ_INT(fpcr_round(), (rnd));                                    \
        CHECK_EQ_INT(ftz_on(), (ftz));                                        \
        if (!fp_modes_emulated())                                             \
            CHECK(fp_same(&p_, (ftz) ? &ref_ftz[(rnd)] : &ref_mode[(rnd)]));  \
    } while (0)

static yc_val fpmode_body(void *arg)
{
    (void)arg;
    CHECK_FP_MODE(RND_NEAREST, false); /* the creator's modes */
    set_round(RND_UP);
    set_ftz(true);
    CHECK_FP_MODE(RND_UP, true);
    yc_yield(yc_int(1));
    CHECK_FP_MODE(RND_UP, true); /* our modes came back with us */
    yc_yield(yc_int(2));
    CHECK_FP_MODE(RND_UP, true);
    YC_TRY {
        yc_yield(yc_int(3));
        CHECK(0); /* the caller throws */
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_FP_MODE(RND_UP, true); /* on-top path restores them too */
        set_round(RND_DOWN);
        yc_yield(yc_int(4));
    } YC_END;
    YC_TRY {
        yc_yield(yc_int(5));
    } YC_FINALLY {
        CHECK_FP_MODE(RND_DOWN, true); /* close runs this */
    } YC_END;
    return YC_NONE;
}

TEST(switch_fp_control_state)
{
    fp_refs();
    if (fp_modes_emulated()) {
        printf("  (under Valgrind: FP modes checked by their register bits only)\n");
    } else {
        /* the references must differ, or the checks below could not fail */
        CHECK(ref_mode[RND_UP].third != ref_mode[RND_NEAREST].third);
        CHECK(ref_mode[RND_ZERO].five_thirds != ref_mode[RND_NEAREST].five_thirds);
        CHECK(ref_mode[RND_UP].third_f != ref_mode[RND_DOWN].third_f);
        CHECK(ref_mode[RND_NEAREST].tiny_half != 0.0);
        CHECK(ref_ftz[RND_UP].tiny_half == 0.0);
    }

    uint64_t saved = fpcr_get();
    set_round(RND_NEAREST);
    set_ftz(false);
    yc_gen *g = yc_gen_new(fpmode_body, NULL, &(yc_gen_opts){.name = "fpmode"});
    CHECK(g != NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_FP_MODE(RND_NEAREST, false); /* the generator's modes stayed there */
    set_round(RND_ZERO);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_FP_MODE(RND_ZERO, false);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    set_round(RND_NEAREST);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "x"), &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_FP_MODE(RND_NEAREST, false);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    set_round(RND_UP);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK_FP_MODE(RND_UP, false); /* back from a generator that finished */
    CHECK_ST(yc_gen_free(g), YC_OK);
    fpcr_set(saved);
}

/* A generator that ends (return or raise) in other modes hands back the
 * resumer's. */
static yc_val fpmode_end_body(void *arg)
{
    set_round(RND_ZERO);
    set_ftz(true);
    if (arg) yc_raisef(&yc_KeyError, "k");
    return yc_int(9);
}

TEST(switch_fp_control_state_at_end)
{
    fp_refs();
    uint64_t saved = fpcr_get();
    set_round(RND_UP);
    set_ftz(false);
    yc_val v;
    yc_gen *g = yc_gen_new(fpmode_end_body, NULL, NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 9);
    CHECK_FP_MODE(RND_UP, false);
    CHECK_ST(yc_gen_free(g), YC_OK);
    g = yc_gen_new(fpmode_end_body, (void *)1, NULL);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_FP_MODE(RND_UP, false);
    CHECK_ST(yc_gen_free(g), YC_OK);
    fpcr_set(saved);
}

#endif /* __aarch64__ */

/* ---------------------------------------------------------------------
 * FP control state across many switches: the caller and several
 * generators, each in modes of its own, some differing only in MXCSR, some
 * only in the x87 control word, some in both (on AArch64: in FPCR), switch
 * among each other, generator to generator too; each side must find its own
 * modes every time it runs again. (x86-64 loads the x87 control word only
 * when the two sides' differ: this covers both outcomes in both
 * directions.) The modes are set directly, as fesetround does (libm's would
 * need -lm). MXCSR's status flags are not checked: they are not part of the
 * state the ABI has a callee preserve.
 * ------------------------------------------------------------------- */
#if defined(__x86_64__) || defined(__aarch64__)

typedef uint64_t fpctl; /* the control state, comparable with == */

#  if defined(__x86_64__)
#    define X87_PC_SHIFT 8
#    define MXCSR_CONTROL 0xffc0u

/* MXCSR's control bits in the low word, the x87 control word above them. */
static fpctl fpctl_get(void) { return (_mm_getcsr() & MXCSR_CONTROL) | ((fpctl)x87_cw() << 32); }

static void fpctl_set(fpctl c)
{
    _mm_setcsr((_mm_getcsr() & ~MXCSR_CONTROL) | ((unsigned)c & MXCSR_CONTROL));
    x87_set_cw((unsigned)(c >> 32));
}

/* The bits Valgrind keeps: the two rounding modes (it drops FTZ, DAZ and
 * the x87 precision control). */
#    define FPCTL_EMULATED ((3ull << MXCSR_RC_SHIFT) | (3ull << (32 + X87_RC_SHIFT)))

/* The SSE rounding mode of c (an index of ref_mode). */
static int fpctl_round(fpctl c) { return (int)((c >> MXCSR_RC_SHIFT) & 3u); }

/* Mode k (1-5) derived from base: each differs from base and from the
 * others. */
static fpctl fpctl_mode(fpctl base, int k)
{
    unsigned csr = (unsigned)base & MXCSR_CONTROL, cw = (unsigned)(base >> 32);
    unsigned rc = 3u << MXCSR_RC_SHIFT, x87rc = 3u << X87_RC_SHIFT, pc = 3u << X87_PC_SHIFT;
    switch (k) {
    case 1: /* fesetround(FE_UPWARD), and x87 double precision: both words */
        csr = (csr & ~rc) | (RND_UP << MXCSR_RC_SHIFT);
        cw = (cw & ~x87rc & ~pc) | (RND_UP << X87_RC_SHIFT) | (2u << X87_PC_SHIFT);
        break;
    case 2: /* the x87 control word only: rounding down */
        cw = (cw & ~x87rc) | (RND_DOWN << X87_RC_SHIFT);
        break;
    case 3: /* MXCSR only: toward zero, flush-to-zero and denormals-are-zero */
        csr = (csr & ~rc) | (RND_ZERO << MXCSR_RC_SHIFT) | MXCSR_FTZ | MXCSR_DAZ;
        break;
    case 4: /* both: SSE down, x87 single precision toward zero */
        csr = (csr & ~rc) | (RND_DOWN << MXCSR_RC_SHIFT);
        cw = (cw & ~x87rc & ~pc) | (RND_ZERO << X87_RC_SHIFT);
        break;
    default: /* the x87 control word only: double precision */
        cw = (cw & ~pc) | (2u << X87_PC_SHIFT);
        break;
    }
    return csr | ((fpctl)cw << 32);
}
#  else
#    define FPCTL_EMULATED ((3ull << FPCR_RMODE_SHIFT) | FPCR_FZ)
static fpctl fpctl_get(void) { return fpcr_get(); }
static void fpctl_set(fpctl c) { fpcr_set(c); }
static int fpctl_round(fpctl c) { return (int)((c >> FPCR_RMODE_SHIFT) & 3u); }

static fpctl fpctl_mode(fpctl base, int k)
{
    static const struct {
        int rnd;
        bool fz;
    } m[6] = {{RND_NEAREST, false}, {RND_UP, false}, {RND_DOWN, false},
              {RND_ZERO, true},     {RND_DOWN, true}, {RND_NEAREST, true}};
    fpctl c = base & ~(3ull << FPCR_RMODE_SHIFT) & ~FPCR_FZ;
    return c | ((fpctl)m[k % 6].rnd << FPCR_RMODE_SHIFT) | (m[k % 6].fz ? FPCR_FZ : 0);
}
#  endif

/* Whether the running code is in mode c: by the register bits and, where
 * the arithmetic is real, by what a division gives. Under Valgrind, by the
 * bits it keeps (FPCTL_EMULATED). */
static bool fp_in_mode(fpctl c)
{
    if (fp_modes_emulated()) return ((fpctl_get() ^ c) & FPCTL_EMULATED) == 0;
    if (fpctl_get() != c) return false;
    fp_probe p;
    fp_measure(&p);
    return p.third == ref_mode[fpctl_round(c)].third &&
           p.five_thirds == ref_mode[fpctl_round(c)].five_thirds;
}

#  define FP_SWITCH_STEPS 2000

/* One generator: alternates between its two modes, one per step, and at
 * every step first resumes `inner` (a generator in modes of its own), then
 * yields; counts the times it did not find its mode on coming back. */
typedef struct fp_side {
    fpctl mode[2];
    yc_gen *inner;
    int bad;
} fp_side;

static yc_val fp_side_body(void *arg)
{
    fp_side *s = arg;
    for (int i = 0; i < FP_SWITCH_STEPS; i++) {
        fpctl m = s->mode[i & 1];
        fpctl_set(m);
        if (s->inner) {
            yc_val v;
            if (yc_next(s->inner, &v) != YC_YIELD) s->bad++;
            if (!fp_in_mode(m)) s->bad++; /* back from the inner generator */
        }
        yc_yield(yc_int(i));
        if (!fp_in_mode(m)) s->bad++; /* resumed by the caller */
    }
    return YC_NONE;
}

TEST(switch_fp_modes_many_switches)
{
    fp_refs();
    fpctl saved = fpctl_get();
    set_round(RND_NEAREST);
    set_ftz(false);
    fpctl base = fpctl_get();
    for (int k = 1; k <= 5; k++) { /* the modes must be distinct, or nothing is tested */
        CHECK(fpctl_mode(base, k) != base);
        for (int j = 1; j < k; j++) CHECK(fpctl_mode(base, k) != fpctl_mode(base, j));
    }
    fp_side in = {{fpctl_mode(base, 4), fpctl_mode(base, 5)}, NULL, 0};
    fp_side a = {{fpctl_mode(base, 1), fpctl_mode(base, 2)}, NULL, 0};
    fp_side b = {{fpctl_mode(base, 2), fpctl_mode(base, 3)}, NULL, 0};
    fp_side c = {{base, base}, NULL, 0}; /* the caller's base: no load needed */
    yc_gen *gi = yc_gen_new(fp_side_body, &in, NULL);
    a.inner = gi;
    yc_gen *ga = yc_gen_new(fp_side_body, &a, NULL);
    yc_gen *gb = yc_gen_new(fp_side_body, &b, NULL);
    yc_gen *gc = yc_gen_new(fp_side_body, &c, NULL);
    CHECK(gi && ga && gb && gc);
    if (!gi || !ga || !gb || !gc) return;
    int caller_bad = 0;
    /* the caller's own modes: each of the differences in turn */
    const fpctl mine[4] = {base, fpctl_mode(base, 2), fpctl_mode(base, 3), fpctl_mode(base, 1)};
    yc_gen *gens[3] = {ga, gb, gc};
    for (int i = 0; i < FP_SWITCH_STEPS; i++) {
        fpctl m = mine[(i / 7) % 4];
        fpctl_set(m);
        for (int j = 0; j < 3; j++) {
            yc_val v;
            if (yc_next(gens[j], &v) != YC_YIELD || v.i != i) caller_bad++;
            if (!fp_in_mode(m)) caller_bad++;
        }
    }
    CHECK_EQ_INT(caller_bad, 0);
    CHECK_EQ_INT(a.bad, 0);
    CHECK_EQ_INT(b.bad, 0);
    CHECK_EQ_INT(c.bad, 0);
    CHECK_EQ_INT(in.bad, 0);
    yc_val v;
    fpctl last = fpctl_get(); /* the caller's last mode ... */
    for (int j = 0; j < 3; j++) CHECK_ST(yc_next(gens[j], &v), YC_RETURN);
    CHECK_ST(yc_next(gi, &v), YC_RETURN); /* (its last resume: from here) */
    CHECK_EQ_INT(in.bad, 0);
    CHECK(last == mine[((FP_SWITCH_STEPS - 1) / 7) % 4]);
    CHECK(fp_in_mode(last)); /* ... is still the mode, after generators ended */
    for (int j = 0; j < 3; j++) CHECK_ST(yc_gen_free(gens[j]), YC_OK);
    CHECK_ST(yc_gen_free(gi), YC_OK);
    fpctl_set(saved);
}

#endif /* __x86_64__ || __aarch64__ */

/* ---------------------------------------------------------------------
 * stdio on a generator's stack
 * ------------------------------------------------------------------- */

static int fmt_v(char *buf, size_t n, const char *fmt, ...) YC_PRINTF(3, 4);
static int fmt_v(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

static yc_val stdio_body(void *arg)
{
    (void)arg;
    char buf[256];
    int n = snprintf(buf, sizeof buf, "%f|%Lf|%s|%d|%.3e|%g|%10.4Lf", 3.14159, 2.5L, "abc", -42,
                     12345.678, 0.1, -1.0L / 3.0L);
    CHECK_STR(buf, "3.141590|2.500000|abc|-42|1.235e+04|0.1|   -0.3333");
    CHECK_EQ_INT(n, (int)strlen(buf));
    yc_yield(yc_bytes(buf, (size_t)n));

    double d = 0;
    long double ld = 0;
    char word[16] = "";
    int i = 0;
    CHECK_EQ_INT(sscanf("2.75 1.125 hello 77", "%lf %Lf %15s %d", &d, &ld, word, &i), 4);
    CHECK(d == 2.75);
    CHECK(ld == 1.125L);
    CHECK_STR(word, "hello");
    CHECK_EQ_INT(i, 77);
    yc_yield(yc_float(d));

    fmt_v(buf, sizeof buf, "[%s:%05.1f:%Lg]", word, d, ld);
    CHECK_STR(buf, "[hello:002.8:1.125]");
    yc_yield(yc_str(buf));

    /* the printf family through a FILE, and strtod */
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (f) {
        fprintf(f, "%.2f %Lf %s\n", 0.5, 0.25L, "end");
        rewind(f);
        char line[64] = "";
        CHECK(fgets(line, sizeof line, f) != NULL);
        CHECK_STR(line, "0.50 0.250000 end\n");
        char *endp;
        CHECK(strtod(line, &endp) == 0.5);
        CHECK(*endp == ' ');
        fclose(f);
    }
    return yc_int(1);
}

TEST(switch_stdio_on_gen_stack)
{
    yc_gen *g = yc_gen_new(stdio_body, NULL, NULL);
    yc_val v;
    char mine[64];
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("3.141590|2.500000|abc|-42|1.235e+04|0.1|   -0.3333"));
    snprintf(mine, sizeof mine, "%Lf", 4.5L); /* the caller's stdio in between */
    CHECK_STR(mine, "4.500000");
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_VAL(v, yc_float(2.75));
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("[hello:002.8:1.125]"));
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---------------------------------------------------------------------
 * Yield from deep recursion inside one generator
 * ------------------------------------------------------------------- */

#define TREE_DEPTH 2000

typedef struct tnode {
    struct tnode *left, *right;
    int64_t val;
} tnode;

typedef struct walk_state {
    tnode *root;
    int depth, max_depth;
    int64_t sent_sum;
} walk_state;

static void walk(walk_state *w, tnode *n)
{
    if (!n) return;
    w->depth++;
    if (w->depth > w->max_depth) w->max_depth = w->depth;
    walk(w, n->left);
    yc_val s = yc_yield(yc_int(n->val));
    if (yc_type_of(s) == YC_T_INT) w->sent_sum += s.i;
    walk(w, n->right);
    w->depth--;
}

static yc_val walk_body(void *arg)
{
    walk_state *w = arg;
    walk(w, w->root);
    return yc_int(w->max_depth);
}

static void walk_plain(tnode *n, int64_t *out, size_t *k)
{
    if (!n) return;
    walk_plain(n->left, out, k);
    out[(*k)++] = n->val;
    walk_plain(n->right, out, k);
}

TEST(switch_yield_from_deep_recursion)
{
    /* a left spine TREE_DEPTH deep, each spine node with a right leaf */
    tnode *nodes = calloc(2 * TREE_DEPTH, sizeof *nodes);
    int64_t *want = calloc(2 * TREE_DEPTH, sizeof *want);
    CHECK(nodes && want);
    if (!nodes || !want) return;
    for (int i = 0; i < TREE_DEPTH; i++) {
        tnode *spine = &nodes[i], *leaf = &nodes[TREE_DEPTH + i];
        spine->val = i * 7 + 1;
        leaf->val = -(i * 3 + 2);
        spine->left = i + 1 < TREE_DEPTH ? &nodes[i + 1] : NULL;
        spine->right = leaf;
    }
    size_t nwant = 0;
    walk_plain(&nodes[0], want, &nwant);
    CHECK_EQ_INT(nwant, 2 * TREE_DEPTH);

    walk_state w = {.root = &nodes[0]};
    yc_gen *g = yc_gen_new(walk_body, &w, &(yc_gen_opts){.stack_size = 4u << 20});
    CHECK(g != NULL);
    yc_val v;
    int64_t sent = 0;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    for (size_t k = 0; k < nwant; k++) {
        if (yc_type_of(v) != YC_T_INT || v.i != want[k]) {
            CHECK_INTV(v, want[k]);
            break;
        }
        sent += (int64_t)k;
        int st = yc_send(g, yc_int((int64_t)k), &v);
        if (st != (k + 1 < nwant ? YC_YIELD : YC_RETURN)) {
            CHECK_ST(st, k + 1 < nwant ? YC_YIELD : YC_RETURN);
            break;
        }
    }
    CHECK_INTV(v, TREE_DEPTH + 1); /* the leaves sit one below the spine */
    CHECK_EQ_INT(w.sent_sum, sent);
    CHECK_EQ_INT(w.depth, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* closing from the deepest point unwinds nothing on the C stack (longjmp)
     * but must end the generator cleanly */
    w = (walk_state){.root = &nodes[0]};
    g = yc_gen_new(walk_body, &w, &(yc_gen_opts){.stack_size = 4u << 20});
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, want[0]);
    CHECK_EQ_INT(w.depth, TREE_DEPTH);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    free(nodes);
    free(want);
}

/* ---------------------------------------------------------------------
 * Nested generators 1000 deep
 * ------------------------------------------------------------------- */

#define NEST 1000

typedef struct nest_node {
    int level;
    yc_gen *self;
} nest_node;

static nest_node nest[NEST];
static int nest_log[NEST + 1];
static int nest_nlog;

static yc_val nest_body(void *arg)
{
    nest_node *n = arg;
    n->self = yc_gen_current();
    if (n->level == NEST - 1) {
        YC_TRY {
            for (int64_t i = 0;; i++) {
                yc_val s = yc_yield(yc_int(i));
                if (yc_type_of(s) == YC_T_INT) i = s.i;
            }
        } YC_FINALLY {
            if (nest_nlog <= NEST) nest_log[nest_nlog++] = n->level;
        } YC_END;
        return YC_NONE;
    }
    yc_gen *child = yc_gen_new(nest_body, n + 1, NULL);
    if (!child) YC_CHECK(-1);
    YC_TRY {
        yc_yield_from(yc_gen_iter(child));
    } YC_FINALLY {
        if (nest_nlog <= NEST) nest_log[nest_nlog++] = n->level;
        yc_gen_free(child);
    } YC_END;
    return YC_NONE;
}

TEST(switch_nested_generators_1000)
{
    nest_nlog = 0;
    for (int i = 0; i < NEST; i++) nest[i] = (nest_node){.level = i};
    yc_gen *g = yc_gen_new(nest_body, &nest[0], NULL);
    yc_val v;
    for (int i = 0; i < 5; i++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, i);
    }
    CHECK_ST(yc_send(g, yc_int(100), &v), YC_YIELD); /* reaches the innermost */
    CHECK_INTV(v, 101);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, NEST);
    /* the delegation chain, link by link */
    CHECK(nest[0].self == g);
    for (int i = 0; i + 1 < NEST; i++) {
        if (yc_gen_yieldfrom(nest[i].self) != yc_gen_iter(nest[i + 1].self)) {
            CHECK(yc_gen_yieldfrom(nest[i].self) == yc_gen_iter(nest[i + 1].self));
            break;
        }
    }
    CHECK(yc_gen_yieldfrom(nest[NEST - 1].self) == NULL);
    CHECK_EQ_INT(yc_gen_state_of(nest[NEST - 1].self), YC_GEN_SUSPENDED);

    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_EQ_INT(nest_nlog, NEST);
    for (int i = 0; i < nest_nlog; i++) {
        if (nest_log[i] != NEST - 1 - i) { /* innermost first */
            CHECK_EQ_INT(nest_log[i], NEST - 1 - i);
            break;
        }
    }
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, 0);
}

/* An exception thrown into the outermost reaches the innermost, and one
 * raised there comes back out through all levels. */
TEST(switch_nested_generators_throw_through)
{
    nest_nlog = 0;
    for (int i = 0; i < NEST; i++) nest[i] = (nest_node){.level = i};
    yc_gen *g = yc_gen_new(nest_body, &nest[0], NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_IndexError, "deep"), &v), YC_RAISE);
    CHECK_EXC(&yc_IndexError, "IndexError: deep");
    CHECK_EQ_INT(nest_nlog, NEST);
    if (nest_nlog == NEST) {
        CHECK_EQ_INT(nest_log[0], NEST - 1);
        CHECK_EQ_INT(nest_log[NEST - 1], 0);
    }
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---------------------------------------------------------------------
 * try / finally across yields
 * ------------------------------------------------------------------- */

static char tf_log[64];
static size_t tf_n;
static void tf_mark(char c)
{
    if (tf_n + 1 < sizeof tf_log) tf_log[tf_n++] = c, tf_log[tf_n] = '\0';
}

static yc_val try_yield_body(void *arg)
{
    (void)arg;
    YC_TRY {
        tf_mark('t');
        yc_yield(yc_int(1));
        tf_mark('T');
        yc_raisef(&yc_ValueError, "v");
    } YC_EXCEPT(&yc_ValueError) {
        tf_mark('e');
        yc_yield(yc_int(2));
        /* still handling it after a round trip through the caller */
        CHECK(yc_exc_is(yc_exc_current(), &yc_ValueError));
        tf_mark('E');
    } YC_FINALLY {
        tf_mark('f');
        CHECK(yc_exc_current() == NULL);
        yc_yield(yc_int(3));
        tf_mark('F');
    } YC_END;
    tf_mark('r');
    return yc_int(4);
}

TEST(switch_yield_inside_try)
{
    tf_n = 0;
    tf_log[0] = '\0';
    yc_gen *g = yc_gen_new(try_yield_body, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    /* the generator's handled exception does not leak to its caller */
    CHECK(yc_exc_current() == NULL);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 4);
    CHECK_STR(tf_log, "tTeEfFr");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val finally_pending_body(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            tf_mark('a');
            yc_yield(yc_int(1));
            tf_mark('X'); /* never: closed here */
        } YC_FINALLY {
            tf_mark('i');
            CHECK(yc_exc_is(yc_exc_current(), &yc_GeneratorExit));
        } YC_END;
        tf_mark('Y');
    } YC_FINALLY {
        tf_mark('o');
        CHECK(yc_exc_is(yc_exc_current(), &yc_GeneratorExit));
    } YC_END;
    tf_mark('Z');
    return YC_NONE;
}

TEST(switch_close_with_finally_pending)
{
    tf_n = 0;
    tf_log[0] = '\0';
    yc_gen *g = yc_gen_new(finally_pending_body, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_close(g, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_STR(tf_log, "aio");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* the same through yc_gen_free of a suspended generator */
    tf_n = 0;
    g = yc_gen_new(finally_pending_body, NULL, NULL);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_STR(tf_log, "aio");
}

/* ---------------------------------------------------------------------
 * Callee-saved registers
 * ------------------------------------------------------------------- */

#if defined(__x86_64__) && defined(__ELF__)
/*
 * A call made from assembly with known values in every callee-saved
 * register. The library function is called directly (no C wrapper whose own
 * saves would hide a register the switch forgot), and the mask of
 * registers that came back changed is returned.
 */
typedef struct regs_call {
    void *fn;           /* 0x00: called as fn(args[0], .., args[3]) */
    uint64_t args[4];   /* 0x08: rdi, rsi, rdx, rcx */
    uint64_t magic[6];  /* 0x28: rbx, rbp, r12, r13, r14, r15 */
    uint64_t ret[2];    /* 0x58: rax, rdx after the call */
} regs_call;

__asm__(".text\n"
        ".p2align 4\n"
        ".globl test_switch_regs_call\n"
        ".hidden test_switch_regs_call\n"
        ".type test_switch_regs_call, @function\n"
        "test_switch_regs_call:\n" /* uint64_t (regs_call *c) */
        "  pushq %rbp\n"
        "  pushq %rbx\n"
        "  pushq %r12\n"
        "  pushq %r13\n"
        "  pushq %r14\n"
        "  pushq %r15\n"
        "  pushq %rdi\n" /* c; rsp is now 16-aligned for the call */
        "  movq %rdi, %rax\n"
        "  movq 0x28(%rax), %rbx\n"
        "  movq 0x30(%rax), %rbp\n"
        "  movq 0x38(%rax), %r12\n"
        "  movq 0x40(%rax), %r13\n"
        "  movq 0x48(%rax), %r14\n"
        "  movq 0x50(%rax), %r15\n"
        "  movq 0x08(%rax), %rdi\n"
        "  movq 0x10(%rax), %rsi\n"
        "  movq 0x18(%rax), %rdx\n"
        "  movq 0x20(%rax), %rcx\n"
        "  callq *0x00(%rax)\n"
        "  popq %rdi\n"
        "  movq %rax, 0x58(%rdi)\n"
        "  movq %rdx, 0x60(%rdi)\n"
        "  xorl %eax, %eax\n"
        "  cmpq 0x28(%rdi), %rbx\n  je 1f\n  orl $1, %eax\n1:\n"
        "  cmpq 0x30(%rdi), %rbp\n  je 1f\n  orl $2, %eax\n1:\n"
        "  cmpq 0x38(%rdi), %r12\n  je 1f\n  orl $4, %eax\n1:\n"
        "  cmpq 0x40(%rdi), %r13\n  je 1f\n  orl $8, %eax\n1:\n"
        "  cmpq 0x48(%rdi), %r14\n  je 1f\n  orl $16, %eax\n1:\n"
        "  cmpq 0x50(%rdi), %r15\n  je 1f\n  orl $32, %eax\n1:\n"
        "  popq %r15\n"
        "  popq %r14\n"
        "  popq %r13\n"
        "  popq %r12\n"
        "  popq %rbx\n"
        "  popq %rbp\n"
        "  ret\n"
        ".size test_switch_regs_call, .-test_switch_regs_call\n");
uint64_t test_switch_regs_call(regs_call *c);

_Static_assert(offsetof(regs_call, args) == 0x08 && offsetof(regs_call, magic) == 0x28 &&
                   offsetof(regs_call, ret) == 0x58,
               "regs_call layout");

/* Non-canonical addresses: no frame-pointer walk can take rbp for a frame. */
static const uint64_t magic_caller[6] = {0x1111111111111111u, 0x2222222222222222u,
                                         0x3333333333333333u, 0x4444444444444444u,
                                         0x5555555555555555u, 0x6666666666666666u};
static const uint64_t magic_gen[6] = {0x9999999999999991u, 0x9999999999999992u,
                                      0x9999999999999993u, 0x9999999999999994u,
                                      0x9999999999999995u, 0x9999999999999996u};

/* Yields v (through yc_yield's function, called from the assembly) and
 * returns the mask of the generator's registers that did not survive, or
 * 1000 when the sent value did not arrive. */
static uint64_t gen_yield_probed(yc_val v)
{
    regs_call c = {.fn = (void *)yc__yield,
                   .args = {(uint64_t)v.i, v.meta, (uint64_t)(uintptr_t)__FILE__, __LINE__}};
    memcpy(c.magic, magic_gen, sizeof c.magic);
    uint64_t bad = test_switch_regs_call(&c);
    /* the caller sends back v.i + 1 */
    if (c.ret[0] != (uint64_t)v.i + 1 || c.ret[1] != YC_T_INT) bad |= 1000;
    return bad;
}

static yc_val regs_body(void *arg)
{
    (void)arg;
    uint64_t bad = 0;
    for (int64_t i = 0; i < 3; i++) bad |= gen_yield_probed(yc_int(i));
    yc_yield(yc_int(100 + (int64_t)bad)); /* 100: all survived */
    YC_TRY {
        yc_yield(yc_int(200));
    } YC_EXCEPT(&yc_ValueError) {
        yc_yield(yc_int(300));
    } YC_END;
    return yc_int(400);
}

/* Resumes g by calling fn directly from the assembly. */
static uint64_t resume_probed(void *fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                              int *st)
{
    regs_call c = {.fn = fn, .args = {a1, a2, a3, a4}};
    memcpy(c.magic, magic_caller, sizeof c.magic);
    uint64_t bad = test_switch_regs_call(&c);
    *st = (int)c.ret[0];
    return bad;
}

#define U(p) ((uint64_t)(uintptr_t)(p))

TEST(switch_callee_saved_registers)
{
    yc_gen *g = yc_gen_new(regs_body, NULL, NULL);
    yc_val v = YC_NONE;
    int st;
    /* first run (a fresh context), then sends answering the probed yields */
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 0);
    for (int64_t i = 0; i < 3; i++) {
        yc_val s = yc_int(v.i + 1);
        CHECK_EQ_INT(resume_probed((void *)yc_send, U(g), (uint64_t)s.i, s.meta, U(&v), &st), 0);
        CHECK_ST(st, YC_YIELD);
        CHECK_INTV(v, i < 2 ? i + 1 : 100); /* 100: the generator's registers survived */
    }
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 200);
    /* a throw: the on-top path */
    CHECK_EQ_INT(resume_probed((void *)yc_throw, U(g), U(yc_exc_new(&yc_ValueError, "x")), U(&v),
                               0, &st),
                 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 300);
    /* the generator's end */
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_RETURN);
    CHECK_INTV(v, 400);
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* close: on top of a suspension, then the generator dies */
    g = yc_gen_new(regs_body, NULL, NULL);
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_EQ_INT(resume_probed((void *)yc_close, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* a raise out of the generator */
    g = yc_gen_new(regs_body, NULL, NULL);
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_EQ_INT(resume_probed((void *)yc_throw, U(g), U(yc_exc_new(&yc_KeyError, "k")), U(&v), 0,
                               &st),
                 0);
    CHECK_ST(st, YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_ST(yc_gen_free(g), YC_OK);
}
#endif /* __x86_64__ && __ELF__ */

#if defined(__aarch64__) && defined(__ELF__)
/*
 * The same on AArch64: a call made from assembly with known values in every
 * callee-saved general register (x19-x29) and in d8-d15; the mask of the
 * registers that came back changed is returned (bits 0-10: x19-x29, bits
 * 11-18: d8-d15).
 */
typedef struct regs_call {
    void *fn;           /* 0x00: called as fn(args[0], .., args[3]) */
    uint64_t args[4];   /* 0x08: x0..x3 */
    uint64_t magic[11]; /* 0x28: x19..x29 */
    uint64_t fmagic[8]; /* 0x80: d8..d15 (bits) */
    uint64_t ret[2];    /* 0xc0: x0, x1 after the call */
} regs_call;

/* After the call, x9 = c: compares a register with its magic, sets bit. */
#define REGS_CHK_X(reg, off, bit)                                                         \
    "  ldr x10, [x9, #" #off "]\n  cmp x10, " #reg "\n  b.eq 1f\n  orr x0, x0, #" #bit "\n" \
    "1:\n"
#define REGS_CHK_D(reg, off, bit)                                                          \
    "  ldr x10, [x9, #" #off "]\n  fmov x11, " #reg "\n  cmp x10, x11\n  b.eq 1f\n"         \
    "  orr x0, x0, #" #bit "\n1:\n"

__asm__(".text\n"
        ".p2align 4\n"
        ".globl test_switch_regs_call\n"
        ".hidden test_switch_regs_call\n"
        ".type test_switch_regs_call, %function\n"
        "test_switch_regs_call:\n" /* uint64_t (regs_call *c) */
        "  stp x29, x30, [sp, #-176]!\n"
        "  stp x19, x20, [sp, #16]\n"
        "  stp x21, x22, [sp, #32]\n"
        "  stp x23, x24, [sp, #48]\n"
        "  stp x25, x26, [sp, #64]\n"
        "  stp x27, x28, [sp, #80]\n"
        "  stp d8, d9, [sp, #96]\n"
        "  stp d10, d11, [sp, #112]\n"
        "  stp d12, d13, [sp, #128]\n"
        "  stp d14, d15, [sp, #144]\n"
        "  str x0, [sp, #160]\n" /* c; sp stays 16-aligned for the call */
        "  ldp x19, x20, [x0, #0x28]\n"
        "  ldp x21, x22, [x0, #0x38]\n"
        "  ldp x23, x24, [x0, #0x48]\n"
        "  ldp x25, x26, [x0, #0x58]\n"
        "  ldp x27, x28, [x0, #0x68]\n"
        "  ldr x29, [x0, #0x78]\n"
        "  ldp d8, d9, [x0, #0x80]\n"
        "  ldp d10, d11, [x0, #0x90]\n"
        "  ldp d12, d13, [x0, #0xa0]\n"
        "  ldp d14, d15, [x0, #0xb0]\n"
        "  ldr x17, [x0, #0x00]\n"
        "  ldp x2, x3, [x0, #0x18]\n"
        "  ldp x0, x1, [x0, #0x08]\n"
        "  blr x17\n"
        "  ldr x9, [sp, #160]\n"
        "  stp x0, x1, [x9, #0xc0]\n"
        "  mov x0, #0\n"
        REGS_CHK_X(x19, 0x28, 0x1) REGS_CHK_X(x20, 0x30, 0x2) REGS_CHK_X(x21, 0x38, 0x4)
        REGS_CHK_X(x22, 0x40, 0x8) REGS_CHK_X(x23, 0x48, 0x10) REGS_CHK_X(x24, 0x50, 0x20)
        REGS_CHK_X(x25, 0x58, 0x40) REGS_CHK_X(x26, 0x60, 0x80) REGS_CHK_X(x27, 0x68, 0x100)
        REGS_CHK_X(x28, 0x70, 0x200) REGS_CHK_X(x29, 0x78, 0x400)
        REGS_CHK_D(d8, 0x80, 0x800) REGS_CHK_D(d9, 0x88, 0x1000) REGS_CHK_D(d10, 0x90, 0x2000)
        REGS_CHK_D(d11, 0x98, 0x4000) REGS_CHK_D(d12, 0xa0, 0x8000)
        REGS_CHK_D(d13, 0xa8, 0x10000) REGS_CHK_D(d14, 0xb0, 0x20000)
        REGS_CHK_D(d15, 0xb8, 0x40000)
        "  ldp x19, x20, [sp, #16]\n"
        "  ldp x21, x22, [sp, #32]\n"
        "  ldp x23, x24, [sp, #48]\n"
        "  ldp x25, x26, [sp, #64]\n"
        "  ldp x27, x28, [sp, #80]\n"
        "  ldp d8, d9, [sp, #96]\n"
        "  ldp d10, d11, [sp, #112]\n"
        "  ldp d12, d13, [sp, #128]\n"
        "  ldp d14, d15, [sp, #144]\n"
        "  ldp x29, x30, [sp], #176\n"
        "  ret\n"
        ".size test_switch_regs_call, .-test_switch_regs_call\n");
uint64_t test_switch_regs_call(regs_call *c);

_Static_assert(offsetof(regs_call, args) == 0x08 && offsetof(regs_call, magic) == 0x28 &&
                   offsetof(regs_call, fmagic) == 0x80 && offsetof(regs_call, ret) == 0xc0,
               "regs_call layout");

/* x29 too: values no frame-pointer walk can take for a frame (unmapped);
 * the d-register values include NaN bit patterns, which must survive as
 * bits. */
static const uint64_t magic_caller[11] = {
    0x1111111111111111u, 0x2222222222222222u, 0x3333333333333333u, 0x4444444444444444u,
    0x5555555555555555u, 0x6666666666666666u, 0x7777777777777777u, 0x0888888888888888u,
    0x0999999999999999u, 0x0aaaaaaaaaaaaaaau, 0x0bbbbbbbbbbbbbb0u};
static const uint64_t fmagic_caller[8] = {
    0x3ff0000000000001u, 0x7ff0000000000001u, 0xfff8dead0000beefu, 0x0000000000000001u,
    0x8000000000000000u, 0x400921fb54442d18u, 0xc1d0000000000000u, 0x7fefffffffffffffu};
static const uint64_t magic_gen[11] = {
    0x9999999999999991u, 0x9999999999999992u, 0x9999999999999993u, 0x9999999999999994u,
    0x9999999999999995u, 0x9999999999999996u, 0x9999999999999997u, 0x9999999999999998u,
    0x999999999999999au, 0x999999999999999bu, 0x0ccccccccccccc0u};
static const uint64_t fmagic_gen[8] = {
    0xbff0000000000003u, 0x7ff4000000c0ffeeu, 0x0010000000000000u, 0x000fffffffffffffu,
    0x3fd5555555555555u, 0xfff0000000000000u, 0x43e0000000000000u, 0x5555aaaa5555aaaau};

/* Yields v (through yc_yield's function, called from the assembly) and
 * returns the mask of the generator's registers that did not survive, or
 * with 1 << 20 set when the sent value did not arrive. */
static uint64_t gen_yield_probed(yc_val v)
{
    regs_call c = {.fn = (void *)yc__yield,
                   .args = {(uint64_t)v.i, v.meta, (uint64_t)(uintptr_t)__FILE__, __LINE__}};
    memcpy(c.magic, magic_gen, sizeof c.magic);
    memcpy(c.fmagic, fmagic_gen, sizeof c.fmagic);
    uint64_t bad = test_switch_regs_call(&c);
    /* the caller sends back v.i + 1 */
    if (c.ret[0] != (uint64_t)v.i + 1 || c.ret[1] != YC_T_INT) bad |= 1u << 20;
    return bad;
}

static yc_val regs_body(void *arg)
{
    (void)arg;
    uint64_t bad = 0;
    for (int64_t i = 0; i < 3; i++) bad |= gen_yield_probed(yc_int(i));
    if (bad) fprintf(stderr, "  generator-side register mask %#" PRIx64 "\n", bad);
    yc_yield(yc_int(bad ? 101 : 100)); /* 100: all survived */
    YC_TRY {
        yc_yield(yc_int(200));
    } YC_EXCEPT(&yc_ValueError) {
        yc_yield(yc_int(300));
    } YC_END;
    return yc_int(400);
}

/* Resumes g by calling fn directly from the assembly. */
static uint64_t resume_probed(void *fn, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                              int *st)
{
    regs_call c = {.fn = fn, .args = {a1, a2, a3, a4}};
    memcpy(c.magic, magic_caller, sizeof c.magic);
    memcpy(c.fmagic, fmagic_caller, sizeof c.fmagic);
    uint64_t bad = test_switch_regs_call(&c);
    *st = (int)c.ret[0];
    return bad;
}

#define U(p) ((uint64_t)(uintptr_t)(p))

TEST(switch_callee_saved_registers)
{
    yc_gen *g = yc_gen_new(regs_body, NULL, NULL);
    yc_val v = YC_NONE;
    int st;
    /* first run (a fresh context), then sends answering the probed yields */
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 0);
    for (int64_t i = 0; i < 3; i++) {
        yc_val s = yc_int(v.i + 1);
        CHECK_EQ_INT(resume_probed((void *)yc_send, U(g), (uint64_t)s.i, s.meta, U(&v), &st), 0);
        CHECK_ST(st, YC_YIELD);
        CHECK_INTV(v, i < 2 ? i + 1 : 100); /* 100: the generator's registers survived */
    }
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 200);
    /* a throw: the on-top path */
    CHECK_EQ_INT(resume_probed((void *)yc_throw, U(g), U(yc_exc_new(&yc_ValueError, "x")), U(&v),
                               0, &st),
                 0);
    CHECK_ST(st, YC_YIELD);
    CHECK_INTV(v, 300);
    /* the generator's end */
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_RETURN);
    CHECK_INTV(v, 400);
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* close: on top of a suspension, then the generator dies */
    g = yc_gen_new(regs_body, NULL, NULL);
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_EQ_INT(resume_probed((void *)yc_close, U(g), U(&v), 0, 0, &st), 0);
    CHECK_ST(st, YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* a raise out of the generator */
    g = yc_gen_new(regs_body, NULL, NULL);
    CHECK_EQ_INT(resume_probed((void *)yc_next, U(g), U(&v), 0, 0, &st), 0);
    CHECK_EQ_INT(resume_probed((void *)yc_throw, U(g), U(yc_exc_new(&yc_KeyError, "k")), U(&v), 0,
                               &st),
                 0);
    CHECK_ST(st, YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'k'");
    CHECK_ST(yc_gen_free(g), YC_OK);
}
#endif /* __aarch64__ && __ELF__ */

/* Many values live across yields in optimised code: the compiler keeps them
 * in callee-saved registers (and spills the rest). */
#if defined(__GNUC__) && !defined(__clang__)
#  define OPT_O2 __attribute__((optimize("O2"), noinline))
#else
#  define OPT_O2 __attribute__((noinline))
#endif

typedef yc_val (*step_fn)(yc_val);

static yc_val step_yield(yc_val v) { return yc_yield(v); }

/* Fourteen values live across every step(); the sent value is fed back. */
OPT_O2 static uint64_t many_locals(step_fn step, int rounds)
{
    uint64_t a = 1, b = 2, c = 3, d = 5, e = 7, f = 11, g = 13, h = 17, i = 19, j = 23, k = 29,
             l = 31, m = 37, n = 41;
    for (int r = 0; r < rounds; r++) {
        a = a * 6364136223846793005u + b;
        b ^= a >> 17;
        c += b * 3 + d;
        d = (d << 7) | (d >> 57);
        e += c ^ f;
        f = f * 31 + g;
        g ^= e + h;
        h += i * 5;
        i = (i ^ j) + 0x9e3779b97f4a7c15u;
        j += k ^ l;
        k = k * 7 + m;
        l ^= n + a;
        m += l >> 3;
        n = n * 13 + (uint64_t)r;
        yc_val s = step(yc_int((int64_t)(a ^ n)));
        if (yc_type_of(s) == YC_T_INT) a += (uint64_t)s.i;
    }
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ i ^ j ^ k ^ l ^ m ^ n;
}

static yc_val many_locals_body(void *arg)
{
    int rounds = *(int *)arg;
    return yc_int((int64_t)many_locals(step_yield, rounds));
}

/* The caller's side: eight more values live across every resume. */
OPT_O2 static uint64_t drive_many(yc_gen *gen, int rounds, uint64_t *ret)
{
    uint64_t p = 3, q = 5, r = 7, s = 11, t = 13, u = 17, w = 19, x = 23;
    yc_val v;
    int st = yc_next(gen, &v);
    for (int k = 0; k < rounds && st == YC_YIELD; k++) {
        p = p * 31 + (uint64_t)v.i;
        q ^= p << 3;
        r += q * 7;
        s = (s >> 5) ^ r;
        t += s + 1;
        u ^= t * 9;
        w += u >> 2;
        x = x * 5 + w;
        st = yc_send(gen, yc_int((int64_t)(((uint64_t)v.i) >> 3)), &v);
    }
    *ret = st == YC_RETURN ? (uint64_t)v.i : 0;
    return p ^ q ^ r ^ s ^ t ^ u ^ w ^ x;
}

/* The reference: a plain run of many_locals that records what it would
 * yield and answers as drive_many does. */
static uint64_t *ref_yields;
static int ref_n;
static yc_val step_record(yc_val v)
{
    ref_yields[ref_n++] = (uint64_t)v.i;
    return yc_int((int64_t)(((uint64_t)v.i) >> 3));
}

TEST(switch_many_live_locals_optimised)
{
    int rounds = 5000;
    ref_yields = calloc((size_t)rounds, sizeof *ref_yields);
    CHECK(ref_yields != NULL);
    if (!ref_yields) return;
    ref_n = 0;
    uint64_t want_ret = many_locals(step_record, rounds);
    uint64_t p = 3, q = 5, r = 7, s = 11, t = 13, u = 17, w = 19, x = 23;
    for (int k = 0; k < rounds; k++) {
        p = p * 31 + ref_yields[k];
        q ^= p << 3;
        r += q * 7;
        s = (s >> 5) ^ r;
        t += s + 1;
        u ^= t * 9;
        w += u >> 2;
        x = x * 5 + w;
    }
    uint64_t want_drive = p ^ q ^ r ^ s ^ t ^ u ^ w ^ x;

    yc_gen *g = yc_gen_new(many_locals_body, &rounds, NULL);
    uint64_t got_ret = 0;
    uint64_t got_drive = drive_many(g, rounds, &got_ret);
    CHECK(got_drive == want_drive);
    CHECK(got_ret == want_ret);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    free(ref_yields);
    ref_yields = NULL;
}

/* ---------------------------------------------------------------------
 * Stack contents survive many switches
 * ------------------------------------------------------------------- */

#define SC_WORDS 2048 /* 16 KiB */
#define SC_STEPS 10000

static uint64_t mix64(uint64_t z)
{
    z += 0x9e3779b97f4a7c15u;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static uint64_t sc_sum(const uint64_t *a)
{
    uint64_t s = 0;
    for (int i = 0; i < SC_WORDS; i++) s = s * 1099511628211u + a[i];
    return s;
}

static yc_val stack_content_body(void *arg)
{
    uint64_t seed = (uint64_t)(uintptr_t)arg;
    uint64_t buf[SC_WORDS];
    for (int i = 0; i < SC_WORDS; i++) buf[i] = mix64(seed + (uint64_t)i);
    for (int k = 0; k < SC_STEPS; k++) {
        size_t at = (size_t)(k * 7) % SC_WORDS;
        buf[at] ^= mix64(seed ^ (uint64_t)k);
        /* the whole array every 16th step, else the word just changed */
        yc_yield(yc_int((int64_t)(k % 16 == 0 ? sc_sum(buf) : buf[at])));
    }
    return yc_int((int64_t)sc_sum(buf));
}

/* Writes over a large part of the caller's stack. */
__attribute__((noinline)) static uint64_t scribble(uint64_t x)
{
    volatile uint64_t junk[SC_WORDS];
    for (int i = 0; i < SC_WORDS; i++) junk[i] = x ^ (uint64_t)i;
    return junk[x % SC_WORDS];
}

TEST(switch_stack_content_survives)
{
    /* two generators interleaved: neither may see the other's (or our) stack */
    yc_gen *g1 = yc_gen_new(stack_content_body, (void *)(uintptr_t)1, NULL);
    yc_gen *g2 = yc_gen_new(stack_content_body, (void *)(uintptr_t)99, NULL);
    static uint64_t m1[SC_WORDS], m2[SC_WORDS];
    for (int i = 0; i < SC_WORDS; i++) {
        m1[i] = mix64(1 + (uint64_t)i);
        m2[i] = mix64(99 + (uint64_t)i);
    }
    yc_val v;
    int bad = 0;
    for (int k = 0; k < SC_STEPS && !bad; k++) {
        size_t at = (size_t)(k * 7) % SC_WORDS;
        m1[at] ^= mix64(1 ^ (uint64_t)k);
        m2[at] ^= mix64(99 ^ (uint64_t)k);
        uint64_t w1 = k % 16 == 0 ? sc_sum(m1) : m1[at], w2 = k % 16 == 0 ? sc_sum(m2) : m2[at];
        if (yc_next(g1, &v) != YC_YIELD || (uint64_t)v.i != w1) bad = 1;
        (void)scribble((uint64_t)k);
        if (yc_next(g2, &v) != YC_YIELD || (uint64_t)v.i != w2) bad = 2;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_ST(yc_next(g1, &v), YC_RETURN);
    CHECK((uint64_t)v.i == sc_sum(m1));
    CHECK_ST(yc_next(g2, &v), YC_RETURN);
    CHECK((uint64_t)v.i == sc_sum(m2));
    CHECK_ST(yc_gen_free(g1), YC_OK);
    CHECK_ST(yc_gen_free(g2), YC_OK);
}

/* ---------------------------------------------------------------------
 * Every yc_val bit through yield, send and return
 * ------------------------------------------------------------------- */

static bool val_bits_eq(yc_val a, yc_val b) { return a.i == b.i && a.meta == b.meta; }

static double bits_double(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static char rt_buf[] = "by\0tes";
static int rt_obj;

static size_t make_vals(yc_val *out)
{
    size_t n = 0;
    out[n++] = YC_NONE;
    out[n++] = yc_bool(true);
    out[n++] = yc_bool(false);
    out[n++] = yc_int(0);
    out[n++] = yc_int(-1);
    out[n++] = yc_int(INT64_MIN);
    out[n++] = yc_int(INT64_MAX);
    out[n++] = yc_float(0.0);
    out[n++] = yc_float(-0.0);
    out[n++] = yc_float(1.0 / 3.0);
    out[n++] = yc_float(DBL_MAX);
    out[n++] = yc_float(DBL_TRUE_MIN);
    out[n++] = yc_float(-INFINITY);
    out[n++] = yc_float(bits_double(0x7ff8dead0000beefu)); /* quiet NaN, payload */
    out[n++] = yc_float(bits_double(0x7ff0000000000001u)); /* signalling NaN */
    out[n++] = yc_float(bits_double(0xfff4000000c0ffeeu)); /* negative sNaN */
    out[n++] = yc_ptr(NULL);
    out[n++] = yc_ptr(&rt_obj);
    out[n++] = yc_ptr((void *)(uintptr_t)UINTPTR_MAX);
    out[n++] = yc_bytes(rt_buf, sizeof rt_buf - 1); /* embedded NUL */
    out[n++] = yc_bytes(rt_buf, 0);
    out[n++] = yc_bytes(NULL, 0);
    out[n++] = yc_bytes(rt_buf, ((size_t)1 << 56) - 1); /* largest length; never read */
    return n;
}

/* Echoes each sent value back, yields its own list, returns the last sent. */
static yc_val echo_body(void *arg)
{
    size_t n = *(size_t *)arg;
    yc_val vals[32];
    make_vals(vals);
    for (size_t i = 0; i < n; i++) {
        yc_val got = yc_yield(vals[i]);
        if (!val_bits_eq(got, vals[i])) yc_raisef(&yc_AssertionError, "sent %zu changed", i);
    }
    yc_val last = YC_NONE;
    for (size_t i = 0; i < n; i++) last = yc_yield(last);
    return last;
}

TEST(switch_val_roundtrip_all_types)
{
    yc_val vals[32];
    size_t n = make_vals(vals);
    CHECK(n <= 32);
    CHECK_EQ_INT(yc_len(vals[n - 1]), ((size_t)1 << 56) - 1);
    CHECK_EQ_INT(yc_type_of(vals[n - 1]), YC_T_BYTES);
    yc_gen *g = yc_gen_new(echo_body, &n, NULL);
    yc_val v;
    /* body -> caller */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    for (size_t i = 0; i < n; i++) {
        if (!val_bits_eq(v, vals[i])) {
            test_fail(__FILE__, __LINE__, "yield of value %zu: got %016" PRIx64 ":%016" PRIx64
                      ", want %016" PRIx64 ":%016" PRIx64, i, (uint64_t)v.i, v.meta,
                      (uint64_t)vals[i].i, vals[i].meta);
        }
        /* caller -> body: each value goes back where it came from */
        CHECK_ST(yc_send(g, vals[i], &v), YC_YIELD);
    }
    /* caller -> body -> caller: the body yields what was sent before */
    CHECK(val_bits_eq(v, YC_NONE));
    for (size_t i = 0; i < n; i++) {
        int st = yc_send(g, vals[i], &v);
        CHECK_ST(st, i + 1 < n ? YC_YIELD : YC_RETURN);
        if (!val_bits_eq(v, vals[i]))
            test_fail(__FILE__, __LINE__, "echo of value %zu: got %016" PRIx64 ":%016" PRIx64,
                      i, (uint64_t)v.i, v.meta);
    }
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* the NaN payloads, bit for bit */
    CHECK((uint64_t)vals[14].i == 0x7ff0000000000001u);
    CHECK(vals[1].b);
}

/* ---------------------------------------------------------------------
 * The entry points of a round trip and their hand-offs. On x86-64 yc_next,
 * yc_send and yc__yield are assembly fast paths (src/arch/fast_path.h) that
 * handle the common case and leave every other one to the C protocol before
 * changing anything: each case below takes one of those exits (or the fast
 * path itself), and must behave as the C protocol does. Elsewhere the same
 * checks run against the C functions.
 * ------------------------------------------------------------------- */

static yc_val fast_echo_body(void *arg)
{
    (void)arg;
    yc_val v = yc_int(0);
    /* re-entrant resume of the running generator: the claim fails */
    yc_val w;
    CHECK_ST(yc_next(yc_gen_current(), &w), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_ST(yc_send(yc_gen_current(), yc_int(1), &w), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    for (;;) {
        v = yc_yield(v); /* echoes what is sent (None for next) */
        if (yc_type_of(v) == YC_T_INT && v.i < 0) return yc_int(-v.i);
    }
}

TEST(switch_fast_path_cases)
{
    yc_val v = yc_int(7);
    /* no generator */
    CHECK_ST(yc_next(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_ST(yc_send(NULL, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");

    /* send's first run is the C path's (CREATED, not SUSPENDED) */
    yc_gen *g = yc_gen_new(fast_echo_body, NULL, NULL);
    CHECK(g != NULL);
    if (!g) return;
    CHECK_ST(yc_send(g, yc_int(5), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 0);

    /* the fast paths: both words of a sent and of a yielded value, out
     * NULL (the value goes nowhere), next sending None */
    static const uint64_t bits[] = {0x8000000000000000u, 0x7ff8dead0000beefu, 0x1u};
    for (size_t i = 0; i < sizeof bits / sizeof bits[0]; i++) {
        double d;
        memcpy(&d, &bits[i], 8);
        CHECK_ST(yc_send(g, yc_float(d), &v), YC_YIELD);
        CHECK_EQ_INT(yc_type_of(v), YC_T_FLOAT);
        uint64_t got;
        memcpy(&got, &v.f, 8);
        CHECK(got == bits[i]);
    }
    CHECK_ST(yc_send(g, yc_str("word"), &v), YC_YIELD);
    CHECK_VAL(v, yc_str("word"));
    CHECK_ST(yc_send(g, yc_int(3), NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    v = yc_int(9);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK(yc_is_none(v));

    /* finishing, then a closed generator: the C path's YC_RETURN, None */
    CHECK_ST(yc_send(g, yc_int(-4), &v), YC_RETURN);
    CHECK_INTV(v, 4);
    v = yc_int(9);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    v = yc_int(9);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_gen_free(g), YC_OK);

    /* a yield outside a generator: the C path raises */
    volatile int caught = 0;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 1;
    } YC_END;
    CHECK(caught);
}

#if defined(__x86_64__) || defined(__aarch64__)
/* The first next of a generator: yc_next's fast path also claims a CREATED
 * generator (the owner's plain claim) and switches into its fresh frame. */
static yc_val first_body(void *arg)
{
    int *ran = arg;
    (*ran)++;
    CHECK_EQ_INT(yc_gen_state_of(yc_gen_current()), YC_GEN_RUNNING); /* [8.1] C -> R */
    CHECK_FP_MODE(RND_NEAREST, false); /* the creator's modes, not the resumer's */
    set_round(RND_DOWN);
    yc_yield(yc_int(11));
    CHECK_FP_MODE(RND_DOWN, false); /* ours again */
    return yc_int(12);
}

TEST(switch_first_next_fast_path)
{
    fp_refs();
    fpctl saved = fpctl_get();
    for (int how = 0; how < 3; how++) { /* yc_next with out, without, yc_iter_next */
        set_round(RND_NEAREST);
        set_ftz(false);
        int ran = 0;
        yc_gen *g = yc_gen_new(first_body, &ran, NULL);
        CHECK(g != NULL);
        if (!g) return;
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
        set_round(RND_UP); /* the resumer's modes differ from the creator's */
        yc_val v = yc_int(-1);
        int st = how == 0 ? yc_next(g, &v) : how == 1 ? yc_next(g, NULL)
                                                       : yc_iter_next(yc_gen_iter(g), &v);
        CHECK_ST(st, YC_YIELD);
        CHECK_EQ_INT(ran, 1);
        if (how != 1) CHECK_INTV(v, 11);
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED); /* [8.1] R -> S */
        CHECK_FP_MODE(RND_UP, false); /* the resumer's came back */
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, 12);
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED); /* [8.1] R -> X */
        CHECK_ST(yc_next(g, &v), YC_RETURN); /* [8.5] X -> X, never runs again */
        CHECK_EQ_INT(ran, 1);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    /* [8.2] a closed CREATED generator never runs: the fast claim refuses it */
    int ran = 0;
    yc_gen *g = yc_gen_new(first_body, &ran, NULL);
    CHECK(g != NULL);
    if (!g) return;
    CHECK_ST(yc_close(g, NULL), YC_OK);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(ran, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    fpctl_set(saved);
}

#endif /* __x86_64__ || __aarch64__ */

TEST_MAIN()
