/* Generators and threads: a suspended generator may be resumed by any
 * thread (one at a time); a concurrent resume is "generator already
 * executing"; error indicators, current coroutine and stack pools are per
 * thread; a stack may be freed by a thread other than the one that carved
 * it. No timing: threads hand over through mutexes, condition variables,
 * joins and atomic flags. */
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>

/* The harness's checks from any thread: failures are serialised. */
static pthread_mutex_t check_mu = PTHREAD_MUTEX_INITIALIZER;

#define TCHECK(cond)                                                          \
    do {                                                                      \
        if (!(cond)) {                                                        \
            pthread_mutex_lock(&check_mu);                                    \
            test_fail(__FILE__, __LINE__, "TCHECK(%s) failed", #cond);        \
            pthread_mutex_unlock(&check_mu);                                  \
        }                                                                     \
    } while (0)

#define TCHECK_EQ(a, b)                                                       \
    do {                                                                      \
        long long ta_ = (long long)(a), tb_ = (long long)(b);                 \
        if (ta_ != tb_) {                                                     \
            pthread_mutex_lock(&check_mu);                                    \
            test_fail(__FILE__, __LINE__, "%s == %s failed: %lld != %lld", #a, #b, ta_, tb_); \
            pthread_mutex_unlock(&check_mu);                                  \
        }                                                                     \
    } while (0)

/* Takes the calling thread's pending exception and checks it. */
static void tcheck_exc(const char *file, int line, const yc_exc_type *t, const char *text)
{
    yc_exc *e = yc_err_take();
    char buf[512] = "(none)";
    if (e) yc_exc_format(e, buf, sizeof buf);
    if (!e || yc_exc_type_of(e) != t || (text && strcmp(buf, text) != 0)) {
        pthread_mutex_lock(&check_mu);
        test_fail(file, line, "expected %s \"%s\", got %s", t->name, text ? text : "", buf);
        pthread_mutex_unlock(&check_mu);
    }
    yc_exc_unref(e);
}
#define TCHECK_EXC(t, text) tcheck_exc(__FILE__, __LINE__, (t), (text))

/* The kernel's thread id: not cacheable by the compiler, unlike
 * pthread_self() (declared const), across a yield that may change threads. */
__attribute__((noinline)) static long tid(void) { return (long)syscall(SYS_gettid); }

static pthread_t spawn(void *(*fn)(void *), void *arg)
{
    pthread_t t;
    int r = pthread_create(&t, NULL, fn, arg);
    CHECK_EQ_INT(r, 0);
    return t;
}

static yc_stats stats(void)
{
    yc_stats s;
    yc_stats_get(&s);
    return s;
}

/* ---------------------------------------------------------------------
 * First use of the library on several threads at once: whatever the
 * library initialises lazily must be initialised safely (TSan checks it).
 * Keep this test first in the file: it must be the process's first use of
 * yieldc (run alone with its name, it is too).
 * ------------------------------------------------------------------- */

static pthread_barrier_t first_barrier;

static yc_val two_steps(void *arg)
{
    yc_yield(yc_int((int64_t)(intptr_t)arg));
    return yc_int(-(int64_t)(intptr_t)arg);
}

static void *first_use(void *arg)
{
    pthread_barrier_wait(&first_barrier);
    yc_gen *g = yc_gen_new(two_steps, arg, NULL);
    TCHECK(g != NULL);
    if (!g) return NULL;
    yc_val v;
    TCHECK_EQ(yc_next(g, &v), YC_YIELD);
    TCHECK_EQ(v.i, (int64_t)(intptr_t)arg);
    TCHECK_EQ(yc_next(g, &v), YC_RETURN);
    TCHECK_EQ(v.i, -(int64_t)(intptr_t)arg);
    TCHECK_EQ(yc_gen_free(g), YC_OK);
    return NULL;
}

TEST(threads_first_use_concurrent)
{
    enum { N = 4 };
    pthread_barrier_init(&first_barrier, NULL, N);
    pthread_t t[N];
    for (int i = 0; i < N; i++) t[i] = spawn(first_use, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    pthread_barrier_destroy(&first_barrier);
}

/* ---------------------------------------------------------------------
 * Resumed from another thread, sequentially
 * ------------------------------------------------------------------- */

typedef struct where_log {
    long tids[16];
    int n;
} where_log;

/* Keeps state in locals and on its stack across threads. */
static yc_val migrating_body(void *arg)
{
    where_log *w = arg;
    int64_t acc = 0;
    char text[64];
    snprintf(text, sizeof text, "start");
    for (int64_t i = 0; i < 6; i++) {
        w->tids[w->n++] = tid();
        acc += i * 10;
        yc_val s = yc_yield(yc_int(acc));
        if (yc_type_of(s) == YC_T_INT) acc += s.i;
        size_t len = strlen(text);
        snprintf(text + len, sizeof text - len, ",%d", (int)i);
    }
    w->tids[w->n++] = tid();
    yc_yield(yc_str(text));
    return yc_int(acc);
}

typedef struct resume_job {
    yc_gen *g;
    long tid;
    int64_t got[4];
    int st[4];
    yc_gen *cur_in_thread;
} resume_job;

static void *resume_twice(void *arg)
{
    resume_job *j = arg;
    j->tid = tid();
    yc_val v;
    j->st[0] = yc_next(j->g, &v);
    j->got[0] = v.i;
    j->st[1] = yc_send(j->g, yc_int(1000), &v);
    j->got[1] = v.i;
    j->cur_in_thread = yc_gen_current();
    TCHECK(yc_err_get() == NULL);
    return NULL;
}

TEST(threads_resume_on_another_thread)
{
    where_log w = {.n = 0};
    yc_gen *g = yc_gen_new(migrating_body, &w, &(yc_gen_opts){.name = "mig"});
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* acc 0 */
    CHECK_INTV(v, 0);
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* acc 10 */
    CHECK_INTV(v, 10);

    resume_job j = {.g = g};
    pthread_join(spawn(resume_twice, &j), NULL);
    CHECK_ST(j.st[0], YC_YIELD);
    CHECK_EQ_INT(j.got[0], 30);   /* + 20 */
    CHECK_ST(j.st[1], YC_YIELD);
    CHECK_EQ_INT(j.got[1], 1060); /* + 1000 sent, + 30 */
    CHECK(j.cur_in_thread == NULL);
    CHECK(j.tid != tid());

    CHECK_ST(yc_next(g, &v), YC_YIELD); /* back on this thread: + 40 */
    CHECK_INTV(v, 1100);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1150);
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_VAL(v, yc_str("start,0,1,2,3,4,5"));
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 1150);

    /* the body really ran where it was resumed */
    CHECK_EQ_INT(w.n, 7);
    long me = tid();
    long want[7] = {me, me, j.tid, j.tid, me, me, me};
    for (int i = 0; i < 7 && i < w.n; i++) CHECK_EQ_INT(w.tids[i], want[i]);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* Created here, freed (while suspended: its finally runs there) by another
 * thread; then the other way round. The counts add up after the joins. */
static int freed_finally;
static long finally_tid;

static yc_val finally_body(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_yield(yc_int(1));
        yc_yield(yc_int(2));
    } YC_FINALLY {
        freed_finally++;
        finally_tid = tid();
    } YC_END;
    return YC_NONE;
}

static void *free_it(void *arg)
{
    TCHECK_EQ(yc_gen_free(arg), YC_OK);
    TCHECK(yc_err_get() == NULL);
    return NULL;
}

static void *make_and_start(void *arg)
{
    yc_gen **out = arg;
    *out = yc_gen_new(finally_body, NULL, &(yc_gen_opts){.name = "orphan"});
    TCHECK(*out != NULL);
    TCHECK_EQ(yc_next(*out, NULL), YC_YIELD);
    return NULL;
}

TEST(threads_free_on_another_thread)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    freed_finally = 0;
    yc_gen *g = yc_gen_new(finally_body, NULL, NULL);
    CHECK_ST(yc_next(g, NULL), YC_YIELD);
    pthread_join(spawn(free_it, g), NULL);
    CHECK_EQ_INT(freed_finally, 1);
    CHECK(finally_tid != tid());
    yc_stats s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped); /* the thread's pool went at its exit */

    /* made on a thread that has exited since: resumed and freed here */
    g = NULL;
    pthread_join(spawn(make_and_start, &g), NULL);
    CHECK(g != NULL);
    if (!g) return;
    CHECK_EQ_INT(stats().generators, base.generators + 1);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 2);
    CHECK_STR(yc_gen_name(g), "orphan");
    CHECK_ST(yc_gen_free(g), YC_OK);
    CHECK_EQ_INT(freed_finally, 2);
    CHECK_EQ_INT(finally_tid, tid());
    yc_stack_pool_trim();
    s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(s.stacks_pooled, 0);
}

/* ---------------------------------------------------------------------
 * Ping-pong between two threads
 * ------------------------------------------------------------------- */

#define PINGS 10000

typedef struct pingpong {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int turn; /* whose turn: 0 or 1; 2 when done */
    yc_gen *g;
    long tids[2];
    int bad;
    int64_t next_want;
} pingpong;

/* Yields 0..PINGS-1; returns how many times the thread changed between
 * steps, which under strict alternation is PINGS (pp_thread checks it). */
static yc_val pp_body(void *arg)
{
    pingpong *pp = arg;
    long last = 0;
    int64_t switches = 0;
    for (int64_t i = 0; i < PINGS; i++) {
        long now = tid();
        if (now != last) switches++;
        last = now;
        yc_val s = yc_yield(yc_int(i));
        if (!yc_is_none(s)) pp->bad = 1; /* only next() is used */
    }
    return yc_int(switches);
}

typedef struct pp_arg {
    pingpong *pp;
    int me;
} pp_arg;

static void *pp_thread(void *arg)
{
    pp_arg *a = arg;
    pingpong *pp = a->pp;
    pp->tids[a->me] = tid();
    for (;;) {
        pthread_mutex_lock(&pp->mu);
        while (pp->turn != a->me && pp->turn != 2) pthread_cond_wait(&pp->cv, &pp->mu);
        if (pp->turn == 2) {
            pthread_mutex_unlock(&pp->mu);
            return NULL;
        }
        pthread_mutex_unlock(&pp->mu);

        yc_val v;
        int st = yc_next(pp->g, &v);
        pthread_mutex_lock(&pp->mu);
        if (st == YC_YIELD) {
            if (v.i != pp->next_want) pp->bad = 2;
            pp->next_want++;
            pp->turn = 1 - a->me;
        } else {
            if (st != YC_RETURN || v.i != PINGS) pp->bad = 3;
            if (yc_err_get()) yc_err_clear();
            pp->turn = 2;
        }
        pthread_cond_broadcast(&pp->cv);
        pthread_mutex_unlock(&pp->mu);
    }
}

TEST(threads_pingpong_10000)
{
    pingpong pp = {.turn = 0};
    pthread_mutex_init(&pp.mu, NULL);
    pthread_cond_init(&pp.cv, NULL);
    pp.g = yc_gen_new(pp_body, &pp, &(yc_gen_opts){.name = "ball"});
    pp_arg a0 = {&pp, 0}, a1 = {&pp, 1};
    pthread_t t0 = spawn(pp_thread, &a0), t1 = spawn(pp_thread, &a1);
    pthread_join(t0, NULL);
    pthread_join(t1, NULL);
    CHECK_EQ_INT(pp.bad, 0);
    CHECK_EQ_INT(pp.next_want, PINGS);
    CHECK(pp.tids[0] != pp.tids[1]);
    CHECK_EQ_INT(yc_gen_state_of(pp.g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(pp.g), YC_OK);
    pthread_cond_destroy(&pp.cv);
    pthread_mutex_destroy(&pp.mu);
}

/* ---------------------------------------------------------------------
 * A resume while running on another thread
 * ------------------------------------------------------------------- */

static _Atomic int busy_entered, busy_tried;

static yc_val spin_body(void *arg)
{
    (void)arg;
    atomic_store(&busy_entered, 1);
    while (!atomic_load(&busy_tried)) sched_yield();
    yc_yield(yc_int(7));
    return yc_int(8);
}

typedef struct busy_job {
    yc_gen *g;
    long exc_before, exc_after;
} busy_job;

static void *try_while_running(void *arg)
{
    busy_job *j = arg;
    while (!atomic_load(&busy_entered)) sched_yield();
    yc_val v = yc_int(-1);
    TCHECK_EQ(yc_gen_state_of(j->g), YC_GEN_RUNNING);
    TCHECK_EQ(yc_next(j->g, &v), YC_EBUSY);
    TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    TCHECK_EQ(yc_send(j->g, yc_int(1), &v), YC_EBUSY);
    TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    TCHECK_EQ(yc_throw(j->g, yc_exc_new(&yc_KeyError, "k"), &v), YC_EBUSY); /* e taken */
    TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    TCHECK_EQ(yc_close(j->g, &v), YC_EBUSY);
    TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    TCHECK_EQ(yc_gen_free(j->g), YC_EBUSY);
    TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    TCHECK(yc_gen_current() == NULL); /* this thread runs no generator */
    TCHECK_EQ(yc_gen_state_of(j->g), YC_GEN_RUNNING);
    TCHECK(yc_err_get() == NULL);
    atomic_store(&busy_tried, 1);
    return NULL;
}

TEST(threads_concurrent_resume_is_busy)
{
    atomic_store(&busy_entered, 0);
    atomic_store(&busy_tried, 0);
    yc_gen *g = yc_gen_new(spin_body, NULL, &(yc_gen_opts){.name = "spinner"});
    busy_job j = {.g = g};
    pthread_t t = spawn(try_while_running, &j);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* runs until the other thread has tried */
    CHECK_INTV(v, 7);
    CHECK(yc_err_get() == NULL);
    pthread_join(t, NULL);
    CHECK_EQ_INT(atomic_load(&busy_tried), 1);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 8);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* The same while the generator runs on the other thread and this one
 * (which created it) tries. */
static void *run_spinner(void *arg)
{
    yc_val v;
    TCHECK_EQ(yc_next(arg, &v), YC_YIELD);
    TCHECK_EQ(v.i, 7);
    TCHECK(yc_err_get() == NULL);
    return NULL;
}

TEST(threads_concurrent_resume_by_creator_is_busy)
{
    atomic_store(&busy_entered, 0);
    atomic_store(&busy_tried, 0);
    yc_gen *g = yc_gen_new(spin_body, NULL, NULL);
    pthread_t t = spawn(run_spinner, g);
    while (!atomic_load(&busy_entered)) sched_yield();
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    CHECK_ST(yc_gen_free(g), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    atomic_store(&busy_tried, 1);
    pthread_join(t, NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_next(g, &v), YC_RETURN);
    CHECK_INTV(v, 8);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* Many threads racing to claim one suspended generator: each step is taken
 * by exactly one of them; the losers get YC_EBUSY and nothing changes. */
#define RACERS 4
#define RACE_STEPS 2000

static yc_val race_body(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < RACE_STEPS; i++) yc_yield(yc_int(i));
    return YC_NONE;
}

typedef struct race {
    yc_gen *g;
    _Atomic int64_t seen_sum, wins, busies;
    _Atomic int done;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    while (!atomic_load(&r->done)) {
        yc_val v;
        int st = yc_next(r->g, &v);
        if (st == YC_YIELD) {
            atomic_fetch_add(&r->seen_sum, v.i);
            atomic_fetch_add(&r->wins, 1);
        } else if (st == YC_EBUSY) {
            atomic_fetch_add(&r->busies, 1);
            TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        } else {
            TCHECK_EQ(st, YC_RETURN);
            atomic_store(&r->done, 1);
        }
    }
    return NULL;
}

TEST(threads_racing_resumes)
{
    race r = {.g = yc_gen_new(race_body, NULL, NULL)};
    pthread_t t[RACERS];
    for (int i = 0; i < RACERS; i++) t[i] = spawn(racer, &r);
    for (int i = 0; i < RACERS; i++) pthread_join(t[i], NULL);
    CHECK_EQ_INT(atomic_load(&r.wins), RACE_STEPS);
    CHECK_EQ_INT(atomic_load(&r.seen_sum), (int64_t)RACE_STEPS * (RACE_STEPS - 1) / 2);
    CHECK_EQ_INT(yc_gen_state_of(r.g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(r.g), YC_OK);
}

/* Two threads take turns with no synchronisation of their own (a relaxed
 * flag only says whose turn it is): the generator's state is what orders
 * one resume after the other, as the library promises. */
#define HANDOFFS 200

typedef struct handoff {
    yc_gen *g;
    _Atomic int turn; /* only relaxed accesses */
    int64_t got[2];
    int bad[2];
} handoff;

static yc_val handoff_body(void *arg)
{
    (void)arg;
    for (int64_t i = 0;; i++) {
        yc_val s = yc_yield(yc_int(i));
        if (yc_type_of(s) != YC_T_INT || s.i != i) return yc_int(-1);
    }
    return YC_NONE;
}

static void *handoff_thread(void *arg)
{
    handoff *h = ((handoff **)arg)[0];
    int me = (int)(intptr_t)((void **)arg)[1];
    for (int k = 0; k < HANDOFFS; k++) {
        while (atomic_load_explicit(&h->turn, memory_order_relaxed) != me) sched_yield();
        yc_val v;
        int64_t want = 2 * k + me;
        /* the first resume is a next (nothing to send yet) */
        int st = want == 0 ? yc_next(h->g, &v) : yc_send(h->g, yc_int(want - 1), &v);
        if (st != YC_YIELD || v.i != want) h->bad[me]++;
        h->got[me]++;
        atomic_store_explicit(&h->turn, 1 - me, memory_order_relaxed);
    }
    return NULL;
}

TEST(threads_handoff_ordered_by_generator_state)
{
    handoff h = {.g = yc_gen_new(handoff_body, NULL, NULL)};
    atomic_init(&h.turn, 0);
    void *a0[2] = {&h, (void *)(intptr_t)0}, *a1[2] = {&h, (void *)(intptr_t)1};
    pthread_t t0 = spawn(handoff_thread, a0), t1 = spawn(handoff_thread, a1);
    pthread_join(t0, NULL);
    pthread_join(t1, NULL);
    CHECK_EQ_INT(h.bad[0] + h.bad[1], 0);
    CHECK_EQ_INT(h.got[0] + h.got[1], 2 * HANDOFFS);
    CHECK_EQ_INT(yc_gen_state_of(h.g), YC_GEN_SUSPENDED);
    CHECK_ST(yc_gen_free(h.g), YC_OK);
}

/* ---------------------------------------------------------------------
 * Threads with their own generators, in parallel
 * ------------------------------------------------------------------- */

#define WORKERS 4
#define WORK_ROUNDS 50
#define WORK_GENS 20

static yc_val leaf_body(void *arg)
{
    int64_t base = (int64_t)(intptr_t)arg;
    for (int64_t i = 0; i < 3; i++) {
        YC_TRY {
            yc_yield(yc_int(base + i));
        } YC_EXCEPT(&yc_ValueError) {
            yc_yield(yc_int(-1));
        } YC_END;
    }
    return yc_int(base);
}

static yc_val mid_body(void *arg)
{
    yc_gen *leaf = yc_gen_new(leaf_body, arg, NULL);
    volatile yc_val r = YC_NONE;
    YC_TRY {
        r = yc_yield_from(yc_gen_iter(leaf));
    } YC_FINALLY {
        yc_gen_free(leaf);
    } YC_END;
    return r;
}

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    for (int round = 0; round < WORK_ROUNDS; round++) {
        yc_gen *gs[WORK_GENS];
        for (int k = 0; k < WORK_GENS; k++) {
            int64_t base = (int64_t)id * 1000000 + round * 1000 + k * 10;
            gs[k] = yc_gen_new(mid_body, (void *)(intptr_t)base, NULL);
            TCHECK(gs[k] != NULL);
        }
        /* interleaved: one step of each in turn */
        for (int step = 0; step < 3; step++) {
            for (int k = 0; k < WORK_GENS; k++) {
                int64_t base = (int64_t)id * 1000000 + round * 1000 + k * 10;
                yc_val v;
                TCHECK_EQ(yc_next(gs[k], &v), YC_YIELD);
                TCHECK_EQ(v.i, base + step);
                if (step == 1 && k % 2) {
                    TCHECK_EQ(yc_throw(gs[k], yc_exc_new(&yc_ValueError, "w"), &v), YC_YIELD);
                    TCHECK_EQ(v.i, -1);
                }
            }
        }
        for (int k = 0; k < WORK_GENS; k++) {
            int64_t base = (int64_t)id * 1000000 + round * 1000 + k * 10;
            yc_val v;
            TCHECK_EQ(yc_next(gs[k], &v), YC_RETURN);
            TCHECK_EQ(v.i, base);
            if (k % 3 == 0) {
                /* one that raises: only this thread's indicator gets it */
                TCHECK_EQ(yc_throw(gs[k], yc_exc_new(&yc_KeyError, "t%d", id), &v), YC_RAISE);
                char want[32];
                snprintf(want, sizeof want, "KeyError: 't%d'", id);
                TCHECK_EXC(&yc_KeyError, want);
            }
            TCHECK_EQ(yc_gen_free(gs[k]), YC_OK);
        }
    }
    /* this thread's pool holds stacks now; the others' are theirs */
    yc_stats s;
    yc_stats_get(&s);
    TCHECK(s.stacks_pooled > 0);
    TCHECK(yc_err_get() == NULL);
    return NULL;
}

TEST(threads_parallel_own_generators)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    pthread_t t[WORKERS];
    for (int i = 0; i < WORKERS; i++) t[i] = spawn(worker, (void *)(intptr_t)(i + 1));
    for (int i = 0; i < WORKERS; i++) pthread_join(t[i], NULL);
    yc_stats s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.exceptions, 0);
    CHECK_EQ_INT(s.stacks_pooled, 0); /* ours: untouched */
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
}

/* ---------------------------------------------------------------------
 * Exceptions reach the thread that resumed
 * ------------------------------------------------------------------- */

static yc_val raiser_body(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_raisef(&yc_ValueError, "handled");
    } YC_EXCEPT(&yc_ValueError) {
        /* suspended while handling it: the handled exception travels with
         * the generator, not with a thread */
        yc_yield(yc_int(1));
        CHECK(yc_exc_is(yc_exc_current(), &yc_ValueError));
        if (yc_exc_current()) CHECK_STR(yc_exc_msg(yc_exc_current()), "handled");
        yc_yield(yc_int(2));
        CHECK(yc_exc_is(yc_exc_current(), &yc_ValueError));
    } YC_END;
    YC_TRY {
        yc_yield(yc_int(3));
    } YC_EXCEPT(&yc_IndexError) {
        yc_raisef(&yc_TypeError, "converted on %s", "B");
    } YC_END;
    yc_raisef(&yc_KeyError, "unreached");
    return YC_NONE;
}

typedef struct exc_job {
    yc_gen *g;
    int st1, st2;
    yc_val v1;
    yc_exc *got;          /* what this thread's indicator held */
    yc_exc *handled_here; /* yc_exc_current() on this thread while it was suspended */
} exc_job;

static void *resume_and_throw(void *arg)
{
    exc_job *j = arg;
    j->st1 = yc_next(j->g, &j->v1);     /* to yield 2, still handling ValueError */
    j->handled_here = yc_exc_current(); /* the generator's is not ours */
    yc_next(j->g, NULL);                /* to yield 3 */
    j->st2 = yc_throw(j->g, yc_exc_new(&yc_IndexError, "i"), NULL);
    j->got = yc_err_take();
    return NULL;
}

TEST(threads_exception_goes_to_resuming_thread)
{
    yc_gen *g = yc_gen_new(raiser_body, NULL, &(yc_gen_opts){.name = "raiser"});
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD);
    CHECK_INTV(v, 1);
    CHECK(yc_exc_current() == NULL);
    /* a pending error of this thread's own that must survive */
    yc_err_set(yc_exc_new(&yc_OSError, "mine"));

    exc_job j = {.g = g};
    pthread_join(spawn(resume_and_throw, &j), NULL);
    CHECK_ST(j.st1, YC_YIELD);
    CHECK_INTV(j.v1, 2);
    CHECK(j.handled_here == NULL);
    CHECK_ST(j.st2, YC_RAISE);
    CHECK(yc_exc_is(j.got, &yc_TypeError));
    if (j.got) {
        char buf[128];
        yc_exc_format(j.got, buf, sizeof buf);
        CHECK_STR(buf, "TypeError: converted on B");
        CHECK(yc_exc_is(yc_exc_context(j.got), &yc_IndexError)); /* raised while handling */
        size_t n = 0;
        const yc_tb_entry *tb = yc_exc_traceback(j.got, &n);
        CHECK(n >= 1);
        if (n >= 1) CHECK_STR(tb[0].where, "raiser");
    }
    yc_exc_unref(j.got);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    /* ours is untouched */
    CHECK_EXC(&yc_OSError, "OSError: mine");
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A generator raising on first run on a thread that never used yieldc:
 * the error lands in that thread's (fresh) indicator. */
static yc_val raise_now(void *arg)
{
    (void)arg;
    yc_raisef(&yc_ZeroDivisionError, "division by zero");
    return YC_NONE;
}

static void *first_use_raise(void *arg)
{
    TCHECK_EQ(yc_next(arg, NULL), YC_RAISE);
    TCHECK_EXC(&yc_ZeroDivisionError, "ZeroDivisionError: division by zero");
    TCHECK(yc_err_get() == NULL);
    return NULL;
}

TEST(threads_exception_on_fresh_thread)
{
    yc_gen *g = yc_gen_new(raise_now, NULL, NULL);
    pthread_join(spawn(first_use_raise, g), NULL);
    CHECK(yc_err_get() == NULL);
    CHECK_EQ_INT(yc_gen_state_of(g), YC_GEN_CLOSED);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* A thread that exits with an error still pending releases it. */
static void *leave_pending(void *arg)
{
    TCHECK_EQ(yc_next(arg, NULL), YC_RAISE);
    TCHECK(yc_exc_is(yc_err_get(), &yc_ZeroDivisionError));
    return NULL; /* not consumed */
}

TEST(threads_pending_error_released_at_exit)
{
    yc_gen *g = yc_gen_new(raise_now, NULL, NULL);
    pthread_join(spawn(leave_pending, g), NULL);
    CHECK_EQ_INT(stats().exceptions, 0);
    CHECK(yc_err_get() == NULL);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* An exception escaping a generator gets as __context__ the exception its
 * resumer is handling: the resuming thread's, not the creator's. */
static yc_val raise_plain(void *arg)
{
    (void)arg;
    yc_yield(YC_NONE);
    yc_raisef(&yc_ValueError, "from gen");
    return YC_NONE;
}

typedef struct ctx_job {
    yc_gen *g;
    yc_exc *got;
} ctx_job;

static void *resume_while_handling(void *arg)
{
    ctx_job *j = arg;
    YC_TRY {
        yc_raisef(&yc_KeyError, "thread's own");
    } YC_EXCEPT(&yc_KeyError) {
        TCHECK_EQ(yc_next(j->g, NULL), YC_RAISE);
        j->got = yc_err_take();
    } YC_END;
    return NULL;
}

TEST(threads_exception_context_is_resumers)
{
    yc_gen *g = yc_gen_new(raise_plain, NULL, NULL);
    ctx_job j = {.g = g};
    YC_TRY {
        yc_raisef(&yc_IndexError, "creator's");
    } YC_EXCEPT(&yc_IndexError) {
        CHECK_ST(yc_next(g, NULL), YC_YIELD); /* last resumed from here, while handling */
        pthread_join(spawn(resume_while_handling, &j), NULL);
    } YC_END;
    CHECK(yc_exc_is(j.got, &yc_ValueError));
    yc_exc *ctx = yc_exc_context(j.got);
    CHECK(yc_exc_is(ctx, &yc_KeyError));
    if (ctx) CHECK_STR(yc_exc_msg(ctx), "thread's own");
    yc_exc_unref(j.got);
    CHECK_ST(yc_gen_free(g), YC_OK);
}

/* ---------------------------------------------------------------------
 * The biased claim (src/gen.c, docs/design.md): a generator's creating
 * thread claims it with plain stores until another thread takes the bias
 * away, with membarrier(). The owner and a second thread race for fresh
 * generators from their first resume, the second one starting after a
 * varying delay, so that revocations land at different points of the
 * owner's plain claims. Each step must be taken by exactly one thread and
 * the body must never run twice at once.
 * ------------------------------------------------------------------- */

#define BIAS_ROUNDS 300
#define BIAS_STEPS 3000

typedef struct bias_race {
    yc_gen *g;
    _Atomic int go, done; /* round numbers: start and end of a round */
    _Atomic int64_t wins[2], sum;
    _Atomic int inside, overlap;
    int delay, pause_at;
    bool owner_throws; /* the owner's steps (after its first) are yc_throw */
} bias_race;

static yc_val bias_body(void *arg)
{
    bias_race *r = arg;
    for (int64_t i = 0; i < BIAS_STEPS; i++) {
        if (atomic_fetch_add(&r->inside, 1) != 0) atomic_fetch_add(&r->overlap, 1);
        atomic_fetch_sub(&r->inside, 1);
        YC_TRY {
            yc_yield(yc_int(i));
        } YC_EXCEPT(&yc_ValueError) {
            /* the owner's throw: a step like a next */
        } YC_END;
    }
    return YC_NONE;
}

/* One thread's side of the race: resumes until the generator is closed.
 * Each side, after pause_at steps, stops resuming until the other has
 * taken a step, so that every round has steps on both threads after the
 * revocation, whether or not the two threads really run at once. */
static void bias_steps(bias_race *r, int who)
{
    for (int steps = 0;; steps++) {
        /* each side waits there until the other has won a step, so both
         * win steps of every round however the scheduler runs them (a
         * side descheduled for a whole round under load let the other
         * take every step: the rival alone once in 300 rounds, an ASan
         * leg of a fresh clone); no deadlock: a side with no win yet saw
         * only busy claims, each one a step the other won */
        if (steps == r->pause_at) {
            for (unsigned n = 1; atomic_load(&r->wins[1 - who]) == 0; n++)
                if (n % 1024 == 0) sched_yield();
        }
        yc_val v;
        /* a throw claims in C (the owner's plain claim there), a next on
         * the fast path; a throw's first resume would close a CREATED
         * generator, so the owner's first step is always a next */
        bool thr = who == 0 && r->owner_throws && steps > 0;
        int st = thr ? yc_throw(r->g, yc_exc_new(&yc_ValueError, "step"), &v) : yc_next(r->g, &v);
        if (thr && st == YC_RAISE && yc_gen_state_of(r->g) == YC_GEN_CLOSED) {
            TCHECK_EXC(&yc_ValueError, "ValueError: step"); /* thrown into a finished one */
            return;
        }
        if (st == YC_YIELD) {
            atomic_fetch_add(&r->wins[who], 1);
            atomic_fetch_add(&r->sum, v.i);
        } else if (st == YC_EBUSY) {
            TCHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        } else {
            TCHECK_EQ(st, YC_RETURN);
            return;
        }
    }
}

/* Waits for *flag to reach want: spins (both threads start within a few
 * hundred nanoseconds of each other), yielding now and then for a machine
 * with fewer cores than threads or a tool that runs one thread at a time. */
static void spin_until(_Atomic int *flag, int want)
{
    for (unsigned n = 1; atomic_load(flag) != want; n++)
        if (n % 1024 == 0) sched_yield();
}

/* Pins the calling thread to the nth CPU it may run on (when it may run on
 * more than one): the two sides of a race then really run at once, rather
 * than wherever the scheduler happens to stack them. */
static void pin_to_nth_cpu(int nth, cpu_set_t *saved)
{
    cpu_set_t allowed;
    if (pthread_getaffinity_np(pthread_self(), sizeof allowed, &allowed) != 0) return;
    if (saved) *saved = allowed;
    if (CPU_COUNT(&allowed) < 2) return;
    for (int c = 0, seen = 0; c < CPU_SETSIZE; c++) {
        if (!CPU_ISSET(c, &allowed) || seen++ != nth) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(c, &one);
        pthread_setaffinity_np(pthread_self(), sizeof one, &one);
        return;
    }
}

static void *bias_rival(void *arg)
{
    bias_race *r = arg;
    pin_to_nth_cpu(1, NULL);
    for (int round = 1;; round++) {
        spin_until(&r->go, round);
        if (!r->g) return NULL;
        for (volatile int k = 0; k < r->delay; k++) {
        }
        bias_steps(r, 1);
        atomic_store(&r->done, round);
    }
}

/* Rounds of the race; returns how many rounds both threads won steps of
 * (all of them). */
static int bias_race_rounds(bool owner_throws)
{
    bias_race r = {.delay = 0, .owner_throws = owner_throws};
    cpu_set_t saved;
    CPU_ZERO(&saved);
    pthread_t t = spawn(bias_rival, &r); /* before the pin: it inherits our set */
    pin_to_nth_cpu(0, &saved);
    int both_won = 0;
    for (int round = 1; round <= BIAS_ROUNDS; round++) {
        r.g = yc_gen_new(bias_body, &r, NULL);
        atomic_store(&r.wins[0], 0);
        atomic_store(&r.wins[1], 0);
        atomic_store(&r.sum, 0);
        r.delay = (round * 37) % 4000; /* the rival's first claim lands anywhere */
        r.pause_at = 2 * BIAS_STEPS / 3 + round % 32;
        atomic_store(&r.go, round);
        bias_steps(&r, 0);
        spin_until(&r.done, round);
        CHECK_EQ_INT(atomic_load(&r.wins[0]) + atomic_load(&r.wins[1]), BIAS_STEPS);
        CHECK_EQ_INT(atomic_load(&r.sum), (int64_t)BIAS_STEPS * (BIAS_STEPS - 1) / 2);
        CHECK_EQ_INT(yc_gen_state_of(r.g), YC_GEN_CLOSED);
        both_won += atomic_load(&r.wins[1]) > 0 && atomic_load(&r.wins[0]) > 0;
        CHECK_ST(yc_gen_free(r.g), YC_OK);
    }
    r.g = NULL; /* tells the rival to stop */
    atomic_store(&r.go, BIAS_ROUNDS + 1);
    pthread_join(t, NULL);
    if (CPU_COUNT(&saved) > 0) pthread_setaffinity_np(pthread_self(), sizeof saved, &saved);
    CHECK_EQ_INT(atomic_load(&r.overlap), 0);
    return both_won;
}

TEST(threads_biased_owner_races_revoker)
{
    yc__bias_force(1); /* every generator biased, no revocation limit */
    /* where the build has the fast path (x86-64 assembly, no sanitizer) */
    CHECK_EQ_INT(yc__bias_kind(), strstr(yc_config(), "claim=biased") ? 1 : 2);
    CHECK_EQ_INT(bias_race_rounds(false), BIAS_ROUNDS);
    yc__bias_force(0);
}

/* The same race with the owner's steps claimed in C (yc_throw, which the
 * body catches): the owner's plain claim there against the revoker. */
TEST(threads_biased_owner_c_claims_race_revoker)
{
    yc__bias_force(1);
    CHECK_EQ_INT(bias_race_rounds(true), BIAS_ROUNDS);
    yc__bias_force(0);
}

/* Without a bias every claim is the compare-and-swap (the fast path's
 * inline one on x86-64): the same races. */
TEST(threads_unbiased_claims_race)
{
    yc__bias_force(2);
    CHECK_EQ_INT(yc__bias_kind(), 2);
    CHECK_EQ_INT(bias_race_rounds(false), BIAS_ROUNDS);
    threads_racing_resumes();
    threads_handoff_ordered_by_generator_state();
    yc__bias_force(0);
}

/* A generator whose bias was taken away works from every thread, its owner
 * included, and each revocation counts towards the limit past which new
 * generators get no bias. */
static void *next_once(void *arg)
{
    yc_val v;
    TCHECK_EQ(yc_next(arg, &v), YC_YIELD);
    return NULL;
}

TEST(threads_bias_revoked_then_limit)
{
    yc__bias_force(0);
    if (yc__bias_kind() != 1) {
        /* no fast path in this build (or no membarrier): nothing to revoke */
        CHECK(strstr(yc_config(), "claim=cas") != NULL);
        return;
    }
    int made = 0;
    static bias_race quiet; /* only its counters are used */
    while (yc__bias_kind() == 1 && made < 1000) {
        yc_gen *g = yc_gen_new(bias_body, &quiet, NULL);
        yc_val v;
        CHECK_ST(yc_next(g, &v), YC_YIELD);           /* the owner, plain claim */
        pthread_join(spawn(next_once, g), NULL);      /* another thread: revokes */
        CHECK_ST(yc_next(g, &v), YC_YIELD);           /* the owner again, now CAS */
        CHECK_INTV(v, 2);
        CHECK_ST(yc_gen_free(g), YC_OK);
        made++;
    }
    CHECK_EQ_INT(made, 64); /* BIAS_REVOCATIONS in src/gen.c */
    CHECK_EQ_INT(yc__bias_kind(), 2);
    yc__bias_force(0);
    CHECK_EQ_INT(yc__bias_kind(), 1);
}

/* YC_NO_BIAS=1 in the environment: no bias (the library reads it when it
 * finds out whether to bias, once per process, or again after
 * yc__bias_force(0)). */
TEST(threads_no_bias_env)
{
    if (!strstr(yc_config(), "claim=biased")) { /* no fast path or no membarrier here */
        CHECK_EQ_INT(yc__bias_kind(), 2);
        return;
    }
    setenv("YC_NO_BIAS", "1", 1);
    yc__bias_force(0);
    CHECK_EQ_INT(yc__bias_kind(), 2);
    yc_gen *g = yc_gen_new(bias_body, &(bias_race){.delay = 0}, NULL);
    yc_val v;
    CHECK_ST(yc_next(g, &v), YC_YIELD); /* the fast path's compare-and-swap */
    CHECK_ST(yc_gen_free(g), YC_OK);
    setenv("YC_NO_BIAS", "0", 1); /* 0 means no */
    yc__bias_force(0);
    CHECK_EQ_INT(yc__bias_kind(), 1);
    unsetenv("YC_NO_BIAS");
    yc__bias_force(0);
    CHECK_EQ_INT(yc__bias_kind(), 1);
}

/* ---------------------------------------------------------------------
 * Stacks carved by one thread, freed by another (docs/design.md,
 * "Stacks"): the freeing thread gives the stack's memory back and counts
 * it off its chunk; the owner keeps carving from the same chunks
 * meanwhile; whoever frees the last stack of a chunk its owner no longer
 * holds (full, or the owner exited) unmaps it. TSan checks the handoffs.
 * ------------------------------------------------------------------- */

static yc_val counter_body(void *arg)
{
    int64_t k = (int64_t)(intptr_t)arg;
    for (;;) yc_yield(yc_int(k++));
    return YC_NONE;
}

static yc_gen *small_gen(int64_t start)
{
    return yc_gen_new(counter_body, (void *)(intptr_t)start,
                      &(yc_gen_opts){.name = "small", .stack_size = 16 * 1024});
}

enum { HAND_ROUNDS = 20, HAND_K = 50 };

typedef struct gen_queue {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    yc_gen *q[HAND_ROUNDS * HAND_K];
    int head, tail;
    bool producer_done;
} gen_queue;

/* Makes generators for the consumer, and frees as many of its own in the
 * same chunks meanwhile; exits with some of its chunks' stacks still in
 * the consumer's hands. */
static void *hand_producer(void *arg)
{
    gen_queue *h = arg;
    for (int r = 0; r < HAND_ROUNDS; r++) {
        yc_gen *mine[HAND_K];
        for (int i = 0; i < HAND_K; i++) {
            yc_gen *g = small_gen(r * 1000 + i);
            mine[i] = small_gen(-1);
            TCHECK(g && mine[i]);
            if (!g || !mine[i]) return NULL;
            TCHECK_EQ(yc_next(g, NULL), YC_YIELD);
            TCHECK_EQ(yc_next(mine[i], NULL), YC_YIELD);
            pthread_mutex_lock(&h->mu);
            h->q[h->tail++] = g;
            pthread_cond_signal(&h->cv);
            pthread_mutex_unlock(&h->mu);
        }
        for (int i = 0; i < HAND_K; i++) TCHECK_EQ(yc_gen_free(mine[i]), YC_OK);
    }
    pthread_mutex_lock(&h->mu);
    h->producer_done = true;
    pthread_cond_signal(&h->cv);
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

static void *hand_consumer(void *arg)
{
    gen_queue *h = arg;
    for (;;) {
        pthread_mutex_lock(&h->mu);
        while (h->head == h->tail && !h->producer_done) pthread_cond_wait(&h->cv, &h->mu);
        if (h->head == h->tail) {
            pthread_mutex_unlock(&h->mu);
            return NULL;
        }
        yc_gen *g = h->q[h->head++];
        pthread_mutex_unlock(&h->mu);
        yc_val v;
        TCHECK_EQ(yc_next(g, &v), YC_YIELD); /* the body moves here */
        TCHECK(v.i % 1000 <= HAND_K); /* its second value */
        TCHECK_EQ(yc_gen_free(g), YC_OK);
    }
}

TEST(threads_chunk_stacks_freed_by_another_thread)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    gen_queue *h = calloc(1, sizeof *h);
    CHECK(h != NULL);
    if (!h) return;
    pthread_mutex_init(&h->mu, NULL);
    pthread_cond_init(&h->cv, NULL);
    pthread_t c = spawn(hand_consumer, h), p = spawn(hand_producer, h);
    pthread_join(p, NULL);
    pthread_join(c, NULL);
    CHECK_EQ_INT(h->head, HAND_ROUNDS * HAND_K);
    yc_stats s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(s.stack_chunks, base.stack_chunks); /* every chunk unmapped by someone */
    CHECK_EQ_INT(s.stacks_pooled, 0);
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
    free(h);
}

typedef struct free_range {
    yc_gen **gs;
    int from, to;
} free_range;

static void *free_range_fn(void *arg)
{
    free_range *r = arg;
    for (int i = r->from; i < r->to; i++) TCHECK_EQ(yc_gen_free(r->gs[i]), YC_OK);
    return NULL;
}

/* The three endings of a chunk whose stacks another thread frees: freed
 * there entirely while full (that thread unmaps it); half freed there,
 * then its owner frees one (taking the chunk back, with the right count
 * of stacks in use) and the rest; freed there entirely while the owner
 * holds it (the owner's trim unmaps it). And the last free's munmap
 * failing: the chunk waits on that thread's stranded list, retried when it
 * exits. */
TEST(threads_chunk_endings)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *gs[64];
    /* full, all freed elsewhere */
    for (int i = 0; i < 64; i++) gs[i] = small_gen(i);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 1);
    pthread_join(spawn(free_range_fn, &(free_range){gs, 0, 64}), NULL);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks);
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(stats().generators, base.generators);

    /* full, half freed elsewhere, then the owner frees, reuses and frees */
    for (int i = 0; i < 64; i++) gs[i] = small_gen(i);
    pthread_join(spawn(free_range_fn, &(free_range){gs, 0, 32}), NULL);
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped + 32);
    CHECK_ST(yc_gen_free(gs[40]), YC_OK); /* takes the chunk back */
    CHECK_EQ_INT(stats().stacks_pooled, 1);
    gs[40] = small_gen(40); /* the same slot: the only free one kept */
    CHECK_EQ_INT(stats().stacks_pooled, 0);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 1);
    yc_val v;
    CHECK_ST(yc_next(gs[40], &v), YC_YIELD);
    CHECK_INTV(v, 40);
    for (int i = 32; i < 64; i++) CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 1); /* idle, kept */
    CHECK_EQ_INT(stats().stacks_pooled, 32);
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped + 32);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks);
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);

    /* held (free slots left), all its stacks freed elsewhere */
    for (int i = 0; i < 10; i++) gs[i] = small_gen(i);
    pthread_join(spawn(free_range_fn, &(free_range){gs, 0, 10}), NULL);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks + 1);
    yc_stack_pool_trim();
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks);

    /* the last free's munmap fails */
    for (int i = 0; i < 64; i++) gs[i] = small_gen(i);
    yc__fault_unmap_after(1);
    pthread_join(spawn(free_range_fn, &(free_range){gs, 0, 64}), NULL);
    yc__fault_unmap_after(0);
    CHECK_EQ_INT(stats().stack_chunks, base.stack_chunks); /* the thread's exit unmapped it */
    CHECK_EQ_INT(stats().stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(stats().generators, base.generators);
}

/* A thread that exits with stacks of its chunks still in use leaves each
 * chunk to them: here they are freed on the main thread afterwards. */
static void *make_chunkful(void *arg)
{
    yc_gen **gs = arg;
    for (int i = 0; i < 100; i++) {
        gs[i] = small_gen(i);
        TCHECK(gs[i] != NULL);
        TCHECK_EQ(yc_next(gs[i], NULL), YC_YIELD);
    }
    yc_gen *tmp = small_gen(0); /* a free stack of its own at exit */
    TCHECK_EQ(yc_gen_free(tmp), YC_OK);
    return NULL;
}

TEST(threads_chunks_outlive_their_thread)
{
    yc_stack_pool_trim();
    yc_stats base = stats();
    yc_gen *gs[100];
    pthread_join(spawn(make_chunkful, gs), NULL);
    yc_stats s = stats();
    CHECK_EQ_INT(s.generators, base.generators + 100);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped + 100);
    CHECK_EQ_INT(s.stack_chunks, base.stack_chunks + 2);
    for (int i = 0; i < 100; i++) {
        yc_val v;
        CHECK_ST(yc_next(gs[i], &v), YC_YIELD);
        CHECK_INTV(v, i + 1);
        CHECK_ST(yc_gen_free(gs[i]), YC_OK);
    }
    s = stats();
    CHECK_EQ_INT(s.generators, base.generators);
    CHECK_EQ_INT(s.stacks_mapped, base.stacks_mapped);
    CHECK_EQ_INT(s.stack_chunks, base.stack_chunks);
    CHECK_EQ_INT(s.stacks_pooled, 0);
}

TEST_MAIN()
