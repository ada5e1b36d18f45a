/*
 * Exception groups (PEP 654): making BaseExceptionGroup and ExceptionGroup
 * objects and splitting them by type, with the rules and messages of
 * CPython 3.13 (BaseExceptionGroup.__new__, derive, split, subgroup).
 *
 * A group is an ordinary yc_exc whose block ends with its member pointers;
 * exc.c frees the members with it, and its cycle check follows them.
 */
#include "internal.h"

#include <string.h>

/* ---- making groups -------------------------------------------------- */

/* Whether every member is an Exception, not only a BaseException. */
static bool all_exceptions(yc_exc *const *excs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!yc_exc_is(excs[i], &yc_Exception)) return false;
    return true;
}

/* Releases the exceptions among excs[0..n-1] (not the foreign pointers). */
static void release_valid(yc_exc *const *excs, size_t n)
{
    for (size_t i = 0; excs && i < n; i++)
        if (yc__exc_valid(excs[i])) yc_exc_unref(excs[i]);
}

/* The most members one block can hold. */
static bool group_size_ok(size_t n)
{
    return n <= UINT32_MAX && n <= (SIZE_MAX - sizeof(yc_exc)) / sizeof(yc_exc *);
}

/* A group of type t holding excs (n >= 1, all valid), taken even on
 * failure; BaseExceptionGroup becomes ExceptionGroup when every member is
 * an Exception. Returns a new reference, or the preallocated MemoryError. */
static yc_exc *group_make(const yc_exc_type *t, const char *msg, yc_exc *const *excs, size_t n)
{
    if (t == &yc_BaseExceptionGroup && all_exceptions(excs, n)) t = &yc_ExceptionGroup;
    yc_exc *g = group_size_ok(n) ? yc__exc_alloc(t, (uint32_t)n) : &yc__nomem;
    if (g != &yc__nomem && *msg && !(g->msg = yc__strdup(msg))) {
        g->nexcs = 0; /* no member stored yet */
        yc_exc_unref(g);
        g = &yc__nomem;
    }
    if (g == &yc__nomem) {
        release_valid(excs, n);
        return g;
    }
    memcpy(g->excs, excs, n * sizeof *excs);
    return g;
}

/* Checks the arguments as BaseExceptionGroup.__new__ does (NULL excs with
 * n == 0 counting as an empty array). On misuse sets the error indicator
 * and returns false. */
static bool group_args_ok(const yc_exc_type *t, const char *msg, yc_exc *const *excs, size_t n)
{
    if (!t || !yc_type_is_subtype(t, &yc_BaseExceptionGroup)) {
        const char *name = t ? yc__type_name(t) : "NULL";
        yc__fail(YC_EINVAL, &yc_TypeError,
                 "BaseExceptionGroup.__new__(%s): %s is not a subtype of BaseExceptionGroup", name,
                 name);
        return false;
    }
    if (!msg)
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "BaseExceptionGroup.__new__() argument 1 must be str, not None"), false;
    if (n == 0)
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "second argument (exceptions) must be a non-empty sequence"), false;
    if (!excs)
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "second argument (exceptions) must be a sequence"), false;
    for (size_t i = 0; i < n; i++)
        if (!yc__exc_valid(excs[i]))
            return yc__fail(YC_EINVAL, &yc_ValueError,
                            "Item %zu of second argument (exceptions) is not an exception", i),
                   false;
    if (t == &yc_BaseExceptionGroup || all_exceptions(excs, n)) return true;
    if (t == &yc_ExceptionGroup)
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "Cannot nest BaseExceptions in an ExceptionGroup"), false;
    if (yc_type_is_subtype(t, &yc_Exception))
        return yc__fail(YC_EINVAL, &yc_TypeError, "Cannot nest BaseExceptions in '%.200s'",
                        yc__type_name(t)), false;
    return true;
}

yc_exc *yc_exc_group_new_type(const yc_exc_type *t, const char *msg, yc_exc *const *excs,
                              size_t n)
{
    if (!group_args_ok(t, msg, excs, n)) {
        release_valid(excs, n);
        return NULL;
    }
    return group_make(t, msg, excs, n);
}

yc_exc *yc_exc_group_new(const char *msg, yc_exc *const *excs, size_t n)
{
    return yc_exc_group_new_type(&yc_BaseExceptionGroup, msg, excs, n);
}

bool yc_exc_is_group(const yc_exc *e) { return e && e->nexcs > 0; }
size_t yc_exc_group_size(const yc_exc *g) { return g ? g->nexcs : 0; }
yc_exc *yc_exc_group_item(const yc_exc *g, size_t i) { return g && i < g->nexcs ? g->excs[i] : NULL; }

/* ---- splitting ------------------------------------------------------ */

/* g.derive(parts) given g's traceback, cause and context, as CPython's
 * exceptiongroup_subset: *out is NULL for no parts. Takes the parts.
 * Returns false when out of memory (*out NULL). */
static bool derive(const yc_exc *g, yc_exc **parts, uint32_t n, yc_exc **out)
{
    *out = NULL;
    if (n == 0) return true;
    yc_exc *d = group_make(&yc_BaseExceptionGroup, yc_exc_msg(g), parts, n);
    if (d == &yc__nomem) return false;
    if (!yc__tb_copy(d, g)) {
        yc_exc_unref(d);
        return false;
    }
    d->context = yc_exc_ref(g->context);
    d->cause = yc_exc_ref(g->cause);
    d->suppress_context = true; /* PyException_SetCause sets it, cause or not */
    *out = d;
    return true;
}

/* The split of one group: the parts its members gave so far. */
typedef struct split_frame {
    yc_exc *g;       /* borrowed from the tree being split */
    uint32_t next;   /* the member to look at next */
    uint32_t nmatch, nrest;
    yc_exc **parts;  /* g->nexcs slots for matches, then as many for rests; owned */
} split_frame;

/* The groups being split, outermost first: nesting can be deep, so the
 * walk keeps its own stack instead of recursing. */
typedef struct splitter {
    const yc_exc_type *type;
    bool want_rest;
    split_frame *frames, small[8];
    size_t n, cap;
} splitter;

static bool frame_push(splitter *sp, yc_exc *g)
{
    if (sp->n == sp->cap) {
        split_frame *big = yc__malloc(2 * sp->cap * sizeof *big);
        if (!big) return false;
        memcpy(big, sp->frames, sp->n * sizeof *big);
        if (sp->frames != sp->small) yc__free(sp->frames);
        sp->frames = big;
        sp->cap *= 2;
    }
    yc_exc **parts = yc__malloc((sp->want_rest ? 2 : 1) * g->nexcs * sizeof *parts);
    if (!parts) return false;
    sp->frames[sp->n++] = (split_frame){.g = g, .parts = parts};
    return true;
}

/* Releases the parts the top frame still owns and pops it. */
static void frame_pop(splitter *sp)
{
    split_frame *f = &sp->frames[--sp->n];
    for (uint32_t i = 0; i < f->nmatch; i++) yc_exc_unref(f->parts[i]);
    for (uint32_t i = 0; i < f->nrest; i++) yc_exc_unref(f->parts[f->g->nexcs + i]);
    yc__free(f->parts);
}

/* Sorts the top frame's next member: a match, a rest (a leaf that does not
 * match), or a group to split in a frame of its own. */
static bool split_member(splitter *sp)
{
    split_frame *f = &sp->frames[sp->n - 1];
    yc_exc *x = f->g->excs[f->next++];
    if (yc_exc_is(x, sp->type)) f->parts[f->nmatch++] = yc_exc_ref(x);
    else if (yc_exc_is_group(x)) return frame_push(sp, x);
    else if (sp->want_rest) f->parts[f->g->nexcs + f->nrest++] = yc_exc_ref(x);
    return true;
}

/* The top frame is done: derives its two parts and pops it. The parts go
 * to the frame below, or to *m and *r from the outermost one. */
static bool split_finish(splitter *sp, yc_exc **m, yc_exc **r)
{
    split_frame *f = &sp->frames[sp->n - 1];
    uint32_t nm = f->nmatch, nr = f->nrest;
    f->nmatch = f->nrest = 0; /* handed to derive, which takes them */
    yc_exc *fm, *fr;
    bool ok = derive(f->g, f->parts, nm, &fm);
    ok = derive(f->g, f->parts + f->g->nexcs, nr, &fr) && ok;
    frame_pop(sp);
    if (!ok) {
        yc_exc_unref(fm);
        yc_exc_unref(fr);
        return false;
    }
    if (sp->n == 0) {
        *m = fm;
        *r = fr;
        return true;
    }
    f = &sp->frames[sp->n - 1];
    if (fm) f->parts[f->nmatch++] = fm;
    if (fr) f->parts[f->g->nexcs + f->nrest++] = fr;
    return true;
}

/* exceptiongroup_split_recursive for a group g that does not match as a
 * whole, with a frame per group being split. Returns false when out of
 * memory, with everything made so far released. */
static bool split_tree(yc_exc *g, const yc_exc_type *type, bool want_rest, yc_exc **m,
                       yc_exc **r)
{
    splitter sp = {.type = type, .want_rest = want_rest, .cap = 8};
    sp.frames = sp.small;
    bool ok = frame_push(&sp, g);
    while (ok && sp.n) {
        const split_frame *f = &sp.frames[sp.n - 1];
        ok = f->next < f->g->nexcs ? split_member(&sp) : split_finish(&sp, m, r);
    }
    while (sp.n) frame_pop(&sp);
    if (sp.frames != sp.small) yc__free(sp.frames);
    return ok;
}

/* Checks split's and subgroup's arguments (method names the one called);
 * returns YC_OK or YC_EINVAL with the exception pending. */
static int split_args_ok(const yc_exc *g, const yc_exc_type *type, const char *method)
{
    if (!yc__exc_valid(g)) return yc__not_an_exception(g);
    if (!yc_exc_is_group(g))
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "descriptor '%s' for 'BaseExceptionGroup' objects doesn't apply to a "
                        "'%s' object",
                        method, yc__type_name(g->type));
    if (!type)
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "expected an exception type, a tuple of exception types, or a callable "
                        "(other than a class)");
    return YC_OK;
}

/* split and subgroup: rest NULL means the rest is not made. */
static int split(yc_exc *g, const yc_exc_type *type, yc_exc **match, yc_exc **rest,
                 const char *method)
{
    yc_exc *m = NULL, *r = NULL;
    int st = split_args_ok(g, type, method);
    if (st == YC_OK && yc_exc_is(g, type)) {
        m = yc_exc_ref(g);
    } else if (st == YC_OK && !split_tree(g, type, rest != NULL, &m, &r)) {
        yc__err_set(yc__cur(), &yc__nomem);
        st = YC_ENOMEM;
    }
    if (match) *match = m;
    else yc_exc_unref(m);
    if (rest) *rest = r;
    return st;
}

int yc_exc_group_split(yc_exc *g, const yc_exc_type *type, yc_exc **match, yc_exc **rest)
{
    return split(g, type, match, rest, "split");
}

yc_exc *yc_exc_group_subgroup(yc_exc *g, const yc_exc_type *type)
{
    yc_exc *m;
    split(g, type, &m, NULL, "subgroup");
    return m;
}
