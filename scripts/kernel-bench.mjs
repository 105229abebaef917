// The convolution's matrix products in wasm (SIMD128, as the page computes), ours against gemm's, on the
// networks' shapes, in Node's V8 (the engine Chromium runs the page with). One thread.
// Usage: node scripts/kernel-bench.mjs [seconds per figure, default 1]
// Builds scripts/kernel-bench (gemm only) into ~/.cache/atelier/kernel-bench-target.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = join(homedir(), ".cache/atelier/kernel-bench-target");
execFileSync("cargo", ["build", "--release", "--target", "wasm32-unknown-unknown",
  "--manifest-path", join(root, "scripts/kernel-bench/Cargo.toml")], {
  stdio: "inherit",
  env: { ...process.env, CARGO_TARGET_DIR: target, RUSTFLAGS: "-C target-feature=+simd128" },
});
const wasm = readFileSync(join(target, "wasm32-unknown-unknown/release/kernel_bench.wasm"));
const { instance } = await WebAssembly.instantiate(wasm, {});
const x = instance.exports;
const seconds = Number(process.argv[2] ?? 1);

// [what, m, n, k, kind]: the reference CNN's second convolution (32 -> 64 channels, 3x3, 26x26 -> 24x24)
// and first (1 -> 32, 28x28 -> 26x26), and a ResNet convolution (16 -> 16, 3x3, 28x28 padded).
const shapes = [
  ["refcnn conv2 forward", 64, 576, 288, "forward"],
  ["refcnn conv2 input gradient", 288, 576, 64, "transposed"],
  ["refcnn conv2 weight gradient", 64, 288, 576, "weight"],
  ["refcnn conv1 forward", 32, 676, 9, "forward"],
  ["refcnn conv1 weight gradient", 32, 9, 676, "weight"],
  ["resnet 16ch forward", 16, 784, 144, "forward"],
  ["resnet 16ch input gradient", 144, 784, 16, "transposed"],
  ["resnet 16ch weight gradient", 16, 144, 784, "weight"],
  ["resnet 64ch 7x7 forward", 64, 49, 576, "forward"],
];
const run = (kind, m, n, k, reps, own) => kind === "weight"
  ? x.weight_gradient(m, n, k, reps, own)
  : x.forward(m, n, k, reps, own, kind === "transposed");
// The ceiling of one core in this engine: independent SIMD128 multiplies and adds, no memory traffic.
x.peak(1000, 0.999, 0.001);
let ceiling = 0;
for (let i = 0; i < 4; i++) {
  const iters = 2e7, start = performance.now();
  x.peak(iters, 0.999, 0.001);
  ceiling = Math.max(ceiling, 96 * iters / ((performance.now() - start) / 1000) / 1e9);
}
console.log(`ceiling (SIMD128 multiply + add, one core, no memory traffic): ${ceiling.toFixed(1)} GFLOP/s`);
console.log("| product | m x n x k | gemm GFLOP/s | ours GFLOP/s | ours / gemm |");
console.log("|---|---|---|---|---|");
for (const [what, m, n, k, kind] of shapes) {
  const rate = {};
  for (const own of [0, 1, 0, 1]) {
    run(kind, m, n, k, 2, own);
    let reps = 1, t;
    for (;;) {
      const start = performance.now();
      run(kind, m, n, k, reps, own);
      t = (performance.now() - start) / 1000;
      if (t > seconds / 4) break;
      reps *= 2;
    }
    const r = 2 * m * n * k * reps / t / 1e9;
    rate[own] = Math.max(rate[own] ?? 0, r);
  }
  console.log(`| ${what} | ${m} x ${n} x ${k} | ${rate[0].toFixed(1)} | ${rate[1].toFixed(1)} | ${(rate[1] / rate[0]).toFixed(2)}x |`);
}
