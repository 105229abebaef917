//! Atelier's core, with no burn and no web dependency: datasets (IDX files such as Fashion-MNIST, MNIST,
//! KMNIST; CIFAR's binaries; Fashion-MNIST in colour) with their parsing, splits, batches, augmentation
//! and statistics; the picture pipeline of the Predict tab; the training settings with their defaults and
//! ranges; and the messages between the page and the worker. The page, the ml crate and the worker all build on it.

pub mod archive;
pub mod augment;
pub mod cifar;
pub mod colour;
pub mod dataset;
pub mod defaults;
pub mod error;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod idx;
pub mod import;
pub mod preprocess;
pub mod protocol;
pub mod rng;
pub mod saved;
pub mod source;
pub mod stats;
pub mod study;

pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use idx::{IdxImages, IdxLabels};
