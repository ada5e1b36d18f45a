/* The iterator protocol: the array iterator, YC_FOREACH, generators as
 * iterators, the defaults for missing send/throw/close, and a user-written
 * iterator type (also as the subiterator of yield from). */
#include "test.h"

static long live_gens(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.generators;
}

#define NO_SEND "AttributeError: 'list_iterator' object has no attribute 'send'"

/* ---- the array iterator -------------------------------------------------- */

TEST(iter_array_next)
{
    yc_val items[] = {yc_int(10), yc_str("x"), YC_NONE, yc_float(1.5)};
    yc_iter *it = yc_iter_array(items, 4);
    CHECK(it != NULL);
    CHECK_STR(it->type->name, "list_iterator");
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 10);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("x"));
    CHECK_ST(yc_iter_next(it, NULL), YC_YIELD); /* out may be NULL */
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_VAL(v, yc_float(1.5));
    for (int i = 0; i < 3; i++) {
        v = yc_int(-1);
        CHECK_ST(yc_iter_next(it, &v), YC_RETURN); /* and stays exhausted */
        CHECK(yc_is_none(v));
    }
    CHECK(yc_err_get() == NULL);
    yc_iter_free(it);
}

TEST(iter_array_empty)
{
    yc_val one = yc_int(1);
    yc_iter *it = yc_iter_array(&one, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_iter_free(it);
}

TEST(iter_array_borrows_items)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    items[1] = yc_int(20); /* read when reached, like a list */
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 20);
    yc_iter_free(it);
}

/* ---- YC_FOREACH ------------------------------------------------------------- */

TEST(foreach_array_to_exhaustion)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *it = yc_iter_array(items, 3);
    int st = 12345;
    int64_t sum = 0;
    int count = 0;
    YC_FOREACH(v, it, st) {
        CHECK_EQ_INT(yc_type_of(v), YC_T_INT);
        sum = sum * 10 + v.i;
        count++;
    }
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(sum, 123);
    CHECK_EQ_INT(count, 3);
    /* a second loop over the exhausted iterator runs nothing */
    count = 0;
    YC_FOREACH(v, it, st) {
        (void)v;
        count++;
    }
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(count, 0);
    yc_iter_free(it);
}

TEST(foreach_break)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_int(3), yc_int(4)};
    yc_iter *it = yc_iter_array(items, 4);
    int st = 0;
    int64_t last = 0;
    YC_FOREACH(v, it, st) {
        last = v.i;
        if (v.i == 2) break;
    }
    CHECK_ST(st, YC_YIELD);
    CHECK_EQ_INT(last, 2);
    /* the loop can be resumed where it stopped */
    int64_t sum = 0;
    YC_FOREACH(v, it, st) sum += v.i;
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(sum, 7);
    yc_iter_free(it);
}

TEST(foreach_continue_and_nesting)
{
    yc_val items[] = {yc_int(1), yc_int(2), yc_int(3)};
    yc_iter *outer = yc_iter_array(items, 3);
    int st_out = 0, pairs = 0;
    YC_FOREACH(a, outer, st_out) {
        if (a.i == 2) continue;
        yc_iter *inner = yc_iter_array(items, 3);
        int st_in = 0;
        YC_FOREACH(b, inner, st_in) {
            (void)b;
            pairs++;
        }
        CHECK_ST(st_in, YC_RETURN);
        yc_iter_free(inner);
    }
    CHECK_ST(st_out, YC_RETURN);
    CHECK_EQ_INT(pairs, 6);
    yc_iter_free(outer);
}

TEST(foreach_null_iterator)
{
    int st = 0, ran = 0;
    YC_FOREACH(v, (yc_iter *)NULL, st) {
        (void)v;
        ran++;
    }
    CHECK_ST(st, YC_EINVAL);
    CHECK_EQ_INT(ran, 0);
    CHECK_EXC(&yc_TypeError, "TypeError: iterator is NULL");
}

/* ---- a user-written iterator type ---------------------------------------- */

/* Counts from lo to hi-1 and returns hi. send(v) jumps to v. throw: a
 * ValueError is caught (yields -1), anything else passes through. close
 * marks it closed and returns how many values it produced. fail_at: next
 * raises KeyError when reaching that number. stop_iteration: exhaustion is
 * reported by raising StopIteration(hi) instead of returning. */
typedef struct range_iter {
    yc_iter it;
    int64_t i, hi, produced;
    int64_t fail_at;
    bool stop_iteration;
    bool closed;
    int *freed;
} range_iter;

static int range_next(yc_iter *it, yc_val *out)
{
    range_iter *r = (range_iter *)it;
    if (r->closed || r->i >= r->hi) {
        if (r->stop_iteration) {
            yc_err_set(yc_exc_new_value(&yc_StopIteration, yc_int(r->hi)));
            return YC_RAISE;
        }
        *out = r->closed ? YC_NONE : yc_int(r->hi);
        return YC_RETURN;
    }
    if (r->fail_at && r->i == r->fail_at) {
        yc_err_set(yc_exc_new(&yc_KeyError, "failed at %lld", (long long)r->i));
        r->closed = true;
        return YC_RAISE;
    }
    r->produced++;
    *out = yc_int(r->i++);
    return YC_YIELD;
}

static int range_send(yc_iter *it, yc_val v, yc_val *out)
{
    range_iter *r = (range_iter *)it;
    if (yc_type_of(v) == YC_T_INT) r->i = v.i;
    return range_next(it, out);
}

static int range_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    range_iter *r = (range_iter *)it;
    if (yc_exc_is(e, &yc_ValueError)) {
        yc_exc_unref(e);
        *out = yc_int(-1);
        return YC_YIELD;
    }
    r->closed = true;
    *out = YC_NONE;
    yc_err_set(e);
    return YC_RAISE;
}

static int range_close(yc_iter *it, yc_val *out)
{
    range_iter *r = (range_iter *)it;
    r->closed = true;
    if (out) *out = yc_int(r->produced);
    return YC_OK;
}

static void range_free(yc_iter *it)
{
    range_iter *r = (range_iter *)it;
    if (r->freed) (*r->freed)++;
    free(r);
}

static const yc_iter_type range_type = {
    .name = "range_iterator",
    .next = range_next,
    .send = range_send,
    .throw_ = range_throw,
    .close = range_close,
    .free = range_free,
};

/* the same with next only */
static const yc_iter_type range_next_only = {
    .name = "range_iterator",
    .next = range_next,
    .free = range_free,
};

/* next only, no name, no free */
static const yc_iter_type range_bare = {
    .next = range_next,
};

static range_iter *range_new(const yc_iter_type *t, int64_t lo, int64_t hi, int *freed)
{
    range_iter *r = calloc(1, sizeof *r);
    r->it.type = t;
    r->i = lo;
    r->hi = hi;
    r->freed = freed;
    return r;
}

TEST(user_iter_protocol)
{
    int freed = 0;
    range_iter *r = range_new(&range_type, 0, 5, &freed);
    yc_iter *it = &r->it;
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_send(it, YC_NONE, &v), YC_YIELD); /* send(None) is next */
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_send(it, yc_int(3), &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_ST(yc_iter_throw(it, yc_exc_new(&yc_ValueError, "caught"), &v), YC_YIELD);
    CHECK_INTV(v, -1);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK_INTV(v, 5);
    CHECK_ST(yc_iter_close(it, &v), YC_OK);
    CHECK_INTV(v, 4); /* produced 0, 1, 3, 4 */
    CHECK(r->closed);
    CHECK_EQ_INT(freed, 0);
    yc_iter_free(it);
    CHECK_EQ_INT(freed, 1);
}

TEST(user_iter_throw_passes_through)
{
    int freed = 0;
    range_iter *r = range_new(&range_type, 0, 5, &freed);
    yc_exc *e = yc_exc_ref(yc_exc_new(&yc_IndexError, "through"));
    yc_val v;
    CHECK_ST(yc_iter_throw(&r->it, e, &v), YC_RAISE);
    CHECK(yc_err_get() == e);
    CHECK_EXC(&yc_IndexError, "IndexError: through");
    yc_exc_unref(e);
    CHECK(r->closed);
    yc_iter_free(&r->it);
    CHECK_EQ_INT(freed, 1);
}

TEST(user_iter_foreach_error)
{
    int freed = 0;
    range_iter *r = range_new(&range_type, 0, 10, &freed);
    r->fail_at = 3;
    int st = 0, n = 0;
    YC_FOREACH(v, &r->it, st) {
        CHECK_INTV(v, n);
        n++;
    }
    CHECK_ST(st, YC_RAISE);
    CHECK_EQ_INT(n, 3);
    CHECK_EXC(&yc_KeyError, "KeyError: 'failed at 3'");
    yc_iter_free(&r->it);
}

TEST(user_iter_missing_operations)
{
    range_iter *r = range_new(&range_next_only, 0, 3, NULL);
    yc_iter *it = &r->it;
    yc_val v;
    CHECK_ST(yc_iter_send(it, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_send(it, yc_int(9), &v), YC_RAISE);
    CHECK_EXC(&yc_AttributeError, "AttributeError: 'range_iterator' object has no attribute 'send'");
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* unchanged */
    CHECK_INTV(v, 1);
    yc_iter_free(it);

    /* a type without a name or a free */
    range_iter *b = range_new(&range_bare, 0, 3, NULL);
    CHECK_ST(yc_iter_send(&b->it, yc_int(1), &v), YC_RAISE);
    CHECK_EXC(&yc_AttributeError, "AttributeError: 'iterator' object has no attribute 'send'");
    CHECK_ST(yc_iter_close(&b->it, &v), YC_OK);
    yc_iter_free(&b->it); /* does nothing: no free operation */
    CHECK_ST(yc_iter_next(&b->it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    free(b);
}

/* ---- defaults of the array iterator (next only) -------------------------- */

TEST(iter_default_send)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    yc_val v;
    CHECK_ST(yc_iter_send(it, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_iter_send(it, yc_int(5), &v), YC_RAISE);
    CHECK_EXC(&yc_AttributeError, NO_SEND);
    CHECK_ST(yc_iter_send(it, yc_bool(false), NULL), YC_RAISE); /* False is not None */
    CHECK_EXC(&yc_AttributeError, NO_SEND);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* nothing consumed */
    CHECK_INTV(v, 2);
    yc_iter_free(it);
}

TEST(iter_default_throw)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    yc_exc *e = yc_exc_ref(yc_exc_new(&yc_ValueError, "back"));
    yc_val v = yc_int(7);
    CHECK_ST(yc_iter_throw(it, e, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    CHECK(yc_err_get() == e); /* the same object, raised as is */
    CHECK(yc_exc_context(e) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: back");
    yc_exc_unref(e);
    CHECK_ST(yc_iter_throw(it, yc_exc_new(&yc_GeneratorExit, NULL), NULL), YC_RAISE);
    CHECK_EXC(&yc_GeneratorExit, "GeneratorExit");
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* nothing consumed */
    CHECK_INTV(v, 1);
    yc_iter_free(it);
}

TEST(iter_default_close)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    yc_val v = yc_int(7);
    CHECK_ST(yc_iter_close(it, &v), YC_OK);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_iter_close(it, NULL), YC_OK);
    CHECK(yc_err_get() == NULL);
    yc_iter_free(it);
}

/* ---- generators as iterators --------------------------------------------- */

static volatile int gen_finally_runs;

static yc_val count_to(void *arg)
{
    int64_t n = *(int64_t *)arg;
    YC_TRY {
        for (int64_t i = 0; i < n; i++) {
            yc_val s = yc_yield(yc_int(i));
            if (yc_type_of(s) == YC_T_INT) i = s.i - 1;
        }
    } YC_FINALLY {
        gen_finally_runs++;
    } YC_END;
    return yc_int(n * 100);
}

TEST(foreach_generator)
{
    int64_t n = 4;
    gen_finally_runs = 0;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    CHECK(it != NULL);
    CHECK_STR(it->type->name, "generator");
    int st = 0;
    int64_t expect = 0;
    YC_FOREACH(v, it, st) {
        CHECK_INTV(v, expect);
        expect++;
    }
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(expect, 4);
    CHECK_EQ_INT(gen_finally_runs, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(foreach_generator_return_value)
{
    /* the loop drops the return value; yc_iter_next hands it over once */
    int64_t n = 1;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK_INTV(v, 100);
    CHECK_ST(yc_iter_next(it, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(foreach_generator_break_then_free)
{
    int64_t n = 100;
    gen_finally_runs = 0;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    int st = 0;
    YC_FOREACH(v, yc_gen_iter(g), st) {
        if (v.i == 2) break;
    }
    CHECK_ST(st, YC_YIELD);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_EQ_INT(gen_finally_runs, 0);
    yc_iter_free(yc_gen_iter(g)); /* frees the generator, closing it */
    CHECK_EQ_INT(gen_finally_runs, 1);
    CHECK_EQ_INT(live_gens(), 0);
}

static yc_val fail_after_two(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    yc_raisef(&yc_IndexError, "third");
    return YC_NONE;
}

TEST(foreach_generator_error)
{
    yc_gen *g = yc_gen_new(fail_after_two, NULL, NULL);
    int st = 0, n = 0;
    YC_FOREACH(v, yc_gen_iter(g), st) {
        (void)v;
        n++;
    }
    CHECK_ST(st, YC_RAISE);
    CHECK_EQ_INT(n, 2);
    CHECK_EXC(&yc_IndexError, "IndexError: third");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_iter_free(yc_gen_iter(g));
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(generator_iter_dispatch)
{
    int64_t n = 10;
    gen_finally_runs = 0;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    yc_iter *it = yc_gen_iter(g);
    CHECK(it == yc_gen_iter(g)); /* the same object each time */
    yc_val v;
    CHECK_ST(yc_iter_send(it, yc_int(1), &v), YC_EINVAL); /* just started */
    CHECK_EXC(&yc_TypeError, "TypeError: can't send non-None value to a just-started generator");
    CHECK_ST(yc_iter_send(it, YC_NONE, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_iter_send(it, yc_int(7), &v), YC_YIELD);
    CHECK_INTV(v, 7);
    CHECK_ST(yc_iter_throw(it, yc_exc_new(&yc_KeyError, "in"), &v), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'in'");
    CHECK_EQ_INT(gen_finally_runs, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_iter_close(it, &v), YC_OK);
    yc_iter_free(it);
    CHECK_EQ_INT(live_gens(), 0);
}

static yc_val catch_exit_and_return(void *arg)
{
    (void)arg;
    volatile int64_t r = 0;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        r = 55;
    } YC_END;
    return yc_int(r);
}

TEST(generator_iter_close)
{
    int64_t n = 10;
    gen_finally_runs = 0;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_ST(yc_iter_close(yc_gen_iter(g), &v), YC_OK);
    CHECK(yc_is_none(v)); /* GeneratorExit not caught: None */
    CHECK_EQ_INT(gen_finally_runs, 1);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    yc_iter_free(yc_gen_iter(g));

    /* 3.13: the value returned by a generator that caught GeneratorExit */
    g = yc_gen_new(catch_exit_and_return, NULL, NULL);
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_ST(yc_iter_close(yc_gen_iter(g), &v), YC_OK);
    CHECK_INTV(v, 55);
    yc_iter_free(yc_gen_iter(g));
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(generator_iter_free_states)
{
    /* yc_iter_free frees the generator whatever its state */
    int64_t n = 3;
    yc_gen *g = yc_gen_new(count_to, &n, NULL); /* created */
    yc_iter_free(yc_gen_iter(g));
    CHECK_EQ_INT(live_gens(), 0);
    g = yc_gen_new(count_to, &n, NULL); /* closed */
    CHECK_ST(yc_close(g, NULL), YC_OK);
    yc_iter_free(yc_gen_iter(g));
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(generator_iter_free_keeps_pending_error)
{
    /* yc_iter_free returns nothing: freeing a suspended generator (which
     * closes it) must leave the caller's pending error as it was */
    int64_t n = 10;
    gen_finally_runs = 0;
    yc_gen *g = yc_gen_new(count_to, &n, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *mine = yc_exc_new(&yc_KeyError, "mine");
    yc_err_set(yc_exc_ref(mine));
    yc_iter_free(yc_gen_iter(g));
    CHECK_EQ_INT(gen_finally_runs, 1);
    CHECK(yc_err_get() == mine);
    CHECK_EXC(&yc_KeyError, "KeyError: 'mine'");
    yc_exc_unref(mine);
    CHECK_EQ_INT(live_gens(), 0);
}

/* ---- a user iterator as the subiterator of yield from ------------------- */

static yc_val delegate(void *arg)
{
    yc_iter *sub = arg;
    yc_val r = yc_yield_from(sub);
    yc_yield(r); /* hand the result of yield from back to the test */
    return YC_NONE;
}

TEST(user_iter_in_yield_from)
{
    int freed = 0;
    range_iter *r = range_new(&range_type, 0, 5, &freed);
    yc_gen *g = yc_gen_new(delegate, &r->it, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    CHECK(yc_gen_yieldfrom(g) == &r->it);
    CHECK_ST(yc_send(g, yc_int(3), &v), YC_YIELD); /* forwarded to send */
    CHECK_INTV(v, 3);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "v"), &v), YC_YIELD); /* to throw */
    CHECK_INTV(v, -1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* the sub returned 5 */
    CHECK_INTV(v, 5);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(&r->it);
    CHECK_EQ_INT(freed, 1);
}

TEST(user_iter_stop_iteration_ends_yield_from)
{
    /* an iterator may report exhaustion as StopIteration(value) */
    range_iter *r = range_new(&range_type, 0, 2, NULL);
    r->stop_iteration = true;
    yc_gen *g = yc_gen_new(delegate, &r->it, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2); /* StopIteration's value */
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(&r->it);
}

TEST(user_iter_close_through_yield_from)
{
    range_iter *r = range_new(&range_type, 0, 5, NULL);
    yc_gen *g = yc_gen_new(delegate, &r->it, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_close(g, NULL), YC_OK);
    CHECK(r->closed); /* 7.7: the subiterator is closed first */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(&r->it);
}

TEST(array_iter_in_yield_from_send)
{
    /* 7.2: send(non-None) to a subiterator without send */
    yc_val items[] = {yc_int(1), yc_int(2)};
    yc_iter *it = yc_iter_array(items, 2);
    yc_gen *g = yc_gen_new(delegate, it, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_send(g, yc_int(1), &v), YC_RAISE);
    CHECK_EXC(&yc_AttributeError, NO_SEND);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_iter_free(it);
}

TEST_MAIN()
