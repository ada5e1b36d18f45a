/* yieldc: I/O on file descriptors for tasks of the event loop. Included by
 * yieldc.h; do not include directly.
 *
 * Sockets (TCP over IPv4 and IPv6, Unix, UDP), pipes and other pollable
 * descriptors, read and written from inside tasks in straight-line code:
 *
 *   static yc_val echo(void *arg) {
 *       int fd = (int)(intptr_t)arg;
 *       char buf[4096];
 *       size_t n;
 *       while ((n = yc_io_read(fd, buf, sizeof buf)) > 0)   await sock_recv
 *           yc_io_write_all(fd, buf, n);                      await sock_sendall
 *       yc_io_close(fd);
 *       return YC_NONE;
 *   }
 *
 * The model (docs/io.md): every call tries the system call first and
 * suspends the task only when it would block (EAGAIN), until the loop sees
 * the descriptor ready; one task at a time may wait to read a descriptor
 * and one to write it; cancellation (yc_task_cancel, yc_cm_timeout) raises
 * CancelledError where the task waits and nothing is read into or written
 * from its buffer after that; yc_io_close wakes the tasks waiting on the
 * descriptor with OSError EBADF. System call errors raise the OSError
 * subclass CPython raises, with its message ("ConnectionResetError:
 * [Errno 104] Connection reset by peer"). SIGPIPE never kills the process:
 * sockets are written with MSG_NOSIGNAL, pipes with SIGPIPE blocked in
 * the writing thread (and a SIGPIPE the write raised taken back).
 *
 * Descriptors given to these functions must be non-blocking (the socket
 * helpers below make them so); a blocking one is refused with ValueError
 * "the socket must be non-blocking" (12.55; "the file descriptor must be
 * non-blocking" for one that is not a socket). Regular files are accepted
 * and never wait (epoll cannot wait on them; reading one blocks the loop
 * as long as the disk takes).
 *
 * The loop keeps a record of each descriptor it has seen, registered with
 * epoll once (with the io_uring backend, YC_IO_BACKEND=io_uring, the
 * operation that would block goes to the loop's ring instead: docs/io.md). A descriptor the loop has seen must be closed with
 * yc_io_close (not close(2)) while its loop lives: a number closed behind
 * the loop's back and reused by a new descriptor would keep the old
 * registration, and a task would wait on it for ever. Descriptors made by
 * the functions here (accept, the socket helpers) are safe from that.
 *
 * Streams (yc_stream, at the end) add asyncio's StreamReader/StreamWriter
 * on top: readline, readuntil, readexactly, read, write + drain, and
 * yc_stream_serve for a server with a task per connection.
 *
 * Kinds of function, as in loop.h: "body" ones may suspend, run in a task
 * and raise (RuntimeError "no running event loop" outside a loop,
 * "yc_io_read() outside a task" in a callback); the others never suspend
 * and return a status (negative with the exception pending) or -1 for a
 * descriptor.
 */
#ifndef YIELDC_IO_H
#define YIELDC_IO_H

#include <sys/socket.h>
#include <sys/uio.h>

/* ======================================================================
 * Waiting for readiness (body)
 * ==================================================================== */

/* loop.add_reader / add_writer as a wait: returns when fd is readable
 * (data, end of file, an error or a hang-up to read) or writable. Returns
 * at once when it already is. RuntimeError when another task waits in the
 * same direction on fd. */
#define yc_io_wait_readable(fd) yc__io_wait((fd), 0, __FILE__, __LINE__)
#define yc_io_wait_writable(fd) yc__io_wait((fd), 1, __FILE__, __LINE__)

/* ======================================================================
 * Reading and writing (body)
 * ==================================================================== */

/* sock_recv / os.read: reads at most n bytes into buf (borrowed until it
 * returns), waiting until at least one is there. Returns how many were
 * read (>= 1), 0 at end of file (or n == 0). Raises the OSError subclass
 * of the error (ConnectionResetError ...); RuntimeError "yc_io_read()
 * called while another coroutine is already waiting for incoming data"
 * when another task is waiting to read fd (12.54). */
#define yc_io_read(fd, buf, n) yc__io_read((fd), (buf), (n), __FILE__, __LINE__)
/* One write of at most n bytes from buf (borrowed until it returns),
 * waiting until fd takes at least one. Returns how many were written
 * (>= 1; 0 for n == 0). Raises BrokenPipeError for a peer gone (EPIPE),
 * ConnectionResetError, ...; RuntimeError "yc_io_write() called while
 * another coroutine is already waiting for the descriptor to be writable"
 * when another task waits to write fd. */
#define yc_io_write(fd, buf, n) yc__io_write((fd), (buf), (n), __FILE__, __LINE__)
/* sock_sendall: writes all n bytes, waiting as often as fd is full. An
 * exception (cancellation included) leaves an unknown prefix written and
 * nothing more written after it is raised. */
#define yc_io_write_all(fd, buf, n) yc__io_write_all((fd), (buf), (n), __FILE__, __LINE__)
/* Scatter and gather forms of yc_io_read and yc_io_write (readv(2),
 * writev(2); one system call that succeeds, so a short count is possible).
 * iov (and the buffers) borrowed until they return; iovcnt from 0 to
 * IOV_MAX (ValueError outside). */
#define yc_io_readv(fd, iov, iovcnt) yc__io_readv((fd), (iov), (iovcnt), __FILE__, __LINE__)
#define yc_io_writev(fd, iov, iovcnt) yc__io_writev((fd), (iov), (iovcnt), __FILE__, __LINE__)

/* ======================================================================
 * Sockets (body)
 * ==================================================================== */

/* sock_accept: the next connection on listening socket fd, as a new
 * descriptor (non-blocking, close-on-exec; the caller owns it and closes
 * it with yc_io_close). When addr is not NULL, the peer's address is
 * stored there and *addrlen (in: its size) set, as accept(2) does.
 * Connections aborted before they were taken are skipped. Raises OSError
 * (EMFILE: "[Errno 24] Too many open files"), ... */
#define yc_io_accept(fd, addr, addrlen) yc__io_accept((fd), (addr), (addrlen), __FILE__, __LINE__)
/* sock_connect: connects socket fd (non-blocking) to addr (borrowed),
 * waiting for the handshake, and raises what SO_ERROR reports when it
 * fails (ConnectionRefusedError: [Errno 111] Connection refused, ...). */
#define yc_io_connect(fd, addr, addrlen) yc__io_connect((fd), (addr), (addrlen), __FILE__, __LINE__)
/* A new TCP socket connected to ip:port (ip a numeric IPv4 or IPv6
 * address; names need getaddrinfo, which is not here), or a Unix stream
 * socket connected to path. Returns the descriptor, which the caller owns;
 * on an exception nothing is left open. ValueError for a bad address. */
#define yc_io_connect_tcp(ip, port) yc__io_connect_tcp((ip), (port), __FILE__, __LINE__)
#define yc_io_connect_unix(path) yc__io_connect_unix((path), __FILE__, __LINE__)
/* sock_sendto / sock_recvfrom for datagram sockets: one datagram. sendto
 * returns the bytes sent; recvfrom the datagram's length (truncated to n,
 * as recvfrom(2) does), with the sender's address in addr / *addrlen when
 * addr is not NULL. */
#define yc_io_sendto(fd, buf, n, addr, addrlen) \
    yc__io_sendto((fd), (buf), (n), (addr), (addrlen), __FILE__, __LINE__)
#define yc_io_recvfrom(fd, buf, n, addr, addrlen) \
    yc__io_recvfrom((fd), (buf), (n), (addr), (addrlen), __FILE__, __LINE__)

/* ======================================================================
 * Making sockets, closing (caller side: never suspend)
 * ==================================================================== */

/* A listening TCP socket bound to ip:port (numeric IPv4 or IPv6 address;
 * port 0 picks a free one: see yc_io_local_port), with SO_REUSEADDR, as
 * asyncio's create_server. A listening Unix socket bound to path (which
 * must not exist). A UDP socket bound to ip:port. Each returns a
 * non-blocking close-on-exec descriptor that the caller owns, or -1 with
 * the exception pending: ValueError for a bad address or backlog, the
 * OSError subclass of the system call (OSError: [Errno 98] Address already
 * in use). */
YC_API int yc_io_listen_tcp(const char *ip, int port, int backlog);
YC_API int yc_io_listen_unix(const char *path, int backlog);
YC_API int yc_io_udp_bind(const char *ip, int port);
/* A new non-blocking close-on-exec socket (socket(2)'s arguments), or -1
 * with the OSError pending. */
YC_API int yc_io_socket(int domain, int type, int protocol);
/* Fills *ss and *len with the address of numeric ip and port. YC_OK, or
 * YC_EINVAL with ValueError ("yc_io_sockaddr: '...' is not a numeric IPv4
 * or IPv6 address", "port 70000 is outside [0, 65535]"). */
YC_API int yc_io_sockaddr(const char *ip, int port, struct sockaddr_storage *ss, socklen_t *len);
/* The port a TCP or UDP socket is bound to (getsockname), or -1 with the
 * OSError pending. */
YC_API int yc_io_local_port(int fd);
/* Closes fd. When the loop running on this thread knows fd, or else any
 * idle loop of this thread (made or last run here, not running, not
 * closed: e.g. fd is closed after yc_loop_run_until_complete returned),
 * the tasks waiting on it are woken with OSError "[Errno 9] Bad file
 * descriptor" (they run in the next iteration) and that loop forgets it,
 * so that a descriptor given the same number later is watched anew. The
 * loops of other threads, and in a forked child the parent's loops, are
 * not touched: close a descriptor another thread's loop uses in one of
 * its tasks or on that thread (or its number reused there may never be
 * waited for). Returns YC_OK, or
 * YC_RAISE with the OSError of close(2) (EBADF for a descriptor that is
 * not open); fd is closed either way unless it was not open. */
YC_API int yc_io_close(int fd);

/* The I/O backend of loop: "io_uring" or "epoll" (a static string, never
 * freed). A loop uses io_uring when the environment variable
 * YC_IO_BACKEND=io_uring was set when the process first chose (its first
 * loop or yc_config()), the kernel allowed a ring then, and it allowed
 * this loop's own; else epoll (yc_config() says why, docs/io.md). NULL
 * with TypeError "yc_loop_io_backend: not a live event loop" for NULL or
 * a freed loop. */
YC_API const char *yc_loop_io_backend(const yc_loop *loop);

/* ======================================================================
 * Streams: asyncio's StreamReader and StreamWriter over one descriptor
 * ==================================================================== */

/* A buffered stream over a descriptor. The read functions return a
 * pointer into the stream's buffer (never NULL) with the length in *len:
 * it stays valid until the next call on the stream. Written bytes go out
 * at once when the descriptor takes them, the rest later, sent by the loop
 * when the descriptor turns writable; drain after writing (as asyncio
 * asks) so that a writer faster than its peer waits. One
 * task at a time may read a stream: a second gets RuntimeError
 * "yc_stream_readline() called while another coroutine is already waiting
 * for incoming data" (12.54, with the function's name). */
typedef struct yc_stream yc_stream;

/* caller: a stream over fd, which it takes (closed by yc_stream_free or
 * yc_stream_wait_closed); limit is the most readuntil and readline look
 * through for a separator (0: asyncio's 65536). On a TCP socket it sets
 * TCP_NODELAY, as asyncio's transports do (so the streams of
 * yc_stream_serve and yc_stream_open_connection have it too). NULL with
 * MemoryError (fd then stays the caller's), ValueError for fd < 0. */
YC_API yc_stream *yc_stream_new(int fd, size_t limit);
/* caller: closes the descriptor if yc_stream_wait_closed has not (bytes
 * the loop has not sent yet are dropped: yc_stream_wait_closed first to
 * send them) and frees s. YC_OK, or the status of
 * yc_io_close (s freed anyway); YC_EINVAL with RuntimeError
 * "yc_stream_free: a task is waiting on the stream" (s unchanged) while a
 * task waits to read or drain it. NULL is a no-op. */
YC_API int yc_stream_free(yc_stream *s);
/* caller: the descriptor (-1 once closed); whether the peer's end of file
 * was seen and nothing is left buffered (at_eof); the bytes written and
 * not yet sent. */
YC_API int yc_stream_fd(const yc_stream *s);
YC_API bool yc_stream_at_eof(const yc_stream *s);
YC_API size_t yc_stream_buffered(const yc_stream *s);
/* caller: the partial bytes of the last IncompleteReadError (asyncio's
 * e.partial), valid until the next call on s; "" (0) when none. */
YC_API const char *yc_stream_partial(const yc_stream *s, size_t *len);
/* caller: StreamWriter.write (a transport's write): in a running loop,
 * sends at once what the descriptor takes and keeps the rest (copied),
 * which the loop sends whenever the descriptor turns writable, with no
 * task involved; outside a loop it only buffers (the next drain sends).
 * Never waits. Once the connection is lost (a send failed with EPIPE,
 * ECONNRESET, ...: see yc_stream_drain) the bytes are dropped and YC_OK
 * returned, as asyncio's write does. YC_OK; YC_ENOMEM; YC_EINVAL (s NULL,
 * buf NULL with n > 0, or closed: RuntimeError "the stream is closed");
 * YC_RAISE when the loop cannot watch the descriptor (OSError EBADF,
 * ValueError for a blocking one: the bytes stay buffered). */
YC_API int yc_stream_write(yc_stream *s, const void *buf, size_t n);
/* caller: transport.set_write_buffer_limits(high, low), -1 for None: the
 * writer pauses when more than high bytes wait, and a paused drain
 * returns once the loop has sent them down to low or fewer. Defaults 65536
 * and 16384; high -1 is 4 * low (65536 when low is -1 too), low -1 is
 * high / 4. YC_OK, YC_EINVAL with ValueError "high (1) must be >= low (2)
 * must be >= 0" (s unchanged), TypeError/ValueError for a bad s. */
YC_API int yc_stream_set_write_buffer_limits(yc_stream *s, long high, long low);

/* body: asyncio.open_connection(ip, port) for a numeric address: a new
 * stream (the caller frees it) with asyncio's limit, 65536. Raises what
 * yc_io_connect_tcp raises. The _limit form is open_connection(ip, port,
 * limit=limit): limit as yc_stream_new's (0: 65536). */
#define yc_stream_open_connection(ip, port) \
    yc__stream_open_connection((ip), (port), 0, __FILE__, __LINE__)
#define yc_stream_open_connection_limit(ip, port, limit) \
    yc__stream_open_connection((ip), (port), (limit), __FILE__, __LINE__)
/* A connection handler of yc_stream_serve: runs in a task of its own
 * with the connection's stream (borrowed: freed, and its descriptor
 * closed, when the handler returns, after the bytes it wrote are sent)
 * and the serve call's arg. */
typedef void (*yc_stream_handler)(yc_stream *s, void *arg);
/* body: asyncio.start_server + serve_forever on listening socket lfd
 * (borrowed; made with yc_io_listen_tcp or _unix): accepts connections
 * until the calling task is cancelled, running handler(stream, arg) in a
 * new task for each. An exception escaping a handler is reported through
 * the unraisable hook ("Unhandled exception in client_connected_cb", as
 * asyncio's exception handler says) and the server goes on. Cancelling
 * the serving task cancels the handlers and waits for them, then raises
 * CancelledError. accept out of a resource (EMFILE, ENFILE, ENOBUFS,
 * ENOMEM) is reported through the unraisable hook ("socket.accept() out
 * of system resource", with the OSError) and accept tried again one
 * second later (asyncio's ACCEPT_RETRY_DELAY), the open connections
 * served meanwhile; any other accept error ends the server as a
 * cancellation does, with that error. arg must outlive the handlers.
 * Each connection's stream has asyncio's limit, 65536; the _limit form
 * is start_server(..., limit=limit): limit as yc_stream_new's (0:
 * 65536), so a handler's readline of a longer line raises ValueError
 * with LimitOverrunError's message (12.54). */
#define yc_stream_serve(lfd, handler, arg) \
    yc__stream_serve((lfd), (handler), (arg), 0, __FILE__, __LINE__)
#define yc_stream_serve_limit(lfd, handler, arg, limit) \
    yc__stream_serve((lfd), (handler), (arg), (limit), __FILE__, __LINE__)
/* body: readuntil(sep): the bytes up to and including sep (seplen >= 1,
 * else ValueError "Separator should be at least one-byte string").
 * IncompleteReadError "N bytes read on a total of undefined expected
 * bytes" at end of file (the bytes in yc_stream_partial);
 * LimitOverrunError "Separator is not found, and chunk exceed the limit"
 * or "Separator is found, but chunk is longer than limit" (the data stays
 * buffered). */
#define yc_stream_readuntil(s, sep, seplen, len) \
    yc__stream_readuntil((s), (sep), (seplen), (len), __FILE__, __LINE__)
/* body: readline(): a line with its "\n"; at end of file what is left
 * (possibly ""). Over the limit: ValueError with LimitOverrunError's
 * message, the line (or the buffer) dropped, as asyncio does. */
#define yc_stream_readline(s, len) yc__stream_readline((s), (len), __FILE__, __LINE__)
/* body: readexactly(n): n bytes; ValueError "readexactly size can not be
 * less than zero" for n < 0; IncompleteReadError "2 bytes read on a total
 * of 5 expected bytes" at end of file. */
#define yc_stream_readexactly(s, n) yc__stream_readexactly((s), (n), __FILE__, __LINE__)
/* body: read(n): up to n bytes, waiting for at least one unless at end of
 * file ("" then); n < 0 reads until end of file; n == 0 returns "". */
#define yc_stream_read(s, n, len) yc__stream_read((s), (n), (len), __FILE__, __LINE__)
/* body: drain() (FlowControlMixin's): returns at once unless the writer
 * is paused (more than the high water mark waits), else waits until the
 * loop has sent the buffer down to the low mark. Once the connection is
 * lost, the drain waiting then, or else the first drain after it, raises
 * the failed send's OSError (BrokenPipeError "[Errno 32] Broken pipe",
 * ConnectionResetError "[Errno 104] Connection reset by peer", ...) and
 * every later one ConnectionResetError "Connection lost" (12.54).
 * RuntimeError "yc_stream_drain() called while another coroutine is
 * already draining the stream". */
#define yc_stream_drain(s) yc__stream_drain((s), __FILE__, __LINE__)
/* body: close() + wait_closed(): waits until every buffered byte is
 * sent, then closes the descriptor; raises the OSError that lost the
 * connection, if one did. The descriptor is closed even when it raises. */
#define yc_stream_wait_closed(s) yc__stream_wait_closed((s), __FILE__, __LINE__)

/* ======================================================================
 * Private: used by the macros above
 * ==================================================================== */

YC_API void yc__io_wait(int fd, int dir, const char *file, int line);
YC_API size_t yc__io_read(int fd, void *buf, size_t n, const char *file, int line);
YC_API size_t yc__io_write(int fd, const void *buf, size_t n, const char *file, int line);
YC_API void yc__io_write_all(int fd, const void *buf, size_t n, const char *file, int line);
YC_API size_t yc__io_readv(int fd, const struct iovec *iov, int iovcnt, const char *file,
                           int line);
YC_API size_t yc__io_writev(int fd, const struct iovec *iov, int iovcnt, const char *file,
                            int line);
YC_API int yc__io_accept(int fd, struct sockaddr *addr, socklen_t *addrlen, const char *file,
                         int line);
YC_API void yc__io_connect(int fd, const struct sockaddr *addr, socklen_t addrlen,
                           const char *file, int line);
YC_API int yc__io_connect_tcp(const char *ip, int port, const char *file, int line);
YC_API int yc__io_connect_unix(const char *path, const char *file, int line);
YC_API size_t yc__io_sendto(int fd, const void *buf, size_t n, const struct sockaddr *addr,
                            socklen_t addrlen, const char *file, int line);
YC_API size_t yc__io_recvfrom(int fd, void *buf, size_t n, struct sockaddr *addr,
                              socklen_t *addrlen, const char *file, int line);

YC_API yc_stream *yc__stream_open_connection(const char *ip, int port, size_t limit,
                                             const char *file, int line);
YC_API const char *yc__stream_readuntil(yc_stream *s, const void *sep, size_t seplen,
                                        size_t *len, const char *file, int line);
YC_API const char *yc__stream_readline(yc_stream *s, size_t *len, const char *file, int line);
YC_API const char *yc__stream_readexactly(yc_stream *s, long n, const char *file, int line);
YC_API const char *yc__stream_read(yc_stream *s, long n, size_t *len, const char *file, int line);
YC_API void yc__stream_drain(yc_stream *s, const char *file, int line);
YC_API void yc__stream_wait_closed(yc_stream *s, const char *file, int line);
YC_API void yc__stream_serve(int lfd, yc_stream_handler handler, void *arg, size_t limit,
                             const char *file, int line);

#endif
