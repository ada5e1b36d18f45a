/* Reducers: count, sum, min, max, reduce, any, all, first, nth, for_each,
 * collect; they borrow the iterator, and those that return an item hand
 * over an owned copy. Also: infinite sources with something downstream
 * that stops (the first 10 primes). */
#include "test_pipe_util.h"

static yc_iter *ints(const yc_val *items, size_t n) { return yc_iter_array(items, n); }

static bool is_prime(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i < 2) return false;
    for (int64_t d = 2; d * d <= x.i; d++)
        if (x.i % d == 0) return false;
    return true;
}

TEST(first_ten_primes_from_an_infinite_counter)
{
    yc_iter *parts[2] = {yc_iter_range(0, 2, 1), yc_iter_counter(2, 1)}; /* 0 1 2 3 4 ... */
    yc_iter *p = yc_iter_take(yc_iter_filter(yc_iter_chain(parts, 2), is_prime, NULL), 10);
    yc_vec v;
    CHECK_ST(yc_iter_collect(p, &v), YC_OK); /* the block path: take bounds every request */
    int64_t got[16];
    for (size_t i = 0; i < v.len && i < 16; i++) got[i] = v.items[i].i;
    CHECK_INTS(got, v.len, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29);
    yc_vec_free(&v);
    yc_iter_free(p);
    /* and item by item */
    yc_iter *parts2[1] = {yc_iter_counter(0, 1)};
    p = yc_iter_take(yc_iter_filter(yc_iter_chain(parts2, 1), is_prime, NULL), 10);
    size_t n;
    CHECK_ST(pull_all(p, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29);
    yc_iter_free(p);
}

TEST(count_and_errors)
{
    int64_t c = -1;
    yc_iter *r = yc_iter_range(0, 1000, 3);
    CHECK_ST(yc_iter_count(r, &c), YC_OK);
    CHECK_EQ_INT(c, 334);
    CHECK_ST(yc_iter_count(r, &c), YC_OK); /* borrowed, exhausted */
    CHECK_EQ_INT(c, 0);
    yc_iter_free(r);
    tsrc t;
    tsrc_init(&t, 10);
    t.raise_at = 4;
    r = tsrc_iter(&t);
    CHECK_ST(yc_iter_count(r, &c), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: source failed");
    yc_iter_free(r);
    CHECK_ST(yc_iter_count(NULL, &c), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_count: iterator is NULL");
}

TEST(sum_ints_floats_and_errors)
{
    yc_val out;
    yc_iter *r = yc_iter_range(0, 100001, 1);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &out), YC_OK);
    CHECK_INTV(out, 5000050000);
    yc_iter_free(r);
    yc_val tenths[10];
    for (int i = 0; i < 10; i++) tenths[i] = yc_float(0.1);
    r = ints(tenths, 10);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &out), YC_OK);
    CHECK_VAL(out, yc_float(1.0)); /* compensated, as CPython 3.12+ */
    yc_iter_free(r);
    yc_val mixed[] = {yc_int(1), yc_bool(true), yc_float(0.5)};
    r = ints(mixed, 3);
    CHECK_ST(yc_iter_sum(r, yc_int(10), &out), YC_OK);
    CHECK_VAL(out, yc_float(12.5));
    yc_iter_free(r);
    yc_val bad[] = {yc_int(1), yc_str("x")};
    r = ints(bad, 2);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'int' and 'bytes'");
    yc_iter_free(r);
    r = ints(bad, 0);
    CHECK_ST(yc_iter_sum(r, yc_str(""), &out), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: sum() can't sum bytes [use b''.join(seq) instead]");
    yc_iter_free(r);
    yc_val big[] = {yc_int(INT64_MAX), yc_int(1)};
    r = ints(big, 2);
    CHECK_ST(yc_iter_sum(r, yc_int(0), &out), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: sum() result does not fit in int64");
    yc_iter_free(r);
}

static yc_val neg(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 13) yc_raisef(&yc_KeyError, "13");
    return yc_int(-x.i);
}

TEST(min_max_with_and_without_key)
{
    yc_val items[] = {yc_int(3), yc_int(1), yc_int(4), yc_int(1), yc_float(5.5)};
    yc_val out;
    yc_iter *r = ints(items, 5);
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 1);
    yc_iter_free(r);
    r = ints(items, 5);
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_float(5.5));
    yc_iter_free(r);
    r = ints(items, 4);
    CHECK_ST(yc_iter_max(r, neg, NULL, &out), YC_OK); /* the first of the equal ones */
    CHECK_INTV(out, 1);
    yc_iter_free(r);
    r = ints(items, 0);
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: min() iterable argument is empty");
    yc_iter_free(r);
    r = ints(items, 0);
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: max() iterable argument is empty");
    yc_iter_free(r);
    yc_val bad[] = {yc_int(1), yc_str("x")};
    r = ints(bad, 2);
    CHECK_ST(yc_iter_min(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '<' not supported between instances of 'bytes' and 'int'");
    yc_iter_free(r);
    r = ints(bad, 2);
    CHECK_ST(yc_iter_max(r, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '>' not supported between instances of 'bytes' and 'int'");
    yc_iter_free(r);
    r = yc_iter_range(0, 100, 1);
    CHECK_ST(yc_iter_min(r, neg, NULL, &out), YC_RAISE); /* the key raises at 13 */
    CHECK_EXC(&yc_KeyError, "KeyError: '13'");
    yc_iter_free(r);
}

/* The min/max of lines read through a tiny buffer: the result is an owned
 * copy, intact after the source moved on and was freed. */
TEST(min_max_of_lines_are_owned_copies)
{
    char path[64];
    const char *text = "pear\napple\nzucchini\nfig\n";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 3, .flags = YC_IO_STRIP};
    yc_iter *l = yc_iter_lines_path(path, &o);
    yc_val lo, hi;
    CHECK_ST(yc_iter_min(l, NULL, NULL, &lo), YC_OK);
    yc_iter_free(l);
    l = yc_iter_lines_path(path, &o);
    CHECK_ST(yc_iter_max(l, NULL, NULL, &hi), YC_OK);
    yc_iter_free(l);
    CHECK_VAL(lo, yc_str("apple"));
    CHECK_VAL(hi, yc_str("zucchini"));
    yc_val_release(lo);
    yc_val_release(hi);
    unlink(path);
}

static yc_val longer(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    if (yc_len(x) == 3 && memcmp(x.s, "bad", 3) == 0) yc_raisef(&yc_ValueError, "bad line");
    return yc_len(x) > yc_len(acc) ? x : acc;
}

static yc_val mul(void *ctx, yc_val acc, yc_val x)
{
    (void)ctx;
    return yc_int(acc.i * x.i);
}

TEST(reduce_initial_empty_and_errors)
{
    yc_val out;
    yc_iter *r = yc_iter_range(1, 6, 1);
    CHECK_ST(yc_iter_reduce(r, mul, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 120);
    yc_iter_free(r);
    yc_val init = yc_int(2);
    r = yc_iter_range(1, 1, 1);
    CHECK_ST(yc_iter_reduce(r, mul, NULL, &init, &out), YC_OK);
    CHECK_INTV(out, 2);
    yc_iter_free(r);
    r = yc_iter_range(1, 1, 1);
    CHECK_ST(yc_iter_reduce(r, mul, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: reduce() of empty iterable with no initial value");
    yc_iter_free(r);

    char path[64];
    const char *text = "ab\nabcd\nabc\nbad\n";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 2, .flags = YC_IO_STRIP};
    yc_iter *l = yc_iter_take(yc_iter_lines_path(path, &o), 3);
    CHECK_ST(yc_iter_reduce(l, longer, NULL, NULL, &out), YC_OK);
    CHECK_VAL(out, yc_str("abcd"));
    yc_val_release(out);
    yc_iter_free(l);
    l = yc_iter_lines_path(path, &o);
    CHECK_ST(yc_iter_reduce(l, longer, NULL, NULL, &out), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: bad line");
    yc_iter_free(l);
    unlink(path);
}

static bool over3(void *ctx, yc_val x)
{
    (void)ctx;
    if (x.i == 100) yc_raisef(&yc_ValueError, "pred failed");
    return x.i > 3;
}

TEST(any_all_stop_at_the_deciding_item)
{
    tsrc t;
    tsrc_init(&t, 10);
    yc_iter *it = tsrc_iter(&t);
    bool b = false;
    CHECK_ST(yc_iter_any(it, over3, NULL, &b), YC_OK);
    CHECK(b);
    CHECK_EQ_INT(t.produced, 5); /* stopped at 4 */
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* borrowed: goes on after 4 */
    CHECK_INTV(v, 5);
    CHECK_ST(yc_iter_all(it, over3, NULL, &b), YC_OK);
    CHECK(b);
    yc_iter_free(it);
    yc_val items[] = {yc_int(5), yc_int(0), yc_int(7)};
    it = ints(items, 3);
    CHECK_ST(yc_iter_all(it, NULL, NULL, &b), YC_OK);
    CHECK(!b);
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 7);
    yc_iter_free(it);
    it = ints(items, 0);
    CHECK_ST(yc_iter_any(it, NULL, NULL, &b), YC_OK);
    CHECK(!b);
    CHECK_ST(yc_iter_all(it, NULL, NULL, &b), YC_OK);
    CHECK(b);
    yc_iter_free(it);
    yc_val hundred[] = {yc_int(1), yc_int(100)};
    it = ints(hundred, 2);
    CHECK_ST(yc_iter_any(it, over3, NULL, &b), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: pred failed");
    yc_iter_free(it);
}

TEST(first_and_nth_hand_over_copies)
{
    char path[64];
    const char *text = "one\ntwo\nthree\n";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 4, .flags = YC_IO_STRIP};
    yc_iter *l = yc_iter_lines_path(path, &o);
    yc_val a, b;
    CHECK_ST(yc_iter_first(l, &a), YC_OK);
    CHECK_ST(yc_iter_nth(l, 1, &b), YC_OK); /* continues after the first: "three" */
    CHECK_VAL(a, yc_str("one"));
    CHECK_VAL(b, yc_str("three"));
    yc_val_release(a);
    CHECK_ST(yc_iter_first(l, &a), YC_RETURN);
    CHECK(yc_is_none(a));
    yc_iter_free(l);
    CHECK_VAL(b, yc_str("three")); /* still valid: it is a copy */
    yc_val_release(b);
    unlink(path);
    yc_iter *r = yc_iter_range(0, 3, 1);
    CHECK_ST(yc_iter_nth(r, 5, &a), YC_RETURN);
    CHECK_ST(yc_iter_nth(r, -1, &a), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: nth: n must be >= 0, not -1");
    yc_iter_free(r);
}

typedef struct each_ctx {
    int64_t sum;
    int seen;
    int stop_at, raise_at;
} each_ctx;

static bool each(void *ctx, yc_val x)
{
    each_ctx *c = ctx;
    if (x.i == c->raise_at) yc_raisef(&yc_RuntimeError, "each failed at %lld", (long long)x.i);
    c->seen++;
    c->sum += x.i;
    return x.i != c->stop_at;
}

TEST(for_each_stops_and_raises)
{
    each_ctx c = {0, 0, -1, -1};
    yc_iter *r = yc_iter_range(0, 10, 1);
    CHECK_ST(yc_iter_for_each(r, each, &c), YC_OK);
    CHECK_EQ_INT(c.sum, 45);
    yc_iter_free(r);
    c = (each_ctx){0, 0, 3, -1};
    r = yc_iter_range(0, 10, 1);
    CHECK_ST(yc_iter_for_each(r, each, &c), YC_OK);
    CHECK_EQ_INT(c.seen, 4);
    yc_val v;
    CHECK_ST(yc_iter_next(r, &v), YC_YIELD); /* exactly after the stopping item */
    CHECK_INTV(v, 4);
    yc_iter_free(r);
    c = (each_ctx){0, 0, -1, 5};
    r = yc_iter_range(0, 10, 1);
    CHECK_ST(yc_iter_for_each(r, each, &c), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: each failed at 5");
    CHECK_EQ_INT(c.seen, 5); /* every item before the error was handled */
    yc_iter_free(r);
}

TEST(collect_copies_bytes_and_tuples)
{
    char path[64];
    const char *text = "x\nyy\nzzz";
    tmp_file(path, sizeof path, text, strlen(text));
    yc_io_opts o = {.buf_size = 2, .flags = YC_IO_STRIP};
    yc_iter *e = yc_iter_enumerate(yc_iter_lines_path(path, &o), 1);
    yc_vec v;
    CHECK_ST(yc_iter_collect(e, &v), YC_OK);
    yc_iter_free(e);
    CHECK_EQ_INT(v.len, 3);
    const char *want[] = {"x", "yy", "zzz"};
    for (size_t i = 0; i < v.len && i < 3; i++) {
        const yc_tuple *t = yc_tuple_of(v.items[i]);
        CHECK(t && t->len == 2);
        CHECK_INTV(t->items[0], (int64_t)i + 1);
        CHECK_VAL(t->items[1], yc_str(want[i]));
    }
    yc_vec_free(&v);
    CHECK(v.items == NULL && v.len == 0);
    tsrc t;
    tsrc_init(&t, 10);
    t.raise_at = 3;
    yc_iter *g = tsrc_iter(&t);
    CHECK_ST(yc_iter_collect(g, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: source failed");
    CHECK(v.items == NULL && v.len == 0);
    yc_iter_free(g);
    unlink(path);
}

TEST(val_copy_and_truthy)
{
    yc_val s = yc_val_copy(yc_str("hello"));
    CHECK_VAL(s, yc_str("hello"));
    yc_val_release(s);
    yc_val e = yc_val_copy(yc_bytes("", 0));
    CHECK_VAL(e, yc_bytes("", 0));
    yc_val_release(e);
    yc_val i = yc_val_copy(yc_int(4));
    CHECK_INTV(i, 4);
    yc_val_release(i); /* nothing to release */
    CHECK(!yc_val_truthy(YC_NONE) && yc_val_truthy(yc_float(-0.5)) && !yc_val_truthy(yc_str("")));
}

TEST_MAIN()
