//! 3x3 convolutions with stride 1 by Winograd's minimal filtering F(2x2, 3x3) (Lavin and Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2016), forward and backward, on the CPU backend.
//!
//! Each 2x2 block of outputs (a "tile") comes from a 4x4 block `d` of the input as
//! `Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. Summed over the input channels, the element-wise product becomes one
//! matrix product for each of the 16 positions of the 4x4 block: the transformed weights
//! `[out_channels x channels]` times the transformed input `[channels x tiles]`. A tile and channel
//! pair thus costs 16 multiplications where im2col's product spends 4 x 9 = 36: 2.25 times fewer.
//! The backward pass is the adjoint of the same steps (each is linear): the output's gradient is
//! transformed by `A`, then multiplied by the transformed weights transposed (the input gradient,
//! transformed back by `B` and added onto the overlapping input blocks) and by the transformed input
//! (the weight gradient, transformed back by `Gᵀ`). All three products of a training step shrink by
//! 2.25x; the transforms are additions and halvings.
//!
//! The products are [`crate::matmul`]'s (ours on the page, gemm natively). `kernels` takes this path for 3x3,
//! stride-1 convolutions with enough channels on both sides ([`applies`]); the first layer of a network
//! on grey images (one channel) keeps im2col, whose product is then too thin.

use crate::matmul::{Lhs, times_transposed_with};
use crate::vectors::{self, sum};

/// Positions of a transformed 4x4 block.
const POSITIONS: usize = 16;

/// The fewest input and output channels for which this path is taken: under it the 16 products are
/// too thin to beat im2col's one.
pub const MIN_CHANNELS: usize = 8;

/// The fewest tiles (columns of each product) a group of images gives, where the batch allows: a
/// 28x28 or 24x24 output is one image; a 7x7 one, 16 tiles, takes 8 images together.
const GROUP_COLUMNS: usize = 128;

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

    /// Tile rows and columns (an odd output side's last tile half used).
    fn tiles(&self) -> [usize; 2] {
        let [oh, ow] = self.output();
        [oh.div_ceil(2), ow.div_ceil(2)]
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
fn g3([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
}

/// `Gᵀ u`: the weight transform's adjoint.
#[inline(always)]
fn gt4([a, b, c, d]: [f32; 4]) -> [f32; 3] {
    [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d]
}

/// The weights `[oc, c, 3, 3]` transformed: `[16][oc][c]`, position `4 i + j` of `G g Gᵀ`.
fn transform_weights(weight: &[f32], oc: usize, c: usize) -> Vec<f32> {
    let mut u = vec![0.0f32; POSITIONS * oc * c];
    for (k, g) in weight.chunks_exact(9).enumerate().take(oc * c) {
        // Columns first (over the kernel's rows), then rows.
        let cols: [[f32; 4]; 3] = std::array::from_fn(|j| g3([g[j], g[3 + j], g[6 + j]]));
        for i in 0..4 {
            let row = g3([cols[0][i], cols[1][i], cols[2][i]]);
            for (j, v) in row.into_iter().enumerate() {
                u[(i * 4 + j) * oc * c + k] = v;
            }
        }
    }
    u
}

/// The weight gradient from its transformed form `[16][oc][c]`: `Gᵀ dU G` for each pair, `[oc, c, 3, 3]`.
fn untransform_weights(du: &[f32], oc: usize, c: usize) -> Vec<f32> {
    let mut grad = vec![0.0f32; oc * c * 9];
    for (k, g) in grad.chunks_exact_mut(9).enumerate() {
        let block: [[f32; 4]; 4] =
            std::array::from_fn(|i| std::array::from_fn(|j| du[(i * 4 + j) * oc * c + k]));
        // Rows first, then columns.
        let rows: [[f32; 3]; 4] = std::array::from_fn(|i| gt4(block[i]));
        for q in 0..3 {
            let col = gt4([rows[0][q], rows[1][q], rows[2][q], rows[3][q]]);
            for (p, v) in col.into_iter().enumerate() {
                g[p * 3 + q] = v;
            }
        }
    }
    grad
}

/// A buffer of four rows as its rows.
fn quarters(buf: &[f32]) -> [&[f32]; 4] {
    let width = buf.len() / 4;
    std::array::from_fn(|i| &buf[i * width..(i + 1) * width])
}

/// [`quarters`], mutable.
fn quarters_mut(buf: &mut [f32]) -> [&mut [f32]; 4] {
    let width = buf.len() / 4;
    let (a, rest) = buf.split_at_mut(width);
    let (b, rest) = rest.split_at_mut(width);
    let (c, d) = rest.split_at_mut(width);
    [a, b, c, d]
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

/// One image `[c, h, w]` transformed: `v` `[16][c][tiles]`, position `4 i + j` of `Bᵀ d B` for each
/// tile's 4x4 block `d`.
fn transform_input(image: &[f32], p: &Plan, (n, first): (usize, usize), v: &mut [f32]) {
    let [tr, tc] = p.tiles();
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
            let [r0, r1, r2, r3] = quarters(&rows);
            let [t0, t1, t2, t3] = quarters_mut(&mut t);
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
    let [tr, tc] = p.tiles();
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
                let at =
                    |j: usize| &dv[((i * 4 + j) * p.channels + c) * n + first + ty * tc..][..tc];
                let (v0, v1, v2, v3) = (at(0), at(1), at(2), at(3));
                let [k0, k1, k2, k3] = quarters_mut(&mut cols);
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
            let [t0, t1, t2, t3] = quarters(&t);
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
    let [tr, tc] = p.tiles();
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
            let [h0, h1, h2, h3] = quarters(&rows);
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
    let [tr, tc] = p.tiles();
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
            let [c0, c1, c2, c3] = quarters_mut(&mut cols);
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
    let mut v = vec![0.0f32; POSITIONS * c * group * tiles];
    let mut m = vec![0.0f32; POSITIONS * oc * group * tiles];
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
    let mut v = vec![0.0f32; POSITIONS * c * group * tiles];
    let mut dv = vec![0.0f32; if input_gradient { v.len() } else { 0 }];
    let mut dm = vec![0.0f32; POSITIONS * oc * group * tiles];
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
                (x - y).abs() <= 2e-6 * scale,
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
        // 9 tiles an image: groups of 15 images, then 2.
        (17, 8, [8, 8], 8, [0; 4]),
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
                assert_eq!(plan.group(), 15, "the last shape's images go in groups");
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
