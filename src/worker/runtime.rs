//! The worker's message loop.

use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use super::jobs::{self, JOBS, now_ms};
use super::{backend, fetch, summary};
use crate::data::DataError;
use crate::data::dataset::{Dataset, FileNames, Part, RawFiles};
use crate::protocol::{self, BackendKind, DatasetOrigin, FromWorker, LoadDataset, ToWorker};

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends a message to the page.
fn post(message: &FromWorker) {
    let _ = scope().post_message(&JsValue::from_str(&protocol::encode(message)));
}

/// Sends a message with a transferable attachment (file bytes) beside it.
fn post_with(message: &FromWorker, attachment: &JsValue) {
    let envelope = Array::of2(&JsValue::from_str(&protocol::encode(message)), attachment);
    let _ = scope().post_message(&envelope);
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
        let data = event.data();
        let (text, attachment) = if Array::is_array(&data) {
            let parts: Array = data.unchecked_into();
            (parts.get(0).as_string(), parts.get(1))
        } else {
            (data.as_string(), JsValue::UNDEFINED)
        };
        match text.as_deref().map(protocol::decode::<ToWorker>) {
            // Stop must act while a job is running, so it is handled at once, not queued behind it.
            Some(Ok(ToWorker::Stop)) => jobs::request_stop(),
            Some(Ok(ToWorker::LoseDeviceAfter { batches })) => jobs::lose_device_after(batches),
            Some(Ok(message)) => wasm_bindgen_futures::spawn_local(handle(message, attachment)),
            Some(Err(e)) => post(&FromWorker::Error { message: e }),
            None => post(&FromWorker::Error {
                message: "the worker got a message that is not text".into(),
            }),
        }
    });
    scope().set_onmessage(Some(handler.as_ref().unchecked_ref()));
    handler.forget();
    post(&FromWorker::Ready);
}

async fn handle(message: ToWorker, attachment: JsValue) {
    match message {
        ToWorker::InitBackend { preference } => {
            // Only the page's worker is asked for a backend: it starts the forest helpers.
            super::helpers::spawn();
            let (info, device) = backend::detect(preference).await;
            let label = match info.kind {
                BackendKind::WebGpu => "WebGPU",
                BackendKind::Cpu => "CPU",
            };
            JOBS.with(|j| {
                let mut jobs = j.borrow_mut();
                jobs.device = Some(device);
                jobs.backend_label = label.into();
            });
            post(&FromWorker::Backend(info));
            jobs::restore(&post).await;
        }
        ToWorker::LoadDataset(request) => match load_dataset(&request, attachment).await {
            Ok(dataset) => {
                let grid = summary::sample_grid(&dataset, Part::Train, 10, request.split_seed);
                JOBS.with(|j| j.borrow_mut().dataset = Some(dataset));
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
            if JOBS.with(|j| j.borrow().running) {
                return post(&FromWorker::Error {
                    message: "the split cannot change during a run; stop it first".into(),
                });
            }
            let Some(dataset) = JOBS.with(|j| j.borrow_mut().dataset.take()) else {
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
            JOBS.with(|j| j.borrow_mut().dataset = Some(Rc::new(dataset)));
        }
        ToWorker::Resample {
            part,
            per_class,
            seed,
        } => match JOBS.with(|j| j.borrow().dataset.clone()) {
            Some(dataset) => post(&FromWorker::Samples(summary::sample_grid(
                &dataset, part, per_class, seed,
            ))),
            None => post(&FromWorker::Error {
                message: "no dataset is loaded yet".into(),
            }),
        },
        ToWorker::Train { settings } => jobs::train(settings, &post).await,
        ToWorker::Stop => jobs::request_stop(),
        ToWorker::LoseDeviceAfter { batches } => jobs::lose_device_after(batches),
        ToWorker::TestImages { indices } => post(&jobs::test_images(&indices)),
        ToWorker::Explain {
            model_id,
            test_index,
            class,
            layer,
        } => post(&jobs::explain(&model_id, test_index, class, layer).await),
        ToWorker::Predict {
            label,
            rows,
            cols,
            pixels,
        } => post(&jobs::predict(label, rows, cols, pixels).await),
        ToWorker::DeleteModel { id } => jobs::delete(&id, &post).await,
        ToWorker::ExportModel { id, format } => jobs::export(&id, &format, &post, &post_with).await,
        ToWorker::ForestJob {
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
        ToWorker::GrowTree { job, index } => match super::helpers::grow(job, index) {
            (message, Some(bytes)) => post_with(&message, &bytes),
            (message, None) => post(&message),
        },
        ToWorker::ReplicaStart { run, settings } => {
            super::helpers::start_replica(run, settings, attachment)
        }
        ToWorker::ReplicaStep {
            run,
            step,
            rows,
            cols,
            labels,
        } => {
            match super::helpers::replica_step(run, step, (rows, cols, labels), attachment).await {
                (message, Some(values)) => post_with(&message, &values),
                (message, None) => post(&message),
            }
        }
        ToWorker::ReplicaApply {
            run,
            step: _,
            learning_rate,
        } => super::helpers::replica_apply(run, learning_rate, attachment),
        ToWorker::ImportModel { name } => match attachment.dyn_into::<web_sys::Blob>() {
            Ok(blob) => match fetch::read_blob(&blob, &name).await {
                Ok(bytes) => jobs::import(&name, bytes, &post).await,
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

/// Downloads or reads the four files, parses them and posts the summary. Returns the dataset.
async fn load_dataset(
    request: &LoadDataset,
    attachments: JsValue,
) -> Result<Rc<Dataset>, DataError> {
    let mut contents: Vec<Vec<u8>> = Vec::with_capacity(4);
    let files: Vec<String> = match &request.origin {
        DatasetOrigin::Urls { urls } => {
            let files: Vec<String> = urls
                .iter()
                .map(|u| u.rsplit('/').next().unwrap_or(u).to_string())
                .collect();
            // One after another: the progress bars fill in order, and a missing small file is reported
            // before the big ones are fetched in vain.
            for (url, file) in urls.iter().zip(&files) {
                contents
                    .push(fetch::download(url, file, &|p| post(&FromWorker::Download(p))).await?);
            }
            files
        }
        DatasetOrigin::PickedFiles { names } => {
            let blobs: Array = attachments.dyn_into().map_err(|_| {
                DataError::InvalidOption("the picked files did not reach the worker".into())
            })?;
            for (i, name) in names.iter().enumerate() {
                let blob: web_sys::Blob = blobs.get(i as u32).dyn_into().map_err(|_| {
                    DataError::InvalidOption(format!("{name} did not reach the worker"))
                })?;
                contents.push(fetch::read_blob(&blob, name).await?);
            }
            names.to_vec()
        }
    };
    post(&FromWorker::Parsing);
    let start = now_ms();
    let names = FileNames {
        train_images: files[0].clone(),
        train_labels: files[1].clone(),
        test_images: files[2].clone(),
        test_labels: files[3].clone(),
    };
    let mut contents = contents.into_iter();
    let mut next = || contents.next().unwrap_or_default();
    let raw = RawFiles {
        train_images: next(),
        train_labels: next(),
        test_images: next(),
        test_labels: next(),
    };
    let dataset = Dataset::from_files(
        &names,
        &raw,
        request.class_names.clone(),
        request.validation_per_mille,
        request.split_seed,
    )?;
    let summary = summary::summarise(&dataset, now_ms() - start);
    post(&FromWorker::DatasetReady(Box::new(summary)));
    Ok(Rc::new(dataset))
}
