/* Exception groups (PEP 654): the two types and their place in the
 * hierarchy (two bases), making groups and CPython 3.13's rules and
 * messages for it, accessors, split and subgroup, catching, ownership and
 * cycles, deep nesting (no recursion), and printing: the scenarios of
 * exc_group_print.py, built here in C and compared line by line with
 * CPython's output, stored (exc_group_print.expected, from CPython 3.13)
 * and, when a CPython >= 3.11 was found at configure time, live. */
#include "test.h"

#include <stdarg.h>

#ifndef YC_SOURCE_DIR
#  define YC_SOURCE_DIR "."
#endif
#ifndef YC_GROUP_PYTHON
#  define YC_GROUP_PYTHON ""
#endif

/* ---- helpers ----------------------------------------------------------- */

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

#define CHECK_FMT(e, text)                                                    \
    do {                                                                      \
        char fbuf_[512];                                                      \
        yc_exc_format((e), fbuf_, sizeof fbuf_);                              \
        CHECK_STR(fbuf_, (text));                                             \
    } while (0)

/* yc_exc_group_new over the arguments (each an exception, taken). */
#define GROUP(msg, ...)                                                       \
    yc_exc_group_new((msg), (yc_exc *[]){__VA_ARGS__},                        \
                     sizeof((yc_exc *[]){__VA_ARGS__}) / sizeof(yc_exc *))

static yc_exc *E(const yc_exc_type *t, const char *msg) { return yc_exc_new(t, "%s", msg); }

/* e (taken) after a raise and catch: it has a traceback entry, and the
 * exception being handled, if any, as its context. A new reference. */
static int raise_line; /* the line of raised's raise */

static yc_exc *raised(yc_exc *e)
{
    yc_exc *volatile got = NULL;
    YC_TRY {
        raise_line = __LINE__ + 1;
        yc_raise(e);
    } YC_EXCEPT_ANY {
        got = yc_exc_ref(yc_exc_current());
    } YC_END;
    return got;
}

/* e raised while handling `handling` (raised first); takes both. */
static yc_exc *raised_during(yc_exc *e, yc_exc *handling)
{
    yc_exc *volatile got = NULL;
    YC_TRY {
        yc_raise(handling);
    } YC_EXCEPT_ANY {
        got = raised(e);
    } YC_END;
    return got;
}

/* raise e from cause (cause NULL: from None), caught; takes both. */
static yc_exc *raised_from(yc_exc *e, yc_exc *cause)
{
    yc_exc *volatile got = NULL;
    YC_TRY {
        yc_raise_from(e, cause);
    } YC_EXCEPT_ANY {
        got = yc_exc_ref(yc_exc_current());
    } YC_END;
    return got;
}

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

/* An allocator that fails every allocation. */
static void *failing_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) free(p);
    return NULL;
}

YC_EXC_TYPE(MyGroup, yc_ExceptionGroup);
YC_EXC_TYPE(MyBaseGroup, yc_BaseExceptionGroup);
YC_EXC_TYPE(MyGroupChild, MyGroup);

/* ---- types --------------------------------------------------------------- */

TEST(group_types_and_their_bases)
{
    CHECK_STR(yc_BaseExceptionGroup.name, "BaseExceptionGroup");
    CHECK(yc_BaseExceptionGroup.base == &yc_BaseException);
    CHECK(yc_BaseExceptionGroup.base2 == NULL);
    CHECK_STR(yc_ExceptionGroup.name, "ExceptionGroup");
    CHECK(yc_ExceptionGroup.base == &yc_BaseExceptionGroup);
    CHECK(yc_ExceptionGroup.base2 == &yc_Exception);
    /* ExceptionGroup's MRO: itself, BaseExceptionGroup, Exception, BaseException */
    const yc_exc_type *mro[] = {&yc_ExceptionGroup, &yc_BaseExceptionGroup, &yc_Exception,
                                &yc_BaseException};
    for (size_t i = 0; i < 4; i++) {
        CHECK(yc_type_is_subtype(&yc_ExceptionGroup, mro[i]));
        CHECK(yc_type_is_subtype(&MyGroup, mro[i]));
        CHECK(yc_type_is_subtype(&MyGroupChild, mro[i]));
    }
    CHECK(yc_type_is_subtype(&MyGroupChild, &MyGroup));
    CHECK(!yc_type_is_subtype(&yc_BaseExceptionGroup, &yc_Exception));
    CHECK(!yc_type_is_subtype(&MyBaseGroup, &yc_Exception));
    CHECK(!yc_type_is_subtype(&yc_ExceptionGroup, &yc_ValueError));
    CHECK(!yc_type_is_subtype(&yc_Exception, &yc_ExceptionGroup));
    CHECK(!yc_type_is_subtype(&yc_BaseExceptionGroup, &yc_ExceptionGroup));
    CHECK(!yc_type_is_subtype(&yc_ExceptionGroup, NULL));
    CHECK(!yc_type_is_subtype(NULL, &yc_ExceptionGroup));
}

/* Malformed graphs through base2: loops, an exponential lattice, more
 * second bases waiting than the walk keeps. The walk ends every time. */
static yc_exc_type lattice[40], self_second = {.name = "SelfSecond"}, comb[40];
static const yc_exc_type unrelated = {.name = "Unrelated"};

TEST(subtype_walk_ends_on_malformed_types)
{
    /* every type's two bases are the next one: 2^40 paths to the end */
    for (int i = 0; i < 40; i++) {
        lattice[i].name = "Lattice";
        lattice[i].base = lattice[i].base2 = i + 1 < 40 ? &lattice[i + 1] : &yc_Exception;
    }
    CHECK(yc_type_is_subtype(&lattice[0], &lattice[5]));
    CHECK(yc_type_is_subtype(&lattice[0], &yc_Exception));
    CHECK(!yc_type_is_subtype(&lattice[0], &unrelated)); /* bounded, not 2^40 steps */
    /* a type that is its own second base */
    self_second.base = &yc_Exception;
    self_second.base2 = &self_second;
    CHECK(yc_type_is_subtype(&self_second, &yc_BaseException));
    CHECK(!yc_type_is_subtype(&self_second, &unrelated));
    /* a comb: a chain of first bases, each with a second base ending in
     * Exception; only the first second bases wait, the rest are skipped */
    for (int i = 0; i < 40; i++) {
        comb[i].name = "Comb";
        comb[i].base = i + 1 < 40 ? &comb[i + 1] : NULL;
        comb[i].base2 = &yc_ValueError;
    }
    CHECK(yc_type_is_subtype(&comb[0], &comb[39]));
    CHECK(yc_type_is_subtype(&comb[0], &yc_ValueError));
    CHECK(!yc_type_is_subtype(&comb[0], &unrelated));
    yc_exc *e = yc_exc_new(&lattice[0], "x");
    CHECK(yc_exc_is(e, &yc_Exception));
    CHECK(!yc_exc_is(e, &unrelated));
    yc_exc_unref(e);
}

/* ---- making groups ------------------------------------------------------- */

TEST(group_new_picks_the_type_by_members)
{
    yc_exc *v = E(&yc_ValueError, "1"), *t = E(&yc_TypeError, "2");
    yc_exc *g = GROUP("unhandled errors in a TaskGroup", v, t);
    CHECK(yc_exc_type_of(g) == &yc_ExceptionGroup);
    CHECK(yc_exc_is_group(g));
    CHECK(yc_exc_is(g, &yc_Exception));
    CHECK(yc_exc_is(g, &yc_BaseExceptionGroup));
    CHECK_EQ_INT(yc_exc_group_size(g), 2);
    CHECK(yc_exc_group_item(g, 0) == v);
    CHECK(yc_exc_group_item(g, 1) == t);
    CHECK(yc_exc_group_item(g, 2) == NULL);
    CHECK_STR(yc_exc_msg(g), "unhandled errors in a TaskGroup");
    CHECK_FMT(g, "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)");
    CHECK(yc_exc_context(g) == NULL && yc_exc_cause(g) == NULL);
    CHECK_EQ_INT(live_excs(), 3);
    yc_exc_unref(g); /* frees the members with it */
    CHECK_EQ_INT(live_excs(), 0);

    /* one BaseException member: BaseExceptionGroup, not an Exception */
    g = GROUP("b", yc_exc_new(&yc_KeyboardInterrupt, NULL), E(&yc_ValueError, "v"));
    CHECK(yc_exc_type_of(g) == &yc_BaseExceptionGroup);
    CHECK(!yc_exc_is(g, &yc_Exception));
    CHECK_FMT(g, "BaseExceptionGroup: b (2 sub-exceptions)");
    yc_exc_unref(g);

    /* one member, an empty message */
    g = GROUP("", yc_exc_new(&yc_CancelledError, NULL));
    CHECK(yc_exc_type_of(g) == &yc_BaseExceptionGroup);
    CHECK_STR(yc_exc_msg(g), "");
    CHECK_FMT(g, "BaseExceptionGroup:  (1 sub-exception)");
    yc_exc_unref(g);

    /* a group of groups; the preallocated MemoryError can be a member */
    yc_exc *inner = GROUP("inner", E(&yc_OSError, "o"));
    yc_set_allocator(failing_alloc, NULL);
    yc_exc *nomem = E(&yc_ValueError, "lost");
    yc_set_allocator(NULL, NULL);
    CHECK(yc_exc_type_of(nomem) == &yc_MemoryError);
    g = GROUP("outer", inner, yc_exc_new_value(&yc_StopIteration, yc_int(3)), nomem);
    CHECK(yc_exc_type_of(g) == &yc_ExceptionGroup);
    CHECK(yc_exc_group_item(g, 0) == inner);
    CHECK(yc_exc_is_group(yc_exc_group_item(g, 0)));
    CHECK(!yc_exc_is_group(yc_exc_group_item(g, 1)));
    CHECK(yc_exc_group_item(g, 2) == nomem);
    CHECK_FMT(g, "ExceptionGroup: outer (3 sub-exceptions)");
    yc_exc_unref(g);
}

TEST(group_new_type_rules)
{
    /* an ExceptionGroup asked for explicitly */
    yc_exc *g = yc_exc_group_new_type(&yc_ExceptionGroup, "m",
                                      (yc_exc *[]){E(&yc_ValueError, "1")}, 1);
    CHECK(yc_exc_type_of(g) == &yc_ExceptionGroup);
    yc_exc_unref(g);
    /* ... cannot hold a BaseException; the members are released */
    g = yc_exc_group_new_type(&yc_ExceptionGroup, "m",
                              (yc_exc *[]){E(&yc_ValueError, "1"),
                                           yc_exc_new(&yc_KeyboardInterrupt, NULL)},
                              2);
    CHECK(g == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: Cannot nest BaseExceptions in an ExceptionGroup");
    CHECK_EQ_INT(live_excs(), 0);
    /* nor can a user type deriving from Exception */
    g = yc_exc_group_new_type(&MyGroup, "m", (yc_exc *[]){yc_exc_new(&yc_SystemExit, NULL)}, 1);
    CHECK(g == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: Cannot nest BaseExceptions in 'MyGroup'");
    /* a user type keeps its type */
    g = yc_exc_group_new_type(&MyGroupChild, "c", (yc_exc *[]){E(&yc_ValueError, "1")}, 1);
    CHECK(yc_exc_type_of(g) == &MyGroupChild);
    CHECK(yc_exc_is(g, &yc_BaseExceptionGroup) && yc_exc_is(g, &yc_Exception));
    CHECK_FMT(g, "MyGroupChild: c (1 sub-exception)");
    yc_exc_unref(g);
    /* a user BaseExceptionGroup takes both kinds and keeps its type */
    g = yc_exc_group_new_type(&MyBaseGroup, "b", (yc_exc *[]){E(&yc_ValueError, "1")}, 1);
    CHECK(yc_exc_type_of(g) == &MyBaseGroup);
    yc_exc_unref(g);
    g = yc_exc_group_new_type(&MyBaseGroup, "b",
                              (yc_exc *[]){yc_exc_new(&yc_KeyboardInterrupt, NULL)}, 1);
    CHECK(yc_exc_type_of(g) == &MyBaseGroup);
    yc_exc_unref(g);
    /* not a group type */
    g = yc_exc_group_new_type(&yc_ValueError, "m", (yc_exc *[]){E(&yc_ValueError, "1")}, 1);
    CHECK(g == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: BaseExceptionGroup.__new__(ValueError): ValueError is "
                             "not a subtype of BaseExceptionGroup");
    g = yc_exc_group_new_type(NULL, "m", (yc_exc *[]){E(&yc_ValueError, "1")}, 1);
    CHECK(g == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: BaseExceptionGroup.__new__(NULL): NULL is not a "
                             "subtype of BaseExceptionGroup");
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(group_new_misuse)
{
    static char not_an_exception[256]; /* no magic: a foreign pointer */
    CHECK(yc_exc_group_new("m", NULL, 0) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: second argument (exceptions) must be a non-empty sequence");
    yc_exc *one[1] = {NULL};
    CHECK(yc_exc_group_new("m", one, 0) == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    CHECK(yc_exc_group_new("m", NULL, 2) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: second argument (exceptions) must be a sequence");
    CHECK(yc_exc_group_new(NULL, (yc_exc *[]){E(&yc_ValueError, "1")}, 1) == NULL);
    CHECK_EXC(&yc_TypeError,
              "TypeError: BaseExceptionGroup.__new__() argument 1 must be str, not None");
    /* a NULL or foreign item: the valid ones are taken, the foreign one
     * left alone */
    CHECK(GROUP("m", E(&yc_ValueError, "1"), NULL, E(&yc_TypeError, "2")) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: Item 1 of second argument (exceptions) is not an exception");
    memset(not_an_exception, 0x5a, sizeof not_an_exception);
    CHECK(GROUP("m", (yc_exc *)not_an_exception, E(&yc_TypeError, "2")) == NULL);
    CHECK_EXC(&yc_ValueError,
              "ValueError: Item 0 of second argument (exceptions) is not an exception");
    for (size_t i = 0; i < sizeof not_an_exception; i++)
        if (not_an_exception[i] != 0x5a) {
            CHECK(!"the foreign item was written to");
            break;
        }
    CHECK_EQ_INT(live_excs(), 0);
    /* inside a handler, the error gets the handled exception as context */
    YC_TRY {
        yc_raisef(&yc_KeyError, "handled");
    } YC_EXCEPT_ANY {
        CHECK(yc_exc_group_new("m", NULL, 0) == NULL);
        CHECK(yc_exc_is(yc_exc_context(yc_err_get()), &yc_KeyError));
        yc_err_clear();
    } YC_END;
}

/* ExceptionGroup("m") in Python fails; so do the plain constructors. */
TEST(plain_constructors_refuse_group_types)
{
    yc_exc *e = yc_exc_new(&yc_ExceptionGroup, "m");
    CHECK_FMT(e, "TypeError: BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)");
    yc_exc_unref(e);
    e = yc_exc_new(&yc_BaseExceptionGroup, NULL);
    CHECK_FMT(e, "TypeError: BaseExceptionGroup.__new__() takes exactly 2 arguments (0 given)");
    yc_exc_unref(e);
    e = yc_exc_new(&MyGroup, "%s", ""); /* ExceptionGroup(''): an argument */
    CHECK_FMT(e, "TypeError: BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)");
    yc_exc_unref(e);
    e = yc_exc_new_value(&MyBaseGroup, yc_int(1));
    CHECK_FMT(e, "TypeError: BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)");
    CHECK(yc_is_none(yc_exc_value(e)));
    yc_exc_unref(e);
    e = yc_exc_new_errno(&yc_ExceptionGroup, ENOENT, "f");
    CHECK_FMT(e, "TypeError: BaseExceptionGroup.__new__() takes exactly 2 arguments (1 given)");
    CHECK_EQ_INT(yc_exc_errno(e), 0);
    CHECK(!yc_exc_is_group(e));
    yc_exc_unref(e);
}

TEST(group_accessors_on_other_things)
{
    yc_exc *v = E(&yc_ValueError, "1");
    CHECK(!yc_exc_is_group(v));
    CHECK(!yc_exc_is_group(NULL));
    CHECK_EQ_INT(yc_exc_group_size(v), 0);
    CHECK_EQ_INT(yc_exc_group_size(NULL), 0);
    CHECK(yc_exc_group_item(v, 0) == NULL);
    CHECK(yc_exc_group_item(NULL, 0) == NULL);
    yc_exc_unref(v);
}

/* ---- split and subgroup ----------------------------------------------------- */

/* "Type: message" of every member, nested groups in brackets. */
static void shape(const yc_exc *e, char *buf, size_t n)
{
    size_t len = strlen(buf);
    if (!e) {
        snprintf(buf + len, n - len, "None");
        return;
    }
    if (!yc_exc_is_group(e)) {
        yc_exc_format(e, buf + len, n - len);
        return;
    }
    snprintf(buf + len, n - len, "%s(%s: ", yc_exc_type_of(e)->name, yc_exc_msg(e));
    for (size_t i = 0; i < yc_exc_group_size(e); i++) {
        if (i) strncat(buf, ", ", n - strlen(buf) - 1);
        shape(yc_exc_group_item(e, i), buf, n);
    }
    strncat(buf, ")", n - strlen(buf) - 1);
}

#define CHECK_SHAPE(e, text)                                                  \
    do {                                                                      \
        char sbuf_[1024] = "";                                                \
        shape((e), sbuf_, sizeof sbuf_);                                      \
        CHECK_STR(sbuf_, (text));                                             \
    } while (0)

/* ExceptionGroup('s', [ValueError('1'), TypeError('2'),
 *                      ExceptionGroup('n', [ValueError('3'), OSError('4')])]) */
static yc_exc *sample(void)
{
    return GROUP("s", E(&yc_ValueError, "1"), E(&yc_TypeError, "2"),
                 GROUP("n", E(&yc_ValueError, "3"), E(&yc_OSError, "4")));
}

TEST(split_by_type)
{
    yc_exc *g = sample(), *m, *r;
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, &m, &r), YC_OK);
    CHECK_SHAPE(m, "ExceptionGroup(s: ValueError: 1, ExceptionGroup(n: ValueError: 3))");
    CHECK_SHAPE(r, "ExceptionGroup(s: TypeError: 2, ExceptionGroup(n: OSError: 4))");
    /* the leaves are the same objects; the groups are new */
    CHECK(yc_exc_group_item(m, 0) == yc_exc_group_item(g, 0));
    CHECK(yc_exc_group_item(r, 0) == yc_exc_group_item(g, 1));
    CHECK(yc_exc_group_item(m, 1) != yc_exc_group_item(g, 2));
    yc_exc_unref(m);
    yc_exc_unref(r);

    /* a nested group matching as a whole is kept as it is */
    CHECK_ST(yc_exc_group_split(g, &yc_BaseExceptionGroup, &m, &r), YC_OK);
    CHECK(m == g && r == NULL);
    yc_exc_unref(m);
    CHECK_ST(yc_exc_group_split(g, &yc_Exception, &m, &r), YC_OK);
    CHECK(m == g && r == NULL);
    yc_exc_unref(m);
    /* OSError: only inside the nested group */
    CHECK_ST(yc_exc_group_split(g, &yc_OSError, &m, &r), YC_OK);
    CHECK_SHAPE(m, "ExceptionGroup(s: ExceptionGroup(n: OSError: 4))");
    CHECK_SHAPE(r, "ExceptionGroup(s: ValueError: 1, TypeError: 2, ExceptionGroup(n: ValueError: "
                   "3))");
    yc_exc_unref(m);
    yc_exc_unref(r);
    /* nothing matches: no match, and the rest is a new group all the same */
    CHECK_ST(yc_exc_group_split(g, &yc_KeyError, &m, &r), YC_OK);
    CHECK(m == NULL);
    CHECK(r != g);
    CHECK_SHAPE(r, "ExceptionGroup(s: ValueError: 1, TypeError: 2, ExceptionGroup(n: ValueError: "
                   "3, OSError: 4))");
    CHECK(yc_exc_group_item(r, 2) != yc_exc_group_item(g, 2));
    yc_exc_unref(r);
    yc_exc_unref(g);
    /* everything matches, leaf by leaf: a new group too, and no rest */
    g = GROUP("all", E(&yc_ValueError, "1"), GROUP("n", E(&yc_ValueError, "2")));
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, &m, &r), YC_OK);
    CHECK(m != g && r == NULL);
    CHECK_SHAPE(m, "ExceptionGroup(all: ValueError: 1, ExceptionGroup(n: ValueError: 2))");
    yc_exc_unref(m);
    yc_exc_unref(g);
}

TEST(split_derives_type_and_metadata)
{
    /* the parts keep the message, traceback, cause and context, and have
     * __suppress_context__ set (PyException_SetCause in CPython's split) */
    yc_exc *c = raised(E(&yc_OSError, "ctx"));
    yc_exc *volatile got = NULL;
    YC_TRY {
        yc_raise(yc_exc_ref(c));
    } YC_EXCEPT_ANY {
        got = raised_from(sample(), E(&yc_RuntimeError, "cause"));
    } YC_END;
    yc_exc *g = got, *m, *r;
    CHECK(yc_exc_context(g) == c);
    CHECK(yc_exc_cause(g) != NULL);
    CHECK_ST(yc_exc_group_split(g, &yc_TypeError, &m, &r), YC_OK);
    yc_exc *parts[2] = {m, r};
    for (int i = 0; i < 2; i++) {
        CHECK_STR(yc_exc_msg(parts[i]), "s");
        CHECK(yc_exc_context(parts[i]) == c);
        CHECK(yc_exc_cause(parts[i]) == yc_exc_cause(g));
        CHECK(yc_exc_suppress_context(parts[i]));
        size_t n1, n2;
        const yc_tb_entry *t1 = yc_exc_traceback(g, &n1), *t2 = yc_exc_traceback(parts[i], &n2);
        CHECK(n1 > 0);
        CHECK_EQ_INT(n2, n1);
        for (size_t k = 0; k < n1 && k < n2; k++) {
            CHECK_STR(t2[k].file, t1[k].file);
            CHECK_EQ_INT(t2[k].line, t1[k].line);
            CHECK_STR(t2[k].where, t1[k].where);
            CHECK(t2[k].where != t1[k].where); /* a copy */
        }
    }
    /* a nested group's part takes that group's metadata: none here */
    yc_exc *n = yc_exc_group_item(r, 1);
    CHECK(yc_exc_is_group(n) && yc_exc_context(n) == NULL && yc_exc_cause(n) == NULL);
    CHECK(yc_exc_suppress_context(n));
    yc_exc_unref(m);
    yc_exc_unref(r);
    yc_exc_unref(g);
    yc_exc_unref(c);

    /* a split without a cause still suppresses the context */
    g = raised_during(GROUP("s", E(&yc_ValueError, "1"), E(&yc_TypeError, "2")),
                      E(&yc_OSError, "ctx"));
    CHECK(!yc_exc_suppress_context(g));
    CHECK_ST(yc_exc_group_split(g, &yc_TypeError, NULL, &r), YC_OK);
    CHECK(yc_exc_suppress_context(r) && yc_exc_context(r) == yc_exc_context(g));
    yc_exc_unref(r);
    yc_exc_unref(g);

    /* BaseExceptionGroup minus its BaseExceptions is an ExceptionGroup;
     * a user type's parts are plain groups, as its default derive makes */
    g = GROUP("b", yc_exc_new(&yc_KeyboardInterrupt, NULL), E(&yc_ValueError, "v"));
    CHECK_ST(yc_exc_group_split(g, &yc_KeyboardInterrupt, &m, &r), YC_OK);
    CHECK(yc_exc_type_of(m) == &yc_BaseExceptionGroup);
    CHECK(yc_exc_type_of(r) == &yc_ExceptionGroup);
    yc_exc_unref(m);
    yc_exc_unref(r);
    yc_exc_unref(g);
    g = yc_exc_group_new_type(&MyGroup, "x",
                              (yc_exc *[]){E(&yc_ValueError, "1"), E(&yc_TypeError, "2")}, 2);
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, &m, &r), YC_OK);
    CHECK(yc_exc_type_of(m) == &yc_ExceptionGroup && yc_exc_type_of(r) == &yc_ExceptionGroup);
    yc_exc_unref(m);
    yc_exc_unref(r);
    CHECK_ST(yc_exc_group_split(g, &MyGroup, &m, &r), YC_OK);
    CHECK(m == g && r == NULL);
    yc_exc_unref(m);
    yc_exc_unref(g);
}

TEST(split_wanting_one_part)
{
    yc_exc *g = sample(), *m = g, *r = g;
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, &m, NULL), YC_OK);
    CHECK_SHAPE(m, "ExceptionGroup(s: ValueError: 1, ExceptionGroup(n: ValueError: 3))");
    yc_exc_unref(m);
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, NULL, &r), YC_OK);
    CHECK_SHAPE(r, "ExceptionGroup(s: TypeError: 2, ExceptionGroup(n: OSError: 4))");
    yc_exc_unref(r);
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, NULL, NULL), YC_OK);
    CHECK_EQ_INT(live_excs(), 6);
    /* subgroup: the match */
    m = yc_exc_group_subgroup(g, &yc_OSError);
    CHECK_SHAPE(m, "ExceptionGroup(s: ExceptionGroup(n: OSError: 4))");
    yc_exc_unref(m);
    CHECK(yc_exc_group_subgroup(g, &yc_ExceptionGroup) == g);
    yc_exc_unref(g);
    CHECK(yc_exc_group_subgroup(g, &yc_KeyError) == NULL);
    CHECK(yc_err_get() == NULL); /* nothing matched is no error */
    yc_exc_unref(g);
}

TEST(split_misuse)
{
    static char not_an_exception[256];
    yc_exc *m = (yc_exc *)not_an_exception, *r = (yc_exc *)not_an_exception;
    CHECK_ST(yc_exc_group_split(NULL, &yc_ValueError, &m, &r), YC_EINVAL);
    CHECK(m == NULL && r == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: exceptions must be classes or instances deriving from "
                             "BaseException, not NULL");
    CHECK_ST(yc_exc_group_split((yc_exc *)not_an_exception, &yc_ValueError, &m, &r), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, NULL);
    yc_exc *v = E(&yc_ValueError, "1");
    CHECK_ST(yc_exc_group_split(v, &yc_ValueError, &m, &r), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: descriptor 'split' for 'BaseExceptionGroup' objects "
                             "doesn't apply to a 'ValueError' object");
    CHECK(yc_exc_group_subgroup(v, &yc_ValueError) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: descriptor 'subgroup' for 'BaseExceptionGroup' objects "
                             "doesn't apply to a 'ValueError' object");
    yc_exc_unref(v);
    yc_exc *g = sample();
    m = r = (yc_exc *)not_an_exception;
    CHECK_ST(yc_exc_group_split(g, NULL, &m, &r), YC_EINVAL);
    CHECK(m == NULL && r == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: expected an exception type, a tuple of exception types, "
                             "or a callable (other than a class)");
    CHECK(yc_exc_group_subgroup(g, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK(yc_exc_group_subgroup(NULL, &yc_ValueError) == NULL);
    CHECK_EXC(&yc_TypeError, NULL);
    CHECK_EQ_INT(live_excs(), 6); /* g untouched */
    yc_exc_unref(g);
}

/* ---- catching, and except* by hand ----------------------------------------- */

TEST(groups_are_caught_by_their_bases_only)
{
    volatile int by = 0;
    YC_TRY {
        YC_TRY {
            yc_raise(GROUP("g", E(&yc_ValueError, "1")));
        } YC_EXCEPT(&yc_ValueError) {
            by = 1; /* except ValueError does not look into a group */
        } YC_END;
    } YC_EXCEPT(&yc_Exception) {
        by = 2;
    } YC_END;
    CHECK_EQ_INT(by, 2);
    YC_TRY {
        yc_raise(GROUP("g", yc_exc_new(&yc_KeyboardInterrupt, NULL)));
    } YC_EXCEPT(&yc_Exception) {
        by = 3;
    } YC_EXCEPT(&yc_BaseExceptionGroup) {
        by = 4;
    } YC_END;
    CHECK_EQ_INT(by, 4);
    YC_TRY {
        yc_raise(yc_exc_group_new_type(&MyGroupChild, "g", (yc_exc *[]){E(&yc_ValueError, "1")},
                                       1));
    } YC_EXCEPT(&yc_ExceptionGroup) {
        by = 5;
    } YC_END;
    CHECK_EQ_INT(by, 5);
}

/* try: raise ... except* ValueError: (count them); the rest propagates. */
static yc_val except_star_body(void *arg)
{
    int *handled = arg;
    YC_TRY {
        yc_raise(sample());
    } YC_EXCEPT(&yc_BaseExceptionGroup) {
        yc_exc *match, *rest;
        YC_CHECK(yc_exc_group_split(yc_exc_current(), &yc_ValueError, &match, &rest));
        *handled = (int)yc_exc_group_size(match);
        yc_exc_unref(match);
        if (rest) yc_raise(rest);
    } YC_END;
    return YC_NONE;
}

TEST(except_star_by_hand)
{
    int handled = 0;
    yc_gen *g = yc_gen_new(except_star_body, &handled, &(yc_gen_opts){.name = "star"});
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK_EQ_INT(handled, 2);
    yc_exc *rest = yc_err_take();
    CHECK_SHAPE(rest, "ExceptionGroup(s: TypeError: 2, ExceptionGroup(n: OSError: 4))");
    /* raised while handling the whole group, which is its context */
    CHECK_SHAPE(yc_exc_context(rest), "ExceptionGroup(s: ValueError: 1, TypeError: 2, "
                                      "ExceptionGroup(n: ValueError: 3, OSError: 4))");
    yc_exc_unref(rest);
    yc_gen_free(g);
}

/* ---- ownership and cycles ---------------------------------------------------- */

TEST(members_are_owned_references)
{
    yc_exc *shared = E(&yc_ValueError, "shared");
    yc_exc *a = GROUP("a", yc_exc_ref(shared));
    yc_exc *b = GROUP("b", yc_exc_ref(shared), yc_exc_ref(shared)); /* twice */
    CHECK_EQ_INT(live_excs(), 3);
    yc_exc_unref(a);
    yc_exc_unref(shared);
    CHECK_EQ_INT(live_excs(), 2); /* b still holds it */
    CHECK_FMT(yc_exc_group_item(b, 1), "ValueError: shared");
    yc_exc_unref(b);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(no_cycles_through_members)
{
    yc_exc *leaf = E(&yc_ValueError, "leaf");
    yc_exc *inner = GROUP("inner", yc_exc_ref(leaf));
    yc_exc *outer = GROUP("outer", yc_exc_ref(inner));
    /* leaf.__cause__ = outer would make outer -> inner -> leaf -> outer */
    yc_exc_set_cause(leaf, yc_exc_ref(outer));
    CHECK(yc_exc_cause(leaf) == NULL);
    yc_exc_set_cause(inner, yc_exc_ref(outer));
    CHECK(yc_exc_cause(inner) == NULL);
    /* the other way round is no cycle */
    yc_exc *other = E(&yc_TypeError, "other");
    yc_exc_set_cause(other, yc_exc_ref(outer));
    CHECK(yc_exc_cause(other) == outer);
    yc_exc_unref(other);
    /* raising a member while handling its group: no __context__ (CPython
     * makes the cycle, which its garbage collector frees) */
    YC_TRY {
        yc_raise(yc_exc_ref(outer));
    } YC_EXCEPT_ANY {
        yc_exc *x = raised(yc_exc_ref(leaf));
        CHECK(yc_exc_context(x) == NULL);
        yc_exc_unref(x);
    } YC_END;
    /* raising a group while handling one of its members: context set */
    YC_TRY {
        yc_raise(yc_exc_ref(leaf));
    } YC_EXCEPT_ANY {
        yc_exc *x = raised(GROUP("new", yc_exc_ref(leaf)));
        CHECK(yc_exc_context(x) == leaf);
        yc_exc_unref(x);
    } YC_END;
    yc_exc_unref(leaf);
    yc_exc_unref(inner);
    yc_exc_unref(outer);
    CHECK_EQ_INT(live_excs(), 0);
}

/* ---- deep nesting: nothing recurses ------------------------------------------ */

#define DEEP 100000

/* Builds, splits, walks for cycles, prints and frees a group nested DEEP
 * levels, on the smallest generator stack, which a recursion per level
 * would overflow. */
static yc_val deep_body(void *arg)
{
    (void)arg;
    yc_exc *leaf = E(&yc_ValueError, "leaf");
    yc_exc *g = GROUP("d", yc_exc_ref(leaf), E(&yc_TypeError, "t"));
    for (int i = 1; i < DEEP; i++) g = GROUP("d", g);
    yc_exc *m, *r;
    CHECK_ST(yc_exc_group_split(g, &yc_ValueError, &m, &r), YC_OK);
    yc_exc *x = m;
    int depth = 0;
    for (; yc_exc_is_group(x); depth++) x = yc_exc_group_item(x, 0);
    CHECK_EQ_INT(depth, DEEP);
    CHECK(x == leaf);
    yc_exc_set_cause(leaf, yc_exc_ref(g)); /* a cycle, found at the bottom */
    CHECK(yc_exc_cause(leaf) == NULL);
    FILE *f = fopen("/dev/null", "w");
    yc_exc_print(r, f);
    fclose(f);
    yc_exc_unref(leaf);
    yc_exc_unref(m);
    yc_exc_unref(r);
    yc_exc_unref(g);
    return YC_NONE;
}

TEST(deep_nesting_without_recursion)
{
    yc_gen *g = yc_gen_new(deep_body, NULL, &(yc_gen_opts){.stack_size = YC_STACK_MIN});
    CHECK_ST(yc_next(g, NULL), YC_RETURN);
    yc_gen_free(g);
}

/* ---- printing ------------------------------------------------------------------ */

TEST(print_group_with_c_tracebacks)
{
    yc_exc *g = raised(GROUP("g", raised(E(&yc_ValueError, "1")), E(&yc_TypeError, "2")));
    char *s = print_to_string(g), want[2048];
    snprintf(want, sizeof want,
             "  + Exception Group Traceback (most recent call last):\n"
             "  |   File \"%s\", line %d, in raised\n"
             "  | ExceptionGroup: g (2 sub-exceptions)\n"
             "  +-+---------------- 1 ----------------\n"
             "    | Traceback (most recent call last):\n"
             "    |   File \"%s\", line %d, in raised\n"
             "    | ValueError: 1\n"
             "    +---------------- 2 ----------------\n"
             "    | TypeError: 2\n"
             "    +------------------------------------\n",
             __FILE__, raise_line, __FILE__, raise_line);
    CHECK_STR(s, want);
    free(s);
    yc_exc_unref(g);
}

/* A generator's raise names it, behind the margin too. */
static int gen_raise_line;

static yc_val raise_group_body(void *arg)
{
    (void)arg;
    gen_raise_line = __LINE__ + 1;
    yc_raise(GROUP("in gen", E(&yc_ValueError, "1")));
    return YC_NONE;
}

TEST(print_group_raised_in_a_generator)
{
    yc_gen *gen = yc_gen_new(raise_group_body, NULL, &(yc_gen_opts){.name = "worker"});
    CHECK_ST(yc_next(gen, NULL), YC_RAISE);
    yc_exc *g = yc_err_take();
    char *s = print_to_string(g), want[1024];
    snprintf(want, sizeof want,
             "  + Exception Group Traceback (most recent call last):\n"
             "  |   File \"%s\", line %d, in raise_group_body (generator 'worker')\n"
             "  | ExceptionGroup: in gen (1 sub-exception)\n"
             "  +-+---------------- 1 ----------------\n"
             "    | ValueError: 1\n"
             "    +------------------------------------\n",
             __FILE__, gen_raise_line);
    CHECK_STR(s, want);
    free(s);
    yc_exc_unref(g);
    yc_gen_free(gen);
}

TEST(print_without_memory_prints_one_line)
{
    yc_exc *members[40];
    for (int i = 0; i < 40; i++) members[i] = E(&yc_ValueError, "v");
    yc_exc *g = yc_exc_group_new("big", members, 40); /* more nodes than fit inline */
    yc_set_allocator(failing_alloc, NULL);
    char *s = print_to_string(g);
    yc_set_allocator(NULL, NULL);
    CHECK_STR(s, "ExceptionGroup: big (40 sub-exceptions)\n");
    free(s);
    yc_exc_unref(g);
}

/* ---- the CPython comparison ------------------------------------------------- */

/* The scenarios of exc_group_print.py, one builder each, in its order. */
static yc_exc *sc_taskgroup(void)
{
    return GROUP("unhandled errors in a TaskGroup", E(&yc_ValueError, "1"), E(&yc_TypeError, "2"));
}

static yc_exc *sc_one_member(void) { return GROUP("m", E(&yc_ValueError, "x")); }
static yc_exc *sc_empty_message(void) { return GROUP("", yc_exc_new(&yc_ValueError, NULL)); }

static yc_exc *sc_base_group(void)
{
    return GROUP("b", yc_exc_new(&yc_KeyboardInterrupt, NULL), E(&yc_ValueError, "v"));
}

static yc_exc *sc_nested(void)
{
    yc_exc *inner = GROUP("inner", E(&yc_ValueError, "a"), E(&yc_OSError, "b"));
    return GROUP("outer", inner, E(&yc_RuntimeError, "c"));
}

static yc_exc *sc_nested_last(void)
{
    yc_exc *inner =
        GROUP("inner", E(&yc_ValueError, "a"), GROUP("innermost", E(&yc_OSError, "b")));
    return GROUP("outer", E(&yc_RuntimeError, "c"), inner);
}

static yc_exc *sc_member_cause(void)
{
    yc_exc *v = E(&yc_ValueError, "x");
    yc_exc_set_cause(v, E(&yc_TypeError, "k"));
    return GROUP("m", v, E(&yc_OSError, "o"));
}

static yc_exc *sc_member_cause_group(void)
{
    yc_exc *v = E(&yc_ValueError, "x");
    yc_exc_set_cause(v, GROUP("cause", E(&yc_TypeError, "k"), E(&yc_OSError, "o")));
    return GROUP("m", v);
}

static yc_exc *sc_member_context_group_last(void)
{
    yc_exc *leaf = raised_during(E(&yc_TypeError, "leaf"), GROUP("g2", E(&yc_ValueError, "z")));
    return GROUP("top", E(&yc_ValueError, "1"), leaf);
}

static yc_exc *sc_leaf_with_group_context(void)
{
    return raised_during(E(&yc_ValueError, "top"), GROUP("ctx", raised(E(&yc_TypeError, "t"))));
}

static yc_exc *sc_raised_groups(void)
{
    yc_exc *inner = raised(GROUP("inner", raised(E(&yc_ValueError, "1"))));
    return raised(GROUP("r", inner, E(&yc_TypeError, "2")));
}

static yc_exc *sc_group_from_cause(void)
{
    return raised_from(GROUP("g", E(&yc_ValueError, "1")), E(&yc_OSError, "why"));
}

static yc_exc *sc_group_from_none(void)
{
    yc_exc *volatile got = NULL;
    YC_TRY {
        yc_raisef(&yc_OSError, "hidden");
    } YC_EXCEPT_ANY {
        got = raised_from(GROUP("g", E(&yc_ValueError, "1")), NULL);
    } YC_END;
    return got;
}

static yc_exc *sc_shared_context(void)
{
    yc_exc *c = raised(E(&yc_OSError, "shared"));
    yc_exc *a = raised_during(E(&yc_ValueError, "a"), yc_exc_ref(c));
    yc_exc *b = raised_during(E(&yc_TypeError, "b"), c);
    return GROUP("sh", a, b);
}

static yc_exc *sc_group_and_members_share_context(void)
{
    yc_exc *c = raised(E(&yc_OSError, "shared"));
    yc_exc *a = raised_during(E(&yc_ValueError, "a"), yc_exc_ref(c));
    yc_exc *b = raised_during(E(&yc_TypeError, "b"), yc_exc_ref(c));
    return raised_during(GROUP("g", a, b), c);
}

static yc_exc *sc_same_member_twice(void)
{
    yc_exc *e = raised_during(E(&yc_ValueError, "same"), raised(E(&yc_OSError, "c")));
    return GROUP("twice", e, yc_exc_ref(e));
}

static yc_exc *sc_hidden_member_takes_shared_context(void)
{
    yc_exc *c = raised(E(&yc_OSError, "c")), *m[17];
    for (int i = 1; i < 16; i++) m[i] = yc_exc_new(&yc_ValueError, "%d", i);
    m[0] = raised_during(E(&yc_ValueError, "first"), yc_exc_ref(c));
    m[16] = raised_during(E(&yc_ValueError, "hidden"), c);
    return yc_exc_group_new("w", m, 17);
}

static yc_exc *sc_deep(void)
{
    yc_exc *g = E(&yc_ValueError, "leaf");
    for (int i = 0; i < 12; i++) {
        char msg[16];
        snprintf(msg, sizeof msg, "d%d", i);
        g = GROUP(msg, g);
    }
    return g;
}

static yc_exc *sc_deep_chain_inside(void)
{
    yc_exc *g = E(&yc_ValueError, "leaf");
    for (int i = 0; i < 9; i++) {
        char msg[16];
        snprintf(msg, sizeof msg, "d%d", i);
        g = GROUP(msg, g);
    }
    yc_exc *v = E(&yc_ValueError, "v");
    yc_exc_set_cause(v, GROUP("c", GROUP("cc", E(&yc_TypeError, "t"))));
    return GROUP("top", g, v);
}

static yc_exc *wide(const char *msg, const yc_exc_type *t, int n)
{
    yc_exc *m[32];
    for (int i = 0; i < n; i++) m[i] = yc_exc_new(t, "%d", i);
    return yc_exc_group_new(msg, m, (size_t)n);
}

static yc_exc *sc_wide15(void) { return wide("w", &yc_ValueError, 15); }
static yc_exc *sc_wide16(void) { return wide("w", &yc_ValueError, 16); }

static yc_exc *sc_wide20_nested(void)
{
    return GROUP("outer", wide("w", &yc_TypeError, 20), E(&yc_ValueError, "x"));
}

static yc_exc *sc_multiline(void)
{
    return GROUP("top\nsecond", E(&yc_ValueError, "a\nb"), GROUP("in\nner", E(&yc_TypeError, "c\nd")));
}

static yc_exc *sc_stop_iteration_value(void)
{
    return GROUP("v", yc_exc_new_value(&yc_StopIteration, yc_int(3)),
                 yc_exc_new_value(&yc_StopIteration, YC_NONE));
}

/* split_source() of the script: sample() raised from a cause while
 * handling another exception. */
static yc_exc *split_source(void)
{
    yc_exc *c = raised(E(&yc_OSError, "ctx"));
    yc_exc *volatile got = NULL;
    YC_TRY {
        yc_raise(c);
    } YC_EXCEPT_ANY {
        got = raised_from(sample(), E(&yc_RuntimeError, "cause"));
    } YC_END;
    return got;
}

static yc_exc *split_part(yc_exc *g, const yc_exc_type *t, bool want_match)
{
    yc_exc *m = NULL, *r = NULL;
    CHECK_ST(yc_exc_group_split(g, t, &m, &r), YC_OK);
    yc_exc_unref(g);
    yc_exc_unref(want_match ? r : m);
    return want_match ? m : r;
}

static yc_exc *sc_split_match(void) { return split_part(split_source(), &yc_ValueError, true); }
static yc_exc *sc_split_rest(void) { return split_part(split_source(), &yc_ValueError, false); }

static yc_exc *sc_split_context_suppressed(void)
{
    yc_exc *g = raised_during(GROUP("s", E(&yc_ValueError, "1"), E(&yc_TypeError, "2")),
                              E(&yc_OSError, "ctx"));
    return split_part(g, &yc_TypeError, false);
}

static yc_exc *sc_split_base_group(void)
{
    yc_exc *g = GROUP("b", yc_exc_new(&yc_KeyboardInterrupt, NULL), E(&yc_ValueError, "v"),
                      E(&yc_TypeError, "t"));
    return split_part(g, &yc_KeyboardInterrupt, false);
}

static const struct scenario {
    const char *name;
    yc_exc *(*build)(void);
} scenarios[] = {
#define SC(n) {#n, sc_##n}
    SC(taskgroup), SC(one_member), SC(empty_message), SC(base_group), SC(nested),
    SC(nested_last), SC(member_cause), SC(member_cause_group), SC(member_context_group_last),
    SC(leaf_with_group_context), SC(raised_groups), SC(group_from_cause), SC(group_from_none),
    SC(shared_context), SC(group_and_members_share_context), SC(same_member_twice),
    SC(hidden_member_takes_shared_context), SC(deep), SC(deep_chain_inside), SC(wide15),
    SC(wide16), SC(wide20_nested), SC(multiline), SC(stop_iteration_value), SC(split_match),
    SC(split_rest), SC(split_context_suppressed), SC(split_base_group),
#undef SC
};

/* The script's normalisation: each run of traceback "File" lines becomes
 * one line "<margin>  File". Returns a malloc'd string. */
static char *normalise(const char *text)
{
    char *out = malloc(strlen(text) + 1), *o = out, *last = NULL;
    for (const char *p = text; *p;) {
        size_t len = strcspn(p, "\n");
        const char *file = strstr(p, "  File \"");
        size_t pre = file && (size_t)(file - p) < len ? (size_t)(file - p) : len;
        size_t sp = 0;
        while (sp < pre && p[sp] == ' ') sp++;
        bool margin_only =
            sp == pre || (sp + 2 == pre && (p[sp] == '|' || p[sp] == '+') && p[sp + 1] == ' ');
        char *line = o;
        if (pre < len && margin_only) {
            memcpy(o, p, pre);
            memcpy(o + pre, "  File\n", 7);
            o += pre + 7;
            if (last && o - line == line - last && memcmp(last, line, (size_t)(o - line)) == 0)
                o = line; /* the same line again: one per run */
            else last = line;
        } else {
            memcpy(o, p, len);
            o[len] = '\n';
            o += len + 1;
            last = line;
        }
        p += len + (p[len] == '\n');
    }
    *o = '\0';
    return out;
}

/* The text of section "=== name" of a scenario file, malloc'd, or NULL. */
static char *section(const char *all, const char *name)
{
    char head[128];
    snprintf(head, sizeof head, "=== %s\n", name);
    const char *p = strstr(all, head);
    if (!p) return NULL;
    p += strlen(head);
    const char *end = strstr(p, "\n=== ");
    size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static char *read_stream(FILE *f)
{
    char *s = NULL;
    size_t n = 0, cap = 0, k;
    char buf[4096];
    while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
        if (n + k + 1 > cap) s = realloc(s, cap = 2 * (n + k + 1));
        memcpy(s + n, buf, k);
        n += k;
    }
    if (s) s[n] = '\0';
    return s;
}

/* Prints the first differing line of want and got. */
static void compare(const char *what, const char *name, const char *want, const char *got)
{
    if (strcmp(want, got) == 0) return;
    int line = 1;
    const char *w = want, *g = got;
    while (*w && *w == *g) {
        if (*w == '\n') line++;
        w++, g++;
    }
    test_fail(__FILE__, __LINE__, "%s: scenario %s differs from CPython at line %d:\n%s\n--- "
                                  "yieldc:\n%s", what, name, line, want, got);
}

/* Compares every scenario with the sections of all (CPython's output). */
static void compare_all(const char *what, const char *all)
{
    for (size_t i = 0; i < sizeof scenarios / sizeof scenarios[0]; i++) {
        char *want = section(all, scenarios[i].name);
        if (!want) {
            test_fail(__FILE__, __LINE__, "%s has no scenario %s", what, scenarios[i].name);
            continue;
        }
        yc_exc *e = scenarios[i].build();
        char *printed = print_to_string(e), *got = normalise(printed);
        compare(what, scenarios[i].name, want, got);
        free(printed);
        free(got);
        free(want);
        yc_exc_unref(e);
    }
}

TEST(print_matches_cpython_stored)
{
    FILE *f = fopen(YC_SOURCE_DIR "/tests/exc_group_print.expected", "r");
    if (!f) {
        test_fail(__FILE__, __LINE__, "cannot read %s/tests/exc_group_print.expected",
                  YC_SOURCE_DIR);
        return;
    }
    char *all = read_stream(f);
    fclose(f);
    compare_all("exc_group_print.expected", all ? all : "");
    free(all);
}

TEST(print_matches_cpython_live)
{
    const char *py = YC_GROUP_PYTHON;
    if (!*py || access(py, X_OK) != 0) {
        fprintf(stderr, "  (no CPython >= 3.11 found at configure time: only the stored "
                        "CPython 3.13 output is compared)\n");
        return;
    }
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "'%s' '%s/tests/exc_group_print.py'", py, YC_SOURCE_DIR);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    if (!p) return;
    char *all = read_stream(p);
    CHECK_EQ_INT(pclose(p), 0);
    compare_all(py, all ? all : "");
    free(all);
}

TEST_MAIN()
