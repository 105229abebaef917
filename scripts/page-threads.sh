#!/usr/bin/env bash
# CPU time of each thread of the page's renderer while the reference CNN trains (not a test): starts a
# 2-epoch run through scripts/recipe-bench.mjs, waits 18 s, reads /proc/<pid>/task/*/stat over 5 s and
# prints each busy thread's ticks (100 a second: 500 is one whole core), then the run's samples/s.
# Usage: scripts/page-threads.sh [dist folder, default dist]
set -u
dist=${1:-dist}
cd "$(dirname "$0")/.."
log=$(mktemp)
ATELIER_DIST=$dist node scripts/recipe-bench.mjs quick 1 \
  "model=refcnn&epochs=2&train_size=12800&augment=0&test_size=1000&val=0" > "$log" 2>&1 &
run=$!
sleep 18
ticks() {
  for t in /proc/"$1"/task/*; do
    echo "$(basename "$t") $(tr ' ' _ < "$t"/comm) $(awk '{print $14+$15}' "$t"/stat)"
  done
}
for p in $(pgrep -f "type=renderer"); do
  grep -q DedicatedWorker /proc/"$p"/task/*/comm 2>/dev/null || continue
  before=$(ticks "$p")
  sleep 5
  join <(echo "$before") <(ticks "$p") | awk '{d=$5-$3; if (d>3) print $2, d}' | sort
done
wait "$run"
tail -2 "$log" | head -1 | grep -o '"train_samples_per_second":[0-9]*'
rm -f "$log"
