//! The networks: one per file, each an `XConfig` that builds an `X`.
//!
//! Every network splits into `features` (the convolutional part, whose last activation Grad-CAM explains)
//! and `head` (from those activations to class scores).

pub mod cnn;
pub mod refcnn;
pub mod resnet;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

pub use cnn::{Cnn, CnnConfig};
pub use refcnn::{RefCnn, RefCnnConfig};
pub use resnet::{ResNet, ResNetConfig};

/// Which network, as the URL and the UI name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Architecture {
    /// The reference CNN used for speed comparisons (1,199,882 parameters).
    RefCnn,
    /// Conv blocks with batch norm, pooling and dropout.
    Cnn,
    /// A residual network in three stages.
    ResNet,
}

impl Architecture {
    /// All of them, in menu order.
    pub const ALL: [Architecture; 3] = [
        Architecture::Cnn,
        Architecture::ResNet,
        Architecture::RefCnn,
    ];

    /// The `?model=` value.
    pub fn key(self) -> &'static str {
        match self {
            Self::RefCnn => "refcnn",
            Self::Cnn => "cnn",
            Self::ResNet => "resnet",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::RefCnn => "Reference CNN",
            Self::Cnn => "CNN",
            Self::ResNet => "ResNet",
        }
    }

    /// Parses a `?model=` value.
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.key() == key.trim().to_ascii_lowercase())
    }

    /// Builds the network with its default configuration for `classes` classes.
    pub fn init(self, classes: usize, device: &Device) -> Network {
        match self {
            Self::RefCnn => Network::RefCnn(RefCnnConfig::new().with_classes(classes).init(device)),
            Self::Cnn => Network::Cnn(CnnConfig::new().with_classes(classes).init(device)),
            Self::ResNet => Network::ResNet(ResNetConfig::new().with_classes(classes).init(device)),
        }
    }
}

/// Any of the networks.
#[derive(Module, Debug)]
pub enum Network {
    RefCnn(RefCnn),
    Cnn(Cnn),
    ResNet(ResNet),
}

impl Network {
    /// The convolutional part.
    ///
    /// # Shapes
    /// - input: `[batch, 1, height, width]`, pixels in `[0, 1]`
    /// - output: `[batch, channels, h, w]`
    pub fn features(&self, images: Tensor<4>) -> Tensor<4> {
        match self {
            Self::RefCnn(n) => n.features(images),
            Self::Cnn(n) => n.features(images),
            Self::ResNet(n) => n.features(images),
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
            let net = arch.init(10, &device);
            let out = net.forward(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(out.dims(), [2, 10], "{arch:?}");
            let features = net.features(Tensor::zeros([2, 1, 28, 28], &device));
            assert_eq!(features.dims()[0], 2);
            assert_eq!(Architecture::parse(arch.key()), Some(arch));
        }
    }

    #[test]
    fn reference_cnn_has_the_documented_parameter_count() {
        let net = Architecture::RefCnn.init(10, &Device::flex());
        assert_eq!(net.num_params(), 1_199_882);
    }
}
