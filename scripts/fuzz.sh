#!/bin/sh
# A longer bounded fuzzing campaign of the readers of outside bytes (IDX files, model files, pictures):
# the mutation tests of tests/fuzz_inputs.rs with a bigger budget. Usage: scripts/fuzz.sh [iterations]
set -e
ITERATIONS="${1:-200000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/atelier/target}"
echo "fuzz: $ITERATIONS mutated inputs per target"
ATELIER_FUZZ_ITERATIONS="$ITERATIONS" cargo test --release --test fuzz_inputs -- --test-threads=1
