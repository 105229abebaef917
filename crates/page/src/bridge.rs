//! The page's end of the worker: spawns it, sends `ToWorker`, turns its posts into `FromWorker`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Array;
use wasm_bindgen::prelude::*;
use web_sys::{ErrorEvent, MessageEvent, Worker};
use yew::Callback;

use atelier_core::protocol::{self, FromWorker, ToWorker, TrainSettings};

/// The worker script Trunk writes next to the page (`data-loader-shim` on the worker's rust link).
pub const WORKER_SCRIPT: &str = "./worker_loader.js";

/// A running worker. Dropping it terminates the worker.
pub struct WorkerBridge {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(ErrorEvent)>,
}

impl WorkerBridge {
    /// Starts the worker; its messages go to `on_message`, a failure to load or run it to `on_failure`.
    /// A message may carry an attachment (a model file's bytes); it is passed along, else `undefined`.
    pub fn spawn(
        on_message: Callback<(FromWorker, JsValue)>,
        on_failure: Callback<String>,
    ) -> Result<Self, String> {
        let worker = Worker::new(WORKER_SCRIPT)
            .map_err(|e| format!("the browser refused to start the worker: {e:?}"))?;
        let failure = on_failure.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            let (text, attachment) = if Array::is_array(&data) {
                let parts: Array = data.unchecked_into();
                (parts.get(0).as_string(), parts.get(1))
            } else {
                (data.as_string(), JsValue::UNDEFINED)
            };
            match text.map(|text| protocol::decode::<FromWorker>(&text)) {
                Some(Ok(message)) => on_message.emit((message, attachment)),
                Some(Err(e)) => failure.emit(e),
                None => failure.emit("the worker sent a message that is not text".into()),
            }
        });
        let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
            event.prevent_default();
            on_failure.emit(format!(
                "The background worker failed ({}). Reload the page; if it happens again, rebuild the site.",
                if event.message().is_empty() { "it could not be loaded".to_string() } else { event.message() }
            ));
        });
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(Self {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }

    /// Sends a message.
    pub fn send(&self, message: &ToWorker) {
        let _ = self
            .worker
            .post_message(&JsValue::from_str(&protocol::encode(message)));
    }

    /// Sends a message with one object beside it (a file).
    pub fn send_with_attachment(&self, message: &ToWorker, attachment: &JsValue) {
        let envelope = Array::of2(&JsValue::from_str(&protocol::encode(message)), attachment);
        let _ = self.worker.post_message(&envelope);
    }

    /// Sends a message with files beside it (the worker reads them itself).
    pub fn send_with_files(&self, message: &ToWorker, files: &[web_sys::File]) {
        let attached: Array = files.iter().collect();
        let envelope = Array::of2(&JsValue::from_str(&protocol::encode(message)), &attached);
        let _ = self.worker.post_message(&envelope);
    }
}

/// Offers bytes to the user as a file download.
pub fn download_bytes(name: &str, bytes: &JsValue) -> Result<(), String> {
    let describe = |e: JsValue| format!("{e:?}");
    let parts = Array::of1(bytes);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/octet-stream");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)
        .map_err(describe)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(describe)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let anchor: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(describe)?
        .dyn_into()
        .map_err(|_| "not an anchor")?;
    anchor.set_href(&url);
    anchor.set_download(name);
    anchor.click();
    web_sys::Url::revoke_object_url(&url).map_err(describe)
}

impl Drop for WorkerBridge {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The page's handle on its worker, shared by the containers: the bridge of the current worker (none
/// while it starts, or after it failed). Two handles are equal when they share the bridge.
#[derive(Clone, Default)]
pub struct WorkerHandle(Rc<RefCell<Option<WorkerBridge>>>);

impl PartialEq for WorkerHandle {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl WorkerHandle {
    /// Holds a newly spawned worker (terminating the one before), or none.
    pub fn set(&self, bridge: Option<WorkerBridge>) {
        *self.0.borrow_mut() = bridge;
    }

    /// Sends a message; without a worker it is dropped (the page shows why elsewhere).
    pub fn send(&self, message: &ToWorker) {
        if let Some(b) = self.0.borrow().as_ref() {
            b.send(message);
        }
    }

    /// Sends a message with one object beside it (a file). False without a worker.
    pub fn send_with_attachment(&self, message: &ToWorker, attachment: &JsValue) -> bool {
        self.0
            .borrow()
            .as_ref()
            .map(|b| b.send_with_attachment(message, attachment))
            .is_some()
    }

    /// Sends a message with files beside it. False without a worker.
    pub fn send_with_files(&self, message: &ToWorker, files: &[web_sys::File]) -> bool {
        self.0
            .borrow()
            .as_ref()
            .map(|b| b.send_with_files(message, files))
            .is_some()
    }

    /// Starts a run; with `?lose_device_after=N` the worker first arms the lost-device test.
    pub fn train(&self, settings: TrainSettings, lose_device_after: Option<usize>) {
        if let Some(batches) = lose_device_after {
            self.send(&ToWorker::LoseDeviceAfter { batches });
        }
        self.send(&ToWorker::Train {
            settings: Box::new(settings),
        });
    }
}
