/*
 * Queues: asyncio's Queue, LifoQueue and PriorityQueue (Lib/asyncio/
 * queues.py of 3.13, with shutdown), each method following its Python
 * version step for step: the same getter and putter futures, woken in the
 * same order, so producers and consumers interleave as under asyncio.
 *
 * Items are yc_vals kept as they are. The storage is one array: a ring for
 * FIFO, a stack for LIFO, and for the priority queue a binary heap run by
 * heapq's own algorithm (heappush's sift towards the root, heappop's
 * bottom-up sift), so the array (what the repr shows) has the layout
 * CPython's list would. One difference: each heap entry carries its
 * insertion number and equal items compare by it, so they come out in
 * insertion order (heapq alone gives no order among equal items).
 * Operations are O(1) amortized (FIFO, LIFO) and O(log n) (priority).
 */
#define _GNU_SOURCE
#include "pipe.h"
#include "sync.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define QUEUE_MAGIC 0x79635175u /* "ycQu" */

/* An array bigger than this is given back when the queue empties. */
#define QUEUE_KEEP 64

typedef struct qitem {
    yc_val v;
    uint64_t seq; /* insertion order: the priority queue's tie-break */
} qitem;

struct yc_queue {
    uint32_t magic;
    int kind;           /* YC_QUEUE_* */
    bool is_shutdown;
    size_t maxsize;     /* 0: unbounded */
    qitem *items;       /* FIFO: a ring from head; else items[0 .. len) */
    size_t cap, head, len;
    uint64_t seq;
    int (*cmp)(yc_val a, yc_val b, void *ud);
    void *cmp_ud;
    size_t unfinished;  /* _unfinished_tasks */
    int busy;           /* tasks inside put, get, join */
    uint64_t loop_id;   /* _LoopBoundMixin */
    yc__waitq getters, putters;
    yc_event finished;  /* set when unfinished is 0 (join waits on it) */
};

static const char *const kind_name[] = {"Queue", "LifoQueue", "PriorityQueue"};

static bool q_ok(const yc_queue *q) { return q && q->magic == QUEUE_MAGIC; }

static int bad_queue(const yc_queue *q)
{
    if (!q) return yc__fail(YC_EINVAL, &yc_TypeError, "queue is NULL");
    return yc__fail(YC_EINVAL, &yc_ValueError, "not a live queue (freed or corrupted)");
}

static int no_memory(void) { return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL); }

static bool q_empty(const yc_queue *q) { return q->len == 0; }
static bool q_full(const yc_queue *q) { return q->maxsize && q->len >= q->maxsize; }

/* ---- ordering of the priority queue --------------------------------- */

/* a < b for two items put_nowait admitted (they compare, or a cmp). */
static bool item_lt(const yc_queue *q, yc_val a, yc_val b)
{
    if (q->cmp) return q->cmp(a, b, q->cmp_ud) < 0;
    bool lt = false;
    yc__val_less(a, b, "<", &lt);
    return lt;
}

static bool entry_lt(const yc_queue *q, const qitem *a, const qitem *b)
{
    if (item_lt(q, a->v, b->v)) return true;
    return !item_lt(q, b->v, a->v) && a->seq < b->seq;
}

/*
 * Whether v may join the heap without a comparison function: heappush
 * compares it first with its parent slot's item, and Python raises there
 * when the two cannot be ordered; every item of a heap of two or more is
 * of one class, so that comparison decides. The queue stays unchanged on
 * failure (CPython's heappush has appended the item by then: it stays in
 * the list, unordered).
 */
static int heap_admits(const yc_queue *q, yc_val v)
{
    if (q->cmp || q->len == 0) return YC_OK;
    bool lt;
    return yc__val_less(v, q->items[(q->len - 1) >> 1].v, "<", &lt);
}

/* heapq._siftdown: the item at pos moves towards startpos. */
static void sift_down(yc_queue *q, size_t startpos, size_t pos)
{
    qitem newitem = q->items[pos];
    while (pos > startpos) {
        size_t parentpos = (pos - 1) >> 1;
        if (!entry_lt(q, &newitem, &q->items[parentpos])) break;
        q->items[pos] = q->items[parentpos];
        pos = parentpos;
    }
    q->items[pos] = newitem;
}

/* heapq._siftup: the smaller child moves up to a leaf, then the item
 * there sifts down. */
static void sift_up(yc_queue *q, size_t pos)
{
    size_t endpos = q->len, startpos = pos;
    qitem newitem = q->items[pos];
    size_t childpos = 2 * pos + 1;
    while (childpos < endpos) {
        size_t rightpos = childpos + 1;
        if (rightpos < endpos && !entry_lt(q, &q->items[childpos], &q->items[rightpos]))
            childpos = rightpos;
        q->items[pos] = q->items[childpos];
        pos = childpos;
        childpos = 2 * pos + 1;
    }
    q->items[pos] = newitem;
    sift_down(q, startpos, pos);
}

/* ---- storage -------------------------------------------------------- */

static qitem *q_at(const yc_queue *q, size_t i)
{
    if (q->kind != YC_QUEUE_FIFO) return &q->items[i];
    i += q->head; /* head < cap and i < len <= cap: one wrap at most */
    return &q->items[i < q->cap ? i : i - q->cap];
}

/* Room for one more item: YC_OK, or YC_ENOMEM with the queue unchanged. */
static int q_reserve(yc_queue *q)
{
    if (q->len < q->cap) return YC_OK;
    size_t cap = q->cap ? q->cap * 2 : 8;
    if (q->maxsize && cap > q->maxsize) cap = q->maxsize;
    if (cap <= q->len || cap > SIZE_MAX / sizeof(qitem)) return no_memory();
    qitem *a = yc__malloc(cap * sizeof *a);
    if (!a) return no_memory();
    for (size_t i = 0; i < q->len; i++) a[i] = *q_at(q, i); /* the ring unwrapped */
    yc__free(q->items);
    q->items = a;
    q->cap = cap;
    q->head = 0;
    return YC_OK;
}

/* _put, with room reserved. */
static void q_push(yc_queue *q, yc_val v)
{
    qitem it = {v, q->seq++};
    if (q->kind == YC_QUEUE_FIFO) {
        size_t i = q->head + q->len;
        q->items[i < q->cap ? i : i - q->cap] = it;
        q->len++;
    } else {
        q->items[q->len++] = it;
        if (q->kind == YC_QUEUE_PRIORITY) sift_down(q, 0, q->len - 1);
    }
}

/* _get of LIFO and priority queues, the queue not empty. */
static __attribute__((noinline)) yc_val q_pop_ordered(yc_queue *q)
{
    if (q->kind == YC_QUEUE_LIFO) return q->items[--q->len].v;
    qitem it, last = q->items[--q->len]; /* heapq.heappop */
    if (q->len) {
        it = q->items[0];
        q->items[0] = last;
        sift_up(q, 0);
    } else {
        it = last;
    }
    return it.v;
}

static __attribute__((noinline)) void q_shrink(yc_queue *q)
{
    yc__free(q->items);
    q->items = NULL;
    q->cap = q->head = 0;
}

/* _get, the queue not empty (FIFO inline: the ping-pong path). */
static inline yc_val q_pop(yc_queue *q)
{
    yc_val v;
    if (YC_LIKELY(q->kind == YC_QUEUE_FIFO)) {
        v = q->items[q->head].v;
        if (++q->head == q->cap) q->head = 0;
        q->len--;
    } else {
        v = q_pop_ordered(q);
    }
    if (YC_UNLIKELY(!q->len && q->cap > QUEUE_KEEP)) q_shrink(q);
    return v;
}

/* ---- life cycle ----------------------------------------------------- */

yc_queue *yc_queue_new(size_t maxsize, int kind)
{
    if (kind != YC_QUEUE_FIFO && kind != YC_QUEUE_LIFO && kind != YC_QUEUE_PRIORITY) {
        yc__fail(YC_EINVAL, &yc_ValueError, "yc_queue_new: unknown kind %d", kind);
        return NULL;
    }
    yc_queue *q = yc__malloc(sizeof *q);
    if (!q) {
        no_memory();
        return NULL;
    }
    memset(q, 0, sizeof *q);
    q->magic = QUEUE_MAGIC;
    q->kind = kind;
    q->maxsize = maxsize;
    yc__event_init(&q->finished);
    yc__event_set(&q->finished);
    return q;
}

int yc_queue_set_compare(yc_queue *q, int (*cmp)(yc_val a, yc_val b, void *ud), void *ud)
{
    if (!q_ok(q)) return bad_queue(q);
    if (q->kind != YC_QUEUE_PRIORITY)
        return yc__fail(YC_EINVAL, &yc_ValueError, "yc_queue_set_compare: not a priority queue");
    if (q->len)
        return yc__fail(YC_EINVAL, &yc_ValueError, "yc_queue_set_compare: the queue is not empty");
    q->cmp = cmp;
    q->cmp_ud = ud;
    return YC_OK;
}

int yc_queue_free(yc_queue *q)
{
    if (!q_ok(q)) return bad_queue(q);
    if (q->busy)
        return yc__fail(YC_EBUSY, &yc_ValueError, "yc_queue_free: tasks are waiting on the queue");
    yc__free(q->items);
    q->magic = 0;
    q->finished.magic = 0;
    yc__free(q);
    return YC_OK;
}

/* ---- caller side ---------------------------------------------------- */

/* Queue._wakeup_next: the first waiter not woken yet, popped and woken. */
static void wakeup_next(yc__waitq *waiters)
{
    yc__waiter *w;
    while ((w = yc__wq_popleft(waiters)) != NULL) {
        if (!yc__sync_done(w->fut)) {
            yc__fut_set_result(w->fut, YC_NONE);
            break;
        }
    }
}

static int shut_down(void) { return yc__fail(YC_RAISE, &yc_QueueShutDown, NULL); }

static int put_nowait(yc_queue *q, yc_val v)
{
    if (q->is_shutdown) return shut_down();
    if (q_full(q)) return yc__fail(YC_RAISE, &yc_QueueFull, NULL);
    int st = q->kind == YC_QUEUE_PRIORITY ? heap_admits(q, v) : YC_OK;
    if (st == YC_OK) st = q_reserve(q);
    if (st < 0) return st;
    q_push(q, v);
    q->unfinished++;
    q->finished.value = false; /* _finished.clear() */
    wakeup_next(&q->getters);
    return YC_OK;
}

static int get_nowait(yc_queue *q, yc_val *out)
{
    if (q_empty(q)) {
        if (q->is_shutdown) return shut_down();
        return yc__fail(YC_RAISE, &yc_QueueEmpty, NULL);
    }
    *out = q_pop(q);
    wakeup_next(&q->putters);
    return YC_OK;
}

int yc_queue_put_nowait(yc_queue *q, yc_val v)
{
    if (!q_ok(q)) return bad_queue(q);
    return put_nowait(q, v);
}

int yc_queue_get_nowait(yc_queue *q, yc_val *out)
{
    yc_val v = YC_NONE;
    int st = q_ok(q) ? get_nowait(q, &v) : bad_queue(q);
    if (out) *out = v;
    return st;
}

int yc_queue_task_done(yc_queue *q)
{
    if (!q_ok(q)) return bad_queue(q);
    if (q->unfinished == 0)
        return yc__fail(YC_EINVAL, &yc_ValueError, "task_done() called too many times");
    if (--q->unfinished == 0) yc__event_set(&q->finished);
    return YC_OK;
}

int yc_queue_shutdown(yc_queue *q, bool immediate)
{
    if (!q_ok(q)) return bad_queue(q);
    q->is_shutdown = true;
    if (immediate) {
        while (!q_empty(q)) {
            q_pop(q);
            if (q->unfinished > 0) q->unfinished--;
        }
        if (q->unfinished == 0) yc__event_set(&q->finished);
    }
    /* every getter and putter re-checks, and raises QueueShutDown */
    yc__waiter *w;
    while ((w = yc__wq_popleft(&q->getters)) != NULL)
        if (!yc__sync_done(w->fut)) yc__fut_set_result(w->fut, YC_NONE);
    while ((w = yc__wq_popleft(&q->putters)) != NULL)
        if (!yc__sync_done(w->fut)) yc__fut_set_result(w->fut, YC_NONE);
    return YC_OK;
}

size_t yc_queue_qsize(const yc_queue *q) { return q_ok(q) ? q->len : 0; }
size_t yc_queue_maxsize(const yc_queue *q) { return q_ok(q) ? q->maxsize : 0; }
bool yc_queue_empty(const yc_queue *q) { return !q_ok(q) || q_empty(q); }
bool yc_queue_full(const yc_queue *q) { return q_ok(q) && q_full(q); }

int yc_queue_format(const yc_queue *q, char *buf, size_t n)
{
    if (!buf) n = 0;
    if (!q_ok(q)) return snprintf(buf, n, "<invalid queue>");
    yc__sbuf b = {buf, n, 0};
    yc__sb_printf(&b, "<%s at 0x%" PRIxPTR " maxsize=%zu", kind_name[q->kind], (uintptr_t)q,
                  q->maxsize);
    if (q->len) {
        yc__sb_printf(&b, " _queue=[");
        for (size_t i = 0; i < q->len; i++) {
            if (i) yc__sb_printf(&b, ", ");
            bool room = b.buf && b.len < b.n;
            int k = yc_val_format(q_at(q, i)->v, room ? b.buf + b.len : NULL,
                                  room ? b.n - b.len : 0);
            if (k > 0) b.len += (size_t)k;
        }
        yc__sb_printf(&b, "]");
    }
    if (q->getters.n) yc__sb_printf(&b, " _getters[%zu]", q->getters.n);
    if (q->putters.n) yc__sb_printf(&b, " _putters[%zu]", q->putters.n);
    if (q->unfinished) yc__sb_printf(&b, " tasks=%zu", q->unfinished);
    if (q->is_shutdown) yc__sb_printf(&b, " shutdown");
    yc__sb_printf(&b, ">");
    return (int)b.len;
}

/* ---- body side ------------------------------------------------------ */

static int queue_fmt(const void *q, char *buf, size_t n) { return yc_queue_format(q, buf, n); }

/*
 * One wait of put (list: the putters, blocked: full) or get (the getters,
 * empty) in task t. On an error (cancelled, or another exception thrown
 * in) asyncio's except clause: the future cancelled if still pending and
 * taken out of the list; if it had been woken (a slot or an item was there
 * for it) and the queue can still serve, the next waiter is woken in its
 * place. Returns the await's status, the exception pending.
 */
static int wait_turn(yc_queue *q, yc_task *t, yc__waitq *list, bool (*blocked)(const yc_queue *))
{
    yc__waiter w;
    int st = yc__sync_bind(&q->loop_id, t->loop, q, queue_fmt);
    if (st == YC_OK) st = yc__sync_waiter(list, &w, t);
    if (st < 0) return st;
    st = yc__task_await(t, w.fut, NULL);
    if (st < 0) {
        yc__fut_cancel(w.fut, NULL);
        yc__wq_remove(list, &w);
        if (!blocked(q) && !yc__sync_cancelled(w.fut)) wakeup_next(list);
    }
    yc__wq_remove(list, &w); /* woken: popped already by whoever woke it */
    yc__unref(w.fut);
    return st;
}

/* The running task and a live q, or an error status. */
static int enter(yc_queue *q, const char *what, yc_task **t)
{
    *t = yc__task_running(what);
    if (!*t) return YC_EINVAL;
    return q_ok(q) ? YC_OK : bad_queue(q);
}

void yc__queue_put(yc_queue *q, yc_val v, const char *file, int line, const char *func)
{
    yc_task *t;
    int st = enter(q, "yc_queue_put()", &t);
    if (st == YC_OK) {
        q->busy++;
        while (st == YC_OK && q_full(q))
            st = q->is_shutdown ? shut_down() : wait_turn(q, t, &q->putters, q_full);
        if (st == YC_OK) st = put_nowait(q, v);
        q->busy--;
    }
    if (st < 0) yc__sync_raise(file, line, func);
}

yc_val yc__queue_get(yc_queue *q, const char *file, int line, const char *func)
{
    yc_task *t;
    yc_val v = YC_NONE;
    int st = enter(q, "yc_queue_get()", &t);
    if (st == YC_OK) {
        q->busy++;
        while (st == YC_OK && q_empty(q))
            st = q->is_shutdown ? shut_down() : wait_turn(q, t, &q->getters, q_empty);
        if (st == YC_OK) st = get_nowait(q, &v);
        q->busy--;
    }
    if (st < 0) yc__sync_raise(file, line, func);
    return v;
}

void yc__queue_join(yc_queue *q, const char *file, int line, const char *func)
{
    yc_task *t;
    int st = enter(q, "yc_queue_join()", &t);
    if (st == YC_OK && q->unfinished > 0) {
        q->busy++;
        st = yc__event_wait(&q->finished, t);
        q->busy--;
    }
    if (st < 0) yc__sync_raise(file, line, func);
}
