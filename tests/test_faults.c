/* Fault-injection sweep (issue 3) over the generator core, context
 * managers and pipelines: fault_sweep.h says what is checked. */
#include "fault_sweep.h"
/* ======================================================================
 * Exceptions
 * ==================================================================== */

static int op_exc_new(void)
{
    return got_exc(yc_exc_new(&yc_ValueError, "msg %d", 5));
}

static int op_exc_new_value(void)
{
    yc_exc *e = yc_exc_new_value(&yc_StopIteration, yc_bytes("abc", 3));
    if (yc_exc_is(e, &yc_StopIteration)) fp_val(yc_exc_value(e));
    return got_exc(e);
}

static int op_exc_new_errno(void)
{
    yc_exc *e = yc_exc_new_errno(&yc_OSError, ENOENT, "file %s", "x");
    if (yc_exc_is(e, &yc_OSError)) fp_add("errno=%d", yc_exc_errno(e));
    return got_exc(e);
}

static int op_raise_caught(void)
{
    yc_exc *volatile caught = NULL;
    YC_TRY {
        yc_raisef(&yc_ValueError, "boom %d", 1);
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    return got_exc(caught);
}

static int op_raise_in_except(void)
{
    yc_exc *volatile caught = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "first");
        } YC_EXCEPT(&yc_Exception) {
            yc_raisef(&yc_IndexError, "second");
        } YC_END;
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    yc_exc *e = caught;
    /* a context that was not allocated is no MemoryError of the operation
     * itself: it is part of the fingerprint when present */
    if (yc_exc_is(e, &yc_IndexError)) {
        yc_exc *ctx = yc_exc_context(e);
        if (ctx && yc_exc_is(ctx, &yc_MemoryError)) {
            yc_exc_unref(e);
            yc_err_set(yc_exc_ref(ctx));
            return failed();
        }
        if (ctx) fp_exc(ctx);
    }
    return got_exc(e);
}

static int op_raise_from(void)
{
    yc_exc *volatile caught = NULL;
    YC_TRY {
        yc_raise_from(yc_exc_new(&yc_ValueError, "outer"), yc_exc_new(&yc_KeyError, "cause"));
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    yc_exc *e = caught;
    if (yc_exc_is(e, &yc_ValueError)) {
        yc_exc *cause = yc_exc_cause(e);
        if (cause && yc_exc_is(cause, &yc_MemoryError)) {
            yc_exc_unref(e);
            yc_err_set(yc_exc_ref(cause));
            return failed();
        }
        if (cause) fp_exc(cause);
        fp_add("suppress=%d", yc_exc_suppress_context(e));
    }
    return got_exc(e);
}

static int op_exc_print(void)
{
    yc_exc *volatile caught = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "first");
        } YC_EXCEPT(&yc_Exception) {
            yc_raisef(&yc_IndexError, "second");
        } YC_END;
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    FILE *f = fopen("/dev/null", "w");
    yc_exc_print(caught, f);
    fclose(f);
    yc_exc_unref(caught);
    return 0; /* only: no crash, no leak */
}

static int op_err_misuse(void)
{
    int st = yc_next(NULL, NULL);
    if (st != YC_EINVAL) fp_add("status %d", st);
    yc_exc *e = yc_err_take();
    if (!e) return failed();
    return got_exc(e);
}

static int op_iter_array(void)
{
    static const yc_val items[] = {{{.i = 1}, YC_T_INT}, {{.i = 2}, YC_T_INT}};
    yc_iter *it = yc_iter_array(items, 2);
    if (!it) return failed();
    yc_val v;
    while (yc_iter_next(it, &v) == YC_YIELD) fp_val(v);
    yc_iter_free(it);
    return 0;
}

static const fault_op exc_ops[] = {
    {"exc_new", op_exc_new, NULL},
    {"exc_new_value", op_exc_new_value, NULL},
    {"exc_new_errno", op_exc_new_errno, NULL},
    {"raise_caught", op_raise_caught, NULL},
    {"raise_in_except", op_raise_in_except, NULL},
    {"raise_from", op_raise_from, NULL},
    {"exc_print", op_exc_print, NULL},
    {"err_misuse", op_err_misuse, NULL},
    {"iter_array", op_iter_array, NULL},
};

TEST(faults_exceptions)
{
    sweep_all(exc_ops, sizeof exc_ops / sizeof exc_ops[0]);
}

/* ======================================================================
 * Exception groups
 * ==================================================================== */

YC_EXC_TYPE(FaultGroup, yc_ExceptionGroup);

/* The shape of e: its line, then a group's members in braces. */
static void fp_group(const yc_exc *e)
{
    if (!e) {
        fp_add("None ");
        return;
    }
    fp_exc(e);
    if (!yc_exc_is_group(e)) return;
    fp_add("{");
    for (size_t i = 0; i < yc_exc_group_size(e); i++) fp_group(yc_exc_group_item(e, i));
    fp_add("}");
}

/* The MemoryError in e's tree (one of its members could not be made), or
 * NULL. */
static yc_exc *nomem_in(yc_exc *e)
{
    if (yc_exc_is(e, &yc_MemoryError)) return e;
    for (size_t i = 0; i < yc_exc_group_size(e); i++) {
        yc_exc *m = nomem_in(yc_exc_group_item(e, i));
        if (m) return m;
    }
    return NULL;
}

/* The operation made g (a new reference; NULL: an error is pending). A
 * MemoryError anywhere in it is the operation's failure. */
static int got_group(yc_exc *g)
{
    if (!g) return failed();
    yc_exc *m = nomem_in(g);
    if (m) {
        yc_exc_ref(m);
        yc_exc_unref(g);
        return got_exc(m);
    }
    fp_group(g);
    yc_exc_unref(g);
    return 0;
}

static int op_group_new(void)
{
    yc_exc *inner[] = {yc_exc_new(&yc_OSError, "o"), yc_exc_new(&yc_KeyboardInterrupt, NULL)};
    yc_exc *outer[] = {yc_exc_new(&yc_ValueError, "v"), yc_exc_group_new("inner", inner, 2)};
    return got_group(yc_exc_group_new("outer, with a message", outer, 2));
}

static int op_group_new_type(void)
{
    yc_exc *excs[] = {yc_exc_new(&yc_ValueError, "v"), yc_exc_new(&yc_TypeError, "t")};
    return got_group(yc_exc_group_new_type(&FaultGroup, "typed", excs, 2));
}

static int op_group_misuse(void)
{
    yc_exc *excs[] = {yc_exc_new(&yc_ValueError, "v"), yc_exc_new(&yc_KeyboardInterrupt, NULL)};
    yc_exc *g = yc_exc_group_new_type(&yc_ExceptionGroup, "m", excs, 2);
    if (g) return got_group(g);
    yc_exc *e = yc_err_take();
    return e ? got_exc(e) : failed();
}

/* Raises ExceptionGroup("g", [ValueError, TypeError,
 * ExceptionGroup("n", [ValueError, OSError])]) from a cause while handling
 * a KeyError, and re-raises it twice: a traceback longer than the inline
 * entries, with the generator's long name copied. */
static yc_val g_raise_group(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "handled");
    } YC_EXCEPT_ANY {
        YC_TRY {
            YC_TRY {
                yc_exc *n[] = {yc_exc_new(&yc_ValueError, "3"), yc_exc_new(&yc_OSError, "4")};
                yc_exc *g[] = {yc_exc_new(&yc_ValueError, "1"), yc_exc_new(&yc_TypeError, "2"),
                               yc_exc_group_new("n", n, 2)};
                yc_raise_from(yc_exc_group_new("g", g, 3), yc_exc_new(&yc_IndexError, "cause"));
            } YC_EXCEPT_ANY {
                yc_reraise();
            } YC_END;
        } YC_EXCEPT_ANY {
            yc_reraise();
        } YC_END;
    } YC_END;
    return YC_NONE;
}

/* The group g_raise_group raised (a new reference), or NULL after
 * failed() or got_exc() recorded the outcome in *r. */
static yc_exc *raised_group(int *r)
{
    yc_gen *gen = yc_gen_new(
        g_raise_group, NULL,
        &(yc_gen_opts){.name = "a generator with a name much longer than the inline slot"});
    if (!gen) {
        *r = failed();
        return NULL;
    }
    int st = yc_next(gen, NULL);
    yc_gen_free(gen);
    yc_exc *g = st == YC_RAISE ? yc_err_take() : NULL;
    if (!g) {
        fp_add("status %d", st);
        *r = 0;
        return NULL;
    }
    yc_exc *m = nomem_in(g);
    if (!m) m = nomem_in(yc_exc_cause(g));
    if (!m) m = nomem_in(yc_exc_context(g));
    if (m || !yc_exc_is_group(g)) {
        *r = got_exc(yc_exc_ref(m ? m : g));
        yc_exc_unref(g);
        return NULL;
    }
    return g;
}

/* part's metadata as split gives it: g's traceback, cause and context. */
static void fp_part(const yc_exc *g, const yc_exc *part)
{
    fp_group(part);
    size_t n1, n2;
    const yc_tb_entry *t1 = yc_exc_traceback(g, &n1), *t2 = yc_exc_traceback(part, &n2);
    bool same = n1 == n2;
    for (size_t i = 0; same && i < n1; i++)
        same = t1[i].line == t2[i].line &&
               (t1[i].where == t2[i].where || strcmp(t1[i].where, t2[i].where) == 0);
    fp_add("tb %s, cause %d, context %d, suppress %d; ", same ? "copied" : "differs",
           yc_exc_cause(part) == yc_exc_cause(g), yc_exc_context(part) == yc_exc_context(g),
           yc_exc_suppress_context(part));
}

static int op_group_split(void)
{
    int r = 0;
    yc_exc *g = raised_group(&r);
    if (!g) return r;
    yc_exc *match, *rest;
    if (yc_exc_group_split(g, &yc_ValueError, &match, &rest) < 0) {
        if (match || rest) test_fail(__FILE__, __LINE__, "a failed split left parts");
        r = failed();
    } else {
        fp_part(g, match);
        fp_part(g, rest);
        yc_exc_unref(match);
        yc_exc_unref(rest);
    }
    yc_exc_unref(g);
    return r;
}

static int op_group_subgroup(void)
{
    int r = 0;
    yc_exc *g = raised_group(&r);
    if (!g) return r;
    yc_exc *sub = yc_exc_group_subgroup(g, &yc_OSError);
    if (!sub) {
        r = failed();
    } else {
        fp_part(g, sub);
        yc_exc_unref(sub);
    }
    yc_exc_unref(g);
    return r;
}

/* More nodes, queued nodes and seen exceptions than the printer keeps
 * inline. */
static int op_group_print(void)
{
    yc_exc *wide[24], *sub[20];
    for (int i = 0; i < 20; i++) sub[i] = yc_exc_new(&yc_TypeError, "%d", i);
    for (int i = 1; i < 24; i++) wide[i] = yc_exc_new(&yc_ValueError, "%d", i);
    wide[0] = yc_exc_group_new("sub", sub, 20);
    yc_exc *g = yc_exc_group_new("wide", wide, 24);
    FILE *f = fopen("/dev/null", "w");
    yc_exc_print(g, f);
    fclose(f);
    yc_exc_unref(g);
    return 0; /* only: no crash, no leak */
}

static const fault_op group_ops[] = {
    {"group_new", op_group_new, NULL},
    {"group_new_type", op_group_new_type, NULL},
    {"group_misuse", op_group_misuse, NULL},
    {"group_split", op_group_split, NULL},
    {"group_subgroup", op_group_subgroup, NULL},
    {"group_print", op_group_print, NULL},
};

TEST(faults_exception_groups)
{
    sweep_all(group_ops, sizeof group_ops / sizeof group_ops[0]);
}

/* ======================================================================
 * Generators
 * ==================================================================== */

static int finally_runs;

static yc_val g_raise_after_yield(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_raisef(&yc_ValueError, "boom %d", 1);
    return YC_NONE;
}

static int run_to_end(yc_gen *g)
{
    yc_val v;
    int st;
    while ((st = yc_next(g, &v)) == YC_YIELD) fp_val(v);
    if (st == YC_RETURN) {
        fp_add("return ");
        fp_val(v);
        return 0;
    }
    return st;
}

static int op_gen_raise(void)
{
    yc_gen *g = yc_gen_new(g_raise_after_yield, NULL, &(yc_gen_opts){.name = "gen_raise"});
    if (!g) return failed();
    int st = run_to_end(g);
    int r = 0;
    if (st < 0) r = got_exc(yc_err_take());
    yc_gen_free(g);
    return r;
}

static yc_val g_long_name(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_raisef(&yc_KeyError, "k");
    } YC_FINALLY {
        finally_runs++;
    } YC_END;
    return YC_NONE;
}

static int op_gen_long_name(void)
{
    yc_gen *g = yc_gen_new(
        g_long_name, NULL,
        &(yc_gen_opts){.name = "a generator with a name much longer than the inline slot"});
    if (!g) return failed();
    finally_runs = 0;
    int st = run_to_end(g);
    int r = 0;
    if (st < 0) r = got_exc(yc_err_take());
    fp_add("finally=%d", finally_runs);
    yc_gen_free(g);
    return r;
}

static yc_val g_catch_key(void *arg)
{
    (void)arg;
    volatile int64_t r = 0;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_KeyError) {
        r = 5;
    } YC_END;
    return yc_int(r);
}

static int op_gen_throw_caught(void)
{
    yc_gen *g = yc_gen_new(g_catch_key, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    yc_val v;
    int st = yc_next(g, &v);
    if (st != YC_YIELD) {
        r = failed();
    } else {
        st = yc_throw(g, yc_exc_new(&yc_KeyError, "thrown"), &v);
        if (st == YC_RETURN) fp_val(v);
        else if (st < 0) r = got_exc(yc_err_take());
        else fp_add("status %d", st);
    }
    yc_gen_free(g);
    return r;
}

static yc_val g_guarded(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_FINALLY {
        finally_runs++;
    } YC_END;
    return YC_NONE;
}

static int op_gen_throw_uncaught(void)
{
    finally_runs = 0;
    yc_gen *g = yc_gen_new(g_guarded, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    int st = yc_next(g, NULL);
    if (st != YC_YIELD) {
        r = failed();
    } else {
        st = yc_throw(g, yc_exc_new(&yc_ValueError, "thrown"), NULL);
        if (st < 0) r = got_exc(yc_err_take());
        else fp_add("status %d", st);
    }
    fp_add("finally=%d state=%s", finally_runs, yc_gen_state_name(yc_gen_state_of(g)));
    yc_gen_free(g);
    return r;
}

static int op_gen_throw_created(void)
{
    yc_gen *g = yc_gen_new(g_guarded, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    int st = yc_throw(g, yc_exc_new(&yc_ValueError, "thrown"), NULL);
    if (st < 0) r = got_exc(yc_err_take());
    else fp_add("status %d", st);
    fp_add("state=%s", yc_gen_state_name(yc_gen_state_of(g)));
    yc_gen_free(g);
    return r;
}

static int op_gen_close_in_try(void)
{
    finally_runs = 0;
    yc_gen *g = yc_gen_new(g_guarded, NULL, &(yc_gen_opts){.name = "closing"});
    if (!g) return failed();
    int r = 0;
    if (yc_next(g, NULL) != YC_YIELD) {
        r = failed();
    } else {
        yc_val v = yc_int(99);
        int st = yc_close(g, &v);
        if (st == YC_OK) fp_val(v);
        else if (st < 0) r = got_exc(yc_err_take());
        else fp_add("status %d", st);
        /* the finally block runs whatever happens to GeneratorExit */
        fp_add("finally=%d state=%s", finally_runs, yc_gen_state_name(yc_gen_state_of(g)));
    }
    yc_gen_free(g);
    return r;
}

static yc_val g_catch_exit(void *arg)
{
    (void)arg;
    volatile int64_t r = 0;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_GeneratorExit) {
        r = 7;
    } YC_END;
    return yc_int(r);
}

static int op_gen_close_returns(void)
{
    yc_gen *g = yc_gen_new(g_catch_exit, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    if (yc_next(g, NULL) != YC_YIELD) {
        r = failed();
    } else {
        yc_val v = yc_int(99);
        int st = yc_close(g, &v);
        if (st == YC_OK) fp_val(v);
        else if (st < 0) r = got_exc(yc_err_take());
        else fp_add("status %d", st);
    }
    yc_gen_free(g);
    return r;
}

static int op_gen_free_suspended(void)
{
    finally_runs = 0;
    yc_gen *g = yc_gen_new(g_guarded, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    if (yc_next(g, NULL) != YC_YIELD) r = failed();
    int st = yc_gen_free(g);
    if (st != YC_OK) fp_add("free status %d", st);
    if (yc_err_get()) fp_add("free left an error pending");
    fp_add("finally=%d", finally_runs);
    return r;
}

static yc_val g_inner_raise(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_raisef(&yc_ValueError, "deep");
    return YC_NONE;
}

static yc_val g_delegate(void *arg)
{
    return yc_yield_from(yc_gen_iter(arg));
}

static int op_gen_yield_from_raise(void)
{
    yc_gen *a = yc_gen_new(g_inner_raise, NULL, &(yc_gen_opts){.name = "a"});
    yc_gen *b = a ? yc_gen_new(g_delegate, a, &(yc_gen_opts){.name = "b"}) : NULL;
    yc_gen *c = b ? yc_gen_new(g_delegate, b, &(yc_gen_opts){.name = "c"}) : NULL;
    int r = 0;
    if (!c) {
        r = failed();
    } else {
        int st = run_to_end(c);
        if (st < 0) r = got_exc(yc_err_take());
    }
    yc_gen_free(c);
    yc_gen_free(b);
    yc_gen_free(a);
    return r;
}

static yc_val g_stop_iteration(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
    return YC_NONE;
}

static int op_gen_pep479(void)
{
    yc_gen *g = yc_gen_new(g_stop_iteration, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    int st = yc_next(g, NULL);
    if (st < 0) {
        yc_exc *e = yc_err_take();
        /* the cause, when there is one, is the StopIteration (or the
         * MemoryError that replaced it, which is then the real outcome) */
        if (yc_exc_is(e, &yc_RuntimeError) && yc_exc_cause(e)) {
            if (yc_exc_is(yc_exc_cause(e), &yc_MemoryError)) {
                yc_err_set(yc_exc_ref(yc_exc_cause(e)));
                yc_exc_unref(e);
                r = failed();
            } else {
                fp_exc(yc_exc_cause(e));
                r = got_exc(e);
            }
        } else {
            r = got_exc(e);
        }
    } else {
        fp_add("status %d", st);
    }
    yc_gen_free(g);
    return r;
}

/* throw delegated down a yield_from chain, caught at the bottom */
static int op_gen_yield_from_throw(void)
{
    yc_gen *a = yc_gen_new(g_catch_key, NULL, &(yc_gen_opts){.name = "a"});
    yc_gen *b = a ? yc_gen_new(g_delegate, a, &(yc_gen_opts){.name = "b"}) : NULL;
    yc_gen *c = b ? yc_gen_new(g_delegate, b, &(yc_gen_opts){.name = "c"}) : NULL;
    int r = 0;
    yc_val v;
    if (!c) {
        r = failed();
    } else if (yc_next(c, &v) != YC_YIELD) {
        r = failed();
    } else {
        int st = yc_throw(c, yc_exc_new(&yc_KeyError, "down"), &v);
        if (st == YC_RETURN) fp_val(v);
        else if (st < 0) r = got_exc(yc_err_take());
        else fp_add("status %d", st);
    }
    yc_gen_free(c);
    yc_gen_free(b);
    yc_gen_free(a);
    return r;
}

/* close delegated down a yield_from chain into a try/finally */
static int op_gen_yield_from_close(void)
{
    finally_runs = 0;
    yc_gen *a = yc_gen_new(g_guarded, NULL, &(yc_gen_opts){.name = "a"});
    yc_gen *b = a ? yc_gen_new(g_delegate, a, &(yc_gen_opts){.name = "b"}) : NULL;
    int r = 0;
    if (!b) {
        r = failed();
    } else if (yc_next(b, NULL) != YC_YIELD) {
        r = failed();
    } else {
        int st = yc_close(b, NULL);
        if (st < 0) r = got_exc(yc_err_take());
        fp_add("close=%d finally=%d", st, finally_runs);
    }
    yc_gen_free(b);
    yc_gen_free(a);
    return r;
}

static const fault_op gen_ops[] = {
    {"gen_raise", op_gen_raise, NULL},
    {"gen_long_name", op_gen_long_name, NULL},
    {"gen_throw_caught", op_gen_throw_caught, NULL},
    {"gen_throw_uncaught", op_gen_throw_uncaught, NULL},
    {"gen_throw_created", op_gen_throw_created, NULL},
    {"gen_close_in_try", op_gen_close_in_try, NULL},
    {"gen_close_returns", op_gen_close_returns, NULL},
    {"gen_free_suspended", op_gen_free_suspended, NULL},
    {"gen_yield_from_raise", op_gen_yield_from_raise, NULL},
    {"gen_pep479", op_gen_pep479, NULL},
    {"gen_yield_from_throw", op_gen_yield_from_throw, NULL},
    {"gen_yield_from_close", op_gen_yield_from_close, NULL},
};

TEST(faults_generators)
{
    /* warm the stack pool: stacks come from mmap, not the allocator */
    yc_gen_free(yc_gen_new(g_guarded, NULL, NULL));
    sweep_all(gen_ops, sizeof gen_ops / sizeof gen_ops[0]);
}

/* ======================================================================
 * Context managers
 * ==================================================================== */

static int cm_log_finally;

/* contextmanager: yields 42; catches KeyError (suppresses it) */
static yc_val cm_body(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(42));
    } YC_EXCEPT(&yc_KeyError) {
    } YC_FINALLY {
        cm_log_finally++;
    } YC_END;
    return YC_NONE;
}

/* enter, exit(e) (e taken; NULL: none), free; fingerprint: bound value and
 * exit's answer */
static int use_cm(yc_cm *cm, yc_exc *e)
{
    if (!cm) {
        yc_exc_unref(e);
        return failed();
    }
    yc_val v;
    int st = yc_cm_enter(cm, &v);
    if (st < 0) {
        yc_exc_unref(e);
        int r = failed();
        yc_cm_free(cm);
        /* a documented enter error is the result */
        if (g_err && !yc_exc_is(g_err, &yc_MemoryError)) {
            fp_exc(g_err);
            yc_exc_unref(g_err);
            g_err = NULL;
            return 0;
        }
        return r;
    }
    if (yc_type_of(v) == YC_T_PTR) fp_add("ptr ");
    else fp_val(v);
    if (e && yc_exc_is(e, &yc_MemoryError)) {
        /* the exception to exit with could not be made: the run is
         * invalid; still exit cleanly */
        st = yc_cm_exit(cm, NULL);
        yc_cm_free(cm);
        yc_err_set(e);
        return failed();
    }
    st = yc_cm_exit(cm, e);
    yc_exc_unref(e);
    int r = 0;
    if (st < 0) r = failed();
    else fp_add("exit=%d", st);
    yc_cm_free(cm);
    return r;
}

static int op_cm_gen_new(void)
{
    cm_log_finally = 0;
    int r = use_cm(yc_cm_gen_new(cm_body, NULL, NULL), NULL);
    fp_add(" finally=%d", cm_log_finally);
    return r;
}

static int op_cm_gen_new_exc(void)
{
    cm_log_finally = 0;
    int r = use_cm(yc_cm_gen_new(cm_body, NULL, NULL), yc_exc_new(&yc_KeyError, "k"));
    fp_add(" finally=%d", cm_log_finally);
    return r;
}

static int op_cm_gen(void)
{
    yc_gen *g = yc_gen_new(cm_body, NULL, NULL);
    if (!g) return failed();
    return use_cm(yc_cm_gen(g), NULL);
}

static int op_cm_iter(void)
{
    static const yc_val items[] = {{{.i = 3}, YC_T_INT}};
    yc_iter *it = yc_iter_array(items, 1);
    if (!it) return failed();
    return use_cm(yc_cm_iter(it), NULL);
}

static int op_cm_closing(void)
{
    yc_iter *it = yc_iter_range(0, 3, 1);
    if (!it) return failed();
    return use_cm(yc_cm_closing(it), NULL);
}

static int op_cm_fopen(void)
{
    return use_cm(yc_cm_fopen("/dev/null", "r"), NULL);
}

static int op_cm_fopen_missing(void)
{
    return use_cm(yc_cm_fopen("/nonexistent/yieldc-faults", "r"), NULL);
}

static int op_cm_file(void)
{
    FILE *f = fopen("/dev/null", "r");
    return use_cm(yc_cm_file(f), NULL);
}

static int op_cm_open(void)
{
    return use_cm(yc_cm_open("/dev/null", O_RDONLY, 0), NULL);
}

static int op_cm_fd(void)
{
    return use_cm(yc_cm_fd(open("/dev/null", O_RDONLY)), NULL);
}

static pthread_mutex_t fault_mutex = PTHREAD_MUTEX_INITIALIZER;

static int op_cm_mutex(void)
{
    int r = use_cm(yc_cm_mutex(&fault_mutex), NULL);
    if (pthread_mutex_trylock(&fault_mutex) == 0) pthread_mutex_unlock(&fault_mutex);
    else fp_add(" still locked");
    return r;
}

static int op_cm_suppress(void)
{
    return use_cm(yc_cm_suppress(&yc_KeyError, &yc_IndexError), yc_exc_new(&yc_KeyError, "k"));
}

static int op_cm_suppress_other(void)
{
    return use_cm(yc_cm_suppress(&yc_KeyError), yc_exc_new(&yc_ValueError, "v"));
}

/* YC_WITH over a generator manager in plain code; the body raises
 * KeyError, which the manager suppresses */
static int with_body_raises(const yc_exc_type *t)
{
    volatile int after = 0;
    yc_exc *volatile caught = NULL;
    cm_log_finally = 0;
    YC_TRY {
        YC_WITH(yc_cm_gen_new(cm_body, NULL, NULL), v) {
            fp_val(v);
            yc_raisef(t, "in body");
        } YC_END_WITH;
        after = 1;
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    fp_add("after=%d finally=%d", after, cm_log_finally);
    if (caught) return got_exc(caught);
    return 0;
}

static int op_with_gen_suppress(void) { return with_body_raises(&yc_KeyError); }
static int op_with_gen_propagate(void) { return with_body_raises(&yc_ValueError); }

/* YC_WITH inside a generator suspended in its body, then closed */
static yc_val g_with_inside(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_gen_new(cm_body, NULL, NULL), v) {
        yc_yield(v);
        yc_yield(yc_int(43));
    } YC_END_WITH;
    return YC_NONE;
}

static int op_with_in_generator(void)
{
    cm_log_finally = 0;
    yc_gen *g = yc_gen_new(g_with_inside, NULL, NULL);
    if (!g) return failed();
    int r = 0;
    yc_val v;
    int st = yc_next(g, &v);
    if (st < 0) {
        r = got_exc(yc_err_take());
    } else {
        fp_val(v);
        st = yc_close(g, NULL);
        if (st < 0) r = got_exc(yc_err_take());
        fp_add("finally=%d", cm_log_finally);
    }
    yc_gen_free(g);
    return r;
}

static int es_log[8];
static int es_n;

static int es_exit_fn(void *ud, yc_exc *e)
{
    (void)e;
    if (es_n < 8) es_log[es_n++] = (int)(intptr_t)ud;
    return YC_EXIT_PROPAGATE;
}

static void es_callback(void *arg)
{
    if (es_n < 8) es_log[es_n++] = (int)(intptr_t)arg;
}

static int op_exitstack(void)
{
    es_n = 0;
    cm_log_finally = 0;
    yc_exitstack *s = yc_exitstack_new();
    if (!s) return failed();
    yc_exitstack *s2 = NULL;
    int r = 0;
    yc_val v;
    if (yc_exitstack_enter(s, yc_cm_suppress(&yc_KeyError), NULL) < 0 ||
        yc_exitstack_push(s, es_exit_fn, (void *)(intptr_t)1) < 0 ||
        yc_exitstack_callback(s, es_callback, (void *)(intptr_t)2) < 0 ||
        yc_exitstack_enter(s, yc_cm_gen_new(cm_body, NULL, NULL), &v) < 0) {
        r = failed();
        yc_exitstack_free(s);
        return r;
    }
    fp_val(v);
    yc_cm *inner = yc_cm_suppress(&yc_IndexError);
    if (!inner) {
        r = failed();
        yc_exitstack_free(s);
        return r;
    }
    /* push an already entered manager */
    if (yc_cm_enter(inner, NULL) < 0 || yc_exitstack_push_cm(s, inner) < 0) {
        r = failed();
        yc_exitstack_free(s);
        return r;
    }
    s2 = yc_exitstack_pop_all(s);
    if (!s2) {
        r = failed();
        yc_exitstack_free(s);
        return r;
    }
    fp_add("sizes=%zu,%zu ", yc_exitstack_size(s), yc_exitstack_size(s2));
    yc_exc *e = yc_exc_new(&yc_KeyError, "unwind");
    if (yc_exc_is(e, &yc_MemoryError)) {
        yc_err_set(e);
        r = failed();
    } else {
        int st = yc_exitstack_exit(s2, e);
        yc_exc_unref(e);
        if (st < 0) r = failed();
        else fp_add("exit=%d ", st);
    }
    for (int i = 0; i < es_n; i++) fp_add("%d", es_log[i]);
    fp_add(" finally=%d", cm_log_finally);
    yc_exitstack_free(s2);
    yc_exitstack_free(s);
    return r;
}

static int op_exitstack_with(void)
{
    es_n = 0;
    volatile int after = 0;
    yc_exc *volatile caught = NULL;
    yc_exitstack *s = yc_exitstack_new();
    if (!s) return failed();
    YC_TRY {
        YC_WITH(yc_exitstack_cm(s), sv) {
            yc_exitstack *st = sv.p;
            YC_CHECK(yc_exitstack_enter(st, yc_cm_suppress(&yc_KeyError), NULL));
            YC_CHECK(yc_exitstack_callback(st, es_callback, (void *)(intptr_t)3));
            yc_raisef(&yc_KeyError, "body");
        } YC_END_WITH;
        after = 1;
    } YC_EXCEPT_ANY {
        caught = yc_exc_ref(yc_exc_current());
    } YC_END;
    fp_add("after=%d log=%d", after, es_n);
    if (caught) return got_exc(caught);
    return 0;
}

static yc_val cm_no_yield(void *arg)
{
    (void)arg;
    return YC_NONE;
}

static yc_val cm_two_yields(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    return YC_NONE;
}

/* contextlib's RuntimeErrors ("generator didn't yield" / "didn't stop")
 * are the documented results */
static int op_cm_didnt_yield(void) { return use_cm(yc_cm_gen_new(cm_no_yield, NULL, NULL), NULL); }

static int op_cm_didnt_stop(void)
{
    yc_cm *cm = yc_cm_gen_new(cm_two_yields, NULL, NULL);
    if (!cm) return failed();
    yc_val v;
    int r = 0;
    if (yc_cm_enter(cm, &v) < 0) {
        r = failed();
    } else {
        fp_val(v);
        int st = yc_cm_exit(cm, NULL);
        if (st < 0) r = got_exc(yc_err_take());
        else fp_add("exit=%d", st);
    }
    yc_cm_free(cm);
    return r;
}

static const fault_op cm_ops[] = {
    {"cm_gen_new", op_cm_gen_new, NULL},
    {"cm_gen_new_exc", op_cm_gen_new_exc, NULL},
    {"cm_gen", op_cm_gen, NULL},
    {"cm_iter", op_cm_iter, NULL},
    {"cm_closing", op_cm_closing, NULL},
    {"cm_fopen", op_cm_fopen, NULL},
    {"cm_fopen_missing", op_cm_fopen_missing, NULL},
    {"cm_file", op_cm_file, NULL},
    {"cm_open", op_cm_open, NULL},
    {"cm_fd", op_cm_fd, NULL},
    {"cm_mutex", op_cm_mutex, NULL},
    {"cm_suppress", op_cm_suppress, NULL},
    {"cm_suppress_other", op_cm_suppress_other, NULL},
    {"with_gen_suppress", op_with_gen_suppress, NULL},
    {"with_gen_propagate", op_with_gen_propagate, NULL},
    {"with_in_generator", op_with_in_generator, NULL},
    {"exitstack", op_exitstack, NULL},
    {"exitstack_with", op_exitstack_with, NULL},
    {"cm_didnt_yield", op_cm_didnt_yield, NULL},
    {"cm_didnt_stop", op_cm_didnt_stop, NULL},
};

TEST(faults_context_managers)
{
    yc_gen_free(yc_gen_new(g_guarded, NULL, NULL));
    sweep_all(cm_ops, sizeof cm_ops / sizeof cm_ops[0]);
}

/* ======================================================================
 * Pipelines
 * ==================================================================== */

static char data_path[64];

static yc_val f_dbl(void *ctx, yc_val x) { (void)ctx; return yc_int(x.i * 2); }
static yc_val f_half(void *ctx, yc_val x) { (void)ctx; return yc_int(x.i / 2); }
static bool f_even(void *ctx, yc_val x) { (void)ctx; return x.i % 2 == 0; }
static bool f_lt3(void *ctx, yc_val x) { (void)ctx; return x.i < 3; }
static bool f_odd(void *ctx, yc_val x) { (void)ctx; return x.i % 2 != 0; }
static yc_val f_add(void *ctx, yc_val a, yc_val b) { (void)ctx; return yc_int(a.i + b.i); }
static void f_inc_batch(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) xs[i].i += 1;
}
static size_t f_odd_batch(void *ctx, yc_val *xs, size_t n)
{
    (void)ctx;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (xs[i].i % 2) xs[k++] = xs[i];
    return k;
}
static yc_iter *f_range_to(void *ctx, yc_val x) { (void)ctx; return yc_iter_range(0, x.i, 1); }

static yc_val st_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    yc_val v;
    while (yc_stage_pull(s, &v)) yc_stage_emit(s, yc_int(v.i + 100));
    return YC_NONE;
}

static yc_val src_body(yc_stage *s, void *ctx)
{
    (void)ctx;
    for (int i = 1; i <= 3; i++) yc_stage_emit(s, yc_int(i));
    return YC_NONE;
}

static yc_val gen_src(void *arg)
{
    (void)arg;
    YC_TRY {
        for (int i = 0; i < 4; i++) yc_yield(yc_int(i));
    } YC_FINALLY {
        finally_runs++;
    } YC_END;
    return YC_NONE;
}

/* Pulls two items one at a time, then collects the rest; frees it. */
static int run_pipe(yc_iter *it)
{
    if (!it) return failed();
    yc_val v;
    for (int i = 0; i < 2; i++) {
        int st = yc_iter_next(it, &v);
        if (st == YC_YIELD) {
            fp_val(v);
        } else if (st == YC_RETURN) {
            fp_add("end ");
            break;
        } else {
            int r = failed();
            yc_iter_free(it);
            return r;
        }
    }
    fp_add("| ");
    yc_vec vec = {0};
    int st = yc_iter_collect(it, &vec);
    int r = 0;
    if (st < 0) {
        r = failed();
    } else {
        for (size_t i = 0; i < vec.len; i++) fp_val(vec.items[i]);
    }
    yc_vec_free(&vec);
    yc_iter_free(it);
    return r;
}

static yc_iter *R(int64_t n) { return yc_iter_range(0, n, 1); }

static const yc_val arr3[] = {{{.i = 1}, YC_T_INT}, {{.i = 2}, YC_T_INT}, {{.i = 3}, YC_T_INT}};

static const yc_io_opts small_buf = {.buf_size = 4, .flags = 0};
static const yc_io_opts strip_buf = {.buf_size = 4, .flags = YC_IO_STRIP};

#define PIPE(name, expr)                                                      \
    static int op_##name(void) { return run_pipe(expr); }

PIPE(range, yc_iter_range(0, 6, 2))
PIPE(counter, yc_iter_take(yc_iter_counter(5, 3), 4))
PIPE(repeat, yc_iter_repeat(yc_int(7), 3))
PIPE(cycle, yc_iter_take(yc_iter_cycle(yc_iter_array(arr3, 3)), 7))
PIPE(iter_gen, yc_iter_gen(gen_src, NULL, NULL))
PIPE(map, yc_iter_map(R(5), f_dbl, NULL))
PIPE(map_batch, yc_iter_map_batch(R(5), f_inc_batch, NULL))
PIPE(filter, yc_iter_filter(R(7), f_even, NULL))
PIPE(filter_none, yc_iter_filter(R(4), NULL, NULL))
PIPE(filter_batch, yc_iter_filter_batch(R(7), f_odd_batch, NULL))
PIPE(islice, yc_iter_islice(R(20), 2, 12, 3))
PIPE(take, yc_iter_take(R(20), 3))
PIPE(drop, yc_iter_drop(R(6), 3))
PIPE(takewhile, yc_iter_takewhile(R(6), f_lt3, NULL))
PIPE(dropwhile, yc_iter_dropwhile(R(6), f_lt3, NULL))
PIPE(enumerate, yc_iter_enumerate(yc_iter_range(10, 13, 1), 1))
PIPE(zip, yc_iter_zip((yc_iter *[]){R(4), yc_iter_range(10, 20, 1)}, 2))
PIPE(chain, yc_iter_chain((yc_iter *[]){R(2), yc_iter_array(arr3, 3)}, 2))
PIPE(flat_map, yc_iter_flat_map(R(4), f_range_to, NULL))
PIPE(batch, yc_iter_batch(R(7), 3))
PIPE(window, yc_iter_window(R(5), 3))
PIPE(accumulate, yc_iter_accumulate(R(5), f_add, NULL, &(yc_val){{.i = 100}, YC_T_INT}))
PIPE(accumulate_sum, yc_iter_accumulate(R(5), NULL, NULL, NULL))
PIPE(unique, yc_iter_unique(R(7), f_half, NULL))
PIPE(stage, yc_iter_stage(R(4), st_body, NULL, &(yc_gen_opts){.name = "plus100"}))
PIPE(source, yc_iter_source(src_body, NULL, NULL))
PIPE(genexpr, yc_genexpr(R(6), &(yc_genexpr_def){.elem = f_dbl, .cond = f_even}))
PIPE(genexpr_inner,
     YC_GENEXPR(R(5), .cond = f_odd, .inner = f_range_to, .inner_cond = f_even, .name = "ge"))
PIPE(lines_path, yc_iter_lines_path(data_path, &small_buf))
PIPE(lines_path_strip, yc_iter_lines_path(data_path, &strip_buf))
PIPE(records_path, yc_iter_records_path(data_path, "a\n", 2, &small_buf))
PIPE(chunks_path, yc_iter_chunks_path(data_path, 5, &small_buf))
PIPE(pipeline_nested,
     yc_iter_take(yc_iter_filter(yc_iter_map(yc_iter_stage(R(50), st_body, NULL, NULL), f_dbl,
                                             NULL),
                                 f_even, NULL),
                  5))

/* fd and FILE * sources: the descriptor stays ours */
enum { SRC_LINES, SRC_RECORDS, SRC_CHUNKS };

static int fd_source(int kind, int use_file)
{
    int fd = open(data_path, O_RDONLY);
    FILE *f = use_file ? fdopen(fd, "r") : NULL;
    yc_iter *it;
    switch (kind) {
    case SRC_LINES:
        it = use_file ? yc_iter_lines_file(f, &small_buf) : yc_iter_lines_fd(fd, &small_buf);
        break;
    case SRC_RECORDS:
        it = use_file ? yc_iter_records_file(f, "ta", 2, &small_buf)
                      : yc_iter_records_fd(fd, "ta", 2, &small_buf);
        break;
    default:
        it = use_file ? yc_iter_chunks_file(f, 3, &small_buf) : yc_iter_chunks_fd(fd, 3, &small_buf);
        break;
    }
    int r = run_pipe(it);
    if (f) fclose(f);
    else close(fd);
    return r;
}

static int op_lines_fd(void) { return fd_source(SRC_LINES, 0); }
static int op_lines_file(void) { return fd_source(SRC_LINES, 1); }
static int op_records_fd(void) { return fd_source(SRC_RECORDS, 0); }
static int op_records_file(void) { return fd_source(SRC_RECORDS, 1); }
static int op_chunks_fd(void) { return fd_source(SRC_CHUNKS, 0); }
static int op_chunks_file(void) { return fd_source(SRC_CHUNKS, 1); }

static int op_label(void)
{
    yc_iter *it = yc_iter_map(R(3), f_dbl, NULL);
    if (it && yc_iter_label(it, "doubler") < 0) {
        int r = failed();
        yc_iter_free(it);
        return r;
    }
    return run_pipe(it);
}

static int op_groupby(void)
{
    yc_iter *it = yc_iter_groupby(R(7), f_half, NULL);
    if (!it) return failed();
    int r = 0;
    yc_val v;
    int st;
    while ((st = yc_iter_next(it, &v)) == YC_YIELD) {
        const yc_tuple *t = yc_tuple_of(v);
        if (!t || t->len != 2) {
            fp_add("not a pair ");
            continue;
        }
        fp_val(t->items[0]);
        fp_add(":");
        yc_iter *grp = t->items[1].p;
        yc_val x;
        int gs;
        while ((gs = yc_iter_next(grp, &x)) == YC_YIELD) fp_val(x);
        if (gs < 0) {
            r = failed();
            break;
        }
    }
    if (st < 0) r = failed();
    yc_iter_free(it);
    return r;
}

static int op_tee(void)
{
    yc_iter *out[3] = {NULL, NULL, NULL};
    yc_iter *up = yc_iter_map(R(5), f_dbl, NULL);
    if (!up) return failed();
    int st = yc_iter_tee(up, 3, 16, out);
    if (st < 0) return failed();
    int r = 0;
    yc_val v;
    /* branch 0 runs ahead, the others lag */
    for (int i = 0; i < 3 && r == 0; i++) {
        st = yc_iter_next(out[0], &v);
        if (st == YC_YIELD) fp_val(v);
        else if (st < 0) r = failed();
    }
    fp_add("| ");
    for (int b = 1; b < 3 && r == 0; b++) {
        while ((st = yc_iter_next(out[b], &v)) == YC_YIELD) fp_val(v);
        if (st < 0) r = failed();
        fp_add("| ");
    }
    if (r == 0) {
        yc_vec vec = {0};
        if (yc_iter_collect(out[0], &vec) < 0) r = failed();
        for (size_t i = 0; i < vec.len; i++) fp_val(vec.items[i]);
        yc_vec_free(&vec);
    }
    for (int b = 0; b < 3; b++) yc_iter_free(out[b]);
    return r;
}

/* errors travelling down a pipeline gain a traceback entry per stage */
static yc_val f_raise_at3(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 3) yc_raisef(&yc_ValueError, "bad item %lld", (long long)x.i);
    return x;
}

static int pipe_error(int block)
{
    yc_iter *it = yc_iter_filter(
        yc_iter_map(yc_iter_stage(yc_iter_map(R(10), f_raise_at3, NULL), st_body, NULL,
                                  &(yc_gen_opts){.name = "st"}),
                    f_dbl, NULL),
        NULL, NULL);
    if (!it) return failed();
    int st;
    if (block) {
        yc_vec vec = {0};
        st = yc_iter_collect(it, &vec);
        yc_vec_free(&vec);
    } else {
        yc_val v;
        while ((st = yc_iter_next(it, &v)) == YC_YIELD) fp_val(v);
    }
    int r = 0;
    if (st < 0) r = got_exc(yc_err_take());
    else fp_add("status %d", st);
    /* ended: every later pull is YC_RETURN; after a MemoryError that map or
     * filter passed on (they go on after errors, as CPython's do) the
     * generator stage below may still be running, and the next pull meets
     * its ValueError: dropped, the run has failed already */
    int then = yc_iter_next(it, NULL);
    if (then < 0 && r < 0) yc_exc_unref(yc_err_take());
    else fp_add(" then %d", then);
    yc_iter_free(it);
    return r;
}

static int op_pipe_error_next(void) { return pipe_error(0); }
static int op_pipe_error_block(void) { return pipe_error(1); }

/* a pipeline closed (then freed) while a generator source is suspended in
 * its try block: GeneratorExit travels up */
static int op_pipe_close(void)
{
    finally_runs = 0;
    yc_iter *it = yc_iter_map(yc_iter_stage(yc_iter_gen(gen_src, NULL, NULL), st_body, NULL,
                                            NULL),
                              f_dbl, NULL);
    if (!it) return failed();
    int r = 0;
    yc_val v;
    int st = yc_iter_next(it, &v);
    if (st < 0) {
        r = failed();
    } else {
        fp_val(v);
        st = yc_iter_close(it, NULL);
        if (st < 0) r = failed();
        fp_add("close=%d finally=%d", st, finally_runs);
    }
    yc_iter_free(it);
    return r;
}

static int op_pipe_free_suspended(void)
{
    finally_runs = 0;
    yc_iter *it = yc_iter_take(yc_iter_stage(yc_iter_gen(gen_src, NULL, NULL), st_body, NULL,
                                             NULL),
                               10);
    if (!it) return failed();
    int r = 0;
    yc_val v;
    if (yc_iter_next(it, &v) < 0) r = failed();
    else fp_val(v);
    yc_iter_free(it);
    fp_add("finally=%d", finally_runs);
    return r;
}

static int op_source_missing(void)
{
    yc_iter *it = yc_iter_lines_path("/nonexistent/yieldc-faults.txt", NULL);
    if (it) {
        yc_iter_free(it);
        fp_add("opened?");
        return 0;
    }
    return got_exc(yc_err_take());
}

static int op_genexpr_throw(void)
{
    yc_iter *it = YC_GENEXPR(R(5), .elem = f_dbl);
    if (!it) return failed();
    int r = 0;
    yc_val v;
    int st = yc_iter_next(it, &v);
    if (st < 0) {
        r = failed();
    } else {
        fp_val(v);
        st = yc_iter_throw(it, yc_exc_new(&yc_KeyError, "into genexpr"), &v);
        if (st < 0) r = got_exc(yc_err_take());
        fp_add(" then %d", yc_iter_next(it, NULL));
    }
    yc_iter_free(it);
    return r;
}

/* tee and cycle with more items than their first buffers */
static int op_tee_lagging(void)
{
    yc_iter *out[2] = {NULL, NULL};
    if (yc_iter_tee(R(300), 2, 1000, out) < 0) return failed();
    int r = 0;
    int64_t n0 = 0, s1 = 0;
    yc_val v;
    int st;
    while ((st = yc_iter_next(out[0], &v)) == YC_YIELD) n0++;
    if (st < 0) r = failed();
    if (r == 0) {
        while ((st = yc_iter_next(out[1], &v)) == YC_YIELD) s1 += v.i;
        if (st < 0) r = failed();
    }
    fp_add("%lld %lld", (long long)n0, (long long)s1);
    yc_iter_free(out[0]);
    yc_iter_free(out[1]);
    return r;
}

static yc_val bytes_item(void *ctx, yc_val x)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz";
    (void)ctx;
    return yc_bytes(letters + (x.i % 20), 1 + (size_t)(x.i % 5));
}

PIPE(cycle_long, yc_iter_take(yc_iter_cycle(yc_iter_map(R(300), f_dbl, NULL)), 700))
PIPE(window_bytes, yc_iter_window(yc_iter_map(R(6), bytes_item, NULL), 3))
PIPE(batch_bytes, yc_iter_batch(yc_iter_map(R(7), bytes_item, NULL), 3))
PIPE(unique_bytes, yc_iter_unique(yc_iter_map(yc_iter_map(R(8), f_half, NULL), bytes_item, NULL),
                                  NULL, NULL))
PIPE(accumulate_init, yc_iter_accumulate(R(3), NULL, NULL, &(yc_val){{.i = 5}, YC_T_INT}))
PIPE(collect_long, yc_iter_map(R(1000), f_dbl, NULL))
/* a NULL upstream: TypeError, or the MemoryError that made it NULL; the
 * other upstream is freed */
static int op_zip_null(void)
{
    yc_iter *it = yc_iter_zip((yc_iter *[]){R(3), NULL}, 2);
    if (it) {
        yc_iter_free(it);
        fp_add("made?");
        return 0;
    }
    return got_exc(yc_err_take());
}

static int op_exitstack_many(void)
{
    es_n = 0;
    yc_exitstack *s = yc_exitstack_new();
    if (!s) return failed();
    int r = 0;
    for (int i = 0; i < 40 && r == 0; i++) {
        if (yc_exitstack_callback(s, es_callback, (void *)(intptr_t)(i % 8)) < 0) r = failed();
        else if (yc_exitstack_enter(s, yc_cm_suppress(&yc_KeyError), NULL) < 0) r = failed();
    }
    if (r == 0) {
        if (yc_exitstack_close(s) < 0) r = failed();
        fp_add("%d size=%zu", es_n, yc_exitstack_size(s));
    }
    yc_exitstack_free(s);
    return r;
}

static void es_raising_callback(void *arg)
{
    yc_raisef(&yc_IndexError, "callback %d", (int)(intptr_t)arg);
}

static int op_exitstack_raising(void)
{
    yc_exitstack *s = yc_exitstack_new();
    if (!s) return failed();
    int r = 0;
    if (yc_exitstack_callback(s, es_raising_callback, (void *)(intptr_t)1) < 0 ||
        yc_exitstack_callback(s, es_raising_callback, (void *)(intptr_t)2) < 0) {
        r = failed();
    } else {
        int st = yc_exitstack_close(s);
        if (st < 0) {
            yc_exc *e = yc_err_take();
            /* the last raising exit's exception, its context the other */
            yc_exc *ctx = yc_exc_context(e);
            if (yc_exc_is(e, &yc_IndexError) && ctx && yc_exc_is(ctx, &yc_MemoryError)) {
                yc_err_set(yc_exc_ref(ctx));
                yc_exc_unref(e);
                r = failed();
            } else {
                if (ctx) fp_exc(ctx);
                r = got_exc(e);
            }
        } else {
            fp_add("close %d", st);
        }
    }
    yc_exitstack_free(s);
    return r;
}

static const fault_op pipe_ops[] = {
#define P(n) {#n, op_##n, NULL}
    P(range), P(counter), P(repeat), P(cycle), P(iter_gen), P(map), P(map_batch),
    P(filter), P(filter_none), P(filter_batch), P(islice), P(take), P(drop), P(takewhile),
    P(dropwhile), P(enumerate), P(zip), P(chain), P(flat_map), P(batch), P(window),
    P(accumulate), P(accumulate_sum), P(unique), P(stage), P(source), P(genexpr),
    P(genexpr_inner), P(lines_path), P(lines_path_strip), P(records_path), P(chunks_path),
    P(pipeline_nested), P(lines_fd), P(lines_file), P(records_fd), P(records_file),
    P(chunks_fd), P(chunks_file), P(label), P(groupby), P(tee),
    P(pipe_error_next), P(pipe_error_block), P(pipe_close), P(pipe_free_suspended),
    P(source_missing), P(genexpr_throw), P(tee_lagging), P(cycle_long), P(window_bytes),
    P(batch_bytes), P(unique_bytes), P(accumulate_init), P(collect_long), P(zip_null),
    P(exitstack_many), P(exitstack_raising),
#undef P
};

static void make_data_file(void)
{
    if (data_path[0]) return;
    snprintf(data_path, sizeof data_path, "/tmp/yc_faults_XXXXXX");
    int fd = mkstemp(data_path);
    const char text[] = "alpha\nbeta\na much longer line than the buffer\n\ngamma";
    if (fd < 0 || write(fd, text, sizeof text - 1) != (ssize_t)(sizeof text - 1))
        test_fail(__FILE__, __LINE__, "cannot write %s", data_path);
    if (fd >= 0) close(fd);
}

TEST(faults_pipelines)
{
    yc_gen_free(yc_gen_new(g_guarded, NULL, NULL));
    make_data_file();
    sweep_all(pipe_ops, sizeof pipe_ops / sizeof pipe_ops[0]);
}

/* ---- reducers --------------------------------------------------------------- */

static yc_iter *reducer_src(void)
{
    return yc_iter_map(yc_iter_stage(R(10), st_body, NULL, NULL), f_dbl, NULL);
}

static bool f_each(void *ctx, yc_val x)
{
    (void)ctx;
    fp_val(x);
    return x.i < 210;
}

static int reduce_op(int which)
{
    yc_iter *it = reducer_src();
    if (!it) return failed();
    int st = 0;
    yc_val v = YC_NONE;
    int64_t n = 0;
    bool b = false;
    switch (which) {
    case 0: st = yc_iter_count(it, &n); fp_add("%lld", (long long)n); break;
    case 1: st = yc_iter_sum(it, yc_int(1), &v); break;
    case 2: st = yc_iter_min(it, f_half, NULL, &v); break;
    case 3: st = yc_iter_max(it, NULL, NULL, &v); break;
    case 4: st = yc_iter_reduce(it, f_add, NULL, NULL, &v); break;
    case 5: st = yc_iter_any(it, f_lt3, NULL, &b); fp_add("%d", b); break;
    case 6: st = yc_iter_all(it, f_even, NULL, &b); fp_add("%d", b); break;
    case 7: st = yc_iter_first(it, &v); break;
    case 8: st = yc_iter_nth(it, 4, &v); break;
    case 9: st = yc_iter_nth(it, 40, &v); fp_add("st=%d ", st); break;
    default: st = yc_iter_for_each(it, f_each, NULL); break;
    }
    int r = 0;
    if (st < 0) {
        r = failed();
    } else {
        fp_val(v);
        yc_val_release(v);
        /* the rest stays pullable */
        yc_val x;
        while ((st = yc_iter_next(it, &x)) == YC_YIELD) fp_val(x);
        if (st < 0) r = failed();
    }
    yc_iter_free(it);
    return r;
}

static int op_count(void) { return reduce_op(0); }
static int op_sum(void) { return reduce_op(1); }
static int op_min(void) { return reduce_op(2); }
static int op_max(void) { return reduce_op(3); }
static int op_reduce(void) { return reduce_op(4); }
static int op_any(void) { return reduce_op(5); }
static int op_all(void) { return reduce_op(6); }
static int op_first(void) { return reduce_op(7); }
static int op_nth(void) { return reduce_op(8); }
static int op_nth_past(void) { return reduce_op(9); }
static int op_for_each(void) { return reduce_op(10); }

static int op_collect_bytes(void)
{
    /* collect copies BYTES; lines point into the source's buffer */
    return run_pipe(yc_iter_lines_path(data_path, &strip_buf));
}

static int op_collect_tuples(void)
{
    return run_pipe(yc_iter_window(yc_iter_enumerate(R(6), 0), 2));
}

static int op_val_copy(void)
{
    yc_val b = yc_val_copy(yc_str("some bytes"));
    if (yc_err_get()) return failed();
    struct {
        size_t len;
        yc_val items[2];
    } tup = {2, {yc_int(1), yc_str("x")}};
    yc_val t = yc_val_copy(yc_tuple_val((const yc_tuple *)&tup));
    if (yc_err_get()) {
        yc_val_release(b);
        return failed();
    }
    fp_val(b);
    fp_val(t);
    yc_val_release(b);
    yc_val_release(t);
    return 0;
}

static const fault_op reducer_ops[] = {
    {"count", op_count, NULL},         {"sum", op_sum, NULL},
    {"min", op_min, NULL},             {"max", op_max, NULL},
    {"reduce", op_reduce, NULL},       {"any", op_any, NULL},
    {"all", op_all, NULL},             {"first", op_first, NULL},
    {"nth", op_nth, NULL},             {"nth_past", op_nth_past, NULL},
    {"for_each", op_for_each, NULL},   {"collect_bytes", op_collect_bytes, NULL},
    {"collect_tuples", op_collect_tuples, NULL}, {"val_copy", op_val_copy, NULL},
};

TEST(faults_reducers)
{
    yc_gen_free(yc_gen_new(g_guarded, NULL, NULL));
    make_data_file();
    sweep_all(reducer_ops, sizeof reducer_ops / sizeof reducer_ops[0]);
}

/* The sweep itself can fail: deliberately broken operations are caught
 * (their failure messages are expected on stderr, then discounted). */
static yc_iter *forgotten[8];
static int n_forgotten;

static int op_bad_leak(void)
{
    yc_iter *a = yc_iter_range(0, 2, 1);
    if (!a) return failed();
    yc_iter *b = yc_iter_range(0, 2, 1);
    if (!b) {
        /* "forgets" a (released after the sweep, for LeakSanitizer) */
        if (n_forgotten < 8) forgotten[n_forgotten++] = a;
        return failed();
    }
    yc_iter_free(b);
    yc_iter_free(a);
    return 0;
}

static int op_bad_type(void)
{
    yc_iter *a = yc_iter_range(0, 2, 1);
    if (!a) {
        yc_err_set(yc_exc_new(&yc_ValueError, "not a MemoryError"));
        return failed();
    }
    yc_iter_free(a);
    return 0;
}

static int op_bad_result(void)
{
    yc_iter *a = yc_iter_range(0, 2, 1);
    if (!a) {
        yc_err_clear();
        fp_add("degraded");
        return 0;
    }
    fp_add("ok");
    yc_iter_free(a);
    return 0;
}

static int op_bad_forever(void)
{
    /* allocates more than the cap: never completes under the sweep */
    for (int i = 0; i < 1000; i++) {
        yc_iter *a = yc_iter_range(0, 2, 1);
        if (!a) return failed();
        yc_iter_free(a);
    }
    return 0;
}

TEST(faults_sweep_detects_bugs)
{
    static const fault_op bad[] = {
        {"bad_leak", op_bad_leak, NULL},
        {"bad_type", op_bad_type, NULL},
        {"bad_result", op_bad_result, NULL},
        {"bad_forever", op_bad_forever, NULL},
    };
    long saved = sweep_total_rounds;
    fprintf(stderr, "  (faults_sweep_detects_bugs: the failures below are expected)\n");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int before = test_failures_now;
        sweep(&bad[i], 0);
        int caught = test_failures_now - before;
        test_failures_now = before;
        if (caught == 0) test_fail(__FILE__, __LINE__, "sweep missed the bug of %s", bad[i].name);
    }
    sweep_total_rounds = saved;
    for (int i = 0; i < n_forgotten; i++) yc_iter_free(forgotten[i]);
    n_forgotten = 0;
}

/* The sweeps must actually inject failures: a sweep whose operations
 * never allocate would prove nothing. */
TEST(faults_sweeps_ran)
{
    CHECK(sweep_total_rounds > 200);
    if (data_path[0]) unlink(data_path);
}

TEST_MAIN()
