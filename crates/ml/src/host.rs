//! The environment a run reports to and takes help from: the events of training, the host trait (a
//! clock, a stop flag, a sink for events, a way to yield) and the helpers a host may offer. The worker
//! implements it in the browser; [`NativeHost`] serves tests and the benchmark. Names only the models'
//! helper-facing types, never the training loop.

use std::future::Future;

use serde::{Deserialize, Serialize};

use crate::classical::forest::{ForestParams, Tree};
use crate::parallel::GradientHelpers;

/// What the loop reports as it goes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum TrainEvent {
    Batch(BatchReport),
    Epoch(EpochReport),
}

/// One training step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchReport {
    pub epoch: usize,
    pub batch: usize,
    pub batches_per_epoch: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub learning_rate: f64,
    /// Training throughput so far (steps only, validation excluded).
    pub samples_per_second: f64,
    /// Seconds spent in training steps so far.
    pub train_seconds: f64,
}

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochReport {
    pub epoch: usize,
    pub train_loss: f64,
    pub train_accuracy: f64,
    /// None when the dataset has no validation part (a 0% split): there is nothing to report.
    pub validation_loss: Option<f64>,
    pub validation_accuracy: Option<f64>,
    /// True when this epoch has the best validation accuracy so far (its weights are kept); every epoch
    /// without a validation part.
    pub best: bool,
}

/// The environment of a run: a clock, a stop flag, a sink for events and a way to yield.
pub trait TrainHost {
    /// Milliseconds from any fixed origin.
    fn now_ms(&self) -> f64;
    /// True once the user asked to stop.
    fn should_stop(&self) -> bool;
    fn report(&mut self, event: TrainEvent);
    /// Lets the host run other work (a worker's message handler) between batches.
    fn pause(&self) -> impl Future<Output = ()>;
    /// Waits while only helpers have work: until one answers, or briefly (a Stop is then seen). By
    /// default, as [`TrainHost::pause`].
    fn wait_for_helpers(&self) -> impl Future<Output = ()> {
        self.pause()
    }
    /// A device failure the host simulates (native tests of the lost-device path); the real one comes
    /// from the device as a failed readback.
    fn injected_fault(&self) -> Option<String> {
        None
    }
    /// Workers that can grow a forest's trees beside this one (the page's Web Workers); None: none.
    fn tree_helpers(&mut self) -> Option<&mut dyn TreeHelpers> {
        None
    }
    /// Workers that can train copies of a network beside this one on the CPU backend; None: none.
    fn gradient_helpers(&mut self) -> Option<&mut dyn GradientHelpers> {
        None
    }
}

/// Other threads of execution (Web Workers) that grow trees of the forest being fitted. Trees are seeded
/// by index, so a helper's tree is the one this thread would have grown.
pub trait TreeHelpers {
    /// Hands the data and settings of a new forest to the helpers; returns how many there are.
    fn begin(
        &mut self,
        pixels: &[u8],
        labels: &[u8],
        features: usize,
        classes: usize,
        params: &ForestParams,
    ) -> usize;
    /// Gives tree `index` to a free helper; false when none is free (or ready) now.
    fn request(&mut self, index: usize) -> bool;
    /// The trees helpers finished since the last call, with their indices.
    fn collect(&mut self) -> Vec<(usize, Tree)>;
    /// Indices given to helpers that failed: this thread grows them.
    fn lost(&mut self) -> Vec<usize> {
        Vec::new()
    }
}

/// A host for native use (tests, benchmarks): wall clock, never stops, keeps events, yields nothing.
#[derive(Default)]
pub struct NativeHost {
    pub events: Vec<TrainEvent>,
    /// Print a line per epoch.
    pub verbose: bool,
    /// Stop after this many batches (tests of the Stop path).
    pub stop_after_batches: Option<usize>,
    /// Batches reported so far.
    pub batches: usize,
    /// Fail as a lost device would after this many batches (tests of the lost-device path).
    pub lose_device_after_batches: Option<usize>,
    /// Helpers training copies of a network beside this thread (the benchmark's `--parallel`).
    pub gradient_helpers: Option<Box<dyn GradientHelpers>>,
}

impl TrainHost for NativeHost {
    fn now_ms(&self) -> f64 {
        use std::sync::OnceLock;
        static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
        ORIGIN
            .get_or_init(std::time::Instant::now)
            .elapsed()
            .as_secs_f64()
            * 1000.0
    }

    fn should_stop(&self) -> bool {
        self.stop_after_batches.is_some_and(|n| self.batches >= n)
    }

    fn report(&mut self, event: TrainEvent) {
        if let TrainEvent::Batch(_) = &event {
            self.batches += 1;
        }
        if self.verbose
            && let TrainEvent::Epoch(e) = &event
        {
            let validation = match (e.validation_loss, e.validation_accuracy) {
                (Some(loss), Some(accuracy)) => format!("val loss {loss:.4} acc {accuracy:.4}"),
                _ => "no validation part".to_string(),
            };
            // The clock since training began: per-epoch throughput, warm-up (a GPU's shader
            // compilation and autotuning) apart.
            println!(
                "epoch {:>3}: train loss {:.4} acc {:.4} | {validation}{} [{:.1} s]",
                e.epoch + 1,
                e.train_loss,
                e.train_accuracy,
                if e.best { " (best)" } else { "" },
                self.now_ms() / 1000.0
            );
        }
        self.events.push(event);
    }

    async fn pause(&self) {}

    fn injected_fault(&self) -> Option<String> {
        self.lose_device_after_batches
            .filter(|&n| self.batches >= n)
            .map(|_| "the device was lost (simulated)".to_string())
    }

    fn gradient_helpers(&mut self) -> Option<&mut dyn GradientHelpers> {
        match &mut self.gradient_helpers {
            Some(h) => Some(h.as_mut()),
            None => None,
        }
    }
}

/// A test host with helpers of either kind beside a [`NativeHost`].
#[cfg(test)]
pub(crate) struct HelpedHost<T> {
    pub inner: NativeHost,
    pub helpers: T,
}

/// What a [`HelpedHost`]'s helpers are.
#[cfg(test)]
pub(crate) trait TestHelpers {
    fn trees(&mut self) -> Option<&mut dyn TreeHelpers> {
        None
    }
    fn gradients(&mut self) -> Option<&mut dyn GradientHelpers> {
        None
    }
}

#[cfg(test)]
impl<T: TestHelpers> TrainHost for HelpedHost<T> {
    fn now_ms(&self) -> f64 {
        self.inner.now_ms()
    }
    fn should_stop(&self) -> bool {
        self.inner.should_stop()
    }
    fn report(&mut self, event: TrainEvent) {
        self.inner.report(event)
    }
    async fn pause(&self) {}
    fn tree_helpers(&mut self) -> Option<&mut dyn TreeHelpers> {
        self.helpers.trees()
    }
    fn gradient_helpers(&mut self) -> Option<&mut dyn GradientHelpers> {
        self.helpers.gradients()
    }
}
