/* Pipeline sources: range, counter, repeat, cycle, generators, and the
 * records / lines / chunks of files (fd, FILE *, path): lines longer than
 * the buffer, no trailing newline, empty files, read errors, delimiters
 * straddling reads, ownership of the descriptor. */
#include "test_pipe_util.h"

#include <sys/stat.h>

/* Every record of it joined into out, each followed by '|', through the
 * per-item path (cap 0) or blocks of cap. Checks that every value of a
 * block is still intact when the block is complete. Returns the status. */
static int join_records(yc_iter *it, size_t cap, char *out, size_t n)
{
    size_t w = 0;
    out[0] = '\0';
    yc_val buf[16];
    int st;
    for (;;) {
        size_t k = 0;
        if (cap == 0) {
            st = yc_iter_next(it, &buf[0]);
            k = st == YC_YIELD;
        } else {
            st = yc_iter_next_batch(it, buf, cap, &k);
        }
        for (size_t i = 0; i < k; i++) {
            CHECK_EQ_INT(yc_type_of(buf[i]), YC_T_BYTES);
            size_t len = yc_len(buf[i]);
            if (w + len + 2 >= n) return -100;
            memcpy(out + w, buf[i].s, len);
            w += len;
            out[w++] = '|';
            out[w] = '\0';
        }
        if (st != YC_YIELD) return st;
    }
}

static void file_of(char *path, const char *text) { tmp_file(path, 64, text, strlen(text)); }

/* ---- range, counter, repeat -------------------------------------------- */

TEST(range_basic)
{
    int64_t got[32];
    size_t n;
    yc_iter *r = yc_iter_range(0, 5, 1);
    CHECK_STR(yc_iter_name(r), "range_iterator");
    CHECK_ST(pull_all(r, got, 32, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 1, 2, 3, 4);
    CHECK_ST(yc_iter_next(r, NULL), YC_RETURN); /* stays exhausted */
    yc_iter_free(r);

    r = yc_iter_range(10, -3, -4);
    CHECK_ST(pull_all_batch(r, 3, got, 32, &n), YC_RETURN);
    CHECK_INTS(got, n, 10, 6, 2, -2);
    yc_iter_free(r);

    r = yc_iter_range(5, 5, 1); /* empty */
    CHECK_ST(pull_all(r, got, 32, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
    yc_iter_free(r);
    r = yc_iter_range(5, 0, 1); /* empty: wrong direction */
    CHECK_ST(pull_all_batch(r, 8, got, 32, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
    yc_iter_free(r);
}

TEST(range_extremes_and_errors)
{
    int64_t got[8];
    size_t n;
    yc_iter *r = yc_iter_range(INT64_MAX - 2, INT64_MAX, 1);
    CHECK_ST(pull_all_batch(r, 8, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, INT64_MAX - 2, INT64_MAX - 1);
    yc_iter_free(r);
    r = yc_iter_range(INT64_MIN, INT64_MAX, INT64_MAX);
    CHECK_ST(pull_all(r, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, INT64_MIN, -1, INT64_MAX - 1);
    yc_iter_free(r);
    CHECK(yc_iter_range(0, 1, 0) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: range() arg 3 must not be zero");
}

TEST(counter_is_infinite_until_overflow)
{
    yc_iter *c = yc_iter_counter(5, -2);
    CHECK_STR(yc_iter_name(c), "count");
    yc_val v;
    for (int i = 0; i < 1000; i++) {
        CHECK_ST(yc_iter_next(c, &v), YC_YIELD);
        if (v.i != 5 - 2 * i) {
            CHECK_INTV(v, 5 - 2 * i);
            break;
        }
    }
    yc_iter_free(c);
    c = yc_iter_counter(INT64_MAX - 1, 1);
    int64_t got[8];
    size_t n;
    CHECK_ST(pull_all_batch(c, 8, got, 8, &n), YC_RAISE);
    CHECK_INTS(got, n, INT64_MAX - 1, INT64_MAX);
    CHECK_EXC_STAGE(&yc_OverflowError, "OverflowError: count() went past the int64 range", "count");
    CHECK_ST(yc_iter_next(c, &v), YC_RETURN); /* ended by the error */
    yc_iter_free(c);
}

TEST(repeat_times)
{
    int64_t got[8];
    size_t n;
    yc_iter *r = yc_iter_repeat(yc_int(7), 3);
    CHECK_ST(pull_all_batch(r, 2, got, 8, &n), YC_RETURN);
    CHECK_INTS(got, n, 7, 7, 7);
    yc_iter_free(r);
    r = yc_iter_repeat(yc_int(7), -5); /* Python: none */
    CHECK_ST(pull_all(r, got, 8, &n), YC_RETURN);
    CHECK_EQ_INT(n, 0);
    yc_iter_free(r);
    r = yc_iter_take(yc_iter_repeat(yc_str("x"), YC_NO_LIMIT), 1000);
    int64_t cnt = 0;
    CHECK_ST(yc_iter_count(r, &cnt), YC_OK);
    CHECK_EQ_INT(cnt, 1000);
    yc_iter_free(r);
}

/* ---- cycle and generators ---------------------------------------------- */

TEST(cycle_replays_copies_and_closes_upstream)
{
    tsrc t;
    tsrc_init(&t, 3);
    yc_iter *c = yc_iter_take(yc_iter_cycle(tsrc_iter(&t)), 8);
    int64_t got[16];
    size_t n;
    CHECK_ST(pull_all(c, got, 16, &n), YC_RETURN);
    CHECK_INTS(got, n, 0, 1, 2, 0, 1, 2, 0, 1);
    CHECK_EQ_INT(t.produced, 3); /* one pass only */
    CHECK_EQ_INT(t.finally_runs, 1);
    yc_iter_free(c);

    tsrc_init(&t, 0);
    c = yc_iter_cycle(tsrc_iter(&t)); /* empty: empty, not an endless loop */
    CHECK_ST(yc_iter_next(c, NULL), YC_RETURN);
    CHECK_ST(yc_iter_next(c, NULL), YC_RETURN);
    yc_iter_free(c);
}

TEST(cycle_of_lines_keeps_copies)
{
    char path[64];
    file_of(path, "ab\ncd\n");
    yc_io_opts o = {.buf_size = 2, .flags = YC_IO_STRIP};
    yc_iter *c = yc_iter_take(yc_iter_cycle(yc_iter_lines_path(path, &o)), 5);
    char out[128];
    CHECK_ST(join_records(c, 0, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "ab|cd|ab|cd|ab|");
    yc_iter_free(c);
    unlink(path);
}

static yc_val three(void *arg)
{
    (void)arg;
    yc_yield(yc_int(1));
    yc_yield(yc_int(2));
    yc_yield(yc_int(3));
    return yc_int(99);
}

TEST(gen_source_owns_its_generator)
{
    yc_iter *g = yc_iter_gen(three, NULL, NULL);
    CHECK_STR(yc_iter_name(g), "generator");
    int64_t got[8];
    size_t n;
    CHECK_ST(pull_all_batch(g, 8, got, 8, &n), YC_RETURN); /* per item underneath */
    CHECK_INTS(got, n, 1, 2, 3);
    yc_iter_free(g);
    CHECK(yc_iter_gen(NULL, NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: yc_gen_new: generator function is NULL");
}

/* ---- lines -------------------------------------------------------------- */

TEST(lines_keep_newlines_and_last_line_without_one)
{
    char path[64], out[256];
    file_of(path, "a\nbb\n\nccc");
    for (size_t cap = 0; cap <= 3; cap++) {
        yc_iter *l = yc_iter_lines_path(path, NULL);
        CHECK_STR(yc_iter_name(l), "lines");
        CHECK_ST(join_records(l, cap, out, sizeof out), YC_RETURN);
        CHECK_STR(out, "a\n|bb\n|\n|ccc|");
        CHECK_ST(yc_iter_next(l, NULL), YC_RETURN);
        yc_iter_free(l);
    }
    yc_io_opts o = {.flags = YC_IO_STRIP};
    yc_iter *l = yc_iter_lines_path(path, &o);
    CHECK_ST(join_records(l, 2, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "a|bb||ccc|");
    yc_iter_free(l);
    unlink(path);
}

TEST(lines_empty_file_and_lone_newline)
{
    char path[64], out[64];
    file_of(path, "");
    yc_iter *l = yc_iter_lines_path(path, NULL);
    CHECK_ST(yc_iter_next(l, NULL), YC_RETURN);
    yc_iter_free(l);
    unlink(path);
    file_of(path, "\n");
    l = yc_iter_lines_path(path, NULL);
    CHECK_ST(join_records(l, 4, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "\n|");
    yc_iter_free(l);
    unlink(path);
}

/* Lines of lengths 0..299 through a 7-byte buffer, per item and in blocks:
 * every line comes out whole. */
TEST(lines_longer_than_the_buffer)
{
    size_t total = 0;
    for (int i = 0; i < 300; i++) total += (size_t)i + 1;
    char *text = malloc(total + 1), *want = malloc(total + 301);
    size_t w = 0, ww = 0;
    for (int i = 0; i < 300; i++) {
        for (int j = 0; j < i; j++) text[w++] = want[ww++] = (char)('a' + (i + j) % 26);
        text[w++] = '\n';
        want[ww++] = '|';
    }
    want[ww] = '\0';
    char path[64];
    tmp_file(path, sizeof path, text, w);
    char *out = malloc(total + 400);
    for (size_t cap = 0; cap <= 16; cap += 16) {
        yc_io_opts o = {.buf_size = 7, .flags = YC_IO_STRIP};
        yc_iter *l = yc_iter_lines_path(path, &o);
        CHECK_ST(join_records(l, cap, out, total + 400), YC_RETURN);
        CHECK(strcmp(out, want) == 0);
        yc_iter_free(l);
    }
    /* one line far longer than the default buffer, without a newline */
    size_t big = 3 * YC_IO_BUF_DEFAULT + 17;
    char *huge = malloc(big);
    for (size_t i = 0; i < big; i++) huge[i] = (char)('A' + i % 23);
    char path2[64];
    tmp_file(path2, sizeof path2, huge, big);
    yc_iter *l = yc_iter_lines_path(path2, NULL);
    yc_val v;
    CHECK_ST(yc_iter_next(l, &v), YC_YIELD);
    CHECK_EQ_INT(yc_len(v), big);
    CHECK(yc_len(v) == big && memcmp(v.s, huge, big) == 0);
    CHECK_ST(yc_iter_next(l, &v), YC_RETURN);
    yc_iter_free(l);
    unlink(path);
    unlink(path2);
    free(text);
    free(want);
    free(out);
    free(huge);
}

TEST(lines_of_a_file_and_a_descriptor)
{
    const char text[] = "one\ntwo\nthree\n";
    FILE *f = fmemopen((void *)text, sizeof text - 1, "r");
    yc_iter *l = yc_iter_lines_file(f, NULL);
    char out[64];
    CHECK_ST(join_records(l, 0, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "one\n|two\n|three\n|");
    yc_iter_free(l);
    CHECK(fclose(f) == 0); /* borrowed: still open */

    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(write(fds[1], "x\ny", 3) == 3);
    close(fds[1]);
    yc_io_opts o = {.flags = YC_IO_CLOSE};
    l = yc_iter_lines_fd(fds[0], &o);
    CHECK_ST(join_records(l, 4, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "x\n|y|");
    /* exhausted: YC_IO_CLOSE closed the descriptor already */
    CHECK(fcntl(fds[0], F_GETFD) == -1 && errno == EBADF);
    yc_iter_free(l);

    CHECK(pipe(fds) == 0);
    close(fds[1]);
    l = yc_iter_lines_fd(fds[0], NULL); /* borrowed */
    CHECK_ST(yc_iter_close(l, NULL), YC_OK);
    yc_iter_free(l);
    CHECK(fcntl(fds[0], F_GETFD) != -1);
    close(fds[0]);
}

TEST(lines_close_closes_an_owned_descriptor_early)
{
    char path[64];
    file_of(path, "a\nb\nc\n");
    int fd = open(path, O_RDONLY);
    yc_io_opts o = {.flags = YC_IO_CLOSE};
    yc_iter *l = yc_iter_lines_fd(fd, &o);
    CHECK_ST(yc_iter_next(l, NULL), YC_YIELD);
    CHECK(fcntl(fd, F_GETFD) != -1);
    CHECK_ST(yc_iter_close(l, NULL), YC_OK);
    CHECK(fcntl(fd, F_GETFD) == -1);
    CHECK_ST(yc_iter_next(l, NULL), YC_RETURN); /* use after close */
    yc_iter_free(l);
    unlink(path);
}

/* ---- read errors and bad arguments ------------------------------------- */

TEST(read_error_is_oserror_naming_the_source)
{
    yc_iter *l = yc_iter_lines_path("/tmp", NULL); /* opens; read() gives EISDIR */
    CHECK(l != NULL);
    CHECK_ST(yc_iter_next(l, NULL), YC_RAISE);
    yc_exc *e = yc_err_get();
    CHECK_EQ_INT(yc_exc_errno(e), EISDIR);
    CHECK_EXC_STAGE(&yc_IsADirectoryError, "IsADirectoryError: [Errno 21] Is a directory: '/tmp'", "lines");
    CHECK_ST(yc_iter_next(l, NULL), YC_RETURN);
    yc_iter_free(l);

    int fd = open("/dev/null", O_WRONLY); /* reading it fails with EBADF */
    l = yc_iter_chunks_fd(fd, 16, NULL);
    size_t n;
    yc_val buf[4];
    CHECK_ST(yc_iter_next_batch(l, buf, 4, &n), YC_RAISE);
    CHECK_EQ_INT(n, 0);
    CHECK_EXC_STAGE(&yc_OSError, "OSError: [Errno 9] Bad file descriptor", "chunks");
    yc_iter_free(l);
    close(fd);

    FILE *f = fopen("/dev/null", "w");
    l = yc_iter_lines_file(f, NULL);
    CHECK_ST(yc_iter_next(l, NULL), YC_RAISE);
    CHECK_EXC(&yc_OSError, "OSError: [Errno 9] Bad file descriptor");
    yc_iter_free(l);
    fclose(f);
}

TEST(open_errors_and_bad_arguments)
{
    CHECK(yc_iter_lines_path("/nonexistent/yc/x", NULL) == NULL);
    CHECK_EXC(&yc_FileNotFoundError,
              "FileNotFoundError: [Errno 2] No such file or directory: '/nonexistent/yc/x'");
    CHECK(yc_iter_lines_fd(-1, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: lines: bad file descriptor");
    CHECK(yc_iter_lines_file(NULL, NULL) == NULL);
    CHECK_EXC(&yc_TypeError, "TypeError: lines: no file (NULL)");
    CHECK(yc_iter_records_fd(0, "", 0, NULL) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: records: the delimiter is empty");
    CHECK(yc_iter_chunks_fd(0, 0, NULL) == NULL);
    CHECK_EXC(&yc_ValueError, "ValueError: chunks: size must be at least one");
}

/* ---- records and chunks ------------------------------------------------ */

TEST(records_multibyte_delimiter_across_reads)
{
    char path[64], out[128];
    file_of(path, "ab\r\ncd\r\n\r\nef\rg\r\n\r");
    for (size_t bs = 1; bs <= 5; bs++) {
        yc_io_opts o = {.buf_size = bs};
        yc_iter *r = yc_iter_records_path(path, "\r\n", 2, &o);
        CHECK_STR(yc_iter_name(r), "records");
        CHECK_ST(join_records(r, bs % 2 ? 0 : 3, out, sizeof out), YC_RETURN);
        CHECK_STR(out, "ab\r\n|cd\r\n|\r\n|ef\rg\r\n|\r|");
        yc_iter_free(r);
        o.flags = YC_IO_STRIP;
        r = yc_iter_records_path(path, "\r\n", 2, &o);
        CHECK_ST(join_records(r, 2, out, sizeof out), YC_RETURN);
        CHECK_STR(out, "ab|cd||ef\rg|\r|");
        yc_iter_free(r);
    }
    unlink(path);
    file_of(path, "a,b,,c,");
    yc_io_opts o = {.flags = YC_IO_STRIP};
    yc_iter *r = yc_iter_records_path(path, ",", 1, &o);
    CHECK_ST(join_records(r, 0, out, sizeof out), YC_RETURN);
    CHECK_STR(out, "a|b||c|");
    yc_iter_free(r);
    unlink(path);
}

TEST(chunks_fixed_size_last_shorter)
{
    char path[64], out[128];
    file_of(path, "abcdefghij");
    for (size_t bs = 1; bs <= 12; bs += 11) {
        yc_io_opts o = {.buf_size = bs};
        yc_iter *c = yc_iter_chunks_path(path, 4, &o);
        CHECK_ST(join_records(c, bs == 1 ? 0 : 2, out, sizeof out), YC_RETURN);
        CHECK_STR(out, "abcd|efgh|ij|");
        yc_iter_free(c);
    }
    unlink(path);
    file_of(path, "");
    yc_iter *c = yc_iter_chunks_path(path, 4, NULL);
    CHECK_ST(yc_iter_next(c, NULL), YC_RETURN);
    yc_iter_free(c);
    unlink(path);
}

/* A block's values all stay valid until the next pull, even when the
 * buffer is refilled for the next block. */
TEST(block_values_valid_until_next_pull)
{
    char path[64];
    file_of(path, "l0\nl1\nl2\nl3\nl4\nl5\nl6\nl7\nl8\nl9\n");
    yc_io_opts o = {.buf_size = 8, .flags = YC_IO_STRIP};
    yc_iter *l = yc_iter_lines_path(path, &o);
    yc_val buf[16];
    size_t n, seen = 0;
    int st;
    do {
        st = yc_iter_next_batch(l, buf, 16, &n);
        for (size_t i = 0; i < n; i++) {
            char want[4];
            snprintf(want, sizeof want, "l%zu", seen + i);
            CHECK(yc_len(buf[i]) == 2 && memcmp(buf[i].s, want, 2) == 0);
        }
        seen += n;
    } while (st == YC_YIELD);
    CHECK_ST(st, YC_RETURN);
    CHECK_EQ_INT(seen, 10);
    yc_iter_free(l);
    unlink(path);
}

TEST_MAIN()
