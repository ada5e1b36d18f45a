/* The ready-made managers of src/managers.c: nullcontext, chdir and the
 * redirection of a stream; each on the normal way out, on an exception,
 * nested (reentered), and misused. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>

static char *cwd(char *buf) { return getcwd(buf, PATH_MAX); }

TEST(nullcontext_binds_its_value_and_never_suppresses)
{
    volatile int64_t seen = 0;
    YC_WITH(yc_cm_nullcontext(yc_int(42)), v) {
        seen = v.i;
    } YC_END_WITH;
    CHECK_EQ_INT(seen, 42);

    /* reusable: entered twice by hand */
    yc_cm *cm = yc_cm_nullcontext(yc_str("x"));
    yc_val out;
    for (int i = 0; i < 2; i++) {
        CHECK_ST(yc_cm_enter(cm, &out), YC_OK);
        CHECK(yc_val_eq(out, yc_str("x")));
    }
    yc_exc *e = yc_exc_new(&yc_ValueError, "v");
    CHECK_ST(yc_cm_exit(cm, e), YC_EXIT_PROPAGATE);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    yc_exc_unref(e);
    yc_cm_free(cm);

    volatile int caught = 0;
    YC_TRY {
        YC_WITH(yc_cm_nullcontext(YC_NONE), v) {
            (void)v;
            yc_raisef(&yc_KeyError, "through");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_KeyError) {
        caught = 1;
    } YC_END;
    CHECK(caught);
}

TEST(chdir_enters_and_comes_back_on_every_way_out)
{
    char start[PATH_MAX], here[PATH_MAX], tmpl[] = "/tmp/yc_chdir_XXXXXX";
    CHECK(cwd(start) != NULL);
    char *dir = mkdtemp(tmpl);
    CHECK(dir != NULL);
    char real[PATH_MAX];
    CHECK(realpath(dir, real) != NULL);

    YC_WITH(yc_cm_chdir(dir), v) {
        CHECK(yc_is_none(v));
        CHECK(cwd(here) && strcmp(here, real) == 0);
    } YC_END_WITH;
    CHECK(cwd(here) && strcmp(here, start) == 0);

    /* an exception leaves the block: back too, and it propagates */
    volatile int caught = 0;
    YC_TRY {
        YC_WITH(yc_cm_chdir(dir), v) {
            (void)v;
            yc_raisef(&yc_ValueError, "inside");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        caught = 1;
    } YC_END;
    CHECK(caught);
    CHECK(cwd(here) && strcmp(here, start) == 0);

    /* reentrant: the same manager nested goes back one level per exit */
    yc_cm *cm = yc_cm_chdir(dir);
    yc_val out;
    CHECK_ST(yc_cm_enter(cm, &out), YC_OK);
    CHECK(chdir("/") == 0);
    CHECK_ST(yc_cm_enter(cm, &out), YC_OK);
    CHECK(cwd(here) && strcmp(here, real) == 0);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    CHECK(cwd(here) && strcmp(here, "/") == 0);
    CHECK_ST(yc_cm_exit(cm, NULL), YC_EXIT_PROPAGATE);
    CHECK(cwd(here) && strcmp(here, start) == 0);
    yc_cm_free(cm);
    CHECK(rmdir(dir) == 0);
}

TEST(chdir_to_a_missing_directory_raises_at_enter)
{
    char start[PATH_MAX], here[PATH_MAX];
    CHECK(cwd(start) != NULL);
    volatile int ran = 0;
    YC_TRY {
        YC_WITH(yc_cm_chdir("/no/such/dir"), v) {
            (void)v;
            ran = 1;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_FileNotFoundError) {
        char buf[128];
        yc_exc_format(yc_exc_current(), buf, sizeof buf);
        CHECK_STR(buf, "FileNotFoundError: [Errno 2] No such file or directory: '/no/such/dir'");
    } YC_END;
    CHECK(!ran);
    CHECK(cwd(here) && strcmp(here, start) == 0);
}

TEST(chdir_null_path)
{
    CHECK(yc_cm_chdir(NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_chdir: path is NULL");
}

/* everything written to f's file so far */
static void read_all(FILE *f, char *buf, size_t n)
{
    fflush(f);
    rewind(f);
    size_t got = fread(buf, 1, n - 1, f);
    buf[got] = '\0';
}

TEST(redirect_sends_a_stream_to_a_file_and_back)
{
    FILE *stream = tmpfile(), *target = tmpfile(), *outer = tmpfile();
    CHECK(stream && target && outer);
    fputs("before|", stream); /* buffered: flushed to the stream's own file */
    YC_WITH(yc_cm_redirect(stream, target), v) {
        CHECK(v.p == target);
        fputs("inside|", stream);
        YC_WITH(yc_cm_redirect(stream, outer), w) { /* nested */
            (void)w;
            fputs("deeper|", stream);
        } YC_END_WITH;
        fputs("inside again|", stream);
    } YC_END_WITH;
    fputs("after", stream);
    char buf[256];
    read_all(target, buf, sizeof buf);
    CHECK_STR(buf, "inside|inside again|");
    read_all(outer, buf, sizeof buf);
    CHECK_STR(buf, "deeper|");
    read_all(stream, buf, sizeof buf);
    CHECK_STR(buf, "before|after");
    fclose(stream);
    fclose(target);
    fclose(outer);
}

static void redirect_stdout_child(void *arg)
{
    (void)arg;
    FILE *target = tmpfile();
    printf("to stdout 1\n");
    YC_TRY {
        YC_WITH(yc_cm_redirect_stdout(target), v) {
            (void)v;
            printf("to the file\n");
            yc_raisef(&yc_ValueError, "out");
        } YC_END_WITH;
    } YC_EXCEPT(&yc_ValueError) {
        printf("to stdout 2\n");
    } YC_END;
    fflush(stdout); /* "to stdout 2" would land in the file if not restored */
    char buf[64];
    read_all(target, buf, sizeof buf);
    fprintf(stderr, "file: %s", buf);
}

TEST(redirect_stdout_comes_back_after_an_exception)
{
    char out[256];
    int st = test_in_child(redirect_stdout_child, NULL, out, sizeof out);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK_STR(out, "file: to the file\n");
}

TEST(redirect_misuse)
{
    CHECK(yc_cm_redirect(NULL, stdout) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_redirect: stream is NULL");
    CHECK(yc_cm_redirect(stdout, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_cm_redirect: target is NULL");
    /* a stream without a descriptor */
    char mem[16];
    FILE *m = fmemopen(mem, sizeof mem, "w");
    CHECK(m != NULL);
    volatile int ran = 0;
    YC_TRY {
        YC_WITH(yc_cm_redirect(m, stderr), v) {
            (void)v;
            ran = 1;
        } YC_END_WITH;
    } YC_EXCEPT(&yc_OSError) {
        CHECK_EQ_INT(yc_exc_errno(yc_exc_current()), EBADF);
    } YC_END;
    CHECK(!ran);
    fclose(m);
}

TEST_MAIN()
