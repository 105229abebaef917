# Atelier: `make serve` runs the app, `make test` runs every test. See README.md.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

# Build caches live outside the clone so fresh clones (CI) reuse them.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/atelier/target
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
export CHROMIUM ?= /usr/bin/chromium

.PHONY: setup serve dist test check-format lint native-test wasm-build browser-test bench clean

setup:
	scripts/setup.sh

serve: setup
	trunk serve

dist: setup
	trunk build --release

check-format:
	cargo fmt --all -- --check

lint:
	cargo clippy --all-targets --release -- -D warnings

native-test:
	cargo test --release

browser-test:
	node --test --test-concurrency=1 browser-tests/

test: setup check-format lint native-test dist browser-test

clean:
	rm -rf dist
