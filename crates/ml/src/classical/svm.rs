//! Support vector machines on burn tensors: one-vs-rest hinge loss on a linear layer, either on the pixels
//! (linear kernel) or on random Fourier features that approximate the RBF kernel
//! `exp(-gamma |x - y|^2)` (Rahimi and Recht, "Random Features for Large-Scale Kernel Machines", NIPS
//! 2007): `z(x) = sqrt(2 / D) cos(W x + b)` with `W ~ N(0, 2 gamma)` and `b ~ U(0, 2 pi)`. The margin's
//! regularisation is the optimiser's weight decay.
//!
//! With `pca = k`, the random features are drawn in the top-`k` principal subspace of the training
//! images (`z(x) = sqrt(2 / D) cos(W P^T (x - mu) + b)`, see [`super::pca`]): the kernel then measures
//! distances where the images vary, and the projection is cheap enough for many more features.

use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::relu;

use atelier_core::rng::SplitMix64;

/// Which kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Kernel {
    Linear,
    /// RBF through random Fourier features.
    Rbf,
}

/// Configuration of [`Svm`].
#[derive(Config, Debug)]
pub struct SvmConfig {
    #[config(default = 784)]
    pub inputs: usize,
    #[config(default = 10)]
    pub classes: usize,
    /// True: RBF through random features; false: linear.
    #[config(default = true)]
    pub rbf: bool,
    /// Random features `D`.
    #[config(default = 4096)]
    pub features: usize,
    #[config(default = 0.01)]
    pub gamma: f64,
    #[config(default = 42)]
    pub seed: u64,
    /// Principal components the random features are drawn in; 0: all the pixels.
    #[config(default = 0)]
    pub pca: usize,
}

/// The fixed random projection of the RBF approximation. Its values are saved with the model but never
/// trained: `forward` detaches them, so they get no gradient and the optimiser leaves them alone.
#[derive(Module, Debug)]
pub struct RandomFeatures {
    /// `[inputs, k]`: the principal directions (zeros until fitted), when the features live in them.
    reduce: Option<Param<Tensor<2>>>,
    /// `[inputs or k, D]`.
    projection: Param<Tensor<2>>,
    /// `[D]` (with the mean's projection folded in once principal components are fitted).
    phase: Param<Tensor<1>>,
}

impl RandomFeatures {
    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, D]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let d = self.phase.dims()[0];
        let x = match &self.reduce {
            Some(reduce) => x.matmul(reduce.val().detach()), // [batch, k]
            None => x,
        };
        let projected = x.matmul(self.projection.val().detach()) // [batch, D]
            + self.phase.val().detach().unsqueeze::<2>();
        projected.cos() * (2.0 / d as f64).sqrt()
    }
}

/// A linear or RBF (random features) SVM, one-vs-rest.
#[derive(Module, Debug)]
pub struct Svm {
    random_features: Option<RandomFeatures>,
    linear: Linear,
}

impl SvmConfig {
    /// Builds the model; the random features are drawn from `seed`.
    pub fn init(&self, device: &Device) -> Svm {
        let random_features = self.rbf.then(|| {
            let mut rng = SplitMix64::new(self.seed);
            let std = (2.0 * self.gamma).sqrt();
            let reduced = self.reduced_dims();
            let projection: Vec<f32> = (0..reduced * self.features)
                .map(|_| (rng.normal() * std) as f32)
                .collect();
            let phase: Vec<f32> = (0..self.features)
                .map(|_| (rng.next_f64() * std::f64::consts::TAU) as f32)
                .collect();
            RandomFeatures {
                reduce: (reduced < self.inputs)
                    .then(|| Param::from_tensor(Tensor::zeros([self.inputs, reduced], device))),
                projection: Param::from_tensor(Tensor::from_data(
                    TensorData::new(projection, [reduced, self.features]),
                    device,
                )),
                phase: Param::from_tensor(Tensor::from_data(
                    TensorData::new(phase, [self.features]),
                    device,
                )),
            }
        });
        let width = if self.rbf { self.features } else { self.inputs };
        Svm {
            random_features,
            linear: LinearConfig::new(width, self.classes).init(device),
        }
    }
}

impl SvmConfig {
    /// The dimension the random features are drawn in: `pca` when it reduces the inputs, else the inputs.
    pub fn reduced_dims(&self) -> usize {
        if self.rbf && self.pca > 0 && self.pca < self.inputs {
            self.pca
        } else {
            self.inputs
        }
    }
}

impl Svm {
    /// True when the random features wait for principal components ([`Svm::with_pca`]).
    pub fn needs_pca(&self) -> Option<usize> {
        self.random_features
            .as_ref()
            .and_then(|rf| rf.reduce.as_ref())
            .map(|r| r.dims()[1])
    }

    /// Sets the principal subspace the random features live in, folding the mean into the phase:
    /// `W (P^T (x - mu)) + b = W P^T x + (b - W P^T mu)`.
    pub fn with_pca(mut self, pca: &super::pca::Pca) -> Self {
        if let Some(rf) = self.random_features.as_mut()
            && let Some(reduce) = rf.reduce.as_ref()
        {
            let device = reduce.val().device();
            assert_eq!(reduce.dims(), [pca.dims, pca.k], "the PCA's shape");
            let basis = Tensor::<2>::from_data(
                TensorData::new(pca.basis.clone(), [pca.dims, pca.k]),
                &device,
            );
            let mean =
                Tensor::<2>::from_data(TensorData::new(pca.mean.clone(), [1, pca.dims]), &device);
            let shift = mean
                .matmul(basis.clone())
                .matmul(rf.projection.val().detach())
                .reshape([-1]); // [D]
            rf.phase = Param::from_tensor((rf.phase.val().detach() - shift).detach());
            rf.reduce = Some(Param::from_tensor(basis));
        }
        self
    }

    /// The inputs of the linear layer: the pixels or their random features.
    ///
    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, inputs or D]`
    pub fn embed(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.random_features {
            Some(rf) => rf.forward(x),
            None => x,
        }
    }

    /// Decision values, one per class.
    ///
    /// # Shapes
    /// - input: `[batch, inputs]`
    /// - output: `[batch, classes]`
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        self.linear.forward(self.embed(x))
    }
}

/// One-vs-rest hinge loss: the mean over the batch of `sum_c max(0, 1 - y_c s_c)`, with `y_c = +1` for
/// the true class and `-1` for the others.
pub fn hinge_loss(scores: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let classes = scores.dims()[1];
    let signs = targets.one_hot::<2>(classes).float() * 2.0 - 1.0; // [batch, classes]
    relu(-(signs * scores) + 1.0).sum_dim(1).mean()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_features_approximate_the_rbf_kernel() {
        let device = Device::flex();
        let config = SvmConfig::new()
            .with_inputs(4)
            .with_features(20_000)
            .with_gamma(0.5);
        let svm = config.init(&device);
        let x = [0.1f32, 0.4, 0.9, 0.3];
        let y = [0.3f32, 0.1, 0.7, 0.6];
        let input = Tensor::<2>::from_data(TensorData::new([x, y].concat(), [2, 4]), &device);
        let z: Vec<f32> = svm
            .embed(input)
            .into_data()
            .try_into_vec_as::<f32>()
            .unwrap();
        let (zx, zy) = z.split_at(20_000);
        let approx: f32 = zx.iter().zip(zy).map(|(a, b)| a * b).sum();
        let d2: f32 = x.iter().zip(&y).map(|(a, b)| (a - b).powi(2)).sum();
        let exact = (-0.5 * d2).exp();
        assert!((approx - exact).abs() < 0.03, "{approx} vs {exact}");
    }

    #[test]
    fn hinge_loss_by_hand() {
        let device = Device::flex();
        let scores = Tensor::<2>::from_data(
            TensorData::new(vec![2.0f32, -0.5, 0.3, 0.2], [2, 2]),
            &device,
        );
        let targets = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 0], [2]), &device);
        // Row 1: true 2.0 -> 0; other -0.5 -> max(0, 1 - 0.5) = 0.5. Row 2: 1 - 0.3 = 0.7; 1 + 0.2 = 1.2.
        let loss: f32 = hinge_loss(scores, targets).into_scalar();
        assert!((loss - (0.5 + 0.7 + 1.2) / 2.0).abs() < 1e-6, "{loss}");
    }
}
