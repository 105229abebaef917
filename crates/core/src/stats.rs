//! Statistics the explorer shows: class balance, mean images, pixel histogram, sample picks.

use super::dataset::{Dataset, Part};
use super::rng::SplitMix64;

/// Items per class in one part.
pub fn class_counts(dataset: &Dataset, part: Part) -> Vec<usize> {
    let mut counts = vec![0; dataset.classes()];
    for label in dataset.labels(part) {
        counts[label as usize] += 1;
    }
    counts
}

/// The mean image of each class over a part, as bytes (rounded), `channels * rows * cols` per class.
pub fn mean_images(dataset: &Dataset, part: Part) -> Vec<Vec<u8>> {
    let size = dataset.channels() * dataset.rows() * dataset.cols();
    let mut sums = vec![vec![0u64; size]; dataset.classes()];
    let mut counts = vec![0u64; dataset.classes()];
    for i in 0..dataset.len(part) {
        let (image, label) = dataset.item(part, i);
        counts[label as usize] += 1;
        for (s, &p) in sums[label as usize].iter_mut().zip(image) {
            *s += p as u64;
        }
    }
    sums.into_iter()
        .zip(counts)
        .map(|(sum, n)| {
            sum.into_iter()
                .map(|s| (s + n / 2).checked_div(n).unwrap_or(0) as u8)
                .collect()
        })
        .collect()
}

/// Histogram of pixel intensities over a part in `bins` equal bins over 0..=255, one per channel (gray;
/// or red, green, blue).
pub fn pixel_histograms(dataset: &Dataset, part: Part, bins: usize) -> Vec<Vec<u64>> {
    let plane = dataset.rows() * dataset.cols();
    let mut byte_counts = vec![[0u64; 256]; dataset.channels()];
    for i in 0..dataset.len(part) {
        for (counts, values) in byte_counts
            .iter_mut()
            .zip(dataset.item(part, i).0.chunks_exact(plane))
        {
            for &p in values {
                counts[p as usize] += 1;
            }
        }
    }
    byte_counts
        .iter()
        .map(|counts| {
            let mut out = vec![0u64; bins];
            for (value, count) in counts.iter().enumerate() {
                out[value * bins / 256] += count;
            }
            out
        })
        .collect()
}

/// Picks up to `per_class` random positions of each class within a part, grouped by class.
pub fn sample_per_class(
    dataset: &Dataset,
    part: Part,
    per_class: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); dataset.classes()];
    for (i, label) in dataset.labels(part).into_iter().enumerate() {
        by_class[label as usize].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    by_class
        .into_iter()
        .map(|mut members| {
            rng.shuffle(&mut members);
            members.truncate(per_class);
            members
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::FileNames;
    use crate::fixtures::tiny_raw;

    fn dataset() -> Dataset {
        let names = (0..3).map(|i| i.to_string()).collect();
        Dataset::from_files(&FileNames::default(), &tiny_raw(3, 10, 4), names, 100, 1).unwrap()
    }

    #[test]
    fn counts_per_part() {
        let ds = dataset();
        assert_eq!(class_counts(&ds, Part::Train), vec![9, 9, 9]);
        assert_eq!(class_counts(&ds, Part::Validation), vec![1, 1, 1]);
        assert_eq!(class_counts(&ds, Part::Test), vec![4, 4, 4]);
    }

    #[test]
    fn mean_image_matches_a_hand_computed_mean() {
        let ds = dataset();
        // Test items of class 1 are at 1, 4, 7, 10; pixel value 20 + i % 7 -> 21, 24, 20, 23: mean 22.
        let means = mean_images(&ds, Part::Test);
        assert!(means[1].iter().all(|&p| p == 22), "{:?}", means[1]);
    }

    #[test]
    fn histogram_counts_every_pixel_once() {
        let ds = dataset();
        let hists = pixel_histograms(&ds, Part::Test, 16);
        assert_eq!(hists.len(), 1);
        let hist = &hists[0];
        assert_eq!(hist.iter().sum::<u64>(), 12 * 16);
        // Class 0's pixels are 0..=6: all in bin 0 (0..16); class 2's are 40..=46: bin 2.
        assert!(hist[0] >= 16 * 4);
        assert!(hist[2] >= 16 * 4);
    }

    #[test]
    fn samples_are_of_their_class_and_seeded() {
        let ds = dataset();
        let picks = sample_per_class(&ds, Part::Train, 5, 9);
        let labels = ds.labels(Part::Train);
        for (class, members) in picks.iter().enumerate() {
            assert_eq!(members.len(), 5);
            assert!(members.iter().all(|&i| labels[i] as usize == class));
        }
        assert_eq!(picks, sample_per_class(&ds, Part::Train, 5, 9));
        assert_ne!(picks, sample_per_class(&ds, Part::Train, 5, 10));
    }
}
