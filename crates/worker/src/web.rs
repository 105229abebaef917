//! The worker's environment in the browser: posts through the worker's global scope, keeps models in
//! IndexedDB, reads the performance clock, yields through a message to itself, destroys and forgets the
//! WebGPU device, and hands out the helper workers.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, MessageChannel, WorkerGlobalScope};

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

    /// Resolves after a message this worker sends itself: the event loop runs in between, so a Stop
    /// message is handled.
    async fn pause(&self) {
        let promise = Promise::new(&mut |resolve, _| {
            if !YIELD.with(|y| y.as_ref().is_some_and(|y| y.post(resolve.clone()))) {
                let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
                let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
            }
        });
        let _ = JsFuture::from(promise).await;
    }

    async fn wait_for_helpers(&self) {
        crate::helpers::wait_for_answers().await;
    }
}

/// Yields through a message channel whose both ends are this worker's. A zero-delay timeout does not
/// come back at once: browsers hold a timeout set from within five nested ones for at least 4 ms (HTML's
/// timer nesting rule), and a training loop that yields after every batch is always that deep (measured
/// in this Chromium: 4.0 ms a yield by timeout, 0.006 ms by message).
struct Yield {
    channel: MessageChannel,
    /// The pauses waiting, first first: each message sent resolves one.
    waiting: Rc<RefCell<VecDeque<Function>>>,
    _on_message: Closure<dyn FnMut()>,
}

impl Yield {
    fn new() -> Option<Self> {
        let channel = MessageChannel::new().ok()?;
        let waiting: Rc<RefCell<VecDeque<Function>>> = Rc::default();
        let queue = waiting.clone();
        let on_message = Closure::<dyn FnMut()>::new(move || {
            let next = queue.borrow_mut().pop_front();
            if let Some(resolve) = next {
                let _ = resolve.call0(&JsValue::UNDEFINED);
            }
        });
        // Setting the handler starts the port.
        channel
            .port1()
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        Some(Self {
            channel,
            waiting,
            _on_message: on_message,
        })
    }

    /// Sends the message that will call `resolve`; false when it could not be sent.
    fn post(&self, resolve: Function) -> bool {
        self.waiting.borrow_mut().push_back(resolve);
        let sent = self
            .channel
            .port2()
            .post_message(&JsValue::UNDEFINED)
            .is_ok();
        if !sent {
            self.waiting.borrow_mut().pop_back();
        }
        sent
    }
}

thread_local! {
    static YIELD: Option<Yield> = Yield::new();
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
