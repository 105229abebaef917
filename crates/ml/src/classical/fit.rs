//! Fitting any model through one call: networks, logistic regression and SVMs by the mini-batch loop, the
//! forest tree by tree and KNN by uploading its training set, each reporting progress to the host and
//! honouring Stop between steps.

use super::forest::{BinnedData, Forest, ForestParams, grow_tree};
use super::knn::{Knn, KnnParams};
use crate::error::TrainError;
use crate::evaluation;
use crate::host::{BatchReport, EpochReport, TrainEvent, TrainHost};
use crate::model::Trained;
use crate::train::{self, TrainConfig, training_positions};
use atelier_core::dataset::{Dataset, Part};
use burn::prelude::*;

/// What to fit.
#[derive(Debug, Clone, PartialEq)]
pub enum FitSpec {
    /// Anything trained by gradient: the networks, the MLP, logistic regression, the SVMs.
    Network(TrainConfig),
    Forest {
        params: ForestParams,
        train_size: Option<usize>,
        seed: u64,
    },
    Knn {
        params: KnnParams,
        train_size: Option<usize>,
        seed: u64,
    },
}

impl FitSpec {
    /// The `?model=` key.
    pub fn key(&self) -> &'static str {
        match self {
            Self::Network(c) => c.architecture.key(),
            Self::Forest { .. } => "forest",
            Self::Knn { .. } => "knn",
        }
    }

    /// Steps per epoch and epochs, for the progress bar: batches, trees, or one upload.
    pub fn plan(&self, dataset: &Dataset) -> (usize, usize) {
        match self {
            Self::Network(c) => {
                let n = training_positions(dataset, c.train_size, c.seed).len();
                (n.div_ceil(c.batch_size), c.epochs)
            }
            Self::Forest { params, .. } => (params.trees, 1),
            Self::Knn { .. } => (1, 1),
        }
    }
}

/// How a fit ended.
pub struct FitOutcome {
    pub model: Trained,
    pub epochs: Vec<EpochReport>,
    pub stopped: bool,
    pub train_seconds: f64,
    /// Training items processed (items x steps).
    pub samples_seen: usize,
    pub best_epoch: usize,
    /// The device failed mid-run; `model` is the best epoch's copy on the CPU backend.
    pub device_lost: Option<String>,
    /// Other workers that grew part of a forest (0: all of it grew here).
    pub helpers_used: usize,
}

/// Images checked after each tree or upload to draw the live curve.
const MONITOR_ITEMS: usize = 2000;

/// Fits a model. `device` is the plain device (WebGPU or CPU).
pub async fn fit(
    spec: &FitSpec,
    dataset: &Dataset,
    device: &Device,
    host: &mut impl TrainHost,
) -> Result<FitOutcome, TrainError> {
    match spec {
        FitSpec::Network(config) => {
            let outcome = train::train(config, dataset, device, host).await?;
            Ok(FitOutcome {
                model: Trained::Network {
                    network: outcome.model,
                    options: config.options.clone().for_dataset(dataset),
                },
                epochs: outcome.epochs,
                stopped: outcome.stopped,
                train_seconds: outcome.train_seconds,
                samples_seen: outcome.samples_seen,
                best_epoch: outcome.best_epoch,
                device_lost: outcome.device_lost,
                helpers_used: outcome.helpers_used,
            })
        }
        FitSpec::Forest {
            params,
            train_size,
            seed,
        } => fit_forest(params, dataset, *train_size, *seed, host).await,
        FitSpec::Knn {
            params,
            train_size,
            seed,
        } => fit_knn(params, dataset, *train_size, *seed, device, host).await,
    }
}

/// Fits a classical model on the penultimate features of `base` (a trained network) instead of the
/// pixels. The features of every image are computed once; augmentation does not apply to them.
pub async fn fit_on_features(
    spec: &FitSpec,
    base: &crate::nn::Network,
    base_options: &crate::nn::ModelOptions,
    dataset: &Dataset,
    device: &Device,
    host: &mut impl TrainHost,
) -> Result<FitOutcome, TrainError> {
    let start = host.now_ms();
    let (features, quantiser) = super::hybrid::feature_dataset(base, dataset, host).await?;
    let embed_seconds = (host.now_ms() - start) / 1000.0;
    let spec = match spec {
        FitSpec::Network(config) => FitSpec::Network(TrainConfig {
            augmentation: None,
            ..config.clone()
        }),
        other => other.clone(),
    };
    let outcome = fit(&spec, &features, device, host).await?;
    if let Some(message) = outcome.device_lost.clone() {
        // The base network stayed on the lost device: there is no whole hybrid to keep.
        return Err(TrainError::Device(message));
    }
    Ok(FitOutcome {
        model: Trained::Hybrid(super::hybrid::Hybrid {
            base: base.clone(),
            base_options: base_options.clone(),
            quantiser,
            head: Box::new(outcome.model),
        }),
        // The fit time includes computing the features.
        train_seconds: outcome.train_seconds + embed_seconds,
        ..outcome
    })
}

/// Raw pixels and labels of some positions of a part.
pub fn raw_rows(dataset: &Dataset, part: Part, positions: &[usize]) -> (Vec<u8>, Vec<u8>) {
    let mut pixels = Vec::with_capacity(positions.len() * dataset.image_len());
    let mut labels = Vec::with_capacity(positions.len());
    for &p in positions {
        let (image, label) = dataset.item(part, p);
        pixels.extend_from_slice(image);
        labels.push(label);
    }
    (pixels, labels)
}

/// The items the live curve is measured on: up to [`MONITOR_ITEMS`] of the validation part, or of the
/// training part when there is no validation part.
fn monitor_part(dataset: &Dataset) -> (Part, Vec<usize>) {
    let part = if dataset.len(Part::Validation) > 0 {
        Part::Validation
    } else {
        Part::Train
    };
    (part, (0..dataset.len(part).min(MONITOR_ITEMS)).collect())
}

/// Accuracy and cross-entropy of probabilities against labels.
fn score(probabilities: &[f32], labels: &[u8], classes: usize) -> (f64, f64) {
    let predicted = crate::metrics::argmax_rows(probabilities, classes);
    let correct = predicted.iter().zip(labels).filter(|(p, t)| p == t).count();
    let loss: f64 = probabilities
        .chunks_exact(classes)
        .zip(labels)
        .map(|(row, &t)| -(row[t as usize].max(1e-7) as f64).ln())
        .sum();
    let n = labels.len().max(1) as f64;
    (correct as f64 / n, loss / n)
}

async fn fit_forest(
    params: &ForestParams,
    dataset: &Dataset,
    train_size: Option<usize>,
    seed: u64,
    host: &mut impl TrainHost,
) -> Result<FitOutcome, TrainError> {
    let features = dataset.image_len();
    let classes = dataset.classes();
    let params = params
        .check(features)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let positions = training_positions(dataset, train_size, seed);
    let (pixels, labels) = raw_rows(dataset, Part::Train, &positions);
    let start = host.now_ms();
    let data = BinnedData::new(&pixels, &labels, features, classes, params.params.bins);
    let bin_ms = host.now_ms() - start;
    let (monitor, monitor_positions) = monitor_part(dataset);
    let (monitor_pixels, monitor_labels) = raw_rows(dataset, monitor, &monitor_positions);
    let mut forest = Forest::new(&data);
    let mut stopped = false;
    let trees = params.params.trees;
    let (mut accuracy, mut loss) = (0.0, 0.0);
    // Trees are seeded by their index, so whoever grows one (this thread or a helper) grows the same
    // tree; they are put back in index order at the end.
    let helpers = host.tree_helpers().map_or(0, |h| {
        h.begin(&pixels, &labels, features, classes, &params.params)
    });
    let (mut next, mut order, mut by_helpers) = (0usize, Vec::<usize>::new(), 0usize);
    let mut requeue: Vec<usize> = Vec::new();
    // Fit time is wall time (helpers work in parallel) less the live accuracy checks.
    let (loop_start, mut monitor_ms) = (host.now_ms(), 0.0);
    while forest.trees.len() < trees {
        if host.should_stop() {
            stopped = true;
            break;
        }
        if let Some(h) = host.tree_helpers() {
            requeue.extend(h.lost());
            while next < trees && h.request(next) {
                next += 1;
            }
        }
        let before = forest.trees.len();
        let local = requeue.pop().or_else(|| {
            (next < trees).then(|| {
                next += 1;
                next - 1
            })
        });
        if let Some(index) = local {
            forest.trees.push(grow_tree(&data, &params, index));
            order.push(index);
        }
        if let Some(h) = host.tree_helpers() {
            for (index, tree) in h.collect() {
                forest.trees.push(tree);
                order.push(index);
                by_helpers += 1;
            }
        }
        if forest.trees.len() == before {
            // Every tree is handed out: wait for the helpers' answers.
            host.wait_for_helpers().await;
            continue;
        }
        let train_ms = bin_ms + host.now_ms() - loop_start - monitor_ms;
        let monitor_start = host.now_ms();
        (accuracy, loss) = score(
            &forest.predict_proba(&monitor_pixels),
            &monitor_labels,
            classes,
        );
        monitor_ms += host.now_ms() - monitor_start;
        let done = forest.trees.len();
        host.report(TrainEvent::Batch(BatchReport {
            epoch: 0,
            batch: done - 1,
            batches_per_epoch: trees,
            loss: loss as f32,
            accuracy: accuracy as f32,
            learning_rate: 0.0,
            samples_per_second: done as f64 * positions.len() as f64
                / (train_ms / 1000.0).max(1e-9),
            train_seconds: train_ms / 1000.0,
        }));
        host.pause().await;
    }
    let train_ms = bin_ms + host.now_ms() - loop_start - monitor_ms;
    let mut indexed: Vec<(usize, super::forest::Tree)> =
        order.into_iter().zip(forest.trees.drain(..)).collect();
    indexed.sort_by_key(|(index, _)| *index);
    forest.trees = indexed.into_iter().map(|(_, tree)| tree).collect();
    if forest.trees.is_empty() {
        return Err(TrainError::Config(
            "the run was stopped before the first tree grew; there is no model to keep".into(),
        ));
    }
    let grown = forest.trees.len();
    let sample: Vec<usize> = (0..positions.len().min(MONITOR_ITEMS)).collect();
    let (train_accuracy, train_loss) = score(
        &forest.predict_proba(&pixels[..sample.len() * features]),
        &labels[..sample.len()],
        classes,
    );
    let epoch = EpochReport {
        epoch: 0,
        train_loss,
        train_accuracy,
        validation_loss: (monitor == Part::Validation).then_some(loss),
        validation_accuracy: (monitor == Part::Validation).then_some(accuracy),
        best: true,
    };
    host.report(TrainEvent::Epoch(epoch.clone()));
    Ok(FitOutcome {
        model: Trained::Forest(forest),
        epochs: vec![epoch],
        stopped,
        train_seconds: train_ms / 1000.0,
        samples_seen: grown * positions.len(),
        best_epoch: 1,
        device_lost: None,
        helpers_used: if by_helpers > 0 { helpers } else { 0 },
    })
}

async fn fit_knn(
    params: &KnnParams,
    dataset: &Dataset,
    train_size: Option<usize>,
    seed: u64,
    device: &Device,
    host: &mut impl TrainHost,
) -> Result<FitOutcome, TrainError> {
    let features = dataset.image_len();
    let classes = dataset.classes();
    let positions = training_positions(dataset, train_size, seed);
    let (pixels, labels) = raw_rows(dataset, Part::Train, &positions);
    let start = host.now_ms();
    let knn = Knn::fit(params, pixels, labels, features, classes, device)
        .map_err(|e| TrainError::Config(e.to_string()))?;
    let train_ms = host.now_ms() - start;
    let model = Trained::Knn(knn);
    // KNN learns nothing beyond its data: the curve is its accuracy on held-out images (fewer than for
    // the forest, as each costs a pass over the training set).
    let (monitor, monitor_positions) = monitor_part(dataset);
    let limit = monitor_positions.len().min(MONITOR_ITEMS / 4);
    let held_out = monitor_score(&model, dataset, monitor, limit, host).await?;
    host.report(TrainEvent::Batch(BatchReport {
        epoch: 0,
        batch: 0,
        batches_per_epoch: 1,
        loss: held_out.1 as f32,
        accuracy: held_out.0 as f32,
        learning_rate: 0.0,
        samples_per_second: positions.len() as f64 / (train_ms / 1000.0).max(1e-9),
        train_seconds: train_ms / 1000.0,
    }));
    let on_train = monitor_score(&model, dataset, Part::Train, limit.min(500), host).await?;
    let epoch = EpochReport {
        epoch: 0,
        train_loss: on_train.1,
        train_accuracy: on_train.0,
        validation_loss: (monitor == Part::Validation).then_some(held_out.1),
        validation_accuracy: (monitor == Part::Validation).then_some(held_out.0),
        best: true,
    };
    host.report(TrainEvent::Epoch(epoch.clone()));
    Ok(FitOutcome {
        model,
        epochs: vec![epoch],
        stopped: false,
        train_seconds: train_ms / 1000.0,
        samples_seen: positions.len(),
        best_epoch: 1,
        device_lost: None,
        helpers_used: 0,
    })
}

/// (accuracy, loss) of a model on the first `limit` items of a part.
async fn monitor_score(
    model: &Trained,
    dataset: &Dataset,
    part: Part,
    limit: usize,
    host: &impl TrainHost,
) -> Result<(f64, f64), TrainError> {
    if limit == 0 {
        return Ok((0.0, 0.0));
    }
    let evaluation = evaluation::evaluate(model, dataset, part, Some(limit), 256, host).await?;
    Ok((evaluation.accuracy, evaluation.loss))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classical::knn::KnnWeights;
    use crate::classifier::Classifier;
    use crate::evaluation::evaluate;
    use crate::host::{HelpedHost, NativeHost, TestHelpers, TreeHelpers};
    use crate::nn::Architecture;
    use crate::nn::ModelOptions;
    use crate::tensor::block_on;
    use atelier_core::fixtures::{synthetic_28, synthetic_28_split};

    fn accuracy_of(spec: &FitSpec, dataset: &Dataset) -> (f64, FitOutcome) {
        let mut host = NativeHost::default();
        let outcome = block_on(fit(spec, dataset, &Device::flex(), &mut host)).unwrap();
        let eval = block_on(evaluate(
            &outcome.model,
            dataset,
            Part::Test,
            None,
            64,
            &host,
        ))
        .unwrap();
        assert!(host.events.len() >= 2, "progress was reported");
        (eval.accuracy, outcome)
    }

    /// On a synthetic set whose classes are separable, every classical model is (nearly) perfect.
    #[test]
    fn every_classical_model_learns_a_separable_set() {
        let dataset = synthetic_28(4, 60, 20, 7);
        let network = |architecture| {
            FitSpec::Network(TrainConfig {
                architecture,
                epochs: 3,
                batch_size: 16,
                learning_rate: 0.01,
                augmentation: None,
                options: ModelOptions {
                    hidden: vec![64],
                    rff_features: 512,
                    gamma: 0.005,
                    ..ModelOptions::default()
                },
                ..TrainConfig::default()
            })
        };
        let specs = [
            network(Architecture::Logistic),
            network(Architecture::Svm),
            network(Architecture::Mlp),
            FitSpec::Forest {
                params: ForestParams {
                    trees: 10,
                    ..ForestParams::default()
                },
                train_size: None,
                seed: 1,
            },
            FitSpec::Knn {
                params: KnnParams {
                    k: 3,
                    weights: KnnWeights::Uniform,
                },
                train_size: None,
                seed: 1,
            },
        ];
        for spec in &specs {
            let (accuracy, outcome) = accuracy_of(spec, &dataset);
            assert!(accuracy >= 0.99, "{}: {accuracy}", spec.key());
            assert_eq!(outcome.model.key(), spec.key());
            assert!(outcome.model.parameters() > 0);
            let last = outcome.epochs.last().unwrap();
            assert!(last.validation_accuracy.unwrap() >= 0.9, "{}", spec.key());
        }
        // Without a validation part the forest and KNN report no validation figure (their live curve
        // falls back to training images, which must not be shown as validation).
        let unvalidated = synthetic_28_split(4, 30, 10, 7, 0);
        for spec in &specs[3..] {
            let (_, outcome) = accuracy_of(spec, &unvalidated);
            let last = outcome.epochs.last().unwrap();
            assert_eq!(last.validation_accuracy, None, "{}", spec.key());
            assert_eq!(last.validation_loss, None, "{}", spec.key());
        }

        // The RBF SVM with its random features in 16 principal components: it learns, and its file
        // (principal directions and folded phase included) gives the same scores back.
        let FitSpec::Network(config) = network(Architecture::Svm) else {
            unreachable!()
        };
        let spec = FitSpec::Network(TrainConfig {
            options: ModelOptions {
                pca: 16,
                ..config.options.clone()
            },
            ..config
        });
        let (accuracy, outcome) = accuracy_of(&spec, &dataset);
        assert!(accuracy >= 0.99, "svm with pca: {accuracy}");
        let file = block_on(outcome.model.to_file(4, &Default::default())).unwrap();
        let loaded = Trained::from_file(&file, &Device::flex()).unwrap().model;
        let batch = dataset.batch(Part::Test, &(0..20).collect::<Vec<_>>());
        let (a, b) = (
            block_on(outcome.model.probabilities(&batch)).unwrap(),
            block_on(loaded.probabilities(&batch)).unwrap(),
        );
        assert!(a.iter().zip(&b).all(|(x, y)| (x - y).abs() < 1e-5));
    }

    /// Helpers that grow the trees they are given when collected, as Web Workers would in parallel.
    #[derive(Default)]
    struct InlineHelpers {
        slots: usize,
        data: Option<(BinnedData, super::super::forest::ValidForestParams)>,
        pending: Vec<usize>,
        grown: usize,
    }

    impl TreeHelpers for InlineHelpers {
        fn begin(
            &mut self,
            pixels: &[u8],
            labels: &[u8],
            features: usize,
            classes: usize,
            params: &ForestParams,
        ) -> usize {
            let valid = params.check(features).unwrap();
            let data = BinnedData::new(pixels, labels, features, classes, params.bins);
            self.data = Some((data, valid));
            self.slots
        }
        fn request(&mut self, index: usize) -> bool {
            let free = self.pending.len() < self.slots;
            if free {
                self.pending.push(index);
            }
            free
        }
        fn collect(&mut self) -> Vec<(usize, super::super::forest::Tree)> {
            let (data, params) = self.data.as_ref().unwrap();
            let out: Vec<_> = self
                .pending
                .drain(..)
                .map(|i| (i, grow_tree(data, params, i)))
                .collect();
            self.grown += out.len();
            out
        }
    }

    impl TestHelpers for InlineHelpers {
        fn trees(&mut self) -> Option<&mut dyn TreeHelpers> {
            Some(self)
        }
    }

    #[test]
    fn trees_grown_by_helpers_make_the_same_forest() {
        let dataset = synthetic_28(4, 50, 10, 3);
        let spec = FitSpec::Forest {
            params: ForestParams {
                trees: 12,
                ..ForestParams::default()
            },
            train_size: None,
            seed: 5,
        };
        let alone = block_on(fit(
            &spec,
            &dataset,
            &Device::flex(),
            &mut NativeHost::default(),
        ))
        .unwrap();
        let mut host = HelpedHost {
            inner: NativeHost::default(),
            helpers: InlineHelpers {
                slots: 3,
                ..InlineHelpers::default()
            },
        };
        let helped = block_on(fit(&spec, &dataset, &Device::flex(), &mut host)).unwrap();
        assert!(
            host.helpers.grown >= 6,
            "helpers grew {} trees",
            host.helpers.grown
        );
        assert_eq!(helped.helpers_used, 3);
        assert_eq!(alone.helpers_used, 0);
        let (Trained::Forest(a), Trained::Forest(b)) = (&alone.model, &helped.model) else {
            panic!("forests expected")
        };
        assert_eq!(a.trees.len(), 12);
        assert_eq!(
            a.to_bytes(),
            b.to_bytes(),
            "the same trees in the same order"
        );
    }

    #[test]
    fn a_forest_on_network_features_learns_and_its_file_roundtrips() {
        let dataset = synthetic_28(4, 40, 15, 5);
        let mut host = NativeHost::default();
        let base = block_on(fit(
            &FitSpec::Network(TrainConfig {
                architecture: Architecture::RefCnn,
                epochs: 1,
                batch_size: 16,
                augmentation: None,
                ..TrainConfig::default()
            }),
            &dataset,
            &Device::flex(),
            &mut host,
        ))
        .unwrap();
        let Trained::Network {
            network: base,
            options: base_options,
        } = base.model
        else {
            panic!("a network");
        };
        let spec = FitSpec::Forest {
            params: ForestParams {
                trees: 5,
                ..ForestParams::default()
            },
            train_size: None,
            seed: 1,
        };
        let outcome = block_on(fit_on_features(
            &spec,
            &base,
            &base_options,
            &dataset,
            &Device::flex(),
            &mut host,
        ))
        .unwrap();
        let eval = block_on(evaluate(
            &outcome.model,
            &dataset,
            Part::Test,
            None,
            32,
            &host,
        ))
        .unwrap();
        assert!(eval.accuracy >= 0.95, "{}", eval.accuracy);
        assert_eq!(outcome.model.key(), "forest");
        let bytes = block_on(outcome.model.to_file(4, &Default::default())).unwrap();
        let loaded = Trained::from_file(&bytes, &Device::flex()).unwrap();
        let again = block_on(evaluate(
            &loaded.model,
            &dataset,
            Part::Test,
            None,
            32,
            &host,
        ))
        .unwrap();
        assert_eq!(again.predicted, eval.predicted);
        assert!(Trained::from_file(&bytes[..bytes.len() - 5], &Device::flex()).is_err());
    }

    #[test]
    fn stop_keeps_the_trees_grown_so_far() {
        let dataset = synthetic_28(3, 30, 10, 2);
        let spec = FitSpec::Forest {
            params: ForestParams {
                trees: 20,
                ..ForestParams::default()
            },
            train_size: Some(50),
            seed: 3,
        };
        let mut host = NativeHost {
            stop_after_batches: Some(4),
            ..NativeHost::default()
        };
        let outcome = block_on(fit(&spec, &dataset, &Device::flex(), &mut host)).unwrap();
        assert!(outcome.stopped);
        match &outcome.model {
            Trained::Forest(f) => assert_eq!(f.trees.len(), 4),
            _ => panic!("not a forest"),
        }
        assert_eq!(outcome.samples_seen, 4 * 50);
        let bad = FitSpec::Forest {
            params: ForestParams {
                trees: 0,
                ..ForestParams::default()
            },
            train_size: None,
            seed: 3,
        };
        let mut host = NativeHost::default();
        assert!(matches!(
            block_on(fit(&bad, &dataset, &Device::flex(), &mut host)),
            Err(TrainError::Config(_))
        ));
    }
}
