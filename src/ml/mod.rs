//! Models, training, metrics and explanations. Takes the device as an argument: only the worker chooses
//! WebGPU or the CPU.

pub mod backend;
pub mod classical;
pub mod gradcam;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod parallel;
pub mod store;
pub mod train;
