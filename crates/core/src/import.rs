//! The user's own pictures as a dataset: a folder with one subfolder per class (picked, or inside a
//! `.zip`), optionally split by top-level `train/` and `test/` folders. This module decides what each file
//! is (which class, which part, or skipped and why), checks the memory budget before anything is decoded,
//! and assembles the decoded images into a [`Dataset`]; the browser decodes and resizes the pictures.

use crate::DataError;
use crate::dataset::{Dataset, LabelledImages, Part, shape_text, stratified_split};
use crate::idx::IdxImages;

/// File name endings of the pictures the browser decodes.
pub const IMAGE_EXTENSIONS: [&str; 7] = ["png", "jpg", "jpeg", "webp", "gif", "bmp", "avif"];
/// The image side imported pictures are resized to unless the user picks another (`size=`).
pub const DEFAULT_SIZE: usize = 32;
/// Sides an import may take.
pub const SIZE_RANGE: std::ops::RangeInclusive<usize> = 8..=256;
/// Bytes of pixels a dataset may hold in the page's memory (CIFAR-10's 184 MB fits; the page also keeps
/// batches and models).
pub const MEMORY_BUDGET: usize = 512 << 20;
/// The most classes a dataset of pictures may have.
pub const MAX_CLASSES: usize = 100;
/// The share of each class held out for testing when there are no `train/` and `test/` folders.
pub const TEST_PER_MILLE: u32 = 200;

/// How pictures are turned into a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportOptions {
    /// Side the pictures are resized to (their centred square).
    pub size: usize,
    /// Keep one gray channel instead of colour.
    pub gray: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            size: DEFAULT_SIZE,
            gray: false,
        }
    }
}

impl ImportOptions {
    /// Channels the images will have.
    pub fn channels(&self) -> usize {
        if self.gray { 1 } else { 3 }
    }

    /// Checks the size.
    pub fn check(&self) -> Result<(), DataError> {
        if SIZE_RANGE.contains(&self.size) {
            Ok(())
        } else {
            Err(DataError::InvalidOption(format!(
                "images are imported at {} to {} pixels a side, not {}",
                SIZE_RANGE.start(),
                SIZE_RANGE.end(),
                self.size
            )))
        }
    }
}

/// What one file of the folder is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A picture of this class; `part` is `Some` when the folder has `train/` and `test/`.
    Picture { class: String, part: Option<Part> },
    /// Not used, with the reason shown to the user.
    Skipped(String),
    /// A file every archive tool adds (`.DS_Store`, `__MACOSX/`, `Thumbs.db`): left out silently.
    Ignored,
}

/// Decides each file's role from its path inside the picked folder or the archive.
///
/// The folders every path shares are stripped (the picked folder's own name, an archive's top folder);
/// then, when every file sits under `train/` or `test/`, that is its part and the next folder its class;
/// otherwise the first folder is the class.
pub fn roles(paths: &[String]) -> Vec<Role> {
    let folders = |p: &str| -> Vec<String> {
        let segments: Vec<&str> = p.split(['/', '\\']).filter(|s| !s.is_empty()).collect();
        segments[..segments.len().saturating_sub(1)]
            .iter()
            .map(|s| s.to_string())
            .collect()
    };
    let ignored = |p: &str| {
        p.split(['/', '\\'])
            .any(|s| s.starts_with('.') || s == "__MACOSX" || s.eq_ignore_ascii_case("thumbs.db"))
    };
    let extension = |p: &str| {
        p.rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let is_picture = |p: &str| IMAGE_EXTENSIONS.contains(&extension(p).as_str());
    let kept: Vec<Vec<String>> = paths
        .iter()
        .filter(|p| !ignored(p) && is_picture(p))
        .map(|p| folders(p))
        .collect();
    // The folders all pictures share, but never the last one a picture has (its class).
    let mut common = kept.iter().map(Vec::len).min().unwrap_or(0);
    for depth in 0..common {
        if kept.iter().any(|f| f[depth] != kept[0][depth]) {
            common = depth;
            break;
        }
    }
    if kept.iter().any(|f| f.len() == common) {
        common = common.saturating_sub(1);
    }
    let is_part = |s: &str| matches!(s.to_ascii_lowercase().as_str(), "train" | "test");
    let split = !kept.is_empty()
        && kept
            .iter()
            .all(|f| f.len() >= common + 2 && is_part(&f[common]));
    paths
        .iter()
        .map(|path| {
            if ignored(path) {
                return Role::Ignored;
            }
            if !is_picture(path) {
                return Role::Skipped("not a picture (PNG, JPEG, WebP, GIF or BMP)".into());
            }
            let f = folders(path);
            let rest = &f[common.min(f.len())..];
            match (split, rest) {
                (true, [part, class, ..]) => Role::Picture {
                    class: class.clone(),
                    part: Some(if part.eq_ignore_ascii_case("test") {
                        Part::Test
                    } else {
                        Part::Train
                    }),
                },
                (false, [class, ..]) => Role::Picture {
                    class: class.clone(),
                    part: None,
                },
                _ => Role::Skipped("not inside a class folder".into()),
            }
        })
        .collect()
}

/// Refuses an import whose pixels would outgrow the page's memory, before anything is decoded.
pub fn check_budget(pictures: usize, options: &ImportOptions) -> Result<(), DataError> {
    let bytes = pictures * options.channels() * options.size * options.size;
    if bytes > MEMORY_BUDGET {
        let per_side =
            ((MEMORY_BUDGET / (pictures.max(1) * options.channels())) as f64).sqrt() as usize;
        return Err(DataError::InvalidOption(format!(
            "{pictures} pictures of {} take {} MB, past the {} MB this page keeps in memory; import them at \
             {} pixels a side or less{}, or import fewer",
            shape_text(options.channels(), options.size, options.size),
            bytes >> 20,
            MEMORY_BUDGET >> 20,
            per_side.min(*SIZE_RANGE.end()),
            if options.gray { "" } else { " (or in gray)" }
        )));
    }
    Ok(())
}

/// One decoded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub class: String,
    pub part: Option<Part>,
    /// `channels * size * size` bytes, planar.
    pub pixels: Vec<u8>,
}

/// The class folders that held pictures by name but none that could be read: each is left out of the
/// dataset, and listed with why.
pub fn left_out(
    classes: &std::collections::BTreeSet<String>,
    pictures: &[Decoded],
) -> Vec<(String, String)> {
    let read: std::collections::BTreeSet<&str> =
        pictures.iter().map(|p| p.class.as_str()).collect();
    classes
        .iter()
        .filter(|c| !read.contains(c.as_str()))
        .map(|c| {
            (
                format!("{c}/"),
                "no picture in this class folder could be read: the class is left out".into(),
            )
        })
        .collect()
}

/// What the import did, for the explorer.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// Pictures decoded.
    pub decoded: usize,
    /// Files left out: (path, why).
    pub skipped: Vec<(String, String)>,
    /// The smallest and largest original sides: (min width, min height, max width, max height).
    pub sizes: (usize, usize, usize, usize),
    /// The parts came from `train/` and `test/` folders (else a seeded stratified test share).
    pub by_folders: bool,
}

/// Assembles decoded pictures into a dataset: classes in name order, the `train/` and `test/` folders as
/// the parts or else [`TEST_PER_MILLE`] of each class held out for testing (seeded), then the usual
/// validation split of the training part. A class whose folder gave no picture is named in the report's
/// skipped list; fewer than two classes is an error.
pub fn assemble(
    pictures: Vec<Decoded>,
    options: &ImportOptions,
    report: &mut ImportReport,
    validation_per_mille: u32,
    seed: u64,
) -> Result<Dataset, DataError> {
    let mut classes: Vec<String> = pictures.iter().map(|p| p.class.clone()).collect();
    classes.sort();
    classes.dedup();
    if classes.len() < 2 {
        return Err(DataError::InvalidOption(format!(
            "a dataset needs pictures of at least two classes, one folder each; {}",
            match classes.first() {
                Some(c) => format!("only {c} has any"),
                None => "no folder held a picture that could be read".into(),
            }
        )));
    }
    if classes.len() > MAX_CLASSES {
        return Err(DataError::InvalidOption(format!(
            "{} class folders, more than the {MAX_CLASSES} a dataset here may have",
            classes.len()
        )));
    }
    let by_folders = pictures.iter().all(|p| p.part.is_some());
    for part in [Part::Train, Part::Test] {
        if by_folders && !pictures.iter().any(|p| p.part == Some(part)) {
            return Err(DataError::InvalidOption(format!(
                "the {} folder holds no picture that could be read",
                if part == Part::Test { "test" } else { "train" }
            )));
        }
    }
    let label = |c: &str| classes.binary_search_by(|x| x.as_str().cmp(c)).unwrap_or(0) as u8;
    let labels: Vec<u8> = pictures.iter().map(|p| label(&p.class)).collect();
    let in_test: Vec<bool> = if by_folders {
        pictures
            .iter()
            .map(|p| p.part == Some(Part::Test))
            .collect()
    } else {
        let held = stratified_split(&labels, classes.len(), TEST_PER_MILLE, seed ^ 0x7e57)?;
        let mut test = vec![false; pictures.len()];
        for i in held.validation {
            test[i] = true;
        }
        test
    };
    if !in_test.iter().any(|&t| t) {
        return Err(DataError::InvalidOption(
            "too few pictures to hold any out for testing; add pictures (five or more a class)"
                .into(),
        ));
    }
    let (channels, size) = (options.channels(), options.size);
    let make = |test: bool| {
        let chosen: Vec<usize> = (0..pictures.len())
            .filter(|&i| in_test[i] == test)
            .collect();
        LabelledImages {
            images: IdxImages {
                count: chosen.len(),
                channels,
                rows: size,
                cols: size,
                pixels: chosen
                    .iter()
                    .flat_map(|&i| pictures[i].pixels.iter().copied())
                    .collect(),
            },
            labels: chosen.iter().map(|&i| labels[i]).collect(),
        }
    };
    let (train, test) = (make(false), make(true));
    report.by_folders = by_folders;
    Dataset::from_parts(classes, train, test, validation_per_mille, seed)
}

/// Frames captured from the camera as a dataset: frame `i` (`options.channels() * size²` bytes of
/// `pixels`) is of class `class_names[labels[i]]`; a fifth of each class is held out for testing.
pub fn from_frames(
    class_names: &[String],
    labels: &[u8],
    pixels: &[u8],
    options: &ImportOptions,
    validation_per_mille: u32,
    seed: u64,
) -> Result<(Dataset, ImportReport), DataError> {
    options.check()?;
    let frame = options.channels() * options.size * options.size;
    if pixels.len() != labels.len() * frame
        || labels.iter().any(|&l| l as usize >= class_names.len())
    {
        return Err(DataError::InvalidOption(
            "the captured frames did not arrive whole; capture them again".into(),
        ));
    }
    check_budget(labels.len(), options)?;
    let pictures = labels
        .iter()
        .zip(pixels.chunks_exact(frame))
        .map(|(&l, p)| Decoded {
            class: class_names[l as usize].clone(),
            part: None,
            pixels: p.to_vec(),
        })
        .collect();
    let mut report = ImportReport {
        decoded: labels.len(),
        sizes: (options.size, options.size, options.size, options.size),
        ..ImportReport::default()
    };
    let dataset = assemble(pictures, options, &mut report, validation_per_mille, seed)?;
    Ok((dataset, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn picture(class: &str, part: Option<Part>) -> Role {
        Role::Picture {
            class: class.into(),
            part,
        }
    }

    #[test]
    fn class_folders_under_a_shared_top_folder() {
        let roles = roles(&paths(&[
            "pets/cat/1.png",
            "pets/cat/2.JPG",
            "pets/dog/a.webp",
            "pets/dog/notes.txt",
            "pets/readme.md",
            "pets/.DS_Store",
            "__MACOSX/pets/cat/._1.png",
        ]));
        assert_eq!(roles[0], picture("cat", None));
        assert_eq!(roles[1], picture("cat", None));
        assert_eq!(roles[2], picture("dog", None));
        assert!(matches!(&roles[3], Role::Skipped(why) if why.contains("not a picture")));
        assert!(matches!(&roles[4], Role::Skipped(_)));
        assert_eq!((&roles[5], &roles[6]), (&Role::Ignored, &Role::Ignored));
        // Without a top folder (a zip of the class folders) the classes are the same.
        let flat = super::roles(&paths(&["cat/1.png", "dog/2.png", "loose.png"]));
        assert_eq!(flat[0], picture("cat", None));
        assert!(matches!(&flat[2], Role::Skipped(why) if why.contains("class folder")));
    }

    #[test]
    fn train_and_test_folders_give_the_parts() {
        let roles = roles(&paths(&[
            "data/train/cat/1.png",
            "data/train/dog/1.png",
            "data/test/cat/2.png",
            "data/Test/dog/2.png",
        ]));
        assert_eq!(roles[0], picture("cat", Some(Part::Train)));
        assert_eq!(roles[3], picture("dog", Some(Part::Test)));
        // One folder named test among class folders is a class.
        let roles = super::roles(&paths(&["x/test/1.png", "x/cat/1.png"]));
        assert_eq!(roles[0], picture("test", None));
    }

    #[test]
    fn the_budget_is_checked_before_decoding() {
        let colour = ImportOptions {
            size: 256,
            gray: false,
        };
        let err = check_budget(10_000, &colour).unwrap_err().to_string();
        assert!(
            err.contains("10000 pictures of 3 x 256 x 256 take 1875 MB"),
            "{err}"
        );
        assert!(err.contains("at 133 pixels a side or less"), "{err}");
        assert!(check_budget(10_000, &ImportOptions::default()).is_ok());
        assert!(
            ImportOptions {
                size: 4,
                gray: true
            }
            .check()
            .is_err()
        );
    }

    fn decoded(class: &str, part: Option<Part>, value: u8) -> Decoded {
        Decoded {
            class: class.into(),
            part,
            pixels: vec![value; 3 * 8 * 8],
        }
    }

    #[test]
    fn pictures_assemble_into_a_stratified_dataset() {
        let options = ImportOptions {
            size: 8,
            gray: false,
        };
        let pictures: Vec<Decoded> = (0..30)
            .map(|i| decoded(["b", "a", "c"][i % 3], None, i as u8))
            .collect();
        let mut report = ImportReport::default();
        let ds = assemble(pictures.clone(), &options, &mut report, 100, 1).unwrap();
        assert_eq!(ds.class_names, vec!["a", "b", "c"]);
        assert_eq!((ds.train_file.len(), ds.test.len()), (24, 6));
        assert_eq!(crate::stats::class_counts(&ds, Part::Test), vec![2, 2, 2]);
        assert_eq!((ds.channels(), ds.rows(), ds.cols()), (3, 8, 8));
        // Each test image keeps its label: picture i of class ["b", "a", "c"][i % 3] has value i.
        for k in 0..ds.test.len() {
            let value = ds.test.images.image(k)[0] as usize;
            assert_eq!(
                ds.class_names[ds.test.labels[k] as usize],
                ["b", "a", "c"][value % 3]
            );
        }
        assert!(!report.by_folders);
        assert_eq!(
            assemble(pictures, &options, &mut report, 100, 1).unwrap(),
            ds
        );
    }

    #[test]
    fn camera_frames_make_a_dataset_and_broken_ones_are_refused() {
        let options = ImportOptions {
            size: 8,
            gray: true,
        };
        let names = vec!["me".to_string(), "mug".to_string()];
        let labels: Vec<u8> = (0..20).map(|i| (i % 2) as u8).collect();
        let pixels: Vec<u8> = labels.iter().flat_map(|&l| vec![l * 200; 64]).collect();
        let (ds, report) = from_frames(&names, &labels, &pixels, &options, 100, 1).unwrap();
        assert_eq!((ds.channels(), ds.rows(), ds.classes()), (1, 8, 2));
        assert_eq!(
            (ds.train_file.len(), ds.test.len(), report.decoded),
            (16, 4, 20)
        );
        assert!(from_frames(&names, &labels, &pixels[1..], &options, 100, 1).is_err());
        assert!(from_frames(&names[..1], &labels, &pixels, &options, 100, 1).is_err());
    }

    #[test]
    fn a_class_with_no_readable_picture_is_named() {
        let seen = ["bird", "cat", "dog"]
            .map(String::from)
            .into_iter()
            .collect();
        let pictures = vec![decoded("cat", None, 1), decoded("dog", None, 2)];
        let out = left_out(&seen, &pictures);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].0, "bird/");
        assert!(out[0].1.contains("left out"));
        assert!(
            left_out(
                &seen,
                &[
                    decoded("bird", None, 0),
                    decoded("cat", None, 1),
                    decoded("dog", None, 2)
                ]
            )
            .is_empty()
        );
    }

    #[test]
    fn folders_split_and_bad_imports_say_why() {
        let options = ImportOptions {
            size: 8,
            gray: false,
        };
        let mut report = ImportReport::default();
        let pictures = vec![
            decoded("cat", Some(Part::Train), 1),
            decoded("dog", Some(Part::Train), 2),
            decoded("cat", Some(Part::Train), 3),
            decoded("dog", Some(Part::Train), 4),
            decoded("cat", Some(Part::Test), 5),
        ];
        let ds = assemble(pictures, &options, &mut report, 0, 1).unwrap();
        assert!(report.by_folders);
        assert_eq!((ds.train_file.len(), ds.test.len()), (4, 1));
        let one_class = vec![decoded("cat", None, 1), decoded("cat", None, 2)];
        let err = assemble(one_class, &options, &mut report, 100, 1)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("at least two classes") && err.contains("only cat"),
            "{err}"
        );
        let no_test = vec![
            decoded("cat", Some(Part::Train), 1),
            decoded("dog", Some(Part::Train), 2),
        ];
        let err = assemble(no_test.clone(), &options, &mut report, 100, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("test folder"), "{err}");
        let too_few = vec![decoded("cat", None, 1), decoded("dog", None, 2)];
        let err = assemble(too_few, &options, &mut report, 100, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("too few"), "{err}");
    }
}
