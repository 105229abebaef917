//! The worker's environment in the browser: posts through the worker's global scope, keeps models in
//! IndexedDB, reads the performance clock, yields through a zero-delay timeout, destroys and forgets the
//! WebGPU device, and hands out the helper workers.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, WorkerGlobalScope};

use crate::env::{Clock, Devices, Helpers, Post, Storage, StoredModel};
use atelier_core::protocol::{self, FromWorker};

/// The browser's environment (it holds nothing: everything it reaches is global to the worker).
pub struct WebEnv;

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

impl Post for WebEnv {
    fn post(&self, message: &FromWorker) {
        let _ = scope().post_message(&JsValue::from_str(&protocol::encode(message)));
    }

    fn post_file(&self, message: &FromWorker, bytes: Vec<u8>) {
        let attachment = Uint8Array::from(bytes.as_slice());
        let envelope = Array::of2(&JsValue::from_str(&protocol::encode(message)), &attachment);
        let _ = scope().post_message(&envelope);
    }
}

impl Clock for WebEnv {
    fn now_ms(&self) -> f64 {
        crate::clock::now_ms()
    }

    fn wall_clock_ms(&self) -> f64 {
        crate::clock::wall_clock_ms()
    }

    /// Resolves after a zero-delay timeout: the event loop runs in between, so a Stop message is handled.
    async fn pause(&self) {
        let promise = Promise::new(&mut |resolve, _| {
            let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
            let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
        });
        let _ = JsFuture::from(promise).await;
    }
}

impl Storage for WebEnv {
    async fn save(&self, id: &str, report_json: &str, weights: &[u8]) -> Result<(), String> {
        crate::idb::save(id, report_json, weights).await
    }

    async fn load_all(&self) -> Result<Vec<StoredModel>, String> {
        crate::idb::load_all().await
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        crate::idb::delete(id).await
    }
}

impl Devices for WebEnv {
    fn lose_device(&self) -> bool {
        crate::backend::lose_device()
    }

    fn forget_device(&self) {
        crate::backend::forget_device()
    }

    fn helpers(&self, limit: Option<usize>) -> Option<Box<dyn Helpers>> {
        Some(Box::new(crate::helpers::Helpers { limit }))
    }

    fn spawn_helpers(&self, wanted: usize) {
        crate::helpers::spawn(wanted)
    }
}
