//! The worker's long jobs: training, evaluation, saving, loading and exporting models.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use burn::module::Module;
use burn::tensor::Device;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::WorkerGlobalScope;

use super::report::{self, RunFacts};
use super::storage;
use crate::data::dataset::{Dataset, Part};
use crate::ml::classical::fit::{self, FitSpec};
use crate::ml::model::Trained;
use crate::ml::store;
use crate::ml::train::{self, TrainError, TrainEvent, TrainHost};
use crate::protocol::{FromWorker, ModelReport, TrainSettings};

/// A trained model held by the worker.
pub struct HeldModel {
    pub report: ModelReport,
    pub model: Rc<Trained>,
    /// The model's file: how it moves to the CPU backend when the GPU holding its weights is lost.
    pub file: Rc<Vec<u8>>,
}

/// What the jobs share with the message loop.
#[derive(Default)]
pub struct Jobs {
    pub dataset: Option<Rc<Dataset>>,
    pub device: Option<Device>,
    pub backend_label: String,
    pub models: Vec<HeldModel>,
    pub running: bool,
}

thread_local! {
    pub static JOBS: RefCell<Jobs> = RefCell::new(Jobs::default());
    static STOP: Cell<bool> = const { Cell::new(false) };
    /// Batches left before the WebGPU device is destroyed on purpose (`?lose_device_after=N`).
    static LOSE_DEVICE_AFTER: Cell<Option<usize>> = const { Cell::new(None) };
}

/// Destroys the WebGPU device after `batches` more training batches: the lost-device test.
pub fn lose_device_after(batches: usize) {
    LOSE_DEVICE_AFTER.with(|l| l.set(Some(batches)));
}

/// Asks the running job to stop after its current batch.
pub fn request_stop() {
    STOP.with(|s| s.set(true));
}

/// Milliseconds on the worker's monotonic clock.
pub(super) fn now_ms() -> f64 {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.performance().map(|p| p.now()).unwrap_or_default()
}

fn wall_clock_ms() -> f64 {
    js_sys::Date::now()
}

/// Resolves after a zero-delay timeout: the event loop runs in between, so a Stop message is handled.
async fn yield_to_event_loop() {
    let promise = Promise::new(&mut |resolve, _| {
        let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = JsFuture::from(promise).await;
}

/// The training host inside the worker: posts progress, honours Stop, yields between batches.
struct WorkerHost<'a> {
    post: &'a dyn Fn(&FromWorker),
    helpers: super::helpers::Helpers,
}

impl TrainHost for WorkerHost<'_> {
    fn now_ms(&self) -> f64 {
        now_ms()
    }

    fn should_stop(&self) -> bool {
        STOP.with(Cell::get)
    }

    fn report(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Batch(b) => {
                (self.post)(&FromWorker::TrainBatch(report::batch_point(&b)));
                let left = LOSE_DEVICE_AFTER
                    .with(|l| l.get())
                    .map(|n| n.saturating_sub(1));
                if left == Some(0) {
                    LOSE_DEVICE_AFTER.with(|l| l.set(None));
                    super::backend::lose_device();
                } else if left.is_some() {
                    LOSE_DEVICE_AFTER.with(|l| l.set(left));
                }
            }
            TrainEvent::Epoch(e) => (self.post)(&FromWorker::TrainEpoch(report::epoch_point(&e))),
        }
    }

    async fn pause(&self) {
        yield_to_event_loop().await;
    }

    fn tree_helpers(&mut self) -> Option<&mut dyn crate::ml::classical::fit::TreeHelpers> {
        Some(&mut self.helpers)
    }

    fn gradient_helpers(&mut self) -> Option<&mut dyn crate::ml::parallel::GradientHelpers> {
        Some(&mut self.helpers)
    }
}

/// A name not yet used: "CNN #1", "CNN #2", ...
fn next_name(key: &str, models: &[HeldModel]) -> String {
    let n = models.iter().filter(|m| m.report.model == key).count() + 1;
    format!("{} #{n}", crate::protocol::model_label(key).unwrap_or(key))
}

/// Saves a model's weights in IndexedDB; failures become a notice, the model stays in memory.
async fn persist(report: &ModelReport, weights: &[u8], post: &dyn Fn(&FromWorker)) {
    let json = crate::protocol::encode(report);
    if let Err(e) = storage::save(&report.id, &json, weights).await {
        let message = if storage::is_quota_error(&e) {
            format!(
                "Browser storage is full, so {} was not saved for the next visit. It stays available until you close \
                 the page; download it to keep it, or delete older models.",
                report.name
            )
        } else {
            format!(
                "{} could not be saved in this browser's storage ({e}). It stays available until you close the page; \
                 download it to keep it.",
                report.name
            )
        };
        post(&FromWorker::Notice { message });
    }
}

/// The file of a model (burnpack for networks), with its report inside.
async fn model_file(
    model: &Trained,
    report: &ModelReport,
    classes: usize,
) -> Result<Vec<u8>, String> {
    model
        .to_file(classes, &report::file_metadata(report))
        .await
        .map_err(|e| e.to_string())
}

/// Trains, evaluates, saves and announces a model.
pub async fn train(settings: TrainSettings, post: &dyn Fn(&FromWorker)) {
    let ready = JOBS.with(|j| {
        let mut jobs = j.borrow_mut();
        if jobs.running {
            return Err("a run is already going; stop it first".to_string());
        }
        let dataset = jobs
            .dataset
            .clone()
            .ok_or("the dataset is not loaded yet; wait for it, then train")?;
        jobs.running = true;
        let device = jobs
            .device
            .clone()
            .unwrap_or_else(crate::ml::backend::cpu_device);
        Ok((dataset, device, jobs.backend_label.clone()))
    });
    let (dataset, device, backend) = match ready {
        Ok(ready) => ready,
        Err(message) => {
            return post(&FromWorker::TrainFailed {
                message,
                device_lost: false,
            });
        }
    };
    let result = run_training(&settings, &dataset, &device, &backend, post).await;
    JOBS.with(|j| j.borrow_mut().running = false);
    match result {
        Ok(()) => {}
        Err(TrainError::Device(message)) => {
            switch_to_cpu(&message, post);
            post(&FromWorker::TrainFailed {
                message: format!(
                    "The compute device failed ({message}) before this run had a finished epoch to keep. Atelier \
                     now uses the CPU backend: press Train to go on there."
                ),
                device_lost: true,
            })
        }
        Err(e) => post(&FromWorker::TrainFailed {
            message: e.to_string(),
            device_lost: false,
        }),
    }
}

async fn run_training(
    settings: &TrainSettings,
    dataset: &Dataset,
    device: &Device,
    backend: &str,
    post: &dyn Fn(&FromWorker),
) -> Result<(), TrainError> {
    let spec = report::fit_spec(settings).map_err(TrainError::Config)?;
    STOP.with(|s| s.set(false));
    let (batches_per_epoch, epochs) = spec.plan(dataset);
    let parameters = match &spec {
        FitSpec::Network(config) => config
            .architecture
            .init(
                dataset.classes(),
                &crate::ml::nn::ModelOptions {
                    inputs: dataset.rows() * dataset.cols(),
                    ..config.options.clone()
                },
                &crate::ml::backend::cpu_device(),
            )
            .num_params(),
        _ => 0,
    };
    post(&FromWorker::TrainStarted {
        model: spec.key().into(),
        backend: backend.into(),
        epochs,
        batches_per_epoch,
        parameters,
    });
    let mut host = WorkerHost {
        post,
        helpers: super::helpers::Helpers {
            limit: (settings.workers > 0).then(|| settings.workers - 1),
        },
    };
    let outcome = match &settings.features_from {
        None => fit::fit(&spec, dataset, device, &mut host).await?,
        Some(base_id) => {
            let base = JOBS.with(|j| {
                j.borrow()
                    .models
                    .iter()
                    .find(|m| &m.report.id == base_id)
                    .filter(|m| m.model.misfit(m.report.per_class.len(), dataset).is_none())
                    .and_then(|m| m.model.network().cloned())
                    .filter(|n| n.architecture().is_convolutional())
            });
            let base = base.ok_or_else(|| {
                TrainError::Config(
                    "the network whose features were chosen is gone or does not take this dataset's images; pick another one or pixels"
                        .into(),
                )
            })?;
            fit::fit_on_features(&spec, &base, dataset, device, &mut host).await?
        }
    };
    if let Some(message) = &outcome.device_lost {
        // The best epoch's weights came back to the CPU; the run ends there as if stopped.
        switch_to_cpu(message, post);
        post(&FromWorker::DeviceLost {
            message: format!(
                "The GPU stopped working during training ({message}). The model of epoch {} was kept and is \
                 evaluated on the CPU backend, which Atelier uses from now on: press Train to go on there.",
                outcome.best_epoch
            ),
        });
    }
    let parameters = outcome.model.parameters();
    post(&FromWorker::Evaluating);
    let evaluation = train::evaluate_test(
        &outcome.model,
        settings.tta,
        dataset,
        settings.test_size,
        &host,
    )
    .await?;
    let name = JOBS.with(|j| next_name(spec.key(), &j.borrow().models));
    let created_ms = wall_clock_ms();
    // A model trained or grown by helper workers too says on how many workers (only on the CPU backend).
    let backend = match outcome.helpers_used {
        0 => backend.to_string(),
        helpers => format!("CPU, {} Web Workers", helpers + 1),
    };
    let facts = RunFacts {
        id: format!("{}-{}", spec.key(), created_ms as u64),
        name,
        backend,
        settings,
        stopped: outcome.stopped,
        epochs: &outcome.epochs,
        best_epoch: outcome.best_epoch,
        parameters,
        train_seconds: outcome.train_seconds,
        samples_seen: outcome.samples_seen,
        created_ms,
    };
    let mut report = report::model_report(facts, &evaluation, dataset.classes());
    let weights = model_file(&outcome.model, &report, dataset.classes())
        .await
        .map_err(TrainError::Device)?;
    report.size_bytes = weights.len();
    persist(&report, &weights, post).await;
    JOBS.with(|j| {
        j.borrow_mut().models.push(HeldModel {
            report: report.clone(),
            model: Rc::new(outcome.model),
            file: Rc::new(weights),
        })
    });
    post(&FromWorker::ModelReady(Box::new(report)));
    Ok(())
}

/// After the GPU failed: the CPU backend from now on, and every held model re-read onto it from its file
/// (their weights on the GPU are gone). Says so in the backend line.
pub fn switch_to_cpu(reason: &str, post: &dyn Fn(&FromWorker)) {
    super::backend::forget_device();
    let cpu = crate::ml::backend::cpu_device();
    let mut unreadable = Vec::new();
    JOBS.with(|j| {
        let mut jobs = j.borrow_mut();
        jobs.device = Some(cpu.clone());
        jobs.backend_label = "CPU".into();
        for held in jobs.models.iter_mut() {
            match Trained::from_file(&held.file, &cpu) {
                Ok(loaded) => held.model = Rc::new(loaded.model),
                Err(e) => unreadable.push(format!("{}: {e}", held.report.name)),
            }
        }
    });
    for problem in unreadable {
        post(&FromWorker::Notice {
            message: format!("A model could not be moved to the CPU backend ({problem})."),
        });
    }
    post(&FromWorker::Backend(crate::protocol::BackendInfo {
        kind: crate::protocol::BackendKind::Cpu,
        adapter: None,
        reason: format!(
            "The GPU was lost ({reason}), so Atelier moved to the CPU backend and took the trained models \
             with it. Reload the page to try the GPU again."
        ),
    }));
}

/// Loads the models saved in IndexedDB onto the current device and announces them.
pub async fn restore(post: &dyn Fn(&FromWorker)) {
    let device = JOBS
        .with(|j| j.borrow().device.clone())
        .unwrap_or_else(crate::ml::backend::cpu_device);
    let stored = match storage::load_all().await {
        Ok(stored) => stored,
        Err(e) => {
            return post(&FromWorker::Notice {
                message: format!(
                    "Saved models could not be read from this browser's storage ({e}); new models stay until the page is closed."
                ),
            });
        }
    };
    for entry in stored {
        let Ok(report) = crate::protocol::decode::<ModelReport>(&entry.report_json) else {
            continue;
        };
        match Trained::from_file(&entry.weights, &device) {
            Ok(loaded) => {
                JOBS.with(|j| {
                    j.borrow_mut().models.push(HeldModel {
                        report: report.clone(),
                        model: Rc::new(loaded.model),
                        file: Rc::new(entry.weights),
                    })
                });
                post(&FromWorker::ModelReady(Box::new(report)));
            }
            Err(e) => post(&FromWorker::Notice {
                message: format!("The saved model {} could not be loaded: {e}", report.name),
            }),
        }
    }
}

/// Sends a model's file: burn's record format or safetensors.
pub async fn export(
    id: &str,
    format: &str,
    post: &dyn Fn(&FromWorker),
    post_bytes: &dyn Fn(&FromWorker, &JsValue),
) {
    let found = JOBS.with(|j| {
        let jobs = j.borrow();
        let classes = jobs.dataset.as_ref().map(|d| d.classes());
        jobs.models
            .iter()
            .find(|m| m.report.id == id)
            .map(|m| (m.report.clone(), m.model.clone(), classes))
    });
    let Some((report, model, classes)) = found else {
        return post(&FromWorker::Error {
            message: "that model is no longer here".into(),
        });
    };
    let classes = classes.unwrap_or(report.confusion.len());
    let (bytes, extension) = match (format, model.network()) {
        ("safetensors", Some(network)) => {
            let mut metadata = BTreeMap::new();
            metadata.insert("atelier.name".to_string(), report.name.clone());
            (
                store::to_safetensors(network, &metadata)
                    .await
                    .map_err(|e| e.to_string()),
                "safetensors",
            )
        }
        ("safetensors", None) => (
            Err(format!(
                "{} has no tensors to export; download its Atelier file instead",
                report.name
            )),
            "",
        ),
        (_, Some(_)) => (model_file(&model, &report, classes).await, "bpk"),
        (_, None) => (model_file(&model, &report, classes).await, "atlm"),
    };
    match bytes {
        Ok(bytes) => {
            let name = format!(
                "atelier-{}.{extension}",
                report.name.to_ascii_lowercase().replace([' ', '#'], "")
            );
            post_bytes(
                &FromWorker::ModelFile { name },
                &Uint8Array::from(bytes.as_slice()).into(),
            );
        }
        Err(e) => post(&FromWorker::Error {
            message: format!("the model could not be exported: {e}"),
        }),
    }
}

/// Loads a model file the user picked. A damaged file or one for another architecture changes nothing.
pub async fn import(name: &str, bytes: Vec<u8>, post: &dyn Fn(&FromWorker)) {
    let device = JOBS
        .with(|j| j.borrow().device.clone())
        .unwrap_or_else(crate::ml::backend::cpu_device);
    let loaded = match Trained::from_file(&bytes, &device) {
        Ok(loaded) => loaded,
        Err(e) => {
            return post(&FromWorker::Error {
                message: format!("{name} could not be loaded: {e}"),
            });
        }
    };
    let dataset = JOBS.with(|j| j.borrow().dataset.clone());
    if let Some(reason) = dataset
        .as_ref()
        .and_then(|d| loaded.model.misfit(loaded.classes, d))
    {
        return post(&FromWorker::Error {
            message: format!("{name} {reason}; nothing was loaded"),
        });
    }
    let Some(mut report) = loaded
        .metadata
        .get(report::META_REPORT)
        .and_then(|json| crate::protocol::decode::<ModelReport>(json).ok())
    else {
        return post(&FromWorker::Error {
            message: format!(
                "{name} has no Atelier report inside; pick a file downloaded from Atelier"
            ),
        });
    };
    let created_ms = wall_clock_ms();
    report.id = format!("{}-{}", report.model, created_ms as u64);
    report.name = format!("{} (loaded)", report.name);
    report.size_bytes = bytes.len();
    persist(&report, &bytes, post).await;
    JOBS.with(|j| {
        j.borrow_mut().models.push(HeldModel {
            report: report.clone(),
            model: Rc::new(loaded.model),
            file: Rc::new(bytes),
        })
    });
    post(&FromWorker::ModelReady(Box::new(report)));
}

/// Deletes a model from memory and storage.
pub async fn delete(id: &str, post: &dyn Fn(&FromWorker)) {
    JOBS.with(|j| j.borrow_mut().models.retain(|m| m.report.id != id));
    if let Err(e) = storage::delete(id).await {
        post(&FromWorker::Notice {
            message: format!("The model was removed from this page but not from storage ({e})."),
        });
    }
    post(&FromWorker::ModelDeleted { id: id.to_string() });
}

/// Pixels of test images.
pub fn test_images(indices: &[usize]) -> FromWorker {
    JOBS.with(|j| {
        let jobs = j.borrow();
        let Some(dataset) = jobs.dataset.as_ref() else {
            return FromWorker::Error {
                message: "no dataset is loaded yet".into(),
            };
        };
        let valid: Vec<usize> = indices
            .iter()
            .copied()
            .filter(|&i| i < dataset.len(Part::Test))
            .collect();
        let (images, labels) = valid
            .iter()
            .map(|&i| dataset.item(Part::Test, i))
            .map(|(p, l)| (p.to_vec(), l))
            .unzip();
        FromWorker::TestImages {
            rows: dataset.rows(),
            cols: dataset.cols(),
            indices: valid,
            labels,
            images,
        }
    })
}

/// Grad-CAM of a test image for a model.
pub async fn explain(
    model_id: &str,
    test_index: usize,
    class: Option<usize>,
    layer: Option<usize>,
) -> FromWorker {
    let found = JOBS.with(|j| {
        let jobs = j.borrow();
        let model = jobs
            .models
            .iter()
            .find(|m| m.report.id == model_id)
            .map(|m| {
                (
                    m.model.clone(),
                    m.report.name.clone(),
                    m.report.per_class.len(),
                )
            });
        (model, jobs.dataset.clone())
    });
    let (Some((model, model_name, classes)), Some(dataset)) = found else {
        return FromWorker::Error {
            message: "that model or the dataset is not loaded".into(),
        };
    };
    if let Some(reason) = model.misfit(classes, &dataset) {
        return FromWorker::Error {
            message: format!("{model_name} {reason}; Grad-CAM cannot run on it"),
        };
    }
    let Some(network) = model
        .network()
        .filter(|n| n.architecture().is_convolutional())
    else {
        return FromWorker::Error {
            message: format!(
                "Grad-CAM explains networks with convolutions (CNN, ResNet, Reference CNN); {model_name} has none"
            ),
        };
    };
    if test_index >= dataset.len(Part::Test) {
        return FromWorker::Error {
            message: format!("there is no test image {test_index}"),
        };
    }
    let (image, truth) = dataset.item(Part::Test, test_index);
    let image = image.to_vec();
    let pixels = dataset.batch(Part::Test, &[test_index]).pixels;
    match crate::ml::gradcam::grad_cam(
        network,
        &pixels,
        dataset.rows(),
        dataset.cols(),
        class,
        layer,
    )
    .await
    {
        Ok(cam) => FromWorker::Explanation(Box::new(crate::protocol::Explanation {
            model_id: model_id.to_string(),
            model_name,
            test_index,
            truth,
            class: cam.class,
            probabilities: cam.probabilities,
            rows: dataset.rows(),
            cols: dataset.cols(),
            image,
            heatmap: cam.heatmap,
            layer: cam.layer,
            layers: cam.layers,
        })),
        Err(e) => FromWorker::Error {
            message: format!("Grad-CAM failed: {e}"),
        },
    }
}

/// Every model's probabilities for a user's image, with Grad-CAM for the networks with convolutions.
pub async fn predict(label: String, rows: usize, cols: usize, pixels: Vec<u8>) -> FromWorker {
    let start = now_ms();
    let (models, dataset) = JOBS.with(|j| {
        let jobs = j.borrow();
        let models: Vec<(ModelReport, Rc<Trained>)> = jobs
            .models
            .iter()
            .map(|m| (m.report.clone(), m.model.clone()))
            .collect();
        (models, jobs.dataset.clone())
    });
    let Some(dataset) = dataset else {
        return FromWorker::Error {
            message: "the dataset is not loaded yet; wait for it, then predict".into(),
        };
    };
    if (dataset.rows(), dataset.cols()) != (rows, cols) || pixels.len() != rows * cols {
        return FromWorker::Error {
            message: format!(
                "the image is {rows}x{cols} but the models take the dataset's size; reload the page"
            ),
        };
    }
    if models.is_empty() {
        return FromWorker::Error {
            message: "no model is trained yet: train one in the Train tab, then predict".into(),
        };
    }
    // Models restored from another dataset's visit are left out.
    let models: Vec<(ModelReport, Rc<Trained>)> = models
        .into_iter()
        .filter(|(report, model)| model.misfit(report.per_class.len(), &dataset).is_none())
        .collect();
    if models.is_empty() {
        return FromWorker::Error {
            message: "no trained model takes this dataset's images: train one in the Train tab, then predict"
                .into(),
        };
    }
    let batch = crate::data::dataset::Batch {
        pixels: pixels
            .iter()
            .map(|&p| crate::data::dataset::normalise(p))
            .collect(),
        labels: vec![0],
        rows,
        cols,
    };
    let mut answers = Vec::with_capacity(models.len());
    for (report, model) in models {
        let explained = match model
            .network()
            .filter(|n| n.architecture().is_convolutional())
        {
            Some(network) => {
                crate::ml::gradcam::grad_cam(network, &batch.pixels, rows, cols, None, None)
                    .await
                    .map(|cam| (cam.probabilities, Some(cam.heatmap)))
            }
            None => {
                use crate::ml::model::Classifier;
                model.probabilities(&batch).await.map(|p| (p, None))
            }
        };
        match explained {
            Ok((probabilities, heatmap)) => answers.push(crate::protocol::ModelPrediction {
                model_id: report.id,
                model_name: report.name,
                model: report.model,
                probabilities,
                heatmap,
            }),
            Err(e) => {
                return FromWorker::Error {
                    message: format!("{} could not predict: {e}", report.name),
                };
            }
        }
    }
    FromWorker::Predictions(Box::new(crate::protocol::Predictions {
        label,
        rows,
        cols,
        image: pixels,
        models: answers,
        milliseconds: now_ms() - start,
    }))
}
