/*
 * fetch_many: fetches from 100 servers at once, each with its own timeout.
 *
 * The loop runs 100 small servers on their own ports, each answering a
 * request after a different delay (2 ms apart), and a few never
 * answering; then 100 fetch tasks, one per server, each inside a
 * yc_cm_timeout block: the slow ones are cancelled where they wait and
 * counted as timed out while the others go on. In Python:
 *
 *     async def fetch(port):
 *         try:
 *             async with asyncio.timeout(TIMEOUT):
 *                 reader, writer = await asyncio.open_connection("127.0.0.1", port)
 *                 try:
 *                     writer.write(b"GET\n")
 *                     await writer.drain()
 *                     return await reader.readline()
 *                 finally:
 *                     writer.close()
 *         except TimeoutError:
 *             return None
 *
 *     results = await asyncio.gather(*(fetch(p) for p in ports))
 */
#include <yieldc.h>

#include <stdio.h>
#include <string.h>

#define SERVERS 100
#define SILENT_EVERY 25 /* servers 24, 49, 74, 99 never answer */
#define DELAY_STEP 0.002 /* server i answers after i * DELAY_STEP s */
#define TIMEOUT 1.0      /* each fetch's own; the slowest answer is at 0.2 s */

typedef struct site {
    int id, lfd;
    bool silent;
    yc_task *server;
    /* the fetch's outcome */
    bool ok, timed_out;
} site;

static site sites[SERVERS];

/* A server's connection handler: reads the request, then answers after
 * its delay, or (a silent one) waits for the client to hang up. */
static void answer(yc_stream *s, void *arg)
{
    site *me = arg;
    size_t n;
    yc_stream_readline(s, &n);
    if (me->silent) {
        while (yc_stream_read(s, 4096, &n), n > 0) {
        }
        return;
    }
    yc_sleep(me->id * DELAY_STEP);
    char reply[64];
    int k = snprintf(reply, sizeof reply, "hello from server %d\n", me->id);
    if (yc_stream_write(s, reply, (size_t)k) != YC_OK) yc_raise(yc_err_take());
    yc_stream_drain(s);
}

static yc_val server(void *arg)
{
    site *me = arg;
    yc_stream_serve(me->lfd, answer, me);
    return YC_NONE;
}

/* One fetch under its own timeout: connect, send, read the answer line. */
static yc_val fetch(void *arg)
{
    site *me = arg;
    YC_TRY {
        YC_WITH(yc_cm_timeout(TIMEOUT), tm) {
            yc_stream *s = yc_stream_open_connection("127.0.0.1", yc_io_local_port(me->lfd));
            YC_TRY {
                if (yc_stream_write(s, "GET\n", 4) != YC_OK) yc_raise(yc_err_take());
                yc_stream_drain(s);
                size_t n;
                const char *line = yc_stream_readline(s, &n);
                char want[64];
                int k = snprintf(want, sizeof want, "hello from server %d\n", me->id);
                me->ok = n == (size_t)k && memcmp(line, want, n) == 0;
            } YC_FINALLY {
                yc_stream_free(s);
            } YC_END;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_TimeoutError) {
        me->timed_out = true;
    } YC_END;
    return YC_NONE;
}

static double elapsed;
static int started; /* servers running (a static: it changes inside YC_TRY) */

/* Cancels a server and waits for it, then closes its socket. */
static void stop(site *p)
{
    yc_task_cancel(p->server, NULL);
    YC_TRY {
        yc_await(p->server);
    } YC_EXCEPT(&yc_CancelledError) {
    } YC_END;
    yc_task_unref(p->server);
    yc_io_close(p->lfd);
}

static yc_val main_task(void *arg)
{
    (void)arg;
    YC_TRY {
        for (; started < SERVERS; started++) {
            site *p = &sites[started];
            p->id = started;
            p->silent = started % SILENT_EVERY == SILENT_EVERY - 1;
            if ((p->lfd = yc_io_listen_tcp("127.0.0.1", 0, 8)) < 0) yc_raise(yc_err_take());
            if (!(p->server = yc_task_spawn(server, p, NULL))) {
                yc_io_close(p->lfd);
                yc_raise(yc_err_take());
            }
        }
        double t0 = yc_loop_time(NULL);
        YC_WITH(yc_cm_taskgroup(), g) {
            for (int i = 0; i < SERVERS; i++) {
                yc_task *t = yc_taskgroup_spawn(g.p, fetch, &sites[i], NULL);
                if (!t) yc_raise(yc_err_take());
                yc_task_unref(t);
            }
        } YC_END_WITH;
        elapsed = yc_loop_time(NULL) - t0;
    } YC_FINALLY {
        for (int i = 0; i < started; i++) stop(&sites[i]);
    } YC_END;
    return YC_NONE;
}

int main(void)
{
    /* The virtual clock: the delays and timeouts are loop time, which jumps
     * to the next deadline whenever every task waits (the sockets are
     * polled first), so the outcome does not depend on how fast or loaded
     * the machine is. */
    yc_loop_opts o = {.clock = YC_CLOCK_VIRTUAL};
    if (yc_loop_run(main_task, NULL, &o, NULL) != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    int ok = 0, timed_out = 0, wrong = 0;
    for (int i = 0; i < SERVERS; i++) {
        const site *p = &sites[i];
        ok += p->ok;
        timed_out += p->timed_out;
        /* silent servers time out; every other one answers correctly */
        if (p->silent ? !p->timed_out || p->ok : !p->ok || p->timed_out) wrong++;
    }
    printf("%d fetches at once, %.1f s timeout each: %d succeeded, %d timed out, %d wrong, "
           "in %.2f s of loop time\n",
           SERVERS, TIMEOUT, ok, timed_out, wrong, elapsed);
    return wrong == 0 ? 0 : 1;
}
