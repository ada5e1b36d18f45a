/* Rows of docs/misuse.md that had no test elsewhere: each misuse returns the
 * documented status and exception, and changes nothing else. */
#include "test.h"

static long live_gens(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.generators;
}

static long live_excs(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.exceptions;
}

/* Not an exception, not a generator: what a stray pointer looks like. */
static uint64_t foreign[64];

static yc_val one_two(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    return YC_NONE;
}

/* ---- iterators: the block path --------------------------------------- */

TEST(yc_iter_next_batch_n_null)
{
    yc_val items[] = {yc_int(1)};
    yc_iter *it = yc_iter_array(items, 1);
    yc_val buf[2];
    CHECK_ST(yc_iter_next_batch(it, buf, 2, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_next_batch: n is NULL");
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD); /* nothing consumed */
    CHECK_INTV(v, 1);
    yc_iter_free(it);
}

TEST(yc_iter_next_batch_it_null)
{
    yc_val buf[2];
    size_t n = 7;
    CHECK_ST(yc_iter_next_batch(NULL, buf, 2, &n), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: iterator is NULL");
    CHECK_EQ_INT(n, 0);
}

TEST(yc_iter_next_batch_buf_null)
{
    yc_iter *it = yc_iter_range(0, 3, 1);
    size_t n = 7;
    CHECK_ST(yc_iter_next_batch(it, NULL, 2, &n), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_iter_next_batch: buf is NULL");
    CHECK_EQ_INT(n, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    yc_iter_free(it);
}

TEST(yc_iter_next_batch_cap_zero)
{
    yc_iter *it = yc_iter_range(0, 3, 1);
    yc_val buf[2];
    size_t n = 7;
    CHECK_ST(yc_iter_next_batch(it, buf, 0, &n), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_iter_next_batch: cap is 0");
    CHECK_EQ_INT(n, 0);
    yc_val v;
    CHECK_ST(yc_iter_next(it, &v), YC_YIELD);
    CHECK_INTV(v, 0);
    yc_iter_free(it);
}

TEST(yc_iter_throw_null_iterator_takes_exception)
{
    CHECK_ST(yc_iter_throw(NULL, yc_exc_new(&yc_KeyError, "taken"), NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: iterator is NULL");
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(yc_iter_label_not_a_stage)
{
    yc_val items[] = {yc_int(1)};
    yc_iter *it = yc_iter_array(items, 1);
    CHECK_ST(yc_iter_label(it, "x"), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_label: 'list_iterator' is not a pipeline stage");
    CHECK_STR(yc_iter_name(it), "list_iterator");
    yc_iter_free(it);
    CHECK_ST(yc_iter_label(NULL, "x"), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_label: '?' is not a pipeline stage");
    CHECK_STR(yc_iter_name(NULL), "?");
}

/* ---- exceptions -------------------------------------------------------- */

TEST(yc_exc_accessors_null)
{
    CHECK(yc_exc_type_of(NULL) == NULL);
    CHECK_STR(yc_exc_msg(NULL), "");
    CHECK(yc_is_none(yc_exc_value(NULL)));
    CHECK_EQ_INT(yc_exc_errno(NULL), 0);
    CHECK(yc_exc_context(NULL) == NULL);
    CHECK(yc_exc_cause(NULL) == NULL);
    CHECK(!yc_exc_suppress_context(NULL));
    CHECK(!yc_exc_is(NULL, &yc_BaseException));
    size_t n = 9;
    CHECK(yc_exc_traceback(NULL, &n) == NULL);
    CHECK_EQ_INT(n, 0);
    CHECK(yc_exc_ref(NULL) == NULL);
    yc_exc_unref(NULL);
    char buf[16];
    CHECK_EQ_INT(yc_exc_format(NULL, buf, sizeof buf), 4);
    CHECK_STR(buf, "None");
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(live_excs(), 0);
}

TEST(yc_exc_new_null_type_is_base_exception)
{
    yc_exc *e = yc_exc_new(NULL, "m");
    CHECK(yc_exc_type_of(e) == &yc_BaseException);
    char buf[64];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "BaseException: m");
    yc_exc_unref(e);
    CHECK(yc_err_get() == NULL);
}

TEST(yc_exc_set_cause_foreign_cause_ignored)
{
    /* as yc_raise_from does: a cause that is not an exception is dropped */
    yc_exc *e = yc_exc_new(&yc_KeyError, "k");
    yc_exc_set_cause(e, (yc_exc *)foreign);
    CHECK(yc_exc_cause(e) == NULL);
    CHECK(!yc_exc_suppress_context(e));
    yc_exc_set_cause(e, NULL); /* leave e safe to unref either way */
    yc_exc_unref(e);
    for (size_t i = 0; i < sizeof foreign / sizeof foreign[0]; i++) CHECK(foreign[i] == 0);
}

/* ---- context managers --------------------------------------------------- */

TEST(yc_cm_gen_freed_generator)
{
    yc_gen *g = yc_gen_new(one_two, NULL, NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK(yc_cm_gen(g) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_cm_gen: not a live generator");
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(yc_cm_open_null_path)
{
    CHECK(yc_cm_open(NULL, 0, 0) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_open: path is NULL");
}

TEST(yc_cm_fopen_null_mode)
{
    CHECK(yc_cm_fopen("/dev/null", NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_fopen: mode is NULL");
}

TEST(yc_cm_exit_gen_manager_never_entered)
{
    /* exit before enter: contextlib would call next() on a fresh generator */
    yc_cm *cm = yc_cm_gen_new(one_two, NULL, NULL);
    /* as CPython: next() runs the generator to its first yield */
    CHECK_ST(yc_cm_exit(cm, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator didn't stop");
    CHECK_EQ_INT(yc_gen_state_of(yc_cm_gen_of(cm)), YC_GEN_CLOSED);
    yc_cm_free(cm);
    CHECK_EQ_INT(live_gens(), 0);
}

TEST(yc_exitstack_exit_null_stack)
{
    CHECK_ST(yc_exitstack_exit(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    yc_exc *e = yc_exc_new(&yc_KeyError, "borrowed");
    CHECK_ST(yc_exitstack_exit(NULL, e), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK_EQ_INT(live_excs(), 1); /* borrowed: still ours */
    yc_exc_unref(e);
}

TEST(yc_exitstack_push_cm_null_stack_takes_cm)
{
    yc_cm *cm = yc_cm_gen_new(one_two, NULL, NULL);
    CHECK_EQ_INT(live_gens(), 1);
    CHECK_ST(yc_exitstack_push_cm(NULL, cm), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: exit stack is NULL");
    CHECK_EQ_INT(live_gens(), 0); /* taken, even on failure */
}

TEST(yc_exitstack_push_cm_null_cm)
{
    yc_exitstack *s = yc_exitstack_new();
    CHECK_ST(yc_exitstack_push_cm(s, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: 'NULL' object does not support the context manager protocol");
    CHECK_EQ_INT(yc_exitstack_size(s), 0);
    yc_exitstack_free(s);
}

/* ---- pipelines: reducers ------------------------------------------------ */

TEST(yc_iter_count_null_iterator)
{
    int64_t n = 5;
    CHECK_ST(yc_iter_count(NULL, &n), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_count: iterator is NULL");
}

TEST(yc_iter_sum_wrong_kind)
{
    yc_val items[] = {yc_int(1), yc_str("a")};
    yc_iter *it = yc_iter_array(items, 2);
    yc_val out = yc_int(-1);
    CHECK_ST(yc_iter_sum(it, yc_int(0), &out), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: unsupported operand type(s) for +: 'int' and 'bytes'");
    yc_iter_free(it);
}
TEST_MAIN()
