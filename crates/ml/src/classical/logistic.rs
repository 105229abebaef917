//! Multinomial logistic regression: one linear layer on the flattened pixels, softmax cross-entropy, L2
//! through the optimiser's weight decay, fitted by the networks' mini-batch loop on burn tensors.

use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`Logistic`].
#[derive(Config, Debug)]
pub struct LogisticConfig {
    /// Pixels per image.
    #[config(default = 784)]
    pub inputs: usize,
    #[config(default = 10)]
    pub classes: usize,
}

/// Softmax regression.
#[derive(Module, Debug)]
pub struct Logistic {
    linear: Linear,
}

impl LogisticConfig {
    /// Builds the model.
    pub fn init(&self, device: &Device) -> Logistic {
        Logistic {
            linear: LinearConfig::new(self.inputs, self.classes).init(device),
        }
    }
}

impl Logistic {
    /// Class scores.
    ///
    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(x)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::loss::CrossEntropyLossConfig;

    /// The gradient burn computes for the weights equals the finite-difference gradient of the loss.
    #[test]
    fn gradient_matches_finite_differences() {
        let device = Device::flex().autodiff();
        let model = LogisticConfig::new()
            .with_inputs(3)
            .with_classes(2)
            .init(&device);
        let x = Tensor::<2>::from_data(
            TensorData::new(vec![0.2f32, -0.5, 0.9, 1.0, 0.3, -0.7], [2, 3]),
            &device,
        );
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 0], [2]), &device);
        let loss_fn = CrossEntropyLossConfig::new().init(&device);
        let loss = loss_fn.forward(model.forward(x.clone()), y.clone());
        let grads = loss.backward();
        let weight = model.linear.weight.val();
        let analytic: Vec<f32> = weight
            .grad(&grads)
            .unwrap()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let w: Vec<f32> = weight.clone().into_data().try_into_vec_as::<f32>().unwrap();
        let bias: Vec<f32> = model
            .linear
            .bias
            .as_ref()
            .unwrap()
            .val()
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        // The loss by hand in f64 for a weight vector ([inputs, classes] row-major, as burn stores it).
        let xs = [[0.2f64, -0.5, 0.9], [1.0, 0.3, -0.7]];
        let ys = [1usize, 0];
        let loss_at = |w: &[f64]| {
            let mut total = 0.0;
            for (x, &y) in xs.iter().zip(&ys) {
                let s: Vec<f64> = (0..2)
                    .map(|c| bias[c] as f64 + (0..3).map(|i| x[i] * w[i * 2 + c]).sum::<f64>())
                    .collect();
                let max = s[0].max(s[1]);
                let log_sum = max + s.iter().map(|v| (v - max).exp()).sum::<f64>().ln();
                total += log_sum - s[y];
            }
            total / xs.len() as f64
        };
        let w64: Vec<f64> = w.iter().map(|&v| v as f64).collect();
        for i in 0..w64.len() {
            let h = 1e-5;
            let (mut up, mut down) = (w64.clone(), w64.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss_at(&up) - loss_at(&down)) / (2.0 * h);
            assert!(
                (numeric - analytic[i] as f64).abs() < 1e-4,
                "weight {i}: finite difference {numeric}, burn {}",
                analytic[i]
            );
        }
    }
}
