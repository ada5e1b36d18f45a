/*
 * Helpers shared by the differential test runners (runner.c, and
 * ../loopdiff/runner_loop.c): exiting on harness errors, a growable string,
 * and the S-expression reader of the scenario languages (integers, `none`,
 * symbols, lists; `;` comments). Everything is static: each runner is one
 * program.
 */
#ifndef YC_DIFF_SX_H
#define YC_DIFF_SX_H

#include <yieldc.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Small helpers
 * ==================================================================== */

static inline YC_NORETURN void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("runner: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(2);
}

static inline void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static inline void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

/* A growable string. */
typedef struct sbuf {
    char *s;
    size_t len, cap;
} sbuf;

static inline void sb_addv(sbuf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0) return;
    if (b->len + (size_t)n + 1 > b->cap) {
        b->cap = (b->len + (size_t)n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
}

YC_PRINTF(2, 3) static inline void sb_add(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sb_addv(b, fmt, ap);
    va_end(ap);
}

static inline const char *sb_str(sbuf *b) { return b->s ? b->s : ""; }

/* ======================================================================
 * S-expressions
 * ==================================================================== */

enum { SX_INT, SX_NONE, SX_SYM, SX_LIST };

typedef struct sx {
    int kind;
    int64_t i;
    char *sym;
    struct sx **v;
    int n;
} sx;

static inline void sx_free(sx *x)
{
    if (!x) return;
    for (int i = 0; i < x->n; i++) sx_free(x->v[i]);
    free(x->v);
    free(x->sym);
    free(x);
}

typedef struct lexer {
    const char *p;
    int line;
} lexer;

static inline void skip_space(lexer *lx)
{
    for (;;) {
        while (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\r' || *lx->p == '\n') {
            if (*lx->p == '\n') lx->line++;
            lx->p++;
        }
        if (*lx->p != ';') return;
        while (*lx->p && *lx->p != '\n') lx->p++;
    }
}

/* Parses one form; NULL at end of input. */
static inline sx *sx_read(lexer *lx)
{
    skip_space(lx);
    if (!*lx->p) return NULL;
    if (*lx->p == ')') die("line %d: unexpected ')'", lx->line);
    sx *x = xmalloc(sizeof *x);
    if (*lx->p == '(') {
        lx->p++;
        x->kind = SX_LIST;
        int cap = 0;
        for (;;) {
            skip_space(lx);
            if (!*lx->p) die("line %d: unterminated list", lx->line);
            if (*lx->p == ')') {
                lx->p++;
                break;
            }
            if (x->n == cap) {
                cap = cap ? cap * 2 : 4;
                x->v = xrealloc(x->v, (size_t)cap * sizeof *x->v);
            }
            x->v[x->n++] = sx_read(lx);
        }
        return x;
    }
    const char *s = lx->p;
    while (*lx->p && !strchr(" \t\r\n();", *lx->p)) lx->p++;
    size_t n = (size_t)(lx->p - s);
    char *tok = xmalloc(n + 1);
    memcpy(tok, s, n);
    char *end;
    errno = 0;
    long long v = strtoll(tok, &end, 10);
    if (*end == '\0' && end != tok && errno == 0) {
        x->kind = SX_INT;
        x->i = v;
        free(tok);
    } else if (strcmp(tok, "none") == 0) {
        x->kind = SX_NONE;
        free(tok);
    } else {
        x->kind = SX_SYM;
        x->sym = tok;
    }
    return x;
}

static inline bool is_sym(const sx *x, const char *s) { return x && x->kind == SX_SYM && strcmp(x->sym, s) == 0; }

static inline void sx_print(sbuf *b, const sx *x)
{
    switch (x->kind) {
    case SX_INT: sb_add(b, "%" PRId64, x->i); break;
    case SX_NONE: sb_add(b, "none"); break;
    case SX_SYM: sb_add(b, "%s", x->sym); break;
    default:
        sb_add(b, "(");
        for (int i = 0; i < x->n; i++) {
            if (i) sb_add(b, " ");
            sx_print(b, x->v[i]);
        }
        sb_add(b, ")");
    }
}

#endif
