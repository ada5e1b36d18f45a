/* Misuse of the API: every wrong call returns a clear error (status, type
 * and message checked) and changes nothing. */
#include "test.h"

/* Not an exception and not a generator: what a stray pointer looks like. */
static uint64_t foreign[64];

static long live_gens(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.generators;
}

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

#define NULL_GEN "TypeError: generator is NULL"
#define NOT_LIVE "ValueError: not a live generator (freed or corrupted)"
#define BUSY "ValueError: generator already executing"
#define BAD_EXC_NULL                                                          \
    "TypeError: exceptions must be classes or instances deriving from BaseException, not NULL"
#define BAD_EXC_FOREIGN                                                       \
    "TypeError: exceptions must be classes or instances deriving from BaseException, not a " \
    "foreign pointer"
#define NULL_ITER "TypeError: iterator is NULL"

/* A generator that counts its steps: yields 1, 2, then returns 3. */
static int steps;

static yc_val two_then_three(void *arg)
{
    (void)arg;
    steps++;
    yc_yield(yc_int(1));
    steps++;
    yc_yield(yc_int(2));
    steps++;
    return yc_int(3);
}

/* ---- NULL generator ----------------------------------------------------- */

TEST(misuse_next_null)
{
    yc_val v = yc_int(5);
    CHECK_ST(yc_next(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
    CHECK_ST(yc_next(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
}

TEST(misuse_send_null)
{
    CHECK_ST(yc_send(NULL, YC_NONE, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
    yc_val v;
    CHECK_ST(yc_send(NULL, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
}

TEST(misuse_throw_null_generator)
{
    /* the exception is taken even so */
    yc_exc *e = yc_exc_new(&yc_ValueError, "lost");
    yc_val v;
    CHECK_ST(yc_throw(NULL, e, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(misuse_close_null)
{
    yc_val v;
    CHECK_ST(yc_close(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
    CHECK_ST(yc_close(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
}

TEST(misuse_free_null)
{
    CHECK_ST(yc_gen_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
}

TEST(misuse_introspection_null)
{
    CHECK_EQ_INT(yc_gen_state_of(NULL), YC_GEN_CLOSED);
    CHECK(yc_gen_name(NULL) == NULL);
    CHECK(yc_gen_yieldfrom(NULL) == NULL);
    CHECK_EQ_INT(yc_gen_stack_size(NULL), 0);
    CHECK(yc_gen_iter(NULL) == NULL);
    CHECK(yc_err_get() == NULL); /* none of them reports an error */
    CHECK_STR(yc_gen_state_name((yc_gen_state)42), "GEN_UNKNOWN");
    CHECK_STR(yc_gen_state_name(YC_GEN_CREATED), "GEN_CREATED");
    CHECK_STR(yc_gen_state_name(YC_GEN_RUNNING), "GEN_RUNNING");
    CHECK_STR(yc_gen_state_name(YC_GEN_SUSPENDED), "GEN_SUSPENDED");
    CHECK_STR(yc_gen_state_name(YC_GEN_CLOSED), "GEN_CLOSED");
    CHECK(yc_gen_current() == NULL);
}

/* ---- bad exceptions for yc_throw ------------------------------------------ */

TEST(misuse_throw_null_exception_suspended)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_EQ_INT(steps, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* carries on where it was */
    CHECK_INTV(v, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_throw_null_exception_created)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    CHECK_ST(yc_throw(g, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK_EQ_INT(steps, 0);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_throw_foreign_exception)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, (yc_exc *)foreign, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_FOREIGN);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_EQ_INT(steps, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_throw_null_both)
{
    CHECK_ST(yc_throw(NULL, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
}

/* ---- yc_gen_new ---------------------------------------------------------- */

TEST(misuse_gen_new_null_fn)
{
    CHECK(yc_gen_new(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(misuse_gen_new_stack_too_small)
{
    yc_stats before, after;
    yc_stats_get(&before);
    CHECK(yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.stack_size = YC_STACK_MIN - 1}) ==
          NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_gen_new: stack_size 16383 is outside [16384, 2^40]");
    CHECK(yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.stack_size = 1}) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_gen_new: stack_size 1 is outside [16384, 2^40]");
    yc_stats_get(&after);
    CHECK_EQ_INT(after.generators, 0);
    CHECK_EQ_INT(after.stacks_mapped, before.stacks_mapped);

    /* the minimum itself is fine */
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.stack_size = YC_STACK_MIN});
    CHECK(g != NULL);
    CHECK(yc_gen_stack_size(g) >= YC_STACK_MIN);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_gen_new_stack_too_big)
{
    CHECK(yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.stack_size = (size_t)1 << 41}) ==
          NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(misuse_gen_new_long_name_truncated)
{
    char name[400];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    yc_gen *g = yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    CHECK_EQ_INT(strlen(yc_gen_name(g)), 255);
    CHECK(strncmp(yc_gen_name(g), name, 255) == 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    g = yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.name = NULL});
    CHECK_STR(yc_gen_name(g), "generator");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- wrong states --------------------------------------------------------- */

TEST(misuse_send_non_none_to_created)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK_EQ_INT(steps, 0);
    CHECK_ST(yc_send(g, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_resume_closed)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 3);
    for (int i = 0; i < 3; i++) {
        v = yc_int(-1);
        CHECK_ST(yc_next(g, &v), YC_RETURN); /* a fresh StopIteration() */
        CHECK(yc_is_none(v));
        v = yc_int(-1);
        CHECK_ST(yc_send(g, yc_int(9), &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK(yc_err_get() == NULL);
        v = yc_int(-1);
        CHECK_ST(yc_close(g, &v), YC_OK);
        CHECK(yc_is_none(v));
        yc_exc *e = yc_exc_new(&yc_KeyError, "into closed");
        yc_exc_ref(e);
        CHECK_ST(yc_throw(g, e, &v), YC_RAISE);
        CHECK(yc_err_get() == e); /* raised as is */
        CHECK_EXC(&yc_KeyError, "KeyError: 'into closed'");
        yc_exc_unref(e);
    }
    CHECK_EQ_INT(steps, 3);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(misuse_resume_closed_after_close)
{
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    CHECK_ST(yc_close(g, NULL), YC_OK); /* created -> closed, nothing runs */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_EQ_INT(steps, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- freed generators ------------------------------------------------------ */

TEST(misuse_double_free)
{
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_stats before, after;
    yc_stats_get(&before);
    CHECK(before.stacks_pooled > 0); /* so the freed header is still mapped */
    CHECK_ST(yc_gen_free(g), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    yc_stats_get(&after);
    CHECK_EQ_INT(after.generators, 0);
    CHECK_EQ_INT(after.stacks_pooled, before.stacks_pooled);
    CHECK_EQ_INT(after.stacks_mapped, before.stacks_mapped);
}

TEST(misuse_use_after_free)
{
    yc_gen *g = yc_gen_new(two_then_three, NULL, &(yc_gen_opts){.name = "gone"});
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "x"), &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_close(g, &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK(yc_gen_name(g) == NULL);
    CHECK(yc_gen_iter(g) == NULL);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_EQ_INT(yc_gen_stack_size(g), 0);
}

TEST(misuse_foreign_generator)
{
    /* a pointer that is not a generator: rejected by the magic check */
    yc_gen *g = (yc_gen *)foreign;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "taken"), &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_close(g, &v), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_ST(yc_gen_free(g), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, NOT_LIVE);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK(yc_gen_name(g) == NULL);
    CHECK(yc_gen_iter(g) == NULL);
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) CHECK(foreign[i] == 0);
}

/* ---- the running generator ------------------------------------------------- */

static yc_val free_self(void *arg)
{
    (void)arg;
    yc_gen *me = yc_gen_current();
    CHECK_ST(yc_gen_free(me), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_EQ_INT(yc_gen_state_of(me), YC_GEN_RUNNING);
    yc_val sent = yc_yield(yc_int(1));
    CHECK_ST(yc_gen_free(me), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    return yc_int(sent.i * 2);
}

TEST(misuse_free_running_from_body)
{
    yc_gen *g = yc_gen_new(free_self, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(g, yc_int(21), &v), YC_RETURN);
    CHECK_INTV(v, 42);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val resume_self(void *arg)
{
    (void)arg;
    yc_gen *me = yc_gen_current();
    yc_val v = yc_int(-1);
    CHECK_ST(yc_next(me, &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_ST(yc_send(me, yc_int(1), &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_ST(yc_throw(me, yc_exc_new(&yc_KeyError, "taken"), &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_ST(yc_close(me, &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    /* as an uncaught raise, it ends the generator (2.5) */
    YC_CHECK(yc_next(me, NULL));
    return yc_int(0);
}

TEST(misuse_resume_running_from_body)
{
    yc_gen *g = yc_gen_new(resume_self, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_gen *outer_gen;

static yc_val inner_frees_outer(void *arg)
{
    (void)arg;
    CHECK_EQ_INT(yc_gen_state_of(outer_gen), YC_GEN_RUNNING);
    CHECK_ST(yc_gen_free(outer_gen), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, BUSY);
    yc_yield(yc_int(5));
    return YC_NONE;
}

static yc_val outer_delegates(void *arg)
{
    (void)arg;
    yc_gen *in = yc_gen_new(inner_frees_outer, NULL, NULL);
    yc_val r = yc_yield_from(yc_gen_iter(in));
    yc_gen_free(in);
    return r;
}

TEST(misuse_free_delegating_generator_from_subgenerator)
{
    outer_gen = yc_gen_new(outer_delegates, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(outer_gen, &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_next(outer_gen, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(outer_gen), YC_OK);
}

static yc_val yield_from_self(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield_from(yc_gen_iter(yc_gen_current())); /* 7.11 */
    return yc_int(2);
}

TEST(misuse_yield_from_self)
{
    yc_gen *g = yc_gen_new(yield_from_self, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_ValueError, BUSY);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val iter_free_self(void *arg)
{
    (void)arg;
    yc_iter_free(yc_gen_iter(yc_gen_current())); /* void: nothing done */
    yc_err_clear();
    CHECK_EQ_INT(yc_gen_state_of(yc_gen_current()), YC_GEN_RUNNING);
    yc_yield(yc_int(1));
    return yc_int(2);
}

TEST(misuse_iter_free_running_generator)
{
    yc_gen *g = yc_gen_new(iter_free_self, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 2);
    CHECK_EQ_INT(live_gens(), 1);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- yield outside a generator, yield from NULL ------------------------- */

TEST(misuse_yield_outside_generator)
{
    volatile int caught = 0;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "RuntimeError: yc_yield() outside a generator");
    } YC_END;
    CHECK(caught);
}

TEST(misuse_yield_from_outside_generator)
{
    yc_val items[] = {yc_int(1)};
    yc_iter *it = yc_iter_array(items, 1);
    volatile int caught = 0;
    YC_TRY {
        yc_yield_from(it);
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "RuntimeError: yc_yield_from() outside a generator");
    } YC_END;
    CHECK(caught);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* untouched */
    CHECK_INTV(v, 1);
    yc_iter_free(it);
}

static yc_val yield_from_null_caught(void *arg)
{
    (void)arg;
    volatile int caught = 0;
    YC_TRY {
        yc_yield_from(NULL);
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "TypeError: 'NULL' object is not iterable");
    } YC_END;
    return yc_int(caught);
}

static yc_val yield_from_null_uncaught(void *arg)
{
    (void)arg;
    yc_yield_from(NULL);
    return yc_int(1);
}

TEST(misuse_yield_from_null)
{
    yc_gen *g = yc_gen_new(yield_from_null_caught, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(g), YC_OK);

    g = yc_gen_new(yield_from_null_uncaught, NULL, NULL);
    CHECK_ST(yc_next(g, &v), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object is not iterable");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- iterators ------------------------------------------------------------- */

TEST(misuse_iter_null)
{
    yc_val v;
    CHECK_ST(yc_iter_next(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    CHECK_ST(yc_iter_send(NULL, YC_NONE, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    CHECK_ST(yc_iter_send(NULL, yc_int(3), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    CHECK_ST(yc_iter_throw(NULL, yc_exc_new(&yc_ValueError, "taken"), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    CHECK_ST(yc_iter_close(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    yc_iter_free(NULL); /* ignored */
    CHECK(yc_err_get() == NULL);
}

TEST(misuse_iter_without_type)
{
    yc_iter bare = {NULL};
    CHECK_ST(yc_iter_next(&bare, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    CHECK_ST(yc_iter_close(&bare, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL_ITER);
    yc_iter_free(&bare);
    CHECK(yc_err_get() == NULL);
}

TEST(misuse_iter_throw_bad_exception)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    yc_val v;
    CHECK_ST(yc_iter_throw(it, NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_NULL);
    CHECK_ST(yc_iter_throw(it, (yc_exc *)foreign, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_FOREIGN);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* unchanged */
    CHECK_INTV(v, 1);
    yc_iter_free(it);

    /* through a generator's iterator too */
    steps = 0;
    yc_gen *g = yc_gen_new(two_then_three, NULL, NULL);
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_ST(yc_iter_throw(yc_gen_iter(g), NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, BAD_EXC_NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    yc_iter_free(yc_gen_iter(g));
}

TEST(misuse_iter_array_null_items)
{
    CHECK(yc_iter_array(NULL, 3) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_array: items is NULL");
    /* NULL with no items is an empty iterator */
    yc_iter *it = yc_iter_array(NULL, 0);
    CHECK(it != NULL);
    yc_val v = yc_int(1);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_iter_free(it);
}

/* ---- raising bad objects, the error indicator ----------------------------- */

TEST(misuse_raise_null)
{
    volatile int caught = 0;
    YC_TRY {
        yc_raise(NULL);
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "TypeError: exceptions must derive from BaseException, not NULL");
    } YC_END;
    CHECK(caught);
    caught = 0;
    YC_TRY {
        yc_raise((yc_exc *)foreign);
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf,
                  "TypeError: exceptions must derive from BaseException, not a foreign pointer");
    } YC_END;
    CHECK(caught);
}

/* In a child process, so that a leak here does not spill into the leak
 * checks of the tests after it: the exit status is the number of live
 * exceptions left (0 expected), 100 if the TypeError was not caught. */
static void child_raise_from_null(void *arg)
{
    (void)arg;
    volatile int caught = 0;
    YC_TRY {
        yc_raise_from(NULL, yc_exc_new(&yc_ValueError, "cause"));
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
    } YC_END;
    _exit(caught ? (int)live_excs() : 100);
}

TEST(misuse_raise_from_null_takes_cause)
{
    /* yc_raise_from takes both, even when e is not an exception */
    char buf[1024];
    int st = test_in_child(child_raise_from_null, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(st));
    CHECK_EQ_INT(WEXITSTATUS(st), 0);
}

TEST(misuse_raise_from_foreign_cause)
{
    volatile int caught = 0;
    YC_TRY {
        yc_raise_from(yc_exc_new(&yc_KeyError, "k"), (yc_exc *)foreign);
    } YC_EXCEPT(&yc_KeyError) {
        caught = 1;
        CHECK(yc_exc_cause(yc_exc_current()) == NULL);
    } YC_END;
    CHECK(caught);
}

TEST(misuse_err_set_foreign)
{
    yc_err_set((yc_exc *)foreign);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_err_set: not an exception");
    yc_err_set(yc_exc_new(&yc_KeyError, "a"));
    yc_err_set(NULL); /* clears, releasing it */
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(live_excs(), 0);
    yc_err_set(yc_exc_new(&yc_KeyError, "old"));
    yc_err_set(yc_exc_new(&yc_IndexError, "new")); /* replaces, releasing */
    CHECK_EQ_INT(live_excs(), 1);
    CHECK_EXC(&yc_IndexError, "IndexError: new");
    CHECK(yc_err_take() == NULL);
}

/* ---- YC_CHECK ---------------------------------------------------------------- */

TEST(misuse_check_raises_pending)
{
    yc_exc *volatile pending = NULL;
    volatile int caught = 0;
    YC_TRY {
        YC_CHECK(YC_OK);
        YC_CHECK(YC_YIELD);
        YC_CHECK(YC_RETURN);
        int st = yc_next(NULL, NULL);
        pending = yc_err_get();
        YC_CHECK(st);
        CHECK(0); /* not reached */
    } YC_EXCEPT(&yc_TypeError) {
        caught = 1;
        CHECK(yc_exc_current() == pending); /* that very object */
        CHECK(yc_err_get() == NULL);        /* and no longer pending */
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, NULL_GEN);
    } YC_END;
    CHECK(caught);
}

TEST(misuse_check_without_pending)
{
    volatile int caught = 0;
    YC_TRY {
        YC_CHECK(YC_RAISE);
    } YC_EXCEPT(&yc_RuntimeError) {
        caught = 1;
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "RuntimeError: a call failed but no exception was pending");
    } YC_END;
    CHECK(caught);
}

static yc_val check_in_body(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    YC_CHECK(yc_close(NULL, NULL));
    return yc_int(1);
}

TEST(misuse_check_in_generator_ends_it)
{
    yc_gen *g = yc_gen_new(check_in_body, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EXC(&yc_TypeError, NULL_GEN);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- status names ------------------------------------------------------------ */

TEST(misuse_status_names)
{
    static const struct {
        int st;
        const char *name, *str;
    } tab[] = {
        {YC_OK, "YC_OK", "success"},
        {YC_YIELD, "YC_YIELD", "a value was yielded"},
        {YC_RETURN, "YC_RETURN", "exhausted: StopIteration, with the return value"},
        {YC_RAISE, "YC_RAISE", "an exception was raised (see yc_err_get())"},
        {YC_EINVAL, "YC_EINVAL", "invalid argument or wrong state; nothing was changed"},
        {YC_EBUSY, "YC_EBUSY", "generator already executing; nothing was changed"},
        {YC_ENOMEM, "YC_ENOMEM", "out of memory; nothing was changed"},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        CHECK_STR(yc_status_name(tab[i].st), tab[i].name);
        CHECK_STR(yc_status_str(tab[i].st), tab[i].str);
    }
    CHECK_EQ_INT(YC_OK, 0);
    CHECK_EQ_INT(YC_YIELD, 1);
    CHECK_EQ_INT(YC_RETURN, 2);
    CHECK(YC_RAISE < 0 && YC_EINVAL < 0 && YC_EBUSY < 0 && YC_ENOMEM < 0);
    const int unknown[] = {3, -5, 42, -1000, 0x7fffffff, (int)0x80000000u};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        CHECK_STR(yc_status_name(unknown[i]), "YC_UNKNOWN");
        CHECK_STR(yc_status_str(unknown[i]), "unknown status");
    }
}

TEST_MAIN()
