/*
 * Internal: the pipeline module's shared header (yieldc/iter.h). The stage
 * life cycle is in stage.h, values in values.h, the int64 loops and the
 * AVX2 switch in blocks_i64.h; this adds what the stage files, sources and
 * reducers share besides: the block sizes and buffers.
 *
 * The pipeline files, from the bottom up: values.c, stage.c, blocks_i64.c,
 * stages_stateless.c, stages_stateful.c, sources.c, gen_stages.c,
 * reducers.c. All of them sit above iter.c, which calls none of them.
 */
#ifndef YC_PIPE_H
#define YC_PIPE_H

#include "blocks_i64.h"
#include "stage.h"

#define YC_NOINLINE __attribute__((noinline))

/* A block buffer on the stack: 16-byte aligned, so that no 16-byte value
 * straddles two cache lines. */
#define YC_ALIGNED_BUF _Alignas(16)
/* The smaller block of buffers that live on a stack or in every stage: a
 * reducer's first blocks (reducers also run on generator stacks as small as
 * YC_STACK_MIN) and a generator stage's input block. Reducers move on to
 * YC_BATCH-value blocks on the heap once a pipeline has gone on for
 * PST_GROW_AFTER blocks (reducers.c). */
#define PST_BLOCK_SMALL 256
#define PST_GROW_AFTER 4

#endif
