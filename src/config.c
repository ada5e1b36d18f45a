/*
 * yc_config(): the compile-time options and the run-time probes of every
 * layer (the switch, stacks, the claim, the I/O backend), as one string
 * computed once. It sits at the top layer because it reports on all of
 * them: the layers below cannot call up to ask (docs/design.md, "Layers").
 */
#include "internal.h"
#include "claim.h"
#include "io.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

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
