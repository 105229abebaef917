//! Forest helpers: more Web Workers running this same worker script, so a random forest grows on every
//! core the browser offers (`navigator.hardwareConcurrency`). The worker spawns them when it starts; each
//! gets a forest's data once ([`ToWorker::ForestJob`]) and then tree indices ([`ToWorker::GrowTree`]),
//! and answers with the grown tree ([`FromWorker::TreeGrown`]). Trees are seeded by index, so the forest
//! is the same whoever grew which tree. A helper that fails gives its tree back to the worker to grow.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::ml::classical::fit::TreeHelpers;
use crate::ml::classical::forest::{BinnedData, Forest, ForestParams, Tree, ValidForestParams};
use crate::protocol::{self, FromWorker, ToWorker};

/// At most this many helpers, whatever the core count.
const MAX_HELPERS: usize = 7;

struct Helper {
    worker: Worker,
    ready: bool,
    dead: bool,
    /// The tree it is growing, if any.
    growing: Option<usize>,
    /// The job whose data it holds.
    job: u64,
}

#[derive(Default)]
struct Pool {
    helpers: Vec<Helper>,
    /// The current forest: its id and its message with the data, for helpers that become ready later.
    job: u64,
    job_message: Option<(String, Uint8Array)>,
    grown: VecDeque<(usize, Tree)>,
    lost: Vec<usize>,
}

thread_local! {
    static POOL: Rc<RefCell<Pool>> = Rc::new(RefCell::new(Pool::default()));
    /// The forest a helper holds: job id, binned data, settings.
    static HELD: RefCell<Option<(u64, BinnedData, ValidForestParams)>> = const { RefCell::new(None) };
}

fn global_field(path: &[&str]) -> JsValue {
    path.iter()
        .fold(js_sys::global().into(), |v: JsValue, key| {
            Reflect::get(&v, &(*key).into()).unwrap_or(JsValue::UNDEFINED)
        })
}

/// Starts `cores - 1` helpers (none on one core), by the main worker only; a second call (the page asks
/// for a backend again) keeps the helpers it has.
pub fn spawn() {
    if POOL.with(|pool| !pool.borrow().helpers.is_empty()) {
        return;
    }
    let cores = global_field(&["navigator", "hardwareConcurrency"])
        .as_f64()
        .unwrap_or(1.0) as usize;
    let Some(script) = global_field(&["location", "href"]).as_string() else {
        return;
    };
    let count = cores.saturating_sub(1).min(MAX_HELPERS);
    POOL.with(|pool| {
        for i in 0..count {
            let Ok(worker) = Worker::new(&script) else {
                return;
            };
            let state = pool.clone();
            let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                receive(&state, i, event.data());
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            on_message.forget();
            let state = pool.clone();
            let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_| fail(&state, i));
            worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
            on_error.forget();
            pool.borrow_mut().helpers.push(Helper {
                worker,
                ready: false,
                dead: false,
                growing: None,
                job: 0,
            });
        }
    });
}

/// A helper failed: it is not used again, and its tree goes back to the worker.
fn fail(state: &Rc<RefCell<Pool>>, i: usize) {
    let mut pool = state.borrow_mut();
    let helper = &mut pool.helpers[i];
    helper.dead = true;
    if let Some(index) = helper.growing.take() {
        pool.lost.push(index);
    }
}

fn receive(state: &Rc<RefCell<Pool>>, i: usize, data: JsValue) {
    let (text, attachment) = if Array::is_array(&data) {
        let parts: Array = data.unchecked_into();
        (parts.get(0).as_string(), parts.get(1))
    } else {
        (data.as_string(), JsValue::UNDEFINED)
    };
    match text.as_deref().map(protocol::decode::<FromWorker>) {
        Some(Ok(FromWorker::Ready)) => {
            let mut pool = state.borrow_mut();
            pool.helpers[i].ready = true;
            let job = pool.job;
            if let Some((message, bytes)) = pool.job_message.clone() {
                send_job(&mut pool.helpers[i], job, &message, &bytes);
            }
        }
        Some(Ok(FromWorker::TreeGrown {
            job,
            index,
            problem,
        })) => {
            let mut pool = state.borrow_mut();
            pool.helpers[i].growing = None;
            if job != pool.job {
                return; // An earlier forest's tree (that run was stopped).
            }
            let tree = match (problem, attachment.dyn_into::<Uint8Array>()) {
                (None, Ok(bytes)) => Forest::from_bytes(&bytes.to_vec())
                    .ok()
                    .and_then(|mut f| f.trees.pop()),
                _ => None,
            };
            match tree {
                Some(tree) => pool.grown.push_back((index, tree)),
                None => pool.lost.push(index),
            }
        }
        Some(Ok(FromWorker::Panicked { .. })) => fail(state, i),
        _ => {}
    }
}

fn send_job(helper: &mut Helper, job: u64, message: &str, bytes: &Uint8Array) {
    if helper.dead || !helper.ready {
        return;
    }
    let envelope = Array::of2(&JsValue::from_str(message), bytes);
    if helper.worker.post_message(&envelope).is_ok() {
        helper.job = job;
    }
}

/// The worker's side of the helpers, handed to the forest's fit loop.
#[derive(Default)]
pub struct Helpers;

impl TreeHelpers for Helpers {
    fn begin(
        &mut self,
        pixels: &[u8],
        labels: &[u8],
        features: usize,
        classes: usize,
        params: &ForestParams,
    ) -> usize {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            if pool.helpers.iter().all(|h| h.dead) {
                return 0;
            }
            pool.job += 1;
            pool.grown.clear();
            pool.lost.clear();
            let job = pool.job;
            let message = protocol::encode(&ToWorker::ForestJob {
                job,
                n: labels.len(),
                features,
                classes,
                params: params.clone(),
            });
            let bytes = Uint8Array::new_with_length((labels.len() + pixels.len()) as u32);
            bytes.subarray(0, labels.len() as u32).copy_from(labels);
            bytes
                .subarray(labels.len() as u32, bytes.length())
                .copy_from(pixels);
            for helper in pool.helpers.iter_mut() {
                send_job(helper, job, &message, &bytes);
            }
            pool.job_message = Some((message, bytes));
            pool.helpers.iter().filter(|h| !h.dead).count()
        })
    }

    fn request(&mut self, index: usize) -> bool {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let job = pool.job;
            let Some(helper) = pool
                .helpers
                .iter_mut()
                .find(|h| h.ready && !h.dead && h.growing.is_none() && h.job == job)
            else {
                return false;
            };
            let message = protocol::encode(&ToWorker::GrowTree { job, index });
            if helper
                .worker
                .post_message(&JsValue::from_str(&message))
                .is_err()
            {
                helper.dead = true;
                return false;
            }
            helper.growing = Some(index);
            true
        })
    }

    fn collect(&mut self) -> Vec<(usize, Tree)> {
        POOL.with(|pool| pool.borrow_mut().grown.drain(..).collect())
    }

    fn lost(&mut self) -> Vec<usize> {
        POOL.with(|pool| std::mem::take(&mut pool.borrow_mut().lost))
    }
}

/// In a helper: keeps a forest's data, binned, for the trees asked next.
pub fn hold_job(
    job: u64,
    n: usize,
    features: usize,
    classes: usize,
    params: ForestParams,
    attachment: JsValue,
) -> Result<(), String> {
    let bytes = attachment
        .dyn_into::<Uint8Array>()
        .map_err(|_| "the forest's data did not arrive".to_string())?
        .to_vec();
    if bytes.len() != n * (features + 1) || features == 0 || classes == 0 {
        return Err("the forest's data has the wrong size".into());
    }
    let valid = params.check(features).map_err(|e| e.to_string())?;
    let (labels, pixels) = bytes.split_at(n);
    if labels.iter().any(|&l| l as usize >= classes) {
        return Err("a label is past the class count".into());
    }
    let data = BinnedData::new(pixels, labels, features, classes, valid.params.bins);
    HELD.with(|h| *h.borrow_mut() = Some((job, data, valid)));
    Ok(())
}

/// In a helper: grows tree `index` of the held forest; the answer and the one-tree file to send with it.
pub fn grow(job: u64, index: usize) -> (FromWorker, Option<Uint8Array>) {
    HELD.with(|held| match held.borrow().as_ref() {
        Some((held_job, data, params)) if *held_job == job => {
            let mut forest = Forest::new(data);
            forest
                .trees
                .push(crate::ml::classical::forest::grow_tree(data, params, index));
            let bytes = forest.to_bytes();
            let array = Uint8Array::new_with_length(bytes.len() as u32);
            array.copy_from(&bytes);
            (
                FromWorker::TreeGrown {
                    job,
                    index,
                    problem: None,
                },
                Some(array),
            )
        }
        _ => (
            FromWorker::TreeGrown {
                job,
                index,
                problem: Some("this helper does not hold that forest's data".into()),
            },
            None,
        ),
    })
}
