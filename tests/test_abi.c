/*
 * Type structs that can grow: yc_iter_type and yc_cm_type carry a size
 * field so that a later yieldc can add fields at the end without breaking
 * binaries built against an older header (docs/design.md, "Versions and
 * the ABI"). 0 is this version's layout; a smaller size is refused; a
 * larger one (a newer header) is accepted when its extra fields are all
 * zero, refused otherwise, each refusal a TypeError naming both sizes.
 * yc_iter_type's flags came after 0.1: the 0.1 size is accepted too.
 */
#include "test.h"

#include <stddef.h>

/* The two refusals' texts, for type struct `what` named `name`. */
static const char *too_small(const char *what, const char *name, size_t size, size_t known)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "TypeError: %s '%s' has size %zu, less than %zu, this yieldc's: set .size to "
             "sizeof(%s) or leave it 0",
             what, name, size, known, what);
    return buf;
}

static const char *too_new(const char *what, const char *name, size_t size, size_t known)
{
    static char buf[256];
    snprintf(buf, sizeof buf,
             "TypeError: %s '%s' was built against a newer yieldc.h (size %zu, this yieldc's "
             "%zu) and sets a field this yieldc %d.%d.%d does not have",
             what, name, size, known, YC_VERSION_MAJOR, YC_VERSION_MINOR, YC_VERSION_PATCH);
    return buf;
}

/* ---- iterators ---- */

typedef struct count_it {
    yc_iter it;
    int i, n;
} count_it;

static int count_next(yc_iter *it, yc_val *out)
{
    count_it *c = (count_it *)it;
    if (c->i >= c->n) {
        *out = YC_NONE;
        return YC_RETURN;
    }
    *out = yc_int(c->i++);
    return YC_YIELD;
}

static int count_close(yc_iter *it, yc_val *out)
{
    ((count_it *)it)->i = ((count_it *)it)->n;
    if (out) *out = YC_NONE;
    return YC_OK;
}

/* A type as a newer header might lay it out: one more field at the end. */
typedef struct newer_iter_type {
    yc_iter_type t;
    void (*added_later)(void);
} newer_iter_type;

static void some_fn(void) {}

static int pull_all(const yc_iter_type *t)
{
    count_it c = {.it = {t}, .i = 0, .n = 3};
    yc_val v;
    int st, sum = 0;
    while ((st = yc_iter_next(&c.it, &v)) == YC_YIELD) sum += (int)v.i;
    return st == YC_RETURN ? sum : st;
}

TEST(iter_size_zero_is_this_layout)
{
    static const yc_iter_type t = {.name = "count", .next = count_next};
    CHECK_EQ_INT(pull_all(&t), 0 + 1 + 2);
}

TEST(iter_size_of_this_header)
{
    static const yc_iter_type t = {.name = "count", .next = count_next, .size = sizeof t};
    CHECK_EQ_INT(pull_all(&t), 3);
}

TEST(iter_size_too_small_refused_by_every_entry)
{
    static const yc_iter_type t = {.name = "count", .next = count_next, .close = count_close,
                                   .size = 8};
    const char *want = too_small("yc_iter_type", "count", 8, sizeof(yc_iter_type));
    count_it c = {.it = {&t}, .i = 0, .n = 3};
    yc_val v, buf[4];
    size_t n = 99;
    CHECK_ST(yc_iter_next(&c.it, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_ST(yc_iter_send(&c.it, yc_int(1), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_ST(yc_iter_throw(&c.it, yc_exc_new(&yc_ValueError, "x"), &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_ST(yc_iter_close(&c.it, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_ST(yc_iter_next_batch(&c.it, buf, 4, &n), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_EQ_INT((int)n, 0);
    CHECK_EQ_INT(c.i, 0); /* nothing ran */
}

TEST(iter_newer_header_with_new_fields_unset_works)
{
    static const newer_iter_type t = {
        .t = {.name = "count", .next = count_next, .size = sizeof(newer_iter_type)},
        .added_later = NULL};
    CHECK_EQ_INT(pull_all(&t.t), 3);
}

TEST(iter_newer_header_with_new_fields_set_refused)
{
    static const newer_iter_type t = {
        .t = {.name = "count", .next = count_next, .size = sizeof(newer_iter_type)},
        .added_later = some_fn};
    CHECK_EQ_INT(pull_all(&t.t), YC_EINVAL);
    CHECK_EXC(&yc_TypeError,
              too_new("yc_iter_type", "count", sizeof(newer_iter_type), sizeof(yc_iter_type)));
}

/* A size of the 0.1 layout (yc_iter_type before flags), as a binary built
 * against that header sets it: used as it is, its flags never read. */
TEST(iter_size_of_the_0_1_layout_works)
{
    static const yc_iter_type t = {.name = "count", .next = count_next,
                                   .size = offsetof(yc_iter_type, flags)};
    CHECK_EQ_INT(pull_all(&t), 3);
}

static int empty_yield_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    (void)it, (void)buf, (void)cap;
    *n = 0;
    return YC_YIELD; /* breaks the contract: must be checked */
}

/* A user type t (named "mine", its next_batch breaking the contract) is not
 * taken for a stage: its next_batch is checked and yc_iter_label refuses it. */
static void check_not_a_stage(const yc_iter_type *t)
{
    count_it c = {.it = {t}, .i = 0, .n = 3};
    yc_val buf[4];
    size_t n = 99;
    CHECK_ST(yc_iter_next_batch(&c.it, buf, 4, &n), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: next_batch of 'mine' returned YC_YIELD with no value");
    CHECK_ST(yc_iter_label(&c.it, "x"), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_iter_label: 'mine' is not a pipeline stage");
}

/* flags is the library's stage marker; a user type is never taken for a
 * stage by it: with size 0 flags is not read (the 0.1 layout), so its
 * next_batch is checked and yc_iter_label refuses it. */
TEST(iter_flags_of_a_user_type_without_size_are_not_read)
{
    static const yc_iter_type t = {.name = "mine", .next = count_next,
                                   .next_batch = empty_yield_batch, .flags = 1};
    check_not_a_stage(&t);
}

/* With this header's size, flags is read, and only the library's own mark
 * makes a stage: any other value (here a bit set by mistake) does not. */
TEST(iter_flags_other_than_the_stage_mark_are_not_a_stage)
{
    static const yc_iter_type t = {.name = "mine", .next = count_next,
                                   .next_batch = empty_yield_batch,
                                   .size = sizeof(yc_iter_type), .flags = 1};
    check_not_a_stage(&t);
}

/* ---- context managers ---- */

typedef struct log_mgr {
    yc_cm cm;
    int entered, exited;
} log_mgr;

static int lm_enter(yc_cm *cm, yc_val *out)
{
    ((log_mgr *)cm)->entered++;
    *out = yc_int(7);
    return YC_OK;
}

static int lm_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    ((log_mgr *)cm)->exited++;
    return YC_EXIT_PROPAGATE;
}

typedef struct newer_cm_type {
    yc_cm_type t;
    int (*added_later)(yc_cm *cm);
} newer_cm_type;

static int some_op(yc_cm *cm)
{
    (void)cm;
    return 0;
}

TEST(cm_size_zero_and_this_header_work)
{
    static const yc_cm_type t0 = {.name = "log", .enter = lm_enter, .exit = lm_exit};
    static const yc_cm_type t1 = {.name = "log", .enter = lm_enter, .exit = lm_exit,
                                  .size = sizeof(yc_cm_type)};
    static const newer_cm_type t2 = {
        .t = {.name = "log", .enter = lm_enter, .exit = lm_exit, .size = sizeof(newer_cm_type)}};
    const yc_cm_type *types[] = {&t0, &t1, &t2.t};
    for (int i = 0; i < 3; i++) {
        log_mgr m = {.cm = {types[i]}};
        yc_val v;
        CHECK_ST(yc_cm_enter(&m.cm, &v), YC_OK);
        CHECK_INTV(v, 7);
        CHECK_ST(yc_cm_exit(&m.cm, NULL), YC_EXIT_PROPAGATE);
        CHECK_EQ_INT(m.entered * 10 + m.exited, 11);
    }
}

TEST(cm_bad_sizes_refused)
{
    static const yc_cm_type small = {.name = "log", .enter = lm_enter, .exit = lm_exit,
                                     .size = 1};
    static const newer_cm_type newer = {
        .t = {.name = "log", .enter = lm_enter, .exit = lm_exit, .size = sizeof(newer_cm_type)},
        .added_later = some_op};
    log_mgr m = {.cm = {&small}};
    yc_val v;
    const char *want = too_small("yc_cm_type", "log", 1, sizeof(yc_cm_type));
    CHECK_ST(yc_cm_enter(&m.cm, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    CHECK_ST(yc_cm_exit(&m.cm, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, want);
    log_mgr m2 = {.cm = {&newer.t}};
    CHECK_ST(yc_cm_enter(&m2.cm, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError,
              too_new("yc_cm_type", "log", sizeof(newer_cm_type), sizeof(yc_cm_type)));
    CHECK_EQ_INT(m.entered + m.exited + m2.entered + m2.exited, 0);
}

/* YC_WITH raises the refusal at the with line, and the body never runs. */
static yc_val with_bad(void *arg)
{
    log_mgr *m = arg;
    volatile int body = 0;
    YC_TRY {
        YC_WITH(&m->cm, v) {
            (void)v;
            body = 1;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TypeError) {
        return yc_int(body ? -1 : 1);
    } YC_END;
    return yc_int(0);
}

TEST(cm_bad_size_in_with_raises)
{
    static const yc_cm_type small = {.name = "log", .enter = lm_enter, .exit = lm_exit,
                                     .size = 4};
    log_mgr m = {.cm = {&small}};
    yc_gen *g = yc_gen_new(with_bad, &m, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 1);
    CHECK_EQ_INT(m.entered + m.exited, 0);
    yc_gen_free(g);
}

TEST_MAIN()
