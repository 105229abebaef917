//! Helpers: more Web Workers running this same worker script, so work spreads over every core the
//! browser offers (`navigator.hardwareConcurrency`). The worker spawns them when it starts.
//!
//! - Forests: each helper gets a forest's data once ([`ToHelper::ForestJob`]) and then tree indices
//!   ([`ToHelper::GrowTree`]), and answers with the grown tree ([`FromHelper::TreeGrown`]). Trees are
//!   seeded by index, so the forest is the same whoever grew which tree. A helper that fails gives its
//!   tree back to the worker to grow.
//! - Networks on the CPU backend (data parallelism, `ml::parallel`): each helper holds a copy of the
//!   network ([`ToHelper::ReplicaStart`]), computes the gradients of its part of every batch
//!   ([`ToHelper::ReplicaStep`], [`FromHelper::ReplicaGradients`]) and applies the averaged ones
//!   ([`ToHelper::ReplicaApply`]). A helper that fails leaves the run; the worker does its part.
//! - Scoring on the CPU backend (`ml::evaluation::evaluate_shared`): each helper holds a copy of the
//!   model's file ([`ToHelper::ScoreStart`]) and scores the chunks of images it is handed
//!   ([`ToHelper::ScoreChunk`], [`FromHelper::Scored`]). A helper that fails leaves its chunks to the
//!   worker.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Function, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker, WorkerGlobalScope};

use crate::helper_protocol::{FromHelper, ToHelper};
use atelier_core::dataset::Batch;
use atelier_core::protocol::{self, FromWorker};
use atelier_ml::classical::forest::{BinnedData, Forest, ForestParams, Tree, ValidForestParams};
use atelier_ml::evaluation::Scorer;
use atelier_ml::host::TreeHelpers;
use atelier_ml::parallel::{GradientHelpers, PartGradients, Replica, StepSettings};

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
    /// The training step whose gradients it is computing, if any.
    computing: Option<usize>,
    /// The chunks of the current evaluation it holds.
    scoring: Vec<usize>,
    /// The array its last gradients came in: the averaged ones go back in it.
    spare: Option<Float32Array>,
}

#[derive(Default)]
struct Pool {
    helpers: Vec<Helper>,
    /// The current forest: its id and its message with the data, for helpers that become ready later.
    job: u64,
    job_message: Option<(String, Uint8Array)>,
    /// At most this many helpers take part in the current forest.
    job_limit: usize,
    grown: VecDeque<(usize, Tree)>,
    lost: Vec<usize>,
    /// The current data-parallel run, the helpers (pool indexes) taking part, and their answers as
    /// (member number, step, gradients).
    run: u64,
    members: Vec<usize>,
    answers: Vec<(usize, usize, Result<PartGradients, String>)>,
    /// The current evaluation, the helpers (pool indexes) scoring it, and their answers as (scorer
    /// number, chunk, class probabilities).
    evaluation: u64,
    scorers: Vec<usize>,
    scores: Vec<ScoreAnswer>,
    /// The worker's wait for answers ([`wait_for_answers`]), resolved by the next one.
    waiting: Option<Function>,
}

type ScoreAnswer = (usize, usize, Result<Vec<f32>, String>);

/// A helper's copy of a model to score with, shared by the chunks being scored; or why there is none.
type HeldScorer = Result<Rc<Scorer>, String>;

thread_local! {
    static POOL: Rc<RefCell<Pool>> = Rc::new(RefCell::new(Pool::default()));
    /// The forest a helper holds: job id, binned data, settings.
    static HELD: RefCell<Option<(u64, BinnedData, ValidForestParams)>> = const { RefCell::new(None) };
    /// The network copy a helper holds: its run, and the copy or why there is none.
    static REPLICA: RefCell<Option<(u64, Result<Replica, String>)>> = const { RefCell::new(None) };
    /// The model copy a helper scores with: its evaluation, and the copy or why there is none.
    static SCORER: RefCell<Option<(u64, HeldScorer)>> = const { RefCell::new(None) };
    /// In a helper: the array the last averaged gradients came in, for its next gradients.
    static SPARE: RefCell<Option<Float32Array>> = const { RefCell::new(None) };
}

fn global_field(path: &[&str]) -> JsValue {
    path.iter()
        .fold(js_sys::global().into(), |v: JsValue, key| {
            Reflect::get(&v, &(*key).into()).unwrap_or(JsValue::UNDEFINED)
        })
}

/// Starts helpers, by the main worker only: `cores - 1` (none on one core), or `wanted` when that is more
/// (the user asked for more workers than the browser reports cores), at most [`MAX_HELPERS`]. A later call
/// starts only the ones missing.
pub fn spawn(wanted: usize) {
    let cores = global_field(&["navigator", "hardwareConcurrency"])
        .as_f64()
        .unwrap_or(1.0) as usize;
    let Some(script) = global_field(&["location", "href"]).as_string() else {
        return;
    };
    let count = cores.saturating_sub(1).max(wanted).min(MAX_HELPERS);
    POOL.with(|pool| {
        let have = pool.borrow().helpers.len();
        for i in have..count {
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
                computing: None,
                scoring: Vec::new(),
                spare: None,
            });
        }
    });
}

/// The longest the worker waits for helpers before it looks again (at the Stop flag), ms.
const WAIT_MS: i32 = 50;

/// In the worker: waits until a helper answers or fails, a Stop arrives, or [`WAIT_MS`] pass. Waiting
/// for the event instead of polling by zero-delay timeouts lets the answer be taken at once, and leaves
/// the core to the helpers meanwhile.
pub async fn wait_for_answers() {
    let promise = Promise::new(&mut |resolve, _| {
        let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, WAIT_MS);
        POOL.with(|pool| pool.borrow_mut().waiting = Some(resolve));
    });
    let _ = JsFuture::from(promise).await;
    POOL.with(|pool| pool.borrow_mut().waiting = None);
}

/// Ends the worker's wait for answers, if it is waiting.
pub fn wake() {
    POOL.with(|pool| wake_pool(&mut pool.borrow_mut()));
}

fn wake_pool(pool: &mut Pool) {
    if let Some(resolve) = pool.waiting.take() {
        let _ = resolve.call0(&JsValue::UNDEFINED);
    }
}

/// A helper failed: it is not used again, and its tree goes back to the worker.
fn fail(state: &Rc<RefCell<Pool>>, i: usize) {
    let mut pool = state.borrow_mut();
    wake_pool(&mut pool);
    let helper = &mut pool.helpers[i];
    helper.dead = true;
    let computing = helper.computing.take();
    let scoring = std::mem::take(&mut helper.scoring);
    if let Some(index) = helper.growing.take() {
        pool.lost.push(index);
    }
    if let Some(scorer) = pool.scorers.iter().position(|&m| m == i) {
        for index in scoring {
            pool.scores
                .push((scorer, index, Err("the helper worker failed".into())));
        }
    }
    if let (Some(step), Some(member)) = (computing, pool.members.iter().position(|&m| m == i)) {
        pool.answers
            .push((member, step, Err("the helper worker failed".into())));
    }
}

/// A helper's message, and the worker's wait for answers ended.
fn receive(state: &Rc<RefCell<Pool>>, i: usize, data: JsValue) {
    take_in(state, i, data);
    wake_pool(&mut state.borrow_mut());
}

fn take_in(state: &Rc<RefCell<Pool>>, i: usize, data: JsValue) {
    let (text, attachment) = crate::envelope::unpack(data);
    let Some(text) = text else { return };
    // A helper says Ready and Panicked as any worker does; its answers are helper messages.
    match protocol::decode::<FromWorker>(&text) {
        Ok(FromWorker::Ready) => {
            let mut pool = state.borrow_mut();
            pool.helpers[i].ready = true;
            let job = pool.job;
            let taking_part = pool
                .helpers
                .iter()
                .filter(|h| h.job == job && !h.dead)
                .count();
            if let (Some((message, bytes)), true) =
                (pool.job_message.clone(), taking_part < pool.job_limit)
            {
                send_job(&mut pool.helpers[i], job, &message, &bytes);
            }
            return;
        }
        Ok(FromWorker::Panicked { .. }) => return fail(state, i),
        _ => {}
    }
    match protocol::decode::<FromHelper>(&text) {
        Ok(FromHelper::TreeGrown {
            job,
            index,
            problem,
        }) => {
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
        Ok(FromHelper::ReplicaGradients {
            run,
            step,
            loss,
            correct,
            problem,
        }) => {
            let mut pool = state.borrow_mut();
            pool.helpers[i].computing = None;
            let member = pool.members.iter().position(|&m| m == i);
            let (Some(member), true) = (member, run == pool.run) else {
                return; // An earlier run's answer (that run was stopped).
            };
            let answer = match (problem, attachment.dyn_into::<Float32Array>()) {
                (None, Ok(values)) => {
                    let part = PartGradients {
                        values: values.to_vec(),
                        loss,
                        correct,
                    };
                    pool.helpers[i].spare = Some(values);
                    Ok(part)
                }
                (Some(problem), _) => Err(problem),
                (None, Err(_)) => Err("the gradients did not arrive".into()),
            };
            pool.answers.push((member, step, answer));
        }
        Ok(FromHelper::Scored {
            job,
            index,
            problem,
        }) => {
            let mut pool = state.borrow_mut();
            pool.helpers[i].scoring.retain(|&c| c != index);
            let scorer = pool.scorers.iter().position(|&m| m == i);
            let (Some(scorer), true) = (scorer, job == pool.evaluation) else {
                return; // An earlier evaluation's answer.
            };
            let answer = match (problem, attachment.dyn_into::<Float32Array>()) {
                (None, Ok(values)) => Ok(values.to_vec()),
                (Some(problem), _) => Err(problem),
                (None, Err(_)) => Err("the scores did not arrive".into()),
            };
            pool.scores.push((scorer, index, answer));
        }
        Err(_) => {}
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

/// The worker's side of the helpers, handed to the forest's fit loop and the networks' training loop.
#[derive(Default)]
pub struct Helpers {
    /// At most this many helpers train a network or grow a forest beside the worker (None: all).
    pub limit: Option<usize>,
}

/// Posts a message with a copy of `values` beside it, in `spare` if it fits (the copy's buffer moves
/// with it).
fn post_with_floats(
    worker: &Worker,
    message: &ToHelper,
    values: &[f32],
    spare: Option<Float32Array>,
) -> bool {
    let array = crate::envelope::floats_in(values, spare);
    let (envelope, transfer) = crate::envelope::pack_moving(&protocol::encode(message), &array);
    worker
        .post_message_with_transfer(&envelope, &transfer)
        .is_ok()
}

/// Posts a message with a batch's pixels beside it.
fn post_batch(worker: &Worker, message: &ToHelper, batch: &Batch) -> bool {
    post_with_floats(worker, message, &batch.pixels, None)
}

/// Helper number `number` of a job's `members` (pool indexes), unless it failed.
fn living<'a>(
    helpers: &'a mut [Helper],
    members: &[usize],
    number: usize,
) -> Option<&'a mut Helper> {
    members
        .get(number)
        .map(|&i| &mut helpers[i])
        .filter(|h| !h.dead)
}

/// Posts a message with its bytes beside it to each ready, living helper, at most `limit` of them (None:
/// all); returns the pool indexes of those it reached.
fn post_to_ready(
    pool: &mut Pool,
    limit: Option<usize>,
    message: &ToHelper,
    bytes: &[u8],
) -> Vec<usize> {
    let message = JsValue::from_str(&protocol::encode(message));
    let array = Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    let limit = limit.unwrap_or(usize::MAX);
    let mut reached = Vec::new();
    for (i, helper) in pool.helpers.iter().enumerate() {
        if reached.len() < limit
            && helper.ready
            && !helper.dead
            && helper
                .worker
                .post_message(&Array::of2(&message, &array))
                .is_ok()
        {
            reached.push(i);
        }
    }
    reached
}

impl GradientHelpers for Helpers {
    fn begin(&mut self, weights: &[u8], settings: StepSettings) -> usize {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.run += 1;
            pool.answers.clear();
            let run = pool.run;
            let message = ToHelper::ReplicaStart { run, settings };
            let members = post_to_ready(&mut pool, self.limit, &message, weights);
            for &i in &members {
                pool.helpers[i].computing = None;
            }
            pool.members = members;
            pool.members.len()
        })
    }

    fn compute(&mut self, helper: usize, step: usize, part: &Batch) -> bool {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let run = pool.run;
            let Pool {
                helpers, members, ..
            } = &mut *pool;
            let Some(h) = living(helpers, members, helper) else {
                return false;
            };
            let message = ToHelper::ReplicaStep {
                run,
                step,
                channels: part.channels,
                rows: part.rows,
                cols: part.cols,
                labels: part.labels.clone(),
            };
            let sent = post_batch(&h.worker, &message, part);
            h.computing = sent.then_some(step);
            sent
        })
    }

    fn collect(&mut self) -> Vec<(usize, usize, Result<PartGradients, String>)> {
        POOL.with(|pool| std::mem::take(&mut pool.borrow_mut().answers))
    }

    fn begin_scoring(&mut self, file: &[u8], mirror: bool) -> usize {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            pool.evaluation += 1;
            pool.scores.clear();
            let job = pool.evaluation;
            let message = ToHelper::ScoreStart { job, mirror };
            let scorers = post_to_ready(&mut pool, self.limit, &message, file);
            for &i in &scorers {
                pool.helpers[i].scoring.clear();
            }
            pool.scorers = scorers;
            pool.scorers.len()
        })
    }

    fn score(&mut self, helper: usize, index: usize, chunk: &Batch) -> bool {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let job = pool.evaluation;
            let Pool {
                helpers, scorers, ..
            } = &mut *pool;
            let Some(h) = living(helpers, scorers, helper) else {
                return false;
            };
            let message = ToHelper::ScoreChunk {
                job,
                index,
                channels: chunk.channels,
                rows: chunk.rows,
                cols: chunk.cols,
                images: chunk.len(),
            };
            let sent = post_batch(&h.worker, &message, chunk);
            if sent {
                h.scoring.push(index);
            }
            sent
        })
    }

    fn collect_scores(&mut self) -> Vec<ScoreAnswer> {
        POOL.with(|pool| std::mem::take(&mut pool.borrow_mut().scores))
    }

    fn apply(&mut self, helpers: &[usize], step: usize, gradients: &[f32], learning_rate: f64) {
        POOL.with(|pool| {
            let mut pool = pool.borrow_mut();
            let message = ToHelper::ReplicaApply {
                run: pool.run,
                step,
                learning_rate,
            };
            let Pool {
                helpers: all,
                members,
                ..
            } = &mut *pool;
            for &member in helpers {
                if let Some(h) = members.get(member).map(|&i| &mut all[i]) {
                    let spare = h.spare.take();
                    post_with_floats(&h.worker, &message, gradients, spare);
                }
            }
        })
    }
}

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
            let message = protocol::encode(&ToHelper::ForestJob {
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
            let limit = self.limit.unwrap_or(usize::MAX);
            pool.job_limit = limit;
            for helper in pool.helpers.iter_mut().filter(|h| !h.dead).take(limit) {
                send_job(helper, job, &message, &bytes);
            }
            pool.job_message = Some((message, bytes));
            pool.helpers.iter().filter(|h| !h.dead).count().min(limit)
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
            let message = protocol::encode(&ToHelper::GrowTree { job, index });
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
pub fn grow(job: u64, index: usize) -> (FromHelper, Option<Uint8Array>) {
    HELD.with(|held| match held.borrow().as_ref() {
        Some((held_job, data, params)) if *held_job == job => {
            let mut forest = Forest::new(data);
            forest.trees.push(atelier_ml::classical::forest::grow_tree(
                data, params, index,
            ));
            let bytes = forest.to_bytes();
            let array = Uint8Array::new_with_length(bytes.len() as u32);
            array.copy_from(&bytes);
            (
                FromHelper::TreeGrown {
                    job,
                    index,
                    problem: None,
                },
                Some(array),
            )
        }
        _ => (
            FromHelper::TreeGrown {
                job,
                index,
                problem: Some("this helper does not hold that forest's data".into()),
            },
            None,
        ),
    })
}

/// In a helper: takes a copy of a network for a data-parallel run.
pub fn start_replica(run: u64, settings: StepSettings, attachment: JsValue) {
    let replica = attachment
        .dyn_into::<Uint8Array>()
        .map_err(|_| "the network's weights did not arrive".to_string())
        .and_then(|bytes| Replica::new(&bytes.to_vec(), settings));
    REPLICA.with(|r| *r.borrow_mut() = Some((run, replica)));
}

/// In a helper: the gradients of the held copy on a part of a batch; the answer and the gradients to
/// send with it.
pub async fn replica_step(
    run: u64,
    step: usize,
    ([channels, rows, cols], labels): ([usize; 3], Vec<u8>),
    attachment: JsValue,
) -> (FromHelper, Option<Float32Array>) {
    let answer = |problem: String| {
        let message = FromHelper::ReplicaGradients {
            run,
            step,
            loss: 0.0,
            correct: 0.0,
            problem: Some(problem),
        };
        (message, None)
    };
    let pixels = match attachment.dyn_into::<Float32Array>() {
        Ok(p) if p.length() as usize == channels * rows * cols * labels.len() => p.to_vec(),
        _ => return answer("the images did not arrive whole".into()),
    };
    // Taken out while it works (the borrow is not held across an await), put back after.
    let held = REPLICA.with(|r| r.borrow_mut().take());
    let mut replica = match held {
        Some((held_run, Ok(replica))) if held_run == run => replica,
        Some((_, Err(problem))) => return answer(problem),
        _ => return answer("this helper holds no copy of that network".into()),
    };
    let batch = Batch {
        pixels,
        labels,
        channels,
        rows,
        cols,
    };
    let result = replica.gradients(&batch).await;
    REPLICA.with(|r| *r.borrow_mut() = Some((run, Ok(replica))));
    match result {
        Ok(part) => (
            FromHelper::ReplicaGradients {
                run,
                step,
                loss: part.loss,
                correct: part.correct,
                problem: None,
            },
            Some(crate::envelope::floats_in(
                &part.values,
                SPARE.with(|s| s.borrow_mut().take()),
            )),
        ),
        Err(e) => answer(e.to_string()),
    }
}

/// In a helper: the step every copy takes. A failure is kept and given as the answer to the next part.
pub fn replica_apply(run: u64, learning_rate: f64, attachment: JsValue) {
    REPLICA.with(|r| {
        let mut held = r.borrow_mut();
        let Some((held_run, Ok(replica))) = held.as_mut() else {
            return;
        };
        if *held_run != run {
            return;
        }
        let result = attachment
            .dyn_into::<Float32Array>()
            .map_err(|_| "the averaged gradients did not arrive".to_string())
            .and_then(|values| {
                let averaged = values.to_vec();
                SPARE.with(|s| *s.borrow_mut() = Some(values));
                replica.apply(&averaged, learning_rate)
            });
        if let Err(problem) = result {
            *held = Some((run, Err(problem)));
        }
    });
}

/// In a helper: takes a copy of a model to score chunks of evaluation `job` with.
pub fn start_scorer(job: u64, mirror: bool, attachment: JsValue) {
    let scorer = attachment
        .dyn_into::<Uint8Array>()
        .map_err(|_| "the model's file did not arrive".to_string())
        .and_then(|bytes| Scorer::new(&bytes.to_vec(), mirror).map(Rc::new));
    SCORER.with(|s| *s.borrow_mut() = Some((job, scorer)));
}

/// In a helper: the class probabilities of a chunk of images; the answer and the probabilities to send
/// with it.
pub async fn score_chunk(
    (job, index): (u64, usize),
    [channels, rows, cols]: [usize; 3],
    images: usize,
    attachment: JsValue,
) -> (FromHelper, Option<Float32Array>) {
    let answer = |problem: Option<String>| FromHelper::Scored {
        job,
        index,
        problem,
    };
    let pixels = match attachment.dyn_into::<Float32Array>() {
        Ok(p) if p.length() as usize == channels * rows * cols * images => p.to_vec(),
        _ => return (answer(Some("the images did not arrive whole".into())), None),
    };
    // A shared handle, so that a chunk that arrives while another is scored finds the copy too.
    let held = SCORER.with(|s| match s.borrow().as_ref() {
        Some((held_job, Ok(scorer))) if *held_job == job => Ok(scorer.clone()),
        Some((held_job, Err(problem))) if *held_job == job => Err(problem.clone()),
        _ => Err("this helper holds no copy of that model".to_string()),
    });
    let scorer = match held {
        Ok(scorer) => scorer,
        Err(problem) => return (answer(Some(problem)), None),
    };
    let batch = Batch {
        pixels,
        labels: vec![0; images],
        channels,
        rows,
        cols,
    };
    match scorer.score(&batch).await {
        Ok(probabilities) => (answer(None), Some(Float32Array::from(&probabilities[..]))),
        Err(e) => (answer(Some(e.to_string())), None),
    }
}
