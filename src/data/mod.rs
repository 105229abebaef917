//! Datasets in the IDX layout (Fashion-MNIST, MNIST, KMNIST, ...): parsing, splits, batches, augmentation
//! and the statistics the explorer shows. Pure Rust, no web dependency.

pub mod augment;
pub mod dataset;
pub mod error;
pub mod idx;
pub mod preprocess;
pub mod rng;
pub mod source;
pub mod stats;

pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use idx::{IdxImages, IdxLabels};
