# Atelier: `make serve` runs the app, `make test` runs every test. See README.md.
SHELL := /bin/bash
.ONESHELL:
.SHELLFLAGS := -eu -o pipefail -c

# Build caches live outside the clone so fresh clones (CI) reuse them. The wasm build has its own folder so
# a native build (tests, clippy) and a wasm build (trunk) never wait on each other's lock.
export CARGO_TARGET_DIR ?= $(HOME)/.cache/atelier/target
WASM_TARGET_DIR ?= $(HOME)/.cache/atelier/wasm-target
export PATH := $(CURDIR)/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)
export TRUNK_SKIP_VERSION_CHECK := true
export CHROMIUM ?= /usr/bin/chromium

.PHONY: setup serve dist test check-format lint native-test browser-test bench clean

setup:
	scripts/setup.sh

serve: setup
	CARGO_TARGET_DIR=$(WASM_TARGET_DIR) trunk serve

dist: setup
	CARGO_TARGET_DIR=$(WASM_TARGET_DIR) trunk build --release

check-format:
	cargo fmt --all -- --check
	cargo fmt --manifest-path fuzz/Cargo.toml -- --check

# Clippy, and no import loop between the modules of a crate (the crates' own arrows the compiler keeps).
lint:
	python3 scripts/module-cycles.py
	cargo clippy --all-targets --release -- -D warnings
	cargo clippy --release --manifest-path fuzz/Cargo.toml -- -D warnings

# The cargo-fuzz targets build here (fuzzing itself is scripts/fuzz.sh, not part of the tests).
native-test:
	cargo test --release
	cargo build --release --manifest-path fuzz/Cargo.toml

browser-test:
	node --test --test-concurrency=1 browser-tests/

test: setup check-format lint native-test dist browser-test

# Speed in headless Chromium (not part of `make test`): the reference CNN on each backend, the CNN and the
# ResNet; one JSON line per figure, a dated row per run appended to BENCHMARKS.md.
bench: dist
	node scripts/bench-suite.mjs
	cargo run --release --bin bench -- --model refcnn --epochs 1 --train-size 6400 --no-augment --test-size 2000

clean:
	rm -rf dist
