/* The allocator hook: the hot paths allocate nothing, and every
 * allocation failure is survived (fault injection: the Nth allocation
 * fails, for N = 1, 2, ... until the operation succeeds untouched). Every
 * test restores the default allocator before it ends. */
#include "test.h"

/* A realloc-like allocator that counts, and fails the fail_at-th
 * allocation (counting from 1; 0: never). Memory comes from malloc, so
 * blocks allocated by the default allocator can be freed through it and
 * the other way round. */
typedef struct counter {
    long allocs;  /* calls with n > 0 (malloc or realloc) */
    long frees;   /* calls with n == 0 */
    long fail_at; /* which allocation fails */
    long failed;  /* how many failed */
} counter;

static void *counting_alloc(void *ud, void *p, size_t n)
{
    counter *c = ud;
    if (n == 0) {
        if (p) c->frees++;
        free(p);
        return NULL;
    }
    c->allocs++;
    if (c->fail_at && c->allocs == c->fail_at) {
        c->failed++;
        return NULL;
    }
    return realloc(p, n);
}

static void use_counter(counter *c, long fail_at)
{
    memset(c, 0, sizeof *c);
    c->fail_at = fail_at;
    yc_set_allocator(counting_alloc, c);
}

static void restore_allocator(void) { yc_set_allocator(NULL, NULL); }

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

/* Creates and frees a generator, so that the thread's stack pool holds a
 * default-size stack. */
static yc_val nothing(void *arg)
{
    (void)arg;
    return YC_NONE;
}

static void warm_pool(void)
{
    yc_gen *g = yc_gen_new(nothing, NULL, NULL);
    yc_gen_free(g);
}

/* ---- nothing allocated on the hot paths --------------------------------- */

static yc_val echo(void *arg)
{
    (void)arg;
    yc_val v = YC_NONE;
    for (;;) {
        yc_val sent = yc_yield(v);
        v = yc_is_none(sent) ? yc_int(0) : yc_int(sent.i + 1);
    }
    return YC_NONE;
}

TEST(alloc_round_trips_allocate_nothing)
{
    yc_gen *g = yc_gen_new(echo, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    counter c;
    use_counter(&c, 0);
    for (int i = 0; i < 1000; i++) {
        if (i % 2) {
            CHECK_ST(yc_send(g, yc_int(i), &v), YC_YIELD);
            CHECK_INTV(v, i + 1);
        } else {
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_INTV(v, 0);
        }
    }
    /* through the iterator interface too */
    for (int i = 0; i < 100; i++) CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 0);
    CHECK_EQ_INT(c.frees, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val delegate_to_echo(void *arg)
{
    yc_gen *sub = arg;
    return yc_yield_from(yc_gen_iter(sub));
}

TEST(alloc_yield_from_round_trips_allocate_nothing)
{
    yc_gen *sub = yc_gen_new(echo, NULL, NULL);
    yc_gen *g = yc_gen_new(delegate_to_echo, sub, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    counter c;
    use_counter(&c, 0);
    for (int i = 0; i < 1000; i++) {
        CHECK_ST(yc_send(g, yc_int(i), &v), YC_YIELD);
        CHECK_INTV(v, i + 1);
    }
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 0);
    CHECK_EQ_INT(c.frees, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(sub), YC_OK);
}

static int guarded_finally_runs;

/* yields once inside a try block, so closing it must resume it */
static yc_val guarded(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        guarded_finally_runs++;
    } YC_END;
    return YC_NONE;
}

TEST(alloc_generator_lifecycle)
{
    warm_pool();
    counter c;

    /* created and freed, or run to the end and freed: nothing at all (the
     * generator's header lives in its pooled stack) */
    use_counter(&c, 0);
    for (int i = 0; i < 100; i++) {
        yc_gen *g = yc_gen_new(echo, NULL, NULL);
        CHECK(g != NULL);
        CHECK_ST(yc_gen_free(g), YC_OK);
        g = yc_gen_new(nothing, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_RETURN);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 0);
    CHECK_EQ_INT(c.frees, 0);

    /* started (suspended, no try block open) and freed: GeneratorExit
     * could only propagate straight out, so yc_gen_free closes it without
     * resuming it: nothing is allocated */
    use_counter(&c, 0);
    for (int i = 0; i < 100; i++) {
        yc_gen *g = yc_gen_new(echo, NULL, &(yc_gen_opts){.name = "short name"});
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 0);
    CHECK_EQ_INT(c.frees, 0);

    /* suspended inside a try block and freed: the close raises a
     * GeneratorExit at the yield so the finally block runs. Measured:
     * exactly one allocation per generator, the GeneratorExit itself (its
     * traceback entry is stored inline, the name being short), released
     * before yc_gen_free returns. */
    use_counter(&c, 0);
    for (int i = 0; i < 100; i++) {
        long before = c.allocs;
        yc_gen *g = yc_gen_new(guarded, NULL, &(yc_gen_opts){.name = "short name"});
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_EQ_INT(c.allocs, before); /* new + first next: nothing */
        CHECK_ST(yc_gen_free(g), YC_OK);
        CHECK_EQ_INT(c.allocs - before, 1);
        CHECK_EQ_INT(c.frees, c.allocs);
    }
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 100);
    CHECK_EQ_INT(c.frees, 100);
    CHECK_EQ_INT(guarded_finally_runs, 100);

    /* a name too long for the inline traceback slot costs one more: the
     * copy of the name in the GeneratorExit's traceback entry */
    use_counter(&c, 0);
    for (int i = 0; i < 10; i++) {
        yc_gen *g = yc_gen_new(guarded, NULL,
                               &(yc_gen_opts){.name = "a generator name of more than 32 bytes"});
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    restore_allocator();
    CHECK_EQ_INT(c.allocs, 20);
    CHECK_EQ_INT(c.frees, 20);
}

TEST(alloc_hook_gets_its_user_data)
{
    counter c;
    use_counter(&c, 0);
    yc_exc *e = yc_exc_new(&yc_ValueError, "counted");
    long after_new = c.allocs;
    yc_exc_unref(e);
    restore_allocator();
    CHECK(after_new >= 1);
    CHECK_EQ_INT(c.frees, c.allocs);

    /* restored: no longer called */
    e = yc_exc_new(&yc_ValueError, "not counted");
    yc_exc_unref(e);
    CHECK_EQ_INT(c.allocs, after_new);
}

/* ---- failing allocations --------------------------------------------------- */

/* Runs op with the Nth allocation failing, N = 1, 2, ... until op completes
 * without hitting the failure; check(N, failed) judges each outcome. */
#define FOR_EACH_FAILURE(N, c)                                                \
    for (long N = 1, done_ = 0; !done_ && N < 100; N++)                      \
        for (int once_ = (use_counter(&(c), N), 1); once_; once_ = 0,        \
                 restore_allocator(), done_ = (c).failed == 0)

TEST(alloc_fail_exc_new)
{
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        yc_exc *e = yc_exc_new(&yc_ValueError, "msg %d", 5);
        CHECK(e != NULL);
        char buf[128];
        yc_exc_format(e, buf, sizeof buf);
        if (c.failed) {
            /* documented: the preallocated MemoryError, never NULL, and
             * never a ValueError that silently lost its message */
            if (yc_exc_type_of(e) != &yc_MemoryError)
                test_fail(__FILE__, __LINE__,
                          "allocation %ld failing: got \"%s\", want MemoryError", n, buf);
        } else {
            CHECK_STR(buf, "ValueError: msg 5");
        }
        yc_exc_unref(e);
    }
    CHECK(rounds >= 2);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(alloc_fail_exc_new_without_message)
{
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        yc_exc *e = yc_exc_new(&yc_KeyError, NULL);
        CHECK(e != NULL);
        CHECK(yc_exc_type_of(e) == (c.failed ? &yc_MemoryError : &yc_KeyError));
        yc_exc_unref(e);
    }
    CHECK_EQ_INT(rounds, 2);
}

TEST(alloc_fail_exc_new_value)
{
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        yc_exc *e = yc_exc_new_value(&yc_StopIteration, yc_int(3));
        CHECK(e != NULL);
        if (c.failed) {
            CHECK(yc_exc_type_of(e) == &yc_MemoryError);
        } else {
            CHECK(yc_exc_type_of(e) == &yc_StopIteration);
            CHECK_INTV(yc_exc_value(e), 3);
        }
        yc_exc_unref(e);
    }
    CHECK_EQ_INT(rounds, 2);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(alloc_fail_exc_new_errno)
{
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        yc_exc *e = yc_exc_new_errno(&yc_OSError, ENOENT, "f");
        CHECK(e != NULL);
        char buf[128];
        yc_exc_format(e, buf, sizeof buf);
        if (c.failed) {
            /* as for yc_exc_new: MemoryError, not an OSError without its
             * message */
            if (yc_exc_type_of(e) != &yc_MemoryError)
                test_fail(__FILE__, __LINE__,
                          "allocation %ld failing: got \"%s\", want MemoryError", n, buf);
        } else {
            CHECK_EQ_INT(yc_exc_errno(e), ENOENT);
            CHECK_STR(buf, "FileNotFoundError: [Errno 2] No such file or directory: f");
        }
        yc_exc_unref(e);
    }
    CHECK(rounds >= 2);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(alloc_preallocated_memory_error)
{
    counter c;
    use_counter(&c, 1);
    yc_exc *m = yc_exc_new(&yc_ValueError, "x");
    restore_allocator();
    CHECK(yc_exc_type_of(m) == &yc_MemoryError);
    CHECK(yc_exc_is(m, &yc_Exception));
    CHECK_EQ_INT(live_excs(), 0); /* not a counted object */
    /* refcounting is harmless, any number of times */
    for (int i = 0; i < 5; i++) CHECK(yc_exc_ref(m) == m);
    for (int i = 0; i < 10; i++) yc_exc_unref(m);
    /* it can be raised, caught, chained to, and gains no baggage */
    yc_exc *volatile caught = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "handled");
        } YC_EXCEPT(&yc_KeyError) {
            yc_raise_from(m, yc_exc_new(&yc_IndexError, "cause"));
        } YC_END;
    } YC_EXCEPT(&yc_MemoryError) {
        caught = yc_exc_current();
    } YC_END;
    CHECK(caught == m);
    size_t n = 1;
    yc_exc_traceback(m, &n);
    CHECK_EQ_INT(n, 0);
    CHECK(yc_exc_context(m) == NULL);
    CHECK(yc_exc_cause(m) == NULL);
    CHECK_EQ_INT(live_excs(), 0);
    /* same object every time */
    use_counter(&c, 1);
    yc_exc *m2 = yc_exc_new(&yc_TypeError, NULL);
    restore_allocator();
    CHECK(m2 == m);
}

TEST(alloc_fail_iter_array)
{
    yc_val items[] = {yc_int(1), yc_int(2)};
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        yc_iter *it = yc_iter_array(items, 2);
        if (c.failed) {
            CHECK(it == NULL);
            CHECK_EXC(&yc_MemoryError, NULL);
        } else {
            CHECK(it != NULL);
            CHECK(yc_err_get() == NULL);
            yc_val v;
            CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
            CHECK_INTV(v, 1);
            yc_iter_free(it);
        }
    }
    CHECK_EQ_INT(rounds, 2);
}

static yc_val raise_after_yield(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_raisef(&yc_ValueError, "boom %d", 1);
    return YC_NONE;
}

TEST(alloc_fail_raise_in_generator)
{
    counter c;
    int rounds = 0;
    for (long n = 1; n < 100; n++) {
        rounds++;
        yc_gen *g = yc_gen_new(raise_after_yield, NULL, &(yc_gen_opts){.name = "oom"});
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        use_counter(&c, n);
        yc_val v = yc_int(9);
        int st = yc_next(g, &v);
        restore_allocator();
        CHECK_ST(st, YC_RAISE);
        CHECK(yc_is_none(v));
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
        yc_exc *e = yc_err_take();
        CHECK(e != NULL);
        if (c.failed) {
            CHECK(yc_exc_is(e, &yc_ValueError) || yc_exc_is(e, &yc_MemoryError));
        } else {
            char buf[128];
            yc_exc_format(e, buf, sizeof buf);
            CHECK_STR(buf, "ValueError: boom 1");
            size_t nt = 0;
            const yc_tb_entry *tb = yc_exc_traceback(e, &nt);
            CHECK_EQ_INT(nt, 1);
            if (nt == 1) CHECK_STR(tb[0].where, "oom");
        }
        yc_exc_unref(e);
        CHECK_ST(yc_gen_free(g), YC_OK);
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) break;
    }
    CHECK(rounds >= 3);
}

static yc_val catch_anything(void *arg)
{
    (void)arg;
    volatile int64_t r = 0;
    YC_TRY {
        yc_raisef(&yc_KeyError, "caught inside");
    } YC_EXCEPT(&yc_Exception) {
        r = yc_exc_is(yc_exc_current(), &yc_KeyError) ? 1 : 2;
        yc_yield(yc_int(r));
    } YC_END;
    return yc_int(r * 10);
}

TEST(alloc_fail_raise_caught_in_generator)
{
    counter c;
    for (long n = 1; n < 100; n++) {
        yc_gen *g = yc_gen_new(catch_anything, NULL, NULL);
        use_counter(&c, n);
        yc_val v;
        int st = yc_next(g, &v);
        CHECK_ST(st, YC_YIELD);
        int64_t first = v.i;
        CHECK(first == 1 || (c.failed && first == 2));
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        restore_allocator();
        CHECK_INTV(v, first * 10);
        CHECK_ST(yc_gen_free(g), YC_OK);
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) break;
    }
}

static yc_val raise_stop_iteration(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
    return YC_NONE;
}

TEST(alloc_fail_pep479_conversion)
{
    counter c;
    int rounds = 0;
    for (long n = 1; n < 100; n++) {
        rounds++;
        yc_gen *g = yc_gen_new(raise_stop_iteration, NULL, NULL);
        use_counter(&c, n);
        int st = yc_next(g, NULL);
        restore_allocator();
        CHECK_ST(st, YC_RAISE);
        yc_exc *e = yc_err_take();
        /* never the StopIteration itself */
        CHECK(yc_exc_is(e, &yc_RuntimeError) || yc_exc_is(e, &yc_MemoryError));
        if (!c.failed) {
            char buf[128];
            yc_exc_format(e, buf, sizeof buf);
            CHECK_STR(buf, "RuntimeError: generator raised StopIteration");
            CHECK(yc_exc_is(yc_exc_cause(e), &yc_StopIteration));
        }
        yc_exc_unref(e);
        CHECK_ST(yc_gen_free(g), YC_OK);
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) break;
    }
    CHECK(rounds >= 4);
}

static volatile int finally_runs;
static int unraisable_calls;

static void count_unraisable(yc_exc *e, const char *obj, void *ud)
{
    (void)obj;
    (void)ud;
    CHECK(e != NULL);
    unraisable_calls++;
}

static yc_val with_finally(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        finally_runs++;
    } YC_END;
    return YC_NONE;
}

TEST(alloc_fail_free_suspended_generator)
{
    /* yc_gen_free closes: GeneratorExit may become MemoryError, which the
     * unraisable hook reports; the finally block runs regardless */
    counter c;
    yc_set_unraisable_hook(count_unraisable, NULL);
    for (long n = 1; n < 100; n++) {
        finally_runs = 0;
        unraisable_calls = 0;
        yc_gen *g = yc_gen_new(with_finally, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        use_counter(&c, n);
        int st = yc_gen_free(g);
        restore_allocator();
        CHECK_ST(st, YC_OK);
        CHECK_EQ_INT(finally_runs, 1);
        CHECK(yc_err_get() == NULL);
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) {
            CHECK_EQ_INT(unraisable_calls, 0);
            break;
        }
    }
    yc_set_unraisable_hook(NULL, NULL);
}

/* 1: IndexError caught, 2: MemoryError caught (the try is kept out of the
 * callers' loops: setjmp and loop counters do not mix) */
static int raise_in_except(void)
{
    volatile int which = 0;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "first");
        } YC_EXCEPT(&yc_Exception) {
            yc_raisef(&yc_IndexError, "second");
        } YC_END;
    } YC_EXCEPT(&yc_IndexError) {
        which = 1;
    } YC_EXCEPT(&yc_MemoryError) {
        which = 2;
    } YC_END;
    return which;
}

TEST(alloc_fail_raise_in_plain_code)
{
    counter c;
    for (long n = 1; n < 100; n++) {
        use_counter(&c, n);
        int which = raise_in_except();
        restore_allocator();
        CHECK(which == 1 || (c.failed && which == 2));
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) break;
    }
}

static void raise_and_catch(yc_exc *e)
{
    YC_TRY {
        yc_raise(yc_exc_ref(e));
    } YC_EXCEPT_ANY {
    } YC_END;
}

TEST(alloc_fail_traceback_growth)
{
    /* re-raising grows the traceback array; a failed growth drops an entry */
    counter c;
    for (long n = 1; n < 100; n++) {
        yc_exc *e = yc_exc_new(&yc_ValueError, "tb");
        use_counter(&c, n);
        for (int i = 0; i < 10; i++) raise_and_catch(e);
        restore_allocator();
        size_t nt = 0;
        const yc_tb_entry *tb = yc_exc_traceback(e, &nt);
        if (c.failed) {
            CHECK(nt <= 10);
        } else {
            CHECK_EQ_INT(nt, 10);
        }
        for (size_t i = 0; i < nt; i++) {
            CHECK(tb[i].line > 0);
            /* documented as the generator name or "<main>"; NULL only
             * when copying it failed */
            if (tb[i].where || !c.failed) CHECK_STR(tb[i].where, "<main>");
        }
        yc_exc_unref(e);
        CHECK_EQ_INT(live_excs(), 0);
        if (!c.failed) break;
    }
}

TEST(alloc_fail_group_new)
{
    /* the members exist before; a failure takes and releases them all */
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(n, c)
    {
        rounds++;
        restore_allocator();
        yc_exc *excs[] = {yc_exc_new(&yc_ValueError, "v"), yc_exc_new(&yc_TypeError, "t")};
        use_counter(&c, n);
        yc_exc *g = yc_exc_group_new("a message", excs, 2);
        CHECK(g != NULL);
        CHECK(yc_exc_type_of(g) == (c.failed ? &yc_MemoryError : &yc_ExceptionGroup));
        CHECK_EQ_INT(live_excs(), c.failed ? 0 : 3);
        if (!c.failed) {
            char buf[128];
            yc_exc_format(g, buf, sizeof buf);
            CHECK_STR(buf, "ExceptionGroup: a message (2 sub-exceptions)");
        }
        yc_exc_unref(g);
    }
    CHECK_EQ_INT(rounds, 3); /* the block, the message, then success */
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(alloc_fail_group_split)
{
    yc_exc *n[] = {yc_exc_new(&yc_ValueError, "3"), yc_exc_new(&yc_OSError, "4")};
    yc_exc *excs[] = {yc_exc_new(&yc_ValueError, "1"), yc_exc_group_new("n", n, 2)};
    yc_exc *g = yc_exc_group_new("g", excs, 2);
    counter c;
    int rounds = 0;
    FOR_EACH_FAILURE(k, c)
    {
        rounds++;
        yc_exc *m = g, *r = g;
        int st = yc_exc_group_split(g, &yc_ValueError, &m, &r);
        if (c.failed) {
            CHECK_ST(st, YC_ENOMEM);
            CHECK(m == NULL && r == NULL);
            CHECK_EXC(&yc_MemoryError, NULL);
        } else {
            CHECK_ST(st, YC_OK);
            CHECK_EQ_INT(yc_exc_group_size(m), 2);
            CHECK_EQ_INT(yc_exc_group_size(r), 1);
            CHECK_EQ_INT(yc_exc_group_size(yc_exc_group_item(r, 0)), 1);
        }
        yc_exc_unref(m);
        yc_exc_unref(r);
        CHECK_EQ_INT(live_excs(), 5); /* g and its tree only */
        (void)k;
    }
    CHECK(rounds > 5);
    yc_exc_unref(g);
}

TEST(alloc_fail_misuse_error)
{
    /* the error of a failing call degrades to MemoryError */
    counter c;
    use_counter(&c, 1);
    int st = yc_next(NULL, NULL);
    restore_allocator();
    CHECK_ST(st, YC_EINVAL);
    CHECK_EXC(&yc_MemoryError, NULL);
}

TEST_MAIN()
