/*
 * The loop's thread pool (asyncio's default executor) and to_thread.
 *
 * Work is a job: a heap block that a pool thread runs (job->work) and
 * posts back to the loop through the thread-safe call path, its node
 * preallocated in the job so that a pool thread never allocates. On the
 * loop's thread the posted node completes the job's future, which the
 * awaiting task parks on. A job has two references, both taken and
 * dropped on the loop's thread: the awaiting task's and the posted
 * node's; the last one frees it, first handing a result nobody received
 * to job->discard.
 *
 * Cancellation. By default the job's future refuses to be cancelled, so a
 * cancelled task only records the request (asyncio's must_cancel) and
 * stays parked until the work is done: then it wakes with CancelledError,
 * never while a pool thread may still use its stack. Detached jobs let the
 * future be cancelled at once.
 *
 * Threads start lazily (one more whenever a job is queued and no thread
 * is idle, up to the maximum), run with every signal blocked (signals go
 * to the program's own threads), and live until the loop closes: the
 * close hook lets them finish every queued job, joins them, and the
 * completions then sit in the loop's thread-safe queue, where closing
 * drops them (discarding their results).
 */
#define _GNU_SOURCE
#include "threadpool.h"
#include "task.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define POOL_MAX_LIMIT 1024

typedef struct yc__pool yc__pool;
struct yc__pool {
    yc__close_hook hook; /* first: the close hook is the pool */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    yc__job *head, **tail; /* queued jobs (under mu)                  */
    size_t queued, idle;   /* under mu                                 */
    bool closing;          /* under mu                                 */
    size_t nthreads, max;  /* the loop's thread only                   */
    pthread_t *threads;    /* nthreads of them                         */
};

static size_t default_max(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    return n + 4 < 32 ? (size_t)n + 4 : 32;
}

static void pool_close(yc_loop *L, yc__close_hook *h);

/* L's pool, made on first use (no thread yet); NULL with MemoryError. */
static yc__pool *pool_of(yc_loop *L)
{
    if (L->pool) return L->pool;
    yc__pool *p = yc__malloc(sizeof *p);
    if (!p) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->tail = &p->head;
    p->max = default_max();
    p->hook.fn = pool_close;
    yc__loop_add_close_hook(L, &p->hook);
    L->pool = p;
    return p;
}

/* ---- pool threads --------------------------------------------------- */

static void *worker(void *arg)
{
    yc__pool *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->closing) {
            p->idle++;
            pthread_cond_wait(&p->cv, &p->mu);
            p->idle--;
        }
        yc__job *j = p->head;
        if (!j) break; /* closing, and nothing left to run */
        p->head = j->qnext;
        if (!p->head) p->tail = &p->head;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        j->work(j);
        /* Idle from here: a job submitted when the loop sees this one done
         * must not start another thread. */
        pthread_mutex_lock(&p->mu);
        p->idle++;
        pthread_mutex_unlock(&p->mu);
        yc__loop_post(j->loop, &j->node); /* j is the loop's from here */
        pthread_mutex_lock(&p->mu);
        p->idle--;
    }
    pthread_mutex_unlock(&p->mu);
    yc_stack_pool_trim(); /* stacks of generators the work made here */
    return NULL;
}

/* Starts one thread with every signal blocked; YC_OK or the errno. */
static int start_thread(yc__pool *p)
{
    pthread_t *ts = yc__realloc(p->threads, (p->nthreads + 1) * sizeof *ts);
    if (!ts) return ENOMEM;
    p->threads = ts;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int err = pthread_create(&ts[p->nthreads], NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err == 0) p->nthreads++;
    return err;
}

/* Queues j on L's pool, starting a thread when none is idle. YC_OK, or
 * negative with MemoryError / RuntimeError "can't start new thread" (no
 * thread runs and none could start) and j not queued. */
static int pool_submit(yc_loop *L, yc__job *j)
{
    yc__pool *p = pool_of(L);
    if (!p) return YC_ENOMEM;
    j->qnext = NULL;
    pthread_mutex_lock(&p->mu);
    *p->tail = j;
    p->tail = &j->qnext;
    p->queued++;
    bool more = p->queued > p->idle && p->nthreads < p->max;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (!more) return YC_OK;
    int err = start_thread(p);
    if (err == 0 || p->nthreads > 0) return YC_OK; /* a running thread takes it */
    pthread_mutex_lock(&p->mu); /* no thread at all: take j back */
    yc__job **pp = &p->head;
    while (*pp != j) pp = &(*pp)->qnext;
    *pp = j->qnext;
    if (!*pp) p->tail = pp;
    p->queued--;
    pthread_mutex_unlock(&p->mu);
    if (err == ENOMEM) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    return yc__fail(YC_RAISE, &yc_RuntimeError, "can't start new thread");
}

/* The close hook: every queued job runs, the threads end and are joined.
 * Their completions are then in the loop's thread-safe queue. */
static void pool_close(yc_loop *L, yc__close_hook *h)
{
    yc__pool *p = (yc__pool *)h;
    pthread_mutex_lock(&p->mu);
    p->closing = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (size_t i = 0; i < p->nthreads; i++) pthread_join(p->threads[i], NULL);
    yc__free(p->threads);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    yc__free(p);
    L->pool = NULL;
}

int yc_loop_set_max_threads(yc_loop *L, size_t n)
{
    if (!L) return yc__fail(YC_EINVAL, &yc_TypeError, "loop is NULL");
    if (!yc__loop_ok(L)) return yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop");
    if (L->state == LOOP_CLOSED) return yc__loop_closed_error();
    if (n == 0) return yc__fail(YC_EINVAL, &yc_ValueError, "max_workers must be greater than 0");
    if (n > POOL_MAX_LIMIT)
        return yc__fail(YC_EINVAL, &yc_ValueError, "max_workers %zu is above %d", n,
                        POOL_MAX_LIMIT);
    yc__pool *p = pool_of(L);
    if (!p) return YC_ENOMEM;
    p->max = n;
    return YC_OK;
}

size_t yc_loop_thread_count(const yc_loop *L)
{
    return yc__loop_ok(L) && L->pool ? L->pool->nthreads : 0;
}

/* ---- jobs ----------------------------------------------------------- */

void yc__job_release(yc__job *j)
{
    if (--j->refs > 0) return;
    if (j->done && !j->received && j->discard) j->discard(j);
    yc_task_unref(j->fut);
    yc__free(j);
}

/* The posted node, on the loop's thread: the work is done. */
static void job_posted(yc__handle *h)
{
    yc__job *j = (yc__job *)h;
    j->done = true;
    j->loop->outside--;
    if (j->fut->state == FUT_PENDING) yc__fut_set_result(j->fut, YC_NONE);
    yc__job_release(j);
}

/* The loop closed before the posted node ran (its waiter is gone): the
 * future is left as it is, since nothing may be scheduled any more. */
static void job_dropped(yc__handle *h)
{
    yc__job *j = (yc__job *)h;
    j->done = true;
    j->loop->outside--;
    yc__job_release(j);
}

/* The job's future refuses cancellation: the task keeps waiting with the
 * request recorded (Task.cancel's must_cancel) until the work is done. */
static bool refuse_cancel(yc_task *f, yc__msg *msg)
{
    (void)f;
    (void)msg;
    return false;
}

int yc__job_run(yc_task *t, yc__job *j, bool detach)
{
    yc_loop *L = t->loop;
    j->refs = 1;
    j->loop = L;
    j->node.h.run = job_posted;
    j->node.h.drop = job_dropped;
    j->fut = yc__fut_new(L);
    if (!j->fut) return YC_ENOMEM;
    static const yc__fut_ops refuse_ops = {.on_cancel = refuse_cancel};
    if (!detach) j->fut->ops = &refuse_ops;
    int st = pool_submit(L, j);
    if (st < 0) return st;
    j->refs++; /* the posted node's */
    L->outside++;
    return yc__task_await(t, j->fut, NULL);
}

/* ---- to_thread ------------------------------------------------------ */

typedef struct tt_job {
    yc__job job; /* first */
    yc_thread_fn fn;
    void *arg;
    void (*discard)(yc_val v, void *arg);
    yc_val result;
    yc_exc *exc; /* what fn raised (made on the pool thread, ours after) */
} tt_job;

static void tt_work(yc__job *job)
{
    tt_job *j = (tt_job *)job;
    YC_TRY {
        j->result = j->fn(j->arg);
    } YC_EXCEPT_ANY {
        j->exc = yc_exc_ref(yc_exc_current());
    } YC_END;
}

static void tt_discard(yc__job *job)
{
    tt_job *j = (tt_job *)job;
    if (j->exc) {
        yc_exc_unref(j->exc);
        return;
    }
    if (!j->discard) return;
    YC_TRY {
        j->discard(j->result, j->arg);
    } YC_EXCEPT_ANY {
        yc__loop_report(yc_exc_current(), "Exception in the discard function of yc_to_thread");
    } YC_END;
}

void yc__job_raise(const char *file, int line)
{
    yc__coro *co = yc__cur();
    yc__raise_in(co, yc__err_take_failed(co), file, line, NULL);
}

yc_task *yc__job_task(const char *what, const char *file, int line)
{
    yc_task *t = yc__task_running(what);
    if (!t) yc__job_raise(file, line);
    return t;
}

void *yc__job_new(size_t size, void (*work)(yc__job *j), void (*discard)(yc__job *j))
{
    yc__job *j = yc__malloc(size);
    if (!j) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(j, 0, size);
    j->work = work;
    j->discard = discard;
    return j;
}

yc_val yc__to_thread(yc_thread_fn fn, void *arg, const yc_thread_opts *opts, const char *file,
                     int line)
{
    yc_task *t = yc__job_task("yc_to_thread()", file, line);
    unsigned flags = opts ? opts->flags : 0;
    if (!fn) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_to_thread: function is NULL");
        yc__job_raise(file, line);
    }
    if (flags & ~YC_THREAD_DETACH) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_thread_opts: unknown flags 0x%x", flags);
        yc__job_raise(file, line);
    }
    tt_job *j = yc__job_new(sizeof *j, tt_work, tt_discard);
    if (!j) yc__job_raise(file, line);
    j->fn = fn;
    j->arg = arg;
    j->discard = opts ? opts->discard : NULL;
    int st = yc__job_run(t, &j->job, flags & YC_THREAD_DETACH);
    yc_val v = YC_NONE;
    if (st == YC_OK) {
        j->job.received = true;
        if (j->exc) {
            yc__err_set(yc__cur(), j->exc);
            j->exc = NULL;
            st = YC_RAISE;
        } else {
            v = j->result;
        }
    }
    yc__job_release(&j->job);
    if (st < 0) yc__job_raise(file, line);
    return v;
}
