//! Element-wise helpers for the CPU kernels, written so that the compiler vectorises them on wasm too.

/// The sum of `values` in 8 running sums, which the compiler can keep in one vector register (a single
/// running sum is a chain of dependent additions, 4 cycles each).
pub fn sum(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks = values.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// ReLU in place. A select, not `f32::max`: its NaN rule keeps LLVM from vectorising it on wasm.
pub fn relu(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v = if *v > 0.0 { *v } else { 0.0 };
    }
}
