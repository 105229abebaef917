//! A convolution of our own for the CPU backend. burn's CPU convolution (flex) converts each input to
//! channels-last, gathers patches, multiplies, then scatters the product back to channels-first and
//! adds the bias in another pass; batch norm and ReLU are more passes after it, and its backward
//! passes have the same plumbing. Here each image's patches are gathered in the order the product
//! needs (rows of the kernel's taps, columns of output pixels: for stride 1 each row is copied whole)
//! and the product is written straight into the channels-first output on top of the bias.
//! - Inference: batch norm is folded into the weights and bias, and ReLU runs while the output is in
//!   cache ([`conv_block`]).
//! - Training: the convolution is a backend operation of its own ([`ConvOps`], a burn backend
//!   extension) whose backward pass ([`conv2d_backward`]) takes the weight gradient as one product with
//!   the patches and the input gradient as a product scattered back onto the image; batch norm and
//!   ReLU stay burn's. Training on WebGPU takes the same operation, with burn's kernels apart from the
//!   weight gradient, which is computed as matrix products there (module `gpu_conv`).
//! - Both: 3x3 convolutions with stride 1 and at least [`winograd::MIN_CHANNELS`] channels on each
//!   side take Winograd's F(4x4, 3x3) instead of im2col, forward and backward (module `winograd`:
//!   4 times fewer multiplications in the products).
//!
//! 2x2 max pooling is an operation of its own too ([`PoolOps`], [`pool_2x2`]): one pass forward, one
//! backward. WebGPU keeps burn's other layers. Tested against burn's values and gradients.

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Dispatch, Flex, TensorMetadata, backend_extension};
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::norm::BatchNorm;
use burn::prelude::*;

use crate::matmul::{self, Lhs, times_transposed_with};
use crate::vectors::{self, sum};
use crate::winograd::{self, Plan};

/// The sizes of a 2-D convolution over a batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ConvShape {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub out_channels: usize,
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    /// Top, left, bottom, right.
    pub padding: [usize; 4],
}

impl ConvShape {
    /// Output height and width.
    pub fn output(&self) -> [usize; 2] {
        let [t, l, b, r] = self.padding;
        let side = |size: usize, before: usize, after: usize, k: usize, s: usize| {
            (size + before + after).saturating_sub(k) / s.max(1) + 1
        };
        [
            side(self.height, t, b, self.kernel[0], self.stride[0]),
            side(self.width, l, r, self.kernel[1], self.stride[1]),
        ]
    }
}

/// The output columns `first..last` whose input column under kernel column `j` lies inside the image
/// (the others fall in the padding).
fn inside_columns(s: &ConvShape, j: usize, ow: usize) -> (usize, usize) {
    let (sw, pl) = (s.stride[1], s.padding[1]);
    let first = pl.saturating_sub(j).div_ceil(sw).min(ow);
    let last = ((s.width + pl).saturating_sub(j))
        .div_ceil(sw)
        .clamp(first, ow);
    (first, last)
}

/// Gathers one image's patches: row `(c * kh + i) * kw + j` holds, for every output pixel, the input
/// value under kernel tap `(c, i, j)` (zero in the padding).
fn gather(image: &[f32], s: &ConvShape, [oh, ow]: [usize; 2], col: &mut [f32]) {
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.stride;
    let [pt, pl, _, _] = s.padding;
    let pixels = oh * ow;
    for c in 0..s.channels {
        let plane = &image[c * s.height * s.width..(c + 1) * s.height * s.width];
        for i in 0..kh {
            for j in 0..kw {
                let row = &mut col[((c * kh + i) * kw + j) * pixels..][..pixels];
                let (first, last) = inside_columns(s, j, ow);
                for oy in 0..oh {
                    let out = &mut row[oy * ow..(oy + 1) * ow];
                    let iy = (oy * sh + i).wrapping_sub(pt);
                    if iy >= s.height {
                        out.fill(0.0);
                        continue;
                    }
                    out[..first].fill(0.0);
                    out[last..].fill(0.0);
                    let input = &plane[iy * s.width..(iy + 1) * s.width];
                    let x0 = first * sw + j - pl;
                    if sw == 1 {
                        out[first..last].copy_from_slice(&input[x0..x0 + (last - first)]);
                    } else {
                        for (k, v) in out[first..last].iter_mut().enumerate() {
                            *v = input[x0 + k * sw];
                        }
                    }
                }
            }
        }
    }
}

/// A 2-D convolution (groups 1, dilation 1) plus a bias per output channel, then ReLU if asked:
/// `input` is `[batch, channels, height, width]`, `weight` `[out_channels, channels, kh, kw]`, the
/// result `[batch, out_channels, oh, ow]`, all row-major.
pub fn conv2d(input: &[f32], weight: &[f32], bias: &[f32], s: &ConvShape, relu: bool) -> Vec<f32> {
    convolve(input, weight, bias, s, relu, matmul::OWN)
}

/// The Winograd form of a convolution with these sizes, where it takes that path
/// ([`winograd::applies`]).
fn winograd_plan(s: &ConvShape) -> Option<Plan> {
    let [t, l, b, r] = s.padding;
    // The kernel fits inside the padded image (else im2col's shapes hold).
    let fits = s.height + t + b >= 3 && s.width + l + r >= 3;
    let takes =
        WINOGRAD && fits && winograd::applies(s.kernel, s.stride, s.channels, s.out_channels);
    takes.then_some(Plan {
        batch: s.batch,
        channels: s.channels,
        size: [s.height, s.width],
        out_channels: s.out_channels,
        padding: s.padding,
    })
}

/// Whether 3x3, stride-1 convolutions take Winograd's algorithm ([`winograd`]).
const WINOGRAD: bool = true;

/// [`conv2d`] with the page's products (`own`, [`matmul`]) or gemm's.
fn convolve(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    s: &ConvShape,
    relu: bool,
    own: bool,
) -> Vec<f32> {
    match winograd_plan(s) {
        Some(plan) => winograd::forward(input, weight, bias, &plan, relu, own),
        None => im2col_convolve(input, weight, bias, s, relu, own),
    }
}

/// [`convolve`] by im2col: each image's patches gathered, then one product.
pub(crate) fn im2col_convolve(
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    s: &ConvShape,
    relu: bool,
    own: bool,
) -> Vec<f32> {
    let [oh, ow] = s.output();
    let pixels = oh * ow;
    let taps = s.channels * s.kernel[0] * s.kernel[1];
    let image_len = s.channels * s.height * s.width;
    assert_eq!(input.len(), s.batch * image_len, "input size");
    assert_eq!(weight.len(), s.out_channels * taps, "weight size");
    assert_eq!(bias.len(), s.out_channels, "bias size");
    let mut output = vec![0.0f32; s.batch * s.out_channels * pixels];
    let lhs = Lhs::with(weight, (s.out_channels, taps), (taps, 1), own);
    // A 1x1 convolution with stride 1 and no padding multiplies the image itself.
    let direct = s.kernel == [1, 1] && s.stride == [1, 1] && s.padding == [0; 4];
    let mut col = if direct {
        Vec::new()
    } else {
        vec![0.0f32; taps * pixels]
    };
    for b in 0..s.batch {
        let image = &input[b * image_len..(b + 1) * image_len];
        let out = &mut output[b * s.out_channels * pixels..(b + 1) * s.out_channels * pixels];
        for (o, row) in out.chunks_exact_mut(pixels).enumerate() {
            row.fill(bias[o]);
        }
        let patches: &[f32] = if direct {
            image
        } else {
            gather(image, s, [oh, ow], &mut col);
            &col
        };
        // out[o][p] = bias[o] + sum over taps of weight[o][t] * patches[t][p].
        lhs.times(patches, pixels, out, true);
        if relu {
            vectors::relu(out);
        }
    }
    output
}

/// Adds one image's patch gradients back onto its input gradient: the transpose of [`gather`].
fn scatter(col: &[f32], s: &ConvShape, [oh, ow]: [usize; 2], image: &mut [f32]) {
    let [kh, kw] = s.kernel;
    let [sh, sw] = s.stride;
    let [pt, pl, _, _] = s.padding;
    let pixels = oh * ow;
    for c in 0..s.channels {
        let plane = &mut image[c * s.height * s.width..(c + 1) * s.height * s.width];
        for i in 0..kh {
            for j in 0..kw {
                let row = &col[((c * kh + i) * kw + j) * pixels..][..pixels];
                let (first, last) = inside_columns(s, j, ow);
                for oy in 0..oh {
                    let iy = (oy * sh + i).wrapping_sub(pt);
                    if iy >= s.height {
                        continue;
                    }
                    let out = &row[oy * ow + first..oy * ow + last];
                    let input = &mut plane[iy * s.width..(iy + 1) * s.width];
                    let x0 = first * sw + j - pl;
                    if sw == 1 {
                        for (x, g) in input[x0..x0 + out.len()].iter_mut().zip(out) {
                            *x += g;
                        }
                    } else {
                        for (k, g) in out.iter().enumerate() {
                            input[x0 + k * sw] += g;
                        }
                    }
                }
            }
        }
    }
}

/// The gradients of [`conv2d`] (without ReLU) from the output's gradient `grad`: of the input, the
/// weight and the bias.
pub fn conv2d_backward(
    input: &[f32],
    weight: &[f32],
    grad: &[f32],
    s: &ConvShape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    convolve_backward(input, weight, grad, s, (matmul::OWN, true))
}

/// [`conv2d_backward`] with the page's products (`own`, [`matmul`]) or gemm's; without the input
/// gradient (left empty) unless `input_gradient`, as for a first layer, whose input is the images.
fn convolve_backward(
    input: &[f32],
    weight: &[f32],
    grad: &[f32],
    s: &ConvShape,
    how: (bool, bool),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    match winograd_plan(s) {
        Some(plan) => winograd::backward(input, weight, grad, &plan, how),
        None => im2col_backward(input, weight, grad, s, how),
    }
}

/// [`convolve_backward`] by im2col.
pub(crate) fn im2col_backward(
    input: &[f32],
    weight: &[f32],
    grad: &[f32],
    s: &ConvShape,
    (own, input_gradient): (bool, bool),
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let [oh, ow] = s.output();
    let pixels = oh * ow;
    let taps = s.channels * s.kernel[0] * s.kernel[1];
    let image_len = s.channels * s.height * s.width;
    let out_len = s.out_channels * pixels;
    assert_eq!(grad.len(), s.batch * out_len, "gradient size");
    assert_eq!(input.len(), s.batch * image_len, "input size");
    assert_eq!(weight.len(), s.out_channels * taps, "weight size");
    let mut grad_input = vec![0.0f32; if input_gradient { input.len() } else { 0 }];
    let mut grad_weight = vec![0.0f32; weight.len()];
    let mut grad_bias = vec![0.0f32; s.out_channels];
    let mut col = vec![0.0f32; taps * pixels];
    let mut col_grad = vec![0.0f32; taps * pixels];
    let transposed = Lhs::with(weight, (taps, s.out_channels), (1, taps), own);
    for b in 0..s.batch {
        let image = &input[b * image_len..(b + 1) * image_len];
        let g = &grad[b * out_len..(b + 1) * out_len];
        for (o, row) in g.chunks_exact(pixels).enumerate() {
            grad_bias[o] += sum(row);
        }
        gather(image, s, [oh, ow], &mut col);
        // grad_weight[o][t] += sum over pixels of g[o][p] * col[t][p].
        times_transposed_with(
            g,
            &col,
            (s.out_channels, taps, pixels),
            &mut grad_weight,
            true,
            own,
        );
        if !input_gradient {
            continue;
        }
        // col_grad[t][p] = sum over output channels of weight[o][t] * g[o][p].
        transposed.times(g, pixels, &mut col_grad, false);
        scatter(
            &col_grad,
            s,
            [oh, ow],
            &mut grad_input[b * image_len..(b + 1) * image_len],
        );
    }
    (grad_input, grad_weight, grad_bias)
}

/// A convolution's sizes as the training operation carries them (the batch and image sizes come
/// from the tensors).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Geometry {
    pub(crate) stride: [usize; 2],
    /// Top, left, bottom, right.
    pub(crate) padding: [usize; 4],
}

impl Geometry {
    /// From [`ConvOps::own_conv2d`]'s arguments.
    pub(crate) fn new(
        stride_h: usize,
        stride_w: usize,
        pad_top: usize,
        pad_left: usize,
        pad_bottom: usize,
        pad_right: usize,
    ) -> Self {
        Geometry {
            stride: [stride_h, stride_w],
            padding: [pad_top, pad_left, pad_bottom, pad_right],
        }
    }
}

fn shape_of(x: &[usize], w: &[usize], g: Geometry) -> ConvShape {
    ConvShape {
        batch: x[0],
        channels: x[1],
        height: x[2],
        width: x[3],
        out_channels: w[0],
        kernel: [w[2], w[3]],
        stride: g.stride,
        padding: g.padding,
    }
}

fn floats<B: Backend>(t: FloatTensor<B>) -> Vec<f32> {
    crate::tensor::block_on(B::float_into_data(t))
        .expect("the CPU backend reads its tensors")
        .try_into_vec_as::<f32>()
        .expect("the convolution computes in f32")
}

/// The convolution as a backend operation, for training: on the CPU backend (flex) the forward pass
/// and, under autodiff, a backward pass of our own ([`conv2d_backward`]) instead of flex's; on WebGPU
/// (burn's cubecl backend, implemented in `gpu_conv`) burn's forward pass and input gradient with the
/// weight gradient as matrix products.
#[backend_extension(Flex, Cube, Autodiff)]
pub trait ConvOps: Backend {
    /// [`conv2d`] without ReLU: `x` `[n, c, h, w]`, `weight` `[oc, c, kh, kw]`, `bias` `[oc]`.
    #[allow(clippy::too_many_arguments)]
    fn own_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride_h: usize,
        stride_w: usize,
        pad_top: usize,
        pad_left: usize,
        pad_bottom: usize,
        pad_right: usize,
    ) -> FloatTensor<Self>;
}

/// The forward pass on any backend's primitives (read back, computed here, written back).
fn conv_forward<B: Backend>(
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
    g: Geometry,
) -> FloatTensor<B> {
    let device = x.device();
    let s = shape_of(&x.shape().dims::<4>(), &weight.shape().dims::<4>(), g);
    let out = conv2d(
        &floats::<B>(x),
        &floats::<B>(weight),
        &floats::<B>(bias),
        &s,
        false,
    );
    let [oh, ow] = s.output();
    B::float_from_data(
        TensorData::new(out, [s.batch, s.out_channels, oh, ow]),
        &device,
    )
}

impl ConvOps for Flex {
    fn own_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride_h: usize,
        stride_w: usize,
        pad_top: usize,
        pad_left: usize,
        pad_bottom: usize,
        pad_right: usize,
    ) -> FloatTensor<Self> {
        let g = Geometry::new(stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right);
        conv_forward::<Flex>(x, weight, bias, g)
    }
}

impl<C: CheckpointStrategy> ConvOps for Autodiff<Flex, C> {
    fn own_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        stride_h: usize,
        stride_w: usize,
        pad_top: usize,
        pad_left: usize,
        pad_bottom: usize,
        pad_right: usize,
    ) -> FloatTensor<Self> {
        let g = Geometry::new(stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right);
        tracked_conv::<Flex, C, CpuGradients>([x, weight, bias], g, conv_forward::<Flex>)
    }
}

/// The CPU backend's gradients: [`conv2d_backward`]'s, read back and written back (the input's only
/// where needed).
#[derive(Debug)]
struct CpuGradients;

impl ConvGradients for CpuGradients {
    fn gradients<B: Backend>(
        [x, weight, grad]: [FloatTensor<B>; 3],
        g: Geometry,
        [need_x, need_w, need_b]: [bool; 3],
    ) -> [Option<FloatTensor<B>>; 3] {
        let device = x.device();
        let (x_dims, w_dims) = (x.shape().dims::<4>(), weight.shape().dims::<4>());
        let s = shape_of(&x_dims, &w_dims, g);
        let (gx, gw, gb) = convolve_backward(
            &floats::<B>(x),
            &floats::<B>(weight),
            &floats::<B>(grad),
            &s,
            (matmul::OWN, need_x),
        );
        let tensor = |values: Vec<f32>, dims: Vec<usize>| {
            B::float_from_data(TensorData::new(values, dims), &device)
        };
        [
            need_x.then(|| tensor(gx, x_dims.to_vec())),
            need_w.then(|| tensor(gw, w_dims.to_vec())),
            need_b.then(|| tensor(gb, vec![s.out_channels])),
        ]
    }
}

/// A backend's convolution forward pass: input, weight, bias and geometry to output.
pub(crate) type ConvForward<B> =
    fn(FloatTensor<B>, FloatTensor<B>, FloatTensor<B>, Geometry) -> FloatTensor<B>;

/// How a backend computes a convolution's gradients under autodiff.
pub(crate) trait ConvGradients: Send + core::fmt::Debug + 'static {
    /// From the input, the weight and the output's gradient: the gradients of the input, the weight
    /// and the bias, each where `needed` (the graph tracks it), else None.
    fn gradients<B: Backend>(
        tensors: [FloatTensor<B>; 3],
        g: Geometry,
        needed: [bool; 3],
    ) -> [Option<FloatTensor<B>>; 3];
}

/// The backward step the graph records for a convolution: `G`'s gradients, registered for the parents
/// that are tracked.
#[derive(Debug)]
struct ConvStep<G>(core::marker::PhantomData<G>);

impl<B: Backend, G: ConvGradients> Backward<B, 3> for ConvStep<G> {
    type State = (FloatTensor<B>, FloatTensor<B>, Geometry);

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let grad = grads.consume::<B>(&ops.node);
        let (x, weight, g) = ops.state;
        let needed = ops.parents.each_ref().map(Option::is_some);
        let computed = G::gradients::<B>([x, weight, grad], g, needed);
        for (node, tensor) in ops.parents.into_iter().zip(computed) {
            if let (Some(node), Some(tensor)) = (node, tensor) {
                grads.register::<B>(node.id, tensor);
            }
        }
    }
}

/// A convolution under autodiff on backend `B`: `forward` computes it, and where any of `x`, `weight`
/// and `bias` is tracked the graph records its backward step, `G`'s gradients, with the input, the
/// weight and the geometry as state.
pub(crate) fn tracked_conv<B, C, G>(
    [x, weight, bias]: [FloatTensor<Autodiff<B, C>>; 3],
    g: Geometry,
    forward: ConvForward<B>,
) -> FloatTensor<Autodiff<B, C>>
where
    B: Backend,
    C: CheckpointStrategy,
    G: ConvGradients,
{
    match ConvStep::<G>(core::marker::PhantomData)
        .prepare::<C>([x.node(), weight.node(), bias.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (xp, wp) = (x.primitive().clone(), weight.primitive().clone());
            let out = forward(xp.clone(), wp.clone(), bias.into_primitive(), g);
            prep.finish((xp, wp, g), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(
            x.into_primitive(),
            weight.into_primitive(),
            bias.into_primitive(),
            g,
        )),
    }
}

/// 2x2 max pooling with stride 2 over `[planes, h, w]` (an odd last row or column dropped, as burn's):
/// the maximum of each window, the first one in row-major order on ties.
pub fn max_pool_2x2_f32(input: &[f32], planes: usize, [h, w]: [usize; 2]) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; planes * oh * ow];
    for (p, plane) in input.chunks_exact(h * w).take(planes).enumerate() {
        for y in 0..oh {
            let (top, bottom) = (&plane[2 * y * w..][..w], &plane[(2 * y + 1) * w..][..w]);
            let row = &mut out[(p * oh + y) * ow..][..ow];
            for (x, o) in row.iter_mut().enumerate() {
                let m = |a: f32, b: f32| if b > a { b } else { a };
                *o = m(
                    m(m(top[2 * x], top[2 * x + 1]), bottom[2 * x]),
                    bottom[2 * x + 1],
                );
            }
        }
    }
    out
}

/// The input gradient of [`max_pool_2x2_f32`]: each window's gradient goes to the position of its
/// maximum (the first one on ties), as burn's pooling gives it.
pub fn max_pool_2x2_backward(
    input: &[f32],
    grad: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
) -> Vec<f32> {
    let (oh, ow) = (h / 2, w / 2);
    let mut out = vec![0.0f32; input.len()];
    for p in 0..planes {
        let plane = &input[p * h * w..(p + 1) * h * w];
        for y in 0..oh {
            for x in 0..ow {
                let at = [
                    2 * y * w + 2 * x,
                    2 * y * w + 2 * x + 1,
                    (2 * y + 1) * w + 2 * x,
                    (2 * y + 1) * w + 2 * x + 1,
                ];
                let best = at[1..]
                    .iter()
                    .fold(at[0], |b, &i| if plane[i] > plane[b] { i } else { b });
                out[p * h * w + best] += grad[(p * oh + y) * ow + x];
            }
        }
    }
    out
}

/// 2x2 max pooling as a backend operation, for the CPU backend (flex): one pass forward and one pass
/// backward instead of flex's pooling with indices.
#[backend_extension(Flex, Autodiff)]
pub trait PoolOps: Backend {
    /// [`max_pool_2x2_f32`] of `x` `[n, c, h, w]`.
    fn own_max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self>;
}

fn pool_forward<B: Backend>(x: FloatTensor<B>) -> FloatTensor<B> {
    let device = x.device();
    let [n, c, h, w] = x.shape().dims::<4>();
    let out = max_pool_2x2_f32(&floats::<B>(x), n * c, [h, w]);
    B::float_from_data(TensorData::new(out, [n, c, h / 2, w / 2]), &device)
}

impl PoolOps for Flex {
    fn own_max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        pool_forward::<Flex>(x)
    }
}

impl<C: CheckpointStrategy> PoolOps for Autodiff<Flex, C> {
    fn own_max_pool_2x2(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct PoolBackward;

        impl<B: Backend> Backward<B, 1> for PoolBackward {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let x = ops.state;
                let device = x.device();
                let dims = x.shape().dims::<4>();
                let [n, c, h, w] = dims;
                let gx = max_pool_2x2_backward(&floats::<B>(x), &floats::<B>(grad), n * c, [h, w]);
                if let Some(node) = node_x {
                    grads.register::<B>(
                        node.id,
                        B::float_from_data(TensorData::new(gx, dims), &device),
                    );
                }
            }
        }

        match PoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let xp = x.primitive().clone();
                let out = pool_forward::<Flex>(xp.clone());
                prep.finish(xp, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(pool_forward::<Flex>(x.into_primitive())),
        }
    }
}

/// Whether training on WebGPU takes [`ConvOps`] (its weight gradient as matrix products on a GPU)
/// rather than burn's convolution. Not with burn's `autotune` feature (the GPU bench's second build),
/// where burn times its own candidates, the im2col product among them, and keeps the fastest.
const GPU_WEIGHT_GRADIENT: bool = !cfg!(feature = "autotune");

/// True on the CPU backend (flex), plain or with autodiff: where the operations of this module run.
fn on_cpu(device: &Device) -> bool {
    *device == Device::flex() || *device == Device::flex().autodiff()
}

/// A network's 2x2 max pooling (stride 2): on the CPU backend, for training and inference, [`PoolOps`];
/// on WebGPU, burn's `MaxPool2d`. Both give the same values and gradients (a test checks them, ties
/// included).
pub fn pool_2x2(pool: &burn::nn::pool::MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if on_cpu(&x.device()) {
        Tensor::from_dispatch(<Dispatch as PoolOps>::own_max_pool_2x2(x.into_dispatch()))
    } else {
        pool.forward(x)
    }
}

/// A training convolution (autodiff) through [`ConvOps`].
fn train_conv(conv: &Conv2d, x: Tensor<4>, padding: [usize; 4]) -> Tensor<4> {
    let weight = conv.weight.val();
    let bias = match &conv.bias {
        Some(b) => b.val(),
        None => Tensor::zeros([weight.dims()[0]], &x.device()),
    };
    let [t, l, b, r] = padding;
    let [sh, sw] = conv.stride;
    Tensor::from_dispatch(<Dispatch as ConvOps>::own_conv2d(
        x.into_dispatch(),
        weight.into_dispatch(),
        bias.into_dispatch(),
        sh,
        sw,
        t,
        l,
        b,
        r,
    ))
}

fn values<const D: usize>(tensor: Tensor<D>) -> Option<Vec<f32>> {
    tensor.into_data().try_into_vec_as::<f32>().ok()
}

/// A convolution, then batch norm and ReLU if given: on the CPU backend for inference, [`conv2d`]
/// with the batch norm folded into its weights; for training on either backend, [`ConvOps`] then
/// burn's batch norm and ReLU; otherwise (inference on WebGPU, grouped or dilated convolutions, `Same`
/// padding) burn's layers. All give the same values and gradients, rounding apart.
pub fn conv_block(conv: &Conv2d, norm: Option<&BatchNorm>, relu: bool, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some([top, left, bottom, right]),
        PaddingConfig2d::Same => None,
    };
    let device = x.device();
    // The padding, where this module's convolutions can take the layer.
    let simple = padding.filter(|_| conv.groups == 1 && conv.dilation == [1, 1]);
    let cpu = on_cpu(&device);
    if let Some(padding) = simple.filter(|_| cpu)
        && !x.is_autodiff()
        && let Some(y) = fused(conv, norm, relu, x.clone(), padding, &device)
    {
        return y;
    }
    let y = match simple {
        Some(padding) if x.is_autodiff() && (cpu || GPU_WEIGHT_GRADIENT) => {
            train_conv(conv, x, padding)
        }
        _ => conv.forward(x),
    };
    let y = match norm {
        Some(norm) => norm.forward(y),
        None => y,
    };
    if relu {
        burn::tensor::activation::relu(y)
    } else {
        y
    }
}

/// [`conv_block`]'s own path; None when a tensor cannot be read as f32.
fn fused(
    conv: &Conv2d,
    norm: Option<&BatchNorm>,
    relu: bool,
    x: Tensor<4>,
    padding: [usize; 4],
    device: &Device,
) -> Option<Tensor<4>> {
    let [batch, channels, height, width] = x.dims();
    let [out_channels, _, kh, kw] = conv.weight.dims();
    let mut weight = values(conv.weight.val())?;
    let mut bias = match &conv.bias {
        Some(b) => values(b.val())?,
        None => vec![0.0; out_channels],
    };
    if let Some(norm) = norm {
        // (y - mean) / sqrt(var + eps) * gamma + beta, as a scale and shift of each output channel.
        let gamma = values(norm.gamma.val())?;
        let beta = values(norm.beta.val())?;
        let mean = values(norm.running_mean.value())?;
        let var = values(norm.running_var.value())?;
        let taps = weight.len() / out_channels.max(1);
        for o in 0..out_channels {
            let scale = gamma[o] / (var[o] + norm.epsilon as f32).sqrt();
            weight[o * taps..(o + 1) * taps]
                .iter_mut()
                .for_each(|w| *w *= scale);
            bias[o] = (bias[o] - mean[o]) * scale + beta[o];
        }
    }
    let shape = ConvShape {
        batch,
        channels,
        height,
        width,
        out_channels,
        kernel: [kh, kw],
        stride: conv.stride,
        padding,
    };
    let input = values(x)?;
    let [oh, ow] = shape.output();
    let out = conv2d(&input, &weight, &bias, &shape, relu);
    Some(Tensor::from_data(
        TensorData::new(out, [batch, out_channels, oh, ow]),
        device,
    ))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use burn::module::{Param, RunningState};
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::norm::BatchNormConfig;

    /// Distinct-ish values in a scrambled order.
    pub(crate) fn filled<const D: usize>(
        dims: [usize; D],
        seed: usize,
        device: &Device,
    ) -> Tensor<D> {
        let len: usize = dims.iter().product();
        let values: Vec<f32> = (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 1000) as f32 / 500.0 - 1.0)
            .collect();
        Tensor::from_data(TensorData::new(values, dims), device)
    }

    fn close(ours: Tensor<4>, burns: Tensor<4>, what: &str) {
        assert_eq!(ours.dims(), burns.dims(), "{what}");
        let a = values(ours).unwrap();
        let b = values(burns).unwrap();
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert!(
                (x - y).abs() <= 1e-5 * scale,
                "{what}: element {i} is {x}, burn gives {y}"
            );
        }
    }

    /// The own path itself (what [`conv_block`] takes on the CPU backend for inference).
    fn ours(conv: &Conv2d, norm: Option<&BatchNorm>, relu: bool, x: &Tensor<4>) -> Tensor<4> {
        let padding = match conv.padding {
            PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
            _ => [0; 4],
        };
        fused(conv, norm, relu, x.clone(), padding, &x.device()).expect("the own path")
    }

    /// The same outputs as burn's convolution, batch norm (with trained-looking statistics) and ReLU, for
    /// the networks' shapes: 3x3 valid and padded, strided, 1x1 strided and plain, odd sizes, colour.
    #[test]
    fn conv_block_matches_burns_layers() {
        let device = Device::flex();
        let cases: [(usize, usize, usize, [usize; 2], usize, PaddingConfig2d); 7] = [
            (1, 32, 28, [3, 3], 1, PaddingConfig2d::Valid),
            (32, 64, 26, [3, 3], 1, PaddingConfig2d::Valid),
            (16, 32, 14, [3, 3], 1, PaddingConfig2d::Explicit(1, 1, 1, 1)),
            (8, 16, 15, [3, 3], 2, PaddingConfig2d::Explicit(1, 1, 1, 1)),
            (8, 16, 14, [1, 1], 2, PaddingConfig2d::Valid),
            (8, 16, 7, [1, 1], 1, PaddingConfig2d::Valid),
            (3, 8, 9, [3, 3], 1, PaddingConfig2d::Explicit(1, 2, 0, 1)),
        ];
        for (k, (c, oc, side, kernel, stride, padding)) in cases.into_iter().enumerate() {
            let mut conv = Conv2dConfig::new([c, oc], kernel)
                .with_stride([stride, stride])
                .with_padding(padding.clone())
                .init(&device);
            conv.weight = Param::from_tensor(filled([oc, c, kernel[0], kernel[1]], k, &device));
            let mut norm = BatchNormConfig::new(oc).init(&device);
            norm.gamma = Param::from_tensor(filled([oc], k + 1, &device) + 1.5);
            norm.beta = Param::from_tensor(filled([oc], k + 2, &device));
            norm.running_mean = RunningState::new(filled([oc], k + 4, &device));
            norm.running_var = RunningState::new(filled([oc], k + 5, &device) + 1.5);
            let x = filled([3, c, side, side + 1], k + 3, &device);
            let what = format!("{c}->{oc} {kernel:?} stride {stride} {padding:?}");
            for relu in [false, true] {
                let burns = {
                    let y = conv.forward(x.clone());
                    if relu {
                        burn::tensor::activation::relu(y)
                    } else {
                        y
                    }
                };
                close(ours(&conv, None, relu, &x), burns.clone(), &what);
                close(conv_block(&conv, None, relu, x.clone()), burns, &what);
            }
            let burns = burn::tensor::activation::relu(norm.forward(conv.forward(x.clone())));
            close(ours(&conv, Some(&norm), true, &x), burns.clone(), &what);
            close(
                conv_block(&conv, Some(&norm), true, x.clone()),
                burns,
                &what,
            );
        }
    }

    /// The same values and input gradients as burn's `MaxPool2d([2, 2])`, on even and odd sides, for
    /// training and inference, with distinct values and with ties (the zeros ReLU leaves).
    #[test]
    fn pooling_matches_burns_values_and_gradients() {
        let pool = burn::nn::pool::MaxPool2dConfig::new([2, 2]).init();
        for ties in [false, true] {
            for [n, c, h, w] in [[2, 3, 8, 8], [1, 2, 7, 7], [2, 4, 28, 28], [1, 1, 5, 6]] {
                let len = n * c * h * w;
                let values: Vec<f32> = (0..len)
                    .map(|i| {
                        let v = ((i * 7919) % len) as f32 / len as f32 - 0.5;
                        if ties { v.clamp(0.0, 0.3) } else { v }
                    })
                    .collect();
                let weights: Vec<f32> = (0..n * c * (h / 2) * (w / 2))
                    .map(|i| ((i * 31) % 17) as f32 - 8.0)
                    .collect();
                let device = Device::flex().autodiff();
                let run = |ours: bool| {
                    let x = Tensor::<4>::from_data(
                        TensorData::new(values.clone(), [n, c, h, w]),
                        &device,
                    )
                    .require_grad();
                    let y = if ours {
                        pool_2x2(&pool, x.clone())
                    } else {
                        pool.forward(x.clone())
                    };
                    let dims = y.dims();
                    let weight =
                        Tensor::<4>::from_data(TensorData::new(weights.clone(), dims), &device);
                    let grads = (y.clone() * weight).sum().backward();
                    (dims, all(y), all(x.grad(&grads).unwrap()))
                };
                let what = format!("{n}x{c}x{h}x{w}, ties {ties}");
                let (dims, out, grad) = run(true);
                let (burn_dims, burn_out, burn_grad) = run(false);
                assert_eq!(dims, burn_dims, "{what}");
                assert_eq!(out, burn_out, "{what}");
                assert_eq!(grad, burn_grad, "{what}");
                // Inference on the CPU backend gives the same values.
                let plain = Device::flex();
                let x =
                    Tensor::<4>::from_data(TensorData::new(values.clone(), [n, c, h, w]), &plain);
                assert_eq!(all(pool_2x2(&pool, x)), burn_out, "{what}, inference");
            }
        }
    }

    pub(crate) fn all<const D: usize>(t: Tensor<D>) -> Vec<f32> {
        values(t).unwrap()
    }

    fn assert_close(a: &[f32], b: &[f32], what: &str) {
        assert_within(a, b, 2e-5, what);
    }

    /// Each of `a` within `tolerance` times the largest magnitude of `b` (at least 1) of `b`'s.
    pub(crate) fn assert_within(a: &[f32], b: &[f32], tolerance: f32, what: &str) {
        assert_eq!(a.len(), b.len(), "{what}");
        let scale = b.iter().fold(1.0f32, |m, v| m.max(v.abs()));
        for (i, (x, y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x - y).abs() <= tolerance * scale,
                "{what}: element {i} is {x}, burn gives {y}"
            );
        }
    }

    /// Input channels, output channels, side, kernel, stride, padding, bias.
    type TrainCase = (
        usize,
        usize,
        usize,
        [usize; 2],
        usize,
        PaddingConfig2d,
        bool,
    );

    /// Training on the CPU backend takes the own convolution ([`ConvOps`]): the same outputs and the
    /// same gradients of the input, the weight and the bias as burn's convolution, on the networks'
    /// shapes, with and without a bias.
    #[test]
    fn training_convolution_matches_burns_values_and_gradients() {
        let device = Device::flex().autodiff();
        let cases: [TrainCase; 6] = [
            (1, 8, 28, [3, 3], 1, PaddingConfig2d::Valid, true),
            (
                4,
                8,
                13,
                [3, 3],
                1,
                PaddingConfig2d::Explicit(1, 1, 1, 1),
                false,
            ),
            (
                4,
                6,
                15,
                [3, 3],
                2,
                PaddingConfig2d::Explicit(1, 1, 1, 1),
                false,
            ),
            (4, 6, 14, [1, 1], 2, PaddingConfig2d::Valid, false),
            (
                3,
                5,
                9,
                [3, 3],
                1,
                PaddingConfig2d::Explicit(1, 2, 0, 1),
                true,
            ),
            (6, 4, 7, [1, 1], 1, PaddingConfig2d::Valid, true),
        ];
        for (k, (c, oc, side, kernel, stride, padding, bias)) in cases.into_iter().enumerate() {
            let mut conv = Conv2dConfig::new([c, oc], kernel)
                .with_stride([stride, stride])
                .with_padding(padding.clone())
                .with_bias(bias)
                .init(&device);
            conv.weight = Param::from_tensor(filled([oc, c, kernel[0], kernel[1]], k, &device));
            let pad = match padding {
                PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
                _ => [0; 4],
            };
            let what = format!("{c}->{oc} {kernel:?} stride {stride} {padding:?} bias {bias}");
            let run = |ours: bool| {
                let x = filled([2, c, side, side + 1], k + 3, &device).require_grad();
                let y = if ours {
                    train_conv(&conv, x.clone(), pad)
                } else {
                    conv.forward(x.clone())
                };
                // A weighted sum, so that every output's gradient differs.
                let weights = filled(y.dims(), k + 7, &device);
                let grads = (y.clone() * weights).sum().backward();
                let gx = all(x.grad(&grads).unwrap());
                let gw = all(conv.weight.grad(&grads).unwrap());
                let gb = conv.bias.as_ref().map(|b| all(b.grad(&grads).unwrap()));
                (y.dims(), all(y), gx, gw, gb)
            };
            let (dims, y, gx, gw, gb) = run(true);
            let (burn_dims, burn_y, burn_gx, burn_gw, burn_gb) = run(false);
            assert_eq!(dims, burn_dims, "{what}");
            assert_close(&y, &burn_y, &format!("{what}: output"));
            assert_close(&gx, &burn_gx, &format!("{what}: input gradient"));
            assert_close(&gw, &burn_gw, &format!("{what}: weight gradient"));
            if let (Some(gb), Some(burn_gb)) = (gb, burn_gb) {
                assert_close(&gb, &burn_gb, &format!("{what}: bias gradient"));
            }
        }
        // A first layer: its input (the images) takes no gradient, and the weight's and bias's are
        // the same without computing it.
        for padding in [
            PaddingConfig2d::Valid,
            PaddingConfig2d::Explicit(1, 1, 1, 1),
        ] {
            let conv = Conv2dConfig::new([2, 4], [3, 3])
                .with_padding(padding.clone())
                .init(&device);
            let pad = match padding {
                PaddingConfig2d::Explicit(t, l, b, r) => [t, l, b, r],
                _ => [0; 4],
            };
            let x = filled([3, 2, 9, 10], 4, &device);
            let run = |y: Tensor<4>| {
                let grads = (y.clone() * filled(y.dims(), 5, &device)).sum().backward();
                let gb = all(conv.bias.as_ref().unwrap().grad(&grads).unwrap());
                (all(conv.weight.grad(&grads).unwrap()), gb)
            };
            let (gw, gb) = run(train_conv(&conv, x.clone(), pad));
            let (burn_gw, burn_gb) = run(conv.forward(x));
            assert_close(
                &gw,
                &burn_gw,
                &format!("first layer {padding:?}: weight gradient"),
            );
            assert_close(
                &gb,
                &burn_gb,
                &format!("first layer {padding:?}: bias gradient"),
            );
        }
        // And through conv_block, batch norm and ReLU included.
        let mut conv = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .with_bias(false)
            .init(&device);
        conv.weight = Param::from_tensor(filled([4, 3, 3, 3], 9, &device));
        let norm = BatchNormConfig::new(4).init(&device);
        let x = filled([2, 3, 6, 6], 1, &device).require_grad();
        let grads = conv_block(&conv, Some(&norm), true, x.clone())
            .sum()
            .backward();
        let ours = all(x.grad(&grads).unwrap());
        let x = filled([2, 3, 6, 6], 1, &device).require_grad();
        let y = burn::tensor::activation::relu(norm.forward(conv.forward(x.clone())));
        let theirs = all(x.grad(&y.sum().backward()).unwrap());
        assert_close(&ours, &theirs, "conv_block while training");
    }

    /// Winograd takes the 3x3, stride-1 convolutions whose kernel fits the padded image; a smaller
    /// image keeps im2col's shapes.
    #[test]
    fn winograd_takes_the_layers_it_fits() {
        let shape = |[height, width]: [usize; 2], padding: [usize; 4]| ConvShape {
            batch: 2,
            channels: 16,
            height,
            width,
            out_channels: 16,
            kernel: [3, 3],
            stride: [1, 1],
            padding,
        };
        assert!(winograd_plan(&shape([7, 7], [1; 4])).is_some());
        assert!(winograd_plan(&shape([3, 3], [0; 4])).is_some());
        assert!(winograd_plan(&shape([1, 1], [1; 4])).is_some());
        assert!(winograd_plan(&shape([2, 2], [0; 4])).is_none());
        assert!(winograd_plan(&shape([3, 2], [0; 4])).is_none());
        assert!(
            winograd_plan(&ConvShape {
                stride: [2, 2],
                ..shape([7, 7], [1; 4])
            })
            .is_none()
        );
    }

    /// The page computes the convolution with its own products ([`matmul`]), natively gemm does: both
    /// give the same values and gradients on the networks' shapes.
    #[test]
    fn the_pages_products_give_the_same_convolution() {
        // (channels, out channels, side, kernel, stride, padding): the reference CNN's two layers, a
        // ResNet block's, its stride-2 layer and shortcut, and odd sizes.
        let cases = [
            (1, 32, 28, 3, 1, 0),
            (32, 64, 26, 3, 1, 0),
            (16, 16, 28, 3, 1, 1),
            (16, 32, 28, 3, 2, 1),
            (16, 32, 28, 1, 2, 0),
            (3, 5, 7, 3, 1, 1),
            (6, 4, 7, 1, 1, 0),
        ];
        for (k, (c, oc, side, kernel, stride, pad)) in cases.into_iter().enumerate() {
            let s = ConvShape {
                batch: 3,
                channels: c,
                height: side,
                width: side + 1,
                out_channels: oc,
                kernel: [kernel; 2],
                stride: [stride; 2],
                padding: [pad; 4],
            };
            let value = |len: usize, seed: usize| -> Vec<f32> {
                (0..len)
                    .map(|i| (((i * 7919 + seed * 104_729) % 2003) as f32 / 1001.5) - 1.0)
                    .collect()
            };
            let x = value(3 * c * side * (side + 1), k);
            let w = value(oc * c * kernel * kernel, k + 1);
            let b = value(oc, k + 2);
            let what = format!("{s:?}");
            let ours = convolve(&x, &w, &b, &s, true, true);
            let gemms = convolve(&x, &w, &b, &s, true, false);
            assert_close(&ours, &gemms, &format!("{what}: output"));
            let g = value(ours.len(), k + 3);
            let ours = convolve_backward(&x, &w, &g, &s, (true, true));
            let gemms = convolve_backward(&x, &w, &g, &s, (false, true));
            assert_close(&ours.0, &gemms.0, &format!("{what}: input gradient"));
            assert_close(&ours.1, &gemms.1, &format!("{what}: weight gradient"));
            assert_close(&ours.2, &gemms.2, &format!("{what}: bias gradient"));
        }
    }
}
