/*
 * copy_file: copying a file through two nested context managers.
 *
 * Each file is opened by a generator-based context manager written in the
 * three steps of contextlib.contextmanager: setup (open the file), hand-off
 * (yield it to the with block), wrap-up (close it in a finally block). The
 * copy runs twice: once to the end, and once with an error injected halfway,
 * where the exception leaves both with blocks and both files are still
 * closed, the inner one first. In Python:
 *
 *     @contextmanager
 *     def opened(path, mode):
 *         f = open(path, mode)                    # setup
 *         print("open ", path)
 *         try:
 *             yield f                             # hand-off
 *         finally:
 *             f.close()                           # wrap-up
 *             print("close", path)
 *
 *     def copy(src, dst, fail_after=None):
 *         with opened(src, "rb") as fin:
 *             with opened(dst, "wb") as fout:
 *                 for n, chunk in enumerate(iter(lambda: fin.read(4096), b"")):
 *                     if n == fail_after:
 *                         raise OSError(errno.ENOSPC, "injected")
 *                     fout.write(chunk)
 */
#define _GNU_SOURCE
#include <yieldc.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHUNK 4096
#define CHUNKS 10

/* The descriptors the managers opened, to check afterwards that every one
 * of them was closed. */
static int opened_fds[8];
static int n_opened;

struct open_args {
    const char *path;
    const char *mode;
};

/* The generator behind the manager: runs on its own stack, suspended in
 * yc_yield() for as long as the with block lasts. */
static yc_val opened(void *arg)
{
    const struct open_args *a = arg;
    FILE *f = fopen(a->path, a->mode); /* setup */
    if (!f) yc_raise(yc_exc_new_errno(&yc_OSError, errno, "'%s'", a->path));
    if (n_opened < 8) opened_fds[n_opened++] = fileno(f);
    printf("  open  %s\n", strrchr(a->path, '/') + 1);
    YC_TRY {
        yc_yield(yc_ptr(f)); /* hand-off: the value the with block binds */
    } YC_FINALLY {
        fclose(f); /* wrap-up: on a normal end, an exception, a close */
        printf("  close %s\n", strrchr(a->path, '/') + 1);
    } YC_END;
    return YC_NONE;
}

/* Copies src to dst chunk by chunk; raises OSError, also the injected one
 * before chunk number fail_after (-1: none). Returns the bytes copied. */
static long copy(const char *src, const char *dst, int fail_after)
{
    struct open_args in_args = {src, "rb"}, out_args = {dst, "wb"};
    volatile long total = 0; /* modified in the body, read after: volatile */
    YC_WITH(yc_cm_gen_new(opened, &in_args, NULL), in) {
        YC_WITH(yc_cm_gen_new(opened, &out_args, NULL), out) {
            char buf[CHUNK];
            size_t n;
            int chunk = 0;
            while ((n = fread(buf, 1, sizeof buf, in.p)) > 0) {
                if (chunk++ == fail_after)
                    yc_raise(yc_exc_new_errno(&yc_OSError, ENOSPC,
                                              "injected after %ld bytes", (long)total));
                if (fwrite(buf, 1, n, out.p) != n)
                    yc_raise(yc_exc_new_errno(&yc_OSError, errno, "'%s'", dst));
                total += (long)n;
            }
        } YC_END_WITH;
    } YC_END_WITH;
    return total;
}

/* How many descriptors the managers opened are still open. */
static int still_open(void)
{
    int open = 0;
    for (int i = 0; i < n_opened; i++)
        open += fcntl(opened_fds[i], F_GETFD) != -1 || errno != EBADF;
    n_opened = 0;
    return open;
}

static int same_contents(const char *a, const char *b)
{
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    while (same) {
        int ca = getc(fa), cb = getc(fb);
        same = ca == cb;
        if (ca == EOF) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

int main(void)
{
    char dir[] = "/tmp/copy_file_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char src[64], dst[64], dst2[64];
    snprintf(src, sizeof src, "%s/source.bin", dir);
    snprintf(dst, sizeof dst, "%s/copy.bin", dir);
    snprintf(dst2, sizeof dst2, "%s/broken.bin", dir);
    FILE *f = fopen(src, "wb");
    for (int i = 0; f && i < CHUNKS * CHUNK; i++) putc('a' + i % 26, f);
    if (!f || fclose(f) != 0) {
        perror(src);
        return 1;
    }
    volatile int ok = 1; /* changed in YC_TRY bodies, read after them */

    printf("copy source.bin to copy.bin:\n");
    YC_TRY {
        long n = copy(src, dst, -1);
        printf("  copied %ld bytes; identical: %s\n", n, same_contents(src, dst) ? "yes" : "no");
        ok &= n == CHUNKS * CHUNK && same_contents(src, dst);
    } YC_EXCEPT(&yc_OSError) {
        yc_exc_print(yc_exc_current(), stdout);
        ok = 0;
    } YC_END;
    int left = still_open();
    printf("  files still open: %d\n", left);
    ok &= left == 0;

    printf("copy source.bin to broken.bin, with an error injected halfway:\n");
    YC_TRY {
        copy(src, dst2, CHUNKS / 2);
        printf("  the copy did not fail\n");
        ok = 0;
    } YC_EXCEPT(&yc_OSError) {
        char msg[256];
        yc_exc_format(yc_exc_current(), msg, sizeof msg);
        printf("  caught %s\n", msg);
    } YC_END;
    left = still_open();
    printf("  files still open: %d\n", left);
    ok &= left == 0;

    unlink(src);
    unlink(dst);
    unlink(dst2);
    rmdir(dir);
    printf("%s\n", ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
