//! F(4x4, 3x3): each 4x4 block of outputs from a 6x6 block of the input (interpolation points 0, ±1,
//! ±2 and infinity), 36 products: 4 times fewer multiplications than im2col. Its transforms' larger
//! coefficients (up to 8, and sixths and twenty-fourths) round more: results within ~2e-5 of
//! im2col's scale in single precision, as the F(4x4, 3x3) of cuDNN and NNPACK.

use super::plan::{self, Plan, Tiling, padded_row, rows_of, rows_of_mut};

/// Outputs along each side of a tile.
const M: usize = 4;
/// The side of a tile's input block and of its transformed form: `M + 3 - 1`.
const ALPHA: usize = M + 2;
/// Positions of a transformed block.
const POSITIONS: usize = ALPHA * ALPHA;

/// F(4x4, 3x3).
pub(crate) struct F4;

impl Tiling for F4 {
    const M: usize = M;
    const POSITIONS: usize = POSITIONS;

    fn transform_weights(weight: &[f32], oc: usize, c: usize) -> Vec<f32> {
        plan::transform_weights(weight, (oc, c), g_of)
    }

    fn untransform_weights(du: &[f32], oc: usize, c: usize) -> Vec<f32> {
        plan::untransform_weights(du, (oc, c), gt_of)
    }

    /// One image `[c, h, w]` transformed: `v` `[36][c][tiles]`, position `6 i + j` of `Bᵀ d B` for each
    /// tile's 6x6 block `d`.
    fn transform_input(image: &[f32], p: &Plan, (n, first): (usize, usize), v: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let plane_len = p.size[0] * p.size[1];
        let width = M * tc + 2;
        let mut rows = vec![0.0f32; ALPHA * width];
        let mut t = vec![0.0f32; ALPHA * width];
        for c in 0..p.channels {
            let plane = &image[c * plane_len..(c + 1) * plane_len];
            for ty in 0..tr {
                for (r, row) in rows.chunks_exact_mut(width).enumerate() {
                    padded_row(plane, p, M * ty + r, row);
                }
                // Bᵀ along the columns: the six rows of the block at once.
                down_columns(&rows, &mut t, bt_of);
                // Then along the rows, tile by tile.
                for (i, ti) in t.chunks_exact(width).enumerate() {
                    let at = |j: usize| ((i * ALPHA + j) * p.channels + c) * n + first + ty * tc;
                    let starts: [usize; ALPHA] = std::array::from_fn(at);
                    for tx in 0..tc {
                        let d = bt_of(std::array::from_fn(|k| ti[M * tx + k]));
                        for (&s, value) in starts.iter().zip(d) {
                            v[s + tx] = value;
                        }
                    }
                }
            }
        }
    }

    /// Adds the adjoint of [`transform_input`] of `dv` `[36][c][tiles]` onto one image's gradient
    /// `[c, h, w]`: each tile's `B dV Bᵀ` added onto its (overlapping) 6x6 block, inside the image.
    fn untransform_input(dv: &[f32], p: &Plan, (n, first): (usize, usize), image: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [h, w] = p.size;
        let [top, left, _, _] = p.padding;
        let width = M * tc + 2;
        let mut t = vec![0.0f32; ALPHA * width];
        let mut rows = vec![0.0f32; ALPHA * width];
        let plane_len = h * w;
        let (first_col, last_col) = (left.min(width), (left + w).min(width));
        for c in 0..p.channels {
            let plane = &mut image[c * plane_len..(c + 1) * plane_len];
            for ty in 0..tr {
                // `B` along the rows, tile by tile: each block's last two columns overlap the next one's
                // first two.
                for (i, ti) in t.chunks_exact_mut(width).enumerate() {
                    let at = |j: usize| {
                        &dv[((i * ALPHA + j) * p.channels + c) * n + first + ty * tc..][..tc]
                    };
                    let cols: [&[f32]; ALPHA] = std::array::from_fn(at);
                    ti.fill(0.0);
                    for tx in 0..tc {
                        let d = b_of(std::array::from_fn(|j| cols[j][tx]));
                        for (x, value) in ti[M * tx..M * tx + ALPHA].iter_mut().zip(d) {
                            *x += value;
                        }
                    }
                }
                // Then along the columns, each row added onto the image where it lies inside.
                down_columns(&t, &mut rows, b_of);
                for (r, row) in rows.chunks_exact(width).enumerate() {
                    let iy = (M * ty + r).wrapping_sub(top);
                    if iy >= h {
                        continue;
                    }
                    let dst = &mut plane[iy * w..][..last_col - first_col];
                    for (x, a) in dst.iter_mut().zip(&row[first_col..last_col]) {
                        *x += a;
                    }
                }
            }
        }
    }

    /// Adds the products `m` `[36][oc][tiles]` transformed back, `Aᵀ M A` for each tile, onto one image's
    /// output `[oc, oh, ow]` (the part of a last tile that falls outside is dropped).
    fn transform_output(m: &[f32], p: &Plan, (n, first): (usize, usize), out: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [oh, ow] = p.output();
        let oc = p.out_channels;
        let width = M * tc;
        // `Aᵀ` along each of the block's six rows, tile by tile, interleaved back into four columns a tile.
        let mut rows = vec![0.0f32; ALPHA * width];
        let mut done = vec![0.0f32; M * width];
        for o in 0..oc {
            let plane = &mut out[o * oh * ow..(o + 1) * oh * ow];
            for ty in 0..tr {
                for (i, row) in rows.chunks_exact_mut(width).enumerate() {
                    let at =
                        |j: usize| &m[((i * ALPHA + j) * oc + o) * n + first + ty * tc..][..tc];
                    let cols: [&[f32]; ALPHA] = std::array::from_fn(at);
                    for (x, quad) in row.chunks_exact_mut(M).enumerate() {
                        quad.copy_from_slice(&at_of(std::array::from_fn(|j| cols[j][x])));
                    }
                }
                // Then along the columns.
                down_columns(&rows, &mut done, at_of);
                for (r, row) in done.chunks_exact(width).enumerate() {
                    let y = M * ty + r;
                    if y >= oh {
                        break;
                    }
                    for (x, a) in plane[y * ow..][..ow].iter_mut().zip(row) {
                        *x += a;
                    }
                }
            }
        }
    }

    /// The adjoint of [`transform_output`]: one image's output gradient `[oc, oh, ow]` as `dm`
    /// `[36][oc][tiles]`, `A dY Aᵀ` for each tile (zero beyond the output).
    fn transform_gradient(grad: &[f32], p: &Plan, (n, first): (usize, usize), dm: &mut [f32]) {
        let [tr, tc] = p.tiles(M);
        let [oh, ow] = p.output();
        let oc = p.out_channels;
        let width = M * tc;
        // The tile row's four output rows (zero beyond the output), then `A` along the columns: six rows.
        let mut y = vec![0.0f32; M * width];
        let mut cols = vec![0.0f32; ALPHA * width];
        for o in 0..oc {
            let plane = &grad[o * oh * ow..(o + 1) * oh * ow];
            for ty in 0..tr {
                for (a, row) in y.chunks_exact_mut(width).enumerate() {
                    let oy = M * ty + a;
                    if oy < oh {
                        row[..ow].copy_from_slice(&plane[oy * ow..][..ow]);
                        row[ow..].fill(0.0);
                    } else {
                        row.fill(0.0);
                    }
                }
                down_columns(&y, &mut cols, a_of);
                // Then along the rows, tile by tile.
                for (i, ci) in cols.chunks_exact(width).enumerate() {
                    let starts: [usize; ALPHA] =
                        std::array::from_fn(|j| ((i * ALPHA + j) * oc + o) * n + first + ty * tc);
                    for (tx, quad) in ci.chunks_exact(M).enumerate() {
                        let d = a_of([quad[0], quad[1], quad[2], quad[3]]);
                        for (&s, value) in starts.iter().zip(d) {
                            dm[s + tx] = value;
                        }
                    }
                }
            }
        }
    }
}

/// `G g` on one column of three: the weight transform.
#[inline(always)]
fn g_of([a, b, c]: [f32; 3]) -> [f32; ALPHA] {
    let (s, d) = (a + c, b);
    [
        0.25 * a,
        -(s + d) / 6.0,
        -(s - d) / 6.0,
        a / 24.0 + b / 12.0 + c / 6.0,
        a / 24.0 - b / 12.0 + c / 6.0,
        c,
    ]
}

/// `Gᵀ u`: the weight transform's adjoint.
#[inline(always)]
fn gt_of([u0, u1, u2, u3, u4, u5]: [f32; ALPHA]) -> [f32; 3] {
    [
        0.25 * u0 - (u1 + u2) / 6.0 + (u3 + u4) / 24.0,
        (u2 - u1) / 6.0 + (u3 - u4) / 12.0,
        (u3 + u4 - u1 - u2) / 6.0 + u5,
    ]
}

/// `Bᵀ d` on one column of six: the input transform (points 0, ±1, ±2 and infinity).
#[inline(always)]
fn bt_of([d0, d1, d2, d3, d4, d5]: [f32; ALPHA]) -> [f32; ALPHA] {
    [
        4.0 * d0 - 5.0 * d2 + d4,
        d3 + d4 - 4.0 * (d1 + d2),
        d4 - d3 + 4.0 * (d1 - d2),
        d4 - d2 + 2.0 * (d3 - d1),
        d4 - d2 + 2.0 * (d1 - d3),
        4.0 * d1 - 5.0 * d3 + d5,
    ]
}

/// `B v`: the input transform's adjoint.
#[inline(always)]
fn b_of([v0, v1, v2, v3, v4, v5]: [f32; ALPHA]) -> [f32; ALPHA] {
    [
        4.0 * v0,
        4.0 * (v2 - v1 + v5) + 2.0 * (v4 - v3),
        -5.0 * v0 - 4.0 * (v1 + v2) - v3 - v4,
        v1 - v2 + 2.0 * (v3 - v4) - 5.0 * v5,
        v0 + v1 + v2 + v3 + v4,
        v5,
    ]
}

/// `Aᵀ m` on one column of six: the output transform.
#[inline(always)]
fn at_of([m0, m1, m2, m3, m4, m5]: [f32; ALPHA]) -> [f32; M] {
    let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
    [
        m0 + s12 + s34,
        d12 + 2.0 * d34,
        s12 + 4.0 * s34,
        d12 + 8.0 * d34 + m5,
    ]
}

/// `A y`: the output transform's adjoint.
#[inline(always)]
fn a_of([y0, y1, y2, y3]: [f32; M]) -> [f32; ALPHA] {
    let (e, o) = (y0 + y2, y1 + y3);
    let (e2, o2) = (y0 + 4.0 * y2, 2.0 * y1 + 8.0 * y3);
    [y0, e + o, e - o, e2 + o2, e2 - o2, y3]
}

/// `f` applied down the columns of `N` rows (each column's `N` values in, `K` out), row passes that
/// vectorise.
#[inline(always)]
fn down_columns<const N: usize, const K: usize>(
    input: &[f32],
    output: &mut [f32],
    f: impl Fn([f32; N]) -> [f32; K],
) {
    let rows: [&[f32]; N] = rows_of(input);
    let mut out: [&mut [f32]; K] = rows_of_mut(output);
    for x in 0..rows[0].len() {
        let column = f(std::array::from_fn(|i| rows[i][x]));
        for (o, v) in out.iter_mut().zip(column) {
            o[x] = v;
        }
    }
}
