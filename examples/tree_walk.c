/*
 * tree_walk: in-order traversal of a binary tree as a generator, two ways.
 *
 * 1. Plain recursion inside ONE generator. Generators are stackful: yc_yield()
 *    works at any depth of ordinary C calls, so the recursive walk yields
 *    straight from the bottom of the recursion, with no `yield from` at each
 *    level. Python needs one generator per level for this; C does not.
 *
 * 2. One generator per subtree, delegating with yc_yield_from(), which is
 *    how Python writes it:
 *
 *        def walk(node):
 *            if node:
 *                yield from walk(node.left)
 *                yield node.value
 *                yield from walk(node.right)
 *
 *    Each value passes up through every level above it, so this costs
 *    O(depth) switches per value; it is here to show delegation.
 *
 * Both walk a degenerate tree (a chain 1000 deep) and a balanced one.
 */
#include <yieldc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct node {
    struct node *left, *right;
    int64_t value;
} node;

/* ---- building trees --------------------------------------------------- */

/* A balanced tree holding lo .. hi-1, from the array of nodes `pool`. */
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

/* A chain: every node is the right child of the one before (depth n). */
static node *build_chain(node *pool, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        pool[i].value = i;
        pool[i].left = NULL;
        pool[i].right = i + 1 < n ? &pool[i + 1] : NULL;
    }
    return n ? &pool[0] : NULL;
}

/* ---- 1. recursion inside one generator ---------------------------------- */

/* An ordinary recursive C function that yields: the generator suspends with
 * this whole call chain on its stack. */
static void visit(const node *n)
{
    if (!n) return;
    visit(n->left);
    yc_yield(yc_int(n->value));
    visit(n->right);
}

static yc_val walk_recursive(void *arg)
{
    visit(arg);
    return YC_NONE;
}

/* ---- 2. one generator per subtree with yield from ----------------------- */

static yc_val walk_delegating(void *arg);

/* yield from walk(n): creates the subtree's generator, delegates to it, and
 * frees it on every way out (also when the walk is closed or thrown into
 * half-way: YC_FINALLY runs then). */
static void yield_from_subtree(const node *n)
{
    if (!n) return;
    yc_gen *sub = yc_gen_new(walk_delegating, (void *)n, &(yc_gen_opts){.name = "walk"});
    if (!sub) yc_raise(yc_err_take()); /* e.g. MemoryError: raise it here */
    YC_TRY {
        yc_yield_from(yc_gen_iter(sub));
    } YC_FINALLY {
        yc_gen_free(sub);
    } YC_END;
}

static yc_val walk_delegating(void *arg)
{
    const node *n = arg;
    if (!n) return YC_NONE;
    yield_from_subtree(n->left);
    yc_yield(yc_int(n->value));
    yield_from_subtree(n->right);
    return YC_NONE;
}

/* ---- driving a walk ----------------------------------------------------- */

static void print_error(const char *what, int st)
{
    fflush(stdout); /* keep the output in order when both go to one file */
    fprintf(stderr, "%s: %s\n", what, yc_status_name(st));
    yc_exc *e = yc_err_take();
    yc_exc_print(e, stderr);
    yc_exc_unref(e);
}

/* Runs a walk to the end, checks that it produced 0 .. expect-1 in order,
 * prints the count and the first values. Returns 0 on success. */
static int run(const char *label, yc_gen_fn fn, const node *root, int64_t expect,
               size_t stack_size)
{
    yc_gen *g = yc_gen_new(fn, (void *)root, &(yc_gen_opts){.name = label,
                                                            .stack_size = stack_size});
    if (!g) {
        print_error("yc_gen_new", YC_RAISE);
        return 1;
    }
    int64_t count = 0, first[5];
    int in_order = 1;
    yc_val v;
    int st;
    while ((st = yc_next(g, &v)) == YC_YIELD) {
        if (count < 5) first[count] = v.i;
        in_order &= v.i == count;
        count++;
    }
    if (st != YC_RETURN) print_error(label, st);
    printf("  %-22s %6" PRId64 " values, first:", label, count);
    for (int64_t i = 0; i < count && i < 5; i++) printf(" %" PRId64, first[i]);
    printf("%s\n", in_order ? "" : "  (OUT OF ORDER)");
    yc_gen_free(g);
    return st == YC_RETURN && in_order && count == expect ? 0 : 1;
}

enum { CHAIN_DEPTH = 1000, BALANCED_NODES = (1 << 12) - 1 };

int main(void)
{
    node *chain_pool = calloc(CHAIN_DEPTH, sizeof(node));
    node *bal_pool = calloc(BALANCED_NODES, sizeof(node));
    if (!chain_pool || !bal_pool) return 1;
    node *chain = build_chain(chain_pool, CHAIN_DEPTH);
    node *balanced = build_balanced(bal_pool, 0, BALANCED_NODES);

    int fails = 0;
    printf("chain of depth %d:\n", CHAIN_DEPTH);
    /* 1000 nested C frames: ask for a larger stack than the default
     * (YC_STACK_DEFAULT) so that sanitizer builds, with their bigger frames,
     * fit too. An overflow would hit the guard page and abort with a message
     * naming the generator. */
    fails += run("recursive", walk_recursive, chain, CHAIN_DEPTH, 4u << 20);
    fails += run("yield from", walk_delegating, chain, CHAIN_DEPTH, 0);

    printf("balanced tree of %d nodes (depth 12):\n", BALANCED_NODES);
    fails += run("recursive", walk_recursive, balanced, BALANCED_NODES, 0);
    fails += run("yield from", walk_delegating, balanced, BALANCED_NODES, 0);

    free(chain_pool);
    free(bal_pool);
    return fails ? 1 : 0;
}
