//! The Web Worker: owns the dataset, the compute device and the trained models, and runs every heavy job
//! off the page's thread. The one place that names a concrete backend.
//!
//! Everything here compiles natively too (web-sys and burn do), so `cargo clippy` checks it; only the
//! worker binary on wasm32 calls [`start`].

mod backend;
mod clock;
mod decode;
pub mod env;
mod envelope;
mod fetch;
mod helper_protocol;
mod helpers;
mod idb;
pub mod jobs;
mod load;
mod runtime;
pub mod state;
pub mod summary;
mod web;

pub use runtime::start;
