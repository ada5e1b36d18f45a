/* Exceptions: the type hierarchy, exception objects (messages, values,
 * errno, refcounts), try/except/finally in plain code and in generators,
 * chaining (__context__, __cause__), tracebacks, printing in CPython's
 * layout, and the fatal hook for an uncaught raise outside generators. */
#include "test.h"

#include <signal.h>

/* ---- helpers ----------------------------------------------------------- */

/* A trace of what ran, in order, to check control flow. */
static char trace[512];

static void tr(const char *s)
{
    if (trace[0]) strncat(trace, ",", sizeof trace - strlen(trace) - 1);
    strncat(trace, s, sizeof trace - strlen(trace) - 1);
}

static void fmt_exc(const yc_exc *e, char *buf, size_t n) { yc_exc_format(e, buf, n); }

#define CHECK_FMT(e, text)                                                    \
    do {                                                                      \
        char fbuf_[512];                                                      \
        fmt_exc((e), fbuf_, sizeof fbuf_);                                    \
        CHECK_STR(fbuf_, (text));                                             \
    } while (0)

/* yc_exc_print into a malloc'd string (caller frees). */
static char *print_to_string(const yc_exc *e)
{
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    if (!f) return NULL;
    yc_exc_print(e, f);
    fclose(f);
    return s;
}

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

/* ---- the hierarchy ------------------------------------------------------ */

TEST(exc_builtin_hierarchy)
{
    static const struct {
        const yc_exc_type *t;
        const char *name;
        const yc_exc_type *parent;
        bool is_exception;
    } tab[] = {
        {&yc_SystemExit, "SystemExit", &yc_BaseException, false},
        {&yc_KeyboardInterrupt, "KeyboardInterrupt", &yc_BaseException, false},
        {&yc_GeneratorExit, "GeneratorExit", &yc_BaseException, false},
        {&yc_CancelledError, "CancelledError", &yc_BaseException, false},
        {&yc_Exception, "Exception", &yc_BaseException, true},
        {&yc_StopIteration, "StopIteration", &yc_Exception, true},
        {&yc_StopAsyncIteration, "StopAsyncIteration", &yc_Exception, true},
        {&yc_AttributeError, "AttributeError", &yc_Exception, true},
        {&yc_MemoryError, "MemoryError", &yc_Exception, true},
        {&yc_TypeError, "TypeError", &yc_Exception, true},
        {&yc_EOFError, "EOFError", &yc_Exception, true},
        {&yc_AssertionError, "AssertionError", &yc_Exception, true},
        {&yc_ArithmeticError, "ArithmeticError", &yc_Exception, true},
        {&yc_ZeroDivisionError, "ZeroDivisionError", &yc_ArithmeticError, true},
        {&yc_OverflowError, "OverflowError", &yc_ArithmeticError, true},
        {&yc_LookupError, "LookupError", &yc_Exception, true},
        {&yc_IndexError, "IndexError", &yc_LookupError, true},
        {&yc_KeyError, "KeyError", &yc_LookupError, true},
        {&yc_OSError, "OSError", &yc_Exception, true},
        {&yc_FileNotFoundError, "FileNotFoundError", &yc_OSError, true},
        {&yc_TimeoutError, "TimeoutError", &yc_OSError, true},
        {&yc_RuntimeError, "RuntimeError", &yc_Exception, true},
        {&yc_NotImplementedError, "NotImplementedError", &yc_RuntimeError, true},
        {&yc_RecursionError, "RecursionError", &yc_RuntimeError, true},
        {&yc_ValueError, "ValueError", &yc_Exception, true},
    };
    CHECK_STR(yc_BaseException.name, "BaseException");
    CHECK(yc_BaseException.base == NULL);
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
        CHECK_STR(tab[i].t->name, tab[i].name);
        CHECK(tab[i].t->base == tab[i].parent);
        CHECK(yc_type_is_subtype(tab[i].t, tab[i].t));
        CHECK(yc_type_is_subtype(tab[i].t, tab[i].parent));
        CHECK(yc_type_is_subtype(tab[i].t, &yc_BaseException));
        CHECK_EQ_INT(yc_type_is_subtype(tab[i].t, &yc_Exception), tab[i].is_exception);
        /* never the other way round */
        CHECK(!yc_type_is_subtype(tab[i].parent, tab[i].t));
        yc_exc *e = yc_exc_new(tab[i].t, NULL);
        CHECK(yc_exc_type_of(e) == tab[i].t);
        CHECK(yc_exc_is(e, tab[i].t));
        CHECK(yc_exc_is(e, &yc_BaseException));
        CHECK_EQ_INT(yc_exc_is(e, &yc_Exception), tab[i].is_exception);
        CHECK_FMT(e, tab[i].name);
        yc_exc_unref(e);
    }
    /* siblings are unrelated */
    CHECK(!yc_type_is_subtype(&yc_KeyError, &yc_IndexError));
    CHECK(!yc_type_is_subtype(&yc_ValueError, &yc_TypeError));
    CHECK(!yc_type_is_subtype(&yc_GeneratorExit, &yc_SystemExit));
    CHECK(!yc_type_is_subtype(&yc_BaseException, &yc_Exception));
    CHECK(!yc_exc_is(NULL, &yc_BaseException));
}

YC_EXC_TYPE(ParseError, yc_ValueError);
YC_EXC_TYPE(JsonError, ParseError);
YC_EXC_TYPE(AppInterrupt, yc_BaseException);

TEST(exc_user_types)
{
    CHECK_STR(ParseError.name, "ParseError");
    CHECK_STR(JsonError.name, "JsonError");
    CHECK(JsonError.base == &ParseError);
    CHECK(yc_type_is_subtype(&JsonError, &ParseError));
    CHECK(yc_type_is_subtype(&JsonError, &yc_ValueError));
    CHECK(yc_type_is_subtype(&JsonError, &yc_Exception));
    CHECK(!yc_type_is_subtype(&ParseError, &JsonError));
    CHECK(!yc_type_is_subtype(&AppInterrupt, &yc_Exception));

    yc_exc *e = yc_exc_new(&JsonError, "bad token '%c' at %d", 'x', 3);
    CHECK_FMT(e, "JsonError: bad token 'x' at 3");
    yc_exc_unref(e);

    /* a subtype is caught by its base's YC_EXCEPT, after an unrelated one */
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&JsonError, "in json");
    } YC_EXCEPT(&yc_KeyError) {
        tr("key");
    } YC_EXCEPT(&ParseError) {
        tr("parse");
        CHECK(yc_exc_type_of(yc_exc_current()) == &JsonError);
        CHECK_FMT(yc_exc_current(), "JsonError: in json");
    } YC_EXCEPT(&JsonError) {
        tr("json");
    } YC_END;
    CHECK_STR(trace, "parse");

    /* a user BaseException passes through except Exception */
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            yc_raisef(&AppInterrupt, "stop");
        } YC_EXCEPT(&yc_Exception) {
            tr("exception");
        } YC_END;
    } YC_EXCEPT(&AppInterrupt) {
        tr("app");
    } YC_END;
    CHECK_STR(trace, "app");
}

/* ---- exception objects -------------------------------------------------- */

TEST(exc_messages)
{
    yc_exc *e = yc_exc_new(&yc_ValueError, "%s=%d %.2f %%", "x", 42, 1.5);
    CHECK_STR(yc_exc_msg(e), "x=42 1.50 %");
    CHECK_FMT(e, "ValueError: x=42 1.50 %");
    CHECK(yc_is_none(yc_exc_value(e)));
    CHECK_EQ_INT(yc_exc_errno(e), 0);
    CHECK(yc_exc_context(e) == NULL);
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(!yc_exc_suppress_context(e));
    size_t n = 99;
    yc_exc_traceback(e, &n);
    CHECK_EQ_INT(n, 0); /* never raised */

    /* snprintf-style: truncates, NUL-terminates, returns the wanted length */
    char small[6];
    CHECK_EQ_INT(yc_exc_format(e, small, sizeof small), strlen("ValueError: x=42 1.50 %"));
    CHECK_STR(small, "Value");
    CHECK_EQ_INT(yc_exc_format(e, NULL, 0), strlen("ValueError: x=42 1.50 %"));
    yc_exc_unref(e);

    /* no message: NULL or "" */
    e = yc_exc_new(&yc_KeyError, NULL);
    CHECK_STR(yc_exc_msg(e), "");
    CHECK_FMT(e, "KeyError");
    yc_exc_unref(e);
    e = yc_exc_new(&yc_KeyError, "%s", "");
    CHECK_STR(yc_exc_msg(e), "");
    CHECK_FMT(e, "KeyError");
    yc_exc_unref(e);

    /* a long message is kept whole */
    char big[3000];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    e = yc_exc_new(&yc_RuntimeError, "%s!", big);
    CHECK_EQ_INT(strlen(yc_exc_msg(e)), sizeof big);
    CHECK(yc_exc_msg(e)[sizeof big - 1] == '!');
    yc_exc_unref(e);

    CHECK_FMT(NULL, "None");
}

static yc_exc *newv_helper(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    yc_exc *e = yc_exc_newv(&yc_IndexError, fmt, ap);
    va_end(ap);
    return e;
}

TEST(exc_newv)
{
    yc_exc *e = newv_helper("index %d out of %s", 7, "range");
    CHECK_FMT(e, "IndexError: index 7 out of range");
    yc_exc_unref(e);
}

TEST(exc_new_value)
{
    yc_exc *e = yc_exc_new_value(&yc_StopIteration, yc_int(3));
    CHECK(yc_exc_type_of(e) == &yc_StopIteration);
    CHECK_INTV(yc_exc_value(e), 3);
    CHECK_STR(yc_exc_msg(e), "");
    CHECK_FMT(e, "StopIteration: 3");
    yc_exc_unref(e);

    e = yc_exc_new_value(&yc_StopIteration, YC_NONE);
    CHECK(yc_is_none(yc_exc_value(e)));
    CHECK_FMT(e, "StopIteration");
    yc_exc_unref(e);

    e = yc_exc_new_value(&yc_StopIteration, yc_str("abc"));
    CHECK_FMT(e, "StopIteration: b'abc'");
    yc_exc_unref(e);

    e = yc_exc_new_value(&yc_StopIteration, yc_bool(false));
    CHECK_FMT(e, "StopIteration: False");
    yc_exc_unref(e);

    e = yc_exc_new_value(&yc_StopIteration, yc_float(2.5));
    CHECK_FMT(e, "StopIteration: 2.5");
    yc_exc_unref(e);
}

TEST(exc_new_errno)
{
    yc_exc *e = yc_exc_new_errno(&yc_FileNotFoundError, ENOENT, "%s", "detail");
    CHECK(yc_exc_type_of(e) == &yc_FileNotFoundError);
    CHECK_EQ_INT(yc_exc_errno(e), ENOENT);
    CHECK_STR(yc_exc_msg(e), "[Errno 2] No such file or directory: detail");
    CHECK_FMT(e, "FileNotFoundError: [Errno 2] No such file or directory: detail");
    yc_exc_unref(e);

    /* [12.56] OSError picks the subclass, as CPython's OSError(2, ...) */
    e = yc_exc_new_errno(&yc_OSError, ENOENT, NULL);
    CHECK_EQ_INT(yc_exc_errno(e), 2);
    CHECK_FMT(e, "FileNotFoundError: [Errno 2] No such file or directory");
    yc_exc_unref(e);

    e = yc_exc_new_errno(&yc_TimeoutError, ETIMEDOUT, "after %d s", 5);
    CHECK_EQ_INT(yc_exc_errno(e), ETIMEDOUT);
    char want[256];
    snprintf(want, sizeof want, "TimeoutError: [Errno %d] %s: after 5 s", ETIMEDOUT,
             strerror(ETIMEDOUT));
    CHECK_FMT(e, want);
    yc_exc_unref(e);
}

TEST(exc_refcount)
{
    long base = live_excs();
    CHECK_EQ_INT(base, 0);
    yc_exc *e = yc_exc_new(&yc_ValueError, "rc");
    CHECK_EQ_INT(live_excs(), 1);
    CHECK(yc_exc_ref(e) == e);
    CHECK(yc_exc_ref(e) == e);
    yc_exc_unref(e);
    yc_exc_unref(e);
    CHECK_EQ_INT(live_excs(), 1);
    CHECK_FMT(e, "ValueError: rc"); /* still alive */
    yc_exc_unref(e);
    CHECK_EQ_INT(live_excs(), 0);

    CHECK(yc_exc_ref(NULL) == NULL);
    yc_exc_unref(NULL);

    /* a cause is owned by the exception it hangs on */
    yc_exc *a = yc_exc_new(&yc_ValueError, "a");
    yc_exc *b = yc_exc_new(&yc_KeyError, "b");
    yc_exc_set_cause(b, a); /* takes a */
    CHECK(yc_exc_cause(b) == a);
    CHECK(yc_exc_suppress_context(b));
    CHECK_EQ_INT(live_excs(), 2);
    yc_exc_set_cause(b, NULL); /* clears (and releases a) */
    CHECK(yc_exc_cause(b) == NULL);
    CHECK(yc_exc_suppress_context(b));
    CHECK_EQ_INT(live_excs(), 1);
    yc_exc_set_cause(b, yc_exc_new(&yc_IndexError, "c"));
    CHECK_EQ_INT(live_excs(), 2);
    yc_exc_unref(b);
    CHECK_EQ_INT(live_excs(), 0);
    yc_exc_set_cause(NULL, yc_exc_new(&yc_IndexError, "dropped")); /* takes it even so */
    CHECK_EQ_INT(live_excs(), 0);

    /* a context chain is freed with its head, however long */
    volatile int caught = 0;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "first");
        } YC_EXCEPT(&yc_ValueError) {
            yc_raisef(&yc_KeyError, "second");
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        caught = 1;
        CHECK_EQ_INT(live_excs(), 2);
    } YC_END;
    CHECK(caught);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(exc_long_context_chain_freed)
{
    /* 10000 nested handlers, each raising in its except: a chain of 10000
     * contexts; releasing the head must not recurse 10000 deep */
    yc_exc *volatile head = NULL;
    for (volatile int i = 0; i < 10000; i++) {
        yc_exc *e = yc_exc_new(&yc_ValueError, "%d", i);
        if (head) {
            YC_TRY {
                yc_raise(head); /* head becomes the exception being handled */
            } YC_EXCEPT_ANY {
                YC_TRY {
                    yc_raise(e);
                } YC_EXCEPT_ANY {
                    head = yc_exc_ref(yc_exc_current());
                } YC_END;
            } YC_END;
        } else {
            head = e;
        }
    }
    CHECK_EQ_INT(live_excs(), 10000);
    CHECK_STR(yc_exc_msg(head), "9999");
    CHECK_STR(yc_exc_msg(yc_exc_context(head)), "9998");
    yc_exc_unref(head);
    CHECK_EQ_INT(live_excs(), 0);
}

/* ---- try / except / finally in plain code -------------------------------- */

TEST(try_no_exception)
{
    trace[0] = '\0';
    YC_TRY {
        tr("body");
    } YC_EXCEPT_ANY {
        tr("except");
    } YC_FINALLY {
        tr("finally");
        CHECK(yc_exc_current() == NULL);
    } YC_END;
    tr("after");
    CHECK_STR(trace, "body,finally,after");
    CHECK(yc_exc_current() == NULL);
}

TEST(try_first_matching_except_wins)
{
    trace[0] = '\0';
    YC_TRY {
        tr("body");
        yc_raisef(&yc_ValueError, "v");
        tr("not reached");
    } YC_EXCEPT(&yc_KeyError) {
        tr("key");
    } YC_EXCEPT(&yc_Exception) {
        tr("exception");
    } YC_EXCEPT(&yc_ValueError) {
        tr("value");
    } YC_EXCEPT_ANY {
        tr("any");
    } YC_FINALLY {
        tr("finally");
    } YC_END;
    CHECK_STR(trace, "body,exception,finally");
}

TEST(try_except_any_catches_base_exceptions)
{
    const yc_exc_type *types[] = {&yc_GeneratorExit, &yc_KeyboardInterrupt, &yc_SystemExit,
                                  &yc_CancelledError};
    for (size_t i = 0; i < 4; i++) {
        trace[0] = '\0';
        YC_TRY {
            YC_TRY {
                yc_raisef(types[i], NULL);
            } YC_EXCEPT(&yc_Exception) {
                tr("exception");
            } YC_END;
        } YC_EXCEPT_ANY {
            tr("any");
            CHECK(yc_exc_type_of(yc_exc_current()) == types[i]);
        } YC_END;
        CHECK_STR(trace, "any");
    }
}

TEST(try_unmatched_propagates_after_finally)
{
    trace[0] = '\0';
    yc_exc *volatile inner_seen = NULL;
    YC_TRY {
        YC_TRY {
            tr("body");
            yc_raisef(&yc_ValueError, "up");
        } YC_EXCEPT(&yc_KeyError) {
            tr("inner-key");
        } YC_FINALLY {
            tr("finally");
            inner_seen = yc_exc_current();
            CHECK_FMT(yc_exc_current(), "ValueError: up");
        } YC_END;
        tr("after-inner");
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer-value");
        CHECK(yc_exc_current() == inner_seen); /* the same object */
        CHECK(yc_exc_context(yc_exc_current()) == NULL);
    } YC_END;
    CHECK_STR(trace, "body,finally,outer-value");
}

TEST(try_propagates_through_several_levels)
{
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            YC_TRY {
                yc_raisef(&yc_IndexError, "deep");
            } YC_FINALLY {
                tr("f1");
            } YC_END;
        } YC_EXCEPT(&yc_KeyError) {
            tr("key");
        } YC_FINALLY {
            tr("f2");
        } YC_END;
    } YC_EXCEPT(&yc_LookupError) {
        tr("lookup");
        CHECK_FMT(yc_exc_current(), "IndexError: deep");
    } YC_FINALLY {
        tr("f3");
    } YC_END;
    CHECK_STR(trace, "f1,f2,lookup,f3");
}

TEST(try_raise_in_except_sets_context)
{
    trace[0] = '\0';
    yc_exc *volatile first = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "first");
        } YC_EXCEPT(&yc_ValueError) {
            tr("except");
            first = yc_exc_current();
            yc_raisef(&yc_KeyError, "second");
        } YC_EXCEPT(&yc_KeyError) {
            tr("not this construct"); /* one catch per construct */
        } YC_FINALLY {
            tr("finally");
            CHECK_FMT(yc_exc_current(), "KeyError: 'second'");
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer-value");
    } YC_EXCEPT(&yc_KeyError) {
        tr("outer-key");
        yc_exc *e = yc_exc_current();
        CHECK_FMT(e, "KeyError: 'second'");
        CHECK(yc_exc_context(e) == first);
        CHECK_FMT(yc_exc_context(e), "ValueError: first");
        CHECK(yc_exc_cause(e) == NULL);
        CHECK(!yc_exc_suppress_context(e));
        CHECK(yc_exc_context(first) == NULL);
    } YC_END;
    CHECK_STR(trace, "except,finally,outer-key");
}

TEST(try_raise_in_finally_replaces_pending)
{
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "pending");
        } YC_FINALLY {
            tr("finally");
            yc_raisef(&yc_KeyError, "replacement");
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer-value");
    } YC_EXCEPT(&yc_KeyError) {
        tr("outer-key");
        yc_exc *e = yc_exc_current();
        CHECK_FMT(e, "KeyError: 'replacement'");
        CHECK_FMT(yc_exc_context(e), "ValueError: pending");
        CHECK(!yc_exc_suppress_context(e));
    } YC_END;
    CHECK_STR(trace, "finally,outer-key");
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(try_raise_in_finally_without_pending)
{
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            tr("body");
        } YC_FINALLY {
            yc_raisef(&yc_KeyError, "from finally");
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        tr("caught");
        CHECK(yc_exc_context(yc_exc_current()) == NULL);
    } YC_END;
    CHECK_STR(trace, "body,caught");
}

TEST(try_raise_in_finally_after_handled)
{
    /* the handled exception is gone when finally runs: no context */
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "handled");
        } YC_EXCEPT(&yc_ValueError) {
            tr("except");
        } YC_FINALLY {
            CHECK(yc_exc_current() == NULL);
            yc_raisef(&yc_KeyError, "late");
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        tr("caught");
        CHECK(yc_exc_context(yc_exc_current()) == NULL);
    } YC_END;
    CHECK_STR(trace, "except,caught");
}

TEST(try_raise_from)
{
    yc_exc *volatile first = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "low level");
        } YC_EXCEPT(&yc_ValueError) {
            first = yc_exc_current();
            yc_raise_from(yc_exc_new(&yc_RuntimeError, "high level"),
                          yc_exc_ref(yc_exc_current()));
        } YC_END;
    } YC_EXCEPT(&yc_RuntimeError) {
        yc_exc *e = yc_exc_current();
        CHECK(yc_exc_cause(e) == first);
        CHECK(yc_exc_context(e) == first); /* as in Python: both are set */
        CHECK(yc_exc_suppress_context(e));
    } YC_END;

    /* an explicit cause other than the one being handled */
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "handled");
        } YC_EXCEPT(&yc_ValueError) {
            yc_raise_from(yc_exc_new(&yc_RuntimeError, "r"), yc_exc_new(&yc_OSError, "cause"));
        } YC_END;
    } YC_EXCEPT(&yc_RuntimeError) {
        yc_exc *e = yc_exc_current();
        CHECK_FMT(yc_exc_cause(e), "OSError: cause");
        CHECK_FMT(yc_exc_context(e), "ValueError: handled");
        CHECK(yc_exc_suppress_context(e));
    } YC_END;

    /* raise ... from None */
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "hidden");
        } YC_EXCEPT(&yc_ValueError) {
            yc_raise_from(yc_exc_new(&yc_KeyError, "shown"), NULL);
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        yc_exc *e = yc_exc_current();
        CHECK(yc_exc_cause(e) == NULL);
        CHECK(yc_exc_suppress_context(e));
        CHECK_FMT(yc_exc_context(e), "ValueError: hidden");
    } YC_END;

    /* outside any handler: only the cause */
    YC_TRY {
        yc_raise_from(yc_exc_new(&yc_KeyError, "k"), yc_exc_new(&yc_IndexError, "i"));
    } YC_EXCEPT(&yc_KeyError) {
        yc_exc *e = yc_exc_current();
        CHECK_FMT(yc_exc_cause(e), "IndexError: i");
        CHECK(yc_exc_context(e) == NULL);
    } YC_END;
}

static int reraise_line, reraise_first_line;

TEST(try_reraise_same_object)
{
    yc_exc *volatile first = NULL;
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            reraise_first_line = __LINE__ + 1;
            yc_raisef(&yc_ValueError, "again");
        } YC_EXCEPT(&yc_ValueError) {
            tr("inner");
            first = yc_exc_current();
            reraise_line = __LINE__ + 1;
            yc_reraise();
        } YC_FINALLY {
            tr("finally");
            CHECK(yc_exc_current() == first);
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer");
        yc_exc *e = yc_exc_current();
        CHECK(e == first);
        CHECK(yc_exc_context(e) == NULL); /* not its own context */
        size_t n = 0;
        const yc_tb_entry *tb = yc_exc_traceback(e, &n);
        CHECK_EQ_INT(n, 2);
        if (n == 2) {
            CHECK_EQ_INT(tb[0].line, reraise_first_line);
            CHECK_EQ_INT(tb[1].line, reraise_line);
            CHECK_STR(tb[1].func, "try_reraise_same_object");
        }
    } YC_END;
    CHECK_STR(trace, "inner,finally,outer");
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(try_reraise_without_active_exception)
{
    YC_TRY {
        yc_reraise();
    } YC_EXCEPT(&yc_RuntimeError) {
        CHECK_FMT(yc_exc_current(), "RuntimeError: No active exception to reraise");
    } YC_END;
}

TEST(try_raise_current_again)
{
    /* raise e where e is the exception being handled: no self-context */
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "self");
        } YC_EXCEPT(&yc_ValueError) {
            yc_raise(yc_exc_ref(yc_exc_current()));
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        CHECK(yc_exc_context(yc_exc_current()) == NULL);
    } YC_END;
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(try_context_cycle_is_broken)
{
    /* Python: re-raising a while handling b (whose context is a) makes
     * a.__context__ = b and cuts b.__context__, so there is no cycle */
    yc_exc *volatile a = NULL, *volatile b = NULL;
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "a");
        } YC_EXCEPT(&yc_ValueError) {
            a = yc_exc_ref(yc_exc_current());
            YC_TRY {
                yc_raisef(&yc_KeyError, "b");
            } YC_EXCEPT(&yc_KeyError) {
                b = yc_exc_ref(yc_exc_current());
                CHECK(yc_exc_context(b) == a);
                yc_raise(yc_exc_ref(a));
            } YC_END;
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        CHECK(yc_exc_current() == a);
        CHECK(yc_exc_context(a) == b);
        CHECK(yc_exc_context(b) == NULL);
        char *s = print_to_string(a);
        CHECK(s && strstr(s, "KeyError: 'b'\n\nDuring handling") != NULL);
        free(s);
    } YC_END;
    yc_exc_unref(a);
    yc_exc_unref(b);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(failing_call_in_except_gets_context)
{
    /* an error made by a failing call while handling gets that context */
    YC_TRY {
        yc_raisef(&yc_ValueError, "handling");
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_ST(yc_next(NULL, NULL), YC_EINVAL);
        yc_exc *e = yc_err_get();
        CHECK_FMT(e, "TypeError: generator is NULL");
        CHECK_FMT(yc_exc_context(e), "ValueError: handling");
        yc_err_clear();
    } YC_END;
    CHECK_ST(yc_next(NULL, NULL), YC_EINVAL);
    CHECK(yc_exc_context(yc_err_get()) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
}

TEST(try_nested_in_handlers)
{
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_ValueError, "outer");
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer-except");
        YC_TRY {
            CHECK_FMT(yc_exc_current(), "ValueError: outer");
            yc_raisef(&yc_KeyError, "inner");
        } YC_EXCEPT(&yc_KeyError) {
            tr("inner-except");
            CHECK_FMT(yc_exc_current(), "KeyError: 'inner'");
            CHECK_FMT(yc_exc_context(yc_exc_current()), "ValueError: outer");
        } YC_END;
        /* back to the outer exception */
        CHECK_FMT(yc_exc_current(), "ValueError: outer");
    } YC_FINALLY {
        tr("outer-finally");
        YC_TRY {
            yc_raisef(&yc_IndexError, "in finally");
        } YC_EXCEPT(&yc_IndexError) {
            tr("finally-except");
            CHECK(yc_exc_context(yc_exc_current()) == NULL);
        } YC_END;
    } YC_END;
    CHECK_STR(trace, "outer-except,inner-except,outer-finally,finally-except");
    CHECK(yc_exc_current() == NULL);
}

TEST(try_in_loop)
{
    volatile int caught = 0;
    for (volatile int i = 0; i < 1000; i++) {
        YC_TRY {
            if (i % 2) yc_raisef(&yc_ValueError, "%d", i);
        } YC_EXCEPT(&yc_ValueError) {
            caught++;
        } YC_END;
    }
    CHECK_EQ_INT(caught, 500);
    CHECK(yc_exc_current() == NULL);
}

/* Leaving a YC_TRY by return: the finally is skipped, but the handler is
 * unlinked, so later raises reach the right handler. */
static int leave_by_return(int how)
{
    YC_TRY {
        tr("body");
        if (how == 0) return 1;
        yc_raisef(&yc_ValueError, "x");
    } YC_EXCEPT(&yc_ValueError) {
        tr("except");
        if (how == 1) return 2; /* the handled exception is released */
    } YC_FINALLY {
        tr("finally");
    } YC_END;
    return 3;
}

TEST(try_leave_with_return)
{
    for (int how = 0; how < 3; how++) {
        trace[0] = '\0';
        YC_TRY {
            int r = leave_by_return(how);
            CHECK_EQ_INT(r, how + 1);
            yc_raisef(&yc_KeyError, "after %d", how);
        } YC_EXCEPT(&yc_KeyError) {
            tr("outer");
            CHECK(yc_exc_context(yc_exc_current()) == NULL);
        } YC_END;
        static const char *want[] = {"body,outer", "body,except,outer",
                                     "body,except,finally,outer"};
        CHECK_STR(trace, want[how]);
        CHECK(yc_exc_current() == NULL);
        CHECK_EQ_INT(live_excs(), 0);
    }
}

TEST(try_leave_with_break)
{
    trace[0] = '\0';
    for (volatile int i = 0; i < 5; i++) {
        YC_TRY {
            if (i == 2) break;
            tr("body");
        } YC_FINALLY {
            tr("f");
        } YC_END;
    }
    CHECK_STR(trace, "body,f,body,f");
    /* from inside an except with a pending exception */
    for (volatile int i = 0; i < 3; i++) {
        YC_TRY {
            yc_raisef(&yc_ValueError, "loop");
        } YC_EXCEPT(&yc_ValueError) {
            if (i == 1) break;
        } YC_END;
    }
    CHECK(yc_exc_current() == NULL);
    CHECK_EQ_INT(live_excs(), 0);
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_IndexError, "later");
    } YC_EXCEPT(&yc_IndexError) {
        tr("right handler");
    } YC_END;
    CHECK_STR(trace, "right handler");
}

TEST(try_break_in_finally_swallows)
{
    /* Python: break (or return) in a finally drops the exception in flight */
    trace[0] = '\0';
    for (volatile int i = 0; i < 3; i++) {
        YC_TRY {
            yc_raisef(&yc_ValueError, "swallowed");
        } YC_FINALLY {
            tr("finally");
            break;
        } YC_END;
    }
    CHECK_STR(trace, "finally");
    CHECK(yc_exc_current() == NULL);
    CHECK_EQ_INT(live_excs(), 0);
    YC_TRY {
        yc_raisef(&yc_KeyError, "next");
    } YC_EXCEPT(&yc_KeyError) {
        tr("caught");
    } YC_END;
    CHECK_STR(trace, "finally,caught");
}

TEST(try_reraise_in_finally)
{
    /* a bare raise in a finally reached by an exception re-raises it */
    yc_exc *volatile seen = NULL;
    trace[0] = '\0';
    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_ValueError, "pending");
        } YC_FINALLY {
            seen = yc_exc_current();
            tr("finally");
            yc_reraise();
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer");
        CHECK(yc_exc_current() == seen);
        CHECK(yc_exc_context(seen) == NULL);
    } YC_END;
    CHECK_STR(trace, "finally,outer");
}

static yc_val gen_returns_from_try(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_raisef(&yc_ValueError, "x");
    } YC_EXCEPT(&yc_ValueError) {
        return yc_int(2); /* leaves the except: handler unlinked */
    } YC_END;
    return YC_NONE;
}

TEST(gen_return_from_except)
{
    yc_gen *g = yc_gen_new(gen_returns_from_try, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 2);
    CHECK(yc_exc_current() == NULL);
    trace[0] = '\0';
    YC_TRY {
        yc_raisef(&yc_KeyError, "caller");
    } YC_EXCEPT(&yc_KeyError) {
        tr("caller");
    } YC_END;
    CHECK_STR(trace, "caller");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(exc_current_scopes)
{
    CHECK(yc_exc_current() == NULL);
    YC_TRY {
        CHECK(yc_exc_current() == NULL);
        yc_raisef(&yc_ValueError, "cur");
    } YC_EXCEPT(&yc_ValueError) {
        CHECK_FMT(yc_exc_current(), "ValueError: cur");
    } YC_FINALLY {
        CHECK(yc_exc_current() == NULL); /* handled already */
    } YC_END;
    CHECK(yc_exc_current() == NULL);

    YC_TRY {
        YC_TRY {
            yc_raisef(&yc_KeyError, "in flight");
        } YC_FINALLY {
            CHECK_FMT(yc_exc_current(), "KeyError: 'in flight'");
        } YC_END;
    } YC_EXCEPT_ANY {
        CHECK_FMT(yc_exc_current(), "KeyError: 'in flight'");
    } YC_END;
    CHECK(yc_exc_current() == NULL);
}

/* ---- tracebacks --------------------------------------------------------- */

static int raiser_line;

static void raiser(const yc_exc_type *t, const char *msg)
{
    raiser_line = __LINE__ + 1;
    yc_raisef(t, "%s", msg);
}

TEST(traceback_plain_code)
{
    YC_TRY {
        raiser(&yc_ValueError, "tb");
    } YC_EXCEPT(&yc_ValueError) {
        size_t n = 0;
        const yc_tb_entry *tb = yc_exc_traceback(yc_exc_current(), &n);
        CHECK_EQ_INT(n, 1);
        if (n == 1) {
            CHECK_STR(tb[0].file, __FILE__);
            CHECK_EQ_INT(tb[0].line, raiser_line);
            CHECK_STR(tb[0].func, "raiser");
            CHECK_STR(tb[0].where, "<main>");
        }
    } YC_END;
    size_t n = 5;
    CHECK(yc_exc_traceback(NULL, &n) == NULL);
    CHECK_EQ_INT(n, 0);
}

static int gen_raise_line;

static yc_val tb_gen_body(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    gen_raise_line = __LINE__ + 1;
    yc_raisef(&yc_ValueError, "from gen");
    return YC_NONE;
}

TEST(traceback_through_generator)
{
    yc_gen *g = yc_gen_new(tb_gen_body, NULL, &(yc_gen_opts){.name = "tbgen"});
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    volatile int check_line = 0;
    YC_TRY {
        check_line = __LINE__ + 1;
        YC_CHECK(yc_next(g, NULL));
    } YC_EXCEPT(&yc_ValueError) {
        size_t n = 0;
        const yc_tb_entry *tb = yc_exc_traceback(yc_exc_current(), &n);
        CHECK_EQ_INT(n, 2);
        if (n == 2) {
            /* innermost first: the raise in the generator */
            CHECK_STR(tb[0].file, __FILE__);
            CHECK_EQ_INT(tb[0].line, gen_raise_line);
            CHECK_STR(tb[0].func, "tb_gen_body");
            CHECK_STR(tb[0].where, "tbgen");
            CHECK_EQ_INT(tb[1].line, check_line);
            CHECK_STR(tb[1].func, "traceback_through_generator");
            CHECK_STR(tb[1].where, "<main>");
        }
    } YC_END;
    CHECK(yc_err_get() == NULL); /* YC_CHECK took it */
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static int tb_yield_line;

static yc_val tb_yield_body(void *arg)
{
    (void)arg;
    tb_yield_line = __LINE__ + 1;
    yc_yield(yc_int(1));
    return YC_NONE;
}

TEST(traceback_thrown_at_yield)
{
    yc_gen *g = yc_gen_new(tb_yield_body, NULL, &(yc_gen_opts){.name = "ygen"});
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_KeyError, "thrown"), NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_FMT(e, "KeyError: 'thrown'");
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    CHECK_EQ_INT(n, 1);
    if (n == 1) {
        CHECK_STR(tb[0].file, __FILE__);
        CHECK_EQ_INT(tb[0].line, tb_yield_line);
        CHECK(tb[0].func == NULL); /* a yield site */
        CHECK_STR(tb[0].where, "ygen");
    }
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- printing ----------------------------------------------------------- */

static int p1_line, p2_line, p3_line;

static void p_raise_value(void)
{
    p1_line = __LINE__ + 1;
    yc_raisef(&yc_ValueError, "bad %d", 42);
}

TEST(print_single)
{
    YC_TRY {
        p_raise_value();
    } YC_EXCEPT(&yc_ValueError) {
        char *s = print_to_string(yc_exc_current());
        char want[1024];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_raise_value\n"
                 "ValueError: bad 42\n",
                 __FILE__, p1_line);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
}

TEST(print_never_raised)
{
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    char *s = print_to_string(e);
    CHECK_STR(s, "KeyError: 'k'\n");
    free(s);
    yc_exc_unref(e);
    e = yc_exc_new_value(&yc_StopIteration, YC_NONE);
    s = print_to_string(e);
    CHECK_STR(s, "StopIteration\n");
    free(s);
    yc_exc_unref(e);
    s = print_to_string(NULL);
    CHECK_STR(s, "None\n");
    free(s);
}

static void p_cause(void)
{
    YC_TRY {
        p_raise_value();
    } YC_EXCEPT(&yc_ValueError) {
        p2_line = __LINE__ + 1;
        yc_raise_from(yc_exc_new(&yc_RuntimeError, "wrapped"), yc_exc_ref(yc_exc_current()));
    } YC_END;
}

TEST(print_cause_chain)
{
    YC_TRY {
        p_cause();
    } YC_EXCEPT(&yc_RuntimeError) {
        char *s = print_to_string(yc_exc_current());
        char want[2048];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_raise_value\n"
                 "ValueError: bad 42\n"
                 "\n"
                 "The above exception was the direct cause of the following exception:\n"
                 "\n"
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_cause\n"
                 "RuntimeError: wrapped\n",
                 __FILE__, p1_line, __FILE__, p2_line);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
}

static void p_context(void)
{
    YC_TRY {
        p_raise_value();
    } YC_EXCEPT(&yc_ValueError) {
        p3_line = __LINE__ + 1;
        yc_raisef(&yc_KeyError, "while handling");
    } YC_END;
}

TEST(print_context_chain)
{
    YC_TRY {
        p_context();
    } YC_EXCEPT(&yc_KeyError) {
        char *s = print_to_string(yc_exc_current());
        char want[2048];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_raise_value\n"
                 "ValueError: bad 42\n"
                 "\n"
                 "During handling of the above exception, another exception occurred:\n"
                 "\n"
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_context\n"
                 "KeyError: 'while handling'\n",
                 __FILE__, p1_line, __FILE__, p3_line);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
}

TEST(print_suppressed_context)
{
    volatile int line = 0;
    YC_TRY {
        YC_TRY {
            p_raise_value();
        } YC_EXCEPT(&yc_ValueError) {
            line = __LINE__ + 1;
            yc_raise_from(yc_exc_new(&yc_KeyError, "clean"), NULL);
        } YC_END;
    } YC_EXCEPT(&yc_KeyError) {
        char *s = print_to_string(yc_exc_current());
        char want[1024];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in print_suppressed_context\n"
                 "KeyError: 'clean'\n",
                 __FILE__, line);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
}

TEST(print_three_links_and_reraise)
{
    /* ValueError -(context)-> KeyError -(cause)-> RuntimeError, re-raised
     * once: the re-raise adds a line to the RuntimeError's traceback */
    volatile int l_key = 0, l_rt = 0, l_re = 0;
    YC_TRY {
        YC_TRY {
            YC_TRY {
                YC_TRY {
                    p_raise_value();
                } YC_EXCEPT(&yc_ValueError) {
                    l_key = __LINE__ + 1;
                    yc_raisef(&yc_KeyError, "k");
                } YC_END;
            } YC_EXCEPT(&yc_KeyError) {
                l_rt = __LINE__ + 1;
                yc_raise_from(yc_exc_new(&yc_RuntimeError, "r"), yc_exc_ref(yc_exc_current()));
            } YC_END;
        } YC_EXCEPT(&yc_RuntimeError) {
            l_re = __LINE__ + 1;
            yc_reraise();
        } YC_END;
    } YC_EXCEPT_ANY {
        char *s = print_to_string(yc_exc_current());
        char want[4096];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in p_raise_value\n"
                 "ValueError: bad 42\n"
                 "\n"
                 "During handling of the above exception, another exception occurred:\n"
                 "\n"
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in print_three_links_and_reraise\n"
                 "KeyError: 'k'\n"
                 "\n"
                 "The above exception was the direct cause of the following exception:\n"
                 "\n"
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in print_three_links_and_reraise\n"
                 "  File \"%s\", line %d, in print_three_links_and_reraise\n"
                 "RuntimeError: r\n",
                 __FILE__, p1_line, __FILE__, l_key, __FILE__, l_re, __FILE__, l_rt);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
}

static size_t count_substr(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, sub)) != NULL; p += strlen(sub)) n++;
    return n;
}

TEST(print_long_chain)
{
    /* CPython prints every link of a 100-long context chain; in any case
     * the output must not begin with a dangling linking sentence */
    yc_exc *volatile head = yc_exc_new(&yc_ValueError, "0");
    for (volatile int i = 1; i < 100; i++) {
        yc_exc *e = yc_exc_new(&yc_ValueError, "%d", (int)i);
        YC_TRY {
            yc_raise(head);
        } YC_EXCEPT_ANY {
            YC_TRY {
                yc_raise(e);
            } YC_EXCEPT_ANY {
                head = yc_exc_ref(yc_exc_current());
            } YC_END;
        } YC_END;
    }
    char *s = print_to_string(head);
    CHECK(s != NULL);
    if (s) {
        CHECK(strncmp(s, "Traceback (most recent call last):\n", 35) == 0);
        CHECK_EQ_INT(count_substr(s, "ValueError: "), 100);
        CHECK_EQ_INT(count_substr(s, "During handling of the above exception"), 99);
        const char *tail = "\nValueError: 99\n";
        size_t len = strlen(s), tl = strlen(tail);
        CHECK(len > tl && strcmp(s + len - tl, tail) == 0);
    }
    free(s);
    yc_exc_unref(head);
}

TEST(print_generator_traceback)
{
    /* outermost first: the YC_CHECK in main, then the raise in the
     * generator, which names the generator after the C function */
    yc_gen *g = yc_gen_new(tb_gen_body, NULL, &(yc_gen_opts){.name = "printgen"});
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    volatile int line = 0;
    YC_TRY {
        line = __LINE__ + 1;
        YC_CHECK(yc_next(g, NULL));
    } YC_EXCEPT(&yc_ValueError) {
        char *s = print_to_string(yc_exc_current());
        char want[1024];
        snprintf(want, sizeof want,
                 "Traceback (most recent call last):\n"
                 "  File \"%s\", line %d, in print_generator_traceback\n"
                 "  File \"%s\", line %d, in tb_gen_body (generator 'printgen')\n"
                 "ValueError: from gen\n",
                 __FILE__, line, __FILE__, gen_raise_line);
        CHECK_STR(s, want);
        free(s);
    } YC_END;
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- exceptions in generators ------------------------------------------- */

static yc_val catch_in_gen(void *arg)
{
    (void)arg;
    volatile int64_t got = 0;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_raisef(&yc_ValueError, "inside");
    } YC_EXCEPT(&yc_KeyError) {
        got = -1;
    } YC_EXCEPT(&yc_ValueError) {
        got = 2;
        CHECK_FMT(yc_exc_current(), "ValueError: inside");
        yc_yield(yc_int(10)); /* yield inside an except */
        CHECK_FMT(yc_exc_current(), "ValueError: inside");
    } YC_FINALLY {
        got *= 10;
    } YC_END;
    CHECK(yc_exc_current() == NULL);
    return yc_int(got);
}

TEST(gen_exception_caught_inside)
{
    yc_gen *g = yc_gen_new(catch_in_gen, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 10);
    CHECK(yc_exc_current() == NULL); /* the caller does not see it */
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 20);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raise_in_gen(void *arg)
{
    const yc_exc_type *t = arg;
    yc_yield(YC_NONE);
    yc_raisef(t, "escaped");
    return YC_NONE;
}

TEST(gen_uncaught_reaches_resumer)
{
    const yc_exc_type *types[] = {&yc_ValueError, &ParseError, &yc_KeyboardInterrupt,
                                  &yc_GeneratorExit};
    for (int i = 0; i < 4; i++) {
        yc_gen *g = yc_gen_new(raise_in_gen, (void *)types[i], NULL);
        yc_val v = yc_int(99);
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_ST(yc_next(g, &v), YC_RAISE);
        CHECK(yc_is_none(v));
        yc_exc *e = yc_err_take();
        CHECK(yc_exc_type_of(e) == types[i]);
        CHECK_STR(yc_exc_msg(e), "escaped");
        yc_exc_unref(e);
        CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK(yc_is_none(v));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

TEST(gen_exception_context_from_caller)
{
    /* 2.8: the caller handles IndexError while the body raises ValueError */
    yc_gen *g = yc_gen_new(raise_in_gen, (void *)&yc_ValueError, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller's");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_next(g, NULL), YC_RAISE);
        yc_exc *e = yc_err_take();
        CHECK_FMT(e, "ValueError: escaped");
        CHECK_FMT(yc_exc_context(e), "IndexError: caller's");
        yc_exc_unref(e);
    } YC_END;
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val gen_sees_caller_exc(void *arg)
{
    (void)arg;
    /* not handling anything itself: sees what its resumer handles */
    CHECK_FMT(yc_exc_current(), "IndexError: outer");
    yc_yield(YC_NONE);
    CHECK(yc_exc_current() == NULL);
    return YC_NONE;
}

TEST(gen_sees_resumers_exception)
{
    yc_gen *g = yc_gen_new(gen_sees_caller_exc, NULL, NULL);
    YC_TRY {
        yc_raisef(&yc_IndexError, "outer");
    } YC_EXCEPT_ANY {
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
    } YC_END;
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val gen_suspended_in_except(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "gen's");
    } YC_EXCEPT(&yc_KeyError) {
        yc_yield(yc_int(1));
        /* 2.9: resumed from a caller handling IndexError, still sees KeyError */
        CHECK_FMT(yc_exc_current(), "KeyError: \"gen's\"");
        yc_yield(yc_int(2));
        CHECK_FMT(yc_exc_current(), "KeyError: \"gen's\"");
    } YC_END;
    return YC_NONE;
}

TEST(gen_exception_state_saved_per_generator)
{
    yc_gen *g = yc_gen_new(gen_suspended_in_except, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK(yc_exc_current() == NULL);
    YC_TRY {
        yc_raisef(&yc_IndexError, "caller's");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_FMT(yc_exc_current(), "IndexError: caller's");
    } YC_END;
    CHECK(yc_exc_current() == NULL);
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val gen_throw_then_raise(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT(&yc_ValueError) {
        yc_raisef(&yc_KeyError, "during");
    } YC_END;
    return YC_NONE;
}

TEST(gen_throw_caught_then_raise_chains)
{
    /* 4.5 */
    yc_gen *g = yc_gen_new(gen_throw_then_raise, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *thrown = yc_exc_new(&yc_ValueError, "thrown");
    yc_exc_ref(thrown);
    CHECK_ST(yc_throw(g, thrown, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_FMT(e, "KeyError: 'during'");
    CHECK(yc_exc_context(e) == thrown);
    CHECK(yc_exc_cause(e) == NULL);
    yc_exc_unref(e);
    yc_exc_unref(thrown);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(gen_throw_uncaught_same_object)
{
    /* 4.2: the same object comes out */
    yc_gen *g = yc_gen_new(gen_throw_then_raise, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    yc_exc *thrown = yc_exc_ref(yc_exc_new(&yc_IndexError, "through"));
    CHECK_ST(yc_throw(g, thrown, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e == thrown);
    CHECK(yc_exc_context(e) == NULL);
    yc_exc_unref(e);
    yc_exc_unref(thrown);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val raise_stop(void *arg)
{
    (void)arg;
    yc_raise(yc_exc_new_value(&yc_StopIteration, yc_int(7)));
    return YC_NONE;
}

TEST(gen_stopiteration_becomes_runtimeerror)
{
    /* 6.1 */
    yc_gen *g = yc_gen_new(raise_stop, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK_FMT(e, "RuntimeError: generator raised StopIteration");
    CHECK_FMT(yc_exc_cause(e), "StopIteration: 7");
    CHECK(yc_exc_context(e) == yc_exc_cause(e));
    CHECK(yc_exc_suppress_context(e));
    char *s = print_to_string(e);
    CHECK(s && strstr(s, "StopIteration: 7\n\nThe above exception was the direct cause of the "
                         "following exception:\n\n") != NULL);
    CHECK(s && strstr(s, "RuntimeError: generator raised StopIteration\n") != NULL);
    free(s);
    yc_exc_unref(e);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

static yc_val gen_nested_trys(void *arg)
{
    (void)arg;
    YC_TRY {
        YC_TRY {
            yc_yield(yc_int(1));
        } YC_EXCEPT(&yc_KeyError) {
            tr("inner-key");
        } YC_FINALLY {
            tr("inner-finally");
        } YC_END;
    } YC_EXCEPT(&yc_ValueError) {
        tr("outer-value");
        yc_yield(yc_int(2));
    } YC_FINALLY {
        tr("outer-finally");
    } YC_END;
    return yc_int(3);
}

TEST(gen_nested_trys_across_yields)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_nested_trys, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_ST(yc_throw(g, yc_exc_new(&yc_ValueError, "t"), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STR(trace, "inner-finally,outer-value");
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 3);
    CHECK_STR(trace, "inner-finally,outer-value,outer-finally");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A generator's try chain is its own: a raise in the caller, while the
 * generator is suspended inside a YC_TRY, lands in the caller's handler. */
static yc_val gen_suspended_in_try(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_EXCEPT_ANY {
        tr("gen-except");
    } YC_END;
    return YC_NONE;
}

TEST(gen_handlers_are_per_coroutine)
{
    trace[0] = '\0';
    yc_gen *g = yc_gen_new(gen_suspended_in_try, NULL, NULL);
    YC_TRY {
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        yc_raisef(&yc_ValueError, "caller");
    } YC_EXCEPT(&yc_ValueError) {
        tr("caller-except");
    } YC_END;
    CHECK_STR(trace, "caller-except");
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    CHECK_STR(trace, "caller-except");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- the fatal hook ------------------------------------------------------ */

static void child_raise_uncaught(void *arg)
{
    (void)arg;
    yc_raisef(&yc_ValueError, "nobody catches %d", 7);
}

TEST(fatal_default_prints_and_aborts)
{
    char buf[4096];
    int st = test_in_child(child_raise_uncaught, NULL, buf, sizeof buf);
    CHECK(WIFSIGNALED(st));
    if (WIFSIGNALED(st)) CHECK_EQ_INT(WTERMSIG(st), SIGABRT);
    CHECK(strstr(buf, "Traceback (most recent call last):\n") != NULL);
    CHECK(strstr(buf, "in child_raise_uncaught\n") != NULL);
    CHECK(strstr(buf, "ValueError: nobody catches 7\n") != NULL);
}

static void fatal_exit_hook(yc_exc *e, void *ud)
{
    char b[256];
    yc_exc_format(e, b, sizeof b);
    fprintf(stderr, "hook(%s): %s\n", (const char *)ud, b);
    fflush(stderr);
    _exit(7);
}

static void child_raise_with_hook(void *arg)
{
    (void)arg;
    yc_set_fatal_hook(fatal_exit_hook, (void *)"ud");
    YC_TRY {
        yc_raisef(&yc_KeyError, "handled");
    } YC_EXCEPT(&yc_KeyError) {
        yc_raisef(&yc_ValueError, "fatal in except");
    } YC_END;
}

TEST(fatal_custom_hook)
{
    char buf[4096];
    int st = test_in_child(child_raise_with_hook, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(st));
    if (WIFEXITED(st)) CHECK_EQ_INT(WEXITSTATUS(st), 7);
    CHECK_STR(buf, "hook(ud): ValueError: fatal in except\n");
}

static void returning_hook(yc_exc *e, void *ud)
{
    (void)ud;
    fprintf(stderr, "returning hook: %s\n", yc_exc_msg(e));
}

static void child_hook_returns(void *arg)
{
    (void)arg;
    yc_set_fatal_hook(returning_hook, NULL);
    yc_raisef(&yc_RuntimeError, "hook returns");
}

TEST(fatal_hook_that_returns_aborts)
{
    char buf[4096];
    int st = test_in_child(child_hook_returns, NULL, buf, sizeof buf);
    CHECK(WIFSIGNALED(st));
    if (WIFSIGNALED(st)) CHECK_EQ_INT(WTERMSIG(st), SIGABRT);
    CHECK(strncmp(buf, "returning hook: hook returns\n", 29) == 0);
}

static void child_hook_reset(void *arg)
{
    (void)arg;
    yc_set_fatal_hook(fatal_exit_hook, (void *)"x");
    yc_set_fatal_hook(NULL, NULL); /* back to the default */
    yc_raisef(&yc_RuntimeError, "default again");
}

TEST(fatal_hook_reset_to_default)
{
    char buf[4096];
    int st = test_in_child(child_hook_reset, NULL, buf, sizeof buf);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strstr(buf, "RuntimeError: default again\n") != NULL);
    CHECK(strstr(buf, "hook(") == NULL);
}

static void child_finally_then_fatal(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "after finally");
    } YC_EXCEPT(&yc_ValueError) {
        fputs("wrong except\n", stderr);
    } YC_FINALLY {
        fputs("finally ran\n", stderr);
    } YC_END;
    fputs("not reached\n", stderr);
}

TEST(fatal_after_finally)
{
    char buf[4096];
    int st = test_in_child(child_finally_then_fatal, NULL, buf, sizeof buf);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    CHECK(strncmp(buf, "finally ran\n", 12) == 0);
    CHECK(strstr(buf, "KeyError: 'after finally'\n") != NULL);
    CHECK(strstr(buf, "wrong except") == NULL);
    CHECK(strstr(buf, "not reached") == NULL);
}

static void child_print_to_stderr(void *arg)
{
    (void)arg;
    yc_exc *e = yc_exc_new(&yc_IndexError, "to stderr");
    yc_exc_print(e, NULL); /* NULL: stderr */
    yc_exc_unref(e);
}

TEST(print_null_file_is_stderr)
{
    char buf[256];
    int st = test_in_child(child_print_to_stderr, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(buf, "IndexError: to stderr\n");
}

static yc_val gen_uncaught_no_fatal(void *arg)
{
    (void)arg;
    yc_raisef(&yc_ValueError, "ends the generator only");
    return YC_NONE;
}

static void child_gen_raise(void *arg)
{
    (void)arg;
    yc_set_fatal_hook(fatal_exit_hook, (void *)"gen");
    yc_gen *g = yc_gen_new(gen_uncaught_no_fatal, NULL, NULL);
    int st = yc_next(g, NULL);
    yc_err_clear();
    yc_gen_free(g);
    _exit(st == YC_RAISE ? 0 : 1);
}

TEST(fatal_not_called_for_generator_raise)
{
    char buf[4096];
    int st = test_in_child(child_gen_raise, NULL, buf, sizeof buf);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(buf, "");
}

TEST_MAIN()
