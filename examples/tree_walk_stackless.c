/*
 * tree_walk_stackless: the in-order tree walk of tree_walk.c as stackless generators delegating with yield from.
 *
 * A stackless generator cannot yield from inside a recursive C call (it has
 * no stack to keep the call chain on), so the walk is written as Python
 * writes it, one generator per subtree:
 *
 *     def walk(node):
 *         if node:
 *             yield from walk(node.left)
 *             yield node.value
 *             yield from walk(node.right)
 *
 * Each subtree's generator is a 128-byte block from the library's slab
 * (yc_sgen_new), made when the walk reaches it and freed in a finally
 * block, so a walk closed half-way frees every generator it made. Each
 * value passes up through every level above it: O(depth) resumes per
 * value, each a plain function call. The walk over the chain 1000 deep
 * holds 1000 generators at the bottom, 128 KB in all, where the
 * stackful walk of tree_walk.c needs 1000 nested C frames on one stack.
 */
#include <yieldc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
    struct node *left, *right;
    int64_t value;
} node;

typedef struct {
    yc_sgen sgen;
    YC_SGEN_TRIES(1);
    const node *n;
    yc_sgen *sub; /* the subtree's walk being delegated to, or NULL */
} walk_t;

static yc_sgen *walk_new(const node *n);

YC_SGEN_FN(walk, walk_t, s)
{
    YC_SGEN_BEGIN();
    if (!s->n) YC_SRETURN(YC_NONE);
    YC_STRY(s) {
        if (s->n->left) {
            YC_SCHECK((s->sub = walk_new(s->n->left)) ? YC_OK : YC_RAISE); /* MemoryError */
            YC_SYIELD_FROM(&s->sub->it);
            yc_sgen_free(s->sub);
            s->sub = NULL;
        }
        YC_SYIELD(yc_int(s->n->value));
        if (s->n->right) {
            YC_SCHECK((s->sub = walk_new(s->n->right)) ? YC_OK : YC_RAISE);
            YC_SYIELD_FROM(&s->sub->it);
        }
    } YC_SFINALLY {
        if (s->sub) yc_sgen_free(s->sub); /* on every way out: end, raise, close */
        s->sub = NULL;
    } YC_STRY_END;
    YC_SGEN_END();
}

static yc_sgen *walk_new(const node *n)
{
    yc_sgen *g = yc_sgen_new(&walk); /* zeroed: sub is NULL */
    if (g) ((walk_t *)(void *)g)->n = n;
    return g;
}

/* ---- building trees (as tree_walk.c) ---------------------------------- */

static node *build_balanced(node *pool, int64_t lo, int64_t hi)
{
    if (lo >= hi) return NULL;
    int64_t mid = lo + (hi - lo) / 2;
    node *n = &pool[mid];
    n->value = mid;
    n->left = build_balanced(pool, lo, mid);
    n->right = build_balanced(pool, mid + 1, hi);
    return n;
}

static node *build_chain(node *pool, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        pool[i].value = i;
        pool[i].left = NULL;
        pool[i].right = i + 1 < n ? &pool[i + 1] : NULL;
    }
    return n ? &pool[0] : NULL;
}

/* Walks root to the end (or only `stop_after` values, then closes the
 * walk), checking the values come in order. Returns 0 on success. */
static int run(const char *label, const node *root, int64_t expect, int64_t stop_after)
{
    yc_sgen *g = walk_new(root);
    if (!g) return 1;
    int64_t count = 0;
    long most_live = 0;
    int in_order = 1, st;
    yc_val v;
    while ((count < stop_after) && (st = yc_sgen_next(g, &v)) == YC_YIELD) {
        in_order &= v.i == count;
        count++;
        if (yc_sgen_live() > most_live) most_live = yc_sgen_live();
    }
    if (count < stop_after && st != YC_RETURN) {
        yc_exc_print(yc_err_get(), stderr);
        yc_err_clear();
        return 1;
    }
    int closed = yc_sgen_close(g, NULL); /* frees the chain of sub-walks below */
    long left = yc_sgen_live();
    yc_sgen_free(g);
    printf("  %-26s %7" PRId64 " values in order: %s; at most %ld generators live; "
           "after close: %ld\n",
           label, count, in_order ? "yes" : "NO", most_live, left - 1);
    return in_order && closed == YC_OK && left == 1 && count == expect ? 0 : 1;
}

enum { CHAIN_DEPTH = 1000, BALANCED_NODES = (1 << 16) - 1 };

int main(void)
{
    node *chain_pool = calloc(CHAIN_DEPTH, sizeof(node));
    node *bal_pool = calloc(BALANCED_NODES, sizeof(node));
    if (!chain_pool || !bal_pool) return 1;
    node *chain = build_chain(chain_pool, CHAIN_DEPTH);
    node *balanced = build_balanced(bal_pool, 0, BALANCED_NODES);

    int fails = 0;
    printf("chain of depth %d:\n", CHAIN_DEPTH);
    fails += run("yield from, to the end", chain, CHAIN_DEPTH, INT64_MAX);
    fails += run("yield from, closed at 500", chain, 500, 500);
    printf("balanced tree of %d nodes (depth 16):\n", BALANCED_NODES);
    fails += run("yield from, to the end", balanced, BALANCED_NODES, INT64_MAX);
    fails += run("yield from, closed at 1000", balanced, 1000, 1000);

    yc_sgen_pool_trim();
    free(chain_pool);
    free(bal_pool);
    return fails ? 1 : 0;
}
