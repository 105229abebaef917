//! 3x3 convolutions with stride 1 by Winograd's minimal filtering F(4x4, 3x3) (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016), forward and backward, on the CPU backend.
//!
//! Each 4x4 block of outputs (a "tile") comes from a 6x6 block `d` of the input as
//! `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A` (interpolation points 0, ±1, ±2 and infinity). Summed over the input
//! channels, the element-wise product becomes one matrix product for each of the 36 positions of the
//! 6x6 block: the transformed weights `[out_channels x channels]` times the transformed input
//! `[channels x tiles]`. A tile and channel pair thus costs 36 multiplications where im2col's product
//! spends 16 x 9 = 144: 4 times fewer (F(2x2, 3x3), which this replaced, 2.25 times).
//! The backward pass is the adjoint of the same steps (each is linear): the output's gradient is
//! transformed by `A`, then multiplied by the transformed weights transposed (the input gradient,
//! transformed back by `B` and added onto the overlapping input blocks) and by the transformed input
//! (the weight gradient, transformed back by `Gᵀ`). All three products of a training step shrink by
//! 4x; the transforms are row passes of a few additions and small multiples.
//!
//! Rounding: the transforms' larger coefficients (up to 8, and sixths and twenty-fourths) make the
//! results differ from im2col's by up to ~2e-5 of their scale in single precision (F(2x2, 3x3):
//! 2e-6), as with the F(4x4, 3x3) of cuDNN and NNPACK; the tests hold them within 5e-5.
//!
//! The products are [`crate::matmul`]'s (ours on the page, gemm natively). `kernels` takes this path for 3x3,
//! stride-1 convolutions with enough channels on both sides ([`applies`]); the first layer of a network
//! on grey images (one channel) keeps im2col, whose product is then too thin.

use std::cell::RefCell;

use crate::matmul::{Lhs, times_transposed_with};
use crate::vectors::{self, sum};

/// Outputs along each side of a tile.
const M: usize = 4;
/// The side of a tile's input block and of its transformed form: `M + 3 - 1`.
const ALPHA: usize = M + 2;
/// Positions of a transformed block.
const POSITIONS: usize = ALPHA * ALPHA;

/// The fewest input and output channels for which this path is taken: under it the 36 products are
/// too thin to beat im2col's one.
pub const MIN_CHANNELS: usize = 8;

/// The fewest tiles (columns of each product) a group of images gives, where the batch allows: a
/// 24x24 output (36 tiles) takes 4 images together, a 7x7 one (4 tiles) 32.
const GROUP_COLUMNS: usize = 128;

thread_local! {
    /// Work buffers kept from one call to the next (the transformed input and products: a few MB).
    /// Allocated afresh each call, they cost more than the transforms natively (glibc hands such
    /// sizes back to the system and faults them in again: 24% of a training step in page faults).
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A work buffer of `len` values holding whatever its last user left: each user here writes all of
/// it before reading it. Hand it back with [`keep`].
fn scratch(len: usize) -> Vec<f32> {
    let mut buffer = SCRATCH.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    buffer.resize(len, 0.0);
    buffer
}

/// Keeps work buffers for the next call.
fn keep(buffers: impl IntoIterator<Item = Vec<f32>>) {
    SCRATCH.with(|s| s.borrow_mut().extend(buffers));
}

/// A 3x3, stride-1 convolution's sizes over a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub batch: usize,
    pub channels: usize,
    /// Input height and width.
    pub size: [usize; 2],
    pub out_channels: usize,
    /// Top, left, bottom, right.
    pub padding: [usize; 4],
}

impl Plan {
    fn output(&self) -> [usize; 2] {
        let [t, l, b, r] = self.padding;
        [
            (self.size[0] + t + b).saturating_sub(2),
            (self.size[1] + l + r).saturating_sub(2),
        ]
    }

    /// Images transformed together, so that each product has at least [`GROUP_COLUMNS`] columns
    /// (tiles) where the batch allows.
    fn group(&self) -> usize {
        let [tr, tc] = self.tiles();
        GROUP_COLUMNS
            .div_ceil((tr * tc).max(1))
            .clamp(1, self.batch.max(1))
    }

    /// Tile rows and columns (on a side that is not a multiple of 4, the last tile partly used).
    fn tiles(&self) -> [usize; 2] {
        let [oh, ow] = self.output();
        [oh.div_ceil(M), ow.div_ceil(M)]
    }

    /// Checks the input's and the weight's sizes; the lengths of one image's parts.
    fn check(&self, input: &[f32], weight: &[f32]) -> Lengths {
        let [tr, tc] = self.tiles();
        let [oh, ow] = self.output();
        let image = self.channels * self.size[0] * self.size[1];
        assert_eq!(input.len(), self.batch * image, "input size");
        assert_eq!(
            weight.len(),
            self.out_channels * self.channels * 9,
            "weight size"
        );
        Lengths {
            tiles: tr * tc,
            image,
            output: self.out_channels * oh * ow,
        }
    }
}

/// One image's tiles, input values and output values.
struct Lengths {
    tiles: usize,
    image: usize,
    output: usize,
}

/// Whether a convolution with these sizes takes this path.
pub fn applies(
    kernel: [usize; 2],
    stride: [usize; 2],
    channels: usize,
    out_channels: usize,
) -> bool {
    kernel == [3, 3] && stride == [1, 1] && channels >= MIN_CHANNELS && out_channels >= MIN_CHANNELS
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

/// The weights `[oc, c, 3, 3]` transformed: `[36][oc][c]`, position `6 i + j` of `G g Gᵀ`.
fn transform_weights(weight: &[f32], oc: usize, c: usize) -> Vec<f32> {
    let mut u = vec![0.0f32; POSITIONS * oc * c];
    for (k, g) in weight.chunks_exact(9).enumerate().take(oc * c) {
        // Columns first (over the kernel's rows), then rows.
        let cols: [[f32; ALPHA]; 3] = std::array::from_fn(|j| g_of([g[j], g[3 + j], g[6 + j]]));
        for i in 0..ALPHA {
            let row = g_of([cols[0][i], cols[1][i], cols[2][i]]);
            for (j, v) in row.into_iter().enumerate() {
                u[(i * ALPHA + j) * oc * c + k] = v;
            }
        }
    }
    u
}

/// The weight gradient from its transformed form `[36][oc][c]`: `Gᵀ dU G` for each pair, `[oc, c, 3, 3]`.
fn untransform_weights(du: &[f32], oc: usize, c: usize) -> Vec<f32> {
    let mut grad = vec![0.0f32; oc * c * 9];
    for (k, g) in grad.chunks_exact_mut(9).enumerate() {
        let block: [[f32; ALPHA]; ALPHA] =
            std::array::from_fn(|i| std::array::from_fn(|j| du[(i * ALPHA + j) * oc * c + k]));
        // Rows first, then columns.
        let rows: [[f32; 3]; ALPHA] = std::array::from_fn(|i| gt_of(block[i]));
        for q in 0..3 {
            let col = gt_of(std::array::from_fn(|i| rows[i][q]));
            for (p, v) in col.into_iter().enumerate() {
                g[p * 3 + q] = v;
            }
        }
    }
    grad
}

/// A buffer of `N` rows as its rows.
fn rows_of<const N: usize>(buf: &[f32]) -> [&[f32]; N] {
    let width = buf.len() / N;
    std::array::from_fn(|i| &buf[i * width..(i + 1) * width])
}

/// [`rows_of`], mutable.
fn rows_of_mut<const N: usize>(buf: &mut [f32]) -> [&mut [f32]; N] {
    let width = buf.len() / N;
    let mut rows = buf.chunks_exact_mut(width);
    std::array::from_fn(|_| rows.next().expect("N rows"))
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

/// Reads input row `y` (of the padded image's frame: row `y - top` of the plane, zero outside) from
/// padded column 0, `row.len()` values.
fn padded_row(plane: &[f32], p: &Plan, y: usize, row: &mut [f32]) {
    let [h, w] = p.size;
    let [top, left, _, _] = p.padding;
    let iy = y.wrapping_sub(top);
    if iy >= h {
        row.fill(0.0);
        return;
    }
    let src = &plane[iy * w..(iy + 1) * w];
    let first = left.min(row.len());
    let last = (left + w).min(row.len());
    row[..first].fill(0.0);
    row[first..last].copy_from_slice(&src[..last - first]);
    row[last..].fill(0.0);
}

/// One image `[c, h, w]` transformed: `v` `[36][c][tiles]`, position `6 i + j` of `Bᵀ d B` for each
/// tile's 6x6 block `d`.
fn transform_input(image: &[f32], p: &Plan, (n, first): (usize, usize), v: &mut [f32]) {
    let [tr, tc] = p.tiles();
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
    let [tr, tc] = p.tiles();
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
    let [tr, tc] = p.tiles();
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
                let at = |j: usize| &m[((i * ALPHA + j) * oc + o) * n + first + ty * tc..][..tc];
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
    let [tr, tc] = p.tiles();
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

/// The convolution plus a bias per output channel, then ReLU if asked: `input` `[batch, c, h, w]`,
/// `weight` `[oc, c, 3, 3]`, the result `[batch, oc, oh, ow]`; our products (`own`) or gemm's.
pub fn forward(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    p: &Plan,
    relu: bool,
    own: bool,
) -> Vec<f32> {
    let Lengths {
        tiles,
        image: image_len,
        output: out_len,
    } = p.check(input, weight);
    let (c, oc) = (p.channels, p.out_channels);
    let [oh, ow] = p.output();
    assert_eq!(bias.len(), oc, "bias size");
    let u = transform_weights(weight, oc, c);
    let lhs: Vec<Lhs> = u
        .chunks_exact(oc * c)
        .map(|u| Lhs::with(u, (oc, c), (c, 1), own))
        .collect();
    let group = p.group();
    // Both written whole for each group before they are read.
    let mut v = scratch(POSITIONS * c * group * tiles);
    let mut m = scratch(POSITIONS * oc * group * tiles);
    let mut output = vec![0.0f32; p.batch * out_len];
    for (images, outs) in input
        .chunks(group * image_len)
        .zip(output.chunks_mut(group * out_len))
    {
        let n = images.len() / image_len * tiles;
        for (g, image) in images.chunks_exact(image_len).enumerate() {
            transform_input(image, p, (n, g * tiles), &mut v);
        }
        for ((lhs, v), m) in lhs
            .iter()
            .zip(v.chunks_exact(c * n))
            .zip(m.chunks_exact_mut(oc * n))
        {
            lhs.times(v, n, m, false);
        }
        for (g, out) in outs.chunks_exact_mut(out_len).enumerate() {
            for (row, b) in out.chunks_exact_mut(oh * ow).zip(bias) {
                row.fill(*b);
            }
            transform_output(&m, p, (n, g * tiles), out);
            if relu {
                vectors::relu(out);
            }
        }
    }
    keep([v, m]);
    output
}

/// The gradients of [`forward`] (without ReLU) from the output's gradient `grad`: of the input (left
/// empty unless `input_gradient`), the weight and the bias; our products (`own`) or gemm's.
pub fn backward(
    input: &[f32],
    weight: &[f32],
    grad: &[f32],
    p: &Plan,
    (own, input_gradient): (bool, bool),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let Lengths {
        tiles,
        image: image_len,
        output: out_len,
    } = p.check(input, weight);
    let (c, oc) = (p.channels, p.out_channels);
    let [oh, ow] = p.output();
    assert_eq!(grad.len(), p.batch * out_len, "gradient size");
    let u = transform_weights(weight, oc, c);
    // Each position's weights transposed, `[c x oc]`, for the input gradient.
    let transposed: Vec<Lhs> = if input_gradient {
        u.chunks_exact(oc * c)
            .map(|u| Lhs::with(u, (c, oc), (1, c), own))
            .collect()
    } else {
        Vec::new()
    };
    let group = p.group();
    // Written whole for each group before they are read.
    let mut v = scratch(POSITIONS * c * group * tiles);
    let mut dv = scratch(if input_gradient { v.len() } else { 0 });
    let mut dm = scratch(POSITIONS * oc * group * tiles);
    let mut du = vec![0.0f32; POSITIONS * oc * c];
    let mut grad_input = vec![0.0f32; if input_gradient { input.len() } else { 0 }];
    let mut grad_bias = vec![0.0f32; oc];
    for (k, (images, grads)) in input
        .chunks(group * image_len)
        .zip(grad.chunks(group * out_len))
        .enumerate()
    {
        let n = images.len() / image_len * tiles;
        for (g, (image, grad)) in images
            .chunks_exact(image_len)
            .zip(grads.chunks_exact(out_len))
            .enumerate()
        {
            for (o, row) in grad.chunks_exact(oh * ow).enumerate() {
                grad_bias[o] += sum(row);
            }
            transform_gradient(grad, p, (n, g * tiles), &mut dm);
            transform_input(image, p, (n, g * tiles), &mut v);
        }
        // dU[ξ] += dM[ξ] x V[ξ]ᵀ.
        for ((dm, v), du) in dm
            .chunks_exact(oc * n)
            .zip(v.chunks_exact(c * n))
            .zip(du.chunks_exact_mut(oc * c))
        {
            times_transposed_with(dm, v, (oc, c, n), du, true, own);
        }
        if !input_gradient {
            continue;
        }
        // dV[ξ] = U[ξ]ᵀ x dM[ξ].
        for ((lhs, dm), dv) in transposed
            .iter()
            .zip(dm.chunks_exact(oc * n))
            .zip(dv.chunks_exact_mut(c * n))
        {
            lhs.times(dm, n, dv, false);
        }
        let first_image = k * group;
        for g in 0..n / tiles {
            let b = first_image + g;
            untransform_input(
                &dv,
                p,
                (n, g * tiles),
                &mut grad_input[b * image_len..(b + 1) * image_len],
            );
        }
    }
    keep([v, dv, dm]);
    (grad_input, untransform_weights(&du, oc, c), grad_bias)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::{ConvShape, im2col_backward, im2col_convolve};

    /// Distinct-ish values in `[-1, 1)` in a scrambled order.
    fn filled(len: usize, seed: usize) -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
            .collect()
    }

    fn assert_close(ours: &[f32], theirs: &[f32], what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: length");
        let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (x - y).abs() <= 5e-5 * scale,
                "{what}: element {i} is {x}, im2col gives {y} (scale {scale})"
            );
        }
    }

    /// Batch, channels, height and width, out channels, padding.
    type Sizes = (usize, usize, [usize; 2], usize, [usize; 4]);

    /// Valid and padded, odd and even output sides, padding that differs by side, channel counts that
    /// are not multiples of the products' panels, a side smaller than a tile, images transformed in
    /// groups with a shorter last one.
    const SHAPES: [Sizes; 8] = [
        (2, 8, [8, 8], 8, [0; 4]),
        (3, 9, [7, 6], 11, [1; 4]),
        (2, 16, [9, 10], 16, [1; 4]),
        (1, 10, [6, 7], 13, [0, 1, 2, 0]),
        (2, 8, [4, 5], 9, [2, 0, 1, 1]),
        (2, 12, [3, 3], 8, [0; 4]),
        (2, 32, [26, 26], 64, [0; 4]),
        // 4 tiles an image: groups of 32 images, then 8.
        (40, 8, [8, 8], 8, [0; 4]),
    ];

    fn shape(
        (batch, channels, [height, width], out_channels, padding): Sizes,
    ) -> (ConvShape, Plan) {
        let s = ConvShape {
            batch,
            channels,
            height,
            width,
            out_channels,
            kernel: [3, 3],
            stride: [1, 1],
            padding,
        };
        let plan = Plan {
            batch,
            channels,
            size: [height, width],
            out_channels,
            padding,
        };
        (s, plan)
    }

    /// The outputs, with and without ReLU, by our products and gemm's, against im2col's.
    #[test]
    fn the_forward_pass_is_im2cols() {
        for (k, sizes) in SHAPES.into_iter().enumerate() {
            let (s, plan) = shape(sizes);
            assert!(applies(s.kernel, s.stride, s.channels, s.out_channels));
            if k == SHAPES.len() - 1 {
                assert_eq!(plan.group(), 32, "the last shape's images go in groups");
            }
            let input = filled(s.batch * s.channels * s.height * s.width, k);
            let weight = filled(s.out_channels * s.channels * 9, k + 10);
            let bias = filled(s.out_channels, k + 20);
            for (relu, own) in [(false, true), (true, true), (false, false)] {
                let ours = forward(&input, &weight, &bias, &plan, relu, own);
                let theirs = im2col_convolve(&input, &weight, &bias, &s, relu, false);
                assert_close(
                    &ours,
                    &theirs,
                    &format!("shape {k}, relu {relu}, own {own}"),
                );
            }
        }
    }

    /// The input, weight and bias gradients against im2col's; without the input gradient for a first
    /// layer.
    #[test]
    fn the_backward_pass_is_im2cols() {
        for (k, sizes) in SHAPES.into_iter().enumerate() {
            let (s, plan) = shape(sizes);
            let [oh, ow] = s.output();
            let input = filled(s.batch * s.channels * s.height * s.width, k);
            let weight = filled(s.out_channels * s.channels * 9, k + 10);
            let grad = filled(s.batch * s.out_channels * oh * ow, k + 30);
            let (gx, gw, gb) = im2col_backward(&input, &weight, &grad, &s, (false, true));
            for own in [true, false] {
                let what = format!("shape {k}, own {own}");
                let (ox, ow_, ob) = backward(&input, &weight, &grad, &plan, (own, true));
                assert_close(&ox, &gx, &format!("{what}: input gradient"));
                assert_close(&ow_, &gw, &format!("{what}: weight gradient"));
                assert_close(&ob, &gb, &format!("{what}: bias gradient"));
                let (none, w2, b2) = backward(&input, &weight, &grad, &plan, (own, false));
                assert!(none.is_empty());
                assert_eq!((w2, b2), (ow_, ob), "{what}: without the input gradient");
            }
        }
    }

    /// The path is taken for 3x3, stride-1 convolutions with enough channels, not otherwise.
    #[test]
    fn the_path_is_taken_where_it_pays() {
        assert!(applies([3, 3], [1, 1], 32, 64));
        assert!(applies([3, 3], [1, 1], MIN_CHANNELS, MIN_CHANNELS));
        assert!(!applies([3, 3], [1, 1], 1, 32));
        assert!(!applies([3, 3], [1, 1], 32, MIN_CHANNELS - 1));
        assert!(!applies([3, 3], [2, 2], 32, 64));
        assert!(!applies([1, 1], [1, 1], 32, 64));
        assert!(!applies([5, 5], [1, 1], 32, 64));
    }
}
