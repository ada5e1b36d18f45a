/*
 * checksums: files written and read from tasks, hashed on the loop's thread pool.
 *
 * Four tasks each write a file (yc_file_write runs on a pool thread: the
 * loop never blocks on the disk), read it back whole, and hash it with
 * yc_to_thread, while a fifth task keeps ticking on the loop. A SIGUSR1
 * handler (a loop callback, not signal context) prints how far they are.
 * In Python:
 *
 *     async def worker(i):
 *         data = bytes(range(256)) * (4096 * (i + 1))
 *         await asyncio.to_thread(Path(f"f{i}").write_bytes, data)
 *         data = await asyncio.to_thread(Path(f"f{i}").read_bytes)
 *         return await asyncio.to_thread(fnv1a, data)
 */
#define _GNU_SOURCE
#include <yieldc.h>

#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WORKERS 4

static char dir[] = "/tmp/yc_checksums_XXXXXX";
static int done_count;

typedef struct blob {
    const char *data;
    size_t len;
} blob;

/* Runs on a pool thread: plain C, may take its time. */
static yc_val fnv1a(void *arg)
{
    const blob *b = arg;
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < b->len; i++) h = (h ^ (unsigned char)b->data[i]) * 1099511628211u;
    return yc_int((int64_t)h);
}

static yc_val worker(void *arg)
{
    int i = (int)(intptr_t)arg;
    char path[64];
    snprintf(path, sizeof path, "%s/f%d", dir, i);
    size_t len = 256 * 4096 * (size_t)(i + 1);
    char *volatile out = malloc(len); /* freed on every way out (a wait may raise) */
    if (!out) yc_raisef(&yc_MemoryError, NULL);
    YC_TRY {
        for (size_t k = 0; k < len; k++) out[k] = (char)k;
        int fd = yc_file_open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        volatile int vfd = fd;
        YC_TRY {
            yc_file_write(fd, out, len); /* all of it, on the pool */
        } YC_FINALLY {
            yc_file_close(vfd);
        } YC_END;
    } YC_FINALLY {
        free(out);
    } YC_END;

    char *volatile data = NULL;
    volatile size_t n = 0;
    volatile yc_val h = YC_NONE;
    YC_TRY {
        char *d;
        n = yc_file_read_all(path, &d);
        data = d;
        blob b = {d, n}; /* on this task's stack: to_thread waits for fnv1a */
        h = yc_to_thread(fnv1a, &b);
    } YC_FINALLY {
        yc_file_data_free(data);
        unlink(path);
    } YC_END;
    done_count++;
    printf("f%d: %zu bytes, fnv1a %016llx\n", i, n, (unsigned long long)h.i);
    return h;
}

static yc_val ticker(void *arg)
{
    (void)arg;
    for (;;) yc_sleep(0.001); /* the loop stays responsive meanwhile */
    return YC_NONE;
}

static void on_usr1(void *arg)
{
    (void)arg;
    printf("SIGUSR1: %d of %d files done\n", done_count, WORKERS);
}

static yc_val main_task(void *arg)
{
    (void)arg;
    yc_loop_add_signal_handler(yc_loop_current(), SIGUSR1, on_usr1, NULL);
    yc_task *tick = yc_task_spawn(ticker, NULL, NULL);
    yc_task *ts[WORKERS];
    for (int i = 0; i < WORKERS; i++) ts[i] = yc_task_spawn(worker, (void *)(intptr_t)i, NULL);
    kill(getpid(), SIGUSR1); /* the handler runs at the loop's next turn */
    yc_gather(ts, WORKERS, 0);
    kill(getpid(), SIGUSR1);
    yc_sleep(0.01); /* let the handler run */
    for (int i = 0; i < WORKERS; i++) yc_task_unref(ts[i]);
    yc_task_cancel(tick, NULL);
    yc_task_unref(tick);
    return YC_NONE;
}

int main(void)
{
    if (!mkdtemp(dir)) return 1;
    int st = yc_loop_run(main_task, NULL, NULL, NULL);
    if (st != YC_OK) yc_exc_print(yc_err_get(), stderr);
    rmdir(dir);
    return st == YC_OK ? 0 : 1;
}
