//! Adam exactly as burn computes it (`burn::optim::Adam`: bias-corrected moments, epsilon scaled by the
//! second correction, weight decay added to the gradient), in one pass over each parameter on the CPU
//! backend. Burn's composes it from about ten whole-tensor operations, each a pass over the parameter
//! and most a new tensor; for the reference CNN's 1.2 million weights that was ~4-5 ms of a ~55 ms step
//! in the page, on each worker (every copy of the network steps alike). Here the parameter, its two
//! moments and the gradient are read once and the first three written in place where burn's storage
//! lets them be taken. Elsewhere (WebGPU) it is burn's own Adam. The state is burn's `AdamState`, so
//! it is the same record either way.

use burn::optim::decay::WeightDecayConfig;
use burn::optim::{
    Adam, AdamConfig, AdamState, AdaptiveMomentumState, LearningRate, ModuleOptimizer, Optimizer,
};
use burn::prelude::*;

/// Burn's default moments' decays and epsilon (`AdamConfig`'s defaults), which every run uses.
const BETA_1: f32 = 0.9;
const BETA_2: f32 = 0.999;
const EPSILON: f32 = 1e-5;

/// Adam in one pass a parameter on the CPU backend; burn's elsewhere.
#[derive(Clone)]
pub struct FusedAdam {
    /// Weight decay's penalty (None: none).
    weight_decay: Option<f32>,
    /// Burn's Adam with the same settings, for devices other than the CPU.
    burn: Adam,
}

impl FusedAdam {
    pub fn new(weight_decay: Option<f32>) -> Self {
        let burn = AdamConfig::new()
            .with_beta_1(BETA_1)
            .with_beta_2(BETA_2)
            .with_epsilon(EPSILON)
            .with_weight_decay(weight_decay.map(WeightDecayConfig::new))
            .build();
        Self { weight_decay, burn }
    }

    /// As a module optimizer (what a training loop steps with).
    pub fn module_optimizer(weight_decay: Option<f32>) -> ModuleOptimizer {
        ModuleOptimizer::from(Self::new(weight_decay))
    }
}

/// A tensor's values as floats to change in place (taken without a copy when nothing else holds them).
fn floats<const D: usize>(tensor: Tensor<D>) -> Option<TensorData> {
    let data = tensor.try_into_data().ok()?;
    (data.dtype() == burn::tensor::DType::F32).then_some(data)
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: LearningRate,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<Self::State<D>>,
    ) -> (Tensor<D>, Option<Self::State<D>>) {
        let device = tensor.device();
        if device != super::backend::cpu_device() || tensor.dtype() != burn::tensor::DType::F32 {
            return self.burn.step(lr, tensor, grad, state);
        }
        let shape = tensor.shape();
        let (time, moments) = match state {
            Some(s) => (
                s.momentum.time,
                Some((s.momentum.moment_1, s.momentum.moment_2)),
            ),
            None => (0, None),
        };
        let n = shape.num_elements();
        let (Some(mut values), Some(gradient)) = (floats(tensor), floats(grad)) else {
            unreachable!("float tensors on the CPU backend read back as f32")
        };
        let (mut m1, mut m2) = match moments.map(|(a, b)| (floats(a), floats(b))) {
            Some((Some(a), Some(b))) => (a, b),
            _ => (
                TensorData::new(vec![0.0f32; n], shape.clone()),
                TensorData::new(vec![0.0f32; n], shape.clone()),
            ),
        };
        let time = time + 1;
        update(
            Step {
                lr: lr as f32,
                time,
                weight_decay: self.weight_decay,
            },
            values.as_mut_slice::<f32>().expect("f32"),
            gradient.as_slice::<f32>().expect("f32"),
            m1.as_mut_slice::<f32>().expect("f32"),
            m2.as_mut_slice::<f32>().expect("f32"),
        );
        let state = AdamState::new(AdaptiveMomentumState::new(
            time,
            Tensor::from_data(m1, &device),
            Tensor::from_data(m2, &device),
        ));
        (Tensor::from_data(values, &device), Some(state))
    }

    fn to_device<const D: usize>(state: Self::State<D>, device: &Device) -> Self::State<D> {
        Adam::to_device(state, device)
    }
}

/// One step's scalars.
#[derive(Debug, Clone, Copy)]
struct Step {
    lr: f32,
    /// The step's number, from 1.
    time: usize,
    weight_decay: Option<f32>,
}

/// Burn's arithmetic, element by element and in its order (so that results match to rounding):
/// g += decay * w; m1 = b1 m1 + (1 - b1) g; m2 = b2 m2 + (1 - b2) g^2;
/// w -= lr * (m1 * c) / (sqrt(m2) + eps * s), with s = sqrt(1 - b2^t), c = s / (1 - b1^t).
fn update(step: Step, values: &mut [f32], gradient: &[f32], m1: &mut [f32], m2: &mut [f32]) {
    let time = step.time as i32;
    let correction_2 = (1.0 - BETA_2.powi(time)).sqrt();
    let combined = correction_2 / (1.0 - BETA_1.powi(time));
    let epsilon = EPSILON * correction_2;
    let (f1, f2) = (1.0 - BETA_1, 1.0 - BETA_2);
    let decay = step.weight_decay.unwrap_or(0.0);
    for (((w, &g), a), b) in values.iter_mut().zip(gradient).zip(m1).zip(m2) {
        let g = if step.weight_decay.is_some() {
            *w * decay + g
        } else {
            g
        };
        // The first step: burn starts the moments from this gradient alone.
        if step.time == 1 {
            *a = g * f1;
            *b = g * g * f2;
        } else {
            *a = *a * BETA_1 + g * f1;
            *b = *b * BETA_2 + g * g * f2;
        }
        let delta = (*a * combined) / (b.sqrt() + epsilon) * step.lr;
        *w -= delta;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::cpu_device;
    use crate::nn::{Architecture, ModelOptions, Network};
    use crate::parallel::part_gradients;
    use crate::tensor::block_on;
    use atelier_core::dataset::Part;
    use atelier_core::fixtures::synthetic_28;
    use burn::nn::loss::CrossEntropyLossConfig;

    fn values(model: &Network) -> Vec<f32> {
        block_on(crate::store::parameters(model))
            .unwrap()
            .into_iter()
            .flat_map(|(_, _, _, v)| v)
            .collect()
    }

    /// Ten steps of a small CNN with each optimizer from the same weights on the same batches: the
    /// same weights to rounding, with and without weight decay, and the moments carried from step to
    /// step (a wrong moment or correction moves weights by whole learning rates).
    #[test]
    fn steps_as_burns_adam() {
        let device = cpu_device();
        let train_device = device.clone().autodiff();
        let data = synthetic_28(4, 40, 10, 5);
        let loss = CrossEntropyLossConfig::new().init(&train_device);
        for decay in [None, Some(5e-3)] {
            let start = Architecture::RefCnn.init(4, &ModelOptions::default(), &train_device);
            let (mut ours, mut theirs) = (start.clone(), start.clone());
            let mut fused = FusedAdam::module_optimizer(decay);
            let mut burn = AdamConfig::new()
                .with_weight_decay(decay.map(WeightDecayConfig::new))
                .init();
            for step in 0..10 {
                let batch = data.batch(Part::Train, &[step * 7, step * 7 + 3, 100 + step]);
                let (g, _) = part_gradients(&ours, &loss, &batch, &train_device);
                ours = fused.step(1e-2, ours, g);
                let (g, _) = part_gradients(&theirs, &loss, &batch, &train_device);
                theirs = burn.step(1e-2, theirs, g);
            }
            let (a, b, s) = (values(&ours), values(&theirs), values(&start));
            let moved = a
                .iter()
                .zip(&s)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            let apart = a
                .iter()
                .zip(&b)
                .map(|(x, y)| (x - y).abs())
                .fold(0.0, f32::max);
            assert!(moved > 1e-2, "training moved the weights by only {moved}");
            assert!(
                apart < 1e-5,
                "fused and burn's Adam differ by {apart} (decay {decay:?}); training moved {moved}"
            );
        }
    }
}
