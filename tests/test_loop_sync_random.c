/* Random programs over queues and locks, compared with CPython 3.13's
 * traces (tests/loop_sync_random.h, made by tests/loop_sync_oracle.py
 * --c-header N). Each seed draws, with the same generator as the oracle,
 * 2-4 tasks doing lock, semaphore, queue, event, condition and barrier
 * steps while the main task yields, cancels tasks, sets the event and puts
 * items; at the end every task is cancelled (at whatever suspension point
 * it is) and the objects' reprs are traced. The trace must be CPython's,
 * token for token: the same wakeups in the same iterations, the same
 * grants passed on by cancelled waiters, the same final states. */
#include "loop_sync_util.h"

#include "loop_sync_random.h"

#define NSEEDS (sizeof sync_random_expected / sizeof sync_random_expected[0])

/* ---- the program generator (loop_sync_oracle.py's make_program) --------- */

typedef struct rng {
    uint64_t x;
} rng;

static unsigned draw(rng *r, unsigned n)
{
    r->x = r->x * 6364136223846793005u + 1442695040888963407u;
    return (unsigned)((r->x >> 33) % n);
}

typedef struct step {
    char op;
    int arg;
} step;

typedef struct program {
    int ntasks;
    int nsteps[4];
    step steps[4][8];
    int nacts;
    int act[10], act_arg[10];
} program;

static const char ops[] = "yLSpgnwECB";

static void make_program(uint64_t seed, program *p)
{
    rng r = {seed * 2654435761u + 1};
    p->ntasks = 2 + (int)draw(&r, 3);
    for (int i = 0; i < p->ntasks; i++) {
        p->nsteps[i] = 2 + (int)draw(&r, 6);
        for (int k = 0; k < p->nsteps[i]; k++) {
            char op = ops[draw(&r, sizeof ops - 1)];
            int arg = 0;
            if (op == 'p' || op == 'n') arg = 10 * i + k;
            else if (op == 'E' || op == 'C') arg = (int)draw(&r, 2);
            p->steps[i][k] = (step){op, arg};
        }
    }
    p->nacts = 3 + (int)draw(&r, 7);
    for (int k = 0; k < p->nacts; k++) {
        p->act[k] = (int)draw(&r, 4);
        p->act_arg[k] = p->act[k] == 1 ? (int)draw(&r, (unsigned)p->ntasks) : 0;
    }
}

/* ---- running it ------------------------------------------------------------ */

static program P;
static yc_lock *lk;
static yc_semaphore *sem;
static yc_queue *q;
static yc_event *ev;
static yc_condition *cv;
static yc_barrier *bar;

static void run_step(int i, const step *s)
{
    switch (s->op) {
    case 'y':
        yc_sleep(0);
        tr("%dy", i);
        break;
    case 'L':
        YC_WITH(yc_cm_lock(lk), _) {
            tr("%dL", i);
            yc_sleep(0);
        } YC_END_WITH;
        break;
    case 'S':
        YC_WITH(yc_cm_semaphore(sem), _) {
            tr("%dS", i);
            yc_sleep(0);
        } YC_END_WITH;
        break;
    case 'p':
        yc_queue_put(q, yc_int(s->arg));
        tr("%dp%d", i, s->arg);
        break;
    case 'g':
        tr("%dg%" PRId64, i, yc_queue_get(q).i);
        break;
    case 'n':
        if (yc_queue_put_nowait(q, yc_int(s->arg)) == YC_OK) {
            tr("%dn%d", i, s->arg);
        } else {
            CHECK_EXC(&yc_QueueFull, NULL);
            tr("%dnF", i);
        }
        break;
    case 'w':
        yc_event_wait(ev);
        tr("%dw", i);
        break;
    case 'E':
        CHECK_ST(s->arg ? yc_event_set(ev) : yc_event_clear(ev), YC_OK);
        tr("%dE%d", i, s->arg);
        break;
    case 'C':
        YC_WITH(yc_cm_condition(cv), _) {
            if (s->arg) {
                CHECK_ST(yc_condition_notify(cv, 1), YC_OK);
                tr("%dCn", i);
            } else {
                yc_condition_wait(cv);
                tr("%dCw", i);
            }
        } YC_END_WITH;
        break;
    default:
        tr("%dB%ld", i, yc_barrier_wait(bar));
        break;
    }
}

static yc_val program_task(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        for (int k = 0; k < P.nsteps[i]; k++) run_step(i, &P.steps[i][k]);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("%dx", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static void tr_tail(int (*fmt)(const void *, char *, size_t), const void *obj)
{
    char buf[512];
    fmt(obj, buf, sizeof buf);
    const char *t = strstr(buf, " [");
    if (t) t += 2;
    else
        for (int k = 0, sp = 0; buf[k]; k++)
            if (buf[k] == ' ' && ++sp == 3) {
                t = buf + k + 1;
                break;
            }
    tr("[%s", t ? t : buf);
}

static int fmt_lock(const void *o, char *b, size_t n) { return yc_lock_format(o, b, n); }
static int fmt_sem(const void *o, char *b, size_t n) { return yc_semaphore_format(o, b, n); }
static int fmt_queue(const void *o, char *b, size_t n) { return yc_queue_format(o, b, n); }
static int fmt_event(const void *o, char *b, size_t n) { return yc_event_format(o, b, n); }
static int fmt_cond(const void *o, char *b, size_t n) { return yc_condition_format(o, b, n); }
static int fmt_barrier(const void *o, char *b, size_t n) { return yc_barrier_format(o, b, n); }

static yc_val program_main(void *arg)
{
    (void)arg;
    yc_task *ts[4];
    for (int i = 0; i < P.ntasks; i++) ts[i] = spawn(program_task, IARG(i));
    for (int k = 0; k < P.nacts; k++) {
        int a = P.act[k], j = P.act_arg[k];
        if (a == 0) {
            yc_sleep(0);
            tr("|");
        } else if (a == 1) {
            tr("m~%d%d", j, yc_task_cancel(ts[j], NULL));
        } else if (a == 2) {
            CHECK_ST(yc_event_set(ev), YC_OK);
            tr("mE");
        } else if (yc_queue_put_nowait(q, yc_int(100 + k)) == YC_OK) {
            tr("mn%d", 100 + k);
        } else {
            CHECK_EXC(&yc_QueueFull, NULL);
            tr("mnF");
        }
    }
    for (int k = 0; k < 3; k++) {
        yc_sleep(0);
        tr("|");
    }
    for (int i = 0; i < P.ntasks; i++) yc_task_cancel(ts[i], NULL);
    gather_unref(ts, (size_t)P.ntasks);
    tr_tail(fmt_lock, lk);
    tr_tail(fmt_sem, sem);
    tr_tail(fmt_queue, q);
    tr_tail(fmt_event, ev);
    tr_tail(fmt_cond, cv);
    tr_tail(fmt_barrier, bar);
    return YC_NONE;
}

static void run_seed(uint64_t seed)
{
    make_program(seed, &P);
    lk = yc_lock_new();
    sem = yc_semaphore_new(2, true);
    q = yc_queue_new(2, YC_QUEUE_FIFO);
    ev = yc_event_new();
    cv = yc_condition_new(NULL);
    bar = yc_barrier_new(2);
    run_main(program_main, NULL);
    CHECK_ST(yc_lock_free(lk), YC_OK);
    CHECK_ST(yc_semaphore_free(sem), YC_OK);
    CHECK_ST(yc_queue_free(q), YC_OK);
    CHECK_ST(yc_event_free(ev), YC_OK);
    CHECK_ST(yc_condition_free(cv), YC_OK);
    CHECK_ST(yc_barrier_free(bar), YC_OK);
}

TEST(random_programs_trace_as_cpython)
{
    int diverged = 0;
    for (size_t s = 0; s < NSEEDS; s++) {
        run_seed(s + 1);
        if (strcmp(trace, sync_random_expected[s]) != 0 && diverged++ < 3)
            test_fail(__FILE__, __LINE__, "seed %zu:\n    got  %s\n    want %s", s + 1, trace,
                      sync_random_expected[s]);
    }
    CHECK_EQ_INT(diverged, 0);
    CHECK(NSEEDS >= 100);
}

TEST_MAIN()
