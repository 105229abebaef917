//! Small datasets made in code, for the tests of this crate and of the crates above it (the `fixtures`
//! feature turns them on outside this crate's own tests).

use crate::dataset::{Dataset, FileNames, RawFiles};
use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode};

/// A dataset of `per_class` images per class with `classes` classes, 4x4 pixels, made in code:
/// every pixel of an image of class `c` is `c * 20 + item % 7`.
pub fn tiny_raw(classes: u8, per_class: u32, test_per_class: u32) -> RawFiles {
    let make = |n: u32| {
        let labels: Vec<u8> = (0..n * classes as u32)
            .map(|i| (i % classes as u32) as u8)
            .collect();
        let pixels: Vec<u8> = labels
            .iter()
            .enumerate()
            .flat_map(|(i, &l)| std::iter::repeat_n(l * 20 + (i % 7) as u8, 16))
            .collect();
        (
            encode(IMAGES_MAGIC, &[labels.len() as u32, 4, 4], &pixels),
            encode(LABELS_MAGIC, &[labels.len() as u32], &labels),
        )
    };
    let (train_images, train_labels) = make(per_class);
    let (test_images, test_labels) = make(test_per_class);
    RawFiles {
        train_images,
        train_labels,
        test_images,
        test_labels,
    }
}

/// A 28x28 dataset made in code: class 0 is faint noise; class `c > 0` adds a bright 6x6 block whose
/// position depends on the class (class 1: the top-left corner). Seeded.
pub fn synthetic_28(classes: u8, per_class: u32, test_per_class: u32, seed: u64) -> Dataset {
    synthetic_28_split(classes, per_class, test_per_class, seed, 100)
}

/// [`synthetic_28`] with the validation share (per mille) chosen.
pub fn synthetic_28_split(
    classes: u8,
    per_class: u32,
    test_per_class: u32,
    seed: u64,
    validation_per_mille: u32,
) -> Dataset {
    let mut rng = crate::rng::SplitMix64::new(seed);
    let mut make = |n: u32| {
        let labels: Vec<u8> = (0..n * classes as u32)
            .map(|i| (i % classes as u32) as u8)
            .collect();
        let mut pixels = Vec::with_capacity(labels.len() * 784);
        for &label in &labels {
            let mut image: Vec<u8> = (0..784).map(|_| rng.below(40) as u8).collect();
            if label > 0 {
                let (top, left) = (
                    2 + 6 * ((label as usize - 1) / 3),
                    2 + 8 * ((label as usize - 1) % 3),
                );
                for y in top..top + 6 {
                    for x in left..left + 6 {
                        image[y * 28 + x] = 200 + rng.below(55) as u8;
                    }
                }
            }
            pixels.extend(image);
        }
        (
            encode(IMAGES_MAGIC, &[labels.len() as u32, 28, 28], &pixels),
            encode(LABELS_MAGIC, &[labels.len() as u32], &labels),
        )
    };
    let (train_images, train_labels) = make(per_class);
    let (test_images, test_labels) = make(test_per_class);
    let raw = RawFiles {
        train_images,
        train_labels,
        test_images,
        test_labels,
    };
    Dataset::from_files(
        &FileNames::default(),
        &raw,
        names(classes as usize),
        validation_per_mille,
        seed,
    )
    .unwrap()
}

fn names(n: usize) -> Vec<String> {
    (0..n).map(|i| i.to_string()).collect()
}
