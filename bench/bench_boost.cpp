/*
 * Boost.Context peer (system "boost-fcontext").
 *
 *   bench_boost time [ms]     rows roundtrip, create, create-close
 *   bench_boost count-rt N    N round trips, untimed (callgrind)
 *
 * roundtrip: the raw switch, jump_fcontext into a context made by
 * make_fcontext that jumps straight back (two switches, like yc_next).
 * create: a boost::context::fiber with a fixedsize_stack of 256 KiB (yieldc's
 * default stack size) that resumes its caller once (the yield) and then
 * returns: create + resume + resume, the fiber and its stack freed as it
 * ends. glibc's malloc serves the stack from the heap once warm.
 * create-close: the fiber resumed once and then destroyed while suspended,
 * which unwinds its stack with a forced_unwind exception (Boost's close).
 */
#include <boost/context/detail/fcontext.hpp>
#include <boost/context/fiber.hpp>
#include <boost/context/fixedsize_stack.hpp>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <utility>

#include "bench_common.h"

namespace ctx = boost::context;
namespace det = boost::context::detail;

static const std::size_t STACK = 256u * 1024u;

static det::fcontext_t rt_ctx;

static void rt_entry(det::transfer_t t)
{
    for (;;) t = det::jump_fcontext(t.fctx, nullptr);
}

static void loop_roundtrip(uint64_t n)
{
    det::fcontext_t c = rt_ctx;
    for (uint64_t i = 0; i < n; i++) c = det::jump_fcontext(c, nullptr).fctx;
    rt_ctx = c;
}

static ctx::fiber one_yield(ctx::fiber &&caller)
{
    caller = std::move(caller).resume(); /* the yield */
    return std::move(caller);
}

static void loop_create(uint64_t n)
{
    ctx::fixedsize_stack salloc(STACK);
    for (uint64_t i = 0; i < n; i++) {
        ctx::fiber f{std::allocator_arg, salloc, one_yield};
        f = std::move(f).resume(); /* suspended at the yield */
        f = std::move(f).resume(); /* returned: f is empty, stack freed */
        if (f) std::abort();
    }
}

static void loop_create_close(uint64_t n)
{
    ctx::fixedsize_stack salloc(STACK);
    for (uint64_t i = 0; i < n; i++) {
        ctx::fiber f{std::allocator_arg, salloc, one_yield};
        f = std::move(f).resume();
        if (!f) std::abort();
    } /* ~fiber of a suspended fiber: forced unwind, then the stack is freed */
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "time";
    void *stack = std::malloc(STACK);
    if (!stack) return 1;
    rt_ctx = det::make_fcontext(static_cast<char *>(stack) + STACK, STACK, rt_entry);
    rt_ctx = det::jump_fcontext(rt_ctx, nullptr).fctx; /* started */
    if (std::strcmp(mode, "count-rt") == 0) {
        loop_roundtrip(bench_count_arg(argc, argv, 2));
        return 0;
    }
    if (std::strcmp(mode, "time") != 0) {
        std::fprintf(stderr, "usage: %s time [ms] | count-rt N\n", argv[0]);
        return 2;
    }
    double ms = bench_target_ms(argc, argv, 2);
    bench_row("roundtrip", "boost-fcontext", bench_measure(loop_roundtrip, ms));
    loop_create(64);
    bench_row("create", "boost-fcontext", bench_measure(loop_create, ms));
    bench_row("create-close", "boost-fcontext", bench_measure(loop_create_close, ms));
    return 0;
}
