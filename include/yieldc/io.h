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
 * epoll once. A descriptor the loop has seen must be closed with
 * yc_io_close (not close(2)) while its loop lives: a number closed behind
 * the loop's back and reused by a new descriptor would keep the old
 * registration, and a task would wait on it for ever. Descriptors made by
 * the functions here (accept, the socket helpers) are safe from that.
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
/* Closes fd. When the loop running on this thread knows fd, the tasks
 * waiting on it are woken with OSError "[Errno 9] Bad file descriptor"
 * (they run in the next iteration) and the loop forgets it. Returns YC_OK,
 * or YC_RAISE with the OSError of close(2) (EBADF for a descriptor that is
 * not open); fd is closed either way unless it was not open. */
YC_API int yc_io_close(int fd);

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

#endif
