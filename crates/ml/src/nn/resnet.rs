//! A ResNet for small images (28 x 28 gray, 32 x 32 colour) in three stages (He et al., "Deep Residual Learning for Image Recognition",
//! 2016, section 4.2: the CIFAR variant), with identity shortcuts inside a stage and 1x1 projection
//! shortcuts where a stage changes width and halves the side.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{AdaptiveAvgPool2d, AdaptiveAvgPool2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::kernels::conv_block;

use super::cnn::ConvBn;

/// Configuration of [`ResNet`].
#[derive(Config, Debug)]
pub struct ResNetConfig {
    #[config(default = 10)]
    pub classes: usize,
    /// Channels of the three stages.
    #[config(default = "[16, 32, 64]")]
    pub widths: [usize; 3],
    /// Residual blocks per stage (3 gives ResNet-20).
    #[config(default = 3)]
    pub blocks_per_stage: usize,
    /// Channels of the input images (1 gray, 3 colour). Any size from 8 x 8 up works: the last pooling
    /// averages whatever the stages leave.
    #[config(default = 1)]
    pub in_channels: usize,
}

/// A 1x1 strided convolution with batch norm, matching a block's input to its output.
#[derive(Module, Debug)]
pub struct Projection {
    conv: Conv2d,
    norm: BatchNorm,
}

/// Two 3x3 conv-BN layers and a shortcut.
#[derive(Module, Debug)]
pub struct ResidualBlock {
    first: ConvBn,
    second: ConvBn,
    /// None: identity shortcut.
    projection: Option<Projection>,
}

impl ResidualBlock {
    fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        let projection = (input != output || stride != 1).then(|| Projection {
            conv: Conv2dConfig::new([input, output], [1, 1])
                .with_stride([stride, stride])
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(output).init(device),
        });
        Self {
            first: ConvBn::new(input, output, stride, device),
            second: ConvBn::new(output, output, 1, device),
            projection,
        }
    }

    /// # Shapes
    /// - input: `[batch, input, h, w]`
    /// - output: `[batch, output, h / stride, w / stride]`
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let shortcut = match &self.projection {
            Some(p) => conv_block(&p.conv, Some(&p.norm), false, x.clone()),
            None => x.clone(),
        };
        let y = self.first.forward_relu(x);
        relu(self.second.forward(y) + shortcut)
    }
}

/// The ResNet.
#[derive(Module, Debug)]
pub struct ResNet {
    stem: ConvBn,
    blocks: Vec<ResidualBlock>,
    pool: AdaptiveAvgPool2d,
    fc: Linear,
}

impl ResNetConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> ResNet {
        let mut blocks = Vec::new();
        let mut input = self.widths[0];
        for (stage, &width) in self.widths.iter().enumerate() {
            for b in 0..self.blocks_per_stage {
                let stride = if stage > 0 && b == 0 { 2 } else { 1 };
                blocks.push(ResidualBlock::new(input, width, stride, device));
                input = width;
            }
        }
        ResNet {
            stem: ConvBn::new(self.in_channels, self.widths[0], 1, device),
            blocks,
            pool: AdaptiveAvgPool2dConfig::new([1, 1]).init(),
            fc: LinearConfig::new(input, self.classes).init(device),
        }
    }
}

impl ResNet {
    /// The layers Grad-CAM can explain: the stem, then each residual block.
    pub fn layer_names(&self) -> Vec<String> {
        std::iter::once("stem".to_string())
            .chain((1..=self.blocks.len()).map(|b| format!("block {b}")))
            .collect()
    }

    /// The output of layer `layer` (0: the stem, `b`: residual block `b`).
    pub fn features_at(&self, images: Tensor<4>, layer: usize) -> Tensor<4> {
        let layer = layer.min(self.blocks.len());
        let x = self.stem.forward_relu(images);
        self.blocks[..layer]
            .iter()
            .fold(x, |x, block| block.forward(x))
    }

    /// Class scores from the output of layer `layer`.
    pub fn head_from(&self, x: Tensor<4>, layer: usize) -> Tensor<2> {
        let layer = layer.min(self.blocks.len());
        let x = self.blocks[layer..]
            .iter()
            .fold(x, |x, block| block.forward(x));
        self.head(x)
    }

    /// # Shapes
    /// - input: `[batch, channels, 28, 28]`
    /// - output: `[batch, 64, 7, 7]` with the default widths (the last stage's output)
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let x = self.stem.forward_relu(images); // [batch, 16, 28, 28]
        self.blocks.iter().fold(x, |x, block| block.forward(x))
    }

    /// # Shapes
    /// - input: `[batch, 64, 7, 7]`
    /// - output: `[batch, 64]`
    pub fn embed(&self, features: Tensor<4>) -> Tensor<2> {
        self.pool.forward(features).flatten(1, 3) // [batch, 64]
    }

    /// # Shapes
    /// - input: `[batch, 64, 7, 7]`
    /// - output: `[batch, classes]`
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.fc.forward(self.embed(features))
    }
}
