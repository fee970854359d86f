# Thin wrapper over Meson. The two commands to know: "make run" and "make check".

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
FUZZ_DIR ?= build-fuzz
DEB_DIR ?= build-deb
# Seconds per fuzz target under "make fuzz".
FUZZ_SECONDS ?= 60
MESON ?= meson
NINJA ?= ninja
# Extra arguments for wsbridged under "make run", e.g. make run ARGS=-v
ARGS ?=
# Tests at once: most of them wait on processes and sockets, so more than
# the cores (2 here) keeps the suite short without starving any.
TEST_JOBS ?= 4
# Which suites check-asan runs (all of them by default); CI names the
# daemon's own to stay within its time budget (.ci/run).
ASAN_SUITES ?=

# CI builds treat warnings as errors (STYLE.md).
SETUP_ARGS := $(if $(filter true 1,$(CI)),-Dwerror=true)

ASAN_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1:detect_leaks=1:print_summary=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:abort_on_error=1:print_summary=1

.PHONY: all build run check test check-asan check-valgrind fuzz bench deb deb-test deps clean format
# Prerequisites run in the order listed (deps before build); ninja does the parallel work.
.NOTPARALLEL:

all: build

deps:
	@tools/install-deps

# "meson setup" only when the build dir is not configured yet; once it is,
# ninja re-runs Meson by itself whenever a meson.build file changes.
build:
	@test -f $(BUILD_DIR)/build.ninja || $(MESON) setup $(SETUP_ARGS) $(BUILD_DIR)
	$(NINJA) -C $(BUILD_DIR)

run: deps build
	@tools/run-demo $(ARGS)

test: build
	$(MESON) test -C $(BUILD_DIR) --print-errorlogs --num-processes $(TEST_JOBS)

check: deps test

check-asan: deps
	@test -f $(ASAN_DIR)/build.ninja || $(MESON) setup $(SETUP_ARGS) \
		-Db_sanitize=address,undefined -Db_lundef=false $(ASAN_DIR)
	$(NINJA) -C $(ASAN_DIR)
	$(ASAN_ENV) $(MESON) test -C $(ASAN_DIR) --print-errorlogs --num-processes $(TEST_JOBS) \
		$(foreach s,$(ASAN_SUITES),--suite $(s))

# The same suite with every unit test and every daemon under valgrind.
check-valgrind: deps build
	$(MESON) test -C $(BUILD_DIR) --setup=valgrind --print-errorlogs --num-processes $(TEST_JOBS)

# Rewrites every C file in git as clang-format 14 writes it (.clang-format);
# the "clang-format" unit test checks it (tools/check-format).
format:
	git ls-files '*.c' '*.h' | xargs clang-format -i

# libFuzzer targets (tests/fuzz, HACKING.md): clang + ASan/UBSan build in
# $(FUZZ_DIR), each target run for $(FUZZ_SECONDS) s. Not part of "make check",
# which replays the seed corpora with any compiler.
fuzz: deps
	tests/fuzz/run-fuzz $(FUZZ_DIR) $(FUZZ_SECONDS)

# Benchmarks (BENCHMARKS.md): wall clock, then callgrind instruction counts.
# Not part of "make check"; never gates CI. The routing micro-benchmark and
# its parsers (C++, yajl, simdjson) need -Dbenchmarks=true, which this turns
# on in $(BUILD_DIR) (it stays on there; "meson configure $(BUILD_DIR)
# -Dbenchmarks=false" turns it off).
bench:
	@tools/install-deps --bench
	@test -f $(BUILD_DIR)/build.ninja || $(MESON) setup $(SETUP_ARGS) -Dbenchmarks=true $(BUILD_DIR)
	$(MESON) configure $(BUILD_DIR) -Dbenchmarks=true
	$(NINJA) -C $(BUILD_DIR)
	tests/bench/run-bench $(BUILD_DIR)

# Debian packages (packaging/debian/): dpkg-buildpackage in a copy of the
# tree, the .debs in $(DEB_DIR). deb-test builds them, installs them into a
# scratch root and runs lintian. Neither is part of "make check" (minutes).
deb:
	@tools/install-deps --deb
	tools/make-deb $(DEB_DIR)

deb-test: deb
	tests/packaging/run-deb-test $(DEB_DIR)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR) $(DEB_DIR)
