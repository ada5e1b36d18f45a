/*
 * More ready-made managers: contextlib.nullcontext, contextlib.chdir and
 * the redirection of a stdio stream (contextlib.redirect_stdout and
 * redirect_stderr, at the level of file descriptors).
 *
 * chdir and redirect are reentrant, as Python's are: each enter pushes
 * what it saved (a descriptor of the directory it left, a duplicate of the
 * stream's descriptor) on a stack of the manager, each exit pops one.
 */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

static void *cm_alloc(size_t size)
{
    void *p = yc__malloc(size);
    if (!p) yc__err_set(yc__cur(), &yc__nomem);
    return p;
}

/* Raises (as a status) OSError with errno err, its subtype for ENOENT
 * and the permission errors, "[Errno N] strerror: 'path'". */
static int fail_errno(int err, const char *path)
{
    const yc_exc_type *t = err == ENOENT                    ? &yc_FileNotFoundError
                           : err == EACCES || err == EPERM ? &yc_PermissionError
                           : err == ENOTDIR                ? &yc_NotADirectoryError
                                                           : &yc_OSError;
    yc_exc *e = path ? yc_exc_new_errno(t, err, "'%s'", path) : yc_exc_new_errno(t, err, NULL);
    yc__coro *co = yc__cur();
    yc__exc_chain(e, yc__handled(co));
    yc__err_set(co, e);
    return YC_RAISE;
}

/* A stack of saved descriptors. */
typedef struct fd_stack {
    int *v;
    size_t n, cap;
} fd_stack;

static bool fd_push(fd_stack *s, int fd)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 4;
        int *v = yc__realloc(s->v, cap * sizeof *v);
        if (!v) return false;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = fd;
    return true;
}

/* Closes what is still saved (a manager freed inside its block) and frees
 * the stack. */
static void fd_stack_free(fd_stack *s)
{
    while (s->n) close(s->v[--s->n]);
    yc__free(s->v);
}

/* ---- nullcontext ------------------------------------------------------ */

typedef struct null_cm {
    yc_cm cm;
    yc_val value;
} null_cm;

static int null_enter(yc_cm *cm, yc_val *out)
{
    *out = ((null_cm *)cm)->value;
    return YC_OK;
}

static int null_exit(yc_cm *cm, yc_exc *e)
{
    (void)cm;
    (void)e;
    return YC_EXIT_PROPAGATE;
}

static void null_free(yc_cm *cm) { yc__free(cm); }

static const yc_cm_type null_type = {
    .name = "nullcontext", .enter = null_enter, .exit = null_exit, .free = null_free};

yc_cm *yc_cm_nullcontext(yc_val value)
{
    null_cm *c = cm_alloc(sizeof *c);
    if (!c) return NULL;
    c->cm.type = &null_type;
    c->value = value;
    return &c->cm;
}

/* ---- chdir ------------------------------------------------------------ */

typedef struct chdir_cm {
    yc_cm cm;
    fd_stack saved; /* descriptors of the directories left, newest last */
    char path[];
} chdir_cm;

static int chdir_enter(yc_cm *cm, yc_val *out)
{
    chdir_cm *c = (chdir_cm *)cm;
    int here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (here < 0) return fail_errno(errno, NULL);
    if (!fd_push(&c->saved, here)) {
        close(here);
        yc__err_set(yc__cur(), &yc__nomem);
        return YC_ENOMEM;
    }
    if (chdir(c->path) != 0) {
        int err = errno;
        close(c->saved.v[--c->saved.n]);
        return fail_errno(err, c->path);
    }
    *out = YC_NONE;
    return YC_OK;
}

static int chdir_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    chdir_cm *c = (chdir_cm *)cm;
    if (!c->saved.n) return YC_EXIT_PROPAGATE; /* an exit without its enter */
    int back = c->saved.v[--c->saved.n];
    int rc = fchdir(back), err = errno;
    close(back);
    if (rc != 0) return fail_errno(err, NULL);
    return YC_EXIT_PROPAGATE;
}

static void chdir_free(yc_cm *cm)
{
    fd_stack_free(&((chdir_cm *)cm)->saved);
    yc__free(cm);
}

static const yc_cm_type chdir_type = {
    .name = "chdir", .enter = chdir_enter, .exit = chdir_exit, .free = chdir_free};

yc_cm *yc_cm_chdir(const char *path)
{
    if (!path) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_chdir: path is NULL");
        return NULL;
    }
    size_t len = strlen(path);
    chdir_cm *c = cm_alloc(sizeof *c + len + 1);
    if (!c) return NULL;
    c->cm.type = &chdir_type;
    c->saved = (fd_stack){0};
    memcpy(c->path, path, len + 1);
    return &c->cm;
}

/* ---- redirect --------------------------------------------------------- */

typedef struct redirect_cm {
    yc_cm cm;
    FILE *stream, *target; /* borrowed */
    fd_stack saved;        /* duplicates of stream's descriptor, newest last */
} redirect_cm;

static int redirect_enter(yc_cm *cm, yc_val *out)
{
    redirect_cm *c = (redirect_cm *)cm;
    int sfd = fileno(c->stream), tfd = fileno(c->target);
    if (sfd < 0 || tfd < 0) return fail_errno(EBADF, NULL);
    fflush(c->stream); /* what was written before goes where it was meant to */
    fflush(c->target);
    int copy = fcntl(sfd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) return fail_errno(errno, NULL);
    if (!fd_push(&c->saved, copy)) {
        close(copy);
        yc__err_set(yc__cur(), &yc__nomem);
        return YC_ENOMEM;
    }
    if (dup2(tfd, sfd) < 0) {
        int err = errno;
        close(c->saved.v[--c->saved.n]);
        return fail_errno(err, NULL);
    }
    *out = yc_ptr(c->target);
    return YC_OK;
}

static int redirect_exit(yc_cm *cm, yc_exc *e)
{
    (void)e;
    redirect_cm *c = (redirect_cm *)cm;
    if (!c->saved.n) return YC_EXIT_PROPAGATE;
    fflush(c->stream); /* what the block wrote goes to the target */
    int copy = c->saved.v[--c->saved.n];
    int rc = dup2(copy, fileno(c->stream)), err = errno;
    close(copy);
    if (rc < 0) return fail_errno(err, NULL);
    return YC_EXIT_PROPAGATE;
}

static void redirect_free(yc_cm *cm)
{
    redirect_cm *c = (redirect_cm *)cm;
    /* freed inside its block: put the stream back (the oldest copy is
     * the stream's first descriptor) */
    if (c->saved.n) {
        fflush(c->stream);
        dup2(c->saved.v[0], fileno(c->stream));
    }
    fd_stack_free(&c->saved);
    yc__free(cm);
}

static const yc_cm_type redirect_type = {
    .name = "redirect", .enter = redirect_enter, .exit = redirect_exit, .free = redirect_free};

yc_cm *yc_cm_redirect(FILE *stream, FILE *target)
{
    if (!stream || !target) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_cm_redirect: %s is NULL",
                 stream ? "target" : "stream");
        return NULL;
    }
    redirect_cm *c = cm_alloc(sizeof *c);
    if (!c) return NULL;
    c->cm.type = &redirect_type;
    c->stream = stream;
    c->target = target;
    c->saved = (fd_stack){0};
    return &c->cm;
}
