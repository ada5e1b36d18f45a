/* A stackful generator reached through the iterator protocol: yc_iter_next
 * (which tail-calls the type's next, on x86-64 yc_next's assembly itself)
 * and the block path's pullers (reducers and stages, which pull an
 * iterator without next_batch one value at a time through yc_iter_next).
 * Every case of yc_next's protocol goes through these doors here: the
 * first resume and the states the fast path leaves to the C code, out
 * NULL, re-entry, another thread's resume (the biased claim's revoke), a
 * generator sharing its resumer's FP state; and user types whose size
 * decides which way a block pull goes. */
#include "test.h"

#include <pthread.h>
#if defined(__x86_64__)
#  include <xmmintrin.h>
#endif

static long live_gens(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.generators;
}

/* yields 0 .. n-1 (n = *arg), each sent value replacing the next one when
 * it is an int; returns n * 10 */
static yc_val upto(void *arg)
{
    int64_t n = *(int64_t *)arg;
    for (int64_t i = 0; i < n; i++) {
        yc_val s = yc_yield(yc_int(i));
        if (yc_type_of(s) == YC_T_INT) i = s.i - 1;
    }
    return yc_int(n * 10);
}

TEST(iter_next_generator_states)
{
    /* [8.1] C -> R -> S through yc_iter_next (the first resume is the C
     * path's); [2.1] a resume from S; [2.2] the return value, once; [2.3]
     * then a fresh StopIteration (None) for good, and [8.5] X stays X */
    int64_t n = 3;
    yc_gen *g = yc_gen_new(upto, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v = yc_int(-1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK_INTV(v, 30);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    for (int k = 0; k < 3; k++) {
        v = yc_int(-1);
        CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
        CHECK(yc_is_none(v));
    }
    CHECK(yc_err_get() == NULL);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(iter_next_generator_out_null)
{
    /* out NULL: the value is dropped, the generator still moves on, on the
     * first resume (the C path) and on later ones alike; the same for the
     * return value */
    int64_t n = 3;
    yc_gen *g = yc_gen_new(upto, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, NULL), YC_YIELD);
    CHECK_ST(yc_iter_next(it, NULL), YC_YIELD);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_iter_next(it, NULL), YC_RETURN);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(iter_next_generator_matches_yc_next)
{
    /* yc_iter_next and yc_next take turns on one generator, with sends in
     * between: one protocol behind both doors */
    int64_t n = 100;
    yc_gen *g = yc_gen_new(upto, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(g, yc_int(50), &v), YC_YIELD);
    CHECK_INTV(v, 50);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 51);
    CHECK_ST(yc_iter_send(it, yc_int(98), &v), YC_YIELD);
    CHECK_INTV(v, 98);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 99);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 1000);
    yc_gen_free(g);
    CHECK_EQ_INT(live_gens(), 0);
}

/* Resumes itself through yc_iter_next: [2.5] the error comes out of that
 * call inside the body (caught, the body goes on); a second time it is not
 * caught and ends the generator. */
static yc_val self_next(void *arg)
{
    (void)arg;
    yc_iter *me = yc_gen_iter(yc_gen_current());
    yc_val v;
    int st = yc_iter_next(me, &v);
    yc_exc *e = yc_err_take();
    bool ok = st == YC_EBUSY && e && yc_exc_type_of(e) == &yc_ValueError;
    yc_exc_unref(e);
    yc_yield(yc_bool(ok));
    if (yc_iter_next(me, &v) < 0) yc_raise(yc_err_take()); /* not caught this time */
    return YC_NONE;
}

TEST(iter_next_generator_reentry)
{
    yc_gen *g = yc_gen_new(self_next, NULL, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_VAL(v, yc_bool(true));
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED); /* not corrupted */
    /* raised again in the body and not caught: the generator ends with it */
    CHECK_ST(yc_iter_next(it, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

/* ---- another thread --------------------------------------------------- */

typedef struct {
    yc_iter *it;
    int st[3];
    int64_t got[3];
    bool clean;
} pull_job;

static void *pull_three(void *arg)
{
    pull_job *j = arg;
    for (int k = 0; k < 3; k++) {
        yc_val v = yc_int(-1);
        j->st[k] = yc_iter_next(j->it, &v);
        j->got[k] = v.i;
    }
    j->clean = yc_err_get() == NULL;
    return NULL;
}

/* Another thread pulls 1, 2, 3 from it through yc_iter_next, cleanly. */
static void pull_three_elsewhere(yc_iter *it)
{
    pull_job j = {.it = it};
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, pull_three, &j), 0);
    pthread_join(t, NULL);
    for (int k = 0; k < 3; k++) {
        CHECK_ST(j.st[k], YC_YIELD);
        CHECK_EQ_INT(j.got[k], k + 1);
    }
    CHECK(j.clean);
}

TEST(iter_next_generator_other_thread)
{
    /* the creating thread holds the generator's bias; another thread's
     * yc_iter_next takes the C path, which revokes it, and the owner's
     * pulls after that still work */
    int64_t n = 6;
    yc_gen *g = yc_gen_new(upto, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    pull_three_elsewhere(it);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK_INTV(v, 60);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

/* yield from over a generator of its own (upto, n = *arg) */
static yc_val deleg_upto(void *arg)
{
    yc_gen *sub = yc_gen_new(upto, arg, NULL);
    if (!sub) yc_raise(yc_err_take());
    yc_val r = yc_yield_from(yc_gen_iter(sub));
    yc_gen_free(sub);
    return r;
}

TEST(yield_from_resumed_on_another_thread)
{
    /* [7.1] a delegating generator suspended in yield from, resumed by
     * another thread and then by its creator again: its suspension
     * (suspend_from, inlined into the delegation loop) reads the thread
     * state of the thread that resumed it, each time, not one kept from
     * before a switch */
    int64_t n = 7;
    yc_gen *g = yc_gen_new(deleg_upto, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    pull_three_elsewhere(it);
    CHECK(yc_gen_current() == NULL); /* this thread's current: still its own */
    for (int64_t k = 4; k < 7; k++) {
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_INTV(v, k);
    }
    CHECK_ST(yc_send(g, yc_int(6), &v), YC_YIELD); /* sent through to upto */
    CHECK_INTV(v, 6);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK_INTV(v, 70);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

/* ---- a generator sharing its resumer's FP state (x86-64) --------------- */
#if defined(__x86_64__)

#define MXCSR_RC_SHIFT 13
enum { RND_NEAREST = 0, RND_UP = 2 };

static void set_round(int rnd)
{
    _mm_setcsr((_mm_getcsr() & ~(3u << MXCSR_RC_SHIFT)) | ((unsigned)rnd << MXCSR_RC_SHIFT));
}

static int sse_round(void) { return (int)((_mm_getcsr() >> MXCSR_RC_SHIFT) & 3u); }

/* whether this build has the fast paths (the only switch that shares) */
static bool fast_paths(void) { return strstr(yc_config(), "fast_path=1") != NULL; }

static yc_val rounding_seen(void *arg)
{
    (void)arg;
    for (;;) yc_yield(yc_int(sse_round()));
    return YC_NONE;
}

TEST(iter_next_generator_share_fpenv)
{
    /* YC_GEN_SHARE_FPENV's switch (out of line in the fast path) through
     * yc_iter_next: the body runs with the resumer's rounding mode (with the
     * fast paths; every other switch keeps the body's own), and the resumer
     * keeps its own */
    yc_gen *g = yc_gen_new(rounding_seen, NULL, &(yc_gen_opts){.flags = YC_GEN_SHARE_FPENV});
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, RND_NEAREST);
    set_round(RND_UP);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, fast_paths() ? RND_UP : RND_NEAREST);
    CHECK_EQ_INT(sse_round(), RND_UP);
    set_round(RND_NEAREST);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, RND_NEAREST);
    yc_gen_free(g);
    CHECK_EQ_INT(live_gens(), 0);
}
#endif

/* ---- the block path's pullers ----------------------------------------- */

static yc_val raise_after(void *arg)
{
    int64_t n = *(int64_t *)arg;
    for (int64_t i = 1; i <= n; i++) yc_yield(yc_int(i));
    yc_raisef(&yc_KeyError, "after %lld", (long long)n);
    return YC_NONE;
}

static yc_val twice(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_int(x.i * 2);
}

TEST(reducers_over_generators)
{
    /* [10.5] a reducer pulls a generator one value at a time (its block
     * pull goes through yc_iter_next), to the end and to an error [10.3] */
    int64_t n = 1000;
    yc_gen *g = yc_gen_new(upto, &n, NULL);
    yc_val s;
    CHECK_ST(yc_iter_sum(yc_gen_iter(g), yc_int(5), &s), YC_OK);
    CHECK_INTV(s, 5 + 999 * 1000 / 2);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_gen_free(g);

    int64_t three = 3;
    g = yc_gen_new(raise_after, &three, NULL);
    s = yc_int(-1);
    CHECK_ST(yc_iter_sum(yc_gen_iter(g), yc_int(0), &s), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'after 3'");
    CHECK_INTV(s, -1); /* not stored on an error */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_gen_free(g);

    /* a stage over a generator: map pulls through the same path */
    g = yc_gen_new(upto, &n, NULL);
    yc_iter *m = yc_iter_map(yc_gen_iter(g), twice, NULL);
    int64_t count = -1;
    CHECK(m != NULL);
    CHECK_ST(yc_iter_sum(m, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 999 * 1000);
    yc_iter_free(m); /* the stage owns g: this frees it */

    g = yc_gen_new(raise_after, &three, NULL);
    m = yc_iter_map(yc_gen_iter(g), twice, NULL);
    CHECK_ST(yc_iter_count(m, &count), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'after 3'");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_iter_free(m);
    CHECK_EQ_INT(live_gens(), 0);
}

/* A generator that sums itself: the reducer's pull is a re-entry [2.5]. */
static yc_val self_sum(void *arg)
{
    (void)arg;
    yc_val s;
    int st = yc_iter_sum(yc_gen_iter(yc_gen_current()), yc_int(0), &s);
    yc_exc *e = yc_err_take();
    bool ok = st == YC_EBUSY && e && yc_exc_type_of(e) == &yc_ValueError;
    yc_exc_unref(e);
    yc_yield(yc_bool(ok));
    return YC_NONE;
}

TEST(reducer_reentry_through_block_pull)
{
    yc_gen *g = yc_gen_new(self_sum, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_VAL(v, yc_bool(true));
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_RETURN);
    yc_gen_free(g);
    CHECK_EQ_INT(live_gens(), 0);
}

/* A user iterator counting down from its own field, with a type whose
 * size field the test sets. */
typedef struct {
    yc_iter it;
    int64_t left;
    int batches; /* calls of next_batch */
} down_it;

static int down_next(yc_iter *it, yc_val *out)
{
    down_it *d = (down_it *)it;
    if (d->left == 0) {
        *out = YC_NONE;
        return YC_RETURN;
    }
    *out = yc_int(d->left--);
    return YC_YIELD;
}

static int down_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    down_it *d = (down_it *)it;
    d->batches++;
    while (*n < cap && d->left > 0) buf[(*n)++] = yc_int(d->left--);
    return *n ? YC_YIELD : YC_RETURN;
}

TEST(block_pull_by_type_size)
{
    yc_val s;
    /* size 0 and this layout's size, no next_batch: one value per pull */
    yc_iter_type t0 = {.name = "down0", .next = down_next};
    down_it d = {.it = {&t0}, .left = 10};
    CHECK_ST(yc_iter_sum(&d.it, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 55);
    yc_iter_type tfull = {.name = "downf", .next = down_next, .size = sizeof(yc_iter_type)};
    d = (down_it){.it = {&tfull}, .left = 4};
    CHECK_ST(yc_iter_sum(&d.it, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 10);

    /* the 0.1 layout (before flags): taken as it is, through
     * yc_iter_next_batch, which uses its next_batch */
    yc_iter_type t01 = {.name = "down01", .next = down_next, .next_batch = down_batch,
                        .size = offsetof(yc_iter_type, flags)};
    d = (down_it){.it = {&t01}, .left = 5};
    CHECK_ST(yc_iter_sum(&d.it, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 15);
    CHECK(d.batches >= 1);

    /* with next_batch (size 0): the block path proper */
    yc_iter_type tb = {.name = "downb", .next = down_next, .next_batch = down_batch};
    d = (down_it){.it = {&tb}, .left = 6};
    CHECK_ST(yc_iter_sum(&d.it, yc_int(0), &s), YC_OK);
    CHECK_INTV(s, 21);
    CHECK(d.batches >= 1);

    /* a size smaller than any layout: refused before next is called */
    yc_iter_type tbad = {.name = "downbad", .next = down_next, .size = 8};
    char small[200];
    snprintf(small, sizeof small,
             "TypeError: yc_iter_type 'downbad' has size 8, less than %zu, this yieldc's: "
             "set .size to sizeof(yc_iter_type) or leave it 0",
             sizeof(yc_iter_type));
    d = (down_it){.it = {&tbad}, .left = 3};
    s = yc_int(-1);
    CHECK_ST(yc_iter_sum(&d.it, yc_int(0), &s), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, small);
    CHECK_EQ_INT(d.left, 3);
}

TEST_MAIN()
