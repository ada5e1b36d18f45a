/*
 * yieldc side of the formatting differential test (README.md beside this
 * file).
 *
 *   fmt_runner            reads cases from stdin, one a line
 *   fmt_runner --skip WHY prints "SKIP: WHY" and exits 77 (no CPython)
 *
 * A case line is a value or an exception, in tokens separated by spaces;
 * text travels as hex so that any byte fits on the line:
 *
 *   value: N | T | F | i<decimal> | f<16 hex digits: the double's bits>
 *          | b<hex bytes> | ( value... )
 *   exc:   X <Type> -                      Type()
 *          X <Type> m <hex text>           Type(text)          yc_exc_new
 *          X <Type> v <value>              Type(value)         yc_exc_new_value
 *          X <Type> e <errno> <hex name|-> Type(errno, strerror[, name])
 *                                                              yc_exc_new_errno
 *          X - g <hex msg> <n> <exc>...    BaseExceptionGroup(msg, [excs])
 *
 * For a value it prints "V <hex of yc_val_format>", for an exception
 * "X <hex of yc_exc_format> <hex of yc_exc_str> <hex of yc_exc_repr>".
 * Exits 1 on a line it cannot parse, and 3 when an exception or value
 * outlives its case (a leak).
 */
#include <yieldc.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TOKENS 4096

static char *tok[MAX_TOKENS];
static int ntok, pos;

/* Memory of the current case's values (bytes and tuples), freed after it. */
static void *owned[MAX_TOKENS];
static int nowned;

static void *keep(void *p)
{
    if (!p || nowned == MAX_TOKENS) {
        fprintf(stderr, "fmt_runner: out of memory\n");
        exit(2);
    }
    return owned[nowned++] = p;
}

static void bad(const char *what)
{
    fprintf(stderr, "fmt_runner: bad case (%s) at token %d\n", what, pos);
    exit(1);
}

static const char *next_tok(void)
{
    if (pos >= ntok) bad("too short");
    return tok[pos++];
}

/* hex -> bytes in memory kept for the case, NUL-terminated; *len the count. */
static char *unhex(const char *h, size_t *len)
{
    size_t n = strcmp(h, "-") == 0 ? 0 : strlen(h) / 2;
    char *s = keep(malloc(n + 1));
    for (size_t i = 0; i < n; i++) {
        unsigned x;
        if (sscanf(h + 2 * i, "%2x", &x) != 1) bad("hex");
        s[i] = (char)x;
    }
    s[n] = '\0';
    if (len) *len = n;
    return s;
}

static void put_hex(const char *s)
{
    putchar(' ');
    if (!*s) putchar('-');
    for (; *s; s++) printf("%02x", (unsigned char)*s);
}

static yc_val read_val(void)
{
    const char *t = next_tok();
    switch (t[0]) {
    case 'N': return YC_NONE;
    case 'T': return yc_bool(true);
    case 'F': return yc_bool(false);
    case 'i': return yc_int(strtoll(t + 1, NULL, 10));
    case 'f': {
        unsigned long long bits = strtoull(t + 1, NULL, 16);
        double d;
        memcpy(&d, &bits, sizeof d);
        return yc_float(d);
    }
    case 'b': {
        size_t n;
        const char *s = unhex(t + 1, &n);
        return yc_bytes(s, n);
    }
    case '(': {
        yc_val items[64];
        size_t n = 0;
        while (pos < ntok && strcmp(tok[pos], ")") != 0) {
            if (n == 64) bad("tuple too long");
            items[n++] = read_val();
        }
        next_tok(); /* ")" */
        yc_tuple *tp = keep(malloc(sizeof *tp + n * sizeof(yc_val)));
        tp->len = n;
        memcpy(tp->items, items, n * sizeof(yc_val));
        return yc_tuple_val(tp);
    }
    }
    bad("value");
    return YC_NONE;
}

#define X(n) {#n, &yc_##n},
static const struct {
    const char *name;
    const yc_exc_type *type;
} types[] = {YC__EXC_BUILTINS(X)};
#undef X

static const yc_exc_type *find_type(const char *name)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(types[i].name, name) == 0) return types[i].type;
    bad("type");
    return NULL;
}

/* The exception of the tokens at pos (a new reference). */
static yc_exc *read_exc(void)
{
    if (strcmp(next_tok(), "X") != 0) bad("X");
    const char *name = next_tok();
    const char *kind = next_tok();
    if (kind[0] == 'g') {
        const char *msg = unhex(next_tok(), NULL);
        int n = atoi(next_tok());
        yc_exc *members[64];
        if (n < 1 || n > 64) bad("group size");
        for (int i = 0; i < n; i++) members[i] = read_exc();
        yc_exc *g = yc_exc_group_new(msg, members, (size_t)n);
        if (!g) bad("group refused");
        return g;
    }
    const yc_exc_type *t = find_type(name);
    switch (kind[0]) {
    case '-': return yc_exc_new(t, NULL);
    case 'm': return yc_exc_new(t, "%s", unhex(next_tok(), NULL));
    case 'v': return yc_exc_new_value(t, read_val());
    case 'e': {
        int err = atoi(next_tok());
        const char *file = unhex(next_tok(), NULL);
        return *file ? yc_exc_new_errno(t, err, "'%s'", file) : yc_exc_new_errno(t, err, NULL);
    }
    }
    bad("exception kind");
    return NULL;
}

static char *format_alloc(int (*fn)(const void *, char *, size_t), const void *x)
{
    int n = fn(x, NULL, 0);
    char *s = keep(malloc((size_t)n + 1));
    int m = fn(x, s, (size_t)n + 1);
    if (m != n || strlen(s) != (size_t)n) {
        fprintf(stderr, "fmt_runner: length %d measured, %d written\n", n, m);
        exit(1);
    }
    return s;
}

static int val_fmt(const void *v, char *b, size_t n) { return yc_val_format(*(const yc_val *)v, b, n); }
static int exc_fmt(const void *e, char *b, size_t n) { return yc_exc_format(e, b, n); }
static int exc_str(const void *e, char *b, size_t n) { return yc_exc_str(e, b, n); }
static int exc_repr(const void *e, char *b, size_t n) { return yc_exc_repr(e, b, n); }

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--skip") == 0) {
        printf("SKIP: %s\n", argv[2]);
        return 77;
    }
    static char line[1 << 20];
    while (fgets(line, sizeof line, stdin)) {
        ntok = pos = 0;
        for (char *s = strtok(line, " \n"); s; s = strtok(NULL, " \n")) {
            if (ntok == MAX_TOKENS) bad("too many tokens");
            tok[ntok++] = s;
        }
        if (!ntok) continue;
        if (strcmp(tok[0], "X") == 0) {
            yc_exc *e = read_exc();
            printf("X");
            put_hex(format_alloc(exc_fmt, e));
            put_hex(format_alloc(exc_str, e));
            put_hex(format_alloc(exc_repr, e));
            yc_exc_unref(e);
        } else {
            yc_val v = read_val();
            printf("V");
            put_hex(format_alloc(val_fmt, &v));
        }
        putchar('\n');
        if (pos != ntok) bad("trailing tokens");
        while (nowned) free(owned[--nowned]);
        yc_stats st;
        yc_stats_get(&st);
        if (st.exceptions) {
            fprintf(stderr, "fmt_runner: LEAK %ld exceptions\n", st.exceptions);
            return 3;
        }
    }
    return 0;
}
