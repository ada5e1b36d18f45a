/* Queues (yieldc/loop.h: asyncio.Queue, LifoQueue, PriorityQueue):
 * python-semantics.md 12.40-12.43, 12.50, and the interleavings of
 * producers, consumers, cancellation and shutdown, each asserting the trace
 * CPython 3.13 prints for the same scenario (tests/loop_sync_oracle.py,
 * scenario of the same name). Every scenario runs as tasks under
 * yc_loop_run on the virtual clock; the harness checks that no task,
 * exception or generator is left. */
#include "loop_sync_util.h"

static yc_queue *Q;

static void new_q(size_t maxsize, int kind)
{
    Q = yc_queue_new(maxsize, kind);
    CHECK(Q != NULL);
}

static void free_q(void)
{
    CHECK_ST(yc_queue_free(Q), YC_OK);
    Q = NULL;
}

/* ---- tasks used by several scenarios -------------------------------- */

/* g<i>=<v>, or c<i> when cancelled (re-raised). */
static yc_val getter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_val v = yc_queue_get(Q);
        tr("g%d=%" PRId64, i, v.i);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

/* puts i: p<i>, or c<i> when cancelled. */
static yc_val putter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_queue_put(Q, yc_int(i));
        tr("p%d", i);
    } YC_EXCEPT(&yc_CancelledError) {
        tr("c%d", i);
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static void tr_get_nowait(void)
{
    yc_val v;
    CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
    tr("got%" PRId64, v.i);
}

/* ======================================================================
 * The numbered behaviours
 * ==================================================================== */

/* [12.40] QueueFull() and QueueEmpty(), without a message. */
TEST(queue_full_and_empty_have_no_message_12_40)
{
    new_q(1, YC_QUEUE_FIFO);
    yc_val v = yc_int(5);
    CHECK_ST(yc_queue_get_nowait(Q, &v), YC_RAISE);
    CHECK(yc_is_none(v));
    CHECK_EXC(&yc_QueueEmpty, "QueueEmpty");
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    CHECK(yc_queue_full(Q));
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(2)), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(yc_exc_type_of(e) == &yc_QueueFull);
    CHECK_STR(yc_exc_msg(e), "");
    yc_exc_unref(e);
    CHECK_EQ_INT(yc_queue_qsize(Q), 1);
    CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
    CHECK_INTV(v, 1);
    CHECK(yc_queue_empty(Q) && !yc_queue_full(Q));
    free_q();
}

/* [12.41] ValueError "task_done() called too many times". */
TEST(queue_task_done_too_many_times_12_41)
{
    new_q(0, YC_QUEUE_FIFO);
    CHECK_ST(yc_queue_task_done(Q), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: task_done() called too many times");
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_OK);
    CHECK_ST(yc_queue_task_done(Q), YC_OK);
    CHECK_ST(yc_queue_task_done(Q), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: task_done() called too many times");
    free_q();
}

/* [12.42] shutdown(): put raises QueueShutDown(); get returns what is
 * left, then raises QueueShutDown() (scenario queue_shutdown_not_immediate). */
static void tr_shutdown_exc(const char *prefix)
{
    yc_exc *e = yc_exc_current();
    CHECK(yc_exc_type_of(e) == &yc_QueueShutDown);
    CHECK_STR(yc_exc_msg(e), "");
    tr("%s%s()", prefix, yc_exc_type_of(e)->name);
}

static yc_val shutdown_not_immediate_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(i)), YC_OK);
    CHECK_ST(yc_queue_shutdown(Q, false), YC_OK);
    CHECK_ST(yc_queue_shutdown(Q, false), YC_OK); /* twice: no change */
    tr("%s", queue_tail(Q));
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(5)), YC_RAISE);
    CHECK_EXC(&yc_QueueShutDown, "QueueShutDown");
    YC_TRY {
        yc_queue_put(Q, yc_int(5));
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr_shutdown_exc("ps");
    } YC_END;
    tr("g%" PRId64, yc_queue_get(Q).i);
    yc_val v;
    CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
    tr("g%" PRId64, v.i);
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr_shutdown_exc("gs");
    } YC_END;
    CHECK_ST(yc_queue_get_nowait(Q, &v), YC_RAISE);
    CHECK_EXC(&yc_QueueShutDown, "QueueShutDown");
    return YC_NONE;
}

TEST(queue_shutdown_not_immediate_12_42)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(shutdown_not_immediate_main, NULL);
    CHECK_STR(trace, "maxsize=0 _queue=[0, 1] tasks=2 shutdown> psQueueShutDown() g0 g1 "
                     "gsQueueShutDown()");
    free_q();
}

/* [12.42] shutdown wakes the waiting getters and putters: each re-checks
 * (a getter still finds an item) and raises QueueShutDown. */
static yc_val shutdown_getter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_val v = yc_queue_get(Q);
        tr("g%d=%" PRId64, i, v.i);
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr("gs%d", i);
    } YC_END;
    return YC_NONE;
}

static yc_val shutdown_putter(void *arg)
{
    int i = ARGI(arg);
    YC_TRY {
        yc_queue_put(Q, yc_int(i));
        tr("p%d", i);
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr("ps%d", i);
    } YC_END;
    return YC_NONE;
}

static yc_val shutdown_wakes_main(void *arg)
{
    (void)arg;
    yc_task *ts[4];
    for (int i = 0; i < 2; i++) ts[i] = spawn(shutdown_getter, IARG(i));
    yc_sleep(0);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(7)), YC_OK);
    ts[2] = spawn(shutdown_putter, IARG(8));
    ts[3] = spawn(shutdown_putter, IARG(9));
    yc_sleep(0);
    tr("|");
    tr("%s", queue_tail(Q));
    CHECK_ST(yc_queue_shutdown(Q, false), YC_OK);
    tr("%s", queue_tail(Q));
    yc_gather(ts, 4, 0);
    for (int i = 0; i < 4; i++) yc_task_unref(ts[i]);
    tr("size%zu", yc_queue_qsize(Q));
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr("gs");
    } YC_END;
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_RAISE);
    CHECK_EXC(&yc_QueueShutDown, "QueueShutDown");
    tr("gns");
    return YC_NONE;
}

TEST(queue_shutdown_wakes_waiters_12_42)
{
    new_q(1, YC_QUEUE_FIFO);
    run_main(shutdown_wakes_main, NULL);
    CHECK_STR(trace, "g0=7 p8 | maxsize=1 _queue=[8] _putters[1] tasks=2> "
                     "maxsize=1 _queue=[8] tasks=2 shutdown> g1=8 ps9 size0 gs gns");
    free_q();
}

/* [12.42] shutdown(immediate=True): the items dropped and counted done,
 * which releases join once the item got earlier is done too. */
static yc_val joiner(void *arg)
{
    (void)arg;
    yc_queue_join(Q);
    tr("joined");
    return YC_NONE;
}

static yc_val shutdown_immediate_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(i)), YC_OK);
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_OK);
    yc_task *t = spawn(joiner, NULL);
    yc_sleep(0);
    CHECK_ST(yc_queue_shutdown(Q, true), YC_OK);
    tr("%s", queue_tail(Q));
    tr("size%zu", yc_queue_qsize(Q));
    yc_sleep(0);
    tr("|");
    CHECK_ST(yc_queue_task_done(Q), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_QueueShutDown) {
        tr("gs");
    } YC_END;
    CHECK_ST(yc_queue_task_done(Q), YC_EINVAL);
    tr("%s", yc_exc_msg(yc_err_get()));
    yc_err_clear();
    return YC_NONE;
}

TEST(queue_shutdown_immediate_releases_join_12_42)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(shutdown_immediate_main, NULL);
    CHECK_STR(trace, "maxsize=0 tasks=1 shutdown> size0 | joined gs task_done() called too "
                     "many times");
    free_q();
}

/* [12.43] waiting getters are served FIFO. */
static yc_val getters_fifo_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(getter, IARG(i));
    yc_sleep(0);
    for (int v = 10; v < 13; v++) {
        CHECK_ST(yc_queue_put_nowait(Q, yc_int(v)), YC_OK);
        tr("p%d", v);
    }
    yc_gather(ts, 3, 0);
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(queue_getters_fifo_12_43)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(getters_fifo_main, NULL);
    CHECK_STR(trace, "p10 p11 p12 g0=10 g1=11 g2=12");
    free_q();
}

/* [12.50] the repr: "<Queue at 0x... maxsize=3>", then what asyncio adds. */
static yc_val repr_main(void *arg)
{
    (void)arg;
    yc_task *ts[2];
    ts[0] = spawn(getter, IARG(0));
    yc_sleep(0);
    tr("%s", queue_tail(Q));
    yc_task_cancel(ts[0], NULL);
    yc_sleep(0);
    yc_task_unref(ts[0]);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    CHECK_ST(yc_queue_put_nowait(Q, yc_bytes("x", 1)), YC_OK);
    CHECK_ST(yc_queue_put_nowait(Q, YC_NONE), YC_OK);
    ts[0] = spawn(putter, IARG(4));
    ts[1] = spawn(putter, IARG(5));
    yc_sleep(0);
    tr("%s", queue_tail(Q));
    CHECK_ST(yc_queue_shutdown(Q, false), YC_OK);
    yc_sleep(0);
    yc_task_unref(ts[0]); /* both raised QueueShutDown: retrieve it */
    yc_task_unref(ts[1]);
    return YC_NONE;
}

static void silence(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)obj;
    ++*(int *)ud;
}

TEST(queue_repr_12_50)
{
    char buf[256], want[256];
    new_q(3, YC_QUEUE_FIFO);
    CHECK(yc_queue_format(Q, buf, sizeof buf) > 0);
    snprintf(want, sizeof want, "<Queue at 0x%" PRIxPTR " maxsize=3>", (uintptr_t)Q);
    CHECK_STR(buf, want);
    int reports = 0; /* the putters' QueueShutDown nobody retrieved */
    yc_set_unraisable_hook(silence, &reports);
    run_main(repr_main, NULL);
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_EQ_INT(reports, 2);
    CHECK_STR(trace, "maxsize=3 _getters[1]> c0 maxsize=3 _queue=[1, b'x', None] _putters[2] "
                     "tasks=3>");
    CHECK_STR(queue_tail(Q), "maxsize=3 _queue=[1, b'x', None] tasks=3 shutdown>");
    free_q();
    yc_queue *l = yc_queue_new(0, YC_QUEUE_LIFO), *p = yc_queue_new(0, YC_QUEUE_PRIORITY);
    yc_queue_format(l, buf, sizeof buf);
    snprintf(want, sizeof want, "<LifoQueue at 0x%" PRIxPTR " maxsize=0>", (uintptr_t)l);
    CHECK_STR(buf, want);
    yc_queue_format(p, buf, sizeof buf);
    snprintf(want, sizeof want, "<PriorityQueue at 0x%" PRIxPTR " maxsize=0>", (uintptr_t)p);
    CHECK_STR(buf, want);
    /* snprintf-style: the length it wanted, truncated text */
    int n = yc_queue_format(p, buf, 10);
    CHECK_EQ_INT(n, (int)strlen(want));
    CHECK_EQ_INT(strlen(buf), 9);
    CHECK_EQ_INT(yc_queue_format(p, NULL, 0), (int)strlen(want));
    CHECK_ST(yc_queue_free(l), YC_OK);
    CHECK_ST(yc_queue_free(p), YC_OK);
    yc_queue_format(NULL, buf, sizeof buf);
    CHECK_STR(buf, "<invalid queue>");
}

/* ======================================================================
 * Interleavings (CPython's traces)
 * ==================================================================== */

static yc_val consumer(void *arg)
{
    const char *name = arg;
    for (;;) {
        yc_val v = yc_queue_get(Q);
        tr("%s%" PRId64, name, v.i);
        yc_sleep(0);
        CHECK_ST(yc_queue_task_done(Q), YC_OK);
    }
    return YC_NONE; /* not reached: cancelled */
}

static yc_val producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 5; i++) {
        yc_queue_put(Q, yc_int(i));
        tr("p%d", i);
    }
    return YC_NONE;
}

static yc_val producer_consumer_main(void *arg)
{
    (void)arg;
    yc_task *cs[2] = {spawn(consumer, "a"), spawn(consumer, "b")};
    yc_task *p = spawn(producer, NULL);
    yc_sleep(0);
    tr("|");
    yc_queue_join(Q);
    tr("joined");
    yc_await(p);
    yc_task_unref(p);
    for (int i = 0; i < 2; i++) yc_task_cancel(cs[i], NULL);
    gather_unref(cs, 2);
    tr("size%zu", yc_queue_qsize(Q));
    return YC_NONE;
}

TEST(queue_producer_consumer_join)
{
    new_q(2, YC_QUEUE_FIFO);
    run_main(producer_consumer_main, NULL);
    CHECK_STR(trace, "p0 p1 | a0 b1 p2 p3 a2 b3 p4 a4 joined size0");
    free_q();
}

/* A getter woken by a put and cancelled before it runs passes the item
 * on to the next getter; nothing is lost. */
static yc_val getter_woken_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(getter, IARG(i));
    yc_sleep(0);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    CHECK(yc_task_cancel(ts[0], NULL));
    yc_sleep(0);
    tr("|");
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(2)), YC_OK);
    gather_unref(ts, 3);
    tr("size%zu", yc_queue_qsize(Q));
    return YC_NONE;
}

TEST(queue_getter_woken_then_cancelled)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(getter_woken_cancelled_main, NULL);
    CHECK_STR(trace, "c0 | g1=1 g2=2 size0");
    free_q();
}

/* A getter cancelled while it waits (not woken) only leaves the list. */
static yc_val getter_cancelled_waiting_main(void *arg)
{
    (void)arg;
    yc_task *ts[2];
    for (int i = 0; i < 2; i++) ts[i] = spawn(getter, IARG(i));
    yc_sleep(0);
    yc_task_cancel(ts[0], NULL);
    yc_sleep(0);
    tr("%s", queue_tail(Q));
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    gather_unref(ts, 2);
    return YC_NONE;
}

TEST(queue_getter_cancelled_waiting)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(getter_cancelled_waiting_main, NULL);
    CHECK_STR(trace, "c0 maxsize=0 _getters[1]> g1=1");
    free_q();
}

/* A putter woken by a get and cancelled before it runs passes the slot
 * on to the next putter. */
static yc_val putter_woken_cancelled_main(void *arg)
{
    (void)arg;
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) ts[i] = spawn(putter, IARG(i + 1));
    yc_sleep(0);
    tr_get_nowait();
    yc_task_cancel(ts[0], NULL);
    yc_sleep(0);
    tr("|");
    yc_sleep(0);
    tr("|");
    tr_get_nowait();
    yc_sleep(0);
    tr_get_nowait();
    gather_unref(ts, 3);
    tr("size%zu", yc_queue_qsize(Q));
    return YC_NONE;
}

TEST(queue_putter_woken_then_cancelled)
{
    new_q(1, YC_QUEUE_FIFO);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(0)), YC_OK);
    run_main(putter_woken_cancelled_main, NULL);
    CHECK_STR(trace, "got0 c1 | p2 | got2 p3 got3 size0");
    free_q();
}

/* join cancelled while it waits; another join still returns. */
static yc_val joiner_c(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_queue_join(Q);
        tr("joined");
    } YC_EXCEPT(&yc_CancelledError) {
        tr("jc");
        yc_reraise();
    } YC_END;
    return YC_NONE;
}

static yc_val join_cancelled_main(void *arg)
{
    (void)arg;
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    yc_task *ts[2] = {spawn(joiner_c, NULL), spawn(joiner_c, NULL)};
    yc_sleep(0);
    yc_task_cancel(ts[0], NULL);
    yc_sleep(0);
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_OK);
    CHECK_ST(yc_queue_task_done(Q), YC_OK);
    gather_unref(ts, 2);
    return YC_NONE;
}

TEST(queue_join_cancelled)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(join_cancelled_main, NULL);
    CHECK_STR(trace, "jc joined");
    free_q();
}

/* Getters and putters of a bounded priority queue. */
static yc_val pq_getter(void *arg)
{
    tr("g%d=%" PRId64, ARGI(arg), yc_queue_get(Q).i);
    return YC_NONE;
}

static yc_val priority_getters_main(void *arg)
{
    (void)arg;
    static const int vals[] = {5, 1, 4, 2, 3};
    yc_task *ts[8];
    for (int i = 0; i < 3; i++) ts[i] = spawn(pq_getter, IARG(i));
    for (int i = 0; i < 5; i++) ts[3 + i] = spawn(putter, IARG(vals[i]));
    yc_sleep(0);
    tr("|");
    yc_gather(ts, 8, 0);
    for (int i = 0; i < 8; i++) yc_task_unref(ts[i]);
    tr("%s", queue_tail(Q));
    return YC_NONE;
}

TEST(queue_priority_getters)
{
    new_q(2, YC_QUEUE_PRIORITY);
    run_main(priority_getters_main, NULL);
    CHECK_STR(trace, "p5 p1 | g0=1 g1=5 p4 p2 g2=2 p3 maxsize=2 _queue=[3, 4] tasks=5>");
    free_q();
}

/* ======================================================================
 * LIFO and priority order (scenario queue_lifo_and_priority)
 * ==================================================================== */

static void tr_drain(size_t n)
{
    char line[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        yc_val v;
        CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
        char one[64];
        yc_val_format(v, one, sizeof one);
        len += (size_t)snprintf(line + len, sizeof line - len, "%s%s", i ? "," : "", one);
    }
    tr("%s", line);
}

TEST(queue_lifo_order)
{
    tr_reset();
    new_q(0, YC_QUEUE_LIFO);
    for (int i = 1; i <= 3; i++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(i)), YC_OK);
    tr("%s", queue_tail(Q));
    tr_drain(3);
    CHECK_STR(trace, "maxsize=0 _queue=[1, 2, 3] tasks=3> 3,2,1");
    free_q();
}

TEST(queue_priority_heap_as_heapq)
{
    tr_reset();
    new_q(0, YC_QUEUE_PRIORITY);
    static const int xs[] = {5, 3, 8, 1, 9, 2};
    for (int i = 0; i < 6; i++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(xs[i])), YC_OK);
    tr("%s", queue_tail(Q));
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_OK);
    tr("%s", queue_tail(Q));
    tr_drain(5);
    CHECK_STR(trace, "maxsize=0 _queue=[1, 3, 2, 5, 9, 8] tasks=6> "
                     "maxsize=0 _queue=[2, 3, 8, 5, 9] tasks=6> 2,3,5,8,9");
    free_q();
}

TEST(queue_priority_numbers_by_value)
{
    tr_reset();
    new_q(0, YC_QUEUE_PRIORITY);
    const yc_val xs[] = {yc_float(2.5), yc_bool(true), yc_int(-1),       yc_int(2),
                         yc_float(1.0), yc_float(-1.0 / 0.0), yc_int(0)};
    for (int i = 0; i < 7; i++) CHECK_ST(yc_queue_put_nowait(Q, xs[i]), YC_OK);
    tr("%s", queue_tail(Q));
    tr_drain(7);
    CHECK_STR(trace, "maxsize=0 _queue=[-inf, 1.0, -1, 2.5, 2, True, 0] tasks=7> "
                     "-inf,-1,0,True,1.0,2,2.5");
    /* ints beyond a double's precision compare exactly with floats */
    const yc_val big[] = {yc_float(9007199254740992.0), yc_int(9007199254740993),
                          yc_int(9007199254740991), yc_float(9.3e18), yc_int(INT64_MAX),
                          yc_float(-9.3e18), yc_int(INT64_MIN)};
    for (int i = 0; i < 7; i++) CHECK_ST(yc_queue_put_nowait(Q, big[i]), YC_OK);
    tr_reset();
    tr_drain(7);
    CHECK_STR(trace, "-9.3e+18,-9223372036854775808,9007199254740991,9007199254740992.0,"
                     "9007199254740993,9223372036854775807,9.3e+18");
    for (int i = 0; i < 14; i++) CHECK_ST(yc_queue_task_done(Q), YC_OK);
    free_q();
}

TEST(queue_priority_bytes_bytewise)
{
    tr_reset();
    new_q(0, YC_QUEUE_PRIORITY);
    const char *ws[] = {"pear", "apple", "fig", "app", ""};
    for (int i = 0; i < 5; i++)
        CHECK_ST(yc_queue_put_nowait(Q, yc_bytes(ws[i], strlen(ws[i]))), YC_OK);
    CHECK_ST(yc_queue_put_nowait(Q, yc_bytes("\xff", 1)), YC_OK); /* unsigned */
    tr_drain(6);
    CHECK_STR(trace, "b'',b'app',b'apple',b'fig',b'pear',b'\\xff'");
    free_q();
}

/* Items that cannot be ordered: TypeError as Python's '<', and (unlike
 * CPython, whose heappush leaves the item in the list) the queue
 * unchanged. */
TEST(queue_priority_refuses_what_cannot_be_ordered)
{
    new_q(0, YC_QUEUE_PRIORITY);
    CHECK_ST(yc_queue_put_nowait(Q, yc_bytes("x", 1)), YC_OK);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_RAISE);
    CHECK_EXC(&yc_TypeError, "TypeError: '<' not supported between instances of 'int' and 'bytes'");
    CHECK_ST(yc_queue_put_nowait(Q, yc_ptr(Q)), YC_RAISE);
    CHECK_EXC(&yc_TypeError,
              "TypeError: '<' not supported between instances of 'pointer' and 'bytes'");
    CHECK_EQ_INT(yc_queue_qsize(Q), 1);
    CHECK_STR(queue_tail(Q), "maxsize=0 _queue=[b'x'] tasks=1>");
    CHECK_ST(yc_queue_get_nowait(Q, NULL), YC_OK);
    /* one item alone is never compared */
    CHECK_ST(yc_queue_put_nowait(Q, YC_NONE), YC_OK);
    CHECK_ST(yc_queue_put_nowait(Q, YC_NONE), YC_RAISE);
    CHECK_EXC(&yc_TypeError,
              "TypeError: '<' not supported between instances of 'NoneType' and 'NoneType'");
    CHECK_ST(yc_queue_put_nowait(Q, yc_float(1.5)), YC_RAISE);
    CHECK_EXC(&yc_TypeError,
              "TypeError: '<' not supported between instances of 'float' and 'NoneType'");
    CHECK_EQ_INT(yc_queue_qsize(Q), 1);
    free_q();
}

/* A comparison function orders anything; equal items come out in
 * insertion order. */
typedef struct job {
    int prio;
    const char *name;
} job;

static int by_prio(yc_val a, yc_val b, void *ud)
{
    ++*(int *)ud;
    const job *x = a.p, *y = b.p;
    return (x->prio > y->prio) - (x->prio < y->prio);
}

TEST(queue_priority_compare_function_fifo_among_equals)
{
    tr_reset();
    int calls = 0;
    new_q(0, YC_QUEUE_PRIORITY);
    CHECK_ST(yc_queue_set_compare(Q, by_prio, &calls), YC_OK);
    static const job jobs[] = {{2, "b1"}, {1, "a1"}, {2, "b2"}, {3, "c1"}, {1, "a2"},
                               {2, "b3"}, {1, "a3"}, {3, "c2"}, {2, "b4"}};
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++)
        CHECK_ST(yc_queue_put_nowait(Q, yc_ptr((void *)&jobs[i])), YC_OK);
    while (!yc_queue_empty(Q)) {
        yc_val v;
        CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
        tr("%s", ((const job *)v.p)->name);
    }
    CHECK_STR(trace, "a1 a2 a3 b1 b2 b3 b4 c1 c2");
    CHECK(calls > 0);
    /* only on an empty priority queue */
    CHECK_ST(yc_queue_put_nowait(Q, yc_ptr((void *)&jobs[0])), YC_OK);
    CHECK_ST(yc_queue_set_compare(Q, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_set_compare: the queue is not empty");
    yc_queue *f = yc_queue_new(0, YC_QUEUE_FIFO);
    CHECK_ST(yc_queue_set_compare(f, by_prio, NULL), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_set_compare: not a priority queue");
    CHECK_ST(yc_queue_free(f), YC_OK);
    free_q();
}

/* FIFO storage is a ring: it wraps and grows in order. */
TEST(queue_fifo_ring_wraps_and_grows)
{
    new_q(0, YC_QUEUE_FIFO);
    int64_t next_in = 0, next_out = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < 7; k++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(next_in++)), YC_OK);
        for (int k = 0; k < 5; k++) {
            yc_val v;
            CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
            CHECK_INTV(v, next_out++);
        }
    }
    CHECK_EQ_INT(yc_queue_qsize(Q), 100);
    while (!yc_queue_empty(Q)) {
        yc_val v;
        CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
        CHECK_INTV(v, next_out++);
    }
    CHECK_EQ_INT(next_out, next_in);
    free_q();
}

/* ======================================================================
 * Waiting that ends otherwise, misuse, memory
 * ==================================================================== */

/* Every task waits on the queue and nothing can wake them: the deadlock
 * RuntimeError thrown into the main task is not a CancelledError, and the
 * getter's cleanup (asyncio's bare except) still takes it off the list. */
static yc_val get_forever(void *arg)
{
    (void)arg;
    yc_queue_get(Q);
    return YC_NONE;
}

TEST(queue_deadlock_leaves_the_queue_clean)
{
    new_q(0, YC_QUEUE_FIFO);
    CHECK_ST(yc_loop_run(get_forever, NULL, &vclock, NULL), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError,
              "RuntimeError: deadlock: every task is waiting and nothing can wake them");
    CHECK_STR(queue_tail(Q), "maxsize=0>");
    free_q();
}

/* A loop closed with a task waiting in get: the task is destroyed
 * (GeneratorExit at its await), and leaves the queue free to go. */
static int destroyed_reports;

static void count_report(yc_exc *e, const char *obj, void *ud)
{
    (void)e;
    (void)ud;
    if (strstr(obj, "Task was destroyed but it is pending!")) destroyed_reports++;
}

static yc_val sleep_twice(void *arg)
{
    (void)arg;
    yc_sleep(0);
    yc_sleep(0);
    return YC_NONE;
}

TEST(queue_waiter_destroyed_by_closing_loop)
{
    new_q(0, YC_QUEUE_FIFO);
    yc_loop *L = yc_loop_new(&vclock);
    yc_task *g = yc_loop_spawn(L, get_forever, NULL, NULL);
    yc_task *s = yc_loop_spawn(L, sleep_twice, NULL, NULL);
    CHECK_ST(yc_loop_run_until_complete(L, s, NULL), YC_OK);
    CHECK_STR(queue_tail(Q), "maxsize=0 _getters[1]>");
    CHECK_ST(yc_queue_free(Q), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_free: tasks are waiting on the queue");
    destroyed_reports = 0;
    yc_set_unraisable_hook(count_report, NULL);
    CHECK_ST(yc_loop_close(L), YC_OK);
    yc_set_unraisable_hook(NULL, NULL);
    CHECK_EQ_INT(destroyed_reports, 1);
    CHECK(yc_task_cancelled(g));
    CHECK_STR(queue_tail(Q), "maxsize=0>");
    yc_task_unref(g);
    yc_task_unref(s);
    CHECK_ST(yc_loop_free(L), YC_OK);
    free_q();
}

/* docs/loop.md's example: a get under a timeout under a lock. The timeout
 * cancels the getter (it leaves the list), TimeoutError comes out, the
 * lock is released. */
static yc_val timeout_get_main(void *arg)
{
    (void)arg;
    yc_lock *lk = yc_lock_new();
    YC_TRY {
        YC_WITH(yc_cm_lock(lk), _) {
            YC_WITH(yc_cm_timeout(2.0), tm) {
                yc_queue_get(Q);
            } YC_END_WITH;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        tr("%s at %g locked=%d %s", caught_text(), yc_loop_time(NULL), yc_lock_locked(lk),
           queue_tail(Q));
    } YC_END;
    CHECK_ST(yc_lock_free(lk), YC_OK);
    return YC_NONE;
}

TEST(queue_get_under_a_timeout)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(timeout_get_main, NULL);
    CHECK_STR(trace, "TimeoutError at 2 locked=0 maxsize=0>");
    free_q();
}

/* Freeing a queue a task waits on (or was woken from and has not run
 * yet) is refused; nothing is freed. */
static yc_val free_busy_main(void *arg)
{
    (void)arg;
    yc_task *t = spawn(getter, IARG(0));
    yc_sleep(0);
    CHECK_ST(yc_queue_free(Q), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_free: tasks are waiting on the queue");
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(3)), YC_OK); /* woken, not run */
    CHECK_ST(yc_queue_free(Q), YC_EBUSY);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_free: tasks are waiting on the queue");
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(queue_free_refused_while_tasks_wait)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(free_busy_main, NULL);
    CHECK_STR(trace, "g0=3");
    free_q();
}

/* asyncio's _LoopBoundMixin: a queue that made a future on one loop
 * refuses to wait on another. */
static yc_val get_after_put(void *arg)
{
    (void)arg;
    yc_task *t = spawn(getter, IARG(0));
    yc_sleep(0);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(1)), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

static yc_val get_on_second_loop(void *arg)
{
    (void)arg;
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(2)), YC_OK); /* no waiting: fine */
    CHECK_INTV(yc_queue_get(Q), 2);
    yc_queue_get(Q); /* would wait: raises */
    return YC_NONE;
}

TEST(queue_bound_to_one_loop)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(get_after_put, NULL);
    CHECK_ST(yc_loop_run(get_on_second_loop, NULL, &vclock, NULL), YC_RAISE);
    char want[256];
    snprintf(want, sizeof want,
             "RuntimeError: <Queue at 0x%" PRIxPTR " maxsize=0 tasks=2> is bound to a "
             "different event loop",
             (uintptr_t)Q);
    CHECK_STR(take_exc_text(), want);
    CHECK_STR(queue_tail(Q), "maxsize=0 tasks=2>");
    free_q();
}

/* Misuse: NULL and bad arguments, body-side calls outside a task. */
static yc_val null_queue_body(void *arg)
{
    int which = ARGI(arg);
    YC_TRY {
        if (which == 0) yc_queue_put(NULL, YC_NONE);
        else if (which == 1) yc_queue_get(NULL);
        else yc_queue_join(NULL);
    } YC_EXCEPT(&yc_TypeError) {
        tr("%s", caught_text());
    } YC_END;
    return YC_NONE;
}

static void get_in_callback(void *arg)
{
    (void)arg;
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_RuntimeError) {
        tr("%s", caught_text());
    } YC_END;
}

static yc_val callback_main(void *arg)
{
    (void)arg;
    CHECK_ST(yc_loop_call_soon(NULL, get_in_callback, NULL, NULL), YC_OK);
    yc_sleep(0);
    return YC_NONE;
}

TEST(queue_misuse)
{
    CHECK(yc_queue_new(0, 3) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: yc_queue_new: unknown kind 3");
    CHECK_ST(yc_queue_free(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    CHECK_ST(yc_queue_put_nowait(NULL, YC_NONE), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    yc_val v = yc_int(1);
    CHECK_ST(yc_queue_get_nowait(NULL, &v), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    CHECK(yc_is_none(v));
    CHECK_ST(yc_queue_task_done(NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    CHECK_ST(yc_queue_shutdown(NULL, true), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    CHECK_ST(yc_queue_set_compare(NULL, NULL, NULL), YC_EINVAL);
    CHECK_EXC(&yc_TypeError, "TypeError: queue is NULL");
    /* not a queue: refused where the magic number tells */
    int junk[32] = {0};
    CHECK_ST(yc_queue_put_nowait((yc_queue *)junk, YC_NONE), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live queue (freed or corrupted)");
    CHECK_ST(yc_queue_free((yc_queue *)junk), YC_EINVAL);
    CHECK_EXC(&yc_ValueError, "ValueError: not a live queue (freed or corrupted)");
    CHECK(yc_queue_qsize(NULL) == 0 && yc_queue_maxsize(NULL) == 0);
    CHECK(yc_queue_empty(NULL) && !yc_queue_full(NULL));
    for (int i = 0; i < 3; i++) {
        run_main(null_queue_body, IARG(i));
        CHECK_STR(trace, "TypeError: queue is NULL");
    }
    /* body side outside a loop, and in a loop callback */
    new_q(0, YC_QUEUE_FIFO);
    tr_reset();
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_RuntimeError) {
        tr("%s", caught_text());
    } YC_END;
    CHECK_STR(trace, "RuntimeError: no running event loop");
    run_main(callback_main, NULL);
    CHECK_STR(trace, "RuntimeError: yc_queue_get() outside a task");
    free_q();
}

/* Allocation failures: MemoryError, the queue unchanged and usable. */
static yc_val alloc_main(void *arg)
{
    (void)arg;
    for (int i = 0; i < 8; i++) CHECK_ST(yc_queue_put_nowait(Q, yc_int(i)), YC_OK);
    fail_alloc_after(1); /* the array's growth */
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(8)), YC_ENOMEM);
    CHECK_EXC(&yc_MemoryError, NULL);
    CHECK_EQ_INT(alloc_failures, 1);
    CHECK_STR(queue_tail(Q), "maxsize=0 _queue=[0, 1, 2, 3, 4, 5, 6, 7] tasks=8>");
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(8)), YC_OK);
    for (int i = 0; i < 9; i++) {
        yc_val v;
        CHECK_ST(yc_queue_get_nowait(Q, &v), YC_OK);
        CHECK_INTV(v, i);
    }
    fail_alloc_after(1); /* the getter's future */
    YC_TRY {
        yc_queue_get(Q);
    } YC_EXCEPT(&yc_MemoryError) {
        tr("nomem");
    } YC_END;
    stop_failing();
    CHECK_STR(queue_tail(Q), "maxsize=0 tasks=9>");
    yc_task *t = spawn(getter, IARG(0));
    yc_sleep(0);
    CHECK_ST(yc_queue_put_nowait(Q, yc_int(42)), YC_OK);
    yc_await(t);
    yc_task_unref(t);
    return YC_NONE;
}

TEST(queue_allocation_failures)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(alloc_main, NULL);
    yc_set_allocator(NULL, NULL);
    CHECK_STR(trace, "nomem g0=42");
    free_q();
}

/* The constructor out of memory: NULL with MemoryError. */
TEST(queue_new_out_of_memory)
{
    fail_alloc_after(1);
    CHECK(yc_queue_new(4, YC_QUEUE_PRIORITY) == NULL);
    CHECK_EXC(&yc_MemoryError, NULL);
    yc_set_allocator(NULL, NULL);
}

/* The queue works from generators a task iterates: a get deep in a
 * generator suspends the whole task. */
static yc_val gen_of_gets(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) yc_yield(yc_queue_get(Q));
    return YC_NONE;
}

static yc_val feeder(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        yc_sleep(0);
        yc_queue_put(Q, yc_int(i * 10));
    }
    return YC_NONE;
}

static yc_val gen_main(void *arg)
{
    (void)arg;
    yc_task *f = spawn(feeder, NULL);
    yc_gen *g = yc_gen_new(gen_of_gets, NULL, NULL);
    yc_val v;
    int st;
    while ((st = yc_next(g, &v)) == YC_YIELD) tr("%" PRId64, v.i);
    CHECK_ST(st, YC_RETURN);
    yc_gen_free(g);
    yc_await(f);
    yc_task_unref(f);
    return YC_NONE;
}

TEST(queue_get_inside_a_generator)
{
    new_q(0, YC_QUEUE_FIFO);
    run_main(gen_main, NULL);
    CHECK_STR(trace, "0 10 20");
    free_q();
}

/* Two tasks hand a counter through two queues of maxsize 1. Each hop is a
 * wake-up the parking task runs itself when the loop would run it next
 * (park's direct hand-off, src/task.c); a callback, a timer due, a task
 * yielding and the ends of both (a return, a raise right after a resume)
 * come in between, and each must land where asyncio puts it. The names
 * traced are yc_task_current's. */
static yc_queue *PQ[2];

static void tr_text(void *arg) { tr("%s", (const char *)arg); }

static yc_val hop_a(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++) {
        if (i == 1) CHECK_ST(yc_loop_call_soon(yc_loop_current(), tr_text, "cb", NULL), YC_OK);
        if (i == 3)
            CHECK_ST(yc_loop_call_later(yc_loop_current(), 0, tr_text, "timer", NULL), YC_OK);
        yc_queue_put(PQ[0], yc_int(i));
        yc_val v = yc_queue_get(PQ[1]);
        tr("%s%" PRId64, yc_task_name(yc_task_current()), v.i);
    }
    return yc_int(7);
}

static yc_val hop_b(void *arg)
{
    (void)arg;
    for (int i = 0; i < 6; i++) {
        yc_val v = yc_queue_get(PQ[0]);
        tr("%s%" PRId64, yc_task_name(yc_task_current()), v.i);
        yc_queue_put(PQ[1], yc_int(v.i + 100));
    }
    yc_raisef(&yc_ValueError, "b ends");
}

static yc_val hop_y(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        yc_sleep(0);
        tr("y%d", i);
    }
    return YC_NONE;
}

static yc_val handoff_main(void *arg)
{
    (void)arg;
    yc_gen_fn fns[3] = {hop_a, hop_b, hop_y};
    const char *names[3] = {"a", "b", "y"};
    yc_task *ts[3];
    for (int i = 0; i < 3; i++) {
        ts[i] = yc_task_spawn(fns[i], NULL, &(yc_task_opts){.name = names[i]});
        CHECK(ts[i] != NULL);
    }
    yc_gather(ts, 3, YC_RETURN_EXCEPTIONS);
    yc_val r;
    CHECK_ST(yc_task_result(ts[0], &r), YC_OK);
    yc_exc *e = NULL;
    CHECK_ST(yc_task_exception(ts[1], &e), YC_OK);
    char text[128];
    yc_exc_format(e, text, sizeof text);
    tr("%" PRId64 " %s", r.i, text);
    for (int i = 0; i < 3; i++) yc_task_unref(ts[i]);
    return YC_NONE;
}

TEST(queue_pingpong_handoff)
{
    PQ[0] = yc_queue_new(1, YC_QUEUE_FIFO);
    PQ[1] = yc_queue_new(1, YC_QUEUE_FIFO);
    CHECK(PQ[0] != NULL && PQ[1] != NULL);
    run_main(handoff_main, NULL);
    CHECK_STR(trace, "b0 a100 y0 cb b1 y1 a101 b2 a102 b3 timer a103 b4 a104 b5 a105 7 "
                     "ValueError: b ends");
    CHECK_ST(yc_queue_free(PQ[0]), YC_OK);
    CHECK_ST(yc_queue_free(PQ[1]), YC_OK);
}

TEST_MAIN()
