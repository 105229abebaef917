//! Turns a loaded dataset into the plain messages the explorer shows.

use atelier_core::dataset::{Dataset, Part};
use atelier_core::protocol::{ClassBalance, DatasetSummary, SampleGrid};
use atelier_core::stats;

/// Histogram bins for the pixel-intensity chart: 32 bins of 8 grey levels each.
pub const HISTOGRAM_BINS: usize = 32;

/// Everything the explorer needs about a dataset except sample images.
pub fn summarise(dataset: &Dataset, parse_ms: f64) -> DatasetSummary {
    DatasetSummary {
        class_names: dataset.class_names.clone(),
        channels: dataset.channels(),
        rows: dataset.rows(),
        cols: dataset.cols(),
        train_count: dataset.len(Part::Train),
        validation_count: dataset.len(Part::Validation),
        test_count: dataset.len(Part::Test),
        split_seed: dataset.split.seed,
        validation_per_mille: dataset.split.validation_per_mille,
        balance: ClassBalance {
            train: stats::class_counts(dataset, Part::Train),
            validation: stats::class_counts(dataset, Part::Validation),
            test: stats::class_counts(dataset, Part::Test),
        },
        mean_images: stats::mean_images(dataset, Part::Train),
        histograms: stats::pixel_histograms(dataset, Part::Train, HISTOGRAM_BINS),
        parse_ms,
        import: None,
        test_labels: dataset.labels(Part::Test),
    }
}

/// `per_class` random images of each class of a part.
pub fn sample_grid(dataset: &Dataset, part: Part, per_class: usize, seed: u64) -> SampleGrid {
    let positions = stats::sample_per_class(dataset, part, per_class, seed);
    let images = positions
        .iter()
        .map(|members| {
            members
                .iter()
                .map(|&p| dataset.item(part, p).0.to_vec())
                .collect()
        })
        .collect();
    SampleGrid {
        part,
        seed,
        channels: dataset.channels(),
        rows: dataset.rows(),
        cols: dataset.cols(),
        positions,
        images,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use atelier_core::dataset::FileNames;
    use atelier_core::fixtures::tiny_raw;

    #[test]
    fn summary_and_samples_agree_with_the_dataset() {
        let names = (0..3).map(|i| i.to_string()).collect();
        let ds =
            Dataset::from_files(&FileNames::default(), &tiny_raw(3, 10, 4), names, 100, 1).unwrap();
        let s = summarise(&ds, 1.0);
        assert_eq!(
            (s.train_count, s.validation_count, s.test_count),
            (27, 3, 12)
        );
        assert_eq!(s.balance.test, vec![4, 4, 4]);
        assert_eq!(s.mean_images.len(), 3);
        assert_eq!(s.histograms[0].iter().sum::<u64>(), 27 * 16);
        let grid = sample_grid(&ds, Part::Test, 2, 5);
        assert_eq!(grid.images.len(), 3);
        for (class, images) in grid.images.iter().enumerate() {
            assert_eq!(images.len(), 2);
            // Class c's pixels are c * 20 + (i % 7).
            assert!(images.iter().all(|img| img[0] / 20 == class as u8));
        }
    }
}
