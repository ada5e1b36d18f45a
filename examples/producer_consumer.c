/*
 * producer_consumer: two tasks joined by a bounded queue, a timeout per item.
 *
 * The producer makes 12 readings, one every 10 ms, and puts them into a
 * queue of 3; when the consumer falls behind the queue fills up and put
 * waits (backpressure). Before reading 8 the sensor stalls for 200 ms: the
 * consumer waits for each item under a 50 ms timeout, reports the stall
 * twice and goes on. At the end the producer shuts the queue down; the
 * consumer drains what is left and stops at QueueShutDown. In Python:
 *
 *     async def producer(q):
 *         for i in range(12):
 *             await asyncio.sleep(0.2 if i == 8 else 0.01)
 *             await q.put(i * i)
 *         q.shutdown()
 *
 *     async def consumer(q):
 *         while True:
 *             try:
 *                 async with asyncio.timeout(0.05):
 *                     item = await q.get()
 *             except TimeoutError:
 *                 print("no reading within 50 ms")
 *                 continue
 *             except asyncio.QueueShutDown:
 *                 break
 *             await asyncio.sleep(0.02)        # slower than the producer
 */
#include <yieldc.h>

#include <stdio.h>

#define READINGS 12

static double t0;

static double ms(void) { return (yc_loop_time(NULL) - t0) * 1000; }

static yc_val producer(void *arg)
{
    yc_queue *q = arg;
    for (int i = 0; i < READINGS; i++) {
        yc_sleep(i == 8 ? 0.2 : 0.01);
        double before = ms();
        yc_queue_put(q, yc_int(i * i)); /* waits while the queue is full */
        double waited = ms() - before;
        if (waited >= 1) printf("%6.0f ms  producer waited %.0f ms for room\n", ms(), waited);
    }
    yc_queue_shutdown(q, false); /* the consumer drains the rest */
    printf("%6.0f ms  producer done\n", ms());
    return YC_NONE;
}

static yc_val consumer(void *arg)
{
    yc_queue *q = arg;
    volatile int got = 0, stalls = 0;
    for (;;) {
        volatile int64_t item = -1;
        volatile int done = 0;
        YC_TRY {
            YC_WITH(yc_cm_timeout(0.05), tm) {
                item = yc_queue_get(q).i;
            } YC_END_WITH;
        } YC_EXCEPT(&yc_TimeoutError) {
            stalls++;
            printf("%6.0f ms  consumer: no reading within 50 ms\n", ms());
        } YC_EXCEPT(&yc_QueueShutDown) {
            done = 1;
        } YC_END;
        if (done) break;
        if (item < 0) continue;
        got++;
        printf("%6.0f ms  consumer got %lld (%zu waiting)\n", ms(), (long long)item,
               yc_queue_qsize(q));
        yc_sleep(0.02); /* slower than the producer */
    }
    printf("%6.0f ms  consumer done: %d readings, %d stalls\n", ms(), got, stalls);
    return yc_int(got);
}

static yc_val main_task(void *arg)
{
    (void)arg;
    t0 = yc_loop_time(NULL);
    yc_queue *q = yc_queue_new(3, YC_QUEUE_FIFO);
    if (!q) yc_raise(yc_err_take());
    yc_task *ts[2] = {yc_task_spawn(producer, q, NULL), yc_task_spawn(consumer, q, NULL)};
    yc_gather(ts, 2, 0);
    yc_val got = yc_await(ts[1]);
    yc_task_unref(ts[0]);
    yc_task_unref(ts[1]);
    yc_queue_free(q);
    return got;
}

int main(void)
{
    yc_val got;
    int st = yc_loop_run(main_task, NULL, NULL, &got);
    if (st != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    return got.i == READINGS ? 0 : 1;
}
