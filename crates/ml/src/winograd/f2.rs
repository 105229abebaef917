//! F(2x2, 3x3): each 2x2 block of outputs from a 4x4 block of the input, 16 products: 2.25 times fewer
//! multiplications than im2col, with transforms of additions and halvings only (results within 2e-6
//! of im2col's scale).

use super::plan::{self, Plan, Tiling, padded_row, rows_of, rows_of_mut};

/// Outputs along each side of a tile.
const M: usize = 2;
/// Positions of a transformed 4x4 block.
const POSITIONS: usize = 16;

/// F(2x2, 3x3).
pub(crate) struct F2;

impl Tiling for F2 {
    const M: usize = M;
    const POSITIONS: usize = POSITIONS;

    fn transform_weights(weight: &[f32], oc: usize, c: usize) -> Vec<f32> {
        plan::transform_weights(weight, (oc, c), g3)
    }

    fn untransform_weights(du: &[f32], oc: usize, c: usize) -> Vec<f32> {
        plan::untransform_weights(du, (oc, c), gt4)
    }

    /// One image `[c, h, w]` transformed: `v` `[16][c][tiles]`, position `4 i + j` of `Bᵀ d B` for each
    /// tile's 4x4 block `d`.
    fn transform_input(image: &[f32], p: &Plan, (n, first): (usize, usize), v: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let plane_len = p.size[0] * p.size[1];
        let width = 2 * tc + 2;
        let mut rows = vec![0.0f32; 4 * width];
        let mut t = vec![0.0f32; 4 * width];
        for c in 0..p.channels {
            let plane = &image[c * plane_len..(c + 1) * plane_len];
            for ty in 0..tr {
                for (r, row) in rows.chunks_exact_mut(width).enumerate() {
                    padded_row(plane, p, 2 * ty + r, row);
                }
                // Bᵀ along the columns: the four rows of the block at once.
                let [r0, r1, r2, r3] = rows_of::<4>(&rows);
                let [t0, t1, t2, t3] = rows_of_mut::<4>(&mut t);
                for x in 0..width {
                    t0[x] = r0[x] - r2[x];
                    t1[x] = r1[x] + r2[x];
                    t2[x] = r2[x] - r1[x];
                    t3[x] = r1[x] - r3[x];
                }
                // Then along the rows, tile by tile.
                for (i, ti) in t.chunks_exact(width).enumerate() {
                    let at = |j: usize| ((i * 4 + j) * p.channels + c) * n + first + ty * tc;
                    let (a0, a1, a2, a3) = (at(0), at(1), at(2), at(3));
                    for tx in 0..tc {
                        let d = &ti[2 * tx..2 * tx + 4];
                        v[a0 + tx] = d[0] - d[2];
                        v[a1 + tx] = d[1] + d[2];
                        v[a2 + tx] = d[2] - d[1];
                        v[a3 + tx] = d[1] - d[3];
                    }
                }
            }
        }
    }

    /// Adds the adjoint of [`transform_input`] of `dv` `[16][c][tiles]` onto one image's gradient
    /// `[c, h, w]`: each tile's `B dV Bᵀ` added onto its (overlapping) 4x4 block, inside the image.
    fn untransform_input(dv: &[f32], p: &Plan, (n, first): (usize, usize), image: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [h, w] = p.size;
        let [top, left, _, _] = p.padding;
        let width = 2 * tc + 2;
        let mut t = vec![0.0f32; 4 * width];
        // Each tile's four columns of `B` along a row: the first two overlap the last two of the tile
        // before.
        let mut cols = vec![0.0f32; 4 * (tc + 1)];
        let plane_len = h * w;
        for c in 0..p.channels {
            let plane = &mut image[c * plane_len..(c + 1) * plane_len];
            for ty in 0..tr {
                for (i, ti) in t.chunks_exact_mut(width).enumerate() {
                    let at = |j: usize| {
                        &dv[((i * 4 + j) * p.channels + c) * n + first + ty * tc..][..tc]
                    };
                    let (v0, v1, v2, v3) = (at(0), at(1), at(2), at(3));
                    let [k0, k1, k2, k3] = rows_of_mut::<4>(&mut cols);
                    // k2 and k3 are shifted by one tile: entry 0 is the (absent) tile before the first.
                    k2[0] = 0.0;
                    k3[0] = 0.0;
                    for x in 0..tc {
                        k0[x] = v0[x];
                        k1[x] = v1[x] - v2[x] + v3[x];
                        k2[x + 1] = v1[x] + v2[x] - v0[x];
                        k3[x + 1] = -v3[x];
                    }
                    k0[tc] = 0.0;
                    k1[tc] = 0.0;
                    for x in 0..=tc {
                        ti[2 * x] = k0[x] + k2[x];
                        ti[2 * x + 1] = k1[x] + k3[x];
                    }
                }
                // Then along the columns, each row added onto the image where it lies inside.
                let [t0, t1, t2, t3] = rows_of::<4>(&t);
                let first = left.min(width);
                let last = (left + w).min(width);
                let (t0, t1, t2, t3) = (
                    &t0[first..last],
                    &t1[first..last],
                    &t2[first..last],
                    &t3[first..last],
                );
                for r in 0..4 {
                    let iy = (2 * ty + r).wrapping_sub(top);
                    if iy >= h {
                        continue;
                    }
                    let dst = &mut plane[iy * w..][..last - first];
                    match r {
                        0 => {
                            for (x, a) in dst.iter_mut().zip(t0) {
                                *x += a;
                            }
                        }
                        1 => {
                            for (x, ((a, b), c)) in dst.iter_mut().zip(t1.iter().zip(t2).zip(t3)) {
                                *x += a - b + c;
                            }
                        }
                        2 => {
                            for (x, ((a, b), c)) in dst.iter_mut().zip(t1.iter().zip(t2).zip(t0)) {
                                *x += a + b - c;
                            }
                        }
                        _ => {
                            for (x, a) in dst.iter_mut().zip(t3) {
                                *x -= a;
                            }
                        }
                    }
                }
            }
        }
    }

    /// Adds the products `m` `[16][oc][tiles]` transformed back, `Aᵀ M A` for each tile, onto one image's
    /// output `[oc, oh, ow]` (the half of an odd side's last tile that falls outside is dropped).
    fn transform_output(m: &[f32], p: &Plan, (n, first): (usize, usize), out: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [oh, ow] = p.output();
        let oc = p.out_channels;
        let width = 2 * tc;
        // `Aᵀ` along each of the block's four rows, tile by tile, interleaved back into two columns a tile.
        let mut rows = vec![0.0f32; 4 * width];
        for o in 0..oc {
            let plane = &mut out[o * oh * ow..(o + 1) * oh * ow];
            for ty in 0..tr {
                for (i, row) in rows.chunks_exact_mut(width).enumerate() {
                    let at = |j: usize| &m[((i * 4 + j) * oc + o) * n + first + ty * tc..][..tc];
                    let (m0, m1, m2, m3) = (at(0), at(1), at(2), at(3));
                    for (x, pair) in row.chunks_exact_mut(2).enumerate() {
                        pair[0] = m0[x] + m1[x] + m2[x];
                        pair[1] = m1[x] - m2[x] - m3[x];
                    }
                }
                // Then along the columns.
                let [h0, h1, h2, h3] = rows_of::<4>(&rows);
                let y = 2 * ty;
                let dst = &mut plane[y * ow..][..ow];
                for (x, ((a, b), c)) in dst.iter_mut().zip(h0.iter().zip(h1).zip(h2)) {
                    *x += a + b + c;
                }
                if y + 1 < oh {
                    let dst = &mut plane[(y + 1) * ow..][..ow];
                    for (x, ((a, b), c)) in dst.iter_mut().zip(h1.iter().zip(h2).zip(h3)) {
                        *x += a - b - c;
                    }
                }
            }
        }
    }

    /// The adjoint of [`transform_output`]: one image's output gradient `[oc, oh, ow]` as `dm`
    /// `[16][oc][tiles]`, `A dY Aᵀ` for each tile (zero beyond an odd side).
    fn transform_gradient(grad: &[f32], p: &Plan, (n, first): (usize, usize), dm: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [oh, ow] = p.output();
        let oc = p.out_channels;
        let width = 2 * tc;
        // The tile row's two output rows (zero beyond the output), then `A` along the columns: four rows.
        let mut y = vec![0.0f32; 2 * width];
        let mut cols = vec![0.0f32; 4 * width];
        for o in 0..oc {
            let plane = &grad[o * oh * ow..(o + 1) * oh * ow];
            for ty in 0..tr {
                for (a, row) in y.chunks_exact_mut(width).enumerate() {
                    let oy = 2 * ty + a;
                    if oy < oh {
                        row[..ow].copy_from_slice(&plane[oy * ow..][..ow]);
                        row[ow..].fill(0.0);
                    } else {
                        row.fill(0.0);
                    }
                }
                let (y0, y1) = y.split_at(width);
                let [c0, c1, c2, c3] = rows_of_mut::<4>(&mut cols);
                for x in 0..width {
                    c0[x] = y0[x];
                    c1[x] = y0[x] + y1[x];
                    c2[x] = y0[x] - y1[x];
                    c3[x] = -y1[x];
                }
                // Then along the rows, tile by tile.
                for (i, ci) in cols.chunks_exact(width).enumerate() {
                    let start = |j: usize| ((i * 4 + j) * oc + o) * n + first + ty * tc;
                    let pairs = || ci.chunks_exact(2);
                    for (d, pair) in dm[start(0)..][..tc].iter_mut().zip(pairs()) {
                        *d = pair[0];
                    }
                    for (d, pair) in dm[start(1)..][..tc].iter_mut().zip(pairs()) {
                        *d = pair[0] + pair[1];
                    }
                    for (d, pair) in dm[start(2)..][..tc].iter_mut().zip(pairs()) {
                        *d = pair[0] - pair[1];
                    }
                    for (d, pair) in dm[start(3)..][..tc].iter_mut().zip(pairs()) {
                        *d = -pair[1];
                    }
                }
            }
        }
    }
}

/// `G g` on one column of three: the weight transform.
#[inline(always)]
fn g3([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
}

/// `Gᵀ u`: the weight transform's adjoint.
#[inline(always)]
fn gt4([a, b, c, d]: [f32; 4]) -> [f32; 3] {
    [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d]
}
