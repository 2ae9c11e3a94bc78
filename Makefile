# WindowRelay: build, run and test on Debian 12 with Swift 6 at /opt/swift.
#
#   make deps    install the Debian packages the build and the tests need (only the missing ones)
#   make build   swift build (debug)
#   make run     build and serve config/relay.yaml (plain ws:// on port 8443)
#   make test    swift test, then the Python end-to-end tests against the built binary
#   make certs   development CA and server certificate in certs/ (for tests only)
#   make bench   release build, then WindowRelay beside the C reference relays (docs/benchmarks.md)
#
# Pass SWIFT_FLAGS to use another build folder, e.g. make build SWIFT_FLAGS="--scratch-path .build-me".

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Swift: the one on PATH, else the toolchain at /opt/swift.
export PATH := $(PATH):/opt/swift/usr/bin

SWIFT_FLAGS ?=
CONFIG ?= config/relay.yaml
PYTHON ?= python3
VENV := .venv
E2E := Tests/e2e

# Debian packages: C libraries and pkg-config for the build (libsqlite3-dev for GRDB; libev-dev and
# lws's libev plugin, libwebsockets-evlib-ev, for the epoll service loop), opus-tools
# (opusinfo, opusdec) and the libwebsockets test server for the tests, python3-venv for the e2e
# virtualenv, openssl for certs.
DEB_PACKAGES := libwebsockets-dev libwebsockets-evlib-ev libev-dev libopus-dev libssl-dev libsqlite3-dev pkg-config opus-tools python3-venv \
	libwebsockets-test-server openssl

# sudo only when not root (CI and the development machines run as root).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: help deps venv build run test certs lint clean fuzz soak bench bench-extra bench-report release

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{ printf "  make %-12s %s\n", $$1, $$2 }'

deps: ## install the missing Debian packages (apt-get update only when something is missing)
	@missing=(); \
	for package in $(DEB_PACKAGES); do \
		dpkg -s "$$package" 2>/dev/null | grep -q '^Status: install ok installed' || missing+=("$$package"); \
	done; \
	if (( $${#missing[@]} )); then \
		echo "deps: installing $${missing[*]}"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$${missing[@]}"; \
	fi

# The virtualenv of the e2e tests, refreshed when requirements.txt changes (the stamp is older).
venv: $(VENV)/.requirements.stamp ## Python virtualenv for the e2e tests

$(VENV)/.requirements.stamp: $(E2E)/requirements.txt | deps
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r $(E2E)/requirements.txt
	touch $@

build: deps ## swift build (debug)
	swift build -c debug $(SWIFT_FLAGS)

run: deps build ## serve config/relay.yaml (or CONFIG=FILE): plain ws:// unless TLS is configured
	swift run $(SWIFT_FLAGS) windowrelay serve --config $(CONFIG)

# The e2e tests start the built binary themselves (WINDOWRELAY_BIN); pytest's exit code 5 (no test
# collected) is an error here: the e2e folder always has tests.
# Both suites run even when the first fails; the failures are repeated at the very end, where a
# CI log that keeps only its tail still shows them.
test: deps venv build lint ## swift test, then the e2e tests (pytest) against the built binary
	@mkdir -p test-results; status=0; \
	set -o pipefail; \
	swift test --no-parallel $(SWIFT_FLAGS) 2>&1 | tee test-results/swift.log || status=1; \
	WINDOWRELAY_BIN="$$(swift build -c debug $(SWIFT_FLAGS) --show-bin-path)/windowrelay" \
		$(VENV)/bin/python -m pytest -q -rfE $(E2E) 2>&1 | tee test-results/e2e.log || status=1; \
	if (( status )); then \
		echo "=== failures (full logs in test-results/) ==="; \
		grep -E '✘|recorded an issue|error:|Fatal error|FAILED|ERROR' test-results/swift.log test-results/e2e.log | head -60; \
	fi; \
	exit $$status

# libFuzzer on the parsers (Fuzz/, a package of its own): FUZZ_SECONDS each. New inputs go to
# Fuzz/corpus/NAME, crashes to Fuzz/crashes/ (a crash found becomes a regression test).
FUZZ_SECONDS ?= 60
FUZZERS := FuzzBinaryFrame FuzzJSONRequest FuzzToken FuzzOggWriter FuzzConfig
fuzz: deps ## run each libFuzzer target for FUZZ_SECONDS (default 60)
	swift build --package-path Fuzz -c debug -Xswiftc -sanitize=fuzzer,address
	@mkdir -p Fuzz/crashes; status=0; \
	for fuzzer in $(FUZZERS); do \
		mkdir -p Fuzz/corpus/$$fuzzer; \
		echo "== $$fuzzer ($(FUZZ_SECONDS) s)"; \
		Fuzz/.build/debug/$$fuzzer -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=Fuzz/crashes/$$fuzzer- Fuzz/corpus/$$fuzzer Fuzz/seeds/$$fuzzer \
			> Fuzz/crashes/$$fuzzer.log 2>&1 || { status=1; echo "$$fuzzer FAILED: see Fuzz/crashes/$$fuzzer.log"; }; \
		grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb|^#[0-9]+.*DONE' Fuzz/crashes/$$fuzzer.log; \
	done; exit $$status

# A bounded soak (SOAK_MINUTES, 300 sessions of audio plus uploads) of a release build; RSS must
# stay flat after the warm-up. Results in bench-out/soak.json; docs/reliability.md has the latest.
SOAK_MINUTES ?= 10
soak: release venv ## 300 sessions with audio and uploads for SOAK_MINUTES (default 10); RSS must stay flat
	ulimit -n $$(ulimit -Hn); $(VENV)/bin/python scripts/soak.py --bin $(BENCH_SCRATCH)/release/windowrelay \
		--minutes $(SOAK_MINUTES)

certs: ## development CA and server certificate (localhost, 127.0.0.1) in certs/; kept while valid
	@if [ -f certs/dev-server.key ] && [ -f certs/dev-ca.key ] \
		&& openssl x509 -in certs/dev-server.crt -noout -checkend 2592000 >/dev/null 2>&1 \
		&& openssl verify -CAfile certs/dev-ca.crt certs/dev-server.crt >/dev/null 2>&1; then \
		echo "certs: certs/dev-ca.crt and certs/dev-server.crt are present and valid for 30 days at least"; \
	else \
		scripts/make-dev-certs.sh certs; \
	fi

# Benchmarks (docs/benchmarks.md): a release build in its own folder, the plain C reference relay,
# and scripts/bench.py, which pins every server to CPU 0 and the generator to CPU 1 and waits for
# builds to finish before each run. Results in bench-out/ (not committed).
BENCH_SCRATCH ?= .build-bench
BENCH_OUT := bench-out
C_RELAY := $(BENCH_OUT)/bin/c-relay

release: deps
	swift build -c release --scratch-path $(BENCH_SCRATCH) --product windowrelay

$(C_RELAY): bench/c-relay/c-relay.c | deps
	@mkdir -p $(dir $@)
	cc -O2 -Wall -Wextra -o $@ $< $$(pkg-config --cflags --libs libwebsockets) -lev

bench: release $(C_RELAY) ## audio through WindowRelay, the C relay (libev, poll), lws-mirror (~6.5 min)
	ulimit -n 20000; $(PYTHON) scripts/bench.py run --fresh --bin $(BENCH_SCRATCH)/release/windowrelay --c-relay $(C_RELAY)
	$(PYTHON) scripts/bench-report.py $(BENCH_OUT)/results.json --svg docs/benchmarks.svg --table $(BENCH_OUT)/table.md \
		--doc docs/benchmarks.md

bench-extra: release ## idle memory at 5,000 connections, start-up time empty and with 10,000 sessions
	ulimit -n 20000; $(PYTHON) scripts/bench.py extra --bin $(BENCH_SCRATCH)/release/windowrelay
	$(PYTHON) scripts/bench-report.py $(BENCH_OUT)/results.json --svg docs/benchmarks.svg --table $(BENCH_OUT)/table.md \
		--doc docs/benchmarks.md

lint: ## swift format lint (warnings only; skipped when swift format is not available)
	@if [ ! -f .swift-format ]; then \
		echo "lint: no .swift-format, skipped"; \
	elif ! swift format --version >/dev/null 2>&1; then \
		echo "lint: swift format is not available, skipped"; \
	else \
		swift format lint --parallel -r Sources Tests; \
	fi

clean: ## remove build products and the virtualenv (keeps data/ and certs/)
	rm -rf .build $(VENV) test-results
	find Tests -name __pycache__ -type d -prune -exec rm -rf {} +
