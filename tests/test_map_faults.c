/* Fault injection for the system calls that map stacks (issues 3 and 5):
 * the Nth mmap, or guard-page call (one process_madvise for a whole chunk,
 * or one madvise or mprotect per stack), or munmap fails, for N = 1, 2, ...
 * until the operation succeeds. Each failure must surface as OSError with
 * errno ENOMEM through the normal status path, change nothing and leak
 * nothing (no mapping, no chunk, no generator). */
#include "test.h"

static yc_val one(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    return yc_int(2);
}

static yc_stats stats(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s;
}

/* Checks the pending error of a creation that failed on a map fault. */
static void check_map_error(void)
{
    yc_exc *e = yc_err_get();
    CHECK(yc_exc_is(e, &yc_OSError));
    CHECK_EQ_INT(yc_exc_errno(e), ENOMEM);
    CHECK(strstr(yc_exc_msg(e), "[Errno 12]") == yc_exc_msg(e));
    CHECK(strstr(yc_exc_msg(e), "cannot map") != NULL);
    yc_err_clear();
}

/* Creates generators with stack size `stack` while the Nth mapping call
 * fails, N = 1.. until creation succeeds; returns the N that succeeded. */
static int sweep_create(size_t stack)
{
    /* a chunk mapped and unmapped leaves a header slab with room (the last
     * one is kept): the sweep then counts the chunk's own calls */
    CHECK_ST(yc_gen_free(yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = stack})), YC_OK);
    yc_stack_pool_trim(); /* nothing pooled: creation must map */
    yc_stats before = stats();
    for (int n = 1; n <= 200; n++) {
        yc__fault_map_after(n);
        yc_gen *g = yc_gen_new(one, NULL, &(yc_gen_opts){.name = "faulty", .stack_size = stack});
        yc__fault_map_after(0);
        if (g) {
            yc_val v;
            CHECK_ST(yc_next(g, &v), YC_YIELD);
            CHECK_INTV(v, 1);
            CHECK_ST(yc_gen_free(g), YC_OK);
            yc_stack_pool_trim();
            CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks);
            return n;
        }
        check_map_error();
        yc_stats now = stats();
        CHECK_EQ_INT(now.stacks_mapped, before.stacks_mapped); /* nothing left mapped */
        CHECK_EQ_INT(now.stack_chunks, before.stack_chunks);
        CHECK_EQ_INT(now.generators, before.generators);
    }
    CHECK(!"creation never succeeded");
    return -1;
}

/* The sweep in each way of making guard pages this kernel has: one
 * process_madvise for a chunk (mmap fails at N = 1, the guard call at 2),
 * one madvise per stack, one mprotect per stack (N = 2 .. slots + 1 fail).
 * A stack too large for a chunk is alone: one guard call either way. */
static void sweep_each_way(size_t stack, int slots)
{
    int guard = yc__stack_guard_kind(), batch = yc__stack_batch_kind();
    if (guard == YC__GUARD_REGION && batch != YC__BATCH_NONE)
        CHECK_EQ_INT(sweep_create(stack), 3);
    else
        printf("note: no batched guard pages here (stack_guard and stack_batch in: %s)\n",
               yc_config());
    if (guard == YC__GUARD_REGION) {
        yc__stack_batch_force(YC__BATCH_NONE);
        CHECK_EQ_INT(sweep_create(stack), slots + 2);
        yc__stack_batch_force(batch);
    }
    yc__stack_guard_force(YC__GUARD_MPROTECT);
    CHECK_EQ_INT(sweep_create(stack), slots + 2);
    yc__stack_guard_force(guard);
}

TEST(map_faults_default_stack)
{
    /* 62 stacks of 264 KiB in 16 MiB with the assembly switch; fewer where
     * the header (holding a ucontext_t) takes two pages */
    int slots;
    yc__gen_slot_bytes(0, &slots);
    CHECK(slots >= 32 && slots <= 62);
    sweep_each_way(0, slots);
}

TEST(map_faults_custom_stack)
{
    sweep_each_way(64 * 1024, 64);
}

TEST(map_faults_lone_stack)
{
    sweep_each_way(8u << 20, 1);
}

TEST(map_faults_pooled_stack_needs_no_mapping)
{
    /* a free stack in the class: creation maps nothing, so no failure can
     * be injected */
    yc_gen *g = yc_gen_new(one, NULL, NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc__fault_map_after(1);
    g = yc_gen_new(one, NULL, NULL);
    CHECK(g != NULL);
    yc__fault_map_after(0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* With the first mapping call failing from the start, generators are made
 * from a chunk's free slots until it is full; the next one needs a new
 * chunk and fails, leaving the others running. */
TEST(map_faults_at_a_chunk_boundary)
{
    yc_stack_pool_trim();
    yc_stats before = stats();
    yc_gen *first = yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = 16 * 1024});
    CHECK(first != NULL);
    if (!first) return;
    yc_gen *gs[64];
    int made = 0;
    yc__fault_map_after(1);
    while (made < 64 && (gs[made] = yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = 16 * 1024})))
        made++;
    yc__fault_map_after(0);
    CHECK_EQ_INT(made, 63);
    check_map_error();
    CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks + 1);
    CHECK_EQ_INT(stats().stacks_mapped, before.stacks_mapped + 64);
    gs[made] = yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = 16 * 1024}); /* maps */
    CHECK(gs[made] != NULL);
    if (gs[made]) made++;
    CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks + 2);
    yc_val v;
    CHECK_ST(yc_next(first, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_gen_free(first), YC_OK);
    for (int i = 0; i < made; i++) {
        CHECK_ST(yc_next(gs[i], &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    }
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks);
    CHECK_EQ_INT(stats().stacks_mapped, before.stacks_mapped);
}

/* The Nth munmap fails while generators of two sizes are freed and the
 * pool trimmed, N = 1.. until none fails: what could not be unmapped is
 * kept (and counted), the next trim unmaps it; nothing is lost. */
TEST(unmap_faults_sweep)
{
    yc_stack_pool_trim();
    yc_stats before = stats();
    for (int n = 1; n <= 10; n++) {
        enum { N = 200 };
        yc_gen *gs[N];
        for (int i = 0; i < N; i++) {
            gs[i] = yc_gen_new(one, NULL,
                               &(yc_gen_opts){.stack_size = i % 2 ? 16 * 1024 : 64 * 1024});
            CHECK(gs[i] != NULL);
            if (!gs[i]) return;
            CHECK_ST(yc_next(gs[i], NULL), YC_YIELD);
        }
        yc__fault_unmap_after(n);
        for (int i = 0; i < N; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
        yc_stack_pool_trim();
        yc__fault_unmap_after(0);
        yc_stats s = stats();
        CHECK_EQ_INT(s.generators, before.generators);
        CHECK_EQ_INT(s.stacks_pooled, 0);
        CHECK_EQ_INT(s.stacks_mapped, before.stacks_mapped);
        yc_stack_pool_trim();
        CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks);
    }
}

/* Chunk headers come from slabs of 64 KiB: lone stacks (one chunk each:
 * mmap, one guard call, then a header) are made with the third mapping
 * call failing until one needs a new slab and fails there; nothing leaks,
 * and the generators made meanwhile still run. */
TEST(map_faults_header_slab)
{
    yc_stack_pool_trim();
    yc_stats before = stats();
    enum { MAX = 2000 };
    yc_gen **gs = calloc(MAX, sizeof *gs);
    int made = 0, failed = 0;
    while (made < MAX && !failed) {
        yc__fault_map_after(3);
        gs[made] = yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = 8u << 20});
        yc__fault_map_after(0);
        if (gs[made]) {
            made++;
            continue;
        }
        failed = 1;
        check_map_error();
        CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks + made);
        CHECK_EQ_INT(stats().stacks_mapped, before.stacks_mapped + made);
    }
    CHECK(failed); /* a slab holds fewer than MAX headers */
    CHECK(made >= 1);
    yc_val v;
    for (int i = 0; i < made; i++) {
        CHECK_ST(yc_next(gs[i], &v), YC_YIELD);
        CHECK_INTV(v, 1);
        CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    }
    free(gs);
    CHECK_EQ_INT(stats().stack_chunks, before.stack_chunks);
    CHECK_EQ_INT(stats().stacks_mapped, before.stacks_mapped);
}

/* A failure inside a generator body, creating a sub-generator of a size
 * with no chunk yet: the OSError propagates out of the body like any
 * exception. */
static yc_val maker(void *arg)
{
    (void)arg;
    yc_stack_pool_trim();
    yc__fault_map_after(1);
    yc_gen *sub = yc_gen_new(one, NULL, &(yc_gen_opts){.stack_size = 64 * 1024});
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
