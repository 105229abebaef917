//! The worker's message loop.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::jobs;
use super::{backend, fetch, load, summary};
use crate::clock::now_ms;
use crate::env::Post;
use crate::helper_protocol::{FromHelper, ToHelper};
use crate::state::WorkerState;
use crate::web::WebEnv;
use atelier_core::dataset::Part;
use atelier_core::protocol::{self, BackendKind, FromWorker, ToWorker};

thread_local! {
    /// The worker's state, shared by the message handler and the jobs it starts.
    static STATE: Rc<RefCell<WorkerState>> = Rc::new(RefCell::new(WorkerState::default()));
}

fn state() -> Rc<RefCell<WorkerState>> {
    STATE.with(Rc::clone)
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends a message to the page.
fn post(message: &FromWorker) {
    WebEnv.post(message);
}

/// Answers the worker this one helps, with a typed array made for the answer beside the message when
/// there is one (its buffer moves with it).
fn post_helper(message: &FromHelper, attachment: Option<&JsValue>) {
    let text = protocol::encode(message);
    let _ = match attachment {
        Some(attachment) => {
            let (envelope, transfer) = crate::envelope::pack_moving(&text, attachment);
            scope().post_message_with_transfer(&envelope, &transfer)
        }
        None => scope().post_message(&JsValue::from_str(&text)),
    };
}

/// Sets up the panic hook and the message handler, then says `Ready`.
pub fn start() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        post(&FromWorker::Panicked {
            message: info.to_string(),
        });
    }));
    let handler = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        let (text, attachment) = crate::envelope::unpack(event.data());
        let Some(text) = text else {
            return post(&FromWorker::Error {
                message: "the worker got a message that is not text".into(),
            });
        };
        match protocol::decode::<ToWorker>(&text) {
            // Stop must act while a job is running, so it is handled at once, not queued behind it.
            Ok(ToWorker::Stop) => {
                state().borrow_mut().stop = true;
                super::helpers::wake();
            }
            Ok(ToWorker::LoseDeviceAfter { batches }) => {
                state().borrow_mut().lose_device_after = Some(batches)
            }
            Ok(message) => wasm_bindgen_futures::spawn_local(handle(message, attachment)),
            // Not the page's: a helper's job from the worker that spawned this one, or garbage.
            Err(e) => match protocol::decode::<ToHelper>(&text) {
                Ok(message) => {
                    wasm_bindgen_futures::spawn_local(handle_helper(message, attachment))
                }
                Err(_) => post(&FromWorker::Error { message: e }),
            },
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&FromWorker::Ready);
}

async fn handle(message: ToWorker, attachment: JsValue) {
    let (state, env) = (state(), WebEnv);
    match message {
        ToWorker::InitBackend {
            preference,
            workers,
        } => {
            // Only the page's worker is asked for a backend: it starts the helpers.
            super::helpers::spawn(workers.saturating_sub(1));
            let (info, device) = backend::detect(preference).await;
            let label = match info.kind {
                BackendKind::WebGpu => "WebGPU",
                BackendKind::Cpu => "CPU",
            };
            {
                let mut s = state.borrow_mut();
                s.device = Some(device);
                s.backend_label = label.into();
            }
            post(&FromWorker::Backend(info));
            jobs::storage::restore(&state, &env).await;
            post(&FromWorker::Restored);
            load::post_saved_list().await;
        }
        ToWorker::LoadDataset(request) => match load::load_dataset(&request, attachment).await {
            Ok(dataset) => {
                let grid = summary::sample_grid(&dataset, Part::Train, 10, request.split_seed);
                state.borrow_mut().dataset = Some(dataset);
                post(&FromWorker::Samples(grid));
            }
            Err(e) => post(&FromWorker::DatasetFailed {
                message: e.to_string(),
            }),
        },
        ToWorker::Resplit {
            validation_per_mille,
            seed,
        } => {
            if state.borrow().running {
                return post(&FromWorker::Error {
                    message: "the split cannot change during a run; stop it first".into(),
                });
            }
            let Some(dataset) = state.borrow_mut().dataset.take() else {
                return post(&FromWorker::Error {
                    message: "no dataset is loaded yet".into(),
                });
            };
            let mut dataset = Rc::try_unwrap(dataset).unwrap_or_else(|shared| (*shared).clone());
            let start = now_ms();
            match dataset.resplit(validation_per_mille, seed) {
                Err(e) => post(&FromWorker::Error {
                    message: e.to_string(),
                }),
                Ok(()) => {
                    post(&FromWorker::DatasetReady(Box::new(summary::summarise(
                        &dataset,
                        now_ms() - start,
                    ))));
                    post(&FromWorker::Samples(summary::sample_grid(
                        &dataset,
                        Part::Train,
                        10,
                        seed,
                    )));
                }
            }
            state.borrow_mut().dataset = Some(Rc::new(dataset));
        }
        ToWorker::Resample {
            part,
            per_class,
            seed,
        } => match state.borrow().dataset.clone() {
            Some(dataset) => post(&FromWorker::Samples(summary::sample_grid(
                &dataset, part, per_class, seed,
            ))),
            None => post(&FromWorker::Error {
                message: "no dataset is loaded yet".into(),
            }),
        },
        ToWorker::Train { settings } => jobs::train::train(&state, &env, *settings).await,
        ToWorker::Stop => state.borrow_mut().stop = true,
        ToWorker::LoseDeviceAfter { batches } => {
            state.borrow_mut().lose_device_after = Some(batches)
        }
        ToWorker::TestImages { indices } => post(&jobs::explain::test_images(&state, &indices)),
        ToWorker::Explain {
            model_id,
            test_index,
            class,
            layer,
        } => post(&jobs::explain::explain(&state, &model_id, test_index, class, layer).await),
        ToWorker::ReportMaterial { explain, images } => {
            post(&jobs::explain::report_material(&state, &explain, &images).await)
        }
        ToWorker::Predict {
            label,
            channels,
            rows,
            cols,
            pixels,
        } => {
            post(&jobs::predict::predict(&state, &env, label, [channels, rows, cols], pixels).await)
        }
        ToWorker::DeleteModel { id } => jobs::storage::delete(&state, &env, &id).await,
        ToWorker::DeleteDataset { id } => load::delete_saved(&id).await,
        ToWorker::ExportModel { id, format } => {
            jobs::storage::export(&state, &env, &id, &format).await
        }
        ToWorker::ImportModel { name } => match attachment.dyn_into::<web_sys::Blob>() {
            Ok(blob) => match fetch::read_blob(&blob, &name).await {
                Ok(bytes) => jobs::import::import(&state, &env, &name, bytes).await,
                Err(e) => post(&FromWorker::Error {
                    message: e.to_string(),
                }),
            },
            Err(_) => post(&FromWorker::Error {
                message: format!("{name} did not reach the worker"),
            }),
        },
    }
}

/// A job from the worker that spawned this one (this worker is its helper).
async fn handle_helper(message: ToHelper, attachment: JsValue) {
    match message {
        ToHelper::ForestJob {
            job,
            n,
            features,
            classes,
            params,
        } => {
            if let Err(problem) =
                super::helpers::hold_job(job, n, features, classes, params, attachment)
            {
                post(&FromWorker::Error { message: problem });
            }
        }
        ToHelper::GrowTree { job, index } => {
            let (message, tree) = super::helpers::grow(job, index);
            post_helper(&message, tree.map(JsValue::from).as_ref())
        }
        ToHelper::ReplicaStart { run, settings } => {
            super::helpers::start_replica(run, settings, attachment)
        }
        ToHelper::ReplicaStep {
            run,
            step,
            channels,
            rows,
            cols,
            labels,
        } => {
            let (message, gradients) = super::helpers::replica_step(
                run,
                step,
                ([channels, rows, cols], labels),
                attachment,
            )
            .await;
            post_helper(&message, gradients.map(JsValue::from).as_ref())
        }
        ToHelper::ReplicaApply {
            run,
            step: _,
            learning_rate,
        } => super::helpers::replica_apply(run, learning_rate, attachment),
        ToHelper::ScoreStart { job, mirror } => {
            super::helpers::start_scorer(job, mirror, attachment)
        }
        ToHelper::ScoreChunk {
            job,
            index,
            channels,
            rows,
            cols,
            images,
        } => {
            let (message, scores) = super::helpers::score_chunk(
                (job, index),
                [channels, rows, cols],
                images,
                attachment,
            )
            .await;
            post_helper(&message, scores.map(JsValue::from).as_ref())
        }
    }
}
