/*
 * The tasks' inline helpers for the modules that hold futures (task.c,
 * and queue.c and locks.c through sync.h). Never installed.
 *
 * Apart from loop.h, which declares the futures' structure and task.c's
 * functions: an inline that calls into task.c would make the loop's own
 * header, which loop.c includes, use the file above it (docs/design.md,
 * "Layers").
 */
#ifndef YC_TASK_INTERNAL_H
#define YC_TASK_INTERNAL_H

#include "loop.h"

/* yc_task_unref for a live t or NULL (no magic check). */
static inline void yc__unref(yc_task *t)
{
    if (t && --t->refs == 0) yc__task_free(t);
}

#endif
