//! The training convolution on WebGPU (burn's cubecl backend), with its weight gradient as matrix
//! products.
//!
//! burn 0.22 builds without its `autotune` feature here, because on SwiftShader some timed candidate
//! shaders are rejected and the device is lost. Without it, every convolution's weight gradient takes
//! burn-cubecl's fallback: a direct convolution of the input by the output gradient, one thread per
//! weight, each summing batch x height x width products in a row. That is a few thousand threads with
//! long serial sums: it leaves a GPU almost idle, and a bigger batch does not help (measured on an
//! NVIDIA H200: training 35 times slower than inference).
//!
//! Here the weight gradient is the im2col product instead: the padded input's taps are gathered as the
//! columns `[batch, channels x kh x kw, pixels]`, each image's output gradient `[out_channels, pixels]`
//! multiplies its columns' transpose in one batched product, and the per-image results are summed.
//! That is burn's matrix product, the one its dense layers and inference already use on every
//! adapter. The forward pass and the input gradient stay burn's kernels.
//!
//! On an adapter that runs on the CPU (Mesa's lavapipe natively; SwiftShader in Chromium, which says
//! so as `isFallbackAdapter`), burn's direct kernel already has threads enough for the cores and the
//! columns cost more than they save: opening such an adapter turns the products off
//! ([`set_weight_gradient_as_products`]).

use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::ops::{ConvOptions, ModuleOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, Cube, TensorMetadata};
use burn::tensor::{FloatDType, Shape, Slice};

use std::sync::atomic::{AtomicBool, Ordering};

use crate::kernels::{ConvGradients, ConvOps, Geometry, tracked_conv};

static PRODUCTS: AtomicBool = AtomicBool::new(true);

/// Whether training on wgpu takes a convolution's weight gradient as matrix products (the default) or
/// as burn's direct kernel. Opening the wgpu device sets it from the adapter; the bench can override
/// it after that.
pub fn set_weight_gradient_as_products(on: bool) {
    PRODUCTS.store(on, Ordering::Relaxed);
}

/// See [`set_weight_gradient_as_products`].
pub fn weight_gradient_as_products() -> bool {
    PRODUCTS.load(Ordering::Relaxed)
}

fn options(g: Geometry) -> ConvOptions<2> {
    let [t, l, b, r] = g.padding;
    ConvOptions::new_with_padding(g.stride, [(t, b), (l, r)], [1, 1], 1)
}

fn range(start: usize, end: usize, step: usize) -> Slice {
    Slice::new(start as isize, Some(end as isize), step as isize)
}

/// The most values the columns of one pass hold: 32 MB of f32. A larger batch is taken in groups of
/// images, so that no buffer nears WebGPU's default limit on a storage binding (128 MB) whatever the
/// batch, width or image size.
const COLUMNS_LIMIT: usize = 1 << 23;

/// The gradient of a convolution's weight `[oc, c, kh, kw]` (groups 1, dilation 1) from its input `x`
/// `[n, c, h, w]` and its output gradient `[n, oc, oh, ow]`, as matrix products on any backend:
/// `sum over images of grad[i] ([oc, pixels]) x columns[i]^T ([pixels, c x kh x kw])`.
pub(crate) fn weight_gradient<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    dims: [usize; 4],
    g: Geometry,
) -> FloatTensor<B> {
    weight_gradient_in_groups::<B>(x, grad, dims, g, COLUMNS_LIMIT)
}

/// [`weight_gradient`], with the images taken in groups whose columns hold at most `limit` values (at
/// least one image a group).
fn weight_gradient_in_groups<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    [oc, c, kh, kw]: [usize; 4],
    g: Geometry,
    limit: usize,
) -> FloatTensor<B> {
    let [n, _, h, w] = x.shape().dims::<4>();
    let [_, _, oh, ow] = grad.shape().dims::<4>();
    let per_image = c * kh * kw * oh * ow;
    let group = (limit / per_image.max(1)).clamp(1, n.max(1));
    let mut sum: Option<FloatTensor<B>> = None;
    for first in (0..n).step_by(group) {
        let last = (first + group).min(n);
        let (xs, gs) = if first == 0 && last == n {
            (x.clone(), grad.clone())
        } else {
            let part = |t: &FloatTensor<B>, channels: usize, [a, b]: [usize; 2]| {
                let window = [
                    range(first, last, 1),
                    range(0, channels, 1),
                    range(0, a, 1),
                    range(0, b, 1),
                ];
                B::float_slice(t.clone(), &window)
            };
            (part(&x, c, [h, w]), part(&grad, oc, [oh, ow]))
        };
        let partial = group_gradient::<B>(xs, gs, [oc, c, kh, kw], g);
        sum = Some(match sum {
            Some(s) => B::float_add(s, partial),
            None => partial,
        });
    }
    let sum = sum.unwrap_or_else(|| {
        B::float_zeros(
            Shape::new([oc, c * kh * kw]),
            &x.device(),
            FloatDType::from(x.dtype()),
        )
    });
    B::float_reshape(sum, Shape::new([oc, c, kh, kw]))
}

/// One group of images' share of the weight gradient, `[oc, c x kh x kw]`.
fn group_gradient<B: Backend>(
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
    [oc, c, kh, kw]: [usize; 4],
    g: Geometry,
) -> FloatTensor<B> {
    let [n, _, h, w] = x.shape().dims::<4>();
    let [_, _, oh, ow] = grad.shape().dims::<4>();
    let [t, l, b, r] = g.padding;
    let [sh, sw] = g.stride;
    let pixels = oh * ow;
    let padded = if g.padding == [0; 4] {
        x
    } else {
        let zeros = B::float_zeros(
            Shape::new([n, c, h + t + b, w + l + r]),
            &x.device(),
            FloatDType::from(x.dtype()),
        );
        let inside = [
            range(0, n, 1),
            range(0, c, 1),
            range(t, t + h, 1),
            range(l, l + w, 1),
        ];
        B::float_slice_assign(zeros, &inside, x)
    };
    // Tap (i, j) reads the padded input at (oy * sh + i, ox * sw + j) for every output pixel.
    let taps = (0..kh * kw)
        .map(|tap| {
            let (i, j) = (tap / kw, tap % kw);
            let window = [
                range(0, n, 1),
                range(0, c, 1),
                range(i, i + (oh - 1) * sh + 1, sh),
                range(j, j + (ow - 1) * sw + 1, sw),
            ];
            let tap = B::float_slice(padded.clone(), &window);
            B::float_reshape(tap, Shape::new([n, c, 1, pixels]))
        })
        .collect();
    // [n, c, kh x kw, pixels]: row (c, i, j) of each image, the weight's own order.
    let columns = B::float_reshape(B::float_cat(taps, 2), Shape::new([n, c * kh * kw, pixels]));
    let grad = B::float_reshape(grad, Shape::new([n, oc, pixels]));
    let per_image = B::float_matmul(grad, B::float_swap_dims(columns, 1, 2));
    B::float_reshape(
        B::float_sum_dim(per_image, 0),
        Shape::new([oc, c * kh * kw]),
    )
}

/// The bias gradient: the output gradient summed over images and pixels.
fn bias_gradient<B: Backend>(grad: FloatTensor<B>) -> FloatTensor<B> {
    let [n, oc, oh, ow] = grad.shape().dims::<4>();
    let grad = B::float_reshape(grad, Shape::new([n, oc, oh * ow]));
    let sum = B::float_sum_dim(B::float_sum_dim(grad, 2), 0);
    B::float_reshape(sum, Shape::new([oc]))
}

impl ConvOps for Cube {
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
        forward(x, weight, bias, g)
    }
}

/// burn's convolution on the cubecl backend.
fn forward(
    x: FloatTensor<Cube>,
    weight: FloatTensor<Cube>,
    bias: FloatTensor<Cube>,
    g: Geometry,
) -> FloatTensor<Cube> {
    Cube::conv2d(x, weight, Some(bias), options(g))
}

impl<C: CheckpointStrategy> ConvOps for Autodiff<Cube, C> {
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
        tracked_conv::<Cube, C, GpuGradients>([x, weight, bias], g, forward)
    }
}

/// The gradients on wgpu: the bias's as sums, the weight's as matrix products (or burn's direct
/// kernel, [`set_weight_gradient_as_products`]), the input's by burn's kernel.
#[derive(Debug)]
struct GpuGradients;

impl ConvGradients for GpuGradients {
    fn gradients<B: Backend>(
        [x, weight, grad]: [FloatTensor<B>; 3],
        g: Geometry,
        [need_x, need_w, need_b]: [bool; 3],
    ) -> [Option<FloatTensor<B>>; 3] {
        let gb = need_b.then(|| bias_gradient::<B>(grad.clone()));
        let gw = need_w.then(|| {
            if weight_gradient_as_products() {
                let w_dims = weight.shape().dims::<4>();
                weight_gradient::<B>(x.clone(), grad.clone(), w_dims, g)
            } else {
                B::conv2d_weight_backward(x.clone(), weight.clone(), grad.clone(), options(g))
            }
        });
        let gx = need_x.then(|| B::conv2d_x_backward(x, weight, grad, options(g)));
        [gx, gw, gb]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv_block;
    use crate::kernels::tests::{all, assert_within, filled};
    use crate::nn::{Architecture, ModelOptions};
    use burn::backend::Dispatch;
    use burn::module::Param;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::nn::loss::CrossEntropyLossConfig;
    use burn::optim::{GradientsParams, SgdConfig};
    use burn::prelude::*;

    /// Input channels, output channels, side, kernel, stride, padding (top, left, bottom, right).
    type Case = (usize, usize, usize, [usize; 2], usize, [usize; 4]);

    /// The networks' shapes, strided and 1x1 ones, and padding that differs by side.
    const CASES: [Case; 6] = [
        (1, 8, 28, [3, 3], 1, [0; 4]),
        (4, 8, 13, [3, 3], 1, [1; 4]),
        (4, 6, 15, [3, 3], 2, [1; 4]),
        (4, 6, 14, [1, 1], 2, [0; 4]),
        (3, 5, 9, [3, 3], 1, [1, 2, 0, 1]),
        (6, 4, 7, [1, 1], 1, [0; 4]),
    ];

    fn conv(case: usize, bias: bool, device: &Device) -> Conv2d {
        let (c, oc, _, kernel, stride, [t, l, b, r]) = CASES[case];
        let mut conv = Conv2dConfig::new([c, oc], kernel)
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(t, l, b, r))
            .with_bias(bias)
            .init(device);
        conv.weight = Param::from_tensor(filled([oc, c, kernel[0], kernel[1]], case, device));
        if bias {
            conv.bias = Some(Param::from_tensor(filled([oc], case + 11, device)));
        }
        conv
    }

    /// burn's own convolution on the CPU backend: output, input, weight and bias gradients of a
    /// weighted sum of the outputs.
    fn burns(case: usize, bias: bool) -> [Vec<f32>; 4] {
        let device = Device::flex().autodiff();
        let conv = conv(case, bias, &device);
        let (c, _, side, ..) = CASES[case];
        let x = filled([2, c, side, side + 1], case + 3, &device).require_grad();
        let y = conv.forward(x.clone());
        let weights = filled(y.dims(), case + 7, &device);
        let grads = (y.clone() * weights).sum().backward();
        let gb = conv.bias.as_ref().map(|b| all(b.grad(&grads).unwrap()));
        [
            all(y),
            all(x.grad(&grads).unwrap()),
            all(conv.weight.grad(&grads).unwrap()),
            gb.unwrap_or_default(),
        ]
    }

    /// The im2col weight gradient is burn's, computed on the CPU backend (no GPU needed), whole or
    /// in groups of images.
    #[test]
    fn weight_gradient_as_products_is_burns() {
        let device = Device::flex();
        for (case, &(c, oc, side, kernel, stride, padding)) in CASES.iter().enumerate() {
            let x = filled([2, c, side, side + 1], case + 3, &device);
            let y = conv(case, false, &device).forward(x.clone());
            let grad = filled(y.dims(), case + 7, &device);
            let g = Geometry {
                stride: [stride, stride],
                padding,
            };
            let [_, _, gw, _] = burns(case, false);
            // All at once, and (a limit under one image's columns) an image at a time.
            for limit in [COLUMNS_LIMIT, 1] {
                let ours = Tensor::<4>::from_dispatch(weight_gradient_in_groups::<Dispatch>(
                    x.clone().into_dispatch(),
                    grad.clone().into_dispatch(),
                    [oc, c, kernel[0], kernel[1]],
                    g,
                    limit,
                ));
                assert_within(
                    &all(ours),
                    &gw,
                    2e-5,
                    &format!("case {case}, limit {limit}"),
                );
            }
        }
    }

    /// The wgpu device (opened once: wgpu's service takes one registration per process), computing
    /// weight gradients as products; and the lock the tests that use it hold, since the choice of
    /// weight gradient is the process's.
    fn webgpu() -> (Device, std::sync::MutexGuard<'static, ()>) {
        static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        static DEVICE: std::sync::OnceLock<Device> = std::sync::OnceLock::new();
        let device = DEVICE
            .get_or_init(|| {
                let opened = crate::tensor::block_on(crate::backend::webgpu_device_described());
                let (device, adapter) = opened.expect(
                    "a wgpu adapter (natively Mesa's lavapipe, which `make setup` installs)",
                );
                eprintln!("wgpu adapter: {adapter}");
                device
            })
            .clone();
        // Lavapipe runs on the CPU, so opening it chose burn's kernel: these tests are about the
        // products.
        set_weight_gradient_as_products(true);
        (device, guard)
    }

    /// Training on wgpu takes the convolution with the weight gradient as products (or, where the
    /// adapter runs on the CPU, burn's kernel): the same outputs and gradients as burn's on the CPU
    /// backend, with and without a bias.
    #[test]
    fn training_convolution_on_wgpu_is_the_cpus() {
        let (device, _lock) = webgpu();
        let device = device.autodiff();
        for (case, bias, products) in (0..CASES.len())
            .flat_map(|case| [(case, false, true), (case, true, true), (case, true, false)])
        {
            set_weight_gradient_as_products(products);
            let conv = conv(case, bias, &device);
            let (c, _, side, ..) = CASES[case];
            let x = filled([2, c, side, side + 1], case + 3, &device).require_grad();
            let y = conv_block(&conv, None, false, x.clone());
            let weights = filled(y.dims(), case + 7, &device);
            let grads = (y.clone() * weights).sum().backward();
            let [by, bx, bw, bb] = burns(case, bias);
            let what = format!("case {case}, bias {bias}, products {products}");
            assert_within(&all(y), &by, 1e-4, &format!("{what}: output"));
            assert_within(&all(x.grad(&grads).unwrap()), &bx, 1e-4, &what);
            let gw = all(conv.weight.grad(&grads).unwrap());
            assert_within(&gw, &bw, 1e-4, &format!("{what}: weight gradient"));
            if let Some(b) = &conv.bias {
                let gb = all(b.grad(&grads).unwrap());
                assert_within(&gb, &bb, 1e-4, &format!("{what}: bias gradient"));
            }
        }
    }

    /// The same network from the same weights, trained for a few SGD steps on wgpu and on the CPU
    /// backend, gives the same losses: a small ResNet (3x3 and strided 1x1 convolutions, batch norm).
    #[test]
    fn a_resnet_trains_the_same_on_wgpu_and_the_cpu() {
        let cpu = Device::flex().autodiff();
        let (gpu, _lock) = webgpu();
        let gpu = gpu.autodiff();
        let options = ModelOptions {
            resnet_width: 4,
            resnet_blocks: 1,
            ..ModelOptions::default()
        }
        .for_images(1, 12, 12);
        let start = Architecture::ResNet.init(10, &options, &cpu);
        let file = crate::tensor::block_on(crate::store::to_burnpack(
            &start,
            10,
            &options,
            &Default::default(),
        ))
        .unwrap();
        let losses = |device: &Device| {
            let mut model = crate::store::from_burnpack(&file, device).unwrap().model;
            let mut optim = SgdConfig::new().init();
            let loss_fn = CrossEntropyLossConfig::new().init(device);
            (0..3)
                .map(|_| {
                    // The same batch each step, so that the loss falls.
                    let images = filled([8, 1, 12, 12], 5, device);
                    let labels: Vec<i64> = (0..8).map(|i| ((i * 3) % 10) as i64).collect();
                    let labels = Tensor::<1, Int>::from_data(TensorData::new(labels, [8]), device);
                    let loss = loss_fn.forward(model.forward(images), labels);
                    let grads = GradientsParams::from_grads(loss.backward(), &model);
                    model = optim.step(0.1, model.clone(), grads);
                    all(loss.detach())[0]
                })
                .collect::<Vec<f32>>()
        };
        let (on_cpu, on_gpu) = (losses(&cpu), losses(&gpu));
        assert!(on_cpu[2] < on_cpu[0], "the loss falls: {on_cpu:?}");
        assert_within(&on_gpu, &on_cpu, 1e-4, "losses");
    }
}
