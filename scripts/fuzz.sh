#!/bin/sh
# Bounded fuzzing of the readers of outside bytes. Usage: scripts/fuzz.sh [seconds per cargo-fuzz target]
# 1. cargo-fuzz (libFuzzer + AddressSanitizer, nightly Rust): the IDX reader and the picture pipeline, the
#    app's own source files compiled into fuzz/ (see fuzz/Cargo.toml). Seeds in fuzz/seeds, the growing
#    corpus and any crash under ~/.cache/atelier/fuzz-* (outside the clone).
# 2. The seeded mutation tests of crates/ml/tests/fuzz_inputs.rs with a bigger budget: they also cover the model
#    files, which need burn (too slow to rebuild with sanitizers here).
set -eu
SECONDS_PER_TARGET="${1:-60}"
cd "$(dirname "$0")/.."
CACHE="$HOME/.cache/atelier"
if ! rustup toolchain list | grep -q '^nightly'; then rustup toolchain install nightly --profile minimal; fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then cargo +nightly install cargo-fuzz --locked; fi
for target in idx preprocess; do
  corpus="$CACHE/fuzz-corpus/$target"
  mkdir -p "$corpus" "$CACHE/fuzz-artifacts/$target"
  cp -n fuzz/seeds/"$target"/* "$corpus"/ 2>/dev/null || true
  echo "cargo-fuzz: $target for $SECONDS_PER_TARGET s"
  CARGO_TARGET_DIR="$CACHE/fuzz-target" cargo +nightly fuzz run "$target" "$corpus" -- \
    -max_total_time="$SECONDS_PER_TARGET" -artifact_prefix="$CACHE/fuzz-artifacts/$target/" -print_final_stats=1 2>&1 \
    | grep -E 'stat::number_of_executed_units|stat::peak_rss|Done [0-9]+ runs|ERROR|SUMMARY|panicked' || true
  if ls "$CACHE/fuzz-artifacts/$target"/crash-* >/dev/null 2>&1; then
    echo "cargo-fuzz: $target crashed; inputs in $CACHE/fuzz-artifacts/$target" >&2
    exit 1
  fi
done
ITERATIONS=200000
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$CACHE/target}"
echo "mutation tests: $ITERATIONS mutated inputs per target"
ATELIER_FUZZ_ITERATIONS="$ITERATIONS" cargo test --release -p atelier-ml --test fuzz_inputs -- --test-threads=1
