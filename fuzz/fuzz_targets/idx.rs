//! IDX reading as the app does it: gunzip when gzip, then parse as images and as labels. Any input must
//! give `Ok` or an error, never a panic, an abort or an allocation past the reader's own limits.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../crates/core/src/error.rs"]
mod error;
#[allow(dead_code)]
#[path = "../../crates/core/src/idx.rs"]
mod idx;
// idx.rs names its error `super::DataError`, as in the app's `data` module.
use error::DataError;

use idx::{maybe_gunzip, parse_images, parse_labels};

fuzz_target!(|bytes: &[u8]| {
    if let Ok(raw) = maybe_gunzip("fuzz.gz", bytes) {
        if let Ok(images) = parse_images("fuzz", &raw) {
            // Every image the header announces must be there.
            for i in 0..images.count.min(4) {
                assert_eq!(images.image(i).len(), images.rows * images.cols);
            }
        }
        if let Ok(labels) = parse_labels("fuzz", &raw, 10) {
            assert!(labels.labels.iter().all(|&l| l < 10));
        }
    }
});
