/*
 * Python's repr() of values and strings, written into a bounded buffer
 * with snprintf's contract (the length wanted is counted even past the
 * end). Used by yc_val_format and by the str and repr of exceptions
 * (exc_print.c).
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "printable.h"

/* ---- the bounded writer ------------------------------------------------ */

void yc__out_put(yc__out *o, const char *s, size_t len)
{
    if (o->cap && o->len < o->cap - 1) {
        size_t room = o->cap - 1 - o->len;
        memcpy(o->buf + o->len, s, len < room ? len : room);
    }
    o->len += len;
}

void yc__out_printf(yc__out *o, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k > 0) yc__out_put(o, tmp, (size_t)k < sizeof tmp ? (size_t)k : sizeof tmp - 1);
}

int yc__out_end(yc__out *o)
{
    if (o->cap) o->buf[o->len < o->cap ? o->len : o->cap - 1] = '\0';
    return o->len > INT32_MAX ? INT32_MAX : (int)o->len;
}

/* ---- floats ------------------------------------------------------------ */

/* Whether the decimal string s reads back as f. */
static bool reads_back(const char *s, double f) { return strtod(s, NULL) == f; }

/* The shortest decimal digits that read back as f (finite, nonzero, taken
 * positive), without trailing zeros, in digits[], and the position of the
 * decimal point: f = 0.DIGITS * 10^decpt. For each precision the correctly
 * rounded form is tried first; at a power of two the interval of values
 * reading back as f is lopsided, so a neighbour one unit of the last digit
 * away may read back when the nearest does not: that is tried too. Among
 * the forms of one length, the nearest to f wins, as in Python's dtoa. */
static int shortest_digits(double f, char digits[20])
{
    char tmp[48];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, f);
        /* tmp: D[.DDD]e[+-]XX; the mantissa as an integer of prec+1 digits */
        char *e = strchr(tmp, 'e');
        int exp10 = atoi(e + 1);
        uint64_t m = 0;
        for (const char *p = tmp; p < e; p++)
            if (*p != '.') m = m * 10 + (uint64_t)(*p - '0');
        int scale = exp10 - prec; /* f ~ m * 10^scale */
        uint64_t found = 0;
        if (reads_back(tmp, f)) {
            found = m;
        } else {
            for (int d = -1; d <= 1 && !found; d += 2) {
                uint64_t c = m + (uint64_t)(int64_t)d;
                if (c == 0) continue;
                snprintf(tmp, sizeof tmp, "%" PRIu64 "e%d", c, scale);
                if (reads_back(tmp, f)) found = c;
            }
        }
        if (!found) continue;
        int n = snprintf(digits, 20, "%" PRIu64, found);
        int decpt = n + scale;
        while (n > 1 && digits[n - 1] == '0') digits[--n] = '\0';
        return decpt;
    }
    /* 17 significant digits always read back */
    snprintf(tmp, sizeof tmp, "%.16e", f);
    char *e = strchr(tmp, 'e');
    int n = 0;
    for (const char *p = tmp; p < e; p++)
        if (*p != '.') digits[n++] = *p;
    while (n > 1 && digits[n - 1] == '0') n--;
    digits[n] = '\0';
    return atoi(e + 1) + 1;
}

/* float.__repr__: the shortest digits, in positional form when the decimal
 * point falls within 16 places of them (1e-04 is 0.0001, 1e16 is 1e+16),
 * else as d.ddde+XX with at least two exponent digits; ".0" after integral
 * values; inf, -inf, nan, -0.0. */
static void repr_float(yc__out *o, double f)
{
    if (isnan(f)) {
        yc__out_put(o, "nan", 3);
        return;
    }
    if (signbit(f)) yc__out_put(o, "-", 1);
    f = fabs(f);
    if (isinf(f) || f == 0) {
        yc__out_put(o, f == 0 ? "0.0" : "inf", 3);
        return;
    }
    char d[20];
    int decpt = shortest_digits(f, d), n = (int)strlen(d);
    if (decpt <= -4 || decpt > 16) {
        yc__out_put(o, d, 1);
        if (n > 1) {
            yc__out_put(o, ".", 1);
            yc__out_put(o, d + 1, (size_t)n - 1);
        }
        yc__out_printf(o, "e%+03d", decpt - 1);
    } else if (decpt <= 0) {
        yc__out_put(o, "0.", 2);
        for (int i = 0; i < -decpt; i++) yc__out_put(o, "0", 1);
        yc__out_put(o, d, (size_t)n);
    } else if (decpt >= n) {
        yc__out_put(o, d, (size_t)n);
        for (int i = n; i < decpt; i++) yc__out_put(o, "0", 1);
        yc__out_put(o, ".0", 2);
    } else {
        yc__out_put(o, d, (size_t)decpt);
        yc__out_put(o, ".", 1);
        yc__out_put(o, d + decpt, (size_t)(n - decpt));
    }
}

/* ---- bytes and strings ------------------------------------------------- */

/* The quote Python picks: ' unless the text has a ' and no ". */
static char pick_quote(const char *s, size_t len)
{
    return len && memchr(s, '\'', len) && !memchr(s, '"', len) ? '"' : '\'';
}

/* The escapes common to bytes and str: \\, the quote, \t \n \r; true when
 * c was one of them. */
static bool put_simple_escape(yc__out *o, unsigned char c, char q)
{
    char e = c == '\\' ? '\\' : c == (unsigned char)q ? q : c == '\t' ? 't' : c == '\n' ? 'n'
           : c == '\r' ? 'r' : 0;
    if (!e) return false;
    char two[2] = {'\\', e};
    yc__out_put(o, two, 2);
    return true;
}

/* bytes.__repr__: b'...' with \xNN for bytes outside 0x20..0x7e. */
static void repr_bytes(yc__out *o, const unsigned char *s, size_t len)
{
    char q = pick_quote((const char *)s, len);
    char open[2] = {'b', q};
    yc__out_put(o, open, 2);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];
        if (put_simple_escape(o, c, q)) continue;
        if (c < 0x20 || c >= 0x7f) yc__out_printf(o, "\\x%02x", c);
        else yc__out_put(o, (const char *)&c, 1);
    }
    yc__out_put(o, &q, 1);
}

static bool printable(uint32_t c)
{
    size_t lo = 0, hi = sizeof yc__unprintable / sizeof yc__unprintable[0];
    while (lo < hi) { /* the first range ending at or after c */
        size_t mid = (lo + hi) / 2;
        if (yc__unprintable[mid][1] < c) lo = mid + 1;
        else hi = mid;
    }
    return lo == sizeof yc__unprintable / sizeof yc__unprintable[0] || c < yc__unprintable[lo][0];
}

/* Decodes one UTF-8 sequence at s (len > 0 bytes left) into *c; returns
 * its length, or 0 when it is not valid UTF-8 (overlong forms, surrogates
 * and values past U+10FFFF included). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *c)
{
    unsigned char b = s[0];
    size_t n = b >= 0xf0 && b <= 0xf4 ? 4 : b >= 0xe0 ? 3 : b >= 0xc2 && b <= 0xdf ? 2 : 0;
    if (b >= 0xf5) n = 0;
    if (!n || n > len) return 0;
    uint32_t v = b & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < least[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 0;
    *c = v;
    return n;
}

void yc__repr_str(yc__out *o, const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    char q = pick_quote(text, len);
    yc__out_put(o, &q, 1);
    for (size_t i = 0; i < len;) {
        unsigned char b = s[i];
        if (b < 0x80) {
            i++;
            if (put_simple_escape(o, b, q)) continue;
            if (b < 0x20 || b == 0x7f) yc__out_printf(o, "\\x%02x", b);
            else yc__out_put(o, (const char *)&b, 1);
            continue;
        }
        uint32_t c;
        size_t n = utf8_decode(s + i, len - i, &c);
        if (!n) { /* not UTF-8: the byte as \xNN */
            yc__out_printf(o, "\\x%02x", b);
            i++;
        } else if (printable(c)) {
            yc__out_put(o, text + i, n);
            i += n;
        } else {
            if (c < 0x100) yc__out_printf(o, "\\x%02" PRIx32, c);
            else if (c < 0x10000) yc__out_printf(o, "\\u%04" PRIx32, c);
            else yc__out_printf(o, "\\U%08" PRIx32, c);
            i += n;
        }
    }
    yc__out_put(o, &q, 1);
}

/* ---- values ------------------------------------------------------------ */

#define TUPLE_DEPTH 32 /* nested tuples printed; deeper ones print as (...) */

void yc__repr_val(yc__out *o, yc_val v, int depth)
{
    const yc_tuple *t = yc_tuple_of(v);
    switch (yc_type_of(v)) {
    case YC_T_NONE: yc__out_put(o, "None", 4); return;
    case YC_T_BOOL: yc__out_put(o, v.i ? "True" : "False", v.i ? 4 : 5); return;
    case YC_T_INT: yc__out_printf(o, "%" PRId64, v.i); return;
    case YC_T_FLOAT: repr_float(o, v.f); return;
    case YC_T_BYTES: repr_bytes(o, (const unsigned char *)v.s, yc_len(v)); return;
    case YC_T_PTR:
        if (!t) {
            yc__out_printf(o, "<pointer %p>", v.p);
            return;
        }
        break;
    default: yc__out_put(o, "<bad value>", 11); return;
    }
    if (depth >= TUPLE_DEPTH) {
        yc__out_put(o, "(...)", 5);
        return;
    }
    yc__out_put(o, "(", 1);
    for (size_t i = 0; i < t->len; i++) {
        if (i) yc__out_put(o, ", ", 2);
        yc__repr_val(o, t->items[i], depth + 1);
    }
    yc__out_put(o, t->len == 1 ? ",)" : ")", t->len == 1 ? 2 : 1);
}

int yc_val_format(yc_val v, char *buf, size_t n)
{
    yc__out o = {buf, buf ? n : 0, 0};
    yc__repr_val(&o, v, 0);
    return yc__out_end(&o);
}

const char *yc_val_type_name(yc_val v)
{
    switch (yc_type_of(v)) {
    case YC_T_NONE: return "NoneType";
    case YC_T_BOOL: return "bool";
    case YC_T_INT: return "int";
    case YC_T_FLOAT: return "float";
    case YC_T_BYTES: return "bytes";
    case YC_T_PTR: return yc_tuple_of(v) ? "tuple" : "pointer";
    }
    return "?";
}
