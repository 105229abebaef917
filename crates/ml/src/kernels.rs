//! A convolution of our own for inference on the CPU backend. burn's CPU convolution (flex) converts
//! each input to channels-last, gathers patches, multiplies, then scatters the product back to
//! channels-first and adds the bias in another pass; batch norm and ReLU are more passes after it. Here
//! each image's patches are gathered in the order the product needs (rows of the kernel's taps, columns
//! of output pixels: for stride 1 each row is copied whole), the product is written straight into the
//! channels-first output on top of the bias, batch norm is folded into the weights and bias, and ReLU
//! runs while the output is in cache. Training and WebGPU keep burn's layers (their gradients are
//! burn's). Tested against burn's results.

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::norm::BatchNorm;
use burn::prelude::*;

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
                // The output columns whose input column is inside the image.
                let first = pl.saturating_sub(j).div_ceil(sw).min(ow);
                let last = ((s.width + pl).saturating_sub(j))
                    .div_ceil(sw)
                    .clamp(first, ow);
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
    let [oh, ow] = s.output();
    let pixels = oh * ow;
    let taps = s.channels * s.kernel[0] * s.kernel[1];
    let image_len = s.channels * s.height * s.width;
    assert_eq!(input.len(), s.batch * image_len, "input size");
    assert_eq!(weight.len(), s.out_channels * taps, "weight size");
    assert_eq!(bias.len(), s.out_channels, "bias size");
    let mut output = vec![0.0f32; s.batch * s.out_channels * pixels];
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
        // out[o][p] = bias[o] + sum over taps of weight[o][t] * patches[t][p]. The sizes are checked
        // above, so every pointer stays inside its slice.
        unsafe {
            gemm::gemm(
                s.out_channels,
                pixels,
                taps,
                out.as_mut_ptr(),
                1,
                pixels as isize,
                true,
                weight.as_ptr(),
                1,
                taps as isize,
                patches.as_ptr(),
                1,
                pixels as isize,
                1.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::None,
            );
        }
        if relu {
            // A select, not `f32::max`: its NaN rule keeps LLVM from vectorising it on wasm.
            for v in out.iter_mut() {
                *v = if *v > 0.0 { *v } else { 0.0 };
            }
        }
    }
    output
}

fn values<const D: usize>(tensor: Tensor<D>) -> Option<Vec<f32>> {
    tensor.into_data().try_into_vec_as::<f32>().ok()
}

/// A convolution, then batch norm and ReLU if given: on the CPU backend for inference, [`conv2d`]
/// with the batch norm folded into its weights; otherwise (training, WebGPU, grouped or dilated
/// convolutions, `Same` padding) burn's layers. Both give the same values, rounding apart.
pub fn conv_block(conv: &Conv2d, norm: Option<&BatchNorm>, relu: bool, x: Tensor<4>) -> Tensor<4> {
    let padding = match conv.padding {
        PaddingConfig2d::Valid => Some([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Some([top, left, bottom, right]),
        PaddingConfig2d::Same => None,
    };
    let device = x.device();
    let ours =
        !x.is_autodiff() && device == Device::flex() && conv.groups == 1 && conv.dilation == [1, 1];
    if let (true, Some(padding)) = (ours, padding)
        && let Some(y) = fused(conv, norm, relu, x.clone(), padding, &device)
    {
        return y;
    }
    let y = conv.forward(x);
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
mod tests {
    use super::*;
    use burn::module::{Param, RunningState};
    use burn::nn::conv::Conv2dConfig;
    use burn::nn::norm::BatchNormConfig;

    /// Distinct-ish values in a scrambled order.
    fn filled<const D: usize>(dims: [usize; D], seed: usize, device: &Device) -> Tensor<D> {
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

    /// Training keeps burn's layers: the input gradient flows through the block.
    #[test]
    fn conv_block_keeps_gradients_when_training() {
        let device = Device::flex().autodiff();
        let conv = Conv2dConfig::new([2, 4], [3, 3]).init(&device);
        let x = filled([2, 2, 6, 6], 1, &device).require_grad();
        let grads = conv_block(&conv, None, true, x.clone()).sum().backward();
        assert!(x.grad(&grads).is_some());
    }
}
