#!/usr/bin/env bash
# The native bench on a GPU (burn's wgpu backend on Vulkan), as one prepared run that fits a short rental
# of a GPU machine. That machine needs no Rust toolchain and no network: it takes what the build machine
# made:
#   .gpu/bench.xz   the release `bench` binary, stripped and xz-compressed (under the 64 MiB the tree may carry)
#   .gpu/bench-autotune.xz  the same with burn's kernel autotuning (the `autotune` feature; the page has it off)
#   .gpu/data/*.gz  the four Fashion-MNIST files
#   .gl/*.deb       the Vulkan and GL loaders (the device image has the NVIDIA driver but no loader)
# scripts/gpu-bench-prepare.sh makes all three. Logs and a summary go to $OUT (./gpu-out by default).
#
# Order: a smoke run that names the adapter (and stops if it is not a real GPU); the throughput (warm-up
# apart, from the per-epoch clock) of the reference CNN and the ResNet-20 with the page's kernels (weight
# gradients as matrix products), with burn's direct weight gradient, at batch 256 and at twice the width;
# then with autotuning of the reference CNN, the CNN, the ResNet-20 and the ResNet-20 at twice the width;
# then full-data accuracy runs with the faster build, one after the other, most wanted first, each given
# its recipe's epochs or as many as the time left allows.
set -u
OUT=${OUT:-$PWD/gpu-out}
BUDGET=${BUDGET:-540} # seconds this script may take in all
mkdir -p "$OUT"
LOGS=/tmp/gpu-logs
rm -rf "$LOGS" && mkdir -p "$LOGS"
start=$(date +%s)
left() { echo $((BUDGET - ($(date +%s) - start))); }
say() { echo "$*" | tee -a "$OUT/summary.txt"; }
finish() {
  (cd "$LOGS" && tar czf "$OUT/logs.tgz" .)
  say "== done after $(($(date +%s) - start)) s"
  exit "${1:-0}"
}

for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
[ -f "$egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$egl
say "== $(date -u +%FT%TZ) $(nproc) CPUs; VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv 2>&1 |
  tee -a "$OUT/summary.txt"
unpack() { # .xz -> executable
  python3 -c 'import lzma, sys; sys.stdout.buffer.write(lzma.open(sys.argv[1]).read())' "$1" >"$2" &&
    chmod +x "$2"
}
unpack "${BENCH_XZ:-.gpu/bench.xz}" /tmp/bench || {
  say "no bench binary"
  finish 1
}
unpack "${BENCH_AUTOTUNE_XZ:-.gpu/bench-autotune.xz}" /tmp/bench-autotune || say "no autotune bench binary"

# Warm training samples/s of a run: its images per epoch over the second epoch's time on the epoch clock
# (the first holds shader compilation and autotuning). Empty when the log has no two epochs.
warm_rate() {
  awk 'match($0, /\[[0-9.]+ s\]$/) { clock[++n] = substr($0, RSTART + 1, RLENGTH - 4) }
       match($0, /"train_images":[0-9]+/) { images = substr($0, RSTART + 15, RLENGTH - 15) }
       END { if (n >= 2 && clock[2] + 0 > clock[1] + 0 && images) printf "%.0f", images / (clock[2] - clock[1]) }' "$1"
}

# bench NAME LIMIT ARGS...: one run (of $BIN, the page's build by default), its log in $LOGS/NAME.log, its
# JSON line and warm rate in results.jsonl.
bench() {
  local name=$1 limit=$2 t0 rc bin=${BIN:-/tmp/bench}
  shift 2
  t0=$(date +%s)
  [ -x "$bin" ] || {
    say "-- $name: no $bin; skipped"
    return 1
  }
  timeout "$limit" "$bin" --data .gpu/data --backend wgpu "$@" >"$LOGS/$name.log" 2>&1
  rc=$?
  local json warm
  json=$(grep '^{' "$LOGS/$name.log" | tail -n1)
  warm=$(warm_rate "$LOGS/$name.log")
  [ -n "$json" ] && echo "{\"run\":\"$name\",\"warm\":${warm:-null},\"result\":$json}" >>"$OUT/results.jsonl"
  say "-- $name: rc $rc after $(($(date +%s) - t0)) s (limit $limit) :: $(basename "$bin") $*"
  grep -E '^epoch|^wgpu adapter' "$LOGS/$name.log" | tail -n 4 | sed 's/^/   /' | tee -a "$OUT/summary.txt"
  [ -n "$json" ] && echo "   $json" | tee -a "$OUT/summary.txt"
  return $rc
}

bench smoke 120 --model refcnn --epochs 1 --train-size 640 --test-size 500 --val 0
if ! grep -q 'wgpu adapter' "$LOGS/smoke.log" || grep -qiE 'adapter: .*(llvmpipe|swiftshader|lavapipe)' "$LOGS/smoke.log"; then
  say "== no real GPU adapter; the log's end:"
  tail -n 15 "$LOGS/smoke.log" | tee -a "$OUT/summary.txt"
  finish 1
fi

# Throughput alone on the GPU: two epochs of 6,400 images each (100 batches of 64). First the page's build,
# whose convolutions' weight gradients are matrix products on a GPU, then the same with burn's direct
# weight-gradient kernel (`--wgrad direct`, what the page used until 2026-12-03: the H200 gave 2,909 and
# 547 samples/s with it, 2026-11-29), then burn's autotuned kernels.
speed() { # NAME ARGS...
  local name=$1
  shift
  bench "$name" 120 --epochs 2 --train-size 6400 --test-size 10000 --val 0 "$@"
}
speed refcnn-speed --model refcnn --no-augment
speed resnet-speed --model resnet --shift 0
speed refcnn-direct-speed --model refcnn --no-augment --wgrad direct
speed resnet-direct-speed --model resnet --shift 0 --wgrad direct
speed refcnn-b256-speed --model refcnn --no-augment --batch 256 --train-size 25600
speed resnet32-speed --model resnet --width 32 --shift 0
export BIN=/tmp/bench-autotune
speed refcnn-at-speed --model refcnn --no-augment
speed cnn-at-speed --model cnn
speed resnet-at-speed --model resnet --shift 0
speed resnet32-at-speed --model resnet --width 32 --shift 0
say "== alone, warm, samples/s: reference CNN $(warm_rate "$LOGS/refcnn-speed.log") (direct $(warm_rate "$LOGS/refcnn-direct-speed.log"), batch 256 $(warm_rate "$LOGS/refcnn-b256-speed.log")), ResNet-20 $(warm_rate "$LOGS/resnet-speed.log") (direct $(warm_rate "$LOGS/resnet-direct-speed.log")), width 32 $(warm_rate "$LOGS/resnet32-speed.log")"
cnn_rate=$(warm_rate "$LOGS/cnn-at-speed.log")
resnet_rate=$(warm_rate "$LOGS/resnet-at-speed.log")
wide_rate=$(warm_rate "$LOGS/resnet32-at-speed.log")
say "== alone, warm, autotuned: CNN ${cnn_rate:-?}, ResNet-20 ${resnet_rate:-?}, width 32 ${wide_rate:-?} samples/s"
# The accuracy runs take whichever build trained the wide ResNet faster.
page_wide=$(warm_rate "$LOGS/resnet32-speed.log")
if [ "${page_wide:-0}" -gt "${wide_rate:-0}" ]; then
  export BIN=/tmp/bench
  scale() { [ -n "$1" ] && [ "${wide_rate:-0}" -gt 0 ] && echo $(($1 * page_wide / wide_rate)); }
  cnn_rate=$(scale "$cnn_rate")
  resnet_rate=$(warm_rate "$LOGS/resnet-speed.log")
  wide_rate=$page_wide
  say "== the accuracy runs use the page's build (faster than autotuned on the wide ResNet)"
fi

# Full-data accuracy runs, one at a time: runs side by side time-slice the GPU and add nothing
# (BENCHMARKS.md, "On a real GPU"). Each gets its recipe's epochs, or as many as the time left allows.
full() { # NAME EPOCHS WARM_SAMPLES_PER_SECOND BENCH_ARGS...
  local name=$1 want=$2 rate=$3 room fits
  shift 3
  room=$(($(left) - 30))
  if [ "${rate:-0}" -le 0 ]; then
    say "-- $name: no warm figure; skipped"
    return
  fi
  # Epochs of 60,000 images that fit, with a tenth more for validation and the test evaluation.
  fits=$((room * rate * 10 / (60000 * 11)))
  if [ "$fits" -lt 1 ]; then
    say "-- $name: ${room} s left, less than an epoch; skipped"
    return
  fi
  if [ "$fits" -lt "$want" ]; then
    say "-- $name: only ${fits} of its ${want} epochs fit"
  else
    fits=$want
  fi
  bench "$name" "$room" "$@" --epochs "$fits"
}
full resnet32-full 10 "$wide_rate" --model resnet --width 32 --shift 0 --val 0
full resnet32-ls-full 10 "$wide_rate" --model resnet --width 32 --shift 0 --val 0 --smoothing 0.1
full resnet-full 10 "$resnet_rate" --model resnet --shift 0 --val 0
full cnn-full 10 "$cnn_rate" --model cnn
say "== results (run, test accuracy, samples/s, train seconds, epochs, warm samples/s):"
python3 - "$OUT/results.jsonl" <<'EOF' | tee -a "$OUT/summary.txt"
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    j = r["result"]
    warm = "" if r["warm"] is None else f'warm {r["warm"]}/s'
    print(f'{r["run"]:18} {j["test_accuracy"]:.4f} {j["samples_per_second"]:>8} {j["train_seconds"]:>8} {j["epochs_run"]:>3} {warm:>12}  {j.get("adapter")}')
EOF
finish 0
