//! Data parallelism for training on the CPU backend: other threads of execution (the page's helper Web
//! Workers, or in-process replicas in tests) each hold a copy of the network, compute the gradients of
//! their part of every batch, and apply the same averaged gradients with their own Adam. The copies
//! start from the same weights and take the same steps, so they stay identical; the batch's gradient is
//! the average of the parts' gradients weighted by their sizes, as if one thread had computed it (batch
//! norm aside: each part normalises over itself, as in multi-GPU training).

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::nn::loss::{CrossEntropyLoss, CrossEntropyLossConfig};
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use super::adam::FusedAdam;
use super::classical::svm::hinge_loss;
use super::nn::Network;
use super::store;
use crate::error::TrainError;
use crate::tensor::{images_tensor, labels_tensor, read_back};
use atelier_core::dataset::Batch;

/// What every copy of a network steps with (the workers' copies must step alike): Adam's weight
/// decay and the label smoothing of the cross-entropy loss.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StepSettings {
    pub weight_decay: f64,
    /// Share of each target moved evenly onto all classes (Szegedy et al., "Rethinking the Inception
    /// Architecture", 2016, section 7); 0: plain one-hot targets.
    #[serde(default)]
    pub label_smoothing: f64,
}

impl StepSettings {
    /// Adam as every run uses it (burn's, in one pass a parameter on the CPU backend).
    pub fn optimizer(&self) -> ModuleOptimizer {
        FusedAdam::module_optimizer((self.weight_decay > 0.0).then_some(self.weight_decay as f32))
    }

    /// The cross-entropy loss (the SVM's hinge loss ignores the smoothing).
    pub fn loss(&self, device: &Device) -> CrossEntropyLoss {
        CrossEntropyLossConfig::new()
            .with_smoothing(
                (self.label_smoothing > 0.0).then_some(self.label_smoothing.clamp(0.0, 1.0) as f32),
            )
            .init(device)
    }
}

/// The loss of a batch's logits: the hinge loss for the SVM, cross-entropy for the rest.
fn batch_loss(
    model: &Network,
    loss_fn: &CrossEntropyLoss,
    logits: Tensor<2>,
    targets: Tensor<1, Int>,
) -> Tensor<1> {
    match model {
        Network::Svm(_) => hinge_loss(logits, targets),
        _ => loss_fn.forward(logits, targets),
    }
}

/// One part's forward and backward pass: its gradients, and its mean loss and correct count as one
/// tensor of two values (read back together).
pub fn part_gradients(
    model: &Network,
    loss_fn: &CrossEntropyLoss,
    batch: &Batch,
    train_device: &Device,
) -> (GradientsParams, Tensor<1>) {
    let images = images_tensor(batch, train_device);
    let targets = labels_tensor(batch, train_device);
    let logits = model.forward(images);
    let loss = batch_loss(model, loss_fn, logits.clone(), targets.clone());
    let correct = logits
        .detach()
        .argmax(1)
        .flatten::<1>(0, 1)
        .equal(targets)
        .float()
        .sum();
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let both = Tensor::cat(vec![loss.detach().reshape([1]), correct.reshape([1])], 0);
    (grads, both)
}

/// One part's pass with its results read back: the parameter gradients (the layout reference for
/// [`unflatten`]) and the flat gradients, mean loss and correct count.
pub async fn read_part(
    model: &Network,
    loss_fn: &CrossEntropyLoss,
    part: &Batch,
    train_device: &Device,
) -> Result<(GradientsParams, PartGradients), TrainError> {
    let (grads, both) = part_gradients(model, loss_fn, part, train_device);
    let values = flatten(model, &grads).await?;
    let both: Vec<f32> = read_back(both).await?;
    let part = PartGradients {
        values,
        loss: both[0],
        correct: both[1],
    };
    Ok((grads, part))
}

/// The float parameters that have a gradient, in the model's visiting order, with their shapes: the
/// layout of a flat gradient vector. Every copy of a network has the same layout (its ids differ).
fn layout(model: &Network, grads: &GradientsParams) -> Vec<(ParamId, Vec<usize>)> {
    struct Shapes<'a> {
        grads: &'a GradientsParams,
        out: Vec<(ParamId, Vec<usize>)>,
    }
    impl ModuleVisitor for Shapes<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            if let Some(g) = self.grads.get::<D>(param.id) {
                self.out.push((param.id, g.dims().to_vec()));
            }
        }
    }
    let mut shapes = Shapes {
        grads,
        out: Vec::new(),
    };
    model.visit(&mut shapes);
    shapes.out
}

fn flat<const D: usize>(grads: &GradientsParams, id: ParamId) -> Option<Tensor<1>> {
    grads.get::<D>(id).map(|g| g.flatten::<1>(0, D - 1))
}

/// The gradients as one vector in [`layout`] order (one readback).
pub async fn flatten(model: &Network, grads: &GradientsParams) -> Result<Vec<f32>, TrainError> {
    let parts: Vec<Tensor<1>> = layout(model, grads)
        .into_iter()
        .filter_map(|(id, dims)| match dims.len() {
            1 => flat::<1>(grads, id),
            2 => flat::<2>(grads, id),
            3 => flat::<3>(grads, id),
            4 => flat::<4>(grads, id),
            _ => None,
        })
        .collect();
    if parts.is_empty() {
        return Ok(Vec::new());
    }
    read_back(Tensor::cat(parts, 0)).await
}

/// A flat gradient vector back as gradients of `model`'s parameters (those `reference` has a gradient
/// for); None when its length does not fit.
pub fn unflatten(
    model: &Network,
    reference: &GradientsParams,
    values: &[f32],
    device: &Device,
) -> Option<GradientsParams> {
    let layout = layout(model, reference);
    let total: usize = layout
        .iter()
        .map(|(_, d)| d.iter().product::<usize>())
        .sum();
    if total != values.len() {
        return None;
    }
    let mut grads = GradientsParams::new();
    let mut offset = 0;
    for (id, dims) in layout {
        let n: usize = dims.iter().product();
        let data = values[offset..offset + n].to_vec();
        offset += n;
        match dims[..] {
            [a] => grads.register::<1>(id, Tensor::from_data(TensorData::new(data, [a]), device)),
            [a, b] => {
                grads.register::<2>(id, Tensor::from_data(TensorData::new(data, [a, b]), device))
            }
            [a, b, c] => grads.register::<3>(
                id,
                Tensor::from_data(TensorData::new(data, [a, b, c]), device),
            ),
            [a, b, c, d] => grads.register::<4>(
                id,
                Tensor::from_data(TensorData::new(data, [a, b, c, d]), device),
            ),
            _ => return None,
        }
    }
    Some(grads)
}

/// Splits a batch into `parts` consecutive parts of near-equal size (fewer when the batch is smaller).
pub fn split(batch: &Batch, parts: usize) -> Vec<Batch> {
    let n = batch.len();
    let parts = parts.clamp(1, n.max(1));
    let pixels = batch.image_len();
    (0..parts)
        .map(|p| {
            let (start, end) = (p * n / parts, (p + 1) * n / parts);
            Batch {
                pixels: batch.pixels[start * pixels..end * pixels].to_vec(),
                labels: batch.labels[start..end].to_vec(),
                channels: batch.channels,
                rows: batch.rows,
                cols: batch.cols,
            }
        })
        .collect()
}

/// What a part's pass gives back: its flat gradients, mean loss and correct count.
#[derive(Debug, Clone, PartialEq)]
pub struct PartGradients {
    pub values: Vec<f32>,
    pub loss: f32,
    pub correct: f32,
}

/// Averages parts' gradients and losses, weighted by their image counts: the whole batch's gradient.
pub fn combine(parts: &[(usize, PartGradients)]) -> Option<PartGradients> {
    let total: usize = parts.iter().map(|(n, _)| n).sum();
    let len = parts.first()?.1.values.len();
    if total == 0 || parts.iter().any(|(_, p)| p.values.len() != len) {
        return None;
    }
    let mut values = vec![0.0f32; len];
    let (mut loss, mut correct) = (0.0f32, 0.0f32);
    for (n, part) in parts {
        let w = *n as f32 / total as f32;
        for (v, g) in values.iter_mut().zip(&part.values) {
            *v += w * g;
        }
        loss += w * part.loss;
        correct += part.correct;
    }
    Some(PartGradients {
        values,
        loss,
        correct,
    })
}

/// Other threads of execution that train copies of the network beside this one, and score images with
/// copies of a model.
pub trait GradientHelpers {
    /// Starts a run: each helper ready now gets the weights (a burnpack) and the step's settings.
    /// Returns how many take part; they are numbered from 0.
    fn begin(&mut self, weights: &[u8], settings: StepSettings) -> usize;
    /// Hands helper `helper` its part of step `step`; false when it is gone.
    fn compute(&mut self, helper: usize, step: usize, part: &Batch) -> bool;
    /// The answers that arrived since the last call: (helper, step, gradients or why not).
    fn collect(&mut self) -> Vec<(usize, usize, Result<PartGradients, String>)>;
    /// The helpers still taking part apply the averaged gradients of `step`.
    fn apply(&mut self, helpers: &[usize], step: usize, gradients: &[f32], learning_rate: f64);
    /// Scoring (`evaluation::evaluate_shared`): each helper ready now gets a model's file to score
    /// images with (`mirror`: each image averaged with its mirror image, as `evaluation::Scorer`).
    /// Returns how many will score, numbered from 0; none by default.
    fn begin_scoring(&mut self, _file: &[u8], _mirror: bool) -> usize {
        0
    }
    /// Hands helper `helper` chunk `index` to score; false when it is gone.
    fn score(&mut self, _helper: usize, _index: usize, _chunk: &Batch) -> bool {
        false
    }
    /// The scores that arrived since the last call: (helper, chunk, class probabilities or why not).
    fn collect_scores(&mut self) -> Vec<(usize, usize, Result<Vec<f32>, String>)> {
        Vec::new()
    }
}

/// A copy of the network in a helper, on the CPU backend.
pub struct Replica {
    model: Network,
    optimizer: ModuleOptimizer,
    loss_fn: CrossEntropyLoss,
    device: Device,
    train_device: Device,
    /// The layout reference: the last gradients computed (same parameters every step).
    last: Option<GradientsParams>,
}

impl Replica {
    /// The copy of a network's starting weights.
    pub fn new(weights: &[u8], settings: StepSettings) -> Result<Self, String> {
        let device = super::backend::cpu_device();
        let train_device = device.clone().autodiff();
        let loaded = store::from_burnpack(weights, &train_device).map_err(|e| e.to_string())?;
        Ok(Self {
            model: loaded.model,
            optimizer: settings.optimizer(),
            loss_fn: settings.loss(&train_device),
            device,
            train_device,
            last: None,
        })
    }

    /// The gradients of one part.
    pub async fn gradients(&mut self, part: &Batch) -> Result<PartGradients, TrainError> {
        let (grads, gradients) =
            read_part(&self.model, &self.loss_fn, part, &self.train_device).await?;
        self.last = Some(grads);
        Ok(gradients)
    }

    /// Takes the step every copy takes.
    pub fn apply(&mut self, gradients: &[f32], learning_rate: f64) -> Result<(), String> {
        let reference = self
            .last
            .take()
            .ok_or("no gradients were computed before this step")?;
        let grads = unflatten(&self.model, &reference, gradients, &self.device)
            .ok_or("the averaged gradients do not fit this network")?;
        self.model = self
            .optimizer
            .step(learning_rate, self.model.clone(), grads);
        Ok(())
    }

    /// The copy's network.
    pub fn model(&self) -> &Network {
        &self.model
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::{HelpedHost, NativeHost, TestHelpers};
    use crate::nn::Architecture;
    use crate::tensor::block_on;
    use crate::train::{TrainConfig, TrainOutcome, train, training_positions};
    use atelier_core::dataset::Part;
    use atelier_core::fixtures::synthetic_28;
    use atelier_core::rng::SplitMix64;

    /// Helpers in this process: each a [`Replica`], answering at once; one can be made to fail.
    struct LocalReplicas {
        count: usize,
        /// The starting weights the run handed out.
        initial: Vec<u8>,
        replicas: Vec<Replica>,
        answers: Vec<(usize, usize, Result<PartGradients, String>)>,
        /// (helper, step) that answers with an error instead of gradients.
        fail: Option<(usize, usize)>,
        /// (helper, step) that cannot be handed its part (a refused postMessage, a closed channel).
        refuse: Option<(usize, usize)>,
    }

    impl GradientHelpers for LocalReplicas {
        fn begin(&mut self, weights: &[u8], settings: StepSettings) -> usize {
            self.initial = weights.to_vec();
            self.replicas = (0..self.count)
                .map(|_| Replica::new(weights, settings).unwrap())
                .collect();
            self.count
        }

        fn compute(&mut self, helper: usize, step: usize, part: &Batch) -> bool {
            if self.refuse == Some((helper, step)) {
                return false;
            }
            let answer = if self.fail == Some((helper, step)) {
                Err("this helper failed".to_string())
            } else {
                block_on(self.replicas[helper].gradients(part)).map_err(|e| e.to_string())
            };
            self.answers.push((helper, step, answer));
            true
        }

        fn collect(&mut self) -> Vec<(usize, usize, Result<PartGradients, String>)> {
            std::mem::take(&mut self.answers)
        }

        fn apply(&mut self, helpers: &[usize], _step: usize, gradients: &[f32], lr: f64) {
            for &h in helpers {
                self.replicas[h].apply(gradients, lr).unwrap();
            }
        }
    }

    impl TestHelpers for LocalReplicas {
        fn gradients(&mut self) -> Option<&mut dyn GradientHelpers> {
            Some(self)
        }
    }

    fn values(model: &Network) -> Vec<(String, Vec<f32>)> {
        block_on(store::parameters(model))
            .unwrap()
            .into_iter()
            .map(|(path, _, _, v)| (path, v))
            .collect()
    }

    /// The run with helpers and the run on one copy took the same steps, sums in another order apart.
    /// Adam divides each gradient by its own running scale, so a parameter whose gradient is near zero
    /// can step visibly differently from a rounding difference (how much depends on the CPU's kernels):
    /// what must hold is that the runs differ by a small share of how far training moved the weights,
    /// at the worst parameter and on average. Measured (2026-11-30): rounding apart, at most 1.6% of
    /// the largest movement at the worst parameter; parts averaged with equal instead of size weights
    /// (5, 5 and 6 images), 24-100%.
    fn assert_trained_alike(alone: &Network, shared: &Network, initial: &Network) {
        let (moved_max, moved_mean) = differences(alone, initial);
        let (apart_max, apart_mean) = differences(alone, shared);
        assert!(moved_mean > 0.0, "training did not move the weights");
        assert!(
            apart_max < 0.1 * moved_max && apart_mean < 0.005 * moved_mean,
            "the runs differ by up to {apart_max:e} (mean {apart_mean:e}) where training moved the \
             weights by up to {moved_max:e} (mean {moved_mean:e})"
        );
    }

    /// The largest and the mean absolute difference between two networks' parameters, matched by path.
    fn differences(a: &Network, b: &Network) -> (f64, f64) {
        let (a, b) = (values(a), values(b));
        assert_eq!(a.len(), b.len());
        let d: Vec<f32> = a
            .iter()
            .zip(&b)
            .flat_map(|((pa, va), (pb, vb))| {
                assert_eq!(pa, pb);
                assert_eq!(va.len(), vb.len());
                va.iter().zip(vb).map(|(x, y)| (x - y).abs())
            })
            .collect();
        let mean = d.iter().map(|&v| v as f64).sum::<f64>() / d.len().max(1) as f64;
        (d.into_iter().fold(0.0f32, f32::max) as f64, mean)
    }

    fn largest_difference(a: &Network, b: &Network) -> f64 {
        differences(a, b).0
    }

    fn config() -> TrainConfig {
        TrainConfig {
            architecture: Architecture::RefCnn,
            epochs: 1,
            batch_size: 16,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            // Smoothing too: every copy must compute the same loss for the runs to match.
            label_smoothing: 0.1,
            augmentation: None,
            ..TrainConfig::default()
        }
    }

    /// A run with helpers (the reference CNN has neither dropout nor batch norm: splitting a batch
    /// changes nothing but the order of sums), and the same run on one copy from the same start.
    fn run(helpers: Option<LocalReplicas>) -> (TrainOutcome, LocalReplicas, Network, Network) {
        let dataset = synthetic_28(4, 40, 10, 5);
        let config = config();
        let mut host = HelpedHost {
            inner: NativeHost::default(),
            helpers: helpers.unwrap(),
        };
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        // One copy from the weights the run started with (other tests draw from burn's seeded
        // generator at the same time, so a second seeded run would not start from the same weights).
        let mut alone = Replica::new(&host.helpers.initial, config.step_settings()).unwrap();
        let initial = alone.model().valid();
        let positions = training_positions(&dataset, config.train_size, config.seed);
        let mut rng = SplitMix64::new(config.seed);
        let mut order = positions.clone();
        rng.shuffle(&mut order);
        let total = order.len().div_ceil(config.batch_size);
        for (step, chunk) in order.chunks(config.batch_size).enumerate() {
            let whole = block_on(alone.gradients(&dataset.batch(Part::Train, chunk))).unwrap();
            let lr = config.schedule.rate(config.learning_rate, step, total, 0);
            alone.apply(&whole.values, lr).unwrap();
        }
        (outcome, host.helpers, alone.model().valid(), initial)
    }

    fn replicas(count: usize, fail: Option<(usize, usize)>) -> Option<LocalReplicas> {
        Some(LocalReplicas {
            count,
            initial: Vec::new(),
            replicas: Vec::new(),
            answers: Vec::new(),
            fail,
            refuse: None,
        })
    }

    #[test]
    fn label_smoothing_moves_a_share_of_the_target_onto_every_class() {
        let device = Device::flex();
        // Logits [2, 0, 0] for class 0: log p = [2 - ln(e^2 + 2), -ln(e^2 + 2), -ln(e^2 + 2)].
        let logits = Tensor::<2>::from_floats([[2.0, 0.0, 0.0]], &device);
        let target = Tensor::<1, Int>::from_ints([0], &device);
        let loss = |smoothing: f64| {
            let settings = StepSettings {
                label_smoothing: smoothing,
                ..StepSettings::default()
            };
            let value = settings
                .loss(&device)
                .forward(logits.clone(), target.clone())
                .into_data()
                .try_into_vec_as::<f32>()
                .unwrap()[0];
            value as f64
        };
        let log_z = (2.0f64.exp() + 2.0).ln();
        // Targets (1 - a + a/3, a/3, a/3): the loss is log Z - 2 (1 - a + a/3).
        for (a, expected) in [(0.0, log_z - 2.0), (0.1, log_z - 2.0 * (0.9 + 0.1 / 3.0))] {
            let got = loss(a);
            assert!(
                (got - expected).abs() < 1e-5,
                "smoothing {a}: {got} != {expected}"
            );
        }
        assert!(
            loss(0.1) > loss(0.0),
            "smoothing penalises a confident right answer"
        );
    }

    #[test]
    fn training_on_three_copies_matches_one_and_the_copies_stay_equal() {
        let (shared, helpers, alone, initial) = run(replicas(2, None));
        assert_eq!(shared.helpers_used, 2);
        assert_trained_alike(&alone, &shared.model, &initial);
        // Both helpers applied every step: their copies are this thread's weights, bit for bit.
        for replica in &helpers.replicas {
            assert_eq!(
                largest_difference(&replica.model().valid(), &shared.model),
                0.0
            );
        }
    }

    #[test]
    fn a_failing_helper_leaves_and_its_part_is_done_here() {
        let (shared, helpers, alone, initial) = run(replicas(2, Some((1, 3))));
        assert_eq!(shared.helpers_used, 1);
        assert_trained_alike(&alone, &shared.model, &initial);
        assert_eq!(
            largest_difference(&helpers.replicas[0].model().valid(), &shared.model),
            0.0
        );
        // The helper that failed stopped applying steps: its copy fell behind.
        assert!(largest_difference(&helpers.replicas[1].model().valid(), &shared.model) > 0.0);
    }

    #[test]
    fn a_helper_refusing_its_part_leaves_and_the_others_keep_theirs() {
        // Helper 0 of three cannot be handed its part at step 2: the parts after it must still go
        // to helpers 1 and 2 (not shift onto the wrong helper or past the end of the list).
        let mut three = replicas(3, None);
        if let Some(h) = three.as_mut() {
            h.refuse = Some((0, 2));
        }
        let (shared, helpers, alone, initial) = run(three);
        assert_eq!(shared.helpers_used, 2);
        assert_trained_alike(&alone, &shared.model, &initial);
        for kept in &helpers.replicas[1..] {
            assert_eq!(
                largest_difference(&kept.model().valid(), &shared.model),
                0.0
            );
        }
        assert!(largest_difference(&helpers.replicas[0].model().valid(), &shared.model) > 0.0);
    }

    #[test]
    fn batches_split_evenly_and_parts_average_by_size() {
        let batch = Batch {
            pixels: (0..10 * 4).map(|v| v as f32).collect(),
            labels: (0..10).collect(),
            channels: 1,
            rows: 2,
            cols: 2,
        };
        let parts = split(&batch, 3);
        let sizes: Vec<usize> = parts.iter().map(Batch::len).collect();
        assert_eq!(sizes, vec![3, 3, 4]);
        assert_eq!(parts[2].labels, vec![6, 7, 8, 9]);
        assert_eq!(parts[2].pixels[0], 24.0);
        assert_eq!(split(&batch, 20).len(), 10, "never an empty part");
        let part = |g: f32, loss: f32, correct: f32| PartGradients {
            values: vec![g, 2.0 * g],
            loss,
            correct,
        };
        let whole = combine(&[(1, part(1.0, 0.5, 1.0)), (3, part(3.0, 1.0, 2.0))]).unwrap();
        assert_eq!(whole.values, vec![2.5, 5.0]);
        assert_eq!((whole.loss, whole.correct), (0.875, 3.0));
        let short = PartGradients {
            values: vec![1.0],
            loss: 0.0,
            correct: 0.0,
        };
        assert!(combine(&[(1, part(1.0, 0.0, 0.0)), (1, short)]).is_none());
    }
}
