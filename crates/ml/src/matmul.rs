//! Matrix products of our own for the page (wasm SIMD128), under the convolution's three products
//! (`kernels`); natively the `gemm` crate keeps them (its AVX kernels are wider than these).
//! - [`Lhs`]: `c (+)= a x b` with `b` and `c` row-major. `a` is packed once in panels of [`MR`] rows,
//!   so the weights are packed once per batch, not once per image; `b` is read where it lies, [`NR`]
//!   columns at a time, and each step of the sum splats one value of `a` against two vectors of `b`.
//! - [`times_transposed_with`]: `c (+)= a x bᵀ` with both operands' rows along the sum (the weight
//!   gradient: the output's gradient times the patches), as dot products four lanes wide, so neither
//!   operand is copied.
//!
//! Why: gemm's wasm kernel keeps 12 accumulators plus its operands in flight, more than the 15 vector
//! registers V8 gives wasm on x86-64, and it packs both operands on every call (once per image here).
//! These keep 8 accumulators. Each entry point takes `own` (our product, or gemm's), and [`OWN`] says
//! which the build computes with. The same code runs natively on SSE registers (on x86-64; elsewhere on
//! plain four-float arrays), so the tests check it against gemm (BENCHMARKS.md, "A matrix product of our own for the page").

/// Rows of `a` per panel of the [`Lhs`] product.
pub const MR: usize = 4;
/// Columns of `b` per tile of the [`Lhs`] product: two vectors.
pub const NR: usize = 8;
/// Steps of the sum per pass over a block of `b`, so that the block stays in the first-level cache.
const KC: usize = 256;

/// Whether the products here run instead of gemm's (on the page).
pub const OWN: bool = cfg!(target_arch = "wasm32");

#[cfg(target_arch = "wasm32")]
mod lanes {
    use core::arch::wasm32::*;

    /// Four f32 lanes in one SIMD128 register.
    #[derive(Clone, Copy)]
    pub struct V(v128);

    impl V {
        #[inline(always)]
        pub fn zero() -> V {
            V(f32x4_splat(0.0))
        }
        /// # Safety
        /// `p` is valid for reading one f32.
        #[inline(always)]
        pub unsafe fn splat(p: *const f32) -> V {
            V(unsafe { v128_load32_splat(p as *const u32) })
        }
        /// # Safety
        /// `p` is valid for reading four f32.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            V(unsafe { v128_load(p as *const v128) })
        }
        /// # Safety
        /// `p` is valid for writing four f32.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            unsafe { v128_store(p as *mut v128, self.0) }
        }
        /// `self + a * b`, lane by lane (a multiply, then an add: no fused multiply-add in SIMD128).
        #[inline(always)]
        pub fn mul_add(self, a: V, b: V) -> V {
            V(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        pub fn add(self, o: V) -> V {
            V(f32x4_add(self.0, o.0))
        }
        /// The sum of the four lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            let v = self.0;
            (f32x4_extract_lane::<0>(v) + f32x4_extract_lane::<1>(v))
                + (f32x4_extract_lane::<2>(v) + f32x4_extract_lane::<3>(v))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod lanes {
    use core::arch::x86_64::*;

    /// Four f32 lanes in one SSE register (SSE2 is part of x86-64): the same arithmetic in the same
    /// order as on wasm, and about as fast per core, so a native profile shows the page's proportions.
    #[derive(Clone, Copy)]
    pub struct V(__m128);

    impl V {
        #[inline(always)]
        pub fn zero() -> V {
            V(unsafe { _mm_setzero_ps() })
        }
        /// # Safety
        /// `p` is valid for reading one f32.
        #[inline(always)]
        pub unsafe fn splat(p: *const f32) -> V {
            V(unsafe { _mm_set1_ps(*p) })
        }
        /// # Safety
        /// `p` is valid for reading four f32.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            V(unsafe { _mm_loadu_ps(p) })
        }
        /// # Safety
        /// `p` is valid for writing four f32.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            unsafe { _mm_storeu_ps(p, self.0) }
        }
        /// `self + a * b`, lane by lane, rounded after the product as on wasm.
        #[inline(always)]
        pub fn mul_add(self, a: V, b: V) -> V {
            V(unsafe { _mm_add_ps(self.0, _mm_mul_ps(a.0, b.0)) })
        }
        #[inline(always)]
        pub fn add(self, o: V) -> V {
            V(unsafe { _mm_add_ps(self.0, o.0) })
        }
        /// The sum of the four lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            let mut l = [0.0f32; 4];
            unsafe { _mm_storeu_ps(l.as_mut_ptr(), self.0) };
            (l[0] + l[1]) + (l[2] + l[3])
        }
    }
}

#[cfg(not(any(target_arch = "wasm32", target_arch = "x86_64")))]
mod lanes {
    /// Four f32 lanes, as plain floats: the same arithmetic in the same order as on wasm.
    #[derive(Clone, Copy)]
    pub struct V([f32; 4]);

    impl V {
        #[inline(always)]
        pub fn zero() -> V {
            V([0.0; 4])
        }
        /// # Safety
        /// `p` is valid for reading one f32.
        #[inline(always)]
        pub unsafe fn splat(p: *const f32) -> V {
            V([unsafe { *p }; 4])
        }
        /// # Safety
        /// `p` is valid for reading four f32.
        #[inline(always)]
        pub unsafe fn load(p: *const f32) -> V {
            V(unsafe { (p as *const [f32; 4]).read_unaligned() })
        }
        /// # Safety
        /// `p` is valid for writing four f32.
        #[inline(always)]
        pub unsafe fn store(self, p: *mut f32) {
            unsafe { (p as *mut [f32; 4]).write_unaligned(self.0) }
        }
        /// `self + a * b`, lane by lane, rounded after the product as on wasm.
        #[inline(always)]
        pub fn mul_add(self, a: V, b: V) -> V {
            V(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        #[inline(always)]
        pub fn add(self, o: V) -> V {
            V(std::array::from_fn(|i| self.0[i] + o.0[i]))
        }
        /// The sum of the four lanes.
        #[inline(always)]
        pub fn sum(self) -> f32 {
            (self.0[0] + self.0[1]) + (self.0[2] + self.0[3])
        }
    }
}

use lanes::V;

/// The left operand of `c (+)= a x b`, ready for many right operands.
pub struct Lhs<'a> {
    a: &'a [f32],
    m: usize,
    k: usize,
    /// Row and column strides of `a`.
    strides: (usize, usize),
    /// Panels of [`MR`] rows (the last padded with zeros), each `k` steps of [`MR`] values.
    packed: Option<Vec<f32>>,
}

impl<'a> Lhs<'a> {
    /// `a` is `m x k`, element `(i, p)` at `a[i * strides.0 + p * strides.1]`, multiplied by our
    /// product (`own`: packed here) or gemm's.
    pub fn with(
        a: &'a [f32],
        (m, k): (usize, usize),
        (rs, cs): (usize, usize),
        own: bool,
    ) -> Lhs<'a> {
        assert!(
            m == 0 || k == 0 || a.len() > (m - 1) * rs + (k - 1) * cs,
            "left operand size"
        );
        let packed = own.then(|| {
            let panels = m.div_ceil(MR);
            let mut data = vec![0.0f32; panels * k * MR];
            for (panel, block) in data
                .chunks_exact_mut((k * MR).max(1))
                .enumerate()
                .take(panels)
            {
                for r in 0..MR.min(m - panel * MR) {
                    let row = (panel * MR + r) * rs;
                    for (p, v) in block.iter_mut().skip(r).step_by(MR).enumerate() {
                        *v = a[row + p * cs];
                    }
                }
            }
            data
        });
        Lhs {
            a,
            m,
            k,
            strides: (rs, cs),
            packed,
        }
    }

    /// `c (+)= a x b`: `b` is `k x n` and `c` `m x n`, both row-major and contiguous.
    pub fn times(&self, b: &[f32], n: usize, c: &mut [f32], accumulate: bool) {
        let (m, k) = (self.m, self.k);
        assert!(b.len() >= k * n && c.len() >= m * n, "operand sizes");
        let Some(packed) = &self.packed else {
            let (rs, cs) = self.strides;
            // The strides address only elements inside the slices (checked above).
            unsafe { gemm_product(c, accumulate, (m, n, k), self.a, (cs, rs), b, (1, n)) };
            return;
        };
        if k == 0 {
            if !accumulate {
                c[..m * n].fill(0.0);
            }
            return;
        }
        // The last columns, copied into whole tiles padded with zeros.
        let mut tail = vec![
            0.0f32;
            if !n.is_multiple_of(NR) {
                KC.min(k) * NR
            } else {
                0
            }
        ];
        let mut out = [0.0f32; MR * NR];
        for k0 in (0..k).step_by(KC) {
            let kc = KC.min(k - k0);
            let add = accumulate || k0 > 0;
            for j0 in (0..n).step_by(NR) {
                let cols = NR.min(n - j0);
                let (bp, ldb) = if cols == NR {
                    (b[k0 * n + j0..].as_ptr(), n)
                } else {
                    for (p, row) in tail.chunks_exact_mut(NR).take(kc).enumerate() {
                        row[..cols].copy_from_slice(&b[(k0 + p) * n + j0..][..cols]);
                    }
                    (tail.as_ptr(), NR)
                };
                for (panel, a) in packed.chunks_exact(k * MR).enumerate() {
                    let rows = MR.min(m - panel * MR);
                    let a = a[k0 * MR..].as_ptr();
                    if rows == MR && cols == NR {
                        let c = c[panel * MR * n + j0..].as_mut_ptr();
                        // Safety: a holds kc steps of MR values, b kc rows of NR values ldb apart,
                        // c MR rows of NR values n apart (whole tiles: checked above).
                        unsafe { tile(kc, a, bp, ldb, c, n, add) };
                    } else {
                        // Safety: as above, with c the local tile.
                        unsafe { tile(kc, a, bp, ldb, out.as_mut_ptr(), NR, false) };
                        for r in 0..rows {
                            let dst = &mut c[(panel * MR + r) * n + j0..][..cols];
                            for (d, v) in dst.iter_mut().zip(&out[r * NR..]) {
                                *d = if add { *d + v } else { *v };
                            }
                        }
                    }
                }
            }
        }
    }
}

/// One tile of `c (+)= a x b`: [`MR`] rows by [`NR`] columns over `k` steps.
///
/// # Safety
/// `a` is valid for `k * MR` reads; `b` for `NR` reads at each of `k` rows `ldb` apart; `c` for
/// reading and writing `NR` values at each of [`MR`] rows `ldc` apart.
#[inline(always)]
unsafe fn tile(
    k: usize,
    a: *const f32,
    b: *const f32,
    ldb: usize,
    c: *mut f32,
    ldc: usize,
    add: bool,
) {
    let mut acc = [[V::zero(); 2]; MR];
    unsafe {
        let (mut a, mut b) = (a, b);
        for _ in 0..k {
            let (b0, b1) = (V::load(b), V::load(b.add(4)));
            for row in acc.iter_mut() {
                let s = V::splat(a);
                row[0] = row[0].mul_add(s, b0);
                row[1] = row[1].mul_add(s, b1);
                a = a.add(1);
            }
            b = b.add(ldb);
        }
        for (r, row) in acc.iter().enumerate() {
            for (h, v) in row.iter().enumerate() {
                let p = c.add(r * ldc + 4 * h);
                let v = if add { v.add(V::load(p)) } else { *v };
                v.store(p);
            }
        }
    }
}

/// `c (+)= a x bᵀ`: `a` is `m x k`, `b` `n x k` and `c` `m x n`, all row-major and contiguous; our
/// product (`own`) or gemm's.
pub fn times_transposed_with(
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
    c: &mut [f32],
    accumulate: bool,
    own: bool,
) {
    assert!(
        a.len() >= m * k && b.len() >= n * k && c.len() >= m * n,
        "operand sizes"
    );
    if !own {
        // The strides address only elements inside the slices (checked above).
        unsafe { gemm_product(c, accumulate, (m, n, k), a, (1, k), b, (k, 1)) };
        return;
    }
    let mut i = 0;
    while i < m {
        let rows = if m - i >= 4 { 4 } else { 1 };
        let mut j = 0;
        while j < n {
            let cols = if n - j >= 2 { 2 } else { 1 };
            let (a, b) = (&a[i * k..], &b[j * k..]);
            // Safety: rows of a and cols of b, k values each, lie inside the slices (checked above).
            let sums: [[f32; 2]; 4] = unsafe {
                match (rows, cols) {
                    (4, 2) => dots::<4, 2>(a, b, k),
                    (4, _) => dots::<4, 1>(a, b, k),
                    (_, 2) => dots::<1, 2>(a, b, k),
                    _ => dots::<1, 1>(a, b, k),
                }
            };
            for (r, row) in sums.iter().enumerate().take(rows) {
                for (s, v) in row.iter().enumerate().take(cols) {
                    let d = &mut c[(i + r) * n + j + s];
                    *d = if accumulate { *d + v } else { *v };
                }
            }
            j += cols;
        }
        i += rows;
    }
}

/// The dot products of `R` rows of `a` with `S` rows of `b`, `k` values each, rows `k` apart.
///
/// # Safety
/// `a` holds `R * k` values and `b` `S * k`.
#[inline(always)]
unsafe fn dots<const R: usize, const S: usize>(a: &[f32], b: &[f32], k: usize) -> [[f32; 2]; 4] {
    debug_assert!(a.len() >= R * k && b.len() >= S * k);
    let mut acc = [[V::zero(); S]; R];
    let (a, b) = (a.as_ptr(), b.as_ptr());
    let whole = k / 4 * 4;
    unsafe {
        let mut p = 0;
        while p < whole {
            let bs: [V; S] = std::array::from_fn(|s| V::load(b.add(s * k + p)));
            for (r, row) in acc.iter_mut().enumerate() {
                let x = V::load(a.add(r * k + p));
                for (v, y) in row.iter_mut().zip(&bs) {
                    *v = v.mul_add(x, *y);
                }
            }
            p += 4;
        }
        let mut out = [[0.0f32; 2]; 4];
        for r in 0..R {
            for s in 0..S {
                let mut sum = acc[r][s].sum();
                for p in whole..k {
                    sum += *a.add(r * k + p) * *b.add(s * k + p);
                }
                out[r][s] = sum;
            }
        }
        out
    }
}

/// gemm's product `dst (+)= lhs x rhs`, each operand given with its column and row strides.
///
/// # Safety
/// The strides address only elements inside the slices for an `m x k` times `k x n` product.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_product(
    dst: &mut [f32],
    accumulate: bool,
    (m, n, k): (usize, usize, usize),
    lhs: &[f32],
    (lhs_cs, lhs_rs): (usize, usize),
    rhs: &[f32],
    (rhs_cs, rhs_rs): (usize, usize),
) {
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
            .collect()
    }

    fn naive(
        a: &[f32],
        (ars, acs): (usize, usize),
        b: &[f32],
        (brs, bcs): (usize, usize),
        (m, n, k): (usize, usize, usize),
    ) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|p| a[i * ars + p * acs] * b[p * brs + j * bcs])
                    .sum();
            }
        }
        c
    }

    fn close(ours: &[f32], want: &[f32], what: &str) {
        assert_eq!(ours.len(), want.len(), "{what}: length");
        for (i, (x, y)) in ours.iter().zip(want).enumerate() {
            assert!(
                (x - y).abs() <= 1e-4 * (1.0 + y.abs()),
                "{what}[{i}]: {x} against {y}"
            );
        }
    }

    /// Shapes with every edge: rows not a multiple of MR, columns not of NR, sums longer than KC and
    /// not a multiple of 4, and the networks' own shapes.
    const SHAPES: [(usize, usize, usize); 9] = [
        (1, 1, 1),
        (3, 5, 7),
        (4, 8, 9),
        (32, 676, 9),
        (64, 576, 288),
        (9, 49, 64),
        (13, 21, 300),
        (6, 17, 513),
        (5, 3, 0),
    ];

    #[test]
    fn the_packed_product_matches_a_naive_one_and_gemms() {
        for (shape, &(m, n, k)) in SHAPES.iter().enumerate() {
            let b = filled(k * n, shape + 11);
            let start = filled(m * n, shape + 23);
            // a row-major, and a transposed (the input gradient's weights).
            for transposed in [false, true] {
                let a = filled(m * k, shape);
                let strides = if transposed { (1, m) } else { (k, 1) };
                let want = naive(&a, strides, &b, (n, 1), (m, n, k));
                for own in [true, false] {
                    let lhs = Lhs::with(&a, (m, k), strides, own);
                    let mut c = vec![f32::NAN; m * n];
                    lhs.times(&b, n, &mut c, false);
                    close(
                        &c,
                        &want,
                        &format!("{m}x{n}x{k} own {own} transposed {transposed}"),
                    );
                    let mut c = start.clone();
                    lhs.times(&b, n, &mut c, true);
                    let sum: Vec<f32> = start.iter().zip(&want).map(|(x, y)| x + y).collect();
                    close(&c, &sum, &format!("{m}x{n}x{k} own {own} accumulated"));
                }
            }
        }
    }

    #[test]
    fn the_transposed_product_matches_a_naive_one_and_gemms() {
        for (shape, &(m, n, k)) in SHAPES.iter().enumerate() {
            let a = filled(m * k, shape);
            let b = filled(n * k, shape + 5);
            let want = naive(&a, (k, 1), &b, (1, k), (m, n, k));
            let start = filled(m * n, shape + 9);
            for own in [true, false] {
                let mut c = vec![f32::NAN; m * n];
                times_transposed_with(&a, &b, (m, n, k), &mut c, false, own);
                close(&c, &want, &format!("{m}x{n}x{k} own {own}"));
                let mut c = start.clone();
                times_transposed_with(&a, &b, (m, n, k), &mut c, true, own);
                let sum: Vec<f32> = start.iter().zip(&want).map(|(x, y)| x + y).collect();
                close(&c, &sum, &format!("{m}x{n}x{k} own {own} accumulated"));
            }
        }
    }
}
