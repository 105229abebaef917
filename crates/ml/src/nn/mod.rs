//! The networks: one per file, each an `XConfig` that builds an `X`.
//!
//! Every network splits into `features` (the convolutional part, whose last activation Grad-CAM explains)
//! and `head` (from those activations to class scores). The models without convolutions (MLP, logistic
//! regression, SVM) are trained by the same loop: their `features` are the images themselves.

pub mod cnn;
pub mod mlp;
pub mod refcnn;
pub mod resnet;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use atelier_core::defaults;

use crate::classical::logistic::{Logistic, LogisticConfig};
use crate::classical::svm::{Kernel, Svm, SvmConfig};
pub use cnn::{Cnn, CnnConfig};
pub use mlp::{Mlp, MlpConfig};
pub use refcnn::{RefCnn, RefCnnConfig};
pub use resnet::{ResNet, ResNetConfig};

/// The settings that shape a model beyond its architecture (saved with it: loading rebuilds the same
/// shapes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ModelOptions {
    /// Values per image: `channels * rows * cols`.
    pub inputs: usize,
    /// Channels of the images: 1 (gray) or 3 (colour). (Absent in files from before colour data: 1.)
    pub channels: usize,
    /// Image height. (Absent in files from before: the side of the square of `inputs` pixels; see
    /// [`ModelOptions::assume_square`].)
    pub rows: usize,
    /// Image width.
    pub cols: usize,
    /// MLP hidden widths.
    pub hidden: Vec<usize>,
    /// MLP dropout.
    pub dropout: f64,
    /// SVM kernel.
    pub kernel: Kernel,
    /// Random Fourier features of the RBF SVM.
    pub rff_features: usize,
    /// RBF kernel width.
    pub gamma: f64,
    /// Seed of the random features.
    pub seed: u64,
    /// Principal components the RBF SVM's random features are drawn in; 0: all the pixels. (Absent in
    /// files from before it existed: 0.)
    pub pca: usize,
    /// ResNet: channels of the first stage (the second has twice as many, the third four times).
    /// (Absent in files from before it existed: 16, the only width there was.)
    pub resnet_width: usize,
    /// ResNet: residual blocks per stage; the depth is 6 blocks + 2 layers (3: ResNet-20). (Absent in
    /// files from before it existed: 3.)
    pub resnet_blocks: usize,
    /// CNN: output channels of each block. (Absent in files from before it existed: 32, 64, the only
    /// shape there was; so for the three below.)
    pub cnn_channels: Vec<usize>,
    /// CNN: 3x3 convolutions per block.
    pub cnn_convs: usize,
    /// CNN: width of the dense layer (0: none).
    pub cnn_dense: usize,
    /// CNN: dropout before the last layer (half as much after each block). Training only: a saved model
    /// predicts the same with any.
    pub cnn_dropout: f64,
}

impl Default for ModelOptions {
    fn default() -> Self {
        Self {
            inputs: 784,
            channels: 1,
            rows: 28,
            cols: 28,
            hidden: defaults::MLP_HIDDEN.to_vec(),
            dropout: defaults::MLP_DROPOUT,
            kernel: Kernel::Rbf,
            rff_features: defaults::RFF_FEATURES,
            gamma: defaults::GAMMA,
            seed: defaults::SEED,
            pca: defaults::PCA,
            resnet_width: defaults::RESNET_WIDTH,
            resnet_blocks: defaults::RESNET_BLOCKS,
            cnn_channels: defaults::CNN_CHANNELS.to_vec(),
            cnn_convs: defaults::CNN_CONVS,
            cnn_dense: defaults::CNN_DENSE,
            cnn_dropout: defaults::CNN_DROPOUT,
        }
    }
}

impl ModelOptions {
    /// These options for images of `channels x rows x cols`.
    pub fn for_images(self, channels: usize, rows: usize, cols: usize) -> Self {
        Self {
            inputs: channels * rows * cols,
            channels,
            rows,
            cols,
            ..self
        }
    }

    /// These options for a dataset's images.
    pub fn for_dataset(self, dataset: &atelier_core::Dataset) -> Self {
        self.for_images(dataset.channels(), dataset.rows(), dataset.cols())
    }

    /// The image shape of options saved before they recorded one: gray squares of `inputs` pixels (every
    /// IDX set then was square).
    pub fn assume_square(self) -> Self {
        let side = (self.inputs as f64).sqrt().round() as usize;
        self.for_images(1, side, side)
    }

    /// `[channels, rows, cols]`.
    pub fn image_shape(&self) -> [usize; 3] {
        [self.channels, self.rows, self.cols]
    }

    /// Checks the options; the message says what to change.
    pub fn check(&self) -> Result<(), String> {
        if self.inputs == 0 {
            return Err("the images have no pixels".into());
        }
        if self.inputs != self.channels * self.rows * self.cols {
            return Err(format!(
                "the image shape {} does not hold {} values",
                atelier_core::dataset::shape_text(self.channels, self.rows, self.cols),
                self.inputs
            ));
        }
        if !defaults::MLP_LAYERS.contains(&self.hidden.len()) {
            return Err(format!(
                "the MLP needs {} to {} hidden layers",
                defaults::MLP_LAYERS.start(),
                defaults::MLP_LAYERS.end()
            ));
        }
        if let Some(w) = self
            .hidden
            .iter()
            .find(|w| !defaults::MLP_WIDTH.contains(w))
        {
            return Err(format!(
                "hidden widths must be {} to {}, got {w}",
                defaults::MLP_WIDTH.start(),
                defaults::MLP_WIDTH.end()
            ));
        }
        if !defaults::DROPOUT.contains(&self.dropout) {
            return Err(format!(
                "dropout must be {} to {}, got {}",
                defaults::DROPOUT.start(),
                defaults::DROPOUT.end(),
                self.dropout
            ));
        }
        if !defaults::RFF_RANGE.contains(&self.rff_features) {
            return Err(format!(
                "random features must be {} to {}, got {}",
                defaults::RFF_RANGE.start(),
                defaults::RFF_RANGE.end(),
                self.rff_features
            ));
        }
        if !defaults::PCA_RANGE.contains(&self.pca) {
            return Err(format!(
                "principal components must be 0 (off) to {}, got {}",
                defaults::PCA_RANGE.end(),
                self.pca
            ));
        }
        if !defaults::RESNET_WIDTH_RANGE.contains(&self.resnet_width) {
            return Err(format!(
                "the ResNet's first-stage width must be {} to {} channels, got {}",
                defaults::RESNET_WIDTH_RANGE.start(),
                defaults::RESNET_WIDTH_RANGE.end(),
                self.resnet_width
            ));
        }
        if !defaults::RESNET_BLOCKS_RANGE.contains(&self.resnet_blocks) {
            return Err(format!(
                "the ResNet needs {} to {} residual blocks per stage, got {}",
                defaults::RESNET_BLOCKS_RANGE.start(),
                defaults::RESNET_BLOCKS_RANGE.end(),
                self.resnet_blocks
            ));
        }
        if !defaults::CNN_BLOCKS.contains(&self.cnn_channels.len()) {
            return Err(format!(
                "the CNN needs {} to {} blocks, got {}",
                defaults::CNN_BLOCKS.start(),
                defaults::CNN_BLOCKS.end(),
                self.cnn_channels.len()
            ));
        }
        if let Some(c) = self
            .cnn_channels
            .iter()
            .find(|c| !defaults::CNN_CHANNEL_RANGE.contains(c))
        {
            return Err(format!(
                "a CNN block needs {} to {} channels, got {c}",
                defaults::CNN_CHANNEL_RANGE.start(),
                defaults::CNN_CHANNEL_RANGE.end()
            ));
        }
        if !defaults::CNN_CONVS_RANGE.contains(&self.cnn_convs) {
            return Err(format!(
                "a CNN block has {} to {} convolutions, got {}",
                defaults::CNN_CONVS_RANGE.start(),
                defaults::CNN_CONVS_RANGE.end(),
                self.cnn_convs
            ));
        }
        if !defaults::CNN_DENSE_RANGE.contains(&self.cnn_dense) {
            return Err(format!(
                "the CNN's dense layer must be {} (none) to {} wide, got {}",
                defaults::CNN_DENSE_RANGE.start(),
                defaults::CNN_DENSE_RANGE.end(),
                self.cnn_dense
            ));
        }
        if !defaults::DROPOUT.contains(&self.cnn_dropout) {
            return Err(format!(
                "dropout must be {} to {}, got {}",
                defaults::DROPOUT.start(),
                defaults::DROPOUT.end(),
                self.cnn_dropout
            ));
        }
        if !(self.gamma > 0.0 && self.gamma <= 100.0) {
            return Err(format!(
                "gamma must be above 0 and at most 100, got {}",
                self.gamma
            ));
        }
        Ok(())
    }
}

/// Which network, as the URL and the UI name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Architecture {
    /// The reference CNN used for speed comparisons (1,199,882 parameters).
    RefCnn,
    /// Conv blocks with batch norm, pooling and dropout.
    Cnn,
    /// A residual network in three stages.
    ResNet,
    /// A multilayer perceptron.
    Mlp,
    /// Multinomial logistic regression.
    Logistic,
    /// A linear or RBF (random features) SVM.
    Svm,
}

impl Architecture {
    /// All of them, in menu order.
    pub const ALL: [Architecture; 6] = [
        Architecture::Cnn,
        Architecture::ResNet,
        Architecture::RefCnn,
        Architecture::Mlp,
        Architecture::Logistic,
        Architecture::Svm,
    ];

    /// The `?model=` value.
    pub fn key(self) -> &'static str {
        match self {
            Self::RefCnn => "refcnn",
            Self::Cnn => "cnn",
            Self::ResNet => "resnet",
            Self::Mlp => "mlp",
            Self::Logistic => "logreg",
            Self::Svm => "svm",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::RefCnn => "Reference CNN",
            Self::Cnn => "CNN",
            Self::ResNet => "ResNet",
            Self::Mlp => "MLP",
            Self::Logistic => "Logistic regression",
            Self::Svm => "SVM",
        }
    }

    /// Parses a `?model=` value.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.key() == key.trim().to_ascii_lowercase())
    }

    /// True for the networks with convolutions (the ones Grad-CAM explains).
    pub fn is_convolutional(self) -> bool {
        matches!(self, Self::RefCnn | Self::Cnn | Self::ResNet)
    }

    /// Why this network cannot take images of `options`' shape, in words, if it cannot (checked before
    /// training: a run must not die inside a layer).
    pub fn misfit(self, options: &ModelOptions) -> Option<String> {
        let shape = atelier_core::dataset::shape_text(options.channels, options.rows, options.cols);
        // Past this many weights in one dense layer a network outgrows the browser's memory (the
        // reference CNN has 1.2 million on 28 x 28; with Adam each weight takes 16 bytes).
        const MAX_DENSE_WEIGHTS: usize = 16 << 20;
        match self {
            Self::RefCnn => {
                let flat = RefCnnConfig::new()
                    .with_rows(options.rows)
                    .with_cols(options.cols)
                    .flat_features();
                if flat == 0 {
                    Some(format!(
                        "the reference CNN needs images of at least 6 x 6; these are {shape}"
                    ))
                } else if flat * 128 > MAX_DENSE_WEIGHTS {
                    Some(format!(
                        "the reference CNN on {shape} images would have {} million weights in its \
                         dense layer; import the images at a smaller size or use the CNN",
                        flat * 128 / 1_000_000
                    ))
                } else {
                    None
                }
            }
            Self::Cnn => {
                let config = self.cnn_config(10, options);
                let flat = config.flat_features();
                let blocks = options.cnn_channels.len();
                if flat == 0 {
                    Some(format!(
                        "the CNN's {blocks} blocks each halve the image, and {shape} images take at \
                         most {}; use fewer blocks",
                        options.rows.min(options.cols).max(1).ilog2()
                    ))
                } else if flat * options.cnn_dense.max(1) > MAX_DENSE_WEIGHTS {
                    Some(format!(
                        "the CNN on {shape} images hands {flat} values to its dense layer, too many \
                         weights; add a block, narrow the dense layer (0: none) or import smaller images"
                    ))
                } else {
                    None
                }
            }
            Self::ResNet => (options.rows.min(options.cols) < 4)
                .then(|| format!("the ResNet needs images of at least 4 x 4; these are {shape}")),
            Self::Mlp | Self::Logistic | Self::Svm => None,
        }
    }

    /// The CNN's configuration for these options.
    fn cnn_config(self, classes: usize, o: &ModelOptions) -> CnnConfig {
        CnnConfig::new()
            .with_classes(classes)
            .with_channels(o.cnn_channels.clone())
            .with_convs_per_block(o.cnn_convs)
            .with_hidden(o.cnn_dense)
            .with_block_dropout(o.cnn_dropout / 2.0)
            .with_head_dropout(o.cnn_dropout)
            .with_in_channels(o.channels)
            .with_rows(o.rows)
            .with_cols(o.cols)
    }

    /// Builds the model for `classes` classes, shaped by `options` where it has choices.
    pub fn init(self, classes: usize, options: &ModelOptions, device: &Device) -> Network {
        let o = options;
        match self {
            Self::RefCnn => Network::RefCnn(
                RefCnnConfig::new()
                    .with_classes(classes)
                    .with_in_channels(o.channels)
                    .with_rows(o.rows)
                    .with_cols(o.cols)
                    .init(device),
            ),
            Self::Cnn => Network::Cnn(self.cnn_config(classes, o).init(device)),
            Self::ResNet => Network::ResNet(
                ResNetConfig::new()
                    .with_classes(classes)
                    .with_widths([1, 2, 4].map(|k| k * o.resnet_width))
                    .with_blocks_per_stage(o.resnet_blocks)
                    .with_in_channels(o.channels)
                    .init(device),
            ),
            Self::Mlp => Network::Mlp(
                MlpConfig::new()
                    .with_inputs(o.inputs)
                    .with_hidden(o.hidden.clone())
                    .with_dropout(o.dropout)
                    .with_classes(classes)
                    .init(device),
            ),
            Self::Logistic => Network::Logistic(
                LogisticConfig::new()
                    .with_inputs(o.inputs)
                    .with_classes(classes)
                    .init(device),
            ),
            Self::Svm => Network::Svm(
                SvmConfig::new()
                    .with_inputs(o.inputs)
                    .with_classes(classes)
                    .with_rbf(o.kernel == Kernel::Rbf)
                    .with_features(o.rff_features)
                    .with_gamma(o.gamma)
                    .with_seed(o.seed)
                    .with_pca(o.pca)
                    .init(device),
            ),
        }
    }
}

/// Any of the networks.
#[derive(Module, Debug)]
pub enum Network {
    RefCnn(RefCnn),
    Cnn(Cnn),
    ResNet(ResNet),
    Mlp(Mlp),
    Logistic(Logistic),
    Svm(Svm),
}

impl Network {
    /// The convolutional part (the images themselves for the models without convolutions).
    ///
    /// # Shapes
    /// - input: `[batch, 1, height, width]`, pixels in `[0, 1]`
    /// - output: `[batch, channels, h, w]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            Self::RefCnn(n) => n.features(images),
            Self::Cnn(n) => n.features(images),
            Self::ResNet(n) => n.features(images),
            Self::Mlp(_) | Self::Logistic(_) | Self::Svm(_) => images,
        }
    }

    /// The convolutional layers Grad-CAM can explain, first to last (none for the flat models).
    pub fn conv_layers(&self) -> Vec<String> {
        match self {
            Self::RefCnn(n) => n.layer_names(),
            Self::Cnn(n) => n.layer_names(),
            Self::ResNet(n) => n.layer_names(),
            Self::Mlp(_) | Self::Logistic(_) | Self::Svm(_) => Vec::new(),
        }
    }

    /// The activations of convolutional layer `layer` (None: the last, as [`Network::features`]).
    pub fn features_at(&self, images: Tensor<4>, layer: Option<usize>) -> Tensor<4> {
        match (self, layer) {
            (Self::RefCnn(n), Some(l)) => n.features_at(images, l),
            (Self::Cnn(n), Some(l)) => n.features_at(images, l),
            (Self::ResNet(n), Some(l)) => n.features_at(images, l),
            _ => self.features(images),
        }
    }

    /// Class scores from the activations of layer `layer` (None: the last, as [`Network::head`]).
    pub fn head_from(&self, x: Tensor<4>, layer: Option<usize>) -> Tensor<2> {
        match (self, layer) {
            (Self::RefCnn(n), Some(l)) => n.head_from(x, l),
            (Self::Cnn(n), Some(l)) => n.head_from(x, l),
            (Self::ResNet(n), Some(l)) => n.head_from(x, l),
            _ => self.head(x),
        }
    }

    /// From the features to class scores (logits).
    ///
    /// # Shapes
    /// - input: `[batch, channels, h, w]`
    /// - output: `[batch, classes]`
    pub fn head(&self, features: Tensor<4>) -> Tensor<2> {
        match self {
            Self::RefCnn(n) => n.head(features),
            Self::Cnn(n) => n.head(features),
            Self::ResNet(n) => n.head(features),
            Self::Mlp(n) => n.forward(features.flatten(1, 3)),
            Self::Logistic(n) => n.forward(features.flatten(1, 3)),
            Self::Svm(n) => n.forward(features.flatten(1, 3)),
        }
    }

    /// The penultimate activations, for "network features + classical model".
    ///
    /// # Shapes
    /// - input: `[batch, 1, height, width]`
    /// - output: `[batch, embedding]`
    pub fn embed(&self, images: Tensor<4>) -> Tensor<2> {
        match self {
            Self::RefCnn(n) => n.embed(n.features(images)),
            Self::Cnn(n) => n.embed(n.features(images)),
            Self::ResNet(n) => n.embed(n.features(images)),
            Self::Mlp(n) => n.embed(images.flatten(1, 3)),
            Self::Logistic(_) => images.flatten(1, 3),
            Self::Svm(n) => n.embed(images.flatten(1, 3)),
        }
    }

    /// Class scores (logits).
    ///
    /// # Shapes
    /// - input: `[batch, 1, height, width]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, images: Tensor<4>) -> Tensor<2> {
        self.head(self.features(images))
    }

    /// Which architecture this is.
    pub fn architecture(&self) -> Architecture {
        match self {
            Self::RefCnn(_) => Architecture::RefCnn,
            Self::Cnn(_) => Architecture::Cnn,
            Self::ResNet(_) => Architecture::ResNet,
            Self::Mlp(_) => Architecture::Mlp,
            Self::Logistic(_) => Architecture::Logistic,
            Self::Svm(_) => Architecture::Svm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_maps_images_to_class_scores() {
        let device = Device::flex();
        for arch in Architecture::ALL {
            let net = arch.init(10, &ModelOptions::default(), &device);
            let out = net.forward(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(out.dims(), [2, 10], "{arch:?}");
            let features = net.features(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(features.dims()[0], 2);
            assert_eq!(Architecture::parse(arch.key()), Some(arch));
        }
    }

    /// Splitting at any layer and running the rest gives the same scores as the whole network.
    #[test]
    fn every_layer_split_recomposes_the_network() {
        let device = Device::flex();
        let images = Tensor::<4>::from_data(
            TensorData::new(
                (0..2 * 784)
                    .map(|i| (i % 17) as f32 / 17.0)
                    .collect::<Vec<_>>(),
                [2, 1, 28, 28],
            ),
            &device,
        );
        for arch in Architecture::ALL {
            let net = arch.init(10, &ModelOptions::default(), &device).valid();
            let whole: Vec<f32> = net
                .forward(images.clone())
                .into_data()
                .try_into_vec_as()
                .unwrap();
            let layers = net.conv_layers();
            assert_eq!(layers.is_empty(), !arch.is_convolutional(), "{arch:?}");
            for layer in 0..layers.len() {
                let split =
                    net.head_from(net.features_at(images.clone(), Some(layer)), Some(layer));
                let split: Vec<f32> = split.into_data().try_into_vec_as().unwrap();
                for (a, b) in whole.iter().zip(&split) {
                    assert!((a - b).abs() < 1e-4, "{arch:?} layer {layer}: {a} vs {b}");
                }
            }
        }
    }

    /// The ResNet's width and blocks options shape it: its parameter count against one counted by hand
    /// (3x3 convolutions without bias, each with batch norm, whose gamma, beta and running mean and
    /// variance burn counts; a 1x1 projection where a stage starts; the classifier).
    #[test]
    fn resnet_width_and_blocks_shape_the_network() {
        fn by_hand(width: usize, blocks: usize) -> usize {
            let conv_bn = |input: usize, output: usize, side: usize| {
                side * side * input * output + 4 * output
            };
            let mut count = conv_bn(1, width, 3);
            let mut input = width;
            for stage in 0..3 {
                let channels = width << stage;
                for _ in 0..blocks {
                    count += conv_bn(input, channels, 3) + conv_bn(channels, channels, 3);
                    // Stages double the width, so a stage's first block is the one that projects.
                    if input != channels {
                        count += conv_bn(input, channels, 1);
                    }
                    input = channels;
                }
            }
            count + 4 * width * 10 + 10
        }
        let device = Device::flex();
        assert_eq!(by_hand(16, 3), 273_754, "the documented ResNet-20");
        for (width, blocks) in [(16, 3), (8, 1), (32, 2)] {
            let options = ModelOptions {
                resnet_width: width,
                resnet_blocks: blocks,
                ..ModelOptions::default()
            };
            assert!(options.check().is_ok());
            let net = Architecture::ResNet.init(10, &options, &device);
            assert_eq!(net.num_params(), by_hand(width, blocks), "{width}/{blocks}");
            assert_eq!(net.conv_layers().len(), 1 + 3 * blocks);
            let out = net.forward(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(out.dims(), [2, 10]);
        }
        for (width, blocks) in [(2, 3), (16, 0), (16, 10), (256, 3)] {
            let options = ModelOptions {
                resnet_width: width,
                resnet_blocks: blocks,
                ..ModelOptions::default()
            };
            assert!(options.check().is_err(), "{width}/{blocks}");
        }
    }

    /// The CNN's shape options shape it: its parameter count against one counted by hand (3x3 convolutions
    /// without bias, each with batch norm's four numbers a channel; the dense layers).
    #[test]
    fn cnn_channels_convolutions_and_dense_width_shape_the_network() {
        fn by_hand(channels: &[usize], convs: usize, dense: usize) -> usize {
            let conv_bn = |input: usize, output: usize| 9 * input * output + 4 * output;
            let mut count = 0;
            let mut input = 1;
            for &c in channels {
                count += conv_bn(input, c) + (convs - 1) * conv_bn(c, c);
                input = c;
            }
            let side = 28 >> channels.len();
            let flat = input * side * side;
            match dense {
                0 => count + flat * 10 + 10,
                d => count + flat * d + d + d * 10 + 10,
            }
        }
        let device = Device::flex();
        let defaults = ModelOptions::default();
        assert_eq!(
            Architecture::Cnn.init(10, &defaults, &device).num_params(),
            by_hand(&[32, 64], 2, 256),
            "the default CNN"
        );
        for (channels, convs, dense) in [
            (vec![16, 32, 64], 1, 0),
            (vec![8], 2, 32),
            (vec![4, 4, 4, 4], 1, 0),
        ] {
            let options = ModelOptions {
                cnn_channels: channels.clone(),
                cnn_convs: convs,
                cnn_dense: dense,
                cnn_dropout: 0.0,
                ..ModelOptions::default()
            };
            assert!(options.check().is_ok());
            let net = Architecture::Cnn.init(10, &options, &device);
            assert_eq!(
                net.num_params(),
                by_hand(&channels, convs, dense),
                "{channels:?}"
            );
            assert_eq!(net.conv_layers().len(), channels.len());
            let out = net.forward(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(out.dims(), [2, 10]);
        }
        for (channels, convs, dense) in [
            (vec![], 1, 0),
            (vec![8; 5], 1, 0),
            (vec![0], 1, 0),
            (vec![8], 3, 0),
            (vec![8], 1, 5000),
        ] {
            let options = ModelOptions {
                cnn_channels: channels.clone(),
                cnn_convs: convs,
                cnn_dense: dense,
                ..ModelOptions::default()
            };
            assert!(options.check().is_err(), "{channels:?} {convs} {dense}");
        }
        // Files from before these options carry none of them: they read as the one CNN there was.
        let old = r#"{"inputs":784,"hidden":[512,256],"dropout":0.2,"seed":42,"resnet_width":16,"resnet_blocks":3}"#;
        let read: ModelOptions = serde_json::from_str(old).unwrap();
        assert_eq!(
            (read.cnn_channels, read.cnn_convs, read.cnn_dense),
            (vec![32, 64], 2, 256)
        );
    }

    #[test]
    fn reference_cnn_has_the_documented_parameter_count() {
        let net = Architecture::RefCnn.init(10, &ModelOptions::default(), &Device::flex());
        assert_eq!(net.num_params(), 1_199_882);
    }

    /// Every network takes colour images of other sizes: the first convolution takes the channels, the
    /// head's size follows the image; parameter counts against ones counted by hand.
    #[test]
    fn networks_adapt_to_colour_and_to_the_image_size() {
        let device = Device::flex();
        let colour = ModelOptions::default().for_images(3, 32, 32);
        assert!(colour.check().is_ok());
        // Reference CNN on 3 x 32 x 32: conv 3->32 (864 + 32), conv 32->64 (18,432 + 64), pooled 14 x 14 x 64
        // = 12,544 into 128 (+128), 128 into 10 (+10).
        let refcnn = Architecture::RefCnn.init(10, &colour, &device);
        assert_eq!(
            refcnn.num_params(),
            896 + 18_496 + 12_544 * 128 + 128 + 1_290
        );
        // The default CNN on 3 x 32 x 32: convolutions 3->32, 32->32, 32->64, 64->64 with batch norm,
        // pooled to 8 x 8 x 64 = 4,096 into 256, then 10.
        let conv_bn = |i: usize, o: usize| 9 * i * o + 4 * o;
        let cnn = Architecture::Cnn.init(10, &colour, &device);
        assert_eq!(
            cnn.num_params(),
            conv_bn(3, 32)
                + conv_bn(32, 32)
                + conv_bn(32, 64)
                + conv_bn(64, 64)
                + 4_096 * 256
                + 256
                + 2_570
        );
        // The ResNet differs from the gray one only in its stem's input channels.
        let gray_resnet = Architecture::ResNet.init(10, &ModelOptions::default(), &device);
        let resnet = Architecture::ResNet.init(10, &colour, &device);
        assert_eq!(resnet.num_params(), gray_resnet.num_params() + 2 * 9 * 16);
        for arch in Architecture::ALL {
            for (c, r, w) in [(3, 32, 32), (1, 8, 8), (3, 20, 12)] {
                let options = ModelOptions::default().for_images(c, r, w);
                assert_eq!(arch.misfit(&options), None, "{arch:?} {c}x{r}x{w}");
                let net = arch.init(10, &options, &device);
                let out = net.forward(Tensor::zeros([2, c, r, w], &device));
                assert_eq!(out.dims(), [2, 10], "{arch:?} {c}x{r}x{w}");
            }
        }
    }

    /// A network that cannot take an image says so in words before any layer sees it.
    #[test]
    fn a_network_that_cannot_take_the_images_says_why() {
        let four_blocks = ModelOptions {
            cnn_channels: vec![8, 8, 8, 8],
            ..ModelOptions::default().for_images(1, 8, 8)
        };
        let why = Architecture::Cnn.misfit(&four_blocks).unwrap();
        assert!(
            why.contains("4 blocks") && why.contains("at most 3"),
            "{why}"
        );
        let tiny = ModelOptions::default().for_images(1, 4, 4);
        assert!(
            Architecture::RefCnn
                .misfit(&tiny)
                .unwrap()
                .contains("at least 6 x 6")
        );
        let huge = ModelOptions::default().for_images(3, 256, 256);
        assert!(
            Architecture::RefCnn
                .misfit(&huge)
                .unwrap()
                .contains("million weights")
        );
        assert!(
            Architecture::Cnn
                .misfit(&huge)
                .unwrap()
                .contains("too many")
        );
        assert_eq!(Architecture::ResNet.misfit(&huge), None);
        // The shape must hold the values it claims.
        let wrong = ModelOptions {
            inputs: 10,
            ..ModelOptions::default()
        };
        assert!(wrong.check().unwrap_err().contains("1 x 28 x 28"));
        // Options saved before shapes were recorded are gray squares of their pixel count.
        let old = ModelOptions {
            inputs: 64,
            ..ModelOptions::default()
        }
        .assume_square();
        assert_eq!(old.image_shape(), [1, 8, 8]);
    }
}
