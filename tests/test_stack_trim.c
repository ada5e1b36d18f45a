/* Giving back the stack pages a generator no longer uses (issue 12,
 * section 3): yc_gen_stack_trim on request, and the rule on return to the
 * pool (a stack whose generator ran below its top 4 pages comes back
 * without the pages below them, once its class keeps 4 such stacks; a
 * shallow one costs no system call).
 * Residency is read with mincore over the stack's own addresses, which the
 * bodies record: no timing. */
#include "test.h"

#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>

/* Every madvise of the library goes through here (the test binary's
 * definition wins over libc's at link time): counted, then made. */
static long madvise_calls;

int madvise(void *addr, size_t len, int advice)
{
    madvise_calls++;
    return (int)syscall(SYS_madvise, addr, len, advice);
}

static size_t page_size(void) { return (size_t)sysconf(_SC_PAGESIZE); }

static char *page_floor(const void *p)
{
    return (char *)((uintptr_t)p & ~(uintptr_t)(page_size() - 1));
}

/* Resident pages in [lo, hi) (page-aligned), by mincore. */
static long resident(char *lo, char *hi)
{
    size_t n = (size_t)(hi - lo) / page_size();
    unsigned char *vec = calloc(n ? n : 1, 1);
    long count = 0;
    CHECK(vec != NULL && mincore(lo, (size_t)(hi - lo), vec) == 0);
    for (size_t i = 0; vec && i < n; i++) count += vec[i] & 1;
    free(vec);
    return count;
}

/* Does MADV_DONTNEED take pages away here? (qemu-user may accept it and do
 * nothing: then the residency checks are skipped, the rest still runs.) */
static bool dontneed_works(void)
{
    size_t page = page_size();
    char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return false;
    p[0] = 1;
    bool ok = madvise(p, page, MADV_DONTNEED) == 0 && resident(p, p + page) == 0;
    munmap(p, page);
    if (!ok) printf("note: MADV_DONTNEED keeps pages here; residency not checked\n");
    return ok;
}

/* ---- a body that runs deep, then yields shallow -------------------------- */

typedef struct {
    int depth;          /* frames of about 1 KiB each */
    char *lowest;       /* the lowest frame seen (the deepest point) */
    char *shallow;      /* a local of the body at its yield */
} digger;

/* Recurses `depth` frames, filling each frame's buffer (never zero), and
 * returns a sum that depends on every frame. Not instrumented by ASan, so
 * that its frames are on the generator's stack (not on a fake stack). */
__attribute__((noinline, no_sanitize_address)) static long dig(int depth, char **lowest)
{
    volatile char buf[1024];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (char)(0x40 | ((depth + i) & 0x3f));
    if ((char *)buf < *lowest) *lowest = (char *)buf;
    long below = depth ? dig(depth - 1, lowest) : 0;
    return below + buf[depth % 1024];
}

static long dig_sum(int depth)
{
    long s = 0;
    for (int d = 0; d <= depth; d++) s += 0x40 | ((2 * d) & 0x3f);
    return s;
}

/* Yields the sum of a deep run, twice, from its shallow frame (not
 * instrumented either: `here` must be on the generator's stack, not on
 * the fake stack detect_stack_use_after_return gives frames). */
__attribute__((no_sanitize_address)) static yc_val deep_twice(void *arg)
{
    digger *d = arg;
    volatile char here = 0;
    d->shallow = (char *)&here;
    d->lowest = (char *)&here;
    yc_yield(yc_int(dig(d->depth, &d->lowest)));
    yc_yield(yc_int(dig(d->depth, &d->lowest)));
    return yc_int(here);
}

/* The mapping's top (the generator's header is just below it). */
static char *stack_top(const yc_gen *g) { return page_floor((const char *)g) + page_size(); }

TEST(stack_trim_suspended_gives_back_below_sp_and_resumes)
{
    bool check_rss = dontneed_works();
    digger d = {.depth = 100};
    yc_gen *g = yc_gen_new(deep_twice, &d, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, dig_sum(100));
    size_t page = page_size();
    char *lo = page_floor(d.lowest), *hi = page_floor(d.shallow) - page;
    CHECK(hi - lo >= 90 * 1024); /* the run went about 100 KiB down */
    if (check_rss) CHECK_EQ_INT(resident(lo, hi), (hi - lo) / (long)page);
    size_t released = 0;
    CHECK_ST(yc_gen_stack_trim(g, &released), YC_OK);
    CHECK(released >= (size_t)(hi - lo));
    CHECK(released < yc_gen_stack_size(g));
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    if (check_rss) CHECK_EQ_INT(resident(lo, hi), 0);
    /* the frames above the saved stack pointer are intact: it resumes,
     * runs deep again (the pages come back, zeroed) and finishes */
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, dig_sum(100));
    if (check_rss) CHECK_EQ_INT(resident(lo, hi), (hi - lo) / (long)page);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 0);
    /* finished, not yet freed: everything below the header goes */
    CHECK_ST(yc_gen_stack_trim(g, &released), YC_OK);
    CHECK(released >= (size_t)(hi - lo));
    if (check_rss) CHECK_EQ_INT(resident(lo, page_floor(d.shallow)), 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

TEST(stack_trim_created_generator)
{
    digger d = {.depth = 10};
    yc_gen *g = yc_gen_new(deep_twice, &d, NULL);
    size_t released = 0;
    CHECK_ST(yc_gen_stack_trim(g, &released), YC_OK);
    CHECK(released > 0); /* below its entry frame, all of it */
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, dig_sum(10));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- on return to the pool ------------------------------------------------ */

/* Runs deep (or not) and returns: the address of its deepest frame. Not
 * instrumented, as deep_twice. */
__attribute__((no_sanitize_address)) static yc_val run_to(void *arg)
{
    digger *d = arg;
    volatile char here = 0;
    d->shallow = (char *)&here;
    d->lowest = (char *)&here;
    long s = d->depth ? dig(d->depth, &d->lowest) : 0;
    return yc_int(s);
}

/* Five generators run deep at once and are freed: their class keeps the
 * deep pages of four free stacks, the fifth gives its own back (one
 * madvise) and keeps its top 4 pages. */
enum { DEEP_KEPT = 4 };

static void deep_five(size_t stack_size, int depth)
{
    bool check_rss = dontneed_works();
    size_t page = page_size();
    yc_stack_pool_trim(); /* no free stack keeps deep pages */
    yc_gen *gs[DEEP_KEPT + 1];
    digger ds[DEEP_KEPT + 1];
    char *tops[DEEP_KEPT + 1];
    yc_val v;
    for (int i = 0; i <= DEEP_KEPT; i++) {
        ds[i] = (digger){.depth = depth};
        gs[i] = yc_gen_new(run_to, &ds[i], &(yc_gen_opts){.stack_size = stack_size});
        tops[i] = stack_top(gs[i]);
        CHECK_ST(yc_next(gs[i], &v), YC_RETURN);
        CHECK_INTV(v, dig_sum(depth));
    }
    for (int i = 0; i <= DEEP_KEPT; i++) {
        char *lo = page_floor(ds[i].lowest), *keep = tops[i] - 4 * page;
        CHECK(keep > lo);
        if (check_rss) CHECK_EQ_INT(resident(lo, keep), (keep - lo) / (long)page);
        long calls = madvise_calls;
        CHECK_ST(yc_gen_free(gs[i]), YC_OK);
        CHECK_EQ_INT(madvise_calls - calls, i < DEEP_KEPT ? 0 : 1);
        if (check_rss) {
            CHECK_EQ_INT(resident(lo, keep), i < DEEP_KEPT ? (keep - lo) / (long)page : 0);
            CHECK(resident(keep, tops[i]) >= 1);
        }
    }
    yc_stack_pool_trim();
}

TEST(stack_pool_gives_back_a_deep_run)
{
    deep_five(0, 100); /* about 100 KiB of 256 */
}

/* The smallest stack, 16 KiB, has 5 pages: 4 kept, the fifth given back. */
TEST(stack_pool_gives_back_a_deep_run_of_the_smallest_stack)
{
    deep_five(16 * 1024, 15); /* about 17 KiB */
}

/* A generator that runs deep each time it is created reuses its stack's
 * deep pages: no system call, no page fault after the first. */
TEST(stack_pool_keeps_a_deep_stack_that_is_reused)
{
    yc_stack_pool_trim();
    digger d = {.depth = 100};
    yc_val v;
    yc_gen *g = yc_gen_new(run_to, &d, NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_ST(yc_gen_free(g), YC_OK);
    long calls = madvise_calls;
    for (int i = 0; i < 100; i++) {
        g = yc_gen_new(run_to, &d, NULL);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, dig_sum(100));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    CHECK_EQ_INT(madvise_calls - calls, 0);
    yc_stack_pool_trim();
}

TEST(stack_pool_shallow_free_makes_no_system_call)
{
    digger d = {.depth = 2}; /* about 3 KiB: within the top 4 pages */
    yc_val v;
    /* warm the pool, then count: creations and frees from then on reuse
     * the same warm stack */
    for (int i = 0; i < 3; i++) {
        yc_gen *g = yc_gen_new(run_to, &d, NULL);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    long calls = madvise_calls;
    for (int i = 0; i < 1000; i++) {
        yc_gen *g = yc_gen_new(run_to, &d, NULL);
        CHECK_ST(yc_next(g, &v), YC_RETURN);
        CHECK_INTV(v, dig_sum(2));
        CHECK_ST(yc_gen_free(g), YC_OK);
    }
    CHECK_EQ_INT(madvise_calls - calls, 0);
}

/* A run within the top 4 pages of the smallest stack (16 KiB: 5 pages)
 * frees without a system call. */
TEST(stack_pool_smallest_stack_shallow)
{
    yc_val v;
    digger d = {.depth = 8}; /* about 9 KiB */
    yc_gen *g = yc_gen_new(run_to, &d, &(yc_gen_opts){.stack_size = 16 * 1024});
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, dig_sum(8));
    long calls = madvise_calls;
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(madvise_calls - calls, 0);
}

/* ---- other threads -------------------------------------------------------- */

typedef struct {
    yc_gen *g;
    int status;
    size_t released;
} trim_job;

static void *trim_elsewhere(void *arg)
{
    trim_job *j = arg;
    j->status = yc_gen_stack_trim(j->g, &j->released);
    return NULL;
}

TEST(stack_trim_from_another_thread)
{
    digger d = {.depth = 50};
    yc_gen *g = yc_gen_new(deep_twice, &d, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    trim_job j = {.g = g};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, trim_elsewhere, &j) == 0);
    pthread_join(t, NULL);
    CHECK_ST(j.status, YC_OK);
    CHECK(j.released >= 40 * 1024);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, dig_sum(50));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---- misuse --------------------------------------------------------------- */

TEST(stack_trim_null)
{
    size_t released = 99;
    CHECK_ST(yc_gen_stack_trim(NULL, &released), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
    CHECK_EQ_INT(released, 0);
    CHECK_ST(yc_gen_stack_trim(NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: generator is NULL");
}

/* A generator trimming its own stack while it runs: refused, and it runs
 * on unharmed. */
static yc_val trims_itself(void *arg)
{
    (void)arg;
    yc_gen *me = yc_gen_current();
    size_t released = 99;
    int st = yc_gen_stack_trim(me, &released);
    yc_exc *e = yc_err_take();
    int ok = st == YC_EBUSY && released == 0 && e && yc_exc_is(e, &yc_ValueError) &&
             strcmp(yc_exc_msg(e), "generator already executing") == 0;
    yc_exc_unref(e);
    yc_yield(yc_int(ok));
    return yc_int(dig(20, &(char *){(char *)&st}));
}

TEST(stack_trim_running_generator)
{
    yc_gen *g = yc_gen_new(trims_itself, NULL, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, dig_sum(20));
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A task's generator parked in an await is running (it waits as a
 * suspended async generator does): refused with CPython's async generator
 * wording, and the task finishes unharmed. */
static yc_gen *parked_gen;

static yc_val sleeper_task(void *arg)
{
    (void)arg;
    parked_gen = yc_gen_current();
    yc_sleep(0.001);
    return yc_int(dig(20, &(char *){(char *)&arg}));
}

static yc_val trim_parked_main(void *arg)
{
    (void)arg;
    yc_task *t = yc_task_spawn(sleeper_task, NULL, NULL);
    yc_sleep(0); /* the sleeper starts and parks */
    CHECK(parked_gen != NULL);
    size_t released = 99;
    CHECK_ST(yc_gen_stack_trim(parked_gen, &released), YC_EBUSY);
    CHECK_EXC(&yc_RuntimeError,
              "RuntimeError: yc_gen_stack_trim(): asynchronous generator is already running");
    CHECK_EQ_INT(released, 0);
    yc_val v = yc_await(t);
    yc_task_unref(t);
    return v;
}

TEST(stack_trim_parked_task)
{
    yc_val v;
    CHECK_ST(yc_loop_run(trim_parked_main, NULL, NULL, &v), YC_OK);
    CHECK_INTV(v, dig_sum(20));
}

TEST(stack_trim_finished_generator)
{
    digger d = {.depth = 0};
    yc_gen *g = yc_gen_new(run_to, &d, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    size_t released = 0;
    CHECK_ST(yc_gen_stack_trim(g, &released), YC_OK); /* not an error: nothing runs there */
    CHECK(released > 0);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_next(g, &v), YC_RETURN); /* still a finished generator */
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* Every level of a yield from chain, the middle ones marked as delegating to
 * a generator (the chain walk's mark) after the second resume, is trimmed
 * [7.1]. */
static yc_gen *chain[4];

static yc_val chain_leaf(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    yc_yield(yc_int(3));
    return YC_NONE;
}

static yc_val chain_level(void *arg)
{
    long i = (long)arg;
    chain[i + 1] = yc_gen_new(i + 1 == 3 ? chain_leaf : chain_level, (void *)(i + 1), NULL);
    yc_yield_from(yc_gen_iter(chain[i + 1]));
    yc_gen_free(chain[i + 1]);
    return YC_NONE;
}

TEST(stack_trim_every_level_of_a_yield_from_chain_7_1)
{
    yc_val v;
    chain[0] = yc_gen_new(chain_level, (void *)0L, NULL);
    CHECK_EQ_INT(yc_next(chain[0], &v), YC_YIELD);
    CHECK_EQ_INT(yc_next(chain[0], &v), YC_YIELD); /* the walk's mark is set */
    for (int i = 0; i < 4; i++) {
        size_t n = 1;
        CHECK_ST(yc_gen_stack_trim(chain[i], &n), YC_OK);
    }
    CHECK_EQ_INT(yc_next(chain[0], &v), YC_YIELD);
    CHECK_EQ_INT((int)v.i, 3);
    CHECK_EQ_INT(yc_next(chain[0], &v), YC_RETURN);
    yc_gen_free(chain[0]);
}

TEST_MAIN()
