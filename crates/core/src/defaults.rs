//! The one home of the network options' defaults and ranges: the settings (URL, form, bench) clamp to
//! these ranges and start from these defaults, and the ml crate's options check against the same ranges
//! and default to the same values.

use std::ops::RangeInclusive;

/// MLP: widths of the hidden layers.
pub const MLP_HIDDEN: [usize; 2] = [512, 256];
/// MLP: how many hidden layers it may have.
pub const MLP_LAYERS: RangeInclusive<usize> = 1..=8;
/// MLP: the width of one hidden layer.
pub const MLP_WIDTH: RangeInclusive<usize> = 1..=8192;
/// MLP: dropout probability.
pub const MLP_DROPOUT: f64 = 0.2;
/// MLP: the dropout probabilities allowed (past 0.9 almost nothing reaches the next layer).
pub const DROPOUT: RangeInclusive<f64> = 0.0..=0.9;
/// SVM: random Fourier features of the RBF kernel.
pub const RFF_FEATURES: usize = 4096;
/// SVM: the random features allowed.
pub const RFF_RANGE: RangeInclusive<usize> = 1..=32_768;
/// SVM: the RBF kernel's width.
pub const GAMMA: f64 = 0.01;
/// SVM: principal components the random features are drawn in (0: all the pixels).
pub const PCA: usize = 0;
/// SVM: the principal components allowed.
pub const PCA_RANGE: RangeInclusive<usize> = 0..=4096;
/// ResNet: channels of the first stage (the second has twice as many, the third four times).
pub const RESNET_WIDTH: usize = 16;
/// ResNet: the first-stage widths allowed.
pub const RESNET_WIDTH_RANGE: RangeInclusive<usize> = 4..=128;
/// ResNet: residual blocks per stage (3: ResNet-20).
pub const RESNET_BLOCKS: usize = 3;
/// ResNet: the blocks per stage allowed.
pub const RESNET_BLOCKS_RANGE: RangeInclusive<usize> = 1..=9;
/// CNN: output channels of each block (each block halves the image side).
pub const CNN_CHANNELS: [usize; 2] = [32, 64];
/// CNN: how many blocks it may have (28 pixels halve to 1 after four).
pub const CNN_BLOCKS: RangeInclusive<usize> = 1..=4;
/// CNN: the channels one block may have.
pub const CNN_CHANNEL_RANGE: RangeInclusive<usize> = 1..=512;
/// CNN: 3x3 convolutions per block.
pub const CNN_CONVS: usize = 2;
/// CNN: the convolutions per block allowed.
pub const CNN_CONVS_RANGE: RangeInclusive<usize> = 1..=2;
/// CNN: width of the dense layer before the class scores (0: none).
pub const CNN_DENSE: usize = 256;
/// CNN: the dense widths allowed.
pub const CNN_DENSE_RANGE: RangeInclusive<usize> = 0..=4096;
/// CNN: dropout before the last layer (each block drops half as much after its pooling).
pub const CNN_DROPOUT: f64 = 0.5;
/// The seed of splits, initialisation and shuffling.
pub const SEED: u64 = 42;
