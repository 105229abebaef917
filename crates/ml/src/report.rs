//! Turns training settings and outcomes into protocol messages (pure: tested natively).

use std::collections::BTreeMap;

use crate::classical::fit::FitSpec;
use crate::classical::forest::ForestParams;
use crate::classical::knn::{KnnParams, KnnWeights};
use crate::classical::svm::Kernel;
use crate::evaluation::Evaluation;
use crate::host::{BatchReport, EpochReport};
use crate::nn::{Architecture, ModelOptions};
use crate::train::{Schedule, TrainConfig};
use atelier_core::augment::Augmentation;
use atelier_core::protocol::{
    BatchPoint, ClassScore, EpochPoint, Mistake, ModelReport, RunEnd, TrainSettings,
};

/// Mistakes kept per model for the gallery.
pub const MISTAKES_KEPT: usize = 48;
/// Confused class pairs listed per model.
pub const CONFUSED_PAIRS_KEPT: usize = 6;

/// What the settings ask to fit, checked, or what is wrong with them.
pub fn fit_spec(settings: &TrainSettings) -> Result<FitSpec, String> {
    match settings.model.as_str() {
        "forest" => {
            let params = ForestParams {
                trees: settings.trees,
                max_depth: settings.max_depth,
                bins: settings.bins,
                features_per_split: settings.features_per_split,
                bootstrap: settings.bootstrap,
                min_samples_leaf: 1,
                seed: settings.seed,
            };
            // The pixel count is checked again against the dataset when fitting.
            params.check(usize::MAX).map_err(|e| e.to_string())?;
            Ok(FitSpec::Forest {
                params,
                train_size: settings.train_size,
                seed: settings.seed,
            })
        }
        "knn" => {
            let params = KnnParams {
                k: settings.k,
                weights: match settings.knn_weights.as_str() {
                    "uniform" => KnnWeights::Uniform,
                    _ => KnnWeights::Distance,
                },
            };
            params.check(usize::MAX).map_err(|e| e.to_string())?;
            Ok(FitSpec::Knn {
                params,
                train_size: settings.train_size,
                seed: settings.seed,
            })
        }
        _ => train_config(settings).map(FitSpec::Network),
    }
}

/// The training configuration of a model trained by gradient, or what is wrong with the settings.
pub fn train_config(settings: &TrainSettings) -> Result<TrainConfig, String> {
    let architecture = Architecture::parse(&settings.model).ok_or_else(|| {
        let keys: Vec<&str> = atelier_core::protocol::MODELS
            .iter()
            .map(|(k, _)| *k)
            .collect();
        format!(
            "unknown model \"{}\"; choose one of {}",
            settings.model,
            keys.join(", ")
        )
    })?;
    let schedule = match settings.schedule.as_str() {
        "cosine" => Schedule::Cosine,
        "constant" => Schedule::Constant,
        // A quarter of the run warms up.
        "onecycle" => Schedule::OneCycle { warmup: 0.25 },
        // Halve the rate three times over the run.
        "step" => Schedule::Step {
            every: (settings.epochs / 4).max(1),
            gamma: 0.5,
        },
        other => {
            return Err(format!(
                "unknown schedule \"{other}\"; choose cosine, onecycle, step or constant"
            ));
        }
    };
    let config = TrainConfig {
        architecture,
        options: ModelOptions {
            hidden: settings.hidden.clone(),
            dropout: settings.dropout,
            kernel: if settings.kernel == "linear" {
                Kernel::Linear
            } else {
                Kernel::Rbf
            },
            rff_features: settings.rff_features,
            gamma: settings.gamma,
            pca: settings.pca,
            resnet_width: settings.resnet_width,
            resnet_blocks: settings.resnet_blocks,
            cnn_channels: settings.cnn_channels.clone(),
            cnn_convs: settings.cnn_convs,
            cnn_dense: settings.cnn_dense,
            cnn_dropout: settings.cnn_dropout,
            seed: settings.seed,
            ..ModelOptions::default()
        },
        epochs: settings.epochs,
        batch_size: settings.batch_size,
        learning_rate: settings.learning_rate,
        weight_decay: settings.weight_decay,
        label_smoothing: settings.label_smoothing,
        schedule,
        train_size: settings.train_size,
        augmentation: settings.augment.then(|| Augmentation {
            shift_pad: settings.shift,
            ..Augmentation::with_erasing(settings.erase as f32)
        }),
        seed: settings.seed,
    };
    config.check()?;
    Ok(config)
}

/// A batch report as the page takes it.
pub fn batch_point(report: &BatchReport) -> BatchPoint {
    BatchPoint {
        epoch: report.epoch,
        batch: report.batch,
        batches_per_epoch: report.batches_per_epoch,
        loss: report.loss,
        accuracy: report.accuracy,
        samples_per_second: report.samples_per_second,
        train_seconds: report.train_seconds,
    }
}

/// An epoch report as the page takes it.
pub fn epoch_point(report: &EpochReport) -> EpochPoint {
    EpochPoint {
        epoch: report.epoch,
        train_loss: report.train_loss,
        train_accuracy: report.train_accuracy,
        validation_loss: report.validation_loss,
        validation_accuracy: report.validation_accuracy,
        best: report.best,
    }
}

/// The most confident wrong predictions, most confident first.
pub fn confident_mistakes(evaluation: &Evaluation, limit: usize) -> Vec<Mistake> {
    let mut mistakes: Vec<Mistake> = (0..evaluation.truth.len())
        .filter(|&i| evaluation.truth[i] != evaluation.predicted[i])
        .map(|i| Mistake {
            index: i,
            truth: evaluation.truth[i],
            predicted: evaluation.predicted[i],
            confidence: evaluation.confidence[i],
        })
        .collect();
    mistakes.sort_by(|a, b| {
        b.confidence
            .total_cmp(&a.confidence)
            .then(a.index.cmp(&b.index))
    });
    mistakes.truncate(limit);
    mistakes
}

/// The metadata key under which a model file carries its [`ModelReport`] (as JSON).
pub const META_REPORT: &str = "atelier.report";

/// A model file's metadata: its report, which the page needs to list a loaded file.
pub fn file_metadata(report: &ModelReport) -> BTreeMap<String, String> {
    BTreeMap::from([(
        META_REPORT.to_string(),
        atelier_core::protocol::encode(report),
    )])
}

/// What a run produced, for [`model_report`].
pub struct RunFacts<'a> {
    pub id: String,
    pub name: String,
    pub backend: String,
    pub settings: &'a TrainSettings,
    pub stopped: bool,
    pub epochs: &'a [EpochReport],
    pub best_epoch: usize,
    pub parameters: usize,
    pub train_seconds: f64,
    pub samples_seen: usize,
    pub created_ms: f64,
}

/// The full report of a trained model.
pub fn model_report(facts: RunFacts<'_>, evaluation: &Evaluation, classes: usize) -> ModelReport {
    let confusion = evaluation.confusion(classes);
    ModelReport {
        id: facts.id,
        model: facts.settings.model.clone(),
        name: facts.name,
        backend: facts.backend,
        settings: facts.settings.clone(),
        end: if facts.stopped {
            RunEnd::Stopped
        } else {
            RunEnd::Done
        },
        epochs: facts.epochs.iter().map(epoch_point).collect(),
        best_epoch: facts.best_epoch,
        parameters: facts.parameters,
        train_seconds: facts.train_seconds,
        samples_per_second: facts.samples_seen as f64 / facts.train_seconds.max(1e-9),
        test_images: evaluation.truth.len(),
        test_accuracy: evaluation.accuracy,
        test_loss: evaluation.loss,
        macro_f1: confusion.macro_f1(),
        per_class: confusion
            .per_class()
            .into_iter()
            .map(|m| ClassScore {
                precision: m.precision,
                recall: m.recall,
                f1: m.f1,
                support: m.support,
            })
            .collect(),
        inference_images_per_second: evaluation.truth.len() as f64 / evaluation.seconds.max(1e-9),
        mistakes: confident_mistakes(evaluation, MISTAKES_KEPT),
        predicted: evaluation.predicted.clone(),
        confused_pairs: confusion.most_confused(CONFUSED_PAIRS_KEPT),
        confusion: confusion.counts,
        size_bytes: 0,
        created_ms: facts.created_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn evaluation() -> Evaluation {
        Evaluation {
            loss: 0.5,
            accuracy: 0.5,
            truth: vec![0, 1, 1, 0],
            predicted: vec![0, 0, 1, 1],
            confidence: vec![0.9, 0.6, 0.8, 0.95],
            seconds: 0.5,
        }
    }

    #[test]
    fn settings_become_a_checked_config() {
        let config = train_config(&TrainSettings::default()).unwrap();
        assert_eq!(config.architecture, Architecture::Cnn);
        assert_eq!(
            config.augmentation, None,
            "the CNN learns without by default"
        );
        let config = train_config(&TrainSettings::for_model("resnet")).unwrap();
        assert_eq!(config.architecture, Architecture::ResNet);
        assert_eq!(config.augmentation, Some(Augmentation::default()));
        let mut erasing = TrainSettings::for_model("resnet");
        assert!(erasing.set("erase", "0.5"));
        let config = train_config(&erasing).unwrap();
        assert_eq!(config.augmentation.unwrap().erase_probability, 0.5);
        assert!(erasing.set("erase", "2"), "a known key");
        assert_eq!(erasing.erase, 0.5, "out of range keeps the old value");
        // Flip without shift.
        assert!(erasing.set("shift", "0"));
        let flip_only = train_config(&erasing).unwrap().augmentation.unwrap();
        assert_eq!((flip_only.shift_pad, flip_only.horizontal_flip), (0, true));
        assert!(erasing.set("shift", "5"), "a known key");
        assert_eq!(erasing.shift, 0, "out of range keeps the old value");
        let bad = TrainSettings {
            model: "gpt".into(),
            ..TrainSettings::default()
        };
        assert!(train_config(&bad).unwrap_err().contains("gpt"));
        let bad = TrainSettings {
            epochs: 0,
            ..TrainSettings::default()
        };
        assert!(train_config(&bad).is_err());
    }

    #[test]
    fn page_and_worker_name_the_same_models() {
        for (key, label) in atelier_core::protocol::MODELS {
            let spec = fit_spec(&TrainSettings::for_model(key)).unwrap();
            assert_eq!(spec.key(), key);
            if let Some(architecture) = Architecture::parse(key) {
                assert_eq!((architecture.key(), architecture.label()), (key, label));
                assert_eq!(
                    architecture.is_convolutional(),
                    atelier_core::protocol::CONVOLUTIONAL_MODELS.contains(&key)
                );
            }
            assert_eq!(
                atelier_core::protocol::GRADIENT_MODELS.contains(&key),
                Architecture::parse(key).is_some()
            );
        }
        assert_eq!(
            atelier_core::protocol::GRADIENT_MODELS.len(),
            Architecture::ALL.len()
        );
        let bad = TrainSettings {
            k: 0,
            ..TrainSettings::for_model("knn")
        };
        assert!(fit_spec(&bad).unwrap_err().contains('k'));
        let bad = TrainSettings {
            trees: 0,
            ..TrainSettings::for_model("forest")
        };
        assert!(fit_spec(&bad).unwrap_err().contains("trees"));
        let bad = TrainSettings {
            hidden: vec![],
            ..TrainSettings::for_model("mlp")
        };
        assert!(fit_spec(&bad).unwrap_err().contains("hidden"));
    }

    #[test]
    fn mistakes_are_sorted_by_confidence() {
        let m = confident_mistakes(&evaluation(), 10);
        assert_eq!(m.iter().map(|m| m.index).collect::<Vec<_>>(), vec![3, 1]);
        assert_eq!((m[0].truth, m[0].predicted), (0, 1));
        assert_eq!(confident_mistakes(&evaluation(), 1).len(), 1);
    }

    #[test]
    fn report_carries_metrics() {
        let settings = TrainSettings::default();
        let facts = RunFacts {
            id: "a".into(),
            name: "CNN #1".into(),
            backend: "CPU".into(),
            settings: &settings,
            stopped: true,
            epochs: &[],
            best_epoch: 0,
            parameters: 10,
            train_seconds: 2.0,
            samples_seen: 100,
            created_ms: 0.0,
        };
        let r = model_report(facts, &evaluation(), 2);
        assert_eq!(r.end, RunEnd::Stopped);
        assert_eq!(r.confusion, vec![vec![1, 1], vec![1, 1]]);
        assert_eq!(r.samples_per_second, 50.0);
        assert_eq!(r.inference_images_per_second, 8.0);
        assert_eq!(r.per_class.len(), 2);
        assert_eq!(r.confused_pairs, vec![(0, 1, 1), (1, 0, 1)]);
    }
}
