/*
 * collections.Counter, and the ordering reducers sorted, nlargest and
 * nsmallest: what a "top 10 by count" pipeline needs.
 *
 * A counter keeps its entries in insertion order in one array (as a Python
 * dict does), with an open-addressing index of 32-bit positions over it.
 * Keys compare as Python's == does for the kinds of yc_val: numbers by
 * value (1, 1.0 and True are one key), BYTES by content, tuples item by
 * item, PTR by address; the hash agrees with that equality. A NaN equals
 * nothing, so each NaN added is a key of its own, as distinct NaN objects
 * are in Python.
 *
 * sorted is a stable merge sort (O(n log n) comparisons, n extra slots);
 * nlargest and nsmallest are sorted then cut, which is how Python defines
 * them (O(n) memory for n items, not O(k): fine for a counter's items, not
 * for an unbounded stream).
 */
#include "internal.h"
#include "guard.h"
#include "pipe.h"
#include "values.h"

#include <string.h>

#define COUNTER_MAGIC 0x636f756eu /* "coun" */
#define PULL 256                  /* values asked for per block */

typedef struct centry {
    yc_val key; /* owned copy */
    int64_t count;
    uint64_t hash;
} centry;

struct yc_counter {
    uint32_t magic;
    centry *v; /* insertion order */
    size_t len, cap;
    uint32_t *slots; /* 0: empty, else 1 + the entry's index */
    size_t nslots;   /* a power of two, at least twice len */
};

static bool is_counter(const yc_counter *c) { return c && c->magic == COUNTER_MAGIC; }

static int bad_counter(const char *fn)
{
    return yc__fail(YC_EINVAL, &yc_TypeError, "%s: counter is %s", fn, "NULL or not a counter");
}

/* ---- Python's == and a hash that agrees with it ----------------------- */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* A number's hash: integral values hash as the int64 they equal. */
/* Whether f is integral and within int64 (no libm: the library does not
 * link it). */
static bool as_int64(double f, int64_t *i)
{
    if (!(f >= -9223372036854775808.0 && f < 9223372036854775808.0)) return false;
    *i = (int64_t)f;
    return (double)*i == f;
}

static uint64_t hash_num(yc_val v)
{
    if (yc_type_of(v) != YC_T_FLOAT) return mix((uint64_t)v.i);
    double f = v.f;
    int64_t i;
    if (as_int64(f, &i)) return mix((uint64_t)i);
    uint64_t bits;
    if (f == 0) f = 0; /* -0.0 == 0.0 (integral anyway) */
    memcpy(&bits, &f, sizeof bits);
    return mix(bits ^ 0x5bd1e995u);
}

static uint64_t hash_val(yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: return 0x9e3779b97f4a7c15ULL;
    case YC_T_BOOL:
    case YC_T_INT:
    case YC_T_FLOAT: return hash_num(v);
    case YC_T_BYTES: {
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (size_t i = 0; i < yc_len(v); i++) h = (h ^ (unsigned char)v.s[i]) * 1099511628211ULL;
        return mix(h);
    }
    case YC_T_PTR: break;
    }
    const yc_tuple *t = yc_tuple_of(v);
    if (!t) return mix((uint64_t)(uintptr_t)v.p);
    uint64_t h = 0x27d4eb2f165667c5ULL ^ t->len;
    for (size_t i = 0; i < t->len; i++) h = mix(h * 31 + hash_val(t->items[i]));
    return h;
}

static bool keys_equal(yc_val a, yc_val b)
{
    if (yc__val_is_num(a) && yc__val_is_num(b)) {
        bool af = yc_type_of(a) == YC_T_FLOAT, bf = yc_type_of(b) == YC_T_FLOAT;
        if (af && bf) return a.f == b.f;
        if (!af && !bf) return a.i == b.i;
        int64_t fi;
        return as_int64(af ? a.f : b.f, &fi) && fi == (af ? b.i : a.i);
    }
    if (yc_type_of(a) != yc_type_of(b)) return false;
    const yc_tuple *ta = yc_tuple_of(a), *tb = yc_tuple_of(b);
    if (ta || tb) {
        if (!ta || !tb || ta->len != tb->len) return false;
        for (size_t i = 0; i < ta->len; i++)
            if (!keys_equal(ta->items[i], tb->items[i])) return false;
        return true;
    }
    return yc_val_eq(a, b);
}

/* ---- the table -------------------------------------------------------- */

yc_counter *yc_counter_new(void)
{
    yc_counter *c = yc__malloc(sizeof *c);
    if (!c) {
        yc__enomem();
        return NULL;
    }
    *c = (yc_counter){.magic = COUNTER_MAGIC};
    return c;
}

void yc_counter_free(yc_counter *c)
{
    if (!is_counter(c)) return;
    for (size_t i = 0; i < c->len; i++) yc_val_release(c->v[i].key);
    yc__free(c->v);
    yc__free(c->slots);
    c->magic = 0;
    yc__free(c);
}

/* The slot of key (hash h): the one holding it, or the empty one where it
 * would go. */
static size_t find_slot(const yc_counter *c, yc_val key, uint64_t h)
{
    size_t mask = c->nslots - 1, j = (size_t)h & mask;
    while (c->slots[j]) {
        const centry *e = &c->v[c->slots[j] - 1];
        if (e->hash == h && keys_equal(e->key, key)) break;
        j = (j + 1) & mask;
    }
    return j;
}

/* Room for one more entry: the array and an index at most half full. */
static bool reserve(yc_counter *c)
{
    if (c->len == UINT32_MAX - 1) return false;
    if (c->len == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        centry *v = yc__realloc(c->v, cap * sizeof *v);
        if (!v) return false;
        c->v = v;
        c->cap = cap;
    }
    if (2 * (c->len + 1) > c->nslots) {
        size_t n = c->nslots ? 2 * c->nslots : 32;
        uint32_t *s = yc__malloc(n * sizeof *s);
        if (!s) return false;
        memset(s, 0, n * sizeof *s);
        yc__free(c->slots);
        c->slots = s;
        c->nslots = n;
        for (size_t i = 0; i < c->len; i++) {
            size_t j = (size_t)c->v[i].hash & (n - 1);
            while (s[j]) j = (j + 1) & (n - 1);
            s[j] = (uint32_t)(i + 1);
        }
    }
    return true;
}

static int add(yc_counter *c, yc_val key, int64_t n)
{
    uint64_t h = hash_val(key);
    if (c->nslots) {
        size_t j = find_slot(c, key, h);
        if (c->slots[j]) {
            centry *e = &c->v[c->slots[j] - 1];
            int64_t sum;
            if (__builtin_add_overflow(e->count, n, &sum))
                return yc__fail(YC_RAISE, &yc_OverflowError, "counter: a count overflows int64");
            e->count = sum;
            return YC_OK;
        }
    }
    if (!reserve(c)) return yc__enomem();
    yc_val k = yc__val_owned(key) ? yc_val_copy(key) : key;
    if (yc__val_owned(key) && yc_is_none(k)) return yc__enomem();
    size_t j = find_slot(c, key, h);
    c->v[c->len] = (centry){k, n, h};
    c->slots[j] = (uint32_t)++c->len;
    return YC_OK;
}

int yc_counter_add(yc_counter *c, yc_val key, int64_t n)
{
    if (!is_counter(c)) return bad_counter("yc_counter_add");
    return add(c, key, n);
}

int64_t yc_counter_get(const yc_counter *c, yc_val key)
{
    if (!is_counter(c) || !c->nslots) return 0;
    size_t j = find_slot(c, key, hash_val(key));
    return c->slots[j] ? c->v[c->slots[j] - 1].count : 0;
}

size_t yc_counter_len(const yc_counter *c) { return is_counter(c) ? c->len : 0; }

int yc_iter_count_into(yc_iter *it, yc_counter *c)
{
    if (!is_counter(c)) return bad_counter("yc_iter_count_into");
    if (!it) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_iter_count_into: iterator is NULL");
    yc_val buf[PULL];
    for (;;) {
        size_t k = 0;
        int st = yc_iter_next_batch(it, buf, PULL, &k);
        for (size_t i = 0; i < k; i++) {
            int r = add(c, buf[i], 1);
            if (r < 0) return r;
        }
        if (st == YC_YIELD) continue;
        return st == YC_RETURN ? YC_OK : st;
    }
}

/* ---- sorting ---------------------------------------------------------- */

/* An item and its sort key (the item itself without a key function). */
typedef struct sitem {
    yc_val item, key;
    int64_t count; /* most_common: the count, compared as the key */
} sitem;

typedef struct sorter {
    bool reverse, by_count;
    int err; /* the first failed comparison's status: the sort gives up */
} sorter;

/* Whether b must come before a (so a stable merge takes b first): b < a,
 * or b > a when reversed. */
static bool before(sorter *s, const sitem *a, const sitem *b)
{
    if (s->err) return false;
    if (s->by_count) return s->reverse ? b->count > a->count : b->count < a->count;
    bool lt;
    int st = s->reverse ? yc__val_less(a->key, b->key, "<", &lt)
                        : yc__val_less(b->key, a->key, "<", &lt);
    if (st < 0) {
        s->err = st;
        return false;
    }
    return lt;
}

/* Stable merge sort of v[0..n) with tmp[0..n) as scratch. */
static void merge_sort(sorter *s, sitem *v, sitem *tmp, size_t n)
{
    if (n < 2 || s->err) return;
    size_t h = n / 2;
    merge_sort(s, v, tmp, h);
    merge_sort(s, v + h, tmp + h, n - h);
    size_t i = 0, j = h, k = 0;
    while (i < h && j < n) tmp[k++] = before(s, &v[i], &v[j]) ? v[j++] : v[i++];
    while (i < h) tmp[k++] = v[i++];
    while (j < n) tmp[k++] = v[j++];
    memcpy(v, tmp, n * sizeof *v);
}

static void release_items(sitem *v, size_t n, bool keys)
{
    for (size_t i = 0; i < n; i++) {
        yc_val_release(v[i].item);
        if (keys) yc_val_release(v[i].key);
    }
}

/* Sorts v[0..n) (owned items and keys), keeps the first `keep` items in
 * *out (the keys are released) and frees v. */
static int finish(sorter *s, sitem *v, size_t n, size_t keep, bool keys, yc_vec *out)
{
    sitem *tmp = n ? yc__malloc(n * sizeof *tmp) : NULL;
    if (n && !tmp) {
        release_items(v, n, keys);
        yc__free(v);
        return yc__enomem();
    }
    merge_sort(s, v, tmp, n);
    yc__free(tmp);
    if (s->err) {
        release_items(v, n, keys);
        yc__free(v);
        return s->err;
    }
    if (keep > n) keep = n;
    yc_val *items = keep ? yc__malloc(keep * sizeof *items) : NULL;
    if (keep && !items) {
        release_items(v, n, keys);
        yc__free(v);
        return yc__enomem();
    }
    for (size_t i = 0; i < keep; i++) items[i] = v[i].item;
    release_items(v + keep, n - keep, keys);
    if (keys)
        for (size_t i = 0; i < keep; i++) yc_val_release(v[i].key);
    yc__free(v);
    *out = (yc_vec){items, keep, keep};
    return YC_OK;
}

/* key(ctx, x) inside a try frame of its own: YC_OK with *r set, or
 * YC_RAISE with what it raised pending. */
__attribute__((noinline)) static int call_key(yc_map_fn key, void *ctx, yc_val x, yc_val *r)
{
    YC__GUARD(t) return yc__cb_caught(&t);
    *r = key(ctx, x);
    yc__try_end(&t);
    return YC_OK;
}

/* Every item of it, owned, with its key (owned, when key is not NULL). */
static int gather(yc_iter *it, yc_map_fn key, void *ctx, sitem **pv, size_t *pn)
{
    sitem *v = NULL;
    size_t n = 0, cap = 0;
    yc_val buf[PULL];
    int st;
    do {
        size_t k = 0;
        st = yc_iter_next_batch(it, buf, PULL, &k);
        for (size_t i = 0; i < k; i++) {
            if (n == cap) {
                size_t ncap = cap ? 2 * cap : 64;
                sitem *p = yc__realloc(v, ncap * sizeof *p);
                if (!p) goto oom;
                v = p;
                cap = ncap;
            }
            yc_val item = yc_val_copy(buf[i]);
            if (yc__val_owned(buf[i]) && yc_is_none(item)) goto oom;
            yc_val kv = item;
            if (key) {
                yc_val r;
                int kst = call_key(key, ctx, item, &r);
                yc_val kc = kst < 0 ? YC_NONE : yc_val_copy(r);
                if (kst < 0 || (yc__val_owned(r) && yc_is_none(kc))) {
                    yc_val_release(item);
                    release_items(v, n, true);
                    yc__free(v);
                    return kst < 0 ? kst : yc__enomem();
                }
                kv = kc;
            }
            v[n++] = (sitem){item, kv, 0};
        }
    } while (st == YC_YIELD);
    if (st < 0) {
        release_items(v, n, key != NULL);
        yc__free(v);
        return st;
    }
    *pv = v;
    *pn = n;
    return YC_OK;
oom:
    release_items(v, n, key != NULL);
    yc__free(v);
    return yc__enomem();
}

static int sorted_n(const char *fn, yc_iter *it, yc_map_fn key, void *ctx, bool reverse,
                    size_t keep, yc_vec *out)
{
    if (!out) return yc__fail(YC_EINVAL, &yc_TypeError, "%s: out is NULL", fn);
    *out = (yc_vec){NULL, 0, 0};
    if (!it) return yc__fail(YC_EINVAL, &yc_TypeError, "%s: iterator is NULL", fn);
    sitem *v = NULL;
    size_t n = 0;
    int st = gather(it, key, ctx, &v, &n);
    if (st < 0) return st;
    sorter s = {.reverse = reverse};
    return finish(&s, v, n, keep, key != NULL, out);
}

int yc_iter_sorted(yc_iter *it, yc_map_fn key, void *ctx, bool reverse, yc_vec *out)
{
    return sorted_n("yc_iter_sorted", it, key, ctx, reverse, SIZE_MAX, out);
}

int yc_iter_nlargest(yc_iter *it, size_t n, yc_map_fn key, void *ctx, yc_vec *out)
{
    return sorted_n("yc_iter_nlargest", it, key, ctx, true, n, out);
}

int yc_iter_nsmallest(yc_iter *it, size_t n, yc_map_fn key, void *ctx, yc_vec *out)
{
    return sorted_n("yc_iter_nsmallest", it, key, ctx, false, n, out);
}

int yc_counter_most_common(const yc_counter *c, size_t n, yc_vec *out)
{
    if (!out) return yc__fail(YC_EINVAL, &yc_TypeError, "yc_counter_most_common: out is NULL");
    *out = (yc_vec){NULL, 0, 0};
    if (!is_counter(c)) return bad_counter("yc_counter_most_common");
    sitem *v = c->len ? yc__malloc(c->len * sizeof *v) : NULL;
    if (c->len && !v) return yc__enomem();
    size_t made = 0;
    for (; made < c->len; made++) {
        struct {
            size_t len;
            yc_val items[2];
        } pair = {2, {c->v[made].key, yc_int(c->v[made].count)}};
        yc_val t = yc_val_copy(yc_tuple_val((const yc_tuple *)&pair));
        if (yc_is_none(t)) {
            release_items(v, made, false);
            yc__free(v);
            return yc__enomem();
        }
        v[made] = (sitem){t, YC_NONE, c->v[made].count};
    }
    sorter s = {.reverse = true, .by_count = true};
    return finish(&s, v, made, n, false, out);
}
