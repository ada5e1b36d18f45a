/*
 * Pipeline sources: range, count, repeat, cycle, and the records / lines /
 * chunks of a file descriptor, a FILE * or a path (a generator's items,
 * yc_iter_gen and yc_iter_source, are in gen_stages.c; range's vectorised
 * fill loops in blocks_i64.c).
 *
 * Every source is a stage without upstream (pipe.h) with a block path, so a
 * consumer that asks for blocks gets a whole block (cap values) per call. File sources
 * read with read(2) (fread for a FILE *) into one buffer and hand out
 * records that point into it; the buffer is only compacted or refilled at
 * the start of a pull that has handed nothing out yet, so every value of a
 * block stays valid until the next pull.
 */
#define _GNU_SOURCE
#include "pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/* ======================================================================
 * range, count, repeat
 * ==================================================================== */

typedef struct num_src {
    pst s;
    int64_t cur, step;
    uint64_t left;  /* range, repeat: values left */
    bool forever;   /* count, repeat(YC_NO_LIMIT) */
    bool overflow;  /* count: the next value does not fit */
    yc_val v;       /* repeat */
} num_src;

/* range's two block paths: buf holds yc_val, or int64_t when i64. */
static inline int range_block(yc_iter *it, void *buf, size_t cap, size_t *n, bool i64)
{
    num_src *r = (num_src *)it;
    *n = 0;
    if (r->s.done) return YC_RETURN;
    if (!r->left) return yc__pst_finish(&r->s, YC_RETURN);
    size_t k = r->left < cap ? (size_t)r->left : cap;
    uint64_t cur = (uint64_t)r->cur, step = (uint64_t)r->step;
#if YC_PST_AVX2
    if (k >= 8 && yc__pst_avx2())
        cur = i64 ? yc__range_fill_i64_avx2(buf, k, cur, step)
                  : yc__range_fill_avx2(buf, k, cur, step);
    else
#endif
        cur = i64 ? yc__range_fill_i64(buf, k, cur, step) : yc__range_fill(buf, k, cur, step);
    r->cur = (int64_t)cur;
    r->left -= k;
    *n = k;
    return YC_YIELD;
}

static int range_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    return range_block(it, buf, cap, n, false);
}

static int range_next_i64(yc_iter *it, int64_t *buf, size_t cap, size_t *n)
{
    return range_block(it, buf, cap, n, true);
}

static int count_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    num_src *c = (num_src *)it;
    *n = 0;
    if (c->s.done) return YC_RETURN;
    size_t k = 0;
    while (k < cap && !c->overflow) {
        buf[k++] = yc_int(c->cur);
        c->overflow = __builtin_add_overflow(c->cur, c->step, &c->cur);
    }
    if (k) {
        *n = k;
        return YC_YIELD;
    }
    yc__fail(YC_RAISE, &yc_OverflowError, "count() went past the int64 range");
    return yc__pst_finish(&c->s, YC_RAISE);
}

static int repeat_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    num_src *r = (num_src *)it;
    *n = 0;
    if (r->s.done) return YC_RETURN;
    if (!r->forever && !r->left) return yc__pst_finish(&r->s, YC_RETURN);
    size_t k = r->forever || r->left >= cap ? cap : (size_t)r->left;
    for (size_t i = 0; i < k; i++) buf[i] = r->v;
    if (!r->forever) r->left -= k;
    *n = k;
    return YC_YIELD;
}

static const pst_type range_type = {
    .t = {.name = "range_iterator", .next = next_via_batch, .close = yc__pst_close,
          PST_ITER_BASE,
          .next_batch = range_next_batch},
    .next_i64 = range_next_i64,
};
static const pst_type count_type = {
    .t = {.name = "count", .next = next_via_batch, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = count_next_batch},
};
static const pst_type repeat_type = {
    .t = {.name = "repeat", .next = next_via_batch, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = repeat_next_batch},
};

static num_src *num_new(const pst_type *t)
{
    return (num_src *)yc__pst_new(sizeof(num_src), t, NULL, 0);
}

yc_iter *yc_iter_range(int64_t start, int64_t stop, int64_t step)
{
    if (step == 0) {
        yc__fail(YC_EINVAL, &yc_ValueError, "range() arg 3 must not be zero");
        return NULL;
    }
    num_src *r = num_new(&range_type);
    if (!r) return NULL;
    r->cur = start;
    r->step = step;
    if (step > 0 && start < stop)
        r->left = ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1;
    else if (step < 0 && start > stop)
        r->left = ((uint64_t)start - (uint64_t)stop - 1) / (0 - (uint64_t)step) + 1;
    return &r->s.it;
}

yc_iter *yc_iter_counter(int64_t start, int64_t step)
{
    num_src *c = num_new(&count_type);
    if (!c) return NULL;
    c->cur = start;
    c->step = step;
    c->forever = true;
    return &c->s.it;
}

yc_iter *yc_iter_repeat(yc_val v, int64_t times)
{
    num_src *r = num_new(&repeat_type);
    if (!r) return NULL;
    r->v = v;
    r->forever = times == YC_NO_LIMIT;
    r->left = times > 0 ? (uint64_t)times : 0;
    return &r->s.it;
}

/* ======================================================================
 * cycle
 * ==================================================================== */

typedef struct cycle_st {
    pst s;
    yc_vec saved; /* owned copies of the first pass */
    bool replay;
    size_t i;
} cycle_st;

static int cycle_next(yc_iter *it, yc_val *out)
{
    cycle_st *c = (cycle_st *)it;
    if (c->s.done) return pst_ended(out);
    *out = YC_NONE;
    if (!c->replay) {
        yc_val x;
        int st = yc_iter_next(c->s.up1, &x);
        if (st < 0) return yc__pst_finish(&c->s, st);
        if (st == YC_YIELD) {
            if (c->saved.len == c->saved.cap) {
                size_t ncap = c->saved.cap ? c->saved.cap * 2 : 16;
                yc_val *p = yc__realloc(c->saved.items, ncap * sizeof *p);
                if (!p) return yc__pst_finish(&c->s, yc__enomem());
                c->saved.items = p;
                c->saved.cap = ncap;
            }
            yc_val cp = yc_val_copy(x);
            if (yc__val_owned(x) && yc_is_none(cp)) return yc__pst_finish(&c->s, yc__enomem());
            c->saved.items[c->saved.len++] = cp;
            *out = cp;
            return YC_YIELD;
        }
        /* the first pass is over: upstream is no longer needed */
        if (!c->saved.len) return yc__pst_finish(&c->s, YC_RETURN);
        if (yc_iter_close(c->s.up1, NULL) < 0) yc__pst_unraisable("cycle");
        c->replay = true;
        c->i = 0;
    }
    *out = c->saved.items[c->i];
    c->i = c->i + 1 == c->saved.len ? 0 : c->i + 1;
    return YC_YIELD;
}

static int cycle_release(pst *s)
{
    yc_vec_free(&((cycle_st *)s)->saved);
    return YC_OK;
}

static const pst_type cycle_type = {
    .t = {.name = "cycle", .next = cycle_next, .close = yc__pst_close, PST_ITER_BASE},
    .release = cycle_release,
};

yc_iter *yc_iter_cycle(yc_iter *up)
{
    cycle_st *c = (cycle_st *)yc__pst_new1(sizeof *c, &cycle_type, up);
    return c ? &c->s.it : NULL;
}

/* ======================================================================
 * Files: records, lines, chunks
 * ==================================================================== */

typedef struct file_src {
    pst s;
    int fd;            /* -1 when reading a FILE * */
    FILE *fp;
    bool own;          /* close fd / fp on release */
    bool strip;
    bool eof;
    char *path;        /* owned copy, for messages; NULL when unknown */
    char *delim;       /* owned copy; NULL for chunks */
    size_t dlen;
    size_t chunk;      /* chunk size; 0 for records */
    size_t readsz;     /* the read size and the buffer's first size */
    char *buf;
    size_t cap, start, end, scan; /* unread data is buf[start, end); no
                                     delimiter in buf[start, scan) */
} file_src;

/* Reads more into buf[end, cap). YC_OK (eof set at the end of the file) or
 * YC_RAISE with OSError. */
static int read_error(file_src *f, int err)
{
    yc__err_set(yc__cur(), f->path ? yc_exc_new_errno(&yc_OSError, err, "'%s'", f->path)
                                   : yc_exc_new_errno(&yc_OSError, err, NULL));
    return YC_RAISE;
}

static int file_read(file_src *f)
{
    size_t room = f->cap - f->end;
    if (f->fp) {
        errno = 0;
        size_t r = fread(f->buf + f->end, 1, room, f->fp);
        f->end += r;
        if (r == 0) {
            if (ferror(f->fp)) {
                int err = errno ? errno : EIO;
                clearerr(f->fp);
                return read_error(f, err);
            }
            f->eof = true;
        }
        return YC_OK;
    }
    for (;;) {
        ssize_t r = read(f->fd, f->buf + f->end, room);
        if (r > 0) {
            f->end += (size_t)r;
            return YC_OK;
        }
        if (r == 0) {
            f->eof = true;
            return YC_OK;
        }
        int (*wait)(int) = __atomic_load_n(&yc__fd_wait_readable, __ATOMIC_RELAXED);
        if (errno == EAGAIN && wait) { /* in a task: wait */
            int st = wait(f->fd);
            if (st < 0) return st;
            if (st == YC_OK) continue;
            errno = EAGAIN;
        }
        if (errno != EINTR) return read_error(f, errno);
    }
}

int (*yc__fd_wait_readable)(int fd);

/* Makes room to read: moves the unread data to the front, and doubles the
 * buffer when the unread data fills it (a record longer than the buffer). */
static int file_make_room(file_src *f)
{
    if (!f->buf) {
        f->cap = f->readsz;
        if (f->chunk > f->cap) f->cap = f->chunk;
        f->buf = yc__malloc(f->cap);
        if (!f->buf) return yc__enomem();
        return YC_OK;
    }
    if (f->start > 0) {
        size_t n = f->end - f->start;
        memmove(f->buf, f->buf + f->start, n);
        f->scan -= f->start;
        f->end = n;
        f->start = 0;
    }
    if (f->cap - f->end < f->readsz / 2 + 1) { /* keep reads big */
        size_t ncap = f->cap * 2;
        char *p = yc__realloc(f->buf, ncap);
        if (!p) return yc__enomem();
        f->buf = p;
        f->cap = ncap;
    }
    return YC_OK;
}

static inline const char *find_delim(const file_src *f, const char *p, size_t n)
{
    if (f->dlen == 1) return memchr(p, (unsigned char)f->delim[0], n);
    return memmem(p, n, f->delim, f->dlen);
}

static int file_next_batch(yc_iter *it, yc_val *buf, size_t cap, size_t *n)
{
    file_src *f = (file_src *)it;
    *n = 0;
    if (f->s.done) return YC_RETURN;
    size_t k = 0;
    for (;;) {
        if (f->chunk) {
            while (k < cap && f->end - f->start >= f->chunk) {
                buf[k++] = yc_bytes(f->buf + f->start, f->chunk);
                f->start += f->chunk;
            }
            f->scan = f->start;
        } else {
            const char *b = f->buf;
            while (k < cap) {
                const char *p = f->scan < f->end ? find_delim(f, b + f->scan, f->end - f->scan) : NULL;
                if (!p) break;
                size_t rec_end = (size_t)(p - b) + f->dlen;
                size_t len = (f->strip ? (size_t)(p - b) : rec_end) - f->start;
                buf[k++] = yc_bytes(b + f->start, len);
                f->start = f->scan = rec_end;
            }
            /* a delimiter may straddle the end of what is read so far */
            size_t keep = f->dlen - 1;
            if (k < cap && f->end - f->start > keep) f->scan = f->end - keep;
        }
        if (k == cap) break;
        if (f->eof) {
            if (f->start < f->end) { /* the last record, without its delimiter */
                buf[k++] = yc_bytes(f->buf + f->start, f->end - f->start);
                f->start = f->scan = f->end;
            }
            if (k) break;
            return yc__pst_finish(&f->s, YC_RETURN);
        }
        if (k) break; /* values point into the buffer: refill at the next pull */
        int st = file_make_room(f);
        if (st == YC_OK) st = file_read(f);
        if (st < 0) return yc__pst_finish(&f->s, st);
    }
    *n = k;
    return YC_YIELD;
}

static int file_release(pst *s)
{
    file_src *f = (file_src *)s;
    yc__free(f->buf);
    f->buf = NULL;
    f->start = f->end = f->scan = f->cap = 0;
    if (f->own) {
        f->own = false;
        if (f->fp) fclose(f->fp);
        else if (f->fd >= 0) close(f->fd);
    }
    return YC_OK;
}

static void file_destroy(pst *s)
{
    file_src *f = (file_src *)s;
    yc__free(f->path);
    yc__free(f->delim);
}

static const pst_type records_type = {
    .t = {.name = "records", .next = next_via_batch, .close = yc__pst_close,
          PST_ITER_BASE,
          .next_batch = file_next_batch},
    .release = file_release, .destroy = file_destroy,
};
static const pst_type lines_type = {
    .t = {.name = "lines", .next = next_via_batch, .close = yc__pst_close, PST_ITER_BASE,
          .next_batch = file_next_batch},
    .release = file_release, .destroy = file_destroy,
};
static const pst_type chunks_type = {
    .t = {.name = "chunks", .next = next_via_batch, .close = yc__pst_close,
          PST_ITER_BASE,
          .next_batch = file_next_batch},
    .release = file_release, .destroy = file_destroy,
};

/* The common constructor. Exactly one of fd >= 0, fp, path names the
 * file; a path is opened here (and always closed by the source). */
static yc_iter *file_new(const pst_type *t, int fd, FILE *fp, const char *path,
                         const void *delim, size_t dlen, size_t chunk, const yc_io_opts *o,
                         bool have_fd)
{
    const char *what = t->t.name;
    if (t != &chunks_type && (!delim || !dlen)) {
        yc__fail(YC_EINVAL, &yc_ValueError, "%s: the delimiter is empty", what);
        return NULL;
    }
    if (t == &chunks_type && !chunk) {
        yc__fail(YC_EINVAL, &yc_ValueError, "chunks: size must be at least one");
        return NULL;
    }
    if ((have_fd && fd < 0) || (!have_fd && !fp && !path)) {
        yc__fail(YC_EINVAL, &yc_TypeError, "%s: %s", what,
                 have_fd ? "bad file descriptor" : "no file (NULL)");
        return NULL;
    }
    bool own = o && (o->flags & YC_IO_CLOSE);
    if (path) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            yc__err_set(yc__cur(), yc_exc_new_errno(err == ENOENT ? &yc_FileNotFoundError : &yc_OSError,
                                                    err, "'%s'", path));
            return NULL;
        }
        own = true;
#ifdef POSIX_FADV_SEQUENTIAL
        posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    }
    file_src *f = (file_src *)yc__pst_new(sizeof *f, t, NULL, 0);
    char *pc = path ? yc__strdup(path) : NULL;
    char *dc = dlen ? yc__malloc(dlen) : NULL;
    if (!f || (path && !pc) || (dlen && !dc)) {
        yc__free(pc);
        yc__free(dc);
        if (path) close(fd);
        if (f) {
            yc__free(f);
            yc__enomem();
        }
        return NULL;
    }
    if (dlen) memcpy(dc, delim, dlen);
    f->fd = fp ? -1 : fd;
    f->fp = fp;
    f->own = own;
    f->strip = o && (o->flags & YC_IO_STRIP) && !chunk;
    f->path = pc;
    f->delim = dc;
    f->dlen = dlen;
    f->chunk = chunk;
    f->readsz = o && o->buf_size ? o->buf_size : YC_IO_BUF_DEFAULT;
    return &f->s.it;
}

yc_iter *yc_iter_records_fd(int fd, const void *delim, size_t delim_len, const yc_io_opts *opts)
{
    return file_new(&records_type, fd, NULL, NULL, delim, delim_len, 0, opts, true);
}

yc_iter *yc_iter_records_file(FILE *f, const void *delim, size_t delim_len, const yc_io_opts *opts)
{
    return file_new(&records_type, -1, f, NULL, delim, delim_len, 0, opts, false);
}

yc_iter *yc_iter_records_path(const char *path, const void *delim, size_t delim_len,
                              const yc_io_opts *opts)
{
    if (!path) {
        yc__fail(YC_EINVAL, &yc_TypeError, "records: path is NULL");
        return NULL;
    }
    return file_new(&records_type, -1, NULL, path, delim, delim_len, 0, opts, false);
}

yc_iter *yc_iter_lines_fd(int fd, const yc_io_opts *opts)
{
    return file_new(&lines_type, fd, NULL, NULL, "\n", 1, 0, opts, true);
}

yc_iter *yc_iter_lines_file(FILE *f, const yc_io_opts *opts)
{
    return file_new(&lines_type, -1, f, NULL, "\n", 1, 0, opts, false);
}

yc_iter *yc_iter_lines_path(const char *path, const yc_io_opts *opts)
{
    if (!path) {
        yc__fail(YC_EINVAL, &yc_TypeError, "lines: path is NULL");
        return NULL;
    }
    return file_new(&lines_type, -1, NULL, path, "\n", 1, 0, opts, false);
}

yc_iter *yc_iter_chunks_fd(int fd, size_t size, const yc_io_opts *opts)
{
    return file_new(&chunks_type, fd, NULL, NULL, NULL, 0, size, opts, true);
}

yc_iter *yc_iter_chunks_file(FILE *f, size_t size, const yc_io_opts *opts)
{
    return file_new(&chunks_type, -1, f, NULL, NULL, 0, size, opts, false);
}

yc_iter *yc_iter_chunks_path(const char *path, size_t size, const yc_io_opts *opts)
{
    if (!path) {
        yc__fail(YC_EINVAL, &yc_TypeError, "chunks: path is NULL");
        return NULL;
    }
    return file_new(&chunks_type, -1, NULL, path, NULL, 0, size, opts, false);
}
