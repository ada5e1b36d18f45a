/* Fault injection for the system calls that map stacks (issue 3): the Nth
 * mmap or mprotect fails, for N = 1, 2, ... until the operation succeeds.
 * Each failure must surface as OSError with errno ENOMEM through the normal
 * status path, change nothing and leak nothing (no mapping, no generator). */
#include "test.h"

static yc_val one(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    return yc_int(2);
}

/* Creates generators with stack size `stack` while the Nth mapping call
 * fails, N = 1.. until creation succeeds; returns the N that succeeded. */
static int sweep_create(size_t stack)
{
    yc_stack_pool_trim(); /* a cold pool: creation must map */
    yc_stats before;
    yc_stats_get(&before);
    for (int n = 1; n <= 10; n++) {
        yc__fault_map_after(n);
        yc_gen *g = yc_gen_new(one, NULL, &(yc_gen_opts){.name = "faulty", .stack_size = stack});
        yc__fault_map_after(0);
        if (g) {
            yc_val v;
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_INTV(v, 1);
            CHECK_ST(yc_gen_free(g), YC_OK);
            yc_stack_pool_trim();
            return n;
        }
        yc_exc *e = yc_err_get();
        CHECK(yc_exc_is(e, &yc_OSError));
        CHECK_EQ_INT(yc_exc_errno(e), ENOMEM);
        CHECK(strstr(yc_exc_msg(e), "[Errno 12]") == yc_exc_msg(e));
        CHECK(strstr(yc_exc_msg(e), "cannot map") != NULL);
        yc_err_clear();
        yc_stats now;
        yc_stats_get(&now);
        CHECK_EQ_INT(now.stacks_mapped, before.stacks_mapped); /* nothing left mapped */
        CHECK_EQ_INT(now.generators, before.generators);
    }
    CHECK(!"creation never succeeded");
    return -1;
}

TEST(map_faults_default_stack)
{
    /* mmap fails at N = 1, the guard page's mprotect at N = 2 */
    CHECK_EQ_INT(sweep_create(0), 3);
}

TEST(map_faults_custom_stack)
{
    CHECK_EQ_INT(sweep_create(64 * 1024), 3);
}

TEST(map_faults_pooled_stack_needs_no_mapping)
{
    /* a warm pool: creation maps nothing, so no failure can be injected */
    yc_gen *g = yc_gen_new(one, NULL, NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc__fault_map_after(1);
    g = yc_gen_new(one, NULL, NULL);
    CHECK(g != NULL);
    yc__fault_map_after(0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A failure inside a generator body, creating a sub-generator: the OSError
 * propagates out of the body like any exception. */
static yc_val maker(void *arg)
{
    (void)arg;
    yc_stack_pool_trim();
    yc__fault_map_after(1);
    yc_gen *sub = yc_gen_new(one, NULL, NULL);
    yc__fault_map_after(0);
    if (!sub) YC_CHECK(-1);
    yc_gen_free(sub);
    return YC_NONE;
}

TEST(map_faults_inside_a_generator)
{
    yc_gen *g = yc_gen_new(maker, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_RAISE);
    CHECK(yc_exc_errno(yc_err_get()) == ENOMEM);
    CHECK_EXC(&yc_OSError, NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST_MAIN()
