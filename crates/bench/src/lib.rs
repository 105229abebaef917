//! The native benchmark's logic (the `bench` binary only parses arguments): the same data loading,
//! training and evaluation code as the worker, timed.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::Duration;

use burn::tensor::Device;

use atelier_core::dataset::Batch;
use atelier_core::dataset::{Dataset, FileNames, Part, RawFiles};
use atelier_core::protocol::TrainSettings;
use atelier_core::source::FASHION_CLASSES;
use atelier_ml::classical::fit::{FitOutcome, FitSpec, fit, raw_rows};
use atelier_ml::classical::forest::{BinnedData, grow_forest_parallel};
use atelier_ml::evaluation::{self, Evaluation, Scorer};
use atelier_ml::host::NativeHost;
use atelier_ml::model::Trained;
use atelier_ml::parallel::{GradientHelpers, PartGradients, Replica, StepSettings};
use atelier_ml::report::{RunFacts, file_metadata, fit_spec, model_report};
use atelier_ml::train;

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

/// The dataset `--data` names: a folder of Fashion-MNIST-like IDX files (default `static/data`),
/// `fashion-colour` (the bundled set tinted, as `?data=fashion-colour`), or `cifar10:<path>` /
/// `cifar100:<path>` (a folder of CIFAR's binary files, or its `.tar.gz`).
pub fn load_data(spec: &str, validation_per_mille: u32, seed: u64) -> Result<Dataset, String> {
    if spec == atelier_core::source::FASHION_COLOUR {
        let gray = load_fashion(Path::new("static/data"), validation_per_mille, seed)?;
        return Ok(atelier_core::colour::colour_dataset(&gray));
    }
    let Some((_, path)) = spec
        .split_once(':')
        .filter(|(kind, _)| atelier_core::cifar::CifarKind::parse(kind).is_some())
    else {
        return load_fashion(Path::new(spec), validation_per_mille, seed);
    };
    let path = Path::new(path);
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let files = if path.is_dir() {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))? {
            let p = entry.map_err(|e| e.to_string())?.path();
            if p.is_file() {
                files.push((p.display().to_string(), read(&p)?));
            }
        }
        files
    } else {
        vec![(path.display().to_string(), read(path)?)]
    };
    atelier_core::cifar::assemble(files, validation_per_mille, seed)
        .map(|(_, dataset)| dataset)
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

/// What a helper thread is asked to do.
enum Job {
    Start(Arc<Vec<u8>>, StepSettings),
    Step(usize, Batch),
    Apply(Arc<Vec<f32>>, f64),
    /// A model's file to score chunks with, and whether to mirror.
    ScoreStart(Arc<Vec<u8>>, bool),
    /// Score chunk `index`.
    Score(usize, Batch),
}

type Answer = (usize, usize, Result<PartGradients, String>);
type ScoreAnswer = (usize, usize, Result<Vec<f32>, String>);

/// Helpers on native threads for `--parallel` network runs, as the page's helper Web Workers are: each
/// thread holds a [`Replica`] of the network.
struct ThreadHelpers {
    jobs: Vec<Sender<Job>>,
    answers: Receiver<Answer>,
    scores: Receiver<ScoreAnswer>,
}

impl ThreadHelpers {
    fn spawn(count: usize) -> Self {
        let (answer, answers) = channel::<Answer>();
        let (scored, scores) = channel::<ScoreAnswer>();
        let jobs = (0..count)
            .map(|helper| {
                let (job, jobs) = channel::<Job>();
                let answer = answer.clone();
                let scored = scored.clone();
                std::thread::spawn(move || {
                    let mut replica: Result<Replica, String> = Err("no network yet".into());
                    let mut scorer: Result<Scorer, String> = Err("no model yet".into());
                    for job in jobs {
                        match job {
                            Job::Start(weights, settings) => {
                                replica = Replica::new(&weights, settings)
                            }
                            Job::Step(step, part) => {
                                let gradients = match replica.as_mut() {
                                    Ok(r) => atelier_ml::tensor::block_on(r.gradients(&part))
                                        .map_err(|e| e.to_string()),
                                    Err(e) => Err(e.clone()),
                                };
                                if answer.send((helper, step, gradients)).is_err() {
                                    return;
                                }
                            }
                            Job::Apply(gradients, lr) => {
                                if let Ok(r) = replica.as_mut()
                                    && let Err(e) = r.apply(&gradients, lr)
                                {
                                    replica = Err(e);
                                }
                            }
                            Job::ScoreStart(file, mirror) => scorer = Scorer::new(&file, mirror),
                            Job::Score(index, chunk) => {
                                let probabilities = match &scorer {
                                    Ok(s) => atelier_ml::tensor::block_on(s.score(&chunk))
                                        .map_err(|e| e.to_string()),
                                    Err(e) => Err(e.clone()),
                                };
                                if scored.send((helper, index, probabilities)).is_err() {
                                    return;
                                }
                            }
                        }
                    }
                });
                job
            })
            .collect();
        Self {
            jobs,
            answers,
            scores,
        }
    }
}

impl GradientHelpers for ThreadHelpers {
    fn begin(&mut self, weights: &[u8], settings: StepSettings) -> usize {
        let weights = Arc::new(weights.to_vec());
        for job in &self.jobs {
            let _ = job.send(Job::Start(weights.clone(), settings));
        }
        self.jobs.len()
    }

    fn compute(&mut self, helper: usize, step: usize, part: &Batch) -> bool {
        self.jobs[helper]
            .send(Job::Step(step, part.clone()))
            .is_ok()
    }

    fn collect(&mut self) -> Vec<Answer> {
        // Waits a little for the first answer instead of spinning.
        let first = self.answers.recv_timeout(Duration::from_millis(1)).ok();
        first.into_iter().chain(self.answers.try_iter()).collect()
    }

    fn apply(&mut self, helpers: &[usize], _step: usize, gradients: &[f32], lr: f64) {
        let gradients = Arc::new(gradients.to_vec());
        for &helper in helpers {
            let _ = self.jobs[helper].send(Job::Apply(gradients.clone(), lr));
        }
    }

    fn begin_scoring(&mut self, file: &[u8], mirror: bool) -> usize {
        let file = Arc::new(file.to_vec());
        for job in &self.jobs {
            let _ = job.send(Job::ScoreStart(file.clone(), mirror));
        }
        self.jobs.len()
    }

    fn score(&mut self, helper: usize, index: usize, chunk: &Batch) -> bool {
        self.jobs[helper]
            .send(Job::Score(index, chunk.clone()))
            .is_ok()
    }

    fn collect_scores(&mut self) -> Vec<ScoreAnswer> {
        let first = self.scores.recv_timeout(Duration::from_millis(1)).ok();
        first.into_iter().chain(self.scores.try_iter()).collect()
    }
}

/// Runs one benchmark; returns its JSON line. Model settings use the URL's keys (`--trees 50`,
/// `--train-size 2000`, `--no-augment`, `--recipe quick`); `--parallel` grows a forest's trees on every core, and trains a
/// network on every core (or `--workers N` threads) as the page's Web Workers do.
pub fn run(options: &HashMap<String, String>) -> Result<String, String> {
    let model = options.get("model").map(String::as_str).unwrap_or("cnn");
    let mut settings = TrainSettings::for_model(model);
    if settings.model != model || atelier_core::protocol::model_label(model).is_none() {
        return Err(format!("unknown --model {model}"));
    }
    let val_percent: f64 = get(options, "val", 10.0)?;
    let seed: u64 = get(options, "seed", 42)?;
    settings.seed = seed;
    // A recipe first, as the URL does: the other keys change it.
    if let Some(recipe) = options.get("recipe") {
        if TrainSettings::recipe(recipe).is_none() {
            return Err(format!("unknown --recipe {recipe}"));
        }
        settings.set("recipe", recipe);
    }
    for (key, value) in options {
        let key = key.replace('-', "_");
        let known = match key.as_str() {
            "model" | "val" | "seed" | "data" | "backend" | "steps" | "parallel" | "save"
            | "load" | "recipe" | "wgrad" => true,
            "no_augment" => settings.set("augment", "0"),
            _ => settings.set(&key, value),
        };
        if !known {
            return Err(format!("unknown option --{key}"));
        }
    }
    let data = options
        .get("data")
        .cloned()
        .unwrap_or_else(|| "static/data".into());
    let dataset = load_data(&data, (val_percent * 10.0).round() as u32, seed)?;
    let backend = options.get("backend").map(String::as_str).unwrap_or("cpu");
    let (device, adapter) = match backend {
        "cpu" | "flex" => (Device::flex(), None),
        "wgpu" | "gpu" => {
            let (device, adapter) =
                atelier_ml::tensor::block_on(atelier_ml::backend::webgpu_device_described())?;
            eprintln!("wgpu adapter: {adapter}");
            (device, Some(adapter))
        }
        other => return Err(format!("unknown --backend {other}")),
    };
    // How training on wgpu takes the convolutions' weight gradients: opening the device chose from the
    // adapter (products on a GPU, burn's direct kernel on a CPU adapter); `--wgrad` overrides it.
    match options.get("wgrad").map(String::as_str) {
        None => {}
        Some("products") => atelier_ml::gpu_conv::set_weight_gradient_as_products(true),
        Some("direct") => atelier_ml::gpu_conv::set_weight_gradient_as_products(false),
        Some(other) => return Err(format!("unknown --wgrad {other} (products or direct)")),
    }
    let wgrad = match atelier_ml::gpu_conv::weight_gradient_as_products() {
        _ if adapter.is_none() || cfg!(feature = "autotune") => None,
        true => Some("products"),
        false => Some("direct"),
    };
    let threads = match settings.workers {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let mut host = NativeHost {
        verbose: true,
        stop_after_batches: options.get("steps").and_then(|s| s.parse().ok()),
        gradient_helpers: (options.contains_key("parallel") && threads > 1)
            .then(|| Box::new(ThreadHelpers::spawn(threads - 1)) as Box<dyn GradientHelpers>),
        ..Default::default()
    };
    if let Some(path) = options.get("load") {
        return evaluate_file(Path::new(path), &dataset, &settings, &device, &mut host);
    }
    let spec = fit_spec(&settings)?;
    let wall = std::time::Instant::now();
    let outcome = match (&spec, options.contains_key("parallel")) {
        (FitSpec::Forest { params, .. }, true) => {
            let features = dataset.image_len();
            let params = params.check(features).map_err(|e| e.to_string())?;
            let positions = train::training_positions(&dataset, settings.train_size, seed);
            let (pixels, labels) = raw_rows(&dataset, Part::Train, &positions);
            let data = BinnedData::new(
                &pixels,
                &labels,
                features,
                dataset.classes(),
                params.params.bins,
            );
            let forest = grow_forest_parallel(&data, &params);
            FitOutcome {
                model: Trained::Forest(forest),
                epochs: Vec::new(),
                stopped: false,
                train_seconds: wall.elapsed().as_secs_f64(),
                samples_seen: positions.len() * params.params.trees,
                best_epoch: 1,
                device_lost: None,
                helpers_used: 0,
            }
        }
        _ => atelier_ml::tensor::block_on(fit(&spec, &dataset, &device, &mut host))
            .map_err(|e| e.to_string())?,
    };
    let fit_wall_seconds = wall.elapsed().as_secs_f64();
    let test_size: Option<usize> = settings.test_size;
    let evaluation = atelier_ml::tensor::block_on(evaluation::evaluate_test(
        &outcome.model,
        dataset.classes(),
        settings.tta,
        &device,
        &dataset,
        test_size,
        &mut host,
    ))
    .map_err(|e| e.to_string())?;
    if let Some(path) = options.get("save") {
        // The report the page would have made, so the page lists the file with its figures.
        let created_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_millis() as f64);
        let label = atelier_core::protocol::model_label(spec.key()).unwrap_or(spec.key());
        let facts = RunFacts {
            id: format!("{}-{}", spec.key(), created_ms as u64),
            name: format!("{label} (native bench)"),
            backend: match (backend, outcome.helpers_used) {
                ("cpu" | "flex", 0) => "CPU, native".to_string(),
                ("cpu" | "flex", helpers) => format!("CPU, native, {} threads", helpers + 1),
                _ => format!("WebGPU, native ({})", adapter.as_deref().unwrap_or("wgpu")),
            },
            settings: &settings,
            stopped: outcome.stopped,
            epochs: &outcome.epochs,
            best_epoch: outcome.best_epoch,
            parameters: outcome.model.parameters(),
            train_seconds: outcome.train_seconds,
            samples_seen: outcome.samples_seen,
            created_ms,
        };
        let report = model_report(facts, &evaluation, dataset.classes());
        let bytes = atelier_ml::tensor::block_on(
            outcome
                .model
                .to_file(dataset.classes(), &file_metadata(&report)),
        )
        .map_err(|e| e.to_string())?;
        std::fs::write(path, bytes).map_err(|e| format!("cannot write --save {path}: {e}"))?;
        eprintln!("saved the trained model to {path} (the page's Load a model file reads it)");
    }
    let changed: serde_json::Map<String, serde_json::Value> = settings
        .changed()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.into()))
        .collect();
    let line = serde_json::json!({
        "model": spec.key(),
        "settings": changed,
        "backend": backend,
        "adapter": adapter,
        "wgrad": wgrad,
        "parallel": options.contains_key("parallel"),
        "helpers_used": outcome.helpers_used,
        "epochs_run": outcome.epochs.len(),
        "best_epoch": outcome.best_epoch,
        "train_images": train::training_positions(&dataset, settings.train_size, seed).len(),
        "train_seconds": (outcome.train_seconds * 10.0).round() / 10.0,
        "fit_wall_seconds": (fit_wall_seconds * 10.0).round() / 10.0,
        "samples_per_second": (outcome.samples_seen as f64 / outcome.train_seconds.max(1e-9)).round(),
        "parameters": outcome.model.parameters(),
    });
    Ok(with_test_figures(line, &evaluation, dataset.classes()))
}

/// `--load FILE`: the test figures of a saved model (a file from `--save` or the page's download), with
/// `--tta` and `--test-size` as for a run.
fn evaluate_file(
    path: &Path,
    dataset: &Dataset,
    settings: &TrainSettings,
    device: &Device,
    host: &mut NativeHost,
) -> Result<String, String> {
    let bytes =
        std::fs::read(path).map_err(|e| format!("cannot read --load {}: {e}", path.display()))?;
    let loaded = Trained::from_file(&bytes, device).map_err(|e| e.to_string())?;
    if let Some(reason) = loaded.model.misfit(loaded.classes, dataset) {
        return Err(format!("{} {reason}", path.display()));
    }
    let evaluation = atelier_ml::tensor::block_on(evaluation::evaluate_test(
        &loaded.model,
        loaded.classes,
        settings.tta,
        device,
        dataset,
        settings.test_size,
        host,
    ))
    .map_err(|e| e.to_string())?;
    let line = serde_json::json!({
        "loaded": path.display().to_string(),
        "architecture": loaded.metadata.get(atelier_ml::store::META_ARCHITECTURE),
        "tta": settings.tta,
        "parameters": loaded.model.parameters(),
    });
    Ok(with_test_figures(line, &evaluation, dataset.classes()))
}

/// A JSON line with the test figures of an evaluation added: accuracy, macro F1, images, inference speed.
fn with_test_figures(
    mut line: serde_json::Value,
    evaluation: &Evaluation,
    classes: usize,
) -> String {
    let images = evaluation.truth.len();
    line["test_accuracy"] = evaluation.accuracy.into();
    line["test_macro_f1"] = evaluation.confusion(classes).macro_f1().into();
    line["test_images"] = images.into();
    line["inference_images_per_second"] = (images as f64 / evaluation.seconds.max(1e-9))
        .round()
        .into();
    line.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::fixtures::synthetic_28;
    use atelier_ml::evaluation::evaluate;
    use atelier_ml::nn::Architecture;
    use atelier_ml::tensor::block_on;
    use atelier_ml::train::{TrainConfig, train};

    #[test]
    fn helper_threads_train_a_network_beside_this_one() {
        let dataset = synthetic_28(4, 60, 20, 3);
        let config = TrainConfig {
            architecture: Architecture::RefCnn,
            epochs: 2,
            batch_size: 16,
            augmentation: None,
            ..TrainConfig::default()
        };
        let mut host = NativeHost {
            gradient_helpers: Some(Box::new(ThreadHelpers::spawn(2))),
            ..NativeHost::default()
        };
        let outcome = block_on(train(&config, &dataset, &Device::flex(), &mut host)).unwrap();
        assert_eq!(outcome.helpers_used, 2);
        assert_eq!(outcome.samples_seen, 2 * 216);
        let test = block_on(evaluate(
            &outcome.model,
            &dataset,
            Part::Test,
            None,
            32,
            &host,
        ));
        let accuracy = test.unwrap().accuracy;
        assert!(accuracy > 0.9, "test accuracy {accuracy}");
    }

    /// Writes a tiny Fashion-MNIST-shaped folder (plain IDX under the .gz names, which the parser
    /// accepts): each class a bright 6x6 square in its own place.
    fn tiny_fashion(folder: &Path, train_per_class: u32, test_per_class: u32) {
        use atelier_core::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode};
        let mut rng = atelier_core::rng::SplitMix64::new(5);
        let mut make = |per_class: u32| {
            let labels: Vec<u8> = (0..per_class * 10).map(|i| (i % 10) as u8).collect();
            let mut pixels = Vec::with_capacity(labels.len() * 784);
            for &label in &labels {
                let (top, left) = (3 + (label as usize / 5) * 12, 1 + (label as usize % 5) * 5);
                for y in 0..28 {
                    for x in 0..28 {
                        let inside = (top..top + 6).contains(&y) && (left..left + 6).contains(&x);
                        pixels.push(if inside { 200 } else { rng.below(60) as u8 });
                    }
                }
            }
            let n = labels.len() as u32;
            (
                encode(IMAGES_MAGIC, &[n, 28, 28], &pixels),
                encode(LABELS_MAGIC, &[n], &labels),
            )
        };
        let names = FileNames::default();
        let (train_images, train_labels) = make(train_per_class);
        let (test_images, test_labels) = make(test_per_class);
        std::fs::create_dir_all(folder).unwrap();
        for (name, bytes) in [
            (&names.train_images, train_images),
            (&names.train_labels, train_labels),
            (&names.test_images, test_images),
            (&names.test_labels, test_labels),
        ] {
            std::fs::write(folder.join(name), bytes).unwrap();
        }
    }

    #[test]
    fn a_saved_run_loads_back_with_the_accuracy_it_reported() {
        let folder = std::env::temp_dir().join(format!("atelier-bench-{}", std::process::id()));
        tiny_fashion(&folder, 30, 10);
        let saved = folder.join("model.bpk");
        let options: HashMap<String, String> = [
            ("model", "refcnn"),
            ("epochs", "2"),
            ("batch", "16"),
            ("val", "0"),
            ("no-augment", "true"),
            ("data", folder.to_str().unwrap()),
            ("save", saved.to_str().unwrap()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let line: serde_json::Value = serde_json::from_str(&run(&options).unwrap()).unwrap();
        let reported = line["test_accuracy"].as_f64().unwrap();
        assert_eq!(line["test_images"], 100);
        assert!(reported > 0.5, "the run itself did not learn: {reported}");

        let bytes = std::fs::read(&saved).unwrap();
        let loaded = Trained::from_file(&bytes, &Device::flex()).unwrap();
        assert_eq!(loaded.classes, 10);
        let report: atelier_core::protocol::ModelReport =
            atelier_core::protocol::decode(&loaded.metadata[atelier_ml::report::META_REPORT])
                .unwrap();
        assert_eq!(report.test_accuracy, reported);
        assert_eq!((report.model.as_str(), report.epochs.len()), ("refcnn", 2));
        assert_eq!(report.predicted.len(), 100);
        // `--load` scores the file as the run did; with `--tta` each image is averaged with its mirror
        // image, which on these images (each class a square in its own place) moves the square to
        // another class's place, so the score changes.
        let mut load = options.clone();
        load.remove("save");
        load.insert("load".into(), saved.to_str().unwrap().into());
        let plain: serde_json::Value = serde_json::from_str(&run(&load).unwrap()).unwrap();
        assert_eq!(plain["test_accuracy"].as_f64(), Some(reported));
        load.insert("tta".into(), "true".into());
        let mirrored: serde_json::Value = serde_json::from_str(&run(&load).unwrap()).unwrap();
        assert_eq!(mirrored["tta"], true);
        assert_ne!(mirrored["test_accuracy"].as_f64(), Some(reported));
        std::fs::write(&saved, &bytes[..bytes.len() / 2]).unwrap();
        assert!(run(&load).is_err(), "a damaged file is refused");
        std::fs::remove_dir_all(&folder).unwrap();
    }
}
