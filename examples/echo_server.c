/*
 * echo_server: a TCP echo server and 100 clients as tasks of one loop.
 *
 * The server listens on 127.0.0.1 (a free port) and runs one task per
 * connection, reading and writing it back in straight-line code: each
 * read or write suspends only that task, and only when the socket would
 * block. 100 client tasks connect at once, send 20 lines each and check
 * every echo. Then the server is cancelled: its accept loop unwinds, the
 * connection tasks still running are cancelled by the server's task group,
 * and every socket is closed by a finally block. In Python:
 *
 *     async def handle(reader, writer):
 *         while data := await reader.read(4096):
 *             writer.write(data)
 *             await writer.drain()
 *         writer.close()
 *
 *     async def client(port, i):
 *         reader, writer = await asyncio.open_connection("127.0.0.1", port)
 *         for j in range(20):
 *             line = f"client {i} line {j}\n".encode()
 *             writer.write(line)
 *             assert await reader.readexactly(len(line)) == line
 *         writer.close()
 */
#include <yieldc.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CLIENTS 100
#define LINES 20

static int listen_fd;
static long echoed, mismatches, connections;

/* One connection: echo until the client closes. */
static yc_val handle(void *arg)
{
    int fd = (int)(intptr_t)arg;
    YC_TRY {
        char buf[4096];
        size_t n;
        while ((n = yc_io_read(fd, buf, sizeof buf)) > 0) yc_io_write_all(fd, buf, n);
    } YC_FINALLY {
        yc_io_close(fd); /* on EOF, an error or cancellation */
    } YC_END;
    return YC_NONE;
}

/* Accepts until cancelled; the task group waits for (or, when cancelled,
 * cancels) the connection tasks. */
static yc_val server(void *arg)
{
    (void)arg;
    YC_WITH(yc_cm_taskgroup(), g) {
        for (;;) {
            int fd = yc_io_accept(listen_fd, NULL, NULL);
            connections++;
            yc_task *t = yc_taskgroup_spawn(g.p, handle, (void *)(intptr_t)fd, NULL);
            if (!t) {
                yc_io_close(fd);
                yc_raise(yc_err_take());
            }
            yc_task_unref(t);
        }
    } YC_END_WITH;
    return YC_NONE;
}

/* Reads exactly n bytes (readexactly). */
static void read_exactly(int fd, char *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        size_t k = yc_io_read(fd, buf + got, n - got);
        if (k == 0) yc_raise(yc_exc_new(&yc_EOFError, "server closed early"));
        got += k;
    }
}

static int ids[CLIENTS]; /* task arguments outlive the tasks */

static yc_val client(void *arg)
{
    int id = *(int *)arg;
    int fd = yc_io_connect_tcp("127.0.0.1", yc_io_local_port(listen_fd));
    YC_TRY {
        for (int j = 0; j < LINES; j++) {
            char line[64], back[64];
            int n = snprintf(line, sizeof line, "client %d line %d\n", id, j);
            yc_io_write_all(fd, line, (size_t)n);
            read_exactly(fd, back, (size_t)n);
            if (memcmp(line, back, (size_t)n) == 0) echoed++;
            else mismatches++;
        }
    } YC_FINALLY {
        yc_io_close(fd);
    } YC_END;
    return YC_NONE;
}

static yc_val main_task(void *arg)
{
    (void)arg;
    listen_fd = yc_io_listen_tcp("127.0.0.1", 0, CLIENTS);
    if (listen_fd < 0) yc_raise(yc_err_take());
    printf("listening on 127.0.0.1:%d\n", yc_io_local_port(listen_fd));
    yc_task *srv = yc_task_spawn(server, NULL, NULL);
    YC_TRY {
        YC_WITH(yc_cm_taskgroup(), g) {
            for (int i = 0; i < CLIENTS; i++) {
                ids[i] = i;
                yc_task *t = yc_taskgroup_spawn(g.p, client, &ids[i], NULL);
                if (!t) yc_raise(yc_err_take());
                yc_task_unref(t);
            }
        } YC_END_WITH; /* every client done */
    } YC_FINALLY {
        yc_task_cancel(srv, NULL); /* clean shutdown of the server */
        YC_TRY {
            yc_await(srv);
        } YC_EXCEPT(&yc_CancelledError) {
        } YC_END;
        yc_task_unref(srv);
        yc_io_close(listen_fd);
    } YC_END;
    return YC_NONE;
}

int main(void)
{
    if (yc_loop_run(main_task, NULL, NULL, NULL) != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    printf("%ld connections, %ld lines echoed, %ld mismatches; server stopped\n", connections,
           echoed, mismatches);
    return connections == CLIENTS && echoed == CLIENTS * LINES && mismatches == 0 ? 0 : 1;
}
