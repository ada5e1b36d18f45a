/*
 * Chains of stackful generators delegating with yield from, 100 levels
 * deep: a next or send on a level suspended in yield from resumes the
 * innermost generator directly (gen.c, chain_send), and everything
 * python-semantics.md sections 6 and 7 say must still hold at every depth:
 * the values and what is sent [7.2] [7.9], every level RUNNING during the
 * step and SUSPENDED after it with its gi_yieldfrom [7.1] [7.9] [8.1], a
 * middle level resumed directly [7.10], a level returning mid-chain [7.3],
 * an exception climbing level by level with a traceback entry per level
 * [7.8], PEP 479 at the bottom [6.1] [7.12], throw to the innermost first
 * [7.6], close innermost first and GeneratorExit ignored at the bottom
 * [7.7], re-entry of any level [7.11] [2.5], the exception being handled
 * by a level in the middle as the context at the bottom [2.8], and the
 * chain resumed on another thread.
 *
 * The same once a walk has left the levels covered (gen.c, "covered
 * levels": the tests covered_chain_*, each after warm()): throw and close
 * at the top, a covered middle level and the bottom, middle resumes,
 * re-entry (free and trim too), return, raise and PEP 479 in a cached
 * step, free and trim; another thread at a middle level and the top, two
 * threads racing on one chain; two chains over one subiterator.
 *
 * One chain at a time: G[k] is level k (named "level<k>"), G[0] the top;
 * each level below the bottom makes the next one and delegates to it; the
 * test frees them, top first (which closes the chain below).
 */
#include "test.h"

#include <pthread.h>
#include <yieldc/loop.h>

#define DEPTH_MAX 300 /* the arrays */
#define DEEP 100       /* the chains of most tests */

static yc_gen *G[DEPTH_MAX];
static int64_t idx[DEPTH_MAX];
static char names[DEPTH_MAX][16];
static int depth;
static int entry_level; /* the level a step is resumed at (the levels above stay suspended) */

/* What the levels do, set by each test before it starts the chain. */
static int catch_at;       /* the level that catches ValueError from below (and yields 1000+k) */
static int handle_at;      /* the level whose yield from runs inside an except block */
static bool after_yield;   /* each level yields -k once its yield from is done */
static bool ignore_exit;   /* the bottom yields again on GeneratorExit */

/* The finally blocks, in the order they ran: the level of each. */
static int fin[2 * DEPTH_MAX];
static int nfin;

/* What the bottom saw: the number of its steps, what was sent last, the
 * levels not RUNNING (or showing a gi_yieldfrom) during its steps, the
 * exception being handled there. */
static int64_t steps;
static yc_val last_sent;
static int not_running;
static yc_exc *seen_handled;

/* Commands sent to the bottom. */
enum { CMD_RAISE = 1001, CMD_STOP, CMD_RETURN, CMD_REENTER };

static void check_all_running(void)
{
    for (int k = 0; k < entry_level; k++)
        if (yc_gen_state_of(G[k]) != YC_GEN_SUSPENDED || yc_gen_yieldfrom(G[k]) != yc_gen_iter(G[k + 1]))
            not_running++;
    for (int k = entry_level; k < depth; k++)
        if (yc_gen_state_of(G[k]) != YC_GEN_RUNNING || yc_gen_yieldfrom(G[k]) != NULL)
            not_running++;
}

static void reenter_each_level(void)
{
    /* [7.11] [2.5] every level, the bottom itself included, is running */
    int levels[] = {entry_level, entry_level + 1, (entry_level + depth) / 2, depth - 2, depth - 1};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        yc_val v;
        CHECK_ST(yc_next(G[levels[i]], &v), YC_EBUSY);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ST(yc_send(G[levels[i]], yc_int(5), &v), YC_EBUSY);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ST(yc_throw(G[levels[i]], yc_exc_new(&yc_KeyError, "x"), &v), YC_EBUSY);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ST(yc_close(G[levels[i]], &v), YC_EBUSY);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ST(yc_gen_free(G[levels[i]]), YC_EBUSY); /* nothing freed */
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
        CHECK_ST(yc_gen_stack_trim(G[levels[i]], NULL), YC_EBUSY);
        CHECK_EXC(&yc_ValueError, "ValueError: generator already executing");
    }
}

static yc_val bottom(int k)
{
    YC_TRY {
        for (;;) {
            check_all_running();
            yc_exc *h = yc_exc_current();
            if (h && !seen_handled) seen_handled = yc_exc_ref(h);
            yc_val s = yc_yield(yc_int(steps));
            steps++;
            last_sent = s;
            if (yc_is_none(s)) continue;
            if (s.i == CMD_RAISE) yc_raisef(&yc_ValueError, "from the bottom");
            if (s.i == CMD_STOP) yc_raisef(&yc_StopIteration, NULL);
            if (s.i == CMD_RETURN) break;
            if (s.i == CMD_REENTER) reenter_each_level();
        }
    } YC_EXCEPT(&yc_GeneratorExit) {
        if (!ignore_exit) yc_reraise();
        yc_yield(yc_int(-1));
    } YC_FINALLY {
        fin[nfin++] = k;
    } YC_END;
    return yc_int(100);
}

static yc_val level(void *arg)
{
    int k = (int)*(int64_t *)arg;
    if (k == depth - 1) return bottom(k);
    yc_gen_opts o = {.name = names[k + 1]};
    G[k + 1] = YC_CHECK_PTR(yc_gen_new(level, &idx[k + 1], &o));
    yc_iter *sub = yc_gen_iter(G[k + 1]);
    volatile int64_t r = -1;
    YC_TRY {
        if (k == handle_at) {
            YC_TRY {
                yc_raisef(&yc_KeyError, "handled at %d", k);
            } YC_EXCEPT(&yc_KeyError) {
                r = yc_yield_from(sub).i;
            } YC_END;
        } else {
            r = yc_yield_from(sub).i;
        }
    } YC_EXCEPT(&yc_ValueError) {
        if (k != catch_at) yc_reraise();
        r = yc_yield(yc_int(1000 + k)).i;
    } YC_FINALLY {
        fin[nfin++] = k;
    } YC_END;
    if (after_yield) yc_yield(yc_int(-k));
    return yc_int(r + 1);
}

/* Starts a chain of n levels (the first next: the bottom yields 0). */
static void chain_start(int n)
{
    depth = n;
    nfin = 0;
    entry_level = 0;
    steps = 0;
    not_running = 0;
    last_sent = YC_NONE;
    memset(G, 0, sizeof G);
    for (int k = 0; k < n; k++) {
        idx[k] = k;
        snprintf(names[k], sizeof names[k], "level%d", k);
    }
    yc_gen_opts o = {.name = names[0]};
    G[0] = yc_gen_new(level, &idx[0], &o);
    yc_val v;
    CHECK_ST(yc_next(G[0], &v), YC_YIELD);
    CHECK_INTV(v, 0);
}

static void chain_reset_options(void)
{
    catch_at = handle_at = -1;
    after_yield = ignore_exit = false;
}

/* [7.1] [8.1] between steps: every level suspended, delegating to the next. */
static void check_suspended_chain(int line)
{
    for (int k = 0; k < depth; k++) {
        if (yc_gen_state_of(G[k]) != YC_GEN_SUSPENDED)
            test_fail(__FILE__, line, "level %d: %s, want GEN_SUSPENDED", k,
                      yc_gen_state_name(yc_gen_state_of(G[k])));
        yc_iter *want = k + 1 < depth ? yc_gen_iter(G[k + 1]) : NULL;
        if (yc_gen_yieldfrom(G[k]) != want) test_fail(__FILE__, line, "level %d: gi_yieldfrom", k);
    }
}

static void chain_free(void)
{
    for (int k = 0; k < depth; k++)
        if (G[k]) CHECK_ST(yc_gen_free(G[k]), YC_OK);
    memset(G, 0, sizeof G);
    yc_exc_unref(seen_handled);
    seen_handled = NULL;
    chain_reset_options();
}

TEST(deep_chain_next_send_each_depth)
{
    /* [7.2] [7.9] next and send on the top reach the bottom, each level
     * RUNNING during the step; [7.10] a middle level (or the bottom)
     * resumed directly advances the bottom, and the top sees later values */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    int64_t want = 1;
    for (int k = 0; k < depth; k++) {
        CHECK_ST(yc_next(G[0], &v), YC_YIELD);
        CHECK_INTV(v, want++);
        CHECK(yc_is_none(last_sent));
        CHECK_ST(yc_send(G[0], yc_int(7 * k + 1), &v), YC_YIELD);
        CHECK_INTV(v, want++);
        CHECK_VAL(last_sent, yc_int(7 * k + 1));
        entry_level = k;
        CHECK_ST(yc_send(G[k], yc_int(-k - 1), &v), YC_YIELD); /* [7.10] */
        CHECK_INTV(v, want++);
        CHECK_VAL(last_sent, yc_int(-k - 1));
        CHECK_ST(yc_next(G[k], NULL), YC_YIELD); /* out NULL through the chain */
        want++;
        entry_level = 0;
        check_suspended_chain(__LINE__);
    }
    CHECK_EQ_INT(not_running, 0);
    CHECK_EQ_INT(steps, want - 1);
    chain_free();
}

TEST(deep_chain_return_climbs_each_level)
{
    /* [7.3] the bottom returns: each level's yield from returns the value
     * below plus one, level by level; [7.9] with a level returning
     * mid-chain and yielding after its yield from (after_yield), the
     * levels above stay suspended in yield from over it */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_send(G[0], yc_int(CMD_RETURN), &v), YC_RETURN);
    CHECK_INTV(v, 100 + DEEP - 1);
    for (int k = 0; k < depth; k++) CHECK_EQ_INT(yc_gen_state_of(G[k]), YC_GEN_CLOSED);
    CHECK_EQ_INT(nfin, DEEP); /* finally blocks innermost first */
    for (int i = 0; i < nfin; i++) CHECK_EQ_INT(fin[i], DEEP - 1 - i);
    chain_free();

    after_yield = true;
    chain_start(DEEP);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RETURN), &v), YC_YIELD);
    CHECK_INTV(v, -(DEEP - 2)); /* the level above the bottom yields */
    CHECK_EQ_INT(yc_gen_state_of(G[DEEP - 1]), YC_GEN_CLOSED);
    CHECK(yc_gen_yieldfrom(G[DEEP - 2]) == NULL);
    CHECK(yc_gen_yieldfrom(G[DEEP - 3]) == yc_gen_iter(G[DEEP - 2]));
    for (int k = DEEP - 3; k >= 0; k--) { /* each level in turn */
        CHECK_ST(yc_next(G[0], &v), YC_YIELD);
        CHECK_INTV(v, -k);
        CHECK_EQ_INT(yc_gen_state_of(G[k + 1]), YC_GEN_CLOSED);
        for (int j = 0; j <= k; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_SUSPENDED);
    }
    CHECK_ST(yc_next(G[0], &v), YC_RETURN);
    CHECK_INTV(v, 100 + DEEP - 1);
    chain_free();
}

/* [7.8] takes the pending ValueError that climbed the whole chain from the
 * bottom and checks its traceback: innermost first, the bottom's raise,
 * its re-raise in the except block that did not catch it, then each level
 * above; and every level closed. */
static void check_raised_through_each_level(int line)
{
    yc_exc *e = yc_err_take();
    if (!e || yc_exc_type_of(e) != &yc_ValueError) test_fail(__FILE__, line, "no ValueError");
    size_t n = 0;
    const yc_tb_entry *tb = yc_exc_traceback(e, &n);
    int k = depth - 1;
    for (size_t i = 0; i < n && k >= 0; i++) {
        if (strcmp(tb[i].where, names[k]) == 0) continue;
        if (k > 0 && strcmp(tb[i].where, names[k - 1]) == 0) k--;
        else test_fail(__FILE__, line, "traceback entry %zu names %s after %s", i, tb[i].where,
                       names[k]);
    }
    CHECK_EQ_INT(k, 0);
    CHECK_STR(tb[n - 1].where, "level0");
    CHECK_STR(tb[0].where, names[depth - 1]);
    yc_exc_unref(e);
    for (int j = 0; j < depth; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_CLOSED);
}

TEST(deep_chain_raise_climbs_each_level)
{
    /* [7.8] an exception at the bottom is raised in each level at its
     * yield from in turn: a traceback entry per level, innermost first */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_RAISE);
    check_raised_through_each_level(__LINE__);
    chain_free();

    /* [7.8] caught mid-chain: the catching level yields; below it all
     * closed, above it all suspended, and the chain goes on from there */
    catch_at = 60;
    chain_start(DEEP);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_YIELD);
    CHECK_INTV(v, 1060);
    for (int j = 0; j < depth; j++)
        CHECK_EQ_INT(yc_gen_state_of(G[j]), j > 60 ? YC_GEN_CLOSED : YC_GEN_SUSPENDED);
    CHECK(yc_gen_yieldfrom(G[60]) == NULL);
    CHECK(yc_gen_yieldfrom(G[59]) == yc_gen_iter(G[60]));
    CHECK_ST(yc_send(G[0], yc_int(5), &v), YC_RETURN); /* 60 returns 6, each level + 1 */
    CHECK_INTV(v, 6 + 60);
    chain_free();
}

TEST(deep_chain_pep479_at_the_bottom)
{
    /* [6.1] [7.12] StopIteration raised at the bottom becomes RuntimeError
     * there, and climbs as that */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_send(G[0], yc_int(CMD_STOP), &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e && yc_exc_type_of(e) == &yc_RuntimeError);
    char buf[128];
    yc_exc_format(e, buf, sizeof buf);
    CHECK_STR(buf, "RuntimeError: generator raised StopIteration");
    CHECK(yc_exc_cause(e) && yc_exc_type_of(yc_exc_cause(e)) == &yc_StopIteration);
    yc_exc_unref(e);
    chain_free();
}

TEST(deep_chain_throw_innermost_first)
{
    /* [7.6] a throw at the top reaches the bottom first and climbs level
     * by level until one catches it; the same from a middle level */
    chain_reset_options();
    catch_at = 40;
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_throw(G[0], yc_exc_new(&yc_ValueError, "thrown"), &v), YC_YIELD);
    CHECK_INTV(v, 1040);
    CHECK_EQ_INT(nfin, DEEP - 1 - 40);
    for (int i = 0; i < nfin; i++) CHECK_EQ_INT(fin[i], DEEP - 1 - i);
    for (int j = 0; j < depth; j++)
        CHECK_EQ_INT(yc_gen_state_of(G[j]), j > 40 ? YC_GEN_CLOSED : YC_GEN_SUSPENDED);
    chain_free();

    catch_at = 10;
    chain_start(DEEP);
    CHECK_ST(yc_throw(G[50], yc_exc_new(&yc_ValueError, "thrown"), &v), YC_RAISE); /* none below 50 catches */
    CHECK_EXC(&yc_ValueError, "ValueError: thrown");
    for (int j = 0; j < depth; j++)
        CHECK_EQ_INT(yc_gen_state_of(G[j]), j >= 50 ? YC_GEN_CLOSED : YC_GEN_SUSPENDED);
    /* [7.8] the level above then gets StopIteration from its closed sub */
    CHECK_ST(yc_next(G[0], &v), YC_RETURN);
    CHECK_INTV(v, 1 + 49); /* 49's yield from returned None (0 as an int), + 1 a level */
    chain_free();
}

static void warm(int n);

/* A chain of DEEP whose bottom ignores GeneratorExit, after n values: its
 * close from the top raises "generator ignored GeneratorExit", every
 * level above the bottom closed, the bottom left suspended (its free then
 * closes it for good). */
static void check_ignored_exit_climbs(int n)
{
    yc_val v;
    ignore_exit = true;
    chain_start(DEEP);
    warm(n);
    CHECK_ST(yc_close(G[0], &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator ignored GeneratorExit");
    CHECK_EQ_INT(yc_gen_state_of(G[DEEP - 1]), YC_GEN_SUSPENDED);
    for (int j = 0; j < depth - 1; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_CLOSED);
    ignore_exit = false;
    chain_free();
}

TEST(deep_chain_close_innermost_first)
{
    /* [7.7] close at the top: GeneratorExit at the bottom first, each
     * finally innermost first */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_next(G[0], &v), YC_YIELD);
    CHECK_ST(yc_close(G[0], &v), YC_OK);
    CHECK_EQ_INT(nfin, DEEP);
    for (int i = 0; i < nfin; i++) CHECK_EQ_INT(fin[i], DEEP - 1 - i);
    for (int j = 0; j < depth; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_CLOSED);
    chain_free();

    /* [7.7] the bottom ignores GeneratorExit: RuntimeError "generator
     * ignored GeneratorExit" from its close climbs every level */
    check_ignored_exit_climbs(0);
}

TEST(deep_chain_reentry_at_each_level)
{
    /* [7.11] [2.5] during a step that went straight to the bottom, every
     * level is running: each resume of one is "generator already
     * executing", and nothing is changed by it */
    chain_reset_options();
    chain_start(DEEP);
    yc_val v;
    CHECK_ST(yc_send(G[0], yc_int(CMD_REENTER), &v), YC_YIELD);
    CHECK_INTV(v, 1);
    check_suspended_chain(__LINE__);
    entry_level = DEEP / 2; /* [7.10] the levels above are not running: not tried */
    CHECK_ST(yc_send(G[DEEP / 2], yc_int(CMD_REENTER), &v), YC_YIELD);
    CHECK_INTV(v, 2);
    entry_level = 0;
    CHECK_ST(yc_next(G[0], &v), YC_YIELD);
    CHECK_INTV(v, 3);
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

TEST(deep_chain_handled_exception_in_the_middle)
{
    /* [2.8] a level whose yield from runs inside an except block: the
     * bottom sees that exception as the one being handled, and one raised
     * there gets it as its context (the direct resume stops above it) */
    chain_reset_options();
    handle_at = 30;
    chain_start(DEEP);
    yc_exc_unref(seen_handled); /* the first step went down level by level */
    seen_handled = NULL;
    yc_val v;
    CHECK_ST(yc_next(G[0], &v), YC_YIELD);
    CHECK(seen_handled && yc_exc_type_of(seen_handled) == &yc_KeyError);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_RAISE);
    yc_exc *e = yc_err_take();
    CHECK(e && yc_exc_type_of(e) == &yc_ValueError);
    yc_exc *ctx = e ? yc_exc_context(e) : NULL;
    CHECK(ctx && yc_exc_type_of(ctx) == &yc_KeyError);
    yc_exc_unref(e);
    chain_free();
}

TEST(chain_300_levels)
{
    /* [7.9] [7.3] [7.8] 300 levels: values and sends, a middle resume,
     * returns and an exception climbing from the bottom */
    chain_reset_options();
    chain_start(DEPTH_MAX);
    yc_val v;
    for (int64_t k = 1; k < 4; k++) {
        CHECK_ST(yc_send(G[0], yc_int(k * 11), &v), YC_YIELD);
        CHECK_INTV(v, k);
        CHECK_VAL(last_sent, yc_int(k * 11));
        check_suspended_chain(__LINE__);
    }
    entry_level = 200;
    CHECK_ST(yc_next(G[200], &v), YC_YIELD);
    CHECK_INTV(v, 4);
    entry_level = 0;
    CHECK_EQ_INT(not_running, 0);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RETURN), &v), YC_RETURN);
    CHECK_INTV(v, 100 + DEPTH_MAX - 1);
    chain_free();

    catch_at = 20;
    after_yield = true;
    chain_start(DEPTH_MAX);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_YIELD);
    CHECK_INTV(v, 1020);
    for (int j = 0; j < depth; j++)
        CHECK_EQ_INT(yc_gen_state_of(G[j]), j > 20 ? YC_GEN_CLOSED : YC_GEN_SUSPENDED);
    CHECK_ST(yc_send(G[0], yc_int(3), &v), YC_YIELD); /* 20 returns from its except: yields -20 */
    CHECK_INTV(v, -20);
    chain_free();
}

/* ---- a chain walked before: its levels covered ---------------------------- */

/* n steps through the top, each value checked. The first step after
 * chain_start walks the chain, and leaves the levels it passed covered
 * (held by the top, gen.c "covered levels"); the next ones go straight
 * to the level the walk reached (gen.c, cover_send). */
static void warm(int n)
{
    for (int i = 0; i < n; i++) {
        int64_t want = steps + 1;
        yc_val v;
        CHECK_ST(yc_next(G[0], &v), YC_YIELD);
        CHECK_INTV(v, want);
    }
}

/* [7.1] [8.1] levels j < from SUSPENDED, the others CLOSED */
static void check_closed_from(int from, int line)
{
    for (int j = 0; j < depth; j++) {
        int want = j >= from ? YC_GEN_CLOSED : YC_GEN_SUSPENDED;
        if ((int)yc_gen_state_of(G[j]) != want)
            test_fail(__FILE__, line, "level %d: %s, want %s", j,
                      yc_gen_state_name(yc_gen_state_of(G[j])), yc_gen_state_name(want));
    }
}

/* [7.6] finally blocks ran at levels DEEP-1 down to `from`, in that order */
static void check_fin_down_to(int from, int line)
{
    if (nfin != DEEP - from) test_fail(__FILE__, line, "%d finally blocks, want %d", nfin, DEEP - from);
    for (int i = 0; i < nfin; i++)
        if (fin[i] != DEEP - 1 - i) test_fail(__FILE__, line, "finally %d at level %d", i, fin[i]);
}

TEST(covered_chain_throw_at_top_middle_bottom_7_6)
{
    /* [7.6] throws into a chain whose levels are covered: at the top it
     * reaches the bottom first and climbs until one catches it; at a
     * covered middle level the same from there; at the bottom (and the
     * level the cached step goes to) the levels above then find their
     * subiterator closed [7.3] */
    chain_reset_options();
    yc_val v;
    catch_at = 40;
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_throw(G[0], yc_exc_new(&yc_ValueError, "thrown"), &v), YC_YIELD);
    CHECK_INTV(v, 1040);
    check_fin_down_to(41, __LINE__);
    check_closed_from(41, __LINE__);
    CHECK_ST(yc_next(G[0], &v), YC_RETURN); /* 40's yield returned None: 0 + 1 a level */
    CHECK_INTV(v, 41);
    chain_free();

    catch_at = 10;
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_throw(G[50], yc_exc_new(&yc_ValueError, "thrown"), &v), YC_RAISE);
    CHECK_EXC(&yc_ValueError, "ValueError: thrown");
    check_closed_from(50, __LINE__);
    check_fin_down_to(50, __LINE__);
    CHECK_ST(yc_next(G[0], &v), YC_RETURN); /* 49's yield from returned None */
    CHECK_INTV(v, 50);
    chain_free();

    for (int at = DEEP - 2; at < DEEP; at++) {
        chain_reset_options();
        chain_start(DEEP);
        warm(3);
        CHECK_ST(yc_throw(G[at], yc_exc_new(&yc_ValueError, "thrown"), &v), YC_RAISE);
        CHECK_EXC(&yc_ValueError, "ValueError: thrown");
        check_closed_from(at, __LINE__);
        CHECK_ST(yc_next(G[0], &v), YC_RETURN);
        CHECK_INTV(v, at);
        chain_free();
    }
}

TEST(covered_chain_close_at_top_middle_bottom_7_7)
{
    /* [7.7] close of a covered chain: GeneratorExit at the bottom first,
     * each finally innermost first, from the top, a covered middle level
     * or the bottom; the levels above a closed one then return [7.3];
     * and "generator ignored GeneratorExit" from the bottom climbs */
    chain_reset_options();
    yc_val v;
    int at[] = {0, 50, DEEP - 2, DEEP - 1};
    for (size_t i = 0; i < sizeof at / sizeof at[0]; i++) {
        chain_start(DEEP);
        warm(3);
        CHECK_ST(yc_close(G[at[i]], &v), YC_OK);
        check_fin_down_to(at[i], __LINE__);
        check_closed_from(at[i], __LINE__);
        if (at[i] > 0) {
            CHECK_ST(yc_next(G[0], &v), YC_RETURN);
            CHECK_INTV(v, at[i]);
        }
        chain_free();
    }

    /* a covered middle level closed from outside, then the top closed:
     * the top's delegation loop closes the level below it (its chain was
     * given back by the first close: nothing of the old walk is left),
     * which returns at once, as CPython (close B, then close R: both
     * closed, no error) */
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_close(G[50], &v), YC_OK);
    check_closed_from(50, __LINE__);
    CHECK_EQ_INT(yc_gen_state_of(G[0]), YC_GEN_SUSPENDED);
    CHECK_ST(yc_close(G[0], &v), YC_OK);
    for (int j = 0; j < DEEP; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_CLOSED);
    chain_free();

    check_ignored_exit_climbs(3); /* the same once covered */
}

TEST(covered_chain_states_and_middle_resumes_7_10)
{
    /* [7.1] [8.1] a covered chain reads SUSPENDED at every level from
     * outside, each with its gi_yieldfrom, and RUNNING at every level
     * from the bottom during a step (check_all_running); [7.10] next or
     * send on a covered middle level (or the level the cached step goes
     * to, or the bottom) advances the bottom, and the top, resumed
     * after, sees the values that follow [7.9] */
    chain_reset_options();
    chain_start(DEEP);
    warm(3);
    check_suspended_chain(__LINE__);
    int levels[] = {1, 2, 50, DEEP - 3, DEEP - 2, DEEP - 1, 1};
    for (size_t i = 0; i < sizeof levels / sizeof levels[0]; i++) {
        int l = levels[i];
        yc_val v;
        int64_t want = steps + 1;
        entry_level = l;
        CHECK_ST(yc_send(G[l], yc_int(-l - 1), &v), YC_YIELD);
        CHECK_INTV(v, want);
        CHECK_VAL(last_sent, yc_int(-l - 1));
        CHECK_ST(yc_next(G[l], &v), YC_YIELD); /* its own chain, covered now */
        CHECK_INTV(v, want + 1);
        entry_level = 0;
        check_suspended_chain(__LINE__);
        warm(2);
        check_suspended_chain(__LINE__);
    }
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

TEST(covered_chain_reentry_7_11)
{
    /* [7.11] [2.5] during a cached step every level is running: each
     * resume, close, free or trim of one is "generator already executing"
     * and changes nothing; the same for a step started at a middle level */
    chain_reset_options();
    chain_start(DEEP);
    warm(3);
    yc_val v;
    CHECK_ST(yc_send(G[0], yc_int(CMD_REENTER), &v), YC_YIELD);
    CHECK_INTV(v, 4);
    check_suspended_chain(__LINE__);
    warm(2);
    entry_level = DEEP / 2;
    CHECK_ST(yc_next(G[DEEP / 2], &v), YC_YIELD);
    CHECK_ST(yc_send(G[DEEP / 2], yc_int(CMD_REENTER), &v), YC_YIELD);
    CHECK_INTV(v, 8);
    entry_level = 0;
    warm(2);
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

TEST(covered_chain_return_and_raise_7_3_7_8)
{
    /* [7.3] the bottom returns in a cached step: each level's yield from
     * returns the value below plus one, finally blocks innermost first */
    chain_reset_options();
    yc_val v;
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RETURN), &v), YC_RETURN);
    CHECK_INTV(v, 100 + DEEP - 1);
    check_fin_down_to(0, __LINE__);
    check_closed_from(0, __LINE__);
    chain_free();

    /* [7.9] each level yields after its yield from: the chain shrinks a
     * level a step, the cached step going to the new last level */
    after_yield = true;
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RETURN), &v), YC_YIELD);
    CHECK_INTV(v, -(DEEP - 2));
    for (int k = DEEP - 3; k >= 0; k--) {
        CHECK_ST(yc_next(G[0], &v), YC_YIELD);
        CHECK_INTV(v, -k);
        check_closed_from(k + 1, __LINE__);
    }
    CHECK_ST(yc_next(G[0], &v), YC_RETURN);
    CHECK_INTV(v, 100 + DEEP - 1);
    chain_free();

    /* [7.8] raised at the bottom: a traceback entry per level */
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_RAISE);
    check_raised_through_each_level(__LINE__);
    chain_free();

    /* [7.8] caught mid-chain, the chain goes on from there */
    catch_at = 60;
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_send(G[0], yc_int(CMD_RAISE), &v), YC_YIELD);
    CHECK_INTV(v, 1060);
    check_closed_from(61, __LINE__);
    CHECK(yc_gen_yieldfrom(G[60]) == NULL);
    CHECK(yc_gen_yieldfrom(G[59]) == yc_gen_iter(G[60]));
    CHECK_ST(yc_send(G[0], yc_int(5), &v), YC_RETURN);
    CHECK_INTV(v, 6 + 60);
    chain_free();

    /* [6.1] [7.12] PEP 479 at the bottom of a covered chain */
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_send(G[0], yc_int(CMD_STOP), &v), YC_RAISE);
    CHECK_EXC(&yc_RuntimeError, "RuntimeError: generator raised StopIteration");
    check_closed_from(0, __LINE__);
    chain_free();
}

TEST(covered_chain_freed_from_the_top_5_10)
{
    /* [7.7] [5.10] freeing the top of a covered chain closes every level,
     * innermost first; each level is freed after (closed: nothing runs) */
    chain_reset_options();
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_gen_free(G[0]), YC_OK);
    G[0] = NULL;
    check_fin_down_to(0, __LINE__);
    for (int j = 1; j < depth; j++) CHECK_EQ_INT(yc_gen_state_of(G[j]), YC_GEN_CLOSED);
    chain_free();

    /* a covered middle level trimmed, then the chain goes on */
    chain_start(DEEP);
    warm(3);
    CHECK_ST(yc_gen_stack_trim(G[50], NULL), YC_OK);
    CHECK_ST(yc_gen_stack_trim(G[0], NULL), YC_OK); /* the cover: gives up its levels */
    check_suspended_chain(__LINE__);
    warm(3);
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

/* ---- another thread ------------------------------------------------------ */

static void *pull_on_thread(void *arg)
{
    yc_val v;
    int *ok = arg;
    for (int i = 0; i < 3; i++) *ok += yc_next(G[0], &v) == YC_YIELD;
    entry_level = depth / 2;
    *ok += yc_send(G[depth / 2], yc_int(9), &v) == YC_YIELD && last_sent.i == 9;
    entry_level = 0;
    return NULL;
}

TEST(deep_chain_resumed_on_another_thread)
{
    /* [7.9] the chain resumed by another thread (its claims revoke this
     * thread's bias), then here again */
    chain_reset_options();
    chain_start(DEEP);
    int ok = 0;
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, pull_on_thread, &ok), 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(ok, 4);
    CHECK_EQ_INT(steps, 4);
    check_suspended_chain(__LINE__);
    yc_val v;
    CHECK_ST(yc_next(G[0], &v), YC_YIELD);
    CHECK_INTV(v, 5);
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

static void *middle_then_top_on_thread(void *arg)
{
    yc_val v;
    int *ok = arg;
    entry_level = 50;
    int64_t want = steps + 1;
    *ok += yc_send(G[50], yc_int(9), &v) == YC_YIELD && v.i == want && last_sent.i == 9;
    entry_level = 0;
    for (int i = 0; i < 3; i++) {
        want = steps + 1;
        *ok += yc_next(G[0], &v) == YC_YIELD && v.i == want;
    }
    return NULL;
}

TEST(covered_chain_middle_and_top_on_another_thread_7_10)
{
    /* [7.10] [7.9] a chain covered on this thread: another thread resumes
     * a covered middle level (its claim takes the cover's bias and claim
     * first), then the top (covered again there), then this thread */
    chain_reset_options();
    chain_start(DEEP);
    warm(3);
    int ok = 0;
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, middle_then_top_on_thread, &ok), 0);
    pthread_join(t, NULL);
    CHECK_EQ_INT(ok, 4);
    check_suspended_chain(__LINE__);
    warm(3);
    yc_val v;
    entry_level = 50;
    CHECK_ST(yc_next(G[50], &v), YC_YIELD);
    entry_level = 0;
    warm(1);
    CHECK_EQ_INT(steps, 12);
    CHECK_EQ_INT(not_running, 0);
    chain_free();
}

/* ---- two chains over one subiterator --------------------------------------- */

static yc_val delegate(void *sub) { return yc_yield_from((yc_iter *)sub); }

static yc_val count_up(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < 1000; i++) yc_yield(yc_int(i));
    return YC_NONE;
}

TEST(two_chains_share_a_subiterator_7_9)
{
    /* [7.9] two delegators over one subiterator (CPython allows it): a
     * chain S of 30 levels over a counter, and two chains of two levels
     * each over S's top. Each next takes the next value whichever chain
     * asks, a walk of one chain taking S's levels from the other's cover;
     * states read SUSPENDED between steps; closing one chain closes S, and
     * the other then finds it closed [7.3] */
    enum { S_LEVELS = 30 };
    yc_gen *s[S_LEVELS + 1];
    s[S_LEVELS] = YC_CHECK_PTR(yc_gen_new(count_up, NULL, NULL));
    for (int i = S_LEVELS; i-- > 0;)
        s[i] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(s[i + 1]), NULL));
    yc_gen *p1 = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(s[0]), NULL));
    yc_gen *p0 = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(p1), NULL));
    yc_gen *q1 = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(s[0]), NULL));
    yc_gen *q0 = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(q1), NULL));
    yc_val v;
    int64_t want = 0;
    /* p, p, p, q, q, q, p, q, p, q ... */
    const char *order = "pppqqqpqpqppqqpqqqpppp";
    for (const char *c = order; *c; c++) {
        yc_gen *top = *c == 'p' ? p0 : q0;
        CHECK_ST(yc_next(top, &v), YC_YIELD);
        CHECK_INTV(v, want++);
        for (int i = 0; i <= S_LEVELS; i++) CHECK_EQ_INT(yc_gen_state_of(s[i]), YC_GEN_SUSPENDED);
        for (int i = 0; i < S_LEVELS; i++) CHECK(yc_gen_yieldfrom(s[i]) == yc_gen_iter(s[i + 1]));
        CHECK_EQ_INT(yc_gen_state_of(p1), YC_GEN_SUSPENDED);
        CHECK_EQ_INT(yc_gen_state_of(q1), c - order < 3 ? YC_GEN_CREATED : YC_GEN_SUSPENDED);
    }
    CHECK_ST(yc_close(p0, &v), YC_OK);
    for (int i = 0; i <= S_LEVELS; i++) CHECK_EQ_INT(yc_gen_state_of(s[i]), YC_GEN_CLOSED);
    CHECK_ST(yc_next(q0, &v), YC_RETURN);
    CHECK(yc_is_none(v));
    CHECK_ST(yc_gen_free(q0), YC_OK);
    CHECK_ST(yc_gen_free(q1), YC_OK);
    CHECK_ST(yc_gen_free(p0), YC_OK);
    CHECK_ST(yc_gen_free(p1), YC_OK);
    for (int i = 0; i <= S_LEVELS; i++) CHECK_ST(yc_gen_free(s[i]), YC_OK);
}

static yc_val count_to_six(void *arg)
{
    (void)arg;
    for (int64_t i = 0; i < 6; i++) yc_yield(yc_int(i));
    return yc_int(777);
}

TEST(two_chains_share_their_bottom_7_3)
{
    /* [7.3] [7.9] two chains of three levels over one generator that
     * yields itself: each walk goes down to it, the last one from the other
     * chain; it returns during a cached step of the first chain, and its
     * value climbs that chain (not the other), whose levels then return
     * it; the other chain then finds it closed */
    yc_gen *c = YC_CHECK_PTR(yc_gen_new(count_to_six, NULL, NULL));
    yc_gen *p[3], *q[3];
    p[2] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(c), NULL));
    q[2] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(c), NULL));
    for (int i = 2; i-- > 0;) {
        p[i] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(p[i + 1]), NULL));
        q[i] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(q[i + 1]), NULL));
    }
    yc_val v;
    const char *order = "pppqqq"; /* the values 0 to 5; each chain walks at its third */
    for (int64_t i = 0; order[i]; i++) {
        CHECK_ST(yc_next(order[i] == 'p' ? p[0] : q[0], &v), YC_YIELD);
        CHECK_INTV(v, i);
    }
    CHECK_ST(yc_next(p[0], &v), YC_RETURN); /* p[0]'s cached step: c returns */
    CHECK_INTV(v, 777);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(yc_gen_state_of(p[i]), YC_GEN_CLOSED);
        CHECK_EQ_INT(yc_gen_state_of(q[i]), YC_GEN_SUSPENDED);
    }
    CHECK_EQ_INT(yc_gen_state_of(c), YC_GEN_CLOSED);
    CHECK_ST(yc_next(q[0], &v), YC_RETURN);
    CHECK(yc_is_none(v));
    for (int i = 0; i < 3; i++) {
        CHECK_ST(yc_gen_free(p[i]), YC_OK);
        CHECK_ST(yc_gen_free(q[i]), YC_OK);
    }
    CHECK_ST(yc_gen_free(c), YC_OK);
}

/* ---- two threads on one chain at once -------------------------------------- */

enum { RACE_VALUES = 2000, RACE_LEVELS = 30 };

static yc_val count_to(void *arg)
{
    int64_t n = *(int64_t *)arg;
    for (int64_t i = 0; i < n; i++) yc_yield(yc_int(i));
    return yc_int(-1);
}

typedef struct racer {
    yc_gen *g;           /* the level this thread resumes */
    pthread_barrier_t *start;
    unsigned char *seen; /* RACE_VALUES flags, shared: a value is delivered once */
    int dup, busy, raised, other;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    pthread_barrier_wait(r->start);
    for (;;) {
        yc_val v;
        int st = yc_next(r->g, &v);
        if (st == YC_YIELD) {
            if (v.i < 0 || v.i >= RACE_VALUES || __atomic_exchange_n(&r->seen[v.i], 1, __ATOMIC_RELAXED))
                r->dup++;
        } else if (st == YC_EBUSY || st == YC_RAISE) {
            /* the other thread's step runs this level (busy: b only), or a level
             * above it found the level below running (its yield from
             * raised "generator already executing", as in CPython) */
            yc_exc *e = yc_err_take();
            char buf[96] = "";
            if (e) yc_exc_format(e, buf, sizeof buf);
            if (strcmp(buf, "ValueError: generator already executing") != 0) r->other++;
            *(st == YC_EBUSY ? &r->busy : &r->raised) += 1;
            yc_exc_unref(e);
        } else {
            break; /* returned: finished (or closed by the raise) */
        }
    }
    return NULL;
}

TEST(covered_chain_raced_by_two_threads_7_11)
{
    /* [7.11] [2.5] two threads resume one chain at once, one at its top,
     * one at a level in the middle, each step either runs or finds the
     * other's step running ("generator already executing", at the call or
     * at a level's yield from above it, as in CPython: the top's chain then
     * ends there, and the middle level goes on alone): every value is
     * delivered exactly once, nothing else is raised, and the chain ends.
     * 40 rounds, each on a new chain covered here first. */
    static unsigned char seen[RACE_VALUES];
    int busy = 0, raised = 0;
    for (int round = 0; round < 40; round++) {
        int64_t n = RACE_VALUES;
        yc_gen *s[RACE_LEVELS + 1];
        s[RACE_LEVELS] = YC_CHECK_PTR(yc_gen_new(count_to, &n, NULL));
        for (int i = RACE_LEVELS; i-- > 0;)
            s[i] = YC_CHECK_PTR(yc_gen_new(delegate, yc_gen_iter(s[i + 1]), NULL));
        memset(seen, 0, sizeof seen);
        yc_val v;
        for (int i = 0; i < 3; i++) {
            CHECK_ST(yc_next(s[0], &v), YC_YIELD);
            seen[v.i] = 1;
        }
        pthread_barrier_t start;
        pthread_barrier_init(&start, NULL, 2);
        racer a = {.g = s[0], .start = &start, .seen = seen};
        racer b = {.g = s[RACE_LEVELS / 2], .start = &start, .seen = seen};
        pthread_t ta, tb;
        CHECK_EQ_INT(pthread_create(&ta, NULL, race, &a), 0);
        CHECK_EQ_INT(pthread_create(&tb, NULL, race, &b), 0);
        pthread_join(ta, NULL);
        pthread_join(tb, NULL);
        pthread_barrier_destroy(&start);
        CHECK_EQ_INT(a.dup + b.dup, 0);
        CHECK_EQ_INT(a.other + b.other, 0);
        /* the top is resumed by a alone: never busy at its own call (the
         * other thread's claim of a middle level holds the top only while
         * it gives the chain back, and a claim of the top waits for that) */
        CHECK_EQ_INT(a.busy, 0);
        int missing = 0;
        for (int i = 0; i < RACE_VALUES; i++) missing += !seen[i];
        CHECK_EQ_INT(missing, 0);
        for (int i = 0; i <= RACE_LEVELS; i++) {
            CHECK_EQ_INT(yc_gen_state_of(s[i]), YC_GEN_CLOSED);
            CHECK_ST(yc_gen_free(s[i]), YC_OK);
        }
        busy += a.busy + b.busy;
        raised += a.raised + b.raised;
    }
    CHECK(raised <= 40); /* at most once a round: the top's chain ends */
    printf("     (40 rounds: %d busy, %d raised)\n", busy, raised);
}

/* ---- a task's chain that awaits ------------------------------------------ */

/* A chain of `n` levels (arg: n), each delegating to the next; the bottom
 * awaits (parks its task) around each of its (bare) yields. */
static yc_val park_level(void *arg)
{
    int64_t n = *(int64_t *)arg;
    if (n == 0) {
        for (int64_t i = 0; i < 4; i++) {
            yc_sleep(0);
            yc_yield(YC_NONE); /* in a task: a bare yield, to the loop */
            yc_sleep(0);
        }
        return yc_int(100);
    }
    int64_t below = n - 1;
    yc_gen *sub = YC_CHECK_PTR(yc_gen_new(park_level, &below, NULL));
    yc_val r = yc_yield_from(yc_gen_iter(sub));
    yc_gen_free(sub);
    return yc_int(r.i + 1);
}

/* The task: its own generator delegates to a chain of 20 levels (the
 * bottom's yields go to the loop as bare yields), then iterates another
 * with yc_next. */
static yc_val park_task(void *arg)
{
    (void)arg;
    int64_t n = 20;
    yc_gen *top = YC_CHECK_PTR(yc_gen_new(park_level, &n, NULL));
    yc_val r = yc_yield_from(yc_gen_iter(top));
    yc_gen_free(top);
    top = YC_CHECK_PTR(yc_gen_new(park_level, &n, NULL));
    yc_val v;
    int64_t count = 0;
    while (yc_next(top, &v) == YC_YIELD) count++;
    yc_gen_free(top);
    return yc_int(r.i * 1000 + count * 10000000 + v.i);
}

TEST(deep_chain_in_a_task_that_awaits)
{
    /* [7.9] a task's chain resumed at its inner levels: the bottom parks
     * the task (the loop's park follows resumers up to the task's
     * generator) and yields bare to the loop, through 20 levels */
    yc_val out;
    CHECK_ST(yc_loop_run(park_task, NULL, NULL, &out), YC_OK);
    CHECK_INTV(out, 120 * 1000 + 4 * 10000000 + 120);
}

TEST_MAIN()
