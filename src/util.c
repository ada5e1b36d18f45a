/*
 * Small shared pieces: the allocator hook, status names, values, and the
 * compile-time configuration string.
 */
#include "internal.h"

#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- allocator -------------------------------------------------------- */

static void *default_alloc(void *ud, void *p, size_t n)
{
    (void)ud;
    if (n == 0) {
        free(p);
        return NULL;
    }
    return p ? realloc(p, n) : malloc(n); /* glibc's realloc(NULL) costs more */
}

static yc_alloc_fn alloc_fn = default_alloc;
static void *alloc_ud;

void yc_set_allocator(yc_alloc_fn fn, void *ud)
{
    alloc_fn = fn ? fn : default_alloc;
    alloc_ud = fn ? ud : NULL;
}

void *yc__malloc(size_t n) { return alloc_fn(alloc_ud, NULL, n ? n : 1); }
void *yc__realloc(void *p, size_t n) { return alloc_fn(alloc_ud, p, n ? n : 1); }
void yc__free(void *p)
{
    if (p) alloc_fn(alloc_ud, p, 0);
}

char *yc__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = yc__malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* ---- pointer sets ------------------------------------------------------- */

void yc__ptrset_init(yc__ptrset *s)
{
    memset(s->small, 0, sizeof s->small);
    s->slots = s->small;
    s->cap = sizeof s->small / sizeof s->small[0];
    s->n = 0;
}

void yc__ptrset_free(yc__ptrset *s)
{
    if (s->slots != s->small) yc__free(s->slots);
    s->slots = s->small;
}

/* Where p is in slots (cap a power of two, never full), or the empty slot
 * where it goes: linear probing from a multiplicative hash. */
static const void **ptr_slot(const void **slots, size_t cap, const void *p)
{
    uint64_t h = (uint64_t)(uintptr_t)p * UINT64_C(0x9e3779b97f4a7c15);
    size_t i = (size_t)(h >> 32) & (cap - 1);
    while (slots[i] && slots[i] != p) i = (i + 1) & (cap - 1);
    return &slots[i];
}

static bool ptrset_grow(yc__ptrset *s)
{
    size_t cap = 2 * s->cap;
    const void **slots = yc__malloc(cap * sizeof *slots);
    if (!slots) return false;
    memset(slots, 0, cap * sizeof *slots);
    for (size_t i = 0; i < s->cap; i++)
        if (s->slots[i]) *ptr_slot(slots, cap, s->slots[i]) = s->slots[i];
    yc__ptrset_free(s);
    s->slots = slots;
    s->cap = cap;
    return true;
}

/* Kept at most half full, so probes stay short and a free slot exists. */
int yc__ptrset_add(yc__ptrset *s, const void *p)
{
    const void **slot = ptr_slot(s->slots, s->cap, p);
    if (*slot) return 0;
    if (2 * (s->n + 1) > s->cap) {
        if (!ptrset_grow(s)) return -1;
        slot = ptr_slot(s->slots, s->cap, p);
    }
    *slot = p;
    s->n++;
    return 1;
}

/* ---- status ----------------------------------------------------------- */

const char *yc_status_name(int status)
{
    switch (status) {
#define X(name, value, desc) case value: return "YC_" #name;
        YC_STATUS_MAP(X)
#undef X
    }
    return "YC_UNKNOWN";
}

const char *yc_status_str(int status)
{
    switch (status) {
#define X(name, value, desc) case value: return desc;
        YC_STATUS_MAP(X)
#undef X
    }
    return "unknown status";
}

/* ---- values ----------------------------------------------------------- */

yc_val yc_str(const char *s) { return s ? yc_bytes(s, strlen(s)) : YC_NONE; }

bool yc_val_eq(yc_val a, yc_val b)
{
    if (yc_type_of(a) != yc_type_of(b)) return false;
    switch (yc_type_of(a)) {
    case YC_T_NONE: return true;
    case YC_T_BOOL: return (a.i != 0) == (b.i != 0);
    case YC_T_INT: return a.i == b.i;
    case YC_T_FLOAT: return a.f == b.f;
    case YC_T_PTR: return a.p == b.p;
    case YC_T_BYTES:
        return yc_len(a) == yc_len(b) && (yc_len(a) == 0 || memcmp(a.s, b.s, yc_len(a)) == 0);
    }
    return false;
}

/* ---- configuration ---------------------------------------------------- */

static char config_buf[512];
static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void config_init(void)
{
    int batch = yc__stack_batch_kind();
    snprintf(config_buf, sizeof config_buf,
             "switch=%s fast_path=%d stack_default=%zu stack_pool_max=%d stack_chunk_slots=%d "
             "stack_chunk_bytes=%zu stack_classes=%d stack_guard=%s stack_batch=%s "
             "claim=%s asan=%d tsan=%d valgrind=%d",
             YC_SWITCH_NAME, YC_FAST_PATH, (size_t)YC_STACK_DEFAULT, (int)YC_STACK_POOL_MAX,
             (int)YC_STACK_CHUNK_SLOTS, (size_t)YC_STACK_CHUNK_BYTES, (int)YC_STACK_CLASSES,
             yc__stack_guard_kind() == YC__GUARD_REGION ? "region" : "mprotect",
             batch == YC__BATCH_PIDFD_SELF   ? "pidfd_self"
             : batch == YC__BATCH_PIDFD_OPEN ? "pidfd_open"
                                             : "none",
             yc__bias_available() ? "biased" : "cas", YC_ASAN, YC_TSAN, YC_VALGRIND);
    size_t len = strlen(config_buf);
    config_buf[len++] = ' ';
    yc__io_backend_describe(config_buf + len, sizeof config_buf - len);
}

const char *yc_config(void)
{
    pthread_once(&config_once, config_init);
    return config_buf;
}
