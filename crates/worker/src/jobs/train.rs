//! Training: fits a model in the worker with live progress, evaluates it on the test set, saves and
//! announces it; a lost GPU keeps the best epoch and moves the worker to the CPU backend.

use std::cell::RefCell;
use std::rc::Rc;

use burn::module::Module;
use burn::tensor::Device;

use super::storage::persist;
use crate::env::{Env, Helpers};
use crate::state::{HeldModel, WorkerState};
use atelier_core::dataset::Dataset;
use atelier_core::protocol::{BackendInfo, BackendKind, FromWorker, TrainSettings};
use atelier_ml::classical::fit::{self, FitSpec};
use atelier_ml::error::TrainError;
use atelier_ml::evaluation;
use atelier_ml::host::{TrainEvent, TrainHost, TreeHelpers};
use atelier_ml::model::Trained;
use atelier_ml::parallel::GradientHelpers;
use atelier_ml::report::{self, RunFacts};

/// The training host inside the worker: posts progress, honours Stop, yields between batches.
struct WorkerHost<'a, E: Env> {
    state: &'a RefCell<WorkerState>,
    env: &'a E,
    helpers: Option<Box<dyn Helpers>>,
}

impl<E: Env> TrainHost for WorkerHost<'_, E> {
    fn now_ms(&self) -> f64 {
        self.env.now_ms()
    }

    fn should_stop(&self) -> bool {
        self.state.borrow().stop
    }

    fn report(&mut self, event: TrainEvent) {
        match event {
            TrainEvent::Batch(b) => {
                self.env
                    .post(&FromWorker::TrainBatch(report::batch_point(&b)));
                let mut state = self.state.borrow_mut();
                let left = state.lose_device_after.map(|n| n.saturating_sub(1));
                state.lose_device_after = left.filter(|&n| n > 0);
                if left == Some(0) {
                    drop(state);
                    self.env.lose_device();
                }
            }
            TrainEvent::Epoch(e) => self
                .env
                .post(&FromWorker::TrainEpoch(report::epoch_point(&e))),
        }
    }

    async fn pause(&self) {
        self.env.pause().await;
    }

    async fn wait_for_helpers(&self) {
        self.env.wait_for_helpers().await;
    }

    fn injected_fault(&self) -> Option<String> {
        self.env.injected_fault()
    }

    fn tree_helpers(&mut self) -> Option<&mut dyn TreeHelpers> {
        match &mut self.helpers {
            Some(h) => Some(h.as_mut()),
            None => None,
        }
    }

    fn gradient_helpers(&mut self) -> Option<&mut dyn GradientHelpers> {
        match &mut self.helpers {
            Some(h) => Some(h.as_mut()),
            None => None,
        }
    }
}

/// Trains, evaluates, saves and announces a model.
pub async fn train(state: &RefCell<WorkerState>, env: &impl Env, settings: TrainSettings) {
    let ready = {
        let mut s = state.borrow_mut();
        if s.running {
            Err("a run is already going; stop it first".to_string())
        } else if let Some(dataset) = s.dataset.clone() {
            s.running = true;
            s.stop = false;
            Ok((dataset, s.device(), s.backend_label.clone()))
        } else {
            Err("the dataset is not loaded yet; wait for it, then train".to_string())
        }
    };
    let (dataset, device, backend) = match ready {
        Ok(ready) => ready,
        Err(message) => {
            return env.post(&FromWorker::TrainFailed {
                message,
                device_lost: false,
            });
        }
    };
    let result = run_training(state, env, &settings, &dataset, &device, &backend).await;
    state.borrow_mut().running = false;
    let Err(e) = result else { return };
    match e.device_lost() {
        Some(message) => {
            switch_to_cpu(state, env, message);
            env.post(&FromWorker::TrainFailed {
                message: format!(
                    "The compute device failed ({message}) before this run had a finished epoch to keep. Atelier \
                     now uses the CPU backend: press Train to go on there."
                ),
                device_lost: true,
            })
        }
        // Bad settings, a file that could not be written: the device is fine, the backend stays.
        None => env.post(&FromWorker::TrainFailed {
            message: e.to_string(),
            device_lost: false,
        }),
    }
}

/// The parameters of the network a run trains (0 for the models without, and for a network that cannot
/// take the images: the run then fails with the reason).
fn parameters_of(spec: &FitSpec, dataset: &Dataset) -> usize {
    let FitSpec::Network(config) = spec else {
        return 0;
    };
    let options = config.options.clone().for_dataset(dataset);
    if config.architecture.misfit(&options).is_some() {
        return 0;
    }
    config
        .architecture
        .init(
            dataset.classes(),
            &options,
            &atelier_ml::backend::cpu_device(),
        )
        .num_params()
}

async fn run_training(
    state: &RefCell<WorkerState>,
    env: &impl Env,
    settings: &TrainSettings,
    dataset: &Dataset,
    device: &Device,
    backend: &str,
) -> Result<(), TrainError> {
    let spec = report::fit_spec(settings).map_err(TrainError::Config)?;
    let (batches_per_epoch, epochs) = spec.plan(dataset);
    env.post(&FromWorker::TrainStarted {
        model: spec.key().into(),
        backend: backend.into(),
        epochs,
        batches_per_epoch,
        parameters: parameters_of(&spec, dataset),
    });
    // More workers than the browser reports cores: start the missing helpers (they join once loaded).
    env.spawn_helpers(settings.workers.saturating_sub(1));
    let mut host = WorkerHost {
        state,
        env,
        helpers: env.helpers((settings.workers > 0).then(|| settings.workers - 1)),
    };
    let outcome = match &settings.features_from {
        None => fit::fit(&spec, dataset, device, &mut host).await?,
        Some(base_id) => {
            let base = state
                .borrow()
                .model(base_id)
                .filter(|m| m.model.misfit(m.report.per_class.len(), dataset).is_none())
                .and_then(|m| match m.model.as_ref() {
                    Trained::Network { network, options }
                        if network.architecture().is_convolutional() =>
                    {
                        Some((network.clone(), options.clone()))
                    }
                    _ => None,
                });
            let base = base.ok_or_else(|| {
                TrainError::Config(
                    "the network whose features were chosen is gone or does not take this dataset's images; pick another one or pixels"
                        .into(),
                )
            })?;
            fit::fit_on_features(&spec, &base.0, &base.1, dataset, device, &mut host).await?
        }
    };
    if let Some(message) = &outcome.device_lost {
        // The best epoch's weights came back to the CPU; the run ends there as if stopped.
        switch_to_cpu(state, env, message);
        env.post(&FromWorker::DeviceLost {
            message: format!(
                "The GPU stopped working during training ({message}). The model of epoch {} was kept and is \
                 evaluated on the CPU backend, which Atelier uses from now on: press Train to go on there.",
                outcome.best_epoch
            ),
        });
    }
    let parameters = outcome.model.parameters();
    env.post(&FromWorker::Evaluating);
    // After a lost GPU the model came back to the CPU.
    let device = match outcome.device_lost {
        Some(_) => atelier_ml::backend::cpu_device(),
        None => device.clone(),
    };
    let evaluation = evaluation::evaluate_test(
        &outcome.model,
        dataset.classes(),
        settings.tta,
        &device,
        dataset,
        settings.test_size,
        &mut host,
    )
    .await?;
    let name = state.borrow().next_name(spec.key());
    let created_ms = env.wall_clock_ms();
    // A model trained or grown by helper workers too says on how many workers (only on the CPU backend).
    let backend = match outcome.helpers_used {
        0 => backend.to_string(),
        helpers => format!("CPU, {} Web Workers", helpers + 1),
    };
    let facts = RunFacts {
        id: format!("{}-{}", spec.key(), created_ms as u64),
        name,
        backend,
        settings,
        stopped: outcome.stopped,
        epochs: &outcome.epochs,
        best_epoch: outcome.best_epoch,
        parameters,
        train_seconds: outcome.train_seconds,
        samples_seen: outcome.samples_seen,
        created_ms,
    };
    let mut report = report::model_report(facts, &evaluation, dataset.classes());
    let weights = outcome
        .model
        .to_file(dataset.classes(), &report::file_metadata(&report))
        .await?;
    report.size_bytes = weights.len();
    persist(env, &report, &weights).await;
    state.borrow_mut().models.push(HeldModel {
        report: report.clone(),
        model: Rc::new(outcome.model),
        file: Rc::new(weights),
    });
    env.post(&FromWorker::ModelReady(Box::new(report)));
    Ok(())
}

/// After the GPU failed: the CPU backend from now on, and every held model re-read onto it from its file
/// (their weights on the GPU are gone). Says so in the backend line.
pub fn switch_to_cpu(state: &RefCell<WorkerState>, env: &impl Env, reason: &str) {
    env.forget_device();
    let cpu = atelier_ml::backend::cpu_device();
    let mut unreadable = Vec::new();
    {
        let mut s = state.borrow_mut();
        s.device = Some(cpu.clone());
        s.backend_label = "CPU".into();
        for held in s.models.iter_mut() {
            match Trained::from_file(&held.file, &cpu) {
                Ok(loaded) => held.model = Rc::new(loaded.model),
                Err(e) => unreadable.push(format!("{}: {e}", held.report.name)),
            }
        }
    }
    for problem in unreadable {
        env.post(&FromWorker::Notice {
            message: format!("A model could not be moved to the CPU backend ({problem})."),
        });
    }
    env.post(&FromWorker::Backend(BackendInfo {
        kind: BackendKind::Cpu,
        adapter: None,
        reason: format!(
            "The GPU was lost ({reason}), so Atelier moved to the CPU backend and took the trained models \
             with it. Reload the page to try the GPU again."
        ),
    }));
}
