//! The default CNN: blocks of two 3x3 convolutions with batch norm and ReLU, max pooling and dropout, then
//! a small dense head.

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{
    BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig, PaddingConfig2d,
};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::kernels::conv_block;

/// Configuration of [`Cnn`].
#[derive(Config, Debug)]
pub struct CnnConfig {
    #[config(default = 10)]
    pub classes: usize,
    /// Output channels of each block; each block halves the image side.
    #[config(default = "vec![32, 64]")]
    pub channels: Vec<usize>,
    /// Convolutions per block (1 or 2).
    #[config(default = 2)]
    pub convs_per_block: usize,
    /// Width of the dense hidden layer; 0: none (class scores straight from the last block's pooled
    /// activations).
    #[config(default = 256)]
    pub hidden: usize,
    /// Dropout after each block.
    #[config(default = 0.25)]
    pub block_dropout: f64,
    /// Dropout before the last layer.
    #[config(default = 0.5)]
    pub head_dropout: f64,
    /// Channels of the input images (1 gray, 3 colour).
    #[config(default = 1)]
    pub in_channels: usize,
    /// Height of the input images.
    #[config(default = 28)]
    pub rows: usize,
    /// Width of the input images.
    #[config(default = 28)]
    pub cols: usize,
}

/// A conv-BN-ReLU layer.
#[derive(Module, Debug)]
pub struct ConvBn {
    conv: Conv2d,
    norm: BatchNorm,
}

impl ConvBn {
    /// A 3x3 convolution keeping the size, without bias (batch norm has one), then batch norm.
    pub fn new(input: usize, output: usize, stride: usize, device: &Device) -> Self {
        Self {
            conv: Conv2dConfig::new([input, output], [3, 3])
                .with_stride([stride, stride])
                .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
                .with_bias(false)
                .init(device),
            norm: BatchNormConfig::new(output).init(device),
        }
    }

    /// Convolution and batch norm, without the activation.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        conv_block(&self.conv, Some(&self.norm), false, x)
    }

    /// Convolution, batch norm and ReLU.
    pub fn forward_relu(&self, x: Tensor<4>) -> Tensor<4> {
        conv_block(&self.conv, Some(&self.norm), true, x)
    }
}

/// One block: conv-BN-ReLU twice, max pool 2x2, dropout.
#[derive(Module, Debug)]
pub struct CnnBlock {
    first: ConvBn,
    /// None: a block of one convolution.
    second: Option<ConvBn>,
    pool: MaxPool2d,
    dropout: Dropout,
}

impl CnnBlock {
    /// The block's last activation, before pooling (what Grad-CAM explains).
    fn activations(&self, x: Tensor<4>) -> Tensor<4> {
        let x = self.first.forward_relu(x);
        match &self.second {
            Some(second) => second.forward_relu(x),
            None => x,
        }
    }

    fn pool(&self, x: Tensor<4>) -> Tensor<4> {
        self.dropout
            .forward(crate::kernels::pool_2x2(&self.pool, x))
    }
}

/// The CNN.
#[derive(Module, Debug)]
pub struct Cnn {
    blocks: Vec<CnnBlock>,
    /// None: no hidden layer.
    fc1: Option<Linear>,
    dropout: Dropout,
    fc2: Linear,
}

impl CnnConfig {
    /// Values the last block hands the head: channels times the pooled size (each 2x2 pool halves a side,
    /// rounding down); 0 when the blocks pool the image away.
    pub fn flat_features(&self) -> usize {
        let blocks = self.channels.len();
        self.channels.last().copied().unwrap_or(0) * (self.rows >> blocks) * (self.cols >> blocks)
    }

    /// Builds the network.
    pub fn init(&self, device: &Device) -> Cnn {
        let mut input = self.in_channels;
        let blocks = self
            .channels
            .iter()
            .map(|&output| {
                let block = CnnBlock {
                    first: ConvBn::new(input, output, 1, device),
                    second: (self.convs_per_block > 1)
                        .then(|| ConvBn::new(output, output, 1, device)),
                    pool: MaxPool2dConfig::new([2, 2]).init(),
                    dropout: DropoutConfig::new(self.block_dropout).init(),
                };
                input = output;
                block
            })
            .collect();
        let flat = self.flat_features();
        let fc1 = (self.hidden > 0).then(|| LinearConfig::new(flat, self.hidden).init(device));
        Cnn {
            blocks,
            fc1,
            dropout: DropoutConfig::new(self.head_dropout).init(),
            fc2: LinearConfig::new(
                if self.hidden > 0 { self.hidden } else { flat },
                self.classes,
            )
            .init(device),
        }
    }
}

impl Cnn {
    /// The convolutional blocks Grad-CAM can explain, first to last.
    pub fn layer_names(&self) -> Vec<String> {
        (1..=self.blocks.len())
            .map(|b| format!("block {b}"))
            .collect()
    }

    /// The activations of block `layer` (before its pooling).
    pub fn features_at(&self, images: Tensor<4>, layer: usize) -> Tensor<4> {
        let layer = layer.min(self.blocks.len() - 1);
        let mut x = images;
        for block in &self.blocks[..layer] {
            x = block.pool(block.activations(x));
        }
        self.blocks[layer].activations(x)
    }

    /// Class scores from the activations of block `layer`.
    pub fn head_from(&self, x: Tensor<4>, layer: usize) -> Tensor<2> {
        let layer = layer.min(self.blocks.len() - 1);
        let last = self.blocks.len() - 1;
        let mut x = x;
        for i in layer..last {
            x = self.blocks[i].pool(x);
            x = self.blocks[i + 1].activations(x);
        }
        self.head(x)
    }

    /// # Shapes
    /// - input: `[batch, 1, 28, 28]`
    /// - output: `[batch, 64, 14, 14]` with the default config (the last block's activation before pooling)
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let (last, earlier) = self
            .blocks
            .split_last()
            .expect("a CNN has at least one block");
        let x = earlier
            .iter()
            .fold(images, |x, block| block.pool(block.activations(x)));
        last.activations(x)
    }

    /// # Shapes
    /// - input: `[batch, 64, 14, 14]`
    /// - output: `[batch, hidden]`
    pub fn embed(&self, features: Tensor<4>) -> Tensor<2> {
        let last = self.blocks.last().expect("a CNN has at least one block");
        let x = last.pool(features); // [batch, 64, 7, 7]
        let x = x.flatten(1, 3);
        match &self.fc1 {
            Some(fc1) => relu(fc1.forward(x)), // [batch, hidden]
            None => x,
        }
    }

    /// # Shapes
    /// - input: `[batch, 64, 14, 14]`
    /// - output: `[batch, classes]`
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.fc2.forward(self.dropout.forward(self.embed(features)))
    }
}
