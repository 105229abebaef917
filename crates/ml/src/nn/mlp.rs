//! A multilayer perceptron: dense layers with ReLU and dropout on the flattened pixels.

use burn::nn::{Dropout, DropoutConfig, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

/// Configuration of [`Mlp`].
#[derive(Config, Debug)]
pub struct MlpConfig {
    #[config(default = 784)]
    pub inputs: usize,
    /// Widths of the hidden layers.
    #[config(default = "atelier_core::defaults::MLP_HIDDEN.to_vec()")]
    pub hidden: Vec<usize>,
    #[config(default = "atelier_core::defaults::MLP_DROPOUT")]
    pub dropout: f64,
    #[config(default = 10)]
    pub classes: usize,
}

/// The MLP.
#[derive(Module, Debug)]
pub struct Mlp {
    layers: Vec<Linear>,
    dropout: Dropout,
    output: Linear,
}

impl MlpConfig {
    /// Builds the network.
    pub fn init(&self, device: &Device) -> Mlp {
        let mut width = self.inputs;
        let layers = self
            .hidden
            .iter()
            .map(|&h| {
                let layer = LinearConfig::new(width, h).init(device);
                width = h;
                layer
            })
            .collect();
        Mlp {
            layers,
            dropout: DropoutConfig::new(self.dropout).init(),
            output: LinearConfig::new(width, self.classes).init(device),
        }
    }
}

impl Mlp {
    /// The last hidden layer's activations.
    ///
    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, last hidden width]`
    pub fn embed(&self, x: Tensor<2>) -> Tensor<2> {
        self.layers
            .iter()
            .fold(x, |x, layer| self.dropout.forward(relu(layer.forward(x))))
    }

    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.output.forward(self.embed(x))
    }
}
