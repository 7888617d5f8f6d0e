# redge — the one entry point for newcomers, CI and the benchmark.
#   make run        deps + the daemon + Redis (the one on 6379, else a private one) + redge
#   make test       deps + everything (daemon, tests, fake upstream) + the whole suite (ctest)
#   make docs-check every command shown in README.md and examples/*/README.md, run and compared
#   make test-asan  the whole suite under AddressSanitizer + UBSan
#   make fuzz       every libFuzzer target from its seed corpus, FUZZ_SECONDS each
#   make bench      wrk / redis-benchmark against redge and its peers
#   make chaos      the fault-injection suite (tests/chaos), not part of make test
#   make cache-tests the public HTTP cache test suite through the gateway, not part of make test
#   make deb        build/redge_<version>_amd64.deb (dpkg-deb from a staged tree), lintian-clean
#   make deb-check  the packaging checks alone (ctest -L packaging; make test runs them too)
#   make analyze    clang-tidy (.clang-tidy) and cppcheck over src/ (deploy/analyze.sh)
#   make deploy     the whole pipeline: build, test, analyze, package, release onto a local fleet
#   make deploy-check the release test alone (ctest -L deploy; make test runs it too)

BUILD      ?= build
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 25
FUZZ_TARGETS ?=
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
SUDO       := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# ccache, where the developer has it, makes rebuilds across build folders cheap;
# CI and a fresh machine build without it.
LAUNCHER   := $(shell command -v ccache >/dev/null 2>&1 && echo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)

# chromium: the dashboard's browser test (tests/browser) drives it headless.
DEPS       := cmake g++ make pkg-config libuv1-dev libhiredis-dev rapidjson-dev catch2 \
              node-llhttp redis-server redis-sentinel redis-tools libcurl4-openssl-dev clang \
              libclang-rt-dev libsystemd-dev python3-redis python3-websockets python3-yaml \
              systemd dpkg-dev nodejs chromium curl
# The package's tools: dpkg-shlibdeps (dpkg-dev), lintian, groff for the man page check.
DEB_DEPS   := dpkg-dev lintian groff-base binutils
ANALYZE_DEPS := clang-tidy cppcheck
BENCH_DEPS := wrk nginx-light webdis haproxy varnish redis-tools procps util-linux

.PHONY: all deps bench-deps deb-deps analyze-deps analyze deploy deploy-check build build-all run test docs-check test-asan chaos cache-tests fuzz bench deb deb-check clean format

all: build

# Installs only what is missing; a fresh machine has stale package lists, so
# apt-get update runs first whenever anything is to be installed.
define apt_install
	@missing=""; for p in $(1); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(DEPS))

bench-deps: deps
	$(call apt_install,$(BENCH_DEPS))

deb-deps: deps
	$(call apt_install,$(DEB_DEPS))

analyze-deps:
	$(call apt_install,$(ANALYZE_DEPS))

# `make build` compiles the daemon alone (what `make run` needs): a fresh
# folder is configured without the tests, so a newcomer waits for no code
# they will not run. `make test` switches the tests on in the same folder and
# builds everything.
build: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DREDGE_TESTS=OFF $(LAUNCHER)
	cmake --build $(BUILD) -j $(JOBS) --target redge

build-all: deps
	@[ -f $(BUILD)/CMakeCache.txt ] || cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(LAUNCHER)
	@grep -q '^REDGE_TESTS:BOOL=ON' $(BUILD)/CMakeCache.txt || cmake -S . -B $(BUILD) -DREDGE_TESTS=ON
	cmake --build $(BUILD) -j $(JOBS)

# redge's exit status is make's: a listener that cannot bind fails `make run`.
run: build
	@bash tools/run.sh $(BUILD)/redge $(ARGS)

test: build-all
	cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 600 -LE chaos

# Also a ctest entry, so `make test` and CI run it.
docs-check: build
	cmake --build $(BUILD) -j $(JOBS) --target fake_upstream
	/usr/bin/python3 tools/docs_check.py --build $(BUILD)

test-asan: deps
	@[ -f $(ASAN_BUILD)/CMakeCache.txt ] || cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug $(LAUNCHER) \
	  -DCMAKE_CXX_FLAGS="-O1 -g" -DCMAKE_C_FLAGS="-O1 -g" -DREDGE_ASAN=ON -DREDGE_UBSAN=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j 2 --timeout 900 -LE 'chaos|packaging|deploy'

# One case at a time: the cases measure latency and memory, and each loads
# both cores on its own. Every case has its own ctest TIMEOUT as well.
chaos: build-all
	cd $(BUILD) && ctest -L chaos --output-on-failure -j 1

# The public HTTP cache test suite (npm http-cache-tests, pinned in
# tests/cache_tests/node/package.json, installed into $(BUILD)/cache-tests)
# through the gateway, and its results beside the ones the package ships, as
# Markdown; see tests/cache_tests/README.md. Knobs (environment or make
# variables): CACHE_TESTS_ROUTE_JSON (the route object), CACHE_TESTS_SET (a
# redge setting, or a JSON array of them), CACHE_TESTS_ID (one test, dumped),
# CACHE_TESTS_STRICT=1 (fail when a required test fails). Exit 77: skipped,
# npm's registry could not be reached.
cache-tests: build
	/usr/bin/python3 tests/cache_tests/run_cache_tests.py --redge $(BUILD)/redge \
	  --redis-server $$(command -v redis-server || echo /usr/bin/redis-server) --work $(BUILD)/cache-tests

# Each target from its committed seeds (tests/fuzz/corpus/<target>/) for
# FUZZ_SECONDS (default 60) seconds, or until FUZZ_RUNS inputs when that is
# set, FUZZ_JOBS targets at a time (default 1), each in FUZZ_FORK worker
# processes (default: one), FUZZ_TARGETS only (names); see tools/fuzz.sh.
# Optimised but with assertions on (no NDEBUG), redge's and RapidJSON's: a
# fuzzer should trip them.
fuzz: deps
	@[ -f $(FUZZ_BUILD)/CMakeCache.txt ] || CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -g" -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" -DREDGE_FUZZ=ON $(LAUNCHER)
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_JOBS=$(FUZZ_JOBS) FUZZ_FORK=$(FUZZ_FORK) FUZZ_TIMEOUT=$(FUZZ_TIMEOUT) FUZZ_TARGETS="$(FUZZ_TARGETS)" bash tools/fuzz.sh $(FUZZ_BUILD)

bench: bench-deps build-all
	@bash bench/run.sh $(BUILD)

# The Debian package of the daemon in $(BUILD) (a Release build): see
# packaging/build_deb.sh for what it holds; lintian must report no error.
deb: deb-deps build
	bash packaging/build_deb.sh $(BUILD)

# With lintian installed (deb-deps), the packaging case lints as make deb does.
deb-check: deb-deps build-all
	cd $(BUILD) && ctest -L packaging --output-on-failure

# Static analysis of src/ from its own configured-only folder (build-analyze);
# any finding fails. See deploy/analyze.sh and .clang-tidy.
analyze: analyze-deps
	bash deploy/analyze.sh -j $(JOBS)

# The pipeline a push triggers (deploy/pipeline.sh; PIPELINE_SKIP=test,analyze
# or ARGS="--from release" shorten it). Its release stage starts its own fleet
# on free loopback ports (deploy/local-fleet.sh).
deploy: deps deb-deps analyze-deps
	BUILD=$(BUILD) bash deploy/pipeline.sh $(ARGS)

deploy-check: build-all
	cd $(BUILD) && ctest -L deploy --output-on-failure

format:
	clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'bench/*.cpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
