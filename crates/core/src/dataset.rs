//! A loaded dataset: train and test sets, the stratified validation split, and batches of normalised pixels.

use super::DataError;
use super::idx::{self, IdxImages, IdxLabels};
use super::rng::SplitMix64;

/// Which part of the data a set of indices refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Part {
    /// The training images left after the validation split.
    Train,
    /// The validation images, taken out of the original training file.
    Validation,
    /// The test file.
    Test,
}

/// Images and their labels, as they came from one pair of IDX files.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledImages {
    pub images: IdxImages,
    pub labels: Vec<u8>,
}

impl LabelledImages {
    /// Pairs images with labels, checking the counts agree.
    pub fn new(
        images: IdxImages,
        images_file: &str,
        labels: IdxLabels,
        labels_file: &str,
    ) -> Result<Self, DataError> {
        if images.count != labels.labels.len() {
            return Err(DataError::CountMismatch {
                images_file: images_file.into(),
                images: images.count,
                labels_file: labels_file.into(),
                labels: labels.labels.len(),
            });
        }
        Ok(Self {
            images,
            labels: labels.labels,
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there is nothing in it (never the case for a parsed file).
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// The deterministic, stratified train/validation split of the original training file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Indices into the training file used for training, ascending.
    pub train: Vec<usize>,
    /// Indices into the training file held out for validation, ascending.
    pub validation: Vec<usize>,
    pub seed: u64,
    /// Validation share in per mille (100 = 10%), kept integral so the split is exactly reproducible.
    pub validation_per_mille: u32,
}

/// Splits items by class so every class keeps its share in both parts.
///
/// Per class, `round(n_class * per_mille / 1000)` items are drawn for validation by a shuffle seeded with
/// `seed`; with Fashion-MNIST's 6,000 images per class and 10% this gives exactly 600 per class.
pub fn stratified_split(
    labels: &[u8],
    classes: usize,
    validation_per_mille: u32,
    seed: u64,
) -> Result<Split, DataError> {
    if validation_per_mille >= 1000 {
        return Err(DataError::InvalidOption(format!(
            "the validation share must be below 100%, got {}%",
            validation_per_mille as f64 / 10.0
        )));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(i);
    }
    let mut rng = SplitMix64::new(seed);
    let mut train = Vec::with_capacity(labels.len());
    let mut validation = Vec::new();
    for mut members in by_class {
        rng.shuffle(&mut members);
        let take = ((members.len() as u64 * validation_per_mille as u64 + 500) / 1000) as usize;
        validation.extend_from_slice(&members[..take]);
        train.extend_from_slice(&members[take..]);
    }
    train.sort_unstable();
    validation.sort_unstable();
    Ok(Split {
        train,
        validation,
        seed,
        validation_per_mille,
    })
}

/// A batch of images as f32 in `[0, 1]` plus labels.
///
/// The same buffer is `[N, channels, rows, cols]` for networks and `[N, channels * rows * cols]` for
/// classical models.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub pixels: Vec<f32>,
    pub labels: Vec<u8>,
    /// 1 (gray) or 3 (red, green, blue planes).
    pub channels: usize,
    pub rows: usize,
    pub cols: usize,
}

impl Batch {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when the batch holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Shape for convolutional networks: `[N, channels, rows, cols]`.
    pub fn nchw_shape(&self) -> [usize; 4] {
        [self.len(), self.channels, self.rows, self.cols]
    }

    /// Shape for classical models: `[N, channels * rows * cols]`.
    pub fn flat_shape(&self) -> [usize; 2] {
        [self.len(), self.image_len()]
    }

    /// Values per image: `channels * rows * cols`.
    pub fn image_len(&self) -> usize {
        self.channels * self.rows * self.cols
    }
}

/// Maps a pixel byte to `[0, 1]`.
pub fn normalise(pixel: u8) -> f32 {
    pixel as f32 / 255.0
}

/// The file names of one dataset, used in every message about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    pub train_images: String,
    pub train_labels: String,
    pub test_images: String,
    pub test_labels: String,
}

impl Default for FileNames {
    fn default() -> Self {
        Self {
            train_images: "train-images-idx3-ubyte.gz".into(),
            train_labels: "train-labels-idx1-ubyte.gz".into(),
            test_images: "t10k-images-idx3-ubyte.gz".into(),
            test_labels: "t10k-labels-idx1-ubyte.gz".into(),
        }
    }
}

/// The raw bytes of the four files, as downloaded or picked by the user.
#[derive(Debug, Clone, Default)]
pub struct RawFiles {
    pub train_images: Vec<u8>,
    pub train_labels: Vec<u8>,
    pub test_images: Vec<u8>,
    pub test_labels: Vec<u8>,
}

/// A whole dataset in memory, as bytes, with its split.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub class_names: Vec<String>,
    pub train_file: LabelledImages,
    pub test: LabelledImages,
    pub split: Split,
}

impl Dataset {
    /// Parses the four files and makes the split. `class_names` fixes the number of classes.
    pub fn from_files(
        names: &FileNames,
        raw: &RawFiles,
        class_names: Vec<String>,
        validation_per_mille: u32,
        seed: u64,
    ) -> Result<Self, DataError> {
        let classes = class_names.len();
        let train_images = idx::parse_images(&names.train_images, &raw.train_images)?;
        let train_labels = idx::parse_labels(&names.train_labels, &raw.train_labels, classes)?;
        let test_images = idx::parse_images(&names.test_images, &raw.test_images)?;
        let test_labels = idx::parse_labels(&names.test_labels, &raw.test_labels, classes)?;
        if (test_images.rows, test_images.cols) != (train_images.rows, train_images.cols) {
            return Err(DataError::BadDimensions {
                file: names.test_images.clone(),
                dims: vec![
                    test_images.count as u32,
                    test_images.rows as u32,
                    test_images.cols as u32,
                ],
                reason: format!(
                    "its images are {}x{} but the training images are {}x{}",
                    test_images.rows, test_images.cols, train_images.rows, train_images.cols
                ),
            });
        }
        let train_file = LabelledImages::new(
            train_images,
            &names.train_images,
            train_labels,
            &names.train_labels,
        )?;
        let test = LabelledImages::new(
            test_images,
            &names.test_images,
            test_labels,
            &names.test_labels,
        )?;
        Self::from_parts(class_names, train_file, test, validation_per_mille, seed)
    }

    /// A dataset from images already decoded (CIFAR, a folder of pictures, the colour Fashion-MNIST):
    /// checks that both parts share one shape the networks can take and that every label names a class,
    /// then makes the split.
    pub fn from_parts(
        class_names: Vec<String>,
        train_file: LabelledImages,
        test: LabelledImages,
        validation_per_mille: u32,
        seed: u64,
    ) -> Result<Self, DataError> {
        let (a, b) = (&train_file.images, &test.images);
        if (a.channels, a.rows, a.cols) != (b.channels, b.rows, b.cols) {
            return Err(DataError::InvalidOption(format!(
                "the test images are {} but the training images are {}",
                shape_text(b.channels, b.rows, b.cols),
                shape_text(a.channels, a.rows, a.cols)
            )));
        }
        if !(a.channels == 1 || a.channels == 3) {
            return Err(DataError::InvalidOption(format!(
                "images need 1 (gray) or 3 (colour) channels, these have {}",
                a.channels
            )));
        }
        if train_file.is_empty() || test.is_empty() {
            return Err(DataError::InvalidOption(
                "a dataset needs training images and test images; one part is empty".into(),
            ));
        }
        for (part, set) in [("training", &train_file), ("test", &test)] {
            if let Some(index) = set
                .labels
                .iter()
                .position(|&l| l as usize >= class_names.len())
            {
                return Err(DataError::LabelOutOfRange {
                    file: format!("the {part} part"),
                    label: set.labels[index],
                    index,
                    classes: class_names.len(),
                });
            }
        }
        let split = stratified_split(
            &train_file.labels,
            class_names.len(),
            validation_per_mille,
            seed,
        )?;
        Ok(Self {
            class_names,
            train_file,
            test,
            split,
        })
    }

    /// Replaces the validation split.
    pub fn resplit(&mut self, validation_per_mille: u32, seed: u64) -> Result<(), DataError> {
        self.split = stratified_split(
            &self.train_file.labels,
            self.classes(),
            validation_per_mille,
            seed,
        )?;
        Ok(())
    }

    /// Channels per image: 1 (gray) or 3 (colour).
    pub fn channels(&self) -> usize {
        self.test.images.channels
    }

    /// Values per image: `channels * rows * cols`.
    pub fn image_len(&self) -> usize {
        self.test.images.image_len()
    }

    /// Image height.
    pub fn rows(&self) -> usize {
        self.test.images.rows
    }

    /// Image width.
    pub fn cols(&self) -> usize {
        self.test.images.cols
    }

    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// The source of a part and how many items it has.
    pub fn len(&self, part: Part) -> usize {
        match part {
            Part::Train => self.split.train.len(),
            Part::Validation => self.split.validation.len(),
            Part::Test => self.test.len(),
        }
    }

    /// Resolves the `i`-th item of a part to (pixels, label).
    pub fn item(&self, part: Part, i: usize) -> (&[u8], u8) {
        let (set, index) = match part {
            Part::Train => (&self.train_file, self.split.train[i]),
            Part::Validation => (&self.train_file, self.split.validation[i]),
            Part::Test => (&self.test, i),
        };
        (set.images.image(index), set.labels[index])
    }

    /// Labels of a part, in order.
    pub fn labels(&self, part: Part) -> Vec<u8> {
        (0..self.len(part)).map(|i| self.item(part, i).1).collect()
    }

    /// A batch of the given positions within a part, normalised to `[0, 1]`.
    pub fn batch(&self, part: Part, positions: &[usize]) -> Batch {
        let size = self.test.images.image_len();
        let mut pixels = Vec::with_capacity(positions.len() * size);
        let mut labels = Vec::with_capacity(positions.len());
        for &p in positions {
            let (image, label) = self.item(part, p);
            pixels.extend(image.iter().map(|&b| normalise(b)));
            labels.push(label);
        }
        Batch {
            pixels,
            labels,
            channels: self.channels(),
            rows: self.rows(),
            cols: self.cols(),
        }
    }
}

/// "3 x 32 x 32" (channels x height x width), as every message about image shapes writes it.
pub fn shape_text(channels: usize, rows: usize, cols: usize) -> String {
    format!("{channels} x {rows} x {cols}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_raw;
    use crate::idx::{IMAGES_MAGIC, LABELS_MAGIC, encode};

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| i.to_string()).collect()
    }

    #[test]
    fn split_is_stratified_disjoint_complete_and_deterministic() {
        let labels: Vec<u8> = (0..60_000).map(|i| (i % 10) as u8).collect();
        let split = stratified_split(&labels, 10, 100, 42).unwrap();
        assert_eq!(split.train.len(), 54_000);
        assert_eq!(split.validation.len(), 6_000);
        for class in 0..10u8 {
            let in_val = split
                .validation
                .iter()
                .filter(|&&i| labels[i] == class)
                .count();
            assert_eq!(in_val, 600, "class {class}");
        }
        let mut all: Vec<usize> = split
            .train
            .iter()
            .chain(&split.validation)
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(all, (0..60_000).collect::<Vec<_>>());
        assert_eq!(split, stratified_split(&labels, 10, 100, 42).unwrap());
        assert_ne!(
            split.validation,
            stratified_split(&labels, 10, 100, 43).unwrap().validation
        );
    }

    #[test]
    fn split_keeps_uneven_class_shares() {
        // 90 of class 0, 10 of class 1: 20% validation takes 18 and 2.
        let labels: Vec<u8> = (0..100).map(|i| u8::from(i >= 90)).collect();
        let split = stratified_split(&labels, 2, 200, 1).unwrap();
        let val_ones = split.validation.iter().filter(|&&i| labels[i] == 1).count();
        assert_eq!((split.validation.len(), val_ones), (20, 2));
        assert!(stratified_split(&labels, 2, 1000, 1).is_err());
    }

    #[test]
    fn dataset_from_files_counts_and_normalises() {
        let raw = tiny_raw(3, 10, 4);
        let ds = Dataset::from_files(&FileNames::default(), &raw, names(3), 100, 7).unwrap();
        assert_eq!(
            (
                ds.len(Part::Train),
                ds.len(Part::Validation),
                ds.len(Part::Test)
            ),
            (27, 3, 12)
        );
        let batch = ds.batch(Part::Test, &[0, 5]);
        assert_eq!(batch.nchw_shape(), [2, 1, 4, 4]);
        assert_eq!(batch.flat_shape(), [2, 16]);
        assert_eq!(batch.labels, vec![0, 2]);
        // Item 5 is class 2: pixel 2 * 20 + 5 = 45.
        assert!((batch.pixels[16] - 45.0 / 255.0).abs() < 1e-6);
        assert!(batch.pixels.iter().all(|p| (0.0..=1.0).contains(p)));
        assert_eq!(normalise(255), 1.0);
        assert_eq!(normalise(0), 0.0);
    }

    #[test]
    fn mismatched_counts_and_sizes_are_errors() {
        let mut raw = tiny_raw(3, 10, 4);
        raw.test_labels = encode(LABELS_MAGIC, &[5], &[0, 1, 2, 0, 1]);
        let err = Dataset::from_files(&FileNames::default(), &raw, names(3), 100, 7).unwrap_err();
        assert!(
            matches!(
                err,
                DataError::CountMismatch {
                    images: 12,
                    labels: 5,
                    ..
                }
            ),
            "{err:?}"
        );
        let mut raw = tiny_raw(3, 10, 4);
        raw.test_images = encode(IMAGES_MAGIC, &[12, 2, 8], &[0; 12 * 16]);
        let err = Dataset::from_files(&FileNames::default(), &raw, names(3), 100, 7).unwrap_err();
        assert!(matches!(err, DataError::BadDimensions { .. }), "{err:?}");
        // A label beyond the class names given.
        let raw = tiny_raw(3, 10, 4);
        let err = Dataset::from_files(&FileNames::default(), &raw, names(2), 100, 7).unwrap_err();
        assert!(
            matches!(err, DataError::LabelOutOfRange { label: 2, .. }),
            "{err:?}"
        );
    }
}
