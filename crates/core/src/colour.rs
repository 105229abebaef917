//! Fashion-MNIST in colour, built from the gray set: each garment tinted and set on a background, both
//! colours drawn per image from a seeded generator and independent of the class, so a colour model has to
//! learn shape, not colour. Nothing to download beyond the gray files.

use crate::dataset::{Dataset, LabelledImages};
use crate::idx::IdxImages;
use crate::rng::SplitMix64;

/// The seed of the colours (the year Fashion-MNIST was published); every visit draws the same colours.
pub const COLOUR_SEED: u64 = 2017;

/// The least difference in brightness (0-255 scale, Rec. 601 luma) between a garment and its background,
/// so that every garment stays visible.
const MIN_CONTRAST: f64 = 64.0;

/// A random colour pair (garment, background) for one image.
fn colour_pair(rng: &mut SplitMix64) -> ([f64; 3], [f64; 3]) {
    let luma = |c: &[f64; 3]| 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2];
    let mut draw = || [0; 3].map(|_| rng.below(256) as f64);
    loop {
        let (garment, background) = (draw(), draw());
        if (luma(&garment) - luma(&background)).abs() >= MIN_CONTRAST {
            return (garment, background);
        }
    }
}

/// Tints one set: image `i` gets the colours of generator `seed ^ (i * odd constant)` so an image's colours
/// do not depend on which others are loaded.
pub fn tint(images: &IdxImages, seed: u64) -> IdxImages {
    assert_eq!(images.channels, 1, "tint takes gray images");
    let plane = images.rows * images.cols;
    let mut pixels = Vec::with_capacity(images.count * 3 * plane);
    for i in 0..images.count {
        let mut rng = SplitMix64::new(seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let (garment, background) = colour_pair(&mut rng);
        let gray = images.image(i);
        for c in 0..3 {
            pixels.extend(gray.iter().map(|&g| {
                let a = g as f64 / 255.0;
                (background[c] + (garment[c] - background[c]) * a).round() as u8
            }));
        }
    }
    IdxImages {
        count: images.count,
        channels: 3,
        rows: images.rows,
        cols: images.cols,
        pixels,
    }
}

/// The colour version of a gray dataset, with the same labels, classes and split.
pub fn colour_dataset(gray: &Dataset) -> Dataset {
    let part = |set: &LabelledImages, seed: u64| LabelledImages {
        images: tint(&set.images, seed),
        labels: set.labels.clone(),
    };
    Dataset {
        class_names: gray.class_names.clone(),
        train_file: part(&gray.train_file, COLOUR_SEED),
        test: part(&gray.test, COLOUR_SEED.wrapping_add(1)),
        split: gray.split.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::FileNames;
    use crate::fixtures::tiny_raw;

    #[test]
    fn colours_keep_the_shape_differ_per_image_and_repeat() {
        let names = (0..3).map(|i| i.to_string()).collect();
        let gray =
            Dataset::from_files(&FileNames::default(), &tiny_raw(3, 10, 4), names, 100, 1).unwrap();
        let colour = colour_dataset(&gray);
        assert_eq!((colour.channels(), colour.rows(), colour.cols()), (3, 4, 4));
        assert_eq!(colour.test.labels, gray.test.labels);
        assert_eq!(colour.split, gray.split);
        assert_eq!(colour, colour_dataset(&gray), "the same colours every time");
        // tiny_raw's images are flat (one gray value each): so is every plane of their colour versions.
        let mut pairs = std::collections::HashSet::new();
        for i in 0..gray.test.len() {
            let c = colour.test.images.image(i);
            for plane in c.chunks_exact(16) {
                assert!(plane.iter().all(|&v| v == plane[0]), "image {i}: {c:?}");
            }
            pairs.insert((c[0], c[16], c[32]));
        }
        assert!(
            pairs.len() > 6,
            "colours should vary between images: {pairs:?}"
        );
    }

    #[test]
    fn garment_and_background_always_contrast() {
        // A gray image half black (background) and half white (garment).
        let images = IdxImages {
            count: 200,
            channels: 1,
            rows: 1,
            cols: 2,
            pixels: [0u8, 255].repeat(200),
        };
        let colour = tint(&images, 5);
        let luma = |r: u8, g: u8, b: u8| 0.299 * r as f64 + 0.587 * g as f64 + 0.114 * b as f64;
        let mut means = [0.0; 3];
        for i in 0..200 {
            let p = colour.image(i);
            let (bg, fg) = (luma(p[0], p[2], p[4]), luma(p[1], p[3], p[5]));
            assert!(
                (fg - bg).abs() >= MIN_CONTRAST - 1.0,
                "image {i}: {fg} vs {bg}"
            );
            for c in 0..3 {
                means[c] += p[2 * c + 1] as f64 / 200.0;
            }
        }
        // No channel dominates the garments: colour carries no fixed signal.
        assert!(means.iter().all(|m| (90.0..165.0).contains(m)), "{means:?}");
    }
}
