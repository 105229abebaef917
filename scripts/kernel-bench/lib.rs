//! Exports for ../kernel-bench.mjs: each runs one of the convolution's products `reps` times on operands
//! of the given shape (filled once), ours or gemm's, and returns a checksum so that nothing is optimised away.

#[path = "../../crates/ml/src/matmul.rs"]
#[allow(dead_code)]
mod matmul;

fn filled(len: usize, seed: usize) -> Vec<f32> {
    (0..len)
        .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
        .collect()
}

/// The forward product (and the input gradient's, `transposed`): `c (+)= a x b`, `a` `m x k`, `b` `k x n`,
/// the left operand prepared once for all `reps` (as once per batch in the page).
#[unsafe(no_mangle)]
pub extern "C" fn forward(
    m: usize,
    n: usize,
    k: usize,
    reps: usize,
    own: bool,
    transposed: bool,
) -> f32 {
    let a = filled(m * k, 1);
    let b = filled(k * n, 2);
    let mut c = vec![0.0f32; m * n];
    let strides = if transposed { (1, m) } else { (k, 1) };
    let lhs = matmul::Lhs::with(&a, (m, k), strides, own);
    for _ in 0..reps {
        lhs.times(&b, n, &mut c, true);
    }
    c.iter().sum()
}

/// The weight gradient's product: `c += a x bᵀ`, `a` `m x k`, `b` `n x k`.
#[unsafe(no_mangle)]
pub extern "C" fn weight_gradient(m: usize, n: usize, k: usize, reps: usize, own: bool) -> f32 {
    let a = filled(m * k, 1);
    let b = filled(n * k, 2);
    let mut c = vec![0.0f32; m * n];
    for _ in 0..reps {
        matmul::times_transposed_with(&a, &b, (m, n, k), &mut c, true, own);
    }
    c.iter().sum()
}

/// The ceiling: `iters` rounds of 12 independent chains of a SIMD128 multiply then add (4 lanes each), with
/// no memory traffic; 96 flops a round.
#[unsafe(no_mangle)]
pub extern "C" fn peak(iters: usize, m: f32, c: f32) -> f32 {
    use core::arch::wasm32::*;
    let (m, c) = (f32x4_splat(m), f32x4_splat(c));
    let mut acc = [f32x4_splat(1.0); 12];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = f32x4_splat(1.0 + i as f32 / 16.0);
    }
    for _ in 0..iters {
        for a in acc.iter_mut() {
            *a = f32x4_add(f32x4_mul(*a, m), c);
        }
    }
    acc.iter().map(|a| f32x4_extract_lane::<0>(*a)).sum()
}
