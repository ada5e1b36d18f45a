/* The stack a thread freed last, parked for its next create of that size
 * (src/stack.c, "the last freed stack"): the same stack comes back, with a
 * fresh generator on it; it counts as pooled; trim, thread exit and fork
 * handle it; and the size classes' rules (an idle chunk unmapped, another
 * size's stacks, a stack freed by another thread) decide as without it. */
#include "test.h"

#include <pthread.h>

static yc_stats stats(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s;
}

/* The calling thread's stacks against `base`: pooled ones, and the stacks
 * and chunks mapped beyond base's. */
#define CHECK_STACKS(base, pooled, mapped, chunks)                              \
    do {                                                                      \
        yc_stats s_ = stats();                                                \
        CHECK_EQ_INT(s_.stacks_pooled, (pooled));                             \
        CHECK_EQ_INT(s_.stacks_mapped, (base).stacks_mapped + (mapped));      \
        CHECK_EQ_INT(s_.stack_chunks, (base).stack_chunks + (chunks));        \
    } while (0)

static yc_val once_body(void *arg)
{
    int64_t n = arg ? *(int64_t *)arg : 0;
    yc_yield(yc_int(n));
    return yc_int(n * 2);
}

/* create, next, next to the end, free: the cycle the parking serves */
static yc_gen *cycle(int64_t *n, const char *name)
{
    yc_gen *g = yc_gen_new(once_body, n, &(yc_gen_opts){.name = name});
    CHECK(g != NULL);
    if (!g) return NULL;
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, *n);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, *n * 2);
    CHECK_ST(yc_gen_free(g), YC_OK);
    return g; /* (freed: only its address is used) */
}

/* Cycles of n run on one stack, which stays parked; then trimmed. */
static void check_parks(int64_t n, yc_gen *on)
{
    yc_gen *g = cycle(&n, "again");
    if (on) CHECK(g == on);
    CHECK(cycle(&n, NULL) == g);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    yc_stack_pool_trim();
}

TEST(park_reuses_the_last_freed_stack)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    int64_t a = 3, b = 4;
    yc_gen *first = cycle(&a, "first");
    CHECK_STACKS(base, 1, 1, 1); /* the parked stack counts as pooled */
    /* the next create takes that very stack: the same header address, and a
     * generator that starts fresh on it (name, state, size, no error) */
    yc_gen *g = yc_gen_new(once_body, &b, NULL);
    CHECK(g == first);
    CHECK_EQ_INT(stats().stacks_pooled, 0);
    CHECK_STR(yc_gen_name(g), "generator");
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CREATED);
    CHECK(yc_gen_stack_size(g) >= YC_STACK_DEFAULT);
    CHECK(yc_gen_iter(g) != NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(yc_gen_iter(g), &v), YC_YIELD);
    CHECK_INTV(v, 4);
    CHECK(yc_gen_current() == NULL);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 8);
    CHECK_ST(yc_gen_free(g), YC_OK);
    /* a thousand cycles run on that one stack */
    for (int i = 0; i < 1000; i++) CHECK(cycle(&a, NULL) == first);
    CHECK_STACKS(base, 1, 1, 1);
    /* trim gives the parked stack back with the rest */
    yc_stack_pool_trim();
    CHECK_STACKS(base, 0, 0, 0);
}

/* A generator freed while suspended (closed by the free) and one freed
 * before it ran park their stacks too; the next one on the stack knows
 * nothing of them. */
static yc_val finally_body(void *arg)
{
    int *ran = arg;
    YC_TRY {
        yc_yield(yc_int(1));
    } YC_FINALLY {
        (*ran)++;
    } YC_END;
    return YC_NONE;
}

TEST(park_after_close_and_after_never_run)
{
    yc_stack_pool_trim();
    int ran = 0;
    yc_gen *g = yc_gen_new(finally_body, &ran, &(yc_gen_opts){.name = "closing"});
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    CHECK_ST(yc_gen_free(g), YC_OK); /* closes it: its finally runs */
    CHECK_EQ_INT(ran, 1);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    yc_gen *h = yc_gen_new(finally_body, &ran, NULL);
    CHECK(h == g);
    CHECK_STR(yc_gen_name(h), "generator");
    CHECK_ST(yc_gen_free(h), YC_OK); /* never ran: nothing to close */
    CHECK_EQ_INT(ran, 1);
    check_parks(7, g);
}

/* A stack of another size: the parked one goes back to its chunk first,
 * and each size keeps its own stacks. */
TEST(park_other_size_returns_it_to_its_class)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    int64_t n = 1;
    yc_gen *d = cycle(&n, NULL);
    yc_gen *small = yc_gen_new(once_body, &n, &(yc_gen_opts){.stack_size = YC_STACK_MIN});
    CHECK(small != NULL && small != d);
    CHECK_STACKS(base, 1, 2, 2); /* the default one pooled, in its chunk now */
    CHECK_ST(yc_gen_free(small), YC_OK); /* parked: the small one */
    CHECK_EQ_INT(stats().stacks_pooled, 2);
    yc_gen *g = yc_gen_new(once_body, &n, NULL); /* the default size again */
    CHECK(g == d);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    yc_gen *g2 = yc_gen_new(once_body, &n, &(yc_gen_opts){.stack_size = YC_STACK_MIN});
    CHECK(g2 == small);
    CHECK_EQ_INT(stats().stacks_pooled, 0);
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_ST(yc_gen_free(g2), YC_OK);
    CHECK_STACKS(base, 2, 2, 2);
    yc_stack_pool_trim();
    CHECK_STACKS(base, 0, 0, 0);
}

/* The class's rule for an idle chunk holds with the parking: two full
 * chunks and the first stack of a third are made, and freed (the third's
 * first, the others in either order): a chunk with no stack in use goes
 * when its class has a pool's worth of free stacks elsewhere, so the first
 * two go and the third stays with its one stack. A last stack parked
 * instead would keep its chunk in use and mapped. */
enum { MAX_GENS = 256 };

/* Creates generators into gs (room for MAX_GENS) until one needs the
 * `stop`th chunk of the thread's since base: that one is kept as the last
 * of gs when `keep`, else freed. Returns how many gs holds; *per_chunk is
 * how many came before the second chunk, checked to be a full chunk's
 * (between 4 and 64) and the test failed otherwise. */
static int fill_chunks(yc_gen **gs, yc_stats base, long stop, bool keep, int *per_chunk)
{
    int n = 0;
    *per_chunk = 0;
    while (n < MAX_GENS) {
        yc_gen *g = yc_gen_new(once_body, NULL, NULL);
        CHECK(g != NULL);
        if (!g) break;
        long chunks = stats().stack_chunks - base.stack_chunks;
        if (chunks == 2 && !*per_chunk) *per_chunk = n;
        if (chunks == stop) {
            if (keep) gs[n++] = g;
            else CHECK_ST(yc_gen_free(g), YC_OK);
            break;
        }
        gs[n++] = g;
    }
    if (*per_chunk < 4 || *per_chunk > 64)
        test_fail(__FILE__, __LINE__, "chunks of %d stacks, %d made", *per_chunk, n);
    return n;
}

static void free_two_chunks(bool reverse)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *gs[MAX_GENS];
    int per_chunk, n = fill_chunks(gs, base, 3, false, &per_chunk);
    CHECK_EQ_INT(n, 2 * per_chunk);
    for (int i = 0; i < n; i++) CHECK_ST(yc_gen_free(gs[reverse ? n - 1 - i : i]), YC_OK);
    CHECK_STACKS(base, 1, 1, 1);
    yc_stack_pool_trim();
    CHECK_STACKS(base, 0, 0, 0);
}

TEST(park_idle_chunk_still_unmapped)
{
    free_two_chunks(false);
    free_two_chunks(true);
}

/* A stack of a chunk that is not at the front of its class goes back to
 * its chunk, which moves to the front, as without the parking: chunk A
 * full but for one free warm stack (a0), chunk B with one stack (b0) in
 * use. Freeing b0 brings B to the front, so two creates take b0 and then a
 * cold stack of B, leaving a0 pooled. Parked instead, b0 would leave A in
 * front, and the second create would take a0. */
TEST(park_only_at_the_front_of_its_class)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *gs[MAX_GENS];
    int per_chunk, n = fill_chunks(gs, base, 2, true, &per_chunk);
    CHECK_EQ_INT(n, per_chunk + 1);
    if (n != per_chunk + 1) {
        for (int i = 0; i < n; i++) yc_gen_free(gs[i]);
        yc_stack_pool_trim();
        return;
    }
    yc_gen *a0 = gs[0], *b0 = gs[per_chunk];
    CHECK_ST(yc_gen_free(a0), YC_OK);     /* A was full: back on the list, in front */
    CHECK_ST(yc_gen_free(b0), YC_OK);     /* B behind A */
    CHECK_STACKS(base, 2, n, 2);
    gs[0] = yc_gen_new(once_body, NULL, NULL);
    CHECK(gs[0] == b0);
    gs[per_chunk] = yc_gen_new(once_body, NULL, NULL);
    CHECK(gs[per_chunk] != a0);
    CHECK_STACKS(base, 1, n + 1, 2); /* a0 still pooled; a fresh stack of B */
    for (int i = 0; i < n; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    yc_stack_pool_trim();
    CHECK_STACKS(base, 0, 0, 0);
}

/* A thread's parked stack goes with its other stacks when it exits; a
 * stack of another thread's chunk is never parked here. */
static void *thread_cycles(void *arg)
{
    yc_gen **out = arg;
    int64_t n = 2;
    for (int i = 0; i < 10; i++) cycle(&n, NULL);
    /* one left for the main thread to run and free: its argument must
     * outlive this thread (not a local of it) */
    static int64_t left = 2;
    *out = yc_gen_new(once_body, &left, NULL);
    return NULL;
}

TEST(park_thread_exit_and_foreign_free)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *theirs = NULL;
    pthread_t t;
    CHECK(pthread_create(&t, NULL, thread_cycles, &theirs) == 0);
    CHECK(pthread_join(t, NULL) == 0);
    CHECK(theirs != NULL);
    if (!theirs) return;
    /* the thread's chunk stays for the one stack still in use */
    CHECK_STACKS(base, 0, 1, 1);
    yc_val v;
    CHECK_ST(yc_next(theirs, &v), YC_YIELD);
    CHECK_ST(yc_gen_free(theirs), YC_OK); /* not ours: given back, not parked */
    CHECK_STACKS(base, 0, 0, 0); /* its last stack: its chunk unmapped */
    check_parks(5, NULL); /* ours still park */
}

/* A fork keeps the forking thread's parked stack usable in the child, and
 * the parent's. */
TEST(park_across_fork)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    int64_t n = 6;
    yc_gen *g = cycle(&n, NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        int bad = 0;
        yc_gen *h = yc_gen_new(once_body, &n, NULL);
        yc_val v;
        bad |= h != g;
        bad |= yc_next(h, &v) != YC_YIELD || v.i != 6;
        bad |= yc_next(h, &v) != YC_RETURN || v.i != 12;
        bad |= yc_gen_free(h) != YC_OK;
        bad |= stats().stacks_pooled != 1;
        yc_stack_pool_trim();
        yc_stats s = stats();
        bad |= s.stacks_pooled != 0 || s.stacks_mapped != base.stacks_mapped ||
               s.stack_chunks != base.stack_chunks;
        _exit(bad ? 1 : 0);
    }
    int status = 0;
    CHECK(waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(cycle(&n, NULL) == g);
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);
}

TEST_MAIN()
