//! What the worker holds between messages: the dataset, the device, the trained models and the state
//! of the running job.

use std::rc::Rc;

use burn::tensor::Device;

use atelier_core::dataset::Dataset;
use atelier_core::protocol::ModelReport;
use atelier_ml::model::Trained;

/// A trained model held by the worker.
pub struct HeldModel {
    pub report: ModelReport,
    pub model: Rc<Trained>,
    /// The model's file: how it moves to the CPU backend when the GPU holding its weights is lost.
    pub file: Rc<Vec<u8>>,
}

/// The worker's state, shared by the message loop and the jobs (each borrows it only between awaits).
#[derive(Default)]
pub struct WorkerState {
    pub dataset: Option<Rc<Dataset>>,
    /// The device models train and run on; None: not chosen yet (the CPU backend).
    pub device: Option<Device>,
    /// "WebGPU" or "CPU", for the model list.
    pub backend_label: String,
    pub models: Vec<HeldModel>,
    /// A training job is running.
    pub running: bool,
    /// The user asked the running job to stop.
    pub stop: bool,
    /// Batches left before the GPU device is destroyed on purpose (`?lose_device_after=N`).
    pub lose_device_after: Option<usize>,
}

impl WorkerState {
    /// The device to compute on: the chosen one, or the CPU backend.
    pub fn device(&self) -> Device {
        self.device
            .clone()
            .unwrap_or_else(atelier_ml::backend::cpu_device)
    }

    /// A name not yet used: "CNN #1", "CNN #2", ...
    pub fn next_name(&self, key: &str) -> String {
        let n = self.models.iter().filter(|m| m.report.model == key).count() + 1;
        format!(
            "{} #{n}",
            atelier_core::protocol::model_label(key).unwrap_or(key)
        )
    }

    /// The model with this id, if it is held.
    pub fn model(&self, id: &str) -> Option<&HeldModel> {
        self.models.iter().find(|m| m.report.id == id)
    }
}
