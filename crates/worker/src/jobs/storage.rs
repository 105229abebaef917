//! The models kept for the next visit and the files users take away: saving (a failure is a notice, never
//! a lost device: the model stays in memory), restoring, deleting and exporting.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::env::{Env, is_quota_error};
use crate::state::{HeldModel, WorkerState};
use atelier_core::protocol::{self, FromWorker, ModelReport};
use atelier_ml::model::Trained;
use atelier_ml::{report, store};

/// Saves a model for the next visit; a failure becomes a notice and the model stays in memory.
pub async fn persist(env: &impl Env, report: &ModelReport, weights: &[u8]) {
    let json = protocol::encode(report);
    if let Err(e) = env.save(&report.id, &json, weights).await {
        let message = if is_quota_error(&e) {
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
        env.post(&FromWorker::Notice { message });
    }
}

/// Loads the saved models onto the current device and announces them.
pub async fn restore(state: &RefCell<WorkerState>, env: &impl Env) {
    let device = state.borrow().device();
    let stored = match env.load_all().await {
        Ok(stored) => stored,
        Err(e) => {
            return env.post(&FromWorker::Notice {
                message: format!(
                    "Saved models could not be read from this browser's storage ({e}); new models stay until the page is closed."
                ),
            });
        }
    };
    for entry in stored {
        let Ok(report) = protocol::decode::<ModelReport>(&entry.report_json) else {
            continue;
        };
        match Trained::from_file(&entry.weights, &device) {
            Ok(loaded) => {
                state.borrow_mut().models.push(HeldModel {
                    report: report.clone(),
                    model: Rc::new(loaded.model),
                    file: Rc::new(entry.weights),
                });
                env.post(&FromWorker::ModelReady(Box::new(report)));
            }
            Err(e) => env.post(&FromWorker::Notice {
                message: format!("The saved model {} could not be loaded: {e}", report.name),
            }),
        }
    }
}

/// Deletes a model from memory and storage.
pub async fn delete(state: &RefCell<WorkerState>, env: &impl Env, id: &str) {
    state.borrow_mut().models.retain(|m| m.report.id != id);
    if let Err(e) = env.delete(id).await {
        env.post(&FromWorker::Notice {
            message: format!("The model was removed from this page but not from storage ({e})."),
        });
    }
    env.post(&FromWorker::ModelDeleted { id: id.to_string() });
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

/// Sends a model's file: burn's record format or safetensors.
pub async fn export(state: &RefCell<WorkerState>, env: &impl Env, id: &str, format: &str) {
    let found = {
        let s = state.borrow();
        let classes = s.dataset.as_ref().map(|d| d.classes());
        s.model(id)
            .map(|m| (m.report.clone(), m.model.clone(), classes))
    };
    let Some((report, model, classes)) = found else {
        return env.post(&FromWorker::Error {
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
            env.post_file(&FromWorker::ModelFile { name }, bytes);
        }
        Err(e) => env.post(&FromWorker::Error {
            message: format!("the model could not be exported: {e}"),
        }),
    }
}
