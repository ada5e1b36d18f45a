# yieldc: the top-level commands. CMake does the building; this file only
# chooses configurations and runs them, each in its own directory under
# $(BUILD).
#
#   make demo    Release build of the library and examples; runs each example,
#                then loads the HTTP example with wrk (examples/load_demo.sh)
#   make test    the test matrix (below); ends with "N passed, M failed"
#   make bench   bash bench/run.sh
#   make bench-loop  only its event loop section (YC_BENCH_ONLY=loop)
#   make bench-dense only its stackless generator section (YC_BENCH_ONLY=dense)
#   make bench-load  only its load section (YC_BENCH_ONLY=load, bench/load.sh)
#   make clean   removes $(BUILD)
#
# The test matrix, in order; it stops at the first configuration that fails:
#   gcc-O2        gcc, RelWithDebInfo (-O2), assembly switch
#   io-uring      the I/O, loop, stream, file, subprocess and example server
#                 tests of gcc-O2 again with YC_IO_BACKEND=io_uring. make
#                 test first installs liburing-dev when missing
#                 (tests/io_uring-tools.sh); prints "SKIPPED io_uring: <why>"
#                 and does not fail when it cannot, or when the kernel
#                 refuses rings (yc_config() says why)
#   gcc-ucontext  gcc, RelWithDebInfo, -DYC_SWITCH=ucontext
#   clang-O0      clang, -O0        (skipped when clang is not installed)
#   clang-O3      clang, -O3        (skipped when clang is not installed)
#   asan-ubsan    gcc, Debug, -DYC_SANITIZE=address,undefined
#   tsan          gcc, Debug, -DYC_SANITIZE=thread, the threading tests and
#                 the event loop's (thread-safe calls, the thread pool, signals),
#                 and test_yield_chain (chains resumed and uncovered across threads)
#   valgrind      memcheck over every test of gcc-O2 (skipped without valgrind)
#   packaging     a consumer project built against yieldc installed into a
#                 temporary prefix (find_package and pkg-config) and as a
#                 subproject (add_subdirectory, FetchContent), and what the
#                 installed library exports (tests/packaging/run.sh)
#   gdb           the gdb extension (tools/gdb/yieldc.py) in batch mode over a
#                 program with live generators (tests/gdb/run.sh); installs
#                 gdb when missing (skipped, with the reason, when it cannot)
#   model         the Spin model of the biased claim (tests/model/bias.pml):
#                 holds as built, fails when broken in each of five ways;
#                 installs Debian's spin when missing (skipped when it cannot)
#   aarch64       cross-built for AArch64, every test run under qemu-user, in
#                 three legs: aarch64-O2 (RelWithDebInfo, assembly switch),
#                 aarch64-O0-pac (-O0, -mbranch-protection=standard: BTI and
#                 return-address signing) and aarch64-ucontext. Installs
#                 gcc-aarch64-linux-gnu and qemu-user when missing; prints
#                 "SKIPPED aarch64: <reason>" and does not fail when it cannot.
# Each runs `ctest --output-on-failure -j$(JOBS)`. A configuration that does
# not build counts as one failed test. Run one with e.g. `make test-clang-O3`.

SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c

JOBS ?= 2
BUILD ?= build
CMAKE ?= cmake
CTEST ?= ctest
GCC ?= gcc
CLANG ?= clang
VALGRIND ?= valgrind
PYTHON ?= python3

comma := ,
B := $(abspath $(BUILD))
COUNTS := $(B)/test-matrix.counts
# The tour's order first, then any other example.
EXAMPLES := ticket_machine tree_walk running_average
EXAMPLES += $(filter-out $(EXAMPLES),$(sort $(basename $(notdir $(wildcard examples/*.c)))))

SAN_ENV := ASAN_OPTIONS=detect_stack_use_after_return=1:detect_leaks=1 \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
# --max-stackframe: a generator body may have a frame of several MiB on a
# large stack (tests do); Valgrind would otherwise take that SP change for a
# stack switch. Real switches are recognised by the stack registration.
VALGRIND_FLAGS := -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
                  --trace-children=no --max-stackframe=16777216
VALGRIND_TIMEOUT ?= 1200

HAVE_CLANG := $(shell command -v $(CLANG) >/dev/null 2>&1 && echo yes)
HAVE_VALGRIND := $(shell command -v $(VALGRIND) >/dev/null 2>&1 && echo yes)

MATRIX := test-gcc-O2 test-io-uring test-gcc-ucontext test-clang-O0 test-clang-O3 test-asan-ubsan test-tsan test-valgrind \
          test-packaging test-gdb test-model test-aarch64

.PHONY: all release demo test test-matrix $(MATRIX) test-aarch64-legs test-io-uring-leg test-io-uring-ctest bench bench-loop bench-dense bench-load fuzz clean
.NOTPARALLEL:

all: release

# ---- demo ------------------------------------------------------------------

release:
	$(CMAKE) -S . -B $(B)/release -DCMAKE_BUILD_TYPE=Release -DYC_BUILD_TESTS=OFF \
	    -DYC_BUILD_EXAMPLES=ON
	$(CMAKE) --build $(B)/release -j$(JOBS)

# The header of each example is the first line of its opening comment. Then
# logstats reads DEMO_LOG_SIZE bytes of access log from gen_access_log
# through a pipe and prints its throughput and peak RSS. Before that,
# examples/load_demo.sh serves http_hello, loads it with wrk for
# DEMO_LOAD_SECONDS (requests/s, p99) and stops it with SIGTERM; without wrk
# (not installable) it prints SKIPPED and the reason and does not fail.
DEMO_LOG_SIZE ?= 1G
DEMO_LOAD_SECONDS ?= 3
demo: release
	@for e in $(EXAMPLES); do \
	    echo; \
	    echo "=== $$(sed -n '2s/^ \* //p' examples/$$e.c)"; \
	    $(B)/release/examples/$$e || { echo "=== $$e FAILED (exit $$?)"; exit 1; }; \
	done
	@echo
	@echo "=== http_hello --serve under wrk for $(DEMO_LOAD_SECONDS) s, then SIGTERM (examples/load_demo.sh)"
	@bash examples/load_demo.sh $(B)/release/examples/http_hello $(DEMO_LOAD_SECONDS) \
	    || { echo "=== the load demo FAILED"; exit 1; }
	@echo
	@echo "=== logstats on $(DEMO_LOG_SIZE)B of synthetic access log, generated on the fly and piped in"
	@echo "=== (gen_access_log $(DEMO_LOG_SIZE) | logstats -: nothing is written to disk)"
	@$(B)/release/examples/gen_access_log $(DEMO_LOG_SIZE) | $(B)/release/examples/logstats - \
	    || { echo "=== logstats on the piped log FAILED"; exit 1; }

# ---- fuzz ------------------------------------------------------------------

# make fuzz SEED=... N=...: N random scenarios of the CPython differential
# test from SEED (tests/conformance/diff/README.md); divergences are shrunk
# and saved under tests/conformance/corpus/. MODE=dense: the same with the
# kind of each generator (stackful or stackless) drawn from the seed, so
# yield-from chains mix kinds (emit_dense.py). MODE=loop: the event loop's
# test against asyncio (tests/conformance/loopdiff/README.md; needs CPython
# 3.13+), divergences saved under tests/conformance/loopdiff/corpus/.
SEED ?= 1
N ?= 100000
MODE ?= gen
FUZZ_RUNNER_gen := diff/difftest_runner
FUZZ_RUNNER_dense := diff/difftest_runner
FUZZ_RUNNER_loop := loopdiff/loopdiff_runner
fuzz:
	$(call build,gcc-O2,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=asm)
	YC_FUZZ_MODE=$(MODE) YC_DIFF_RUNNER=$(B)/gcc-O2/tests/conformance/$(FUZZ_RUNNER_$(MODE)) \
	    bash tests/conformance/diff/fuzz.sh $(SEED) $(N)

# ---- test ------------------------------------------------------------------

# $(call build,NAME,CMAKE-ARGS): configures and builds $(B)/NAME. A failure
# is recorded as one failed test.
define build
@echo; echo "==> [$(1)] configure and build"
@$(CMAKE) -S . -B $(B)/$(1) $(2) \
    && $(CMAKE) --build $(B)/$(1) -j$(JOBS) \
    || { echo "$(1) 0 1 build-failed" >> $(COUNTS); echo "==> [$(1)] BUILD FAILED"; exit 1; }
endef

# $(call ctest,NAME,ENV): runs the tests of $(B)/NAME with ENV in the
# environment and records ctest's counts ("P% tests passed, F tests failed
# out of T").
define ctest
@echo "==> [$(1)] ctest"
@cd $(B)/$(1) && env $(2) $(CTEST) --output-on-failure -j$(JOBS) $(3) 2>&1 | tee ctest.log; \
    rc=$$?; \
    counts=$$(sed -nE 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1 \2/p' ctest.log | tail -n 1); \
    failed=$${counts% *}; total=$${counts#* }; \
    if [ -z "$$counts" ]; then failed=0; total=0; fi; \
    if [ $$rc -ne 0 ] && [ "$$failed" = 0 ]; then failed=1; fi; \
    echo "$(1) $$((total - failed)) $$failed" >> $(COUNTS); \
    if [ $$rc -ne 0 ]; then echo "==> [$(1)] FAILED"; exit 1; fi
endef

# $(call skip,NAME,WHY)
define skip
@echo; echo "==> [$(1)] SKIPPED: $(2)"
@echo "$(1) 0 0 skipped" >> $(COUNTS)
endef

# The whole matrix, then the summary. The inner make stops at the first
# failing configuration; the summary is printed either way, and its last line
# is the only one of the form "N passed, M failed" outside test output.
test:
	@mkdir -p $(B) && rm -f $(COUNTS) && touch $(COUNTS)
	@bash tests/io_uring-tools.sh $(B)/io_uring-tools.log > $(B)/io_uring-tools.why || true
	@$(MAKE) --no-print-directory test-matrix; rc=$$?; \
	    echo; echo "==> summary"; \
	    awk '{ printf "  %-14s %4d of %d ok%s\n", $$1, $$2, $$2 + $$3, ($$4 ? "  (" $$4 ")" : "") }' $(COUNTS); \
	    awk '{ p += $$2; f += $$3 } END { printf "%d passed, %d failed\n", p, f }' $(COUNTS); \
	    exit $$rc

test-matrix: $(MATRIX)

test-gcc-O2:
	$(call build,gcc-O2,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=asm $(LOOPDIFF_CACHE))
	$(call ctest,gcc-O2,)

# The io_uring leg (docs/io.md, "Backends"): the tests of IO_URING_TESTS
# in gcc-O2's build (through the link $(B)/io-uring) with
# YC_IO_BACKEND=io_uring, once test_io_uring --config shows that loops get
# a ring here.
IO_URING_TESTS := ^(test_io|test_stream|test_loop|test_files|test_subprocess|test_signals|test_threadpool|example_(echo_server|chat_server|http_hello|fetch_many)$$)
test-io-uring:
	@mkdir -p $(B)
	@echo; echo "==> [io-uring] liburing-dev (tests/io_uring-tools.sh)"
	@if why=$$(bash tests/io_uring-tools.sh $(B)/io_uring-tools.log); then \
	    $(MAKE) --no-print-directory test-io-uring-leg; \
	else \
	    echo "==> SKIPPED io_uring: $$why"; echo "io-uring 0 0 skipped" >> $(COUNTS); \
	fi

test-io-uring-leg:
	$(call build,gcc-O2,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=asm)
	@ln -sfn gcc-O2 $(B)/io-uring
	@cfg=$$(YC_IO_BACKEND=io_uring $(B)/gcc-O2/tests/test_io_uring --config | grep -o ' io=.*'); \
	    case "$$cfg" in *io=io_uring*) ;; \
	    *) echo "==> SKIPPED io_uring: loops get no ring here:$$cfg"; \
	       echo "io-uring 0 0 skipped" >> $(COUNTS); exit 0;; esac; \
	    $(MAKE) --no-print-directory test-io-uring-ctest

test-io-uring-ctest:
	$(call ctest,io-uring,YC_IO_BACKEND=io_uring YC_TEST_RING_EXPECTED=1,-R "$(IO_URING_TESTS)")

# The full random differential test (20000 + 5000 scenarios per oracle, and
# 20000 loop scenarios) runs in gcc-O2 and asan-ubsan; the other
# configurations run a smaller sample.
DIFF_SMALL := -DYC_DIFF_RANDOM_N=2000 -DYC_DIFF_RANDOM_WITH_N=1000 -DYC_LOOPDIFF_RANDOM_N=2000
# The loop test's oracle traces, shared by every configuration (the oracle
# is the slow part; the traces depend only on the scenarios and the oracle).
LOOPDIFF_CACHE := -DYC_LOOPDIFF_ORACLE_CACHE=$(B)/loopdiff-oracle-cache

test-gcc-ucontext:
	$(call build,gcc-ucontext,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=ucontext $(DIFF_SMALL) $(LOOPDIFF_CACHE))
	$(call ctest,gcc-ucontext,)

ifeq ($(HAVE_CLANG),yes)
test-clang-O0:
	$(call build,clang-O0,-DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O0" $(DIFF_SMALL) $(LOOPDIFF_CACHE))
	$(call ctest,clang-O0,)

test-clang-O3:
	$(call build,clang-O3,-DCMAKE_C_COMPILER=$(CLANG) -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O3 -DNDEBUG" $(DIFF_SMALL) $(LOOPDIFF_CACHE))
	$(call ctest,clang-O3,)
else
test-clang-O0 test-clang-O3:
	$(call skip,$(patsubst test-%,%,$@),$(CLANG) not found)
endif

test-asan-ubsan:
	$(call build,asan-ubsan,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=Debug -DYC_SANITIZE=address$(comma)undefined $(LOOPDIFF_CACHE))
	$(call ctest,asan-ubsan,$(SAN_ENV))

# ThreadSanitizer over the tests that use threads (the library tells TSan
# about every switch through its fiber interface).
test-tsan:
	$(call build,tsan,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=Debug -DYC_SANITIZE=thread $(DIFF_SMALL) $(LOOPDIFF_CACHE))
	$(call ctest,tsan,TSAN_OPTIONS=halt_on_error=1,-R "test_threads|test_loop$$|test_threadpool$$|test_signals$$|test_yield_chain$$")

# Memcheck over every ctest test of gcc-O2 (test binaries and examples), one
# valgrind per binary, $(JOBS) at a time. The commands come from ctest itself.
# Each binary's output is kept in $(B)/gcc-O2/valgrind/NAME.log and shown
# when it fails. Only tests whose command is a program of this build run
# under memcheck: those whose command is a Python driver (difftest,
# loopdiff, fmtdiff, doc_blocks, try_locals) or the compiler (the stackless
# kind's compile-fail tests) are left out, since memcheck would check the
# interpreter or gcc, not yieldc.
ifeq ($(HAVE_VALGRIND),yes)
test-valgrind:
	$(call build,gcc-O2,-DCMAKE_C_COMPILER=$(GCC) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=asm)
	@echo "==> [valgrind] $(VALGRIND) $(VALGRIND_FLAGS)"
	@d=$(B)/gcc-O2/valgrind; rm -rf $$d && mkdir -p $$d && cd $(B)/gcc-O2 \
	  && $(CTEST) --show-only=json-v1 \
	  | $(PYTHON) -c 'import json, os, shlex, sys; [print(t["name"].replace(" ", "_"), shlex.join(t["command"])) for t in json.load(sys.stdin)["tests"] if t.get("command") and t["command"][0].startswith(os.getcwd() + "/") and not t["name"].startswith(("difftest", "loopdiff", "fmtdiff", "doc_blocks"))]' \
	  | xargs -d '\n' -P $(JOBS) -I '{}' bash -c ' \
	      name="$${1%% *}"; cmd="$${1#* }"; log="$$0/$$name.log"; \
	      eval "timeout $(VALGRIND_TIMEOUT) $(VALGRIND) $(VALGRIND_FLAGS) $$cmd" > "$$log" 2>&1; rc=$$?; \
	      echo "$$name $$rc" >> "$$0/results"; \
	      if [ $$rc -eq 0 ]; then echo "  ok   $$name"; \
	      else echo "  FAIL $$name (exit $$rc)"; sed "s/^/    $$name: /" "$$log"; fi' "$$d" '{}'; \
	  touch $$d/results; \
	  total=$$(wc -l < $$d/results); failed=$$(awk '$$2 != 0' $$d/results | wc -l); \
	  echo "valgrind $$((total - failed)) $$failed" >> $(COUNTS); \
	  echo "==> [valgrind] $$((total - failed)) of $$total ok"; \
	  [ $$total -gt 0 ] && [ $$failed -eq 0 ] || { echo "==> [valgrind] FAILED"; exit 1; }
else
test-valgrind:
	$(call skip,valgrind,$(VALGRIND) not found)
endif

# $(call script,NAME,COMMAND): runs a test script that prints "ok X" /
# "FAIL X: why" per check and last "N passed, M failed", and records those
# counts (a script that dies before its summary counts as one failure).
# Exit 77 with "SKIPPED: why" on its last line: the leg is skipped.
define script
@mkdir -p $(B)
@echo; echo "==> [$(1)] $(2)"
@$(2) 2>&1 | tee $(B)/$(1).log; rc=$$?; \
    last=$$(tail -n 1 $(B)/$(1).log); \
    if [ $$rc -eq 77 ]; then \
        echo "$(1) 0 0 skipped" >> $(COUNTS); echo "==> [$(1)] $$last"; exit 0; fi; \
    counts=$$(echo "$$last" | sed -nE 's/^([0-9]+) passed, ([0-9]+) failed$$/\1 \2/p'); \
    if [ -z "$$counts" ]; then counts="0 1"; fi; \
    set -- $$counts; if [ $$rc -ne 0 ] && [ $$2 = 0 ]; then set -- $$1 1; fi; \
    echo "$(1) $$1 $$2" >> $(COUNTS); \
    if [ $$rc -ne 0 ]; then echo "==> [$(1)] FAILED"; exit 1; fi
endef

test-packaging:
	$(call script,packaging,env CC=$(GCC) CMAKE=$(CMAKE) JOBS=$(JOBS) bash tests/packaging/run.sh $(B)/packaging)

test-gdb:
	$(call script,gdb,env CC=$(GCC) CMAKE=$(CMAKE) JOBS=$(JOBS) bash tests/gdb/run.sh $(B)/gdb)

# The biased claim's model (tests/model/run.sh says what is checked).
test-model:
	@mkdir -p $(B)
	@echo; echo "==> [model] spin over tests/model/bias.pml"
	@bash tests/model/run.sh $(B)/model $(COUNTS) || { echo "==> [model] FAILED"; exit 1; }

# The AArch64 legs (cross compiler and qemu-user from Debian; see
# cmake/aarch64-linux-gnu.cmake: ctest runs each test through qemu-aarch64).
# tests/cross/aarch64-tools.sh installs the tools when missing and says why
# when it cannot; the legs then count as skipped.
AARCH64 := -DCMAKE_TOOLCHAIN_FILE=$(abspath cmake/aarch64-linux-gnu.cmake)
AARCH64_O0_PAC := -DCMAKE_BUILD_TYPE=Debug "-DCMAKE_C_FLAGS_DEBUG=-g -O0" \
    -DCMAKE_C_FLAGS=-mbranch-protection=standard -DCMAKE_ASM_FLAGS=-mbranch-protection=standard

test-aarch64:
	@mkdir -p $(B)
	@echo; echo "==> [aarch64] cross tools (gcc-aarch64-linux-gnu, qemu-user)"
	@if why=$$(bash tests/cross/aarch64-tools.sh $(B)/aarch64-tools.log); then \
	    $(MAKE) --no-print-directory test-aarch64-legs; \
	else \
	    echo "==> SKIPPED aarch64: $$why"; \
	    echo "aarch64 0 0 skipped" >> $(COUNTS); \
	fi

test-aarch64-legs:
	$(call build,aarch64-O2,$(AARCH64) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=asm)
	$(call ctest,aarch64-O2,)
	$(call build,aarch64-O0-pac,$(AARCH64) $(AARCH64_O0_PAC) -DYC_SWITCH=asm)
	$(call ctest,aarch64-O0-pac,)
	$(call build,aarch64-ucontext,$(AARCH64) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DYC_SWITCH=ucontext)
	$(call ctest,aarch64-ucontext,)

# ---- bench and clean --------------------------------------------------------

bench:
	bash bench/run.sh

bench-loop:
	YC_BENCH_ONLY=loop bash bench/run.sh

bench-dense:
	YC_BENCH_ONLY=dense bash bench/run.sh
bench-load:
	YC_BENCH_ONLY=load bash bench/run.sh

clean:
	rm -rf $(B)
