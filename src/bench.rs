//! The native benchmark's logic (the `bench` binary only parses arguments): the same data loading,
//! training and evaluation code as the worker, timed.

use std::collections::HashMap;
use std::path::Path;

use burn::tensor::Device;

use crate::data::augment::Augmentation;
use crate::data::dataset::{Dataset, FileNames, Part, RawFiles};
use crate::data::source::FASHION_CLASSES;
use crate::ml::nn::Architecture;
use crate::ml::train::{self, NativeHost, Schedule, TrainConfig};

/// Loads Fashion-MNIST from a folder holding the four .gz files.
pub fn load_fashion(
    folder: &Path,
    validation_per_mille: u32,
    seed: u64,
) -> Result<Dataset, String> {
    let names = FileNames::default();
    let read = |name: &str| {
        std::fs::read(folder.join(name))
            .map_err(|e| format!("{}: {e}; run `make setup`", folder.join(name).display()))
    };
    let raw = RawFiles {
        train_images: read(&names.train_images)?,
        train_labels: read(&names.train_labels)?,
        test_images: read(&names.test_images)?,
        test_labels: read(&names.test_labels)?,
    };
    let classes = FASHION_CLASSES.iter().map(|s| s.to_string()).collect();
    Dataset::from_files(&names, &raw, classes, validation_per_mille, seed)
        .map_err(|e| e.to_string())
}

fn get<T: std::str::FromStr>(
    options: &HashMap<String, String>,
    key: &str,
    default: T,
) -> Result<T, String> {
    match options.get(key) {
        None => Ok(default),
        Some(v) => v.parse().map_err(|_| format!("--{key} {v} is not valid")),
    }
}

/// Runs one benchmark; returns its JSON line.
pub fn run(options: &HashMap<String, String>) -> Result<String, String> {
    let model = options.get("model").map(String::as_str).unwrap_or("cnn");
    let architecture =
        Architecture::parse(model).ok_or_else(|| format!("unknown --model {model}"))?;
    let val_percent: f64 = get(options, "val", 10.0)?;
    let seed: u64 = get(options, "seed", 42)?;
    let data = options
        .get("data")
        .cloned()
        .unwrap_or_else(|| "static/data".into());
    let dataset = load_fashion(Path::new(&data), (val_percent * 10.0).round() as u32, seed)?;
    let backend = options.get("backend").map(String::as_str).unwrap_or("cpu");
    let device = match backend {
        "cpu" | "flex" => Device::flex(),
        "wgpu" | "gpu" => train::block_on(crate::ml::backend::webgpu_device())?,
        other => return Err(format!("unknown --backend {other}")),
    };
    let config = TrainConfig {
        architecture,
        epochs: get(options, "epochs", 1)?,
        batch_size: get(options, "batch", 64)?,
        learning_rate: get(options, "lr", 1e-3)?,
        weight_decay: get(options, "wd", 0.0)?,
        schedule: match options
            .get("schedule")
            .map(String::as_str)
            .unwrap_or("cosine")
        {
            "constant" => Schedule::Constant,
            "step" => Schedule::Step {
                every: get(options, "step-every", 5)?,
                gamma: 0.5,
            },
            _ => Schedule::Cosine,
        },
        train_size: options
            .get("train-size")
            .map(|v| v.parse().map_err(|_| format!("--train-size {v}")))
            .transpose()?,
        augmentation: if options.contains_key("no-augment") {
            None
        } else {
            Some(Augmentation::default())
        },
        seed,
    };
    let mut host = NativeHost {
        verbose: true,
        stop_after_batches: options.get("steps").and_then(|s| s.parse().ok()),
        ..Default::default()
    };
    let outcome = train::block_on(train::train(&config, &dataset, &device, &mut host))
        .map_err(|e| e.to_string())?;
    let test_size: Option<usize> = options.get("test-size").and_then(|s| s.parse().ok());
    let evaluation = train::block_on(train::evaluate(
        &outcome.model,
        &dataset,
        Part::Test,
        test_size,
        256,
        &host,
    ))
    .map_err(|e| e.to_string())?;
    let confusion = evaluation.confusion(dataset.classes());
    let line = serde_json::json!({
        "model": architecture.key(),
        "backend": backend,
        "epochs_run": outcome.epochs.len(),
        "best_epoch": outcome.best_epoch,
        "train_images": train::training_positions(&dataset, config.train_size, seed).len(),
        "batch": config.batch_size,
        "train_seconds": (outcome.train_seconds * 10.0).round() / 10.0,
        "samples_per_second": (outcome.samples_seen as f64 / outcome.train_seconds.max(1e-9)).round(),
        "test_accuracy": evaluation.accuracy,
        "test_macro_f1": confusion.macro_f1(),
        "test_images": evaluation.truth.len(),
        "inference_images_per_second": (evaluation.truth.len() as f64 / evaluation.seconds.max(1e-9)).round(),
        "parameters": burn::module::Module::num_params(&outcome.model),
    });
    Ok(line.to_string())
}
