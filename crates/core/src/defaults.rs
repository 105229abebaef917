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
/// The seed of splits, initialisation and shuffling.
pub const SEED: u64 = 42;
