/*
 * rate_limiter: a token bucket shared by tasks: bursts of 5, then 20 per second.
 *
 * Four clients make 6 requests each as fast as they can. The limiter lets a
 * burst of 5 through at once, then one every 50 ms: a client that finds the
 * bucket empty sleeps until its token is due, holding a lock so that the
 * clients are served in the order they asked (asyncio's locks are fair).
 * The run takes about (24 - 5) / 20 = 0.95 s. In Python:
 *
 *     class Limiter:
 *         async def acquire(self):
 *             async with self.lock:
 *                 self.refill()
 *                 if self.tokens < 1:
 *                     await asyncio.sleep((1 - self.tokens) / self.rate)
 *                     self.refill()
 *                 self.tokens -= 1
 */
#include <yieldc.h>

#include <stdio.h>

#define CLIENTS 4
#define REQUESTS 6

typedef struct limiter {
    double rate, burst, tokens, last;
    yc_lock *lock;
} limiter;

static limiter lim;
static double t0;
static int served;

static void refill(limiter *l)
{
    double now = yc_loop_time(NULL);
    l->tokens += (now - l->last) * l->rate;
    if (l->tokens > l->burst) l->tokens = l->burst;
    l->last = now;
}

/* Waits for a token (body side: inside a task). */
static void limiter_acquire(limiter *l)
{
    YC_WITH(yc_cm_lock(l->lock), held) { /* FIFO: first come, first served */
        refill(l);
        if (l->tokens < 1) {
            yc_sleep((1 - l->tokens) / l->rate);
            refill(l);
        }
        l->tokens -= 1;
    } YC_END_WITH;
}

static int names[CLIENTS] = {0, 1, 2, 3};

static yc_val client(void *arg)
{
    int c = *(int *)arg;
    for (int r = 0; r < REQUESTS; r++) {
        limiter_acquire(&lim);
        served++;
        printf("%6.0f ms  client %d request %d (%2d served)\n", (yc_loop_time(NULL) - t0) * 1000, c,
               r, served);
    }
    return YC_NONE;
}

static yc_val main_task(void *arg)
{
    (void)arg;
    t0 = yc_loop_time(NULL);
    lim = (limiter){.rate = 20, .burst = 5, .tokens = 5, .last = t0, .lock = yc_lock_new()};
    if (!lim.lock) yc_raise(yc_err_take());
    yc_task *ts[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) ts[i] = yc_task_spawn(client, &names[i], NULL);
    yc_gather(ts, CLIENTS, 0);
    for (int i = 0; i < CLIENTS; i++) yc_task_unref(ts[i]);
    double took = yc_loop_time(NULL) - t0;
    printf("%d requests in %.2f s: %.1f per second after the burst\n", served, took,
           (served - 5) / took);
    yc_lock_free(lim.lock);
    return yc_bool(served == CLIENTS * REQUESTS && took >= 0.9);
}

int main(void)
{
    yc_val ok;
    int st = yc_loop_run(main_task, NULL, NULL, &ok);
    if (st != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    return ok.b ? 0 : 1;
}
