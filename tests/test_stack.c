/* Generator stacks: the requested size, the guard page and its overflow
 * report (on any thread, in nested generators, in a stack carved from the
 * middle of a chunk), and the per-thread size classes that reuse them. */
#include "test.h"

#include <pthread.h>
#include <signal.h>

/* Sanitizers: they own SIGSEGV, reserve huge shadow mappings, and (TSan)
 * make one fiber per generator. */
#if defined(__SANITIZE_THREAD__)
#  define UNDER_TSAN 1
#elif defined(__has_feature)
#  if __has_feature(thread_sanitizer)
#    define UNDER_TSAN 1
#  endif
#endif
#ifndef UNDER_TSAN
#  define UNDER_TSAN 0
#endif
#if defined(__SANITIZE_ADDRESS__) || UNDER_TSAN
#  define UNDER_SANITIZER 1
#elif defined(__has_feature)
#  if __has_feature(address_sanitizer)
#    define UNDER_SANITIZER 1
#  endif
#endif
#ifndef UNDER_SANITIZER
#  define UNDER_SANITIZER 0
#endif

/* ---------------------------------------------------------------------
 * Sizes
 * ------------------------------------------------------------------- */

static yc_val idle_body(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    return YC_NONE;
}

TEST(stack_size_honoured)
{
    size_t sizes[] = {0, YC_STACK_MIN, 64 * 1024, 100000, YC_STACK_DEFAULT, 1u << 20,
                      (8u << 20) + 12345};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        yc_gen *g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = sizes[i]});
        CHECK(g != NULL);
        if (!g) continue;
        size_t want = sizes[i] ? sizes[i] : YC_STACK_DEFAULT;
        if (yc_gen_stack_size(g) < want)
            test_fail(__FILE__, __LINE__, "asked %zu bytes, got %zu", want, yc_gen_stack_size(g));
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    CHECK_EQ_INT(yc_gen_stack_size(NULL), 0);
}

TEST(stack_size_below_minimum_rejected)
{
    yc_gen *g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = YC_STACK_MIN - 1});
    CHECK(g == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
    g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = 100});
    CHECK(g == NULL);
    CHECK_EXC(&yc_ValueError, NULL);
}

/* A body that touches `n` bytes of locals (a variable-length array: the
 * whole buffer is one frame) and yields a checksum of it. */
static yc_val big_frame_body(void *arg)
{
    size_t n = *(size_t *)arg;
    volatile unsigned char buf[n];
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 31 + 7);
    yc_yield(YC_NONE);
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += buf[i];
    return yc_int((int64_t)sum);
}

static int64_t big_frame_want(size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += (unsigned char)(i * 31 + 7);
    return (int64_t)sum;
}

TEST(stack_body_uses_most_of_its_stack)
{
    struct { size_t stack, use; } cases[] = {
        {256 * 1024, 200 * 1024},
        {YC_STACK_DEFAULT, YC_STACK_DEFAULT - 40 * 1024},
        {64 * 1024, 40 * 1024},
        {4u << 20, (4u << 20) - 64 * 1024},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t use = cases[i].use;
        yc_gen *g = yc_gen_new(big_frame_body, &use, &(yc_gen_opts){.stack_size = cases[i].stack});
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, big_frame_want(use));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
}

/* ---------------------------------------------------------------------
 * Overflow: the guard page and the report (in child processes)
 * ------------------------------------------------------------------- */

static volatile int never;

__attribute__((noinline)) static int recurse(int depth)
{
    volatile char pad[256];
    pad[0] = (char)depth;
    if (never) return 0;
    return recurse(depth + 1) + pad[0];
}

static yc_val overflow_body(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1)); /* a first stop, so a resume can come from anywhere */
    return yc_int(recurse(0));
}

static yc_gen *new_overflower(const char *name)
{
    yc_gen *g = yc_gen_new(overflow_body, NULL,
                           &(yc_gen_opts){.name = name, .stack_size = 64 * 1024});
    if (!g) return NULL;
    fprintf(stderr, "size=%zu\n", yc_gen_stack_size(g));
    fflush(stderr);
    return g;
}

static void child_overflow_here(void *arg)
{
    (void)arg;
    yc_gen *g = new_overflower("deep");
    yc_next(g, NULL);
    yc_next(g, NULL);
    fprintf(stderr, "survived\n");
}

/* Checks the child's death and report: SIGABRT, the generator's name and
 * the stack size it printed first as "size=N". */
static void check_overflow_report(int status, const char *out, const char *name)
{
    char want[128];
    CHECK(WIFSIGNALED(status));
    if (WIFSIGNALED(status)) CHECK_EQ_INT(WTERMSIG(status), SIGABRT);
    snprintf(want, sizeof want, "stack overflow in generator '%s'", name);
    if (!strstr(out, want)) test_fail(__FILE__, __LINE__, "no \"%s\" in: %s", want, out);
    size_t size = 0;
    const char *s = strstr(out, "size=");
    CHECK(s && sscanf(s, "size=%zu", &size) == 1);
    snprintf(want, sizeof want, "stack size %zu", size);
    if (!strstr(out, want)) test_fail(__FILE__, __LINE__, "no \"%s\" in: %s", want, out);
    CHECK(strstr(out, "survived") == NULL);
}

TEST(stack_overflow_reported)
{
    char out[4096];
    int st = test_in_child(child_overflow_here, NULL, out, sizeof out);
    check_overflow_report(st, out, "deep");
}

/* [issue 3] Both kinds of guard page catch an overflow: a guard region
 * (madvise, where the kernel has them) and an mprotect'd page. */
static void child_overflow_with_guard(void *arg)
{
    yc_stack_pool_trim(); /* a fresh stack, guarded the forced way */
    yc__stack_guard_force((int)(intptr_t)arg);
    child_overflow_here(NULL);
}

TEST(stack_overflow_reported_with_each_guard_kind)
{
    char out[4096];
    int st = test_in_child(child_overflow_with_guard, (void *)(intptr_t)YC__GUARD_MPROTECT, out,
                           sizeof out);
    check_overflow_report(st, out, "deep");
    if (yc__stack_guard_kind() == YC__GUARD_REGION) {
        st = test_in_child(child_overflow_with_guard, (void *)(intptr_t)YC__GUARD_REGION, out,
                           sizeof out);
        check_overflow_report(st, out, "deep");
    } else {
        printf("note: no guard regions here; only mprotect guard pages tested\n");
    }
}

/* An overflow in a stack carved from the middle of a chunk, with live
 * stacks on both sides, on a slot that served another generator before and
 * whose memory was given back (yc_stack_pool_trim): its own guard page
 * stops it, for each way of making guard pages (a guard region installed
 * with one process_madvise for the whole chunk, or one madvise per stack;
 * an mprotect'd page). arg: the YC__GUARD_* kind * 16 + YC__BATCH_* kind. */
static void child_overflow_carved(void *arg)
{
    int mode = (int)(intptr_t)arg;
    yc_stack_pool_trim(); /* the 64 KiB class maps a new chunk, the forced way */
    yc__stack_guard_force(mode / 16);
    yc__stack_batch_force(mode % 16);
    yc_gen *gs[8];
    char name[8][8];
    for (int i = 0; i < 8; i++) {
        snprintf(name[i], sizeof name[i], "s%d", i);
        gs[i] = yc_gen_new(overflow_body, NULL,
                           &(yc_gen_opts){.name = name[i], .stack_size = 64 * 1024});
        if (!gs[i] || yc_next(gs[i], NULL) != YC_YIELD) return;
    }
    /* carved side by side from one mapping */
    ptrdiff_t step = (char *)gs[1] - (char *)gs[0];
    int adjacent = step > 64 * 1024;
    for (int i = 2; i < 8; i++) adjacent &= (char *)gs[i] - (char *)gs[i - 1] == step;
    void *old = gs[4];
    yc_gen_free(gs[4]);
    yc_stack_pool_trim(); /* its memory goes back; the chunk stays (stacks in use) */
    yc_stats s;
    yc_stats_get(&s);
    gs[4] = new_overflower("deep");
    fprintf(stderr, "adjacent=%d same_slot=%d pooled_after_trim=%ld\n", adjacent,
            (void *)gs[4] == old, s.stacks_pooled);
    yc_next(gs[4], NULL);
    yc_next(gs[4], NULL);
    fprintf(stderr, "survived\n");
}

TEST(stack_overflow_in_a_carved_stack)
{
    int modes[3] = {YC__GUARD_MPROTECT * 16 + YC__BATCH_NONE,
                    YC__GUARD_REGION * 16 + YC__BATCH_NONE,
                    YC__GUARD_REGION * 16 + yc__stack_batch_kind()};
    int n = yc__stack_guard_kind() == YC__GUARD_REGION ? 3 : 1;
    if (n == 3 && yc__stack_batch_kind() == YC__BATCH_NONE) n = 2;
    if (n < 3) printf("note: no %s here; not tested\n", n == 1 ? "guard regions" : "process_madvise");
    for (int i = 0; i < n; i++) {
        char out[4096];
        int st = test_in_child(child_overflow_carved, (void *)(intptr_t)modes[i], out, sizeof out);
        check_overflow_report(st, out, "deep");
        if (!strstr(out, "adjacent=1 same_slot=1 pooled_after_trim=0"))
            test_fail(__FILE__, __LINE__, "mode %d: %s", modes[i], out);
    }
}

/* The inner generator of two overflows: its name is the one reported. */
static yc_val outer_of_overflower(void *arg)
{
    (void)arg;
    yc_gen *inner = new_overflower("inner");
    yc_yield(yc_int(0));
    yc_val v = yc_yield_from(yc_gen_iter(inner));
    yc_gen_free(inner);
    return v;
}

static void child_overflow_nested(void *arg)
{
    (void)arg;
    yc_gen *g = yc_gen_new(outer_of_overflower, NULL, &(yc_gen_opts){.name = "outer"});
    for (int i = 0; i < 3; i++) yc_next(g, NULL);
    fprintf(stderr, "survived\n");
}

TEST(stack_overflow_nested_names_inner)
{
    char out[4096];
    int st = test_in_child(child_overflow_nested, NULL, out, sizeof out);
    check_overflow_report(st, out, "inner");
    CHECK(strstr(out, "'outer'") == NULL);
}

/* Created and started on the main thread, overflowing on another. */
static void *resume_on_thread(void *arg)
{
    yc_next(arg, NULL);
    return NULL;
}

static void child_overflow_other_thread(void *arg)
{
    (void)arg;
    yc_gen *g = new_overflower("deep");
    yc_next(g, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, resume_on_thread, g) != 0) return;
    pthread_join(t, NULL);
    fprintf(stderr, "survived\n");
}

TEST(stack_overflow_on_another_thread)
{
    char out[4096];
    int st = test_in_child(child_overflow_other_thread, NULL, out, sizeof out);
    check_overflow_report(st, out, "deep");
}

/* Created, started and overflowed on a thread that never touched yieldc
 * before, while the main thread waits. */
static void *overflow_all_on_thread(void *arg)
{
    (void)arg;
    yc_gen *g = new_overflower("threaded");
    yc_next(g, NULL);
    yc_next(g, NULL);
    return NULL;
}

static void child_overflow_thread_only(void *arg)
{
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, overflow_all_on_thread, NULL) != 0) return;
    pthread_join(t, NULL);
    fprintf(stderr, "survived\n");
}

TEST(stack_overflow_thread_created_generator)
{
    char out[4096];
    int st = test_in_child(child_overflow_thread_only, NULL, out, sizeof out);
    check_overflow_report(st, out, "threaded");
}

/* A thread whose sigaltstack was set by the program itself keeps it, and
 * the report still works on it. */
static void *overflow_with_own_altstack(void *arg)
{
    (void)arg;
    static char alt[64 * 1024];
    stack_t ss = {.ss_sp = alt, .ss_size = sizeof alt, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) return NULL;
    yc_gen *g = new_overflower("ownalt");
    yc_next(g, NULL);
    yc_next(g, NULL);
    return NULL;
}

static void child_overflow_own_altstack(void *arg)
{
    (void)arg;
    pthread_t t;
    if (pthread_create(&t, NULL, overflow_with_own_altstack, NULL) != 0) return;
    pthread_join(t, NULL);
    fprintf(stderr, "survived\n");
}

TEST(stack_overflow_with_user_altstack)
{
    char out[4096];
    int st = test_in_child(child_overflow_own_altstack, NULL, out, sizeof out);
    check_overflow_report(st, out, "ownalt");
}

/* A fault that is not an overflow is not reported as one: the process dies
 * the way it would without yieldc (SIGSEGV; under a sanitizer, its report). */
static yc_val null_write_body(void *arg)
{
    (void)arg;
    volatile int *volatile p = NULL;
    *p = 1;
    return YC_NONE;
}

static void child_null_write(void *arg)
{
    (void)arg;
    yc_gen *g = yc_gen_new(null_write_body, NULL, &(yc_gen_opts){.name = "nullw"});
    yc_next(g, NULL);
    fprintf(stderr, "survived\n");
}

static void check_plain_crash(int status, const char *out)
{
    CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
    CHECK(strstr(out, "stack overflow") == NULL);
    CHECK(strstr(out, "survived") == NULL);
#if !UNDER_SANITIZER
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV);
#endif
}

TEST(stack_other_fault_not_reported)
{
    char out[4096];
    int st = test_in_child(child_null_write, NULL, out, sizeof out);
    check_plain_crash(st, out);
}

/* Overflowing the main thread's own stack while a generator exists (but
 * is not running) is not blamed on the generator. */
static void child_main_overflow(void *arg)
{
    (void)arg;
    yc_gen *g = yc_gen_new(overflow_body, NULL, &(yc_gen_opts){.name = "bystander"});
    yc_next(g, NULL);
    recurse(0);
    fprintf(stderr, "survived\n");
}

TEST(stack_main_thread_overflow_not_blamed)
{
    char out[4096];
    int st = test_in_child(child_main_overflow, NULL, out, sizeof out);
    check_plain_crash(st, out);
    CHECK(strstr(out, "bystander") == NULL);
}

/* ---------------------------------------------------------------------
 * Running out of address space (in a child: RLIMIT_AS; not under the
 * sanitizers, which reserve terabytes of shadow)
 * ------------------------------------------------------------------- */
#if !UNDER_SANITIZER
#  include <sys/mman.h>
#  include <sys/resource.h>

static void child_exhaust(void *arg)
{
    (void)arg;
    enum { MAX = 4096 };
    static yc_gen *gs[MAX];
    yc_stack_pool_trim();
    yc_stats base;
    yc_stats_get(&base);
    /* room for a few dozen 1 MiB stacks above what is mapped now */
    struct rlimit rl;
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f || fscanf(f, "%lu", &pages) != 1) return;
    fclose(f);
    rl.rlim_cur = rl.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (40ul << 20);
    if (setrlimit(RLIMIT_AS, &rl) != 0) return;
    /* qemu-user does not apply RLIMIT_AS to the guest: the limit must be
     * seen to bite (64 MiB cannot fit in 40) or the test cannot run */
    void *big = mmap(NULL, 64ul << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big != MAP_FAILED) {
        munmap(big, 64ul << 20);
        fprintf(stderr, "skip: RLIMIT_AS is not enforced here (qemu-user ignores it)\n");
        return;
    }
    int n = 0;
    while (n < MAX && (gs[n] = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = 1u << 20})))
        n++;
    yc_exc *e = yc_err_take();
    char buf[256] = "none";
    if (e) yc_exc_format(e, buf, sizeof buf);
    yc_stats s;
    yc_stats_get(&s);
    fprintf(stderr, "made=%d gens=%ld mapped=%ld errno=%d exc=%s\n", n,
            s.generators - base.generators, s.stacks_mapped - base.stacks_mapped,
            yc_exc_errno(e), buf);
    yc_exc_unref(e);
    /* the ones that were made still work, and go away cleanly */
    int ok = 0;
    for (int i = 0; i < n; i++) {
        ok += yc_next(gs[i], NULL) == YC_YIELD;
        yc_gen_free(gs[i]);
    }
    yc_stack_pool_trim(); /* the class kept a chunk's worth of free stacks */
    yc_stats_get(&s);
    fprintf(stderr, "ran=%d after: gens=%ld mapped=%ld chunks=%ld\n", ok,
            s.generators - base.generators, s.stacks_mapped - base.stacks_mapped,
            s.stack_chunks - base.stack_chunks);
}

TEST(stack_mmap_failure_is_oserror)
{
    char out[4096];
    int st = test_in_child(child_exhaust, NULL, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    const char *skip = strstr(out, "skip: ");
    if (skip) {
        printf("  (%.*s)\n", (int)strcspn(skip, "\n"), skip);
        return;
    }
    int made = -1, ran = -1, ERR = -1;
    long gens = -1, mapped = -1, gens2 = -1, mapped2 = -1, chunks2 = -1;
    char exc[256] = "";
    const char *p = strstr(out, "made=");
    CHECK(p && sscanf(p, "made=%d gens=%ld mapped=%ld errno=%d exc=%255[^\n]", &made, &gens,
                      &mapped, &ERR, exc) == 5);
    p = strstr(out, "ran=");
    CHECK(p && sscanf(p, "ran=%d after: gens=%ld mapped=%ld chunks=%ld", &ran, &gens2, &mapped2,
                      &chunks2) == 4);
    CHECK(made > 0 && made < 4096); /* some fitted, then the limit hit */
    CHECK_EQ_INT(gens, made);          /* the failed one is not counted */
    CHECK_EQ_INT(mapped, made);
    CHECK_EQ_INT(ERR, ENOMEM);
    char want[128];
    snprintf(want, sizeof want, "OSError: [Errno %d] %s: cannot map a %u-byte generator stack",
             ENOMEM, strerror(ENOMEM), 1u << 20);
    CHECK_STR(exc, want);
    CHECK_EQ_INT(ran, made);
    CHECK_EQ_INT(gens2, 0);
    CHECK_EQ_INT(mapped2, 0);
    CHECK_EQ_INT(chunks2, 0);
}
#endif

/* ---------------------------------------------------------------------
 * The pool
 * ------------------------------------------------------------------- */

static yc_stats stats(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s;
}

TEST(stack_pool_reuses_stacks)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    CHECK_EQ_INT(base.stacks_pooled, 0);

    /* one at a time: a single stack serves them all */
    for (int i = 0; i < 1000; i++) {
        yc_gen *g = yc_gen_new(idle_body, NULL, NULL);
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    yc_stats s = stats();
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + 1);
    CHECK_EQ_INT(s.stacks_pooled, 1);

    /* many at once: the pool grows as they are freed, then serves again */
    enum { N = 100 };
    yc_gen *gs[N];
    for (int i = 0; i < N; i++) gs[i] = yc_gen_new(idle_body, NULL, NULL);
    s = stats();
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + N); /* one came from the pool */
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.generators, N);
    for (int i = 0; i < N; i++) {
        CHECK_ST(yc_next(gs[i], NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    }
    s = stats();
    long pooled = s.stacks_pooled;
    CHECK(pooled > 1 && pooled <= N);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + pooled);
    for (int i = 0; i < 10; i++) gs[i] = yc_gen_new(idle_body, NULL, NULL);
    s = stats();
    CHECK_EQ_INT(s.stacks_pooled, pooled - 10);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + pooled);
    for (int i = 0; i < 10; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    CHECK_EQ_INT(stats().stacks_pooled, pooled);

    yc_stack_pool_trim();
    s = stats();
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(s.stack_chunks, base.stack_chunks);
    yc_stack_pool_trim(); /* idempotent */
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);
}

/* Each size has its own chunks (up to YC_STACK_CLASSES sizes at once per
 * thread): a free stack of one size never serves another, and freed
 * stacks of every chunked size are kept for reuse. Stacks too large for a
 * chunk, and sizes beyond the classes, are mapped alone and unmapped when
 * freed. */
TEST(stack_sizes_have_their_own_chunks)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *d = yc_gen_new(idle_body, NULL, NULL);
    CHECK_ST(yc_gen_free(d), YC_OK);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 1);
    /* three more sizes: four classes in use */
    size_t sizes[] = {YC_STACK_MIN, 64 * 1024, 1u << 20};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        yc_gen *g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = sizes[i]});
        yc_stats s = stats();
        CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + (long)i + 2);
        CHECK_EQ_INT(s.stacks_pooled, (long)i + 1); /* the default one is not taken */
        CHECK_EQ_INT(s.stack_chunks, base.stack_chunks + (long)i + 2);
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
        s = stats();
        CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + (long)i + 2); /* kept */
        CHECK_EQ_INT(s.stacks_pooled, (long)i + 2);
    }
    /* a fifth size while four have chunks, and a stack too large for a
     * chunk: each a mapping of its own, gone when freed */
    size_t alone[] = {128 * 1024, (8u << 20) + 12345};
    for (size_t i = 0; i < 2; i++) {
        yc_gen *g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = alone[i]});
        CHECK(g != NULL);
        if (!g) return;
        CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 5);
        CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped + 5);
        CHECK_ST(yc_next(g, NULL), YC_YIELD);
        CHECK_ST(yc_gen_free(g), YC_OK);
        CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 4);
        CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped + 4);
        CHECK_EQ_INT(stats().stacks_pooled, 4);
    }
    /* the default size asked for explicitly is the default class */
    yc_gen *g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = YC_STACK_DEFAULT});
    CHECK_EQ_INT(stats().stacks_pooled, 3);
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped + 4);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(stats().stacks_pooled, 4);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks);
    /* once trimmed, a class serves another size */
    g = yc_gen_new(idle_body, NULL, &(yc_gen_opts){.stack_size = 128 * 1024});
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks);
}

/* A recycled stack carries nothing over: a new generator on it starts
 * fresh (state, name, arguments), whatever the old one left there. */
static yc_val named_body(void *arg)
{
    int64_t k = *(int64_t *)arg;
    volatile char junk[4096];
    memset((char *)junk, (int)k, sizeof junk);
    yc_yield(yc_int(k));
    return yc_int(k + junk[100]);
}

TEST(stack_recycled_stack_starts_fresh)
{
    int64_t a = 5, b = 9;
    yc_gen *g = yc_gen_new(named_body, &a, &(yc_gen_opts){.name = "first"});
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK); /* closed while suspended */
    g = yc_gen_new(named_body, &b, &(yc_gen_opts){.name = "second"});
    CHECK_STR(yc_gen_name(g), "second");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK(yc_gen_yieldfrom(g) == NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 9);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 18);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---------------------------------------------------------------------
 * Many live generators
 * ------------------------------------------------------------------- */

/* TSan makes one fiber per generator and supports about 8000 at a time */
#if UNDER_TSAN
#  define MANY 4000
#else
#  define MANY 10000
#endif

static long many_finally;

static yc_val counting_body(void *arg)
{
    int64_t id = (int64_t)(intptr_t)arg;
    YC_TRY {
        for (int64_t k = 0;; k++) yc_yield(yc_int(id * 1000000 + k));
    } YC_FINALLY {
        many_finally++;
    } YC_END;
    return YC_NONE;
}

static uint64_t rng_state = 0x243f6a8885a308d3u;
static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

TEST(stack_many_live_generators_random_order)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen **gs = calloc(MANY, sizeof *gs);
    int64_t *count = calloc(MANY, sizeof *count);
    CHECK(gs && count);
    if (!gs || !count) return;
    many_finally = 0;
    int made = 0;
    for (int i = 0; i < MANY; i++) {
        gs[i] = yc_gen_new(counting_body, (void *)(intptr_t)i, NULL);
        if (!gs[i]) break;
        made++;
    }
    CHECK_EQ_INT(made, MANY);
    if (made < MANY) yc_err_clear();
    yc_stats s = stats();
    CHECK_EQ_INT(s.generators, base.generators + made);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + made);

    int bad = 0;
    for (int step = 0; step < 5 * MANY && !bad; step++) {
        int i = (int)(rng() % (uint64_t)made);
        yc_val v;
        if (yc_next(gs[i], &v) != YC_YIELD || v.i != (int64_t)i * 1000000 + count[i]) bad = 1;
        count[i]++;
    }
    CHECK_EQ_INT(bad, 0);

    /* free in random order: a Fisher-Yates shuffle of the indices */
    int *order = malloc((size_t)made * sizeof *order);
    for (int i = 0; i < made; i++) order[i] = i;
    for (int i = made - 1; i > 0; i--) {
        int j = (int)(rng() % (uint64_t)(i + 1));
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    long started = 0;
    for (int i = 0; i < made; i++) started += count[i] > 0;
    for (int i = 0; i < made; i++) {
        int k = order[i];
        if (i % 2) CHECK_ST(yc_close(gs[k], NULL), YC_OK);
        CHECK_ST(yc_gen_free(gs[k]), YC_OK);
    }
    CHECK_EQ_INT(many_finally, started); /* every started one ran its finally */
    s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + s.stacks_pooled);
    yc_stack_pool_trim();
    s = stats();
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(s.stacks_pooled, 0);
    CHECK_EQ_INT(s.stack_chunks, base.stack_chunks);
    free(order);
    free(gs);
    free(count);
}

TEST_MAIN()
