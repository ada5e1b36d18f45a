/* Exit stacks (contextlib.ExitStack): a variable number of managers,
 * exit functions and callbacks, run newest first; suppression, raising
 * exits and their context chains (CPython's _fix_exception_context, quirks
 * included), pop_all, close, reuse, misuse and allocation failure. The
 * numbered items of python-semantics.md 9.11 are also in
 * conformance/test_sec9_contextlib.c. */
#include "with_util.h"

static void cb_trace(void *arg) { tr("cb %s", (const char *)arg); }
static void cb_raise(void *arg) { yc_raise(yc_exc_new((const yc_exc_type *)arg, "cb")); }

static int fn_trace(void *ud, yc_exc *e)
{
    tr("fn %s %s", (const char *)ud, xs(e));
    return YC_EXIT_PROPAGATE;
}

static int fn_suppress(void *ud, yc_exc *e)
{
    tr("suppress %s %s", (const char *)ud, xs(e));
    return YC_EXIT_SUPPRESS;
}

/* Raises from an exit function. */
static int fn_raise(void *ud, yc_exc *e)
{
    (void)e;
    yc_raisef(&yc_TypeError, "fn %s", (const char *)ud);
}

/* Fails by status, without raising: the exception is taken as it is. */
static int fn_status_error(void *ud, yc_exc *e)
{
    (void)e;
    yc_err_set(yc_exc_new(&yc_TypeError, "status %s", (const char *)ud));
    return YC_RAISE;
}

/* Unwinds s with `body` pending (taken; NULL for none) as a with block over
 * s would; returns what escaped (new reference) or NULL, and *after. */
static yc_exc *unwind(yc_exitstack *s, yc_exc *body, bool *after)
{
    yc_exc *volatile out = NULL;
    volatile bool cont = false;
    YC_TRY {
        YC_WITH(yc_exitstack_cm(s), sv) {
            CHECK(sv.p == s);
            if (body) yc_raise(body);
        } YC_END_WITH;
        cont = true;
    } YC_EXCEPT_ANY {
        out = yc_exc_ref(yc_exc_current());
    } YC_END;
    if (after) *after = cont;
    return out;
}

TEST(exitstack_lifo_all_kinds)
{
    trace[0] = '\0';
    log_cm a, b;
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_trace, "1"), YC_OK);
    yc_val v;
    CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), &v), YC_OK);
    CHECK_INTV(v, 0);
    CHECK_ST(yc_exitstack_push(s, fn_trace, "3"), YC_OK);
    CHECK_ST(yc_exitstack_enter(s, log_init(&b, "B"), NULL), YC_OK);
    CHECK_EQ_INT(yc_exitstack_size(s), 4);
    tr("body");
    CHECK(unwind(s, NULL, NULL) == NULL);
    CHECK_STR(trace, "enter A,enter B,body,exit B None,free B,fn 3 None,exit A None,free A,cb 1");
}

TEST(exitstack_exception_passes_through_all)
{
    trace[0] = '\0';
    log_cm a;
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_trace, "1"), YC_OK);
    CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), NULL), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_trace, "3"), YC_OK);
    yc_exc *body = yc_exc_new(&yc_ValueError, "body");
    yc_exc *e = unwind(s, yc_exc_ref(body), NULL);
    CHECK(e == body);
    CHECK(a.seen == body);
    CHECK(a.current_was_seen); /* the with block's handled exception */
    CHECK_STR(trace, "enter A,fn 3 ValueError: body,exit A ValueError: body,free A,cb 1");
    yc_exc_unref(e);
    yc_exc_unref(body);
}

/* A variable number of managers: entering N files. */
TEST(exitstack_variable_number_of_files)
{
    enum { N = 20 };
    char paths[N][64];
    int fds[N];
    for (int i = 0; i < N; i++) temp_file(paths[i], sizeof paths[i], "data");
    trace[0] = '\0';
    YC_WITH(yc_exitstack_cm(yc_exitstack_new()), sv) {
        yc_exitstack *s = sv.p;
        for (int i = 0; i < N; i++) {
            yc_val f;
            YC_CHECK(yc_exitstack_enter(s, yc_cm_fopen(paths[i], "r"), &f));
            fds[i] = fileno((FILE *)f.p);
        }
        CHECK_EQ_INT(yc_exitstack_size(s), N);
        for (int i = 0; i < N; i++) CHECK(fd_is_open(fds[i]));
    } YC_END_WITH;
    for (int i = 0; i < N; i++) {
        CHECK(!fd_is_open(fds[i]));
        unlink(paths[i]);
    }
}

/* Entering fails halfway: what was entered is unwound, the failing one is
 * not pushed. */
TEST(exitstack_enter_failure_unwinds_the_others)
{
    char path[64];
    temp_file(path, sizeof path, "x");
    volatile int fd = -1;
    trace[0] = '\0';
    YC_TRY {
        YC_WITH(yc_exitstack_cm(yc_exitstack_new()), sv) {
            yc_val f;
            YC_CHECK(yc_exitstack_enter(sv.p, yc_cm_fopen(path, "r"), &f));
            fd = fileno((FILE *)f.p);
            YC_CHECK(yc_exitstack_enter(sv.p, yc_cm_fopen("/nonexistent/yc", "r"), &f));
            tr("not reached");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_FileNotFoundError) {
        tr("caught");
    } YC_END;
    CHECK_STR(trace, "caught");
    CHECK(fd >= 0 && !fd_is_open(fd));
    unlink(path);
}

TEST(exitstack_raising_callbacks_chain)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_ValueError), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_raise, "2"), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_KeyError), YC_OK);
    yc_exc *e = unwind(s, yc_exc_new(&yc_IndexError, "body"), NULL);
    CHECK_STR(ctx_chain(e), "ValueError: cb -> TypeError: fn 2 -> KeyError: 'cb' -> IndexError: body");
    yc_exc_unref(e);
}

/* An exception an exit reports by status is taken as it is: a chain that
 * ends at nothing is left alone (_fix_exception_context), so the next
 * raising exit links back to it and no further. */
TEST(exitstack_status_error_taken_as_is)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_ValueError), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_status_error, "2"), YC_OK);
    yc_exc *e = unwind(s, yc_exc_new(&yc_IndexError, "body"), NULL);
    CHECK_STR(ctx_chain(e), "ValueError: cb -> TypeError: status 2");
    yc_exc_unref(e);
}

/* A suppressing exit clears what is pending; exits after it see nothing. */
TEST(exitstack_suppress_then_more_exits)
{
    trace[0] = '\0';
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push(s, fn_trace, "1"), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "2"), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_trace, "3"), YC_OK);
    bool after = false;
    CHECK(unwind(s, yc_exc_new(&yc_KeyError, "k"), &after) == NULL);
    CHECK(after);
    CHECK_STR(trace, "fn 3 KeyError: 'k',suppress 2 KeyError: 'k',fn 1 None");
}

/* Suppressed, then a later exit raises: the new exception propagates with
 * no context (nothing was pending when it was raised; CPython cuts the link
 * to the body's exception, which was being handled). */
TEST(exitstack_suppress_then_raise)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_TypeError), YC_OK);
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "2"), YC_OK);
    trace[0] = '\0';
    yc_exc *e = unwind(s, yc_exc_new(&yc_KeyError, "k"), NULL);
    CHECK_STR(ctx_chain(e), "TypeError: cb");
    yc_exc_unref(e);
}

/* Raised, then suppressed by an earlier exit: everything is suppressed. */
TEST(exitstack_raise_then_suppress)
{
    trace[0] = '\0';
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "1"), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_TypeError), YC_OK);
    bool after = false;
    CHECK(unwind(s, yc_exc_new(&yc_KeyError, "k"), &after) == NULL);
    CHECK(after);
    CHECK_STR(trace, "suppress 1 TypeError: cb");
    /* without a body exception: suppressing an exit's exception */
    trace[0] = '\0';
    s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "1"), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_TypeError), YC_OK);
    CHECK(unwind(s, NULL, &after) == NULL);
    CHECK(after);
    CHECK_STR(trace, "suppress 1 TypeError: cb");
}

/* CPython's quirk, kept: with nothing pending at the start (and nothing
 * being handled), an exit raising after another one raised gets no
 * context: the chain only links back to what the unwinding began with. */
TEST(exitstack_two_raising_callbacks_without_body_exception)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_ValueError), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_KeyError), YC_OK);
    yc_exc *e = unwind(s, NULL, NULL);
    CHECK_STR(ctx_chain(e), "ValueError: cb");
    yc_exc_unref(e);
}

/* Inside an except block, a plain with whose exit raises: the exception is
 * chained to the handled one (compare the next test). */
TEST(with_inside_except_block_exit_raises)
{
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_TypeError, "outer");
    } YC_EXCEPT(&yc_TypeError) {
        log_cm a;
        yc_cm *cm = log_init(&a, "A");
        a.exit_fail = &yc_ValueError;
        YC_TRY {
            YC_WITH(cm, v) { (void)v; } YC_END_WITH;
        } YC_EXCEPT_ANY {
            tr("with: %s", ctx_chain(yc_exc_current()));
        } YC_END;
    } YC_END;
    CHECK_STR(trace, "enter A,exit A None,free A,with: ValueError: exit A -> TypeError: outer");
}

/* The same with an exit stack and nothing raised in the body: CPython gives
 * the callback's exception no context (_fix_exception_context cuts the
 * link to the handled exception, since nothing was pending). */
TEST(exitstack_inside_except_block)
{
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_TypeError, "outer");
    } YC_EXCEPT(&yc_TypeError) {
        yc_exitstack *s = yc_exitstack_new();
        CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_ValueError), YC_OK);
        yc_exc *e = unwind(s, NULL, NULL);
        tr("%s", ctx_chain(e));
        yc_exc_unref(e);
        /* with a body exception, the chain ends at it */
        s = yc_exitstack_new();
        CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_ValueError), YC_OK);
        e = unwind(s, yc_exc_new(&yc_KeyError, "body"), NULL);
        tr("%s", ctx_chain(e));
        yc_exc_unref(e);
    } YC_END;
    CHECK_STR(trace, "ValueError: cb,ValueError: cb -> KeyError: 'body' -> TypeError: outer");
}

TEST(exitstack_pop_all)
{
    trace[0] = '\0';
    log_cm a;
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), NULL), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_trace, "2"), YC_OK);
    yc_exitstack *t = yc_exitstack_pop_all(s);
    CHECK(t != NULL && t != s);
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    CHECK_EQ_INT(yc_exitstack_size(t), 2);
    yc_exc *e = unwind(s, yc_exc_new(&yc_KeyError, "k"), NULL); /* nothing runs */
    CHECK_XS(e, "KeyError: 'k'");
    yc_exc_unref(e);
    CHECK_STR(trace, "enter A");
    /* the moved exits keep their order, and can be pushed onto again */
    CHECK_ST(yc_exitstack_callback(t, cb_trace, "3"), YC_OK);
    CHECK_ST(yc_exitstack_close(t), YC_OK);
    CHECK_STR(trace, "enter A,cb 3,cb 2,exit A None,free A");
    /* empty and reusable */
    CHECK_ST(yc_exitstack_callback(t, cb_trace, "4"), YC_OK);
    CHECK_ST(yc_exitstack_close(t), YC_OK);
    CHECK_STR(trace, "enter A,cb 3,cb 2,exit A None,free A,cb 4");
    yc_exitstack_free(t);
}

TEST(exitstack_close_reports_the_last_exception)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(s, cb_raise, (void *)&yc_KeyError), YC_OK);
    CHECK_ST(yc_exitstack_close(s), YC_RAISE);
    CHECK_EXC(&yc_KeyError, "KeyError: 'cb'");
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    CHECK_ST(yc_exitstack_close(s), YC_OK);
    yc_exitstack_free(s);
}

TEST(exitstack_exit_direct)
{
    yc_exitstack *s = yc_exitstack_new();
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "1"), YC_OK);
    trace[0] = '\0';
    CHECK_ST(yc_exitstack_exit(s, e), YC_EXIT_SUPPRESS);
    CHECK_ST(yc_exitstack_push(s, fn_suppress, "1"), YC_OK);
    CHECK_ST(yc_exitstack_exit(s, NULL), YC_EXIT_PROPAGATE); /* nothing received */
    CHECK_ST(yc_exitstack_push(s, fn_trace, "1"), YC_OK);
    CHECK_ST(yc_exitstack_exit(s, e), YC_EXIT_PROPAGATE);
    CHECK_STR(trace, "suppress 1 KeyError: 'k',suppress 1 None,fn 1 KeyError: 'k'");
    yc_exc_unref(e);
    yc_exitstack_free(s);
}

/* A callback pushed while unwinding runs too (the stack is popped one at
 * a time). */
static yc_exitstack *pushing_stack;
static void cb_pushes(void *arg)
{
    tr("cb %s", (const char *)arg);
    CHECK_ST(yc_exitstack_callback(pushing_stack, cb_trace, "late"), YC_OK);
}

TEST(exitstack_push_while_unwinding)
{
    trace[0] = '\0';
    pushing_stack = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(pushing_stack, cb_trace, "1"), YC_OK);
    CHECK_ST(yc_exitstack_callback(pushing_stack, cb_pushes, "2"), YC_OK);
    CHECK_ST(yc_exitstack_close(pushing_stack), YC_OK);
    CHECK_STR(trace, "cb 2,cb late,cb 1");
    yc_exitstack_free(pushing_stack);
}

/* push_cm: the exit of a manager entered elsewhere. */
TEST(exitstack_push_cm)
{
    trace[0] = '\0';
    log_cm a;
    yc_cm *cm = log_init(&a, "A");
    CHECK_ST(yc_cm_enter(cm, NULL), YC_OK);
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push_cm(s, cm), YC_OK);
    CHECK_ST(yc_exitstack_close(s), YC_OK);
    CHECK_STR(trace, "enter A,exit A None,free A");
    CHECK_EQ_INT(a.entered, 1);
    yc_exitstack_free(s);
}

/* A manager in the stack that suppresses, and a generator-based one. */
static yc_val gen_resource(void *arg)
{
    YC_TRY {
        yc_yield(yc_str(arg));
    } YC_EXCEPT(&yc_KeyError) {
        tr("gen %s caught %s", (const char *)arg, xs(yc_exc_current()));
    } YC_FINALLY {
        tr("gen %s done", (const char *)arg);
    } YC_END;
    return YC_NONE;
}

TEST(exitstack_generator_managers)
{
    trace[0] = '\0';
    yc_exitstack *s = yc_exitstack_new();
    yc_val v;
    CHECK_ST(yc_exitstack_enter(s, yc_cm_gen_new(gen_resource, "g1", NULL), &v), YC_OK);
    CHECK_EQ_INT(yc_len(v), 2);
    CHECK_ST(yc_exitstack_enter(s, yc_cm_gen_new(gen_resource, "g2", NULL), &v), YC_OK);
    bool after = false;
    CHECK(unwind(s, yc_exc_new(&yc_KeyError, "k"), &after) == NULL);
    CHECK(after);
    CHECK_STR(trace, "gen g2 caught KeyError: 'k',gen g2 done,gen g1 done");
}

/* Exit stacks nest: an inner stack is a manager of the outer. */
TEST(exitstack_nested_stacks)
{
    trace[0] = '\0';
    yc_exitstack *outer = yc_exitstack_new();
    yc_exitstack *inner = yc_exitstack_new();
    CHECK_ST(yc_exitstack_callback(outer, cb_raise, (void *)&yc_ValueError), YC_OK);
    CHECK_ST(yc_exitstack_callback(inner, cb_raise, (void *)&yc_KeyError), YC_OK);
    CHECK_ST(yc_exitstack_callback(inner, cb_trace, "i"), YC_OK);
    yc_val v;
    CHECK_ST(yc_exitstack_enter(outer, yc_exitstack_cm(inner), &v), YC_OK);
    CHECK(v.p == inner);
    yc_exc *e = unwind(outer, yc_exc_new(&yc_IndexError, "body"), NULL);
    CHECK_STR(trace, "cb i");
    CHECK_STR(ctx_chain(e), "ValueError: cb -> KeyError: 'cb' -> IndexError: body");
    yc_exc_unref(e);
}

TEST(exitstack_free_with_entries_runs_no_exit)
{
    trace[0] = '\0';
    log_cm a;
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), NULL), YC_OK);
    CHECK_ST(yc_exitstack_callback(s, cb_trace, "x"), YC_OK);
    yc_exitstack_free(s);
    CHECK_STR(trace, "enter A,free A");
    yc_exitstack_free(NULL);
}

TEST(exitstack_misuse)
{
    log_cm a;
    CHECK_ST(yc_exitstack_enter(NULL, log_init(&a, "A"), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK_EQ_INT(a.freed, 1); /* taken, even on failure */
    CHECK_EQ_INT(a.entered, 0);
    CHECK_ST(yc_exitstack_push(NULL, fn_trace, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK_ST(yc_exitstack_callback(NULL, cb_trace, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK_ST(yc_exitstack_close(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK(yc_exitstack_pop_all(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK(yc_exitstack_cm(NULL) == NULL);
    CHECK_EQ_INT(yc_exitstack_size(NULL), 0);
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push(s, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit function is NULL");
    CHECK_ST(yc_exitstack_callback(s, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: callback is NULL");
    CHECK_ST(yc_exitstack_enter(s, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object does not support the context manager protocol");
    /* a failed constructor: its error comes through */
    CHECK(yc_exitstack_enter(s, yc_cm_fopen(NULL, NULL), NULL) < 0);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_fopen: path is NULL");
    static const yc_cm_type noenter = {
        .name = "noenter", .enter = NULL, .exit = log_exit, .free = log_free};
    log_init(&a, "A");
    a.cm.type = &noenter;
    CHECK_ST(yc_exitstack_push_cm(s, &a.cm), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'noenter' object does not support the context manager protocol");
    CHECK_EQ_INT(a.freed, 1);
    /* an enter that fails: not pushed, freed */
    yc_cm *cm = log_init(&a, "A");
    a.enter_fail = &yc_OSError;
    CHECK_ST(yc_exitstack_enter(s, cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_OSError, "OSError: enter A");
    CHECK_EQ_INT(a.freed, 1);
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    int junk[16] = {0};
    CHECK_ST(yc_exitstack_exit(s, (yc_exc *)junk), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_exitstack_exit: not an exception");
    yc_exitstack_free(s);
}

/* ---- allocation failure --------------------------------------------- */

static long alloc_budget;

static void *budget_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    if (alloc_budget-- <= 0) return NULL;
    return realloc(p, n);
}

TEST(exitstack_out_of_memory)
{
    log_cm a;
    alloc_budget = 0;
    yc_set_allocator(budget_alloc, NULL);
    CHECK(yc_exitstack_new() == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    alloc_budget = 1; /* the stack, not its array */
    yc_exitstack *s = yc_exitstack_new();
    CHECK(s != NULL);
    trace[0] = '\0';
    CHECK_ST(yc_exitstack_enter(s, log_init(&a, "A"), NULL), YC_ENOMEM);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK_STR(trace, "free A"); /* not entered, released */
    CHECK_ST(yc_exitstack_callback(s, cb_trace, NULL), YC_ENOMEM);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK_ST(yc_exitstack_push(s, fn_trace, NULL), YC_ENOMEM);
    CHECK_EXC(&yc_MemoryError, NULL);
    alloc_budget = 1; /* the array */
    CHECK_ST(yc_exitstack_callback(s, cb_trace, "1"), YC_OK);
    alloc_budget = 0;
    CHECK(yc_exitstack_pop_all(s) == NULL); /* nothing moved */
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK_EQ_INT(yc_exitstack_size(s), 1);
    yc_set_allocator(NULL, NULL);
    trace[0] = '\0';
    CHECK_ST(yc_exitstack_close(s), YC_OK);
    CHECK_STR(trace, "cb 1");
    yc_exitstack_free(s);
}

TEST_MAIN()
