/*
 * getaddrinfo on the loop's thread pool (socket.getaddrinfo through
 * loop.getaddrinfo, which asyncio runs in its default executor too). The
 * pool thread calls the resolver; the task copies the list into one
 * yieldc block on the loop's thread and frees the resolver's.
 */
#define _GNU_SOURCE
#include "threadpool.h"

#include <errno.h>
#include <netdb.h>
#include <string.h>

const yc_exc_type yc_gaierror = {.name = "gaierror", .base = &yc_OSError};

YC_HIDDEN int yc__os_error(int err, const char *path); /* files.c */

typedef struct name_job {
    yc__job job; /* first */
    const char *host, *port; /* borrowed: the task waits for the lookup */
    struct addrinfo hints;
    struct addrinfo *res;
    int rc, err;
} name_job;

static void name_work(yc__job *job)
{
    name_job *j = (name_job *)job;
    j->rc = getaddrinfo(j->host, j->port, &j->hints, &j->res);
    j->err = j->rc == EAI_SYSTEM ? errno : 0;
}

static void name_discard(yc__job *job)
{
    name_job *j = (name_job *)job;
    if (j->rc == 0) freeaddrinfo(j->res);
}

/* gaierror "[Errno -2] Name or service not known", errno the EAI_ code. */
static int raise_gaierror(int rc)
{
    yc_exc *e = yc_exc_new(&yc_gaierror, "[Errno %d] %s", rc, gai_strerror(rc));
    if (yc_exc_type_of(e) == &yc_gaierror) e->err = rc;
    yc__err_set(yc__cur(), e);
    return YC_RAISE;
}

/* The resolver's list as one block of n entries. */
static int copy_list(const struct addrinfo *res, yc_addrinfo **out, size_t *n)
{
    size_t k = 0;
    for (const struct addrinfo *a = res; a; a = a->ai_next) k++;
    yc_addrinfo *v = yc__malloc((k ? k : 1) * sizeof *v);
    if (!v) return yc__fail(YC_ENOMEM, &yc_MemoryError, NULL);
    memset(v, 0, (k ? k : 1) * sizeof *v);
    size_t i = 0;
    for (const struct addrinfo *a = res; a; a = a->ai_next, i++) {
        v[i].family = a->ai_family;
        v[i].socktype = a->ai_socktype;
        v[i].protocol = a->ai_protocol;
        v[i].addrlen = a->ai_addrlen <= sizeof v[i].addr ? a->ai_addrlen : sizeof v[i].addr;
        memcpy(&v[i].addr, a->ai_addr, v[i].addrlen);
    }
    *out = v;
    *n = k;
    return YC_OK;
}

size_t yc_getaddrinfo(const char *host, const char *port, int family, int type, int proto,
                      int flags, yc_addrinfo **out)
{
    yc_task *t = yc__job_task("yc_getaddrinfo()", __FILE__, __LINE__);
    if (!out) {
        yc__fail(YC_EINVAL, &yc_TypeError, "yc_getaddrinfo: out is NULL");
        yc__job_raise(__FILE__, __LINE__);
    }
    *out = NULL;
    name_job *j = yc__job_new(sizeof *j, name_work, name_discard);
    if (!j) yc__job_raise(__FILE__, __LINE__);
    j->host = host;
    j->port = port;
    j->hints.ai_family = family;
    j->hints.ai_socktype = type;
    j->hints.ai_protocol = proto;
    j->hints.ai_flags = flags;
    size_t n = 0;
    int st = yc__job_run(t, &j->job, false);
    if (st == YC_OK) {
        if (j->rc == EAI_SYSTEM) st = yc__os_error(j->err, NULL);
        else if (j->rc != 0) st = raise_gaierror(j->rc);
        else st = copy_list(j->res, out, &n); /* the list is freed by discard */
    }
    yc__job_release(&j->job);
    if (st < 0) yc__job_raise(__FILE__, __LINE__);
    return n;
}

void yc_addrinfo_free(yc_addrinfo *ai) { yc__free(ai); }
