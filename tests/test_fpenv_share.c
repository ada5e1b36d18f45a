/* Generators created with YC_GEN_SHARE_FPENV: every way in and out of such
 * a generator works (first run, next, send, throw caught and uncaught,
 * close with a finally, yield from a shared and a plain subgenerator, the
 * return value, nesting with plain generators), so no frame whose FP words
 * were not saved is ever loaded from; on x86-64 with the fast paths the
 * generator runs with its resumer's FP control state, while plain
 * generators around it keep their own; unknown flags are refused. */
#include "test.h"

#if defined(__x86_64__)
#  include <xmmintrin.h>
#endif

static const yc_gen_opts share = {.name = "shared", .flags = YC_GEN_SHARE_FPENV};

/* ---- every path --------------------------------------------------------------- */

static yc_val sub_body(void *arg)
{
    int64_t base = *(int64_t *)arg;
    yc_val s = yc_yield(yc_int(base));
    yc_yield(yc_int(base + (yc_is_none(s) ? 1 : s.i)));
    return yc_int(base * 10);
}

static int finally_runs;

static yc_val paths_body(void *arg)
{
    (void)arg;
    yc_val s = yc_yield(yc_int(1));               /* fast path out */
    CHECK_VAL(s, yc_int(100));                    /* a send came in */
    YC_TRY {
        yc_yield(yc_int(2));
        CHECK(0);                                 /* the caller throws */
    } YC_EXCEPT(&yc_ValueError) {
        yc_yield(yc_int(3));                      /* on-top path in, fast out */
    } YC_END;
    int64_t b1 = 40, b2 = 50;
    yc_gen *plain = yc_gen_new(sub_body, &b1, NULL);
    yc_gen *shared = yc_gen_new(sub_body, &b2, &share);
    yc_val r1 = yc_yield_from(yc_gen_iter(plain)); /* suspended in yield from */
    yc_val r2 = yc_yield_from(yc_gen_iter(shared));
    yc_gen_free(plain);
    yc_gen_free(shared);
    CHECK_VAL(r1, yc_int(400));
    CHECK_VAL(r2, yc_int(500));
    YC_TRY {
        yc_yield(yc_int(6));
    } YC_FINALLY {
        finally_runs++;                           /* the second run closes here */
    } YC_END;
    return yc_int(7);
}

/* The resumes paths_body takes and what each one gets back. */
enum { NEXT, SEND_100, SEND_2, THROW_VALUE };
static const struct {
    int op;
    int64_t want;
} path_steps[] = {
    {NEXT, 1},        /* first run (the C path) */
    {SEND_100, 2},    /* fast paths both ways */
    {THROW_VALUE, 3}, /* on-top path in, caught, fast path out */
    {NEXT, 40},       /* into yield from a plain subgenerator */
    {SEND_2, 42},     /* forwarded to it */
    {NEXT, 50},       /* then a shared one */
    {NEXT, 51},
    {NEXT, 6},        /* suspended with a finally pending */
};

static void take_path_steps(yc_gen *g)
{
    for (size_t i = 0; i < sizeof path_steps / sizeof path_steps[0]; i++) {
        yc_val v;
        int op = path_steps[i].op;
        int st = op == NEXT       ? yc_next(g, &v)
                 : op == SEND_100 ? yc_send(g, yc_int(100), &v)
                 : op == SEND_2   ? yc_send(g, yc_int(2), &v)
                                  : yc_throw(g, yc_exc_new(&yc_ValueError, "in"), &v);
        CHECK_ST(st, YC_YIELD);
        CHECK_INTV(v, path_steps[i].want);
    }
}

static void drive_paths(const yc_gen_opts *opts)
{
    yc_gen *g = yc_gen_new(paths_body, NULL, opts);
    CHECK(g != NULL);
    take_path_steps(g);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);          /* the last jump out */
    CHECK_INTV(v, 7);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(finally_runs, 1);

    /* closed with a finally pending, and thrown at uncaught */
    g = yc_gen_new(paths_body, NULL, opts);
    take_path_steps(g);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK_EQ_INT(finally_runs, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
    g = yc_gen_new(paths_body, NULL, opts);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "out"), &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'out'");
    CHECK_ST(yc_gen_free(g), YC_OK);
    finally_runs = 0;
}

TEST(share_fpenv_every_path)
{
    drive_paths(&share);
}

static yc_val driver_body(void *arg)
{
    drive_paths(arg);
    return YC_NONE;
}

TEST(share_fpenv_driven_by_plain_and_shared_generators)
{
    for (int k = 0; k < 2; k++) {
        yc_gen *d = yc_gen_new(driver_body, (void *)&share, k ? &share : NULL);
        yc_val v;
        CHECK_ST(yc_next(d, &v), YC_RETURN);
        CHECK_ST(yc_gen_free(d), YC_OK);
    }
}

TEST(share_fpenv_unknown_flags)
{
    yc_gen *g = yc_gen_new(sub_body, NULL, &(yc_gen_opts){.flags = 6});
    CHECK(g == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_gen_new: unknown flags 0x6");
}

/* ---- whose FP state (x86-64) ------------------------------------------------ */
#if defined(__x86_64__)

#define MXCSR_RC_SHIFT 13
enum { RND_NEAREST = 0, RND_DOWN = 1, RND_UP = 2, RND_ZERO = 3 };

static void set_round(int rnd)
{
    _mm_setcsr((_mm_getcsr() & ~(3u << MXCSR_RC_SHIFT)) | ((unsigned)rnd << MXCSR_RC_SHIFT));
}

static int sse_round(void) { return (int)((_mm_getcsr() >> MXCSR_RC_SHIFT) & 3u); }

/* yields the rounding mode it runs with, each time */
static yc_val report_body(void *arg)
{
    (void)arg;
    for (;;) yc_yield(yc_int(sse_round()));
    return YC_NONE;
}

/* a plain generator that sets its own mode and checks it stays */
static yc_val own_mode_body(void *arg)
{
    (void)arg;
    set_round(RND_DOWN);
    for (;;) {
        yc_yield(yc_int(sse_round()));
        CHECK_EQ_INT(sse_round(), RND_DOWN);
    }
    return YC_NONE;
}

/* a shared generator that resumes a plain one */
static yc_val shared_outer_body(void *arg)
{
    yc_gen *inner = arg;
    for (;;) {
        yc_val v;
        CHECK_ST(yc_next(inner, &v), YC_YIELD);
        CHECK_INTV(v, RND_DOWN); /* the inner one runs with its own */
        yc_yield(yc_int(sse_round()));
    }
    return YC_NONE;
}

static bool fast_paths(void) { return strstr(yc_config(), "fast_path=1") != NULL; }

TEST(share_fpenv_runs_with_the_resumers_state)
{
    unsigned saved = _mm_getcsr();
    set_round(RND_NEAREST);
    yc_gen *g = yc_gen_new(report_body, NULL, &share);
    yc_gen *p = yc_gen_new(report_body, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, RND_NEAREST);
    CHECK_ST(yc_next(p, &v), YC_YIELD);
    CHECK_INTV(v, RND_NEAREST);
    for (int rnd = 0; rnd < 4; rnd++) {
        set_round(rnd);
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        /* shared: the caller's mode of the moment (with the fast paths;
         * without them the flag changes nothing: its own, nearest) */
        CHECK_INTV(v, fast_paths() ? rnd : RND_NEAREST);
        CHECK_EQ_INT(sse_round(), rnd); /* ours is back either way */
        CHECK_ST(yc_next(p, &v), YC_YIELD);
        CHECK_INTV(v, RND_NEAREST);     /* plain: its own, always */
        CHECK_EQ_INT(sse_round(), rnd);
    }
    /* a shared generator resuming a plain one: the plain one keeps its own */
    set_round(RND_UP);
    yc_gen *inner = yc_gen_new(own_mode_body, NULL, NULL);
    yc_gen *outer = yc_gen_new(shared_outer_body, inner, &share);
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_next(outer, &v), YC_YIELD);
        CHECK_INTV(v, RND_UP);          /* the outer one's is ours */
        CHECK_EQ_INT(sse_round(), RND_UP);
    }
    CHECK_ST(yc_gen_free(outer), YC_OK);
    CHECK_ST(yc_gen_free(inner), YC_OK);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(p), YC_OK);
    _mm_setcsr(saved);
}
#endif

TEST_MAIN()
