/* collections.Counter, sorted, heapq.nlargest / nsmallest (src/counter.c):
 * the results CPython gives for the same inputs (in the comments), errors,
 * misuse, a "top N by count" pipeline, and an allocation-failure sweep. */
#include "fault_sweep.h"

#include <math.h>

/* The items of v as their reprs joined by ", ". */
static const char *vec_text(const yc_vec *v)
{
    static char buf[1024];
    size_t w = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < v->len && w < sizeof buf; i++)
        w += (size_t)snprintf(buf + w, sizeof buf - w, "%s", i ? ", " : "") +
             (size_t)yc_val_format(v->items[i], buf + w + (i ? 2 : 0),
                                   sizeof buf - w - (i ? 2 : 0));
    return buf;
}

static yc_val mixed[] = {
    {{.s = "a"}, YC_T_BYTES | (1u << 8)},
    {{.s = "b"}, YC_T_BYTES | (1u << 8)},
    {{.s = "a"}, YC_T_BYTES | (1u << 8)},
    {{.i = 1}, YC_T_INT},
    {{.f = 1.0}, YC_T_FLOAT},
    {{.i = 1}, YC_T_BOOL},
    {{.s = "c"}, YC_T_BYTES | (1u << 8)},
    {{.s = "b"}, YC_T_BYTES | (1u << 8)},
    {{.s = "a"}, YC_T_BYTES | (1u << 8)},
};
#define NMIXED (sizeof mixed / sizeof mixed[0])

TEST(counter_counts_as_python_and_most_common_orders_ties_by_arrival)
{
    yc_counter *c = yc_counter_new();
    yc_iter *it = yc_iter_array(mixed, NMIXED);
    CHECK_ST(yc_iter_count_into(it, c), YC_OK);
    yc_iter_free(it);
    CHECK_EQ_INT(yc_counter_len(c), 4);
    CHECK_EQ_INT(yc_counter_get(c, yc_str("a")), 3);
    CHECK_EQ_INT(yc_counter_get(c, yc_float(1.0)), 3); /* 1 == 1.0 == True */
    CHECK_EQ_INT(yc_counter_get(c, yc_str("zzz")), 0);
    yc_vec v;
    /* Counter([b'a', b'b', b'a', 1, 1.0, True, b'c', b'b', b'a']).most_common()
     * == [(b'a', 3), (1, 3), (b'b', 2), (b'c', 1)] */
    CHECK_ST(yc_counter_most_common(c, SIZE_MAX, &v), YC_OK);
    CHECK_STR(vec_text(&v), "(b'a', 3), (1, 3), (b'b', 2), (b'c', 1)");
    yc_vec_free(&v);
    CHECK_ST(yc_counter_most_common(c, 2, &v), YC_OK);
    CHECK_STR(vec_text(&v), "(b'a', 3), (1, 3)");
    yc_vec_free(&v);
    CHECK_ST(yc_counter_most_common(c, 0, &v), YC_OK);
    CHECK_EQ_INT(v.len, 0);
    yc_vec_free(&v);

    /* add with n, tuples and NaN as keys */
    CHECK_ST(yc_counter_add(c, yc_str("c"), 10), YC_OK);
    CHECK_EQ_INT(yc_counter_get(c, yc_str("c")), 11);
    struct { size_t len; yc_val items[2]; } t1 = {2, {yc_int(1), yc_str("x")}},
                                           t2 = {2, {yc_float(1.0), yc_str("x")}};
    CHECK_ST(yc_counter_add(c, yc_tuple_val((const yc_tuple *)&t1), 1), YC_OK);
    CHECK_ST(yc_counter_add(c, yc_tuple_val((const yc_tuple *)&t2), 1), YC_OK);
    CHECK_EQ_INT(yc_counter_get(c, yc_tuple_val((const yc_tuple *)&t1)), 2);
    CHECK_ST(yc_counter_add(c, yc_float(NAN), 1), YC_OK);
    CHECK_ST(yc_counter_add(c, yc_float(NAN), 1), YC_OK);
    CHECK_EQ_INT(yc_counter_len(c), 7); /* each NaN a key of its own */
    yc_counter_free(c);
}

TEST(counter_overflow_raises)
{
    yc_counter *c = yc_counter_new();
    CHECK_ST(yc_counter_add(c, YC_NONE, INT64_MAX), YC_OK);
    CHECK_ST(yc_counter_add(c, YC_NONE, 1), YC_RAISE);
    CHECK_EXC(&yc_OverflowError, "OverflowError: counter: a count overflows int64");
    CHECK_EQ_INT(yc_counter_get(c, YC_NONE), INT64_MAX);
    yc_counter_free(c);
}

TEST(counter_misuse)
{
    yc_vec v;
    CHECK_ST(yc_counter_add(NULL, YC_NONE, 1), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_counter_add: counter is NULL or not a counter");
    CHECK_ST(yc_counter_most_common(NULL, 1, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_counter_most_common: counter is NULL or not a counter");
    CHECK_EQ_INT(v.len, 0);
    yc_counter *c = yc_counter_new();
    CHECK_ST(yc_counter_most_common(c, 1, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_counter_most_common: out is NULL");
    CHECK_ST(yc_iter_count_into(NULL, c), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_count_into: iterator is NULL");
    yc_iter *it = yc_iter_range(0, 3, 1);
    CHECK_ST(yc_iter_count_into(it, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_count_into: counter is NULL or not a counter");
    yc_iter_free(it);
    CHECK_EQ_INT(yc_counter_get(NULL, YC_NONE), 0);
    CHECK_EQ_INT(yc_counter_len(NULL), 0);
    yc_counter_free(NULL);
    yc_counter_free(c);
}

static yc_val by_len(void *ctx, yc_val x)
{
    (void)ctx;
    return yc_int((int64_t)yc_len(x));
}

static yc_val key_raises(void *ctx, yc_val x)
{
    (void)ctx;
    if (yc_len(x) == 2) yc_raisef(&yc_ValueError, "no key for %.*s", 2, x.s);
    return x;
}

static const yc_val words[] = {
    {{.s = "bb"}, YC_T_BYTES | (2u << 8)},
    {{.s = "a"}, YC_T_BYTES | (1u << 8)},
    {{.s = "cc"}, YC_T_BYTES | (2u << 8)},
    {{.s = "d"}, YC_T_BYTES | (1u << 8)},
};

TEST(sorted_is_stable_with_a_key_and_reversed)
{
    yc_vec v;
    yc_iter *it = yc_iter_array(words, 4);
    /* sorted([b'bb', b'a', b'cc', b'd'], key=len) */
    CHECK_ST(yc_iter_sorted(it, by_len, NULL, false, &v), YC_OK);
    CHECK_STR(vec_text(&v), "b'a', b'd', b'bb', b'cc'");
    yc_vec_free(&v);
    yc_iter_free(it);
    it = yc_iter_array(words, 4);
    CHECK_ST(yc_iter_sorted(it, by_len, NULL, true, &v), YC_OK);
    CHECK_STR(vec_text(&v), "b'bb', b'cc', b'a', b'd'");
    yc_vec_free(&v);
    yc_iter_free(it);
    it = yc_iter_array(words, 4);
    CHECK_ST(yc_iter_sorted(it, NULL, NULL, false, &v), YC_OK);
    CHECK_STR(vec_text(&v), "b'a', b'bb', b'cc', b'd'");
    yc_vec_free(&v);
    yc_iter_free(it);
}

TEST(nlargest_and_nsmallest)
{
    yc_val xs[] = {yc_int(1), yc_int(5), yc_int(3), yc_float(5.0)};
    yc_val ys[] = {yc_int(4), yc_int(1), yc_float(2.5), yc_float(1.0)};
    yc_vec v;
    yc_iter *it = yc_iter_array(xs, 4);
    CHECK_ST(yc_iter_nlargest(it, 2, NULL, NULL, &v), YC_OK); /* heapq.nlargest(2, ...) */
    CHECK_STR(vec_text(&v), "5, 5.0");
    yc_vec_free(&v);
    yc_iter_free(it);
    it = yc_iter_array(ys, 4);
    CHECK_ST(yc_iter_nsmallest(it, 3, NULL, NULL, &v), YC_OK);
    CHECK_STR(vec_text(&v), "1, 1.0, 2.5");
    yc_vec_free(&v);
    yc_iter_free(it);
    it = yc_iter_array(ys, 4);
    CHECK_ST(yc_iter_nsmallest(it, 100, NULL, NULL, &v), YC_OK);
    CHECK_EQ_INT(v.len, 4);
    yc_vec_free(&v);
    yc_iter_free(it);
}

TEST(sorting_errors_leave_nothing_behind)
{
    yc_val xs[] = {yc_int(1), yc_str("x")};
    yc_vec v;
    yc_iter *it = yc_iter_array(xs, 2);
    CHECK_ST(yc_iter_sorted(it, NULL, NULL, false, &v), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '<' not supported between instances of 'bytes' and 'int'");
    CHECK_EQ_INT(v.len, 0);
    yc_iter_free(it);
    it = yc_iter_array(words, 4);
    CHECK_ST(yc_iter_nlargest(it, 1, key_raises, NULL, &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: no key for bb");
    yc_iter_free(it);
    CHECK_ST(yc_iter_sorted(NULL, NULL, NULL, false, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_sorted: iterator is NULL");
    it = yc_iter_array(words, 4);
    CHECK_ST(yc_iter_sorted(it, NULL, NULL, false, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_sorted: out is NULL");
    yc_iter_free(it);
}

/* ---- the pipeline a newcomer writes ----------------------------------- */

static const char log_text[] = "GET /a\nGET /b\nPOST /a\nGET /c\nGET /b\nGET /a\nbad\n";

/* "METHOD PATH" -> PATH (None for a line without one) */
static yc_val path_of(void *ctx, yc_val line)
{
    (void)ctx;
    const char *sp = memchr(line.s, ' ', yc_len(line));
    if (!sp) return YC_NONE;
    size_t n = yc_len(line) - (size_t)(sp + 1 - line.s);
    if (n && sp[n] == '\n') n--; /* lines keep their newline, as in Python */
    return yc_bytes(sp + 1, n);
}

static int top_paths(yc_vec *out)
{
    FILE *f = fmemopen((void *)log_text, sizeof log_text - 1, "r");
    yc_counter *c = yc_counter_new();
    yc_iter *paths = yc_iter_filter(yc_iter_map(yc_iter_lines_file(f, NULL), path_of, NULL),
                                    NULL, NULL);
    int st = paths && c ? yc_iter_count_into(paths, c) : YC_RAISE;
    if (st == YC_OK) st = yc_counter_most_common(c, 2, out);
    yc_iter_free(paths);
    yc_counter_free(c);
    fclose(f);
    return st;
}

TEST(top_n_pipeline_needs_no_hash_table)
{
    yc_vec v;
    CHECK_ST(top_paths(&v), YC_OK);
    CHECK_STR(vec_text(&v), "(b'/a', 3), (b'/b', 2)");
    yc_vec_free(&v);
}

/* ---- allocation failures ----------------------------------------------- */

static int op_counter(void)
{
    (void)got_exc; /* only MemoryError is expected here */
    yc_vec v = {0};
    int st = top_paths(&v);
    if (st < 0) return failed();
    for (size_t i = 0; i < v.len; i++) fp_val(v.items[i]);
    yc_vec_free(&v);
    yc_iter *it = yc_iter_array(words, 4);
    if (!it) return failed();
    st = yc_iter_sorted(it, by_len, NULL, true, &v);
    yc_iter_free(it);
    if (st < 0) return failed();
    for (size_t i = 0; i < v.len; i++) fp_val(v.items[i]);
    yc_vec_free(&v);
    return 0;
}

static const fault_op counter_ops[] = {
    {"counter_sorted", op_counter, NULL},
};

TEST(counter_and_sorted_under_allocation_failures)
{
    sweep_all(counter_ops, sizeof counter_ops / sizeof counter_ops[0]);
}

TEST_MAIN()
