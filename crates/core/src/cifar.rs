//! CIFAR-10 and CIFAR-100 in their binary versions (Krizhevsky, "Learning Multiple Layers of Features from
//! Tiny Images", 2009; <https://www.cs.toronto.edu/~kriz/cifar.html>), from the `.bin` files, the folder
//! they extract to, or the `.tar.gz` itself.
//!
//! A CIFAR-10 record is one label byte then 3,072 pixel bytes: the 1,024 red values of the 32 x 32 image
//! row by row, then the green, then the blue (planar, as [`IdxImages`] keeps colour). A CIFAR-100 record
//! has two label bytes, the coarse (20 superclasses) then the fine (100 classes); Atelier uses the fine.

use crate::DataError;
use crate::archive::{MAX_ARCHIVE_BYTES, base_name, gunzip_limited, untar};
use crate::dataset::{Dataset, LabelledImages};
use crate::idx::IdxImages;

/// The image side of both sets.
pub const SIDE: usize = 32;
/// Pixel bytes of one record.
const PIXELS: usize = 3 * SIDE * SIDE;

/// Which of the two sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum CifarKind {
    Ten,
    Hundred,
}

/// CIFAR-10's classes, as `batches.meta.txt` lists them.
pub const CIFAR10_CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

impl CifarKind {
    /// Parses the `?data=` prefix (`cifar10`, `cifar100`).
    pub fn parse(key: &str) -> Option<Self> {
        match key.trim().to_ascii_lowercase().as_str() {
            "cifar10" | "cifar-10" => Some(Self::Ten),
            "cifar100" | "cifar-100" => Some(Self::Hundred),
            _ => None,
        }
    }

    /// The `?data=` prefix.
    pub fn key(self) -> &'static str {
        match self {
            Self::Ten => "cifar10",
            Self::Hundred => "cifar100",
        }
    }

    /// The name shown to people.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ten => "CIFAR-10",
            Self::Hundred => "CIFAR-100",
        }
    }

    /// The training files, in order.
    pub fn train_files(self) -> Vec<&'static str> {
        match self {
            Self::Ten => vec![
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ],
            Self::Hundred => vec!["train.bin"],
        }
    }

    /// The test file.
    pub fn test_file(self) -> &'static str {
        match self {
            Self::Ten => "test_batch.bin",
            Self::Hundred => "test.bin",
        }
    }

    /// The file naming the classes, one per line.
    pub fn names_file(self) -> &'static str {
        match self {
            Self::Ten => "batches.meta.txt",
            Self::Hundred => "fine_label_names.txt",
        }
    }

    /// Every file the set needs, training files first, then the test file and the names.
    pub fn files(self) -> Vec<&'static str> {
        let mut all = self.train_files();
        all.extend([self.test_file(), self.names_file()]);
        all
    }

    /// Number of classes.
    pub fn classes(self) -> usize {
        match self {
            Self::Ten => 10,
            Self::Hundred => 100,
        }
    }

    /// Bytes per record.
    fn record(self) -> usize {
        match self {
            Self::Ten => 1 + PIXELS,
            Self::Hundred => 2 + PIXELS,
        }
    }

    /// Which set a bunch of file names belong to: CIFAR-10's `data_batch_N.bin`, CIFAR-100's `train.bin`.
    pub fn detect(names: &[String]) -> Option<Self> {
        let base = |n: &String| base_name(n).to_ascii_lowercase();
        if names.iter().any(|n| base(n).starts_with("data_batch_")) {
            Some(Self::Ten)
        } else if names.iter().any(|n| base(n) == "train.bin") {
            Some(Self::Hundred)
        } else {
            None
        }
    }
}

/// Parses one binary file into images and (fine) labels.
pub fn parse_records(
    kind: CifarKind,
    file: &str,
    bytes: &[u8],
) -> Result<LabelledImages, DataError> {
    let record = kind.record();
    if bytes.is_empty() || !bytes.len().is_multiple_of(record) {
        return Err(DataError::InvalidOption(format!(
            "{file} is {} bytes, not a whole number of {} records of {record} bytes; is it a {} binary file? \
             pick the files of the binary version again",
            bytes.len(),
            kind.label(),
            kind.label()
        )));
    }
    let count = bytes.len() / record;
    let mut pixels = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for (index, chunk) in bytes.chunks_exact(record).enumerate() {
        let label = chunk[record - PIXELS - 1];
        if label as usize >= kind.classes() {
            return Err(DataError::LabelOutOfRange {
                file: file.into(),
                label,
                index,
                classes: kind.classes(),
            });
        }
        labels.push(label);
        pixels.extend_from_slice(&chunk[record - PIXELS..]);
    }
    Ok(LabelledImages {
        images: IdxImages {
            count,
            channels: 3,
            rows: SIDE,
            cols: SIDE,
            pixels,
        },
        labels,
    })
}

/// Class names from the names file: one per non-empty line.
pub fn parse_names(kind: CifarKind, file: &str, bytes: &[u8]) -> Result<Vec<String>, DataError> {
    let names: Vec<String> = String::from_utf8_lossy(bytes)
        .lines()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    if names.len() != kind.classes() {
        return Err(DataError::InvalidOption(format!(
            "{file} names {} classes but {} has {}; pick the file that came with the data",
            names.len(),
            kind.label(),
            kind.classes()
        )));
    }
    Ok(names)
}

/// Assembles CIFAR-10 or CIFAR-100 from the files given: the `.bin` files (and the names file, else the
/// names are CIFAR-10's own or numbers), or one `.tar.gz`/`.tar` holding them. Files of other names are
/// ignored (the archive's readme, for example).
pub fn assemble(
    files: Vec<(String, Vec<u8>)>,
    validation_per_mille: u32,
    seed: u64,
) -> Result<(CifarKind, Dataset), DataError> {
    let mut unpacked = Vec::new();
    for (name, bytes) in files {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".tar.gz") || lower.ends_with(".tgz") {
            let tar = gunzip_limited(&name, &bytes, MAX_ARCHIVE_BYTES)?;
            unpacked.extend(untar(&name, &tar)?);
        } else if lower.ends_with(".tar") {
            unpacked.extend(untar(&name, &bytes)?);
        } else {
            unpacked.push((name, bytes));
        }
    }
    let names: Vec<String> = unpacked.iter().map(|(n, _)| n.clone()).collect();
    let kind = CifarKind::detect(&names).ok_or_else(|| {
        DataError::InvalidOption(
            "these files are not CIFAR's binary version: pick data_batch_1.bin ... test_batch.bin (CIFAR-10), \
             train.bin and test.bin (CIFAR-100), their folder, or the .tar.gz"
                .into(),
        )
    })?;
    let find = |wanted: &str| {
        unpacked
            .iter()
            .find(|(n, _)| base_name(n).eq_ignore_ascii_case(wanted))
    };
    let mut train: Option<LabelledImages> = None;
    for file in kind.train_files() {
        let (name, bytes) = find(file).ok_or_else(|| {
            DataError::InvalidOption(format!(
                "{file} is missing: {} needs every file",
                kind.label()
            ))
        })?;
        let part = parse_records(kind, base_name(name), bytes)?;
        train = Some(match train {
            None => part,
            Some(mut all) => {
                all.images.count += part.images.count;
                all.images.pixels.extend(part.images.pixels);
                all.labels.extend(part.labels);
                all
            }
        });
    }
    let (name, bytes) = find(kind.test_file()).ok_or_else(|| {
        DataError::InvalidOption(format!(
            "{} is missing: {} needs its test file",
            kind.test_file(),
            kind.label()
        ))
    })?;
    let test = parse_records(kind, base_name(name), bytes)?;
    let class_names = match find(kind.names_file()) {
        Some((name, bytes)) => parse_names(kind, base_name(name), bytes)?,
        None if kind == CifarKind::Ten => CIFAR10_CLASSES.iter().map(|s| s.to_string()).collect(),
        None => (0..kind.classes()).map(|i| i.to_string()).collect(),
    };
    let train = train.expect("every kind has a training file");
    let dataset = Dataset::from_parts(class_names, train, test, validation_per_mille, seed)?;
    Ok((kind, dataset))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` CIFAR records of `kind`: label `i % classes`, every red value `i`, green `2i`, blue `3i`
    /// (mod 256).
    pub fn records(kind: CifarKind, n: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for i in 0..n {
            let label = (i % kind.classes()) as u8;
            if kind == CifarKind::Hundred {
                out.push(label / 5);
            }
            out.push(label);
            for k in 1..=3 {
                out.extend(std::iter::repeat_n((i * k) as u8, SIDE * SIDE));
            }
        }
        out
    }

    /// A ustar archive of the files, as `tar` writes it.
    fn tar(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, bytes) in files {
            let mut header = [0u8; 512];
            header[..name.len()].copy_from_slice(name.as_bytes());
            let size = format!("{:011o}\0", bytes.len());
            header[124..136].copy_from_slice(size.as_bytes());
            header[156] = b'0';
            header[257..263].copy_from_slice(b"ustar\0");
            out.extend_from_slice(&header);
            out.extend_from_slice(bytes);
            out.resize(out.len().div_ceil(512) * 512, 0);
        }
        out.extend([0u8; 1024]);
        out
    }

    fn ten_files(per_batch: usize) -> Vec<(String, Vec<u8>)> {
        let mut files: Vec<(String, Vec<u8>)> = CifarKind::Ten
            .train_files()
            .into_iter()
            .map(|f| {
                (
                    format!("cifar-10-batches-bin/{f}"),
                    records(CifarKind::Ten, per_batch),
                )
            })
            .collect();
        files.push(("test_batch.bin".into(), records(CifarKind::Ten, 20)));
        files.push((
            "batches.meta.txt".into(),
            CIFAR10_CLASSES.join("\n").into_bytes(),
        ));
        files
    }

    #[test]
    fn cifar10_records_read_planar_with_labels_and_names() {
        let (kind, ds) = assemble(ten_files(30), 100, 1).unwrap();
        assert_eq!(kind, CifarKind::Ten);
        assert_eq!((ds.channels(), ds.rows(), ds.cols()), (3, 32, 32));
        assert_eq!(ds.train_file.len(), 150);
        assert_eq!(ds.test.len(), 20);
        assert_eq!(ds.class_names[9], "truck");
        // Test image 7: label 7, red 7, green 14, blue 21.
        let image = ds.test.images.image(7);
        assert_eq!(
            (image[0], image[1024], image[2048], image[3071]),
            (7, 14, 21, 21)
        );
        assert_eq!(ds.test.labels[7], 7);
        // The second batch's first image follows the first batch's 30.
        assert_eq!(ds.train_file.images.image(30)[0], 0);
        assert_eq!(ds.train_file.labels[31], 1);
    }

    #[test]
    fn cifar100_uses_fine_labels_and_reads_from_a_tar_gz() {
        let names: Vec<String> = (0..100).map(|i| format!("fine{i}")).collect();
        let archive = tar(&[
            (
                "cifar-100-binary/train.bin",
                &records(CifarKind::Hundred, 200),
            ),
            (
                "cifar-100-binary/test.bin",
                &records(CifarKind::Hundred, 100),
            ),
            (
                "cifar-100-binary/fine_label_names.txt",
                names.join("\n").as_bytes(),
            ),
            ("cifar-100-binary/coarse_label_names.txt", b"x\ny"),
        ]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &archive).unwrap();
        let gz = gz.finish().unwrap();
        let (kind, ds) = assemble(vec![("cifar-100-binary.tar.gz".into(), gz)], 100, 1).unwrap();
        assert_eq!(kind, CifarKind::Hundred);
        assert_eq!(ds.classes(), 100);
        assert_eq!(ds.test.labels[57], 57, "the fine label, not the coarse");
        assert_eq!(ds.class_names[57], "fine57");
        assert_eq!(ds.train_file.len(), 200);
    }

    #[test]
    fn damaged_sets_name_the_file() {
        // A batch one byte short.
        let mut files = ten_files(5);
        files[2].1.pop();
        let err = assemble(files, 100, 1).unwrap_err().to_string();
        assert!(
            err.contains("data_batch_3.bin") && err.contains("records"),
            "{err}"
        );
        // A batch missing.
        let mut files = ten_files(5);
        files.remove(4);
        let err = assemble(files, 100, 1).unwrap_err().to_string();
        assert!(err.contains("data_batch_5.bin is missing"), "{err}");
        // A label past the classes.
        let mut files = ten_files(5);
        files[5].1[0] = 10;
        let err = assemble(files, 100, 1).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin") && err.contains("label 10"),
            "{err}"
        );
        // The wrong number of names.
        let mut files = ten_files(5);
        files[6].1 = b"cat\ndog".to_vec();
        let err = assemble(files, 100, 1).unwrap_err().to_string();
        assert!(err.contains("names 2 classes"), "{err}");
        // Not CIFAR at all.
        let err = assemble(vec![("photo.png".into(), vec![1, 2, 3])], 100, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not CIFAR"), "{err}");
        // A truncated archive and a gzip bomb's guard.
        let archive = tar(&[("train.bin", &records(CifarKind::Hundred, 3))]);
        let err = untar("a.tar", &archive[..1000]).unwrap_err().to_string();
        assert!(err.contains("a.tar is truncated"), "{err}");
        let zeros = vec![0u8; 4096];
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut gz, &zeros).unwrap();
        let err = gunzip_limited("big.tar.gz", &gz.finish().unwrap(), 1024)
            .unwrap_err()
            .to_string();
        assert!(err.contains("expands past"), "{err}");
    }

    #[test]
    fn kinds_parse_and_detect() {
        assert_eq!(CifarKind::parse("CIFAR10"), Some(CifarKind::Ten));
        assert_eq!(CifarKind::parse("cifar100"), Some(CifarKind::Hundred));
        assert_eq!(CifarKind::parse("mnist"), None);
        assert_eq!(CifarKind::Ten.files().len(), 7);
        let names = vec!["dir/train.bin".to_string(), "dir/test.bin".into()];
        assert_eq!(CifarKind::detect(&names), Some(CifarKind::Hundred));
    }
}
