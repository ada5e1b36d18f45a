/*
 * A minimal test harness. Each test binary is a list of TEST()s run in
 * order; a failed check records the failure and goes on (no jump: checks can
 * run inside generator bodies). After every test the harness checks that it
 * left nothing behind: no live generator or exception and no pending error.
 *
 *   TEST(name) { CHECK_ST(yc_next(g, &v), YC_YIELD); ... }
 *
 * Run a binary with test names as arguments to run only those. The last
 * line printed is "N passed, N failed".
 */
#ifndef YC_TEST_H
#define YC_TEST_H

#define _GNU_SOURCE
#include <yieldc.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Open descriptors of this process (for "nothing leaked" checks: compare
 * before and after), or -1 when /proc is not there. */
static inline int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

typedef struct test_case {
    const char *name;
    void (*fn)(void);
    struct test_case *next;
} test_case;

static test_case *test_head, **test_tail = &test_head;
static int test_failures_now; /* failures in the running test */

static inline void test_register(test_case *tc)
{
    *test_tail = tc;
    test_tail = &tc->next;
}

#define TEST(name)                                                            \
    static void name(void);                                                   \
    __attribute__((constructor)) static void test_reg_##name(void)            \
    {                                                                         \
        static test_case tc = {#name, name, NULL};                            \
        test_register(&tc);                                                   \
    }                                                                         \
    static void name(void)

static inline void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static inline void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "  %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    test_failures_now++;
}

#define CHECK(cond)                                                           \
    do {                                                                      \
        if (!(cond)) test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond); \
    } while (0)

#define CHECK_EQ_INT(a, b)                                                    \
    do {                                                                      \
        long long ca_ = (long long)(a), cb_ = (long long)(b);                 \
        if (ca_ != cb_)                                                       \
            test_fail(__FILE__, __LINE__, "%s == %s failed: %lld != %lld", #a, #b, ca_, cb_); \
    } while (0)

#define CHECK_STR(a, b)                                                       \
    do {                                                                      \
        const char *ca_ = (a), *cb_ = (b);                                    \
        if (!ca_ || !cb_ || strcmp(ca_, cb_) != 0)                            \
            test_fail(__FILE__, __LINE__, "%s == %s failed: \"%s\" != \"%s\"", #a, #b, \
                      ca_ ? ca_ : "(null)", cb_ ? cb_ : "(null)");            \
    } while (0)

/* A status, printed by name, with the pending exception when unexpected. */
#define CHECK_ST(expr, want)                                                  \
    do {                                                                      \
        int cs_ = (expr), cw_ = (want);                                       \
        if (cs_ != cw_) {                                                     \
            char cbuf_[512] = "none";                                         \
            if (yc_err_get()) yc_exc_format(yc_err_get(), cbuf_, sizeof cbuf_); \
            test_fail(__FILE__, __LINE__, "%s: got %s, want %s (pending: %s)", #expr, \
                      yc_status_name(cs_), yc_status_name(cw_), cbuf_);       \
        }                                                                     \
    } while (0)

static inline void test_check_val(const char *file, int line, const char *expr, yc_val got,
                                  yc_val want)
{
    if (!yc_val_eq(got, want)) {
        char g[256], w[256];
        yc_val_format(got, g, sizeof g);
        yc_val_format(want, w, sizeof w);
        test_fail(file, line, "%s: got %s, want %s", expr, g, w);
    }
}
#define CHECK_VAL(v, want) test_check_val(__FILE__, __LINE__, #v, (v), (want))
#define CHECK_INTV(v, n) CHECK_VAL(v, yc_int(n))

/* Takes the pending exception and checks its type and (unless NULL) its
 * "Type: message" text. */
static inline void test_check_exc(const char *file, int line, const yc_exc_type *t,
                                  const char *text)
{
    yc_exc *e = yc_err_take();
    if (!e) {
        test_fail(file, line, "expected a pending %s, got none", t->name);
        return;
    }
    char buf[512];
    yc_exc_format(e, buf, sizeof buf);
    if (yc_exc_type_of(e) != t)
        test_fail(file, line, "expected pending %s, got %s", t->name, buf);
    else if (text && strcmp(buf, text) != 0)
        test_fail(file, line, "expected \"%s\", got \"%s\"", text, buf);
    yc_exc_unref(e);
}
#define CHECK_EXC(type, text) test_check_exc(__FILE__, __LINE__, (type), (text))

static inline void test_check_clean(const char *name)
{
    yc_stats s;
    yc_stats_get(&s);
    yc_exc *pending = yc_err_take();
    if (pending) {
        char buf[512];
        yc_exc_format(pending, buf, sizeof buf);
        test_fail(__FILE__, __LINE__, "%s left a pending exception: %s", name, buf);
        yc_exc_unref(pending);
        yc_stats_get(&s);
    }
    if (s.generators != 0)
        test_fail(__FILE__, __LINE__, "%s leaked %ld generator(s)", name, s.generators);
    if (s.exceptions != 0)
        test_fail(__FILE__, __LINE__, "%s leaked %ld exception(s)", name, s.exceptions);
    if (s.tasks != 0) test_fail(__FILE__, __LINE__, "%s leaked %ld task(s)", name, s.tasks);
    if (s.loops != 0) test_fail(__FILE__, __LINE__, "%s leaked %ld loop(s)", name, s.loops);
}

/* Runs fn in a child process; returns its wait status and puts what it
 * wrote to stderr in buf (NUL-terminated). */
static inline int test_in_child(void (*fn)(void *), void *arg, char *buf, size_t n)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], 2);
        fn(arg);
        _exit(0);
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t r;
    while ((r = read(fds[0], buf + got, n - 1 - got)) > 0 && got + 1 < n) got += (size_t)r;
    buf[got] = '\0';
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static inline int test_main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (test_case *tc = test_head; tc; tc = tc->next) {
        if (argc > 1) {
            int want = 0;
            for (int i = 1; i < argc; i++) want |= strcmp(argv[i], tc->name) == 0;
            if (!want) continue;
        }
        test_failures_now = 0;
        tc->fn();
        test_check_clean(tc->name);
        if (test_failures_now) {
            failed++;
            printf("FAIL %s\n", tc->name);
        } else {
            passed++;
            printf("ok   %s\n", tc->name);
        }
        fflush(stdout);
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}

#define TEST_MAIN()                                                           \
    int main(int argc, char **argv) { return test_main(argc, argv); }

#endif
