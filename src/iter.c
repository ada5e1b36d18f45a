/*
 * The iterator protocol: dispatch with PEP 380's rules for missing
 * operations, and the array iterator ("list_iterator").
 */
#include "internal.h"

#include <stddef.h>
#include <string.h>

static int null_iter(void) { return yc__fail(YC_EINVAL, &yc_TypeError, "iterator is NULL"); }

/* it NULL, or a type without next (the one operation every iterator has). */
static int bad_iter(const yc_iter *it)
{
    if (!it || !it->type) return null_iter();
    return yc__fail(YC_EINVAL, &yc_TypeError, "'%s' object is not an iterator", yc_iter_name(it));
}

int yc__type_size_check(const void *type, size_t size, size_t known, const char *what,
                        const char *name)
{
    if (size == 0 || size == known) return YC_OK;
    if (!name) name = "?";
    if (size < known)
        return yc__fail(YC_EINVAL, &yc_TypeError,
                        "%s '%s' has size %zu, less than %zu, this yieldc's: set .size to "
                        "sizeof(%s) or leave it 0",
                        what, name, size, known, what);
    const unsigned char *p = type;
    for (size_t i = known; i < size; i++)
        if (p[i])
            return yc__fail(YC_EINVAL, &yc_TypeError,
                            "%s '%s' was built against a newer yieldc.h (size %zu, this "
                            "yieldc's %zu) and sets a field this yieldc %d.%d.%d does not have",
                            what, name, size, known, YC_VERSION_MAJOR, YC_VERSION_MINOR,
                            YC_VERSION_PATCH);
    return YC_OK;
}

/* The size of yc_iter_type in 0.1, before flags: a type built against that
 * header with .size = sizeof(yc_iter_type) is used as it is (its flags are
 * never read). */
#define ITER_TYPE_0_1 offsetof(yc_iter_type, flags)
/* YC__TYPE_SIZE_ODD with this size first: the library's stages carry it
 * (for their flags), so their pulls take one test, as size 0 did before. */
#define ITER_SIZE_ODD(t) ((t)->size != sizeof(yc_iter_type) && (t)->size != 0)
#define ITER_TYPE_BAD(t)                                                          \
    (YC_UNLIKELY(ITER_SIZE_ODD(t)) && (t)->size != ITER_TYPE_0_1 &&                 \
     yc__type_size_check((t), (t)->size, sizeof(yc_iter_type), "yc_iter_type", (t)->name) != YC_OK)

/* yc_iter_next's rare cases, out of line so that its common path keeps no
 * frame of its own: a bad iterator, a type whose size field needs
 * checking, or out NULL (the value then goes to a local of this frame). */
__attribute__((noinline)) static int next_checked(yc_iter *it, yc_val *out)
{
    yc_val tmp;
    if (!it || !it->type || !it->type->next) return bad_iter(it);
    if (ITER_TYPE_BAD(it->type)) return YC_EINVAL;
    return it->type->next(it, out ? out : &tmp);
}

/* The common path is a check and a tail call: nothing of yc_iter_next is
 * left on the stack when the type's next runs. For a stackful generator
 * that next is the fast path itself (src/arch/fast_path_x86_64.S), whose
 * switch back from the generator then lands in yc_iter_next's caller; a
 * frame here would add a `ret` after every switch, which the return-stack
 * predictor always misses (docs/design.md, "The context switch"). */
int yc_iter_next(yc_iter *it, yc_val *out)
{
    if (YC_UNLIKELY(!it || !it->type || !it->type->next || !out ||
                    ITER_SIZE_ODD(it->type)))
        return next_checked(it, out);
    return it->type->next(it, out);
}

/* A user type's next_batch, checked: a block that breaks the contract (a
 * YC_YIELD without values would make consumers spin; more values than cap
 * overran the caller's buffer) fails with RuntimeError, its values dropped.
 * Out of line, so that yc_iter_next_batch stays small for the other paths. */
__attribute__((noinline)) static int user_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    int st = it->type->next_batch(it, buf, cap, n);
    if (YC_LIKELY(*n <= cap && (st != YC_YIELD || *n > 0))) return st;
    const char *name = it->type->name ? it->type->name : "iterator";
    size_t got = *n;
    *n = 0;
    if (got > cap)
        return yc__fail(YC_RAISE, &yc_RuntimeError,
                        "next_batch of '%s' stored %zu values, more than cap %zu", name, got, cap);
    return yc__fail(YC_RAISE, &yc_RuntimeError,
                    "next_batch of '%s' returned YC_YIELD with no value", name);
}

int yc_iter_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    if (YC_UNLIKELY(!n)) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_iter_next_batch: n is NULL");
    *n = 0;
    if (YC_UNLIKELY(!it || !it->type || !it->type->next)) return bad_iter(it);
    if (ITER_TYPE_BAD(it->type)) return YC_EINVAL;
    if (YC_UNLIKELY(!buf || !cap))
        return yc__fail(YC_EINVAL, &yc_ValueError, "yc_iter_next_batch: %s",
                        !buf ? "buf is NULL" : "cap is 0");
    const yc_iter_type *t = it->type;
    if (t->next_batch) {
        if (yc__iter_is_stage(t)) return t->next_batch(it, buf, cap, n); /* the library's stages */
        return user_batch(it, buf, cap, n);
    }
    int st = t->next(it, buf);
    if (st == YC_YIELD) *n = 1;
    return st;
}

int yc_iter_send(yc_iter *it, yc_val v, yc_val *out)
{
    yc_val tmp;
    if (!it || !it->type || !it->type->next) return bad_iter(it);
    if (ITER_TYPE_BAD(it->type)) return YC_EINVAL;
    if (yc_is_none(v)) return it->type->next(it, out ? out : &tmp);
    if (!it->type->send)
        return yc__fail(YC_RAISE, &yc_AttributeError, "'%s' object has no attribute 'send'",
                        it->type->name ? it->type->name : "iterator");
    return it->type->send(it, v, out ? out : &tmp);
}

int yc_iter_throw(yc_iter *it, yc_exc *e, yc_val *out)
{
    yc_val tmp;
    if (!yc__exc_valid(e)) return yc__not_an_exception(e);
    if (!it || !it->type) {
        yc_exc_unref(e);
        return null_iter();
    }
    if (ITER_TYPE_BAD(it->type)) {
        yc_exc_unref(e);
        return YC_EINVAL;
    }
    if (!it->type->throw_) {
        if (out) *out = YC_NONE;
        yc__err_set(yc__cur(), e);
        return YC_RAISE;
    }
    return it->type->throw_(it, e, out ? out : &tmp);
}

int yc_iter_close(yc_iter *it, yc_val *out)
{
    if (out) *out = YC_NONE;
    if (!it || !it->type) return null_iter();
    if (ITER_TYPE_BAD(it->type)) return YC_EINVAL;
    return it->type->close ? it->type->close(it, out) : YC_OK;
}

void yc_iter_free(yc_iter *it)
{
    if (it && it->type && it->type->free) it->type->free(it);
}

const char *yc_iter_name(const yc_iter *it)
{
    return it && it->type && it->type->name ? it->type->name : "?";
}

/* ---- array iterator --------------------------------------------------- */

typedef struct array_iter {
    yc_iter it;
    const yc_val *items;
    size_t n, i;
} array_iter;

static int array_next(yc_iter *it, yc_val *out)
{
    array_iter *a = (array_iter *)it;
    if (a->i < a->n) {
        *out = a->items[a->i++];
        return YC_YIELD;
    }
    *out = YC_NONE;
    return YC_RETURN;
}

static void array_free(yc_iter *it) { yc__free(it); }

static const yc_iter_type array_type = {
    .name = "list_iterator",
    .next = array_next,
    .free = array_free,
};

yc_iter *yc_iter_array(const yc_val *items, size_t n)
{
    if (!items && n) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_iter_array: items is NULL");
        return NULL;
    }
    array_iter *a = yc__malloc(sizeof *a);
    if (!a) {
        yc__err_set(yc__cur(), &yc__nomem);
        return NULL;
    }
    a->it.type = &array_type;
    a->items = items;
    a->n = n;
    a->i = 0;
    return &a->it;
}
