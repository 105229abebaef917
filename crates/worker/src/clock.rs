//! The worker's clocks: a leaf module, so the jobs and the backend probe can both read them without
//! importing each other.

use wasm_bindgen::JsCast;
use web_sys::WorkerGlobalScope;

/// Milliseconds on the worker's monotonic clock.
pub fn now_ms() -> f64 {
    let scope: WorkerGlobalScope = js_sys::global().unchecked_into();
    scope.performance().map(|p| p.now()).unwrap_or_default()
}

/// Milliseconds since the Unix epoch, for the dates users read (when a model was made).
pub fn wall_clock_ms() -> f64 {
    js_sys::Date::now()
}
