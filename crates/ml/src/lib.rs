//! Models, training, metrics and explanations, on burn; and the reports the page shows of them
//! (`report`, in the protocol's types). Takes the device as an argument: only the worker chooses
//! WebGPU or the CPU.

pub mod adam;
pub mod backend;
pub mod classical;
pub mod classifier;
pub mod error;
pub mod evaluation;
pub mod gpu_conv;
pub mod gradcam;
pub mod host;
pub mod kernels;
pub mod matmul;
pub mod metrics;
pub mod model;
pub mod nn;
pub mod parallel;
pub mod report;
pub mod store;
pub mod tensor;
pub mod train;
pub mod vectors;
pub mod winograd;
