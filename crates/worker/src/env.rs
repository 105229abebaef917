//! What the worker's jobs need from the world around them, as small traits: posting to the page, a clock,
//! the saved-model storage, and the compute device's failures and helpers. The browser's implementation
//! is `web::WebEnv`; native tests use one in memory, so every job runs in `cargo test`.

use std::future::Future;

use atelier_core::protocol::FromWorker;
use atelier_ml::host::TreeHelpers;
use atelier_ml::parallel::GradientHelpers;

/// Messages to the page.
pub trait Post {
    fn post(&self, message: &FromWorker);
    /// A message with a file's bytes beside it (`ModelFile`).
    fn post_file(&self, message: &FromWorker, bytes: Vec<u8>);
}

/// Time, and a way to let other work run.
pub trait Clock {
    /// Milliseconds on a monotonic clock.
    fn now_ms(&self) -> f64;
    /// Milliseconds since the Unix epoch (when a model was made).
    fn wall_clock_ms(&self) -> f64;
    /// Lets the message loop run (a Stop message is handled) before the job goes on.
    fn pause(&self) -> impl Future<Output = ()>;
    /// Waits while helpers work: resolves when one of them answers (or fails), or after a short while
    /// so that a Stop message is seen; by default, as [`Clock::pause`].
    fn wait_for_helpers(&self) -> impl Future<Output = ()> {
        self.pause()
    }
}

/// A saved model as it comes back from storage.
pub struct StoredModel {
    pub report_json: String,
    pub weights: Vec<u8>,
}

/// The models saved for the next visit. Errors are the storage's own words.
pub trait Storage {
    fn save(
        &self,
        id: &str,
        report_json: &str,
        weights: &[u8],
    ) -> impl Future<Output = Result<(), String>>;
    fn load_all(&self) -> impl Future<Output = Result<Vec<StoredModel>, String>>;
    fn delete(&self, id: &str) -> impl Future<Output = Result<(), String>>;
}

/// True when a storage error is the browser saying the quota is used up.
pub fn is_quota_error(message: &str) -> bool {
    message.contains("QuotaExceededError") || message.to_ascii_lowercase().contains("quota")
}

/// Helper workers that grow trees and train copies of a network beside this worker.
pub trait Helpers: TreeHelpers + GradientHelpers {}
impl<T: TreeHelpers + GradientHelpers> Helpers for T {}

/// The compute device's failures, and the helpers.
pub trait Devices {
    /// Destroys the GPU device in use, as a driver reset would (the `?lose_device_after=N` test aid);
    /// false when there is none.
    fn lose_device(&self) -> bool;
    /// Forgets the GPU device after it was lost.
    fn forget_device(&self);
    /// A device failure the environment makes up instead of a real one (native tests); None on the web,
    /// where a destroyed device fails its next readback by itself.
    fn injected_fault(&self) -> Option<String> {
        None
    }
    /// Helpers for a run, at most `limit` of them (None: all); None when there are none.
    fn helpers(&self, limit: Option<usize>) -> Option<Box<dyn Helpers>>;
    /// Starts helpers up to `wanted` (more than one per extra core when asked for).
    fn spawn_helpers(&self, wanted: usize);
}

/// Everything a job may need.
pub trait Env: Post + Clock + Storage + Devices {}
impl<T: Post + Clock + Storage + Devices> Env for T {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_errors_are_recognised() {
        assert!(is_quota_error(
            "QuotaExceededError: The quota has been exceeded."
        ));
        assert!(!is_quota_error("NotFoundError: gone"));
    }
}
