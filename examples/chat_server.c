/*
 * chat_server: a chat room where a slow reader is dropped, not waited for.
 *
 * Every line a member sends goes to every other member. The server reads
 * each connection in its own task and hands each line to the other
 * members' bounded queues (put_nowait); a writer task per member empties
 * its queue into its socket. A member that does not read fills its socket,
 * then its queue, and the next put_nowait that finds the queue full drops
 * it: the others never wait for it. In Python:
 *
 *     async def handle(reader, writer):
 *         me = Member(writer, asyncio.Queue(QUEUE_MAX))
 *         room.add(me)
 *         me.task = asyncio.create_task(me.write_queued())
 *         try:
 *             async for line in reader:
 *                 for m in room - {me}:
 *                     try: m.queue.put_nowait(line)
 *                     except asyncio.QueueFull: m.drop()
 *                 await asyncio.sleep(0)
 *         finally:
 *             room.discard(me); me.task.cancel(); writer.close()
 *
 * The example runs the server and its clients in one loop: FAST clients
 * that send MESSAGES lines each while reading everything the others send,
 * and one slow client that reads nothing until they are done. It checks
 * that every fast client got every line of the others, in order, and that
 * the slow one was dropped (it sees end of file early).
 */
#include <yieldc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define FAST 4
#define MESSAGES 500
#define QUEUE_MAX 32 /* lines a member may fall behind before it is dropped */
#define SOCK_BUF 8192 /* kernel socket buffers kept small: the queue decides */
#define MAX_MEMBERS 64
#define LINE_LEN 100 /* each line padded to this length, newline included */

/* A line shared by the queues it was put in; freed by the last holder. */
typedef struct msg {
    int refs;
    size_t len;
    char data[];
} msg;

static void msg_unref(msg *x)
{
    if (--x->refs == 0) free(x);
}

/* One connection as the server sees it. */
typedef struct member {
    yc_stream *s;     /* borrowed from yc_stream_serve */
    yc_queue *q;      /* lines to send: yc_ptr(msg *), one reference each */
    yc_task *writer;
    bool dropped;
} member;

typedef struct room {
    int lfd;
    member *members[MAX_MEMBERS];
    int count, expected;
    yc_event *all_joined; /* set when `expected` members are in */
    long dropped, lines_in;
} room;

/* Writer task of a member: sends its queued lines in order until it is
 * cancelled or the socket fails. */
static yc_val member_writer(void *arg)
{
    member *m = arg;
    for (;;) {
        msg *x = yc_queue_get(m->q).p;
        YC_TRY {
            if (yc_stream_write(m->s, x->data, x->len) != YC_OK) yc_raise(yc_err_take());
            yc_stream_drain(m->s);
        } YC_FINALLY {
            msg_unref(x);
        } YC_END;
    }
    return YC_NONE;
}

/* Drops m: shutting the socket down wakes its reader (end of file) and
 * its writer (BrokenPipeError); the reader's finally block cleans up. */
static void drop(room *r, member *m)
{
    m->dropped = true;
    r->dropped++;
    shutdown(yc_stream_fd(m->s), SHUT_RDWR);
}

/* Hands a copy of line to every other member still in the room; never
 * waits. A member whose queue is full is dropped. */
static void broadcast(room *r, const member *from, const char *line, size_t n)
{
    msg *x = malloc(sizeof *x + n);
    if (!x) yc_raise(yc_exc_new(&yc_MemoryError, "chat line"));
    x->refs = 1; /* ours, until the loop below is done */
    x->len = n;
    memcpy(x->data, line, n);
    for (int i = 0; i < r->count; i++) {
        member *m = r->members[i];
        if (m == from || m->dropped) continue;
        if (yc_queue_put_nowait(m->q, yc_ptr(x)) == YC_OK) {
            x->refs++;
        } else { /* QueueFull: this one is too slow */
            yc_err_clear();
            drop(r, m);
        }
    }
    msg_unref(x);
}

static void leave(room *r, member *m)
{
    for (int i = 0; i < r->count; i++)
        if (r->members[i] == m) {
            r->members[i] = r->members[--r->count];
            return;
        }
}

/* The connection handler (a task of yc_stream_serve): joins the room, then
 * broadcasts each line the member sends until it closes or is dropped. */
static void on_connect(yc_stream *s, void *arg)
{
    room *r = arg;
    member m = {.s = s};
    setsockopt(yc_stream_fd(s), SOL_SOCKET, SO_SNDBUF, &(int){SOCK_BUF}, sizeof(int));
    if (r->count == MAX_MEMBERS) return; /* room full: the stream is closed */
    if (!(m.q = yc_queue_new(QUEUE_MAX, YC_QUEUE_FIFO))) yc_raise(yc_err_take());
    if (!(m.writer = yc_task_spawn(member_writer, &m, NULL))) {
        yc_queue_free(m.q);
        yc_raise(yc_err_take());
    }
    YC_TRY {
        r->members[r->count++] = &m;
        if (r->count == r->expected) yc_event_set(r->all_joined);
        size_t n;
        const char *line;
        while ((line = yc_stream_readline(s, &n)), n > 0 && line[n - 1] == '\n') {
            r->lines_in++;
            broadcast(r, &m, line, n);
            yc_sleep(0); /* let the writers run: a burst of input is not a slow reader */
        }
    } YC_FINALLY {
        leave(r, &m);
        yc_task_cancel(m.writer, NULL);
        YC_TRY {
            yc_await(m.writer);
        } YC_EXCEPT_ANY { /* cancelled, or BrokenPipeError after a drop */
        } YC_END;
        yc_task_unref(m.writer);
        yc_val v;
        while (yc_queue_get_nowait(m.q, &v) == YC_OK) msg_unref(v.p);
        yc_err_clear(); /* QueueEmpty */
        yc_queue_free(m.q);
    } YC_END;
}

static yc_val server(void *arg)
{
    room *r = arg;
    yc_stream_serve(r->lfd, on_connect, r);
    return YC_NONE;
}

/* ---- the clients ------------------------------------------------------- */

typedef struct client {
    int id;
    yc_stream *s;
    long sent, received, out_of_order;
    int next[FAST]; /* next sequence number expected from each sender */
} client;

static room chat;
static client fast[FAST];
static long slow_received;
static yc_event *fast_done;

/* Reads the others' lines until it has all of them, checking each
 * sender's order. */
static yc_val fast_reader(void *arg)
{
    client *c = arg;
    while (c->received < (long)(FAST - 1) * MESSAGES) {
        size_t n;
        const char *line = yc_stream_readline(c->s, &n);
        if (n == 0) yc_raise(yc_exc_new(&yc_EOFError, "client %d was dropped", c->id));
        char head[32]; /* the stream's bytes are not NUL-terminated */
        size_t k = n < sizeof head ? n : sizeof head - 1;
        memcpy(head, line, k);
        head[k] = '\0';
        int from, seq;
        if (sscanf(head, "from %d #%d", &from, &seq) != 2 || from < 0 || from >= FAST ||
            seq != c->next[from]++)
            c->out_of_order++;
        c->received++;
    }
    return YC_NONE;
}

static yc_val fast_client(void *arg)
{
    client *c = arg;
    c->s = yc_stream_open_connection("127.0.0.1", yc_io_local_port(chat.lfd));
    YC_TRY {
        yc_event_wait(chat.all_joined);
        YC_WITH(yc_cm_taskgroup(), g) {
            yc_task *t = yc_taskgroup_spawn(g.p, fast_reader, c, NULL);
            if (!t) yc_raise(yc_err_take());
            yc_task_unref(t);
            for (int j = 0; j < MESSAGES; j++) {
                char line[LINE_LEN + 1];
                int k = snprintf(line, sizeof line, "from %d #%d ", c->id, j);
                memset(line + k, '.', LINE_LEN - 1 - (size_t)k);
                line[LINE_LEN - 1] = '\n';
                if (yc_stream_write(c->s, line, LINE_LEN) != YC_OK) yc_raise(yc_err_take());
                yc_stream_drain(c->s);
                c->sent++;
            }
        } YC_END_WITH;
    } YC_FINALLY {
        yc_stream_free(c->s);
    } YC_END;
    return YC_NONE;
}

/* Connects with a small receive buffer, reads nothing until the fast
 * clients are done, then reads what reached it until end of file. */
static yc_val slow_client(void *arg)
{
    (void)arg;
    int fd = yc_io_socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) yc_raise(yc_err_take());
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &(int){SOCK_BUF}, sizeof(int));
    yc_stream *s = yc_stream_new(fd, 0);
    if (!s) {
        yc_io_close(fd);
        yc_raise(yc_err_take());
    }
    YC_TRY {
        struct sockaddr_storage ss;
        socklen_t len;
        if (yc_io_sockaddr("127.0.0.1", yc_io_local_port(chat.lfd), &ss, &len) != YC_OK)
            yc_raise(yc_err_take());
        yc_io_connect(fd, (struct sockaddr *)&ss, len);
        yc_event_wait(fast_done);
        YC_TRY {
            size_t n;
            /* stops at end of file (dropped) or when it has every line
             * (not dropped: the check in main fails) */
            while (slow_received < FAST * MESSAGES && (yc_stream_readline(s, &n), n > 0))
                slow_received++;
        } YC_EXCEPT(&yc_ConnectionResetError) {
        } YC_END;
    } YC_FINALLY {
        yc_stream_free(s);
    } YC_END;
    return YC_NONE;
}

static yc_val main_task(void *arg)
{
    (void)arg;
    chat.lfd = yc_io_listen_tcp("127.0.0.1", 0, MAX_MEMBERS);
    if (chat.lfd < 0) yc_raise(yc_err_take());
    yc_task *srv = yc_task_spawn(server, &chat, NULL);
    if (!srv) yc_raise(yc_err_take());
    YC_TRY {
        yc_task *slow = yc_task_spawn(slow_client, NULL, NULL);
        if (!slow) yc_raise(yc_err_take());
        YC_TRY {
            YC_WITH(yc_cm_taskgroup(), g) {
                for (int i = 0; i < FAST; i++) {
                    fast[i].id = i;
                    yc_task *t = yc_taskgroup_spawn(g.p, fast_client, &fast[i], NULL);
                    if (!t) yc_raise(yc_err_take());
                    yc_task_unref(t);
                }
            } YC_END_WITH;
            yc_event_set(fast_done);
            yc_await(slow);
        } YC_FINALLY {
            yc_task_unref(slow);
        } YC_END;
    } YC_FINALLY {
        yc_task_cancel(srv, NULL);
        YC_TRY {
            yc_await(srv);
        } YC_EXCEPT(&yc_CancelledError) {
        } YC_END;
        yc_task_unref(srv);
        yc_io_close(chat.lfd);
    } YC_END;
    return YC_NONE;
}

int main(void)
{
    chat.expected = FAST + 1;
    chat.all_joined = yc_event_new();
    fast_done = yc_event_new();
    if (!chat.all_joined || !fast_done) return 1;
    int st = yc_loop_run(main_task, NULL, NULL, NULL);
    yc_event_free(chat.all_joined);
    yc_event_free(fast_done);
    if (st != YC_OK) {
        yc_exc_print(yc_err_get(), stderr);
        return 1;
    }
    bool ok = chat.dropped == 1 && slow_received < (long)FAST * MESSAGES;
    for (int i = 0; i < FAST; i++) {
        printf("fast client %d: sent %ld, received %ld of %d, %ld out of order\n", i,
               fast[i].sent, fast[i].received, (FAST - 1) * MESSAGES, fast[i].out_of_order);
        ok &= fast[i].sent == MESSAGES && fast[i].received == (long)(FAST - 1) * MESSAGES &&
              fast[i].out_of_order == 0;
    }
    printf("slow client: %s after %ld of %d lines (queue of %d); %ld member(s) dropped, "
           "%ld lines in\n",
           slow_received < FAST * MESSAGES ? "dropped" : "NOT dropped", slow_received,
           FAST * MESSAGES, QUEUE_MAX, chat.dropped, chat.lines_in);
    return ok ? 0 : 1;
}
