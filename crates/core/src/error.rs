//! Errors from reading a dataset.

use thiserror::Error;

/// Everything that can go wrong while turning downloaded bytes into a dataset.
///
/// Each message names the file and says what to do, because it is shown to the user as it is.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum DataError {
    /// The gzip stream could not be decompressed.
    #[error(
        "{file} is not a valid gzip file ({reason}); re-run setup or pick the original .gz file"
    )]
    BadGzip { file: String, reason: String },
    /// The file ends before the header or the data it announces.
    #[error(
        "{file} is truncated: expected {expected} bytes, got {got}; re-run setup or download it again"
    )]
    Truncated {
        file: String,
        expected: u64,
        got: u64,
    },
    /// The file is longer than its header says.
    #[error(
        "{file} has {extra} bytes after the data its header announces; it is not an IDX file of this kind"
    )]
    TrailingBytes { file: String, extra: u64 },
    /// The magic number does not say "unsigned bytes, N dimensions".
    #[error(
        "{file} has the wrong magic number 0x{got:08x} (expected 0x{expected:08x}); is it the right file? re-run setup"
    )]
    WrongMagic {
        file: String,
        expected: u32,
        got: u32,
    },
    /// A dimension of zero, or images of a different size than the rest of the dataset.
    #[error("{file} has unusable dimensions {dims:?}: {reason}")]
    BadDimensions {
        file: String,
        dims: Vec<u32>,
        reason: String,
    },
    /// Images and labels disagree on how many items there are.
    #[error(
        "{images_file} holds {images} images but {labels_file} holds {labels} labels; the files do not belong together"
    )]
    CountMismatch {
        images_file: String,
        images: usize,
        labels_file: String,
        labels: usize,
    },
    /// A label is not one of the dataset's classes.
    #[error("{file} has label {label} at item {index}, but the dataset has only {classes} classes")]
    LabelOutOfRange {
        file: String,
        label: u8,
        index: usize,
        classes: usize,
    },
    /// A download failed before any parsing.
    #[error(
        "could not download {file}: {reason}; check that setup placed it under static/data/, then retry"
    )]
    Download { file: String, reason: String },
    /// Options that cannot produce a dataset (an empty validation fraction, for example).
    #[error("invalid dataset option: {0}")]
    InvalidOption(String),
}
