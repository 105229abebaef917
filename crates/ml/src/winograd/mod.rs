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

mod f2;
mod f4;
mod plan;

use f2::F2;
use f4::F4;
pub use plan::Plan;
use plan::{Lengths, Tiling};

/// The fewest input and output channels for which this path is taken: under it the products are
/// too thin to beat im2col's one.
pub const MIN_CHANNELS: usize = 8;

/// The smallest output side that takes F(4x4, 3x3); smaller maps take F(2x2, 3x3).
pub const LARGE_SIDE: usize = 16;

thread_local! {
    /// Work buffers kept from one call to the next (the transformed input and products: a few MB).
    /// Allocated afresh each call, they cost more than the transforms natively (glibc hands such
    /// sizes back to the system and faults them in again: 24% of a training step in page faults).
    static SCRATCH: RefCell<Vec<Vec<f32>>> = const { RefCell::new(Vec::new()) };
}

/// A work buffer of at least `len` values holding whatever its last user left: each user here writes
/// the `len` it uses before reading them. It only grows (zero-filled then), so that buffers of other
/// sizes are not filled again at every call. Hand it back with [`keep`].
fn scratch(len: usize) -> Vec<f32> {
    let mut buffer = SCRATCH.with(|s| s.borrow_mut().pop()).unwrap_or_default();
    if buffer.len() < len {
        buffer.resize(len, 0.0);
    }
    buffer
}

/// Keeps work buffers for the next call.
fn keep(buffers: impl IntoIterator<Item = Vec<f32>>) {
    SCRATCH.with(|s| s.borrow_mut().extend(buffers));
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

/// Whether a convolution takes F(4x4, 3x3): where its output is at least [`LARGE_SIDE`] on both
/// sides. On smaller maps the 4x4 tiles overhang more (a 14x14 map takes 16x16 of them) and the
/// products get thin, and F(2x2, 3x3) was faster in the page (the fast recipe's 14x14 and 7x7 maps:
/// 958-990 samples/s with F(2x2) everywhere, 842-903 with F(4x4) everywhere).
fn large(p: &Plan) -> bool {
    p.output().iter().all(|&side| side >= LARGE_SIDE)
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
    if large(p) {
        forward_with::<F4>(input, weight, bias, p, (relu, own))
    } else {
        forward_with::<F2>(input, weight, bias, p, (relu, own))
    }
}

/// [`forward`] in tiling `T`.
fn forward_with<T: Tiling>(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    p: &Plan,
    (relu, own): (bool, bool),
) -> Vec<f32> {
    let Lengths {
        tiles,
        image: image_len,
        output: out_len,
    } = p.check(T::M, input, weight);
    let (c, oc) = (p.channels, p.out_channels);
    let [oh, ow] = p.output();
    assert_eq!(bias.len(), oc, "bias size");
    let u = T::transform_weights(weight, oc, c);
    let lhs: Vec<Lhs> = u
        .chunks_exact(oc * c)
        .map(|u| Lhs::with(u, (oc, c), (c, 1), own))
        .collect();
    let group = p.group(T::M);
    // Both written whole for each group before they are read.
    let (v_len, m_len) = (
        T::POSITIONS * c * group * tiles,
        T::POSITIONS * oc * group * tiles,
    );
    let (mut v_buffer, mut m_buffer) = (scratch(v_len), scratch(m_len));
    let (v, m) = (&mut v_buffer[..v_len], &mut m_buffer[..m_len]);
    let mut output = vec![0.0f32; p.batch * out_len];
    for (images, outs) in input
        .chunks(group * image_len)
        .zip(output.chunks_mut(group * out_len))
    {
        let n = images.len() / image_len * tiles;
        for (g, image) in images.chunks_exact(image_len).enumerate() {
            T::transform_input(image, p, (n, g * tiles), v);
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
            T::transform_output(m, p, (n, g * tiles), out);
            if relu {
                vectors::relu(out);
            }
        }
    }
    keep([v_buffer, m_buffer]);
    output
}

/// The gradients of [`forward`] (without ReLU) from the output's gradient `grad`: of the input (left
/// empty unless `input_gradient`), the weight and the bias; our products (`own`) or gemm's.
pub fn backward(
    input: &[f32],
    weight: &[f32],
    grad: &[f32],
    p: &Plan,
    how: (bool, bool),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    if large(p) {
        backward_with::<F4>(input, weight, grad, p, how)
    } else {
        backward_with::<F2>(input, weight, grad, p, how)
    }
}

/// [`backward`] in tiling `T`.
fn backward_with<T: Tiling>(
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
    } = p.check(T::M, input, weight);
    let (c, oc) = (p.channels, p.out_channels);
    let [oh, ow] = p.output();
    assert_eq!(grad.len(), p.batch * out_len, "gradient size");
    let u = T::transform_weights(weight, oc, c);
    // Each position's weights transposed, `[c x oc]`, for the input gradient.
    let transposed: Vec<Lhs> = if input_gradient {
        u.chunks_exact(oc * c)
            .map(|u| Lhs::with(u, (c, oc), (1, c), own))
            .collect()
    } else {
        Vec::new()
    };
    let group = p.group(T::M);
    // Written whole for each group before they are read.
    let v_len = T::POSITIONS * c * group * tiles;
    let dv_len = if input_gradient { v_len } else { 0 };
    let dm_len = T::POSITIONS * oc * group * tiles;
    let (mut v_buffer, mut dv_buffer) = (scratch(v_len), scratch(dv_len));
    let mut dm_buffer = scratch(dm_len);
    let (v, dv) = (&mut v_buffer[..v_len], &mut dv_buffer[..dv_len]);
    let dm = &mut dm_buffer[..dm_len];
    let mut du = vec![0.0f32; T::POSITIONS * oc * c];
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
            T::transform_gradient(grad, p, (n, g * tiles), dm);
            T::transform_input(image, p, (n, g * tiles), v);
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
            T::untransform_input(
                dv,
                p,
                (n, g * tiles),
                &mut grad_input[b * image_len..(b + 1) * image_len],
            );
        }
    }
    keep([v_buffer, dv_buffer, dm_buffer]);
    (grad_input, T::untransform_weights(&du, oc, c), grad_bias)
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

    /// Within `tolerance` of the largest value's size (F(2x2): 2e-6; F(4x4), whose transforms round
    /// more: 5e-5).
    fn assert_close(ours: &[f32], theirs: &[f32], tolerance: f32, what: &str) {
        assert_eq!(ours.len(), theirs.len(), "{what}: length");
        let scale = theirs.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in ours.iter().zip(theirs).enumerate() {
            assert!(
                (x - y).abs() <= tolerance * scale,
                "{what}: element {i} is {x}, im2col gives {y} (scale {scale})"
            );
        }
    }

    /// Batch, channels, height and width, out channels, padding.
    type Sizes = (usize, usize, [usize; 2], usize, [usize; 4]);

    /// Valid and padded, odd and even output sides, padding that differs by side, channel counts that
    /// are not multiples of the products' panels, a side smaller than a tile, images transformed in
    /// groups with a shorter last one.
    const SHAPES: [Sizes; 9] = [
        (2, 8, [8, 8], 8, [0; 4]),
        (3, 9, [7, 6], 11, [1; 4]),
        (2, 16, [9, 10], 16, [1; 4]),
        (1, 10, [6, 7], 13, [0, 1, 2, 0]),
        (2, 8, [4, 5], 9, [2, 0, 1, 1]),
        (2, 12, [3, 3], 8, [0; 4]),
        (2, 32, [26, 26], 64, [0; 4]),
        // Large enough for F(4x4) by default, one side not a multiple of 4 (16 x 18).
        (1, 8, [17, 19], 9, [1, 0, 0, 1]),
        // F(4x4): 4 tiles an image, groups of 32 images, then 8; F(2x2): 9, groups of 15, 15, 10.
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
                assert_eq!(plan.group(4), 32, "the last shape's images go in groups");
                assert_eq!(plan.group(2), 15, "the last shape's images go in groups");
            }
            let input = filled(s.batch * s.channels * s.height * s.width, k);
            let weight = filled(s.out_channels * s.channels * 9, k + 10);
            let bias = filled(s.out_channels, k + 20);
            for (relu, own) in [(false, true), (true, true), (false, false)] {
                let theirs = im2col_convolve(&input, &weight, &bias, &s, relu, false);
                let what = format!("shape {k}, relu {relu}, own {own}");
                let how = (relu, own);
                let f2 = forward_with::<F2>(&input, &weight, &bias, &plan, how);
                assert_close(&f2, &theirs, 2e-6, &format!("F(2x2), {what}"));
                let f4 = forward_with::<F4>(&input, &weight, &bias, &plan, how);
                assert_close(&f4, &theirs, 5e-5, &format!("F(4x4), {what}"));
                let chosen = forward(&input, &weight, &bias, &plan, relu, own);
                assert_eq!(
                    chosen,
                    if large(&plan) { f4 } else { f2 },
                    "{what}: the tiling"
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
                let f2 = backward_with::<F2>(&input, &weight, &grad, &plan, (own, true));
                let f4 = backward_with::<F4>(&input, &weight, &grad, &plan, (own, true));
                for (tiling, (ox, ow_, ob), tolerance) in
                    [("F(2x2)", &f2, 2e-6), ("F(4x4)", &f4, 5e-5)]
                {
                    let what = format!("{tiling}, {what}");
                    assert_close(ox, &gx, tolerance, &format!("{what}: input gradient"));
                    assert_close(ow_, &gw, tolerance, &format!("{what}: weight gradient"));
                    assert_close(ob, &gb, tolerance, &format!("{what}: bias gradient"));
                }
                let (none, w2, b2) =
                    backward_with::<F4>(&input, &weight, &grad, &plan, (own, false));
                assert!(none.is_empty());
                assert_eq!(
                    (w2, b2),
                    (f4.1.clone(), f4.2.clone()),
                    "{what}: without the input gradient"
                );
                let chosen = backward(&input, &weight, &grad, &plan, (own, true));
                assert_eq!(
                    chosen,
                    if large(&plan) { f4 } else { f2 },
                    "{what}: the tiling"
                );
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
        // F(4x4) from outputs of 16 on both sides; F(2x2) under.
        let plan = |size: [usize; 2]| Plan {
            batch: 1,
            channels: 8,
            size,
            out_channels: 8,
            padding: [1; 4],
        };
        assert!(large(&plan([LARGE_SIDE, LARGE_SIDE])));
        assert!(large(&plan([28, 28])));
        assert!(!large(&plan([LARGE_SIDE - 1, 28])));
        assert!(!large(&plan([14, 14])));
    }
}
