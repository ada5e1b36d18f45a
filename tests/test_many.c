/* Many generators at once: 100,000 live suspended generators resumed in
 * random order and freed, the kernel mappings they cost, the stack pool
 * giving memory back, and the fallbacks (guard pages made with mprotect,
 * a stack that cannot be unmapped). */
#include "test.h"

#include <stdint.h>
#include <sys/mman.h>
#if __has_include(<valgrind/valgrind.h>)
#  include <valgrind/valgrind.h>
#else
#  define RUNNING_ON_VALGRIND 0
#endif

/* Lines of /proc/self/maps: the process's mappings; with none_only, only
 * the inaccessible ones ("---p"), which is what an mprotect guard page is. */
static long count_maps(bool none_only)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return -1;
    long n = 0;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *perm = strchr(line, ' ');
        n += !none_only || (perm && strncmp(perm + 1, "---p", 4) == 0);
        while (!strchr(line, '\n') && fgets(line, sizeof line, f)) {}
    }
    fclose(f);
    return n;
}

static long count_mappings(void) { return count_maps(false); }

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static long finally_ran;

/* Yields id*1000 + k for k = 0, 1, ...; counts its finally block. */
static yc_val numbered_body(void *arg)
{
    int64_t id = (int64_t)(intptr_t)arg;
    YC_TRY {
        for (int64_t k = 0; k < 1000; k++) yc_yield(yc_int(id * 1000 + k));
    } YC_FINALLY {
        finally_ran++;
    } YC_END;
    return YC_NONE;
}

typedef struct many {
    yc_gen **gens;
    uint16_t *step; /* how many values each has yielded */
    long n;
} many;

/* Creates n generators with stack_size (0: default) and starts each. */
static bool many_start(many *m, long n, size_t stack_size)
{
    m->n = 0;
    m->gens = calloc((size_t)n, sizeof *m->gens);
    m->step = calloc((size_t)n, sizeof *m->step);
    if (!m->gens || !m->step) return false;
    for (long i = 0; i < n; i++) {
        yc_gen *g = yc_gen_new(numbered_body, (void *)(intptr_t)i,
                               &(yc_gen_opts){.name = "numbered", .stack_size = stack_size});
        if (!g) {
            char buf[256];
            yc_exc_format(yc_err_get(), buf, sizeof buf);
            test_fail(__FILE__, __LINE__, "generator %ld of %ld: %s", i, n, buf);
            yc_err_clear();
            return false;
        }
        m->gens[m->n++] = g;
        yc_val v;
        if (yc_next(g, &v) != YC_YIELD || v.i != i * 1000) {
            test_fail(__FILE__, __LINE__, "generator %ld did not yield its first value", i);
            return false;
        }
        m->step[i] = 1;
    }
    return true;
}

/* Resumes random generators `rounds` times, checking each value. */
static void many_shuffle_resumes(many *m, long rounds)
{
    long bad = 0;
    for (long r = 0; r < rounds; r++) {
        long i = (long)(rng() % (uint64_t)m->n);
        if (m->step[i] >= 999) continue;
        yc_val v;
        int st = yc_next(m->gens[i], &v);
        if (st != YC_YIELD || v.i != i * 1000 + m->step[i]) bad++;
        m->step[i]++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* Frees every generator in random order: every other one closed first,
 * the rest freed while suspended (which closes them). Valgrind keeps its own
 * table of mappings and free gaps, which random unmapping of 100,000
 * adjacent stacks overflows ("VG_N_SEGMENTS is too low") although the
 * kernel's table does not: under Valgrind the order is the creation order. */
static void many_free_shuffled(many *m)
{
    for (long i = m->n - 1; i > 0 && !RUNNING_ON_VALGRIND; i--) {
        long j = (long)(rng() % (uint64_t)(i + 1));
        yc_gen *t = m->gens[i];
        m->gens[i] = m->gens[j];
        m->gens[j] = t;
    }
    long bad = 0;
    for (long i = 0; i < m->n; i++) {
        if (i % 2 && yc_close(m->gens[i], NULL) != YC_OK) bad++;
        if (yc_gen_free(m->gens[i]) != YC_OK) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    free(m->gens);
    free(m->step);
    m->gens = NULL;
    m->step = NULL;
}

/* [issue 3] 100,000 live suspended generators with default-size stacks,
 * each behind its guard page. With guard regions (Linux 6.13+) a stack is no
 * extra kernel mapping, so vm.max_map_count (65530 by default) does not cap
 * them; with mprotect guards it does (two mappings per stack), and the test
 * runs as many as fit under the limit, saying so. */
TEST(hundred_thousand_live_generators)
{
    long want = 100000;
    long before = count_mappings(), guards_before = count_maps(true);
    CHECK(before > 0);
    if (yc__stack_guard_kind() != YC__GUARD_REGION) {
        FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
        long max = 65530;
        if (f) {
            if (fscanf(f, "%ld", &max) != 1) max = 65530;
            fclose(f);
        }
        want = (max - before - 1000) / 2;
        printf("note: no guard regions here (kernel before 6.13, or an emulator): guard pages "
               "take a mapping each, so %ld generators instead of 100000\n", want);
    }
    yc_stack_pool_trim();
    finally_ran = 0;
    many m;
    bool ok = many_start(&m, want, 0);
    CHECK(ok);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, m.n);
    CHECK(s.stacks_mapped >= m.n);
    if (yc__stack_guard_kind() == YC__GUARD_REGION) {
        /* adjacent stacks merge into a few mappings; no PROT_NONE pages */
        long during = count_mappings();
        if (during - before >= 1000)
            test_fail(__FILE__, __LINE__, "%ld stacks took %ld mappings", m.n, during - before);
        CHECK(count_maps(true) - guards_before < 16);
    }
    many_shuffle_resumes(&m, RUNNING_ON_VALGRIND ? m.n : 3 * m.n); /* Valgrind: slow switches */
    many_free_shuffled(&m);
    CHECK_EQ_INT(finally_ran, want);
    /* The pool keeps a few stacks for reuse and unmapped the rest. */
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, 0);
    CHECK_EQ_INT(s.stacks_mapped, s.stacks_pooled);
    CHECK(s.stacks_pooled > 0 && s.stacks_pooled <= 64);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    /* every stack's mappings are gone (Valgrind keeps mappings of its own
     * for the memory it used to shadow the stacks) */
    long after = count_mappings();
    if (after - before > 16 && !RUNNING_ON_VALGRIND)
        test_fail(__FILE__, __LINE__, "mappings: %ld before, %ld after", before, after);
}

/* [issue 3] With guard pages made by mprotect (the fallback for kernels
 * without guard regions) each stack is two mappings, and everything works
 * the same way. */
TEST(mprotect_guard_fallback)
{
    int kind = yc__stack_guard_kind();
    yc_stack_pool_trim();
    yc__stack_guard_force(YC__GUARD_MPROTECT);
    long before = count_mappings(), guards_before = count_maps(true);
    finally_ran = 0;
    many m;
    bool ok = many_start(&m, 500, 16 * 1024);
    CHECK(ok);
    long guards = count_maps(true) - guards_before;
    if (guards < m.n)
        test_fail(__FILE__, __LINE__, "%ld mprotect-guarded stacks, %ld PROT_NONE mappings", m.n,
                  guards);
    many_shuffle_resumes(&m, 5000);
    many_free_shuffled(&m);
    CHECK_EQ_INT(finally_ran, 500);
    yc__stack_guard_force(kind);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, s.stacks_pooled);
    CHECK(count_maps(true) - guards_before <= 16);
    CHECK(count_mappings() - before <= 16 || RUNNING_ON_VALGRIND);
}

/* [issue 3] A stack that cannot be unmapped (munmap fails with ENOMEM when
 * it would split a mapping past vm.max_map_count) is not lost: it stays on
 * the pool, with its memory given back, is reused, and a later trim unmaps
 * it. */
TEST(stack_that_cannot_be_unmapped_is_kept)
{
    yc_stack_pool_trim();
    yc_gen *g = yc_gen_new(numbered_body, (void *)(intptr_t)7,
                           &(yc_gen_opts){.stack_size = 32 * 1024});
    CHECK(g);
    if (!g) return;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7000);
    yc__fault_unmap_after(1);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc__fault_unmap_after(0);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 1);
    CHECK_EQ_INT(s.stacks_pooled, 1);
    /* a trim that fails again keeps it; the next one unmaps it */
    yc__fault_unmap_after(1);
    yc_stack_pool_trim();
    yc__fault_unmap_after(0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_pooled, 1);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stacks_pooled, 0);

    /* kept default-size stacks are reused like pooled ones */
    g = yc_gen_new(numbered_body, (void *)(intptr_t)1, NULL);
    CHECK(g);
    if (!g) return;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc__fault_unmap_after(1);
    yc_stack_pool_trim(); /* nothing pooled: no unmap to fail */
    CHECK_ST(yc_gen_free(g), YC_OK); /* pooled: no unmap either */
    yc_stack_pool_trim();              /* this unmap fails */
    yc__fault_unmap_after(0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_pooled, 1);
    g = yc_gen_new(numbered_body, (void *)(intptr_t)2, NULL);
    CHECK(g);
    if (!g) return;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stacks_mapped, 1);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2000);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
}

/* yc_config reports the kind of guard page in use. */
TEST(config_names_the_guard_kind)
{
    const char *want =
        yc__stack_guard_kind() == YC__GUARD_REGION ? "stack_guard=region" : "stack_guard=mprotect";
    if (!strstr(yc_config(), want))
        test_fail(__FILE__, __LINE__, "no %s in \"%s\"", want, yc_config());
}

TEST_MAIN()
