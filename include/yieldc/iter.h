/* yieldc: lazy pipelines (sources, combinators, reducers, generator expressions).
 * Included by yieldc.h; do not include directly.
 *
 * A pipeline is a chain of iterators (yc_iter): a source, any number of
 * stages, and a consumer (a reducer, YC_FOREACH, yc_iter_next). Nothing runs
 * when a pipeline is built; each pull drives the stages upstream only as far
 * as needed (docs/semantics.md section 10). docs/pipelines.md is the guide.
 *
 * Rules shared by everything below
 * --------------------------------
 * - Ownership. Every stage constructor TAKES its upstream iterator(s): the
 *   stage owns them from the call on, also when the constructor fails (it
 *   then frees them). Freeing a stage (yc_iter_free) frees everything
 *   upstream; closing it (yc_iter_close) closes everything upstream (files
 *   are closed, generators' finally blocks run). A constructor given a NULL
 *   upstream returns NULL and leaves the pending error as it is (a TypeError
 *   if none is pending), so nested constructors need one check at the end:
 *       yc_iter *p = yc_iter_filter(yc_iter_map(yc_iter_range(0, n, 1), f, c), p, c);
 *       if (!p) ...the first failure is pending...
 *   Constructors return NULL with an exception pending on failure
 *   (MemoryError, or the error named in their comment).
 * - Reducers (yc_iter_count ... yc_iter_for_each) BORROW the iterator: the
 *   caller still frees it, and may go on pulling from it afterwards.
 * - A stage ends like the generator expression it stands for (10.3): after
 *   it is exhausted, has failed or was closed, every pull returns YC_RETURN
 *   (None), and it has closed its upstream (a stage that stops early, like
 *   take, closes it at once). Freeing is still the owner's job.
 * - Callbacks take the user's ctx pointer first. They may raise (yc_raise,
 *   YC_CHECK): the stage catches the exception and returns YC_RAISE with it
 *   pending. map, filter, takewhile, dropwhile, accumulate and groupby go on,
 *   as CPython's do: the next pull takes the next item, the same for every
 *   consumer (the reducers stop at the error, leaving the stage after it);
 *   the other stages end. Errors coming up from upstream pass through the
 *   same way. Each stage the error passes adds a traceback entry
 *   File "<pipeline>", line DEPTH, in NAME: NAME is the stage's kind ("map")
 *   or its label (yc_iter_label), DEPTH its distance from the source (0).
 * - Values are borrowed as everywhere in yieldc: a BYTES value from a file
 *   source points into the source's buffer and stays valid until the source
 *   is pulled again (for a batch: every value of it, until the next pull).
 *   Stages that hold on to items (batch, window, unique, groupby, tee,
 *   cycle, accumulate, collect) copy BYTES and tuples; other values are
 *   kept as they are (a PTR is not followed).
 * - Block path. Stages pass blocks of values (yc_iter_next_batch) when the
 *   consumer asks for blocks: the reducers that consume everything (count,
 *   sum, min, max, reduce, collect) do. Results are the same; only the
 *   interleaving of different stages' callbacks changes (a map callback runs
 *   on a block before the next stage sees it). yc_iter_next, YC_FOREACH,
 *   any, all, first, nth and for_each pull one item at a time and stop
 *   exactly where Python would. An iterator of your own joins the block
 *   path with yc_iter_type.next_batch (yieldc.h).
 * - A stage pulled, closed or freed from inside one of its own callbacks:
 *   accumulate, unique, groupby, flat_map, map_i64 and filter_i64 refuse
 *   (YC_EBUSY, ValueError "NAME is already executing (called from its own
 *   callback)"; nothing changes), as generator stages and generator
 *   expressions do ("generator already executing"); map, filter, takewhile
 *   and dropwhile refuse close and free the same way, and hand out the next
 *   item to a pull, as CPython's map does.
 * - Use after yc_iter_free is undefined. Everything is per thread: a
 *   pipeline is used by one thread at a time.
 */
#ifndef YIELDC_ITER_H
#define YIELDC_ITER_H

#ifndef YIELDC_H
#  error "include <yieldc.h>, not <yieldc/iter.h>"
#endif

/* ======================================================================
 * Callbacks, tuples and owned values
 * ==================================================================== */

/* x -> value (map, keys). May raise. */
typedef yc_val (*yc_map_fn)(void *ctx, yc_val x);
/* x -> keep it? (filter, takewhile, any, ...). May raise. */
typedef bool (*yc_pred_fn)(void *ctx, yc_val x);
/* Transforms xs[0..n) in place (the block form of map). May raise. */
typedef void (*yc_map_batch_fn)(void *ctx, yc_val *xs, size_t n);
/* Keeps some of xs[0..n), moved to the front in order; returns how many
 * (the block form of filter). May raise. */
typedef size_t (*yc_filter_batch_fn)(void *ctx, yc_val *xs, size_t n);
/* The int64 block forms (map_i64, filter_i64): the same on plain int64
 * values, xs[0..n) contiguous. May raise. */
typedef void (*yc_map_i64_fn)(void *ctx, int64_t *xs, size_t n);
typedef size_t (*yc_filter_i64_fn)(void *ctx, int64_t *xs, size_t n);
/* (acc, x) -> new acc (reduce, accumulate). May raise. */
typedef yc_val (*yc_reduce_fn)(void *ctx, yc_val acc, yc_val x);
/* x -> a new iterator, which the caller (flat_map, a generator expression)
 * owns and frees; NULL with an exception pending when x has none. */
typedef yc_iter *(*yc_flat_fn)(void *ctx, yc_val x);
/* Called for each item by yc_iter_for_each: true goes on, false stops. */
typedef bool (*yc_each_fn)(void *ctx, yc_val x);

/* The largest block the library's reducers ask for: a block callback under
 * count, sum, min, max, reduce or collect gets at most YC_BATCH values (at
 * most the cap of yc_iter_next_batch in general). Reducers start with
 * blocks of 256 and move on to YC_BATCH once a pipeline has gone on for a
 * few blocks. yc_iter_next_batch is declared in yieldc.h. */
#define YC_BATCH 1024
/* "No limit" for counts and islice's stop (Python's None). */
#define YC_NO_LIMIT INT64_MAX

/* A tuple of len values. enumerate, zip, batch, window and groupby yield
 * tuples as PTR values tagged as tuples (yc_tuple_val); the tuple belongs
 * to the stage and stays valid until the stage is pulled again. */
typedef struct yc_tuple {
    size_t len;
    yc_val items[];
} yc_tuple;

#define YC__TUPLE_TAG ((uint64_t)0x7475706cu) /* "tupl", in a PTR's length bits */

/* t as a value: a PTR marked as a tuple. */
static inline yc_val yc_tuple_val(const yc_tuple *t)
{
    yc_val v = {{.p = (void *)t}, YC_T_PTR | (YC__TUPLE_TAG << 8)};
    return v;
}
/* The tuple v points to, or NULL when v is not a tuple value. */
static inline const yc_tuple *yc_tuple_of(yc_val v)
{
    return v.meta == (YC_T_PTR | (YC__TUPLE_TAG << 8)) ? (const yc_tuple *)v.p : NULL;
}

/* Python's truth value: None, False, 0, 0.0, b'', NULL pointers and empty
 * tuples are false; everything else is true. */
YC_API bool yc_val_truthy(yc_val v);

/* A copy of v that owns its memory: BYTES get a heap copy of their bytes,
 * tuples a deep copy; other values are returned as they are. Release it with
 * yc_val_release. Returns None with MemoryError pending when memory runs
 * out (check with yc_err_get() when v was BYTES or a tuple). */
YC_API yc_val yc_val_copy(yc_val v);
/* Releases a value returned by yc_val_copy or handed over as owned by a
 * reducer (first, nth, min, max, reduce). Does nothing for other kinds.
 * Never call it on a borrowed BYTES value or tuple. */
YC_API void yc_val_release(yc_val v);

/* ======================================================================
 * Sources
 * ==================================================================== */

/* range(start, stop, step): ints. step 0: NULL with ValueError "range() arg
 * 3 must not be zero". Block path. */
YC_API yc_iter *yc_iter_range(int64_t start, int64_t stop, int64_t step);
/* An infinite counter, itertools.count(start, step): start, start+step, ...
 * A pull whose value would not fit in int64 fails with OverflowError. Type
 * name "count". Block path. */
YC_API yc_iter *yc_iter_counter(int64_t start, int64_t step);
/* itertools.repeat(v, times): v, times times (YC_NO_LIMIT: forever;
 * negative: none). v is borrowed as it is (BYTES must outlive the
 * iterator). Block path. */
YC_API yc_iter *yc_iter_repeat(yc_val v, int64_t times);
/* itertools.cycle(up): up's items, then the same items again forever. Takes
 * up; keeps a copy of every item of the first pass (memory grows with up's
 * length). An empty up gives an empty cycle. */
YC_API yc_iter *yc_iter_cycle(yc_iter *up);
/* The items of a new generator running fn(arg) (yc_gen_new's arguments):
 * the generator's iterator, which owns the generator. */
YC_API yc_iter *yc_iter_gen(yc_gen_fn fn, void *arg, const yc_gen_opts *opts);

/* ---- files --------------------------------------------------------------
 * Records (lines are records ending in "\n"), and fixed-size chunks, of a
 * file descriptor, a FILE * or a path. Files are read with read(2) (fread
 * for a FILE *) into one buffer of buf_size bytes, which grows when a record
 * is longer: any record length works and nothing is truncated. A record is
 * a BYTES value pointing into the buffer, valid until the next pull. The
 * last record is yielded even without its delimiter; an empty file yields
 * nothing. A read error ends the source with OSError (its errno, and the
 * path when known). Block path. Type names: "lines", "records", "chunks".
 * ---------------------------------------------------------------------- */

#define YC_IO_BUF_DEFAULT (256u * 1024u)

enum {
    YC_IO_CLOSE = 1, /* closing or freeing the iterator closes the fd / FILE *
                        (a path source always closes the fd it opened) */
    YC_IO_STRIP = 2  /* records without their delimiter (Python keeps it) */
};

typedef struct yc_io_opts {
    size_t buf_size; /* the read size and the buffer's first size; 0: YC_IO_BUF_DEFAULT */
    unsigned flags;  /* YC_IO_CLOSE | YC_IO_STRIP */
} yc_io_opts;

/* Records ending in the delim_len bytes at delim (borrowed for the call;
 * copied). The delimiter is part of each record unless YC_IO_STRIP.
 * delim_len 0: NULL with ValueError. fd < 0 / f NULL: NULL with TypeError.
 * A path that cannot be opened: NULL with OSError (FileNotFoundError for
 * ENOENT), "[Errno 2] No such file or directory: 'path'". opts may be NULL.
 * The fd / FILE * is borrowed unless YC_IO_CLOSE; the source reads from its
 * current position and never seeks. */
YC_API yc_iter *yc_iter_records_fd(int fd, const void *delim, size_t delim_len,
                                   const yc_io_opts *opts);
YC_API yc_iter *yc_iter_records_file(FILE *f, const void *delim, size_t delim_len,
                                     const yc_io_opts *opts);
YC_API yc_iter *yc_iter_records_path(const char *path, const void *delim, size_t delim_len,
                                     const yc_io_opts *opts);
/* The records ending in "\n": Python's `for line in file` (with the "\n",
 * unless YC_IO_STRIP). */
YC_API yc_iter *yc_iter_lines_fd(int fd, const yc_io_opts *opts);
YC_API yc_iter *yc_iter_lines_file(FILE *f, const yc_io_opts *opts);
YC_API yc_iter *yc_iter_lines_path(const char *path, const yc_io_opts *opts);
/* Chunks of exactly size bytes, the last one shorter (never empty). size 0:
 * NULL with ValueError. YC_IO_STRIP is ignored. */
YC_API yc_iter *yc_iter_chunks_fd(int fd, size_t size, const yc_io_opts *opts);
YC_API yc_iter *yc_iter_chunks_file(FILE *f, size_t size, const yc_io_opts *opts);
YC_API yc_iter *yc_iter_chunks_path(const char *path, size_t size, const yc_io_opts *opts);

/* ======================================================================
 * Stages (combinators). Each takes its upstream (see the rules above).
 * ==================================================================== */

/* map: fn(ctx, x) for each x. Block path (one call per item). After fn
 * raised, the next pull goes on with the next item. */
YC_API yc_iter *yc_iter_map(yc_iter *up, yc_map_fn fn, void *ctx);
/* map with a block callback: fn(ctx, xs, n) transforms whole blocks in
 * place (per item, n is 1). The fastest stage: write fn as a plain loop the
 * compiler can see through. */
YC_API yc_iter *yc_iter_map_batch(yc_iter *up, yc_map_batch_fn fn, void *ctx);
/* filter: the x for which pred(ctx, x) is true; pred NULL keeps the truthy
 * ones (Python's filter(None, it)). Block path. After pred raised, the
 * next pull goes on with the next item. */
YC_API yc_iter *yc_iter_filter(yc_iter *up, yc_pred_fn pred, void *ctx);
/* filter with a block callback (see yc_filter_batch_fn). */
YC_API yc_iter *yc_iter_filter_batch(yc_iter *up, yc_filter_batch_fn fn, void *ctx);
/* ---- int64 blocks: map_i64, filter_i64 ----------------------------------
 * map_batch and filter_batch for pipelines of ints, with the values as plain
 * int64_t arrays: fn(ctx, xs, n) rewrites xs[0..n) in place (map_i64), or
 * moves the values it keeps to the front in order and returns how many
 * (filter_i64; a count above n counts as n). Write fn as a plain loop: the
 * compiler vectorises it. Both yield ints (yc_int). Between range and these
 * stages and into yc_iter_sum / yc_iter_count, blocks move as int64 arrays
 * with no conversion (docs/pipelines.md, "int64 blocks"); any other
 * upstream's values are converted: ints as they are, bools as 0 and 1 (bool
 * is an int subclass), any other kind ends the stage with TypeError
 * "map_i64: expected int, got 'bytes'" (filter_i64). Blocks hold at most
 * the consumer's cap values (YC_BATCH under the reducers); per item (cap 1)
 * the callback gets n = 1. fn may raise: the stage ends with the exception
 * (its traceback entry names the stage). The stage pulled, closed or freed
 * from inside fn: REENTERED (YC_EBUSY, see the rules above). Takes up; fn
 * NULL: NULL with TypeError "map_i64: the function is NULL" (filter_i64),
 * up freed. Type names "map_i64", "filter_i64". */
YC_API yc_iter *yc_iter_map_i64(yc_iter *up, yc_map_i64_fn fn, void *ctx);
YC_API yc_iter *yc_iter_filter_i64(yc_iter *up, yc_filter_i64_fn fn, void *ctx);
/* ---- fused stages: YC_I64_KERNEL, YC_VAL_KERNEL -------------------------
 * Several map and filter steps fused into one pass over each block, written
 * as the body of a per-item loop. At file scope,
 *
 *   YC_I64_KERNEL(name, x, ctx, { body })
 *
 * defines `static size_t name(void *ctx, int64_t *xs, size_t n)`, a
 * yc_filter_i64_fn: for each item in order, body runs with the item in the
 * int64_t variable x and the stage's context pointer in ctx. body may change
 * x (a map step: `x *= 3;`) and may say YC_DROP (a filter step: the item is
 * dropped and the rest of body does not run for it); an item body does not
 * drop is kept, as x is at the end of body. body may raise (yc_raise) like
 * any callback. Use it with yc_iter_filter_i64:
 *
 *   YC_I64_KERNEL(triple_not7, x, ctx, {
 *       x *= 3;                        map(lambda x: x * 3, ...)
 *       if (x % 7 == 0) YC_DROP;       filter(lambda y: y % 7 != 0, ...)
 *   })
 *   ... yc_iter_filter_i64(yc_iter_range(0, n, 1), triple_not7, NULL) ...
 *
 * The same items come out as from the separate stages, in the same order,
 * but the block is read and written once instead of once per stage, and
 * the compiler sees every step in one loop (docs/pipelines.md, "Fused
 * stages"). YC_VAL_KERNEL is the same for yc_val blocks (x a yc_val, the
 * function a yc_filter_batch_fn for yc_iter_filter_batch). YC_DROP is a
 * goto: it works from inside loops and switches of body's own. Needs GCC or
 * Clang (an attribute on the label). */
#define YC__KERNEL(T, name, x, ctx, ...)                                      \
    static size_t name(void *ctx, T *yc_xs_, size_t yc_n_)                    \
    {                                                                         \
        size_t yc_k_ = 0;                                                     \
        (void)ctx;                                                            \
        for (size_t yc_i_ = 0; yc_i_ < yc_n_; yc_i_++) {                      \
            T x = yc_xs_[yc_i_];                                              \
            __VA_ARGS__                                                       \
            yc_xs_[yc_k_++] = x;                                              \
        yc_drop_:                                                             \
            __attribute__((unused));                                          \
        }                                                                     \
        return yc_k_;                                                         \
    }
#define YC_I64_KERNEL(name, x, ctx, ...) YC__KERNEL(int64_t, name, x, ctx, __VA_ARGS__)
#define YC_VAL_KERNEL(name, x, ctx, ...) YC__KERNEL(yc_val, name, x, ctx, __VA_ARGS__)
#define YC_DROP goto yc_drop_
/* itertools.islice(up, start, stop, step): items start, start+step, ...
 * below stop (YC_NO_LIMIT: no stop). Closes up as soon as stop is reached.
 * Errors (NULL, up freed): stop negative -> ValueError "Stop argument for
 * islice() must be None or an integer: 0 <= x <= sys.maxsize."; start
 * negative -> the same beginning "Indices for islice() ..."; step < 1 ->
 * ValueError "Step for islice() must be a positive integer or None.".
 * Block path when step is 1. */
YC_API yc_iter *yc_iter_islice(yc_iter *up, int64_t start, int64_t stop, int64_t step);
/* The first n items: islice(up, 0, n, 1). */
YC_API yc_iter *yc_iter_take(yc_iter *up, int64_t n);
/* All but the first n items: islice(up, n, None, 1). */
YC_API yc_iter *yc_iter_drop(yc_iter *up, int64_t n);
/* itertools.takewhile / dropwhile. takewhile stops at the first false and,
 * as CPython's, keeps up open until it is closed or freed. After pred
 * raised, the next pull goes on with the next item. */
YC_API yc_iter *yc_iter_takewhile(yc_iter *up, yc_pred_fn pred, void *ctx);
YC_API yc_iter *yc_iter_dropwhile(yc_iter *up, yc_pred_fn pred, void *ctx);
/* enumerate(up, start): tuples (i, x). */
YC_API yc_iter *yc_iter_enumerate(yc_iter *up, int64_t start);
/* zip(its[0], ..., its[n-1]): tuples of n items, until the first of them
 * ends; as CPython's, the others stay open (not closed) until the zip is
 * closed or freed. Takes all n iterators (the array is copied). n 0: empty. If any is
 * NULL, frees the others and returns NULL; the same iterator given twice
 * (Python's zip(it, it)): NULL with ValueError, each freed once (use
 * yc_iter_batch(it, 2) for pairs). The same for chain. */
YC_API yc_iter *yc_iter_zip(yc_iter *const *its, size_t n);
/* itertools.chain: the items of its[0], then its[1], ... Takes them all. */
YC_API yc_iter *yc_iter_chain(yc_iter *const *its, size_t n);
/* For each x, the items of the iterator fn(ctx, x) returns (owned and freed
 * by the stage); fn returning NULL is an error (its pending exception, else
 * TypeError). Block path over the inner iterators. */
YC_API yc_iter *yc_iter_flat_map(yc_iter *up, yc_flat_fn fn, void *ctx);
/* itertools.batched(up, n): tuples of n items, the last one shorter. n 0:
 * ValueError "n must be at least one". */
YC_API yc_iter *yc_iter_batch(yc_iter *up, size_t n);
/* Sliding windows: tuples of the n latest items, one per item from the n-th
 * on (fewer than n items: none). n 0: ValueError. */
YC_API yc_iter *yc_iter_window(yc_iter *up, size_t n);
/* itertools.accumulate(up, fn, initial): running totals. fn NULL adds (as
 * yc_iter_sum). initial NULL: none; else *initial is yielded first. After
 * fn (or the addition) raised, the total stays and the next pull goes on. */
YC_API yc_iter *yc_iter_accumulate(yc_iter *up, yc_reduce_fn fn, void *ctx,
                                   const yc_val *initial);
/* itertools.groupby(up, key): tuples (k, group) for each run of items with
 * equal keys (yc_val_eq); key NULL: the item itself. group is a PTR to a
 * yc_iter over the run, owned by the stage (do not free it; it stays
 * allocated, a few words, until the groupby is freed): pulling the groupby
 * again ends it, as in Python, and a group the groupby has moved past reads
 * as empty (YC_RETURN), never as the current group. */
YC_API yc_iter *yc_iter_groupby(yc_iter *up, yc_map_fn key, void *ctx);
/* Drops consecutive duplicates (unique_justseen): items whose key
 * (key NULL: the item) equals the previous item's. */
YC_API yc_iter *yc_iter_unique(yc_iter *up, yc_map_fn key, void *ctx);
/* A view of src that a stage can take while the caller keeps src, as Python
 * code keeps using an iterator after handing it to islice, map or zip:
 *
 *     head = list(islice(it, 3)); rest = list(it)
 *     yc_iter *head = yc_iter_take(yc_iter_borrow(it), 3);   collect, free
 *     ... it goes on with the fourth item
 *
 * Pulls (next, next_batch) go to src; closing the view only ends the view,
 * and freeing it frees the view: src is neither closed nor freed, and must
 * outlive the view. A stage over the view pulls from src only what it
 * needs for its own items (islice, take, takewhile stop at once; per-item
 * consumers pull one item per item), but a block consumer makes it pull a
 * block: what src gave and the stage has not handed on when it stops (after
 * an error, or a consumer's early stop) is gone from src, as items an
 * iterator already produced are gone in Python. Returns the view (free it
 * with yc_iter_free), or NULL with MemoryError, or for a NULL src the
 * pending error (TypeError "borrow: iterator is NULL" if none). */
YC_API yc_iter *yc_iter_borrow(yc_iter *src);
/* itertools.tee(up, n): n iterators over up's items, stored in out[0..n).
 * Takes up: it is freed when the last branch is freed and closed when every
 * branch is closed. Items a lagging branch has not yet seen are kept
 * (copied); a branch that would take the buffer beyond max_buffer items
 * fails with RuntimeError "tee buffer full: ..." and changes nothing (it can
 * pull again once the others catch up). A value from a branch stays valid
 * until the next pull of any branch of the tee. A branch pulled from inside
 * up's own next (up re-entering its tee) fails with YC_RAISE and
 * RuntimeError "cannot re-enter the tee iterator", as CPython's does, and
 * can be pulled again afterwards. Returns YC_OK, or YC_EINVAL
 * (n or max_buffer 0, out NULL; up freed) / YC_ENOMEM, out untouched. */
YC_API int yc_iter_tee(yc_iter *up, size_t n, size_t max_buffer, yc_iter **out);

/* ---- generator stages -------------------------------------------------- *
 * Any generator can be a stage: yc_iter_stage runs fn(s, ctx) as a generator
 * whose upstream is up. The body pulls with yc_stage_pull and hands items on
 * with yc_stage_emit, or with plain yc_iter_next(yc_stage_upstream(s)) and
 * yc_yield (one switch per item). pull and emit follow the consumer: per
 * item for yc_iter_next, and a block per switch for a block consumer, so a
 * chain of generator stages switches once per block, not once per item. */
typedef struct yc_stage yc_stage;
typedef yc_val (*yc_stage_fn)(yc_stage *s, void *ctx);

/* A generator stage over up (taken). opts as for yc_gen_new (name: the
 * stage's name in tracebacks too; NULL: "stage"). The stage closes up when
 * the body ends or is closed, and frees it when it is freed. */
YC_API yc_iter *yc_iter_stage(yc_iter *up, yc_stage_fn fn, void *ctx, const yc_gen_opts *opts);
/* A generator source: yc_iter_stage without an upstream (pull returns
 * false). */
YC_API yc_iter *yc_iter_source(yc_stage_fn fn, void *ctx, const yc_gen_opts *opts);
/* In the body: the next upstream item into *v (valid until the next pull);
 * false when upstream is exhausted (and on every later call). An upstream
 * error is raised here. Called anywhere but in s's own body (plain code,
 * another generator): raises RuntimeError "yc_stage_pull() outside its
 * stage's body", taking nothing; s or v NULL: raises TypeError. The same
 * for yc_stage_emit. */
YC_API bool yc_stage_pull(yc_stage *s, yc_val *v);
/* In the body: hands v downstream; suspends when the consumer's request is
 * full. Raises GeneratorExit (or a thrown exception) here when the stage is
 * closed while suspended. */
YC_API void yc_stage_emit(yc_stage *s, yc_val v);
/* The upstream iterator (borrowed; NULL for a source), for bodies that pull
 * with yc_iter_next or delegate with yc_yield_from. Do not mix with
 * yc_stage_pull, which may hold items already taken from it. */
YC_API yc_iter *yc_stage_upstream(yc_stage *s);

/* ---- generator expressions ----------------------------------------------
 * (elem(y) for x in src if cond(x) for y in inner(x) if inner_cond(y))
 * as a real generator (send, throw, close, PEP 479; type name "generator"):
 * src is taken at creation (10.1: the first iterable is evaluated at once),
 * everything else runs on demand; an exception ends it (10.3); single use
 * (10.4). Every field may be NULL / 0:
 *   elem NULL: the item itself; cond NULL: no `if`; inner NULL: one loop
 *   (then inner_cond is not used). ctx is read when each callback runs (late
 *   binding, 10.2).
 * With two loops, the inner iterable depends on the outer variable
 * (inner(ctx, x)), and so may the element and the inner condition:
 * elem_xy(ctx, x, y) and inner_cond_xy(ctx, x, y), when given, are used
 * instead of elem and inner_cond and see both variables, so that
 *   ((i, j) for i in a for j in range(i) if j != i - 2)
 * is YC_GENEXPR(a, .inner = range_to, .inner_cond_xy = not_i_minus_2,
 * .elem_xy = pair). x stays valid while its inner loop runs. elem_xy or
 * inner_cond_xy without inner: NULL, TypeError "genexpr: elem_xy and
 * inner_cond_xy need an inner loop" (src freed). */
typedef yc_val (*yc_map2_fn)(void *ctx, yc_val x, yc_val y);
typedef bool (*yc_pred2_fn)(void *ctx, yc_val x, yc_val y);
typedef struct yc_genexpr_def {
    yc_map_fn elem;
    yc_pred_fn cond;
    yc_flat_fn inner;
    yc_pred_fn inner_cond;
    void *ctx;
    const char *name; /* NULL: "<genexpr>" */
    yc_map2_fn elem_xy;        /* two loops: the element from x and y */
    yc_pred2_fn inner_cond_xy; /* two loops: the inner `if` on x and y */
} yc_genexpr_def;

/* Takes src (NULL: returns NULL, the pending error kept, else TypeError
 * "generator: upstream iterator is NULL"). def is copied; def NULL is the
 * all-NULL definition, (x for x in src). */
YC_API yc_iter *yc_genexpr(yc_iter *src, const yc_genexpr_def *def);
/* YC_GENEXPR(src, .elem = f, .cond = p, .ctx = &c) */
#define YC_GENEXPR(src, ...) yc_genexpr((src), &(const yc_genexpr_def){__VA_ARGS__})

/* ---- stage introspection ------------------------------------------------ */

/* Names a stage made by this API for tracebacks (instead of its kind).
 * label is borrowed and must outlive the exceptions that may mention it:
 * use a string literal. Returns YC_OK, or YC_EINVAL (TypeError) for an
 * iterator not made here. */
YC_API int yc_iter_label(yc_iter *it, const char *label);
/* The type name of any iterator ("map", "lines", "generator", ...); "?" for
 * NULL. Static. */
YC_API const char *yc_iter_name(const yc_iter *it);

/* ======================================================================
 * Reducers: borrow it, consume it (or part of it), return a status.
 * YC_OK, or a negative status with the exception pending; *out is set only
 * on YC_OK unless said otherwise.
 * ==================================================================== */

/* The number of items. Block path. */
YC_API int yc_iter_count(yc_iter *it, int64_t *out);
/* sum(it, start): ints (and bools) add as int64 (OverflowError when the sum
 * leaves int64), a float makes the result a float (compensated summation,
 * as CPython 3.12+). Other kinds: TypeError "unsupported operand type(s)
 * for +: 'int' and 'bytes'". Block path. */
YC_API int yc_iter_sum(yc_iter *it, yc_val start, yc_val *out);
/* min / max (the first of equal ones), by key(ctx, x) when key is not NULL.
 * Ints, floats and bools compare as numbers, BYTES bytewise; other mixes:
 * TypeError "'<' not supported between instances of 'bytes' and 'int'".
 * Empty: ValueError "min() iterable argument is empty" (max()). *out is
 * owned (yc_val_release). Block path. */
YC_API int yc_iter_min(yc_iter *it, yc_map_fn key, void *ctx, yc_val *out);
YC_API int yc_iter_max(yc_iter *it, yc_map_fn key, void *ctx, yc_val *out);
/* functools.reduce(fn, it, initial): initial NULL uses the first item;
 * empty without initial: TypeError "reduce() of empty iterable with no
 * initial value". *out is owned (yc_val_release). Block path. */
YC_API int yc_iter_reduce(yc_iter *it, yc_reduce_fn fn, void *ctx, const yc_val *initial,
                          yc_val *out);
/* any / all, with pred (NULL: truth value); stop at the deciding item. */
YC_API int yc_iter_any(yc_iter *it, yc_pred_fn pred, void *ctx, bool *out);
YC_API int yc_iter_all(yc_iter *it, yc_pred_fn pred, void *ctx, bool *out);
/* The first item, or the one at index n: YC_OK with *out owned
 * (yc_val_release), or YC_RETURN (no exception) with *out None when it
 * ends first. n < 0: YC_EINVAL (ValueError). */
YC_API int yc_iter_first(yc_iter *it, yc_val *out);
YC_API int yc_iter_nth(yc_iter *it, int64_t n, yc_val *out);
/* fn(ctx, x) for each item until fn returns false or it ends. Returns YC_OK
 * either way; an exception raised by fn is returned (YC_RAISE). */
YC_API int yc_iter_for_each(yc_iter *it, yc_each_fn fn, void *ctx);

/* A growable array of owned values: collect's result. */
typedef struct yc_vec {
    yc_val *items;
    size_t len, cap;
} yc_vec;
/* Every remaining item, copied (yc_val_copy), into *out (overwritten; free
 * with yc_vec_free, also after an error, when *out is empty). Block path. */
YC_API int yc_iter_collect(yc_iter *it, yc_vec *out);
/* Releases every item and the array; *v becomes empty. NULL is ignored. */
YC_API void yc_vec_free(yc_vec *v);

/* sorted(it, key=key, reverse=reverse): every remaining item of it, copied
 * (yc_val_copy), into *out in order (overwritten; free with yc_vec_free).
 * key (NULL: the item itself) is called once per item, inside a frame of
 * its own (it may raise); items compare as Python's < does (numbers with
 * numbers, bytes with bytes: anything else raises TypeError "'<' not
 * supported between instances of 'int' and 'bytes'"). Stable, also
 * reversed. O(n log n) comparisons, memory for every item. Borrows it.
 * Returns YC_OK, or a negative status with *out empty: it or out NULL
 * (TypeError), an error of it or of key, a failed comparison, MemoryError. */
YC_API int yc_iter_sorted(yc_iter *it, yc_map_fn key, void *ctx, bool reverse, yc_vec *out);
/* heapq.nlargest(n, it, key) and nsmallest: the first n items of
 * yc_iter_sorted(it, key, ctx, reverse: true / false), as Python defines
 * them (ties keep their order of arrival). Same returns; memory for every
 * item of it, not only n. */
YC_API int yc_iter_nlargest(yc_iter *it, size_t n, yc_map_fn key, void *ctx, yc_vec *out);
YC_API int yc_iter_nsmallest(yc_iter *it, size_t n, yc_map_fn key, void *ctx, yc_vec *out);

/* ----------------------------------------------------------------------
 * Counter (collections.Counter)
 *
 * Counts of keys, in the order keys were first added. Keys compare as
 * Python's == (1, 1.0 and True are one key; BYTES by content, tuples item
 * by item, PTR by address; a NaN equals nothing, so every NaN added is a
 * new key) and are copied when first added (yc_val_copy). Counts are
 * int64: a sum that would overflow raises OverflowError. Not thread-safe.
 * -------------------------------------------------------------------- */

typedef struct yc_counter yc_counter;

/* Counter(): a new, empty counter, or NULL with MemoryError pending. */
YC_API yc_counter *yc_counter_new(void);
/* Frees c and its keys. NULL (or not a counter) is ignored. */
YC_API void yc_counter_free(yc_counter *c);
/* c[key] += n (n may be negative or 0: a key added with 0 counts, as in
 * Python). Borrows key. YC_OK; YC_EINVAL (TypeError "yc_counter_add:
 * counter is NULL or not a counter"), YC_ENOMEM, or YC_RAISE
 * (OverflowError "counter: a count overflows int64", the count unchanged). */
YC_API int yc_counter_add(yc_counter *c, yc_val key, int64_t n);
/* c[key]: the count, 0 for a key never added (and for c NULL). */
YC_API int64_t yc_counter_get(const yc_counter *c, yc_val key);
/* len(c): the number of keys; 0 for NULL. */
YC_API size_t yc_counter_len(const yc_counter *c);
/* c.update(it): c[item] += 1 for every remaining item of it (a reducer:
 * borrows it, asks for blocks). YC_OK when it is exhausted; else the
 * failure of it or of yc_counter_add, with the counts of the items before
 * it kept. c not a counter or it NULL: YC_EINVAL (TypeError). */
YC_API int yc_iter_count_into(yc_iter *it, yc_counter *c);
/* c.most_common(n): up to n (key, count) tuples, highest count first, keys
 * of equal count in the order they were first added; n SIZE_MAX for all.
 * The tuples are owned (release with yc_vec_free). Returns YC_OK, or a
 * negative status with *out empty: out NULL or c not a counter
 * (TypeError), MemoryError. */
YC_API int yc_counter_most_common(const yc_counter *c, size_t n, yc_vec *out);

#endif
