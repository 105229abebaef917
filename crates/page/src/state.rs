//! The page's one state, changed only by `Action`s in `reduce`.

use std::rc::Rc;

use yew::Reducible;

use super::url::{Params, Tab};
use atelier_core::protocol::{
    BackendInfo, BatchPoint, DatasetSummary, EpochPoint, Explanation, FileProgress, FromWorker,
    ModelReport, Predictions, ReportMaterial, RunEnd, SampleGrid, TrainSettings,
};
use atelier_core::study::analysis::Plan;

/// Where the dataset stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum DatasetStatus {
    /// Waiting for the worker to start.
    #[default]
    Waiting,
    Downloading,
    Parsing,
    Ready(Rc<DatasetSummary>),
    Failed(String),
}

impl DatasetStatus {
    /// The `dataset-status` text of the automation contract.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Waiting => "waiting",
            Self::Downloading => "downloading",
            Self::Parsing => "parsing",
            Self::Ready(_) => "ready",
            Self::Failed(_) => "error",
        }
    }
}

/// Where a training run stands (`run-status` shows `label`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunStatus {
    #[default]
    Idle,
    /// Asked for, not started yet.
    Starting,
    Running,
    /// Training is over; the test set is being evaluated.
    Evaluating,
    Done,
    Stopped,
    Failed,
}

impl RunStatus {
    /// The `run-status` text of the automation contract.
    pub fn label(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Starting | Self::Running | Self::Evaluating => "running",
            Self::Done => "done",
            Self::Stopped => "stopped",
            Self::Failed => "failed",
        }
    }

    /// True while the worker is busy with the run.
    pub fn is_active(self) -> bool {
        matches!(self, Self::Starting | Self::Running | Self::Evaluating)
    }
}

/// The current (or last) training run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Run {
    pub status: RunStatus,
    pub model: String,
    pub backend: String,
    pub epochs_planned: usize,
    pub batches_per_epoch: usize,
    pub parameters: usize,
    pub batches: Vec<BatchPoint>,
    pub epochs: Vec<EpochPoint>,
    /// Why it failed.
    pub message: Option<String>,
    /// The GPU went away: offer the CPU backend.
    pub device_lost: bool,
    /// The model it produced.
    pub result: Option<String>,
}

impl Run {
    /// Share of the planned batches done, 0..=100.
    pub fn percent(&self) -> u32 {
        let total = self.epochs_planned * self.batches_per_epoch;
        match (self.status, self.batches.last()) {
            (RunStatus::Done | RunStatus::Evaluating, _) => 100,
            (_, Some(b)) if total > 0 => {
                (((b.epoch * b.batches_per_epoch + b.batch + 1) * 100) / total).min(100) as u32
            }
            _ => 0,
        }
    }

    /// Seconds left for the remaining batches at the throughput so far (validation not counted).
    pub fn eta_seconds(&self) -> Option<f64> {
        let b = self.batches.last()?;
        let done = b.epoch * b.batches_per_epoch + b.batch + 1;
        let total = self.epochs_planned * self.batches_per_epoch;
        (done > 0 && self.status == RunStatus::Running)
            .then(|| b.train_seconds / done as f64 * total.saturating_sub(done) as f64)
    }
}

/// Test images shown together: a confusion-matrix cell, the mistakes of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gallery {
    pub title: String,
    /// Test indices asked for; images arrive later.
    pub indices: Vec<usize>,
    /// A caption per image (such as "Shirt, 97% sure").
    pub captions: Vec<String>,
    pub images: Option<(usize, usize, Vec<Vec<u8>>)>,
}

pub use atelier_core::study::Format as ReportFormat;

/// A report being written: what it asked the worker for, and the answer once it is there.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportJob {
    pub format: ReportFormat,
    pub plan: Rc<Plan>,
    pub material: Option<Rc<ReportMaterial>>,
}

/// An image the user pinned to the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Pin {
    /// A Grad-CAM explanation of a test image.
    Explanation(Rc<Explanation>),
    /// The user's own image with every model's answer (ticked in on the Predict tab).
    Prediction(Rc<Predictions>),
}

/// Everything the page shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    pub params: Params,
    /// Bumped to replace a worker that died; the bridge effect depends on it.
    pub worker_generation: u32,
    pub worker_ready: bool,
    pub backend: Option<BackendInfo>,
    pub dataset: DatasetStatus,
    /// One entry per file, in download order.
    pub downloads: Vec<FileProgress>,
    /// The user's pictures being decoded: (done, total, skipped).
    pub decoding: Option<(usize, usize, usize)>,
    /// The datasets this browser keeps (from disk), newest first.
    pub saved_datasets: Vec<atelier_core::saved::SavedDataset>,
    /// The dataset that was loaded when another load started: the worker keeps it when the new one
    /// fails, and so does the page.
    pub previous: Option<(Rc<DatasetSummary>, Option<Rc<SampleGrid>>)>,
    pub samples: Option<Rc<SampleGrid>>,
    /// Messages for the error banner, oldest first.
    pub errors: Vec<String>,
    /// The sample image shown enlarged: (class, index in the class's row).
    pub enlarged: Option<(usize, usize)>,
    pub run: Run,
    /// Every model trained or loaded in this browser, oldest first.
    pub models: Vec<Rc<ModelReport>>,
    /// The model whose evaluation is shown.
    pub selected: Option<String>,
    pub gallery: Option<Gallery>,
    /// The Grad-CAM shown.
    pub explanation: Option<Rc<atelier_core::protocol::Explanation>>,
    /// Every model's answer for the user's latest image.
    pub predictions: Option<Rc<atelier_core::protocol::Predictions>>,
    /// Messages that inform without an error (storage full, model saved elsewhere).
    pub notices: Vec<String>,
    /// `autorun=1` has started its run (it runs once per page load).
    pub autorun_fired: bool,
    /// The worker has announced the models saved in this browser.
    pub restored: bool,
    /// The files the user picked from disk (four IDX files, or CIFAR's), when the data came from there
    /// (not from the URL).
    pub picked_files: Option<Vec<String>>,
    /// The report being written, if one is.
    pub report: Option<ReportJob>,
    /// What became of the last report (`report-status`).
    pub report_status: Option<String>,
    /// `report=1` has asked for its report (once per page load).
    pub report_fired: bool,
    /// Images pinned to the report, in the order pinned.
    pub pinned: Vec<Pin>,
    /// Counts the changes: every action makes a new version (what the tab containers compare, since a
    /// reducer handle always reads the newest state).
    pub version: u64,
}

/// Every change to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    FromWorker(FromWorker),
    /// Training batches that arrived since the last of these, in order ([`PendingBatches`]).
    TrainBatches(Vec<BatchPoint>),
    /// The worker could not start or crashed outside Rust.
    WorkerFailed(String),
    /// A new load was sent to the worker (first load, retry, new split, picked files).
    LoadStarted,
    /// The user picked these four IDX files from disk; they are loading.
    FilesPicked(Vec<String>),
    /// How the user's pictures are imported (`size`, `gray`).
    SetImport(atelier_core::import::ImportOptions),
    /// Another dataset is opened by its `?data=` value (None: the bundled Fashion-MNIST).
    OpenDataset(Option<String>),
    SetTab(Tab),
    /// New training settings from the form (boxed: they are most of an action's size).
    SetTrain(Box<TrainSettings>),
    /// A run was asked for.
    TrainRequested,
    AutorunFired,
    /// A report was asked for; the worker was sent the plan's requests.
    ReportRequested(ReportFormat, Rc<Plan>),
    /// The report was saved, or could not be: the sentence to show.
    ReportEnded(String),
    ReportFired,
    /// Pins an image to the report (again: unpins it).
    TogglePin(Pin),
    SelectModel(String),
    /// Show these test images; their pixels arrive as `FromWorker::TestImages`.
    OpenGallery(Gallery),
    CloseGallery,
    CloseExplanation,
    DismissNotice(usize),
    SetSplit {
        seed: u64,
        val_percent: f64,
    },
    Enlarge(Option<(usize, usize)>),
    ShowError(String),
    DismissError(usize),
}

/// Training batches from the worker waiting to be shown. The worker reports every batch (about 15 a
/// second for the reference CNN); the page takes them a few times a second instead. One by one, each
/// report cloned the run, drew the page again and redrew the live charts with every point so far,
/// which kept the page's own thread busy on a whole core while training, a core the training workers
/// then shared (BENCHMARKS.md, "The page's thread while training").
#[derive(Debug, Default)]
pub struct PendingBatches(Vec<BatchPoint>);

impl PendingBatches {
    /// Adds a batch; true when it is the first since the last [`PendingBatches::take`], so that a
    /// taking is to be scheduled.
    pub fn push(&mut self, point: BatchPoint) -> bool {
        self.0.push(point);
        self.0.len() == 1
    }

    /// The batches waiting, in the order they came, as an action; None when there are none.
    pub fn take(&mut self) -> Option<Action> {
        (!self.0.is_empty()).then(|| Action::TrainBatches(std::mem::take(&mut self.0)))
    }
}

impl Pin {
    /// True when both pin the same image (the same test image and model, or the same user image).
    pub fn same_image(&self, other: &Pin) -> bool {
        match (self, other) {
            (Pin::Explanation(a), Pin::Explanation(b)) => {
                (&a.model_id, a.test_index, a.class, a.layer)
                    == (&b.model_id, b.test_index, b.class, b.layer)
            }
            (Pin::Prediction(a), Pin::Prediction(b)) => a.label == b.label && a.image == b.image,
            _ => false,
        }
    }
}

impl State {
    /// True when this image is pinned to the report.
    pub fn is_pinned(&self, pin: &Pin) -> bool {
        self.pinned.iter().any(|p| p.same_image(pin))
    }

    /// The starting state for a URL query.
    pub fn from_query(query: &str) -> Self {
        Self {
            params: Params::parse(query),
            ..Self::default()
        }
    }

    /// The summary once the dataset is ready.
    pub fn summary(&self) -> Option<&Rc<DatasetSummary>> {
        match &self.dataset {
            DatasetStatus::Ready(summary) => Some(summary),
            _ => None,
        }
    }

    /// What a message from the worker changes.
    fn receive(&mut self, message: FromWorker) {
        let next = self;
        match message {
            FromWorker::Ready => next.worker_ready = true,
            FromWorker::Backend(info) => next.backend = Some(info),
            FromWorker::Download(progress) => {
                next.dataset = DatasetStatus::Downloading;
                next.record_progress(progress);
            }
            FromWorker::Parsing => next.dataset = DatasetStatus::Parsing,
            FromWorker::Decoding {
                done,
                total,
                skipped,
            } => {
                next.dataset = DatasetStatus::Parsing;
                next.decoding = Some((done, total, skipped));
            }
            FromWorker::DatasetReady(summary) => {
                next.decoding = None;
                next.previous = None;
                next.params.seed = summary.split_seed;
                next.params.train.seed = summary.split_seed;
                next.dataset = DatasetStatus::Ready(Rc::new(*summary));
            }
            FromWorker::DatasetFailed { message } => match next.previous.take() {
                Some((summary, samples)) => {
                    next.dataset = DatasetStatus::Ready(summary);
                    next.samples = samples;
                    next.picked_files = None;
                    next.errors.push(format!(
                        "{message} (the dataset loaded before stays in use)"
                    ));
                }
                None => {
                    next.dataset = DatasetStatus::Failed(message.clone());
                    next.errors.push(message);
                }
            },
            FromWorker::SavedDatasets(list) => next.saved_datasets = list,
            FromWorker::DatasetSaved { id } => {
                next.params.data = Some(format!("{}{id}", atelier_core::saved::PREFIX));
            }
            FromWorker::Samples(grid) => {
                next.samples = Some(Rc::new(grid));
                next.enlarged = None;
            }
            FromWorker::Error { message } => next.errors.push(message),
            FromWorker::TrainStarted {
                model,
                backend,
                epochs,
                batches_per_epoch,
                parameters,
            } => {
                next.run = Run {
                    status: RunStatus::Running,
                    model,
                    backend,
                    epochs_planned: epochs,
                    batches_per_epoch,
                    parameters,
                    ..Run::default()
                };
            }
            FromWorker::TrainBatch(point) => next.run.batches.push(point),
            FromWorker::TrainEpoch(point) => next.run.epochs.push(point),
            FromWorker::Evaluating => next.run.status = RunStatus::Evaluating,
            FromWorker::ModelReady(report) => {
                if next.run.status == RunStatus::Evaluating {
                    next.run.status = if report.end == RunEnd::Stopped {
                        RunStatus::Stopped
                    } else {
                        RunStatus::Done
                    };
                    next.run.result = Some(report.id.clone());
                    next.selected = Some(report.id.clone());
                }
                if next.selected.is_none() {
                    next.selected = Some(report.id.clone());
                }
                next.models.retain(|m| m.id != report.id);
                next.models.push(Rc::new(*report));
            }
            FromWorker::TrainFailed {
                message,
                device_lost,
            } => {
                next.run.status = RunStatus::Failed;
                next.run.device_lost = device_lost;
                next.run.message = Some(message.clone());
                next.errors.push(message);
            }
            FromWorker::DeviceLost { message } => {
                next.run.device_lost = true;
                next.run.message = Some(message);
            }
            FromWorker::Notice { message } => next.notices.push(message),
            FromWorker::TestImages {
                rows,
                cols,
                indices,
                images,
                ..
            } => {
                if let Some(gallery) = next.gallery.as_mut().filter(|g| g.indices == indices) {
                    gallery.images = Some((rows, cols, images));
                }
            }
            FromWorker::ModelFile { .. } => {}
            FromWorker::Explanation(explanation) => next.explanation = Some(Rc::new(*explanation)),
            FromWorker::Predictions(predictions) => next.predictions = Some(Rc::new(*predictions)),
            FromWorker::Restored => next.restored = true,
            FromWorker::ReportMaterial(material) => {
                if let Some(job) = next.report.as_mut() {
                    job.material = Some(Rc::new(*material));
                }
            }
            FromWorker::ModelDeleted { id } => {
                next.models.retain(|m| m.id != id);
                if next.selected.as_deref() == Some(id.as_str()) {
                    next.selected = next.models.last().map(|m| m.id.clone());
                }
            }
            FromWorker::Panicked { message } => {
                if next.run.status.is_active() {
                    next.run.status = RunStatus::Failed;
                    next.run.message = Some(message.clone());
                }
                // The new worker reloads the saved models and announces them again.
                next.models.clear();
                if next.report.take().is_some() {
                    next.report_status = Some(
                        "The report was not written: the worker restarted. Make it again once the models are back."
                            .into(),
                    );
                }
                next.errors.push(format!(
                "The worker stopped on an internal error ({message}). It has been restarted and the data \
                 is loading again."
            ));
                next.worker_ready = false;
                next.restored = false;
                // The new worker loads the data the URL names.
                next.picked_files = None;
                next.worker_generation += 1;
                next.dataset = DatasetStatus::Waiting;
                next.previous = None;
                next.downloads.clear();
            }
        }
    }

    fn record_progress(&mut self, progress: FileProgress) {
        match self.downloads.iter_mut().find(|d| d.file == progress.file) {
            Some(entry) => *entry = progress,
            None => self.downloads.push(progress),
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        next.version = self.version + 1;
        match action {
            Action::FromWorker(message) => next.receive(message),
            Action::TrainBatches(points) => next.run.batches.extend(points),
            Action::WorkerFailed(message) => {
                next.errors.push(message.clone());
                if !matches!(next.dataset, DatasetStatus::Ready(_)) {
                    next.dataset = DatasetStatus::Failed(message);
                }
            }
            Action::LoadStarted => {
                if let DatasetStatus::Ready(summary) = &next.dataset {
                    next.previous = Some((summary.clone(), next.samples.clone()));
                }
                next.dataset = DatasetStatus::Downloading;
                next.downloads.clear();
                next.decoding = None;
                next.samples = None;
                next.enlarged = None;
                // Errors about an earlier load are answered by this one.
                next.errors.clear();
            }
            Action::FilesPicked(names) => next.picked_files = Some(names),
            Action::SetImport(options) => next.params.import = options,
            Action::OpenDataset(data) => {
                next.params.data = data;
                next.picked_files = None;
            }
            Action::SetTab(tab) => next.params.tab = tab,
            Action::SetTrain(settings) => {
                next.params.seed = settings.seed;
                next.params.train = *settings;
            }
            Action::TrainRequested => {
                next.run = Run {
                    status: RunStatus::Starting,
                    model: next.params.train.model.clone(),
                    ..Run::default()
                };
            }
            Action::AutorunFired => next.autorun_fired = true,
            Action::ReportRequested(format, plan) => {
                next.report = Some(ReportJob {
                    format,
                    plan,
                    material: None,
                });
                next.report_status = Some("Writing the report…".into());
            }
            Action::ReportEnded(status) => {
                next.report = None;
                next.report_status = Some(status);
            }
            Action::ReportFired => next.report_fired = true,
            Action::TogglePin(pin) => match next.pinned.iter().position(|p| p.same_image(&pin)) {
                Some(at) => {
                    next.pinned.remove(at);
                }
                None => next.pinned.push(pin),
            },
            Action::SelectModel(id) => next.selected = Some(id),
            Action::OpenGallery(gallery) => next.gallery = Some(gallery),
            Action::CloseGallery => next.gallery = None,
            Action::CloseExplanation => next.explanation = None,
            Action::DismissNotice(index) => {
                if index < next.notices.len() {
                    next.notices.remove(index);
                }
            }
            Action::SetSplit { seed, val_percent } => {
                next.params.seed = seed;
                next.params.train.seed = seed;
                next.params.val_percent = val_percent;
            }
            Action::Enlarge(which) => next.enlarged = which,
            Action::ShowError(message) => next.errors.push(message),
            Action::DismissError(index) => {
                if index < next.errors.len() {
                    next.errors.remove(index);
                }
            }
        }
        Rc::new(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(state: State, action: Action) -> State {
        (*Rc::new(state).reduce(action)).clone()
    }

    #[test]
    fn every_action_makes_a_new_version() {
        let s = State::default();
        let s = reduce(s, Action::SetTab(Tab::Predict));
        assert_eq!(s.version, 1);
        let s = reduce(s, Action::ShowError("x".into()));
        assert_eq!(s.version, 2);
    }

    #[test]
    fn download_progress_is_tracked_per_file() {
        let mut s = State::default();
        for (file, received) in [("a", 1), ("b", 5), ("a", 3)] {
            let p = FileProgress {
                file: file.into(),
                received,
                total: Some(10),
            };
            s = reduce(s, Action::FromWorker(FromWorker::Download(p)));
        }
        assert_eq!(s.dataset.label(), "downloading");
        assert_eq!(
            s.downloads.iter().map(|d| d.received).collect::<Vec<_>>(),
            vec![3, 5]
        );
    }

    #[test]
    fn failure_shows_in_banner_and_status_and_retry_clears_it() {
        let s = reduce(
            State::default(),
            Action::FromWorker(FromWorker::DatasetFailed {
                message: "bad".into(),
            }),
        );
        assert_eq!(s.dataset.label(), "error");
        assert_eq!(s.errors, vec!["bad".to_string()]);
        let s = reduce(s, Action::LoadStarted);
        assert!(s.errors.is_empty());
        assert_eq!(s.dataset.label(), "downloading");
    }

    /// Batches wait and come out together, in order, once: the first push asks for a taking, the
    /// next ones do not until the batches are taken; the run then holds them all, in order.
    #[test]
    fn pending_batches_come_out_together_in_order() {
        let mut pending = PendingBatches::default();
        assert!(pending.take().is_none());
        assert!(pending.push(point(0, 0)));
        assert!(!pending.push(point(0, 1)));
        assert!(!pending.push(point(0, 2)));
        let Some(action) = pending.take() else {
            panic!("three batches wait");
        };
        assert!(pending.take().is_none());
        assert!(pending.push(point(0, 3)), "a new taking after the last");
        let mut s = reduce(
            State::default(),
            Action::FromWorker(FromWorker::TrainBatch(point(0, 0))),
        );
        s = reduce(s, action);
        s = reduce(s, pending.take().unwrap());
        let order: Vec<usize> = s.run.batches.iter().map(|b| b.batch).collect();
        assert_eq!(order, [0, 0, 1, 2, 3]);
    }

    fn point(epoch: usize, batch: usize) -> BatchPoint {
        BatchPoint {
            epoch,
            batch,
            batches_per_epoch: 10,
            loss: 1.0,
            accuracy: 0.5,
            samples_per_second: 100.0,
            train_seconds: 2.0,
        }
    }

    #[test]
    fn a_run_goes_from_start_to_done_with_progress() {
        let mut s = reduce(State::default(), Action::TrainRequested);
        assert_eq!(s.run.status.label(), "running");
        let started = FromWorker::TrainStarted {
            model: "cnn".into(),
            backend: "CPU".into(),
            epochs: 2,
            batches_per_epoch: 10,
            parameters: 5,
        };
        s = reduce(s, Action::FromWorker(started));
        s = reduce(s, Action::FromWorker(FromWorker::TrainBatch(point(0, 4))));
        assert_eq!(s.run.percent(), 25);
        // 5 batches in 2 s: 15 left take 6 s.
        assert!((s.run.eta_seconds().unwrap() - 6.0).abs() < 1e-9);
        s = reduce(s, Action::FromWorker(FromWorker::Evaluating));
        assert_eq!(s.run.percent(), 100);
        let report: ModelReport = serde_json::from_value(serde_json::json!({
            "id": "cnn-1", "model": "cnn", "name": "CNN #1", "backend": "CPU", "settings": TrainSettings::default(),
            "end": "Stopped", "epochs": [], "best_epoch": 0, "parameters": 5, "train_seconds": 1.0,
            "samples_per_second": 1.0, "test_images": 1, "test_accuracy": 0.9, "test_loss": 0.1, "macro_f1": 0.9,
            "per_class": [], "confusion": [], "inference_images_per_second": 1.0, "mistakes": [], "predicted": [], "size_bytes": 1,
            "created_ms": 0.0
        }))
        .unwrap();
        s = reduce(
            s,
            Action::FromWorker(FromWorker::ModelReady(Box::new(report))),
        );
        assert_eq!(s.run.status.label(), "stopped");
        assert_eq!(s.selected.as_deref(), Some("cnn-1"));
        assert_eq!(s.models.len(), 1);
        s = reduce(
            s,
            Action::FromWorker(FromWorker::ModelDeleted { id: "cnn-1".into() }),
        );
        assert!(s.models.is_empty() && s.selected.is_none());
    }

    #[test]
    fn a_failed_run_says_why_and_whether_the_device_was_lost() {
        let s = reduce(State::default(), Action::TrainRequested);
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::TrainFailed {
                message: "gpu gone".into(),
                device_lost: true,
            }),
        );
        assert_eq!(s.run.status.label(), "failed");
        assert!(s.run.device_lost);
        assert_eq!(s.errors, vec!["gpu gone".to_string()]);
    }

    #[test]
    fn a_lost_gpu_mid_run_keeps_the_model_and_says_so() {
        let s = reduce(State::default(), Action::TrainRequested);
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::DeviceLost {
                message: "The GPU stopped working; the model of epoch 1 was kept.".into(),
            }),
        );
        assert!(s.run.device_lost);
        assert!(s.run.message.as_deref().unwrap().contains("epoch 1"));
        assert!(s.errors.is_empty(), "a kept model is not an error");
    }

    #[test]
    fn a_worker_panic_restarts_the_worker() {
        let s = State {
            worker_ready: true,
            ..State::default()
        };
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::Panicked {
                message: "boom".into(),
            }),
        );
        assert_eq!(s.worker_generation, 1);
        assert!(!s.worker_ready);
        assert!(s.errors[0].contains("boom"));
    }

    #[test]
    fn a_report_waits_for_its_material_and_pins_toggle() {
        let s = reduce(
            State::default(),
            Action::ReportRequested(ReportFormat::Html, Rc::new(Plan::default())),
        );
        assert!(s.report.as_ref().is_some_and(|j| j.material.is_none()));
        let material = ReportMaterial {
            rows: 28,
            cols: 28,
            ..ReportMaterial::default()
        };
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::ReportMaterial(Box::new(material))),
        );
        assert!(s.report.as_ref().is_some_and(|j| j.material.is_some()));
        let s = reduce(s, Action::ReportEnded("saved".into()));
        assert!(s.report.is_none());
        assert_eq!(s.report_status.as_deref(), Some("saved"));
        // Material with no report waiting is dropped.
        let stray = ReportMaterial {
            rows: 1,
            cols: 1,
            ..ReportMaterial::default()
        };
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::ReportMaterial(Box::new(stray))),
        );
        assert!(s.report.is_none());
        let pin = Pin::Prediction(Rc::new(Predictions {
            label: "drawing".into(),
            channels: 1,
            rows: 1,
            cols: 1,
            image: vec![3],
            models: vec![],
            milliseconds: 1.0,
        }));
        let s = reduce(s, Action::TogglePin(pin.clone()));
        assert!(s.is_pinned(&pin));
        let s = reduce(s, Action::TogglePin(pin.clone()));
        assert!(!s.is_pinned(&pin) && s.pinned.is_empty());
    }

    #[test]
    fn a_late_worker_failure_keeps_a_loaded_dataset() {
        let summary = atelier_core::protocol::DatasetSummary {
            class_names: vec![],
            channels: 1,
            rows: 1,
            cols: 1,
            train_count: 0,
            validation_count: 0,
            test_count: 0,
            split_seed: 3,
            validation_per_mille: 100,
            balance: atelier_core::protocol::ClassBalance {
                train: vec![],
                validation: vec![],
                test: vec![],
            },
            mean_images: vec![],
            histograms: vec![],
            parse_ms: 0.0,
            import: None,
            test_labels: vec![],
        };
        let s = reduce(
            State::default(),
            Action::FromWorker(FromWorker::DatasetReady(Box::new(summary))),
        );
        assert_eq!(s.params.seed, 3);
        let s = reduce(s, Action::WorkerFailed("gone".into()));
        assert_eq!(s.dataset.label(), "ready");
        assert_eq!(s.errors.len(), 1);
        // A new load that fails keeps the dataset loaded before (the worker keeps it too), and says so.
        let s = reduce(s, Action::LoadStarted);
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::Decoding {
                done: 32,
                total: 100,
                skipped: 1,
            }),
        );
        assert_eq!(
            (s.dataset.label(), s.decoding),
            ("parsing", Some((32, 100, 1)))
        );
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::DatasetFailed {
                message: "cat.zip expands past 512 MB".into(),
            }),
        );
        assert_eq!(s.dataset.label(), "ready");
        assert!(s.errors.last().unwrap().contains("stays in use"));
        // Without one before, a failure is the page's state.
        let s = reduce(State::default(), Action::LoadStarted);
        let s = reduce(
            s,
            Action::FromWorker(FromWorker::DatasetFailed {
                message: "x".into(),
            }),
        );
        assert_eq!(s.dataset.label(), "error");
    }
}
