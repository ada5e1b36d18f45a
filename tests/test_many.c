/* Many generators at once: 100,000 live suspended generators resumed in
 * random order and freed, the kernel mappings and chunks they cost, the
 * size classes giving memory back (whole chunks unmapped, free stacks of
 * chunks still in use released in batches), and the fallbacks (guard pages
 * made with mprotect, a chunk that cannot be unmapped). */
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

static long stats_chunks(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s.stack_chunks;
}

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
    if (RUNNING_ON_VALGRIND && want > 8000) {
        /* Memcheck keeps registered stacks in a list it searches on every
         * switch: 32,000 took 12 minutes in the valgrind leg; the counts
         * are checked at full size in every other leg */
        want = 8000;
        printf("note: under Valgrind, %ld generators\n", want);
    }
    yc_stack_pool_trim();
    finally_ran = 0;
    many m;
    bool ok = many_start(&m, want, 0);
    CHECK(ok);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, m.n);
    CHECK_EQ_INT(s.stacks_mapped, m.n);
    /* carved from chunks of default-size stacks (62 to a 16 MiB chunk with
     * the assembly switch on x86-64) */
    int per_chunk;
    yc__gen_slot_bytes(0, &per_chunk);
    CHECK(per_chunk > 1);
    if (s.stack_chunks > m.n / per_chunk + 2)
        test_fail(__FILE__, __LINE__, "%ld stacks took %ld chunks", m.n, s.stack_chunks);
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
    /* The class keeps a chunk's worth of free stacks for reuse and
     * unmapped the other chunks as they emptied. */
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, 0);
    CHECK_EQ_INT(s.stacks_mapped, s.stacks_pooled);
    CHECK(s.stacks_pooled > 0 && s.stacks_pooled <= 64);
    CHECK(s.stack_chunks >= 1 && s.stack_chunks <= 2);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stack_chunks, 0);
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
    /* a chunk kept for reuse still has its 64 guard pages: 129 mappings */
    CHECK_EQ_INT(s.stack_chunks, 1);
    CHECK(count_maps(true) - guards_before <= 64 + 16);
    yc_stack_pool_trim();
    CHECK(count_maps(true) - guards_before <= 16);
    CHECK(count_mappings() - before <= 16 || RUNNING_ON_VALGRIND);
}

/* [issue 5] The event loop's small task stacks: 100,000 live generators
 * with 16 KiB stacks come from chunks of 64, each chunk one mmap, one
 * system call for its 64 guard pages where the kernel batches them, and
 * one munmap; with guard regions the chunks merge into a few mappings. */
TEST(hundred_thousand_small_stacks_in_chunks)
{
    long want = 100000;
    /* mprotect guards: 2 mappings a stack; Valgrind: slow switches among
     * many registered stacks */
    if (yc__stack_guard_kind() != YC__GUARD_REGION) want = 20000;
    if (RUNNING_ON_VALGRIND) want = 5000;
    yc_stack_pool_trim();
    long before = count_mappings();
    finally_ran = 0;
    many m;
    bool ok = many_start(&m, want, 16 * 1024);
    CHECK(ok);
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, m.n);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stack_chunks, (m.n + 63) / 64);
    /* side by side: a generator's header is one slot above the previous
     * one's (16 KiB and the header, rounded to pages, and the guard page: 24
     * KiB with the assembly switch, more where ucontext_t is large) */
    long apart = 0, slot = (long)yc__gen_slot_bytes(16 * 1024, NULL);
    CHECK(slot >= 20 * 1024);
    for (long i = 1; i < m.n; i++)
        apart += (char *)m.gens[i] - (char *)m.gens[i - 1] == slot;
    CHECK(apart >= m.n - m.n / 64 - 1);
    if (yc__stack_guard_kind() == YC__GUARD_REGION && count_mappings() - before >= 100)
        test_fail(__FILE__, __LINE__, "%ld stacks took %ld mappings", m.n,
                  count_mappings() - before);
    many_shuffle_resumes(&m, m.n);
    many_free_shuffled(&m);
    CHECK_EQ_INT(finally_ran, m.n ? want : 0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.generators, 0);
    CHECK_EQ_INT(s.stacks_mapped, s.stacks_pooled);
    CHECK(s.stacks_pooled <= 64);
    CHECK(s.stack_chunks <= 2);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stack_chunks, 0);
    if (count_mappings() - before > 16 && !RUNNING_ON_VALGRIND)
        test_fail(__FILE__, __LINE__, "mappings: %ld before, %ld after", before, count_mappings());
}

/* Resident memory of this process, in KiB. */
static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib;
}

/* [issue 5] Memory hygiene when chunks cannot be unmapped: 20,000 live
 * generators, 90% of them freed in random order, leave nearly every chunk
 * with a stack in use. The free stacks' memory is still given back (in
 * batches, least recently used first): a class keeps the memory of at
 * most 2 * 64 free stacks, and the resident memory falls. */
TEST(free_stacks_of_busy_chunks_give_memory_back)
{
    yc_stack_pool_trim();
    long N = RUNNING_ON_VALGRIND ? 5000 : 20000;
    many m;
    finally_ran = 0;
    bool ok = many_start(&m, N, 16 * 1024);
    CHECK(ok);
    if (!ok) return;
    long rss_full = rss_kib();
    for (long i = m.n - 1; i > 0; i--) { /* shuffle, keeping the last tenth */
        long j = (long)(rng() % (uint64_t)(i + 1));
        yc_gen *t = m.gens[i];
        m.gens[i] = m.gens[j];
        m.gens[j] = t;
    }
    long bad = 0, pooled_max = 0;
    yc_stats s;
    for (long i = 0; i < N - N / 10; i++) {
        bad += yc_gen_free(m.gens[i]) != YC_OK;
        yc_stats_get(&s);
        if (s.stacks_pooled > pooled_max) pooled_max = s.stacks_pooled;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(pooled_max <= 2 * 64);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, N / 10 + s.stacks_pooled);
    CHECK(s.stack_chunks > N / 64 / 2); /* most chunks still have a stack in use */
    long rss_left = rss_kib();
    /* each started generator touched at least a page (4 KiB) */
    if (!RUNNING_ON_VALGRIND && rss_full - rss_left < (N - N / 10) * 4 * 3 / 4)
        test_fail(__FILE__, __LINE__, "RSS %ld KiB with all, %ld KiB after freeing 90%%", rss_full,
                  rss_left);
    for (long i = N - N / 10; i < N; i++) bad += yc_gen_free(m.gens[i]) != YC_OK;
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(finally_ran, N);
    free(m.gens);
    free(m.step);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stack_chunks, 0);
}

/* [issue 3, 5] A chunk that cannot be unmapped (munmap fails with ENOMEM
 * when it would split a mapping past vm.max_map_count) is not lost: it
 * stays with its class, its free stacks' memory given back, serves new
 * generators, and a later trim unmaps it. A lone stack (too large for a
 * chunk) that cannot be unmapped waits on the thread's stranded list for
 * the next trim. */
TEST(chunk_that_cannot_be_unmapped_is_kept)
{
    yc_stack_pool_trim();
    yc_gen *g = yc_gen_new(numbered_body, (void *)(intptr_t)7,
                           &(yc_gen_opts){.stack_size = 32 * 1024});
    CHECK(g);
    if (!g) return;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 7000);
    CHECK_ST(yc_gen_free(g), YC_OK); /* kept: no munmap */
    yc_stats s;
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 1);
    CHECK_EQ_INT(s.stacks_pooled, 1);
    CHECK_EQ_INT(s.stack_chunks, 1);
    /* a trim whose munmap fails keeps the chunk, giving its memory back */
    yc__fault_unmap_after(1);
    yc_stack_pool_trim();
    yc__fault_unmap_after(0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stack_chunks, 1);
    /* it serves the next generator of its size without mapping */
    yc__fault_map_after(1);
    g = yc_gen_new(numbered_body, (void *)(intptr_t)2, &(yc_gen_opts){.stack_size = 32 * 1024});
    yc__fault_map_after(0);
    CHECK(g);
    if (!g) return;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2000);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc_stack_pool_trim();
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stack_chunks, 0);

    /* 128 generators, two chunks: the second to empty is unmapped (the
     * first is a pool's worth), and that munmap fails */
    yc_gen *gs[128];
    for (int i = 0; i < 128; i++) {
        gs[i] = yc_gen_new(numbered_body, (void *)(intptr_t)i,
                           &(yc_gen_opts){.stack_size = 16 * 1024});
        CHECK(gs[i]);
        if (!gs[i]) return;
        CHECK_ST(yc_next(gs[i], NULL), YC_YIELD);
    }
    CHECK_EQ_INT(stats_chunks(), 2);
    yc__fault_unmap_after(1);
    for (int i = 0; i < 128; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    yc__fault_unmap_after(0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stack_chunks, 2);
    CHECK_EQ_INT(s.stacks_pooled, 64); /* the kept chunk's; the other gave its memory back */
    CHECK_EQ_INT(s.stacks_mapped, 64);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats_chunks(), 0);

    /* a lone stack */
    g = yc_gen_new(numbered_body, (void *)(intptr_t)3, &(yc_gen_opts){.stack_size = 8u << 20});
    CHECK(g);
    if (!g) return;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    yc__fault_unmap_after(1);
    CHECK_ST(yc_gen_free(g), YC_OK);
    yc__fault_unmap_after(0);
    yc_stats_get(&s);
    CHECK_EQ_INT(s.stacks_mapped, 0);
    CHECK_EQ_INT(s.stack_chunks, 1);
    yc__fault_unmap_after(1); /* and again */
    yc_stack_pool_trim();
    yc__fault_unmap_after(0);
    CHECK_EQ_INT(stats_chunks(), 1);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats_chunks(), 0);
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
