//! Loading a model file the user picked. A damaged file, or one for another architecture or dataset,
//! changes nothing and says why.

use std::cell::RefCell;
use std::rc::Rc;

use super::storage::persist;
use crate::env::Env;
use crate::state::{HeldModel, WorkerState};
use atelier_core::protocol::{self, FromWorker, ModelReport};
use atelier_ml::model::Trained;
use atelier_ml::report;

/// Loads the file `name` with these bytes, saves it for the next visit and announces it.
pub async fn import(state: &RefCell<WorkerState>, env: &impl Env, name: &str, bytes: Vec<u8>) {
    let device = state.borrow().device();
    let loaded = match Trained::from_file(&bytes, &device) {
        Ok(loaded) => loaded,
        Err(e) => {
            return env.post(&FromWorker::Error {
                message: format!("{name} could not be loaded: {e}"),
            });
        }
    };
    let dataset = state.borrow().dataset.clone();
    if let Some(reason) = dataset
        .as_ref()
        .and_then(|d| loaded.model.misfit(loaded.classes, d))
    {
        return env.post(&FromWorker::Error {
            message: format!("{name} {reason}; nothing was loaded"),
        });
    }
    let Some(mut report) = loaded
        .metadata
        .get(report::META_REPORT)
        .and_then(|json| protocol::decode::<ModelReport>(json).ok())
    else {
        return env.post(&FromWorker::Error {
            message: format!(
                "{name} has no Atelier report inside; pick a file downloaded from Atelier"
            ),
        });
    };
    let created_ms = env.wall_clock_ms();
    report.id = format!("{}-{}", report.model, created_ms as u64);
    report.name = format!("{} (loaded)", report.name);
    report.size_bytes = bytes.len();
    persist(env, &report, &bytes).await;
    state.borrow_mut().models.push(HeldModel {
        report: report.clone(),
        model: Rc::new(loaded.model),
        file: Rc::new(bytes),
    });
    env.post(&FromWorker::ModelReady(Box::new(report)));
}
