//! The training loop shared by the worker (WebGPU or CPU, in the browser) and the native benchmark.
//!
//! It is async and reads tensors back only with the async calls: a synchronous readback panics on wasm
//! with WebGPU (see shared/burn-notes.md). Between batches it yields to its host, which lets a worker
//! handle a Stop message.

use burn::nn::loss::CrossEntropyLoss;
use burn::optim::ModuleOptimizer;
use burn::prelude::*;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use super::nn::{Architecture, ModelOptions, Network};
use super::parallel::{self, PartGradients, StepSettings};
use super::store;
use crate::error::TrainError;
use crate::evaluation::evaluate_shared;
use crate::host::{BatchReport, EpochReport, TrainEvent, TrainHost};
use crate::model::Trained;
use crate::tensor::read_back;
use atelier_core::augment::Augmentation;
use atelier_core::dataset::{Batch, Dataset, Part};
use atelier_core::rng::SplitMix64;

/// How the learning rate changes over a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    Constant,
    /// Cosine decay from the base rate to zero over all steps (Loshchilov and Hutter, SGDR, 2017).
    Cosine,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        every: usize,
        gamma: f64,
    },
    /// One cycle (Smith and Topin, "Super-Convergence", 2018): a linear warm-up from a tenth of the base
    /// rate to the base rate over the first `warmup` of the steps, then cosine decay to zero.
    OneCycle {
        warmup: f64,
    },
}

/// Cosine decay from `base` at progress 0 to zero at progress 1.
fn cosine(base: f64, progress: f64) -> f64 {
    base * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
}

impl Schedule {
    /// The learning rate at `step` of `total_steps` (0-based), in epoch `epoch`.
    pub fn rate(&self, base: f64, step: usize, total_steps: usize, epoch: usize) -> f64 {
        match *self {
            Self::Constant => base,
            Self::Cosine => cosine(base, step as f64 / total_steps.max(1) as f64),
            Self::Step { every, gamma } => base * gamma.powi((epoch / every.max(1)) as i32),
            Self::OneCycle { warmup } => {
                let progress = step as f64 / total_steps.max(1) as f64;
                if progress < warmup {
                    base * (0.1 + 0.9 * progress / warmup)
                } else {
                    let rest = (progress - warmup) / (1.0 - warmup).max(f64::EPSILON);
                    cosine(base, rest.min(1.0))
                }
            }
        }
    }
}

/// Everything a training run is set with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub architecture: Architecture,
    /// Shapes of the MLP and the SVM (`inputs` is set from the dataset).
    pub options: ModelOptions,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Label smoothing of the cross-entropy loss, in [0, 1); 0: none.
    pub label_smoothing: f64,
    pub schedule: Schedule,
    /// Use only this many training images (a seeded random subset); None: all.
    pub train_size: Option<usize>,
    pub augmentation: Option<Augmentation>,
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            architecture: Architecture::Cnn,
            options: ModelOptions::default(),
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 0.0,
            label_smoothing: 0.0,
            schedule: Schedule::Cosine,
            train_size: None,
            augmentation: Some(Augmentation::default()),
            seed: 42,
        }
    }
}

impl TrainConfig {
    /// What every copy of the network steps with.
    pub fn step_settings(&self) -> StepSettings {
        StepSettings {
            weight_decay: self.weight_decay,
            label_smoothing: self.label_smoothing,
        }
    }

    /// Checks the settings before any work starts; the message says what to change.
    pub fn check(&self) -> Result<(), String> {
        if self.epochs == 0 || self.epochs > 1000 {
            return Err(format!(
                "epochs must be between 1 and 1000, got {}",
                self.epochs
            ));
        }
        if self.batch_size == 0 || self.batch_size > 4096 {
            return Err(format!(
                "the batch size must be between 1 and 4096, got {}",
                self.batch_size
            ));
        }
        if !(self.learning_rate > 0.0 && self.learning_rate < 10.0) {
            return Err(format!(
                "the learning rate must be above 0 and below 10, got {}",
                self.learning_rate
            ));
        }
        if !(0.0..1.0).contains(&self.weight_decay) {
            return Err(format!(
                "weight decay must be in [0, 1), got {}",
                self.weight_decay
            ));
        }
        if !(0.0..1.0).contains(&self.label_smoothing) {
            return Err(format!(
                "label smoothing must be in [0, 1), got {}",
                self.label_smoothing
            ));
        }
        if self.train_size == Some(0) {
            return Err("the training-set size must be at least 1".into());
        }
        self.options.check()
    }
}

/// How a run ended.
pub struct TrainOutcome {
    /// The weights with the best validation accuracy (the last ones when no epoch finished), for inference.
    pub model: Network,
    pub epochs: Vec<EpochReport>,
    pub stopped: bool,
    pub train_seconds: f64,
    pub samples_seen: usize,
    /// 1-based epoch of the kept weights; 0 when no epoch finished.
    pub best_epoch: usize,
    /// The device failed during the run (the message says how); `model` is then the best epoch's copy,
    /// restored on the CPU backend.
    pub device_lost: Option<String>,
    /// Helper workers that trained copies of the network beside this thread to the end (0: none).
    pub helpers_used: usize,
}

/// The training positions a run uses: all, or a seeded random subset.
pub fn training_positions(dataset: &Dataset, train_size: Option<usize>, seed: u64) -> Vec<usize> {
    let mut positions: Vec<usize> = (0..dataset.len(Part::Train)).collect();
    if let Some(n) = train_size.filter(|&n| n < positions.len()) {
        SplitMix64::new(seed ^ 0x7472_6169_6e5f_7365).shuffle(&mut positions);
        positions.truncate(n);
        positions.sort_unstable();
    }
    positions
}

/// Trains a new network. `device` is the plain device (WebGPU or CPU); autodiff is added here.
pub async fn train(
    config: &TrainConfig,
    dataset: &Dataset,
    device: &Device,
    host: &mut impl TrainHost,
) -> Result<TrainOutcome, TrainError> {
    config.check().map_err(TrainError::Config)?;
    let train_device = device.clone().autodiff();
    // The same seed gives the same initial weights (and, with the same data order, the same run).
    train_device.seed(config.seed);
    let options = config.options.clone().for_dataset(dataset);
    if let Some(reason) = config.architecture.misfit(&options) {
        return Err(TrainError::Config(reason));
    }
    let mut model = config
        .architecture
        .init(dataset.classes(), &options, &train_device);
    let positions = training_positions(dataset, config.train_size, config.seed);
    let mut pca_ms = 0.0;
    if let Network::Svm(svm) = &model
        && let Some(k) = svm.needs_pca()
    {
        // The RBF SVM's random features live in the images' principal subspace: fitted first, counted
        // as training time.
        let start = host.now_ms();
        let pca = super::classical::pca::fit(dataset, &positions, k, device, config.seed).await?;
        if let Network::Svm(svm) = model {
            model = Network::Svm(svm.with_pca(&pca));
        }
        pca_ms = host.now_ms() - start;
    }
    let mut optimizer = config.step_settings().optimizer();
    let loss_fn = config.step_settings().loss(&train_device);
    let batches_per_epoch = positions.len().div_ceil(config.batch_size);
    let total_steps = batches_per_epoch * config.epochs;
    let mut rng = SplitMix64::new(config.seed);
    let (mut train_ms, mut samples_seen, mut step) = (pca_ms, 0usize, 0usize);
    let mut best: Option<(f64, usize, Network)> = None;
    // The best weights also as bytes in memory: what survives when the device (a GPU) is lost.
    let mut snapshot: Option<Vec<u8>> = None;
    let mut epochs = Vec::new();
    let mut stopped = false;
    let mut lost: Option<String> = None;
    // Helpers training copies of the network on part of each batch (CPU backend only: a GPU does a
    // batch at once). They start from this thread's weights.
    let mut helpers: Vec<usize> = Vec::new();
    if *device == super::backend::cpu_device()
        && host.gradient_helpers().is_some()
        && let Ok(weights) =
            store::to_burnpack(&model, dataset.classes(), &options, &BTreeMap::new()).await
        && let Some(h) = host.gradient_helpers()
    {
        helpers = (0..h.begin(&weights, config.step_settings())).collect();
    }

    'epochs: for epoch in 0..config.epochs {
        let mut order = positions.clone();
        rng.shuffle(&mut order);
        let (mut loss_sum, mut correct_sum, mut seen) = (0.0f64, 0.0f64, 0usize);
        for (b, chunk) in order.chunks(config.batch_size).enumerate() {
            if host.should_stop() {
                stopped = true;
                break 'epochs;
            }
            let start = host.now_ms();
            let mut batch = dataset.batch(Part::Train, chunk);
            if let Some(aug) = &config.augmentation {
                aug.apply(&mut batch, rng.next_u64());
            }
            let lr = config
                .schedule
                .rate(config.learning_rate, step, total_steps, epoch);
            let step_result = if helpers.is_empty() {
                let (grads, both) =
                    parallel::part_gradients(&model, &loss_fn, &batch, &train_device);
                model = optimizer.step(lr, model, grads);
                // One readback per step: the loss and the number of correct predictions together.
                read_back(both).await
            } else {
                match data_parallel_step(
                    &mut model,
                    &mut optimizer,
                    &loss_fn,
                    &batch,
                    (&train_device, device),
                    (step, lr),
                    &mut helpers,
                    host,
                )
                .await
                {
                    Ok(Some(values)) => Ok(values),
                    Ok(None) => {
                        stopped = true;
                        break 'epochs;
                    }
                    Err(e) => Err(e),
                }
            };
            let values: Vec<f32> = match step_result.and_then(|v| {
                host.injected_fault()
                    .map_or(Ok(v), |m| Err(TrainError::Device(m)))
            }) {
                Ok(values) => values,
                Err(TrainError::Device(message)) => {
                    lost = Some(message);
                    break 'epochs;
                }
                Err(e) => return Err(e),
            };
            let (loss_value, correct_value) = (values[0], values[1]);
            if !loss_value.is_finite() {
                return Err(TrainError::Config(format!(
                    "the loss became {loss_value} at epoch {}, batch {}: lower the learning rate",
                    epoch + 1,
                    b + 1
                )));
            }
            train_ms += host.now_ms() - start;
            samples_seen += batch.len();
            seen += batch.len();
            step += 1;
            loss_sum += loss_value as f64 * batch.len() as f64;
            correct_sum += correct_value as f64;
            host.report(TrainEvent::Batch(BatchReport {
                epoch,
                batch: b,
                batches_per_epoch,
                loss: loss_value,
                accuracy: correct_value / batch.len() as f32,
                learning_rate: lr,
                samples_per_second: samples_seen as f64 / (train_ms / 1000.0).max(1e-9),
                train_seconds: train_ms / 1000.0,
            }));
            host.pause().await;
        }
        let inference = model.valid();
        // Without a validation part (a 0% split) every epoch counts as the best: the last weights are kept.
        let validation = if dataset.len(Part::Validation) > 0 {
            let copy = Trained::Network {
                network: inference.clone(),
                options: options.clone(),
            };
            let classes = dataset.classes();
            let part = Part::Validation;
            match evaluate_shared(&copy, classes, false, device, dataset, part, None, host).await {
                Ok(validation) => Some(validation),
                Err(TrainError::Device(message)) => {
                    lost = Some(message);
                    break 'epochs;
                }
                Err(e) => return Err(e),
            }
        } else {
            None
        };
        let is_best = match &validation {
            None => true,
            Some(v) => best.as_ref().is_none_or(|(acc, _, _)| v.accuracy > *acc),
        };
        let report = EpochReport {
            epoch,
            train_loss: loss_sum / seen.max(1) as f64,
            train_accuracy: correct_sum / seen.max(1) as f64,
            validation_loss: validation.as_ref().map(|v| v.loss),
            validation_accuracy: validation.as_ref().map(|v| v.accuracy),
            best: is_best,
        };
        if is_best {
            match store::to_burnpack(&inference, dataset.classes(), &options, &BTreeMap::new())
                .await
            {
                Ok(bytes) => snapshot = Some(bytes),
                Err(e) => {
                    lost = Some(e.to_string());
                    break 'epochs;
                }
            }
            best = Some((
                validation.as_ref().map_or(0.0, |v| v.accuracy),
                epoch + 1,
                inference,
            ));
        }
        epochs.push(report.clone());
        host.report(TrainEvent::Epoch(report));
    }
    let (model, best_epoch) = match (best, lost.as_ref()) {
        (Some((_, epoch, _)), Some(message)) => {
            // The device is gone with the weights on it: the copy of the best epoch goes to the CPU.
            let bytes = snapshot.expect("a best epoch always has its copy");
            let restored = store::from_burnpack(&bytes, &super::backend::cpu_device())
                .map_err(|e| TrainError::Device(format!("{message}; the kept copy: {e}")))?;
            (restored.model, epoch)
        }
        (None, Some(message)) => return Err(TrainError::Device(message.clone())),
        (Some((_, epoch, model)), None) => (model, epoch),
        (None, None) => (model.valid(), 0),
    };
    Ok(TrainOutcome {
        model,
        epochs,
        stopped: stopped || lost.is_some(),
        train_seconds: train_ms / 1000.0,
        samples_seen,
        best_epoch,
        device_lost: lost,
        helpers_used: helpers.len(),
    })
}

/// One training step shared with helpers: each computes the gradients of its part of the batch while
/// this thread does the first part; the parts are averaged by size, applied here and sent to the helpers
/// to apply. A helper that fails or answers wrongly leaves the run and its part is done here. Returns the
/// batch's mean loss and correct count; None when the user stopped while waiting.
#[allow(clippy::too_many_arguments)]
async fn data_parallel_step(
    model: &mut Network,
    optimizer: &mut ModuleOptimizer,
    loss_fn: &CrossEntropyLoss,
    batch: &Batch,
    (train_device, device): (&Device, &Device),
    (step, lr): (usize, f64),
    helpers: &mut Vec<usize>,
    host: &mut impl TrainHost,
) -> Result<Option<Vec<f32>>, TrainError> {
    let parts = parallel::split(batch, helpers.len() + 1);
    let mut pending: Vec<(usize, usize)> = Vec::new();
    // The members as they were when the batch was split: a helper that refuses its part leaves
    // `helpers` inside this loop, and the parts after it still belong to the helpers after it.
    let members = helpers.clone();
    for (k, part) in parts.iter().enumerate().skip(1) {
        let helper = members[k - 1];
        if host
            .gradient_helpers()
            .is_some_and(|h| h.compute(helper, step, part))
        {
            pending.push((helper, k));
        } else {
            helpers.retain(|&h| h != helper);
        }
    }
    let mut results: Vec<Option<PartGradients>> = vec![None; parts.len()];
    let (grads, mine) = parallel::read_part(model, loss_fn, &parts[0], train_device).await?;
    let expected = mine.values.len();
    results[0] = Some(mine);
    while !pending.is_empty() {
        if host.should_stop() {
            return Ok(None);
        }
        let answers = host
            .gradient_helpers()
            .map(|h| h.collect())
            .unwrap_or_default();
        for (helper, answer_step, answer) in answers {
            let Some(at) = pending
                .iter()
                .position(|&(h, _)| h == helper && answer_step == step)
            else {
                continue;
            };
            let (_, k) = pending.remove(at);
            match answer {
                Ok(part) if part.values.len() == expected => results[k] = Some(part),
                _ => helpers.retain(|&h| h != helper),
            }
        }
        if !pending.is_empty() {
            host.wait_for_helpers().await;
        }
    }
    // Parts left by helpers that failed: done here.
    for (k, part) in parts.iter().enumerate() {
        if results[k].is_none() {
            results[k] = Some(
                parallel::read_part(model, loss_fn, part, train_device)
                    .await?
                    .1,
            );
        }
    }
    let sized: Vec<(usize, PartGradients)> = parts
        .iter()
        .map(|p| p.len())
        .zip(results.into_iter().flatten())
        .collect();
    let whole = parallel::combine(&sized)
        .ok_or_else(|| TrainError::Config("the parts' gradients do not fit together".into()))?;
    let averaged = parallel::unflatten(model, &grads, &whole.values, device).ok_or_else(|| {
        TrainError::Config("the averaged gradients do not fit the network".into())
    })?;
    // The helpers first, so that they step while this thread does.
    if let Some(h) = host.gradient_helpers() {
        h.apply(helpers, step, &whole.values, lr);
    }
    *model = optimizer.step(lr, model.clone(), averaged);
    Ok(Some(vec![whole.loss, whole.correct]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::evaluate;
    use crate::host::NativeHost;
    use crate::tensor::block_on;

    #[test]
    fn schedules() {
        assert_eq!(Schedule::Constant.rate(0.1, 5, 10, 1), 0.1);
        assert!((Schedule::Cosine.rate(0.1, 0, 10, 0) - 0.1).abs() < 1e-12);
        assert!((Schedule::Cosine.rate(0.1, 5, 10, 0) - 0.05).abs() < 1e-12);
        assert!(Schedule::Cosine.rate(0.1, 10, 10, 0).abs() < 1e-12);
        let step = Schedule::Step {
            every: 2,
            gamma: 0.5,
        };
        assert!((step.rate(0.1, 0, 10, 3) - 0.05).abs() < 1e-12);
        let one = Schedule::OneCycle { warmup: 0.25 };
        assert!((one.rate(0.1, 0, 100, 0) - 0.01).abs() < 1e-12);
        assert!(one.rate(0.1, 10, 100, 0) > one.rate(0.1, 5, 100, 0));
        assert!((one.rate(0.1, 25, 100, 0) - 0.1).abs() < 1e-12);
        assert!(one.rate(0.1, 60, 100, 0) < one.rate(0.1, 40, 100, 0));
        assert!(one.rate(0.1, 100, 100, 1).abs() < 1e-12);
    }

    /// The reference CNN for two epochs in batches of 16, no augmentation: what the short runs train.
    fn two_small_epochs() -> TrainConfig {
        TrainConfig {
            architecture: Architecture::RefCnn,
            epochs: 2,
            batch_size: 16,
            learning_rate: 1e-3,
            augmentation: None,
            ..TrainConfig::default()
        }
    }

    #[test]
    fn a_short_run_lowers_the_loss_and_beats_chance_and_stop_keeps_the_model() {
        let dataset = atelier_core::fixtures::synthetic_28(4, 60, 20, 3);
        let config = two_small_epochs();
        let mut host = NativeHost::default();
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        let losses: Vec<f32> = host
            .events
            .iter()
            .filter_map(|e| {
                if let TrainEvent::Batch(b) = e {
                    Some(b.loss)
                } else {
                    None
                }
            })
            .collect();
        assert_eq!(losses.len(), 2 * (216usize).div_ceil(16));
        let first: f32 = losses[..3].iter().sum::<f32>() / 3.0;
        let last: f32 = losses[losses.len() - 3..].iter().sum::<f32>() / 3.0;
        assert!(last < first * 0.5, "loss went from {first} to {last}");
        assert_eq!(outcome.epochs.len(), 2);
        assert!(!outcome.stopped);
        let eval = block_on(evaluate(
            &outcome.model,
            &dataset,
            Part::Test,
            None,
            32,
            &host,
        ))
        .unwrap();
        assert_eq!(eval.truth.len(), 80);
        assert!(eval.accuracy > 0.9, "test accuracy {}", eval.accuracy);

        // Stop after 3 batches: the run ends early with a usable model.
        let mut host = NativeHost {
            stop_after_batches: Some(3),
            ..NativeHost::default()
        };
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        assert!(outcome.stopped);
        assert_eq!(outcome.samples_seen, 48);
        assert_eq!(outcome.best_epoch, 0);
        let eval = block_on(evaluate(
            &outcome.model,
            &dataset,
            Part::Test,
            Some(8),
            32,
            &host,
        ))
        .unwrap();
        assert_eq!(eval.truth.len(), 8);
    }

    #[test]
    fn without_a_validation_part_no_validation_figure_is_reported_and_the_last_epoch_is_kept() {
        let dataset = atelier_core::fixtures::synthetic_28_split(4, 30, 10, 5, 0);
        assert_eq!(dataset.len(Part::Validation), 0);
        let config = two_small_epochs();
        let mut host = NativeHost::default();
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        assert_eq!(outcome.epochs.len(), 2);
        for epoch in &outcome.epochs {
            assert_eq!(epoch.validation_loss, None);
            assert_eq!(epoch.validation_accuracy, None);
            assert!(epoch.best);
        }
        assert_eq!(outcome.best_epoch, 2);
    }

    #[test]
    fn a_lost_device_keeps_the_best_epoch_on_the_cpu() {
        let dataset = atelier_core::fixtures::synthetic_28(4, 60, 20, 3);
        let config = two_small_epochs();
        let batches_per_epoch = 216usize.div_ceil(16);
        // Two epochs planned, the device lost 3 batches into the second: epoch 1's weights come back.
        // (Checked against epoch 1's own validation figures, not against a second seeded run: burn's
        // generator is shared by the whole process, and tests on other threads draw from it too.)
        let mut host = NativeHost {
            lose_device_after_batches: Some(batches_per_epoch + 3),
            ..NativeHost::default()
        };
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        assert!(outcome.device_lost.as_deref().unwrap().contains("lost"));
        assert!(outcome.stopped);
        assert_eq!(outcome.best_epoch, 1);
        assert_eq!(outcome.epochs.len(), 1);
        let kept = block_on(evaluate(
            &outcome.model,
            &dataset,
            Part::Validation,
            None,
            256,
            &host,
        ))
        .unwrap();
        let first = &outcome.epochs[0];
        assert_eq!(Some(kept.accuracy), first.validation_accuracy);
        let gap = (kept.loss - first.validation_loss.unwrap()).abs();
        assert!(
            gap < 1e-6,
            "the kept copy's validation loss is off by {gap}"
        );
        // The device was lost where planned, after three steps of the second epoch.
        let batches = host
            .events
            .iter()
            .filter(|e| matches!(e, TrainEvent::Batch(_)))
            .count();
        assert_eq!(batches, batches_per_epoch + 3);

        // Lost before any epoch finished: nothing to keep, a device error.
        let mut host = NativeHost {
            lose_device_after_batches: Some(2),
            ..NativeHost::default()
        };
        assert!(matches!(
            block_on(train(&config, &dataset, &Device::flex(), &mut host)),
            Err(TrainError::Device(_))
        ));
    }

    #[test]
    fn training_subset_is_seeded_and_bounded() {
        let dataset = atelier_core::fixtures::synthetic_28(2, 20, 2, 1);
        let a = training_positions(&dataset, Some(10), 5);
        assert_eq!(a.len(), 10);
        assert_eq!(a, training_positions(&dataset, Some(10), 5));
        assert_ne!(a, training_positions(&dataset, Some(10), 6));
        assert_eq!(
            training_positions(&dataset, None, 5).len(),
            dataset.len(Part::Train)
        );
    }

    #[test]
    fn config_is_checked() {
        assert!(TrainConfig::default().check().is_ok());
        for smoothing in [1.0, -0.1, f64::NAN] {
            assert!(
                TrainConfig {
                    label_smoothing: smoothing,
                    ..TrainConfig::default()
                }
                .check()
                .unwrap_err()
                .contains("label smoothing")
            );
        }
        assert!(
            TrainConfig {
                epochs: 0,
                ..TrainConfig::default()
            }
            .check()
            .unwrap_err()
            .contains("epochs")
        );
        assert!(
            TrainConfig {
                learning_rate: -1.0,
                ..TrainConfig::default()
            }
            .check()
            .is_err()
        );
        assert!(
            TrainConfig {
                batch_size: 0,
                ..TrainConfig::default()
            }
            .check()
            .is_err()
        );
        assert!(
            TrainConfig {
                train_size: Some(0),
                ..TrainConfig::default()
            }
            .check()
            .is_err()
        );
    }
}
