//! The reference CNN used for speed comparisons everywhere: conv 32 3x3 ReLU -> conv 64 3x3 ReLU -> max
//! pool 2x2 -> dense 128 ReLU -> dense 10 (1,199,882 parameters with 10 classes; the Keras MNIST example's
//! network).

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::pool::{MaxPool2d, MaxPool2dConfig};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::kernels::conv_block;

/// Configuration of [`RefCnn`].
#[derive(Config, Debug)]
pub struct RefCnnConfig {
    #[config(default = 10)]
    pub classes: usize,
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

/// The reference CNN.
#[derive(Module, Debug)]
pub struct RefCnn {
    conv1: Conv2d,
    conv2: Conv2d,
    pool: MaxPool2d,
    fc1: Linear,
    fc2: Linear,
}

impl RefCnnConfig {
    /// Values the pooled last convolution hands the dense layer: two unpadded 3x3 convolutions take 4
    /// from each side, the pool halves it (9,216 on 28 x 28); 0 when nothing is left.
    pub fn flat_features(&self) -> usize {
        64 * (self.rows.saturating_sub(4) / 2) * (self.cols.saturating_sub(4) / 2)
    }

    /// Builds the network.
    pub fn init(&self, device: &Device) -> RefCnn {
        RefCnn {
            conv1: Conv2dConfig::new([self.in_channels, 32], [3, 3]).init(device),
            conv2: Conv2dConfig::new([32, 64], [3, 3]).init(device),
            pool: MaxPool2dConfig::new([2, 2]).init(),
            fc1: LinearConfig::new(self.flat_features(), 128).init(device),
            fc2: LinearConfig::new(128, self.classes).init(device),
        }
    }
}

impl RefCnn {
    /// The convolutional layers Grad-CAM can explain, first to last.
    pub fn layer_names(&self) -> Vec<String> {
        vec!["conv1".into(), "conv2".into()]
    }

    /// The activations of convolutional layer `layer` (0: conv1, 1: conv2).
    pub fn features_at(&self, images: Tensor<4>, layer: usize) -> Tensor<4> {
        let x = conv_block(&self.conv1, None, true, images); // [batch, 32, 26, 26]
        if layer == 0 {
            x
        } else {
            conv_block(&self.conv2, None, true, x)
        }
    }

    /// Class scores from the activations of layer `layer`.
    pub fn head_from(&self, x: Tensor<4>, layer: usize) -> Tensor<2> {
        let x = if layer == 0 {
            conv_block(&self.conv2, None, true, x)
        } else {
            x
        };
        self.head(x)
    }

    /// # Shapes
    /// - input: `[batch, 1, 28, 28]`
    /// - output: `[batch, 64, 24, 24]` (the last convolution, before pooling)
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        let x = conv_block(&self.conv1, None, true, images); // [batch, 32, 26, 26]
        conv_block(&self.conv2, None, true, x) // [batch, 64, 24, 24]
    }

    /// # Shapes
    /// - input: `[batch, 64, 24, 24]`
    /// - output: `[batch, 128]`
    pub fn embed(&self, features: Tensor<4>) -> Tensor<2> {
        let x = crate::kernels::pool_2x2(&self.pool, features); // [batch, 64, 12, 12]
        let x = x.flatten(1, 3); // [batch, 9216]
        relu(self.fc1.forward(x)) // [batch, 128]
    }

    /// # Shapes
    /// - input: `[batch, 64, 24, 24]`
    /// - output: `[batch, classes]`
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        self.fc2.forward(self.embed(features))
    }
}
