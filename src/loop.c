/*
 * The event loop: its clock (monotonic or virtual), the timer heap, the
 * ready queue of callbacks, thread-safe calls through an eventfd, and the
 * run/stop/close life cycle with asyncio's errors. One loop runs per
 * thread at a time.
 *
 * An iteration is asyncio's _run_once: wait for the next deadline (no wait
 * when callbacks are ready; the virtual clock jumps instead of waiting),
 * move the timers that are due to the ready queue in deadline order, then
 * run exactly the callbacks that were ready at that point: what they
 * schedule waits for the next iteration.
 */
#define _GNU_SOURCE
#include "loop.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

__thread yc_loop *yc__running_loop __attribute__((tls_model("initial-exec")));
#define running_loop yc__running_loop

static void retain_end(yc_loop *L);
static _Atomic uint64_t loop_ids;


yc_loop *yc__loop_set_running(yc_loop *L)
{
    yc_loop *prev = running_loop;
    running_loop = L;
    return prev;
}
yc_loop *yc_loop_current(void) { return running_loop; }

bool yc__loop_ok(const yc_loop *L) { return L && L->magic == YC__LOOP_MAGIC; }

static int bad_loop(const yc_loop *L)
{
    if (!L) return yc__fail(YC_EINVAL, &yc_TypeError, "loop is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live event loop (freed or corrupted)");
}

int yc__loop_closed_error(void)
{
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "Event loop is closed");
}

int yc__no_loop_error(void)
{
    return yc__fail(YC_EINVAL, &yc_RuntimeError, "no running event loop");
}

/* ---- time ----------------------------------------------------------- */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t yc__loop_now(const yc_loop *L)
{
    return L->clock == YC_CLOCK_VIRTUAL ? L->vnow : mono_ns();
}

/* Deadlines beyond about 292 years saturate: they never come. */
int64_t yc__secs_ns(double s)
{
    if (s >= 9.2e9) return INT64_MAX;
    if (s <= -9.2e9) return INT64_MIN / 2;
    double ns = s * 1e9;
    return (int64_t)(ns < 0 ? ns - 0.5 : ns + 0.5); /* rounded: no libm */
}

double yc__ns_secs(int64_t ns) { return ns == INT64_MAX ? INFINITY : (double)ns / 1e9; }

double yc_loop_time(const yc_loop *L)
{
    if (!L) L = running_loop;
    if (!yc__loop_ok(L)) return (double)mono_ns() / 1e9;
    return yc__ns_secs(yc__loop_now(L));
}

bool yc_loop_is_running(const yc_loop *L) { return yc__loop_ok(L) && L->state == LOOP_RUNNING; }
bool yc_loop_is_closed(const yc_loop *L) { return yc__loop_ok(L) && L->state == LOOP_CLOSED; }

/* ---- the timer heap ------------------------------------------------- *
 * A binary min-heap of (when, seq), the key kept in the entry beside its
 * timer, each timer knowing its index. Stopping a timer is lazy, as
 * asyncio's cancelled-timer count is: its entry stays in place, key and
 * all, with its timer pointer cleared (a dead entry), so that stopping is
 * O(1) and touches neither the heap's other entries nor their timers (a
 * real removal sifts through log n of them, a cache miss each when there
 * are a million; and sleepers cancelled in the order they sleep stop the
 * top each time). Two rules keep dead entries cheap:
 *   - the loop prunes dead entries off the top before it reads heap[0]
 *     (heap_top_live, in run_once), and firing the top prunes the dead
 *     ones that come up after it;
 *   - when more than half of the entries are dead, the heap is rebuilt
 *     from its live entries in O(n) (heap_compact), so dead entries cost
 *     at most as much memory as live ones and O(1) amortised time each.
 * A dead entry's timer may be freed or started again at once: nothing
 * reads a dead entry's timer. */

static bool earlier(const yc__heap_entry *a, const yc__heap_entry *b)
{
    return a->when < b->when || (a->when == b->when && a->seq < b->seq);
}

static void heap_set(yc_loop *L, size_t i, yc__heap_entry e)
{
    L->heap[i] = e;
    if (e.t) e.t->idx = i;
}

static void sift_up(yc_loop *L, size_t i)
{
    yc__heap_entry e = L->heap[i];
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!earlier(&e, &L->heap[p])) break;
        heap_set(L, i, L->heap[p]);
        i = p;
    }
    heap_set(L, i, e);
}

static void sift_down(yc_loop *L, size_t i)
{
    yc__heap_entry e = L->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= L->nheap) break;
        if (c + 1 < L->nheap && earlier(&L->heap[c + 1], &L->heap[c])) c++;
        if (!earlier(&L->heap[c], &e)) break;
        heap_set(L, i, L->heap[c]);
        i = c;
    }
    heap_set(L, i, e);
}

/* Takes entry i (live or dead) out of the heap for good. */
static void heap_delete_at(yc_loop *L, size_t i)
{
    yc__heap_entry last = L->heap[--L->nheap];
    if (i == L->nheap) return;
    heap_set(L, i, last);
    if (i > 0 && earlier(&last, &L->heap[(i - 1) / 2])) sift_up(L, i);
    else sift_down(L, i);
}

/* Rebuilds the heap from its live entries (Floyd's bottom-up heapify). */
static void heap_compact(yc_loop *L)
{
    size_t n = 0;
    for (size_t i = 0; i < L->nheap; i++)
        if (L->heap[i].t) L->heap[n++] = L->heap[i];
    L->nheap = n;
    L->ndead = 0;
    for (size_t i = n; i-- > 0;) {
        if (2 * i + 1 < n) sift_down(L, i);
        else L->heap[i].t->idx = i;
    }
}

/* Takes the dead entries off the top. */
static void heap_prune(yc_loop *L)
{
    while (L->nheap && !L->heap[0].t) {
        heap_delete_at(L, 0);
        L->ndead--;
    }
}

/* Before heap[0] is read. */
static inline void heap_top_live(yc_loop *L)
{
    if (YC_UNLIKELY(L->nheap && !L->heap[0].t)) heap_prune(L);
}

/* Stops t (in the heap): its entry is left dead. */
static void heap_remove(yc_loop *L, yc__timer *t)
{
    L->heap[t->idx].t = NULL;
    t->idx = SIZE_MAX;
    if (++L->ndead > L->nheap / 2) heap_compact(L);
}

/* Fires the top timer (live): out of the heap, with the dead entries that
 * come up after it. */
static yc__timer *heap_pop(yc_loop *L)
{
    yc__timer *t = L->heap[0].t;
    t->idx = SIZE_MAX;
    heap_delete_at(L, 0);
    heap_prune(L);
    return t;
}

/* Reserves room for one more timer: false when out of memory. Callers
 * reserve before they change anything. */
static bool heap_reserve(yc_loop *L)
{
    if (L->nheap < L->capheap) return true;
    size_t cap = L->capheap ? 2 * L->capheap : 64;
    yc__heap_entry *h = yc__realloc(L->heap, cap * sizeof *h);
    if (!h) return false;
    L->heap = h;
    L->capheap = cap;
    return true;
}

bool yc__timer_reserve(yc_loop *L) { return heap_reserve(L); }

/* Starts t; the heap must have room (heap_reserve), which internal timers
 * guarantee by reserving when their owner is made. */
void yc__timer_start(yc_loop *L, yc__timer *t, int64_t when)
{
    t->when = when;
    t->seq = L->seq++;
    t->h.cancelled = false;
    t->idx = L->nheap++;
    L->heap[t->idx] = (yc__heap_entry){when, t->seq, t};
    sift_up(L, t->idx);
}

void yc__timer_stop(yc_loop *L, yc__timer *t)
{
    if (t->idx != SIZE_MAX) heap_remove(L, t);
    t->h.cancelled = true; /* skipped if already in the ready queue */
}

/* ---- the ready queue ------------------------------------------------ */

/* ---- user callbacks (yc_handle) -------------------------------------- */

#define HANDLE_MAGIC 0x7963486eu /* "ycHn" */

struct yc_handle {
    yc__timer t;        /* first: the ready queue and the heap see this   */
    uint32_t magic;
    int refs;           /* the loop's (while scheduled) + the caller's    */
    bool timed;
    yc_loop *loop;
    yc_callback_fn fn;
    void *arg;
};

static void handle_release(yc_handle *h)
{
    if (--h->refs == 0) {
        h->magic = 0;
        yc__free(h);
    }
}

/* Runs fn(arg) as asyncio runs a callback: an exception escaping it is
 * reported and the loop goes on, except SystemExit and KeyboardInterrupt,
 * which stop the loop and come out of its run call. */
static void call_user(yc_loop *L, yc_callback_fn fn, void *arg)
{
    YC_TRY {
        fn(arg);
    } YC_EXCEPT_ANY {
        yc_exc *e = yc_exc_current();
        if (yc_exc_is(e, &yc_SystemExit) || yc_exc_is(e, &yc_KeyboardInterrupt)) {
            if (!L->base_exc) L->base_exc = yc_exc_ref(e);
            L->stopping = true;
        } else {
            char text[160];
            snprintf(text, sizeof text, "Exception in callback %p(%p)", (void *)(uintptr_t)fn, arg);
            yc__loop_report(e, text);
        }
    } YC_END;
}

void yc__loop_call_user(yc_loop *L, yc_callback_fn fn, void *arg) { call_user(L, fn, arg); }

static void handle_drop(yc__handle *node) { handle_release((yc_handle *)node); }

static void handle_run(yc__handle *node)
{
    yc_handle *h = (yc_handle *)node;
    yc_loop *L = h->loop;
    h->t.h.cancelled = true; /* ran: a later cancel is a no-op */
    call_user(L, h->fn, h->arg);
    handle_release(h);
}

static int schedule(yc_loop *L, bool timed, int64_t when, yc_callback_fn fn, void *arg,
                    yc_handle **out)
{
    if (out) *out = NULL;
    if (!L) L = running_loop;
    if (!L) return yc__no_loop_error();
    if (!yc__loop_ok(L)) return bad_loop(L);
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "callback is NULL");
    if (L->state == LOOP_CLOSED) return yc__loop_closed_error();
    if (timed && !heap_reserve(L)) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    yc_handle *h = yc__malloc(sizeof *h);
    if (!h) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    memset(h, 0, sizeof *h);
    h->magic = HANDLE_MAGIC;
    h->t.h.run = handle_run;
    h->t.h.drop = handle_drop;
    h->t.idx = SIZE_MAX;
    h->timed = timed;
    h->loop = L;
    h->fn = fn;
    h->arg = arg;
    h->refs = out ? 2 : 1;
    if (timed) yc__timer_start(L, &h->t, when);
    else yc__loop_ready(L, &h->t.h);
    if (out) *out = h;
    return YC_OK;
}

int yc__call_at_ns(yc_loop *L, int64_t when, yc_callback_fn fn, void *arg, yc_handle **h)
{
    return schedule(L, true, when, fn, arg, h);
}

int yc_loop_call_soon(yc_loop *L, yc_callback_fn fn, void *arg, yc_handle **h)
{
    return schedule(L, false, 0, fn, arg, h);
}

static int bad_delay(void)
{
    return yc__fail(YC_EINVAL, &yc_ValueError, "Invalid delay: NaN (not a number)");
}

int yc_loop_call_later(yc_loop *L, double delay, yc_callback_fn fn, void *arg, yc_handle **h)
{
    if (isnan(delay)) {
        if (h) *h = NULL;
        return bad_delay();
    }
    yc_loop *l = L ? L : running_loop;
    int64_t now = yc__loop_ok(l) ? yc__loop_now(l) : 0;
    int64_t d = yc__secs_ns(delay);
    int64_t when = d == INT64_MAX ? INT64_MAX : now + d;
    return schedule(L, true, when, fn, arg, h);
}

int yc_loop_call_at(yc_loop *L, double when, yc_callback_fn fn, void *arg, yc_handle **h)
{
    if (isnan(when)) {
        if (h) *h = NULL;
        return bad_delay();
    }
    return schedule(L, true, yc__secs_ns(when), fn, arg, h);
}

static bool handle_ok(const yc_handle *h) { return h && h->magic == HANDLE_MAGIC; }

void yc_handle_cancel(yc_handle *h)
{
    if (!handle_ok(h) || h->t.h.cancelled) return;
    if (h->timed && h->t.idx != SIZE_MAX) {
        heap_remove(h->loop, &h->t);
        h->t.h.cancelled = true;
        handle_release(h); /* the loop's reference: it will never run */
        return;
    }
    h->t.h.cancelled = true; /* in the ready queue: released when popped */
}

bool yc_handle_cancelled(const yc_handle *h) { return handle_ok(h) && h->t.h.cancelled; }

double yc_handle_when(const yc_handle *h)
{
    return handle_ok(h) && h->timed ? yc__ns_secs(h->t.when) : NAN;
}

void yc_handle_free(yc_handle *h)
{
    if (handle_ok(h)) handle_release(h);
}

/* ---- thread-safe calls ---------------------------------------------- *
 * Another thread appends under the mutex, then writes the eventfd unless
 * a write is already pending (ts_signalled). The loop clears ts_signalled
 * before it takes the list, so a call appended after that writes again. */

int yc_loop_call_soon_threadsafe(yc_loop *L, yc_callback_fn fn, void *arg)
{
    if (!yc__loop_ok(L)) return bad_loop(L);
    if (!fn) return yc__fail(YC_EINVAL, &yc_TypeError, "callback is NULL");
    if (L->state == LOOP_CLOSED) return yc__loop_closed_error();
    yc__ts_call *c = yc__malloc(sizeof *c);
    if (!c) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    memset(c, 0, sizeof *c);
    c->fn = fn;
    c->arg = arg;
    yc__loop_post(L, c);
    return YC_OK;
}

void yc__loop_wake(yc_loop *L)
{
    if (atomic_exchange(&L->ts_signalled, 1) == 0) {
        int saved = errno; /* also called from signal handlers */
        uint64_t one = 1;
        ssize_t r;
        do r = write(L->efd, &one, sizeof one);
        while (r < 0 && errno == EINTR);
        errno = saved;
    }
}

void yc__loop_post(yc_loop *L, yc__ts_call *c)
{
    c->loop = L;
    c->h.next = NULL;
    pthread_mutex_lock(&L->ts_mu);
    *L->ts_tail = c;
    L->ts_tail = (yc__ts_call **)&c->h.next;
    pthread_mutex_unlock(&L->ts_mu);
    yc__loop_wake(L);
}

static bool ts_pending(yc_loop *L) { return atomic_load(&L->ts_signalled) != 0; }

static void ts_drop(yc__handle *node) { yc__free(node); }

static void ts_run(yc__handle *node)
{
    yc__ts_call *c = (yc__ts_call *)node;
    yc_loop *L = c->loop;
    yc_callback_fn fn = c->fn;
    void *arg = c->arg;
    yc__free(c);
    call_user(L, fn, arg);
}

/* Takes the list of thread-safe calls (the caller owns them). */
static yc__ts_call *ts_take(yc_loop *L)
{
    pthread_mutex_lock(&L->ts_mu);
    yc__ts_call *c = L->ts_head;
    L->ts_head = NULL;
    L->ts_tail = &L->ts_head;
    pthread_mutex_unlock(&L->ts_mu);
    return c;
}

/* Moves the thread-safe calls to the ready queue: each call's node is its
 * handle (the calling thread allocated all a call needs). */
static void ts_drain(yc_loop *L)
{
    uint64_t n;
    while (read(L->efd, &n, sizeof n) < 0 && errno == EINTR) {}
    atomic_store(&L->ts_signalled, 0);
    for (yc__ts_call *c = ts_take(L); c;) {
        yc__ts_call *next = (yc__ts_call *)c->h.next;
        if (!c->h.run) { /* a user's call (yc__loop_post's callers set their own) */
            c->h.run = ts_run;
            c->h.drop = ts_drop;
        }
        yc__loop_ready(L, &c->h);
        c = next;
    }
    if (L->on_wake) L->on_wake(L);
}

/* ---- block caches --------------------------------------------------- */

void *yc__cache_get(yc_loop *L, yc__cache *c, size_t size)
{
    if (!L) return yc__malloc(size);
    void *p = c->head;
    if (p) {
        c->head = *(void **)p;
        c->n--;
    } else if (!(p = yc__malloc(size))) {
        return NULL;
    }
    if (++c->out > c->peak) c->peak = c->out;
    return p;
}

void yc__cache_put(yc_loop *L, yc__cache *c, void *p)
{
    if (L) {
        c->out--;
        /* past YC__CACHE_MAX only while retain_review runs for L on this
         * thread: it gives back what the peak did not need (with tasks of
         * other stack sizes, or on another thread, nothing reviews) */
        if (c->n < YC__CACHE_MAX ||
            (L->stack_retain && L->retain_thread == &yc__T && c->n + c->out < c->peak)) {
            *(void **)p = c->head;
            c->head = p;
            c->n++;
            return;
        }
    }
    yc__free(p);
}

/* Frees cached blocks until at most `keep` are cached or in use. */
static void cache_trim(yc__cache *c, size_t keep)
{
    while (c->head && c->n + c->out > keep && c->n > YC__CACHE_MAX) {
        void *p = c->head;
        c->head = *(void **)p;
        c->n--;
        yc__free(p);
    }
}

/* The review of a cache: what the last window's peak did not need goes. */
static void cache_review(yc__cache *c)
{
    cache_trim(c, c->peak);
    c->peak = c->out;
}

static void cache_drain(yc__cache *c)
{
    while (c->head) {
        void *p = c->head;
        c->head = *(void **)p;
        yc__free(p);
    }
    c->n = 0;
}

/* ---- creation and destruction --------------------------------------- */

static int bad_opts(const yc_loop_opts *o)
{
    if (o->clock != YC_CLOCK_MONOTONIC && o->clock != YC_CLOCK_VIRTUAL)
        return yc__fail(YC_EINVAL, &yc_ValueError, "yc_loop_opts: unknown clock %u", o->clock);
    if (o->flags)
        return yc__fail(YC_EINVAL, &yc_ValueError, "yc_loop_opts: unknown flags 0x%x", o->flags);
    if (o->task_stack && (o->task_stack < YC_STACK_MIN || o->task_stack > ((size_t)1 << 40)))
        return yc__fail(YC_EINVAL, &yc_ValueError,
                        "yc_loop_opts: task_stack %zu is outside [%u, 2^40]", o->task_stack,
                        YC_STACK_MIN);
    return YC_OK;
}

/* Every loop not freed, newest first (yc__loop_each_idle), linked through
 * reg_prev and reg_next; loops_mu guards the list and each loop's changes
 * of state and thread. The forking thread holds loops_mu across a fork, so
 * that a child never starts with it locked by a thread it does not have. */
static pthread_mutex_t loops_mu = PTHREAD_MUTEX_INITIALIZER;
static yc_loop *loops;
static void loops_take(void) { pthread_mutex_lock(&loops_mu); }
static void loops_give(void) { pthread_mutex_unlock(&loops_mu); }
static void loops_atfork(void) { pthread_atfork(loops_take, loops_give, loops_give); }
static pthread_once_t loops_once = PTHREAD_ONCE_INIT;

/* Only the idle loops of this thread and this process: a loop another
 * thread made or ran last may be in use there between its runs (spawning,
 * unreferencing), and a forked child's copies share their epoll set and
 * ring with the parent's loops. */
void yc__loop_each_idle(void (*fn)(yc_loop *L, void *ud), void *ud)
{
    pid_t me = getpid();
    pthread_t self = pthread_self();
    pthread_mutex_lock(&loops_mu);
    for (yc_loop *L = loops; L; L = L->reg_next)
        if (L->state == LOOP_IDLE && L->pid == me && pthread_equal(L->thread, self)) fn(L, ud);
    pthread_mutex_unlock(&loops_mu);
}

/* Sets L's state under loops_mu (every change after yc__loop_new); a run
 * makes this thread the loop's. */
static void set_state(yc_loop *L, int state)
{
    pthread_mutex_lock(&loops_mu);
    L->state = state;
    if (state == LOOP_RUNNING) L->thread = pthread_self();
    pthread_mutex_unlock(&loops_mu);
}

yc_loop *yc__loop_new(const yc_loop_opts *opts)
{
    yc_loop_opts o = opts ? *opts : (yc_loop_opts){0};
    if (bad_opts(&o) < 0) return NULL;
    yc_loop *L = yc__malloc(sizeof *L);
    if (!L) {
        yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
        return NULL;
    }
    memset(L, 0, sizeof *L);
    L->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    L->epfd = L->efd >= 0 ? epoll_create1(EPOLL_CLOEXEC) : -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = YC__IO_EFD_DATA};
    if (L->epfd < 0 || epoll_ctl(L->epfd, EPOLL_CTL_ADD, L->efd, &ev) != 0) {
        int err = errno;
        if (L->efd >= 0) close(L->efd);
        if (L->epfd >= 0) close(L->epfd);
        yc__free(L);
        yc_err_set(yc_exc_new_errno(&yc_OSError, err, "cannot make the event loop's eventfd"));
        return NULL;
    }
    L->magic = YC__LOOP_MAGIC;
    L->id = atomic_fetch_add(&loop_ids, 1) + 1;
    L->state = LOOP_IDLE;
    L->clock = o.clock;
    L->task_stack = o.task_stack;
    L->rq_tail = &L->rq_head;
    L->ts_tail = &L->ts_head;
    pthread_mutex_init(&L->ts_mu, NULL);
    L->pid = getpid();
    L->thread = pthread_self();
    pthread_once(&loops_once, loops_atfork);
    pthread_mutex_lock(&loops_mu);
    L->reg_next = loops;
    if (loops) loops->reg_prev = L;
    loops = L;
    pthread_mutex_unlock(&loops_mu);
    atomic_fetch_add_explicit(&yc__live_loops, 1, memory_order_relaxed);
    return L;
}

/* Releases whatever sits in the ready queue and the heap (a closing loop
 * runs nothing more). Internal nodes belong to their owners; user handles
 * lose the loop's reference; thread-safe calls are freed. */
static void drop_scheduled(yc_loop *L)
{
    while (L->rq_head) {
        yc__handle *h = yc__loop_ready_pop(L);
        h->cancelled = true;
        if (h->drop) h->drop(h);
    }
    while (L->nheap) {
        yc__timer *t = L->heap[--L->nheap].t;
        if (!t) continue; /* dead */
        t->idx = SIZE_MAX;
        t->h.cancelled = true;
        if (t->h.drop) t->h.drop(&t->h);
    }
    L->ndead = 0;
    for (yc__ts_call *c = ts_take(L); c;) {
        yc__ts_call *n = (yc__ts_call *)c->h.next;
        if (c->h.drop) c->h.drop(&c->h);
        else yc__free(c);
        c = n;
    }
}

void (*yc__loop_close_tasks)(yc_loop *L);

void yc__loop_add_close_hook(yc_loop *L, yc__close_hook *h)
{
    h->next = L->close_hooks;
    L->close_hooks = h;
}

int yc_loop_close(yc_loop *L)
{
    if (!yc__loop_ok(L)) return bad_loop(L);
    if (L->state == LOOP_RUNNING)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "Cannot close a running event loop");
    if (L->state == LOOP_CLOSED) return YC_OK;
    for (yc__close_hook *h = L->close_hooks, *next; h; h = next) {
        next = h->next;
        L->close_hooks = next;
        h->fn(L, h);
    }
    set_state(L, LOOP_CLOSED); /* under the lock: yc__loop_each_idle reads it */
    /* Tasks first (destroying one may schedule callbacks: dropped below).
     * Only task.c makes futures, so with one live its hook is set. */
    if (L->live) yc__loop_close_tasks(L);
    drop_scheduled(L);
    retain_end(L);
    return YC_OK;
}

int yc_loop_free(yc_loop *L)
{
    if (!yc__loop_ok(L)) return bad_loop(L);
    if (L->state == LOOP_RUNNING)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "Cannot close a running event loop");
    yc_loop_close(L);
    /* The futures and tasks the user still holds forget the loop. */
    for (yc_task *t = L->live; t; t = t->lnext) t->loop = NULL;
    pthread_mutex_lock(&loops_mu);
    if (L->reg_prev) L->reg_prev->reg_next = L->reg_next;
    else loops = L->reg_next;
    if (L->reg_next) L->reg_next->reg_prev = L->reg_prev;
    pthread_mutex_unlock(&loops_mu);
    yc__free(L->heap);
    cache_drain(&L->task_cache);
    cache_drain(&L->future_cache);
    cache_drain(&L->fcb_cache);
    cache_drain(&L->sleep_cache);
    cache_drain(&L->rbuf_cache);
    cache_drain(&L->wbuf_cache);
    L->io->free(L);
    close(L->efd);
    close(L->epfd);
    pthread_mutex_destroy(&L->ts_mu);
    yc_exc_unref(L->base_exc);
    L->magic = 0;
    yc__free(L);
    atomic_fetch_sub_explicit(&yc__live_loops, 1, memory_order_relaxed);
    return YC_OK;
}

/* ---- running -------------------------------------------------------- */

/* Waits until `timeout` ns pass (-1: no limit) for thread-safe calls and,
 * when a task waits on a descriptor, for descriptors (the backend's wait,
 * L->io). Without a wait, the pending flag says all the eventfd would, so
 * nothing is polled unless tasks wait on descriptors, and then only every
 * YC__IO_POLL_INTERVAL iterations while callbacks are ready. */
static void wait_events(yc_loop *L, int64_t timeout)
{
    bool io = L->io_waiting > 0 &&
              (timeout != 0 || !L->nready || ++L->io_tick >= YC__IO_POLL_INTERVAL);
    if (!io) {
        if (L->ring) L->io->flush(L); /* what this turn queued goes now */
        if (ts_pending(L)) {
            ts_drain(L);
            return;
        }
        if (timeout == 0) return;
    }
    L->io_tick = 0;
    if (ts_pending(L)) timeout = 0;
    L->io->wait(L, timeout);
    if (ts_pending(L)) ts_drain(L);
}

/* wait_events without its call when it has nothing to do: no wait, no
 * descriptor, no thread-safe call (the ready path of every iteration). */
static inline void poll_events(yc_loop *L, int64_t timeout)
{
    if (timeout == 0 && !L->io_waiting && !ts_pending(L)) return;
    wait_events(L, timeout);
}

/* ---- warm stacks for the tasks -------------------------------------- */

#define RETAIN_WINDOW_NS 1000000000

/* The bytes a task's generator asks the stack layer for (as yc_gen_new). */
static size_t task_stack_bytes(const yc_loop *L)
{
    return (L->task_stack ? L->task_stack : YC_STACK_DEFAULT) + YC__GEN_HEADER_MAX;
}

static int32_t pow2_at_least(long n)
{
    int32_t p = 1;
    while (p < n && p < (1 << 30)) p <<= 1;
    return p;
}

void yc__loop_retain_grow(yc_loop *L)
{
    if (L->state == LOOP_RUNNING && running_loop != L) return; /* runs elsewhere */
    if (L->retain_thread && L->retain_thread != &yc__T) return;
    L->stack_retain = pow2_at_least(L->stacked_tasks);
    L->retain_thread = &yc__T;
    if (!L->retain_review) L->retain_review = yc__loop_now(L) + RETAIN_WINDOW_NS;
    yc__stack_retain(&yc__T, task_stack_bytes(L), L->stack_retain);
}

/* Once a second of loop time (checked every 1024 iterations and before
 * each wait): what the last second's peak did not need is given back. */
static void retain_review(yc_loop *L)
{
    if (L->retain_thread != &yc__T) return;
    int64_t now = yc__loop_now(L);
    if (now < L->retain_review) return;
    long peak = L->peak_window;
    L->peak_window = L->stacked_tasks;
    L->retain_review = now + RETAIN_WINDOW_NS;
    cache_review(&L->task_cache);
    cache_review(&L->future_cache);
    cache_review(&L->fcb_cache);
    cache_review(&L->sleep_cache);
    if (2 * peak >= L->stack_retain) return;
    L->stack_retain = pow2_at_least(peak);
    yc__stack_retain(&yc__T, task_stack_bytes(L), L->stack_retain);
}

static void retain_end(yc_loop *L)
{
    if (L->stack_retain && L->retain_thread == &yc__T) yc__stack_retain(&yc__T, task_stack_bytes(L), 0);
    L->stack_retain = 0;
    L->peak_window = 0;
    L->retain_review = 0;
    L->retain_thread = NULL;
}

/*
 * One iteration. With the virtual clock, nothing ready and no timer is a
 * deadlock unless a thread-safe call can still come (one already pending);
 * it sets L->deadlock and runs nothing. Inlined into the two run loops: a
 * task's step switches away and back inside it, and a return after a
 * switch is mispredicted, so one frame less is one misprediction less per
 * iteration. The only iteration code: a parking task takes the next handle
 * itself when yc__loop_next_iter_idle (loop.h), which mirrors the start
 * below, says the start would do nothing (the direct hand-off, task.c).
 */
static inline __attribute__((always_inline)) void run_once(yc_loop *L)
{
    int64_t timeout = -1;
    heap_top_live(L);
    if (L->nready || L->stopping) timeout = 0;
    else if (L->nheap) {
        timeout = L->heap[0].when - yc__loop_now(L);
        if (timeout < 0) timeout = 0;
    }
    if (YC_UNLIKELY(L->stack_retain) && (timeout != 0 || (++L->iters & 1023) == 0))
        retain_review(L);
    if (L->clock == YC_CLOCK_VIRTUAL) {
        if (timeout < 0 && !ts_pending(L) && !L->io_waiting && L->outside == 0) {
            L->deadlock = true;
            return;
        }
        /* descriptors: polled; waited for only when no timer can come (a
         * descriptor will be ready, or a thread will post back) */
        poll_events(L, timeout < 0 ? -1 : 0);
        if (timeout > 0 && !L->nready) L->vnow = L->heap[0].when;
    } else {
        poll_events(L, timeout);
    }
    heap_top_live(L); /* polling stops no timer, but heap_pop needs a live top */
    if (L->nheap) { /* the clock is read only when a timer may be due */
        int64_t end = yc__loop_now(L);
        while (L->nheap && L->heap[0].when <= end) {
            yc__timer *t = heap_pop(L);
            yc__loop_ready(L, &t->h);
        }
    }
    /* in L, since a parking task may take the next handle itself (the
     * direct hand-off, yc__loop_handoff_take) */
    for (L->ntodo = L->nready; L->ntodo > 0 && L->rq_head;) {
        L->ntodo--;
        yc__handle *h = yc__loop_ready_pop(L);
        if (h->cancelled) {
            if (h->drop) h->drop(h);
            continue;
        }
        h->run(h);
    }
}

int yc__loop_run_begin(yc_loop *L)
{
    if (!yc__loop_ok(L)) return bad_loop(L);
    if (L->state == LOOP_CLOSED) return yc__loop_closed_error();
    if (L->state == LOOP_RUNNING)
        return yc__fail(YC_EINVAL, &yc_RuntimeError, "This event loop is already running");
    if (running_loop)
        return yc__fail(YC_EINVAL, &yc_RuntimeError,
                        "Cannot run the event loop while another loop is running");
    yc__sigpipe_ignore();
    set_state(L, LOOP_RUNNING);
    L->co = yc__cur();
    L->deadlock = false;
    running_loop = L;
    return YC_OK;
}

int yc__loop_run_end(yc_loop *L)
{
    L->stopping = false;
    if (L->state == LOOP_RUNNING) set_state(L, LOOP_IDLE);
    L->co = NULL;
    L->handoff = NULL;
    L->ntodo = 0;
    running_loop = NULL;
    if (L->base_exc) {
        yc__err_set(yc__cur(), L->base_exc);
        L->base_exc = NULL;
        return YC_RAISE;
    }
    return YC_OK;
}

int yc__loop_deadlock_error(void)
{
    return yc__fail(YC_RAISE, &yc_RuntimeError,
                    "deadlock: every task is waiting and nothing can wake them");
}

/* The one place the loop turns, so that run_once is inlined once (the
 * runs of run_forever and of run_until_complete, runner.c, come here). */
void yc__loop_turns(yc_loop *L)
{
    while (!L->deadlock) {
        run_once(L);
        if (L->stopping) break;
    }
}

void yc__loop_unready(yc_loop *L, yc__handle *h)
{
    yc__handle **pp = &L->rq_head;
    while (*pp != h) pp = &(*pp)->next;
    *pp = h->next;
    if (!*pp) L->rq_tail = pp;
    L->nready--;
}

int yc_loop_run_forever(yc_loop *L)
{
    int st = yc__loop_run_begin(L);
    if (st < 0) return st;
    yc__loop_turns(L);
    st = yc__loop_run_end(L);
    if (st == YC_OK && L->deadlock) st = yc__loop_deadlock_error();
    return st;
}

void yc_loop_stop(yc_loop *L)
{
    if (yc__loop_ok(L)) L->stopping = true;
}

/* ---- reports -------------------------------------------------------- */

void yc__loop_report(yc_exc *e, const char *text) { yc__unraisable_report(e, text); }

/* ---- SIGPIPE -------------------------------------------------------- */

/* Here, not in signals.c: yc__loop_run_begin calls it, and loop.c comes first in
 * the layer's order (docs/design.md, "Layers").
 * At the start of every run (a system call): a program that set SIGPIPE's
 * disposition back to the default while no loop ran gets it ignored again. */
void yc__sigpipe_ignore(void)
{
    struct sigaction old;
    if (sigaction(SIGPIPE, NULL, &old) != 0) return;
    if ((old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL) return; /* the program's choice */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
}
