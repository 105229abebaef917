//! Every job run natively against an environment in memory: a train job, an import of a damaged file, a
//! prediction, a lost device, a failed storage write (a notice, never taken for a lost device).

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::rc::Rc;

use crate::env::{Clock, Devices, Helpers, Post, Storage, StoredModel};
use crate::state::WorkerState;
use atelier_core::fixtures::synthetic_28;
use atelier_core::protocol::{BackendKind, FromWorker, RunEnd, TrainSettings};
use atelier_ml::tensor::block_on;

/// The environment of the tests: posts and saved models kept in memory, a clock that ticks a
/// millisecond per reading, a device that can be lost on purpose, no helpers.
#[derive(Default)]
struct MemoryEnv {
    posts: RefCell<Vec<FromWorker>>,
    files: RefCell<Vec<(String, Vec<u8>)>>,
    saved: RefCell<BTreeMap<String, (String, Vec<u8>)>>,
    /// Every save fails with this message.
    save_error: Option<String>,
    clock: Cell<f64>,
    lost: Cell<bool>,
    /// After this many training batches, the user presses Stop in this worker.
    stop_after: Option<(usize, Rc<RefCell<WorkerState>>)>,
    batches: Cell<usize>,
}

impl Post for MemoryEnv {
    fn post(&self, message: &FromWorker) {
        if let (FromWorker::TrainBatch(_), Some((n, state))) = (message, &self.stop_after) {
            self.batches.set(self.batches.get() + 1);
            if self.batches.get() == *n {
                state.borrow_mut().stop = true;
            }
        }
        self.posts.borrow_mut().push(message.clone());
    }

    fn post_file(&self, message: &FromWorker, bytes: Vec<u8>) {
        if let FromWorker::ModelFile { name } = message {
            self.files.borrow_mut().push((name.clone(), bytes));
        }
        self.post(message);
    }
}

impl Clock for MemoryEnv {
    fn now_ms(&self) -> f64 {
        self.clock.set(self.clock.get() + 1.0);
        self.clock.get()
    }

    fn wall_clock_ms(&self) -> f64 {
        1.7e12 + self.now_ms()
    }

    async fn pause(&self) {}
}

impl Storage for MemoryEnv {
    async fn save(&self, id: &str, report_json: &str, weights: &[u8]) -> Result<(), String> {
        if let Some(e) = &self.save_error {
            return Err(e.clone());
        }
        self.saved
            .borrow_mut()
            .insert(id.into(), (report_json.into(), weights.to_vec()));
        Ok(())
    }

    async fn load_all(&self) -> Result<Vec<StoredModel>, String> {
        Ok(self
            .saved
            .borrow()
            .values()
            .map(|(report_json, weights)| StoredModel {
                report_json: report_json.clone(),
                weights: weights.clone(),
            })
            .collect())
    }

    async fn delete(&self, id: &str) -> Result<(), String> {
        self.saved.borrow_mut().remove(id);
        Ok(())
    }
}

impl Devices for MemoryEnv {
    fn lose_device(&self) -> bool {
        self.lost.set(true);
        true
    }

    fn forget_device(&self) {}

    fn injected_fault(&self) -> Option<String> {
        self.lost
            .get()
            .then(|| "the device was lost (simulated)".to_string())
    }

    fn helpers(&self, _limit: Option<usize>) -> Option<Box<dyn Helpers>> {
        None
    }

    fn spawn_helpers(&self, _wanted: usize) {}
}

impl MemoryEnv {
    fn take_posts(&self) -> Vec<FromWorker> {
        std::mem::take(&mut self.posts.borrow_mut())
    }
}

/// A worker holding a 28x28 dataset of four classes made in code.
fn worker() -> RefCell<WorkerState> {
    RefCell::new(WorkerState {
        dataset: Some(Rc::new(synthetic_28(4, 30, 10, 3))),
        backend_label: "CPU".into(),
        ..WorkerState::default()
    })
}

fn settings(model: &str, epochs: usize) -> TrainSettings {
    let mut s = TrainSettings::for_model(model);
    s.epochs = epochs;
    s.batch_size = 16;
    s.augment = false;
    s
}

/// The accuracy of the model a run announced.
fn announced_accuracy(posts: &[FromWorker]) -> Option<f64> {
    posts.iter().find_map(|p| match p {
        FromWorker::ModelReady(r) => Some(r.test_accuracy),
        _ => None,
    })
}

#[test]
fn a_train_job_reports_progress_saves_and_announces_the_model() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("logreg", 3)));
    let posts = env.take_posts();
    assert!(matches!(posts[0], FromWorker::TrainStarted { ref model, .. } if model == "logreg"));
    let batches = posts
        .iter()
        .filter(|p| matches!(p, FromWorker::TrainBatch(_)))
        .count();
    let epochs = posts
        .iter()
        .filter(|p| matches!(p, FromWorker::TrainEpoch(_)))
        .count();
    // 108 training images in batches of 16: 7 batches an epoch.
    assert_eq!((batches, epochs), (21, 3));
    assert!(posts.contains(&FromWorker::Evaluating));
    // Four classes: chance is 0.25; the classes differ by a bright block, easy for a linear model.
    let accuracy = announced_accuracy(&posts).expect("a model was announced");
    assert!(accuracy > 0.8, "test accuracy {accuracy}");
    let state = state.borrow();
    assert_eq!(state.models.len(), 1);
    assert_eq!(state.models[0].report.name, "Logistic regression #1");
    assert!(!state.running);
    assert_eq!(
        env.saved.borrow().len(),
        1,
        "the model was saved for the next visit"
    );
}

#[test]
fn stop_ends_the_run_after_the_batch_and_keeps_the_model() {
    let state = Rc::new(worker());
    let env = MemoryEnv {
        stop_after: Some((3, state.clone())),
        ..MemoryEnv::default()
    };
    block_on(super::train::train(&state, &env, settings("logreg", 3)));
    let posts = env.take_posts();
    let batches = posts
        .iter()
        .filter(|p| matches!(p, FromWorker::TrainBatch(_)))
        .count();
    assert_eq!(batches, 3);
    assert!(
        posts
            .iter()
            .any(|p| matches!(p, FromWorker::ModelReady(r) if r.end == RunEnd::Stopped)),
        "{posts:?}"
    );
    // The Stop of that run does not stop the next one.
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    assert!(
        env.take_posts()
            .iter()
            .any(|p| matches!(p, FromWorker::ModelReady(r) if r.end != RunEnd::Stopped))
    );
    assert_eq!(state.borrow().models.len(), 2);
}

#[test]
fn a_damaged_file_is_refused_and_changes_nothing_and_a_good_one_loads() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    let id = state.borrow().models[0].report.id.clone();
    block_on(super::storage::export(&state, &env, &id, "burnpack"));
    let (name, file) = env.files.borrow()[0].clone();
    assert!(name.ends_with(".bpk"), "{name}");
    env.take_posts();

    let mut damaged = file.clone();
    damaged.truncate(damaged.len() / 2);
    block_on(super::import::import(&state, &env, "half.bpk", damaged));
    let posts = env.take_posts();
    assert_eq!(posts.len(), 1);
    assert!(
        matches!(&posts[0], FromWorker::Error { message } if message.starts_with("half.bpk could not be loaded")),
        "{posts:?}"
    );
    assert_eq!(state.borrow().models.len(), 1, "nothing was added");

    block_on(super::import::import(&state, &env, "good.bpk", file));
    let posts = env.take_posts();
    assert!(
        matches!(&posts[..], [FromWorker::ModelReady(r)] if r.name == "Logistic regression #1 (loaded)"),
        "{posts:?}"
    );
    assert_eq!(state.borrow().models.len(), 2);
}

#[test]
fn a_prediction_answers_for_every_model_that_takes_the_images() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("logreg", 2)));
    block_on(super::train::train(&state, &env, settings("mlp", 2)));
    let dataset = state.borrow().dataset.clone().unwrap();
    let (image, _) = dataset.item(atelier_core::dataset::Part::Test, 5);
    let answer = block_on(super::predict::predict(
        &state,
        &env,
        "picked.png".into(),
        [1, 28, 28],
        image.to_vec(),
    ));
    let FromWorker::Predictions(predictions) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(predictions.label, "picked.png");
    assert_eq!(predictions.models.len(), 2);
    for m in &predictions.models {
        assert_eq!(m.probabilities.len(), 4);
        assert!((m.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-4);
        assert!(m.heatmap.is_none(), "no convolutions, no Grad-CAM");
    }
    // An image of the wrong size is refused with a message.
    let wrong = block_on(super::predict::predict(
        &state,
        &env,
        "x".into(),
        [1, 8, 8],
        vec![0; 64],
    ));
    assert!(matches!(wrong, FromWorker::Error { .. }), "{wrong:?}");
}

#[test]
fn a_lost_device_keeps_the_best_epoch_and_moves_every_model_to_the_cpu() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    env.take_posts();
    // 7 batches an epoch: the device goes in the middle of the second epoch.
    state.borrow_mut().lose_device_after = Some(10);
    block_on(super::train::train(&state, &env, settings("mlp", 3)));
    let posts = env.take_posts();
    let lost = posts.iter().find_map(|p| match p {
        FromWorker::DeviceLost { message } => Some(message.clone()),
        _ => None,
    });
    assert!(
        lost.as_deref()
            .is_some_and(|m| m.contains("The model of epoch 1 was kept")),
        "{lost:?}"
    );
    assert!(
        posts
            .iter()
            .any(|p| matches!(p, FromWorker::Backend(b) if b.kind == BackendKind::Cpu))
    );
    assert!(
        announced_accuracy(&posts).is_some(),
        "the kept epoch was evaluated and announced"
    );
    let state = state.borrow();
    assert_eq!(state.backend_label, "CPU");
    assert_eq!(state.models.len(), 2, "the earlier model came along");
    assert_eq!(state.lose_device_after, None);
}

#[test]
fn a_failed_storage_write_is_a_notice_and_never_a_lost_device() {
    let (state, env) = (
        worker(),
        MemoryEnv {
            save_error: Some("QuotaExceededError: the quota has been exceeded".into()),
            ..MemoryEnv::default()
        },
    );
    state.borrow_mut().backend_label = "WebGPU".into();
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    let posts = env.take_posts();
    let notice = posts.iter().find_map(|p| match p {
        FromWorker::Notice { message } => Some(message.clone()),
        _ => None,
    });
    assert!(
        notice
            .as_deref()
            .is_some_and(|m| m.contains("Browser storage is full")),
        "{posts:?}"
    );
    // The model is kept and announced; the backend stays; no run failed.
    assert!(announced_accuracy(&posts).is_some());
    assert!(!posts.iter().any(|p| matches!(
        p,
        FromWorker::Backend(_) | FromWorker::DeviceLost { .. } | FromWorker::TrainFailed { .. }
    )));
    assert_eq!(state.borrow().backend_label, "WebGPU");
    assert_eq!(state.borrow().models.len(), 1);
}

#[test]
fn saved_models_come_back_after_a_restart_and_deleted_ones_do_not() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    let first = state.borrow().models[0].report.id.clone();
    block_on(super::storage::delete(&state, &env, &first));
    env.take_posts();
    // A new worker (a reload) over the same storage.
    let restarted = worker();
    block_on(super::storage::restore(&restarted, &env));
    let posts = env.take_posts();
    assert!(
        matches!(&posts[..], [FromWorker::ModelReady(r)] if r.name == "Logistic regression #2"),
        "{posts:?}"
    );
    assert_eq!(restarted.borrow().models.len(), 1);
}

#[test]
fn report_material_explains_the_networks_and_names_what_it_could_not_explain() {
    let (state, env) = (worker(), MemoryEnv::default());
    block_on(super::train::train(&state, &env, settings("cnn", 1)));
    block_on(super::train::train(&state, &env, settings("logreg", 1)));
    let ids: Vec<String> = state
        .borrow()
        .models
        .iter()
        .map(|m| m.report.id.clone())
        .collect();
    let pairs = vec![
        (ids[0].clone(), 0),
        (ids[1].clone(), 1),
        ("no-such-model".to_string(), 2),
    ];
    let answer = block_on(super::explain::report_material(
        &state,
        &pairs,
        &[0, 3, 9999],
    ));
    let FromWorker::ReportMaterial(material) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(
        material.explanations.len(),
        1,
        "only the CNN has convolutions"
    );
    let cam = &material.explanations[0];
    assert_eq!(
        (cam.model_id.as_str(), cam.test_index),
        (ids[0].as_str(), 0)
    );
    assert_eq!(cam.heatmap.len(), 28 * 28);
    assert_eq!(material.problems.len(), 2, "{:?}", material.problems);
    assert!(material.problems[0].contains("Logistic regression"));
    let indices: Vec<usize> = material.images.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        indices,
        vec![0, 3],
        "an index past the test set is left out"
    );
    assert!(material.images.iter().all(|(_, p)| p.len() == 28 * 28));
    // Without a dataset the answer still comes, saying why it holds nothing.
    state.borrow_mut().dataset = None;
    let answer = block_on(super::explain::report_material(&state, &pairs, &[0]));
    let FromWorker::ReportMaterial(empty) = answer else {
        panic!("{answer:?}");
    };
    assert!(empty.images.is_empty() && empty.explanations.is_empty());
    assert!(
        empty.problems[0].contains("no dataset"),
        "{:?}",
        empty.problems
    );
}

/// A worker holding Fashion-MNIST-like colour data: the synthetic 28x28 set, tinted.
fn colour_worker() -> RefCell<WorkerState> {
    let gray = synthetic_28(4, 80, 10, 3);
    RefCell::new(WorkerState {
        dataset: Some(Rc::new(atelier_core::colour::colour_dataset(&gray))),
        backend_label: "CPU".into(),
        ..WorkerState::default()
    })
}

#[test]
fn colour_data_trains_explains_and_predicts() {
    let (state, env) = (colour_worker(), MemoryEnv::default());
    let mut cnn = settings("cnn", 5);
    cnn.cnn_channels = vec![8, 16];
    cnn.cnn_dense = 0;
    cnn.cnn_dropout = 0.0;
    // At 0.01 two initial weights in 16 never left chance (0.3); at 0.003 all 16 reached 0.975 or more.
    // The initial weights are not fixed: burn's generator is the process's, and tests on other threads
    // draw from it too.
    cnn.learning_rate = 0.003;
    block_on(super::train::train(&state, &env, cnn));
    let posts = env.take_posts();
    let accuracy = announced_accuracy(&posts).unwrap_or_else(|| panic!("{posts:?}"));
    // Four classes, chance 0.25; the block's place, not its colour, tells them apart.
    assert!(accuracy > 0.6, "CNN on colour data: {accuracy}");
    // A linear model gets little from it: a garment may be lighter or darker than its background.
    block_on(super::train::train(&state, &env, settings("logreg", 3)));
    assert!(announced_accuracy(&env.take_posts()).is_some());
    let id = state.borrow().models[0].report.id.clone();
    match block_on(super::explain::explain(&state, &id, 3, None, None)) {
        FromWorker::Explanation(e) => {
            assert_eq!((e.channels, e.rows, e.cols), (3, 28, 28));
            assert_eq!(e.image.len(), 3 * 784);
            assert_eq!(e.heatmap.len(), 784);
        }
        other => panic!("{other:?}"),
    }
    let dataset = state.borrow().dataset.clone().unwrap();
    let (image, _) = dataset.item(atelier_core::dataset::Part::Test, 5);
    for (channels, pixels) in [(3, image.to_vec()), (1, image[..784].to_vec())] {
        match block_on(super::predict::predict(
            &state,
            &env,
            "photo.png".into(),
            [channels, 28, 28],
            pixels,
        )) {
            FromWorker::Predictions(p) => {
                assert_eq!(p.channels, 3, "a gray picture is repeated in each channel");
                assert_eq!(p.image.len(), 3 * 784);
                assert_eq!(p.models.len(), 2);
                assert!(p.models.iter().any(|m| m.heatmap.is_some()));
            }
            other => panic!("{other:?}"),
        }
    }
    // The gray models of another visit do not take it: a model file for gray data is refused in use.
    let gray_state = worker();
    block_on(super::train::train(
        &gray_state,
        &env,
        settings("logreg", 1),
    ));
    let gray_model = gray_state.borrow().models[0].model.clone();
    assert!(
        gray_model
            .misfit(4, &dataset)
            .unwrap()
            .contains("1 x 28 x 28")
    );
}

/// Small images (8 x 8) train every network that can take them, and a CNN too deep for them is refused
/// with the reason before it starts.
#[test]
fn small_images_train_and_a_network_too_deep_for_them_says_why() {
    use atelier_core::dataset::{Dataset, LabelledImages};
    use atelier_core::idx::IdxImages;
    // Class c lights the quadrant c of an 8 x 8 image.
    let part = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 4) as u8).collect();
        let pixels = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &c)| {
                (0..64).map(move |p| {
                    let (y, x) = (p / 8, p % 8);
                    let quadrant = (y / 4) * 2 + x / 4;
                    if quadrant == c as usize {
                        200 + (i % 50) as u8
                    } else {
                        (i * p % 40) as u8
                    }
                })
            })
            .collect();
        LabelledImages {
            images: IdxImages {
                count: n,
                channels: 1,
                rows: 8,
                cols: 8,
                pixels,
            },
            labels,
        }
    };
    let names = (0..4).map(|c| c.to_string()).collect();
    let dataset = Dataset::from_parts(names, part(160), part(40), 100, 1).unwrap();
    let state = RefCell::new(WorkerState {
        dataset: Some(Rc::new(dataset)),
        backend_label: "CPU".into(),
        ..WorkerState::default()
    });
    let env = MemoryEnv::default();
    for model in ["cnn", "refcnn", "resnet"] {
        let mut s = settings(model, 3);
        s.learning_rate = 0.01;
        block_on(super::train::train(&state, &env, s));
        let posts = env.take_posts();
        let accuracy = announced_accuracy(&posts).unwrap_or_else(|| panic!("{model}: {posts:?}"));
        assert!(accuracy > 0.5, "{model} on 8 x 8: {accuracy}");
    }
    let mut deep = settings("cnn", 1);
    deep.cnn_channels = vec![8, 8, 8, 8];
    block_on(super::train::train(&state, &env, deep));
    let posts = env.take_posts();
    assert!(
        posts
            .iter()
            .any(|p| matches!(p, FromWorker::TrainFailed { message, .. }
            if message.contains("4 blocks") && message.contains("fewer blocks"))),
        "{posts:?}"
    );
}
