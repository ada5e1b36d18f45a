/*
 * Regular files for tasks: each system call runs on the loop's thread
 * pool (epoll cannot wait on a regular file: it is always "ready", and a
 * read of a cold page blocks the whole loop). The pool thread makes the
 * call and records its return and errno; the task builds the exception on
 * the loop's thread (a pool thread never allocates through yieldc).
 *
 * Every call waits out cancellation (yc__job_run's default): the buffers
 * are the caller's, usually on the task's stack.
 *
 * With the io_uring backend (io.h) the calls go to the loop's ring
 * instead, and a cancelled one is cancelled in the ring and reaped before
 * CancelledError is raised (a call already running in the kernel is
 * waited for). fstat runs on the loop's thread (it reads the inode, which
 * an open descriptor holds in memory).
 */
#define _GNU_SOURCE
#include "io.h"
#include "threadpool.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { OP_OPEN, OP_READ, OP_WRITE, OP_PREAD, OP_PWRITE, OP_CLOSE, OP_FSTAT };

typedef struct file_job {
    yc__job job; /* first */
    int op;
    int fd, flags, mode;
    const char *path; /* borrowed: the task waits for the call */
    void *buf;
    size_t n;
    int64_t off;
    ssize_t ret; /* the call's result (bytes, or the new fd)       */
    int err;     /* its errno when it failed                       */
    struct stat st;
} file_job;

/* Writes all of buf (a short write continues); -1 with errno, or n. */
static ssize_t write_all(int fd, const char *buf, size_t n, int64_t off, bool positioned)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = positioned ? pwrite(fd, buf + done, n - done, (off_t)(off + (int64_t)done))
                               : write(fd, buf + done, n - done);
        if (r < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        done += (size_t)r;
    }
    return (ssize_t)n;
}

static void file_work(yc__job *job)
{
    file_job *j = (file_job *)job;
    ssize_t r;
    do {
        switch (j->op) {
        case OP_OPEN: r = open(j->path, j->flags | O_CLOEXEC, j->mode); break;
        case OP_READ: r = read(j->fd, j->buf, j->n); break;
        case OP_PREAD: r = pread(j->fd, j->buf, j->n, (off_t)j->off); break;
        case OP_WRITE: r = write_all(j->fd, j->buf, j->n, 0, false); break;
        case OP_PWRITE: r = write_all(j->fd, j->buf, j->n, j->off, true); break;
        case OP_FSTAT: r = fstat(j->fd, &j->st); break;
        default: /* OP_CLOSE: never retried (the fd is gone either way) */
            r = close(j->fd);
            if (r < 0 && errno == EINTR) r = 0;
            break;
        }
    } while (r < 0 && errno == EINTR);
    j->ret = r;
    j->err = r < 0 ? errno : 0;
}

/* open() succeeded but the task was cancelled meanwhile: nobody will
 * receive the descriptor. */
static void file_discard(yc__job *job)
{
    file_job *j = (file_job *)job;
    if (j->op == OP_OPEN && j->ret >= 0) close((int)j->ret);
}

/* Sets the OSError of err, with CPython's ": 'path'" when path is given.
 * Returns YC_RAISE. */
int yc__os_error(int err, const char *path)
{
    yc_exc *e;
    if (path) {
        char repr[600];
        yc__out o = {repr, sizeof repr, 0};
        yc__repr_str(&o, path, strlen(path));
        yc__out_end(&o);
        e = yc_exc_new_errno(&yc_OSError, err, "%s", repr); /* picks the subclass (12.56) */
    } else {
        e = yc_exc_new_errno(&yc_OSError, err, NULL);
    }
    yc__err_set(yc__cur(), e);
    return YC_RAISE;
}

/* The call of j through the loop's ring in running task t: its result,
 * or -1 with the exception pending (raised by the caller). A write goes
 * on until every byte is written, as write_all does, unless the task is
 * cancelled between two parts. */
static ssize_t ring_call(yc_task *t, const file_job *j, struct stat *st_out)
{
    if (j->op == OP_FSTAT) {
        if (fstat(j->fd, st_out) == 0) return 0;
        return yc__os_error(errno, NULL);
    }
    static const int ops[] = {[OP_OPEN] = YC__UR_OPEN,   [OP_READ] = YC__UR_READ,
                              [OP_WRITE] = YC__UR_WRITE, [OP_PREAD] = YC__UR_READ,
                              [OP_PWRITE] = YC__UR_WRITE, [OP_CLOSE] = YC__UR_CLOSE};
    bool positioned = j->op == OP_PREAD || j->op == OP_PWRITE;
    bool writing = j->op == OP_WRITE || j->op == OP_PWRITE;
    yc__ureq q = {.op = ops[j->op], .fd = j->fd, .path = j->path, .flags = j->flags,
                  .mode = j->mode};
    size_t done = 0;
    for (;;) {
        q.buf = (char *)j->buf + done;
        q.n = j->n - done;
        q.off = positioned ? j->off + (int64_t)done : -1;
        int res;
        if (yc__uring_call(t, &q, &res) < 0) {
            if (q.op == YC__UR_OPEN && res >= 0) close(res); /* nobody will receive it */
            return -1;
        }
        if (res == -EINTR && q.op != YC__UR_CLOSE) continue;
        if (res < 0) {
            if (q.op == YC__UR_CLOSE && res == -EINTR) return 0; /* the fd is gone */
            return yc__os_error(-res, q.op == YC__UR_OPEN ? j->path : NULL);
        }
        if (!writing) return res;
        done += (size_t)res;
        if (done >= j->n || res == 0) return (ssize_t)done;
    }
}

/* Runs the call described by *tmpl on the pool in the running task and
 * returns its result; raises its OSError (with path when given), or what
 * the wait raised. *st_out gets fstat's result. */
static ssize_t file_call(const char *what, const file_job *tmpl, struct stat *st_out)
{
    yc_task *t = yc__job_task(what, __FILE__, __LINE__);
    if (t->loop->ring) {
        ssize_t r = ring_call(t, tmpl, st_out);
        if (r < 0) yc__job_raise(__FILE__, __LINE__);
        return r;
    }
    file_job *j = yc__job_new(sizeof *j, file_work, file_discard);
    if (!j) yc__job_raise(__FILE__, __LINE__);
    yc__job base = j->job;
    *j = *tmpl;
    j->job = base;
    int st = yc__job_run(t, &j->job, false);
    ssize_t r = -1;
    if (st == YC_OK) {
        j->job.received = true;
        r = j->ret;
        if (r < 0) st = yc__os_error(j->err, j->op == OP_OPEN ? j->path : NULL);
        else if (st_out) *st_out = j->st;
    }
    yc__job_release(&j->job);
    if (st < 0) yc__job_raise(__FILE__, __LINE__);
    return r;
}

static YC_NORETURN void null_arg(const char *what)
{
    yc__fail(YC_EINVAL, &yc_TypeError, "%s: NULL argument", what);
    yc__job_raise(__FILE__, __LINE__);
}

int yc_file_open(const char *path, int flags, int mode)
{
    if (!path) null_arg("yc_file_open()");
    file_job j = {.op = OP_OPEN, .path = path, .flags = flags, .mode = mode};
    return (int)file_call("yc_file_open()", &j, NULL);
}

size_t yc_file_read(int fd, void *buf, size_t n)
{
    if (!buf && n) null_arg("yc_file_read()");
    file_job j = {.op = OP_READ, .fd = fd, .buf = buf, .n = n};
    return (size_t)file_call("yc_file_read()", &j, NULL);
}

size_t yc_file_write(int fd, const void *buf, size_t n)
{
    if (!buf && n) null_arg("yc_file_write()");
    file_job j = {.op = OP_WRITE, .fd = fd, .buf = (void *)buf, .n = n};
    return (size_t)file_call("yc_file_write()", &j, NULL);
}

static int bad_offset(void)
{
    return yc__fail(YC_EINVAL, &yc_ValueError, "negative offset");
}

size_t yc_file_pread(int fd, void *buf, size_t n, int64_t offset)
{
    if (!buf && n) null_arg("yc_file_pread()");
    if (offset < 0) {
        bad_offset();
        yc__job_raise(__FILE__, __LINE__);
    }
    file_job j = {.op = OP_PREAD, .fd = fd, .buf = buf, .n = n, .off = offset};
    return (size_t)file_call("yc_file_pread()", &j, NULL);
}

size_t yc_file_pwrite(int fd, const void *buf, size_t n, int64_t offset)
{
    if (!buf && n) null_arg("yc_file_pwrite()");
    if (offset < 0) {
        bad_offset();
        yc__job_raise(__FILE__, __LINE__);
    }
    file_job j = {.op = OP_PWRITE, .fd = fd, .buf = (void *)buf, .n = n, .off = offset};
    return (size_t)file_call("yc_file_pwrite()", &j, NULL);
}

void yc_file_close(int fd)
{
    file_job j = {.op = OP_CLOSE, .fd = fd};
    file_call("yc_file_close()", &j, NULL);
}

/*
 * The whole file: open, fstat for a first size, then reads into a block
 * grown on the loop's thread (the file may grow or shrink meanwhile; the
 * result is what the reads saw up to end of file). The descriptor and the
 * block are released on every way out.
 */
size_t yc_file_read_all(const char *path, char **data)
{
    if (!path || !data) null_arg("yc_file_read_all()");
    *data = NULL;
    volatile int fd = -1;
    char *volatile buf = NULL;
    volatile size_t len = 0;
    YC_TRY {
        fd = yc_file_open(path, O_RDONLY, 0);
        file_job sj = {.op = OP_FSTAT, .fd = fd};
        struct stat st;
        file_call("yc_file_read_all()", &sj, &st);
        size_t cap = st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
        for (;;) {
            if (len + 1 >= cap || !buf) {
                if (buf) cap *= 2;
                char *nb = yc__realloc(buf, cap);
                if (!nb) YC_CHECK(yc__fail(YC_ENOMEM, &yc_MemoryError, NULL));
                buf = nb;
            }
            size_t got = yc_file_read(fd, buf + len, cap - 1 - len);
            if (got == 0) break;
            len += got;
        }
        buf[len] = '\0';
        int f = fd;
        fd = -1;
        yc_file_close(f);
    } YC_EXCEPT_ANY {
        yc__free(buf);
        buf = NULL;
        if (fd >= 0) close(fd); /* not on the pool: it is a plain file, and we unwind */
        yc_reraise();
    } YC_END;
    *data = buf;
    return len;
}

void yc_file_data_free(char *data) { yc__free(data); }
