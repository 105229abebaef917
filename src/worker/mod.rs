//! The Web Worker: owns the dataset, the compute device and the trained models, and runs every heavy job
//! off the page's thread. The one place that names a concrete backend.
//!
//! Everything here compiles natively too (web-sys and burn do), so `cargo clippy` checks it; only the
//! worker binary on wasm32 calls [`start`].

mod backend;
mod fetch;
mod helpers;
mod jobs;
pub mod report;
mod runtime;
mod storage;
pub mod summary;

pub use runtime::start;
