/*
 * Pipeline values (values.h): truth, Python's type names, copies and
 * releases of owned values, the per-block copies of stages (pst_keep), and
 * the arithmetic and comparisons that sum, accumulate, min and max share.
 */
#include "values.h"

#include <string.h>


bool yc_val_truthy(yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: return false;
    case YC_T_BOOL:
    case YC_T_INT: return v.i != 0;
    case YC_T_FLOAT: return v.f != 0.0;
    case YC_T_BYTES: return yc_len(v) != 0;
    case YC_T_PTR: {
        const yc_tuple *t = yc_tuple_of(v);
        return t ? t->len != 0 : v.p != NULL;
    }
    }
    return true;
}

yc_val yc_val_copy(yc_val v)
{
    if (yc_type_of(v) == YC_T_BYTES) {
        size_t n = yc_len(v);
        char *p = yc__malloc(n ? n : 1);
        if (!p) {
            yc__enomem();
            return YC_NONE;
        }
        if (n) memcpy(p, v.s, n);
        return yc_bytes(p, n);
    }
    const yc_tuple *t = yc_tuple_of(v);
    if (!t) return v;
    yc_tuple *c = yc__malloc(sizeof *c + t->len * sizeof(yc_val));
    if (!c) {
        yc__enomem();
        return YC_NONE;
    }
    c->len = t->len;
    for (size_t i = 0; i < t->len; i++) {
        c->items[i] = yc_val_copy(t->items[i]);
        if (yc__val_owned(t->items[i]) && yc_is_none(c->items[i])) {
            for (size_t j = 0; j < i; j++) yc_val_release(c->items[j]);
            yc__free(c);
            return YC_NONE;
        }
    }
    return yc_tuple_val(c);
}

void yc_val_release(yc_val v)
{
    if (yc_type_of(v) == YC_T_BYTES) {
        yc__free((void *)v.s);
        return;
    }
    const yc_tuple *t = yc_tuple_of(v);
    if (!t) return;
    for (size_t i = 0; i < t->len; i++) yc_val_release(t->items[i]);
    yc__free((void *)t);
}

bool yc__val_within(yc_val v, yc_val from)
{
    if (v.p == from.p && v.meta == from.meta) return true;
    if (yc_type_of(v) != YC_T_BYTES) return false;
    const yc_tuple *t = yc_tuple_of(from);
    size_t nfrom = t ? t->len : 1;
    for (size_t i = 0; i < nfrom; i++) {
        yc_val f = t ? t->items[i] : from;
        if (yc_type_of(f) != YC_T_BYTES) continue;
        uintptr_t lo = (uintptr_t)f.s, hi = lo + yc_len(f), p = (uintptr_t)v.s;
        if (p >= lo && p <= hi && yc_len(v) <= hi - p) return true;
    }
    return false;
}

int yc__pst_keep(pst_keep *k, yc_val *v)
{
    if (k->n == k->cap) {
        size_t ncap = k->cap ? k->cap * 2 : 16;
        yc_val *p = yc__realloc(k->v, ncap * sizeof *p);
        if (!p) return yc__enomem();
        k->v = p;
        k->cap = ncap;
    }
    yc_val c = yc_val_copy(*v);
    if (yc_is_none(c)) return YC_ENOMEM; /* MemoryError pending */
    k->v[k->n++] = c;
    *v = c;
    return YC_OK;
}

void yc__pst_keep_free(pst_keep *k)
{
    pst_keep_clear(k);
    yc__free(k->v);
    k->v = NULL;
    k->cap = 0;
}

int yc__val_bad_operands(const char *op, yc_val a, yc_val b)
{
    return yc__fail(YC_RAISE, &yc_TypeError, "unsupported operand type(s) for %s: '%s' and '%s'",
                    op, yc_val_type_name(a), yc_val_type_name(b));
}

int yc__val_add(yc_val a, yc_val b, yc_val *out)
{
    if (!yc__val_is_num(a) || !yc__val_is_num(b)) return yc__val_bad_operands("+", a, b);
    if (yc_type_of(a) == YC_T_FLOAT || yc_type_of(b) == YC_T_FLOAT) {
        double x = yc_type_of(a) == YC_T_FLOAT ? a.f : (double)a.i;
        double y = yc_type_of(b) == YC_T_FLOAT ? b.f : (double)b.i;
        *out = yc_float(x + y);
        return YC_OK;
    }
    int64_t r;
    if (__builtin_add_overflow(a.i, b.i, &r))
        return yc__fail(YC_RAISE, &yc_OverflowError, "int addition does not fit in int64");
    *out = yc_int(r);
    return YC_OK;
}

#define TWO63 9223372036854775808.0 /* 2^63 */

static int64_t as_int(yc_val v) { return yc_type_of(v) == YC_T_BOOL ? v.b : v.i; }

/* i < f exactly, as Python compares an int with a float (no libm: within
 * (-2^63, 2^63) f truncates to t exactly, and i < f <=> i < ceil(f)). */
static bool int_lt_float(int64_t i, double f)
{
    if (f != f || f < -TWO63) return false; /* NaN compares false */
    if (f >= TWO63) return true;
    int64_t t = (int64_t)f;
    return f > (double)t ? i <= t : i < t; /* ceil(f) is t + 1 or t */
}

/* f < i exactly: f < i <=> floor(f) < i. */
static bool float_lt_int(double f, int64_t i)
{
    if (f != f || f >= TWO63) return false;
    if (f < -TWO63) return true;
    int64_t t = (int64_t)f;
    return f < (double)t ? t <= i : t < i; /* floor(f) is t - 1 or t */
}

int yc__val_less(yc_val a, yc_val b, const char *op, bool *lt)
{
    if (yc__val_is_num(a) && yc__val_is_num(b)) {
        bool af = yc_type_of(a) == YC_T_FLOAT, bf = yc_type_of(b) == YC_T_FLOAT;
        *lt = af && bf ? a.f < b.f
              : af     ? float_lt_int(a.f, as_int(b))
              : bf     ? int_lt_float(as_int(a), b.f)
                       : as_int(a) < as_int(b);
        return YC_OK;
    }
    if (yc_type_of(a) == YC_T_BYTES && yc_type_of(b) == YC_T_BYTES) {
        size_t la = yc_len(a), lb = yc_len(b);
        int c = la && lb ? memcmp(a.s, b.s, la < lb ? la : lb) : 0;
        *lt = c < 0 || (c == 0 && la < lb);
        return YC_OK;
    }
    return yc__fail(YC_RAISE, &yc_TypeError, "'%s' not supported between instances of '%s' and '%s'",
                    op, yc_val_type_name(a), yc_val_type_name(b));
}
